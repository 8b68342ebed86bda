//  test_prox.c - prox.h: the closed forms of the four proximal operators, their defining
//  minimisation, R's values and the parameter checks.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "prox.h"
#include "rng.h"
#include "test_util.h"

enum {
    DIM = 7,
};

//  A vector of DIM values from an array literal.
static vec_t
s_vec(const double *vals)
{
    vec_t v;
    assert_int_equal(vec_init(&v, DIM), MR_OK);
    memcpy(v.x, vals, DIM * sizeof(double));
    return v;
}

static void
test_l1_soft_thresholds_at_gamma_lambda1(void **state)
{
    (void) state;
    //  gamma lambda1 = 2 * 0.5 = 1: |x_i| <= 1 goes to 0, the rest moves 1 towards 0.
    prox_cfg_t cfg = {.kind = PROX_L1, .lambda1 = 0.5};
    vec_t x = s_vec((double[DIM]){3.0, -3.0, 0.5, -1.0, 1.0, 0.0, -1.25});
    const double want[DIM] = {2.0, -2.0, 0.0, 0.0, 0.0, 0.0, -0.25};
    prox_apply(&cfg, 2.0, &x);
    for (size_t i = 0; i < DIM; i++)
        assert_near(x.x[i], want[i], 0.0);
    vec_fini(&x);
}

static void
test_l2_divides_by_one_plus_gamma_lambda2(void **state)
{
    (void) state;
    prox_cfg_t cfg = {.kind = PROX_L2, .lambda2 = 3.0};
    const double in[DIM] = {2.5, -5.0, 0.0, 1.0, -1.0, 10.0, 0.25};
    vec_t x = s_vec(in);
    prox_apply(&cfg, 0.5, &x);  // 1 + 0.5 * 3 = 2.5
    for (size_t i = 0; i < DIM; i++)
        assert_near(x.x[i], in[i] / 2.5, 1e-15 * fabs(in[i]));
    vec_fini(&x);
}

static void
test_ball_keeps_inside_and_projects_outside(void **state)
{
    (void) state;
    prox_cfg_t cfg = {.kind = PROX_BALL, .radius = 1.0};
    //  Inside (|x| = 0.5): unchanged, bit for bit, whatever gamma.
    const double in[DIM] = {0.3, -0.4, 0, 0, 0, 0, 0};
    vec_t x = s_vec(in);
    prox_apply(&cfg, 123.0, &x);
    assert_memory_equal(x.x, in, sizeof in);
    //  Outside: (3, 4) of norm 5 goes to (0.6, 0.8) on the sphere.
    x.x[0] = 3.0;
    x.x[1] = -4.0;
    prox_apply(&cfg, 0.1, &x);
    assert_near(x.x[0], 0.6, 1e-15);
    assert_near(x.x[1], -0.8, 1e-15);
    for (size_t i = 2; i < DIM; i++)
        assert_near(x.x[i], 0.0, 0.0);
    assert_near(vec_norm_sq(&x), 1.0, 1e-15);
    vec_fini(&x);
}

static void
test_box_clamps_each_coordinate(void **state)
{
    (void) state;
    prox_cfg_t cfg = {.kind = PROX_BOX, .lo = -1.0, .hi = 2.0};
    vec_t x = s_vec((double[DIM]){-3.0, -1.0, 0.5, 2.0, 7.0, -0.999, 2.001});
    const double want[DIM] = {-1.0, -1.0, 0.5, 2.0, 2.0, -0.999, 2.0};
    prox_apply(&cfg, 5.0, &x);
    assert_memory_equal(x.x, want, sizeof want);
    vec_fini(&x);
}

static void
test_none_is_the_identity(void **state)
{
    (void) state;
    prox_cfg_t cfg = {.kind = PROX_NONE, .lambda1 = 5, .lambda2 = 5, .radius = 1e-3};
    const double in[DIM] = {-3.0, -1.0, 0.5, 2.0, 7.0, -0.999, 2.001};
    vec_t x = s_vec(in);
    prox_apply(&cfg, 1.0, &x);
    assert_memory_equal(x.x, in, sizeof in);
    assert_near(prox_value(&cfg, &x), 0.0, 0.0);
    vec_fini(&x);
}

//  R(u) + |u - x|^2 / (2 gamma): what prox_{gamma R}(x) minimises.
static double
s_prox_objective(const prox_cfg_t *cfg, double gamma, const vec_t *u, const vec_t *x)
{
    double d2 = 0.0;
    for (size_t i = 0; i < u->dim; i++)
        d2 += (u->x[i] - x->x[i]) * (u->x[i] - x->x[i]);
    return prox_value(cfg, u) + d2 / (2.0 * gamma);
}

static void
test_prox_minimises_its_objective(void **state)
{
    (void) state;
    //  For each kind, 200 random x (N(0, 2^2) coordinates, so that every case occurs: thresholded
    //  and kept coordinates, points in and out of the ball and the box) and gammas in (0.1, 2.1);
    //  p = prox(x) must do at least as well as 50 random u near p (p plus N(0, s^2) with s from
    //  1e-1 down to 1e-6, so that both far and first-order comparisons happen). The objective is
    //  strongly convex, so a u strictly better than p would be a bug. Slack 1e-12: rounding of
    //  objectives of size ~10 (~1e-15 each) with room.
    const prox_cfg_t cfgs[] = {
        {.kind = PROX_L1, .lambda1 = 0.7},
        {.kind = PROX_L2, .lambda2 = 1.3},
        {.kind = PROX_BALL, .radius = 2.5},
        {.kind = PROX_BOX, .lo = -1.5, .hi = 0.5},
    };
    rng_t rng;
    rng_seed(&rng, 42, 0);
    vec_t x, p, u;
    assert_int_equal(vec_init(&x, DIM), MR_OK);
    assert_int_equal(vec_init(&p, DIM), MR_OK);
    assert_int_equal(vec_init(&u, DIM), MR_OK);
    size_t compared = 0;
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        for (int trial = 0; trial < 200; trial++) {
            for (size_t i = 0; i < DIM; i++)
                x.x[i] = 2.0 * rng_normal(&rng);
            double gamma = 0.1 + 2.0 * rng_uniform(&rng);
            vec_copy(&p, &x);
            prox_apply(&cfgs[c], gamma, &p);
            double best = s_prox_objective(&cfgs[c], gamma, &p, &x);
            assert_true(isfinite(best));  // a constraint's prox lands in its set
            for (int j = 0; j < 50; j++) {
                double s = pow(10.0, -1.0 - 5.0 * rng_uniform(&rng));
                for (size_t i = 0; i < DIM; i++)
                    u.x[i] = p.x[i] + s * rng_normal(&rng);
                double other = s_prox_objective(&cfgs[c], gamma, &u, &x);
                compared += isfinite(other);
                assert_true(best <= other + 1e-12);
            }
        }
    }
    //  The constraint sets must not make the comparison vacuous: most u are feasible for l1
    //  and l2 (all 20000) and many near the ball and the box.
    assert_true(compared > 25000);
    vec_fini(&x);
    vec_fini(&p);
    vec_fini(&u);
}

static void
test_value_of_each_regulariser(void **state)
{
    (void) state;
    vec_t x = s_vec((double[DIM]){1.0, -2.0, 0.0, 0.5, 0.0, 0.0, -0.5});  // |x|^2 = 5.5, |x|_1 = 4
    assert_near(prox_value(&(prox_cfg_t){.kind = PROX_L1, .lambda1 = 0.25}, &x), 1.0, 1e-15);
    assert_near(prox_value(&(prox_cfg_t){.kind = PROX_L2, .lambda2 = 2.0}, &x), 5.5, 1e-15);
    prox_cfg_t ball = {.kind = PROX_BALL, .radius = sqrt(5.5) * 1.001};
    assert_near(prox_value(&ball, &x), 0.0, 0.0);
    ball.radius = sqrt(5.5) * 0.999;
    assert_true(isinf(prox_value(&ball, &x)) && prox_value(&ball, &x) > 0);
    prox_cfg_t box = {.kind = PROX_BOX, .lo = -2.0, .hi = 1.0};
    assert_near(prox_value(&box, &x), 0.0, 0.0);  // the bounds are inside
    box.hi = 0.75;
    assert_true(isinf(prox_value(&box, &x)));
    box.hi = 1.0;
    box.lo = -1.5;
    assert_true(isinf(prox_value(&box, &x)));
    x.x[0] = NAN;
    box.lo = -2.0;
    assert_true(isinf(prox_value(&box, &x)));  // NaN is in no box
    vec_fini(&x);
}

static void
test_projected_points_count_as_inside(void **state)
{
    (void) state;
    //  x radius / |x| has norm radius only up to rounding; prox_value's relative slack of 1e-12
    //  must accept every projected point, for radii over many magnitudes.
    rng_t rng;
    rng_seed(&rng, 7, 0);
    vec_t x;
    assert_int_equal(vec_init(&x, DIM), MR_OK);
    for (int trial = 0; trial < 2000; trial++) {
        prox_cfg_t ball = {.kind = PROX_BALL, .radius = pow(10.0, -6.0 + 12.0 * rng_uniform(&rng))};
        double scale = ball.radius * pow(10.0, 6.0 * rng_uniform(&rng));
        for (size_t i = 0; i < DIM; i++)
            x.x[i] = scale * rng_normal(&rng);
        prox_apply(&ball, 1.0, &x);
        assert_near(prox_value(&ball, &x), 0.0, 0.0);
        assert_true(sqrt(vec_norm_sq(&x)) <= ball.radius * (1.0 + 1e-14));
        prox_cfg_t box = {.kind = PROX_BOX, .lo = -ball.radius, .hi = 0.5 * ball.radius};
        prox_apply(&box, 1.0, &x);
        assert_near(prox_value(&box, &x), 0.0, 0.0);
    }
    vec_fini(&x);
}

//  prox_check(cfg) fails with MR_ECONFIG and a text naming key (and key2 if not NULL).
static void
s_assert_rejected(prox_cfg_t cfg, const char *key, const char *key2)
{
    mr_err_t err;
    mr_err_clear(&err);
    assert_int_equal(prox_check(&cfg, &err), MR_ECONFIG);
    assert_int_equal(err.rc, MR_ECONFIG);
    assert_non_null(strstr(err.text, key));
    if (key2)
        assert_non_null(strstr(err.text, key2));
    assert_int_equal(prox_check(&cfg, NULL), MR_ECONFIG);  // err is optional
}

static void
test_check_names_the_bad_key(void **state)
{
    (void) state;
    s_assert_rejected((prox_cfg_t){.kind = PROX_L1, .lambda1 = -0.1}, "'lambda1'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_L1, .lambda1 = NAN}, "'lambda1'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_L1, .lambda1 = INFINITY}, "'lambda1'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_L2, .lambda2 = -1.0}, "'lambda2'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_L2, .lambda2 = NAN}, "'lambda2'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_BALL, .radius = 0.0}, "'radius'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_BALL, .radius = -2.0}, "'radius'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_BALL, .radius = NAN}, "'radius'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_BOX, .lo = 1.0, .hi = 0.0}, "'lo'", "'hi'");
    s_assert_rejected((prox_cfg_t){.kind = PROX_BOX, .lo = NAN, .hi = 0.0}, "'lo'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = PROX_BOX, .lo = 0.0, .hi = NAN}, "'hi'", NULL);
    s_assert_rejected((prox_cfg_t){.kind = (prox_kind_t) 99}, "'reg'", NULL);
}

static void
test_check_accepts_valid_and_ignores_other_kinds_keys(void **state)
{
    (void) state;
    //  Only the keys of the chosen kind are checked: the defaults of the others may be anything.
    prox_cfg_t bad_rest = {.lambda1 = -1, .lambda2 = -1, .radius = -1, .lo = 1, .hi = 0};
    bad_rest.kind = PROX_NONE;
    assert_int_equal(prox_check(&bad_rest, NULL), MR_OK);
    prox_cfg_t ok[] = {
        {.kind = PROX_L1, .lambda1 = 0.0, .radius = -1},
        {.kind = PROX_L2, .lambda2 = 0.0, .lo = 1, .hi = 0},
        {.kind = PROX_BALL, .radius = 1e-300, .lambda1 = -1},
        {.kind = PROX_BOX, .lo = 2.0, .hi = 2.0, .lambda2 = -1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(prox_check(&ok[i], NULL), MR_OK);
}

static void
test_kind_names_round_trip_and_unknown_names_key_reg(void **state)
{
    (void) state;
    const prox_kind_t kinds[] = {PROX_NONE, PROX_L1, PROX_L2, PROX_BALL, PROX_BOX};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        prox_kind_t k = (prox_kind_t) 99;
        assert_int_equal(prox_kind_parse(prox_kind_name(kinds[i]), &k, NULL), MR_OK);
        assert_int_equal(k, kinds[i]);
    }
    assert_string_equal(prox_kind_name(PROX_BALL), "ball");
    assert_string_equal(prox_kind_name((prox_kind_t) 99), "unknown");
    const char *bad[] = {"", "L1", "l1 ", "lasso", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mr_err_t err;
        prox_kind_t k;
        assert_int_equal(prox_kind_parse(bad[i], &k, &err), MR_ECONFIG);
        assert_non_null(strstr(err.text, "'reg'"));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_l1_soft_thresholds_at_gamma_lambda1),
        cmocka_unit_test(test_l2_divides_by_one_plus_gamma_lambda2),
        cmocka_unit_test(test_ball_keeps_inside_and_projects_outside),
        cmocka_unit_test(test_box_clamps_each_coordinate),
        cmocka_unit_test(test_none_is_the_identity),
        cmocka_unit_test(test_prox_minimises_its_objective),
        cmocka_unit_test(test_value_of_each_regulariser),
        cmocka_unit_test(test_projected_points_count_as_inside),
        cmocka_unit_test(test_check_names_the_bad_key),
        cmocka_unit_test(test_check_accepts_valid_and_ignores_other_kinds_keys),
        cmocka_unit_test(test_kind_names_round_trip_and_unknown_names_key_reg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
