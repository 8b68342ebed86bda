//  test_vec.c - vec.h: dense arithmetic and compressed vectors.
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mr_err.h"
#include "rng.h"
#include "vec.h"
#include "test_util.h"

static void
test_init_gives_zero_vector_and_fini_is_idempotent(void **state)
{
    vec_t v;
    assert_int_equal(vec_init(&v, 5), MR_OK);
    assert_int_equal(v.dim, 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(v.x[i] == 0.0);
    vec_fini(&v);
    assert_null(v.x);
    vec_fini(&v);

    vec_t e;
    assert_int_equal(vec_init(&e, 0), MR_OK);
    assert_int_equal(e.dim, 0);
    assert_true(vec_norm_sq(&e) == 0.0);
    vec_fini(&e);
}

static void
test_arithmetic(void **state)
{
    vec_t a, b;
    assert_int_equal(vec_init(&a, 3), MR_OK);
    assert_int_equal(vec_init(&b, 3), MR_OK);
    a.x[0] = 1, a.x[1] = -2, a.x[2] = 3;
    b.x[0] = 4, b.x[1] = 5, b.x[2] = -6;
    assert_near(vec_dot(&a, &b), 4 - 10 - 18, 0);
    assert_near(vec_norm_sq(&a), 14, 0);
    vec_axpy(&b, 2.0, &a);  // b = (6, 1, 0)
    assert_near(b.x[0], 6, 0);
    assert_near(b.x[1], 1, 0);
    assert_near(b.x[2], 0, 0);
    vec_scale(&b, 0.5);
    assert_near(b.x[0], 3, 0);
    //  a - b = (1, -2, 3) - (3, 0.5, 0) = (-2, -2.5, 3)
    assert_near(vec_max_abs_diff(&a, &b), 3, 0);
    vec_copy(&b, &a);
    assert_near(vec_max_abs_diff(&a, &b), 0, 0);
    vec_zero(&b);
    assert_near(vec_norm_sq(&b), 0, 0);
    vec_fini(&a);
    vec_fini(&b);
}

//  vec_axpy() gives, at every length around the vector widths and with y the same vector as x
//  too, the bits of y_i + a x_i computed one coordinate at a time.
static void
test_axpy_is_the_one_at_a_time_sum_to_the_bit(void **state)
{
    (void) state;
    rng_t rng;
    rng_seed(&rng, 11, 2);
    for (size_t n = 0; n <= 19; n++) {
        vec_t y, x;
        assert_int_equal(vec_init(&y, n ? n : 1), MR_OK);
        assert_int_equal(vec_init(&x, n ? n : 1), MR_OK);
        y.dim = x.dim = n;
        double want[19];
        double a = 0.1 + rng_uniform(&rng);
        for (size_t i = 0; i < n; i++) {
            y.x[i] = 1e3 * (rng_uniform(&rng) - 0.5);
            x.x[i] = 1e-3 * (rng_uniform(&rng) - 0.5);
            volatile double prod = a * x.x[i];  // rounded on its own, as the loop does
            want[i] = y.x[i] + prod;
        }
        vec_axpy(&y, a, &x);
        assert_memory_equal(y.x, want, n * sizeof *want);
        for (size_t i = 0; i < n; i++) {  // y and x the same vector
            volatile double prod = a * y.x[i];
            want[i] = y.x[i] + prod;
        }
        vec_axpy(&y, a, &y);
        assert_memory_equal(y.x, want, n * sizeof *want);
        y.dim = x.dim = n ? n : 1;
        vec_fini(&y);
        vec_fini(&x);
    }
}

//  vec_all_finite() reads bits: the largest and smallest finite values pass, every NaN (quiet,
//  signalling, negative) and both infinities fail, at every position of vectors of every length
//  around the vector widths.
static void
test_all_finite_reads_the_exponent_bits(void **state)
{
    (void) state;
    const double good[] = {0.0, -0.0, DBL_MAX, -DBL_MAX, DBL_MIN, 4.9e-324, -4.9e-324, 1.0};
    const uint64_t bad_bits[] = {0x7ff0000000000000ull, 0xfff0000000000000ull,
                                 0x7ff8000000000000ull, 0x7ff0000000000001ull,
                                 0xffffffffffffffffull, 0x7ff4000000000000ull};
    double x[19] = {0};
    for (size_t n = 0; n <= 19; n++) {
        for (size_t i = 0; i < n; i++)
            x[i] = good[i % (sizeof good / sizeof good[0])];
        assert_true(vec_all_finite(x, n));
        for (size_t at = 0; at < n; at++) {
            for (size_t b = 0; b < sizeof bad_bits / sizeof bad_bits[0]; b++) {
                double keep = x[at];
                memcpy(&x[at], &bad_bits[b], sizeof x[at]);
                assert_false(vec_all_finite(x, n));
                assert_int_equal(vec_all_finite(x, n), !isnan(x[at]) && !isinf(x[at]));
                //  vec_all_finite_at() looks at the listed positions alone.
                uint32_t listed[2] = {(uint32_t) at, (uint32_t) (n - 1 - at)};
                assert_false(vec_all_finite_at(x, listed, 1));
                uint32_t others[19];
                size_t nothers = 0;
                for (size_t i = 0; i < n; i++)
                    if (i != at)
                        others[nothers++] = (uint32_t) i;
                assert_true(vec_all_finite_at(x, others, nothers));
                assert_false(vec_all_finite_at(x, listed, at == n - 1 - at ? 1 : 2));
                x[at] = keep;
            }
        }
    }
}

static void
test_finite_checks_catch_nan_and_inf(void **state)
{
    vec_t v;
    assert_int_equal(vec_init(&v, 3), MR_OK);
    assert_true(vec_is_finite(&v));
    v.x[1] = NAN;
    assert_false(vec_is_finite(&v));
    v.x[1] = -INFINITY;
    assert_false(vec_is_finite(&v));

    //  A NaN must never look like "no difference".
    vec_t w;
    assert_int_equal(vec_init(&w, 3), MR_OK);
    v.x[1] = NAN;
    assert_true(vec_max_abs_diff(&v, &w) > 1e300);

    cvec_t c;
    assert_int_equal(cvec_init(&c, 3, 3), MR_OK);
    w.x[2] = 1.0;
    cvec_set_dense(&c, &w);
    assert_true(cvec_is_finite(&c));
    c.val[0] = INFINITY;
    assert_false(cvec_is_finite(&c));
    cvec_fini(&c);
    vec_fini(&v);
    vec_fini(&w);
}

static void
test_cvec_dense_round_trip(void **state)
{
    vec_t v, back;
    cvec_t c;
    assert_int_equal(vec_init(&v, 4), MR_OK);
    assert_int_equal(vec_init(&back, 4), MR_OK);
    assert_int_equal(cvec_init(&c, 4, 4), MR_OK);
    assert_int_equal(c.kind, CVEC_DENSE);
    assert_int_equal(c.nnz, 0);
    for (size_t i = 0; i < 4; i++)
        v.x[i] = (double) i + 0.25;
    cvec_set_dense(&c, &v);
    assert_int_equal(c.kind, CVEC_DENSE);
    assert_int_equal(c.nnz, 4);
    cvec_to_dense(&c, &back);
    assert_near(vec_max_abs_diff(&v, &back), 0, 0);
    //  y += a c
    cvec_axpy_to(&back, -1.0, &c);
    assert_near(vec_norm_sq(&back), 0, 0);
    cvec_fini(&c);
    cvec_fini(&c);
    vec_fini(&v);
    vec_fini(&back);
}

static void
test_cvec_sparse_axpy_and_to_dense(void **state)
{
    cvec_t c;
    vec_t y;
    assert_int_equal(cvec_init(&c, 6, 2), MR_OK);
    assert_int_equal(vec_init(&y, 6), MR_OK);
    c.kind = CVEC_SPARSE;
    c.nnz = 2;
    c.idx[0] = 1, c.val[0] = 2.0;
    c.idx[1] = 5, c.val[1] = -3.0;
    for (size_t i = 0; i < 6; i++)
        y.x[i] = 1.0;
    cvec_axpy_to(&y, 0.5, &c);
    double want[6] = {1, 2, 1, 1, 1, -0.5};
    for (size_t i = 0; i < 6; i++)
        assert_near(y.x[i], want[i], 0);
    cvec_to_dense(&c, &y);
    double dense[6] = {0, 2, 0, 0, 0, -3};
    for (size_t i = 0; i < 6; i++)
        assert_near(y.x[i], dense[i], 0);
    cvec_fini(&c);
    vec_fini(&y);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_gives_zero_vector_and_fini_is_idempotent),
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_finite_checks_catch_nan_and_inf),
        cmocka_unit_test(test_axpy_is_the_one_at_a_time_sum_to_the_bit),
        cmocka_unit_test(test_all_finite_reads_the_exponent_bits),
        cmocka_unit_test(test_cvec_dense_round_trip),
        cmocka_unit_test(test_cvec_sparse_axpy_and_to_dense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
