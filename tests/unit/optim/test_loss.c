//  test_loss.c - loss.h: the oracle against finite differences, and the smoothness constant.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
    assert_int_equal(loss_init(&f->loss, LOSS_NONCONVEX, &f->data, NULL), MR_OK);
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
    assert_int_equal(loss_init(&l, LOSS_NONCONVEX, &empty, &err), MR_EINVAL);
    assert_int_equal(err.rc, MR_EINVAL);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
