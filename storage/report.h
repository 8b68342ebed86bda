//  report.h - reads a result database and prints what a paper's table needs: for every run, the
//  rounds, uplink bits (in total and per worker, the papers' #bits/n) and oracle calls spent until
//  a metric first reached a target; and, where runs differ only in their stepsize (and seed), the
//  stepsize picked "best in hindsight" (the lowest final metric, as the Byzantine VR-MARINA
//  paper's tuning does). Read-only; safe while the recorder writes (WAL).
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "mr_err.h"

typedef struct {
    const char *metric;  // "grad_norm_sq" or "gap"
    double eps;          // the target
    int relative;        // 1: the target is eps * the metric at round 0
    const char *where;   // an SQL condition on runs (alias r), e.g. "r.name LIKE 'fig1-%'", or NULL
    int round0;          // 1: round 0's bits and oracle calls are counted; 0: they are not (the
                         // papers' plots start at 0 bits; the MARINA authors' code counts none)
    int best_only;       // 1: of runs that differ only in gamma, list those of the picked gamma
} report_cfg_t;

//  Prints a Markdown table of every run in path (in id order) to out, then the stepsize search
//  table if some runs differ only in gamma (and seed). MR_OK or MR_EIO.
int report_print(const char *path, const report_cfg_t *cfg, FILE *out, mr_err_t *err);

#endif
