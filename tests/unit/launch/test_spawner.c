//  test_spawner.c - spawn_reap() returns every child that failed once, one a call, however many
//  end in the same sweep (a launcher that lost two workers at once hears of both); a child that
//  exits 0 is reaped and never returned.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "spawner.h"

static void
test_children_that_fail_together_are_each_returned_once(void **state)
{
    (void) state;
    spawn_t sp;
    spawn_init(&sp);
    mr_err_t err;
    char *fail[] = {"/bin/sh", "-c", "exit 3", NULL};
    char *pass[] = {"/bin/sh", "-c", "exit 0", NULL};
    assert_int_equal(spawn_start(&sp, "worker 0", fail, -1, &err), MR_OK);
    assert_int_equal(spawn_start(&sp, "worker 1", pass, -1, &err), MR_OK);
    assert_int_equal(spawn_start(&sp, "worker 2", fail, -1, &err), MR_OK);
    assert_int_equal(spawn_start(&sp, "worker 3", fail, -1, &err), MR_OK);
    //  Wait until all four have ended, without reaping them (each is then a zombie).
    struct timespec tick = {0, 50 * 1000 * 1000};
    for (int i = 0; i < 10; i++)
        nanosleep(&tick, NULL);
    int seen[4] = {0};
    for (int call = 0; call < 3; call++) {
        int bad = spawn_reap(&sp);
        assert_true(bad == 0 || bad == 2 || bad == 3);
        seen[bad]++;
    }
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[2], 1);
    assert_int_equal(seen[3], 1);
    assert_int_equal(spawn_reap(&sp), -1);  // each once
    assert_int_equal(spawn_running(&sp), 0);
    assert_int_equal(sp.children[1].done, 1);  // the one that passed was reaped too
    spawn_fini(&sp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_children_that_fail_together_are_each_returned_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
