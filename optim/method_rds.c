//  method_rds.c - random direct search (RDS: Bergou, Gorbunov, Richtarik, "Stochastic three points
//  method for unconstrained smooth minimization", SIAM J. Optim. 2020, first circulated as
//  "Random direct search method for minimizing nonconvex, convex and strongly convex functions",
//  2018; the slides' "SEGA vs Random Direct Search"), distributed over n workers, with function
//  values only; see method.h and docs/cli.md.
//
//  Round k: every actor draws the direction s_k, uniform on the unit sphere (d rng_normal()
//  values from the shared stream method_cd_stream(k), normalised), the same for every worker.
//    worker i:  d_i = (f_i(x^k + t s_k) - f_i(x^k - t s_k)) / (2 t)  (two function values of
//               f_i, a central difference; t = S_RDS_T (1 + |x^k|)); sends the one coefficient d_i;
//    server:    d_k = 1/n sum_i d_i (= the difference quotient of f), g^k = d_k s_k;
//    everyone:  x^{k+1} = x^k - gamma g^k,  gamma = 1/L.
//  This is the three-point step x^{k+1} = argmin {f(x^k), f(x^k + a s), f(x^k - a s)} with the
//  paper's stepsize a_k = |f(x^k + t s) - f(x^k - t s)| / (2 L t): for the exact directional
//  derivative d = <grad f(x^k), s>, L-smoothness gives f(x^k - sign(d) a s) <= f(x^k) - d^2/(2L)
//  < f(x^k), so the three-point comparison always picks x^k - (d/L) s and its two extra function
//  values are not spent. On a quadratic the central difference is exact (up to rounding), and
//  E[d^2] = |grad f|^2 / d gives E f(x^{k+1}) - f* <= (1 - mu/(d L)) (f(x^k) - f*).
//  Oracle calls: 2 m function values f_ij per worker per round (its m samples at two points); the
//  metrics at x^k are computed by the actor, not counted.
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method_impl.h"

//  Finite-difference interval relative to 1 + |x|: a constant of our own. On a quadratic the
//  quotient is exact in exact arithmetic and its rounding error is ~ eps |f| / t.
#define S_RDS_T 1e-5

//  s_k, uniform on the unit sphere, from (seed, method_cd_stream(round)).
static void
s_direction(uint64_t seed, uint64_t round, vec_t *s)
{
    rng_t rng;
    rng_seed(&rng, seed, method_cd_stream(round));
    double norm = 0.0;
    do {
        for (size_t j = 0; j < s->dim; j++)
            s->x[j] = rng_normal(&rng);
        norm = sqrt(vec_norm_sq(s));
    } while (!(norm > 0.0));
    vec_scale(s, 1.0 / norm);
}

static int
s_check_params(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    int rc = method_check_x0(mp, x0, err);
    if (rc != MR_OK)
        return rc;
    if (mp->n == 0)
        return mr_err_set(err, MR_ECONFIG, "key 'n' = 0: rds needs a worker");
    if (mp->reg.kind != PROX_NONE)
        return mr_err_set(err, MR_ECONFIG, "key 'reg' = '%s': rds is unconstrained (reg = none)",
                          prox_kind_name(mp->reg.kind));
    return method_check_gamma(mp, err);
}

//  gamma = 1/L (the paper's stepsize a_k = |f(x + t s) - f(x - t s)| / (2 L t), see the top).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    mp->p = 1.0;
    if (isnan(mp->gamma))
        mp->gamma = 1.0 / pc->L;
    int rc = s_check_params(mp, NULL, err);
    return rc == MR_OK ? method_check_common(mp, err) : rc;
}

//  --------------------------------------------------------------------------------------------
//  Worker

struct method_worker {
    method_params_t mp;   // the run's parameters (copied)
    const loss_t *loss;   // f_i, borrowed
    uint32_t id;          // i
    vec_t x;              // x^k
    vec_t s;              // s_k
    vec_t probe;          // x^k +- t s_k
    uint64_t next_round;  // the round worker_step expects
};

//  The checkpoint: x^k (s_k is redrawn from the shared stream every round, probe is scratch).
static void
s_worker_state(method_worker_t *self, state_t *st)
{
    state_tag(st, "rds-worker-v1");
    state_expect(st, self->id, "worker id");
    state_vec(st, &self->x);
    state_u64(st, &self->next_round);
}

static void
s_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    vec_fini(&self->x);
    vec_fini(&self->s);
    vec_fini(&self->probe);
    free(self);
    *self_p = NULL;
}

static method_worker_t *
s_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK || method_check_shard(mp, loss, id, err) != MR_OK)
        return NULL;
    if (id >= mp->n) {
        mr_err_set(err, MR_EINVAL, "worker id %u is outside the run's 0..%zu", id, mp->n - 1);
        return NULL;
    }
    method_worker_t *self = method_worker_alloc(sizeof *self, id, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->loss = loss;
    self->id = id;
    if (vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->s, mp->dim) != MR_OK ||
        vec_init(&self->probe, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu)", id, mp->dim);
        s_worker_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    return self;
}

static int
s_worker_step(method_worker_t *self,
              const method_round_t *rd,
              rng_t *rng,
              cvec_t *out,
              method_report_t *report)
{
    (void) rng;  // s_k comes from the shared stream
    if (rd->round != self->next_round)
        return MR_EINVAL;
    assert(out->cap >= 1);
    if (rd->round > 0) {
        assert(rd->g && rd->g->dim == self->mp.dim);
        method_step(&self->mp, rd->g, 0, &self->x);  // x^k = x^{k-1} - gamma d_{k-1} s_{k-1}
    }
    s_direction(self->mp.seed, rd->round, &self->s);
    double t = S_RDS_T * (1.0 + sqrt(vec_norm_sq(&self->x)));
    vec_copy(&self->probe, &self->x);
    vec_axpy(&self->probe, t, &self->s);
    double f_plus = loss_value(self->loss, &self->probe);
    vec_copy(&self->probe, &self->x);
    vec_axpy(&self->probe, -t, &self->s);
    double f_minus = loss_value(self->loss, &self->probe);
    out->dim = self->mp.dim;
    out->kind = CVEC_SPARSE;
    out->enc = CVEC_ENC_SKETCH;  // one coefficient, an estimate of s^T grad f_i(x^k)
    out->nnz = 1;
    out->idx[0] = 0;
    out->val[0] = (f_plus - f_minus) / (2.0 * t);
    *report = (method_report_t){.send = 1, .oracle_calls = 2 * self->loss->data->rows};
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_worker_x(const method_worker_t *self)
{
    return &self->x;
}

//  --------------------------------------------------------------------------------------------
//  Server

struct method_server {
    method_params_t mp;   // the run's parameters (copied)
    vec_t x;              // x^k after combining round k
    vec_t g;              // g^k = d_k s_k
    vec_t s;              // scratch: s_k
    uint64_t next_round;  // the round server_plan and server_combine expect
};

//  The checkpoint: x^k and g^k = d_k s_k.
static void
s_server_state(method_server_t *self, state_t *st)
{
    state_tag(st, "rds-server-v1");
    state_vec(st, &self->x);
    state_vec(st, &self->g);
    state_u64(st, &self->next_round);
}

static void
s_server_destroy(method_server_t **self_p)
{
    method_server_t *self = *self_p;
    if (!self)
        return;
    vec_fini(&self->x);
    vec_fini(&self->g);
    vec_fini(&self->s);
    free(self);
    *self_p = NULL;
}

static method_server_t *
s_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK)
        return NULL;
    method_server_t *self = method_server_alloc(sizeof *self, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    if (vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->g, mp->dim) != MR_OK ||
        vec_init(&self->s, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for the server state (d = %zu)", mp->dim);
        s_server_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    return self;
}

static void
s_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd)
{
    (void) rng;
    assert(round == self->next_round);
    rd->round = round;
    rd->coin = 0;
    rd->part = NULL;
    rd->npart = 0;
    rd->g = round == 0 ? NULL : &self->g;
}

static int
s_server_combine(method_server_t *self,
                 const method_round_t *rd,
                 const cvec_t *const *ups,
                 mr_err_t *err)
{
    size_t n = self->mp.n;
    int rc = method_check_updates(&self->mp, self->next_round, rd, ups, NULL, err);
    if (rc != MR_OK)
        return rc;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (ups[i]->enc != CVEC_ENC_SKETCH || ups[i]->nnz != 1)
            return mr_err_set(err, MR_EINVAL,
                              "round %llu: worker %zu sent no single directional coefficient",
                              (unsigned long long) rd->round, i);
        sum += ups[i]->val[0];
    }
    if (rd->round > 0)
        method_step(&self->mp, &self->g, 0, &self->x);
    s_direction(self->mp.seed, rd->round, &self->s);
    vec_copy(&self->g, &self->s);
    vec_scale(&self->g, sum / (double) n);
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_server_x(const method_server_t *self)
{
    return &self->x;
}

const method_t method_rds = {
    .name = "rds",
    .sketched = 1,  // its update is one sketch coefficient (CVEC_ENC_SKETCH)
    .uses_compressor = 0,
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
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};
