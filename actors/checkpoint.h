//  checkpoint.h - the checkpoint of a run (docs/schema.md, "checkpoints"): what the server and
//  every seat (worker or attacker) need to go on after round `round`, as one byte string that the
//  recorder stores and `marina run --resume` hands back to the actors. Layout (state.h stream):
//  the tag "marina-checkpoint-v1", round, the join configuration's digest (a checkpoint of
//  another configuration is refused), n, the run's wall time at that round, the g^{k-1} every
//  worker held (the last ROUND's; 0 bytes before round 1), the server's state and one state per
//  seat (length-prefixed, opaque here: server_checkpoint.c and worker.c write and read them).
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "state.h"

typedef struct {
    uint64_t round;       // the last round the states include
    uint64_t cfg_digest;  // FNV-1a 64 of the run's join configuration
    double elapsed_s;     // the run's wall time at that round (wall_time_s goes on from it)
    size_t n;             // seats
    const uint8_t *g;     // the last ROUND's g as 8 d native doubles, or NULL (g_bytes 0)
    size_t g_bytes;
    const uint8_t *server;  // the server's state
    size_t server_bytes;
    const uint8_t **seat;  // n seat states (seat[i] for worker i)
    size_t *seat_bytes;
} checkpoint_t;

//  Writes c into out (a saving stream). MR_OK or MR_ENOMEM.
int checkpoint_pack(const checkpoint_t *c, state_t *out, mr_err_t *err);

//  Reads data[0..size) into c, whose pointers then point into data; c->seat and c->seat_bytes
//  are allocated (checkpoint_fini frees them). Checks the tag, that n and the digest are the
//  run's (want_n, want_digest), and the length of every part. MR_OK or an error naming the
//  problem.
int checkpoint_parse(const void *data,
                     size_t size,
                     size_t want_n,
                     uint64_t want_digest,
                     checkpoint_t *c,
                     mr_err_t *err);
void checkpoint_fini(checkpoint_t *c);

//  Reads a whole file (a checkpoint handed to an actor: `--resume FILE`) into a malloc'd buffer.
int checkpoint_read_file(const char *path, uint8_t **data, size_t *size, mr_err_t *err);

#endif
