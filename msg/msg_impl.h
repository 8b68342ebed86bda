//  msg_impl.h - private to msg/: what the files of the wire protocol share (the schema types and
//  tables, the encode buffer, the field checks and the compact vector formats). Nothing outside
//  msg/ includes this header; use msg.h.
#ifndef MSG_IMPL_H
#define MSG_IMPL_H

#include "msg.h"

#include <msgpack.h>
#include <string.h>

//  The largest d we can send: a vector of d doubles must fit in one bin32 (< 4 GiB).
#define MSG_MAX_DIM ((size_t) (UINT32_MAX / 8))

#define MSG_U32 ((uint64_t) UINT32_MAX)
#define MSG_U64 UINT64_MAX
#define MSG_KIB ((uint64_t) 1024)
#define MSG_MIB (MSG_KIB * MSG_KIB)

typedef enum {
    MSG_F_UINT,      // non-negative integer <= max
    MSG_F_COIN,      // bool, or the integer 0 or 1
    MSG_F_REAL,      // float64 or integer; must be finite
    MSG_F_REAL_NAN,  // float64 or integer; finite or NaN ("not evaluated"), never +-Inf
    MSG_F_STR,       // UTF-8 str of at most max bytes, without NUL bytes
    MSG_F_BIN,       // bin; its length is checked by the message's own rule
    MSG_F_BIN_NIL,   // bin or nil
    MSG_F_VEC,       // bin (float64 values) or array (a compact encoding, see s_levels/s_pow2)
    MSG_F_ARRAY,     // array; its elements are checked by the message's own rule
} msg_kind_t;

typedef struct {
    const char *name;  // as in docs/protocol.md
    msg_kind_t kind;   // what the field must hold
    uint64_t max;      // MSG_F_UINT: largest value; MSG_F_STR: most bytes
} msg_field_t;

typedef struct {
    const char *name;           // msg_type_name()
    const msg_field_t *fields;  // the fields after [version, type]
    size_t nfields;             // how many
    size_t optional;            // the last this many fields may be left out, all together
} msg_schema_t;

//  The schema of a message type (MSG_HELLO..MSG_TYPE_LAST), or NULL.
const msg_schema_t *msg_schema(uint64_t type);

//  STATS "workers": per worker, 6 little-endian uint64: bits_paper_up, bits_model_up,
//  bytes_wire_up, nnz_up, oracle_calls, sent (0/1).
#define MSG_WORKER_BYTES 48
#define MSG_MAX_WORKERS  (1u << 20)

//  bits_paper of one POW2 value: a sign and an 8-bit exponent, as in the natural compression
//  paper (which assumes float32); the wire needs 13 bits for the exponents of a double.
#define MSG_POW2_PAPER_BITS 9

typedef struct {
    uint64_t u;               // MSG_F_UINT, MSG_F_COIN
    double f;                 // MSG_F_REAL, MSG_F_REAL_NAN
    const char *p;            // STR, BIN, BIN_NIL, VEC: the bytes, inside the frame; NULL for nil
    size_t n;                 // their length
    int nil;                  // MSG_F_BIN_NIL: 1 if the field was nil
    const msgpack_object *o;  // MSG_F_VEC: the array of a compact encoding (NULL for a bin);
                              // MSG_F_ARRAY: the array
} msg_val_t;

//  Lifecycle (msg.c). Frees the strings a previous decode left in m and forgets every pointer to
//  them; makes room for n participants in m->part (MR_OK or MR_ENOMEM).
void msg_release_strings(msg_t *m);
int msg_part_reserve(msg_t *m, size_t n);
//  Makes room for n patch entries in m->gp_idx, m->gp_val (msg_patch.c; MR_OK or MR_ENOMEM).
int msg_patch_reserve(msg_t *m, size_t n);

//  Encoding (msg_encode.c). Makes room for extra more bytes in b (0 or -1, out of memory);
//  appends a bin of n little-endian IEEE-754 doubles (0 or -1).
int msg_buf_reserve(msg_buf_t *b, size_t extra);
int msg_pack_f64s(msgpack_packer *pk, msg_buf_t *b, const double *x, size_t n);

//  Decoding (msg_decode.c). Checks one field against its description and extracts its value;
//  copies n doubles from bin bytes to x and rejects NaN and Inf (coord names the j-th value's
//  coordinate in the error, NULL: j itself; what names the vector).
int msg_field(
    const char *type, const msg_field_t *fd, const msgpack_object *o, msg_val_t *v, mr_err_t *err);
int msg_get_f64s(
    double *x, const char *bytes, size_t n, const uint32_t *coord, const char *what, mr_err_t *err);

//  Compact vector formats (msg_cvec.c). MR_OK if up's encoding fields describe its values
//  exactly, else MR_EINVAL; appends idx and val of a LEVELS, POW2 or SKETCH update (0 or -1);
//  decodes the idx and val of a compact UPDATE (v are its checked fields, v[5] an array) into
//  m->up, what naming the update in errors.
int msg_check_compact(const cvec_t *up);
int msg_pack_compact(msgpack_packer *pk, msg_buf_t *b, const cvec_t *up);
//  msg_decode() with the path forced: tree = 1 always builds msgpack_unpack()'s object tree, 0
//  takes the flat path for the frames it fits (the tests check that both agree on every frame).
int msg_decode_how(msg_t *m, const void *data, size_t size, int tree, mr_err_t *err);
//  msg_encode() with the path forced: general = 1 always packs field by field, 0 takes the fast
//  path for the frames it has (an UPDATE with plain values); both write the same bytes.
int msg_encode_how(const msg_t *m, msg_buf_t *out, int general);
int msg_decode_compact(msg_t *m, const msg_val_t *v, size_t dim, const char *what, mr_err_t *err);

//  Decoding, step 1 (msg_skim.c). msg_skim(): 0 (MR_OK) if the size bytes at p hold exactly one
//  complete MessagePack object nested at most 16 deep, in which no container announces more
//  elements than bytes are left (so that what msgpack_unpack() allocates is bounded by the
//  frame's size); starts[i] gets the offset of the outer array's element i (i < nstarts); else
//  MR_EMALFORMED with err naming the problem. msg_flat(): for a frame msg_skim() passed that is
//  one array of at most nstarts elements of the types our encoder writes (fixint, uint 8..64,
//  nil, bool, float64, str, bin), its elements into o[] (pointing into p) as msgpack_unpack()
//  builds them, their count into *count, and 1; 0 for any other frame (the tree path takes it).
int msg_skim(const unsigned char *p, size_t size, size_t *starts, size_t nstarts, mr_err_t *err);
int msg_flat(
    const unsigned char *p, const size_t *starts, size_t nstarts, msgpack_object *o, size_t *count);

//  The big-endian unsigned integer of n = 1, 2, 4 or 8 bytes at p (MessagePack's lengths and
//  integers): one load each.
static inline uint64_t
msg_be(const unsigned char *p, size_t n)
{
    switch (n) {
        case 1:
            return p[0];
        case 2:
            return (uint64_t) p[0] << 8 | p[1];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        case 4: {
            uint32_t v;
            memcpy(&v, p, sizeof v);
            return __builtin_bswap32(v);
        }
        default: {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            return __builtin_bswap64(v);
        }
#else
        default: {
            uint64_t v = 0;
            for (size_t i = 0; i < n; i++)
                v = (v << 8) | p[i];
            return v;
        }
#endif
    }
}

#endif
