//  report.h - reads a result database and prints what a paper's table needs: for every run, the
//  rounds, uplink bits and oracle calls spent until a metric first reached a target.
//  Read-only; safe while the recorder writes (WAL).
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "mr_err.h"

typedef struct {
    const char *metric;  // "grad_norm_sq" or "gap"
    double eps;          // the target
    int relative;        // 1: the target is eps * the metric at round 0
    const char *where;   // an SQL condition on runs (alias r), e.g. "r.name LIKE 'fig1-%'", or NULL
} report_cfg_t;

//  Prints a Markdown table of every run in path (in id order) to out. MR_OK or MR_EIO.
int report_print(const char *path, const report_cfg_t *cfg, FILE *out, mr_err_t *err);

#endif
