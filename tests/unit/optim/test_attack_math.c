//  test_attack_math.c - attack.h (the attacks' views, Baruch et al.'s z) and data_transform.h (the
//  Byzantine paper's data preparation), against values computed by hand.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attack.h"
#include "data_transform.h"
#include "test_util.h"

static void
test_parse_knows_every_attack_and_names_the_key(void **state)
{
    (void) state;
    const char *names[] = {"none", "lf", "bf", "alie", "ipm", "noise", "junk"};
    for (int i = 0; i < 7; i++) {
        attack_kind_t k;
        assert_int_equal(attack_kind_parse(names[i], &k, NULL), MR_OK);
        assert_string_equal(attack_kind_name(k), names[i]);
    }
    mr_err_t err;
    attack_kind_t k;
    assert_int_equal(attack_kind_parse("sybil", &k, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "attack = 'sybil'"));
    assert_true(attack_needs_honest(ATTACK_ALIE) && attack_needs_honest(ATTACK_IPM));
    assert_false(attack_needs_honest(ATTACK_BF) || attack_needs_honest(ATTACK_LF));
}

static void
test_normal_quantile_and_alie_z(void **state)
{
    (void) state;
    //  Phi^{-1}: the standard table values.
    assert_true(fabs(attack_normal_quantile(0.5)) < 1e-10);
    assert_true(fabs(attack_normal_quantile(0.975) - 1.959963984540054) < 1e-9);
    assert_true(fabs(attack_normal_quantile(0.7) - 0.5244005127080407) < 1e-9);
    //  Baruch et al.: n = 20, b = 5: s = floor(11) - 5 = 6, z = Phi^{-1}(14/20) = 0.5244.
    assert_true(fabs(attack_alie_z(20, 5) - 0.5244005127080407) < 1e-9);
    //  n = 50, b = 24 (their CIFAR setting): s = 26 - 24 = 2, z = Phi^{-1}(48/50) = 1.7507.
    assert_true(fabs(attack_alie_z(50, 24) - 1.750686071252170) < 1e-8);
    //  n = 4, b = 1: s = 2, (4 - 2) / 4 = 1/2: no z > 0.
    assert_true(attack_alie_z(4, 1) == 0.0);
}

//  Three honest views in R^2: (1, 0), (2, 2), (3, 4): mean (2, 2), population std
//  (sqrt(2/3), sqrt(8/3)).
static void
test_views_follow_their_definitions(void **state)
{
    (void) state;
    vec_t h[3], own, out;
    const double hv[3][2] = {{1, 0}, {2, 2}, {3, 4}};
    const vec_t *hp[3];
    for (int i = 0; i < 3; i++) {
        vec_init(&h[i], 2);
        h[i].x[0] = hv[i][0];
        h[i].x[1] = hv[i][1];
        hp[i] = &h[i];
    }
    vec_init(&own, 2);
    own.x[0] = 5;
    own.x[1] = -1;
    vec_init(&out, 2);
    rng_t rng;
    rng_seed(&rng, 1, 2);

    attack_cfg_t alie = {ATTACK_ALIE, 1.5, 0};
    assert_int_equal(attack_view(&alie, hp, 3, NULL, &rng, &out, NULL), MR_OK);
    assert_true(fabs(out.x[0] - (2 - 1.5 * sqrt(2.0 / 3.0))) < 1e-14);
    assert_true(fabs(out.x[1] - (2 - 1.5 * sqrt(8.0 / 3.0))) < 1e-14);

    attack_cfg_t ipm = {ATTACK_IPM, 0, 0.1};
    assert_int_equal(attack_view(&ipm, hp, 3, NULL, &rng, &out, NULL), MR_OK);
    assert_true(fabs(out.x[0] + 0.2) < 1e-15 && fabs(out.x[1] + 0.2) < 1e-15);

    attack_cfg_t bf = {ATTACK_BF, 0, 0};
    assert_int_equal(attack_view(&bf, NULL, 0, &own, &rng, &out, NULL), MR_OK);
    assert_true(out.x[0] == -5 && out.x[1] == 1);

    attack_cfg_t lf = {ATTACK_LF, 0, 0};
    assert_int_equal(attack_view(&lf, NULL, 0, &own, &rng, &out, NULL), MR_OK);
    assert_true(out.x[0] == 5 && out.x[1] == -1);

    //  What an attack needs must be there.
    mr_err_t err;
    assert_int_equal(attack_view(&alie, NULL, 0, &own, &rng, &out, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "alie"));
    assert_int_equal(attack_view(&bf, hp, 3, NULL, &rng, &out, &err), MR_EINVAL);

    for (int i = 0; i < 3; i++)
        vec_fini(&h[i]);
    vec_fini(&own);
    vec_fini(&out);
}

static void
test_noise_has_the_honest_scale(void **state)
{
    (void) state;
    //  Honest views of squared norm 4 d each: s^2 = 4, so the noise coordinates have variance 4.
    enum {
        D = 4000
    };
    vec_t h, out;
    vec_init(&h, D);
    vec_init(&out, D);
    for (size_t j = 0; j < D; j++)
        h.x[j] = j % 2 ? 2.0 : -2.0;
    const vec_t *hp[1] = {&h};
    attack_cfg_t noise = {ATTACK_NOISE, 0, 0};
    rng_t rng;
    rng_seed(&rng, 7, 3);
    assert_int_equal(attack_view(&noise, hp, 1, NULL, &rng, &out, NULL), MR_OK);
    double mean = 0, var = 0;
    for (size_t j = 0; j < D; j++)
        mean += out.x[j] / D;
    for (size_t j = 0; j < D; j++)
        var += (out.x[j] - mean) * (out.x[j] - mean) / (D - 1);
    //  Sample variance of 4000 N(0, 4): standard error 4 sqrt(2/3999) = 0.089; 5 SE.
    assert_true(fabs(var - 4.0) < 0.45);
    assert_true(fabs(mean) < 5 * 2.0 / sqrt((double) D));
    vec_fini(&h);
    vec_fini(&out);
}

//  Rows (3, 4), (0, 0), (1, 0, 0, 1): labels +1, -1, +1.
static void
s_small(csr_t *a)
{
    static const size_t rowptr[] = {0, 2, 2, 4};
    static const uint32_t col[] = {0, 1, 0, 3};
    static const double val[] = {3, 4, 1, 1}, y[] = {1, -1, 1};
    a->rows = 3;
    a->cols = 4;
    a->nnz = 4;
    a->rowptr = malloc(sizeof rowptr);
    a->col = malloc(sizeof col);
    a->val = malloc(sizeof val);
    a->y = malloc(sizeof y);
    memcpy(a->rowptr, rowptr, sizeof rowptr);
    memcpy(a->col, col, sizeof col);
    memcpy(a->val, val, sizeof val);
    memcpy(a->y, y, sizeof y);
}

static void
test_normalize_and_flip(void **state)
{
    (void) state;
    csr_t a, b;
    s_small(&a);
    assert_int_equal(csr_normalize_rows(&a, &b, NULL), MR_OK);
    assert_true(fabs(b.val[0] - 0.6) < 1e-15 && fabs(b.val[1] - 0.8) < 1e-15);
    assert_true(fabs(b.val[2] - 1 / sqrt(2.0)) < 1e-16 && b.val[2] == b.val[3]);
    assert_true(b.rowptr[1] == 2 && b.rowptr[2] == 2);  // the zero row stays empty
    assert_true(a.val[0] == 3.0);                       // the input is unchanged
    csr_fini(&b);
    assert_int_equal(csr_flip_labels(&a, &b, NULL), MR_OK);
    for (size_t t = 0; t < 3; t++)
        assert_true(b.y[t] == -a.y[t]);
    assert_memory_equal(b.val, a.val, 4 * sizeof(double));
    csr_fini(&b);
    csr_fini(&a);
}

static void
test_shuffle_is_a_seeded_permutation(void **state)
{
    (void) state;
    //  100 rows whose only entry names the row: a shuffle moves rows whole, exactly once each.
    enum {
        R = 100
    };
    csr_t a = {0};
    a.rows = R;
    a.cols = 1;
    a.nnz = R;
    a.rowptr = malloc((R + 1) * sizeof *a.rowptr);
    a.col = calloc(R, sizeof *a.col);
    a.val = malloc(R * sizeof *a.val);
    a.y = malloc(R * sizeof *a.y);
    for (size_t t = 0; t <= R; t++)
        a.rowptr[t] = t;
    for (size_t t = 0; t < R; t++) {
        a.val[t] = (double) t;
        a.y[t] = t % 3 ? 1.0 : -1.0;
    }
    csr_t b, c, d;
    rng_t r1, r2, r3;
    rng_seed(&r1, 5, RNG_STREAM_SHUFFLE);
    rng_seed(&r2, 5, RNG_STREAM_SHUFFLE);
    rng_seed(&r3, 6, RNG_STREAM_SHUFFLE);
    assert_int_equal(csr_shuffle_rows(&a, &r1, &b, NULL), MR_OK);
    assert_int_equal(csr_shuffle_rows(&a, &r2, &c, NULL), MR_OK);
    assert_int_equal(csr_shuffle_rows(&a, &r3, &d, NULL), MR_OK);
    int seen[R] = {0}, moved = 0;
    for (size_t t = 0; t < R; t++) {
        size_t src = (size_t) b.val[t];
        seen[src]++;
        moved += src != t;
        assert_true(b.y[t] == a.y[src]);  // labels travel with their rows
    }
    for (size_t t = 0; t < R; t++)
        assert_int_equal(seen[t], 1);
    assert_true(moved > R / 2);
    assert_memory_equal(b.val, c.val, R * sizeof(double));  // same seed, same order
    assert_true(memcmp(b.val, d.val, R * sizeof(double)) != 0);
    csr_fini(&a);
    csr_fini(&b);
    csr_fini(&c);
    csr_fini(&d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_knows_every_attack_and_names_the_key),
        cmocka_unit_test(test_normal_quantile_and_alie_z),
        cmocka_unit_test(test_views_follow_their_definitions),
        cmocka_unit_test(test_noise_has_the_honest_scale),
        cmocka_unit_test(test_normalize_and_flip),
        cmocka_unit_test(test_shuffle_is_a_seeded_permutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
