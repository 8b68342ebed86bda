//  data_transform.c - see data_transform.h.
#include "data_transform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

//  out = a copy of a's rows in the order perm[0..rows) (perm NULL: the same order).
static int
s_copy_rows(const csr_t *a, const size_t *perm, csr_t *out, mr_err_t *err)
{
    *out = (csr_t){0};
    out->rowptr = malloc((a->rows + 1) * sizeof *out->rowptr);
    out->col = malloc((a->nnz ? a->nnz : 1) * sizeof *out->col);
    out->val = malloc((a->nnz ? a->nnz : 1) * sizeof *out->val);
    out->y = malloc((a->rows ? a->rows : 1) * sizeof *out->y);
    if (!out->rowptr || !out->col || !out->val || !out->y) {
        csr_fini(out);
        return mr_err_set(err, MR_ENOMEM, "out of memory copying %zu rows", a->rows);
    }
    out->rows = a->rows;
    out->cols = a->cols;
    out->nnz = a->nnz;
    out->rowptr[0] = 0;
    for (size_t t = 0; t < a->rows; t++) {
        size_t src = perm ? perm[t] : t;
        size_t begin = a->rowptr[src], len = a->rowptr[src + 1] - begin;
        size_t at = out->rowptr[t];
        if (len) {
            memcpy(out->col + at, a->col + begin, len * sizeof *a->col);
            memcpy(out->val + at, a->val + begin, len * sizeof *a->val);
        }
        out->rowptr[t + 1] = at + len;
        out->y[t] = a->y[src];
    }
    return MR_OK;
}

int
csr_normalize_rows(const csr_t *a, csr_t *out, mr_err_t *err)
{
    int rc = s_copy_rows(a, NULL, out, err);
    if (rc != MR_OK)
        return rc;
    for (size_t t = 0; t < out->rows; t++) {
        double s = 0.0;
        for (size_t j = out->rowptr[t]; j < out->rowptr[t + 1]; j++)
            s += out->val[j] * out->val[j];
        if (s == 0.0)
            continue;
        double inv = 1.0 / sqrt(s);
        for (size_t j = out->rowptr[t]; j < out->rowptr[t + 1]; j++)
            out->val[j] *= inv;
    }
    return MR_OK;
}

int
csr_shuffle_rows(const csr_t *a, rng_t *rng, csr_t *out, mr_err_t *err)
{
    size_t *perm = malloc((a->rows ? a->rows : 1) * sizeof *perm);
    if (!perm)
        return mr_err_set(err, MR_ENOMEM, "out of memory shuffling %zu rows", a->rows);
    for (size_t t = 0; t < a->rows; t++)
        perm[t] = t;
    for (size_t t = a->rows; t > 1; t--) {
        size_t j = (size_t) rng_below(rng, t);
        size_t tmp = perm[t - 1];
        perm[t - 1] = perm[j];
        perm[j] = tmp;
    }
    int rc = s_copy_rows(a, perm, out, err);
    free(perm);
    return rc;
}

int
csr_flip_labels(const csr_t *a, csr_t *out, mr_err_t *err)
{
    int rc = s_copy_rows(a, NULL, out, err);
    if (rc != MR_OK)
        return rc;
    for (size_t t = 0; t < out->rows; t++)
        out->y[t] = -out->y[t];
    return MR_OK;
}
