//  test_digest.c - digest.h: FNV-1a 64 against the published test vectors, and the helpers'
//  byte order.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "digest.h"

static void
test_fnv1a_matches_the_published_vectors(void **state)
{
    //  From the FNV reference test suite (Fowler, Noll, Vo): "", "a", "foobar".
    assert_true(digest_str("") == 0xcbf29ce484222325ull);
    assert_true(digest_str("a") == 0xaf63dc4c8601ec8cull);
    assert_true(digest_str("foobar") == 0x85944171f73967e8ull);
}

static void
test_fnv1a_continues_across_calls(void **state)
{
    uint64_t h = digest_fnv1a(DIGEST_FNV_OFFSET, "foo", 3);
    assert_true(digest_fnv1a(h, "bar", 3) == digest_str("foobar"));
}

static void
test_u64_and_f64_hash_little_endian_bytes(void **state)
{
    const unsigned char le[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    assert_true(digest_u64(DIGEST_FNV_OFFSET, 0x0102030405060708ull) ==
                digest_fnv1a(DIGEST_FNV_OFFSET, le, 8));
    //  1.0 is 0x3ff0000000000000; -0.0 and 0.0 differ in one bit and so in the hash.
    assert_true(digest_f64(DIGEST_FNV_OFFSET, 1.0) ==
                digest_u64(DIGEST_FNV_OFFSET, 0x3ff0000000000000ull));
    assert_true(digest_f64(DIGEST_FNV_OFFSET, 0.0) != digest_f64(DIGEST_FNV_OFFSET, -0.0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_matches_the_published_vectors),
        cmocka_unit_test(test_fnv1a_continues_across_calls),
        cmocka_unit_test(test_u64_and_f64_hash_little_endian_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
