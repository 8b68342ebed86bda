//  fuzz_libsvm.c - libFuzzer target for the LibSVM reader (libsvm_read_buffer(): the same parser
//  as libsvm_read() without the file). The first byte picks add_bias (bit 0) and min_cols (bits
//  1-3), the rest is the file. An accepted file must give a well-formed csr_t: rowptr increasing
//  from 0 to nnz, columns strictly increasing within a row and below cols, finite values, labels
//  -1 or +1, and the bias column (when asked for) last in every row with value 1.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libsvm.h"

static void
s_check(int ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_libsvm: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int add_bias = data[0] & 1;
    size_t min_cols = (data[0] >> 1) & 7;
    data++, size--;
    csr_t m;
    mr_err_t err = {MR_OK, ""};
    int rc =
        libsvm_read_buffer((const char *) data, size, "fuzz.svm", add_bias, min_cols, &m, &err);
    if (rc != MR_OK) {
        s_check(err.rc == rc, "err.rc differs from the return code");
        s_check(strncmp(err.text, "fuzz.svm", 8) == 0, "the error does not name the file");
        for (const char *p = err.text; *p; p++)
            s_check((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f,
                    "the error echoes a byte that is not printable ASCII");
        return 0;
    }
    s_check(m.rows >= 1, "no rows accepted");
    s_check(m.cols >= min_cols, "fewer columns than min_cols");
    s_check(m.rowptr[0] == 0 && m.rowptr[m.rows] == m.nnz, "rowptr does not span nnz");
    for (size_t r = 0; r < m.rows; r++) {
        s_check(m.rowptr[r] <= m.rowptr[r + 1], "rowptr decreases");
        s_check(m.y[r] == -1.0 || m.y[r] == 1.0, "a label is not -1/+1");
        for (size_t j = m.rowptr[r]; j < m.rowptr[r + 1]; j++) {
            s_check(m.col[j] < m.cols, "a column outside cols");
            s_check(j == m.rowptr[r] || m.col[j] > m.col[j - 1], "columns not increasing");
            s_check(isfinite(m.val[j]), "a non-finite value");
        }
        if (add_bias)
            s_check(m.rowptr[r + 1] > m.rowptr[r] && m.col[m.rowptr[r + 1] - 1] == m.cols - 1 &&
                        m.val[m.rowptr[r + 1] - 1] == 1.0,
                    "the bias is not the last entry of a row");
    }
    csr_fini(&m);
    return 0;
}
