//  bench_accel_rounds.c - rounds to a relative gap of 1e-6 for sega, cd, acd and asega on one
//  ill-conditioned least-squares problem, in process (the method tables driven through the round
//  protocol of method.h, one worker), for docs/results.md ("accelerated SEGA vs SEGA"). Not a
//  timing: it counts rounds, which do not depend on the machine; it runs in process only because
//  SEGA needs millions of rounds here.
//
//  Two problems, f = 1/(2m) |A x - b|^2 + lambda/2 |x|^2, A from data_synthetic(rows, d = 100,
//  density 0.3, seed 1):
//    rankdef: 50 rows, lambda = 1e-4. A^T A is singular, so mu = lambda exactly and kappa =
//      lambda_max(Hess f)/mu >= 1e4; but x* lies in Range(A^T), where f is much better
//      conditioned, and only an accelerated method's momentum is set by mu. The methods get what
//      the launcher gives them: L = max_j L_j (loss_smoothness(), a bound), mu = lambda.
//    spread: 200 rows, column j scaled by 10^(-1.5 j/(d - 1)) (so L_jj spans 1e3), lambda = 1e-7.
//      The methods get the true constants, L = lambda_max and mu = lambda_min of Hess f (power
//      iteration), so every theorem's rate is tight; K = 10 coordinates per round.
//  Both: L_jj from loss_coord_smoothness() (exact for least squares), p_j ~ L_jj (cd) or
//  sqrt(L_jj) (acd, asega) for importance. A run stops at the first round with f(x^k) - f* <=
//  1e-6 (f(x^0) - f*) or at its cap; the table prints "> cap" for a run that did not get there.
//    bench_accel_rounds rankdef|spread [sega_cap]   (sega's cap: default 5e7 rounds; others 5e6)
//  Exit 0 when every run ran (whether or not it reached the target); 1 if something failed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "loss.h"
#include "method.h"
#include "solve.h"

#define DIM    100
#define TARGET 1e-6

typedef struct {
    size_t rows;    // samples
    size_t k;       // coordinates per round
    double lambda;  // the l2 weight
    int spread;     // 1: scaled columns and the true L, mu
    double L, mu;   // what the methods are given
} problem_t;

typedef struct {
    const char *label;   // the table's name for the run
    const char *method;  // method table
    int sketch;          // 0 coordinate, 1 importance
    int acd_params;      // asega run with acd's tau and eta (the factor 9.8 left out)
    double cap;          // rounds at most
} run_t;

//  The largest eigenvalue of shift I - Hess f (shift = 0: of Hess f = A^T A / m + lambda I, sign
//  flipped), by power iteration on the gradient's linear part.
static double
s_power(const loss_t *f, double shift, int iters)
{
    vec_t v, g0, g;
    vec_init(&v, DIM);
    vec_init(&g0, DIM);
    vec_init(&g, DIM);
    vec_zero(&v);
    loss_value_grad(f, &v, &g0);  // grad f(0) = -A^T b / m
    for (size_t j = 0; j < DIM; j++)
        v.x[j] = 1.0 + 0.01 * (double) j;
    double lam = 0.0;
    for (int it = 0; it < iters; it++) {
        vec_scale(&v, 1.0 / sqrt(vec_norm_sq(&v)));
        loss_value_grad(f, &v, &g);
        vec_axpy(&g, -1.0, &g0);  // Hess f v
        vec_scale(&g, -1.0);
        vec_axpy(&g, shift, &v);  // (shift I - Hess f) v
        lam = vec_dot(&g, &v);
        vec_copy(&v, &g);
    }
    vec_fini(&v);
    vec_fini(&g0);
    vec_fini(&g);
    return lam;
}

//  Rounds until the gap is <= TARGET of its start (or the cap, returned as -1).
static double
s_run(const run_t *r,
      const problem_t *pb,
      const loss_t *f,
      const double *Ljj,
      const double *p_lin,
      const double *p_sqrt,
      double fstar,
      double *gamma_out,
      double *tau_out)
{
    int accel = strcmp(r->method, "acd") == 0 || strcmp(r->method, "asega") == 0;
    method_params_t mp = {.n = 1,
                          .dim = DIM,
                          .m = pb->rows,
                          .gamma = NAN,
                          .p = NAN,
                          .alpha = NAN,
                          .comp = {.kind = COMP_IDENTITY, .k = pb->k},
                          .sketch = r->sketch,
                          .sketch_b = 1,
                          .seed = 1,
                          .coord_L = accel ? Ljj : NULL,
                          .coord_p = r->sketch == 1 ? (accel ? p_sqrt : p_lin) : NULL};
    method_consts_t pc = {
        .n = 1, .dim = DIM, .m = pb->rows, .L = pb->L, .L_avg = pb->L, .mu = pb->mu};
    const method_t *m = method_find(r->method);
    mr_err_t err;
    if (!m || m->resolve(&mp, &pc, &err) != MR_OK) {
        fprintf(stderr, "%s: %s\n", r->label, m ? err.text : "no such method");
        exit(1);
    }
    if (r->acd_params) {
        method_params_t acd = mp;
        acd.gamma = NAN;
        if (method_find("acd")->resolve(&acd, &pc, &err) != MR_OK)
            exit(1);
        mp.gamma = acd.gamma;
        mp.tau = acd.tau;
    }
    *gamma_out = mp.gamma;
    *tau_out = accel ? mp.tau : NAN;
    vec_t x0;
    vec_init(&x0, DIM);
    vec_zero(&x0);
    double gap0 = loss_value(f, &x0) - fstar;
    method_server_t *srv = m->server_new(&mp, &x0, &err);
    method_worker_t *wrk = m->worker_new(&mp, f, 0, &x0, &err);
    cvec_t out;
    if (!srv || !wrk || cvec_init(&out, DIM, DIM) != MR_OK) {
        fprintf(stderr, "%s: %s\n", r->label, err.text);
        exit(1);
    }
    rng_t rs, rw;
    rng_seed(&rs, 1, RNG_STREAM_SERVER);
    rng_seed(&rw, 1, rng_stream_worker(0));
    double reached = -1;
    for (uint64_t k = 0; k <= (uint64_t) r->cap; k++) {
        method_round_t rd;
        method_report_t rep = {0};
        m->server_plan(srv, k, &rs, &rd);
        if (m->worker_step(wrk, &rd, &rw, &out, &rep) != MR_OK) {
            fprintf(stderr, "%s: worker step %llu failed\n", r->label, (unsigned long long) k);
            exit(1);
        }
        const cvec_t *ups[1] = {&out};
        if (m->server_combine(srv, &rd, ups, &err) != MR_OK) {
            fprintf(stderr, "%s: %s\n", r->label, err.text);
            exit(1);
        }
        double gap = loss_value(f, m->server_x(srv)) - fstar;
        if (!isfinite(gap)) {
            fprintf(stderr, "%s: diverged in round %llu\n", r->label, (unsigned long long) k);
            break;
        }
        if (gap <= TARGET * gap0) {
            reached = (double) k;
            break;
        }
    }
    m->server_destroy(&srv);
    m->worker_destroy(&wrk);
    cvec_fini(&out);
    vec_fini(&x0);
    return reached;
}

int
main(int argc, char **argv)
{
    int spread = argc > 1 && strcmp(argv[1], "spread") == 0;
    if (argc < 2 || (!spread && strcmp(argv[1], "rankdef") != 0)) {
        fprintf(stderr, "usage: bench_accel_rounds rankdef|spread [sega_cap]\n");
        return 1;
    }
    double sega_cap = argc > 2 ? atof(argv[2]) : 5e7, cap = 5e6;
    problem_t pb = {.rows = spread ? 200 : 50,
                    .k = spread ? 10 : 1,
                    .lambda = spread ? 1e-7 : 1e-4,
                    .spread = spread};
    csr_t a;
    loss_t f;
    mr_err_t err;
    if (data_synthetic(pb.rows, DIM, 0.3, 1, 1, &a, &err) != MR_OK) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    if (spread)
        for (size_t t = 0; t < a.nnz; t++)
            a.val[t] *= pow(10.0, -1.5 * (double) a.col[t] / (DIM - 1));
    if (loss_init(&f, LOSS_QUADRATIC, pb.lambda, &a, &err) != MR_OK) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    double lmax = -s_power(&f, 0.0, 5000);
    double lmin = lmax - s_power(&f, lmax, 100000);
    pb.L = spread ? lmax : loss_smoothness(&f);
    pb.mu = spread ? lmin : pb.lambda;
    double Ljj[DIM], w[DIM], p_lin[DIM], p_sqrt[DIM];
    loss_coord_smoothness(&f, Ljj);
    for (size_t j = 0; j < DIM; j++)
        w[j] = sqrt(Ljj[j]);
    if (method_importance_p(Ljj, DIM, pb.k, p_lin) != MR_OK ||
        method_importance_p(w, DIM, pb.k, p_sqrt) != MR_OK)
        return 1;
    vec_t xs;
    vec_init(&xs, DIM);
    vec_zero(&xs);
    double fstar;
    prox_cfg_t none = {.kind = PROX_NONE};
    if (solve_minimize_prox(&f, 1, &none, &xs, 1e-28, 10000000, &xs, &fstar, &err) != MR_OK) {
        fprintf(stderr, "f*: %s\n", err.text);
        return 1;
    }
    double sum_sqrt = 0, tr = 0;
    for (size_t j = 0; j < DIM; j++) {
        sum_sqrt += sqrt(Ljj[j]);
        tr += Ljj[j];
    }
    printf("problem %s: d = %d, %zu rows, lambda = %g, K = %zu; given L = %.4g, mu = %.4g; "
           "lambda_max = %.4g, lambda_min = %.4g (kappa = %.3g); Tr = sum L_jj = %.4g, "
           "sum sqrt(L_jj) = %.4g\n\n",
           argv[1], DIM, pb.rows, pb.lambda, pb.k, pb.L, pb.mu, lmax, lmin, lmax / lmin, tr,
           sum_sqrt);
    const run_t runs[] = {
        {"sega, uniform (theory)", "sega", 0, 0, sega_cap},
        {"cd, uniform (1/L)", "cd", 0, 0, cap},
        {"acd, uniform (theory)", "acd", 0, 0, cap},
        {"acd, p ~ sqrt(L_jj) (theory)", "acd", 1, 0, cap},
        {"asega, uniform (theory)", "asega", 0, 0, cap},
        {"asega, p ~ sqrt(L_jj) (theory)", "asega", 1, 0, cap},
        {"asega, uniform, acd's tau and eta", "asega", 0, 1, cap},
        {"asega, p ~ sqrt(L_jj), acd's tau and eta", "asega", 1, 1, cap},
    };
    printf("| run | gamma (eta) | tau | rounds to gap <= 1e-6 of the start |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        double gamma, tau;
        double k = s_run(&runs[i], &pb, &f, Ljj, p_lin, p_sqrt, fstar, &gamma, &tau);
        char tau_s[32] = "-", k_s[32];
        if (!isnan(tau))
            snprintf(tau_s, sizeof tau_s, "%.3g", tau);
        if (k < 0)
            snprintf(k_s, sizeof k_s, "> %.3g", runs[i].cap);
        else
            snprintf(k_s, sizeof k_s, "%.0f", k);
        printf("| %s | %.3g | %s | %s |\n", runs[i].label, gamma, tau_s, k_s);
        fflush(stdout);
    }
    vec_fini(&xs);
    csr_fini(&a);
    return 0;
}
