//  seat_share.h - the honest seats of one process's worker hosts, shared out round by round, so
//  that the hosts end a round together however the machine schedules them: a host that shares its
//  core with the server steps fewer seats, the other more. Each host that takes a ROUND claims
//  chunks of seats of that round not claimed yet (even hosts from the lowest id up, odd hosts from
//  the highest down, so that a seat mostly stays with one host), and steps them.
//
//  The share only counts and hands out indices; the seats themselves are the hosts' (worker.c),
//  registered here by index so that any host can reach them, each stepped under its own lock. A
//  round's claims begin only once every seat of the round before has been claimed (a host that
//  is a round ahead waits: seat_share_claim() says SHARE_WAIT). A host left with no seat to claim
//  helps with the chunks of the gradients still being computed (seat_share_team()). Thread-safe;
//  it outlives the hosts that use it.
#ifndef SEAT_SHARE_H
#define SEAT_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "chunk_team.h"

typedef struct seat_share seat_share_t;

//  A share of nseats seats (ids 0..nseats-1), none registered. NULL: out of memory.
seat_share_t *seat_share_new(size_t nseats);
void seat_share_destroy(seat_share_t **self_p);

size_t seat_share_size(const seat_share_t *self);

//  Registers the seat of index i (its worker id) before the host says HELLO; seat_share_seat()
//  returns it (NULL before).
void seat_share_put(seat_share_t *self, size_t i, void *seat);
void *seat_share_seat(const seat_share_t *self, size_t i);

typedef enum {
    SHARE_TAKEN = 0,  // [*first, *first + *count) are the caller's to step in this round
    SHARE_NONE = 1,   // every seat of this round is claimed (or a later round began): done
    SHARE_WAIT = 2,   // the round before is not all claimed yet: claim again shortly
    SHARE_CLOSED = 3  // a host has left (seat_share_close()): claim nothing more
} share_claim_t;

//  Claims up to chunk seats of round k, from the lowest unclaimed id (from_top = 0) or the
//  highest (1). Each SHARE_TAKEN must be followed by seat_share_done() once those seats are
//  stepped (or abandoned).
share_claim_t seat_share_claim(
    seat_share_t *self, uint64_t k, size_t chunk, int from_top, size_t *first, size_t *count);
void seat_share_done(seat_share_t *self);

//  1 while round k is the round being claimed and a claim of it is not done yet: another host is
//  still stepping seats of k (a host with none left may help it: seat_share_team()).
int seat_share_busy(seat_share_t *self, uint64_t k);

//  The hosts' team for the chunks of one seat's gradient (chunk_team.h), the share's own.
chunk_team_t *seat_share_team(seat_share_t *self);

//  A host that ends: no seat is claimed from now on, and once this returns no other host is
//  stepping one (it waits for the claims in flight), so the host may free its seats.
void seat_share_close(seat_share_t *self);

#endif
