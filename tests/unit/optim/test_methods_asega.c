//  test_methods_asega.c - method.h: accelerated coordinate descent (acd) and accelerated SEGA
//  (asega) (method_asega.c), and random direct search (rds) (method_rds.c), driven in-process
//  through the round protocol, against their invariants and theorems (docs/cli.md).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "method.h"
#include "method_impl.h"
#include "solve.h"
#include "theory.h"
#include "sim.h"

enum {
    N = 4,
    ROWS = 803,
    DIM = 30,
    M = ROWS / N,  // samples per worker: 200
};

typedef sim_data_t fixture_t;

//  Least squares plus lambda/2 |x|^2 on a heterogeneous synthetic set: mu = lambda is a lower
//  bound on the strong convexity of f (and of every f_i).
static int
s_setup(void **state)
{
    *state = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_QUADRATIC, 0.1);
    return 0;
}

//  Fewer rows (24) than features (30): A^T A is singular, so mu = lambda exactly, the constant
//  the theory is given (one worker). The rate tests run here.
static int
s_setup_flat(void **state)
{
    *state = sim_data_new(24, DIM, 0.3, 1, 17, LOSS_QUADRATIC, 0.05);
    return 0;
}

//  L_jj as the launcher computes it (launch/experiment.c): max over the n losses (n = 1: f) of
//  loss_coord_smoothness().
static void
s_coord_L(const fixture_t *fx, size_t n, double *w)
{
    double wi[DIM];
    for (size_t j = 0; j < DIM; j++)
        w[j] = 0.0;
    for (size_t i = 0; i < n; i++) {
        loss_coord_smoothness(n == 1 ? &fx->f : &fx->loss[i], wi);
        for (size_t j = 0; j < DIM; j++)
            w[j] = fmax(w[j], wi[j]);
    }
}

static method_params_t
s_params(
    size_t n, int sketch, size_t k, const double *coord_L, const double *coord_p, uint64_t seed)
{
    return (method_params_t){.n = n,
                             .dim = DIM,
                             .m = n == 1 ? N * M : M,
                             .gamma = NAN,
                             .p = NAN,
                             .alpha = NAN,
                             .comp = {.kind = COMP_IDENTITY, .k = k},
                             .sketch = sketch,
                             .sketch_b = 1,
                             .seed = seed,
                             .coord_L = coord_L,
                             .coord_p = coord_p};
}

static void
s_resolve(const char *name, method_params_t *mp, double L, double mu)
{
    method_consts_t pc = {.n = mp->n, .dim = DIM, .m = mp->m, .L = L, .L_avg = L, .mu = mu};
    mr_err_t err;
    mr_err_clear(&err);
    if (method_find(name)->resolve(mp, &pc, &err) != MR_OK)
        fail_msg("%s: resolve: %s", name, err.text);
}

static void
s_sim_init(sim_t *s, const char *name, const method_params_t *mp, fixture_t *fx, size_t n)
{
    sim_init(s, name, mp, n == 1 ? &fx->f : fx->loss, NULL, mp->seed);
}

//  f* and x* of f (the union of the shards).
static double
s_fstar(fixture_t *fx, vec_t *xs)
{
    double fstar;
    mr_err_t err;
    assert_int_equal(vec_init(xs, DIM), MR_OK);
    assert_int_equal(solve_minimize(&fx->f, 1, xs, 1e-26, 100000, xs, &fstar, &err), MR_OK);
    return fstar;
}

//  ----------------------------------------------------------------------------------------------

static void
test_methods_are_listed_without_prox(void **state)
{
    (void) state;
    const char *names[] = {"acd", "asega", "rds"};
    for (size_t i = 0; i < 3; i++) {
        const method_t *m = sim_assert_listed_once(names[i]);
        assert_int_equal(m->allows_prox, 0);
        assert_int_equal(m->uses_compressor, 0);
        assert_int_equal(m->accel_coords, i < 2);
        assert_int_equal(m->samples_coords, i < 2);
        assert_int_equal(m->sketched, i == 2);
    }
}

//  nu = max_j v_j / p_j^2 with the ESO of K uniform coordinates, v_j = (1 - beta) L_jj + beta L,
//  beta = (K - 1)/(d - 1); tau solves (1 - tau) mu = tau^2 nu', eta tau nu' = 1, nu' = nu for ACD
//  and 9.8^2 nu for ASEGA.
static void
test_resolve_fills_the_theory_parameters(void **state)
{
    fixture_t *fx = *state;
    double Ljj[DIM];
    s_coord_L(fx, N, Ljj);
    const size_t ks[] = {1, 4, DIM};
    for (size_t c = 0; c < 3; c++) {
        size_t k = ks[c];
        double beta = (double) (k - 1) / (DIM - 1), pj = (double) k / DIM, nu = 0.0;
        for (size_t j = 0; j < DIM; j++)
            nu = fmax(nu, ((1 - beta) * Ljj[j] + beta * fx->L) / (pj * pj));
        for (int accel = 0; accel < 2; accel++) {
            method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, k, Ljj, NULL, 1);
            s_resolve(accel ? "asega" : "acd", &mp, fx->L, fx->lambda);
            double nu_eff = accel ? 9.8 * 9.8 * nu : nu;
            assert_near(mp.L_smooth, fx->L, 0);
            assert_near(mp.mu, fx->lambda, 0);
            assert_true(mp.tau > 0 && mp.tau < 1);
            assert_near((1 - mp.tau) * fx->lambda / (mp.tau * mp.tau * nu_eff), 1.0, 1e-12);
            assert_near(mp.gamma * mp.tau * nu_eff, 1.0, 1e-12);
        }
    }
    //  Importance: v_j = (1 - p_j) L_jj + p_j L.
    double p[DIM], w[DIM];
    for (size_t j = 0; j < DIM; j++)
        w[j] = sqrt(Ljj[j]);
    assert_int_equal(method_importance_p(w, DIM, 3, p), MR_OK);
    method_params_t mp = s_params(N, METHOD_SKETCH_IMPORTANCE, 3, Ljj, p, 1);
    s_resolve("acd", &mp, fx->L, fx->lambda);
    double nu = 0.0;
    for (size_t j = 0; j < DIM; j++)
        nu = fmax(nu, ((1 - p[j]) * Ljj[j] + p[j] * fx->L) / (p[j] * p[j]));
    assert_near(mp.gamma * mp.tau * nu, 1.0, 1e-12);
    //  Single (one coordinate drawn from p, sum 1): v_j = L_jj, so with p_j ~ sqrt(L_jj)
    //  nu = (sum_j sqrt(L_jj))^2, the slides' importance rate; asega's is 9.8^2 that.
    double sum_sqrt = 0.0;
    for (size_t j = 0; j < DIM; j++)
        sum_sqrt += w[j];
    assert_int_equal(method_importance_p(w, DIM, 1, p), MR_OK);
    for (int accel = 0; accel < 2; accel++) {
        method_params_t one = s_params(N, METHOD_SKETCH_SINGLE, 1, Ljj, p, 1);
        s_resolve(accel ? "asega" : "acd", &one, fx->L, fx->lambda);
        double want = (accel ? 9.8 * 9.8 : 1.0) * sum_sqrt * sum_sqrt;
        assert_near(one.gamma * one.tau * want, 1.0, 1e-9);
        assert_near((1 - one.tau) * fx->lambda / (one.tau * one.tau * want), 1.0, 1e-9);
    }
}

static void
test_resolve_refuses_bad_parameters(void **state)
{
    fixture_t *fx = *state;
    double Ljj[DIM];
    s_coord_L(fx, N, Ljj);
    method_consts_t pc = {.n = N, .dim = DIM, .m = M, .L = fx->L, .L_avg = fx->L, .mu = 0.1};
    const char *names[] = {"acd", "asega"};
    for (size_t i = 0; i < 2; i++) {
        method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 2, Ljj, NULL, 1);
        method_params_t bad = mp;
        bad.gamma = 0.1;
        sim_assert_refuses(names[i], bad, &pc, "gamma");
        bad = mp;
        bad.sketch = METHOD_SKETCH_GAUSSIAN;
        sim_assert_refuses(names[i], bad, &pc, "sketch");
        bad = mp;
        bad.comp.k = DIM + 1;
        sim_assert_refuses(names[i], bad, &pc, "'k'");
        bad = mp;
        bad.reg = (prox_cfg_t){.kind = PROX_BALL, .radius = 1};
        sim_assert_refuses(names[i], bad, &pc, "reg");
        method_consts_t flat = pc;
        flat.mu = 0;  // no strong convexity known: the theorem does not apply
        sim_assert_refuses(names[i], mp, &flat, "lambda");
        mr_err_t err;
        bad = mp;
        bad.coord_L = NULL;
        assert_int_equal(method_find(names[i])->resolve(&bad, &pc, &err), MR_EINVAL);
        assert_non_null(strstr(err.text, "L_jj"));
    }
    //  Single: k = 1 and probabilities that sum to 1.
    double p[DIM];
    for (size_t j = 0; j < DIM; j++)
        p[j] = 1.0 / DIM;
    for (size_t i = 0; i < 2; i++) {
        method_params_t one = s_params(N, METHOD_SKETCH_SINGLE, 1, Ljj, p, 1), bad = one;
        bad.comp.k = 2;
        sim_assert_refuses(names[i], bad, &pc, "k = 1");
        double half[DIM];
        for (size_t j = 0; j < DIM; j++)
            half[j] = 0.5 / DIM;
        bad = one;
        bad.coord_p = half;
        mr_err_t err;
        assert_int_equal(method_find(names[i])->resolve(&bad, &pc, &err), MR_EINVAL);
        assert_non_null(strstr(err.text, "sum"));
        bad = one;
        bad.coord_p = NULL;
        assert_int_equal(method_find(names[i])->resolve(&bad, &pc, &err), MR_EINVAL);
        assert_non_null(strstr(err.text, "single"));
    }
    method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 1, NULL, NULL, 1);
    mp.reg = (prox_cfg_t){.kind = PROX_L1, .lambda1 = 0.1};
    sim_assert_refuses("rds", mp, &pc, "reg");
}

//  sketch = single: every round each worker sends one coordinate, the same for all, of its own
//  gradient; over R rounds coordinate j is drawn with frequency p_j (within 5 standard errors for
//  every j, p_j ~ sqrt(L_jj) here, so the frequencies differ).
static void
test_single_draws_one_coordinate_with_probability_p(void **state)
{
    fixture_t *fx = *state;
    enum {
        R = 4000
    };
    double Ljj[DIM], w[DIM], p[DIM], gi[DIM];
    s_coord_L(fx, N, Ljj);
    for (size_t j = 0; j < DIM; j++)
        w[j] = sqrt(Ljj[j]);
    assert_int_equal(method_importance_p(w, DIM, 1, p), MR_OK);
    const char *names[] = {"acd", "asega"};
    for (size_t c = 0; c < 2; c++) {
        method_params_t mp = s_params(N, METHOD_SKETCH_SINGLE, 1, Ljj, p, 13);
        s_resolve(names[c], &mp, fx->L, fx->lambda);
        sim_t s;
        s_sim_init(&s, names[c], &mp, fx, N);
        double count[DIM] = {0};
        for (uint64_t k = 0; k < R; k++) {
            sim_round_everyone(&s, k);
            uint32_t j = s.out[0].idx[0];
            assert_true(j < DIM);
            count[j] += 1;
            for (size_t i = 0; i < N; i++) {
                assert_int_equal(s.out[i].nnz, 1);
                assert_int_equal(s.out[i].idx[0], j);
                if (k % 500 == 0) {
                    loss_value_grad(&fx->loss[i], s.m->worker_x(s.worker[i]), &(vec_t){DIM, gi});
                    assert_near(s.out[i].val[0], gi[j], 0);
                }
            }
        }
        sim_assert_same_x(&s);
        for (size_t j = 0; j < DIM; j++)
            assert_true(fabs(count[j] / R - p[j]) <= 5.0 * sqrt(p[j] * (1 - p[j]) / R));
        sim_fini(&s);
    }
}

//  With all d coordinates (K = d, p_j = 1, v_j = L) ACD is Nesterov's accelerated gradient for
//  strongly convex f: a reference written here from the header's three lines, with the resolved
//  tau and eta, is matched to rounding; ASEGA with K = d too (h = grad f, G = grad f).
static void
test_all_coordinates_is_nesterov_agd(void **state)
{
    fixture_t *fx = *state;
    double Ljj[DIM];
    s_coord_L(fx, 1, Ljj);
    const char *names[] = {"acd", "asega"};
    for (size_t c = 0; c < 2; c++) {
        method_params_t mp = s_params(1, METHOD_SKETCH_COORDINATE, DIM, Ljj, NULL, 5);
        s_resolve(names[c], &mp, fx->L_f, fx->lambda);
        sim_t s;
        s_sim_init(&s, names[c], &mp, fx, 1);
        vec_t x, y, z, g;
        assert_int_equal(vec_init(&x, DIM), MR_OK);
        assert_int_equal(vec_init(&y, DIM), MR_OK);
        assert_int_equal(vec_init(&z, DIM), MR_OK);
        assert_int_equal(vec_init(&g, DIM), MR_OK);
        double em = mp.gamma * fx->lambda;
        for (uint64_t k = 0; k <= 60; k++) {
            sim_round_everyone(&s, k);
            sim_assert_same_x(&s);
            sim_assert_x_near(&s, &x, 1e-12 * (1 + sqrt(vec_norm_sq(&x))));
            loss_value_grad(&fx->f, &x, &g);
            for (size_t j = 0; j < DIM; j++) {
                y.x[j] = x.x[j] - g.x[j] / fx->L_f;
                z.x[j] = (z.x[j] + em * x.x[j] - mp.gamma * g.x[j]) / (1 + em);
                x.x[j] = mp.tau * z.x[j] + (1 - mp.tau) * y.x[j];
            }
        }
        vec_fini(&x);
        vec_fini(&y);
        vec_fini(&z);
        vec_fini(&g);
        sim_fini(&s);
    }
}

//  Every worker sends the same K coordinates S_k (drawn from method_cd_stream(k)) of its own
//  grad f_i(x^k), x^k the coupling point every actor holds bit for bit.
static void
test_updates_are_coordinates_of_the_local_gradient(void **state)
{
    fixture_t *fx = *state;
    double Ljj[DIM], gi[DIM];
    s_coord_L(fx, N, Ljj);
    const char *names[] = {"acd", "asega"};
    for (size_t c = 0; c < 2; c++) {
        enum {
            K = 5
        };
        method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, K, Ljj, NULL, 9);
        s_resolve(names[c], &mp, fx->L, fx->lambda);
        sim_t s;
        s_sim_init(&s, names[c], &mp, fx, N);
        for (uint64_t k = 0; k <= 40; k++) {
            sim_round_everyone(&s, k);
            sim_assert_same_x(&s);
            uint32_t want[K];
            uint8_t marks[DIM] = {0};
            rng_t r;
            rng_seed(&r, mp.seed, method_cd_stream(k));
            rng_sample_k(&r, DIM, K, want, marks);
            for (size_t i = 0; i < N; i++) {
                assert_int_equal(s.report[i].oracle_calls, M);
                assert_int_equal(s.out[i].nnz, K);
                assert_int_equal(s.out[i].enc, CVEC_ENC_RAW);
                loss_value_grad(&fx->loss[i], s.m->worker_x(s.worker[i]), &(vec_t){DIM, gi});
                for (size_t t = 0; t < K; t++) {
                    assert_int_equal(s.out[i].idx[t], want[t]);
                    assert_near(s.out[i].val[t], gi[want[t]], 0);
                }
            }
        }
        sim_fini(&s);
    }
}


//  Two runs with the same mp.seed (the shared stream of S_k or s_k) agree bit for bit, a third
//  with another seed does not.
static void
s_assert_seed_decides(const char *name, method_params_t mp, fixture_t *fx)
{
    sim_t a, b, c;
    s_sim_init(&a, name, &mp, fx, N);
    s_sim_init(&b, name, &mp, fx, N);
    mp.seed++;
    s_sim_init(&c, name, &mp, fx, N);
    for (uint64_t k = 0; k <= 20; k++) {
        sim_round_everyone(&a, k);
        sim_round_everyone(&b, k);
        sim_round_everyone(&c, k);
    }
    assert_memory_equal(sim_x(&a)->x, sim_x(&b)->x, DIM * sizeof(double));
    sim_assert_same_x(&a);
    assert_true(vec_max_abs_diff(sim_x(&a), sim_x(&c)) > 0.0);
    sim_fini(&a);
    sim_fini(&b);
    sim_fini(&c);
}

static void
test_seed_decides_the_run(void **state)
{
    fixture_t *fx = *state;
    double Ljj[DIM];
    s_coord_L(fx, N, Ljj);
    const char *names[] = {"acd", "asega"};
    for (size_t c = 0; c < 2; c++) {
        method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 2, Ljj, NULL, 3);
        s_resolve(names[c], &mp, fx->L, fx->lambda);
        s_assert_seed_decides(names[c], mp, fx);
    }
    method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 1, NULL, NULL, 3);
    s_resolve("rds", &mp, fx->L, fx->lambda);
    s_assert_seed_decides("rds", mp, fx);
}

//  The rate on a quadratic with known L (L_jj exact, K = 1: v_j = L_jj) and mu = lambda (a lower
//  bound): the theorem's E[Psi^k] <= (1 - tau)^k Psi^0 for Psi = f(y) - f* + mu/2 |z - x*|^2,
//  read at the coupling point x = tau z + (1 - tau) y (convexity and L-smoothness):
//  f(x) - f* <= max(1, tau L / mu) Psi. S = 12 seeds; the mean gap after T rounds must be below
//  the bound plus 5 standard errors.
static void
s_assert_rate(fixture_t *fx, const char *name, int sketch, const double *p, const char *what)
{
    enum {
        S = 12
    };
    double Ljj[DIM];
    s_coord_L(fx, 1, Ljj);
    vec_t xs;
    double fstar = s_fstar(fx, &xs);
    double f0 = loss_value(&fx->f, &(vec_t){DIM, (double[DIM]){0}}) - fstar;
    double psi0 = f0 + 0.5 * fx->lambda * vec_norm_sq(&xs);
    double sum = 0, sq = 0, bound = 0;
    uint64_t rounds = 0;
    for (uint64_t seed = 1; seed <= S; seed++) {
        method_params_t mp = s_params(1, sketch, 1, Ljj, p, seed);
        s_resolve(name, &mp, fx->L_f, fx->lambda);
        rounds = (uint64_t) ceil(log(1e3) / mp.tau);
        bound = pow(1 - mp.tau, (double) rounds) * psi0 * fmax(1, mp.tau * fx->L_f / fx->lambda);
        sim_t s;
        s_sim_init(&s, name, &mp, fx, 1);
        for (uint64_t k = 0; k <= rounds; k++)
            sim_round_everyone(&s, k);
        double gap = loss_value(&fx->f, sim_x(&s)) - fstar;
        sum += gap;
        sq += gap * gap;
        sim_fini(&s);
    }
    double mean = sum / S, se = sqrt(fmax(0.0, (sq - S * mean * mean) / (S - 1)) / S);
    print_message("%s (%s): %llu rounds, gap %.3g -> %.3g (bound %.3g)\n", name, what,
                  (unsigned long long) rounds, f0, mean, bound);
    assert_true(mean <= bound + 5.0 * se);
    assert_true(mean < 1e-2 * f0);  // and it did converge
    vec_fini(&xs);
}

static void
test_acd_and_asega_converge_at_the_theorem_rate(void **state)
{
    fixture_t *fx = *state;
    s_assert_rate(fx, "acd", METHOD_SKETCH_COORDINATE, NULL, "uniform");
    s_assert_rate(fx, "asega", METHOD_SKETCH_COORDINATE, NULL, "uniform");
    double Ljj[DIM], w[DIM], p[DIM];
    s_coord_L(fx, 1, Ljj);
    for (size_t j = 0; j < DIM; j++)
        w[j] = sqrt(Ljj[j]);
    assert_int_equal(method_importance_p(w, DIM, 1, p), MR_OK);
    s_assert_rate(fx, "acd", METHOD_SKETCH_IMPORTANCE, p, "p ~ sqrt(L_jj)");
    s_assert_rate(fx, "asega", METHOD_SKETCH_IMPORTANCE, p, "p ~ sqrt(L_jj)");
    s_assert_rate(fx, "acd", METHOD_SKETCH_SINGLE, p, "single, p ~ sqrt(L_jj)");
    s_assert_rate(fx, "asega", METHOD_SKETCH_SINGLE, p, "single, p ~ sqrt(L_jj)");
}

//  RDS: s_k on the unit sphere, one coefficient d_i = the central difference of f_i along s_k,
//  2 m function values per worker; the server's g^k = (1/n sum d_i) s_k; on a quadratic f never
//  increases (the step d/L along s is a descent step for L >= s^T Hess s), and
//  E f(x^{k+1}) - f* <= (1 - mu/(d L)) (f(x^k) - f*).
static void
test_rds_steps_along_the_difference_quotient(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 1, NULL, NULL, 7);
    s_resolve("rds", &mp, fx->L, fx->lambda);
    assert_near(mp.gamma, 1.0 / fx->L, 0);
    sim_t s;
    s_sim_init(&s, "rds", &mp, fx, N);
    vec_t dir, gi;
    assert_int_equal(vec_init(&dir, DIM), MR_OK);
    assert_int_equal(vec_init(&gi, DIM), MR_OK);
    double f_prev = INFINITY;
    for (uint64_t k = 0; k <= 200; k++) {
        sim_round_everyone(&s, k);
        sim_assert_same_x(&s);
        rng_t r;
        rng_seed(&r, mp.seed, method_cd_stream(k));
        for (size_t j = 0; j < DIM; j++)
            dir.x[j] = rng_normal(&r);
        vec_scale(&dir, 1.0 / sqrt(vec_norm_sq(&dir)));
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(s.report[i].oracle_calls, 2 * M);
            assert_int_equal(s.report[i].have_eval, 0);
            assert_int_equal(s.out[i].enc, CVEC_ENC_SKETCH);
            assert_int_equal(s.out[i].nnz, 1);
            loss_value_grad(&fx->loss[i], s.m->worker_x(s.worker[i]), &gi);
            double dd = vec_dot(&gi, &dir);  // the exact directional derivative
            assert_near(s.out[i].val[0], dd, 1e-6 * (1 + fabs(dd)));
        }
        double f = loss_value(&fx->f, sim_x(&s));
        assert_true(f <= f_prev + 1e-12 * fabs(f_prev));
        f_prev = f;
    }
    vec_fini(&dir);
    vec_fini(&gi);
    sim_fini(&s);
}

static void
test_rds_converges_at_its_rate(void **state)
{
    fixture_t *fx = *state;
    enum {
        S = 12
    };
    vec_t xs;
    double fstar = s_fstar(fx, &xs);
    double f0 = loss_value(&fx->f, &(vec_t){DIM, (double[DIM]){0}}) - fstar;
    double rate = 1 - fx->lambda / (DIM * fx->L_f);
    uint64_t rounds = (uint64_t) ceil(log(20.0) / -log(rate));
    double sum = 0, sq = 0;
    for (uint64_t seed = 1; seed <= S; seed++) {
        method_params_t mp = s_params(1, METHOD_SKETCH_COORDINATE, 1, NULL, NULL, seed);
        s_resolve("rds", &mp, fx->L_f, fx->lambda);
        sim_t s;
        s_sim_init(&s, "rds", &mp, fx, 1);
        for (uint64_t k = 0; k <= rounds; k++)
            sim_round_everyone(&s, k);
        double gap = loss_value(&fx->f, sim_x(&s)) - fstar;
        sum += gap;
        sq += gap * gap;
        sim_fini(&s);
    }
    double mean = sum / S, se = sqrt(fmax(0.0, (sq - S * mean * mean) / (S - 1)) / S);
    double bound = pow(rate, (double) rounds) * f0;
    print_message("rds: %llu rounds, gap %.3g -> %.3g (bound %.3g)\n", (unsigned long long) rounds,
                  f0, mean, bound);
    assert_true(mean <= bound + 5.0 * se);
    vec_fini(&xs);
}

static void
test_combine_rejects_the_wrong_coordinates(void **state)
{
    fixture_t *fx = *state;
    double Ljj[DIM];
    s_coord_L(fx, N, Ljj);
    method_params_t mp = s_params(N, METHOD_SKETCH_COORDINATE, 3, Ljj, NULL, 2);
    s_resolve("asega", &mp, fx->L, fx->lambda);
    sim_t s;
    s_sim_init(&s, "asega", &mp, fx, N);
    sim_round_everyone(&s, 0);
    const cvec_t *ups[SIM_MAXN];
    sim_step_workers(&s, 1, ups);
    vec_t before;
    assert_int_equal(vec_init(&before, DIM), MR_OK);
    vec_copy(&before, sim_x(&s));
    s.out[2].idx[0] = (s.out[2].idx[0] + 1) % DIM;
    mr_err_t err;
    assert_int_equal(s.m->server_combine(s.server, &s.rd, ups, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "worker 2"));
    assert_memory_equal(before.x, sim_x(&s)->x, DIM * sizeof(double));
    vec_fini(&before);
    sim_fini(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods_are_listed_without_prox),
        cmocka_unit_test_setup_teardown(test_resolve_fills_the_theory_parameters, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_refuses_bad_parameters, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_all_coordinates_is_nesterov_agd, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_updates_are_coordinates_of_the_local_gradient, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_seed_decides_the_run, s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_single_draws_one_coordinate_with_probability_p,
                                        s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_acd_and_asega_converge_at_the_theorem_rate,
                                        s_setup_flat, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_rds_steps_along_the_difference_quotient, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_rds_converges_at_its_rate, s_setup_flat,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_combine_rejects_the_wrong_coordinates, s_setup,
                                        sim_data_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
