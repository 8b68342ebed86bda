//  plot_svg.h - draws a figure of lines (y against x, each axis linear or log) with optional
//  shaded bands, axes with tick labels, a title and a legend naming each line, as one
//  self-contained SVG document (no fonts, scripts or files it refers to). Pure: takes the lines
//  in memory, writes text. Line i is drawn in plot_svg_colour(i) (solid, 2 px; dashed from the
//  eleventh line on, as the colours repeat), its band in the same colour at 20% opacity. The plot
//  area is the rect with id "plot-area" (its x, y, width, height attributes, in pixels of the
//  document's size); lines and bands are clipped to it; the legend is to its right, outside it.
//  On a log axis, values <= 0 are not drawn (a band's lower edge is clamped to the axis).
#ifndef PLOT_SVG_H
#define PLOT_SVG_H

#include <stddef.h>
#include <stdio.h>

#include "mr_err.h"

typedef struct {
    const char *label;      // the legend's text
    size_t count;           // points
    const double *x, *y;    // count values each, x increasing
    const double *lo, *hi;  // the band's lower and upper edge at each x, or NULL (no band)
} plot_line_t;

typedef struct {
    const char *title;   // NULL: none
    const char *xlabel;  // the axes' names
    const char *ylabel;
    int logx, logy;  // 1: log10 scale
    const plot_line_t *lines;
    size_t count;
} plot_t;

//  The colour of line i, "#rrggbb" (a palette of 10, repeating).
const char *plot_svg_colour(size_t i);

//  Writes p as an SVG document to out. MR_OK, MR_EINVAL (no line has a point that can be drawn
//  on these axes, err says so) or MR_EIO (out failed).
int plot_svg_write(const plot_t *p, FILE *out, mr_err_t *err);

#endif
