//  outbox.h - the frames a peer has not acknowledged yet: the server keeps every RUN-after STATS
//  and CHECKPOINT frame it sent the recorder until the recorder says they are committed (ACK), so
//  that a recorder killed and restarted gets them again (docs/protocol.md, "The stats link").
//  A FIFO of copies, each with an order key (increasing); bounded by a number of frames and of
//  bytes. Not thread-safe; one per server.
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stddef.h>
#include <stdint.h>

typedef struct outbox outbox_t;

//  An empty outbox holding at most max_frames frames and max_bytes bytes. NULL: out of memory.
outbox_t *outbox_new(size_t max_frames, size_t max_bytes);
void outbox_destroy(outbox_t **self_p);

//  1 if a frame of size bytes does not fit now (the caller waits for an acknowledgement). An
//  empty outbox always takes one frame, whatever its size.
int outbox_full(const outbox_t *self, size_t size);
//  Appends a copy of data[0..size) with key order (>= every key in the outbox). MR_OK, MR_ENOMEM,
//  or MR_EINVAL when full or when order goes back.
int outbox_push(outbox_t *self, uint64_t order, const void *data, size_t size);
//  Drops the frames whose key is <= order; returns how many.
size_t outbox_ack(outbox_t *self, uint64_t order);

//  Frames kept, bytes kept, and frame i (0 = the oldest) with its size and key.
size_t outbox_count(const outbox_t *self);
size_t outbox_bytes(const outbox_t *self);
const void *outbox_frame(const outbox_t *self, size_t i, size_t *size, uint64_t *order);

#endif
