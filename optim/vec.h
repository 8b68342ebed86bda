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

typedef struct {
    cvec_kind_t kind;  // dense or sparse
    size_t dim;        // the dimension of the vector it stands for
    size_t nnz;        // entries in val (== dim when dense)
    size_t cap;        // capacity of idx and val
    uint32_t *idx;     // sparse: increasing coordinate indices, owned
    double *val;       // values, owned
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
//  max_i |a_i - b_i|
double vec_max_abs_diff(const vec_t *a, const vec_t *b);

//  Allocates room for cap entries (idx and val) for vectors of dimension dim; kind dense, nnz 0.
int cvec_init(cvec_t *c, size_t dim, size_t cap);
void cvec_fini(cvec_t *c);
//  Makes c a dense copy of v (c->cap >= v->dim).
void cvec_set_dense(cvec_t *c, const vec_t *v);
//  y += a * c, for either kind.
void cvec_axpy_to(vec_t *y, double a, const cvec_t *c);
//  Writes c as a dense vector to out (out->dim == c->dim).
void cvec_to_dense(const cvec_t *c, vec_t *out);
//  1 if every stored value is finite, else 0.
int cvec_is_finite(const cvec_t *c);

#endif
