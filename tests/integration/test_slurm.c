//  test_slurm.c - marina on a real Slurm cluster of 3 nodes, each its own network namespace
//  (tests/cluster/up.sh): server and recorder on node 1, workers on nodes 2 and 3 over TCP
//  between the namespaces record the same round rows (wall time aside) as a one-host run with
//  the same seed; a 3-seed job array writes 3 runs; a killed worker task and scancel end the job
//  with the run marked failed and the cause, and leave no process behind. The cluster is taken
//  down (tests/cluster/down.sh) whatever happens. Skipped (77) where namespaces can't be made.
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <cmocka.h>

#include "proc_util.h"

static char s_cluster_dir[96];  // MARINA_CLUSTER_DIR of this test's cluster
static char s_work[64];         // the test's folder (configs, run folders, databases)

static void
s_down(void)
{
    if (!s_cluster_dir[0])
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "MARINA_CLUSTER_DIR=%s %s/tests/cluster/down.sh", s_cluster_dir,
             MARINA_SOURCE_DIR);
    if (system(cmd) != 0)
        fprintf(stderr, "test_slurm: down.sh failed\n");
    s_cluster_dir[0] = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_work);
    if (s_work[0] && system(cmd) != 0)
        fprintf(stderr, "test_slurm: cannot remove %s\n", s_work);
}

static void
s_on_signal(int sig)
{
    s_down();
    _exit(128 + sig);
}

//  Processes whose command line mentions text (the run folder): how many are left; the pid of
//  the first one in *first (may be NULL).
static int
s_processes_with(const char *text, pid_t *first)
{
    DIR *proc = opendir("/proc");
    int count = 0;
    struct dirent *e;
    if (first)
        *first = 0;
    while (proc && (e = readdir(proc))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == (int) getpid())
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t i = 0; i < got; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[got] = '\0';
        if (strstr(buf, text)) {
            if (first && count == 0)
                *first = (pid_t) atoi(e->d_name);
            count++;
        }
    }
    if (proc)
        closedir(proc);
    return count;
}

//  The pid of the worker id of the run in folder dir (0 if none).
static pid_t
s_worker_pid(const char *dir, int id)
{
    char pattern[512];
    snprintf(pattern, sizeof pattern, "marina worker --config %s/run.ini --id %d ", dir, id);
    pid_t pid = 0;
    s_processes_with(pattern, &pid);
    return pid;
}

static void
s_config(const char *name, const char *extra, char *path, size_t size)
{
    snprintf(path, size, "%s/%s.ini", s_work, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "n = 4\nseed = 7\nrounds = 60\nprogress_s = 0\nsynth_rows = 400\nsynth_d = 16\n"
            "k = 4\ntimeout_s = 5\n%s",
            extra);
    fclose(f);
}

//  Mismatching rows of rounds (every column but wall_time_s) between two databases' run 1.
static int
s_row_mismatches(const char *a, const char *b)
{
    sqlite3 *db = NULL;
    int bad = -1;
    if (sqlite3_open_v2(a, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    char sql[1400];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS o", b);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    const char *q =
        "SELECT (SELECT count(*) FROM rounds x JOIN o.rounds y USING (round)"
        "  WHERE x.c_k IS NOT y.c_k OR x.f IS NOT y.f OR x.grad_norm_sq IS NOT y.grad_norm_sq"
        "  OR x.bits_paper_up IS NOT y.bits_paper_up OR x.bits_model_up IS NOT y.bits_model_up"
        "  OR x.bytes_wire_up IS NOT y.bytes_wire_up OR x.bits_paper_down IS NOT y.bits_paper_down"
        "  OR x.bytes_wire_down IS NOT y.bytes_wire_down OR x.nnz_up IS NOT y.nnz_up"
        "  OR x.oracle_calls IS NOT y.oracle_calls OR x.participants IS NOT y.participants"
        "  OR x.gap IS NOT y.gap)"
        " + abs((SELECT count(*) FROM rounds) - (SELECT count(*) FROM o.rounds))"
        " + (SELECT count(*) FROM round_workers x JOIN o.round_workers y USING (round, worker)"
        "  WHERE x.bits_paper_up IS NOT y.bits_paper_up OR x.oracle_calls IS NOT y.oracle_calls"
        "  OR x.sent IS NOT y.sent)";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        bad = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return bad;
}

static void
test_cluster_run_records_the_rows_of_a_one_host_run(void **state)
{
    (void) state;
    char ini[160], one[160], slurm[160], dir[160], dbarg[200], out[160];
    s_config("same", "", ini, sizeof ini);
    snprintf(one, sizeof one, "%s/one.db", s_work);
    snprintf(slurm, sizeof slurm, "%s/slurm.db", s_work);
    snprintf(dir, sizeof dir, "%s/run-same", s_work);
    snprintf(out, sizeof out, "%s/same.out", s_work);
    snprintf(dbarg, sizeof dbarg, "db=%s", one);
    char *local[] = {MARINA_BIN, "run", ini, dbarg, NULL};
    assert_int_equal(pu_run(local, out, 60), 0);
    snprintf(dbarg, sizeof dbarg, "db=%s", slurm);
    char *on_slurm[] = {MARINA_BIN,  "run", ini,  dbarg, "--slurm", "--wait",
                        "--run-dir", dir,   "--", "-N",  "3",       "--ntasks-per-node=2",
                        NULL};
    assert_int_equal(pu_run(on_slurm, out, 60), 0);
    assert_int_equal((int) pu_query(slurm, "SELECT count(*) FROM runs WHERE status = 'completed'"),
                     1);
    assert_int_equal((int) pu_query(slurm, "SELECT count(*) FROM rounds"), 61);
    assert_int_equal(s_row_mismatches(one, slurm), 0);
    // Placement: server and recorder on n1, workers on n2 and n3 (their own namespaces).
    const char *where[] = {"server on node n1",   "recorder on node n1", "worker 0 on node n2",
                           "worker 1 on node n2", "worker 2 on node n3", "worker 3 on node n3"};
    for (int t = 0; t < 6; t++) {
        char log[200];
        snprintf(log, sizeof log, "%s/task-%d.log", dir, t);
        char *text = pu_slurp(log);
        assert_non_null(strstr(text, where[t]));
        free(text);
    }
    char ep[200];
    snprintf(ep, sizeof ep, "%s/endpoints", dir);
    char *text = pu_slurp(ep);
    assert_non_null(strstr(text, "tcp://10.77.0.11:"));  // n1's own address, not loopback
    free(text);
}

static void
test_job_array_writes_three_runs(void **state)
{
    (void) state;
    char ini[160], db[160], dir[160], dbarg[200], out[160];
    s_config("array", "rounds = 20\n", ini, sizeof ini);
    snprintf(db, sizeof db, "%s/array.db", s_work);
    snprintf(dir, sizeof dir, "%s/run-array", s_work);
    snprintf(out, sizeof out, "%s/array.out", s_work);
    snprintf(dbarg, sizeof dbarg, "db=%s", db);
    char *sweep[] = {MARINA_BIN,
                     "sweep",
                     ini,
                     "seed=1..3",
                     dbarg,
                     "--slurm",
                     "--wait",
                     "--run-dir",
                     dir,
                     "--",
                     "-N",
                     "3",
                     "--ntasks-per-node=2",
                     NULL};
    assert_int_equal(pu_run(sweep, out, 90), 0);
    assert_int_equal((int) pu_query(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), 3);
    assert_int_equal((int) pu_query(db, "SELECT count(DISTINCT seed) FROM runs"), 3);
    assert_int_equal((int) pu_query(db, "SELECT count(*) FROM rounds"), 3 * 21);
}

//  Starts a long run on the cluster; returns marina's pid once every worker runs (dir: its folder).
static pid_t
s_start_long_run(const char *name, char *dir, size_t size, char *db, size_t dbsize, char *out)
{
    char ini[160], dbarg[200];
    s_config(name, "rounds = 100000000\nprogress_s = 0.2\n", ini, sizeof ini);
    snprintf(dir, size, "%s/run-%s", s_work, name);
    snprintf(db, dbsize, "%s/%s.db", s_work, name);
    snprintf(out, 160, "%s/%s.out", s_work, name);
    snprintf(dbarg, sizeof dbarg, "db=%s", db);
    char *argv[] = {MARINA_BIN,  "run", ini,  dbarg, "--slurm", "--wait",
                    "--run-dir", dir,   "--", "-N",  "3",       "--ntasks-per-node=2",
                    NULL};
    pid_t pid = pu_spawn(argv, out);
    assert_true(pid > 0);
    double deadline = pu_now() + 30;
    while (pu_now() < deadline && s_worker_pid(dir, 3) == 0)
        pu_sleep_ms(100);
    assert_true(s_worker_pid(dir, 3) > 0);
    //  Some rounds: the server's task log shows its progress line (the RUN row is in by then).
    char log[300];
    snprintf(log, sizeof log, "%s/task-0.log", dir);
    while (pu_now() < deadline + 30) {
        char *text = pu_slurp(log);
        int going = text && strstr(text, "rounds/s") != NULL;
        free(text);
        if (going)
            break;
        pu_sleep_ms(100);
    }
    pu_sleep_ms(500);
    return pid;
}

static void
s_assert_failed_and_gone(pid_t marina, const char *dir, const char *db, const char *cause)
{
    assert_int_equal(pu_wait(marina, 60), 1);
    char *error = pu_query_text(db, "SELECT status || ': ' || error FROM runs");
    if (!error) {  // say why: the run folder and the logs
        char cmd[1200];
        snprintf(cmd, sizeof cmd,
                 "ls -la %s; tail -n 30 %s/*.out %s/task-*.log %s/job-*.log %s/srun.log", dir,
                 s_work, dir, dir, dir);
        if (system(cmd) != 0)
            print_message("(no listing)\n");
    }
    assert_non_null(error);
    assert_non_null(strstr(error, "failed: "));
    assert_non_null(strstr(error, cause));
    free(error);
    double deadline = pu_now() + 20;
    while (pu_now() < deadline && s_processes_with(dir, NULL) > 0)
        pu_sleep_ms(200);
    assert_int_equal(s_processes_with(dir, NULL), 0);
}

static void
test_killed_worker_task_fails_the_run(void **state)
{
    (void) state;
    char dir[160], db[160], out[160];
    pid_t marina = s_start_long_run("killed", dir, sizeof dir, db, sizeof db, out);
    pid_t worker = s_worker_pid(dir, 2);
    assert_true(worker > 0);
    assert_int_equal(kill(worker, SIGKILL), 0);
    s_assert_failed_and_gone(marina, dir, db, "task 4: Killed");
}

static void
test_scancel_fails_the_run(void **state)
{
    (void) state;
    char dir[160], db[160], out[160];
    pid_t marina = s_start_long_run("cancelled", dir, sizeof dir, db, sizeof db, out);
    assert_int_equal(system("scancel --user=root"), 0);
    s_assert_failed_and_gone(marina, dir, db, "cancelled");
}

int
main(void)
{
    snprintf(s_work, sizeof s_work, "/tmp/marina-slurm-test-XXXXXX");
    if (!mkdtemp(s_work))
        return 1;
    snprintf(s_cluster_dir, sizeof s_cluster_dir, "%s/cluster", s_work);
    atexit(s_down);
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    char cmd[512], conf[256] = "";
    snprintf(cmd, sizeof cmd, "MARINA_CLUSTER_DIR=%s %s/tests/cluster/up.sh 3", s_cluster_dir,
             MARINA_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(conf, sizeof conf, p))
        conf[0] = '\0';
    int status = p ? pclose(p) : -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        fprintf(stderr, "test_slurm: skipped: this machine cannot make network namespaces (needs "
                        "root)\n");
        return 77;
    }
    char *eq = strchr(conf, '=');
    if (status != 0 || !eq) {
        fprintf(stderr, "test_slurm: tests/cluster/up.sh failed (status %d)\n", status);
        return 1;
    }
    eq[strcspn(eq, "\n")] = '\0';
    setenv("SLURM_CONF", eq + 1, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_run_records_the_rows_of_a_one_host_run),
        cmocka_unit_test(test_job_array_writes_three_runs),
        cmocka_unit_test(test_killed_worker_task_fails_the_run),
        cmocka_unit_test(test_scancel_fails_the_run),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    s_down();
    return failed;
}
