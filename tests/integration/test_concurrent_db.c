//  test_concurrent_db.c - one database, many runs (issue 14, item 6): four `marina run` launched
//  at once into the same file all complete, each with every one of its rows, each launcher
//  prints its own run's summary (not "the latest"), and the file passes PRAGMA integrity_check.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "integration/proc_util.h"

#define S_RUNS   4
#define S_ROUNDS 3000
#define S_N      5

typedef pu_fixture_t fixture_t;

static void
test_four_runs_into_one_database_all_complete(void **state)
{
    fixture_t *f = *state;
    char dbarg[200], seed[S_RUNS][32], out[S_RUNS][200], rounds[32], n[32];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    snprintf(rounds, sizeof rounds, "rounds=%d", S_ROUNDS);
    snprintf(n, sizeof n, "n=%d", S_N);
    pid_t pid[S_RUNS];
    for (int i = 0; i < S_RUNS; i++) {
        snprintf(seed[i], sizeof seed[i], "seed=%d", 11 + i);
        snprintf(out[i], sizeof out[i], "%s/out%d.txt", f->dir, i);
        char *argv[] = {MARINA_BIN, "run", rounds, n, seed[i], dbarg, "progress_s=0", NULL};
        pid[i] = pu_spawn(argv, out[i]);
        assert_true(pid[i] > 0);
    }
    int codes[S_RUNS];
    for (int i = 0; i < S_RUNS; i++)
        codes[i] = pu_wait(pid[i], 240);
    for (int i = 0; i < S_RUNS; i++) {
        char *text = pu_slurp(out[i]);
        if (codes[i] != 0)
            fail_msg("run %d exited with %d:\n%s", i, codes[i], text ? text : "");
        //  Its summary names its own run: the one recorded with its seed.
        long long id = 0;
        const char *line = text ? strstr(text, "\nrun ") : NULL;
        assert_non_null(line);
        assert_int_equal(sscanf(line, "\nrun %lld completed", &id), 1);
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT seed FROM runs WHERE id = %lld", id);
        assert_int_equal((int) pu_query(f->db, sql), 11 + i);
        free(text);
    }
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs"), S_RUNS);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs WHERE status = 'completed'"),
                     S_RUNS);
    assert_int_equal((int) pu_query(f->db, "SELECT count(DISTINCT seed) FROM runs"), S_RUNS);
    //  Every round of every run exactly once, with its per-worker rows.
    for (int id = 1; id <= S_RUNS; id++) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) = %d AND count(DISTINCT round) = %d AND min(round) = 0 AND "
                 "max(round) = %d FROM rounds WHERE run_id = %d",
                 S_ROUNDS + 1, S_ROUNDS + 1, S_ROUNDS, id);
        assert_int_equal((int) pu_query(f->db, sql), 1);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM round_workers WHERE run_id = %d", id);
        assert_int_equal((int) pu_query(f->db, sql), (S_ROUNDS + 1) * S_N);
    }
    char *ok = pu_query_text(f->db, "PRAGMA integrity_check");
    assert_non_null(ok);
    assert_string_equal(ok, "ok");
    free(ok);
}

//  The launch token reaches runs.config over every transport: a thread run (inproc: the
//  launcher's own resolved config) and a process run (ipc: the server's) at once each print
//  their own summary.
static void
test_each_transport_finds_its_own_run(void **state)
{
    fixture_t *f = *state;
    const char *transport[] = {"transport=inproc", "transport=ipc"};
    char dbarg[200], out[2][200];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        snprintf(out[i], sizeof out[i], "%s/t%d.txt", f->dir, i);
        char *argv[] = {MARINA_BIN, "run",          "rounds=400", (char *) transport[i],
                        dbarg,      "progress_s=0", NULL};
        pid[i] = pu_spawn(argv, out[i]);
        assert_true(pid[i] > 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pu_wait(pid[i], 120), 0);
    for (int i = 0; i < 2; i++) {
        char *text = pu_slurp(out[i]);
        long long id = 0;
        const char *line = text ? strstr(text, "\nrun ") : NULL;
        assert_non_null(line);
        assert_int_equal(sscanf(line, "\nrun %lld completed", &id), 1);
        char sql[200];
        snprintf(sql, sizeof sql,
                 "SELECT instr(config, 'transport = %s') > 0 AND instr(config, 'launch = ') > 0"
                 " FROM runs WHERE id = %lld",
                 transport[i] + strlen("transport="), id);
        assert_int_equal((int) pu_query(f->db, sql), 1);
        free(text);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_four_runs_into_one_database_all_complete, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_each_transport_finds_its_own_run, pu_setup,
                                        pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
