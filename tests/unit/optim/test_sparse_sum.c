//  test_sparse_sum.c - sparse_sum.h: the one-pass step and combine against the dense code it
//  replaces (vec_axpy(x, b, g); the updates summed into a zeroed vector in update order;
//  vec_axpy(g, a, sum)), bit for bit, round after round, with the signed zeros, cancellations
//  and underflows that would tell a careless sparse sum from the dense one.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "marks.h"
#include "mr_err.h"
#include "rng.h"
#include "sparse_sum.h"
#include "test_util.h"

#define DIM  1500  // a few of sparse_sum.c's blocks, the last one short
#define NUPS 3

//  The dense code: x += b g (if x); sum = 0; sum += 1.0 u_i in update order; g += a sum.
static void
s_dense(vec_t *x, double b, vec_t *g, double a, const cvec_t *const *ups, size_t n)
{
    if (x)
        vec_axpy(x, b, g);
    vec_t sum;
    assert_int_equal(vec_init(&sum, g->dim), MR_OK);
    vec_zero(&sum);
    for (size_t i = 0; i < n; i++)
        cvec_axpy_to(&sum, 1.0, ups[i]);
    vec_axpy(g, a, &sum);
    vec_fini(&sum);
}

static void
s_assert_same_bits(const vec_t *a, const vec_t *b)
{
    assert_int_equal(a->dim, b->dim);
    assert_memory_equal(a->x, b->x, a->dim * sizeof *a->x);
}

static int
s_negative_zero(double v)
{
    return v == 0.0 && signbit(v);
}

typedef struct {
    cvec_t up[NUPS];
    const cvec_t *ptr[NUPS];
    vec_t dense_g, sparse_g, dense_x, sparse_x;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    for (int i = 0; i < NUPS; i++) {
        assert_int_equal(cvec_init(&f->up[i], DIM, DIM), MR_OK);
        f->up[i].kind = CVEC_SPARSE;
        f->ptr[i] = &f->up[i];
    }
    assert_int_equal(vec_init(&f->dense_g, DIM), MR_OK);
    assert_int_equal(vec_init(&f->sparse_g, DIM), MR_OK);
    assert_int_equal(vec_init(&f->dense_x, DIM), MR_OK);
    assert_int_equal(vec_init(&f->sparse_x, DIM), MR_OK);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < NUPS; i++)
        cvec_fini(&f->up[i]);
    vec_fini(&f->dense_g);
    vec_fini(&f->sparse_g);
    vec_fini(&f->dense_x);
    vec_fini(&f->sparse_x);
    free(f);
    return 0;
}

//  A value that is often a signed zero, a tiny subnormal or an exact negation of another.
static double
s_nasty(rng_t *r)
{
    switch (rng_below(r, 6)) {
        case 0:
            return 0.0;
        case 1:
            return -0.0;
        case 2:
            return -4.9406564584124654e-324;  // -denormal_min: 0.2 times it rounds to -0.0
        case 3:
            return 0.5;
        case 4:
            return -0.5;
        default:
            return rng_normal(r);
    }
}

//  nnz entries at sorted coordinates of [from, from + span): strictly increasing, or with
//  repeats (an update may hold a coordinate twice; both entries count, in order).
static void
s_fill(cvec_t *c, rng_t *r, size_t nnz, uint32_t from, uint32_t span, int repeats)
{
    c->nnz = nnz;
    uint32_t step = span / (uint32_t) nnz;
    for (size_t e = 0; e < nnz; e++) {
        c->idx[e] = from + (uint32_t) e * step + (uint32_t) rng_below(r, step);
        if (repeats && e > 0 && rng_below(r, 4) == 0)
            c->idx[e] = c->idx[e - 1];
        c->val[e] = s_nasty(r);
    }
}

//  Many rounds of both codes from the same x and g, the updates drawn over a narrow window (so
//  that they overlap, cancel and meet g's signed zeros) or over all of [0, DIM), x stepped in
//  every other round; g seeded with -0.0, +0.0 and values the updates cancel exactly. Every
//  round's x and g must have the same bits, and the rounds must have met the cases: a -0.0 of g
//  kept (g_j + y is -0.0 only when both are) and one turned into +0.0.
static void
test_equals_the_dense_code_round_after_round(void **state)
{
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 31, 0);
    for (size_t j = 0; j < DIM; j++) {
        f->dense_g.x[j] = j % 3 == 0 ? -0.0 : j % 3 == 1 ? 0.0 : 0.1 * (double) (j % 7) - 0.3;
        f->dense_x.x[j] = j % 2 ? -0.0 : 1.0 / (double) (j + 1);
    }
    vec_copy(&f->sparse_g, &f->dense_g);
    vec_copy(&f->sparse_x, &f->dense_x);
    size_t kept = 0, cleared = 0;
    const double as[] = {1.0 / NUPS, 0.2, -0.5, 1.0};
    vec_t prev;
    assert_int_equal(vec_init(&prev, DIM), MR_OK);
    for (int round = 0; round < 400; round++) {
        double a = as[round % 4];
        uint32_t from = (uint32_t) rng_below(&r, DIM - 60);
        for (int i = 0; i < NUPS; i++) {
            size_t nnz = 1 + rng_below(&r, 20);
            if (round % 5 == 0)
                s_fill(&f->up[i], &r, nnz, 0, DIM, round % 2);
            else
                s_fill(&f->up[i], &r, nnz, from, 60, round % 2);
        }
        vec_copy(&prev, &f->dense_g);
        int step = round % 2;
        s_dense(step ? &f->dense_x : NULL, -0.125, &f->dense_g, a, f->ptr, NUPS);
        assert_int_equal(
            sparse_sum_step_axpy(step ? &f->sparse_x : NULL, -0.125, &f->sparse_g, a, f->ptr, NUPS),
            1);
        s_assert_same_bits(&f->dense_g, &f->sparse_g);
        s_assert_same_bits(&f->dense_x, &f->sparse_x);
        for (size_t j = 0; j < DIM; j++) {
            int was = s_negative_zero(prev.x[j]), is = s_negative_zero(f->dense_g.x[j]);
            kept += was && is;
            cleared += was && !is;
        }
        if (round % 50 == 49)  // new -0.0 to keep or clear
            for (size_t j = 0; j < DIM; j += 5)
                f->dense_g.x[j] = f->sparse_g.x[j] = -0.0;
    }
    vec_fini(&prev);
    assert_true(kept > 0);
    assert_true(cleared > 0);
}

//  The cases by hand: a -0.0 no update touches becomes +0.0; an exact cancellation gives +0.0;
//  -0.0 + 0.2 (-denormal_min) stays -0.0 (the product underflows to -0.0); the x step uses g as
//  it was before the combine.
static void
test_signed_zeros_by_hand(void **state)
{
    fixture_t *f = *state;
    vec_zero(&f->sparse_g);
    vec_zero(&f->sparse_x);
    f->sparse_g.x[3] = -0.0;
    f->sparse_g.x[4] = 0.5;
    f->sparse_g.x[5] = -0.0;
    f->sparse_g.x[6] = 1.0;
    cvec_t *u = &f->up[0];
    u->nnz = 3;
    u->idx[0] = 4, u->val[0] = -2.5;  // 0.5 + 0.2 (-2.5) = +0.0
    u->idx[1] = 5, u->val[1] = -4.9406564584124654e-324;
    u->idx[2] = 6, u->val[2] = 1.0;
    assert_int_equal(sparse_sum_step_axpy(&f->sparse_x, -1.0, &f->sparse_g, 0.2, f->ptr, 1), 1);
    assert_true(f->sparse_g.x[3] == 0.0 && !signbit(f->sparse_g.x[3]));
    assert_true(f->sparse_g.x[4] == 0.0 && !signbit(f->sparse_g.x[4]));
    assert_true(s_negative_zero(f->sparse_g.x[5]));
    assert_true(f->sparse_g.x[6] == 1.0 + 0.2 * 1.0);
    assert_true(f->sparse_x.x[4] == -0.5 && f->sparse_x.x[6] == -1.0);
    assert_true(f->sparse_x.x[3] == 0.0 && !signbit(f->sparse_x.x[3]));  // 0 + -1 (-0) = +0
}

//  What it does not do, it leaves alone: a dense update, a sketch, indices out of order or out
//  of range, a wrong dimension or too many updates return 0, and x and g keep their bits.
static void
test_refuses_and_touches_nothing(void **state)
{
    fixture_t *f = *state;
    for (size_t j = 0; j < DIM; j++) {
        f->sparse_g.x[j] = j % 2 ? -0.0 : (double) j;
        f->sparse_x.x[j] = (double) j;
    }
    vec_copy(&f->dense_g, &f->sparse_g);
    vec_copy(&f->dense_x, &f->sparse_x);
    for (int i = 0; i < NUPS; i++) {
        f->up[i].nnz = 2;
        f->up[i].idx[0] = 1, f->up[i].idx[1] = 7;
        f->up[i].val[0] = f->up[i].val[1] = 1.0;
    }
    cvec_t *u = &f->up[1];
    u->kind = CVEC_DENSE;
    assert_int_equal(sparse_sum_step_axpy(&f->sparse_x, 0.5, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    u->kind = CVEC_SPARSE;
    u->enc = CVEC_ENC_SKETCH;
    assert_int_equal(sparse_sum_step_axpy(&f->sparse_x, 0.5, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    u->enc = CVEC_ENC_RAW;
    u->idx[1] = 0;  // decreasing
    assert_int_equal(sparse_sum_step_axpy(&f->sparse_x, 0.5, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    u->idx[1] = DIM;  // out of range
    assert_int_equal(sparse_sum_step_axpy(&f->sparse_x, 0.5, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    u->idx[1] = 7;
    u->dim = DIM - 1;
    assert_int_equal(sparse_sum_step_axpy(&f->sparse_x, 0.5, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    u->dim = DIM;
    vec_t short_x;
    assert_int_equal(vec_init(&short_x, DIM - 1), MR_OK);
    assert_int_equal(sparse_sum_step_axpy(&short_x, 0.5, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    vec_fini(&short_x);
    const cvec_t *many[SPARSE_SUM_MAX_UPDATES + 1];
    for (size_t i = 0; i <= SPARSE_SUM_MAX_UPDATES; i++)
        many[i] = &f->up[0];
    assert_int_equal(sparse_sum_step_axpy(&f->sparse_x, 0.5, &f->sparse_g, 0.5, many,
                                          SPARSE_SUM_MAX_UPDATES + 1),
                     0);
    s_assert_same_bits(&f->dense_g, &f->sparse_g);
    s_assert_same_bits(&f->dense_x, &f->sparse_x);
    //  The most it takes: the same bits as the dense code.
    s_dense(&f->dense_x, 0.5, &f->dense_g, 0.5, many, SPARSE_SUM_MAX_UPDATES);
    assert_int_equal(
        sparse_sum_step_axpy(&f->sparse_x, 0.5, &f->sparse_g, 0.5, many, SPARSE_SUM_MAX_UPDATES),
        1);
    s_assert_same_bits(&f->dense_g, &f->sparse_g);
    s_assert_same_bits(&f->dense_x, &f->sparse_x);
}

//  sparse_sum_step_axpy_few against the dense code, round after round, from a g with +0.0 but no
//  -0.0 (what it requires), updates full of signed zeros, subnormals and cancellations: the same
//  bits, no -0.0 made, scratch and marks left zero; it refuses a <= 0 and too many non-zeros.
static void
test_few_equals_the_dense_code_without_negative_zeros(void **state)
{
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 37, 0);
    for (size_t j = 0; j < DIM; j++) {
        f->dense_g.x[j] = j % 3 == 0 ? 0.0 : 0.1 * (double) (j % 7) - 0.3;
        f->dense_x.x[j] = j % 2 ? -0.0 : 1.0 / (double) (j + 1);
    }
    vec_copy(&f->sparse_g, &f->dense_g);
    vec_copy(&f->sparse_x, &f->dense_x);
    vec_t scratch;
    assert_int_equal(vec_init(&scratch, DIM), MR_OK);
    uint64_t marks[MARKS_WORDS(DIM)] = {0};
    const double as[] = {1.0 / NUPS, 0.2, 1.0};
    for (int round = 0; round < 400; round++) {
        double a = as[round % 3];
        uint32_t from = (uint32_t) rng_below(&r, DIM - 60);
        for (int i = 0; i < NUPS; i++) {
            size_t nnz = 1 + rng_below(&r, 12);
            if (round % 5 == 0)
                s_fill(&f->up[i], &r, nnz, 0, DIM, round % 2);
            else
                s_fill(&f->up[i], &r, nnz, from, 60, round % 2);
        }
        int step = round % 2;
        s_dense(step ? &f->dense_x : NULL, -0.125, &f->dense_g, a, f->ptr, NUPS);
        assert_int_equal(sparse_sum_step_axpy_few(step ? &f->sparse_x : NULL, -0.125, &f->sparse_g,
                                                  a, f->ptr, NUPS, &scratch, marks),
                         1);
        s_assert_same_bits(&f->dense_g, &f->sparse_g);
        s_assert_same_bits(&f->dense_x, &f->sparse_x);
        for (size_t j = 0; j < DIM; j++) {
            assert_false(s_negative_zero(f->sparse_g.x[j]));
            assert_true(scratch.x[j] == 0.0 && !signbit(scratch.x[j]));
        }
        for (size_t w = 0; w < MARKS_WORDS(DIM); w++)
            assert_true(marks[w] == 0);
    }
    //  Refused, touching nothing: a negative a, and more non-zero entries than dim / 32.
    vec_copy(&f->dense_g, &f->sparse_g);
    s_fill(&f->up[0], &r, 3, 0, DIM, 0);
    f->up[0].val[0] = 1.0;
    assert_int_equal(
        sparse_sum_step_axpy_few(NULL, -0.125, &f->sparse_g, -0.5, f->ptr, 1, &scratch, marks), 0);
    for (size_t e = 0; e < DIM / 16; e++) {
        f->up[0].idx[e] = (uint32_t) (e * 16);
        f->up[0].val[e] = 1.0;
    }
    f->up[0].nnz = DIM / 16;
    assert_int_equal(
        sparse_sum_step_axpy_few(NULL, -0.125, &f->sparse_g, 0.5, f->ptr, 1, &scratch, marks), 0);
    s_assert_same_bits(&f->dense_g, &f->sparse_g);
    vec_fini(&scratch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_equals_the_dense_code_round_after_round, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_signed_zeros_by_hand, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_and_touches_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_few_equals_the_dense_code_without_negative_zeros,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
