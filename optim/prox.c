//  prox.c - regularisers R and their proximal operators; see prox.h.
//
//  The four operators are the textbook closed forms (Parikh & Boyd, "Proximal algorithms", 6.5.2
//  and 6.1): l1 is soft thresholding at gamma lambda1, l2 a shrinkage by 1/(1 + gamma lambda2),
//  the ball a radial projection and the box a coordinate-wise clamp. The constraint sets ignore
//  gamma (the prox of an indicator is the projection).
#include "prox.h"

#include <assert.h>
#include <math.h>
#include <string.h>

static const char *const s_names[] = {
    [PROX_NONE] = "none", [PROX_L1] = "l1",   [PROX_L2] = "l2",
    [PROX_BALL] = "ball", [PROX_BOX] = "box",
};
#define S_NKINDS (sizeof s_names / sizeof s_names[0])

//  Relative slack of the membership test in prox_value(): the ball's projection x radius/|x|
//  lands on the sphere only up to a few ulps, and a projected point must count as inside.
#define S_SET_TOL 1e-12

int
prox_kind_parse(const char *name, prox_kind_t *kind, mr_err_t *err)
{
    for (size_t k = 0; name && k < S_NKINDS; k++) {
        if (strcmp(name, s_names[k]) == 0) {
            *kind = (prox_kind_t) k;
            return MR_OK;
        }
    }
    return mr_err_set(err, MR_ECONFIG,
                      "key 'reg' = '%s' is not one of 'none', 'l1', 'l2', 'ball', 'box'",
                      name ? name : "(null)");
}

const char *
prox_kind_name(prox_kind_t kind)
{
    return (unsigned) kind < S_NKINDS ? s_names[kind] : "unknown";
}

int
prox_check(const prox_cfg_t *cfg, mr_err_t *err)
{
    switch (cfg->kind) {
        case PROX_NONE:
            return MR_OK;
        case PROX_L1:
            if (!(cfg->lambda1 >= 0.0 && isfinite(cfg->lambda1)))
                return mr_err_set(err, MR_ECONFIG,
                                  "key 'lambda1' = %g must be >= 0 and finite (reg = l1)",
                                  cfg->lambda1);
            return MR_OK;
        case PROX_L2:
            if (!(cfg->lambda2 >= 0.0 && isfinite(cfg->lambda2)))
                return mr_err_set(err, MR_ECONFIG,
                                  "key 'lambda2' = %g must be >= 0 and finite (reg = l2)",
                                  cfg->lambda2);
            return MR_OK;
        case PROX_BALL:
            if (!(cfg->radius > 0.0 && isfinite(cfg->radius)))
                return mr_err_set(err, MR_ECONFIG,
                                  "key 'radius' = %g must be > 0 and finite (reg = ball)",
                                  cfg->radius);
            return MR_OK;
        case PROX_BOX:
            if (isnan(cfg->lo))
                return mr_err_set(err, MR_ECONFIG, "key 'lo' is NaN (reg = box)");
            if (isnan(cfg->hi))
                return mr_err_set(err, MR_ECONFIG, "key 'hi' is NaN (reg = box)");
            if (!(cfg->lo <= cfg->hi))
                return mr_err_set(err, MR_ECONFIG,
                                  "keys 'lo' = %g and 'hi' = %g: the box needs lo <= hi", cfg->lo,
                                  cfg->hi);
            return MR_OK;
    }
    return mr_err_set(err, MR_ECONFIG, "key 'reg': unknown regulariser kind %d", (int) cfg->kind);
}

double
prox_value(const prox_cfg_t *cfg, const vec_t *x)
{
    switch (cfg->kind) {
        case PROX_NONE:
            return 0.0;
        case PROX_L1: {
            double s = 0.0;
            for (size_t i = 0; i < x->dim; i++)
                s += fabs(x->x[i]);
            return cfg->lambda1 * s;
        }
        case PROX_L2:
            return 0.5 * cfg->lambda2 * vec_norm_sq(x);
        case PROX_BALL:
            return sqrt(vec_norm_sq(x)) <= cfg->radius * (1.0 + S_SET_TOL) ? 0.0 : INFINITY;
        case PROX_BOX:
            for (size_t i = 0; i < x->dim; i++) {
                double v = x->x[i];
                //  NaN fails both comparisons, so it counts as outside.
                if (!(v >= cfg->lo - S_SET_TOL * fabs(cfg->lo) &&
                      v <= cfg->hi + S_SET_TOL * fabs(cfg->hi)))
                    return INFINITY;
            }
            return 0.0;
    }
    return NAN;
}

void
prox_apply(const prox_cfg_t *cfg, double gamma, vec_t *x)
{
    assert(gamma > 0.0);
    switch (cfg->kind) {
        case PROX_NONE:
            return;
        case PROX_L1: {
            //  Soft thresholding: argmin_u lambda1 |u| + (u - v)^2 / (2 gamma) per coordinate.
            double t = gamma * cfg->lambda1;
            for (size_t i = 0; i < x->dim; i++) {
                double v = x->x[i];
                x->x[i] = v > t ? v - t : v < -t ? v + t : 0.0;
            }
            return;
        }
        case PROX_L2: {
            //  argmin_u lambda2/2 |u|^2 + |u - x|^2 / (2 gamma): (1 + gamma lambda2) u = x.
            double c = 1.0 + gamma * cfg->lambda2;
            for (size_t i = 0; i < x->dim; i++)
                x->x[i] /= c;
            return;
        }
        case PROX_BALL: {
            double norm = sqrt(vec_norm_sq(x));
            if (norm > cfg->radius)
                vec_scale(x, cfg->radius / norm);
            return;
        }
        case PROX_BOX:
            //  A clamp that lets NaN through (fmin/fmax would hide a diverged run).
            for (size_t i = 0; i < x->dim; i++) {
                double v = x->x[i];
                x->x[i] = v < cfg->lo ? cfg->lo : v > cfg->hi ? cfg->hi : v;
            }
            return;
    }
    assert(!"unknown prox kind");
}
