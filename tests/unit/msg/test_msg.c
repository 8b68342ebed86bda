//  test_msg.c - the wire protocol: every message round-trips, every malformed frame is rejected
//  with the right code and without a crash, and bits are counted as docs/protocol.md says.
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "comp.h"
#include "marks.h"
#include "msg.h"
#include "msg_impl.h"  // msg_decode_how(): the flat and tree paths, compared
#include "test_util.h"

#define D         113  // the dimension of the paper's experiments (LibSVM a9a + 1: d = 113)
#define D_FUZZ    7    // small, so random bytes and flips land in the interesting fields often
#define S_NFRAMES 25   // valid frames from s_valid_frames(): every type and layout variant

typedef struct {
    msg_t enc;           // filled by a test, encoded
    msg_t dec;           // decoded into
    msg_buf_t buf;       // the encoded frame
    mr_err_t err;        // the decoder's verdict
    msgpack_sbuffer sb;  // hand-made frames
    msgpack_packer pk;   // packs into sb
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(msg_init(&f->enc, D), MR_OK);
    assert_int_equal(msg_init(&f->dec, D), MR_OK);
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    msg_fini(&f->enc);
    msg_fini(&f->dec);
    msg_buf_fini(&f->buf);
    msgpack_sbuffer_destroy(&f->sb);
    free(f);
    return 0;
}

//  A small deterministic generator (xorshift64*), so the fuzz tests see the same bytes every run.
static uint64_t
s_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

//  Encodes f->enc and decodes it into f->dec; both must succeed.
static void
s_round_trip(fixture_t *f)
{
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    int rc = msg_decode(&f->dec, f->buf.data, f->buf.size, &f->err);
    if (rc != MR_OK)
        fail_msg("decode failed: %s", f->err.text);
    assert_int_equal(f->dec.type, f->enc.type);
}

//  Encodes f->enc and expects its decode to fail with rc.
static void
s_expect_reject(fixture_t *f, int rc)
{
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    assert_int_equal(msg_decode(&f->dec, f->buf.data, f->buf.size, &f->err), rc);
    assert_int_equal(f->err.rc, rc);
    assert_true(strlen(f->err.text) > 0);
}

//  Decodes the hand-made frame in f->sb and expects rc.
static void
s_expect_raw(fixture_t *f, int rc)
{
    int got = msg_decode(&f->dec, f->sb.data, f->sb.size, &f->err);
    if (got != rc)
        fail_msg("expected %d, got %d (%s)", rc, got, f->err.text);
    msgpack_sbuffer_clear(&f->sb);
}

//  Starts a hand-made frame [version, type, ...] announcing nfields fields.
static void
s_raw_head(fixture_t *f, uint64_t version, uint64_t type, size_t nfields)
{
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 2 + nfields);
    msgpack_pack_uint64(&f->pk, version);
    msgpack_pack_uint64(&f->pk, type);
}

static void
s_pack_doubles(msgpack_packer *pk, const double *x, size_t n)
{
    msgpack_pack_bin(pk, 8 * n);
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        unsigned char b[8];
        memcpy(&u, &x[i], 8);
        for (int k = 0; k < 8; k++)
            b[k] = (unsigned char) (u >> (8 * k));
        msgpack_pack_bin_body(pk, b, 8);
    }
}

static void
s_pack_indices(msgpack_packer *pk, const uint32_t *idx, size_t n)
{
    msgpack_pack_bin(pk, 4 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned char b[4] = {(unsigned char) idx[i], (unsigned char) (idx[i] >> 8),
                              (unsigned char) (idx[i] >> 16), (unsigned char) (idx[i] >> 24)};
        msgpack_pack_bin_body(pk, b, 4);
    }
}

//  Makes m a RandK update: k coordinates spread over 0..dim-1, values j + 0.5.
static void
s_fill_sparse(msg_t *m, size_t dim, size_t k)
{
    m->type = MSG_UPDATE;
    m->round = 5;
    m->sender = 3;
    m->oracle_calls = 10;
    m->up.kind = CVEC_SPARSE;
    m->up.enc = CVEC_ENC_RAW;
    m->up.dim = dim;
    m->up.nnz = k;
    for (size_t j = 0; j < k; j++) {
        m->up.idx[j] = (uint32_t) (j * dim / k);
        m->up.val[j] = (double) j + 0.5;
    }
}

static void
s_fill_dense(msg_t *m, size_t dim)
{
    m->type = MSG_UPDATE;
    m->round = 5;
    m->sender = 3;
    m->oracle_calls = 10;
    m->up.kind = CVEC_DENSE;
    m->up.enc = CVEC_ENC_RAW;
    m->up.dim = dim;
    m->up.nnz = dim;
    for (size_t i = 0; i < dim; i++)
        m->up.val[i] = 1.0 / (double) (i + 1) - 0.25;
}

//  Makes m a LEVELS update by hand (s levels, blocks of t): sparse with 3 entries, or dense.
static void
s_fill_levels(msg_t *m, size_t dim, int sparse, uint32_t s, size_t t)
{
    cvec_t *up = &m->up;
    m->type = MSG_UPDATE;
    m->round = 5;
    m->sender = 3;
    m->oracle_calls = 10;
    up->enc = CVEC_ENC_LEVELS;
    up->s = s;
    up->t = t;
    up->dim = dim;
    for (size_t b = 0; b < (dim + t - 1) / t; b++)
        up->norm[b] = 1.5 + 0.1 * (double) b;
    up->kind = sparse ? CVEC_SPARSE : CVEC_DENSE;
    up->nnz = sparse ? (dim < 3 ? dim : 3) : dim;
    for (size_t j = 0; j < up->nnz; j++) {
        size_t i = sparse ? j * dim / up->nnz : j;
        up->idx[j] = (uint32_t) i;
        up->lev[j] = sparse ? (j % 2 ? -1 : 1) * (int32_t) (1 + j % s)
                            : (int32_t) (i % (2 * s + 1)) - (int32_t) s;
        up->val[j] = cvec_level_value(up->norm[i / t], up->lev[j], s);
    }
}

//  Makes m a POW2 update by hand: sparse with 3 entries, or dense with zeros, -0 and extremes.
static void
s_fill_pow2(msg_t *m, size_t dim, int sparse)
{
    static const double pows[] = {1.0, -0.5, 0x1p-1074, -0x1p1023, 0.0, 0x1p40, -0.0, 0x1p-30};
    cvec_t *up = &m->up;
    m->type = MSG_UPDATE;
    m->round = 5;
    m->sender = 3;
    m->oracle_calls = 10;
    up->enc = CVEC_ENC_POW2;
    up->dim = dim;
    up->kind = sparse ? CVEC_SPARSE : CVEC_DENSE;
    up->nnz = sparse ? (dim < 3 ? dim : 3) : dim;
    for (size_t j = 0; j < up->nnz; j++) {
        up->idx[j] = (uint32_t) (sparse ? j * dim / up->nnz : j);
        up->val[j] = pows[j % 8];
    }
}

static void
s_fill_g(msg_t *m)
{
    for (size_t i = 0; i < m->g.dim; i++)
        m->g.x[i] = (double) i * 1e-3 - 0.05;
}

//  --------------------------------------------------------------------------------------------
//  Every message type round-trips field for field.

static void
test_hello_round_trips(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_HELLO;
    f->enc.role = MSG_ROLE_RECORDER;
    f->enc.sender = 4000000000u;
    f->enc.pid = 12345;
    s_round_trip(f);
    assert_int_equal(f->dec.role, MSG_ROLE_RECORDER);
    assert_int_equal(f->dec.sender, 4000000000u);
    assert_int_equal(f->dec.pid, 12345);
}

static void
test_hello_carries_the_configuration_check(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_HELLO;
    f->enc.role = MSG_ROLE_WORKER;
    f->enc.sender = 3;
    f->enc.pid = 77;
    f->enc.cfg_digest = UINT64_MAX;
    f->enc.shard_fp = 0x8000000000000001ull;
    f->enc.cfg_text = "method=marina\nk=10\n";
    s_round_trip(f);
    assert_true(f->dec.cfg_digest == UINT64_MAX);
    assert_true(f->dec.shard_fp == 0x8000000000000001ull);
    assert_string_equal(f->dec.cfg_text, "method=marina\nk=10\n");
    f->enc.cfg_text = NULL;  // the recorder's: sent as ""
    s_round_trip(f);
    assert_string_equal(f->dec.cfg_text, "");
}

static void
test_refuse_round_trips(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_REFUSE;
    f->enc.role = MSG_ROLE_WORKER;
    f->enc.sender = 1;
    f->enc.pid = 4242;
    f->enc.reason = "k = 5 (server: 10)";
    s_round_trip(f);
    assert_int_equal(f->dec.type, MSG_REFUSE);
    assert_int_equal(f->dec.sender, 1);
    assert_int_equal(f->dec.pid, 4242);
    assert_string_equal(f->dec.reason, "k = 5 (server: 10)");
}

//  A bad field still names the peer and the round, when those fields are valid.
static void
test_field_errors_name_the_sender_and_round(void **state)
{
    fixture_t *f = *state;
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 7);               // round
    msgpack_pack_uint8(&f->pk, 3);               // sender
    msgpack_pack_str_with_body(&f->pk, "x", 1);  // kind: not an integer
    msgpack_pack_uint8(&f->pk, 40);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "update from worker 3, round 7: 'kind' is a str"));
    s_raw_head(f, MSG_VERSION, MSG_METRICS, 4);
    msgpack_pack_str_with_body(&f->pk, "7", 1);  // round: invalid, so not named
    msgpack_pack_uint8(&f->pk, 2);
    msgpack_pack_double(&f->pk, 1.0);
    msgpack_pack_nil(&f->pk);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "metrics from worker 2: 'round' is a str"));
}

static void
test_ready_round_trips(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_READY;
    f->enc.role = MSG_ROLE_ATTACKER;
    f->enc.sender = 17;
    s_round_trip(f);
    assert_int_equal(f->dec.role, MSG_ROLE_ATTACKER);
    assert_int_equal(f->dec.sender, 17);
}

static void
test_ping_round_trips(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_PING;
    f->enc.seq = UINT64_MAX;
    s_round_trip(f);
    assert_true(f->dec.seq == UINT64_MAX);
}

//  The recorder's acknowledgement, and the checkpoint messages: their state bytes arrive as sent
//  (every byte value, and none), and a ROUND's checkpoint flag survives.
static void
test_ack_state_checkpoint_round_trip(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_ACK;
    f->enc.round = UINT64_MAX - 1;
    f->enc.done = 1;
    s_round_trip(f);
    assert_true(f->dec.round == UINT64_MAX - 1);
    assert_int_equal(f->dec.done, 1);
    uint8_t bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t) (255 - i);
    for (int type = MSG_STATE; type <= MSG_CHECKPOINT; type++) {
        for (size_t len = 0; len <= sizeof bytes; len += sizeof bytes) {
            f->enc.type = (msg_type_t) type;
            f->enc.sender = 9;
            f->enc.round = 41;
            f->enc.blob = bytes;
            f->enc.blob_len = len;
            s_round_trip(f);
            assert_int_equal(f->dec.round, 41);
            if (type == MSG_STATE)
                assert_int_equal(f->dec.sender, 9);
            assert_int_equal(f->dec.blob_len, len);
            assert_true(len == 0 || memcmp(f->dec.blob, bytes, len) == 0);
        }
    }
    f->enc.blob = NULL;
    f->enc.blob_len = 0;
    f->enc.type = MSG_ROUND;
    f->enc.round = 0;
    f->enc.checkpoint = 1;
    s_round_trip(f);
    assert_int_equal(f->dec.checkpoint, 1);
    f->enc.checkpoint = 0;
    s_round_trip(f);
    assert_int_equal(f->dec.checkpoint, 0);
}

static void
test_round_zero_has_nil_g(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_ROUND;
    f->enc.seq = 9;
    f->enc.round = 0;
    f->enc.coin = 1;
    f->enc.has_g = 0;
    assert_int_equal(msg_set_part(&f->enc, NULL, 0), MR_OK);  // every worker
    s_round_trip(f);
    assert_int_equal(f->dec.seq, 9);
    assert_int_equal(f->dec.round, 0);
    assert_int_equal(f->dec.coin, 1);
    assert_int_equal(f->dec.has_g, 0);
    assert_int_equal(f->dec.all_part, 1);
    assert_int_equal(f->dec.npart, 0);
    //  [5, 4, 9, 0, true, nil, nil, nil, nil, 0, false, false]: header + twelve one-byte objects
    assert_int_equal(f->buf.size, 13);
}

//  A ROUND whose g travels as a patch: the receiver's previous g with the patch applied is the
//  sender's g bit for bit, and its digest is the one the frame carries.
static void
test_round_patch_rebuilds_g_bit_for_bit(void **state)
{
    fixture_t *f = *state;
    vec_t prev, mine;
    assert_int_equal(vec_init(&prev, D), MR_OK);
    assert_int_equal(vec_init(&mine, D), MR_OK);
    for (size_t j = 0; j < D; j++)
        prev.x[j] = 0.1 * (double) j;
    f->enc.type = MSG_ROUND;
    f->enc.seq = 8;
    f->enc.round = 7;
    f->enc.has_g = 1;
    vec_copy(&f->enc.g, &prev);
    f->enc.g.x[3] = 1.0 / 3.0;
    f->enc.g.x[50] = -0.0;  // -0 differs from 0 bit for bit: it travels
    f->enc.g.x[D - 1] = 1e300;
    prev.x[50] = 0.0;
    vec_copy(&mine, &prev);  // the receiver holds the previous g
    f->enc.g_digest = msg_g_digest(&f->enc.g);
    assert_int_equal(msg_g_patch_build(&f->enc, &prev), MR_OK);
    assert_int_equal(f->enc.gp_nnz, 3);
    f->enc.g_patch = 1;
    assert_int_equal(msg_set_part(&f->enc, NULL, 0), MR_OK);
    s_round_trip(f);
    assert_int_equal(f->dec.has_g, 1);
    assert_int_equal(f->dec.g_patch, 1);
    assert_int_equal(f->dec.gp_nnz, 3);
    assert_int_equal(f->dec.gp_idx[0], 3);
    assert_int_equal(f->dec.gp_idx[1], 50);
    assert_int_equal(f->dec.gp_idx[2], D - 1);
    uint64_t h = msg_g_digest(&mine);  // the receiver's digest of its previous g
    assert_true(h != f->dec.g_digest);
    assert_int_equal(msg_g_patch_apply(&f->dec, &mine, &h), MR_OK);
    assert_memory_equal(mine.x, f->enc.g.x, D * sizeof(double));
    assert_true(msg_g_digest(&mine) == f->dec.g_digest);
    assert_true(h == f->dec.g_digest);      // updated entry by entry, equal to the whole sum
    mine.x[0] = nextafter(mine.x[0], 1.0);  // one ulp off: another digest
    assert_true(msg_g_digest(&mine) != f->dec.g_digest);
    mine.x[0] = f->enc.g.x[1];  // two coordinates swapped: another digest
    mine.x[1] = f->enc.g.x[0];
    assert_true(f->enc.g.x[0] != f->enc.g.x[1]);
    assert_true(msg_g_digest(&mine) != f->dec.g_digest);
    vec_fini(&prev);
    vec_fini(&mine);
}

//  Packs a ROUND (round 3) whose patch is idx (nidx uint32) and val (nval doubles), g as given.
static void
s_raw_round_patch(
    fixture_t *f, int dense_g, const uint32_t *idx, size_t nidx, const double *val, size_t nval)
{
    s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
    msgpack_pack_uint8(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 3);
    msgpack_pack_false(&f->pk);
    if (dense_g) {
        double g[D] = {0};
        msgpack_pack_bin_with_body(&f->pk, g, sizeof g);
    } else {
        msgpack_pack_nil(&f->pk);
    }
    msgpack_pack_nil(&f->pk);
    msgpack_pack_bin_with_body(&f->pk, idx, 4 * nidx);
    msgpack_pack_bin_with_body(&f->pk, val, 8 * nval);
    msgpack_pack_uint64(&f->pk, 12345);
    msgpack_pack_false(&f->pk);
    msgpack_pack_false(&f->pk);
}

//  msg_g_update, the sender's one pass, gives what the separate steps give: g copied, the patch of
//  msg_g_patch_build against the previous g, and msg_g_digest of g, round after round.
static void
test_g_update_equals_copy_patch_and_digest(void **state)
{
    (void) state;
    msg_t m, ref;
    vec_t g, prev;
    assert_int_equal(msg_init(&m, D), MR_OK);
    assert_int_equal(msg_init(&ref, D), MR_OK);
    assert_int_equal(vec_init(&g, D), MR_OK);
    assert_int_equal(vec_init(&prev, D), MR_OK);
    uint64_t digest = 0;
    for (int k = 0; k < 6; k++) {
        vec_copy(&prev, &g);
        for (size_t j = (size_t) k; j < D; j += 7)  // a few coordinates change each round
            g.x[j] = k == 3 && j == 3 ? -0.0 : 0.5 * (double) (j + 1) / (double) (k + 1);
        assert_int_equal(msg_g_update(&m, &g, k > 0, 1, &digest), MR_OK);
        assert_memory_equal(m.g.x, g.x, D * sizeof(double));
        assert_true(m.g_digest == msg_g_digest(&g));
        assert_true(digest == m.g_digest);
        if (k == 0) {
            assert_int_equal(m.gp_nnz, 0);
            continue;
        }
        vec_copy(&ref.g, &g);
        assert_int_equal(msg_g_patch_build(&ref, &prev), MR_OK);
        assert_true(ref.gp_nnz > 0);
        assert_int_equal(m.gp_nnz, ref.gp_nnz);
        assert_memory_equal(m.gp_idx, ref.gp_idx, ref.gp_nnz * sizeof *ref.gp_idx);
        assert_memory_equal(m.gp_val, ref.gp_val, ref.gp_nnz * sizeof *ref.gp_val);
    }
    msg_fini(&m);
    msg_fini(&ref);
    vec_fini(&g);
    vec_fini(&prev);
}

//  msg_g_update_marked, told the changed coordinates and some unchanged ones, gives
//  msg_g_update's g, patch and digest, and clears the marks.
static void
test_g_update_marked_equals_g_update(void **state)
{
    (void) state;
    msg_t m, mk;
    vec_t g;
    assert_int_equal(msg_init(&m, D), MR_OK);
    assert_int_equal(msg_init(&mk, D), MR_OK);
    assert_int_equal(vec_init(&g, D), MR_OK);
    uint64_t marks[MARKS_WORDS(D)] = {0}, digest = 0, digest_k = 0;
    assert_int_equal(msg_g_update(&m, &g, 0, 1, &digest), MR_OK);
    assert_int_equal(msg_g_update(&mk, &g, 0, 1, &digest_k), MR_OK);
    for (int k = 1; k < 6; k++) {
        for (size_t j = (size_t) k; j < D; j += 7) {
            g.x[j] = k == 3 && j == 3 ? -0.0 : 0.5 * (double) (j + 1) / (double) (k + 1);
            marks_set(marks, j);
        }
        for (size_t j = 0; j < D; j += 11)  // unchanged ones (or changed: marked twice)
            marks_set(marks, j);
        assert_int_equal(msg_g_update(&m, &g, 1, 1, &digest), MR_OK);
        assert_int_equal(msg_g_update_marked(&mk, &g, marks, 1, &digest_k), MR_OK);
        for (size_t w = 0; w < MARKS_WORDS(D); w++)
            assert_true(marks[w] == 0);
        assert_memory_equal(mk.g.x, g.x, D * sizeof(double));
        assert_true(digest_k == digest && mk.g_digest == m.g_digest);
        assert_true(m.gp_nnz > 0);
        assert_int_equal(mk.gp_nnz, m.gp_nnz);
        assert_memory_equal(mk.gp_idx, m.gp_idx, m.gp_nnz * sizeof *m.gp_idx);
        assert_memory_equal(mk.gp_val, m.gp_val, m.gp_nnz * sizeof *m.gp_val);
    }
    msg_fini(&m);
    msg_fini(&mk);
    vec_fini(&g);
}

static void
test_decode_rejects_bad_patches(void **state)
{
    fixture_t *f = *state;
    const uint32_t ok[2] = {1, 5};
    const double v[2] = {1.0, 2.0};
    s_raw_round_patch(f, 0, ok, 2, v, 2);
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.g_patch, 1);
    assert_int_equal(f->dec.gp_nnz, 2);
    assert_true(f->dec.g_digest == 12345);
    s_raw_round_patch(f, 1, ok, 2, v, 2);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "round 3: g travels both dense and as a patch"));
    s_raw_round_patch(f, 0, ok, 2, v, 1);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "not n uint32 and n doubles"));
    const uint32_t down[2] = {5, 1};
    s_raw_round_patch(f, 0, down, 2, v, 2);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "not increasing (1 after 5)"));
    const uint32_t twice[2] = {5, 5};
    s_raw_round_patch(f, 0, twice, 2, v, 2);
    s_expect_raw(f, MR_EMALFORMED);
    const uint32_t out[2] = {1, D};
    s_raw_round_patch(f, 0, out, 2, v, 2);
    s_expect_raw(f, MR_EDIM);
    assert_non_null(strstr(f->err.text, "patch index 113"));
    const double nan[2] = {1.0, NAN};
    s_raw_round_patch(f, 0, ok, 2, nan, 2);
    s_expect_raw(f, MR_ENONFINITE);
    assert_string_equal(f->err.text, "round 3: patch: coordinate 5 is NaN");
    //  A dense g with an infinite coordinate (the label is formatted only for such an error).
    double g[D] = {0};
    g[7] = -INFINITY;
    s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
    msgpack_pack_uint8(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 3);
    msgpack_pack_false(&f->pk);
    msgpack_pack_bin_with_body(&f->pk, g, sizeof g);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_uint64(&f->pk, 12345);
    msgpack_pack_false(&f->pk);
    msgpack_pack_false(&f->pk);
    s_expect_raw(f, MR_ENONFINITE);
    assert_string_equal(f->err.text, "round 3: g: coordinate 7 is -Inf");
}

static void
test_round_k_carries_g(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_ROUND;
    f->enc.seq = 1000;
    f->enc.round = 77;
    f->enc.coin = 0;
    f->enc.has_g = 1;
    s_fill_g(&f->enc);
    f->enc.g.x[3] = -0.0;
    f->enc.g.x[4] = 5e-324;  // subnormals travel bit-exactly too
    assert_int_equal(msg_set_part(&f->enc, NULL, 0), MR_OK);
    f->dec.has_g = 0;
    s_round_trip(f);
    assert_int_equal(f->dec.round, 77);
    assert_int_equal(f->dec.coin, 0);
    assert_int_equal(f->dec.has_g, 1);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
}

//  Fills a ROUND of round k with g, coin 0 and the participants ids[0..n) (NULL: every worker).
static void
s_fill_round(msg_t *m, uint64_t k, const uint32_t *ids, size_t n)
{
    m->type = MSG_ROUND;
    m->seq = k + 1;
    m->round = k;
    m->coin = 0;
    m->has_g = 1;
    s_fill_g(m);
    assert_int_equal(msg_set_part(m, ids, n), MR_OK);
}

static void
test_round_carries_participants(void **state)
{
    fixture_t *f = *state;
    //  Every worker (nil): a decode into a msg_t that held a list forgets the list.
    const uint32_t old[] = {1, 2};
    assert_int_equal(msg_set_part(&f->dec, old, 2), MR_OK);
    s_fill_round(&f->enc, 3, NULL, 0);
    s_round_trip(f);
    assert_int_equal(f->dec.all_part, 1);
    assert_int_equal(f->dec.npart, 0);
    assert_int_equal(f->dec.has_g, 1);

    //  PP-MARINA's r = 7 i.i.d. draws from n = 20 workers, sorted, repeats kept: 5 drawn three
    //  times, 2 twice. The ids travel in order, repeats included.
    const uint32_t drawn[] = {0, 2, 2, 5, 5, 5, 19};
    s_fill_round(&f->enc, 4, drawn, 7);
    s_round_trip(f);
    assert_int_equal(f->dec.round, 4);
    assert_int_equal(f->dec.all_part, 0);
    assert_int_equal(f->dec.npart, 7);
    assert_memory_equal(f->dec.part, drawn, sizeof drawn);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));

    //  A shorter list after a longer one, the largest id, one worker, and an empty list (nobody:
    //  not the same as nil).
    const uint32_t big[] = {7, UINT32_MAX};
    s_fill_round(&f->enc, 5, big, 2);
    s_round_trip(f);
    assert_int_equal(f->dec.npart, 2);
    assert_true(f->dec.part[1] == UINT32_MAX);
    s_fill_round(&f->enc, 6, drawn + 3, 1);
    s_round_trip(f);
    assert_int_equal(f->dec.npart, 1);
    assert_int_equal(f->dec.part[0], 5);
    s_fill_round(&f->enc, 7, drawn, 0);
    s_round_trip(f);
    assert_int_equal(f->dec.all_part, 0);
    assert_int_equal(f->dec.npart, 0);

    //  Round 0 with a list and no g: the fields are independent.
    s_fill_round(&f->enc, 0, drawn, 3);
    f->enc.has_g = 0;
    s_round_trip(f);
    assert_int_equal(f->dec.has_g, 0);
    assert_int_equal(f->dec.npart, 3);
    assert_memory_equal(f->dec.part, drawn, 3 * sizeof drawn[0]);
}

//  Ends a raw ROUND after its part: nil patch_idx, nil patch_val, digest 0, metrics true.
static void
s_raw_round_tail(fixture_t *f)
{
    msgpack_pack_nil(&f->pk);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_true(&f->pk);
    msgpack_pack_false(&f->pk);
}

//  Packs [1, 4, seq 1, round 1, coin false, nil g, part, nil, nil, 0] with part a bin of the given bytes.
static void
s_raw_round_part(fixture_t *f, const void *part, size_t nbytes)
{
    s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_false(&f->pk);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_bin_with_body(&f->pk, part, nbytes);
    s_raw_round_tail(f);
}

static void
test_decode_rejects_unsorted_or_ragged_participants(void **state)
{
    fixture_t *f = *state;
    //  msg_set_part() takes the ids as given; the receiver checks the order.
    const uint32_t down[] = {0, 4, 3};
    s_fill_round(&f->enc, 9, down, 3);
    s_expect_reject(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "round 9"));
    assert_non_null(strstr(f->err.text, "not sorted (3 after 4)"));
    const uint32_t wrap[] = {UINT32_MAX, 0};
    s_fill_round(&f->enc, 9, wrap, 2);
    s_expect_reject(f, MR_EMALFORMED);

    //  Little-endian ids {1, 1, 2}: fine; the same bytes one short, or one long, are not.
    const unsigned char ids[] = {1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0};
    s_raw_round_part(f, ids, 12);
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.npart, 3);
    assert_int_equal(f->dec.part[2], 2);
    const size_t ragged[] = {11, 13, 1, 3};
    for (size_t i = 0; i < sizeof ragged / sizeof ragged[0]; i++) {
        s_raw_round_part(f, ids, ragged[i]);
        s_expect_raw(f, MR_EMALFORMED);
        assert_non_null(strstr(f->err.text, "not a whole number of uint32 ids"));
    }
    //  Big-endian 1 (= 2^24 little-endian) before 2: unsorted.
    const unsigned char be[] = {0, 0, 0, 1, 2, 0, 0, 0};
    s_raw_round_part(f, be, 8);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "not sorted"));
}

static void
test_dense_update_round_trips(void **state)
{
    fixture_t *f = *state;
    s_fill_dense(&f->enc, D);
    s_round_trip(f);
    assert_int_equal(f->dec.round, 5);
    assert_int_equal(f->dec.sender, 3);
    assert_int_equal(f->dec.oracle_calls, 10);
    assert_int_equal(f->dec.up.kind, CVEC_DENSE);
    assert_int_equal(f->dec.up.dim, D);
    assert_int_equal(f->dec.up.nnz, D);
    assert_memory_equal(f->dec.up.val, f->enc.up.val, D * sizeof(double));
}

static void
test_sparse_update_round_trips(void **state)
{
    fixture_t *f = *state;
    size_t ks[] = {10, 0, 1, D};  // RandK, an all-zero update, one entry, every coordinate
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        s_fill_sparse(&f->enc, D, ks[t]);
        s_round_trip(f);
        assert_int_equal(f->dec.up.kind, CVEC_SPARSE);
        assert_int_equal(f->dec.up.dim, D);
        assert_int_equal(f->dec.up.nnz, ks[t]);
        for (size_t j = 0; j < ks[t]; j++) {
            assert_int_equal(f->dec.up.idx[j], f->enc.up.idx[j]);
            assert_true(f->dec.up.val[j] == f->enc.up.val[j]);
        }
    }
}

//  The decoded update is the sent one: same kind, encoding and nnz, the same indices, and every
//  value equal bit for bit (so the server aggregates exactly what the worker computed).
static void
s_assert_same_update(const cvec_t *a, const cvec_t *b)
{
    assert_int_equal(b->kind, a->kind);
    assert_int_equal(b->enc, a->enc);
    assert_int_equal(b->dim, a->dim);
    assert_int_equal(b->nnz, a->nnz);
    assert_memory_equal(b->val, a->val, a->nnz * sizeof *a->val);
    if (a->kind == CVEC_SPARSE && a->nnz > 0)
        assert_memory_equal(b->idx, a->idx, a->nnz * sizeof *a->idx);
    if (a->enc == CVEC_ENC_LEVELS) {
        assert_int_equal(b->s, a->s);
        assert_int_equal(b->t, a->t);
        assert_memory_equal(b->norm, a->norm, (a->dim + a->t - 1) / a->t * sizeof *a->norm);
        if (a->nnz > 0)
            assert_memory_equal(b->lev, a->lev, a->nnz * sizeof *a->lev);
    }
}

static void
test_compressed_updates_round_trip_bit_for_bit(void **state)
{
    fixture_t *f = *state;
    //  Real compressor outputs: every quantizer, on a dense Gaussian vector and on one that is
    //  mostly zero, so that each encoding travels both dense and sparse.
    const comp_cfg_t cfgs[] = {
        {.kind = COMP_DITHER, .s = 1},
        {.kind = COMP_DITHER, .s = 5},
        {.kind = COMP_DITHER, .s = 200},
        {.kind = COMP_BLOCK, .s = 2, .t = 16},
        {.kind = COMP_BLOCK, .s = 1, .t = 1},
        {.kind = COMP_TERNARY},
        {.kind = COMP_NATURAL},
        {.kind = COMP_TOPK, .k = 10},
        {.kind = COMP_RANDK, .k = 10},
        {.kind = COMP_IDENTITY},
    };
    int seen[3][2] = {{0}};  // [enc][kind]
    vec_t x;
    rng_t r;
    assert_int_equal(vec_init(&x, D), MR_OK);
    rng_seed(&r, 2024, 0);
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        comp_t c;
        assert_int_equal(comp_init(&c, &cfgs[k], D, NULL), MR_OK);
        for (int trial = 0; trial < 40; trial++) {
            for (size_t i = 0; i < D; i++)
                x.x[i] = trial % 2 && i % 9 ? 0.0 : rng_normal(&r) * exp(rng_normal(&r));
            f->enc.type = MSG_UPDATE;
            f->enc.round = (uint64_t) trial;
            comp_apply(&c, &x, &r, &f->enc.up);
            s_round_trip(f);
            s_assert_same_update(&f->enc.up, &f->dec.up);
            seen[f->enc.up.enc][f->enc.up.kind]++;
        }
        comp_fini(&c);
    }
    for (int e = 0; e < 3; e++)
        for (int kind = 0; kind < 2; kind++)
            if (!seen[e][kind])
                fail_msg("encoding %d never travelled %s", e, kind ? "sparse" : "dense");
    vec_fini(&x);

    //  Hand-made extremes: powers of two from 2^-1074 to 2^1023 and -0.0; levels with s = 2^24,
    //  blocks of one coordinate, an all-zero sparse update.
    s_fill_pow2(&f->enc, D, 0);
    s_round_trip(f);
    s_assert_same_update(&f->enc.up, &f->dec.up);
    assert_true(signbit(f->dec.up.val[6]) && f->dec.up.val[6] == 0.0);
    s_fill_levels(&f->enc, D, 0, CVEC_MAX_LEVELS, 1);
    s_round_trip(f);
    s_assert_same_update(&f->enc.up, &f->dec.up);
    s_fill_levels(&f->enc, D, 1, 1, D);
    f->enc.up.nnz = 0;
    s_round_trip(f);
    s_assert_same_update(&f->enc.up, &f->dec.up);
    s_fill_pow2(&f->enc, D, 1);
    f->enc.up.nnz = 0;
    s_round_trip(f);
    s_assert_same_update(&f->enc.up, &f->dec.up);
    //  d = 1: an index takes 0 bits, so a sparse update's idx bin is empty.
    msg_t one, back;
    assert_int_equal(msg_init(&one, 1), MR_OK);
    assert_int_equal(msg_init(&back, 1), MR_OK);
    for (int sparse = 0; sparse <= 1; sparse++) {
        s_fill_levels(&one, 1, sparse, 2, 1);
        assert_int_equal(msg_encode(&one, &f->buf), MR_OK);
        assert_int_equal(msg_decode(&back, f->buf.data, f->buf.size, &f->err), MR_OK);
        s_assert_same_update(&one.up, &back.up);
    }
    msg_fini(&one);
    msg_fini(&back);
}

static void
test_encode_rejects_an_inconsistent_compact_update(void **state)
{
    fixture_t *f = *state;
    s_fill_levels(&f->enc, D, 0, 3, 10);
    f->enc.up.val[7] *= 0.5;  // a caller scaled val after comp_apply(): levels no longer match
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_EINVAL);
    s_fill_levels(&f->enc, D, 0, 3, 10);
    f->enc.up.lev[0] = 4;  // outside [-s, s]
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_EINVAL);
    s_fill_levels(&f->enc, D, 0, 3, 10);
    f->enc.up.t = 0;  // no block length
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_EINVAL);
    s_fill_pow2(&f->enc, D, 0);
    f->enc.up.val[3] = 3.0;  // not a power of two
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_EINVAL);
    s_fill_pow2(&f->enc, D, 1);
    f->enc.up.idx[2] = D;  // would be cut to 7 bits
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_EINVAL);
}

static void
test_metrics_round_trips(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_METRICS;
    f->enc.round = 12;
    f->enc.sender = 2;
    f->enc.f = 0.693147;
    s_fill_g(&f->enc);
    s_round_trip(f);
    assert_int_equal(f->dec.round, 12);
    assert_int_equal(f->dec.sender, 2);
    assert_true(f->dec.f == 0.693147);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
}

//  JOIN carries the admitted process (id and pid), its first round and x^{k-1} bit for bit; an x
//  with a NaN or of another length is refused.
static void
test_join_round_trips_and_refuses_a_bad_iterate(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_JOIN;
    f->enc.sender = 3;
    f->enc.pid = 4242;
    f->enc.round = 7523;
    s_fill_g(&f->enc);
    f->enc.g.x[5] = -0.0;
    s_round_trip(f);
    assert_int_equal(f->dec.sender, 3);
    assert_int_equal(f->dec.pid, 4242);
    assert_true(f->dec.round == 7523);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
    assert_string_equal(msg_type_name(MSG_JOIN), "join");
    f->enc.g.x[7] = NAN;
    s_expect_reject(f, MR_ENONFINITE);
    assert_non_null(strstr(f->err.text, "join"));
    s_fill_g(&f->enc);
    f->enc.g.dim = D - 1;  // one value short
    s_expect_reject(f, MR_EDIM);
    f->enc.g.dim = D;
}

//  An UPDATE that carries its sender's METRICS: both decode, and the frame is the plain UPDATE's
//  bytes (but for the array's length) followed by the metrics, whose bytes the decoder reports.
static void
test_update_with_metrics_round_trips(void **state)
{
    fixture_t *f = *state;
    s_fill_sparse(&f->enc, D, 10);
    msg_buf_t plain = {0};
    assert_int_equal(msg_encode(&f->enc, &plain), MR_OK);
    f->enc.with_metrics = 1;
    f->enc.f = 0.693147;
    s_fill_g(&f->enc);
    s_round_trip(f);
    assert_true(f->dec.with_metrics);
    assert_int_equal(f->dec.round, f->enc.round);
    assert_int_equal(f->dec.sender, f->enc.sender);
    assert_int_equal(f->dec.up.nnz, 10);
    for (size_t j = 0; j < 10; j++)
        assert_true(f->dec.up.val[j] == f->enc.up.val[j]);
    assert_true(f->dec.f == 0.693147);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
    assert_int_equal(f->dec.metrics_bytes, f->buf.size - plain.size);
    assert_int_equal(f->dec.metrics_bytes, 9 + 3 + 8 * D);  // float64, bin 16 of 8 d bytes
    assert_memory_equal(f->buf.data + 1, plain.data + 1, plain.size - 1);
    //  Decoding the plain UPDATE into the same msg_t says it carries none.
    assert_int_equal(msg_decode(&f->dec, plain.data, plain.size, &f->err), MR_OK);
    assert_false(f->dec.with_metrics);
    assert_int_equal(f->dec.metrics_bytes, 0);
    //  The metrics are checked as a METRICS's are: a non-finite f is refused.
    f->enc.f = NAN;
    s_expect_reject(f, MR_ENONFINITE);
    f->enc.with_metrics = 0;
    msg_buf_fini(&plain);
}

//  A BUNDLE carries whole frames; the decoder points at each inside the bundle's frame.
static void
test_bundle_round_trips(void **state)
{
    fixture_t *f = *state;
    msg_buf_t inner[2] = {{0}, {0}};
    s_fill_sparse(&f->enc, D, 10);
    assert_int_equal(msg_encode(&f->enc, &inner[0]), MR_OK);
    f->enc.type = MSG_METRICS;
    f->enc.f = 1.25;
    s_fill_g(&f->enc);
    assert_int_equal(msg_encode(&f->enc, &inner[1]), MR_OK);
    f->enc.type = MSG_BUNDLE;
    f->enc.batch_data = calloc(2, sizeof *f->enc.batch_data);  // owned (msg_fini frees them)
    f->enc.batch_size = calloc(2, sizeof *f->enc.batch_size);
    assert_non_null(f->enc.batch_data);
    assert_non_null(f->enc.batch_size);
    f->enc.batch_cap = 2;
    for (size_t j = 0; j < 2; j++) {
        f->enc.batch_data[j] = inner[j].data;
        f->enc.batch_size[j] = inner[j].size;
    }
    f->enc.nbatch = 2;
    s_round_trip(f);
    assert_int_equal(f->dec.nbatch, 2);
    msg_t one;
    assert_int_equal(msg_init(&one, D), MR_OK);
    for (size_t j = 0; j < 2; j++) {
        assert_int_equal(f->dec.batch_size[j], inner[j].size);
        assert_memory_equal(f->dec.batch_data[j], inner[j].data, inner[j].size);
        assert_true(f->dec.batch_data[j] > f->buf.data &&
                    f->dec.batch_data[j] + f->dec.batch_size[j] <= f->buf.data + f->buf.size);
        assert_int_equal(msg_decode(&one, f->dec.batch_data[j], f->dec.batch_size[j], &f->err),
                         MR_OK);
        assert_int_equal(one.type, j == 0 ? MSG_UPDATE : MSG_METRICS);
    }
    msg_fini(&one);
    //  An empty bundle is valid; an element that is no bin, or an empty bin, is not.
    f->enc.nbatch = 0;
    s_round_trip(f);
    assert_int_equal(f->dec.nbatch, 0);
    for (int bad = 0; bad < 2; bad++) {
        s_raw_head(f, MSG_VERSION, MSG_BUNDLE, 1);
        msgpack_pack_array(&f->pk, 2);
        msgpack_pack_bin(&f->pk, inner[0].size);
        msgpack_pack_bin_body(&f->pk, inner[0].data, inner[0].size);
        if (bad == 0)
            msgpack_pack_uint8(&f->pk, 7);
        else
            msgpack_pack_bin(&f->pk, 0);
        s_expect_raw(f, MR_EMALFORMED);
        assert_non_null(strstr(f->err.text, "bundle: frame 1"));
    }
    s_raw_head(f, MSG_VERSION, MSG_BUNDLE, 1);
    msgpack_pack_bin(&f->pk, 3);
    msgpack_pack_bin_body(&f->pk, "abc", 3);
    s_expect_raw(f, MR_EMALFORMED);
    msg_buf_fini(&inner[0]);
    msg_buf_fini(&inner[1]);
}

//  A METRICS of worker 1, round 4, whose gradient is +0.0 but at 3 (1.25), 40 (-0.0) and 112
//  (-7e-300) into f->enc.
static void
s_sparse_metrics(fixture_t *f)
{
    f->enc.type = MSG_METRICS;
    f->enc.round = 4;
    f->enc.sender = 1;
    f->enc.f = 0.5;
    memset(f->enc.g.x, 0, D * sizeof(double));
    f->enc.g.x[3] = 1.25;
    f->enc.g.x[40] = -0.0;
    f->enc.g.x[112] = -7e-300;
}

//  A metrics gradient with few coordinates off +0.0 travels sparse (12 bytes an entry) and comes
//  back bit for bit (a -0.0 included), in a METRICS and inside an UPDATE; a dense one stays 8 d.
//  A sparse form with coordinates out of order, out of range, a NaN or a ragged length is refused.
static void
test_a_sparse_metrics_gradient_travels_sparse_and_exact(void **state)
{
    fixture_t *f = *state;
    s_sparse_metrics(f);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t sparse_size = f->buf.size;
    s_round_trip(f);
    assert_int_equal(f->dec.mg_sparse, 1);
    assert_int_equal(f->dec.mg_nnz, 3);  // 3, 40 (-0.0) and 112
    assert_true(f->dec.mg_idx[1] == 40 && signbit(f->dec.mg_val[1]));
    //  The decoded message encodes to the same bytes, its sparse gradient included (found by
    //  fuzz_msg on 2026-12-03: it encoded g, which a sparse decode leaves unwritten).
    msg_buf_t again = {0};
    assert_int_equal(msg_encode(&f->dec, &again), MR_OK);
    assert_int_equal(again.size, f->buf.size);
    assert_memory_equal(again.data, f->buf.data, again.size);
    msg_buf_fini(&again);
    msg_metrics_dense(&f->dec);
    assert_int_equal(f->dec.mg_sparse, 0);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
    s_fill_g(&f->enc);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    assert_true(f->buf.size >= sparse_size + 8 * D - 3 * 12);  // dense: 8 d bytes
    s_round_trip(f);
    assert_int_equal(f->dec.mg_sparse, 0);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
    //  Inside an UPDATE.
    memset(f->enc.g.x, 0, D * sizeof(double));
    f->enc.g.x[7] = 2.0;
    f->enc.type = MSG_UPDATE;
    s_fill_sparse(&f->enc, D, 3);
    f->enc.with_metrics = 1;
    s_round_trip(f);
    assert_int_equal(f->dec.with_metrics, 1);
    assert_int_equal(f->dec.mg_sparse, 1);
    assert_int_equal(msg_encode(&f->dec, &again), MR_OK);
    assert_int_equal(again.size, f->buf.size);
    assert_memory_equal(again.data, f->buf.data, again.size);
    msg_buf_fini(&again);
    msg_metrics_dense(&f->dec);
    assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
    f->enc.with_metrics = 0;
    //  Hand-made sparse forms: [round, sender, f, grad] with grad = idx then values.
    struct {
        uint32_t idx[2];
        double val[2];
        size_t len;
        int rc;
    } bad[] = {
        {{5, 5}, {1.0, 2.0}, 24, MR_EMALFORMED},  // not increasing
        {{5, D}, {1.0, 2.0}, 24, MR_EDIM},        // out of range
        {{5, 6}, {1.0, NAN}, 24, MR_ENONFINITE},  // NaN
        {{5, 6}, {1.0, 2.0}, 23, MR_EDIM},        // ragged
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        unsigned char bytes[24];
        memcpy(bytes, bad[t].idx, 8);  // little-endian hosts only (the CI's)
        memcpy(bytes + 8, bad[t].val, 16);
        s_raw_head(f, MSG_VERSION, MSG_METRICS, 4);
        msgpack_pack_uint64(&f->pk, 4);
        msgpack_pack_uint32(&f->pk, 1);
        msgpack_pack_double(&f->pk, 0.5);
        msgpack_pack_bin_with_body(&f->pk, bytes, bad[t].len);
        s_expect_raw(f, bad[t].rc);
        assert_non_null(strstr(f->err.text, "metrics from worker 1, round 4: grad"));
    }
}

//  With g_cols (the coordinates outside which g is +0.0) the encoder reads only those and writes
//  the same bytes as the full scan, sparse (a -0.0 and +0.0 entries among the columns) and dense.
static void
test_a_metrics_gradient_with_its_columns_encodes_the_same_bytes(void **state)
{
    fixture_t *f = *state;
    s_sparse_metrics(f);
    static const uint32_t cols[] = {2, 3, 40, 41, 112};  // 2 and 41 hold +0.0
    msg_buf_t plain = {0};
    for (int dense = 0; dense < 2; dense++) {
        if (dense)  // every column listed, most of them non-zero: 8 d bytes
            for (size_t j = 0; j < D; j++)
                f->enc.g.x[j] = (double) j + 0.5;
        static uint32_t all[D];
        for (uint32_t j = 0; j < D; j++)
            all[j] = j;
        f->enc.g_cols = NULL;
        f->enc.g_ncols = 0;
        assert_int_equal(msg_encode(&f->enc, &plain), MR_OK);
        f->enc.g_cols = dense ? all : cols;
        f->enc.g_ncols = dense ? D : sizeof cols / sizeof cols[0];
        assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
        assert_int_equal(f->buf.size, plain.size);
        assert_memory_equal(f->buf.data, plain.data, plain.size);
        s_round_trip(f);
        assert_int_equal(f->dec.mg_sparse, !dense);
        msg_metrics_dense(&f->dec);
        assert_memory_equal(f->dec.g.x, f->enc.g.x, D * sizeof(double));
    }
    f->enc.g_cols = NULL;
    f->enc.g_ncols = 0;
    msg_buf_fini(&plain);
}

static void
test_resync_round_trips(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_RESYNC;
    f->enc.sender = 8;
    f->enc.seq = 1ULL << 40;
    s_round_trip(f);
    assert_int_equal(f->dec.sender, 8);
    assert_true(f->dec.seq == 1ULL << 40);
}

static void
test_run_round_trips(void **state)
{
    fixture_t *f = *state;
    run_info_t *r = &f->enc.run;
    f->enc.type = MSG_RUN;
    r->name = "a9a marina p=0.1 \xc3\xa9t\xc3\xa9";  // UTF-8 is welcome
    r->version = "0.1.0";
    r->config = "[run]\nmethod = marina\nseed = 7\n\n[compressor]\nkind = randk\nk = 10\n";
    r->seed = 0xdeadbeefcafeULL;
    r->method = "marina";
    r->compressor = "randk";
    r->n = 20;
    r->dim = D;
    r->dataset = NULL;  // a field left unset travels as ""
    r->start_time = 1700000000.25;
    r->f_star = 0.31541325616551;  // an f* with every mantissa bit in use
    r->problem = "a9a|bias=1|logreg|lambda=1e-3|n=20";
    s_round_trip(f);
    const run_info_t *o = &f->dec.run;
    assert_string_equal(o->name, r->name);
    assert_string_equal(o->version, "0.1.0");
    assert_string_equal(o->config, r->config);
    assert_true(o->seed == 0xdeadbeefcafeULL);
    assert_string_equal(o->method, "marina");
    assert_string_equal(o->compressor, "randk");
    assert_int_equal(o->n, 20);
    assert_int_equal(o->dim, D);
    assert_string_equal(o->dataset, "");
    assert_true(o->start_time == 1700000000.25);
    assert_memory_equal(&o->f_star, &r->f_star, sizeof o->f_star);  // bit for bit
    assert_string_equal(o->problem, r->problem);

    //  f* unknown (NaN, a non-convex loss), a negative f*, and an unset problem key ("").
    r->f_star = NAN;
    r->problem = NULL;
    s_round_trip(f);
    assert_true(isnan(f->dec.run.f_star));
    assert_string_equal(f->dec.run.problem, "");
    r->f_star = -1e-300;
    r->problem = "synthetic|d=113|quadratic";
    s_round_trip(f);
    assert_true(f->dec.run.f_star == -1e-300);
    assert_string_equal(f->dec.run.problem, "synthetic|d=113|quadratic");
}

static void
test_stats_round_trips_with_nan_f(void **state)
{
    fixture_t *f = *state;
    round_stats_t *s = &f->enc.stats;
    f->enc.type = MSG_STATS;
    s->round = 41;
    s->coin = 1;
    s->f = NAN;  // not evaluated this round
    s->grad_norm_sq = 2.5e-7;
    s->bits_paper_up = 1;
    s->bits_model_up = 2;
    s->bytes_wire_up = 3;
    s->bits_paper_down = 4;
    s->bits_model_down = 5;
    s->bytes_wire_down = 6;
    s->nnz_up = 7;
    s->oracle_calls = UINT64_MAX;
    s->participants = 20;
    s->wall_time_s = 3.75;
    s->gap = 1.25e-9;
    s->bytes_metrics = (1ULL << 40) + 7;  // the metrics' bytes travel with the row
    s_round_trip(f);
    const round_stats_t *o = &f->dec.stats;
    assert_int_equal(o->round, 41);
    assert_int_equal(o->coin, 1);
    assert_true(isnan(o->f));
    assert_true(o->grad_norm_sq == 2.5e-7);
    assert_int_equal(o->bits_paper_up, 1);
    assert_int_equal(o->bits_model_up, 2);
    assert_int_equal(o->bytes_wire_up, 3);
    assert_true(o->bytes_metrics == (1ULL << 40) + 7);
    assert_int_equal(o->bits_paper_down, 4);
    assert_int_equal(o->bits_model_down, 5);
    assert_int_equal(o->bytes_wire_down, 6);
    assert_int_equal(o->nnz_up, 7);
    assert_true(o->oracle_calls == UINT64_MAX);
    assert_int_equal(o->participants, 20);
    assert_true(o->wall_time_s == 3.75);
    assert_true(o->gap == 1.25e-9);
    assert_int_equal(o->nworkers, 0);  // nworkers 0 travels as nil
    assert_null(o->workers);

    s->grad_norm_sq = NAN;  // both may be missing
    s->gap = NAN;           // f* unknown, or f not evaluated
    s_round_trip(f);
    assert_true(isnan(f->dec.stats.grad_norm_sq));
    assert_true(isnan(f->dec.stats.gap));
}

static void
test_stats_round_trips_per_worker_rows(void **state)
{
    fixture_t *f = *state;
    //  Three workers, PP-MARINA style: 0 and 2 were drawn and sent, 1 was not. The values use
    //  every byte of a uint64 (UINT64_MAX, 2^63, 2^32 + 1) so a byte order slip shows.
    worker_stats_t w[3] = {
        {.bits_paper_up = 320,
         .bits_model_up = 390,
         .bytes_wire_up = 132,
         .nnz_up = 10,
         .oracle_calls = 100,
         .sent = 1},
        {.oracle_calls = 0, .sent = 0},
        {.bits_paper_up = UINT64_MAX,
         .bits_model_up = 1ULL << 63,
         .bytes_wire_up = (1ULL << 32) + 1,
         .nnz_up = 0x0102030405060708ULL,
         .oracle_calls = 7,
         .sent = 1},
    };
    round_stats_t *s = &f->enc.stats;
    f->enc.type = MSG_STATS;
    *s = (round_stats_t){.round = 12,
                         .f = 0.5,
                         .grad_norm_sq = 0.25,
                         .participants = 2,
                         .wall_time_s = 1.0,
                         .gap = 0.125,
                         .nworkers = 3,
                         .workers = w};
    s_round_trip(f);
    const round_stats_t *o = &f->dec.stats;
    assert_int_equal(o->nworkers, 3);
    assert_non_null(o->workers);
    assert_true(o->workers != w);  // the decoded rows live in the msg_t
    assert_true(o->gap == 0.125);
    for (int i = 0; i < 3; i++) {
        assert_true(o->workers[i].bits_paper_up == w[i].bits_paper_up);
        assert_true(o->workers[i].bits_model_up == w[i].bits_model_up);
        assert_true(o->workers[i].bytes_wire_up == w[i].bytes_wire_up);
        assert_true(o->workers[i].nnz_up == w[i].nnz_up);
        assert_true(o->workers[i].oracle_calls == w[i].oracle_calls);
        assert_int_equal(o->workers[i].sent, w[i].sent);
    }
    //  The wire layout: 6 LE uint64 per worker, 48 bytes, the bin before the 13-byte tail
    //  (accepted 0, rejected 0, agg_dist_sq 0.0, rejections "", bytes_metrics 0).
    const unsigned char *bin = (const unsigned char *) f->buf.data + f->buf.size - 13 - 3 * 48;
    assert_int_equal(bin[-2], 0xc4);  // bin8 of 144 bytes
    assert_int_equal(bin[-1], 144);
    assert_int_equal(bin[0], 320 & 0xff);
    assert_int_equal(bin[1], 320 >> 8);
    assert_int_equal(bin[40], 1);       // worker 0: sent
    assert_int_equal(bin[48 + 40], 0);  // worker 1: not
    assert_int_equal(bin[96 + 24], 8);  // worker 2: nnz_up, least significant byte first
    assert_int_equal(bin[96 + 31], 1);

    //  Any nonzero int in sent travels as 1; fewer rows, then none, into the same msg_t.
    w[1].sent = 5;
    s->nworkers = 2;
    s_round_trip(f);
    assert_int_equal(f->dec.stats.nworkers, 2);
    assert_int_equal(f->dec.stats.workers[1].sent, 1);
    s->nworkers = 0;
    s_round_trip(f);
    assert_int_equal(f->dec.stats.nworkers, 0);
    assert_null(f->dec.stats.workers);
}

//  The fields a STATS frame carries after its per-worker rows (accepted, rejected, agg_dist_sq,
//  rejections, bytes_metrics): 13 bytes as packed here.
static void
s_raw_stats_tail(fixture_t *f)
{
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_double(&f->pk, 0.0);
    msgpack_pack_str_with_body(&f->pk, "", 0);
    msgpack_pack_uint8(&f->pk, 0);  // bytes_metrics
}

//  The fields a RUN frame carries after its problem key (byzantine, attack, aggregator, bucket).
static void
s_raw_run_tail(fixture_t *f)
{
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_str_with_body(&f->pk, "none", 4);
    msgpack_pack_str_with_body(&f->pk, "mean", 4);
    msgpack_pack_uint8(&f->pk, 0);
}

//  Packs a STATS frame [1, 9, ..., gap 0.5, workers] with workers a bin of the given bytes.
static void
s_raw_stats_workers(fixture_t *f, const void *workers, size_t nbytes)
{
    s_raw_head(f, MSG_VERSION, MSG_STATS, 21);
    for (int i = 0; i < 2; i++)  // round, coin
        msgpack_pack_uint8(&f->pk, 1);
    for (int i = 0; i < 2; i++)  // f, grad_norm_sq
        msgpack_pack_double(&f->pk, 1.0);
    for (int i = 0; i < 9; i++)  // the eight counters, participants
        msgpack_pack_uint8(&f->pk, 3);
    msgpack_pack_double(&f->pk, 0.5);  // wall_time_s
    msgpack_pack_double(&f->pk, 0.5);  // gap
    msgpack_pack_bin_with_body(&f->pk, workers, nbytes);
    s_raw_stats_tail(f);
}

static void
test_decode_rejects_bad_worker_rows(void **state)
{
    fixture_t *f = *state;
    unsigned char rows[3 * 48 + 1] = {0};
    rows[40] = 1;       // worker 0 sent
    rows[48 + 8] = 77;  // worker 1: bits_model_up 77, not sent
    s_raw_stats_workers(f, rows, 3 * 48);
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.stats.nworkers, 3);
    assert_int_equal(f->dec.stats.workers[0].sent, 1);
    assert_int_equal(f->dec.stats.workers[1].bits_model_up, 77);
    assert_int_equal(f->dec.stats.workers[1].sent, 0);
    s_raw_stats_workers(f, rows, 0);  // an empty bin: no rows, like nil
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.stats.nworkers, 0);

    //  Not a whole number of 48-byte rows.
    const size_t ragged[] = {47, 49, 1, 3 * 48 - 8, 3 * 48 + 1};
    for (size_t i = 0; i < sizeof ragged / sizeof ragged[0]; i++) {
        s_raw_stats_workers(f, rows, ragged[i]);
        s_expect_raw(f, MR_EMALFORMED);
        assert_non_null(strstr(f->err.text, "not a whole number of 48-byte rows"));
    }
    //  sent is 0 or 1: 2, a set high byte (2^56 + 1), or all ones are rejected.
    rows[48 + 40] = 2;
    s_raw_stats_workers(f, rows, 3 * 48);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "worker 1 has sent = 2"));
    rows[48 + 40] = 0;
    rows[96 + 40] = 1;
    rows[96 + 47] = 1;
    s_raw_stats_workers(f, rows, 3 * 48);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "worker 2"));
    memset(rows + 40, 0xff, 8);
    rows[96 + 47] = 0;
    s_raw_stats_workers(f, rows, 3 * 48);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "worker 0"));
}

static void
test_stop_round_trips(void **state)
{
    fixture_t *f = *state;
    f->enc.type = MSG_STOP;
    const char *statuses[] = {"completed", "failed", "aborted"};
    for (int i = 0; i < 3; i++) {
        f->enc.status = (char *) statuses[i];
        f->enc.reason = i == 0 ? "" : "worker 3 sent NaN in round 17";
        s_round_trip(f);
        assert_string_equal(f->dec.status, statuses[i]);
        assert_string_equal(f->dec.reason, f->enc.reason);
    }
}

static void
test_decoding_ints_and_coins_accepts_every_encoding(void **state)
{
    fixture_t *f = *state;
    // A peer may pack a double as an integer and a coin as 0/1; both mean the same thing.
    s_raw_head(f, MSG_VERSION, MSG_STATS, 21);
    msgpack_pack_uint64(&f->pk, 3);
    msgpack_pack_int(&f->pk, 1);
    msgpack_pack_int(&f->pk, -2);   // f = -2 as a negative integer
    msgpack_pack_uint8(&f->pk, 4);  // grad_norm_sq = 4
    for (int i = 0; i < 8; i++)
        msgpack_pack_uint16(&f->pk, 300);
    msgpack_pack_uint8(&f->pk, 20);
    msgpack_pack_double(&f->pk, 0.5);
    msgpack_pack_int(&f->pk, -1);  // gap = -1 (f below a stale f*)
    msgpack_pack_nil(&f->pk);      // no per-worker rows
    s_raw_stats_tail(f);
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.stats.coin, 1);
    assert_true(f->dec.stats.f == -2.0);
    assert_true(f->dec.stats.grad_norm_sq == 4.0);
    assert_int_equal(f->dec.stats.nnz_up, 300);
    assert_true(f->dec.stats.gap == -1.0);
    assert_int_equal(f->dec.stats.nworkers, 0);

    // RUN's f_star likewise; a ROUND's coin as the integer 0 and its participants as nil.
    s_raw_head(f, MSG_VERSION, MSG_RUN, 16);
    for (int i = 0; i < 3; i++)
        msgpack_pack_str_with_body(&f->pk, "x", 1);
    msgpack_pack_uint8(&f->pk, 7);
    for (int i = 0; i < 2; i++)
        msgpack_pack_str_with_body(&f->pk, "x", 1);
    msgpack_pack_uint8(&f->pk, 2);
    msgpack_pack_uint8(&f->pk, 2);
    msgpack_pack_str_with_body(&f->pk, "x", 1);
    msgpack_pack_uint32(&f->pk, 1700000000);  // start_time
    msgpack_pack_uint8(&f->pk, 3);            // f_star
    msgpack_pack_str_with_body(&f->pk, "p", 1);
    s_raw_run_tail(f);
    s_expect_raw(f, MR_OK);
    assert_true(f->dec.run.start_time == 1700000000.0);
    assert_true(f->dec.run.f_star == 3.0);
    assert_string_equal(f->dec.run.problem, "p");
    s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_nil(&f->pk);
    s_raw_round_tail(f);
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.coin, 0);
    assert_int_equal(f->dec.all_part, 1);
}

//  --------------------------------------------------------------------------------------------
//  Rejections

static void
test_decode_rejects_wrong_version(void **state)
{
    fixture_t *f = *state;
    uint64_t versions[] = {1, 0, 255, UINT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        s_raw_head(f, versions[i], MSG_PING, 1);
        msgpack_pack_uint8(&f->pk, 1);
        s_expect_raw(f, MR_EVERSION);
    }
    s_raw_head(f, 1, MSG_PING, 1);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EVERSION);
    char expected[64];
    snprintf(expected, sizeof expected, "protocol version 1, expected %d", MSG_VERSION);
    assert_string_equal(f->err.text, expected);

    // A version that is not even an integer is malformed rather than from the future.
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_str_with_body(&f->pk, "1", 1);
    msgpack_pack_uint8(&f->pk, MSG_PING);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
}

static void
test_decode_rejects_unknown_type(void **state)
{
    fixture_t *f = *state;
    uint64_t types[] = {0, MSG_TYPE_LAST + 1, 200, 1ULL << 40};
    for (size_t i = 0; i < 4; i++) {
        s_raw_head(f, MSG_VERSION, types[i], 1);
        msgpack_pack_uint8(&f->pk, 1);
        s_expect_raw(f, MR_EMALFORMED);
        assert_non_null(strstr(f->err.text, "unknown message type"));
    }
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_uint8(&f->pk, MSG_VERSION);
    msgpack_pack_int(&f->pk, -4);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
    assert_string_equal(msg_type_name(0), "unknown");
    assert_string_equal(msg_type_name(-1), "unknown");
    assert_string_equal(msg_type_name(MSG_TYPE_LAST + 1), "unknown");
    assert_string_equal(msg_type_name(MSG_ACK), "ack");
    assert_string_equal(msg_type_name(MSG_CHECKPOINT), "checkpoint");
    assert_string_equal(msg_type_name(MSG_REFUSE), "refuse");
    assert_string_equal(msg_type_name(MSG_UPDATE), "update");
    assert_string_equal(msg_type_name(MSG_STOP), "stop");
}

static void
test_decode_rejects_wrong_field_count(void **state)
{
    fixture_t *f = *state;
    static const size_t nfields[] = {0, 6, 2, 1, 10, 7, 4, 2, 16, 21, 2, 4, 2, 3, 2, 4, 1};
    _Static_assert(sizeof nfields / sizeof nfields[0] == MSG_TYPE_LAST + 1,
                   "one field count per message type");
    for (int type = MSG_HELLO; type <= MSG_TYPE_LAST; type++) {
        for (int delta = -1; delta <= 1; delta += 2) {
            size_t n = nfields[type] + (size_t) delta;
            s_raw_head(f, MSG_VERSION, (uint64_t) type, n);
            for (size_t i = 0; i < n; i++)
                msgpack_pack_nil(&f->pk);
            s_expect_raw(f, MR_EMALFORMED);
            assert_non_null(strstr(f->err.text, "fields, expected"));
        }
    }
    // Not an array, and an array too short to hold [version, type].
    msgpack_pack_map(&f->pk, 0);
    s_expect_raw(f, MR_EMALFORMED);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
    msgpack_pack_array(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
    msgpack_pack_array(&f->pk, 0);
    s_expect_raw(f, MR_EMALFORMED);
}

//  The three fields a HELLO carries after [role, sender, pid]: digest, shard, config.
static void
s_hello_tail(fixture_t *f)
{
    msgpack_pack_uint64(&f->pk, 1);
    msgpack_pack_uint64(&f->pk, 2);
    msgpack_pack_str_with_body(&f->pk, "k=1\n", 4);
}

static void
test_decode_rejects_wrong_field_type(void **state)
{
    fixture_t *f = *state;
    // hello with role 3 (no such role), a string sender, a negative pid, a sender above 2^32-1
    s_raw_head(f, MSG_VERSION, MSG_HELLO, 6);
    msgpack_pack_uint8(&f->pk, 3);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 0);
    s_hello_tail(f);
    s_expect_raw(f, MR_EMALFORMED);
    s_raw_head(f, MSG_VERSION, MSG_HELLO, 6);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_str_with_body(&f->pk, "0", 1);
    msgpack_pack_uint8(&f->pk, 0);
    s_hello_tail(f);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "'sender' is a str"));
    s_raw_head(f, MSG_VERSION, MSG_HELLO, 6);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_int(&f->pk, -1);
    s_hello_tail(f);
    s_expect_raw(f, MR_EMALFORMED);
    s_raw_head(f, MSG_VERSION, MSG_HELLO, 6);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint64(&f->pk, 1ULL << 32);
    msgpack_pack_uint8(&f->pk, 0);
    s_hello_tail(f);
    s_expect_raw(f, MR_EMALFORMED);

    // hello whose configuration is not a str, or is longer than 64 KiB
    s_raw_head(f, MSG_VERSION, MSG_HELLO, 6);
    for (int i = 0; i < 5; i++)
        msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_nil(&f->pk);
    s_expect_raw(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "'config' is a nil"));

    // round with coin 2, coin as a string, g as an integer, g as an array
    const msgpack_object_type bad_coin[] = {MSGPACK_OBJECT_POSITIVE_INTEGER, MSGPACK_OBJECT_STR};
    for (int i = 0; i < 2; i++) {
        s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_uint8(&f->pk, 1);
        if (bad_coin[i] == MSGPACK_OBJECT_STR)
            msgpack_pack_str_with_body(&f->pk, "y", 1);
        else
            msgpack_pack_uint8(&f->pk, 2);
        msgpack_pack_nil(&f->pk);
        msgpack_pack_nil(&f->pk);
        s_raw_round_tail(f);
        s_expect_raw(f, MR_EMALFORMED);
    }
    s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_true(&f->pk);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_nil(&f->pk);
    s_raw_round_tail(f);
    s_expect_raw(f, MR_EMALFORMED);
    s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_true(&f->pk);
    msgpack_pack_array(&f->pk, 2);
    msgpack_pack_double(&f->pk, 1.0);
    msgpack_pack_double(&f->pk, 2.0);
    msgpack_pack_nil(&f->pk);
    s_raw_round_tail(f);
    s_expect_raw(f, MR_EMALFORMED);
    // round whose participants are an integer, an array of ids, a str, or false
    for (int i = 0; i < 4; i++) {
        s_raw_head(f, MSG_VERSION, MSG_ROUND, 10);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_true(&f->pk);
        msgpack_pack_nil(&f->pk);
        if (i == 0) {
            msgpack_pack_uint8(&f->pk, 3);
        } else if (i == 1) {
            msgpack_pack_array(&f->pk, 2);
            msgpack_pack_uint8(&f->pk, 0);
            msgpack_pack_uint8(&f->pk, 1);
        } else if (i == 2) {
            msgpack_pack_str_with_body(&f->pk, "\0\0\0\0", 4);
        } else {
            msgpack_pack_false(&f->pk);
        }
        s_raw_round_tail(f);
        s_expect_raw(f, MR_EMALFORMED);
        assert_non_null(strstr(f->err.text, "'part' is a"));
        assert_non_null(strstr(f->err.text, "expected a bin or nil"));
    }

    // metrics with f as a string, and f as a float32 (doubles are float64 on the wire)
    double g[D] = {0};
    for (int i = 0; i < 2; i++) {
        s_raw_head(f, MSG_VERSION, MSG_METRICS, 4);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_uint8(&f->pk, 1);
        if (i == 0)
            msgpack_pack_str_with_body(&f->pk, "0.5", 3);
        else
            msgpack_pack_float(&f->pk, 0.5f);
        s_pack_doubles(&f->pk, g, D);
        s_expect_raw(f, MR_EMALFORMED);
    }
    // update whose val is nil, whose vector is a str, and whose kind is 2
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, D);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, D);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_str(&f->pk, 8 * D);
    msgpack_pack_str_body(&f->pk, g, 8 * D);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 2);
    msgpack_pack_uint8(&f->pk, D);
    msgpack_pack_nil(&f->pk);
    s_pack_doubles(&f->pk, g, D);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);

    // a dense update must not carry idx; a sparse one must
    uint32_t idx[1] = {0};
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, CVEC_DENSE);
    msgpack_pack_uint8(&f->pk, D);
    s_pack_indices(&f->pk, idx, 1);
    s_pack_doubles(&f->pk, g, D);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, CVEC_SPARSE);
    msgpack_pack_uint8(&f->pk, D);
    msgpack_pack_nil(&f->pk);
    s_pack_doubles(&f->pk, g, 1);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw(f, MR_EMALFORMED);

    // stop with a status outside completed/failed/aborted
    s_raw_head(f, MSG_VERSION, MSG_STOP, 2);
    msgpack_pack_str_with_body(&f->pk, "paused", 6);
    msgpack_pack_str_with_body(&f->pk, "", 0);
    s_expect_raw(f, MR_EMALFORMED);
    // run with seed as a float, f_star as a str or nil, problem as an integer or nil
    for (int bad = 0; bad < 5; bad++) {
        s_raw_head(f, MSG_VERSION, MSG_RUN, 16);
        for (int i = 0; i < 3; i++)
            msgpack_pack_str_with_body(&f->pk, "x", 1);
        if (bad == 0)
            msgpack_pack_double(&f->pk, 7.0);
        else
            msgpack_pack_uint8(&f->pk, 7);
        for (int i = 0; i < 2; i++)
            msgpack_pack_str_with_body(&f->pk, "x", 1);
        msgpack_pack_uint8(&f->pk, 2);
        msgpack_pack_uint8(&f->pk, 2);
        msgpack_pack_str_with_body(&f->pk, "x", 1);
        msgpack_pack_double(&f->pk, 0.0);
        if (bad == 1)
            msgpack_pack_str_with_body(&f->pk, "0.3", 3);
        else if (bad == 2)
            msgpack_pack_nil(&f->pk);  // an unknown f* is NaN, not nil
        else
            msgpack_pack_double(&f->pk, 0.3);
        if (bad == 3)
            msgpack_pack_uint8(&f->pk, 1);
        else if (bad == 4)
            msgpack_pack_nil(&f->pk);
        else
            msgpack_pack_str_with_body(&f->pk, "p", 1);
        s_raw_run_tail(f);
        s_expect_raw(f, MR_EMALFORMED);
        const char *field[] = {"'seed'", "'f_star' is a str", "'f_star' is a nil", "'problem' is a",
                               "'problem' is a nil"};
        if (!strstr(f->err.text, field[bad]))
            fail_msg("'%s' does not name %s", f->err.text, field[bad]);
    }
    // stats with gap as a str or nil, workers as an array, an integer or a str
    for (int bad = 0; bad < 5; bad++) {
        s_raw_head(f, MSG_VERSION, MSG_STATS, 21);
        for (int i = 0; i < 2; i++)
            msgpack_pack_uint8(&f->pk, 1);
        for (int i = 0; i < 2; i++)
            msgpack_pack_double(&f->pk, 1.0);
        for (int i = 0; i < 9; i++)
            msgpack_pack_uint8(&f->pk, 3);
        msgpack_pack_double(&f->pk, 0.5);
        if (bad == 0)
            msgpack_pack_str_with_body(&f->pk, "0", 1);
        else if (bad == 1)
            msgpack_pack_nil(&f->pk);
        else
            msgpack_pack_double(&f->pk, 0.5);
        if (bad == 2) {
            msgpack_pack_array(&f->pk, 1);
            msgpack_pack_uint8(&f->pk, 0);
        } else if (bad == 3) {
            msgpack_pack_uint8(&f->pk, 0);
        } else if (bad == 4) {
            msgpack_pack_str(&f->pk, 48);
            msgpack_pack_str_body(&f->pk, g, 48);
        } else {
            msgpack_pack_nil(&f->pk);
        }
        s_raw_stats_tail(f);
        s_expect_raw(f, MR_EMALFORMED);
        const char *field[] = {"'gap' is a str", "'gap' is a nil", "'workers' is a array",
                               "'workers' is a", "'workers' is a str"};
        if (!strstr(f->err.text, field[bad]))
            fail_msg("'%s' does not name %s", f->err.text, field[bad]);
    }
}

//  One valid frame of every type, for the truncation and fuzz tests (the msg_t has dimension dim).
static size_t
s_valid_frames(msg_t *m, size_t dim, msg_buf_t frames[S_NFRAMES])
{
    size_t n = 0;
    memset(frames, 0, S_NFRAMES * sizeof frames[0]);
    //  Two of four workers drawn, one of them twice; per-worker rows with every field nonzero.
    static const uint32_t part[] = {1, 3, 3};
    worker_stats_t rows[2] = {{320, 390, 132, 10, 100, 1}, {0, 0, 0, 0, 0, 0}};
    rows[1].oracle_calls = 300;
    for (int type = MSG_HELLO; type <= MSG_TYPE_LAST; type++) {
        m->type = (msg_type_t) type;
        m->cfg_digest = 0x0123456789abcdefull;
        m->shard_fp = UINT64_MAX;
        m->cfg_text = "k=10\nseed=1\n";
        m->role = MSG_ROLE_WORKER;
        m->sender = 2;
        m->pid = 4242;
        m->seq = 300;
        m->round = 70000;
        m->coin = 1;
        m->has_g = 1;
        m->f = 1.5;
        s_fill_g(m);
        m->run = (run_info_t){.name = "name",
                              .version = "0.1.0",
                              .config = "[run]\nseed = 1\n",
                              .seed = 1,
                              .method = "marina",
                              .compressor = "randk",
                              .n = 4,
                              .dim = (uint32_t) dim,
                              .dataset = "synthetic",
                              .start_time = 1.7e9,
                              .f_star = 0.125,
                              .problem = "synthetic|quadratic"};
        m->stats = (round_stats_t){.round = 3,
                                   .coin = 0,
                                   .f = NAN,
                                   .grad_norm_sq = 0.25,
                                   .bits_paper_up = 1000,
                                   .participants = 4,
                                   .wall_time_s = 0.5,
                                   .gap = 0.0625,
                                   .nworkers = 2,
                                   .workers = rows};
        m->status = "failed";
        m->reason = "a reason";
        static const uint8_t blob[5] = {1, 2, 0, 255, 7};
        m->blob = blob;
        m->blob_len = sizeof blob;
        m->done = 1;
        m->checkpoint = 1;
        assert_int_equal(msg_set_part(m, part, 3), MR_OK);
        if (type == MSG_UPDATE)
            s_fill_sparse(m, dim, 3);
        if (type == MSG_BUNDLE) {  // two of the frames before, and one more below
            m->batch_data = calloc(2, sizeof *m->batch_data);
            m->batch_size = calloc(2, sizeof *m->batch_size);
            assert_non_null(m->batch_data);
            assert_non_null(m->batch_size);
            m->batch_cap = m->nbatch = 2;
            for (size_t j = 0; j < 2; j++) {
                m->batch_data[j] = frames[j].data;
                m->batch_size[j] = frames[j].size;
            }
        }
        assert_int_equal(msg_encode(m, &frames[n]), MR_OK);
        n++;
        if (type == MSG_UPDATE) {  // and with its sender's metrics
            m->with_metrics = 1;
            assert_int_equal(msg_encode(m, &frames[n++]), MR_OK);
            m->with_metrics = 0;
        }
        if (type == MSG_BUNDLE) {  // and an empty one
            m->nbatch = 0;
            assert_int_equal(msg_encode(m, &frames[n++]), MR_OK);
        }
        if (type == MSG_ROUND) {  // and every worker, nil
            assert_int_equal(msg_set_part(m, NULL, 0), MR_OK);
            assert_int_equal(msg_encode(m, &frames[n++]), MR_OK);
        }
        if (type == MSG_STATS) {  // and no rows, NaN gap
            m->stats.nworkers = 0;
            m->stats.gap = NAN;
            assert_int_equal(msg_encode(m, &frames[n++]), MR_OK);
        }
        if (type == MSG_UPDATE) {  // and a dense one, and the compact encodings
            s_fill_dense(m, dim);
            assert_int_equal(msg_encode(m, &frames[n]), MR_OK);
            n++;
            for (int sparse = 0; sparse <= 1; sparse++) {
                s_fill_levels(m, dim, sparse, 3, 3);
                assert_int_equal(msg_encode(m, &frames[n++]), MR_OK);
                s_fill_pow2(m, dim, sparse);
                assert_int_equal(msg_encode(m, &frames[n++]), MR_OK);
            }
            m->up.enc = CVEC_ENC_RAW;
        }
    }
    assert_int_equal(n, S_NFRAMES);
    m->stats.workers = NULL;  // rows is about to go out of scope
    m->stats.nworkers = 0;
    m->blob = NULL;
    m->blob_len = 0;
    return n;
}

static void
s_free_frames(msg_buf_t *frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        msg_buf_fini(&frames[i]);
}

static void
test_decode_rejects_every_truncation(void **state)
{
    fixture_t *f = *state;
    msg_buf_t frames[S_NFRAMES];
    size_t n = s_valid_frames(&f->enc, D, frames);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(msg_decode(&f->dec, frames[i].data, frames[i].size, &f->err), MR_OK);
        for (size_t len = 0; len < frames[i].size; len++) {
            // A copy of exactly len bytes, so ASan sees any read past the end.
            char *prefix = malloc(len ? len : 1);
            assert_non_null(prefix);
            memcpy(prefix, frames[i].data, len);
            assert_int_equal(msg_decode(&f->dec, prefix, len, &f->err), MR_EMALFORMED);
            free(prefix);
        }
    }
    s_free_frames(frames, n);
    assert_int_equal(msg_decode(&f->dec, NULL, 0, &f->err), MR_EMALFORMED);
}

static void
test_decode_rejects_trailing_byte(void **state)
{
    fixture_t *f = *state;
    msg_buf_t frames[S_NFRAMES];
    size_t n = s_valid_frames(&f->enc, D, frames);
    for (size_t i = 0; i < n; i++) {
        char *longer = malloc(frames[i].size + 1);
        assert_non_null(longer);
        memcpy(longer, frames[i].data, frames[i].size);
        longer[frames[i].size] = (char) 0xc0;  // a whole nil: a second object, not a truncation
        assert_int_equal(msg_decode(&f->dec, longer, frames[i].size + 1, &f->err), MR_EMALFORMED);
        assert_non_null(strstr(f->err.text, "trailing"));
        free(longer);
    }
    s_free_frames(frames, n);
}

static void
test_decode_rejects_wrong_dimension(void **state)
{
    fixture_t *f = *state;
    msg_t other;
    assert_int_equal(msg_init(&other, D - 1), MR_OK);

    // Frames of dimension D sent to a run of dimension D - 1: every vector is rejected.
    f->enc.type = MSG_ROUND;
    f->enc.has_g = 1;
    s_fill_g(&f->enc);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    assert_int_equal(msg_decode(&other, f->buf.data, f->buf.size, &f->err), MR_EDIM);
    assert_non_null(strstr(f->err.text, "got 904 bytes"));
    assert_non_null(strstr(f->err.text, "expected 896"));
    f->enc.type = MSG_METRICS;
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    assert_int_equal(msg_decode(&other, f->buf.data, f->buf.size, &f->err), MR_EDIM);
    s_fill_dense(&f->enc, D);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    assert_int_equal(msg_decode(&other, f->buf.data, f->buf.size, &f->err), MR_EDIM);
    assert_non_null(strstr(f->err.text, "got dim 113, expected 112"));
    s_fill_sparse(&f->enc, D, 10);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    assert_int_equal(msg_decode(&other, f->buf.data, f->buf.size, &f->err), MR_EDIM);
    msg_fini(&other);

    // The dim field agrees but the dense bin is one double short.
    s_fill_dense(&f->enc, D);
    f->enc.up.dim = D - 1;
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    f->buf.data[6] = D;  // patch the dim field (a fixint) back to D
    assert_int_equal(msg_decode(&f->dec, f->buf.data, f->buf.size, &f->err), MR_EDIM);

    // Sparse: val shorter than idx, more entries than d, idx not a whole number of uint32.
    double val[D + 1] = {0};
    uint32_t idx[D + 1];
    for (uint32_t j = 0; j <= D; j++)
        idx[j] = j;
    struct {
        size_t nidx_bytes, nval;
    } cases[] = {{4 * 3, 2}, {4 * (D + 1), D + 1}, {4 * 2 + 1, 2}};
    for (size_t c = 0; c < 3; c++) {
        s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_uint8(&f->pk, CVEC_SPARSE);
        msgpack_pack_uint8(&f->pk, D);
        msgpack_pack_bin_with_body(&f->pk, idx, cases[c].nidx_bytes);
        s_pack_doubles(&f->pk, val, cases[c].nval);
        msgpack_pack_uint8(&f->pk, 1);
        s_expect_raw(f, MR_EDIM);
    }
}

static void
test_decode_rejects_unsorted_or_out_of_range_idx(void **state)
{
    fixture_t *f = *state;
    s_fill_sparse(&f->enc, D, 10);
    f->enc.up.idx[4] = f->enc.up.idx[3];  // a duplicate
    s_expect_reject(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "does not increase"));
    s_fill_sparse(&f->enc, D, 10);
    f->enc.up.idx[0] = 50;  // decreasing after it
    s_expect_reject(f, MR_EMALFORMED);
    s_fill_sparse(&f->enc, D, 10);
    f->enc.up.idx[9] = D;  // one past the end
    s_expect_reject(f, MR_EDIM);
    assert_non_null(strstr(f->err.text, "out of range"));
    f->enc.up.idx[9] = UINT32_MAX;
    s_expect_reject(f, MR_EDIM);
}

static void
test_decode_rejects_nan_and_inf(void **state)
{
    fixture_t *f = *state;
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (int b = 0; b < 3; b++) {
        s_fill_dense(&f->enc, D);
        f->enc.up.val[57] = bad[b];
        s_expect_reject(f, MR_ENONFINITE);
        assert_non_null(strstr(f->err.text, "coordinate 57"));

        s_fill_sparse(&f->enc, D, 10);
        f->enc.up.val[3] = bad[b];  // the 4th entry, coordinate idx[3] = 33
        s_expect_reject(f, MR_ENONFINITE);
        assert_non_null(strstr(f->err.text, "coordinate 33"));

        f->enc.type = MSG_METRICS;
        s_fill_g(&f->enc);
        f->enc.f = bad[b];
        s_expect_reject(f, MR_ENONFINITE);
        f->enc.f = 1.0;
        f->enc.g.x[D - 1] = bad[b];
        s_expect_reject(f, MR_ENONFINITE);
        assert_non_null(strstr(f->err.text, "coordinate 112"));

        f->enc.type = MSG_ROUND;
        f->enc.has_g = 1;
        s_fill_g(&f->enc);
        f->enc.g.x[0] = bad[b];
        s_expect_reject(f, MR_ENONFINITE);
        assert_non_null(strstr(f->err.text, "coordinate 0"));

        f->enc.type = MSG_RUN;
        f->enc.run = (run_info_t){.start_time = bad[b]};
        s_expect_reject(f, MR_ENONFINITE);

        f->enc.type = MSG_STATS;
        f->enc.stats = (round_stats_t){.wall_time_s = bad[b]};  // never "not evaluated"
        s_expect_reject(f, MR_ENONFINITE);
    }
    // In STATS, NaN means "not evaluated" but an infinite f or gradient norm is still an error.
    f->enc.stats = (round_stats_t){.f = INFINITY};
    s_expect_reject(f, MR_ENONFINITE);
    f->enc.stats = (round_stats_t){.grad_norm_sq = -INFINITY};
    s_expect_reject(f, MR_ENONFINITE);
    // The same for the gap (NaN: f* unknown) and for RUN's f_star (NaN: unknown).
    for (int sign = -1; sign <= 1; sign += 2) {
        f->enc.type = MSG_STATS;
        f->enc.stats = (round_stats_t){.gap = sign * INFINITY};
        s_expect_reject(f, MR_ENONFINITE);
        assert_non_null(strstr(f->err.text, "'gap'"));
        f->enc.type = MSG_RUN;
        f->enc.run = (run_info_t){.f_star = sign * INFINITY};
        s_expect_reject(f, MR_ENONFINITE);
        assert_non_null(strstr(f->err.text, "'f_star'"));
    }
    f->enc.run = (run_info_t){.f_star = NAN};
    s_round_trip(f);
    f->enc.type = MSG_STATS;
    f->enc.stats = (round_stats_t){.gap = NAN};
    s_round_trip(f);
}

//  Packs [1, 5, round 1, sender 1, kind, D, idx, [1, s, t, nnz, norm, lev], 1]; idx NULL is nil.
static void
s_raw_levels(fixture_t *f,
             int sparse,
             const void *idx,
             size_t nidx,
             uint64_t s,
             uint64_t t,
             uint64_t nnz,
             const double *norm,
             size_t nnorm,
             const void *lev,
             size_t nlev)
{
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, sparse ? CVEC_SPARSE : CVEC_DENSE);
    msgpack_pack_uint8(&f->pk, D);
    if (idx)
        msgpack_pack_bin_with_body(&f->pk, idx, nidx);
    else
        msgpack_pack_nil(&f->pk);
    msgpack_pack_array(&f->pk, 6);
    msgpack_pack_uint8(&f->pk, CVEC_ENC_LEVELS);
    msgpack_pack_uint64(&f->pk, s);
    msgpack_pack_uint64(&f->pk, t);
    msgpack_pack_uint64(&f->pk, nnz);
    s_pack_doubles(&f->pk, norm, nnorm);
    msgpack_pack_bin_with_body(&f->pk, lev, nlev);
    msgpack_pack_uint8(&f->pk, 1);
}

//  Packs [1, 5, round 1, sender 1, kind, D, idx, [2, nnz, code], 1].
static void
s_raw_pow2(fixture_t *f,
           int sparse,
           const void *idx,
           size_t nidx,
           uint64_t nnz,
           const void *code,
           size_t ncode)
{
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, sparse ? CVEC_SPARSE : CVEC_DENSE);
    msgpack_pack_uint8(&f->pk, D);
    if (idx)
        msgpack_pack_bin_with_body(&f->pk, idx, nidx);
    else
        msgpack_pack_nil(&f->pk);
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_uint8(&f->pk, CVEC_ENC_POW2);
    msgpack_pack_uint64(&f->pk, nnz);
    msgpack_pack_bin_with_body(&f->pk, code, ncode);
    msgpack_pack_uint8(&f->pk, 1);
}

static void
s_expect_raw_text(fixture_t *f, int rc, const char *text)
{
    s_expect_raw(f, rc);
    if (!strstr(f->err.text, text))
        fail_msg("'%s' does not say '%s'", f->err.text, text);
}

static void
test_decode_rejects_bad_compact_updates(void **state)
{
    fixture_t *f = *state;
    //  A valid dense LEVELS update of d = 113, s = 1: 113 codes of 2 bits (code 1 = level 0), so
    //  28 bytes 0x55 and a last byte holding one code (0x01) and six zero padding bits.
    unsigned char lev[29], bad[29];
    memset(lev, 0x55, 28);
    lev[28] = 0x01;
    double norm[8] = {2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
    s_raw_levels(f, 0, NULL, 0, 1, D, D, norm, 1, lev, 29);
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.up.enc, CVEC_ENC_LEVELS);

    memcpy(bad, lev, 29);
    bad[0] = 0x57;  // code 3: level 2 > s = 1
    s_raw_levels(f, 0, NULL, 0, 1, D, D, norm, 1, bad, 29);
    s_expect_raw_text(f, MR_EMALFORMED, "outside [-1, 1]");
    bad[0] = 0x55;
    bad[28] = 0x41;  // a padding bit set
    s_raw_levels(f, 0, NULL, 0, 1, D, D, norm, 1, bad, 29);
    s_expect_raw_text(f, MR_EMALFORMED, "padding");
    s_raw_levels(f, 0, NULL, 0, 1, D, D, norm, 1, lev, 28);  // a byte short
    s_expect_raw_text(f, MR_EDIM, "'val.lev' has 28 bytes, expected 29");
    s_raw_levels(f, 0, NULL, 0, 1, D, D, norm, 2, lev, 29);  // two norms for one block
    s_expect_raw_text(f, MR_EDIM, "'val.norm'");
    s_raw_levels(f, 0, NULL, 0, 1, D, D - 1, norm, 1, lev, 29);  // dense with nnz != d
    s_expect_raw_text(f, MR_EDIM, "'val.nnz'");
    s_raw_levels(f, 0, NULL, 0, 0, D, D, norm, 1, lev, 29);  // s = 0
    s_expect_raw_text(f, MR_EMALFORMED, "'val.s'");
    s_raw_levels(f, 0, NULL, 0, CVEC_MAX_LEVELS + 1, D, D, norm, 1, lev, 29);
    s_expect_raw_text(f, MR_EMALFORMED, "'val.s'");
    s_raw_levels(f, 0, NULL, 0, 1, 0, D, norm, 1, lev, 29);  // t = 0
    s_expect_raw_text(f, MR_EDIM, "'val.t'");
    s_raw_levels(f, 0, NULL, 0, 1, D + 1, D, norm, 1, lev, 29);
    s_expect_raw_text(f, MR_EDIM, "'val.t'");
    s_raw_levels(f, 0, NULL, 0, 1, 16, D, norm, 8, lev, 29);  // t = 16: 8 blocks, 8 norms: fine
    s_expect_raw(f, MR_OK);
    const double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        norm[3] = nonfinite[i];
        s_raw_levels(f, 0, NULL, 0, 1, 16, D, norm, 8, lev, 29);
        s_expect_raw_text(f, MR_ENONFINITE, "block norm: coordinate 3");
    }
    norm[3] = -1.0;
    s_raw_levels(f, 0, NULL, 0, 1, 16, D, norm, 8, lev, 29);
    s_expect_raw_text(f, MR_EMALFORMED, "the norm of block 3 is -1");
    norm[3] = 1.0;
    //  norm * level overflows: DBL_MAX * 2 / 2 = Inf (s = 2: 3-bit codes, code 4 = level 2).
    unsigned char big[43] = {0x04};
    double huge = 1.7976931348623157e308;
    s_raw_levels(f, 0, NULL, 0, 2, D, D, &huge, 1, big, 43);
    s_expect_raw_text(f, MR_ENONFINITE, "coordinate 0 is infinite");

    //  Sparse: idx {5, 100} in 7-bit fields (5 | 100 << 7 = 0x3205), levels {+1, -1} (codes 2, 0).
    const unsigned char idx[] = {0x05, 0x32}, two[] = {0x02};
    s_raw_levels(f, 1, idx, 2, 1, D, 2, norm, 1, two, 1);
    s_expect_raw(f, MR_OK);
    assert_int_equal(f->dec.up.kind, CVEC_SPARSE);
    assert_int_equal(f->dec.up.idx[1], 100);
    assert_true(f->dec.up.val[0] == 2.0 && f->dec.up.val[1] == -2.0);
    const unsigned char down[] = {0xe4, 0x02};    // {100, 5}
    const unsigned char out[] = {0x05, 0x3c};     // {5, 120}: 120 >= d
    const unsigned char padded[] = {0x05, 0xb2};  // {5, 100} and a padding bit
    s_raw_levels(f, 1, down, 2, 1, D, 2, norm, 1, two, 1);
    s_expect_raw_text(f, MR_EMALFORMED, "does not increase");
    s_raw_levels(f, 1, out, 2, 1, D, 2, norm, 1, two, 1);
    s_expect_raw_text(f, MR_EDIM, "out of range");
    s_raw_levels(f, 1, padded, 2, 1, D, 2, norm, 1, two, 1);
    s_expect_raw_text(f, MR_EMALFORMED, "'idx' has nonzero padding");
    s_raw_levels(f, 1, idx, 1, 1, D, 2, norm, 1, two, 1);
    s_expect_raw_text(f, MR_EDIM, "'idx' has 1 bytes, expected 2");
    s_raw_levels(f, 1, idx, 2, 1, D, D + 1, norm, 1, two, 1);
    s_expect_raw_text(f, MR_EDIM, "'val.nnz'");
    s_raw_levels(f, 1, NULL, 0, 1, D, 2, norm, 1, two, 1);  // sparse without idx
    s_expect_raw_text(f, MR_EMALFORMED, "needs an idx");
    s_raw_levels(f, 0, idx, 2, 1, D, D, norm, 1, lev, 29);  // dense with idx
    s_expect_raw_text(f, MR_EMALFORMED, "idx nil");

    //  POW2: 113 codes of 13 bits take 184 bytes; all zero is a valid all-zero update.
    unsigned char code[184] = {0};
    s_raw_pow2(f, 0, NULL, 0, D, code, 184);
    s_expect_raw(f, MR_OK);
    code[0] = 0xff;
    code[1] = 0x0f;  // magnitude code 4095 > 2098
    s_raw_pow2(f, 0, NULL, 0, D, code, 184);
    s_expect_raw_text(f, MR_EMALFORMED, "exponent code 4095");
    code[0] = 0x32;  // code 2098 + sign: -2^1023, the largest
    code[1] = 0x18;
    s_raw_pow2(f, 0, NULL, 0, D, code, 184);
    s_expect_raw(f, MR_OK);
    assert_true(f->dec.up.val[0] == -0x1p1023);
    code[183] = 0x80;  // padding: 1469 bits use 5 bits of the last byte
    s_raw_pow2(f, 0, NULL, 0, D, code, 184);
    s_expect_raw_text(f, MR_EMALFORMED, "padding");
    s_raw_pow2(f, 0, NULL, 0, D, code, 183);
    s_expect_raw_text(f, MR_EDIM, "'val.code'");

    //  The val array itself: empty, unknown or raw encoding, wrong length, wrong element types.
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    for (int i = 0; i < 4; i++)
        msgpack_pack_uint8(&f->pk, i == 3 ? D : 1);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_array(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw_text(f, MR_EMALFORMED, "empty array");
    const uint64_t encs[] = {0, 4, 200};
    for (int i = 0; i < 3; i++) {
        s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_uint8(&f->pk, 1);
        msgpack_pack_uint8(&f->pk, CVEC_DENSE);
        msgpack_pack_uint8(&f->pk, D);
        msgpack_pack_nil(&f->pk);
        msgpack_pack_array(&f->pk, 3);
        msgpack_pack_uint64(&f->pk, encs[i]);
        msgpack_pack_uint8(&f->pk, D);
        msgpack_pack_bin_with_body(&f->pk, code, 184);
        msgpack_pack_uint8(&f->pk, 1);
        s_expect_raw_text(f, MR_EMALFORMED, "'val.enc'");
    }
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, CVEC_DENSE);
    msgpack_pack_uint8(&f->pk, D);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_array(&f->pk, 4);  // pow2 has 3 elements
    msgpack_pack_uint8(&f->pk, CVEC_ENC_POW2);
    msgpack_pack_uint8(&f->pk, D);
    msgpack_pack_bin_with_body(&f->pk, code, 184);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw_text(f, MR_EMALFORMED, "expected 3 for pow2");
    s_raw_head(f, MSG_VERSION, MSG_UPDATE, 7);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, CVEC_DENSE);
    msgpack_pack_uint8(&f->pk, D);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_uint8(&f->pk, CVEC_ENC_POW2);
    msgpack_pack_str_with_body(&f->pk, "113", 3);  // nnz as a str
    msgpack_pack_bin_with_body(&f->pk, code, 184);
    msgpack_pack_uint8(&f->pk, 1);
    s_expect_raw_text(f, MR_EMALFORMED, "'val.nnz' is a str");
}

static void
test_decode_rejects_oversize_and_bad_strings(void **state)
{
    fixture_t *f = *state;
    size_t big = 1024 * 1024 + 1;
    char *config = malloc(big + 1);
    assert_non_null(config);
    memset(config, 'x', big);
    config[big] = '\0';
    f->enc.type = MSG_RUN;
    f->enc.run = (run_info_t){.config = config};
    s_expect_reject(f, MR_EMALFORMED);
    assert_non_null(strstr(f->err.text, "'config' has 1048577 bytes"));
    config[big - 1] = '\0';  // exactly 1 MiB is fine
    s_round_trip(f);
    assert_int_equal(strlen(f->dec.run.config), big - 1);
    f->enc.run = (run_info_t){.name = config + big - 4098};  // 4097 bytes
    s_expect_reject(f, MR_EMALFORMED);
    f->enc.type = MSG_STOP;
    f->enc.status = "aborted";
    f->enc.reason = config;
    s_expect_reject(f, MR_EMALFORMED);
    free(config);

    // A NUL inside a string would cut it short in C; invalid UTF-8 would poison the database.
    const char *bad[] = {"ab\0cd", "\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"};
    const size_t len[] = {5, 1, 2, 3, 4, 1};
    for (size_t i = 0; i < sizeof len / sizeof len[0]; i++) {
        s_raw_head(f, MSG_VERSION, MSG_STOP, 2);
        msgpack_pack_str_with_body(&f->pk, "failed", 6);
        msgpack_pack_str_with_body(&f->pk, bad[i], len[i]);
        s_expect_raw(f, MR_EMALFORMED);
        assert_non_null(strstr(f->err.text, "UTF-8"));
    }
}

static void
test_decode_rejects_huge_container_claims(void **state)
{
    fixture_t *f = *state;
    // array32 / map32 announcing 2^32 - 1 elements in a handful of bytes: rejected before any
    // allocation, so no 100 GB request reaches malloc.
    const unsigned char arr[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x05};
    const unsigned char map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x05};
    const unsigned char nested[] = {0x93, 0x02, 0x03, 0xdd, 0x00, 0x10, 0x00, 0x00, 0x01};
    const unsigned char bin[] = {0x93, 0x02, 0x03, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};
    const unsigned char reserved[] = {0x93, 0x02, 0x03, 0xc1};
    assert_int_equal(msg_decode(&f->dec, arr, sizeof arr, &f->err), MR_EMALFORMED);
    assert_int_equal(msg_decode(&f->dec, map, sizeof map, &f->err), MR_EMALFORMED);
    assert_int_equal(msg_decode(&f->dec, nested, sizeof nested, &f->err), MR_EMALFORMED);
    assert_int_equal(msg_decode(&f->dec, bin, sizeof bin, &f->err), MR_EMALFORMED);
    assert_int_equal(msg_decode(&f->dec, reserved, sizeof reserved, &f->err), MR_EMALFORMED);

    // 40 nested one-element arrays: deeper than any message, rejected without recursion.
    unsigned char deep[41];
    memset(deep, 0x91, 40);
    deep[40] = 0x01;
    assert_int_equal(msg_decode(&f->dec, deep, sizeof deep, &f->err), MR_EMALFORMED);
}

//  What any successful decode must guarantee, whatever the bytes were.
static void
s_assert_valid(const msg_t *m, size_t dim)
{
    assert_true(m->type >= MSG_HELLO && m->type <= MSG_TYPE_LAST);
    switch (m->type) {
        case MSG_HELLO:
            assert_non_null(m->cfg_text);
            assert_true(m->role <= MSG_ROLE_ATTACKER);
            break;
        case MSG_REFUSE:
            assert_non_null(m->reason);
            assert_true(m->role <= MSG_ROLE_ATTACKER);
            break;
        case MSG_READY:
            assert_true(m->role <= MSG_ROLE_ATTACKER);
            break;
        case MSG_ROUND:
            assert_true(m->coin == 0 || m->coin == 1);
            if (m->has_g) {
                assert_int_equal(m->g.dim, dim);
                assert_true(vec_is_finite(&m->g));
            }
            assert_true(m->all_part == 0 || m->all_part == 1);
            if (m->all_part)
                assert_int_equal(m->npart, 0);
            for (size_t j = 1; j < m->npart; j++)
                assert_true(m->part[j] >= m->part[j - 1]);
            break;
        case MSG_UPDATE:
            assert_int_equal(m->up.dim, dim);
            assert_true(m->up.nnz <= dim);
            if (m->up.kind == CVEC_DENSE) {
                assert_int_equal(m->up.nnz, dim);
            } else {
                for (size_t j = 0; j < m->up.nnz; j++) {
                    assert_true(m->up.idx[j] < dim);
                    assert_true(j == 0 || m->up.idx[j] > m->up.idx[j - 1]);
                }
            }
            assert_true(cvec_is_finite(&m->up));
            for (size_t j = 0; j < m->up.nnz && m->up.enc == CVEC_ENC_LEVELS; j++) {
                const cvec_t *up = &m->up;
                size_t i = up->kind == CVEC_SPARSE ? up->idx[j] : j;
                assert_true(up->s >= 1 && up->t >= 1 && up->t <= dim);
                assert_true(up->lev[j] >= -(int32_t) up->s && up->lev[j] <= (int32_t) up->s);
                assert_true(up->norm[i / up->t] >= 0.0);
                assert_true(up->val[j] == cvec_level_value(up->norm[i / up->t], up->lev[j], up->s));
            }
            for (size_t j = 0; j < m->up.nnz && m->up.enc == CVEC_ENC_POW2; j++) {
                int e;
                assert_true(m->up.val[j] == 0.0 || fabs(frexp(m->up.val[j], &e)) == 0.5);
            }
            break;
        case MSG_METRICS:
            assert_true(isfinite(m->f));
            assert_true(vec_is_finite(&m->g));
            break;
        case MSG_RUN:
            assert_non_null(m->run.name);
            assert_non_null(m->run.config);
            assert_non_null(m->run.dataset);
            assert_non_null(m->run.problem);
            assert_true(isfinite(m->run.start_time));
            assert_false(isinf(m->run.f_star));
            break;
        case MSG_STATS:
            assert_false(isinf(m->stats.f));
            assert_false(isinf(m->stats.grad_norm_sq));
            assert_true(isfinite(m->stats.wall_time_s));
            assert_false(isinf(m->stats.gap));
            assert_true(m->stats.nworkers == 0 || m->stats.workers != NULL);
            for (uint32_t i = 0; i < m->stats.nworkers; i++)
                assert_true(m->stats.workers[i].sent == 0 || m->stats.workers[i].sent == 1);
            break;
        case MSG_STOP:
            assert_true(strcmp(m->status, "completed") == 0 || strcmp(m->status, "failed") == 0 ||
                        strcmp(m->status, "aborted") == 0);
            assert_non_null(m->reason);
            break;
        default:
            break;
    }
}

static void
test_decode_survives_random_garbage(void **state)
{
    (void) state;
    msg_t m;
    mr_err_t err;
    assert_int_equal(msg_init(&m, D_FUZZ), MR_OK);
    uint64_t seed = 0x5eed0001;
    unsigned char buf[96];
    int ok = 0;
    for (int trial = 0; trial < 6000; trial++) {
        size_t len = s_rand(&seed) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char) s_rand(&seed);
        // Half the buffers start like a message, [1, type, ...], so the field checks get fuzzed
        // and not just the first byte.
        if (trial % 2 == 1 && len >= 3) {
            buf[0] = (unsigned char) (0x90 | (s_rand(&seed) % 16));
            buf[1] = 0x01;
            buf[2] = (unsigned char) (1 + s_rand(&seed) % 10);
        }
        unsigned char *copy = malloc(len ? len : 1);  // exact size, so ASan sees overreads
        assert_non_null(copy);
        memcpy(copy, buf, len);
        if (msg_decode(&m, copy, len, &err) == MR_OK) {
            s_assert_valid(&m, D_FUZZ);
            ok++;
        } else {
            assert_true(err.rc < 0 && strlen(err.text) > 0);
        }
        free(copy);
    }
    print_message("random garbage: %d of 6000 buffers decoded to valid messages\n", ok);
    msg_fini(&m);
}

//  Packs one random MessagePack object of the kinds messages are made of (and a few they are not).
static void
s_pack_random_object(msgpack_packer *pk, uint64_t *seed)
{
    unsigned char bytes[8 * (D_FUZZ + 2)];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char) s_rand(seed);
    uint64_t r = s_rand(seed);
    switch (r % 16) {
        case 1: {
            uint64_t shift = s_rand(seed) % 64;
            msgpack_pack_uint64(pk, s_rand(seed) >> shift);
            break;
        }
        case 2:
            msgpack_pack_int64(pk, -(int64_t) (r >> 40));
            break;
        case 3:
            msgpack_pack_nil(pk);
            break;
        case 4:
            r & 16 ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
            break;
        case 5: {
            double d;
            memcpy(&d, bytes, 8);  // any bit pattern: NaN, Inf, subnormals
            msgpack_pack_double(pk, r & 16 ? d : (double) (r >> 50));
            break;
        }
        case 6: {
            static const char *const words[] = {"completed", "failed", "aborted", "", "x"};
            const char *w = words[(r >> 8) % 5];
            msgpack_pack_str_with_body(pk, w, strlen(w));
            break;
        }
        case 7:
            msgpack_pack_str_with_body(pk, bytes, (r >> 8) % 9);
            break;
        case 8:  // a vector of the right length, or one off
            msgpack_pack_bin_with_body(pk, bytes, 8 * (D_FUZZ - 1 + (r >> 8) % 3));
            break;
        case 9:  // uint32 ids: few and small, so some increase (sparse idx, ROUND participants)
            for (size_t i = 0; i < 4 * D_FUZZ; i += 4) {
                bytes[i] = (unsigned char) (bytes[i] % (2 * D_FUZZ));
                if (r & (1u << 20) && i > 0)  // half the time non-decreasing, repeats likely
                    bytes[i] = (unsigned char) (bytes[i - 4] + bytes[i] % 2);
                bytes[i + 1] = bytes[i + 2] = bytes[i + 3] = 0;
            }
            msgpack_pack_bin_with_body(pk, bytes, 4 * ((r >> 8) % (D_FUZZ + 2)));
            break;
        case 10:
            msgpack_pack_bin_with_body(pk, bytes, (r >> 8) % sizeof bytes);
            break;
        case 11:
            msgpack_pack_array(pk, (r >> 8) % 3);
            for (size_t i = 0; i < (r >> 8) % 3; i++)
                msgpack_pack_uint8(pk, 1);
            break;
        case 12: {  // a compact val: [enc, small ints and short bins...], sometimes the right shape
            size_t n = (r >> 8) % 2 ? 6 : 3;
            msgpack_pack_array(pk, n);
            msgpack_pack_uint8(pk, (uint8_t) (1 + (r >> 9) % 2));
            for (size_t i = 1; i < n; i++) {
                uint64_t q = s_rand(seed);
                if (q % 3 == 0)
                    msgpack_pack_bin_with_body(pk, bytes, (q >> 8) % 20);
                else
                    msgpack_pack_uint8(pk, (uint8_t) ((q >> 8) % (D_FUZZ + 2)));
            }
            break;
        }
        case 13: {  // STATS worker rows: 0 to 3 of 48 bytes, sent mostly 0 or 1, sometimes ragged
            unsigned char rows[3 * 48 + 1];
            for (size_t i = 0; i < sizeof rows; i++)
                rows[i] = (unsigned char) s_rand(seed);
            for (size_t w = 0; w < 3; w++) {
                memset(rows + 48 * w + 41, 0, 7);
                rows[48 * w + 40] = (unsigned char) (rows[48 * w + 40] % 3);  // 2: rejected
            }
            size_t len = 48 * ((r >> 8) % 4) + ((r >> 16) % 8 == 0);
            msgpack_pack_bin_with_body(pk, rows, len);
            break;
        }
        default:  // the other draws: small integers, valid as roles, kinds and coins
            msgpack_pack_uint64(pk, r >> 62);
            break;
    }
}

static void
test_decode_survives_random_objects(void **state)
{
    fixture_t *f = *state;
    msg_t m;
    mr_err_t err;
    assert_int_equal(msg_init(&m, D_FUZZ), MR_OK);
    // Most frames fail on some field; what matters is that none crashes and each success is valid.
    static const size_t nfields[] = {0, 6, 2, 1, 10, 7, 4, 2, 16, 21, 2, 4, 2, 3, 2, 4, 1};
    _Static_assert(sizeof nfields / sizeof nfields[0] == MSG_TYPE_LAST + 1,
                   "one field count per message type");
    uint64_t seed = 0x0b1ec75;
    int ok[MSG_TYPE_LAST + 1] = {0};
    for (int trial = 0; trial < 20000; trial++) {
        uint64_t type = 1 + s_rand(&seed) % MSG_TYPE_LAST;
        size_t n = nfields[type] + (s_rand(&seed) % 16 == 0 ? 1 : 0);
        s_raw_head(f, MSG_VERSION, type, n);
        for (size_t i = 0; i < n; i++)
            s_pack_random_object(&f->pk, &seed);
        unsigned char *copy = malloc(f->sb.size);
        assert_non_null(copy);
        memcpy(copy, f->sb.data, f->sb.size);
        if (msg_decode(&m, copy, f->sb.size, &err) == MR_OK) {
            s_assert_valid(&m, D_FUZZ);
            ok[m.type]++;
        }
        free(copy);
    }
    print_message("random objects: decoded hello %d ready %d ping %d round %d update %d "
                  "metrics %d resync %d run %d stats %d stop %d of 20000\n",
                  ok[1], ok[2], ok[3], ok[4], ok[5], ok[6], ok[7], ok[8], ok[9], ok[10]);
    msg_fini(&m);
}

//  Valid frames with one or two fields swapped for random objects: every field, the new ones
//  (participants, f_star, problem, gap, worker rows) included, is fuzzed next to valid neighbours.
static void
test_decode_survives_field_swaps(void **state)
{
    fixture_t *f = *state;
    msg_t enc, m;
    mr_err_t err;
    assert_int_equal(msg_init(&enc, D_FUZZ), MR_OK);
    assert_int_equal(msg_init(&m, D_FUZZ), MR_OK);
    msg_buf_t frames[S_NFRAMES];
    size_t n = s_valid_frames(&enc, D_FUZZ, frames);
    uint64_t seed = 0x5a4b;
    int ok[MSG_TYPE_LAST + 1] = {0}, total = 0;
    for (size_t i = 0; i < n; i++) {
        msgpack_zone zone;
        msgpack_object obj;
        size_t off = 0;
        assert_true(msgpack_zone_init(&zone, 1024));
        assert_int_equal(msgpack_unpack(frames[i].data, frames[i].size, &off, &zone, &obj),
                         MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(obj.type, MSGPACK_OBJECT_ARRAY);
        const msgpack_object_array *a = &obj.via.array;
        for (int trial = 0; trial < 1000; trial++) {
            size_t swap1 = 2 + s_rand(&seed) % (a->size - 2);
            size_t swap2 = trial % 2 ? 2 + s_rand(&seed) % (a->size - 2) : swap1;
            msgpack_sbuffer_clear(&f->sb);
            msgpack_pack_array(&f->pk, a->size);
            for (size_t j = 0; j < a->size; j++) {
                if (j == swap1 || j == swap2)
                    s_pack_random_object(&f->pk, &seed);
                else
                    msgpack_pack_object(&f->pk, a->ptr[j]);
            }
            unsigned char *copy = malloc(f->sb.size);
            assert_non_null(copy);
            memcpy(copy, f->sb.data, f->sb.size);
            if (msg_decode(&m, copy, f->sb.size, &err) == MR_OK) {
                s_assert_valid(&m, D_FUZZ);
                ok[m.type]++;
            } else {
                assert_true(err.rc < 0 && strlen(err.text) > 0);
            }
            total++;
            free(copy);
        }
        msgpack_zone_destroy(&zone);
    }
    print_message("field swaps: decoded hello %d ready %d ping %d round %d update %d metrics %d "
                  "resync %d run %d stats %d stop %d of %d\n",
                  ok[1], ok[2], ok[3], ok[4], ok[5], ok[6], ok[7], ok[8], ok[9], ok[10], total);
    s_free_frames(frames, n);
    msg_fini(&enc);
    msg_fini(&m);
}

static void
test_decode_survives_bit_flips(void **state)
{
    (void) state;
    msg_t enc, m;
    mr_err_t err;
    assert_int_equal(msg_init(&enc, D_FUZZ), MR_OK);
    assert_int_equal(msg_init(&m, D_FUZZ), MR_OK);
    msg_buf_t frames[S_NFRAMES];
    size_t n = s_valid_frames(&enc, D_FUZZ, frames);
    uint64_t seed = 0xf11b5;
    int ok = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        for (int trial = 0; trial < 800; trial++) {
            size_t len = frames[i].size;
            unsigned char *copy = malloc(len);
            assert_non_null(copy);
            memcpy(copy, frames[i].data, len);
            int flips = 1 + (int) (s_rand(&seed) % 4);
            for (int k = 0; k < flips; k++) {
                size_t bit = s_rand(&seed) % (8 * len);
                copy[bit / 8] ^= (unsigned char) (1u << (bit % 8));
            }
            if (msg_decode(&m, copy, len, &err) == MR_OK) {
                s_assert_valid(&m, D_FUZZ);
                ok++;
            }
            total++;
            free(copy);
        }
    }
    print_message("bit flips: %d of %d flipped frames still decoded to valid messages\n", ok,
                  total);
    s_free_frames(frames, n);
    msg_fini(&enc);
    msg_fini(&m);
}

//  A value near one of msgpack's size boundaries (an unsigned's forms, a bin's length).
static uint64_t
s_edge_uint(uint64_t *seed)
{
    static const uint64_t edges[] = {0,     1,     127,   128,        255,        256,
                                     65535, 65536, 65537, UINT32_MAX, 1ull << 32, UINT64_MAX};
    uint64_t r = s_rand(seed);
    return r % 3 == 0 ? r >> (r % 64) : edges[(r >> 32) % (sizeof edges / sizeof edges[0])];
}

//  The UPDATE fast path of msg_encode() writes the bytes the field-by-field packer writes, for
//  dense and sparse updates, with and without metrics (a dense gradient, a sparse one by value,
//  by column list, or as decoded), every unsigned at the edges of its msgpack forms, and bins
//  whose lengths cross 256 and 65,536 bytes.
static void
test_fast_update_encoding_equals_the_general_one(void **state)
{
    (void) state;
    static const size_t dims[] = {1, 2, 31, 40, 63, 64, 65, 5000, 8192, 9000, 20000};
    uint64_t seed = 0x5eedf00d;
    msg_buf_t fast = {0}, general = {0}, borrowed = {0};
    uint32_t *cols = malloc(20000 * sizeof *cols);
    double *src = malloc(20000 * sizeof *src);
    assert_non_null(cols);
    assert_non_null(src);
    int checked = 0;
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t d = dims[di];
        msg_t m;
        assert_int_equal(msg_init(&m, d), MR_OK);
        for (int trial = 0; trial < 40; trial++) {
            m.type = MSG_UPDATE;
            m.round = s_edge_uint(&seed);
            m.sender = (uint32_t) s_edge_uint(&seed);
            m.oracle_calls = s_edge_uint(&seed);
            cvec_t *up = &m.up;
            up->enc = CVEC_ENC_RAW;
            up->dim = d;
            up->kind = s_rand(&seed) % 2 ? CVEC_SPARSE : CVEC_DENSE;
            up->nnz = up->kind == CVEC_DENSE ? d : s_rand(&seed) % (d + 1);
            for (size_t j = 0, e = 0; j < d && e < up->nnz; j++)
                if (up->kind == CVEC_DENSE || d - j == up->nnz - e || s_rand(&seed) % 2)
                    up->idx[e] = (uint32_t) j, up->val[e++] = (double) s_rand(&seed) / 7e18 - 1.0;
            m.with_metrics = (int) (s_rand(&seed) % 2);
            m.f = trial == 0 ? -0.0 : (double) s_rand(&seed) / 3e17;
            //  The gradient: p non-zero coordinates (few: a sparse list; many: dense), a -0.0
            //  among them, sometimes named by a column list.
            size_t p = s_rand(&seed) % 3 == 0 ? d : s_rand(&seed) % (d / 2 + 1);
            vec_zero(&m.g);
            size_t ncols = 0;
            for (size_t j = 0; j < d; j++)
                if (s_rand(&seed) % d < p) {
                    m.g.x[j] = ncols == 0 ? -0.0 : (double) s_rand(&seed) / 1e19;
                    cols[ncols++] = (uint32_t) j;
                }
            m.g_cols = s_rand(&seed) % 2 ? cols : NULL;
            m.g_ncols = m.g_cols ? ncols : 0;
            m.mg_sparse = 0;
            assert_int_equal(msg_encode_how(&m, &general, 1), MR_OK);
            assert_int_equal(msg_encode(&m, &fast), MR_OK);
            assert_int_equal(fast.size, general.size);
            assert_memory_equal(fast.data, general.data, fast.size);
            //  The same gradient read from elsewhere (g_src, as a worker lends its method's),
            //  with g.x holding junk: the same bytes both ways.
            memcpy(src, m.g.x, d * sizeof *src);
            for (size_t j = 0; j < d; j++)
                m.g.x[j] = 12345.0;
            m.g_src = src;
            assert_int_equal(msg_encode_how(&m, &borrowed, 1), MR_OK);
            assert_int_equal(borrowed.size, general.size);
            assert_memory_equal(borrowed.data, general.data, general.size);
            assert_int_equal(msg_encode(&m, &borrowed), MR_OK);
            assert_int_equal(borrowed.size, general.size);
            assert_memory_equal(borrowed.data, general.data, general.size);
            m.g_src = NULL;
            memcpy(m.g.x, src, d * sizeof *src);
            //  Decoded (a sparse gradient stays the list it came as) and encoded again.
            mr_err_t err;
            msg_t back;
            assert_int_equal(msg_init(&back, d), MR_OK);
            if (m.sender != UINT32_MAX && msg_decode(&back, fast.data, fast.size, &err) == MR_OK) {
                assert_int_equal(msg_encode_how(&back, &general, 1), MR_OK);
                assert_int_equal(msg_encode(&back, &fast), MR_OK);
                assert_int_equal(fast.size, general.size);
                assert_memory_equal(fast.data, general.data, fast.size);
                checked++;
            }
            msg_fini(&back);
            checked++;
        }
        m.g_cols = NULL;
        msg_fini(&m);
    }
    assert_true(checked > 600);  // most decoded frames went through the second comparison too
    free(cols);
    free(src);
    msg_buf_fini(&fast);
    msg_buf_fini(&general);
    msg_buf_fini(&borrowed);
}

//  Decodes data both ways (the flat path where the frame fits it, and msgpack_unpack()'s tree):
//  the same return code and sentence, and for an accepted frame the same message (re-encoded to
//  the same bytes). Returns 1 if the frame was accepted.
static int
s_assert_paths_agree(msg_t *flat, msg_t *tree, const void *data, size_t len)
{
    mr_err_t ef = {0}, et = {0};
    int rf = msg_decode_how(flat, data, len, 0, &ef);
    int rt = msg_decode_how(tree, data, len, 1, &et);
    assert_int_equal(rf, rt);
    assert_string_equal(ef.text, et.text);
    if (rf != MR_OK)
        return 0;
    msg_buf_t bf = {0}, bt = {0};
    int cf = msg_encode(flat, &bf), ct = msg_encode(tree, &bt);
    assert_int_equal(cf, ct);
    if (cf == MR_OK) {
        assert_int_equal(bf.size, bt.size);
        assert_memory_equal(bf.data, bt.data, bf.size);
    }
    assert_int_equal(flat->with_metrics, tree->with_metrics);
    assert_int_equal(flat->metrics_bytes, tree->metrics_bytes);
    msg_buf_fini(&bf);
    msg_buf_fini(&bt);
    return 1;
}

//  Writes n big-endian bytes of v.
static void
s_put_be(msgpack_sbuffer *sb, unsigned char head, uint64_t v, size_t n)
{
    unsigned char b[9] = {head};
    for (size_t i = 0; i < n; i++)
        b[1 + i] = (unsigned char) (v >> (8 * (n - 1 - i)));
    msgpack_sbuffer_write(sb, (const char *) b, 1 + n);
}

//  The frame again with every top-level field in its widest form (wide = 0: uint64, int64, str32,
//  bin32: what the flat path reads) or in forms only the tree reads (wide = 1: an unsigned as
//  int64, a float64 that fits as float32). Returns 0 if the frame is not one array.
static int
s_repack(const void *data, size_t len, int wide, msgpack_sbuffer *sb)
{
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object o;
    size_t off = 0;
    int ok = msgpack_unpack(data, len, &off, &zone, &o) == MSGPACK_UNPACK_SUCCESS &&
             o.type == MSGPACK_OBJECT_ARRAY;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (ok)
        s_put_be(sb, 0xdd, o.via.array.size, 4);
    for (uint32_t i = 0; ok && i < o.via.array.size; i++) {
        const msgpack_object *e = &o.via.array.ptr[i];
        uint64_t u;
        switch (e->type) {
            case MSGPACK_OBJECT_POSITIVE_INTEGER:
                s_put_be(sb, wide ? 0xd3 : 0xcf, e->via.u64, 8);
                break;
            case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                s_put_be(sb, 0xd3, (uint64_t) e->via.i64, 8);
                break;
            case MSGPACK_OBJECT_STR:
                s_put_be(sb, 0xdb, e->via.str.size, 4);
                msgpack_sbuffer_write(sb, e->via.str.ptr, e->via.str.size);
                break;
            case MSGPACK_OBJECT_BIN:
                s_put_be(sb, 0xc6, e->via.bin.size, 4);
                msgpack_sbuffer_write(sb, e->via.bin.ptr, e->via.bin.size);
                break;
            case MSGPACK_OBJECT_FLOAT64:
                if (wide && (double) (float) e->via.f64 == e->via.f64) {
                    float x = (float) e->via.f64;
                    uint32_t w;
                    memcpy(&w, &x, sizeof w);
                    s_put_be(sb, 0xca, w, 4);
                } else {
                    memcpy(&u, &e->via.f64, sizeof u);
                    s_put_be(sb, 0xcb, u, 8);
                }
                break;
            default:
                msgpack_pack_object(&pk, *e);
                break;
        }
    }
    msgpack_zone_destroy(&zone);
    return ok;
}

//  The flat decoder (one array of scalars, strings and bins: most frames) and the object tree
//  agree on every valid frame, every truncation, bit flips, re-encodings of each field with every
//  MessagePack width, and random bytes.
static void
test_flat_and_tree_decoders_agree(void **state)
{
    (void) state;
    msg_t enc, flat, tree;
    assert_int_equal(msg_init(&enc, D_FUZZ), MR_OK);
    assert_int_equal(msg_init(&flat, D_FUZZ), MR_OK);
    assert_int_equal(msg_init(&tree, D_FUZZ), MR_OK);
    msg_buf_t frames[S_NFRAMES];
    size_t n = s_valid_frames(&enc, D_FUZZ, frames);
    uint64_t seed = 0xf1a7;
    int ok = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = frames[i].size;
        assert_true(s_assert_paths_agree(&flat, &tree, frames[i].data, len));
        for (int wide = 0; wide <= 1; wide++) {  // the same message in other widths
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            assert_true(s_repack(frames[i].data, len, wide, &sb));
            int rc = s_assert_paths_agree(&flat, &tree, sb.data, sb.size);
            if (wide == 0)
                assert_true(rc);  // accepted: each field's value is what its schema allows
            msgpack_sbuffer_destroy(&sb);
        }
        for (size_t cut = 0; cut < len; cut++)
            assert_false(s_assert_paths_agree(&flat, &tree, frames[i].data, cut));
        unsigned char *copy = malloc(len);
        assert_non_null(copy);
        for (int trial = 0; trial < 1500; trial++) {
            memcpy(copy, frames[i].data, len);
            int flips = 1 + (int) (s_rand(&seed) % 3);
            for (int k = 0; k < flips; k++) {
                size_t bit = s_rand(&seed) % (8 * len);
                copy[bit / 8] ^= (unsigned char) (1u << (bit % 8));
            }
            ok += s_assert_paths_agree(&flat, &tree, copy, len);
            total++;
        }
        free(copy);
    }
    //  Header-shaped random frames: [1, type, random objects...], with every integer, float and
    //  string width, nested arrays and maps, so that both paths see the types the flat one hands
    //  to the tree.
    for (int trial = 0; trial < 20000; trial++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        size_t fields = s_rand(&seed) % 24;
        msgpack_pack_array(&pk, 2 + fields);
        msgpack_pack_uint64(&pk, MSG_VERSION);
        msgpack_pack_uint64(&pk, 1 + s_rand(&seed) % MSG_TYPE_LAST);
        for (size_t j = 0; j < fields; j++)
            s_pack_random_object(&pk, &seed);
        ok += s_assert_paths_agree(&flat, &tree, sb.data, sb.size);
        total++;
        msgpack_sbuffer_destroy(&sb);
    }
    print_message("flat vs tree: %d of %d frames accepted by both, the rest refused alike\n", ok,
                  total);
    assert_true(ok > 0);
    s_free_frames(frames, n);
    msg_fini(&enc);
    msg_fini(&flat);
    msg_fini(&tree);
}

static void
test_decode_repeatedly_does_not_leak(void **state)
{
    fixture_t *f = *state;
    // RUN and STOP leave owned strings behind; the next decode (of any outcome) frees them, and
    // LeakSanitizer checks that nothing survives msg_fini() in the ASan build.
    f->enc.type = MSG_RUN;
    f->enc.run = (run_info_t){.name = "n",
                              .version = "v",
                              .config = "c",
                              .seed = 1,
                              .method = "m",
                              .compressor = "k",
                              .n = 1,
                              .dim = 1,
                              .dataset = "d"};
    f->enc.run.problem = "p";
    for (int i = 0; i < 200; i++) {
        s_round_trip(f);
        assert_string_equal(f->dec.run.method, "m");
        assert_string_equal(f->dec.run.problem, "p");
    }
    f->enc.type = MSG_STOP;
    f->enc.status = "completed";
    f->enc.reason = "done";
    s_round_trip(f);
    assert_null(f->dec.run.name);  // the RUN strings are gone, not dangling
    f->enc.type = MSG_RUN;
    s_round_trip(f);
    assert_int_equal(msg_decode(&f->dec, "\xc1", 1, &f->err), MR_EMALFORMED);
    assert_null(f->dec.run.config);

    // ROUND participants and STATS rows are buffers of the msg_t: they grow and are reused.
    uint32_t ids[64];
    worker_stats_t rows[64] = {{0}};
    for (int i = 0; i < 64; i++) {
        ids[i] = (uint32_t) i / 2;
        rows[i].sent = i % 2;
    }
    for (size_t n = 1; n <= 64; n = 2 * n + 1) {
        s_fill_round(&f->enc, n, ids, n);
        s_round_trip(f);
        assert_int_equal(f->dec.npart, n);
        f->enc.type = MSG_STATS;
        f->enc.stats = (round_stats_t){.nworkers = (uint32_t) n, .workers = rows};
        s_round_trip(f);
        assert_int_equal(f->dec.stats.nworkers, n);
    }
    f->enc.stats = (round_stats_t){0};
    msg_fini(&f->dec);
    msg_fini(&f->dec);  // twice is harmless
    assert_int_equal(msg_init(&f->dec, D), MR_OK);
}

static void
test_encode_reuses_its_buffer(void **state)
{
    fixture_t *f = *state;
    s_fill_dense(&f->enc, D);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    char *data = f->buf.data;
    size_t cap = f->buf.cap, size = f->buf.size;
    for (int i = 0; i < 100; i++) {
        f->enc.round = (uint64_t) i;
        assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
        assert_ptr_equal(f->buf.data, data);
        assert_int_equal(f->buf.cap, cap);
    }
    assert_int_equal(f->buf.size, size);
    f->enc.type = MSG_PING;  // a smaller message after a larger one: size shrinks, no realloc
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    assert_int_equal(f->buf.size, 4);
    assert_ptr_equal(f->buf.data, data);
}

static void
test_encode_rejects_unknown_type(void **state)
{
    fixture_t *f = *state;
    f->enc.type = (msg_type_t) 0;
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_EINVAL);
    msg_fini(&f->enc);
    assert_int_equal(msg_init(&f->enc, 0), MR_EINVAL);
    assert_int_equal(msg_init(&f->enc, D), MR_OK);
}

//  --------------------------------------------------------------------------------------------
//  Bit accounting

static void
test_index_bits_is_ceil_log2(void **state)
{
    (void) state;
    assert_int_equal(msg_index_bits(0), 0);
    assert_int_equal(msg_index_bits(1), 0);
    assert_int_equal(msg_index_bits(2), 1);
    assert_int_equal(msg_index_bits(3), 2);
    assert_int_equal(msg_index_bits(4), 2);
    assert_int_equal(msg_index_bits(113), 7);
    assert_int_equal(msg_index_bits(128), 7);
    assert_int_equal(msg_index_bits(129), 8);
    assert_int_equal(msg_index_bits((size_t) 1 << 20), 20);
    assert_int_equal(msg_index_bits(((size_t) 1 << 20) + 1), 21);
    assert_int_equal(msg_index_bits((size_t) 1 << 63), 63);
    assert_int_equal(msg_index_bits(((size_t) 1 << 63) + 1), 64);
    assert_int_equal(msg_index_bits(SIZE_MAX), 64);
}

static void
test_randk_update_costs_paper_and_model_bits(void **state)
{
    fixture_t *f = *state;
    s_fill_sparse(&f->enc, D, 10);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    msg_cost_t c = msg_update_cost(&f->enc.up, f->buf.size);
    assert_int_equal(c.bits_paper, 320);       // 10 values x 32 bits; indices free
    assert_int_equal(c.bits_model, 320 + 70);  // plus 10 indices x ceil(log2 113) = 7 bits
    assert_int_equal(c.bytes_wire, f->buf.size);
}

static void
test_dense_update_costs_32_bits_per_coordinate(void **state)
{
    fixture_t *f = *state;
    s_fill_dense(&f->enc, D);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    msg_cost_t c = msg_update_cost(&f->enc.up, f->buf.size);
    assert_int_equal(c.bits_paper, 32 * 113);
    assert_int_equal(c.bits_paper, 3616);
    assert_int_equal(c.bits_model, 3616);  // a dense vector names no indices
    assert_int_equal(c.bytes_wire, f->buf.size);
}

//  docs/protocol.md, "Counting bits", d = 113: each compact encoding's three numbers.
static void
test_compact_update_costs(void **state)
{
    fixture_t *f = *state;
    struct {
        const char *what;
        int levels, sparse;
        uint32_t s;
        size_t t, nnz;
        uint64_t paper, model, wire;
    } cases[] = {
        //  32 for the norm + 2 bits (sign, level) per coordinate
        {"dither s=1 dense", 1, 0, 1, D, D, 32 + 2 * 113, 258, 55},
        //  + 7 index bits per entry; wire: idx 2+10 bytes, lev 2+3
        {"dither s=1 sparse nnz=11", 1, 1, 1, D, 11, 32 + 2 * 11, 54 + 77, 40},
        //  8 blocks of 16 (the last one has 1 coordinate); 1 + ceil(log2 3) = 3 bits per level
        {"block t=16 s=2 dense", 1, 0, 2, 16, D, 8 * 32 + 3 * 113, 595, 125},
        //  ternary travels as levels with s = 1 and the scale max|x_i| as the norm
        {"ternary dense", 1, 0, 1, D, D, 258, 258, 55},
        //  1 + ceil(log2 17) = 6 bits per level
        {"dither s=16 dense", 1, 0, 16, D, D, 32 + 6 * 113, 710, 111},
        //  9 bits (sign + 8-bit exponent) per value; the wire uses 13
        {"natural dense", 0, 0, 0, 0, D, 9 * 113, 1017, 198},
        {"natural sparse nnz=10", 0, 1, 0, 0, 10, 90, 90 + 70, 41},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].levels)
            s_fill_levels(&f->enc, D, cases[i].sparse, cases[i].s, cases[i].t);
        else
            s_fill_pow2(&f->enc, D, cases[i].sparse);
        if (cases[i].sparse) {  // nnz entries spread over 0..d-1
            cvec_t *up = &f->enc.up;
            up->nnz = cases[i].nnz;
            for (size_t j = 0; j < up->nnz; j++) {
                up->idx[j] = (uint32_t) (j * D / up->nnz);
                if (cases[i].levels) {
                    up->lev[j] = 1;
                    up->val[j] = cvec_level_value(up->norm[up->idx[j] / up->t], 1, up->s);
                }
            }
        }
        assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
        msg_cost_t c = msg_update_cost(&f->enc.up, f->buf.size);
        print_message("%-26s bits_paper %5" PRIu64 "  bits_model %5" PRIu64 "  bytes_wire %4zu\n",
                      cases[i].what, c.bits_paper, c.bits_model, f->buf.size);
        assert_int_equal(c.bits_paper, cases[i].paper);
        assert_int_equal(c.bits_model, cases[i].model);
        assert_int_equal(c.bytes_wire, cases[i].wire);
        //  The receiver counts the same from the decoded update.
        s_round_trip(f);
        msg_cost_t d = msg_update_cost(&f->dec.up, f->buf.size);
        assert_int_equal(d.bits_paper, c.bits_paper);
        assert_int_equal(d.bits_model, c.bits_model);
    }
    //  TopK travels like RandK: raw values and uint32 indices.
    s_fill_sparse(&f->enc, D, 10);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    msg_cost_t c = msg_update_cost(&f->enc.up, f->buf.size);
    assert_int_equal(c.bits_paper, 320);
    assert_int_equal(c.bits_model, 390);
    assert_int_equal(c.bytes_wire, 132);
    assert_int_equal(msg_level_bits(1), 2);
    assert_int_equal(msg_level_bits(2), 3);
    assert_int_equal(msg_level_bits(3), 3);
    assert_int_equal(msg_level_bits(4), 4);
    assert_int_equal(msg_level_bits(16), 6);
    assert_int_equal(msg_level_bits(CVEC_MAX_LEVELS), 26);
}

static void
test_round_costs_g_only(void **state)
{
    (void) state;
    msg_t r;
    assert_int_equal(msg_init(&r, D), MR_OK);
    r.type = MSG_ROUND;
    msg_cost_t c0 = msg_round_cost(&r, 11);
    assert_int_equal(c0.bits_paper, 0);  // round 0 carries no vector
    assert_int_equal(c0.bits_model, 0);
    assert_int_equal(c0.bytes_wire, 11);
    r.has_g = 1;
    msg_cost_t c = msg_round_cost(&r, 926);  // the participant list is header, not vector
    assert_int_equal(c.bits_paper, 3616);
    assert_int_equal(c.bits_model, 3616);
    assert_int_equal(c.bytes_wire, 926);
    //  A patch of 5 entries: 32 bits a value (paper), plus ceil(log2 113) = 7 an index (model).
    vec_t prev;
    assert_int_equal(vec_init(&prev, D), MR_OK);
    for (size_t j = 0; j < 5; j++)
        prev.x[7 * j] = 1.0;
    assert_int_equal(msg_g_patch_build(&r, &prev), MR_OK);
    assert_int_equal(r.gp_nnz, 5);
    vec_fini(&prev);
    r.g_patch = 1;
    msg_cost_t p = msg_round_cost(&r, 100);
    assert_int_equal(p.bits_paper, 160);
    assert_int_equal(p.bits_model, 160 + 35);
    assert_int_equal(p.bytes_wire, 100);
    msg_fini(&r);
}

static void
test_frame_sizes_match_the_protocol_doc(void **state)
{
    fixture_t *f = *state;
    // docs/protocol.md, "Frame sizes": round 5, sender 3, oracle_calls 10, seq 6, d = 113.
    s_fill_sparse(&f->enc, D, 10);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t sparse = f->buf.size;
    s_fill_dense(&f->enc, D);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t dense = f->buf.size;
    f->enc.type = MSG_ROUND;
    f->enc.seq = 6;
    f->enc.has_g = 1;
    f->enc.g_digest = msg_g_digest(&f->enc.g);
    assert_true(f->enc.g_digest > UINT32_MAX);  // a uint64 object: 9 bytes
    assert_int_equal(msg_set_part(&f->enc, NULL, 0), MR_OK);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t round = f->buf.size;
    const uint32_t drawn[5] = {0, 3, 3, 8, 19};  // PP-MARINA, r = 5 of n = 20
    assert_int_equal(msg_set_part(&f->enc, drawn, 5), MR_OK);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t round_pp = f->buf.size;
    //  A patch of the 10 coordinates that changed since the previous g.
    vec_t prev;
    assert_int_equal(vec_init(&prev, D), MR_OK);
    vec_copy(&prev, &f->enc.g);
    for (size_t j = 0; j < 10; j++)
        prev.x[11 * j] += 1.0;
    assert_int_equal(msg_g_patch_build(&f->enc, &prev), MR_OK);
    assert_int_equal(f->enc.gp_nnz, 10);
    vec_fini(&prev);
    f->enc.g_patch = 1;
    assert_int_equal(msg_set_part(&f->enc, NULL, 0), MR_OK);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t round_patch = f->buf.size;
    f->enc.g_patch = 0;
    f->enc.has_g = 0;
    f->enc.round = 0;
    assert_int_equal(msg_set_part(&f->enc, NULL, 0), MR_OK);
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t round0 = f->buf.size;
    f->enc.type = MSG_METRICS;
    for (size_t j = 0; j < D; j++)
        f->enc.g.x[j] = 1.0 + (double) j;  // dense (no +0.0): 8 d bytes
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t metrics = f->buf.size;
    //  STATS (control traffic, never counted): all small counters, with and without n = 20 rows.
    worker_stats_t rows[20] = {{0}};
    f->enc.type = MSG_STATS;
    f->enc.stats = (round_stats_t){.round = 5, .f = 0.5, .grad_norm_sq = 0.5, .gap = 0.5};
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t stats = f->buf.size;
    f->enc.stats.nworkers = 20;
    f->enc.stats.workers = rows;
    assert_int_equal(msg_encode(&f->enc, &f->buf), MR_OK);
    size_t stats20 = f->buf.size;
    print_message("frame bytes (d = 113): update randk10 %zu, update dense %zu, round %zu, "
                  "round r=5 %zu, round 0 %zu, round patch10 %zu, metrics %zu, stats %zu, "
                  "stats n=20 %zu\n",
                  sparse, dense, round, round_pp, round0, round_patch, metrics, stats, stats20);
    assert_int_equal(sparse, 132);  // 7 one-byte objects + idx 2+40 + val 2+80 + 1
    assert_int_equal(dense, 916);   // 8 one-byte objects + val 3+904 + 1
    // 6 one-byte objects + g 3+904 + nil part 1, nil patch 2, digest 9, metrics 1, checkpoint 1
    assert_int_equal(round, 927);
    assert_int_equal(round_pp, 948);     // ... with part 2+20
    assert_int_equal(round0, 13);        // 13 one-byte objects: nil g, part, patch; digest 0
    assert_int_equal(round_patch, 143);  // 6 + nil g, part 2 + idx 2+40 + val 2+80 + 9 + 1 + 1
    assert_int_equal(metrics, 921);      // 5 one-byte objects + f 9 + grad 3+904
    //  array16 header 3 + version, type 2 + round, coin 2 + f, grad_norm_sq 2·9 + 8 counters
    //  and participants 9 + wall_time_s 9 + gap 9 + nil workers 1 + accepted, rejected 2 +
    //  agg_dist_sq 9 + empty rejections 1 + bytes_metrics 1
    assert_int_equal(stats, 3 + 2 + 2 + 18 + 9 + 9 + 9 + 1 + 2 + 9 + 1 + 1);
    assert_int_equal(stats20, 66 - 1 + 3 + 20 * 48);  // workers: bin16, 3 + 960 bytes
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
        T(test_hello_round_trips),
        T(test_hello_carries_the_configuration_check),
        T(test_refuse_round_trips),
        T(test_field_errors_name_the_sender_and_round),
        T(test_ready_round_trips),
        T(test_ping_round_trips),
        T(test_ack_state_checkpoint_round_trip),
        T(test_round_zero_has_nil_g),
        T(test_round_patch_rebuilds_g_bit_for_bit),
        cmocka_unit_test(test_g_update_equals_copy_patch_and_digest),
        cmocka_unit_test(test_g_update_marked_equals_g_update),
        cmocka_unit_test(test_fast_update_encoding_equals_the_general_one),
        T(test_decode_rejects_bad_patches),
        T(test_round_k_carries_g),
        T(test_round_carries_participants),
        T(test_decode_rejects_unsorted_or_ragged_participants),
        T(test_dense_update_round_trips),
        T(test_sparse_update_round_trips),
        T(test_compressed_updates_round_trip_bit_for_bit),
        T(test_encode_rejects_an_inconsistent_compact_update),
        T(test_metrics_round_trips),
        T(test_update_with_metrics_round_trips),
        T(test_bundle_round_trips),
        T(test_join_round_trips_and_refuses_a_bad_iterate),
        T(test_a_sparse_metrics_gradient_travels_sparse_and_exact),
        T(test_a_metrics_gradient_with_its_columns_encodes_the_same_bytes),
        T(test_resync_round_trips),
        T(test_run_round_trips),
        T(test_stats_round_trips_with_nan_f),
        T(test_stats_round_trips_per_worker_rows),
        T(test_decode_rejects_bad_worker_rows),
        T(test_stop_round_trips),
        T(test_decoding_ints_and_coins_accepts_every_encoding),
        T(test_decode_rejects_wrong_version),
        T(test_decode_rejects_unknown_type),
        T(test_decode_rejects_wrong_field_count),
        T(test_decode_rejects_wrong_field_type),
        T(test_decode_rejects_every_truncation),
        T(test_decode_rejects_trailing_byte),
        T(test_decode_rejects_wrong_dimension),
        T(test_decode_rejects_unsorted_or_out_of_range_idx),
        T(test_decode_rejects_nan_and_inf),
        T(test_decode_rejects_bad_compact_updates),
        T(test_decode_rejects_oversize_and_bad_strings),
        T(test_decode_rejects_huge_container_claims),
        T(test_decode_survives_random_garbage),
        T(test_decode_survives_random_objects),
        T(test_decode_survives_field_swaps),
        T(test_decode_survives_bit_flips),
        T(test_flat_and_tree_decoders_agree),
        T(test_decode_repeatedly_does_not_leak),
        T(test_encode_reuses_its_buffer),
        T(test_encode_rejects_unknown_type),
        T(test_index_bits_is_ceil_log2),
        T(test_randk_update_costs_paper_and_model_bits),
        T(test_dense_update_costs_32_bits_per_coordinate),
        T(test_compact_update_costs),
        T(test_round_costs_g_only),
        T(test_frame_sizes_match_the_protocol_doc),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
