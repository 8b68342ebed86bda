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
    LOSS_NONCONVEX = 0,  // MARINA paper, (11)
} loss_kind_t;

typedef struct {
    loss_kind_t kind;
    const csr_t *data;  // borrowed shard: m = data->rows samples
} loss_t;

//  Binds a loss to a shard; MR_EINVAL (err filled) on an empty shard.
int loss_init(loss_t *l, loss_kind_t kind, const csr_t *data, mr_err_t *err);

//  f_i(x) = 1/m sum_t l(a_t^T x, y_t).
double loss_value(const loss_t *l, const vec_t *x);

//  Returns f_i(x) and writes grad f_i(x) to grad, in one pass over the shard (m oracle calls).
double loss_value_grad(const loss_t *l, const vec_t *x, vec_t *grad);

//  Writes 1/b sum_{j in rows} grad f_ij(x) to grad (b = nrows > 0; rows may repeat).
void
loss_batch_grad(const loss_t *l, const uint32_t *rows, size_t nrows, const vec_t *x, vec_t *grad);

//  The smoothness constant L_i = max|l''| * max_t ||a_t||^2 of f_i (and of every f_ij).
double loss_smoothness(const loss_t *l);

//  max over t of |d^2/dt^2 (1 - sigmoid(t))^2| (a constant, ~0.1540).
double loss_nonconvex_max_curvature(void);

#endif
