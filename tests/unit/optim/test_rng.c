//  test_rng.c - rng.h: determinism, stream independence, and the distributions' shapes.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rng.h"
#include "test_util.h"

static void
test_same_seed_and_stream_repeat(void **state)
{
    rng_t a, b;
    rng_seed(&a, 42, rng_stream_worker(3));
    rng_seed(&b, 42, rng_stream_worker(3));
    for (int i = 0; i < 1000; i++)
        assert_true(rng_next(&a) == rng_next(&b));
}

static void
test_streams_and_seeds_differ(void **state)
{
    //  Server, a few workers, and a different seed: no two first outputs coincide, and the
    //  sequences share no value among their first 64 (a 2^-64-per-pair event if independent).
    enum {
        NS = 6,
        LEN = 64
    };
    uint64_t seq[NS][LEN];
    rng_t r[NS];
    rng_seed(&r[0], 7, RNG_STREAM_SERVER);
    rng_seed(&r[1], 7, rng_stream_worker(0));
    rng_seed(&r[2], 7, rng_stream_worker(1));
    rng_seed(&r[3], 7, rng_stream_worker(2));
    rng_seed(&r[4], 8, RNG_STREAM_SERVER);
    rng_seed(&r[5], 0, 7);  // (seed, stream) swapped with r[0]'s
    for (int s = 0; s < NS; s++)
        for (int i = 0; i < LEN; i++)
            seq[s][i] = rng_next(&r[s]);
    for (int s = 0; s < NS; s++)
        for (int t = s + 1; t < NS; t++)
            for (int i = 0; i < LEN; i++)
                for (int j = 0; j < LEN; j++)
                    assert_true(seq[s][i] != seq[t][j]);
}

static void
test_worker_streams_are_distinct_ids(void **state)
{
    for (uint32_t i = 0; i < 1000; i++) {
        assert_true(rng_stream_worker(i) != RNG_STREAM_SERVER);
        assert_true(rng_stream_worker(i) != rng_stream_worker(i + 1));
    }
}

static void
test_uniform_in_unit_interval_with_mean_half(void **state)
{
    //  N = 1e6 draws: mean has sd sqrt(1/12 / N) ~ 2.9e-4; 5 sd ~ 1.5e-3.
    rng_t r;
    rng_seed(&r, 1, 0);
    double sum = 0.0;
    const int N = 1000000;
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    assert_near(sum / N, 0.5, 1.5e-3);
}

//  Pearson's chi-square statistic of counts against equal expected counts.
static double
s_chi2(const uint64_t *count, size_t bins, double expected)
{
    double chi2 = 0.0;
    for (size_t b = 0; b < bins; b++) {
        double d = (double) count[b] - expected;
        chi2 += d * d / expected;
    }
    return chi2;
}

static void
test_below_is_uniform(void **state)
{
    //  n = 113 bins (RandK's d on mushrooms), 1,130,000 draws: chi-square has df = 112, mean 112,
    //  sd sqrt(2 * 112) ~ 15. Accept below mean + 5 sd = 187. A modulo-biased or broken generator
    //  lands far above.
    enum {
        BINS = 113
    };
    uint64_t count[BINS] = {0};
    rng_t r;
    rng_seed(&r, 2, 0);
    const int N = 10000 * BINS;
    for (int i = 0; i < N; i++) {
        uint64_t v = rng_below(&r, BINS);
        assert_true(v < BINS);
        count[v]++;
    }
    assert_true(s_chi2(count, BINS, N / (double) BINS) < 187.0);
}

static void
test_below_handles_edges(void **state)
{
    rng_t r;
    rng_seed(&r, 3, 0);
    for (int i = 0; i < 100; i++)
        assert_true(rng_below(&r, 1) == 0);
    //  A range above 2^32 takes the wide path; n = 3 * 2^62 has a large rejection zone.
    uint64_t n = 3ull << 62;
    uint64_t high = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t v = rng_below(&r, n);
        assert_true(v < n);
        high += v >= (n / 3) * 2;
    }
    //  P(v in top third) = 1/3; 10000 draws: sd ~ 47, 5 sd ~ 236.
    assert_near(high, 10000.0 / 3.0, 236.0);
}

static void
test_bernoulli_mean_matches_p(void **state)
{
    rng_t r;
    rng_seed(&r, 4, 0);
    //  p = 0.0885 (K/d = 10/113), N = 1e6: sd sqrt(p(1-p)/N) ~ 2.8e-4; 5 sd ~ 1.4e-3.
    const double p = 10.0 / 113.0;
    const int N = 1000000;
    int ones = 0;
    for (int i = 0; i < N; i++)
        ones += rng_bernoulli(&r, p);
    assert_near((double) ones / N, p, 1.4e-3);
    //  The extremes draw nothing: the sequence continues as if they were never called.
    rng_t a = r, b = r;
    assert_int_equal(rng_bernoulli(&a, 0.0), 0);
    assert_int_equal(rng_bernoulli(&a, 1.0), 1);
    assert_int_equal(rng_bernoulli(&a, -1.0), 0);
    assert_true(rng_next(&a) == rng_next(&b));
}

static void
test_normal_has_unit_variance(void **state)
{
    rng_t r;
    rng_seed(&r, 5, 0);
    //  N = 1e6: mean sd 1e-3 (5 sd = 5e-3); sample variance sd sqrt(2/N) ~ 1.4e-3 (5 sd = 7e-3).
    const int N = 1000000;
    double s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < N; i++) {
        double z = rng_normal(&r);
        s1 += z;
        s2 += z * z;
    }
    assert_near(s1 / N, 0.0, 5e-3);
    assert_near(s2 / N, 1.0, 7e-3);
}

//  Draws many samples of k of n and checks: distinct, sorted, scratch left zero, and each index
//  chosen with frequency k/n.
static void
s_check_sample_k(uint32_t n, uint32_t k, int trials, uint64_t seed)
{
    uint32_t out[1024];
    uint8_t scratch[1024];
    uint64_t count[1024] = {0};
    assert_true(n <= 1024);
    memset(scratch, 0, sizeof scratch);
    rng_t r;
    rng_seed(&r, seed, 0);
    for (int t = 0; t < trials; t++) {
        rng_sample_k(&r, n, k, out, scratch);
        for (uint32_t j = 0; j < k; j++) {
            assert_true(out[j] < n);
            if (j > 0)
                assert_true(out[j - 1] < out[j]);  // sorted and distinct
            count[out[j]]++;
        }
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(scratch[i], 0);
    }
    if (k == 0 || k == n)
        return;
    //  One sample's indicator vector has Var = q(1-q), Cov = -q(1-q)/(n-1) (q = k/n), so the
    //  Pearson statistic over the n counts is c * chi-square(n - 1) with c = (1-q) n/(n-1): mean
    //  c (n-1), sd c sqrt(2 (n-1)). Accept below mean + 5 sd.
    double q = (double) k / n;
    double c = (1.0 - q) * n / (n - 1.0);
    double chi2 = s_chi2(count, n, (double) trials * q);
    assert_true(chi2 < c * (n - 1.0) + 5.0 * c * sqrt(2.0 * (n - 1.0)));
}

static void
test_sample_k_small_k_is_uniform_distinct_sorted(void **state)
{
    s_check_sample_k(113, 10, 20000, 11);  // RandK on mushrooms: insertion-sort path
}

static void
test_sample_k_sparse_k_is_uniform_distinct_sorted(void **state)
{
    s_check_sample_k(1000, 40, 5000, 12);  // radix sort path, one 12-bit digit
}

//  Every path (insertion sort, the scan of the bit marks, the radix sort with 1, 2 and 3 digits:
//  n above 2^24 takes an odd number of passes, which ends in the buffer and is copied back): the
//  same k indices as Floyd's draws, distinct, sorted, the scratch left zero. The reference replays
//  the draws on a copy of the generator with a byte a mark.
static void
test_sample_k_large_n_sorts_every_draw(void **state)
{
    const uint32_t shapes[][2] = {{113, 10},
                                  {100, 60},
                                  {4099, 300},
                                  {1000, 40},
                                  {3000000, 100000},
                                  {10000000, 100000},
                                  {(1u << 24) + 5, 50000}};
    for (int s = 0; s < (int) (sizeof shapes / sizeof shapes[0]); s++) {
        uint32_t n = shapes[s][0], k = shapes[s][1];
        uint32_t *out = malloc(k * sizeof *out), *ref = malloc(k * sizeof *ref);
        uint8_t *scratch = calloc(n, 1), *seen = calloc(n, 1);
        assert_non_null(out);
        assert_non_null(ref);
        assert_non_null(scratch);
        assert_non_null(seen);
        rng_t r, copy;
        rng_seed(&r, 21 + (uint64_t) s, 0);
        copy = r;
        for (uint32_t step = 0; step < k; step++) {
            uint32_t j = n - k + step;
            uint32_t t = (uint32_t) rng_below(&copy, (uint64_t) j + 1);
            ref[step] = seen[t] ? j : t;
            seen[ref[step]] = 1;
        }
        rng_sample_k(&r, n, k, out, scratch);
        for (uint32_t j = 0; j < k; j++) {
            assert_true(seen[out[j]]);
            if (j > 0)
                assert_true(out[j - 1] < out[j]);
        }
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(scratch[i], 0);
        free(out);
        free(ref);
        free(scratch);
        free(seen);
    }
}

static void
test_sample_k_dense_k_is_uniform_distinct_sorted(void **state)
{
    s_check_sample_k(100, 60, 5000, 13);  // scan path
}

static void
test_sample_k_edges(void **state)
{
    s_check_sample_k(50, 0, 10, 14);
    s_check_sample_k(50, 50, 10, 15);  // every index, in order
    s_check_sample_k(1, 1, 10, 16);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_and_stream_repeat),
        cmocka_unit_test(test_streams_and_seeds_differ),
        cmocka_unit_test(test_worker_streams_are_distinct_ids),
        cmocka_unit_test(test_uniform_in_unit_interval_with_mean_half),
        cmocka_unit_test(test_below_is_uniform),
        cmocka_unit_test(test_below_handles_edges),
        cmocka_unit_test(test_bernoulli_mean_matches_p),
        cmocka_unit_test(test_normal_has_unit_variance),
        cmocka_unit_test(test_sample_k_small_k_is_uniform_distinct_sorted),
        cmocka_unit_test(test_sample_k_sparse_k_is_uniform_distinct_sorted),
        cmocka_unit_test(test_sample_k_large_n_sorts_every_draw),
        cmocka_unit_test(test_sample_k_dense_k_is_uniform_distinct_sorted),
        cmocka_unit_test(test_sample_k_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
