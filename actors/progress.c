//  progress.c - see progress.h.
#include "progress.h"

#include <math.h>

#define PROGRESS_TTY_S 0.2  // a terminal's line is refreshed at least this often

void
progress_init(progress_t *p, double progress_s, int tty, double now)
{
    *p = (progress_t){0};
    p->tty = tty;
    p->interval_s = progress_s > 0 && tty ? fmin(progress_s, PROGRESS_TTY_S) : progress_s;
    p->t0 = now;
    p->next = now + p->interval_s;
}

void
progress_format(char *buf,
                size_t size,
                uint64_t k,
                uint64_t rounds,
                double elapsed_s,
                double grad_norm_sq,
                double bits_per_worker)
{
    double rate = elapsed_s > 0 ? (double) k / elapsed_s : 0;
    char eta[32];
    if (rate > 0 && rounds >= k)
        snprintf(eta, sizeof eta, "%.0f s", (double) (rounds - k) / rate);
    else
        snprintf(eta, sizeof eta, "?");
    snprintf(buf, size,
             "round %llu/%llu  %.0f rounds/s  ||grad f||^2 = %.4e  uplink bits/worker = %.4e  "
             "ETA %s",
             (unsigned long long) k, (unsigned long long) rounds, rate, grad_norm_sq,
             bits_per_worker, eta);
}

int
progress_due(progress_t *p, uint64_t bits_up_round, double now)
{
    p->bits_up += (double) bits_up_round;
    if (p->interval_s <= 0 || now < p->next)
        return 0;
    p->next = now + p->interval_s;
    return 1;
}

int
progress_print(progress_t *p, const char *line, FILE *out)
{
    if (!p->tty)
        return 0;
    fprintf(out, "\r%s\033[K", line);
    fflush(out);
    p->shown = 1;
    return 1;
}

void
progress_end(progress_t *p, FILE *out)
{
    if (p->shown) {
        fputc('\n', out);
        fflush(out);
    }
    p->shown = 0;
}
