//  db.c - see db.h and docs/schema.md. One SQLite connection with its statements prepared once.
//  Round rows go into an explicit transaction opened by the first buffered row and committed
//  after self->batch rows or S_TXN_MAX_S seconds; everything else (run rows, status changes)
//  commits at once. Several runs may write one file at once: every write transaction takes the
//  write lock when it begins (BEGIN IMMEDIATE, so it never has to be retried half done), holds
//  it briefly, and a lock held by another connection is waited for (s_step_locked), not an
//  error.
#include "db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

//  How long one attempt waits for another connection's lock (SQLite's busy handler), and how long
//  s_step_locked() keeps trying before it gives up (another run's transactions last at most
//  S_TXN_MAX_S; a lock held that long is a process that hangs).
#define S_BUSY_TIMEOUT_MS 5000
#define S_LOCK_GIVE_UP_S  600.0
//  The longest a batch of round rows keeps its write transaction open (other runs writing the
//  same file wait for it).
#define S_TXN_MAX_S 0.25

//  A runs row of launch ?4: its config holds the line "launch = ?4" (db.h).
#define S_SQL_LAUNCH    "instr(config, char(10) || 'launch = ' || ?4 || char(10)) > 0"
#define S_DEFAULT_BATCH 256

#define S_ROUND_WORKERS                                                                            \
    "CREATE TABLE IF NOT EXISTS round_workers ("                                                   \
    " run_id INTEGER NOT NULL REFERENCES runs(id),"                                                \
    " round INTEGER NOT NULL,"                                                                     \
    " worker INTEGER NOT NULL,"                                                                    \
    " sent INTEGER NOT NULL,"                                                                      \
    " bits_paper_up INTEGER NOT NULL,"                                                             \
    " bits_model_up INTEGER NOT NULL,"                                                             \
    " bytes_wire_up INTEGER NOT NULL,"                                                             \
    " nnz_up INTEGER NOT NULL,"                                                                    \
    " oracle_calls INTEGER NOT NULL,"                                                              \
    " PRIMARY KEY (run_id, round, worker)) WITHOUT ROWID;"

#define S_REJECTIONS                                                                               \
    "CREATE TABLE IF NOT EXISTS rejections ("                                                      \
    " run_id INTEGER NOT NULL REFERENCES runs(id),"                                                \
    " round INTEGER NOT NULL,"                                                                     \
    " sender INTEGER,"                                                                             \
    " reason TEXT NOT NULL);"                                                                      \
    "CREATE INDEX IF NOT EXISTS rejections_run ON rejections (run_id, round);"

//  Checkpoints (v4): the latest saved state of a run, for `marina run --resume` (docs/schema.md).
#define S_CHECKPOINTS                                                                              \
    "CREATE TABLE IF NOT EXISTS checkpoints ("                                                     \
    " run_id INTEGER NOT NULL REFERENCES runs(id),"                                                \
    " round INTEGER NOT NULL,"                                                                     \
    " created_at TEXT NOT NULL,"                                                                   \
    " state BLOB NOT NULL,"                                                                        \
    " PRIMARY KEY (run_id, round));"

//  runs.dataset_sha256 (v3): the SHA-256 of the LibSVM file read, taken from the problem key
//  "sha256:<hex> ..." the launcher writes (no column of its own on the wire).
#define S_DATASET_SHA256                                                                           \
    " dataset_sha256 TEXT GENERATED ALWAYS AS (CASE WHEN problem LIKE 'sha256:%' THEN"             \
    " substr(problem, 8, 64) END) VIRTUAL"

//  Schema v5; docs/schema.md explains every column. PRAGMA user_version holds the version.
static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT,"
    " started_at TEXT NOT NULL,"
    " finished_at TEXT,"
    " version TEXT,"
    " seed INTEGER,"
    " config TEXT,"
    " method TEXT,"
    " compressor TEXT,"
    " n INTEGER,"
    " d INTEGER,"
    " dataset TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'aborted')),"
    " error TEXT,"
    " f_star REAL,"
    " problem TEXT,"
    " byzantine INTEGER NOT NULL DEFAULT 0,"
    " attack TEXT NOT NULL DEFAULT 'none',"
    " aggregator TEXT NOT NULL DEFAULT 'mean',"
    " bucket INTEGER NOT NULL DEFAULT 0,"
    " resumes INTEGER NOT NULL DEFAULT 0," S_DATASET_SHA256 ");"
    "CREATE TABLE IF NOT EXISTS rounds ("
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " round INTEGER NOT NULL,"
    " c_k INTEGER NOT NULL,"
    " f REAL,"
    " grad_norm_sq REAL,"
    " bits_paper_up INTEGER NOT NULL,"
    " bits_model_up INTEGER NOT NULL,"
    " bytes_wire_up INTEGER NOT NULL,"
    " bits_paper_down INTEGER NOT NULL,"
    " bits_model_down INTEGER NOT NULL,"
    " bytes_wire_down INTEGER NOT NULL,"
    " nnz_up INTEGER NOT NULL,"
    " oracle_calls INTEGER NOT NULL,"
    " participants INTEGER NOT NULL,"
    " wall_time_s REAL,"
    " gap REAL,"
    " accepted INTEGER NOT NULL DEFAULT 0,"
    " rejected INTEGER NOT NULL DEFAULT 0,"
    " agg_dist_sq REAL,"
    " bytes_metrics INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (run_id, round)) WITHOUT ROWID;" S_ROUND_WORKERS S_REJECTIONS S_CHECKPOINTS
    "PRAGMA user_version = 5;";

//  Migrations: the statements that take a file from version v to v + 1 (index v - 1).
static const char *const s_migrations[] = {
    //  1 -> 2: f* and the problem key on runs, the optimality gap, per-worker accounting.
    "ALTER TABLE runs ADD COLUMN f_star REAL;"
    "ALTER TABLE runs ADD COLUMN problem TEXT;"
    "ALTER TABLE rounds ADD COLUMN gap REAL;" S_ROUND_WORKERS "PRAGMA user_version = 2;",
    //  2 -> 3: the data's fingerprint (older rows keep NULL: their key names a path); Byzantine
    //  workers: the attack's ground truth, accepted/rejected updates, the rejections.
    "ALTER TABLE runs ADD COLUMN" S_DATASET_SHA256 ";"
    "ALTER TABLE runs ADD COLUMN byzantine INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN attack TEXT NOT NULL DEFAULT 'none';"
    "ALTER TABLE runs ADD COLUMN aggregator TEXT NOT NULL DEFAULT 'mean';"
    "ALTER TABLE runs ADD COLUMN bucket INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rounds ADD COLUMN accepted INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rounds ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rounds ADD COLUMN agg_dist_sq REAL;" S_REJECTIONS "PRAGMA user_version = 3;",
    //  3 -> 4: checkpoints, and how often a run was resumed from one.
    "ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;" S_CHECKPOINTS
    "PRAGMA user_version = 4;",
    //  4 -> 5: the metrics' bytes of a round (older rows: 0, not measured).
    ("ALTER TABLE rounds ADD COLUMN bytes_metrics INTEGER NOT NULL DEFAULT 0;"
     "PRAGMA user_version = 5;"),
};

static const char s_sql_run_insert[] =
    "INSERT INTO runs (name, started_at, version, seed, config, method, compressor, n, d, dataset,"
    " f_star, problem, byzantine, attack, aggregator, bucket, status)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')";
static const char s_sql_run_finish[] =
    "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?";
static const char s_sql_round_insert[] =
    "INSERT INTO rounds (run_id, round, c_k, f, grad_norm_sq, bits_paper_up, bits_model_up,"
    " bytes_wire_up, bits_paper_down, bits_model_down, bytes_wire_down, nnz_up, oracle_calls,"
    " participants, wall_time_s, gap, accepted, rejected, agg_dist_sq, bytes_metrics)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char s_sql_rejection_insert[] =
    "INSERT INTO rejections (run_id, round, sender, reason) VALUES (?, ?, ?, ?)";
static const char s_sql_worker_insert[] =
    "INSERT INTO round_workers (run_id, round, worker, sent, bits_paper_up, bits_model_up,"
    " bytes_wire_up, nnz_up, oracle_calls) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
//  The same for S_WORKER_ROWS rows at once (one statement step instead of S_WORKER_ROWS): built
//  by s_worker_insert_many_sql().
#define S_WORKER_ROWS   32
#define S_WORKER_FIELDS 9

struct db {
    sqlite3 *db;                       // the connection
    char *path;                        // for messages
    sqlite3_stmt *begin;               // BEGIN IMMEDIATE
    sqlite3_stmt *commit;              // COMMIT
    sqlite3_stmt *run_insert;          // s_sql_run_insert
    sqlite3_stmt *run_finish;          // s_sql_run_finish
    sqlite3_stmt *round_insert;        // s_sql_round_insert
    sqlite3_stmt *worker_insert;       // s_sql_worker_insert
    sqlite3_stmt *worker_insert_many;  // ... of S_WORKER_ROWS rows
    sqlite3_stmt *reject_insert;       // s_sql_rejection_insert
    int batch;                         // rows per transaction
    int pending;                       // rows inserted in the open transaction
    double txn_began;                  // when it was opened (s_now())
};

//  A monotonic clock, seconds.
static double
s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

//  Waits 20 ms before trying a locked file again.
static void
s_pause(void)
{
    struct timespec t = {0, 20 * 1000 * 1000};
    nanosleep(&t, NULL);
}

//  1 for SQLite's "another connection holds a lock" codes (any extended form).
static int
s_is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

//  Steps stmt; while another connection holds the lock (past the busy timeout), resets it and
//  tries again, up to S_LOCK_GIVE_UP_S. Only for statements that either complete or change
//  nothing: BEGIN IMMEDIATE, COMMIT, one-statement autocommit writes, reads, PRAGMAs.
static int
s_step_locked(sqlite3_stmt *stmt)
{
    double start = s_now();
    for (;;) {
        int rc = sqlite3_step(stmt);
        if (!s_is_busy(rc) || s_now() - start > S_LOCK_GIVE_UP_S)
            return rc;
        sqlite3_reset(stmt);
        s_pause();
    }
}

static int
s_sql_fail(sqlite3 *db, const char *path, mr_err_t *err, const char *what)
{
    return mr_err_set(err, MR_EIO, "%s: %s: %s", path, what, sqlite3_errmsg(db));
}

//  Runs one statement that must return no row or one row with a text column copied to out.
static int
s_exec(sqlite3 *db, const char *path, const char *sql, char *out, size_t out_len, mr_err_t *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;
    double start = s_now();
    //  Preparing reads the schema, which may be locked while another process creates it.
    while (s_is_busy(rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL)) &&
           s_now() - start < S_LOCK_GIVE_UP_S)
        s_pause();
    if (rc != SQLITE_OK)
        return s_sql_fail(db, path, err, sql);
    rc = s_step_locked(stmt);
    if (rc == SQLITE_ROW && out) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        snprintf(out, out_len, "%s", text ? (const char *) text : "");
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        s_sql_fail(db, path, err, sql);
        sqlite3_finalize(stmt);
        return MR_EIO;
    }
    sqlite3_finalize(stmt);
    return MR_OK;
}

//  Reads PRAGMA user_version (the first read: a file that is no database fails here).
static int
s_user_version(sqlite3 *db, const char *path, int *version, mr_err_t *err)
{
    char text[32];
    int rc = s_exec(db, path, "PRAGMA user_version", text, sizeof text, err);
    if (rc == MR_OK)
        *version = atoi(text);
    return rc;
}

static int
s_version_mismatch(const char *path, int version, mr_err_t *err)
{
    return mr_err_set(err, MR_EVERSION, "%s: schema version %d, this program uses version %d%s",
                      path, version, DB_SCHEMA_VERSION,
                      version == 0 ? " (not a marina database?)" : "");
}

//  ISO-8601 UTC with milliseconds, e.g. "2024-05-01T12:34:56.789Z"; t <= 0 or NaN means now.
static void
s_iso_time(double t, char *out, size_t len)
{
    if (!(t > 0) || !isfinite(t)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        t = (double) now.tv_sec + now.tv_nsec * 1e-9;
    }
    time_t secs = (time_t) floor(t);
    unsigned ms = (unsigned) ((t - (double) secs) * 1000.0);
    ms = ms > 999 ? 999 : ms;
    struct tm tm;
    char day[32];
    gmtime_r(&secs, &tm);
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03uZ", day, ms);
}

static int
s_prepare(db_t *self, const char *sql, sqlite3_stmt **stmt, mr_err_t *err)
{
    if (sqlite3_prepare_v3(self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
        return s_sql_fail(self->db, self->path, err, "cannot prepare a statement");
    return MR_OK;
}

//  s_sql_worker_insert with S_WORKER_ROWS tuples of values.
static int
s_prepare_worker_insert_many(db_t *self, mr_err_t *err)
{
    static const char tuple[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    const char *values = strstr(s_sql_worker_insert, "VALUES ");
    size_t head = (size_t) (values - s_sql_worker_insert) + strlen("VALUES ");
    char sql[sizeof s_sql_worker_insert + S_WORKER_ROWS * sizeof tuple];
    memcpy(sql, s_sql_worker_insert, head);
    size_t used = head;
    for (int r = 0; r < S_WORKER_ROWS; r++)
        used += (size_t) snprintf(sql + used, sizeof sql - used, "%s%s", r ? "," : "", tuple);
    return s_prepare(self, sql, &self->worker_insert_many, err);
}

//  Steps a prepared statement that returns no row, then resets it (bindings stay until rebound).
static int
s_step(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc;
}

//  Commits the open transaction, if any.
static int
s_commit(db_t *self, mr_err_t *err)
{
    if (sqlite3_get_autocommit(self->db)) {
        self->pending = 0;
        return MR_OK;
    }
    if (s_step_locked(self->commit) != SQLITE_DONE) {
        int pending = self->pending;
        int rc = mr_err_set(err, MR_EIO, "%s: commit of %d rows failed: %s", self->path, pending,
                            sqlite3_errmsg(self->db));
        sqlite3_reset(self->commit);
        if (sqlite3_get_autocommit(self->db))
            self->pending = 0;  // SQLite rolled the transaction back: those rows are lost
        return rc;
    }
    sqlite3_reset(self->commit);
    self->pending = 0;
    return MR_OK;
}

static int
s_create_schema(sqlite3 *db, const char *path, mr_err_t *err)
{
    //  BEGIN IMMEDIATE: a second process creating the same file waits, then sees version 1.
    int rc = s_exec(db, path, "BEGIN IMMEDIATE", NULL, 0, err);
    if (rc != MR_OK)
        return rc;
    int version = 0;
    rc = s_user_version(db, path, &version, err);
    if (rc == MR_OK && version == 0) {
        char *msg = NULL;
        if (sqlite3_exec(db, s_schema, NULL, NULL, &msg) != SQLITE_OK)
            rc = mr_err_set(err, MR_EIO, "%s: cannot create the schema: %s", path,
                            msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
    } else if (rc == MR_OK && version != DB_SCHEMA_VERSION)
        rc = s_version_mismatch(path, version, err);
    if (rc == MR_OK)
        return s_exec(db, path, "COMMIT", NULL, 0, err);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

//  Takes a file of an older schema version to the current one, in one transaction.
static int
s_migrate(sqlite3 *db, const char *path, int version, mr_err_t *err)
{
    int rc = s_exec(db, path, "BEGIN IMMEDIATE", NULL, 0, err);
    //  Another process may have migrated the file since version was read: start from now.
    if (rc == MR_OK)
        rc = s_user_version(db, path, &version, err);
    for (int v = version; rc == MR_OK && v < DB_SCHEMA_VERSION; v++) {
        char *msg = NULL;
        if (sqlite3_exec(db, s_migrations[v - 1], NULL, NULL, &msg) != SQLITE_OK)
            rc = mr_err_set(err, MR_EIO, "%s: cannot migrate the schema from version %d: %s", path,
                            v, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
    }
    if (rc == MR_OK)
        return s_exec(db, path, "COMMIT", NULL, 0, err);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

db_t *
db_open(const char *path, mr_err_t *err)
{
    db_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        mr_err_set(err, MR_ENOMEM, "no memory to open %s", path);
        free(self);
        return NULL;
    }
    self->batch = S_DEFAULT_BATCH;
    //  SQLite would open a private temporary or in-memory database for these: every row lost.
    if (path[0] == '\0' || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) {
        mr_err_set(err, MR_EINVAL,
                   "'%s' names no file (an empty name or an in-memory database would lose every "
                   "row); give a file name, e.g. db=results.db",
                   path);
        goto fail;
    }
    //  A db_t belongs to one thread: no mutex around each call (SQLite's multi-thread mode).
    if (sqlite3_open_v2(path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        s_sql_fail(self->db, path, err, "cannot open");
        goto fail;
    }
    sqlite3_extended_result_codes(self->db, 1);
    sqlite3_busy_timeout(self->db, S_BUSY_TIMEOUT_MS);

    //  The version is checked before anything is changed, so a foreign file is left as it was.
    //  Both reads in one read transaction: another process may be creating the schema right
    //  now, and its commit must not fall between them (version 0 but tables: "not ours").
    int version = 0, tables = 0;
    char text[32] = "0";
    if (s_exec(self->db, path, "BEGIN", NULL, 0, err) != MR_OK)
        goto fail;
    int read = s_user_version(self->db, path, &version, err);
    if (read == MR_OK && version == 0) {
        read = s_exec(self->db, path, "SELECT count(*) FROM sqlite_master", text, sizeof text, err);
        tables = atoi(text);
    }
    sqlite3_exec(self->db, "COMMIT", NULL, NULL, NULL);
    if (read != MR_OK)
        goto fail;
    if ((version == 0 && tables > 0) || version < 0 || version > DB_SCHEMA_VERSION) {
        s_version_mismatch(path, version, err);
        goto fail;
    }
    //  WAL: readers (the CLI) never block the recorder, and a commit is one append to the log.
    if (s_exec(self->db, path, "PRAGMA journal_mode = WAL", text, sizeof text, err) != MR_OK)
        goto fail;
    if (strcmp(text, "wal") != 0 && strcmp(text, "memory") != 0) {
        mr_err_set(err, MR_EIO, "%s: cannot switch to WAL journal mode (got '%s')", path, text);
        goto fail;
    }
    //  NORMAL in WAL mode: a commit survives a process crash; a power loss may lose the last ones.
    if (s_exec(self->db, path, "PRAGMA synchronous = NORMAL", NULL, 0, err) != MR_OK ||
        s_exec(self->db, path, "PRAGMA foreign_keys = ON", NULL, 0, err) != MR_OK)
        goto fail;
    if (version == 0 && s_create_schema(self->db, path, err) != MR_OK)
        goto fail;
    if (version > 0 && version < DB_SCHEMA_VERSION &&
        s_migrate(self->db, path, version, err) != MR_OK)
        goto fail;

    if (s_prepare(self, "BEGIN IMMEDIATE", &self->begin, err) != MR_OK ||
        s_prepare(self, "COMMIT", &self->commit, err) != MR_OK ||
        s_prepare(self, s_sql_run_insert, &self->run_insert, err) != MR_OK ||
        s_prepare(self, s_sql_run_finish, &self->run_finish, err) != MR_OK ||
        s_prepare(self, s_sql_round_insert, &self->round_insert, err) != MR_OK ||
        s_prepare(self, s_sql_worker_insert, &self->worker_insert, err) != MR_OK ||
        s_prepare_worker_insert_many(self, err) != MR_OK ||
        s_prepare(self, s_sql_rejection_insert, &self->reject_insert, err) != MR_OK)
        goto fail;
    return self;

fail:
    db_close(&self);
    return NULL;
}

void
db_close(db_t **self_p)
{
    db_t *self = *self_p;
    if (!self)
        return;
    if (self->db && !sqlite3_get_autocommit(self->db) && self->commit &&
        s_commit(self, NULL) != MR_OK)
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(self->begin);
    sqlite3_finalize(self->commit);
    sqlite3_finalize(self->run_insert);
    sqlite3_finalize(self->run_finish);
    sqlite3_finalize(self->round_insert);
    sqlite3_finalize(self->worker_insert);
    sqlite3_finalize(self->worker_insert_many);
    sqlite3_finalize(self->reject_insert);
    sqlite3_close(self->db);  // NULL-safe; the last connection checkpoints and removes the WAL
    free(self->path);
    free(self);
    *self_p = NULL;
}

void
db_set_batch(db_t *self, int batch)
{
    self->batch = batch < 1 ? 1 : batch;
}

static void
s_bind_text(sqlite3_stmt *stmt, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, i, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, i);
}

//  NaN means "not evaluated" and is stored as NULL.
static void
s_bind_real(sqlite3_stmt *stmt, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(stmt, i);
    else
        sqlite3_bind_double(stmt, i, v);
}

int
db_run_begin(db_t *self, const run_info_t *run, int64_t *run_id, mr_err_t *err)
{
    char started[40];
    s_iso_time(run->start_time, started, sizeof started);
    sqlite3_stmt *st = self->run_insert;
    s_bind_text(st, 1, run->name);
    s_bind_text(st, 2, started);
    s_bind_text(st, 3, run->version);
    sqlite3_bind_int64(st, 4, (int64_t) run->seed);  // seeds >= 2^63 read back negative
    s_bind_text(st, 5, run->config);
    s_bind_text(st, 6, run->method);
    s_bind_text(st, 7, run->compressor);
    sqlite3_bind_int64(st, 8, run->n);
    sqlite3_bind_int64(st, 9, run->dim);
    s_bind_text(st, 10, run->dataset);
    s_bind_real(st, 11, run->f_star);
    s_bind_text(st, 12, run->problem);
    sqlite3_bind_int64(st, 13, run->byzantine);
    s_bind_text(st, 14, run->attack ? run->attack : "none");
    s_bind_text(st, 15, run->aggregator ? run->aggregator : "mean");
    sqlite3_bind_int64(st, 16, run->bucket);
    int rc = s_step_locked(st);
    if (rc != SQLITE_DONE) {
        rc = s_sql_fail(self->db, self->path, err, "cannot insert the run");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return rc;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);  // drop the borrowed strings' copies
    *run_id = sqlite3_last_insert_rowid(self->db);
    //  Inside a round batch the insert joined that transaction: commit it now.
    return s_commit(self, err);
}

//  The round's rejections, one "SENDER<TAB>REASON" line each (SENDER "-" when unknown).
static int
s_add_rejections(db_t *self, int64_t run_id, const round_stats_t *row, mr_err_t *err)
{
    sqlite3_stmt *st = self->reject_insert;
    for (const char *line = row->rejections; line && *line;) {
        const char *end = strchr(line, '\n'), *tab = strchr(line, '\t');
        size_t len = end ? (size_t) (end - line) : strlen(line);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, (int64_t) row->round);
        if (tab && tab < line + len) {
            char *num_end;
            long long sender = strtoll(line, &num_end, 10);
            if (num_end == tab)
                sqlite3_bind_int64(st, 3, sender);
            else
                sqlite3_bind_null(st, 3);
            sqlite3_bind_text(st, 4, tab + 1, (int) (line + len - tab - 1), SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, 3);
            sqlite3_bind_text(st, 4, line, (int) len, SQLITE_TRANSIENT);
        }
        if (s_step(st) != SQLITE_DONE)
            return s_sql_fail(self->db, self->path, err, "cannot insert a rejection");
        line += len + (end ? 1 : 0);
    }
    return MR_OK;
}

int
db_round_add(db_t *self, int64_t run_id, const round_stats_t *row, mr_err_t *err)
{
    if (sqlite3_get_autocommit(self->db)) {
        self->pending = 0;
        int begun = s_step_locked(self->begin);
        sqlite3_reset(self->begin);
        if (begun != SQLITE_DONE)
            return s_sql_fail(self->db, self->path, err, "cannot begin a transaction");
        self->txn_began = s_now();
    }
    sqlite3_stmt *st = self->round_insert;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, (int64_t) row->round);
    sqlite3_bind_int(st, 3, row->coin);
    s_bind_real(st, 4, row->f);
    s_bind_real(st, 5, row->grad_norm_sq);
    sqlite3_bind_int64(st, 6, (int64_t) row->bits_paper_up);
    sqlite3_bind_int64(st, 7, (int64_t) row->bits_model_up);
    sqlite3_bind_int64(st, 8, (int64_t) row->bytes_wire_up);
    sqlite3_bind_int64(st, 9, (int64_t) row->bits_paper_down);
    sqlite3_bind_int64(st, 10, (int64_t) row->bits_model_down);
    sqlite3_bind_int64(st, 11, (int64_t) row->bytes_wire_down);
    sqlite3_bind_int64(st, 12, (int64_t) row->nnz_up);
    sqlite3_bind_int64(st, 13, (int64_t) row->oracle_calls);
    sqlite3_bind_int64(st, 14, row->participants);
    s_bind_real(st, 15, row->wall_time_s);
    s_bind_real(st, 16, row->gap);
    sqlite3_bind_int64(st, 17, row->accepted);
    sqlite3_bind_int64(st, 18, row->rejected);
    s_bind_real(st, 19, row->agg_dist_sq);
    sqlite3_bind_int64(st, 20, (int64_t) row->bytes_metrics);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(self->db);
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            rc = mr_err_set(err, MR_EINVAL, "%s: run %lld round %llu is already recorded",
                            self->path, (long long) run_id, (unsigned long long) row->round);
        else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = mr_err_set(err, MR_EINVAL, "%s: round %llu names run %lld, which does not exist",
                            self->path, (unsigned long long) row->round, (long long) run_id);
        else
            rc = s_sql_fail(self->db, self->path, err, "cannot insert a round");
        sqlite3_reset(st);
        //  A failed statement leaves the transaction open unless SQLite had to roll it back.
        if (sqlite3_get_autocommit(self->db))
            self->pending = 0;
        return rc;
    }
    sqlite3_reset(st);
    //  The worker rows in id order, S_WORKER_ROWS a statement while that many are left.
    for (uint32_t i = 0; i < row->nworkers;) {
        int many = row->nworkers - i >= S_WORKER_ROWS;
        st = many ? self->worker_insert_many : self->worker_insert;
        for (int r = 0; r < (many ? S_WORKER_ROWS : 1); r++, i++) {
            const worker_stats_t *w = &row->workers[i];
            int at = r * S_WORKER_FIELDS;
            sqlite3_bind_int64(st, at + 1, run_id);
            sqlite3_bind_int64(st, at + 2, (int64_t) row->round);
            sqlite3_bind_int64(st, at + 3, i);
            sqlite3_bind_int(st, at + 4, w->sent);
            sqlite3_bind_int64(st, at + 5, (int64_t) w->bits_paper_up);
            sqlite3_bind_int64(st, at + 6, (int64_t) w->bits_model_up);
            sqlite3_bind_int64(st, at + 7, (int64_t) w->bytes_wire_up);
            sqlite3_bind_int64(st, at + 8, (int64_t) w->nnz_up);
            sqlite3_bind_int64(st, at + 9, (int64_t) w->oracle_calls);
        }
        if (s_step(st) != SQLITE_DONE)
            return s_sql_fail(self->db, self->path, err, "cannot insert a round_workers row");
    }
    int rc2 = s_add_rejections(self, run_id, row, err);
    if (rc2 != MR_OK)
        return rc2;
    if (++self->pending >= self->batch || s_now() - self->txn_began > S_TXN_MAX_S)
        return s_commit(self, err);
    return MR_OK;
}

int
db_last_run_id(db_t *self, int64_t *id, mr_err_t *err)
{
    sqlite3_stmt *st = NULL;
    *id = 0;
    if (sqlite3_prepare_v2(self->db, "SELECT coalesce(max(id), 0) FROM runs", -1, &st, NULL) !=
        SQLITE_OK)
        return s_sql_fail(self->db, self->path, err, "cannot read the runs");
    if (sqlite3_step(st) == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return MR_OK;
}

int
db_fail_running_after(
    db_t *self, int64_t after, const char *launch, const char *reason, int *count, mr_err_t *err)
{
    *count = 0;
    int rc = s_commit(self, err);
    if (rc != MR_OK)
        return rc;
    char finished[40];
    s_iso_time(0, finished, sizeof finished);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "UPDATE runs SET status = 'failed', error = ?, finished_at = ? "
                           "WHERE id > ? AND (status = 'running' OR (status = 'aborted' AND error "
                           "= '" DB_RECORDER_INTERRUPTED "')) AND (?4 IS NULL OR " S_SQL_LAUNCH ")",
                           -1, &st, NULL) != SQLITE_OK)
        return s_sql_fail(self->db, self->path, err, "cannot mark runs failed");
    sqlite3_bind_text(st, 1, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, finished, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, after);
    s_bind_text(st, 4, launch);
    int step = s_step_locked(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return s_sql_fail(self->db, self->path, err, "cannot mark runs failed");
    *count = sqlite3_changes(self->db);
    return MR_OK;
}

int
db_flush(db_t *self, mr_err_t *err)
{
    return s_commit(self, err);
}

int
db_run_finish(db_t *self, int64_t run_id, const char *status, const char *error, mr_err_t *err)
{
    if (!status || (strcmp(status, "completed") != 0 && strcmp(status, "failed") != 0 &&
                    strcmp(status, "aborted") != 0))
        return mr_err_set(err, MR_EINVAL, "run %lld: bad final status '%s'", (long long) run_id,
                          status ? status : "(null)");
    int rc = s_commit(self, err);
    if (rc != MR_OK)
        return rc;
    char finished[40];
    s_iso_time(0, finished, sizeof finished);
    sqlite3_stmt *st = self->run_finish;
    s_bind_text(st, 1, status);
    s_bind_text(st, 2, error);
    s_bind_text(st, 3, finished);
    sqlite3_bind_int64(st, 4, run_id);
    if (s_step_locked(st) != SQLITE_DONE)
        rc = s_sql_fail(self->db, self->path, err, "cannot finish the run");
    else if (sqlite3_changes(self->db) == 0)
        rc =
            mr_err_set(err, MR_EINVAL, "%s: no run %lld to finish", self->path, (long long) run_id);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

//  Opens path read-only (waiting for a writer's lock like the writers do) and prepares sql on it.
//  MR_OK with *db and *st set, or MR_EIO naming the step (what) that failed; the caller finalizes
//  *st and closes *db either way.
static int
s_open_read(const char *path,
            const char *sql,
            const char *what,
            sqlite3 **db,
            sqlite3_stmt **st,
            mr_err_t *err)
{
    *db = NULL;
    *st = NULL;
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return s_sql_fail(*db, path, err, "cannot open");
    sqlite3_busy_timeout(*db, S_BUSY_TIMEOUT_MS);
    if (sqlite3_prepare_v2(*db, sql, -1, st, NULL) != SQLITE_OK)
        return s_sql_fail(*db, path, err, what);
    return MR_OK;
}

int
db_launch_run(const char *path, const char *launch, int64_t after, int64_t *run_id, mr_err_t *err)
{
    *run_id = 0;
    sqlite3 *db;
    sqlite3_stmt *stmt;
    int rc =
        s_open_read(path, "SELECT coalesce(max(id), 0) FROM runs WHERE id > ?3 AND " S_SQL_LAUNCH,
                    "cannot read the runs", &db, &stmt, err);
    if (rc != MR_OK)
        goto out;
    sqlite3_bind_int64(stmt, 3, after);
    sqlite3_bind_text(stmt, 4, launch, -1, SQLITE_STATIC);
    if (s_step_locked(stmt) != SQLITE_ROW) {
        rc = s_sql_fail(db, path, err, "cannot read the runs");
        goto out;
    }
    *run_id = sqlite3_column_int64(stmt, 0);
out:
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

//  The run row, the sums over its rounds, and first / last evaluated f and grad_norm_sq.
static const char s_sql_summary_run[] =
    "SELECT id, status, coalesce(error, '') FROM runs WHERE ?1 <= 0 OR id = ?1"
    " ORDER BY id DESC LIMIT 1";
static const char s_sql_summary_rounds[] =
    "SELECT count(*), coalesce(sum(bits_paper_up), 0), coalesce(sum(bits_model_up), 0),"
    " coalesce(sum(bytes_wire_up), 0), coalesce(sum(bits_paper_down), 0),"
    " coalesce(sum(bits_model_down), 0), coalesce(sum(bytes_wire_down), 0),"
    " coalesce(sum(oracle_calls), 0),"
    " (SELECT f FROM rounds WHERE run_id = ?1 AND f IS NOT NULL ORDER BY round LIMIT 1),"
    " (SELECT f FROM rounds WHERE run_id = ?1 AND f IS NOT NULL ORDER BY round DESC LIMIT 1),"
    " (SELECT grad_norm_sq FROM rounds WHERE run_id = ?1 AND grad_norm_sq IS NOT NULL"
    "  ORDER BY round LIMIT 1),"
    " (SELECT grad_norm_sq FROM rounds WHERE run_id = ?1 AND grad_norm_sq IS NOT NULL"
    "  ORDER BY round DESC LIMIT 1),"
    " (SELECT wall_time_s FROM rounds WHERE run_id = ?1 ORDER BY round DESC LIMIT 1)"
    " FROM rounds WHERE run_id = ?1";

static double
s_column_real(sqlite3_stmt *stmt, int i)
{
    return sqlite3_column_type(stmt, i) == SQLITE_NULL ? NAN : sqlite3_column_double(stmt, i);
}

int
db_run_summary(const char *path, int64_t run_id, db_summary_t *out, mr_err_t *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = MR_OK, version = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = s_sql_fail(db, path, err, "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(db, S_BUSY_TIMEOUT_MS);
    rc = s_user_version(db, path, &version, err);
    if (rc != MR_OK)
        goto out;
    if (version != DB_SCHEMA_VERSION) {
        rc = s_version_mismatch(path, version, err);
        goto out;
    }

    if (sqlite3_prepare_v2(db, s_sql_summary_run, -1, &stmt, NULL) != SQLITE_OK) {
        rc = s_sql_fail(db, path, err, "cannot read the runs");
        goto out;
    }
    sqlite3_bind_int64(stmt, 1, run_id);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_DONE) {
        rc = run_id > 0 ? mr_err_set(err, MR_EINVAL, "%s: no run %lld", path, (long long) run_id)
                        : mr_err_set(err, MR_EINVAL, "%s: no runs recorded", path);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = s_sql_fail(db, path, err, "cannot read the runs");
        goto out;
    }
    out->run_id = sqlite3_column_int64(stmt, 0);
    const unsigned char *status = sqlite3_column_text(stmt, 1);
    const unsigned char *error = sqlite3_column_text(stmt, 2);
    snprintf(out->status, sizeof out->status, "%s", status ? (const char *) status : "");
    snprintf(out->error, sizeof out->error, "%s", error ? (const char *) error : "");
    sqlite3_finalize(stmt);
    stmt = NULL;

    if (sqlite3_prepare_v2(db, s_sql_summary_rounds, -1, &stmt, NULL) != SQLITE_OK) {
        rc = s_sql_fail(db, path, err, "cannot read the rounds");
        goto out;
    }
    sqlite3_bind_int64(stmt, 1, out->run_id);
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = s_sql_fail(db, path, err, "cannot read the rounds");
        goto out;
    }
    out->rounds = (uint64_t) sqlite3_column_int64(stmt, 0);
    out->bits_paper_up = (uint64_t) sqlite3_column_int64(stmt, 1);
    out->bits_model_up = (uint64_t) sqlite3_column_int64(stmt, 2);
    out->bytes_wire_up = (uint64_t) sqlite3_column_int64(stmt, 3);
    out->bits_paper_down = (uint64_t) sqlite3_column_int64(stmt, 4);
    out->bits_model_down = (uint64_t) sqlite3_column_int64(stmt, 5);
    out->bytes_wire_down = (uint64_t) sqlite3_column_int64(stmt, 6);
    out->oracle_calls = (uint64_t) sqlite3_column_int64(stmt, 7);
    out->f_first = s_column_real(stmt, 8);
    out->f_last = s_column_real(stmt, 9);
    out->gns_first = s_column_real(stmt, 10);
    out->gns_last = s_column_real(stmt, 11);
    out->wall_time_s = s_column_real(stmt, 12);

out:
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

int
db_find_fstar(const char *path, const char *problem, double *f_star, mr_err_t *err)
{
    *f_star = NAN;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int version = 0;
    //  No file, or a file of another version, simply has no cached value.
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        s_user_version(db, path, &version, NULL) != MR_OK || version != DB_SCHEMA_VERSION) {
        sqlite3_close(db);
        return MR_OK;
    }
    sqlite3_busy_timeout(db, S_BUSY_TIMEOUT_MS);
    int rc = MR_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT f_star FROM runs WHERE problem = ? AND f_star IS NOT NULL"
                           " ORDER BY id DESC LIMIT 1",
                           -1, &stmt, NULL) != SQLITE_OK) {
        rc = s_sql_fail(db, path, err, "cannot look up f*");
    } else {
        sqlite3_bind_text(stmt, 1, problem, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            *f_star = sqlite3_column_double(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

int
db_pending(const db_t *self)
{
    return self->pending;
}

int
db_run_attach(db_t *self, const char *launch, int64_t *run_id, int64_t *last_round, mr_err_t *err)
{
    *run_id = 0;
    *last_round = -1;
    int rc = s_commit(self, err);
    if (rc != MR_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT r.id, (SELECT coalesce(max(round), -1) FROM rounds WHERE run_id"
                           " = r.id) FROM runs r WHERE r.status = 'running' AND " S_SQL_LAUNCH
                           " ORDER BY r.id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return s_sql_fail(self->db, self->path, err, "cannot look for the run to continue");
    sqlite3_bind_text(st, 4, launch, -1, SQLITE_TRANSIENT);
    int step = s_step_locked(st);
    if (step == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(st, 0);
        *last_round = sqlite3_column_int64(st, 1);
    } else if (step != SQLITE_DONE) {
        rc = s_sql_fail(self->db, self->path, err, "cannot look for the run to continue");
    }
    sqlite3_finalize(st);
    return rc;
}

int
db_checkpoint_put(
    db_t *self, int64_t run_id, uint64_t round, const void *state, size_t size, mr_err_t *err)
{
    if (sqlite3_get_autocommit(self->db)) {
        int begun = s_step_locked(self->begin);
        sqlite3_reset(self->begin);
        if (begun != SQLITE_DONE)
            return s_sql_fail(self->db, self->path, err, "cannot begin a transaction");
        self->pending = 0;
        self->txn_began = s_now();
    }
    char created[40];
    s_iso_time(0, created, sizeof created);
    sqlite3_stmt *st = NULL;
    int rc = MR_OK;
    //  The latest checkpoint replaces the others: one per run.
    if (sqlite3_prepare_v2(self->db, "DELETE FROM checkpoints WHERE run_id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return s_sql_fail(self->db, self->path, err, "cannot replace the checkpoint");
    sqlite3_bind_int64(st, 1, run_id);
    if (s_step(st) != SQLITE_DONE)
        rc = s_sql_fail(self->db, self->path, err, "cannot replace the checkpoint");
    sqlite3_finalize(st);
    if (rc != MR_OK)
        return rc;
    if (sqlite3_prepare_v2(self->db,
                           "INSERT INTO checkpoints (run_id, round, created_at, state)"
                           " VALUES (?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return s_sql_fail(self->db, self->path, err, "cannot insert the checkpoint");
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, (int64_t) round);
    sqlite3_bind_text(st, 3, created, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob64(st, 4, state, size, SQLITE_STATIC);
    if (s_step(st) != SQLITE_DONE)
        rc = s_sql_fail(self->db, self->path, err, "cannot insert the checkpoint");
    sqlite3_finalize(st);
    if (rc != MR_OK)
        return rc;
    return s_commit(self, err);
}

int
db_checkpoint_get(
    const char *path, int64_t run_id, uint64_t *round, void **state, size_t *size, mr_err_t *err)
{
    *state = NULL;
    *size = 0;
    *round = 0;
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc = s_open_read(path,
                         "SELECT round, state FROM checkpoints WHERE run_id = ?"
                         " ORDER BY round DESC LIMIT 1",
                         "cannot read the checkpoints", &db, &st, err);
    if (rc != MR_OK)
        goto out;
    sqlite3_bind_int64(st, 1, run_id);
    int step = s_step_locked(st);
    if (step == SQLITE_DONE) {
        rc = mr_err_set(err, MR_EINVAL, "%s: run %lld has no checkpoint", path, (long long) run_id);
    } else if (step != SQLITE_ROW) {
        rc = s_sql_fail(db, path, err, "cannot read the checkpoints");
    } else {
        *round = (uint64_t) sqlite3_column_int64(st, 0);
        size_t n = (size_t) sqlite3_column_bytes(st, 1);
        const void *blob = sqlite3_column_blob(st, 1);
        *state = malloc(n ? n : 1);
        if (!*state)
            rc = mr_err_set(err, MR_ENOMEM, "out of memory reading a %zu-byte checkpoint", n);
        else if (n)
            memcpy(*state, blob, n);
        *size = n;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int
db_run_reopen(db_t *self, int64_t run_id, mr_err_t *err)
{
    int rc = s_commit(self, err);
    if (rc != MR_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(
            self->db,
            "UPDATE runs SET status = 'running', error = NULL, finished_at = NULL,"
            " resumes = resumes + 1 WHERE id = ? AND status IN ('failed', 'aborted')",
            -1, &st, NULL) != SQLITE_OK)
        return s_sql_fail(self->db, self->path, err, "cannot reopen the run");
    sqlite3_bind_int64(st, 1, run_id);
    int step = s_step_locked(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return s_sql_fail(self->db, self->path, err, "cannot reopen the run");
    if (sqlite3_changes(self->db) == 0)
        return mr_err_set(err, MR_EINVAL,
                          "%s: run %lld cannot be resumed: it does not exist, is still running or "
                          "completed",
                          self->path, (long long) run_id);
    return MR_OK;
}

int
db_run_config(
    const char *path, int64_t run_id, char **config, char *status, size_t size, mr_err_t *err)
{
    *config = NULL;
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc = s_open_read(path, "SELECT coalesce(config, ''), status FROM runs WHERE id = ?",
                         "cannot read the runs", &db, &st, err);
    if (rc != MR_OK)
        goto out;
    sqlite3_bind_int64(st, 1, run_id);
    int step = s_step_locked(st);
    if (step == SQLITE_DONE) {
        rc = mr_err_set(err, MR_EINVAL, "%s: there is no run %lld", path, (long long) run_id);
    } else if (step != SQLITE_ROW) {
        rc = s_sql_fail(db, path, err, "cannot read the runs");
    } else {
        *config = strdup((const char *) sqlite3_column_text(st, 0));
        snprintf(status, size, "%s", (const char *) sqlite3_column_text(st, 1));
        if (!*config)
            rc = mr_err_set(err, MR_ENOMEM, "out of memory");
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
