//  experiment.h - turns a configuration into a runnable experiment: loads (or generates) the data,
//  splits it among the honest workers as the MARINA paper does (or the Byzantine paper: rows scaled
//  to unit norm, shuffled), gives Byzantine attackers the whole set, binds each worker's loss, and resolves
//  the method's parameters ("theory" values from the papers' corollaries). Every check of the
//  parameters happens here, before any actor starts, and names the offending key.
//  The experiment owns its data; losses point into it. Plain value: init/fini.
#ifndef EXPERIMENT_H
#define EXPERIMENT_H

#include <stddef.h>

#include "attack.h"
#include "cfg.h"
#include "sha256.h"
#include "data.h"
#include "loss.h"
#include "method.h"
#include "stats.h"
#include "worker.h"

typedef struct {
    const method_t *method;      // from cfg "method"
    method_params_t mp;          // resolved: gamma and p are numbers
    csr_t data;                  // the whole data set (dimension d = data.cols)
    csr_t *shards;               // the honest workers' parts (see 'split'), then, for attackers,
                                 // the whole data set (label-flipped for lf)
    loss_t *losses;              // n local objectives over the shards
    size_t honest;               // G = n - B honest workers (ids 0..G-1); attackers are G..n-1
    attack_cfg_t attack;         // what the attackers send (z resolved)
    uint64_t rounds;             // the last round R: 'rounds', or from 'epochs'
    double max_invalid;          // exclude a sender after this many invalid updates (0: never)
    uint64_t metrics_every;      // METRICS in round 0, the last round and every this many (>= 1)
    uint64_t worker_rows_every;  // round_workers rows in round 0, the last and every this many
    uint64_t checkpoint_every;   // a checkpoint after every this many rounds (0: by time or off)
    double checkpoint_auto_s;    // checkpoint_every = 0: one every this many seconds (0: off)
    int downlink_dense;          // downlink = dense: no patches of g
    worker_fault_t fault;        // fault_send: faults injected into the workers' sends
    int fault_on;                // fault_send is not none
    double L;                    // sqrt(1/n sum L_i^2)
    double L_max;                // max_i L_i
    double omega, zeta;          // of the compressor
    loss_kind_t loss_kind;       // the loss
    double f_star;               // min f (convex losses), NAN if unknown
    char *problem;               // the problem key that caches f* (data, loss, lambda, n): a
                                 // LibSVM file enters as "sha256:<its SHA-256>"
    char *dataset_path;          // the LibSVM file read, absolute (NULL for synthetic data)
    char dataset_sha256[65];     // its SHA-256, hex ("" for synthetic data)
    char *resolved;              // the full configuration plus the resolved numbers (INI text)
    double *range_q;             // for a method with needs_range: orthonormal basis of Range(A^T)
                                 // over the union of the shards, d x range_rank (mp.range_q)
    size_t range_rank;           // its columns
    char *join_config;           // the configuration HELLO carries (cfg_join_text())
    uint64_t join_digest;        // its FNV-1a 64 digest
    uint64_t *shard_fp;          // n fingerprints, csr_fingerprint() of each shard
    double *coord_p;             // sketch = importance (sega, sega-biased, cd): P(j in S), d values
                                 // (mp.coord_p)
    double *coord_L;             // acd, asega: L_jj, d values (mp.coord_L)
} experiment_t;

//  Resolves c into e. MR_ECONFIG / MR_EIO / MR_EMALFORMED with err naming the key or the file.
int experiment_init(experiment_t *e, const cfg_t *c, mr_err_t *err);
void experiment_fini(experiment_t *e);

//  For an actor process that needs one shard: frees the data set and every shard and loss but
//  worker keep's (keep >= n: all of them, for the server), and gives the memory back to the
//  system. Everything else (parameters, fingerprints, the resolved text) stays.
void experiment_keep_shard(experiment_t *e, size_t keep);

//  Fills run with the experiment's identity (strings borrowed from c and e).
void experiment_run_info(const experiment_t *e, const cfg_t *c, run_info_t *run);

#endif
