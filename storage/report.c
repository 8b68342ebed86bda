//  report.c - see report.h.
#include "report.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

//  For each run: the first round whose metric is at or below the target, and what was spent up
//  to and including it (round 0 included: it is the initialization every method pays).
static const char s_sql[] =
    "WITH target AS ("
    "  SELECT r.id AS run_id, CASE WHEN ?2 THEN ?1 * (SELECT %s FROM rounds"
    "    WHERE run_id = r.id AND round = 0) ELSE ?1 END AS eps"
    "  FROM runs r WHERE %s),"
    " hit AS ("
    "  SELECT t.run_id, (SELECT min(round) FROM rounds WHERE run_id = t.run_id AND %s <= t.eps)"
    "    AS k FROM target t)"
    " SELECT r.id, coalesce(nullif(r.name, ''), '-'), r.method, r.compressor, r.n, r.dataset,"
    "  h.k,"
    "  (SELECT sum(bits_paper_up) FROM rounds WHERE run_id = r.id AND round <= h.k),"
    "  (SELECT sum(oracle_calls) FROM rounds WHERE run_id = r.id AND round <= h.k),"
    "  (SELECT max(round) FROM rounds WHERE run_id = r.id),"
    "  (SELECT sum(bits_paper_up) FROM rounds WHERE run_id = r.id),"
    "  (SELECT sum(oracle_calls) FROM rounds WHERE run_id = r.id),"
    "  (SELECT %s FROM rounds WHERE run_id = r.id ORDER BY round DESC LIMIT 1),"
    "  r.config"
    " FROM runs r JOIN hit h ON h.run_id = r.id ORDER BY r.id";

//  The value of "key = value" in a run's stored config text, or "" (writes into out).
static void
s_config_value(const char *config, const char *key, char *out, size_t size)
{
    out[0] = '\0';
    size_t len = strlen(key);
    for (const char *line = config; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, len) == 0 && strncmp(line + len, " = ", 3) == 0) {
            const char *v = line + len + 3;
            size_t n = strcspn(v, "\n");
            snprintf(out, size, "%.*s", (int) (n < size ? n : size - 1), v);
            return;
        }
    }
}

int
report_print(const char *path, const report_cfg_t *cfg, FILE *out, mr_err_t *err)
{
    const char *metric = strcmp(cfg->metric, "gap") == 0 ? "gap" : "grad_norm_sq";
    char sql[2048];
    snprintf(sql, sizeof sql, s_sql, metric, cfg->where && cfg->where[0] ? cfg->where : "1", metric,
             metric);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = MR_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = mr_err_set(err, MR_EIO, "%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : "");
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = mr_err_set(err, MR_EIO, "%s: cannot query: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_double(st, 1, cfg->eps);
    sqlite3_bind_int(st, 2, cfg->relative);
    fprintf(out,
            "| run | name | method | Q | K | n | dataset | rounds to %s%s <= %g | "
            "uplink bits (paper) | oracle calls per node | rounds run | final %s |\n",
            metric, cfg->relative ? "/start" : "", cfg->eps, metric);
    fprintf(out, "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *config = (const char *) sqlite3_column_text(st, 13);
        char k[32], dataset[256];
        s_config_value(config, "k", k, sizeof k);
        const char *ds = (const char *) sqlite3_column_text(st, 5);
        const char *slash = ds ? strrchr(ds, '/') : NULL;
        snprintf(dataset, sizeof dataset, "%s", slash ? slash + 1 : ds ? ds : "");
        int reached = sqlite3_column_type(st, 6) != SQLITE_NULL;
        double n = sqlite3_column_double(st, 4);
        fprintf(out, "| %lld | %s | %s | %s | %s | %.0f | %s | ", sqlite3_column_int64(st, 0),
                sqlite3_column_text(st, 1), sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                k, n, dataset);
        if (reached)
            fprintf(out, "%lld | %.4g | %.4g | ", sqlite3_column_int64(st, 6),
                    sqlite3_column_double(st, 7), sqlite3_column_double(st, 8) / (n > 0 ? n : 1));
        else  // what the whole run spent without reaching the target: a lower bound
            fprintf(out, "not reached | > %.4g | > %.4g | ", sqlite3_column_double(st, 10),
                    sqlite3_column_double(st, 11) / (n > 0 ? n : 1));
        fprintf(out, "%lld | %.3e |\n", sqlite3_column_int64(st, 9), sqlite3_column_double(st, 12));
    }
    if (step != SQLITE_DONE)
        rc = mr_err_set(err, MR_EIO, "%s: cannot read: %s", path, sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
