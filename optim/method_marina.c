//  method_marina.c - MARINA (MARINA paper, Algorithm 1) as a method table; see method.h.
//
//  The paper's iteration k -> k+1 is our round k+1: the server broadcasts g^k and c_k, each
//  worker steps to x^{k+1} and sends g_i^{k+1} - g^k (the dense gradient when c_k = 1, else the
//  compressed gradient difference), and the server forms g^{k+1}. Round 0 is line 2.
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "method_impl.h"
#include "marks.h"
#include "sparse_sum.h"
#include "theory.h"

struct method_worker {
    method_params_t mp;      // the run's parameters (copied)
    const loss_t *loss;      // f_i over this worker's shard, borrowed
    uint32_t id;             // i, 0-based
    comp_t comp;             // Q
    vec_t x;                 // x^k
    vec_t grad[2];           // grad f_i at x^k (grad[cur]) and at x^{k-1} (grad[!cur])
    int cur;                 // which of grad holds grad f_i(x^k)
    vec_t diff;              // grad f_i(x^k) - grad f_i(x^{k-1}), the input of Q
    uint64_t next_round;     // the round worker_step expects
    loss_support_t support;  // the shard's columns
    int clean[2];            // 1: grad[j] is +0.0 off the support (loss_value_grad_sparse)
    int x_on_support;        // 1: x is stepped only at the support (mp.worker_x_support)
};

struct method_server {
    method_params_t mp;   // the run's parameters (copied)
    vec_t x;              // x^k after combining round k
    vec_t g;              // g^k after combining round k
    vec_t sum;            // sum over workers of one round's updates
    method_robust_t agg;  // robust aggregation (off: the plain average)
    uint64_t next_round;  // the round server_plan and server_combine expect
    int g_no_neg_zero;    // 1: no coordinate of g is -0.0
    int g_local;          // 1: the last combine changed g only at its updates' coordinates
    int sum_zero;         // 1: every coordinate of sum is +0.0 (sparse_sum_step_axpy_few)
    uint64_t *marks;      // MARKS_WORDS(d) words of scratch for sparse_sum_step_axpy_few, zero
};

//  The checkpoint: what a round reads before it writes it. grad[cur] = grad f_i(x^k) is the
//  other half of the next compressed round's difference.
void
method_marina_worker_visit(method_worker_t *self, state_t *st, const char *tag)
{
    state_tag(st, tag);
    state_expect(st, self->id, "worker id");
    state_vec(st, &self->x);
    state_vec(st, &self->grad[0]);
    state_vec(st, &self->grad[1]);
    state_index(st, &self->cur, 2, "cur");
    state_u64(st, &self->next_round);
    if (st->loading)
        self->clean[0] = self->clean[1] = 0;  // loaded gradients: the next ones are taken densely
}

//  g^k, x^k and the aggregator's rng; with estimator = local the aggregator's views are each
//  worker's estimator g_i^k, which compressed rounds add to.
void
method_marina_server_visit(method_server_t *self, state_t *st, const char *tag)
{
    state_tag(st, tag);
    state_vec(st, &self->x);
    state_vec(st, &self->g);
    state_u64(st, &self->next_round);
    method_robust_state(&self->agg, st, self->mp.local_estimator);
    if (st->loading)
        self->g_no_neg_zero = self->g_local = 0;  // unknown: the next ROUND compares all of g
}

//  Checks what both sides need of mp and x0; fills err and returns its code, or MR_OK.
static int
s_check_params(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    int rc = method_check_common(mp, err);
    return rc != MR_OK ? rc : method_check_x0(mp, x0, err);
}

method_worker_t *
method_marina_worker_new(
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
    if (comp_init(&self->comp, &mp->comp, mp->dim, err) != MR_OK) {
        free(self);
        return NULL;
    }
    if (vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->grad[0], mp->dim) != MR_OK ||
        vec_init(&self->grad[1], mp->dim) != MR_OK || vec_init(&self->diff, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu)", id, mp->dim);
        method_marina_worker_destroy(&self);
        return NULL;
    }
    if (loss_support_init(&self->support, loss, err) != MR_OK) {
        method_marina_worker_destroy(&self);
        return NULL;
    }
    self->clean[0] = self->clean[1] = 1;  // vec_init()'s zeros
    //  With lambda = 0 f_i(x) and its gradient read x only at the shard's columns; stepping
    //  them one by one pays when they are few (else vec_axpy, which vectorises, is as fast).
    self->x_on_support =
        mp->worker_x_support && loss->lambda == 0.0 && 4 * self->support.n < mp->dim;
    vec_copy(&self->x, x0);
    return self;
}

void
method_marina_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    comp_fini(&self->comp);
    vec_fini(&self->x);
    vec_fini(&self->grad[0]);
    vec_fini(&self->grad[1]);
    vec_fini(&self->diff);
    loss_support_fini(&self->support);
    free(self);
    *self_p = NULL;
}

//  One round of the worker; prox = 1 (proximal GD, method_gd.c) maps the new point through
//  prox_{gamma R} before the gradient there is taken. MARINA itself runs with prox = 0.
static int
s_worker_step(method_worker_t *self,
              const method_round_t *rd,
              rng_t *rng,
              cvec_t *out,
              method_report_t *report,
              int prox)
{
    if (rd->round != self->next_round)
        return MR_EINVAL;
    assert(out->cap >= self->mp.dim);
    if (rd->round > 0) {
        assert(rd->g && rd->g->dim == self->mp.dim);
        //  Alg. 1 line 7: x^{k+1} = x^k - gamma g^k (at the shard's columns only, with
        //  x_on_support: each with vec_axpy's arithmetic, so the same bits there).
        if (self->x_on_support && !prox) {
            double a = -self->mp.gamma, *x = self->x.x;
            const double *g = rd->g->x;
            for (size_t t = 0; t < self->support.n; t++) {
                uint32_t j = self->support.col[t];
                x[j] += a * g[j];
            }
        } else {
            method_step(&self->mp, rd->g, prox, &self->x);
        }
        self->cur ^= 1;
    }
    vec_t *grad_new = &self->grad[self->cur];
    const vec_t *grad_old = &self->grad[!self->cur];
    //  Every round needs grad f_i at the new point: it is the message (c_k = 1) or half of the
    //  difference (c_k = 0), and it is the other half of the next round's difference.
    //  The same bits either way; the sparse call touches only the shard's columns of grad_new.
    double f = self->clean[self->cur]
                   ? loss_value_grad_sparse(self->loss, &self->support, &self->x, grad_new)
                   : loss_value_grad(self->loss, &self->x, grad_new);
    self->clean[self->cur] = self->loss->lambda == 0.0;  // as both leave it
    out->dim = self->mp.dim;
    if (rd->round == 0 || rd->coin) {
        //  Alg. 1 line 2 and line 8 (c_k = 1): g_i = grad f_i(x^{k+1}), sent dense.
        cvec_set_dense(out, grad_new);
    } else {
        //  Alg. 1 line 8 (c_k = 0): g_i = g^k + Q(grad f_i(x^{k+1}) - grad f_i(x^k)); the
        //  server already holds g^k, so only Q(.) travels.
        comp_apply_diff(&self->comp, grad_new, grad_old, &self->diff, rng, out);
    }
    report->send = 1;
    report->oracle_calls = self->loss->data->rows;
    report->have_eval = 1;
    report->f = f;
    report->grad = grad_new;
    if (self->clean[self->cur]) {
        report->grad_cols = self->support.col;
        report->grad_ncols = self->support.n;
    }
    self->next_round++;
    return MR_OK;
}

int
method_marina_worker_step(method_worker_t *self,
                          const method_round_t *rd,
                          rng_t *rng,
                          cvec_t *out,
                          method_report_t *report)
{
    return s_worker_step(self, rd, rng, out, report, 0);
}

int
method_marina_worker_step_prox(method_worker_t *self,
                               const method_round_t *rd,
                               rng_t *rng,
                               cvec_t *out,
                               method_report_t *report)
{
    return s_worker_step(self, rd, rng, out, report, 1);
}

int
method_marina_worker_rejoin(method_worker_t *self,
                            uint64_t round,
                            const vec_t *x,
                            uint64_t *oracle_calls)
{
    if (round == 0 || x->dim != self->mp.dim)
        return MR_EINVAL;
    vec_copy(&self->x, x);
    loss_value_grad(self->loss, &self->x, &self->grad[self->cur]);
    *oracle_calls += self->loss->data->rows;
    self->next_round = round;
    return MR_OK;
}

const vec_t *
method_marina_worker_x(const method_worker_t *self)
{
    return &self->x;
}

method_server_t *
method_marina_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK)
        return NULL;
    method_server_t *self = method_server_alloc(sizeof *self, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->marks = calloc(MARKS_WORDS(mp->dim), sizeof *self->marks);
    self->sum_zero = 1;  // vec_init()'s zeros
    if (vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->g, mp->dim) != MR_OK ||
        vec_init(&self->sum, mp->dim) != MR_OK || !self->marks) {
        mr_err_set(err, MR_ENOMEM, "no memory for the server state (d = %zu)", mp->dim);
        method_marina_server_destroy(&self);
        return NULL;
    }
    if (method_robust_init(&self->agg, mp, err) != MR_OK) {
        method_marina_server_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    return self;
}

void
method_marina_server_destroy(method_server_t **self_p)
{
    method_server_t *self = *self_p;
    if (!self)
        return;
    vec_fini(&self->x);
    vec_fini(&self->g);
    vec_fini(&self->sum);
    free(self->marks);
    method_robust_fini(&self->agg);
    free(self);
    *self_p = NULL;
}

void
method_marina_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd)
{
    //  Called once per round, in order, by the server itself: a second call would redraw c_k.
    assert(round == self->next_round);
    rd->round = round;
    rd->part = NULL;  // MARINA: every worker takes part in every round
    rd->npart = 0;
    if (round == 0) {
        rd->coin = 1;  // Alg. 1 line 2: g^0 = grad f(x^0)
        rd->g = NULL;
    } else {
        rd->coin = rng_bernoulli(rng, self->mp.p);  // Alg. 1 line 4: c_k ~ Be(p)
        if (self->mp.epoch_full) {
            //  The Byz-VR-MARINA authors' code: a full round opens every epoch of ceil(m / b')
            //  rounds, the others are compressed (the coin is drawn all the same, so the
            //  server's stream does not depend on the option).
            size_t b = self->mp.batch_prime ? self->mp.batch_prime : 1;
            uint64_t epoch = (self->mp.m + b - 1) / b;
            rd->coin = epoch > 0 && round % epoch == 0;
        }
        rd->g = &self->g;
    }
}

//  Combines one round; prox = 1 applies GD's prox_{gamma R} to the server's x^{k+1} with the
//  same arithmetic as s_worker_step(), so both copies stay bit-identical.
static int
s_server_combine(method_server_t *self,
                 const method_round_t *rd,
                 const cvec_t *const *ups,
                 int prox,
                 mr_err_t *err)
{
    size_t n = self->mp.n;
    int rc = method_check_updates(&self->mp, self->next_round, rd, ups, NULL, err);
    if (rc != MR_OK)
        return rc;
    //  Alg. 1 lines 7 and 10 with g_i = g^k + Q_i, sparse Q_i: the server's x^{k+1} = x^k - gamma
    //  g^k and g^{k+1} = g^k + 1/n sum_i Q_i in one pass, with the bits of the dense step and sum
    //  below.
    //  Off the updates' non-zero entries that pass adds +0.0 (a = 1/n > 0 times a sum of +-0.0
    //  from +0.0): g keeps its bits there unless it is -0.0 (it turns +0.0). It makes no -0.0,
    //  but one of g can stay -0.0 (plus a product that underflows to -0.0). With none in g and
    //  few non-zero entries, only those coordinates of g are touched (sparse_sum_step_axpy_few).
    int no_neg_zero = self->g_no_neg_zero;
    self->g_local = self->g_no_neg_zero = 0;
    if (rd->round > 0 && !rd->coin && !prox && !self->agg.on) {
        double a = 1.0 / (double) n, b = -self->mp.gamma;
        if (no_neg_zero && !self->sum_zero) {
            vec_zero(&self->sum);
            self->sum_zero = 1;
        }
        if ((no_neg_zero &&
             sparse_sum_step_axpy_few(&self->x, b, &self->g, a, ups, n, &self->sum, self->marks)) ||
            sparse_sum_step_axpy(&self->x, b, &self->g, a, ups, n)) {
            self->g_local = self->g_no_neg_zero = no_neg_zero;
            self->next_round++;
            return MR_OK;
        }
    }
    self->sum_zero = 0;  // the paths below write it
    if (rd->round > 0) {
        //  Alg. 1 line 7, the server's copy: x^{k+1} = x^k - gamma g^k (g not yet replaced).
        method_step(&self->mp, &self->g, prox, &self->x);
    }
    vec_t *sum = &self->sum;
    if (self->agg.on) {
        //  Byz-VR-MARINA Alg. 1 line 10: g^{k+1} = ARAgg(g_1, ..., g_n) with g_i = grad f_i on
        //  full rounds and g_i = g^k + Q_i on compressed ones (the server adds g^k itself).
        //  estimator = local (the authors' code): g_i = grad f_i on full rounds and
        //  g_i = g_i^{prev} + Q_i, each worker's own estimator, on compressed ones.
        int full = rd->round == 0 || rd->coin;
        rc = self->mp.local_estimator
                 ? method_robust_accumulate(&self->agg, full, ups, sum, err)
                 : method_robust_combine(&self->agg, full ? NULL : &self->g, ups, sum, err);
        if (rc != MR_OK)
            return rc;
        vec_copy(&self->g, sum);
        self->next_round++;
        return MR_OK;
    }
    //  Summed in worker-id order and scaled once.
    method_sum_updates(sum, ups, n, NULL);
    if (rd->round == 0 || rd->coin) {
        //  Alg. 1 line 10 with g_i = grad f_i: g^{k+1} = 1/n sum_i grad f_i(x^{k+1}).
        vec_copy(&self->g, sum);
        vec_scale(&self->g, 1.0 / (double) n);
        self->g_no_neg_zero = !vec_has_neg_zero(&self->g);  // O(d), as the round itself
    } else {
        //  Alg. 1 line 10 with g_i = g^k + Q_i: g^{k+1} = g^k + 1/n sum_i Q_i.
        vec_axpy(&self->g, 1.0 / (double) n, sum);
    }
    self->next_round++;
    return MR_OK;
}

int
method_marina_server_g_changed_at_updates(const method_server_t *self)
{
    return self->g_local;
}

int
method_marina_server_combine(method_server_t *self,
                             const method_round_t *rd,
                             const cvec_t *const *ups,
                             mr_err_t *err)
{
    return s_server_combine(self, rd, ups, 0, err);
}

int
method_marina_server_combine_prox(method_server_t *self,
                                  const method_round_t *rd,
                                  const cvec_t *const *ups,
                                  mr_err_t *err)
{
    return s_server_combine(self, rd, ups, 1, err);
}

const vec_t *
method_marina_server_x(const method_server_t *self)
{
    return &self->x;
}

double
method_marina_server_agg_dist_sq(const method_server_t *self)
{
    return self->agg.on ? self->agg.dist_sq : 0.0;
}

const vec_t *
method_marina_view_offset(const method_round_t *rd)
{
    return rd->round > 0 && !rd->coin ? rd->g : NULL;
}

int
method_marina_round_compressed(const method_round_t *rd)
{
    return rd->round > 0 && !rd->coin;
}

//  MARINA's theory: p = zeta_Q / d (Corollary 2.1) and
//  gamma = 1 / (L (1 + sqrt((1 - p) omega / (p n)))) (Theorem 2.1).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    if (isnan(mp->p))
        mp->p = fmin(1.0, theory_marina_p(pc->zeta, pc->dim));
    int rc = method_check_p(mp, err);  // before gamma, which is computed from p
    if (rc != MR_OK)
        return rc;
    if (isnan(mp->gamma))
        mp->gamma = theory_marina_gamma(pc->L, pc->omega, mp->p, pc->n);
    return method_check_common(mp, err);
}

static void
s_worker_state(method_worker_t *self, state_t *st)
{
    method_marina_worker_visit(self, st, "marina-worker-v1");
}

static void
s_server_state(method_server_t *self, state_t *st)
{
    method_marina_server_visit(self, st, "marina-server-v1");
}

const method_t method_marina = {
    .name = "marina",
    .allows_prox = 0,  // no proximal theory in the MARINA paper: R is refused
    .uses_compressor = 1,
    .local_estimator = 1,
    .resolve = s_resolve,
    .worker_new = method_marina_worker_new,
    .worker_destroy = method_marina_worker_destroy,
    .worker_step = method_marina_worker_step,
    .worker_x = method_marina_worker_x,
    .server_new = method_marina_server_new,
    .server_destroy = method_marina_server_destroy,
    .server_plan = method_marina_server_plan,
    .server_combine = method_marina_server_combine,
    .server_x = method_marina_server_x,
    .server_agg_dist_sq = method_marina_server_agg_dist_sq,
    .server_g_changed_at_updates = method_marina_server_g_changed_at_updates,
    .view_offset = method_marina_view_offset,
    .round_compressed = method_marina_round_compressed,
    .worker_state = s_worker_state,
    .worker_rejoin = method_marina_worker_rejoin,
    .server_state = s_server_state,
};
