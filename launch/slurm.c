//  slurm.c - see slurm.h.
#define _DEFAULT_SOURCE  // getifaddrs
#include "slurm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "experiment.h"
#include "merge.h"
#include "query.h"
#include "security.h"

extern char **environ;

#define SLURM_POLL_MS 50   // how often a task looks for the server's endpoints
#define STEP_LINGER_S 4.0  // after a cancel, how long the step waits for srun (< KillWait)

static volatile sig_atomic_t s_signal = 0;

static void
s_on_signal(int sig)
{
    s_signal = sig;
}

static void
s_catch(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int
s_exe(char *out, size_t size)
{
    ssize_t len = readlink("/proc/self/exe", out, size - 1);
    if (len <= 0)
        return -1;
    out[len] = '\0';
    return 0;
}

static void
s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void
slurm_take_args(int *argc, char **argv, slurm_opts_t *o)
{
    memset(o, 0, sizeof *o);
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--slurm") == 0)
            o->slurm = 1;
        else if (strcmp(argv[i], "--wait") == 0)
            o->wait = 1;
        else if (strcmp(argv[i], "--run-dir") == 0 && i + 1 < *argc)
            o->run_dir = argv[++i];
        else if (strcmp(argv[i], "--hosts") == 0 && i + 1 < *argc)
            o->hosts = argv[++i];
        else if (strcmp(argv[i], "--") == 0 && i > 1) {
            o->sbatch_opts = &argv[i + 1];
            o->sbatch_count = *argc - i - 1;
            break;
        } else
            argv[out++] = argv[i];
    }
    // The options after "--" stay where they are (past the new argc).
    *argc = out;
}

//  The run's seats: n workers, of which the last `byzantine` are attackers; with attack = none the
//  attackers do not exist (n - byzantine honest workers). *attackers gets their count.
static long
s_seats(const cfg_t *cfg, long *attackers)
{
    long n = (long) cfg_int(cfg, "n"), b = (long) cfg_int(cfg, "byzantine");
    if (strcmp(cfg_str(cfg, "attack"), "none") == 0) {
        *attackers = 0;
        return n - b;
    }
    *attackers = b;
    return n;
}

long
slurm_task_count(const cfg_t *cfg)
{
    long attackers;
    return 2 + s_seats(cfg, &attackers);
}

//  Loads RUNDIR/run.ini into cfg (initialized here). 0, or prints why and returns -1.
static int
s_load(const char *dir, cfg_t *cfg, char *ini, size_t size)
{
    snprintf(ini, size, "%s/run.ini", dir);
    mr_err_t err = {0};
    if (cfg_init(cfg) != MR_OK)
        return -1;
    if (cfg_load_file(cfg, ini, &err) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        cfg_fini(cfg);
        return -1;
    }
    return 0;
}

//  This node's address for the server to bind: $MARINA_BIND_ADDR, else the first IPv4 address
//  of an interface that is up and not loopback. 0 or -1.
static int
s_node_addr(char *out, size_t size)
{
    const char *env = getenv("MARINA_BIND_ADDR");
    if (env && env[0]) {
        snprintf(out, size, "%s", env);
        return 0;
    }
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0)
        return -1;
    int found = -1;
    for (struct ifaddrs *a = list; a && found != 0; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !(a->ifa_flags & IFF_UP) ||
            (a->ifa_flags & IFF_LOOPBACK))
            continue;
        const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) a->ifa_addr;
        if (inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t) size))
            found = 0;
    }
    freeifaddrs(list);
    return found;
}

//  Waits up to timeout_s for RUNDIR/endpoints (one line: BCAST UP STATS). 0 or -1.
static int
s_wait_endpoints(const char *dir, double timeout_s, char ep[3][256])
{
    char path[4200];
    snprintf(path, sizeof path, "%s/endpoints", dir);
    for (double waited = 0; waited < timeout_s && !s_signal; waited += SLURM_POLL_MS / 1000.0) {
        FILE *f = fopen(path, "r");
        char line[1024] = "";
        if (f) {
            if (!fgets(line, sizeof line, f))
                line[0] = '\0';
            fclose(f);
        }
        if (strchr(line, '\n') && sscanf(line, "%255s %255s %255s", ep[0], ep[1], ep[2]) == 3)
            return 0;
        s_sleep_ms(SLURM_POLL_MS);
    }
    return -1;
}

//  Starts argv with stdout and stderr to out_path (NULL: inherited) and stdin from in_path
//  (NULL: inherited). The pid, or -1.
static pid_t
s_spawn(char *const argv[], const char *out_path, int out_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_path) {
        posix_spawn_file_actions_addopen(&fa, 2, out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    }
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    pid_t pid = -1;
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

//  Waits for pid; a signal to this process is passed on to it once (SIGTERM), and from then on
//  it is waited for at most linger_s (< 0: for ever). Exit code, 128 + signal, or 143 when it
//  was left to Slurm to kill.
static int
s_wait_child(pid_t pid, double linger_s)
{
    int status, forwarded = 0;
    double waited = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, forwarded && linger_s >= 0 ? WNOHANG : 0);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return 1;
        if (s_signal && !forwarded) {
            kill(pid, SIGTERM);
            forwarded = 1;
        } else if (forwarded && linger_s >= 0) {
            if (waited >= linger_s)
                return 143;
            s_sleep_ms(100);
            waited += 0.1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

//  Copies src to dst through dst.part and a rename (so dst is whole or absent). 0 or -1.
static int
s_copy_into_place(const char *src, const char *dst)
{
    //  Through SQLite (db_copy): the rows a killed recorder committed may still be in its
    //  write-ahead log, which a byte copy of the main file would leave behind.
    char part[4300];
    snprintf(part, sizeof part, "%s.part", dst);
    unlink(part);
    mr_err_t err;
    int rc = db_copy(src, part, &err) == MR_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "marina slurm: %s\n", err.text);
    if (rc == 0 && rename(part, dst) != 0)
        rc = -1;
    if (rc != 0)
        unlink(part);
    return rc;
}

static void
s_unlink_db(const char *path)
{
    char side[4300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

//  The recorder's node-local database path for this step.
static void
s_local_db(char *out, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    const char *job = getenv("SLURM_JOB_ID"), *step = getenv("SLURM_STEP_ID");
    snprintf(out, size, "%s/marina-%s-%s-recorder.db", tmp && tmp[0] ? tmp : "/tmp",
             job ? job : "0", step ? step : "0");
}

//  Task 1: the recorder, on a node-local file that is moved into the run folder at the end.
static int
s_task_recorder(const char *exe, const char *dir, const cfg_t *cfg)
{
    char ep[3][256], local[4096], timeout[32], final[4200], where[4200];
    if (s_wait_endpoints(dir, cfg_real(cfg, "timeout_s"), ep) != 0) {
        fprintf(stderr, "marina slurm: the server did not write %s/endpoints in %g s\n", dir,
                cfg_real(cfg, "timeout_s"));
        return 1;
    }
    s_local_db(local, sizeof local);
    s_unlink_db(local);
    snprintf(where, sizeof where, "%s/recorder-node", dir);
    FILE *f = fopen(where, "w");
    const char *node = getenv("SLURMD_NODENAME");
    if (f) {
        fprintf(f, "%s %s\n", node ? node : "-", local);
        fclose(f);
    }
    snprintf(timeout, sizeof timeout, "%g", cfg_real(cfg, "timeout_s"));
    char security[32], keys[4200];
    snprintf(security, sizeof security, "security=%s", cfg_str(cfg, "security"));
    snprintf(keys, sizeof keys, "keys_dir=%s", cfg_str(cfg, "keys_dir"));
    char *argv[] = {(char *) exe, "recorder",  "--connect", ep[2],    ep[1], "--db",
                    local,        "--timeout", timeout,     security, keys,  NULL};
    pid_t pid = s_spawn(argv, NULL, -1);
    int rc = pid > 0 ? s_wait_child(pid, -1) : 1;
    snprintf(final, sizeof final, "%s/run.db", dir);
    if (access(local, F_OK) == 0) {
        if (s_copy_into_place(local, final) != 0) {
            fprintf(stderr, "marina slurm: cannot move %s to %s: %s\n", local, final,
                    strerror(errno));
            return 1;
        }
        s_unlink_db(local);
        fprintf(stderr, "marina slurm: database moved to %s\n", final);
    }
    return rc;
}

int
slurm_cmd_task(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: marina slurm-task RUNDIR (started by srun)\n");
        return 2;
    }
    const char *dir = argv[2], *procid_text = getenv("SLURM_PROCID");
    char exe[4096], ini[4200];
    if (!procid_text || s_exe(exe, sizeof exe) != 0) {
        fprintf(stderr, "marina slurm-task: SLURM_PROCID is not set (run it with srun)\n");
        return 2;
    }
    s_catch();
    cfg_t cfg;
    if (s_load(dir, &cfg, ini, sizeof ini) != 0)
        return 2;
    long byz, procid = strtol(procid_text, NULL, 10), n = s_seats(&cfg, &byz);
    int rc = 0;
    if (procid == 0) {
        // The server: free ports on this node's address, reported into RUNDIR/endpoints.
        char addr[64], bind[96], path[4200], fd_text[16];
        if (s_node_addr(addr, sizeof addr) != 0) {
            fprintf(stderr, "marina slurm: no IPv4 address to bind (set MARINA_BIND_ADDR)\n");
            cfg_fini(&cfg);
            return 1;
        }
        snprintf(bind, sizeof bind, "tcp://%s:*", addr);
        snprintf(path, sizeof path, "%s/endpoints", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            fprintf(stderr, "marina slurm: cannot create %s: %s (a run folder serves one run)\n",
                    path, strerror(errno));
            cfg_fini(&cfg);
            return 1;
        }
        snprintf(fd_text, sizeof fd_text, "%d", fd);
        fprintf(stderr, "marina slurm: task 0 is the server on node %s, binding %s\n",
                getenv("SLURMD_NODENAME") ? getenv("SLURMD_NODENAME") : "?", bind);
        char *a[] = {exe,  "server", "--config",    ini,     "--bind", bind,
                     bind, bind,     "--report-fd", fd_text, NULL};
        execv(exe, a);
        fprintf(stderr, "marina slurm: cannot start %s: %s\n", exe, strerror(errno));
        rc = 1;
    } else if (procid == 1) {
        fprintf(stderr, "marina slurm: task 1 is the recorder on node %s\n",
                getenv("SLURMD_NODENAME") ? getenv("SLURMD_NODENAME") : "?");
        rc = s_task_recorder(exe, dir, &cfg);
    } else if (procid < 2 + n) {
        char ep[3][256], id[32];
        int attacker = procid >= 2 + n - byz;
        snprintf(id, sizeof id, "%ld", procid - 2);
        if (s_wait_endpoints(dir, cfg_real(&cfg, "timeout_s"), ep) != 0) {
            fprintf(stderr, "marina slurm: the server did not write %s/endpoints in %g s\n", dir,
                    cfg_real(&cfg, "timeout_s"));
            rc = 1;
        } else {
            fprintf(stderr, "marina slurm: task %ld is %s %s on node %s\n", procid,
                    attacker ? "attacker" : "worker", id,
                    getenv("SLURMD_NODENAME") ? getenv("SLURMD_NODENAME") : "?");
            char *a[] = {exe,         attacker ? "attacker" : "worker",
                         "--config",  ini,
                         "--id",      id,
                         "--connect", ep[0],
                         ep[1],       NULL};
            execv(exe, a);
            fprintf(stderr, "marina slurm: cannot start %s: %s\n", exe, strerror(errno));
            rc = 1;
        }
    } else {
        fprintf(stderr, "marina slurm: task %ld has no role (the run has %ld actors)\n", procid,
                2 + n);
        rc = 1;
    }
    cfg_fini(&cfg);
    return rc;
}

//  Moves the recorder's node-local database (named in RUNDIR/recorder-node) into RUNDIR/run.db.
static int
s_collect(const char *dir)
{
    char where[4200], node[256] = "", local[4096] = "", final[4200];
    snprintf(where, sizeof where, "%s/recorder-node", dir);
    snprintf(final, sizeof final, "%s/run.db", dir);
    FILE *f = fopen(where, "r");
    if (!f)
        return -1;
    int got = fscanf(f, "%255s %4095s", node, local);
    fclose(f);
    if (got != 2 || access(local, F_OK) != 0)
        return -1;
    if (s_copy_into_place(local, final) != 0)
        return -1;
    s_unlink_db(local);
    return 0;
}

int
slurm_cmd_collect(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    return s_collect(argv[2]) == 0 ? 0 : 1;
}

//  The first line of srun's log that says how a task ended, into cause ("" if none).
static void
s_srun_cause(const char *log, char *cause, size_t size)
{
    cause[0] = '\0';
    FILE *f = fopen(log, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, "task") && (strstr(line, "Killed") || strstr(line, "Exited") ||
                                     strstr(line, "Terminated") || strstr(line, "exit code"))) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(cause, size, "%s", line);
            break;
        }
    }
    if (f)
        fclose(f);
}

//  Marks the run in the database at path failed with cause unless it completed. Prints and
//  returns 0 if it completed, 1 otherwise.
static int
s_fix_status(const char *path, const char *cause)
{
    mr_err_t err = {0};
    query_t *q = query_open(path, &err);
    qtable_t t = {0};
    if (!q ||
        query_sql(q,
                  "SELECT id, status, coalesce(error, '') FROM runs ORDER BY id DESC"
                  " LIMIT 1",
                  &t, &err) != MR_OK ||
        t.rows == 0) {
        fprintf(stderr, "marina slurm: %s: no run recorded %s\n", path, err.text);
        query_close(&q);
        qtable_fini(&t);
        return 1;
    }
    int64_t id = strtoll(qtable_cell(&t, 0, 0), NULL, 10);
    char status[32], error[512];
    snprintf(status, sizeof status, "%s", qtable_cell(&t, 0, 1));
    snprintf(error, sizeof error, "%s", qtable_cell(&t, 0, 2));
    qtable_fini(&t);
    query_close(&q);
    if (strcmp(status, "completed") == 0)
        return 0;
    char why[1024];
    snprintf(why, sizeof why, "%s%s%s", cause, error[0] && cause[0] ? "; " : "", error);
    db_t *db = db_open(path, &err);
    if (!db || db_run_finish(db, id, "failed", why, &err) != MR_OK)
        fprintf(stderr, "marina slurm: cannot mark run %lld failed: %s\n", (long long) id,
                err.text);
    db_close(&db);
    fprintf(stderr, "marina slurm: run failed: %s\n", why);
    return 1;
}

//  Puts the run's database (RUNDIR/run.db, final) in place with its status fixed: a run that did
//  not complete is marked failed with cause; then merged into the configured db (merge), or left
//  in the run folder. 0 if the run completed, else 1.
static int
s_settle(const cfg_t *cfg, const char *final, const char *cause, int merge)
{
    int rc = 1;
    if (access(final, F_OK) != 0) {
        fprintf(stderr, "marina slurm: no database from the recorder (%s); %s\n", final,
                cause[0] ? cause : "see the task logs");
    } else {
        // Fix the status on a node-local copy, then move or merge it into place.
        const char *tmp = getenv("TMPDIR");
        char local[4200];
        snprintf(local, sizeof local, "%s/marina-step-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        int fd = mkstemp(local);
        if (fd >= 0)
            close(fd);
        if (fd < 0 || s_copy_into_place(final, local) != 0) {
            fprintf(stderr, "marina slurm: cannot copy %s to %s\n", final, local);
        } else {
            rc = s_fix_status(local, cause[0] ? cause : "the run did not end");
            const char *db = cfg_str(cfg, "db");
            mr_err_t err = {0};
            if (!merge) {
                if (s_copy_into_place(local, final) != 0)
                    fprintf(stderr, "marina slurm: cannot update %s\n", final);
            } else if (access(db, F_OK) != 0) {
                if (s_copy_into_place(local, db) != 0) {
                    fprintf(stderr, "marina slurm: cannot move the database to %s\n", db);
                    rc = 1;
                }
            } else if (db_merge(db, local, NULL, &err) != MR_OK) {
                fprintf(stderr, "marina slurm: cannot merge into %s: %s (the run stays in %s)\n",
                        db, err.text, final);
                rc = 1;
            }
            s_unlink_db(local);
            fprintf(stderr, "marina slurm: run %s -> %s\n", rc == 0 ? "completed" : "failed",
                    merge ? db : final);
        }
    }
    return rc;
}

//  The step: srun with one task per actor, then the database into place.
static int
s_step(const char *dir, int merge)
{
    char exe[4096], ini[4200], log[4200], ntasks[32], out[4200];
    if (s_exe(exe, sizeof exe) != 0)
        return 1;
    cfg_t cfg;
    if (s_load(dir, &cfg, ini, sizeof ini) != 0)
        return 2;
    snprintf(ntasks, sizeof ntasks, "--ntasks=%ld", slurm_task_count(&cfg));
    snprintf(out, sizeof out, "--output=%s/task-%%t.log", dir);
    snprintf(log, sizeof log, "%s/srun.log", dir);
    char *argv[] = {"srun", "--kill-on-bad-exit=1", ntasks,       out, "--job-name=marina",
                    exe,    "slurm-task",           (char *) dir, NULL};
    s_catch();
    fprintf(stderr, "marina slurm: step of %ld tasks, run folder %s\n", slurm_task_count(&cfg),
            dir);
    pid_t pid = s_spawn(argv, log, -1);
    if (pid < 0) {
        fprintf(stderr, "marina slurm: cannot start srun: %s\n", strerror(errno));
        cfg_fini(&cfg);
        return 1;
    }
    // Cancelled (scancel, time limit): Slurm kills everything after KillWait, so the database
    // is put in place after a few seconds even if srun has not ended by then.
    int srun_rc = s_wait_child(pid, STEP_LINGER_S);
    int signalled = s_signal;
    char cause[600] = "", final[4200];
    if (signalled)
        snprintf(cause, sizeof cause,
                 "the Slurm job was cancelled (signal %d: scancel or time "
                 "limit)",
                 signalled);
    else if (srun_rc != 0) {
        char line[512];
        s_srun_cause(log, line, sizeof line);
        snprintf(cause, sizeof cause, "the Slurm step failed (srun exit %d)%s%s", srun_rc,
                 line[0] ? ": " : "", line);
    }
    snprintf(final, sizeof final, "%s/run.db", dir);
    if (access(final, F_OK) != 0 && s_collect(dir) != 0 && !signalled) {
        // The recorder's task died on another node: fetch its file from there.
        char where[4200], node[256] = "", nodelist[300];
        snprintf(where, sizeof where, "%s/recorder-node", dir);
        FILE *f = fopen(where, "r");
        if (f && fscanf(f, "%255s", node) == 1) {
            snprintf(nodelist, sizeof nodelist, "--nodelist=%s", node);
            char *collect[] = {"srun",          "--ntasks=1", "--nodes=1",
                               "--overcommit",  nodelist,     exe,
                               "slurm-collect", (char *) dir, NULL};
            pid_t c = s_spawn(collect, log, -1);
            if (c > 0)
                s_wait_child(c, STEP_LINGER_S);
        }
        if (f)
            fclose(f);
    }
    int rc = s_settle(&cfg, final, cause, merge);
    // RUNDIR/status tells `marina run --slurm --wait` how the run ended.
    char status_path[4200];
    snprintf(status_path, sizeof status_path, "%s/status", dir);
    FILE *sf = fopen(status_path, "w");
    if (sf) {
        fprintf(sf, "%s\n", rc == 0 ? "completed" : "failed");
        fclose(sf);
    }
    cfg_fini(&cfg);
    return rc;
}

int
slurm_cmd_step(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: marina slurm-step RUNDIR [--no-merge] (inside an allocation)\n");
        return 2;
    }
    int merge = !(argc > 3 && strcmp(argv[3], "--no-merge") == 0);
    return s_step(argv[2], merge);
}

int
slurm_write_job(const char *run_dir, int array, long ntasks, const char *exe)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/job.sh", run_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "#!/bin/sh\n"
            "# Written by marina: one job step whose tasks are the actors (docs/deploy.md).\n"
            "#SBATCH --job-name=marina\n"
            "#SBATCH --ntasks=%ld\n"
            "#SBATCH --output=%s/job-%s.log\n",
            ntasks, run_dir, array ? "%A_%a" : "%j");
    if (array)
        fprintf(f, "exec '%s' slurm-step '%s'/\"$SLURM_ARRAY_TASK_ID\" --no-merge\n", exe, run_dir);
    else
        fprintf(f, "exec '%s' slurm-step '%s'\n", exe, run_dir);
    return fclose(f) == 0 ? 0 : -1;
}

int
slurm_submit(const char *run_dir,
             const char *array,
             const char *dependency,
             const char *script,
             const slurm_opts_t *o,
             long *job_id)
{
    char **argv = calloc((size_t) o->sbatch_count + 8, sizeof *argv);
    char array_opt[4200], dep_opt[128], path[4200];
    if (!argv)
        return 1;
    int k = 0;
    argv[k++] = "sbatch";
    argv[k++] = "--parsable";
    if (o->wait)
        argv[k++] = "--wait";
    if (array) {
        snprintf(array_opt, sizeof array_opt, "--array=%s", array);
        argv[k++] = array_opt;
    }
    if (dependency) {
        snprintf(dep_opt, sizeof dep_opt, "--dependency=%s", dependency);
        argv[k++] = dep_opt;
    }
    for (int i = 0; i < o->sbatch_count; i++)
        argv[k++] = o->sbatch_opts[i];
    snprintf(path, sizeof path, "%s/%s", run_dir, script);
    argv[k++] = path;
    argv[k] = NULL;
    int fds[2];
    if (pipe(fds) != 0) {
        free(argv);
        return 1;
    }
    pid_t pid = s_spawn(argv, NULL, fds[1]);
    close(fds[1]);
    char line[256] = "";
    size_t used = 0;
    ssize_t got;
    // sbatch --parsable prints "ID[;CLUSTER]" at once, then (--wait) waits for the job.
    while (used + 1 < sizeof line && (got = read(fds[0], line + used, 1)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    *job_id = strtol(line, NULL, 10);
    if (*job_id > 0) {
        printf("%ld\n", *job_id);
        fflush(stdout);
    }
    int rc = pid > 0 ? s_wait_child(pid, -1) : 1;
    close(fds[0]);
    free(argv);
    if (pid < 0)
        fprintf(stderr, "marina slurm: cannot run sbatch: %s\n", strerror(errno));
    return rc;
}

int
slurm_run(cfg_t *cfg, const slurm_opts_t *o)
{
    experiment_t e;
    mr_err_t err = {0};
    if (experiment_init(&e, cfg, &err) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        return 2;
    }
    char num[64];
    snprintf(num, sizeof num, "%.17g", e.f_star);
    if (!isnan(e.f_star))
        cfg_set(cfg, "fstar", num, "f*", NULL);
    experiment_fini(&e);
    char cwd[2048], dir[4096], exe[4096];
    if (!getcwd(cwd, sizeof cwd) || s_exe(exe, sizeof exe) != 0)
        return 1;
    // The database path is resolved here: the step may start in another folder.
    const char *db = cfg_str(cfg, "db");
    if (db[0] != '/') {
        char abs[4200];
        snprintf(abs, sizeof abs, "%s/%s", cwd, db);
        cfg_set(cfg, "db", abs, "slurm", NULL);
    }
    if (o->run_dir) {
        snprintf(dir, sizeof dir, "%s%s%s", o->run_dir[0] == '/' ? "" : cwd,
                 o->run_dir[0] == '/' ? "" : "/", o->run_dir);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(dir, sizeof dir, "%s/marina-slurm", cwd);
        mkdir(dir, 0755);
        snprintf(dir, sizeof dir, "%s/marina-slurm/%s-%s-%d", cwd,
                 cfg_str(cfg, "name")[0] ? cfg_str(cfg, "name") : "run", stamp, (int) getpid());
        for (char *c = dir + strlen(cwd) + 14; *c; c++)
            if (*c == ' ' || *c == '/')
                *c = '_';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "marina: cannot make the run folder %s: %s\n", dir, strerror(errno));
        return 1;
    }
    // security=curve without keys_dir: keys for this run in its folder (on the shared file
    // system, like run.ini).
    if (strcmp(cfg_str(cfg, "security"), "curve") == 0 && !cfg_str(cfg, "keys_dir")[0]) {
        static const char *const names[] = {"recorder", "worker", "attacker"};
        char keys[4200];
        snprintf(keys, sizeof keys, "%s/keys", dir);
        if (sec_keys_make(keys, names, 3, &err) != MR_OK ||
            cfg_set(cfg, "keys_dir", keys, "slurm", &err) != MR_OK) {
            fprintf(stderr, "marina: %s\n", err.text);
            return 1;
        }
    }
    char ini_path[4200];
    snprintf(ini_path, sizeof ini_path, "%s/run.ini", dir);
    char *ini = cfg_to_ini(cfg);
    FILE *f = fopen(ini_path, "w");
    int ok = ini && f && fputs(ini, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    free(ini);
    if (!ok) {
        fprintf(stderr, "marina: cannot write %s\n", ini_path);
        return 1;
    }
    fprintf(stderr, "marina: run folder %s (%ld tasks: server, recorder, %lld workers)\n", dir,
            slurm_task_count(cfg), (long long) cfg_int(cfg, "n"));
    if (getenv("SLURM_JOB_ID"))
        return s_step(dir, 1);  // inside an allocation: the step starts here
    if (slurm_write_job(dir, 0, slurm_task_count(cfg), exe) != 0) {
        fprintf(stderr, "marina: cannot write %s/job.sh\n", dir);
        return 1;
    }
    long job = 0;
    int rc = slurm_submit(dir, NULL, NULL, "job.sh", o, &job);
    if (rc == 0 && o->wait) {
        // sbatch --wait may say 0 for a cancelled job: the step's own verdict decides.
        char status_path[4200], line[32] = "";
        snprintf(status_path, sizeof status_path, "%s/status", dir);
        FILE *sf = fopen(status_path, "r");
        if (!sf) {
            //  The step itself was killed (scancel, a time limit) before it put the database in
            //  place: do it from here, where the recorder's file can be reached (this host, or a
            //  shared TMPDIR), so that the run is recorded as failed, not lost.
            char final[4200];
            snprintf(final, sizeof final, "%s/run.db", dir);
            if (access(final, F_OK) != 0)
                s_collect(dir);
            s_settle(cfg, final,
                     "the Slurm job ended before the run did (cancelled: scancel or a time "
                     "limit; or a node failure)",
                     1);
        }
        if (!sf || !fgets(line, sizeof line, sf) || strncmp(line, "completed", 9) != 0) {
            fprintf(stderr, "marina: job %ld: the run did not complete (see %s)\n", job, dir);
            rc = 1;
        }
        if (sf)
            fclose(sf);
    }
    return rc;
}
