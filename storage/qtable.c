//  qtable.c - see qtable.h.
#include "qtable.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mr_err.h"

int
qtable_init(qtable_t *t, size_t cols, const char *const *names)
{
    memset(t, 0, sizeof *t);
    t->names = calloc(cols ? cols : 1, sizeof *t->names);
    if (!t->names)
        return MR_ENOMEM;
    t->cols = cols;
    for (size_t c = 0; c < cols; c++)
        if (!(t->names[c] = strdup(names[c] ? names[c] : ""))) {
            qtable_fini(t);
            return MR_ENOMEM;
        }
    return MR_OK;
}

void
qtable_fini(qtable_t *t)
{
    for (size_t i = 0; t->cells && i < t->rows * t->cols; i++)
        free(t->cells[i]);
    for (size_t c = 0; t->names && c < t->cols; c++)
        free(t->names[c]);
    free(t->cells);
    free(t->kinds);
    free(t->names);
    memset(t, 0, sizeof *t);
}

int
qtable_push_empty(qtable_t *t)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **cells = realloc(t->cells, cap * (t->cols ? t->cols : 1) * sizeof *cells);
        if (!cells)
            return MR_ENOMEM;
        t->cells = cells;
        qcell_kind_t *kinds = realloc(t->kinds, cap * (t->cols ? t->cols : 1) * sizeof *kinds);
        if (!kinds)
            return MR_ENOMEM;
        t->kinds = kinds;
        t->cap = cap;
    }
    for (size_t c = 0; c < t->cols; c++) {
        t->cells[t->rows * t->cols + c] = NULL;
        t->kinds[t->rows * t->cols + c] = QCELL_NULL;
    }
    t->rows++;
    return MR_OK;
}

static int
s_set(qtable_t *t, size_t row, size_t col, const char *text, qcell_kind_t kind)
{
    size_t i = row * t->cols + col;
    free(t->cells[i]);
    t->cells[i] = NULL;
    t->kinds[i] = QCELL_NULL;
    if (!text)
        return MR_OK;
    if (!(t->cells[i] = strdup(text)))
        return MR_ENOMEM;
    t->kinds[i] = kind;
    return MR_OK;
}

int
qtable_set_text(qtable_t *t, size_t row, size_t col, const char *text)
{
    return s_set(t, row, col, text, QCELL_TEXT);
}

int
qtable_set_int(qtable_t *t, size_t row, size_t col, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return s_set(t, row, col, buf, QCELL_INT);
}

int
qtable_set_real(qtable_t *t, size_t row, size_t col, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return s_set(t, row, col, isfinite(v) ? buf : NULL, QCELL_REAL);
}

int
qtable_push(qtable_t *t, const char *const *texts, const qcell_kind_t *kinds)
{
    int rc = qtable_push_empty(t);
    for (size_t c = 0; rc == MR_OK && c < t->cols; c++)
        rc = s_set(t, t->rows - 1, c, texts[c], kinds[c]);
    return rc;
}

const char *
qtable_cell(const qtable_t *t, size_t row, size_t col)
{
    return row < t->rows && col < t->cols ? t->cells[row * t->cols + col] : NULL;
}

//  The text a person sees for a cell (reals shortened into buf).
static const char *
s_shown(const qtable_t *t, size_t i, char *buf, size_t size)
{
    if (!t->cells[i])
        return "-";
    if (t->kinds[i] == QCELL_REAL) {
        snprintf(buf, size, "%.6g", strtod(t->cells[i], NULL));
        return buf;
    }
    return t->cells[i];
}

static void
s_print_text(const qtable_t *t, FILE *out)
{
    size_t *width = calloc(t->cols ? t->cols : 1, sizeof *width);
    if (!width)
        return;
    char buf[40];
    for (size_t c = 0; c < t->cols; c++)
        width[c] = strlen(t->names[c]);
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            size_t len = strlen(s_shown(t, r * t->cols + c, buf, sizeof buf));
            // A multi-line cell (a config) does not widen its column beyond its first line.
            const char *nl = strchr(s_shown(t, r * t->cols + c, buf, sizeof buf), '\n');
            if (nl)
                len = (size_t) (nl - s_shown(t, r * t->cols + c, buf, sizeof buf));
            if (len > width[c])
                width[c] = len;
        }
    for (size_t c = 0; c < t->cols; c++) {
        // A column of numbers is right-aligned, its name too.
        int numeric = t->rows > 0 && (t->kinds[c] == QCELL_INT || t->kinds[c] == QCELL_REAL);
        fprintf(out, numeric ? "%*s%s" : "%-*s%s", c + 1 < t->cols ? (int) width[c] : 0,
                t->names[c], c + 1 < t->cols ? "  " : "\n");
    }
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            size_t i = r * t->cols + c;
            const char *s = s_shown(t, i, buf, sizeof buf);
            int numeric = t->kinds[i] == QCELL_INT || t->kinds[i] == QCELL_REAL;
            int w = c + 1 < t->cols ? (int) width[c] : 0;
            fprintf(out, numeric ? "%*s%s" : "%-*s%s", w, s, c + 1 < t->cols ? "  " : "\n");
        }
    free(width);
}

static void
s_print_csv_field(const char *s, FILE *out)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void
s_print_json_string(const char *s, FILE *out)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char) *s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", out);
        else if (ch == '\t')
            fputs("\\t", out);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

void
qtable_print(const qtable_t *t, qtable_format_t format, FILE *out)
{
    if (format == QTABLE_TEXT) {
        s_print_text(t, out);
        return;
    }
    if (format == QTABLE_CSV) {
        for (size_t c = 0; c < t->cols; c++) {
            s_print_csv_field(t->names[c], out);
            fputc(c + 1 < t->cols ? ',' : '\n', out);
        }
        for (size_t r = 0; r < t->rows; r++)
            for (size_t c = 0; c < t->cols; c++) {
                s_print_csv_field(t->cells[r * t->cols + c], out);
                fputc(c + 1 < t->cols ? ',' : '\n', out);
            }
        return;
    }
    fputc('[', out);
    for (size_t r = 0; r < t->rows; r++) {
        fputs(r ? ",\n {" : "\n {", out);
        for (size_t c = 0; c < t->cols; c++) {
            size_t i = r * t->cols + c;
            if (c)
                fputs(", ", out);
            s_print_json_string(t->names[c], out);
            fputs(": ", out);
            if (!t->cells[i])
                fputs("null", out);
            else if (t->kinds[i] == QCELL_INT || t->kinds[i] == QCELL_REAL)
                fputs(t->cells[i], out);
            else
                s_print_json_string(t->cells[i], out);
        }
        fputc('}', out);
    }
    fputs(t->rows ? "\n]\n" : "]\n", out);
}
