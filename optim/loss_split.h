//  loss_split.h - loss_value_grad_sparse() in chunks that several threads may share, with the same
//  bits. Two passes over the shard: (1) for each row t, z_t = a_t^T x, phi_t = phi(z_t, y_t) and
//  its derivative phi'_t, the rows cut into chunks; (2) for each column j of the shard's support,
//  g_j = (sum over t ascending of phi'_t a_tj) / m, from a column-major copy of the shard, the
//  columns cut into chunks. Every sum is loss_value_grad_sparse()'s, term for term in the same
//  order (its row loop adds phi'_t a_tj into g_j row after row), so the result is the same double
//  at every coordinate whoever runs which chunk: test_loss_split checks it bit for bit.
//
//  Who runs the chunks is the caller's: loss_split_init() takes a loss_for_fn (actors/chunk_team.h
//  offers them to idle threads); NULL runs them in order in the calling thread. The split holds
//  scratch written by each call, so a loss with a split is one thread's at a time. Only for a loss
//  with lambda = 0 (loss_value_grad_sparse() uses it only then).
#ifndef LOSS_SPLIT_H
#define LOSS_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "loss.h"
#include "mr_err.h"

//  Chunks per pass: enough that a helper arriving late still finds some left.
#define LOSS_SPLIT_CHUNKS 4
//  A shard with fewer stored entries is not worth splitting (a chunk would cost about what
//  handing it over does): loss_split_worth() says 0.
#define LOSS_SPLIT_MIN_ENTRIES 4096

typedef void (*loss_chunk_fn)(void *arg, size_t chunk);
//  Runs fn(arg, c) once for every c < nchunks, on any threads, and returns once all have run (their
//  writes visible to the caller).
typedef void (*loss_for_fn)(void *ctx, loss_chunk_fn fn, void *arg, size_t nchunks);

typedef struct loss_split {
    const loss_t *loss;  // borrowed: the shard and kind
    size_t ncols;        // support columns: the distinct columns of the shard's entries
    uint32_t *col;       // ncols of them, increasing
    size_t *colptr;      // ncols + 1 offsets into row/val: support column k's entries
    uint32_t *row;       // their rows (from 0), increasing within a column
    double *val;         // their values; NULL when the loss has unit values
    size_t row_cut[LOSS_SPLIT_CHUNKS + 1];  // pass 1's chunk c: rows [row_cut[c], row_cut[c+1])
    size_t col_cut[LOSS_SPLIT_CHUNKS + 1];  // pass 2's: support columns [col_cut[c], ...)
    double *phi, *dphi;                     // per row scratch (m each)
    loss_for_fn run;                        // NULL: in order, in the calling thread
    void *run_ctx;
    //  The call in progress (set by loss_split_value_grad() for its chunks).
    const double *x;
    double *g;
} loss_split_t;

//  1 if l's shard is worth splitting: lambda = 0 and at least LOSS_SPLIT_MIN_ENTRIES entries.
int loss_split_worth(const loss_t *l);

//  A split of l (borrowed; lambda must be 0) whose chunks run through run(ctx, ...). MR_OK, or
//  MR_EINVAL / MR_ENOMEM (err filled). fini frees (safe on a zeroed struct).
int loss_split_init(loss_split_t *sp, const loss_t *l, loss_for_fn run, void *ctx, mr_err_t *err);
void loss_split_fini(loss_split_t *sp);

//  loss_value_grad_sparse(sp->loss, support, x, grad) with the same bits: returns f_i(x) and writes
//  grad f_i(x) at the support columns; grad must be +0.0 everywhere else (as there).
double loss_split_value_grad(loss_split_t *sp, const vec_t *x, vec_t *grad);

#endif
