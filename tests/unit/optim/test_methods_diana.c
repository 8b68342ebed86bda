//  test_methods_diana.c - method.h: DCGD, DIANA, VR-DIANA and minibatch SGD, driven in-process
//  through the round protocol.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "method.h"
#include "theory.h"
#include "sim.h"

enum {
    N = 4,
    ROWS = 803,
    DIM = 30,
    M = ROWS / N,  // samples per worker: 200
};

//  A heterogeneous synthetic set split the paper's way among N workers (the last 3 rows are
//  dropped), and the union of the parts, whose loss is f = 1/n sum_i f_i (equal part sizes).
typedef sim_data_t fixture_t;

//  The MARINA paper's non-convex loss (11), unregularised.
static int
s_setup(void **state)
{
    *state = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_NONCONVEX, 0.0);
    return 0;
}

//  l2-regularised logistic regression: 0.1-strongly convex.
static int
s_setup_logreg(void **state)
{
    *state = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_LOGREG, 0.1);
    return 0;
}

//  Parameters left at "theory" for resolve() to fill.
static method_params_t
s_theory_params(comp_kind_t kind, size_t k)
{
    return (method_params_t){.n = N,
                             .dim = DIM,
                             .m = M,
                             .gamma = NAN,
                             .p = NAN,
                             .alpha = NAN,
                             .comp = {.kind = kind, .k = k},
                             .sampling = SAMPLING_UNIFORM};
}

static method_params_t
s_resolved(fixture_t *fx, const char *name, comp_kind_t kind, size_t k)
{
    method_params_t mp = s_theory_params(kind, k);
    method_consts_t pc = sim_consts(fx, DIM, M, kind, k);
    mr_err_t err;
    assert_int_equal(method_find(name)->resolve(&mp, &pc, &err), MR_OK);
    return mp;
}

//  DIANA with gamma = 'ours' (1/(L (1 + (1+omega) sqrt(omega/n)))): the larger step the
//  convergence tests below run, so they finish in a unit test's time. The theorem's own step
//  (Horvath et al., ~10x smaller) is checked in test_resolve_fills_theory_defaults.
static method_params_t
s_resolved_ours(fixture_t *fx, comp_kind_t kind, size_t k)
{
    method_params_t mp = s_theory_params(kind, k);
    mp.gamma_ours = 1;
    method_consts_t pc = sim_consts(fx, DIM, M, kind, k);
    assert_int_equal(method_find("diana")->resolve(&mp, &pc, NULL), MR_OK);
    return mp;
}

static void
test_diana_with_identity_is_centralized_gd(void **state)
{
    //  With Q = identity and alpha = 1/(1+0) = 1: h_i = grad f_i(x^{k-1}), Delta_i = grad f_i(x^k)
    //  - h_i and g^k = h + 1/n sum_i Delta_i = grad f(x^k): GD with gamma = 1/L (omega = 0). The
    //  sums run in another order than the reference's, ~1e-16 per step; 200 steps of a
    //  contraction-free map stay far below 1e-12. (gamma = 'ours', which is 1/L at omega = 0.)
    fixture_t *fx = *state;
    method_params_t mp = s_resolved_ours(fx, COMP_IDENTITY, DIM);
    assert_near(mp.alpha, 1.0, 0.0);
    assert_near(mp.gamma, 1.0 / fx->L, 1e-15 / fx->L);
    sim_t s;
    sim_init(&s, "diana", &mp, fx->loss, NULL, 1);
    vec_t x, g;
    assert_int_equal(vec_init(&x, DIM), MR_OK);
    assert_int_equal(vec_init(&g, DIM), MR_OK);
    for (uint64_t k = 0; k <= 200; k++) {
        sim_gd_step(&fx->f, mp.gamma, k, &x, &g);
        sim_round_everyone(&s, k);
        sim_assert_x_near(&s, &x, 1e-12);
    }
    //  GD makes progress here: the comparison is not between two stuck runs.
    assert_true(sim_grad_norm_sq(&fx->f, &x) <
                sim_grad_norm_sq(&fx->f, &(vec_t){DIM, (double[DIM]){0}}));
    sim_fini(&s);
    vec_fini(&x);
    vec_fini(&g);
}

static void
test_dcgd_with_identity_is_gd_bit_for_bit(void **state)
{
    //  DCGD sends grad f_i(x^k) - 0 and averages: GD's arithmetic in GD's order.
    fixture_t *fx = *state;
    method_params_t mp = s_resolved(fx, "dcgd", COMP_IDENTITY, DIM);
    method_params_t gd_mp = s_resolved(fx, "gd", COMP_IDENTITY, DIM);
    assert_memory_equal(&mp.gamma, &gd_mp.gamma, sizeof(double));  // 1/(L (1 + 0/n)) = 1/L
    sim_t dcgd, gd;
    sim_init(&dcgd, "dcgd", &mp, fx->loss, NULL, 3);
    sim_init(&gd, "gd", &gd_mp, fx->loss, NULL, 4);
    for (uint64_t k = 0; k <= 100; k++) {
        sim_round_everyone(&dcgd, k);
        sim_round_everyone(&gd, k);
        assert_memory_equal(dcgd.m->server_x(dcgd.server)->x, gd.m->server_x(gd.server)->x,
                            DIM * sizeof(double));
    }
    sim_fini(&dcgd);
    sim_fini(&gd);
}

static void
test_diana_randk_with_theory_params_converges(void **state)
{
    //  RandK K = 3 of d = 30 (omega = 9): alpha = 1/10 and gamma = 'ours' = 1/(L (1 + 10
    //  sqrt(9/4))) = 1/(16 L), about 3x below MARINA's for the same Q. We check that the squared gradient norm
    //  falls 100x below the start within 10000 rounds (fixed seed; it takes ~6500), and that
    //  every message carries exactly K values.
    fixture_t *fx = *state;
    method_params_t mp = s_resolved_ours(fx, COMP_RANDK, 3);
    assert_near(mp.alpha, 0.1, 1e-15);
    assert_near(mp.gamma * fx->L, 1.0 / 16.0, 1e-15);
    sim_t s;
    sim_init(&s, "diana", &mp, fx->loss, NULL, 2);
    double g0 = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    uint64_t reached = 0;
    double gk = g0;
    for (uint64_t k = 0; k <= 10000 && !reached; k++) {
        sim_round_everyone(&s, k);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(s.out[i].kind, CVEC_SPARSE);
            assert_int_equal(s.out[i].nnz, 3);
        }
        gk = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
        if (gk <= g0 / 100.0)
            reached = k;
    }
    print_message("diana randk: gamma L = %.4g, ||grad f||^2 %.3g -> %.3g at round %llu\n",
                  mp.gamma * fx->L, g0, gk, (unsigned long long) reached);
    assert_true(reached > 0 && reached <= 10000);
    sim_fini(&s);
}

//  Runs rounds 0..to and returns the mean of ||grad f(x^k)||^2 over rounds [from, to]; *best
//  gets their minimum and *last the final one.
static double
s_run_grad_stats(sim_t *s, fixture_t *fx, uint64_t from, uint64_t to, double *best, double *last)
{
    double sum = 0.0;
    *best = INFINITY;
    for (uint64_t k = 0; k <= to; k++) {
        sim_round_everyone(s, k);
        if (k >= from) {
            double gk = sim_grad_norm_sq(&fx->f, s->m->server_x(s->server));
            sum += gk;
            *best = fmin(*best, gk);
            *last = gk;
        }
    }
    return sum / (double) (to - from + 1);
}

static void
test_diana_converges_linearly_where_dcgd_stalls(void **state)
{
    //  The slides' claim, on the 0.1-strongly convex logreg: with RandK, DCGD's message
    //  Q(grad f_i(x)) keeps variance omega |grad f_i(x*)|^2 > 0 at the optimum of heterogeneous
    //  shards, so with a constant step it stalls at a noise floor; DIANA's shifts learn
    //  grad f_i(x*), the compression noise vanishes and it converges linearly. Both run DIANA's
    //  gamma = 'ours' for K = 5 of 30 (omega = 5): 1/(L (1 + 6 sqrt(5/4))) ~ 1/7.7L.
    //  DCGD's floor: near x*, e = x - x* follows e' = (I - gamma H) e - gamma xi with noise of
    //  trace sigma^2 = omega/n^2 sum_i |grad f_i(x*)|^2; its stationary covariance S solves
    //  H S + S H ~ gamma C to first order in gamma, so E[e^T H e] ~ gamma sigma^2 / 2 and, as
    //  H >= mu I, E||grad f||^2 = E[e^T H^2 e] >= mu gamma sigma^2 / 2. We require DCGD's mean
    //  over 2000 late rounds (~7 mixing times 1/(gamma mu)) to reach half that bound, its best
    //  round to stay 1e4 above 1e-12, and DIANA's last iterate to be below 1e-12.
    fixture_t *fx = *state;
    const double mu = 0.1;
    method_params_t mp = s_resolved_ours(fx, COMP_RANDK, 5);
    method_params_t dcgd_mp = s_resolved(fx, "dcgd", COMP_RANDK, 5);
    dcgd_mp.gamma = mp.gamma;
    enum {
        ROUNDS = 6000,
        TAIL = 2000
    };
    sim_t diana, dcgd;
    sim_init(&diana, "diana", &mp, fx->loss, NULL, 5);
    sim_init(&dcgd, "dcgd", &dcgd_mp, fx->loss, NULL, 5);
    double diana_best, diana_last, dcgd_best, dcgd_last;
    s_run_grad_stats(&diana, fx, ROUNDS, ROUNDS, &diana_best, &diana_last);
    double dcgd_mean = s_run_grad_stats(&dcgd, fx, ROUNDS - TAIL, ROUNDS, &dcgd_best, &dcgd_last);
    //  sigma^2 at DIANA's final iterate, which is x* to ~1e-12.
    const vec_t *xs = diana.m->server_x(diana.server);
    vec_t gi;
    assert_int_equal(vec_init(&gi, DIM), MR_OK);
    double sum_sq = 0.0;
    for (size_t i = 0; i < N; i++) {
        loss_value_grad(&fx->loss[i], xs, &gi);
        sum_sq += vec_norm_sq(&gi);
    }
    vec_fini(&gi);
    double sigma_sq = 5.0 / (N * N) * sum_sq;
    double floor = mu * mp.gamma * sigma_sq / 2.0;
    print_message("strongly convex, randk K = 5, %d rounds: diana ||grad f||^2 %.3g; dcgd %.3g "
                  "(last %d rounds: mean %.3g, best %.3g; floor >= %.3g)\n",
                  ROUNDS, diana_last, dcgd_last, TAIL, dcgd_mean, dcgd_best, floor);
    assert_true(sigma_sq > 1e-3);  // the shards are heterogeneous: grad f_i(x*) != 0
    assert_true(diana_last < 1e-12);
    assert_true(dcgd_mean > floor / 2.0);
    assert_true(dcgd_best > 1e-8);
    sim_fini(&diana);
    sim_fini(&dcgd);
}

static void
test_vr_diana_randk_converges(void **state)
{
    //  VR-DIANA with RandK K = 3 (omega = 9), alpha = 1/10, b' = max(1, m/100) = 2 and p = b'/m
    //  from theory. Horvath et al.'s stepsize 1/(10 L sqrt(1 + omega/n) ((m/b')^{2/3} + omega +
    //  1)) is ~1/600L here, too small for a unit test; we run DIANA's gamma = 'ours', 1/(16 L),
    //  instead and check that ||grad f||^2 drops 100x within 10000 rounds (fixed seed).
    fixture_t *fx = *state;
    method_params_t mp = s_resolved(fx, "vr-diana", COMP_RANDK, 3);
    assert_int_equal(mp.batch_prime, 2);
    assert_near(mp.p, 2.0 / M, 1e-18);
    assert_near(mp.alpha, 0.1, 1e-15);
    mp.gamma = s_resolved_ours(fx, COMP_RANDK, 3).gamma;
    sim_t s;
    sim_init(&s, "vr-diana", &mp, fx->loss, NULL, 6);
    double g0 = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    uint64_t calls = 0;
    for (uint64_t k = 0; k <= 10000; k++) {
        sim_round_everyone(&s, k);
        for (size_t i = 0; i < N; i++)
            calls += s.report[i].oracle_calls;
    }
    double gk = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    print_message("vr-diana randk: ||grad f||^2 %.3g -> %.3g after 10000 rounds, %.3g oracle "
                  "calls per worker per round\n",
                  g0, gk, (double) calls / (N * 10001.0));
    assert_true(gk <= g0 / 100.0);
    //  Per worker and round: 2 b' = 4, plus m = 200 with probability p = b'/m = 1/100: 6
    //  expected. The refreshes are 40004 Bernoulli(1/100) draws: 400 expected, sd 19.9; 5 sd =
    //  100 refreshes, 100 * 200 calls over 40004 worker-rounds = 0.5.
    assert_near((double) calls / (N * 10001.0), 6.0, 0.5);
    sim_fini(&s);
}

//  Mean and standard error, per coordinate, of VR-DIANA's first compressed-round message over
//  independent workers, against its expectation; see the test below.
static void
s_check_vr_estimator_unbiased(fixture_t *fx, sampling_t sampling)
{
    enum {
        TRIALS = 4000
    };
    const method_t *m = method_find("vr-diana");
    //  Identity Q and alpha = 1: after round 0 (at x^0 = 0), h_0 = mu_0 = grad f_0(x^0); round 1
    //  steps to x^1 = -g and sends g_0 - h_0 = 1/b' sum_j w_j (grad f_0j(x^1) - grad f_0j(x^0)),
    //  whose expectation is grad f_0(x^1) - grad f_0(x^0) if the estimator is unbiased.
    method_params_t mp = {.n = N,
                          .dim = DIM,
                          .m = M,
                          .gamma = 1.0,
                          .p = 0.5,
                          .alpha = 1.0,
                          .comp = {.kind = COMP_IDENTITY},
                          .batch_prime = 1,
                          .sampling = sampling};
    vec_t x0, g, truth, tmp;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    assert_int_equal(vec_init(&g, DIM), MR_OK);
    assert_int_equal(vec_init(&truth, DIM), MR_OK);
    assert_int_equal(vec_init(&tmp, DIM), MR_OK);
    for (size_t j = 0; j < DIM; j++)
        g.x[j] = 0.5 * ((double) (j % 7) - 3.0);
    vec_axpy(&tmp, -1.0, &g);  // tmp = x^1
    loss_value_grad(&fx->loss[0], &tmp, &truth);
    loss_value_grad(&fx->loss[0], &x0, &tmp);
    vec_axpy(&truth, -1.0, &tmp);
    cvec_t out;
    assert_int_equal(cvec_init(&out, DIM, DIM), MR_OK);
    double sum[DIM] = {0}, sum_sq[DIM] = {0};
    for (uint64_t t = 0; t < TRIALS; t++) {
        rng_t rng;
        rng_seed(&rng, 1000 + t, rng_stream_worker(0));
        mr_err_t err;
        method_worker_t *w = m->worker_new(&mp, &fx->loss[0], 0, &x0, &err);
        assert_non_null(w);
        method_report_t rep;
        method_round_t rd = {.round = 0};
        assert_int_equal(m->worker_step(w, &rd, &rng, &out, &rep), MR_OK);
        rd = (method_round_t){.round = 1, .g = &g};
        assert_int_equal(m->worker_step(w, &rd, &rng, &out, &rep), MR_OK);
        assert_int_equal(rep.oracle_calls % M, 2);  // 2 b', plus m if the reference moved
        cvec_to_dense(&out, &tmp);
        for (size_t j = 0; j < DIM; j++) {
            sum[j] += tmp.x[j];
            sum_sq[j] += tmp.x[j] * tmp.x[j];
        }
        m->worker_destroy(&w);
    }
    //  Each coordinate's mean over 4000 i.i.d. draws is within 5 standard errors of its
    //  expectation (a false alarm has probability ~6e-7 per coordinate); the 1e-12 absorbs
    //  rounding where a coordinate has no variance. Some coordinate must vary, or the test
    //  would check nothing.
    double max_se = 0.0;
    for (size_t j = 0; j < DIM; j++) {
        double mean = sum[j] / TRIALS;
        double var = sum_sq[j] / TRIALS - mean * mean;
        double se = sqrt(fmax(var, 0.0) / TRIALS);
        max_se = fmax(max_se, se);
        assert_near(mean, truth.x[j], 5.0 * se + 1e-12);
    }
    assert_true(max_se > 1e-6);
    cvec_fini(&out);
    vec_fini(&x0);
    vec_fini(&g);
    vec_fini(&truth);
    vec_fini(&tmp);
}

static void
test_vr_diana_estimator_is_unbiased(void **state)
{
    fixture_t *fx = *state;
    s_check_vr_estimator_unbiased(fx, SAMPLING_UNIFORM);
    s_check_vr_estimator_unbiased(fx, SAMPLING_IMPORTANCE);
}

static void
test_sgd_reduces_the_gradient(void **state)
{
    //  Minibatch SGD, b = 20 of m = 200 and gamma = 1/L, sends dense minibatch gradients. With a
    //  constant step it only reaches a noise ball; on this problem that ball lies 10x below the
    //  start within 3000 rounds (fixed seed).
    fixture_t *fx = *state;
    method_params_t mp = s_theory_params(COMP_IDENTITY, DIM);  // Q = identity: dense messages
    mp.batch = 20;
    method_consts_t pc = sim_consts(fx, DIM, M, COMP_IDENTITY, DIM);
    assert_int_equal(method_find("sgd")->resolve(&mp, &pc, NULL), MR_OK);
    assert_near(mp.gamma, 1.0 / fx->L, 0.0);
    sim_t s;
    sim_init(&s, "sgd", &mp, fx->loss, NULL, 11);
    double g0 = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    for (uint64_t k = 0; k <= 3000; k++) {
        sim_round_everyone(&s, k);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(s.out[i].kind, CVEC_DENSE);
            assert_int_equal(s.report[i].oracle_calls, 20);
            assert_int_equal(s.report[i].have_eval, 0);
        }
    }
    double gk = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    print_message("sgd b = 20: ||grad f||^2 %.3g -> %.3g after 3000 rounds\n", g0, gk);
    assert_true(gk <= g0 / 10.0);
    sim_fini(&s);
}

static void
test_same_seed_gives_identical_iterates(void **state)
{
    fixture_t *fx = *state;
    const char *names[] = {"dcgd", "diana", "vr-diana", "sgd"};
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
        method_params_t mp = s_resolved(fx, names[t], COMP_RANDK, 5);
        mp.gamma = 0.5 / fx->L;
        mp.p = strcmp(names[t], "vr-diana") == 0 ? 0.1 : mp.p;  // some reference moves
        //  Another seed draws other coordinates and minibatches: the iterates part.
        sim_assert_seed_decides(names[t], &mp, fx->loss, 7, 8, 300, sim_round_everyone);
    }
}

static void
test_reports_and_round_zero(void **state)
{
    fixture_t *fx = *state;
    //  DIANA: round 0 is an ordinary step at x^0 (no coin, no g) and compresses
    //  grad f_i(x^0) - 0 to K values; each round costs m calls and reports f_i, grad f_i.
    method_params_t mp = s_resolved(fx, "diana", COMP_RANDK, 3);
    sim_t s;
    sim_init(&s, "diana", &mp, fx->loss, NULL, 9);
    method_round_t rd;
    s.m->server_plan(s.server, 0, &s.server_rng, &rd);
    assert_int_equal(rd.round, 0);
    assert_int_equal(rd.coin, 0);
    assert_null(rd.g);
    method_report_t rep;
    assert_int_equal(s.m->worker_step(s.worker[0], &rd, &s.worker_rng[0], &s.out[0], &rep), MR_OK);
    assert_int_equal(rep.send, 1);
    assert_int_equal(rep.oracle_calls, M);
    assert_int_equal(rep.have_eval, 1);
    assert_near(rep.f, 0.25, 1e-15);  // x^0 = 0: every margin is 0
    assert_int_equal(s.out[0].kind, CVEC_SPARSE);
    assert_int_equal(s.out[0].nnz, 3);
    for (size_t j = 0; j < 3; j++)  // RandK scales the kept coordinates by d/K = 10
        assert_near(s.out[0].val[j], 10.0 * rep.grad->x[s.out[0].idx[j]], 1e-15);
    //  Stepping the same round twice is refused, and so is a participants list.
    assert_int_equal(s.m->worker_step(s.worker[0], &rd, &s.worker_rng[0], &s.out[0], &rep),
                     MR_EINVAL);
    uint32_t part[1] = {1};
    method_round_t pp = rd;
    pp.part = part;
    pp.npart = 1;
    assert_int_equal(s.m->worker_step(s.worker[1], &pp, &s.worker_rng[1], &s.out[1], &rep),
                     MR_EINVAL);
    sim_fini(&s);

    //  VR-DIANA: m calls in round 0 (mu_i = grad f_i(x^0)); then 2 b', plus m and an evaluation
    //  exactly when the reference moves (p = 1/2 makes both kinds occur).
    mp = s_resolved(fx, "vr-diana", COMP_RANDK, 3);
    mp.p = 0.5;
    sim_init(&s, "vr-diana", &mp, fx->loss, NULL, 10);
    sim_round_everyone(&s, 0);
    assert_int_equal(s.report[0].oracle_calls, M);
    assert_int_equal(s.report[0].have_eval, 1);
    int seen[2] = {0, 0};
    for (uint64_t k = 1; k <= 40; k++) {
        sim_round_everyone(&s, k);
        for (size_t i = 0; i < N; i++) {
            int moved = s.report[i].have_eval;
            assert_int_equal(s.report[i].oracle_calls, 2 * mp.batch_prime + (moved ? M : 0));
            if (moved) {
                //  The evaluation is at the worker's current iterate.
                vec_t gi;
                assert_int_equal(vec_init(&gi, DIM), MR_OK);
                double fi = loss_value_grad(&fx->loss[i], s.m->worker_x(s.worker[i]), &gi);
                assert_near(s.report[i].f, fi, 0.0);
                assert_memory_equal(s.report[i].grad->x, gi.x, DIM * sizeof(double));
                vec_fini(&gi);
            }
            seen[moved]++;
        }
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
    sim_fini(&s);
}

static void
test_combine_rejects_wrong_dim_and_round(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_resolved(fx, "diana", COMP_IDENTITY, DIM);
    sim_t s;
    sim_init(&s, "diana", &mp, fx->loss, NULL, 12);
    const cvec_t *ups[N];
    sim_step_workers(&s, 0, ups);
    method_round_t rd = s.rd;
    mr_err_t err;
    s.out[2].dim = DIM - 1;
    assert_int_equal(s.m->server_combine(s.server, &rd, ups, &err), MR_EDIM);
    assert_non_null(strstr(err.text, "worker 2"));
    s.out[2].dim = DIM;
    ups[1] = NULL;
    assert_int_equal(s.m->server_combine(s.server, &rd, ups, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "worker 1"));
    ups[1] = &s.out[1];
    method_round_t late = rd;
    late.round = 5;
    assert_int_equal(s.m->server_combine(s.server, &late, ups, &err), MR_EINVAL);
    //  The failures left the server untouched: the real round still combines.
    assert_int_equal(s.m->server_combine(s.server, &rd, ups, &err), MR_OK);
    sim_fini(&s);
}

static void
test_resolve_fills_theory_defaults(void **state)
{
    fixture_t *fx = *state;
    double L = fx->L;
    //  RandK K = 3 of 30: omega = 9, n = 4.
    method_params_t mp = s_resolved(fx, "dcgd", COMP_RANDK, 3);
    assert_near(mp.gamma, 1.0 / (L * (1.0 + 9.0 / 4.0)), 1e-15 / L);
    assert_near(mp.p, 1.0, 0.0);
    //  DIANA: Horvath et al.'s non-convex theorem at m = 1 with the largest L_i,
    //  1 / (10 L_max sqrt(1 + 9/4) (9 + 2)); 'ours': 1 / (L (1 + 10 sqrt(9/4))) = 1 / (16 L).
    double Lm = fx->L_max;
    assert_true(Lm >= L);
    mp = s_resolved(fx, "diana", COMP_RANDK, 3);
    assert_near(mp.gamma, 1.0 / (10.0 * Lm * sqrt(1.0 + 9.0 / 4.0) * 11.0), 1e-15 / L);
    assert_near(mp.alpha, 0.1, 1e-15);
    mp = s_theory_params(COMP_RANDK, 3);
    mp.gamma_ours = 1;
    method_consts_t pc0 = sim_consts(fx, DIM, M, COMP_RANDK, 3);
    assert_int_equal(method_find("diana")->resolve(&mp, &pc0, NULL), MR_OK);
    assert_near(mp.gamma, 1.0 / (L * 16.0), 1e-15 / L);
    //  VR-DIANA: m = 200 samples in minibatches of b' = max(1, 200/100) = 2 are 100 components,
    //  p = 2/200, gamma = 1 / (10 L_max sqrt(1 + 9/4) (100^{2/3} + 10)).
    mp = s_resolved(fx, "vr-diana", COMP_RANDK, 3);
    double m23 = pow(100.0, 2.0 / 3.0);
    assert_near(mp.gamma, 1.0 / (10.0 * Lm * sqrt(1.0 + 9.0 / 4.0) * (m23 + 10.0)), 1e-15 / L);
    assert_near(mp.alpha, 0.1, 1e-15);
    assert_near(mp.p, 2.0 / 200.0, 1e-18);
    assert_int_equal(mp.batch_prime, 2);
    mp = s_resolved(fx, "sgd", COMP_IDENTITY, DIM);
    assert_near(mp.gamma, 1.0 / L, 0.0);
    assert_int_equal(mp.batch, 2);
    //  Values given are kept.
    mp = s_theory_params(COMP_RANDK, 3);
    mp.gamma = 0.01;
    mp.alpha = 0.5;
    mp.p = 0.25;
    mp.batch_prime = 7;
    method_consts_t pc = sim_consts(fx, DIM, M, COMP_RANDK, 3);
    assert_int_equal(method_find("vr-diana")->resolve(&mp, &pc, NULL), MR_OK);
    assert_near(mp.gamma, 0.01, 0.0);
    assert_near(mp.alpha, 0.5, 0.0);
    assert_near(mp.p, 0.25, 0.0);
    assert_int_equal(mp.batch_prime, 7);
    //  A small shard: max(1, m/100) = 1.
    assert_int_equal(theory_minibatch(57), 1);
    assert_int_equal(theory_minibatch(1000), 10);
}

//  resolve() of method name on mp fails with MR_ECONFIG and an err naming key.
static void
s_assert_refuses(fixture_t *fx, const char *name, method_params_t mp, const char *key)
{
    method_consts_t pc = sim_consts(fx, DIM, M, COMP_RANDK, 3);
    sim_assert_refuses(name, mp, &pc, key);
}

static void
test_resolve_refuses_bad_params_naming_the_key(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_theory_params(COMP_RANDK, 3);
    method_params_t bad = mp;
    bad.batch = M + 1;
    s_assert_refuses(fx, "sgd", bad, "'batch'");
    bad = mp;
    bad.batch_prime = M + 1;
    s_assert_refuses(fx, "vr-diana", bad, "'batch_prime'");
    bad = mp;
    bad.alpha = 1.5;
    s_assert_refuses(fx, "diana", bad, "'alpha'");
    s_assert_refuses(fx, "vr-diana", bad, "'alpha'");
    bad.alpha = 0.0;
    s_assert_refuses(fx, "diana", bad, "'alpha'");
    bad = mp;
    bad.p = 0.0;
    s_assert_refuses(fx, "vr-diana", bad, "'p'");
    bad.p = 1.5;
    s_assert_refuses(fx, "vr-diana", bad, "'p'");
    //  gamma = 'ours' is DIANA's alone (the launcher refuses it for the others).
    assert_true(method_find("diana")->has_gamma_ours);
    assert_false(method_find("vr-diana")->has_gamma_ours);
    assert_false(method_find("marina")->has_gamma_ours);
    bad = mp;
    bad.gamma = -1.0;
    const char *names[] = {"dcgd", "diana", "vr-diana", "sgd"};
    for (size_t t = 0; t < 4; t++)
        s_assert_refuses(fx, names[t], bad, "'gamma'");
    //  DIANA's shifts need an unbiased Q; DCGD may run plain biased compressed GD.
    bad = s_theory_params(COMP_TOPK, 3);
    s_assert_refuses(fx, "diana", bad, "'compressor'");
    s_assert_refuses(fx, "vr-diana", bad, "'compressor'");
    assert_false(method_find("diana")->allows_biased);
    assert_false(method_find("vr-diana")->allows_biased);
    assert_true(method_find("dcgd")->allows_biased);
    assert_true(method_find("sgd")->uses_compressor);
    method_consts_t pc = sim_consts(fx, DIM, M, COMP_RANDK, 3);
    assert_int_equal(method_find("dcgd")->resolve(&bad, &pc, NULL), MR_OK);
}

static void
test_new_rejects_bad_params(void **state)
{
    //  The constructors check what they need even when resolve() was skipped.
    fixture_t *fx = *state;
    vec_t x0;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    mr_err_t err;
    method_params_t mp = s_resolved(fx, "sgd", COMP_IDENTITY, DIM);
    mp.batch = 0;
    assert_null(method_find("sgd")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'batch'"));
    mp = s_resolved(fx, "vr-diana", COMP_RANDK, 3);
    mp.batch_prime = 0;
    assert_null(method_find("vr-diana")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'batch_prime'"));
    mp = s_resolved(fx, "diana", COMP_RANDK, 3);
    mp.alpha = 2.0;
    assert_null(method_find("diana")->server_new(&mp, &x0, &err));
    assert_non_null(strstr(err.text, "'alpha'"));
    mp.alpha = NAN;
    assert_null(method_find("diana")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'alpha'"));
    mp = s_resolved(fx, "diana", COMP_RANDK, 3);
    mp.comp.k = 0;
    assert_null(method_find("diana")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_int_equal(err.rc, MR_ECONFIG);
    vec_fini(&x0);
}

static void
test_dcgd_runs_biased_topk(void **state)
{
    //  TopK keeps the K largest |coordinates| unscaled: DCGD with it is biased compressed GD;
    //  it sends K values and, with K = 10 of 30 and a small step, still descends.
    fixture_t *fx = *state;
    method_params_t mp = s_theory_params(COMP_TOPK, 10);
    mp.gamma = 0.5 / fx->L;
    method_consts_t pc = sim_consts(fx, DIM, M, COMP_RANDK, 10);
    assert_int_equal(method_find("dcgd")->resolve(&mp, &pc, NULL), MR_OK);
    sim_t s;
    sim_init(&s, "dcgd", &mp, fx->loss, NULL, 13);
    double g0 = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    for (uint64_t k = 0; k <= 500; k++) {
        sim_round_everyone(&s, k);
        for (size_t i = 0; i < N; i++)
            assert_int_equal(s.out[i].nnz, 10);
    }
    double gk = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    print_message("dcgd topk: ||grad f||^2 %.3g -> %.3g after 500 rounds\n", g0, gk);
    assert_true(gk < g0);
    sim_fini(&s);
}

static void
test_find_knows_the_new_methods(void **state)
{
    const char *names[] = {"dcgd", "diana", "vr-diana", "sgd"};
    for (size_t t = 0; t < 4; t++)
        sim_assert_listed_once(names[t]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_diana_with_identity_is_centralized_gd, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_dcgd_with_identity_is_gd_bit_for_bit, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_diana_randk_with_theory_params_converges, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_diana_converges_linearly_where_dcgd_stalls,
                                        s_setup_logreg, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_vr_diana_randk_converges, s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_vr_diana_estimator_is_unbiased, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_sgd_reduces_the_gradient, s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_same_seed_gives_identical_iterates, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_reports_and_round_zero, s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_combine_rejects_wrong_dim_and_round, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_fills_theory_defaults, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_refuses_bad_params_naming_the_key, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_new_rejects_bad_params, s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_dcgd_runs_biased_topk, s_setup, sim_data_teardown),
        cmocka_unit_test(test_find_knows_the_new_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
