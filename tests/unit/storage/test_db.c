//  test_db.c - the result database: creation in WAL mode, what a run and its rounds read back as
//  (through plain sqlite3, as a user would), per-worker rows, batching and crash durability,
//  version checks and the migration from schema 1, rejected rows, db_run_summary() and
//  db_find_fstar().
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db.h"
#include "test_util.h"

typedef struct {
    char dir[64];    // mkdtemp directory, removed with its files in teardown
    char path[128];  // <dir>/results.db
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-db-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/results.db", f->dir);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    char path[160];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(path, sizeof path, "%s%s", f->path, suffix[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static run_info_t
s_run_info(void)
{
    run_info_t run = {
        .name = "test run",
        .version = "0.1.0",
        .config = "[method]\nname = marina\n",
        .seed = 42,
        .method = "marina",
        .compressor = "randk",
        .n = 5,
        .dim = 113,
        .dataset = "mushrooms",
        .start_time = 1700000000.25,  // 2023-11-14T22:13:20.250Z
        .f_star = NAN,                // unknown unless a test sets it
        .problem = "mushrooms|bias|logreg|lambda=0.001|n=5",
    };
    return run;
}

//  A rounds row whose figures are simple functions of k; f, grad_norm_sq and gap NaN when
//  k % 3 == 2. No per-worker rows.
static round_stats_t
s_round(uint64_t k)
{
    round_stats_t r = {
        .round = k,
        .coin = k == 0 || k % 7 == 0,
        .f = k % 3 == 2 ? NAN : 1.0 / (double) (k + 1),
        .grad_norm_sq = k % 3 == 2 ? NAN : 0.5 / (double) (k + 1),
        .bits_paper_up = 32 * k,
        .bits_model_up = 40 * k,
        .bytes_wire_up = 7 * k + 1,
        .bits_paper_down = 320,
        .bits_model_down = 330,
        .bytes_wire_down = 50,
        .nnz_up = k + 2,
        .oracle_calls = 10,
        .participants = 5,
        .wall_time_s = 0.001 * (double) k,
        .gap = k % 3 == 2 ? NAN : 1.0 / (double) (k + 1) - 0.125,
    };
    return r;
}

static db_t *
s_open(const char *path)
{
    mr_err_t err = {0};
    db_t *db = db_open(path, &err);
    if (!db)
        print_error("db_open: %s\n", err.text);
    assert_non_null(db);
    return db;
}

static void
s_add(db_t *db, int64_t run_id, uint64_t from, uint64_t to)
{
    mr_err_t err = {0};
    for (uint64_t k = from; k < to; k++) {
        round_stats_t r = s_round(k);
        int rc = db_round_add(db, run_id, &r, &err);
        if (rc != MR_OK)
            print_error("db_round_add: %s\n", err.text);
        assert_int_equal(rc, MR_OK);
    }
}

//  The first column of the first row of sql over a fresh read-only connection, as an integer.
static int64_t
s_query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

//  Likewise as text, copied to out ("(null)" for NULL).
static void
s_query_text(const char *path, const char *sql, char *out, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *text = sqlite3_column_text(st, 0);
    snprintf(out, len, "%s", text ? (const char *) text : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

//  Makes a database file with the given user_version and one table, not through db_open().
static void
s_make_foreign(const char *path, int version)
{
    sqlite3 *db = NULL;
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE TABLE t(x); PRAGMA user_version = %d;", version);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void
test_open_creates_wal_database(void **state)
{
    fixture_t *f = *state;
    db_t *db = s_open(f->path);
    char mode[16];
    s_query_text(f->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(s_query_int(f->path, "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(s_query_int(f->path,
                                 "SELECT count(*) FROM sqlite_master WHERE type = "
                                 "'table' AND name IN ('runs', 'rounds', 'round_workers')"),
                     3);
    db_close(&db);
    assert_null(db);
    db_close(&db);  // NULL-safe
    s_query_text(f->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");  // WAL is a property of the file
}

static void
test_records_run_and_rounds(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    run_info_t run = s_run_info();
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    assert_int_equal(id, 1);
    s_add(db, id, 0, 1000);
    assert_int_equal(db_run_finish(db, id, "completed", NULL, &err), MR_OK);
    db_close(&db);

    const char *p = f->path;
    char text[128];
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE run_id = 1"), 1000);
    assert_int_equal(s_query_int(p, "SELECT max(round) FROM rounds"), 999);
    s_query_text(p, "SELECT status FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "completed");
    s_query_text(p, "SELECT started_at FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "2023-11-14T22:13:20.250Z");
    s_query_text(p, "SELECT finished_at FROM runs WHERE id = 1", text, sizeof text);
    assert_int_equal(strlen(text), 24);  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
    assert_int_equal(text[23], 'Z');
    s_query_text(p, "SELECT error FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "(null)");
    s_query_text(p,
                 "SELECT name || '|' || version || '|' || method || '|' || compressor || '|'"
                 " || dataset || '|' || seed || '|' || n || '|' || d FROM runs",
                 text, sizeof text);
    assert_string_equal(text, "test run|0.1.0|marina|randk|mushrooms|42|5|113");
    s_query_text(p, "SELECT config FROM runs", text, sizeof text);
    assert_string_equal(text, run.config);
    s_query_text(p, "SELECT problem FROM runs", text, sizeof text);
    assert_string_equal(text, run.problem);
    assert_int_equal(s_query_int(p, "SELECT f_star IS NULL FROM runs"), 1);  // NaN: unknown

    //  One row in full; NaN went in as NULL.
    round_stats_t r = s_round(700);
    assert_int_equal(s_query_int(p, "SELECT c_k FROM rounds WHERE round = 700"), r.coin);
    assert_int_equal(s_query_int(p, "SELECT c_k FROM rounds WHERE round = 0"), 1);
    assert_int_equal(s_query_int(p, "SELECT f = 1.0 / 701 AND grad_norm_sq = 0.5 / 701"
                                    " FROM rounds WHERE round = 700"),
                     1);
    assert_int_equal(s_query_int(p, "SELECT bits_paper_up FROM rounds WHERE round = 700"),
                     r.bits_paper_up);
    assert_int_equal(s_query_int(p, "SELECT bits_model_up FROM rounds WHERE round = 700"),
                     r.bits_model_up);
    assert_int_equal(s_query_int(p, "SELECT bytes_wire_up FROM rounds WHERE round = 700"),
                     r.bytes_wire_up);
    assert_int_equal(s_query_int(p, "SELECT bits_paper_down + bits_model_down + bytes_wire_down"
                                    " FROM rounds WHERE round = 700"),
                     320 + 330 + 50);
    assert_int_equal(s_query_int(p, "SELECT nnz_up FROM rounds WHERE round = 700"), 702);
    assert_int_equal(s_query_int(p, "SELECT oracle_calls * 100 + participants"
                                    " FROM rounds WHERE round = 700"),
                     1005);
    assert_int_equal(
        s_query_int(p, "SELECT abs(wall_time_s - 0.7) < 1e-12 FROM rounds WHERE round = 700"), 1);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE f IS NULL"), 333);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE grad_norm_sq IS NULL"
                                    " AND round % 3 = 2"),
                     333);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE gap IS NULL"
                                    " AND round % 3 = 2"),
                     333);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE gap IS NULL"), 333);
    assert_int_equal(s_query_int(p, "SELECT gap = 1.0 / 701 - 0.125 FROM rounds WHERE round = 700"),
                     1);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM round_workers"), 0);  // nworkers = 0
}

static void
test_records_per_worker_rows(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    db_set_batch(db, 2);
    run_info_t run = s_run_info();
    run.f_star = 0.125;
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    //  Three workers; in round k, worker (k % 3) was not drawn (PP-MARINA): it sent nothing.
    for (uint64_t k = 0; k < 5; k++) {
        worker_stats_t w[3];
        for (uint32_t i = 0; i < 3; i++) {
            int sent = i != k % 3;
            w[i] = (worker_stats_t){.bits_paper_up = sent * (320 + k),
                                    .bits_model_up = sent * (390 + k),
                                    .bytes_wire_up = sent * (132 + i),
                                    .nnz_up = sent * 10,
                                    .oracle_calls = sent * (100 + 10 * i),
                                    .sent = sent};
        }
        round_stats_t r = s_round(k);
        r.participants = 2;
        r.nworkers = 3;
        r.workers = w;
        assert_int_equal(db_round_add(db, id, &r, &err), MR_OK);
    }
    //  A row without per-worker shares writes none; a duplicate round writes none either.
    round_stats_t r = s_round(5);
    assert_int_equal(db_round_add(db, id, &r, &err), MR_OK);
    worker_stats_t extra[3] = {{.sent = 1}, {.sent = 1}, {.sent = 1}};
    r = s_round(4);
    r.nworkers = 3;
    r.workers = extra;
    assert_int_equal(db_round_add(db, id, &r, &err), MR_EINVAL);
    db_close(&db);

    const char *p = f->path;
    char text[160];
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM round_workers"), 15);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM round_workers WHERE round = 4"), 3);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM round_workers WHERE round = 5"), 0);
    assert_int_equal(s_query_int(p, "SELECT count(DISTINCT run_id) FROM round_workers"), 1);
    //  Round 4: worker 1 was left out; 0 and 2 sent.
    s_query_text(p,
                 "SELECT group_concat(worker || ':' || sent || ':' || bits_paper_up || ':' ||"
                 " bits_model_up || ':' || bytes_wire_up || ':' || nnz_up || ':' || oracle_calls,"
                 " ' ') FROM (SELECT * FROM round_workers WHERE round = 4 ORDER BY worker)",
                 text, sizeof text);
    assert_string_equal(text, "0:1:324:394:132:10:100 1:0:0:0:0:0:0 2:1:324:394:134:10:120");
    //  Per round, two senders, matching the rounds row's participants.
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM (SELECT round, sum(sent) AS s"
                                    " FROM round_workers GROUP BY round) WHERE s = 2"),
                     5);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds r WHERE participants ="
                                    " (SELECT sum(sent) FROM round_workers w"
                                    "  WHERE w.run_id = r.run_id AND w.round = r.round)"),
                     5);
    s_query_text(p, "SELECT f_star FROM runs", text, sizeof text);
    assert_string_equal(text, "0.125");
}

static void
test_reopen_existing_file_appends_runs(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    run_info_t run = s_run_info();
    int64_t id = 0;
    for (int64_t want = 1; want <= 3; want++) {
        db_t *db = s_open(f->path);
        assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
        assert_int_equal(id, want);
        s_add(db, id, 0, 10);
        assert_int_equal(db_run_finish(db, id, "completed", NULL, &err), MR_OK);
        db_close(&db);
    }
    assert_int_equal(s_query_int(f->path, "SELECT count(*) FROM rounds"), 30);
}

static void
test_refuses_other_schema_version(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    s_make_foreign(f->path, 7);
    assert_null(db_open(f->path, &err));
    assert_int_equal(err.rc, MR_EVERSION);
    assert_non_null(strstr(err.text, f->path));
    assert_non_null(strstr(err.text, "version 7"));
    assert_non_null(strstr(err.text, "uses version 5"));
    char mode[16];
    s_query_text(f->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "delete");  // the foreign file was left as it was

    //  A database of someone else's (tables, but user_version 0) is refused too.
    char other[160];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    s_make_foreign(other, 0);
    assert_null(db_open(other, &err));
    assert_int_equal(err.rc, MR_EVERSION);
    assert_non_null(strstr(err.text, "version 0"));
    db_summary_t sum;
    assert_int_equal(db_run_summary(f->path, 0, &sum, &err), MR_EVERSION);
}

//  Schema version 1 as the previous release created it: no runs.f_star, runs.problem,
//  rounds.gap or round_workers. Written out here rather than taken from db.c, which only knows v2.
static const char s_schema_v1[] =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY, name TEXT, started_at TEXT NOT NULL, finished_at TEXT,"
    " version TEXT, seed INTEGER, config TEXT, method TEXT, compressor TEXT, n INTEGER,"
    " d INTEGER, dataset TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'aborted')),"
    " error TEXT);"
    "CREATE TABLE rounds ("
    " run_id INTEGER NOT NULL REFERENCES runs(id), round INTEGER NOT NULL,"
    " c_k INTEGER NOT NULL, f REAL, grad_norm_sq REAL, bits_paper_up INTEGER NOT NULL,"
    " bits_model_up INTEGER NOT NULL, bytes_wire_up INTEGER NOT NULL,"
    " bits_paper_down INTEGER NOT NULL, bits_model_down INTEGER NOT NULL,"
    " bytes_wire_down INTEGER NOT NULL, nnz_up INTEGER NOT NULL, oracle_calls INTEGER NOT NULL,"
    " participants INTEGER NOT NULL, wall_time_s REAL,"
    " PRIMARY KEY (run_id, round)) WITHOUT ROWID;"
    "INSERT INTO runs (name, started_at, finished_at, version, seed, method, compressor, n, d,"
    " dataset, status) VALUES ('old run', '2024-01-02T03:04:05.000Z', '2024-01-02T03:05:00.000Z',"
    " '0.0.9', 7, 'marina', 'randk', 4, 113, 'a9a', 'completed');"
    "INSERT INTO rounds VALUES (1, 0, 1, 0.69, 0.01, 100, 110, 60, 200, 210, 70, 3, 40, 4, 0.5);"
    "INSERT INTO rounds VALUES (1, 1, 0, NULL, NULL, 10, 11, 6, 20, 21, 7, 1, 4, 4, 0.75);"
    "PRAGMA user_version = 1;";

//  Writes a version-1 file with one finished run of two rounds; extra SQL runs before the
//  version is set (to make a broken v1 file).
static void
s_make_v1(const char *path, const char *extra)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, s_schema_v1, NULL, NULL, &msg);
    if (rc == SQLITE_OK && extra)
        rc = sqlite3_exec(db, extra, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("v1 schema: %s", msg ? msg : "?");
    sqlite3_close(db);
}

//  1 if table has a column named column, else 0.
static int64_t
s_has_column(const char *path, const char *table, const char *column)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'",
             table, column);
    return s_query_int(path, sql);
}

static void
test_migrates_a_version_1_file(void **state)
{
    fixture_t *f = *state;
    const char *p = f->path;
    mr_err_t err = {0};
    s_make_v1(p, NULL);
    assert_int_equal(s_query_int(p, "PRAGMA user_version"), 1);
    assert_int_equal(s_has_column(p, "runs", "f_star"), 0);
    db_summary_t sum;
    assert_int_equal(db_run_summary(p, 0, &sum, &err), MR_EVERSION);  // readers do not migrate
    double fs = 0;
    assert_int_equal(db_find_fstar(p, "anything", &fs, &err), MR_OK);
    assert_true(isnan(fs));
    assert_int_equal(s_query_int(p, "PRAGMA user_version"), 1);

    db_t *db = s_open(p);
    //  The old rows are still there, with NULL (or the defaults) in the new columns.
    assert_int_equal(s_query_int(p, "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(s_has_column(p, "rounds", "bytes_metrics"), 1);  // v5
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE bytes_metrics = 0"), 2);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM runs WHERE byzantine = 0"), 1);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rejections"), 0);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE run_id = 1"), 2);
    char text[128];
    s_query_text(p,
                 "SELECT name || '|' || status || '|' || seed || '|' || dataset || '|' ||"
                 " finished_at FROM runs WHERE id = 1",
                 text, sizeof text);
    assert_string_equal(text, "old run|completed|7|a9a|2024-01-02T03:05:00.000Z");
    assert_int_equal(s_query_int(p, "SELECT sum(bits_paper_up) + sum(oracle_calls) FROM rounds"),
                     110 + 44);
    assert_int_equal(s_query_int(p, "SELECT f_star IS NULL AND problem IS NULL FROM runs"), 1);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds WHERE gap IS NULL"), 2);
    assert_int_equal(s_has_column(p, "runs", "f_star"), 1);
    assert_int_equal(s_has_column(p, "runs", "problem"), 1);
    assert_int_equal(s_has_column(p, "rounds", "gap"), 1);
    assert_int_equal(s_has_column(p, "round_workers", "oracle_calls"), 1);
    assert_int_equal(s_query_int(p, "SELECT dataset_sha256 IS NULL FROM runs WHERE id = 1"), 1);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM round_workers"), 0);
    char mode[16];
    s_query_text(p, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");

    //  The migrated file records v2 runs: f*, the gap and per-worker rows.
    run_info_t run = s_run_info();
    run.f_star = 0.25;
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    assert_int_equal(id, 2);
    worker_stats_t w[2] = {{.nnz_up = 5, .sent = 1}, {.sent = 0}};
    round_stats_t r = s_round(0);
    r.nworkers = 2;
    r.workers = w;
    assert_int_equal(db_round_add(db, id, &r, &err), MR_OK);
    assert_int_equal(db_run_finish(db, id, "completed", NULL, &err), MR_OK);
    db_close(&db);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM round_workers WHERE run_id = 2"), 2);
    assert_int_equal(s_query_int(p, "SELECT gap = 0.875 FROM rounds WHERE run_id = 2"), 1);
    assert_int_equal(db_run_summary(p, 1, &sum, &err), MR_OK);
    assert_int_equal(sum.rounds, 2);
    assert_near(sum.f_first, 0.69, 0);
    assert_int_equal(db_find_fstar(p, run.problem, &fs, &err), MR_OK);
    assert_true(fs == 0.25);

    //  Opening again changes nothing: no second migration.
    db = s_open(p);
    db_close(&db);
    assert_int_equal(s_query_int(p, "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM runs"), 2);
}

static void
test_dataset_sha256_comes_from_the_problem_key(void **state)
{
    //  The launcher keys a LibSVM problem on its file's content, "sha256:<hex> ..."; the
    //  dataset_sha256 column shows that hex, and stays NULL for other keys (synthetic data).
    fixture_t *f = *state;
    const char *p = f->path;
    mr_err_t err = {0};
    db_t *db = s_open(p);
    const char *hex = "f39a4eb628dc61a7d43760815b061c9e497aa728ce1ad8bde57a09ef6043b538";
    char key[160];
    snprintf(key, sizeof key, "sha256:%s bias=1 loss=logreg", hex);
    run_info_t run = s_run_info();
    run.problem = key;
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    run = s_run_info();
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    db_close(&db);
    char text[80];
    s_query_text(p, "SELECT dataset_sha256 FROM runs WHERE id = 1", text, sizeof text);
    assert_string_equal(text, hex);
    assert_int_equal(s_query_int(p, "SELECT dataset_sha256 IS NULL FROM runs WHERE id = 2"), 1);
}

static void
test_failed_migration_changes_nothing(void **state)
{
    fixture_t *f = *state;
    const char *p = f->path;
    mr_err_t err = {0};
    //  A v1 file that somehow already has rounds.gap: the third statement of the migration
    //  fails after the first two altered runs, and the whole transaction must roll back.
    s_make_v1(p, "ALTER TABLE rounds ADD COLUMN gap REAL;");
    assert_null(db_open(p, &err));
    assert_int_equal(err.rc, MR_EIO);
    assert_non_null(strstr(err.text, "cannot migrate the schema from version 1"));
    assert_non_null(strstr(err.text, "gap"));  // SQLite's "duplicate column name: gap"
    assert_int_equal(s_query_int(p, "PRAGMA user_version"), 1);
    assert_int_equal(s_has_column(p, "runs", "f_star"), 0);
    assert_int_equal(s_has_column(p, "runs", "problem"), 0);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM sqlite_master"
                                    " WHERE name = 'round_workers'"),
                     0);
    assert_int_equal(s_query_int(p, "SELECT count(*) FROM rounds"), 2);
}

static void
test_find_fstar_returns_the_latest_for_its_problem(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    double fs = 0;
    //  No file yet: no cached value, and no error (the first run of a problem computes f*).
    assert_int_equal(db_find_fstar(f->path, "a", &fs, &err), MR_OK);
    assert_true(isnan(fs));
    assert_int_equal(access(f->path, F_OK), -1);  // and the lookup did not create it

    db_t *db = s_open(f->path);
    struct {
        const char *problem;
        double f_star;
    } runs[] = {
        {"a", 1.5},    // run 1
        {"b", 2.5},    // run 2
        {"a", 1.25},   // run 3: the latest f* of "a"
        {"a", NAN},    // run 4: a later run of "a" that did not know f* (NULL) is skipped
        {NULL, 9.0},   // run 5: no problem key
        {"a|x", 7.0},  // run 6: a different key that starts like "a"
        {"b", -0.5},   // run 7: f* may be negative
        {"c", NAN},    // run 8: "c" never had an f*
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        run_info_t run = s_run_info();
        run.problem = runs[i].problem;
        run.f_star = runs[i].f_star;
        int64_t id = 0;
        assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
        assert_int_equal(id, (int64_t) i + 1);
    }
    //  Run rows are committed at once: the lookup sees them while the recorder holds the file.
    assert_int_equal(db_find_fstar(f->path, "a", &fs, &err), MR_OK);
    assert_true(fs == 1.25);
    db_close(&db);
    assert_int_equal(db_find_fstar(f->path, "b", &fs, &err), MR_OK);
    assert_true(fs == -0.5);
    assert_int_equal(db_find_fstar(f->path, "a|x", &fs, &err), MR_OK);
    assert_true(fs == 7.0);
    const char *none[] = {"c", "d", "", "A"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        fs = 0;
        assert_int_equal(db_find_fstar(f->path, none[i], &fs, &err), MR_OK);
        assert_true(isnan(fs));
    }
    fs = 0;
    assert_int_equal(db_find_fstar(f->path, NULL, &fs, &err), MR_OK);  // NULL never matches
    assert_true(isnan(fs));
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir.db", f->dir);
    fs = 0;
    assert_int_equal(db_find_fstar(missing, "a", &fs, &err), MR_OK);
    assert_true(isnan(fs));
}

static void
test_refuses_a_file_that_is_not_a_database(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 100; i++)
        fputs("this is not a database file\n", fp);
    fclose(fp);
    assert_null(db_open(f->path, &err));
    assert_int_equal(err.rc, MR_EIO);
    assert_non_null(strstr(err.text, "not a database"));  // sqlite3_errmsg
    //  Names of no file: SQLite would write a temporary or in-memory database, lost at exit.
    const char *nofile[] = {"", ":memory:", "file::memory:"};
    for (size_t i = 0; i < 3; i++) {
        assert_null(db_open(nofile[i], &err));
        assert_int_equal(err.rc, MR_EINVAL);
        assert_non_null(strstr(err.text, "names no file"));
    }
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir.db", f->dir);
    assert_null(db_open(missing, &err));
    assert_int_equal(err.rc, MR_EIO);
}

static void
test_rejects_duplicate_round(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    run_info_t run = s_run_info();
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    s_add(db, id, 0, 4);
    round_stats_t r = s_round(3);
    assert_int_equal(db_round_add(db, id, &r, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "run 1 round 3"));
    //  The rejection cost that row only: the batch and later rows go on.
    s_add(db, id, 4, 6);
    assert_int_equal(db_flush(db, &err), MR_OK);
    assert_int_equal(s_query_int(f->path, "SELECT count(*) FROM rounds"), 6);
    assert_int_equal(s_query_int(f->path, "SELECT bytes_wire_up FROM rounds WHERE round = 3"), 22);
    db_close(&db);
}

static void
test_rejects_unknown_run_and_bad_status(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    round_stats_t r = s_round(0);
    assert_int_equal(db_round_add(db, 99, &r, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "run 99"));
    assert_int_equal(db_run_finish(db, 99, "completed", NULL, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "no run 99"));
    run_info_t run = s_run_info();
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    assert_int_equal(db_run_finish(db, id, "running", NULL, &err), MR_EINVAL);
    assert_int_equal(db_run_finish(db, id, "done", NULL, &err), MR_EINVAL);
    assert_int_equal(db_run_finish(db, id, NULL, NULL, &err), MR_EINVAL);
    assert_int_equal(db_run_finish(db, id, "aborted", "interrupted", &err), MR_OK);
    db_close(&db);
    char text[32];
    s_query_text(f->path, "SELECT status || ':' || error FROM runs", text, sizeof text);
    assert_string_equal(text, "aborted:interrupted");
    assert_int_equal(s_query_int(f->path, "SELECT count(*) FROM rounds"), 0);
}

static void
test_commits_every_batch_rows(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    db_set_batch(db, 4);
    run_info_t run = s_run_info();
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    //  The run row is visible to another connection at once.
    assert_int_equal(s_query_int(f->path, "SELECT count(*) FROM runs"), 1);
    const char *count = "SELECT count(*) FROM rounds";
    s_add(db, id, 0, 3);
    assert_int_equal(s_query_int(f->path, count), 0);  // a reader sees committed rows only
    s_add(db, id, 3, 4);
    assert_int_equal(s_query_int(f->path, count), 4);
    s_add(db, id, 4, 5);
    assert_int_equal(s_query_int(f->path, count), 4);
    assert_int_equal(db_flush(db, &err), MR_OK);
    assert_int_equal(s_query_int(f->path, count), 5);
    assert_int_equal(db_flush(db, &err), MR_OK);  // nothing pending: fine
    s_add(db, id, 5, 6);
    //  A new run commits the pending rows of the old one with its own row.
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    assert_int_equal(s_query_int(f->path, count), 6);
    s_add(db, id, 0, 2);
    assert_int_equal(db_run_finish(db, id, "completed", NULL, &err), MR_OK);
    assert_int_equal(s_query_int(f->path, count), 8);
    s_add(db, 1, 6, 7);
    db_close(&db);  // commits
    assert_int_equal(s_query_int(f->path, count), 9);
}

static void
test_crash_keeps_committed_rows(void **state)
{
    fixture_t *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        //  The child records 25 rows in batches of 10, flushes, buffers 3 more and dies.
        mr_err_t err = {0};
        db_t *db = db_open(f->path, &err);
        run_info_t run = s_run_info();
        int64_t id = 0;
        if (!db || db_run_begin(db, &run, &id, &err) != MR_OK)
            _exit(1);
        db_set_batch(db, 10);
        for (uint64_t k = 0; k < 28; k++) {
            round_stats_t r = s_round(k);
            if (db_round_add(db, id, &r, &err) != MR_OK)
                _exit(2);
            if (k == 24 && db_flush(db, &err) != MR_OK)
                _exit(3);
        }
        _exit(0);  // no db_close: rows 25..27 were never committed
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_int_equal(s_query_int(f->path, "SELECT count(*) FROM rounds"), 25);
    assert_int_equal(s_query_int(f->path, "SELECT max(round) FROM rounds"), 24);
    char text[32];
    s_query_text(f->path, "SELECT status FROM runs", text, sizeof text);
    assert_string_equal(text, "running");
    //  The file opens again for the next run.
    db_t *db = s_open(f->path);
    mr_err_t err = {0};
    run_info_t run = s_run_info();
    int64_t id = 0;
    assert_int_equal(db_run_begin(db, &run, &id, &err), MR_OK);
    assert_int_equal(id, 2);
    db_close(&db);
}

static void
test_summary_returns_run_figures(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_summary_t sum;
    assert_int_equal(db_run_summary(f->path, 0, &sum, &err), MR_EIO);  // no file yet

    db_t *db = s_open(f->path);
    run_info_t run = s_run_info();
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(db_run_begin(db, &run, &id1, &err), MR_OK);
    s_add(db, id1, 0, 12);  // f NaN at rounds 2, 5, 8, 11
    assert_int_equal(db_run_finish(db, id1, "completed", NULL, &err), MR_OK);
    assert_int_equal(db_run_begin(db, &run, &id2, &err), MR_OK);
    assert_int_equal(db_run_summary(f->path, 0, &sum, &err), MR_OK);
    assert_int_equal(sum.run_id, id2);  // the latest run, still without rounds
    assert_int_equal(sum.rounds, 0);
    assert_string_equal(sum.status, "running");
    assert_true(isnan(sum.f_first) && isnan(sum.f_last) && isnan(sum.wall_time_s));
    s_add(db, id2, 0, 3);
    assert_int_equal(db_run_finish(db, id2, "failed", "worker 3 died", &err), MR_OK);
    db_close(&db);

    assert_int_equal(db_run_summary(f->path, id1, &sum, &err), MR_OK);
    assert_int_equal(sum.run_id, id1);
    assert_int_equal(sum.rounds, 12);
    assert_near(sum.f_first, 1.0, 0);
    assert_near(sum.f_last, 1.0 / 11, 1e-15);  // round 10: the last evaluated
    assert_near(sum.gns_first, 0.5, 0);
    assert_near(sum.gns_last, 0.5 / 11, 1e-15);
    assert_int_equal(sum.bits_paper_up, 32 * 66);  // sum of 32 k over k < 12
    assert_int_equal(sum.bits_model_up, 40 * 66);
    assert_int_equal(sum.bytes_wire_up, 7 * 66 + 12);
    assert_int_equal(sum.bits_paper_down, 320 * 12);
    assert_int_equal(sum.bits_model_down, 330 * 12);
    assert_int_equal(sum.bytes_wire_down, 50 * 12);
    assert_int_equal(sum.oracle_calls, 120);
    assert_near(sum.wall_time_s, 0.011, 1e-15);
    assert_string_equal(sum.status, "completed");
    assert_string_equal(sum.error, "");

    assert_int_equal(db_run_summary(f->path, -1, &sum, &err), MR_OK);
    assert_int_equal(sum.run_id, id2);
    assert_int_equal(sum.rounds, 3);
    assert_near(sum.f_last, 0.5, 0);  // round 1
    assert_string_equal(sum.status, "failed");
    assert_string_equal(sum.error, "worker 3 died");

    assert_int_equal(db_run_summary(f->path, 77, &sum, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "no run 77"));
}

//  Runs of one launch carry "launch = TOKEN" in their config (db.h): a launcher finds its own
//  run among others in the file, and marks only its own runs failed.
static void
test_launch_token_finds_and_fails_only_its_runs(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    run_info_t run = s_run_info();
    int64_t a = 0, b = 0, c = 0, found = 0;
    run.config = "method = marina\nlaunch = 11-1.5\nseed = 1\n";
    assert_int_equal(db_run_begin(db, &run, &a, &err), MR_OK);
    run.config = "method = marina\nlaunch = 11-1.55\nseed = 1\n";  // a token that extends a's
    assert_int_equal(db_run_begin(db, &run, &b, &err), MR_OK);
    run.config = "method = marina\nseed = 1\n";  // no launch token (hand-started actors)
    assert_int_equal(db_run_begin(db, &run, &c, &err), MR_OK);

    assert_int_equal(db_launch_run(f->path, "11-1.5", 0, &found, &err), MR_OK);
    assert_int_equal(found, a);
    assert_int_equal(db_launch_run(f->path, "11-1.55", 0, &found, &err), MR_OK);
    assert_int_equal(found, b);
    assert_int_equal(db_launch_run(f->path, "11-1.5", a, &found, &err), MR_OK);
    assert_int_equal(found, 0);  // only ids after the given one
    assert_int_equal(db_launch_run(f->path, "12-1", 0, &found, &err), MR_OK);
    assert_int_equal(found, 0);

    int count = -1;
    assert_int_equal(db_fail_running_after(db, 0, "11-1.55", "gone", &count, &err), MR_OK);
    assert_int_equal(count, 1);
    db_summary_t sum;
    assert_int_equal(db_run_summary(f->path, a, &sum, &err), MR_OK);
    assert_string_equal(sum.status, "running");  // another launch's run is left alone
    assert_int_equal(db_run_summary(f->path, b, &sum, &err), MR_OK);
    assert_string_equal(sum.status, "failed");
    assert_string_equal(sum.error, "gone");
    assert_int_equal(db_fail_running_after(db, b, NULL, "any", &count, &err), MR_OK);
    assert_int_equal(count, 1);  // NULL: every launch, ids after b only: c
    assert_int_equal(db_run_summary(f->path, a, &sum, &err), MR_OK);
    assert_string_equal(sum.status, "running");
    db_close(&db);
}

//  A restarted recorder continues its launch's running run (and learns its last round); a
//  checkpoint replaces the run's earlier one and reads back byte for byte; a failed run reopens
//  once for --resume, a completed or running one does not.
static void
test_attach_checkpoint_and_reopen(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    run_info_t run = s_run_info();
    int64_t a = 0, b = 0, found = -1, last = -5;
    run.config = "method = marina\nlaunch = 7-1\nseed = 1\n";
    assert_int_equal(db_run_begin(db, &run, &a, &err), MR_OK);
    assert_int_equal(db_run_attach(db, "7-1", &found, &last, &err), MR_OK);
    assert_int_equal(found, a);
    assert_int_equal(last, -1);  // no rows yet
    s_add(db, a, 0, 12);
    assert_true(db_pending(db) > 0);
    assert_int_equal(db_run_attach(db, "7-1", &found, &last, &err), MR_OK);  // commits first
    assert_int_equal(db_pending(db), 0);
    assert_int_equal(last, 11);
    assert_int_equal(db_run_attach(db, "7-2", &found, &last, &err), MR_OK);
    assert_int_equal(found, 0);

    uint8_t one[300], two[5] = {9, 8, 7, 6, 5};
    for (size_t i = 0; i < sizeof one; i++)
        one[i] = (uint8_t) (i * 7);
    assert_int_equal(db_checkpoint_put(db, a, 5, one, sizeof one, &err), MR_OK);
    assert_int_equal(db_checkpoint_put(db, a, 10, two, sizeof two, &err), MR_OK);
    uint64_t round = 0;
    void *got = NULL;
    size_t size = 0;
    assert_int_equal(db_checkpoint_get(f->path, a, &round, &got, &size, &err), MR_OK);
    assert_int_equal(round, 10);
    assert_int_equal(size, sizeof two);
    assert_memory_equal(got, two, sizeof two);
    free(got);
    assert_int_equal(s_query_int(f->path, "SELECT count(*) FROM checkpoints"), 1);
    run.config = "launch = 7-3\n";
    assert_int_equal(db_run_begin(db, &run, &b, &err), MR_OK);
    assert_int_equal(db_checkpoint_get(f->path, b, &round, &got, &size, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "no checkpoint"));

    assert_int_equal(db_run_reopen(db, a, &err), MR_EINVAL);  // still running
    assert_int_equal(db_run_finish(db, a, "failed", "killed", &err), MR_OK);
    assert_int_equal(db_run_attach(db, "7-1", &found, &last, &err), MR_OK);
    assert_int_equal(found, 0);  // a failed run is not continued by a recorder
    assert_int_equal(db_run_reopen(db, a, &err), MR_OK);
    assert_int_equal(s_query_int(f->path, "SELECT resumes FROM runs WHERE id = 1"), 1);
    assert_int_equal(db_run_attach(db, "7-1", &found, &last, &err), MR_OK);
    assert_int_equal(found, a);
    assert_int_equal(last, 11);
    assert_int_equal(db_run_finish(db, a, "completed", NULL, &err), MR_OK);
    assert_int_equal(db_run_reopen(db, a, &err), MR_EINVAL);
    assert_non_null(strstr(err.text, "cannot be resumed"));
    db_close(&db);
}

//  Another process holding the write lock longer than SQLite's busy timeout (5 s) delays a run's
//  writes; it does not fail them (it used to: "database is locked", the recorder exited).
static void
test_a_lock_held_by_another_process_is_waited_for(void **state)
{
    fixture_t *f = *state;
    mr_err_t err = {0};
    db_t *db = s_open(f->path);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        sqlite3 *other = NULL;
        int ok = sqlite3_open(f->path, &other) == SQLITE_OK &&
                 sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        char byte = ok ? 'y' : 'n';
        if (write(ready[1], &byte, 1) != 1)
            _exit(1);
        sleep(6);
        sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(other);
        _exit(ok ? 0 : 1);
    }
    char byte = 0;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    assert_int_equal(byte, 'y');
    run_info_t run = s_run_info();
    int64_t id = 0;
    if (db_run_begin(db, &run, &id, &err) != MR_OK)
        fail_msg("db_run_begin: %s", err.text);
    s_add(db, id, 0, 3);
    assert_int_equal(db_run_finish(db, id, "completed", NULL, &err), MR_OK);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(ready[1]);
    db_close(&db);
    db_summary_t sum;
    assert_int_equal(db_run_summary(f->path, id, &sum, &err), MR_OK);
    assert_int_equal(sum.rounds, 3);
    assert_string_equal(sum.status, "completed");
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_creates_wal_database),
        T(test_records_run_and_rounds),
        T(test_records_per_worker_rows),
        T(test_reopen_existing_file_appends_runs),
        T(test_refuses_other_schema_version),
        T(test_migrates_a_version_1_file),
        T(test_dataset_sha256_comes_from_the_problem_key),
        T(test_failed_migration_changes_nothing),
        T(test_find_fstar_returns_the_latest_for_its_problem),
        T(test_refuses_a_file_that_is_not_a_database),
        T(test_rejects_duplicate_round),
        T(test_rejects_unknown_run_and_bad_status),
        T(test_commits_every_batch_rows),
        T(test_crash_keeps_committed_rows),
        T(test_summary_returns_run_figures),
        T(test_launch_token_finds_and_fails_only_its_runs),
        T(test_attach_checkpoint_and_reopen),
        T(test_a_lock_held_by_another_process_is_waited_for),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
