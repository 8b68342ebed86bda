//  test_methods_sega_subspace.c - method.h: subspace SEGA (method_sega.c, the slides' "Variants
//  of SEGA", 3), driven in-process through the round protocol on low-rank data, where
//  grad f(x) lies in Range(A^T) of dimension r < d.
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
    RANK = 4,      // feature directions; with the bias column Range(A^T) has dimension 5
    M = ROWS / N,  // samples per worker: 200
};

//  data_synthetic_lowrank(ROWS, DIM, RANK) split among N workers, f_i least squares plus
//  lambda/2 |x|^2, f over the union of the parts (the one worker of the n = 1 tests), and the
//  orthonormal basis U of Range(A^T) of that union, as the launcher computes it.
typedef struct {
    double lambda;
    csr_t all, used, part[N];
    loss_t loss[N], f;
    double L;    // sqrt(1/n sum_i L_i^2)
    double L_f;  // the smoothness bound of f
    double *q;   // U, row-major DIM x r
    size_t r;
} fixture_t;

static int
s_setup_lambda(void **state, double lambda)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->lambda = lambda;
    assert_int_equal(data_synthetic_lowrank(ROWS, DIM, RANK, N, 31, &fx->all, NULL), MR_OK);
    double Li[N];
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(csr_split_part(&fx->all, N, i, &fx->part[i], NULL), MR_OK);
        assert_int_equal(loss_init(&fx->loss[i], LOSS_QUADRATIC, lambda, &fx->part[i], NULL),
                         MR_OK);
        Li[i] = loss_smoothness(&fx->loss[i]);
    }
    fx->L = theory_mean_sq_L(Li, N);
    assert_int_equal(csr_slice(&fx->all, 0, N * M, &fx->used), MR_OK);
    assert_int_equal(loss_init(&fx->f, LOSS_QUADRATIC, lambda, &fx->used, NULL), MR_OK);
    fx->L_f = loss_smoothness(&fx->f);
    assert_int_equal(data_row_space(&fx->used, 1e-10, &fx->q, &fx->r, NULL), MR_OK);
    assert_int_equal(fx->r, RANK + 1);
    *state = fx;
    return 0;
}

static int
s_setup(void **state)
{
    return s_setup_lambda(state, 0.1);
}

//  Nearly the slides' setting for the comparison: least squares, a small lambda.
static int
s_setup_small_lambda(void **state)
{
    return s_setup_lambda(state, 0.01);
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    for (size_t i = 0; i < N; i++)
        csr_fini(&fx->part[i]);
    csr_fini(&fx->used);
    csr_fini(&fx->all);
    free(fx->q);
    free(fx);
    return 0;
}

static method_params_t
s_params(const fixture_t *fx, size_t n, size_t b, double gamma, uint64_t seed)
{
    return (method_params_t){.n = n,
                             .dim = DIM,
                             .m = n == 1 ? N * M : M,
                             .gamma = gamma,
                             .p = NAN,
                             .alpha = NAN,
                             .comp = {.kind = COMP_IDENTITY, .k = b},
                             .sketch = METHOD_SKETCH_GAUSSIAN,
                             .sketch_b = b,
                             .seed = seed,
                             .range_q = fx->q,
                             .range_rank = fx->r};
}

static void
s_resolve(const char *name, method_params_t *mp, double L, double mu)
{
    method_consts_t pc = {.n = mp->n, .dim = DIM, .m = mp->m, .L = L, .L_avg = L, .mu = mu};
    mr_err_t err;
    if (method_find(name)->resolve(mp, &pc, &err) != MR_OK)
        fail_msg("%s: %s", name, err.text);
}

static void
s_sim_init(sim_t *s, const char *name, const method_params_t *mp, fixture_t *fx, const vec_t *x0)
{
    sim_init(s, name, mp, mp->n == 1 ? &fx->f : fx->loss, x0, mp->seed);
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

//  |v - U U^T v|.
static double
s_dist_to_range(const fixture_t *fx, const vec_t *v)
{
    size_t r = fx->r;
    double c[DIM] = {0}, res = 0.0;
    for (size_t l = 0; l < r; l++)
        for (size_t t = 0; t < DIM; t++)
            c[l] += fx->q[t * r + l] * v->x[t];
    for (size_t t = 0; t < DIM; t++) {
        double p = 0.0;
        for (size_t l = 0; l < r; l++)
            p += fx->q[t * r + l] * c[l];
        res += (v->x[t] - p) * (v->x[t] - p);
    }
    return sqrt(res);
}

//  x = U c for fixed c: a point of Range(A^T) away from 0.
static void
s_point_in_range(const fixture_t *fx, vec_t *x)
{
    vec_zero(x);
    for (size_t l = 0; l < fx->r; l++)
        for (size_t t = 0; t < DIM; t++)
            x->x[t] += 0.1 * (double) ((int) l - 2) * fx->q[t * fx->r + l];
}

//  S^T v for the Gaussian sketch of worker i in round k, redrawn as method_impl.h documents it.
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
test_sega_subspace_is_listed_and_needs_the_range(void **state)
{
    (void) state;
    const method_t *m = sim_assert_listed_once("sega-subspace");
    assert_int_equal(m->needs_range, 1);
    assert_int_equal(m->sketched, 1);
    assert_int_equal(m->allows_prox, 1);
    assert_int_equal(m->uses_compressor, 0);
    const char *others[] = {"sega", "sega-biased", "cd", "gd", "marina"};
    for (size_t j = 0; j < 5; j++)
        assert_int_equal(method_find(others[j])->needs_range, 0);
}

//  resolve() with one bad key: MR_ECONFIG and err names the key.
static void
s_expect_refusal(method_params_t mp, const char *key)
{
    method_consts_t pc = {.n = mp.n, .dim = DIM, .m = M, .L = 2.0, .L_avg = 2.0, .mu = 0.1};
    sim_assert_refuses("sega-subspace", mp, &pc, key);
}

static void
test_resolve_refuses_what_leaves_the_range(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_params(fx, N, 2, NAN, 1);
    mp.sketch = METHOD_SKETCH_COORDINATE;  // no closed-form theta
    s_expect_refusal(mp, "'sketch'");
    mp = s_params(fx, N, 2, NAN, 1);
    mp.reg = (prox_cfg_t){.kind = PROX_L1, .lambda1 = 0.1};
    s_expect_refusal(mp, "'reg'");
    mp.reg = (prox_cfg_t){.kind = PROX_BOX, .lo = -1, .hi = 1};
    s_expect_refusal(mp, "'reg'");
    s_expect_refusal(s_params(fx, N, 0, NAN, 1), "'sketch_b'");
    s_expect_refusal(s_params(fx, N, DIM + 1, NAN, 1), "'sketch_b'");
    s_expect_refusal(s_params(fx, N, 2, -1.0, 1), "'gamma'");
    s_expect_refusal(s_params(fx, 0, 2, NAN, 1), "'n'");
    //  Without the basis (a launcher that ignored needs_range): refused, not a crash.
    mp = s_params(fx, N, 2, NAN, 1);
    mp.range_q = NULL;
    method_consts_t pc = {.n = N, .dim = DIM, .m = M, .L = 2.0, .L_avg = 2.0, .mu = 0.1};
    mr_err_t err;
    assert_int_equal(method_find("sega-subspace")->resolve(&mp, &pc, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "Range(A^T)"));
    //  none, l2 and ball keep x in the range: accepted.
    prox_cfg_t ok[] = {
        {.kind = PROX_NONE}, {.kind = PROX_L2, .lambda2 = 0.1}, {.kind = PROX_BALL, .radius = 1.0}};
    for (size_t j = 0; j < 3; j++) {
        mp = s_params(fx, N, 2, NAN, 1);
        mp.reg = ok[j];
        assert_int_equal(method_find("sega-subspace")->resolve(&mp, &pc, &err), MR_OK);
    }
}

static void
test_resolve_fills_the_theory_stepsize_with_theta_r_over_b(void **state)
{
    fixture_t *fx = *state;
    method_consts_t pc = {.n = N, .dim = DIM, .m = M, .L = 2.0, .L_avg = 2.0, .mu = 0.1};
    mr_err_t err;
    //  r = 5, b = 2: theta = 2.5, min(1/(4 L theta), 1/(4 L (theta - 1) + theta mu)) =
    //  min(1/20, 1/12.25) = 1/20 (SEGA's theta would be d/b = 15).
    method_params_t mp = s_params(fx, N, 2, NAN, 1);
    assert_int_equal(method_find("sega-subspace")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.gamma, 1.0 / 20.0, 1e-17);
    //  b = 8 > r: every sketch pins h to the gradient, theta = 1: min(1/8, 1/0.1) = 1/8.
    mp = s_params(fx, N, 8, NAN, 1);
    assert_int_equal(method_find("sega-subspace")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.gamma, 1.0 / 8.0, 1e-17);
}

static void
test_a_start_outside_the_range_is_refused(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_params(fx, N, 2, 0.01, 1);
    const method_t *m = method_find("sega-subspace");
    vec_t x0;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    x0.x[0] = 1.0;  // e_0: Range(A^T) has dimension 5 of 30
    assert_true(s_dist_to_range(fx, &x0) > 0.1);
    mr_err_t err;
    assert_null(m->server_new(&mp, &x0, &err));
    assert_int_equal(err.rc, MR_EINVAL);
    assert_null(m->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_int_equal(err.rc, MR_EINVAL);
    s_point_in_range(fx, &x0);
    method_server_t *s = m->server_new(&mp, &x0, &err);
    assert_non_null(s);
    m->server_destroy(&s);
    vec_fini(&x0);
}

//  n = 1: h^{k+1} = h^k + (g^k - h^k) / theta, rebuilt from the g's (h^0 = 0). The slides' sketch
//  and project constraints: S_k^T h^{k+1} = S_k^T grad f(x^k), h^{k+1} in Range(A^T); and
//  x^k in Range(A^T). Tolerances: relative 1e-10 for the rebuilt h (theta roundings of d-term
//  sums), 1e-12 for the distance to the range (a few r d roundings of U U^T).
static void
s_check_sketch_and_project(fixture_t *fx, size_t b)
{
    method_params_t mp = s_params(fx, 1, b, NAN, 42);
    s_resolve("sega-subspace", &mp, fx->L_f, fx->lambda);
    double theta = (double) fx->r / (double) (b < fx->r ? b : fx->r);
    sim_t s;
    s_sim_init(&s, "sega-subspace", &mp, fx, NULL);
    vec_t h, tmp;
    assert_int_equal(vec_init(&h, DIM), MR_OK);
    assert_int_equal(vec_init(&tmp, DIM), MR_OK);
    double sh[DIM], sg[DIM], nh[DIM], ng[DIM];
    for (uint64_t k = 0; k < 40; k++) {
        sim_round_everyone(&s, k);
        assert_int_equal(s.out[0].enc, CVEC_ENC_SKETCH);
        assert_int_equal(s.out[0].nnz, b);
        const vec_t *grad = s.report[0].grad;
        double gnorm = sqrt(vec_norm_sq(grad));
        assert_true(s_dist_to_range(fx, s.m->server_x(s.server)) <= 1e-12);
        assert_true(s_dist_to_range(fx, grad) <= 1e-12 * (1 + gnorm));
        vec_copy(&tmp, s_sim_g(&s, k));
        vec_axpy(&tmp, -1.0, &h);
        vec_axpy(&h, 1.0 / theta, &tmp);  // h^{k+1}
        s_gaussian_sketch(mp.seed, k, 0, b, &h, sh, nh);
        s_gaussian_sketch(mp.seed, k, 0, b, grad, sg, ng);
        for (size_t j = 0; j < b; j++)
            assert_near(sh[j], sg[j], 1e-10 * (1 + ng[j] * gnorm));
        assert_true(s_dist_to_range(fx, &h) <= 1e-12 * (1 + sqrt(vec_norm_sq(&h))));
        if (b >= fx->r)  // r independent directions in the range pin h^{k+1} = grad f(x^k)
            assert_near(vec_max_abs_diff(&h, grad), 0, 1e-10 * (1 + gnorm));
    }
    sim_fini(&s);
    vec_fini(&h);
    vec_fini(&tmp);
}

static void
test_sketch_and_project_meets_the_sketch_within_the_range(void **state)
{
    s_check_sketch_and_project(*state, 2);  // b < r: theta = 5/2
    s_check_sketch_and_project(*state, 8);  // b > r: theta = 1, h^{k+1} = grad f(x^k)
}

//  E[g^k - grad f(x^k)] = 0 coordinate by coordinate, from T independent runs (seeds 1..T), in
//  round 0 (x^0 = U c fixed, h^0 = 0) and round 1 (x^1, h^1 random): theta = r/b makes
//  E[theta Z_U] = U U^T, the identity on Range(A^T), where grad f_i(x) - h_i lies. Tolerance: 5
//  standard errors of the mean plus 1e-12 for coordinates without variance. With T = 16000 a
//  theta 10% too large fails (checked by hand once).
static void
test_estimator_is_unbiased_on_the_range(void **state)
{
    fixture_t *fx = *state;
    enum {
        T = 16000,
        B = 2
    };
    vec_t x0, gf, gi, diff;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    assert_int_equal(vec_init(&gf, DIM), MR_OK);
    assert_int_equal(vec_init(&gi, DIM), MR_OK);
    assert_int_equal(vec_init(&diff, DIM), MR_OK);
    s_point_in_range(fx, &x0);
    double sum[2][DIM] = {{0}}, sq[2][DIM] = {{0}};
    for (uint64_t seed = 1; seed <= T; seed++) {
        method_params_t mp = s_params(fx, N, B, 0.5 / fx->L, seed);
        s_resolve("sega-subspace", &mp, fx->L, fx->lambda);
        sim_t s;
        s_sim_init(&s, "sega-subspace", &mp, fx, &x0);
        for (uint64_t k = 0; k <= 1; k++) {
            sim_round_everyone(&s, k);
            vec_zero(&gf);
            for (size_t i = 0; i < N; i++) {
                loss_value_grad(&fx->loss[i], s.m->server_x(s.server), &gi);
                vec_axpy(&gf, 1.0 / N, &gi);
            }
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
    vec_fini(&gi);
    vec_fini(&diff);
}

//  With U = I (r = d) the constraint h in Range(U) is void and theta = d/b: subspace SEGA is SEGA.
//  Same S (same streams); the two lifts add the same vector in another order, so the iterates
//  agree to roundings: 1e-9 after 100 steps (as SEGA's full Gaussian sketch test allows).
static void
test_with_the_whole_space_it_is_sega(void **state)
{
    fixture_t *fx = *state;
    double *eye = calloc(DIM * DIM, sizeof *eye);
    assert_non_null(eye);
    for (size_t t = 0; t < DIM; t++)
        eye[t * DIM + t] = 1.0;
    method_params_t mp = s_params(fx, N, 3, NAN, 5);
    mp.range_q = eye;
    mp.range_rank = DIM;
    s_resolve("sega-subspace", &mp, fx->L, fx->lambda);
    method_params_t mq = s_params(fx, N, 3, NAN, 5);
    s_resolve("sega", &mq, fx->L, fx->lambda);
    assert_near(mp.gamma, mq.gamma, 0);
    sim_t a, b;
    s_sim_init(&a, "sega-subspace", &mp, fx, NULL);
    s_sim_init(&b, "sega", &mq, fx, NULL);
    for (uint64_t k = 0; k <= 100; k++) {
        sim_round_everyone(&a, k);
        sim_round_everyone(&b, k);
        sim_assert_same_x(&a);
        assert_near(vec_max_abs_diff(sim_x(&a), sim_x(&b)), 0, 1e-9);
    }
    assert_true(vec_norm_sq(sim_x(&a)) > 0);
    sim_fini(&a);
    sim_fini(&b);
    free(eye);
}

//  R = l2 scales x, R = ball projects by scaling: every actor's x^k stays in Range(A^T) (and in
//  the ball), bit for bit the same on workers and server.
static void
test_prox_keeps_the_iterates_in_the_range(void **state)
{
    fixture_t *fx = *state;
    prox_cfg_t regs[] = {{.kind = PROX_L2, .lambda2 = 0.5}, {.kind = PROX_BALL, .radius = 0.05}};
    for (size_t j = 0; j < 2; j++) {
        method_params_t mp = s_params(fx, N, 2, NAN, 17);
        mp.reg = regs[j];
        s_resolve("sega-subspace", &mp, fx->L, fx->lambda);
        sim_t s;
        s_sim_init(&s, "sega-subspace", &mp, fx, NULL);
        for (uint64_t k = 0; k <= 300; k++) {
            sim_round_everyone(&s, k);
            const vec_t *x = sim_x(&s);
            sim_assert_same_x(&s);
            assert_true(s_dist_to_range(fx, x) <= 1e-12);
            if (regs[j].kind == PROX_BALL)
                assert_true(vec_norm_sq(x) <= 0.05 * 0.05 * (1 + 1e-12));
        }
        assert_true(vec_norm_sq(sim_x(&s)) > 0);
        sim_fini(&s);
    }
}

//  The sketches come from mp.seed (the streams worker and server share): the same seed gives
//  the same iterates bit for bit, another seed others.
static void
test_the_seed_decides_the_iterates(void **state)
{
    fixture_t *fx = *state;
    sim_t s[3];
    for (size_t j = 0; j < 3; j++) {
        method_params_t mp = s_params(fx, N, 2, NAN, j < 2 ? 3 : 4);
        s_resolve("sega-subspace", &mp, fx->L, fx->lambda);
        s_sim_init(&s[j], "sega-subspace", &mp, fx, NULL);
        for (uint64_t k = 0; k <= 50; k++)
            sim_round_everyone(&s[j], k);
        sim_assert_same_x(&s[j]);
    }
    assert_memory_equal(sim_x(&s[0])->x, sim_x(&s[1])->x, DIM * sizeof(double));
    assert_true(vec_max_abs_diff(sim_x(&s[0]), sim_x(&s[2])) > 0.0);
    for (size_t j = 0; j < 3; j++)
        sim_fini(&s[j]);
}

//  Rounds until f(x^k) - f* <= 1e-6 (f(x^0) - f*), at most cap.
static uint64_t
s_rounds_to_gap(fixture_t *fx, const char *name, uint64_t seed, double fstar, uint64_t cap)
{
    method_params_t mp = s_params(fx, 1, 2, NAN, seed);
    s_resolve(name, &mp, fx->L_f, fx->lambda);
    sim_t s;
    s_sim_init(&s, name, &mp, fx, NULL);
    double gap0 = 0.0;
    uint64_t k = 0;
    for (; k < cap; k++) {
        sim_round_everyone(&s, k);
        double gap = s.report[0].f - fstar;  // f(x^k), evaluated by the worker this round
        if (k == 0)
            gap0 = gap;
        else if (gap <= 1e-6 * gap0)
            break;
    }
    sim_fini(&s);
    return k;
}

//  The point of the variant: on data of rank r << d, with the same b, subspace SEGA's theta is
//  r/b instead of d/b (5/2 against 15 here), so its stepsize is about d/r = 6 times larger and
//  its estimator less noisy. Claim (from that ratio, with room): fewer than half of SEGA's
//  rounds to reach a gap of 1e-6 of the start, on average over 3 seeds.
static void
test_converges_faster_than_sega_on_low_rank_data(void **state)
{
    fixture_t *fx = *state;
    enum {
        S = 3,
        CAP = 400000
    };
    vec_t xs;
    assert_int_equal(vec_init(&xs, DIM), MR_OK);
    double fstar;
    mr_err_t err;
    assert_int_equal(solve_minimize(&fx->f, 1, &xs, 1e-26, 100000, &xs, &fstar, &err), MR_OK);
    double plain = 0, sub = 0;
    for (uint64_t seed = 1; seed <= S; seed++) {
        plain += (double) s_rounds_to_gap(fx, "sega", seed, fstar, CAP) / S;
        sub += (double) s_rounds_to_gap(fx, "sega-subspace", seed, fstar, CAP) / S;
    }
    print_message("rounds to gap 1e-6 of the start (b = 2, d = %d, r = %zu): sega %.0f, "
                  "sega-subspace %.0f\n",
                  DIM, fx->r, plain, sub);
    assert_true(sub < CAP);
    assert_true(2.0 * sub < plain);
    vec_fini(&xs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sega_subspace_is_listed_and_needs_the_range),
        cmocka_unit_test_setup_teardown(test_resolve_refuses_what_leaves_the_range, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_fills_the_theory_stepsize_with_theta_r_over_b,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_start_outside_the_range_is_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sketch_and_project_meets_the_sketch_within_the_range,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_estimator_is_unbiased_on_the_range, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_with_the_whole_space_it_is_sega, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_prox_keeps_the_iterates_in_the_range, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_the_seed_decides_the_iterates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_converges_faster_than_sega_on_low_rank_data,
                                        s_setup_small_lambda, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
