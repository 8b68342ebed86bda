//  chunk_team.h - the chunks of one loop, shared between the thread that runs it and the idle
//  threads that come to help: the worker hosts of one process, so that a host with no seat left
//  to step in a round takes part of another host's last gradient (optim/loss_split.h) instead of
//  waiting for it. The thread that runs the loop offers it, takes its chunks from the first on,
//  and returns once every chunk is done; a helper takes the next chunk not yet taken, until none
//  is left. Which thread runs which chunk changes nothing that a chunk computes.
//
//  One loop is on offer at a time; a thread that finds another's on offer runs its own alone.
//  Thread-safe; the team outlives the threads that use it.
#ifndef CHUNK_TEAM_H
#define CHUNK_TEAM_H

#include <stddef.h>

#include "loss_split.h"

typedef struct chunk_team chunk_team_t;

//  A team with no loop on offer. NULL: out of memory.
chunk_team_t *chunk_team_new(void);
void chunk_team_destroy(chunk_team_t **self_p);

//  A loss_for_fn (ctx is the team): runs fn(arg, c) for every c < nchunks, offering them to
//  helpers meanwhile, and returns once all have run, their writes visible here.
void chunk_team_for(void *team, loss_chunk_fn fn, void *arg, size_t nchunks);

//  An idle thread: runs chunks of the loop on offer, if there is one. 1 if it ran one, else 0.
int chunk_team_help(chunk_team_t *self);

#endif
