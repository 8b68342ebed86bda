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

//  VR-MARINA Corollaries 3.1 / 3.2: p = min(zeta_Q / d, b' / (m + b')), where m is the shard size
//  in the finite-sum case and the full-round minibatch b in the online case.
double theory_vr_marina_p(double zeta, size_t dim, size_t batch_prime, size_t m_or_b);

//  VR-MARINA Theorems 3.1 / 3.2 (same shape): with Lc the script L of Assumption 3.1 / 3.2,
//  gamma = 1 / (L + sqrt((omega L^2 + (1 + omega) Lc^2 / b') (1 - p) / (p n))).
double
theory_vr_marina_gamma(double L, double Lc, double omega, double p, size_t n, size_t batch_prime);

//  PP-MARINA Corollary 4.1: p = zeta_Q r / (d n).
double theory_pp_marina_p(double zeta, size_t dim, size_t r, size_t n);

//  PP-MARINA Theorem 4.1: gamma = 1 / (L (1 + sqrt((1 - p) (1 + omega) / (p r)))).
double theory_pp_marina_gamma(double L, double omega, double p, size_t r);

//  Compressed GD (DCGD, QSGD-style), in the style of Khaled & Richtarik's analysis:
//  gamma = 1 / (L (1 + omega/n)).
double theory_dcgd_gamma(double L, double omega, size_t n);

//  DIANA's shift stepsize alpha = 1/(1 + omega) (Mishchenko et al. 2019; Horvath et al. 2019).
double theory_diana_alpha(double omega);

//  VR-DIANA, non-convex (Horvath, Kovalev, Mishchenko, Stich, Richtarik 2019, arXiv:1904.05115,
//  the non-convex theorem for the L-SVRG variant, p = 1/m, alpha = 1/(1 + omega), every f_ij
//  L-smooth): gamma = 1 / (10 L sqrt(1 + omega/n) (m^{2/3} + omega + 1)). m is the number of
//  components per worker the estimator samples one of: with minibatches of b', m = m_local / b'
//  (the components are minibatches; see theory_vr_diana_m()).
double theory_vr_diana_gamma(double L, double omega, size_t n, double m);

//  The m of theory_vr_diana_gamma() for a shard of m_local samples read in minibatches of b':
//  m_local / b' (not rounded), as the MARINA authors' code does.
double theory_vr_diana_m(size_t m_local, size_t batch_prime);

//  VR-DIANA's reference-point probability p = 1/m of that theorem with m = m_local / b': b'/m_local.
double theory_vr_diana_p(size_t m_local, size_t batch_prime);

//  DIANA, non-convex: VR-DIANA's theorem with m = 1 (one component per worker: the estimator is
//  the full local gradient, so VR-DIANA is DIANA): gamma = 1 / (10 L sqrt(1 + omega/n) (omega + 2)).
double theory_diana_gamma(double L, double omega, size_t n);

//  DIANA with constants of our own (gamma = 'ours', not a theorem): 1/gamma = L (1 + (1 + omega)
//  sqrt(omega/n)), the shape of DIANA's communication complexity in the MARINA paper's Table 1.
double theory_diana_gamma_ours(double L, double omega, size_t n);

//  The MARINA paper's experimental minibatch (App. A): max(1, m/100) of m samples, m/100 rounded
//  down (mushrooms, m = 1624: 16).
size_t theory_minibatch(size_t m);

//  SEGA (Hanzely, Mishchenko, Richtarik 2018; the slides' "Complexity for General Sketches")
//  with E[Z] = I/theta and theta fixed (C = E[theta^2 Z] = theta I): uniform K-coordinate sketches
//  (theta = d/K) and Gaussian b-sketches (theta = d/b). With sigma = theta / (2 L) the theorem's
//  two conditions hold for gamma = min(1/(4 L theta), 1/(4 L (theta - 1) + theta mu)); then
//  E[Phi^k] <= (1 - gamma mu)^k Phi^0, Phi^k = |x^k - x*|^2 + sigma gamma |h^k - grad f(x*)|^2.
double theory_sega_gamma(double L, double mu, double theta);
//  The sigma of the Lyapunov function Phi that goes with theory_sega_gamma(): theta / (2 L).
double theory_sega_sigma(double L, double theta);

//  SEGA with importance coordinates: j in S independently with probability p_j, estimator
//  g = h + D (h^{k+1} - h^k), D = diag(1/p_j), so E[D Z] = I, C = E[D^2 Z] = diag(1/p_j) and
//  E[Z] = diag(p_j). With L^{-1} >= I/L the theorem's conditions are per coordinate:
//    (i)  gamma <= A_j(sigma) = sigma p_j^2 / (2 (1 - p_j) + sigma mu p_j),
//    (ii) gamma <= B_j(sigma) = p_j (1/L - sigma p_j) / 2.
//  Returns the largest gamma over sigma in (0, 1/(L max_j p_j)) with both for every j, and that
//  sigma in *sigma (may be NULL); see theory.c. NAN unless d >= 1, L > 0, mu >= 0 and
//  every p_j in (0, 1].
double theory_sega_importance_gamma(double L, double mu, const double *p, size_t d, double *sigma);

#endif
