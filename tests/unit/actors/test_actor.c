//  test_actor.c - actor.h: the key-by-key comparison of two HELLO configurations.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "actor.h"

static void
test_equal_configurations_have_no_difference(void **state)
{
    char out[128];
    assert_int_equal(actor_config_diff("k=10\nseed=1\n", "k=10\nseed=1\n", out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void
test_diff_names_every_differing_key_with_both_values(void **state)
{
    char out[160];
    const char *server = "method=marina\nk=10\nseed=1\ngamma=theory\n";
    const char *worker = "method=marina\nk=5\nseed=7\ngamma=theory\n";
    assert_int_equal(actor_config_diff(server, worker, out, sizeof out), 2);
    assert_string_equal(out, "k = 5 (server: 10), seed = 7 (server: 1)");
}

static void
test_diff_reports_keys_on_one_side_only(void **state)
{
    char out[160];
    //  A key is not a prefix of another: "k" must not match "kk".
    assert_int_equal(actor_config_diff("k=1\nr=0\n", "kk=1\nk=1\n", out, sizeof out), 2);
    assert_string_equal(out, "kk = 1 (server: (none)), r = (none) (server: 0)");
}

static void
test_diff_is_cut_short_but_terminated(void **state)
{
    char out[12];
    assert_int_equal(actor_config_diff("a=1\nb=2\n", "a=3\nb=4\n", out, sizeof out), 2);
    assert_int_equal(strlen(out), sizeof out - 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_configurations_have_no_difference),
        cmocka_unit_test(test_diff_names_every_differing_key_with_both_values),
        cmocka_unit_test(test_diff_reports_keys_on_one_side_only),
        cmocka_unit_test(test_diff_is_cut_short_but_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
