//  test_accel.c - acd, asega and rds through real processes and sockets: they complete, record
//  the gap falling, send what docs/cli.md says (K coordinates; one coefficient and 2 m function
//  values for rds), store tau in the derived line, and refuse what their theorems exclude.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "integration/proc_util.h"
#include "test_util.h"

typedef pu_fixture_t fixture_t;

//  Runs `marina run ARGS... db=<f->db> progress_s=0`; returns the exit code.
static int
s_run(fixture_t *f, ...)
{
    char *argv[32] = {MARINA_BIN, "run"};
    int argc = 2;
    va_list ap;
    va_start(ap, f);
    for (char *a = va_arg(ap, char *); a && argc < 29; a = va_arg(ap, char *))
        argv[argc++] = a;
    va_end(ap);
    char dbarg[160];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    argv[argc++] = dbarg;
    argv[argc++] = "progress_s=0";
    argv[argc] = NULL;
    return pu_run(argv, f->out, 120);
}

static void
test_accelerated_methods_run_and_the_gap_falls(void **state)
{
    fixture_t *f = *state;
    // synthetic: 2000 rows, d = 40; n = 3 workers of 666 rows.
    assert_int_equal(
        s_run(f, "method=acd", "k=4", "n=3", "loss=quadratic", "lambda=0.1", "rounds=300", NULL),
        0);
    assert_int_equal(s_run(f, "method=asega", "k=4", "sketch=importance", "n=3", "loss=quadratic",
                           "lambda=0.1", "rounds=300", NULL),
                     0);
    assert_int_equal(
        s_run(f, "method=rds", "n=3", "loss=quadratic", "lambda=0.1", "rounds=300", NULL), 0);
    assert_near(pu_query(f->db, "SELECT count(*) FROM runs WHERE status = 'completed'"), 3, 0);
    for (int run = 1; run <= 3; run++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT gap FROM rounds WHERE run_id = %d AND round = 300", run);
        double last = pu_query(f->db, sql);
        snprintf(sql, sizeof sql, "SELECT gap FROM rounds WHERE run_id = %d AND round = 0", run);
        double first = pu_query(f->db, sql);
        if (!(last < 0.9 * first))
            fail_msg("run %d: gap %g -> %g", run, first, last);
    }
    // acd: K = 4 coordinates per worker per round; importance asega: a varying number.
    assert_near(pu_query(f->db, "SELECT count(*) FROM round_workers WHERE run_id = 1 AND nnz_up "
                                "!= 4"),
                0, 0);
    assert_true(pu_query(f->db, "SELECT count(DISTINCT nnz_up) FROM round_workers WHERE run_id "
                                "= 2") > 1);
    // rds: one 32-bit coefficient, 2 m = 1332 function values per worker per round.
    assert_near(pu_query(f->db, "SELECT count(*) FROM round_workers WHERE run_id = 3 AND "
                                "(nnz_up != 1 OR bits_paper_up != 32 OR oracle_calls != 1332)"),
                0, 0);
    assert_near(pu_query(f->db, "SELECT count(*) FROM runs WHERE id IN (1, 2) AND config LIKE "
                                "'%tau = %'"),
                2, 0);
    // sketch = single: one coordinate a round (the launcher's p_j ~ sqrt(L_jj), sum 1), and the
    // gap falls.
    assert_int_equal(s_run(f, "method=asega", "k=1", "sketch=single", "n=3", "loss=quadratic",
                           "lambda=0.1", "rounds=300", NULL),
                     0);
    assert_near(pu_query(f->db, "SELECT count(*) FROM round_workers WHERE run_id = 4 AND nnz_up "
                                "!= 1"),
                0, 0);
    assert_true(pu_query(f->db, "SELECT gap FROM rounds WHERE run_id = 4 AND round = 300") <
                0.9 * pu_query(f->db, "SELECT gap FROM rounds WHERE run_id = 4 AND round = 0"));
}

static void
test_accelerated_methods_refuse_what_the_theory_excludes(void **state)
{
    fixture_t *f = *state;
    const char *cases[][3] = {
        {"method=acd", "gamma=0.1", "'gamma'"},
        {"method=asega", "lambda=0", "'lambda'"},
        {"method=asega", "sketch=gaussian", "'sketch'"},
        {"method=acd", "sketch=single", "k = 1"},  // k = 10 by default
        {"method=cd", "sketch=single", "only acd and asega"},
        {"method=rds", "reg=l1", "reg = "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = s_run(f, cases[i][0], cases[i][1], "loss=quadratic",
                         strcmp(cases[i][1], "lambda=0") == 0 ? "lambda=0" : "lambda=0.1",
                         "lambda1=0.1", NULL);
        char *out = pu_slurp(f->out);
        if (code != 2 || !strstr(out, cases[i][2]))
            fail_msg("%s %s: exit %d, expected 2 naming %s: %s", cases[i][0], cases[i][1], code,
                     cases[i][2], out);
        free(out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accelerated_methods_run_and_the_gap_falls, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_accelerated_methods_refuse_what_the_theory_excludes,
                                        pu_setup, pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
