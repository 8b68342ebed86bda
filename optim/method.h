//  method.h - a distributed method is a table of functions; actors never branch on its name.
//
//  Round 0 starts the run: every worker sends the full local gradient grad f_i(x^0) and the server
//  averages them into g^0 (MARINA Alg. 1 line 2). Round k >= 1: the server broadcasts g^{k-1} and
//  the coin c_k; each worker steps x^k = x^{k-1} - gamma g^{k-1} and answers with its update; the
//  server combines the updates, in worker-id order, into g^k. (The row of round k in the database
//  describes the iterate x^k and the messages that produced g^k.)
//
//  Worker and server states are opaque and owned by the actor that made them (one thread).
//  Functions return MR_OK or MR_E*; inputs from peers are validated before they reach a method.
#ifndef METHOD_H
#define METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "comp.h"
#include "loss.h"
#include "mr_err.h"
#include "rng.h"
#include "vec.h"

//  Resolved parameters of a run, the same on every actor.
typedef struct {
    size_t n;                // workers
    size_t dim;              // d
    double gamma;            // stepsize
    double p;                // probability of a full-gradient round (c_k = 1)
    comp_kind_t compressor;  // Q
    size_t k;                // RandK's K
} method_params_t;

//  What the server asks of the workers in one round.
typedef struct {
    uint64_t round;  // k
    int coin;        // c_k: 1 = send full local gradients, 0 = send compressed differences
    const vec_t *g;  // g^{k-1} (NULL in round 0), owned by the server state
} method_round_t;

//  What a worker reports besides its update: the oracle work it did and, if it computed them at
//  the current iterate anyway, f_i(x^k) and grad f_i(x^k) (for metrics, never communication).
typedef struct {
    uint64_t oracle_calls;  // grad f_ij evaluations this round
    int have_eval;          // 1 if f and grad below are f_i(x^k), grad f_i(x^k)
    double f;
    const vec_t *grad;  // owned by the worker state, valid until its next step
} method_report_t;

typedef struct method_worker method_worker_t;
typedef struct method_server method_server_t;

typedef struct {
    const char *name;  // "marina", "gd", ...
    //  Worker i's state over its loss, starting at x0 (copied). NULL (err filled) on failure.
    method_worker_t *(*worker_new)(
        const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err);
    void (*worker_destroy)(method_worker_t **self_p);
    //  Applies round rd and writes this worker's update to out (out->cap >= dim).
    int (*worker_step)(method_worker_t *self,
                       const method_round_t *rd,
                       rng_t *rng,
                       cvec_t *out,
                       method_report_t *report);
    //  The worker's current iterate x^k.
    const vec_t *(*worker_x)(const method_worker_t *self);

    method_server_t *(*server_new)(const method_params_t *mp, const vec_t *x0, mr_err_t *err);
    void (*server_destroy)(method_server_t **self_p);
    //  Decides round k (k = 0 first, then 1, 2, ...): fills rd (coin, g) from the server's rng.
    void (*server_plan)(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd);
    //  Combines the updates of round rd: ups[i] is worker i's (all n present), into g^k.
    int (*server_combine)(method_server_t *self,
                          const method_round_t *rd,
                          const cvec_t *const *ups,
                          mr_err_t *err);
    //  The server's copy of the current iterate x^k (after combining round k).
    const vec_t *(*server_x)(const method_server_t *self);
} method_t;

//  The method called name, or NULL.
const method_t *method_find(const char *name);
//  The names of all methods, NULL-terminated (for --help and error messages).
const char *const *method_names(void);

#endif
