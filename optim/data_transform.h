//  data_transform.h - what the Byzantine paper's experiments do to a data set before it is split
//  (Byz-VR-MARINA paper, Sec. 3): rows scaled to unit l2 norm, rows shuffled by a random
//  permutation drawn from the run's seed, and the label-flipping attacker's copy of the data.
//  Every function makes a new csr_t (the caller's to csr_fini) and leaves its input unchanged.
#ifndef DATA_TRANSFORM_H
#define DATA_TRANSFORM_H

#include <stdint.h>

#include "data.h"
#include "mr_err.h"
#include "rng.h"

//  out = a with every row divided by its l2 norm (all-zero rows stay zero). MR_OK or MR_ENOMEM.
int csr_normalize_rows(const csr_t *a, csr_t *out, mr_err_t *err);

//  out = the rows of a in the order of a uniform random permutation (Fisher-Yates from the last
//  row down, j = rng_below(rng, t + 1) for t = rows - 1 .. 1). MR_OK or MR_ENOMEM.
int csr_shuffle_rows(const csr_t *a, rng_t *rng, csr_t *out, mr_err_t *err);

//  out = a with every label y replaced by -y: label flipping (y -> 1 - y for {0, 1} labels is
//  y -> -y for our {-1, +1} labels). MR_OK or MR_ENOMEM.
int csr_flip_labels(const csr_t *a, csr_t *out, mr_err_t *err);

#endif
