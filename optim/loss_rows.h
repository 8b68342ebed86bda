//  loss_rows.h - the row kernels of loss.c and loss_split.c (internal to optim/): a row's dot
//  a_t^T x (alone, or four rows side by side with the same bits), g += c a_t, and phi(z, y) with
//  its derivative for each loss kind (the formulas are in loss.c's opening comment). Static
//  inline, so each file compiles them into its own loops; pure.
#ifndef LOSS_ROWS_H
#define LOSS_ROWS_H

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "loss.h"

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

#endif
