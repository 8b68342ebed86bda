//  method.h - a distributed method is a table of functions; actors never branch on its name.
//
//  Round 0 starts the run: every worker sends what the method needs at x^0 (for most, the full
//  local gradient grad f_i(x^0)) and the server forms g^0 (MARINA Alg. 1 line 2). Round k >= 1:
//  the server broadcasts g^{k-1}, the coin c_k and the participants; each worker steps
//  x^k = x^{k-1} - gamma g^{k-1} and, if it participates, answers with its update; the server
//  combines the updates, in worker-id order, into g^k. (The row of round k in the database
//  describes the iterate x^k and the messages that produced g^k.)
//
//  Worker and server states are opaque and owned by the actor that made them (one thread).
//  Functions return MR_OK or MR_E*; inputs from peers are validated before they reach a method.
#ifndef METHOD_H
#define METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "comp.h"
#include "loss.h"
#include "mr_err.h"
#include "prox.h"
#include "rng.h"
#include "state.h"
#include "vec.h"

typedef enum {
    SAMPLING_UNIFORM = 0,     // minibatch indices i.i.d. uniform (with replacement)
    SAMPLING_IMPORTANCE = 1,  // i.i.d. with P(j) ~ L_ij, gradients reweighted by 1/(m P(j))
} sampling_t;

//  Resolved parameters of a run, the same on every actor. A method's resolve() fills the values
//  left at "theory" (NAN for reals, 0 for sizes) from the papers' corollaries.
typedef struct {
    size_t n;            // workers
    size_t dim;          // d
    size_t m;            // samples per worker (the paper's split: equal for all)
    double gamma;        // stepsize
    int gamma_ours;      // 1: gamma was 'ours' (NAN here; resolve() of a method with
                         // has_gamma_ours fills our own constants); 0: a number or 'theory'
    double p;            // probability of a full round (c_k = 1); VR-DIANA: of a reference update
    comp_cfg_t comp;     // Q
    size_t batch;        // b: minibatch of SGD, and of VR-MARINA online's full rounds
    size_t batch_prime;  // b': minibatch of compressed rounds (VR-MARINA), of VR-DIANA's steps
    size_t r;            // PP-MARINA: clients drawn (i.i.d., with replacement) per compressed round
    double alpha;        // DIANA / VR-DIANA: shift stepsize (theory 1/(1+omega))
    sampling_t sampling;  // how minibatches are drawn
    prox_cfg_t reg;       // R of F = f + R: methods with prox theory step x = prox_{gamma R}(...)
    uint64_t seed;        // the run's seed (for randomness worker and server share, e.g. sketches)
    size_t sketch_b;      // SEGA: sketch size (coordinates K come from comp.k; Gaussian: b)
    int sketch;           // SEGA: sketch kind (method-specific enum)
    const double *range_q;  // subspace SEGA: orthonormal basis Q of Range(A^T), row-major d x r
                            // (q_tj at range_q[t r + j]), borrowed; NULL if the method has no use
    size_t range_rank;      // r, the columns of range_q
    const double *coord_p;  // SEGA and CD with importance coordinates: p_j = P(j in S_k), d
                            // values in (0, 1] (method_importance_p()), borrowed; NULL if the
                            // method has no use
    agg_cfg_t agg;        // how the server combines the messages: the mean (the papers' average) or
                          // a robust rule with bucketing (optim/aggregate.h); agg.byzantine = B
    size_t byzantine;     // B: workers n-B..n-1 are attackers (ground truth, for the record and the
                          // honest mean; methods never treat them differently). 0: all honest
    int epoch_full;       // byz-vr-marina: 1 = c_k = 1 at the start of every epoch (every
                          // ceil(m / b') rounds, the authors' code) instead of the coin
    int allow_absent;     // 1: aggregate over the updates present even with the plain mean
                          // (on_worker_loss = continue: a lost worker is absent)
    int local_estimator;  // marina family with a robust aggregator: 1 = the server aggregates
                          // each worker's own estimator g_i^k = g_i^{k-1} + Q_i (the Byz-VR-
                          // MARINA authors' code), 0 = g^{k-1} + Q_i (Alg. 1, the default)
    double momentum;      // br-sgdm: beta of the worker momentum m = (1 - beta) g + beta m
    const double *coord_L;  // acd, asega: L_jj >= the diagonal of the Hessian bound of f (d
                            // values, loss_coord_smoothness() maxed over the workers), borrowed
    double L_smooth;        // acd, asega: L >= the smoothness of f (resolve() copies pc->L)
    double mu;              // acd, asega: mu, the strong convexity of f (resolve(): pc->mu)
    double tau;             // acd, asega: the coupling weight tau (resolve(): theory)
    int worker_x_support;   // marina: 1 = with lambda = 0 and a shard of under d/4 columns, a
                            // worker steps x only at those, the only ones its gradients read
                            // (the same messages, bit for bit; worker_x() is then x^k there
                            // alone). The worker actors set it; 0 keeps every worker's whole x
                            // equal to the server's
} method_params_t;

//  The problem's constants the theory needs (computed from the data by the launcher).
typedef struct {
    size_t n, dim, m;    // workers, dimension, samples per worker
    double L;            // sqrt(1/n sum_i L_i^2), L_i the smoothness of f_i
    double L_max;        // max_i L_i (>= every L_ij): the one L of Horvath et al.'s theorems
    double L_avg;        // script L: sqrt(1/n sum_i Lc_i^2), Lc_i of Assumption 3.1 for the
                         // chosen sampling (uniform: max_j L_ij; importance: mean_j L_ij)
    double omega, zeta;  // of the compressor
    double mu;           // strong convexity constant if known (l2 lambda), else 0
} method_consts_t;

//  What the server asks of the workers in one round.
typedef struct {
    uint64_t round;        // k
    int coin;              // c_k: 1 = full round (e.g. dense local gradients)
    const vec_t *g;        // g^{k-1} (NULL in round 0), owned by the server state
    const uint32_t *part;  // participants, sorted worker ids with repeats (PP-MARINA's r
                           // i.i.d. draws); NULL = every worker, once
    size_t npart;          // entries in part
} method_round_t;

//  What a worker reports besides its update: whether it sends one, the oracle work it did and,
//  if it computed them at the current iterate anyway, f_i(x^k) and grad f_i(x^k) (for metrics,
//  never communication).
typedef struct {
    int send;               // 1 if out holds an update to send (0: not a participant)
    uint64_t oracle_calls;  // grad f_ij evaluations this round
    int have_eval;          // 1 if f and grad below are f_i(x^k), grad f_i(x^k)
    double f;
    const vec_t *grad;          // owned by the worker state, valid until its next step
    const uint32_t *grad_cols;  // NULL, or grad is +0.0 off these grad_ncols increasing
    size_t grad_ncols;          // coordinates (owned by the worker state, as grad)
} method_report_t;

#define METHOD_EPOCH_BATCH       1
#define METHOD_EPOCH_BATCH_PRIME 2

typedef struct method_worker method_worker_t;
typedef struct method_server method_server_t;

typedef struct {
    const char *name;     // "marina", "gd", ...
    int allows_biased;    // 1 if a biased compressor (TopK) is allowed
    int allows_prox;      // 1 if the method takes a prox step for a regulariser R != none
    int has_gamma_ours;   // 1 if resolve() knows gamma = 'ours' (constants of ours, no theorem)
    int sketched;         // 1 if its updates may be SEGA sketch coefficients (CVEC_ENC_SKETCH)
    int uses_compressor;  // 0 if the method sends uncompressed vectors whatever Q says
    int local_estimator;  // 1 if mp.local_estimator applies (MARINA's g_i^k = g^{k-1} + Q_i)
    int needs_range;      // 1 if resolve() and the states need mp.range_q (data_row_space() of
                          // the union of the shards), which the launcher then computes
    //  Samples a worker takes per round, for 'epochs': 0 = its whole shard,
    //  METHOD_EPOCH_BATCH = mp.batch, METHOD_EPOCH_BATCH_PRIME = mp.batch_prime.
    int epoch_batch;
    int samples_coords;  // 1 if it samples coordinates (sketch = coordinate or importance);
                         // with importance the launcher computes mp.coord_p
    int accel_coords;    // 1 for accelerated CD / SEGA: the launcher computes mp.coord_L, and
                         // importance p_j ~ sqrt(L_jj) instead of L_jj
    //  Fills theory defaults of mp from pc and checks every parameter, naming the key in err.
    int (*resolve)(method_params_t *mp, const method_consts_t *pc, mr_err_t *err);
    //  Worker i's state over its loss, starting at x0 (copied). NULL (err filled) on failure.
    method_worker_t *(*worker_new)(
        const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err);
    void (*worker_destroy)(method_worker_t **self_p);
    //  Applies round rd and, if this worker participates, writes its update to out
    //  (out->cap >= dim) and sets report->send.
    int (*worker_step)(method_worker_t *self,
                       const method_round_t *rd,
                       rng_t *rng,
                       cvec_t *out,
                       method_report_t *report);
    //  The worker's current iterate x^k (with mp.worker_x_support, at its shard's columns only).
    const vec_t *(*worker_x)(const method_worker_t *self);

    method_server_t *(*server_new)(const method_params_t *mp, const vec_t *x0, mr_err_t *err);
    void (*server_destroy)(method_server_t **self_p);
    //  Decides round k (k = 0 first, then 1, 2, ...): fills rd (coin, g, participants) from the
    //  server's rng; the arrays rd points to live in the server state until the next plan.
    void (*server_plan)(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd);
    //  Combines the updates of round rd into g^k: ups[i] is worker i's update, or NULL when
    //  worker i does not participate (all n present when rd->part is NULL).
    int (*server_combine)(method_server_t *self,
                          const method_round_t *rd,
                          const cvec_t *const *ups,
                          mr_err_t *err);
    //  The server's copy of the current iterate x^k (after combining round k).
    const vec_t *(*server_x)(const method_server_t *self);
    //  ||aggregate - mean of the honest workers' vectors||^2 of the last combine, in the space the
    //  aggregator works in (0 when the method averages exactly); NULL: the method has no
    //  aggregator.
    double (*server_agg_dist_sq)(const method_server_t *self);
    //  1 if the last server_combine changed g only at coordinates where its (sparse) updates
    //  have an entry that is not +-0.0: every other coordinate of g kept its bits, so the
    //  ROUND's patch need look only there. NULL, or 0: g may have changed anywhere.
    int (*server_g_changed_at_updates)(const method_server_t *self);
    //  How an attacker maps the vector it wants the aggregator to see (its view) to the message it
    //  sends, given the round's broadcast: the message is view - offset, where offset is g^{k-1}
    //  on MARINA's compressed rounds (the server aggregates g^{k-1} + Q_i) and 0 otherwise. NULL:
    //  offset 0. Returns the offset, or NULL for 0.
    const vec_t *(*view_offset)(const method_round_t *rd);
    //  1 if the message of round rd is compressed by Q (else it travels dense).
    int (*round_compressed)(const method_round_t *rd);
    //  Checkpoints (state.h): save or load (st->loading) everything of a worker's / the server's
    //  state that persists from one round to the next, so that a state made with worker_new /
    //  server_new (same mp, loss, id, x0) and then loaded goes on exactly as the saved one would
    //  have, bit for bit. Between rounds only: after worker_step of round k / server_combine of
    //  round k. NULL: the method cannot be checkpointed (a run asking for it fails at start).
    void (*worker_state)(method_worker_t *self, state_t *st);
    void (*server_state)(method_server_t *self, state_t *st);
    //  A worker that joins again (on_worker_loss = continue; docs/protocol.md, "JOIN"): makes a
    //  state fresh from worker_new go on from round `round` (>= 1) at the iterate x = x^{round-1}
    //  that the server sends, recomputing what the method keeps of that point (MARINA: grad
    //  f_i(x^{round-1}), the other half of the next difference), and adds the oracle calls that
    //  took to *oracle_calls. Its next worker_step is then exactly that of a worker that never
    //  stopped, given the same rng. NULL: the workers keep state the server cannot give back
    //  (DIANA's shifts h_i, BR-SGDm's momentum), so a lost worker stays out.
    int (*worker_rejoin)(method_worker_t *self,
                         uint64_t round,
                         const vec_t *x,
                         uint64_t *oracle_calls);
} method_t;

//  Importance coordinate sampling (SEGA, CD): p_j proportional to the weights w_j >= 0 (the
//  launcher passes L_jj, loss_coord_smoothness()), scaled so that sum_j p_j = k (the expected
//  sketch size), each capped at 1 with the excess spread over the others in proportion to their
//  weights (water-filling; k = d gives p = 1). Weights are first floored at 1e-6 times their
//  mean, so every p_j > 0 and 1/p_j is finite; all-zero weights give p_j = k/d. Writes d values
//  to p. MR_OK, or MR_EINVAL if k is not in 1..d or a weight is negative or not finite.
int method_importance_p(const double *w, size_t d, size_t k, double *p);

//  1 if mp asks for robust aggregation (a rule other than the mean, bucketing, or attackers);
//  the methods with an aggregator (server_agg_dist_sq != NULL) then combine with mp.agg.
int method_robust_wanted(const method_params_t *mp);

//  The method called name, or NULL.
const method_t *method_find(const char *name);
//  The names of all methods, NULL-terminated (for --help and error messages).
const char *const *method_names(void);

#endif
