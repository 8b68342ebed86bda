//  server.c - see server.h. The actor: its life (the state, the sockets), message intake (the
//  pipe, the update socket, BUNDLEs, the keys' seats), warnings and the rejection log, broadcasts
//  and the recorder link; the join, checkpoints and the rounds are in server_join.c,
//  server_checkpoint.c and server_round.c (server_impl.h).
#include "server.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "marks.h"
#include "msg.h"
#include "rng.h"
#include "security.h"
#include "server_impl.h"
#include "stats_link.h"

#define REJECT_LOG_CAP    (60 * 1024)  // bytes of one round's rejection lines (STATS.rejections)
#define WARN_BURST        20           // warnings about peers logged before they are only counted
#define WARN_SUMMARY_S    10.0         // how often the count of suppressed warnings is logged
#define STATS_RCVHWM      64           // messages queued from the stats socket's peers (HELLO, ACK)
#define STATS_KEEP_FRAMES 4096         // rows kept until the recorder acknowledges them
#define SERVER_POLL_S     0.01         // server_next() looks at the pipe and the link this often
#define STATS_KEEP_BYTES  ((size_t) 256 << 20)  // ... and at most this many bytes of them
#define STATS_HOLD_S      0.02  // a row waits this long for the rows after it (one burst)

static void
s_server_destroy(server_t **self_p)
{
    server_t *self = *self_p;
    if (!self)
        return;
    if (self->cfg->method && self->ms)
        self->cfg->method->server_destroy(&self->ms);
    for (size_t i = 0; self->ups && i < self->n; i++)
        cvec_fini(&self->ups[i]);
    for (size_t i = 0; self->grads && i < self->n; i++)
        vec_fini(&self->grads[i]);
    for (size_t i = 0; self->sgrads && i < self->n; i++) {
        free(self->sgrads[i].idx);
        free(self->sgrads[i].val);
    }
    free(self->sgrads);
    free(self->ups);
    free(self->grads);
    free((void *) self->up_ptrs);
    free(self->f);
    free(self->hello);
    free(self->ready);
    free(self->got_up);
    free(self->got_metrics);
    free(self->expected);
    if (self->batch_open)
        zmq_msg_close(&self->batch);
    free((void *) self->batch_data);
    free(self->batch_size);
    free(self->wstats);
    for (size_t i = 0; self->seat_state && i < self->n; i++)
        free(self->seat_state[i]);
    free(self->seat_state);
    free(self->seat_state_len);
    free(self->seat_state_cap);
    free(self->seat_got);
    free(self->invalid);
    free(self->excluded);
    free(self->lost);
    free(self->pid);
    free(self->join_pid);
    free(self->joined_at);
    free(self->closed);
    free(self->rejlog);
    vec_fini(&self->gmean);
    free(self->marks);
    msg_fini(&self->in);
    msg_fini(&self->out);
    msg_fini(&self->fwd);
    msg_buf_fini(&self->buf);
    zsock_destroy(&self->pub);
    zsock_destroy(&self->pull);
    stats_link_destroy(&self->link);
    sec_destroy(&self->sec);
    free(self);
    *self_p = NULL;
}

static zsock_t *
s_bind(int type, const char *endpoint, const char *what, const sec_t *sec, mr_err_t *err)
{
    zsock_t *sock = zsock_new(type);
    if (!sock) {
        mr_err_set(err, MR_EIO, "cannot create the %s socket", what);
        return NULL;
    }
    zsock_set_linger(sock, 1000);
    zsock_set_sndhwm(sock, 0);  // never drop a broadcast or a stats row
    zsock_set_rcvhwm(sock, type == ZMQ_ROUTER ? STATS_RCVHWM : 0);
    if (type == ZMQ_ROUTER) {
        zsock_set_router_mandatory(sock, 1);  // a row for a recorder that is gone fails, loudly
        zsock_set_router_handover(sock, 1);   // a recorder that reconnects keeps its seat
    }
    sec_apply(sec, sock);
    if (!sec)
        sec_warn_plain("server", endpoint);
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        mr_err_set(err, MR_EIO, "cannot bind the %s socket to %s: %s", what, endpoint,
                   zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

//  The stats link's reports: a message it dropped (counted and warned like any other), an event.
static void
s_link_warn(void *ctx, const char *text)
{
    server_t *self = ctx;
    self->rejected++;
    server_warn(self, "%s", text);
}

static void
s_link_note(void *ctx, const char *text)
{
    (void) ctx;
    zsys_notice("server: %s", text);
}

static server_t *
s_server_new(zsock_t *pipe, const server_cfg_t *cfg, mr_err_t *err)
{
    server_t *self = calloc(1, sizeof *self);
    if (!self) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->pipe = pipe;
    self->n = cfg->mp.n;
    self->dim = cfg->mp.dim;
    self->robust = method_robust_wanted(&cfg->mp) && cfg->method->server_agg_dist_sq != NULL;
    self->honest = cfg->honest > 0 && cfg->honest <= self->n ? cfg->honest : self->n;
    self->live = self->honest;
    self->max_nnz = cfg->max_nnz > 0 ? cfg->max_nnz : self->dim;
    size_t n = self->n, d = self->dim;
    rng_seed(&self->rng, cfg->seed, RNG_STREAM_SERVER);
    self->hello = calloc(n, 1);
    self->ready = calloc(n, 1);
    self->got_up = calloc(n, 1);
    self->got_metrics = calloc(n, 1);
    self->expected = calloc(n, 1);
    self->wstats = calloc(n, sizeof(worker_stats_t));
    self->f = calloc(n, sizeof(double));
    self->ups = calloc(n, sizeof(cvec_t));
    self->grads = calloc(n, sizeof(vec_t));
    self->sgrads = calloc(n, sizeof *self->sgrads);
    self->up_ptrs = calloc(n, sizeof(cvec_t *));
    self->invalid = calloc(n, sizeof(uint64_t));
    self->excluded = calloc(n, 1);
    self->lost = calloc(n, 1);
    self->pid = calloc(n, sizeof *self->pid);
    self->join_pid = calloc(n, sizeof *self->join_pid);
    self->joined_at = calloc(n, sizeof *self->joined_at);
    self->closed = calloc(n, 1);
    self->rejlog = calloc(REJECT_LOG_CAP, 1);
    self->seat_state = calloc(n, sizeof *self->seat_state);
    self->seat_state_len = calloc(n, sizeof *self->seat_state_len);
    self->seat_state_cap = calloc(n, sizeof *self->seat_state_cap);
    self->seat_got = calloc(n, 1);
    self->last_gns = NAN;
    int rc = (self->hello && self->ready && self->got_up && self->got_metrics && self->expected &&
              self->wstats && self->f && self->ups && self->grads && self->sgrads &&
              self->up_ptrs && self->invalid && self->excluded && self->lost && self->closed &&
              self->rejlog && self->pid && self->join_pid && self->joined_at && self->seat_state &&
              self->seat_state_len && self->seat_state_cap && self->seat_got)
                 ? MR_OK
                 : MR_ENOMEM;
    for (size_t i = 0; rc == MR_OK && i < n; i++) {
        rc = cvec_init(&self->ups[i], d, d);
        if (rc == MR_OK)
            rc = vec_init(&self->grads[i], d);
        self->up_ptrs[i] = &self->ups[i];
    }
    if (rc == MR_OK)
        rc = vec_init(&self->gmean, d);
    self->gmean_zero = 1;
    self->marks = calloc(MARKS_WORDS(d), sizeof *self->marks);
    if (rc == MR_OK && !self->marks)
        rc = MR_ENOMEM;
    if (rc == MR_OK)
        rc = msg_init(&self->in, d);
    if (rc == MR_OK)
        rc = msg_init(&self->out, d);
    if (rc == MR_OK)
        rc = msg_init(&self->fwd, d);
    if (rc != MR_OK) {
        mr_err_set(err, rc, "out of memory for n=%zu, d=%zu", n, d);
        goto fail;
    }
    vec_t x0;
    if (vec_init(&x0, d) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    self->ms = cfg->method->server_new(&cfg->mp, &x0, err);
    vec_fini(&x0);
    if (!self->ms)
        goto fail;
    if (cfg->resume && server_resume(self, err) != MR_OK)
        goto fail;
    if (cfg->keys_dir && cfg->keys_dir[0]) {
        self->sec = sec_server_new(cfg->keys_dir, err);
        if (!self->sec)
            goto fail;
    }
    self->pub = s_bind(ZMQ_PUB, cfg->ep_bcast, "broadcast (PUB)", self->sec, err);
    if (!self->pub)
        goto fail;
    self->pull = s_bind(ZMQ_PULL, cfg->ep_up, "update (PULL)", self->sec, err);
    if (!self->pull)
        goto fail;
    zsock_t *stats = s_bind(ZMQ_ROUTER, cfg->ep_stats, "stats (ROUTER)", self->sec, err);
    if (!stats)
        goto fail;
    stats_link_cfg_t lc = {.token = cfg->recorder_token,
                           .curve = self->sec != NULL,
                           .keep_frames = STATS_KEEP_FRAMES,
                           .keep_bytes = STATS_KEEP_BYTES,
                           .hold_s = STATS_HOLD_S,
                           .warn = s_link_warn,
                           .note = s_link_note,
                           .ctx = self};
    self->link = stats_link_new(stats, &lc, err);
    if (!self->link) {
        zsock_destroy(&stats);
        goto fail;
    }
    return self;
fail:
    s_server_destroy(&self);
    return NULL;
}

//  A warning about a peer's message: the first WARN_BURST of a run are logged, the others only
//  counted and summed up by server_warn_flush() every WARN_SUMMARY_S (so a flood of junk costs the
//  log a few lines; every rejected update is in the rejections table anyway).
void
server_warn(server_t *self, const char *fmt, ...)
{
    if (self->warned >= WARN_BURST) {
        self->unwarned++;
        return;
    }
    self->warned++;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    zsys_warning("server: %s", text);
}

//  Logs how many warnings server_warn() held back, at most every WARN_SUMMARY_S (always if force).
void
server_warn_flush(server_t *self, const char *when, int force)
{
    double now = actor_now();
    if (self->unwarned == 0 || (!force && now < self->warn_summary_at))
        return;
    zsys_warning("server: %s: %u more warnings not shown (rejected updates are in the rejections "
                 "table)",
                 when, self->unwarned);
    self->unwarned = 0;
    self->warn_summary_at = now + WARN_SUMMARY_S;
}

//  Appends "SENDER\tTEXT\n" ("-" for an unknown sender; tabs and newlines in the text become
//  spaces) to this round's rejection lines, which also record the run's events (a worker lost,
//  one that joins again); lines past REJECT_LOG_CAP are dropped.
void
server_log_event(server_t *self, uint32_t sender, const char *reason)
{
    char line[320];
    int len = sender == UINT32_MAX ? snprintf(line, sizeof line, "-\t")
                                   : snprintf(line, sizeof line, "%u\t", sender);
    for (const char *c = reason; *c && len < (int) sizeof line - 2; c++)
        line[len++] = *c == '\n' || *c == '\t' ? ' ' : *c;
    line[len++] = '\n';
    line[len] = '\0';
    if (self->rejlen + (size_t) len + 1 < REJECT_LOG_CAP) {
        memcpy(self->rejlog + self->rejlen, line, (size_t) len + 1);
        self->rejlen += (size_t) len;
    }
}

//  Counts a rejected message (in the run and in this round) and logs its reason (server_log_event).
void
server_log_rejection(server_t *self, uint32_t sender, const char *reason)
{
    self->rejected++;
    self->round_rejected++;
    server_log_event(self, sender, reason);
}

//  A message that is harmless but not used: a late one (for a closed round) or an exact copy of
//  an accepted update (a worker's resend after a RESYNC, or a doubled frame). Recorded as a
//  rejection with its reason, which ends in "discarded" (so a query can tell the two apart),
//  and never counted towards max_invalid.
void
server_discard(server_t *self, uint32_t i, const char *reason)
{
    self->discarded++;
    server_log_rejection(self, i, reason);
}

//  A command from the host on the pipe: "$TERM" (returns NEXT_TERM), "STOP" or "FAIL" reason (the
//  launcher aborts the run: NEXT_STOP, reason kept), "LOST" "I how" (worker I's process died:
//  NEXT_LOST), anything else is ignored (NEXT_OTHER).
static server_next_t
s_pipe_command(server_t *self)
{
    char *cmd = NULL, *reason = NULL;
    if (zstr_recvx(self->pipe, &cmd, &reason, NULL) < 0 || !cmd) {
        zstr_free(&cmd);
        zstr_free(&reason);
        self->term = 1;  // interrupted, or the host went away
        return NEXT_TERM;
    }
    server_next_t got = NEXT_OTHER;
    if (streq(cmd, "$TERM")) {
        self->term = 1;
        got = NEXT_TERM;
    } else if (streq(cmd, "LOST") && reason) {
        // "LOST" "I how": the launcher reaped worker I's process (on_worker_loss = continue).
        char *end = NULL;
        unsigned long seat = strtoul(reason, &end, 10);
        if (end != reason && seat < self->honest) {
            self->lost_seat = (uint32_t) seat;
            snprintf(self->lost_why, sizeof self->lost_why, "%s", *end == ' ' ? end + 1 : end);
            got = NEXT_LOST;
        }
    } else if (streq(cmd, "STOP") || streq(cmd, "FAIL")) {
        snprintf(self->reason, sizeof self->reason, "%s",
                 reason && reason[0] ? reason : "stopped by request");
        self->abort = streq(cmd, "FAIL") ? 2 : 1;
        got = NEXT_STOP;
    }
    zstr_free(&cmd);
    zstr_free(&reason);
    return got;
}

//  1 if a message of role and sender may come from the connection whose certificate is named
//  self->peer (security=curve): worker[-I] keys speak for honest seats (seat I), attacker[-I]
//  keys for attacker seats, and only a recorder key says the recorder's HELLO. Always 1 without
//  CURVE (self->peer is "": the id in a message is a claim).
static int
s_key_allows(const server_t *self, msg_role_t role, uint32_t sender)
{
    if (!self->sec)
        return 1;
    const char *name = self->peer;
    const char *want =
        role == MSG_ROLE_RECORDER ? "recorder" : (sender < self->honest ? "worker" : "attacker");
    size_t len = strlen(want);
    if (strncmp(name, want, len) != 0)
        return 0;
    if (name[len] == '\0')
        return 1;  // the role's key: any seat of that role
    if (name[len] != '-')
        return 0;  // another name that merely starts like the role's ("workers")
    if (role == MSG_ROLE_RECORDER)
        return 1;      // recorder-ANYTHING is a recorder's key
    char *end = NULL;  // ROLE-ID: that seat alone
    unsigned long id = strtoul(name + len + 1, &end, 10);
    return end && *end == '\0' && end != name + len + 1 && id == sender;
}

//  Decodes one message of size bytes (a frame, or one message of a BUNDLE) into self->in and
//  checks it: NEXT_MSG, NEXT_BAD (an UPDATE that failed to decode, from a known sender), or
//  NEXT_OTHER when it was rejected (logged and counted; the caller takes the next).
static server_next_t
s_take_one(server_t *self, const void *data, int size, int in_batch)
{
    mr_err_t err;
    // The decoder fills type, sender and round of an UPDATE before it checks its vector, so a
    // bad update from a known sender can be recorded against that sender.
    self->in.type = 0;
    self->in.sender = UINT32_MAX;
    int rc = size == -2 ? mr_err_set(&err, MR_EMALFORMED, "multipart message")
                        : msg_decode(&self->in, data, (size_t) size, &err);
    msg_type_t type = self->in.type;
    if (rc == MR_OK && in_batch && type != MSG_UPDATE && type != MSG_METRICS)
        rc = mr_err_set(&err, MR_EMALFORMED, "a %s inside a bundle (only update and metrics)",
                        msg_type_name(type));
    // With CURVE a message counts only if its key may speak for the seat it names: an
    // attacker's key cannot send for an honest worker (nor get that worker excluded).
    int seated = type == MSG_HELLO || type == MSG_READY || type == MSG_UPDATE ||
                 type == MSG_METRICS || type == MSG_RESYNC || type == MSG_STATE;
    msg_role_t role = type == MSG_HELLO || type == MSG_READY ? self->in.role
                      : self->in.sender < self->honest       ? MSG_ROLE_WORKER
                                                             : MSG_ROLE_ATTACKER;
    if (self->sec && seated && self->in.sender != UINT32_MAX &&
        !s_key_allows(self, role, self->in.sender)) {
        char why[200];
        snprintf(why, sizeof why, "%s claiming %s %u from the key '%s': ignored",
                 msg_type_name(type), role == MSG_ROLE_RECORDER ? "the recorder" : "worker",
                 self->in.sender, self->peer);
        server_log_rejection(self, UINT32_MAX, why);
        server_warn(self, "%s", why);
        return NEXT_OTHER;
    }
    if (rc != MR_OK && self->in.type == MSG_UPDATE && self->in.sender < self->n) {
        self->bad_sender = self->in.sender;
        self->bad_round = self->in.round;
        snprintf(self->bad_reason, sizeof self->bad_reason, "%s", err.text);
        return NEXT_BAD;
    }
    if (rc != MR_OK) {
        server_log_rejection(self, UINT32_MAX, err.text);
        server_warn(self, "rejected a message (%d bytes): %s", size, err.text);
        return NEXT_OTHER;
    }
    self->frame_size = size;
    return NEXT_MSG;
}

//  The next message of the BUNDLE held in self->batch, if any is left: as s_take_one();
//  NEXT_TIMEOUT once none is (the frame is released).
static server_next_t
s_take_batched(server_t *self)
{
    while (self->batch_next < self->batch_count) {
        size_t j = self->batch_next++;
        server_next_t got = s_take_one(self, self->batch_data[j], (int) self->batch_size[j], 1);
        if (got != NEXT_OTHER)
            return got;
    }
    if (self->batch_open) {
        zmq_msg_close(&self->batch);
        self->batch_open = 0;
    }
    self->batch_count = self->batch_next = 0;
    return NEXT_TIMEOUT;
}

//  A decoded BUNDLE in self->in, whose frame is frame: keeps the frame and the places of its
//  messages (self->in is decoded into anew for each).
static int
s_hold_batch(server_t *self, zmq_msg_t *frame)
{
    const msg_t *m = &self->in;
    if (m->nbatch > self->batch_cap) {
        const char **data = realloc(self->batch_data, m->nbatch * sizeof *data);
        if (data)
            self->batch_data = data;
        size_t *size = data ? realloc(self->batch_size, m->nbatch * sizeof *size) : NULL;
        if (!data || !size)
            return MR_ENOMEM;
        self->batch_size = size;
        self->batch_cap = m->nbatch;
    }
    memcpy(self->batch_data, m->batch_data, m->nbatch * sizeof *m->batch_data);
    memcpy(self->batch_size, m->batch_size, m->nbatch * sizeof *m->batch_size);
    self->batch_count = m->nbatch;
    self->batch_next = 0;
    zmq_msg_init(&self->batch);
    zmq_msg_move(&self->batch, frame);
    self->batch_open = 1;
    return MR_OK;
}

//  Waits until deadline for the next valid message on the PULL socket (one by one out of a
//  BUNDLE). Malformed frames are logged, counted and skipped: a peer's bad bytes cost that message
//  only. Returns NEXT_OTHER after taking the stats socket's input (the caller checks its
//  conditions again).
server_next_t
server_next(server_t *self, double deadline)
{
    void *pull = zsock_resolve(self->pull);
    while (true) {
        if (zsys_interrupted)
            return NEXT_TERM;
        if (self->batch_count > 0) {
            server_next_t got = s_take_batched(self);
            if (got != NEXT_TIMEOUT)
                return got;
        }
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        //  The pipe (the launcher) and the stats link (the recorder's ACKs) are looked at with a
        //  poll when the updates' socket is idle, and at least every SERVER_POLL_S; otherwise the
        //  server waits on the updates' socket alone, in a blocking receive: a zmq_poll() of the
        //  three costs system calls per socket, twice per wake-up, and there is one per update.
        double now = actor_now(), left = deadline - now;
        if (now - self->polled_at >= SERVER_POLL_S || left <= 0) {
            self->polled_at = now;
            stats_link_tick(self->link, now);
            void *socks[3] = {zsock_resolve(self->pipe), pull,
                              zsock_resolve(stats_link_sock(self->link))};
            unsigned ready = actor_poll(socks, 3, 0);
            if (ready & 1u) {
                server_next_t got = s_pipe_command(self);
                if (got != NEXT_OTHER) {
                    zmq_msg_close(&frame);
                    return got;
                }
            }
            if (ready & 4u) {
                stats_link_take(self->link);
                zmq_msg_close(&frame);
                return NEXT_OTHER;
            }
        }
        int size = actor_recv(pull, &frame);
        if (size == -1) {
            if (left <= 0) {
                zmq_msg_close(&frame);
                return NEXT_TIMEOUT;
            }
            double wait = fmin(left, SERVER_POLL_S - (now - self->polled_at));
            int wait_ms = (int) (wait * 1000.0) + 1;
            zmq_setsockopt(pull, ZMQ_RCVTIMEO, &wait_ms, sizeof wait_ms);
            size = actor_recv_wait(pull, &frame);
            if (size == -1) {  // nothing within the wait: the pipe and the link next
                self->polled_at = 0;
                zmq_msg_close(&frame);
                continue;
            }
        }
        // The certificate name of the sender's connection (security=curve), before the frame goes.
        const char *name = self->sec && size >= 0 ? sec_peer_name(&frame) : NULL;
        snprintf(self->peer, sizeof self->peer, "%s", name ? name : "");
        server_next_t got = s_take_one(self, size >= 0 ? zmq_msg_data(&frame) : NULL, size, 0);
        if (got == NEXT_MSG && self->in.type == MSG_BUNDLE) {
            //  Its messages are taken one by one, from the frame kept meanwhile.
            if (s_hold_batch(self, &frame) != MR_OK) {
                server_warn(self, "out of memory for a bundle of %zu messages: dropped",
                            self->in.nbatch);
                self->rejected++;
            }
            zmq_msg_close(&frame);
            continue;
        }
        zmq_msg_close(&frame);
        if (got != NEXT_OTHER)
            return got;
    }
}

int
server_publish(server_t *self)
{
    int size = actor_send(zsock_resolve(self->pub), &self->out, &self->buf, 0);
    if (size < 0)
        zsys_error("server: cannot publish %s: %s", msg_type_name(self->out.type),
                   zmq_strerror(zmq_errno()));
    return size;
}

void
server_publish_round_again(server_t *self, round_stats_t *row)
{
    self->out.g_patch = 0;
    int size = server_publish(self);
    if (size > 0) {
        row->bytes_wire_down += (uint64_t) size * self->n;
        self->again_seq = self->seq;  // (a copy that did not go serves no RESYNC)
        self->again_at = actor_now();
    }
}

//  Waits, watching the pipe, until the stats link can take the frame in self->buf (want_done = 0:
//  the recorder acknowledged enough rows, or a restarted one took over) or until the recorder
//  acknowledged the run's end (want_done = 1); for up to timeout_s (2 s once stopping). 0, or -1
//  with the reason set (the launcher's, if its STOP came meanwhile).
static int
s_wait_link(server_t *self, int want_done)
{
    void *socks[2] = {zsock_resolve(self->pipe), zsock_resolve(stats_link_sock(self->link))};
    int stopping = self->term || self->abort || zsys_interrupted;
    double start = actor_now(), deadline = start + (stopping ? 2.0 : self->cfg->timeout_s);
    stats_link_flush(self->link);  // the ACK waited for may need the frames held for a burst
    while (want_done ? !stats_link_done(self->link) : stats_link_full(self->link, self->buf.size)) {
        double left = deadline - actor_now();
        if (left <= 0 || (zsys_interrupted && !stopping)) {
            long long acked = (long long) stats_link_acked_round(self->link);
            if (want_done)
                snprintf(self->reason, sizeof self->reason,
                         "the recorder did not confirm the run's end within %.0f s (rows up to "
                         "round %lld acknowledged)",
                         actor_now() - start, acked);
            else
                snprintf(self->reason, sizeof self->reason,
                         "the recorder acknowledged no row for %.0f s with %zu rows waiting (rows "
                         "up to round %lld are recorded); it is gone or stuck",
                         actor_now() - start, stats_link_unacked(self->link), acked);
            return -1;
        }
        // Once the host said $TERM its pipe is not read again (it waits for us to return).
        unsigned ready = actor_poll(self->term ? socks + 1 : socks, self->term ? 1 : 2,
                                    (long) (left * 1000.0) + 1);
        if (self->term)
            ready <<= 1;
        if (ready & 1u) {
            server_next_t got = s_pipe_command(self);
            if (got == NEXT_STOP && !want_done)
                return -1;  // the launcher's reason is in self->reason
            if (got == NEXT_TERM || got == NEXT_STOP)
                deadline = actor_now() + 2.0 < deadline ? actor_now() + 2.0 : deadline;
        }
        if (ready & 2u)
            stats_link_take(self->link);
    }
    return 0;
}

//  Sends self->out (RUN, STATS, CHECKPOINT or STOP) on the stats link, which keeps it until the
//  recorder acknowledges it (stats_link.h); a full outbox first waits (s_wait_link). 0, or -1
//  with the reason set.
int
server_to_recorder(server_t *self)
{
    if (!self->cfg->with_recorder)
        return 0;
    msg_type_t type = self->out.type;
    int rc = msg_encode(&self->out, &self->buf);
    if (rc == MR_OK && type == MSG_RUN)
        rc = stats_link_send_run(self->link, &self->buf);
    else if (rc == MR_OK && type == MSG_STOP)
        rc = stats_link_send_stop(self->link, &self->buf);
    else if (rc == MR_OK) {
        uint64_t round = type == MSG_STATS ? self->out.stats.round : self->out.round;
        if (stats_link_full(self->link, self->buf.size) && s_wait_link(self, 0) < 0)
            return -1;
        rc = stats_link_send_kept(self->link, 2 * round + (type == MSG_CHECKPOINT), &self->buf);
    }
    if (rc != MR_OK) {
        snprintf(self->reason, sizeof self->reason, "cannot send %s to the recorder: out of memory",
                 msg_type_name(type));
        return -1;
    }
    return 0;
}

void
server_list_missing(const uint8_t *have, size_t n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used + 16 < size; i++)
        if (!have[i])
            used += (size_t) snprintf(out + used, size - used, "%s%zu", used ? "," : "", i);
}

size_t
server_count_flags(const uint8_t *have, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += have[i] != 0;
    return c;
}

//  A STOP on the PULL socket is not the launcher's (its STOP comes on the host's pipe): anyone who
//  reaches the socket could send one. It is rejected and recorded like any bad message.
void
server_reject_stop(server_t *self)
{
    const char *why = "a STOP message on the update socket: ignored (only the launcher's control "
                      "channel ends a run early)";
    server_log_rejection(self, UINT32_MAX, why);
    server_warn(self, "%s", why);
}

void
server_actor(zsock_t *pipe, void *args)
{
    const server_cfg_t *cfg = args;
    mr_err_t err;
    mr_err_clear(&err);
    server_t *self = s_server_new(pipe, cfg, &err);
    zsock_signal(pipe, 0);
    if (!self) {
        zsys_error("server: %s", err.text);
        actor_finish(pipe, "failed", err.text);
        return;
    }
    zstr_sendx(pipe, "READY", zsock_endpoint(self->pub), zsock_endpoint(self->pull),
               zsock_endpoint(stats_link_sock(self->link)), NULL);
    const char *status = server_join(self);
    if (!status)
        status = server_rounds(self);
    if (self->abort == 2 && strcmp(status, "aborted") == 0)
        status = "failed";  // the launcher's FAIL: an actor died
    server_warn_flush(self, "by the end", 1);
    if (self->rejected)
        zsys_warning("server: %llu messages rejected during the run (%llu of them late or resent "
                     "copies, discarded)",
                     (unsigned long long) self->rejected, (unsigned long long) self->discarded);
    // Tell everybody the run is over; the recorder writes the final status.
    self->out.type = MSG_STOP;
    self->out.status = (char *) status;
    self->out.reason = self->reason;
    server_publish(self);
    // Only a recorder that said HELLO waits for this STOP: without one the run ends here, e.g. a
    // server stopped with SIGTERM while it joins. The recorder confirms that it wrote the end
    // (ACK done); a recorder restarted meanwhile gets every row it lacks first.
    if (self->cfg->with_recorder && stats_link_joined(self->link)) {
        char reason[sizeof self->reason];
        memcpy(reason, self->reason, sizeof reason);
        if (server_to_recorder(self) == 0 && s_wait_link(self, 1) == 0) {
            memcpy(self->reason, reason, sizeof reason);
        } else if (strcmp(status, "completed") == 0) {
            status = "failed";  // the run's end is not recorded: the launcher marks it failed
        } else {
            zsys_warning("server: %s", self->reason);
            memcpy(self->reason, reason, sizeof reason);  // the run's own reason stays the one told
        }
    }
    self->out.status = NULL;
    self->out.reason = NULL;
    if (strcmp(status, "completed") != 0)
        zsys_error("server: run %s: %s", status, self->reason);
    if (!self->term)
        actor_finish(pipe, status, self->reason);
    s_server_destroy(&self);
}
