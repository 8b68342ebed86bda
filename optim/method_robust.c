//  method_robust.c - robust aggregation of worker messages for the averaging methods; see
//  method_impl.h.
#include <stdlib.h>

#include "method_impl.h"

int
method_robust_wanted(const method_params_t *mp)
{
    return mp->agg.rule != AGG_MEAN || mp->agg.bucket > 1 || mp->byzantine > 0 || mp->allow_absent;
}

int
method_robust_init(method_robust_t *r, const method_params_t *mp, mr_err_t *err)
{
    *r = (method_robust_t){0};
    if (!method_robust_wanted(mp))
        return MR_OK;
    if (mp->byzantine >= mp->n)
        return mr_err_set(err, MR_ECONFIG,
                          "byzantine = %zu: at least one of the n = %zu workers "
                          "must be honest",
                          mp->byzantine, mp->n);
    int rc = agg_check(&mp->agg, mp->n, err);
    if (rc != MR_OK)
        return rc;
    r->on = 1;
    r->n = mp->n;
    r->honest = mp->n - mp->byzantine;
    r->cfg = mp->agg;
    rng_seed(&r->rng, mp->seed, RNG_STREAM_AGGREGATE);
    r->work = agg_work_new(mp->n, mp->dim);
    r->views = calloc(mp->n, sizeof *r->views);
    r->ptrs = calloc(mp->n, sizeof *r->ptrs);
    rc = r->work && r->views && r->ptrs ? MR_OK : MR_ENOMEM;
    for (size_t i = 0; rc == MR_OK && i < mp->n; i++)
        rc = vec_init(&r->views[i], mp->dim);
    if (rc == MR_OK)
        rc = vec_init(&r->honest_mean, mp->dim);
    if (rc != MR_OK) {
        method_robust_fini(r);
        return mr_err_set(err, MR_ENOMEM, "no memory for the aggregator (n = %zu, d = %zu)", mp->n,
                          mp->dim);
    }
    return MR_OK;
}

void
method_robust_fini(method_robust_t *r)
{
    agg_work_destroy(&r->work);
    for (size_t i = 0; r->views && i < r->n; i++)
        vec_fini(&r->views[i]);
    free(r->views);
    free((void *) r->ptrs);
    vec_fini(&r->honest_mean);
    *r = (method_robust_t){0};
}

int
method_robust_aggregate(method_robust_t *r, vec_t *out, mr_err_t *err)
{
    int rc = agg_apply(&r->cfg, r->ptrs, r->n, &r->rng, r->work, out, err);
    if (rc != MR_OK)
        return rc;
    size_t honest = 0;
    vec_zero(&r->honest_mean);
    for (size_t i = 0; i < r->honest; i++)
        if (r->ptrs[i]) {
            vec_axpy(&r->honest_mean, 1.0, r->ptrs[i]);
            honest++;
        }
    r->dist_sq = 0.0;
    if (honest > 0) {
        vec_scale(&r->honest_mean, 1.0 / (double) honest);
        for (size_t j = 0; j < out->dim; j++) {
            double e = out->x[j] - r->honest_mean.x[j];
            r->dist_sq += e * e;
        }
    }
    return MR_OK;
}

int
method_robust_combine(
    method_robust_t *r, const vec_t *offset, const cvec_t *const *ups, vec_t *out, mr_err_t *err)
{
    for (size_t i = 0; i < r->n; i++) {
        r->ptrs[i] = NULL;
        if (!ups[i])
            continue;
        vec_t *v = &r->views[i];
        if (offset)
            vec_copy(v, offset);
        else
            vec_zero(v);
        cvec_axpy_to(v, 1.0, ups[i]);
        r->ptrs[i] = v;
    }
    return method_robust_aggregate(r, out, err);
}

int
method_robust_accumulate(
    method_robust_t *r, int reset, const cvec_t *const *ups, vec_t *out, mr_err_t *err)
{
    for (size_t i = 0; i < r->n; i++) {
        r->ptrs[i] = NULL;
        if (!ups[i])
            continue;
        vec_t *v = &r->views[i];
        if (reset)
            vec_zero(v);
        cvec_axpy_to(v, 1.0, ups[i]);
        r->ptrs[i] = v;
    }
    return method_robust_aggregate(r, out, err);
}

void
method_robust_state(method_robust_t *r, state_t *st, int views)
{
    state_expect(st, (uint64_t) r->on, "robust aggregation (1: on)");
    if (!r->on)
        return;
    state_expect(st, r->n, "the aggregator's inputs n");
    state_rng(st, &r->rng);
    state_f64(st, &r->dist_sq);
    state_expect(st, (uint64_t) views, "per-worker estimators (1: kept)");
    for (size_t i = 0; views && i < r->n; i++)
        state_vec(st, &r->views[i]);
}
