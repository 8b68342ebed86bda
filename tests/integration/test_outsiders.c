//  test_outsiders.c - outsiders against real runs (docs/threat-model.md, issue 14): the actors
//  started by hand over tcp, as across machines, and a rogue ZeroMQ socket in this process.
//  With security=curve a rogue with a key that is not on the allow-list, or with no key at all,
//  can neither receive a broadcast, nor have an update counted, nor read the stats, nor stop
//  the run. With security=none a rogue reader on the stats endpoint gets no row and a forged
//  STOP ends nothing. Every test asserts on the run's database (every round recorded, the run
//  completed) and on what the rogue got; none depends on timing beyond generous deadlines.
#include <czmq.h>
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "integration/proc_util.h"
#include "msg.h"
#include "test_util.h"

#define ROUNDS 300
#define DIM    40  // synth_d's default: the run's dimension

typedef struct {
    char dir[64];
    char config[128];
    char keys[128];
    char db[128];
    char out[128];  // the server's output
    char keys_arg[160];
    char ep[3][256];  // the server's bound endpoints: bcast, up, stats
    pid_t server, recorder, worker[2];
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-security-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->config, sizeof f->config, "%s/exp.ini", f->dir);
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->db, sizeof f->db, "%s/run.db", f->dir);
    snprintf(f->out, sizeof f->out, "%s/server.out", f->dir);
    snprintf(f->keys_arg, sizeof f->keys_arg, "keys_dir=%s", f->keys);
    FILE *c = fopen(f->config, "w");
    fprintf(c, "n = 2\nrounds = %d\nseed = 11\nk = 4\nprogress_s = 0\ntimeout_s = 60\n", ROUNDS);
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

//  1 while pid runs (a process that ended stays unreaped, for pu_wait).
static int
s_alive(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

//  Makes the run's keys with `marina keys` (the rogue's keys are never among them).
static void
s_make_keys(fixture_t *f)
{
    char *argv[] = {MARINA_BIN, "keys", f->keys, NULL};
    assert_int_equal(pu_run(argv, NULL, 30), 0);
}

//  1 if the server's output holds text (waits up to 60 s for it).
static int
s_server_says(const fixture_t *f, const char *text)
{
    double deadline = pu_now() + 60;
    while (pu_now() < deadline) {
        char *log = pu_slurp(f->out);
        int found = strstr(log, text) != NULL;
        free(log);
        if (found)
            return 1;
        pu_sleep_ms(20);
    }
    return 0;
}

//  Starts the server (curve: security=curve with the fixture's keys) and reads its endpoints.
static void
s_start_server(fixture_t *f, int curve)
{
    char *argv[] = {MARINA_BIN,
                    "server",
                    "--config",
                    f->config,
                    curve ? "security=curve" : "security=none",
                    curve ? f->keys_arg : "keys_dir=",
                    "--bind",
                    "tcp://127.0.0.1:*",
                    "tcp://127.0.0.1:*",
                    "tcp://127.0.0.1:*",
                    NULL};
    f->server = pu_spawn(argv, f->out);
    assert_true(f->server > 0);
    double deadline = pu_now() + 60;
    int got = 0;
    while (got != 3 && pu_now() < deadline) {
        char *text = pu_slurp(f->out);
        got = sscanf(text, "%255s %255s %255s", f->ep[0], f->ep[1], f->ep[2]);
        if (got == 3 && strncmp(f->ep[2], "tcp://", 6) != 0)
            got = 0;
        free(text);
        if (got != 3)
            pu_sleep_ms(20);
    }
    assert_int_equal(got, 3);
}

static void
s_start_recorder(fixture_t *f, int curve)
{
    char *argv[] = {MARINA_BIN,
                    "recorder",
                    "--connect",
                    f->ep[2],
                    f->ep[1],
                    "--db",
                    f->db,
                    curve ? "security=curve" : "security=none",
                    curve ? f->keys_arg : "keys_dir=",
                    NULL};
    f->recorder = pu_spawn(argv, NULL);
    assert_true(f->recorder > 0);
}

static void
s_start_workers(fixture_t *f, int curve)
{
    for (int i = 0; i < 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        char *argv[] = {MARINA_BIN,
                        "worker",
                        "--config",
                        f->config,
                        curve ? "security=curve" : "security=none",
                        curve ? f->keys_arg : "keys_dir=",
                        "--id",
                        id,
                        "--connect",
                        f->ep[0],
                        f->ep[1],
                        NULL};
        f->worker[i] = pu_spawn(argv, NULL);
        assert_true(f->worker[i] > 0);
    }
}

//  Waits for every actor: each must exit 0 (the run completed).
static void
s_wait_all(fixture_t *f)
{
    assert_int_equal(pu_wait(f->server, 120), 0);
    assert_int_equal(pu_wait(f->worker[0], 60), 0);
    assert_int_equal(pu_wait(f->worker[1], 60), 0);
    assert_int_equal(pu_wait(f->recorder, 60), 0);
}

//  The run in the database is complete: status completed, no error, every round exactly once.
static void
s_assert_run_complete(const fixture_t *f)
{
    char *status = pu_query_text(f->db, "SELECT status FROM runs");
    assert_non_null(status);
    assert_string_equal(status, "completed");
    free(status);
    assert_near(pu_query(f->db, "SELECT count(*) FROM runs"), 1, 0);
    assert_near(pu_query(f->db, "SELECT count(*) FROM runs WHERE error IS NULL OR error = ''"), 1,
                0);
    assert_near(pu_query(f->db, "SELECT count(*) FROM rounds"), ROUNDS + 1, 0);
    assert_near(pu_query(f->db, "SELECT count(DISTINCT round) FROM rounds"), ROUNDS + 1, 0);
    assert_near(pu_query(f->db, "SELECT min(round) FROM rounds"), 0, 0);
    assert_near(pu_query(f->db, "SELECT max(round) FROM rounds"), ROUNDS, 0);
}

//  A rogue socket of type connected to endpoint: with cert, a CURVE client with a fresh key
//  (never on the allow-list) that knows the server's public key; without, a plain socket. It
//  connects once (a refused handshake is final for it).
static zsock_t *
s_rogue(const fixture_t *f, int type, const char *endpoint, zcert_t *cert)
{
    zsock_t *sock = zsock_new(type);
    assert_non_null(sock);
    zsock_set_linger(sock, 0);
    // Never reconnect: once this run's server is gone, another program on this machine may bind
    // the same loopback port, and what it sends is not this run's.
    zsock_set_reconnect_ivl(sock, -1);
    if (type == ZMQ_SUB)
        zsock_set_subscribe(sock, "");
    if (cert) {
        char path[200];
        snprintf(path, sizeof path, "%s/server.cert", f->keys);
        zcert_t *server = zcert_load(path);
        assert_non_null(server);
        zcert_apply(cert, sock);
        zsock_set_curve_serverkey(sock, zcert_public_txt(server));
        zcert_destroy(&server);
    }
    assert_int_equal(zsock_connect(sock, "%s", endpoint), 0);
    return sock;
}

//  How many frames wait on sock (each taken), polling for up to wait_ms.
static int
s_drain(zsock_t *sock, int wait_ms)
{
    int got = 0;
    zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&item, 1, wait_ms) > 0) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, zsock_resolve(sock), ZMQ_DONTWAIT) >= 0)
            got++;
        zmq_msg_close(&frame);
    }
    return got;
}

//  Waits for the server to end while it takes what reaches each of the count rogues (a socket
//  whose connection ends may drop what it queued, so they are read all along); got[i] is the
//  number of frames rogue i received. Then collects every actor, as s_wait_all().
static void
s_wait_all_watching(fixture_t *f, zsock_t *const *rogues, int count, int *got)
{
    for (int i = 0; i < count; i++)
        got[i] = 0;
    double deadline = pu_now() + 120;
    while (s_alive(f->server) && pu_now() < deadline)
        for (int i = 0; i < count; i++)
            got[i] += s_drain(rogues[i], 20 / count);
    for (int i = 0; i < count; i++)
        got[i] += s_drain(rogues[i], 100);
    s_wait_all(f);
}

//  Sends m on each rogue without blocking (a connection that never passed the handshake queues
//  until its high-water mark, then refuses more).
static void
s_send_all(zsock_t *const *rogues, int count, const msg_t *m, msg_buf_t *buf)
{
    assert_int_equal(msg_encode(m, buf), MR_OK);
    for (int i = 0; i < count; i++)
        zmq_send(zsock_resolve(rogues[i]), buf->data, buf->size, ZMQ_DONTWAIT);
}

//  Freezes worker 1 once the rounds have started, so that the server is provably inside a round
//  while the rogue acts (act), then lets it go on.
static void
s_during_a_round(fixture_t *f, void (*act)(fixture_t *, void *), void *arg)
{
    assert_true(s_server_says(f, "workers joined; starting"));
    assert_int_equal(kill(f->worker[1], SIGSTOP), 0);
    act(f, arg);
    assert_int_equal(kill(f->worker[1], SIGCONT), 0);
}

typedef struct {
    zsock_t *rogues[2];
    int count;
} s_stoppers_t;

//  Sends forged STOPs from each rogue: twenty, 20 ms apart.
static void
s_send_stops(fixture_t *f, void *arg)
{
    (void) f;
    s_stoppers_t *s = arg;
    msg_t m;
    msg_buf_t buf = {0};
    assert_int_equal(msg_init(&m, 1), MR_OK);
    m.type = MSG_STOP;
    m.status = "aborted";
    m.reason = "forged by an outsider";
    for (int i = 0; i < 20; i++) {
        s_send_all(s->rogues, s->count, &m, &buf);
        pu_sleep_ms(20);
    }
    m.status = m.reason = NULL;
    msg_fini(&m);
    msg_buf_fini(&buf);
}

//  security=curve: a SUB with an unlisted key and one with no key, connected before the workers,
//  receive nothing of the whole run (no PING, ROUND or STOP).
static void
test_curve_an_outsider_receives_no_broadcast(void **state)
{
    fixture_t *f = *state;
    s_make_keys(f);
    s_start_server(f, 1);
    zcert_t *cert = zcert_new();
    zsock_t *keyed = s_rogue(f, ZMQ_SUB, f->ep[0], cert);
    zsock_t *plain = s_rogue(f, ZMQ_SUB, f->ep[0], NULL);
    s_start_recorder(f, 1);
    s_start_workers(f, 1);
    zsock_t *watch[2] = {keyed, plain};
    int got[2];
    s_wait_all_watching(f, watch, 2, got);
    s_assert_run_complete(f);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 0);
    zsock_destroy(&keyed);
    zsock_destroy(&plain);
    zcert_destroy(&cert);
}

//  security=curve: updates and metrics for every round under both workers' ids, from an
//  unlisted key and from no key, sent all through the run, are never counted: not one
//  rejection is recorded (they never reached the server), and the rows are those of a clean run.
static void
test_curve_an_outsiders_updates_are_not_counted(void **state)
{
    fixture_t *f = *state;
    s_make_keys(f);
    s_start_server(f, 1);
    zcert_t *cert = zcert_new();
    zsock_t *rogues[2] = {s_rogue(f, ZMQ_PUSH, f->ep[1], cert),
                          s_rogue(f, ZMQ_PUSH, f->ep[1], NULL)};
    s_start_recorder(f, 1);
    s_start_workers(f, 1);
    msg_t m;
    msg_buf_t buf = {0};
    assert_int_equal(msg_init(&m, DIM), MR_OK);
    int sent = 0;
    while (s_alive(f->server) && sent < 400000) {
        for (uint64_t k = 0; k <= ROUNDS; k += 7) {
            for (uint32_t i = 0; i < 2; i++) {
                m.type = MSG_UPDATE;
                m.round = k;
                m.sender = i;
                m.oracle_calls = 1;
                m.up.kind = CVEC_DENSE;
                m.up.nnz = m.up.dim;
                for (size_t j = 0; j < DIM; j++)
                    m.up.val[j] = 1e3;  // would throw the iterate far off
                s_send_all(rogues, 2, &m, &buf);
                m.type = MSG_METRICS;
                m.f = 1e6;
                s_send_all(rogues, 2, &m, &buf);
                sent += 4;
            }
        }
        pu_sleep_ms(5);
    }
    msg_fini(&m);
    msg_buf_fini(&buf);
    // The server ended (or the loop did): collect every actor.
    s_wait_all(f);
    s_assert_run_complete(f);
    assert_true(sent > 0);
    assert_near(
        pu_query(f->db, "SELECT count(*) FROM rejections WHERE reason NOT LIKE '%discarded'"), 0,
        0);
    assert_near(pu_query(f->db, "SELECT sum(rejected) FROM rounds"),
                pu_query(f->db, "SELECT count(*) FROM rejections"), 0);

    // The same experiment without any rogue records the same rows, to the last bit.
    char clean[160], dbarg[200];
    snprintf(clean, sizeof clean, "%s/clean.db", f->dir);
    snprintf(dbarg, sizeof dbarg, "db=%s", clean);
    char *run_argv[] = {MARINA_BIN, "run", f->config, dbarg, NULL};
    assert_int_equal(pu_run(run_argv, NULL, 120), 0);
    sqlite3 *handle = NULL;
    assert_int_equal(sqlite3_open(f->db, &handle), SQLITE_OK);
    char attach[300];
    snprintf(attach, sizeof attach, "ATTACH '%s' AS clean", clean);
    assert_int_equal(sqlite3_exec(handle, attach, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT count(*) FROM (SELECT round, c_k, f, grad_norm_sq, bits_paper_up, "
                      "nnz_up, oracle_calls FROM rounds EXCEPT SELECT round, c_k, f, grad_norm_sq, "
                      "bits_paper_up, nnz_up, oracle_calls FROM clean.rounds)";
    assert_int_equal(sqlite3_prepare_v2(handle, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(handle);
    assert_near(pu_query(clean, "SELECT count(*) FROM rounds"), ROUNDS + 1, 0);
    for (int i = 0; i < 2; i++)
        zsock_destroy(&rogues[i]);
    zcert_destroy(&cert);
}

//  security=curve: readers of the stats endpoint connected before the recorder, one with an
//  unlisted key saying the recorder's HELLO first, one with no key saying it too, and a plain
//  PULL, get no row; the real recorder records every round.
static void
test_curve_an_outsider_reads_no_stats(void **state)
{
    fixture_t *f = *state;
    s_make_keys(f);
    s_start_server(f, 1);
    zcert_t *cert = zcert_new();
    zsock_t *keyed = s_rogue(f, ZMQ_DEALER, f->ep[2], cert);
    zsock_t *plain = s_rogue(f, ZMQ_DEALER, f->ep[2], NULL);
    zsock_t *pull = s_rogue(f, ZMQ_PULL, f->ep[2], NULL);
    msg_t m;
    msg_buf_t buf = {0};
    assert_int_equal(msg_init(&m, 1), MR_OK);
    m.type = MSG_HELLO;
    m.role = MSG_ROLE_RECORDER;
    m.pid = (uint32_t) getpid();
    zsock_t *hellos[2] = {keyed, plain};
    s_send_all(hellos, 2, &m, &buf);
    pu_sleep_ms(300);  // give the rogues every chance to be first
    s_start_recorder(f, 1);
    s_start_workers(f, 1);
    zsock_t *watch[3] = {keyed, plain, pull};
    int got[3];
    s_wait_all_watching(f, watch, 3, got);
    s_assert_run_complete(f);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 0);
    assert_int_equal(got[2], 0);
    msg_fini(&m);
    msg_buf_fini(&buf);
    zsock_destroy(&keyed);
    zsock_destroy(&plain);
    zsock_destroy(&pull);
    zcert_destroy(&cert);
}

//  security=curve: forged STOPs from an unlisted key and from no key, sent while the server is
//  inside a round, end nothing, and never even reach it (no rejection names them).
static void
test_curve_an_outsider_cannot_stop_the_run(void **state)
{
    fixture_t *f = *state;
    s_make_keys(f);
    s_start_server(f, 1);
    zcert_t *cert = zcert_new();
    s_stoppers_t s = {{s_rogue(f, ZMQ_PUSH, f->ep[1], cert), s_rogue(f, ZMQ_PUSH, f->ep[1], NULL)},
                      2};
    s_start_recorder(f, 1);
    s_start_workers(f, 1);
    s_during_a_round(f, s_send_stops, &s);
    s_wait_all(f);
    s_assert_run_complete(f);
    assert_near(
        pu_query(f->db, "SELECT count(*) FROM rejections WHERE reason NOT LIKE '%discarded'"), 0,
        0);
    for (int i = 0; i < 2; i++)
        zsock_destroy(&s.rogues[i]);
    zcert_destroy(&cert);
}

//  security=none: a PULL on the stats endpoint, connected before the recorder, and a DEALER that
//  says the recorder's HELLO once the real one has joined, get no row; the recorder gets every
//  round. (Before issue 14 a PULL took a share of the rows.)
static void
test_plain_a_second_stats_reader_gets_nothing(void **state)
{
    fixture_t *f = *state;
    s_start_server(f, 0);
    zsock_t *pull = s_rogue(f, ZMQ_PULL, f->ep[2], NULL);
    s_start_recorder(f, 0);
    s_start_workers(f, 0);
    assert_true(s_server_says(f, "workers joined; starting"));  // the recorder said HELLO
    zsock_t *dealer = s_rogue(f, ZMQ_DEALER, f->ep[2], NULL);
    msg_t m;
    msg_buf_t buf = {0};
    assert_int_equal(msg_init(&m, 1), MR_OK);
    m.type = MSG_HELLO;
    m.role = MSG_ROLE_RECORDER;
    m.pid = (uint32_t) getpid();
    zsock_t *hellos[1] = {dealer};
    s_send_all(hellos, 1, &m, &buf);
    zsock_t *watch[2] = {pull, dealer};
    int got[2];
    s_wait_all_watching(f, watch, 2, got);
    s_assert_run_complete(f);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 0);
    msg_fini(&m);
    msg_buf_fini(&buf);
    zsock_destroy(&pull);
    zsock_destroy(&dealer);
}

//  security=none: forged STOPs on the update socket while the server is inside a round are
//  rejected and recorded; the run completes with every round and no error.
static void
test_plain_a_forged_stop_is_rejected_and_recorded(void **state)
{
    fixture_t *f = *state;
    s_start_server(f, 0);
    s_stoppers_t s = {{s_rogue(f, ZMQ_PUSH, f->ep[1], NULL), NULL}, 1};
    s_start_recorder(f, 0);
    s_start_workers(f, 0);
    s_during_a_round(f, s_send_stops, &s);
    s_wait_all(f);
    s_assert_run_complete(f);
    assert_true(pu_query(f->db, "SELECT count(*) FROM rejections WHERE sender IS NULL AND reason "
                                "LIKE 'a STOP message on the update socket%'") >= 1);
    char *log = pu_slurp(f->out);
    assert_non_null(strstr(log, "a STOP message on the update socket: ignored"));
    free(log);
    zsock_destroy(&s.rogues[0]);
}

typedef struct {
    zsock_t *rogue;
    int sent;
} s_forger_t;

//  Sends forged updates and metrics for worker 0 of rounds 0..ROUNDS from the forger's socket.
static void
s_forge_worker0(fixture_t *f, void *arg)
{
    (void) f;
    s_forger_t *fg = arg;
    msg_t m;
    msg_buf_t buf = {0};
    assert_int_equal(msg_init(&m, DIM), MR_OK);
    for (int pass = 0; pass < 5; pass++) {
        for (uint64_t k = 0; k <= ROUNDS; k++) {
            m.type = MSG_UPDATE;
            m.round = k;
            m.sender = 0;
            m.oracle_calls = 1;
            m.up.kind = CVEC_DENSE;
            m.up.nnz = m.up.dim;
            for (size_t j = 0; j < DIM; j++)
                m.up.val[j] = 1e3;
            s_send_all(&fg->rogue, 1, &m, &buf);
            fg->sent++;
        }
        pu_sleep_ms(50);
    }
    msg_fini(&m);
    msg_buf_fini(&buf);
}

//  security=curve with one key per actor: the holder of worker 1's key (an insider) cannot speak
//  for worker 0. Its updates under worker 0's id, sent inside a round, are dropped and recorded
//  as coming from nobody (they do not count towards worker 0's exclusion), and the rows are
//  those of a clean run.
static void
test_curve_a_key_speaks_only_for_its_seat(void **state)
{
    fixture_t *f = *state;
    char *keys[] = {MARINA_BIN, "keys", f->keys, "--actors", "recorder,worker-0,worker-1", NULL};
    assert_int_equal(pu_run(keys, NULL, 30), 0);
    s_start_server(f, 1);
    char path[200];
    snprintf(path, sizeof path, "%s/secret/worker-1.cert_secret", f->keys);
    zcert_t *stolen = zcert_load(path);
    assert_non_null(stolen);
    s_forger_t fg = {s_rogue(f, ZMQ_PUSH, f->ep[1], stolen), 0};
    s_start_recorder(f, 1);
    s_start_workers(f, 1);
    s_during_a_round(f, s_forge_worker0, &fg);
    s_wait_all(f);
    s_assert_run_complete(f);
    assert_true(fg.sent > 0);
    assert_true(pu_query(f->db, "SELECT count(*) FROM rejections WHERE sender IS NULL AND reason "
                                "LIKE '%claiming worker 0 from the key ''worker-1''%'") >= 1);
    assert_near(pu_query(f->db, "SELECT count(*) FROM rejections WHERE sender IS NOT NULL AND "
                                "reason NOT LIKE '%discarded'"),
                0, 0);

    char clean[160], dbarg[200];
    snprintf(clean, sizeof clean, "%s/clean.db", f->dir);
    snprintf(dbarg, sizeof dbarg, "db=%s", clean);
    char *run_argv[] = {MARINA_BIN, "run", f->config, dbarg, NULL};
    assert_int_equal(pu_run(run_argv, NULL, 120), 0);
    sqlite3 *handle = NULL;
    assert_int_equal(sqlite3_open(f->db, &handle), SQLITE_OK);
    char attach[300];
    snprintf(attach, sizeof attach, "ATTACH '%s' AS clean", clean);
    assert_int_equal(sqlite3_exec(handle, attach, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT count(*) FROM (SELECT round, c_k, f, grad_norm_sq, bits_paper_up, "
                      "nnz_up FROM rounds EXCEPT SELECT round, c_k, f, grad_norm_sq, "
                      "bits_paper_up, nnz_up FROM clean.rounds)";
    assert_int_equal(sqlite3_prepare_v2(handle, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(handle);
    zsock_destroy(&fg.rogue);
    zcert_destroy(&stolen);
}

//  marina keys: the server's and each name's certificates, secrets readable by their owner only;
//  a bad name is refused; an actor without its key is refused before it starts, naming the fix.
static void
test_keys_makes_private_secrets_and_actors_need_them(void **state)
{
    fixture_t *f = *state;
    char *argv[] = {MARINA_BIN, "keys", f->keys, "--actors", "recorder,worker,worker-1,attacker",
                    NULL};
    assert_int_equal(pu_run(argv, NULL, 30), 0);
    static const char *const secrets[] = {"server", "recorder", "worker", "worker-1", "attacker"};
    struct stat st;
    char path[256];
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        snprintf(path, sizeof path, "%s/secret/%s.cert_secret", f->keys, secrets[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        if (i > 0) {
            snprintf(path, sizeof path, "%s/public/%s.cert", f->keys, secrets[i]);
            assert_int_equal(stat(path, &st), 0);
        }
    }
    snprintf(path, sizeof path, "%s/public/server.cert", f->keys);
    assert_int_not_equal(stat(path, &st), 0);  // the server's key is not a client's
    snprintf(path, sizeof path, "%s/server.cert", f->keys);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/secret", f->keys);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char *bad[] = {MARINA_BIN, "keys", f->keys, "--actors", "../escape", NULL};
    assert_int_equal(pu_run(bad, NULL, 30), 2);

    // A worker with security=curve and a folder without keys: refused at once (exit 2).
    char empty[160], arg[200], wout[160];
    snprintf(empty, sizeof empty, "%s/nokeys", f->dir);
    snprintf(arg, sizeof arg, "keys_dir=%s", empty);
    snprintf(wout, sizeof wout, "%s/worker.out", f->dir);
    char *w_argv[] = {
        MARINA_BIN, "worker", "--config",  f->config,           "security=curve",    arg,
        "--id",     "0",      "--connect", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", NULL};
    assert_int_equal(pu_run(w_argv, wout, 30), 2);
    char *log = pu_slurp(wout);
    assert_non_null(strstr(log, "marina keys"));
    free(log);
}

//  marina run security=curve on one host: one-off keys in the run's private folder, every
//  round recorded, and the folder (keys included) gone afterwards.
static void
test_a_one_host_curve_run_makes_and_removes_its_keys(void **state)
{
    fixture_t *f = *state;
    char dbarg[200];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *argv[] = {MARINA_BIN, "run", f->config, "security=curve", dbarg, NULL};
    pid_t pid = pu_spawn(argv, f->out);
    assert_true(pid > 0);
    assert_int_equal(pu_wait(pid, 120), 0);
    s_assert_run_complete(f);
    char pattern[64];
    snprintf(pattern, sizeof pattern, "marina-run-%ld-", (long) pid);
    DIR *tmp = opendir("/tmp");
    assert_non_null(tmp);
    int left = 0;
    for (struct dirent *de = readdir(tmp); de; de = readdir(tmp))
        left += strncmp(de->d_name, pattern, strlen(pattern)) == 0;
    closedir(tmp);
    assert_int_equal(left, 0);
}

//  security=none: an endpoint other machines can reach is warned about, loopback is not.
static void
test_plain_tcp_off_loopback_is_warned_about(void **state)
{
    fixture_t *f = *state;
    char *argv[] = {MARINA_BIN,          "server", "--config",        f->config,
                    "timeout_s=0.5",     "--bind", "tcp://0.0.0.0:*", "tcp://127.0.0.1:*",
                    "tcp://127.0.0.1:*", NULL};
    assert_int_equal(pu_run(argv, f->out, 60), 1);  // nobody joined within timeout_s
    char *log = pu_slurp(f->out);
    assert_non_null(
        strstr(log, "security=none and tcp://0.0.0.0:* can be reached from other machines"));
    assert_null(strstr(log, "security=none and tcp://127.0.0.1"));
    free(log);
}

int
main(void)
{
    zsys_init();
    zsys_set_logstream(stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_curve_an_outsider_receives_no_broadcast, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_curve_an_outsiders_updates_are_not_counted, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_curve_an_outsider_reads_no_stats, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_curve_an_outsider_cannot_stop_the_run, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_plain_a_second_stats_reader_gets_nothing, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_plain_a_forged_stop_is_rejected_and_recorded, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_curve_a_key_speaks_only_for_its_seat, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_keys_makes_private_secrets_and_actors_need_them,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_one_host_curve_run_makes_and_removes_its_keys,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plain_tcp_off_loopback_is_warned_about, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
