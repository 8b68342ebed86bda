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

#endif
