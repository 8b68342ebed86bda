//  test_resume_keys.c - `marina run --resume RUN key=value`: a resumed run keeps the configuration
//  it was recorded with. A key that would change its results (k, seed, rounds, dataset, method)
//  is refused with exit 2, naming the key, and changes nothing in the database; keys local to
//  this launch (timeout_s, progress_s) are taken and the run completes. The run to resume is a
//  real one interrupted with SIGINT (status 'aborted') after its first checkpoints.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proc_util.h"

#define ROUNDS 6000

static int
s_resume(pu_fixture_t *f, const char *extra)
{
    char dbarg[200];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *argv[] = {MARINA_BIN, "run",          "--resume",     "1",
                    dbarg,      "progress_s=0", (char *) extra, NULL};
    return pu_run(argv, f->out, 120);
}

static void
test_a_resumed_run_takes_only_local_keys(void **state)
{
    pu_fixture_t *f = *state;
    char dbarg[200], rounds[32];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    snprintf(rounds, sizeof rounds, "rounds=%d", ROUNDS);
    char *argv[] = {MARINA_BIN,     "run", rounds, "seed=3", "checkpoint_every=100",
                    "progress_s=0", dbarg, NULL};
    pid_t launcher = pu_spawn(argv, f->out);
    assert_true(launcher > 0);
    double deadline = pu_now() + 60;
    while (pu_now() < deadline &&
           !(pu_query(f->db, "SELECT count(*) FROM checkpoints WHERE round >= 300") >= 1))
        pu_sleep_ms(5);
    assert_int_equal(kill(launcher, SIGINT), 0);
    assert_int_not_equal(pu_wait(launcher, 60), 0);
    char *status = pu_query_text(f->db, "SELECT status FROM runs WHERE id = 1");
    assert_non_null(status);
    assert_string_equal(status, "aborted");
    free(status);
    double rows = pu_query(f->db, "SELECT count(*) FROM rounds");
    assert_true(rows >= 300 && rows < ROUNDS + 1);

    static const char *const refused[] = {"k=5", "seed=4", "rounds=10", "dataset=mushrooms",
                                          "method=gd"};
    for (size_t t = 0; t < sizeof refused / sizeof refused[0]; t++) {
        assert_int_equal(s_resume(f, refused[t]), 2);
        char *log = pu_slurp(f->out);
        assert_non_null(log);
        char want[80];
        snprintf(want, sizeof want, "'%s': a resumed run keeps its configuration", refused[t]);
        if (!strstr(log, want))
            fail_msg("--resume with %s: no '%s' in: %s", refused[t], want, log);
        free(log);
        assert_true(pu_query(f->db, "SELECT status = 'aborted' AND resumes = 0 FROM runs") == 1);
        assert_true(pu_query(f->db, "SELECT count(*) FROM rounds") == rows);
    }

    assert_int_equal(s_resume(f, "timeout_s=30"), 0);
    assert_true(pu_run_complete(f->db, 1, ROUNDS));
    assert_true(pu_query(f->db, "SELECT resumes = 1 FROM runs") == 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_resumed_run_takes_only_local_keys, pu_setup,
                                        pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
