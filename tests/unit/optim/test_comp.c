//  test_comp.c - comp.h: the unbiased compressors meet Definition 1.1 of the MARINA paper with
//  the omega and zeta they claim, TopK picks the K largest, and every quantizer describes its
//  output (cvec_t.enc) exactly.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "comp.h"
#include "test_util.h"

enum {
    D = 20,
    K = 3,
    TRIALS = 200000
};

//  x_j = (j + 1) (-1)^j / 4: varied magnitudes and signs, no zero coordinate.
static void
s_fill(vec_t *x)
{
    for (size_t j = 0; j < x->dim; j++)
        x->x[j] = (double) (j + 1) * (j % 2 ? -0.25 : 0.25);
}

static void
test_randk_is_unbiased(void **state)
{
    comp_t c;
    vec_t x, sum;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_RANDK, .k = K}, D, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(vec_init(&sum, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 1234, 0);
    for (int t = 0; t < TRIALS; t++) {
        comp_apply(&c, &x, &r, &out);
        cvec_axpy_to(&sum, 1.0, &out);
    }
    //  Q(x)_j is x_j d/K with probability K/d, else 0: mean x_j, variance x_j^2 (d/K - 1). The
    //  average of TRIALS draws has standard error |x_j| sqrt((d/K - 1) / TRIALS) (~0.6% of |x_j|
    //  here). Each coordinate must lie within 5 standard errors (20 such checks: a false alarm
    //  has probability ~1e-5 for a correct compressor; a biased one, e.g. a missing d/K scale,
    //  is off by many).
    double se_factor = sqrt(((double) D / K - 1.0) / TRIALS);
    for (size_t j = 0; j < D; j++)
        assert_near(sum.x[j] / TRIALS, x.x[j], 5.0 * fabs(x.x[j]) * se_factor);
    cvec_fini(&out);
    vec_fini(&x);
    vec_fini(&sum);
    comp_fini(&c);
}

static void
test_randk_variance_equals_omega(void **state)
{
    comp_t c;
    vec_t x, q;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_RANDK, .k = K}, D, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(vec_init(&q, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 99, 0);
    double sum = 0.0;
    for (int t = 0; t < TRIALS; t++) {
        comp_apply(&c, &x, &r, &out);
        cvec_to_dense(&out, &q);
        vec_axpy(&q, -1.0, &x);
        sum += vec_norm_sq(&q);
    }
    //  For RandK the bound of Definition 1.1 is an equality: E|Q(x) - x|^2 = (d/K - 1)|x|^2.
    //  One draw is Z = |x|^2 + c sum_j x_j^2 I_j with c = (d/K - 1)^2 - 1 and I_j the indicator
    //  of "j kept" (probability q = K/d). Sampling without replacement makes the I_j negatively
    //  correlated, so Var Z <= c^2 q (1 - q) sum_j x_j^4. Accept 5 standard errors of the mean.
    double omega = comp_omega(&c);
    double xx = vec_norm_sq(&x), x4 = 0.0;
    for (size_t j = 0; j < D; j++)
        x4 += pow(x.x[j], 4);
    double cc = pow((double) D / K - 1.0, 2) - 1.0;
    double qq = (double) K / D;
    double se = fabs(cc) * sqrt(qq * (1.0 - qq) * x4 / TRIALS);
    assert_near(sum / TRIALS, omega * xx, 5.0 * se);
    assert_near(omega, (double) D / K - 1.0, 0);
    cvec_fini(&out);
    vec_fini(&x);
    vec_fini(&q);
    comp_fini(&c);
}

static void
test_randk_writes_exactly_k_sorted_scaled_entries(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_RANDK, .k = K}, D, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 5, 0);
    for (int t = 0; t < 1000; t++) {
        comp_apply(&c, &x, &r, &out);
        assert_int_equal(out.kind, CVEC_SPARSE);
        assert_int_equal(out.dim, D);
        assert_int_equal(out.nnz, K);
        for (size_t j = 0; j < K; j++) {
            assert_true(out.idx[j] < D);
            if (j > 0)
                assert_true(out.idx[j - 1] < out.idx[j]);
            assert_true(out.val[j] == x.x[out.idx[j]] * ((double) D / K));
        }
        for (size_t j = 0; j < D; j++)
            assert_int_equal(c.scratch[j], 0);
    }
    assert_near(comp_zeta(&c), K, 0);
    assert_int_equal(comp_max_nnz(&c), K);
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
}

static void
test_randk_same_seed_same_output(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t a, b;
    rng_t ra, rb;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_RANDK, .k = K}, D, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(cvec_init(&a, D, K), MR_OK);
    assert_int_equal(cvec_init(&b, D, K), MR_OK);
    s_fill(&x);
    rng_seed(&ra, 77, rng_stream_worker(2));
    rng_seed(&rb, 77, rng_stream_worker(2));
    for (int t = 0; t < 100; t++) {
        comp_apply(&c, &x, &ra, &a);
        comp_apply(&c, &x, &rb, &b);
        assert_memory_equal(a.idx, b.idx, K * sizeof *a.idx);
        assert_memory_equal(a.val, b.val, K * sizeof *a.val);
    }
    cvec_fini(&a);
    cvec_fini(&b);
    vec_fini(&x);
    comp_fini(&c);
}

static void
test_identity_is_exact_and_dense(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r, untouched;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_IDENTITY, .k = 0}, D, NULL),
                     MR_OK);  // k is ignored
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, comp_max_nnz(&c)), MR_OK);
    s_fill(&x);
    rng_seed(&r, 1, 0);
    untouched = r;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_DENSE);
    assert_int_equal(out.nnz, D);
    assert_memory_equal(out.val, x.x, D * sizeof *x.x);
    assert_true(rng_next(&r) == rng_next(&untouched));  // no randomness spent
    assert_near(comp_omega(&c), 0, 0);
    assert_near(comp_zeta(&c), D, 0);
    assert_int_equal(comp_max_nnz(&c), D);
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
    comp_fini(&c);
}

static void
test_randk_with_k_equal_d_is_identity(void **state)
{
    comp_t c;
    vec_t x, back;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_RANDK, .k = D}, D, NULL), MR_OK);
    assert_int_equal(vec_init(&x, D), MR_OK);
    assert_int_equal(vec_init(&back, D), MR_OK);
    assert_int_equal(cvec_init(&out, D, D), MR_OK);
    s_fill(&x);
    rng_seed(&r, 1, 0);
    comp_apply(&c, &x, &r, &out);
    cvec_to_dense(&out, &back);
    assert_near(vec_max_abs_diff(&x, &back), 0, 0);
    assert_near(comp_omega(&c), 0, 0);
    cvec_fini(&out);
    vec_fini(&x);
    vec_fini(&back);
    comp_fini(&c);
}

static void
test_bad_k_is_rejected_naming_the_key(void **state)
{
    comp_t c;
    mr_err_t err;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_RANDK, .k = 0}, D, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "'k'"));
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_RANDK, .k = D + 1}, D, &err),
                     MR_ECONFIG);
    assert_non_null(strstr(err.text, "'k'"));
    comp_fini(&c);  // safe after a failed init
}

static void
test_parse_names_kinds_and_rejects_unknown(void **state)
{
    comp_kind_t kind;
    mr_err_t err;
    assert_int_equal(comp_kind_parse("identity", &kind, NULL), MR_OK);
    assert_int_equal(kind, COMP_IDENTITY);
    assert_int_equal(comp_kind_parse("randk", &kind, NULL), MR_OK);
    assert_int_equal(kind, COMP_RANDK);
    assert_string_equal(comp_kind_name(COMP_IDENTITY), "identity");
    assert_string_equal(comp_kind_name(COMP_RANDK), "randk");
    assert_int_equal(comp_kind_parse("randK", &kind, &err), MR_ECONFIG);
    assert_int_equal(err.rc, MR_ECONFIG);
    assert_non_null(strstr(err.text, "'compressor'"));
    assert_non_null(strstr(err.text, "identity"));
    assert_non_null(strstr(err.text, "randk"));
    assert_int_equal(comp_kind_parse(NULL, &kind, &err), MR_ECONFIG);
    const char *names[] = {"identity", "randk", "dither", "natural", "topk", "ternary", "block"};
    for (int k = 0; k < 7; k++) {
        assert_int_equal(comp_kind_parse(names[k], &kind, NULL), MR_OK);
        assert_int_equal(kind, k);
        assert_string_equal(comp_kind_name((comp_kind_t) k), names[k]);
        assert_non_null(strstr(err.text, names[k]));  // the error lists every choice
    }
    assert_string_equal(comp_kind_name((comp_kind_t) 7), "unknown");
}

//  --------------------------------------------------------------------------------------------
//  The quantizers: dither, natural, ternary, block

enum {
    QTRIALS = 40000
};

//  Mixed magnitudes over eight orders, two exact zeros, a power of two, both signs.
static const double s_mixed[] = {3.0, 0.0,   -1e-3, 0.5,   -7.0, 1e-6,  0.0,
                                 2.5, -0.25, 100.0, -0.03, 1.0,  -64.0, 0.3};
#define S_NMIXED (sizeof s_mixed / sizeof s_mixed[0])

static comp_cfg_t
s_cfg(comp_kind_t kind, size_t k, size_t s, size_t t)
{
    return (comp_cfg_t){.kind = kind, .k = k, .s = s, .t = t};
}

//  Checks one output of a quantizer against what its kind promises, exactly.
static void
s_check_output(const comp_t *c, const vec_t *x, const cvec_t *out)
{
    size_t d = c->dim;
    assert_int_equal(out->dim, d);
    assert_true(out->nnz <= comp_max_nnz(c));
    int sparse = out->kind == CVEC_SPARSE;
    assert_true(sparse || out->nnz == d);
    for (size_t j = 1; sparse && j < out->nnz; j++)
        assert_true(out->idx[j - 1] < out->idx[j]);
    if (c->kind == COMP_IDENTITY || c->kind == COMP_RANDK || c->kind == COMP_TOPK) {
        assert_int_equal(out->enc, CVEC_ENC_RAW);
        return;
    }
    if (c->kind == COMP_NATURAL) {
        assert_int_equal(out->enc, CVEC_ENC_POW2);
        for (size_t j = 0; j < out->nnz; j++) {
            size_t i = sparse ? out->idx[j] : j;
            double v = out->val[j], xi = x->x[i];
            if (xi == 0.0) {
                assert_true(v == 0.0);
                continue;
            }
            int e;
            assert_true(fabs(frexp(v, &e)) == 0.5);  // +-2^(e-1)
            assert_true((v < 0) == (xi < 0));
            assert_true(fabs(v) > fabs(xi) / 2 && fabs(v) <= 2 * fabs(xi));  // a neighbour power
        }
        return;
    }
    assert_int_equal(out->enc, CVEC_ENC_LEVELS);
    assert_int_equal(out->s, c->s);
    assert_int_equal(out->t, c->t);
    size_t t = out->t, nb = (d + t - 1) / t;
    //  One norm per block: the l2 norm of the block (ternary: max|x_i| over the whole vector).
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * t, hi = lo + t < d ? lo + t : d;
        double want = 0.0;
        for (size_t i = lo; i < hi; i++)
            want = c->kind == COMP_TERNARY ? fmax(want, fabs(x->x[i])) : want + x->x[i] * x->x[i];
        if (c->kind == COMP_TERNARY)
            assert_true(out->norm[b] == want);
        else
            assert_near(out->norm[b], sqrt(want), 1e-14 * sqrt(want));
    }
    for (size_t j = 0; j < out->nnz; j++) {
        size_t i = sparse ? out->idx[j] : j;
        int32_t l = out->lev[j];
        assert_true(l >= -(int32_t) out->s && l <= (int32_t) out->s);
        assert_true(!sparse || l != 0);
        assert_true(l == 0 || (l < 0) == (x->x[i] < 0));
        double v = cvec_level_value(out->norm[i / t], l, out->s);
        assert_memory_equal(&v, &out->val[j], sizeof v);  // exactly what the receiver rebuilds
        if (c->kind == COMP_TERNARY)
            assert_true(v == 0.0 || fabs(v) == out->norm[0]);
    }
}

//  The largest |Q(x)_i| the kind can write: a level s of the block's norm (dither, block), max|x|
//  (ternary), the next power of two (natural), |x_i| d/K (RandK).
static double
s_max_abs(const comp_t *c, const double *x, size_t i)
{
    size_t d = c->dim, lo = 0, hi = d;
    double m = 0.0;
    switch (c->kind) {
        case COMP_NATURAL:
            return 2.0 * fabs(x[i]);
        case COMP_RANDK:
            return fabs(x[i]) * (double) d / (double) c->k;
        case COMP_TERNARY:
            for (size_t j = 0; j < d; j++)
                m = fmax(m, fabs(x[j]));
            return m;
        default:
            lo = i / c->t * c->t;
            hi = lo + c->t < d ? lo + c->t : d;
            for (size_t j = lo; j < hi; j++)
                m += x[j] * x[j];
            return sqrt(m);
    }
}

//  Definition 1.1, checked by simulation: QTRIALS draws of Q(x) with a fixed seed.
//  - E[Q(x)_i] = x_i. The draws are i.i.d., so their mean has standard error sd_i / sqrt(T). We
//    do not estimate sd_i from the draws: a coordinate kept with probability 1e-8 would show
//    none of its variance in 40000 draws. Instead, |Q(x)_i| lies in [0, M_i] (s_max_abs) and has
//    mean |x_i|, so Var Q(x)_i <= |x_i| (M_i - |x_i|) (the variance of a variable in [0, M] with
//    mean mu is at most mu (M - mu)). Each coordinate must be within 5 such standard errors: a
//    correct compressor fails one check with probability < 6e-7, so the few hundred checks here
//    raise a false alarm with probability < 1e-3 (and the seeds are fixed), while a missing
//    scale or a 10% bias is off by far more. Deterministic coordinates (x_i = 0, or a value the
//    quantizer hits exactly) must come out exact up to 1e-12 relative rounding.
//  - E|Q(x) - x|^2 <= omega |x|^2 and E nnz(Q(x)) <= zeta: the sample means may exceed the bound
//    by at most 5 standard errors of those means (estimated from the draws likewise).
//  Returns the mean of |Q(x) - x|^2 / |x|^2, for tightness checks.
static double
s_check_definition_1_1(const comp_cfg_t *cfg, const double *xs, size_t d, uint64_t seed)
{
    comp_t c;
    vec_t x, q;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, cfg, d, NULL), MR_OK);
    assert_int_equal(vec_init(&x, d), MR_OK);
    assert_int_equal(vec_init(&q, d), MR_OK);
    assert_int_equal(cvec_init(&out, d, comp_max_nnz(&c)), MR_OK);
    memcpy(x.x, xs, d * sizeof *xs);
    double *dev = calloc(d, sizeof *dev);
    assert_non_null(dev);
    double z1 = 0, z2 = 0, n1 = 0, n2 = 0;
    rng_seed(&r, seed, 0);
    for (int trial = 0; trial < QTRIALS; trial++) {
        comp_apply(&c, &x, &r, &out);
        s_check_output(&c, &x, &out);
        cvec_to_dense(&out, &q);
        double z = 0, nnz = 0;
        for (size_t i = 0; i < d; i++) {
            double e = q.x[i] - x.x[i];
            dev[i] += e;
            z += e * e;
            nnz += q.x[i] != 0.0;
        }
        z1 += z;
        z2 += z * z;
        n1 += nnz;
        n2 += nnz * nnz;
    }
    const double T = QTRIALS;
    for (size_t i = 0; i < d; i++) {
        double mean = dev[i] / T;  // of Q(x)_i - x_i
        double a = fabs(x.x[i]), sd = sqrt(fmax(a * (s_max_abs(&c, xs, i) - a), 0.0));
        double tol = 5.0 * sd / sqrt(T) + 1e-12 * a;
        if (fabs(mean) > tol)
            fail_msg("%s: E[Q(x)_%zu] - x_%zu = %g, tolerance %g", comp_kind_name(cfg->kind), i, i,
                     mean, tol);
    }
    double xx = vec_norm_sq(&x);
    double zm = z1 / T, zse = sqrt(fmax(z2 / T - zm * zm, 0.0) / T);
    double nm = n1 / T, nse = sqrt(fmax(n2 / T - nm * nm, 0.0) / T);
    if (zm > comp_omega(&c) * xx + 5.0 * zse)
        fail_msg("%s: E|Q(x)-x|^2 = %g > omega |x|^2 = %g (se %g)", comp_kind_name(cfg->kind), zm,
                 comp_omega(&c) * xx, zse);
    if (nm > comp_zeta(&c) + 5.0 * nse)
        fail_msg("%s: E nnz = %g > zeta = %g (se %g)", comp_kind_name(cfg->kind), nm, comp_zeta(&c),
                 nse);
    free(dev);
    cvec_fini(&out);
    vec_fini(&x);
    vec_fini(&q);
    comp_fini(&c);
    return zm / xx;
}

static void
test_quantizers_are_unbiased_within_omega_and_zeta(void **state)
{
    const comp_cfg_t cfgs[] = {
        s_cfg(COMP_DITHER, 0, 1, 0),  s_cfg(COMP_DITHER, 0, 4, 0), s_cfg(COMP_NATURAL, 0, 0, 0),
        s_cfg(COMP_TERNARY, 0, 0, 0), s_cfg(COMP_BLOCK, 0, 2, 5),  s_cfg(COMP_BLOCK, 0, 1, 1),
        s_cfg(COMP_RANDK, 3, 0, 0),
    };
    double filled[D];
    for (size_t j = 0; j < D; j++)
        filled[j] = (double) (j + 1) * (j % 2 ? -0.25 : 0.25);
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        s_check_definition_1_1(&cfgs[k], s_mixed, S_NMIXED, 100 + k);
        s_check_definition_1_1(&cfgs[k], filled, D, 200 + k);
        assert_false(comp_kind_is_biased(cfgs[k].kind));
    }
}

static void
test_omega_formulas(void **state)
{
    comp_t c;
    //  QSGD Lemma 3.1: min(d / s^2, sqrt(d) / s); d = 100.
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_DITHER, .s = 1}, 100, NULL), MR_OK);
    assert_near(comp_omega(&c), 10.0, 1e-12);  // sqrt(100) / 1
    assert_near(comp_zeta(&c), 11.0, 1e-12);   // 1 + sqrt(100)
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_DITHER, .s = 20}, 100, NULL), MR_OK);
    assert_near(comp_omega(&c), 0.25, 1e-12);  // 100 / 400
    assert_near(comp_zeta(&c), 100.0, 1e-12);  // capped at d
    //  Block: the bound of one block of t; zeta sums the blocks (8 of 12 and one of 4 for d = 100).
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_BLOCK, .s = 1, .t = 12}, 100, NULL),
                     MR_OK);
    assert_near(comp_omega(&c), sqrt(12.0), 1e-12);
    assert_near(comp_zeta(&c), 8 * (1 + sqrt(12.0)) + 3.0, 1e-12);  // last: min(4, 1 + 2)
    comp_fini(&c);
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_NATURAL}, 100, NULL), MR_OK);
    assert_near(comp_omega(&c), 0.125, 0);
    assert_near(comp_zeta(&c), 100, 0);
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_TERNARY}, 100, NULL), MR_OK);
    assert_near(comp_omega(&c), 4.5, 1e-12);  // (sqrt(100) - 1) / 2
    assert_near(comp_zeta(&c), 100, 0);
    assert_int_equal(comp_max_nnz(&c), 100);
}

//  The omegas of natural compression and ternary are not just bounds: they are reached.
static void
test_natural_and_ternary_omega_are_tight(void **state)
{
    //  Natural: |x_i| = (4/3) 2^e rounds up w.p. 1/3, variance 4^e (1/3)(2/3) = x_i^2 / 8.
    double nat[8];
    for (size_t i = 0; i < 8; i++)
        nat[i] = (i % 2 ? -4.0 : 4.0) / 3.0 * ldexp(1.0, (int) i * 5 - 20);
    comp_cfg_t cfg = s_cfg(COMP_NATURAL, 0, 0, 0);
    //  Here |Q(x) - x|^2 / |x|^2 has mean 1/8. It is dominated by the largest coordinate, whose
    //  relative error is -1/4 (w.p. 2/3) or 1/2 (w.p. 1/3): the squared ratio has standard
    //  deviation sqrt(2/3/256 + 1/3/16 - 1/64) = 0.088, so 5 standard errors of the mean of 40000
    //  draws are 0.0022 (the other coordinates, 2^-5 and less of it, add < 1%).
    assert_near(s_check_definition_1_1(&cfg, nat, 8, 7), 0.125, 0.0025);
    //  Ternary: x = (1 + sqrt(d), 1, ..., 1) with d = 16 gives m|x|_1 - |x|^2 = 60 = 1.5 |x|^2.
    double ter[16];
    for (size_t i = 0; i < 16; i++)
        ter[i] = i == 0 ? 5.0 : (i % 3 ? 1.0 : -1.0);
    cfg = s_cfg(COMP_TERNARY, 0, 0, 0);
    //  Each |x_i| = 1 becomes 5 w.p. 1/5, else 0: (Q_i - x_i)^2 is 16 or 1, variance
    //  15^2 * 0.16 = 36. Z sums 15 independent such terms (x_0 is exact): sd sqrt(540) = 23.2, or
    //  0.58 of |x|^2 = 40 per draw; 5 standard errors of the mean of 40000 draws: 0.0145.
    assert_near(s_check_definition_1_1(&cfg, ter, 16, 8), 1.5, 0.0145);
}

static void
test_natural_keeps_powers_of_two_and_extremes(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r;
    const double xs[] = {1.0, -0.5, 0x1p-1074, 0x1p1023, -0x1.fffffffffffffp1023, 0.0, -0.0, 3.0};
    size_t d = sizeof xs / sizeof xs[0];
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_NATURAL}, d, NULL), MR_OK);
    assert_int_equal(vec_init(&x, d), MR_OK);
    assert_int_equal(cvec_init(&out, d, d), MR_OK);
    memcpy(x.x, xs, sizeof xs);
    rng_seed(&r, 3, 0);
    for (int trial = 0; trial < 100; trial++) {
        comp_apply(&c, &x, &r, &out);
        assert_int_equal(out.kind, CVEC_DENSE);  // 6 of 8 nonzero: sparse would cost more
        assert_true(out.val[0] == 1.0 && out.val[1] == -0.5);  // powers of two stay put
        assert_true(out.val[2] == 0x1p-1074 && out.val[3] == 0x1p1023);
        assert_true(out.val[4] == -0x1p1023);  // 2^1024 is no double: rounds down (documented)
        assert_true(out.val[5] == 0.0 && !signbit(out.val[5]) && out.val[6] == 0.0);
        assert_true(out.val[7] == 2.0 || out.val[7] == 4.0);
    }
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
}

static void
test_ternary_values_are_minus_zero_plus_scale(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_TERNARY}, S_NMIXED, NULL), MR_OK);
    assert_int_equal(vec_init(&x, S_NMIXED), MR_OK);
    assert_int_equal(cvec_init(&out, S_NMIXED, S_NMIXED), MR_OK);
    memcpy(x.x, s_mixed, sizeof s_mixed);
    rng_seed(&r, 4, 0);
    for (int trial = 0; trial < 1000; trial++) {
        comp_apply(&c, &x, &r, &out);
        assert_true(out.norm[0] == 100.0);
        assert_int_equal(out.s, 1);
        assert_int_equal(out.t, S_NMIXED);
        vec_t q;
        assert_int_equal(vec_init(&q, S_NMIXED), MR_OK);
        cvec_to_dense(&out, &q);
        for (size_t i = 0; i < S_NMIXED; i++)
            assert_true(q.x[i] == 0.0 || q.x[i] == 100.0 || q.x[i] == -100.0);
        assert_true(q.x[9] == 100.0);  // the largest coordinate is kept with probability 1
        vec_fini(&q);
    }
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
}

static void
test_block_has_one_norm_per_block(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r;
    //  d = 14, t = 4: blocks [0,4) [4,8) [8,12) [12,14), the last one short.
    assert_int_equal(
        comp_init(&c, &(comp_cfg_t){.kind = COMP_BLOCK, .s = 3, .t = 4}, S_NMIXED, NULL), MR_OK);
    assert_int_equal(vec_init(&x, S_NMIXED), MR_OK);
    assert_int_equal(cvec_init(&out, S_NMIXED, S_NMIXED), MR_OK);
    memcpy(x.x, s_mixed, sizeof s_mixed);
    rng_seed(&r, 5, 0);
    comp_apply(&c, &x, &r, &out);
    s_check_output(&c, &x, &out);  // checks norm[b] = |x_b| for the 4 blocks
    assert_near(out.norm[3], sqrt(64.0 * 64.0 + 0.3 * 0.3), 1e-12);
    assert_near(comp_omega(&c), fmin(4.0 / 9.0, 2.0 / 3.0), 1e-15);
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
}

//  A quantizer sends sparse exactly when that is cheaper in bits_model: for dithering with s = 1
//  (2 bits per level) and d = 113 (7 bits per index), sparse iff 9 nnz < 226, i.e. nnz <= 25.
static void
test_quantizers_choose_dense_or_sparse_by_bits(void **state)
{
    enum {
        DD = 113
    };
    comp_t c;
    vec_t x;
    cvec_t out;
    rng_t r;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_DITHER, .s = 1}, DD, NULL), MR_OK);
    assert_int_equal(vec_init(&x, DD), MR_OK);
    assert_int_equal(cvec_init(&out, DD, DD), MR_OK);
    rng_seed(&r, 6, 0);
    //  All |x_i| equal: r_i = 1/sqrt(113) ~ 0.094, about 10.6 levels of 1 per draw: sparse.
    for (size_t i = 0; i < DD; i++)
        x.x[i] = i % 2 ? -1.0 : 1.0;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_SPARSE);
    s_check_output(&c, &x, &out);
    //  One coordinate only: its level is s with probability 1, every other level is 0.
    vec_zero(&x);
    x.x[40] = -2.5;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_SPARSE);
    assert_int_equal(out.nnz, 1);
    assert_int_equal(out.idx[0], 40);
    assert_true(out.val[0] == -2.5);
    comp_fini(&c);
    //  Dithering with s = 64 on equal magnitudes: r_i = 6.02, every level nonzero: dense.
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_DITHER, .s = 64}, DD, NULL), MR_OK);
    for (size_t i = 0; i < DD; i++)
        x.x[i] = 1.0;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_DENSE);
    s_check_output(&c, &x, &out);
    comp_fini(&c);
    //  Natural: 9 bits per value, so sparse iff 16 nnz < 9 * 113, i.e. nnz <= 63.
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_NATURAL}, DD, NULL), MR_OK);
    vec_zero(&x);
    for (size_t i = 0; i < 63; i++)
        x.x[i] = 0.7;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_SPARSE);
    assert_int_equal(out.nnz, 63);
    x.x[63] = 0.7;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_DENSE);
    s_check_output(&c, &x, &out);
    //  A non-finite input passes through as a RAW dense vector; identity resets enc to RAW too.
    x.x[5] = NAN;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.kind, CVEC_DENSE);
    assert_int_equal(out.enc, CVEC_ENC_RAW);
    assert_true(isnan(out.val[5]));
    x.x[5] = 1.0;
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.enc, CVEC_ENC_POW2);
    cvec_set_dense(&out, &x);
    assert_int_equal(out.enc, CVEC_ENC_RAW);
    cvec_fini(&out);
    vec_fini(&x);
    comp_fini(&c);
}

//  --------------------------------------------------------------------------------------------
//  TopK

static void
test_topk_keeps_exactly_the_k_largest_unscaled(void **state)
{
    comp_t c;
    vec_t x;
    cvec_t out, again;
    rng_t r, untouched;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_TOPK, .k = 4}, S_NMIXED, NULL),
                     MR_OK);
    assert_int_equal(vec_init(&x, S_NMIXED), MR_OK);
    assert_int_equal(cvec_init(&out, S_NMIXED, S_NMIXED), MR_OK);  // room for every K below
    assert_int_equal(cvec_init(&again, S_NMIXED, comp_max_nnz(&c)), MR_OK);
    memcpy(x.x, s_mixed, sizeof s_mixed);
    rng_seed(&r, 1, 0);
    untouched = r;
    comp_apply(&c, &x, &r, &out);
    //  |x|: 100 (9), 64 (12), 7 (4), 3 (0); then 2.5 (7) is left out.
    const uint32_t want[] = {0, 4, 9, 12};
    assert_int_equal(out.kind, CVEC_SPARSE);
    assert_int_equal(out.enc, CVEC_ENC_RAW);
    assert_int_equal(out.nnz, 4);
    assert_memory_equal(out.idx, want, sizeof want);
    for (size_t j = 0; j < 4; j++)
        assert_true(out.val[j] == x.x[want[j]]);
    assert_true(rng_next(&r) == rng_next(&untouched));  // deterministic: no randomness spent
    comp_apply(&c, &x, &r, &again);
    assert_memory_equal(again.idx, out.idx, 4 * sizeof *out.idx);
    assert_true(comp_kind_is_biased(COMP_TOPK));
    assert_true(isnan(comp_omega(&c)));
    assert_near(comp_zeta(&c), 4, 0);
    assert_int_equal(comp_max_nnz(&c), 4);
    comp_fini(&c);

    //  Ties go to the lower index: of six equal magnitudes, K = 3 keeps 0, 1, 2.
    for (size_t i = 0; i < S_NMIXED; i++)
        x.x[i] = i < 6 ? (i % 2 ? -1.0 : 1.0) : 0.5;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_TOPK, .k = 3}, S_NMIXED, NULL),
                     MR_OK);
    comp_apply(&c, &x, &r, &out);
    assert_int_equal(out.idx[0], 0);
    assert_int_equal(out.idx[1], 1);
    assert_int_equal(out.idx[2], 2);
    comp_fini(&c);

    //  Against a brute-force check on random vectors: every kept |x_i| >= every dropped one.
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_TOPK, .k = 5}, S_NMIXED, NULL),
                     MR_OK);
    for (int trial = 0; trial < 200; trial++) {
        for (size_t i = 0; i < S_NMIXED; i++)
            x.x[i] = rng_normal(&r) * (double) (trial % 3);  // trial % 3 == 0: all zero
        comp_apply(&c, &x, &r, &out);
        assert_int_equal(out.nnz, 5);
        uint8_t kept[S_NMIXED] = {0};
        for (size_t j = 0; j < 5; j++) {
            assert_true(j == 0 || out.idx[j - 1] < out.idx[j]);
            kept[out.idx[j]] = 1;
        }
        for (size_t a = 0; a < S_NMIXED; a++)
            for (size_t b = 0; b < S_NMIXED; b++)
                if (kept[a] && !kept[b])
                    assert_true(fabs(x.x[a]) > fabs(x.x[b]) ||
                                (fabs(x.x[a]) == fabs(x.x[b]) && a < b));
    }
    cvec_fini(&out);
    cvec_fini(&again);
    vec_fini(&x);
    comp_fini(&c);
}

static void
test_bad_parameters_name_their_key(void **state)
{
    comp_t c;
    mr_err_t err;
    struct {
        comp_cfg_t cfg;
        const char *key;
    } cases[] = {
        {{.kind = COMP_TOPK, .k = 0}, "'k'"},
        {{.kind = COMP_TOPK, .k = D + 1}, "'k'"},
        {{.kind = COMP_DITHER, .s = 0}, "'s'"},
        {{.kind = COMP_DITHER, .s = CVEC_MAX_LEVELS + 1}, "'s'"},
        {{.kind = COMP_BLOCK, .s = 0, .t = 2}, "'s'"},
        {{.kind = COMP_BLOCK, .s = 1, .t = 0}, "'t'"},
        {{.kind = COMP_BLOCK, .s = 1, .t = D + 1}, "'t'"},
        {{.kind = (comp_kind_t) 7}, "'compressor'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(comp_init(&c, &cases[i].cfg, D, &err), MR_ECONFIG);
        if (!strstr(err.text, cases[i].key))
            fail_msg("case %zu: '%s' does not name %s", i, err.text, cases[i].key);
        comp_fini(&c);
    }
    //  Parameters a kind does not use are ignored.
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_NATURAL, .k = 0, .s = 0}, D, NULL),
                     MR_OK);
    comp_fini(&c);
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = COMP_DITHER, .s = 2, .t = 0}, D, NULL),
                     MR_OK);
    assert_int_equal(c.t, D);
    comp_fini(&c);
}

//  comp_apply_diff(a, b) is comp_apply() of the difference formed as copy-then-axpy(-1), bit for
//  bit, for RandK (which forms only K coordinates) and for a kind that forms all of them.
static void
test_apply_diff_equals_apply_of_the_difference(void **state)
{
    const comp_cfg_t cfgs[] = {{.kind = COMP_RANDK, .k = 7}, {.kind = COMP_DITHER, .s = 4}};
    enum {
        DD = 300
    };
    for (size_t c_i = 0; c_i < sizeof cfgs / sizeof cfgs[0]; c_i++) {
        comp_t c;
        vec_t a, b, diff, scratch;
        cvec_t one, two;
        assert_int_equal(comp_init(&c, &cfgs[c_i], DD, NULL), MR_OK);
        assert_int_equal(vec_init(&a, DD), MR_OK);
        assert_int_equal(vec_init(&b, DD), MR_OK);
        assert_int_equal(vec_init(&diff, DD), MR_OK);
        assert_int_equal(vec_init(&scratch, DD), MR_OK);
        assert_int_equal(cvec_init(&one, DD, comp_max_nnz(&c)), MR_OK);
        assert_int_equal(cvec_init(&two, DD, comp_max_nnz(&c)), MR_OK);
        for (size_t j = 0; j < DD; j++) {
            a.x[j] = 0.1 * (double) j + 1.0 / 3.0;  // differences that round
            b.x[j] = 0.7 / (double) (j + 1);
        }
        for (int t = 0; t < 50; t++) {
            rng_t r1, r2;
            rng_seed(&r1, 99, (uint64_t) t);
            rng_seed(&r2, 99, (uint64_t) t);
            vec_copy(&diff, &a);
            vec_axpy(&diff, -1.0, &b);
            comp_apply(&c, &diff, &r1, &one);
            comp_apply_diff(&c, &a, &b, &scratch, &r2, &two);
            assert_int_equal(one.kind, two.kind);
            assert_int_equal(one.nnz, two.nnz);
            assert_memory_equal(one.val, two.val, one.nnz * sizeof *one.val);
            if (one.kind == CVEC_SPARSE)
                assert_memory_equal(one.idx, two.idx, one.nnz * sizeof *one.idx);
            assert_int_equal(rng_next(&r1), rng_next(&r2));  // the same draws
        }
        cvec_fini(&one);
        cvec_fini(&two);
        vec_fini(&a);
        vec_fini(&b);
        vec_fini(&diff);
        vec_fini(&scratch);
        comp_fini(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_randk_is_unbiased),
        cmocka_unit_test(test_apply_diff_equals_apply_of_the_difference),
        cmocka_unit_test(test_randk_variance_equals_omega),
        cmocka_unit_test(test_randk_writes_exactly_k_sorted_scaled_entries),
        cmocka_unit_test(test_randk_same_seed_same_output),
        cmocka_unit_test(test_identity_is_exact_and_dense),
        cmocka_unit_test(test_randk_with_k_equal_d_is_identity),
        cmocka_unit_test(test_bad_k_is_rejected_naming_the_key),
        cmocka_unit_test(test_parse_names_kinds_and_rejects_unknown),
        cmocka_unit_test(test_quantizers_are_unbiased_within_omega_and_zeta),
        cmocka_unit_test(test_omega_formulas),
        cmocka_unit_test(test_natural_and_ternary_omega_are_tight),
        cmocka_unit_test(test_natural_keeps_powers_of_two_and_extremes),
        cmocka_unit_test(test_ternary_values_are_minus_zero_plus_scale),
        cmocka_unit_test(test_block_has_one_norm_per_block),
        cmocka_unit_test(test_quantizers_choose_dense_or_sparse_by_bits),
        cmocka_unit_test(test_topk_keeps_exactly_the_k_largest_unscaled),
        cmocka_unit_test(test_bad_parameters_name_their_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
