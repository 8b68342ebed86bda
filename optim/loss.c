//  loss.c - the local objectives of loss.h and their first-order oracle.
//
//  Every kind is f_ij(x) = phi(a_j^T x, y_j) + lambda/2 |x|^2, so grad f_ij(x) = phi'(z) a_j +
//  lambda x with z = a_j^T x, and the Hessian is phi''(z) a_j a_j^T + lambda I: hence
//  L_ij = max|phi''| ||a_j||^2 + lambda. The three phi, with the margin t = y z:
//
//  nonconvex (MARINA paper, (11)): phi = (1 - s(t))^2 with s the sigmoid. Since 1 - s(t) = s(-t),
//      write u = s(-t); then phi = u^2, d phi/dt = -2 (1 - u) u^2,
//      d2 phi/dt2 = -2 s (1 - s)^2 (1 - 3 s), and d/dz = y d/dt (y^2 = 1).
//  logreg (Byz-VR-MARINA paper, Sec. 4, labels in {-1, +1}): phi = log(1 + e^-t), computed as
//      max(-t, 0) + log1p(e^-|t|) so exp() never overflows; d phi/dz = -y s(-t);
//      d2 phi/dz2 = s(t) s(-t) <= 1/4.
//  quadratic (least squares): phi = 1/2 (z - y)^2; d phi/dz = z - y; d2 phi/dz2 = 1.
#include "loss.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loss_rows.h"
#include "loss_split.h"

//  Indexed by loss_kind_t.
static const char *const s_kind_names[] = {"nonconvex", "logreg", "quadratic"};
#define S_NKINDS (sizeof s_kind_names / sizeof s_kind_names[0])

//  phi(z, y) alone (no derivative), for loss_value().
static inline double
s_phi_value(loss_kind_t kind, double z, double y)
{
    switch (kind) {
        case LOSS_NONCONVEX: {
            double u = s_sigmoid(-y * z);
            return u * u;
        }
        case LOSS_LOGREG: {
            double t = y * z;
            return fmax(-t, 0.0) + log1p(exp(-fabs(t)));
        }
        case LOSS_QUADRATIC: {
            double r = z - y;
            return 0.5 * r * r;
        }
    }
    assert(0 && "loss kind checked by loss_init");
    return 0.0;
}

//  max_z |phi''(z, y)| of the kind, over all z and y in {-1, +1}.
static double
s_max_curvature(loss_kind_t kind)
{
    switch (kind) {
        case LOSS_NONCONVEX:
            return loss_nonconvex_max_curvature();
        case LOSS_LOGREG:
            return 0.25;  // s(t) s(-t) <= 1/4, at t = 0
        case LOSS_QUADRATIC:
            return 1.0;
    }
    assert(0 && "loss kind checked by loss_init");
    return 0.0;
}

int
loss_init(loss_t *l, loss_kind_t kind, double lambda, const csr_t *data, mr_err_t *err)
{
    if ((unsigned) kind >= S_NKINDS)
        return mr_err_set(err, MR_EINVAL, "unknown loss kind %d", (int) kind);
    if (!data || data->rows == 0)
        return mr_err_set(err, MR_EINVAL, "the loss needs a non-empty data shard");
    if (!(lambda >= 0.0) || !isfinite(lambda))
        return mr_err_set(err, MR_ECONFIG, "key 'lambda' = %g must be finite and >= 0", lambda);
    l->kind = kind;
    l->lambda = lambda;
    l->data = data;
    l->unit_values = 1;
    l->split = NULL;
    for (size_t j = data->rowptr[0]; j < data->rowptr[data->rows] && l->unit_values; j++)
        l->unit_values = data->val[j] == 1.0;
    return MR_OK;
}

int
loss_kind_parse(const char *name, loss_kind_t *kind, mr_err_t *err)
{
    for (size_t k = 0; name && k < S_NKINDS; k++) {
        if (strcmp(name, s_kind_names[k]) == 0) {
            *kind = (loss_kind_t) k;
            return MR_OK;
        }
    }
    return mr_err_set(err, MR_ECONFIG,
                      "key 'loss' = '%s' is not one of 'nonconvex', 'logreg', 'quadratic'",
                      name ? name : "(null)");
}

const char *
loss_kind_name(loss_kind_t kind)
{
    return (unsigned) kind < S_NKINDS ? s_kind_names[kind] : "unknown";
}

int
loss_kind_is_convex(loss_kind_t kind)
{
    return kind == LOSS_LOGREG || kind == LOSS_QUADRATIC;
}

double
loss_value(const loss_t *l, const vec_t *x)
{
    const csr_t *a = l->data;
    assert(x->dim == a->cols);
    double sum = 0.0;
    for (size_t t = 0; t < a->rows; t++)
        sum += s_phi_value(l->kind, s_row_dot(a, t, x->x), a->y[t]);
    double f = sum / (double) a->rows;
    if (l->lambda > 0.0)
        f += 0.5 * l->lambda * vec_norm_sq(x);
    return f;
}

//  Adds sum_t phi'(a_t^T x) a_t into grad (zero on the shard's columns on entry) and returns
//  sum_t phi(a_t^T x): the row loop of loss_value_grad(), before the 1/m.
static double
s_value_grad_rows(const loss_t *l, const vec_t *x, vec_t *grad)
{
    const csr_t *a = l->data;
    double sum = 0.0;
    size_t t = 0;
    if (l->unit_values) {  // the same loops without the products by 1.0
        for (; t + S_LANES <= a->rows; t += S_LANES) {
            double z[S_LANES];
            s_row_dot_lanes_unit(a, t, x->x, z);
            for (int r = 0; r < S_LANES; r++) {
                double dphi;
                sum += s_phi(l->kind, z[r], a->y[t + r], &dphi);
                s_row_axpy_unit(a, t + r, dphi, grad->x);
            }
        }
    }
    //  The dots of S_LANES rows at a time (they read x only), then each row's phi, sum and axpy
    //  in row order: every addition happens in the order of the one-row loop below.
    for (; t + S_LANES <= a->rows; t += S_LANES) {
        double z[S_LANES];
        s_row_dot_lanes(a, t, x->x, z);
        for (int r = 0; r < S_LANES; r++) {
            double dphi;
            sum += s_phi(l->kind, z[r], a->y[t + r], &dphi);
            s_row_axpy(a, t + r, dphi, grad->x);
        }
    }
    for (; t < a->rows; t++) {
        double dphi;
        sum += s_phi(l->kind, s_row_dot(a, t, x->x), a->y[t], &dphi);
        s_row_axpy(a, t, dphi, grad->x);
    }
    return sum;
}

double
loss_value_grad(const loss_t *l, const vec_t *x, vec_t *grad)
{
    const csr_t *a = l->data;
    assert(x->dim == a->cols && grad->dim == a->cols);
    vec_zero(grad);
    double sum = s_value_grad_rows(l, x, grad);
    double inv_m = 1.0 / (double) a->rows;
    vec_scale(grad, inv_m);
    double f = sum * inv_m;
    if (l->lambda > 0.0) {
        vec_axpy(grad, l->lambda, x);
        f += 0.5 * l->lambda * vec_norm_sq(x);
    }
    return f;
}

static int
s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

int
loss_support_init(loss_support_t *s, const loss_t *l, mr_err_t *err)
{
    const csr_t *a = l->data;
    size_t first = a->rowptr[0], n = a->rowptr[a->rows] - first;
    *s = (loss_support_t){0};
    s->col = malloc((n ? n : 1) * sizeof *s->col);
    if (!s->col)
        return mr_err_set(err, MR_ENOMEM, "no memory for the shard's %zu column indices", n);
    if (n)
        memcpy(s->col, a->col + first, n * sizeof *s->col);
    qsort(s->col, n, sizeof *s->col, s_cmp_u32);
    size_t w = 0;
    for (size_t k = 0; k < n; k++)
        if (w == 0 || s->col[w - 1] != s->col[k])
            s->col[w++] = s->col[k];
    s->n = w;
    return MR_OK;
}

void
loss_support_fini(loss_support_t *s)
{
    free(s->col);
    *s = (loss_support_t){0};
}

double
loss_value_grad_sparse(const loss_t *l, const loss_support_t *s, const vec_t *x, vec_t *grad)
{
    if (!s || l->lambda > 0.0)
        return loss_value_grad(l, x, grad);
    if (l->split)  // the same bits, in chunks that other threads may share
        return loss_split_value_grad(l->split, x, grad);
    const csr_t *a = l->data;
    assert(x->dim == a->cols && grad->dim == a->cols);
    //  vec_zero(), the rows and vec_scale() of loss_value_grad() on the only coordinates where
    //  they can change a bit: elsewhere grad stays +0.0, as 0 * inv_m = +0.0.
    double *g = grad->x;
    for (size_t k = 0; k < s->n; k++)
        g[s->col[k]] = 0.0;
    double sum = s_value_grad_rows(l, x, grad);
    double inv_m = 1.0 / (double) a->rows;
    for (size_t k = 0; k < s->n; k++)
        g[s->col[k]] *= inv_m;
    return sum * inv_m;
}

void
loss_batch_grad(const loss_t *l, const uint32_t *rows, size_t nrows, const vec_t *x, vec_t *grad)
{
    loss_batch_grad_weighted(l, rows, NULL, nrows, x, grad);
}

void
loss_batch_grad_weighted(const loss_t *l,
                         const uint32_t *rows,
                         const double *w,
                         size_t nrows,
                         const vec_t *x,
                         vec_t *grad)
{
    const csr_t *a = l->data;
    assert(nrows > 0);
    assert(x->dim == a->cols && grad->dim == a->cols);
    vec_zero(grad);
    double wsum = 0.0;
    for (size_t j = 0; j < nrows; j++) {
        size_t t = rows[j];
        assert(t < a->rows);
        double wj = w ? w[j] : 1.0;
        double dphi;
        s_phi(l->kind, s_row_dot(a, t, x->x), a->y[t], &dphi);
        s_row_axpy(a, t, wj * dphi, grad->x);
        wsum += wj;
    }
    double inv_b = 1.0 / (double) nrows;
    vec_scale(grad, inv_b);
    //  Each grad f_ij carries lambda x, so the weighted mean carries lambda x (1/b sum_j w_j): the
    //  estimator of Byz-VR-MARINA Example 2.2 applied to the whole f_ij, unbiased as E[w_j] = 1.
    if (l->lambda > 0.0)
        vec_axpy(grad, l->lambda * wsum * inv_b, x);
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
loss_sample_smoothness(const loss_t *l, size_t j)
{
    const csr_t *a = l->data;
    assert(j < a->rows);
    double norm_sq = 0.0;
    for (size_t k = a->rowptr[j]; k < a->rowptr[j + 1]; k++)
        norm_sq += a->val[k] * a->val[k];
    return s_max_curvature(l->kind) * norm_sq + l->lambda;
}

double
loss_smoothness(const loss_t *l)
{
    //  ||Hess f_ij|| <= L_ij for every sample, so max_j L_ij bounds the average f_i too (MARINA
    //  Assumption 1.2); the max commutes with the common factor and the common lambda.
    return s_max_curvature(l->kind) * csr_max_row_norm_sq(l->data) + l->lambda;
}

void
loss_coord_smoothness(const loss_t *l, double *out)
{
    const csr_t *a = l->data;
    memset(out, 0, a->cols * sizeof *out);
    for (size_t k = 0; k < a->nnz; k++)
        out[a->col[k]] += a->val[k] * a->val[k];
    double c = s_max_curvature(l->kind) / (double) a->rows;
    for (size_t j = 0; j < a->cols; j++)
        out[j] = c * out[j] + l->lambda;
}
