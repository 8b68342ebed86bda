//  worker.c - see worker.h.
#include "worker.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "attacker.h"
#include "msg.h"
#include "rng.h"
#include "security.h"

#define RESYNC_AFTER_S 2.0  // ask for the current broadcast again after this much silence

typedef struct {
    const worker_cfg_t *cfg;
    zsock_t *pipe, *sub, *push;
    sec_t *sec;     // security=curve: our certificate and the server's public key
    msg_t in, out;  // decoded broadcast, message being sent
    msg_buf_t buf;
    method_worker_t *mw;
    rng_t rng;
    uint64_t last_seq;    // last broadcast sequence number seen
    uint64_t next_round;  // the round we answer next
    int ready_sent;
    char reason[512];
    attacker_t *attacker;  // cfg->attack: the attack's logic
    int waiting;           // the attacker waits for the honest updates of round wait_round
    uint64_t wait_round, wait_seq;
    msg_t junk;             // attack = junk: the abusive messages
    uint64_t oracle_calls;  // the shadow method's work in the waiting round
} s_worker_t;

static void
s_worker_destroy(s_worker_t **self_p)
{
    s_worker_t *self = *self_p;
    if (!self)
        return;
    if (self->mw)
        self->cfg->method->worker_destroy(&self->mw);
    attacker_destroy(&self->attacker);
    msg_fini(&self->junk);
    msg_fini(&self->in);
    msg_fini(&self->out);
    msg_buf_fini(&self->buf);
    zsock_destroy(&self->sub);
    zsock_destroy(&self->push);
    sec_destroy(&self->sec);
    free(self);
    *self_p = NULL;
}

static s_worker_t *
s_worker_new(zsock_t *pipe, const worker_cfg_t *cfg, mr_err_t *err)
{
    s_worker_t *self = calloc(1, sizeof *self);
    if (!self) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->pipe = pipe;
    size_t d = cfg->mp.dim;
    rng_seed(&self->rng, cfg->seed, rng_stream_worker(cfg->id));
    if (msg_init(&self->in, d) != MR_OK || msg_init(&self->out, d) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "out of memory for d=%zu", d);
        goto fail;
    }
    vec_t x0;
    if (vec_init(&x0, d) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    self->mw = cfg->method->worker_new(&cfg->mp, cfg->loss, cfg->id, &x0, err);
    vec_fini(&x0);
    if (!self->mw)
        goto fail;
    if (cfg->attack) {
        self->attacker =
            attacker_new(cfg->method, &cfg->mp, cfg->attack, cfg->honest, cfg->id, cfg->seed, err);
        if (!self->attacker || msg_init(&self->junk, d) != MR_OK)
            goto fail;
    }
    if (cfg->keys_dir && cfg->keys_dir[0]) {
        self->sec =
            sec_client_new(cfg->keys_dir, cfg->attack ? "attacker" : "worker", (long) cfg->id, err);
        if (!self->sec)
            goto fail;
    }
    self->sub = zsock_new(ZMQ_SUB);
    self->push = zsock_new(ZMQ_PUSH);
    if (!self->sub || !self->push) {
        mr_err_set(err, MR_EIO, "cannot create sockets");
        goto fail;
    }
    zsock_set_rcvhwm(self->sub, 0);
    zsock_set_sndhwm(self->push, 0);
    zsock_set_linger(self->push, 2000);
    zsock_set_subscribe(self->sub, "");
    sec_apply(self->sec, self->sub);
    sec_apply(self->sec, self->push);
    if (!self->sec) {
        char who[32];
        snprintf(who, sizeof who, "%s %u", cfg->attack ? "attacker" : "worker", cfg->id);
        sec_warn_plain(who, cfg->ep_bcast);
        sec_warn_plain(who, cfg->ep_up);
    }
    if (zsock_connect(self->sub, "%s", cfg->ep_bcast) < 0) {
        mr_err_set(err, MR_EIO, "cannot connect to the broadcast endpoint %s", cfg->ep_bcast);
        goto fail;
    }
    if (zsock_connect(self->push, "%s", cfg->ep_up) < 0) {
        mr_err_set(err, MR_EIO, "cannot connect to the update endpoint %s", cfg->ep_up);
        goto fail;
    }
    return self;
fail:
    s_worker_destroy(&self);
    return NULL;
}

static int
s_send(s_worker_t *self)
{
    if (actor_send(zsock_resolve(self->push), &self->out, &self->buf, 0) < 0) {
        snprintf(self->reason, sizeof self->reason, "worker %u: cannot send %s: %s", self->cfg->id,
                 msg_type_name(self->out.type), zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static int
s_say(s_worker_t *self, msg_type_t type)
{
    self->out.type = type;
    self->out.role = self->cfg->attack ? MSG_ROLE_ATTACKER : MSG_ROLE_WORKER;
    self->out.sender = self->cfg->id;
    self->out.pid = (uint32_t) getpid();
    self->out.seq = self->last_seq;
    self->out.cfg_text = (char *) (self->cfg->join_config ? self->cfg->join_config : "");
    self->out.cfg_digest = self->cfg->join_digest;
    self->out.shard_fp = self->cfg->shard_fp;
    int rc = s_send(self);
    self->out.cfg_text = NULL;  // borrowed for this frame only
    return rc;
}

//  attack = junk: before its update, what a faulty or malicious peer might send: bytes that are
//  no message, then by round a non-finite update, a dense one (too many entries for a compressed
//  round), or one for a future round; after it, the same update again.
static int
s_send_junk_before(s_worker_t *self, uint64_t k)
{
    static const char garbage[] = "\xc1\xc1 not a marina message";
    void *push = zsock_resolve(self->push);
    if (zmq_send(push, garbage, sizeof garbage - 1, 0) < 0)
        return -1;
    msg_t *j = &self->junk;
    j->type = MSG_UPDATE;
    j->sender = self->cfg->id;
    j->round = k % 3 == 2 ? k + 1 : k;
    j->oracle_calls = 0;
    j->up.kind = CVEC_DENSE;
    j->up.enc = CVEC_ENC_RAW;
    j->up.dim = j->up.nnz = self->cfg->mp.dim;
    for (size_t t = 0; t < self->cfg->mp.dim; t++)
        j->up.val[t] = k % 3 == 0 && t == 0 ? NAN : 1.0;
    return actor_send(push, j, &self->buf, 0) < 0 ? -1 : 0;
}

//  The attacker's answer to the round it began: craft the attack and send it (no METRICS).
static int
s_attack(s_worker_t *self)
{
    mr_err_t err;
    msg_t *out = &self->out;
    if (attacker_craft(self->attacker, &out->up, &err) != MR_OK) {
        snprintf(self->reason, sizeof self->reason, "attacker %u: round %llu: %s", self->cfg->id,
                 (unsigned long long) self->wait_round, err.text);
        return -1;
    }
    int junk = self->cfg->attack->kind == ATTACK_JUNK;
    if (junk && s_send_junk_before(self, self->wait_round) < 0)
        return -1;
    out->type = MSG_UPDATE;
    out->round = self->wait_round;
    out->sender = self->cfg->id;
    out->oracle_calls = self->oracle_calls;
    self->waiting = 0;
    self->next_round = self->wait_round + 1;
    if (s_send(self) < 0)
        return -1;
    return junk ? s_send(self) : 0;  // junk: the same update a second time
}

//  Answers round k: step the method, send the update, then the metrics at x^k.
static int
s_answer(s_worker_t *self)
{
    const worker_cfg_t *cfg = self->cfg;
    const method_t *method = cfg->method;
    const msg_t *in = &self->in;
    static const uint32_t nobody[1] = {0};  // an empty list that is not NULL ("everybody")
    method_round_t rd = {in->round, in->coin, in->has_g ? &in->g : NULL,
                         in->all_part ? NULL : (in->part ? in->part : nobody),
                         in->all_part ? 0 : in->npart};
    method_report_t report = {0};
    msg_t *out = &self->out;
    int rc = method->worker_step(self->mw, &rd, &self->rng, &out->up, &report);
    if (rc != MR_OK) {
        snprintf(self->reason, sizeof self->reason, "worker %u: round %llu: %s", cfg->id,
                 (unsigned long long) rd.round, mr_strerror(rc));
        return -1;
    }
    if (self->attacker) {
        //  The shadow's message is the attacker's own view; the attack goes out now, or once the
        //  round's honest updates have been forwarded.
        attacker_begin(self->attacker, &rd, &out->up);
        self->wait_round = rd.round;
        self->wait_seq = in->seq;
        self->oracle_calls = report.oracle_calls;
        self->waiting = 1;
        self->next_round = rd.round + 1;
        return attacker_waits(self->attacker) ? 0 : s_attack(self);
    }
    out->type = MSG_UPDATE;
    out->round = rd.round;
    out->sender = cfg->id;
    out->oracle_calls = report.oracle_calls;
    if (report.send && s_send(self) < 0)
        return -1;
    // Metrics are for the record, never communication: reuse the method's evaluation if any.
    out->type = MSG_METRICS;
    const vec_t *x = method->worker_x(self->mw);
    if (report.have_eval) {
        out->f = report.f;
        vec_copy(&out->g, report.grad);
    } else {
        out->f = loss_value_grad(cfg->loss, x, &out->g);
    }
    // The recorded objective is F = f + R: every worker adds R(x^k) of the common iterate.
    if (cfg->mp.reg.kind != PROX_NONE)
        out->f += prox_value(&cfg->mp.reg, x);
    if (!isfinite(out->f) || !vec_is_finite(&out->g)) {
        snprintf(self->reason, sizeof self->reason,
                 "worker %u: round %llu: the iterate diverged (f_i = %g)", cfg->id,
                 (unsigned long long) rd.round, out->f);
        return -1;
    }
    self->next_round = rd.round + 1;
    return s_send(self);
}

static const char *
s_run(s_worker_t *self, int *term)
{
    const worker_cfg_t *cfg = self->cfg;
    if (s_say(self, MSG_HELLO) < 0)
        return "failed";
    void *socks[2] = {zsock_resolve(self->pipe), zsock_resolve(self->sub)};
    double last_heard = actor_now(), last_resync = last_heard;
    while (true) {
        if (zsys_interrupted)
            return "aborted";
        unsigned ready = actor_poll(socks, 2, 250);
        if (ready & 1u && actor_pipe_term(self->pipe)) {
            *term = 1;
            return "aborted";
        }
        double now = actor_now();
        if (!(ready & 2u)) {
            if (now - last_heard > cfg->timeout_s) {
                snprintf(self->reason, sizeof self->reason,
                         "worker %u: the server was silent for %.0f s", cfg->id, cfg->timeout_s);
                return "failed";
            }
            if (self->ready_sent && now - last_heard > RESYNC_AFTER_S &&
                now - last_resync > RESYNC_AFTER_S) {
                s_say(self, MSG_RESYNC);
                last_resync = now;
            }
            continue;
        }
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        int size = actor_recv(socks[1], &frame);
        if (size == -1) {
            zmq_msg_close(&frame);
            continue;
        }
        mr_err_t err;
        int rc = size == -2 ? mr_err_set(&err, MR_EMALFORMED, "multipart message")
                            : msg_decode(&self->in, zmq_msg_data(&frame), (size_t) size, &err);
        zmq_msg_close(&frame);
        if (rc != MR_OK) {
            zsys_warning("worker %u: rejected a broadcast (%d bytes): %s", cfg->id, size, err.text);
            continue;
        }
        last_heard = now;
        msg_t *m = &self->in;
        if (m->type == MSG_PING) {
            self->last_seq = m->seq;
            if (!self->ready_sent) {
                if (s_say(self, MSG_READY) < 0)
                    return "failed";
                self->ready_sent = 1;
            }
            // The PING after the forwarded honest updates of the round the attacker waits for.
            if (self->waiting && m->seq == self->wait_seq && s_attack(self) < 0)
                return "failed";
        } else if (m->type == MSG_UPDATE) {
            // Honest updates forwarded to the attackers: only an attacker reads them.
            if (self->waiting)
                attacker_observe(self->attacker, m);
        } else if (m->type == MSG_ROUND) {
            self->last_seq = m->seq;
            if (m->round < self->next_round)
                continue;  // a resent round we already answered
            if (m->round > self->next_round) {
                snprintf(self->reason, sizeof self->reason,
                         "worker %u: got round %llu but expected %llu", cfg->id,
                         (unsigned long long) m->round, (unsigned long long) self->next_round);
                return "failed";
            }
            if (s_answer(self) < 0)
                return "failed";
        } else if (m->type == MSG_REFUSE) {
            if (m->role != MSG_ROLE_WORKER || m->sender != cfg->id || m->pid != (uint32_t) getpid())
                continue;  // another process is refused
            snprintf(self->reason, sizeof self->reason, "%s", m->reason ? m->reason : "refused");
            return "failed";
        } else if (m->type == MSG_STOP) {
            snprintf(self->reason, sizeof self->reason, "%s", m->reason ? m->reason : "");
            if (m->status && strcmp(m->status, "completed") == 0)
                return "completed";
            return "stopped";  // the server ended the run early; not this worker's failure
        } else {
            zsys_warning("worker %u: unexpected %s on the broadcast", cfg->id,
                         msg_type_name(m->type));
        }
    }
}

void
worker_actor(zsock_t *pipe, void *args)
{
    const worker_cfg_t *cfg = args;
    mr_err_t err;
    mr_err_clear(&err);
    s_worker_t *self = s_worker_new(pipe, cfg, &err);
    zsock_signal(pipe, 0);
    if (!self) {
        zsys_error("worker %u: %s", cfg->id, err.text);
        actor_finish(pipe, "failed", err.text);
        return;
    }
    zstr_sendx(pipe, "READY", NULL);
    int term = 0;
    const char *status = s_run(self, &term);
    if (strcmp(status, "failed") == 0)
        zsys_error("%s", self->reason);
    if (!term)
        actor_finish(pipe, status, self->reason);
    s_worker_destroy(&self);
}
