//  db.h - the result database: SQLite schema v4 (docs/schema.md), written only by the recorder.
//  db_open() creates or opens a file in WAL mode and checks its schema version. Round rows are
//  buffered in one open transaction and committed every batch rows or 0.25 s (and by db_flush /
//  finish), so a crash loses at most the uncommitted batch, never a committed row. Several
//  processes may write one file at once (one db_t per run): a lock held by another is waited
//  for, never an error (up to 10 minutes). A db_t belongs to one thread. All functions return MR_OK or MR_E* with err filled: SQLite failures are MR_EIO with
//  SQLite's message, a schema version mismatch MR_EVERSION, bad arguments (a duplicate round, an
//  unknown run, a bad status) MR_EINVAL; a rejected row costs only that row.
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "stats.h"

#define DB_SCHEMA_VERSION 5

typedef struct db db_t;

//  Opens (creating if needed) the database at path. NULL with err filled on failure (including a
//  file whose schema version is not DB_SCHEMA_VERSION, and MR_EINVAL for a path that names no
//  file: "", ":memory:" or a "file:" URI).
db_t *db_open(const char *path, mr_err_t *err);
//  Commits what is pending and closes; NULL-safe, sets *self_p = NULL.
void db_close(db_t **self_p);

//  Rows per committed transaction (default 256; values below 1 mean 1).
void db_set_batch(db_t *self, int batch);

//  Inserts the runs row (status "running", started_at from run->start_time, or now if that is
//  not positive) and commits it at once, with any buffered rows; writes its id to *run_id.
int db_run_begin(db_t *self, const run_info_t *run, int64_t *run_id, mr_err_t *err);
//  Buffers one rounds row of run_id (committed with its batch). NaN f / grad_norm_sq are stored
//  as NULL. A round already recorded for run_id, or an unknown run_id, is MR_EINVAL.
int db_round_add(db_t *self, int64_t run_id, const round_stats_t *row, mr_err_t *err);
//  Commits the buffered rows now.
int db_flush(db_t *self, mr_err_t *err);
//  Commits, then sets the run's status ("completed", "failed", "aborted"), error text (may be
//  NULL) and end time.
int db_run_finish(db_t *self, int64_t run_id, const char *status, const char *error, mr_err_t *err);

//  The largest run id in the file (0 if none).
int db_last_run_id(db_t *self, int64_t *id, mr_err_t *err);
//  Runs of one launch: `marina run` gives every run it starts a unique token in the config key
//  'launch' (docs/cli.md), so runs.config holds the line "launch = TOKEN"; that is how a launcher
//  finds its own run among others writing the same file at once.
//  The error a recorder stopped by a signal before the server's STOP writes: it does not know why
//  the run ended (the launcher, which does, replaces it: db_fail_running_after()).
#define DB_RECORDER_INTERRUPTED "the recorder was interrupted"
//  Marks every run with id > after that is still 'running' (or that a recorder ended with
//  DB_RECORDER_INTERRUPTED) and belongs to launch (NULL: to any launch) as failed with error
//  reason and the end time now (a run whose recorder or server died); *count gets how many.
int db_fail_running_after(
    db_t *self, int64_t after, const char *launch, const char *reason, int *count, mr_err_t *err);
//  Opens path read-only: *run_id = the largest run id > after of launch, 0 if none.
int
db_launch_run(const char *path, const char *launch, int64_t after, int64_t *run_id, mr_err_t *err);

//  Rows buffered and not committed yet (the recorder acknowledges rows once this is 0).
int db_pending(const db_t *self);
//  The run of launch (the token in its config) that is still 'running', to continue recording it
//  (a restarted recorder, a resumed run): *run_id (0: none) and its last recorded round (-1: none).
int
db_run_attach(db_t *self, const char *launch, int64_t *run_id, int64_t *last_round, mr_err_t *err);
//  Stores the checkpoint of run_id after round (state[0..size), opaque), replacing the run's
//  earlier one, and commits it with the buffered rows.
int db_checkpoint_put(
    db_t *self, int64_t run_id, uint64_t round, const void *state, size_t size, mr_err_t *err);
//  Reads (read-only) the latest checkpoint of run_id: its round and a malloc'd copy of its state
//  (the caller frees). MR_EINVAL if the run has none.
int db_checkpoint_get(
    const char *path, int64_t run_id, uint64_t *round, void **state, size_t *size, mr_err_t *err);
//  Reads (read-only) run_id's stored configuration (a malloc'd string; the caller frees) and its
//  status (into status[0..size)). MR_EINVAL if there is no such run.
int db_run_config(
    const char *path, int64_t run_id, char **config, char *status, size_t size, mr_err_t *err);
//  Sets a failed or aborted run back to 'running' (error and end cleared, resumes + 1) for
//  `marina run --resume`. MR_EINVAL if it does not exist, is running or completed.
int db_run_reopen(db_t *self, int64_t run_id, mr_err_t *err);

//  What the CLI prints after a run: figures of one run read back from a database file.
typedef struct {
    int64_t run_id;          // the run summarized
    uint64_t rounds;         // rounds rows recorded
    double f_first, f_last;  // f at the first / last round where it was evaluated (NaN: never)
    double gns_first;        // grad_norm_sq likewise
    double gns_last;
    uint64_t bits_paper_up;  // sums over all recorded rounds
    uint64_t bits_model_up;
    uint64_t bytes_wire_up;
    uint64_t bits_paper_down;
    uint64_t bits_model_down;
    uint64_t bytes_wire_down;
    uint64_t oracle_calls;
    double wall_time_s;  // of the last recorded round (NaN: no rounds)
    char status[16];     // "running", "completed", "failed" or "aborted"
    char error[200];     // the run's error text ("" if none), truncated to fit
} db_summary_t;

//  Opens path read-only and fills out with run run_id (<= 0: the latest run). MR_EIO if the file
//  cannot be read, MR_EVERSION on another schema version, MR_EINVAL if there is no such run.
int db_run_summary(const char *path, int64_t run_id, db_summary_t *out, mr_err_t *err);

//  The f* recorded by an earlier run of the same problem key in the file at path (read-only), or
//  NAN if none (also when the file does not exist). MR_EIO only for a broken file.
int db_find_fstar(const char *path, const char *problem, double *f_star, mr_err_t *err);

#endif
