//  actor.c - see actor.h.
#include "actor.h"

#include <assert.h>
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

static int
s_recv(void *sock, zmq_msg_t *frame, int flags)
{
    int rc = zmq_msg_recv(frame, sock, flags);
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

int
actor_recv(void *sock, zmq_msg_t *frame)
{
    return s_recv(sock, frame, ZMQ_DONTWAIT);
}

int
actor_recv_wait(void *sock, zmq_msg_t *frame)
{
    return s_recv(sock, frame, 0);
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

//  The value of key in a "key=value\n" text, as a pointer into it and a length; NULL if absent.
static const char *
s_config_value(const char *text, const char *key, size_t keylen, size_t *len)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t) (end - line) : strlen(line);
        if (n > keylen && line[keylen] == '=' && strncmp(line, key, keylen) == 0) {
            *len = n - keylen - 1;
            return line + keylen + 1;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

//  Appends the keys of a that differ from b (or are missing there) to out; returns how many.
//  swap: a is ours (so the keys only we have are reported, with their value as the server's).
static size_t
s_config_diff_one_way(const char *a, const char *b, int swap, char *out, size_t size)
{
    size_t count = 0;
    for (const char *line = a; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t) (end - line) : strlen(line);
        const char *eq = memchr(line, '=', n);
        if (eq) {
            size_t keylen = (size_t) (eq - line), vlen = n - keylen - 1, blen = 0;
            const char *bv = s_config_value(b, line, keylen, &blen);
            int differs = swap ? !bv : !bv || blen != vlen || memcmp(bv, eq + 1, vlen) != 0;
            if (differs) {
                size_t used = strlen(out);
                const char *mine = swap ? "(none)" : "";
                if (swap)
                    snprintf(out + used, size - used, "%s%.*s = %s (server: %.*s)",
                             used ? ", " : "", (int) keylen, line, mine, (int) vlen, eq + 1);
                else if (bv)
                    snprintf(out + used, size - used, "%s%.*s = %.*s (server: %.*s)",
                             used ? ", " : "", (int) keylen, line, (int) vlen, eq + 1, (int) blen,
                             bv);
                else
                    snprintf(out + used, size - used, "%s%.*s = %.*s (server: (none))",
                             used ? ", " : "", (int) keylen, line, (int) vlen, eq + 1);
                count++;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return count;
}

size_t
actor_config_diff(const char *ours, const char *theirs, char *out, size_t size)
{
    assert(out && size > 0);
    out[0] = '\0';
    size_t count = s_config_diff_one_way(theirs ? theirs : "", ours ? ours : "", 0, out, size);
    return count + s_config_diff_one_way(ours ? ours : "", theirs ? theirs : "", 1, out, size);
}
