//  test_aggregate.c - aggregate.h: every rule against values computed by hand, absent inputs
//  skipped, bucketing as Algorithm 2 of the Byz-VR-MARINA paper (a permutation, reproducible from
//  the seed), agg_check() naming the key, and CM/RFA/Krum/TM/CC with bucketing s = 2 meeting
//  Definition 2.1 against two attacks while the plain mean does not.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aggregate.h"
#include "test_util.h"

#define NMAX 32

typedef struct {
    size_t n;
    vec_t x[NMAX];
    const vec_t *xs[NMAX];  // xs[i] = &x[i] unless a test makes it absent
    vec_t out;
    agg_work_t *work;
    agg_cfg_t cfg;
    rng_t rng;
} s_set_t;

//  n inputs of dimension d taken row by row from vals (may be NULL: zeros).
static void
s_set_init(s_set_t *s, size_t n, size_t d, const double *vals)
{
    assert_true(n <= NMAX);
    memset(s, 0, sizeof *s);
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(vec_init(&s->x[i], d), MR_OK);
        for (size_t j = 0; vals && j < d; j++)
            s->x[i].x[j] = vals[i * d + j];
        s->xs[i] = &s->x[i];
    }
    assert_int_equal(vec_init(&s->out, d), MR_OK);
    s->work = agg_work_new(n, d);
    assert_non_null(s->work);
    agg_cfg_default(&s->cfg);
    rng_seed(&s->rng, 42, 0);
}

static void
s_set_fini(s_set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        vec_fini(&s->x[i]);
    vec_fini(&s->out);
    agg_work_destroy(&s->work);
    assert_null(s->work);
}

static int
s_run(s_set_t *s)
{
    mr_err_t err;
    int rc = agg_apply(&s->cfg, s->xs, s->n, &s->rng, s->work, &s->out, &err);
    if (rc != MR_OK)
        print_message("agg_apply: %s\n", err.text);
    return rc;
}

static void
s_assert_out(const s_set_t *s, const double *want, double tol)
{
    for (size_t j = 0; j < s->out.dim; j++) {
        if (fabs(s->out.x[j] - want[j]) > tol)
            print_message("coordinate %zu: got %.17g, want %.17g\n", j, s->out.x[j], want[j]);
        assert_near(s->out.x[j], want[j], tol);
    }
}

//  Five vectors in R^3; x4 is an outlier. Hand-computed (see each test).
static const double s_five[5 * 3] = {
    1,  2,  3,   // x0
    2,  0,  -1,  // x1
    3,  4,  1,   // x2
    0,  1,  6,   // x3
    10, -5, 7,   // x4
};

static void
test_mean_is_the_plain_average(void **state)
{
    s_set_t s;
    s_set_init(&s, 5, 3, s_five);
    assert_int_equal(s_run(&s), MR_OK);
    //  (1+2+3+0+10)/5, (2+0+4+1-5)/5, (3-1+1+6+7)/5
    s_assert_out(&s, (double[]){3.2, 0.4, 3.2}, 1e-15);
    s_set_fini(&s);
}

static void
test_cm_takes_each_coordinates_median(void **state)
{
    s_set_t s;
    s_set_init(&s, 5, 3, s_five);
    s.cfg.rule = AGG_CM;
    assert_int_equal(s_run(&s), MR_OK);
    //  sorted: {0,1,2,3,10}, {-5,0,1,2,4}, {-1,1,3,6,7}
    s_assert_out(&s, (double[]){2, 1, 3}, 0.0);
    s_set_fini(&s);
}

static void
test_cm_of_an_even_count_averages_the_two_middle_values(void **state)
{
    s_set_t s;
    s_set_init(&s, 5, 3, s_five);
    s.cfg.rule = AGG_CM;
    s.xs[4] = NULL;  // four present: {0,1,2,3}, {0,1,2,4}, {-1,1,3,6}
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1.5, 1.5, 2.0}, 0.0);
    s_set_fini(&s);
}

static void
test_tm_drops_b_values_at_each_end(void **state)
{
    s_set_t s;
    s_set_init(&s, 5, 3, s_five);
    s.cfg.rule = AGG_TM;
    s.cfg.byzantine = 1;
    assert_int_equal(s_run(&s), MR_OK);
    //  middle three: {1,2,3}, {0,1,2}, {1,3,6}
    s_assert_out(&s, (double[]){2, 1, 10.0 / 3.0}, 1e-15);
    s.cfg.byzantine = 0;  // nothing trimmed: the mean
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){3.2, 0.4, 3.2}, 1e-15);
    s_set_fini(&s);
}

static void
test_tm_on_many_ties_and_duplicates(void **state)
{
    //  One coordinate with repeated values exercises the partition's equal-key handling:
    //  {5,1,5,5,1,9,5,0} sorted {0,1,1,5,5,5,5,9}; trimming 2 each side keeps {1,5,5,5}.
    const double vals[8] = {5, 1, 5, 5, 1, 9, 5, 0};
    s_set_t s;
    s_set_init(&s, 8, 1, vals);
    s.cfg.rule = AGG_TM;
    s.cfg.byzantine = 2;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){4.0}, 1e-15);
    s.cfg.rule = AGG_CM;  // middle pair (5, 5)
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){5.0}, 0.0);
    s_set_fini(&s);
}

static void
test_krum_picks_the_input_closest_to_its_neighbours(void **state)
{
    //  Squared distances: d01 21, d02 12, d03 11, d04 146, d12 21, d13 54, d14 153, d23 43,
    //  d24 166, d34 137. B = 1: each input's 5 - 1 - 2 = 2 nearest: scores x0 11+12 = 23,
    //  x1 21+21 = 42, x2 12+21 = 33, x3 11+43 = 54, x4 137+146 = 283, so x0.
    s_set_t s;
    s_set_init(&s, 5, 3, s_five);
    s.cfg.rule = AGG_KRUM;
    s.cfg.byzantine = 1;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1, 2, 3}, 0.0);
    //  x0 absent, B = 1: 4 - 1 - 2 = 1 nearest: x1 21, x2 21, x3 43, x4 137: the tie goes to
    //  x1, the lower index.
    s.xs[0] = NULL;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){2, 0, -1}, 0.0);
    s_set_fini(&s);
}

static void
test_krum_breaks_ties_by_the_lowest_index(void **state)
{
    //  {0, 2, 4, 6}, B = 0, two nearest: scores 20, 8, 8, 20: the tie goes to index 1.
    const double up[4] = {0, 2, 4, 6}, down[4] = {6, 4, 2, 0};
    s_set_t s;
    s_set_init(&s, 4, 1, up);
    s.cfg.rule = AGG_KRUM;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){2}, 0.0);
    s_set_fini(&s);
    s_set_init(&s, 4, 1, down);
    s.cfg.rule = AGG_KRUM;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){4}, 0.0);
    s_set_fini(&s);
}

static void
test_rfa_follows_smoothed_weiszfeld_from_the_mean_or_the_cm(void **state)
{
    //  {(0,0), (0,0), (9,12)}: mean (3,4), distances 5, 5, 10, weights 1/5, 1/5, 1/10, so
    //  v1 = (9,12)/10 / (1/2) = (1.8, 2.4); then distances 3, 3, 12, weights 1/3, 1/3, 1/12,
    //  v2 = (9,12)/12 / (3/4) = (1, 4/3).
    const double vals[6] = {0, 0, 0, 0, 9, 12};
    s_set_t s;
    s_set_init(&s, 3, 2, vals);
    s.cfg.rule = AGG_RFA;
    s.cfg.rfa_iters = 1;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1.8, 2.4}, 1e-14);
    s.cfg.rfa_iters = 2;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1.0, 4.0 / 3.0}, 1e-14);
    //  From the CM (0,0) instead, nu = 0.1: weights 1/0.1, 1/0.1, 1/15, sum 301/15, so
    //  v1 = (9,12)/15 / (301/15) = (9/301, 12/301).
    s.cfg.rfa_from_cm = 1;
    s.cfg.rfa_iters = 1;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){9.0 / 301.0, 12.0 / 301.0}, 1e-15);
    s_set_fini(&s);
}

static void
test_rfa_reaches_the_geometric_median_on_a_line(void **state)
{
    //  The geometric median of {0, 1, 10} is 1; once |v - 1| < nu, the fixed point
    //  -1 + 1 + (1 - v) / nu = 0 is v = 1 exactly.
    const double vals[3] = {0, 1, 10};
    s_set_t s;
    s_set_init(&s, 3, 1, vals);
    s.cfg.rule = AGG_RFA;
    s.cfg.rfa_iters = 200;
    s.cfg.rfa_nu = 1e-3;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1.0}, 1e-9);
    s_set_fini(&s);
}

static void
test_rfa_of_identical_inputs_is_that_input_without_nan(void **state)
{
    const double vals[5 * 3] = {1,      -2, 3e-300, 1,      -2, 3e-300, 1,     -2,
                                3e-300, 1,  -2,     3e-300, 1,  -2,     3e-300};
    s_set_t s;
    s_set_init(&s, 5, 3, vals);
    s.cfg.rule = AGG_RFA;
    for (int k = 0; k < 2; k++) {
        s.cfg.rfa_nu = k ? 1e-300 : AGG_DEFAULT_RFA_NU;
        assert_int_equal(s_run(&s), MR_OK);
        assert_true(vec_is_finite(&s.out));
        s_assert_out(&s, (double[]){1, -2, 3e-300}, 1e-15);
    }
    s.cfg.rule = AGG_CC;  // zero distances must not divide by zero either
    assert_int_equal(s_run(&s), MR_OK);
    assert_true(vec_is_finite(&s.out));
    s_assert_out(&s, (double[]){1, -2, 3e-300}, 1e-15);
    s_set_fini(&s);
}

static void
test_cc_clips_around_the_median(void **state)
{
    //  {0, 1, 2, 100}, tau = 2: start at the median 1.5; clipped differences -1.5, -0.5, 0.5, 2
    //  sum to 0.5, so v1 = 1.5 + 0.5/4 = 1.625; then -1.625, -0.625, 0.375, 2 sum to 0.125, so
    //  v2 = 1.65625.
    const double vals[4] = {0, 1, 2, 100};
    s_set_t s;
    s_set_init(&s, 4, 1, vals);
    s.cfg.rule = AGG_CC;
    s.cfg.cc_tau = 2.0;
    s.cfg.cc_iters = 1;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1.625}, 1e-15);
    s.cfg.cc_iters = 2;
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1.65625}, 1e-15);
    //  From a caller's start 0, one iteration: 0, 1, 2, 2 -> 5/4.
    vec_t start;
    assert_int_equal(vec_init(&start, 1), MR_OK);
    s.cfg.cc_iters = 1;
    assert_int_equal(agg_apply_from(&s.cfg, s.xs, s.n, &start, NULL, s.work, &s.out, NULL), MR_OK);
    s_assert_out(&s, (double[]){1.25}, 1e-15);
    //  The start may be the output itself (last round's aggregate): 1.25 -> differences -1.25,
    //  -0.25, 0.75, 2 -> 1.25 + 1.25/4 = 1.5625.
    assert_int_equal(agg_apply_from(&s.cfg, s.xs, s.n, &s.out, NULL, s.work, &s.out, NULL), MR_OK);
    s_assert_out(&s, (double[]){1.5625}, 1e-15);
    vec_fini(&start);
    s_set_fini(&s);
}

static void
test_cc_clips_the_euclidean_norm_not_each_coordinate(void **state)
{
    //  {(0,0), (3,4)} from start (0,0), tau = 1: (3,4) has norm 5 and is clipped to (0.6, 0.8);
    //  v = (0.3, 0.4). Per-coordinate clipping would give (0.5, 0.5).
    const double vals[4] = {0, 0, 3, 4};
    s_set_t s;
    s_set_init(&s, 2, 2, vals);
    vec_t start;
    assert_int_equal(vec_init(&start, 2), MR_OK);
    s.cfg.rule = AGG_CC;
    s.cfg.cc_tau = 1.0;
    s.cfg.cc_iters = 1;
    assert_int_equal(agg_apply_from(&s.cfg, s.xs, s.n, &start, NULL, s.work, &s.out, NULL), MR_OK);
    s_assert_out(&s, (double[]){0.3, 0.4}, 1e-15);
    vec_fini(&start);
    s_set_fini(&s);
}

static void
test_absent_inputs_are_skipped(void **state)
{
    s_set_t s;
    s_set_init(&s, 5, 3, s_five);
    s.xs[1] = NULL;
    s.xs[4] = NULL;
    //  mean of x0, x2, x3: (4/3, 7/3, 10/3)
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){4.0 / 3.0, 7.0 / 3.0, 10.0 / 3.0}, 1e-15);
    s.cfg.rule = AGG_CM;  // {1,3,0}, {2,4,1}, {3,1,6}
    assert_int_equal(s_run(&s), MR_OK);
    s_assert_out(&s, (double[]){1, 2, 3}, 0.0);
    s_set_fini(&s);
}

static void
test_apply_rejects_no_input_and_mismatched_dims(void **state)
{
    s_set_t s;
    s_set_init(&s, 3, 2, NULL);
    mr_err_t err;
    const vec_t *none[3] = {NULL, NULL, NULL};
    assert_int_equal(agg_apply(&s.cfg, none, 3, &s.rng, s.work, &s.out, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "absent"));
    vec_t wrong;
    assert_int_equal(vec_init(&wrong, 3), MR_OK);
    s.xs[1] = &wrong;
    assert_int_equal(agg_apply(&s.cfg, s.xs, 3, &s.rng, s.work, &s.out, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "input 1 has dim 3"));
    vec_fini(&wrong);
    s_set_fini(&s);
}

//  n random inputs in R^d (standard normal coordinates, seed 7).
static void
s_set_random(s_set_t *s, size_t n, size_t d)
{
    s_set_init(s, n, d, NULL);
    rng_t r;
    rng_seed(&r, 7, 1);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            s->x[i].x[j] = rng_normal(&r);
}

static void
test_bucket_size_one_is_no_bucketing(void **state)
{
    s_set_t s;
    s_set_random(&s, 9, 4);
    vec_t plain;
    assert_int_equal(vec_init(&plain, 4), MR_OK);
    for (agg_rule_t rule = AGG_MEAN; rule <= AGG_CC; rule++) {
        s.cfg.rule = rule;
        s.cfg.byzantine = 2;
        s.cfg.bucket = 0;
        assert_int_equal(s_run(&s), MR_OK);
        vec_copy(&plain, &s.out);
        s.cfg.bucket = 1;
        assert_int_equal(s_run(&s), MR_OK);
        assert_true(vec_max_abs_diff(&plain, &s.out) == 0.0);
    }
    vec_fini(&plain);
    s_set_fini(&s);
}

static void
test_bucketing_is_a_permutation_so_the_mean_is_kept(void **state)
{
    //  12 inputs in buckets of 2, 3, 4 and 6 (s divides n): the mean of the bucket means is the
    //  mean of the inputs, up to rounding.
    s_set_t s;
    s_set_random(&s, 12, 5);
    vec_t plain;
    assert_int_equal(vec_init(&plain, 5), MR_OK);
    assert_int_equal(s_run(&s), MR_OK);
    vec_copy(&plain, &s.out);
    const size_t sizes[4] = {2, 3, 4, 6};
    for (int k = 0; k < 4; k++) {
        s.cfg.bucket = sizes[k];
        assert_int_equal(s_run(&s), MR_OK);
        assert_true(vec_max_abs_diff(&plain, &s.out) <= 1e-14);
    }
    //  With absent inputs too: 8 present in buckets of 2 and 4.
    s.xs[3] = s.xs[10] = s.xs[11] = s.xs[0] = NULL;
    s.cfg.bucket = 0;
    assert_int_equal(s_run(&s), MR_OK);
    vec_copy(&plain, &s.out);
    for (size_t b = 2; b <= 4; b += 2) {
        s.cfg.bucket = b;
        assert_int_equal(s_run(&s), MR_OK);
        assert_true(vec_max_abs_diff(&plain, &s.out) <= 1e-14);
    }
    vec_fini(&plain);
    s_set_fini(&s);
}

static void
test_a_smaller_last_bucket_is_still_a_mean(void **state)
{
    //  5 equal inputs, s = 2: buckets of 2, 2, 1. Each bucket mean equals the input, so every
    //  rule returns it (dividing the last bucket by s instead of its size would give 3.5 there).
    const double vals[5] = {7, 7, 7, 7, 7};
    s_set_t s;
    s_set_init(&s, 5, 1, vals);
    s.cfg.bucket = 2;
    for (agg_rule_t rule = AGG_MEAN; rule <= AGG_CC; rule++) {
        s.cfg.rule = rule;
        assert_int_equal(s_run(&s), MR_OK);
        s_assert_out(&s, (double[]){7}, 1e-14);
    }
    s_set_fini(&s);
}

static void
test_bucketing_is_reproducible_from_the_seed(void **state)
{
    s_set_t s;
    s_set_random(&s, 10, 6);
    vec_t first;
    assert_int_equal(vec_init(&first, 6), MR_OK);
    s.cfg.rule = AGG_CM;
    s.cfg.bucket = 2;
    rng_seed(&s.rng, 1, 0);
    assert_int_equal(s_run(&s), MR_OK);
    vec_copy(&first, &s.out);
    rng_seed(&s.rng, 1, 0);
    assert_int_equal(s_run(&s), MR_OK);
    assert_true(vec_max_abs_diff(&first, &s.out) == 0.0);
    //  Another seed, another permutation: the bucket means differ, so does their median (for
    //  continuous inputs equality has probability zero).
    rng_seed(&s.rng, 2, 0);
    assert_int_equal(s_run(&s), MR_OK);
    assert_true(vec_max_abs_diff(&first, &s.out) > 1e-6);
    //  And each call draws a fresh permutation from the same stream.
    rng_seed(&s.rng, 1, 0);
    assert_int_equal(s_run(&s), MR_OK);
    assert_int_equal(s_run(&s), MR_OK);
    assert_true(vec_max_abs_diff(&first, &s.out) > 1e-6);
    vec_fini(&first);
    s_set_fini(&s);
}

static void
test_parse_and_name_round_trip(void **state)
{
    const char *names[] = {"mean", "cm", "tm", "rfa", "krum", "cc"};
    for (int i = 0; i < 6; i++) {
        agg_rule_t rule = AGG_MEAN;
        assert_int_equal(agg_rule_parse(names[i], &rule), MR_OK);
        assert_int_equal(rule, (agg_rule_t) i);
        assert_string_equal(agg_rule_name(rule), names[i]);
    }
    agg_rule_t rule = AGG_KRUM;
    assert_int_equal(agg_rule_parse("median", &rule), MR_ECONFIG);
    assert_int_equal(agg_rule_parse(NULL, &rule), MR_ECONFIG);
    assert_int_equal(rule, AGG_KRUM);
    assert_string_equal(agg_rule_name((agg_rule_t) 99), "unknown");
    agg_cfg_t cfg;
    agg_cfg_default(&cfg);
    assert_int_equal(cfg.rule, AGG_MEAN);
    assert_true(cfg.bucket <= 1);
    assert_int_equal(cfg.rfa_iters, 8);
    assert_near(cfg.rfa_nu, 0.1, 0.0);
    assert_int_equal(cfg.cc_iters, 3);
}

//  agg_check(cfg, n) fails with MR_ECONFIG and err naming key.
static void
s_assert_check_names(const agg_cfg_t *cfg, size_t n, const char *key)
{
    mr_err_t err;
    mr_err_clear(&err);
    int rc = agg_check(cfg, n, &err);
    print_message("agg_check(%s, n = %zu): %s\n", agg_rule_name(cfg->rule), n, err.text);
    assert_int_equal(rc, MR_ECONFIG);
    char quoted[40];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    assert_non_null(strstr(err.text, quoted));
}

static void
test_check_names_the_key(void **state)
{
    agg_cfg_t cfg;
    agg_cfg_default(&cfg);
    assert_int_equal(agg_check(&cfg, 5, NULL), MR_OK);
    cfg.rule = (agg_rule_t) 17;
    s_assert_check_names(&cfg, 5, "aggregator");

    agg_cfg_default(&cfg);
    cfg.rule = AGG_KRUM;
    cfg.byzantine = 2;
    assert_int_equal(agg_check(&cfg, 5, NULL), MR_OK);  // 5 - 2 - 2 = 1
    cfg.byzantine = 3;
    s_assert_check_names(&cfg, 5, "byzantine");
    cfg.byzantine = 3;
    cfg.bucket = 2;  // 10 inputs -> 5 buckets, 5 - 3 - 2 = 0; without buckets 10 - 3 - 2 = 5
    s_assert_check_names(&cfg, 10, "bucket");
    cfg.byzantine = 1;  // 5 - 1 - 2 = 2
    assert_int_equal(agg_check(&cfg, 10, NULL), MR_OK);

    agg_cfg_default(&cfg);
    cfg.rule = AGG_TM;
    cfg.byzantine = 5;
    s_assert_check_names(&cfg, 10, "byzantine");
    cfg.bucket = 2;  // 20 inputs -> 10 buckets, up to 5 bad: 2 * 5 = 10 is not < 10
    s_assert_check_names(&cfg, 20, "bucket");
    cfg.byzantine = 4;
    assert_int_equal(agg_check(&cfg, 20, NULL), MR_OK);

    agg_cfg_default(&cfg);
    cfg.rule = AGG_CM;
    cfg.bucket = 5;  // one bucket: the rule would see only the mean
    s_assert_check_names(&cfg, 5, "bucket");
    cfg.bucket = 2;
    assert_int_equal(agg_check(&cfg, 5, NULL), MR_OK);
    cfg.rule = AGG_MEAN;
    cfg.bucket = 5;  // harmless for the mean
    assert_int_equal(agg_check(&cfg, 5, NULL), MR_OK);

    agg_cfg_default(&cfg);
    cfg.rule = AGG_CC;
    cfg.cc_tau = 0.0;
    s_assert_check_names(&cfg, 5, "cc_tau");
    cfg.cc_tau = NAN;
    s_assert_check_names(&cfg, 5, "cc_tau");
    cfg.cc_tau = 1.0;
    cfg.cc_iters = 0;
    s_assert_check_names(&cfg, 5, "cc_iters");

    agg_cfg_default(&cfg);
    cfg.rule = AGG_RFA;
    cfg.rfa_nu = -1.0;
    s_assert_check_names(&cfg, 5, "rfa_nu");
    cfg.rfa_nu = 0.1;
    cfg.rfa_iters = 0;
    s_assert_check_names(&cfg, 5, "rfa_iters");
    cfg.rfa_iters = 8;
    assert_int_equal(agg_check(&cfg, 5, NULL), MR_OK);
}

//  ---------------------------------------------------------------------------------------------
//  Definition 2.1 under attack.
//
//  G = 18 good inputs x_i = mu + N(0, I_d), d = 10, and B = 2 Byzantine ones: n = 20, delta = 0.1.
//  sigma^2 of Definition 2.1 is E|x_i - x_l|^2 = 2 d = 20, so delta sigma^2 = 2. Attacks: "far",
//  every Byzantine input at mu + 1000 (each coordinate); "alie" (Baruch et al. 2019), every
//  Byzantine input at the good inputs' coordinate-wise mean - z std with z = 1 (stronger than
//  Baruch's z_max = Phi^{-1}(11/20) = 0.13 for n = 20, B = 2). Bucketing s = 2 and delta = 0.1
//  meet Theorem D.1's s = floor(delta_max / delta) for Krum (delta_max < 1/4) and for CM/RFA.
//  Claim: E|agg - mean_good|^2 <= c delta sigma^2 with c = 50 for Krum, RFA, TM (B = 2) and CC
//  (defaults) - Theorem D.1's c = O(1) with a constant we fix - and c = 5 d = 50 for CM (c =
//  O(d)). The estimate over 400 trials has a relative standard error near 1/sqrt(400) = 5%, far
//  inside the margin; the claim fails for any rule that follows the attackers even once in a
//  while: under "far", the plain mean's error is (B/n)^2 |1000 - ...|^2 ~ 1e5, and a single
//  trial in which Krum picked a Byzantine bucket would add about 2.5e6 / 400 to the average.
//  A second scenario has B = 4 (delta = 0.2, delta s = 0.4 < 1/2): inside Theorem D.1's range for
//  CM and RFA (and TM, CC), outside Krum's (delta s < 1/4), so Krum is not asserted there.
enum {
    ST_N = 20,
    ST_D = 10,
    ST_TRIALS = 400
};
//  Where the Byzantine inputs sit (the first B of these): the position must not matter.
static const size_t s_byz_pos[4] = {0, 7, 12, 19};
#define ST_C_ROBUST 50.0
#define ST_C_CM     (5.0 * ST_D)
#define ST_FAR      1000.0
#define ST_ALIE_Z   1.0

typedef enum {
    ST_FAR_POINT = 0,
    ST_ALIE = 1
} s_attack_t;

//  Mean error |agg - mean_good|^2 over the trials, for cfg under attack.
static double
s_attacked_error(const agg_cfg_t *cfg, s_attack_t attack, size_t nbyz)
{
    assert_true(nbyz <= 4);
    s_set_t s;
    s_set_init(&s, ST_N, ST_D, NULL);
    s.cfg = *cfg;
    rng_t data;
    rng_seed(&data, 2026, 5);
    rng_seed(&s.rng, 2026, 6);
    vec_t good_mean, good_sq;
    assert_int_equal(vec_init(&good_mean, ST_D), MR_OK);
    assert_int_equal(vec_init(&good_sq, ST_D), MR_OK);
    double total = 0.0;
    for (int t = 0; t < ST_TRIALS; t++) {
        vec_zero(&good_mean);
        vec_zero(&good_sq);
        for (size_t i = 0, b = 0; i < ST_N; i++) {
            if (b < nbyz && i == s_byz_pos[b]) {
                b++;
                continue;
            }
            for (size_t j = 0; j < ST_D; j++) {
                double v = 1.0 + 0.5 * (double) j + rng_normal(&data);
                s.x[i].x[j] = v;
                good_mean.x[j] += v / (double) (ST_N - nbyz);
                good_sq.x[j] += v * v / (double) (ST_N - nbyz);
            }
        }
        for (size_t j = 0; j < ST_D; j++) {
            double var = good_sq.x[j] - good_mean.x[j] * good_mean.x[j];
            double bad = attack == ST_FAR_POINT ? 1.0 + 0.5 * (double) j + ST_FAR
                                                : good_mean.x[j] - ST_ALIE_Z * sqrt(var);
            for (size_t b = 0; b < nbyz; b++)
                s.x[s_byz_pos[b]].x[j] = bad;
        }
        assert_int_equal(s_run(&s), MR_OK);
        double e = 0.0;
        for (size_t j = 0; j < ST_D; j++)
            e += (s.out.x[j] - good_mean.x[j]) * (s.out.x[j] - good_mean.x[j]);
        total += e;
    }
    vec_fini(&good_mean);
    vec_fini(&good_sq);
    s_set_fini(&s);
    return total / ST_TRIALS;
}

//  Runs every rule with bucketing s = 2 against both attacks with nbyz Byzantines; asserts the
//  bound for the rules in claimed[] and that the mean breaks it by 100x under "far".
static void
s_check_definition_2_1(size_t nbyz, const agg_rule_t *claimed, size_t n_claimed)
{
    const double delta = (double) nbyz / ST_N, sigma_sq = 2.0 * ST_D;
    const char *attacks[] = {"far", "alie"};
    for (int a = 0; a < 2; a++) {
        for (agg_rule_t rule = AGG_MEAN; rule <= AGG_CC; rule++) {
            agg_cfg_t cfg;
            agg_cfg_default(&cfg);
            cfg.rule = rule;
            cfg.bucket = 2;
            cfg.byzantine = nbyz;
            assert_int_equal(agg_check(&cfg, ST_N, NULL), MR_OK);
            double err = s_attacked_error(&cfg, (s_attack_t) a, nbyz);
            double c = rule == AGG_CM ? ST_C_CM : ST_C_ROBUST;
            double bound = c * delta * sigma_sq;
            int asserted = 0;
            for (size_t k = 0; k < n_claimed; k++)
                asserted |= claimed[k] == rule;
            print_message("B = %zu %-4s %-4s E|agg - mean_good|^2 = %10.4g = %8.3g delta sigma^2 "
                          "(c = %g: %.3g of the bound%s)\n",
                          nbyz, attacks[a], agg_rule_name(rule), err, err / (delta * sigma_sq), c,
                          err / bound, asserted ? "" : ", not claimed");
            if (rule == AGG_MEAN && a == ST_FAR_POINT)
                assert_true(err > 100.0 * bound);  // the mean follows the attackers
            if (asserted)
                assert_true(err <= bound);
        }
    }
}

static void
test_bucketed_rules_meet_definition_2_1_and_the_mean_does_not(void **state)
{
    const agg_rule_t all[] = {AGG_CM, AGG_TM, AGG_RFA, AGG_KRUM, AGG_CC};
    s_check_definition_2_1(2, all, 5);
}

static void
test_bucketed_cm_tm_cc_hold_at_delta_0_2(void **state)
{
    const agg_rule_t claimed[] = {AGG_CM, AGG_TM, AGG_CC};
    s_check_definition_2_1(4, claimed, 3);
}

//  RFA at B = 4 is not claimed above: smoothed Weiszfeld started from the mean approaches the good
//  cluster only by a factor of about B'/G' = 4/6 per iteration (the bad bucket means pull with
//  weight B'/R, the good ones with G'/r), so from the mean, 0.4 R away with R ~ 1600, T = 8 leaves
//  r ~ 0.4 R (2/3)^8 ~ 25 (measured E r^2 ~ 1.1e3). With T = 32, (2/3)^32 ~ 2e-6: within the bound.
static void
test_rfa_with_more_iterations_holds_at_delta_0_2(void **state)
{
    const double delta = 0.2, sigma_sq = 2.0 * ST_D, bound = ST_C_ROBUST * delta * sigma_sq;
    agg_cfg_t cfg;
    agg_cfg_default(&cfg);
    cfg.rule = AGG_RFA;
    cfg.bucket = 2;
    cfg.byzantine = 4;
    for (int a = 0; a < 2; a++) {
        cfg.rfa_iters = AGG_DEFAULT_RFA_ITERS;
        double err8 = s_attacked_error(&cfg, (s_attack_t) a, 4);
        cfg.rfa_iters = 32;
        double err32 = s_attacked_error(&cfg, (s_attack_t) a, 4);
        print_message("B = 4 %s rfa: T = 8: %.4g, T = 32: %.4g (bound %g)\n", a ? "alie" : "far",
                      err8, err32, bound);
        assert_true(err32 <= bound);
        cfg.rfa_iters = AGG_DEFAULT_RFA_ITERS;  // a robust start instead of more iterations
        cfg.rfa_from_cm = 1;
        double err_cm = s_attacked_error(&cfg, (s_attack_t) a, 4);
        cfg.rfa_from_cm = 0;
        print_message("B = 4 %s rfa: T = 8 from the CM: %.4g\n", a ? "alie" : "far", err_cm);
        assert_true(err_cm <= bound);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_is_the_plain_average),
        cmocka_unit_test(test_cm_takes_each_coordinates_median),
        cmocka_unit_test(test_cm_of_an_even_count_averages_the_two_middle_values),
        cmocka_unit_test(test_tm_drops_b_values_at_each_end),
        cmocka_unit_test(test_tm_on_many_ties_and_duplicates),
        cmocka_unit_test(test_krum_picks_the_input_closest_to_its_neighbours),
        cmocka_unit_test(test_krum_breaks_ties_by_the_lowest_index),
        cmocka_unit_test(test_rfa_follows_smoothed_weiszfeld_from_the_mean_or_the_cm),
        cmocka_unit_test(test_rfa_reaches_the_geometric_median_on_a_line),
        cmocka_unit_test(test_rfa_of_identical_inputs_is_that_input_without_nan),
        cmocka_unit_test(test_cc_clips_around_the_median),
        cmocka_unit_test(test_cc_clips_the_euclidean_norm_not_each_coordinate),
        cmocka_unit_test(test_absent_inputs_are_skipped),
        cmocka_unit_test(test_apply_rejects_no_input_and_mismatched_dims),
        cmocka_unit_test(test_bucket_size_one_is_no_bucketing),
        cmocka_unit_test(test_bucketing_is_a_permutation_so_the_mean_is_kept),
        cmocka_unit_test(test_a_smaller_last_bucket_is_still_a_mean),
        cmocka_unit_test(test_bucketing_is_reproducible_from_the_seed),
        cmocka_unit_test(test_parse_and_name_round_trip),
        cmocka_unit_test(test_check_names_the_key),
        cmocka_unit_test(test_bucketed_rules_meet_definition_2_1_and_the_mean_does_not),
        cmocka_unit_test(test_bucketed_cm_tm_cc_hold_at_delta_0_2),
        cmocka_unit_test(test_rfa_with_more_iterations_holds_at_delta_0_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
