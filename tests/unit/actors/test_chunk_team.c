//  test_chunk_team.c - chunk_team.h: every chunk of a loop runs exactly once, whether the owner
//  runs it alone or helpers take part; the owner returns only once all have run, their writes
//  visible; two owners at once each complete their own loop; a helper with nothing on offer
//  returns 0.
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "chunk_team.h"

#define NCHUNKS 8
#define LOOPS   400

//  A loop's chunks: each counts its runs and notes whether the owner ran it.
typedef struct {
    int runs[NCHUNKS];
    int by_owner[NCHUNKS];
    pthread_t owner;
    long work;  // iterations of busy work per chunk
    volatile double sink;
} s_loop_t;

static void
s_chunk(void *arg, size_t c)
{
    s_loop_t *l = arg;
    double acc = 0;
    for (long i = 0; i < l->work; i++)
        acc += (double) i * 1e-9;
    l->sink = acc;
    l->runs[c]++;  // one thread per chunk: no race if each runs once
    l->by_owner[c] = pthread_equal(pthread_self(), l->owner);
}

static void
test_alone_runs_every_chunk_once(void **state)
{
    (void) state;
    chunk_team_t *t = chunk_team_new();
    assert_non_null(t);
    assert_int_equal(chunk_team_help(t), 0);  // nothing on offer
    s_loop_t l = {.owner = pthread_self(), .work = 10};
    chunk_team_for(t, s_chunk, &l, NCHUNKS);
    for (int c = 0; c < NCHUNKS; c++) {
        assert_int_equal(l.runs[c], 1);
        assert_true(l.by_owner[c]);
    }
    chunk_team_for(t, s_chunk, &l, 0);  // no chunks: returns
    assert_int_equal(chunk_team_help(t), 0);
    chunk_team_destroy(&t);
    chunk_team_destroy(&t);  // safe twice
}

typedef struct {
    chunk_team_t *team;
    atomic_int stop;
    atomic_int helped;  // calls of chunk_team_help() that ran a chunk
} s_helpers_t;

static void *
s_helper_main(void *p)
{
    s_helpers_t *h = p;
    while (!atomic_load(&h->stop)) {
        if (chunk_team_help(h->team))
            atomic_fetch_add(&h->helped, 1);
        else
            sched_yield();
    }
    return NULL;
}

//  Two helpers poll while the owner runs LOOPS loops: each chunk of each loop ran exactly once by
//  the time chunk_team_for() returned, and the helpers ran some of them.
static void
test_helpers_share_the_chunks(void **state)
{
    (void) state;
    s_helpers_t h = {.team = chunk_team_new()};
    assert_non_null(h.team);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, s_helper_main, &h), 0);
    int not_owner = 0;
    for (int k = 0; k < LOOPS; k++) {
        s_loop_t l = {.owner = pthread_self(), .work = 20000};
        chunk_team_for(h.team, s_chunk, &l, NCHUNKS);
        for (int c = 0; c < NCHUNKS; c++) {
            assert_int_equal(l.runs[c], 1);
            not_owner += !l.by_owner[c];
        }
    }
    atomic_store(&h.stop, 1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_true(not_owner > 0);
    assert_true(atomic_load(&h.helped) > 0);
    assert_int_equal(chunk_team_help(h.team), 0);
    chunk_team_destroy(&h.team);
}

typedef struct {
    chunk_team_t *team;
    int ok;
} s_owner_t;

static void *
s_owner_main(void *p)
{
    s_owner_t *o = p;
    o->ok = 1;
    for (int k = 0; k < LOOPS; k++) {
        s_loop_t l = {.owner = pthread_self(), .work = 2000};
        chunk_team_for(o->team, s_chunk, &l, NCHUNKS);
        for (int c = 0; c < NCHUNKS; c++)
            o->ok &= l.runs[c] == 1;
    }
    return NULL;
}

//  Two owners and a helper at once: whoever finds the other's loop on offer runs its own alone;
//  every loop of both completes, each chunk once.
static void
test_two_owners_each_complete_their_loops(void **state)
{
    (void) state;
    s_helpers_t h = {.team = chunk_team_new()};
    assert_non_null(h.team);
    pthread_t helper, owner[2];
    s_owner_t o[2] = {{h.team, 0}, {h.team, 0}};
    assert_int_equal(pthread_create(&helper, NULL, s_helper_main, &h), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&owner[i], NULL, s_owner_main, &o[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(owner[i], NULL), 0);
    atomic_store(&h.stop, 1);
    assert_int_equal(pthread_join(helper, NULL), 0);
    assert_true(o[0].ok);
    assert_true(o[1].ok);
    chunk_team_destroy(&h.team);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_runs_every_chunk_once),
        cmocka_unit_test(test_helpers_share_the_chunks),
        cmocka_unit_test(test_two_owners_each_complete_their_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
