//  libsvm.h - reads LibSVM/svmlight text files ("<label> <index>:<value> ...") into a csr_t.
//  Labels are mapped to -1/+1 by the set of labels the whole file uses: if every label is in
//  {-1,+1} (written -1, 1 or +1) they are kept; else if every label is in {0,1}, 0 -> -1 and
//  1 -> +1; else if every label is in {1,2}, 1 -> -1 and 2 -> +1. So a file of only "1" (or "+1")
//  labels is all +1, of only "0" all -1, of only "2" all +1. Any other label, or a label that
//  leaves all three sets, is rejected at its line. Indices are 1-based and strictly increasing in
//  a row. Bad lines (bad or missing label, index 0, non-increasing index, missing ':', bad or
//  non-finite value, junk) are rejected with the file name and line number in err. Spaces, tabs
//  and CR separate tokens (so CRLF files and trailing blanks are fine); lines of blanks only are
//  skipped; a row with a label and no features is kept; the last line needs no newline. Explicit
//  zero values are stored as written. Thread-safe (no shared state).
#ifndef LIBSVM_H
#define LIBSVM_H

#include <stddef.h>

#include "data.h"
#include "mr_err.h"

//  Reads path into out (zeroed first; the caller owns it on MR_OK: csr_fini). Column c of the file
//  (1-based) is csr column c-1; cols = max(max index, min_cols), +1 when add_bias: a last column
//  (index cols-1) of ones in every row. MR_OK, or MR_EIO / MR_EMALFORMED / MR_ENOMEM (MR_EINVAL
//  if the bias column does not fit) with err naming the file and line; a file without rows is
//  MR_EMALFORMED.
int libsvm_read(const char *path, int add_bias, size_t min_cols, csr_t *out, mr_err_t *err);
//  The same rules for the size bytes at data (any bytes; name stands for the file in messages).
int libsvm_read_buffer(const char *data,
                       size_t size,
                       const char *name,
                       int add_bias,
                       size_t min_cols,
                       csr_t *out,
                       mr_err_t *err);

//  The one rule for where the data sets are (the command line and the tests both use it): the
//  directory "${MARINA_DATA_DIR}" stands for is that environment variable when it is set and
//  not empty, else MARINA_DEFAULT_DATA_DIR, fixed at build time: ../shared/datasets next to the
//  source tree marina was built from, as an absolute path (so it does not depend on the current
//  directory). Returns a static string or the environment's.
const char *libsvm_data_dir(void);

//  spec with every "${MARINA_DATA_DIR}" replaced by libsvm_data_dir(), then made absolute and
//  canonical (realpath) when the file exists (else left as expanded, for libsvm_read() to name),
//  into out. MR_OK, or MR_ECONFIG if it does not fit in size.
int libsvm_resolve_path(const char *spec, char *out, size_t size, mr_err_t *err);

#endif
