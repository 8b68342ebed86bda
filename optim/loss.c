//  loss.c - the non-convex loss of the MARINA paper, (11), and its oracle; see loss.h.
//
//  With t = b c (margin), l(b, c) = phi(t) = (1 - s(t))^2 where s is the sigmoid. Since
//  1 - s(t) = s(-t), write u = s(-t); then
//      phi(t)   = u^2
//      phi'(t)  = -2 s (1 - s)^2             = -2 (1 - u) u^2
//      phi''(t) = -2 s (1 - s)^2 (1 - 3 s)
//  and f_i(x) = 1/m sum_t phi(y_t a_t^T x), grad f_i(x) = 1/m sum_t phi'(y_t a_t^T x) y_t a_t.
#include "loss.h"

#include <assert.h>
#include <math.h>

//  s(t) = 1 / (1 + e^-t) without overflow: exp() only ever sees a non-positive argument.
static inline double
s_sigmoid(double t)
{
    if (t >= 0.0)
        return 1.0 / (1.0 + exp(-t));
    double e = exp(t);
    return e / (1.0 + e);
}

//  a_t^T x for row t.
static inline double
s_row_dot(const csr_t *a, size_t t, const double *x)
{
    double s = 0.0;
    for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
        s += a->val[j] * x[a->col[j]];
    return s;
}

//  g += c a_t
static inline void
s_row_axpy(const csr_t *a, size_t t, double c, double *g)
{
    for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
        g[a->col[j]] += c * a->val[j];
}

int
loss_init(loss_t *l, loss_kind_t kind, const csr_t *data, mr_err_t *err)
{
    if (kind != LOSS_NONCONVEX)
        return mr_err_set(err, MR_EINVAL, "unknown loss kind %d", (int) kind);
    if (!data || data->rows == 0)
        return mr_err_set(err, MR_EINVAL, "the loss needs a non-empty data shard");
    l->kind = kind;
    l->data = data;
    return MR_OK;
}

double
loss_value(const loss_t *l, const vec_t *x)
{
    const csr_t *a = l->data;
    assert(x->dim == a->cols);
    double sum = 0.0;
    for (size_t t = 0; t < a->rows; t++) {
        double u = s_sigmoid(-a->y[t] * s_row_dot(a, t, x->x));
        sum += u * u;
    }
    return sum / (double) a->rows;
}

double
loss_value_grad(const loss_t *l, const vec_t *x, vec_t *grad)
{
    const csr_t *a = l->data;
    assert(x->dim == a->cols && grad->dim == a->cols);
    vec_zero(grad);
    double sum = 0.0;
    for (size_t t = 0; t < a->rows; t++) {
        double y = a->y[t];
        double u = s_sigmoid(-y * s_row_dot(a, t, x->x));
        sum += u * u;
        //  phi'(t) y a_t with phi' = -2 (1 - u) u^2
        s_row_axpy(a, t, -2.0 * (1.0 - u) * u * u * y, grad->x);
    }
    double inv_m = 1.0 / (double) a->rows;
    vec_scale(grad, inv_m);
    return sum * inv_m;
}

void
loss_batch_grad(const loss_t *l, const uint32_t *rows, size_t nrows, const vec_t *x, vec_t *grad)
{
    const csr_t *a = l->data;
    assert(nrows > 0);
    assert(x->dim == a->cols && grad->dim == a->cols);
    vec_zero(grad);
    for (size_t j = 0; j < nrows; j++) {
        size_t t = rows[j];
        assert(t < a->rows);
        double y = a->y[t];
        double u = s_sigmoid(-y * s_row_dot(a, t, x->x));
        s_row_axpy(a, t, -2.0 * (1.0 - u) * u * u * y, grad->x);
    }
    vec_scale(grad, 1.0 / (double) nrows);
}

double
loss_nonconvex_max_curvature(void)
{
    //  |phi''| = 2 s (1 - s)^2 |1 - 3 s| with s = s(t) ranging over (0, 1). Its derivative in s is
    //  proportional to (1 - s)(12 s^2 - 9 s + 1), zero at s = (9 -+ sqrt(33)) / 24. The larger
    //  root, s* ~ 0.6144 (where 1 - 3 s < 0), gives the maximum ~0.15406; the smaller gives
    //  ~0.1202. tests/unit/optim/test_loss.c checks this against a numeric second derivative.
    double s = (9.0 + sqrt(33.0)) / 24.0;
    return 2.0 * s * (1.0 - s) * (1.0 - s) * fabs(1.0 - 3.0 * s);
}

double
loss_smoothness(const loss_t *l)
{
    //  Hess f_ij(x) = phi''(.) a_j a_j^T, so ||Hess|| <= max|phi''| ||a_j||^2 for every sample;
    //  the average f_i inherits the same bound (MARINA Assumption 1.2).
    return loss_nonconvex_max_curvature() * csr_max_row_norm_sq(l->data);
}
