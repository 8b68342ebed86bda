//  method_diana.c - DIANA (Mishchenko et al. 2019) and VR-DIANA (Horvath et al. 2019, the loopless
//  SVRG variant) as method tables; see method.h.
//
//  Both learn shifts: worker i keeps h_i (h_i^0 = 0) and sends Delta_i = Q(g_i - h_i), where g_i
//  is its gradient estimate at x^k, then moves h_i += alpha Delta_i. The server keeps
//  h = 1/n sum_i h_i, forms g^k = h + 1/n sum_i Delta_i and moves h += alpha/n sum_i Delta_i. As
//  h_i approaches grad f_i(x*), what Q compresses shrinks to zero, so the compression noise
//  vanishes at the optimum (the slides' "variance reduction for gradient compression").
//  DIANA's g_i is the full local gradient; VR-DIANA's is an L-SVRG estimator around a reference
//  point w_i that a worker moves to its iterate with probability p (drawn from its own rng).
//
//  With a regulariser R (F = f + R) both step x^{k+1} = prox_{gamma R}(x^k - gamma g^k), the
//  proximal step of both papers (Mishchenko et al. 2019, Alg. 1; Horvath et al. 2019); worker and
//  server apply it with the same arithmetic, so their copies of x stay bit-identical.
//
//  Every round, round 0 included, is the same kind of step, so there is no coin (c_k = 0): round
//  0 is the step at x^0 with h = 0. With alpha = 0 the shifts stay zero and the step is plain
//  compressed GD: method_dcgd.c reuses the worker and server below that way, method_sgd.c the
//  server.
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
    int vr;               // 1: VR-DIANA's estimator, 0: DIANA's full local gradient
    comp_t comp;          // Q
    vec_t x;              // x^k
    vec_t h;              // the shift h_i
    vec_t grad;           // DIANA: grad f_i(x^k); VR-DIANA: mu_i = grad f_i(w_i)
    vec_t diff;           // g_i - h_i, the input of Q
    uint64_t next_round;  // the round worker_step expects
    //  VR-DIANA only (zero for DIANA):
    sampler_t sampler;  // draws the minibatch of b' = mp.batch_prime indices
    uint32_t *rows;     // b' drawn indices
    double *w;          // their weights 1/(m P(j))
    vec_t ref;          // the reference point w_i
    vec_t gref;         // the minibatch gradient at w_i
};

struct method_server {
    method_params_t mp;   // the run's parameters (copied)
    vec_t x;              // x^k after combining round k
    vec_t g;              // g^k after combining round k
    vec_t h;              // h = 1/n sum_i h_i
    vec_t sum;            // sum over workers of one round's Delta_i
    method_robust_t agg;  // robust aggregation (BR-DIANA); off: the plain average
    vec_t *hi;            // with agg on: every worker's shift h_i (the server aggregates
                          // h_i + Delta_i, the estimate each worker stands for)
    uint64_t next_round;  // the round server_plan and server_combine expect
};

//  The checkpoint: x^k, the shift h_i and, for VR-DIANA, the reference point w_i and
//  mu_i = grad f_i(w_i) (in grad, which DIANA rewrites every round; kept all the same).
void
method_diana_worker_visit(method_worker_t *self, state_t *st, const char *tag)
{
    state_tag(st, tag);
    state_expect(st, self->id, "worker id");
    state_expect(st, (uint64_t) self->vr, "vr (1: VR-DIANA)");
    state_vec(st, &self->x);
    state_vec(st, &self->h);
    state_vec(st, &self->grad);
    if (self->vr)
        state_vec(st, &self->ref);
    state_u64(st, &self->next_round);
}

//  x^k, g^k, h = 1/n sum_i h_i and, with an aggregator, every h_i and its rng.
void
method_diana_server_visit(method_server_t *self, state_t *st, const char *tag)
{
    state_tag(st, tag);
    state_vec(st, &self->x);
    state_vec(st, &self->g);
    state_vec(st, &self->h);
    state_expect(st, self->hi != NULL, "per-worker shifts (1: kept)");
    for (size_t i = 0; self->hi && i < self->mp.n; i++)
        state_vec(st, &self->hi[i]);
    state_u64(st, &self->next_round);
    method_robust_state(&self->agg, st, 0);
}

//  Checks what both sides need of mp and x0 (alpha = 0 is DCGD's); fills err, or MR_OK.
static int
s_check_params(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    if (mp->n == 0)
        return mr_err_set(err, MR_ECONFIG, "DIANA needs at least one worker (n = 0)");
    int rc = method_check_x0(mp, x0, err);
    if (rc == MR_OK)
        rc = method_check_gamma(mp, err);
    if (rc != MR_OK)
        return rc;
    if (!(mp->alpha >= 0.0 && mp->alpha <= 1.0))
        return mr_err_set(err, MR_ECONFIG, "key 'alpha' = %g is outside [0, 1]", mp->alpha);
    return MR_OK;
}

//  The state common to DIANA and VR-DIANA workers; NULL (err filled) on failure.
static method_worker_t *
s_worker_new(const method_params_t *mp,
             const loss_t *loss,
             uint32_t id,
             const vec_t *x0,
             int vr,
             mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK || method_check_shard(mp, loss, id, err) != MR_OK)
        return NULL;
    if (vr && method_check_p(mp, err) != MR_OK)
        return NULL;
    if (vr && mp->batch_prime == 0) {
        mr_err_set(err, MR_ECONFIG, "key 'batch_prime' = 0: VR-DIANA needs a minibatch");
        return NULL;
    }
    method_worker_t *self = method_worker_alloc(sizeof *self, id, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->loss = loss;
    self->id = id;
    self->vr = vr;
    if (comp_init(&self->comp, &mp->comp, mp->dim, err) != MR_OK) {
        free(self);
        return NULL;
    }
    if (vr && sampler_init(&self->sampler, loss, mp->sampling, err) != MR_OK) {
        comp_fini(&self->comp);
        free(self);
        return NULL;
    }
    int rc = vec_init(&self->x, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->h, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->grad, mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&self->diff, mp->dim);
    if (rc == MR_OK && vr) {
        self->rows = calloc(mp->batch_prime, sizeof *self->rows);
        self->w = calloc(mp->batch_prime, sizeof *self->w);
        if (!self->rows || !self->w)
            rc = MR_ENOMEM;
        if (rc == MR_OK)
            rc = vec_init(&self->ref, mp->dim);
        if (rc == MR_OK)
            rc = vec_init(&self->gref, mp->dim);
    }
    if (rc != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu)", id, mp->dim);
        method_diana_worker_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    return self;
}

method_worker_t *
method_diana_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, loss, id, x0, 0, err);
}

static method_worker_t *
s_vr_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, loss, id, x0, 1, err);
}

void
method_diana_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    comp_fini(&self->comp);
    if (self->vr)
        sampler_fini(&self->sampler);
    vec_fini(&self->x);
    vec_fini(&self->h);
    vec_fini(&self->grad);
    vec_fini(&self->diff);
    free(self->rows);
    free(self->w);
    vec_fini(&self->ref);
    vec_fini(&self->gref);
    free(self);
    *self_p = NULL;
}

//  VR-DIANA's estimator at x^k (Horvath et al. 2019, Alg. 1 with the L-SVRG estimator), written
//  to diff: g_i = 1/b' sum_j w_j (grad f_ij(x^k) - grad f_ij(w_i)) + mu_i. Returns oracle calls.
static uint64_t
s_vr_estimate(method_worker_t *self, rng_t *rng)
{
    size_t b = self->mp.batch_prime;
    sampler_draw(&self->sampler, rng, b, self->rows, self->w);
    loss_batch_grad_weighted(self->loss, self->rows, self->w, b, &self->x, &self->diff);
    loss_batch_grad_weighted(self->loss, self->rows, self->w, b, &self->ref, &self->gref);
    vec_axpy(&self->diff, -1.0, &self->gref);
    vec_axpy(&self->diff, 1.0, &self->grad);
    return 2 * (uint64_t) b;
}

int
method_diana_worker_rejoin(method_worker_t *self,
                           uint64_t round,
                           const vec_t *x,
                           uint64_t *oracle_calls)
{
    (void) oracle_calls;  // grad f_i is recomputed every round: nothing to rebuild
    if (round == 0 || x->dim != self->mp.dim || self->vr || self->mp.alpha > 0.0)
        return MR_EINVAL;
    vec_copy(&self->x, x);
    self->next_round = round;
    return MR_OK;
}

int
method_diana_worker_step(method_worker_t *self,
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
    *report = (method_report_t){.send = 1};
    if (rd->round > 0) {
        assert(rd->g && rd->g->dim == self->mp.dim);
        //  x^k = prox_{gamma R}(x^{k-1} - gamma g^{k-1})
        method_step(&self->mp, rd->g, 1, &self->x);
    }
    if (!self->vr || rd->round == 0) {
        //  DIANA: g_i = grad f_i(x^k). VR-DIANA, round 0: w_i = x^0, mu_i = grad f_i(x^0), and
        //  g_i = mu_i.
        report->f = loss_value_grad(self->loss, &self->x, &self->grad);
        report->oracle_calls = self->loss->data->rows;
        report->have_eval = 1;
        report->grad = &self->grad;
        if (self->vr)
            vec_copy(&self->ref, &self->x);
        vec_copy(&self->diff, &self->grad);
    } else {
        report->oracle_calls = s_vr_estimate(self, rng);
    }
    //  Delta_i = Q(g_i - h_i), then h_i += alpha Delta_i (alpha = 0: DCGD, h_i stays 0).
    vec_axpy(&self->diff, -1.0, &self->h);
    out->dim = self->mp.dim;
    comp_apply(&self->comp, &self->diff, rng, out);
    if (self->mp.alpha > 0.0)
        cvec_axpy_to(&self->h, self->mp.alpha, out);
    if (self->vr && rd->round > 0 && rng_bernoulli(rng, self->mp.p)) {
        //  L-SVRG's reference update, with probability p: w_i = x^k, mu_i = grad f_i(x^k).
        vec_copy(&self->ref, &self->x);
        report->f = loss_value_grad(self->loss, &self->x, &self->grad);
        report->oracle_calls += self->loss->data->rows;
        report->have_eval = 1;
        report->grad = &self->grad;
    }
    self->next_round++;
    return MR_OK;
}

const vec_t *
method_diana_worker_x(const method_worker_t *self)
{
    return &self->x;
}

method_server_t *
method_diana_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK)
        return NULL;
    method_server_t *self = method_server_alloc(sizeof *self, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    if (vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->g, mp->dim) != MR_OK ||
        vec_init(&self->h, mp->dim) != MR_OK || vec_init(&self->sum, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for the server state (d = %zu)", mp->dim);
        method_diana_server_destroy(&self);
        return NULL;
    }
    if (method_robust_init(&self->agg, mp, err) != MR_OK) {
        method_diana_server_destroy(&self);
        return NULL;
    }
    if (self->agg.on && mp->alpha > 0.0) {
        self->hi = calloc(mp->n, sizeof *self->hi);
        int rc = self->hi ? MR_OK : MR_ENOMEM;
        for (size_t i = 0; rc == MR_OK && i < mp->n; i++)
            rc = vec_init(&self->hi[i], mp->dim);
        if (rc != MR_OK) {
            mr_err_set(err, MR_ENOMEM, "no memory for %zu shifts (d = %zu)", mp->n, mp->dim);
            method_diana_server_destroy(&self);
            return NULL;
        }
    }
    vec_copy(&self->x, x0);
    return self;
}

void
method_diana_server_destroy(method_server_t **self_p)
{
    method_server_t *self = *self_p;
    if (!self)
        return;
    vec_fini(&self->x);
    vec_fini(&self->g);
    vec_fini(&self->h);
    vec_fini(&self->sum);
    for (size_t i = 0; self->hi && i < self->mp.n; i++)
        vec_fini(&self->hi[i]);
    free(self->hi);
    method_robust_fini(&self->agg);
    free(self);
    *self_p = NULL;
}

void
method_diana_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd)
{
    assert(round == self->next_round);
    *rd = (method_round_t){.round = round, .coin = 0, .g = round > 0 ? &self->g : NULL};
}

//  BR-DIANA (and robust SGD / DCGD, whose shifts stay 0): g^k = ARAgg(h_i + Delta_i), then
//  h_i += alpha Delta_i for every worker that sent one.
static int
s_robust_combine(method_server_t *self, const cvec_t *const *ups, mr_err_t *err)
{
    size_t n = self->mp.n;
    if (!self->hi) {
        int rc = method_robust_combine(&self->agg, NULL, ups, &self->g, err);
        if (rc == MR_OK)
            self->next_round++;
        return rc;
    }
    //  Each worker's view has its own offset h_i: aggregate views built here, one at a time.
    for (size_t i = 0; i < n; i++) {
        self->agg.ptrs[i] = NULL;
        if (!ups[i])
            continue;
        vec_copy(&self->agg.views[i], &self->hi[i]);
        cvec_axpy_to(&self->agg.views[i], 1.0, ups[i]);
        self->agg.ptrs[i] = &self->agg.views[i];
        cvec_axpy_to(&self->hi[i], self->mp.alpha, ups[i]);
    }
    int rc = method_robust_aggregate(&self->agg, &self->g, err);
    if (rc == MR_OK)
        self->next_round++;
    return rc;
}

int
method_diana_server_combine(method_server_t *self,
                            const method_round_t *rd,
                            const cvec_t *const *ups,
                            mr_err_t *err)
{
    size_t n = self->mp.n;
    int rc = method_check_updates(&self->mp, self->next_round, rd, ups, NULL, err);
    if (rc != MR_OK)
        return rc;
    if (rd->round > 0) {
        //  x^k = prox_{gamma R}(x^{k-1} - gamma g^{k-1}), as the workers compute it.
        method_step(&self->mp, &self->g, 1, &self->x);
    }
    if (self->agg.on)
        return s_robust_combine(self, ups, err);
    //  Summed in worker-id order and scaled once.
    method_sum_updates(&self->sum, ups, n, NULL);
    //  g^k = h + 1/n sum_i Delta_i, then h += alpha/n sum_i Delta_i.
    vec_copy(&self->g, &self->h);
    vec_axpy(&self->g, 1.0 / (double) n, &self->sum);
    if (self->mp.alpha > 0.0)
        vec_axpy(&self->h, self->mp.alpha / (double) n, &self->sum);
    self->next_round++;
    return MR_OK;
}

const vec_t *
method_diana_server_x(const method_server_t *self)
{
    return &self->x;
}

double
method_diana_server_agg_dist_sq(const method_server_t *self)
{
    return self->agg.on ? self->agg.dist_sq : 0.0;
}

static int
s_check_alpha(const method_params_t *mp, mr_err_t *err)
{
    if (!(mp->alpha > 0.0 && mp->alpha <= 1.0))
        return mr_err_set(err, MR_ECONFIG, "key 'alpha' = %g is outside (0, 1]", mp->alpha);
    return MR_OK;
}

//  DIANA's theory: alpha = 1/(1+omega) and VR-DIANA's non-convex theorem (Horvath et al. 2019)
//  with m = 1, gamma = 1 / (10 L sqrt(1 + omega/n) (omega + 2)), whose L bounds every f_i: L_max.
//  gamma = 'ours' is 1/(L (1 + (1+omega) sqrt(omega/n))), our constants, with the mean-square L.
//  p is unused (set to 1).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    int rc = method_check_unbiased(mp, "DIANA", err);  // the shifts' analysis needs E[Q(x)] = x
    if (rc != MR_OK)
        return rc;
    mp->p = 1.0;
    if (isnan(mp->alpha))
        mp->alpha = theory_diana_alpha(pc->omega);
    if (isnan(mp->gamma) && mp->gamma_ours)
        mp->gamma = theory_diana_gamma_ours(pc->L, pc->omega, pc->n);
    else if (isnan(mp->gamma))
        mp->gamma = theory_diana_gamma(fmax(pc->L, pc->L_max), pc->omega, pc->n);
    rc = s_check_alpha(mp, err);
    return rc != MR_OK ? rc : method_check_common(mp, err);
}

//  VR-DIANA's theory (Horvath et al. 2019, the non-convex theorem for the L-SVRG variant, stated
//  for one sampled component per step): the shard of m samples read in minibatches of
//  b' = max(1, m/100) (the MARINA paper, App. A) is m/b' components, so p = b'/m and
//  gamma = 1/(10 L sqrt(1 + omega/n) ((m/b')^{2/3} + omega + 1)), alpha = 1/(1+omega). The
//  theorem takes one L for every f_ij: L_max (>= script L, which is max_j L_ij for uniform
//  sampling and mean_j L_ij for importance sampling).
static int
s_vr_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    int rc = method_check_unbiased(mp, "VR-DIANA", err);
    if (rc != MR_OK)
        return rc;
    if (mp->m == 0)
        mp->m = pc->m;
    if (mp->m == 0)
        return mr_err_set(err, MR_ECONFIG, "key 'm' = 0: VR-DIANA needs samples on each worker");
    if (mp->batch_prime == 0)
        mp->batch_prime = theory_minibatch(mp->m);
    if (mp->batch_prime > mp->m)
        return mr_err_set(err, MR_ECONFIG, "key 'batch_prime' = %zu is outside [1, m = %zu]",
                          mp->batch_prime, mp->m);
    if (isnan(mp->p))
        mp->p = theory_vr_diana_p(mp->m, mp->batch_prime);
    if (isnan(mp->alpha))
        mp->alpha = theory_diana_alpha(pc->omega);
    if (isnan(mp->gamma)) {
        double L = fmax(pc->L_max, fmax(pc->L, pc->L_avg));
        mp->gamma =
            theory_vr_diana_gamma(L, pc->omega, pc->n, theory_vr_diana_m(mp->m, mp->batch_prime));
    }
    rc = s_check_alpha(mp, err);
    return rc != MR_OK ? rc : method_check_common(mp, err);
}

static void
s_worker_state(method_worker_t *self, state_t *st)
{
    method_diana_worker_visit(self, st, "diana-worker-v1");
}

static void
s_server_state(method_server_t *self, state_t *st)
{
    method_diana_server_visit(self, st, "diana-server-v1");
}

static void
s_vr_worker_state(method_worker_t *self, state_t *st)
{
    method_diana_worker_visit(self, st, "vr-diana-worker-v1");
}

static void
s_vr_server_state(method_server_t *self, state_t *st)
{
    method_diana_server_visit(self, st, "vr-diana-server-v1");
}

const method_t method_diana = {
    .name = "diana",
    .allows_biased = 0,
    .allows_prox = 1,
    .has_gamma_ours = 1,
    .uses_compressor = 1,
    .resolve = s_resolve,
    .worker_new = method_diana_worker_new,
    .worker_destroy = method_diana_worker_destroy,
    .worker_step = method_diana_worker_step,
    .worker_x = method_diana_worker_x,
    .server_new = method_diana_server_new,
    .server_destroy = method_diana_server_destroy,
    .server_plan = method_diana_server_plan,
    .server_combine = method_diana_server_combine,
    .server_x = method_diana_server_x,
    .server_agg_dist_sq = method_diana_server_agg_dist_sq,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};

const method_t method_vr_diana = {
    .name = "vr-diana",
    .epoch_batch = METHOD_EPOCH_BATCH_PRIME,
    .allows_biased = 0,
    .allows_prox = 1,
    .uses_compressor = 1,
    .resolve = s_vr_resolve,
    .worker_new = s_vr_worker_new,
    .worker_destroy = method_diana_worker_destroy,
    .worker_step = method_diana_worker_step,
    .worker_x = method_diana_worker_x,
    .server_new = method_diana_server_new,
    .server_destroy = method_diana_server_destroy,
    .server_plan = method_diana_server_plan,
    .server_combine = method_diana_server_combine,
    .server_x = method_diana_server_x,
    .server_agg_dist_sq = method_diana_server_agg_dist_sq,
    .worker_state = s_vr_worker_state,
    .server_state = s_vr_server_state,
};
