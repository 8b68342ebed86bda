//  query.c - see query.h.
#include "query.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

#define QUERY_MAX_BY 15  // by keys one compare or series may name

struct query {
    sqlite3 *db;
    char *path;
};

//  cfg(config, key): the value of the line "key = value" of a stored config text, or NULL.
static void
s_cfg_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *config = (const char *) sqlite3_value_text(argv[0]);
    const char *key = (const char *) sqlite3_value_text(argv[1]);
    (void) argc;
    if (!config || !key) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t len = strlen(key);
    for (const char *line = config; *line;) {
        if (strncmp(line, key, len) == 0 && strncmp(line + len, " = ", 3) == 0) {
            const char *v = line + len + 3;
            sqlite3_result_text(ctx, v, (int) strcspn(v, "\n"), SQLITE_TRANSIENT);
            return;
        }
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    sqlite3_result_null(ctx);
}

query_t *
query_open(const char *path, mr_err_t *err)
{
    if (access(path, F_OK) != 0) {
        mr_err_set(err, MR_EIO, "%s: no such file", path);
        return NULL;
    }
    query_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        free(self);
        mr_err_set(err, MR_ENOMEM, "out of memory");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        mr_err_set(err, MR_EIO, "%s: cannot open: %s", path, sqlite3_errmsg(self->db));
        goto fail;
    }
    sqlite3_busy_timeout(self->db, 5000);
    if (sqlite3_prepare_v2(self->db,
                           "SELECT (SELECT user_version FROM pragma_user_version),"
                           " (SELECT count(*) FROM sqlite_master)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        mr_err_set(err, MR_EIO, "%s: cannot read: %s (not an SQLite database?)", path,
                   sqlite3_errmsg(self->db));
        goto fail;
    }
    int version = sqlite3_column_int(st, 0), tables = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (version != DB_SCHEMA_VERSION) {
        mr_err_set(err, MR_EVERSION, "%s: schema version %d, this program reads version %d%s", path,
                   version, DB_SCHEMA_VERSION,
                   version == 0 ? (tables ? " (not a marina database)" : " (an empty file)")
                   : version < DB_SCHEMA_VERSION ? " (a recorder or `marina merge` upgrades it)"
                                                 : " (written by a newer marina)");
        goto fail;
    }
    sqlite3_create_function(self->db, "cfg", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, s_cfg_fn,
                            NULL, NULL);
    return self;
fail:
    sqlite3_finalize(st);
    query_close(&self);
    return NULL;
}

void
query_close(query_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sqlite3_close((*self_p)->db);
    free((*self_p)->path);
    free(*self_p);
    *self_p = NULL;
}

//  Steps st to its end, appending every row to out (initialized here with st's column names).
static int
s_fill(query_t *self, sqlite3_stmt *st, qtable_t *out, mr_err_t *err)
{
    size_t cols = (size_t) sqlite3_column_count(st);
    const char **names = calloc(cols ? cols : 1, sizeof *names);
    if (!names)
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    for (size_t c = 0; c < cols; c++)
        names[c] = sqlite3_column_name(st, (int) c);
    int rc = qtable_init(out, cols, names);
    free(names);
    if (rc != MR_OK)
        return mr_err_set(err, rc, "out of memory");
    int step;
    while (rc == MR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = qtable_push_empty(out);
        for (size_t c = 0; rc == MR_OK && c < cols; c++) {
            int type = sqlite3_column_type(st, (int) c);
            if (type == SQLITE_INTEGER)
                rc = qtable_set_int(out, out->rows - 1, c, sqlite3_column_int64(st, (int) c));
            else if (type == SQLITE_FLOAT)
                rc = qtable_set_real(out, out->rows - 1, c, sqlite3_column_double(st, (int) c));
            else if (type != SQLITE_NULL)
                rc = qtable_set_text(out, out->rows - 1, c,
                                     (const char *) sqlite3_column_text(st, (int) c));
        }
    }
    if (rc != MR_OK)
        return mr_err_set(err, rc, "out of memory");
    if (step != SQLITE_DONE)
        return mr_err_set(err, MR_EIO, "%s: %s", self->path, sqlite3_errmsg(self->db));
    return MR_OK;
}

static int
s_prepare(query_t *self, const char *sql, sqlite3_stmt **st, mr_err_t *err)
{
    const char *tail = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, st, &tail) != SQLITE_OK)
        return mr_err_set(err, MR_ECONFIG, "%s: %s", self->path, sqlite3_errmsg(self->db));
    return MR_OK;
}

//  MR_EINVAL naming the runs there are, unless run id exists.
static int
s_check_run(query_t *self, int64_t id, mr_err_t *err)
{
    sqlite3_stmt *st = NULL;
    int rc = s_prepare(self,
                       "SELECT (SELECT count(*) FROM runs WHERE id = ?1),"
                       " (SELECT min(id) FROM runs), (SELECT max(id) FROM runs)",
                       &st, err);
    if (rc != MR_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = mr_err_set(err, MR_EIO, "%s: %s", self->path, sqlite3_errmsg(self->db));
    else if (sqlite3_column_int(st, 0) == 0 && sqlite3_column_type(st, 1) == SQLITE_NULL)
        rc = mr_err_set(err, MR_EINVAL, "%s: no run %lld (the file has no runs)", self->path,
                        (long long) id);
    else if (sqlite3_column_int(st, 0) == 0)
        rc = mr_err_set(err, MR_EINVAL, "%s: no run %lld (runs are %lld..%lld)", self->path,
                        (long long) id, (long long) sqlite3_column_int64(st, 1),
                        (long long) sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return rc;
}

static const char s_sql_runs[] =
    "SELECT r.id, r.name, r.method, r.compressor, cfg(r.config, 'aggregator') AS aggregator,"
    " cfg(r.config, 'attack') AS attack, r.n, r.d, r.seed, r.status,"
    " (SELECT max(round) FROM rounds WHERE run_id = r.id) AS rounds,"
    " (SELECT f FROM rounds WHERE run_id = r.id ORDER BY round DESC LIMIT 1) AS f,"
    " (SELECT grad_norm_sq FROM rounds WHERE run_id = r.id ORDER BY round DESC LIMIT 1)"
    "   AS grad_norm_sq,"
    " (SELECT gap FROM rounds WHERE run_id = r.id ORDER BY round DESC LIMIT 1) AS gap,"
    " (SELECT max(wall_time_s) FROM rounds WHERE run_id = r.id) AS wall_time_s"
    " FROM runs r ORDER BY r.id";

int
query_runs(query_t *self, qtable_t *out, mr_err_t *err)
{
    sqlite3_stmt *st = NULL;
    int rc = s_prepare(self, s_sql_runs, &st, err);
    if (rc == MR_OK)
        rc = s_fill(self, st, out, err);
    sqlite3_finalize(st);
    return rc;
}

static const char s_sql_show_summary[] =
    "SELECT count(*) AS round_rows, max(round) AS last_round,"
    " (SELECT f FROM rounds WHERE run_id = ?1 ORDER BY round LIMIT 1) AS f_first,"
    " (SELECT f FROM rounds WHERE run_id = ?1 ORDER BY round DESC LIMIT 1) AS f_last,"
    " (SELECT grad_norm_sq FROM rounds WHERE run_id = ?1 ORDER BY round LIMIT 1)"
    "   AS grad_norm_sq_first,"
    " (SELECT grad_norm_sq FROM rounds WHERE run_id = ?1 ORDER BY round DESC LIMIT 1)"
    "   AS grad_norm_sq_last,"
    " sum(bits_paper_up) AS bits_paper_up, sum(bits_model_up) AS bits_model_up,"
    " sum(bytes_wire_up) AS bytes_wire_up, sum(bits_paper_down) AS bits_paper_down,"
    " sum(oracle_calls) AS oracle_calls, max(wall_time_s) AS wall_time_s"
    " FROM rounds WHERE run_id = ?1";

//  Appends the columns of st's one row as (field, value) rows of out, skipping "config".
static int
s_append_fields(sqlite3_stmt *st, qtable_t *out)
{
    int rc = MR_OK;
    for (int c = 0; rc == MR_OK && c < sqlite3_column_count(st); c++) {
        const char *name = sqlite3_column_name(st, c);
        if (strcmp(name, "config") == 0)
            continue;
        rc = qtable_push_empty(out);
        if (rc == MR_OK)
            rc = qtable_set_text(out, out->rows - 1, 0, name);
        int type = sqlite3_column_type(st, c);
        if (rc == MR_OK && type == SQLITE_INTEGER)
            rc = qtable_set_int(out, out->rows - 1, 1, sqlite3_column_int64(st, c));
        else if (rc == MR_OK && type == SQLITE_FLOAT)
            rc = qtable_set_real(out, out->rows - 1, 1, sqlite3_column_double(st, c));
        else if (rc == MR_OK && type != SQLITE_NULL)
            rc = qtable_set_text(out, out->rows - 1, 1, (const char *) sqlite3_column_text(st, c));
    }
    return rc;
}

//  Appends each line of a config text: "key = value" as (config.key, value), the "; resolved:"
//  and "; derived:" comment lines (numbers the run used; derived d, samples and L fingerprint the
//  data) as (resolved, ...) and (derived, ...).
static int
s_append_config(const char *config, qtable_t *out)
{
    int rc = MR_OK;
    for (const char *line = config; rc == MR_OK && line && *line;) {
        size_t len = strcspn(line, "\n");
        char field[160], value[2048];
        field[0] = '\0';
        const char *eq = memchr(line, '=', len);
        if (line[0] == ';') {
            const char *colon = memchr(line, ':', len);
            if (colon) {
                snprintf(field, sizeof field, "%.*s", (int) (colon - line - 2), line + 2);
                snprintf(value, sizeof value, "%.*s", (int) (len - (size_t) (colon + 2 - line)),
                         colon + 2);
            }
        } else if (eq && eq > line + 1 && eq[-1] == ' ' && len >= (size_t) (eq - line) + 2) {
            snprintf(field, sizeof field, "config.%.*s", (int) (eq - line - 1), line);
            snprintf(value, sizeof value, "%.*s", (int) (len - (size_t) (eq + 2 - line)), eq + 2);
        }
        if (field[0]) {
            rc = qtable_push_empty(out);
            if (rc == MR_OK)
                rc = qtable_set_text(out, out->rows - 1, 0, field);
            if (rc == MR_OK)
                rc = qtable_set_text(out, out->rows - 1, 1, value);
        }
        line = line[len] ? line + len + 1 : NULL;
    }
    return rc;
}

int
query_show(query_t *self, int64_t id, qtable_t *out, mr_err_t *err)
{
    int rc = s_check_run(self, id, err);
    if (rc != MR_OK)
        return rc;
    static const char *const names[] = {"field", "value"};
    if (qtable_init(out, 2, names) != MR_OK)
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    sqlite3_stmt *run = NULL, *sum = NULL;
    rc = s_prepare(self, "SELECT * FROM runs WHERE id = ?1", &run, err);
    if (rc == MR_OK)
        rc = s_prepare(self, s_sql_show_summary, &sum, err);
    if (rc == MR_OK) {
        sqlite3_bind_int64(run, 1, id);
        sqlite3_bind_int64(sum, 1, id);
        if (sqlite3_step(run) != SQLITE_ROW || sqlite3_step(sum) != SQLITE_ROW)
            rc = mr_err_set(err, MR_EIO, "%s: %s", self->path, sqlite3_errmsg(self->db));
    }
    if (rc == MR_OK && (s_append_fields(run, out) != MR_OK || s_append_fields(sum, out) != MR_OK))
        rc = mr_err_set(err, MR_ENOMEM, "out of memory");
    if (rc == MR_OK) {
        int config_col = -1;
        for (int c = 0; c < sqlite3_column_count(run); c++)
            if (strcmp(sqlite3_column_name(run, c), "config") == 0)
                config_col = c;
        if (config_col >= 0 &&
            s_append_config((const char *) sqlite3_column_text(run, config_col), out) != MR_OK)
            rc = mr_err_set(err, MR_ENOMEM, "out of memory");
    }
    sqlite3_finalize(run);
    sqlite3_finalize(sum);
    return rc;
}

//  1 if table has a column named name (of length len).
static int
s_has_column(query_t *self, const char *table, const char *name, size_t len)
{
    sqlite3_stmt *st = NULL;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s')", table);
    int found = 0;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) == SQLITE_OK)
        while (!found && sqlite3_step(st) == SQLITE_ROW) {
            const char *c = (const char *) sqlite3_column_text(st, 0);
            found = c && strlen(c) == len && strncmp(c, name, len) == 0;
        }
    sqlite3_finalize(st);
    return found;
}

int
query_rounds(
    query_t *self, int64_t id, long every, const char *columns, qtable_t *out, mr_err_t *err)
{
    int rc = s_check_run(self, id, err);
    if (rc != MR_OK)
        return rc;
    if (every < 1)
        return mr_err_set(err, MR_ECONFIG, "--every %ld: must be at least 1", every);
    char list[2048] = "*";
    if (columns && columns[0]) {
        size_t used = 0;
        for (const char *c = columns; *c;) {
            size_t len = strcspn(c, ",");
            if (!s_has_column(self, "rounds", c, len))
                return mr_err_set(err, MR_ECONFIG,
                                  "--columns: '%.*s' is not a column of rounds (docs/schema.md)",
                                  (int) len, c);
            int n = snprintf(list + used, sizeof list - used, "%s\"%.*s\"", used ? ", " : "",
                             (int) len, c);
            if (n < 0 || (size_t) n >= sizeof list - used)
                return mr_err_set(err, MR_ECONFIG, "--columns: too many columns");
            used += (size_t) n;
            c += len;
            if (*c == ',')
                c++;
        }
    }
    char sql[2400];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM rounds WHERE run_id = ?1 AND (round %% ?2 = 0 OR round ="
             " (SELECT max(round) FROM rounds WHERE run_id = ?1)) ORDER BY round",
             list);
    sqlite3_stmt *st = NULL;
    rc = s_prepare(self, sql, &st, err);
    if (rc == MR_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, every);
        rc = s_fill(self, st, out, err);
    }
    sqlite3_finalize(st);
    return rc;
}

int
query_sql(query_t *self, const char *sql, qtable_t *out, mr_err_t *err)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, &tail) != SQLITE_OK)
        return mr_err_set(err, MR_ECONFIG, "sql: %s", sqlite3_errmsg(self->db));
    int rc = MR_OK;
    if (!st)
        rc = mr_err_set(err, MR_ECONFIG, "sql: no statement");
    else if (tail && tail[strspn(tail, " \t\r\n;")])
        rc = mr_err_set(err, MR_ECONFIG, "sql: one statement only (found more after '%.40s')", sql);
    else if (!sqlite3_stmt_readonly(st))
        rc = mr_err_set(err, MR_ECONFIG, "sql: the connection is read-only; only queries run");
    else if ((rc = s_fill(self, st, out, err)) != MR_OK && err)
        err->rc = MR_ECONFIG;  // a statement that fails while it runs is the user's to fix
    sqlite3_finalize(st);
    return rc;
}

//  What one run spent to reach the target.
typedef struct {
    char *group;    // the by values and gamma, joined by '\x1f'
    char **values;  // by values then gamma (owned)
    int reached;
    double rounds, bits, oracle, seconds;  // per worker for bits and oracle calls
} s_hit_t;

typedef struct {
    size_t first;  // index of its first run in the hits
    size_t runs, reached;
    double sum[4], sumsq[4];
} s_group_t;

static void
s_hits_free(s_hit_t *hits, size_t count, size_t keys)
{
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; hits[i].values && k < keys; k++)
            free(hits[i].values[k]);
        free(hits[i].values);
        free(hits[i].group);
    }
    free(hits);
}

//  The SQL expression of one --by key: a runs column, else a config key through cfg().
static int
s_by_expr(query_t *self, const char *key, size_t len, char *out, size_t size, mr_err_t *err)
{
    for (size_t i = 0; i < len; i++)
        if (!(key[i] == '_' || key[i] == '.' || (key[i] >= 'a' && key[i] <= 'z') ||
              (key[i] >= 'A' && key[i] <= 'Z') || (key[i] >= '0' && key[i] <= '9')))
            return mr_err_set(err, MR_ECONFIG, "--by '%.*s': not a column or key name", (int) len,
                              key);
    if (s_has_column(self, "runs", key, len))
        snprintf(out, size, "r.\"%.*s\"", (int) len, key);
    else
        snprintf(out, size, "cfg(r.config, '%.*s')", (int) len, key);
    return MR_OK;
}

//  The SQL expressions of the comma-separated by keys (at most QUERY_MAX_BY), each followed by
//  ", ", into exprs; their names into names, their number into *keys.
static int
s_by_exprs(query_t *self,
           const char *by,
           char *exprs,
           size_t size,
           char names[][64],
           size_t *keys,
           mr_err_t *err)
{
    size_t used = 0;
    exprs[0] = '\0';
    *keys = 0;
    for (const char *k = by; *k && *keys < QUERY_MAX_BY;) {
        size_t len = strcspn(k, ",");
        char expr[160];
        int rc = s_by_expr(self, k, len, expr, sizeof expr, err);
        if (rc != MR_OK)
            return rc;
        snprintf(names[*keys], 64, "%.*s", (int) len, k);
        used += (size_t) snprintf(exprs + used, size - used, "%s, ", expr);
        (*keys)++;
        k += len;
        if (*k == ',')
            k++;
    }
    return MR_OK;
}

//  The SQL condition on runs (alias r) that selects the runs ids (if id_count > 0), else those
//  matching where (if given), else every run.
static void
s_run_filter(const int64_t *ids, size_t id_count, const char *where, char *filter, size_t size)
{
    snprintf(filter, size, "1");
    if (id_count > 0) {
        size_t f = (size_t) snprintf(filter, size, "r.id IN (");
        for (size_t i = 0; i < id_count && f < size - 32; i++)
            f += (size_t) snprintf(filter + f, size - f, "%s%lld", i ? ", " : "",
                                   (long long) ids[i]);
        snprintf(filter + f, size - f, ")");
    } else if (where && where[0]) {
        snprintf(filter, size, "(%s)", where);
    }
}

int
query_compare(query_t *self, const query_compare_t *c, qtable_t *out, mr_err_t *err)
{
    const char *metric = c->metric ? c->metric : "grad_norm_sq";
    if (strcmp(metric, "grad_norm_sq") && strcmp(metric, "gap") && strcmp(metric, "f"))
        return mr_err_set(err, MR_ECONFIG,
                          "--target: metric '%s' is unknown (grad_norm_sq, gap "
                          "or f)",
                          metric);
    if (!isfinite(c->target))
        return mr_err_set(err, MR_ECONFIG, "--target: the value must be a finite number");
    for (size_t i = 0; i < c->id_count; i++) {
        int rc = s_check_run(self, c->ids[i], err);
        if (rc != MR_OK)
            return rc;
    }
    // The by keys as SQL expressions, then gamma.
    const char *by = c->by && c->by[0] ? c->by : "method,compressor";
    char exprs[2048] = "";
    size_t keys = 0;
    char key_names[QUERY_MAX_BY + 1][64];
    int rc0 = s_by_exprs(self, by, exprs, sizeof exprs, key_names, &keys, err);
    if (rc0 != MR_OK)
        return rc0;
    snprintf(key_names[keys++], sizeof key_names[0], "gamma");
    size_t used = strlen(exprs);
    snprintf(exprs + used, sizeof exprs - used, "cfg(r.config, 'gamma'), ");
    // The runs: filter by ids or the where condition.
    char filter[4096];
    s_run_filter(c->ids, c->id_count, c->where, filter, sizeof filter);
    char sql[8192];
    snprintf(sql, sizeof sql,
             "WITH t AS (SELECT r.id AS id, CASE WHEN ?2 THEN ?1 * (SELECT %s FROM rounds"
             "   WHERE run_id = r.id AND round = 0) ELSE ?1 END AS eps FROM runs r WHERE %s),"
             " h AS (SELECT t.id AS id, (SELECT min(round) FROM rounds WHERE run_id = t.id"
             "   AND %s <= t.eps) AS k FROM t)"
             " SELECT %sh.k, r.n,"
             " (SELECT sum(bits_paper_up) FROM rounds WHERE run_id = r.id AND round <= h.k),"
             " (SELECT sum(oracle_calls) FROM rounds WHERE run_id = r.id AND round <= h.k),"
             " (SELECT wall_time_s FROM rounds WHERE run_id = r.id AND round = h.k)"
             " FROM runs r JOIN h ON h.id = r.id ORDER BY r.id",
             metric, filter, metric, exprs);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
        return mr_err_set(err, MR_ECONFIG, "compare: %s", sqlite3_errmsg(self->db));
    sqlite3_bind_double(st, 1, c->target);
    sqlite3_bind_int(st, 2, c->relative);
    s_hit_t *hits = NULL;
    size_t count = 0;
    int rc = MR_OK, step;
    while (rc == MR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        s_hit_t *grown = realloc(hits, (count + 1) * sizeof *grown);
        if (!grown) {
            rc = mr_err_set(err, MR_ENOMEM, "out of memory");
            break;
        }
        hits = grown;
        s_hit_t *h = &hits[count++];
        memset(h, 0, sizeof *h);
        h->values = calloc(keys, sizeof *h->values);
        size_t glen = 1;
        for (size_t k = 0; h->values && k < keys; k++) {
            const char *v = (const char *) sqlite3_column_text(st, (int) k);
            h->values[k] = strdup(v ? v : "-");
            glen += strlen(h->values[k] ? h->values[k] : "") + 1;
        }
        h->group = calloc(glen, 1);
        if (!h->values || !h->group) {
            rc = mr_err_set(err, MR_ENOMEM, "out of memory");
            break;
        }
        for (size_t k = 0; k < keys; k++) {
            if (!h->values[k]) {
                rc = mr_err_set(err, MR_ENOMEM, "out of memory");
                break;
            }
            strcat(h->group, h->values[k]);
            strcat(h->group, "\x1f");
        }
        int col = (int) keys;
        h->reached = sqlite3_column_type(st, col) != SQLITE_NULL;
        double n = sqlite3_column_double(st, col + 1);
        if (h->reached && n > 0) {
            h->rounds = sqlite3_column_double(st, col);
            h->bits = sqlite3_column_double(st, col + 2) / n;
            h->oracle = sqlite3_column_double(st, col + 3) / n;
            h->seconds = sqlite3_column_type(st, col + 4) == SQLITE_NULL
                             ? NAN
                             : sqlite3_column_double(st, col + 4);
        }
    }
    if (rc == MR_OK && step != SQLITE_DONE)
        rc = mr_err_set(err, MR_ECONFIG, "compare: %s", sqlite3_errmsg(self->db));
    sqlite3_finalize(st);
    // Groups in order of their first run.
    s_group_t *groups = rc == MR_OK ? calloc(count ? count : 1, sizeof *groups) : NULL;
    size_t ngroups = 0;
    if (rc == MR_OK && !groups)
        rc = mr_err_set(err, MR_ENOMEM, "out of memory");
    for (size_t i = 0; rc == MR_OK && i < count; i++) {
        size_t g = 0;
        while (g < ngroups && strcmp(hits[groups[g].first].group, hits[i].group) != 0)
            g++;
        if (g == ngroups)
            groups[ngroups++].first = i;
        groups[g].runs++;
        if (!hits[i].reached)
            continue;
        groups[g].reached++;
        double v[4] = {hits[i].rounds, hits[i].bits, hits[i].oracle, hits[i].seconds};
        for (int q = 0; q < 4; q++) {
            groups[g].sum[q] += v[q];
            groups[g].sumsq[q] += v[q] * v[q];
        }
    }
    const char *names[32];
    size_t ncols = 0;
    for (size_t k = 0; k < keys; k++)
        names[ncols++] = key_names[k];
    static const char *const tail[] = {"runs",
                                       "reached",
                                       "rounds_mean",
                                       "rounds_se",
                                       "bits_per_worker_mean",
                                       "bits_per_worker_se",
                                       "oracle_calls_per_worker_mean",
                                       "oracle_calls_per_worker_se",
                                       "seconds_mean",
                                       "seconds_se",
                                       "best"};
    for (size_t q = 0; q < sizeof tail / sizeof tail[0]; q++)
        names[ncols++] = tail[q];
    if (rc == MR_OK && qtable_init(out, ncols, names) != MR_OK)
        rc = mr_err_set(err, MR_ENOMEM, "out of memory");
    for (size_t g = 0; rc == MR_OK && g < ngroups; g++) {
        const s_group_t *gr = &groups[g];
        const s_hit_t *h = &hits[gr->first];
        // Best stepsize: least mean bits among the fully reached groups with the same by keys.
        double mean_bits = gr->reached ? gr->sum[1] / (double) gr->reached : INFINITY;
        int best = gr->reached == gr->runs;
        for (size_t o = 0; best && o < ngroups; o++) {
            const s_hit_t *oh = &hits[groups[o].first];
            int same = 1;
            for (size_t k = 0; same && k + 1 < keys; k++)
                same = strcmp(oh->values[k], h->values[k]) == 0;
            if (!same || o == g || groups[o].reached != groups[o].runs)
                continue;
            double other = groups[o].sum[1] / (double) groups[o].reached;
            best = other > mean_bits || (other == mean_bits && o > g);
        }
        rc = qtable_push_empty(out);
        size_t row = out->rows - 1, col = 0;
        for (size_t k = 0; rc == MR_OK && k < keys; k++)
            rc = qtable_set_text(out, row, col++, h->values[k]);
        if (rc == MR_OK)
            rc = qtable_set_int(out, row, col++, (long long) gr->runs);
        if (rc == MR_OK)
            rc = qtable_set_int(out, row, col++, (long long) gr->reached);
        for (int q = 0; rc == MR_OK && q < 4; q++) {
            double m = (double) gr->reached;
            double mean = m > 0 ? gr->sum[q] / m : NAN;
            // Standard error of the mean: sample standard deviation / sqrt(m).
            double var = m > 1 ? (gr->sumsq[q] - m * mean * mean) / (m - 1) : NAN;
            double se = m > 1 ? sqrt(fmax(var, 0.0) / m) : NAN;
            rc = qtable_set_real(out, row, col++, mean);
            if (rc == MR_OK)
                rc = qtable_set_real(out, row, col++, se);
        }
        if (rc == MR_OK)
            rc = qtable_set_int(out, row, col++, best);
        if (rc != MR_OK)
            rc = mr_err_set(err, MR_ENOMEM, "out of memory");
    }
    free(groups);
    s_hits_free(hits, count, keys);
    return rc;
}

int
query_series(query_t *self, const query_series_t *q, qtable_t *out, mr_err_t *err)
{
    static const char *const ys[] = {"f", "grad_norm_sq", "gap", "accuracy"};
    const char *y = q->y ? q->y : "grad_norm_sq";
    int known = 0;
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++)
        known |= strcmp(y, ys[i]) == 0;
    if (!known)
        return mr_err_set(err, MR_ECONFIG, "--y '%s': unknown (f, grad_norm_sq, gap or accuracy)",
                          y);
    if (!s_has_column(self, "rounds", y, strlen(y)))
        return mr_err_set(err, MR_ECONFIG,
                          "--y %s: %s has no column rounds.%s (docs/schema.md lists the columns)",
                          y, self->path, y);
    // x: the round, a running total per worker (from round 0, or from round 1 without round 0's
    // dense gradients), or the wall time.
    const char *x = q->x ? q->x : "round";
    const char *total = strcmp(x, "bits") == 0     ? "bits_paper_up"
                        : strcmp(x, "oracle") == 0 ? "oracle_calls"
                                                   : NULL;
    char xexpr[512];
    if (total)
        snprintf(xexpr, sizeof xexpr,
                 "sum(CASE WHEN w.round = 0 AND ?1 = 0 THEN 0 ELSE w.%s END)"
                 " OVER (PARTITION BY w.run_id ORDER BY w.round) * 1.0 / max(rr.n, 1)",
                 total);
    else if (strcmp(x, "round") == 0)
        snprintf(xexpr, sizeof xexpr, "w.round");
    else if (strcmp(x, "seconds") == 0)
        snprintf(xexpr, sizeof xexpr, "w.wall_time_s");
    else
        return mr_err_set(err, MR_ECONFIG, "--x '%s': unknown (round, bits, oracle or seconds)", x);
    for (size_t i = 0; i < q->id_count; i++) {
        int rc = s_check_run(self, q->ids[i], err);
        if (rc != MR_OK)
            return rc;
    }
    char exprs[2048] = "";
    size_t keys = 0;
    char key_names[QUERY_MAX_BY][64];
    if (q->by && q->by[0]) {
        int rc = s_by_exprs(self, q->by, exprs, sizeof exprs, key_names, &keys, err);
        if (rc != MR_OK)
            return rc;
    }
    char filter[4096];
    s_run_filter(q->ids, q->id_count, q->where, filter, sizeof filter);
    char sql[8192];
    snprintf(sql, sizeof sql,
             "WITH pts AS (SELECT w.run_id AS run_id, w.round AS round, %s AS x, w.\"%s\" AS y"
             "   FROM rounds w JOIN runs rr ON rr.id = w.run_id"
             "   WHERE w.run_id IN (SELECT r.id FROM runs r WHERE %s))"
             " SELECT r.id AS run, %sr.name AS name, r.method AS method, pts.round AS round,"
             " pts.x AS x, pts.y AS y FROM runs r JOIN pts ON pts.run_id = r.id"
             " WHERE pts.y IS NOT NULL AND pts.x IS NOT NULL ORDER BY r.id, pts.round",
             xexpr, y, filter, exprs);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
        return mr_err_set(err, MR_ECONFIG, "plot: %s", sqlite3_errmsg(self->db));
    sqlite3_bind_int(st, 1, q->round0);
    int rc = s_fill(self, st, out, err);
    sqlite3_finalize(st);
    if (rc == MR_EIO) {
        if (err)
            err->rc = MR_ECONFIG;  // e.g. a --where that fails while it runs
        return MR_ECONFIG;
    }
    if (rc != MR_OK)
        return rc;
    // The by columns are named after their keys.
    for (size_t k = 0; k < keys; k++) {
        char *name = strdup(key_names[k]);
        if (!name)
            return mr_err_set(err, MR_ENOMEM, "out of memory");
        free(out->names[1 + k]);
        out->names[1 + k] = name;
    }
    return MR_OK;
}
