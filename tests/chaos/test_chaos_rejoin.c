//  test_chaos_rejoin.c - a worker killed with SIGKILL in a run with on_worker_loss = continue
//  (issue 14, item 4): the launcher tells the server at once (LOST), the run goes on without the
//  worker, and a new process for it joins again from a later round (JOIN, docs/protocol.md).
//  Real processes over tcp, three seeds of the kill's round, one run killed twice. Each run must
//  complete with every round recorded exactly once, the rows before the kill equal to an
//  uninterrupted run's, the loss and the return recorded, the worker's updates counted again
//  after it (with the extra gradient its JOIN cost), and the run converging as the clean one.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../integration/proc_util.h"

#define ROUNDS 4000
#define WORKER "marina worker.*--id 2 "

static pid_t
s_start(pu_fixture_t *f, const char *name)
{
    static char dbarg[200], rounds[32], nm[64];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    snprintf(rounds, sizeof rounds, "rounds=%d", ROUNDS);
    snprintf(nm, sizeof nm, "name=%s", name);
    char *argv[] = {
        MARINA_BIN,     "run", rounds, "seed=5", "progress_s=0", "on_worker_loss=continue",
        "timeout_s=20", dbarg, nm,     NULL};
    return pu_spawn(argv, f->out);
}

//  Waits until run `run` has recorded round `round`, then kills worker 2's current process. The
//  round of the latest row at the kill, or -1 if the run ended first.
static double
s_kill_at(pu_fixture_t *f, pid_t launcher, int run, uint64_t round)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT coalesce(max(round), -1) FROM rounds WHERE run_id = %d", run);
    double deadline = pu_now() + 60;
    while (pu_now() < deadline) {
        double at = pu_query(f->db, sql);
        pid_t pid = pu_child(launcher, WORKER);
        if (!isnan(at) && at >= (double) round && pid > 0)
            return kill(pid, SIGKILL) == 0 ? at : -1;
        if (waitpid(launcher, NULL, WNOHANG) == launcher)
            return -1;
        pu_sleep_ms(5);
    }
    return -1;
}

static void
test_a_killed_worker_joins_the_run_again(void **state)
{
    pu_fixture_t *f = *state;
    pid_t clean = s_start(f, "clean");
    assert_int_equal(pu_wait(clean, 120), 0);
    uint64_t seed = 0x5eed0004;
    for (int run = 2; run <= 4; run++) {
        uint64_t at = 200 + pu_next(&seed) % (ROUNDS / 2);
        pid_t launcher = s_start(f, "worker-killed");
        assert_true(launcher > 0);
        double killed = s_kill_at(f, launcher, run, at);
        int kills = killed >= 0;
        //  The last run kills the new process too, once it has answered a few rounds.
        if (run == 4 && killed >= 0) {
            char sql[200];
            snprintf(sql, sizeof sql,
                     "SELECT coalesce(min(round), -1) FROM rejections WHERE run_id = %d AND reason "
                     "LIKE '%%joins again%%'",
                     run);
            double deadline = pu_now() + 30, joined = -1;
            while (pu_now() < deadline && (joined = pu_query(f->db, sql)) < 0)
                pu_sleep_ms(5);
            kills += joined >= 0 && s_kill_at(f, launcher, run, (uint64_t) joined + 50) >= 0;
        }
        int rc = pu_wait(launcher, 120);  // -1: still running after 120 s (killed)
        if (rc != 0)
            pu_dump(f, run);
        assert_int_equal(rc, 0);
        print_message("run %d: worker 2 killed after round %llu (rows up to %.0f): %d kill(s)\n",
                      run, (unsigned long long) at, killed, kills);
        assert_int_equal(kills, run == 4 ? 2 : 1);
        //  Complete, every round once, a sound file.
        char sql[600];
        assert_true(pu_run_complete(f->db, run, ROUNDS));
        snprintf(sql, sizeof sql, "SELECT resumes = 0 FROM runs WHERE id = %d", run);
        assert_true(pu_query(f->db, sql) == 1);
        //  The rows before the kill are the clean run's.
        assert_true(pu_rows_unlike(f->db, run, killed) == 0);
        //  Each loss and each return is recorded for worker 2, the first return after the first
        //  loss, as many returns as kills.
        snprintf(sql, sizeof sql,
                 "SELECT min(round) FROM rejections WHERE run_id = %d AND sender = 2 AND reason "
                 "LIKE 'worker 2 lost%%'",
                 run);
        double lost = pu_query(f->db, sql);
        snprintf(sql, sizeof sql,
                 "SELECT min(round) FROM rejections WHERE run_id = %d AND sender = 2 AND reason "
                 "LIKE '%%joins again from round%%'",
                 run);
        double back = pu_query(f->db, sql);
        print_message("  lost in round %.0f, back from round %.0f\n", lost, back);
        assert_true(lost >= killed && back > lost);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM rejections WHERE run_id = %d AND sender = 2 AND reason LIKE "
                 "'%%joins again%%'",
                 run);
        assert_true(pu_query(f->db, sql) == kills);
        //  No update of it between its loss and its return; its first answer paid for
        //  grad f_2(x^{k-1}) too (two passes over its shard of 400 rows); it sends from then on.
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM round_workers WHERE run_id = %d AND worker = 2 AND sent = 1 "
                 "AND round > %.0f AND round < %.0f",
                 run, lost, back);
        assert_true(pu_query(f->db, sql) == 0);
        snprintf(sql, sizeof sql,
                 "SELECT oracle_calls = 800 AND sent = 1 FROM round_workers WHERE run_id = %d AND "
                 "worker = 2 AND round = %.0f",
                 run, back);
        assert_true(pu_query(f->db, sql) == 1);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM round_workers WHERE run_id = %d AND worker = 2 AND sent = 1 "
                 "AND round >= %.0f",
                 run, back);
        assert_true(pu_query(f->db, sql) >= 0.9 * (ROUNDS - back));
        //  It converges as the clean run does: the final ||grad f||^2 within 10x of the clean
        //  run's, and 1e-2 below round 0's.
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT grad_norm_sq FROM rounds WHERE run_id = %d AND round = %d) / "
                 "(SELECT grad_norm_sq FROM rounds WHERE run_id = 1 AND round = %d)",
                 run, ROUNDS, ROUNDS);
        double ratio = pu_query(f->db, sql);
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT grad_norm_sq FROM rounds WHERE run_id = %d AND round = %d) / "
                 "(SELECT grad_norm_sq FROM rounds WHERE run_id = %d AND round = 0)",
                 run, ROUNDS, run);
        double drop = pu_query(f->db, sql);
        print_message("  final ||grad f||^2: %.3g x the clean run's, %.3g x round 0's\n", ratio,
                      drop);
        assert_true(ratio < 10 && drop < 1e-2);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_killed_worker_joins_the_run_again, pu_setup,
                                        pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
