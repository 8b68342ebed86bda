//  method_common.c - the checks and steps the method files share; see method_impl.h.
#include <math.h>
#include <stdlib.h>

#include "method_impl.h"

#define SUM_AHEAD 4  // method_sum_updates(): updates fetched this many ahead

int
method_check_gamma(const method_params_t *mp, mr_err_t *err)
{
    if (!(mp->gamma > 0.0 && isfinite(mp->gamma)))
        return mr_err_set(err, MR_ECONFIG, "key 'gamma' = %g must be positive and finite",
                          mp->gamma);
    return MR_OK;
}

int
method_check_p(const method_params_t *mp, mr_err_t *err)
{
    if (!(mp->p > 0.0 && mp->p <= 1.0))
        return mr_err_set(err, MR_ECONFIG, "key 'p' = %g is outside (0, 1]", mp->p);
    return MR_OK;
}

int
method_check_common(const method_params_t *mp, mr_err_t *err)
{
    if (mp->n == 0)
        return mr_err_set(err, MR_ECONFIG, "key 'n' = 0: at least one worker is needed");
    int rc = method_check_gamma(mp, err);
    return rc != MR_OK ? rc : method_check_p(mp, err);
}

int
method_check_unbiased(const method_params_t *mp, const char *method, mr_err_t *err)
{
    if (comp_kind_is_biased(mp->comp.kind))
        return mr_err_set(err, MR_ECONFIG,
                          "key 'compressor' = '%s' is biased; %s needs an unbiased one",
                          comp_kind_name(mp->comp.kind), method);
    return MR_OK;
}

int
method_check_x0(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    if (mp->dim == 0 || (x0 && x0->dim != mp->dim))
        return mr_err_set(err, MR_EDIM, "x0 has dim %zu, the run has d = %zu", x0 ? x0->dim : 0,
                          mp->dim);
    return MR_OK;
}

int
method_check_shard(const method_params_t *mp, const loss_t *loss, uint32_t id, mr_err_t *err)
{
    if (loss->data->cols != mp->dim)
        return mr_err_set(err, MR_EDIM, "worker %u's data has %zu columns, the run has d = %zu", id,
                          loss->data->cols, mp->dim);
    return MR_OK;
}

void *
method_worker_alloc(size_t size, uint32_t id, mr_err_t *err)
{
    void *self = calloc(1, size);
    if (!self)
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u", id);
    return self;
}

void *
method_server_alloc(size_t size, mr_err_t *err)
{
    void *self = calloc(1, size);
    if (!self)
        mr_err_set(err, MR_ENOMEM, "no memory for the server state");
    return self;
}

void
method_step(const method_params_t *mp, const vec_t *g, int prox, vec_t *x)
{
    vec_axpy(x, -mp->gamma, g);
    if (prox)
        prox_apply(&mp->reg, mp->gamma, x);
}

int
method_check_updates(const method_params_t *mp,
                     uint64_t expected,
                     const method_round_t *rd,
                     const cvec_t *const *ups,
                     const uint32_t *mult,
                     mr_err_t *err)
{
    if (rd->round != expected)
        return mr_err_set(err, MR_EINVAL, "updates for round %llu, the server is in round %llu",
                          (unsigned long long) rd->round, (unsigned long long) expected);
    for (size_t i = 0; i < mp->n; i++) {
        if (mult && mult[i] == 0)
            continue;
        if (!ups[i] && method_robust_wanted(mp))
            continue;  // absent (rejected or silent): the robust aggregator skips it
        if (!ups[i])
            return mr_err_set(err, MR_EINVAL, "round %llu: no update from worker %zu",
                              (unsigned long long) rd->round, i);
        if (ups[i]->dim != mp->dim)
            return mr_err_set(err, MR_EDIM, "update from worker %zu has dim %zu, model has %zu", i,
                              ups[i]->dim, mp->dim);
    }
    return MR_OK;
}

void
method_sum_updates(vec_t *sum, const cvec_t *const *ups, size_t n, const uint32_t *mult)
{
    vec_zero(sum);
    for (size_t i = 0; i < n; i++) {
        //  Each update is a buffer of its own, long out of the caches: ask for the one a few
        //  updates ahead while this one is added (a sparse one's entries; a dense one's start).
        const cvec_t *ahead = i + SUM_AHEAD < n ? ups[i + SUM_AHEAD] : NULL;
        if (ahead) {
            __builtin_prefetch(ahead->val);
            if (ahead->kind == CVEC_SPARSE)
                __builtin_prefetch(ahead->idx);
        }
        if (!mult)
            cvec_axpy_to(sum, 1.0, ups[i]);
        else if (mult[i] > 0)
            cvec_axpy_to(sum, (double) mult[i], ups[i]);
    }
}
