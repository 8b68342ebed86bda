//  bench_large_d.c - rounds/s of a real `marina run` at large d against its floor, measured in the
//  same run (issue 13, benchmark (b)).
//
//  The real run: MARINA with RandK (K = d/100), n = 5 worker processes over tcp loopback, on
//  synthetic data of d columns and 30 non-zeros a row. Its rounds/s counts only the compressed
//  rounds after round 1 (c_k = 0, k >= 2), from the per-round wall times of the result database:
//  round 0 (dense gradients), round 1 (the first patch) and the c_k = 1 rounds are other shapes.
//
//  The floor: the least a compressed round of that run must do. A parent process and 5 forked
//  worker processes over tcp loopback; per round the parent PUBlishes a real msg_encode'd ROUND
//  whose patch has as many entries as the real run's median patch, each worker decodes it,
//  applies the patch to its g, steps x <- x - gamma g at its shard's columns (200 rows x 30
//  entries: at most 6,000; a real worker with lambda = 0 reads and steps x only there,
//  mp.worker_x_support) and
//  PUSHes a real encoded RandK UPDATE of K entries; the parent decodes the 5 updates, adds them
//  into its g (O(nK)) and steps its own x (O(d)), as the real server does. Nothing else: no
//  gradients, no digests, no recorder. (Until 2026-12-03 the workers of both stepped all of x,
//  O(d) each.)
//
//  Two more figures of the real run, beside the floor's: "lean", the same rounds less those that
//  carry METRICS (round 0, the last round and every metrics_every-th: each worker also sends its
//  dense gradient, 8d bytes, which the floor does not), and "median", 1 / the median wall time of
//  the lean rounds (the steady rate, without round 2's start-up repairs: RESYNCs of rounds 0-1).
//
//  Prints the floor's and the real run's rounds/s, their ratio (target >= 0.7), the downlink bytes
//  of a compressed round against nK and d, and the real run's start-up. Exits 0 when both
//  measurements ran, whatever the ratio; non-zero only if something broke.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "child_pipe.h"
#include "msg.h"
#include "vec.h"

#define N_WORKERS       5
#define ROW_NNZ         30  // non-zeros of a synthetic row (the bias among them)
#define ROWS_PER_WORKER 200
#define RECV_TIMEOUT_MS 60000  // a floor child or the parent gives up after this much silence
#define JOIN_TIMEOUT_S  30.0
#define REAL_TIMEOUT_S  1800.0  // marina has its own timeouts; this only guards a hang
#define MAX_REPEAT      16
#define GAMMA           1e-3

#define FLOOR_PING  'P'
#define FLOOR_STOP  'S'
#define FLOOR_READY 'R'  // worker -> parent: {'R', id}

extern char **environ;

typedef struct {
    size_t d, k;
    int rounds;
} s_shape_t;

//  What one real run measured.
typedef struct {
    double rps;         // compressed rounds (k >= 2, c_k = 0) per second
    int counted;        // how many rounds that counts
    double rps_lean;    // the same without the rounds that carry METRICS (f recorded)
    int counted_lean;   // how many rounds that counts
    double rps_median;  // 1 / the median wall time of those rounds (the steady rate)
    long long slowest;  // the slowest counted round, and its wall time
    double slowest_s;
    int dense_rounds;       // rounds >= 1 with c_k = 1
    double down_per_round;  // median bytes_wire_down of a counted round (all receivers)
    double up_per_round;    // median bytes_wire_up of a counted round (all senders)
    double startup_s;       // process wall time less the rounds' wall time
    double round01_s;       // wall time of rounds 0 and 1
} s_real_t;

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double
s_median(double *v, int count)
{
    qsort(v, (size_t) count, sizeof *v, s_cmp_double);
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

static int
s_reap(pid_t pid, double timeout_s)
{
    double deadline = s_now() + timeout_s;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (s_now() > deadline) {
            fprintf(stderr, "bench_large_d: pid %d did not exit in %.0f s; killing it\n", (int) pid,
                    timeout_s);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

//  The floor's two frames: a ROUND whose patch has patch_nnz entries and a RandK UPDATE of K.
//  Indices are spread over [0, d) and strictly increasing, as real ones are.
static int
s_frames_build(const s_shape_t *sh, size_t patch_nnz, msg_buf_t *round, msg_buf_t *update)
{
    msg_t m;
    if (msg_init(&m, sh->d) != MR_OK)
        return -1;
    int rc = MR_ENOMEM;
    if (patch_nnz > sh->d)
        patch_nnz = sh->d;
    m.gp_idx = malloc((patch_nnz ? patch_nnz : 1) * sizeof *m.gp_idx);
    m.gp_val = malloc((patch_nnz ? patch_nnz : 1) * sizeof *m.gp_val);
    if (!m.gp_idx || !m.gp_val)
        goto done;
    m.gp_cap = patch_nnz ? patch_nnz : 1;
    m.gp_nnz = patch_nnz;
    for (size_t t = 0; t < patch_nnz; t++) {
        m.gp_idx[t] = (uint32_t) (t * (sh->d / patch_nnz));
        m.gp_val[t] = 1e-6 * (double) t - 0.5;
    }
    m.type = MSG_ROUND;
    m.seq = 1003;
    m.round = 1000;
    m.coin = 0;
    m.has_g = 1;
    m.g_patch = 1;
    m.g_digest = 0x0123456789ABCDEFull;
    m.all_part = 1;
    rc = msg_encode(&m, round);
    m.type = MSG_UPDATE;
    m.sender = N_WORKERS - 1;
    m.up.kind = CVEC_SPARSE;
    m.up.dim = sh->d;
    m.up.nnz = sh->k;
    for (size_t j = 0; j < sh->k; j++) {
        m.up.idx[j] = (uint32_t) (j * (sh->d / sh->k));
        m.up.val[j] = 0.25 * (double) j - 1.0;
    }
    m.oracle_calls = 1000000;
    rc |= msg_encode(&m, update);
done:
    msg_fini(&m);  // frees gp_idx and gp_val too
    return rc == MR_OK ? 0 : -1;
}

//  Receives one frame into *frame (initialised by the caller). Size, or -1.
static int
s_recv(void *sock, zmq_msg_t *frame)
{
    zmq_msg_close(frame);
    zmq_msg_init(frame);
    return zmq_msg_recv(frame, sock, 0);
}

//  One floor worker: decodes each ROUND, applies its patch, steps x, sends the UPDATE.
static int
s_floor_child(int fd, const s_shape_t *sh, const msg_buf_t *update)
{
    char pub_ep[256], pull_ep[256];
    int id;
    if (child_pipe_read(fd, &id, pub_ep, pull_ep) != 0)
        return 2;
    vec_t x, g;
    msg_t in;
    if (vec_init(&x, sh->d) != MR_OK || vec_init(&g, sh->d) != MR_OK ||
        msg_init(&in, sh->d) != MR_OK)
        return 3;
    for (size_t j = 0; j < sh->d; j++)
        g.x[j] = 1e-9 * (double) (j % 1000);
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    int zero = 0, timeout = RECV_TIMEOUT_MS;
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(push, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(push, ZMQ_LINGER, &zero, sizeof zero);
    int rc = 2;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_connect(sub, pub_ep) < 0 || zmq_connect(push, pull_ep) < 0)
        goto done;
    int ready_sent = 0;
    while (true) {
        int size = s_recv(sub, &frame);
        if (size < 0)
            break;  // timeout or error: the parent is gone
        const char *data = zmq_msg_data(&frame);
        if (size == 1 && data[0] == FLOOR_STOP) {
            rc = 0;
            break;
        }
        if (size == 1 && data[0] == FLOOR_PING) {
            char ready[2] = {FLOOR_READY, (char) id};
            if (!ready_sent && zmq_send(push, ready, 2, 0) < 0)
                break;
            ready_sent = 1;
            continue;
        }
        mr_err_t err;
        if (msg_decode(&in, data, (size_t) size, &err) != MR_OK ||
            msg_g_patch_apply(&in, &g, NULL) != MR_OK) {
            fprintf(stderr, "bench_large_d: floor worker %d: %s\n", id, err.text);
            rc = 4;
            break;
        }
        //  x^{k+1} = x^k - gamma g^k where the worker reads x: its shard's columns, as many as
        //  its rows' entries at most (a real worker steps only those, mp.worker_x_support).
        size_t cols = ROWS_PER_WORKER * ROW_NNZ, stride = sh->d / cols;
        for (size_t t = 0; t < cols; t++)
            x.x[t * stride] += -GAMMA * g.x[t * stride];
        if (zmq_send(push, update->data, update->size, 0) < 0)
            break;
    }
done:
    zmq_msg_close(&frame);
    zmq_close(sub);
    zmq_close(push);
    zmq_ctx_term(ctx);
    msg_fini(&in);
    vec_fini(&x);
    vec_fini(&g);
    return rc;
}

//  Forks the floor workers, joins them, times sh->rounds rounds after 2 untimed ones.
static int
s_floor(const s_shape_t *sh, const msg_buf_t *round, const msg_buf_t *update, double *rps)
{
    pid_t pids[N_WORKERS];
    int fds[N_WORKERS];
    int forked = 0, rc = -1;
    void *ctx = NULL, *pub = NULL, *pull = NULL;
    vec_t x = {0}, g = {0};
    msg_t in;
    int have_in = 0;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    fflush(stdout);
    fflush(stderr);
    for (; forked < N_WORKERS; forked++) {
        int p[2];
        if (pipe(p) < 0)
            goto fail;
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            goto fail;
        }
        if (pid == 0) {
            close(p[1]);
            for (int j = 0; j < forked; j++)
                close(fds[j]);
            _exit(s_floor_child(p[0], sh, update));
        }
        close(p[0]);
        pids[forked] = pid;
        fds[forked] = p[1];
    }
    if (vec_init(&x, sh->d) != MR_OK || vec_init(&g, sh->d) != MR_OK ||
        msg_init(&in, sh->d) != MR_OK)
        goto fail;
    have_in = 1;
    ctx = zmq_ctx_new();
    pub = zmq_socket(ctx, ZMQ_PUB);
    pull = zmq_socket(ctx, ZMQ_PULL);
    int zero = 0, linger = 1000, timeout = RECV_TIMEOUT_MS;
    zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(pull, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(pull, ZMQ_LINGER, &zero, sizeof zero);
    char pub_ep[256], pull_ep[256];
    size_t len_pub = sizeof pub_ep, len_pull = sizeof pull_ep;
    if (zmq_bind(pub, "tcp://127.0.0.1:*") < 0 || zmq_bind(pull, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, pub_ep, &len_pub) < 0 ||
        zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, pull_ep, &len_pull) < 0) {
        fprintf(stderr, "bench_large_d: floor: cannot bind: %s\n", zmq_strerror(zmq_errno()));
        goto fail;
    }
    for (int i = 0; i < N_WORKERS; i++) {
        dprintf(fds[i], "%d %s %s\n", i, pub_ep, pull_ep);
        close(fds[i]);
        fds[i] = -1;
    }
    unsigned char joined[N_WORKERS] = {0};
    int njoined = 0;
    double deadline = s_now() + JOIN_TIMEOUT_S;
    char ping = FLOOR_PING;
    while (njoined < N_WORKERS) {
        if (s_now() > deadline) {
            fprintf(stderr, "bench_large_d: floor: only %d of %d workers joined\n", njoined,
                    N_WORKERS);
            goto fail;
        }
        zmq_send(pub, &ping, 1, 0);
        zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 5) <= 0)
            continue;
        int size = s_recv(pull, &frame);
        const char *data = zmq_msg_data(&frame);
        if (size == 2 && data[0] == FLOOR_READY && data[1] >= 0 && data[1] < N_WORKERS &&
            !joined[(int) data[1]]) {
            joined[(int) data[1]] = 1;
            njoined++;
        }
    }
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    const int warmup = 2;
    double t0 = 0;
    for (int r = 0; r < warmup + sh->rounds; r++) {
        if (r == warmup)
            t0 = s_now();
        if (zmq_send(pub, round->data, round->size, 0) < 0)
            goto fail;
        for (int got = 0; got < N_WORKERS; got++) {
            int size = s_recv(pull, &frame);
            mr_err_t err;
            if (size < 0 || msg_decode(&in, zmq_msg_data(&frame), (size_t) size, &err) != MR_OK) {
                fprintf(stderr, "bench_large_d: floor: round %d: %s\n", r,
                        size < 0 ? zmq_strerror(zmq_errno()) : err.text);
                goto fail;
            }
            //  g^{k+1} = g^k + 1/n sum_i Q_i: O(K) per update.
            for (size_t t = 0; t < in.up.nnz; t++)
                g.x[in.up.idx[t]] += in.up.val[t] / N_WORKERS;
        }
        vec_axpy(&x, -GAMMA, &g);  // the server's copy of x^{k+1}
    }
    *rps = (double) sh->rounds / (s_now() - t0);
    char stop = FLOOR_STOP;
    zmq_send(pub, &stop, 1, 0);
    rc = 0;
fail:
    zmq_msg_close(&frame);
    if (pub)
        zmq_close(pub);
    if (pull)
        zmq_close(pull);
    if (ctx)
        zmq_ctx_term(ctx);
    for (int i = 0; i < forked; i++) {
        if (rc < 0) {
            if (fds[i] >= 0)
                close(fds[i]);
            kill(pids[i], SIGKILL);
        }
        int code = s_reap(pids[i], 30.0);
        if (code != 0 && rc == 0) {
            fprintf(stderr, "bench_large_d: floor worker %d exited with %d\n", i, code);
            rc = -1;
        }
    }
    if (have_in)
        msg_fini(&in);
    vec_fini(&x);
    vec_fini(&g);
    return rc;
}

static void
s_print_log(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
    if (f)
        fclose(f);
}

//  Reads the per-round rows of the run in db into *out. 0, or -1 after saying why.
static int
s_read_rounds(const char *db, const s_shape_t *sh, double process_s, s_real_t *out)
{
    sqlite3 *sql = NULL;
    sqlite3_stmt *st = NULL;
    const char *query = "SELECT r.round, r.c_k, r.wall_time_s, r.bytes_wire_down, r.bytes_wire_up,"
                        " u.status, r.f IS NOT NULL FROM rounds r JOIN runs u ON r.run_id = u.id"
                        " WHERE u.id = (SELECT max(id) FROM runs) ORDER BY r.round";
    int rc = -1, n = 0;
    size_t cap = (size_t) sh->rounds + 1;
    double *down = malloc(cap * sizeof *down), *up = malloc(cap * sizeof *up);
    double *lean = malloc(cap * sizeof *lean);
    double prev_wall = 0, time_counted = 0, time_lean = 0, last_wall = 0, wall1 = 0;
    int n_lean = 0;
    long long last = -1;
    *out = (s_real_t){0};
    if (!down || !up || !lean ||
        sqlite3_open_v2(db, &sql, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(sql, query, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_large_d: cannot read %s: %s\n", db, sqlite3_errmsg(sql));
        goto done;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        long long k = sqlite3_column_int64(st, 0);
        int coin = sqlite3_column_int(st, 1);
        double wall = sqlite3_column_double(st, 2);
        const char *status = (const char *) sqlite3_column_text(st, 5);
        if (!status || strcmp(status, "completed") != 0) {
            fprintf(stderr, "bench_large_d: the run is %s\n", status ? status : "?");
            goto done;
        }
        if (k >= 1 && coin)
            out->dense_rounds++;
        if (k >= 2 && !coin && (size_t) n < cap) {
            double dt = wall - prev_wall;
            time_counted += dt;
            down[n] = (double) sqlite3_column_int64(st, 3);
            up[n] = (double) sqlite3_column_int64(st, 4);
            n++;
            if (dt > out->slowest_s) {
                out->slowest_s = dt;
                out->slowest = k;
            }
            //  A round with METRICS also moves n dense gradients (8d bytes each) to the server.
            if (!sqlite3_column_int(st, 6)) {
                time_lean += dt;
                lean[n_lean++] = dt;
            }
        }
        if (k == 1)
            wall1 = wall;
        prev_wall = last_wall = wall;
        last = k;
    }
    if (step != SQLITE_DONE || last != sh->rounds || n == 0 || time_counted <= 0) {
        fprintf(stderr,
                "bench_large_d: %d compressed rounds after round 1 in %s (last %lld of %d)\n", n,
                db, last, sh->rounds);
        goto done;
    }
    out->counted = n;
    out->rps = (double) n / time_counted;
    out->counted_lean = n_lean;
    out->rps_lean = n_lean && time_lean > 0 ? (double) n_lean / time_lean : 0.0;
    out->rps_median = n_lean ? 1.0 / s_median(lean, n_lean) : 0.0;
    out->down_per_round = s_median(down, n);
    out->up_per_round = s_median(up, n);
    out->startup_s = process_s - last_wall;
    out->round01_s = wall1;
    rc = 0;
done:
    sqlite3_finalize(st);
    sqlite3_close(sql);
    free(down);
    free(up);
    free(lean);
    return rc;
}

//  Runs the marina binary once with the benchmark's shape.
static int
s_real(const s_shape_t *sh, s_real_t *out)
{
    char dir[] = "/tmp/marina-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_large_d: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    char db[128], log[128], a_db[160], a_d[64], a_rows[64], a_dens[64], a_k[64], a_rounds[64];
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(log, sizeof log, "%s/marina.log", dir);
    snprintf(a_db, sizeof a_db, "db=%s", db);
    snprintf(a_d, sizeof a_d, "synth_d=%zu", sh->d);
    snprintf(a_rows, sizeof a_rows, "synth_rows=%d", N_WORKERS * ROWS_PER_WORKER);
    snprintf(a_dens, sizeof a_dens, "synth_density=%.17g",
             (double) (ROW_NNZ - 1) / (double) (sh->d - 1));
    snprintf(a_k, sizeof a_k, "k=%zu", sh->k);
    snprintf(a_rounds, sizeof a_rounds, "rounds=%d", sh->rounds);
    char *argv[] = {MARINA_BIN,      "run", "dataset=synthetic", a_d, a_rows,
                    a_dens,          "n=5", "compressor=randk",  a_k, a_rounds,
                    "transport=tcp", a_db,  "progress_s=0",      NULL};
    int rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    double t0 = s_now();
    int err = posix_spawn(&pid, MARINA_BIN, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        fprintf(stderr, "bench_large_d: cannot start %s: %s\n", MARINA_BIN, strerror(err));
        goto cleanup;
    }
    int code = s_reap(pid, REAL_TIMEOUT_S);
    double process_s = s_now() - t0;
    if (code != 0) {
        fprintf(stderr, "bench_large_d: marina run exited with %d; its output:\n", code);
        s_print_log(log);
        goto cleanup;
    }
    rc = s_read_rounds(db, sh, process_s, out);
cleanup:
    for (const char *const *ext = (const char *const[]){"", "-wal", "-shm", NULL}; *ext; ext++) {
        char path[160];
        snprintf(path, sizeof path, "%s%s", db, *ext);
        unlink(path);
    }
    unlink(log);
    rmdir(dir);
    return rc;
}

static double
s_report(const char *name, const double *v, int count)
{
    double sorted[MAX_REPEAT];
    memcpy(sorted, v, (size_t) count * sizeof *v);
    double median = s_median(sorted, count);
    printf("%-6s rounds/s ", name);
    for (int i = 0; i < count; i++)
        printf(" %.2f", v[i]);
    printf("  median %.2f\n", median);
    return median;
}

int
main(int argc, char **argv)
{
    s_shape_t sh = {10000000, 0, 12};
    int repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--d") == 0 && i + 1 < argc)
            sh.d = (size_t) atof(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            sh.rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--small") == 0) {
            sh.d = 100000;
            sh.rounds = 20;
        } else {
            fprintf(stderr,
                    "usage: bench_large_d [--d D] [--rounds R] [--repeat N] [--small]\n"
                    "Rounds/s of `marina run` (synthetic, d = D (default 1e7), %d non-zeros a\n"
                    "row, n = %d, RandK K = D/100, tcp loopback) against a floor that moves the\n"
                    "same sparse frames and does the same O(d) steps; N passes alternate.\n"
                    "--small: d = 1e5, 20 rounds (a smoke check).\n",
                    ROW_NNZ, N_WORKERS);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    sh.k = sh.d / 100;
    if (sh.d < 1000 || sh.d > 10000000 || sh.rounds < 3 || repeat < 1 || repeat > MAX_REPEAT) {
        fprintf(stderr,
                "bench_large_d: need 1e3 <= --d <= 1e7, --rounds >= 3 and "
                "1 <= --repeat <= %d\n",
                MAX_REPEAT);
        return 2;
    }
    printf("bench_large_d: n=%d d=%zu RandK K=%zu, synthetic %d rows x %d non-zeros, tcp "
           "loopback, %d rounds x %d\n",
           N_WORKERS, sh.d, sh.k, N_WORKERS * ROWS_PER_WORKER, ROW_NNZ, sh.rounds, repeat);
    fflush(stdout);
    double floor_rps[MAX_REPEAT], real_rps[MAX_REPEAT], lean_rps[MAX_REPEAT],
        median_rps[MAX_REPEAT];
    s_real_t real = {0};
    size_t round_bytes = 0, update_bytes = 0;
    int rc = 0;
    //  Real first: the floor's ROUND carries a patch as long as the real run's.
    for (int i = 0; i < repeat && rc == 0; i++) {
        if (s_real(&sh, &real) < 0) {
            rc = 1;
            break;
        }
        real_rps[i] = real.rps;
        lean_rps[i] = real.rps_lean;
        median_rps[i] = real.rps_median;
        //  A patch entry costs 12 bytes (a uint32 index and a double): find the entry count
        //  whose frame is as long as the real one to each receiver.
        msg_buf_t round = {0}, update = {0};
        double per_receiver = real.down_per_round / N_WORKERS;
        size_t nnz = 0;
        if (s_frames_build(&sh, 0, &round, &update) == 0 && per_receiver > (double) round.size)
            nnz = (size_t) ((per_receiver - (double) round.size) / 12.0);
        if (s_frames_build(&sh, nnz, &round, &update) < 0 ||
            s_floor(&sh, &round, &update, &floor_rps[i]) < 0)
            rc = 1;
        round_bytes = round.size;
        update_bytes = update.size;
        msg_buf_fini(&round);
        msg_buf_fini(&update);
        printf("pass %d: real %.2f rounds/s (%d compressed rounds counted, %d with c_k = 1), "
               "floor %.2f; real start-up %.1f s, rounds 0-1 %.1f s\n",
               i + 1, real.rps, real.counted, real.dense_rounds, rc ? 0.0 : floor_rps[i],
               real.startup_s, real.round01_s);
        printf("        real without the METRICS rounds %.2f rounds/s (%d counted), its median "
               "round %.2f rounds/s; slowest round %lld, %.3f s\n",
               real.rps_lean, real.counted_lean, real.rps_median, real.slowest, real.slowest_s);
        fflush(stdout);
    }
    if (rc != 0)
        return rc;
    printf("frames (floor): ROUND %zu B to each worker, UPDATE %zu B from each\n", round_bytes,
           update_bytes);
    printf("real, a compressed round: %.0f B down (all %d workers; nK = %zu entries would be "
           "%.0f B, dense g %.0f B), %.0f B up\n",
           real.down_per_round, N_WORKERS, N_WORKERS * sh.k,
           12.0 * (double) (N_WORKERS * sh.k) * N_WORKERS, 8.0 * (double) sh.d * N_WORKERS,
           real.up_per_round);
    double floor_med = s_report("floor", floor_rps, repeat);
    double real_med = s_report("real", real_rps, repeat);
    printf("ratio real/floor %.2f (target >= 0.7)\n", real_med / floor_med);
    if (real.counted_lean == 0) {
        printf("no compressed round without METRICS (metrics_every is 1 up to d = 1e5)\n");
        return 0;
    }
    double lean_med = s_report("lean", lean_rps, repeat);
    double median_med = s_report("median", median_rps, repeat);
    printf("ratio lean/floor %.2f (the compressed rounds without METRICS), median/floor %.2f "
           "(their median round)\n",
           lean_med / floor_med, median_med / floor_med);
    return 0;
}
