//  series.h - the lines of a figure, read from a result database: one line per run, or, with by
//  keys, one per group of runs that share their values (e.g. the seeds of one method), whose
//  points are the means over the group's runs at each round all of them recorded, with the
//  standard error of y around them. Points come from query_series (query.h). Plain value:
//  series_fini frees it.
#ifndef SERIES_H
#define SERIES_H

#include <stddef.h>

#include "mr_err.h"
#include "qtable.h"
#include "query.h"

typedef struct {
    char *label;      // the run's name (else "run ID (METHOD)"), or the group's value (one by
                      // key), or "key=value, key=value" (several)
    size_t count;     // points
    double *x, *y;    // count values each: means over the runs of a group
    double *lo, *hi;  // y -/+ its standard error over the runs; NULL for a single run
    size_t runs;      // runs drawn in this line
} series_t;

typedef struct {
    series_t *lines;
    size_t count;
} series_set_t;

//  The lines of the runs q selects (q->by: one per group). MR_OK, or query_series's errors, or
//  MR_EINVAL when no run has a point to draw.
int series_read(query_t *db, const query_series_t *q, series_set_t *out, mr_err_t *err);

//  The lines of a query_series table t with keys by columns (0: one line per run). MR_OK or
//  MR_ENOMEM.
int series_from_table(const qtable_t *t, size_t keys, series_set_t *out, mr_err_t *err);

void series_fini(series_set_t *s);

#endif
