//  bench_many_workers.c - thousands of workers in one process (transport = inproc) against the
//  compute floor of their round, measured in the same run.
//
//  The floor is the math a round must do and nothing else: the n workers' MARINA steps (local
//  gradient, RandK) and the server's average, called in one thread through the method API of
//  optim/method.h, on the same generated data (data_synthetic with the launcher's arguments), with
//  the same gamma and p. Its rounds/s is multiplied by the cores online: the ideal if the math
//  were spread over every core with no cost at all. The real run is `marina run transport=inproc`
//  with the same n, data and parameters; its rounds/s comes from the result database (round 1 to
//  the last, so start-up is not counted) and its peak memory from wait4().
//
//      build/tests/bench_many_workers [--n 1000,10000] [--rounds 100]
//
//  Prints per n: floor rounds/s, real rounds/s, their ratio, the real run's peak RSS and per
//  worker. Exits 0 when every measurement ran (a benchmark reports, it does not judge).
#define _DEFAULT_SOURCE  // wait4()
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data.h"
#include "loss.h"
#include "method.h"
#include "rng.h"

#define ROWS_PER_WORKER 20
#define DIM             40
#define DENSITY         0.3
#define RANDK_K         10
#define GAMMA           0.1
#define P_FULL          0.1
#define SEED            1
#define MAX_NS          8

extern char **environ;

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

//  The floor: rounds/s of the math of `rounds` rounds in this thread (after 5 untimed ones).
static int
s_floor(size_t n, int rounds, double *rps)
{
    csr_t data;
    if (data_synthetic(n * ROWS_PER_WORKER, DIM, DENSITY, n, SEED, &data, NULL) != MR_OK)
        return -1;
    const method_t *m = method_find("marina");
    method_params_t mp = {.n = n,
                          .dim = DIM,
                          .m = ROWS_PER_WORKER,
                          .gamma = GAMMA,
                          .p = P_FULL,
                          .comp = {.kind = COMP_RANDK, .k = RANDK_K},
                          .seed = SEED};
    agg_cfg_default(&mp.agg);
    csr_t *shard = calloc(n, sizeof *shard);
    loss_t *loss = calloc(n, sizeof *loss);
    method_worker_t **w = calloc(n, sizeof *w);
    cvec_t *ups = calloc(n, sizeof *ups);
    const cvec_t **ptr = calloc(n, sizeof *ptr);
    rng_t *rng = calloc(n, sizeof *rng);
    vec_t x0;
    int rc = shard && loss && w && ups && ptr && rng && vec_init(&x0, DIM) == MR_OK ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (csr_split_part(&data, n, i, &shard[i], NULL) != MR_OK ||
            loss_init(&loss[i], LOSS_NONCONVEX, 0.0, &shard[i], NULL) != MR_OK ||
            cvec_init(&ups[i], DIM, DIM) != MR_OK)
            rc = -1;
        else if (!(w[i] = m->worker_new(&mp, &loss[i], (uint32_t) i, &x0, NULL)))
            rc = -1;
        rng_seed(&rng[i], SEED, rng_stream_worker((uint32_t) i));
        ptr[i] = &ups[i];
    }
    method_server_t *s = rc == 0 ? m->server_new(&mp, &x0, NULL) : NULL;
    rng_t srng;
    rng_seed(&srng, SEED, 0);
    double t0 = 0;
    for (int k = 0; s && k < rounds + 5; k++) {
        if (k == 5)
            t0 = s_now();
        method_round_t rd;
        m->server_plan(s, (uint64_t) k, &srng, &rd);
        for (size_t i = 0; i < n; i++) {
            method_report_t rep = {0};
            if (m->worker_step(w[i], &rd, &rng[i], &ups[i], &rep) != MR_OK)
                rc = -1;
        }
        if (m->server_combine(s, &rd, ptr, NULL) != MR_OK)
            rc = -1;
    }
    if (!s)
        rc = -1;
    else
        *rps = (double) rounds / (s_now() - t0);
    if (s)
        m->server_destroy(&s);
    for (size_t i = 0; i < n; i++) {
        if (w && w[i])
            m->worker_destroy(&w[i]);
        if (ups)
            cvec_fini(&ups[i]);
        if (shard)
            csr_fini(&shard[i]);
    }
    free(shard);
    free(loss);
    free(w);
    free(ups);
    free(ptr);
    free(rng);
    vec_fini(&x0);
    csr_fini(&data);
    return rc;
}

//  The real run: rounds/s from its database, peak RSS (KiB) from wait4().
static int
s_real(size_t n, int rounds, double *rps, long *peak_kib)
{
    char dir[] = "/tmp/marina-bench-many-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char db[128], log[128], a_n[32], a_rows[48], a_rounds[32], a_db[160], a_k[16], a_g[32], a_p[32],
        a_d[32], a_dens[32];
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(log, sizeof log, "%s/marina.log", dir);
    snprintf(a_n, sizeof a_n, "n=%zu", n);
    snprintf(a_rows, sizeof a_rows, "synth_rows=%zu", n * ROWS_PER_WORKER);
    snprintf(a_rounds, sizeof a_rounds, "rounds=%d", rounds);
    snprintf(a_db, sizeof a_db, "db=%s", db);
    snprintf(a_k, sizeof a_k, "k=%d", RANDK_K);
    snprintf(a_g, sizeof a_g, "gamma=%g", GAMMA);
    snprintf(a_p, sizeof a_p, "p=%g", P_FULL);
    snprintf(a_d, sizeof a_d, "synth_d=%d", DIM);
    snprintf(a_dens, sizeof a_dens, "synth_density=%g", DENSITY);
    char *argv[] = {MARINA_BIN, "run",    "transport=inproc",
                    a_n,        a_rows,   a_rounds,
                    a_db,       a_k,      "progress_s=0",
                    a_g,        a_p,      a_d,
                    a_dens,     "seed=1", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = -1;
    if (posix_spawn(&pid, MARINA_BIN, &fa, NULL, argv, environ) == 0) {
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            *peak_kib = ru.ru_maxrss;
            rc = 0;
        } else {
            fprintf(stderr, "bench_many_workers: marina run (n = %zu) failed; see %s\n", n, log);
        }
    }
    posix_spawn_file_actions_destroy(&fa);
    sqlite3 *sql = NULL;
    sqlite3_stmt *st = NULL;
    if (rc == 0 &&
        (sqlite3_open_v2(db, &sql, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(sql,
                            "SELECT max(round), max(wall_time_s) - (SELECT wall_time_s FROM rounds "
                            "WHERE round = 1) FROM rounds",
                            -1, &st, NULL) != SQLITE_OK ||
         sqlite3_step(st) != SQLITE_ROW))
        rc = -1;
    if (rc == 0)
        *rps = (double) (sqlite3_column_int64(st, 0) - 1) / sqlite3_column_double(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(sql);
    if (rc == 0) {
        for (const char *const *ext = (const char *const[]){"", "-wal", "-shm", NULL}; *ext;
             ext++) {
            char path[160];
            snprintf(path, sizeof path, "%s%s", db, *ext);
            unlink(path);
        }
        unlink(log);
        rmdir(dir);
    }
    return rc;
}

int
main(int argc, char **argv)
{
    size_t ns[MAX_NS] = {1000, 10000};
    size_t count = 2;
    int rounds = 100;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
            count = 0;
            for (char *t = strtok(argv[++i], ","); t && count < MAX_NS; t = strtok(NULL, ","))
                ns[count++] = (size_t) strtoull(t, NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_many_workers [--n N1,N2,...] [--rounds R]\n");
            return 2;
        }
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    printf("MARINA, RandK K = %d, synthetic d = %d, %d rows per worker, %d rounds, %ld cores\n",
           RANDK_K, DIM, ROWS_PER_WORKER, rounds, cores);
    printf("%8s %14s %14s %8s %12s %14s\n", "n", "floor r/s", "real r/s", "ratio", "peak MiB",
           "KiB/worker");
    for (size_t t = 0; t < count; t++) {
        double floor_rps = 0, real_rps = 0;
        long peak = 0;
        if (s_floor(ns[t], rounds, &floor_rps) != 0 || s_real(ns[t], rounds, &real_rps, &peak) != 0)
            return 1;
        double floor_all = floor_rps * (double) cores;
        printf("%8zu %14.1f %14.1f %8.2f %12.1f %14.1f\n", ns[t], floor_all, real_rps,
               real_rps / floor_all, (double) peak / 1024.0, (double) peak / (double) ns[t]);
        fflush(stdout);
    }
    return 0;
}
