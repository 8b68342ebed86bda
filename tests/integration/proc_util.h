//  proc_util.h - helpers for integration tests that start the real marina binary: spawn with
//  captured output, wait with a deadline, read numbers from a result database. Header-only.
#ifndef PROC_UTIL_H
#define PROC_UTIL_H

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsvm.h"

extern char **environ;

//  The columns of a round's row that an interruption must not change (wall times may): the
//  chaos tests compare them with an uninterrupted run's (pu_rows_unlike()).
#define PU_ROW_COLS                                                                                \
    "round, c_k, f, grad_norm_sq, bits_paper_up, bits_model_up, bytes_wire_up, bits_paper_down, "  \
    "bits_model_down, bytes_wire_down, nnz_up, oracle_calls, participants, accepted, rejected"
//  PU_ROW_COLS less the two a repair changes: a process stalled 2 s (a loaded machine) makes its
//  peers ask for the round again, and the server publishes it again (bytes_wire_down) and
//  discards the answers they resend (rejected, with rows whose reason ends in "discarded").
#define PU_ROW_COLS_SANS_REPAIR                                                                    \
    "round, c_k, f, grad_norm_sq, bits_paper_up, bits_model_up, bytes_wire_up, bits_paper_down, "  \
    "bits_model_down, nnz_up, oracle_calls, participants, accepted"

//  xorshift64: the tests' own draws (e.g. the rounds at which an actor is killed).
static inline uint64_t
pu_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline double
pu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static inline void
pu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

//  Starts argv[0] with argv; stdout and stderr go to out_path (if not NULL). Returns the pid.
static inline pid_t pu_spawn_group(char *const argv[], const char *out_path, int own_group);

static inline pid_t
pu_spawn(char *const argv[], const char *out_path)
{
    return pu_spawn_group(argv, out_path, 0);
}

//  As pu_spawn; with own_group the child leads a new process group (so that a test can send a
//  signal to it and all its children, as a terminal's Ctrl-C does).
static inline pid_t
pu_spawn_group(char *const argv[], const char *out_path, int own_group)
{
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (own_group) {
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_path) {
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, &attr, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return pid;
}

//  Waits up to timeout_s for pid; returns its exit code, 128+signal, or -1 on timeout (then the
//  process is killed and reaped, so no test leaves an orphan).
static inline int
pu_wait(pid_t pid, double timeout_s)
{
    double deadline = pu_now() + timeout_s;
    int status;
    while (pu_now() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pu_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

//  Runs argv to completion (timeout_s), output to out_path; returns pu_wait's code.
static inline int
pu_run(char *const argv[], const char *out_path, double timeout_s)
{
    pid_t pid = pu_spawn(argv, out_path);
    return pid < 0 ? -2 : pu_wait(pid, timeout_s);
}

//  The first column of the first row of sql on the database at path, as a double (NAN if none).
static inline double
pu_query(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    double v = NAN;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        sqlite3_busy_timeout(db, 2000);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            v = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

//  The rows of run `run` (rounds <= upto) that differ from run 1's: in PU_ROW_COLS_SANS_REPAIR,
//  or in bytes_wire_down or rejected in a round that neither run repaired (no discarded copy in
//  that round or the next, in either run). 0 when the run's rows are the clean run's; NAN if
//  the query fails.
static inline double
pu_rows_unlike(const char *path, int run, double upto)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM (SELECT %s FROM rounds WHERE run_id = %d AND round <= "
             "%.0f EXCEPT SELECT %s FROM rounds WHERE run_id = 1)) + (SELECT count(*) FROM rounds "
             "a JOIN rounds b ON b.run_id = 1 AND b.round = a.round WHERE a.run_id = %d AND "
             "a.round <= %.0f AND (a.bytes_wire_down <> b.bytes_wire_down OR a.rejected <> "
             "b.rejected) AND NOT EXISTS (SELECT 1 FROM rejections r WHERE r.run_id IN (1, %d) "
             "AND r.round IN (a.round, a.round + 1) AND r.reason LIKE '%%discarded'))",
             PU_ROW_COLS_SANS_REPAIR, run, upto, PU_ROW_COLS_SANS_REPAIR, run, upto, run);
    return pu_query(path, sql);
}

//  The first column of the first row as text (caller frees; NULL if none).
static inline char *
pu_query_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            out = strdup((const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

//  1 if run `run` of the database at path ended 'completed' with rounds 0..last each recorded
//  exactly once, and the file passes PRAGMA integrity_check; else 0 (saying which on stderr).
static inline int
pu_run_complete(const char *path, int run, int last)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT status = 'completed' FROM runs WHERE id = %d", run);
    int completed = pu_query(path, sql) == 1;
    snprintf(sql, sizeof sql,
             "SELECT count(*) = %d AND count(DISTINCT round) = %d AND min(round) = 0 AND "
             "max(round) = %d FROM rounds WHERE run_id = %d",
             last + 1, last + 1, last, run);
    int once = pu_query(path, sql) == 1;
    char *ok = pu_query_text(path, "PRAGMA integrity_check");
    int sound = ok && strcmp(ok, "ok") == 0;
    free(ok);
    if (!completed || !once || !sound)
        fprintf(stderr, "run %d of %s:%s%s%s\n", run, path, completed ? "" : " not completed",
                once ? "" : " rounds 0..last not each once", sound ? "" : " integrity_check fails");
    return completed && once && sound;
}

//  The whole content of a (small) file, NUL-terminated (caller frees; "" if unreadable).
static inline char *
pu_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    if (f && buf) {
        size_t got = fread(buf, 1, (1 << 20) - 1, f);
        buf[got] = '\0';
    }
    if (f)
        fclose(f);
    return buf;
}

//  A LibSVM data set by the command line's rule (libsvm_data_dir(): $MARINA_DATA_DIR, else the
//  build's default). Writes "<dir>/<name>" to out; returns 1 if that file exists.
static inline int
pu_dataset(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", libsvm_data_dir(), name);
    return access(out, R_OK) == 0;
}

//  A test's own directory with a result database and an output file; pu_setup / pu_teardown
//  are cmocka fixtures (the directory and everything in it is removed afterwards).
typedef struct {
    char dir[64];
    char db[128];
    char out[128];
} pu_fixture_t;

//  What a failed run leaves to diagnose it, on stderr: the latest round recorded for run `run`,
//  its last rejections, and the last bytes the launcher printed (f->out).
static inline void
pu_dump(const pu_fixture_t *f, int run)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT max(round) FROM rounds WHERE run_id = %d", run);
    fprintf(stderr, "run %d: latest round recorded %.0f\n", run, pu_query(f->db, sql));
    snprintf(sql, sizeof sql,
             "SELECT group_concat(round || ' ' || coalesce(sender, '-') || ' ' || reason, '\n') "
             "FROM (SELECT * FROM rejections WHERE run_id = %d ORDER BY rowid DESC LIMIT 8)",
             run);
    char *why = pu_query_text(f->db, sql);
    fprintf(stderr, "its last rejections (latest first):\n%s\n", why ? why : "(none)");
    free(why);
    FILE *out = fopen(f->out, "rb");
    if (!out)
        return;
    char tail[3000];
    if (fseek(out, 0, SEEK_END) == 0 && ftell(out) > (long) sizeof tail - 1)
        fseek(out, -(long) sizeof tail + 1, SEEK_END);
    else
        rewind(out);
    size_t got = fread(tail, 1, sizeof tail - 1, out);
    tail[got] = '\0';
    fclose(out);
    fprintf(stderr, "the launcher's output, its end:\n%s\n", tail);
}

//  The pid of the child of parent whose command line matches pattern (pgrep -P parent -f), or 0.
static inline pid_t
pu_child(pid_t parent, const char *pattern)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "pgrep -P %d -f '%s'", (int) parent, pattern);
    FILE *p = popen(cmd, "r");
    int pid = 0;
    if (p && fscanf(p, "%d", &pid) != 1)
        pid = 0;
    if (p)
        pclose(p);
    return (pid_t) pid;
}

static inline int
pu_setup(void **state)
{
    pu_fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-test-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/runs.db", f->dir);
    snprintf(f->out, sizeof f->out, "%s/out.txt", f->dir);
    *state = f;
    return 0;
}

static inline int
pu_teardown(void **state)
{
    pu_fixture_t *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

#endif
