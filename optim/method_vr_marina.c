//  method_vr_marina.c - VR-MARINA (MARINA paper, Algorithm 2, finite sum, and Algorithm 3,
//  online) as two method tables, "vr-marina" and "vr-marina-online"; see method.h.
//
//  Our round k is the paper's iteration k-1 -> k: the server broadcasts g^{k-1} and c_k, each
//  worker steps to x^k = x^{k-1} - gamma g^{k-1} and sends g_i^k - g^{k-1}:
//    c_k = 1: the dense grad f_i(x^k) (finite sum, m oracle calls), or the minibatch gradient
//             1/b sum_{j in I} w_j grad f_ij(x^k) (online, b calls);
//    c_k = 0: Q(1/b' sum_{j in I'} w_j (grad f_ij(x^k) - grad f_ij(x^{k-1}))), the same b' rows
//             at both points (2 b' calls).
//  w_j = 1 for uniform sampling and 1/(m P(j)) for importance sampling (sampler.h). Round 0 is
//  line 2 of either algorithm: a full round. The online variant reads the shard as the
//  distribution D_i (uniform over its samples), so its minibatches are i.i.d. draws from it.
//
//  The server's side is MARINA's (g^k = mean of the g_i^k when c_k = 1, else g^{k-1} + mean of
//  the Q_i, summed in worker-id order), so the tables reuse method_marina_server_*.
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
    int online;           // 1: Algorithm 3 (minibatch full rounds), 0: Algorithm 2
    comp_t comp;          // Q
    sampler_t sampler;    // draws the minibatches I and I'
    uint32_t *rows;       // max(b, b') drawn sample indices
    double *w;            // their weights w_j
    vec_t x;              // x^k
    vec_t x_prev;         // x^{k-1}, the other end of the gradient difference
    vec_t grad;           // the full-round message: grad f_i(x^k) or its minibatch estimate
    vec_t grad_new;       // compressed rounds: 1/b' sum w_j grad f_ij(x^k)
    vec_t grad_old;       // compressed rounds: 1/b' sum w_j grad f_ij(x^{k-1})
    uint64_t next_round;  // the round worker_step expects
};

//  The checkpoint: x^k and x^{k-1} (the next compressed round recomputes both minibatch
//  gradients; x_prev is rewritten before it is read, kept all the same); the minibatches are
//  drawn from the caller's rng, and the sampler's weights come from the loss.
static void
s_worker_visit(method_worker_t *self, state_t *st, const char *tag)
{
    state_tag(st, tag);
    state_expect(st, self->id, "worker id");
    state_expect(st, (uint64_t) self->online, "online (1: Algorithm 3)");
    state_vec(st, &self->x);
    state_vec(st, &self->x_prev);
    state_u64(st, &self->next_round);
}

static void
s_worker_state_finite(method_worker_t *self, state_t *st)
{
    s_worker_visit(self, st, "vr-marina-worker-v1");
}

static void
s_worker_state_online(method_worker_t *self, state_t *st)
{
    s_worker_visit(self, st, "vr-marina-online-worker-v1");
}

static void
s_worker_state_byz(method_worker_t *self, state_t *st)
{
    s_worker_visit(self, st, "byz-vr-marina-worker-v1");
}

static void
s_server_state_finite(method_server_t *self, state_t *st)
{
    method_marina_server_visit(self, st, "vr-marina-server-v1");
}

static void
s_server_state_online(method_server_t *self, state_t *st)
{
    method_marina_server_visit(self, st, "vr-marina-online-server-v1");
}

static void
s_server_state_byz(method_server_t *self, state_t *st)
{
    method_marina_server_visit(self, st, "byz-vr-marina-server-v1");
}

//  Theory defaults of the minibatch sizes (0 = "theory" in method_params_t).
//  b' = max(1, m/100): the paper's experiments (Fig. 1 and App. A: batch sizes ~ m/100).
static size_t
s_default_batch_prime(size_t m)
{
    return m / 100 > 0 ? m / 100 : 1;
}

//  b = max(1, m/10) for the online variant. Corollary 3.2 asks for b = Theta(sigma^2/(n eps^2)),
//  which needs sigma and a target eps that a run does not know; m/10 keeps the full rounds 10x
//  cheaper than a pass over the shard while making b' <= b hold for the default b' = m/100. The
//  run ends in a neighbourhood of size sigma^2/(n b) (Theorem 3.2, (41)): set 'batch' to shrink it.
static size_t
s_default_batch(size_t m)
{
    return m / 10 > 0 ? m / 10 : 1;
}

//  Checks the sizes against a shard of m samples (both sides of resolve() and worker_new()).
static int
s_check_batches(const method_params_t *mp, int online, size_t m, mr_err_t *err)
{
    if (online && (mp->batch < 1 || mp->batch > m))
        return mr_err_set(err, MR_ECONFIG, "key 'batch' = %zu is outside [1, m = %zu]", mp->batch,
                          m);
    if (mp->batch_prime < 1 || mp->batch_prime > m)
        return mr_err_set(err, MR_ECONFIG, "key 'batch_prime' = %zu is outside [1, m = %zu]",
                          mp->batch_prime, m);
    //  Corollary 3.2 takes b' <= b.
    if (online && mp->batch_prime > mp->batch)
        return mr_err_set(err, MR_ECONFIG, "key 'batch_prime' = %zu exceeds key 'batch' = %zu",
                          mp->batch_prime, mp->batch);
    return MR_OK;
}

static void
s_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    comp_fini(&self->comp);
    sampler_fini(&self->sampler);
    free(self->rows);
    free(self->w);
    vec_fini(&self->x);
    vec_fini(&self->x_prev);
    vec_fini(&self->grad);
    vec_fini(&self->grad_new);
    vec_fini(&self->grad_old);
    free(self);
    *self_p = NULL;
}

static method_worker_t *
s_worker_new_common(const method_params_t *mp,
                    const loss_t *loss,
                    uint32_t id,
                    const vec_t *x0,
                    int online,
                    mr_err_t *err)
{
    //  Theorems 3.1 and 3.2 need E[Q(x)] = x (Definition 1.1).
    if (method_check_x0(mp, x0, err) != MR_OK || method_check_shard(mp, loss, id, err) != MR_OK ||
        method_check_common(mp, err) != MR_OK ||
        method_check_unbiased(mp, "VR-MARINA", err) != MR_OK ||
        s_check_batches(mp, online, loss->data->rows, err) != MR_OK)
        return NULL;
    method_worker_t *self = method_worker_alloc(sizeof *self, id, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->loss = loss;
    self->id = id;
    self->online = online;
    if (comp_init(&self->comp, &mp->comp, mp->dim, err) != MR_OK) {
        free(self);
        return NULL;
    }
    if (sampler_init(&self->sampler, loss, mp->sampling, err) != MR_OK) {
        comp_fini(&self->comp);
        free(self);
        return NULL;
    }
    size_t nrows = online && mp->batch > mp->batch_prime ? mp->batch : mp->batch_prime;
    self->rows = malloc(nrows * sizeof *self->rows);
    self->w = malloc(nrows * sizeof *self->w);
    if (!self->rows || !self->w || vec_init(&self->x, mp->dim) != MR_OK ||
        vec_init(&self->x_prev, mp->dim) != MR_OK || vec_init(&self->grad, mp->dim) != MR_OK ||
        vec_init(&self->grad_new, mp->dim) != MR_OK ||
        vec_init(&self->grad_old, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu, %zu rows)", id, mp->dim,
                   nrows);
        s_worker_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    vec_copy(&self->x_prev, x0);
    return self;
}

static method_worker_t *
s_worker_new_finite(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new_common(mp, loss, id, x0, 0, err);
}

static method_worker_t *
s_worker_new_online(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new_common(mp, loss, id, x0, 1, err);
}

//  Rejoin (method.h): every compressed round recomputes both minibatch gradients, so x^{k-1} is
//  all there is to give back (x_prev is rewritten before it is read).
static int
s_worker_rejoin(method_worker_t *self, uint64_t round, const vec_t *x, uint64_t *oracle_calls)
{
    (void) oracle_calls;
    if (round == 0 || x->dim != self->mp.dim)
        return MR_EINVAL;
    vec_copy(&self->x, x);
    vec_copy(&self->x_prev, x);
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
    size_t dim = self->mp.dim;
    assert(out->cap >= dim);
    if (rd->round > 0) {
        assert(rd->g && rd->g->dim == dim);
        //  Alg. 2/3 line 7: x^k = x^{k-1} - gamma g^{k-1}, keeping x^{k-1} for the difference.
        vec_copy(&self->x_prev, &self->x);
        method_step(&self->mp, rd->g, 0, &self->x);
    }
    *report = (method_report_t){.send = 1};
    out->dim = dim;
    if (rd->round == 0 || rd->coin) {
        if (!self->online) {
            //  Alg. 2 lines 2 and 8 (c_k = 1): g_i^k = grad f_i(x^k), m oracle calls.
            report->f = loss_value_grad(self->loss, &self->x, &self->grad);
            report->have_eval = 1;
            report->grad = &self->grad;
            report->oracle_calls = self->loss->data->rows;
        } else {
            //  Alg. 3 lines 2 and 8 (c_k = 1): g_i^k = 1/b sum_{j in I} w_j grad f_ij(x^k), b
            //  calls. Not grad f_i(x^k), so nothing to report for metrics.
            size_t b = self->mp.batch;
            sampler_draw(&self->sampler, rng, b, self->rows, self->w);
            loss_batch_grad_weighted(self->loss, self->rows, self->w, b, &self->x, &self->grad);
            report->oracle_calls = b;
        }
        cvec_set_dense(out, &self->grad);
    } else {
        //  Alg. 2/3 line 8 (c_k = 0): g_i^k = g^{k-1} + Q(1/b' sum_{j in I'} w_j (grad f_ij(x^k) -
        //  grad f_ij(x^{k-1}))); the server holds g^{k-1}, so only Q(.) travels. The same rows
        //  at both points: 2 b' oracle calls.
        size_t bp = self->mp.batch_prime;
        sampler_draw(&self->sampler, rng, bp, self->rows, self->w);
        loss_batch_grad_weighted(self->loss, self->rows, self->w, bp, &self->x, &self->grad_new);
        loss_batch_grad_weighted(self->loss, self->rows, self->w, bp, &self->x_prev,
                                 &self->grad_old);
        vec_axpy(&self->grad_new, -1.0, &self->grad_old);
        comp_apply(&self->comp, &self->grad_new, rng, out);
        report->oracle_calls = 2 * (uint64_t) bp;
    }
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_worker_x(const method_worker_t *self)
{
    return &self->x;
}

//  The resolve() of both variants: b' (and b) defaults, then p and gamma from the paper.
static int
s_resolve_common(method_params_t *mp, const method_consts_t *pc, int online, mr_err_t *err)
{
    if (mp->m == 0)
        mp->m = pc->m;
    size_t m = mp->m;
    if (m == 0)
        return mr_err_set(err, MR_ECONFIG, "key 'm' = 0: every worker needs samples");
    if (online && mp->batch == 0)
        mp->batch = s_default_batch(m);
    if (mp->batch_prime == 0) {
        mp->batch_prime = s_default_batch_prime(m);
        if (online && mp->batch_prime > mp->batch && mp->batch > 0)
            mp->batch_prime = mp->batch;  // a chosen small b still gets b' <= b
    }
    int rc = method_check_unbiased(mp, "VR-MARINA", err);
    if (rc == MR_OK)
        rc = s_check_batches(mp, online, m, err);
    if (rc != MR_OK)
        return rc;
    //  Corollary 3.1 (finite sum): p = min(zeta/d, b'/(m + b')); Corollary 3.2 (online):
    //  p = min(zeta/d, b'/(b + b')).
    if (isnan(mp->p))
        mp->p = fmin(
            1.0, theory_vr_marina_p(pc->zeta, pc->dim, mp->batch_prime, online ? mp->batch : m));
    rc = method_check_p(mp, err);  // before gamma, which p would make meaningless
    if (rc != MR_OK)
        return rc;
    //  Theorem 3.1 / 3.2 with the chosen p, Lc = script L for the chosen sampling.
    if (isnan(mp->gamma))
        mp->gamma =
            theory_vr_marina_gamma(pc->L, pc->L_avg, pc->omega, mp->p, mp->n, mp->batch_prime);
    return method_check_common(mp, err);
}

static int
s_resolve_finite(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    return s_resolve_common(mp, pc, 0, err);
}

static int
s_resolve_online(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    return s_resolve_common(mp, pc, 1, err);
}

//  Byz-VR-MARINA (Byz-VR-MARINA paper, Alg. 1): VR-MARINA's workers and server with the robust
//  aggregator on g_i (mp.agg; method_robust_t). Its minibatch b is our b' ('batch' sets it when
//  'batch_prime' is left at 0). p = min(b/m, 1/(1 + omega)) (the paper's footnote 3, the choice
//  of its comparisons); gamma = VR-MARINA's Theorem 3.1 over the G = n - B good workers, which is
//  the paper's Theorem 2.1 with delta = 0 (no allowance for the attackers: the experiments tune
//  gamma, "best in hindsight").
static int
s_resolve_byz(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    if (mp->batch_prime == 0 && mp->batch > 0)
        mp->batch_prime = mp->batch;
    if (mp->m == 0)
        mp->m = pc->m;
    if (mp->batch_prime == 0)
        mp->batch_prime = s_default_batch_prime(mp->m);
    if (isnan(mp->p) && mp->m > 0)
        mp->p = fmin((double) mp->batch_prime / (double) mp->m, 1.0 / (1.0 + pc->omega));
    method_params_t good = *mp;
    good.n = mp->n - mp->byzantine;
    int rc = s_resolve_common(&good, pc, 0, err);
    mp->gamma = good.gamma;
    mp->p = good.p;
    return rc != MR_OK ? rc : method_check_common(mp, err);
}

const method_t method_byz_vr_marina = {
    .name = "byz-vr-marina",
    .epoch_batch = METHOD_EPOCH_BATCH_PRIME,
    .uses_compressor = 1,
    .local_estimator = 1,
    .resolve = s_resolve_byz,
    .worker_new = s_worker_new_finite,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = method_marina_server_new,
    .server_destroy = method_marina_server_destroy,
    .server_plan = method_marina_server_plan,
    .server_combine = method_marina_server_combine,
    .server_x = method_marina_server_x,
    .server_agg_dist_sq = method_marina_server_agg_dist_sq,
    .view_offset = method_marina_view_offset,
    .round_compressed = method_marina_round_compressed,
    .worker_state = s_worker_state_byz,
    .worker_rejoin = s_worker_rejoin,
    .server_state = s_server_state_byz,
};

const method_t method_vr_marina = {
    .name = "vr-marina",
    .epoch_batch = METHOD_EPOCH_BATCH_PRIME,
    .uses_compressor = 1,
    .local_estimator = 1,
    .resolve = s_resolve_finite,
    .worker_new = s_worker_new_finite,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = method_marina_server_new,
    .server_destroy = method_marina_server_destroy,
    .server_plan = method_marina_server_plan,
    .server_combine = method_marina_server_combine,
    .server_x = method_marina_server_x,
    .server_agg_dist_sq = method_marina_server_agg_dist_sq,
    .view_offset = method_marina_view_offset,
    .round_compressed = method_marina_round_compressed,
    .worker_state = s_worker_state_finite,
    .worker_rejoin = s_worker_rejoin,
    .server_state = s_server_state_finite,
};

const method_t method_vr_marina_online = {
    .name = "vr-marina-online",
    .uses_compressor = 1,
    .local_estimator = 1,
    .resolve = s_resolve_online,
    .worker_new = s_worker_new_online,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = method_marina_server_new,
    .server_destroy = method_marina_server_destroy,
    .server_plan = method_marina_server_plan,
    .server_combine = method_marina_server_combine,
    .server_x = method_marina_server_x,
    .server_agg_dist_sq = method_marina_server_agg_dist_sq,
    .view_offset = method_marina_view_offset,
    .round_compressed = method_marina_round_compressed,
    .worker_state = s_worker_state_online,
    .worker_rejoin = s_worker_rejoin,
    .server_state = s_server_state_online,
};
