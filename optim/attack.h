//  attack.h - what a Byzantine attacker sends (Byz-VR-MARINA paper, Sec. 3; pure math, no I/O).
//  An attack picks the vector the attacker wants the server's aggregator to see (its "view"),
//  from the honest workers' views of the round (the omniscient adversary sees them) and its own
//  honest view (computed on the whole data set; label-flipped for lf). The attacker actor then
//  turns the view into a message shaped like an honest one (actors/attacker.c).
#ifndef ATTACK_H
#define ATTACK_H

#include <stddef.h>

#include "mr_err.h"
#include "rng.h"
#include "vec.h"

typedef enum {
    ATTACK_NONE = 0,  // no attackers: the B of them do not exist (n - B honest workers)
    ATTACK_LF,        // label flipping: honest updates computed on y -> -y
    ATTACK_BF,        // bit flipping: the negated honest view
    ATTACK_ALIE,      // A Little Is Enough (Baruch et al. 2019): mean - z std, coordinate-wise
    ATTACK_IPM,       // Inner Product Manipulation (Xie et al. 2020): -eps * mean
    ATTACK_NOISE,     // Gaussian noise of the honest views' scale
    ATTACK_JUNK,      // protocol abuse: malformed, oversized, non-finite and duplicate updates,
                      // then its honest update (tests the server's checks)
} attack_kind_t;

//  Parses "none", "lf", "bf", "alie", "ipm", "noise", "junk". MR_OK or MR_ECONFIG naming 'attack'.
int attack_kind_parse(const char *name, attack_kind_t *kind, mr_err_t *err);
const char *attack_kind_name(attack_kind_t kind);
//  1 if the attack needs the round's honest views (alie, ipm, noise).
int attack_needs_honest(attack_kind_t kind);

//  Baruch et al. (2019), Sec. 3: with n workers of which b are Byzantine, s = floor(n/2 + 1) - b
//  honest workers must be won over, and z = Phi^{-1}((n - s) / n), Phi the standard normal CDF.
//  Returns z (0 when (n - s) / n <= 1/2, i.e. no z > 0 keeps the attack inside the median).
double attack_alie_z(size_t n, size_t b);

//  Phi^{-1}(q) for q in (0, 1), by bisection on Phi(x) = erfc(-x / sqrt 2) / 2 to 1e-12.
double attack_normal_quantile(double q);

typedef struct {
    attack_kind_t kind;
    double z;    // alie
    double eps;  // ipm
} attack_cfg_t;

//  The view the attacker wants the aggregator to see, into out (dim d):
//    bf: -own; lf: own (computed on flipped labels); alie: mu - z sigma (sigma the population
//    standard deviation of each coordinate over the honest views); ipm: -eps mu; noise: N(0, s^2)
//    per coordinate with s^2 = mean_i ||h_i||^2 / d, drawn from rng.
//  honest[0..g) are the honest views (needed by alie, ipm, noise; g >= 1), own the attacker's own
//  honest view (needed by bf, lf). MR_OK, or MR_EINVAL if what the attack needs is missing.
int attack_view(const attack_cfg_t *cfg,
                const vec_t *const *honest,
                size_t g,
                const vec_t *own,
                rng_t *rng,
                vec_t *out,
                mr_err_t *err);

#endif
