//  test_loss_split.c - loss_split.h: the gradient in chunks is loss_value_grad_sparse()'s to the
//  bit, for every kind, for general and 0/1 values, for a shard that is a view into a larger one,
//  for rows that repeat a column, and whoever runs the chunks in whatever order (here: in reverse,
//  and on two threads at once).
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "data.h"
#include "loss.h"
#include "loss_split.h"
#include "rng.h"
#include "test_util.h"

static const loss_kind_t s_kinds[] = {LOSS_NONCONVEX, LOSS_LOGREG, LOSS_QUADRATIC};
#define S_NKINDS (sizeof s_kinds / sizeof s_kinds[0])

static void
s_random_x(rng_t *r, vec_t *x, double sd)
{
    for (size_t j = 0; j < x->dim; j++)
        x->x[j] = sd * rng_normal(r);
}

//  A loss_for_fn that runs the chunks from the last to the first, counting its calls.
static void
s_reverse(void *ctx, loss_chunk_fn fn, void *arg, size_t n)
{
    (*(int *) ctx)++;
    for (size_t c = n; c-- > 0;)
        fn(arg, c);
}

//  A loss_for_fn that runs the odd chunks on a second thread while this one runs the even ones.
typedef struct {
    loss_chunk_fn fn;
    void *arg;
    size_t n;
} s_odd_t;

static void *
s_odd_main(void *p)
{
    s_odd_t *o = p;
    for (size_t c = 1; c < o->n; c += 2)
        o->fn(o->arg, c);
    return NULL;
}

static void
s_two_threads(void *ctx, loss_chunk_fn fn, void *arg, size_t n)
{
    (void) ctx;
    s_odd_t o = {fn, arg, n};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_odd_main, &o), 0);
    for (size_t c = 0; c < n; c += 2)
        fn(arg, c);
    assert_int_equal(pthread_join(t, NULL), 0);
}

//  For every kind and several points: the split (through loss_value_grad_sparse(), as a worker
//  calls it) gives the unsplit call's f and gradient bits, run in order, in reverse and on two
//  threads. grad starts +0.0 off the support and alternates between two buffers, as MARINA's do.
static void
s_check_same_bits(const csr_t *data, int expect_unit)
{
    vec_t x, plain, split[2];
    assert_int_equal(vec_init(&x, data->cols), MR_OK);
    assert_int_equal(vec_init(&plain, data->cols), MR_OK);
    assert_int_equal(vec_init(&split[0], data->cols), MR_OK);
    assert_int_equal(vec_init(&split[1], data->cols), MR_OK);
    rng_t r;
    rng_seed(&r, 21, 0);
    int reversed = 0;
    for (size_t k = 0; k < S_NKINDS; k++) {
        loss_t l;
        assert_int_equal(loss_init(&l, s_kinds[k], 0.0, data, NULL), MR_OK);
        assert_int_equal(l.unit_values, expect_unit);
        loss_support_t s;
        assert_int_equal(loss_support_init(&s, &l, NULL), MR_OK);
        for (int how = 0; how < 3; how++) {
            loss_t ls = l;
            loss_split_t sp;
            loss_for_fn run = how == 0 ? NULL : how == 1 ? s_reverse : s_two_threads;
            assert_int_equal(loss_split_init(&sp, &l, run, &reversed, NULL), MR_OK);
            assert_int_equal(sp.ncols, s.n);
            ls.split = &sp;
            vec_zero(&split[0]);
            vec_zero(&split[1]);
            for (int trial = 0; trial < 5; trial++) {
                s_random_x(&r, &x, trial < 2 ? 0.3 : 30.0);  // large: saturated sigmoids
                if (trial == 4)
                    vec_zero(&x);
                double fp = loss_value_grad_sparse(&l, &s, &x, &plain);
                double fs = loss_value_grad_sparse(&ls, &s, &x, &split[trial % 2]);
                assert_memory_equal(&fp, &fs, sizeof fp);
                assert_memory_equal(plain.x, split[trial % 2].x, data->cols * sizeof *plain.x);
            }
            loss_split_fini(&sp);
            loss_split_fini(&sp);  // safe twice
        }
        loss_support_fini(&s);
    }
    assert_int_equal(reversed, (int) S_NKINDS * 5 * 2);  // 2 passes a call went through it
    vec_fini(&x);
    vec_fini(&plain);
    vec_fini(&split[0]);
    vec_fini(&split[1]);
}

//  data_synthetic() makes 0/1 features: give them general values.
static void
s_general_values(csr_t *data)
{
    rng_t r;
    rng_seed(&r, 4, 0);
    for (size_t e = 0; e < data->nnz; e++)
        data->val[e] = 2.0 * rng_normal(&r);
}

static void
test_general_values(void **state)
{
    (void) state;
    csr_t data;
    assert_int_equal(data_synthetic(203, 3000, 0.01, 3, 5, &data, NULL), MR_OK);
    assert_true(data.nnz >= LOSS_SPLIT_MIN_ENTRIES);
    s_general_values(&data);
    s_check_same_bits(&data, 0);
    csr_fini(&data);
}

//  0/1 features (mushrooms, a9a): the split's pass 2 adds phi'_t without the product by 1.0.
static void
test_unit_values(void **state)
{
    (void) state;
    csr_t data;
    assert_int_equal(data_synthetic(150, 400, 0.1, 2, 6, &data, NULL), MR_OK);
    for (size_t e = 0; e < data.nnz; e++)
        data.val[e] = 1.0;
    s_check_same_bits(&data, 1);
    csr_fini(&data);
}

//  A shard that starts inside a larger set (rowptr[0] > 0), with fewer rows than chunks' worth.
static void
test_view_and_tiny_shards(void **state)
{
    (void) state;
    csr_t data;
    assert_int_equal(data_synthetic(90, 50, 0.2, 2, 7, &data, NULL), MR_OK);
    s_general_values(&data);
    csr_t view = data;
    view.rowptr = data.rowptr + 17;
    view.y = data.y + 17;
    view.rows = data.rows - 17;
    assert_true(view.rowptr[0] > 0);
    s_check_same_bits(&view, 0);
    view.rows = 3;  // fewer rows than chunks: some chunks are empty
    s_check_same_bits(&view, 0);
    csr_fini(&data);
}

//  Rows that store one column twice: each column's terms stay in entry order.
static void
test_repeated_columns(void **state)
{
    (void) state;
    size_t rowptr[] = {0, 3, 5, 8};
    uint32_t col[] = {2, 0, 2, 1, 1, 2, 2, 0};
    double val[] = {0.5, -1.25, 3.0, 1e-3, 7.0, -2.0, 1e16, 0.75};
    double y[] = {1.0, -1.0, 1.0};
    csr_t data = {3, 4, 8, rowptr, col, val, y};
    s_check_same_bits(&data, 0);
}

//  Only a shard with lambda = 0 and enough entries is worth splitting; lambda > 0 is refused.
static void
test_worth_and_refusals(void **state)
{
    (void) state;
    csr_t small, big;
    assert_int_equal(data_synthetic(20, 40, 0.3, 2, 8, &small, NULL), MR_OK);
    assert_int_equal(data_synthetic(400, 200, 0.1, 2, 8, &big, NULL), MR_OK);
    loss_t l;
    assert_int_equal(loss_init(&l, LOSS_NONCONVEX, 0.0, &small, NULL), MR_OK);
    assert_false(loss_split_worth(&l));
    assert_int_equal(loss_init(&l, LOSS_NONCONVEX, 0.0, &big, NULL), MR_OK);
    assert_true(loss_split_worth(&l));
    assert_int_equal(loss_init(&l, LOSS_NONCONVEX, 0.1, &big, NULL), MR_OK);
    assert_false(loss_split_worth(&l));
    loss_split_t sp;
    mr_err_t err = {0};
    assert_int_equal(loss_split_init(&sp, &l, NULL, NULL, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "lambda"));
    loss_split_fini(&sp);
    csr_fini(&small);
    csr_fini(&big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_general_values),       cmocka_unit_test(test_unit_values),
        cmocka_unit_test(test_view_and_tiny_shards), cmocka_unit_test(test_repeated_columns),
        cmocka_unit_test(test_worth_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
