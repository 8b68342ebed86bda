//  test_sweep.c - `marina sweep` over a grid (3 seeds x 2 methods, 2 at a time) writes 6 runs
//  into one database, is resumable (a completed run is not run again), refuses a bad list before
//  anything runs; `marina query` reads the sweep back (compare as text, CSV and JSON; exit codes).
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proc_util.h"

static void
s_write_base(const pu_fixture_t *f, char *path, size_t size)
{
    snprintf(path, size, "%s/base.ini", f->dir);
    FILE *s = fopen(path, "w");
    assert_non_null(s);
    fprintf(s,
            "n = 3\nrounds = 40\ntransport = ipc\nprogress_s = 0\nsynth_rows = 300\n"
            "synth_d = 12\nk = 3\ndb = %s\n",
            f->db);
    fclose(s);
}

static void
test_sweep_grid_writes_every_point_once_and_resumes(void **state)
{
    pu_fixture_t *f = *state;
    char base[128];
    s_write_base(f, base, sizeof base);
    // The sweep's private folder goes under $TMPDIR: here, one the test can look into.
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/tmp", f->dir);
    assert_int_equal(mkdir(tmp, 0755), 0);
    setenv("TMPDIR", tmp, 1);
    // First half: marina over 3 seeds.
    char *half[] = {MARINA_BIN, "sweep", base, "seed=1..3", "method=marina", "jobs=2", NULL};
    assert_int_equal(pu_run(half, f->out, 120), 0);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs"), 3);
    char *progress = pu_slurp(f->out);
    assert_non_null(strstr(progress, "run 1 of 3 done (0 failed)"));
    assert_non_null(strstr(progress, "run 3 of 3 done (0 failed)"));
    free(progress);
    // Nothing is left behind: no run-N.ini, .db or .log, and not the folder.
    DIR *d = opendir(tmp);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            fail_msg("the sweep left %s/%s behind", tmp, e->d_name);
    closedir(d);
    unsetenv("TMPDIR");
    // The whole grid: the 3 completed runs are skipped, the 3 diana runs are added.
    char *full[] = {MARINA_BIN, "sweep", base, "seed=1..3", "method=marina,diana", "jobs=2", NULL};
    assert_int_equal(pu_run(full, f->out, 120), 0);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "6 runs (3 already completed)"));
    assert_non_null(strstr(out, "run 6 of 6 done (0 failed)"));
    free(out);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs"), 6);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs WHERE status = 'completed'"),
                     6);
    assert_int_equal((int) pu_query(f->db, "SELECT count(DISTINCT name) FROM runs"), 6);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs WHERE method = 'diana'"
                                           " AND id > 3"),
                     3);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs WHERE name ="
                                           " 'base seed=2 method=diana' AND seed = 2"),
                     1);
    // Every run has all its rows: 41 rounds each.
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM rounds"), 6 * 41);
    // Running it again runs nothing.
    assert_int_equal(pu_run(full, f->out, 60), 0);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs"), 6);
}

static void
test_query_compare_reads_the_sweep_back(void **state)
{
    pu_fixture_t *f = *state;
    char base[128];
    s_write_base(f, base, sizeof base);
    char *sweep[] = {MARINA_BIN, "sweep", base, "seed=1..3", "method=marina,diana", NULL};
    assert_int_equal(pu_run(sweep, f->out, 120), 0);
    char *csv[] = {MARINA_BIN,   "query", f->db,    "compare", "--target", "grad_norm_sq<=1",
                   "--relative", "--by",  "method", "--csv",   NULL};
    assert_int_equal(pu_run(csv, f->out, 30), 0);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "method,gamma,runs,reached,rounds_mean"));
    assert_non_null(strstr(out, "\nmarina,theory,3,3,0,"));  // round 0 reaches 1 x round 0
    assert_non_null(strstr(out, "\ndiana,theory,3,3,0,"));
    free(out);
    char *json[] = {MARINA_BIN, "query", f->db, "runs", "--json", NULL};
    assert_int_equal(pu_run(json, f->out, 30), 0);
    out = pu_slurp(f->out);
    assert_true(out[0] == '[');
    assert_non_null(strstr(out, "\"name\": \"base seed=3 method=diana\""));
    assert_non_null(strstr(out, "\"rounds\": 40"));
    free(out);
    // Exit codes: unknown run 5, missing file 3, bad usage 2.
    char *unknown[] = {MARINA_BIN, "query", f->db, "show", "77", NULL};
    assert_int_equal(pu_run(unknown, f->out, 30), 5);
    out = pu_slurp(f->out);
    assert_non_null(strstr(out, "no run 77"));
    free(out);
    char missing_db[160];
    snprintf(missing_db, sizeof missing_db, "%s/none.db", f->dir);
    char *missing[] = {MARINA_BIN, "query", missing_db, "runs", NULL};
    assert_int_equal(pu_run(missing, f->out, 30), 3);
    char *bad[] = {MARINA_BIN, "query", f->db, "compare", "--target", "grad_norm_sq", NULL};
    assert_int_equal(pu_run(bad, f->out, 30), 2);
}

static void
test_sweep_refuses_a_bad_list_before_running(void **state)
{
    pu_fixture_t *f = *state;
    char base[128];
    s_write_base(f, base, sizeof base);
    char *bad_range[] = {MARINA_BIN, "sweep", base, "seed=3..1", NULL};
    assert_int_equal(pu_run(bad_range, f->out, 30), 2);
    char *bad_value[] = {MARINA_BIN, "sweep", base, "method=marina,nosuch", NULL};
    assert_int_equal(pu_run(bad_value, f->out, 60), 2);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "nosuch"));
    free(out);
    assert_int_equal(access(f->db, F_OK), -1);  // nothing ran
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sweep_grid_writes_every_point_once_and_resumes,
                                        pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_query_compare_reads_the_sweep_back, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_refuses_a_bad_list_before_running, pu_setup,
                                        pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
