//  test_ports.c - ports.h: a fixed tcp port held by a real listening socket is refused naming
//  the endpoint; free, wildcard, ipc and inproc endpoints pass; a repeated port is refused.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "ports.h"

//  A socket listening on 127.0.0.1 at a port the kernel picks; *port gets it.
static int
s_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void
test_a_port_in_use_is_refused_naming_it(void **state)
{
    int port = 0, fd = s_listen(&port);
    char busy[64], wild[64];
    snprintf(busy, sizeof busy, "tcp://127.0.0.1:%d", port);
    snprintf(wild, sizeof wild, "tcp://*:%d", port);
    mr_err_t err;
    const char *ep[] = {"tcp://127.0.0.1:*", busy, "ipc:///tmp/x"};
    assert_int_equal(ports_check_free(ep, 3, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, busy));
    assert_non_null(strstr(err.text, "is in use"));
    const char *ep2[] = {wild};
    assert_int_equal(ports_check_free(ep2, 1, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "is in use"));
    close(fd);
    //  Free again once the listener is gone (the check itself leaves nothing bound).
    assert_int_equal(ports_check_free(ep, 3, &err), MR_OK);
    assert_int_equal(ports_check_free(ep, 3, &err), MR_OK);
}

static void
test_wildcards_and_other_transports_pass_and_repeats_do_not(void **state)
{
    mr_err_t err;
    const char *ok[] = {"tcp://*:*", "tcp://127.0.0.1:0", "inproc://a", "ipc:///tmp/b"};
    assert_int_equal(ports_check_free(ok, 4, &err), MR_OK);
    int port = 0, fd = s_listen(&port);
    close(fd);  // a port that was just free
    char a[64], b[64];
    snprintf(a, sizeof a, "tcp://127.0.0.1:%d", port);
    snprintf(b, sizeof b, "tcp://*:%d", port);
    const char *twice[] = {a, "tcp://127.0.0.1:*", b};
    assert_int_equal(ports_check_free(twice, 3, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "given twice"));
    const char *bad[] = {"tcp://127.0.0.1", "tcp://127.0.0.1:70000", "tcp://127.0.0.1:5x"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ports_check_free(&bad[i], 1, &err), MR_ECONFIG);
        assert_non_null(strstr(err.text, bad[i]));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_port_in_use_is_refused_naming_it),
        cmocka_unit_test(test_wildcards_and_other_transports_pass_and_repeats_do_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
