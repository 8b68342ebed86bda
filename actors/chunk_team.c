//  chunk_team.c - see chunk_team.h. The loop on offer is a job on its owner's stack: a mutex
//  guards which job is on offer and each helper's arrival, an atomic counter hands out the
//  chunks, and the owner takes its job back and waits for the helpers that came to leave before
//  it returns (so no helper touches the job after that).
#include "chunk_team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct {
    loss_chunk_fn fn;
    void *arg;
    size_t n;
    atomic_size_t next;  // the next chunk to hand out
    atomic_int helpers;  // helpers that took the job and have not left it
} s_job_t;

struct chunk_team {
    pthread_mutex_t lock;
    s_job_t *job;        // on offer, or NULL (under the lock)
    atomic_int offered;  // 1 while a job is on offer: a helper's look before it locks
};

chunk_team_t *
chunk_team_new(void)
{
    chunk_team_t *self = calloc(1, sizeof *self);
    if (self && pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void
chunk_team_destroy(chunk_team_t **self_p)
{
    chunk_team_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

//  Runs the job's chunks not yet taken; 1 if it ran any.
static int
s_work(s_job_t *job)
{
    int ran = 0;
    for (;;) {
        size_t c = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (c >= job->n)
            return ran;
        job->fn(job->arg, c);
        ran = 1;
    }
}

void
chunk_team_for(void *team, loss_chunk_fn fn, void *arg, size_t nchunks)
{
    chunk_team_t *self = team;
    s_job_t job = {.fn = fn, .arg = arg, .n = nchunks};
    atomic_init(&job.next, 0);
    atomic_init(&job.helpers, 0);
    pthread_mutex_lock(&self->lock);
    int mine = self->job == NULL;
    if (mine) {
        self->job = &job;
        atomic_store_explicit(&self->offered, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&self->lock);
    (void) s_work(&job);
    if (!mine)
        return;  // another loop was on offer: this one ran alone
    pthread_mutex_lock(&self->lock);
    self->job = NULL;
    atomic_store_explicit(&self->offered, 0, memory_order_relaxed);
    pthread_mutex_unlock(&self->lock);
    //  The helpers still in it finish their chunks (their release pairs with this acquire).
    while (atomic_load_explicit(&job.helpers, memory_order_acquire) > 0)
        sched_yield();
}

int
chunk_team_help(chunk_team_t *self)
{
    if (!atomic_load_explicit(&self->offered, memory_order_relaxed))
        return 0;
    pthread_mutex_lock(&self->lock);
    s_job_t *job = self->job;
    if (job)
        atomic_fetch_add_explicit(&job->helpers, 1, memory_order_relaxed);
    pthread_mutex_unlock(&self->lock);
    if (!job)
        return 0;
    int ran = s_work(job);
    atomic_fetch_sub_explicit(&job->helpers, 1, memory_order_release);
    return ran;
}
