//  test_theory.c - theory.h: the MARINA paper's parameter formulas on hand-checked numbers.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "theory.h"
#include "test_util.h"

static void
test_p_is_density_over_dimension(void **state)
{
    assert_near(theory_marina_p(10.0, 113), 10.0 / 113.0, 1e-16);
    assert_near(theory_marina_p(113.0, 113), 1.0, 0);  // identity: every round is full
}

static void
test_gamma_reduces_to_gd_without_compression(void **state)
{
    //  omega = 0 or p = 1: Theorem 2.1's stepsize is GD's 1/L.
    assert_near(theory_marina_gamma(4.0, 0.0, 0.3, 5), 0.25, 1e-16);
    assert_near(theory_marina_gamma(4.0, 9.0, 1.0, 5), 0.25, 1e-16);
}

static void
test_gamma_matches_hand_computation(void **state)
{
    //  L = 2, omega = 9, p = 0.1, n = 4: sqrt(0.9 * 9 / 0.4) = sqrt(20.25) = 4.5, gamma = 1/11.
    assert_near(theory_marina_gamma(2.0, 9.0, 0.1, 4), 1.0 / 11.0, 1e-16);
}

static void
test_bad_p_gives_an_unusable_gamma(void **state)
{
    //  p = 0 from a bad configuration must not crash here; the result is rejected later.
    double g = theory_marina_gamma(2.0, 9.0, 0.0, 4);
    assert_false(g > 0.0 && isfinite(g));
}

static void
test_mean_sq_L_is_quadratic_mean(void **state)
{
    double Li[3] = {1.0, 2.0, 2.0};  // sqrt((1 + 4 + 4) / 3) = sqrt(3)
    assert_near(theory_mean_sq_L(Li, 3), sqrt(3.0), 1e-15);
}

static void
test_vr_diana_gamma_matches_hand_computation(void **state)
{
    //  L = 2, omega = 8, n = 2, m = 27: sqrt(1 + 4) = sqrt(5), 27^{2/3} + 8 + 1 = 18,
    //  gamma = 1 / (10 * 2 * sqrt(5) * 18) = 1 / (360 sqrt(5)).
    assert_near(theory_vr_diana_gamma(2.0, 8.0, 2, 27.0), 1.0 / (360.0 * sqrt(5.0)), 1e-17);
    //  DIANA is the theorem at m = 1: 1 / (10 * 2 * sqrt(5) * 10).
    assert_near(theory_diana_gamma(2.0, 8.0, 2), 1.0 / (200.0 * sqrt(5.0)), 1e-17);
    //  Ours: 1 / (2 (1 + 9 * sqrt(4))) = 1/38.
    assert_near(theory_diana_gamma_ours(2.0, 8.0, 2), 1.0 / 38.0, 1e-17);
}

static void
test_vr_diana_reads_a_shard_as_minibatch_components(void **state)
{
    //  mushrooms, n = 5: m = 1624 per worker, b' = max(1, floor(16.24)) = 16, so the theorem's
    //  m is 1624/16 = 101.5 (not rounded) and p = 16/1624.
    assert_int_equal(theory_minibatch(1624), 16);
    assert_near(theory_vr_diana_m(1624, 16), 101.5, 0);
    assert_near(theory_vr_diana_p(1624, 16), 16.0 / 1624.0, 1e-18);
    assert_near(theory_vr_diana_p(1624, 16), 1.0 / theory_vr_diana_m(1624, 16), 1e-18);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p_is_density_over_dimension),
        cmocka_unit_test(test_gamma_reduces_to_gd_without_compression),
        cmocka_unit_test(test_gamma_matches_hand_computation),
        cmocka_unit_test(test_bad_p_gives_an_unusable_gamma),
        cmocka_unit_test(test_mean_sq_L_is_quadratic_mean),
        cmocka_unit_test(test_vr_diana_gamma_matches_hand_computation),
        cmocka_unit_test(test_vr_diana_reads_a_shard_as_minibatch_components),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
