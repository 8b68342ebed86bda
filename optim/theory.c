//  theory.c - stepsizes and probabilities from the MARINA paper; see theory.h.
#include "theory.h"

#include <math.h>

//  No assertions here: the arguments may come straight from a configuration. Out-of-range input
//  gives a non-finite or non-positive result, which method_t's constructors reject with a message.

double
theory_marina_p(double zeta, size_t dim)
{
    //  MARINA Corollary 2.1: p = zeta_Q / d (1 for the identity, whose zeta is d).
    return zeta / (double) dim;
}

double
theory_marina_gamma(double L, double omega, double p, size_t n)
{
    //  MARINA Theorem 2.1: gamma = 1 / (L (1 + sqrt((1 - p) omega / (p n)))).
    return 1.0 / (L * (1.0 + sqrt((1.0 - p) * omega / (p * (double) n))));
}

double
theory_mean_sq_L(const double *Li, size_t n)
{
    //  MARINA Assumption 1.2: L^2 = 1/n sum_i L_i^2.
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += Li[i] * Li[i];
    return sqrt(s / (double) n);
}

double
theory_vr_marina_p(double zeta, size_t dim, size_t batch_prime, size_t m_or_b)
{
    //  VR-MARINA Corollary 3.1 (finite sum, m = shard size) and 3.2 (online, m = b): the smaller of
    //  MARINA's zeta_Q / d and b' / (m + b'), which balances the oracle cost of full rounds.
    double bp = (double) batch_prime;
    return fmin(zeta / (double) dim, bp / ((double) m_or_b + bp));
}

double
theory_vr_marina_gamma(double L, double Lc, double omega, double p, size_t n, size_t batch_prime)
{
    //  VR-MARINA Theorem 3.1, (27), and Theorem 3.2, (40):
    //  gamma = 1 / (L + sqrt((1 - p) / (p n) (omega L^2 + (1 + omega) Lc^2 / b'))).
    double var = omega * L * L + (1.0 + omega) * Lc * Lc / (double) batch_prime;
    return 1.0 / (L + sqrt((1.0 - p) / (p * (double) n) * var));
}

double
theory_pp_marina_p(double zeta, size_t dim, size_t r, size_t n)
{
    //  PP-MARINA Corollary 4.1: p = zeta_Q r / (d n).
    return zeta * (double) r / ((double) dim * (double) n);
}

double
theory_pp_marina_gamma(double L, double omega, double p, size_t r)
{
    //  PP-MARINA Theorem 4.1, (54): gamma = 1 / (L (1 + sqrt((1 - p) (1 + omega) / (p r)))).
    return 1.0 / (L * (1.0 + sqrt((1.0 - p) * (1.0 + omega) / (p * (double) r))));
}

double
theory_dcgd_gamma(double L, double omega, size_t n)
{
    //  Compressed GD (Khaled & Richtarik style): E|1/n sum_i Q(g_i)|^2 grows by omega/n times the
    //  mean |g_i|^2, so the descent-lemma step 1/L shrinks by 1 + omega/n.
    return 1.0 / (L * (1.0 + omega / (double) n));
}

double
theory_diana_alpha(double omega)
{
    //  DIANA: alpha = 1/(1 + omega) keeps the shifts' update a contraction in expectation.
    return 1.0 / (1.0 + omega);
}

double
theory_vr_diana_gamma(double L, double omega, size_t n, double m)
{
    //  Horvath et al. 2019, non-convex VR-DIANA theorem (p = 1/m, alpha = 1/(1 + omega)):
    //  gamma = 1 / (10 L sqrt(1 + omega/n) (m^{2/3} + omega + 1)).
    return 1.0 / (10.0 * L * sqrt(1.0 + omega / (double) n) * (pow(m, 2.0 / 3.0) + omega + 1.0));
}

double
theory_vr_diana_m(size_t m_local, size_t batch_prime)
{
    //  The shard read as m_local / b' components (minibatches of b' samples), each L-smooth.
    return (double) m_local / (double) batch_prime;
}

double
theory_vr_diana_p(size_t m_local, size_t batch_prime)
{
    //  p = 1/m with m = m_local / b': a full local gradient (m_local oracle calls) about as often
    //  as the b'-sample steps add up to one.
    return (double) batch_prime / (double) m_local;
}

double
theory_diana_gamma(double L, double omega, size_t n)
{
    //  VR-DIANA with m = 1 is DIANA (the one component is f_i itself).
    return theory_vr_diana_gamma(L, omega, n, 1.0);
}

double
theory_diana_gamma_ours(double L, double omega, size_t n)
{
    //  Ours, not a theorem: 1/gamma = L (1 + (1 + omega) sqrt(omega/n)).
    return 1.0 / (L * (1.0 + (1.0 + omega) * sqrt(omega / (double) n)));
}

size_t
theory_minibatch(size_t m)
{
    //  MARINA paper, App. A: batchsizes max(1, m/100) for VR-MARINA and VR-DIANA.
    return m / 100 > 1 ? m / 100 : 1;
}

double
theory_sega_sigma(double L, double theta)
{
    return theta / (2.0 * L);
}

double
theory_sega_gamma(double L, double mu, double theta)
{
    //  The slides' SEGA theorem, with the smoothness matrix bounded by L I and C = theta I,
    //  E[Z] = I / theta: (i) gamma (2 (theta - 1) + sigma mu) <= sigma / theta and
    //  (ii) 2 gamma theta + sigma / theta <= 1 / L. sigma = theta / (2 L) turns (ii) into
    //  gamma <= 1 / (4 L theta) and (i) into gamma <= 1 / (4 L (theta - 1) + theta mu).
    //  With theta = 1 and mu = 0, (i) is void (1/0 = inf) and gamma = 1 / (4 L).
    return fmin(1.0 / (4.0 * L * theta), 1.0 / (4.0 * L * (theta - 1.0) + theta * mu));
}

//  min_j A_j(sigma) and min_j B_j(sigma) of theory_sega_importance_gamma().
static void
s_sega_importance_bounds(
    double L, double mu, const double *p, size_t d, double sigma, double *a, double *b)
{
    *a = INFINITY;
    *b = INFINITY;
    for (size_t j = 0; j < d; j++) {
        double den = 2.0 * (1.0 - p[j]) + sigma * mu * p[j];
        *a = fmin(*a, den > 0.0 ? sigma * p[j] * p[j] / den : INFINITY);
        *b = fmin(*b, 0.5 * p[j] * (1.0 / L - sigma * p[j]));
    }
}

double
theory_sega_importance_gamma(double L, double mu, const double *p, size_t d, double *sigma)
{
    //  A(sigma) = min_j A_j is non-decreasing in sigma, B(sigma) = min_j B_j decreasing and 0 at
    //  sigma_max = 1/(L max_j p_j), so max_sigma min(A, B) is where they cross: bisection keeps
    //  A(lo) <= B(lo) (gamma = A(lo) is then feasible) and B(hi) < A(hi). If A(0+) >= B(0+)
    //  (every p_j = 1: A_j = 1/mu), there is no crossing; gamma -> B(0) = min_j p_j / (2 L) as
    //  sigma -> 0, and the smallest sigma tried, sigma_max 2^-200, stands in for the limit.
    //  Uniform p_j = 1/theta: the crossing is at least as good as sigma = theta/(2 L), so the
    //  result is >= theory_sega_gamma(L, mu, theta).
    if (d < 1 || !(L > 0.0) || !(mu >= 0.0))
        return NAN;
    double pmax = 0.0;
    for (size_t j = 0; j < d; j++) {
        if (!(p[j] > 0.0 && p[j] <= 1.0))
            return NAN;
        pmax = fmax(pmax, p[j]);
    }
    double lo = 0.0, hi = 1.0 / (L * pmax), a, b;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        s_sega_importance_bounds(L, mu, p, d, mid, &a, &b);
        if (a <= b)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == 0.0)
        lo = hi;  // no crossing: the smallest sigma tried
    s_sega_importance_bounds(L, mu, p, d, lo, &a, &b);
    if (sigma)
        *sigma = lo;
    return fmin(a, b);
}
