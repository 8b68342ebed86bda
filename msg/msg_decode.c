//  msg_decode.c - msg_decode(), strict: it never crashes or reads out of bounds, whatever the bytes.
//
//  Decoding runs in three steps. msg_skim() (msg_skim.c) walks the raw bytes once, checking that
//  the frame holds exactly one complete MessagePack object and that no container announces more
//  elements than bytes are left; only then does msgpack_unpack() build the object tree, so a
//  5-byte frame can never make it allocate room for four billion elements. s_decode_object()
//  then checks the tree against the schema of its message type and copies the fields into the
//  msg_t. Most frames (every UPDATE, ROUND, STATS...) are one array of scalars, strings and
//  bins: for those msg_flat() (msg_skim.c) builds the same objects msgpack_unpack() would, on
//  the stack, without a zone or a second walk; anything else (an array inside, a float32, an
//  ext, an intN) takes the tree.
#include "msg_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The zone holds the object tree of one message (<= 22 objects of 24 bytes; it grows if not).
#define S_ZONE_CHUNK 1024
//  Most fields of any message type (STATS).
#define S_MAX_FIELDS 24

//  The statuses a STOP may carry (msg.h).
static const char *const s_statuses[] = {"completed", "failed", "aborted"};

//  --------------------------------------------------------------------------------------------
//  Decoding, step 2: check the object tree against the schema.

static const char *
s_mp_type_name(msgpack_object_type t)
{
    switch (t) {
        case MSGPACK_OBJECT_NIL:
            return "nil";
        case MSGPACK_OBJECT_BOOLEAN:
            return "bool";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            return "positive integer";
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return "negative integer";
        case MSGPACK_OBJECT_FLOAT32:
            return "float32";
        case MSGPACK_OBJECT_FLOAT64:
            return "float64";
        case MSGPACK_OBJECT_STR:
            return "str";
        case MSGPACK_OBJECT_ARRAY:
            return "array";
        case MSGPACK_OBJECT_MAP:
            return "map";
        case MSGPACK_OBJECT_BIN:
            return "bin";
        case MSGPACK_OBJECT_EXT:
            return "ext";
    }
    return "unknown object";
}

//  The offset of the first byte that is NUL or not valid UTF-8 (no overlongs, no surrogates,
//  nothing above U+10FFFF), or n if the n bytes are clean.
static size_t
s_utf8_bad(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return n;
}

//  Checks one field against its description and extracts its value.
int
msg_field(
    const char *type, const msg_field_t *fd, const msgpack_object *o, msg_val_t *v, mr_err_t *err)
{
    memset(v, 0, sizeof *v);
    switch (fd->kind) {
        case MSG_F_UINT:
            if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is %" PRId64 ", expected 0..%" PRIu64, type, fd->name,
                                  o->via.i64, fd->max);
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is a %s, expected an unsigned integer", type, fd->name,
                                  s_mp_type_name(o->type));
            if (o->via.u64 > fd->max)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is %" PRIu64 ", expected 0..%" PRIu64, type, fd->name,
                                  o->via.u64, fd->max);
            v->u = o->via.u64;
            return MR_OK;
        case MSG_F_COIN:
            if (o->type == MSGPACK_OBJECT_BOOLEAN) {
                v->u = o->via.boolean ? 1 : 0;
                return MR_OK;
            }
            if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= 1) {
                v->u = o->via.u64;
                return MR_OK;
            }
            return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a bool or 0/1", type,
                              fd->name, s_mp_type_name(o->type));
        case MSG_F_REAL:
        case MSG_F_REAL_NAN:
            if (o->type == MSGPACK_OBJECT_FLOAT64)
                v->f = o->via.f64;
            else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                v->f = (double) o->via.u64;
            else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                v->f = (double) o->via.i64;
            else
                return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a float64", type,
                                  fd->name, s_mp_type_name(o->type));
            if (isinf(v->f) || (isnan(v->f) && fd->kind == MSG_F_REAL))
                return mr_err_set(err, MR_ENONFINITE, "%s: '%s' is %g", type, fd->name, v->f);
            return MR_OK;
        case MSG_F_STR: {
            if (o->type != MSGPACK_OBJECT_STR)
                return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a str", type,
                                  fd->name, s_mp_type_name(o->type));
            size_t n = o->via.str.size;
            if (n > fd->max)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' has %zu bytes, at most %" PRIu64 " allowed", type,
                                  fd->name, n, fd->max);
            size_t bad = s_utf8_bad((const unsigned char *) o->via.str.ptr, n);
            if (bad < n)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' has a NUL or invalid UTF-8 byte at offset %zu", type,
                                  fd->name, bad);
            v->p = o->via.str.ptr;
            v->n = n;
            return MR_OK;
        }
        case MSG_F_ARRAY:
            if (o->type != MSGPACK_OBJECT_ARRAY)
                return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected an array", type,
                                  fd->name, s_mp_type_name(o->type));
            v->o = o;
            return MR_OK;
        case MSG_F_VEC:
            if (o->type == MSGPACK_OBJECT_ARRAY) {
                v->o = o;
                return MR_OK;
            }
            if (o->type != MSGPACK_OBJECT_BIN)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is a %s, expected a bin or an array", type, fd->name,
                                  s_mp_type_name(o->type));
            v->p = o->via.bin.ptr;
            v->n = o->via.bin.size;
            return MR_OK;
        case MSG_F_BIN:
        case MSG_F_BIN_NIL:
            if (o->type == MSGPACK_OBJECT_NIL && fd->kind == MSG_F_BIN_NIL) {
                v->nil = 1;
                return MR_OK;
            }
            if (o->type != MSGPACK_OBJECT_BIN)
                return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a bin%s", type,
                                  fd->name, s_mp_type_name(o->type),
                                  fd->kind == MSG_F_BIN_NIL ? " or nil" : "");
            v->p = o->via.bin.ptr;
            v->n = o->via.bin.size;
            return MR_OK;
    }
    return mr_err_set(err, MR_EMALFORMED, "%s: '%s' has no schema", type, fd->name);
}

//  Little-endian loads from unaligned bytes; the compilers we use turn these into single loads.
static uint32_t
s_le32(const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
static uint64_t
s_le64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int k = 7; k >= 0; k--)
        u = (u << 8) | p[k];
    return u;
}
#endif

//  Copies n doubles from bin bytes (8 * n of them) to x, then rejects NaN and Inf (x is then
//  partly written, which is fine: a failed decode leaves m's vectors unspecified). what names the
//  vector in the error; coord maps the j-th value to its coordinate (NULL: j itself).
int
msg_get_f64s(
    double *x, const char *bytes, size_t n, const uint32_t *coord, const char *what, mr_err_t *err)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n > 0)
        memcpy(x, bytes, 8 * n);  // the wire order is ours: one copy, alignment-safe
#else
    const unsigned char *p = (const unsigned char *) bytes;
    for (size_t j = 0; j < n; j++) {
        uint64_t u = s_le64(p + 8 * j);
        memcpy(&x[j], &u, sizeof x[j]);
    }
#endif
    if (vec_all_finite(x, n))
        return MR_OK;
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(x[j])) {
            size_t c = coord ? coord[j] : j;
            return mr_err_set(err, MR_ENONFINITE, "%s: coordinate %zu is %s", what, c,
                              isnan(x[j]) ? "NaN" : (x[j] > 0 ? "+Inf" : "-Inf"));
        }
    }
    return MR_OK;
}

//  Checks a bin that must hold exactly dim doubles.
static int
s_check_dense(const msg_val_t *v, size_t dim, const char *what, mr_err_t *err)
{
    if (v->n % 8 != 0 || v->n / 8 != dim)
        return mr_err_set(err, MR_EDIM, "%s: got %zu bytes (%zu doubles), expected %zu (d = %zu)",
                          what, v->n, v->n / 8, 8 * dim, dim);
    return MR_OK;
}

//  Copies a str field into a NUL-terminated string owned by m (owned[slot]); NULL if out of memory.
static char *
s_take_str(msg_t *m, size_t slot, const msg_val_t *v)
{
    assert(slot < sizeof m->owned / sizeof m->owned[0]);
    char *s = malloc(v->n + 1);
    if (!s)
        return NULL;
    if (v->n > 0)
        memcpy(s, v->p, v->n);
    s[v->n] = '\0';
    m->owned[slot] = s;
    m->owned_mask |= 1u << slot;
    return s;
}

//  what names the update in errors ("update from worker 3, round 5"; s_decode_object() formats it
//  only when a first pass with a short name failed: the hot path prints nothing).
static int
s_decode_update(msg_t *m, const msg_val_t *v, size_t dim, const char *what, mr_err_t *err)
{
    cvec_t *up = &m->up;
    m->round = v[0].u;
    m->sender = (uint32_t) v[1].u;
    m->oracle_calls = v[6].u;
    if (v[3].u != dim)
        return mr_err_set(err, MR_EDIM, "%s: got dim %" PRIu64 ", expected %zu", what, v[3].u, dim);
    if (v[5].o)
        return msg_decode_compact(m, v, dim, what, err);
    up->enc = CVEC_ENC_RAW;
    if (v[2].u == CVEC_DENSE) {
        if (v[4].p)
            return mr_err_set(err, MR_EMALFORMED, "%s: a dense update must have idx nil", what);
        int rc = s_check_dense(&v[5], dim, what, err);
        if (rc == MR_OK)
            rc = msg_get_f64s(up->val, v[5].p, dim, NULL, what, err);
        if (rc != MR_OK)
            return rc;
        up->kind = CVEC_DENSE;
        up->dim = dim;
        up->nnz = dim;
        return MR_OK;
    }
    if (!v[4].p)
        return mr_err_set(err, MR_EMALFORMED, "%s: a sparse update needs an idx bin", what);
    if (v[4].n % 4 != 0)
        return mr_err_set(err, MR_EDIM, "%s: idx has %zu bytes, not a multiple of 4", what, v[4].n);
    size_t nnz = v[4].n / 4;
    if (nnz > dim)
        return mr_err_set(err, MR_EDIM, "%s: got %zu sparse entries, expected at most d = %zu",
                          what, nnz, dim);
    if (v[5].n % 8 != 0 || v[5].n / 8 != nnz)
        return mr_err_set(err, MR_EDIM, "%s: val has %zu bytes, expected %zu (8 per index)", what,
                          v[5].n, 8 * nnz);
    const unsigned char *ip = (const unsigned char *) v[4].p;
    for (size_t j = 0; j < nnz; j++) {
        uint32_t i = s_le32(ip + 4 * j);
        if (i >= dim)
            return mr_err_set(err, MR_EDIM, "%s: idx[%zu] = %" PRIu32 " is out of range 0..%zu",
                              what, j, i, dim - 1);
        if (j > 0 && i <= up->idx[j - 1])
            return mr_err_set(err, MR_EMALFORMED,
                              "%s: idx[%zu] = %" PRIu32 " does not increase (idx[%zu] = %" PRIu32
                              ")",
                              what, j, i, j - 1, up->idx[j - 1]);
        up->idx[j] = i;
    }
    int rc = msg_get_f64s(up->val, v[5].p, nnz, up->idx, what, err);
    if (rc != MR_OK)
        return rc;
    up->kind = CVEC_SPARSE;
    up->dim = dim;
    up->nnz = nnz;
    return MR_OK;
}

//  A ROUND's participants: nil (every worker) or a bin of non-decreasing uint32 ids.
static int
s_decode_part(msg_t *m, const msg_val_t *v, mr_err_t *err)
{
    m->all_part = v->p == NULL;
    m->npart = 0;
    if (m->all_part)
        return MR_OK;
    if (v->n % 4 != 0)
        return mr_err_set(err, MR_EMALFORMED,
                          "round %" PRIu64 ": part has %zu bytes, not a "
                          "whole number of uint32 ids",
                          m->round, v->n);
    size_t n = v->n / 4;
    if (n > MSG_MAX_WORKERS)
        return mr_err_set(err, MR_EMALFORMED, "round %" PRIu64 ": %zu participants", m->round, n);
    if (msg_part_reserve(m, n) != MR_OK)
        return mr_err_set(err, MR_ENOMEM, "round: out of memory for %zu participants", n);
    const unsigned char *p = (const unsigned char *) v->p;
    for (size_t j = 0; j < n; j++) {
        m->part[j] = s_le32(p + 4 * j);
        if (j > 0 && m->part[j] < m->part[j - 1])
            return mr_err_set(err, MR_EMALFORMED,
                              "round %" PRIu64 ": participants not sorted "
                              "(%u after %u)",
                              m->round, m->part[j], m->part[j - 1]);
    }
    m->npart = n;
    return MR_OK;
}

//  A ROUND's patch of g: patch_idx (uint32 LE, strictly increasing, < d) and patch_val (as
//  many finite doubles); both bins, or the round is malformed.
static int
s_decode_patch(msg_t *m, const msg_val_t *idx, const msg_val_t *val, size_t dim, mr_err_t *err)
{
    if (!idx->p || !val->p)
        return mr_err_set(err, MR_EMALFORMED,
                          "round %" PRIu64 ": a patch needs patch_idx and "
                          "patch_val",
                          m->round);
    if (idx->n % 4 != 0 || val->n % 8 != 0 || idx->n / 4 != val->n / 8)
        return mr_err_set(err, MR_EMALFORMED,
                          "round %" PRIu64 ": patch_idx has %zu bytes and patch_val %zu: not "
                          "n uint32 and n doubles",
                          m->round, idx->n, val->n);
    size_t n = idx->n / 4;
    if (n > dim)
        return mr_err_set(err, MR_EDIM, "round %" PRIu64 ": a patch of %zu entries, d = %zu",
                          m->round, n, dim);
    if (msg_patch_reserve(m, n) != MR_OK)
        return mr_err_set(err, MR_ENOMEM, "round: out of memory for a patch of %zu", n);
    const unsigned char *p = (const unsigned char *) idx->p;
    for (size_t j = 0; j < n; j++) {
        m->gp_idx[j] = s_le32(p + 4 * j);
        if (m->gp_idx[j] >= dim)
            return mr_err_set(err, MR_EDIM, "round %" PRIu64 ": patch index %u, d = %zu", m->round,
                              m->gp_idx[j], dim);
        if (j > 0 && m->gp_idx[j] <= m->gp_idx[j - 1])
            return mr_err_set(err, MR_EMALFORMED,
                              "round %" PRIu64 ": patch indices not increasing (%u after %u)",
                              m->round, m->gp_idx[j], m->gp_idx[j - 1]);
    }
    int rc = msg_get_f64s(m->gp_val, val->p, n, m->gp_idx, "patch", NULL);
    if (rc != MR_OK) {  // the label only for an error
        char what[48];
        snprintf(what, sizeof what, "round %" PRIu64 ": patch", m->round);
        rc = msg_get_f64s(m->gp_val, val->p, n, m->gp_idx, what, err);
    }
    if (rc == MR_OK)
        m->gp_nnz = n;
    return rc;
}

//  A STATS message's per-worker rows: nil or a bin of MSG_WORKER_BYTES per worker.
static int
s_decode_workers(msg_t *m, const msg_val_t *v, mr_err_t *err)
{
    round_stats_t *st = &m->stats;
    st->nworkers = 0;
    st->workers = NULL;
    if (!v->p)
        return MR_OK;
    if (v->n % MSG_WORKER_BYTES != 0 || v->n / MSG_WORKER_BYTES > MSG_MAX_WORKERS)
        return mr_err_set(err, MR_EMALFORMED,
                          "stats: workers has %zu bytes, not a whole number "
                          "of %d-byte rows",
                          v->n, MSG_WORKER_BYTES);
    size_t n = v->n / MSG_WORKER_BYTES;
    if (n > m->wcap) {
        worker_stats_t *grown = realloc(m->wbuf, n * sizeof *grown);
        if (!grown)
            return mr_err_set(err, MR_ENOMEM, "stats: out of memory for %zu workers", n);
        m->wbuf = grown;
        m->wcap = n;
    }
    const unsigned char *p = (const unsigned char *) v->p;
    for (size_t i = 0; i < n; i++) {
        uint64_t f[6];
        for (int j = 0; j < 6; j++) {
            f[j] = 0;
            for (int k = 7; k >= 0; k--)
                f[j] = (f[j] << 8) | p[MSG_WORKER_BYTES * i + 8 * j + k];
        }
        if (f[5] > 1)
            return mr_err_set(err, MR_EMALFORMED, "stats: worker %zu has sent = %" PRIu64, i, f[5]);
        m->wbuf[i] = (worker_stats_t){f[0], f[1], f[2], f[3], f[4], (int) f[5]};
    }
    st->nworkers = (uint32_t) n;
    st->workers = m->wbuf;
    return MR_OK;
}

//  Copies a STATE's or CHECKPOINT's state bytes into m->blob_own (m->blob points there).
static int
s_take_blob(msg_t *m, const msg_val_t *v, mr_err_t *err)
{
    if (v->n > m->blob_cap) {
        uint8_t *grown = realloc(m->blob_own, v->n);
        if (!grown)
            return mr_err_set(err, MR_ENOMEM, "out of memory copying a %zu-byte state", v->n);
        m->blob_own = grown;
        m->blob_cap = v->n;
    }
    if (v->n > 0)
        memcpy(m->blob_own, v->p, v->n);
    m->blob = m->blob_own;
    m->blob_len = v->n;
    return MR_OK;
}

//  The value of the field called name in a message of this schema, if it holds a valid one.
static int
s_peek(const msg_schema_t *schema, const msgpack_object_array *a, const char *name, uint64_t *out)
{
    for (size_t i = 0; i < schema->nfields && 2 + i < a->size; i++) {
        const msgpack_object *o = &a->ptr[2 + i];
        if (strcmp(schema->fields[i].name, name) == 0 &&
            o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= schema->fields[i].max) {
            *out = o->via.u64;
            return 1;
        }
    }
    return 0;
}

//  How errors name a message: its type, and its sender and round where those fields are valid
//  ("update from worker 3, round 7"), so that a bad field still names the peer and the round.
static void
s_label(const msg_schema_t *schema, const msgpack_object_array *a, char *out, size_t size)
{
    uint64_t sender = 0, round = 0;
    int has_sender = s_peek(schema, a, "sender", &sender);
    int has_round = s_peek(schema, a, "round", &round);
    size_t used = (size_t) snprintf(out, size, "%s", schema->name);
    if (has_sender && used < size)
        used += (size_t) snprintf(out + used, size - used, " from worker %" PRIu64, sender);
    if (has_round && used < size)
        snprintf(out + used, size - used, "%s round %" PRIu64, has_sender ? "," : "", round);
}

//  The sparse form of a metrics gradient (docs/protocol.md, "METRICS"): p = n / 12 entries, the
//  p coordinates (uint32 LE, strictly increasing, < d) then their p values (finite doubles); the
//  other coordinates are +0.0. Only when 12 p < 8 d, so that a bin of 8 d bytes is always dense.
static int
s_sparse_grad(msg_t *m, const msg_val_t *grad, size_t dim, const char *what, mr_err_t *err)
{
    size_t p = grad->n / 12;
    if (grad->n % 12 != 0 || 12 * p >= 8 * dim)
        return mr_err_set(err, MR_EDIM,
                          "%s: got %zu bytes: neither 8 d = %zu (dense) nor 12 p < 8 d (sparse)",
                          what, grad->n, 8 * dim);
    if (p > m->mg_cap) {
        uint32_t *idx = realloc(m->mg_idx, p * sizeof *idx);
        if (idx)
            m->mg_idx = idx;
        double *val = realloc(m->mg_val, p * sizeof *val);
        if (val)
            m->mg_val = val;
        if (!idx || !val)
            return mr_err_set(err, MR_ENOMEM, "%s: out of memory for %zu entries", what, p);
        m->mg_cap = p;
    }
    const unsigned char *ip = (const unsigned char *) grad->p, *vp = ip + 4 * p;
    uint32_t prev = 0;
    for (size_t j = 0; j < p; j++) {
        uint32_t i = s_le32(ip + 4 * j);
        if (i >= dim || (j > 0 && i <= prev))
            return mr_err_set(err, i >= dim ? MR_EDIM : MR_EMALFORMED,
                              "%s: coordinate %" PRIu32 " (entry %zu) is %s", what, i, j,
                              i >= dim ? "out of range" : "not above the one before");
        double v;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&v, vp + 8 * j, sizeof v);
#else
        uint64_t u = s_le64(vp + 8 * j);
        memcpy(&v, &u, sizeof v);
#endif
        if (!isfinite(v))
            return mr_err_set(err, MR_ENONFINITE, "%s: coordinate %" PRIu32 " is %s", what, i,
                              isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
        m->mg_idx[j] = i;
        m->mg_val[j] = v;
        prev = i;
    }
    m->mg_nnz = p;
    m->mg_sparse = 1;
    return MR_OK;
}

//  The gradient of a METRICS (or of the metrics in an UPDATE) of m->sender, m->round into m->g:
//  dense (8 d bytes) or sparse (s_sparse_grad()).
static int
s_metrics_grad(msg_t *m, const msg_val_t *grad, size_t dim, mr_err_t *err)
{
    //  The label is formatted only when the gradient fails (the check is repeated with it).
    int sparse = grad->n != 8 * dim, rc;
    if (sparse) {
        rc = s_sparse_grad(m, grad, dim, "metrics", NULL);
    } else {
        rc = s_check_dense(grad, dim, "metrics", NULL);
        if (rc == MR_OK)
            rc = msg_get_f64s(m->g.x, grad->p, dim, NULL, "metrics", NULL);
    }
    if (rc != MR_OK) {
        char what[80];
        snprintf(what, sizeof what, "metrics from worker %" PRIu32 ", round %" PRIu64 ": grad",
                 m->sender, m->round);
        if (sparse)
            return s_sparse_grad(m, grad, dim, what, err);
        rc = s_check_dense(grad, dim, what, err);
        if (rc == MR_OK)
            rc = msg_get_f64s(m->g.x, grad->p, dim, NULL, what, err);
    }
    return rc;
}

//  Room for count frames in m->batch_*: MR_OK, or MR_ENOMEM.
static int
s_batch_room(msg_t *m, uint32_t count, mr_err_t *err)
{
    if (count <= m->batch_cap)
        return MR_OK;
    const char **data = realloc((void *) m->batch_data, count * sizeof *data);
    if (data)
        m->batch_data = data;
    size_t *size = data ? realloc(m->batch_size, count * sizeof *size) : NULL;
    if (size)
        m->batch_size = size;
    if (!data || !size)
        return mr_err_set(err, MR_ENOMEM, "bundle: out of memory for %" PRIu32 " frames", count);
    m->batch_cap = count;
    return MR_OK;
}

//  A BATCH's frames: each a bin of at least one byte, its place kept in m->batch_*.
static int
s_decode_batch(msg_t *m, const msg_val_t *v, mr_err_t *err)
{
    const msgpack_object_array *a = &v->o->via.array;
    int rc = s_batch_room(m, a->size, err);
    if (rc != MR_OK)
        return rc;
    for (uint32_t j = 0; j < a->size; j++) {
        const msgpack_object *f = &a->ptr[j];
        if (f->type != MSGPACK_OBJECT_BIN || f->via.bin.size == 0)
            return mr_err_set(err, MR_EMALFORMED,
                              "bundle: frame %" PRIu32 " is a%s %s, expected a bin of a message", j,
                              f->type == MSGPACK_OBJECT_BIN ? "n empty" : "",
                              s_mp_type_name(f->type));
        m->batch_data[j] = f->via.bin.ptr;
        m->batch_size[j] = f->via.bin.size;
    }
    m->nbatch = a->size;
    return MR_OK;
}

//  An UPDATE from its checked fields v (the schema's; with_metrics: all of them, f and grad too,
//  which are the frame's last metrics_bytes): the update, and the metrics riding in it.
static int
s_update_fields(msg_t *m, const msg_val_t *v, int with_metrics, size_t metrics_bytes, mr_err_t *err)
{
    size_t dim = m->g.dim;
    if (m->up.cap < dim || !m->up.val || !m->up.idx || !m->up.lev || !m->up.norm)
        return mr_err_set(err, MR_EINVAL, "update: the msg_t has no room for d = %zu", dim);
    int rc = s_decode_update(m, v, dim, "update", NULL);
    if (rc != MR_OK) {
        char what[80];
        snprintf(what, sizeof what, "update from worker %" PRIu32 ", round %" PRIu64,
                 (uint32_t) v[1].u, v[0].u);
        rc = s_decode_update(m, v, dim, what, err);
    }
    m->with_metrics = with_metrics;
    m->metrics_bytes = with_metrics ? metrics_bytes : 0;
    if (rc == MR_OK && with_metrics) {  // its METRICS: f_i and the gradient
        m->f = v[7].f;
        rc = s_metrics_grad(m, &v[8], dim, err);
    }
    return rc;
}

//  --------------------------------------------------------------------------------------------
//  The fast path of the commonest frame: an UPDATE as msg_encode() writes it (the server decodes
//  n of them a round), read in one pass into the same checked fields msg_field() would give.
//  It takes only frames whose every field has the form it expects and passes msg_field()'s
//  check; it leaves every other frame, valid or not, to the general way (msg_skim(), msg_flat(),
//  msg_field()), which then says what is wrong. Both ways therefore give the same message or the
//  same sentence for every frame (tests/unit/msg/test_msg.c and fuzz_msg compare the flat path
//  with msgpack's tree).

//  The unsigned integer (fixint, uint 8..64) at p[*off], if at most max, into v->u.
static int
s_fast_uint(const unsigned char *p, size_t size, size_t *off, uint64_t max, msg_val_t *v)
{
    if (*off >= size)
        return 0;
    unsigned char b = p[*off];
    if (b <= 0x7f) {
        v->u = b;
        *off += 1;
        return b <= max;
    }
    if (b < 0xcc || b > 0xcf)
        return 0;
    size_t n = (size_t) 1 << (b - 0xcc);
    if (n > size - *off - 1)
        return 0;
    v->u = msg_be(p + *off + 1, n);
    *off += 1 + n;
    return v->u <= max;
}

//  The bin (8/16/32) at p[*off] into v->p and v->n; or, if nil_ok, a nil (v->nil).
static int
s_fast_bin(const unsigned char *p, size_t size, size_t *off, int nil_ok, msg_val_t *v)
{
    if (*off >= size)
        return 0;
    unsigned char b = p[*off];
    if (b == 0xc0 && nil_ok) {
        v->nil = 1;
        *off += 1;
        return 1;
    }
    if (b < 0xc4 || b > 0xc6)
        return 0;
    size_t head = (size_t) 1 << (b - 0xc4);
    if (head > size - *off - 1)
        return 0;
    uint64_t n = msg_be(p + *off + 1, head);
    size_t at = *off + 1 + head;
    if (n > size - at)
        return 0;
    v->p = (const char *) p + at;
    v->n = (size_t) n;
    *off = at + (size_t) n;
    return 1;
}

//  The finite float64 at p[*off] into v->f.
static int
s_fast_f64(const unsigned char *p, size_t size, size_t *off, msg_val_t *v)
{
    if (*off >= size || p[*off] != 0xcb || 8 > size - *off - 1)
        return 0;
    uint64_t u = msg_be(p + *off + 1, 8);
    memcpy(&v->f, &u, sizeof u);
    *off += 9;
    return isfinite(v->f);
}

//  The UPDATE in p (size bytes), if the fast path reads it: 1, with its result in *rc (the
//  update's own checks may still refuse it, with the general way's sentence). 0: not read.
static int
s_fast_update(msg_t *m, const unsigned char *p, size_t size, int *rc, mr_err_t *err)
{
    //  [version, type, round, sender, kind, dim, idx, val, oracle_calls] and, with the metrics,
    //  [..., f, grad]: a fixarray of 9 or 11.
    if (size < 3 || (p[0] != 0x99 && p[0] != 0x9b) || p[1] != MSG_VERSION || p[2] != MSG_UPDATE)
        return 0;
    int with_metrics = p[0] == 0x9b;
    msg_val_t v[9];
    memset(v, 0, sizeof v);
    size_t off = 3, metrics_at = size;
    if (!s_fast_uint(p, size, &off, MSG_U64, &v[0]) ||
        !s_fast_uint(p, size, &off, MSG_U32, &v[1]) ||
        !s_fast_uint(p, size, &off, CVEC_SPARSE, &v[2]) ||
        !s_fast_uint(p, size, &off, MSG_U32, &v[3]) || !s_fast_bin(p, size, &off, 1, &v[4]) ||
        !s_fast_bin(p, size, &off, 0, &v[5]) || !s_fast_uint(p, size, &off, MSG_U64, &v[6]))
        return 0;
    if (with_metrics) {
        metrics_at = off;
        if (!s_fast_f64(p, size, &off, &v[7]) || !s_fast_bin(p, size, &off, 0, &v[8]))
            return 0;
    }
    if (off != size)
        return 0;
    m->type = MSG_UPDATE;
    m->with_metrics = 0;  // as the general way leaves them if the update is refused
    m->metrics_bytes = 0;
    m->mg_sparse = 0;
    *rc = s_update_fields(m, v, with_metrics, size - metrics_at, err);
    return 1;
}

//  The BUNDLE in p (size bytes), if the fast path reads it (an array of bins, each of a byte at
//  least): 1, with its result in *rc. 0: not read (nothing in m changed).
static int
s_fast_bundle(msg_t *m, const unsigned char *p, size_t size, int *rc, mr_err_t *err)
{
    if (size < 4 || p[0] != 0x93 || p[1] != MSG_VERSION || p[2] != MSG_BUNDLE)
        return 0;
    size_t off = 3;
    uint64_t count;
    unsigned char b = p[off];
    if (b >= 0x90 && b <= 0x9f) {
        count = b & 0x0f;
        off += 1;
    } else if (b == 0xdc || b == 0xdd) {
        size_t head = b == 0xdc ? 2 : 4;
        if (head > size - off - 1)
            return 0;
        count = msg_be(p + off + 1, head);
        off += 1 + head;
    } else {
        return 0;
    }
    if (count > size - off)  // every frame takes a byte at least
        return 0;
    size_t first = off;
    msg_val_t v;
    for (uint64_t j = 0; j < count; j++)  // all of it checked before m is touched
        if (!s_fast_bin(p, size, &off, 0, &v) || v.n == 0)
            return 0;
    if (off != size)
        return 0;
    m->type = MSG_BUNDLE;
    m->with_metrics = 0;
    m->metrics_bytes = 0;
    m->mg_sparse = 0;
    *rc = s_batch_room(m, (uint32_t) count, err);
    if (*rc != MR_OK)
        return 1;
    off = first;
    for (uint64_t j = 0; j < count; j++) {
        s_fast_bin(p, size, &off, 0, &v);
        m->batch_data[j] = v.p;
        m->batch_size[j] = v.n;
    }
    m->nbatch = (size_t) count;
    return 1;
}

//  starts: the offsets of the outer array's elements in the frame (msg_skim()), size its bytes.
static int
s_decode_object(msg_t *m, const msgpack_object *o, const size_t *starts, size_t size, mr_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return mr_err_set(err, MR_EMALFORMED, "a message is a MessagePack array, got a %s",
                          s_mp_type_name(o->type));
    const msgpack_object_array *a = &o->via.array;
    if (a->size < 2)
        return mr_err_set(err, MR_EMALFORMED,
                          "an array of %" PRIu32 " elements; a message starts [version, type]",
                          a->size);
    const msgpack_object *ver = &a->ptr[0];
    if (ver->type == MSGPACK_OBJECT_POSITIVE_INTEGER && ver->via.u64 != MSG_VERSION)
        return mr_err_set(err, MR_EVERSION, "protocol version %" PRIu64 ", expected %d",
                          ver->via.u64, MSG_VERSION);
    if (ver->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return mr_err_set(err, MR_EVERSION, "protocol version %" PRId64 ", expected %d",
                          ver->via.i64, MSG_VERSION);
    if (ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return mr_err_set(err, MR_EMALFORMED, "the protocol version is a %s, expected %d",
                          s_mp_type_name(ver->type), MSG_VERSION);
    const msgpack_object *to = &a->ptr[1];
    if (to->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return mr_err_set(err, MR_EMALFORMED, "the message type is a %s, expected 1..%d",
                          s_mp_type_name(to->type), MSG_TYPE_LAST);
    const msg_schema_t *schema = msg_schema(to->via.u64);
    if (!schema)
        return mr_err_set(err, MR_EMALFORMED, "unknown message type %" PRIu64, to->via.u64);
    size_t nfields = a->size - 2, least = schema->nfields - schema->optional;
    if (nfields != schema->nfields && nfields != least)
        return mr_err_set(err, MR_EMALFORMED, "%s: got %" PRIu32 " fields, expected %zu%s",
                          schema->name, a->size - 2, schema->nfields,
                          schema->optional ? " (or without the optional ones)" : "");

    msg_val_t v[S_MAX_FIELDS];
    assert(schema->nfields <= S_MAX_FIELDS);
    //  Errors name the message with its sender and round; the label is formatted only when a
    //  field fails (the check is repeated with it), so a valid message costs no printf.
    for (size_t i = 0; i < nfields; i++) {
        int rc = msg_field(schema->name, &schema->fields[i], &a->ptr[2 + i], &v[i], NULL);
        if (rc != MR_OK) {
            char label[96];
            s_label(schema, a, label, sizeof label);
            return msg_field(label, &schema->fields[i], &a->ptr[2 + i], &v[i], err);
        }
    }

    size_t dim = m->g.dim;  // the run's d, from msg_init()
    int rc = MR_OK;
    m->type = (msg_type_t) to->via.u64;
    m->with_metrics = 0;
    m->metrics_bytes = 0;
    m->mg_sparse = 0;
    switch (m->type) {
        case MSG_HELLO:
            m->role = (msg_role_t) v[0].u;
            m->sender = (uint32_t) v[1].u;
            m->pid = (uint32_t) v[2].u;
            m->cfg_digest = v[3].u;
            m->shard_fp = v[4].u;
            m->cfg_text = s_take_str(m, 0, &v[5]);
            if (!m->cfg_text)
                rc = mr_err_set(err, MR_ENOMEM, "hello: out of memory copying its configuration");
            break;
        case MSG_REFUSE:
            m->role = (msg_role_t) v[0].u;
            m->sender = (uint32_t) v[1].u;
            m->pid = (uint32_t) v[2].u;
            m->reason = s_take_str(m, 1, &v[3]);
            if (!m->reason)
                rc = mr_err_set(err, MR_ENOMEM, "refuse: out of memory copying its reason");
            break;
        case MSG_READY:
            m->role = (msg_role_t) v[0].u;
            m->sender = (uint32_t) v[1].u;
            break;
        case MSG_PING:
            m->seq = v[0].u;
            break;
        case MSG_ROUND: {
            m->seq = v[0].u;
            m->round = v[1].u;
            m->coin = (int) v[2].u;
            m->g_patch = v[5].p != NULL;
            m->has_g = v[3].p != NULL || m->g_patch;
            m->g_digest = v[7].u;
            m->metrics = (int) v[8].u;
            m->checkpoint = (int) v[9].u;
            m->gp_nnz = 0;
            if (v[3].p) {
                if (m->g_patch || v[6].p)
                    return mr_err_set(err, MR_EMALFORMED,
                                      "round %" PRIu64 ": g travels both dense and as a patch",
                                      m->round);
                rc = s_check_dense(&v[3], dim, "g", NULL);
                if (rc == MR_OK)
                    rc = msg_get_f64s(m->g.x, v[3].p, dim, NULL, "g", NULL);
                if (rc != MR_OK) {  // again, with the label (formatted only for an error)
                    char what[48];
                    snprintf(what, sizeof what, "round %" PRIu64 ": g", m->round);
                    rc = s_check_dense(&v[3], dim, what, err);
                    if (rc == MR_OK)
                        rc = msg_get_f64s(m->g.x, v[3].p, dim, NULL, what, err);
                }
            } else if (m->g_patch || v[6].p) {
                rc = s_decode_patch(m, &v[5], &v[6], dim, err);
            }
            if (rc == MR_OK)
                rc = s_decode_part(m, &v[4], err);
            break;
        }
        case MSG_UPDATE:
            rc = s_update_fields(m, v, nfields == schema->nfields,
                                 nfields == schema->nfields ? size - starts[2 + 7] : 0, err);
            break;
        case MSG_METRICS: {
            m->round = v[0].u;
            m->sender = (uint32_t) v[1].u;
            m->f = v[2].f;
            rc = s_metrics_grad(m, &v[3], dim, err);
            break;
        }
        case MSG_RESYNC:
            m->sender = (uint32_t) v[0].u;
            m->seq = v[1].u;
            break;
        case MSG_RUN: {
            run_info_t *run = &m->run;
            run->name = s_take_str(m, 0, &v[0]);
            run->version = s_take_str(m, 1, &v[1]);
            run->config = s_take_str(m, 2, &v[2]);
            run->method = s_take_str(m, 3, &v[4]);
            run->compressor = s_take_str(m, 4, &v[5]);
            run->dataset = s_take_str(m, 5, &v[8]);
            if (!run->name || !run->version || !run->config || !run->method || !run->compressor ||
                !run->dataset)
                rc = mr_err_set(err, MR_ENOMEM, "run: out of memory copying its strings");
            run->seed = v[3].u;
            run->n = (uint32_t) v[6].u;
            run->dim = (uint32_t) v[7].u;
            run->start_time = v[9].f;
            run->f_star = v[10].f;
            run->problem = s_take_str(m, 6, &v[11]);
            run->byzantine = (uint32_t) v[12].u;
            run->attack = s_take_str(m, 7, &v[13]);
            run->aggregator = s_take_str(m, 8, &v[14]);
            run->bucket = (uint32_t) v[15].u;
            if (!run->problem || !run->attack || !run->aggregator)
                rc = mr_err_set(err, MR_ENOMEM, "run: out of memory copying its strings");
            break;
        }
        case MSG_STATS: {
            round_stats_t *st = &m->stats;
            st->round = v[0].u;
            st->coin = (int) v[1].u;
            st->f = v[2].f;
            st->grad_norm_sq = v[3].f;
            st->bits_paper_up = v[4].u;
            st->bits_model_up = v[5].u;
            st->bytes_wire_up = v[6].u;
            st->bits_paper_down = v[7].u;
            st->bits_model_down = v[8].u;
            st->bytes_wire_down = v[9].u;
            st->nnz_up = v[10].u;
            st->oracle_calls = v[11].u;
            st->participants = (uint32_t) v[12].u;
            st->wall_time_s = v[13].f;
            st->gap = v[14].f;
            rc = s_decode_workers(m, &v[15], err);
            st->accepted = (uint32_t) v[16].u;
            st->rejected = (uint32_t) v[17].u;
            st->agg_dist_sq = v[18].f;
            st->rejections = s_take_str(m, 9, &v[19]);
            st->bytes_metrics = v[20].u;
            if (rc == MR_OK && !st->rejections)
                rc = mr_err_set(err, MR_ENOMEM, "stats: out of memory copying its rejections");
            break;
        }
        case MSG_ACK:
            m->round = v[0].u;
            m->done = (int) v[1].u;
            break;
        case MSG_STATE:
            m->sender = (uint32_t) v[0].u;
            m->round = v[1].u;
            rc = s_take_blob(m, &v[2], err);
            break;
        case MSG_CHECKPOINT:
            m->round = v[0].u;
            rc = s_take_blob(m, &v[1], err);
            break;
        case MSG_BUNDLE:
            rc = s_decode_batch(m, &v[0], err);
            break;
        case MSG_JOIN:
            m->sender = (uint32_t) v[0].u;
            m->pid = (uint32_t) v[1].u;
            m->round = v[2].u;
            rc = s_check_dense(&v[3], dim, "join: x", err);
            if (rc == MR_OK)
                rc = msg_get_f64s(m->g.x, v[3].p, dim, NULL, "join: x", err);
            break;
        case MSG_STOP: {
            size_t k = 0, nstatus = sizeof s_statuses / sizeof s_statuses[0];
            while (k < nstatus &&
                   !(strlen(s_statuses[k]) == v[0].n && memcmp(s_statuses[k], v[0].p, v[0].n) == 0))
                k++;
            if (k == nstatus)
                return mr_err_set(err, MR_EMALFORMED,
                                  "stop: status '%.*s' is not completed, failed or aborted",
                                  (int) v[0].n, v[0].p);
            m->status = s_take_str(m, 0, &v[0]);
            m->reason = s_take_str(m, 1, &v[1]);
            if (!m->status || !m->reason)
                rc = mr_err_set(err, MR_ENOMEM, "stop: out of memory copying its strings");
            break;
        }
    }
    return rc;
}

int
msg_decode_how(msg_t *m, const void *data, size_t size, int tree, mr_err_t *err)
{
    assert(m);
    mr_err_clear(err);
    msg_release_strings(m);
    if (!data && size > 0)
        return mr_err_set(err, MR_EINVAL, "no data");
    int fast_rc;
    if (!tree && (s_fast_update(m, data, size, &fast_rc, err) ||
                  s_fast_bundle(m, data, size, &fast_rc, err)))
        return fast_rc;
    size_t starts[2 + S_MAX_FIELDS];
    size_t nstarts = sizeof starts / sizeof starts[0];
    int rc = msg_skim(data, size, starts, nstarts, err);
    if (rc != MR_OK)
        return rc;

    msgpack_object fields[2 + S_MAX_FIELDS];
    size_t count = 0;
    if (!tree && msg_flat(data, starts, nstarts, fields, &count)) {
        msgpack_object obj = {.type = MSGPACK_OBJECT_ARRAY};
        obj.via.array.size = (uint32_t) count;
        obj.via.array.ptr = fields;
        rc = s_decode_object(m, &obj, starts, size, err);
        if (rc != MR_OK)
            msg_release_strings(m);
        return rc;
    }
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, S_ZONE_CHUNK))
        return mr_err_set(err, MR_ENOMEM, "out of memory decoding a %zu-byte frame", size);
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(data, size, &off, &zone, &obj);
    if (ur == MSGPACK_UNPACK_SUCCESS)
        rc = s_decode_object(m, &obj, starts, size, err);
    else if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        rc = mr_err_set(err, MR_ENOMEM, "out of memory decoding a %zu-byte frame", size);
    else  // msg_skim() accepted the frame, so this would be a disagreement between the two
        rc = mr_err_set(err, MR_EMALFORMED, "MessagePack parse error (%d) in a %zu-byte frame",
                        (int) ur, size);
    msgpack_zone_destroy(&zone);
    if (rc != MR_OK)
        msg_release_strings(m);  // no half-decoded RUN is left pointing at freed strings
    return rc;
}

int
msg_decode(msg_t *m, const void *data, size_t size, mr_err_t *err)
{
    return msg_decode_how(m, data, size, 0, err);
}
