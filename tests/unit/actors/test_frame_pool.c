//  test_frame_pool.c - frame_pool.h over a real inproc PUSH/PULL pair: frames arrive intact and in
//  order, buffers come back when the receiver releases them and are reused, a full pool copies,
//  and a pool destroyed with frames in flight is freed by the last one back (ASan checks that).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "frame_pool.h"
#include "msg.h"

#define D 7

typedef struct {
    void *ctx, *push, *pull;
    msg_t out, in;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = zmq_ctx_new();
    f->push = zmq_socket(f->ctx, ZMQ_PUSH);
    f->pull = zmq_socket(f->ctx, ZMQ_PULL);
    assert_int_equal(zmq_bind(f->pull, "inproc://frame-pool"), 0);
    assert_int_equal(zmq_connect(f->push, "inproc://frame-pool"), 0);
    assert_int_equal(msg_init(&f->out, D), MR_OK);
    assert_int_equal(msg_init(&f->in, D), MR_OK);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    zmq_close(f->push);
    zmq_close(f->pull);
    zmq_ctx_term(f->ctx);
    msg_fini(&f->out);
    msg_fini(&f->in);
    free(f);
    return 0;
}

//  A METRICS of worker i for round k, with a gradient that names both.
static void
s_fill(msg_t *m, uint32_t i, uint64_t k)
{
    m->type = MSG_METRICS;
    m->sender = i;
    m->round = k;
    m->f = (double) k + 0.25;
    for (size_t j = 0; j < D; j++)
        m->g.x[j] = (double) (1000 * i + j) + 1e-3 * (double) k;
}

//  Receives one frame and checks it is the METRICS s_fill(i, k) made.
static void
s_expect(fixture_t *f, uint32_t i, uint64_t k)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    assert_true(zmq_msg_recv(&frame, f->pull, 0) >= 0);
    mr_err_t err;
    assert_int_equal(msg_decode(&f->in, zmq_msg_data(&frame), zmq_msg_size(&frame), &err), MR_OK);
    zmq_msg_close(&frame);  // the buffer goes back to its pool here
    assert_int_equal(f->in.type, MSG_METRICS);
    assert_int_equal(f->in.sender, i);
    assert_int_equal(f->in.round, k);
    for (size_t j = 0; j < D; j++)
        assert_true(f->in.g.x[j] == (double) (1000 * i + j) + 1e-3 * (double) k);
}

static void
test_frames_arrive_and_buffers_come_back(void **state)
{
    fixture_t *f = *state;
    frame_pool_t *pool = frame_pool_new(4);
    assert_non_null(pool);
    //  Ten frames queued before any is read: four in the pool's buffers, six copied.
    for (uint32_t i = 0; i < 10; i++) {
        s_fill(&f->out, i, 3);
        assert_true(frame_pool_send(pool, f->push, &f->out, 0) > 0);
    }
    assert_int_equal(frame_pool_in_flight(pool), 4);
    for (uint32_t i = 0; i < 10; i++)
        s_expect(f, i, 3);
    assert_int_equal(frame_pool_in_flight(pool), 0);
    //  Many more rounds, two frames in flight at a time: the buffers are reused throughout.
    for (uint64_t k = 0; k < 500; k++) {
        for (uint32_t i = 0; i < 2; i++) {
            s_fill(&f->out, i, k);
            assert_true(frame_pool_send(pool, f->push, &f->out, 0) > 0);
        }
        assert_int_equal(frame_pool_in_flight(pool), 2);
        s_expect(f, 0, k);
        s_expect(f, 1, k);
    }
    assert_int_equal(frame_pool_in_flight(pool), 0);
    frame_pool_destroy(&pool);
    assert_null(pool);
    frame_pool_destroy(&pool);  // NULL: nothing
}

static void
test_a_pool_destroyed_with_frames_in_flight_lives_until_they_are_back(void **state)
{
    fixture_t *f = *state;
    frame_pool_t *pool = frame_pool_new(3);
    assert_non_null(pool);
    for (uint32_t i = 0; i < 3; i++) {
        s_fill(&f->out, i, 9);
        assert_true(frame_pool_send(pool, f->push, &f->out, 0) > 0);
    }
    frame_pool_destroy(&pool);  // the three frames still hold it
    for (uint32_t i = 0; i < 3; i++)
        s_expect(f, i, 9);  // intact; the last release frees the pool
}

static void
test_a_message_that_does_not_encode_is_refused(void **state)
{
    fixture_t *f = *state;
    frame_pool_t *pool = frame_pool_new(1);
    assert_non_null(pool);
    f->out.type = (msg_type_t) 999;
    assert_int_equal(frame_pool_send(pool, f->push, &f->out, 0), -1);
    assert_int_equal(frame_pool_in_flight(pool), 0);
    assert_null(frame_pool_new(0));
    frame_pool_destroy(&pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_frames_arrive_and_buffers_come_back, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_pool_destroyed_with_frames_in_flight_lives_until_they_are_back, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_a_message_that_does_not_encode_is_refused, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
