//  child_pipe.h - the benchmarks' forked worker processes learn who they are from a pipe: the
//  parent writes one line "ID PUB_ENDPOINT PULL_ENDPOINT" once its sockets are bound, so that it
//  touches no ZeroMQ state before fork(). Header-only.
#ifndef CHILD_PIPE_H
#define CHILD_PIPE_H

#include <stdio.h>
#include <unistd.h>

//  Reads the line from fd until EOF and closes fd. 0 with *id and both endpoints (255 bytes at
//  most each, buffers of 256) set, or -1 if the line is not there (a parent that died first).
static inline int
child_pipe_read(int fd, int *id, char pub_ep[256], char pull_ep[256])
{
    char line[512] = "";
    size_t used = 0;
    ssize_t got;
    while (used + 1 < sizeof line && (got = read(fd, line + used, sizeof line - used - 1)) > 0)
        used += (size_t) got;
    line[used] = '\0';
    close(fd);
    return sscanf(line, "%d %255s %255s", id, pub_ep, pull_ep) == 3 ? 0 : -1;
}

#endif
