//  test_sampler.c - sampler.h: draw frequencies, importance weights, unbiased minibatch gradients.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "data.h"
#include "loss.h"
#include "rng.h"
#include "sampler.h"
#include "test_util.h"

//  A small shard with very unequal row norms: row t has a_t[t % 3] = scale[t] and a bias
//  a_t[3] = 1, except row 5, which is empty (||a_5|| = 0: with lambda = 0, L_i5 = 0).
#define S_M    8
#define S_COLS 4
static const double s_scale[S_M] = {1.0, 2.0, 3.0, 0.5, 4.0, 0.0, 1.5, 2.5};
#define S_EMPTY_ROW 5
#define S_B         64  // draws per sampler_draw() call in the frequency tests
#define S_SMALL_B   4   // minibatch b in the unbiasedness test

typedef struct {
    csr_t data;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    csr_t *a = &f->data;
    a->rows = S_M;
    a->cols = S_COLS;
    a->rowptr = malloc((S_M + 1) * sizeof *a->rowptr);
    a->col = malloc(2 * S_M * sizeof *a->col);
    a->val = malloc(2 * S_M * sizeof *a->val);
    a->y = malloc(S_M * sizeof *a->y);
    assert_true(a->rowptr && a->col && a->val && a->y);
    a->rowptr[0] = 0;
    for (size_t t = 0; t < S_M; t++) {
        if (t != S_EMPTY_ROW) {
            a->col[a->nnz] = (uint32_t) (t % 3);
            a->val[a->nnz++] = s_scale[t];
            a->col[a->nnz] = 3;
            a->val[a->nnz++] = 1.0;
        }
        a->rowptr[t + 1] = a->nnz;
        a->y[t] = t % 2 ? 1.0 : -1.0;
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    csr_fini(&f->data);
    free(f);
    return 0;
}

static void
test_uniform_frequencies_are_flat(void **state)
{
    //  N draws from m = 8 equally likely rows: Pearson's X^2 = sum (c_j - N/m)^2 / (N/m) is
    //  approximately chi^2 with m - 1 = 7 degrees of freedom (mean 7, sd sqrt(14) ~ 3.7). Demand
    //  X^2 <= 7 + 6 sd ~ 29.4 (a chi^2_7 exceeds it with probability ~1e-4). Weights are all 1.
    fixture_t *f = *state;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, 0.0, &f->data, NULL), MR_OK);
    sampler_t s;
    assert_int_equal(sampler_init(&s, &l, SAMPLING_UNIFORM, NULL), MR_OK);
    assert_null(s.cdf);
    rng_t r;
    rng_seed(&r, 21, 0);
    const size_t N = 200000;
    size_t count[S_M] = {0};
    uint32_t rows[S_B];
    double w[S_B];
    for (size_t k = 0; k < N / S_B; k++) {
        sampler_draw(&s, &r, S_B, rows, w);
        for (size_t j = 0; j < S_B; j++) {
            assert_true(rows[j] < S_M);
            assert_true(w[j] == 1.0);
            count[rows[j]]++;
        }
    }
    double expect = (double) N / S_M, x2 = 0.0;
    for (size_t j = 0; j < S_M; j++)
        x2 += (count[j] - expect) * (count[j] - expect) / expect;
    assert_true(x2 <= 7.0 + 6.0 * sqrt(14.0));
    sampler_draw(&s, &r, S_B, rows, NULL);  // w is optional
    sampler_fini(&s);
    sampler_fini(&s);  // safe twice
}

static void
test_importance_frequencies_follow_smoothness(void **state)
{
    //  The quadratic with lambda = 0 has L_ij = ||a_j||^2 = scale_j^2 + 1 (0 for the empty row), so
    //  P(j) ranges from 0 to 17/61. Each count is Binomial(N, P(j)): demand
    //  |c_j - N P(j)| <= 5 sqrt(N P(j) (1 - P(j))) per row (8 rows: a false alarm ~5e-6), and
    //  the empty row is never drawn.
    fixture_t *f = *state;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_QUADRATIC, 0.0, &f->data, NULL), MR_OK);
    sampler_t s;
    assert_int_equal(sampler_init(&s, &l, SAMPLING_IMPORTANCE, NULL), MR_OK);
    assert_int_equal(s.m, S_M);
    double P[S_M], total = 0.0;
    for (size_t j = 0; j < S_M; j++) {
        P[j] = j == S_EMPTY_ROW ? 0.0 : s_scale[j] * s_scale[j] + 1.0;
        assert_near(loss_sample_smoothness(&l, j), P[j], 1e-15);
        total += P[j];
    }
    for (size_t j = 0; j < S_M; j++) {
        P[j] /= total;
        if (P[j] > 0.0)
            assert_near(s.w[j], 1.0 / (S_M * P[j]), 1e-12 * s.w[j]);
    }
    assert_true(s.cdf[S_M - 1] == 1.0);

    rng_t r;
    rng_seed(&r, 22, 0);
    const size_t N = 400000;
    size_t count[S_M] = {0};
    uint32_t rows[S_B];
    double w[S_B];
    size_t drawn = 0;
    while (drawn < N) {
        sampler_draw(&s, &r, S_B, rows, w);
        for (size_t j = 0; j < S_B; j++) {
            assert_true(rows[j] < S_M);
            assert_true(w[j] == s.w[rows[j]]);
            count[rows[j]]++;
        }
        drawn += S_B;
    }
    assert_int_equal(count[S_EMPTY_ROW], 0);
    for (size_t j = 0; j < S_M; j++) {
        double mean = (double) drawn * P[j];
        double sd = sqrt((double) drawn * P[j] * (1.0 - P[j]));
        assert_near((double) count[j], mean, 5.0 * sd);
    }
    sampler_fini(&s);
}

static void
test_importance_weights_reweight_exactly(void **state)
{
    //  The algebra behind unbiasedness, without sampling: sum_j P(j) w_j grad f_ij equals
    //  grad f_i = 1/m sum_j grad f_ij, with P(j) = cdf[j] - cdf[j-1] as the sampler stores it.
    fixture_t *f = *state;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, 0.1, &f->data, NULL), MR_OK);
    sampler_t s;
    assert_int_equal(sampler_init(&s, &l, SAMPLING_IMPORTANCE, NULL), MR_OK);
    vec_t x, g, gj, acc;
    assert_int_equal(vec_init(&x, S_COLS), MR_OK);
    assert_int_equal(vec_init(&g, S_COLS), MR_OK);
    assert_int_equal(vec_init(&gj, S_COLS), MR_OK);
    assert_int_equal(vec_init(&acc, S_COLS), MR_OK);
    for (size_t c = 0; c < S_COLS; c++)
        x.x[c] = 0.3 * (double) c - 0.5;
    loss_value_grad(&l, &x, &g);
    for (uint32_t j = 0; j < S_M; j++) {
        double p = s.cdf[j] - (j ? s.cdf[j - 1] : 0.0);
        double wj = s.w[j];
        loss_batch_grad_weighted(&l, &j, &wj, 1, &x, &gj);  // w_j grad f_ij
        vec_axpy(&acc, p, &gj);
    }
    assert_near(vec_max_abs_diff(&acc, &g), 0, 1e-14);
    vec_fini(&x);
    vec_fini(&g);
    vec_fini(&gj);
    vec_fini(&acc);
    sampler_fini(&s);
}

//  Draws T minibatches of b and checks that their mean weighted gradient is grad f_i(x) within
//  5 standard errors per coordinate, the standard error estimated from the T draws themselves
//  (sd_c / sqrt(T); with T = 20000 the estimate is good to ~1%). 4 coordinates x 5 sigma: a
//  false alarm ~2e-6 per call.
static void
s_check_unbiased(const csr_t *data, loss_kind_t kind, double lambda, sampling_t how, uint64_t seed)
{
    loss_t l;
    assert_int_equal(loss_init(&l, kind, lambda, data, NULL), MR_OK);
    sampler_t s;
    assert_int_equal(sampler_init(&s, &l, how, NULL), MR_OK);
    vec_t x, g, gb;
    assert_int_equal(vec_init(&x, S_COLS), MR_OK);
    assert_int_equal(vec_init(&g, S_COLS), MR_OK);
    assert_int_equal(vec_init(&gb, S_COLS), MR_OK);
    for (size_t c = 0; c < S_COLS; c++)
        x.x[c] = 0.2 * (double) c - 0.3;
    loss_value_grad(&l, &x, &g);
    const size_t T = 20000;
    double sum[S_COLS] = {0}, sum_sq[S_COLS] = {0};
    uint32_t rows[S_SMALL_B];
    double w[S_SMALL_B];
    rng_t r;
    rng_seed(&r, seed, 0);
    for (size_t k = 0; k < T; k++) {
        sampler_draw(&s, &r, S_SMALL_B, rows, w);
        loss_batch_grad_weighted(&l, rows, w, S_SMALL_B, &x, &gb);
        for (size_t c = 0; c < S_COLS; c++) {
            sum[c] += gb.x[c];
            sum_sq[c] += gb.x[c] * gb.x[c];
        }
    }
    for (size_t c = 0; c < S_COLS; c++) {
        double mean = sum[c] / T;
        double var = fmax(sum_sq[c] / T - mean * mean, 0.0);
        double se = sqrt(var / T);
        assert_true(se > 0.0);  // a real test: the estimator does vary
        assert_near(mean, g.x[c], 5.0 * se + 1e-12);
    }
    vec_fini(&x);
    vec_fini(&g);
    vec_fini(&gb);
    sampler_fini(&s);
}

static void
test_weighted_minibatch_gradient_is_unbiased(void **state)
{
    fixture_t *f = *state;
    s_check_unbiased(&f->data, LOSS_LOGREG, 0.1, SAMPLING_IMPORTANCE, 31);
    s_check_unbiased(&f->data, LOSS_LOGREG, 0.1, SAMPLING_UNIFORM, 32);
    s_check_unbiased(&f->data, LOSS_QUADRATIC, 0.0, SAMPLING_IMPORTANCE, 33);
    s_check_unbiased(&f->data, LOSS_NONCONVEX, 0.1, SAMPLING_IMPORTANCE, 34);
}

static void
test_importance_on_synthetic_data(void **state)
{
    //  On the generator's data (0/1 features, so L_ij = 1/4 nnz_j + lambda): weights positive,
    //  the cdf increasing to 1, and mean_j P(j) w_j = 1/m.
    csr_t data;
    assert_int_equal(data_synthetic(500, 30, 0.2, 2, 5, &data, NULL), MR_OK);
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, 0.01, &data, NULL), MR_OK);
    sampler_t s;
    assert_int_equal(sampler_init(&s, &l, SAMPLING_IMPORTANCE, NULL), MR_OK);
    double prev = 0.0;
    for (size_t j = 0; j < s.m; j++) {
        assert_true(s.w[j] > 0.0 && isfinite(s.w[j]));
        assert_true(s.cdf[j] > prev);
        double p = s.cdf[j] - prev;
        assert_near(p * s.w[j], 1.0 / (double) s.m, 1e-12);
        prev = s.cdf[j];
    }
    assert_true(prev == 1.0);
    sampler_fini(&s);
    csr_fini(&data);
}

static void
test_importance_rejects_all_zero_smoothness(void **state)
{
    //  Only empty rows and lambda = 0: every L_ij = 0, no distribution P(j) ~ L_ij exists.
    csr_t a = {0};
    a.rows = 3;
    a.cols = 2;
    a.rowptr = calloc(4, sizeof *a.rowptr);
    a.col = malloc(sizeof *a.col);
    a.val = malloc(sizeof *a.val);
    a.y = calloc(3, sizeof *a.y);
    assert_true(a.rowptr && a.col && a.val && a.y);
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_QUADRATIC, 0.0, &a, NULL), MR_OK);
    sampler_t s;
    mr_err_t err;
    assert_int_equal(sampler_init(&s, &l, SAMPLING_IMPORTANCE, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "'sampling'"));
    assert_null(s.cdf);
    assert_null(s.w);
    sampler_fini(&s);
    //  Uniform sampling needs no constants.
    assert_int_equal(sampler_init(&s, &l, SAMPLING_UNIFORM, NULL), MR_OK);
    sampler_fini(&s);
    csr_fini(&a);
}

static void
test_kind_parse_accepts_names_and_rejects_others(void **state)
{
    sampling_t kind = SAMPLING_IMPORTANCE;
    assert_int_equal(sampler_kind_parse("uniform", &kind, NULL), MR_OK);
    assert_int_equal(kind, SAMPLING_UNIFORM);
    assert_int_equal(sampler_kind_parse("importance", &kind, NULL), MR_OK);
    assert_int_equal(kind, SAMPLING_IMPORTANCE);
    const char *bad[] = {"", "Uniform", "importance ", "is", NULL};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        mr_err_t err;
        kind = SAMPLING_UNIFORM;
        assert_int_equal(sampler_kind_parse(bad[b], &kind, &err), MR_ECONFIG);
        assert_int_equal(err.rc, MR_ECONFIG);
        assert_int_equal(kind, SAMPLING_UNIFORM);  // untouched
        assert_non_null(strstr(err.text, "'sampling'"));
        assert_non_null(strstr(err.text, "uniform"));
        assert_non_null(strstr(err.text, "importance"));
    }
    assert_int_equal(sampler_kind_parse("x", &kind, NULL), MR_ECONFIG);  // err is optional
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_uniform_frequencies_are_flat, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_importance_frequencies_follow_smoothness, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_importance_weights_reweight_exactly, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_weighted_minibatch_gradient_is_unbiased, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_importance_on_synthetic_data),
        cmocka_unit_test(test_importance_rejects_all_zero_smoothness),
        cmocka_unit_test(test_kind_parse_accepts_names_and_rejects_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
