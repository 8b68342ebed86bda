//  actor.c - see actor.h.
#include "actor.h"

#include <errno.h>
#include <string.h>
#include <time.h>

double
actor_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

int
actor_send(void *sock, const msg_t *m, msg_buf_t *buf, int flags)
{
    if (msg_encode(m, buf) != MR_OK) {
        errno = ENOMEM;
        return -1;
    }
    int rc = zmq_send(sock, buf->data, buf->size, flags);
    return rc < 0 ? -1 : (int) buf->size;
}

int
actor_recv(void *sock, zmq_msg_t *frame)
{
    int rc = zmq_msg_recv(frame, sock, ZMQ_DONTWAIT);
    if (rc < 0)
        return -1;
    // Every marina message is one frame; a multipart message is not ours: drain and refuse it.
    if (zmq_msg_more(frame)) {
        int more = 1;
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            if (zmq_msg_recv(&extra, sock, ZMQ_DONTWAIT) < 0)
                more = 0;
            else
                more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        return -2;
    }
    return rc;
}

unsigned
actor_poll(void *const *socks, int nsock, long timeout_ms)
{
    zmq_pollitem_t items[8];
    assert(nsock > 0 && nsock <= 8);
    for (int i = 0; i < nsock; i++) {
        items[i].socket = socks[i];
        items[i].fd = 0;
        items[i].events = ZMQ_POLLIN;
        items[i].revents = 0;
    }
    if (zmq_poll(items, nsock, timeout_ms) <= 0)
        return 0;
    unsigned mask = 0;
    for (int i = 0; i < nsock; i++)
        if (items[i].revents & ZMQ_POLLIN)
            mask |= 1u << i;
    return mask;
}

void
actor_finish(zsock_t *pipe, const char *status, const char *reason)
{
    zstr_sendx(pipe, "DONE", status, reason ? reason : "", NULL);
    while (true) {
        char *cmd = zstr_recv(pipe);
        if (!cmd)
            return;  // interrupted or the host went away
        int term = streq(cmd, "$TERM");
        zstr_free(&cmd);
        if (term)
            return;
    }
}

int
actor_pipe_term(zsock_t *pipe)
{
    void *raw = zsock_resolve(pipe);
    zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 0) <= 0)
        return 0;
    char *cmd = zstr_recv(pipe);
    int term = cmd && streq(cmd, "$TERM");
    zstr_free(&cmd);
    return term || !cmd;
}
