//  sparse_sum.h - the server's step and combine of a compressed round in one pass:
//  x += b g, then g += a (ups[0] + ... + ups[n-1]) for sparse updates, with the bits of the
//  dense code it replaces (vec_axpy(x, b, g); method_sum_updates() into a zeroed d-vector;
//  vec_axpy(g, a, sum)) and without the d-vector of the sum: the updates' entries are summed a
//  block of coordinates at a time, in update and entry order onto +0.0 as the dense sum does,
//  and g_j + a sum_j is formed at every coordinate, so a -0.0 of g becomes +0.0 off the entries
//  exactly as in the dense code. Pure: no state, no allocation.
#ifndef SPARSE_SUM_H
#define SPARSE_SUM_H

#include <stddef.h>

#include "vec.h"

//  The most updates one call sums (the lists are walked side by side).
#define SPARSE_SUM_MAX_UPDATES 64

//  If x is not NULL, x += b g (every coordinate, with g as it was); then g += a sum_i ups[i].
//  Every ups[i] must be sparse (not a sketch), of g's dim, with indices < dim that never decrease
//  (RandK's increase), and n <= SPARSE_SUM_MAX_UPDATES; x, if given, of g's dim. Returns 1 when
//  done; 0, touching nothing, if any of that fails (the caller then runs the dense code).
int
sparse_sum_step_axpy(vec_t *x, double b, vec_t *g, double a, const cvec_t *const *ups, size_t n);

//  sparse_sum_step_axpy() for updates with few non-zero entries, when g holds no -0.0: x += b g
//  over every coordinate (vec_axpy), then g_j += a sum_j only at the coordinates where an update
//  has an entry other than +-0.0, summed in update and entry order into scratch (a d-vector of
//  +0.0, left so) at the coordinates marked in marks (MARKS_WORDS(dim) words of marks.h, zero,
//  left so). The same bits as the dense code: an entry +-0.0 adds nothing to a sum from +0.0, a
//  coordinate with none gets g_j + a (+0.0) = g_j (g_j is not -0.0, a > 0), and the sums keep
//  their order.
//  Requires a > 0 and the checks of sparse_sum_step_axpy(); 0, touching nothing, if they fail or
//  if the non-zero entries are too many for this to pay (over dim / 32: the one pass is faster).
int sparse_sum_step_axpy_few(vec_t *x,
                             double b,
                             vec_t *g,
                             double a,
                             const cvec_t *const *ups,
                             size_t n,
                             vec_t *scratch,
                             uint64_t *marks);

#endif
