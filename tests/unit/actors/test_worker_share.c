//  test_worker_share.c - the failures of worker hosts that share their seats (worker.h,
//  seat_share.h), driven by a scripted server over inproc://: a host refuses seats it cannot
//  share (an id outside the share, injected faults, rejoin) before it says anything; a host
//  that claims a seat no host holds fails the run with that seat's id instead of skipping it;
//  and a host that waits on another that stopped in the middle of a round (a seat's answer to
//  the round before never sent, seats of the round before never claimed) fails after its
//  timeout, saying which.
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "actor.h"
#include "data.h"
#include "loss.h"
#include "method.h"
#include "msg.h"
#include "seat_share.h"
#include "worker.h"

#define D 12

typedef struct {
    csr_t data;
    loss_t loss;
    zsock_t *pub, *pull;
    worker_cfg_t wc;
    msg_t out;
    msg_buf_t buf;
    char ep[2][64];
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(data_synthetic(100, D, 0.4, 1, 5, &f->data, NULL), MR_OK);
    assert_int_equal(loss_init(&f->loss, LOSS_NONCONVEX, 0.0, &f->data, NULL), MR_OK);
    static int instance = 0;
    instance++;
    snprintf(f->ep[0], sizeof f->ep[0], "inproc://test-share-bcast-%d", instance);
    snprintf(f->ep[1], sizeof f->ep[1], "inproc://test-share-up-%d", instance);
    f->pub = zsock_new(ZMQ_PUB);
    f->pull = zsock_new(ZMQ_PULL);
    assert_true(zsock_bind(f->pub, "%s", f->ep[0]) == 0);
    assert_true(zsock_bind(f->pull, "%s", f->ep[1]) == 0);
    assert_int_equal(msg_init(&f->out, D), MR_OK);
    f->wc = (worker_cfg_t){.ep_bcast = f->ep[0],
                           .ep_up = f->ep[1],
                           .id = 0,
                           .method = method_find("marina"),
                           .mp = {.n = 2,
                                  .dim = D,
                                  .m = 100,
                                  .gamma = 0.5,
                                  .p = 0.3,
                                  .comp = {.kind = COMP_RANDK, .k = 3},
                                  .seed = 9},
                           .loss = &f->loss,
                           .seed = 9,
                           .timeout_s = 20};
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    msg_fini(&f->out);
    msg_buf_fini(&f->buf);
    zsock_destroy(&f->pub);
    zsock_destroy(&f->pull);
    csr_fini(&f->data);
    free(f);
    return 0;
}

//  The host's DONE on its pipe: its status and reason (freed by the caller).
static void
s_done(zactor_t *host, char **status, char **reason)
{
    zsock_set_rcvtimeo(host, 20000);
    char *cmd = NULL;
    for (int i = 0; i < 10; i++) {  // READY may come first
        zstr_free(&cmd);
        *status = *reason = NULL;
        assert_int_equal(zstr_recvx(host, &cmd, status, reason, NULL) >= 1, 1);
        if (strcmp(cmd, "DONE") == 0)
            break;
        zstr_free(status);
        zstr_free(reason);
    }
    assert_string_equal(cmd, "DONE");
    zstr_free(&cmd);
    assert_non_null(*status);
    assert_non_null(*reason);
}

//  A host of the one seat cfg in a share of two: it fails at once, with text in its reason.
static void
s_expect_refused(fixture_t *f, const worker_cfg_t *cfg, const char *text)
{
    seat_share_t *share = seat_share_new(2);
    assert_non_null(share);
    worker_host_cfg_t hc = {.seats = cfg, .nseats = 1, .share = share};
    zactor_t *host = zactor_new(worker_host_actor, &hc);
    assert_non_null(host);
    char *status, *reason;
    s_done(host, &status, &reason);
    assert_string_equal(status, "failed");
    if (!strstr(reason, text))
        fail_msg("reason '%s' does not say '%s'", reason, text);
    zstr_free(&status);
    zstr_free(&reason);
    zactor_destroy(&host);
    seat_share_destroy(&share);
    (void) f;
}

static void
test_a_shared_host_refuses_seats_it_cannot_share(void **state)
{
    fixture_t *f = *state;
    const char *why = "a shared host's seats are honest workers with ids below 2";
    worker_cfg_t c = f->wc;
    c.id = 2;  // outside the share of 2
    s_expect_refused(f, &c, "worker 2: ");
    s_expect_refused(f, &c, why);
    worker_fault_t fault = {.loss = 0.1};
    c = f->wc;
    c.fault = &fault;
    s_expect_refused(f, &c, why);
    c = f->wc;
    c.rejoin = 1;
    s_expect_refused(f, &c, why);
}

static void
s_publish(fixture_t *f)
{
    assert_true(actor_send(zsock_resolve(f->pub), &f->out, &f->buf, 0) > 0);
}

//  The next frame on the PULL socket (10 s at most) into a fresh zchunk (NULL on timeout).
static zchunk_t *
s_recv_chunk(fixture_t *f)
{
    zsock_set_rcvtimeo(f->pull, 10000);
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    zchunk_t *c = NULL;
    if (zmq_msg_recv(&frame, zsock_resolve(f->pull), 0) >= 0)
        c = zchunk_new(zmq_msg_data(&frame), zmq_msg_size(&frame));
    zmq_msg_close(&frame);
    return c;
}

//  The host's nseats HELLOs (the first frames it sends), then PINGs until each seat said READY.
static void
s_handshake(fixture_t *f, int nseats)
{
    msg_t in;
    assert_int_equal(msg_init(&in, D), MR_OK);
    for (int i = 0; i < nseats; i++) {
        zchunk_t *c = s_recv_chunk(f);
        assert_non_null(c);
        assert_int_equal(msg_decode(&in, zchunk_data(c), zchunk_size(c), NULL), MR_OK);
        assert_int_equal(in.type, MSG_HELLO);
        zchunk_destroy(&c);
    }
    msg_fini(&in);
    zsock_set_rcvtimeo(f->pull, 50);
    int ready = 0;
    for (int i = 0; i < 400 && ready < nseats; i++) {
        f->out.type = MSG_PING;
        f->out.seq = 0;
        s_publish(f);
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        while (zmq_msg_recv(&frame, zsock_resolve(f->pull), 0) >= 0)
            ready++;
        zmq_msg_close(&frame);
    }
    assert_int_equal(ready, nseats);
}

//  o as ROUND k (seq k + 1) with a dense g = 0 and every worker taking part.
static void
s_round_msg(msg_t *o, uint64_t k)
{
    o->type = MSG_ROUND;
    o->seq = k + 1;
    o->round = k;
    o->coin = 1;
    o->metrics = 1;
    o->has_g = 1;
    o->g_patch = 0;
    assert_int_equal(msg_set_part(o, NULL, 0), MR_OK);
    vec_zero(&o->g);
    o->g_digest = msg_g_digest(&o->g);
}

//  Publishes ROUND k (s_round_msg()).
static void
s_publish_round(fixture_t *f, uint64_t k)
{
    s_round_msg(&f->out, k);
    s_publish(f);
}

//  A host of seat cfg (f->wc, or as changed) in share, sent ROUND k after the handshake, fails
//  with exactly `expected` as its reason.
static void
s_expect_round_fails(
    fixture_t *f, const worker_cfg_t *cfg, seat_share_t *share, uint64_t k, const char *expected)
{
    worker_host_cfg_t hc = {.seats = cfg, .nseats = 1, .share = share};
    zactor_t *host = zactor_new(worker_host_actor, &hc);
    assert_non_null(host);
    s_handshake(f, 1);
    s_publish_round(f, k);
    char *status, *reason;
    s_done(host, &status, &reason);
    assert_string_equal(status, "failed");
    assert_string_equal(reason, expected);
    zstr_free(&status);
    zstr_free(&reason);
    zactor_destroy(&host);
}

static void
test_a_seat_no_host_holds_fails_the_host_naming_it(void **state)
{
    fixture_t *f = *state;
    seat_share_t *share = seat_share_new(2);  // seats 0 and 1; only seat 0 has a host
    assert_non_null(share);
    //  Round 0: the host steps seat 0, then claims seat 1, which no host holds.
    s_expect_round_fails(f, &f->wc, share, 0, "worker 1: no host has its seat");
    seat_share_destroy(&share);
}

//  A seat whose answer to the round before never went (here: round 1 comes first, as it would
//  to a host whose peer stepped the seat in round 0 and stopped before sending it): the host
//  waits for it until its timeout, then fails naming the seat and both rounds, instead of
//  stepping the seat from the wrong iterate.
static void
test_a_seat_whose_last_answer_never_went_fails_the_host(void **state)
{
    fixture_t *f = *state;
    seat_share_t *share = seat_share_new(1);
    assert_non_null(share);
    worker_cfg_t c = f->wc;
    c.timeout_s = 1;
    double t0 = zclock_usecs() / 1e6;
    s_expect_round_fails(f, &c, share, 1,
                         "worker 0: round 1: its answer to round 0 was never sent");
    assert_true(zclock_usecs() / 1e6 - t0 >= 1.0);  // it waited its timeout first
    seat_share_destroy(&share);
}

//  A round whose predecessor still has unclaimed seats (a host claimed some of round 0 and
//  stopped before the rest: here the test's own claim of seat 1 starts round 0 and leaves seat 0
//  unclaimed): a host sent round 1 waits for them until its timeout, then fails saying so.
static void
test_a_round_before_never_all_claimed_fails_the_host(void **state)
{
    fixture_t *f = *state;
    seat_share_t *share = seat_share_new(2);
    assert_non_null(share);
    size_t first = 9, count = 9;
    assert_int_equal(seat_share_claim(share, 0, 1, 1, &first, &count), SHARE_TAKEN);
    assert_int_equal(first, 1);
    assert_int_equal(count, 1);
    seat_share_done(share);  // (a host's close waits for claims in flight)
    worker_cfg_t c = f->wc;
    c.timeout_s = 1;
    s_expect_round_fails(f, &c, share, 1,
                         "worker 0: round 1: the seats of the round before were never all taken");
    seat_share_destroy(&share);
}

//  A host of two seats gathers their answers in one BUNDLE. A round published again (a RESYNC)
//  makes it send that answer again, encoded anew from what the seats kept: the same bytes, so
//  the server can tell the copy from a second, different update (and discards it).
static void
test_a_round_published_again_gets_the_same_bytes_again(void **state)
{
    fixture_t *f = *state;
    worker_cfg_t cfgs[2] = {f->wc, f->wc};
    cfgs[1].id = 1;
    worker_host_cfg_t hc = {.seats = cfgs, .nseats = 2};
    zactor_t *host = zactor_new(worker_host_actor, &hc);
    assert_non_null(host);
    msg_t in;
    assert_int_equal(msg_init(&in, D), MR_OK);
    s_handshake(f, 2);
    s_publish_round(f, 0);
    zchunk_t *first = s_recv_chunk(f);
    assert_non_null(first);
    assert_int_equal(msg_decode(&in, zchunk_data(first), zchunk_size(first), NULL), MR_OK);
    assert_int_equal(in.type, MSG_BUNDLE);
    assert_int_equal(in.nbatch, 2);
    //  Each is an UPDATE with the metrics in it (the round asks for them).
    for (int j = 0; j < 2; j++) {
        msg_t one;
        assert_int_equal(msg_init(&one, D), MR_OK);
        assert_int_equal(msg_decode(&one, in.batch_data[j], in.batch_size[j], NULL), MR_OK);
        assert_int_equal(one.type, MSG_UPDATE);
        assert_int_equal(one.with_metrics, 1);
        assert_int_equal(one.sender, (uint32_t) j);
        msg_fini(&one);
    }
    s_publish_round(f, 0);  // the same round (and seq) again
    zchunk_t *again = s_recv_chunk(f);
    assert_non_null(again);
    assert_int_equal(zchunk_size(again), zchunk_size(first));
    assert_memory_equal(zchunk_data(again), zchunk_data(first), zchunk_size(first));
    zchunk_destroy(&first);
    zchunk_destroy(&again);
    msg_fini(&in);
    zstr_send(host, "$TERM");
    zactor_destroy(&host);
}

//  Frames too big for two in a BUNDLE (d = 12,000: a dense UPDATE with its metrics is 192 KB,
//  the BUNDLE's limit 256 KiB): each seat's frame, encoded in the host's next slot, has to wait
//  for the one before to go and then moves to the first slot. Three seats' answers arrive as
//  three frames under their own ids, each decoded whole, and a round published again brings the
//  same bytes again.
static void
test_frames_too_big_to_share_a_bundle_go_one_by_one(void **state)
{
    fixture_t *f = *state;
    enum {
        BIG = 12000,
        SEATS = 3
    };
    csr_t data;
    loss_t loss;
    assert_int_equal(data_synthetic(60, BIG, 0.01, 1, 5, &data, NULL), MR_OK);
    assert_int_equal(loss_init(&loss, LOSS_NONCONVEX, 0.0, &data, NULL), MR_OK);
    worker_cfg_t cfgs[SEATS];
    for (uint32_t i = 0; i < SEATS; i++) {
        cfgs[i] = f->wc;
        cfgs[i].id = i;
        cfgs[i].mp.n = SEATS;
        cfgs[i].mp.dim = BIG;
        cfgs[i].mp.m = 60;
        cfgs[i].loss = &loss;
    }
    worker_host_cfg_t hc = {.seats = cfgs, .nseats = SEATS};
    zactor_t *host = zactor_new(worker_host_actor, &hc);
    assert_non_null(host);
    msg_t in, out;
    msg_buf_t buf = {0};
    assert_int_equal(msg_init(&in, BIG), MR_OK);
    assert_int_equal(msg_init(&out, BIG), MR_OK);
    s_handshake(f, SEATS);
    s_round_msg(&out, 0);
    zchunk_t *first[SEATS];
    for (int pass = 0; pass < 2; pass++) {  // the round, then the same round again
        assert_true(actor_send(zsock_resolve(f->pub), &out, &buf, 0) > 0);
        for (uint32_t i = 0; i < SEATS; i++) {
            zchunk_t *c = s_recv_chunk(f);
            assert_non_null(c);
            assert_int_equal(msg_decode(&in, zchunk_data(c), zchunk_size(c), NULL), MR_OK);
            assert_int_equal(in.type, MSG_UPDATE);
            assert_int_equal(in.with_metrics, 1);
            assert_int_equal(in.sender, i);  // in id order, each frame its own seat's
            assert_true(zchunk_size(c) > 128 * 1024);
            if (pass == 0) {
                first[i] = c;
            } else {
                assert_int_equal(zchunk_size(c), zchunk_size(first[i]));
                assert_memory_equal(zchunk_data(c), zchunk_data(first[i]), zchunk_size(c));
                zchunk_destroy(&c);
                zchunk_destroy(&first[i]);
            }
        }
    }
    msg_fini(&in);
    msg_fini(&out);
    msg_buf_fini(&buf);
    zstr_send(host, "$TERM");
    zactor_destroy(&host);
    csr_fini(&data);
}

int
main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_shared_host_refuses_seats_it_cannot_share, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_seat_no_host_holds_fails_the_host_naming_it, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_seat_whose_last_answer_never_went_fails_the_host,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_round_before_never_all_claimed_fails_the_host,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_round_published_again_gets_the_same_bytes_again,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_frames_too_big_to_share_a_bundle_go_one_by_one,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
