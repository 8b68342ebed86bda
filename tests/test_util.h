//  test_util.h - helpers shared by the cmocka tests (header-only, static functions).
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <math.h>

#define assert_near(a, b, tol) assert_true(fabs((double) (a) - (double) (b)) <= (tol))

#endif
