//  test_cfg.c - cfg.h: the configuration a HELLO carries (cfg_join_text()), numbers, files.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cfg.h"

static void
test_join_text_is_canonical(void **state)
{
    cfg_t a, b;
    mr_err_t err;
    assert_int_equal(cfg_init(&a), MR_OK);
    assert_int_equal(cfg_init(&b), MR_OK);
    //  The same numbers written differently give the same text.
    assert_int_equal(cfg_apply_arg(&a, "k=10", "a", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&b, "k=1e1", "b", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&a, "gamma=0.5", "a", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&b, "gamma=.50", "b", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&a, "bias=yes", "a", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&b, "bias=ON", "b", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&a, "synth_density=0.1", "a", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&b, "synth_density=1e-1", "b", &err), MR_OK);
    char *ta = cfg_join_text(&a), *tb = cfg_join_text(&b);
    assert_string_equal(ta, tb);
    assert_non_null(strstr(ta, "\nk=10\n"));
    assert_non_null(strstr(ta, "\ngamma=0.5\n"));
    assert_non_null(strstr(ta, "\nbias=true\n"));
    assert_non_null(strstr(ta, "\nsynth_density=0.10000000000000001\n"));
    assert_non_null(strstr(ta, "\np=theory\n"));
    assert_true(strncmp(ta, "method=marina\ncompressor=randk\n", 31) == 0);
    free(ta);
    free(tb);
    cfg_fini(&a);
    cfg_fini(&b);
}

static void
test_join_text_leaves_out_the_per_actor_keys(void **state)
{
    cfg_t a, b;
    mr_err_t err;
    assert_int_equal(cfg_init(&a), MR_OK);
    assert_int_equal(cfg_init(&b), MR_OK);
    const char *local[] = {"db=x.db",      "name=run",         "transport=ipc", "timeout_s=3",
                           "progress_s=0", "rounds=7",         "stop_at=0.5",   "stop_gap=1",
                           "fstar=off",    "dataset=/data/a9a"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        assert_int_equal(cfg_apply_arg(&b, local[i], "b", &err), MR_OK);
    char *ta = cfg_join_text(&a), *tb = cfg_join_text(&b);
    assert_string_equal(ta, tb);
    assert_null(strstr(ta, "db="));
    assert_null(strstr(ta, "rounds="));
    assert_true(cfg_key_is_local("timeout_s"));
    assert_false(cfg_key_is_local("seed"));
    free(ta);
    free(tb);
    //  A key that matters changes the text.
    assert_int_equal(cfg_apply_arg(&b, "seed=2", "b", &err), MR_OK);
    tb = cfg_join_text(&b);
    ta = cfg_join_text(&a);
    assert_string_not_equal(ta, tb);
    free(ta);
    free(tb);
    cfg_fini(&a);
    cfg_fini(&b);
}

static void
test_numbers_are_decimal_and_configs_are_files(void **state)
{
    (void) state;
    cfg_t c;
    mr_err_t err;
    assert_int_equal(cfg_init(&c), MR_OK);
    //  strtod would read these as 16, 1, infinity and NaN.
    const char *bad[] = {"k=0x10", "gamma=0x1p0", "gamma=inf", "gamma=nan", "k=1O"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cfg_apply_arg(&c, bad[i], "argument 1", &err), MR_ECONFIG);
        assert_non_null(strstr(err.text, "argument 1"));
        assert_non_null(strstr(err.text, "is not a"));
    }
    assert_int_equal(cfg_apply_arg(&c, "gamma=-2.5e-3", "a", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&c, "k=+12", "a", &err), MR_OK);
    assert_int_equal(cfg_int(&c, "k"), 12);
    //  A directory is no config file (it used to read as empty: the demo ran).
    assert_int_equal(cfg_load_file(&c, "/tmp", &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "/tmp is not a regular file (a directory)"));
    assert_int_equal(cfg_load_file(&c, "/nonexistent/x.ini", &err), MR_EIO);
    cfg_fini(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_text_is_canonical),
        cmocka_unit_test(test_join_text_leaves_out_the_per_actor_keys),
        cmocka_unit_test(test_numbers_are_decimal_and_configs_are_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
