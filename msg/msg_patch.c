//  msg_patch.c - the downlink patch of a ROUND (docs/protocol.md, "ROUND"): which coordinates of
//  g^{k-1} changed since the previous ROUND, and the digest that lets a receiver check its copy.
#include "msg_impl.h"

#include <stdlib.h>
#include <string.h>

#include "marks.h"

#define S_GOLDEN 0x9E3779B97F4A7C15ull  // 2^64 / golden ratio: spreads the positions
#define S_MIX    0xD6E8FEB86659FD93ull  // an odd multiplier: the term is a bijection of the bits

static uint64_t
s_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

//  Coordinate j's term of the digest. For a fixed j it is a bijection of the bits, so changing
//  one coordinate always changes the digest; the position enters, so swapping two does too.
static inline uint64_t
s_term(size_t j, uint64_t bits)
{
    uint64_t z = bits + (uint64_t) (j + 1) * S_GOLDEN;
    z ^= z >> 32;
    z *= S_MIX;
    z ^= z >> 29;
    return z;
}

uint64_t
msg_g_digest(const vec_t *g)
{
    //  A sum of independent terms: no chain from one coordinate to the next, and a patch
    //  updates it in O(entries) (msg_g_patch_apply).
    uint64_t h = (uint64_t) g->dim;
    for (size_t j = 0; j < g->dim; j++)
        h += s_term(j, s_bits(g->x[j]));
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
msg_g_patch_apply(const msg_t *m, vec_t *g, uint64_t *digest)
{
    uint64_t h = digest ? *digest : 0;
    for (size_t t = 0; t < m->gp_nnz; t++) {
        uint32_t j = m->gp_idx[t];
        if (j >= g->dim)
            return MR_EDIM;
        h += s_term(j, s_bits(m->gp_val[t])) - s_term(j, s_bits(g->x[j]));
        g->x[j] = m->gp_val[t];
    }
    if (digest)
        *digest = h;
    return MR_OK;
}

//  Coordinate j of msg_g_update()'s pass: if g's bits there differ from m->g's, writes them to
//  m->g, moves the digest *h with them and, with want_patch, appends the entry to the patch
//  (room reserved by the caller).
static inline void
s_update_coord(msg_t *m, const vec_t *g, size_t j, int want_patch, uint64_t *h)
{
    uint64_t now = s_bits(g->x[j]), before = s_bits(m->g.x[j]);
    if (now == before)
        return;
    *h += s_term(j, now) - s_term(j, before);
    m->g.x[j] = g->x[j];
    if (want_patch) {
        m->gp_idx[m->gp_nnz] = (uint32_t) j;
        m->gp_val[m->gp_nnz++] = g->x[j];
    }
}

int
msg_g_update(msg_t *m, const vec_t *g, int have_prev, int want_patch, uint64_t *digest)
{
    size_t dim = m->g.dim;
    m->gp_nnz = 0;
    if (!have_prev) {
        vec_copy(&m->g, g);
        *digest = m->g_digest = msg_g_digest(g);
        return MR_OK;
    }
    if (want_patch && msg_patch_reserve(m, dim) != MR_OK)
        return MR_ENOMEM;
    //  One pass over both copies; only what changed is written, and the digest follows it.
    uint64_t h = *digest;
    for (size_t j = 0; j < dim; j++)
        s_update_coord(m, g, j, want_patch, &h);
    *digest = m->g_digest = h;
    return MR_OK;
}

int
msg_g_update_marked(msg_t *m, const vec_t *g, uint64_t *marks, int want_patch, uint64_t *digest)
{
    size_t dim = m->g.dim;
    m->gp_nnz = 0;
    //  Room for every coordinate, as msg_g_update() reserves (the same buffer, kept from round to
    //  round: only the entries written are touched).
    if (want_patch && msg_patch_reserve(m, dim) != MR_OK)
        return MR_ENOMEM;
    //  msg_g_update()'s pass over the marked coordinates only, in increasing order.
    uint64_t h = *digest;
    marks_walk_t it = marks_walk(marks, dim);
    for (size_t j; marks_next(&it, &j);)
        s_update_coord(m, g, j, want_patch, &h);
    *digest = m->g_digest = h;
    return MR_OK;
}
