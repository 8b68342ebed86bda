//  test_loss.c - loss.h: the oracle against finite differences, and the smoothness constant.
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
#include "test_util.h"

typedef struct {
    csr_t data;
    loss_t loss;
    vec_t x, grad, tmp;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(data_synthetic(300, 20, 0.3, 3, 17, &f->data, NULL), MR_OK);
    assert_int_equal(loss_init(&f->loss, LOSS_NONCONVEX, 0.0, &f->data, NULL), MR_OK);
    assert_int_equal(vec_init(&f->x, 20), MR_OK);
    assert_int_equal(vec_init(&f->grad, 20), MR_OK);
    assert_int_equal(vec_init(&f->tmp, 20), MR_OK);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    vec_fini(&f->x);
    vec_fini(&f->grad);
    vec_fini(&f->tmp);
    csr_fini(&f->data);
    free(f);
    return 0;
}

//  phi(t) = (1 - sigmoid(t))^2 written naively, for the brute-force checks below.
static double
s_phi(double t)
{
    double s = 1.0 / (1.0 + exp(-t));
    return (1.0 - s) * (1.0 - s);
}

static void
test_grad_matches_central_differences(void **state)
{
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 3, 0);
    //  Central differences with h = 1e-5: truncation h^2 |f'''| / 6 ~ 1e-11 (|f'''| is O(1) for
    //  unit features), rounding ~ eps |f| / h ~ 1e-11. Demand 1e-6 of the gradient's largest
    //  entry, the scale that matters, with room to spare.
    const double h = 1e-5;
    for (int trial = 0; trial < 10; trial++) {
        for (size_t j = 0; j < f->x.dim; j++)
            f->x.x[j] = 0.5 * rng_normal(&r);
        double fx = loss_value_grad(&f->loss, &f->x, &f->grad);
        assert_near(fx, loss_value(&f->loss, &f->x), 1e-15);
        double scale = 0.0;
        for (size_t j = 0; j < f->x.dim; j++)
            scale = fmax(scale, fabs(f->grad.x[j]));
        assert_true(scale > 1e-4);  // a meaningful test, not 0 == 0
        for (size_t j = 0; j < f->x.dim; j++) {
            vec_copy(&f->tmp, &f->x);
            f->tmp.x[j] += h;
            double up = loss_value(&f->loss, &f->tmp);
            f->tmp.x[j] -= 2 * h;
            double down = loss_value(&f->loss, &f->tmp);
            assert_near((up - down) / (2 * h), f->grad.x[j], 1e-6 * scale);
        }
    }
}

static void
test_value_is_mean_of_phi(void **state)
{
    fixture_t *f = *state;
    //  At x = 0 every margin is 0 and phi(0) = 1/4; the gradient is -1/4 * 1/m sum y_t a_t.
    vec_zero(&f->x);
    assert_near(loss_value_grad(&f->loss, &f->x, &f->grad), 0.25, 1e-15);
    const csr_t *a = &f->data;
    vec_zero(&f->tmp);
    for (size_t t = 0; t < a->rows; t++)
        for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
            f->tmp.x[a->col[j]] += -0.25 * a->y[t] * a->val[j] / (double) a->rows;
    assert_near(vec_max_abs_diff(&f->tmp, &f->grad), 0, 1e-15);
}

static void
test_batch_over_all_rows_is_full_grad(void **state)
{
    fixture_t *f = *state;
    uint32_t *rows = malloc(f->data.rows * sizeof *rows);
    assert_non_null(rows);
    for (size_t t = 0; t < f->data.rows; t++)
        rows[t] = (uint32_t) t;
    for (size_t j = 0; j < f->x.dim; j++)
        f->x.x[j] = 0.1 * (double) j - 0.7;
    loss_value_grad(&f->loss, &f->x, &f->grad);
    loss_batch_grad(&f->loss, rows, f->data.rows, &f->x, &f->tmp);
    assert_near(vec_max_abs_diff(&f->tmp, &f->grad), 0, 1e-15);

    //  Repeats count: the batch {5, 5} averages to row 5's gradient, as does {5}.
    rows[0] = 5, rows[1] = 5;
    loss_batch_grad(&f->loss, rows, 2, &f->x, &f->grad);
    loss_batch_grad(&f->loss, rows, 1, &f->x, &f->tmp);
    assert_near(vec_max_abs_diff(&f->tmp, &f->grad), 0, 1e-15);
    free(rows);
}

static void
test_extreme_margins_stay_finite(void **state)
{
    fixture_t *f = *state;
    for (size_t j = 0; j < f->x.dim; j++)
        f->x.x[j] = j % 2 ? 1e6 : -1e6;
    double v = loss_value_grad(&f->loss, &f->x, &f->grad);
    assert_true(isfinite(v) && v >= 0.0 && v <= 1.0);
    assert_true(vec_is_finite(&f->grad));
}

static void
test_max_curvature_matches_numeric_second_derivative(void **state)
{
    //  Brute force: phi'' by central second differences (h = 1e-4: truncation h^2 |phi''''| / 12
    //  < 1e-9, rounding 4 eps / h^2 ~ 1e-7 since phi <= 1) on a grid of step 1e-4 over [-20, 20]
    //  (|phi''| < 1e-8 beyond). Near the maximiser the grid misses the peak by at most
    //  |phi'''| step^2 / 8 < 1e-8. Allow 1e-6.
    const double h = 1e-4;
    double best = 0.0;
    for (double t = -20.0; t <= 20.0; t += 1e-4) {
        double d2 = (s_phi(t + h) - 2.0 * s_phi(t) + s_phi(t - h)) / (h * h);
        best = fmax(best, fabs(d2));
    }
    double c = loss_nonconvex_max_curvature();
    assert_near(c, best, 1e-6);
    assert_near(c, 0.15406, 1e-5);
}

static void
test_smoothness_is_curvature_times_max_row_norm(void **state)
{
    fixture_t *f = *state;
    double L = loss_smoothness(&f->loss);
    assert_true(L > 0.0);
    assert_near(L, loss_nonconvex_max_curvature() * csr_max_row_norm_sq(&f->data), 1e-15);
}

static void
test_smoothness_bounds_gradient_change(void **state)
{
    //  The claim loss_smoothness() exists for: ||grad f_i(x) - grad f_i(y)|| <= L ||x - y||.
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 8, 0);
    double L = loss_smoothness(&f->loss);
    for (int trial = 0; trial < 100; trial++) {
        for (size_t j = 0; j < f->x.dim; j++) {
            f->x.x[j] = rng_normal(&r);
            f->tmp.x[j] = f->x.x[j] + 0.1 * rng_normal(&r);
        }
        vec_t gy;
        assert_int_equal(vec_init(&gy, f->x.dim), MR_OK);
        loss_value_grad(&f->loss, &f->x, &f->grad);
        loss_value_grad(&f->loss, &f->tmp, &gy);
        vec_axpy(&gy, -1.0, &f->grad);
        vec_axpy(&f->tmp, -1.0, &f->x);
        assert_true(sqrt(vec_norm_sq(&gy)) <= L * sqrt(vec_norm_sq(&f->tmp)) + 1e-15);
        vec_fini(&gy);
    }
}

static void
test_init_rejects_empty_shard(void **state)
{
    csr_t empty = {0};
    loss_t l;
    mr_err_t err;
    assert_int_equal(loss_init(&l, LOSS_NONCONVEX, 0.0, &empty, &err), MR_EINVAL);
    assert_int_equal(err.rc, MR_EINVAL);
}

//  Every (kind, lambda) pair the tests below sweep.
static const loss_kind_t s_kinds[] = {LOSS_NONCONVEX, LOSS_LOGREG, LOSS_QUADRATIC};
static const double s_lambdas[] = {0.0, 0.1};
#define S_NKINDS   (sizeof s_kinds / sizeof s_kinds[0])
#define S_NLAMBDAS (sizeof s_lambdas / sizeof s_lambdas[0])

//  x_j ~ N(0, sd^2).
static void
s_random_x(rng_t *r, vec_t *x, double sd)
{
    for (size_t j = 0; j < x->dim; j++)
        x->x[j] = sd * rng_normal(r);
}

static void
test_every_kind_grad_matches_central_differences(void **state)
{
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 4, 0);
    //  As above: h = 1e-5 gives truncation h^2 |f'''| / 6 and rounding eps |f| / h, both below
    //  1e-9 here (|f| < 10 at these x: 0/1 features, <= 20 per row, x ~ N(0, 0.3^2)); logreg and
    //  quadratic have |phi'''| <= 1 and 0. Demand 1e-6 of the largest gradient entry.
    const double h = 1e-5;
    for (size_t k = 0; k < S_NKINDS; k++) {
        for (size_t q = 0; q < S_NLAMBDAS; q++) {
            loss_t l;
            assert_int_equal(loss_init(&l, s_kinds[k], s_lambdas[q], &f->data, NULL), MR_OK);
            for (int trial = 0; trial < 5; trial++) {
                s_random_x(&r, &f->x, 0.3);
                double fx = loss_value_grad(&l, &f->x, &f->grad);
                assert_near(fx, loss_value(&l, &f->x), 1e-13 * fabs(fx));
                double scale = 0.0;
                for (size_t j = 0; j < f->x.dim; j++)
                    scale = fmax(scale, fabs(f->grad.x[j]));
                assert_true(scale > 1e-4);
                for (size_t j = 0; j < f->x.dim; j++) {
                    vec_copy(&f->tmp, &f->x);
                    f->tmp.x[j] += h;
                    double up = loss_value(&l, &f->tmp);
                    f->tmp.x[j] -= 2 * h;
                    double down = loss_value(&l, &f->tmp);
                    assert_near((up - down) / (2 * h), f->grad.x[j], 1e-6 * scale);
                }
            }
        }
    }
}

//  The shard's support: the distinct columns of its entries, increasing, nothing else.
static void
test_support_is_the_distinct_columns(void **state)
{
    csr_t data;
    assert_int_equal(data_synthetic(40, 5000, 0.002, 2, 9, &data, NULL), MR_OK);
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, 0.0, &data, NULL), MR_OK);
    loss_support_t s;
    assert_int_equal(loss_support_init(&s, &l, NULL), MR_OK);
    uint8_t *has = calloc(data.cols, 1);
    assert_non_null(has);
    for (size_t k = 0; k < data.nnz; k++)
        has[data.col[k]] = 1;
    size_t expect = 0;
    for (size_t j = 0; j < data.cols; j++)
        expect += has[j];
    assert_int_equal(s.n, expect);
    assert_true(s.n < data.cols / 4);  // the case the sparse gradient is for
    for (size_t k = 0; k < s.n; k++) {
        assert_true(has[s.col[k]]);
        if (k > 0)
            assert_true(s.col[k - 1] < s.col[k]);
    }
    free(has);
    loss_support_fini(&s);
    loss_support_fini(&s);  // safe twice
    csr_fini(&data);
}

//  loss_value_grad_sparse() gives loss_value_grad()'s bits, value and gradient, for every kind
//  and lambda, call after call on the same two buffers (as a MARINA worker alternates them), at
//  points with coordinates of both signs and zeros: the zeros it leaves off the support are +0.0.
static void
test_sparse_grad_equals_dense_bit_for_bit(void **state)
{
    csr_t data;
    assert_int_equal(data_synthetic(64, 3000, 0.004, 3, 10, &data, NULL), MR_OK);
    vec_t x, dense, sparse[2];
    assert_int_equal(vec_init(&x, data.cols), MR_OK);
    assert_int_equal(vec_init(&dense, data.cols), MR_OK);
    assert_int_equal(vec_init(&sparse[0], data.cols), MR_OK);
    assert_int_equal(vec_init(&sparse[1], data.cols), MR_OK);
    rng_t r;
    rng_seed(&r, 12, 0);
    for (size_t k = 0; k < S_NKINDS; k++) {
        for (size_t q = 0; q < S_NLAMBDAS; q++) {
            loss_t l;
            assert_int_equal(loss_init(&l, s_kinds[k], s_lambdas[q], &data, NULL), MR_OK);
            loss_support_t s;
            assert_int_equal(loss_support_init(&s, &l, NULL), MR_OK);
            vec_zero(&sparse[0]);
            vec_zero(&sparse[1]);
            for (int trial = 0; trial < 6; trial++) {
                s_random_x(&r, &x, trial < 3 ? 0.3 : 30.0);  // large: saturated sigmoids
                if (trial == 5)
                    vec_zero(&x);
                double fd = loss_value_grad(&l, &x, &dense);
                double fs = loss_value_grad_sparse(&l, &s, &x, &sparse[trial % 2]);
                assert_memory_equal(&fd, &fs, sizeof fd);
                assert_memory_equal(dense.x, sparse[trial % 2].x, data.cols * sizeof *dense.x);
            }
            //  NULL support: the dense call.
            double fn = loss_value_grad_sparse(&l, NULL, &x, &sparse[0]);
            double fd = loss_value_grad(&l, &x, &dense);
            assert_memory_equal(&fd, &fn, sizeof fd);
            assert_memory_equal(dense.x, sparse[0].x, data.cols * sizeof *dense.x);
            loss_support_fini(&s);
        }
    }
    vec_fini(&x);
    vec_fini(&dense);
    vec_fini(&sparse[0]);
    vec_fini(&sparse[1]);
    csr_fini(&data);
}

//  A shard of 0/1 features (every stored value 1.0, as in mushrooms and a9a) takes the row loops
//  without the products by 1.0: f and the gradient are the same bits as the general loops give
//  (unit_values forced to 0), for every kind and lambda, rows of every length (the 4-row lanes and
//  the tail), small and saturating x. One value that is not 1.0 turns the fast path off.
static void
test_unit_values_give_the_same_bits(void **state)
{
    (void) state;
    csr_t data;
    assert_int_equal(data_synthetic(203, 60, 0.2, 3, 21, &data, NULL), MR_OK);
    for (size_t j = 0; j < data.nnz; j++)
        data.val[j] = 1.0;
    vec_t x, fast, slow;
    assert_int_equal(vec_init(&x, data.cols), MR_OK);
    assert_int_equal(vec_init(&fast, data.cols), MR_OK);
    assert_int_equal(vec_init(&slow, data.cols), MR_OK);
    rng_t r;
    rng_seed(&r, 31, 0);
    for (size_t k = 0; k < S_NKINDS; k++) {
        for (size_t q = 0; q < S_NLAMBDAS; q++) {
            loss_t l, general;
            assert_int_equal(loss_init(&l, s_kinds[k], s_lambdas[q], &data, NULL), MR_OK);
            assert_int_equal(l.unit_values, 1);
            general = l;
            general.unit_values = 0;
            for (int trial = 0; trial < 8; trial++) {
                s_random_x(&r, &x, trial < 4 ? 0.3 : 30.0);
                double ff = loss_value_grad(&l, &x, &fast);
                double fs = loss_value_grad(&general, &x, &slow);
                assert_memory_equal(&ff, &fs, sizeof ff);
                assert_memory_equal(fast.x, slow.x, data.cols * sizeof *fast.x);
            }
        }
    }
    data.val[data.nnz / 2] = 2.0;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_NONCONVEX, 0.0, &data, NULL), MR_OK);
    assert_int_equal(l.unit_values, 0);
    vec_fini(&x);
    vec_fini(&fast);
    vec_fini(&slow);
    csr_fini(&data);
}

static void
test_every_kind_batch_over_all_rows_is_full_grad(void **state)
{
    fixture_t *f = *state;
    size_t m = f->data.rows;
    uint32_t *rows = malloc(m * sizeof *rows);
    double *ones = malloc(m * sizeof *ones);
    assert_non_null(rows);
    assert_non_null(ones);
    for (size_t t = 0; t < m; t++) {
        rows[t] = (uint32_t) t;
        ones[t] = 1.0;
    }
    vec_t gw;
    assert_int_equal(vec_init(&gw, f->x.dim), MR_OK);
    rng_t r;
    rng_seed(&r, 5, 0);
    for (size_t k = 0; k < S_NKINDS; k++) {
        for (size_t q = 0; q < S_NLAMBDAS; q++) {
            loss_t l;
            assert_int_equal(loss_init(&l, s_kinds[k], s_lambdas[q], &f->data, NULL), MR_OK);
            s_random_x(&r, &f->x, 0.3);
            loss_value_grad(&l, &f->x, &f->grad);
            loss_batch_grad(&l, rows, m, &f->x, &f->tmp);
            //  The same sums in the same order; lambda x may differ in the last bit (m * 1/m).
            assert_near(vec_max_abs_diff(&f->tmp, &f->grad), 0, 1e-14);
            //  The weighted batch with all weights 1 (given, or w = NULL) is the plain batch.
            loss_batch_grad_weighted(&l, rows, ones, m, &f->x, &gw);
            assert_near(vec_max_abs_diff(&gw, &f->tmp), 0, 0.0);
            loss_batch_grad_weighted(&l, rows, NULL, m, &f->x, &gw);
            assert_near(vec_max_abs_diff(&gw, &f->tmp), 0, 0.0);
        }
    }
    vec_fini(&gw);
    free(ones);
    free(rows);
}

static void
test_weighted_batch_scales_each_row(void **state)
{
    //  1/b sum_j w_j grad f_ij, the regulariser included: rows {3, 7} with weights {2, 0.5} give
    //  (2 grad f_i3 + 0.5 grad f_i7) / 2, built here from single-row batches.
    fixture_t *f = *state;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, 0.1, &f->data, NULL), MR_OK);
    for (size_t j = 0; j < f->x.dim; j++)
        f->x.x[j] = 0.05 * (double) j - 0.4;
    uint32_t rows[2] = {3, 7};
    double w[2] = {2.0, 0.5};
    loss_batch_grad_weighted(&l, rows, w, 2, &f->x, &f->grad);
    vec_t g3, g7;
    assert_int_equal(vec_init(&g3, f->x.dim), MR_OK);
    assert_int_equal(vec_init(&g7, f->x.dim), MR_OK);
    loss_batch_grad(&l, &rows[0], 1, &f->x, &g3);
    loss_batch_grad(&l, &rows[1], 1, &f->x, &g7);
    vec_zero(&f->tmp);
    vec_axpy(&f->tmp, 1.0, &g3);
    vec_axpy(&f->tmp, 0.25, &g7);
    assert_near(vec_max_abs_diff(&f->tmp, &f->grad), 0, 1e-15);
    vec_fini(&g3);
    vec_fini(&g7);
}

static void
test_convex_kinds_values_at_zero(void **state)
{
    //  At x = 0: logreg is log 2 per sample, the quadratic 1/2 y^2 = 1/2; the regulariser is 0.
    //  Their gradients are -1/2 mean(y a) and -mean(y a). A sum of m = 300 terms of size ~1 may
    //  carry m eps ~ 7e-14 of rounding: allow 1e-13.
    fixture_t *f = *state;
    const csr_t *a = &f->data;
    vec_zero(&f->x);
    vec_zero(&f->tmp);
    for (size_t t = 0; t < a->rows; t++)
        for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
            f->tmp.x[a->col[j]] -= a->y[t] * a->val[j] / (double) a->rows;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, 0.1, &f->data, NULL), MR_OK);
    assert_near(loss_value_grad(&l, &f->x, &f->grad), log(2.0), 1e-13);
    vec_scale(&f->grad, 2.0);
    assert_near(vec_max_abs_diff(&f->grad, &f->tmp), 0, 1e-13);
    assert_int_equal(loss_init(&l, LOSS_QUADRATIC, 0.1, &f->data, NULL), MR_OK);
    assert_near(loss_value_grad(&l, &f->x, &f->grad), 0.5, 1e-13);
    assert_near(vec_max_abs_diff(&f->grad, &f->tmp), 0, 1e-13);
}

static void
test_regulariser_adds_half_lambda_norm_sq(void **state)
{
    //  f with lambda minus f without is lambda/2 |x|^2, its gradient lambda x, for every kind.
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 6, 0);
    s_random_x(&r, &f->x, 1.0);
    double nx = vec_norm_sq(&f->x);
    for (size_t k = 0; k < S_NKINDS; k++) {
        loss_t l0, l1;
        assert_int_equal(loss_init(&l0, s_kinds[k], 0.0, &f->data, NULL), MR_OK);
        assert_int_equal(loss_init(&l1, s_kinds[k], 0.1, &f->data, NULL), MR_OK);
        double f0 = loss_value_grad(&l0, &f->x, &f->tmp);
        double f1 = loss_value_grad(&l1, &f->x, &f->grad);
        assert_near(f1 - f0, 0.05 * nx, 1e-12);
        vec_axpy(&f->grad, -1.0, &f->tmp);
        vec_scale(&f->grad, 10.0);
        assert_near(vec_max_abs_diff(&f->grad, &f->x), 0, 1e-12);
    }
}

static void
test_logreg_extreme_margins_stay_finite(void **state)
{
    //  |a^T x| up to ~1e7: the naive log(1 + exp(-t)) overflows to inf for t < -710, the stable
    //  form gives -t; the gradient's sigmoid saturates at 0 or 1 without NaN.
    fixture_t *f = *state;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, 0.0, &f->data, NULL), MR_OK);
    for (size_t j = 0; j < f->x.dim; j++)
        f->x.x[j] = j % 2 ? 1e6 : -1e6;
    double v = loss_value_grad(&l, &f->x, &f->grad);
    assert_true(isfinite(v) && v >= 0.0);
    assert_true(vec_is_finite(&f->grad));
    assert_near(v, loss_value(&l, &f->x), 1e-12 * v);
    //  The gradient is a mean of -y s(-t) a_t with 0/1 features: each entry within [-1, 1].
    for (size_t j = 0; j < f->x.dim; j++)
        assert_true(fabs(f->grad.x[j]) <= 1.0);
}

//  grad f_ij(x) of one sample, through a batch of one row.
static void
s_sample_grad(const loss_t *l, uint32_t j, const vec_t *x, vec_t *g)
{
    loss_batch_grad(l, &j, 1, x, g);
}

static void
test_sample_smoothness_bounds_sample_gradient_change(void **state)
{
    //  ||grad f_ij(x) - grad f_ij(y)|| <= L_ij ||x - y|| on random pairs, near and far, for the
    //  convex kinds; the 1e-12 relative slack covers rounding only.
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 9, 0);
    vec_t y, gx, gy;
    assert_int_equal(vec_init(&y, f->x.dim), MR_OK);
    assert_int_equal(vec_init(&gx, f->x.dim), MR_OK);
    assert_int_equal(vec_init(&gy, f->x.dim), MR_OK);
    const loss_kind_t kinds[] = {LOSS_LOGREG, LOSS_QUADRATIC};
    for (size_t k = 0; k < 2; k++) {
        for (size_t q = 0; q < S_NLAMBDAS; q++) {
            loss_t l;
            assert_int_equal(loss_init(&l, kinds[k], s_lambdas[q], &f->data, NULL), MR_OK);
            double Lmax = 0.0;
            for (size_t j = 0; j < f->data.rows; j++)
                Lmax = fmax(Lmax, loss_sample_smoothness(&l, j));
            assert_near(loss_smoothness(&l), Lmax, 1e-15 * Lmax);
            for (int trial = 0; trial < 300; trial++) {
                uint32_t j = (uint32_t) rng_below(&r, f->data.rows);
                double spread = trial % 2 ? 0.05 : 2.0;
                s_random_x(&r, &f->x, 1.0);
                for (size_t c = 0; c < y.dim; c++)
                    y.x[c] = f->x.x[c] + spread * rng_normal(&r);
                s_sample_grad(&l, j, &f->x, &gx);
                s_sample_grad(&l, j, &y, &gy);
                vec_axpy(&gy, -1.0, &gx);
                vec_copy(&f->tmp, &y);
                vec_axpy(&f->tmp, -1.0, &f->x);
                double lhs = sqrt(vec_norm_sq(&gy));
                double rhs = loss_sample_smoothness(&l, j) * sqrt(vec_norm_sq(&f->tmp));
                assert_true(lhs <= rhs * (1.0 + 1e-12));
            }
        }
    }
    vec_fini(&y);
    vec_fini(&gx);
    vec_fini(&gy);
}

static void
test_quadratic_sample_smoothness_is_attained(void **state)
{
    //  The Hessian of the quadratic f_ij is a_j a_j^T + lambda I, whose top eigenvector is a_j:
    //  a step along a_j changes the gradient by exactly L_ij times the step, so L_ij is tight.
    fixture_t *f = *state;
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_QUADRATIC, 0.1, &f->data, NULL), MR_OK);
    const csr_t *a = &f->data;
    uint32_t j = 11;
    vec_t y, gx, gy;
    assert_int_equal(vec_init(&y, f->x.dim), MR_OK);
    assert_int_equal(vec_init(&gx, f->x.dim), MR_OK);
    assert_int_equal(vec_init(&gy, f->x.dim), MR_OK);
    for (size_t c = 0; c < f->x.dim; c++)
        f->x.x[c] = 0.1 * (double) c;
    vec_copy(&y, &f->x);
    for (size_t k = a->rowptr[j]; k < a->rowptr[j + 1]; k++)
        y.x[a->col[k]] += 0.3 * a->val[k];
    s_sample_grad(&l, j, &f->x, &gx);
    s_sample_grad(&l, j, &y, &gy);
    vec_axpy(&gy, -1.0, &gx);
    vec_copy(&f->tmp, &y);
    vec_axpy(&f->tmp, -1.0, &f->x);
    double ratio = sqrt(vec_norm_sq(&gy) / vec_norm_sq(&f->tmp));
    assert_near(ratio, loss_sample_smoothness(&l, j), 1e-12 * ratio);
    vec_fini(&y);
    vec_fini(&gx);
    vec_fini(&gy);
}

static void
test_smoothness_constants_per_kind(void **state)
{
    //  L_ij = max|phi''| ||a_j||^2 + lambda with max|phi''| = 0.154.., 1/4, 1; L_i = max_j L_ij.
    fixture_t *f = *state;
    const csr_t *a = &f->data;
    double c[] = {loss_nonconvex_max_curvature(), 0.25, 1.0};
    for (size_t k = 0; k < S_NKINDS; k++) {
        loss_t l;
        assert_int_equal(loss_init(&l, s_kinds[k], 0.1, &f->data, NULL), MR_OK);
        for (size_t j = 0; j < a->rows; j += 37) {
            double n2 = 0.0;
            for (size_t q = a->rowptr[j]; q < a->rowptr[j + 1]; q++)
                n2 += a->val[q] * a->val[q];
            assert_near(loss_sample_smoothness(&l, j), c[k] * n2 + 0.1, 1e-14);
        }
        assert_near(loss_smoothness(&l), c[k] * csr_max_row_norm_sq(a) + 0.1, 1e-14);
    }
}

static void
test_kind_parse_round_trips_and_rejects(void **state)
{
    for (size_t k = 0; k < S_NKINDS; k++) {
        loss_kind_t kind = (loss_kind_t) 99;
        assert_int_equal(loss_kind_parse(loss_kind_name(s_kinds[k]), &kind, NULL), MR_OK);
        assert_int_equal(kind, s_kinds[k]);
    }
    assert_string_equal(loss_kind_name(LOSS_LOGREG), "logreg");
    assert_true(loss_kind_is_convex(LOSS_LOGREG) && loss_kind_is_convex(LOSS_QUADRATIC));
    assert_false(loss_kind_is_convex(LOSS_NONCONVEX));

    const char *bad[] = {"", "LogReg", "logreg ", "convex", NULL};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        loss_kind_t kind = LOSS_QUADRATIC;
        mr_err_t err;
        assert_int_equal(loss_kind_parse(bad[b], &kind, &err), MR_ECONFIG);
        assert_int_equal(err.rc, MR_ECONFIG);
        assert_int_equal(kind, LOSS_QUADRATIC);  // untouched
        assert_non_null(strstr(err.text, "'loss'"));
        assert_non_null(strstr(err.text, "nonconvex"));
        assert_non_null(strstr(err.text, "logreg"));
        assert_non_null(strstr(err.text, "quadratic"));
    }
    loss_kind_t kind;
    assert_int_equal(loss_kind_parse("nope", &kind, NULL), MR_ECONFIG);  // err is optional
}

static void
test_init_rejects_bad_lambda_and_kind(void **state)
{
    fixture_t *f = *state;
    loss_t l;
    mr_err_t err;
    assert_int_equal(loss_init(&l, LOSS_LOGREG, -0.1, &f->data, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "'lambda'"));
    assert_int_equal(loss_init(&l, LOSS_LOGREG, NAN, &f->data, &err), MR_ECONFIG);
    assert_int_equal(loss_init(&l, LOSS_LOGREG, INFINITY, &f->data, &err), MR_ECONFIG);
    assert_int_equal(loss_init(&l, (loss_kind_t) 7, 0.0, &f->data, &err), MR_EINVAL);
    for (size_t k = 0; k < S_NKINDS; k++)
        assert_int_equal(loss_init(&l, s_kinds[k], 0.0, &f->data, NULL), MR_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grad_matches_central_differences, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_value_is_mean_of_phi, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_over_all_rows_is_full_grad, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_extreme_margins_stay_finite, s_setup, s_teardown),
        cmocka_unit_test(test_max_curvature_matches_numeric_second_derivative),
        cmocka_unit_test_setup_teardown(test_smoothness_is_curvature_times_max_row_norm, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_smoothness_bounds_gradient_change, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_init_rejects_empty_shard),
        cmocka_unit_test_setup_teardown(test_every_kind_grad_matches_central_differences, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_unit_values_give_the_same_bits),
        cmocka_unit_test_setup_teardown(test_every_kind_batch_over_all_rows_is_full_grad, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_weighted_batch_scales_each_row, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_convex_kinds_values_at_zero, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_regulariser_adds_half_lambda_norm_sq, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_logreg_extreme_margins_stay_finite, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sample_smoothness_bounds_sample_gradient_change,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_quadratic_sample_smoothness_is_attained, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_smoothness_constants_per_kind, s_setup, s_teardown),
        cmocka_unit_test(test_kind_parse_round_trips_and_rejects),
        cmocka_unit_test_setup_teardown(test_init_rejects_bad_lambda_and_kind, s_setup, s_teardown),
        cmocka_unit_test(test_support_is_the_distinct_columns),
        cmocka_unit_test(test_sparse_grad_equals_dense_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
