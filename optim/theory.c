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
