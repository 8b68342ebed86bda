//  loss_split.c - see loss_split.h. The column-major copy is built once (a stable counting sort of
//  the entries by support column, so each column's entries stay in row order); the chunks are cut
//  so that each holds about the same number of entries.
#include "loss_split.h"

#include <stdlib.h>
#include <string.h>

#include "loss_rows.h"

int
loss_split_worth(const loss_t *l)
{
    const csr_t *a = l->data;
    return l->lambda == 0.0 && a->rowptr[a->rows] - a->rowptr[0] >= LOSS_SPLIT_MIN_ENTRIES;
}

//  The index of column c in the increasing col[0..n) (c is one of them).
static size_t
s_find(const uint32_t *col, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (col[mid] <= c)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

//  cut[0..LOSS_SPLIT_CHUNKS] over the n items whose entries start at off[i] - off[0] (off has
//  n + 1 values): chunk c ends at the first item where about (c + 1) / CHUNKS of them start.
static void
s_cut(const size_t *off, size_t n, size_t *cut)
{
    size_t total = off[n] - off[0], i = 0;
    cut[0] = 0;
    for (int c = 1; c < LOSS_SPLIT_CHUNKS; c++) {
        size_t want = total / LOSS_SPLIT_CHUNKS * (size_t) c;
        while (i < n && off[i] - off[0] < want)
            i++;
        cut[c] = i;
    }
    cut[LOSS_SPLIT_CHUNKS] = n;
}

int
loss_split_init(loss_split_t *sp, const loss_t *l, loss_for_fn run, void *ctx, mr_err_t *err)
{
    *sp = (loss_split_t){0};
    if (l->lambda != 0.0)
        return mr_err_set(err, MR_EINVAL, "a split gradient needs lambda = 0 (got %g)", l->lambda);
    loss_support_t s;
    int rc = loss_support_init(&s, l, err);
    if (rc != MR_OK)
        return rc;
    const csr_t *a = l->data;
    size_t first = a->rowptr[0], nnz = a->rowptr[a->rows] - first;
    sp->loss = l;
    sp->run = run;
    sp->run_ctx = ctx;
    sp->col = s.col;  // the split keeps the support's array
    sp->ncols = s.n;
    sp->colptr = calloc(s.n + 1, sizeof *sp->colptr);
    sp->row = malloc((nnz ? nnz : 1) * sizeof *sp->row);
    sp->val = l->unit_values ? NULL : malloc((nnz ? nnz : 1) * sizeof *sp->val);
    sp->phi = malloc(a->rows * sizeof *sp->phi);
    sp->dphi = malloc(a->rows * sizeof *sp->dphi);
    size_t *next = malloc((s.n ? s.n : 1) * sizeof *next);
    uint32_t *slot = malloc((nnz ? nnz : 1) * sizeof *slot);  // each entry's support column
    if (!sp->colptr || !sp->row || (!l->unit_values && !sp->val) || !sp->phi || !sp->dphi ||
        !next || !slot) {
        free(next);
        free(slot);
        loss_split_fini(sp);
        return mr_err_set(err, MR_ENOMEM, "no memory to split the gradient of a %zu-entry shard",
                          nnz);
    }
    for (size_t e = 0; e < nnz; e++) {
        slot[e] = (uint32_t) s_find(sp->col, s.n, a->col[first + e]);
        sp->colptr[slot[e] + 1]++;
    }
    for (size_t k = 0; k < s.n; k++)
        sp->colptr[k + 1] += sp->colptr[k];
    memcpy(next, sp->colptr, s.n * sizeof *next);
    for (size_t t = 0; t < a->rows; t++) {
        for (size_t j = a->rowptr[t]; j < a->rowptr[t + 1]; j++) {
            size_t at = next[slot[j - first]]++;
            sp->row[at] = (uint32_t) t;
            if (sp->val)
                sp->val[at] = a->val[j];
        }
    }
    free(next);
    free(slot);
    s_cut(a->rowptr, a->rows, sp->row_cut);
    s_cut(sp->colptr, s.n, sp->col_cut);
    return MR_OK;
}

void
loss_split_fini(loss_split_t *sp)
{
    free(sp->col);
    free(sp->colptr);
    free(sp->row);
    free(sp->val);
    free(sp->phi);
    free(sp->dphi);
    *sp = (loss_split_t){0};
}

//  Pass 1, chunk c: phi_t and phi'_t of its rows, each row's dot summed as loss.c sums it.
static void
s_rows(void *arg, size_t c)
{
    loss_split_t *sp = arg;
    const loss_t *l = sp->loss;
    const csr_t *a = l->data;
    const double *x = sp->x;
    size_t t = sp->row_cut[c], end = sp->row_cut[c + 1];
    for (; t + S_LANES <= end; t += S_LANES) {
        double z[S_LANES];
        if (l->unit_values)
            s_row_dot_lanes_unit(a, t, x, z);
        else
            s_row_dot_lanes(a, t, x, z);
        for (int r = 0; r < S_LANES; r++)
            sp->phi[t + r] = s_phi(l->kind, z[r], a->y[t + r], &sp->dphi[t + r]);
    }
    for (; t < end; t++)
        sp->phi[t] = s_phi(l->kind, s_row_dot(a, t, x), a->y[t], &sp->dphi[t]);
}

//  Pass 2, chunk c: g_j of its support columns, the terms in row order, then the 1/m.
static void
s_cols(void *arg, size_t c)
{
    loss_split_t *sp = arg;
    double inv_m = 1.0 / (double) sp->loss->data->rows;
    const double *dphi = sp->dphi;
    const uint32_t *row = sp->row;
    for (size_t k = sp->col_cut[c]; k < sp->col_cut[c + 1]; k++) {
        double acc = 0.0;
        if (sp->val)
            for (size_t e = sp->colptr[k]; e < sp->colptr[k + 1]; e++)
                acc += dphi[row[e]] * sp->val[e];
        else
            for (size_t e = sp->colptr[k]; e < sp->colptr[k + 1]; e++)
                acc += dphi[row[e]];
        sp->g[sp->col[k]] = acc * inv_m;
    }
}

static void
s_for(loss_split_t *sp, loss_chunk_fn fn)
{
    if (sp->run) {
        sp->run(sp->run_ctx, fn, sp, LOSS_SPLIT_CHUNKS);
        return;
    }
    for (size_t c = 0; c < LOSS_SPLIT_CHUNKS; c++)
        fn(sp, c);
}

double
loss_split_value_grad(loss_split_t *sp, const vec_t *x, vec_t *grad)
{
    const csr_t *a = sp->loss->data;
    assert(x->dim == a->cols && grad->dim == a->cols);
    sp->x = x->x;
    sp->g = grad->x;
    s_for(sp, s_rows);
    double sum = 0.0;
    for (size_t t = 0; t < a->rows; t++)
        sum += sp->phi[t];
    s_for(sp, s_cols);
    sp->x = NULL;
    sp->g = NULL;
    return sum * (1.0 / (double) a->rows);
}
