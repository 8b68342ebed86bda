//  test_outsiders.c - security.h: which endpoints other machines can reach, and the keys folder
//  (made, loaded by role and by actor, refused when a certificate is missing).
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "security.h"

static void
test_local_endpoints_are_told_from_reachable_ones(void **state)
{
    (void) state;
    static const char *const local[] = {"ipc:///tmp/x/up",      "inproc://marina-up",
                                        "tcp://127.0.0.1:5555", "tcp://127.8.9.10:*",
                                        "tcp://localhost:5555", "tcp://[::1]:5555",
                                        "tcp://lo:5555",        "tcp://10.0.0.1;127.0.0.1:5555"};
    static const char *const remote[] = {
        "tcp://*:5555",    "tcp://0.0.0.0:5555",   "tcp://10.77.0.11:*", "tcp://eth0:5555",
        "tcp://[::]:5555", "tcp://128.0.0.1:5555", "tcp://node7:5555",   "udp://127.0.0.1:5555"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        assert_int_equal(sec_endpoint_is_local(local[i]), 1);
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        assert_int_equal(sec_endpoint_is_local(remote[i]), 0);
}

static void
test_keys_are_made_and_found_by_role_then_by_actor(void **state)
{
    (void) state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/marina-keys-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char keys[96];
    snprintf(keys, sizeof keys, "%s/k", dir);
    mr_err_t err;
    const char *names[] = {"recorder", "worker", "worker-2"};
    assert_int_equal(sec_keys_check(keys, &err), MR_ECONFIG);  // nothing there yet
    assert_int_equal(sec_keys_make(keys, names, 3, &err), MR_OK);
    assert_int_equal(sec_keys_check(keys, &err), MR_OK);
    struct stat st;
    char path[160];
    snprintf(path, sizeof path, "%s/secret/worker-2.cert_secret", keys);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    sec_t *server = sec_server_new(keys, &err);
    assert_non_null(server);
    sec_t *w1 = sec_client_new(keys, "worker", 1, &err);  // no worker-1: the role's key
    sec_t *w2 = sec_client_new(keys, "worker", 2, &err);  // its own key
    sec_t *rec = sec_client_new(keys, "recorder", -1, &err);
    assert_non_null(w1);
    assert_non_null(w2);
    assert_non_null(rec);
    sec_t *att = sec_client_new(keys, "attacker", 3, &err);  // no attacker key was made
    assert_null(att);
    assert_non_null(strstr(err.text, "attacker-3.cert_secret"));
    assert_non_null(strstr(err.text, "marina keys"));

    // A CURVE round trip: the key's name travels with every message.
    zsock_t *pull = zsock_new(ZMQ_PULL), *push = zsock_new(ZMQ_PUSH);
    sec_apply(server, pull);
    int port = zsock_bind(pull, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    sec_apply(w2, push);
    assert_int_equal(zsock_connect(push, "tcp://127.0.0.1:%d", port), 0);
    assert_int_equal(zstr_send(push, "hello"), 0);
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    assert_true(zmq_msg_recv(&frame, zsock_resolve(pull), 0) == 5);
    const char *name = sec_peer_name(&frame);
    assert_non_null(name);
    assert_string_equal(name, "worker-2");
    zmq_msg_close(&frame);
    zsock_destroy(&push);
    zsock_destroy(&pull);
    sec_destroy(&w1);
    sec_destroy(&w2);
    sec_destroy(&rec);
    sec_destroy(&server);

    const char *bad[] = {"../x"};
    assert_int_equal(sec_keys_make(keys, bad, 1, &err), MR_EINVAL);
    const char *server_name[] = {"server"};
    assert_int_equal(sec_keys_make(keys, server_name, 1, &err), MR_EINVAL);
    sec_keys_remove(keys, names, 3);
    assert_int_not_equal(stat(keys, &st), 0);  // everything it made is gone
    rmdir(dir);
}

int
main(void)
{
    zsys_set_logstream(stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_endpoints_are_told_from_reachable_ones),
        cmocka_unit_test(test_keys_are_made_and_found_by_role_then_by_actor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
