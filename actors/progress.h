//  progress.h - the server's progress line of a run: "round k/K  r rounds/s  ||grad f||^2 = v
//  uplink bits/worker = b  ETA s". On a terminal it is one line rewritten in place (\r) a few
//  times a second; elsewhere (a log file, a pipe) a new line every progress_s seconds. Plain
//  value, no I/O but what progress_print writes; one per run.
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    double interval_s;  // seconds between lines (0: never)
    int tty;            // 1: rewrite one line in place
    double t0, next;    // when round 0 started; when the next line is due
    double bits_up;     // uplink bits (paper convention) of the rounds so far, summed over workers
    int shown;          // a live line is on the terminal (progress_end ends it)
} progress_t;

//  Starts at time now; progress_s as configured (0: never), tty as isatty(stderr). A terminal's
//  line is refreshed every min(progress_s, 0.2) seconds.
void progress_init(progress_t *p, double progress_s, int tty, double now);

//  Formats the line of round k of the rounds 0..rounds into buf: elapsed seconds since round 0
//  give the rate and the ETA (for the remaining rounds); bits_per_worker is cumulative.
void progress_format(char *buf,
                     size_t size,
                     uint64_t k,
                     uint64_t rounds,
                     double elapsed_s,
                     double grad_norm_sq,
                     double bits_per_worker);

//  After round k (its uplink bits summed over workers added first): 1 if a line is due at time
//  now (then the next is scheduled), else 0.
int progress_due(progress_t *p, uint64_t bits_up_round, double now);

//  Writes line to out: on a terminal as "\r" line + erase to the end of line (flushed);
//  otherwise not at all (the caller logs it as one line). Returns 1 if written.
int progress_print(progress_t *p, const char *line, FILE *out);

//  Ends a live line with a newline so that later output starts on a line of its own.
void progress_end(progress_t *p, FILE *out);

#endif
