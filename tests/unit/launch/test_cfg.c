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

//  Reads the INI text cfg_to_ini() writes for the child processes back into a fresh cfg_t and
//  checks that every value is the same (what launch/marina.c relies on).
static void
s_assert_survives_the_launchers_ini(const cfg_t *c)
{
    cfg_t back;
    mr_err_t err;
    assert_int_equal(cfg_init(&back), MR_OK);
    char *ini = cfg_to_ini(c);
    assert_non_null(ini);
    if (cfg_load_text(&back, ini, "run.ini", &err) != MR_OK)
        fail_msg("%s", err.text);
    size_t n;
    const cfg_key_t *keys = cfg_keys(&n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(cfg_str(c, keys[i].name), cfg_str(&back, keys[i].name));
    free(ini);
    cfg_fini(&back);
}

//  Found by tests/fuzz/fuzz_cfg: an override whose value held a newline wrote a line of its own
//  into the children's run.ini (another key: there "gamma = \xb3", which failed every child);
//  blanks at either end, " ;" and a line longer than inih's buffer changed the value on the way.
static void
test_values_survive_the_launchers_ini(void **state)
{
    cfg_t c;
    mr_err_t err;
    assert_int_equal(cfg_init(&c), MR_OK);
    const char *bad[] = {"db=reems= diana\nalpha = theory\ngamma = \xb3",
                         "name=a\rb",
                         "name=tab\there",
                         "name= a",
                         "name=a ",
                         "name=a ;b",
                         "name=\x7f",
                         "method=;bias"};
    const char *why[] = {"control character (byte 0x0a at 13)",
                         "byte 0x0d",
                         "byte 0x09",
                         "starts or ends with a blank",
                         "starts or ends with a blank",
                         "contains ' ;'",
                         "byte 0x7f",
                         "starts with ';'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cfg_apply_arg(&c, bad[i], "argument 3", &err), MR_ECONFIG);
        if (!strstr(err.text, "argument 3") || !strstr(err.text, why[i]))
            fail_msg("'%s' does not say '%s'", err.text, why[i]);
    }
    assert_string_equal(cfg_str(&c, "db"), "marina.db");
    assert_string_equal(cfg_str(&c, "gamma"), "theory");
    //  Also from a file (the second fuzz finding): "method =;bias" read as ";bias", which the
    //  children's run.ini ("method = ;bias") read as "".
    assert_int_equal(cfg_load_text(&c, "seed = 3\nmethod =;bias\n", "f.ini", &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "f.ini:2: the value of method starts with ';'"));

    //  The longest value a line holds is taken and survives; one character more is refused.
    char arg[CFG_LINE_MAX + 16];
    size_t room = CFG_LINE_MAX - strlen("name = ");
    snprintf(arg, sizeof arg, "name=");
    memset(arg + 5, 'a', room);
    arg[5 + room] = '\0';
    assert_int_equal(cfg_apply_arg(&c, arg, "argument 1", &err), MR_OK);
    assert_int_equal(cfg_apply_arg(&c, "dataset=/data/x;y #z=1 [s]", "argument 2", &err), MR_OK);
    s_assert_survives_the_launchers_ini(&c);
    arg[5 + room] = 'k';
    arg[6 + room] = '\0';
    assert_int_equal(cfg_apply_arg(&c, arg, "argument 1", &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "too long"));

    //  A file line longer than inih's buffer is named, not cut into a second line "k=5".
    char text[2 * CFG_LINE_MAX];
    snprintf(text, sizeof text, "seed = 3\nname = %0*d k=5\n", CFG_LINE_MAX, 0);
    assert_int_equal(cfg_load_text(&c, text, "long.ini", &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "long.ini:2: the line is longer than"));
    assert_int_equal(cfg_int(&c, "k"), 10);
    //  Text and files read alike: comments, blanks, inline comments, a bad line named.
    assert_int_equal(cfg_load_text(&c, "; c\n# c\n\n k = 7 ; seven\n", "t.ini", &err), MR_OK);
    assert_int_equal(cfg_int(&c, "k"), 7);
    assert_int_equal(cfg_load_text(&c, "k = 7\nnot a line\n", "t.ini", &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "t.ini:2: not a 'key = value' line"));
    cfg_fini(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_text_is_canonical),
        cmocka_unit_test(test_join_text_leaves_out_the_per_actor_keys),
        cmocka_unit_test(test_numbers_are_decimal_and_configs_are_files),
        cmocka_unit_test(test_values_survive_the_launchers_ini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
