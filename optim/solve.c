//  solve.c - f* of a convex run by accelerated gradient with adaptive restart; see solve.h.
//
//  Nesterov's method for an L-smooth convex f, from x_0 = y_0:
//      x_{k+1} = y_k - 1/L grad f(y_k)
//      y_{k+1} = x_{k+1} + beta_k (x_{k+1} - x_k)
//  with beta_k = (t_k - 1)/t_{k+1}, t_{k+1} = (1 + sqrt(1 + 4 t_k^2))/2, t_0 = 1 in general, and
//  the constant beta = (sqrt(L) - sqrt(mu))/(sqrt(L) + sqrt(mu)) when f is mu-strongly convex
//  (mu = lambda, the l2 term every f_ij carries). Gradient restart (O'Donoghue and Candes, 2015):
//  when grad f(y_k)^T (x_{k+1} - x_k) > 0 the momentum points uphill, so the next step drops it
//  (y_{k+1} = x_{k+1}, t = 1). This keeps the iterates near-monotone and recovers the linear rate
//  when mu is unknown or underestimated. The gradient is evaluated only at the y_k, so the
//  stopping test ||grad f(y_k)||^2 <= tol is free and y_k is the point returned.
#include "solve.h"

#include <assert.h>
#include <math.h>

//  f(x) = 1/n sum_i f_i(x) into the return value, its gradient into g (tmp: workspace).
static double
s_eval(const loss_t *losses, size_t n, const vec_t *x, vec_t *g, vec_t *tmp)
{
    double f = loss_value_grad(&losses[0], x, g);
    for (size_t i = 1; i < n; i++) {
        f += loss_value_grad(&losses[i], x, tmp);
        vec_axpy(g, 1.0, tmp);
    }
    vec_scale(g, 1.0 / (double) n);
    return f / (double) n;
}

//  The checks both solvers make of their arguments; writes L = max_i L_i and mu = min_i lambda_i.
static int
s_check(const loss_t *losses,
        size_t n,
        const vec_t *x0,
        double tol,
        const vec_t *x_out,
        double *L,
        double *mu,
        mr_err_t *err)
{
    if (n == 0)
        return mr_err_set(err, MR_EINVAL, "solve: no losses to minimise");
    if (!(tol >= 0.0))
        return mr_err_set(err, MR_EINVAL, "solve: tolerance %g must be >= 0", tol);
    size_t d = x0->dim;
    if (x_out->dim != d)
        return mr_err_set(err, MR_EDIM, "solve: output has dim %zu, x0 has %zu", x_out->dim, d);
    *L = 0.0;
    *mu = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!loss_kind_is_convex(losses[i].kind))
            return mr_err_set(err, MR_EINVAL, "solve: loss %zu is '%s', not convex", i,
                              loss_kind_name(losses[i].kind));
        if (losses[i].data->cols != d)
            return mr_err_set(err, MR_EDIM, "solve: loss %zu has dim %zu, x0 has %zu", i,
                              losses[i].data->cols, d);
        *L = fmax(*L, loss_smoothness(&losses[i]));
        *mu = fmin(*mu, losses[i].lambda);
    }
    return MR_OK;
}

int
solve_minimize(const loss_t *losses,
               size_t n,
               const vec_t *x0,
               double tol,
               size_t max_iter,
               vec_t *x_out,
               double *f_out,
               mr_err_t *err)
{
    double L, mu;
    int checked = s_check(losses, n, x0, tol, x_out, &L, &mu, err);
    if (checked != MR_OK)
        return checked;
    size_t d = x0->dim;
    //  L = 0 only for all-zero data without l2: f is constant, and any point is optimal.
    double step = L > 0.0 ? 1.0 / L : 0.0;
    double beta_sc = mu > 0.0 ? (sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)) : -1.0;

    int rc = MR_OK;
    vec_t x = {0}, xn = {0}, y = {0}, g = {0}, tmp = {0};
    if (vec_init(&x, d) || vec_init(&xn, d) || vec_init(&y, d) || vec_init(&g, d) ||
        vec_init(&tmp, d)) {
        rc = mr_err_set(err, MR_ENOMEM, "solve: no memory for vectors of dim %zu", d);
        goto done;
    }
    vec_copy(&x, x0);
    vec_copy(&y, x0);
    double t = 1.0;
    double fy = 0.0, gnorm = 0.0;
    for (size_t k = 0;; k++) {
        fy = s_eval(losses, n, &y, &g, &tmp);
        gnorm = vec_norm_sq(&g);
        if (!isfinite(fy) || !isfinite(gnorm)) {
            rc = mr_err_set(err, MR_ENONFINITE, "solve: f or grad f is not finite at step %zu", k);
            break;
        }
        if (gnorm <= tol || step == 0.0)
            break;
        if (k == max_iter) {
            rc = mr_err_set(err, MR_ETIMEOUT,
                            "solve: not converged in %zu steps: |grad f|^2 = %.3g > tol %.3g",
                            max_iter, gnorm, tol);
            break;
        }
        vec_copy(&xn, &y);
        vec_axpy(&xn, -step, &g);  // x_{k+1} = y_k - grad f(y_k) / L
        vec_copy(&tmp, &xn);
        vec_axpy(&tmp, -1.0, &x);  // x_{k+1} - x_k
        if (vec_dot(&g, &tmp) > 0.0) {
            t = 1.0;  // restart: the momentum direction is uphill
            vec_copy(&y, &xn);
        } else {
            double beta = beta_sc;
            if (beta < 0.0) {
                double t_next = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
                beta = (t - 1.0) / t_next;
                t = t_next;
            }
            vec_copy(&y, &xn);
            vec_axpy(&y, beta, &tmp);
        }
        vec_t swap = x;
        x = xn;
        xn = swap;
    }
    if (rc == MR_OK || rc == MR_ETIMEOUT) {
        vec_copy(x_out, &y);
        if (f_out)
            *f_out = fy;
    }
done:
    vec_fini(&x);
    vec_fini(&xn);
    vec_fini(&y);
    vec_fini(&g);
    vec_fini(&tmp);
    return rc;
}

//  --------------------------------------------------------------------------------------------
//  F* of F = f + R: FISTA (Beck and Teboulle, 2009) on the same scheme,
//      x_{k+1} = prox_{R/L}(y_k - 1/L grad f(y_k))
//      y_{k+1} = x_{k+1} + beta_k (x_{k+1} - x_k)
//  with the gradient mapping G(y_k) = L (y_k - x_{k+1}) in place of the gradient: it is zero
//  exactly at the minimisers of F, it is the restart test's direction (O'Donoghue and Candes,
//  Sec. 5.1: restart when G(y_k)^T (x_{k+1} - x_k) > 0) and the stopping test. R = l2 is smooth,
//  so it moves into f (L + lambda2 and mu + lambda2, R = none): then the constant strongly convex
//  momentum sees the whole modulus and G is the exact gradient of F. The point returned is x_{k+1},
//  which a constraint's prox keeps feasible (y_k may leave the set).

//  f(x) + l2/2 |x|^2 into the return value, its gradient into g.
static double
s_eval_l2(const loss_t *losses, size_t n, double l2, const vec_t *x, vec_t *g, vec_t *tmp)
{
    double f = s_eval(losses, n, x, g, tmp);
    if (l2 > 0.0) {
        f += 0.5 * l2 * vec_norm_sq(x);
        vec_axpy(g, l2, x);
    }
    return f;
}

int
solve_minimize_prox(const loss_t *losses,
                    size_t n,
                    const prox_cfg_t *reg,
                    const vec_t *x0,
                    double tol,
                    size_t max_iter,
                    vec_t *x_out,
                    double *F_out,
                    mr_err_t *err)
{
    mr_err_t perr;
    if (n > 0 && tol >= 0.0 && prox_check(reg, &perr) != MR_OK)
        return mr_err_set(err, MR_EINVAL, "solve: %s", perr.text);
    double L, mu;
    int checked = s_check(losses, n, x0, tol, x_out, &L, &mu, err);
    if (checked != MR_OK)
        return checked;
    size_t d = x0->dim;
    prox_cfg_t r = *reg;
    double l2 = 0.0;
    if (r.kind == PROX_L2) {
        l2 = r.lambda2;
        r.kind = PROX_NONE;
    }
    L += l2;
    mu += l2;
    //  L = 0 only for all-zero data and no l2: f is constant and any step minimises it, while R
    //  (l1, a set) still needs the prox steps; step 1 is as good as any.
    if (L == 0.0)
        L = 1.0;
    double beta_sc = mu > 0.0 ? (sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)) : -1.0;

    int rc = MR_OK;
    vec_t x = {0}, xn = {0}, y = {0}, g = {0}, tmp = {0}, dx = {0};
    if (vec_init(&x, d) || vec_init(&xn, d) || vec_init(&y, d) || vec_init(&g, d) ||
        vec_init(&tmp, d) || vec_init(&dx, d)) {
        rc = mr_err_set(err, MR_ENOMEM, "solve: no memory for vectors of dim %zu", d);
        goto done;
    }
    vec_copy(&x, x0);
    vec_copy(&y, x0);
    double t = 1.0;
    for (size_t k = 0;; k++) {
        double fy = s_eval_l2(losses, n, l2, &y, &g, &tmp);
        vec_copy(&xn, &y);
        vec_axpy(&xn, -1.0 / L, &g);
        prox_apply(&r, 1.0 / L, &xn);  // x_{k+1} = prox_{R/L}(y_k - grad f(y_k) / L)
        vec_copy(&tmp, &y);
        vec_axpy(&tmp, -1.0, &xn);  // G(y_k) / L = y_k - x_{k+1}
        double gmap = L * L * vec_norm_sq(&tmp);
        if (!isfinite(fy) || !isfinite(gmap)) {
            rc = mr_err_set(err, MR_ENONFINITE, "solve: f or grad f is not finite at step %zu", k);
            break;
        }
        if (gmap <= tol)
            break;
        if (k == max_iter) {
            rc = mr_err_set(err, MR_ETIMEOUT,
                            "solve: not converged in %zu steps: |G|^2 = %.3g > tol %.3g", max_iter,
                            gmap, tol);
            break;
        }
        vec_copy(&dx, &xn);
        vec_axpy(&dx, -1.0, &x);  // x_{k+1} - x_k
        if (vec_dot(&tmp, &dx) > 0.0) {
            t = 1.0;  // restart: the momentum direction is uphill
            vec_copy(&y, &xn);
        } else {
            double beta = beta_sc;
            if (beta < 0.0) {
                double t_next = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
                beta = (t - 1.0) / t_next;
                t = t_next;
            }
            vec_copy(&y, &xn);
            vec_axpy(&y, beta, &dx);
        }
        vec_t swap = x;
        x = xn;
        xn = swap;
    }
    if (rc == MR_OK || rc == MR_ETIMEOUT) {
        vec_copy(x_out, &xn);
        if (F_out)
            *F_out = s_eval(losses, n, &xn, &g, &tmp) + prox_value(reg, &xn);
    }
done:
    vec_fini(&x);
    vec_fini(&xn);
    vec_fini(&y);
    vec_fini(&g);
    vec_fini(&tmp);
    vec_fini(&dx);
    return rc;
}
