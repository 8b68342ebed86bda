//  qtable.h - a small result table (named columns, rows of typed cells) and its three printed
//  forms: aligned text for a person, CSV (RFC 4180 quoting) and JSON (an array of objects,
//  numbers as numbers, NULL as null). What `marina query` prints. Plain value: init/fini; the
//  table owns every string.
#ifndef QTABLE_H
#define QTABLE_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    QCELL_NULL,
    QCELL_INT,
    QCELL_REAL,
    QCELL_TEXT
} qcell_kind_t;

typedef enum {
    QTABLE_TEXT,
    QTABLE_CSV,
    QTABLE_JSON
} qtable_format_t;

typedef struct {
    size_t cols, rows;
    char **names;         // cols column names
    char **cells;         // rows * cols texts, row-major; NULL for a NULL cell
    qcell_kind_t *kinds;  // rows * cols
    size_t cap;           // rows allocated
} qtable_t;

//  A table with the given column names and no rows. MR_OK or MR_ENOMEM.
int qtable_init(qtable_t *t, size_t cols, const char *const *names);
void qtable_fini(qtable_t *t);

//  Appends a row of cols cells (texts are copied; a NULL text is a NULL cell whatever its kind).
int qtable_push(qtable_t *t, const char *const *texts, const qcell_kind_t *kinds);
//  Appends a row built cell by cell: start a row, then set each cell.
int qtable_push_empty(qtable_t *t);
int qtable_set_text(qtable_t *t, size_t row, size_t col, const char *text);
int qtable_set_int(qtable_t *t, size_t row, size_t col, long long v);
int qtable_set_real(qtable_t *t, size_t row, size_t col, double v);  // NaN/Inf: NULL

//  The cell (row, col) or NULL.
const char *qtable_cell(const qtable_t *t, size_t row, size_t col);

//  Prints t to out. Text reals are shown with 6 significant digits; CSV and JSON keep 17.
void qtable_print(const qtable_t *t, qtable_format_t format, FILE *out);

#endif
