//  test_comp.c - comp.h: the compressors meet Definition 1.1 of the MARINA paper.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "comp.h"
#include "test_util.h"

enum {
    D = 20,
    K = 3,
    TRIALS = 200000
};

//  x_j = (j + 1) (-1)^j / 4: varied magnitudes and signs, no zero coordinate.
static void
s_fill(vec_t *x)
{
    for (size_t j = 0; j < x->dim; j++)
        x->x[j] = (double) (j + 1) * (j % 2 ? -0.25 : 0.25);
}

static void
test_randk_is_unbiased(void **state)
{
    comp_t c;
    vec_t x, sum;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, COMP_RANDK, D, K, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(vec_init(&sum, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 1234, 0);
    for (int t = 0; t < TRIALS; t++) {
        comp_apply(&c, &x, &r, &out);
        cvec_axpy_to(&sum, 1.0, &out);
    }
    //  Q(x)_j is x_j d/K with probability K/d, else 0: mean x_j, variance x_j^2 (d/K - 1). The
    //  average of TRIALS draws has standard error |x_j| sqrt((d/K - 1) / TRIALS) (~0.6% of |x_j|
    //  here). Each coordinate must lie within 5 standard errors (20 such checks: a false alarm
    //  has probability ~1e-5 for a correct compressor; a biased one, e.g. a missing d/K scale,
    //  is off by many).
    double se_factor = sqrt(((double) D / K - 1.0) / TRIALS);
    for (size_t j = 0; j < D; j++)
        assert_near(sum.x[j] / TRIALS, x.x[j], 5.0 * fabs(x.x[j]) * se_factor);
    cvec_fini(&out);
    vec_fini(&x);
    vec_fini(&sum);
    comp_fini(&c);
}

static void
test_randk_variance_equals_omega(void **state)
{
    comp_t c;
    vec_t x, q;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, COMP_RANDK, D, K, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(vec_init(&q, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 99, 0);
    double sum = 0.0;
    for (int t = 0; t < TRIALS; t++) {
        comp_apply(&c, &x, &r, &out);
        cvec_to_dense(&out, &q);
        vec_axpy(&q, -1.0, &x);
        sum += vec_norm_sq(&q);
    }
    //  For RandK the bound of Definition 1.1 is an equality: E|Q(x) - x|^2 = (d/K - 1)|x|^2.
    //  One draw is Z = |x|^2 + c sum_j x_j^2 I_j with c = (d/K - 1)^2 - 1 and I_j the indicator
    //  of "j kept" (probability q = K/d). Sampling without replacement makes the I_j negatively
    //  correlated, so Var Z <= c^2 q (1 - q) sum_j x_j^4. Accept 5 standard errors of the mean.
    double omega = comp_omega(&c);
    double xx = vec_norm_sq(&x), x4 = 0.0;
    for (size_t j = 0; j < D; j++)
        x4 += pow(x.x[j], 4);
    double cc = pow((double) D / K - 1.0, 2) - 1.0;
    double qq = (double) K / D;
    double se = fabs(cc) * sqrt(qq * (1.0 - qq) * x4 / TRIALS);
    assert_near(sum / TRIALS, omega * xx, 5.0 * se);
    assert_near(omega, (double) D / K - 1.0, 0);
    cvec_fini(&out);
    vec_fini(&x);
    vec_fini(&q);
    comp_fini(&c);
}

static void
test_randk_writes_exactly_k_sorted_scaled_entries(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, COMP_RANDK, D, K, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 5, 0);
    for (int t = 0; t < 1000; t++) {
        comp_apply(&c, &x, &r, &out);
        assert_int_equal(out.kind, CVEC_SPARSE);
        assert_int_equal(out.dim, D);
        assert_int_equal(out.nnz, K);
        for (size_t j = 0; j < K; j++) {
            assert_true(out.idx[j] < D);
            if (j > 0)
                assert_true(out.idx[j - 1] < out.idx[j]);
            assert_true(out.val[j] == x.x[out.idx[j]] * ((double) D / K));
        }
        for (size_t j = 0; j < D; j++)
            assert_int_equal(c.scratch[j], 0);
    }
    assert_near(comp_zeta(&c), K, 0);
    assert_int_equal(comp_max_nnz(&c), K);
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
}

static void
test_randk_same_seed_same_output(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t a, b;
    rng_t ra, rb;
    assert_int_equal(comp_init(&c, COMP_RANDK, D, K, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(cvec_init(&a, D, K), MR_OK);
    assert_int_equal(cvec_init(&b, D, K), MR_OK);
    s_fill(&x);
    rng_seed(&ra, 77, rng_stream_worker(2));
    rng_seed(&rb, 77, rng_stream_worker(2));
    for (int t = 0; t < 100; t++) {
        comp_apply(&c, &x, &ra, &a);
        comp_apply(&c, &x, &rb, &b);
        assert_memory_equal(a.idx, b.idx, K * sizeof *a.idx);
        assert_memory_equal(a.val, b.val, K * sizeof *a.val);
    }
    cvec_fini(&a);
    cvec_fini(&b);
    vec_fini(&x);
    comp_fini(&c);
}

static void
test_identity_is_exact_and_dense(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r, untouched;
    assert_int_equal(comp_init(&c, COMP_IDENTITY, D, 0, NULL), MR_OK);  // k is ignored
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 1, 0);
    untouched = r;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_DENSE);
    assert_int_equal(out.nnz, D);
    assert_memory_equal(out.val, x.x, D * sizeof *x.x);
    assert_true(rng_next(&r) == rng_next(&untouched));  // no randomness spent
    assert_near(comp_omega(&c), 0, 0);
    assert_near(comp_zeta(&c), D, 0);
    assert_int_equal(comp_max_nnz(&c), D);
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
    comp_fini(&c);
}

static void
test_randk_with_k_equal_d_is_identity(void **state)
{
    comp_t c;
    vec_t x, back;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, COMP_RANDK, D, D, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(vec_init(&back, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, D), MR_OK);
    s_fill(&x);
    rng_seed(&r, 1, 0);
    comp_apply(&c, &x, &r, &out);
    cvec_to_dense(&out, &back);
    assert_near(vec_max_abs_diff(&x, &back), 0, 0);
    assert_near(comp_omega(&c), 0, 0);
    cvec_fini(&out);
    vec_fini(&x);
    vec_fini(&back);
    comp_fini(&c);
}

static void
test_bad_k_is_rejected_naming_the_key(void **state)
{
    comp_t c;
    mr_err_t err;
    assert_int_equal(comp_init(&c, COMP_RANDK, D, 0, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "'k'"));
    assert_int_equal(comp_init(&c, COMP_RANDK, D, D + 1, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "'k'"));
    comp_fini(&c);  // safe after a failed init
}

static void
test_parse_names_kinds_and_rejects_unknown(void **state)
{
    comp_kind_t kind;
    mr_err_t err;
    assert_int_equal(comp_kind_parse("identity", &kind, NULL), MR_OK);
    assert_int_equal(kind, COMP_IDENTITY);
    assert_int_equal(comp_kind_parse("randk", &kind, NULL), MR_OK);
    assert_int_equal(kind, COMP_RANDK);
    assert_string_equal(comp_kind_name(COMP_IDENTITY), "identity");
    assert_string_equal(comp_kind_name(COMP_RANDK), "randk");
    assert_int_equal(comp_kind_parse("randK", &kind, &err), MR_ECONFIG);
    assert_int_equal(err.rc, MR_ECONFIG);
    assert_non_null(strstr(err.text, "'compressor'"));
    assert_non_null(strstr(err.text, "identity"));
    assert_non_null(strstr(err.text, "randk"));
    assert_int_equal(comp_kind_parse(NULL, &kind, &err), MR_ECONFIG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_randk_is_unbiased),
        cmocka_unit_test(test_randk_variance_equals_omega),
        cmocka_unit_test(test_randk_writes_exactly_k_sorted_scaled_entries),
        cmocka_unit_test(test_randk_same_seed_same_output),
        cmocka_unit_test(test_identity_is_exact_and_dense),
        cmocka_unit_test(test_randk_with_k_equal_d_is_identity),
        cmocka_unit_test(test_bad_k_is_rejected_naming_the_key),
        cmocka_unit_test(test_parse_names_kinds_and_rejects_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
