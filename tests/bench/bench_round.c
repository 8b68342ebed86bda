//  bench_round.c - rounds/s of a real `marina run` against the limit of its round, both measured
//  in the same run, over tcp loopback and over inproc.
//
//  The problem is issue 13's (a): mushrooms (d = 113), n = 5 workers, MARINA with RandK K = 10.
//  The limit of a round is 1 / (bare + compute / cores):
//  - bare: a bare ZeroMQ round with the shape of a real one and nothing else. A parent PUBlishes
//    one pre-encoded ROUND frame (the dense iterate's g, d = 113) to 5 workers, and each answers
//    with one pre-encoded sparse UPDATE frame (K = 10) on PUSH, without decoding anything. Over
//    tcp the workers are 5 forked processes, each with its own ZeroMQ context; over inproc they
//    are 5 threads of this process sharing one.
//  - compute: the math of one round in one thread, through the method API on the same data and
//    parameters (experiment_init() of the run's own arguments): the 5 workers' MARINA steps (local
//    gradient, RandK), the metrics each reports (f_i and its gradient at x^k), the server's
//    combine (the average) and the mean of the metrics. Divided by the cores online: the ideal of
//    the math spread over every core at no cost.
//  - real: `marina run dataset=mushrooms n=5 compressor=randk k=10 transport=T`; rounds/s is
//    R / wall_time_s of round R, from the result database (start-up and loading not counted).
//  One pass measures them one after the other, so they see the same machine load: bare tcp,
//  compute, real tcp, compute, bare inproc, real inproc, compute. Each real run is bracketed by
//  two computes, and its limit takes their mean (the machine's speed drifts within a pass; a
//  compute timed once, far from the run, moved a ratio by up to 0.3). A pass's ratio is real /
//  limit of that pass, and the benchmark prints every pass and the medians of the passes.
//  A second figure beside it: the bare round's CPU time (every thread, ZeroMQ's I/O threads
//  included) competes with the math for the same cores, which the limit above leaves out. The
//  CPU-bound limit is 1 / max(bare, (bare CPU + compute) / cores); real / that limit says how much
//  of the gap is ours and how much is the transport's own work.
//
//  A third: the schedulable limit. A worker's step is one actor's work and cannot be split: on
//  `cores` cores the n steps take at least ceil(n / cores) of them one after the other (3 of 5
//  on 2 cores, where the limit above assumes 2.5), and the server's combine and metrics mean
//  wait for every update. So it is 1 / (bare + ceil(n / cores) * step + server), step the mean
//  worker step (its metrics included) and server the combine and the mean, both timed in the
//  compute loop. With n = 5 on 2 cores the first limit cannot be reached to better than about
//  0.9 of it even at no cost at all; real / schedulable limit says how far we are from what the
//  round's own structure allows.
//
//  Always exits 0 when every measurement ran, whatever the ratio: a benchmark reports speed, it
//  does not judge it. Non-zero means something broke (a child failed, a socket, the database).
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "child_pipe.h"
#include "cfg.h"
#include "experiment.h"
#include "loss_split.h"
#include "msg.h"
#include "rng.h"

#define N_WORKERS       5
#define DIM             113  // mushrooms: 112 features and the bias
#define RANDK_K         10
#define WARMUP_ROUNDS   200    // untimed: TCP connections, page faults, CPU frequency settle
#define RECV_TIMEOUT_MS 10000  // a bare worker or the parent gives up after this much silence
#define JOIN_TIMEOUT_S  10.0
#define REAL_TIMEOUT_S  600.0  // marina has its own timeouts; this only guards a hang
#define MAX_REPEAT      32
#define MAX_ARGS        16

//  Bare-round control frames are one byte, so they can never be mistaken for an encoded message
//  (those are at least a few bytes long and start with a MessagePack array header).
#define BARE_PING  'P'
#define BARE_STOP  'S'
#define BARE_READY 'R'  // worker -> parent: {'R', id}

enum {
    T_TCP,
    T_INPROC,
    N_TRANSPORTS
};
static const char *const TRANSPORT_NAMES[N_TRANSPORTS] = {"tcp", "inproc"};

extern char **environ;

typedef struct {
    msg_buf_t round;   // server -> workers, g^{k-1} dense
    msg_buf_t update;  // worker -> server, sparse K values
} s_frames_t;

//  The arguments of the real run (and of the compute floor's experiment), without transport,
//  rounds and db.
typedef struct {
    char dataset[1100], synth_d[32];
    const char *argv[MAX_ARGS];
    int argc;
} s_run_args_t;

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

//  Encodes real messages so that the bare round moves exactly the bytes of a real one. The round
//  number is mid-run (1000) because MessagePack integers grow with their value.
//  CPU seconds (user + system) of this process's threads (RUSAGE_SELF) or of its reaped children.
static double
s_cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

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
    msg_fini(&m);
    return rc == MR_OK ? 0 : -1;
}

static void
s_frames_fini(s_frames_t *fr)
{
    msg_buf_fini(&fr->round);
    msg_buf_fini(&fr->update);
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

//  One bare worker on ctx: it connects to the parent's endpoints, answers the PING once with
//  READY and every ROUND with the UPDATE frame. Returns 0 on STOP, 2 when the parent goes silent
//  (receive timeout) or a socket fails.
static int
s_bare_worker(void *ctx, int id, const char *pub_ep, const char *pull_ep, const s_frames_t *fr)
{
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
        if (size == 1 && buf[0] == BARE_STOP) {
            rc = 0;
            break;
        }
        if (size == 1 && buf[0] == BARE_PING) {
            char ready[2] = {BARE_READY, (char) id};
            if (!ready_sent && zmq_send(push, ready, 2, 0) < 0)
                break;
            ready_sent = 1;
            continue;
        }
        if (zmq_send(push, fr->update.data, fr->update.size, 0) < 0)  // a round: the answer
            break;
    }
done:
    zmq_close(sub);
    zmq_close(push);
    return rc;
}

//  A bare worker process (tcp). It learns its id and the parent's endpoints from the pipe, so
//  that the parent touches no ZeroMQ state before fork(); EOF before that (a dead parent) ends it.
static int
s_bare_child(int fd, const s_frames_t *fr)
{
    char pub_ep[256], pull_ep[256];
    int id;
    if (child_pipe_read(fd, &id, pub_ep, pull_ep) != 0)
        return 2;
    void *ctx = zmq_ctx_new();
    int rc = s_bare_worker(ctx, id, pub_ep, pull_ep, fr);
    zmq_ctx_term(ctx);
    return rc;
}

//  The parent's side on bound sockets: joins the workers (PING until each said READY, so no round
//  is lost to a slow joiner), times `rounds` rounds after the warm-up (*us: microseconds a round)
//  and sends STOP. 0, or -1 after saying why.
static int
s_bare_serve(void *pub, void *pull, const s_frames_t *fr, int rounds, double *us)
{
    unsigned char joined[N_WORKERS] = {0};
    int njoined = 0, timeout = RECV_TIMEOUT_MS;
    double deadline = s_now() + JOIN_TIMEOUT_S;
    char ping = BARE_PING, buf[4096];
    while (njoined < N_WORKERS) {
        if (s_now() > deadline) {
            fprintf(stderr, "bench_round: bare: only %d of %d workers joined\n", njoined,
                    N_WORKERS);
            return -1;
        }
        zmq_send(pub, &ping, 1, 0);
        zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 5) <= 0)
            continue;
        int size = zmq_recv(pull, buf, sizeof buf, 0);
        if (size == 2 && buf[0] == BARE_READY && buf[1] >= 0 && buf[1] < N_WORKERS &&
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
            return -1;
        for (int got = 0; got < N_WORKERS; got++)
            if (zmq_recv(pull, buf, sizeof buf, 0) < 0) {
                fprintf(stderr, "bench_round: bare: round %d: %s\n", r, zmq_strerror(zmq_errno()));
                return -1;
            }
    }
    *us = 1e6 * (s_now() - t0) / (double) rounds;
    char stop = BARE_STOP;
    zmq_send(pub, &stop, 1, 0);
    return 0;
}

//  Binds the parent's PUB and PULL on ctx at endpoints like pattern ("tcp://127.0.0.1:*",
//  "inproc://..."); writes the endpoints bound. 0, or -1 after saying why (sockets closed).
static int
s_bare_bind(void *ctx,
            const char *pub_at,
            const char *pull_at,
            void **pub,
            void **pull,
            char *pub_ep,
            char *pull_ep,
            size_t size)
{
    *pub = zmq_socket(ctx, ZMQ_PUB);
    *pull = zmq_socket(ctx, ZMQ_PULL);
    int zero = 0, linger = 1000;
    zmq_setsockopt(*pub, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(*pub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(*pull, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(*pull, ZMQ_LINGER, &zero, sizeof zero);
    size_t len_pub = size, len_pull = size;
    if (zmq_bind(*pub, pub_at) < 0 || zmq_bind(*pull, pull_at) < 0 ||
        zmq_getsockopt(*pub, ZMQ_LAST_ENDPOINT, pub_ep, &len_pub) < 0 ||
        zmq_getsockopt(*pull, ZMQ_LAST_ENDPOINT, pull_ep, &len_pull) < 0) {
        fprintf(stderr, "bench_round: bare: cannot bind: %s\n", zmq_strerror(zmq_errno()));
        zmq_close(*pub);
        zmq_close(*pull);
        *pub = *pull = NULL;
        return -1;
    }
    return 0;
}

//  The bare round over tcp loopback: forks the workers, serves them; *us gets microseconds a
//  round, *cpu_us the CPU microseconds a round of every thread of the parent and the children
//  (ZeroMQ's I/O threads included), over the warm-up and timed rounds with the joining: a little
//  above the timed rounds' own. Returns 0, or -1 after saying why. Every child is reaped on every
//  path.
static int
s_bare_tcp(const s_frames_t *fr, int rounds, double *us, double *cpu_us)
{
    double cpu0 = s_cpu_s(RUSAGE_SELF) + s_cpu_s(RUSAGE_CHILDREN);
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
            _exit(s_bare_child(p[0], fr));
        }
        close(p[0]);
        pids[forked] = pid;
        fds[forked] = p[1];
    }
    ctx = zmq_ctx_new();
    char pub_ep[256], pull_ep[256];
    if (s_bare_bind(ctx, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", &pub, &pull, pub_ep, pull_ep,
                    sizeof pub_ep) < 0)
        goto fail;
    for (int i = 0; i < N_WORKERS; i++) {
        dprintf(fds[i], "%d %s %s\n", i, pub_ep, pull_ep);
        close(fds[i]);
        fds[i] = -1;
    }
    rc = s_bare_serve(pub, pull, fr, rounds, us);
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
            fprintf(stderr, "bench_round: bare worker %d exited with %d\n", i, code);
            rc = -1;
        }
    }
    *cpu_us = 1e6 * (s_cpu_s(RUSAGE_SELF) + s_cpu_s(RUSAGE_CHILDREN) - cpu0) /
              (double) (WARMUP_ROUNDS + rounds);
    return rc;
}

typedef struct {
    void *ctx;
    int id;
    const char *pub_ep, *pull_ep;
    const s_frames_t *fr;
    int rc;
} s_bare_thread_t;

static void *
s_bare_thread(void *arg)
{
    s_bare_thread_t *t = arg;
    t->rc = s_bare_worker(t->ctx, t->id, t->pub_ep, t->pull_ep, t->fr);
    return NULL;
}

//  The bare round over inproc: the workers are threads of this process on one context, as in
//  `marina run transport=inproc`; *cpu_us as in s_bare_tcp(). 0, or -1 after saying why.
static int
s_bare_inproc(const s_frames_t *fr, int rounds, double *us, double *cpu_us)
{
    double cpu0 = s_cpu_s(RUSAGE_SELF);
    void *ctx = zmq_ctx_new(), *pub = NULL, *pull = NULL;
    char pub_ep[256], pull_ep[256];
    if (s_bare_bind(ctx, "inproc://bench-round-pub", "inproc://bench-round-pull", &pub, &pull,
                    pub_ep, pull_ep, sizeof pub_ep) < 0) {
        zmq_ctx_term(ctx);
        return -1;
    }
    s_bare_thread_t t[N_WORKERS];
    pthread_t tid[N_WORKERS];
    int started = 0, rc = 0;
    for (; started < N_WORKERS; started++) {
        t[started] = (s_bare_thread_t){ctx, started, pub_ep, pull_ep, fr, 2};
        if (pthread_create(&tid[started], NULL, s_bare_thread, &t[started]) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        rc = s_bare_serve(pub, pull, fr, rounds, us);
    // STOP went out (or the workers time out): join them before the sockets go.
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        if (t[i].rc != 0 && rc == 0) {
            fprintf(stderr, "bench_round: bare worker thread %d ended with %d\n", i, t[i].rc);
            rc = -1;
        }
    }
    zmq_close(pub);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    *cpu_us = 1e6 * (s_cpu_s(RUSAGE_SELF) - cpu0) / (double) (WARMUP_ROUNDS + rounds);
    return rc;
}

//  The compute floor: microseconds of the math of one round in this thread, on the experiment of
//  the real run's arguments (the same data, shards, method and parameters), averaged over
//  `rounds` rounds after the warm-up. 0, or -1 after saying why.
static int
s_compute(const s_run_args_t *ra, int rounds, double *us, double *step_us)
{
    cfg_t c;
    experiment_t e;
    mr_err_t err;
    mr_err_clear(&err);
    memset(&e, 0, sizeof e);
    int rc = cfg_init(&c);
    for (int i = 0; rc == MR_OK && i < ra->argc; i++)
        rc = cfg_apply_arg(&c, ra->argv[i], "bench_round", &err);
    int have_e = rc == MR_OK && (rc = experiment_init(&e, &c, &err)) == MR_OK;
    cfg_fini(&c);
    if (!have_e) {
        fprintf(stderr, "bench_round: compute: %s\n", err.text);
        return -1;
    }
    const method_t *m = e.method;
    size_t n = e.mp.n, d = e.mp.dim;
    method_worker_t *w[N_WORKERS] = {0};
    cvec_t ups[N_WORKERS];
    const cvec_t *ptrs[N_WORKERS];
    vec_t grads[N_WORKERS], x0, gmean;
    rng_t rng[N_WORKERS], srng;
    double f[N_WORKERS], sink = 0;
    memset(ups, 0, sizeof ups);
    memset(grads, 0, sizeof grads);
    memset(&x0, 0, sizeof x0);
    memset(&gmean, 0, sizeof gmean);
    method_server_t *s = NULL;
    rc = n == N_WORKERS && vec_init(&x0, d) == MR_OK && vec_init(&gmean, d) == MR_OK ? 0 : -1;
    //  The kernel a worker's seat uses (actors/worker.c): a shard worth it takes its gradient in
    //  chunks (loss_split.h, the same bits), all run here in this one thread.
    loss_split_t splits[N_WORKERS];
    memset(splits, 0, sizeof splits);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (loss_split_worth(&e.losses[i])) {
            if (loss_split_init(&splits[i], &e.losses[i], NULL, NULL, &err) != MR_OK)
                rc = -1;
            e.losses[i].split = &splits[i];
        }
        if (rc != 0 || cvec_init(&ups[i], d, d) != MR_OK || vec_init(&grads[i], d) != MR_OK ||
            !(w[i] = m->worker_new(&e.mp, &e.losses[i], (uint32_t) i, &x0, &err)))
            rc = -1;
        rng_seed(&rng[i], e.mp.seed, rng_stream_worker((uint32_t) i));
        ptrs[i] = &ups[i];
    }
    if (rc == 0 && !(s = m->server_new(&e.mp, &x0, &err)))
        rc = -1;
    rng_seed(&srng, e.mp.seed, RNG_STREAM_SERVER);
    double t0 = 0, steps = 0;  // steps: the time in the workers' steps, from t0
    for (int k = 0; rc == 0 && k < WARMUP_ROUNDS + rounds; k++) {
        if (k == WARMUP_ROUNDS)
            t0 = s_now();
        method_round_t rd;
        m->server_plan(s, (uint64_t) k, &srng, &rd);
        double w0 = s_now();
        for (size_t i = 0; rc == 0 && i < n; i++) {
            method_report_t rep = {0};
            if (m->worker_step(w[i], &rd, &rng[i], &ups[i], &rep) != MR_OK)
                rc = -1;
            else if (rep.have_eval) {  // the worker's METRICS, as actors/worker.c forms them
                f[i] = rep.f;
                vec_copy(&grads[i], rep.grad);
            } else {
                f[i] = loss_value_grad(&e.losses[i], m->worker_x(w[i]), &grads[i]);
            }
        }
        if (k >= WARMUP_ROUNDS)
            steps += s_now() - w0;
        if (rc == 0 && m->server_combine(s, &rd, ptrs, &err) != MR_OK)
            rc = -1;
        vec_zero(&gmean);  // the server's metrics: mean f_i and ||mean grad f_i||^2
        for (size_t i = 0; i < n; i++) {
            sink += f[i];
            vec_axpy(&gmean, 1.0, &grads[i]);
        }
        vec_scale(&gmean, 1.0 / (double) n);
        sink += vec_norm_sq(&gmean);
    }
    if (rc == 0) {
        *us = 1e6 * (s_now() - t0) / (double) rounds;
        *step_us = 1e6 * steps / (double) rounds / (double) n;
    } else
        fprintf(stderr, "bench_round: compute: a method step failed: %s\n", err.text);
    if (rc == 0 && !(sink == sink))
        fprintf(stderr, "bench_round: compute: note: the iterate diverged\n");
    if (s)
        m->server_destroy(&s);
    for (size_t i = 0; i < N_WORKERS; i++) {
        if (w[i])
            m->worker_destroy(&w[i]);
        cvec_fini(&ups[i]);
        vec_fini(&grads[i]);
        loss_split_fini(&splits[i]);
    }
    vec_fini(&x0);
    vec_fini(&gmean);
    experiment_fini(&e);
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

//  Runs the marina binary once over transport and reads its rounds/s from the result database:
//  the last row's wall_time_s runs from the broadcast of round 0 to the end of round R, so
//  start-up and data loading are not counted. *p_hat gets the share of rounds with c_k = 1 (dense uploads).
static int
s_real(const s_run_args_t *ra, const char *transport, int rounds, double *rps, double *p_hat)
{
    char dir[] = "/tmp/marina-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_round: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    char db[128], log[128], a_rounds[64], a_db[160], a_transport[64];
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(log, sizeof log, "%s/marina.log", dir);
    snprintf(a_rounds, sizeof a_rounds, "rounds=%d", rounds);
    snprintf(a_db, sizeof a_db, "db=%s", db);
    snprintf(a_transport, sizeof a_transport, "transport=%s", transport);
    char *argv[MAX_ARGS + 8];
    int argc = 0;
    argv[argc++] = MARINA_BIN;
    argv[argc++] = "run";
    for (int i = 0; i < ra->argc; i++)
        argv[argc++] = (char *) ra->argv[i];
    argv[argc++] = a_transport;
    argv[argc++] = a_rounds;
    argv[argc++] = a_db;
    argv[argc++] = "progress_s=0";
    argv[argc] = NULL;
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
                fprintf(stderr, "bench_round: note: the real run has d = %d, the bare round %d\n",
                        d, DIM);
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

static double
s_median(const double *v, int count)
{
    double sorted[MAX_REPEAT];
    memcpy(sorted, v, (size_t) count * sizeof *v);
    qsort(sorted, (size_t) count, sizeof *sorted, s_cmp_double);
    return count % 2 ? sorted[count / 2] : 0.5 * (sorted[count / 2 - 1] + sorted[count / 2]);
}

//  Prints "name  v1 v2 ...  median m" (values with fmt) and returns the median.
static double
s_report(const char *name, const char *fmt, const double *v, int count)
{
    double median = s_median(v, count);
    printf("  %-22s", name);
    for (int i = 0; i < count; i++) {
        printf(" ");
        printf(fmt, v[i]);
    }
    printf("   median ");
    printf(fmt, median);
    printf("\n");
    return median;
}

static void
s_run_args(s_run_args_t *ra, const char *dataset)
{
    snprintf(ra->dataset, sizeof ra->dataset, "dataset=%s", dataset);
    snprintf(ra->synth_d, sizeof ra->synth_d, "synth_d=%d", DIM);
    static char n_arg[16], k_arg[16];
    snprintf(n_arg, sizeof n_arg, "n=%d", N_WORKERS);
    snprintf(k_arg, sizeof k_arg, "k=%d", RANDK_K);
    ra->argc = 0;
    ra->argv[ra->argc++] = ra->dataset;
    ra->argv[ra->argc++] = n_arg;
    ra->argv[ra->argc++] = "compressor=randk";
    ra->argv[ra->argc++] = k_arg;
    ra->argv[ra->argc++] = ra->synth_d;
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
                    "Rounds/s of `marina run` (n=%d, RandK K=%d) over tcp loopback and inproc\n"
                    "against the limit 1/(bare ZeroMQ round + compute of a round / cores), all\n"
                    "measured in each of N passes. DIR holds mushrooms (default\n"
                    "$MARINA_DATA_DIR, else ../shared/datasets); without it the runs use\n"
                    "synthetic data with d=%d.\n",
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
    s_run_args_t ra;
    s_run_args(&ra, dataset);
    s_frames_t fr;
    if (s_frames_build(&fr) < 0) {
        fprintf(stderr, "bench_round: cannot encode the frames\n");
        return 1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    printf("bench_round: n=%d d=%d RandK K=%d, %d rounds x %d passes, %ld cores, dataset %s\n",
           N_WORKERS, DIM, RANDK_K, rounds, repeat, cores, dataset);
    printf("bare round: ROUND %zu B down to each worker, one UPDATE %zu B up from each\n",
           fr.round.size, fr.update.size);
    fflush(stdout);
    double bare_us[N_TRANSPORTS][MAX_REPEAT], real_rps[N_TRANSPORTS][MAX_REPEAT];
    double limit_rps[N_TRANSPORTS][MAX_REPEAT], ratio[N_TRANSPORTS][MAX_REPEAT];
    double bare_cpu[N_TRANSPORTS][MAX_REPEAT], cpu_limit[N_TRANSPORTS][MAX_REPEAT];
    double cpu_ratio[N_TRANSPORTS][MAX_REPEAT];
    double compute_us[N_TRANSPORTS][MAX_REPEAT], step_us[N_TRANSPORTS][MAX_REPEAT], p_hat = 0;
    double sched_limit[N_TRANSPORTS][MAX_REPEAT], sched_ratio[N_TRANSPORTS][MAX_REPEAT];
    double per_core = (double) ((N_WORKERS + cores - 1) / cores);  // steps in a row, at least
    int rc = 0;
    // One pass measures everything one after the other, so load from other work on the
    // machine hits every number of a pass alike.
    for (int i = 0; i < repeat && rc == 0; i++) {
        double c_us[3], c_step[3];  // the computes before, between and after the real runs
        if (s_bare_tcp(&fr, rounds, &bare_us[T_TCP][i], &bare_cpu[T_TCP][i]) < 0 ||
            s_compute(&ra, rounds, &c_us[0], &c_step[0]) < 0 ||
            s_real(&ra, "tcp", rounds, &real_rps[T_TCP][i], &p_hat) < 0 ||
            s_compute(&ra, rounds, &c_us[1], &c_step[1]) < 0 ||
            s_bare_inproc(&fr, rounds, &bare_us[T_INPROC][i], &bare_cpu[T_INPROC][i]) < 0 ||
            s_real(&ra, "inproc", rounds, &real_rps[T_INPROC][i], &p_hat) < 0 ||
            s_compute(&ra, rounds, &c_us[2], &c_step[2]) < 0) {
            rc = 1;
            break;
        }
        printf("pass %d: compute %.1f / %.1f / %.1f us a round", i + 1, c_us[0], c_us[1], c_us[2]);
        for (int t = 0; t < N_TRANSPORTS; t++) {
            compute_us[t][i] = (c_us[t] + c_us[t + 1]) / 2.0;
            step_us[t][i] = (c_step[t] + c_step[t + 1]) / 2.0;
        }
        for (int t = 0; t < N_TRANSPORTS; t++) {
            limit_rps[t][i] = 1e6 / (bare_us[t][i] + compute_us[t][i] / (double) cores);
            ratio[t][i] = real_rps[t][i] / limit_rps[t][i];
            //  The bare round's own CPU competes with the math for the same cores.
            double busy = (bare_cpu[t][i] + compute_us[t][i]) / (double) cores;
            cpu_limit[t][i] = 1e6 / (busy > bare_us[t][i] ? busy : bare_us[t][i]);
            cpu_ratio[t][i] = real_rps[t][i] / cpu_limit[t][i];
            double server_us = compute_us[t][i] - (double) N_WORKERS * step_us[t][i];
            sched_limit[t][i] = 1e6 / (bare_us[t][i] + per_core * step_us[t][i] + server_us);
            sched_ratio[t][i] = real_rps[t][i] / sched_limit[t][i];
            printf("; %s: bare %.1f us (CPU %.1f us), limit %.0f, real %.0f rounds/s, ratio %.2f"
                   " (CPU-bound limit %.0f, ratio %.2f)",
                   TRANSPORT_NAMES[t], bare_us[t][i], bare_cpu[t][i], limit_rps[t][i],
                   real_rps[t][i], ratio[t][i], cpu_limit[t][i], cpu_ratio[t][i]);
        }
        printf("\n");
        fflush(stdout);
    }
    s_frames_fini(&fr);
    if (rc != 0)
        return rc;
    printf("medians over %d passes:\n", repeat);
    for (int t = 0; t < N_TRANSPORTS; t++) {
        char name[64];
        printf(" %s:\n", TRANSPORT_NAMES[t]);
        s_report("compute us/round", "%.1f", compute_us[t], repeat);
        s_report("worker step us", "%.1f", step_us[t], repeat);
        s_report("bare round us", "%.1f", bare_us[t], repeat);
        s_report("limit rounds/s", "%.0f", limit_rps[t], repeat);
        s_report("real rounds/s", "%.0f", real_rps[t], repeat);
        snprintf(name, sizeof name, "ratio real/limit");
        double med = s_report(name, "%.2f", ratio[t], repeat);
        s_report("bare round CPU us", "%.1f", bare_cpu[t], repeat);
        s_report("CPU-bound limit", "%.0f", cpu_limit[t], repeat);
        double cmed = s_report("ratio real/CPU-bound", "%.2f", cpu_ratio[t], repeat);
        s_report("schedulable limit", "%.0f", sched_limit[t], repeat);
        double smed = s_report("ratio real/schedulable", "%.2f", sched_ratio[t], repeat);
        printf("  => %s: %.2f of the limit (target >= 0.9); %.2f of the CPU-bound limit; %.2f of "
               "the schedulable limit\n",
               TRANSPORT_NAMES[t], med, cmed, smed);
    }
    printf("real run: %.1f%% of rounds had c_k = 1 (dense uploads; the bare round sends sparse "
           "ones)\n",
           100.0 * p_hat);
    return 0;
}
