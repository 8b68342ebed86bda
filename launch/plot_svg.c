//  plot_svg.c - see plot_svg.h.
#include "plot_svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

//  Layout, in pixels.
#define PLOT_LEFT      84   // the plot area's left edge (room for the y tick labels)
#define PLOT_TOP       48   // its top edge (room for the title)
#define PLOT_W         480  // its width
#define PLOT_H         360  // its height
#define PLOT_BOTTOM    64   // below it: x tick labels and the x axis' name
#define LEGEND_GAP     20   // between the plot area and the legend
#define LEGEND_ROW     20   // one legend line
#define LEGEND_CHAR_W  7    // a legend character's width (a 12 px sans-serif font, generously)
#define PLOT_MAX_TICKS 8    // labelled ticks per axis, at most

static const char *const s_palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define PALETTE_SIZE (sizeof s_palette / sizeof s_palette[0])

const char *
plot_svg_colour(size_t i)
{
    return s_palette[i % PALETTE_SIZE];
}

//  One axis: its range in transformed units (log10 of the value on a log axis) and its ticks.
typedef struct {
    int log;
    double min, max;  // data range (values), filled while scanning
    double lo, hi;    // the drawn range, transformed
    double step;      // between ticks, transformed
} s_axis_t;

static int
s_drawable(const s_axis_t *a, double v)
{
    return isfinite(v) && (!a->log || v > 0);
}

static double
s_tf(const s_axis_t *a, double v)
{
    return a->log ? log10(v) : v;
}

static void
s_see(s_axis_t *a, double v)
{
    if (!s_drawable(a, v))
        return;
    if (v < a->min)
        a->min = v;
    if (v > a->max)
        a->max = v;
}

//  1, 2 or 5 times a power of ten, near range / 5.
static double
s_nice_step(double range)
{
    double raw = range / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

//  Chooses the drawn range and the ticks from the data range.
static void
s_axis_fit(s_axis_t *a)
{
    if (a->log) {
        a->lo = floor(log10(a->min));
        a->hi = ceil(log10(a->max));
        if (a->hi <= a->lo)
            a->hi = a->lo + 1;
        a->step = ceil((a->hi - a->lo) / PLOT_MAX_TICKS);
        return;
    }
    double lo = a->min, hi = a->max;
    if (hi <= lo) {
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    a->step = s_nice_step(hi - lo);
    a->lo = floor(lo / a->step) * a->step;
    a->hi = ceil(hi / a->step) * a->step;
}

//  A tick's label: 10^e as "1", "10", "100", "1e-3"; a linear value with the step's decimals,
//  or in e-notation ("2e6") when large or small.
static void
s_tick_label(const s_axis_t *a, double t, char *out, size_t size)
{
    if (a->log) {
        int e = (int) lround(t);
        if (e >= 0 && e <= 3)
            snprintf(out, size, "%g", pow(10, e));
        else
            snprintf(out, size, "1e%d", e);
        return;
    }
    if (fabs(t) < a->step * 1e-9)
        t = 0;
    double big = fmax(fabs(a->lo), fabs(a->hi));
    if (t != 0 && (big >= 1e5 || a->step < 1e-3)) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.3g", t);
        // "2e+06" -> "2e6", "5e-05" -> "5e-5"
        char *e = strchr(tmp, 'e');
        if (e) {
            int exp = atoi(e + 1);
            *e = '\0';
            snprintf(out, size, "%.24se%d", tmp, exp);
        } else {
            snprintf(out, size, "%s", tmp);
        }
        return;
    }
    int decimals = a->step >= 1 ? 0 : (int) ceil(-log10(a->step) - 1e-9);
    snprintf(out, size, "%.*f", decimals, t);
}

//  Text with the five XML special characters escaped.
static void
s_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
            case '&':
                fputs("&amp;", out);
                break;
            case '<':
                fputs("&lt;", out);
                break;
            case '>':
                fputs("&gt;", out);
                break;
            case '"':
                fputs("&quot;", out);
                break;
            case '\'':
                fputs("&apos;", out);
                break;
            default:
                fputc(*s, out);
        }
    }
}

static double
s_px(const s_axis_t *a, double v)
{
    return PLOT_LEFT + (s_tf(a, v) - a->lo) / (a->hi - a->lo) * PLOT_W;
}

static double
s_py(const s_axis_t *a, double v)
{
    return PLOT_TOP + PLOT_H - (s_tf(a, v) - a->lo) / (a->hi - a->lo) * PLOT_H;
}

//  The line's drawable points as polylines (a point that cannot be drawn breaks the line);
//  a point closer than half a pixel to the last one drawn is skipped.
static void
s_line(FILE *out, const plot_line_t *l, size_t i, const s_axis_t *ax, const s_axis_t *ay)
{
    int open = 0;
    double lx = 0, ly = 0;
    for (size_t k = 0; k < l->count; k++) {
        if (!s_drawable(ax, l->x[k]) || !s_drawable(ay, l->y[k])) {
            if (open)
                fputs("\"/>\n", out);
            open = 0;
            continue;
        }
        double px = s_px(ax, l->x[k]), py = s_py(ay, l->y[k]);
        if (!open) {
            fprintf(out,
                    "<polyline class=\"line\" data-line=\"%zu\" fill=\"none\" stroke=\"%s\" "
                    "stroke-width=\"2\" stroke-linejoin=\"round\"%s clip-path=\"url(#plot-clip)\" "
                    "points=\"",
                    i, plot_svg_colour(i), i >= PALETTE_SIZE ? " stroke-dasharray=\"7,4\"" : "");
            open = 1;
        } else if (fabs(px - lx) < 0.5 && fabs(py - ly) < 0.5 && k + 1 < l->count) {
            continue;
        }
        fprintf(out, "%.2f,%.2f ", px, py);
        lx = px;
        ly = py;
    }
    if (open)
        fputs("\"/>\n", out);
}

//  The band between lo and hi as one polygon (upper edge left to right, lower edge back).
static void
s_band(FILE *out, const plot_line_t *l, size_t i, const s_axis_t *ax, const s_axis_t *ay)
{
    if (!l->lo || !l->hi)
        return;
    double floor_v = pow(10, ay->lo);  // a log axis' bottom
    size_t drawn = 0;
    for (size_t k = 0; k < l->count; k++)
        drawn += s_drawable(ax, l->x[k]) && s_drawable(ay, l->hi[k]) && isfinite(l->lo[k]);
    if (drawn < 2)
        return;
    fprintf(out,
            "<polygon class=\"band\" data-line=\"%zu\" fill=\"%s\" fill-opacity=\"0.2\" "
            "stroke=\"none\" clip-path=\"url(#plot-clip)\" points=\"",
            i, plot_svg_colour(i));
    for (size_t k = 0; k < l->count; k++)
        if (s_drawable(ax, l->x[k]) && s_drawable(ay, l->hi[k]) && isfinite(l->lo[k]))
            fprintf(out, "%.2f,%.2f ", s_px(ax, l->x[k]), s_py(ay, l->hi[k]));
    for (size_t k = l->count; k-- > 0;)
        if (s_drawable(ax, l->x[k]) && s_drawable(ay, l->hi[k]) && isfinite(l->lo[k])) {
            double lo = ay->log && l->lo[k] <= floor_v ? floor_v : l->lo[k];
            fprintf(out, "%.2f,%.2f ", s_px(ax, l->x[k]), s_py(ay, lo));
        }
    fputs("\"/>\n", out);
}

//  Grid lines, ticks and tick labels of both axes.
static void
s_axes(FILE *out, const s_axis_t *ax, const s_axis_t *ay)
{
    char label[64];
    double eps_x = ax->step * 1e-6, eps_y = ay->step * 1e-6;
    for (double t = ax->lo; t <= ax->hi + eps_x; t += ax->step) {
        double px = PLOT_LEFT + (t - ax->lo) / (ax->hi - ax->lo) * PLOT_W;
        s_tick_label(ax, t, label, sizeof label);
        fprintf(
            out,
            "<line class=\"grid\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#e4e4e4\" "
            "stroke-width=\"1\"/>\n"
            "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#000000\"/>\n"
            "<text class=\"tick\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
            px, PLOT_TOP, px, PLOT_TOP + PLOT_H, px, PLOT_TOP + PLOT_H, px, PLOT_TOP + PLOT_H + 5,
            px, PLOT_TOP + PLOT_H + 20, label);
    }
    for (double t = ay->lo; t <= ay->hi + eps_y; t += ay->step) {
        double py = PLOT_TOP + PLOT_H - (t - ay->lo) / (ay->hi - ay->lo) * PLOT_H;
        s_tick_label(ay, t, label, sizeof label);
        fprintf(
            out,
            "<line class=\"grid\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#e4e4e4\" "
            "stroke-width=\"1\"/>\n"
            "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#000000\"/>\n"
            "<text class=\"tick\" x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
            PLOT_LEFT, py, PLOT_LEFT + PLOT_W, py, PLOT_LEFT - 5, py, PLOT_LEFT, py, PLOT_LEFT - 8,
            py + 4, label);
    }
}

//  On a log axis of one decade per tick: short unlabelled ticks at 2..9 times each power of 10.
static void
s_minor_ticks(FILE *out, const s_axis_t *a, int vertical)
{
    if (!a->log || a->step != 1)
        return;
    for (double t = a->lo; t < a->hi - 1e-9; t += 1)
        for (int m = 2; m <= 9; m++) {
            double f = (t + log10(m) - a->lo) / (a->hi - a->lo);
            if (vertical) {
                double py = PLOT_TOP + PLOT_H - f * PLOT_H;
                fprintf(out,
                        "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#000000\"/>\n",
                        PLOT_LEFT - 3, py, PLOT_LEFT, py);
            } else {
                double px = PLOT_LEFT + f * PLOT_W;
                fprintf(out,
                        "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#000000\"/>\n",
                        px, PLOT_TOP + PLOT_H, px, PLOT_TOP + PLOT_H + 3);
            }
        }
}

int
plot_svg_write(const plot_t *p, FILE *out, mr_err_t *err)
{
    s_axis_t ax = {p->logx, INFINITY, -INFINITY, 0, 0, 0};
    s_axis_t ay = {p->logy, INFINITY, -INFINITY, 0, 0, 0};
    size_t longest = 0;
    for (size_t i = 0; i < p->count; i++) {
        const plot_line_t *l = &p->lines[i];
        for (size_t k = 0; k < l->count; k++) {
            if (!s_drawable(&ax, l->x[k]) || !s_drawable(&ay, l->y[k]))
                continue;
            s_see(&ax, l->x[k]);
            s_see(&ay, l->y[k]);
            if (l->hi)
                s_see(&ay, l->hi[k]);
            if (l->lo)
                s_see(&ay, l->lo[k]);
        }
        size_t len = l->label ? strlen(l->label) : 0;
        longest = len > longest ? len : longest;
    }
    if (!(ax.min <= ax.max) || !(ay.min <= ay.max))
        return mr_err_set(err, MR_EINVAL, "nothing to draw: no point of the %zu lines is finite%s",
                          p->count, p->logx || p->logy ? " and > 0 on the log axes" : "");
    s_axis_fit(&ax);
    s_axis_fit(&ay);
    int legend_x = PLOT_LEFT + PLOT_W + LEGEND_GAP;
    int width = legend_x + 36 + (int) longest * LEGEND_CHAR_W + 12;
    int rows_h = PLOT_TOP + (int) p->count * LEGEND_ROW + 12;
    int height = PLOT_TOP + PLOT_H + PLOT_BOTTOM;
    if (rows_h > height)
        height = rows_h;
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
            "<defs><clipPath id=\"plot-clip\"><rect x=\"%d\" y=\"%d\" width=\"%d\" "
            "height=\"%d\"/></clipPath></defs>\n",
            width, height, width, height, width, height, PLOT_LEFT, PLOT_TOP, PLOT_W, PLOT_H);
    if (p->title && p->title[0]) {
        fprintf(out,
                "<text class=\"title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                "font-size=\"15\">",
                PLOT_LEFT + PLOT_W / 2, PLOT_TOP - 20);
        s_text(out, p->title);
        fputs("</text>\n", out);
    }
    s_axes(out, &ax, &ay);
    s_minor_ticks(out, &ax, 0);
    s_minor_ticks(out, &ay, 1);
    for (size_t i = 0; i < p->count; i++)
        s_band(out, &p->lines[i], i, &ax, &ay);
    for (size_t i = 0; i < p->count; i++)
        s_line(out, &p->lines[i], i, &ax, &ay);
    fprintf(out,
            "<rect id=\"plot-area\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#000000\" stroke-width=\"1\"/>\n",
            PLOT_LEFT, PLOT_TOP, PLOT_W, PLOT_H);
    fprintf(out, "<text class=\"xlabel\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
            PLOT_LEFT + PLOT_W / 2, PLOT_TOP + PLOT_H + 44);
    s_text(out, p->xlabel);
    fputs(p->logx ? " (log scale)</text>\n" : "</text>\n", out);
    fprintf(out,
            "<text class=\"ylabel\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 %d %d)\">",
            22, PLOT_TOP + PLOT_H / 2, 22, PLOT_TOP + PLOT_H / 2);
    s_text(out, p->ylabel);
    fputs(p->logy ? " (log scale)</text>\n" : "</text>\n", out);
    for (size_t i = 0; i < p->count; i++) {
        int y = PLOT_TOP + 10 + (int) i * LEGEND_ROW;
        fprintf(out,
                "<line class=\"legend-key\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                "stroke-width=\"2\"%s/>\n"
                "<text class=\"legend\" x=\"%d\" y=\"%d\">",
                legend_x, y, legend_x + 26, y, plot_svg_colour(i),
                i >= PALETTE_SIZE ? " stroke-dasharray=\"7,4\"" : "", legend_x + 34, y + 4);
        s_text(out, p->lines[i].label);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
    if (ferror(out))
        return mr_err_set(err, MR_EIO, "cannot write the SVG");
    return MR_OK;
}
