//  theory.h - parameters from the papers' theorems, computed from the problem's constants.
//  Pure functions of their arguments; each cites the result it implements.
#ifndef THEORY_H
#define THEORY_H

#include <stddef.h>

//  MARINA Corollary 2.1: p = zeta_Q / d.
double theory_marina_p(double zeta, size_t dim);

//  MARINA Theorem 2.1: gamma = 1 / (L (1 + sqrt((1 - p) omega / (p n)))).
double theory_marina_gamma(double L, double omega, double p, size_t n);

//  L = sqrt(1/n sum_i L_i^2) (MARINA Assumption 1.2).
double theory_mean_sq_L(const double *Li, size_t n);

#endif
