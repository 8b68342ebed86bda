//  comp.c - identity and RandK compressors; see comp.h.
#include "comp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Names in the order of comp_kind_t; the one table both directions read.
static const char *const s_names[] = {
    [COMP_IDENTITY] = "identity",
    [COMP_RANDK] = "randk",
};
#define S_NKINDS (sizeof s_names / sizeof s_names[0])

int
comp_kind_parse(const char *name, comp_kind_t *kind, mr_err_t *err)
{
    for (size_t i = 0; name && i < S_NKINDS; i++) {
        if (strcmp(name, s_names[i]) == 0) {
            *kind = (comp_kind_t) i;
            return MR_OK;
        }
    }
    return mr_err_set(err, MR_ECONFIG,
                      "unknown compressor '%s' (key 'compressor': identity, randk)",
                      name ? name : "(null)");
}

const char *
comp_kind_name(comp_kind_t kind)
{
    return (size_t) kind < S_NKINDS ? s_names[kind] : "unknown";
}

int
comp_init(comp_t *c, comp_kind_t kind, size_t dim, size_t k, mr_err_t *err)
{
    *c = (comp_t){0};
    if ((size_t) kind >= S_NKINDS)
        return mr_err_set(err, MR_ECONFIG, "unknown compressor kind %d (key 'compressor')",
                          (int) kind);
    if (kind == COMP_RANDK) {
        if (k < 1 || k > dim)
            return mr_err_set(err, MR_ECONFIG, "key 'k' = %zu is outside [1, d = %zu] for randk", k,
                              dim);
        //  Indices travel as uint32_t (cvec_t.idx), so d must fit.
        if (dim > UINT32_MAX)
            return mr_err_set(err, MR_ECONFIG, "randk needs d < 2^32, got %zu", dim);
        c->scratch = calloc(dim, 1);
        if (!c->scratch)
            return mr_err_set(err, MR_ENOMEM, "no memory for randk scratch (d = %zu)", dim);
    }
    c->kind = kind;
    c->dim = dim;
    c->k = kind == COMP_RANDK ? k : dim;
    return MR_OK;
}

void
comp_fini(comp_t *c)
{
    free(c->scratch);
    c->scratch = NULL;
}

double
comp_omega(const comp_t *c)
{
    //  RandK: E|Q(x) - x|^2 = (d/K - 1)|x|^2 exactly (each coordinate kept w.p. K/d, scaled d/K).
    return c->kind == COMP_RANDK ? (double) c->dim / (double) c->k - 1.0 : 0.0;
}

double
comp_zeta(const comp_t *c)
{
    return c->kind == COMP_RANDK ? (double) c->k : (double) c->dim;
}

size_t
comp_max_nnz(const comp_t *c)
{
    return c->kind == COMP_RANDK ? c->k : c->dim;
}

void
comp_apply(comp_t *c, const vec_t *x, rng_t *r, cvec_t *out)
{
    assert(x->dim == c->dim && out->dim == c->dim);
    assert(out->cap >= comp_max_nnz(c));
    if (c->kind == COMP_IDENTITY) {
        cvec_set_dense(out, x);
        return;
    }
    //  RandK: K distinct coordinates, uniformly, scaled by d/K so that E[Q(x)] = x.
    double scale = (double) c->dim / (double) c->k;
    rng_sample_k(r, (uint32_t) c->dim, (uint32_t) c->k, out->idx, c->scratch);
    for (size_t j = 0; j < c->k; j++)
        out->val[j] = x->x[out->idx[j]] * scale;
    out->kind = CVEC_SPARSE;
    out->nnz = c->k;
}
