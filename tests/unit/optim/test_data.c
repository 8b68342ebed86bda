//  test_data.c - data.h: slicing, the paper's split, the synthetic generators and the row space.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "data.h"
#include "digest.h"
#include "test_util.h"

//  A 7 x 3 set where row t holds (t+1) in column t % 2 and 1 in the bias column 2, label (-1)^t.
static void
s_small(csr_t *a)
{
    a->rows = 7;
    a->cols = 3;
    a->nnz = 14;
    a->rowptr = malloc(8 * sizeof *a->rowptr);
    a->col = malloc(14 * sizeof *a->col);
    a->val = malloc(14 * sizeof *a->val);
    a->y = malloc(7 * sizeof *a->y);
    assert_true(a->rowptr && a->col && a->val && a->y);
    for (size_t t = 0; t < 7; t++) {
        a->rowptr[t] = 2 * t;
        a->col[2 * t] = (uint32_t) (t % 2);
        a->val[2 * t] = (double) t + 1.0;
        a->col[2 * t + 1] = 2;
        a->val[2 * t + 1] = 1.0;
        a->y[t] = t % 2 ? -1.0 : 1.0;
    }
    a->rowptr[7] = 14;
}

static void
test_slice_copies_rows_and_rebases_offsets(void **state)
{
    csr_t a, s;
    s_small(&a);
    assert_int_equal(csr_slice(&a, 2, 5, &s), MR_OK);
    assert_int_equal(s.rows, 3);
    assert_int_equal(s.cols, 3);
    assert_int_equal(s.nnz, 6);
    for (size_t t = 0; t < 3; t++) {
        assert_int_equal(s.rowptr[t], 2 * t);
        assert_int_equal(s.col[2 * t], (t + 2) % 2);
        assert_near(s.val[2 * t], t + 3.0, 0);
        assert_near(s.y[t], a.y[t + 2], 0);
    }
    assert_int_equal(s.rowptr[3], 6);
    csr_fini(&s);
    csr_fini(&s);  // safe twice

    assert_int_equal(csr_slice(&a, 4, 4, &s), MR_OK);  // empty slice
    assert_int_equal(s.rows, 0);
    assert_int_equal(s.nnz, 0);
    csr_fini(&s);
    assert_int_equal(csr_slice(&a, 5, 4, &s), MR_EINVAL);
    assert_int_equal(csr_slice(&a, 0, 8, &s), MR_EINVAL);
    csr_fini(&a);
}

//  The fingerprint follows docs/protocol.md byte for byte (recomputed here from the spec with
//  digest.h), and one changed value, label or column changes it.
static void
test_fingerprint_follows_the_spec_and_sees_one_bit(void **state)
{
    csr_t a;
    s_small(&a);
    uint64_t h = digest_u64(DIGEST_FNV_OFFSET, a.rows);
    h = digest_u64(h, a.cols);
    for (size_t t = 0; t < a.rows; t++) {
        h = digest_u64(h, a.rowptr[t + 1] - a.rowptr[t]);
        for (size_t j = a.rowptr[t]; j < a.rowptr[t + 1]; j++) {
            unsigned char le[4] = {(unsigned char) a.col[j], (unsigned char) (a.col[j] >> 8),
                                   (unsigned char) (a.col[j] >> 16),
                                   (unsigned char) (a.col[j] >> 24)};
            h = digest_f64(digest_fnv1a(h, le, 4), a.val[j]);
        }
        h = digest_f64(h, a.y[t]);
    }
    uint64_t fp = csr_fingerprint(&a);
    assert_true(fp == h);
    a.val[3] = nextafter(a.val[3], 1e9);
    assert_true(csr_fingerprint(&a) != fp);
    a.val[3] = nextafter(a.val[3], -1e9);
    assert_true(csr_fingerprint(&a) == fp);
    a.y[0] = -a.y[0];
    assert_true(csr_fingerprint(&a) != fp);
    a.y[0] = -a.y[0];
    a.col[0] ^= 1;
    assert_true(csr_fingerprint(&a) != fp);
    csr_fini(&a);
}

static void
test_split_gives_equal_parts_and_drops_remainder(void **state)
{
    csr_t a, part;
    s_small(&a);
    //  7 rows, 3 workers: floor(7/3) = 2 rows each, row 6 belongs to nobody.
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(csr_split_part(&a, 3, i, &part, NULL), MR_OK);
        assert_int_equal(part.rows, 2);
        assert_near(part.val[0], 2.0 * i + 1.0, 0);  // first row of part i is row 2i
        csr_fini(&part);
    }
    assert_int_equal(csr_split_part(&a, 7, 6, &part, NULL), MR_OK);
    assert_int_equal(part.rows, 1);
    csr_fini(&part);

    mr_err_t err;
    assert_int_equal(csr_split_part(&a, 8, 0, &part, &err), MR_EINVAL);
    assert_int_equal(err.rc, MR_EINVAL);
    assert_non_null(strstr(err.text, "rows"));
    assert_int_equal(csr_split_part(&a, 3, 3, &part, &err), MR_EINVAL);
    assert_int_equal(csr_split_part(&a, 0, 0, &part, &err), MR_EINVAL);
    csr_fini(&a);
}

static void
test_max_row_norm_sq(void **state)
{
    csr_t a;
    s_small(&a);
    assert_near(csr_max_row_norm_sq(&a), 7.0 * 7.0 + 1.0, 0);  // row 6: (7, 0, 1)
    csr_fini(&a);
}

//  Checks the CSR invariants data.h promises for a synthetic set.
static void
s_check_synthetic_shape(const csr_t *a)
{
    assert_int_equal(a->rowptr[0], 0);
    assert_int_equal(a->rowptr[a->rows], a->nnz);
    for (size_t t = 0; t < a->rows; t++) {
        size_t b = a->rowptr[t], e = a->rowptr[t + 1];
        assert_true(e > b);
        for (size_t j = b; j + 1 < e; j++)
            assert_true(a->col[j] < a->col[j + 1]);
        assert_int_equal(a->col[e - 1], a->cols - 1);  // the bias column, last
        assert_near(a->val[e - 1], 1.0, 0);
        assert_true(a->y[t] == 1.0 || a->y[t] == -1.0);
    }
}

static void
test_synthetic_is_deterministic(void **state)
{
    csr_t a, b, c;
    assert_int_equal(data_synthetic(400, 30, 0.2, 4, 99, &a, NULL), MR_OK);
    assert_int_equal(data_synthetic(400, 30, 0.2, 4, 99, &b, NULL), MR_OK);
    assert_int_equal(data_synthetic(400, 30, 0.2, 4, 100, &c, NULL), MR_OK);
    s_check_synthetic_shape(&a);
    assert_int_equal(a.nnz, b.nnz);
    assert_memory_equal(a.rowptr, b.rowptr, (a.rows + 1) * sizeof *a.rowptr);
    assert_memory_equal(a.col, b.col, a.nnz * sizeof *a.col);
    assert_memory_equal(a.val, b.val, a.nnz * sizeof *a.val);
    assert_memory_equal(a.y, b.y, a.rows * sizeof *a.y);
    //  Another seed gives another set (the chance that 400 rows coincide is nil).
    assert_true(a.nnz != c.nnz || memcmp(a.col, c.col, a.nnz * sizeof *a.col) != 0);
    csr_fini(&a);
    csr_fini(&b);
    csr_fini(&c);
}

static void
test_synthetic_density_is_close_to_requested(void **state)
{
    csr_t a;
    //  Column frequencies average density (factors uniform on [0.2, 1.8], capped at 1 only
    //  above density 0.55), so non-bias nnz per row ~ 0.2 * 112 = 22.4. With 20 groups the
    //  factor average has sd ~ 0.46 / sqrt(20 * 112) ~ 0.01: allow 10%.
    assert_int_equal(data_synthetic(4000, 113, 0.2, 20, 5, &a, NULL), MR_OK);
    s_check_synthetic_shape(&a);
    double per_row = (double) (a.nnz - a.rows) / (double) a.rows;
    assert_near(per_row, 22.4, 2.24);
    csr_fini(&a);
}

static void
test_synthetic_large_and_sparse_draws_the_gaps(void **state)
{
    //  2000 rows x 6e5 features is past DATA_SYNTH_DENSE_MAX (row, feature) pairs: the generator
    //  draws the gaps between non-zeros. Each row still holds column j with probability freq[j]:
    //  about density x features = 30 non-bias entries a row (the factors average 1 over 6e5
    //  columns). Per row the count has sd ~ sqrt(30) ~ 5.5, so over 2000 rows the mean has sd
    //  ~ 0.12; allow 1.0. Without the thinning by freq[j] / q every row would hold ~ q x features
    //  ~ 54; a gap counted from the wrong column would break the increasing columns.
    size_t rows = 2000, cols = 600001;
    double density = 30.0 / (double) (cols - 1);
    assert_true((double) rows * (double) (cols - 1) > DATA_SYNTH_DENSE_MAX);
    csr_t a, b;
    assert_int_equal(data_synthetic(rows, cols, density, 4, 7, &a, NULL), MR_OK);
    s_check_synthetic_shape(&a);
    double per_row = (double) (a.nnz - a.rows) / (double) a.rows;
    assert_near(per_row, 30.0, 1.0);
    //  Columns spread over the whole range, not only its start.
    size_t high = 0;
    for (size_t t = 0; t < a.nnz; t++)
        high += a.col[t] >= (cols - 1) / 2 && a.col[t] < cols - 1;
    assert_near((double) high / (double) (a.nnz - a.rows), 0.5, 0.05);
    assert_int_equal(data_synthetic(rows, cols, density, 4, 7, &b, NULL), MR_OK);
    assert_int_equal(a.nnz, b.nnz);
    assert_memory_equal(a.col, b.col, a.nnz * sizeof *a.col);
    assert_memory_equal(a.y, b.y, a.rows * sizeof *a.y);
    csr_fini(&a);
    csr_fini(&b);
}

static void
test_synthetic_groups_have_both_labels(void **state)
{
    //  Tiny groups are the hard case: 2 rows per group still get one label of each.
    size_t shapes[][2] = {{10, 5}, {1000, 5}, {999, 7}};
    for (size_t s = 0; s < 3; s++) {
        size_t rows = shapes[s][0], groups = shapes[s][1];
        csr_t a;
        assert_int_equal(data_synthetic(rows, 20, 0.3, groups, s, &a, NULL), MR_OK);
        s_check_synthetic_shape(&a);
        for (size_t g = 0; g < groups; g++) {
            int pos = 0, neg = 0;
            for (size_t t = g * rows / groups; t < (g + 1) * rows / groups; t++) {
                pos += a.y[t] > 0;
                neg += a.y[t] < 0;
            }
            assert_true(pos > 0 && neg > 0);
        }
        csr_fini(&a);
    }
}

static void
test_synthetic_groups_differ(void **state)
{
    //  4 groups of 1000 rows, 50 features at density 0.3. The mean of a 0/1 feature over a
    //  group has sd <= 0.5 / sqrt(1000), so two groups' means differ by noise alone with sd
    //  <= 0.5 sqrt(2/1000) ~ 0.022. Demand, for every pair, some feature whose means differ by
    //  more than 6 such sd (0.134): homogeneous groups would essentially never get there, while
    //  the per-group frequency factors (uniform on [0.2, 1.8]) give differences up to ~0.45.
    enum {
        G = 4,
        F = 50
    };
    csr_t a;
    assert_int_equal(data_synthetic(4000, F + 1, 0.3, G, 21, &a, NULL), MR_OK);
    double mean[G][F] = {{0}};
    for (size_t g = 0; g < G; g++) {
        for (size_t t = g * 1000; t < (g + 1) * 1000; t++)
            for (size_t j = a.rowptr[t]; j < a.rowptr[t + 1]; j++)
                if (a.col[j] < F)
                    mean[g][a.col[j]] += a.val[j] / 1000.0;
    }
    for (size_t g = 0; g < G; g++) {
        for (size_t h = g + 1; h < G; h++) {
            double best = 0.0;
            for (size_t j = 0; j < F; j++)
                best = fmax(best, fabs(mean[g][j] - mean[h][j]));
            assert_true(best > 0.134);
        }
    }
    csr_fini(&a);
}

static void
test_synthetic_rejects_bad_shapes(void **state)
{
    csr_t a;
    mr_err_t err;
    assert_int_equal(data_synthetic(10, 1, 0.5, 1, 0, &a, &err), MR_EINVAL);  // no feature
    assert_int_equal(data_synthetic(10, 5, 0.0, 1, 0, &a, &err), MR_EINVAL);
    assert_int_equal(data_synthetic(10, 5, 1.5, 1, 0, &a, &err), MR_EINVAL);
    assert_int_equal(data_synthetic(10, 5, NAN, 1, 0, &a, &err), MR_EINVAL);
    assert_int_equal(data_synthetic(9, 5, 0.5, 5, 0, &a, &err), MR_EINVAL);  // < 2 rows/group
    assert_int_equal(data_synthetic(9, 5, 0.5, 0, 0, &a, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "group"));
}

static void
test_lowrank_is_deterministic_dense_and_labelled(void **state)
{
    csr_t a, b, c;
    assert_int_equal(data_synthetic_lowrank(300, 25, 4, 3, 7, &a, NULL), MR_OK);
    assert_int_equal(data_synthetic_lowrank(300, 25, 4, 3, 7, &b, NULL), MR_OK);
    assert_int_equal(data_synthetic_lowrank(300, 25, 4, 3, 8, &c, NULL), MR_OK);
    s_check_synthetic_shape(&a);
    assert_int_equal(a.nnz, 300 * 25);  // dense: every feature plus the bias
    assert_memory_equal(a.val, b.val, a.nnz * sizeof *a.val);
    assert_memory_equal(a.y, b.y, a.rows * sizeof *a.y);
    assert_true(memcmp(a.val, c.val, a.nnz * sizeof *a.val) != 0);
    for (size_t g = 0; g < 3; g++) {
        int pos = 0, neg = 0;
        for (size_t t = g * 100; t < (g + 1) * 100; t++) {
            pos += a.y[t] > 0;
            neg += a.y[t] < 0;
        }
        assert_true(pos > 0 && neg > 0);
    }
    csr_fini(&a);
    csr_fini(&b);
    csr_fini(&c);
}

static void
test_lowrank_rejects_bad_shapes(void **state)
{
    csr_t a;
    mr_err_t err;
    assert_int_equal(data_synthetic_lowrank(100, 10, 0, 1, 0, &a, &err), MR_EINVAL);
    assert_int_equal(data_synthetic_lowrank(100, 10, 10, 1, 0, &a, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "rank"));
    assert_int_equal(data_synthetic_lowrank(9, 10, 3, 5, 0, &a, &err), MR_EINVAL);
    assert_int_equal(data_synthetic_lowrank(10, 1, 1, 1, 0, &a, &err), MR_EINVAL);
}

//  data_scale_columns(): feature column j is multiplied by cond^(-j/(2(cols-2))) and nothing
//  else changes, so the squared scale of the first feature is cond times that of the last; the
//  bias column, the labels and the sparsity pattern stay; cond = 1 is the identity; bad conds fail.
static void
test_scale_columns_spreads_the_coordinate_smoothness(void **state)
{
    (void) state;
    csr_t a, b;
    mr_err_t err;
    const size_t cols = 21;
    const double cond = 1e4;
    assert_int_equal(data_synthetic_lowrank(200, cols, 20, 1, 3, &a, NULL), MR_OK);
    assert_int_equal(data_synthetic_lowrank(200, cols, 20, 1, 3, &b, NULL), MR_OK);
    assert_int_equal(data_scale_columns(&b, 1.0, &err), MR_OK);
    assert_memory_equal(a.val, b.val, a.nnz * sizeof *a.val);
    assert_int_equal(data_scale_columns(&b, cond, &err), MR_OK);
    assert_int_equal(a.nnz, b.nnz);
    assert_memory_equal(a.col, b.col, a.nnz * sizeof *a.col);
    assert_memory_equal(a.y, b.y, a.rows * sizeof *a.y);
    double sq_a[21] = {0}, sq_b[21] = {0};
    for (size_t t = 0; t < a.nnz; t++) {
        size_t j = a.col[t];
        double want = j + 1 == cols ? a.val[t] : a.val[t] * pow(cond, -(double) j / 38.0);
        assert_near(b.val[t], want, 1e-15 * (1.0 + fabs(want)));
        sq_a[j] += a.val[t] * a.val[t];
        sq_b[j] += b.val[t] * b.val[t];
    }
    //  The diagonal of A^T A: first over last feature is cond times what it was; the bias's stays.
    assert_near((sq_b[0] / sq_b[cols - 2]) / (sq_a[0] / sq_a[cols - 2]), cond, 1e-9 * cond);
    assert_near(sq_b[cols - 1], sq_a[cols - 1], 1e-12 * sq_a[cols - 1]);
    assert_int_equal(data_scale_columns(&b, 0.5, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "0.5"));
    assert_int_equal(data_scale_columns(&b, NAN, &err), MR_EINVAL);
    assert_int_equal(data_scale_columns(&b, INFINITY, &err), MR_EINVAL);
    csr_fini(&a);
    csr_fini(&b);
}

//  Checks the contract of data_row_space(a, tol): Q^T Q = I to 1e-12 (the second Gram-Schmidt
//  pass keeps it at a few eps), and every row within tol |a_t| of span(Q) (plus r d eps for the
//  rounding of the check itself, far below).
static void
s_check_row_space(const csr_t *a, double tol, const double *q, size_t r)
{
    size_t d = a->cols;
    for (size_t j = 0; j < r; j++) {
        for (size_t l = 0; l < r; l++) {
            double dot = 0.0;
            for (size_t t = 0; t < d; t++)
                dot += q[t * r + j] * q[t * r + l];
            assert_near(dot, j == l ? 1.0 : 0.0, 1e-12);
        }
    }
    double *v = malloc(d * sizeof *v), *c = malloc((r ? r : 1) * sizeof *c);
    assert_true(v && c);
    for (size_t t = 0; t < a->rows; t++) {
        memset(v, 0, d * sizeof *v);
        for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
            v[a->col[j]] = a->val[j];
        double norm = 0.0, res = 0.0;
        for (size_t l = 0; l < r; l++) {
            c[l] = 0.0;
            for (size_t u = 0; u < d; u++)
                c[l] += q[u * r + l] * v[u];
        }
        for (size_t u = 0; u < d; u++) {
            double p = 0.0;
            for (size_t l = 0; l < r; l++)
                p += q[u * r + l] * c[l];
            res += (v[u] - p) * (v[u] - p);
            norm += v[u] * v[u];
        }
        assert_true(sqrt(res) <= tol * sqrt(norm) + 1e-14 * sqrt(norm));
    }
    free(v);
    free(c);
}

static void
test_row_space_is_orthonormal_and_finds_the_planted_rank(void **state)
{
    //  rank feature directions plus the bias column: rank + 1.
    size_t ranks[] = {1, 5, 12};
    for (size_t s = 0; s < 3; s++) {
        csr_t a;
        assert_int_equal(data_synthetic_lowrank(600, 40, ranks[s], 3, s + 1, &a, NULL), MR_OK);
        double *q;
        size_t r;
        assert_int_equal(data_row_space(&a, 1e-10, &q, &r, NULL), MR_OK);
        assert_int_equal(r, ranks[s] + 1);
        s_check_row_space(&a, 1e-10, q, r);
        free(q);
        csr_fini(&a);
    }
    //  A sparse full-rank set: 400 rows of d = 30 span R^30.
    csr_t a;
    assert_int_equal(data_synthetic(400, 30, 0.2, 4, 99, &a, NULL), MR_OK);
    double *q;
    size_t r;
    assert_int_equal(data_row_space(&a, 1e-10, &q, &r, NULL), MR_OK);
    assert_int_equal(r, 30);
    s_check_row_space(&a, 1e-10, q, r);
    free(q);
    csr_fini(&a);
}

static void
test_row_space_of_a_small_dependent_set(void **state)
{
    //  Rows (1, 2, 0), (2, 4, 0), (0, 0, 3), (0, 0, 0): span{(1, 2, 0)/sqrt 5, e_3}, found in
    //  row order with positive signs.
    csr_t a = {0};
    a.rows = 4;
    a.cols = 3;
    a.nnz = 5;
    size_t rowptr[] = {0, 2, 4, 5, 5};
    uint32_t col[] = {0, 1, 0, 1, 2};
    double val[] = {1, 2, 2, 4, 3}, y[] = {1, -1, 1, -1};
    a.rowptr = rowptr;
    a.col = col;
    a.val = val;
    a.y = y;
    double *q;
    size_t r;
    assert_int_equal(data_row_space(&a, 1e-10, &q, &r, NULL), MR_OK);
    assert_int_equal(r, 2);
    double expect[3][2] = {{1 / sqrt(5.0), 0}, {2 / sqrt(5.0), 0}, {0, 1}};
    for (size_t t = 0; t < 3; t++)
        for (size_t j = 0; j < 2; j++)
            assert_near(q[t * 2 + j], expect[t][j], 1e-15);
    free(q);
    //  Only the zero row: rank 0, no basis.
    a.rows = 1;
    a.rowptr = rowptr + 3;
    assert_int_equal(data_row_space(&a, 1e-10, &q, &r, NULL), MR_OK);
    assert_int_equal(r, 0);
    assert_null(q);
    mr_err_t err;
    assert_int_equal(data_row_space(&a, 0.0, &q, &r, &err), MR_EINVAL);
    assert_int_equal(data_row_space(&a, 1.0, &q, &r, &err), MR_EINVAL);
    assert_int_equal(data_row_space(&a, NAN, &q, &r, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "tolerance"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_copies_rows_and_rebases_offsets),
        cmocka_unit_test(test_split_gives_equal_parts_and_drops_remainder),
        cmocka_unit_test(test_fingerprint_follows_the_spec_and_sees_one_bit),
        cmocka_unit_test(test_max_row_norm_sq),
        cmocka_unit_test(test_synthetic_is_deterministic),
        cmocka_unit_test(test_synthetic_density_is_close_to_requested),
        cmocka_unit_test(test_synthetic_large_and_sparse_draws_the_gaps),
        cmocka_unit_test(test_synthetic_groups_have_both_labels),
        cmocka_unit_test(test_synthetic_groups_differ),
        cmocka_unit_test(test_synthetic_rejects_bad_shapes),
        cmocka_unit_test(test_lowrank_is_deterministic_dense_and_labelled),
        cmocka_unit_test(test_lowrank_rejects_bad_shapes),
        cmocka_unit_test(test_scale_columns_spreads_the_coordinate_smoothness),
        cmocka_unit_test(test_row_space_is_orthonormal_and_finds_the_planted_rank),
        cmocka_unit_test(test_row_space_of_a_small_dependent_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
