//  test_stats_link.c - the server's end of the stats link, over a real inproc ROUTER/DEALER pair:
//  held frames go in one burst once the first has waited hold_s, in order and once each; the RUN,
//  the STOP, a flush and a recorder's catch-up send what is held at once; hold_s = 0 sends at once.
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "actor.h"
#include "msg.h"
#include "stats_link.h"

#define HOLD_S   0.05
#define QUIET_MS 100  // inproc delivers within this if anything was sent
#define TOKEN    "0123456789abcdef"

typedef struct {
    stats_link_t *link;
    zsock_t *recorder;  // a DEALER, as the recorder's
    int endpoint;
} pair_t;

static int s_endpoints;

static void
s_hello(zsock_t *dealer)
{
    msg_t m = {.type = MSG_HELLO, .role = MSG_ROLE_RECORDER, .cfg_text = "token=" TOKEN "\n"};
    msg_buf_t buf = {0};
    assert_true(actor_send(zsock_resolve(dealer), &m, &buf, 0) > 0);
    msg_buf_fini(&buf);
}

//  A link with hold hold_s and a recorder that said HELLO (taken by the link).
static void
s_pair(pair_t *p, double hold_s)
{
    char ep[64];
    p->endpoint = s_endpoints++;
    snprintf(ep, sizeof ep, "inproc://stats-link-%d", p->endpoint);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    zsock_set_router_mandatory(router, 1);
    assert_int_equal(zsock_bind(router, "%s", ep), 0);
    stats_link_cfg_t cfg = {
        .token = TOKEN, .keep_frames = 64, .keep_bytes = 1 << 20, .hold_s = hold_s};
    p->link = stats_link_new(router, &cfg, NULL);
    assert_non_null(p->link);
    p->recorder = zsock_new_dealer(ep);
    assert_non_null(p->recorder);
    s_hello(p->recorder);
    for (int i = 0; i < 200 && !stats_link_joined(p->link); i++) {
        zclock_sleep(5);
        stats_link_take(p->link);
    }
    assert_true(stats_link_joined(p->link));
}

static void
s_pair_fini(pair_t *p)
{
    zsock_destroy(&p->recorder);
    stats_link_destroy(&p->link);
}

//  The next frame the recorder gets within wait_ms, as text ("" if none came).
static void
s_next(pair_t *p, int wait_ms, char *out, size_t size)
{
    zsock_set_rcvtimeo(p->recorder, wait_ms);
    out[0] = '\0';
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    int n = zmq_msg_recv(&frame, zsock_resolve(p->recorder), 0);
    if (n >= 0) {
        size_t len = (size_t) n < size - 1 ? (size_t) n : size - 1;
        memcpy(out, zmq_msg_data(&frame), len);
        out[len] = '\0';
    }
    zmq_msg_close(&frame);
}

static void
s_expect(pair_t *p, const char *want)
{
    char got[64];
    s_next(p, 2000, got, sizeof got);
    assert_string_equal(got, want);
}

static void
s_expect_nothing(pair_t *p)
{
    char got[64];
    s_next(p, QUIET_MS, got, sizeof got);
    assert_string_equal(got, "");
}

static void
s_kept(pair_t *p, uint64_t order, const char *text)
{
    msg_buf_t b = {.data = (char *) text, .size = strlen(text)};
    assert_int_equal(stats_link_send_kept(p->link, order, &b), MR_OK);
}

static void
test_held_frames_go_in_one_burst_once_the_first_has_waited(void **state)
{
    (void) state;
    pair_t p;
    s_pair(&p, HOLD_S);
    double t0 = actor_now();
    s_kept(&p, 0, "stats 0");
    s_kept(&p, 2, "stats 1");
    s_kept(&p, 4, "stats 2");
    assert_int_equal(stats_link_held(p.link), 3);
    s_expect_nothing(&p);  // nothing goes before its time
    stats_link_tick(p.link, t0 - 1.0);
    s_expect_nothing(&p);
    stats_link_tick(p.link, actor_now() + HOLD_S);
    assert_int_equal(stats_link_held(p.link), 0);
    s_expect(&p, "stats 0");
    s_expect(&p, "stats 1");
    s_expect(&p, "stats 2");
    stats_link_tick(p.link, actor_now() + 10.0);  // nothing held: nothing sent again
    s_expect_nothing(&p);
    assert_int_equal(stats_link_unacked(p.link), 3);  // sent is not acknowledged
    s_pair_fini(&p);
}

static void
test_a_frame_kept_after_the_hold_ran_out_sends_the_burst(void **state)
{
    (void) state;
    pair_t p;
    s_pair(&p, HOLD_S);
    s_kept(&p, 0, "stats 0");
    zclock_sleep((int) (HOLD_S * 1000) + 20);
    s_kept(&p, 2, "stats 1");  // the first has waited hold_s: both go, without a tick
    assert_int_equal(stats_link_held(p.link), 0);
    s_expect(&p, "stats 0");
    s_expect(&p, "stats 1");
    s_pair_fini(&p);
}

//  A CHECKPOINT (odd key 2k + 1) goes at once, with the rows held before it: a server killed
//  just after it is resumed from it, not from the one before.
static void
test_a_checkpoint_goes_at_once_with_what_is_held(void **state)
{
    (void) state;
    pair_t p;
    s_pair(&p, 60.0);
    s_kept(&p, 8, "stats 4");
    s_expect_nothing(&p);
    s_kept(&p, 9, "checkpoint 4");
    assert_int_equal(stats_link_held(p.link), 0);
    s_expect(&p, "stats 4");
    s_expect(&p, "checkpoint 4");
    s_kept(&p, 10, "stats 5");  // and the rows after it are held again
    s_expect_nothing(&p);
    s_pair_fini(&p);
}

static void
test_flush_and_stop_send_what_is_held_first(void **state)
{
    (void) state;
    pair_t p;
    s_pair(&p, 60.0);
    s_kept(&p, 0, "stats 0");
    stats_link_flush(p.link);
    s_expect(&p, "stats 0");
    s_kept(&p, 2, "stats 1");
    s_kept(&p, 4, "stats 2");
    s_expect_nothing(&p);
    msg_buf_t stop = {.data = "stop", .size = 4};
    assert_int_equal(stats_link_send_stop(p.link, &stop), MR_OK);
    s_expect(&p, "stats 1");
    s_expect(&p, "stats 2");
    s_expect(&p, "stop");
    s_pair_fini(&p);
}

static void
test_a_recorder_that_takes_over_gets_every_kept_frame_once(void **state)
{
    (void) state;
    pair_t p;
    s_pair(&p, 60.0);
    s_kept(&p, 0, "stats 0");
    stats_link_flush(p.link);
    s_kept(&p, 2, "stats 1");  // held
    //  The recorder is restarted: its new connection says HELLO with the run's token.
    zsock_destroy(&p.recorder);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://stats-link-%d", p.endpoint);
    s_kept(&p, 4, "stats 2");
    p.recorder = zsock_new_dealer(ep);
    assert_non_null(p.recorder);
    s_hello(p.recorder);
    zclock_sleep(20);
    stats_link_take(p.link);
    s_expect(&p, "stats 0");  // not acknowledged: sent again
    s_expect(&p, "stats 1");
    s_expect(&p, "stats 2");
    s_kept(&p, 6, "stats 3");
    stats_link_flush(p.link);
    s_expect(&p, "stats 3");  // and nothing twice
    s_expect_nothing(&p);
    s_pair_fini(&p);
}

static void
test_no_hold_sends_at_once(void **state)
{
    (void) state;
    pair_t p;
    s_pair(&p, 0.0);
    s_kept(&p, 0, "stats 0");
    assert_int_equal(stats_link_held(p.link), 0);
    s_expect(&p, "stats 0");
    s_pair_fini(&p);
}

int
main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_frames_go_in_one_burst_once_the_first_has_waited),
        cmocka_unit_test(test_a_frame_kept_after_the_hold_ran_out_sends_the_burst),
        cmocka_unit_test(test_a_checkpoint_goes_at_once_with_what_is_held),
        cmocka_unit_test(test_flush_and_stop_send_what_is_held_first),
        cmocka_unit_test(test_a_recorder_that_takes_over_gets_every_kept_frame_once),
        cmocka_unit_test(test_no_hold_sends_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
