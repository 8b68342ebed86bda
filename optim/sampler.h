//  sampler.h - draws minibatches of a worker's samples: uniform with replacement, or importance
//  sampling with P(j) ~ L_ij (Byz-VR-MARINA paper, Example 2.2), with the weights
//  w_j = 1/(m P(j)) that keep the minibatch gradient unbiased. A sampler_t is a plain value
//  (init/fini) built once per worker from its loss; draws take the worker's rng.
#ifndef SAMPLER_H
#define SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "loss.h"
#include "method.h"
#include "mr_err.h"
#include "rng.h"

typedef struct {
    sampling_t kind;
    size_t m;     // samples
    double *cdf;  // importance: cumulative probabilities, cdf[m-1] = 1 (NULL for uniform)
    double *w;    // importance: w[j] = 1/(m P(j)) (NULL for uniform)
} sampler_t;

//  MR_OK, MR_ENOMEM, or MR_ECONFIG (err names key 'sampling') if importance weights are degenerate.
int sampler_init(sampler_t *s, const loss_t *l, sampling_t kind, mr_err_t *err);
void sampler_fini(sampler_t *s);

//  Draws b indices i.i.d. into rows and their weights into w (w may be NULL for uniform, and is
//  filled with ones then if not NULL).
void sampler_draw(const sampler_t *s, rng_t *r, size_t b, uint32_t *rows, double *w);

//  The kind named name ("uniform", "importance"); MR_ECONFIG naming key 'sampling'.
int sampler_kind_parse(const char *name, sampling_t *kind, mr_err_t *err);

#endif
