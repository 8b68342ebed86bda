//  method_asega.c - accelerated coordinate descent (ACD: Allen-Zhu, Qu, Richtarik, Yuan, ICML 2016;
//  Hanzely & Richtarik, AISTATS 2019, arbitrary sampling) and accelerated SEGA with coordinate
//  sketches (ASEGA: Hanzely, Mishchenko, Richtarik, NeurIPS 2018, the slides' "Accelerated
//  SEGA"), distributed over n workers, as method tables; see method.h and docs/cli.md.
//
//  Both keep three sequences, the same on every actor: x^0 = y^0 = z^0 = x0, and in round k
//  (S_k a random set of coordinates, P(j in S_k) = p_j, drawn by everyone from the shared
//  stream method_cd_stream(k), the same S_k for every worker):
//    worker i:  sends the coordinates S_k of grad f_i(x^k) (|S_k| values, like CD);
//    server:    c^k = 1/n sum_i of them = the coordinates S_k of grad f(x^k); broadcasts c^k;
//    everyone:  y^{k+1} = x^k - sum_{j in S_k} c_j / v_j e_j                  (gradient step)
//               z^{k+1} = (z^k + eta mu x^k - eta G^k) / (1 + eta mu)         (mirror step)
//               x^{k+1} = tau z^{k+1} + (1 - tau) y^{k+1}                      (coupling)
//  with the unbiased estimate G^k of grad f(x^k)
//    ACD:    G^k = sum_{j in S_k} c_j / p_j e_j;
//    ASEGA:  G^k = h^k + sum_{j in S_k} (c_j - h_j^k) / p_j e_j, then h_j^{k+1} = c_j on S_k
//            (SEGA's sketch-and-project of h on the coordinates seen, h^0 = 0, and its estimate
//            h + theta Z (grad f - h) with theta = D = diag(1/p_j)).
//  The y step uses the exact coordinates c that the oracle returned (SEGA's oracle S^T grad f
//  returns them too); only the mirror step sees SEGA's estimate. The worker's iterate x^k (whose
//  f and gradient it reports) is the coupling point, where the gradients are taken.
//
//  v is the ESO of the sampling (Hanzely & Richtarik: E |h_[S]|^2_M <= sum_j p_j v_j h_j^2, f
//  M-smooth), from L_jj >= M_jj (mp.coord_L) and L >= lambda_max(M) (mp.L_smooth):
//    K uniform distinct coordinates (tau-nice): v_j = (1 - beta) L_jj + beta L,
//      beta = (K - 1)/(d - 1)  (E[h_S^T M h_S] = K/d ((1 - beta) sum M_jj h_j^2 + beta h^T M h));
//    importance (j in S independently with p_j): v_j = (1 - p_j) L_jj + p_j L
//      (E[h_S^T M h_S] = sum_j p_j (1 - p_j) M_jj h_j^2 + (p h)^T M (p h));
//    single (S = {j}, one coordinate drawn with probability p_j, sum_j p_j = 1): v_j = L_jj
//      (E[h_S^T M h_S] = sum_j p_j M_jj h_j^2), so with p_j ~ sqrt(L_jj) nu = (sum_j sqrt(L_jj))^2,
//      the sampling of the slides' "ASEGA importance sampling 9.8 sum_i sqrt(L_ii)/sqrt(mu)".
//  K = 1 gives v_j = L_jj, K = d gives v_j = L and ACD is Nesterov's accelerated gradient.
//
//  Parameters (resolve(), docs/cli.md): nu = max_j v_j / p_j^2; ACD: tau = 2/(1 + sqrt(4 nu/mu +
//  1)), eta = 1/(tau nu) (NU_ACDM's choice, Allen-Zhu et al. 2016, with their S^2 read as nu, as
//  in Hanzely & Richtarik), so (1 - tau) mu = tau^2 nu and the rate is (1 - tau)^k ~
//  exp(-k sqrt(mu/nu)). ASEGA: the same with nu replaced by (9.8)^2 nu, the slides' (and SEGA
//  paper's) constant: 9.8 sqrt(max_j v_j/(p_j^2 mu)) log(1/eps) rounds. mp.gamma is eta,
//  mp.tau is tau; no regulariser.
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method_impl.h"

//  The SEGA paper's factor between ASEGA's rate and ACD's (the slides' table: 9.8).
#define S_ASEGA_FACTOR 9.8

typedef enum {
    S_ACD = 0,    // G = sum_S c_j / p_j e_j
    S_ASEGA = 1,  // G = h + sum_S (c_j - h_j) / p_j e_j, then h = c on S
} s_variant_t;

//  One coordinate set S_k and its draw (uniform: rng_sample_k(d, K); importance: d uniforms;
//  single: one uniform, the first j whose cumulative p reaches it).
typedef struct {
    size_t dim;        // d
    size_t k;          // K (uniform) or the expected size (importance; single: 1)
    int kind;          // METHOD_SKETCH_COORDINATE, _IMPORTANCE or _SINGLE
    size_t b;          // |S| of this draw
    uint32_t *coord;   // the coordinates of this draw, increasing (room for d)
    uint8_t *scratch;  // rng_sample_k's d marks
} s_coords_t;

static void
s_coords_fini(s_coords_t *s)
{
    free(s->coord);
    free(s->scratch);
    memset(s, 0, sizeof *s);
}

static int
s_coords_init(s_coords_t *s, const method_params_t *mp)
{
    memset(s, 0, sizeof *s);
    s->dim = mp->dim;
    s->k = mp->comp.k;
    s->kind = mp->sketch;
    s->coord = malloc(s->dim * sizeof *s->coord);
    s->scratch = calloc(s->dim, 1);
    if (!s->coord || !s->scratch) {
        s_coords_fini(s);
        return MR_ENOMEM;
    }
    return MR_OK;
}

//  S_k from (seed, method_cd_stream(round)): the same bits on every actor.
static void
s_coords_draw(s_coords_t *s, const double *p, uint64_t seed, uint64_t round)
{
    rng_t rng;
    rng_seed(&rng, seed, method_cd_stream(round));
    if (s->kind == METHOD_SKETCH_COORDINATE) {
        rng_sample_k(&rng, (uint32_t) s->dim, (uint32_t) s->k, s->coord, s->scratch);
        s->b = s->k;
        return;
    }
    if (s->kind == METHOD_SKETCH_SINGLE) {
        double u = rng_uniform(&rng), cum = 0.0;
        size_t pick = s->dim;
        for (size_t j = 0; j < s->dim && pick == s->dim; j++) {
            cum += p[j];
            if (u < cum)
                pick = j;
        }
        if (pick == s->dim)  // u beyond the rounded total: the last coordinate with p_j > 0
            for (pick = s->dim - 1; pick > 0 && !(p[pick] > 0.0); pick--)
                ;
        s->coord[0] = (uint32_t) pick;
        s->b = 1;
        return;
    }
    s->b = 0;
    for (size_t j = 0; j < s->dim; j++)  // one uniform per coordinate, taken or not
        if (rng_uniform(&rng) < p[j])
            s->coord[s->b++] = (uint32_t) j;
}

//  --------------------------------------------------------------------------------------------
//  The iterates and the step every actor takes (the same function on the same bits).

typedef struct {
    s_variant_t variant;
    size_t dim;
    double tau, eta, mu;  // the parameters of the header
    double *p;            // p_j = P(j in S)
    double *v;            // the ESO v_j
    vec_t x, y, z;        // x^k (coupling point), y^k, z^k
    vec_t h;              // ASEGA: h^k (zero for ACD)
    vec_t G;              // scratch: the estimate G^k
} s_iter_t;

static void
s_iter_fini(s_iter_t *it)
{
    free(it->p);
    free(it->v);
    vec_fini(&it->x);
    vec_fini(&it->y);
    vec_fini(&it->z);
    vec_fini(&it->h);
    vec_fini(&it->G);
    memset(it, 0, sizeof *it);
}

//  p_j and the ESO v_j of mp's sampling (see the top of the file).
static void
s_sampling(const method_params_t *mp, double *p, double *v)
{
    size_t d = mp->dim, k = mp->comp.k;
    double beta = d > 1 ? (double) (k - 1) / (double) (d - 1) : 0.0;
    for (size_t j = 0; j < d; j++) {
        if (mp->sketch == METHOD_SKETCH_IMPORTANCE) {
            p[j] = mp->coord_p[j];
            v[j] = (1.0 - p[j]) * mp->coord_L[j] + p[j] * mp->L_smooth;
        } else if (mp->sketch == METHOD_SKETCH_SINGLE) {
            p[j] = mp->coord_p[j];
            v[j] = mp->coord_L[j];
        } else {
            p[j] = (double) k / (double) d;
            v[j] = (1.0 - beta) * mp->coord_L[j] + beta * mp->L_smooth;
        }
    }
}

static int
s_iter_init(s_iter_t *it, const method_params_t *mp, s_variant_t variant, const vec_t *x0)
{
    memset(it, 0, sizeof *it);
    it->variant = variant;
    it->dim = mp->dim;
    it->tau = mp->tau;
    it->eta = mp->gamma;
    it->mu = mp->mu;
    it->p = malloc(mp->dim * sizeof *it->p);
    it->v = malloc(mp->dim * sizeof *it->v);
    if (!it->p || !it->v || vec_init(&it->x, mp->dim) != MR_OK ||
        vec_init(&it->y, mp->dim) != MR_OK || vec_init(&it->z, mp->dim) != MR_OK ||
        vec_init(&it->h, mp->dim) != MR_OK || vec_init(&it->G, mp->dim) != MR_OK) {
        s_iter_fini(it);
        return MR_ENOMEM;
    }
    s_sampling(mp, it->p, it->v);
    vec_copy(&it->x, x0);
    vec_copy(&it->y, x0);
    vec_copy(&it->z, x0);
    return MR_OK;
}

//  From x^k, y^k, z^k (and h^k) to round k + 1's, given S_k and c (d values, c_j = the coordinate
//  j of grad f(x^k) for j in S_k; the others are not read).
static void
s_iter_step(s_iter_t *it, const s_coords_t *S, const vec_t *c)
{
    size_t d = it->dim;
    double *x = it->x.x, *y = it->y.x, *z = it->z.x, *h = it->h.x, *G = it->G.x;
    int sega = it->variant == S_ASEGA;
    for (size_t j = 0; j < d; j++) {
        y[j] = x[j];
        G[j] = sega ? h[j] : 0.0;
    }
    for (size_t t = 0; t < S->b; t++) {
        size_t j = S->coord[t];
        y[j] -= c->x[j] / it->v[j];
        G[j] += (c->x[j] - (sega ? h[j] : 0.0)) / it->p[j];
        if (sega)
            h[j] = c->x[j];
    }
    double em = it->eta * it->mu;
    for (size_t j = 0; j < d; j++) {
        z[j] = (z[j] + em * x[j] - it->eta * G[j]) / (1.0 + em);
        x[j] = it->tau * z[j] + (1.0 - it->tau) * y[j];
    }
}

//  --------------------------------------------------------------------------------------------
//  Checks and theory

static int
s_check_params(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    int rc = method_check_x0(mp, x0, err);
    if (rc != MR_OK)
        return rc;
    if (mp->n == 0)
        return mr_err_set(err, MR_ECONFIG, "key 'n' = 0: acd and asega need a worker");
    if (mp->dim > UINT32_MAX)
        return mr_err_set(err, MR_EDIM, "d = %zu does not fit the uint32 coordinates", mp->dim);
    if (mp->sketch != METHOD_SKETCH_COORDINATE && mp->sketch != METHOD_SKETCH_IMPORTANCE &&
        mp->sketch != METHOD_SKETCH_SINGLE)
        return mr_err_set(err, MR_ECONFIG,
                          "key 'sketch': acd and asega sample coordinates (coordinate, "
                          "importance or single), not Gaussian directions");
    if (mp->comp.k < 1 || mp->comp.k > mp->dim)
        return mr_err_set(err, MR_ECONFIG, "key 'k' = %zu: acd and asega need 1..%zu coordinates",
                          mp->comp.k, mp->dim);
    if (mp->sketch == METHOD_SKETCH_SINGLE && mp->comp.k != 1)
        return mr_err_set(err, MR_ECONFIG,
                          "key 'k' = %zu: sketch = single draws one coordinate a round (k = 1)",
                          mp->comp.k);
    if (mp->reg.kind != PROX_NONE)
        return mr_err_set(err, MR_ECONFIG,
                          "key 'reg' = '%s': acd and asega have no proximal step here (reg = none)",
                          prox_kind_name(mp->reg.kind));
    if (!mp->coord_L)
        return mr_err_set(err, MR_EINVAL, "acd and asega need the coordinate smoothness L_jj");
    if (!(mp->L_smooth > 0.0 && isfinite(mp->L_smooth)))
        return mr_err_set(err, MR_EINVAL, "acd and asega need L > 0 (got %g)", mp->L_smooth);
    for (size_t j = 0; j < mp->dim; j++)
        if (!(mp->coord_L[j] > 0.0 && isfinite(mp->coord_L[j])))
            return mr_err_set(err, MR_EINVAL, "acd and asega: L_%zu = %g is not > 0", j,
                              mp->coord_L[j]);
    if (mp->sketch == METHOD_SKETCH_IMPORTANCE || mp->sketch == METHOD_SKETCH_SINGLE) {
        const char *what = mp->sketch == METHOD_SKETCH_SINGLE ? "single" : "importance";
        if (!mp->coord_p)
            return mr_err_set(err, MR_EINVAL,
                              "key 'sketch' = %s needs the probabilities p_j (coord_p)", what);
        double sum = 0.0;
        for (size_t j = 0; j < mp->dim; j++) {
            if (!(mp->coord_p[j] > 0.0 && mp->coord_p[j] <= 1.0))
                return mr_err_set(err, MR_EINVAL, "key 'sketch' = %s: p_%zu = %g is not in (0, 1]",
                                  what, j, mp->coord_p[j]);
            sum += mp->coord_p[j];
        }
        if (mp->sketch == METHOD_SKETCH_SINGLE && !(fabs(sum - 1.0) <= 1e-9))
            return mr_err_set(err, MR_EINVAL, "key 'sketch' = single: the p_j sum to %.17g, not 1",
                              sum);
    }
    if (!(mp->mu > 0.0 && isfinite(mp->mu)))
        return mr_err_set(err, MR_ECONFIG,
                          "key 'lambda': acd and asega need a strongly convex f (mu = lambda > 0, "
                          "got %g)",
                          mp->mu);
    if (!(mp->tau > 0.0 && mp->tau <= 1.0))
        return mr_err_set(err, MR_EINVAL, "acd and asega: tau = %g is not in (0, 1]", mp->tau);
    return method_check_gamma(mp, err);
}

//  nu = max_j v_j / p_j^2 of mp's sampling; 0 on allocation failure.
static double
s_nu(const method_params_t *mp)
{
    double *p = malloc(mp->dim * sizeof *p), *v = malloc(mp->dim * sizeof *v), nu = 0.0;
    if (p && v) {
        s_sampling(mp, p, v);
        for (size_t j = 0; j < mp->dim; j++)
            nu = fmax(nu, v[j] / (p[j] * p[j]));
    }
    free(p);
    free(v);
    return nu;
}

static int
s_resolve(method_params_t *mp, const method_consts_t *pc, s_variant_t variant, mr_err_t *err)
{
    if (!isnan(mp->gamma))
        return mr_err_set(err, MR_ECONFIG,
                          "key 'gamma': %s takes the theorem's parameters (leave gamma = theory)",
                          variant == S_ACD ? "acd" : "asega");
    mp->p = 1.0;
    mp->L_smooth = pc->L;
    mp->mu = pc->mu;
    mp->gamma = 1.0;  // placeholders, so that the keys are checked first
    mp->tau = 1.0;
    int rc = s_check_params(mp, NULL, err);
    if (rc != MR_OK)
        return rc;
    double nu = s_nu(mp);
    if (!(nu > 0.0))
        return mr_err_set(err, MR_ENOMEM, "no memory for the sampling's constants");
    if (variant == S_ASEGA)
        nu *= S_ASEGA_FACTOR * S_ASEGA_FACTOR;
    mp->tau = 2.0 / (1.0 + sqrt(4.0 * nu / mp->mu + 1.0));
    mp->gamma = 1.0 / (mp->tau * nu);
    return method_check_common(mp, err);
}

static int
s_acd_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    return s_resolve(mp, pc, S_ACD, err);
}

static int
s_asega_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    return s_resolve(mp, pc, S_ASEGA, err);
}

//  --------------------------------------------------------------------------------------------
//  Worker

struct method_worker {
    method_params_t mp;   // the run's parameters (copied)
    const loss_t *loss;   // f_i, borrowed
    uint32_t id;          // i
    s_iter_t it;          // x^k, y^k, z^k, h^k
    s_coords_t S;         // S_{k-1} until the step of round k, then S_k
    vec_t grad;           // grad f_i(x^k)
    uint64_t next_round;  // the round worker_step expects
};

//  The checkpoint: the iterates x^k, y^k, z^k, h^k (G and grad are rewritten every round) and
//  S_{k-1}, which the next step reads: redrawn on loading from the shared stream rather than
//  saved, so no coordinate comes from the stream.
static void
s_iter_state(s_iter_t *it, state_t *st)
{
    state_vec(st, &it->x);
    state_vec(st, &it->y);
    state_vec(st, &it->z);
    state_vec(st, &it->h);
}

static void
s_worker_state(method_worker_t *self, state_t *st)
{
    state_tag(st, self->it.variant == S_ASEGA ? "asega-worker-v1" : "acd-worker-v1");
    state_expect(st, self->id, "worker id");
    s_iter_state(&self->it, st);
    state_u64(st, &self->next_round);
    if (st->loading && st->rc == MR_OK && self->next_round > 0)
        s_coords_draw(&self->S, self->mp.coord_p, self->mp.seed, self->next_round - 1);
}

static void
s_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    s_iter_fini(&self->it);
    s_coords_fini(&self->S);
    vec_fini(&self->grad);
    free(self);
    *self_p = NULL;
}

static method_worker_t *
s_worker_new(const method_params_t *mp,
             s_variant_t variant,
             const loss_t *loss,
             uint32_t id,
             const vec_t *x0,
             mr_err_t *err)
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
    if (s_iter_init(&self->it, mp, variant, x0) != MR_OK || s_coords_init(&self->S, mp) != MR_OK ||
        vec_init(&self->grad, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu)", id, mp->dim);
        s_worker_destroy(&self);
        return NULL;
    }
    return self;
}

static method_worker_t *
s_acd_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, S_ACD, loss, id, x0, err);
}

static method_worker_t *
s_asega_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, S_ASEGA, loss, id, x0, err);
}

static int
s_worker_step(method_worker_t *self,
              const method_round_t *rd,
              rng_t *rng,
              cvec_t *out,
              method_report_t *report)
{
    (void) rng;  // S_k comes from the shared stream
    if (rd->round != self->next_round)
        return MR_EINVAL;
    if (rd->round > 0) {
        assert(rd->g && rd->g->dim == self->mp.dim);
        s_iter_step(&self->it, &self->S, rd->g);  // rd->g = c^{k-1}, self->S = S_{k-1}
    }
    double f = loss_value_grad(self->loss, &self->it.x, &self->grad);
    s_coords_draw(&self->S, self->mp.coord_p, self->mp.seed, rd->round);
    assert(out->cap >= self->S.b);
    out->dim = self->mp.dim;
    out->kind = CVEC_SPARSE;
    out->enc = CVEC_ENC_RAW;
    out->nnz = self->S.b;
    for (size_t t = 0; t < self->S.b; t++) {
        out->idx[t] = self->S.coord[t];
        out->val[t] = self->grad.x[self->S.coord[t]];
    }
    report->send = 1;
    report->oracle_calls = self->loss->data->rows;
    report->have_eval = 1;
    report->f = f;
    report->grad = &self->grad;
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_worker_x(const method_worker_t *self)
{
    return &self->it.x;
}

//  --------------------------------------------------------------------------------------------
//  Server

struct method_server {
    method_params_t mp;   // the run's parameters (copied)
    s_iter_t it;          // x^k, y^k, z^k, h^k after combining round k
    s_coords_t S[2];      // S_{k-1} and S_k, alternately (S[cur] is the last combined round's)
    int cur;              // which of S holds the last combined round's S
    vec_t c;              // c^k, the broadcast (zero off S_k)
    vec_t sum;            // scratch: sum_i of round k's coordinates
    uint64_t next_round;  // the round server_plan and server_combine expect
};

//  The checkpoint: the iterates, the broadcast c^k, and S[cur] = S_k, redrawn on loading (S[!cur]
//  and sum are scratch).
static void
s_server_state(method_server_t *self, state_t *st)
{
    state_tag(st, self->it.variant == S_ASEGA ? "asega-server-v1" : "acd-server-v1");
    s_iter_state(&self->it, st);
    state_vec(st, &self->c);
    state_u64(st, &self->next_round);
    if (st->loading && st->rc == MR_OK && self->next_round > 0)
        s_coords_draw(&self->S[self->cur], self->mp.coord_p, self->mp.seed, self->next_round - 1);
}

static void
s_server_destroy(method_server_t **self_p)
{
    method_server_t *self = *self_p;
    if (!self)
        return;
    s_iter_fini(&self->it);
    s_coords_fini(&self->S[0]);
    s_coords_fini(&self->S[1]);
    vec_fini(&self->c);
    vec_fini(&self->sum);
    free(self);
    *self_p = NULL;
}

static method_server_t *
s_server_new(const method_params_t *mp, s_variant_t variant, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, x0, err) != MR_OK)
        return NULL;
    method_server_t *self = method_server_alloc(sizeof *self, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    if (s_iter_init(&self->it, mp, variant, x0) != MR_OK ||
        s_coords_init(&self->S[0], mp) != MR_OK || s_coords_init(&self->S[1], mp) != MR_OK ||
        vec_init(&self->c, mp->dim) != MR_OK || vec_init(&self->sum, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for the server state (d = %zu)", mp->dim);
        s_server_destroy(&self);
        return NULL;
    }
    return self;
}

static method_server_t *
s_acd_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    return s_server_new(mp, S_ACD, x0, err);
}

static method_server_t *
s_asega_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    return s_server_new(mp, S_ASEGA, x0, err);
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
    rd->g = round == 0 ? NULL : &self->c;
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
    //  Round k's S into the other slot, every update checked against it before the state moves.
    s_coords_t *S = &self->S[!self->cur];
    s_coords_draw(S, self->mp.coord_p, self->mp.seed, rd->round);
    for (size_t i = 0; i < n; i++) {
        int ok = ups[i]->enc == CVEC_ENC_RAW && ups[i]->kind == CVEC_SPARSE && ups[i]->nnz == S->b;
        for (size_t t = 0; ok && t < S->b; t++)
            ok = ups[i]->idx[t] == S->coord[t];
        if (!ok)
            return mr_err_set(err, MR_EINVAL,
                              "round %llu: worker %zu did not send the %zu coordinates of S_k",
                              (unsigned long long) rd->round, i, S->b);
    }
    vec_zero(&self->sum);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < S->b; t++)
            self->sum.x[ups[i]->idx[t]] += ups[i]->val[t];
    if (rd->round > 0)
        s_iter_step(&self->it, &self->S[self->cur], &self->c);  // x^k from round k-1's c, S
    vec_copy(&self->c, &self->sum);
    vec_scale(&self->c, 1.0 / (double) n);
    self->cur = !self->cur;
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_server_x(const method_server_t *self)
{
    return &self->it.x;
}

const method_t method_acd = {
    .name = "acd",
    .samples_coords = 1,
    .accel_coords = 1,
    .uses_compressor = 0,  // comp.k is the number of coordinates; Q is not applied
    .resolve = s_acd_resolve,
    .worker_new = s_acd_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_acd_server_new,
    .server_destroy = s_server_destroy,
    .server_plan = s_server_plan,
    .server_combine = s_server_combine,
    .server_x = s_server_x,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};

const method_t method_asega = {
    .name = "asega",
    .samples_coords = 1,
    .accel_coords = 1,
    .uses_compressor = 0,
    .resolve = s_asega_resolve,
    .worker_new = s_asega_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_asega_server_new,
    .server_destroy = s_server_destroy,
    .server_plan = s_server_plan,
    .server_combine = s_server_combine,
    .server_x = s_server_x,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};
