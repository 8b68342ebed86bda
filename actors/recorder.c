//  recorder.c - see recorder.h.
#include "recorder.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "db.h"
#include "msg.h"
#include "security.h"

#define S_STOP_GRACE_S 2.0   // after an interrupt, how long to wait for the server's STOP
#define ACK_DELAY_S    0.05  // the longest a received row waits to be committed and acknowledged
#define BURST_MAX      256   // frames taken without a poll (the pipe and the commit are checked)
#define NAP_NS         5000000L  // the pause after a burst, so that rows gather (5 ms)

typedef struct {
    const recorder_cfg_t *cfg;
    zsock_t *pipe, *link;  // the host's pipe; the DEALER to the server's stats socket
    sec_t *sec;
    db_t *db;
    msg_t in, out;
    msg_buf_t buf;
    int64_t run_id;      // 0 until RUN arrived
    uint64_t rows;       // rows written by this recorder
    int64_t last_round;  // the last round in the database (rows of earlier rounds are skipped:
                         // a restarted recorder or a resumed run is sent them again); -1: none
    int64_t acked;       // the last round acknowledged to the server; -1: none
    double acked_at;     // when
    char reason[256];
} s_recorder_t;

static void
s_recorder_destroy(s_recorder_t **self_p)
{
    s_recorder_t *self = *self_p;
    if (!self)
        return;
    db_close(&self->db);
    msg_fini(&self->in);
    msg_fini(&self->out);
    msg_buf_fini(&self->buf);
    zsock_destroy(&self->link);
    sec_destroy(&self->sec);
    free(self);
    *self_p = NULL;
}

static s_recorder_t *
s_recorder_new(zsock_t *pipe, const recorder_cfg_t *cfg, mr_err_t *err)
{
    s_recorder_t *self = calloc(1, sizeof *self);
    if (!self) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->pipe = pipe;
    self->last_round = self->acked = -1;
    // The recorder never sees vectors; any d >= 1 sizes its buffers.
    if (msg_init(&self->in, 1) != MR_OK || msg_init(&self->out, 1) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    self->db = db_open(cfg->db_path, err);
    if (!self->db)
        goto fail;
    if (cfg->keys_dir && cfg->keys_dir[0]) {
        self->sec = sec_client_new(cfg->keys_dir, "recorder", -1, err);
        if (!self->sec)
            goto fail;
    }
    self->link = zsock_new(ZMQ_DEALER);
    if (!self->link) {
        mr_err_set(err, MR_EIO, "cannot create the stats socket");
        goto fail;
    }
    zsock_set_rcvhwm(self->link, 0);
    zsock_set_linger(self->link, 1000);
    // A routing id of our own (random, not guessable): if the link drops and ZeroMQ reconnects,
    // the server knows the new connection as the same recorder (ZMQ_ROUTER_HANDOVER).
    uint8_t rid[16];
    FILE *r = fopen("/dev/urandom", "rb");
    int got = r && fread(rid, 1, sizeof rid, r) == sizeof rid;
    if (r)
        fclose(r);
    if (got) {
        rid[0] = 'r';  // a routing id must not start with a zero byte
        zmq_setsockopt(zsock_resolve(self->link), ZMQ_ROUTING_ID, rid, sizeof rid);
    }
    sec_apply(self->sec, self->link);
    if (!self->sec)
        sec_warn_plain("recorder", cfg->ep_stats);
    if (zsock_connect(self->link, "%s", cfg->ep_stats) < 0) {
        mr_err_set(err, MR_EIO, "cannot connect to %s", cfg->ep_stats);
        goto fail;
    }
    return self;
fail:
    s_recorder_destroy(&self);
    return NULL;
}

//  Ends the run in the database (if it began) with status and reason; returns status.
static const char *
s_end(s_recorder_t *self, const char *status, const char *reason)
{
    if (self->run_id > 0) {
        mr_err_t err;
        if (db_run_finish(self->db, self->run_id, status, reason, &err) != MR_OK) {
            snprintf(self->reason, sizeof self->reason, "%s", err.text);
            return "failed";
        }
    }
    if (reason != self->reason)
        snprintf(self->reason, sizeof self->reason, "%s", reason ? reason : "");
    return status;
}

//  Tells the server that every row up to the last one is committed (ACK; done: the end too). Rows
//  are committed in batches (db.h); the server keeps what is not acknowledged (stats_link.h).
static void
s_ack(s_recorder_t *self, int done)
{
    if (self->last_round < 0 && !done)
        return;
    self->out.type = MSG_ACK;
    self->out.round = self->last_round < 0 ? 0 : (uint64_t) self->last_round;
    self->out.done = done;
    actor_send(zsock_resolve(self->link), &self->out, &self->buf, 0);
    self->acked = self->last_round;
    self->acked_at = actor_now();
}

//  Commits what is buffered and acknowledges it. MR_OK or the database's error.
static int
s_commit_ack(s_recorder_t *self, mr_err_t *err)
{
    int rc = db_flush(self->db, err);
    if (rc == MR_OK && self->acked != self->last_round)
        s_ack(self, 0);
    return rc;
}

//  The run's launch token (the line "launch = TOKEN" of its configuration), or "" if none.
static void
s_launch_token(const char *config, char *out, size_t size)
{
    out[0] = '\0';
    const char *at = config ? strstr(config, "\nlaunch = ") : NULL;
    if (!at)
        return;
    at += strlen("\nlaunch = ");
    size_t len = strcspn(at, "\n");
    if (len < size)
        snprintf(out, size, "%.*s", (int) len, at);
}

//  RUN: the run is new (a runs row begins), or it goes on (a recorder restarted during the run,
//  or `marina run --resume`): a run of the same launch still 'running' is continued, and its
//  recorded rows are not written again.
static int
s_begin(s_recorder_t *self, const run_info_t *run, mr_err_t *err)
{
    char launch[128];
    s_launch_token(run->config, launch, sizeof launch);
    if (launch[0]) {
        int rc = db_run_attach(self->db, launch, &self->run_id, &self->last_round, err);
        if (rc != MR_OK)
            return rc;
        if (self->run_id > 0) {
            zsys_notice("recorder: run %lld continues in %s (rounds up to %lld recorded)",
                        (long long) self->run_id, self->cfg->db_path, (long long) self->last_round);
            self->acked = -2;  // acknowledge what is there at once
            return s_commit_ack(self, err);
        }
    }
    int rc = db_run_begin(self->db, run, &self->run_id, err);
    if (rc == MR_OK)
        zsys_notice("recorder: run %lld started in %s", (long long) self->run_id,
                    self->cfg->db_path);
    return rc;
}

//  Sets *ended to status; returns 1 (the run ended).
static int
s_ended(const char **ended, const char *status)
{
    *ended = status;
    return 1;
}

//  Takes one received frame of size bytes (closes it). Returns 1 when the run ended (*ended: its
//  status), else 0.
static int
s_take(s_recorder_t *self, zmq_msg_t *frame, int size, double *last_heard, const char **ended)
{
    mr_err_t err;
    int rc = size == -2 ? mr_err_set(&err, MR_EMALFORMED, "multipart message")
                        : msg_decode(&self->in, zmq_msg_data(frame), (size_t) size, &err);
    zmq_msg_close(frame);
    if (rc != MR_OK) {
        zsys_warning("recorder: rejected a message (%d bytes): %s", size, err.text);
        return 0;
    }
    *last_heard = actor_now();
    msg_t *m = &self->in;
    if (m->type == MSG_RUN && self->run_id == 0) {
        if (s_begin(self, &m->run, &err) != MR_OK)
            return s_ended(ended, s_end(self, "failed", err.text));
    } else if (m->type == MSG_STATS && self->run_id > 0) {
        if ((int64_t) m->stats.round <= self->last_round)
            return 0;  // recorded before (a catch-up resends what we may lack)
        if (db_round_add(self->db, self->run_id, &m->stats, &err) != MR_OK)
            return s_ended(ended, s_end(self, "failed", err.text));
        self->rows++;
        self->last_round = (int64_t) m->stats.round;
        if (db_pending(self->db) == 0)
            s_ack(self, 0);  // the batch was committed with this row
    } else if (m->type == MSG_CHECKPOINT && self->run_id > 0) {
        if ((int64_t) m->round < self->last_round)
            return 0;  // a resent checkpoint older than the rows recorded: a newer one exists
        if (db_checkpoint_put(self->db, self->run_id, m->round, m->blob, m->blob_len, &err) !=
            MR_OK)
            return s_ended(ended, s_end(self, "failed", err.text));
        s_ack(self, 0);
    } else if (m->type == MSG_STOP) {
        const char *status = m->status ? m->status : "failed";
        if (strcmp(status, "completed") && strcmp(status, "failed") && strcmp(status, "aborted"))
            status = "failed";
        snprintf(self->reason, sizeof self->reason, "%s", m->reason ? m->reason : "");
        *ended = s_end(self, status, self->reason[0] ? self->reason : NULL);
        if (*ended == status)
            s_ack(self, 1);  // the end is committed: the server may go
        return 1;
    } else {
        zsys_warning("recorder: unexpected %s", msg_type_name(m->type));
    }
    return 0;
}

static const char *
s_run(s_recorder_t *self, int *term)
{
    const recorder_cfg_t *cfg = self->cfg;
    self->out.type = MSG_HELLO;
    self->out.role = MSG_ROLE_RECORDER;
    self->out.sender = 0;
    self->out.pid = (uint32_t) getpid();
    // The launcher's token proves to the server that this is the run's recorder (docs/protocol.md).
    char token[160] = "";
    if (cfg->token && cfg->token[0])
        snprintf(token, sizeof token, "token=%s\n", cfg->token);
    self->out.cfg_text = token;
    int sent = actor_send(zsock_resolve(self->link), &self->out, &self->buf, 0);
    self->out.cfg_text = NULL;
    if (sent < 0)
        return s_end(self, "failed", "cannot say HELLO to the server");
    void *socks[2] = {zsock_resolve(self->pipe), zsock_resolve(self->link)};
    double last_heard = actor_now(), interrupted_at = 0;
    const char *ended = NULL;
    int burst = 0;  // frames taken since the last poll
    while (true) {
        // Interrupted (Ctrl-C reaches every process of the run): the server's STOP, with its
        // reason, is on its way; wait a moment for it before ending the run ourselves.
        if (zsys_interrupted && interrupted_at == 0)
            interrupted_at = actor_now();
        if (interrupted_at > 0 && actor_now() - interrupted_at > S_STOP_GRACE_S)
            return s_end(self, "aborted", DB_RECORDER_INTERRUPTED);
        //  Take what is queued without a poll; once the queue is empty after a burst, nap a
        //  moment so that the next rows gather: one wake-up for several rounds, not one each.
        zmq_msg_t frame;
        if (burst > 0) {
            zmq_msg_init(&frame);
            int size = burst < BURST_MAX ? actor_recv(socks[1], &frame) : -1;
            if (size == -1) {
                zmq_msg_close(&frame);
                if (burst < BURST_MAX)
                    nanosleep(&(struct timespec){0, NAP_NS}, NULL);
                burst = 0;
                continue;
            }
            burst++;
            if (s_take(self, &frame, size, &last_heard, &ended))
                return ended;
            continue;
        }
        // Rows wait to be committed (and acknowledged) at most ACK_DELAY_S.
        long wait_ms = self->acked != self->last_round ? (long) (ACK_DELAY_S * 1000) : 500;
        unsigned ready = actor_poll(socks, 2, wait_ms);
        if (ready & 1u && actor_pipe_term(self->pipe)) {
            *term = 1;
            return s_end(self, "aborted", "the recorder was stopped before the run ended");
        }
        if (self->run_id > 0 && self->acked != self->last_round &&
            (!(ready & 2u) || actor_now() - self->acked_at > ACK_DELAY_S)) {
            //  Nothing for a moment (or rows waited long enough): commit what is buffered, so
            //  that the server may forget those rows and other runs writing the same file do not
            //  wait for our open transaction.
            mr_err_t err;
            if (s_commit_ack(self, &err) != MR_OK)
                return s_end(self, "failed", err.text);
        }
        if (!(ready & 2u)) {
            if (actor_now() - last_heard > cfg->timeout_s) {
                snprintf(self->reason, sizeof self->reason,
                         "the server was silent for %.0f s (after %llu rounds recorded)",
                         cfg->timeout_s, (unsigned long long) self->rows);
                return s_end(self, "failed", self->reason);
            }
            continue;
        }
        zmq_msg_init(&frame);
        int size = actor_recv(socks[1], &frame);
        if (size == -1) {
            zmq_msg_close(&frame);
            continue;
        }
        burst = 1;
        if (s_take(self, &frame, size, &last_heard, &ended))
            return ended;
    }
}

void
recorder_actor(zsock_t *pipe, void *args)
{
    const recorder_cfg_t *cfg = args;
    mr_err_t err;
    mr_err_clear(&err);
    s_recorder_t *self = s_recorder_new(pipe, cfg, &err);
    zsock_signal(pipe, 0);
    if (!self) {
        zsys_error("recorder: %s", err.text);
        actor_finish(pipe, "failed", err.text);
        return;
    }
    zstr_sendx(pipe, "READY", NULL);
    int term = 0;
    const char *status = s_run(self, &term);
    db_close(&self->db);
    if (!term)
        actor_finish(pipe, status, self->reason);
    s_recorder_destroy(&self);
}
