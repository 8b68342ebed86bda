//  test_progress.c - `marina run`'s progress line: with stderr on a file, plain lines with every
//  field ("round k/K", rounds/s, ||grad f||^2, uplink bits/worker, ETA) whose numbers agree with
//  the rows the run recorded; with stderr on a terminal (a pseudo-terminal here), one line
//  rewritten in place with \r. No timing assertions: how many lines appear depends on the speed.
#define _XOPEN_SOURCE 700  // posix_openpt, grantpt, unlockpt, ptsname

#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "integration/proc_util.h"

//  The last line of text that starts with a progress line's "round ", and its numbers.
typedef struct {
    long long k, rounds;
    double gns, bits;
    int found;
} s_line_t;

static s_line_t
s_last_progress(const char *text)
{
    s_line_t last = {0};
    for (const char *p = strstr(text, "round "); p; p = strstr(p + 1, "round ")) {
        s_line_t l = {0};
        if (sscanf(p, "round %lld/%lld %*f rounds/s ||grad f||^2 = %lf uplink bits/worker = %lf",
                   &l.k, &l.rounds, &l.gns, &l.bits) == 4) {
            l.found = 1;
            last = l;
        }
    }
    return last;
}

static void
test_plain_lines_when_stderr_is_a_file(void **state)
{
    pu_fixture_t *f = *state;
    char dbarg[160];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *argv[] = {MARINA_BIN, "run", "rounds=600", "progress_s=0.01", dbarg, NULL};
    assert_int_equal(pu_run(argv, f->out, 120), 0);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "rounds/s  ||grad f||^2 = "));
    assert_non_null(strstr(out, "  uplink bits/worker = "));
    assert_non_null(strstr(out, "  ETA "));
    assert_null(strstr(out, "\r"));  // not a terminal: no line is rewritten
    s_line_t l = s_last_progress(out);
    free(out);
    assert_true(l.found);
    assert_int_equal(l.rounds, 600);
    assert_true(l.k >= 1 && l.k <= 600);
    // The numbers are the recorded ones: ||grad f||^2 of round k and the uplink bits of rounds
    // 0..k per worker (the paper's convention, as `marina query compare` counts them).
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT grad_norm_sq FROM rounds WHERE round = %lld", l.k);
    double gns = pu_query(f->db, sql);
    snprintf(sql, sizeof sql,
             "SELECT sum(bits_paper_up) * 1.0 / (SELECT n FROM runs) FROM rounds"
             " WHERE round <= %lld",
             l.k);
    double bits = pu_query(f->db, sql);
    assert_true(bits > 0);
    assert_true(fabs(l.gns - gns) <= 1e-4 * gns);
    assert_true(fabs(l.bits - bits) <= 1e-4 * bits);
}

static void
test_progress_s_zero_prints_no_line(void **state)
{
    pu_fixture_t *f = *state;
    char dbarg[160];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *argv[] = {MARINA_BIN, "run", "rounds=300", "progress_s=0", dbarg, NULL};
    assert_int_equal(pu_run(argv, f->out, 120), 0);
    char *out = pu_slurp(f->out);
    assert_null(strstr(out, "uplink bits/worker"));
    assert_non_null(strstr(out, "run 1 completed"));
    free(out);
}

static void
test_one_line_rewritten_in_place_on_a_terminal(void **state)
{
    pu_fixture_t *f = *state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    const char *slave = ptsname(master);
    assert_non_null(slave);
    char dbarg[160];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *argv[] = {MARINA_BIN, "run", "rounds=1500", "progress_s=0.01", dbarg, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, slave, O_RDWR | O_NOCTTY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addclose(&fa, master);
    pid_t pid = -1;
    assert_int_equal(posix_spawn(&pid, MARINA_BIN, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    // Read the terminal until the run ends (a full terminal buffer would block it).
    size_t cap = 1 << 20, used = 0;
    char *text = calloc(cap, 1);
    assert_non_null(text);
    int status = -1, exited = 0;
    double deadline = pu_now() + 120;
    while (pu_now() < deadline) {
        struct pollfd pfd = {master, POLLIN, 0};
        if (poll(&pfd, 1, 50) > 0 && (pfd.revents & POLLIN)) {
            ssize_t got = read(master, text + used, cap - 1 - used);
            if (got > 0)
                used += (size_t) got;
            else if (exited)
                break;
        } else if (exited) {
            break;  // ended, and nothing more to read
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    close(master);
    text[used] = '\0';
    assert_true(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // The live line: a carriage return, the line, an erase to the end of the line.
    assert_non_null(strstr(text, "\rround "));
    assert_non_null(strstr(text, "\033[K"));
    assert_non_null(strstr(text, "/1500  "));
    assert_non_null(strstr(text, "uplink bits/worker = "));
    // On a terminal the progress is not also logged as lines of the server's log.
    for (const char *p = strstr(text, "(marina-server)"); p; p = strstr(p + 1, "(marina-server)")) {
        size_t len = strcspn(p, "\r\n");
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int) (len < 511 ? len : 511), p);
        assert_null(strstr(line, "uplink bits/worker"));
    }
    s_line_t l = s_last_progress(text);
    assert_true(l.found);
    assert_int_equal(l.rounds, 1500);
    // The live line ends with a newline before the summary.
    char *summary = strstr(text, "run 1 completed");
    assert_non_null(summary);
    char *last_live = NULL;
    for (char *p = strstr(text, "\rround "); p; p = strstr(p + 1, "\rround "))
        last_live = p;
    assert_true(last_live < summary);
    assert_non_null(memchr(last_live, '\n', (size_t) (summary - last_live)));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_lines_when_stderr_is_a_file, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_progress_s_zero_prints_no_line, pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_one_line_rewritten_in_place_on_a_terminal, pu_setup,
                                        pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
