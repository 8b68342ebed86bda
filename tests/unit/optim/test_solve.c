//  test_solve.c - solve.h: the reference minimiser against closed forms and optimality checks.
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
#include "solve.h"
#include "test_util.h"

#define S_N       3   // workers (shards)
#define S_LS_ROWS 30  // least-squares problem: rows
#define S_LS_D    6   // and dimension

//  A dense rows x cols data set with N(0, 1) features (the last column a bias of ones) and
//  labels +-1 at random: a least-squares problem whose A has full column rank almost surely.
static void
s_dense_csr(size_t rows, size_t cols, uint64_t seed, csr_t *a)
{
    rng_t r;
    rng_seed(&r, seed, 0);
    *a = (csr_t){.rows = rows, .cols = cols, .nnz = rows * cols};
    a->rowptr = malloc((rows + 1) * sizeof *a->rowptr);
    a->col = malloc(rows * cols * sizeof *a->col);
    a->val = malloc(rows * cols * sizeof *a->val);
    a->y = malloc(rows * sizeof *a->y);
    assert_true(a->rowptr && a->col && a->val && a->y);
    for (size_t t = 0; t <= rows; t++)
        a->rowptr[t] = t * cols;
    for (size_t t = 0; t < rows; t++) {
        for (size_t c = 0; c < cols; c++) {
            a->col[t * cols + c] = (uint32_t) c;
            a->val[t * cols + c] = c + 1 == cols ? 1.0 : rng_normal(&r);
        }
        a->y[t] = rng_bernoulli(&r, 0.5) ? 1.0 : -1.0;
    }
}

//  Solves the d x d system M z = b in place (M row-major, destroyed; b becomes z) by Gaussian
//  elimination with partial pivoting.
static void
s_gauss_solve(double *M, double *b, size_t d)
{
    for (size_t k = 0; k < d; k++) {
        size_t p = k;
        for (size_t i = k + 1; i < d; i++)
            if (fabs(M[i * d + k]) > fabs(M[p * d + k]))
                p = i;
        assert_true(fabs(M[p * d + k]) > 1e-12);
        if (p != k) {
            for (size_t j = 0; j < d; j++) {
                double tmp = M[k * d + j];
                M[k * d + j] = M[p * d + j];
                M[p * d + j] = tmp;
            }
            double tmp = b[k];
            b[k] = b[p];
            b[p] = tmp;
        }
        for (size_t i = k + 1; i < d; i++) {
            double factor = M[i * d + k] / M[k * d + k];
            for (size_t j = k; j < d; j++)
                M[i * d + j] -= factor * M[k * d + j];
            b[i] -= factor * b[k];
        }
    }
    for (size_t k = d; k-- > 0;) {
        double s = b[k];
        for (size_t j = k + 1; j < d; j++)
            s -= M[k * d + j] * b[j];
        b[k] = s / M[k * d + k];
    }
}

//  f = 1/n sum_i f_i: the objective solve_minimize() minimises, evaluated independently.
static double
s_global(const loss_t *losses, size_t n, const vec_t *x, vec_t *g)
{
    vec_t gi;
    assert_int_equal(vec_init(&gi, x->dim), MR_OK);
    vec_zero(g);
    double f = 0.0;
    for (size_t i = 0; i < n; i++) {
        f += loss_value_grad(&losses[i], x, &gi) / (double) n;
        vec_axpy(g, 1.0 / (double) n, &gi);
    }
    vec_fini(&gi);
    return f;
}

typedef struct {
    csr_t all;         // the whole data set
    csr_t part[S_N];   // the paper's split into S_N shards
    loss_t loss[S_N];  // one loss per shard
    vec_t x0, x, g;    // start, result, a gradient
} fixture_t;

//  Splits f->all into S_N shards and binds losses of kind and lambda to them.
static void
s_bind(fixture_t *f, loss_kind_t kind, double lambda)
{
    for (size_t i = 0; i < S_N; i++) {
        assert_int_equal(csr_split_part(&f->all, S_N, i, &f->part[i], NULL), MR_OK);
        assert_int_equal(loss_init(&f->loss[i], kind, lambda, &f->part[i], NULL), MR_OK);
    }
    assert_int_equal(vec_init(&f->x0, f->all.cols), MR_OK);
    assert_int_equal(vec_init(&f->x, f->all.cols), MR_OK);
    assert_int_equal(vec_init(&f->g, f->all.cols), MR_OK);
}

static int
s_setup_logreg(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(data_synthetic(600, 20, 0.3, 3, 41, &f->all, NULL), MR_OK);
    s_bind(f, LOSS_LOGREG, 0.01);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < S_N; i++)
        csr_fini(&f->part[i]);
    csr_fini(&f->all);
    vec_fini(&f->x0);
    vec_fini(&f->x);
    vec_fini(&f->g);
    free(f);
    return 0;
}

//  Least squares on S_LS_ROWS x S_LS_D = 30 x 6 dense data in 3 shards of 10 rows: the shards
//  are equal, so f(x) = 1/(2N) |A x - y|^2 + lambda/2 |x|^2, minimised where
//  (A^T A / N + lambda I) x = A^T y / N.
static void
s_check_least_squares(double lambda)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    s_dense_csr(S_LS_ROWS, S_LS_D, 51, &f->all);
    s_bind(f, LOSS_QUADRATIC, lambda);
    double M[S_LS_D * S_LS_D] = {0}, b[S_LS_D] = {0};
    const csr_t *a = &f->all;
    for (size_t t = 0; t < S_LS_ROWS; t++) {
        const double *row = &a->val[t * S_LS_D];
        for (size_t i = 0; i < S_LS_D; i++) {
            b[i] += row[i] * a->y[t] / S_LS_ROWS;
            for (size_t j = 0; j < S_LS_D; j++)
                M[i * S_LS_D + j] += row[i] * row[j] / S_LS_ROWS;
        }
    }
    for (size_t i = 0; i < S_LS_D; i++)
        M[i * S_LS_D + i] += lambda;
    //  |M^-1|_F^2 = sum_k |M^-1 e_k|^2, column by column.
    double inv_f2 = 0.0;
    for (size_t k = 0; k < S_LS_D; k++) {
        double Mk[S_LS_D * S_LS_D], e[S_LS_D] = {0};
        memcpy(Mk, M, sizeof Mk);
        e[k] = 1.0;
        s_gauss_solve(Mk, e, S_LS_D);
        for (size_t j = 0; j < S_LS_D; j++)
            inv_f2 += e[j] * e[j];
    }
    assert_true(1.0 / sqrt(inv_f2) > 1e-2);
    s_gauss_solve(M, b, S_LS_D);

    //  tol 1e-22: |grad f| <= 1e-11, and |x - x*| <= |grad f| / mu_min with mu_min the smallest
    //  eigenvalue of M = A^T A / N + lambda I. mu_min >= 1 / |M^-1|_F, checked above to exceed
    //  1e-2, so |x - x*| <= 1e-9, inside 1e-8. The gradient's own rounding is ~N eps ~ 1e-14,
    //  so the tolerance is reachable.
    for (size_t j = 0; j < S_LS_D; j++)
        f->x0.x[j] = 1.0;
    double fout = NAN;
    mr_err_t err;
    int rc = solve_minimize(f->loss, S_N, &f->x0, 1e-22, 100000, &f->x, &fout, &err);
    if (rc != MR_OK)
        print_error("solve: %s\n", err.text);
    assert_int_equal(rc, MR_OK);
    for (size_t j = 0; j < S_LS_D; j++)
        assert_near(f->x.x[j], b[j], 1e-8);
    assert_near(fout, s_global(f->loss, S_N, &f->x, &f->g), 1e-15);
    assert_true(vec_norm_sq(&f->g) <= 1e-22);
    void *st = f;
    s_teardown(&st);
}

static void
test_least_squares_matches_normal_equations(void **state)
{
    s_check_least_squares(0.1);  // strongly convex: constant momentum
    s_check_least_squares(0.0);  // convex only: the t_k momentum sequence with restarts
}

static void
test_logreg_result_is_a_minimum(void **state)
{
    //  |grad f|^2 <= tol at the result, and no nearby point is lower: f is 0.01-strongly convex,
    //  so at |d| ~ 1e-2 sqrt(20) ~ 0.045, f(x + d) - f(x) >= -|grad f| |d| + mu/2 |d|^2 ~
    //  -4.5e-8 + 1e-5 > 0, far above the rounding of f (~1e-15).
    fixture_t *f = *state;
    const double tol = 1e-12;
    double fout;
    mr_err_t err;
    int rc = solve_minimize(f->loss, S_N, &f->x0, tol, 100000, &f->x, &fout, &err);
    if (rc != MR_OK)
        print_error("solve: %s\n", err.text);
    assert_int_equal(rc, MR_OK);
    double fx = s_global(f->loss, S_N, &f->x, &f->g);
    assert_true(vec_norm_sq(&f->g) <= tol);
    assert_near(fout, fx, 1e-15);
    assert_true(fx < log(2.0));  // below f(0): it did move
    rng_t r;
    rng_seed(&r, 61, 0);
    vec_t y;
    assert_int_equal(vec_init(&y, f->x.dim), MR_OK);
    for (int trial = 0; trial < 100; trial++) {
        for (size_t j = 0; j < y.dim; j++)
            y.x[j] = f->x.x[j] + 1e-2 * rng_normal(&r);
        assert_true(s_global(f->loss, S_N, &y, &f->g) >= fx);
    }
    vec_fini(&y);
}

static void
test_solve_is_deterministic_and_may_overwrite_x0(void **state)
{
    fixture_t *f = *state;
    double f1, f2;
    assert_int_equal(solve_minimize(f->loss, S_N, &f->x0, 1e-10, 100000, &f->x, &f1, NULL), MR_OK);
    //  x_out == x0: the start is read before the result is written.
    assert_int_equal(solve_minimize(f->loss, S_N, &f->x0, 1e-10, 100000, &f->x0, &f2, NULL), MR_OK);
    assert_true(f1 == f2);
    assert_memory_equal(f->x.x, f->x0.x, f->x.dim * sizeof *f->x.x);
}

static void
test_too_few_steps_time_out(void **state)
{
    fixture_t *f = *state;
    double fout = NAN;
    mr_err_t err;
    assert_int_equal(solve_minimize(f->loss, S_N, &f->x0, 1e-20, 5, &f->x, &fout, &err),
                     MR_ETIMEOUT);
    assert_int_equal(err.rc, MR_ETIMEOUT);
    assert_non_null(strstr(err.text, "grad"));
    //  The last point is still handed back, finite and better than the start.
    assert_true(vec_is_finite(&f->x));
    assert_true(fout < log(2.0));
    assert_near(fout, s_global(f->loss, S_N, &f->x, &f->g), 1e-15);
}

static void
test_rejects_bad_arguments(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    assert_int_equal(solve_minimize(f->loss, 0, &f->x0, 1e-10, 10, &f->x, NULL, &err), MR_EINVAL);
    assert_int_equal(solve_minimize(f->loss, S_N, &f->x0, -1.0, 10, &f->x, NULL, &err), MR_EINVAL);
    assert_int_equal(solve_minimize(f->loss, S_N, &f->x0, NAN, 10, &f->x, NULL, &err), MR_EINVAL);
    vec_t wrong;
    assert_int_equal(vec_init(&wrong, f->x0.dim + 1), MR_OK);
    assert_int_equal(solve_minimize(f->loss, S_N, &wrong, 1e-10, 10, &wrong, NULL, &err), MR_EDIM);
    assert_int_equal(solve_minimize(f->loss, S_N, &f->x0, 1e-10, 10, &wrong, NULL, &err), MR_EDIM);
    vec_fini(&wrong);
    //  f* is not defined by a local method for the non-convex loss.
    loss_t nc[S_N];
    for (size_t i = 0; i < S_N; i++)
        assert_int_equal(loss_init(&nc[i], LOSS_NONCONVEX, 0.01, &f->part[i], NULL), MR_OK);
    assert_int_equal(solve_minimize(nc, S_N, &f->x0, 1e-10, 10, &f->x, NULL, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "nonconvex"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_least_squares_matches_normal_equations),
        cmocka_unit_test_setup_teardown(test_logreg_result_is_a_minimum, s_setup_logreg,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_solve_is_deterministic_and_may_overwrite_x0,
                                        s_setup_logreg, s_teardown),
        cmocka_unit_test_setup_teardown(test_too_few_steps_time_out, s_setup_logreg, s_teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_arguments, s_setup_logreg, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
