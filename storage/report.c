//  report.c - see report.h.
#include "report.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

//  For each run: the first round whose metric is at or below the target, and what was spent from
//  round ?3 (0: round 0 counted, 1: not) up to and including it; the totals; the last metric.
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
    "  (SELECT coalesce(sum(bits_paper_up), 0) FROM rounds WHERE run_id = r.id"
    "    AND round >= ?3 AND round <= h.k),"
    "  (SELECT coalesce(sum(oracle_calls), 0) FROM rounds WHERE run_id = r.id"
    "    AND round >= ?3 AND round <= h.k),"
    "  (SELECT max(round) FROM rounds WHERE run_id = r.id),"
    "  (SELECT coalesce(sum(bits_paper_up), 0) FROM rounds WHERE run_id = r.id AND round >= ?3),"
    "  (SELECT coalesce(sum(oracle_calls), 0) FROM rounds WHERE run_id = r.id AND round >= ?3),"
    "  (SELECT %s FROM rounds WHERE run_id = r.id AND %s IS NOT NULL ORDER BY round DESC LIMIT 1),"
    "  r.config"
    " FROM runs r JOIN hit h ON h.run_id = r.id ORDER BY r.id";

//  One run of the report.
typedef struct {
    long long id;
    char *name, *method, *q, *dataset;  // owned
    char k[32];                         // config key "k"
    char gamma_key[32];                 // config key "gamma" as written: theory, ours or a number
    double gamma;                       // the resolved stepsize ("; resolved: gamma = ...")
    double n;
    int reached;                  // the target was reached, at round k_hit
    long long k_hit;              // first round at or below the target
    double bits, oracle;          // spent up to k_hit (from round 0 or 1)
    long long rounds;             // the last round run
    double bits_all, oracle_all;  // spent in the whole run
    double last;                  // the metric at the last round that has it (NAN if none)
    char *group;                  // the config without gamma, seed and bookkeeping keys (owned)
    int searched;                 // 1 if its group tried more than one gamma
    int picked;                   // 1 if its gamma is the group's pick
} s_row_t;

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

//  The resolved stepsize from the config's "; resolved: gamma = X, ..." line, NAN if absent.
static double
s_resolved_gamma(const char *config)
{
    const char *at = config ? strstr(config, "; resolved: gamma = ") : NULL;
    return at ? strtod(at + strlen("; resolved: gamma = "), NULL) : NAN;
}

//  Keys that do not make two runs different problems or methods: the stepsize being searched,
//  the seed (averaged over) and bookkeeping (launch: the token of the marina run that made it).
static int
s_ignored_key(const char *line)
{
    static const char *const keys[] = {"gamma",     "seed",      "name",       "db",
                                       "transport", "timeout_s", "progress_s", "security",
                                       "keys_dir",  "launch",    NULL};
    for (const char *const *k = keys; *k; k++) {
        size_t len = strlen(*k);
        if (strncmp(line, *k, len) == 0 && strncmp(line + len, " = ", 3) == 0)
            return 1;
    }
    return 0;
}

//  The group key of a run: its config's "key = value" lines but the ignored ones, and the data
//  line (the file's fingerprint); the resolved and derived lines follow from these (caller frees).
static char *
s_group_key(const char *config)
{
    size_t len = config ? strlen(config) : 0;
    char *out = malloc(len + 1), *at = out;
    if (!out)
        return NULL;
    for (const char *line = config; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t) (nl - line) + 1 : strlen(line);
        int keep = !s_ignored_key(line) && (line[0] != ';' || strncmp(line, "; data:", 7) == 0);
        if (keep) {
            memcpy(at, line, n);
            at += n;
        }
        line += n;
    }
    *at = '\0';
    return out;
}

static char *
s_dup_column(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t ? (const char *) t : "");
}

static void
s_rows_free(s_row_t *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(rows[i].name);
        free(rows[i].method);
        free(rows[i].q);
        free(rows[i].dataset);
        free(rows[i].group);
    }
    free(rows);
}

//  The mean final metric and mean rounds of the runs of group g with stepsize gamma.
static void
s_score(
    const s_row_t *rows, size_t count, const char *g, double gamma, double *metric, double *rounds)
{
    double sm = 0, sr = 0;
    size_t c = 0;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(rows[i].group, g) != 0 || rows[i].gamma != gamma)
            continue;
        sm += isnan(rows[i].last) ? INFINITY : rows[i].last;  // unmeasured: worst
        sr += (double) rows[i].rounds;
        c++;
    }
    *metric = sm / (double) c;
    *rounds = sr / (double) c;
}

//  Best in hindsight: in every group with more than one stepsize, the one with the lowest mean
//  final metric over its runs (seeds); a tie goes to fewer rounds run, then to the smaller gamma.
static void
s_pick(s_row_t *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int first = 1, several = 0;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(rows[j].group, rows[i].group) != 0;
        if (!first)
            continue;
        double best_gamma = rows[i].gamma, best_metric, best_rounds;
        s_score(rows, count, rows[i].group, best_gamma, &best_metric, &best_rounds);
        for (size_t j = i + 1; j < count; j++) {
            if (strcmp(rows[j].group, rows[i].group) != 0 || rows[j].gamma == rows[i].gamma)
                continue;
            several = 1;
            double m, r;
            s_score(rows, count, rows[i].group, rows[j].gamma, &m, &r);
            if (m < best_metric ||
                (m == best_metric &&
                 (r < best_rounds || (r == best_rounds && rows[j].gamma < best_gamma)))) {
                best_gamma = rows[j].gamma;
                best_metric = m;
                best_rounds = r;
            }
        }
        for (size_t j = i; j < count; j++) {
            if (strcmp(rows[j].group, rows[i].group) != 0)
                continue;
            rows[j].searched = several;
            rows[j].picked = rows[j].gamma == best_gamma;
        }
    }
}

//  The stepsize as the table shows it: the number, and how it was chosen if not by hand.
static void
s_gamma_text(const s_row_t *r, char *out, size_t size)
{
    int named = strcmp(r->gamma_key, "theory") == 0 || strcmp(r->gamma_key, "ours") == 0;
    snprintf(out, size, "%.4g%s%s%s%s", r->gamma, named ? " (" : "", named ? r->gamma_key : "",
             named ? ")" : "", r->searched && r->picked ? " **best**" : "");
}

static void
s_print_runs(
    const s_row_t *rows, size_t count, const report_cfg_t *cfg, const char *metric, FILE *out)
{
    fprintf(out,
            "| run | name | method | Q | K | n | dataset | gamma | rounds to %s%s <= %g | "
            "uplink bits (paper) | bits per worker | oracle calls per node | rounds run | "
            "final %s |\n",
            metric, cfg->relative ? "/start" : "", cfg->eps, metric);
    fprintf(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < count; i++) {
        const s_row_t *r = &rows[i];
        if (cfg->best_only && r->searched && !r->picked)
            continue;
        char gamma[64];
        s_gamma_text(r, gamma, sizeof gamma);
        double n = r->n > 0 ? r->n : 1;
        fprintf(out, "| %lld | %s | %s | %s | %s | %.0f | %s | %s | ", r->id, r->name, r->method,
                r->q, r->k, r->n, r->dataset, gamma);
        if (r->reached)
            fprintf(out, "%lld | %.4g | %.4g | %.4g | ", r->k_hit, r->bits, r->bits / n,
                    r->oracle / n);
        else  // what the whole run spent without reaching the target: a lower bound
            fprintf(out, "not reached | > %.4g | > %.4g | > %.4g | ", r->bits_all, r->bits_all / n,
                    r->oracle_all / n);
        fprintf(out, "%lld | %.3e |\n", r->rounds, r->last);
    }
    fprintf(out,
            "\nBits and oracle calls count rounds %s..k (round 0, where every worker sends its "
            "dense gradient at x^0, is %s; `marina report --round0 %s` %s it). Bits per worker = "
            "uplink bits / n, the papers' #bits/n.\n",
            cfg->round0 ? "0" : "1", cfg->round0 ? "included" : "excluded",
            cfg->round0 ? "exclude" : "include", cfg->round0 ? "leaves out" : "counts");
}

static void
s_print_search(const s_row_t *rows, size_t count, const char *metric, FILE *out)
{
    int any = 0;
    for (size_t i = 0; i < count; i++)
        any |= rows[i].searched;
    if (!any)
        return;
    fprintf(out,
            "\nStepsize search, best in hindsight: runs that differ only in gamma (and seed) form "
            "a group; the pick is the gamma with the lowest final %s (mean over seeds).\n\n",
            metric);
    fprintf(out, "| method | Q | K | n | dataset | runs | gamma: final %s | picked gamma |\n",
            metric);
    fprintf(out, "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < count; i++) {
        if (!rows[i].searched)
            continue;
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(rows[j].group, rows[i].group) != 0;
        if (!first)
            continue;
        char ids[256] = "", tried[1024] = "", picked[64] = "";
        for (size_t j = i; j < count; j++) {
            if (strcmp(rows[j].group, rows[i].group) != 0)
                continue;
            size_t u = strlen(ids);
            snprintf(ids + u, sizeof ids - u, "%s%lld", u ? ", " : "", rows[j].id);
            int seen = 0;
            for (size_t t = i; t < j && !seen; t++)
                seen = strcmp(rows[t].group, rows[i].group) == 0 && rows[t].gamma == rows[j].gamma;
            if (seen)
                continue;
            double m, r;
            s_score(rows, count, rows[i].group, rows[j].gamma, &m, &r);
            u = strlen(tried);
            snprintf(tried + u, sizeof tried - u, "%s%.4g: %.3e", u ? "; " : "", rows[j].gamma, m);
            if (rows[j].picked)
                snprintf(picked, sizeof picked, "%.4g", rows[j].gamma);
        }
        fprintf(out, "| %s | %s | %s | %.0f | %s | %s | %s | %s |\n", rows[i].method, rows[i].q,
                rows[i].k, rows[i].n, rows[i].dataset, ids, tried, picked);
    }
}

int
report_print(const char *path, const report_cfg_t *cfg, FILE *out, mr_err_t *err)
{
    const char *metric = strcmp(cfg->metric, "gap") == 0 ? "gap" : "grad_norm_sq";
    char sql[3072];
    snprintf(sql, sizeof sql, s_sql, metric, cfg->where && cfg->where[0] ? cfg->where : "1", metric,
             metric, metric);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    s_row_t *rows = NULL;
    size_t count = 0, cap = 0;
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
    sqlite3_bind_int(st, 3, cfg->round0 ? 0 : 1);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            s_row_t *grown = realloc(rows, ncap * sizeof *rows);
            if (!grown) {
                rc = mr_err_set(err, MR_ENOMEM, "out of memory for the report");
                goto out;
            }
            rows = grown;
            cap = ncap;
        }
        s_row_t *r = &rows[count++];
        memset(r, 0, sizeof *r);
        const char *config = (const char *) sqlite3_column_text(st, 13);
        r->id = sqlite3_column_int64(st, 0);
        r->name = s_dup_column(st, 1);
        r->method = s_dup_column(st, 2);
        r->q = s_dup_column(st, 3);
        const char *ds = (const char *) sqlite3_column_text(st, 5);
        const char *slash = ds ? strrchr(ds, '/') : NULL;
        r->dataset = strdup(slash ? slash + 1 : ds ? ds : "");
        r->group = s_group_key(config);
        if (!r->name || !r->method || !r->q || !r->dataset || !r->group) {
            rc = mr_err_set(err, MR_ENOMEM, "out of memory for the report");
            goto out;
        }
        s_config_value(config, "k", r->k, sizeof r->k);
        s_config_value(config, "gamma", r->gamma_key, sizeof r->gamma_key);
        r->gamma = s_resolved_gamma(config);
        r->n = sqlite3_column_double(st, 4);
        r->reached = sqlite3_column_type(st, 6) != SQLITE_NULL;
        r->k_hit = sqlite3_column_int64(st, 6);
        r->bits = sqlite3_column_double(st, 7);
        r->oracle = sqlite3_column_double(st, 8);
        r->rounds = sqlite3_column_int64(st, 9);
        r->bits_all = sqlite3_column_double(st, 10);
        r->oracle_all = sqlite3_column_double(st, 11);
        r->last = sqlite3_column_type(st, 12) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 12);
    }
    if (step != SQLITE_DONE) {
        rc = mr_err_set(err, MR_EIO, "%s: cannot read: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    s_pick(rows, count);
    s_print_runs(rows, count, cfg, metric, out);
    s_print_search(rows, count, metric, out);
out:
    s_rows_free(rows, count);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
