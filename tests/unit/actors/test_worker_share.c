//  test_worker_share.c - the failures of worker hosts that share their seats (worker.h,
//  seat_share.h), driven by a scripted server over inproc://: a host refuses seats it cannot
//  share (an id outside the share, injected faults, rejoin) before it says anything, and a host
//  that claims a seat no host holds fails the run with that seat's id instead of skipping it.
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

static void
test_a_seat_no_host_holds_fails_the_host_naming_it(void **state)
{
    fixture_t *f = *state;
    seat_share_t *share = seat_share_new(2);  // seats 0 and 1; only seat 0 has a host
    assert_non_null(share);
    worker_host_cfg_t hc = {.seats = &f->wc, .nseats = 1, .share = share};
    zactor_t *host = zactor_new(worker_host_actor, &hc);
    assert_non_null(host);
    //  HELLO, then PINGs until READY.
    msg_t in;
    assert_int_equal(msg_init(&in, D), MR_OK);
    zsock_set_rcvtimeo(f->pull, 10000);
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    assert_true(zmq_msg_recv(&frame, zsock_resolve(f->pull), 0) >= 0);
    assert_int_equal(msg_decode(&in, zmq_msg_data(&frame), zmq_msg_size(&frame), NULL), MR_OK);
    assert_int_equal(in.type, MSG_HELLO);
    zmq_msg_close(&frame);
    zsock_set_rcvtimeo(f->pull, 50);
    int ready = 0;
    for (int i = 0; i < 400 && !ready; i++) {
        f->out.type = MSG_PING;
        f->out.seq = 0;
        s_publish(f);
        zmq_msg_init(&frame);
        ready = zmq_msg_recv(&frame, zsock_resolve(f->pull), 0) >= 0;
        zmq_msg_close(&frame);
    }
    assert_true(ready);
    //  Round 0: the host steps seat 0, then claims seat 1, which no host holds.
    msg_t *o = &f->out;
    o->type = MSG_ROUND;
    o->seq = 1;
    o->round = 0;
    o->coin = 1;
    o->metrics = 1;
    o->has_g = 1;
    o->g_patch = 0;
    assert_int_equal(msg_set_part(o, NULL, 0), MR_OK);
    vec_zero(&o->g);
    o->g_digest = msg_g_digest(&o->g);
    s_publish(f);
    char *status, *reason;
    s_done(host, &status, &reason);
    assert_string_equal(status, "failed");
    assert_string_equal(reason, "worker 1: no host has its seat");
    zstr_free(&status);
    zstr_free(&reason);
    zactor_destroy(&host);
    seat_share_destroy(&share);
    msg_fini(&in);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
