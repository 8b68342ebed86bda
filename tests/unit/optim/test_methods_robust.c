//  test_methods_robust.c - robust aggregation inside the methods' servers (method_robust.c):
//  Byz-VR-MARINA aggregates g_i (full rounds) and g^{k-1} + Q_i (compressed rounds), BR-DIANA
//  h_i + Delta_i; an absent update (NULL) is skipped; the distance to the honest mean is kept;
//  estimator = local aggregates each worker's running estimator g_i^{prev} + Q_i.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "method.h"
#include "test_util.h"

enum {
    N = 3,
    D = 2
};

static method_params_t
s_params(agg_rule_t rule, size_t byzantine, double alpha)
{
    method_params_t mp = {0};
    mp.n = N;
    mp.dim = D;
    mp.m = 10;
    mp.gamma = 0.5;
    mp.p = 0.5;
    mp.alpha = alpha;
    mp.comp.kind = COMP_IDENTITY;
    mp.batch = mp.batch_prime = 1;
    mp.seed = 3;
    agg_cfg_default(&mp.agg);
    mp.agg.rule = rule;
    mp.agg.byzantine = byzantine;
    mp.byzantine = byzantine;
    return mp;
}

//  ups[i] = dense (v[i][0], v[i][1]).
static void
s_dense(cvec_t *ups, const double v[N][D])
{
    for (int i = 0; i < N; i++) {
        cvec_init(&ups[i], D, D);
        ups[i].kind = CVEC_DENSE;
        ups[i].dim = ups[i].nnz = D;
        ups[i].val[0] = v[i][0];
        ups[i].val[1] = v[i][1];
    }
}

static void
test_byz_vr_marina_takes_the_median_of_what_the_server_sees(void **state)
{
    (void) state;
    const method_t *m = method_find("byz-vr-marina");
    assert_non_null(m);
    method_params_t mp = s_params(AGG_CM, 1, 0);
    vec_t x0;
    vec_init(&x0, D);
    method_server_t *s = m->server_new(&mp, &x0, NULL);
    assert_non_null(s);
    rng_t rng;
    rng_seed(&rng, 1, 0);
    //  Round 0 (full): median of (1, 10), (2, 20), (300, -5) = (2, 10).
    method_round_t rd;
    m->server_plan(s, 0, &rng, &rd);
    cvec_t ups[N];
    const double v0[N][D] = {{1, 10}, {2, 20}, {300, -5}};
    s_dense(ups, v0);
    const cvec_t *ptr[N] = {&ups[0], &ups[1], &ups[2]};
    assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    //  The honest mean of round 0 is ((1 + 2) / 2, (10 + 20) / 2) = (1.5, 15): distance^2 to
    //  (2, 10) = 0.25 + 25.
    assert_true(fabs(m->server_agg_dist_sq(s) - 25.25) < 1e-12);
    //  Next round, compressed or full: find a compressed one (the coin draws from rng).
    uint64_t k = 1;
    for (;; k++) {
        m->server_plan(s, k, &rng, &rd);
        if (!rd.coin)
            break;
        assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    }
    vec_t before;
    vec_init(&before, D);
    vec_copy(&before, rd.g);
    //  Compressed: the median of g + Q_i with worker 1 absent: median of two = their mean.
    const double v1[N][D] = {{1, 1}, {5, 5}, {-3, 7}};
    for (int i = 0; i < N; i++) {
        ups[i].val[0] = v1[i][0];
        ups[i].val[1] = v1[i][1];
    }
    const cvec_t *absent[N] = {&ups[0], NULL, &ups[2]};
    assert_int_equal(m->server_combine(s, &rd, absent, NULL), MR_OK);
    method_round_t next;
    m->server_plan(s, k + 1, &rng, &next);
    assert_true(fabs(next.g->x[0] - (before.x[0] + (1 - 3) / 2.0)) < 1e-12);
    assert_true(fabs(next.g->x[1] - (before.x[1] + (1 + 7) / 2.0)) < 1e-12);
    //  An update of every worker absent is an error, not a crash.
    const cvec_t *none[N] = {NULL, NULL, NULL};
    mr_err_t err;
    assert_int_not_equal(m->server_combine(s, &next, none, &err), MR_OK);
    for (int i = 0; i < N; i++)
        cvec_fini(&ups[i]);
    vec_fini(&before);
    vec_fini(&x0);
    m->server_destroy(&s);
}

static void
test_br_diana_aggregates_each_workers_shift_plus_its_difference(void **state)
{
    (void) state;
    const method_t *m = method_find("diana");
    method_params_t mp = s_params(AGG_CM, 1, 0.5);
    vec_t x0;
    vec_init(&x0, D);
    method_server_t *s = m->server_new(&mp, &x0, NULL);
    assert_non_null(s);
    rng_t rng;
    rng_seed(&rng, 1, 0);
    cvec_t ups[N];
    const double v0[N][D] = {{2, 0}, {4, 0}, {100, 0}};
    s_dense(ups, v0);
    const cvec_t *ptr[N] = {&ups[0], &ups[1], &ups[2]};
    method_round_t rd;
    m->server_plan(s, 0, &rng, &rd);
    assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    //  h_i = 0: g^0 = median(2, 4, 100) = 4; then h_i = alpha Delta_i = (1, 2, 50).
    m->server_plan(s, 1, &rng, &rd);
    assert_true(rd.g->x[0] == 4.0);
    const double v1[N][D] = {{1, 0}, {0, 0}, {-60, 0}};
    for (int i = 0; i < N; i++)
        ups[i].val[0] = v1[i][0];
    assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    //  Views h_i + Delta_i = (2, 2, -10): median 2.
    m->server_plan(s, 2, &rng, &rd);
    assert_true(rd.g->x[0] == 2.0);
    for (int i = 0; i < N; i++)
        cvec_fini(&ups[i]);
    vec_fini(&x0);
    m->server_destroy(&s);
}

static void
test_without_attackers_the_mean_keeps_the_exact_average(void **state)
{
    (void) state;
    //  aggregator = mean, no attackers: robust aggregation is off and the distance is 0.
    method_params_t mp = s_params(AGG_MEAN, 0, 0);
    assert_false(method_robust_wanted(&mp));
    mp.agg.bucket = 2;
    assert_true(method_robust_wanted(&mp));
    mp.agg.bucket = 0;
    const method_t *m = method_find("marina");
    vec_t x0;
    vec_init(&x0, D);
    method_server_t *s = m->server_new(&mp, &x0, NULL);
    rng_t rng;
    rng_seed(&rng, 1, 0);
    cvec_t ups[N];
    const double v0[N][D] = {{0.1, 1}, {0.2, 2}, {0.4, 4}};
    s_dense(ups, v0);
    const cvec_t *ptr[N] = {&ups[0], &ups[1], &ups[2]};
    method_round_t rd;
    m->server_plan(s, 0, &rng, &rd);
    assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    m->server_plan(s, 1, &rng, &rd);
    assert_true(rd.g->x[0] == (0.1 + 0.2 + 0.4) * (1.0 / 3.0));
    assert_true(m->server_agg_dist_sq(s) == 0.0);
    for (int i = 0; i < N; i++)
        cvec_fini(&ups[i]);
    vec_fini(&x0);
    m->server_destroy(&s);
}

//  estimator = local (the authors' code): the server aggregates each worker's own running
//  estimator g_i = g_i^{prev} + Q_i, not g^{k-1} + Q_i; an absent worker keeps its estimator.
static void
test_local_estimator_aggregates_each_workers_own_running_sum(void **state)
{
    (void) state;
    const method_t *m = method_find("byz-vr-marina");
    assert_true(m->local_estimator);
    method_params_t mp = s_params(AGG_CM, 1, 0);
    mp.local_estimator = 1;
    mp.p = 1e-9;  // every round after round 0 is compressed
    vec_t x0;
    vec_init(&x0, D);
    method_server_t *s = m->server_new(&mp, &x0, NULL);
    assert_non_null(s);
    rng_t rng;
    rng_seed(&rng, 1, 0);
    method_round_t rd;
    m->server_plan(s, 0, &rng, &rd);
    cvec_t ups[N];
    const double v0[N][D] = {{1, 10}, {2, 20}, {300, -5}};
    s_dense(ups, v0);
    const cvec_t *ptr[N] = {&ups[0], &ups[1], &ups[2]};
    assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    m->server_plan(s, 1, &rng, &rd);
    assert_int_equal(rd.coin, 0);
    assert_true(rd.g->x[0] == 2.0 && rd.g->x[1] == 10.0);
    //  Views g_i^0 + Q_i = (2, 11), (7, 25), (297, 2): median (7, 11). (Alg. 1 would take the
    //  median of g^0 + Q_i = (3, 11), (7, 15), (-1, 17): (3, 15).)
    const double v1[N][D] = {{1, 1}, {5, 5}, {-3, 7}};
    for (int i = 0; i < N; i++) {
        ups[i].val[0] = v1[i][0];
        ups[i].val[1] = v1[i][1];
    }
    assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    m->server_plan(s, 2, &rng, &rd);
    assert_true(rd.g->x[0] == 7.0 && rd.g->x[1] == 11.0);
    //  Worker 1 absent: the median of the other two running sums, (3, 12) and (294, 9).
    const cvec_t *absent[N] = {&ups[0], NULL, &ups[2]};
    assert_int_equal(m->server_combine(s, &rd, absent, NULL), MR_OK);
    m->server_plan(s, 3, &rng, &rd);
    assert_true(fabs(rd.g->x[0] - (3 + 294) / 2.0) < 1e-12);
    assert_true(fabs(rd.g->x[1] - (12 + 9) / 2.0) < 1e-12);
    //  Worker 1 is back with its estimator (7, 25) + (5, 5) = (12, 30): median of (4, 13),
    //  (12, 30), (291, 16) = (12, 16).
    assert_int_equal(m->server_combine(s, &rd, ptr, NULL), MR_OK);
    m->server_plan(s, 4, &rng, &rd);
    assert_true(rd.g->x[0] == 12.0 && rd.g->x[1] == 16.0);
    for (int i = 0; i < N; i++)
        cvec_fini(&ups[i]);
    vec_fini(&x0);
    m->server_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byz_vr_marina_takes_the_median_of_what_the_server_sees),
        cmocka_unit_test(test_br_diana_aggregates_each_workers_shift_plus_its_difference),
        cmocka_unit_test(test_without_attackers_the_mean_keeps_the_exact_average),
        cmocka_unit_test(test_local_estimator_aggregates_each_workers_own_running_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
