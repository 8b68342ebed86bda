//  test_server.c - the server actor in this process (inproc://), driven by a scripted worker that
//  interleaves bad messages with its honest ones: every bad message costs only itself, and the
//  rows the server reports are the same as in a clean run.
#include <czmq.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "actor.h"
#include "data.h"
#include "loss.h"
#include "method.h"
#include "msg.h"
#include "server.h"
#include "test_util.h"

#define N      2
#define ROUNDS 30

static size_t s_joins;       // JOIN broadcasts seen (hostile = 3 and 4 runs)
static uint32_t s_join_pid;  // the last JOIN's pid and round (hostile = 4 runs)
static uint64_t s_join_round;
static size_t s_stop_rejections;  // rows whose rejections name the forged STOP (hostile runs)

typedef struct {
    csr_t data, shard[N];
    loss_t loss[N];
    method_params_t mp;
    const method_t *method;
} problem_t;

static void
s_problem(problem_t *p, const char *method_name)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(data_synthetic(200, 12, 0.4, N, 5, &p->data, NULL), MR_OK);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(csr_split_part(&p->data, N, i, &p->shard[i], NULL), MR_OK);
        assert_int_equal(loss_init(&p->loss[i], LOSS_NONCONVEX, 0.0, &p->shard[i], NULL), MR_OK);
    }
    p->method = method_find(method_name);
    assert_non_null(p->method);
    p->mp = (method_params_t){.n = N,
                              .dim = 12,
                              .m = 100,
                              .gamma = 0.5,
                              .p = 0.3,
                              .comp = {.kind = COMP_RANDK, .k = 3},
                              .seed = 9};
}

static void
s_problem_fini(problem_t *p)
{
    for (size_t i = 0; i < N; i++)
        csr_fini(&p->shard[i]);
    csr_fini(&p->data);
}

typedef struct {
    zsock_t *sub, *push, *stats, *rogue;
    msg_t in, out;
    msg_buf_t buf;
} peer_t;

static void
s_send(peer_t *w)
{
    assert_true(actor_send(zsock_resolve(w->push), &w->out, &w->buf, 0) > 0);
}

static void
s_send_raw(peer_t *w, const void *data, size_t size, int flags)
{
    assert_true(zmq_send(zsock_resolve(w->push), data, size, flags) >= 0);
}

static void
s_recv(zsock_t *sock, msg_t *m)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    assert_true(zmq_msg_recv(&frame, zsock_resolve(sock), 0) >= 0);
    mr_err_t err;
    assert_int_equal(msg_decode(m, zmq_msg_data(&frame), zmq_msg_size(&frame), &err), MR_OK);
    zmq_msg_close(&frame);
}

//  Runs a server (method_name) with N in-process honest workers driven by this thread; with
//  hostile set, each round also carries bad messages. Writes the STATS rows to rows[0..ROUNDS].
static void
s_run(const char *method_name, int hostile, round_stats_t *rows, char *status, size_t size)
{
    problem_t p;
    s_problem(&p, method_name);
    int bundle = hostile == 2;   // 2: the answers of a round in one BUNDLE instead
    int rehello = hostile == 3;  // 3: on_worker_loss = continue, worker 0 says HELLO every round
    int early = hostile == 4;    // 4: worker 0's new process says HELLO before the LOST of round 2
    int refuse = hostile == 5;   // 5: in round 2 a HELLO is refused, then a worker asks to RESYNC
    hostile = hostile == 1;
    static int instance = 0;
    char ep[3][64];
    instance++;
    snprintf(ep[0], sizeof ep[0], "inproc://test-bcast-%d", instance);
    snprintf(ep[1], sizeof ep[1], "inproc://test-up-%d", instance);
    snprintf(ep[2], sizeof ep[2], "inproc://test-stats-%d", instance);
    server_cfg_t sc = {.ep_bcast = ep[0],
                       .ep_up = ep[1],
                       .ep_stats = ep[2],
                       .method = p.method,
                       .mp = p.mp,
                       .rounds = ROUNDS,
                       .seed = 9,
                       .timeout_s = 10};
    sc.continue_on_loss = rehello || early || refuse;
    if (refuse) {  // the configuration every HELLO must carry
        sc.join_config = "a = 1\n";
        sc.join_digest = 11;
    }
    sc.mp.allow_absent = early;  // as the launcher sets it: the mean is over those that answered
    sc.with_recorder = 1;
    sc.recorder_token = "0123456789abcdef";  // as the launcher gives it (--token-file)
    sc.run.f_star = NAN;
    zactor_t *server = zactor_new(server_actor, &sc);
    char *ready = zstr_recv(server);
    assert_string_equal(ready, "READY");
    zstr_free(&ready);
    zsock_flush(server);

    peer_t w = {0};
    char connect[3][200];
    for (int i = 0; i < 3; i++)
        snprintf(connect[i], sizeof connect[i], ">%s", ep[i]);  // CZMQ: '>' connects
    w.sub = zsock_new_sub(connect[0], "");
    w.push = zsock_new_push(connect[1]);
    w.stats = zsock_new_dealer(connect[2]);
    assert_non_null(w.push);
    assert_non_null(w.stats);
    // Hostile: a second reader on the stats socket, which says the recorder's HELLO too (before
    // and after the real one, without the token); it must get nothing.
    w.rogue = hostile ? zsock_new_dealer(connect[2]) : NULL;
    zsock_set_rcvtimeo(w.stats, 30000);  // a recorder that gets nothing fails, not hangs
    assert_non_null(w.sub);
    assert_int_equal(msg_init(&w.in, 12), MR_OK);
    assert_int_equal(msg_init(&w.out, 12), MR_OK);
    method_worker_t *honest[N];
    vec_t x0;
    vec_init(&x0, 12);
    rng_t rngs[N];
    for (uint32_t i = 0; i < N; i++) {
        honest[i] = p.method->worker_new(&p.mp, &p.loss[i], i, &x0, NULL);
        rng_seed(&rngs[i], 9, rng_stream_worker(i));
        w.out = (msg_t){.type = MSG_HELLO,
                        .role = MSG_ROLE_WORKER,
                        .sender = i,
                        .pid = 1,
                        .g = w.out.g,
                        .up = w.out.up,
                        .all_part = 1,
                        .cfg_text = refuse ? "a = 1\n" : NULL,
                        .cfg_digest = refuse ? 11 : 0};
        s_send(&w);
    }
    w.out.type = MSG_HELLO;
    w.out.role = MSG_ROLE_RECORDER;
    if (hostile) {
        // First, a reader without the run's token says the recorder's HELLO: it is not the
        // recorder, whenever it comes.
        assert_true(actor_send(zsock_resolve(w.rogue), &w.out, &w.buf, 0) > 0);
        zclock_sleep(50);
    }
    w.out.cfg_text = "token=0123456789abcdef\n";
    assert_true(actor_send(zsock_resolve(w.stats), &w.out, &w.buf, 0) > 0);
    w.out.cfg_text = NULL;
    // Join: answer the first PING for both workers.
    do
        s_recv(w.sub, &w.in);
    while (w.in.type != MSG_PING);
    for (uint32_t i = 0; i < N; i++) {
        w.out.type = MSG_READY;
        w.out.role = MSG_ROLE_WORKER;
        w.out.sender = i;
        s_send(&w);
    }
    s_recv(w.stats, &w.in);
    assert_int_equal(w.in.type, MSG_RUN);
    vec_t g;
    vec_init(&g, 12);
    size_t patches = 0;
    if (hostile) {
        w.out.type = MSG_HELLO;
        w.out.role = MSG_ROLE_RECORDER;
        assert_true(actor_send(zsock_resolve(w.rogue), &w.out, &w.buf, 0) > 0);
    }
    for (uint64_t k = 0; k <= ROUNDS; k++) {
        do {
            s_recv(w.sub, &w.in);
            if (w.in.type == MSG_JOIN) {
                s_joins++;
                s_join_pid = w.in.pid;
                s_join_round = w.in.round;
                // The new process: a fresh state that goes on from the JOIN's iterate.
                uint32_t i = w.in.sender;
                assert_true(i < N);
                p.method->worker_destroy(&honest[i]);
                honest[i] = p.method->worker_new(&p.mp, &p.loss[i], i, &x0, NULL);
                uint64_t calls = 0;
                assert_int_equal(p.method->worker_rejoin(honest[i], w.in.round, &w.in.g, &calls),
                                 MR_OK);
            }
        } while (w.in.type != MSG_ROUND);
        assert_int_equal(w.in.round, k);
        //  g^{k-1} dense, or a patch of the previous one; the digest says it is the server's.
        if (w.in.has_g && w.in.g_patch)
            assert_int_equal(msg_g_patch_apply(&w.in, &g, NULL), MR_OK);
        else if (w.in.has_g)
            vec_copy(&g, &w.in.g);
        patches += w.in.has_g && w.in.g_patch;
        if (w.in.has_g)
            assert_true(msg_g_digest(&g) == w.in.g_digest);
        method_round_t rd = {k, w.in.coin, w.in.has_g ? &g : NULL, NULL, 0};
        if (refuse && k == 2) {
            //  A process with another configuration says HELLO for worker 0: refused (a REFUSE
            //  on the broadcast). Then worker 1 asks for the round again: it must get the ROUND,
            //  not the REFUSE a second time.
            w.out = (msg_t){.type = MSG_HELLO,
                            .role = MSG_ROLE_WORKER,
                            .sender = 0,
                            .pid = 5,
                            .g = w.out.g,
                            .up = w.out.up,
                            .all_part = 1,
                            .cfg_text = "a = 2\n",
                            .cfg_digest = 12};
            s_send(&w);
            zsock_set_rcvtimeo(w.sub, 10000);
            do
                s_recv(w.sub, &w.in);
            while (w.in.type != MSG_REFUSE);
            assert_int_equal(w.in.pid, 5);
            w.out.cfg_text = NULL;
            w.out.type = MSG_RESYNC;
            w.out.sender = 1;
            w.out.seq = k + 1;
            s_send(&w);
            do
                s_recv(w.sub, &w.in);
            while (w.in.type == MSG_REFUSE);
            if (w.in.type != MSG_ROUND)
                fail_msg("after the RESYNC: a %s, not the ROUND", msg_type_name(w.in.type));
            assert_int_equal(w.in.round, k);
            assert_true(w.in.has_g && !w.in.g_patch);  // the dense g, as a repair sends it
            vec_copy(&g, &w.in.g);
            zsock_set_rcvtimeo(w.sub, -1);
        }
        vec_t grad_copy[N];
        msg_buf_t inner[N + 1];  // hostile = 2: a PING, then each worker's UPDATE with metrics
        memset(inner, 0, sizeof inner);
        for (uint32_t i = 0; i < N; i++) {
            method_report_t rep = {0};
            assert_int_equal(p.method->worker_step(honest[i], &rd, &rngs[i], &w.out.up, &rep),
                             MR_OK);
            if (hostile) {
                // Garbage, a multipart message, a sketch where coordinates are expected, an
                // update for another round, and one from a worker that does not exist.
                s_send_raw(&w, "\x93\x02", 2, 0);
                s_send_raw(&w, "ab", 2, ZMQ_SNDMORE);
                s_send_raw(&w, "cd", 2, 0);
                // A forged STOP on the update socket: rejected, the run goes on.
                w.out.type = MSG_STOP;
                w.out.status = "aborted";
                w.out.reason = "forged";
                s_send(&w);
                w.out.status = w.out.reason = NULL;
                cvec_t honest_up = w.out.up;
                w.out.type = MSG_UPDATE;
                w.out.sender = i;
                w.out.oracle_calls = 0;
                w.out.round = k;
                cvec_t sketch;
                cvec_init(&sketch, 12, 12);
                sketch.kind = CVEC_SPARSE;
                sketch.enc = CVEC_ENC_SKETCH;
                sketch.nnz = 2;
                for (uint32_t j = 0; j < 2; j++) {
                    sketch.idx[j] = j;
                    sketch.val[j] = 1.0;
                }
                w.out.up = sketch;
                s_send(&w);
                w.out.up = honest_up;
                cvec_fini(&sketch);
                w.out.round = k + 7;
                s_send(&w);
                w.out.round = k;
                w.out.sender = 77;
                s_send(&w);
            }
            if (early && k == 2 && i == 0) {
                // The launcher restarted worker 0 at once: its new process (pid 2) says HELLO
                // before the server reads the LOST of the old one, which sends nothing more.
                w.out.type = MSG_HELLO;
                w.out.role = MSG_ROLE_WORKER;
                w.out.sender = 0;
                w.out.pid = 2;
                s_send(&w);
                zclock_sleep(50);
                zstr_sendx(server, "LOST", "0 killed by signal 9 (test)", NULL);
                continue;
            }
            if (rehello && i == 0) {  // the process in the run repeats its HELLO (pid 1, as joined)
                w.out.type = MSG_HELLO;
                w.out.role = MSG_ROLE_WORKER;
                w.out.sender = 0;
                w.out.pid = 1;
                s_send(&w);
            }
            w.out.type = MSG_UPDATE;
            w.out.round = k;
            w.out.sender = i;
            w.out.oracle_calls = rep.oracle_calls;
            if (bundle) {  // the metrics ride in the update, the answers in one BUNDLE
                w.out.with_metrics = 1;
                w.out.f = rep.f;
                vec_copy(&w.out.g, rep.grad);
                assert_int_equal(msg_encode(&w.out, &inner[1 + i]), MR_OK);
                w.out.with_metrics = 0;
                continue;
            }
            s_send(&w);
            if (hostile)
                s_send(&w);  // the same update twice: the second is a duplicate
            vec_init(&grad_copy[i], 12);
            vec_copy(&grad_copy[i], rep.grad);
            w.out.type = MSG_METRICS;
            w.out.f = rep.f;
            vec_copy(&w.out.g, &grad_copy[i]);
            s_send(&w);
            vec_fini(&grad_copy[i]);
        }
        if (bundle) {
            //  A PING has no place in a bundle: it costs itself only.
            w.out.type = MSG_PING;
            w.out.seq = 1;
            assert_int_equal(msg_encode(&w.out, &inner[0]), MR_OK);
            msg_t b;
            assert_int_equal(msg_init(&b, 1), MR_OK);
            b.type = MSG_BUNDLE;
            b.batch_data = calloc(N + 1, sizeof *b.batch_data);
            b.batch_size = calloc(N + 1, sizeof *b.batch_size);
            assert_non_null(b.batch_data);
            assert_non_null(b.batch_size);
            b.batch_cap = b.nbatch = N + 1;
            for (size_t j = 0; j <= N; j++) {
                b.batch_data[j] = inner[j].data;
                b.batch_size[j] = inner[j].size;
            }
            assert_true(actor_send(zsock_resolve(w.push), &b, &w.buf, 0) > 0);
            msg_fini(&b);
        }
        for (size_t j = 0; j <= N; j++)
            msg_buf_fini(&inner[j]);
        s_recv(w.stats, &w.in);
        assert_int_equal(w.in.type, MSG_STATS);
        rows[k] = w.in.stats;
        if (bundle)
            assert_true(w.in.stats.rejections &&
                        strstr(w.in.stats.rejections, "a ping inside a bundle"));
        if (w.in.stats.rejections && strstr(w.in.stats.rejections, "a STOP message"))
            s_stop_rejections++;
        rows[k].rejections = NULL;
        rows[k].workers = NULL;
        rows[k].nworkers = 0;
    }
    s_recv(w.stats, &w.in);
    assert_int_equal(w.in.type, MSG_STOP);
    snprintf(status, size, "%s", w.in.status);
    //  As the recorder: every row is committed, the end too (else the server waits 2 s for it).
    w.out.type = MSG_ACK;
    w.out.round = ROUNDS;
    w.out.done = 1;
    assert_true(actor_send(zsock_resolve(w.stats), &w.out, &w.buf, 0) > 0);
    assert_true(patches > 0);  // compressed rounds change at most N K < d / 1.5 coordinates
    vec_fini(&g);
    if (hostile) {
        // The second reader got no row, no RUN, no STOP.
        zmq_pollitem_t item = {zsock_resolve(w.rogue), 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, 200), 0);
        zsock_destroy(&w.rogue);
    }
    for (uint32_t i = 0; i < N; i++)
        p.method->worker_destroy(&honest[i]);
    vec_fini(&x0);
    msg_fini(&w.in);
    msg_fini(&w.out);
    msg_buf_fini(&w.buf);
    zsock_destroy(&w.sub);
    zsock_destroy(&w.push);
    zsock_destroy(&w.stats);
    zactor_destroy(&server);
    s_problem_fini(&p);
}

static void
test_bad_messages_cost_only_themselves(void **state)
{
    (void) state;
    static round_stats_t clean[ROUNDS + 1], hostile[ROUNDS + 1];
    char status[32];
    s_run("marina", 0, clean, status, sizeof status);
    assert_string_equal(status, "completed");
    s_stop_rejections = 0;
    s_run("marina", 1, hostile, status, sizeof status);
    assert_string_equal(status, "completed");
    // Each round's forged STOP was recorded as a rejection, and ended nothing.
    assert_int_equal(s_stop_rejections, ROUNDS + 1);
    size_t full = 0;
    for (size_t k = 0; k <= ROUNDS; k++) {
        // The same iterates (f, grad), coins and accounting: the bad frames changed nothing.
        assert_int_equal(clean[k].coin, hostile[k].coin);
        assert_true(clean[k].f == hostile[k].f);
        assert_true(clean[k].grad_norm_sq == hostile[k].grad_norm_sq);
        assert_int_equal(clean[k].bits_paper_up, hostile[k].bits_paper_up);
        assert_int_equal(clean[k].nnz_up, hostile[k].nnz_up);
        assert_int_equal(hostile[k].participants, N);
        full += (size_t) clean[k].coin;
    }
    assert_true(full >= 1 && full < ROUNDS + 1);  // both kinds of rounds were exercised
}

//  The same answers as one BUNDLE a round, each UPDATE carrying its metrics: the same rows, to
//  the byte (the bit and byte columns count each UPDATE alone), and a message that has no place
//  in a bundle costs only itself.
static void
test_bundled_answers_give_the_same_rows(void **state)
{
    (void) state;
    static round_stats_t clean[ROUNDS + 1], bundled[ROUNDS + 1];
    char status[32];
    s_run("marina", 0, clean, status, sizeof status);
    assert_string_equal(status, "completed");
    s_run("marina", 2, bundled, status, sizeof status);
    assert_string_equal(status, "completed");
    for (size_t k = 0; k <= ROUNDS; k++) {
        assert_int_equal(clean[k].coin, bundled[k].coin);
        assert_true(clean[k].f == bundled[k].f);
        assert_true(clean[k].grad_norm_sq == bundled[k].grad_norm_sq);
        assert_int_equal(clean[k].bits_paper_up, bundled[k].bits_paper_up);
        assert_int_equal(clean[k].bits_model_up, bundled[k].bits_model_up);
        assert_int_equal(clean[k].bytes_wire_up, bundled[k].bytes_wire_up);
        assert_int_equal(clean[k].accepted, bundled[k].accepted);
        assert_int_equal(clean[k].rejected + 1, bundled[k].rejected);
    }
}

//  With on_worker_loss = continue, a HELLO from the process a seat joined with (a new process
//  that joined before round 0 repeats its HELLO until it answers) is no missed JOIN, in round 0
//  or any other: no JOIN goes out, and the rows are those of a run without it.
static void
test_a_repeated_hello_of_a_worker_in_the_run_changes_nothing(void **state)
{
    (void) state;
    static round_stats_t clean[ROUNDS + 1], rehello[ROUNDS + 1];
    char status[32];
    s_run("marina", 0, clean, status, sizeof status);
    assert_string_equal(status, "completed");
    s_joins = 0;
    s_run("marina", 3, rehello, status, sizeof status);
    assert_string_equal(status, "completed");
    assert_int_equal(s_joins, 0);
    for (size_t k = 0; k <= ROUNDS; k++) {
        assert_int_equal(clean[k].coin, rehello[k].coin);
        assert_true(clean[k].f == rehello[k].f);
        assert_true(clean[k].grad_norm_sq == rehello[k].grad_norm_sq);
        assert_int_equal(clean[k].bytes_wire_down, rehello[k].bytes_wire_down);
        assert_int_equal(clean[k].accepted, rehello[k].accepted);
        assert_int_equal(clean[k].rejected, rehello[k].rejected);
    }
}

//  A HELLO refused during the rounds (another configuration) puts a REFUSE on the broadcast; a
//  RESYNC after it gets the round again, not that REFUSE (the refusal used to leave it in the
//  message the server publishes again), and the run completes with every row.
static void
test_a_refusal_during_the_rounds_leaves_the_round_to_publish(void **state)
{
    (void) state;
    static round_stats_t rows[ROUNDS + 1];
    char status[32];
    s_run("marina", 5, rows, status, sizeof status);
    assert_string_equal(status, "completed");
    assert_int_equal(rows[2].participants, N);
    assert_int_equal(rows[ROUNDS].participants, N);
}

//  A killed worker's new process whose HELLO overtakes the LOST of the old one is held, not
//  ignored: it joins at the first round after the loss, with its own pid.
static void
test_a_hello_before_the_loss_joins_after_it(void **state)
{
    (void) state;
    static round_stats_t rows[ROUNDS + 1];
    char status[32];
    s_joins = 0;
    s_join_pid = 0;
    s_join_round = 0;
    s_run("marina", 4, rows, status, sizeof status);
    assert_string_equal(status, "completed");
    assert_int_equal(s_joins, 1);
    assert_int_equal(s_join_pid, 2);
    assert_int_equal(s_join_round, 3);
    assert_int_equal(rows[1].participants, N);
    assert_int_equal(rows[2].participants, N - 1);
    assert_int_equal(rows[3].participants, N);
    assert_int_equal(rows[ROUNDS].participants, N);
}

//  The launcher's STOP comes on the host's pipe: the server aborts with its reason, even while it
//  waits for workers that never come.
static void
test_a_stop_on_the_pipe_aborts_with_its_reason(void **state)
{
    (void) state;
    problem_t p;
    s_problem(&p, "marina");
    server_cfg_t sc = {.ep_bcast = "inproc://test-stop-bcast",
                       .ep_up = "inproc://test-stop-up",
                       .ep_stats = "inproc://test-stop-stats",
                       .method = p.method,
                       .mp = p.mp,
                       .rounds = ROUNDS,
                       .seed = 9,
                       .timeout_s = 120};
    sc.run.f_star = NAN;
    zactor_t *server = zactor_new(server_actor, &sc);
    char *ready = zstr_recv(server);
    assert_string_equal(ready, "READY");
    zstr_free(&ready);
    zsock_flush(server);
    zstr_sendx(server, "STOP", "the worker 1 (pid 42) was killed by signal 9", NULL);
    char *done = NULL, *status = NULL, *reason = NULL;
    assert_int_equal(zstr_recvx(server, &done, &status, &reason, NULL), 3);
    assert_string_equal(done, "DONE");
    assert_string_equal(status, "aborted");
    assert_string_equal(reason, "the worker 1 (pid 42) was killed by signal 9");
    zstr_free(&done);
    zstr_free(&status);
    zstr_free(&reason);
    zactor_destroy(&server);
    s_problem_fini(&p);
}

int
main(void)
{
    zsys_set_logstream(stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_messages_cost_only_themselves),
        cmocka_unit_test(test_bundled_answers_give_the_same_rows),
        cmocka_unit_test(test_a_repeated_hello_of_a_worker_in_the_run_changes_nothing),
        cmocka_unit_test(test_a_hello_before_the_loss_joins_after_it),
        cmocka_unit_test(test_a_refusal_during_the_rounds_leaves_the_round_to_publish),
        cmocka_unit_test(test_a_stop_on_the_pipe_aborts_with_its_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
