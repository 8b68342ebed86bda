//  server_checkpoint.c - the server's checkpoints and resume (server_impl.h, checkpoint.h): its
//  own state, the seats' STATEs of a checkpoint round, the CHECKPOINT sent to the recorder, and
//  continuing a run from one.
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "checkpoint.h"
#include "msg.h"
#include "server_impl.h"

#define CHECKPOINT_MAX_BYTES ((size_t) 512 << 20)  // a checkpoint must fit one SQLite blob (1e9)

//  Saves or loads (state.h) what the server carries from one round to the next: the method's
//  state, the c_k stream, the broadcast sequence, the senders' records and the stop criterion's
//  reference; the last ROUND's g (out.g) travels in the checkpoint itself (the workers need it too).
static void
s_server_state(server_t *self, state_t *st)
{
    state_tag(st, "marina-server-v1");
    state_expect(st, self->n, "n");
    self->cfg->method->server_state(self->ms, st);
    state_rng(st, &self->rng);
    state_u64(st, &self->seq);
    for (size_t i = 0; i < self->n; i++)
        state_u64(st, &self->invalid[i]);
    state_bytes(st, self->excluded, self->n);
    state_bytes(st, self->lost, self->n);
    uint64_t live = self->live;
    state_u64(st, &live);
    self->live = (size_t) live;
    state_f64(st, &self->gns0);
    state_f64(st, &self->last_gns);
}

//  Continues from cfg->resume: the server's state, the g every worker holds, the next round.
int
server_resume(server_t *self, mr_err_t *err)
{
    const server_cfg_t *cfg = self->cfg;
    if (!cfg->method->server_state)
        return mr_err_set(err, MR_EINVAL, "%s cannot be resumed (no checkpoints)",
                          cfg->method->name);
    checkpoint_t c;
    int rc = checkpoint_parse(cfg->resume, cfg->resume_bytes, self->n, cfg->join_digest, &c, err);
    if (rc != MR_OK)
        return rc;
    state_t st;
    state_init_load(&st, c.server, c.server_bytes);
    s_server_state(self, &st);
    rc = state_rc(&st, err);
    if (rc == MR_OK && c.g_bytes != 0 && c.g_bytes != self->dim * sizeof(double))
        rc = mr_err_set(err, MR_EDIM, "the checkpoint's g has %zu bytes, not 8 d = %zu", c.g_bytes,
                        self->dim * sizeof(double));
    if (rc == MR_OK && c.g_bytes) {
        memcpy(self->out.g.x, c.g, c.g_bytes);
        self->g_sent_digest = msg_g_digest(&self->out.g);
        self->g_sent_ok = 1;
    }
    self->first_round = c.round + 1;
    self->elapsed0 = c.elapsed_s;
    checkpoint_fini(&c);
    if (rc == MR_OK)
        zsys_notice("server: resuming after round %llu (checkpoint)",
                    (unsigned long long) self->first_round - 1);
    return rc;
}

//  1 if round k asks the seats for their STATE (server.h, checkpoint_every).
int
server_checkpoint_due(server_t *self, uint64_t k)
{
    const server_cfg_t *cfg = self->cfg;
    if (!cfg->with_recorder || self->ckpt_off || k == 0 || k >= cfg->rounds ||
        !cfg->method->server_state || !cfg->method->worker_state)
        return 0;
    for (size_t i = 0; i < self->n; i++)
        if (self->lost[i] || self->excluded[i])
            return 0;  // a seat that does not answer has no state to save
    if (cfg->checkpoint_every > 0)
        return k % cfg->checkpoint_every == 0;
    //  auto: not when the states would be too large to store (about four d-vectors a seat).
    if ((double) self->n * (double) self->dim * 32.0 > (double) CHECKPOINT_MAX_BYTES)
        return 0;
    return cfg->checkpoint_auto_s > 0 && actor_now() - self->ckpt_at >= cfg->checkpoint_auto_s;
}

//  A STATE of round k: kept for the round's checkpoint. One of another round, or a second one, is
//  discarded; an empty one means its seat cannot save its state: no checkpoints in this run.
void
server_take_state(server_t *self, uint64_t k)
{
    const msg_t *m = &self->in;
    uint32_t i = m->sender;
    char why[160];
    if (i >= self->n || !self->ckpt_wanted || m->round != k || self->seat_got[i]) {
        snprintf(why, sizeof why, "a state from %u for round %llu: not asked for, discarded", i,
                 (unsigned long long) m->round);
        server_discard(self, i < self->n ? i : UINT32_MAX, why);
        return;
    }
    if (m->blob_len == 0) {
        if (!self->ckpt_off)
            zsys_warning("server: worker %u cannot save its state: no checkpoints in this run", i);
        self->ckpt_off = 1;
        self->ckpt_wanted = 0;
        return;
    }
    if (self->seat_state_cap[i] < m->blob_len) {
        uint8_t *grown = realloc(self->seat_state[i], m->blob_len);
        if (!grown) {
            zsys_warning("server: out of memory for worker %u's state: no checkpoint", i);
            self->ckpt_wanted = 0;
            return;
        }
        self->seat_state[i] = grown;
        self->seat_state_cap[i] = m->blob_len;
    }
    memcpy(self->seat_state[i], m->blob, m->blob_len);
    self->seat_state_len[i] = m->blob_len;
    self->seat_got[i] = 1;
    self->states_pending--;
}

//  After round k (the last its checkpoint includes): waits for the seats' STATEs, then sends the
//  recorder the checkpoint. A seat silent past timeout_s costs this checkpoint only (the next
//  round's deadline judges the seat). 0, or -1 when the run must end (reason set).
int
server_checkpoint(server_t *self, uint64_t k, double elapsed_s)
{
    double deadline = actor_now() + self->cfg->timeout_s;
    while (self->ckpt_wanted && self->states_pending > 0) {
        server_next_t got = server_next(self, deadline);
        if (got == NEXT_STOP)
            return -1;
        if (got == NEXT_TERM) {
            snprintf(self->reason, sizeof self->reason, "interrupted after round %llu",
                     (unsigned long long) k);
            return -1;
        }
        if (got == NEXT_TIMEOUT) {
            zsys_warning("server: round %llu: %zu states did not come within %.0f s: no "
                         "checkpoint",
                         (unsigned long long) k, self->states_pending, self->cfg->timeout_s);
            return 0;
        }
        if (got == NEXT_MSG && self->in.type == MSG_STATE) {
            server_take_state(self, k);
        } else if (got == NEXT_MSG || got == NEXT_BAD) {
            self->rejected++;  // a copy of this round's answers, or junk: the round is closed
            self->discarded += got == NEXT_MSG;
        }
    }
    if (!self->ckpt_wanted)
        return 0;
    state_t server, packed;
    state_init_save(&server);
    state_init_save(&packed);
    s_server_state(self, &server);
    checkpoint_t c = {k,
                      self->cfg->join_digest,
                      elapsed_s,
                      self->n,
                      self->g_sent_ok ? (const uint8_t *) self->out.g.x : NULL,
                      self->g_sent_ok ? self->dim * sizeof(double) : 0,
                      server.data,
                      server.size,
                      (const uint8_t **) self->seat_state,
                      self->seat_state_len};
    mr_err_t err;
    int rc = state_rc(&server, &err);
    if (rc == MR_OK)
        rc = checkpoint_pack(&c, &packed, &err);
    int sent = 0;
    if (rc == MR_OK && packed.size > CHECKPOINT_MAX_BYTES) {
        zsys_warning("server: round %llu: the checkpoint would take %zu MB, more than the %zu MB "
                     "a database row holds: no checkpoints in this run",
                     (unsigned long long) k, packed.size >> 20,
                     (size_t) CHECKPOINT_MAX_BYTES >> 20);
        self->ckpt_off = 1;
    } else if (rc == MR_OK) {
        self->out.type = MSG_CHECKPOINT;
        self->out.round = k;
        self->out.blob = packed.data;
        self->out.blob_len = packed.size;
        sent = server_to_recorder(self);
        self->out.blob = NULL;
        self->out.blob_len = 0;
    } else {
        zsys_warning("server: round %llu: no checkpoint: %s", (unsigned long long) k, err.text);
    }
    state_fini(&server);
    state_fini(&packed);
    self->ckpt_at = actor_now();
    return sent < 0 ? -1 : 0;
}
