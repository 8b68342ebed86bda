//  test_cfg.c - cfg.h: the configuration a HELLO carries (cfg_join_text()).
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_text_is_canonical),
        cmocka_unit_test(test_join_text_leaves_out_the_per_actor_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
