//  msg.c - the wire protocol: MessagePack encoding, strict decoding and bit accounting.
//  See msg.h for the contract and docs/protocol.md for the layout of every message.
//
//  Decoding runs in three steps. s_skim() walks the raw bytes once, checking that the frame holds
//  exactly one complete MessagePack object and that no container announces more elements than
//  bytes are left; only then does msgpack_unpack() build the object tree, so a 5-byte frame can
//  never make it allocate room for four billion elements. s_decode_object() then checks the
//  tree against the schema of its message type and copies the fields into the msg_t.
#include "msg.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

//  The largest d we can send: a vector of d doubles must fit in one bin32 (< 4 GiB).
#define S_MAX_DIM ((size_t) (UINT32_MAX / 8))
//  Containers nested deeper than this are rejected by s_skim() (our messages are flat).
#define S_MAX_DEPTH 16
//  The zone holds the object tree of one message (<= 22 objects of 24 bytes; it grows if not).
#define S_ZONE_CHUNK 1024
//  Most fields of any message type (STATS).
#define S_MAX_FIELDS 16

#define S_U32 ((uint64_t) UINT32_MAX)
#define S_U64 UINT64_MAX
#define S_KIB ((uint64_t) 1024)
#define S_MIB (S_KIB * S_KIB)

//  --------------------------------------------------------------------------------------------
//  The schema: one table of fields per message type, after [version, type].

typedef enum {
    S_UINT,      // non-negative integer <= max
    S_COIN,      // bool, or the integer 0 or 1
    S_REAL,      // float64 or integer; must be finite
    S_REAL_NAN,  // float64 or integer; finite or NaN ("not evaluated"), never +-Inf
    S_STR,       // UTF-8 str of at most max bytes, without NUL bytes
    S_BIN,       // bin; its length is checked by the message's own rule
    S_BIN_NIL,   // bin or nil
    S_VEC,       // bin (float64 values) or array (a compact encoding, see s_levels/s_pow2)
} s_kind_t;

typedef struct {
    const char *name;  // as in docs/protocol.md
    s_kind_t kind;     // what the field must hold
    uint64_t max;      // S_UINT: largest value; S_STR: most bytes
} s_field_t;

typedef struct {
    const char *name;         // msg_type_name()
    const s_field_t *fields;  // the fields after [version, type]
    size_t nfields;           // how many
} s_schema_t;

#define S_ROLE_MAX ((uint64_t) MSG_ROLE_ATTACKER)

static const s_field_t s_hello[] = {
    {"role", S_UINT, S_ROLE_MAX},
    {"sender", S_UINT, S_U32},
    {"pid", S_UINT, S_U32},
};
static const s_field_t s_ready[] = {
    {"role", S_UINT, S_ROLE_MAX},
    {"sender", S_UINT, S_U32},
};
static const s_field_t s_ping[] = {
    {"seq", S_UINT, S_U64},
};
static const s_field_t s_round[] = {
    {"seq", S_UINT, S_U64}, {"round", S_UINT, S_U64}, {"coin", S_COIN, 1},
    {"g", S_BIN_NIL, 0},    {"part", S_BIN_NIL, 0},
};
static const s_field_t s_update[] = {
    {"round", S_UINT, S_U64},        {"sender", S_UINT, S_U32}, {"kind", S_UINT, CVEC_SPARSE},
    {"dim", S_UINT, S_U32},          {"idx", S_BIN_NIL, 0},     {"val", S_VEC, 0},
    {"oracle_calls", S_UINT, S_U64},
};
//  The compact encodings of an UPDATE's val (docs/protocol.md, "Compact values"): an array
//  [enc, ...] instead of a bin of float64.
static const s_field_t s_levels[] = {
    {"val.enc", S_UINT, CVEC_ENC_SKETCH},
    {"val.s", S_UINT, CVEC_MAX_LEVELS},
    {"val.t", S_UINT, S_U32},
    {"val.nnz", S_UINT, S_U32},
    {"val.norm", S_BIN, 0},
    {"val.lev", S_BIN, 0},
};
static const s_field_t s_pow2[] = {
    {"val.enc", S_UINT, CVEC_ENC_SKETCH},
    {"val.nnz", S_UINT, S_U32},
    {"val.code", S_BIN, 0},
};
//  SEGA's Gaussian sketch (docs/protocol.md, "Sketch coefficients"): [3, b, coef], coef the b
//  float64 values S^T r. They are not coordinates; the receiver redraws S from the run's seed.
static const s_field_t s_sketch[] = {
    {"val.enc", S_UINT, CVEC_ENC_SKETCH},
    {"val.b", S_UINT, S_U32},
    {"val.coef", S_BIN, 0},
};

//  POW2 codes: S_POW2_BITS bits per value; bit 12 is the sign, bits 0..11 are 0 for zero or
//  e + S_POW2_BIAS for 2^e, e in [-1074, 1023] (every power of two a double can hold).
#define S_POW2_BITS     13
#define S_POW2_SIGN     (1u << 12)
#define S_POW2_BIAS     1075
#define S_POW2_MAX_CODE 2098u
//  bits_paper of one POW2 value: a sign and an 8-bit exponent, as in the natural compression
//  paper (which assumes float32); the wire needs 13 bits for the exponents of a double.
#define S_POW2_PAPER_BITS 9

static const s_field_t s_metrics[] = {
    {"round", S_UINT, S_U64},
    {"sender", S_UINT, S_U32},
    {"f", S_REAL, 0},
    {"grad", S_BIN, 0},
};
static const s_field_t s_resync[] = {
    {"sender", S_UINT, S_U32},
    {"seq", S_UINT, S_U64},
};
static const s_field_t s_run[] = {
    {"name", S_STR, 4 * S_KIB}, {"version", S_STR, 256},   {"config", S_STR, S_MIB},
    {"seed", S_UINT, S_U64},    {"method", S_STR, 256},    {"compressor", S_STR, 256},
    {"n", S_UINT, S_U32},       {"dim", S_UINT, S_U32},    {"dataset", S_STR, 4 * S_KIB},
    {"start_time", S_REAL, 0},  {"f_star", S_REAL_NAN, 0}, {"problem", S_STR, 4 * S_KIB},
};
static const s_field_t s_stats[] = {
    {"round", S_UINT, S_U64},
    {"coin", S_COIN, 1},
    {"f", S_REAL_NAN, 0},
    {"grad_norm_sq", S_REAL_NAN, 0},
    {"bits_paper_up", S_UINT, S_U64},
    {"bits_model_up", S_UINT, S_U64},
    {"bytes_wire_up", S_UINT, S_U64},
    {"bits_paper_down", S_UINT, S_U64},
    {"bits_model_down", S_UINT, S_U64},
    {"bytes_wire_down", S_UINT, S_U64},
    {"nnz_up", S_UINT, S_U64},
    {"oracle_calls", S_UINT, S_U64},
    {"participants", S_UINT, S_U32},
    {"wall_time_s", S_REAL, 0},
    {"gap", S_REAL_NAN, 0},
    {"workers", S_BIN_NIL, 0},
};

//  STATS "workers": per worker, 6 little-endian uint64: bits_paper_up, bits_model_up,
//  bytes_wire_up, nnz_up, oracle_calls, sent (0/1).
#define S_WORKER_BYTES 48
#define S_MAX_WORKERS  (1u << 20)
static const s_field_t s_stop[] = {
    {"status", S_STR, 64},
    {"reason", S_STR, 4 * S_KIB},
};

#define S_SCHEMA(label, table)                                                                     \
    {                                                                                              \
        label, table, sizeof(table) / sizeof(table[0])                                             \
    }

static const s_schema_t s_schemas[] = {
    [MSG_HELLO] = S_SCHEMA("hello", s_hello),    [MSG_READY] = S_SCHEMA("ready", s_ready),
    [MSG_PING] = S_SCHEMA("ping", s_ping),       [MSG_ROUND] = S_SCHEMA("round", s_round),
    [MSG_UPDATE] = S_SCHEMA("update", s_update), [MSG_METRICS] = S_SCHEMA("metrics", s_metrics),
    [MSG_RESYNC] = S_SCHEMA("resync", s_resync), [MSG_RUN] = S_SCHEMA("run", s_run),
    [MSG_STATS] = S_SCHEMA("stats", s_stats),    [MSG_STOP] = S_SCHEMA("stop", s_stop),
};

//  The statuses a STOP may carry (msg.h).
static const char *const s_statuses[] = {"completed", "failed", "aborted"};

static const s_schema_t *
s_schema(uint64_t type)
{
    if (type < MSG_HELLO || type > MSG_STOP)
        return NULL;
    return &s_schemas[type];
}

const char *
msg_type_name(int type)
{
    const s_schema_t *schema = type < 0 ? NULL : s_schema((uint64_t) type);
    return schema ? schema->name : "unknown";
}

//  --------------------------------------------------------------------------------------------
//  Lifecycle

//  Frees the strings a previous decode left in m and forgets every pointer to them.
static void
s_release_strings(msg_t *m)
{
    for (size_t i = 0; i < sizeof m->owned / sizeof m->owned[0]; i++) {
        free(m->owned[i]);
        m->owned[i] = NULL;
    }
    m->run.name = m->run.version = m->run.config = NULL;
    m->run.method = m->run.compressor = m->run.dataset = m->run.problem = NULL;
    m->status = m->reason = NULL;
}

int
msg_init(msg_t *m, size_t dim)
{
    assert(m);
    memset(m, 0, sizeof *m);
    m->all_part = 1;  // a ROUND is for every worker unless msg_set_part() says otherwise
    if (dim < 1 || dim > S_MAX_DIM)
        return MR_EINVAL;
    if (vec_init(&m->g, dim) != MR_OK || cvec_init(&m->up, dim, dim) != MR_OK) {
        msg_fini(m);
        return MR_ENOMEM;
    }
    m->up.dim = dim;
    return MR_OK;
}

void
msg_fini(msg_t *m)
{
    if (!m)
        return;
    s_release_strings(m);
    vec_fini(&m->g);
    cvec_fini(&m->up);
    free(m->part);
    free(m->wbuf);
    m->part = NULL;
    m->wbuf = NULL;
    m->npart = m->cap_part = m->wcap = 0;
}

static int s_buf_reserve(msg_buf_t *b, size_t extra);

//  Makes room for n participants in m->part.
static int
s_part_reserve(msg_t *m, size_t n)
{
    if (n <= m->cap_part)
        return MR_OK;
    uint32_t *grown = realloc(m->part, n * sizeof *grown);
    if (!grown)
        return MR_ENOMEM;
    m->part = grown;
    m->cap_part = n;
    return MR_OK;
}

int
msg_set_part(msg_t *m, const uint32_t *ids, size_t n)
{
    m->all_part = ids == NULL;
    m->npart = ids ? n : 0;
    if (!ids || n == 0)
        return MR_OK;
    if (s_part_reserve(m, n) != MR_OK)
        return MR_ENOMEM;
    memcpy(m->part, ids, n * sizeof *ids);
    return MR_OK;
}

//  Appends a bin of the per-worker rows of a STATS message (nil when there are none).
static int
s_pack_workers(msgpack_packer *pk, msg_buf_t *b, const round_stats_t *st)
{
    if (st->nworkers == 0 || !st->workers)
        return msgpack_pack_nil(pk);
    size_t bytes = (size_t) st->nworkers * S_WORKER_BYTES;
    if (msgpack_pack_bin(pk, bytes) || s_buf_reserve(b, bytes))
        return -1;
    unsigned char *out = (unsigned char *) b->data + b->size;
    for (uint32_t i = 0; i < st->nworkers; i++) {
        const worker_stats_t *w = &st->workers[i];
        uint64_t f[6] = {w->bits_paper_up, w->bits_model_up, w->bytes_wire_up,
                         w->nnz_up,        w->oracle_calls,  (uint64_t) (w->sent != 0)};
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 8; k++)
                *out++ = (unsigned char) (f[j] >> (8 * k));
    }
    b->size += bytes;
    return 0;
}

void
msg_buf_fini(msg_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->size = b->cap = 0;
}

//  --------------------------------------------------------------------------------------------
//  Encoding: a msgpack_packer whose write callback appends to a reused msg_buf_t.

//  Makes room for extra more bytes; the capacity only grows (doubling), so a buffer reused for
//  messages of one size stops allocating after the first.
static int
s_buf_reserve(msg_buf_t *b, size_t extra)
{
    if (extra <= b->cap - b->size)
        return 0;
    if (extra > SIZE_MAX - b->size)
        return -1;
    size_t need = b->size + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(b->data, cap);
    if (!data)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int
s_buf_write(void *data, const char *buf, size_t len)
{
    msg_buf_t *b = data;
    if (len == 0)
        return 0;
    if (s_buf_reserve(b, len))
        return -1;
    memcpy(b->data + b->size, buf, len);
    b->size += len;
    return 0;
}

//  Appends a bin of n little-endian IEEE-754 doubles, written straight into the buffer.
static int
s_pack_f64s(msgpack_packer *pk, msg_buf_t *b, const double *x, size_t n)
{
    assert(n <= S_MAX_DIM);
    if (msgpack_pack_bin(pk, 8 * n) || s_buf_reserve(b, 8 * n))
        return -1;
    unsigned char *out = (unsigned char *) b->data + b->size;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n > 0)
        memcpy(out, x, 8 * n);
#else
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &x[i], 8);
        for (int k = 0; k < 8; k++)
            out[8 * i + k] = (unsigned char) (u >> (8 * k));
    }
#endif
    b->size += 8 * n;
    return 0;
}

//  Appends a bin of n little-endian uint32 indices.
static int
s_pack_u32s(msgpack_packer *pk, msg_buf_t *b, const uint32_t *idx, size_t n)
{
    assert(n <= S_MAX_DIM);
    if (msgpack_pack_bin(pk, 4 * n) || s_buf_reserve(b, 4 * n))
        return -1;
    unsigned char *out = (unsigned char *) b->data + b->size;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n > 0)
        memcpy(out, idx, 4 * n);
#else
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = (unsigned char) (idx[i] >> (8 * k));
#endif
    b->size += 4 * n;
    return 0;
}

//  --------------------------------------------------------------------------------------------
//  Compact values: fields of w bits packed least significant bit first into a bin.

//  The number of bytes n fields of w bits take.
static size_t
s_bits_bytes(size_t n, unsigned w)
{
    return (size_t) (((uint64_t) n * w + 7) / 8);
}

//  The POW2 code of v, which s_check_compact() found to be 0 or +-2^e.
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
    if (msgpack_pack_bin(pk, nbytes) || s_buf_reserve(b, nbytes))
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
static int
s_check_compact(const cvec_t *up)
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

//  Appends idx and val of a LEVELS or POW2 update (s_check_compact() passed).
static int
s_pack_compact(msgpack_packer *pk, msg_buf_t *b, const cvec_t *up)
{
    int r = 0;
    if (up->enc == CVEC_ENC_SKETCH) {
        r |= msgpack_pack_nil(pk);  // coefficients have no coordinates
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint8(pk, CVEC_ENC_SKETCH);
        r |= msgpack_pack_uint64(pk, up->nnz);
        r |= s_pack_f64s(pk, b, up->val, up->nnz);
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
    r |= s_pack_f64s(pk, b, up->norm, (up->dim + up->t - 1) / up->t);
    r |= s_pack_bits(pk, b, up, S_SRC_LEV, msg_level_bits(up->s));
    return r;
}

//  A NULL string (a field the caller left unset) travels as "".
static int
s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    return msgpack_pack_str_with_body(pk, s ? s : "", len);
}

static int
s_pack_coin(msgpack_packer *pk, int coin)
{
    return coin ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

int
msg_encode(const msg_t *m, msg_buf_t *out)
{
    assert(m && out);
    const s_schema_t *schema = s_schema((uint64_t) m->type);
    if (!schema)
        return MR_EINVAL;
    out->size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);

    //  Each pack call returns 0 or -1 (our callback's out of memory); or-ing keeps the code flat.
    int r = msgpack_pack_array(&pk, 2 + schema->nfields);
    r |= msgpack_pack_uint8(&pk, MSG_VERSION);
    r |= msgpack_pack_uint8(&pk, (uint8_t) m->type);
    switch (m->type) {
        case MSG_HELLO:
            r |= msgpack_pack_uint32(&pk, (uint32_t) m->role);
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint32(&pk, m->pid);
            break;
        case MSG_READY:
            r |= msgpack_pack_uint32(&pk, (uint32_t) m->role);
            r |= msgpack_pack_uint32(&pk, m->sender);
            break;
        case MSG_PING:
            r |= msgpack_pack_uint64(&pk, m->seq);
            break;
        case MSG_ROUND:
            r |= msgpack_pack_uint64(&pk, m->seq);
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= s_pack_coin(&pk, m->coin);
            if (m->has_g)
                r |= s_pack_f64s(&pk, out, m->g.x, m->g.dim);
            else
                r |= msgpack_pack_nil(&pk);
            if (m->all_part)
                r |= msgpack_pack_nil(&pk);
            else
                r |= s_pack_u32s(&pk, out, m->part, m->npart);
            break;
        case MSG_UPDATE: {
            const cvec_t *up = &m->up;
            int sparse = up->kind == CVEC_SPARSE;
            assert(!sparse || (up->nnz <= up->dim && up->nnz <= up->cap));
            if (up->enc != CVEC_ENC_RAW && s_check_compact(up) != MR_OK) {
                out->size = 0;
                return MR_EINVAL;
            }
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint8(&pk, sparse ? CVEC_SPARSE : CVEC_DENSE);
            r |= msgpack_pack_uint64(&pk, up->dim);
            if (up->enc != CVEC_ENC_RAW) {
                r |= s_pack_compact(&pk, out, up);
            } else if (sparse) {
                r |= s_pack_u32s(&pk, out, up->idx, up->nnz);
                r |= s_pack_f64s(&pk, out, up->val, up->nnz);
            } else {
                r |= msgpack_pack_nil(&pk);
                r |= s_pack_f64s(&pk, out, up->val, up->dim);
            }
            r |= msgpack_pack_uint64(&pk, m->oracle_calls);
            break;
        }
        case MSG_METRICS:
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_double(&pk, m->f);
            r |= s_pack_f64s(&pk, out, m->g.x, m->g.dim);
            break;
        case MSG_RESYNC:
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint64(&pk, m->seq);
            break;
        case MSG_RUN: {
            const run_info_t *run = &m->run;
            r |= s_pack_str(&pk, run->name);
            r |= s_pack_str(&pk, run->version);
            r |= s_pack_str(&pk, run->config);
            r |= msgpack_pack_uint64(&pk, run->seed);
            r |= s_pack_str(&pk, run->method);
            r |= s_pack_str(&pk, run->compressor);
            r |= msgpack_pack_uint32(&pk, run->n);
            r |= msgpack_pack_uint32(&pk, run->dim);
            r |= s_pack_str(&pk, run->dataset);
            r |= msgpack_pack_double(&pk, run->start_time);
            r |= msgpack_pack_double(&pk, run->f_star);
            r |= s_pack_str(&pk, run->problem);
            break;
        }
        case MSG_STATS: {
            const round_stats_t *st = &m->stats;
            r |= msgpack_pack_uint64(&pk, st->round);
            r |= s_pack_coin(&pk, st->coin);
            r |= msgpack_pack_double(&pk, st->f);
            r |= msgpack_pack_double(&pk, st->grad_norm_sq);
            r |= msgpack_pack_uint64(&pk, st->bits_paper_up);
            r |= msgpack_pack_uint64(&pk, st->bits_model_up);
            r |= msgpack_pack_uint64(&pk, st->bytes_wire_up);
            r |= msgpack_pack_uint64(&pk, st->bits_paper_down);
            r |= msgpack_pack_uint64(&pk, st->bits_model_down);
            r |= msgpack_pack_uint64(&pk, st->bytes_wire_down);
            r |= msgpack_pack_uint64(&pk, st->nnz_up);
            r |= msgpack_pack_uint64(&pk, st->oracle_calls);
            r |= msgpack_pack_uint32(&pk, st->participants);
            r |= msgpack_pack_double(&pk, st->wall_time_s);
            r |= msgpack_pack_double(&pk, st->gap);
            r |= s_pack_workers(&pk, out, st);
            break;
        }
        case MSG_STOP:
            r |= s_pack_str(&pk, m->status);
            r |= s_pack_str(&pk, m->reason);
            break;
    }
    return r ? MR_ENOMEM : MR_OK;
}

//  --------------------------------------------------------------------------------------------
//  Decoding, step 1: walk the raw bytes without building anything.

static uint64_t
s_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

//  Checks that data holds exactly one complete MessagePack object, nested at most S_MAX_DEPTH
//  deep, in which no container announces more elements than there are bytes left (every element
//  takes at least one byte). This bounds what msgpack_unpack() allocates by the frame's size.
static int
s_skim(const unsigned char *p, size_t size, mr_err_t *err)
{
    uint64_t left[S_MAX_DEPTH];  // elements still to read in each open container
    int depth = 0;
    uint64_t pending = 1;  // objects announced and not yet started, over all open containers
    size_t off = 0;
    do {
        if (off >= size)
            return mr_err_set(err, MR_EMALFORMED, "truncated frame: %zu bytes end mid-message",
                              size);
        unsigned char b = p[off++];
        pending--;
        size_t head = 0;       // length bytes that follow b
        uint64_t payload = 0;  // bytes of data after those
        uint64_t entries = 0;  // elements, if b opens a container
        int container = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            // fixint, nil, bool: the byte is the whole object
        } else if (b <= 0x8f) {  // fixmap: a key and a value per entry
            container = 1;
            entries = 2 * (uint64_t) (b & 0x0f);
        } else if (b <= 0x9f) {  // fixarray
            container = 1;
            entries = b & 0x0f;
        } else if (b <= 0xbf) {
            payload = b & 0x1f;
        } else {
            switch (b) {
                case 0xc4:  // bin 8/16/32
                case 0xc5:
                case 0xc6:
                    head = (size_t) 1 << (b - 0xc4);
                    break;
                case 0xc7:  // ext 8/16/32: length, then a type byte
                case 0xc8:
                case 0xc9:
                    head = (size_t) 1 << (b - 0xc7);
                    payload = 1;
                    break;
                case 0xca:
                    payload = 4;
                    break;
                case 0xcb:
                    payload = 8;
                    break;
                case 0xcc:  // uint 8/16/32/64
                case 0xcd:
                case 0xce:
                case 0xcf:
                    payload = (uint64_t) 1 << (b - 0xcc);
                    break;
                case 0xd0:  // int 8/16/32/64
                case 0xd1:
                case 0xd2:
                case 0xd3:
                    payload = (uint64_t) 1 << (b - 0xd0);
                    break;
                case 0xd4:  // fixext 1/2/4/8/16, plus the type byte
                case 0xd5:
                case 0xd6:
                case 0xd7:
                case 0xd8:
                    payload = 1 + ((uint64_t) 1 << (b - 0xd4));
                    break;
                case 0xd9:  // str 8/16/32
                case 0xda:
                case 0xdb:
                    head = (size_t) 1 << (b - 0xd9);
                    break;
                case 0xdc:  // array 16/32
                case 0xdd:
                    head = (size_t) 1 << (b - 0xdc + 1);
                    container = 1;
                    break;
                case 0xde:  // map 16/32
                case 0xdf:
                    head = (size_t) 1 << (b - 0xde + 1);
                    container = 2;
                    break;
                default:  // 0xc1 is never used
                    return mr_err_set(err, MR_EMALFORMED,
                                      "byte 0x%02x at offset %zu is not MessagePack", b, off - 1);
            }
        }
        if (head > size - off)
            return mr_err_set(err, MR_EMALFORMED, "truncated frame: %zu bytes end mid-message",
                              size);
        if (head > 0) {
            uint64_t n = s_be(p + off, head);
            off += head;
            if (container)
                entries = (uint64_t) container * n;  // a map has a key and a value per entry
            else
                payload += n;
        }
        if (payload > size - off || pending > size - off - payload)
            return mr_err_set(err, MR_EMALFORMED, "truncated frame: %zu bytes end mid-message",
                              size);
        off += (size_t) payload;
        if (container && entries > 0) {
            if (entries > size - off - pending)
                return mr_err_set(err, MR_EMALFORMED,
                                  "a container at offset %zu announces %" PRIu64
                                  " elements but only %zu bytes follow",
                                  off, entries, size - off);
            if (depth == S_MAX_DEPTH)
                return mr_err_set(err, MR_EMALFORMED, "containers nested deeper than %d",
                                  S_MAX_DEPTH);
            left[depth++] = entries;
            pending += entries;
        } else {
            // One object is complete; so is every container it completes.
            while (depth > 0 && --left[depth - 1] == 0)
                depth--;
        }
    } while (depth > 0);
    if (off < size)
        return mr_err_set(err, MR_EMALFORMED, "%zu trailing bytes after the message", size - off);
    return MR_OK;
}

//  --------------------------------------------------------------------------------------------
//  Decoding, step 2: check the object tree against the schema.

typedef struct {
    uint64_t u;     // S_UINT, S_COIN
    double f;       // S_REAL, S_REAL_NAN
    const char *p;  // S_STR, S_BIN, S_BIN_NIL, S_VEC: the bytes, inside the frame; NULL for nil
    size_t n;       // their length
    int nil;        // S_BIN_NIL: 1 if the field was nil
    const msgpack_object *o;  // S_VEC: the array of a compact encoding; NULL for a bin
} s_val_t;

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
static int
s_field(const char *type, const s_field_t *fd, const msgpack_object *o, s_val_t *v, mr_err_t *err)
{
    memset(v, 0, sizeof *v);
    const char *got = s_mp_type_name(o->type);
    switch (fd->kind) {
        case S_UINT:
            if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is %" PRId64 ", expected 0..%" PRIu64, type, fd->name,
                                  o->via.i64, fd->max);
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is a %s, expected an unsigned integer", type, fd->name,
                                  got);
            if (o->via.u64 > fd->max)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is %" PRIu64 ", expected 0..%" PRIu64, type, fd->name,
                                  o->via.u64, fd->max);
            v->u = o->via.u64;
            return MR_OK;
        case S_COIN:
            if (o->type == MSGPACK_OBJECT_BOOLEAN) {
                v->u = o->via.boolean ? 1 : 0;
                return MR_OK;
            }
            if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= 1) {
                v->u = o->via.u64;
                return MR_OK;
            }
            return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a bool or 0/1", type,
                              fd->name, got);
        case S_REAL:
        case S_REAL_NAN:
            if (o->type == MSGPACK_OBJECT_FLOAT64)
                v->f = o->via.f64;
            else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                v->f = (double) o->via.u64;
            else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                v->f = (double) o->via.i64;
            else
                return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a float64", type,
                                  fd->name, got);
            if (isinf(v->f) || (isnan(v->f) && fd->kind == S_REAL))
                return mr_err_set(err, MR_ENONFINITE, "%s: '%s' is %g", type, fd->name, v->f);
            return MR_OK;
        case S_STR: {
            if (o->type != MSGPACK_OBJECT_STR)
                return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a str", type,
                                  fd->name, got);
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
        case S_VEC:
            if (o->type == MSGPACK_OBJECT_ARRAY) {
                v->o = o;
                return MR_OK;
            }
            if (o->type != MSGPACK_OBJECT_BIN)
                return mr_err_set(err, MR_EMALFORMED,
                                  "%s: '%s' is a %s, expected a bin or an array", type, fd->name,
                                  got);
            v->p = o->via.bin.ptr;
            v->n = o->via.bin.size;
            return MR_OK;
        case S_BIN:
        case S_BIN_NIL:
            if (o->type == MSGPACK_OBJECT_NIL && fd->kind == S_BIN_NIL) {
                v->nil = 1;
                return MR_OK;
            }
            if (o->type != MSGPACK_OBJECT_BIN)
                return mr_err_set(err, MR_EMALFORMED, "%s: '%s' is a %s, expected a bin%s", type,
                                  fd->name, got, fd->kind == S_BIN_NIL ? " or nil" : "");
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
static int
s_get_f64s(
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
s_check_dense(const s_val_t *v, size_t dim, const char *what, mr_err_t *err)
{
    if (v->n % 8 != 0 || v->n / 8 != dim)
        return mr_err_set(err, MR_EDIM, "%s: got %zu bytes (%zu doubles), expected %zu (d = %zu)",
                          what, v->n, v->n / 8, 8 * dim, dim);
    return MR_OK;
}

//  Copies a str field into a NUL-terminated string owned by m (owned[slot]); NULL if out of memory.
static char *
s_take_str(msg_t *m, size_t slot, const s_val_t *v)
{
    assert(slot < sizeof m->owned / sizeof m->owned[0]);
    char *s = malloc(v->n + 1);
    if (!s)
        return NULL;
    if (v->n > 0)
        memcpy(s, v->p, v->n);
    s[v->n] = '\0';
    m->owned[slot] = s;
    return s;
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
    const s_val_t *v, size_t n, unsigned w, const char *what, const char *name, mr_err_t *err)
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
s_decode_sketch(msg_t *m, const s_val_t *v, size_t dim, const char *what, mr_err_t *err)
{
    cvec_t *up = &m->up;
    const msgpack_object_array *a = &v[5].o->via.array;
    size_t nf = sizeof s_sketch / sizeof s_sketch[0];
    if (a->size != nf)
        return mr_err_set(err, MR_EMALFORMED,
                          "%s: 'val' has %" PRIu32 " elements, expected %zu for sketch", what,
                          a->size, nf);
    s_val_t e[3];
    for (size_t i = 1; i < nf; i++) {
        int rc = s_field("update", &s_sketch[i], &a->ptr[i], &e[i], err);
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
    int rc = s_get_f64s(up->val, e[2].p, (size_t) b, NULL, cwhat, err);
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
static int
s_decode_compact(msg_t *m, const s_val_t *v, size_t dim, const char *what, mr_err_t *err)
{
    cvec_t *up = &m->up;
    const msgpack_object_array *a = &v[5].o->via.array;
    s_val_t e[6];
    if (a->size < 1)
        return mr_err_set(err, MR_EMALFORMED, "%s: 'val' is an empty array, expected [enc, ...]",
                          what);
    int rc = s_field("update", &s_levels[0], &a->ptr[0], &e[0], err);
    if (rc != MR_OK)
        return rc;
    if (e[0].u == CVEC_ENC_RAW)
        return mr_err_set(err, MR_EMALFORMED,
                          "%s: 'val.enc' is 0 (raw), but raw values travel as a bin", what);
    if (e[0].u == CVEC_ENC_SKETCH)
        return s_decode_sketch(m, v, dim, what, err);
    int levels = e[0].u == CVEC_ENC_LEVELS;
    const s_field_t *fields = levels ? s_levels : s_pow2;
    size_t nf = levels ? sizeof s_levels / sizeof s_levels[0] : sizeof s_pow2 / sizeof s_pow2[0];
    if (a->size != nf)
        return mr_err_set(err, MR_EMALFORMED,
                          "%s: 'val' has %" PRIu32 " elements, expected %zu for %s", what, a->size,
                          nf, levels ? "levels" : "pow2");
    for (size_t i = 1; i < nf; i++) {
        rc = s_field("update", &fields[i], &a->ptr[i], &e[i], err);
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
        rc = s_get_f64s(up->norm, e[4].p, nb, NULL, nwhat, err);
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

static int
s_decode_update(msg_t *m, const s_val_t *v, size_t dim, mr_err_t *err)
{
    cvec_t *up = &m->up;
    m->round = v[0].u;
    m->sender = (uint32_t) v[1].u;
    m->oracle_calls = v[6].u;
    char what[80];
    snprintf(what, sizeof what, "update from worker %" PRIu32 ", round %" PRIu64, m->sender,
             m->round);
    if (v[3].u != dim)
        return mr_err_set(err, MR_EDIM, "%s: got dim %" PRIu64 ", expected %zu", what, v[3].u, dim);
    if (v[5].o)
        return s_decode_compact(m, v, dim, what, err);
    up->enc = CVEC_ENC_RAW;
    if (v[2].u == CVEC_DENSE) {
        if (v[4].p)
            return mr_err_set(err, MR_EMALFORMED, "%s: a dense update must have idx nil", what);
        int rc = s_check_dense(&v[5], dim, what, err);
        if (rc == MR_OK)
            rc = s_get_f64s(up->val, v[5].p, dim, NULL, what, err);
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
    int rc = s_get_f64s(up->val, v[5].p, nnz, up->idx, what, err);
    if (rc != MR_OK)
        return rc;
    up->kind = CVEC_SPARSE;
    up->dim = dim;
    up->nnz = nnz;
    return MR_OK;
}

//  A ROUND's participants: nil (every worker) or a bin of non-decreasing uint32 ids.
static int
s_decode_part(msg_t *m, const s_val_t *v, mr_err_t *err)
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
    if (n > S_MAX_WORKERS)
        return mr_err_set(err, MR_EMALFORMED, "round %" PRIu64 ": %zu participants", m->round, n);
    if (s_part_reserve(m, n) != MR_OK)
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

//  A STATS message's per-worker rows: nil or a bin of S_WORKER_BYTES per worker.
static int
s_decode_workers(msg_t *m, const s_val_t *v, mr_err_t *err)
{
    round_stats_t *st = &m->stats;
    st->nworkers = 0;
    st->workers = NULL;
    if (!v->p)
        return MR_OK;
    if (v->n % S_WORKER_BYTES != 0 || v->n / S_WORKER_BYTES > S_MAX_WORKERS)
        return mr_err_set(err, MR_EMALFORMED,
                          "stats: workers has %zu bytes, not a whole number "
                          "of %d-byte rows",
                          v->n, S_WORKER_BYTES);
    size_t n = v->n / S_WORKER_BYTES;
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
                f[j] = (f[j] << 8) | p[S_WORKER_BYTES * i + 8 * j + k];
        }
        if (f[5] > 1)
            return mr_err_set(err, MR_EMALFORMED, "stats: worker %zu has sent = %" PRIu64, i, f[5]);
        m->wbuf[i] = (worker_stats_t){f[0], f[1], f[2], f[3], f[4], (int) f[5]};
    }
    st->nworkers = (uint32_t) n;
    st->workers = m->wbuf;
    return MR_OK;
}

static int
s_decode_object(msg_t *m, const msgpack_object *o, mr_err_t *err)
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
                          s_mp_type_name(to->type), MSG_STOP);
    const s_schema_t *schema = s_schema(to->via.u64);
    if (!schema)
        return mr_err_set(err, MR_EMALFORMED, "unknown message type %" PRIu64, to->via.u64);
    if (a->size - 2 != schema->nfields)
        return mr_err_set(err, MR_EMALFORMED, "%s: got %" PRIu32 " fields, expected %zu",
                          schema->name, a->size - 2, schema->nfields);

    s_val_t v[S_MAX_FIELDS];
    assert(schema->nfields <= S_MAX_FIELDS);
    for (size_t i = 0; i < schema->nfields; i++) {
        int rc = s_field(schema->name, &schema->fields[i], &a->ptr[2 + i], &v[i], err);
        if (rc != MR_OK)
            return rc;
    }

    size_t dim = m->g.dim;  // the run's d, from msg_init()
    int rc = MR_OK;
    m->type = (msg_type_t) to->via.u64;
    switch (m->type) {
        case MSG_HELLO:
            m->role = (msg_role_t) v[0].u;
            m->sender = (uint32_t) v[1].u;
            m->pid = (uint32_t) v[2].u;
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
            m->has_g = v[3].p != NULL;
            char what[48];
            snprintf(what, sizeof what, "round %" PRIu64 ": g", m->round);
            if (m->has_g) {
                rc = s_check_dense(&v[3], dim, what, err);
                if (rc == MR_OK)
                    rc = s_get_f64s(m->g.x, v[3].p, dim, NULL, what, err);
            }
            if (rc == MR_OK)
                rc = s_decode_part(m, &v[4], err);
            break;
        }
        case MSG_UPDATE:
            if (m->up.cap < dim || !m->up.val || !m->up.idx || !m->up.lev || !m->up.norm)
                return mr_err_set(err, MR_EINVAL, "update: the msg_t has no room for d = %zu", dim);
            rc = s_decode_update(m, v, dim, err);
            break;
        case MSG_METRICS: {
            m->round = v[0].u;
            m->sender = (uint32_t) v[1].u;
            m->f = v[2].f;
            char what[80];
            snprintf(what, sizeof what, "metrics from worker %" PRIu32 ", round %" PRIu64 ": grad",
                     m->sender, m->round);
            rc = s_check_dense(&v[3], dim, what, err);
            if (rc == MR_OK)
                rc = s_get_f64s(m->g.x, v[3].p, dim, NULL, what, err);
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
            if (!run->problem)
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
            break;
        }
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
msg_decode(msg_t *m, const void *data, size_t size, mr_err_t *err)
{
    assert(m);
    mr_err_clear(err);
    s_release_strings(m);
    if (!data && size > 0)
        return mr_err_set(err, MR_EINVAL, "no data");
    int rc = s_skim(data, size, err);
    if (rc != MR_OK)
        return rc;

    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, S_ZONE_CHUNK))
        return mr_err_set(err, MR_ENOMEM, "out of memory decoding a %zu-byte frame", size);
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(data, size, &off, &zone, &obj);
    if (ur == MSGPACK_UNPACK_SUCCESS)
        rc = s_decode_object(m, &obj, err);
    else if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        rc = mr_err_set(err, MR_ENOMEM, "out of memory decoding a %zu-byte frame", size);
    else  // s_skim() accepted the frame, so this would be a disagreement between the two
        rc = mr_err_set(err, MR_EMALFORMED, "MessagePack parse error (%d) in a %zu-byte frame",
                        (int) ur, size);
    msgpack_zone_destroy(&zone);
    if (rc != MR_OK)
        s_release_strings(m);  // no half-decoded RUN is left pointing at freed strings
    return rc;
}

//  --------------------------------------------------------------------------------------------
//  Bit accounting (docs/protocol.md, "Counting bits")

uint32_t
msg_index_bits(size_t dim)
{
    uint32_t bits = 0;
    while (bits < 64 && ((uint64_t) 1 << bits) < (uint64_t) dim)
        bits++;
    return bits;
}

uint32_t
msg_level_bits(uint32_t s)
{
    return 1 + msg_index_bits((size_t) s + 1);
}

msg_cost_t
msg_update_cost(const cvec_t *up, size_t wire_bytes)
{
    assert(up);
    //  A sketch's b coefficients carry no indices: the receiver redraws S from the run's seed.
    int sketch = up->enc == CVEC_ENC_SKETCH;
    int sparse = up->kind == CVEC_SPARSE && !sketch;
    uint64_t nnz = up->kind == CVEC_SPARSE ? up->nnz : up->dim;
    uint64_t per_value = 32, fixed = 0;  // bits per transmitted value, bits per message
    if (up->enc == CVEC_ENC_LEVELS) {
        assert(up->t >= 1);
        per_value = msg_level_bits(up->s);
        fixed = 32 * (uint64_t) ((up->dim + up->t - 1) / up->t);  // one float per block norm
    } else if (up->enc == CVEC_ENC_POW2) {
        per_value = S_POW2_PAPER_BITS;
    }
    msg_cost_t c;
    c.bits_paper = fixed + per_value * nnz;
    c.bits_model = c.bits_paper + (sparse ? nnz * msg_index_bits(up->dim) : 0);
    c.bytes_wire = wire_bytes;
    return c;
}

msg_cost_t
msg_round_cost(int has_g, size_t dim, size_t wire_bytes)
{
    msg_cost_t c;
    c.bits_paper = has_g ? 32 * (uint64_t) dim : 0;
    c.bits_model = c.bits_paper;
    c.bytes_wire = wire_bytes;
    return c;
}
