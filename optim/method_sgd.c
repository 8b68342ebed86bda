//  method_sgd.c - distributed minibatch SGD as a method table; see method.h.
//
//  Every round each worker draws b = mp->batch indices of its shard (uniform or importance
//  sampling, from its own rng), forms the reweighted minibatch gradient
//  g_i = 1/b sum_j w_j grad f_ij(x^k) and sends Q(g_i) (Q = identity: the dense g_i); the server
//  averages (or, with an aggregator, robustly aggregates) them into g^k. The server is DIANA's
//  with alpha = 0 (g^k = 1/n sum_i update_i; method_diana.c).
//  BR-SGDm (Karimireddy, He, Jaggi 2021, the Byz-VR-MARINA paper's baseline) is the same with
//  worker momentum: m_i = (1 - beta) g_i + beta m_i (m_i = g_i in round 0), Q(m_i) is sent.
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "method_impl.h"
#include "sampler.h"
#include "theory.h"

struct method_worker {
    method_params_t mp;   // the run's parameters (copied)
    const loss_t *loss;   // f_i over this worker's shard, borrowed
    uint32_t id;          // i, 0-based
    sampler_t sampler;    // draws the minibatch
    uint32_t *rows;       // b drawn indices
    double *w;            // their weights 1/(m P(j))
    vec_t x;              // x^k
    vec_t grad;           // the minibatch gradient at x^k
    comp_t comp;          // Q
    int momentum;         // 1: BR-SGDm (send Q(m_i)), 0: SGD (send Q(g_i))
    vec_t mom;            // BR-SGDm: the momentum m_i
    uint64_t next_round;  // the round worker_step expects
};

//  The checkpoint: x^k and, for BR-SGDm, the momentum m_i; the minibatch is drawn from the
//  caller's rng.
static void
s_worker_visit(method_worker_t *self, state_t *st, const char *tag)
{
    state_tag(st, tag);
    state_expect(st, self->id, "worker id");
    state_expect(st, (uint64_t) self->momentum, "momentum (1: BR-SGDm)");
    state_vec(st, &self->x);
    if (self->momentum)
        state_vec(st, &self->mom);
    state_u64(st, &self->next_round);
}

static void
s_worker_state(method_worker_t *self, state_t *st)
{
    s_worker_visit(self, st, "sgd-worker-v1");
}

static void
s_momentum_worker_state(method_worker_t *self, state_t *st)
{
    s_worker_visit(self, st, "br-sgdm-worker-v1");
}

static void
s_server_state(method_server_t *self, state_t *st)
{
    method_diana_server_visit(self, st, "sgd-server-v1");
}

static void
s_momentum_server_state(method_server_t *self, state_t *st)
{
    method_diana_server_visit(self, st, "br-sgdm-server-v1");
}

static void
s_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    sampler_fini(&self->sampler);
    free(self->rows);
    free(self->w);
    vec_fini(&self->x);
    vec_fini(&self->grad);
    vec_fini(&self->mom);
    comp_fini(&self->comp);
    free(self);
    *self_p = NULL;
}

static method_worker_t *
s_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    if (mp->n == 0) {
        mr_err_set(err, MR_ECONFIG, "SGD needs at least one worker (n = 0)");
        return NULL;
    }
    if (mp->dim == 0 || x0->dim != mp->dim || loss->data->cols != mp->dim) {
        mr_err_set(err, MR_EDIM, "worker %u: x0 has dim %zu, data %zu columns, the run has d = %zu",
                   id, x0->dim, loss->data->cols, mp->dim);
        return NULL;
    }
    if (method_check_gamma(mp, err) != MR_OK)
        return NULL;
    if (mp->batch == 0) {
        mr_err_set(err, MR_ECONFIG, "key 'batch' = 0: SGD needs a minibatch");
        return NULL;
    }
    method_worker_t *self = method_worker_alloc(sizeof *self, id, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->loss = loss;
    self->id = id;
    if (sampler_init(&self->sampler, loss, mp->sampling, err) != MR_OK) {
        free(self);
        return NULL;
    }
    if (comp_init(&self->comp, &mp->comp, mp->dim, err) != MR_OK) {
        sampler_fini(&self->sampler);
        free(self);
        return NULL;
    }
    self->rows = calloc(mp->batch, sizeof *self->rows);
    self->w = calloc(mp->batch, sizeof *self->w);
    if (!self->rows || !self->w || vec_init(&self->x, mp->dim) != MR_OK ||
        vec_init(&self->grad, mp->dim) != MR_OK || vec_init(&self->mom, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu, b = %zu)", id, mp->dim,
                   mp->batch);
        s_worker_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    return self;
}

//  Rejoin (method.h), SGD only: each round's minibatch gradient is taken at x^k, nothing else
//  persists (BR-SGDm's momentum would, and has no rejoin).
static int
s_worker_rejoin(method_worker_t *self, uint64_t round, const vec_t *x, uint64_t *oracle_calls)
{
    (void) oracle_calls;
    if (round == 0 || x->dim != self->mp.dim || self->momentum)
        return MR_EINVAL;
    vec_copy(&self->x, x);
    self->next_round = round;
    return MR_OK;
}

static int
s_worker_step(method_worker_t *self,
              const method_round_t *rd,
              rng_t *rng,
              cvec_t *out,
              method_report_t *report)
{
    if (rd->round != self->next_round)
        return MR_EINVAL;
    if (rd->part)
        return MR_EINVAL;  // every worker, every round: the server never names participants
    assert(out->cap >= self->mp.dim);
    if (rd->round > 0) {
        assert(rd->g && rd->g->dim == self->mp.dim);
        method_step(&self->mp, rd->g, 0, &self->x);  // x^k = x^{k-1} - gamma g^{k-1}
    }
    size_t b = self->mp.batch;
    sampler_draw(&self->sampler, rng, b, self->rows, self->w);
    loss_batch_grad_weighted(self->loss, self->rows, self->w, b, &self->x, &self->grad);
    const vec_t *send = &self->grad;
    if (self->momentum) {
        //  m_i = (1 - beta) g_i + beta m_i; m_i = g_i in round 0.
        if (rd->round == 0) {
            vec_copy(&self->mom, &self->grad);
        } else {
            vec_scale(&self->mom, self->mp.momentum);
            vec_axpy(&self->mom, 1.0 - self->mp.momentum, &self->grad);
        }
        send = &self->mom;
    }
    out->dim = self->mp.dim;
    comp_apply(&self->comp, send, rng, out);
    //  Only a minibatch was evaluated: no f_i(x^k) or grad f_i(x^k) to report.
    *report = (method_report_t){.send = 1, .oracle_calls = b, .have_eval = 0};
    self->next_round++;
    return MR_OK;
}

static method_worker_t *
s_momentum_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    if (!(mp->momentum >= 0.0 && mp->momentum < 1.0)) {
        mr_err_set(err, MR_ECONFIG, "key 'momentum' = %g is outside [0, 1)", mp->momentum);
        return NULL;
    }
    method_worker_t *self = s_worker_new(mp, loss, id, x0, err);
    if (self)
        self->momentum = 1;
    return self;
}

static const vec_t *
s_worker_x(const method_worker_t *self)
{
    return &self->x;
}

static method_params_t
s_sgd_params(const method_params_t *mp)
{
    method_params_t sgd = *mp;
    sgd.alpha = 0.0;           // DIANA's server without shifts: g^k = 1/n sum_i update_i
    sgd.reg.kind = PROX_NONE;  // SGD has no prox step: its server must not take one either
    return sgd;
}

static method_server_t *
s_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    method_params_t sgd = s_sgd_params(mp);
    return method_diana_server_new(&sgd, x0, err);
}

//  SGD's theory: b = max(1, m/100) (the MARINA paper's experimental minibatch, App. A) and
//  gamma = 1/L, GD's descent-lemma step; with a constant step, minibatch SGD then settles in a
//  neighbourhood of a stationary point whose size shrinks with b. p and alpha are unused (set to
//  1 and 0).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    mp->p = 1.0;
    mp->alpha = 0.0;
    if (mp->m == 0)
        mp->m = pc->m;
    if (mp->m == 0)
        return mr_err_set(err, MR_ECONFIG, "key 'm' = 0: SGD needs samples on each worker");
    if (mp->batch == 0)
        mp->batch = theory_minibatch(mp->m);
    if (mp->batch > mp->m)
        return mr_err_set(err, MR_ECONFIG, "key 'batch' = %zu is outside [1, m = %zu]", mp->batch,
                          mp->m);
    if (isnan(mp->gamma))
        mp->gamma = 1.0 / pc->L;
    return method_check_common(mp, err);
}

static int
s_resolve_momentum(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    if (!(mp->momentum >= 0.0 && mp->momentum < 1.0))
        return mr_err_set(err, MR_ECONFIG, "key 'momentum' = %g is outside [0, 1)", mp->momentum);
    return s_resolve(mp, pc, err);
}

const method_t method_br_sgdm = {
    .name = "br-sgdm",
    .epoch_batch = METHOD_EPOCH_BATCH,
    .allows_biased = 0,
    .uses_compressor = 1,
    .resolve = s_resolve_momentum,
    .worker_new = s_momentum_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_server_new,
    .server_destroy = method_diana_server_destroy,
    .server_plan = method_diana_server_plan,
    .server_combine = method_diana_server_combine,
    .server_x = method_diana_server_x,
    .server_agg_dist_sq = method_diana_server_agg_dist_sq,
    .worker_state = s_momentum_worker_state,
    .server_state = s_momentum_server_state,
};

const method_t method_sgd = {
    .name = "sgd",
    .epoch_batch = METHOD_EPOCH_BATCH,
    .allows_biased = 0,
    .uses_compressor = 1,
    .resolve = s_resolve,
    .worker_new = s_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_server_new,
    .server_destroy = method_diana_server_destroy,
    .server_plan = method_diana_server_plan,
    .server_combine = method_diana_server_combine,
    .server_x = method_diana_server_x,
    .server_agg_dist_sq = method_diana_server_agg_dist_sq,
    .worker_state = s_worker_state,
    .worker_rejoin = s_worker_rejoin,
    .server_state = s_server_state,
};
