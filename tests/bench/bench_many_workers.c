//  bench_many_workers.c - thousands of workers in one process (transport = inproc) against the
//  compute floor of their round, measured in the same run.
//
//  The floor is the math a round must do and nothing else: the n workers' MARINA steps (local
//  gradient, RandK), the server's average, and the metrics every round records at this d
//  (metrics_every = 1: the mean f_i and ||mean grad f_i(x^k)||^2 of the n gradients the steps
//  computed, summed in worker-id order, as bench_round's compute does), called through the
//  method API of optim/method.h, on the same generated data (data_synthetic with the launcher's
//  arguments), with the same gamma and p. Two figures of it:
//  - "floor 1x": the math in one thread, its rounds/s multiplied by the cores online: the ideal
//    if the math were spread over every core at no cost and the cores were independent;
//  - "floor par": the math spread over one thread per core, measured: each round the server's
//    plan, then the workers' steps in contiguous shares on every thread at once, then (after a
//    barrier) the server's combine and metrics, the order a real round must keep, with no message
//    and no copy. It is what the machine gives that math: at n = 1,000 the workers' states
//    outgrow a core's caches, two threads share the last level and the memory bandwidth, and
//    each thread's half fits its own core's caches better than the whole did one core's, so it
//    lies below 1x or above it (both were measured).
//  The real run is `marina run transport=inproc` with the same n, data and parameters; its
//  rounds/s comes from the result database (round 1 to the last, so start-up is not counted) and
//  its peak memory from wait4().
//
//      build/tests/bench_many_workers [--n 1000,10000] [--rounds 100] [--repeat 1]
//
//  Prints per n: both floors, the real rounds/s, its ratio to each ("ratio": to 1x; "par": to the
//  measured parallel floor), the real run's peak RSS and per worker. With --repeat N, N passes
//  per n, each one floor par, the real run, floor par again (the real run's ratio is to the mean
//  of the two, measured on either side of it: the machine's speed drifts); a line per pass, then
//  the medians. Exits 0 when every measurement ran (a benchmark reports, it does not judge).
#define _DEFAULT_SOURCE  // wait4()
#include <errno.h>
#include <pthread.h>
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
#define MAX_THREADS     64

extern char **environ;

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

//  The floor's state: the n workers, the server, and the round both see.
typedef struct {
    const method_t *m;
    size_t n;
    method_worker_t **w;
    cvec_t *ups;
    rng_t *rng;
    const vec_t **grads;  // each worker's gradient at x^k, as its step reported it (its metrics)
    double *fs;           // and its f_i(x^k)
    method_round_t rd;
    int rc;
} s_floor_t;

//  Workers [lo, hi) step round f->rd.
static void
s_floor_steps(s_floor_t *f, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        method_report_t rep = {0};
        if (f->m->worker_step(f->w[i], &f->rd, &f->rng[i], &f->ups[i], &rep) != MR_OK ||
            !rep.have_eval)
            f->rc = -1;
        f->grads[i] = rep.grad;
        f->fs[i] = rep.f;
    }
}

typedef struct {
    s_floor_t *f;
    pthread_barrier_t *planned, *stepped;
    size_t lo, hi;
    int rounds;
} s_helper_t;

//  A helper thread of the parallel floor: its share of the workers in every round, between the
//  plan (first barrier) and the combine (second).
static void *
s_floor_helper(void *arg)
{
    s_helper_t *h = arg;
    for (int k = 0; k < h->rounds; k++) {
        pthread_barrier_wait(h->planned);
        s_floor_steps(h->f, h->lo, h->hi);
        pthread_barrier_wait(h->stepped);
    }
    return NULL;
}

//  The floor: rounds/s of the math of `rounds` rounds (after 5 untimed ones) in `threads` threads:
//  each round the server's plan, the n workers' steps split in `threads` contiguous shares run at
//  once, then the server's combine and its metrics (the mean f_i and ||mean grad f_i||^2 of the
//  gradients the steps reported), as a round of the real run must order them, with nothing else
//  (no message, no copy). threads = 1 is the one-thread figure.
static int
s_floor(size_t n, int rounds, size_t threads, double *rps)
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
    const vec_t **grads = calloc(n, sizeof *grads);
    double *fs = calloc(n, sizeof *fs);
    vec_t gmean = {0};
    if (!grads || !fs || vec_init(&gmean, DIM) != MR_OK)
        rc = -1;
    method_server_t *s = rc == 0 ? m->server_new(&mp, &x0, NULL) : NULL;
    rng_t srng;
    rng_seed(&srng, SEED, 0);
    s_floor_t f = {m, n, w, ups, rng, grads, fs, {0}, 0};
    double sink = 0;
    size_t helpers = threads > 1 ? threads - 1 : 0;
    pthread_t tid[MAX_THREADS];
    s_helper_t hs[MAX_THREADS];
    pthread_barrier_t planned, stepped;
    int total = rounds + 5;
    if (s && helpers > 0) {
        pthread_barrier_init(&planned, NULL, (unsigned) threads);
        pthread_barrier_init(&stepped, NULL, (unsigned) threads);
        for (size_t t = 0; t < helpers; t++) {
            hs[t] = (s_helper_t){
                &f, &planned, &stepped, (t + 1) * n / threads, (t + 2) * n / threads, total};
            pthread_create(&tid[t], NULL, s_floor_helper, &hs[t]);
        }
    }
    double t0 = 0;
    for (int k = 0; s && k < total; k++) {
        if (k == 5)
            t0 = s_now();
        m->server_plan(s, (uint64_t) k, &srng, &f.rd);
        if (helpers > 0)
            pthread_barrier_wait(&planned);
        s_floor_steps(&f, 0, n / threads);  // this thread's share: the first
        if (helpers > 0)
            pthread_barrier_wait(&stepped);
        if (m->server_combine(s, &f.rd, ptr, NULL) != MR_OK)
            rc = -1;
        if (f.rc != 0)
            continue;  // (the helpers still wait at every barrier: the rounds go on)
        //  The server's metrics (metrics_every = 1, the default at this d): the mean f_i and
        //  ||mean grad f_i(x^k)||^2, summed in worker-id order as actors/server_round.c does.
        vec_zero(&gmean);
        for (size_t i = 0; i < n; i++) {
            sink += fs[i];
            vec_axpy(&gmean, 1.0, grads[i]);
        }
        vec_scale(&gmean, 1.0 / (double) n);
        sink += vec_norm_sq(&gmean);
    }
    if (s && helpers > 0) {
        for (size_t t = 0; t < helpers; t++)
            pthread_join(tid[t], NULL);
        pthread_barrier_destroy(&planned);
        pthread_barrier_destroy(&stepped);
    }
    if (!s || f.rc != 0)
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
    if (rc == 0 && !(sink == sink))
        fprintf(stderr, "bench_many_workers: floor: note: the iterate diverged\n");
    vec_fini(&gmean);
    free(grads);
    free(fs);
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

#define MAX_REPEAT 25

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double
s_median(double *v, int n)
{
    qsort(v, (size_t) n, sizeof *v, s_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int
main(int argc, char **argv)
{
    size_t ns[MAX_NS] = {1000, 10000};
    size_t count = 2;
    int rounds = 100, repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
            repeat = repeat < 1 ? 1 : repeat > MAX_REPEAT ? MAX_REPEAT : repeat;
        } else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
            count = 0;
            for (char *t = strtok(argv[++i], ","); t && count < MAX_NS; t = strtok(NULL, ","))
                ns[count++] = (size_t) strtoull(t, NULL, 10);
        } else {
            fprintf(stderr,
                    "usage: bench_many_workers [--n N1,N2,...] [--rounds R] [--repeat N]\n");
            return 2;
        }
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (cores > MAX_THREADS)
        cores = MAX_THREADS;
    printf("MARINA, RandK K = %d, synthetic d = %d, %d rows per worker, %d rounds, %ld cores\n",
           RANDK_K, DIM, ROWS_PER_WORKER, rounds, cores);
    printf("%8s %12s %12s %12s %8s %8s %10s %10s\n", "n", "floor 1x", "floor par", "real r/s",
           "ratio", "par", "peak MiB", "KiB/wkr");
    for (size_t t = 0; t < count; t++) {
        double m_one[MAX_REPEAT], m_par[MAX_REPEAT], m_real[MAX_REPEAT], m_r1[MAX_REPEAT],
            m_rp[MAX_REPEAT];
        long peak = 0;
        for (int r = 0; r < repeat; r++) {
            double one = 0, par = 0, par2 = 0, real_rps = 0;
            if (s_floor(ns[t], rounds, 1, &one) != 0 ||
                s_floor(ns[t], rounds, (size_t) cores, &par) != 0 ||
                s_real(ns[t], rounds, &real_rps, &peak) != 0 ||
                (repeat > 1 && s_floor(ns[t], rounds, (size_t) cores, &par2) != 0))
                return 1;
            if (repeat > 1)
                par = 0.5 * (par + par2);
            double one_all = one * (double) cores;
            m_one[r] = one_all;
            m_par[r] = par;
            m_real[r] = real_rps;
            m_r1[r] = real_rps / one_all;
            m_rp[r] = real_rps / par;
            printf("%8zu %12.1f %12.1f %12.1f %8.2f %8.2f %10.1f %10.1f\n", ns[t], one_all, par,
                   real_rps, m_r1[r], m_rp[r], (double) peak / 1024.0,
                   (double) peak / (double) ns[t]);
            fflush(stdout);
        }
        if (repeat > 1)
            printf("  median of %d passes: floor 1x %.1f, floor par %.1f, real %.1f rounds/s; "
                   "ratio %.2f, par %.2f\n",
                   repeat, s_median(m_one, repeat), s_median(m_par, repeat),
                   s_median(m_real, repeat), s_median(m_r1, repeat), s_median(m_rp, repeat));
    }
    return 0;
}
