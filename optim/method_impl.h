//  method_impl.h - private to optim/: the method tables that method.c lists, and MARINA's
//  functions, which method_gd.c reuses (MARINA with p = 1 and Q = identity is GD; MARINA paper,
//  Sec. 2). Nothing outside optim/ includes this header; use method_find() instead.
#ifndef METHOD_IMPL_H
#define METHOD_IMPL_H

#include "method.h"

//  Checks and steps the method files share (method_common.c). A check returns MR_OK, or fills
//  err, naming the key or the worker, and returns its code (MR_ECONFIG, MR_EDIM, MR_EINVAL).

//  What every method needs: n >= 1, gamma > 0 finite, p in (0, 1].
int method_check_common(const method_params_t *mp, mr_err_t *err);
//  gamma > 0 and finite.
int method_check_gamma(const method_params_t *mp, mr_err_t *err);
//  p in (0, 1] (resolve() checks it before computing gamma from it).
int method_check_p(const method_params_t *mp, mr_err_t *err);
//  An unbiased compressor (E[Q(x)] = x); method names the method in the message.
int method_check_unbiased(const method_params_t *mp, const char *method, mr_err_t *err);
//  d >= 1 and, if x0 is not NULL, x0 of dim d (MR_EDIM).
int method_check_x0(const method_params_t *mp, const vec_t *x0, mr_err_t *err);
//  Worker id's shard has d columns (MR_EDIM).
int method_check_shard(const method_params_t *mp, const loss_t *loss, uint32_t id, mr_err_t *err);

//  calloc(1, size) for the state of worker id, or of the server; NULL with err = MR_ENOMEM.
void *method_worker_alloc(size_t size, uint32_t id, mr_err_t *err);
void *method_server_alloc(size_t size, mr_err_t *err);

//  The step every actor takes from g^{k-1}: x = x - gamma g, then, if prox, x = prox_{gamma R}(x)
//  with R = mp->reg. Worker and server call it on the same bits, so their x stay identical.
void method_step(const method_params_t *mp, const vec_t *g, int prox, vec_t *x);

//  The server's check of round rd's updates before it touches its state: rd is round expected,
//  and every worker i with mult[i] > 0 (every one of the n if mult is NULL) sent an update of
//  dim d. MR_EINVAL naming the round or a missing worker, MR_EDIM naming the worker.
int method_check_updates(const method_params_t *mp,
                         uint64_t expected,
                         const method_round_t *rd,
                         const cvec_t *const *ups,
                         const uint32_t *mult,
                         mr_err_t *err);
//  sum = sum_i mult[i] ups[i] (weight 1 for all n if mult is NULL), added in worker-id order so
//  that a run is bit-reproducible whatever order the messages arrived in.
void method_sum_updates(vec_t *sum, const cvec_t *const *ups, size_t n, const uint32_t *mult);

//  Robust aggregation for the methods that average worker messages (method_robust.c). A server
//  state holds one method_robust_t; when it is off (mp.agg is the plain mean and there are no
//  attackers) the methods keep their exact averaging arithmetic, so runs without attackers are
//  bit-identical to the papers' averages. When on, the server aggregates the dense views
//  offset + ups[i] of the present updates (NULL = absent: rejected or never sent) with mp.agg,
//  bucketing with a fresh permutation per round from the stream RNG_STREAM_AGGREGATE.
typedef struct {
    int on;              // 1: aggregate with mp.agg (else the caller averages as before)
    size_t n, honest;    // inputs, and how many (ids < honest) are honest workers
    agg_cfg_t cfg;       // the rule
    agg_work_t *work;    // its scratch
    rng_t rng;           // bucketing permutations
    vec_t *views;        // n dense views
    const vec_t **ptrs;  // views[i], or NULL for an absent update
    vec_t honest_mean;   // mean of the honest views of the last call
    double dist_sq;      // ||aggregate - honest_mean||^2 of the last call (0 when off)
} method_robust_t;

//  Sets r up for mp (off when not wanted). MR_OK, or MR_ENOMEM / MR_ECONFIG (agg_check()).
int method_robust_init(method_robust_t *r, const method_params_t *mp, mr_err_t *err);
void method_robust_fini(method_robust_t *r);
//  out = Agg over the views r->ptrs (NULL = absent) that the caller filled; records dist_sq.
int method_robust_aggregate(method_robust_t *r, vec_t *out, mr_err_t *err);
//  out = Agg_i (offset + ups[i]) over the present ups (offset NULL: 0). MR_OK or MR_EINVAL (none
//  present).
int method_robust_combine(
    method_robust_t *r, const vec_t *offset, const cvec_t *const *ups, vec_t *out, mr_err_t *err);
//  out = Agg_i views[i] where views[i] = ups[i] (reset = 1) or views[i] + ups[i] (reset = 0): the
//  views persist between calls, each a worker's own running estimator. An absent update leaves
//  its view as it was and out of this call. MR_OK or MR_EINVAL (none present).
int method_robust_accumulate(
    method_robust_t *r, int reset, const cvec_t *const *ups, vec_t *out, mr_err_t *err);

//  Checkpoints (method.h, state.h): saves or loads what persists of r between rounds (its rng,
//  the last dist_sq and, if views, every worker's running estimator of
//  method_robust_accumulate()); refuses a stream saved with robust aggregation on where it is
//  off, or the other way round.
void method_robust_state(method_robust_t *r, state_t *st, int views);

extern const method_t method_marina;
extern const method_t method_gd;
extern const method_t method_vr_marina;
extern const method_t method_vr_marina_online;
extern const method_t method_pp_marina;

method_worker_t *method_marina_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err);
void method_marina_worker_destroy(method_worker_t **self_p);
int method_marina_worker_step(method_worker_t *self,
                              const method_round_t *rd,
                              rng_t *rng,
                              cvec_t *out,
                              method_report_t *report);
const vec_t *method_marina_worker_x(const method_worker_t *self);
int method_marina_server_g_changed_at_updates(const method_server_t *self);
int method_marina_worker_rejoin(method_worker_t *self,
                                uint64_t round,
                                const vec_t *x,
                                uint64_t *oracle_calls);
//  Proximal GD's worker step (method_gd.c): as above, but x^{k+1} = prox_{gamma R}(x^k - gamma g^k)
//  with R = mp.reg, applied before the gradient at x^{k+1} is taken.
int method_marina_worker_step_prox(method_worker_t *self,
                                   const method_round_t *rd,
                                   rng_t *rng,
                                   cvec_t *out,
                                   method_report_t *report);

method_server_t *
method_marina_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err);
void method_marina_server_destroy(method_server_t **self_p);
void
method_marina_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd);
int method_marina_server_combine(method_server_t *self,
                                 const method_round_t *rd,
                                 const cvec_t *const *ups,
                                 mr_err_t *err);
//  Proximal GD's server combine: the server's x^{k+1} goes through the same prox.
int method_marina_server_combine_prox(method_server_t *self,
                                      const method_round_t *rd,
                                      const cvec_t *const *ups,
                                      mr_err_t *err);
const vec_t *method_marina_server_x(const method_server_t *self);
//  MARINA's checkpoint visitors (method.h), opened with tag, the table's own name: GD shares the
//  states and its own tag keeps a MARINA stream from loading into a GD run.
void method_marina_worker_visit(method_worker_t *self, state_t *st, const char *tag);
void method_marina_server_visit(method_server_t *self, state_t *st, const char *tag);
double method_marina_server_agg_dist_sq(const method_server_t *self);
//  MARINA's attacker view: the server aggregates g^{k-1} + Q_i on compressed rounds.
const vec_t *method_marina_view_offset(const method_round_t *rd);
int method_marina_round_compressed(const method_round_t *rd);
extern const method_t method_byz_vr_marina;
extern const method_t method_br_sgdm;

extern const method_t method_dcgd;
extern const method_t method_diana;
extern const method_t method_vr_diana;
extern const method_t method_sgd;

//  DIANA's worker and server (method_diana.c). DCGD is DIANA with alpha = 0 and runs both; SGD
//  runs the server (with alpha = 0: g^k is the mean of the updates).
method_worker_t *method_diana_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err);
void method_diana_worker_destroy(method_worker_t **self_p);
int method_diana_worker_step(method_worker_t *self,
                             const method_round_t *rd,
                             rng_t *rng,
                             cvec_t *out,
                             method_report_t *report);
const vec_t *method_diana_worker_x(const method_worker_t *self);
//  DCGD only (alpha = 0: no shift to lose); MR_EINVAL for DIANA.
int method_diana_worker_rejoin(method_worker_t *self,
                               uint64_t round,
                               const vec_t *x,
                               uint64_t *oracle_calls);

method_server_t *method_diana_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err);
void method_diana_server_destroy(method_server_t **self_p);
void
method_diana_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd);
int method_diana_server_combine(method_server_t *self,
                                const method_round_t *rd,
                                const cvec_t *const *ups,
                                mr_err_t *err);
const vec_t *method_diana_server_x(const method_server_t *self);
//  DIANA's checkpoint visitors (method.h), opened with tag (the table's name: DCGD, SGD and
//  BR-SGDm share the states).
void method_diana_worker_visit(method_worker_t *self, state_t *st, const char *tag);
void method_diana_server_visit(method_server_t *self, state_t *st, const char *tag);
double method_diana_server_agg_dist_sq(const method_server_t *self);

//  SEGA, biased SEGA, subspace SEGA and randomized coordinate descent (method_sega.c).
extern const method_t method_sega;
extern const method_t method_sega_biased;
extern const method_t method_sega_subspace;
extern const method_t method_cd;
//  Accelerated coordinate descent and accelerated SEGA (method_asega.c), random direct search
//  (method_rds.c); all three draw from method_cd_stream(k).
extern const method_t method_acd;
extern const method_t method_asega;
extern const method_t method_rds;

//  method_params_t.sketch for SEGA and CD. Importance: the launcher computes the same p_j from
//  the data in every actor process (each loads the whole set), so worker and server draw the
//  same S from the shared stream.
#define METHOD_SKETCH_COORDINATE 0  // K = comp.k distinct uniform coordinates
#define METHOD_SKETCH_IMPORTANCE 1  // coordinate j independently with probability mp.coord_p[j]
#define METHOD_SKETCH_GAUSSIAN   2  // b = sketch_b directions with N(0, 1) entries
#define METHOD_SKETCH_SINGLE     3  // acd, asega: one coordinate j, drawn with probability coord_p[j]

//  The rng stream (rng_seed(&r, mp.seed, stream)) from which worker i and the server both draw
//  S_ik, the sketch of worker i in round k: 2^62 | (k mod 2^41) << 20 | i, for i < 2^20. Bit 62
//  keeps it apart from RNG_STREAM_SERVER (0) and rng_stream_worker() (2^32 + i); the round
//  repeats only after 2^41 rounds. A Gaussian S is drawn column by column: S_tj is the
//  (j d + t)-th rng_normal(); coordinates are one rng_sample_k(d, K); importance coordinates are
//  d rng_uniform() draws u_j, j in S iff u_j < p_j.
uint64_t method_sega_stream(uint64_t round, uint32_t worker);
//  CD's stream of round k, one S_k shared by all workers: 2^62 | 2^61 | (k mod 2^41) << 20.
uint64_t method_cd_stream(uint64_t round);

#endif
