//  test_sparse_sum.c - sparse_sum.h: the sparse combine against the dense one it replaces
//  (method_sum_updates() into a zeroed vector, then vec_axpy()), bit for bit, round after round,
//  with the signed zeros, cancellations and underflows that tell the two apart.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mr_err.h"
#include "rng.h"
#include "sparse_sum.h"
#include "test_util.h"

#define DIM  400
#define NUPS 3

//  The dense combine: sum = 0; sum += 1.0 u_i in update order; g += a sum.
static void
s_dense(vec_t *g, double a, const cvec_t *const *ups, size_t n)
{
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

static size_t
s_count_negative_zeros(const vec_t *v)
{
    size_t c = 0;
    for (size_t j = 0; j < v->dim; j++)
        c += v->x[j] == 0.0 && signbit(v->x[j]);
    return c;
}

typedef struct {
    cvec_t up[NUPS];
    const cvec_t *ptr[NUPS];
    vec_t dense_g, sparse_g;
    sparse_sum_t s;
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
    assert_int_equal(sparse_sum_init(&f->s, DIM), MR_OK);
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
    sparse_sum_fini(&f->s);
    sparse_sum_fini(&f->s);  // safe twice
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

//  Update i gets nnz entries at random coordinates of [0, span), in random order and with
//  repeats unless sorted (then strictly increasing, as RandK sends them).
static void
s_fill(cvec_t *c, rng_t *r, size_t nnz, uint32_t span, int sorted)
{
    c->nnz = nnz;
    for (size_t e = 0; e < nnz; e++) {
        c->idx[e] = sorted ? (uint32_t) (e * (span / nnz)) + (uint32_t) rng_below(r, span / nnz)
                           : (uint32_t) rng_below(r, span);
        c->val[e] = s_nasty(r);
    }
}

//  Many rounds of both combines from the same g, the updates drawn over a few coordinates so that
//  they overlap, cancel and meet g's signed zeros; g itself seeded with -0.0, +0.0 and values
//  that the updates cancel exactly. Every round's g must have the same bits, and the test must
//  have met both cases: a -0.0 kept (g_j + y is -0.0 only when both are) and one turned +0.0.
static void
test_sparse_equals_dense_round_after_round(void **state)
{
    fixture_t *f = *state;
    rng_t r;
    rng_seed(&r, 31, 0);
    for (size_t j = 0; j < DIM; j++)
        f->dense_g.x[j] = j % 3 == 0 ? -0.0 : j % 3 == 1 ? 0.0 : 0.1 * (double) (j % 7) - 0.3;
    vec_copy(&f->sparse_g, &f->dense_g);
    size_t kept = 0, cleared = 0;
    const double as[] = {1.0 / NUPS, 0.2, -0.5, 1.0};
    for (int round = 0; round < 400; round++) {
        double a = as[round % 4];
        for (int i = 0; i < NUPS; i++)
            s_fill(&f->up[i], &r, 1 + rng_below(&r, 20), round % 2 ? 60 : DIM, round % 3 == 0);
        vec_t prev;
        assert_int_equal(vec_init(&prev, DIM), MR_OK);
        vec_copy(&prev, &f->dense_g);
        s_dense(&f->dense_g, a, f->ptr, NUPS);
        assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, a, f->ptr, NUPS), 1);
        s_assert_same_bits(&f->dense_g, &f->sparse_g);
        for (size_t j = 0; j < DIM; j++) {
            int was = prev.x[j] == 0.0 && signbit(prev.x[j]);
            int is = f->dense_g.x[j] == 0.0 && signbit(f->dense_g.x[j]);
            kept += was && is;
            cleared += was && !is;
        }
        vec_fini(&prev);
        //  Now and then g is written some other way (a dense round): forget, then go on.
        if (round % 50 == 49) {
            for (size_t j = 0; j < DIM; j += 5)
                f->dense_g.x[j] = -0.0;
            vec_copy(&f->sparse_g, &f->dense_g);
            sparse_sum_forget(&f->s);
        }
    }
    assert_true(kept > 0);
    assert_true(cleared > 0);
    //  Its scratch is back to zero: a combine of empty updates changes nothing but the -0.0.
    for (int i = 0; i < NUPS; i++)
        f->up[i].nnz = 0;
    s_dense(&f->dense_g, 0.25, f->ptr, NUPS);
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.25, f->ptr, NUPS), 1);
    s_assert_same_bits(&f->dense_g, &f->sparse_g);
    assert_int_equal(s_count_negative_zeros(&f->sparse_g), 0);
    for (size_t j = 0; j < DIM; j++)
        assert_memory_equal(&f->s.sum.x[j], &(double){0.0}, sizeof(double));
}

//  The cases by hand: a -0.0 no update touches becomes +0.0; an exact cancellation gives +0.0;
//  -0.0 + 0.2 (-denormal_min) stays -0.0 (the product underflows to -0.0), and turns +0.0 in the
//  next round that does not touch it.
static void
test_signed_zeros_by_hand(void **state)
{
    fixture_t *f = *state;
    vec_zero(&f->sparse_g);
    f->sparse_g.x[3] = -0.0;
    f->sparse_g.x[4] = 0.5;
    f->sparse_g.x[5] = -0.0;
    f->sparse_g.x[6] = 1.0;
    sparse_sum_forget(&f->s);
    cvec_t *u = &f->up[0];
    u->nnz = 3;
    u->idx[0] = 4, u->val[0] = -2.5;  // 0.5 + 0.2 (-2.5) = +0.0
    u->idx[1] = 5, u->val[1] = -4.9406564584124654e-324;
    u->idx[2] = 6, u->val[2] = 1.0;
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.2, f->ptr, 1), 1);
    assert_true(f->sparse_g.x[3] == 0.0 && !signbit(f->sparse_g.x[3]));
    assert_true(f->sparse_g.x[4] == 0.0 && !signbit(f->sparse_g.x[4]));
    assert_true(f->sparse_g.x[5] == 0.0 && signbit(f->sparse_g.x[5]));
    assert_true(f->sparse_g.x[6] == 1.0 + 0.2 * 1.0);
    u->nnz = 1;
    u->idx[0] = 6, u->val[0] = 1.0;
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.2, f->ptr, 1), 1);
    assert_true(f->sparse_g.x[5] == 0.0 && !signbit(f->sparse_g.x[5]));
}

//  What it does not do, it leaves alone: a dense update, a sketch, too many entries, a wrong
//  dimension or a non-finite weight return 0 and g keeps its bits.
static void
test_refuses_and_leaves_g_alone(void **state)
{
    fixture_t *f = *state;
    for (size_t j = 0; j < DIM; j++)
        f->sparse_g.x[j] = j % 2 ? -0.0 : (double) j;
    vec_copy(&f->dense_g, &f->sparse_g);
    for (int i = 0; i < NUPS; i++) {
        f->up[i].nnz = 2;
        f->up[i].idx[0] = 1, f->up[i].idx[1] = 7;
        f->up[i].val[0] = f->up[i].val[1] = 1.0;
    }
    f->up[1].kind = CVEC_DENSE;
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    f->up[1].kind = CVEC_SPARSE;
    f->up[1].enc = CVEC_ENC_SKETCH;
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    f->up[1].enc = CVEC_ENC_RAW;
    f->up[1].nnz = DIM / 4;
    for (size_t e = 0; e < DIM / 4; e++)
        f->up[1].idx[e] = (uint32_t) e;
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    f->up[1].nnz = 2;
    f->up[1].dim = DIM - 1;
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.5, f->ptr, NUPS), 0);
    f->up[1].dim = DIM;
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, INFINITY, f->ptr, NUPS), 0);
    s_assert_same_bits(&f->dense_g, &f->sparse_g);
    //  And then works: the refusals left its scratch clean.
    s_dense(&f->dense_g, 0.5, f->ptr, NUPS);
    assert_int_equal(sparse_sum_axpy(&f->s, &f->sparse_g, 0.5, f->ptr, NUPS), 1);
    s_assert_same_bits(&f->dense_g, &f->sparse_g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sparse_equals_dense_round_after_round, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_signed_zeros_by_hand, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_and_leaves_g_alone, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
