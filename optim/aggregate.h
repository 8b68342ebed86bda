//  aggregate.h - robust aggregation rules for the server: mean, coordinate-wise median (CM),
//  trimmed mean (TM), geometric median by smoothed Weiszfeld (RFA), Krum and centered clipping
//  (CC), each optionally behind bucketing (Byz-VR-MARINA paper, Appendix D, Algorithm 2).
//  agg_apply() reads n dense vectors and writes one: pure computation, no I/O. Krum, RFA and CM
//  with bucketing are (delta, c)-robust aggregators in the sense of Definition 2.1 (Theorem D.1;
//  RFA as the exact geometric median, which T Weiszfeld steps only approach: see
//  docs/aggregators.md, which gives the rules, defaults, costs and sources). Inputs must be finite
//  (msg/ rejects NaN and Inf before they reach the server). An agg_cfg_t is a plain value; an
//  agg_work_t holds the scratch of one caller (new/destroy, not thread-safe). All randomness
//  (bucketing's permutation) comes from the rng_t passed in. Errors: MR_EINVAL at apply time,
//  MR_ECONFIG from agg_check() naming the configuration key.
#ifndef AGGREGATE_H
#define AGGREGATE_H

#include <stddef.h>

#include "mr_err.h"
#include "rng.h"
#include "vec.h"

typedef enum {
    AGG_MEAN = 0,  // plain average
    AGG_CM,        // coordinate-wise median (Chen et al. 2017)
    AGG_TM,        // coordinate-wise trimmed mean, B dropped at each end (Yin et al. 2018)
    AGG_RFA,       // geometric median, smoothed Weiszfeld (Pillutla et al. 2022)
    AGG_KRUM,      // Krum (Blanchard et al. 2017)
    AGG_CC,        // centered clipping (Karimireddy, He, Jaggi 2021)
} agg_rule_t;

typedef struct {
    agg_rule_t rule;   // which rule
    size_t bucket;     // s: bucket size for bucketing (Karimireddy et al. 2022, Alg. 2); 0 or 1 =
                       // no bucketing
    size_t byzantine;  // B (or an upper bound): Krum scores over the n - B - 2 nearest; TM trims B
                       // from each side. With bucketing both use min(B, buckets) (aggregators.md)
    double rfa_nu;     // smoothing of Weiszfeld, > 0 (default 0.1)
    size_t rfa_iters;  // T >= 1 (default 8, the paper's Appendix B.2)
    double cc_tau;     // centered clipping radius tau > 0 (default 10, docs/aggregators.md)
    size_t cc_iters;   // L >= 1 (default 3)
    int rfa_from_cm;   // 1: Weiszfeld starts from the coordinate-wise median instead of the mean
                       // (default 0, the mean; aggregators.md: far outliers need it or a big T)
} agg_cfg_t;

#define AGG_DEFAULT_RFA_NU    0.1
#define AGG_DEFAULT_RFA_ITERS 8
#define AGG_DEFAULT_CC_TAU    10.0
#define AGG_DEFAULT_CC_ITERS  3

//  The rule named name ("mean", "cm", "tm", "rfa", "krum", "cc"): MR_OK, or MR_ECONFIG if unknown
//  (*rule untouched).
int agg_rule_parse(const char *name, agg_rule_t *rule);
//  The name agg_rule_parse() reads; "unknown" for a value outside agg_rule_t.
const char *agg_rule_name(agg_rule_t rule);
//  Mean, no bucketing, B = 0, the paper's T = 8 and nu = 0.1, tau = 10, L = 3.
void agg_cfg_default(agg_cfg_t *cfg);

typedef struct agg_work agg_work_t;  // scratch, owned by one caller

//  Scratch for up to n inputs of dimension up to dim: about (n/2 + 2) dim + n^2 doubles. NULL if
//  out of memory.
agg_work_t *agg_work_new(size_t n, size_t dim);
//  NULL-safe; sets *w = NULL.
void agg_work_destroy(agg_work_t **w);

//  Aggregates the n dense vectors xs[0..n) (NULL entries are absent and skipped: the rule runs
//  over the present ones) into out (dim d, not one of the inputs). With bucketing, a fresh
//  uniform random permutation of the present inputs is drawn from rng each call, inputs are
//  averaged in buckets of s (the last bucket may be smaller, as in Alg. 2: ceil(n/s) buckets),
//  and the rule runs over the bucket means. rng may be NULL without bucketing. CC starts from the
//  coordinate-wise median of the rule's inputs (see agg_apply_from()). Returns MR_OK, or MR_EINVAL
//  (err filled) if no input is present, dims differ, or work is too small for n and d.
int agg_apply(const agg_cfg_t *cfg,
              const vec_t *const *xs,
              size_t n,
              rng_t *rng,
              agg_work_t *work,
              vec_t *out,
              mr_err_t *err);

//  agg_apply() with CC started from start (e.g. the previous round's aggregate, as Karimireddy et
//  al. 2021 do); start may be NULL (then the coordinate-wise median) and may be out itself. The
//  other rules ignore start.
int agg_apply_from(const agg_cfg_t *cfg,
                   const vec_t *const *xs,
                   size_t n,
                   const vec_t *start,
                   rng_t *rng,
                   agg_work_t *work,
                   vec_t *out,
                   mr_err_t *err);

//  How many inputs the rule itself sees for m present inputs: ceil(m / s) with bucketing, else m.
size_t agg_rule_inputs(const agg_cfg_t *cfg, size_t m);

//  Checks a cfg against n inputs: the rule is known ('aggregator'); bucketing leaves at least two
//  buckets for a rule other than the mean ('bucket'); Krum has n' - B' - 2 >= 1 and TM 2 B' < n',
//  n' the rule's inputs and B' = min(B, n') ('byzantine', or 'bucket' when bucketing is what
//  breaks it); rfa_nu > 0, rfa_iters >= 1 ('rfa_nu', 'rfa_iters'); cc_tau > 0, cc_iters >= 1
//  ('cc_tau', 'cc_iters'). Only the chosen rule's own parameters are checked. MR_OK or
//  MR_ECONFIG (err names the key).
int agg_check(const agg_cfg_t *cfg, size_t n, mr_err_t *err);

#endif
