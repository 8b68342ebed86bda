//  method_dcgd.c - distributed compressed gradient descent (DCGD, as in QSGD) as a method table;
//  see method.h.
//
//  Every round each worker sends Q(grad f_i(x^k)) and the server averages them into g^k. That is
//  DIANA with alpha = 0 (the shifts stay zero), so DCGD runs DIANA's machinery with alpha forced
//  to 0 (method_diana.c). Unlike DIANA it may use a biased compressor: TopK gives plain biased
//  compressed GD. With an unbiased Q the compression noise omega/n * 1/n sum_i |grad f_i(x)|^2
//  does not vanish at the optimum of heterogeneous data, so DCGD stalls at a floor that DIANA's
//  shifts remove. With a regulariser R it is compressed proximal GD (the slides' DCGD with R):
//  x^{k+1} = prox_{gamma R}(x^k - gamma g^k), DIANA's prox step.
#include <math.h>

#include "method_impl.h"
#include "theory.h"

static method_params_t
s_dcgd_params(const method_params_t *mp)
{
    method_params_t dcgd = *mp;
    dcgd.alpha = 0.0;  // no shifts: Delta_i = Q(grad f_i(x^k)), g^k = 1/n sum_i Delta_i
    return dcgd;
}

static method_worker_t *
s_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    method_params_t dcgd = s_dcgd_params(mp);
    return method_diana_worker_new(&dcgd, loss, id, x0, err);
}

static method_server_t *
s_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    method_params_t dcgd = s_dcgd_params(mp);
    return method_diana_server_new(&dcgd, x0, err);
}

//  DCGD's stepsize gamma = 1/(L (1 + omega/n)), from the analysis of compressed GD in the style of
//  Khaled & Richtarik (the compressed mean is an unbiased estimator whose second moment grows by
//  omega/n). p and alpha are unused (set to 1 and 0).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    mp->p = 1.0;
    mp->alpha = 0.0;
    // A biased compressor (TopK) has no omega: no variance term, the descent-lemma step 1/L
    // (plain compressed GD with TopK has no convergence theory; it is here as a baseline).
    if (isnan(mp->gamma))
        mp->gamma = theory_dcgd_gamma(pc->L, isnan(pc->omega) ? 0.0 : pc->omega, pc->n);
    return method_check_common(mp, err);
}

static void
s_worker_state(method_worker_t *self, state_t *st)
{
    method_diana_worker_visit(self, st, "dcgd-worker-v1");
}

static void
s_server_state(method_server_t *self, state_t *st)
{
    method_diana_server_visit(self, st, "dcgd-server-v1");
}

const method_t method_dcgd = {
    .name = "dcgd",
    .allows_biased = 1,
    .allows_prox = 1,
    .uses_compressor = 1,
    .resolve = s_resolve,
    .worker_new = s_worker_new,
    .worker_destroy = method_diana_worker_destroy,
    .worker_step = method_diana_worker_step,
    .worker_x = method_diana_worker_x,
    .server_new = s_server_new,
    .server_destroy = method_diana_server_destroy,
    .server_plan = method_diana_server_plan,
    .server_combine = method_diana_server_combine,
    .server_x = method_diana_server_x,
    .server_agg_dist_sq = method_diana_server_agg_dist_sq,
    .worker_state = s_worker_state,
    .worker_rejoin = method_diana_worker_rejoin,
    .server_state = s_server_state,
};
