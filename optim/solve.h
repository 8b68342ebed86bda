//  solve.h - a deterministic reference solver for the global objective of a convex run,
//  f(x) = 1/n sum_i f_i(x) over the n workers' losses, to find f* for the optimality gap
//  f(x^k) - f*. Nesterov's accelerated gradient with step 1/L and adaptive restart; no
//  randomness, so the same problem gives the same x* bit for bit. It borrows the losses and
//  allocates only its own workspace (freed before return); call it once per problem and cache
//  the result. Returns MR_OK or MR_E*, err filled.
#ifndef SOLVE_H
#define SOLVE_H

#include <stddef.h>

#include "loss.h"
#include "mr_err.h"
#include "prox.h"
#include "vec.h"

//  Minimises f = 1/n sum_{i<n} f_i (losses[i], all convex kinds of one dimension d) from x0 until
//  ||grad f(x)||^2 <= tol or max_iter gradient steps. Writes the point to x_out (the caller's,
//  dim d; may be x0) and f there to *f_out (if not NULL). MR_ETIMEOUT (err gives the ||grad||^2
//  reached, x_out the last point) if not converged; MR_EINVAL for a non-convex kind, n = 0 or a
//  negative tol; MR_EDIM, MR_ENONFINITE (divergence) or MR_ENOMEM.
int solve_minimize(const loss_t *losses,
                   size_t n,
                   const vec_t *x0,
                   double tol,
                   size_t max_iter,
                   vec_t *x_out,
                   double *f_out,
                   mr_err_t *err);

//  F* of a composite run F = f + R (R = reg, prox.h): accelerated proximal gradient (FISTA) with
//  step 1/L and adaptive restart, until the gradient mapping G(y) = L (y - prox_{R/L}(y - grad
//  f(y)/L)) has ||G||^2 <= tol or max_iter steps. Writes the last proximal point (which lies in
//  R's constraint set, if any) to x_out and F = f + R there to *F_out (if not NULL). Errors as
//  solve_minimize(), plus MR_EINVAL (err names the key) for a bad reg. With reg->kind =
//  PROX_NONE it minimises f, stopping on ||grad f||^2 as solve_minimize() does.
int solve_minimize_prox(const loss_t *losses,
                        size_t n,
                        const prox_cfg_t *reg,
                        const vec_t *x0,
                        double tol,
                        size_t max_iter,
                        vec_t *x_out,
                        double *F_out,
                        mr_err_t *err);

#endif
