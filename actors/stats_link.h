//  stats_link.h - the server's end of the stats link (docs/protocol.md, "The stats link"): a
//  ROUTER socket, the one recorder connection it serves, and the frames that recorder has not
//  acknowledged yet.
//
//  A recorder is identified by its HELLO on this socket: with a run token only a HELLO whose
//  config is "token=TOKEN\n" counts, and with CURVE only from a recorder key. The first such HELLO
//  makes its connection the recorder's; another connection's HELLO takes over when it carries the
//  run's token (the launcher restarted the recorder) or, without a token, once the old connection
//  is gone. Every other message on the socket is dropped and reported through cfg.warn, so that
//  the rows cannot be split between two readers. A recorder that takes over is sent, in order, the
//  RUN, every kept frame and, once sent, the STOP: a recorder killed and restarted catches up.
//  Kept frames (STATS, CHECKPOINT) carry an order key and are dropped when an ACK covers them
//  (ACK round r covers the keys <= 2r: STATS of round k is key 2k, its CHECKPOINT 2k + 1; ACK with
//  done covers everything). Sends never block: a frame for a connection that is gone waits in
//  the outbox. With a hold, kept frames go in bursts: each waits at most hold_s after the first
//  frame held before it, so the recorder (and ZeroMQ's I/O thread) wake once a burst rather than
//  once a round; stats_link_tick() sends a burst whose time has come, and a CHECKPOINT (an odd
//  key: a server killed after it is resumed from it), the RUN, the STOP, a recorder's catch-up
//  and stats_link_flush() send what is held at once. Not thread-safe; owned
//  by the server's thread.
#ifndef STATS_LINK_H
#define STATS_LINK_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "msg.h"

typedef struct stats_link stats_link_t;

typedef struct {
    const char *token;   // the run token, or NULL: the first HELLO is the recorder
    int curve;           // 1: the recorder's HELLO must come from a recorder key (security.h)
    size_t keep_frames;  // the outbox's bounds: frames ...
    size_t keep_bytes;   // ... and bytes kept until acknowledged
    double hold_s;       // a kept frame waits at most this long to go in a burst; 0: sent at once
    void (*warn)(void *ctx, const char *text);  // a message dropped (counted by the caller)
    void (*note)(void *ctx, const char *text);  // an event worth a log line (a recorder rejoined)
    void *ctx;
} stats_link_cfg_t;

//  Takes over router (a bound ROUTER socket with ROUTER_MANDATORY). NULL with err: out of memory.
stats_link_t *stats_link_new(zsock_t *router, const stats_link_cfg_t *cfg, mr_err_t *err);
void stats_link_destroy(stats_link_t **self_p);

//  The socket (to poll it).
zsock_t *stats_link_sock(stats_link_t *self);

//  Takes what waits on the socket: HELLOs and ACKs (at most a burst; poll again for more).
void stats_link_take(stats_link_t *self);

//  1 once a recorder said HELLO; 1 once it acknowledged the run's end (ACK with done).
int stats_link_joined(const stats_link_t *self);
int stats_link_done(const stats_link_t *self);

//  The RUN frame: kept, sent now and to every recorder that takes over. MR_OK or MR_ENOMEM.
int stats_link_send_run(stats_link_t *self, const msg_buf_t *frame);
//  1 if a kept frame of size bytes must wait for an acknowledgement first.
int stats_link_full(const stats_link_t *self, size_t size);
//  A STATS or CHECKPOINT frame with its order key: kept until acknowledged, sent if the
//  recorder's connection is there: now, or with the burst it is held for (hold_s). MR_OK,
//  MR_ENOMEM, or MR_EINVAL when full.
int stats_link_send_kept(stats_link_t *self, uint64_t order, const msg_buf_t *frame);
//  Sends the held frames if the first of them has waited hold_s (now: actor_now()).
void stats_link_tick(stats_link_t *self, double now);
//  Sends the held frames now (before waiting for an ACK that needs them).
void stats_link_flush(stats_link_t *self);
//  Kept frames held for a burst, not sent yet.
size_t stats_link_held(const stats_link_t *self);
//  The STOP frame: kept, sent now and to every recorder that takes over. MR_OK or MR_ENOMEM.
int stats_link_send_stop(stats_link_t *self, const msg_buf_t *frame);

//  Frames kept (not yet acknowledged), and the last round an ACK named (-1: none yet).
size_t stats_link_unacked(const stats_link_t *self);
int64_t stats_link_acked_round(const stats_link_t *self);

#endif
