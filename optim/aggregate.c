//  aggregate.c - the rules of aggregate.h. Formulas and sources: docs/aggregators.md.
//  Costs for N rule inputs of dimension d: mean O(N d); CM and TM O(N d) expected (quickselect per
//  coordinate); RFA O(T N d); Krum O(N^2 d); CC O(N d) for its start plus O(L N d); bucketing
//  O(n d) to form the bucket means.
#include "aggregate.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct agg_work {
    size_t cap_n;      // inputs the scratch holds
    size_t cap_dim;    // largest dimension
    const vec_t **in;  // cap_n pointers: the present inputs, then the rule's inputs
    vec_t *bucket;     // n_bucket bucket means, cap_dim doubles each (x owned)
    size_t n_bucket;   // ceil(cap_n / 2): the most buckets of size s >= 2
    double *col;       // cap_n values: one coordinate, or one row of distances
    double *dist;      // cap_n^2 pairwise squared distances (Krum)
    vec_t v;           // cap_dim: the current iterate (RFA, CC)
    vec_t acc;         // cap_dim: an accumulator (RFA, CC)
};

static const char *const s_names[] = {
    [AGG_MEAN] = "mean", [AGG_CM] = "cm",     [AGG_TM] = "tm",
    [AGG_RFA] = "rfa",   [AGG_KRUM] = "krum", [AGG_CC] = "cc",
};
#define S_NRULES (sizeof s_names / sizeof s_names[0])

int
agg_rule_parse(const char *name, agg_rule_t *rule)
{
    for (size_t i = 0; name && i < S_NRULES; i++) {
        if (strcmp(name, s_names[i]) == 0) {
            *rule = (agg_rule_t) i;
            return MR_OK;
        }
    }
    return MR_ECONFIG;
}

const char *
agg_rule_name(agg_rule_t rule)
{
    return (size_t) rule < S_NRULES ? s_names[rule] : "unknown";
}

void
agg_cfg_default(agg_cfg_t *cfg)
{
    *cfg = (agg_cfg_t){
        .rule = AGG_MEAN,
        .bucket = 0,
        .byzantine = 0,
        .rfa_nu = AGG_DEFAULT_RFA_NU,
        .rfa_iters = AGG_DEFAULT_RFA_ITERS,
        .cc_tau = AGG_DEFAULT_CC_TAU,
        .cc_iters = AGG_DEFAULT_CC_ITERS,
        .rfa_from_cm = 0,
    };
}

agg_work_t *
agg_work_new(size_t n, size_t dim)
{
    agg_work_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t cap_n = n ? n : 1;
    w->cap_n = cap_n;
    w->cap_dim = dim;
    w->n_bucket = (cap_n + 1) / 2;
    w->in = calloc(cap_n, sizeof *w->in);
    w->bucket = calloc(w->n_bucket, sizeof *w->bucket);
    w->col = calloc(cap_n, sizeof *w->col);
    w->dist = calloc(cap_n * cap_n, sizeof *w->dist);
    if (!w->in || !w->bucket || !w->col || !w->dist || vec_init(&w->v, dim) != MR_OK ||
        vec_init(&w->acc, dim) != MR_OK)
        goto fail;
    for (size_t b = 0; b < w->n_bucket; b++)
        if (vec_init(&w->bucket[b], dim) != MR_OK)
            goto fail;
    return w;
fail:
    agg_work_destroy(&w);
    return NULL;
}

void
agg_work_destroy(agg_work_t **w_p)
{
    if (!w_p || !*w_p)
        return;
    agg_work_t *w = *w_p;
    if (w->bucket)
        for (size_t b = 0; b < w->n_bucket; b++)
            vec_fini(&w->bucket[b]);
    vec_fini(&w->v);
    vec_fini(&w->acc);
    free(w->bucket);
    free(w->in);
    free(w->col);
    free(w->dist);
    free(w);
    *w_p = NULL;
}

size_t
agg_rule_inputs(const agg_cfg_t *cfg, size_t m)
{
    size_t s = cfg->bucket > 1 ? cfg->bucket : 1;
    return (m + s - 1) / s;
}

//  ---------------------------------------------------------------------------------------------
//  Selection

static void
s_swap(double *a, ptrdiff_t i, ptrdiff_t j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

//  Rearranges a[0..n) so that a[k] is its k-th smallest value (0-based), a[i] <= a[k] for i < k
//  and a[i] >= a[k] for i > k, and returns a[k]. Quickselect with a median-of-three pivot and
//  Hoare partitioning: O(n) expected, O(n^2) worst case (n is the number of workers: small).
static double
s_select(double *a, size_t n, size_t k)
{
    assert(k < n);
    ptrdiff_t lo = 0, hi = (ptrdiff_t) n - 1, kk = (ptrdiff_t) k;
    while (hi > lo) {
        ptrdiff_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            s_swap(a, lo, mid);
        if (a[hi] < a[lo])
            s_swap(a, lo, hi);
        if (a[hi] < a[mid])
            s_swap(a, mid, hi);
        double pivot = a[mid];  // a[lo] <= pivot <= a[hi]: both scans stop inside [lo, hi]
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                s_swap(a, i, j);
                i++;
                j--;
            }
        }
        //  Now a[lo..j] <= pivot <= a[i..hi], and a[j+1..i-1] == pivot.
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return a[kk];
    }
    return a[kk];
}

//  ---------------------------------------------------------------------------------------------
//  The rules over N present inputs in[0..N), all of dimension out->dim

static void
s_mean(const vec_t *const *in, size_t N, vec_t *out)
{
    vec_zero(out);
    for (size_t i = 0; i < N; i++)
        vec_axpy(out, 1.0, in[i]);
    vec_scale(out, 1.0 / (double) N);
}

//  (19): the median of each coordinate; for even N the average of the two middle values.
static void
s_median(const vec_t *const *in, size_t N, double *col, vec_t *out)
{
    size_t half = N / 2;
    for (size_t j = 0; j < out->dim; j++) {
        for (size_t i = 0; i < N; i++)
            col[i] = in[i]->x[j];
        double upper = s_select(col, N, half);
        if (N % 2) {
            out->x[j] = upper;
            continue;
        }
        double lower = col[0];  // the largest of col[0..half), all <= upper
        for (size_t i = 1; i < half; i++)
            lower = col[i] > lower ? col[i] : lower;
        out->x[j] = 0.5 * lower + 0.5 * upper;
    }
}

//  The mean of each coordinate's values after dropping the t smallest and the t largest; 2t < N.
static void
s_trimmed_mean(const vec_t *const *in, size_t N, size_t t, double *col, vec_t *out)
{
    assert(2 * t < N);
    if (t == 0) {
        s_mean(in, N, out);
        return;
    }
    size_t keep = N - 2 * t;
    for (size_t j = 0; j < out->dim; j++) {
        for (size_t i = 0; i < N; i++)
            col[i] = in[i]->x[j];
        s_select(col, N, t);                 // col[0..t): the t smallest
        s_select(col + t, N - t, keep - 1);  // col[t + keep..N): the t largest
        double sum = 0.0;
        for (size_t i = t; i < t + keep; i++)
            sum += col[i];
        out->x[j] = sum / (double) keep;
    }
}

static double
s_dist_sq(const vec_t *a, const vec_t *b)
{
    double s = 0.0;
    for (size_t j = 0; j < a->dim; j++) {
        double e = a->x[j] - b->x[j];
        s += e * e;
    }
    return s;
}

//  (18) by the smoothed Weiszfeld iteration (Pillutla et al. 2022, Alg. 3 with equal weights):
//  v <- sum_i w_i x_i / sum_i w_i, w_i = 1 / max(nu, |v - x_i|), T times from the start already
//  in out.
static void
s_rfa(const vec_t *const *in, size_t N, double nu, size_t iters, vec_t *acc, vec_t *out)
{
    assert(nu > 0.0);
    for (size_t t = 0; t < iters; t++) {
        double sum_w = 0.0;
        vec_zero(acc);
        for (size_t i = 0; i < N; i++) {
            double dist = sqrt(s_dist_sq(out, in[i]));
            double w = 1.0 / (dist > nu ? dist : nu);
            vec_axpy(acc, w, in[i]);
            sum_w += w;
        }
        vec_copy(out, acc);
        vec_scale(out, 1.0 / sum_w);
    }
}

//  (17): the input minimizing the sum of squared distances to its k nearest other inputs,
//  k = N - B - 2 (at least 1; fewer inputs than agg_check() saw leave at least one neighbour).
//  Ties go to the lowest index.
static void
s_krum(const vec_t *const *in, size_t N, size_t byz, double *dist, double *col, vec_t *out)
{
    if (N == 1) {
        vec_copy(out, in[0]);
        return;
    }
    size_t k = N > byz + 2 ? N - byz - 2 : 1;
    for (size_t i = 0; i < N; i++) {
        dist[i * N + i] = 0.0;
        for (size_t l = i + 1; l < N; l++)
            dist[i * N + l] = dist[l * N + i] = s_dist_sq(in[i], in[l]);
    }
    size_t best = 0;
    double best_score = INFINITY;
    for (size_t i = 0; i < N; i++) {
        size_t m = 0;
        for (size_t l = 0; l < N; l++)
            if (l != i)
                col[m++] = dist[i * N + l];
        s_select(col, m, k - 1);  // col[0..k): the k smallest
        double score = 0.0;
        for (size_t l = 0; l < k; l++)
            score += col[l];
        if (score < best_score) {
            best_score = score;
            best = i;
        }
    }
    vec_copy(out, in[best]);
}

//  Centered clipping (Karimireddy, He, Jaggi 2021, eq. (CC)): v <- v + (1/N) sum_i
//  clip_tau(x_i - v), clip_tau(z) = z min(1, tau / |z|), L times from v (already in out).
static void
s_cc(const vec_t *const *in, size_t N, double tau, size_t iters, vec_t *acc, vec_t *out)
{
    assert(tau > 0.0);
    size_t d = out->dim;
    for (size_t l = 0; l < iters; l++) {
        vec_zero(acc);
        for (size_t i = 0; i < N; i++) {
            double norm = sqrt(s_dist_sq(in[i], out));
            double scale = norm > tau ? tau / norm : 1.0;
            const double *x = in[i]->x;
            for (size_t j = 0; j < d; j++)
                acc->x[j] += scale * (x[j] - out->x[j]);
        }
        vec_axpy(out, 1.0 / (double) N, acc);
    }
}

//  ---------------------------------------------------------------------------------------------
//  Bucketing and dispatch

//  Algorithm 2 on in[0..m): a uniform permutation (Fisher-Yates), then bucket b is the mean of
//  the permuted inputs b s .. min((b + 1) s, m) - 1 (the y_i of Lemma D.1: divided by the
//  bucket's size, so a smaller last bucket is still a mean). Replaces in[0..N) by pointers to the
//  bucket means and returns N = ceil(m / s).
static size_t
s_bucket(agg_work_t *w, size_t m, size_t s, size_t d, rng_t *rng)
{
    assert(rng);
    const vec_t **in = w->in;
    for (size_t i = m - 1; i > 0; i--) {
        size_t j = (size_t) rng_below(rng, (uint64_t) i + 1);
        const vec_t *t = in[i];
        in[i] = in[j];
        in[j] = t;
    }
    size_t N = (m + s - 1) / s;
    assert(N <= w->n_bucket);
    for (size_t b = 0; b < N; b++) {
        size_t first = b * s, end = first + s < m ? first + s : m;
        vec_t *y = &w->bucket[b];
        y->dim = d;
        vec_copy(y, in[first]);
        for (size_t i = first + 1; i < end; i++)
            vec_axpy(y, 1.0, in[i]);
        if (end - first > 1)
            vec_scale(y, 1.0 / (double) (end - first));
        in[b] = y;  // later buckets read in[(b + 1) s ..], beyond b: safe to overwrite
    }
    return N;
}

int
agg_apply(const agg_cfg_t *cfg,
          const vec_t *const *xs,
          size_t n,
          rng_t *rng,
          agg_work_t *work,
          vec_t *out,
          mr_err_t *err)
{
    return agg_apply_from(cfg, xs, n, NULL, rng, work, out, err);
}

int
agg_apply_from(const agg_cfg_t *cfg,
               const vec_t *const *xs,
               size_t n,
               const vec_t *start,
               rng_t *rng,
               agg_work_t *work,
               vec_t *out,
               mr_err_t *err)
{
    if ((size_t) cfg->rule >= S_NRULES)
        return mr_err_set(err, MR_EINVAL, "unknown aggregation rule %d", (int) cfg->rule);
    if (n > work->cap_n)
        return mr_err_set(err, MR_EINVAL, "%zu inputs, but the aggregation scratch holds %zu", n,
                          work->cap_n);
    size_t d = out->dim, m = 0;
    if (d > work->cap_dim)
        return mr_err_set(err, MR_EINVAL, "dimension %zu, but the aggregation scratch holds %zu", d,
                          work->cap_dim);
    for (size_t i = 0; i < n; i++) {
        if (!xs[i])
            continue;
        if (xs[i]->dim != d)
            return mr_err_set(err, MR_EINVAL, "aggregation input %zu has dim %zu, output has %zu",
                              i, xs[i]->dim, d);
        work->in[m++] = xs[i];
    }
    if (m == 0)
        return mr_err_set(err, MR_EINVAL, "nothing to aggregate: all %zu inputs are absent", n);
    if (start && start->dim != d)
        return mr_err_set(err, MR_EINVAL, "centered clipping start has dim %zu, output has %zu",
                          start->dim, d);

    size_t N = m;
    if (cfg->bucket > 1 && m > 1)
        N = s_bucket(work, m, cfg->bucket, d, rng);
    const vec_t *const *in = work->in;
    //  Each Byzantine input lands in one bucket, so at most min(B, N) rule inputs are bad
    //  (Lemma D.1); TM never trims more than leaves one value.
    size_t byz = cfg->byzantine < N ? cfg->byzantine : N;
    work->v.dim = work->acc.dim = d;
    switch (cfg->rule) {
        case AGG_MEAN:
            s_mean(in, N, out);
            break;
        case AGG_CM:
            s_median(in, N, work->col, out);
            break;
        case AGG_TM:
            s_trimmed_mean(in, N, byz < (N - 1) / 2 ? byz : (N - 1) / 2, work->col, out);
            break;
        case AGG_RFA:
            if (cfg->rfa_from_cm)
                s_median(in, N, work->col, out);
            else
                s_mean(in, N, out);
            s_rfa(in, N, cfg->rfa_nu, cfg->rfa_iters, &work->acc, out);
            break;
        case AGG_KRUM:
            s_krum(in, N, byz, work->dist, work->col, out);
            break;
        case AGG_CC:
            if (start)
                vec_copy(&work->v, start);
            else
                s_median(in, N, work->col, &work->v);
            s_cc(in, N, cfg->cc_tau, cfg->cc_iters, &work->acc, &work->v);
            vec_copy(out, &work->v);
            break;
    }
    return MR_OK;
}

//  ---------------------------------------------------------------------------------------------
//  Configuration check

int
agg_check(const agg_cfg_t *cfg, size_t n, mr_err_t *err)
{
    if ((size_t) cfg->rule >= S_NRULES)
        return mr_err_set(err, MR_ECONFIG,
                          "unknown aggregation rule %d (key 'aggregator': mean, cm, tm, rfa, "
                          "krum, cc)",
                          (int) cfg->rule);
    const char *name = s_names[cfg->rule];
    if (n == 0)
        return mr_err_set(err, MR_ECONFIG, "aggregator '%s' needs at least one input", name);
    size_t N = agg_rule_inputs(cfg, n), B = cfg->byzantine;
    size_t byz = B < N ? B : N, byz_plain = B < n ? B : n;
    int bucketed = cfg->bucket > 1;
    if (bucketed && cfg->rule != AGG_MEAN && N < 2)
        return mr_err_set(err, MR_ECONFIG,
                          "key 'bucket' = %zu leaves one bucket of the %zu inputs: aggregator "
                          "'%s' would return their mean",
                          cfg->bucket, n, name);
    switch (cfg->rule) {
        case AGG_MEAN:
        case AGG_CM:
            break;
        case AGG_KRUM:
            if (N < byz + 3)
                return mr_err_set(err, MR_ECONFIG,
                                  "key '%s': krum needs n - B - 2 >= 1, but it sees %zu inputs "
                                  "(bucket %zu) of which %zu may be Byzantine (byzantine = %zu)",
                                  bucketed && n >= byz_plain + 3 ? "bucket" : "byzantine", N,
                                  cfg->bucket, byz, B);
            break;
        case AGG_TM:
            if (2 * byz >= N)
                return mr_err_set(err, MR_ECONFIG,
                                  "key '%s': tm trims B from each side and needs 2 B < n, but it "
                                  "sees %zu inputs (bucket %zu), B = %zu (byzantine = %zu)",
                                  bucketed && 2 * byz_plain < n ? "bucket" : "byzantine", N,
                                  cfg->bucket, byz, B);
            break;
        case AGG_RFA:
            if (!(cfg->rfa_nu > 0.0) || !isfinite(cfg->rfa_nu))
                return mr_err_set(err, MR_ECONFIG, "key 'rfa_nu' = %g must be finite and > 0",
                                  cfg->rfa_nu);
            if (cfg->rfa_iters < 1)
                return mr_err_set(err, MR_ECONFIG, "key 'rfa_iters' must be >= 1");
            break;
        case AGG_CC:
            if (!(cfg->cc_tau > 0.0) || !isfinite(cfg->cc_tau))
                return mr_err_set(err, MR_ECONFIG, "key 'cc_tau' = %g must be finite and > 0",
                                  cfg->cc_tau);
            if (cfg->cc_iters < 1)
                return mr_err_set(err, MR_ECONFIG, "key 'cc_iters' must be >= 1");
            break;
    }
    return MR_OK;
}
