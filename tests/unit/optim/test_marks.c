//  test_marks.c - marks.h: a walk hands out every marked coordinate once, in increasing order,
//  whatever the order and repeats of the marks, and leaves the words zero; an empty walk ends at
//  once; the last coordinate of a dim that is a multiple of 64 has its word.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "marks.h"
#include "rng.h"

static void
s_check_walk(uint64_t *marks, size_t dim, const unsigned char *want)
{
    marks_walk_t it = marks_walk(marks, dim);
    size_t j, last = 0, got = 0;
    int first = 1;
    while (marks_next(&it, &j)) {
        assert_true(j < dim);
        assert_true(want[j]);
        assert_true(first || j > last);  // increasing, so each once
        first = 0;
        last = j;
        got++;
    }
    size_t expected = 0;
    for (size_t i = 0; i < dim; i++)
        expected += want[i];
    assert_int_equal(got, expected);
    assert_false(marks_next(&it, &j));  // stays ended
    for (size_t w = 0; w < MARKS_WORDS(dim); w++)
        assert_int_equal(marks[w], 0);
}

static void
test_a_walk_gives_each_marked_coordinate_once_in_order_and_clears(void **state)
{
    (void) state;
    const size_t dims[] = {1, 63, 64, 65, 128, 1000, 4097};
    rng_t rng;
    rng_seed(&rng, 7, 1);
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        size_t dim = dims[t];
        uint64_t *marks = calloc(MARKS_WORDS(dim), sizeof *marks);
        unsigned char *want = calloc(dim, 1);
        assert_non_null(marks);
        assert_non_null(want);
        for (int round = 0; round < 20; round++) {  // the same words, round after round
            size_t count = rng_below(&rng, 2 * dim + 1);
            for (size_t c = 0; c < count; c++) {  // repeats and any order
                size_t j = rng_below(&rng, dim);
                marks_set(marks, j);
                want[j] = 1;
            }
            if (round == 3) {  // the edges of the range
                marks_set(marks, 0);
                marks_set(marks, dim - 1);
                want[0] = want[dim - 1] = 1;
            }
            s_check_walk(marks, dim, want);
            for (size_t i = 0; i < dim; i++)
                want[i] = 0;
        }
        s_check_walk(marks, dim, want);  // nothing marked: ends at once
        free(marks);
        free(want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_walk_gives_each_marked_coordinate_once_in_order_and_clears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
