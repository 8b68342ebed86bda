//  data.c - CSR data sets: slicing, the paper's split, the synthetic generators and the row
//  space; see data.h.
#include "data.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "rng.h"

//  The generator's own rng stream, apart from every actor's (rng.h): data and training
//  randomness stay independent even when they share the run's seed.
#define S_STREAM_DATA 0xDA7A5E7ull
//  The low-rank generator's stream: its sets share no draws with data_synthetic()'s.
#define S_STREAM_LOWRANK 0xDA7A10ull

//  Allocates the arrays of a csr_t for rows rows and nnz entries (at least one element each, so
//  that NULL always means failure). Returns MR_OK or MR_ENOMEM with out zeroed.
static int
s_csr_alloc(csr_t *out, size_t rows, size_t cols, size_t nnz)
{
    *out = (csr_t){0};
    out->rowptr = malloc((rows + 1) * sizeof *out->rowptr);
    out->col = malloc((nnz ? nnz : 1) * sizeof *out->col);
    out->val = malloc((nnz ? nnz : 1) * sizeof *out->val);
    out->y = malloc((rows ? rows : 1) * sizeof *out->y);
    if (!out->rowptr || !out->col || !out->val || !out->y) {
        csr_fini(out);
        return MR_ENOMEM;
    }
    out->rows = rows;
    out->cols = cols;
    out->nnz = nnz;
    out->rowptr[0] = 0;
    return MR_OK;
}

void
csr_fini(csr_t *a)
{
    free(a->rowptr);
    free(a->col);
    free(a->val);
    free(a->y);
    *a = (csr_t){0};
}

int
csr_slice(const csr_t *a, size_t begin, size_t end, csr_t *out)
{
    if (begin > end || end > a->rows)
        return MR_EINVAL;
    size_t first = a->rowptr[begin];
    size_t nnz = a->rowptr[end] - first;
    int rc = s_csr_alloc(out, end - begin, a->cols, nnz);
    if (rc != MR_OK)
        return rc;
    for (size_t t = begin; t <= end; t++)
        out->rowptr[t - begin] = a->rowptr[t] - first;
    if (nnz) {
        memcpy(out->col, a->col + first, nnz * sizeof *a->col);
        memcpy(out->val, a->val + first, nnz * sizeof *a->val);
    }
    if (end > begin)
        memcpy(out->y, a->y + begin, (end - begin) * sizeof *a->y);
    return MR_OK;
}

int
csr_split_part(const csr_t *a, size_t n, size_t i, csr_t *out, mr_err_t *err)
{
    if (n == 0 || i >= n)
        return mr_err_set(err, MR_EINVAL, "part %zu of %zu does not exist", i, n);
    if (a->rows < n)
        return mr_err_set(err, MR_EINVAL, "data set has %zu rows, fewer than the %zu workers",
                          a->rows, n);
    //  MARINA App. A.1.1: n equal parts of floor(N/n) rows; the N mod n last rows are dropped.
    size_t m = a->rows / n;
    int rc = csr_slice(a, i * m, (i + 1) * m, out);
    if (rc != MR_OK)
        return mr_err_set(err, rc, "cannot copy part %zu of %zu (%zu rows)", i, n, m);
    return MR_OK;
}

uint64_t
csr_fingerprint(const csr_t *a)
{
    uint64_t h = digest_u64(DIGEST_FNV_OFFSET, a->rows);
    h = digest_u64(h, a->cols);
    for (size_t t = 0; t < a->rows; t++) {
        h = digest_u64(h, a->rowptr[t + 1] - a->rowptr[t]);
        for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++) {
            unsigned char le[4];
            for (int k = 0; k < 4; k++)
                le[k] = (unsigned char) (a->col[j] >> (8 * k));
            h = digest_fnv1a(h, le, sizeof le);
            h = digest_f64(h, a->val[j]);
        }
        h = digest_f64(h, a->y[t]);
    }
    return h;
}

double
csr_max_row_norm_sq(const csr_t *a)
{
    double best = 0.0;
    for (size_t t = 0; t < a->rows; t++) {
        double s = 0.0;
        for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
            s += a->val[j] * a->val[j];
        if (s > best)
            best = s;
    }
    return best;
}

//  A growable CSR under construction (the generator does not know nnz in advance).
typedef struct {
    csr_t *a;
    size_t cap;  // room in a->col and a->val
} s_builder_t;

static int
s_builder_push(s_builder_t *b, uint32_t col, double val)
{
    csr_t *a = b->a;
    if (a->nnz == b->cap) {
        size_t cap = b->cap * 2;
        uint32_t *c = realloc(a->col, cap * sizeof *c);
        if (!c)
            return MR_ENOMEM;
        a->col = c;
        double *v = realloc(a->val, cap * sizeof *v);
        if (!v)
            return MR_ENOMEM;
        a->val = v;
        b->cap = cap;
    }
    a->col[a->nnz] = col;
    a->val[a->nnz] = val;
    a->nnz++;
    return MR_OK;
}

//  A row's score and index, ranked to assign labels.
typedef struct {
    double score;
    size_t row;
} s_rank_t;

static int
s_cmp_rank(const void *pa, const void *pb)
{
    const s_rank_t *a = pa;
    const s_rank_t *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    //  Ties by row index, so that the order (and the labels) never depend on qsort's choices.
    return (a->row > b->row) - (a->row < b->row);
}

//  Labels the m rows of rank (scores filled): the round(pos_share m) best, at least one and at
//  most m - 1, are positive, the others negative.
static void
s_label_by_rank(csr_t *a, s_rank_t *rank, size_t m, double pos_share)
{
    qsort(rank, m, sizeof *rank, s_cmp_rank);
    size_t pos = (size_t) lround(pos_share * (double) m);
    if (pos < 1)
        pos = 1;
    if (pos > m - 1)
        pos = m - 1;
    for (size_t j = 0; j < m; j++)
        a->y[rank[j].row] = j >= m - pos ? 1.0 : -1.0;
}

//  Fills rows [begin, end) of group g: features drawn from the group's column frequencies, scores
//  from the group's planted model plus noise, labels by rank so that a group-specific share of
//  rows (at least one, at most all but one) is positive.
static int
s_fill_group(s_builder_t *b,
             size_t begin,
             size_t end,
             const double *freq,
             const double *w,
             double pos_share,
             rng_t *r,
             s_rank_t *rank)
{
    csr_t *a = b->a;
    size_t features = a->cols - 1;
    //  Large and sparse: draw the gaps between candidate columns instead of one uniform per
    //  column (data.h): candidates come at the group's largest frequency q, each is kept with
    //  probability freq[j] / q, so column j is still in a row with probability freq[j].
    double q = 0.0;
    for (size_t j = 0; j < features; j++)
        q = fmax(q, freq[j]);
    int gaps = (double) a->rows * (double) features > DATA_SYNTH_DENSE_MAX && q <= 0.5;
    double log_miss = log1p(-q);
    for (size_t t = begin; t < end; t++) {
        double score = w[features];  // the bias column's weight
        for (size_t j = 0; !gaps && j < features; j++) {
            if (rng_uniform(r) < freq[j]) {
                if (s_builder_push(b, (uint32_t) j, 1.0) != MR_OK)
                    return MR_ENOMEM;
                score += w[j];
            }
        }
        //  The next candidate is 1 + floor(log(1 - u) / log(1 - q)) columns on (geometric).
        for (double next = -1.0; gaps;) {
            next += 1.0 + floor(log1p(-rng_uniform(r)) / log_miss);
            if (next >= (double) features)
                break;
            size_t j = (size_t) next;
            if (rng_uniform(r) < freq[j] / q) {
                if (s_builder_push(b, (uint32_t) j, 1.0) != MR_OK)
                    return MR_ENOMEM;
                score += w[j];
            }
        }
        if (s_builder_push(b, (uint32_t) features, 1.0) != MR_OK)
            return MR_ENOMEM;
        a->rowptr[t + 1] = a->nnz;
        //  Label noise: the planted model explains most, not all, of the labels.
        rank[t - begin].score = score + 0.5 * rng_normal(r);
        rank[t - begin].row = t;
    }
    s_label_by_rank(a, rank, end - begin, pos_share);
    return MR_OK;
}

int
data_synthetic(size_t rows,
               size_t cols,
               double density,
               size_t n_groups,
               uint64_t seed,
               csr_t *out,
               mr_err_t *err)
{
    *out = (csr_t){0};
    if (cols < 2 || cols > UINT32_MAX)
        return mr_err_set(err, MR_EINVAL, "synthetic data needs 2 <= cols <= 2^32-1, got %zu",
                          cols);
    if (!(density > 0.0 && density <= 1.0))
        return mr_err_set(err, MR_EINVAL, "synthetic density %g is outside (0, 1]", density);
    if (n_groups == 0 || rows < 2 * n_groups)
        return mr_err_set(err, MR_EINVAL,
                          "synthetic data needs at least 2 rows per group: %zu rows, %zu groups",
                          rows, n_groups);
    size_t features = cols - 1;
    rng_t r;
    rng_seed(&r, seed, S_STREAM_DATA);
    s_builder_t b = {out, 0};
    double *w0 = malloc(cols * sizeof *w0);
    double *w = malloc(cols * sizeof *w);
    double *freq = malloc(features * sizeof *freq);
    s_rank_t *rank = malloc((rows / n_groups + 1) * sizeof *rank);
    int rc = MR_ENOMEM;
    if (!w0 || !w || !freq || !rank)
        goto fail;
    b.cap = (size_t) ((double) rows * (density * (double) features + 1.0)) + 16;
    rc = s_csr_alloc(out, rows, cols, b.cap);
    if (rc != MR_OK)
        goto fail;
    out->nnz = 0;

    //  The shared part of the planted model; each group perturbs it by as much again, so the
    //  groups' optimal models differ (the heterogeneity MARINA's analysis allows for).
    for (size_t j = 0; j < cols; j++)
        w0[j] = rng_normal(&r) / sqrt(density * (double) features + 1.0);
    for (size_t g = 0; g < n_groups; g++) {
        for (size_t j = 0; j < cols; j++)
            w[j] = w0[j] + rng_normal(&r) / sqrt(density * (double) features + 1.0);
        //  Each group sees each feature with its own frequency, density times a factor in
        //  [0.2, 1.8] (mean 1), capped at 1: the feature profiles differ between groups too.
        for (size_t j = 0; j < features; j++)
            freq[j] = fmin(1.0, density * (0.2 + 1.6 * rng_uniform(&r)));
        double pos_share = 0.3 + 0.4 * rng_uniform(&r);
        size_t begin = g * rows / n_groups;
        size_t end = (g + 1) * rows / n_groups;
        rc = s_fill_group(&b, begin, end, freq, w, pos_share, &r, rank);
        if (rc != MR_OK)
            goto fail;
    }
    free(w0);
    free(w);
    free(freq);
    free(rank);
    return MR_OK;

fail:
    free(w0);
    free(w);
    free(freq);
    free(rank);
    csr_fini(out);
    return mr_err_set(err, rc, "out of memory generating %zu x %zu synthetic rows", rows, cols);
}

int
data_scale_columns(csr_t *a, double cond, mr_err_t *err)
{
    if (!(cond >= 1.0) || !isfinite(cond))
        return mr_err_set(err, MR_EINVAL, "column condition %g is not a finite number >= 1", cond);
    if (a->cols < 3 || cond == 1.0)
        return MR_OK;
    double span = (double) (a->cols - 2);
    for (size_t t = 0; t < a->nnz; t++)
        if (a->col[t] + 1 < a->cols)
            a->val[t] *= pow(cond, -(double) a->col[t] / (2.0 * span));
    return MR_OK;
}

int
data_synthetic_lowrank(size_t rows,
                       size_t cols,
                       size_t rank,
                       size_t n_groups,
                       uint64_t seed,
                       csr_t *out,
                       mr_err_t *err)
{
    *out = (csr_t){0};
    if (cols < 2 || cols > UINT32_MAX)
        return mr_err_set(err, MR_EINVAL, "synthetic data needs 2 <= cols <= 2^32-1, got %zu",
                          cols);
    size_t features = cols - 1;
    if (rank < 1 || rank > features)
        return mr_err_set(err, MR_EINVAL, "synthetic rank %zu is outside 1..%zu (the features)",
                          rank, features);
    if (n_groups == 0 || rows < 2 * n_groups)
        return mr_err_set(err, MR_EINVAL,
                          "synthetic data needs at least 2 rows per group: %zu rows, %zu groups",
                          rows, n_groups);
    if (rows > SIZE_MAX / cols)
        return mr_err_set(err, MR_EINVAL, "%zu x %zu dense synthetic rows do not fit", rows, cols);
    rng_t r;
    rng_seed(&r, seed, S_STREAM_LOWRANK);
    double *v = malloc(rank * features * sizeof *v);  // the rank directions, row l at v[l f ..)
    double *mean = malloc(rank * sizeof *mean);       // a group's mean coefficients
    double *c = malloc(rank * sizeof *c);             // one row's coefficients
    double *w0 = malloc(cols * sizeof *w0);
    double *w = malloc(cols * sizeof *w);
    s_rank_t *ranked = malloc((rows / n_groups + 1) * sizeof *ranked);
    int rc = MR_ENOMEM;
    if (!v || !mean || !c || !w0 || !w || !ranked)
        goto fail;
    rc = s_csr_alloc(out, rows, cols, rows * cols);
    if (rc != MR_OK)
        goto fail;

    //  Entries N(0, 1/features): the directions are nearly orthonormal, so a row's features have
    //  squared norm about |c|^2 ~ rank and the nonzero spectrum of A^T A / rows is well
    //  conditioned (a test problem for methods, not for conditioning).
    for (size_t t = 0; t < rank * features; t++)
        v[t] = rng_normal(&r) / sqrt((double) features);
    //  The planted model, a shared part and a per-group perturbation of the same size (as in
    //  data_synthetic()), N(0, 1/rank) entries: a row's score has variance about 1.
    for (size_t j = 0; j < cols; j++)
        w0[j] = rng_normal(&r) / sqrt((double) rank);
    for (size_t g = 0; g < n_groups; g++) {
        for (size_t j = 0; j < cols; j++)
            w[j] = w0[j] + rng_normal(&r) / sqrt((double) rank);
        //  Group means of the coefficients: the groups' features differ (heterogeneity), kept
        //  small so that the bias column stays far from the span of the features.
        for (size_t l = 0; l < rank; l++)
            mean[l] = 0.25 * rng_normal(&r);
        double pos_share = 0.3 + 0.4 * rng_uniform(&r);
        size_t begin = g * rows / n_groups;
        size_t end = (g + 1) * rows / n_groups;
        for (size_t t = begin; t < end; t++) {
            for (size_t l = 0; l < rank; l++)
                c[l] = mean[l] + rng_normal(&r);
            double score = w[features];  // the bias column's weight
            size_t at = t * cols;
            for (size_t j = 0; j < features; j++) {
                double x = 0.0;
                for (size_t l = 0; l < rank; l++)
                    x += c[l] * v[l * features + j];
                out->col[at + j] = (uint32_t) j;
                out->val[at + j] = x;
                score += w[j] * x;
            }
            out->col[at + features] = (uint32_t) features;
            out->val[at + features] = 1.0;
            out->rowptr[t + 1] = at + cols;
            ranked[t - begin].score = score + 0.5 * rng_normal(&r);
            ranked[t - begin].row = t;
        }
        s_label_by_rank(out, ranked, end - begin, pos_share);
    }
    free(v);
    free(mean);
    free(c);
    free(w0);
    free(w);
    free(ranked);
    return MR_OK;

fail:
    free(v);
    free(mean);
    free(c);
    free(w0);
    free(w);
    free(ranked);
    csr_fini(out);
    return mr_err_set(err, rc, "out of memory generating %zu x %zu synthetic rows", rows, cols);
}

static double
s_dot(const double *a, const double *b, size_t n)
{
    double acc = 0.0;
    for (size_t t = 0; t < n; t++)
        acc += a[t] * b[t];
    return acc;
}

//  One modified Gram-Schmidt pass: v -= <b_l, v> b_l for each of the k basis vectors in turn.
static void
s_mgs_pass(const double *basis, size_t k, size_t d, double *v)
{
    for (size_t l = 0; l < k; l++) {
        const double *bl = basis + l * d;
        double c = s_dot(bl, v, d);
        for (size_t t = 0; t < d; t++)
            v[t] -= c * bl[t];
    }
}

int
data_row_space(const csr_t *a, double tol, double **q_out, size_t *rank_out, mr_err_t *err)
{
    *q_out = NULL;
    *rank_out = 0;
    if (!(tol > 0.0 && tol < 1.0))
        return mr_err_set(err, MR_EINVAL, "row space tolerance %g is outside (0, 1)", tol);
    size_t d = a->cols, k = 0, cap = 0;
    double *basis = NULL;  // the k basis vectors found so far, vector l at basis[l d ..)
    double *v = malloc((d ? d : 1) * sizeof *v);
    if (!v)
        goto nomem;
    for (size_t t = 0; t < a->rows && k < d; t++) {
        memset(v, 0, d * sizeof *v);
        for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++)
            v[a->col[j]] = a->val[j];
        double norm0 = sqrt(s_dot(v, v, d));
        if (norm0 == 0.0)
            continue;
        //  The first pass decides most rows: a dependent row's residual is then at the level of
        //  rounding (k eps |a_t|), far below tol |a_t|; the second pass only keeps the basis
        //  orthonormal to working precision when a new direction is found.
        s_mgs_pass(basis, k, d, v);
        if (sqrt(s_dot(v, v, d)) <= tol * norm0)
            continue;
        s_mgs_pass(basis, k, d, v);
        double norm = sqrt(s_dot(v, v, d));
        if (norm <= tol * norm0)
            continue;
        if (k == cap) {
            size_t grow = cap ? 2 * cap : 16;
            if (grow > d)
                grow = d;
            double *b = realloc(basis, grow * d * sizeof *b);
            if (!b)
                goto nomem;
            basis = b;
            cap = grow;
        }
        for (size_t j = 0; j < d; j++)
            basis[k * d + j] = v[j] / norm;
        k++;
    }
    free(v);
    v = NULL;
    if (k > 0) {
        double *q = malloc(d * k * sizeof *q);
        if (!q)
            goto nomem;
        for (size_t t = 0; t < d; t++)
            for (size_t j = 0; j < k; j++)
                q[t * k + j] = basis[j * d + t];
        *q_out = q;
    }
    free(basis);
    *rank_out = k;
    return MR_OK;

nomem:
    free(v);
    free(basis);
    return mr_err_set(err, MR_ENOMEM, "out of memory for the row space of %zu x %zu data", a->rows,
                      d);
}
