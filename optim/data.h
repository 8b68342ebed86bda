//  data.h - a labelled data set in compressed sparse row form, the synthetic generators, and an
//  orthonormal basis of a data set's row space.
//  csr_t owns its arrays. Row t has entries col[rowptr[t]..rowptr[t+1]) (strictly increasing
//  columns, each < cols) with values val[..], and label y[t] in {-1, +1}. A bias column of ones,
//  when requested, is the last column (index cols - 1). Plain value: init/fini.
#ifndef DATA_H
#define DATA_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

typedef struct {
    size_t rows;     // number of samples
    size_t cols;     // dimension d (including the bias column, if any)
    size_t nnz;      // stored entries
    size_t *rowptr;  // rows + 1 offsets into col/val
    uint32_t *col;   // nnz column indices
    double *val;     // nnz values
    double *y;       // rows labels, each -1 or +1
} csr_t;

void csr_fini(csr_t *a);

//  Copies rows [begin, end) of a into out (same cols). MR_OK, MR_EINVAL or MR_ENOMEM.
int csr_slice(const csr_t *a, size_t begin, size_t end, csr_t *out);

//  Part i (0-based) of the paper's split of a into n equal contiguous parts of floor(rows/n)
//  rows each; the last rows - n*floor(rows/n) rows belong to no part (MARINA paper, App. A.1.1).
int csr_split_part(const csr_t *a, size_t n, size_t i, csr_t *out, mr_err_t *err);

//  The FNV-1a 64 fingerprint of a (docs/protocol.md, "Joining: the configuration check"): over
//  rows and cols, then per row its entry count, each entry's column (4 bytes) and value (8 bytes)
//  and its label, all little-endian. Equal data, equal fingerprint; one changed bit, another.
uint64_t csr_fingerprint(const csr_t *a);

//  max_t ||a_t||^2 over the rows.
double csr_max_row_norm_sq(const csr_t *a);

//  A deterministic, heterogeneous synthetic binary classification set: rows samples of dimension
//  cols (the last column is a bias of ones), density in (0,1] of the other columns, labels from a
//  planted model; the rows are in n_groups contiguous groups whose features and labels follow
//  different distributions, so that the paper's contiguous split gives each worker different data.
//  Up to DATA_SYNTH_DENSE_MAX (row, feature) pairs it draws one uniform per pair; above that, and
//  when no group's column frequency exceeds 1/2, it draws the gaps between a row's non-zeros, in
//  O(non-zeros) time rather than O(rows cols), with the same distribution but other values
//  (docs/protocol.md, "The data").
#define DATA_SYNTH_DENSE_MAX 1e9
int data_synthetic(size_t rows,
                   size_t cols,
                   double density,
                   size_t n_groups,
                   uint64_t seed,
                   csr_t *out,
                   mr_err_t *err);

//  A low-rank variant of data_synthetic(): dense rows whose cols - 1 features are random
//  combinations of rank fixed random vectors (1 <= rank <= cols - 1), plus the bias column of
//  ones, so the row space of the set has dimension rank + 1 (almost surely). The n_groups
//  contiguous groups differ in the mean of their combination coefficients and in their planted
//  model; labels are assigned by rank of a noisy planted score, as data_synthetic() does.
int data_synthetic_lowrank(size_t rows,
                           size_t cols,
                           size_t rank,
                           size_t n_groups,
                           uint64_t seed,
                           csr_t *out,
                           mr_err_t *err);

//  In place: feature column j of a (j = 0 .. cols - 2; the last column, the bias, is left as it
//  is) multiplied by cond^(-j / (2 (cols - 2))), so the squared column scales fall geometrically
//  from 1 to 1/cond and the diagonal of A^T A (the coordinate smoothness L_jj of least squares)
//  spans about the ratio cond: an ill-conditioned problem with unequal L_jj (the `synth_cond`
//  key). cond = 1, or a single feature column, leaves a unchanged. MR_OK, or MR_EINVAL for
//  cond < 1 or not finite.
int data_scale_columns(csr_t *a, double cond, mr_err_t *err);

//  An orthonormal basis of Range(a^T), the span of a's rows: modified Gram-Schmidt over the rows
//  in order, each row orthogonalised twice ("twice is enough"); a row whose residual falls to
//  tol (in (0, 1)) times its norm or below is taken as dependent, so every row of a lies within
//  tol |a_t| of the span. *q_out (the caller's to free; NULL when the rank is 0) is row-major
//  cols x rank: basis vector j is column j, entry t at q[t rank + j]. O(rows cols rank) time,
//  stops early once rank = cols. MR_OK, MR_EINVAL (tol) or MR_ENOMEM.
int data_row_space(const csr_t *a, double tol, double **q_out, size_t *rank_out, mr_err_t *err);

#endif
