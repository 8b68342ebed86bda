//  sampler.c - minibatch index draws, uniform or by importance; see sampler.h.
//
//  Importance sampling (Byz-VR-MARINA paper, Example 2.2): P(j) = L_ij / (m Lbar_i) with
//  Lbar_i = 1/m sum_j L_ij, and the weight w_j = 1/(m P(j)) = Lbar_i / L_ij makes
//  1/b sum_{j in I} w_j grad f_ij an unbiased estimate of grad f_i: E[w_j grad f_ij] =
//  sum_j P(j) / (m P(j)) grad f_ij = grad f_i. A draw inverts the cumulative distribution by
//  binary search, O(log m) per index.
#include "sampler.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int
sampler_init(sampler_t *s, const loss_t *l, sampling_t kind, mr_err_t *err)
{
    *s = (sampler_t){.kind = kind, .m = l->data->rows};
    if (s->m == 0 || s->m > UINT32_MAX)
        return mr_err_set(err, MR_EINVAL, "a sampler needs 1 to 2^32-1 samples, not %zu", s->m);
    if (kind == SAMPLING_UNIFORM)
        return MR_OK;
    if (kind != SAMPLING_IMPORTANCE)
        return mr_err_set(err, MR_ECONFIG, "key 'sampling' has unknown kind %d", (int) kind);

    size_t m = s->m;
    s->cdf = malloc(m * sizeof *s->cdf);
    s->w = malloc(m * sizeof *s->w);
    if (!s->cdf || !s->w) {
        sampler_fini(s);
        return mr_err_set(err, MR_ENOMEM, "no memory for the importance weights of %zu samples", m);
    }
    //  cdf[] first holds the L_ij themselves, then their prefix sums.
    double total = 0.0;
    size_t last = 0;  // the last sample with L_ij > 0
    for (size_t j = 0; j < m; j++) {
        double L = loss_sample_smoothness(l, j);
        s->cdf[j] = L;
        total += L;
        if (L > 0.0)
            last = j;
    }
    if (!(total > 0.0) || !isfinite(total)) {
        sampler_fini(s);
        return mr_err_set(err, MR_ECONFIG,
                          "key 'sampling' = 'importance' needs a positive finite sum of the "
                          "samples' smoothness constants, got %g",
                          total);
    }
    double acc = 0.0;
    for (size_t j = 0; j < m; j++) {
        double L = s->cdf[j];
        //  w_j = 1/(m P(j)) = total / (m L_ij). A sample with L_ij = 0 (a zero row, lambda = 0)
        //  has P(j) = 0 and is never drawn; its weight is unused, 0 keeps it finite.
        s->w[j] = L > 0.0 ? total / ((double) m * L) : 0.0;
        acc += L;
        s->cdf[j] = acc / total;
    }
    //  Rounding may leave the last positive entry a hair below 1; pin it and the zero-probability
    //  tail to exactly 1, so that u < 1 always finds an index with P(j) > 0.
    for (size_t j = last; j < m; j++)
        s->cdf[j] = 1.0;
    return MR_OK;
}

void
sampler_fini(sampler_t *s)
{
    free(s->cdf);
    free(s->w);
    s->cdf = NULL;
    s->w = NULL;
}

//  The first j with cdf[j] > u (exists since cdf[m-1] = 1 > u): P(j) = cdf[j] - cdf[j-1].
static uint32_t
s_search(const double *cdf, size_t m, double u)
{
    size_t lo = 0, hi = m - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint32_t) lo;
}

void
sampler_draw(const sampler_t *s, rng_t *r, size_t b, uint32_t *rows, double *w)
{
    assert(s->m > 0);
    if (s->kind == SAMPLING_UNIFORM) {
        for (size_t j = 0; j < b; j++)
            rows[j] = (uint32_t) rng_below(r, s->m);
        if (w)
            for (size_t j = 0; j < b; j++)
                w[j] = 1.0;
        return;
    }
    assert(s->kind == SAMPLING_IMPORTANCE && s->cdf && s->w);
    for (size_t j = 0; j < b; j++) {
        rows[j] = s_search(s->cdf, s->m, rng_uniform(r));
        if (w)
            w[j] = s->w[rows[j]];
    }
}

int
sampler_kind_parse(const char *name, sampling_t *kind, mr_err_t *err)
{
    if (name && strcmp(name, "uniform") == 0) {
        *kind = SAMPLING_UNIFORM;
        return MR_OK;
    }
    if (name && strcmp(name, "importance") == 0) {
        *kind = SAMPLING_IMPORTANCE;
        return MR_OK;
    }
    return mr_err_set(err, MR_ECONFIG,
                      "key 'sampling' = '%s' is not one of 'uniform', 'importance'",
                      name ? name : "(null)");
}
