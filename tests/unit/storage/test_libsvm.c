//  test_libsvm.c - libsvm_read(): label conventions, layout details, every rejected input with its
//  line number, and the real data sets when $MARINA_DATA_DIR (or ../shared/datasets) has them.
#define _XOPEN_SOURCE 700  // realpath(), setenv()
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <limits.h>

#include "libsvm.h"
#include "test_util.h"

typedef struct {
    char dir[64];    // mkdtemp directory, removed with its files in teardown
    char path[128];  // the last file written by s_write()
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-libsvm-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

//  Writes text (len bytes, so NULs are possible) to <dir>/name and leaves its path in f->path.
static const char *
s_write_n(fixture_t *f, const char *name, const char *text, size_t len)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    return f->path;
}

static const char *
s_write(fixture_t *f, const char *name, const char *text)
{
    return s_write_n(f, name, text, strlen(text));
}

//  Reads text, expects MR_OK, returns the matrix (caller: csr_fini).
static csr_t
s_read_ok(fixture_t *f, const char *text, int add_bias, size_t min_cols)
{
    csr_t a;
    mr_err_t err = {0};
    const char *path = s_write(f, "good.svm", text);
    int rc = libsvm_read(path, add_bias, min_cols, &a, &err);
    if (rc != MR_OK)
        print_error("unexpected error: %s\n", err.text);
    assert_int_equal(rc, MR_OK);
    return a;
}

//  Reads text, expects rc and err->text containing "<path>:<line>:" and want.
static void
s_read_bad(fixture_t *f, const char *text, int rc, int line, const char *want)
{
    csr_t a;
    mr_err_t err = {0};
    const char *path = s_write(f, "bad.svm", text);
    assert_int_equal(libsvm_read(path, 1, 0, &a, &err), rc);
    assert_int_equal(err.rc, rc);
    char where[192];
    snprintf(where, sizeof where, "%s:%d:", path, line);
    if (!strstr(err.text, where) || !strstr(err.text, want))
        print_error("error text '%s' lacks '%s' or '%s'\n", err.text, where, want);
    assert_non_null(strstr(err.text, where));
    assert_non_null(strstr(err.text, want));
    assert_null(a.rowptr);  // nothing handed over on failure
    assert_int_equal(a.rows, 0);
}

static void
test_reads_plus_minus_one_labels(void **state)
{
    csr_t a = s_read_ok(*state, "-1 1:0.5 3:2\n+1 2:1\n1 4:-3e-1\n", 0, 0);
    assert_int_equal(a.rows, 3);
    assert_int_equal(a.cols, 4);
    assert_int_equal(a.nnz, 4);
    assert_near(a.y[0], -1, 0);
    assert_near(a.y[1], 1, 0);
    assert_near(a.y[2], 1, 0);
    size_t rowptr[] = {0, 2, 3, 4};
    uint32_t col[] = {0, 2, 1, 3};
    double val[] = {0.5, 2, 1, -0.3};
    for (size_t t = 0; t <= 3; t++)
        assert_int_equal(a.rowptr[t], rowptr[t]);
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(a.col[k], col[k]);
        assert_near(a.val[k], val[k], 1e-15);
    }
    csr_fini(&a);
}

static void
test_maps_zero_one_labels(void **state)
{
    csr_t a = s_read_ok(*state, "0 1:1\n1 2:1\n0 1:2\n", 0, 0);
    assert_int_equal(a.rows, 3);
    assert_near(a.y[0], -1, 0);
    assert_near(a.y[1], 1, 0);
    assert_near(a.y[2], -1, 0);
    csr_fini(&a);
}

static void
test_maps_one_two_labels(void **state)
{
    csr_t a = s_read_ok(*state, "1 1:1\n2 2:1\n2.0 1:1\n", 0, 0);
    assert_near(a.y[0], -1, 0);
    assert_near(a.y[1], 1, 0);
    assert_near(a.y[2], 1, 0);
    csr_fini(&a);
}

static void
test_single_label_files_follow_the_rule(void **state)
{
    csr_t a = s_read_ok(*state, "+1 1:1\n+1 2:1\n", 0, 0);  // {-1,+1}: identity
    assert_near(a.y[0], 1, 0);
    assert_near(a.y[1], 1, 0);
    csr_fini(&a);
    a = s_read_ok(*state, "0 1:1\n", 0, 0);  // {0,1}: 0 -> -1
    assert_near(a.y[0], -1, 0);
    csr_fini(&a);
    a = s_read_ok(*state, "2 1:1\n", 0, 0);  // {1,2}: 2 -> +1
    assert_near(a.y[0], 1, 0);
    csr_fini(&a);
    a = s_read_ok(*state, "-1 1:1\n", 0, 0);
    assert_near(a.y[0], -1, 0);
    csr_fini(&a);
}

static void
test_accepts_crlf_tabs_and_trailing_blanks(void **state)
{
    csr_t a = s_read_ok(*state, "-1 1:1 \r\n+1\t2:2\t\r\n  -1 3:3   \r\n", 0, 0);
    assert_int_equal(a.rows, 3);
    assert_int_equal(a.nnz, 3);
    assert_int_equal(a.cols, 3);
    assert_near(a.val[1], 2, 0);
    assert_near(a.val[2], 3, 0);
    csr_fini(&a);
}

static void
test_accepts_last_line_without_newline(void **state)
{
    csr_t a = s_read_ok(*state, "-1 1:1\n+1 2:2.5", 0, 0);
    assert_int_equal(a.rows, 2);
    assert_int_equal(a.nnz, 2);
    assert_near(a.val[1], 2.5, 0);
    assert_near(a.y[1], 1, 0);
    csr_fini(&a);
}

static void
test_keeps_empty_rows_and_skips_blank_lines(void **state)
{
    csr_t a = s_read_ok(*state, "-1 \n\n   \n+1 1:1\n-1\n\n", 0, 0);
    assert_int_equal(a.rows, 3);
    assert_int_equal(a.nnz, 1);
    assert_int_equal(a.rowptr[1], 0);  // row 0 empty
    assert_int_equal(a.rowptr[2], 1);
    assert_int_equal(a.rowptr[3], 1);  // row 2 empty
    assert_near(a.y[2], -1, 0);
    csr_fini(&a);
}

static void
test_keeps_explicit_zero_values(void **state)
{
    csr_t a = s_read_ok(*state, "-1 1:0 2:1\n", 0, 0);
    assert_int_equal(a.nnz, 2);
    assert_near(a.val[0], 0, 0);
    csr_fini(&a);
}

static void
test_bias_column_and_min_cols(void **state)
{
    const char *text = "-1 2:4\n+1\n";
    csr_t a = s_read_ok(*state, text, 0, 0);
    assert_int_equal(a.cols, 2);
    assert_int_equal(a.nnz, 1);
    csr_fini(&a);

    a = s_read_ok(*state, text, 0, 5);
    assert_int_equal(a.cols, 5);
    assert_int_equal(a.nnz, 1);
    csr_fini(&a);

    a = s_read_ok(*state, text, 0, 1);  // min_cols below max index: no effect
    assert_int_equal(a.cols, 2);
    csr_fini(&a);

    a = s_read_ok(*state, text, 1, 0);
    assert_int_equal(a.cols, 3);
    assert_int_equal(a.nnz, 3);
    assert_int_equal(a.rowptr[1], 2);
    assert_int_equal(a.col[0], 1);
    assert_int_equal(a.col[1], 2);  // bias: last column
    assert_near(a.val[1], 1, 0);
    assert_int_equal(a.rowptr[2], 3);  // the empty row holds the bias only
    assert_int_equal(a.col[2], 2);
    assert_near(a.val[2], 1, 0);
    csr_fini(&a);

    a = s_read_ok(*state, text, 1, 5);
    assert_int_equal(a.cols, 6);
    assert_int_equal(a.col[1], 5);
    assert_int_equal(a.col[2], 5);
    csr_fini(&a);
}

static void
test_rejects_bad_label(void **state)
{
    s_read_bad(*state, "-1 1:1\nabc 1:1\n", MR_EMALFORMED, 2, "bad label 'abc'");
    s_read_bad(*state, "-1 1:1\n\n1x 1:1\n", MR_EMALFORMED, 3, "bad label '1x'");
    s_read_bad(*state, "1.5 1:1\n", MR_EMALFORMED, 1, "label '1.5' is not in");
    s_read_bad(*state, "nan 1:1\n", MR_EMALFORMED, 1, "label 'nan' is not in");
    //  Binary garbage is quoted as \xHH, never echoed raw to a terminal.
    s_read_bad(*state, "x\xff\x1b[2J 1:1\n", MR_EMALFORMED, 1, "bad label 'x\\xff\\x1b[2J'");
    s_read_bad(*state, "+1 2:\x01\x02\n", MR_EMALFORMED, 1, "'2:\\x01\\x02'");
}

static void
test_rejects_missing_label(void **state)
{
    s_read_bad(*state, "-1 1:1\n1:0.5 2:1\n", MR_EMALFORMED, 2, "missing label");
    s_read_bad(*state, "-1 1:1\n  3:1\n", MR_EMALFORMED, 2, "missing label");
}

static void
test_rejects_index_zero(void **state)
{
    s_read_bad(*state, "-1 1:1\n+1 0:1 2:1\n", MR_EMALFORMED, 2, "index 0");
}

static void
test_rejects_decreasing_index(void **state)
{
    s_read_bad(*state, "-1 1:1\n-1 1:1\n+1 7:1 5:1\n", MR_EMALFORMED, 3,
               "index 5 not greater than previous 7");
}

static void
test_rejects_duplicate_index(void **state)
{
    s_read_bad(*state, "+1 3:1 3:2\n", MR_EMALFORMED, 1, "index 3 not greater than previous 3");
}

static void
test_rejects_missing_colon(void **state)
{
    s_read_bad(*state, "-1 1:1\n+1 5\n", MR_EMALFORMED, 2, "missing ':'");
    s_read_bad(*state, "-1 1:1 foo\n", MR_EMALFORMED, 1, "missing ':' in 'foo'");
}

static void
test_rejects_bad_index_and_missing_value(void **state)
{
    s_read_bad(*state, "+1 :5\n", MR_EMALFORMED, 1, "missing index");
    s_read_bad(*state, "+1 -3:1\n", MR_EMALFORMED, 1, "bad index");
    s_read_bad(*state, "+1 qid:1 2:1\n", MR_EMALFORMED, 1, "bad index");
    s_read_bad(*state, "+1 99999999999:1\n", MR_EMALFORMED, 1, "index too large");
    s_read_bad(*state, "+1 5:\n", MR_EMALFORMED, 1, "missing value");
    s_read_bad(*state, "+1 5: 1\n", MR_EMALFORMED, 1, "missing value");
}

static void
test_rejects_non_finite_value(void **state)
{
    s_read_bad(*state, "-1 1:1\n+1 2:nan\n", MR_EMALFORMED, 2, "non-finite value in '2:nan'");
    s_read_bad(*state, "-1 1:1\n+1 2:inf\n", MR_EMALFORMED, 2, "non-finite");
    s_read_bad(*state, "-1 1:1\n+1 2:-Infinity\n", MR_EMALFORMED, 2, "non-finite");
    s_read_bad(*state, "-1 1:1e999\n", MR_EMALFORMED, 1, "non-finite");
}

static void
test_rejects_junk_after_value(void **state)
{
    s_read_bad(*state, "-1 1:1\n+1 2:0.5x\n", MR_EMALFORMED, 2, "bad value in '2:0.5x'");
    s_read_bad(*state, "-1 1:1:2\n", MR_EMALFORMED, 1, "bad value");
    s_read_bad(*state, "-1 1:\v2\n", MR_EMALFORMED, 1, "bad value");
    s_read_bad(*state, "-1 1:2 # comment\n", MR_EMALFORMED, 1, "missing ':' in '#'");
}

static void
test_rejects_nul_byte(void **state)
{
    fixture_t *f = *state;
    csr_t a;
    mr_err_t err = {0};
    const char *path = s_write_n(f, "nul.svm", "-1 1:1\n+1 2:3\0x 4:1\n", 20);
    assert_int_equal(libsvm_read(path, 0, 0, &a, &err), MR_EMALFORMED);
    assert_non_null(strstr(err.text, ":2:"));
}

static void
test_rejects_unknown_label_set(void **state)
{
    s_read_bad(*state, "3 1:1\n5 1:1\n", MR_EMALFORMED, 1,
               "label '3' is not in {-1,+1}, {0,1} or {1,2}");
    s_read_bad(*state, "-1 1:1\n+1 1:1\n0 1:1\n", MR_EMALFORMED, 3, "mixes label sets");
    s_read_bad(*state, "0 1:1\n2 1:1\n", MR_EMALFORMED, 2, "mixes label sets");
    s_read_bad(*state, "1 1:1\n2 1:1\n-1 1:1\n", MR_EMALFORMED, 3, "'-1'");
}

static void
test_rejects_file_without_rows(void **state)
{
    fixture_t *f = *state;
    csr_t a;
    mr_err_t err = {0};
    const char *path = s_write(f, "empty.svm", "");
    assert_int_equal(libsvm_read(path, 1, 0, &a, &err), MR_EMALFORMED);
    assert_non_null(strstr(err.text, "no rows"));
    path = s_write(f, "blank.svm", "\n  \r\n\n");
    assert_int_equal(libsvm_read(path, 1, 0, &a, &err), MR_EMALFORMED);
    assert_non_null(strstr(err.text, "no rows"));
}

static void
test_rejects_missing_file(void **state)
{
    fixture_t *f = *state;
    csr_t a;
    mr_err_t err = {0};
    char path[160];
    snprintf(path, sizeof path, "%s/no-such-file", f->dir);
    assert_int_equal(libsvm_read(path, 1, 0, &a, &err), MR_EIO);
    assert_int_equal(err.rc, MR_EIO);
    assert_non_null(strstr(err.text, path));
    assert_int_equal(libsvm_read(f->dir, 1, 0, &a, &err), MR_EIO);  // a directory
}

//  The real data sets (tests/README: numbers from the LIBSVM page and datasets/README.md).

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

//  Reads the data set name with a bias column, or skips the test if it is not there.
static csr_t
s_read_dataset(const char *name)
{
    char spec[256], path[PATH_MAX];
    snprintf(spec, sizeof spec, "${MARINA_DATA_DIR}/%s", name);
    assert_int_equal(libsvm_resolve_path(spec, path, sizeof path, NULL), MR_OK);
    csr_t a = {0};
    if (access(path, R_OK) != 0) {
        print_message("skipping: %s not found (set MARINA_DATA_DIR)\n", path);
        skip();
    }
    mr_err_t err = {0};
    double t0 = s_now();
    int rc = libsvm_read(path, 1, 0, &a, &err);
    double t1 = s_now();
    if (rc != MR_OK)
        print_error("%s\n", err.text);
    assert_int_equal(rc, MR_OK);
    print_message("%s: %zu x %zu, %zu entries, read in %.1f ms\n", name, a.rows, a.cols, a.nnz,
                  (t1 - t0) * 1e3);
    return a;
}

static void
s_check_bias_and_labels(const csr_t *a, size_t minus, size_t plus)
{
    size_t n_minus = 0, n_plus = 0;
    for (size_t t = 0; t < a->rows; t++) {
        assert_true(a->rowptr[t + 1] > a->rowptr[t]);
        assert_int_equal(a->col[a->rowptr[t + 1] - 1], a->cols - 1);
        assert_near(a->val[a->rowptr[t + 1] - 1], 1, 0);
        if (a->y[t] == -1.0)
            n_minus++;
        else if (a->y[t] == 1.0)
            n_plus++;
    }
    assert_int_equal(n_minus, minus);
    assert_int_equal(n_plus, plus);
}

static void
test_reads_mushrooms(void **state)
{
    csr_t a = s_read_dataset("mushrooms");
    assert_int_equal(a.rows, 8124);
    assert_int_equal(a.cols, 113);
    assert_int_equal(a.nnz, 8124 * 22);
    for (size_t t = 0; t < a.rows; t++)
        assert_int_equal(a.rowptr[t + 1] - a.rowptr[t], 22);
    s_check_bias_and_labels(&a, 3916, 4208);  // labels 1 -> -1, 2 -> +1
    csr_fini(&a);
}

static void
test_reads_w8a(void **state)
{
    csr_t a = s_read_dataset("w8a");
    assert_int_equal(a.rows, 49749);
    assert_int_equal(a.cols, 301);
    assert_int_equal(a.nnz, 579586 + 49749);
    size_t bias_only = 0;
    for (size_t t = 0; t < a.rows; t++)
        bias_only += a.rowptr[t + 1] - a.rowptr[t] == 1;
    assert_true(bias_only > 0);
    s_check_bias_and_labels(&a, 48270, 1479);
    csr_fini(&a);
}

static void
test_reads_phishing(void **state)
{
    csr_t a = s_read_dataset("phishing");
    assert_int_equal(a.rows, 11055);
    assert_int_equal(a.cols, 69);
    assert_int_equal(a.nnz, 11055 * 31);
    s_check_bias_and_labels(&a, 4898, 6157);  // labels 0 -> -1, 1 -> +1
    csr_fini(&a);
}

static void
test_data_dir_is_the_environment_or_the_build_default(void **state)
{
    fixture_t *f = *state;
    //  Set: "${MARINA_DATA_DIR}" is the variable, wherever it appears.
    char *old = getenv("MARINA_DATA_DIR") ? strdup(getenv("MARINA_DATA_DIR")) : NULL;
    setenv("MARINA_DATA_DIR", "/nowhere/data", 1);
    assert_string_equal(libsvm_data_dir(), "/nowhere/data");
    char out[PATH_MAX];
    assert_int_equal(libsvm_resolve_path("${MARINA_DATA_DIR}/a9a", out, sizeof out, NULL), MR_OK);
    assert_string_equal(out, "/nowhere/data/a9a");  // no such file: left as expanded
    //  Unset or empty: the build's default, absolute, the source tree's ../shared/datasets.
    setenv("MARINA_DATA_DIR", "", 1);
    const char *dir = libsvm_data_dir();
    assert_true(dir[0] == '/');
    unsetenv("MARINA_DATA_DIR");
    assert_string_equal(libsvm_data_dir(), dir);
    char want[PATH_MAX], got[PATH_MAX];
    if (realpath(MARINA_SOURCE_DIR "/../shared/datasets", want))
        assert_string_equal(realpath(dir, got), want);
    //  An existing file comes back absolute and canonical, from any spelling of its path.
    s_write(f, "x.svm", "1 1:1\n");
    char spec[256], canon[PATH_MAX];
    snprintf(spec, sizeof spec, "%s/./x.svm", f->dir);
    assert_non_null(realpath(f->path, canon));
    assert_int_equal(libsvm_resolve_path(spec, out, sizeof out, NULL), MR_OK);
    assert_string_equal(out, canon);
    //  Too long for the caller's buffer: refused, not cut.
    mr_err_t err = {0};
    assert_int_equal(libsvm_resolve_path(spec, out, 8, &err), MR_ECONFIG);
    assert_non_null(strstr(err.text, "too long"));
    if (old) {
        setenv("MARINA_DATA_DIR", old, 1);
        free(old);
    }
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_reads_plus_minus_one_labels),
        T(test_maps_zero_one_labels),
        T(test_maps_one_two_labels),
        T(test_single_label_files_follow_the_rule),
        T(test_accepts_crlf_tabs_and_trailing_blanks),
        T(test_accepts_last_line_without_newline),
        T(test_keeps_empty_rows_and_skips_blank_lines),
        T(test_keeps_explicit_zero_values),
        T(test_bias_column_and_min_cols),
        T(test_rejects_bad_label),
        T(test_rejects_missing_label),
        T(test_rejects_index_zero),
        T(test_rejects_decreasing_index),
        T(test_rejects_duplicate_index),
        T(test_rejects_missing_colon),
        T(test_rejects_bad_index_and_missing_value),
        T(test_rejects_non_finite_value),
        T(test_rejects_junk_after_value),
        T(test_rejects_nul_byte),
        T(test_rejects_unknown_label_set),
        T(test_rejects_file_without_rows),
        T(test_rejects_missing_file),
        T(test_data_dir_is_the_environment_or_the_build_default),
        T(test_reads_mushrooms),
        T(test_reads_w8a),
        T(test_reads_phishing),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
