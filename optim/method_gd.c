//  method_gd.c - distributed gradient descent as a method table; see method.h.
//
//  Every round each worker sends its dense grad f_i(x^k) and the server averages them. That is
//  MARINA with p = 1 and Q = identity (MARINA paper, Sec. 2), so GD runs MARINA's machinery with
//  those two parameters forced: the configured p and compressor are ignored.
//
//  With a regulariser R (F = f + R) it is proximal GD, the slides' distributed GD:
//  x^{k+1} = prox_{gamma R}(x^k - gamma g^k), and projected GD when R is the indicator of a set.
//  MARINA's worker and server run their prox variants, which map the new point through the prox
//  before the gradient there is taken; with R = none the prox is the identity and the run is
//  MARINA's arithmetic, bit for bit.
#include <math.h>

#include "method_impl.h"

static method_params_t
s_gd_params(const method_params_t *mp)
{
    method_params_t gd = *mp;
    gd.p = 1.0;  // c_k = 1 every round, drawn without touching the server's rng
    gd.comp = (comp_cfg_t){.kind = COMP_IDENTITY, .k = mp->dim};
    return gd;
}

static method_worker_t *
s_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    method_params_t gd = s_gd_params(mp);
    return method_marina_worker_new(&gd, loss, id, x0, err);
}

static method_server_t *
s_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    method_params_t gd = s_gd_params(mp);
    return method_marina_server_new(&gd, x0, err);
}

//  GD's stepsize: 1/L (the descent lemma; MARINA Theorem 2.1 with omega = 0).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    mp->p = 1.0;
    if (isnan(mp->gamma))
        mp->gamma = 1.0 / pc->L;
    return method_check_common(mp, err);
}

static void
s_worker_state(method_worker_t *self, state_t *st)
{
    method_marina_worker_visit(self, st, "gd-worker-v1");
}

static void
s_server_state(method_server_t *self, state_t *st)
{
    method_marina_server_visit(self, st, "gd-server-v1");
}

const method_t method_gd = {
    .name = "gd",
    .allows_prox = 1,
    .uses_compressor = 0,
    .resolve = s_resolve,
    .worker_new = s_worker_new,
    .worker_destroy = method_marina_worker_destroy,
    .worker_step = method_marina_worker_step_prox,
    .worker_x = method_marina_worker_x,
    .server_new = s_server_new,
    .server_destroy = method_marina_server_destroy,
    .server_plan = method_marina_server_plan,
    .server_combine = method_marina_server_combine_prox,
    .server_x = method_marina_server_x,
    .server_agg_dist_sq = method_marina_server_agg_dist_sq,
    .view_offset = method_marina_view_offset,
    .round_compressed = method_marina_round_compressed,
    .worker_state = s_worker_state,
    .worker_rejoin = method_marina_worker_rejoin,
    .server_state = s_server_state,
};
