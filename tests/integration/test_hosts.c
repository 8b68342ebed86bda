//  test_hosts.c - `marina run --hosts FILE` with command prefixes (`env HOST=x`, `-`) on
//  loopback: the rows equal a one-host run's, every actor's log lands in the run folder; a
//  killed worker stops the run with the cause recorded; a host that cannot be reached fails
//  before anything starts; killing the launcher leaves no actor behind.
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proc_util.h"

//  Processes (other than this one) whose command line contains text.
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

static void
s_files(const pu_fixture_t *f, const char *rounds, const char *hosts_text, char *ini, char *hosts)
{
    snprintf(ini, 160, "%s/exp.ini", f->dir);
    FILE *s = fopen(ini, "w");
    assert_non_null(s);
    fprintf(s,
            "n = 3\nseed = 4\nrounds = %s\nprogress_s = 0\nsynth_rows = 300\nsynth_d = 12\n"
            "k = 3\ntimeout_s = 10\n",
            rounds);
    fclose(s);
    snprintf(hosts, 160, "%s/hosts", f->dir);
    s = fopen(hosts, "w");
    assert_non_null(s);
    fputs(hosts_text, s);
    fclose(s);
}

static const char s_three_hosts[] = "# name addr prefix\n"
                                    "a 127.0.0.1 env MARINA_TEST_HOST=a\n"
                                    "b 127.0.0.1 env MARINA_TEST_HOST=b\n"
                                    "c 127.0.0.1 -\n";

static void
test_hosts_run_records_the_rows_of_a_one_host_run(void **state)
{
    pu_fixture_t *f = *state;
    char ini[160], hosts[160], dir[200], one[200], dbarg[260];
    s_files(f, "40", s_three_hosts, ini, hosts);
    snprintf(dir, sizeof dir, "%s/run", f->dir);
    snprintf(one, sizeof one, "%s/one.db", f->dir);
    snprintf(dbarg, sizeof dbarg, "db=%s", one);
    char *local[] = {MARINA_BIN, "run", ini, dbarg, NULL};
    assert_int_equal(pu_run(local, f->out, 60), 0);
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *run[] = {MARINA_BIN, "run", ini, dbarg, "--hosts", hosts, "--run-dir", dir, NULL};
    assert_int_equal(pu_run(run, f->out, 60), 0);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "worker 0 on b"));
    assert_non_null(strstr(out, "worker 1 on c"));
    assert_non_null(strstr(out, "worker 2 on b"));
    free(out);
    assert_int_equal((int) pu_query(f->db, "SELECT count(*) FROM runs WHERE status = 'completed'"),
                     1);
    // The same rows: compare sums of every deterministic column.
    const char *cols[] = {"sum(f)",
                          "sum(grad_norm_sq)",
                          "sum(bits_paper_up)",
                          "sum(bytes_wire_up)",
                          "sum(oracle_calls)",
                          "count(*)"};
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT %s FROM rounds", cols[c]);
        assert_true(pu_query(f->db, sql) == pu_query(one, sql));
    }
    const char *logs[] = {"server", "recorder", "worker-0", "worker-1", "worker-2"};
    for (size_t i = 0; i < 5; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s.log", dir, logs[i]);
        assert_int_equal(access(path, R_OK), 0);
    }
}

//  A worker on another host that stops on a diverged iterate: runs.error carries its own words
//  (its exit note, in the run folder every host sees) after how its process ended.
static void
test_a_diverged_worker_says_why_through_the_run_folder(void **state)
{
    pu_fixture_t *f = *state;
    char ini[160], hosts[160], dir[200], dbarg[260];
    s_files(f, "1000", s_three_hosts, ini, hosts);
    snprintf(dir, sizeof dir, "%s/run", f->dir);
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *run[] = {MARINA_BIN, "run",       ini, dbarg, "loss=quadratic", "gamma=1e3", "--hosts",
                   hosts,      "--run-dir", dir, NULL};
    assert_int_equal(pu_run(run, f->out, 60), 1);
    char *why = pu_query_text(f->db, "SELECT error FROM runs");
    assert_non_null(why);
    //  Every worker's f_i goes infinite in round 48: whichever process ended first is named.
    assert_non_null(strstr(why, "exited with status 1: worker "));
    assert_non_null(strstr(why, ": round 48: the iterate diverged (f_i = inf)"));
    free(why);
}

//  A run folder used again: the exit notes an earlier run left there do not speak for this run's
//  processes. Here the workers' prefix (`timeout 3`) ends them with status 124 and no note of
//  their own; a leftover note for worker 0 must not be taken as its reason, and is removed.
static void
test_an_earlier_runs_exit_note_is_not_this_runs_reason(void **state)
{
    pu_fixture_t *f = *state;
    char ini[160], hosts[160], dir[200], dbarg[260], note[300];
    s_files(f, "100000000", "a 127.0.0.1 -\nb 127.0.0.1 timeout 3\n", ini, hosts);
    snprintf(dir, sizeof dir, "%s/run", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int w = 0; w < 3; w++) {
        snprintf(note, sizeof note, "%s/exit-worker-%d", dir, w);
        FILE *n = fopen(note, "w");
        assert_non_null(n);
        fputs("stale words of an earlier run\n", n);
        fclose(n);
    }
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *run[] = {MARINA_BIN, "run", ini, dbarg, "--hosts", hosts, "--run-dir", dir, NULL};
    assert_int_equal(pu_run(run, f->out, 60), 1);
    char *why = pu_query_text(f->db, "SELECT error FROM runs");
    assert_non_null(why);
    assert_non_null(strstr(why, "exited with status 124"));
    assert_null(strstr(why, "stale words"));
    free(why);
    for (int w = 0; w < 3; w++) {
        snprintf(note, sizeof note, "%s/exit-worker-%d", dir, w);
        assert_int_not_equal(access(note, F_OK), 0);
    }
}

static void
test_killed_worker_stops_every_actor_with_the_cause(void **state)
{
    pu_fixture_t *f = *state;
    char ini[160], hosts[160], dir[200], dbarg[260], pattern[300];
    s_files(f, "100000000", s_three_hosts, ini, hosts);
    snprintf(dir, sizeof dir, "%s/run", f->dir);
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *run[] = {MARINA_BIN, "run", ini, dbarg, "--hosts", hosts, "--run-dir", dir, NULL};
    pid_t launcher = pu_spawn(run, f->out);
    snprintf(pattern, sizeof pattern, "worker --config %s/run.ini --id 1 ", dir);
    pid_t worker = 0;
    double deadline = pu_now() + 30;
    while (pu_now() < deadline && !(pu_query(f->db, "SELECT count(*) FROM rounds") > 10 &&
                                    s_processes_with(pattern, &worker) > 0))
        pu_sleep_ms(50);
    assert_true(worker > 0);
    assert_int_equal(kill(worker, SIGKILL), 0);
    assert_int_equal(pu_wait(launcher, 60), 1);
    char *why = pu_query_text(f->db, "SELECT status || ': ' || error FROM runs");
    assert_non_null(why);
    assert_non_null(strstr(why, "aborted: the worker 1"));
    assert_non_null(strstr(why, "signal 9"));
    free(why);
    assert_int_equal(s_processes_with(dir, NULL), 0);
}

static void
test_killing_the_launcher_leaves_no_actor(void **state)
{
    pu_fixture_t *f = *state;
    char ini[160], hosts[160], dir[200], dbarg[260];
    s_files(f, "100000000", s_three_hosts, ini, hosts);
    snprintf(dir, sizeof dir, "%s/run", f->dir);
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *run[] = {MARINA_BIN, "run", ini, dbarg, "--hosts", hosts, "--run-dir", dir, NULL};
    pid_t launcher = pu_spawn(run, f->out);
    double deadline = pu_now() + 30;
    while (pu_now() < deadline && !(pu_query(f->db, "SELECT count(*) FROM rounds") > 10))
        pu_sleep_ms(50);
    assert_int_equal(s_processes_with(dir, NULL), 6);  // launcher, server, recorder, 3 workers
    assert_int_equal(kill(launcher, SIGKILL), 0);
    assert_int_equal(pu_wait(launcher, 10), 128 + SIGKILL);
    deadline = pu_now() + 20;
    while (pu_now() < deadline && s_processes_with(dir, NULL) > 0)
        pu_sleep_ms(100);
    assert_int_equal(s_processes_with(dir, NULL), 0);
}

static void
test_unreachable_host_fails_before_anything_starts(void **state)
{
    pu_fixture_t *f = *state;
    char ini[160], hosts[160], dir[200], dbarg[260];
    s_files(f, "10", "a 127.0.0.1 -\nbroken 127.0.0.1 false\n", ini, hosts);
    snprintf(dir, sizeof dir, "%s/run", f->dir);
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *run[] = {MARINA_BIN, "run", ini, dbarg, "--hosts", hosts, "--run-dir", dir, NULL};
    assert_int_equal(pu_run(run, f->out, 60), 1);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "host broken"));
    assert_non_null(strstr(out, "cannot be reached"));
    free(out);
    assert_int_equal(access(f->db, F_OK), -1);
    s_files(f, "10", "a 127.0.0.1 -\njust-a-name\n", ini, hosts);
    assert_int_equal(pu_run(run, f->out, 60), 2);
    out = pu_slurp(f->out);
    assert_non_null(strstr(out, ":2: a line is NAME ADDR"));
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hosts_run_records_the_rows_of_a_one_host_run, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_a_diverged_worker_says_why_through_the_run_folder,
                                        pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_an_earlier_runs_exit_note_is_not_this_runs_reason,
                                        pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_killed_worker_stops_every_actor_with_the_cause,
                                        pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_killing_the_launcher_leaves_no_actor, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_host_fails_before_anything_starts,
                                        pu_setup, pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
