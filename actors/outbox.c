//  outbox.c - see outbox.h.
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

#include "mr_err.h"

typedef struct {
    uint64_t order;
    size_t size;
    void *data;
} s_frame_t;

struct outbox {
    s_frame_t *ring;  // max_frames slots; count frames from head on
    size_t max_frames, max_bytes;
    size_t head, count, bytes;
};

outbox_t *
outbox_new(size_t max_frames, size_t max_bytes)
{
    outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max_frames = max_frames ? max_frames : 1;
    self->max_bytes = max_bytes;
    self->ring = calloc(self->max_frames, sizeof *self->ring);
    if (!self->ring) {
        free(self);
        return NULL;
    }
    return self;
}

void
outbox_destroy(outbox_t **self_p)
{
    outbox_t *self = *self_p;
    if (!self)
        return;
    outbox_ack(self, UINT64_MAX);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

int
outbox_full(const outbox_t *self, size_t size)
{
    if (self->count == 0)
        return 0;
    return self->count == self->max_frames || size > self->max_bytes - self->bytes ||
           self->bytes > self->max_bytes;
}

int
outbox_push(outbox_t *self, uint64_t order, const void *data, size_t size)
{
    if (outbox_full(self, size))
        return MR_EINVAL;
    if (self->count > 0) {
        const s_frame_t *last = &self->ring[(self->head + self->count - 1) % self->max_frames];
        if (order < last->order)
            return MR_EINVAL;
    }
    void *copy = malloc(size ? size : 1);
    if (!copy)
        return MR_ENOMEM;
    if (size)
        memcpy(copy, data, size);
    s_frame_t *slot = &self->ring[(self->head + self->count) % self->max_frames];
    *slot = (s_frame_t){order, size, copy};
    self->count++;
    self->bytes += size;
    return MR_OK;
}

size_t
outbox_ack(outbox_t *self, uint64_t order)
{
    size_t dropped = 0;
    while (self->count > 0 && self->ring[self->head].order <= order) {
        s_frame_t *f = &self->ring[self->head];
        self->bytes -= f->size;
        free(f->data);
        *f = (s_frame_t){0};
        self->head = (self->head + 1) % self->max_frames;
        self->count--;
        dropped++;
    }
    return dropped;
}

size_t
outbox_count(const outbox_t *self)
{
    return self->count;
}

size_t
outbox_bytes(const outbox_t *self)
{
    return self->bytes;
}

const void *
outbox_frame(const outbox_t *self, size_t i, size_t *size, uint64_t *order)
{
    if (i >= self->count)
        return NULL;
    const s_frame_t *f = &self->ring[(self->head + i) % self->max_frames];
    if (size)
        *size = f->size;
    if (order)
        *order = f->order;
    return f->data;
}
