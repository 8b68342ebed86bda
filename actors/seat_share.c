//  seat_share.c - see seat_share.h. One mutex guards the round being shared out and its two
//  claim fronts; a claim is a few loads and stores under it, a few hundred a round.
#include "seat_share.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

struct seat_share {
    pthread_mutex_t lock;
    size_t nseats;
    _Atomic(void *) *seats;  // registered seats, by index
    int started;             // a round has begun
    uint64_t round;          // the round being claimed
    size_t lo, hi;           // its unclaimed seats: [lo, hi)
    size_t inflight;         // claims taken and not done
    int closed;
    chunk_team_t *team;
};

seat_share_t *
seat_share_new(size_t nseats)
{
    seat_share_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->seats = calloc(nseats ? nseats : 1, sizeof *self->seats);
    self->team = chunk_team_new();
    if (!self->seats || !self->team || pthread_mutex_init(&self->lock, NULL) != 0) {
        chunk_team_destroy(&self->team);
        free(self->seats);
        free(self);
        return NULL;
    }
    self->nseats = nseats;
    return self;
}

void
seat_share_destroy(seat_share_t **self_p)
{
    seat_share_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_destroy(&self->lock);
    chunk_team_destroy(&self->team);
    free(self->seats);
    free(self);
    *self_p = NULL;
}

size_t
seat_share_size(const seat_share_t *self)
{
    return self->nseats;
}

void
seat_share_put(seat_share_t *self, size_t i, void *seat)
{
    if (i < self->nseats)
        atomic_store_explicit(&self->seats[i], seat, memory_order_release);
}

void *
seat_share_seat(const seat_share_t *self, size_t i)
{
    return i < self->nseats ? atomic_load_explicit(&self->seats[i], memory_order_acquire) : NULL;
}

//  Claims up to chunk of the unclaimed seats of the round being shared out (under the lock).
static share_claim_t
s_take(seat_share_t *self, size_t chunk, int from_top, size_t *first, size_t *count)
{
    size_t left = self->hi - self->lo, take = chunk < left ? chunk : left;
    if (take == 0 && left > 0)
        take = 1;  // (chunk 0)
    if (take == 0)
        return SHARE_NONE;
    if (from_top) {
        self->hi -= take;
        *first = self->hi;
    } else {
        *first = self->lo;
        self->lo += take;
    }
    *count = take;
    self->inflight++;
    return SHARE_TAKEN;
}

share_claim_t
seat_share_claim(
    seat_share_t *self, uint64_t k, size_t chunk, int from_top, size_t *first, size_t *count)
{
    share_claim_t got = SHARE_NONE;  // also: a later round began, so this one was all claimed
    *count = 0;
    pthread_mutex_lock(&self->lock);
    if (self->closed) {
        got = SHARE_CLOSED;
    } else if (self->started && self->round == k) {
        got = s_take(self, chunk, from_top, first, count);
    } else if (!self->started || self->round < k) {
        if (self->started && self->lo < self->hi) {
            got = SHARE_WAIT;
        } else {
            self->started = 1;
            self->round = k;
            self->lo = 0;
            self->hi = self->nseats;
            got = s_take(self, chunk, from_top, first, count);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return got;
}

void
seat_share_done(seat_share_t *self)
{
    pthread_mutex_lock(&self->lock);
    if (self->inflight > 0)
        self->inflight--;
    pthread_mutex_unlock(&self->lock);
}

int
seat_share_busy(seat_share_t *self, uint64_t k)
{
    pthread_mutex_lock(&self->lock);
    int busy = !self->closed && self->started && self->round == k && self->inflight > 0;
    pthread_mutex_unlock(&self->lock);
    return busy;
}

chunk_team_t *
seat_share_team(seat_share_t *self)
{
    return self->team;
}

void
seat_share_close(seat_share_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->closed = 1;
    while (self->inflight > 0) {
        pthread_mutex_unlock(&self->lock);
        sched_yield();
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
}
