//  run_limits.h - the operating-system and ZeroMQ limits a run needs, checked (and raised where the
//  process may) before any actor starts, so that a large run fails at once with the limit's name
//  and the fix instead of stalling with workers that never join.
//
//  Over tcp/ipc the server holds two connections per worker (its PULL and PUB sockets) and a
//  few more: about 2n + 64 file descriptors. Under inproc every actor is a thread with 4 ZeroMQ
//  sockets (its two sockets and the two ends of its zactor pipe), each costing one descriptor,
//  and CZMQ allows 1024 sockets by default (zsys_set_max_sockets()).
#ifndef RUN_LIMITS_H
#define RUN_LIMITS_H

#include <stddef.h>

#include "mr_err.h"

//  File descriptors a server of n workers needs over tcp/ipc.
size_t limits_fds_server(size_t n);
//  ZeroMQ sockets (and descriptors) n worker threads, the server and the recorder need inproc.
size_t limits_sockets_inproc(size_t n);

//  Raises the soft RLIMIT_NOFILE to at least need (up to the hard limit). MR_OK, or MR_ECONFIG
//  with err naming the limit, the need, what (e.g. "n = 600 workers over tcp") and the fix.
int limits_ensure_fds(size_t need, const char *what, mr_err_t *err);

//  For an inproc run of n workers: raises the descriptors (limits_ensure_fds) and writes the
//  ZeroMQ socket count the run needs to *max_sockets, for zsys_set_max_sockets() before the first
//  socket is made. MR_OK or MR_ECONFIG.
int limits_prepare_inproc(size_t n, size_t *max_sockets, mr_err_t *err);

#endif
