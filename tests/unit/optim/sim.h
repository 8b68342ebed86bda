//  sim.h - what the optim/ method tests share (header-only, static functions): a fixture of
//  synthetic shards and their losses, an in-process run of a method through the round protocol
//  of method.h (server_plan, worker_step for every worker in id order, server_combine), and
//  checks on its iterates. Include after <cmocka.h>; every failure is a cmocka assertion.
#ifndef SIM_H
#define SIM_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "loss.h"
#include "method.h"
#include "theory.h"
#include "test_util.h"

#define SIM_MAXN 8  // workers a fixture or a run holds at most

//  A heterogeneous synthetic set (data_synthetic(rows, dim, density, n, seed)) split the
//  paper's way among n workers (the last rows % n rows are dropped), plus the union of the
//  parts as one shard, whose loss is f = 1/n sum_i f_i (the parts have equal sizes).
typedef struct {
    size_t n;               // workers
    double lambda;          // the l2 weight inside every f_ij
    csr_t all;              // the generated set
    csr_t used;             // rows [0, n floor(rows / n)): the union of the parts
    csr_t part[SIM_MAXN];   // worker i's shard
    loss_t loss[SIM_MAXN];  // f_i
    loss_t f;               // f over the used rows
    double L;               // sqrt(1/n sum_i L_i^2), the launcher's L
    double L_max;           // max_i L_i
    double L_f;             // the smoothness bound of f
} sim_data_t;

static inline sim_data_t *
sim_data_new(size_t rows,
             size_t dim,
             double density,
             size_t n,
             uint64_t seed,
             loss_kind_t kind,
             double lambda)
{
    assert_true(n >= 1 && n <= SIM_MAXN);
    sim_data_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->n = n;
    fx->lambda = lambda;
    assert_int_equal(data_synthetic(rows, dim, density, n, seed, &fx->all, NULL), MR_OK);
    double Li[SIM_MAXN];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(csr_split_part(&fx->all, n, i, &fx->part[i], NULL), MR_OK);
        assert_int_equal(fx->part[i].rows, rows / n);
        assert_int_equal(loss_init(&fx->loss[i], kind, lambda, &fx->part[i], NULL), MR_OK);
        Li[i] = loss_smoothness(&fx->loss[i]);
        fx->L_max = fmax(fx->L_max, Li[i]);
    }
    fx->L = theory_mean_sq_L(Li, n);
    assert_int_equal(csr_slice(&fx->all, 0, n * (rows / n), &fx->used), MR_OK);
    assert_int_equal(loss_init(&fx->f, kind, lambda, &fx->used, NULL), MR_OK);
    fx->L_f = loss_smoothness(&fx->f);
    return fx;
}

//  A cmocka teardown: frees the sim_data_t in *state.
static inline int
sim_data_teardown(void **state)
{
    sim_data_t *fx = *state;
    for (size_t i = 0; i < fx->n; i++)
        csr_fini(&fx->part[i]);
    csr_fini(&fx->used);
    csr_fini(&fx->all);
    free(fx);
    return 0;
}

//  The problem's constants for the fixture's shards and a compressor, as the launcher computes
//  them for n = fx->n and m samples per worker. Uniform sampling: the script L_i of Assumption
//  3.1 is max_j L_ij = L_i, so L_avg = L.
static inline method_consts_t
sim_consts(const sim_data_t *fx, size_t dim, size_t m, comp_kind_t kind, size_t k)
{
    comp_t c;
    assert_int_equal(comp_init(&c, &(comp_cfg_t){.kind = kind, .k = k}, dim, NULL), MR_OK);
    method_consts_t pc = {.n = fx->n,
                          .dim = dim,
                          .m = m,
                          .L = fx->L,
                          .L_max = fx->L_max,
                          .L_avg = fx->L,
                          .omega = comp_omega(&c),
                          .zeta = comp_zeta(&c)};
    comp_fini(&c);
    return pc;
}

//  ||grad f(x)||^2.
static inline double
sim_grad_norm_sq(const loss_t *f, const vec_t *x)
{
    vec_t g;
    assert_int_equal(vec_init(&g, x->dim), MR_OK);
    loss_value_grad(f, x, &g);
    double r = vec_norm_sq(&g);
    vec_fini(&g);
    return r;
}

//  The reference run of centralized GD on f, in step with round k of a simulated run: x^k =
//  x^{k-1} - gamma grad f(x^{k-1}) for k >= 1 (x holds x^{k-1}, g grad f(x^{k-1})), then
//  g = grad f(x^k).
static inline void
sim_gd_step(const loss_t *f, double gamma, uint64_t k, vec_t *x, vec_t *g)
{
    if (k > 0)
        vec_axpy(x, -gamma, g);
    loss_value_grad(f, x, g);
}

//  One simulated run: the server and n workers, each with its own rng stream, as the actors
//  would hold them. rd is the last round's plan (its arrays live in the server until the next
//  plan); out and report are the workers' last messages.
typedef struct {
    const method_t *m;
    size_t n;
    const loss_t *loss[SIM_MAXN];
    method_server_t *server;
    method_worker_t *worker[SIM_MAXN];
    rng_t server_rng;
    rng_t worker_rng[SIM_MAXN];
    cvec_t out[SIM_MAXN];
    method_report_t report[SIM_MAXN];
    method_round_t rd;
} sim_t;

//  Starts method name for mp->n workers over losses[0..n) from x0 (NULL: x^0 = 0), the rngs
//  seeded as the actors seed theirs.
static inline void
sim_init(sim_t *s,
         const char *name,
         const method_params_t *mp,
         const loss_t *losses,
         const vec_t *x0_or_null,
         uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->m = method_find(name);
    assert_non_null(s->m);
    s->n = mp->n;
    assert_true(s->n >= 1 && s->n <= SIM_MAXN);
    vec_t x0;
    assert_int_equal(vec_init(&x0, mp->dim), MR_OK);
    if (x0_or_null)
        vec_copy(&x0, x0_or_null);
    mr_err_t err;
    s->server = s->m->server_new(mp, &x0, &err);
    assert_non_null(s->server);
    rng_seed(&s->server_rng, seed, RNG_STREAM_SERVER);
    for (uint32_t i = 0; i < s->n; i++) {
        s->loss[i] = &losses[i];
        s->worker[i] = s->m->worker_new(mp, s->loss[i], i, &x0, &err);
        assert_non_null(s->worker[i]);
        rng_seed(&s->worker_rng[i], seed, rng_stream_worker(i));
        assert_int_equal(cvec_init(&s->out[i], mp->dim, mp->dim), MR_OK);
    }
    vec_fini(&x0);
}

static inline void
sim_fini(sim_t *s)
{
    s->m->server_destroy(&s->server);
    assert_null(s->server);
    for (size_t i = 0; i < s->n; i++) {
        s->m->worker_destroy(&s->worker[i]);
        assert_null(s->worker[i]);
        cvec_fini(&s->out[i]);
    }
}

//  The first half of round k: the server plans s->rd and every worker steps; ups[i] is worker
//  i's update, or NULL if it sent none.
static inline void
sim_step_workers(sim_t *s, uint64_t k, const cvec_t **ups)
{
    s->m->server_plan(s->server, k, &s->server_rng, &s->rd);
    for (size_t i = 0; i < s->n; i++) {
        assert_int_equal(
            s->m->worker_step(s->worker[i], &s->rd, &s->worker_rng[i], &s->out[i], &s->report[i]),
            MR_OK);
        ups[i] = s->report[i].send ? &s->out[i] : NULL;
    }
}

//  Round k: plan, every worker steps, the server combines the updates sent.
static inline void
sim_round(sim_t *s, uint64_t k)
{
    const cvec_t *ups[SIM_MAXN];
    sim_step_workers(s, k, ups);
    mr_err_t err;
    assert_int_equal(s->m->server_combine(s->server, &s->rd, ups, &err), MR_OK);
}

//  Round k of a method in which every worker takes part and sends, every round (no
//  participants list): sim_round() and checks exactly that.
static inline void
sim_round_everyone(sim_t *s, uint64_t k)
{
    sim_round(s, k);
    assert_int_equal(s->rd.round, k);
    assert_null(s->rd.part);
    for (size_t i = 0; i < s->n; i++)
        assert_int_equal(s->report[i].send, 1);
}

static inline const vec_t *
sim_x(const sim_t *s)
{
    return s->m->server_x(s->server);
}

//  Every worker's x^k is the server's, bit for bit.
static inline void
sim_assert_same_x(const sim_t *s)
{
    const vec_t *xs = sim_x(s);
    for (size_t i = 0; i < s->n; i++)
        assert_memory_equal(s->m->worker_x(s->worker[i])->x, xs->x, xs->dim * sizeof(double));
}

//  The server's and every worker's x^k are within tol of x (max norm).
static inline void
sim_assert_x_near(const sim_t *s, const vec_t *x, double tol)
{
    assert_near(vec_max_abs_diff(sim_x(s), x), 0, tol);
    for (size_t i = 0; i < s->n; i++)
        assert_near(vec_max_abs_diff(s->m->worker_x(s->worker[i]), x), 0, tol);
}

//  Three runs of method name over rounds 0..rounds (each by round(), sim_round or
//  sim_round_everyone), two with seed and one with other_seed: the same seed gives the same
//  iterates bit for bit (workers' and server's), the other seed others.
static inline void
sim_assert_seed_decides(const char *name,
                        const method_params_t *mp,
                        const loss_t *losses,
                        uint64_t seed,
                        uint64_t other_seed,
                        uint64_t rounds,
                        void (*round)(sim_t *s, uint64_t k))
{
    sim_t a, b, c;
    sim_init(&a, name, mp, losses, NULL, seed);
    sim_init(&b, name, mp, losses, NULL, seed);
    sim_init(&c, name, mp, losses, NULL, other_seed);
    for (uint64_t k = 0; k <= rounds; k++) {
        round(&a, k);
        round(&b, k);
        round(&c, k);
    }
    const vec_t *xa = sim_x(&a);
    assert_memory_equal(xa->x, sim_x(&b)->x, xa->dim * sizeof(double));
    sim_assert_same_x(&a);
    assert_true(vec_max_abs_diff(xa, sim_x(&c)) > 0.0);
    sim_fini(&a);
    sim_fini(&b);
    sim_fini(&c);
}

//  resolve() of method name refuses mp (given pc) with MR_ECONFIG, and err's text names key.
static inline void
sim_assert_refuses(const char *name, method_params_t mp, const method_consts_t *pc, const char *key)
{
    mr_err_t err;
    mr_err_clear(&err);
    assert_int_equal(method_find(name)->resolve(&mp, pc, &err), MR_ECONFIG);
    assert_int_equal(err.rc, MR_ECONFIG);
    if (!strstr(err.text, key))
        fail_msg("%s: expected %s in \"%s\"", name, key, err.text);
}

//  Method name is in the table under its name and listed by method_names() exactly once.
static inline const method_t *
sim_assert_listed_once(const char *name)
{
    const method_t *m = method_find(name);
    assert_non_null(m);
    assert_string_equal(m->name, name);
    int listed = 0;
    for (const char *const *p = method_names(); *p; p++)
        listed += strcmp(*p, name) == 0;
    assert_int_equal(listed, 1);
    return m;
}

#endif
