//  sparse_sum.h - g += a sum_i ups[i] over sparse updates in O(their entries), with the bits of
//  the dense combine: method_sum_updates() into a zeroed d-vector, then vec_axpy(g, a, sum).
//  The dense combine adds a * (+0.0) to every coordinate no update touches, which leaves each
//  value as it is but turns a -0.0 of g into +0.0; so a sparse_sum_t remembers where g holds a
//  -0.0 (found by one O(d) scan whenever g was written by other means) and applies the same
//  addition there. A sparse_sum_t belongs to one g (one server state); not thread-safe.
#ifndef SPARSE_SUM_H
#define SPARSE_SUM_H

#include <stddef.h>
#include <stdint.h>

#include "vec.h"

typedef struct {
    size_t dim;
    vec_t sum;       // +0.0 everywhere between calls (the dense combine's zeroed vector)
    uint8_t *seen;   // dim bits, all zero between calls: coordinates already added into g
    uint32_t *negz;  // the coordinates where g holds -0.0 (when negz_known)
    size_t nnegz;    // how many
    uint32_t *next;  // a call's new negz, then swapped with it
    size_t cap;      // capacity of negz and of next
    int negz_known;  // 0: g was written elsewhere since the last call; rescan it
} sparse_sum_t;

//  MR_OK, or MR_ENOMEM. fini frees (safe on a zeroed struct).
int sparse_sum_init(sparse_sum_t *s, size_t dim);
void sparse_sum_fini(sparse_sum_t *s);

//  g was written by anything but sparse_sum_axpy() (a dense round, a checkpoint): the next call
//  finds g's -0.0 coordinates again with one scan.
void sparse_sum_forget(sparse_sum_t *s);

//  g += a (ups[0] + ... + ups[n-1]), the updates added in index order and entry order exactly as
//  method_sum_updates() (mult NULL) and vec_axpy() would, every ups[i] sparse (not a sketch) and
//  of dim s->dim with indices < dim (duplicates and any order allowed). Returns 1 when done; 0,
//  touching nothing, if it cannot: a dense or sketch update, entries in all above dim / 4 (the
//  dense combine is as fast then), or no memory. Then the caller combines densely and calls
//  sparse_sum_forget().
int sparse_sum_axpy(sparse_sum_t *s, vec_t *g, double a, const cvec_t *const *ups, size_t n);

#endif
