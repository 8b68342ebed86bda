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

//  Indexed by loss_kind_t.
static const char *const s_kind_names[] = {"nonconvex", "logreg", "quadratic"};
#define S_NKINDS (sizeof s_kind_names / sizeof s_kind_names[0])

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

//  The dots a_t^T x of the S_LANES rows t, t+1, ...: each summed in its own entry order, as
//  s_row_dot() sums it (so each is the same double), but the rows' chains of additions
//  interleaved, so that the processor runs them side by side instead of waiting on one.
#define S_LANES 4
static inline void
s_row_dot_lanes(const csr_t *a, size_t t, const double *x, double *z)
{
    const size_t *p = a->rowptr + t;
    const uint32_t *col = a->col;
    const double *val = a->val;
    size_t common = p[1] - p[0];
    for (int r = 1; r < S_LANES; r++)
        if (p[r + 1] - p[r] < common)
            common = p[r + 1] - p[r];
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t b0 = p[0], b1 = p[1], b2 = p[2], b3 = p[3];
    for (size_t k = 0; k < common; k++) {
        s0 += val[b0 + k] * x[col[b0 + k]];
        s1 += val[b1 + k] * x[col[b1 + k]];
        s2 += val[b2 + k] * x[col[b2 + k]];
        s3 += val[b3 + k] * x[col[b3 + k]];
    }
    for (size_t j = b0 + common; j < p[1]; j++)
        s0 += val[j] * x[col[j]];
    for (size_t j = b1 + common; j < p[2]; j++)
        s1 += val[j] * x[col[j]];
    for (size_t j = b2 + common; j < p[3]; j++)
        s2 += val[j] * x[col[j]];
    for (size_t j = b3 + common; j < p[4]; j++)
        s3 += val[j] * x[col[j]];
    z[0] = s0;
    z[1] = s1;
    z[2] = s2;
    z[3] = s3;
}

//  s_row_dot_lanes() for a shard whose values are all 1.0: val[j] * x is x exactly, so the
//  sums are the same doubles without the products (and without reading val).
static inline void
s_row_dot_lanes_unit(const csr_t *a, size_t t, const double *x, double *z)
{
    const size_t *p = a->rowptr + t;
    const uint32_t *col = a->col;
    size_t common = p[1] - p[0];
    for (int r = 1; r < S_LANES; r++)
        if (p[r + 1] - p[r] < common)
            common = p[r + 1] - p[r];
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t b0 = p[0], b1 = p[1], b2 = p[2], b3 = p[3];
    for (size_t k = 0; k < common; k++) {
        s0 += x[col[b0 + k]];
        s1 += x[col[b1 + k]];
        s2 += x[col[b2 + k]];
        s3 += x[col[b3 + k]];
    }
    for (size_t j = b0 + common; j < p[1]; j++)
        s0 += x[col[j]];
    for (size_t j = b1 + common; j < p[2]; j++)
        s1 += x[col[j]];
    for (size_t j = b2 + common; j < p[3]; j++)
        s2 += x[col[j]];
    for (size_t j = b3 + common; j < p[4]; j++)
        s3 += x[col[j]];
    z[0] = s0;
    z[1] = s1;
    z[2] = s2;
    z[3] = s3;
}

//  g += c a_t for a row of 1.0 values: c * 1.0 is c exactly.
static inline void
s_row_axpy_unit(const csr_t *a, size_t t, double c, double *g)
{
    for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
        g[a->col[j]] += c;
}

//  g += c a_t
static inline void
s_row_axpy(const csr_t *a, size_t t, double c, double *g)
{
    for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
        g[a->col[j]] += c * a->val[j];
}

//  phi(z, y) of the kind, and its derivative in z to *dphi.
static inline double
s_phi(loss_kind_t kind, double z, double y, double *dphi)
{
    switch (kind) {
        case LOSS_NONCONVEX: {
            double u = s_sigmoid(-y * z);
            *dphi = -2.0 * (1.0 - u) * u * u * y;
            return u * u;
        }
        case LOSS_LOGREG: {
            //  One exp and one log1p: with e = e^-|t|, s(-t) is e/(1+e) for t >= 0, 1/(1+e) below.
            double t = y * z;
            double e = exp(-fabs(t));
            if (t >= 0.0) {
                *dphi = -y * (e / (1.0 + e));
                return log1p(e);
            }
            *dphi = -y / (1.0 + e);
            return -t + log1p(e);
        }
        case LOSS_QUADRATIC: {
            double r = z - y;
            *dphi = r;
            return 0.5 * r * r;
        }
    }
    assert(0 && "loss kind checked by loss_init");
    *dphi = 0.0;
    return 0.0;
}

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
