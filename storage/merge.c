//  merge.c - see merge.h.
#include "merge.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

//  "a, b, c": the columns of table present in both main and src, except skip (may be NULL).
static int
s_common_columns(sqlite3 *db, const char *table, const char *skip, char *out, size_t size)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT m.name FROM pragma_table_info('%s', 'main') m"
             " JOIN pragma_table_info('%s', 'src') s ON s.name = m.name ORDER BY m.cid",
             table, table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    size_t used = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *) sqlite3_column_text(st, 0);
        if (!name || (skip && strcmp(name, skip) == 0))
            continue;
        int n = snprintf(out + used, size - used, "%s\"%s\"", used ? ", " : "", name);
        if (n < 0 || (size_t) n >= size - used) {
            sqlite3_finalize(st);
            return -1;
        }
        used += (size_t) n;
    }
    sqlite3_finalize(st);
    return used > 0 ? 0 : -1;
}

static int
s_exec(sqlite3 *db, const char *sql, const char *what, mr_err_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return MR_OK;
    int rc = mr_err_set(err, MR_EIO, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return rc;
}

int
db_merge(const char *dst_path, const char *src_path, int64_t *added, mr_err_t *err)
{
    if (added)
        *added = 0;
    if (access(src_path, R_OK) != 0)
        return mr_err_set(err, MR_EIO, "%s: no such file", src_path);
    // db_open checks (and, for an older file, migrates) both schemas; it creates dst if needed.
    const char *paths[2] = {dst_path, src_path};
    for (int i = 0; i < 2; i++) {
        db_t *check = db_open(paths[i], err);
        if (!check)
            return err ? err->rc : MR_EIO;
        db_close(&check);
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *list = NULL, *run = NULL, *rounds = NULL, *workers = NULL;
    int rc = MR_OK;
    if (sqlite3_open_v2(dst_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = mr_err_set(err, MR_EIO, "%s: cannot open: %s", dst_path, sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *attach = NULL;
    if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS src", -1, &attach, NULL) != SQLITE_OK ||
        sqlite3_bind_text(attach, 1, src_path, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(attach) != SQLITE_DONE) {
        rc = mr_err_set(err, MR_EIO, "%s: cannot attach: %s", src_path, sqlite3_errmsg(db));
        sqlite3_finalize(attach);
        goto out;
    }
    sqlite3_finalize(attach);
    char cols_run[2048], cols_round[2048], cols_worker[1024];
    if (s_common_columns(db, "runs", "id", cols_run, sizeof cols_run) != 0 ||
        s_common_columns(db, "rounds", "run_id", cols_round, sizeof cols_round) != 0 ||
        s_common_columns(db, "round_workers", "run_id", cols_worker, sizeof cols_worker) != 0) {
        rc = mr_err_set(err, MR_EIO, "%s and %s: cannot match their columns", dst_path, src_path);
        goto out;
    }
    char sql[3][4608];
    snprintf(sql[0], sizeof sql[0],
             "INSERT INTO main.runs (%s) SELECT %s FROM src.runs WHERE id = ?1", cols_run,
             cols_run);
    snprintf(sql[1], sizeof sql[1],
             "INSERT INTO main.rounds (run_id, %s) SELECT ?2, %s FROM src.rounds WHERE run_id = ?1",
             cols_round, cols_round);
    snprintf(sql[2], sizeof sql[2],
             "INSERT INTO main.round_workers (run_id, %s) SELECT ?2, %s FROM src.round_workers"
             " WHERE run_id = ?1",
             cols_worker, cols_worker);
    if ((rc = s_exec(db, "BEGIN IMMEDIATE", dst_path, err)) != MR_OK)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT id FROM src.runs ORDER BY id", -1, &list, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, sql[0], -1, &run, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql[1], -1, &rounds, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql[2], -1, &workers, NULL) != SQLITE_OK) {
        rc = mr_err_set(err, MR_EIO, "%s: %s", dst_path, sqlite3_errmsg(db));
        goto rollback;
    }
    int64_t copied = 0;
    while (sqlite3_step(list) == SQLITE_ROW) {
        sqlite3_int64 old_id = sqlite3_column_int64(list, 0);
        sqlite3_bind_int64(run, 1, old_id);
        if (sqlite3_step(run) != SQLITE_DONE) {
            rc = mr_err_set(err, MR_EIO, "%s: run %lld: %s", src_path, (long long) old_id,
                            sqlite3_errmsg(db));
            goto rollback;
        }
        sqlite3_reset(run);
        sqlite3_int64 new_id = sqlite3_last_insert_rowid(db);
        sqlite3_stmt *rows[2] = {rounds, workers};
        for (int i = 0; i < 2; i++) {
            sqlite3_bind_int64(rows[i], 1, old_id);
            sqlite3_bind_int64(rows[i], 2, new_id);
            if (sqlite3_step(rows[i]) != SQLITE_DONE) {
                rc = mr_err_set(err, MR_EIO, "%s: rows of run %lld: %s", src_path,
                                (long long) old_id, sqlite3_errmsg(db));
                goto rollback;
            }
            sqlite3_reset(rows[i]);
        }
        copied++;
    }
    if ((rc = s_exec(db, "COMMIT", dst_path, err)) != MR_OK)
        goto rollback;
    if (added)
        *added = copied;
    goto out;
rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(list);
    sqlite3_finalize(run);
    sqlite3_finalize(rounds);
    sqlite3_finalize(workers);
    if (db)
        sqlite3_exec(db, "DETACH DATABASE src", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

int
db_copy(const char *src_path, const char *dst_path, mr_err_t *err)
{
    sqlite3 *db = NULL;
    //  Read-write: opening replays a write-ahead log that its writer left behind.
    if (sqlite3_open_v2(src_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        int rc = mr_err_set(err, MR_EIO, "%s: cannot open: %s", src_path,
                            db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, dst_path, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    int out = rc == SQLITE_OK ? MR_OK
                              : mr_err_set(err, MR_EIO, "%s: cannot copy to %s: %s", src_path,
                                           dst_path, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}
