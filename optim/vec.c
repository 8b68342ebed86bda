//  vec.c - dense and compressed vectors; see vec.h.
#include "vec.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mr_err.h"

int
vec_init(vec_t *v, size_t dim)
{
    //  calloc(0) may return NULL; one spare element keeps "NULL means failure" unambiguous.
    v->x = calloc(dim ? dim : 1, sizeof *v->x);
    v->dim = v->x ? dim : 0;
    return v->x ? MR_OK : MR_ENOMEM;
}

void
vec_fini(vec_t *v)
{
    free(v->x);
    v->x = NULL;
    v->dim = 0;
}

void
vec_zero(vec_t *v)
{
    if (v->dim)
        memset(v->x, 0, v->dim * sizeof *v->x);
}

void
vec_copy(vec_t *dst, const vec_t *src)
{
    assert(dst->dim == src->dim);
    if (src->dim && dst != src)
        memcpy(dst->x, src->x, src->dim * sizeof *src->x);
}

//  With SSE2 (every x86-64) two coordinates an instruction, four a turn: the same products and
//  sums, rounded the same way, as the one-at-a-time loop, which takes the rest (and other
//  machines); gcc -O2 leaves that loop scalar (it would need a check that y and x do not overlap).
//  The bits are the loop's for every result but a NaN, whose payload may be either operand's
//  when both are NaN (the compiler orders the operands of each add as it likes).
void
vec_axpy(vec_t *y, double a, const vec_t *x)
{
    assert(y->dim == x->dim);
    double *yv = y->x;
    const double *xv = x->x;
    size_t n = y->dim, i = 0;
#if defined(__SSE2__)
    const __m128d va = _mm_set1_pd(a);
    for (; i + 4 <= n; i += 4) {
        __m128d p0 = _mm_mul_pd(va, _mm_loadu_pd(xv + i));
        __m128d p1 = _mm_mul_pd(va, _mm_loadu_pd(xv + i + 2));
        _mm_storeu_pd(yv + i, _mm_add_pd(_mm_loadu_pd(yv + i), p0));
        _mm_storeu_pd(yv + i + 2, _mm_add_pd(_mm_loadu_pd(yv + i + 2), p1));
    }
#endif
    for (; i < n; i++)
        yv[i] += a * xv[i];
}

void
vec_scale(vec_t *v, double a)
{
    for (size_t i = 0; i < v->dim; i++)
        v->x[i] *= a;
}

double
vec_dot(const vec_t *a, const vec_t *b)
{
    assert(a->dim == b->dim);
    double s = 0.0;
    for (size_t i = 0; i < a->dim; i++)
        s += a->x[i] * b->x[i];
    return s;
}

double
vec_norm_sq(const vec_t *v)
{
    return vec_dot(v, v);
}

int
vec_is_finite(const vec_t *v)
{
    return vec_all_finite(v->x, v->dim);
}

int
vec_has_neg_zero(const vec_t *v)
{
    const uint64_t neg_zero = 1ull << 63;
    int found = 0;
    for (size_t i = 0; i < v->dim; i++) {
        uint64_t u;
        memcpy(&u, &v->x[i], sizeof u);
        found |= u == neg_zero;
    }
    return found;
}

//  The exponent bits all ones is NaN or +-Inf. They sit in the high 32 bits of each value. With
//  SSE2 (every x86-64) two values are tested per instruction: their bits and the exponent mask,
//  compared 32 bits at a time, ORed into an accumulator whose high lanes say; the rest (and other
//  machines) take the same test one value at a time. No branch per value.
static int
s_finite_tail(const double *x, size_t n)
{
    const uint32_t exponent = 0x7ff00000u;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &x[i], sizeof u);
        uint32_t high = (uint32_t) (u >> 32);
        bad |= (uint32_t) ((high & exponent) == exponent);
    }
    return bad == 0;
}

int
vec_all_finite(const double *x, size_t n)
{
#if defined(__SSE2__)
    const __m128i mask = _mm_set1_epi64x((long long) 0x7ff0000000000000ull);
    __m128i bad0 = _mm_setzero_si128(), bad1 = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128i a = _mm_and_si128(_mm_loadu_si128((const __m128i *) (const void *) (x + i)), mask);
        __m128i b =
            _mm_and_si128(_mm_loadu_si128((const __m128i *) (const void *) (x + i + 2)), mask);
        bad0 = _mm_or_si128(bad0, _mm_cmpeq_epi32(a, mask));
        bad1 = _mm_or_si128(bad1, _mm_cmpeq_epi32(b, mask));
    }
    //  Lanes 1 and 3 are the high halves (the low halves of the mask are 0: always equal).
    int high = _mm_movemask_ps(_mm_castsi128_ps(_mm_or_si128(bad0, bad1))) & 0xA;
    return high == 0 && s_finite_tail(x + i, n - i);
#else
    return s_finite_tail(x, n);
#endif
}

int
vec_all_finite_at(const double *x, const uint32_t *idx, size_t n)
{
    const uint32_t exponent = 0x7ff00000u;
    uint32_t bad = 0;
    for (size_t t = 0; t < n; t++) {
        uint64_t u;
        memcpy(&u, &x[idx[t]], sizeof u);
        uint32_t high = (uint32_t) (u >> 32);
        bad |= (uint32_t) ((high & exponent) == exponent);
    }
    return bad == 0;
}

double
vec_max_abs_diff(const vec_t *a, const vec_t *b)
{
    assert(a->dim == b->dim);
    double m = 0.0;
    for (size_t i = 0; i < a->dim; i++) {
        double d = fabs(a->x[i] - b->x[i]);
        //  A NaN on either side must show as a difference, not vanish in the comparison.
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

int
cvec_init(cvec_t *c, size_t dim, size_t cap)
{
    size_t n = cap ? cap : 1;
    *c = (cvec_t){0};
    c->idx = malloc(n * sizeof *c->idx);
    c->val = malloc(n * sizeof *c->val);
    c->lev = malloc(n * sizeof *c->lev);
    c->norm = malloc(n * sizeof *c->norm);
    if (!c->idx || !c->val || !c->lev || !c->norm) {
        cvec_fini(c);
        return MR_ENOMEM;
    }
    c->kind = CVEC_DENSE;
    c->enc = CVEC_ENC_RAW;
    c->dim = dim;
    c->nnz = 0;
    c->cap = cap;
    return MR_OK;
}

void
cvec_fini(cvec_t *c)
{
    free(c->idx);
    free(c->val);
    free(c->lev);
    free(c->norm);
    *c = (cvec_t){0};
}

double
cvec_level_value(double norm, int32_t level, uint32_t s)
{
    return norm * (double) level / (double) s;
}

void
cvec_set_dense(cvec_t *c, const vec_t *v)
{
    assert(c->cap >= v->dim);
    c->kind = CVEC_DENSE;
    c->enc = CVEC_ENC_RAW;
    c->dim = v->dim;
    c->nnz = v->dim;
    if (v->dim)
        memcpy(c->val, v->x, v->dim * sizeof *v->x);
}

void
cvec_axpy_to(vec_t *y, double a, const cvec_t *c)
{
    assert(y->dim == c->dim);
    assert(c->enc != CVEC_ENC_SKETCH);  // coefficients, not coordinates: the method lifts them
    if (c->kind == CVEC_DENSE) {
        assert(c->nnz == c->dim);
        for (size_t i = 0; i < c->nnz; i++)
            y->x[i] += a * c->val[i];
    } else {
        for (size_t j = 0; j < c->nnz; j++) {
            assert(c->idx[j] < y->dim);
            y->x[c->idx[j]] += a * c->val[j];
        }
    }
}

void
cvec_to_dense(const cvec_t *c, vec_t *out)
{
    vec_zero(out);
    cvec_axpy_to(out, 1.0, c);
}

int
cvec_is_finite(const cvec_t *c)
{
    return vec_all_finite(c->val, c->nnz);
}
