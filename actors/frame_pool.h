//  frame_pool.h - encoded frames handed to ZeroMQ without a copy, in buffers that are reused.
//
//  frame_pool_send() encodes a message into a free buffer of the pool and gives that buffer to
//  ZeroMQ (zmq_msg_init_data); ZeroMQ hands it back, from whichever thread releases the message
//  (the receiver over inproc, the I/O thread over tcp), and the next send reuses it with its
//  capacity: no copy of the frame, no fresh memory for the kernel to fault in. When every buffer
//  is in flight, the frame is sent the usual way (copied by zmq_send). One thread sends; any
//  thread may release. frame_pool_destroy() may run while buffers are still in flight: the last
//  one back frees the pool.
#ifndef FRAME_POOL_H
#define FRAME_POOL_H

#include <stddef.h>

#include "msg.h"

typedef struct frame_pool frame_pool_t;

//  A pool of `slots` buffers (>= 1); NULL if out of memory.
frame_pool_t *frame_pool_new(size_t slots);
void frame_pool_destroy(frame_pool_t **self_p);

//  Encodes m and sends it on the raw ZeroMQ socket sock (flags as zmq_send). Returns the frame's
//  size in bytes, or -1 (errno set: ENOMEM if m does not encode, else zmq_send's).
int frame_pool_send(frame_pool_t *self, void *sock, const msg_t *m, int flags);

//  Buffers in flight now (for tests).
size_t frame_pool_in_flight(const frame_pool_t *self);

#endif
