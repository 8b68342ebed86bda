//  test_methods_marina.c - VR-MARINA (finite sum and online) and PP-MARINA, driven in-process
//  through the round protocol of method.h.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "method.h"
#include "theory.h"
#include "sim.h"

enum {
    N = 4,
    ROWS = 803,
    DIM = 30,
    M = ROWS / N,  // samples per worker: 200
};

//  A heterogeneous synthetic set split the paper's way among N workers (the last 3 rows are
//  dropped), plus the union of the parts as one shard, whose loss is f = 1/n sum_i f_i.
typedef sim_data_t fixture_t;

static int
s_setup(void **state)
{
    *state = sim_data_new(ROWS, DIM, 0.2, N, 31, LOSS_NONCONVEX, 0.0);
    return 0;
}

//  Parameters left at "theory" (NAN, 0) except the compressor and n.
static method_params_t
s_params(size_t n, comp_kind_t kind, size_t k)
{
    return (method_params_t){.n = n,
                             .dim = DIM,
                             .m = M,
                             .gamma = NAN,
                             .p = NAN,
                             .comp = {.kind = kind, .k = k},
                             .sampling = SAMPLING_UNIFORM};
}

static void
test_pp_marina_with_all_clients_and_p_one_is_gd(void **state)
{
    //  p = 1: every round is full (part NULL, everyone sends grad f_i), so g^k = grad f(x^k) and
    //  the iterates are GD's whatever Q is (RandK here). Sums in another order differ by ~1e-16
    //  per step; 200 steps stay far below 1e-12.
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, COMP_RANDK, 3);
    mp.r = N;
    mp.p = 1.0;
    mp.gamma = 1.0 / sim_consts(fx, DIM, M, COMP_RANDK, 3).L;
    sim_t s;
    sim_init(&s, "pp-marina", &mp, fx->loss, NULL, 1);
    vec_t x, g;
    assert_int_equal(vec_init(&x, DIM), MR_OK);
    assert_int_equal(vec_init(&g, DIM), MR_OK);
    double g0 = sim_grad_norm_sq(&fx->f, &x);
    for (uint64_t k = 0; k <= 200; k++) {
        sim_gd_step(&fx->f, mp.gamma, k, &x, &g);
        sim_round(&s, k);
        assert_int_equal(s.rd.coin, 1);
        assert_null(s.rd.part);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(s.report[i].send, 1);
            assert_int_equal(s.out[i].kind, CVEC_DENSE);
        }
        sim_assert_x_near(&s, &x, 1e-12);
    }
    assert_true(sim_grad_norm_sq(&fx->f, &x) < 0.5 * g0);  // GD moved: not two frozen points
    sim_fini(&s);
    vec_fini(&x);
    vec_fini(&g);
}

static void
test_vr_marina_single_worker_with_p_one_is_gd(void **state)
{
    //  n = 1, Q = identity, p = 1: every round sends grad f(x^k), so the iterates are GD's. (With
    //  replacement, a minibatch of b' = m is not the full gradient, so an exact comparison needs
    //  the compressed rounds switched off; their unbiasedness is the next test.)
    fixture_t *fx = *state;
    method_params_t mp = s_params(1, COMP_IDENTITY, DIM);
    mp.m = N * M;
    mp.batch_prime = 8;
    mp.p = 1.0;
    mp.gamma = 1.0 / loss_smoothness(&fx->f);
    sim_t s;
    sim_init(&s, "vr-marina", &mp, &fx->f, NULL, 2);
    vec_t x, g;
    assert_int_equal(vec_init(&x, DIM), MR_OK);
    assert_int_equal(vec_init(&g, DIM), MR_OK);
    double g0 = sim_grad_norm_sq(&fx->f, &x);
    for (uint64_t k = 0; k <= 200; k++) {
        sim_gd_step(&fx->f, mp.gamma, k, &x, &g);
        sim_round(&s, k);
        assert_int_equal(s.rd.coin, 1);
        assert_int_equal(s.report[0].oracle_calls, N * M);
        sim_assert_x_near(&s, &x, 1e-12);
    }
    assert_true(sim_grad_norm_sq(&fx->f, &x) < 0.5 * g0);
    sim_fini(&s);
    vec_fini(&x);
    vec_fini(&g);
}

//  Runs a fresh VR-MARINA worker over loss through round 0 and a compressed round 1 that steps
//  from x^0 = 0 to x^1 = -gamma v; its update (Q = identity) is the estimator
//  Dt = 1/b' sum_{j in I'} w_j (grad f_j(x^1) - grad f_j(x^0)), written densely to dt.
static void
s_one_difference(const method_params_t *mp,
                 const loss_t *loss,
                 const vec_t *v,
                 rng_t *rng,
                 cvec_t *out,
                 vec_t *dt)
{
    const method_t *m = method_find("vr-marina");
    vec_t x0;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    method_worker_t *w = m->worker_new(mp, loss, 0, &x0, NULL);
    assert_non_null(w);
    method_report_t rep;
    method_round_t r0 = {.round = 0, .coin = 1};
    assert_int_equal(m->worker_step(w, &r0, rng, out, &rep), MR_OK);
    method_round_t r1 = {.round = 1, .coin = 0, .g = v};
    assert_int_equal(m->worker_step(w, &r1, rng, out, &rep), MR_OK);
    assert_int_equal(rep.oracle_calls, 2 * mp->batch_prime);
    assert_int_equal(out->kind, CVEC_DENSE);
    cvec_to_dense(out, dt);
    m->worker_destroy(&w);
    vec_fini(&x0);
}

static void
test_vr_marina_difference_estimator_is_unbiased(void **state)
{
    //  Assumption 3.1 for b' = m i.i.d. draws, uniform and importance: E[Dt] = D :=
    //  grad f_0(x^1) - grad f_0(x^0), and E|Dt - D|^2 <= Lc^2 / b' |x^1 - x^0|^2 with
    //  Lc = max_j L_0j (uniform) or mean_j L_0j (importance). T = 2000 trials, fixed seeds. Per
    //  coordinate, the mean must lie within 5 standard errors (estimated from the same trials)
    //  of D: a false alarm on any of the 30 coordinates has probability < 2e-5. The variance
    //  bound is a worst case over curvatures and holds with a wide margin.
    fixture_t *fx = *state;
    enum {
        T = 2000
    };
    const loss_t *loss = &fx->loss[0];
    vec_t v, x0, x1, g0, d, dt;
    assert_int_equal(vec_init(&v, DIM), MR_OK);
    assert_int_equal(vec_init(&x0, DIM), MR_OK);  // 0
    assert_int_equal(vec_init(&x1, DIM), MR_OK);
    assert_int_equal(vec_init(&g0, DIM), MR_OK);
    assert_int_equal(vec_init(&d, DIM), MR_OK);
    assert_int_equal(vec_init(&dt, DIM), MR_OK);
    for (size_t j = 0; j < DIM; j++)
        v.x[j] = sin((double) j + 1.0);
    double gamma = 2.0;
    vec_axpy(&x1, -gamma, &v);
    loss_value_grad(loss, &x1, &d);
    loss_value_grad(loss, &x0, &g0);
    vec_axpy(&d, -1.0, &g0);  // D = grad f_0(x^1) - grad f_0(x^0)
    cvec_t out;
    assert_int_equal(cvec_init(&out, DIM, DIM), MR_OK);
    for (int kind = SAMPLING_UNIFORM; kind <= SAMPLING_IMPORTANCE; kind++) {
        method_params_t mp = s_params(1, COMP_IDENTITY, DIM);
        mp.batch_prime = M;
        mp.p = 0.5;
        mp.gamma = gamma;
        mp.sampling = (sampling_t) kind;
        rng_t rng;
        rng_seed(&rng, 40 + (uint64_t) kind, rng_stream_worker(0));
        double sum[DIM] = {0}, sumsq[DIM] = {0}, err2 = 0.0;
        for (int t = 0; t < T; t++) {
            s_one_difference(&mp, loss, &v, &rng, &out, &dt);
            for (size_t j = 0; j < DIM; j++) {
                sum[j] += dt.x[j];
                sumsq[j] += dt.x[j] * dt.x[j];
                err2 += (dt.x[j] - d.x[j]) * (dt.x[j] - d.x[j]);
            }
        }
        double max_se = 0.0;
        for (size_t j = 0; j < DIM; j++) {
            double mean = sum[j] / T;
            double var = fmax(0.0, (sumsq[j] / T - mean * mean) * T / (T - 1.0));
            double se = sqrt(var / T);
            max_se = fmax(max_se, se);
            assert_near(mean, d.x[j], 5.0 * se + 1e-14);
        }
        assert_true(max_se > 0.0);  // the minibatches really are random
        double lc = 0.0;
        for (size_t j = 0; j < M; j++) {
            double lj = loss_sample_smoothness(loss, j);
            lc = kind == SAMPLING_UNIFORM ? fmax(lc, lj) : lc + lj / M;
        }
        print_message("sampling %d: E|Dt - D|^2 ~ %.3g, bound Lc^2/b' |dx|^2 = %.3g\n", kind,
                      err2 / T, lc * lc / M * vec_norm_sq(&x1));
        assert_true(err2 / T <= lc * lc / M * vec_norm_sq(&x1));
    }
    cvec_fini(&out);
    vec_fini(&v);
    vec_fini(&x0);
    vec_fini(&x1);
    vec_fini(&g0);
    vec_fini(&d);
    vec_fini(&dt);
}

//  Resolves mp with the theory, runs rounds rounds from x^0 = 0 and returns the round at which
//  ||grad f(x^k)||^2 first fell 100x below its start (0: never); *last is the last iterate's
//  ||grad f||^2 over the start's.
static uint64_t
s_rounds_to_100x(fixture_t *fx,
                 const char *name,
                 method_params_t mp,
                 uint64_t rounds,
                 uint64_t seed,
                 double *last)
{
    method_consts_t pc = sim_consts(fx, DIM, M, mp.comp.kind, mp.comp.k);
    mr_err_t err;
    assert_int_equal(method_find(name)->resolve(&mp, &pc, &err), MR_OK);
    sim_t s;
    sim_init(&s, name, &mp, fx->loss, NULL, seed);
    double g0 = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    uint64_t hit = 0;
    for (uint64_t k = 0; k <= rounds; k++) {
        sim_round(&s, k);
        if (!hit && sim_grad_norm_sq(&fx->f, s.m->server_x(s.server)) <= g0 / 100.0)
            hit = k;
    }
    double gk = sim_grad_norm_sq(&fx->f, s.m->server_x(s.server));
    print_message("%s: gamma %.4g (L %.4g), p %.4g, b %zu, b' %zu, r %zu: ||grad f||^2 %.3g, "
                  "/100 first at round %llu, %.3g after %llu\n",
                  name, mp.gamma, pc.L, mp.p, mp.batch, mp.batch_prime, mp.r, g0,
                  (unsigned long long) hit, gk, (unsigned long long) rounds);
    sim_fini(&s);
    *last = gk / g0;
    return hit;
}

static void
test_vr_marina_randk_with_theory_parameters_converges(void **state)
{
    //  RandK K = 3 of d = 30 (omega = 9); Corollary 3.1's p and Theorem 3.1's gamma, with
    //  b' = 10 (p = 10/210, gamma ~ 1/(8 L)) and with the default b' = max(1, m/100) = 2
    //  (p ~ 0.01, gamma ~ 1/(20 L): minibatch noise costs stepsize, so it gets 10000 rounds).
    //  Fixed seeds; the claim is the plain one that ||grad f||^2 falls 100x and stays there.
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, COMP_RANDK, 3);
    mp.batch_prime = 10;
    double last;
    uint64_t k = s_rounds_to_100x(fx, "vr-marina", mp, 5000, 11, &last);
    assert_true(k > 0 && last <= 0.01);
    mp.batch_prime = 0;
    k = s_rounds_to_100x(fx, "vr-marina", mp, 10000, 12, &last);
    assert_true(k > 0 && last <= 0.01);
}

static void
test_vr_marina_online_randk_with_theory_parameters_converges(void **state)
{
    //  The online variant converges to a neighbourhood: E||grad f||^2 <= 2 Delta_0/(gamma K) +
    //  sigma^2/(n b) (Theorem 3.2, (41)), and with b <= m that floor is about 1/100 of the start
    //  on this data (measured: ||grad f||^2 / g0 ~ 0.011 after 5000 rounds at b = m, 0.08 at the
    //  default b = m/10). So: b = m, b' = 10, p = min(zeta/d, b'/(b+b')) (Corollary 3.2); the
    //  iterate must reach 100x below the start within 5000 rounds and end within 2x of that.
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, COMP_RANDK, 3);
    mp.batch = M;
    mp.batch_prime = 10;
    double last;
    uint64_t k = s_rounds_to_100x(fx, "vr-marina-online", mp, 5000, 13, &last);
    assert_true(k > 0 && last <= 0.02);
}

static void
test_pp_marina_randk_with_theory_parameters_converges(void **state)
{
    //  r = 2 of n = 4 clients per compressed round, RandK K = 3: p = zeta r/(d n) = 0.05
    //  (Corollary 4.1), gamma = 1/(L (1 + sqrt(0.95 * 10 / 0.1))) ~ 1/(10.7 L) (Theorem 4.1).
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, COMP_RANDK, 3);
    mp.r = 2;
    double last;
    uint64_t k = s_rounds_to_100x(fx, "pp-marina", mp, 10000, 14, &last);
    assert_true(k > 0 && last <= 0.01);
}

static void
test_pp_marina_only_the_drawn_clients_send(void **state)
{
    //  p = 0.3, r = 3 of n = 4: in compressed rounds the plan holds 3 sorted draws (repeats
    //  happen with probability 1 - 4*3*2/4^3 = 0.625), exactly the drawn workers send, the server
    //  forms g^k = g^{k-1} + 1/r sum over the draws of Q_i (a worker drawn twice counts twice),
    //  and every worker, drawn or not, steps to the server's x^k. A drawn worker evaluates
    //  grad f_i at x^k and, unless it did in round k-1, at x^{k-1}: m or 2m oracle calls.
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, COMP_RANDK, 3);
    mp.r = 3;
    mp.p = 0.3;
    mp.gamma = 0.5 / sim_consts(fx, DIM, M, COMP_RANDK, 3).L;
    sim_t s;
    sim_init(&s, "pp-marina", &mp, fx->loss, NULL, 5);
    uint64_t last[N];  // the last round in which worker i evaluated grad f_i at its iterate
    vec_t g_prev, expect, q;
    assert_int_equal(vec_init(&g_prev, DIM), MR_OK);
    assert_int_equal(vec_init(&expect, DIM), MR_OK);
    assert_int_equal(vec_init(&q, DIM), MR_OK);
    int repeats = 0, silent = 0, cached = 0, both = 0, compressed = 0;
    for (uint64_t k = 0; k <= 400; k++) {
        const cvec_t *ups[N];
        sim_step_workers(&s, k, ups);
        method_round_t *rd = &s.rd;
        if (k > 0)
            vec_copy(&g_prev, rd->g);  // the server's g^{k-1}: worker steps leave it alone
        if (k == 0 || rd->coin) {
            assert_null(rd->part);
            for (size_t i = 0; i < N; i++) {
                assert_int_equal(s.report[i].send, 1);
                assert_int_equal(s.report[i].oracle_calls, M);
                assert_int_equal(s.out[i].kind, CVEC_DENSE);
                last[i] = k;
            }
        } else {
            compressed++;
            assert_non_null(rd->part);
            assert_int_equal(rd->npart, 3);
            unsigned mult[N] = {0};
            for (size_t j = 0; j < rd->npart; j++) {
                assert_true(rd->part[j] < N);
                assert_true(j == 0 || rd->part[j - 1] <= rd->part[j]);
                mult[rd->part[j]]++;
            }
            vec_copy(&expect, &g_prev);
            for (size_t i = 0; i < N; i++) {
                repeats += mult[i] > 1;
                assert_int_equal(s.report[i].send, mult[i] > 0);
                if (mult[i] == 0) {
                    silent++;
                    assert_int_equal(s.report[i].oracle_calls, 0);
                    assert_int_equal(s.report[i].have_eval, 0);
                    continue;
                }
                int had = last[i] == k - 1;
                cached += had;
                both += !had;
                assert_int_equal(s.report[i].oracle_calls, had ? M : 2 * M);
                assert_int_equal(s.out[i].kind, CVEC_SPARSE);
                assert_int_equal(s.out[i].nnz, 3);
                cvec_to_dense(&s.out[i], &q);
                vec_axpy(&expect, (double) mult[i] / 3.0, &q);
                last[i] = k;
            }
        }
        mr_err_t err;
        assert_int_equal(s.m->server_combine(s.server, rd, ups, &err), MR_OK);
        //  rd->g is the server's g, which the combine replaced by g^k.
        if (k > 0 && !rd->coin)
            assert_near(vec_max_abs_diff(rd->g, &expect), 0, 1e-12);
        sim_assert_same_x(&s);
    }
    //  Every case occurred (c_k = 0 in ~280 of 400 rounds).
    assert_true(compressed > 200 && repeats > 0 && silent > 0 && cached > 0 && both > 0);
    vec_fini(&g_prev);
    vec_fini(&expect);
    vec_fini(&q);
    sim_fini(&s);
}

//  A sparse problem for MARINA with RandK: d = 3,000, 60 rows of density 0.003 per worker, so
//  each shard touches a small part of the columns.
enum {
    BIG_DIM = 3000,
    BIG_N = 4,
    BIG_K = 25
};

static method_params_t
s_sparse_params(void)
{
    return (method_params_t){.n = BIG_N,
                             .dim = BIG_DIM,
                             .m = 60,
                             .gamma = 0.5,
                             .p = 0.1,
                             .comp = {.kind = COMP_RANDK, .k = BIG_K},
                             .sampling = SAMPLING_UNIFORM};
}

//  MARINA at a d where the shards touch few columns and nK is a small part of d, so the workers
//  take their gradients on their columns only and the server combines compressed rounds
//  sparsely: every round, each worker's reported gradient has the bits of a dense
//  loss_value_grad() at its x, and the server's g^k the bits of the dense combine (c_k = 1:
//  1/n times the sum; c_k = 0: g^{k-1} + 1/n times the sum, summed from zero in worker order).
static void
test_marina_sparse_paths_give_the_dense_bits(void **state)
{
    sim_data_t *fx = sim_data_new(BIG_N * 60, BIG_DIM, 0.003, BIG_N, 41, LOSS_LOGREG, 0.0);
    method_params_t mp = s_sparse_params();
    sim_t s;
    sim_init(&s, "marina", &mp, fx->loss, NULL, 8);
    vec_t expect, sum, grad, before;
    static uint8_t listed[BIG_DIM];
    int local = 0;
    assert_int_equal(vec_init(&before, BIG_DIM), MR_OK);
    assert_int_equal(vec_init(&expect, BIG_DIM), MR_OK);
    assert_int_equal(vec_init(&sum, BIG_DIM), MR_OK);
    assert_int_equal(vec_init(&grad, BIG_DIM), MR_OK);
    int compressed = 0, full = 0;
    for (uint64_t k = 0; k <= 300; k++) {
        const cvec_t *ups[BIG_N];
        sim_step_workers(&s, k, ups);
        for (size_t i = 0; i < BIG_N; i++) {
            loss_value_grad(&fx->loss[i], s.m->worker_x(s.worker[i]), &grad);
            assert_memory_equal(grad.x, s.report[i].grad->x, BIG_DIM * sizeof *grad.x);
        }
        vec_zero(&sum);
        for (size_t i = 0; i < BIG_N; i++)
            cvec_axpy_to(&sum, 1.0, ups[i]);
        int coin = k == 0 || s.rd.coin;
        if (coin) {
            vec_copy(&expect, &sum);
            vec_scale(&expect, 1.0 / BIG_N);
            full++;
        } else {
            vec_copy(&expect, s.rd.g);
            vec_axpy(&expect, 1.0 / BIG_N, &sum);
            compressed++;
        }
        if (k > 0)
            vec_copy(&before, s.rd.g);
        mr_err_t err;
        assert_int_equal(s.m->server_combine(s.server, &s.rd, ups, &err), MR_OK);
        if (k > 0)
            assert_memory_equal(expect.x, s.rd.g->x, BIG_DIM * sizeof *expect.x);
        sim_assert_same_x(&s);
        //  What the server's ROUND relies on: a g changed only at the updates' coordinates when
        //  the method says so, and a gradient that is +0.0 off the columns a worker reports.
        if (s.m->server_g_changed_at_updates(s.server)) {
            assert_false(coin);
            local++;
            memset(listed, 0, sizeof listed);
            for (size_t i = 0; i < BIG_N; i++)
                for (size_t e = 0; e < ups[i]->nnz; e++)
                    listed[ups[i]->idx[e]] |= ups[i]->val[e] != 0.0;
            for (size_t j = 0; j < BIG_DIM; j++)
                assert_true(listed[j] || memcmp(&before.x[j], &s.rd.g->x[j], sizeof(double)) == 0);
        }
        for (size_t i = 0; i < BIG_N; i++) {
            const method_report_t *r = &s.report[i];
            assert_non_null(r->grad_cols);
            memset(listed, 0, sizeof listed);
            for (size_t t = 0; t < r->grad_ncols; t++) {
                assert_true(t == 0 || r->grad_cols[t - 1] < r->grad_cols[t]);
                listed[r->grad_cols[t]] = 1;
            }
            for (size_t j = 0; j < BIG_DIM; j++) {
                uint64_t u;
                memcpy(&u, &r->grad->x[j], sizeof u);
                assert_true(listed[j] || u == 0);
            }
        }
    }
    assert_true(compressed > 200 && full > 10);
    assert_int_equal(local, compressed);  // no -0.0 in g: every compressed round
    vec_fini(&expect);
    vec_fini(&sum);
    vec_fini(&grad);
    vec_fini(&before);
    sim_fini(&s);
    void *p = fx;
    sim_data_teardown(&p);
}

//  Workers that step x only at their shard's columns (mp.worker_x_support, as the actors run
//  them) send the same messages, bit for bit, as workers that step all of x, and the servers'
//  iterates are the same; the workers' x agree at the shard's columns, and only there.
static void
test_marina_workers_stepping_their_columns_send_the_same_bits(void **state)
{
    (void) state;
    sim_data_t *fx = sim_data_new(BIG_N * 60, BIG_DIM, 0.003, BIG_N, 43, LOSS_NONCONVEX, 0.0);
    method_params_t mp = s_sparse_params();
    sim_t all, cols;
    sim_init(&all, "marina", &mp, fx->loss, NULL, 8);
    mp.worker_x_support = 1;
    sim_init(&cols, "marina", &mp, fx->loss, NULL, 8);
    loss_support_t sup[BIG_N];
    static uint8_t on[BIG_N][BIG_DIM];
    mr_err_t err;
    for (size_t i = 0; i < BIG_N; i++) {
        assert_int_equal(loss_support_init(&sup[i], &fx->loss[i], &err), MR_OK);
        assert_true(sup[i].n > 0 && 4 * sup[i].n < BIG_DIM);  // few: the columns' path runs
        for (size_t t = 0; t < sup[i].n; t++)
            on[i][sup[i].col[t]] = 1;
    }
    int off_differs = 0;
    for (uint64_t k = 0; k <= 300; k++) {
        const cvec_t *ua[BIG_N], *uc[BIG_N];
        sim_step_workers(&all, k, ua);
        sim_step_workers(&cols, k, uc);
        for (size_t i = 0; i < BIG_N; i++) {
            assert_int_equal(ua[i]->kind, uc[i]->kind);
            assert_int_equal(ua[i]->nnz, uc[i]->nnz);
            size_t len = ua[i]->kind == CVEC_SPARSE ? ua[i]->nnz : BIG_DIM;
            assert_memory_equal(ua[i]->val, uc[i]->val, len * sizeof(double));
            if (ua[i]->kind == CVEC_SPARSE)
                assert_memory_equal(ua[i]->idx, uc[i]->idx, len * sizeof(uint32_t));
            assert_memory_equal(&all.report[i].f, &cols.report[i].f, sizeof(double));
            assert_memory_equal(all.report[i].grad->x, cols.report[i].grad->x,
                                BIG_DIM * sizeof(double));
            const double *xa = all.m->worker_x(all.worker[i])->x;
            const double *xc = cols.m->worker_x(cols.worker[i])->x;
            for (size_t j = 0; j < BIG_DIM; j++) {
                if (on[i][j])
                    assert_memory_equal(&xa[j], &xc[j], sizeof(double));
                else
                    off_differs |= memcmp(&xa[j], &xc[j], sizeof(double)) != 0;
            }
        }
        assert_int_equal(all.m->server_combine(all.server, &all.rd, ua, &err), MR_OK);
        assert_int_equal(cols.m->server_combine(cols.server, &cols.rd, uc, &err), MR_OK);
        assert_memory_equal(sim_x(&all)->x, sim_x(&cols)->x, BIG_DIM * sizeof(double));
    }
    assert_true(off_differs);  // the workers did skip the other columns
    for (size_t i = 0; i < BIG_N; i++)
        loss_support_fini(&sup[i]);
    sim_fini(&all);
    sim_fini(&cols);
    void *p = fx;
    sim_data_teardown(&p);
}

static void
test_pp_marina_combine_wants_every_drawn_update(void **state)
{
    fixture_t *fx = *state;
    method_params_t mp = s_params(N, COMP_RANDK, 3);
    mp.r = 2;
    mp.p = 0.01;
    mp.gamma = 0.1;
    sim_t s;
    sim_init(&s, "pp-marina", &mp, fx->loss, NULL, 6);
    sim_round(&s, 0);
    const cvec_t *ups[N];
    sim_step_workers(&s, 1, ups);
    assert_int_equal(s.rd.coin, 0);  // P(c_1 = 1) = 0.01, and the seed is fixed
    uint32_t drawn = s.rd.part[0];
    ups[drawn] = NULL;
    mr_err_t err;
    assert_int_equal(s.m->server_combine(s.server, &s.rd, ups, &err), MR_EINVAL);
    char want[32];
    snprintf(want, sizeof want, "worker %u", drawn);
    assert_non_null(strstr(err.text, want));
    ups[drawn] = &s.out[drawn];
    assert_int_equal(s.m->server_combine(s.server, &s.rd, ups, &err), MR_OK);
    sim_fini(&s);
}

static void
test_vr_marina_oracle_calls_and_reports(void **state)
{
    //  Finite sum: m calls in round 0 and full rounds (with f_i and grad f_i(x^k) reported),
    //  2 b' in compressed rounds. Online: b in round 0 and full rounds (a minibatch gradient, no
    //  evaluation to report), 2 b' otherwise. Every worker sends every round.
    fixture_t *fx = *state;
    const char *names[2] = {"vr-marina", "vr-marina-online"};
    for (int online = 0; online < 2; online++) {
        method_params_t mp = s_params(N, COMP_RANDK, 3);
        mp.batch = 20;
        mp.batch_prime = 5;
        mp.p = 0.3;
        mp.gamma = 0.5 / sim_consts(fx, DIM, M, COMP_RANDK, 3).L;
        sim_t s;
        sim_init(&s, names[online], &mp, fx->loss, NULL, 7);
        int kinds[2] = {0, 0};
        for (uint64_t k = 0; k <= 200; k++) {
            sim_round(&s, k);
            int full = k == 0 || s.rd.coin;
            kinds[full]++;
            for (size_t i = 0; i < N; i++) {
                const method_report_t *rep = &s.report[i];
                assert_int_equal(rep->send, 1);
                if (!full) {
                    assert_int_equal(rep->oracle_calls, 2 * 5);
                    assert_int_equal(rep->have_eval, 0);
                    assert_int_equal(s.out[i].kind, CVEC_SPARSE);
                    assert_int_equal(s.out[i].nnz, 3);
                    continue;
                }
                assert_int_equal(s.out[i].kind, CVEC_DENSE);
                assert_int_equal(rep->oracle_calls, online ? 20 : M);
                assert_int_equal(rep->have_eval, !online);
                if (!online) {
                    const vec_t *x = s.m->worker_x(s.worker[i]);
                    assert_near(rep->f, loss_value(&fx->loss[i], x), 1e-15);
                    assert_memory_equal(rep->grad->x, s.out[i].val, DIM * sizeof(double));
                }
            }
        }
        assert_true(kinds[0] > 0 && kinds[1] > 1);
        sim_fini(&s);
    }
}

static void
test_resolve_fills_the_papers_values(void **state)
{
    fixture_t *fx = *state;
    method_consts_t pc =
        sim_consts(fx, DIM, M, COMP_RANDK, 3);  // omega = 9, zeta = 3, d = 30, m = 200
    double L = pc.L, Lc = pc.L_avg;
    mr_err_t err;

    //  VR-MARINA: b' = max(1, m/100) = 2, p = min(3/30, 2/202) (Corollary 3.1),
    //  gamma = 1/(L + sqrt((9 L^2 + 10 Lc^2/2)(1-p)/(4p))) (Theorem 3.1).
    method_params_t mp = s_params(N, COMP_RANDK, 3);
    assert_int_equal(method_find("vr-marina")->resolve(&mp, &pc, &err), MR_OK);
    assert_int_equal(mp.batch_prime, 2);
    double p = 2.0 / 202.0;
    assert_near(mp.p, p, 1e-15);
    assert_near(mp.gamma, 1.0 / (L + sqrt((9 * L * L + 10 * Lc * Lc / 2) * (1 - p) / (4 * p))),
                1e-12 * mp.gamma);

    //  A p given is kept, and gamma follows it.
    mp = s_params(N, COMP_RANDK, 3);
    mp.p = 0.5;
    mp.batch_prime = 50;
    assert_int_equal(method_find("vr-marina")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.p, 0.5, 0.0);
    assert_near(mp.gamma, 1.0 / (L + sqrt((9 * L * L + 10 * Lc * Lc / 50) * 0.5 / 2.0)),
                1e-12 * mp.gamma);

    //  Online: b = max(1, m/10) = 20, b' = 2, p = min(3/30, 2/22) (Corollary 3.2).
    mp = s_params(N, COMP_RANDK, 3);
    assert_int_equal(method_find("vr-marina-online")->resolve(&mp, &pc, &err), MR_OK);
    assert_int_equal(mp.batch, 20);
    assert_int_equal(mp.batch_prime, 2);
    p = 2.0 / 22.0;
    assert_near(mp.p, p, 1e-15);
    assert_near(mp.gamma, 1.0 / (L + sqrt((9 * L * L + 10 * Lc * Lc / 2) * (1 - p) / (4 * p))),
                1e-12 * mp.gamma);
    //  A small b given: the default b' shrinks to it (b' <= b).
    mp = s_params(N, COMP_RANDK, 3);
    mp.batch = 1;
    assert_int_equal(method_find("vr-marina-online")->resolve(&mp, &pc, &err), MR_OK);
    assert_int_equal(mp.batch_prime, 1);

    //  PP-MARINA: r = n = 4, p = 3 * 4 / (30 * 4) = 0.1 (Corollary 4.1),
    //  gamma = 1/(L (1 + sqrt(0.9 * 10 / (0.1 * 4)))) (Theorem 4.1).
    mp = s_params(N, COMP_RANDK, 3);
    assert_int_equal(method_find("pp-marina")->resolve(&mp, &pc, &err), MR_OK);
    assert_int_equal(mp.r, N);
    assert_near(mp.p, 0.1, 1e-15);
    assert_near(mp.gamma, 1.0 / (L * (1.0 + sqrt(0.9 * 10.0 / 0.4))), 1e-12 * mp.gamma);
    mp = s_params(N, COMP_RANDK, 3);
    mp.r = 1;
    assert_int_equal(method_find("pp-marina")->resolve(&mp, &pc, &err), MR_OK);
    assert_near(mp.p, 0.025, 1e-15);
}

static void
test_resolve_refuses_bad_params_naming_the_key(void **state)
{
    fixture_t *fx = *state;
    method_consts_t pc = sim_consts(fx, DIM, M, COMP_RANDK, 3);
    const char *all[3] = {"vr-marina", "vr-marina-online", "pp-marina"};
    method_params_t mp;
    for (int i = 0; i < 3; i++) {
        mp = s_params(N, COMP_RANDK, 3);
        mp.p = 0.0;
        sim_assert_refuses(all[i], mp, &pc, "'p'");
        mp.p = 1.5;
        sim_assert_refuses(all[i], mp, &pc, "'p'");
        mp = s_params(N, COMP_RANDK, 3);
        mp.gamma = -1.0;
        sim_assert_refuses(all[i], mp, &pc, "'gamma'");
        mp = s_params(N, COMP_TOPK, 3);
        sim_assert_refuses(all[i], mp, &pc, "'compressor'");
    }
    mp = s_params(N, COMP_RANDK, 3);
    mp.r = N + 1;
    sim_assert_refuses("pp-marina", mp, &pc, "'r'");
    mp = s_params(N, COMP_RANDK, 3);
    mp.batch_prime = M + 1;
    sim_assert_refuses("vr-marina", mp, &pc, "'batch_prime'");
    mp = s_params(N, COMP_RANDK, 3);
    mp.batch = M + 1;
    sim_assert_refuses("vr-marina-online", mp, &pc, "'batch'");
    mp = s_params(N, COMP_RANDK, 3);
    mp.batch = 10;
    mp.batch_prime = 11;
    sim_assert_refuses("vr-marina-online", mp, &pc, "'batch_prime'");

    //  The constructors check the same against what they see (the shard's size, n).
    vec_t x0;
    assert_int_equal(vec_init(&x0, DIM), MR_OK);
    mr_err_t err;
    mp = s_params(N, COMP_RANDK, 3);
    mp.p = 0.5;
    mp.gamma = 0.1;
    mp.batch_prime = M + 1;
    assert_null(method_find("vr-marina")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'batch_prime'"));
    mp.batch_prime = 0;
    assert_null(method_find("vr-marina")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'batch_prime'"));
    mp.batch_prime = 5;
    mp.r = N + 1;
    assert_null(method_find("pp-marina")->server_new(&mp, &x0, &err));
    assert_non_null(strstr(err.text, "'r'"));
    assert_null(method_find("pp-marina")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'r'"));
    mp.r = 2;
    mp.comp.kind = COMP_TOPK;
    assert_null(method_find("pp-marina")->worker_new(&mp, &fx->loss[0], 0, &x0, &err));
    assert_non_null(strstr(err.text, "'compressor'"));
    vec_fini(&x0);
}

static void
test_same_seed_gives_identical_iterates(void **state)
{
    fixture_t *fx = *state;
    const char *all[3] = {"vr-marina", "vr-marina-online", "pp-marina"};
    method_consts_t pc = sim_consts(fx, DIM, M, COMP_RANDK, 5);
    for (int m = 0; m < 3; m++) {
        method_params_t mp = s_params(N, COMP_RANDK, 5);
        mp.r = 2;
        mp.p = 0.2;
        mp.batch = 20;
        mp.batch_prime = 4;
        assert_int_equal(method_find(all[m])->resolve(&mp, &pc, NULL), MR_OK);
        //  Another seed draws other coins, minibatches and coordinates: the iterates part.
        sim_assert_seed_decides(all[m], &mp, fx->loss, 7, 8, 300, sim_round);
    }
}

static void
test_find_knows_the_new_methods(void **state)
{
    const char *ours[3] = {"vr-marina", "vr-marina-online", "pp-marina"};
    for (int i = 0; i < 3; i++) {
        const method_t *m = sim_assert_listed_once(ours[i]);
        assert_int_equal(m->uses_compressor, 1);
        assert_int_equal(m->allows_biased, 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marina_sparse_paths_give_the_dense_bits),
        cmocka_unit_test(test_marina_workers_stepping_their_columns_send_the_same_bits),
        cmocka_unit_test_setup_teardown(test_pp_marina_with_all_clients_and_p_one_is_gd, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_vr_marina_single_worker_with_p_one_is_gd, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_vr_marina_difference_estimator_is_unbiased, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_vr_marina_randk_with_theory_parameters_converges,
                                        s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(
            test_vr_marina_online_randk_with_theory_parameters_converges, s_setup,
            sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_pp_marina_randk_with_theory_parameters_converges,
                                        s_setup, sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_pp_marina_only_the_drawn_clients_send, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_pp_marina_combine_wants_every_drawn_update, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_vr_marina_oracle_calls_and_reports, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_fills_the_papers_values, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_refuses_bad_params_naming_the_key, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test_setup_teardown(test_same_seed_gives_identical_iterates, s_setup,
                                        sim_data_teardown),
        cmocka_unit_test(test_find_knows_the_new_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
