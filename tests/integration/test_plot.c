//  test_plot.c - `marina plot` draws the figure: a real sweep (2 methods x 2 seeds) is plotted,
//  the PNG it writes with rsvg-convert is decoded (png_probe.py) and each line's colour must be
//  inside the plot area, colours of lines that do not exist must not be, a decreasing curve on
//  the log y axis must sit lower on the right than on the left, and the legend must name each
//  line; per run and per --by group (with its band). Errors: the exit codes of `marina query`.
//  Needs rsvg-convert (librsvg2-bin, installed by launch/setup.sh) and python3: else it skips.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "integration/proc_util.h"
#include "plot_svg.h"

typedef struct {
    char dir[64];
    char db[128];
    char out[128];  // the commands' output
} s_fixture_t;

//  Where colour i's pixels are, inside the plot area.
typedef struct {
    long count;
    int xmin, xmax;
    double left_y, right_y;  // mean row in the leftmost / rightmost fifth of its columns
} s_probe_t;

static int
s_group_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/marina-plot-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/runs.db", f->dir);
    snprintf(f->out, sizeof f->out, "%s/out.txt", f->dir);
    char base[160];
    snprintf(base, sizeof base, "%s/base.ini", f->dir);
    FILE *s = fopen(base, "w");
    if (!s)
        return -1;
    fprintf(s,
            "n = 3\nrounds = 150\ntransport = ipc\nprogress_s = 0\nsynth_rows = 300\n"
            "synth_d = 12\nk = 3\ndb = %s\n",
            f->db);
    fclose(s);
    // Runs 1..4: seed 1 marina, seed 1 diana, seed 2 marina, seed 2 diana.
    char *sweep[] = {MARINA_BIN, "sweep", base, "seed=1..2", "method=marina,diana", NULL};
    if (pu_run(sweep, f->out, 180) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
s_group_teardown(void **state)
{
    s_fixture_t *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

//  The plot area's rectangle, from the SVG text.
static void
s_plot_area(const char *svg, int *x, int *y, int *w, int *h)
{
    const char *rect = strstr(svg, "<rect id=\"plot-area\"");
    assert_non_null(rect);
    assert_int_equal(sscanf(rect,
                            "<rect id=\"plot-area\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"",
                            x, y, w, h),
                     4);
    assert_true(*w > 100 && *h > 100);
}

//  Probes the PNG for the first `colours` palette colours inside the plot area (a 2 px margin
//  keeps its frame out).
static void
s_probe(const char *png, const char *svg, size_t colours, s_probe_t *out, const char *result)
{
    int x, y, w, h;
    s_plot_area(svg, &x, &y, &w, &h);
    char cmd[1024];
    int used =
        snprintf(cmd, sizeof cmd, "python3 '%s/tests/integration/png_probe.py' '%s' %d %d %d %d",
                 MARINA_SOURCE_DIR, png, x + 2, y + 2, x + w - 2, y + h - 2);
    for (size_t i = 0; i < colours; i++)
        used += snprintf(cmd + used, sizeof cmd - (size_t) used, " '%s'", plot_svg_colour(i));
    snprintf(cmd + used, sizeof cmd - (size_t) used, " > '%s'", result);
    assert_int_equal(system(cmd), 0);
    FILE *r = fopen(result, "r");
    assert_non_null(r);
    for (size_t i = 0; i < colours; i++) {
        char hex[16];
        assert_int_equal(fscanf(r, "%15s %ld %d %d %lf %lf", hex, &out[i].count, &out[i].xmin,
                                &out[i].xmax, &out[i].left_y, &out[i].right_y),
                         6);
        assert_string_equal(hex, plot_svg_colour(i));
    }
    fclose(r);
}

static int
s_count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void
test_groups_over_seeds_are_drawn_with_bands_and_named(void **state)
{
    s_fixture_t *f = *state;
    char svg[160], png[160], result[160];
    snprintf(svg, sizeof svg, "%s/by.svg", f->dir);
    snprintf(png, sizeof png, "%s/by.png", f->dir);
    snprintf(result, sizeof result, "%s/by.txt", f->dir);
    char *argv[] = {MARINA_BIN, "plot",  f->db, "--y", "grad_norm_sq", "--x", "bits", "--by",
                    "method",   "--out", svg,   NULL};
    assert_int_equal(pu_run(argv, f->out, 60), 0);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "2 lines (4 runs)"));
    free(out);
    assert_int_equal(access(png, F_OK), 0);  // rsvg-convert is on PATH: the PNG is written too
    char *text = pu_slurp(svg);
    // The legend names each group; each group of 2 seeds has its band.
    assert_int_equal(s_count(text, "<text class=\"legend\""), 2);
    assert_non_null(strstr(text, ">marina</text>"));
    assert_non_null(strstr(text, ">diana</text>"));
    assert_int_equal(s_count(text, "<polygon class=\"band\""), 2);
    s_probe_t p[4];
    s_probe(png, text, 4, p, result);
    free(text);
    // marina (the group of run 1) in colour 0, diana in colour 1; colours 2 and 3 are unused.
    assert_true(p[0].count > 100);
    assert_true(p[1].count > 100);
    assert_int_equal(p[2].count, 0);
    assert_int_equal(p[3].count, 0);
    // ||grad f||^2 decreases for both: lower on the right (rows grow downwards). MARINA's falls
    // by an order of magnitude in 150 rounds; DIANA's (k = 3 of 12 coordinates) by about 10%.
    assert_true(p[0].right_y > p[0].left_y + 50);
    assert_true(p[1].right_y > p[1].left_y + 2);
    // The x axis is fitted to the data: the longest line spans most of the plot area's width.
    assert_true(fmax(p[0].xmax - p[0].xmin, p[1].xmax - p[1].xmin) > 300);
}

static void
test_one_line_per_run_named_after_the_run(void **state)
{
    s_fixture_t *f = *state;
    char svg[160], png[160], result[160];
    snprintf(svg, sizeof svg, "%s/runs.svg", f->dir);
    snprintf(png, sizeof png, "%s/runs.png", f->dir);
    snprintf(result, sizeof result, "%s/runs.txt", f->dir);
    char *argv[] = {MARINA_BIN, "plot",  f->db,     "1",        "3",     "--y", "f",
                    "--x",      "round", "--title", "two runs", "--out", svg,   NULL};
    assert_int_equal(pu_run(argv, f->out, 60), 0);
    char *text = pu_slurp(svg);
    assert_int_equal(s_count(text, "<text class=\"legend\""), 2);
    assert_non_null(strstr(text, ">base seed=1 method=marina</text>"));
    assert_non_null(strstr(text, ">base seed=2 method=marina</text>"));
    assert_null(strstr(text, "diana"));
    assert_non_null(strstr(text, ">two runs</text>"));
    assert_int_equal(s_count(text, "<polygon class=\"band\""), 0);  // single runs: no band
    s_probe_t p[3];
    s_probe(png, text, 3, p, result);
    free(text);
    assert_true(p[0].count > 100);
    assert_true(p[1].count > 100);
    assert_int_equal(p[2].count, 0);
    // f falls over the rounds: both lines end lower than they start, across the whole area.
    assert_true(p[0].right_y > p[0].left_y + 10);
    assert_true(p[1].right_y > p[1].left_y + 10);
}

static void
test_errors_have_the_query_exit_codes(void **state)
{
    s_fixture_t *f = *state;
    char svg[160], path[160];
    snprintf(svg, sizeof svg, "%s/err.svg", f->dir);
    // A missing file: 3.
    snprintf(path, sizeof path, "%s/none.db", f->dir);
    char *missing[] = {MARINA_BIN, "plot", path, "--out", svg, NULL};
    assert_int_equal(pu_run(missing, f->out, 30), 3);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "no such file"));
    free(out);
    // Another schema version: 4.
    snprintf(path, sizeof path, "%s/v99.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA user_version = 99; CREATE TABLE t(a);", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    char *version[] = {MARINA_BIN, "plot", path, "--out", svg, NULL};
    assert_int_equal(pu_run(version, f->out, 30), 4);
    // An unknown run: 5.
    char *unknown[] = {MARINA_BIN, "plot", f->db, "77", "--out", svg, NULL};
    assert_int_equal(pu_run(unknown, f->out, 30), 5);
    out = pu_slurp(f->out);
    assert_non_null(strstr(out, "no run 77 (runs are 1..4)"));
    free(out);
    // A column this database does not have, an unknown x, a bad --where, a bad option: 2.
    char *accuracy[] = {MARINA_BIN, "plot", f->db, "--y", "accuracy", "--out", svg, NULL};
    assert_int_equal(pu_run(accuracy, f->out, 30), 2);
    out = pu_slurp(f->out);
    assert_non_null(strstr(out, "rounds.accuracy"));
    free(out);
    char *x[] = {MARINA_BIN, "plot", f->db, "--x", "furlongs", "--out", svg, NULL};
    assert_int_equal(pu_run(x, f->out, 30), 2);
    char *where[] = {MARINA_BIN, "plot", f->db, "--where", "r.nosuch = 1", "--out", svg, NULL};
    assert_int_equal(pu_run(where, f->out, 30), 2);
    char *by[] = {MARINA_BIN, "plot", f->db, "--by", "method;drop", "--out", svg, NULL};
    assert_int_equal(pu_run(by, f->out, 30), 2);
    char *opt[] = {MARINA_BIN, "plot", f->db, "--colour", "red", NULL};
    assert_int_equal(pu_run(opt, f->out, 30), 2);
    // Nothing to draw (no run matches): 5, and no file is left.
    char *none[] = {MARINA_BIN, "plot", f->db, "--where", "r.method = 'gd'", "--out", svg, NULL};
    assert_int_equal(pu_run(none, f->out, 30), 5);
    assert_int_equal(access(svg, F_OK), -1);
}

int
main(void)
{
    char rsvg[] = "command -v rsvg-convert >/dev/null && command -v python3 >/dev/null";
    if (system(rsvg) != 0) {
        fprintf(stderr, "test_plot: SKIPPED: needs rsvg-convert (Debian librsvg2-bin, "
                        "launch/setup.sh installs it) and python3 to render and read the figure\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_over_seeds_are_drawn_with_bands_and_named),
        cmocka_unit_test(test_one_line_per_run_named_after_the_run),
        cmocka_unit_test(test_errors_have_the_query_exit_codes),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
