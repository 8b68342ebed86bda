//  test_byhand.c - the actors started one by one (`marina server|recorder|worker`), as a user
//  does across machines, while a hostile peer floods the server with bad frames: the run must
//  complete and record exactly what a clean run with the same seed records.
#include <czmq.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "integration/proc_util.h"
#include "msg.h"
#include "rng.h"
#include "test_util.h"

typedef struct {
    char dir[64];
    char config[128];
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-byhand-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->config, sizeof f->config, "%s/exp.ini", f->dir);
    FILE *c = fopen(f->config, "w");
    fprintf(c, "; a small experiment\nn = 2\nrounds = 300\nseed = 11\nk = 4\nprogress_s = 0\n"
               "timeout_s = 20\n");
    fclose(c);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

//  Waits (deadline) until the server printed its three endpoints on its stdout file.
static int
s_read_endpoints(const char *path, char ep[3][256])
{
    double deadline = pu_now() + 20;
    while (pu_now() < deadline) {
        char *text = pu_slurp(path);
        int got = sscanf(text, "%255s %255s %255s", ep[0], ep[1], ep[2]);
        free(text);
        if (got == 3 && strncmp(ep[2], "tcp://", 6) == 0)
            return 0;
        pu_sleep_ms(20);
    }
    return -1;
}

//  Sends bad frames of every kind to the server's update endpoint for about a second.
static int
s_flood(const char *ep_up)
{
    zsock_t *push = zsock_new(ZMQ_PUSH);
    assert_non_null(push);
    zsock_set_linger(push, 1000);
    assert_int_equal(zsock_connect(push, "%s", ep_up), 0);
    void *raw = zsock_resolve(push);
    rng_t r;
    rng_seed(&r, 99, 1);
    msg_t m;
    msg_buf_t buf = {0};
    assert_int_equal(msg_init(&m, 40), MR_OK);
    int sent = 0;
    for (int i = 0; i < 400; i++) {
        char junk[64];
        size_t len = 1 + rng_below(&r, sizeof junk);
        for (size_t j = 0; j < len; j++)
            junk[j] = (char) rng_below(&r, 256);
        switch (i % 6) {
            case 0:  // random bytes
                zmq_send(raw, junk, len, 0);
                break;
            case 1: {  // a valid HELLO from a worker that does not exist
                m.type = MSG_HELLO;
                m.role = MSG_ROLE_WORKER;
                m.sender = 99;
                m.pid = 1;
                assert_int_equal(msg_encode(&m, &buf), MR_OK);
                zmq_send(raw, buf.data, buf.size, 0);
                break;
            }
            case 2: {  // metrics with a NaN from a real worker id
                m.type = MSG_METRICS;
                m.round = 1;
                m.sender = 0;
                m.f = NAN;
                assert_int_equal(msg_encode(&m, &buf), MR_OK);
                zmq_send(raw, buf.data, buf.size, 0);
                break;
            }
            case 3: {  // a truncated UPDATE
                m.type = MSG_UPDATE;
                m.round = 2;
                m.sender = 1;
                m.oracle_calls = 1;
                m.up.kind = CVEC_DENSE;
                m.up.nnz = m.up.dim;
                assert_int_equal(msg_encode(&m, &buf), MR_OK);
                zmq_send(raw, buf.data, buf.size / 2, 0);
                break;
            }
            case 4: {  // a well-formed UPDATE for a round far in the future
                m.type = MSG_UPDATE;
                m.round = 1000000;
                m.sender = 1;
                assert_int_equal(msg_encode(&m, &buf), MR_OK);
                zmq_send(raw, buf.data, buf.size, 0);
                break;
            }
            case 5:  // a two-part message
                zmq_send(raw, junk, len, ZMQ_SNDMORE);
                zmq_send(raw, junk, len, 0);
                break;
        }
        sent++;
        pu_sleep_ms(2);
    }
    msg_fini(&m);
    msg_buf_fini(&buf);
    zsock_destroy(&push);
    return sent;
}

static void
test_hand_started_actors_survive_a_flood_of_bad_frames(void **state)
{
    fixture_t *f = *state;
    char out[128], db[128], clean_db[128], dbarg[160];
    snprintf(out, sizeof out, "%s/server.out", f->dir);
    snprintf(db, sizeof db, "%s/byhand.db", f->dir);
    snprintf(clean_db, sizeof clean_db, "%s/clean.db", f->dir);
    char *server_argv[] = {MARINA_BIN,
                           "server",
                           "--config",
                           f->config,
                           "--bind",
                           "tcp://127.0.0.1:*",
                           "tcp://127.0.0.1:*",
                           "tcp://127.0.0.1:*",
                           NULL};
    pid_t server = pu_spawn(server_argv, out);
    assert_true(server > 0);
    char ep[3][256];
    assert_int_equal(s_read_endpoints(out, ep), 0);
    // The flood starts before anyone joined and goes on during the rounds.
    char *rec_argv[] = {MARINA_BIN, "recorder", "--connect", ep[2], ep[1], "--db", db, NULL};
    pid_t recorder = pu_spawn(rec_argv, NULL);
    char *w0_argv[] = {MARINA_BIN, "worker",    "--config", f->config, "--id",
                       "0",        "--connect", ep[0],      ep[1],     NULL};
    char *w1_argv[] = {MARINA_BIN, "worker",    "--config", f->config, "--id",
                       "1",        "--connect", ep[0],      ep[1],     NULL};
    pid_t w0 = pu_spawn(w0_argv, NULL);
    assert_true(s_flood(ep[1]) == 400);
    pid_t w1 = pu_spawn(w1_argv, NULL);
    assert_int_equal(pu_wait(server, 60), 0);
    assert_int_equal(pu_wait(w0, 20), 0);
    assert_int_equal(pu_wait(w1, 20), 0);
    assert_int_equal(pu_wait(recorder, 20), 0);
    char *log = pu_slurp(out);
    assert_non_null(strstr(log, "rejected"));  // the server saw the bad frames and said so
    free(log);
    assert_near(pu_query(db, "SELECT count(*) FROM rounds"), 301, 0);
    char *status = pu_query_text(db, "SELECT status FROM runs");
    assert_string_equal(status, "completed");
    free(status);

    // The same experiment without the flood records the same rows, to the last bit.
    snprintf(dbarg, sizeof dbarg, "db=%s", clean_db);
    char *run_argv[] = {MARINA_BIN, "run", f->config, dbarg, NULL};
    assert_int_equal(pu_run(run_argv, NULL, 60), 0);
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT round, c_k, f, grad_norm_sq, bits_paper_up, nnz_up "
             "FROM rounds EXCEPT SELECT round, c_k, f, grad_norm_sq, bits_paper_up, nnz_up FROM "
             "clean.rounds)");
    sqlite3 *handle = NULL;
    assert_int_equal(sqlite3_open(db, &handle), SQLITE_OK);
    char attach[300];
    snprintf(attach, sizeof attach, "ATTACH '%s' AS clean", clean_db);
    assert_int_equal(sqlite3_exec(handle, attach, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(handle, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(handle);
    assert_near(pu_query(clean_db, "SELECT count(*) FROM rounds"), 301, 0);
}

//  A worker started by hand with other keys (k and seed) is refused at HELLO, naming the keys, and
//  exits non-zero; the run does not go on with it: it waits for a correct worker 1 and, when none
//  comes, fails at timeout_s saying why.
static void
test_a_worker_with_another_configuration_is_refused_naming_the_keys(void **state)
{
    fixture_t *f = *state;
    char out[128], wout[128], db[128];
    snprintf(out, sizeof out, "%s/server.out", f->dir);
    snprintf(wout, sizeof wout, "%s/worker1.out", f->dir);
    snprintf(db, sizeof db, "%s/refused.db", f->dir);
    char *server_argv[] = {MARINA_BIN,          "server", "--config",          f->config,
                           "timeout_s=4",       "--bind", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*",
                           "tcp://127.0.0.1:*", NULL};
    pid_t server = pu_spawn(server_argv, out);
    assert_true(server > 0);
    char ep[3][256];
    assert_int_equal(s_read_endpoints(out, ep), 0);
    char *rec_argv[] = {MARINA_BIN, "recorder", "--connect", ep[2], ep[1], "--db", db, NULL};
    pid_t recorder = pu_spawn(rec_argv, NULL);
    char *w0_argv[] = {MARINA_BIN, "worker",    "--config", f->config, "timeout_s=4", "--id",
                       "0",        "--connect", ep[0],      ep[1],     NULL};
    char *w1_argv[] = {MARINA_BIN, "worker", "--config",  f->config, "k=5", "seed=12",
                       "--id",     "1",      "--connect", ep[0],     ep[1], NULL};
    pid_t w0 = pu_spawn(w0_argv, NULL);
    pid_t w1 = pu_spawn(w1_argv, wout);
    assert_int_equal(pu_wait(w1, 20), 1);  // refused: exits with failure, long before timeout_s
    char *wlog = pu_slurp(wout);
    assert_non_null(strstr(wlog, "refused: its configuration differs: k = 5 (server: 4), "
                                 "seed = 12 (server: 11)"));
    free(wlog);
    assert_int_equal(pu_wait(server, 30), 1);  // no worker 1 joined: the run failed
    pu_wait(w0, 20);
    pu_wait(recorder, 20);  // it got STOP without a RUN: nothing to record, exits 1
    char *log = pu_slurp(out);
    assert_non_null(strstr(log, "worker 1 (pid"));
    assert_non_null(strstr(log, "k = 5 (server: 4)"));
    assert_non_null(strstr(log, "run failed: only 1 of 2 workers joined"));
    assert_non_null(strstr(log, "missing workers: 1); worker 1 (pid"));
    // RUN goes to the recorder once every worker has said HELLO: no run was recorded at all.
    assert_near(pu_query(db, "SELECT count(*) FROM runs"), 0, 0);
    assert_near(pu_query(db, "SELECT count(*) FROM rounds"), 0, 0);
    free(log);
}

//  A hand-started server told to bind a fixed port that another program holds is refused
//  before it starts: exit 2 at once, naming the endpoint (it used to start, then fail with 1).
static void
test_a_server_on_a_port_in_use_exits_2_naming_it(void **state)
{
    fixture_t *f = *state;
    zsock_t *holder = zsock_new(ZMQ_PULL);
    assert_non_null(holder);
    int port = zsock_bind(holder, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char out[128], busy[64];
    snprintf(out, sizeof out, "%s/server.txt", f->dir);
    snprintf(busy, sizeof busy, "tcp://127.0.0.1:%d", port);
    char *argv[] = {MARINA_BIN, "server", "--config",          f->config,
                    "--bind",   busy,     "tcp://127.0.0.1:*", "tcp://127.0.0.1:*",
                    NULL};
    double t0 = pu_now();
    assert_int_equal(pu_run(argv, out, 30), 2);
    assert_true(pu_now() - t0 < 10);  // refused, not started and timed out
    char *text = pu_slurp(out);
    assert_non_null(text);
    assert_non_null(strstr(text, busy));
    assert_non_null(strstr(text, "is in use"));
    free(text);
    zsock_destroy(&holder);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hand_started_actors_survive_a_flood_of_bad_frames,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_worker_with_another_configuration_is_refused_naming_the_keys, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_a_server_on_a_port_in_use_exits_2_naming_it, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
