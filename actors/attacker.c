//  attacker.c - see attacker.h.
#include "attacker.h"

#include <stdlib.h>

struct attacker {
    const method_t *method;
    attack_cfg_t cfg;
    size_t n, honest, dim;
    comp_t comp;            // the run's compressor, to shape compressed rounds
    rng_t rng;              // RNG_STREAM_ATTACK(id): compressor draws and noise
    uint64_t round;         // the current round
    int compressed;         // its messages pass through the compressor
    vec_t offset;           // what the server adds to a message to form its view
    vec_t own;              // the attacker's own honest view
    const cvec_t *own_msg;  // its own honest message (the worker's out buffer, borrowed)
    vec_t *views;           // honest views of the round
    const vec_t **ptrs;     // views[0..nviews)
    uint8_t *seen;          // per honest sender: its update of this round arrived
    size_t nviews;
    vec_t target, delta;  // the attack's view, and the message it needs
    //  estimator = local: the server keeps each sender's running sum, so the views persist.
    int local;     // mp.local_estimator for a method that has it
    int reset;     // local: this round restarts every estimator (a full round)
    vec_t sent;    // local: the server's estimator for this attacker (what it sent)
    vec_t shadow;  // local: the attacker's honest estimator (its shadow's messages)
};

attacker_t *
attacker_new(const method_t *method,
             const method_params_t *mp,
             const attack_cfg_t *attack,
             size_t honest,
             uint32_t id,
             uint64_t seed,
             mr_err_t *err)
{
    attacker_t *self = calloc(1, sizeof *self);
    if (!self) {
        mr_err_set(err, MR_ENOMEM, "attacker %u: out of memory", id);
        return NULL;
    }
    self->method = method;
    self->cfg = *attack;
    self->n = mp->n;
    self->honest = honest;
    self->dim = mp->dim;
    self->local = mp->local_estimator && method->local_estimator;
    rng_seed(&self->rng, seed, RNG_STREAM_ATTACK(id));
    comp_cfg_t cc = mp->comp;
    if (!method->uses_compressor)
        cc.kind = COMP_IDENTITY;
    if (comp_init(&self->comp, &cc, mp->dim, err) != MR_OK) {
        free(self);
        return NULL;
    }
    self->views = calloc(honest ? honest : 1, sizeof *self->views);
    self->ptrs = calloc(honest ? honest : 1, sizeof *self->ptrs);
    self->seen = calloc(honest ? honest : 1, 1);
    int rc = self->views && self->ptrs && self->seen ? MR_OK : MR_ENOMEM;
    for (size_t i = 0; rc == MR_OK && i < honest; i++)
        rc = vec_init(&self->views[i], mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->offset, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->own, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->target, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->delta, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->sent, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->shadow, mp->dim);
    if (rc != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "attacker %u: out of memory (d = %zu)", id, mp->dim);
        attacker_destroy(&self);
    }
    return self;
}

void
attacker_destroy(attacker_t **self_p)
{
    attacker_t *self = *self_p;
    if (!self)
        return;
    comp_fini(&self->comp);
    for (size_t i = 0; self->views && i < self->honest; i++)
        vec_fini(&self->views[i]);
    free(self->views);
    free((void *) self->ptrs);
    free(self->seen);
    vec_fini(&self->offset);
    vec_fini(&self->own);
    vec_fini(&self->target);
    vec_fini(&self->delta);
    vec_fini(&self->sent);
    vec_fini(&self->shadow);
    free(self);
    *self_p = NULL;
}

//  What persists between rounds: the rng, the round (observe() drops updates of other rounds),
//  which honest senders were seen (a late duplicate stays dropped) and, with estimator = local,
//  the estimators the server keeps: the honest senders', the attacker's own (sent) and its
//  shadow's. offset, own, target, delta and the views without estimator = local are rewritten
//  by every begin() and craft().
void
attacker_state(attacker_t *self, state_t *st)
{
    state_tag(st, "attacker-v1");
    state_expect(st, self->honest, "honest workers");
    state_expect(st, (uint64_t) self->local, "estimator = local (1: yes)");
    state_rng(st, &self->rng);
    state_u64(st, &self->round);
    state_index(st, &self->reset, 2, "reset");
    state_index(st, &self->compressed, 2, "compressed");
    state_bytes(st, self->seen, self->honest);
    if (!self->local)
        return;
    state_vec(st, &self->sent);
    state_vec(st, &self->shadow);
    for (size_t i = 0; i < self->honest; i++)
        state_vec(st, &self->views[i]);
}

void
attacker_begin(attacker_t *self, const method_round_t *rd, const cvec_t *own)
{
    self->round = rd->round;
    const vec_t *off = self->method->view_offset ? self->method->view_offset(rd) : NULL;
    self->compressed = self->method->uses_compressor &&
                       (self->method->round_compressed ? self->method->round_compressed(rd) : 1);
    if (self->local) {
        //  The server adds each message to the sender's own estimator, which a full round
        //  (no offset) restarts: the attacker's offset is what it sent before.
        self->reset = off == NULL;
        if (self->reset) {
            vec_zero(&self->sent);
            vec_zero(&self->shadow);
        }
        vec_copy(&self->offset, &self->sent);
        cvec_axpy_to(&self->shadow, 1.0, own);
        vec_copy(&self->own, &self->shadow);
    } else {
        if (off)
            vec_copy(&self->offset, off);
        else
            vec_zero(&self->offset);
        vec_copy(&self->own, &self->offset);
        cvec_axpy_to(&self->own, 1.0, own);
    }
    self->own_msg = own;
    self->nviews = 0;
    for (size_t i = 0; i < self->honest; i++)
        self->seen[i] = 0;
}

int
attacker_waits(const attacker_t *self)
{
    return attack_needs_honest(self->cfg.kind);
}

void
attacker_observe(attacker_t *self, const msg_t *update)
{
    uint32_t i = update->sender;
    if (update->round != self->round || i >= self->honest || self->seen[i] ||
        update->up.dim != self->dim)
        return;
    self->seen[i] = 1;
    vec_t *v;
    if (self->local) {
        //  Mirrors the server: sender i's estimator, restarted by a full round.
        v = &self->views[i];
        if (self->reset)
            vec_zero(v);
    } else {
        v = &self->views[self->nviews];
        vec_copy(v, &self->offset);
    }
    cvec_axpy_to(v, 1.0, &update->up);
    self->ptrs[self->nviews++] = v;
}

int
attacker_craft(attacker_t *self, cvec_t *out, mr_err_t *err)
{
    if (self->cfg.kind == ATTACK_LF || self->cfg.kind == ATTACK_JUNK ||
        self->cfg.kind == ATTACK_NONE) {
        //  An honest computation (on flipped labels for lf): sent as the method made it.
        if (out != self->own_msg)
            return mr_err_set(err, MR_EINVAL, "attacker: the own message must be in out");
        if (self->local)
            cvec_axpy_to(&self->sent, 1.0, out);
        return MR_OK;
    }
    int rc = attack_view(&self->cfg, self->ptrs, self->nviews, &self->own, &self->rng,
                         &self->target, err);
    if (rc != MR_OK)
        return rc;
    //  The message whose view is the target: target - offset, shaped like an honest one.
    vec_copy(&self->delta, &self->target);
    vec_axpy(&self->delta, -1.0, &self->offset);
    out->dim = self->dim;
    //  estimator = local: the server keeps what was sent, so the error e = target - sent carries
    //  over: e' = e - Q(e) has E|e'|^2 = omega |e|^2, which grows for omega > 1. Sending
    //  Q(alpha e) with DIANA's alpha = 1 / (1 + omega) makes it shrink by omega / (1 + omega).
    if (self->compressed && self->local)
        vec_scale(&self->delta, 1.0 / (1.0 + comp_omega(&self->comp)));
    if (self->compressed)
        comp_apply(&self->comp, &self->delta, &self->rng, out);
    else
        cvec_set_dense(out, &self->delta);
    if (self->local)
        cvec_axpy_to(&self->sent, 1.0, out);  // sent = offset + out, as the server adds it
    return MR_OK;
}
