//  attack.c - see attack.h.
#include "attack.h"

#include <math.h>
#include <string.h>

static const char *const s_names[] = {"none", "lf", "bf", "alie", "ipm", "noise", "junk"};
#define S_NKINDS (sizeof s_names / sizeof s_names[0])

int
attack_kind_parse(const char *name, attack_kind_t *kind, mr_err_t *err)
{
    for (size_t i = 0; name && i < S_NKINDS; i++)
        if (strcmp(name, s_names[i]) == 0) {
            *kind = (attack_kind_t) i;
            return MR_OK;
        }
    return mr_err_set(err, MR_ECONFIG,
                      "attack = '%s' is unknown (none, lf, bf, alie, ipm, noise, junk)",
                      name ? name : "");
}

const char *
attack_kind_name(attack_kind_t kind)
{
    return (size_t) kind < S_NKINDS ? s_names[kind] : "unknown";
}

int
attack_needs_honest(attack_kind_t kind)
{
    return kind == ATTACK_ALIE || kind == ATTACK_IPM || kind == ATTACK_NOISE;
}

double
attack_normal_quantile(double q)
{
    double lo = -40.0, hi = 40.0;
    while (hi - lo > 1e-12) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < q)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

double
attack_alie_z(size_t n, size_t b)
{
    double s = floor((double) n / 2.0 + 1.0) - (double) b;
    double q = ((double) n - s) / (double) n;
    if (!(q > 0.5))
        return 0.0;
    return attack_normal_quantile(fmin(q, 1.0 - 1e-9));
}

int
attack_view(const attack_cfg_t *cfg,
            const vec_t *const *honest,
            size_t g,
            const vec_t *own,
            rng_t *rng,
            vec_t *out,
            mr_err_t *err)
{
    size_t d = out->dim;
    if (attack_needs_honest(cfg->kind) && (g == 0 || !honest))
        return mr_err_set(err, MR_EINVAL, "attack %s needs the honest views of the round",
                          attack_kind_name(cfg->kind));
    if (!attack_needs_honest(cfg->kind) && !own)
        return mr_err_set(err, MR_EINVAL, "attack %s needs the attacker's own view",
                          attack_kind_name(cfg->kind));
    switch (cfg->kind) {
        case ATTACK_NONE:
        case ATTACK_LF:
        case ATTACK_JUNK:
            vec_copy(out, own);
            return MR_OK;
        case ATTACK_BF:
            vec_copy(out, own);
            vec_scale(out, -1.0);
            return MR_OK;
        case ATTACK_NOISE: {
            double s2 = 0.0;
            for (size_t i = 0; i < g; i++)
                s2 += vec_norm_sq(honest[i]);
            double s = sqrt(s2 / ((double) g * (double) (d ? d : 1)));
            for (size_t j = 0; j < d; j++)
                out->x[j] = s * rng_normal(rng);
            return MR_OK;
        }
        case ATTACK_ALIE:
        case ATTACK_IPM:
            break;
    }
    //  mu (and sigma for ALIE), coordinate by coordinate over the g honest views.
    for (size_t j = 0; j < d; j++) {
        double mu = 0.0;
        for (size_t i = 0; i < g; i++)
            mu += honest[i]->x[j];
        mu /= (double) g;
        if (cfg->kind == ATTACK_IPM) {
            out->x[j] = -cfg->eps * mu;
            continue;
        }
        double var = 0.0;
        for (size_t i = 0; i < g; i++) {
            double e = honest[i]->x[j] - mu;
            var += e * e;
        }
        out->x[j] = mu - cfg->z * sqrt(var / (double) g);
    }
    return MR_OK;
}
