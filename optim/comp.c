//  comp.c - the compressors of comp.h, their omega and zeta, and how they describe themselves to
//  the wire (cvec_t.enc). The formulas and their sources are in docs/protocol.md, "Compressors".
#include "comp.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  Names in the order of comp_kind_t; the one table both directions read.
static const char *const s_names[] = {
    [COMP_IDENTITY] = "identity", [COMP_RANDK] = "randk", [COMP_DITHER] = "dither",
    [COMP_NATURAL] = "natural",   [COMP_TOPK] = "topk",   [COMP_TERNARY] = "ternary",
    [COMP_BLOCK] = "block",
};
#define S_NKINDS (sizeof s_names / sizeof s_names[0])

//  Bits per transmitted value in the papers' convention (docs/protocol.md): natural compression
//  sends a sign and an 8-bit exponent (Horvath et al., "Natural compression", Sec. 3).
#define S_POW2_PAPER_BITS 9

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
                      "unknown compressor '%s' (key 'compressor': identity, randk, dither, "
                      "natural, topk, ternary, block)",
                      name ? name : "(null)");
}

const char *
comp_kind_name(comp_kind_t kind)
{
    return (size_t) kind < S_NKINDS ? s_names[kind] : "unknown";
}

int
comp_kind_is_biased(comp_kind_t kind)
{
    return kind == COMP_TOPK;
}

int
comp_init(comp_t *c, const comp_cfg_t *cfg, size_t dim, mr_err_t *err)
{
    comp_kind_t kind = cfg->kind;
    *c = (comp_t){0};
    if ((size_t) kind >= S_NKINDS)
        return mr_err_set(err, MR_ECONFIG, "unknown compressor kind %d (key 'compressor')",
                          (int) kind);
    const char *name = s_names[kind];
    //  Indices travel as uint32_t (cvec_t.idx), so d must fit.
    if (kind != COMP_IDENTITY && dim > UINT32_MAX)
        return mr_err_set(err, MR_ECONFIG, "%s needs d < 2^32, got %zu", name, dim);
    c->kind = kind;
    c->dim = dim;
    c->k = dim;
    switch (kind) {
        case COMP_RANDK:
        case COMP_TOPK:
            if (cfg->k < 1 || cfg->k > dim)
                return mr_err_set(err, MR_ECONFIG, "key 'k' = %zu is outside [1, d = %zu] for %s",
                                  cfg->k, dim, name);
            c->k = cfg->k;
            break;
        case COMP_DITHER:
        case COMP_BLOCK:
            if (kind == COMP_BLOCK && (cfg->t < 1 || cfg->t > dim))
                return mr_err_set(err, MR_ECONFIG, "key 't' = %zu is outside [1, d = %zu] for %s",
                                  cfg->t, dim, name);
            if (cfg->s < 1 || cfg->s > CVEC_MAX_LEVELS)
                return mr_err_set(err, MR_ECONFIG, "key 's' = %zu is outside [1, %u] for %s",
                                  cfg->s, CVEC_MAX_LEVELS, name);
            c->s = cfg->s;
            c->t = kind == COMP_BLOCK ? cfg->t : dim;
            break;
        case COMP_TERNARY:  // one block of d coordinates, levels {-1, 0, 1}, scale max|x_i|
            c->s = 1;
            c->t = dim;
            break;
        default:
            break;
    }
    if (kind == COMP_RANDK) {
        c->scratch = calloc(dim, 1);
        if (!c->scratch)
            return mr_err_set(err, MR_ENOMEM, "no memory for randk scratch (d = %zu)", dim);
    }
    if (kind == COMP_TOPK) {
        c->heap = malloc(c->k * sizeof *c->heap);
        if (!c->heap)
            return mr_err_set(err, MR_ENOMEM, "no memory for topk's heap (K = %zu)", c->k);
    }
    return MR_OK;
}

void
comp_fini(comp_t *c)
{
    free(c->scratch);
    c->scratch = NULL;
    free(c->heap);
    c->heap = NULL;
}

//  --------------------------------------------------------------------------------------------
//  omega and zeta

//  QSGD (Alistarh et al. 2017), Lemma 3.1 for one block of n coordinates and s levels:
//  E|Q(x) - x|^2 <= min(n / s^2, sqrt(n) / s) |x|^2 and E nnz(Q(x)) <= s^2 + s sqrt(n) (and <= n).
static double
s_qsgd_omega(double n, double s)
{
    return fmin(n / (s * s), sqrt(n) / s);
}

static double
s_qsgd_zeta(double n, double s)
{
    return fmin(n, s * s + s * sqrt(n));
}

double
comp_omega(const comp_t *c)
{
    double d = (double) c->dim, s = (double) c->s;
    switch (c->kind) {
        case COMP_IDENTITY:
            return 0.0;
        case COMP_RANDK:
            //  E|Q(x) - x|^2 = (d/K - 1)|x|^2 exactly (each coordinate kept w.p. K/d, scaled d/K).
            return d / (double) c->k - 1.0;
        case COMP_DITHER:
            return s_qsgd_omega(d, s);
        case COMP_BLOCK:
            //  Blocks are quantized independently, each with its own norm, so the errors add up
            //  block by block: sum_b omega(t_b) |x_b|^2 <= omega(t) |x|^2 since t_b <= t.
            return s_qsgd_omega((double) c->t, s);
        case COMP_NATURAL:
            //  Horvath et al., "Natural compression for distributed deep learning", Thm. 1: for
            //  |x_i| = 2^e (1 + u), u in [0, 1), the variance is 4^e u (1 - u) <= x_i^2 / 8.
            return 0.125;
        case COMP_TERNARY:
            //  E|Q(x) - x|^2 = sum_i |x_i| (m - |x_i|) = m |x|_1 - |x|^2 with m = max|x_i|. Its
            //  sup over x with |x| = 1 is (sqrt(d) - 1) / 2, reached at x ~ (1 + sqrt(d), 1, ..., 1)
            //  (docs/protocol.md derives it); tighter than the crude sqrt(d) - 1.
            return (sqrt(d) - 1.0) / 2.0;
        case COMP_TOPK:
            return NAN;  // biased: not a quantization in the sense of Definition 1.1
    }
    return NAN;
}

double
comp_zeta(const comp_t *c)
{
    switch (c->kind) {
        case COMP_RANDK:
        case COMP_TOPK:
            return (double) c->k;
        case COMP_DITHER:
        case COMP_BLOCK: {
            size_t full = c->dim / c->t, rest = c->dim % c->t;
            double z = (double) full * s_qsgd_zeta((double) c->t, (double) c->s);
            return rest ? z + s_qsgd_zeta((double) rest, (double) c->s) : z;
        }
        default:
            //  identity and natural keep every nonzero; ternary keeps x_i w.p. |x_i| / max|x|,
            //  which is 1 for every i when all |x_i| are equal.
            return (double) c->dim;
    }
}

size_t
comp_max_nnz(const comp_t *c)
{
    return c->kind == COMP_RANDK || c->kind == COMP_TOPK ? c->k : c->dim;
}

//  --------------------------------------------------------------------------------------------
//  Compressors

//  ceil(log2 n), 0 for n <= 1 (msg_index_bits(), which optim/ cannot include).
static unsigned
s_ceil_log2(uint64_t n)
{
    unsigned b = 0;
    while (b < 64 && ((uint64_t) 1 << b) < n)
        b++;
    return b;
}

//  1 if sending nnz of d values sparsely costs fewer bits_model than sending all d values, each
//  value costing vbits and each index ceil(log2 d) (docs/protocol.md, "Dense or sparse").
static int
s_sparse_is_cheaper(size_t nnz, size_t d, unsigned vbits)
{
    uint64_t ib = s_ceil_log2(d);
    return (uint64_t) nnz * (vbits + ib) < (uint64_t) d * vbits;
}

static void
s_randk(comp_t *c, const vec_t *x, rng_t *r, cvec_t *out)
{
    //  K distinct coordinates, uniformly, scaled by d/K so that E[Q(x)] = x.
    double scale = (double) c->dim / (double) c->k;
    rng_sample_k(r, (uint32_t) c->dim, (uint32_t) c->k, out->idx, c->scratch);
    for (size_t j = 0; j < c->k; j++)
        out->val[j] = x->x[out->idx[j]] * scale;
    out->kind = CVEC_SPARSE;
    out->enc = CVEC_ENC_RAW;
    out->nnz = c->k;
}

//  TopK's order: coordinate a is worse than b if |x_a| < |x_b|, or equal and a > b (ties go to
//  the lower index, so the selection is deterministic).
static int
s_worse(const double *x, uint32_t a, uint32_t b)
{
    double fa = fabs(x[a]), fb = fabs(x[b]);
    return fa < fb || (fa == fb && a > b);
}

static void
s_sift_down(uint32_t *h, size_t n, const double *x, size_t i)
{
    for (;;) {
        size_t w = i, l = 2 * i + 1, rr = l + 1;
        if (l < n && s_worse(x, h[l], h[w]))
            w = l;
        if (rr < n && s_worse(x, h[rr], h[w]))
            w = rr;
        if (w == i)
            return;
        uint32_t tmp = h[i];
        h[i] = h[w];
        h[w] = tmp;
        i = w;
    }
}

static int
s_cmp_u32(const void *a, const void *b)
{
    uint32_t u = *(const uint32_t *) a, v = *(const uint32_t *) b;
    return (u > v) - (u < v);
}

static void
s_topk(comp_t *c, const vec_t *x, cvec_t *out)
{
    //  A min-heap (by s_worse) of the K best coordinates seen so far: O(d log K), no randomness.
    uint32_t *h = c->heap;
    size_t n = 0;
    for (uint32_t i = 0; i < (uint32_t) c->dim; i++) {
        if (n < c->k) {
            size_t j = n++;
            h[j] = i;
            while (j > 0 && s_worse(x->x, h[j], h[(j - 1) / 2])) {
                uint32_t tmp = h[j];
                h[j] = h[(j - 1) / 2];
                h[(j - 1) / 2] = tmp;
                j = (j - 1) / 2;
            }
        } else if (s_worse(x->x, h[0], i)) {
            h[0] = i;
            s_sift_down(h, n, x->x, 0);
        }
    }
    memcpy(out->idx, h, n * sizeof *h);
    qsort(out->idx, n, sizeof *out->idx, s_cmp_u32);
    for (size_t j = 0; j < n; j++)
        out->val[j] = x->x[out->idx[j]];
    out->kind = CVEC_SPARSE;
    out->enc = CVEC_ENC_RAW;
    out->nnz = n;
}

//  The l2 norm of x[0..n), without overflow or underflow in the squares.
static double
s_norm2(const double *x, size_t n)
{
    double m = 0.0, sum = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    if (m == 0.0)
        return 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (x[i] / m) * (x[i] / m);
    return m * sqrt(sum);
}

static double
s_norm_inf(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

//  Random dithering of every block of t coordinates with s levels (dither: t = d; ternary: s = 1
//  and the block's scale is max|x_i| instead of |x_b|). With r = s |x_i| / norm and l = floor(r),
//  the level is l + 1 with probability r - l, else l, so E[level] = r and E[Q(x)_i] = x_i
//  (QSGD, Sec. 3.1; TernGrad, Eq. 2).
static void
s_levels(comp_t *c, const vec_t *x, rng_t *r, cvec_t *out)
{
    size_t d = c->dim, t = c->t, nb = (d + t - 1) / t, nnz = 0;
    uint32_t s = (uint32_t) c->s;
    assert(nb <= out->cap);
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * t, n = lo + t <= d ? t : d - lo;
        double norm = c->kind == COMP_TERNARY ? s_norm_inf(x->x + lo, n) : s_norm2(x->x + lo, n);
        out->norm[b] = norm;
        for (size_t i = lo; i < lo + n; i++) {
            int32_t l = 0;
            if (norm > 0.0) {
                double rr = fabs(x->x[i]) / norm * (double) s;
                double fl = floor(rr);
                //  rr <= s up to rounding in the norm; the clamp keeps levels in [-s, s].
                l = fl >= (double) s ? (int32_t) s : (int32_t) fl + rng_bernoulli(r, rr - fl);
            }
            out->lev[i] = x->x[i] < 0.0 ? -l : l;
            nnz += l != 0;
        }
    }
    out->enc = CVEC_ENC_LEVELS;
    out->s = s;
    out->t = t;
    unsigned vbits = 1 + s_ceil_log2((uint64_t) s + 1);  // sign + magnitude
    if (s_sparse_is_cheaper(nnz, d, vbits)) {
        size_t j = 0;
        for (size_t i = 0; i < d; i++) {
            if (out->lev[i] != 0) {
                out->idx[j] = (uint32_t) i;
                out->lev[j] = out->lev[i];  // j <= i: compacting in place is safe
                j++;
            }
        }
        assert(j == nnz);
        out->kind = CVEC_SPARSE;
        out->nnz = nnz;
    } else {
        out->kind = CVEC_DENSE;
        out->nnz = d;
    }
    for (size_t j = 0; j < out->nnz; j++) {
        size_t i = out->kind == CVEC_SPARSE ? out->idx[j] : j;
        out->val[j] = cvec_level_value(out->norm[i / t], out->lev[j], s);
    }
}

//  Natural compression (Horvath et al.): |x_i| = m 2^E with m in [0.5, 1) lies between
//  lo = 2^(E-1) and 2 lo; it becomes 2 lo with probability (|x_i| - lo) / lo = 2m - 1, else lo,
//  so E[Q(x)_i] = x_i. The sign is kept; 0 stays 0.
static double
s_natural_one(double xi, rng_t *r)
{
    int e;
    double m = frexp(fabs(xi), &e);
    double lo = ldexp(1.0, e - 1);
    //  |x_i| >= 2^1023: 2^1024 is not a double, so round down (biased only in this corner).
    double v = e - 1 >= 1023 ? lo : (rng_bernoulli(r, 2.0 * m - 1.0) ? 2.0 * lo : lo);
    return xi < 0.0 ? -v : v;
}

static void
s_natural(comp_t *c, const vec_t *x, rng_t *r, cvec_t *out)
{
    size_t d = c->dim, nnz = 0;
    for (size_t i = 0; i < d; i++)
        nnz += x->x[i] != 0.0;
    out->enc = CVEC_ENC_POW2;
    if (s_sparse_is_cheaper(nnz, d, S_POW2_PAPER_BITS)) {
        size_t j = 0;
        for (size_t i = 0; i < d; i++) {
            if (x->x[i] != 0.0) {
                out->idx[j] = (uint32_t) i;
                out->val[j++] = s_natural_one(x->x[i], r);
            }
        }
        out->kind = CVEC_SPARSE;
        out->nnz = nnz;
    } else {
        for (size_t i = 0; i < d; i++)
            out->val[i] = x->x[i] != 0.0 ? s_natural_one(x->x[i], r) : 0.0;
        out->kind = CVEC_DENSE;
        out->nnz = d;
    }
}

void
comp_apply_diff(comp_t *c, const vec_t *a, const vec_t *b, vec_t *diff, rng_t *r, cvec_t *out)
{
    assert(a->dim == c->dim && b->dim == c->dim && out->dim == c->dim);
    if (c->kind != COMP_RANDK) {
        vec_copy(diff, a);
        vec_axpy(diff, -1.0, b);
        comp_apply(c, diff, r, out);
        return;
    }
    //  s_randk()'s draws and scale, on a_j + (-1) b_j: the value vec_axpy() would have left.
    double scale = (double) c->dim / (double) c->k;
    rng_sample_k(r, (uint32_t) c->dim, (uint32_t) c->k, out->idx, c->scratch);
    for (size_t j = 0; j < c->k; j++) {
        //  Sorted but ~d/K apart: every read misses the cache; fetch a few entries ahead.
        if (j + 16 < c->k) {
            __builtin_prefetch(&a->x[out->idx[j + 16]]);
            __builtin_prefetch(&b->x[out->idx[j + 16]]);
        }
        uint32_t i = out->idx[j];
        out->val[j] = (a->x[i] + -1.0 * b->x[i]) * scale;
    }
    out->kind = CVEC_SPARSE;
    out->enc = CVEC_ENC_RAW;
    out->nnz = c->k;
}

void
comp_apply(comp_t *c, const vec_t *x, rng_t *r, cvec_t *out)
{
    assert(x->dim == c->dim && out->dim == c->dim);
    assert(out->cap >= comp_max_nnz(c));
    switch (c->kind) {
        case COMP_IDENTITY:
            cvec_set_dense(out, x);
            return;
        case COMP_RANDK:
            s_randk(c, x, r, out);
            return;
        case COMP_TOPK:
            s_topk(c, x, out);
            return;
        default:
            break;
    }
    //  A quantizer cannot describe NaN or Inf in levels or powers of two: send x as it is, and
    //  let the receiver reject it like any other non-finite update.
    if (!vec_is_finite(x)) {
        cvec_set_dense(out, x);
        return;
    }
    if (c->kind == COMP_NATURAL)
        s_natural(c, x, r, out);
    else
        s_levels(c, x, r, out);
}
