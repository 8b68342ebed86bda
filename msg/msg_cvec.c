//  msg_cvec.c - the compact vector formats of an UPDATE's values (docs/protocol.md, "Compact
//  values" and "Sketch coefficients"): LEVELS (dithering: block norms and bit-packed signed
//  levels), POW2 (natural compression: bit-packed signs and exponents) and SKETCH (SEGA's b
//  coefficients). Bit-packed fields are w bits each, least significant bit first.
#include "msg_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The compact encodings of an UPDATE's val (docs/protocol.md, "Compact values"): an array
//  [enc, ...] instead of a bin of float64.
static const msg_field_t s_levels[] = {
    {"val.enc", MSG_F_UINT, CVEC_ENC_SKETCH},
    {"val.s", MSG_F_UINT, CVEC_MAX_LEVELS},
    {"val.t", MSG_F_UINT, MSG_U32},
    {"val.nnz", MSG_F_UINT, MSG_U32},
    {"val.norm", MSG_F_BIN, 0},
    {"val.lev", MSG_F_BIN, 0},
};
static const msg_field_t s_pow2[] = {
    {"val.enc", MSG_F_UINT, CVEC_ENC_SKETCH},
    {"val.nnz", MSG_F_UINT, MSG_U32},
    {"val.code", MSG_F_BIN, 0},
};
//  SEGA's Gaussian sketch (docs/protocol.md, "Sketch coefficients"): [3, b, coef], coef the b
//  float64 values S^T r. They are not coordinates; the receiver redraws S from the run's seed.
static const msg_field_t s_sketch[] = {
    {"val.enc", MSG_F_UINT, CVEC_ENC_SKETCH},
    {"val.b", MSG_F_UINT, MSG_U32},
    {"val.coef", MSG_F_BIN, 0},
};

//  POW2 codes: S_POW2_BITS bits per value; bit 12 is the sign, bits 0..11 are 0 for zero or
//  e + S_POW2_BIAS for 2^e, e in [-1074, 1023] (every power of two a double can hold).
#define S_POW2_BITS     13
#define S_POW2_SIGN     (1u << 12)
#define S_POW2_BIAS     1075
#define S_POW2_MAX_CODE 2098u

//  The number of bytes n fields of w bits take.
static size_t
s_bits_bytes(size_t n, unsigned w)
{
    return (size_t) (((uint64_t) n * w + 7) / 8);
}

//  The POW2 code of v, which msg_check_compact() found to be 0 or +-2^e.
static uint32_t
s_pow2_code(double v)
{
    uint32_t sign = signbit(v) ? S_POW2_SIGN : 0;
    if (v == 0.0)
        return sign;
    int e;
    frexp(fabs(v), &e);  // |v| = 0.5 * 2^e
    return sign | (uint32_t) (e - 1 + S_POW2_BIAS);
}

typedef enum {
    S_SRC_IDX,   // up->idx[j], in msg_index_bits(dim) bits
    S_SRC_LEV,   // up->lev[j] + s, in msg_level_bits(s) bits
    S_SRC_POW2,  // s_pow2_code(up->val[j]), in S_POW2_BITS bits
} s_src_t;

//  Appends a bin holding up->nnz fields of w bits taken from src.
static int
s_pack_bits(msgpack_packer *pk, msg_buf_t *b, const cvec_t *up, s_src_t src, unsigned w)
{
    size_t nbytes = s_bits_bytes(up->nnz, w);
    if (msgpack_pack_bin(pk, nbytes) || msg_buf_reserve(b, nbytes))
        return -1;
    unsigned char *out = (unsigned char *) b->data + b->size;
    uint64_t acc = 0;  // bits not yet written, the oldest lowest
    unsigned nacc = 0;
    size_t off = 0;
    for (size_t j = 0; j < up->nnz; j++) {
        uint32_t v = src == S_SRC_IDX   ? up->idx[j]
                     : src == S_SRC_LEV ? (uint32_t) (up->lev[j] + (int64_t) up->s)
                                        : s_pow2_code(up->val[j]);
        acc |= (uint64_t) v << nacc;  // nacc < 8 and w <= 32: fits in 64 bits
        nacc += w;
        while (nacc >= 8) {
            out[off++] = (unsigned char) acc;
            acc >>= 8;
            nacc -= 8;
        }
    }
    if (nacc > 0)
        out[off++] = (unsigned char) acc;  // the padding bits are zero
    assert(off == nbytes);
    b->size += nbytes;
    return 0;
}

//  MR_OK if up's encoding fields describe its values exactly (what the receiver rebuilds), else
//  MR_EINVAL: a caller changed val after comp_apply(), or filled the fields wrongly.
int
msg_check_compact(const cvec_t *up)
{
    if (up->enc == CVEC_ENC_SKETCH) {
        //  One in-memory form on both sides (vec.h): sparse, 1 <= b <= d, idx[j] = j.
        if (up->kind != CVEC_SPARSE || up->nnz < 1 || up->nnz > up->dim || up->nnz > up->cap)
            return MR_EINVAL;
        for (size_t j = 0; j < up->nnz; j++)
            if (up->idx[j] != j)
                return MR_EINVAL;
        return MR_OK;
    }
    int sparse = up->kind == CVEC_SPARSE;
    if (up->nnz > up->dim || up->nnz > up->cap || (!sparse && up->nnz != up->dim))
        return MR_EINVAL;
    for (size_t j = 0; sparse && j < up->nnz; j++)
        if (up->idx[j] >= up->dim)  // packed into msg_index_bits(dim) bits, it would be cut
            return MR_EINVAL;
    if (up->enc == CVEC_ENC_POW2) {
        for (size_t j = 0; j < up->nnz; j++) {
            int e;
            double v = up->val[j];
            if (v != 0.0 && (!isfinite(v) || fabs(frexp(v, &e)) != 0.5))
                return MR_EINVAL;
        }
        return MR_OK;
    }
    if (up->enc != CVEC_ENC_LEVELS || up->s < 1 || up->s > CVEC_MAX_LEVELS || up->t < 1 ||
        up->t > up->dim)
        return MR_EINVAL;
    for (size_t j = 0; j < up->nnz; j++) {
        size_t i = sparse ? up->idx[j] : j;
        if (up->lev[j] < -(int64_t) up->s || up->lev[j] > (int64_t) up->s)
            return MR_EINVAL;
        double v = cvec_level_value(up->norm[i / up->t], up->lev[j], up->s);
        if (memcmp(&v, &up->val[j], sizeof v) != 0)
            return MR_EINVAL;
    }
    return MR_OK;
}

//  Appends idx and val of a LEVELS or POW2 update (msg_check_compact() passed).
int
msg_pack_compact(msgpack_packer *pk, msg_buf_t *b, const cvec_t *up)
{
    int r = 0;
    if (up->enc == CVEC_ENC_SKETCH) {
        r |= msgpack_pack_nil(pk);  // coefficients have no coordinates
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint8(pk, CVEC_ENC_SKETCH);
        r |= msgpack_pack_uint64(pk, up->nnz);
        r |= msg_pack_f64s(pk, b, up->val, up->nnz);
        return r;
    }
    if (up->kind == CVEC_SPARSE)
        r |= s_pack_bits(pk, b, up, S_SRC_IDX, msg_index_bits(up->dim));
    else
        r |= msgpack_pack_nil(pk);
    if (up->enc == CVEC_ENC_POW2) {
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint8(pk, CVEC_ENC_POW2);
        r |= msgpack_pack_uint64(pk, up->nnz);
        r |= s_pack_bits(pk, b, up, S_SRC_POW2, S_POW2_BITS);
        return r;
    }
    r |= msgpack_pack_array(pk, 6);
    r |= msgpack_pack_uint8(pk, CVEC_ENC_LEVELS);
    r |= msgpack_pack_uint32(pk, up->s);
    r |= msgpack_pack_uint64(pk, up->t);
    r |= msgpack_pack_uint64(pk, up->nnz);
    r |= msg_pack_f64s(pk, b, up->norm, (up->dim + up->t - 1) / up->t);
    r |= s_pack_bits(pk, b, up, S_SRC_LEV, msg_level_bits(up->s));
    return r;
}

//  Reads fields of w bits (w <= 32) from a bin whose length the caller checked.
typedef struct {
    const unsigned char *p;  // the bin's bytes
    size_t off;              // the next byte to load
    uint64_t acc;            // loaded bits not yet returned, the oldest lowest
    unsigned nacc;           // how many
} s_bits_t;

static uint32_t
s_bits_get(s_bits_t *r, unsigned w)
{
    while (r->nacc < w) {
        r->acc |= (uint64_t) r->p[r->off++] << r->nacc;
        r->nacc += 8;
    }
    uint32_t v = (uint32_t) (r->acc & (((uint64_t) 1 << w) - 1));
    r->acc >>= w;
    r->nacc -= w;
    return v;
}

//  Checks that a bin of packed fields has exactly the bytes n fields of w bits need.
static int
s_check_bits(
    const msg_val_t *v, size_t n, unsigned w, const char *what, const char *name, mr_err_t *err)
{
    size_t need = s_bits_bytes(n, w);
    if (v->n != need)
        return mr_err_set(err, MR_EDIM,
                          "%s: '%s' has %zu bytes, expected %zu (%zu fields of %u bits)", what,
                          name, v->n, need, n, w);
    return MR_OK;
}

//  After the last field: the bits left in the last byte must be zero (one encoding per vector).
static int
s_check_padding(const s_bits_t *r, const char *what, const char *name, mr_err_t *err)
{
    if (r->acc != 0)
        return mr_err_set(err, MR_EMALFORMED, "%s: '%s' has nonzero padding bits", what, name);
    return MR_OK;
}

//  Decodes a SKETCH update (v[5] is an array [3, b, coef] whose enc was read) into m->up, in the
//  one in-memory form of vec.h: kind sparse, nnz = b, idx[j] = j.
static int
s_decode_sketch(msg_t *m, const msg_val_t *v, size_t dim, const char *what, mr_err_t *err)
{
    cvec_t *up = &m->up;
    const msgpack_object_array *a = &v[5].o->via.array;
    size_t nf = sizeof s_sketch / sizeof s_sketch[0];
    if (a->size != nf)
        return mr_err_set(err, MR_EMALFORMED,
                          "%s: 'val' has %" PRIu32 " elements, expected %zu for sketch", what,
                          a->size, nf);
    msg_val_t e[3];
    for (size_t i = 1; i < nf; i++) {
        int rc = msg_field(what, &s_sketch[i], &a->ptr[i], &e[i], err);
        if (rc != MR_OK)
            return rc;
    }
    if (v[2].u != CVEC_SPARSE)
        return mr_err_set(err, MR_EMALFORMED, "%s: a sketch update must have kind 1, got %" PRIu64,
                          what, v[2].u);
    if (!v[4].nil)
        return mr_err_set(err, MR_EMALFORMED, "%s: a sketch update must have idx nil", what);
    uint64_t b = e[1].u;
    if (b < 1 || b > dim)
        return mr_err_set(err, MR_EDIM, "%s: 'val.b' is %" PRIu64 ", expected 1..%zu", what, b,
                          dim);
    if (e[2].n != 8 * (size_t) b)
        return mr_err_set(err, MR_EDIM,
                          "%s: 'val.coef' has %zu bytes, expected %zu (8 per coefficient)", what,
                          e[2].n, 8 * (size_t) b);
    char cwhat[112];
    snprintf(cwhat, sizeof cwhat, "%s: sketch coefficients", what);
    int rc = msg_get_f64s(up->val, e[2].p, (size_t) b, NULL, cwhat, err);
    if (rc != MR_OK)
        return rc;
    for (size_t j = 0; j < (size_t) b; j++)
        up->idx[j] = (uint32_t) j;
    up->enc = CVEC_ENC_SKETCH;
    up->kind = CVEC_SPARSE;
    up->dim = dim;
    up->nnz = (size_t) b;
    return MR_OK;
}

//  Decodes the idx and val of a LEVELS or POW2 update (v[5] is an array) into m->up.
int
msg_decode_compact(msg_t *m, const msg_val_t *v, size_t dim, const char *what, mr_err_t *err)
{
    cvec_t *up = &m->up;
    const msgpack_object_array *a = &v[5].o->via.array;
    msg_val_t e[6];
    if (a->size < 1)
        return mr_err_set(err, MR_EMALFORMED, "%s: 'val' is an empty array, expected [enc, ...]",
                          what);
    int rc = msg_field(what, &s_levels[0], &a->ptr[0], &e[0], err);
    if (rc != MR_OK)
        return rc;
    if (e[0].u == CVEC_ENC_RAW)
        return mr_err_set(err, MR_EMALFORMED,
                          "%s: 'val.enc' is 0 (raw), but raw values travel as a bin", what);
    if (e[0].u == CVEC_ENC_SKETCH)
        return s_decode_sketch(m, v, dim, what, err);
    int levels = e[0].u == CVEC_ENC_LEVELS;
    const msg_field_t *fields = levels ? s_levels : s_pow2;
    size_t nf = levels ? sizeof s_levels / sizeof s_levels[0] : sizeof s_pow2 / sizeof s_pow2[0];
    if (a->size != nf)
        return mr_err_set(err, MR_EMALFORMED,
                          "%s: 'val' has %" PRIu32 " elements, expected %zu for %s", what, a->size,
                          nf, levels ? "levels" : "pow2");
    for (size_t i = 1; i < nf; i++) {
        rc = msg_field(what, &fields[i], &a->ptr[i], &e[i], err);
        if (rc != MR_OK)
            return rc;
    }
    uint64_t nnz = levels ? e[3].u : e[1].u;
    int sparse = v[2].u == CVEC_SPARSE;
    if (!sparse && !v[4].nil)
        return mr_err_set(err, MR_EMALFORMED, "%s: a dense update must have idx nil", what);
    if (sparse && v[4].nil)
        return mr_err_set(err, MR_EMALFORMED, "%s: a sparse update needs an idx bin", what);
    if (nnz > dim || (!sparse && nnz != dim))
        return mr_err_set(err, MR_EDIM, "%s: 'val.nnz' is %" PRIu64 ", expected %s %zu", what, nnz,
                          sparse ? "at most" : "exactly", dim);

    //  Indices: msg_index_bits(d) bits each, strictly increasing, below d.
    if (sparse) {
        unsigned ib = msg_index_bits(dim);
        rc = s_check_bits(&v[4], nnz, ib, what, "idx", err);
        if (rc != MR_OK)
            return rc;
        s_bits_t br = {(const unsigned char *) v[4].p, 0, 0, 0};
        for (size_t j = 0; j < nnz; j++) {
            uint32_t i = s_bits_get(&br, ib);
            if (i >= dim)
                return mr_err_set(err, MR_EDIM, "%s: idx[%zu] = %" PRIu32 " is out of range 0..%zu",
                                  what, j, i, dim - 1);
            if (j > 0 && i <= up->idx[j - 1])
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: idx[%zu] = %" PRIu32
                                  " does not increase (idx[%zu] = %" PRIu32 ")",
                                  what, j, i, j - 1, up->idx[j - 1]);
            up->idx[j] = i;
        }
        rc = s_check_padding(&br, what, "idx", err);
        if (rc != MR_OK)
            return rc;
    }

    if (levels) {
        uint64_t s = e[1].u, t = e[2].u;
        if (s < 1)
            return mr_err_set(err, MR_EMALFORMED, "%s: 'val.s' is 0, expected 1..%u", what,
                              CVEC_MAX_LEVELS);
        if (t < 1 || t > dim)
            return mr_err_set(err, MR_EDIM, "%s: 'val.t' is %" PRIu64 ", expected 1..%zu", what, t,
                              dim);
        size_t nb = (dim + (size_t) t - 1) / (size_t) t;
        if (e[4].n != 8 * nb)
            return mr_err_set(err, MR_EDIM,
                              "%s: 'val.norm' has %zu bytes, expected %zu (%zu blocks)", what,
                              e[4].n, 8 * nb, nb);
        char nwhat[112];
        snprintf(nwhat, sizeof nwhat, "%s: block norm", what);
        rc = msg_get_f64s(up->norm, e[4].p, nb, NULL, nwhat, err);
        if (rc != MR_OK)
            return rc;
        for (size_t b = 0; b < nb; b++)
            if (up->norm[b] < 0.0)
                return mr_err_set(err, MR_EMALFORMED, "%s: the norm of block %zu is %g < 0", what,
                                  b, up->norm[b]);
        unsigned w = msg_level_bits((uint32_t) s);
        rc = s_check_bits(&e[5], nnz, w, what, "val.lev", err);
        if (rc != MR_OK)
            return rc;
        s_bits_t br = {(const unsigned char *) e[5].p, 0, 0, 0};
        for (size_t j = 0; j < nnz; j++) {
            uint32_t code = s_bits_get(&br, w);
            size_t i = sparse ? up->idx[j] : j;
            if (code > 2 * s)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: coordinate %zu has level %" PRId64 ", outside [-%" PRIu64
                                  ", %" PRIu64 "]",
                                  what, i, (int64_t) code - (int64_t) s, s, s);
            up->lev[j] = (int32_t) ((int64_t) code - (int64_t) s);
            up->val[j] = cvec_level_value(up->norm[i / t], up->lev[j], (uint32_t) s);
            if (!isfinite(up->val[j]))  // norm * level overflows
                return mr_err_set(err, MR_ENONFINITE, "%s: coordinate %zu is %s", what, i,
                                  isnan(up->val[j]) ? "NaN" : "infinite");
        }
        rc = s_check_padding(&br, what, "val.lev", err);
        if (rc != MR_OK)
            return rc;
        up->s = (uint32_t) s;
        up->t = (size_t) t;
    } else {
        rc = s_check_bits(&e[2], nnz, S_POW2_BITS, what, "val.code", err);
        if (rc != MR_OK)
            return rc;
        s_bits_t br = {(const unsigned char *) e[2].p, 0, 0, 0};
        for (size_t j = 0; j < nnz; j++) {
            uint32_t code = s_bits_get(&br, S_POW2_BITS);
            uint32_t mag = code & (S_POW2_SIGN - 1);
            if (mag > S_POW2_MAX_CODE)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: coordinate %zu has exponent code %" PRIu32
                                  ", expected 0..%u",
                                  what, sparse ? up->idx[j] : j, mag, S_POW2_MAX_CODE);
            double x = mag ? ldexp(1.0, (int) mag - S_POW2_BIAS) : 0.0;
            up->val[j] = code & S_POW2_SIGN ? -x : x;
        }
        rc = s_check_padding(&br, what, "val.code", err);
        if (rc != MR_OK)
            return rc;
    }
    up->enc = levels ? CVEC_ENC_LEVELS : CVEC_ENC_POW2;
    up->kind = sparse ? CVEC_SPARSE : CVEC_DENSE;
    up->dim = dim;
    up->nnz = (size_t) nnz;
    return MR_OK;
}
