//  test_worker.c - the worker actor in this process (inproc://), driven by a scripted server:
//  a ROUND's g^{k-1} arrives dense or as a patch of the previous one; a patch applies to the
//  worker's copy, a digest that does not match, or a patch with no copy to apply it to, makes the
//  worker ask for the round again (RESYNC) instead of answering; the answers equal those of the
//  method stepped here with the same g.
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
#include "test_util.h"
#include "worker.h"

#define D 12

typedef struct {
    csr_t data;
    loss_t loss;
    method_params_t mp;
    const method_t *method;
    zsock_t *pub, *pull;
    zactor_t *worker;
    worker_cfg_t wc;
    msg_t in, out;
    msg_buf_t buf;
    uint64_t seq;
    method_worker_t *ref;  // the same method, stepped here with the g the server meant
    rng_t ref_rng;
    cvec_t ref_up;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(data_synthetic(100, D, 0.4, 1, 5, &f->data, NULL), MR_OK);
    assert_int_equal(loss_init(&f->loss, LOSS_NONCONVEX, 0.0, &f->data, NULL), MR_OK);
    f->method = method_find("marina");
    f->mp = (method_params_t){.n = 1,
                              .dim = D,
                              .m = 100,
                              .gamma = 0.5,
                              .p = 0.3,
                              .comp = {.kind = COMP_RANDK, .k = 3},
                              .seed = 9};
    static int instance = 0;
    instance++;
    char ep[2][64];
    snprintf(ep[0], sizeof ep[0], "inproc://test-worker-bcast-%d", instance);
    snprintf(ep[1], sizeof ep[1], "inproc://test-worker-up-%d", instance);
    f->pub = zsock_new(ZMQ_PUB);
    f->pull = zsock_new(ZMQ_PULL);
    assert_true(zsock_bind(f->pub, "%s", ep[0]) == 0);
    assert_true(zsock_bind(f->pull, "%s", ep[1]) == 0);
    zsock_set_rcvtimeo(f->pull, 10000);
    assert_int_equal(msg_init(&f->in, D), MR_OK);
    assert_int_equal(msg_init(&f->out, D), MR_OK);
    f->wc = (worker_cfg_t){.ep_bcast = strdup(ep[0]),
                           .ep_up = strdup(ep[1]),
                           .id = 0,
                           .method = f->method,
                           .mp = f->mp,
                           .loss = &f->loss,
                           .seed = 9,
                           .timeout_s = 20};
    f->worker = zactor_new(worker_actor, &f->wc);
    assert_non_null(f->worker);
    vec_t x0;
    assert_int_equal(vec_init(&x0, D), MR_OK);
    f->ref = f->method->worker_new(&f->mp, &f->loss, 0, &x0, NULL);
    vec_fini(&x0);
    assert_non_null(f->ref);
    rng_seed(&f->ref_rng, 9, rng_stream_worker(0));
    assert_int_equal(cvec_init(&f->ref_up, D, D), MR_OK);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    zactor_destroy(&f->worker);
    f->method->worker_destroy(&f->ref);
    cvec_fini(&f->ref_up);
    msg_fini(&f->in);
    msg_fini(&f->out);
    msg_buf_fini(&f->buf);
    zsock_destroy(&f->pub);
    zsock_destroy(&f->pull);
    free((char *) f->wc.ep_bcast);
    free((char *) f->wc.ep_up);
    csr_fini(&f->data);
    free(f);
    return 0;
}

//  The next message from the worker (10 s at most).
static msg_type_t
s_recv(fixture_t *f)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    assert_true(zmq_msg_recv(&frame, zsock_resolve(f->pull), 0) >= 0);
    mr_err_t err;
    assert_int_equal(msg_decode(&f->in, zmq_msg_data(&frame), zmq_msg_size(&frame), &err), MR_OK);
    zmq_msg_close(&frame);
    return f->in.type;
}

static void
s_publish(fixture_t *f)
{
    assert_true(actor_send(zsock_resolve(f->pub), &f->out, &f->buf, 0) > 0);
}

//  HELLO, then PINGs until READY.
static void
s_join(fixture_t *f)
{
    assert_int_equal(s_recv(f), MSG_HELLO);
    zsock_set_rcvtimeo(f->pull, 50);
    for (int i = 0; i < 400; i++) {
        f->out.type = MSG_PING;
        f->out.seq = 0;
        s_publish(f);
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        int rc = zmq_msg_recv(&frame, zsock_resolve(f->pull), 0);
        zmq_msg_close(&frame);
        if (rc >= 0)
            break;
    }
    zsock_set_rcvtimeo(f->pull, 10000);
}

//  Publishes ROUND k (c_k = 0 for k > 0) with g: dense, or as the patch against prev; digest as
//  given (0: the right one).
static void
s_round(fixture_t *f, uint64_t k, const vec_t *g, const vec_t *prev, uint64_t digest)
{
    msg_t *o = &f->out;
    o->type = MSG_ROUND;
    o->seq = ++f->seq;
    o->round = k;
    o->coin = k == 0;
    o->metrics = 1;
    o->has_g = g != NULL;
    o->g_patch = 0;
    o->g_digest = 0;
    assert_int_equal(msg_set_part(o, NULL, 0), MR_OK);
    if (g) {
        vec_copy(&o->g, g);
        o->g_digest = digest ? digest : msg_g_digest(g);
        if (prev) {
            assert_int_equal(msg_g_patch_build(o, prev), MR_OK);
            o->g_patch = 1;
        }
    }
    s_publish(f);
}

//  Expects the worker's answer to round k (one UPDATE carrying its METRICS), equal to the
//  reference method's stepped with g.
static void
s_expect_answer(fixture_t *f, uint64_t k, const vec_t *g)
{
    method_round_t rd = {k, k == 0, g, NULL, 0};
    method_report_t rep = {0};
    assert_int_equal(f->method->worker_step(f->ref, &rd, &f->ref_rng, &f->ref_up, &rep), MR_OK);
    assert_int_equal(s_recv(f), MSG_UPDATE);
    assert_int_equal(f->in.round, k);
    assert_int_equal(f->in.up.nnz, f->ref_up.nnz);
    for (size_t t = 0; t < f->ref_up.nnz; t++)
        assert_true(f->in.up.val[t] == f->ref_up.val[t]);
    assert_true(f->in.with_metrics);
    assert_true(f->in.metrics_bytes > 8 * D);
    vec_t grad;
    assert_int_equal(vec_init(&grad, D), MR_OK);
    double fv = loss_value_grad(&f->loss, f->method->worker_x(f->ref), &grad);
    assert_true(f->in.f == fv);
    assert_memory_equal(f->in.g.x, grad.x, D * sizeof(double));
    vec_fini(&grad);
}

static void
test_patches_apply_and_a_drift_asks_for_the_round_again(void **state)
{
    fixture_t *f = *state;
    s_join(f);
    vec_t g1, g2, g3;
    assert_int_equal(vec_init(&g1, D), MR_OK);
    assert_int_equal(vec_init(&g2, D), MR_OK);
    assert_int_equal(vec_init(&g3, D), MR_OK);
    for (size_t j = 0; j < D; j++)
        g1.x[j] = 0.01 * (double) (j + 1);
    vec_copy(&g2, &g1);
    g2.x[2] = -0.5;
    g2.x[7] = 0.25;
    vec_copy(&g3, &g2);
    g3.x[0] = 0.125;

    s_round(f, 0, NULL, NULL, 0);
    s_expect_answer(f, 0, NULL);
    s_round(f, 1, &g1, NULL, 0);  // dense
    s_expect_answer(f, 1, &g1);
    //  A patch whose result is not the server's g: the worker asks again instead of answering.
    s_round(f, 2, &g2, &g1, 12345);
    assert_int_equal(s_recv(f), MSG_RESYNC);
    //  Its copy is gone now: a patch (even a right one) has nothing to apply to.
    f->seq--;  // the server publishes the same round again with the same seq
    s_round(f, 2, &g2, &g1, 0);
    assert_int_equal(s_recv(f), MSG_RESYNC);
    f->seq--;
    s_round(f, 2, &g2, NULL, 0);  // the dense resend
    s_expect_answer(f, 2, &g2);
    s_round(f, 3, &g3, &g2, 0);  // a patch of one coordinate
    assert_int_equal(f->out.gp_nnz, 1);
    s_expect_answer(f, 3, &g3);
    f->out.type = MSG_STOP;
    f->out.status = "completed";
    f->out.reason = "";
    s_publish(f);
    vec_fini(&g1);
    vec_fini(&g2);
    vec_fini(&g3);
}

int
main(void)
{
    zsys_set_logstream(stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_patches_apply_and_a_drift_asks_for_the_round_again,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
