//  test_series.c - the lines of a figure from query_series rows: one per run (named after the
//  run, or "run ID (METHOD)"), or per by-group: the mean over its runs at the rounds all of them
//  recorded, with the standard error band; a group of one run has no band.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qtable.h"
#include "series.h"

//  Rows as query_series gives them with one by key (method): run, method, name, method, round,
//  x, y. Runs 1 and 2 are marina (run 2 lacks round 2), run 3 is diana with no name.
static void
s_table(qtable_t *t)
{
    static const char *const names[] = {"run", "method", "name", "method", "round", "x", "y"};
    assert_int_equal(qtable_init(t, 7, names), MR_OK);
    static const char *const rows[][7] = {
        {"1", "marina", "m1", "marina", "0", "0", "1"},
        {"1", "marina", "m1", "marina", "1", "10", "2"},
        {"1", "marina", "m1", "marina", "2", "20", "3"},
        {"2", "marina", "m2", "marina", "0", "2", "3"},
        {"2", "marina", "m2", "marina", "1", "14", "4"},
        {"3", "diana", "", "diana", "0", "0", "5"},
        {"3", "diana", "", "diana", "5", "50", "6"},
    };
    qcell_kind_t kinds[7] = {QCELL_INT, QCELL_TEXT, QCELL_TEXT, QCELL_TEXT,
                             QCELL_INT, QCELL_REAL, QCELL_REAL};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        assert_int_equal(qtable_push(t, rows[r], kinds), MR_OK);
}

static void
test_groups_average_at_common_rounds_with_the_standard_error(void **state)
{
    (void) state;
    qtable_t t;
    s_table(&t);
    series_set_t s;
    mr_err_t err;
    assert_int_equal(series_from_table(&t, 1, &s, &err), MR_OK);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.lines[0].label, "marina");
    assert_int_equal(s.lines[0].runs, 2);
    assert_int_equal(s.lines[0].count, 2);  // round 2 is run 1's only
    assert_non_null(s.lines[0].lo);
    // Round 0: x (0 + 2) / 2, y (1 + 3) / 2; the sample sd of {1, 3} is sqrt 2, the se 1.
    assert_true(s.lines[0].x[0] == 1 && s.lines[0].y[0] == 2);
    assert_true(fabs(s.lines[0].lo[0] - 1) < 1e-12 && fabs(s.lines[0].hi[0] - 3) < 1e-12);
    assert_true(s.lines[0].x[1] == 12 && s.lines[0].y[1] == 3);
    assert_string_equal(s.lines[1].label, "diana");
    assert_int_equal(s.lines[1].runs, 1);
    assert_int_equal(s.lines[1].count, 2);
    assert_null(s.lines[1].lo);  // one run: no band
    series_fini(&s);
    qtable_fini(&t);
}

static void
test_one_line_per_run_without_by_keys(void **state)
{
    (void) state;
    qtable_t t;
    // The same rows without the by column: run, name, method, round, x, y.
    static const char *const names[] = {"run", "name", "method", "round", "x", "y"};
    assert_int_equal(qtable_init(&t, 6, names), MR_OK);
    static const char *const rows[][6] = {
        {"1", "m1", "marina", "0", "0", "1"},
        {"1", "m1", "marina", "1", "10", "2"},
        {"2", "m2", "marina", "0", "2", "3"},
        {"3", "", "diana", "0", "0", "5"},
    };
    qcell_kind_t kinds[6] = {QCELL_INT, QCELL_TEXT, QCELL_TEXT, QCELL_INT, QCELL_REAL, QCELL_REAL};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        assert_int_equal(qtable_push(&t, rows[r], kinds), MR_OK);
    series_set_t s;
    mr_err_t err;
    assert_int_equal(series_from_table(&t, 0, &s, &err), MR_OK);
    assert_int_equal(s.count, 3);
    assert_string_equal(s.lines[0].label, "m1");
    assert_int_equal(s.lines[0].count, 2);
    assert_true(s.lines[0].y[1] == 2);
    assert_string_equal(s.lines[1].label, "m2");
    assert_string_equal(s.lines[2].label, "run 3 (diana)");
    for (size_t i = 0; i < 3; i++)
        assert_null(s.lines[i].lo);
    series_fini(&s);
    qtable_fini(&t);
}

static void
test_several_by_keys_name_each_key(void **state)
{
    (void) state;
    qtable_t t;
    static const char *const names[] = {"run", "method", "k", "name", "method", "round", "x", "y"};
    assert_int_equal(qtable_init(&t, 8, names), MR_OK);
    const char *a[] = {"1", "marina", "10", "m1", "marina", "0", "0", "1"};
    const char *b[] = {"2", "diana", NULL, "d1", "diana", "0", "0", "1"};
    qcell_kind_t kinds[8] = {QCELL_INT,  QCELL_TEXT, QCELL_TEXT, QCELL_TEXT,
                             QCELL_TEXT, QCELL_INT,  QCELL_REAL, QCELL_REAL};
    assert_int_equal(qtable_push(&t, a, kinds), MR_OK);
    assert_int_equal(qtable_push(&t, b, kinds), MR_OK);
    series_set_t s;
    mr_err_t err;
    assert_int_equal(series_from_table(&t, 2, &s, &err), MR_OK);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.lines[0].label, "method=marina, k=10");
    assert_string_equal(s.lines[1].label, "method=diana, k=-");
    series_fini(&s);
    qtable_fini(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_average_at_common_rounds_with_the_standard_error),
        cmocka_unit_test(test_one_line_per_run_without_by_keys),
        cmocka_unit_test(test_several_by_keys_name_each_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
