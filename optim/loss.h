//  loss.h - the local objective f_i of a worker over its data shard, and its first-order oracle.
//  LOSS_NONCONVEX is the MARINA paper's (11): f_i(x) = 1/m sum_t l(a_t^T x, y_t) with
//  l(b, c) = (1 - 1/(1 + exp(-b c)))^2. A loss_t borrows its csr_t (the caller keeps it alive);
//  it is read-only after init, so several threads may share one. Pure: no I/O, no allocation in
//  the oracle calls (grad must be preallocated with dim == data->cols).
#ifndef LOSS_H
#define LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "vec.h"

typedef enum {
    LOSS_NONCONVEX = 0,  // MARINA paper, (11): l(b, c) = (1 - 1/(1 + exp(-b c)))^2
    LOSS_LOGREG = 1,     // logistic regression log(1 + exp(-y a^T x)) (Byz-VR-MARINA paper)
    LOSS_QUADRATIC = 2,  // least squares 1/2 (a^T x - y)^2: a quadratic with a known minimiser
} loss_kind_t;
//  Every kind adds lambda/2 |x|^2 to each f_ij (lambda >= 0).

typedef struct {
    loss_kind_t kind;
    double lambda;      // l2 regularisation lambda/2 |x|^2 added to every f_ij (>= 0)
    const csr_t *data;  // borrowed shard: m = data->rows samples
    int unit_values;    // 1: every stored value of the shard is 1.0 (0/1 features, as in
                        // mushrooms or a9a): the gradient's row loops skip the products by 1.0,
                        // which are exact, so the results are the same bits (loss_init sets it)
    struct loss_split *split;  // NULL (loss_init), or the caller's loss_split.h: then
                               // loss_value_grad_sparse() runs in its chunks (the same bits), and
                               // the loss is one thread's at a time
} loss_t;

//  Binds a loss to a shard; MR_EINVAL (err filled) on an empty shard or a negative lambda.
int loss_init(loss_t *l, loss_kind_t kind, double lambda, const csr_t *data, mr_err_t *err);

//  The kind named name ("nonconvex", "logreg", "quadratic"); MR_ECONFIG naming key 'loss'.
int loss_kind_parse(const char *name, loss_kind_t *kind, mr_err_t *err);
const char *loss_kind_name(loss_kind_t kind);
//  1 if f is convex for every data set (logreg, quadratic), so f* can be computed.
int loss_kind_is_convex(loss_kind_t kind);

//  f_i(x) = 1/m sum_t l(a_t^T x, y_t).
double loss_value(const loss_t *l, const vec_t *x);

//  Returns f_i(x) and writes grad f_i(x) to grad, in one pass over the shard (m oracle calls).
//  With lambda = 0 every coordinate of grad outside the shard's columns (loss_support_t) is +0.0.
double loss_value_grad(const loss_t *l, const vec_t *x, vec_t *grad);

//  The shard's columns: the distinct col of its entries, increasing. With lambda = 0 a gradient
//  is +0.0 everywhere else, so loss_value_grad_sparse() need not touch the other d - n
//  coordinates. init: MR_OK, or MR_ENOMEM (err filled); fini frees (safe on a zeroed struct).
typedef struct {
    uint32_t *col;
    size_t n;
} loss_support_t;
int loss_support_init(loss_support_t *s, const loss_t *l, mr_err_t *err);
void loss_support_fini(loss_support_t *s);

//  loss_value_grad() with the same bits, for a grad that is +0.0 at every coordinate outside s
//  (as vec_init() or a previous loss_value_grad() or loss_value_grad_sparse() of this loss with
//  lambda = 0 leaves it): with lambda = 0 it zeroes and scales only the n coordinates of s, so
//  a call costs O(entries + n) instead of O(d). With lambda > 0, or s NULL, it is
//  loss_value_grad().
double
loss_value_grad_sparse(const loss_t *l, const loss_support_t *s, const vec_t *x, vec_t *grad);

//  Writes 1/b sum_{j in rows} grad f_ij(x) to grad (b = nrows > 0; rows may repeat).
void
loss_batch_grad(const loss_t *l, const uint32_t *rows, size_t nrows, const vec_t *x, vec_t *grad);

//  Writes 1/b sum_{j<b} w[j] grad f_{i rows[j]}(x) to grad: the reweighted minibatch gradient of
//  importance sampling (w[j] = 1/(m P(rows[j]))); w NULL means all ones.
void loss_batch_grad_weighted(const loss_t *l,
                              const uint32_t *rows,
                              const double *w,
                              size_t nrows,
                              const vec_t *x,
                              vec_t *grad);

//  The smoothness constant L_ij of one sample's f_ij: max|l''| ||a_j||^2 + lambda.
double loss_sample_smoothness(const loss_t *l, size_t j);

//  The smoothness constant L_i = max_j L_ij of f_i (a valid bound for the average).
double loss_smoothness(const loss_t *l);

//  The diagonal smoothness of f_i, one value per coordinate j (out: data->cols values):
//  L_jj = max|l''| 1/m sum_t a_tj^2 + lambda, a bound on the Hessian's (j, j) entry
//  1/m sum_t l''(a_t^T x) a_tj^2 + lambda at every x (importance coordinate sampling).
void loss_coord_smoothness(const loss_t *l, double *out);

//  max over t of |d^2/dt^2 (1 - sigmoid(t))^2| (a constant, ~0.1540).
double loss_nonconvex_max_curvature(void);

#endif
