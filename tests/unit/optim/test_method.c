//  test_method.c - method.h: MARINA and GD, driven in-process through the round protocol.
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
};

//  The data of every test: a heterogeneous synthetic set split the paper's way among N workers
//  (803 = 4 * 200 + 3: the last 3 rows are dropped), plus the union of the parts as one shard,
//  whose loss is f = 1/n sum_i f_i (the parts have equal sizes).
typedef sim_data_t fixture_t;

static int
s_setup(void **state)
{
    *state = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_NONCONVEX, 0.0);
    return 0;
}

static method_params_t
s_params(comp_kind_t comp, size_t k, double p, double gamma)
{
    return (method_params_t){
        .n = N, .dim = DIM, .gamma = gamma, .p = p, .comp = {.kind = comp, .k = k}};
}

//  The theory stepsize of Theorem 2.1 for the fixture's shards and a compressor.
static double
s_theory_gamma(fixture_t *fx, comp_kind_t kind, size_t k, double *p_out)
{
    method_consts_t pc = sim_consts(fx, DIM, ROWS / N, kind, k);
    double p = theory_marina_p(pc.zeta, DIM);
    *p_out = p;
    return theory_marina_gamma(pc.L, pc.omega, p, N);
}

static void
test_marina_with_identity_is_centralized_gd(void **state)
{
    //  MARINA paper, Sec. 2: with Q = identity, g^{k+1} = g^k + grad f(x^{k+1}) - grad f(x^k) =
    //  grad f(x^{k+1}), whatever the coins, so the iterates are GD's. p = 0.3 makes both kinds of
    //  round occur. Rounding differs (sums in another order) by ~1e-16 per step; 200 steps of a
    //  contraction-free map stay far below 1e-12.
    fixture_t *fx = *state;
    double p;
    double gamma = s_theory_gamma(fx, COMP_IDENTITY, DIM, &p);
    method_params_t mp = s_params(COMP_IDENTITY, DIM, 0.3, gamma);
    sim_t s;
    sim_init(&s, "marina", &mp, fx->loss, NULL, 1);
    vec_t x, g;
    assert_int_equal(vec_init(&x, DIM), MR_OK);
    assert_int_equal(vec_init(&g, DIM), MR_OK);
    int coins[2] = {0, 0};
    for (uint64_t k = 0; k <= 200; k++) {
        sim_gd_step(&fx->f, gamma, k, &x, &g);
        sim_round(&s, k);
        coins[s.rd.coin]++;
        sim_assert_x_near(&s, &x, 1e-12);
    }
    assert_true(coins[0] > 0 && coins[1] > 1);
    sim_fini(&s);
    vec_fini(&x);
    vec_fini(&g);
}

static void
test_marina_randk_with_theory_stepsize_converges(void **state)
{
    //  Theorem 2.1 with p = K/d (Corollary 2.1) and RandK K = 3 of d = 30 (omega = 9): gamma is
    //  ~1/(1 + sqrt(0.9 * 9 / (0.1 * 4))) ~ 1/5.5 of GD's 1/L. The theorem bounds the average of
    //  E||grad f||^2 by 2 Delta_0 / (gamma K); we check the plainer claim that the final iterate's
    //  squared gradient norm is 100x below the start within 5000 rounds (fixed seed).
    fixture_t *fx = *state;
    double p;
    double gamma = s_theory_gamma(fx, COMP_RANDK, 3, &p);
    assert_near(p, 0.1, 1e-15);
    method_params_t mp = s_params(COMP_RANDK, 3, p, gamma);
    sim_t s;
    sim_init(&s, "marina", &mp, fx->loss, NULL, 2);
    double g0 = sim_grad_norm_sq(&fx->f, sim_x(&s));
    uint64_t sparse_rounds = 0;
    for (uint64_t k = 0; k <= 5000; k++) {
        sim_round(&s, k);
        if (k > 0 && !s.rd.coin) {
            //  Compressed rounds send exactly K values per worker.
            for (size_t i = 0; i < N; i++) {
                assert_int_equal(s.out[i].kind, CVEC_SPARSE);
                assert_int_equal(s.out[i].nnz, 3);
            }
            sparse_rounds++;
        }
    }
    double gk = sim_grad_norm_sq(&fx->f, sim_x(&s));
    print_message("marina randk: gamma %.4g, ||grad f||^2 %.3g -> %.3g after 5000 rounds\n", gamma,
                  g0, gk);
    assert_true(gk <= g0 / 100.0);
    //  c_k = 0 in about (1 - p) of the rounds: 4500 expected, sd 21; 5 sd = 106.
    assert_near(sparse_rounds, 4500.0, 106.0);
    sim_fini(&s);
}

static void
test_gd_equals_marina_with_p_one(void **state)
{
    //  GD ignores p and the compressor; MARINA with p = 1 and identity runs the same arithmetic,
    //  so the iterates agree bit for bit.
    fixture_t *fx = *state;
    double p;
    double gamma = s_theory_gamma(fx, COMP_IDENTITY, DIM, &p);
    method_params_t gd_mp = s_params(COMP_RANDK, 2, 0.05, gamma);
    method_params_t marina_mp = s_params(COMP_IDENTITY, DIM, 1.0, gamma);
    sim_t gd, marina;
    sim_init(&gd, "gd", &gd_mp, fx->loss, NULL, 3);
    sim_init(&marina, "marina", &marina_mp, fx->loss, NULL, 4);
    for (uint64_t k = 0; k <= 100; k++) {
        sim_round(&gd, k);
        sim_round(&marina, k);
        assert_int_equal(gd.rd.coin, 1);
        for (size_t i = 0; i < N; i++)
            assert_int_equal(gd.out[i].kind, CVEC_DENSE);
        assert_memory_equal(sim_x(&gd)->x, sim_x(&marina)->x, DIM * sizeof(double));
    }
    sim_fini(&gd);
    sim_fini(&marina);
}

static void
test_same_seed_gives_identical_iterates(void **state)
{
    fixture_t *fx = *state;
    double p;
    double gamma = s_theory_gamma(fx, COMP_RANDK, 5, &p);
    method_params_t mp = s_params(COMP_RANDK, 5, p, gamma);
    //  Another seed draws other coordinates and coins: the iterates part.
    sim_assert_seed_decides("marina", &mp, fx->loss, 7, 8, 300, sim_round);
}

static void
test_reports_and_round_zero(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_params(COMP_RANDK, 3, 0.5, 0.1);
    sim_t s;
    sim_init(&s, "marina", &mp, fx->loss, NULL, 9);
    method_round_t rd;
    s.m->server_plan(s.server, 0, &s.server_rng, &rd);
    assert_int_equal(rd.round, 0);
    assert_int_equal(rd.coin, 1);
    assert_null(rd.g);
    method_report_t rep;
    assert_int_equal(s.m->worker_step(s.worker[0], &rd, &s.worker_rng[0], &s.out[0], &rep), MR_OK);
    assert_int_equal(rep.oracle_calls, fx->part[0].rows);
    assert_int_equal(rep.have_eval, 1);
    assert_near(rep.f, 0.25, 1e-15);  // x^0 = 0: every margin is 0
    assert_int_equal(s.out[0].kind, CVEC_DENSE);
    assert_memory_equal(s.out[0].val, rep.grad->x, DIM * sizeof(double));
    //  Stepping the same round twice is refused.
    assert_int_equal(s.m->worker_step(s.worker[0], &rd, &s.worker_rng[0], &s.out[0], &rep),
                     MR_EINVAL);
    sim_fini(&s);
}

static void
test_combine_rejects_wrong_dim_and_round(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_params(COMP_IDENTITY, DIM, 1.0, 0.1);
    sim_t s;
    sim_init(&s, "marina", &mp, fx->loss, NULL, 10);
    const cvec_t *ups[N];
    sim_step_workers(&s, 0, ups);
    method_round_t rd = s.rd;
    mr_err_t err;
    s.out[2].dim = DIM - 1;
    assert_int_equal(s.m->server_combine(s.server, &rd, ups, &err), MR_EDIM);
    assert_non_null(strstr(err.text, "worker 2"));
    s.out[2].dim = DIM;
    method_round_t late = rd;
    late.round = 5;
    assert_int_equal(s.m->server_combine(s.server, &late, ups, &err), MR_EINVAL);
    //  The failures left the server untouched: the real round still combines.
    assert_int_equal(s.m->server_combine(s.server, &rd, ups, &err), MR_OK);
    sim_fini(&s);
}

static void
test_new_rejects_bad_params(void **state)
{
    fixture_t *fx = *state;
    const method_t *m = method_find("marina");
    vec_t x0, x_short;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    assert_int_equal(vec_init(&x_short, DIM - 1), MR_OK);
    mr_err_t err;
    method_params_t mp = s_params(COMP_RANDK, 0, 0.5, 0.1);
    assert_null(m->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_int_equal(err.rc, MR_ECONFIG);
    assert_non_null(strstr(err.text, "'k'"));
    mp = s_params(COMP_RANDK, 3, 0.0, 0.1);
    assert_null(m->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'p'"));
    assert_null(m->server_new(&mp, &x0, &err));
    mp = s_params(COMP_RANDK, 3, 0.5, -1.0);
    assert_null(m->server_new(&mp, &x0, &err));
    assert_non_null(strstr(err.text, "'gamma'"));
    mp = s_params(COMP_RANDK, 3, 0.5, 0.1);
    assert_null(m->worker_new(&mp, &fx->loss[0], 0, &x_short, &err));
    assert_int_equal(err.rc, MR_EDIM);
    vec_fini(&x0);
    vec_fini(&x_short);
}

static void
test_find_knows_every_listed_name_and_nothing_else(void **state)
{
    assert_null(method_find("nope"));
    assert_null(method_find(""));
    assert_null(method_find(NULL));
    const char *const *names = method_names();
    size_t count = 0;
    for (; names[count]; count++) {
        const method_t *m = method_find(names[count]);
        assert_non_null(m);
        assert_string_equal(m->name, names[count]);
    }
    // Every method the papers' optimization side needs is in the table.
    static const char *const expected[] = {"gd",
                                           "dcgd",
                                           "diana",
                                           "vr-diana",
                                           "marina",
                                           "vr-marina",
                                           "vr-marina-online",
                                           "pp-marina",
                                           "sgd",
                                           "sega",
                                           "sega-biased",
                                           "sega-subspace",
                                           "cd",
                                           "acd",
                                           "asega",
                                           "rds",
                                           "byz-vr-marina",
                                           "br-sgdm"};
    assert_int_equal(count, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < count; i++)
        assert_non_null(method_find(expected[i]));
    assert_string_equal(method_find("marina")->name, "marina");
    assert_string_equal(method_find("gd")->name, "gd");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_marina_with_identity_is_centralized_gd, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_marina_randk_with_theory_stepsize_converges, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_gd_equals_marina_with_p_one, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_same_seed_gives_identical_iterates, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_reports_and_round_zero, s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_combine_rejects_wrong_dim_and_round, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_new_rejects_bad_params, s_setup, sim_data_teardown),
        cmocka_unit_test(test_find_knows_every_listed_name_and_nothing_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
