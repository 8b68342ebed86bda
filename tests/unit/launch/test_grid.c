//  test_grid.c - sweep grids: lists and ranges parse into axes, the points enumerate the
//  cartesian product in order (last axis fastest), labels name each point, bad lists are refused.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "grid.h"

static void
test_lists_and_ranges_are_axes(void **state)
{
    (void) state;
    assert_true(grid_is_axis("seed=1..3"));
    assert_true(grid_is_axis("method=marina,diana"));
    assert_false(grid_is_axis("method=marina"));
    assert_false(grid_is_axis("gamma=0.5"));
}

static void
test_points_are_the_product_last_axis_fastest(void **state)
{
    (void) state;
    grid_t g;
    grid_init(&g);
    mr_err_t err;
    assert_int_equal(grid_add(&g, "method=marina,diana", &err), MR_OK);
    assert_int_equal(grid_add(&g, "seed=1..3", &err), MR_OK);
    assert_int_equal(grid_points(&g), 6);
    const char *want[6][2] = {{"marina", "1"}, {"marina", "2"}, {"marina", "3"},
                              {"diana", "1"},  {"diana", "2"},  {"diana", "3"}};
    for (size_t p = 0; p < 6; p++) {
        assert_string_equal(grid_value(&g, p, 0), want[p][0]);
        assert_string_equal(grid_value(&g, p, 1), want[p][1]);
    }
    char label[64];
    grid_label(&g, 4, label, sizeof label);
    assert_string_equal(label, "method=diana seed=2");
    grid_fini(&g);
    assert_int_equal(grid_points(&g), 1);  // no axes: one point
    grid_label(&g, 0, label, sizeof label);
    assert_string_equal(label, "");
}

static void
test_ranges_mix_with_values(void **state)
{
    (void) state;
    grid_t g;
    grid_init(&g);
    mr_err_t err;
    assert_int_equal(grid_add(&g, "seed=7,1..2,-1..0", &err), MR_OK);
    assert_int_equal(grid_points(&g), 5);
    const char *want[] = {"7", "1", "2", "-1", "0"};
    for (size_t p = 0; p < 5; p++)
        assert_string_equal(grid_value(&g, p, 0), want[p]);
    grid_fini(&g);
}

static void
test_bad_lists_are_refused_with_the_argument(void **state)
{
    (void) state;
    const char *bad[] = {"seed=3..1",      "seed=1..x", "seed=a..3",      "method=marina,,diana",
                         "method=marina,", "=1,2",      "seed=0..1000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        grid_t g;
        grid_init(&g);
        mr_err_t err = {0};
        assert_int_equal(grid_add(&g, bad[i], &err), MR_ECONFIG);
        assert_non_null(strstr(err.text, bad[i][0] == '=' ? "key=value" : bad[i]));
        grid_fini(&g);
    }
    grid_t g;
    grid_init(&g);
    mr_err_t err;
    assert_int_equal(grid_add(&g, "seed=1,2", &err), MR_OK);
    assert_int_equal(grid_add(&g, "seed=3,4", &err), MR_ECONFIG);  // one list per key
    assert_non_null(strstr(err.text, "already"));
    grid_fini(&g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_and_ranges_are_axes),
        cmocka_unit_test(test_points_are_the_product_last_axis_fastest),
        cmocka_unit_test(test_ranges_mix_with_values),
        cmocka_unit_test(test_bad_lists_are_refused_with_the_argument),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
