//  cmd_plot.c - `marina plot DB [RUN ... | --where SQL] [--y Y] [--x X] [--by k1,k2]
//  [--out FILE.svg] [--title T] [--logx] [--liny | --logy] [--round0 include|exclude]`: the
//  papers' kind of figure from a result database (read-only): y against x, one line per run or
//  per --by group (the mean over its seeds with a shaded standard-error band), as an SVG file
//  (storage/series.h reads the lines, plot_svg.h draws them), and a PNG next to it when
//  rsvg-convert is on PATH. Exit codes as `marina query`'s (cmd_exit_code).
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "plot_svg.h"
#include "query.h"
#include "series.h"

extern char **environ;

#define PLOT_MAX_RUNS 4096  // run ids one plot may name

static void
s_plot_usage(FILE *out)
{
    fprintf(out,
            "usage: marina plot DB [RUN ... | --where SQL] [--y Y] [--x X] [--by k1,k2,...]\n"
            "                  [--out FILE.svg] [--title T] [--logx] [--liny | --logy]\n"
            "                  [--round0 include|exclude]\n"
            "Draws Y against X for the runs of DB (every run, the RUN ids, or those --where\n"
            "selects: an SQL condition on runs, alias r), one line per run, or with --by one\n"
            "line per group of runs sharing those runs columns or config keys: the mean over\n"
            "its runs (seeds) at each round, with a shaded band of one standard error.\n"
            "  --y      f, grad_norm_sq (default), gap or accuracy (log scale; accuracy linear)\n"
            "  --x      round (default), bits (uplink bits per worker, the paper's 32 bits per\n"
            "           value, running total), oracle (oracle calls per worker), seconds (wall\n"
            "           time); linear unless --logx\n"
            "  --round0 bits and oracle calls of round 0 (the n dense gradients) counted\n"
            "           (include, default, as `marina query compare`) or not (exclude: x starts\n"
            "           at 0, as the papers' plots)\n"
            "  --out    the SVG file (default plot.svg); FILE.png too when rsvg-convert is on\n"
            "           PATH (Debian: librsvg2-bin)\n"
            "Exit codes: 0 done, 2 bad usage (or a column this database does not have), 3\n"
            "missing or unreadable file, 4 other schema version, 5 unknown run (or nothing to\n"
            "draw), 1 other errors.\n");
}

static const char *
s_axis_name(const char *key)
{
    static const char *const names[][2] = {
        {"f", "f(x^k)"},
        {"grad_norm_sq", "||grad f(x^k)||^2"},
        {"gap", "f(x^k) - f*"},
        {"accuracy", "accuracy"},
        {"round", "round k"},
        {"bits", "uplink bits per worker (32 per value)"},
        {"oracle", "oracle calls per worker"},
        {"seconds", "wall time (s)"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i][0], key) == 0)
            return names[i][1];
    return key;
}

//  The full path of program on PATH, into out; 0 if found.
static int
s_on_path(const char *program, char *out, size_t size)
{
    const char *path = getenv("PATH");
    for (const char *dir = path; dir && *dir;) {
        size_t len = strcspn(dir, ":");
        if ((size_t) snprintf(out, size, "%.*s/%s", (int) len, len ? dir : ".", program) < size &&
            access(out, X_OK) == 0)
            return 0;
        dir += len;
        if (*dir == ':')
            dir++;
    }
    return -1;
}

//  FILE.svg -> FILE.png (other names: NAME.png).
static void
s_png_name(const char *svg, char *out, size_t size)
{
    size_t len = strlen(svg);
    if (len > 4 && strcmp(svg + len - 4, ".svg") == 0)
        len -= 4;
    snprintf(out, size, "%.*s.png", (int) len, svg);
}

//  Converts svg to png with rsvg-convert at the given path. 0 or -1 (said why).
static int
s_to_png(const char *rsvg, const char *svg, const char *png)
{
    char *argv[] = {(char *) rsvg, "-o", (char *) png, (char *) svg, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, rsvg, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "marina plot: cannot start %s: %s\n", rsvg, strerror(rc));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "marina plot: %s failed on %s (no PNG)\n", rsvg, svg);
        return -1;
    }
    return 0;
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

int
cmd_plot(int argc, char **argv)
{
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        s_plot_usage(stdout);
        return 0;
    }
    if (argc < 3 || argv[2][0] == '-') {
        s_plot_usage(stderr);
        return 2;
    }
    const char *path = argv[2];
    query_series_t q = {0};
    q.y = "grad_norm_sq";
    q.x = "round";
    q.round0 = 1;
    const char *out = "plot.svg", *title = NULL;
    int logx = 0, logy = -1;  // -1: by --y
    int64_t *ids = calloc(PLOT_MAX_RUNS, sizeof *ids);
    size_t id_count = 0;
    int rc = ids ? 0 : 1;
    for (int i = 3; rc == 0 && i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--y") == 0 && more)
            q.y = argv[++i];
        else if (strcmp(a, "--x") == 0 && more)
            q.x = argv[++i];
        else if (strcmp(a, "--by") == 0 && more)
            q.by = argv[++i];
        else if (strcmp(a, "--where") == 0 && more)
            q.where = argv[++i];
        else if (strcmp(a, "--out") == 0 && more)
            out = argv[++i];
        else if (strcmp(a, "--title") == 0 && more)
            title = argv[++i];
        else if (strcmp(a, "--logx") == 0)
            logx = 1;
        else if (strcmp(a, "--liny") == 0)
            logy = 0;
        else if (strcmp(a, "--logy") == 0)
            logy = 1;
        else if (strcmp(a, "--round0") == 0 && more &&
                 (strcmp(argv[i + 1], "include") == 0 || strcmp(argv[i + 1], "exclude") == 0))
            q.round0 = strcmp(argv[++i], "include") == 0;
        else if (a[0] == '-') {
            fprintf(stderr, "marina plot: unknown option '%s' (or a missing value); see --help\n",
                    a);
            rc = 2;
        } else if (id_count < PLOT_MAX_RUNS) {
            long long id = s_run_id(a);
            if (id < 0) {
                fprintf(stderr, "marina plot: run '%s' is not a run id (1, 2, ...)\n", a);
                rc = 2;
            }
            ids[id_count++] = id;
        }
    }
    if (rc == 0 && id_count > 0 && q.where) {
        fprintf(stderr, "marina plot: name runs or give --where, not both\n");
        rc = 2;
    }
    if (rc != 0) {
        free(ids);
        return rc;
    }
    q.ids = id_count ? ids : NULL;
    q.id_count = id_count;
    if (logy < 0)
        logy = strcmp(q.y, "accuracy") != 0;
    mr_err_t err = {0};
    series_set_t set = {0};
    query_t *db = query_open(path, &err);
    int status = db ? series_read(db, &q, &set, &err) : err.rc;
    query_close(&db);
    FILE *f = NULL;
    if (status == MR_OK && !(f = fopen(out, "w")))
        status = mr_err_set(&err, MR_EIO, "%s: cannot write: %s", out, strerror(errno));
    if (status == MR_OK) {
        plot_line_t *lines = calloc(set.count, sizeof *lines);
        char auto_title[512];
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        snprintf(auto_title, sizeof auto_title, "%s against %s (%s)", q.y, q.x, base);
        plot_t p = {title ? title : auto_title,
                    s_axis_name(q.x),
                    s_axis_name(q.y),
                    logx,
                    logy,
                    lines,
                    set.count};
        for (size_t i = 0; lines && i < set.count; i++)
            lines[i] = (plot_line_t){set.lines[i].label, set.lines[i].count, set.lines[i].x,
                                     set.lines[i].y,     set.lines[i].lo,    set.lines[i].hi};
        status = lines ? plot_svg_write(&p, f, &err) : mr_err_set(&err, MR_ENOMEM, "out of memory");
        free(lines);
        if (fclose(f) != 0 && status == MR_OK)
            status = mr_err_set(&err, MR_EIO, "%s: cannot write: %s", out, strerror(errno));
        if (status != MR_OK)
            unlink(out);
    }
    if (status == MR_OK) {
        char rsvg[4096], png[4096];
        s_png_name(out, png, sizeof png);
        int found = s_on_path("rsvg-convert", rsvg, sizeof rsvg) == 0;
        int with_png = found && s_to_png(rsvg, out, png) == 0;
        size_t runs = 0;
        for (size_t i = 0; i < set.count; i++)
            runs += set.lines[i].runs;
        fprintf(stderr, "marina plot: %zu line%s (%zu runs) -> %s%s%s\n", set.count,
                set.count == 1 ? "" : "s", runs, out,
                with_png ? " and "
                : found  ? ""
                         : " (no PNG: rsvg-convert is not on PATH)",
                with_png ? png : "");
    } else {
        fprintf(stderr, "marina plot: %s\n", err.text);
    }
    series_fini(&set);
    free(ids);
    return status == MR_OK ? 0 : cmd_exit_code(status);
}
