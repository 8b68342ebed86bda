//  test_methods_sega.c - method.h: SEGA, biased SEGA and coordinate descent (method_sega.c),
//  driven in-process through the round protocol, against the claims of the slides (Secs. 3-4).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "method.h"
#include "method_impl.h"
#include "prox.h"
#include "solve.h"
#include "theory.h"
#include "sim.h"

enum {
    N = 4,
    ROWS = 803,
    DIM = 30,
    M = ROWS / N,  // samples per worker: 200
};

//  A heterogeneous synthetic set split among N workers, f_i least squares plus lambda/2 |x|^2
//  (lambda-strongly convex: mu = lambda), and f = 1/n sum_i f_i over the union of the parts (the
//  one worker of the n = 1 tests, whose L is L_f; the n = N tests use the launcher's L).
typedef sim_data_t fixture_t;

static int
s_setup(void **state)
{
    *state = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_QUADRATIC, 0.1);
    return 0;
}

//  A better conditioned problem for the rate tests (the theory's rounds scale with L / mu).
static int
s_setup_conditioned(void **state)
{
    *state = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_QUADRATIC, 1.0);
    return 0;
}

//  Very unequal column norms for importance sampling: column j of every copy of the data (the
//  set, the union, the parts) scaled by 3 (j < 3), 1 (j < 10) or 0.2, so L_jj ranges over a
//  factor ~30 with lambda = 0.1 (~0.11 to ~3.5), ~4 with lambda = 1; the losses' constants are
//  recomputed.
static void
s_skew(fixture_t *fx)
{
    csr_t *copies[2 + SIM_MAXN] = {&fx->all, &fx->used};
    for (size_t i = 0; i < fx->n; i++)
        copies[2 + i] = &fx->part[i];
    for (size_t c = 0; c < 2 + fx->n; c++)
        for (size_t t = 0; t < copies[c]->nnz; t++) {
            uint32_t j = copies[c]->col[t];
            copies[c]->val[t] *= j < 3 ? 3.0 : j < 10 ? 1.0 : 0.2;
        }
    double Li[SIM_MAXN];
    fx->L_max = 0;
    for (size_t i = 0; i < fx->n; i++) {
        Li[i] = loss_smoothness(&fx->loss[i]);
        fx->L_max = fmax(fx->L_max, Li[i]);
    }
    fx->L = theory_mean_sq_L(Li, fx->n);
    fx->L_f = loss_smoothness(&fx->f);
}

static int
s_setup_skewed(void **state)
{
    fixture_t *fx = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_QUADRATIC, 0.1);
    s_skew(fx);
    *state = fx;
    return 0;
}

static int
s_setup_skewed_conditioned(void **state)
{
    fixture_t *fx = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_QUADRATIC, 1.0);
    s_skew(fx);
    *state = fx;
    return 0;
}

//  The launcher's importance probabilities (launch/experiment.c): w_j = max_i L_jj of the n
//  losses (n = 1: of f), p = method_importance_p(w, K).
static void
s_importance_p(const fixture_t *fx, size_t n, size_t k, double *w, double *p)
{
    double wi[DIM];
    for (size_t j = 0; j < DIM; j++)
        w[j] = 0.0;
    for (size_t i = 0; i < n; i++) {
        loss_coord_smoothness(n == 1 ? &fx->f : &fx->loss[i], wi);
        for (size_t j = 0; j < DIM; j++)
            w[j] = fmax(w[j], wi[j]);
    }
    assert_int_equal(method_importance_p(w, DIM, k, p), MR_OK);
}

//  One simulated run of n workers (n = N over the shards, or n = 1 over f), as the actors hold
//  it; the workers' own rng streams are passed but SEGA draws from the shared sketch streams.
static void
s_sim_init(sim_t *s,
           const char *name,
           const method_params_t *mp,
           fixture_t *fx,
           size_t n,
           const vec_t *x0_or_null)
{
    assert_true(n == 1 || n == N);
    assert_int_equal(mp->n, n);
    sim_init(s, name, mp, n == 1 ? &fx->f : fx->loss, x0_or_null, mp->seed);
}

//  Round k: every worker sends, and evaluated grad f_i(x^k) to do so.
static void
s_sim_round(sim_t *s, uint64_t k)
{
    sim_round_everyone(s, k);
    for (size_t i = 0; i < s->n; i++)
        assert_int_equal(s->report[i].have_eval, 1);
}

//  g^k after round k was combined: what the next ROUND carries (planning reads, never draws).
static const vec_t *
s_sim_g(sim_t *s, uint64_t k)
{
    method_round_t rd;
    s->m->server_plan(s->server, k + 1, &s->server_rng, &rd);
    assert_non_null(rd.g);
    return rd.g;
}

//  grad f(x) = 1/n sum_i grad f_i(x) of the simulated workers' losses.
static void
s_full_grad(const sim_t *s, const vec_t *x, vec_t *out)
{
    vec_t gi;
    assert_int_equal(vec_init(&gi, DIM), MR_OK);
    vec_zero(out);
    for (size_t i = 0; i < s->n; i++) {
        loss_value_grad(s->loss[i], x, &gi);
        vec_axpy(out, 1.0, &gi);
    }
    vec_scale(out, 1.0 / (double) s->n);
    vec_fini(&gi);
}

static method_params_t
s_params(size_t n, int sketch, size_t kb, double gamma, uint64_t seed)
{
    return (method_params_t){.n = n,
                             .dim = DIM,
                             .m = n == 1 ? N * M : M,
                             .gamma = gamma,
                             .p = NAN,
                             .alpha = NAN,
                             .comp = {.kind = COMP_IDENTITY, .k = kb},
                             .sketch = sketch,
                             .sketch_b = kb,
                             .seed = seed};
}

//  Resolves mp with the constants a launcher would pass (L, mu) and asserts success.
static void
s_resolve(const char *name, method_params_t *mp, double L, double mu)
{
    method_consts_t pc = {.n = mp->n, .dim = DIM, .m = mp->m, .L = L, .L_avg = L, .mu = mu};
    mr_err_t err;
    assert_int_equal(method_find(name)->resolve(mp, &pc, &err), MR_OK);
}

//  S^T v for a Gaussian sketch redrawn as method_impl.h documents it (column j is the j-th run
//  of DIM rng_normal() draws of stream method_sega_stream(k, i)).
static void
s_gaussian_sketch(
    uint64_t seed, uint64_t k, uint32_t i, size_t b, const vec_t *v, double *out, double *col_norm)
{
    rng_t r;
    rng_seed(&r, seed, method_sega_stream(k, i));
    for (size_t j = 0; j < b; j++) {
        double acc = 0.0, nrm = 0.0;
        for (size_t t = 0; t < DIM; t++) {
            double s = rng_normal(&r);
            acc += s * v->x[t];
            nrm += s * s;
        }
        out[j] = acc;
        col_norm[j] = sqrt(nrm);
    }
}

//  ----------------------------------------------------------------------------------------------

static void
test_sega_methods_are_listed_with_prox(void **state)
{
    (void) state;
    const char *names[] = {"sega", "sega-biased", "cd"};
    for (size_t j = 0; j < 3; j++) {
        const method_t *m = sim_assert_listed_once(names[j]);
        assert_int_equal(m->allows_prox, 1);
        assert_int_equal(m->uses_compressor, 0);
    }
}

static void
test_sketch_streams_never_meet_the_actors(void **state)
{
    (void) state;
    //  Bit 62 is set in every sketch stream; the server (0), workers (2^32 + i < 2^33) and the
    //  data generator use small ids.
    uint64_t ids[] = {method_sega_stream(0, 0), method_sega_stream(7, 3),
                      method_sega_stream(((uint64_t) 1 << 41) - 1, (1u << 20) - 1),
                      method_cd_stream(0), method_cd_stream(12345)};
    for (size_t j = 0; j < sizeof ids / sizeof ids[0]; j++) {
        assert_true(ids[j] >> 62 == 1);
        assert_true(ids[j] != RNG_STREAM_SERVER && ids[j] != rng_stream_worker(3));
    }
    assert_true(method_sega_stream(1, 0) != method_sega_stream(0, 1));
    assert_true(method_sega_stream(5, 0) != method_cd_stream(5));
}

//  Checks E[g^k - grad f(x^k)] = 0, coordinate by coordinate, from T independent runs (seeds
//  1..T): round 0 at a fixed x^0 != 0 with fixed h^0 = 0, and round 1, where h^1 != 0 and x^1
//  vary with the seed; E[g^1 - grad f(x^1) | x^1, h^1] = 0 (the slides' "Unbiased" property),
//  so the unconditional mean is 0 too. Tolerance: 5 standard errors of the mean (sample sd /
//  sqrt T) plus 1e-12 for coordinates whose estimator has no variance. With T = 16000 a theta
//  10% too large fails both sketches (checked by hand once).
static void
s_check_unbiased(fixture_t *fx, int sketch, size_t kb, const double *coord_p)
{
    enum {
        T = 16000
    };
    vec_t x0, gf, diff;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    assert_int_equal(vec_init(&gf, DIM), MR_OK);
    assert_int_equal(vec_init(&diff, DIM), MR_OK);
    for (size_t t = 0; t < DIM; t++)
        x0.x[t] = 0.1 * (double) ((int) (t % 5) - 2);
    double sum[2][DIM] = {{0}}, sq[2][DIM] = {{0}};
    for (uint64_t seed = 1; seed <= T; seed++) {
        method_params_t mp = s_params(N, sketch, kb, 0.5 / fx->L, seed);
        mp.coord_p = coord_p;
        s_resolve("sega", &mp, fx->L, fx->lambda);
        sim_t s;
        s_sim_init(&s, "sega", &mp, fx, N, &x0);
        for (uint64_t k = 0; k <= 1; k++) {
            s_sim_round(&s, k);
            s_full_grad(&s, s.m->server_x(s.server), &gf);
            vec_copy(&diff, s_sim_g(&s, k));
            vec_axpy(&diff, -1.0, &gf);
            for (size_t t = 0; t < DIM; t++) {
                sum[k][t] += diff.x[t];
                sq[k][t] += diff.x[t] * diff.x[t];
            }
        }
        sim_fini(&s);
    }
    for (size_t k = 0; k <= 1; k++) {
        for (size_t t = 0; t < DIM; t++) {
            double mean = sum[k][t] / T;
            double var = fmax(0.0, (sq[k][t] - T * mean * mean) / (T - 1));
            double se = sqrt(var / T);
            if (fabs(mean) > 5.0 * se + 1e-12)
                fail_msg("round %zu, coordinate %zu: mean of g - grad f is %g, 5 SE = %g", k, t,
                         mean, 5.0 * se);
        }
    }
    vec_fini(&x0);
    vec_fini(&gf);
    vec_fini(&diff);
}

static void
test_sega_estimator_is_unbiased_coordinate(void **state)
{
    s_check_unbiased(*state, METHOD_SKETCH_COORDINATE, 3, NULL);  // theta = 10
}

static void
test_sega_estimator_is_unbiased_gaussian(void **state)
{
    s_check_unbiased(*state, METHOD_SKETCH_GAUSSIAN, 2, NULL);  // theta = 15
}

//  Importance coordinates on the skewed data, expected K = 3: p_j from ~0.02 to ~0.7, so 1/p_j
//  up to ~47; the same 5 standard errors.
static void
test_sega_estimator_is_unbiased_importance(void **state)
{
    fixture_t *fx = *state;
    double w[DIM], p[DIM];
    s_importance_p(fx, N, 3, w, p);
    s_check_unbiased(fx, METHOD_SKETCH_IMPORTANCE, 3, p);
}

//  n = 1, biased SEGA: g^k = h^{k+1}, so the sketch-and-project constraint of the slides
//  (S_k^T h^{k+1} = S_k^T grad f(x^k)) can be read off g^k. Tolerance 1e-12 relative to
//  |s_j| |grad f|: a few roundings of d-term dot products.
static void
s_check_sketch_and_project(fixture_t *fx, int sketch, size_t kb)
{
    method_params_t mp = s_params(1, sketch, kb, NAN, 42);
    s_resolve("sega-biased", &mp, fx->L_f, fx->lambda);
    sim_t s;
    s_sim_init(&s, "sega-biased", &mp, fx, 1, NULL);
    double a[DIM], b[DIM], na[DIM], nb[DIM];
    for (uint64_t k = 0; k < 20; k++) {
        s_sim_round(&s, k);
        const vec_t *g = s_sim_g(&s, k);  // h^{k+1}
        const vec_t *grad = s.report[0].grad;
        double gnorm = sqrt(vec_norm_sq(grad));
        if (sketch == METHOD_SKETCH_COORDINATE) {
            assert_int_equal(s.out[0].enc, CVEC_ENC_RAW);
            assert_int_equal(s.out[0].nnz, kb);
            for (size_t j = 0; j < kb; j++)
                assert_near(g->x[s.out[0].idx[j]], grad->x[s.out[0].idx[j]], 1e-12 * (1 + gnorm));
        } else {
            assert_int_equal(s.out[0].enc, CVEC_ENC_SKETCH);
            assert_int_equal(s.out[0].nnz, kb);
            s_gaussian_sketch(mp.seed, k, 0, kb, g, a, na);
            s_gaussian_sketch(mp.seed, k, 0, kb, grad, b, nb);
            for (size_t j = 0; j < kb; j++)
                assert_near(a[j], b[j], 1e-12 * (1 + na[j] * gnorm));
        }
    }
    sim_fini(&s);
}

static void
test_sketch_and_project_matches_the_sketched_gradient_coordinate(void **state)
{
    s_check_sketch_and_project(*state, METHOD_SKETCH_COORDINATE, 4);
}

static void
test_sketch_and_project_matches_the_sketched_gradient_gaussian(void **state)
{
    s_check_sketch_and_project(*state, METHOD_SKETCH_GAUSSIAN, 5);
}

//  SEGA with a full sketch (Z = I, theta = 1) is proximal GD: g^k = h^k + (grad f(x^k) - h^k).
//  Reference: x^{k+1} = prox(x^k - gamma grad f(x^k)) with the sum in worker order. K = d:
//  exact up to the roundings of h + (grad - h), ~1e-16 per step: 1e-12 after 100 steps. b = d
//  Gaussians: Z r = Q Q^T r with Q^T r from R^T w = S^T r, error ~ eps cond(S) |r| per step;
//  cond of a 30 x 30 Gaussian is ~1e2..1e4, so 1e-9 after 100 steps.
static void
s_check_full_sketch(fixture_t *fx, int sketch, const prox_cfg_t *reg, double tol)
{
    double ones[DIM];
    for (size_t j = 0; j < DIM; j++)
        ones[j] = 1.0;
    method_params_t mp = s_params(N, sketch, DIM, 1.0 / fx->L, 9);
    mp.reg = *reg;
    mp.coord_p = sketch == METHOD_SKETCH_IMPORTANCE ? ones : NULL;
    s_resolve("sega", &mp, fx->L, fx->lambda);
    sim_t s;
    s_sim_init(&s, "sega", &mp, fx, N, NULL);
    vec_t x, g;
    assert_int_equal(vec_init(&x, DIM), MR_OK);
    assert_int_equal(vec_init(&g, DIM), MR_OK);
    for (uint64_t k = 0; k <= 100; k++) {
        if (k > 0) {
            vec_axpy(&x, -mp.gamma, &g);
            prox_apply(reg, mp.gamma, &x);
        }
        s_full_grad(&s, &x, &g);
        s_sim_round(&s, k);
        sim_assert_x_near(&s, &x, tol);
    }
    assert_true(vec_norm_sq(&x) > 0);  // the runs moved
    sim_fini(&s);
    vec_fini(&x);
    vec_fini(&g);
}

static void
test_sega_full_coordinate_sketch_is_prox_gd(void **state)
{
    s_check_full_sketch(*state, METHOD_SKETCH_COORDINATE,
                        &(prox_cfg_t){.kind = PROX_L1, .lambda1 = 0.05}, 1e-12);
    s_check_full_sketch(*state, METHOD_SKETCH_COORDINATE,
                        &(prox_cfg_t){.kind = PROX_BALL, .radius = 0.1}, 1e-12);
}

//  Importance coordinates with every p_j = 1 (k = d): S = all coordinates, D = I, so the same
//  exact reference holds.
static void
test_sega_full_importance_sketch_is_prox_gd(void **state)
{
    double w[DIM], p[DIM];
    s_importance_p(*state, N, DIM, w, p);
    for (size_t j = 0; j < DIM; j++)
        assert_true(p[j] == 1.0);
    s_check_full_sketch(*state, METHOD_SKETCH_IMPORTANCE,
                        &(prox_cfg_t){.kind = PROX_L1, .lambda1 = 0.05}, 1e-12);
    s_check_full_sketch(*state, METHOD_SKETCH_IMPORTANCE,
                        &(prox_cfg_t){.kind = PROX_BALL, .radius = 0.1}, 1e-12);
}

static void
test_sega_full_gaussian_sketch_is_prox_gd(void **state)
{
    s_check_full_sketch(*state, METHOD_SKETCH_GAUSSIAN,
                        &(prox_cfg_t){.kind = PROX_L1, .lambda1 = 0.05}, 1e-9);
}

//  The slides' theorem for n = 1: E[Phi^k] <= (1 - gamma mu)^k Phi^0, with
//  Phi^k = |x^k - x*|^2 + sigma gamma |h^k - grad f(x*)|^2 and the theory's gamma, sigma
//  (theory.h). h^k is rebuilt from the g's: h^0 = 0, h^{k+1} = h^k + (g^k - h^k) / theta
//  (importance: h_j^{k+1} = h_j^k + p_j (g_j^k - h_j^k), theta_j = 1/p_j).
//  Averaged over S seeds; the claim fails only if the mean exceeds the bound by 5 standard
//  errors at some round.
static void
s_check_rate(fixture_t *fx, int sketch, size_t kb)
{
    enum {
        S = 20
    };
    double w[DIM], inv_theta[DIM];
    method_params_t mp0 = s_params(1, sketch, kb, NAN, 0);
    if (sketch == METHOD_SKETCH_IMPORTANCE) {
        s_importance_p(fx, 1, kb, w, inv_theta);
        mp0.coord_p = inv_theta;
    } else {
        for (size_t j = 0; j < DIM; j++)
            inv_theta[j] = (double) kb / (double) DIM;
    }
    s_resolve("sega", &mp0, fx->L_f, fx->lambda);
    double theta = (double) DIM / (double) kb;
    double gamma = mp0.gamma, mu = fx->lambda, sigma = theory_sega_sigma(fx->L_f, theta);
    if (sketch == METHOD_SKETCH_IMPORTANCE)
        assert_near(gamma, theory_sega_importance_gamma(fx->L_f, mu, inv_theta, DIM, &sigma), 0);
    else
        assert_near(gamma, theory_sega_gamma(fx->L_f, mu, theta), 0);
    //  Rounds for the bound to fall to 1/20.
    uint64_t rounds = (uint64_t) ceil(log(20.0) / -log1p(-gamma * mu));
    assert_true(rounds < 5000);
    vec_t xs, gs, h, tmp;
    assert_int_equal(vec_init(&xs, DIM), MR_OK);
    assert_int_equal(vec_init(&gs, DIM), MR_OK);
    assert_int_equal(vec_init(&h, DIM), MR_OK);
    assert_int_equal(vec_init(&tmp, DIM), MR_OK);
    mr_err_t err;
    assert_int_equal(solve_minimize(&fx->f, 1, &xs, 1e-26, 100000, &xs, NULL, &err), MR_OK);
    loss_value_grad(&fx->f, &xs, &gs);
    double *phi_sum = calloc(rounds + 1, sizeof *phi_sum);
    double *phi_sq = calloc(rounds + 1, sizeof *phi_sq);
    assert_true(phi_sum && phi_sq);
    double phi0 = 0;
    for (uint64_t seed = 1; seed <= S; seed++) {
        method_params_t mp = mp0;
        mp.seed = seed;
        sim_t s;
        s_sim_init(&s, "sega", &mp, fx, 1, NULL);
        vec_zero(&h);
        for (uint64_t k = 0; k <= rounds; k++) {
            //  Phi^k needs x^k (the server's, once round k is combined) and h^k (before it).
            s_sim_round(&s, k);
            vec_copy(&tmp, s.m->server_x(s.server));
            vec_axpy(&tmp, -1.0, &xs);
            double phi = vec_norm_sq(&tmp);
            vec_copy(&tmp, &h);
            vec_axpy(&tmp, -1.0, &gs);
            phi += sigma * gamma * vec_norm_sq(&tmp);
            phi_sum[k] += phi;
            phi_sq[k] += phi * phi;
            if (k == 0)
                phi0 = phi;  // deterministic: x^0 = 0, h^0 = 0
            vec_copy(&tmp, s_sim_g(&s, k));
            vec_axpy(&tmp, -1.0, &h);
            for (size_t j = 0; j < DIM; j++)
                h.x[j] += inv_theta[j] * tmp.x[j];
        }
        sim_fini(&s);
    }
    double last = 0;
    for (uint64_t k = 0; k <= rounds; k++) {
        double mean = phi_sum[k] / S;
        double se = sqrt(fmax(0.0, (phi_sq[k] - S * mean * mean) / (S - 1)) / S);
        double bound = pow(1.0 - gamma * mu, (double) k) * phi0;
        if (mean > bound * (1 + 1e-12) + 5.0 * se)  // 1e-12: the rounding of S-term sums
            fail_msg("round %llu: mean Phi = %g > (1 - gamma mu)^k Phi^0 = %g (5 SE = %g)",
                     (unsigned long long) k, mean, bound, 5.0 * se);
        last = mean;
    }
    print_message("sega %s: gamma L = %.3g, %llu rounds: Phi %.3g -> %.3g (bound %.3g)\n",
                  sketch == METHOD_SKETCH_COORDINATE   ? "coordinate"
                  : sketch == METHOD_SKETCH_IMPORTANCE ? "importance"
                                                       : "gaussian",
                  gamma * fx->L_f, (unsigned long long) rounds, phi0, last, phi0 / 20.0);
    free(phi_sum);
    free(phi_sq);
    vec_fini(&xs);
    vec_fini(&gs);
    vec_fini(&h);
    vec_fini(&tmp);
}

static void
test_sega_meets_the_theorem_rate_coordinate(void **state)
{
    s_check_rate(*state, METHOD_SKETCH_COORDINATE, 6);  // theta = 5
}

//  On the skewed data with lambda = 1 (L_jj over a factor ~4, p_j from ~0.16 to ~0.5 for an
//  expected K = 6). gamma is limited by min_j p_j (L^{-1} >= I/L ignores the L_jj): gamma L =
//  0.027 against uniform SEGA's 0.05 for K = 6, so the bound needs ~3400 rounds to reach 1/20.
static void
test_sega_meets_the_theorem_rate_importance(void **state)
{
    s_check_rate(*state, METHOD_SKETCH_IMPORTANCE, 6);
}

static void
test_sega_meets_the_theorem_rate_gaussian(void **state)
{
    s_check_rate(*state, METHOD_SKETCH_GAUSSIAN, 6);
}

//  Every iterate of every actor lies in the constraint set, round after round, from an x^0
//  outside it (projected first); workers and server hold the same x bit for bit.
static void
s_check_feasible(fixture_t *fx, const char *name, int sketch, const prox_cfg_t *reg)
{
    method_params_t mp = s_params(N, sketch, 3, NAN, 17);
    mp.reg = *reg;
    s_resolve(name, &mp, fx->L, fx->lambda);
    vec_t x0;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    for (size_t t = 0; t < DIM; t++)
        x0.x[t] = 1.0;
    sim_t s;
    s_sim_init(&s, name, &mp, fx, N, &x0);
    for (uint64_t k = 0; k <= 300; k++) {
        s_sim_round(&s, k);
        const vec_t *xs = s.m->server_x(s.server);
        for (size_t i = 0; i <= N; i++) {
            const vec_t *x = i < N ? s.m->worker_x(s.worker[i]) : xs;
            if (reg->kind == PROX_BALL)
                assert_true(vec_norm_sq(x) <= reg->radius * reg->radius * (1 + 1e-12));
            for (size_t t = 0; reg->kind == PROX_BOX && t < DIM; t++)
                assert_true(x->x[t] >= reg->lo && x->x[t] <= reg->hi);
            assert_memory_equal(x->x, xs->x, DIM * sizeof(double));
        }
    }
    sim_fini(&s);
    vec_fini(&x0);
}

static void
test_iterates_never_leave_the_constraint(void **state)
{
    const prox_cfg_t ball = {.kind = PROX_BALL, .radius = 0.05};
    const prox_cfg_t box = {.kind = PROX_BOX, .lo = -0.02, .hi = 0.03};
    const char *names[] = {"sega", "sega-biased", "cd"};
    for (size_t j = 0; j < 3; j++) {
        s_check_feasible(*state, names[j], METHOD_SKETCH_COORDINATE, &ball);
        s_check_feasible(*state, names[j], METHOD_SKETCH_COORDINATE, &box);
    }
    s_check_feasible(*state, "sega", METHOD_SKETCH_GAUSSIAN, &ball);
    s_check_feasible(*state, "sega", METHOD_SKETCH_GAUSSIAN, &box);
}

static void
test_cd_converges(void **state)
{
    //  RCD with one K-coordinate block shared by the workers and gamma = 1/L (L >= the
    //  smoothness of f): f(x - P grad f / L) <= f - |P grad f|^2 / (2 L), E|P grad f|^2 =
    //  K/d |grad f|^2 >= 2 mu K/d (f - f*), so E[f(x^k) - f*] <= (1 - K mu / (d L))^k (f(x^0) -
    //  f*). Mean of S seeds vs that bound, 5 standard errors; the bound falls to 1/100.
    fixture_t *fx = *state;
    enum {
        S = 10,
        K = 3
    };
    double mu = fx->lambda;
    double rate = 1.0 - (double) K * mu / ((double) DIM * fx->L);
    uint64_t rounds = (uint64_t) ceil(log(100.0) / -log(rate));
    vec_t xs;
    assert_int_equal(vec_init(&xs, DIM), MR_OK);
    double fstar;
    mr_err_t err;
    assert_int_equal(solve_minimize(fx->loss, N, &xs, 1e-26, 100000, &xs, &fstar, &err), MR_OK);
    double f0 = 0, sum = 0, sq = 0;
    for (uint64_t seed = 1; seed <= S; seed++) {
        method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, K, NAN, seed);
        s_resolve("cd", &mp, fx->L, mu);
        assert_near(mp.gamma, 1.0 / fx->L, 0);
        sim_t s;
        s_sim_init(&s, "cd", &mp, fx, N, NULL);
        for (uint64_t k = 0; k <= rounds; k++) {
            s_sim_round(&s, k);
            for (size_t i = 0; i < N; i++) {
                assert_int_equal(s.out[i].kind, CVEC_SPARSE);
                assert_int_equal(s.out[i].nnz, K);
                assert_memory_equal(s.out[i].idx, s.out[0].idx, K * sizeof(uint32_t));
            }
        }
        double gap = loss_value(&fx->f, s.m->server_x(s.server)) - fstar;
        f0 = loss_value(&fx->f, &(vec_t){DIM, (double[DIM]){0}}) - fstar;
        sum += gap;
        sq += gap * gap;
        sim_fini(&s);
    }
    double mean = sum / S, se = sqrt(fmax(0.0, (sq - S * mean * mean) / (S - 1)) / S);
    double bound = pow(rate, (double) rounds) * f0;
    print_message("cd: %llu rounds, gap %.3g -> %.3g (bound %.3g)\n", (unsigned long long) rounds,
                  f0, mean, bound);
    assert_true(mean <= bound + 5.0 * se);
    vec_fini(&xs);
}

static void
test_server_refuses_an_update_of_another_sketch(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 3, NAN, 5);
    s_resolve("sega", &mp, fx->L, fx->lambda);
    sim_t s;
    s_sim_init(&s, "sega", &mp, fx, N, NULL);
    const cvec_t *ups[N];
    sim_step_workers(&s, 0, ups);
    method_round_t rd = s.rd;
    //  Worker 2's message with worker 1's coordinates: the server redraws S_2 and refuses it.
    cvec_t forged;
    assert_int_equal(cvec_init(&forged, DIM, DIM), MR_OK);
    forged.kind = CVEC_SPARSE;
    forged.nnz = 3;
    memcpy(forged.idx, s.out[1].idx, 3 * sizeof(uint32_t));
    memcpy(forged.val, s.out[2].val, 3 * sizeof(double));
    ups[2] = &forged;
    mr_err_t err;
    int same = memcmp(s.out[1].idx, s.out[2].idx, 3 * sizeof(uint32_t)) == 0;
    assert_int_equal(s.m->server_combine(s.server, &rd, ups, &err), same ? MR_OK : MR_EINVAL);
    if (!same)
        assert_non_null(strstr(err.text, "worker 2"));
    //  The refused round left the server where it was: the honest round still combines.
    ups[2] = &s.out[2];
    if (!same)
        assert_int_equal(s.m->server_combine(s.server, &rd, ups, &err), MR_OK);
    cvec_fini(&forged);
    sim_fini(&s);
}

//  resolve() with one bad key: MR_ECONFIG and err names the key.
static void
s_expect_refusal(const char *name, method_params_t mp, const char *key)
{
    method_consts_t pc = {.n = mp.n, .dim = DIM, .m = M, .L = 2.0, .L_avg = 2.0, .mu = 0.1};
    sim_assert_refuses(name, mp, &pc, key);
}

static void
test_resolve_refuses_bad_parameters(void **state)
{
    (void) state;
    const char *names[] = {"sega", "sega-biased", "cd"};
    for (size_t j = 0; j < 3; j++) {
        const char *nm = names[j];
        s_expect_refusal(nm, s_params(N, METHOD_SKETCH_COORDINATE, 0, NAN, 1), "'k'");
        s_expect_refusal(nm, s_params(N, METHOD_SKETCH_COORDINATE, DIM + 1, NAN, 1), "'k'");
        s_expect_refusal(nm, s_params(N, METHOD_SKETCH_COORDINATE, 3, -1.0, 1), "'gamma'");
        s_expect_refusal(nm, s_params(N, METHOD_SKETCH_COORDINATE, 3, INFINITY, 1), "'gamma'");
        s_expect_refusal(nm, s_params(N, 7, 3, NAN, 1), "'sketch'");
        s_expect_refusal(nm, s_params(0, METHOD_SKETCH_COORDINATE, 3, NAN, 1), "'n'");
        method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 3, NAN, 1);
        mp.reg = (prox_cfg_t){.kind = PROX_BALL, .radius = -1};
        s_expect_refusal(nm, mp, "'radius'");
    }
    s_expect_refusal("sega", s_params(N, METHOD_SKETCH_GAUSSIAN, 0, NAN, 1), "'sketch_b'");
    s_expect_refusal("sega", s_params(N, METHOD_SKETCH_GAUSSIAN, DIM + 1, NAN, 1), "'sketch_b'");
    s_expect_refusal("cd", s_params(N, METHOD_SKETCH_GAUSSIAN, 3, NAN, 1), "'sketch'");
}

static void
test_resolve_fills_the_theory_stepsize(void **state)
{
    (void) state;
    //  theta = 30/3 = 10, L = 2, mu = 0.1: min(1/(4 L theta), 1/(4 L (theta - 1) + theta mu)) =
    //  min(1/80, 1/73) = 1/80; Gaussian b = 5: theta = 6, min(1/48, 1/40.6) = 1/48.
    method_consts_t pc = {.n = N, .dim = DIM, .m = M, .L = 2.0, .L_avg = 2.0, .mu = 0.1};
    mr_err_t err;
    method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 3, NAN, 1);
    assert_int_equal(method_find("sega")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.gamma, 1.0 / 80.0, 1e-17);
    mp = s_params(N, METHOD_SKETCH_GAUSSIAN, 5, NAN, 1);
    assert_int_equal(method_find("sega-biased")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.gamma, 1.0 / 48.0, 1e-17);
    mp = s_params(N, METHOD_SKETCH_COORDINATE, 3, NAN, 1);
    assert_int_equal(method_find("cd")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.gamma, 0.5, 0);
    //  L = 1: theta = 2, mu = 1: min(1/8, 1/(4 + 2)) = 1/8; theta = 1.5, mu = 1:
    //  min(1/6, 1/(2 + 1.5)) = 1/6; with mu = 20 the first condition binds: 1/(2 + 30).
    assert_near(theory_sega_gamma(1.0, 1.0, 2.0), 1.0 / 8.0, 1e-17);
    assert_near(theory_sega_gamma(1.0, 1.0, 1.5), 1.0 / 6.0, 1e-17);
    assert_near(theory_sega_gamma(1.0, 20.0, 1.5), 1.0 / 32.0, 1e-17);
    //  A user's gamma is kept.
    mp = s_params(N, METHOD_SKETCH_COORDINATE, 3, 0.25, 1);
    assert_int_equal(method_find("sega")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.gamma, 0.25, 0);
}

//  The probabilities: sum_j p_j = K and p_j / L_jj the same for all j while none reaches 1;
//  water-filling above that; k = d gives 1; zero weights still get p_j > 0. Tolerances: a few
//  roundings of 30-term sums.
static void
test_importance_p_is_proportional_to_L_jj(void **state)
{
    fixture_t *fx = *state;
    double w[DIM], p[DIM];
    s_importance_p(fx, N, 2, w, p);
    double wmin = INFINITY, wmax = 0.0, sum = 0.0;
    for (size_t j = 0; j < DIM; j++) {
        wmin = fmin(wmin, w[j]);
        wmax = fmax(wmax, w[j]);
        sum += p[j];
        assert_true(p[j] > 0.0 && p[j] < 1.0);  // K = 2: nothing capped
        assert_near(p[j] / w[j], p[0] / w[0], 1e-12 * p[0] / w[0]);
    }
    assert_true(wmax > 20.0 * wmin);  // the skewed data: very unequal L_jj (0.11 to 3.5)
    assert_near(sum, 2.0, 1e-12);
    //  The launcher's formula: max over workers of max|l''| 1/m sum_t a_tj^2 + lambda.
    for (size_t j = 0; j < DIM; j++) {
        double wj = 0.0;
        for (size_t i = 0; i < N; i++) {
            double acc = 0.0;
            const csr_t *a = &fx->part[i];
            for (size_t t = 0; t < a->nnz; t++)
                acc += a->col[t] == j ? a->val[t] * a->val[t] : 0.0;
            wj = fmax(wj, acc / (double) a->rows + fx->lambda);
        }
        assert_near(w[j], wj, 1e-12 * wj);
    }

    //  K = 10: the three heavy columns want more than 1; capped, the rest share 7.
    s_importance_p(fx, N, 10, w, p);
    sum = 0.0;
    size_t ncap = 0, ref = DIM;
    for (size_t j = 0; j < DIM; j++) {
        sum += p[j];
        assert_true(p[j] > 0.0 && p[j] <= 1.0);
        if (p[j] == 1.0) {
            ncap++;
            continue;
        }
        if (ref == DIM)
            ref = j;
        assert_near(p[j] / w[j], p[ref] / w[ref], 1e-12 * p[ref] / w[ref]);
        assert_true(p[j] / w[j] * wmax > 1.0);  // capped ones would exceed 1 at this scale
    }
    assert_int_equal(ncap, 3);
    assert_near(sum, 10.0, 1e-12);

    double z[4] = {0.0, 1.0, 1.0, 1.0}, q[4];
    assert_int_equal(method_importance_p(z, 4, 2, q), MR_OK);
    assert_true(q[0] > 0.0 && q[0] < 1e-5);
    assert_near(q[0] + q[1] + q[2] + q[3], 2.0, 1e-12);
    double zeros[4] = {0};
    assert_int_equal(method_importance_p(zeros, 4, 1, q), MR_OK);
    for (size_t j = 0; j < 4; j++)
        assert_near(q[j], 0.25, 0);
    assert_int_equal(method_importance_p(z, 4, 4, q), MR_OK);
    for (size_t j = 0; j < 4; j++)
        assert_near(q[j], 1.0, 0);
    assert_int_equal(method_importance_p(z, 4, 0, q), MR_EINVAL);
    assert_int_equal(method_importance_p(z, 4, 5, q), MR_EINVAL);
    double bad[2] = {1.0, -1.0}, nan2[2] = {1.0, NAN};
    assert_int_equal(method_importance_p(bad, 2, 1, q), MR_EINVAL);
    assert_int_equal(method_importance_p(nan2, 2, 1, q), MR_EINVAL);
}

//  CD with importance coordinates, expected K = 2, T rounds: coordinate j is sent in about
//  p_j T rounds. Each round's draw is an independent Bernoulli(p_j) per coordinate (its own
//  stream), so the count has sd sqrt(T p_j (1 - p_j)): 5 of them (a p_j = 1 must be exact).
//  The sketch size varies, 0 included (then every worker sends an empty update and x stays);
//  CD's 1/L step never increases f; worker and server x agree bit for bit.
static void
test_importance_inclusion_frequencies_match_p(void **state)
{
    fixture_t *fx = *state;
    enum {
        T = 20000,
        K = 2
    };
    double w[DIM], p[DIM];
    s_importance_p(fx, N, K, w, p);
    method_params_t mp = s_params(N, METHOD_SKETCH_IMPORTANCE, K, NAN, 77);
    mp.coord_p = p;
    s_resolve("cd", &mp, fx->L, fx->lambda);
    assert_near(mp.gamma, 1.0 / fx->L, 0);
    sim_t s;
    s_sim_init(&s, "cd", &mp, fx, N, NULL);
    double count[DIM] = {0};
    size_t empty = 0, minsz = DIM, maxsz = 0;
    double f_prev = INFINITY;
    for (uint64_t k = 0; k < T; k++) {
        s_sim_round(&s, k);
        size_t nnz = s.out[0].nnz;
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(s.out[i].nnz, nnz);  // CD: one S for all workers
            assert_memory_equal(s.out[i].idx, s.out[0].idx, nnz * sizeof(uint32_t));
        }
        for (size_t t = 0; t < nnz; t++)
            count[s.out[0].idx[t]] += 1.0;
        empty += nnz == 0;
        minsz = nnz < minsz ? nnz : minsz;
        maxsz = nnz > maxsz ? nnz : maxsz;
        double f = 0.0;
        for (size_t i = 0; i < N; i++)
            f += s.report[i].f / N;
        assert_true(f <= f_prev + 1e-12 * fabs(f));
        f_prev = f;
    }
    for (size_t j = 0; j < DIM; j++) {
        double sd = sqrt(T * p[j] * (1.0 - p[j]));
        if (fabs(count[j] - T * p[j]) > 5.0 * sd)
            fail_msg("coordinate %zu: sent %g times in %d rounds, expected %g (5 sd = %g)", j,
                     count[j], T, T * p[j], 5.0 * sd);
    }
    print_message("importance cd: %zu empty rounds of %d, sizes %zu..%zu\n", empty, (int) T, minsz,
                  maxsz);
    assert_true(empty > 0 && maxsz > K);
    sim_assert_same_x(&s);
    sim_fini(&s);
}

//  The importance stepsize: resolve() takes theory_sega_importance_gamma(); at its sigma both
//  conditions hold for every j and the two sides meet (so no larger gamma satisfies them for
//  any sigma: min_j A_j grows with sigma, min_j B_j falls); uniform p is no worse than the
//  fixed-theta formula; p = 1 gives GD's limit 1/(2 L). Bad input: NAN.
static void
test_importance_stepsize_is_the_largest_the_theorem_allows(void **state)
{
    (void) state;
    double L = 2.0, mu = 0.1, p[DIM], sigma;
    for (size_t j = 0; j < DIM; j++)
        p[j] = j < 3 ? 1.0 : 0.02 + 0.01 * (double) j;
    method_consts_t pc = {.n = N, .dim = DIM, .m = M, .L = L, .L_avg = L, .mu = mu};
    mr_err_t err;
    double gamma = theory_sega_importance_gamma(L, mu, p, DIM, &sigma);
    assert_true(gamma > 0.0 && sigma > 0.0);
    const char *names[] = {"sega", "sega-biased"};
    for (size_t t = 0; t < 2; t++) {
        method_params_t mp = s_params(N, METHOD_SKETCH_IMPORTANCE, 3, NAN, 1);
        mp.coord_p = p;
        assert_int_equal(method_find(names[t])->resolve(&mp, &pc, &err), MR_OK);
        assert_near(mp.gamma, gamma, 0);
    }
    method_params_t mp = s_params(N, METHOD_SKETCH_IMPORTANCE, 3, NAN, 1);
    mp.coord_p = p;
    assert_int_equal(method_find("cd")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.gamma, 1.0 / L, 0);
    double amin = INFINITY, bmin = INFINITY;
    for (size_t j = 0; j < DIM; j++) {
        double a = sigma * p[j] * p[j] / (2.0 * (1.0 - p[j]) + sigma * mu * p[j]);
        double b = 0.5 * p[j] * (1.0 / L - sigma * p[j]);
        //  The theorem's conditions as written: gamma (2 (1/p_j - 1) + sigma mu) <= sigma p_j and
        //  2 gamma / p_j + sigma p_j <= 1/L.
        assert_true(gamma * (2.0 * (1.0 / p[j] - 1.0) + sigma * mu) <= sigma * p[j] * (1 + 1e-12));
        assert_true(2.0 * gamma / p[j] + sigma * p[j] <= (1.0 / L) * (1 + 1e-12));
        amin = fmin(amin, a);
        bmin = fmin(bmin, b);
    }
    assert_near(amin, bmin, 1e-9 * gamma);
    //  Uniform p = K/d with theta = d/K: at least the fixed-sigma formula.
    for (size_t K = 1; K <= DIM; K++) {
        double u[DIM];
        for (size_t j = 0; j < DIM; j++)
            u[j] = (double) K / DIM;
        double th = (double) DIM / (double) K;
        assert_true(theory_sega_importance_gamma(L, mu, u, DIM, NULL) >=
                    theory_sega_gamma(L, mu, th) * (1 - 1e-12));
    }
    double ones[DIM];
    for (size_t j = 0; j < DIM; j++)
        ones[j] = 1.0;
    assert_near(theory_sega_importance_gamma(L, mu, ones, DIM, NULL), 1.0 / (2.0 * L), 1e-15);
    assert_near(theory_sega_importance_gamma(L, 0.0, ones, DIM, NULL), 1.0 / (2.0 * L), 1e-15);
    ones[4] = 0.0;
    assert_true(isnan(theory_sega_importance_gamma(L, mu, ones, DIM, NULL)));
    ones[4] = 1.5;
    assert_true(isnan(theory_sega_importance_gamma(L, mu, ones, DIM, NULL)));
    assert_true(isnan(theory_sega_importance_gamma(0.0, mu, p, DIM, NULL)));
}

//  resolve() refuses importance coordinates where they do not apply or are incomplete.
static void
test_resolve_refuses_bad_importance_parameters(void **state)
{
    (void) state;
    double p[DIM];
    for (size_t j = 0; j < DIM; j++)
        p[j] = 0.1;
    method_params_t mp = s_params(N, METHOD_SKETCH_IMPORTANCE, 3, NAN, 1);
    mp.coord_p = p;
    double q[DIM * DIM] = {0};  // a valid basis, so that only the sketch is wrong
    for (size_t j = 0; j < DIM; j++)
        q[j * DIM + j] = 1.0;
    method_params_t sub = mp;
    sub.range_q = q;
    sub.range_rank = DIM;
    s_expect_refusal("sega-subspace", sub, "'sketch'");
    const char *names[] = {"sega", "sega-biased", "cd"};
    for (size_t t = 0; t < 3; t++) {
        method_params_t bad = mp;
        bad.comp.k = 0;
        s_expect_refusal(names[t], bad, "'k'");
        bad.comp.k = DIM + 1;
        s_expect_refusal(names[t], bad, "'k'");
        //  No probabilities, or one outside (0, 1]: the launcher's mistake, MR_EINVAL.
        method_consts_t pc = {.n = N, .dim = DIM, .m = M, .L = 2.0, .L_avg = 2.0, .mu = 0.1};
        mr_err_t err;
        bad = mp;
        bad.coord_p = NULL;
        assert_int_equal(method_find(names[t])->resolve(&bad, &pc, &err), MR_EINVAL);
        assert_non_null(strstr(err.text, "'sketch'"));
        p[7] = 0.0;
        bad = mp;
        assert_int_equal(method_find(names[t])->resolve(&bad, &pc, &err), MR_EINVAL);
        p[7] = 0.1;
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sega_methods_are_listed_with_prox),
        cmocka_unit_test(test_sketch_streams_never_meet_the_actors),
        cmocka_unit_test(test_resolve_refuses_bad_parameters),
        cmocka_unit_test(test_resolve_fills_the_theory_stepsize),
        cmocka_unit_test(test_importance_stepsize_is_the_largest_the_theorem_allows),
        cmocka_unit_test(test_resolve_refuses_bad_importance_parameters),
        cmocka_unit_test_setup_teardown(test_importance_p_is_proportional_to_L_jj, s_setup_skewed,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_importance_inclusion_frequencies_match_p,
                                        s_setup_skewed, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_estimator_is_unbiased_importance, s_setup_skewed,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_full_importance_sketch_is_prox_gd, s_setup_skewed,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_meets_the_theorem_rate_importance,
                                        s_setup_skewed_conditioned, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_estimator_is_unbiased_coordinate, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_estimator_is_unbiased_gaussian, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(
            test_sketch_and_project_matches_the_sketched_gradient_coordinate, s_setup,
            sim_data_teardown),
        cmocka_unit_test_setup_teardown(
            test_sketch_and_project_matches_the_sketched_gradient_gaussian, s_setup,
            sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_full_coordinate_sketch_is_prox_gd, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_full_gaussian_sketch_is_prox_gd, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_meets_the_theorem_rate_coordinate,
                                        s_setup_conditioned, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sega_meets_the_theorem_rate_gaussian,
                                        s_setup_conditioned, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_iterates_never_leave_the_constraint, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_cd_converges, s_setup_conditioned, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_server_refuses_an_update_of_another_sketch, s_setup,
                                        sim_data_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
