//  libsvm.c - see libsvm.h. The whole file is read into memory (the data sets are a few MB), then
//  parsed line by line in one pass into arrays sized from upper bounds counted beforehand (one
//  row per '\n', one entry per ':'), so nothing is reallocated while parsing.
#define _XOPEN_SOURCE 700  // realpath() (XSI in glibc's headers)
#include "libsvm.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The largest accepted feature index: column index-1, and the bias column (index cols) must
//  still fit in csr_t's uint32_t column type.
#define S_MAX_INDEX (UINT32_MAX - 1u)

//  Bits of the set of labels seen, and the three accepted label sets (see libsvm.h).
#define S_LABEL_M1 0x1u  // -1
#define S_LABEL_0  0x2u  // 0
#define S_LABEL_1  0x4u  // 1 (or +1)
#define S_LABEL_2  0x8u  // 2
#define S_SET_PM1  (S_LABEL_M1 | S_LABEL_1)
#define S_SET_01   (S_LABEL_0 | S_LABEL_1)
#define S_SET_12   (S_LABEL_1 | S_LABEL_2)

#define S_SETS "{-1,+1}, {0,1} or {1,2}"

//  How much of a bad token an error message quotes.
#define S_QUOTE 24

typedef struct {
    const char *path;  // for messages
    size_t line;       // 1-based line being parsed
    mr_err_t *err;
    size_t rows;       // rows stored so far
    size_t nnz;        // entries stored so far
    size_t *rowptr;    // rows_cap + 1
    uint32_t *col;     // nnz_cap
    double *val;       // nnz_cap
    double *y;         // rows_cap, the labels as written until the final mapping
    size_t max_index;  // largest feature index seen (0: none)
    unsigned labels;   // S_LABEL_* bits seen
} s_parser_t;

static int
s_is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

//  A number token must start with one of these, so that strtod() cannot skip white space of its
//  own (it would accept "\v1") and odd bytes are reported as junk.
static int
s_starts_number(char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'i' || c == 'I' ||
           c == 'n' || c == 'N';
}

static int
s_quote_len(size_t len)
{
    return len > S_QUOTE ? S_QUOTE : (int) len;
}

//  The token [tok, tok + len) quoted for a message: at most S_QUOTE bytes, every byte that is not
//  printable ASCII written as \xHH (a data file's binary garbage never reaches a terminal raw).
static void
s_quote(const char *tok, size_t len, char *out, size_t size)
{
    size_t used = 0, n = (size_t) s_quote_len(len);
    for (size_t i = 0; i < n && used + 5 < size; i++) {
        unsigned char c = (unsigned char) tok[i];
        if (c >= 0x20 && c < 0x7f)
            out[used++] = (char) c;
        else
            used += (size_t) snprintf(out + used, size - used, "\\x%02x", c);
    }
    snprintf(out + used, size - used, "%s", len > S_QUOTE ? "..." : "");
}

static int
s_fail(s_parser_t *self, int rc, const char *what, const char *tok, size_t len)
{
    char quoted[4 * S_QUOTE + 8];
    s_quote(tok, len, quoted, sizeof quoted);
    return mr_err_set(self->err, rc, "%s:%zu: %s '%s'", self->path, self->line, what, quoted);
}

//  Parses the label token [s, e) and records it in self->y and self->labels.
static int
s_parse_label(s_parser_t *self, const char *s, const char *e)
{
    size_t len = (size_t) (e - s);
    if (memchr(s, ':', len))
        return s_fail(self, MR_EMALFORMED, "missing label before", s, len);
    if (!s_starts_number(*s))
        return s_fail(self, MR_EMALFORMED, "bad label", s, len);
    char *end;
    double v = strtod(s, &end);
    if (end != e)
        return s_fail(self, MR_EMALFORMED, "bad label", s, len);
    unsigned bit;
    if (v == -1.0)
        bit = S_LABEL_M1;
    else if (v == 0.0)
        bit = S_LABEL_0;
    else if (v == 1.0)
        bit = S_LABEL_1;
    else if (v == 2.0)
        bit = S_LABEL_2;
    else {
        char quoted[4 * S_QUOTE + 8];
        s_quote(s, len, quoted, sizeof quoted);
        return mr_err_set(self->err, MR_EMALFORMED, "%s:%zu: label '%s' is not in %s", self->path,
                          self->line, quoted, S_SETS);
    }
    unsigned seen = self->labels | bit;
    if ((seen & ~S_SET_PM1) && (seen & ~S_SET_01) && (seen & ~S_SET_12))
        return mr_err_set(self->err, MR_EMALFORMED,
                          "%s:%zu: label '%.*s' mixes label sets with the lines before (%s)",
                          self->path, self->line, s_quote_len(len), s, S_SETS);
    self->labels = seen;
    self->y[self->rows] = v;
    return MR_OK;
}

//  Parses the feature token [s, e) "<index>:<value>"; prev is the row's previous index (0: none).
static int
s_parse_feature(s_parser_t *self, const char *s, const char *e, size_t *prev)
{
    size_t len = (size_t) (e - s);
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return s_fail(self, MR_EMALFORMED, "missing ':' in", s, len);
    if (colon == s)
        return s_fail(self, MR_EMALFORMED, "missing index in", s, len);
    size_t index = 0;
    for (const char *p = s; p < colon; p++) {
        if (*p < '0' || *p > '9')
            return s_fail(self, MR_EMALFORMED, "bad index in", s, len);
        index = index * 10 + (size_t) (*p - '0');
        if (index > S_MAX_INDEX)
            return s_fail(self, MR_EMALFORMED, "index too large in", s, len);
    }
    if (index == 0)
        return s_fail(self, MR_EMALFORMED, "index 0 (indices start at 1) in", s, len);
    if (index <= *prev)
        return mr_err_set(self->err, MR_EMALFORMED,
                          "%s:%zu: index %zu not greater than previous %zu", self->path, self->line,
                          index, *prev);
    const char *vs = colon + 1;
    if (vs == e)
        return s_fail(self, MR_EMALFORMED, "missing value in", s, len);
    if (!s_starts_number(*vs))
        return s_fail(self, MR_EMALFORMED, "bad value in", s, len);
    char *end;
    double v = strtod(vs, &end);
    if (end != e)
        return s_fail(self, MR_EMALFORMED, "bad value in", s, len);
    if (!isfinite(v))
        return s_fail(self, MR_EMALFORMED, "non-finite value in", s, len);
    self->col[self->nnz] = (uint32_t) (index - 1);
    self->val[self->nnz] = v;
    self->nnz++;
    *prev = index;
    if (index > self->max_index)
        self->max_index = index;
    return MR_OK;
}

//  Parses one line [p, eol), *eol == '\0'. A line of separators only is skipped; any other line
//  becomes a row (plus a bias entry whose column is fixed at the end when add_bias).
static int
s_parse_line(s_parser_t *self, const char *p, const char *eol, int add_bias)
{
    while (p < eol && s_is_sep(*p))
        p++;
    if (p == eol)
        return MR_OK;
    size_t prev = 0;
    int first = 1;
    while (p < eol) {
        const char *s = p;
        while (p < eol && !s_is_sep(*p))
            p++;
        int rc = first ? s_parse_label(self, s, p) : s_parse_feature(self, s, p, &prev);
        if (rc != MR_OK)
            return rc;
        first = 0;
        while (p < eol && s_is_sep(*p))
            p++;
    }
    if (add_bias) {
        self->col[self->nnz] = 0;  // placeholder, set to cols - 1 once cols is known
        self->val[self->nnz] = 1.0;
        self->nnz++;
    }
    self->rows++;
    self->rowptr[self->rows] = self->nnz;
    return MR_OK;
}

//  strerror() may share a buffer between threads; workers read their data concurrently.
static const char *
s_errstr(int errnum, char *buf, size_t len)
{
    if (strerror_r(errnum, buf, len) != 0)
        snprintf(buf, len, "error %d", errnum);
    return buf;
}

//  Reads the whole file into a NUL-terminated buffer (caller frees *buf_p).
static int
s_slurp(const char *path, char **buf_p, size_t *size_p, mr_err_t *err)
{
    char why[96];
    FILE *f = fopen(path, "rb");
    if (!f)
        return mr_err_set(err, MR_EIO, "cannot open %s: %s", path,
                          s_errstr(errno, why, sizeof why));
    size_t cap = (size_t) 1 << 20, size = 0;
    char *buf = malloc(cap);
    int rc = MR_OK;
    if (!buf) {
        rc = mr_err_set(err, MR_ENOMEM, "no memory to read %s", path);
        goto out;
    }
    for (;;) {
        size += fread(buf + size, 1, cap - 1 - size, f);
        if (ferror(f)) {
            rc = mr_err_set(err, MR_EIO, "cannot read %s: %s", path,
                            s_errstr(errno, why, sizeof why));
            goto out;
        }
        if (feof(f))
            break;
        if (size == cap - 1) {
            char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!bigger) {
                rc = mr_err_set(err, MR_ENOMEM, "no memory to read %s", path);
                goto out;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    buf[size] = '\0';
out:
    fclose(f);
    if (rc != MR_OK) {
        free(buf);
        return rc;
    }
    *buf_p = buf;
    *size_p = size;
    return MR_OK;
}

static size_t
s_count(const char *p, const char *end, char c)
{
    size_t n = 0;
    while ((p = memchr(p, c, (size_t) (end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

//  Parses buf[0..size) (buf[size] == '\0'; the parser writes NULs into it) into out; name is the
//  file name for messages. buf stays the caller's.
static int
s_parse(char *buf,
        size_t size,
        const char *path,
        int add_bias,
        size_t min_cols,
        csr_t *out,
        mr_err_t *err)
{
    memset(out, 0, sizeof *out);
    int rc = MR_OK;
    char *end = buf + size;
    size_t rows_cap = s_count(buf, end, '\n') + 1;
    size_t nnz_cap = s_count(buf, end, ':') + (add_bias ? rows_cap : 0);

    s_parser_t self = {.path = path, .err = err};
    self.rowptr = malloc((rows_cap + 1) * sizeof *self.rowptr);
    self.y = malloc(rows_cap * sizeof *self.y);
    self.col = malloc((nnz_cap + 1) * sizeof *self.col);
    self.val = malloc((nnz_cap + 1) * sizeof *self.val);
    if (!self.rowptr || !self.y || !self.col || !self.val) {
        rc = mr_err_set(err, MR_ENOMEM, "no memory for %s (%zu lines, %zu entries)", path, rows_cap,
                        nnz_cap);
        goto fail;
    }
    self.rowptr[0] = 0;

    for (char *p = buf; p < end;) {
        char *eol = memchr(p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        *eol = '\0';  // strtod() cannot run past the line
        self.line++;
        rc = s_parse_line(&self, p, eol, add_bias);
        if (rc != MR_OK)
            goto fail;
        p = eol + 1;
    }
    if (self.rows == 0) {
        rc = mr_err_set(err, MR_EMALFORMED, "%s: no rows", path);
        goto fail;
    }

    size_t cols = self.max_index > min_cols ? self.max_index : min_cols;
    if (add_bias) {
        if (cols > UINT32_MAX) {
            rc = mr_err_set(err, MR_EINVAL, "%s: %zu columns plus bias do not fit", path, cols);
            goto fail;
        }
        for (size_t t = 0; t < self.rows; t++)
            self.col[self.rowptr[t + 1] - 1] = (uint32_t) cols;
        cols++;
    }
    //  Map the labels by the set they form (checked while parsing to be within one set).
    double lo = 0.0;  // the label that becomes -1 when the file is not in {-1,+1}
    if ((self.labels & ~S_SET_PM1) == 0)
        lo = -1.0;
    else if ((self.labels & ~S_SET_01) == 0)
        lo = 0.0;
    else
        lo = 1.0;
    for (size_t t = 0; t < self.rows; t++)
        self.y[t] = self.y[t] == lo ? -1.0 : 1.0;

    out->rows = self.rows;
    out->cols = cols;
    out->nnz = self.nnz;
    out->rowptr = self.rowptr;
    out->col = self.col;
    out->val = self.val;
    out->y = self.y;
    return MR_OK;

fail:
    free(self.rowptr);
    free(self.y);
    free(self.col);
    free(self.val);
    return rc;
}

int
libsvm_read(const char *path, int add_bias, size_t min_cols, csr_t *out, mr_err_t *err)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t size = 0;
    int rc = s_slurp(path, &buf, &size, err);
    if (rc != MR_OK)
        return rc;
    rc = s_parse(buf, size, path, add_bias, min_cols, out, err);
    free(buf);
    return rc;
}

int
libsvm_read_buffer(const char *data,
                   size_t size,
                   const char *name,
                   int add_bias,
                   size_t min_cols,
                   csr_t *out,
                   mr_err_t *err)
{
    memset(out, 0, sizeof *out);
    char *buf = size < SIZE_MAX ? malloc(size + 1) : NULL;
    if (!buf)
        return mr_err_set(err, MR_ENOMEM, "no memory to read %s", name);
    if (size > 0)
        memcpy(buf, data, size);
    buf[size] = '\0';
    int rc = s_parse(buf, size, name, add_bias, min_cols, out, err);
    free(buf);
    return rc;
}

const char *
libsvm_data_dir(void)
{
    const char *dir = getenv("MARINA_DATA_DIR");
    return dir && dir[0] ? dir : MARINA_DEFAULT_DATA_DIR;
}

int
libsvm_resolve_path(const char *spec, char *out, size_t size, mr_err_t *err)
{
    static const char var[] = "${MARINA_DATA_DIR}";
    const char *dir = libsvm_data_dir();
    char expanded[PATH_MAX];
    size_t used = 0;
    for (const char *at = spec; *at;) {
        const char *hit = strstr(at, var);
        size_t lit = hit ? (size_t) (hit - at) : strlen(at);
        const char *add = hit ? dir : "";
        if (used + lit + strlen(add) >= sizeof expanded)
            return mr_err_set(err, MR_ECONFIG, "dataset '%s': the path is too long", spec);
        memcpy(expanded + used, at, lit);
        used += lit;
        memcpy(expanded + used, add, strlen(add));
        used += strlen(add);
        at = hit ? hit + strlen(var) : at + lit;
    }
    expanded[used] = '\0';
    char canonical[PATH_MAX];
    const char *result = realpath(expanded, canonical) ? canonical : expanded;
    if (strlen(result) >= size)
        return mr_err_set(err, MR_ECONFIG, "dataset '%s': the path is too long", spec);
    memcpy(out, result, strlen(result) + 1);
    return MR_OK;
}
