//  method_pp_marina.c - PP-MARINA, MARINA with partial participation (MARINA paper, Algorithm 4),
//  as the method table "pp-marina"; see method.h.
//
//  Our round k is the paper's iteration k-1 -> k. The server draws c_k ~ Be(p) and, when
//  c_k = 0, the multiset I'_k of r i.i.d. uniform worker ids (line 5), sorted, as rd->part.
//  Every worker receives g^{k-1} and steps x^k = x^{k-1} - gamma g^{k-1} (line 8); then
//    c_k = 1: every worker sends the dense grad f_i(x^k) and g^k = 1/n sum_i grad f_i(x^k);
//    c_k = 0: each distinct drawn worker sends Q(grad f_i(x^k) - grad f_i(x^{k-1})) once, the
//             others send nothing, and g^k = g^{k-1} + 1/r sum_{i in I'_k} Q_i (line 11), a
//             worker drawn c times counted c times by the server.
//  A drawn worker needs grad f_i(x^{k-1}). It has it when it computed it in round k-1 (it took
//  part then, or c_{k-1} = 1); otherwise it evaluates it at the x^{k-1} it keeps. oracle_calls
//  counts the m-sample passes actually made: m or 2m for a drawn worker, 0 for the others.
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method_impl.h"
#include "theory.h"

#define S_NO_ROUND UINT64_MAX  // tag of a gradient slot that holds nothing

struct method_worker {
    method_params_t mp;   // the run's parameters (copied)
    const loss_t *loss;   // f_i over this worker's shard, borrowed
    uint32_t id;          // i, 0-based
    comp_t comp;          // Q
    vec_t x;              // x^k
    vec_t x_prev;         // x^{k-1}
    vec_t grad[2];        // gradients of f_i at past iterates ...
    uint64_t at[2];       // ... grad[s] = grad f_i(x^{at[s]}), or at[s] = S_NO_ROUND
    vec_t diff;           // grad f_i(x^k) - grad f_i(x^{k-1}), the input of Q
    uint64_t next_round;  // the round worker_step expects
};

struct method_server {
    method_params_t mp;   // the run's parameters (copied)
    vec_t x;              // x^k after combining round k
    vec_t g;              // g^k after combining round k
    vec_t sum;            // one round's weighted sum of updates
    uint32_t *part;       // r sorted draws of the last plan with c_k = 0
    uint32_t *mult;       // n: how often each worker was drawn in the last plan
    uint64_t next_round;  // the round server_plan and server_combine expect
};

//  The checkpoint: the iterates and the two gradient slots with the rounds they were taken at
//  (a drawn worker reuses grad f_i(x^{k-1}) if it has it).
static void
s_worker_state(method_worker_t *self, state_t *st)
{
    state_tag(st, "pp-marina-worker-v1");
    state_expect(st, self->id, "worker id");
    state_vec(st, &self->x);
    state_vec(st, &self->x_prev);
    for (int slot = 0; slot < 2; slot++) {
        state_vec(st, &self->grad[slot]);
        state_u64(st, &self->at[slot]);
    }
    state_u64(st, &self->next_round);
}

//  x^k and g^k; part and mult are the plan's, rewritten by the next plan.
static void
s_server_state(method_server_t *self, state_t *st)
{
    state_tag(st, "pp-marina-server-v1");
    state_expect(st, self->mp.n, "n");
    state_vec(st, &self->x);
    state_vec(st, &self->g);
    state_u64(st, &self->next_round);
}

//  Checks what both sides need of mp and x0; fills err and returns its code, or MR_OK.
static int
s_check_params(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    int rc = method_check_x0(mp, x0, err);
    if (rc == MR_OK)
        rc = method_check_common(mp, err);
    if (rc != MR_OK)
        return rc;
    if (mp->r < 1 || mp->r > mp->n)
        return mr_err_set(err, MR_ECONFIG, "key 'r' = %zu is outside [1, n = %zu]", mp->r, mp->n);
    //  Theorem 4.1 needs E[Q(x)] = x (Definition 1.1).
    return method_check_unbiased(mp, "PP-MARINA", err);
}

static void
s_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    comp_fini(&self->comp);
    vec_fini(&self->x);
    vec_fini(&self->x_prev);
    vec_fini(&self->grad[0]);
    vec_fini(&self->grad[1]);
    vec_fini(&self->diff);
    free(self);
    *self_p = NULL;
}

static method_worker_t *
s_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK || method_check_shard(mp, loss, id, err) != MR_OK)
        return NULL;
    method_worker_t *self = method_worker_alloc(sizeof *self, id, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->loss = loss;
    self->id = id;
    self->at[0] = self->at[1] = S_NO_ROUND;
    if (comp_init(&self->comp, &mp->comp, mp->dim, err) != MR_OK) {
        free(self);
        return NULL;
    }
    if (vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->x_prev, mp->dim) != MR_OK ||
        vec_init(&self->grad[0], mp->dim) != MR_OK || vec_init(&self->grad[1], mp->dim) != MR_OK ||
        vec_init(&self->diff, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu)", id, mp->dim);
        s_worker_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    vec_copy(&self->x_prev, x0);
    return self;
}

//  1 if id is among the n sorted ids.
static int
s_is_drawn(const uint32_t *ids, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == id;
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
    uint64_t k = rd->round;
    size_t m = self->loss->data->rows;
    assert(out->cap >= self->mp.dim);
    if (k > 0) {
        assert(rd->g && rd->g->dim == self->mp.dim);
        //  Alg. 4 line 8, on every worker: x^k = x^{k-1} - gamma g^{k-1}.
        vec_copy(&self->x_prev, &self->x);
        method_step(&self->mp, rd->g, 0, &self->x);
    }
    *report = (method_report_t){0};
    self->next_round++;
    //  c_k = 1 (and round 0) has rd->part NULL: everyone.
    int full = k == 0 || rd->coin;
    if (!full && rd->part && !s_is_drawn(rd->part, rd->npart, self->id))
        return MR_OK;  // not in I'_k: nothing to compute or send

    //  The slot holding grad f_i(x^{k-1}), if any; the other one receives grad f_i(x^k).
    int old = k > 0 && self->at[0] == k - 1 ? 0 : k > 0 && self->at[1] == k - 1 ? 1 : -1;
    if (!full && old < 0) {
        old = 0;
        loss_value_grad(self->loss, &self->x_prev, &self->grad[old]);
        self->at[old] = k - 1;
        report->oracle_calls += m;
    }
    int cur = old == 0 ? 1 : 0;
    report->f = loss_value_grad(self->loss, &self->x, &self->grad[cur]);
    self->at[cur] = k;
    report->oracle_calls += m;
    report->have_eval = 1;
    report->grad = &self->grad[cur];
    report->send = 1;
    out->dim = self->mp.dim;
    if (full) {
        //  Alg. 4 lines 2 and 9 (c_k = 1): g_i^k = grad f_i(x^k), dense.
        cvec_set_dense(out, &self->grad[cur]);
    } else {
        //  Alg. 4 line 9 (c_k = 0): g_i^k = g^{k-1} + Q(grad f_i(x^k) - grad f_i(x^{k-1})); only
        //  Q(.) travels.
        comp_apply_diff(&self->comp, &self->grad[cur], &self->grad[old], &self->diff, rng, out);
    }
    return MR_OK;
}

static const vec_t *
s_worker_x(const method_worker_t *self)
{
    return &self->x;
}

static void
s_server_destroy(method_server_t **self_p)
{
    method_server_t *self = *self_p;
    if (!self)
        return;
    vec_fini(&self->x);
    vec_fini(&self->g);
    vec_fini(&self->sum);
    free(self->part);
    free(self->mult);
    free(self);
    *self_p = NULL;
}

static method_server_t *
s_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK)
        return NULL;
    if (mp->n > UINT32_MAX) {
        mr_err_set(err, MR_ECONFIG, "key 'n' = %zu is too large", mp->n);
        return NULL;
    }
    method_server_t *self = method_server_alloc(sizeof *self, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->part = malloc(mp->r * sizeof *self->part);
    self->mult = calloc(mp->n, sizeof *self->mult);
    if (!self->part || !self->mult || vec_init(&self->x, mp->dim) != MR_OK ||
        vec_init(&self->g, mp->dim) != MR_OK || vec_init(&self->sum, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for the server state (d = %zu, n = %zu)", mp->dim,
                   mp->n);
        s_server_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    return self;
}

static int
s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

static void
s_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd)
{
    //  Called once per round, in order, by the server itself: a second call would redraw.
    assert(round == self->next_round);
    size_t n = self->mp.n, r = self->mp.r;
    *rd = (method_round_t){.round = round, .coin = 1};
    if (round > 0) {
        rd->g = &self->g;
        rd->coin = rng_bernoulli(rng, self->mp.p);  // Alg. 4 line 4: c_k ~ Be(p)
    }
    memset(self->mult, 0, n * sizeof *self->mult);
    if (rd->coin)
        return;  // line 5, c_k = 1: I'_k = {1, ..., n}, part NULL
    //  Line 5, c_k = 0: r i.i.d. uniform draws from the workers, sorted (repeats kept).
    for (size_t j = 0; j < r; j++) {
        self->part[j] = (uint32_t) rng_below(rng, n);
        self->mult[self->part[j]]++;
    }
    qsort(self->part, r, sizeof *self->part, s_cmp_u32);
    rd->part = self->part;
    rd->npart = r;
}

static int
s_server_combine(method_server_t *self,
                 const method_round_t *rd,
                 const cvec_t *const *ups,
                 mr_err_t *err)
{
    size_t n = self->mp.n;
    int full = rd->round == 0 || rd->coin;
    //  The multiplicity of each worker in I'_k: 1 for all in a full round (mult NULL), else from
    //  the plan. Updates of workers not drawn are ignored (the caller passes NULL for them).
    const uint32_t *mult = full ? NULL : self->mult;
    int rc = method_check_updates(&self->mp, self->next_round, rd, ups, mult, err);
    if (rc != MR_OK)
        return rc;
    //  Summed in worker-id order and scaled once.
    method_sum_updates(&self->sum, ups, n, mult);
    if (rd->round > 0) {
        //  Line 8, the server's copy: x^k = x^{k-1} - gamma g^{k-1} (g not yet replaced).
        method_step(&self->mp, &self->g, 0, &self->x);
    }
    if (full) {
        //  Lines 2 and 11 (c_k = 1): g^k = 1/n sum_i grad f_i(x^k).
        vec_copy(&self->g, &self->sum);
        vec_scale(&self->g, 1.0 / (double) n);
    } else {
        //  Line 11 (c_k = 0): g^k = g^{k-1} + 1/r sum_{i in I'_k} Q_i, with multiplicity.
        vec_axpy(&self->g, 1.0 / (double) self->mp.r, &self->sum);
    }
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_server_x(const method_server_t *self)
{
    return &self->x;
}

//  PP-MARINA's theory: r = n unless set, p = zeta_Q r / (d n) (Corollary 4.1) and
//  gamma = 1 / (L (1 + sqrt((1 - p)(1 + omega) / (p r)))) (Theorem 4.1).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    if (mp->r == 0)
        mp->r = mp->n;
    if (mp->r > mp->n)
        return mr_err_set(err, MR_ECONFIG, "key 'r' = %zu is outside [1, n = %zu]", mp->r, mp->n);
    int rc = method_check_unbiased(mp, "PP-MARINA", err);
    if (rc != MR_OK)
        return rc;
    if (isnan(mp->p))
        mp->p = fmin(1.0, theory_pp_marina_p(pc->zeta, pc->dim, mp->r, mp->n));
    rc = method_check_p(mp, err);  // before gamma, which p would make meaningless
    if (rc != MR_OK)
        return rc;
    if (isnan(mp->gamma))
        mp->gamma = theory_pp_marina_gamma(pc->L, pc->omega, mp->p, mp->r);
    return method_check_common(mp, err);
}

const method_t method_pp_marina = {
    .name = "pp-marina",
    .uses_compressor = 1,
    .resolve = s_resolve,
    .worker_new = s_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_server_new,
    .server_destroy = s_server_destroy,
    .server_plan = s_server_plan,
    .server_combine = s_server_combine,
    .server_x = s_server_x,
    .round_compressed = method_marina_round_compressed,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};
