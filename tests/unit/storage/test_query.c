//  test_query.c - `marina query` answers and `marina merge`: runs written through db.h with known
//  rows read back as tables; compare's rounds, bits per worker, mean and standard error over
//  seeds and best stepsize; the read-only sql; errors for a missing file, another schema version,
//  an unknown run; merge copies runs with new ids and every row; the three printed forms.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db.h"
#include "merge.h"
#include "qtable.h"
#include "query.h"

typedef struct {
    char dir[64];
    char path[128];   // <dir>/a.db: 4 runs (see s_setup)
    char other[128];  // <dir>/b.db
} fixture_t;

//  A run of method (with gamma) and seed whose grad_norm_sq halves every round from 1, for
//  rounds rounds; every round uploads 100 bits per worker (n = 2) and 3 oracle calls per worker.
static int64_t
s_add_run(db_t *db, const char *method, const char *gamma, uint64_t seed, int rounds, double rate)
{
    char config[256], name[64];
    snprintf(config, sizeof config, "method = %s\ngamma = %s\nseed = %llu\n; resolved: x\n", method,
             gamma, (unsigned long long) seed);
    snprintf(name, sizeof name, "%s g=%s s=%llu", method, gamma, (unsigned long long) seed);
    run_info_t run = {name,  "test", config, seed, method, "randk", 2,      10,
                      "syn", 0,      NAN,    "p",  0,      "none",  "mean", 0};
    int64_t id = 0;
    mr_err_t err;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    double g = 1;
    for (int k = 0; k <= rounds; k++) {
        round_stats_t row = {0};
        row.round = (uint64_t) k;
        row.coin = k == 0;
        row.f = g;
        row.grad_norm_sq = g;
        row.bits_paper_up = 200;
        row.oracle_calls = 6;
        row.participants = 2;
        row.wall_time_s = 0.5 * k;
        row.gap = NAN;
        assert_int_equal(db_round_add(db, id, &row, &err), MR_OK);
        g *= rate;
    }
    assert_int_equal(db_run_finish(db, id, "completed", NULL, &err), MR_OK);
    return id;
}

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-query-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/a.db", f->dir);
    snprintf(f->other, sizeof f->other, "%s/b.db", f->dir);
    mr_err_t err;
    db_t *db = db_open(f->path, &err);
    assert_non_null(db);
    // marina gamma=1: rate 0.5 -> 1e-3 is first reached at k = 10 (2^-10 < 1e-3 < 2^-9)
    s_add_run(db, "marina", "1", 1, 12, 0.5);
    // marina gamma=1, seed 2: rate 0.25 -> k = 5 (4^-5 < 1e-3 < 4^-4)
    s_add_run(db, "marina", "1", 2, 12, 0.25);
    // marina gamma=2: rate 0.09 -> k = 3 (0.09^3 = 7.3e-4), both seeds
    s_add_run(db, "marina", "2", 1, 12, 0.09);
    s_add_run(db, "marina", "2", 2, 12, 0.09);
    // diana: never reaches 1e-3 in 4 rounds (0.5^4)
    s_add_run(db, "diana", "1", 1, 4, 0.5);
    db_close(&db);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

//  The column named name of t.
static size_t
s_col(const qtable_t *t, const char *name)
{
    for (size_t c = 0; c < t->cols; c++)
        if (strcmp(t->names[c], name) == 0)
            return c;
    fail_msg("no column %s", name);
    return 0;
}

static double
s_num(const qtable_t *t, size_t row, const char *name)
{
    const char *v = qtable_cell(t, row, s_col(t, name));
    return v ? strtod(v, NULL) : NAN;
}

static void
test_runs_lists_every_run_with_its_last_round(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    query_t *q = query_open(f->path, &err);
    assert_non_null(q);
    qtable_t t;
    assert_int_equal(query_runs(q, &t, &err), MR_OK);
    assert_int_equal(t.rows, 5);
    assert_string_equal(qtable_cell(&t, 4, s_col(&t, "method")), "diana");
    assert_int_equal((int) s_num(&t, 4, "rounds"), 4);
    assert_true(fabs(s_num(&t, 4, "grad_norm_sq") - 0.0625) < 1e-15);
    assert_string_equal(qtable_cell(&t, 0, s_col(&t, "status")), "completed");
    assert_null(qtable_cell(&t, 0, s_col(&t, "aggregator")));  // not in the config
    qtable_fini(&t);
    query_close(&q);
}

static void
test_compare_groups_over_seeds_and_picks_the_best_stepsize(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    query_t *q = query_open(f->path, &err);
    qtable_t t;
    query_compare_t c = {NULL, 0, NULL, "grad_norm_sq", 1e-3, 0, "method"};
    assert_int_equal(query_compare(q, &c, &t, &err), MR_OK);
    assert_int_equal(t.rows, 3);  // marina/1, marina/2, diana/1
    assert_string_equal(qtable_cell(&t, 0, s_col(&t, "gamma")), "1");
    // marina gamma=1: rounds 10 and 5 -> mean 7.5, se = sd / sqrt(2) = 3.5355 / 1.4142 = 2.5
    assert_true(fabs(s_num(&t, 0, "rounds_mean") - 7.5) < 1e-12);
    assert_true(fabs(s_num(&t, 0, "rounds_se") - 2.5) < 1e-12);
    // bits per worker: (k + 1) rounds of 100 bits: (11 + 6) / 2 * 100
    assert_true(fabs(s_num(&t, 0, "bits_per_worker_mean") - 850) < 1e-9);
    assert_true(fabs(s_num(&t, 0, "oracle_calls_per_worker_mean") - 25.5) < 1e-9);
    assert_true(fabs(s_num(&t, 0, "seconds_mean") - 3.75) < 1e-12);
    assert_int_equal((int) s_num(&t, 0, "best"), 0);
    assert_true(fabs(s_num(&t, 1, "rounds_mean") - 3) < 1e-12);
    assert_true(fabs(s_num(&t, 1, "rounds_se")) < 1e-12);
    assert_int_equal((int) s_num(&t, 1, "best"), 1);
    assert_int_equal((int) s_num(&t, 2, "runs"), 1);
    assert_int_equal((int) s_num(&t, 2, "reached"), 0);
    assert_null(qtable_cell(&t, 2, s_col(&t, "rounds_mean")));
    assert_int_equal((int) s_num(&t, 2, "best"), 0);
    qtable_fini(&t);
    // Relative target and a list of runs: 1e-3 of round 0 (= 1) on runs 3, 4 only.
    int64_t ids[] = {3, 4};
    query_compare_t rel = {ids, 2, NULL, "f", 1e-3, 1, "method,compressor"};
    assert_int_equal(query_compare(q, &rel, &t, &err), MR_OK);
    assert_int_equal(t.rows, 1);
    assert_string_equal(qtable_cell(&t, 0, s_col(&t, "compressor")), "randk");
    assert_int_equal((int) s_num(&t, 0, "runs"), 2);
    qtable_fini(&t);
    query_compare_t where = {NULL, 0, "r.method = 'diana'", "grad_norm_sq", 0.1, 0, NULL};
    assert_int_equal(query_compare(q, &where, &t, &err), MR_OK);
    assert_int_equal(t.rows, 1);
    assert_true(fabs(s_num(&t, 0, "rounds_mean") - 4) < 1e-12);  // 0.5^4 = 0.0625 <= 0.1
    qtable_fini(&t);
    query_compare_t bad = {NULL, 0, NULL, "loss", 1e-3, 0, NULL};
    assert_int_equal(query_compare(q, &bad, &t, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "loss"));
    int64_t missing[] = {42};
    query_compare_t unknown = {missing, 1, NULL, "f", 1e-3, 0, NULL};
    assert_int_equal(query_compare(q, &unknown, &t, &err), MR_EINVAL);
    query_close(&q);
}

static void
test_show_and_rounds_read_one_run(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    query_t *q = query_open(f->path, &err);
    qtable_t t;
    assert_int_equal(query_show(q, 2, &t, &err), MR_OK);
    int saw_seed = 0, saw_gamma = 0, saw_rows = 0;
    for (size_t r = 0; r < t.rows; r++) {
        const char *k = qtable_cell(&t, r, 0), *v = qtable_cell(&t, r, 1);
        saw_seed |= strcmp(k, "seed") == 0 && strcmp(v, "2") == 0;
        saw_gamma |= strcmp(k, "config.gamma") == 0 && strcmp(v, "1") == 0;
        saw_rows |= strcmp(k, "round_rows") == 0 && strcmp(v, "13") == 0;
    }
    assert_true(saw_seed && saw_gamma && saw_rows);
    qtable_fini(&t);
    assert_int_equal(query_rounds(q, 1, 5, "round,grad_norm_sq", &t, &err), MR_OK);
    assert_int_equal(t.cols, 2);
    assert_int_equal(t.rows, 4);  // 0, 5, 10 and the last, 12
    assert_string_equal(qtable_cell(&t, 3, 0), "12");
    qtable_fini(&t);
    assert_int_equal(query_rounds(q, 1, 1, "round,nope", &t, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "nope"));
    assert_int_equal(query_show(q, 9, &t, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "no run 9"));
    query_close(&q);
}

static void
test_sql_is_read_only_and_one_statement(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    query_t *q = query_open(f->path, &err);
    qtable_t t;
    assert_int_equal(query_sql(q,
                               "SELECT count(*) AS c, cfg(config, 'gamma') FROM runs"
                               " WHERE id = 3",
                               &t, &err),
                     MR_OK);
    assert_string_equal(qtable_cell(&t, 0, 0), "1");
    assert_string_equal(qtable_cell(&t, 0, 1), "2");
    qtable_fini(&t);
    assert_int_equal(query_sql(q, "DELETE FROM runs", &t, &err), MR_ECONFIG);
    assert_int_equal(query_sql(q, "SELECT 1; DELETE FROM runs", &t, &err), MR_ECONFIG);
    assert_int_equal(query_sql(q, "SELEC 1", &t, &err), MR_ECONFIG);
    assert_int_equal(query_runs(q, &t, &err), MR_OK);
    assert_int_equal(t.rows, 5);  // nothing was deleted
    qtable_fini(&t);
    query_close(&q);
}

static void
test_open_names_a_missing_file_and_another_version(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    assert_null(query_open(f->other, &err));
    assert_int_equal(err.rc, MR_EIO);
    assert_non_null(strstr(err.text, "no such file"));
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->other, &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE runs (id INTEGER); PRAGMA user_version = 7", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_null(query_open(f->other, &err));
    assert_int_equal(err.rc, MR_EVERSION);
    assert_non_null(strstr(err.text, "version 7"));
}

static void
test_merge_copies_runs_with_new_ids_and_all_rows(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    db_t *db = db_open(f->other, &err);
    s_add_run(db, "gd", "3", 9, 7, 0.5);
    db_close(&db);
    int64_t added = 0;
    assert_int_equal(db_merge(f->other, f->path, &added, &err), MR_OK);
    assert_int_equal(added, 5);
    query_t *q = query_open(f->other, &err);
    qtable_t t;
    assert_int_equal(query_sql(q,
                               "SELECT r.id, r.method, r.seed, count(*), sum(w.grad_norm_sq)"
                               " FROM runs r JOIN rounds w ON w.run_id = r.id GROUP BY r.id",
                               &t, &err),
                     MR_OK);
    assert_int_equal(t.rows, 6);
    assert_string_equal(qtable_cell(&t, 0, 1), "gd");
    assert_string_equal(qtable_cell(&t, 1, 0), "2");  // a's run 1 is b's run 2
    assert_string_equal(qtable_cell(&t, 1, 1), "marina");
    assert_string_equal(qtable_cell(&t, 1, 3), "13");
    assert_string_equal(qtable_cell(&t, 5, 1), "diana");
    assert_string_equal(qtable_cell(&t, 5, 3), "5");
    // sum of 0.5^k, k = 0..4
    assert_true(fabs(strtod(qtable_cell(&t, 5, 4), NULL) - 1.9375) < 1e-12);
    qtable_fini(&t);
    query_close(&q);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.db", f->dir);
    assert_int_equal(db_merge(f->other, missing, NULL, &err), MR_EIO);
}

static void
test_printed_forms_quote_and_type_cells(void **state)
{
    (void) state;
    static const char *const names[] = {"name", "x", "k"};
    qtable_t t;
    assert_int_equal(qtable_init(&t, 3, names), MR_OK);
    assert_int_equal(qtable_push_empty(&t), MR_OK);
    qtable_set_text(&t, 0, 0, "a, \"b\"");
    qtable_set_real(&t, 0, 1, 0.25);
    qtable_set_int(&t, 0, 2, 3);
    assert_int_equal(qtable_push_empty(&t), MR_OK);
    qtable_set_real(&t, 1, 1, NAN);  // NULL
    char buf[512];
    FILE *out = fmemopen(buf, sizeof buf, "w");
    qtable_print(&t, QTABLE_CSV, out);
    fclose(out);
    assert_string_equal(buf, "name,x,k\n\"a, \"\"b\"\"\",0.25,3\n,,\n");
    out = fmemopen(buf, sizeof buf, "w");
    qtable_print(&t, QTABLE_JSON, out);
    fclose(out);
    assert_string_equal(buf, "[\n {\"name\": \"a, \\\"b\\\"\", \"x\": 0.25, \"k\": 3},\n"
                             " {\"name\": null, \"x\": null, \"k\": null}\n]\n");
    out = fmemopen(buf, sizeof buf, "w");
    qtable_print(&t, QTABLE_TEXT, out);
    fclose(out);
    assert_non_null(strstr(buf, "a, \"b\""));
    assert_non_null(strstr(buf, "-"));
    qtable_fini(&t);
}

static void
test_series_gives_running_totals_per_worker(void **state)
{
    fixture_t *f = *state;
    mr_err_t err;
    query_t *q = query_open(f->path, &err);
    assert_non_null(q);
    // Run 5 (diana, rounds 0..4): 200 bits and 6 oracle calls per round over n = 2 workers.
    int64_t ids[] = {5};
    query_series_t s = {ids, 1, NULL, "grad_norm_sq", "bits", "method", 1};
    qtable_t t;
    assert_int_equal(query_series(q, &s, &t, &err), MR_OK);
    assert_int_equal(t.rows, 5);
    assert_string_equal(t.names[1], "method");
    for (size_t r = 0; r < t.rows; r++) {
        assert_true(s_num(&t, r, "round") == (double) r);
        assert_true(s_num(&t, r, "x") == 100.0 * (double) (r + 1));  // round 0 counted
        assert_true(fabs(s_num(&t, r, "y") - pow(0.5, (double) r)) < 1e-12);
    }
    qtable_fini(&t);
    s.x = "oracle";
    s.round0 = 0;  // from 0: round 0's calls not counted
    assert_int_equal(query_series(q, &s, &t, &err), MR_OK);
    assert_true(s_num(&t, 0, "x") == 0 && s_num(&t, 4, "x") == 12);
    qtable_fini(&t);
    // Every run matching a condition; a column the file lacks; an unknown run.
    query_series_t w = {NULL, 0, "r.method = 'marina'", "f", "round", NULL, 1};
    assert_int_equal(query_series(q, &w, &t, &err), MR_OK);
    assert_int_equal(t.rows, 4 * 13);
    qtable_fini(&t);
    w.y = "accuracy";
    assert_int_equal(query_series(q, &w, &t, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "rounds.accuracy"));
    int64_t none[] = {9};
    query_series_t u = {none, 1, NULL, "f", "round", NULL, 1};
    assert_int_equal(query_series(q, &u, &t, &err), MR_EINVAL);
    query_close(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runs_lists_every_run_with_its_last_round, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_compare_groups_over_seeds_and_picks_the_best_stepsize,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_show_and_rounds_read_one_run, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sql_is_read_only_and_one_statement, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_open_names_a_missing_file_and_another_version, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_merge_copies_runs_with_new_ids_and_all_rows, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_series_gives_running_totals_per_worker, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_printed_forms_quote_and_type_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
