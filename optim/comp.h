//  comp.h - compressors Q: R^d -> R^d: identity, RandK, random dithering (QSGD), natural
//  compression, TopK, ternary (TernGrad) and block dithering.
//  comp_apply() writes Q(x) to out. Every kind but TopK is unbiased in the sense of Definition
//  1.1 of the MARINA paper: E[Q(x)] = x, E|Q(x)-x|^2 <= comp_omega() |x|^2, and
//  E[nnz(Q(x))] <= comp_zeta(). TopK is biased (comp_kind_is_biased()) and has no omega (NaN).
//  The quantizers also describe their output for the wire (cvec_t.enc: LEVELS or POW2), so msg/
//  can send a few bits per value; val always holds the exact doubles. All randomness comes from
//  the rng_t passed in. A comp_t is a plain value with scratch buffers, owned by one actor (not
//  thread-safe): init/fini.
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
    COMP_DITHER = 2,    // l2 random dithering with s levels (QSGD); unbiased
    COMP_NATURAL = 3,   // natural compression: random rounding to a power of two; unbiased
    COMP_TOPK = 4,      // the K largest |x_i| kept unscaled: BIASED
    COMP_TERNARY = 5,   // TernGrad: max|x| * sign(x_i) * Bernoulli(|x_i| / max|x|); unbiased
    COMP_BLOCK = 6,     // random dithering per block of t coordinates, one norm per block
} comp_kind_t;

//  1 for a biased compressor (E[Q(x)] != x): only methods with allows_biased may use it.
int comp_kind_is_biased(comp_kind_t kind);

//  What the configuration says about Q (keys 'compressor', 'k', 's', 't').
typedef struct {
    comp_kind_t kind;  // which compressor
    size_t k;          // RandK, TopK: K, 1 <= K <= d; ignored by the others
    size_t s;          // dither, block: levels per sign, 1 <= s <= CVEC_MAX_LEVELS; else ignored
    size_t t;          // block: block length, 1 <= t <= d; else ignored
} comp_cfg_t;

typedef struct {
    comp_kind_t kind;
    size_t dim;        // d
    size_t k;          // RandK's and TopK's K (1 <= K <= d); d for the others
    size_t s;          // levels per sign (dither, block; 1 for ternary); 0 for the others
    size_t t;          // block length (block; d for dither and ternary); 0 for the others
    uint8_t *scratch;  // dim bytes for sampling (RandK), owned
    uint32_t *heap;    // K coordinates (TopK's selection heap), owned
} comp_t;

//  The kind named name ("identity", "randk", "dither", "natural", "topk", "ternary", "block");
//  MR_ECONFIG (err names the key and the choices) if unknown.
int comp_kind_parse(const char *name, comp_kind_t *kind, mr_err_t *err);
const char *comp_kind_name(comp_kind_t kind);

//  Checks the parameters ('k' in [1, d] for randk/topk; 's' in [1, 2^24] for dither/block; 't'
//  in [1, d] for block) and allocates scratch. MR_ECONFIG names the key; MR_ENOMEM.
int comp_init(comp_t *c, const comp_cfg_t *cfg, size_t dim, mr_err_t *err);
void comp_fini(comp_t *c);

//  The variance parameter omega of Definition 1.1 (MARINA paper); NaN for TopK (biased).
double comp_omega(const comp_t *c);
//  The expected density zeta_Q = sup_x E nnz(Q(x)) (an upper bound where the sup is not known).
double comp_zeta(const comp_t *c);
//  The largest nnz comp_apply() can write (capacity out needs).
size_t comp_max_nnz(const comp_t *c);

//  out = Q(x); out->cap >= comp_max_nnz(c), out->dim == x->dim == c->dim. The quantizers
//  (dither, natural, ternary, block) write out sparse when that is cheaper in bits_model
//  (docs/protocol.md) and dense otherwise; if x has a NaN or Inf they pass x through as a dense
//  RAW vector, which every receiver rejects.
void comp_apply(comp_t *c, const vec_t *x, rng_t *r, cvec_t *out);

//  Q(a - b) into out, bit for bit what comp_apply() gives for the difference formed as
//  vec_copy(diff, a) then vec_axpy(diff, -1, b), with the same draws of r. RandK forms only its K
//  sampled coordinates (O(K), not O(d)) and leaves diff alone; every other kind forms the whole
//  difference in diff (the caller's, of dimension d) and compresses it.
void comp_apply_diff(comp_t *c, const vec_t *a, const vec_t *b, vec_t *diff, rng_t *r, cvec_t *out);

#endif
