//  actor.h - what every actor shares: the clock, sending and receiving one msg_t per ZeroMQ frame,
//  and the reply an actor gives its host on the pipe.
//
//  An actor is a CZMQ zactor function (server_actor, worker_actor, recorder_actor) that runs as a
//  thread of its host: one per process under `marina server|worker|recorder`, or many in one
//  process over inproc:// (`marina run transport=inproc`). Host protocol, on the pipe:
//    actor -> host  "READY" [endpoints...]    after its sockets are bound / connected
//    actor -> host  "DONE" status reason     when its part of the run ended (status "completed",
//                                             "failed" or "aborted"); then it waits for $TERM
//    host -> actor  "$TERM"                   stop now (zactor_destroy); a running server and
//                                             recorder record the run as aborted first
#ifndef ACTOR_H
#define ACTOR_H

#include <czmq.h>
#include <stddef.h>

#include "msg.h"

//  Seconds on a monotonic clock.
double actor_now(void);

//  Encodes m into buf and sends it on the raw ZeroMQ socket sock (flags as zmq_send). Returns the
//  frame size in bytes, or -1 (errno from zmq_send, e.g. EAGAIN with ZMQ_DONTWAIT).
int actor_send(void *sock, const msg_t *m, msg_buf_t *buf, int flags);

//  Receives one frame from sock into frame (initialised by the caller) without blocking.
//  Returns its size, -1 when nothing is there (or on error), -2 for a multipart message (dropped).
int actor_recv(void *sock, zmq_msg_t *frame);
//  actor_recv() that waits for a frame, as long as the socket's ZMQ_RCVTIMEO allows: -1 when none
//  came (or on error).
int actor_recv_wait(void *sock, zmq_msg_t *frame);

//  Waits up to timeout_ms (-1: forever) for input on any of the nsock raw sockets; returns a bit
//  mask of the readable ones (bit i = socks[i]), 0 on timeout or interrupt.
unsigned actor_poll(void *const *socks, int nsock, long timeout_ms);

//  Reports "DONE" status reason to the host, then waits for "$TERM" (or the host's death).
void actor_finish(zsock_t *pipe, const char *status, const char *reason);

//  1 if the pipe holds "$TERM" (consumes the message), else 0. Non-blocking.
int actor_pipe_term(zsock_t *pipe);

//  Compares two HELLO configurations ("key=value\n" lines, docs/protocol.md) key by key and
//  writes the differences to out as "k = 5 (server: 10), seed = 7 (server: 3)", where theirs
//  gives the first value and ours the second; a key on one side only shows as "(none)". Returns
//  how many keys differ (0: out is ""). out is always NUL-terminated, cut short if too small.
size_t actor_config_diff(const char *ours, const char *theirs, char *out, size_t size);

#endif
