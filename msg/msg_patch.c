//  msg_patch.c - the downlink patch of a ROUND (docs/protocol.md, "ROUND"): which coordinates of
//  g^{k-1} changed since the previous ROUND, and the digest that lets a receiver check its copy.
#include "msg_impl.h"

#include <stdlib.h>
#include <string.h>

#define S_FNV_OFFSET 0xCBF29CE484222325ull
#define S_FNV_PRIME  0x100000001B3ull

static uint64_t
s_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

uint64_t
msg_g_digest(const vec_t *g)
{
    uint64_t h = S_FNV_OFFSET;
    for (size_t j = 0; j < g->dim; j++) {
        h ^= s_bits(g->x[j]);
        h *= S_FNV_PRIME;
    }
    return h;
}

int
msg_patch_reserve(msg_t *m, size_t n)
{
    if (n <= m->gp_cap)
        return MR_OK;
    size_t cap = n < 16 ? 16 : n;
    uint32_t *idx = realloc(m->gp_idx, cap * sizeof *idx);
    if (!idx)
        return MR_ENOMEM;
    m->gp_idx = idx;
    double *val = realloc(m->gp_val, cap * sizeof *val);
    if (!val)
        return MR_ENOMEM;
    m->gp_val = val;
    m->gp_cap = cap;
    return MR_OK;
}

int
msg_g_patch_build(msg_t *m, const vec_t *prev)
{
    //  Room for every coordinate once (a patch is never longer than d): then one pass.
    size_t dim = m->g.dim;
    if (msg_patch_reserve(m, dim) != MR_OK)
        return MR_ENOMEM;
    m->gp_nnz = 0;
    for (size_t j = 0; j < dim; j++) {
        if (s_bits(m->g.x[j]) == s_bits(prev->x[j]))
            continue;
        m->gp_idx[m->gp_nnz] = (uint32_t) j;
        m->gp_val[m->gp_nnz++] = m->g.x[j];
    }
    return MR_OK;
}

int
msg_g_patch_apply(const msg_t *m, vec_t *g)
{
    for (size_t t = 0; t < m->gp_nnz; t++) {
        if (m->gp_idx[t] >= g->dim)
            return MR_EDIM;
        g->x[m->gp_idx[t]] = m->gp_val[t];
    }
    return MR_OK;
}
