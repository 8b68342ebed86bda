//  frame_pool.c - see frame_pool.h.
#include "frame_pool.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

//  A slot per cache line: its busy flag is written by the sender and, on release, by whichever
//  thread ZeroMQ closes the frame in (the server's), so two slots on one line would make the
//  line go back and forth between their cores.
typedef struct {
    _Alignas(64) frame_pool_t *pool;
    msg_buf_t buf;
    atomic_int busy;  // 1 from the send until ZeroMQ hands the buffer back
} s_slot_t;

struct frame_pool {
    size_t nslots;
    atomic_size_t refs;  // the owner's reference plus one per buffer in flight
    msg_buf_t spare;     // for the copied sends, when every slot is busy
    s_slot_t slots[];
};

static void
s_free_pool(frame_pool_t *self)
{
    for (size_t i = 0; i < self->nslots; i++)
        msg_buf_fini(&self->slots[i].buf);
    msg_buf_fini(&self->spare);
    free(self);
}

static void
s_unref(frame_pool_t *self)
{
    if (atomic_fetch_sub_explicit(&self->refs, 1, memory_order_acq_rel) == 1)
        s_free_pool(self);
}

//  ZeroMQ's release of a buffer (any thread): the slot is free again.
static void
s_released(void *data, void *hint)
{
    (void) data;
    s_slot_t *slot = hint;
    frame_pool_t *pool = slot->pool;
    atomic_store_explicit(&slot->busy, 0, memory_order_release);
    s_unref(pool);
}

frame_pool_t *
frame_pool_new(size_t slots)
{
    if (slots < 1)
        return NULL;
    size_t bytes = sizeof(frame_pool_t) + slots * sizeof(s_slot_t);
    frame_pool_t *self = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!self)
        return NULL;
    memset(self, 0, bytes);
    self->nslots = slots;
    atomic_init(&self->refs, 1);
    for (size_t i = 0; i < slots; i++) {
        self->slots[i].pool = self;
        atomic_init(&self->slots[i].busy, 0);
    }
    return self;
}

void
frame_pool_destroy(frame_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_unref(*self_p);
    *self_p = NULL;
}

//  The first free slot: the buffers used are as few as the frames in flight, so they stay in the
//  caches (a round robin over every slot walked all of them, cold, each round).
static s_slot_t *
s_free_slot(frame_pool_t *self)
{
    for (size_t t = 0; t < self->nslots; t++) {
        s_slot_t *slot = &self->slots[t];
        if (atomic_load_explicit(&slot->busy, memory_order_acquire) == 0)
            return slot;
    }
    return NULL;
}

int
frame_pool_send(frame_pool_t *self, void *sock, const msg_t *m, int flags)
{
    s_slot_t *slot = s_free_slot(self);
    msg_buf_t *buf = slot ? &slot->buf : &self->spare;
    if (msg_encode(m, buf) != MR_OK) {
        errno = ENOMEM;
        return -1;
    }
    int size = (int) buf->size;
    if (!slot)
        return zmq_send(sock, buf->data, buf->size, flags) < 0 ? -1 : size;
    zmq_msg_t frame;
    atomic_store_explicit(&slot->busy, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&self->refs, 1, memory_order_relaxed);
    if (zmq_msg_init_data(&frame, buf->data, buf->size, s_released, slot) != 0) {
        atomic_store_explicit(&slot->busy, 0, memory_order_relaxed);
        atomic_fetch_sub_explicit(&self->refs, 1, memory_order_relaxed);
        return -1;
    }
    if (zmq_msg_send(&frame, sock, flags) < 0) {
        int e = errno;
        zmq_msg_close(&frame);  // hands the buffer back (s_released)
        errno = e;
        return -1;
    }
    return size;
}

size_t
frame_pool_in_flight(const frame_pool_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nslots; i++)
        n += atomic_load_explicit(&self->slots[i].busy, memory_order_acquire) != 0;
    return n;
}
