//  test_method_state.c - checkpoints of every method (method.h worker_state / server_state,
//  state.h): a run stopped after R1 rounds, its server and workers saved (with the rngs the
//  caller owns), destroyed, made anew and loaded, then run R2 more rounds, is bit for bit the run
//  that was never stopped; streams of another method, cut short, with bytes left over or of
//  another dimension are refused with a sentence.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "method.h"
#include "method_impl.h"
#include "state.h"
#include "sim.h"

enum {
    N = 4,
    ROWS = 203,  // 4 shards of 50 rows (the last 3 dropped)
    M = ROWS / N,
    DIM = 12,
    DIM2 = 14,  // the other dimension of the wrong-dimension test
    DIMMAX = 14,
    R2 = 13,  // rounds after the resume
};

//  The data of one dimension and what the launcher computes from it for the methods that need
//  it: L_jj, coordinate probabilities, the row space.
typedef struct {
    sim_data_t *d;
    size_t dim;
    double coord_L[DIMMAX];  // max_i of loss_coord_smoothness(f_i)
    double p3[DIMMAX];       // importance probabilities with sum 3
    double p1[DIMMAX];       // with sum 1 (sketch = single)
    double *q;               // orthonormal basis of the rows' span, dim x r
    size_t r;
} s_problem_t;

typedef struct {
    s_problem_t a, b;  // DIM and DIM2 columns
} fixture_t;

static void
s_problem_init(s_problem_t *pb, size_t dim, uint64_t seed)
{
    pb->dim = dim;
    pb->d = sim_data_new(ROWS, dim, 0.4, N, seed, LOSS_QUADRATIC, 0.1);
    double w[DIMMAX];
    for (size_t i = 0; i < N; i++) {
        loss_coord_smoothness(&pb->d->loss[i], w);
        for (size_t j = 0; j < dim; j++)
            pb->coord_L[j] = fmax(pb->coord_L[j], w[j]);
    }
    assert_int_equal(method_importance_p(pb->coord_L, dim, 3, pb->p3), MR_OK);
    assert_int_equal(method_importance_p(pb->coord_L, dim, 1, pb->p1), MR_OK);
    assert_int_equal(data_row_space(&pb->d->used, 1e-10, &pb->q, &pb->r, NULL), MR_OK);
}

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    s_problem_init(&fx->a, DIM, 31);
    s_problem_init(&fx->b, DIM2, 37);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    s_problem_t *pbs[2] = {&fx->a, &fx->b};
    for (int t = 0; t < 2; t++) {
        void *d = pbs[t]->d;
        sim_data_teardown(&d);
        free(pbs[t]->q);
    }
    free(fx);
    return 0;
}

//  One configuration of one method: the label says what it exercises.
typedef struct {
    const char *name;   // the method
    const char *label;  // what the case adds
    //  Set on top of the defaults of s_params().
    comp_kind_t comp;
    size_t k;
    double p;
    size_t batch, batch_prime, r;
    sampling_t sampling;
    int sketch;
    size_t sketch_b;
    agg_rule_t agg;
    size_t bucket, byzantine;
    int local_estimator, epoch_full;
    double momentum;
    prox_kind_t reg;
} s_case_t;

//  Every method, with a compressor where it takes one, stochastic settings (p < 1, minibatches,
//  partial participation, importance sampling) and the robust settings that keep extra state.
static const s_case_t s_cases[] = {
    {.name = "marina", .label = "randk", .comp = COMP_RANDK, .k = 3, .p = 0.3},
    {.name = "marina",
     .label = "dither, cm + bucketing, estimator global",
     .comp = COMP_DITHER,
     .p = 0.3,
     .agg = AGG_CM,
     .bucket = 2,
     .byzantine = 1},
    {.name = "marina",
     .label = "randk, rfa, estimator local",
     .comp = COMP_RANDK,
     .k = 3,
     .p = 0.3,
     .agg = AGG_RFA,
     .bucket = 2,
     .byzantine = 1,
     .local_estimator = 1},
    {.name = "gd", .label = "prox l1", .reg = PROX_L1},
    {.name = "gd", .label = "projected (ball)", .reg = PROX_BALL},
    {.name = "vr-marina",
     .label = "randk, importance sampling",
     .comp = COMP_RANDK,
     .k = 3,
     .p = 0.3,
     .batch_prime = 4,
     .sampling = SAMPLING_IMPORTANCE},
    {.name = "vr-marina-online",
     .label = "natural, minibatches",
     .comp = COMP_NATURAL,
     .p = 0.3,
     .batch = 8,
     .batch_prime = 4},
    {.name = "pp-marina", .label = "randk, r = 2", .comp = COMP_RANDK, .k = 3, .p = 0.3, .r = 2},
    {.name = "dcgd", .label = "topk", .comp = COMP_TOPK, .k = 3},
    {.name = "diana", .label = "randk, prox l2", .comp = COMP_RANDK, .k = 3, .reg = PROX_L2},
    {.name = "diana",
     .label = "ternary, tm (the per-worker shifts)",
     .comp = COMP_TERNARY,
     .agg = AGG_TM,
     .byzantine = 1},
    {.name = "vr-diana", .label = "randk", .comp = COMP_RANDK, .k = 3, .p = 0.3, .batch_prime = 4},
    {.name = "sgd", .label = "randk", .comp = COMP_RANDK, .k = 3, .batch = 5},
    {.name = "sgd", .label = "krum", .batch = 5, .agg = AGG_KRUM, .byzantine = 1},
    {.name = "br-sgdm",
     .label = "momentum, cc + bucketing",
     .batch = 5,
     .momentum = 0.9,
     .agg = AGG_CC,
     .bucket = 2,
     .byzantine = 1},
    {.name = "sega", .label = "coordinates", .k = 3, .sketch = METHOD_SKETCH_COORDINATE},
    {.name = "sega", .label = "importance", .k = 3, .sketch = METHOD_SKETCH_IMPORTANCE},
    {.name = "sega", .label = "gaussian", .sketch = METHOD_SKETCH_GAUSSIAN, .sketch_b = 3},
    {.name = "sega-biased", .label = "coordinates", .k = 3, .sketch = METHOD_SKETCH_COORDINATE},
    {.name = "sega-subspace", .label = "gaussian", .sketch = METHOD_SKETCH_GAUSSIAN, .sketch_b = 3},
    {.name = "cd", .label = "coordinates", .k = 3, .sketch = METHOD_SKETCH_COORDINATE},
    {.name = "cd", .label = "importance", .k = 3, .sketch = METHOD_SKETCH_IMPORTANCE},
    {.name = "acd", .label = "coordinates", .k = 3, .sketch = METHOD_SKETCH_COORDINATE},
    {.name = "acd", .label = "single", .k = 1, .sketch = METHOD_SKETCH_SINGLE},
    {.name = "asega", .label = "coordinates", .k = 3, .sketch = METHOD_SKETCH_COORDINATE},
    {.name = "asega", .label = "importance", .k = 3, .sketch = METHOD_SKETCH_IMPORTANCE},
    {.name = "rds", .label = "plain"},
    {.name = "byz-vr-marina",
     .label = "randk, cm + bucketing, estimator local",
     .comp = COMP_RANDK,
     .k = 3,
     .p = 0.3,
     .batch_prime = 4,
     .agg = AGG_CM,
     .bucket = 2,
     .byzantine = 1,
     .local_estimator = 1},
    {.name = "byz-vr-marina",
     .label = "randk, cm, estimator global, full epochs",
     .comp = COMP_RANDK,
     .k = 3,
     .batch_prime = 10,
     .agg = AGG_CM,
     .byzantine = 1,
     .epoch_full = 1},
};
#define S_NCASES (sizeof s_cases / sizeof s_cases[0])

//  The case of method name labelled label.
static const s_case_t *
s_find_case(const char *name, const char *label)
{
    for (size_t c = 0; c < S_NCASES; c++)
        if (strcmp(s_cases[c].name, name) == 0 && strcmp(s_cases[c].label, label) == 0)
            return &s_cases[c];
    fail_msg("no case %s (%s)", name, label);
    return NULL;
}

//  The resolved parameters of case c on problem pb (resolve() fills gamma and the rest).
static method_params_t
s_params(const s_case_t *c, const s_problem_t *pb, uint64_t seed)
{
    method_params_t mp = {.n = N,
                          .dim = pb->dim,
                          .m = M,
                          .gamma = NAN,
                          .p = c->p > 0.0 ? c->p : NAN,
                          .alpha = NAN,
                          .comp = {.kind = c->comp, .k = c->k ? c->k : pb->dim, .s = 2},
                          .batch = c->batch,
                          .batch_prime = c->batch_prime,
                          .r = c->r,
                          .sampling = c->sampling,
                          .seed = seed,
                          .sketch = c->sketch,
                          .sketch_b = c->sketch_b,
                          .byzantine = c->byzantine,
                          .local_estimator = c->local_estimator,
                          .epoch_full = c->epoch_full,
                          .momentum = c->momentum,
                          .reg = {.kind = c->reg,
                                  .lambda1 = 0.01,
                                  .lambda2 = 0.01,
                                  .radius = 0.05,
                                  .lo = -1.0,
                                  .hi = 1.0}};
    if (c->sketch == METHOD_SKETCH_IMPORTANCE)
        mp.coord_p = pb->p3;
    if (c->sketch == METHOD_SKETCH_SINGLE)
        mp.coord_p = pb->p1;
    mp.coord_L = pb->coord_L;
    mp.range_q = pb->q;
    mp.range_rank = pb->r;
    agg_cfg_default(&mp.agg);
    mp.agg.rule = c->agg;
    mp.agg.bucket = c->bucket;
    mp.agg.byzantine = c->byzantine;
    comp_t q;
    assert_int_equal(comp_init(&q, &mp.comp, pb->dim, NULL), MR_OK);
    method_consts_t pc = {.n = N,
                          .dim = pb->dim,
                          .m = M,
                          .L = pb->d->L,
                          .L_max = pb->d->L_max,
                          .L_avg = pb->d->L,
                          .omega = comp_omega(&q),
                          .zeta = comp_zeta(&q),
                          .mu = pb->d->lambda};
    comp_fini(&q);
    mr_err_t err;
    mr_err_clear(&err);
    if (method_find(c->name)->resolve(&mp, &pc, &err) != MR_OK)
        fail_msg("%s (%s): resolve: %s", c->name, c->label, err.text);
    return mp;
}

//  The n + 1 streams of a run's actors, as each actor would write its own: the server's state
//  and rng, and each worker's state and rng.
typedef struct {
    state_t server;
    state_t worker[N];
} s_saved_t;

static void
s_save(sim_t *s, s_saved_t *sv)
{
    mr_err_t err;
    state_init_save(&sv->server);
    s->m->server_state(s->server, &sv->server);
    state_rng(&sv->server, &s->server_rng);
    assert_int_equal(state_rc(&sv->server, &err), MR_OK);
    for (size_t i = 0; i < s->n; i++) {
        state_init_save(&sv->worker[i]);
        s->m->worker_state(s->worker[i], &sv->worker[i]);
        state_rng(&sv->worker[i], &s->worker_rng[i]);
        assert_int_equal(state_rc(&sv->worker[i], &err), MR_OK);
    }
}

static void
s_saved_fini(sim_t *s, s_saved_t *sv)
{
    state_fini(&sv->server);
    for (size_t i = 0; i < s->n; i++)
        state_fini(&sv->worker[i]);
}

static void
s_load(sim_t *s, const s_saved_t *sv, const char *what)
{
    mr_err_t err;
    state_t st;
    state_init_load(&st, sv->server.data, sv->server.size);
    s->m->server_state(s->server, &st);
    state_rng(&st, &s->server_rng);
    if (state_rc(&st, &err) != MR_OK)
        fail_msg("%s: loading the server: %s", what, err.text);
    for (size_t i = 0; i < s->n; i++) {
        state_init_load(&st, sv->worker[i].data, sv->worker[i].size);
        s->m->worker_state(s->worker[i], &st);
        state_rng(&st, &s->worker_rng[i]);
        if (state_rc(&st, &err) != MR_OK)
            fail_msg("%s: loading worker %zu: %s", what, i, err.text);
    }
}

//  a and b did the same round: the same iterates bit for bit, the same messages and reports
//  (what a row records: oracle calls, f_i and grad f_i at x^k), the same rngs.
static void
s_assert_same_round(const sim_t *a, const sim_t *b, uint64_t k, const char *what)
{
    size_t d = sim_x(a)->dim;
    if (memcmp(sim_x(a)->x, sim_x(b)->x, d * sizeof(double)) != 0)
        fail_msg("%s: round %llu: the server's x differs", what, (unsigned long long) k);
    assert_memory_equal(&a->server_rng, &b->server_rng, sizeof(rng_t));
    assert_int_equal(a->rd.coin, b->rd.coin);
    for (size_t i = 0; i < a->n; i++) {
        if (memcmp(a->m->worker_x(a->worker[i])->x, b->m->worker_x(b->worker[i])->x,
                   d * sizeof(double)) != 0)
            fail_msg("%s: round %llu: worker %zu's x differs", what, (unsigned long long) k, i);
        const method_report_t *ra = &a->report[i], *rb = &b->report[i];
        if (ra->send != rb->send || ra->oracle_calls != rb->oracle_calls ||
            ra->have_eval != rb->have_eval ||
            (ra->have_eval && (memcmp(&ra->f, &rb->f, sizeof ra->f) != 0 ||
                               memcmp(ra->grad->x, rb->grad->x, d * sizeof(double)) != 0)))
            fail_msg("%s: round %llu: worker %zu's report differs", what, (unsigned long long) k,
                     i);
        const cvec_t *oa = &a->out[i], *ob = &b->out[i];
        if (ra->send &&
            (oa->nnz != ob->nnz || oa->kind != ob->kind || oa->enc != ob->enc ||
             memcmp(oa->val, ob->val, oa->nnz * sizeof *oa->val) != 0 ||
             (oa->kind == CVEC_SPARSE && memcmp(oa->idx, ob->idx, oa->nnz * sizeof *oa->idx) != 0)))
            fail_msg("%s: round %llu: worker %zu's message differs", what, (unsigned long long) k,
                     i);
        assert_memory_equal(&a->worker_rng[i], &b->worker_rng[i], sizeof(rng_t));
    }
}

//  The next plan of a and b broadcasts the same g, coin and participants.
static void
s_assert_same_plan(sim_t *a, sim_t *b, uint64_t next, const char *what)
{
    size_t d = sim_x(a)->dim;
    a->m->server_plan(a->server, next, &a->server_rng, &a->rd);
    b->m->server_plan(b->server, next, &b->server_rng, &b->rd);
    assert_int_equal(a->rd.coin, b->rd.coin);
    assert_int_equal(a->rd.npart, b->rd.npart);
    if (a->rd.npart)
        assert_memory_equal(a->rd.part, b->rd.part, a->rd.npart * sizeof *a->rd.part);
    assert_true((a->rd.g == NULL) == (b->rd.g == NULL));
    if (a->rd.g && memcmp(a->rd.g->x, b->rd.g->x, d * sizeof(double)) != 0)
        fail_msg("%s: the server's g differs", what);
}

//  The streams of one state are the same bytes.
static void
s_assert_same_bytes(const state_t *a, const state_t *b, const char *what)
{
    if (a->size != b->size || memcmp(a->data, b->data, a->size) != 0)
        fail_msg("%s: saving a loaded state gives other bytes (%zu, %zu)", what, a->size, b->size);
}

//  Case c, stopped after r1 rounds (0..r1-1), resumed for R2 more, against the run never
//  stopped; the loaded states saved again give the same bytes.
static void
s_check_resume(const fixture_t *fx, const s_case_t *c, uint64_t r1)
{
    char what[160];
    snprintf(what, sizeof what, "%s (%s), resumed after %llu rounds", c->name, c->label,
             (unsigned long long) r1);
    method_params_t mp = s_params(c, &fx->a, 5);
    sim_t whole, first, resumed;
    sim_init(&whole, c->name, &mp, fx->a.d->loss, NULL, mp.seed);
    sim_init(&first, c->name, &mp, fx->a.d->loss, NULL, mp.seed);
    for (uint64_t k = 0; k < r1; k++) {
        sim_round(&whole, k);
        sim_round(&first, k);
    }
    s_saved_t saved, again;
    s_save(&first, &saved);
    sim_fini(&first);
    //  New states made as a restarted run makes them: same parameters, data and x0.
    sim_init(&resumed, c->name, &mp, fx->a.d->loss, NULL, mp.seed);
    s_load(&resumed, &saved, what);
    s_save(&resumed, &again);
    s_assert_same_bytes(&saved.server, &again.server, what);
    for (size_t i = 0; i < N; i++)
        s_assert_same_bytes(&saved.worker[i], &again.worker[i], what);
    //  What a row of round r1 - 1 reads from the server after the resume.
    size_t d = mp.dim;
    if (memcmp(sim_x(&whole)->x, sim_x(&resumed)->x, d * sizeof(double)) != 0)
        fail_msg("%s: the loaded server's x differs", what);
    if (whole.m->server_agg_dist_sq) {
        double da = whole.m->server_agg_dist_sq(whole.server);
        double db = resumed.m->server_agg_dist_sq(resumed.server);
        if (memcmp(&da, &db, sizeof da) != 0)
            fail_msg("%s: the loaded agg_dist_sq differs (%g, %g)", what, da, db);
    }
    for (uint64_t k = r1; k < r1 + R2; k++) {
        sim_round(&whole, k);
        sim_round(&resumed, k);
        s_assert_same_round(&whole, &resumed, k, what);
        if (whole.m->server_agg_dist_sq)
            assert_true(whole.m->server_agg_dist_sq(whole.server) ==
                        resumed.m->server_agg_dist_sq(resumed.server));
    }
    s_assert_same_plan(&whole, &resumed, r1 + R2, what);
    s_saved_fini(&resumed, &saved);
    s_saved_fini(&resumed, &again);
    sim_fini(&whole);
    sim_fini(&resumed);
}

//  ----------------------------------------------------------------------------------------------

static void
test_every_method_can_be_checkpointed_and_has_a_case(void **state)
{
    (void) state;
    for (const char *const *name = method_names(); *name; name++) {
        const method_t *m = method_find(*name);
        assert_non_null(m);
        if (!m->worker_state || !m->server_state)
            fail_msg("%s has no checkpoint visitor", *name);
        int cases = 0;
        for (size_t c = 0; c < S_NCASES; c++)
            cases += strcmp(s_cases[c].name, *name) == 0;
        if (cases == 0)
            fail_msg("%s has no case in this test", *name);
    }
}

//  Resumed from states never stepped, after round 0, and after rounds 0..3 and 0..6 (full and
//  compressed rounds mixed, p = 0.3; MARINA's gradient slot cur is then 1, then 0 again).
static void
test_a_resumed_run_is_bit_identical_to_one_never_stopped(void **state)
{
    const fixture_t *fx = *state;
    const uint64_t r1s[] = {0, 1, 4, 7};
    for (size_t c = 0; c < S_NCASES; c++)
        for (size_t t = 0; t < sizeof r1s / sizeof r1s[0]; t++)
            s_check_resume(fx, &s_cases[c], r1s[t]);
}

//  Case c: worker 1 replaced after r1 rounds by a state fresh from worker_new (x^0 = 0, as a new
//  process makes it) that rejoins at round r1 from the server's x^{r1-1}, with the rng the
//  worker would have had: the next R2 rounds are bit for bit the run never interrupted, and the
//  rejoin cost the oracle calls of what it rebuilt (MARINA and GD: one pass over the shard).
static void
s_check_rejoin(const fixture_t *fx, const s_case_t *c, uint64_t r1)
{
    char what[160];
    snprintf(what, sizeof what, "%s (%s), rejoined at round %llu", c->name, c->label,
             (unsigned long long) r1);
    method_params_t mp = s_params(c, &fx->a, 5);
    sim_t whole, cut;
    sim_init(&whole, c->name, &mp, fx->a.d->loss, NULL, mp.seed);
    sim_init(&cut, c->name, &mp, fx->a.d->loss, NULL, mp.seed);
    for (uint64_t k = 0; k < r1; k++) {
        sim_round(&whole, k);
        sim_round(&cut, k);
    }
    cut.m->worker_destroy(&cut.worker[1]);
    vec_t x0;
    assert_int_equal(vec_init(&x0, mp.dim), MR_OK);
    mr_err_t err;
    cut.worker[1] = cut.m->worker_new(&mp, cut.loss[1], 1, &x0, &err);
    vec_fini(&x0);
    assert_non_null(cut.worker[1]);
    uint64_t calls = 0;
    assert_int_equal(cut.m->worker_rejoin(cut.worker[1], r1, cut.m->server_x(cut.server), &calls),
                     MR_OK);
    int rebuilds = strcmp(c->name, "marina") == 0 || strcmp(c->name, "gd") == 0;
    assert_true(calls == (rebuilds ? M : 0));
    for (uint64_t k = r1; k < r1 + R2; k++) {
        sim_round(&whole, k);
        sim_round(&cut, k);
        s_assert_same_round(&whole, &cut, k, what);
    }
    sim_fini(&whole);
    sim_fini(&cut);
}

//  The methods whose workers can join a run again are those whose state is a function of the
//  iterate (MARINA, GD, DCGD, VR-MARINA, SGD); a rejoin at round 0 (nothing to join) or by a
//  worker that keeps a shift (DIANA) or a momentum (BR-SGDm) is refused. Rejoined after 1, 4
//  and 7 rounds (full and compressed rounds, MARINA's gradient slot cur 0 and 1).
static void
test_a_rejoined_worker_goes_on_as_one_never_lost(void **state)
{
    const fixture_t *fx = *state;
    static const char *const rejoins[] = {
        "marina", "gd", "dcgd", "vr-marina", "vr-marina-online", "byz-vr-marina", "sgd"};
    const size_t nrejoins = sizeof rejoins / sizeof rejoins[0];
    size_t checked = 0;
    for (size_t c = 0; c < S_NCASES; c++) {
        const method_t *m = method_find(s_cases[c].name);
        int listed = 0;
        for (size_t t = 0; t < nrejoins; t++)
            listed |= strcmp(rejoins[t], m->name) == 0;
        if (!listed) {
            assert_null(m->worker_rejoin);
            continue;
        }
        assert_non_null(m->worker_rejoin);
        for (uint64_t r1 = 1; r1 <= 7; r1 += 3)
            s_check_rejoin(fx, &s_cases[c], r1);
        checked++;
    }
    assert_true(checked >= nrejoins);
    //  Refusals: round 0; DIANA's shift (dcgd's function with alpha > 0); BR-SGDm's momentum.
    static const char *const refused[][2] = {
        {"marina", "randk"}, {"diana", "randk, prox l2"}, {"br-sgdm", "momentum, cc + bucketing"}};
    for (size_t t = 0; t < 3; t++) {
        const s_case_t *c = s_find_case(refused[t][0], refused[t][1]);
        method_params_t mp = s_params(c, &fx->a, 5);
        sim_t s;
        sim_init(&s, c->name, &mp, fx->a.d->loss, NULL, mp.seed);
        uint64_t calls = 0;
        int (*rejoin)(method_worker_t *, uint64_t, const vec_t *, uint64_t *) =
            t == 0   ? s.m->worker_rejoin
            : t == 1 ? method_diana_worker_rejoin
                     : method_find("sgd")->worker_rejoin;
        assert_int_equal(rejoin(s.worker[0], t == 0 ? 0 : 3, s.m->server_x(s.server), &calls),
                         MR_EINVAL);
        sim_fini(&s);
    }
}

//  A loaded index outside its range is refused, not used: MARINA's worker with cur = 2 (its
//  stream: the tag, the worker id, x, grad[0], grad[1], then cur as 8 bytes).
static void
test_a_loaded_index_out_of_range_is_refused(void **state)
{
    const fixture_t *fx = *state;
    method_params_t mp = s_params(&s_cases[0], &fx->a, 5);
    sim_t a;
    sim_init(&a, "marina", &mp, fx->a.d->loss, NULL, 5);
    sim_round(&a, 0);
    state_t sv;
    state_init_save(&sv);
    a.m->worker_state(a.worker[0], &sv);
    size_t at = 32 + 8 + 3 * (8 + DIM * sizeof(double));
    assert_true(at + 8 <= sv.size);
    int64_t bad = 2;
    memcpy(sv.data + at, &bad, sizeof bad);
    state_t st;
    mr_err_t err;
    state_init_load(&st, sv.data, sv.size);
    a.m->worker_state(a.worker[0], &st);
    assert_int_equal(state_rc(&st, &err), MR_EMALFORMED);
    if (!strstr(err.text, "cur = 2"))
        fail_msg("\"%s\"", err.text);
    state_fini(&sv);
    sim_fini(&a);
}

//  Each method's streams start with its own tag: a stream of another method (the next one in the
//  list) is refused with a sentence naming both.
static void
test_a_stream_of_another_method_is_refused_by_its_tag(void **state)
{
    const fixture_t *fx = *state;
    for (size_t c = 0; c < S_NCASES; c++) {
        const s_case_t *other = &s_cases[(c + 1) % S_NCASES];
        if (strcmp(other->name, s_cases[c].name) == 0)
            continue;  // the next case is the same method
        method_params_t mp = s_params(&s_cases[c], &fx->a, 5);
        method_params_t mo = s_params(other, &fx->a, 5);
        sim_t a, b;
        sim_init(&a, s_cases[c].name, &mp, fx->a.d->loss, NULL, 5);
        sim_init(&b, other->name, &mo, fx->a.d->loss, NULL, 5);
        sim_round(&a, 0);
        s_saved_t sv;
        s_save(&a, &sv);
        mr_err_t err;
        state_t st;
        state_init_load(&st, sv.server.data, sv.server.size);
        b.m->server_state(b.server, &st);
        assert_int_equal(state_rc(&st, &err), MR_EMALFORMED);
        if (!strstr(err.text, s_cases[c].name) || !strstr(err.text, other->name) ||
            !strstr(err.text, "server"))
            fail_msg("%s into %s: \"%s\" names neither", s_cases[c].name, other->name, err.text);
        state_init_load(&st, sv.worker[0].data, sv.worker[0].size);
        b.m->worker_state(b.worker[0], &st);
        assert_int_equal(state_rc(&st, &err), MR_EMALFORMED);
        if (!strstr(err.text, s_cases[c].name) || !strstr(err.text, "worker"))
            fail_msg("%s into %s: \"%s\"", s_cases[c].name, other->name, err.text);
        s_saved_fini(&a, &sv);
        sim_fini(&a);
        sim_fini(&b);
    }
}

//  Worker i's stream does not load into worker j (the streams of a run's workers swapped).
static void
test_a_stream_of_another_worker_is_refused(void **state)
{
    const fixture_t *fx = *state;
    for (size_t c = 0; c < S_NCASES; c++) {
        method_params_t mp = s_params(&s_cases[c], &fx->a, 5);
        sim_t a;
        sim_init(&a, s_cases[c].name, &mp, fx->a.d->loss, NULL, 5);
        sim_round(&a, 0);
        s_saved_t sv;
        s_save(&a, &sv);
        mr_err_t err;
        state_t st;
        state_init_load(&st, sv.worker[0].data, sv.worker[0].size);
        a.m->worker_state(a.worker[1], &st);
        if (state_rc(&st, &err) != MR_EMALFORMED || !strstr(err.text, "worker id = 0, this run 1"))
            fail_msg("%s: \"%s\"", s_cases[c].name, err.text);
        s_saved_fini(&a, &sv);
        sim_fini(&a);
    }
}

//  A stream cut anywhere short is refused (it ends early), and so is one with a byte more.
static void
test_a_truncated_or_longer_stream_is_refused(void **state)
{
    const fixture_t *fx = *state;
    for (size_t c = 0; c < S_NCASES; c++) {
        method_params_t mp = s_params(&s_cases[c], &fx->a, 5);
        sim_t a;
        sim_init(&a, s_cases[c].name, &mp, fx->a.d->loss, NULL, 5);
        for (uint64_t k = 0; k < 3; k++)
            sim_round(&a, k);
        state_t sv[2];
        state_init_save(&sv[0]);
        a.m->server_state(a.server, &sv[0]);
        state_init_save(&sv[1]);
        a.m->worker_state(a.worker[1], &sv[1]);
        mr_err_t err;
        for (int w = 0; w < 2; w++) {
            size_t size = sv[w].size;
            const size_t cuts[] = {0, 1, 31, 32, size / 2, size - 8, size - 1};
            for (size_t t = 0; t < sizeof cuts / sizeof cuts[0]; t++) {
                sim_t b;
                sim_init(&b, s_cases[c].name, &mp, fx->a.d->loss, NULL, 5);
                state_t st;
                state_init_load(&st, sv[w].data, cuts[t]);
                if (w == 0)
                    b.m->server_state(b.server, &st);
                else
                    b.m->worker_state(b.worker[1], &st);
                if (state_rc(&st, &err) != MR_EMALFORMED || !strstr(err.text, "ends early"))
                    fail_msg("%s: %zu of %zu bytes: \"%s\"", s_cases[c].name, cuts[t], size,
                             err.text);
                sim_fini(&b);
            }
            uint8_t *longer = malloc(size + 1);
            assert_non_null(longer);
            memcpy(longer, sv[w].data, size);
            longer[size] = 0;
            state_t st;
            state_init_load(&st, longer, size + 1);
            if (w == 0)
                a.m->server_state(a.server, &st);
            else
                a.m->worker_state(a.worker[1], &st);
            assert_int_equal(state_rc(&st, &err), MR_EMALFORMED);
            assert_non_null(strstr(err.text, "left over"));
            free(longer);
            state_fini(&sv[w]);
        }
        sim_fini(&a);
    }
}

//  A stream saved in dimension DIM does not load into states of dimension DIM2 (MR_EDIM, naming
//  both).
static void
test_a_stream_of_another_dimension_is_refused(void **state)
{
    const fixture_t *fx = *state;
    for (size_t c = 0; c < S_NCASES; c++) {
        method_params_t mp = s_params(&s_cases[c], &fx->a, 5);
        method_params_t m2 = s_params(&s_cases[c], &fx->b, 5);
        sim_t a, b;
        sim_init(&a, s_cases[c].name, &mp, fx->a.d->loss, NULL, 5);
        sim_init(&b, s_cases[c].name, &m2, fx->b.d->loss, NULL, 5);
        sim_round(&a, 0);
        s_saved_t sv;
        s_save(&a, &sv);
        mr_err_t err;
        char want[80];
        snprintf(want, sizeof want, "dimension %d where %d", DIM, DIM2);
        state_t st;
        state_init_load(&st, sv.server.data, sv.server.size);
        b.m->server_state(b.server, &st);
        if (state_rc(&st, &err) != MR_EDIM || !strstr(err.text, want))
            fail_msg("%s server: \"%s\"", s_cases[c].name, err.text);
        state_init_load(&st, sv.worker[2].data, sv.worker[2].size);
        b.m->worker_state(b.worker[2], &st);
        if (state_rc(&st, &err) != MR_EDIM || !strstr(err.text, want))
            fail_msg("%s worker: \"%s\"", s_cases[c].name, err.text);
        s_saved_fini(&a, &sv);
        sim_fini(&a);
        sim_fini(&b);
    }
}

//  The same method saved with other options that change the state's layout is refused with a
//  sentence naming the option, not misread: robust aggregation on / off, estimator local /
//  global, DIANA's shifts kept per worker or not.
static void
test_a_stream_of_other_options_is_refused(void **state)
{
    const fixture_t *fx = *state;
    const struct {
        const char *name, *from, *to, *want;
    } pairs[] = {
        {"marina", "randk", "dither, cm + bucketing, estimator global", "robust aggregation"},
        {"marina", "dither, cm + bucketing, estimator global", "randk, rfa, estimator local",
         "per-worker estimators"},
        {"diana", "randk, prox l2", "ternary, tm (the per-worker shifts)", "per-worker shifts"},
    };
    for (size_t t = 0; t < sizeof pairs / sizeof pairs[0]; t++) {
        const s_case_t *from = s_find_case(pairs[t].name, pairs[t].from);
        const s_case_t *to = s_find_case(pairs[t].name, pairs[t].to);
        method_params_t mf = s_params(from, &fx->a, 5);
        method_params_t mt = s_params(to, &fx->a, 5);
        sim_t a, b;
        sim_init(&a, from->name, &mf, fx->a.d->loss, NULL, 5);
        sim_init(&b, to->name, &mt, fx->a.d->loss, NULL, 5);
        s_saved_t sv;
        s_save(&a, &sv);
        mr_err_t err;
        state_t st;
        state_init_load(&st, sv.server.data, sv.server.size);
        b.m->server_state(b.server, &st);
        if (state_rc(&st, &err) != MR_EMALFORMED || !strstr(err.text, pairs[t].want))
            fail_msg("%s (%s) into (%s): \"%s\"", from->name, from->label, to->label, err.text);
        s_saved_fini(&a, &sv);
        sim_fini(&a);
        sim_fini(&b);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method_can_be_checkpointed_and_has_a_case),
        cmocka_unit_test_setup_teardown(test_a_resumed_run_is_bit_identical_to_one_never_stopped,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_rejoined_worker_goes_on_as_one_never_lost, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_loaded_index_out_of_range_is_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_stream_of_another_method_is_refused_by_its_tag,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_stream_of_another_worker_is_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_truncated_or_longer_stream_is_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_stream_of_another_dimension_is_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_stream_of_other_options_is_refused, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
