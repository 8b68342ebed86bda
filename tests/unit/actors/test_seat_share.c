//  test_seat_share.c - seat_share.h: one round's claims cover every seat exactly once from both
//  ends, a round begins only once the last is all claimed, a late host finds nothing, a closed
//  share hands out nothing; and threads claiming round after round at once (as the hosts do)
//  step every seat exactly once a round, in round order.
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "seat_share.h"

static void
test_one_round_covers_every_seat_once_from_both_ends(void **state)
{
    (void) state;
    seat_share_t *s = seat_share_new(29);
    assert_non_null(s);
    int seen[29] = {0};
    size_t first, count;
    int turns = 0;
    size_t lo = 0, hi = 29;  // the low end grows up from 0, the high end down from 28
    for (int top = 0;; top ^= 1, turns++) {
        share_claim_t got = seat_share_claim(s, 0, 4, top, &first, &count);
        if (got == SHARE_NONE)
            break;
        assert_int_equal(got, SHARE_TAKEN);
        assert_true(count >= 1 && count <= 4 && first + count <= 29);
        if (top) {
            assert_int_equal(first + count, hi);
            hi = first;
        } else {
            assert_int_equal(first, lo);
            lo = first + count;
        }
        for (size_t i = first; i < first + count; i++)
            seen[i]++;
        seat_share_done(s);
    }
    assert_int_equal(turns, 8);  // 29 seats in chunks of 4: 7 full and one of 1
    for (int i = 0; i < 29; i++)
        assert_int_equal(seen[i], 1);
    //  A host that takes round 0 late finds it done; round 1 starts afresh.
    assert_int_equal(seat_share_claim(s, 0, 4, 0, &first, &count), SHARE_NONE);
    assert_int_equal(count, 0);
    assert_int_equal(seat_share_claim(s, 1, 100, 0, &first, &count), SHARE_TAKEN);
    assert_int_equal(first, 0);
    assert_int_equal(count, 29);
    seat_share_done(s);
    seat_share_destroy(&s);
    assert_null(s);
}

static void
test_a_round_waits_for_the_last_to_be_claimed(void **state)
{
    (void) state;
    seat_share_t *s = seat_share_new(10);
    size_t first, count;
    assert_int_equal(seat_share_claim(s, 4, 3, 0, &first, &count), SHARE_TAKEN);
    assert_int_equal(first, 0);
    //  A host already in round 5 while seats of round 4 are unclaimed must wait ...
    assert_int_equal(seat_share_claim(s, 5, 3, 1, &first, &count), SHARE_WAIT);
    assert_int_equal(count, 0);
    //  ... until they are; a round older than the one being claimed gets nothing.
    assert_int_equal(seat_share_claim(s, 4, 7, 1, &first, &count), SHARE_TAKEN);
    assert_int_equal(first, 3);
    assert_int_equal(count, 7);
    assert_int_equal(seat_share_claim(s, 5, 3, 1, &first, &count), SHARE_TAKEN);
    assert_int_equal(first, 7);
    assert_int_equal(seat_share_claim(s, 4, 3, 0, &first, &count), SHARE_NONE);
    seat_share_done(s);
    seat_share_done(s);
    seat_share_done(s);
    //  Registered seats are found by index; others are NULL.
    int a, b;
    seat_share_put(s, 0, &a);
    seat_share_put(s, 9, &b);
    seat_share_put(s, 10, &b);  // out of range: ignored
    assert_ptr_equal(seat_share_seat(s, 0), &a);
    assert_ptr_equal(seat_share_seat(s, 9), &b);
    assert_null(seat_share_seat(s, 5));
    assert_null(seat_share_seat(s, 10));
    seat_share_close(s);
    assert_int_equal(seat_share_claim(s, 6, 3, 0, &first, &count), SHARE_CLOSED);
    seat_share_destroy(&s);
}

#define N_SEATS   203
#define N_ROUNDS  400
#define N_THREADS 4

typedef struct {
    seat_share_t *share;
    int top;
    uint64_t next[N_SEATS];  // shared: seat i's next round (what a seat's lock guards in worker.c)
    pthread_mutex_t *locks;
    int *steps;  // steps[r * N_SEATS + i]: times seat i was stepped in round r
    int out_of_order;
} s_world_t;

typedef struct {
    s_world_t *w;
    int top;
} s_arg_t;

static void *
s_host(void *p)
{
    s_arg_t *a = p;
    s_world_t *w = a->w;
    for (uint64_t k = 0; k < N_ROUNDS; k++) {
        for (;;) {
            size_t first, count;
            share_claim_t got = seat_share_claim(w->share, k, 5, a->top, &first, &count);
            if (got == SHARE_NONE)
                break;
            if (got == SHARE_WAIT)
                continue;
            for (size_t i = first; i < first + count; i++) {
                //  Spins until the seat has stepped round k - 1, as s_step_shared() does.
                for (int done = 0; !done;) {
                    pthread_mutex_lock(&w->locks[i]);
                    if (w->next[i] == k) {
                        w->steps[k * N_SEATS + i]++;
                        w->next[i] = k + 1;
                        done = 1;
                    } else if (w->next[i] > k) {
                        w->out_of_order = 1;
                        done = 1;
                    }
                    pthread_mutex_unlock(&w->locks[i]);
                }
            }
            seat_share_done(w->share);
        }
    }
    return NULL;
}

static void
test_threads_step_every_seat_once_a_round(void **state)
{
    (void) state;
    s_world_t w = {0};
    w.share = seat_share_new(N_SEATS);
    w.locks = calloc(N_SEATS, sizeof *w.locks);
    w.steps = calloc((size_t) N_ROUNDS * N_SEATS, sizeof *w.steps);
    assert_true(w.share && w.locks && w.steps);
    for (int i = 0; i < N_SEATS; i++)
        pthread_mutex_init(&w.locks[i], NULL);
    pthread_t t[N_THREADS];
    s_arg_t args[N_THREADS];
    for (int h = 0; h < N_THREADS; h++) {
        args[h] = (s_arg_t){&w, h % 2};
        assert_int_equal(pthread_create(&t[h], NULL, s_host, &args[h]), 0);
    }
    for (int h = 0; h < N_THREADS; h++)
        pthread_join(t[h], NULL);
    long wrong = 0;
    for (long j = 0; j < (long) N_ROUNDS * N_SEATS; j++)
        wrong += w.steps[j] != 1;
    assert_int_equal(wrong, 0);
    assert_int_equal(w.out_of_order, 0);
    for (int i = 0; i < N_SEATS; i++) {
        assert_int_equal(w.next[i], N_ROUNDS);
        pthread_mutex_destroy(&w.locks[i]);
    }
    free(w.locks);
    free(w.steps);
    seat_share_destroy(&w.share);
}

//  seat_share_busy(): 1 exactly while a claim of round k is in flight, never for another round,
//  and never once the share is closed; the share's chunk team is there and stays the same.
static void
test_busy_while_a_claim_of_the_round_is_in_flight(void **state)
{
    (void) state;
    seat_share_t *sh = seat_share_new(4);
    assert_non_null(sh);
    assert_non_null(seat_share_team(sh));
    assert_ptr_equal(seat_share_team(sh), seat_share_team(sh));
    assert_false(seat_share_busy(sh, 0));  // nothing begun
    size_t first, count;
    assert_int_equal(seat_share_claim(sh, 0, 2, 0, &first, &count), SHARE_TAKEN);
    assert_true(seat_share_busy(sh, 0));
    assert_false(seat_share_busy(sh, 1));
    assert_int_equal(seat_share_claim(sh, 0, 2, 1, &first, &count), SHARE_TAKEN);
    seat_share_done(sh);
    assert_true(seat_share_busy(sh, 0));  // the other claim is still out
    seat_share_done(sh);
    assert_false(seat_share_busy(sh, 0));
    assert_int_equal(seat_share_claim(sh, 1, 4, 0, &first, &count), SHARE_TAKEN);
    assert_false(seat_share_busy(sh, 0));  // round 1 began
    assert_true(seat_share_busy(sh, 1));
    seat_share_done(sh);
    seat_share_close(sh);
    assert_false(seat_share_busy(sh, 1));
    seat_share_destroy(&sh);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_round_covers_every_seat_once_from_both_ends),
        cmocka_unit_test(test_a_round_waits_for_the_last_to_be_claimed),
        cmocka_unit_test(test_threads_step_every_seat_once_a_round),
        cmocka_unit_test(test_busy_while_a_claim_of_the_round_is_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
