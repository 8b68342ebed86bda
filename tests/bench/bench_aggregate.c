//  bench_aggregate.c - time per agg_apply() call of every aggregation rule, for n in {10, 20, 40}
//  inputs and d in {10^3, 10^4}, with its ratio to the mean's time and the measured growth
//  exponents: t ~ n^a at d = 10^4 and t ~ d^b at n = 40 (expected: a = 2 for Krum, 1 for the
//  others; b = 1 for all). B = n / 5, RFA with T = 8, CC with L = 3 (the defaults), no bucketing;
//  a last table repeats n = 40, d = 10^4 with bucketing s = 2 (the rule then sees 20 inputs).
//
//  Each time is the best of 3 batches of at least 50 ms (the machine is shared: the best batch is
//  the least disturbed one). Inputs are standard normal. Always exits 0 when every call succeeded:
//  a benchmark reports speed, it does not judge it.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "aggregate.h"

#define N_SIZES    3
#define N_DIMS     2
#define N_RULES    6
#define N_BATCHES  3
#define MIN_BATCH  0.05  // seconds
#define NMAX_INPUT 40

static const size_t s_sizes[N_SIZES] = {10, 20, 40};
static const size_t s_dims[N_DIMS] = {1000, 10000};

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

//  Seconds per call of cfg on xs[0..n), or a negative value if a call failed.
static double
s_time(const agg_cfg_t *cfg,
       const vec_t *const *xs,
       size_t n,
       agg_work_t *work,
       vec_t *out,
       rng_t *rng)
{
    double best = INFINITY;
    for (int b = 0; b < N_BATCHES; b++) {
        size_t calls = 0;
        double t0 = s_now(), t1 = t0;
        while (t1 - t0 < MIN_BATCH) {
            mr_err_t err;
            if (agg_apply(cfg, xs, n, rng, work, out, &err) != MR_OK) {
                fprintf(stderr, "bench_aggregate: %s: %s\n", agg_rule_name(cfg->rule), err.text);
                return -1.0;
            }
            calls++;
            t1 = s_now();
        }
        double per = (t1 - t0) / (double) calls;
        best = per < best ? per : best;
    }
    return best;
}

int
main(void)
{
    vec_t x[NMAX_INPUT], out;
    const vec_t *xs[NMAX_INPUT];
    size_t dmax = s_dims[N_DIMS - 1];
    rng_t rng;
    rng_seed(&rng, 1, 0);
    for (size_t i = 0; i < NMAX_INPUT; i++) {
        if (vec_init(&x[i], dmax) != MR_OK)
            return 1;
        for (size_t j = 0; j < dmax; j++)
            x[i].x[j] = rng_normal(&rng);
        xs[i] = &x[i];
    }
    if (vec_init(&out, dmax) != MR_OK)
        return 1;
    agg_work_t *work = agg_work_new(NMAX_INPUT, dmax);
    if (!work)
        return 1;

    double t[N_RULES][N_SIZES][N_DIMS];
    printf("# aggregation time per call (best of %d batches >= %.0f ms); B = n / 5, T = %d, "
           "L = %d, no bucketing\n",
           N_BATCHES, 1e3 * MIN_BATCH, AGG_DEFAULT_RFA_ITERS, AGG_DEFAULT_CC_ITERS);
    printf("%-5s %4s %6s %12s %9s\n", "rule", "n", "d", "us/call", "x mean");
    for (size_t di = 0; di < N_DIMS; di++) {
        for (size_t ni = 0; ni < N_SIZES; ni++) {
            size_t n = s_sizes[ni], d = s_dims[di];
            for (size_t i = 0; i < NMAX_INPUT; i++)
                x[i].dim = d;
            out.dim = d;
            for (int r = 0; r < N_RULES; r++) {
                agg_cfg_t cfg;
                agg_cfg_default(&cfg);
                cfg.rule = (agg_rule_t) r;
                cfg.byzantine = n / 5;
                double sec = s_time(&cfg, xs, n, work, &out, &rng);
                if (sec < 0)
                    return 1;
                t[r][ni][di] = sec;
                printf("%-5s %4zu %6zu %12.2f %9.2f\n", agg_rule_name(cfg.rule), n, d, 1e6 * sec,
                       sec / t[AGG_MEAN][ni][di]);
            }
        }
    }

    printf("\n# growth exponents: t ~ n^a (n 10 -> 40, d = %zu), t ~ d^b (d %zu -> %zu, n = %zu)\n",
           s_dims[N_DIMS - 1], s_dims[0], s_dims[N_DIMS - 1], s_sizes[N_SIZES - 1]);
    printf("%-5s %6s %6s %9s\n", "rule", "a", "b", "expected");
    static const char *const expected[N_RULES] = {"n d", "n d", "n d", "T n d", "n^2 d", "L n d"};
    for (int r = 0; r < N_RULES; r++) {
        double a = log(t[r][N_SIZES - 1][N_DIMS - 1] / t[r][0][N_DIMS - 1]) /
                   log((double) s_sizes[N_SIZES - 1] / (double) s_sizes[0]);
        double b = log(t[r][N_SIZES - 1][N_DIMS - 1] / t[r][N_SIZES - 1][0]) /
                   log((double) s_dims[N_DIMS - 1] / (double) s_dims[0]);
        printf("%-5s %6.2f %6.2f %9s\n", agg_rule_name((agg_rule_t) r), a, b, expected[r]);
    }

    size_t n = s_sizes[N_SIZES - 1];
    printf("\n# with bucketing s = 2: n = %zu, d = %zu (the rule sees %zu bucket means)\n", n, dmax,
           n / 2);
    printf("%-5s %12s %9s\n", "rule", "us/call", "x plain");
    for (size_t i = 0; i < NMAX_INPUT; i++)
        x[i].dim = dmax;
    out.dim = dmax;
    for (int r = 0; r < N_RULES; r++) {
        agg_cfg_t cfg;
        agg_cfg_default(&cfg);
        cfg.rule = (agg_rule_t) r;
        cfg.byzantine = n / 5;
        cfg.bucket = 2;
        double sec = s_time(&cfg, xs, n, work, &out, &rng);
        if (sec < 0)
            return 1;
        printf("%-5s %12.2f %9.2f\n", agg_rule_name(cfg.rule), 1e6 * sec,
               sec / t[r][N_SIZES - 1][N_DIMS - 1]);
    }

    agg_work_destroy(&work);
    for (size_t i = 0; i < NMAX_INPUT; i++) {
        x[i].dim = dmax;
        vec_fini(&x[i]);
    }
    vec_fini(&out);
    return 0;
}
