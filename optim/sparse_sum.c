//  sparse_sum.c - the one-pass step and combine of sparse_sum.h.
//
//  The dense code computes, at every coordinate j, x_j + b g_j, then g_j + a sum_j, where sum_j is
//  +0.0 plus the updates' entries at j, added in update order (and entry order within one). Each
//  coordinate is independent of the others, so the same formulas over blocks of S_BLOCK
//  coordinates give the same bits: per block, each update's entries that fall in it (the next
//  ones of its sorted list) are added into acc, +0.0 at every block's start, then x and g are
//  stepped over the block. x, g and the lists are each read once in increasing order, and acc
//  stays in the first-level cache; the dense code passes over d-vectors four times.
#include "sparse_sum.h"

#include <stdint.h>

#include "marks.h"

#define S_BLOCK 512

//  1 if c's indices are below dim and never decrease.
static int
s_sorted_below(const cvec_t *c, size_t dim)
{
    for (size_t e = 0; e < c->nnz; e++)
        if (c->idx[e] >= dim || (e > 0 && c->idx[e - 1] > c->idx[e]))
            return 0;
    return 1;
}

//  1 if the updates fit sparse_sum_step_axpy(): at most SPARSE_SUM_MAX_UPDATES, each sparse (not
//  a sketch), of dim, sorted below it; x, if given, of dim.
static int
s_fits(const vec_t *x, size_t dim, const cvec_t *const *ups, size_t n)
{
    if (n > SPARSE_SUM_MAX_UPDATES || (x && x->dim != dim))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!ups[i] || ups[i]->kind != CVEC_SPARSE || ups[i]->enc == CVEC_ENC_SKETCH ||
            ups[i]->dim != dim || !s_sorted_below(ups[i], dim))
            return 0;
    return 1;
}

int
sparse_sum_step_axpy_few(vec_t *x,
                         double b,
                         vec_t *g,
                         double a,
                         const cvec_t *const *ups,
                         size_t n,
                         vec_t *scratch,
                         uint64_t *marks)
{
    size_t dim = g->dim, nonzero = 0;
    if (!(a > 0.0) || scratch->dim != dim || !s_fits(x, dim, ups, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < ups[i]->nnz; e++)
            nonzero += ups[i]->val[e] != 0.0;
    if (nonzero > dim / 32)
        return 0;
    if (x)
        vec_axpy(x, b, g);  // with g as it was
    double *sum = scratch->x, *gv = g->x;
    for (size_t i = 0; i < n; i++) {
        const cvec_t *u = ups[i];
        for (size_t e = 0; e < u->nnz; e++) {
            if (u->val[e] == 0.0)
                continue;
            uint32_t j = u->idx[e];
            sum[j] += 1.0 * u->val[e];
            marks_set(marks, j);
        }
    }
    marks_walk_t it = marks_walk(marks, dim);
    for (size_t j; marks_next(&it, &j);) {
        gv[j] += a * sum[j];
        sum[j] = 0.0;
    }
    return 1;
}

int
sparse_sum_step_axpy(vec_t *x, double b, vec_t *g, double a, const cvec_t *const *ups, size_t n)
{
    size_t dim = g->dim;
    if (!s_fits(x, dim, ups, n))
        return 0;
    double acc[S_BLOCK];
    size_t pos[SPARSE_SUM_MAX_UPDATES] = {0};
    for (size_t j = 0; j < S_BLOCK; j++)
        acc[j] = 0.0;
    double *xv = x ? x->x : NULL, *gv = g->x;
    for (size_t at = 0; at < dim; at += S_BLOCK) {
        size_t len = dim - at < S_BLOCK ? dim - at : S_BLOCK;
        //  method_sum_updates() on this block: sum_j = ((+0.0 + 1.0 v_0) + 1.0 v_1) ...
        for (size_t i = 0; i < n; i++) {
            const cvec_t *u = ups[i];
            size_t e = pos[i];
            for (; e < u->nnz && u->idx[e] < at + len; e++)
                acc[u->idx[e] - at] += 1.0 * u->val[e];
            pos[i] = e;
        }
        //  vec_axpy(x, b, g) with g as it was, then vec_axpy(g, a, sum), and acc back to +0.0.
        double *xb = xv ? xv + at : NULL, *gb = gv + at;
        if (xb)
            for (size_t j = 0; j < len; j++)
                xb[j] += b * gb[j];
        for (size_t j = 0; j < len; j++) {
            gb[j] += a * acc[j];
            acc[j] = 0.0;
        }
    }
    return 1;
}
