//  bench_round.c - rounds/s of a real `marina run` against its floor, measured in the same run.
//
//  The floor is a bare ZeroMQ round with the shape of a real one and nothing else: a parent
//  process PUBlishes one frame the size of a ROUND message (d = 113) to n = 5 worker processes over
//  tcp loopback, and each worker answers with two pre-encoded frames the size of an UPDATE (RandK,
//  K = 10) and a METRICS message, without decoding or computing anything. The real run is the
//  marina binary with the same n, d and K. Their ratio says how much of a round's time marina
//  spends on work beyond moving the bytes (decoding, the method, metrics, the recorder).
//
//  Always exits 0 when both measurements ran, whatever the ratio: a benchmark reports speed, it
//  does not judge it. Non-zero means something broke (a child failed, a socket, the database).
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

#include "msg.h"

#define N_WORKERS       5
#define DIM             113  // mushrooms: 112 features and the bias
#define RANDK_K         10
#define WARMUP_ROUNDS   200    // untimed: TCP connections, page faults, CPU frequency settle
#define RECV_TIMEOUT_MS 10000  // a floor child or the parent gives up after this much silence
#define JOIN_TIMEOUT_S  10.0
#define REAL_TIMEOUT_S  600.0  // marina has its own timeouts; this only guards a hang
#define MAX_REPEAT      32

//  Floor control frames are one byte, so they can never be mistaken for an encoded message
//  (those are at least a few bytes long and start with a MessagePack array header).
#define FLOOR_PING  'P'
#define FLOOR_STOP  'S'
#define FLOOR_READY 'R'  // worker -> parent: {'R', id}

extern char **environ;

typedef struct {
    msg_buf_t round;    // server -> workers, g^{k-1} dense
    msg_buf_t update;   // worker -> server, sparse K values
    msg_buf_t metrics;  // worker -> server, f_i and grad f_i dense
} s_frames_t;

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

//  Encodes real messages so that the floor moves exactly the bytes a real round moves. The round
//  number is mid-run (1000) because MessagePack integers grow with their value.
static int
s_frames_build(s_frames_t *fr)
{
    msg_t m;
    memset(fr, 0, sizeof *fr);
    if (msg_init(&m, DIM) != MR_OK)
        return -1;
    for (size_t i = 0; i < DIM; i++)
        m.g.x[i] = 1e-3 * (double) i - 0.05;
    m.type = MSG_ROUND;
    m.seq = 1003;
    m.round = 1000;
    m.coin = 0;
    m.has_g = 1;
    int rc = msg_encode(&m, &fr->round);
    m.type = MSG_UPDATE;
    m.sender = N_WORKERS - 1;
    m.up.kind = CVEC_SPARSE;
    m.up.nnz = RANDK_K;
    for (size_t j = 0; j < RANDK_K; j++) {
        m.up.idx[j] = (uint32_t) (j * (DIM / RANDK_K));
        m.up.val[j] = 0.25 * (double) j - 1.0;
    }
    m.oracle_calls = 1000;
    rc |= msg_encode(&m, &fr->update);
    m.type = MSG_METRICS;
    m.f = 0.6931;
    rc |= msg_encode(&m, &fr->metrics);
    msg_fini(&m);
    return rc == MR_OK ? 0 : -1;
}

static void
s_frames_fini(s_frames_t *fr)
{
    msg_buf_fini(&fr->round);
    msg_buf_fini(&fr->update);
    msg_buf_fini(&fr->metrics);
}

//  Waits up to timeout_s for pid, then kills it. Returns its exit code, or -1 if it had to be
//  killed or died of a signal.
static int
s_reap(pid_t pid, double timeout_s)
{
    double deadline = s_now() + timeout_s;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (s_now() > deadline) {
            fprintf(stderr, "bench_round: pid %d did not exit in %.0f s; killing it\n", (int) pid,
                    timeout_s);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

//  One floor worker, in its own process. It learns its id and the parent's endpoints from the
//  pipe, so that the parent touches no ZeroMQ state before fork(). It exits on STOP, or when the
//  parent goes silent (receive timeout) or dies before writing the pipe (EOF).
static int
s_floor_child(int fd, const s_frames_t *fr)
{
    char line[512] = "", pub_ep[256], pull_ep[256];
    size_t used = 0;
    ssize_t got;
    while (used + 1 < sizeof line && (got = read(fd, line + used, sizeof line - used - 1)) > 0)
        used += (size_t) got;
    line[used] = '\0';
    close(fd);
    int id;
    if (sscanf(line, "%d %255s %255s", &id, pub_ep, pull_ep) != 3)
        return 2;
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    int zero = 0, timeout = RECV_TIMEOUT_MS;
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(push, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(push, ZMQ_LINGER, &zero, sizeof zero);  // a dead parent must not hold us
    int rc = 2;
    if (zmq_connect(sub, pub_ep) < 0 || zmq_connect(push, pull_ep) < 0)
        goto done;
    char buf[4096];
    int ready_sent = 0;
    while (true) {
        int size = zmq_recv(sub, buf, sizeof buf, 0);
        if (size < 0)
            break;  // timeout or error: the parent is gone
        if (size == 1 && buf[0] == FLOOR_STOP) {
            rc = 0;
            break;
        }
        if (size == 1 && buf[0] == FLOOR_PING) {
            char ready[2] = {FLOOR_READY, (char) id};
            if (!ready_sent && zmq_send(push, ready, 2, 0) < 0)
                break;
            ready_sent = 1;
            continue;
        }
        // A round: answer as a real worker does, update first, then metrics.
        if (zmq_send(push, fr->update.data, fr->update.size, 0) < 0 ||
            zmq_send(push, fr->metrics.data, fr->metrics.size, 0) < 0)
            break;
    }
done:
    zmq_close(sub);
    zmq_close(push);
    zmq_ctx_term(ctx);
    return rc;
}

//  Forks the floor workers, joins them, times rounds after a warm-up; *rps gets rounds/s.
//  Returns 0, or -1 after saying why. Every child is reaped on every path.
static int
s_floor(const s_frames_t *fr, int rounds, double *rps)
{
    pid_t pids[N_WORKERS];
    int fds[N_WORKERS];  // write ends, one pipe per child
    int forked = 0, rc = -1;
    void *ctx = NULL, *pub = NULL, *pull = NULL;
    fflush(stdout);
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
            // Drop every write end, or a sibling's pipe would never reach EOF if the parent died.
            close(p[1]);
            for (int j = 0; j < forked; j++)
                close(fds[j]);
            _exit(s_floor_child(p[0], fr));
        }
        close(p[0]);
        pids[forked] = pid;
        fds[forked] = p[1];
    }
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
        fprintf(stderr, "bench_round: floor: cannot bind: %s\n", zmq_strerror(zmq_errno()));
        goto fail;
    }
    for (int i = 0; i < N_WORKERS; i++) {
        dprintf(fds[i], "%d %s %s\n", i, pub_ep, pull_ep);
        close(fds[i]);
        fds[i] = -1;
    }
    // Join: PING until every worker's SUB is connected, so no round frame is lost to a slow joiner.
    unsigned char joined[N_WORKERS] = {0};
    int njoined = 0;
    double deadline = s_now() + JOIN_TIMEOUT_S;
    char ping = FLOOR_PING, buf[4096];
    while (njoined < N_WORKERS) {
        if (s_now() > deadline) {
            fprintf(stderr, "bench_round: floor: only %d of %d workers joined\n", njoined,
                    N_WORKERS);
            goto fail;
        }
        zmq_send(pub, &ping, 1, 0);
        zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 5) <= 0)
            continue;
        int size = zmq_recv(pull, buf, sizeof buf, 0);
        if (size == 2 && buf[0] == FLOOR_READY && buf[1] >= 0 && buf[1] < N_WORKERS &&
            !joined[(int) buf[1]]) {
            joined[(int) buf[1]] = 1;
            njoined++;
        }
    }
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    double t0 = 0;
    for (int r = 0; r < WARMUP_ROUNDS + rounds; r++) {
        if (r == WARMUP_ROUNDS)
            t0 = s_now();
        if (zmq_send(pub, fr->round.data, fr->round.size, 0) < 0)
            goto fail;
        for (int got = 0; got < 2 * N_WORKERS; got++) {
            int size = zmq_recv(pull, buf, sizeof buf, 0);
            if (size < 0) {
                fprintf(stderr, "bench_round: floor: round %d: %s\n", r, zmq_strerror(zmq_errno()));
                goto fail;
            }
        }
    }
    *rps = (double) rounds / (s_now() - t0);
    char stop = FLOOR_STOP;
    zmq_send(pub, &stop, 1, 0);
    rc = 0;
fail:
    // Close before reaping: the PUB's linger delivers STOP; a child that missed it times out.
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
            kill(pids[i], SIGKILL);  // the measurement is lost anyway; don't wait for timeouts
        }
        int code = s_reap(pids[i], 5.0);
        if (code != 0 && rc == 0) {
            fprintf(stderr, "bench_round: floor worker %d exited with %d\n", i, code);
            rc = -1;
        }
    }
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

//  Runs the marina binary once and reads its rounds/s from the result database: the last row's
//  wall_time_s runs from the broadcast of round 0 to the end of round R, so start-up and data
//  loading are not counted. *p_hat gets the share of rounds with c_k = 1 (dense uploads).
static int
s_real(const char *dataset, int rounds, double *rps, double *p_hat)
{
    char dir[] = "/tmp/marina-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_round: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    char db[128], log[128], a_data[1100], a_rounds[64], a_db[160];
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(log, sizeof log, "%s/marina.log", dir);
    snprintf(a_data, sizeof a_data, "dataset=%s", dataset);
    snprintf(a_rounds, sizeof a_rounds, "rounds=%d", rounds);
    snprintf(a_db, sizeof a_db, "db=%s", db);
    char synth_d[32];
    snprintf(synth_d, sizeof synth_d, "synth_d=%d", DIM);
    char *argv[] = {MARINA_BIN,         "run",   a_data,   "n=5",
                    "compressor=randk", "k=10",  a_rounds, a_db,
                    "progress_s=0",     synth_d, NULL};
    int rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int err = posix_spawn(&pid, MARINA_BIN, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        fprintf(stderr, "bench_round: cannot start %s: %s\n", MARINA_BIN, strerror(err));
        goto cleanup;
    }
    int code = s_reap(pid, REAL_TIMEOUT_S);
    if (code != 0) {
        fprintf(stderr, "bench_round: marina run exited with %d; its output:\n", code);
        s_print_log(log);
        goto cleanup;
    }
    sqlite3 *sql = NULL;
    sqlite3_stmt *st = NULL;
    const char *query = "SELECT r.round, r.wall_time_s, u.status, u.d,"
                        " (SELECT avg(c_k) FROM rounds WHERE run_id = u.id AND round > 0)"
                        " FROM rounds r JOIN runs u ON r.run_id = u.id"
                        " ORDER BY u.id DESC, r.round DESC LIMIT 1";
    if (sqlite3_open_v2(db, &sql, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(sql, query, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "bench_round: cannot read %s: %s\n", db, sqlite3_errmsg(sql));
    } else {
        long long last = sqlite3_column_int64(st, 0);
        double wall = sqlite3_column_double(st, 1);
        const char *status = (const char *) sqlite3_column_text(st, 2);
        int d = sqlite3_column_int(st, 3);
        *p_hat = sqlite3_column_double(st, 4);
        if (!status || strcmp(status, "completed") != 0 || last != rounds || wall <= 0)
            fprintf(stderr, "bench_round: the run is %s at round %lld of %d\n",
                    status ? status : "?", last, rounds);
        else {
            if (d != DIM)
                fprintf(stderr, "bench_round: note: the real run has d = %d, the floor %d\n", d,
                        DIM);
            *rps = (double) last / wall;  // as `marina summary` counts: R rounds after round 0
            rc = 0;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(sql);
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

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Prints "name  rounds/s  v1 v2 ...  median m" and returns the median.
static double
s_report(const char *name, const double *v, int count)
{
    double sorted[MAX_REPEAT];
    memcpy(sorted, v, (size_t) count * sizeof *v);
    qsort(sorted, (size_t) count, sizeof *sorted, s_cmp_double);
    double median =
        count % 2 ? sorted[count / 2] : 0.5 * (sorted[count / 2 - 1] + sorted[count / 2]);
    printf("%-6s rounds/s ", name);
    for (int i = 0; i < count; i++)
        printf(" %.0f", v[i]);
    printf("  median %.0f\n", median);
    return median;
}

int
main(int argc, char **argv)
{
    int rounds = 3000, repeat = 3;
    const char *data_dir = getenv("MARINA_DATA_DIR");
    if (!data_dir || !data_dir[0])
        data_dir = "../shared/datasets";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data_dir = argv[++i];
        else {
            fprintf(stderr,
                    "usage: bench_round [--rounds R] [--repeat N] [--data DIR]\n"
                    "Rounds/s of `marina run` (n=%d, RandK K=%d, tcp loopback) and of a bare\n"
                    "ZeroMQ round with the same frames (the floor), alternated N times.\n"
                    "DIR holds mushrooms (default $MARINA_DATA_DIR, else ../shared/datasets);\n"
                    "without it the real run uses synthetic data with d=%d.\n",
                    N_WORKERS, RANDK_K, DIM);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (rounds < 1 || repeat < 1 || repeat > MAX_REPEAT) {
        fprintf(stderr, "bench_round: need --rounds >= 1 and 1 <= --repeat <= %d\n", MAX_REPEAT);
        return 2;
    }
    char dataset[1024];
    snprintf(dataset, sizeof dataset, "%s/mushrooms", data_dir);
    if (access(dataset, R_OK) != 0)
        snprintf(dataset, sizeof dataset, "synthetic");
    s_frames_t fr;
    if (s_frames_build(&fr) < 0) {
        fprintf(stderr, "bench_round: cannot encode the frames\n");
        return 1;
    }
    printf("bench_round: n=%d d=%d RandK K=%d, tcp loopback, %d rounds x %d, dataset %s\n",
           N_WORKERS, DIM, RANDK_K, rounds, repeat, dataset);
    printf("frames: ROUND %zu B down, UPDATE %zu B + METRICS %zu B up per worker\n", fr.round.size,
           fr.update.size, fr.metrics.size);
    fflush(stdout);
    double floor_rps[MAX_REPEAT], real_rps[MAX_REPEAT], p_hat = 0;
    int rc = 0;
    // Alternate, so that load from other work on the machine hits both sides alike.
    for (int i = 0; i < repeat && rc == 0; i++) {
        if (s_floor(&fr, rounds, &floor_rps[i]) < 0 ||
            s_real(dataset, rounds, &real_rps[i], &p_hat) < 0)
            rc = 1;
    }
    s_frames_fini(&fr);
    if (rc != 0)
        return rc;
    double floor_med = s_report("floor", floor_rps, repeat);
    double real_med = s_report("real", real_rps, repeat);
    printf("ratio real/floor %.2f (target >= 0.5)\n", real_med / floor_med);
    printf("real run: %.1f%% of rounds had c_k = 1 (dense uploads; the floor sends sparse ones)\n",
           100.0 * p_hat);
    return 0;
}
