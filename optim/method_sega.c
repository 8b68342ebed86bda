//  method_sega.c - SEGA (Hanzely, Mishchenko, Richtarik, NeurIPS 2018: "SEGA: variance reduction
//  via gradient sketching"; the slides, Secs. 2-5), distributed over n workers, its biased
//  variant, and randomized coordinate descent (CD), as method tables; see method.h.
//
//  SEGA, distributed. Worker i keeps h_i (h_i^0 = 0) and x; the server keeps h = 1/n sum_i h_i.
//  Round k (after x^k = prox_{gamma R}(x^{k-1} - gamma g^{k-1}) on both sides for k >= 1):
//    worker i:  r_i = grad f_i(x^k) - h_i^k;  sends S_ik^T r_i (the SEGA oracle on the residual);
//               h_i^{k+1} = h_i^k + Delta_i,  Delta_i = Z_ik r_i,  Z = S (S^T S)^+ S^T
//               (sketch and project: the closest h to h_i^k with S^T h = S^T grad f_i(x^k));
//    server:    rebuilds every Delta_i from S_ik^T r_i and S_ik, which it redraws itself;
//               g^k = h^k + theta 1/n sum_i Delta_i  (the SEGA estimator; E[theta Z] = I),
//               h^{k+1} = h^k + 1/n sum_i Delta_i.
//  With n = 1 this is the slides' Algorithm ("The SEGA Algorithm", steps 1-3). Biased SEGA is the
//  same with theta = 1 (g^k = h^{k+1}). CD: every worker sends the coordinates S_k of
//  grad f_i(x^k), the same S_k for all workers, unscaled; g^k = 1/n sum_i of them.
//
//  Shared randomness. S_ik is drawn from an rng seeded with (mp.seed, method_sega_stream(k, i))
//  on the worker and again on the server, so it never travels (method_impl.h); the rng a worker
//  is handed is not used. Coordinate sketches: K = comp.k distinct uniform coordinates
//  (rng_sample_k), Z = diag(1 on them), E[Z] = K/d I, theta = d/K; the update is a sparse raw
//  cvec of the K residual coordinates. Gaussian sketches: S is d x b with N(0, 1) entries, column
//  j drawn before column j + 1 (rng_normal, d draws each); E[Z] = b/d I, theta = d/b; the update
//  is a SKETCH cvec of the b coefficients S^T r (vec.h, docs/protocol.md).
//
//  Importance coordinates (the slides' "Coordinate Sketch: Arbitrary Sampling Setup", with
//  independent sampling): coordinate j is in S independently with probability p_j = mp.coord_p[j]
//  (d rng_uniform() draws, j in S iff u_j < p_j), p_j ~ L_jj with sum_j p_j = K
//  (method_importance_p()). |S| varies from round to round, 0 included (the update is then an
//  empty sparse cvec, 0 bits). Z = diag(1 on S), E[Z] = diag(p_j); theta becomes the diagonal
//  D = diag(1/p_j), g^k = h^k + D 1/n sum_i Delta_i, E[D Z] = I, and C = E[D^2 Z] = diag(1/p_j)
//  in the general-sketch theorem (theory_sega_importance_gamma()). CD keeps g^k = P_S grad f(x^k)
//  unscaled (classic importance-sampled coordinate descent) and gamma = 1/L.
//
//  Rebuilding Z r from S^T r. S = Q R by Gram-Schmidt applied twice (CGS2); then Q^T r solves
//  R^T w = S^T r and Z r = Q w. A column numerically in the span of the earlier ones (probability
//  0 for Gaussians, b <= d) is dropped: its equation is implied by the others, and
//  S (S^T S)^+ S^T is still the projection onto range(S). Worker and server call the same
//  function on the same bits, so they add the same Delta_i.
//
//  Subspace SEGA (the slides' "Variants of SEGA", 3; SEGA paper, Sec. "Subspace SEGA"). For
//  f(x) = phi(A x), grad f(x) lies in Range(A^T); with U (d x r, the launcher's mp.range_q) an
//  orthonormal basis of it, sketch and project adds the constraint h in Range(A^T):
//    h_i^{k+1} = argmin |h - h_i^k|^2  s.t.  S^T h = S^T grad f_i(x^k),  h in Range(U),
//  so h_i^{k+1} = h_i^k + U z with M z = S^T r_i (M = S^T U, b x r) of least norm |U z| = |z|:
//    Delta_i = U M^+ S^T r_i = Z_U r_i,  Z_U = U M^+ S^T.
//  (The constraint is consistent: r_i = grad f_i - h_i^k lies in Range(U), so S^T r_i = M U^T r_i.)
//  The worker sends the same b coefficients S^T r_i as SEGA (same stream, same S). M^+ y comes
//  from the factorisation above applied to M^T = U^T S (r x b) in place of S: M^T = P R gives
//  M^+ y = P w with R^T w = y, and Delta_i = U (P w). With b > r at most r columns of M^T are
//  independent; the others are dropped (their equations are implied) and Z_U = U U^T.
//  theta: S has i.i.d. N(0, 1) entries and U^T U = I, so M = S^T U has i.i.d. N(0, 1) entries
//  (each row U^T s_j ~ N(0, U^T U) = N(0, I_r)), its row space is a uniformly random
//  min(b, r)-dimensional subspace of R^r, and E[M^+ M] = min(b, r)/r I_r. On Range(U),
//  Z_U = U M^+ M U^T, so E[theta Z_U] = U U^T (the identity on Range(A^T)) for
//  theta = r / min(b, r): the slides' E[theta Z] = I with d replaced by r, so the stepsize is
//  SEGA's theory with that theta. Coordinate sketches have no such closed-form theta and are
//  refused. Iterates stay in Range(U): x^0 = 0 (checked: x0 must lie in Range(U)), every g^k is a
//  combination of Delta's, and the allowed regularisers (none, l2, ball) only scale x; l1 and
//  box would leave it and are refused. So with lambda > 0 (lambda/2 |x|^2 inside f_i),
//  grad f_i(x) = A_i^T(...) + lambda x stays in Range(A^T) too.
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method_impl.h"
#include "theory.h"

//  Worker ids and rounds are packed into the sketch stream id (method_sega_stream()).
#define S_MAX_WORKERS ((uint64_t) 1 << 20)
#define S_ROUND_MASK  (((uint64_t) 1 << 41) - 1)
//  A Gram-Schmidt residual below this fraction of its column's norm marks a dependent column.
#define S_DROP_TOL 1e-10

typedef enum {
    S_SEGA = 0,           // g = h + theta (h_new - h)
    S_SEGA_BIASED = 1,    // g = h_new (theta = 1)
    S_CD = 2,             // g = 1/n sum_i P_S grad f_i (no h)
    S_SEGA_SUBSPACE = 3,  // g = h + theta (h_new - h), h_new also constrained to Range(A^T)
} s_variant_t;

uint64_t
method_sega_stream(uint64_t round, uint32_t worker)
{
    assert(worker < S_MAX_WORKERS);
    return ((uint64_t) 1 << 62) | ((round & S_ROUND_MASK) << 20) | worker;
}

uint64_t
method_cd_stream(uint64_t round)
{
    return ((uint64_t) 1 << 62) | ((uint64_t) 1 << 61) | ((round & S_ROUND_MASK) << 20);
}

//  Weights below this fraction of their mean are raised to it (so every p_j > 0).
#define S_P_FLOOR 1e-6

int
method_importance_p(const double *w, size_t d, size_t k, double *p)
{
    if (k < 1 || k > d)
        return MR_EINVAL;
    double mean = 0.0;
    for (size_t j = 0; j < d; j++) {
        if (!(w[j] >= 0.0 && isfinite(w[j])))
            return MR_EINVAL;
        mean += w[j] / (double) d;
    }
    if (k == d || !(mean > 0.0)) {
        for (size_t j = 0; j < d; j++)
            p[j] = k == d ? 1.0 : (double) k / (double) d;
        return MR_OK;
    }
    //  Water-filling: p_j = 1 for the capped set C, p_j = (k - |C|) w_j / sum_{l not in C} w_l
    //  for the others; a value reaching 1 joins C and the rest are rescaled, until none does.
    //  Each pass caps at least one more coordinate or stops, and k < d keeps one uncapped, so at
    //  most d passes. p[j] = 1.0 marks C (an uncapped p_j is < 1).
    for (size_t j = 0; j < d; j++)
        p[j] = 0.0;
    size_t capped = 0;
    for (int again = 1; again;) {
        again = 0;
        double free_w = 0.0;
        for (size_t j = 0; j < d; j++)
            if (p[j] < 1.0)
                free_w += fmax(w[j], S_P_FLOOR * mean);
        double scale = (double) (k - capped) / free_w;
        for (size_t j = 0; j < d; j++) {
            if (p[j] >= 1.0)
                continue;
            p[j] = scale * fmax(w[j], S_P_FLOOR * mean);
            if (p[j] >= 1.0) {
                p[j] = 1.0;
                capped++;
                again = 1;
            }
        }
    }
    return MR_OK;
}

//  --------------------------------------------------------------------------------------------
//  One sketch S (coordinate or Gaussian) and the reconstruction of Z r from S^T r.

typedef struct {
    int kind;          // METHOD_SKETCH_COORDINATE, _IMPORTANCE or _GAUSSIAN
    size_t dim;        // d
    size_t b;          // K coordinates (importance: of this draw, 0..d), or b Gaussian directions
    size_t m;          // Gaussian: length of the columns factored, d (or r with a subspace)
    uint32_t *coord;   // coordinate: the K coordinates of this draw, increasing (importance:
                       // room for d)
    uint8_t *scratch;  // coordinate: rng_sample_k's d marks (all zero between calls)
    double *p;         // importance: P(j in S), d values (copied from mp.coord_p)
    double *s;         // Gaussian: S, column j at s[j d .. (j + 1) d)
    double *q;         // Gaussian: Q of S = Q R (or P of U^T S = P R), column j at q[j m ..);
                       // a dropped column is zero
    double *r;         // Gaussian: R, b x b upper triangular, r[l b + j] = R_lj
    double *w;         // Gaussian: b scratch values, Q^T r (or R^-T S^T r)
    uint8_t *keep;     // Gaussian: 1 if column j is independent of columns 0..j-1
    double *basis;     // subspace: U^T, r = m basis vectors of Range(A^T), vector l at
                       // basis[l d ..); NULL for plain sketches
    double *sub;       // subspace: U^T S, r x b, column j at sub[j m ..)
    double *u;         // subspace: r scratch values, P w
} s_sketch_t;

static void
s_sketch_fini(s_sketch_t *sk)
{
    free(sk->coord);
    free(sk->scratch);
    free(sk->p);
    free(sk->s);
    free(sk->q);
    free(sk->r);
    free(sk->w);
    free(sk->keep);
    free(sk->basis);
    free(sk->sub);
    free(sk->u);
    memset(sk, 0, sizeof *sk);
}

//  The sketch of mp (kind and size already checked); with subspace, a Gaussian sketch lifted
//  through the basis mp->range_q (copied, transposed). MR_OK or MR_ENOMEM.
static int
s_sketch_init(s_sketch_t *sk, const method_params_t *mp, int kind, int subspace)
{
    memset(sk, 0, sizeof *sk);
    sk->kind = kind;
    sk->dim = mp->dim;
    if (kind == METHOD_SKETCH_COORDINATE) {
        sk->b = mp->comp.k;
        sk->coord = malloc(sk->b * sizeof *sk->coord);
        sk->scratch = calloc(sk->dim, 1);
        if (!sk->coord || !sk->scratch)
            goto fail;
        return MR_OK;
    }
    if (kind == METHOD_SKETCH_IMPORTANCE) {
        assert(mp->coord_p);
        sk->b = 0;
        sk->coord = malloc(sk->dim * sizeof *sk->coord);
        sk->p = malloc(sk->dim * sizeof *sk->p);
        if (!sk->coord || !sk->p)
            goto fail;
        memcpy(sk->p, mp->coord_p, sk->dim * sizeof *sk->p);
        return MR_OK;
    }
    assert(kind == METHOD_SKETCH_GAUSSIAN);
    sk->b = mp->sketch_b;
    sk->m = sk->dim;
    if (subspace) {
        assert(mp->range_q && mp->range_rank >= 1 && mp->range_rank <= sk->dim);
        size_t d = sk->dim, r = mp->range_rank;
        sk->m = r;
        sk->basis = malloc(r * d * sizeof *sk->basis);
        sk->sub = malloc(r * sk->b * sizeof *sk->sub);
        sk->u = malloc(r * sizeof *sk->u);
        if (!sk->basis || !sk->sub || !sk->u)
            goto fail;
        for (size_t t = 0; t < d; t++)
            for (size_t l = 0; l < r; l++)
                sk->basis[l * d + t] = mp->range_q[t * r + l];
    }
    sk->s = malloc(sk->dim * sk->b * sizeof *sk->s);
    sk->q = malloc(sk->m * sk->b * sizeof *sk->q);
    sk->r = malloc(sk->b * sk->b * sizeof *sk->r);
    sk->w = malloc(sk->b * sizeof *sk->w);
    sk->keep = malloc(sk->b);
    if (!sk->s || !sk->q || !sk->r || !sk->w || !sk->keep)
        goto fail;
    return MR_OK;
fail:
    s_sketch_fini(sk);
    return MR_ENOMEM;
}

static double
s_dot(const double *a, const double *b, size_t n)
{
    double acc = 0.0;
    for (size_t t = 0; t < n; t++)
        acc += a[t] * b[t];
    return acc;
}

//  Draws S from (seed, stream), and for Gaussians factors S = Q R, or with a subspace
//  U^T S = P R (CGS2, dependent columns dropped).
static void
s_sketch_draw(s_sketch_t *sk, uint64_t seed, uint64_t stream)
{
    rng_t rng;
    rng_seed(&rng, seed, stream);
    size_t d = sk->dim, b = sk->b, m = sk->m;
    if (sk->kind == METHOD_SKETCH_COORDINATE) {
        rng_sample_k(&rng, (uint32_t) d, (uint32_t) b, sk->coord, sk->scratch);
        return;
    }
    if (sk->kind == METHOD_SKETCH_IMPORTANCE) {
        //  One uniform per coordinate, in order, whether or not it is taken: the same bits on
        //  every side, and p_j = 1 always takes j (u < 1).
        sk->b = 0;
        for (size_t j = 0; j < d; j++)
            if (rng_uniform(&rng) < sk->p[j])
                sk->coord[sk->b++] = (uint32_t) j;
        return;
    }
    for (size_t t = 0; t < d * b; t++)
        sk->s[t] = rng_normal(&rng);
    const double *cols = sk->s;  // the m x b matrix factored
    if (sk->basis) {
        for (size_t j = 0; j < b; j++)
            for (size_t l = 0; l < m; l++)
                sk->sub[j * m + l] = s_dot(sk->basis + l * d, sk->s + j * d, d);
        cols = sk->sub;
    }
    memset(sk->r, 0, b * b * sizeof *sk->r);
    for (size_t j = 0; j < b; j++) {
        double *qj = sk->q + j * m;
        memcpy(qj, cols + j * m, m * sizeof *qj);
        double norm0 = sqrt(s_dot(qj, qj, m));
        for (int pass = 0; pass < 2; pass++) {  // "twice is enough" (Giraud et al. 2005)
            for (size_t l = 0; l < j; l++) {
                if (!sk->keep[l])
                    continue;
                const double *ql = sk->q + l * m;
                double c = s_dot(ql, qj, m);
                for (size_t t = 0; t < m; t++)
                    qj[t] -= c * ql[t];
                sk->r[l * b + j] += c;
            }
        }
        double norm = sqrt(s_dot(qj, qj, m));
        sk->keep[j] = norm > S_DROP_TOL * norm0;
        if (sk->keep[j]) {
            sk->r[j * b + j] = norm;
            for (size_t t = 0; t < m; t++)
                qj[t] /= norm;
        } else {
            memset(qj, 0, m * sizeof *qj);
        }
    }
}

//  1 if S is a set of coordinates (uniform or importance-sampled).
static int
s_is_coords(const s_sketch_t *sk)
{
    return sk->kind != METHOD_SKETCH_GAUSSIAN;
}

//  out = S^T v: the K coordinates of v (sparse raw, possibly none), or the b coefficients
//  <s_j, v> (SKETCH).
static void
s_sketch_apply(const s_sketch_t *sk, const vec_t *v, cvec_t *out)
{
    assert(out->cap >= sk->b && v->dim == sk->dim);
    out->dim = sk->dim;
    out->kind = CVEC_SPARSE;
    out->nnz = sk->b;
    for (size_t j = 0; j < sk->b; j++) {
        if (s_is_coords(sk)) {
            out->idx[j] = sk->coord[j];
            out->val[j] = v->x[sk->coord[j]];
        } else {
            out->idx[j] = (uint32_t) j;  // vec.h: a SKETCH cvec has idx[j] = j
            out->val[j] = s_dot(sk->s + j * sk->dim, v->x, sk->dim);
        }
    }
    out->enc = s_is_coords(sk) ? CVEC_ENC_RAW : CVEC_ENC_SKETCH;
}

//  MR_OK if up is what s_sketch_apply() makes for this draw (same coordinates, or b
//  coefficients); else MR_EINVAL naming the worker and round.
static int
s_sketch_check(const s_sketch_t *sk, const cvec_t *up, size_t worker, uint64_t round, mr_err_t *err)
{
    if (sk->kind == METHOD_SKETCH_GAUSSIAN) {
        if (up->enc != CVEC_ENC_SKETCH || up->nnz != sk->b)
            return mr_err_set(err, MR_EINVAL,
                              "round %llu: worker %zu sent no Gaussian sketch of %zu coefficients",
                              (unsigned long long) round, worker, sk->b);
        return MR_OK;
    }
    int ok = up->enc == CVEC_ENC_RAW && up->kind == CVEC_SPARSE && up->nnz == sk->b;
    for (size_t j = 0; ok && j < sk->b; j++)
        ok = up->idx[j] == sk->coord[j];
    if (!ok)
        return mr_err_set(err, MR_EINVAL,
                          "round %llu: worker %zu did not send the %zu coordinates of its sketch",
                          (unsigned long long) round, worker, sk->b);
    return MR_OK;
}

//  y += a Z r (a Z_U r with a subspace), rebuilt from up = S^T r (the output of
//  s_sketch_apply() for this draw).
static void
s_sketch_lift(s_sketch_t *sk, const cvec_t *up, double a, vec_t *y)
{
    size_t d = sk->dim, b = sk->b, m = sk->m;
    assert(up->nnz == b && y->dim == d);
    if (s_is_coords(sk)) {
        //  Z = diag(1 on the K coordinates): Z r puts r's sketched coordinates back.
        for (size_t j = 0; j < b; j++)
            y->x[up->idx[j]] += a * up->val[j];
        return;
    }
    //  S^T r = R^T Q^T r: forward substitution for w = Q^T r, then Z r = Q Q^T r = Q w.
    for (size_t j = 0; j < b; j++) {
        if (!sk->keep[j]) {
            sk->w[j] = 0.0;
            continue;
        }
        double acc = up->val[j];
        for (size_t l = 0; l < j; l++)
            acc -= sk->r[l * b + j] * sk->w[l];
        sk->w[j] = acc / sk->r[j * b + j];
    }
    if (sk->basis) {
        //  Subspace: M^+ S^T r = P w (r values), then Z_U r = U (P w).
        memset(sk->u, 0, m * sizeof *sk->u);
        for (size_t j = 0; j < b; j++) {
            if (!sk->keep[j])
                continue;
            const double *pj = sk->q + j * m;
            for (size_t l = 0; l < m; l++)
                sk->u[l] += sk->w[j] * pj[l];
        }
        for (size_t l = 0; l < m; l++) {
            const double *ul = sk->basis + l * d;
            double c = a * sk->u[l];
            for (size_t t = 0; t < d; t++)
                y->x[t] += c * ul[t];
        }
        return;
    }
    for (size_t j = 0; j < b; j++) {
        if (!sk->keep[j])
            continue;
        const double *qj = sk->q + j * d;
        double c = a * sk->w[j];
        for (size_t t = 0; t < d; t++)
            y->x[t] += c * qj[t];
    }
}

//  E[theta Z] = I: d/K for K uniform coordinates, d/b for a Gaussian b-sketch; subspace SEGA:
//  E[theta Z_U] = U U^T for r / min(b, r) (see the top of the file). Importance coordinates have
//  no scalar theta (D = diag(1/p_j)).
static double
s_theta(const method_params_t *mp, s_variant_t variant)
{
    assert(mp->sketch != METHOD_SKETCH_IMPORTANCE);
    size_t b = mp->sketch == METHOD_SKETCH_COORDINATE ? mp->comp.k : mp->sketch_b;
    if (variant == S_SEGA_SUBSPACE) {
        size_t r = mp->range_rank;
        return (double) r / (double) (b < r ? b : r);
    }
    return (double) mp->dim / (double) b;
}

//  --------------------------------------------------------------------------------------------
//  Checks

//  What subspace SEGA needs besides SEGA's: a Gaussian sketch, a regulariser whose prox keeps x
//  in Range(U) (none, l2, ball scale x; l1 and box do not), the basis, and x0 (if given, of dim
//  d) in Range(U).
static int
s_check_subspace(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    if (mp->sketch != METHOD_SKETCH_GAUSSIAN)
        return mr_err_set(err, MR_ECONFIG,
                          "key 'sketch': sega-subspace needs a Gaussian sketch (sketch = gaussian);"
                          " for coordinates theta has no closed form");
    if (mp->reg.kind == PROX_L1 || mp->reg.kind == PROX_BOX)
        return mr_err_set(err, MR_ECONFIG,
                          "key 'reg' = '%s': its prox leaves Range(A^T), where sega-subspace "
                          "keeps x (use none, l2 or ball)",
                          prox_kind_name(mp->reg.kind));
    if (!mp->range_q || mp->range_rank < 1 || mp->range_rank > mp->dim)
        return mr_err_set(
            err, MR_EINVAL,
            "sega-subspace needs a basis of Range(A^T) (range_q, rank %zu of d = %zu)",
            mp->range_rank, mp->dim);
    if (!x0)
        return MR_OK;
    //  |x0 - U U^T x0| against |x0|; U U^T x0 is exact up to a few r d roundings.
    size_t d = mp->dim, r = mp->range_rank;
    double *c = calloc(r, sizeof *c);
    if (!c)
        return mr_err_set(err, MR_ENOMEM, "no memory to check x0");
    for (size_t t = 0; t < d; t++)
        for (size_t l = 0; l < r; l++)
            c[l] += mp->range_q[t * r + l] * x0->x[t];
    double out = 0.0, norm = 0.0;
    for (size_t t = 0; t < d; t++) {
        double p = 0.0;
        for (size_t l = 0; l < r; l++)
            p += mp->range_q[t * r + l] * c[l];
        out += (x0->x[t] - p) * (x0->x[t] - p);
        norm += x0->x[t] * x0->x[t];
    }
    free(c);
    if (sqrt(out) > 1e-9 * (1.0 + sqrt(norm)))
        return mr_err_set(err, MR_EINVAL, "sega-subspace: x0 is not in Range(A^T) (distance %g)",
                          sqrt(out));
    return MR_OK;
}

//  Checks what both sides need of mp and x0; fills err and returns its code, or MR_OK.
static int
s_check_params(const method_params_t *mp, s_variant_t variant, const vec_t *x0, mr_err_t *err)
{
    if (mp->n == 0 || mp->n > S_MAX_WORKERS)
        return mr_err_set(err, MR_ECONFIG, "key 'n' = %zu: SEGA and CD need 1..%llu workers", mp->n,
                          (unsigned long long) S_MAX_WORKERS);
    int rc = method_check_x0(mp, x0, err);
    if (rc != MR_OK)
        return rc;
    if (variant == S_SEGA_SUBSPACE) {
        rc = s_check_subspace(mp, x0, err);
        if (rc != MR_OK)
            return rc;
    }
    if (mp->dim > UINT32_MAX)
        return mr_err_set(err, MR_EDIM, "d = %zu does not fit the sketch's uint32 coordinates",
                          mp->dim);
    if (mp->sketch == METHOD_SKETCH_COORDINATE) {
        if (mp->comp.k < 1 || mp->comp.k > mp->dim)
            return mr_err_set(err, MR_ECONFIG, "key 'k' = %zu: a coordinate sketch needs 1..%zu",
                              mp->comp.k, mp->dim);
    } else if (mp->sketch == METHOD_SKETCH_IMPORTANCE) {
        if (mp->comp.k < 1 || mp->comp.k > mp->dim)
            return mr_err_set(err, MR_ECONFIG,
                              "key 'k' = %zu: importance coordinates need an expected 1..%zu",
                              mp->comp.k, mp->dim);
        if (!mp->coord_p)
            return mr_err_set(err, MR_EINVAL,
                              "key 'sketch' = importance needs the probabilities p_j (coord_p)");
        for (size_t j = 0; j < mp->dim; j++)
            if (!(mp->coord_p[j] > 0.0 && mp->coord_p[j] <= 1.0))
                return mr_err_set(err, MR_EINVAL,
                                  "key 'sketch' = importance: p_%zu = %g is not in (0, 1]", j,
                                  mp->coord_p[j]);
    } else if (mp->sketch == METHOD_SKETCH_GAUSSIAN) {
        if (variant == S_CD)
            return mr_err_set(err, MR_ECONFIG,
                              "key 'sketch': cd samples coordinates, a Gaussian sketch is SEGA's");
        if (mp->sketch_b < 1 || mp->sketch_b > mp->dim)
            return mr_err_set(err, MR_ECONFIG,
                              "key 'sketch_b' = %zu: a Gaussian sketch needs 1..%zu directions",
                              mp->sketch_b, mp->dim);
    } else {
        return mr_err_set(err, MR_ECONFIG,
                          "key 'sketch' = %d: use 0 (uniform coordinates), 1 (importance) or 2 "
                          "(Gaussian)",
                          mp->sketch);
    }
    return method_check_gamma(mp, err);
}

//  x0 must lie in dom F (the slides' step 0): a point outside a ball or box is projected first,
//  the same way on every actor; R = none, l1, l2 leave it as given.
static void
s_start_in_domain(const prox_cfg_t *reg, double gamma, vec_t *x)
{
    if (!isfinite(prox_value(reg, x)))
        prox_apply(reg, gamma, x);
}

//  --------------------------------------------------------------------------------------------
//  Worker

struct method_worker {
    method_params_t mp;   // the run's parameters (copied)
    s_variant_t variant;  // SEGA, biased SEGA or CD
    const loss_t *loss;   // f_i over this worker's shard, borrowed
    uint32_t id;          // i, 0-based
    s_sketch_t sk;        // this round's S_ik
    vec_t x;              // x^k
    vec_t grad;           // grad f_i(x^k)
    vec_t h;              // h_i^k (SEGA), unused by CD
    vec_t res;            // grad f_i(x^k) - h_i^k, the vector sketched
    uint64_t next_round;  // the round worker_step expects
};

//  The checkpoint: x^k and h_i (grad and res are rewritten every round, and S_ik is redrawn from
//  the shared stream). Each variant has its own tag.
static void
s_worker_state(method_worker_t *self, state_t *st)
{
    static const char *const tags[] = {[S_SEGA] = "sega-worker-v1",
                                       [S_SEGA_BIASED] = "sega-biased-worker-v1",
                                       [S_CD] = "cd-worker-v1",
                                       [S_SEGA_SUBSPACE] = "sega-subspace-worker-v1"};
    state_tag(st, tags[self->variant]);
    state_expect(st, self->id, "worker id");
    state_vec(st, &self->x);
    state_vec(st, &self->h);
    state_u64(st, &self->next_round);
}

static void
s_worker_destroy(method_worker_t **self_p)
{
    method_worker_t *self = *self_p;
    if (!self)
        return;
    s_sketch_fini(&self->sk);
    vec_fini(&self->x);
    vec_fini(&self->grad);
    vec_fini(&self->h);
    vec_fini(&self->res);
    free(self);
    *self_p = NULL;
}

static method_worker_t *
s_worker_new(const method_params_t *mp,
             s_variant_t variant,
             const loss_t *loss,
             uint32_t id,
             const vec_t *x0,
             mr_err_t *err)
{
    if (s_check_params(mp, variant, x0, err) != MR_OK ||
        method_check_shard(mp, loss, id, err) != MR_OK)
        return NULL;
    if (id >= mp->n) {
        mr_err_set(err, MR_EINVAL, "worker id %u is outside the run's 0..%zu", id, mp->n - 1);
        return NULL;
    }
    method_worker_t *self = method_worker_alloc(sizeof *self, id, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->variant = variant;
    self->loss = loss;
    self->id = id;
    if (s_sketch_init(&self->sk, mp, mp->sketch, variant == S_SEGA_SUBSPACE) != MR_OK ||
        vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->grad, mp->dim) != MR_OK ||
        vec_init(&self->h, mp->dim) != MR_OK || vec_init(&self->res, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for worker %u (d = %zu)", id, mp->dim);
        s_worker_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    s_start_in_domain(&mp->reg, mp->gamma, &self->x);
    return self;
}

static method_worker_t *
s_sega_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, S_SEGA, loss, id, x0, err);
}

static method_worker_t *
s_sega_biased_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, S_SEGA_BIASED, loss, id, x0, err);
}

static method_worker_t *
s_sega_subspace_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, S_SEGA_SUBSPACE, loss, id, x0, err);
}

static method_worker_t *
s_cd_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err)
{
    return s_worker_new(mp, S_CD, loss, id, x0, err);
}

static int
s_worker_step(method_worker_t *self,
              const method_round_t *rd,
              rng_t *rng,
              cvec_t *out,
              method_report_t *report)
{
    (void) rng;  // S comes from the stream the server shares, not the worker's own
    if (rd->round != self->next_round)
        return MR_EINVAL;
    assert(out->cap >= self->sk.b);
    if (rd->round > 0) {
        assert(rd->g && rd->g->dim == self->mp.dim);
        //  Step 3 of the slides' SEGA: x^k = prox_{gamma R}(x^{k-1} - gamma g^{k-1}).
        method_step(&self->mp, rd->g, 1, &self->x);
    }
    double f = loss_value_grad(self->loss, &self->x, &self->grad);
    if (self->variant == S_CD) {
        s_sketch_draw(&self->sk, self->mp.seed, method_cd_stream(rd->round));
        s_sketch_apply(&self->sk, &self->grad, out);  // K coordinates of grad f_i(x^k), unscaled
    } else {
        //  Step 1: the oracle's S^T grad f_i(x^k), sent as S^T (grad f_i(x^k) - h_i^k) (the
        //  server knows S^T h_i^k), and sketch and project:
        //  h_i^{k+1} = h_i^k + Z (grad f_i(x^k) - h_i^k).
        s_sketch_draw(&self->sk, self->mp.seed, method_sega_stream(rd->round, self->id));
        vec_copy(&self->res, &self->grad);
        vec_axpy(&self->res, -1.0, &self->h);
        s_sketch_apply(&self->sk, &self->res, out);
        s_sketch_lift(&self->sk, out, 1.0, &self->h);
    }
    report->send = 1;
    report->oracle_calls = self->loss->data->rows;
    report->have_eval = 1;
    report->f = f;
    report->grad = &self->grad;
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_worker_x(const method_worker_t *self)
{
    return &self->x;
}

//  --------------------------------------------------------------------------------------------
//  Server

struct method_server {
    method_params_t mp;   // the run's parameters (copied)
    s_variant_t variant;  // SEGA, biased SEGA or CD
    s_sketch_t sk;        // S_ik, redrawn for each worker in turn
    vec_t x;              // x^k after combining round k
    vec_t g;              // g^k after combining round k
    vec_t h;              // h^{k+1} = 1/n sum_i h_i^{k+1} after combining round k (SEGA)
    vec_t sum;            // sum_i Delta_i (SEGA) or sum_i P_S grad f_i (CD) of one round
    uint64_t next_round;  // the round server_plan and server_combine expect
};

//  The checkpoint: x^k, g^k and h (sum is one round's scratch, S redrawn for every worker).
static void
s_server_state(method_server_t *self, state_t *st)
{
    static const char *const tags[] = {[S_SEGA] = "sega-server-v1",
                                       [S_SEGA_BIASED] = "sega-biased-server-v1",
                                       [S_CD] = "cd-server-v1",
                                       [S_SEGA_SUBSPACE] = "sega-subspace-server-v1"};
    state_tag(st, tags[self->variant]);
    state_vec(st, &self->x);
    state_vec(st, &self->g);
    state_vec(st, &self->h);
    state_u64(st, &self->next_round);
}

static void
s_server_destroy(method_server_t **self_p)
{
    method_server_t *self = *self_p;
    if (!self)
        return;
    s_sketch_fini(&self->sk);
    vec_fini(&self->x);
    vec_fini(&self->g);
    vec_fini(&self->h);
    vec_fini(&self->sum);
    free(self);
    *self_p = NULL;
}

static method_server_t *
s_server_new(const method_params_t *mp, s_variant_t variant, const vec_t *x0, mr_err_t *err)
{
    if (s_check_params(mp, variant, x0, err) != MR_OK)
        return NULL;
    method_server_t *self = method_server_alloc(sizeof *self, err);
    if (!self)
        return NULL;
    self->mp = *mp;
    self->variant = variant;
    if (s_sketch_init(&self->sk, mp, mp->sketch, variant == S_SEGA_SUBSPACE) != MR_OK ||
        vec_init(&self->x, mp->dim) != MR_OK || vec_init(&self->g, mp->dim) != MR_OK ||
        vec_init(&self->h, mp->dim) != MR_OK || vec_init(&self->sum, mp->dim) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "no memory for the server state (d = %zu)", mp->dim);
        s_server_destroy(&self);
        return NULL;
    }
    vec_copy(&self->x, x0);
    s_start_in_domain(&mp->reg, mp->gamma, &self->x);
    return self;
}

static method_server_t *
s_sega_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    return s_server_new(mp, S_SEGA, x0, err);
}

static method_server_t *
s_sega_biased_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    return s_server_new(mp, S_SEGA_BIASED, x0, err);
}

static method_server_t *
s_sega_subspace_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    return s_server_new(mp, S_SEGA_SUBSPACE, x0, err);
}

static method_server_t *
s_cd_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err)
{
    return s_server_new(mp, S_CD, x0, err);
}

static void
s_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd)
{
    (void) rng;  // every random choice is a sketch, drawn from the shared streams
    assert(round == self->next_round);
    rd->round = round;
    rd->coin = 0;  // no round sends full gradients
    rd->part = NULL;
    rd->npart = 0;
    rd->g = round == 0 ? NULL : &self->g;
}

static int
s_server_combine(method_server_t *self,
                 const method_round_t *rd,
                 const cvec_t *const *ups,
                 mr_err_t *err)
{
    size_t n = self->mp.n;
    int rc = method_check_updates(&self->mp, self->next_round, rd, ups, NULL, err);
    if (rc != MR_OK)
        return rc;
    //  Each update is checked against its sketch and lifted into sum, in worker-id order (so a
    //  run is bit-reproducible whatever order the messages came in); sum is scratch, so a refused
    //  update leaves the server's state as it was.
    vec_zero(&self->sum);
    if (self->variant == S_CD)
        s_sketch_draw(&self->sk, self->mp.seed, method_cd_stream(rd->round));
    for (size_t i = 0; i < n; i++) {
        if (self->variant != S_CD)
            s_sketch_draw(&self->sk, self->mp.seed, method_sega_stream(rd->round, (uint32_t) i));
        rc = s_sketch_check(&self->sk, ups[i], i, rd->round, err);
        if (rc != MR_OK)
            return rc;
        s_sketch_lift(&self->sk, ups[i], 1.0, &self->sum);
    }
    if (rd->round > 0) {
        //  The server's copy of step 3: x^k = prox_{gamma R}(x^{k-1} - gamma g^{k-1}).
        method_step(&self->mp, &self->g, 1, &self->x);
    }
    double inv_n = 1.0 / (double) n;
    if (self->variant == S_CD) {
        //  g^k = 1/n sum_i P_S grad f_i(x^k) = P_S grad f(x^k): a block of the full gradient.
        vec_copy(&self->g, &self->sum);
        vec_scale(&self->g, inv_n);
    } else {
        //  Step 2, the SEGA estimator g^k = h^k + theta (h^{k+1} - h^k), with
        //  h^{k+1} - h^k = 1/n sum_i Delta_i; biased SEGA: theta = 1, g^k = h^{k+1}; importance
        //  coordinates: theta = D = diag(1/p_j), coordinate by coordinate.
        vec_copy(&self->g, &self->h);
        if (self->variant == S_SEGA && self->mp.sketch == METHOD_SKETCH_IMPORTANCE) {
            const double *p = self->sk.p;
            for (size_t j = 0; j < self->mp.dim; j++)
                self->g.x[j] += inv_n * self->sum.x[j] / p[j];
        } else {
            double theta = self->variant == S_SEGA_BIASED ? 1.0 : s_theta(&self->mp, self->variant);
            vec_axpy(&self->g, theta * inv_n, &self->sum);
        }
        vec_axpy(&self->h, inv_n, &self->sum);
    }
    self->next_round++;
    return MR_OK;
}

static const vec_t *
s_server_x(const method_server_t *self)
{
    return &self->x;
}

//  --------------------------------------------------------------------------------------------
//  Theory and the tables

//  Fills gamma from the theory if it is NaN and checks every key. p is unused (set to 1).
static int
s_resolve(method_params_t *mp, const method_consts_t *pc, s_variant_t variant, mr_err_t *err)
{
    mp->p = 1.0;
    if (isnan(mp->gamma))
        mp->gamma = 1.0;  // a placeholder, so that the sketch keys are checked first
    int rc = s_check_params(mp, variant, NULL, err);
    if (rc == MR_OK)
        rc = prox_check(&mp->reg, err);
    return rc;
}

static int
s_sega_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    int theory = isnan(mp->gamma);
    int rc = s_resolve(mp, pc, S_SEGA, err);
    if (rc == MR_OK && theory && mp->sketch == METHOD_SKETCH_IMPORTANCE)
        mp->gamma = theory_sega_importance_gamma(pc->L, pc->mu, mp->coord_p, mp->dim, NULL);
    else if (rc == MR_OK && theory)
        mp->gamma = theory_sega_gamma(pc->L, pc->mu, s_theta(mp, S_SEGA));
    return rc == MR_OK ? method_check_common(mp, err) : rc;
}

//  Subspace SEGA: the general-sketch theorem read on Range(A^T) (h^k, grad f(x*) and the
//  iterates live there; E[theta Z_U] = U U^T there), so SEGA's stepsize with theta = r/min(b, r);
//  mu is lambda, a lower bound on the strong convexity of f restricted to Range(A^T).
static int
s_sega_subspace_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    int theory = isnan(mp->gamma);
    int rc = s_resolve(mp, pc, S_SEGA_SUBSPACE, err);
    if (rc == MR_OK && theory)
        mp->gamma = theory_sega_gamma(pc->L, pc->mu, s_theta(mp, S_SEGA_SUBSPACE));
    return rc == MR_OK ? method_check_common(mp, err) : rc;
}

//  Biased SEGA: the slides give no theorem (E[theta Z] = I fails for theta = 1), so it takes
//  SEGA's stepsize for the same sketch.
static int
s_sega_biased_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    return s_sega_resolve(mp, pc, err);
}

//  CD: gamma = 1/L. With S_k shared by all workers, x - (1/L) P_S grad f(x) decreases f by at
//  least |P_S grad f(x)|^2 / (2 L) (L >= the smoothness of f), as in RCD. The same holds for
//  importance coordinates whatever S is drawn: the step stays unscaled (no 1/p_j), and in
//  expectation the decrease is sum_j p_j (grad_j f)^2 / (2 L), so p_j ~ L_jj favours the
//  coordinates along which f curves most.
static int
s_cd_resolve(method_params_t *mp, const method_consts_t *pc, mr_err_t *err)
{
    int theory = isnan(mp->gamma);
    int rc = s_resolve(mp, pc, S_CD, err);
    if (rc == MR_OK && theory)
        mp->gamma = 1.0 / pc->L;
    return rc == MR_OK ? method_check_common(mp, err) : rc;
}

const method_t method_sega = {
    .name = "sega",
    .samples_coords = 1,
    .sketched = 1,
    .allows_prox = 1,
    .uses_compressor = 0,  // comp.k is SEGA's K; Q is not applied
    .resolve = s_sega_resolve,
    .worker_new = s_sega_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_sega_server_new,
    .server_destroy = s_server_destroy,
    .server_plan = s_server_plan,
    .server_combine = s_server_combine,
    .server_x = s_server_x,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};

const method_t method_sega_biased = {
    .name = "sega-biased",
    .samples_coords = 1,
    .sketched = 1,
    .allows_prox = 1,
    .uses_compressor = 0,
    .resolve = s_sega_biased_resolve,
    .worker_new = s_sega_biased_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_sega_biased_server_new,
    .server_destroy = s_server_destroy,
    .server_plan = s_server_plan,
    .server_combine = s_server_combine,
    .server_x = s_server_x,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};

const method_t method_sega_subspace = {
    .name = "sega-subspace",
    .sketched = 1,
    .allows_prox = 1,  // none, l2 and ball (resolve() refuses l1 and box)
    .uses_compressor = 0,
    .needs_range = 1,
    .resolve = s_sega_subspace_resolve,
    .worker_new = s_sega_subspace_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_sega_subspace_server_new,
    .server_destroy = s_server_destroy,
    .server_plan = s_server_plan,
    .server_combine = s_server_combine,
    .server_x = s_server_x,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};

const method_t method_cd = {
    .name = "cd",
    .samples_coords = 1,
    .allows_prox = 1,
    .uses_compressor = 0,
    .resolve = s_cd_resolve,
    .worker_new = s_cd_worker_new,
    .worker_destroy = s_worker_destroy,
    .worker_step = s_worker_step,
    .worker_x = s_worker_x,
    .server_new = s_cd_server_new,
    .server_destroy = s_server_destroy,
    .server_plan = s_server_plan,
    .server_combine = s_server_combine,
    .server_x = s_server_x,
    .worker_state = s_worker_state,
    .server_state = s_server_state,
};
