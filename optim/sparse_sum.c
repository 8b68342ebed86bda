//  sparse_sum.c - the sparse combine of sparse_sum.h.
//
//  The dense combine computes, for every coordinate j, g_j + a * sum_j with sum_j the updates'
//  entries at j added in order onto +0.0. Off the entries sum_j = +0.0, so a * sum_j = +-0.0 (a
//  finite), and g_j + (+-0.0) is g_j itself unless g_j = -0.0 (which +0.0 turns into +0.0; a NaN
//  stays the same NaN, as arithmetic never makes a signalling one). So the same bits come from
//  the same formula at a superset of the coordinates it can change: the sums at the entries'
//  coordinates (into the zeroed s->sum), then g_j += a * sum_j once at each coordinate that has
//  an entry or holds -0.0 (s->seen keeps "once"), with s->sum and s->seen zeroed again where they
//  were written. Afterwards g holds -0.0 only where this call wrote one.
#include "sparse_sum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mr_err.h"

int
sparse_sum_init(sparse_sum_t *s, size_t dim)
{
    *s = (sparse_sum_t){0};
    s->dim = dim;
    s->seen = calloc(dim / 8 + 1, 1);
    if (!s->seen || vec_init(&s->sum, dim) != MR_OK) {
        sparse_sum_fini(s);
        return MR_ENOMEM;
    }
    return MR_OK;
}

void
sparse_sum_fini(sparse_sum_t *s)
{
    vec_fini(&s->sum);
    free(s->seen);
    free(s->negz);
    free(s->next);
    *s = (sparse_sum_t){0};
}

void
sparse_sum_forget(sparse_sum_t *s)
{
    s->negz_known = 0;
}

static inline int
s_is_negative_zero(double v)
{
    return v == 0.0 && signbit(v);
}

//  Room for cap entries in s->negz and s->next; 0 on failure (their contents kept).
static int
s_negz_reserve(sparse_sum_t *s, size_t cap)
{
    if (cap <= s->cap)
        return 1;
    uint32_t *p = realloc(s->negz, cap * sizeof *p);
    if (p)
        s->negz = p;
    uint32_t *q = p ? realloc(s->next, cap * sizeof *q) : NULL;
    if (q)
        s->next = q;
    if (!p || !q)
        return 0;
    s->cap = cap;
    return 1;
}

//  Lists g's -0.0 coordinates into s->negz (one pass over g). 0 on failure.
static int
s_negz_scan(sparse_sum_t *s, const vec_t *g)
{
    size_t count = 0;
    for (size_t j = 0; j < g->dim; j++)
        count += s_is_negative_zero(g->x[j]);
    if (!s_negz_reserve(s, count ? count : 1))
        return 0;
    s->nnegz = 0;
    for (size_t j = 0; j < g->dim && s->nnegz < count; j++)
        if (s_is_negative_zero(g->x[j]))
            s->negz[s->nnegz++] = (uint32_t) j;
    s->negz_known = 1;
    return 1;
}

//  g_j += a * sum_j, once per coordinate; a -0.0 result joins next[*nnext] (room reserved).
static inline void
s_apply(sparse_sum_t *s, double *g, double a, uint32_t j, size_t *nnext)
{
    uint8_t bit = (uint8_t) (1u << (j & 7));
    if (s->seen[j >> 3] & bit)
        return;
    s->seen[j >> 3] |= bit;
    g[j] += a * s->sum.x[j];
    s->sum.x[j] = 0.0;  // read once: seen keeps a second s_apply() at j away
    if (s_is_negative_zero(g[j]))
        s->next[(*nnext)++] = j;
}

//  The coordinate's seen byte back to zero (every set bit of seen is at a coordinate this is
//  called for, so its whole byte can go).
static inline void
s_clear(sparse_sum_t *s, uint32_t j)
{
    s->seen[j >> 3] = 0;
}

int
sparse_sum_axpy(sparse_sum_t *s, vec_t *g, double a, const cvec_t *const *ups, size_t n)
{
    if (g->dim != s->dim || !isfinite(a))
        return 0;
    size_t entries = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ups[i] || ups[i]->kind != CVEC_SPARSE || ups[i]->enc == CVEC_ENC_SKETCH ||
            ups[i]->dim != s->dim)
            return 0;
        entries += ups[i]->nnz;
    }
    if (entries > s->dim / 4)
        return 0;
    if (!s->negz_known && !s_negz_scan(s, g))
        return 0;
    //  Every -0.0 after the call sits at an entry or at an old -0.0.
    if (!s_negz_reserve(s, s->nnegz + entries + 1))
        return 0;
    double *sum = s->sum.x;
    //  method_sum_updates(): sum_j = ((+0.0 + 1.0 v_0) + 1.0 v_1) ..., in update and entry order.
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < ups[i]->nnz; e++)
            sum[ups[i]->idx[e]] += 1.0 * ups[i]->val[e];
    //  vec_axpy() where it can change a bit: at the old -0.0 and at the entries.
    size_t nnext = 0;
    for (size_t t = 0; t < s->nnegz; t++)
        s_apply(s, g->x, a, s->negz[t], &nnext);
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < ups[i]->nnz; e++)
            s_apply(s, g->x, a, ups[i]->idx[e], &nnext);
    for (size_t t = 0; t < s->nnegz; t++)
        s_clear(s, s->negz[t]);
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < ups[i]->nnz; e++)
            s_clear(s, ups[i]->idx[e]);
    uint32_t *old = s->negz;
    s->negz = s->next;
    s->next = old;
    s->nnegz = nnext;
    return 1;
}
