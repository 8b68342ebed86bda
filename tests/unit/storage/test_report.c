//  test_report.c - report_print(): the cost to a target with and without round 0, bits per
//  worker, and the stepsize picked best in hindsight among runs that differ only in gamma.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "report.h"
#include "test_util.h"

typedef struct {
    char dir[64];    // mkdtemp directory, removed in teardown
    char path[128];  // <dir>/results.db
} fixture_t;

//  One run: n = 5 workers, round 0 costs 1000 bits and 50 oracle calls, every later round 100
//  bits and 10 calls; ||grad f(x^k)||^2 = rate^k (so 1 at round 0).
static void
s_add_run(db_t *db,
          const char *name,
          const char *k,
          const char *gamma_key,
          double gamma,
          uint64_t seed,
          double rate,
          uint64_t rounds)
{
    char config[512];
    snprintf(config, sizeof config,
             "method = diana\nk = %s\ngamma = %s\nseed = %llu\nname = %s\nrounds = %llu\n"
             "launch = 4242-%s\n"  // each run's own marina run: not part of its group
             "; resolved: gamma = %.17g, p = 1, alpha = 0.1\n"
             "; derived: d = 113, L = 3.4\n"
             "; data: path = /data/mushrooms, sha256 = f39a\n",
             k, gamma_key, (unsigned long long) seed, name, (unsigned long long) rounds, name,
             gamma);
    run_info_t run = {.name = name,
                      .version = "test",
                      .config = config,
                      .seed = seed,
                      .method = "diana",
                      .compressor = "randk",
                      .n = 5,
                      .dim = 113,
                      .dataset = "/data/mushrooms",
                      .start_time = 1700000000.0,
                      .f_star = NAN,
                      .problem = "sha256:f39a bias=1"};
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, NULL), MR_OK);
    for (uint64_t r = 0; r <= rounds; r++) {
        round_stats_t row = {.round = r,
                             .coin = r == 0,
                             .f = 1.0,
                             .grad_norm_sq = pow(rate, (double) r),
                             .bits_paper_up = r == 0 ? 1000 : 100,
                             .oracle_calls = r == 0 ? 50 : 10,
                             .participants = 5,
                             .gap = NAN};
        assert_int_equal(db_round_add(db, id, &row, NULL), MR_OK);
    }
    assert_int_equal(db_run_finish(db, id, "completed", NULL, NULL), MR_OK);
}

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-report-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/results.db", f->dir);
    db_t *db = db_open(f->path, NULL);
    assert_non_null(db);
    //  A stepsize search over gamma in {0.5, 0.05} (two seeds of 0.05), and one run of another
    //  problem (K = 5) with its theory stepsize alone.
    s_add_run(db, "a-0.5", "10", "0.5", 0.5, 1, 0.9, 10);
    s_add_run(db, "a-0.05", "10", "0.05", 0.05, 1, 0.5, 10);
    s_add_run(db, "a-0.05-s2", "10", "0.05", 0.05, 2, 0.6, 10);
    s_add_run(db, "b", "5", "theory", 0.0137, 1, 0.8, 10);
    db_close(&db);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    const char *suffix[] = {"", "-wal", "-shm"};
    char path[160];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", f->path, suffix[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

//  The report as text (caller frees).
static char *
s_report(const fixture_t *f, const report_cfg_t *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    mr_err_t err = {0};
    int rc = report_print(f->path, cfg, out, &err);
    fclose(out);
    if (rc != MR_OK)
        print_error("%s\n", err.text);
    assert_int_equal(rc, MR_OK);
    return text;
}

static void
test_counts_bits_per_worker_with_or_without_round_zero(void **state)
{
    fixture_t *f = *state;
    //  Run 2 (rate 0.5) first reaches 0.1 of the start at round 4 (0.0625): rounds 1..4 cost
    //  400 bits, 80 per worker, 40 oracle calls, 8 per node; with round 0, 1400, 280 and 90, 18.
    report_cfg_t cfg = {.metric = "grad_norm_sq", .eps = 0.1, .relative = 1, .round0 = 0};
    char *t = s_report(f, &cfg);
    assert_non_null(strstr(t, "| 2 | a-0.05 | diana | randk | 10 | 5 | mushrooms | 0.05 **best** "
                              "| 4 | 400 | 80 | 8 | 10 |"));
    assert_non_null(strstr(t, "round 0, where every worker sends its dense gradient at x^0, is "
                              "excluded"));
    free(t);
    cfg.round0 = 1;
    t = s_report(f, &cfg);
    assert_non_null(strstr(t, "| 2 | a-0.05 | diana | randk | 10 | 5 | mushrooms | 0.05 **best** "
                              "| 4 | 1400 | 280 | 18 | 10 |"));
    assert_non_null(strstr(t, "is included"));
    free(t);
    //  Never reached (absolute 1e-9): what the whole run spent, as a lower bound, per worker too.
    cfg = (report_cfg_t){.metric = "grad_norm_sq", .eps = 1e-9, .relative = 0, .round0 = 0};
    t = s_report(f, &cfg);
    assert_non_null(strstr(t, "| not reached | > 1000 | > 200 | > 20 | 10 |"));
    free(t);
}

static void
test_picks_the_stepsize_with_the_lowest_final_metric(void **state)
{
    fixture_t *f = *state;
    //  Final ||grad f||^2: gamma 0.5: 0.9^10 = 0.349; gamma 0.05: mean(0.5^10, 0.6^10) = 3.51e-3.
    report_cfg_t cfg = {.metric = "grad_norm_sq", .eps = 0.1, .relative = 1};
    char *t = s_report(f, &cfg);
    assert_non_null(strstr(t, "| 1 | a-0.5 | diana | randk | 10 | 5 | mushrooms | 0.5 |"));
    assert_non_null(
        strstr(t, "| 3 | a-0.05-s2 | diana | randk | 10 | 5 | mushrooms | 0.05 **best**"));
    //  The other problem is its own group of one stepsize: shown as chosen, not as a search.
    assert_non_null(strstr(t, "| 4 | b | diana | randk | 5 | 5 | mushrooms | 0.0137 (theory) |"));
    char want[256];
    snprintf(want, sizeof want,
             "| diana | randk | 10 | 5 | mushrooms | 1, 2, 3 | 0.5: %.3e; 0.05: "
             "%.3e | 0.05 |",
             pow(0.9, 10), (pow(0.5, 10) + pow(0.6, 10)) / 2);
    assert_non_null(strstr(t, want));
    assert_null(strstr(t, "| diana | randk | 5 | 5 | mushrooms | 4 |"));
    free(t);
    //  --best-only: the losing stepsize's run leaves the first table (it stays in the search).
    cfg.best_only = 1;
    t = s_report(f, &cfg);
    assert_null(strstr(t, "| 1 | a-0.5 |"));
    assert_non_null(strstr(t, "| 2 | a-0.05 |"));
    assert_non_null(strstr(t, "| 4 | b |"));
    free(t);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_counts_bits_per_worker_with_or_without_round_zero),
        T(test_picks_the_stepsize_with_the_lowest_final_metric),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
