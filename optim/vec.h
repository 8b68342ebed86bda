//  vec.h - dense vectors (vec_t) and compressed vectors (cvec_t) of doubles.
//  vec_t owns x[dim]; cvec_t is what a worker sends: either dense (nnz == dim, idx unused) or
//  sparse (idx[0..nnz) strictly increasing, each < dim). Both are plain values: init/fini, and
//  fini is safe to call twice. Arithmetic functions assume matching dims (assert); validation of
//  peer input happens in msg/, never here.
#ifndef VEC_H
#define VEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t dim;  // number of coordinates
    double *x;   // dim values, owned
} vec_t;

typedef enum {
    CVEC_DENSE = 0,   // val[0..dim) holds every coordinate
    CVEC_SPARSE = 1,  // val[j] is coordinate idx[j], j < nnz; all others are zero
} cvec_kind_t;

//  How the values of a cvec_t travel (msg/, docs/protocol.md). val always holds the exact doubles,
//  so arithmetic never looks at enc; a quantizer sets enc and the fields it names so that the
//  wire can carry a few bits per value instead of a float64, and the receiver rebuilds val bit
//  for bit.
typedef enum {
    CVEC_ENC_RAW = 0,     // every value is a float64 (identity, RandK, TopK, full gradients)
    CVEC_ENC_LEVELS = 1,  // val[j] = cvec_level_value(norm[i / t], lev[j], s), i the coordinate
    CVEC_ENC_POW2 = 2,    // every value is 0 or +-2^e (natural compression)
    CVEC_ENC_SKETCH = 3,  // val[0..nnz) are sketch coefficients S^T r (SEGA), not coordinates:
                          // kind sparse, idx[j] = j, 1 <= nnz <= dim; never cvec_axpy_to()
} cvec_enc_t;

//  The largest s a LEVELS vector may have: levels fit an int32 and level / s stays exact.
#define CVEC_MAX_LEVELS (1u << 24)

typedef struct {
    cvec_kind_t kind;  // dense or sparse
    size_t dim;        // the dimension of the vector it stands for
    size_t nnz;        // entries in val (== dim when dense)
    size_t cap;        // capacity of idx, val, lev and norm
    uint32_t *idx;     // sparse: increasing coordinate indices, owned
    double *val;       // values, owned
    cvec_enc_t enc;    // how val travels; RAW unless a quantizer set it
    uint32_t s;        // LEVELS: levels per sign, 1 <= s <= CVEC_MAX_LEVELS
    size_t t;          // LEVELS: block length; block b is coordinates [b t, min((b + 1) t, dim))
    int32_t *lev;      // LEVELS: lev[j] in [-s, s], the level of val[j]; cap entries, owned
    double *norm;      // LEVELS: norm[b] >= 0, the scale of block b (ceil(dim / t) used), owned
} cvec_t;

//  Allocates a zero vector of dimension dim (dim may be 0). MR_OK or MR_ENOMEM.
int vec_init(vec_t *v, size_t dim);
void vec_fini(vec_t *v);
void vec_zero(vec_t *v);
void vec_copy(vec_t *dst, const vec_t *src);
//  y += a * x
void vec_axpy(vec_t *y, double a, const vec_t *x);
//  v *= a
void vec_scale(vec_t *v, double a);
double vec_dot(const vec_t *a, const vec_t *b);
double vec_norm_sq(const vec_t *v);
//  1 if every coordinate is finite, else 0.
int vec_is_finite(const vec_t *v);
//  1 if some coordinate of v is -0.0.
int vec_has_neg_zero(const vec_t *v);
//  1 if none of the n values is NaN or +-Inf.
int vec_all_finite(const double *x, size_t n);
//  vec_all_finite() of x[idx[0]], ..., x[idx[n-1]].
int vec_all_finite_at(const double *x, const uint32_t *idx, size_t n);
//  max_i |a_i - b_i|
double vec_max_abs_diff(const vec_t *a, const vec_t *b);

//  Allocates room for cap entries (idx, val, lev, norm) for vectors of dimension dim; kind dense,
//  enc RAW, nnz 0.
int cvec_init(cvec_t *c, size_t dim, size_t cap);
void cvec_fini(cvec_t *c);
//  The value of a LEVELS entry: norm * level / s. comp_apply() and msg_decode() both call this one
//  function, so a decoded value equals the sender's bit for bit.
double cvec_level_value(double norm, int32_t level, uint32_t s);
//  Makes c a dense RAW copy of v (c->cap >= v->dim).
void cvec_set_dense(cvec_t *c, const vec_t *v);
//  y += a * c, for either kind.
void cvec_axpy_to(vec_t *y, double a, const cvec_t *c);
//  Writes c as a dense vector to out (out->dim == c->dim).
void cvec_to_dense(const cvec_t *c, vec_t *out);
//  1 if every stored value is finite, else 0.
int cvec_is_finite(const cvec_t *c);

#endif
