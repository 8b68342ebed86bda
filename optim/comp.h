//  comp.h - unbiased compressors Q: R^d -> R^d (identity, RandK).
//  comp_apply() writes Q(x) to out: E[Q(x)] = x, E|Q(x)-x|^2 <= comp_omega() |x|^2, and
//  E[nnz(Q(x))] <= comp_zeta(). All randomness comes from the rng_t passed in. A comp_t is a plain
//  value with a scratch buffer, owned by one actor (not thread-safe): init/fini.
#ifndef COMP_H
#define COMP_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "rng.h"
#include "vec.h"

typedef enum {
    COMP_IDENTITY = 0,  // Q(x) = x, omega = 0, dense
    COMP_RANDK = 1,     // K uniform coordinates scaled by d/K; omega = d/K - 1, zeta = K
} comp_kind_t;

typedef struct {
    comp_kind_t kind;
    size_t dim;        // d
    size_t k;          // RandK's K (1 <= K <= d); unused by identity
    uint8_t *scratch;  // dim bytes for sampling, owned
} comp_t;

//  The kind named name ("identity", "randk"); MR_ECONFIG (err names it) if unknown.
int comp_kind_parse(const char *name, comp_kind_t *kind, mr_err_t *err);
const char *comp_kind_name(comp_kind_t kind);

//  Checks the parameters (K in [1, d] for RandK) and allocates scratch. MR_ECONFIG names the key.
int comp_init(comp_t *c, comp_kind_t kind, size_t dim, size_t k, mr_err_t *err);
void comp_fini(comp_t *c);

//  The variance parameter omega of Definition 1.1 (MARINA paper).
double comp_omega(const comp_t *c);
//  The expected density zeta_Q = sup_x E nnz(Q(x)).
double comp_zeta(const comp_t *c);
//  The largest nnz comp_apply() can write (capacity out needs).
size_t comp_max_nnz(const comp_t *c);

//  out = Q(x); out->cap >= comp_max_nnz(c), out->dim == x->dim == c->dim.
void comp_apply(comp_t *c, const vec_t *x, rng_t *r, cvec_t *out);

#endif
