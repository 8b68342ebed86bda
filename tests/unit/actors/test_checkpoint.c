//  test_checkpoint.c - the checkpoint container (actors/checkpoint.h): what is packed reads back
//  part for part; one of another run (n, configuration digest), one cut short or with bytes left
//  over is refused with a sentence, never misread.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "checkpoint.h"

static void
s_pack(state_t *out, uint64_t digest)
{
    static const uint8_t g[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t server[3] = {7, 7, 7}, a[2] = {1, 2}, b[1] = {9};
    const uint8_t *seats[3] = {a, NULL, b};
    size_t lens[3] = {sizeof a, 0, sizeof b};
    checkpoint_t c = {41, digest, 2.5, 3, g, sizeof g, server, sizeof server, seats, lens};
    state_init_save(out);
    mr_err_t err;
    assert_int_equal(checkpoint_pack(&c, out, &err), MR_OK);
}

static void
test_a_packed_checkpoint_reads_back(void **state)
{
    (void) state;
    state_t st;
    s_pack(&st, 0xabcdef);
    checkpoint_t c;
    mr_err_t err;
    assert_int_equal(checkpoint_parse(st.data, st.size, 3, 0xabcdef, &c, &err), MR_OK);
    assert_int_equal(c.round, 41);
    assert_true(c.elapsed_s == 2.5);
    assert_int_equal(c.g_bytes, 16);
    assert_int_equal(c.g[15], 16);
    assert_int_equal(c.server_bytes, 3);
    assert_int_equal(c.seat_bytes[0], 2);
    assert_int_equal(c.seat[0][1], 2);
    assert_int_equal(c.seat_bytes[1], 0);
    assert_int_equal(c.seat_bytes[2], 1);
    assert_int_equal(c.seat[2][0], 9);
    checkpoint_fini(&c);
    state_fini(&st);
}

static void
test_a_foreign_or_broken_checkpoint_is_refused(void **state)
{
    (void) state;
    state_t st;
    s_pack(&st, 0xabcdef);
    checkpoint_t c;
    mr_err_t err;
    assert_int_equal(checkpoint_parse(st.data, st.size, 4, 0xabcdef, &c, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "3 workers, the run 4"));
    assert_int_equal(checkpoint_parse(st.data, st.size, 3, 0x123, &c, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "another configuration"));
    for (size_t cut = 0; cut < st.size; cut += 7) {
        assert_int_not_equal(checkpoint_parse(st.data, cut, 3, 0xabcdef, &c, &err), MR_OK);
        assert_non_null(strstr(err.text, "the checkpoint"));
    }
    uint8_t longer[512];
    assert_true(st.size + 1 <= sizeof longer);
    memcpy(longer, st.data, st.size);
    longer[st.size] = 0;
    assert_int_equal(checkpoint_parse(longer, st.size + 1, 3, 0xabcdef, &c, &err), MR_EMALFORMED);
    assert_non_null(strstr(err.text, "left over"));
    memcpy(longer, "not-a-checkpoint", 16);
    assert_int_equal(checkpoint_parse(longer, st.size, 3, 0xabcdef, &c, &err), MR_EMALFORMED);
    state_fini(&st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_packed_checkpoint_reads_back),
        cmocka_unit_test(test_a_foreign_or_broken_checkpoint_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
