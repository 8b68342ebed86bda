//  cmd_query.c - `marina query` (tables from a result database, storage/query.h) and
//  `marina merge` (storage/merge.h). Exit codes: 0 done, 2 bad usage or argument, 3 a missing
//  or unreadable file, 4 a database of another schema version, 5 an unknown run, 1 otherwise.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "merge.h"
#include "query.h"

#define QUERY_MAX_RUNS 4096  // run ids one compare may name

static void
s_query_usage(FILE *out)
{
    fprintf(out,
            "usage: marina query DB COMMAND [options] [--csv | --json]\n"
            "  runs                               one line per run\n"
            "  show RUN                           a run's fields, summary and full config\n"
            "  rounds RUN [--every N] [--columns a,b,...]\n"
            "                                     its rounds (every N-th and the last)\n"
            "  compare [RUN ...] [--where SQL] [--target METRIC<=V] [--relative] [--by k1,k2]\n"
            "                                     cost to reach the target, grouped over seeds\n"
            "                                     (METRIC: grad_norm_sq, gap or f; default\n"
            "                                     grad_norm_sq<=1e-6; --by default\n"
            "                                     method,compressor; groups split by gamma too)\n"
            "  sql \"SELECT ...\"                   one read-only statement\n"
            "Exit codes: 0 done, 2 bad usage, 3 missing or unreadable file, 4 other schema\n"
            "version, 5 unknown run, 1 other errors.\n");
}

int
cmd_exit_code(int rc)
{
    switch (rc) {
        case MR_ECONFIG:
            return 2;
        case MR_EIO:
            return 3;
        case MR_EVERSION:
            return 4;
        case MR_EINVAL:
            return 5;
        default:
            return 1;
    }
}

//  A run id from text; -1 if it is not a positive integer.
static long long
s_run_id(const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno || end == text || *end || v < 1 ? -1 : v;
}

//  Parses "METRIC<=VALUE" into c; 0 on success.
static int
s_parse_target(const char *text, query_compare_t *c, char *metric, size_t size)
{
    const char *le = strstr(text, "<=");
    if (!le || le == text || (size_t) (le - text) >= size)
        return -1;
    snprintf(metric, size, "%.*s", (int) (le - text), text);
    char *end;
    c->target = strtod(le + 2, &end);
    if (end == le + 2 || *end)
        return -1;
    c->metric = metric;
    return 0;
}

int
cmd_query(int argc, char **argv)
{
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        s_query_usage(stdout);
        return 0;
    }
    if (argc < 4) {
        s_query_usage(stderr);
        return 2;
    }
    const char *path = argv[2], *what = argv[3];
    qtable_format_t format = QTABLE_TEXT;
    long every = 1;
    const char *columns = NULL, *where = NULL, *by = NULL, *sql = NULL;
    long long run = -1;
    int64_t *ids = calloc(QUERY_MAX_RUNS, sizeof *ids);
    size_t id_count = 0;
    char metric[32];
    query_compare_t cmp = {0};
    cmp.metric = "grad_norm_sq";
    cmp.target = 1e-6;
    int rc = ids ? 0 : 1;
    for (int i = 4; rc == 0 && i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--csv") == 0)
            format = QTABLE_CSV;
        else if (strcmp(a, "--json") == 0)
            format = QTABLE_JSON;
        else if (strcmp(a, "--every") == 0 && more) {
            char *end;
            every = strtol(argv[++i], &end, 10);
            if (*end || every < 1) {
                fprintf(stderr, "marina query: --every '%s' is not a whole number >= 1\n", argv[i]);
                rc = 2;
            }
        } else if (strcmp(a, "--columns") == 0 && more)
            columns = argv[++i];
        else if (strcmp(a, "--where") == 0 && more)
            where = argv[++i];
        else if (strcmp(a, "--by") == 0 && more)
            by = argv[++i];
        else if (strcmp(a, "--relative") == 0)
            cmp.relative = 1;
        else if (strcmp(a, "--target") == 0 && more) {
            if (s_parse_target(argv[++i], &cmp, metric, sizeof metric) != 0) {
                fprintf(stderr, "marina query: --target '%s' is not METRIC<=VALUE\n", argv[i]);
                rc = 2;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "marina query: unknown option '%s' (or a missing value); see --help\n",
                    a);
            rc = 2;
        } else if (strcmp(what, "sql") == 0 && !sql) {
            sql = a;
        } else if ((strcmp(what, "show") == 0 || strcmp(what, "rounds") == 0) && run < 0) {
            if ((run = s_run_id(a)) < 0) {
                fprintf(stderr, "marina query: run '%s' is not a run id (1, 2, ...)\n", a);
                rc = 2;
            }
        } else if (strcmp(what, "compare") == 0 && id_count < QUERY_MAX_RUNS) {
            long long id = s_run_id(a);
            if (id < 0) {
                fprintf(stderr, "marina query: run '%s' is not a run id (1, 2, ...)\n", a);
                rc = 2;
            }
            ids[id_count++] = id;
        } else {
            fprintf(stderr, "marina query %s: unexpected argument '%s'\n", what, a);
            rc = 2;
        }
    }
    int known = !strcmp(what, "runs") || !strcmp(what, "show") || !strcmp(what, "rounds") ||
                !strcmp(what, "compare") || !strcmp(what, "sql");
    if (rc == 0 && !known) {
        fprintf(stderr, "marina query: unknown command '%s' (runs, show, rounds, compare, sql)\n",
                what);
        rc = 2;
    }
    if (rc == 0 && (!strcmp(what, "show") || !strcmp(what, "rounds")) && run < 0) {
        fprintf(stderr, "marina query %s: which run? (marina query DB %s RUN)\n", what, what);
        rc = 2;
    }
    if (rc == 0 && !strcmp(what, "sql") && !sql) {
        fprintf(stderr, "marina query sql: the statement is missing\n");
        rc = 2;
    }
    if (rc != 0) {
        free(ids);
        return rc;
    }
    mr_err_t err = {0};
    qtable_t t = {0};
    query_t *q = query_open(path, &err);
    int status = q ? MR_OK : err.rc;
    if (q && !strcmp(what, "runs"))
        status = query_runs(q, &t, &err);
    else if (q && !strcmp(what, "show"))
        status = query_show(q, run, &t, &err);
    else if (q && !strcmp(what, "rounds"))
        status = query_rounds(q, run, every, columns, &t, &err);
    else if (q && !strcmp(what, "sql"))
        status = query_sql(q, sql, &t, &err);
    else if (q) {
        cmp.ids = id_count ? ids : NULL;
        cmp.id_count = id_count;
        cmp.where = where;
        cmp.by = by;
        status = query_compare(q, &cmp, &t, &err);
    }
    if (status == MR_OK)
        qtable_print(&t, format, stdout);
    else
        fprintf(stderr, "marina query: %s\n", err.text);
    qtable_fini(&t);
    query_close(&q);
    free(ids);
    return status == MR_OK ? 0 : cmd_exit_code(status);
}

int
cmd_merge(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--help") == 0) {
        fprintf(argc < 4 && !(argc == 3 && strcmp(argv[2], "--help") == 0) ? stderr : stdout,
                "usage: marina merge DST.db SRC.db ...\n"
                "Copies every run of each SRC (with its rounds) into DST (created if needed),\n"
                "with new run ids; each SRC is copied whole or not at all. E.g. the databases of\n"
                "a Slurm job array: marina merge all.db runs/*.db\n");
        return argc == 3 && strcmp(argv[2], "--help") == 0 ? 0 : 2;
    }
    int failed = 0;
    for (int i = 3; i < argc; i++) {
        mr_err_t err = {0};
        int64_t added = 0;
        int rc = db_merge(argv[2], argv[i], &added, &err);
        if (rc != MR_OK) {
            fprintf(stderr, "marina merge: %s\n", err.text);
            failed = cmd_exit_code(rc == MR_EIO && strstr(err.text, "no such file") ? MR_EIO : rc);
            continue;
        }
        fprintf(stderr, "marina merge: %s: %lld runs -> %s\n", argv[i], (long long) added, argv[2]);
    }
    return failed;
}
