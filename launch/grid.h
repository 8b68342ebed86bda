//  grid.h - the parameter grid of `marina sweep`: axes given as "key=v1,v2,..." or "key=A..B"
//  (integers A <= B, both included), and the points of their cartesian product in a fixed
//  order (the last axis varies fastest). A grid_t owns its strings; plain value (init/fini).
//  Functions return MR_OK or MR_E* with err naming the argument.
#ifndef GRID_H
#define GRID_H

#include <stddef.h>

#include "mr_err.h"

typedef struct {
    char *key;      // the configuration key
    char **values;  // its values, in the order given
    size_t count;   // >= 1
} grid_axis_t;

typedef struct {
    grid_axis_t *axes;
    size_t count;
} grid_t;

void grid_init(grid_t *g);
void grid_fini(grid_t *g);

//  1 if arg ("key=value") lists several values (a ',' or an "A..B" range), else 0.
int grid_is_axis(const char *arg);
//  Adds the axis arg to g (a key given twice is refused). MR_ECONFIG on a malformed list or
//  range (empty value, A > B, a range of more than 100000 values).
int grid_add(grid_t *g, const char *arg, mr_err_t *err);

//  Number of points (1 for a grid without axes).
size_t grid_points(const grid_t *g);
//  The value of axis a at point index (0 <= index < grid_points).
const char *grid_value(const grid_t *g, size_t index, size_t a);
//  "key=v key2=v2" of point index into out ("" for a grid without axes).
void grid_label(const grid_t *g, size_t index, char *out, size_t size);

#endif
