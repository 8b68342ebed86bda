//  series.c - see series.h.
#include "series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

//  One run's rows in the table: [first, first + count).
typedef struct {
    size_t first, count;
    size_t group;
} s_run_t;

static double
s_num(const qtable_t *t, size_t row, size_t col)
{
    const char *c = qtable_cell(t, row, col);
    return c ? strtod(c, NULL) : NAN;
}

//  The label of the run starting at row: its by values, or its name, else "run ID (METHOD)".
static char *
s_label(const qtable_t *t, size_t row, size_t keys)
{
    char buf[1024];
    size_t used = 0;
    buf[0] = '\0';
    if (keys == 1 && qtable_cell(t, row, 1)) {
        snprintf(buf, sizeof buf, "%s", qtable_cell(t, row, 1));
    } else if (keys > 0) {
        // Several keys (or a key without a value): "key=value, key=value".
        for (size_t k = 0; k < keys && used < sizeof buf; k++) {
            const char *v = qtable_cell(t, row, 1 + k);
            used += (size_t) snprintf(buf + used, sizeof buf - used, "%s%s=%s", k ? ", " : "",
                                      t->names[1 + k], v ? v : "-");
        }
    } else {
        const char *name = qtable_cell(t, row, 1);
        const char *method = qtable_cell(t, row, 2);
        if (name && name[0])
            snprintf(buf, sizeof buf, "%s", name);
        else
            snprintf(buf, sizeof buf, "run %s (%s)", qtable_cell(t, row, 0), method ? method : "-");
    }
    return strdup(buf);
}

//  The row of run r whose round is round, or (size_t) -1 (rows are in order of round).
static size_t
s_find_round(const qtable_t *t, const s_run_t *r, size_t col_round, double round)
{
    size_t lo = r->first, hi = r->first + r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double v = s_num(t, mid, col_round);
        if (v == round)
            return mid;
        if (v < round)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (size_t) -1;
}

static int
s_alloc_line(series_t *line, size_t cap, int band)
{
    line->x = calloc(cap ? cap : 1, sizeof *line->x);
    line->y = calloc(cap ? cap : 1, sizeof *line->y);
    if (band) {
        line->lo = calloc(cap ? cap : 1, sizeof *line->lo);
        line->hi = calloc(cap ? cap : 1, sizeof *line->hi);
    }
    return line->x && line->y && (!band || (line->lo && line->hi)) ? MR_OK : MR_ENOMEM;
}

int
series_from_table(const qtable_t *t, size_t keys, series_set_t *out, mr_err_t *err)
{
    memset(out, 0, sizeof *out);
    size_t col_round = keys + 3, col_x = keys + 4, col_y = keys + 5;
    if (t->cols < keys + 6)
        return mr_err_set(err, MR_EINVAL, "series: the table has %zu columns, not %zu", t->cols,
                          keys + 6);
    // The runs: blocks of rows with the same run id.
    s_run_t *runs = calloc(t->rows ? t->rows : 1, sizeof *runs);
    char **labels = calloc(t->rows ? t->rows : 1, sizeof *labels);  // one per group
    size_t nruns = 0, ngroups = 0;
    int rc = runs && labels ? MR_OK : MR_ENOMEM;
    for (size_t row = 0; rc == MR_OK && row < t->rows; row++) {
        const char *id = qtable_cell(t, row, 0);
        if (nruns > 0 && strcmp(qtable_cell(t, runs[nruns - 1].first, 0), id) == 0) {
            runs[nruns - 1].count++;
            continue;
        }
        s_run_t *r = &runs[nruns++];
        r->first = row;
        r->count = 1;
        char *label = s_label(t, row, keys);
        if (!label) {
            rc = MR_ENOMEM;
            break;
        }
        // Per run, every run is its own line; by keys: runs of one label share a line.
        size_t g = ngroups;
        for (size_t o = 0; keys > 0 && o < ngroups; o++)
            if (strcmp(labels[o], label) == 0)
                g = o;
        if (g == ngroups)
            labels[ngroups++] = label;
        else
            free(label);
        r->group = g;
    }
    out->lines = rc == MR_OK ? calloc(ngroups ? ngroups : 1, sizeof *out->lines) : NULL;
    if (rc == MR_OK && !out->lines)
        rc = MR_ENOMEM;
    for (size_t g = 0; rc == MR_OK && g < ngroups; g++) {
        series_t *line = &out->lines[out->count++];
        line->label = labels[g];
        labels[g] = NULL;
        const s_run_t *first = NULL;
        for (size_t i = 0; i < nruns; i++)
            if (runs[i].group == g) {
                first = first ? first : &runs[i];
                line->runs++;
            }
        rc = s_alloc_line(line, first->count, line->runs > 1);
        // The rounds of the first run that every run of the group recorded.
        for (size_t row = first->first; rc == MR_OK && row < first->first + first->count; row++) {
            double round = s_num(t, row, col_round);
            double sx = 0, sy = 0, syy = 0;
            size_t m = 0;
            int all = 1;
            for (size_t i = 0; all && i < nruns; i++) {
                if (runs[i].group != g)
                    continue;
                size_t at = s_find_round(t, &runs[i], col_round, round);
                all = at != (size_t) -1;
                if (!all)
                    break;
                double x = s_num(t, at, col_x), y = s_num(t, at, col_y);
                sx += x;
                sy += y;
                syy += y * y;
                m++;
            }
            if (!all || m == 0)
                continue;
            size_t p = line->count++;
            line->x[p] = sx / (double) m;
            line->y[p] = sy / (double) m;
            if (line->lo) {
                // Standard error of the mean: sample standard deviation / sqrt(m).
                double mean = sy / (double) m;
                double var = fmax((syy - (double) m * mean * mean) / (double) (m - 1), 0.0);
                double se = sqrt(var / (double) m);
                line->lo[p] = mean - se;
                line->hi[p] = mean + se;
            }
        }
    }
    for (size_t g = 0; labels && g < ngroups; g++)
        free(labels[g]);
    free(labels);
    free(runs);
    if (rc != MR_OK) {
        series_fini(out);
        return mr_err_set(err, rc, "out of memory");
    }
    return MR_OK;
}

int
series_read(query_t *db, const query_series_t *q, series_set_t *out, mr_err_t *err)
{
    memset(out, 0, sizeof *out);
    qtable_t t = {0};
    int rc = query_series(db, q, &t, err);
    // run, the by keys, name, method, round, x, y
    if (rc == MR_OK)
        rc = series_from_table(&t, t.cols >= 6 ? t.cols - 6 : 0, out, err);
    qtable_fini(&t);
    if (rc == MR_OK && out->count == 0)
        rc = mr_err_set(err, MR_EINVAL, "nothing to draw: no run %s has a round with %s recorded",
                        q->id_count || (q->where && q->where[0]) ? "selected" : "in the file",
                        q->y ? q->y : "grad_norm_sq");
    if (rc != MR_OK)
        series_fini(out);
    return rc;
}

void
series_fini(series_set_t *s)
{
    for (size_t i = 0; s->lines && i < s->count; i++) {
        free(s->lines[i].label);
        free(s->lines[i].x);
        free(s->lines[i].y);
        free(s->lines[i].lo);
        free(s->lines[i].hi);
    }
    free(s->lines);
    memset(s, 0, sizeof *s);
}
