//  test_sha256.c - sha256.h against the FIPS 180-4 / NIST example digests, chunked input, files.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "test_util.h"

//  The NIST examples for SHA-256 (FIPS 180-4 "Examples with intermediate values"; the empty
//  message and one million 'a' from the NIST test vectors).
static void
test_matches_the_nist_examples(void **state)
{
    (void) state;
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    //  448 bits: the padding needs a second block.
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    sha256_hex(million, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void
test_chunked_updates_equal_one_update(void **state)
{
    //  Chunks of 1, 7, 63, 64 and 65 bytes cross the 64-byte blocks every way.
    (void) state;
    uint8_t msg[1000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t) (i * 131 + 7);
    char whole[SHA256_HEX_LEN + 1];
    sha256_hex(msg, sizeof msg, whole);
    const size_t chunks[] = {1, 7, 63, 64, 65};
    for (size_t c = 0; c < 5; c++) {
        sha256_t s;
        sha256_init(&s);
        for (size_t at = 0; at < sizeof msg; at += chunks[c])
            sha256_update(&s, msg + at, sizeof msg - at < chunks[c] ? sizeof msg - at : chunks[c]);
        uint8_t d[32];
        sha256_final(&s, d);
        char hex[SHA256_HEX_LEN + 1];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        assert_string_equal(hex, whole);
    }
}

static void
test_file_digest_equals_its_bytes_digest(void **state)
{
    (void) state;
    char dir[] = "/tmp/marina-sha256-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("abc", f);
    fclose(f);
    char hex[SHA256_HEX_LEN + 1];
    assert_int_equal(sha256_file(path, hex, NULL), MR_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(path);
    mr_err_t err = {0};
    assert_int_equal(sha256_file(path, hex, &err), MR_EIO);  // gone: the error names it
    assert_non_null(strstr(err.text, path));
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_the_nist_examples),
        cmocka_unit_test(test_chunked_updates_equal_one_update),
        cmocka_unit_test(test_file_digest_equals_its_bytes_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
