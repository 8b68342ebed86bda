//  test_msg_sketch.c - msg.h: the SKETCH encoding of an UPDATE (SEGA's Gaussian sketch
//  coefficients, docs/protocol.md "Sketch coefficients"): round trip, cost, and what the encoder
//  and the decoder refuse.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "msg.h"
#include "test_util.h"

enum {
    D = 10,  // the run's d
};

typedef struct {
    msg_t out;           // what a worker encodes
    msg_t in;            // what the server decodes into
    msg_buf_t buf;       // the encoded frame
    msgpack_sbuffer sb;  // hand-made frames
    msgpack_packer pk;   // packs into sb
    mr_err_t err;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(msg_init(&f->out, D), MR_OK);
    assert_int_equal(msg_init(&f->in, D), MR_OK);
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    msg_fini(&f->out);
    msg_fini(&f->in);
    msg_buf_fini(&f->buf);
    msgpack_sbuffer_destroy(&f->sb);
    free(f);
    return 0;
}

//  f->out becomes worker 3's round-7 UPDATE of b sketch coefficients 0.5 j - 1 (j < b).
static void
s_sketch_update(fixture_t *f, size_t b)
{
    msg_t *m = &f->out;
    m->type = MSG_UPDATE;
    m->round = 7;
    m->sender = 3;
    m->oracle_calls = 200;
    m->up.kind = CVEC_SPARSE;
    m->up.enc = CVEC_ENC_SKETCH;
    m->up.dim = D;
    m->up.nnz = b;
    for (size_t j = 0; j < b; j++) {
        m->up.idx[j] = (uint32_t) j;
        m->up.val[j] = 0.5 * (double) j - 1.0;
    }
}

//  A hand-made UPDATE frame [1, 5, 7, 3, kind, dim, idx, val, 200] whose val is the array
//  [enc, b, coef] with ncoef float64 coefficients (or, if ncoef_bytes is set, that many bytes).
typedef struct {
    uint64_t kind, dim, enc, b;
    int idx_bin;        // 1: idx is an empty bin instead of nil
    size_t ncoef;       // coefficients in coef
    int extra;          // 1: a fourth element in val
    double bad;         // if nonzero, coefficient 0 is this value
    size_t coef_bytes;  // if nonzero, coef is a bin of this many zero bytes instead
} s_frame_t;

static void
s_pack_frame(fixture_t *f, const s_frame_t *fr)
{
    msgpack_sbuffer_clear(&f->sb);
    msgpack_packer *pk = &f->pk;
    msgpack_pack_array(pk, 9);
    msgpack_pack_uint64(pk, MSG_VERSION);
    msgpack_pack_uint64(pk, MSG_UPDATE);
    msgpack_pack_uint64(pk, 7);
    msgpack_pack_uint64(pk, 3);
    msgpack_pack_uint64(pk, fr->kind);
    msgpack_pack_uint64(pk, fr->dim);
    if (fr->idx_bin)
        msgpack_pack_bin(pk, 0);
    else
        msgpack_pack_nil(pk);
    msgpack_pack_array(pk, 3 + (fr->extra ? 1 : 0));
    msgpack_pack_uint64(pk, fr->enc);
    msgpack_pack_uint64(pk, fr->b);
    if (fr->coef_bytes) {
        unsigned char *zero = calloc(fr->coef_bytes, 1);
        assert_non_null(zero);
        msgpack_pack_bin(pk, fr->coef_bytes);
        msgpack_pack_bin_body(pk, zero, fr->coef_bytes);
        free(zero);
    } else {
        msgpack_pack_bin(pk, 8 * fr->ncoef);
        for (size_t j = 0; j < fr->ncoef; j++) {
            double v = j == 0 && fr->bad != 0.0 ? fr->bad : 0.25 * (double) j;
            unsigned char le[8];
            uint64_t u;
            memcpy(&u, &v, 8);
            for (int k = 0; k < 8; k++)
                le[k] = (unsigned char) (u >> (8 * k));
            msgpack_pack_bin_body(pk, le, 8);
        }
    }
    if (fr->extra)
        msgpack_pack_uint64(pk, 0);
    msgpack_pack_uint64(pk, 200);
}

static int
s_decode_frame(fixture_t *f, const s_frame_t *fr)
{
    s_pack_frame(f, fr);
    return msg_decode(&f->in, f->sb.data, f->sb.size, &f->err);
}

//  A valid frame of b coefficients; tests change one thing.
static s_frame_t
s_good(size_t b)
{
    return (s_frame_t){.kind = CVEC_SPARSE, .dim = D, .enc = CVEC_ENC_SKETCH, .b = b, .ncoef = b};
}

static void
test_sketch_update_round_trips_bit_for_bit(void **state)
{
    fixture_t *f = *state;
    for (size_t b = 1; b <= D; b++) {
        s_sketch_update(f, b);
        assert_int_equal(msg_encode(&f->out, &f->buf), MR_OK);
        assert_int_equal(msg_decode(&f->in, f->buf.data, f->buf.size, &f->err), MR_OK);
        const cvec_t *up = &f->in.up;
        assert_int_equal(f->in.type, MSG_UPDATE);
        assert_int_equal(f->in.round, 7);
        assert_int_equal(f->in.sender, 3);
        assert_int_equal(f->in.oracle_calls, 200);
        assert_int_equal(up->enc, CVEC_ENC_SKETCH);
        assert_int_equal(up->kind, CVEC_SPARSE);
        assert_int_equal(up->dim, D);
        assert_int_equal(up->nnz, b);
        assert_memory_equal(up->val, f->out.up.val, b * sizeof(double));
        for (size_t j = 0; j < b; j++)
            assert_int_equal(up->idx[j], j);
        //  Header 8 one-byte objects; val: array 1 + enc 1 + b 1 + bin 2 + 8 b; oracle_calls
        //  200 is a uint8 (2 bytes).
        assert_int_equal(f->buf.size, 8 + 5 + 8 * b + 2);
    }
}

static void
test_sketch_update_costs_32_bits_per_coefficient(void **state)
{
    fixture_t *f = *state;
    s_sketch_update(f, 4);
    assert_int_equal(msg_encode(&f->out, &f->buf), MR_OK);
    msg_cost_t c = msg_update_cost(&f->out.up, f->buf.size);
    assert_int_equal(c.bits_paper, 32 * 4);
    assert_int_equal(c.bits_model, 32 * 4);  // no indices: S is redrawn from the shared seed
    assert_int_equal(c.bytes_wire, f->buf.size);
    //  A raw sparse update of 4 values pays for its indices in bits_model.
    cvec_t raw = f->out.up;
    raw.enc = CVEC_ENC_RAW;
    c = msg_update_cost(&raw, 0);
    assert_int_equal(c.bits_model, 32 * 4 + 4 * msg_index_bits(D));
}

static void
test_encode_refuses_an_inconsistent_sketch(void **state)
{
    fixture_t *f = *state;
    s_sketch_update(f, 3);
    f->out.up.idx[1] = 5;  // vec.h: idx[j] = j
    assert_int_equal(msg_encode(&f->out, &f->buf), MR_EINVAL);
    s_sketch_update(f, 3);
    f->out.up.kind = CVEC_DENSE;
    assert_int_equal(msg_encode(&f->out, &f->buf), MR_EINVAL);
    s_sketch_update(f, 3);
    f->out.up.nnz = 0;
    assert_int_equal(msg_encode(&f->out, &f->buf), MR_EINVAL);
}

static void
test_decode_accepts_a_hand_made_sketch(void **state)
{
    fixture_t *f = *state;
    s_frame_t fr = s_good(4);
    assert_int_equal(s_decode_frame(f, &fr), MR_OK);
    assert_int_equal(f->in.up.enc, CVEC_ENC_SKETCH);
    assert_int_equal(f->in.up.nnz, 4);
    assert_near(f->in.up.val[3], 0.75, 0);
}

//  Decodes fr, expects rc and an err text containing what.
static void
s_expect(fixture_t *f, s_frame_t fr, int rc, const char *what)
{
    assert_int_equal(s_decode_frame(f, &fr), rc);
    if (!strstr(f->err.text, what))
        fail_msg("expected '%s' in \"%s\"", what, f->err.text);
}

static void
test_decode_rejects_bad_sketches(void **state)
{
    fixture_t *f = *state;
    s_frame_t fr;
    fr = s_good(0);
    s_expect(f, fr, MR_EDIM, "'val.b' is 0");
    fr = s_good(D + 1);
    s_expect(f, fr, MR_EDIM, "'val.b' is 11");
    fr = s_good(3);
    fr.ncoef = 2;  // 16 bytes for b = 3
    s_expect(f, fr, MR_EDIM, "'val.coef' has 16 bytes");
    fr = s_good(3);
    fr.coef_bytes = 23;
    s_expect(f, fr, MR_EDIM, "'val.coef' has 23 bytes");
    fr = s_good(3);
    fr.bad = NAN;
    s_expect(f, fr, MR_ENONFINITE, "NaN");
    fr = s_good(3);
    fr.bad = -INFINITY;
    s_expect(f, fr, MR_ENONFINITE, "-Inf");
    fr = s_good(3);
    fr.kind = CVEC_DENSE;
    s_expect(f, fr, MR_EMALFORMED, "must have kind 1");
    fr = s_good(3);
    fr.idx_bin = 1;
    s_expect(f, fr, MR_EMALFORMED, "idx nil");
    fr = s_good(3);
    fr.extra = 1;
    s_expect(f, fr, MR_EMALFORMED, "expected 3 for sketch");
    fr = s_good(3);
    fr.enc = 4;
    s_expect(f, fr, MR_EMALFORMED, "'val.enc' is 4");
    fr = s_good(3);
    fr.dim = D + 1;
    s_expect(f, fr, MR_EDIM, "got dim 11");
}

static void
test_decode_of_every_prefix_fails_cleanly(void **state)
{
    fixture_t *f = *state;
    s_sketch_update(f, 5);
    assert_int_equal(msg_encode(&f->out, &f->buf), MR_OK);
    for (size_t n = 0; n < f->buf.size; n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, f->buf.data, n);
        assert_int_not_equal(msg_decode(&f->in, copy, n, &f->err), MR_OK);
        free(copy);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sketch_update_round_trips_bit_for_bit, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sketch_update_costs_32_bits_per_coefficient, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_encode_refuses_an_inconsistent_sketch, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_accepts_a_hand_made_sketch, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_rejects_bad_sketches, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_of_every_prefix_fails_cleanly, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
