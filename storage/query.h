//  query.h - read-only answers from a result database (`marina query`): the runs, one run's
//  config and summary, its rounds, a comparison of costs to reach a target grouped over seeds,
//  and any SELECT. A query_t is one read-only SQLite connection (safe while a recorder writes:
//  WAL) on a file of the current schema version; it belongs to one thread. Results are
//  qtable_t values the caller prints and finis. SQL may call cfg(config, key): the value of
//  "key = value" in a run's stored config text, or NULL.
//  Errors: MR_EIO (missing or unreadable file), MR_EVERSION (another schema version),
//  MR_EINVAL (unknown run), MR_ECONFIG (a bad column, key, target or SQL statement).
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "qtable.h"

typedef struct query query_t;

//  Opens path read-only; NULL with err filled.
query_t *query_open(const char *path, mr_err_t *err);
void query_close(query_t **self_p);

//  One line per run: id, name, method, compressor, aggregator, attack, n, d, seed, status,
//  rounds, final f / grad_norm_sq / gap, wall time.
int query_runs(query_t *self, qtable_t *out, mr_err_t *err);
//  Rows (field, value) of run id: every runs column, a summary of its rounds, then each line of
//  its config as "config.KEY".
int query_show(query_t *self, int64_t id, qtable_t *out, mr_err_t *err);
//  The rounds of run id: columns (a comma-separated list of rounds columns, NULL: all), every
//  every-th round (and the last one).
int query_rounds(
    query_t *self, int64_t id, long every, const char *columns, qtable_t *out, mr_err_t *err);
//  Runs one read-only statement (a second statement or a write is MR_ECONFIG).
int query_sql(query_t *self, const char *sql, qtable_t *out, mr_err_t *err);

typedef struct {
    const int64_t *ids;  // runs to compare, or NULL: every run matching where
    size_t id_count;
    const char *where;   // an SQL condition on runs (alias r), or NULL
    const char *metric;  // grad_norm_sq | gap | f
    double target;       // reached when metric <= target (times its round-0 value if relative)
    int relative;
    const char *by;  // comma-separated runs columns or config keys, e.g. "method,compressor"
} query_compare_t;

//  For each group (the by keys, then the stepsize gamma as configured) over its runs (seeds):
//  runs, reached, and the mean and standard error over the runs that reached the target of the
//  rounds, uplink bits per worker (paper convention), oracle calls per worker and seconds
//  needed; best = 1 for the stepsize of least mean bits among those of a by-group whose every run
//  reached the target.
int query_compare(query_t *self, const query_compare_t *c, qtable_t *out, mr_err_t *err);

typedef struct {
    const int64_t *ids;  // runs to draw, or NULL: every run matching where
    size_t id_count;
    const char *where;  // an SQL condition on runs (alias r), or NULL
    const char *y;   // f | grad_norm_sq | gap | accuracy (a column of rounds; NULL: grad_norm_sq)
    const char *x;   // round | bits | oracle | seconds (NULL: round)
    const char *by;  // comma-separated runs columns or config keys, or NULL
    int round0;      // bits, oracle: 1 counts round 0's (dense) upload, 0 starts at 0
} query_series_t;

//  The points of the runs' curves, one row per round where y was evaluated, in order of run id
//  and round: run, the by keys' values (columns named after the keys), name, method, round, x,
//  y. x is the round, the running total of uplink bits (paper convention, rounds.bits_paper_up)
//  or of oracle calls up to and including the round, divided by runs.n (per worker, as
//  query_compare counts), or wall_time_s. A y that is not a column of this file (accuracy:
//  not recorded by schema 3) is MR_ECONFIG, naming it.
int query_series(query_t *self, const query_series_t *q, qtable_t *out, mr_err_t *err);

#endif
