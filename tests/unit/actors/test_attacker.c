//  test_attacker.c - the attacker's logic (attacker.c) against the server's view of its
//  messages: under estimator = global the server adds g^{k-1} to a compressed round's message,
//  under estimator = local it adds the message to the sender's running estimator; either way
//  the view the server forms equals the attack's target (identity compressor, so exactly).
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "attacker.h"
#include "method.h"
#include "msg.h"
#include "state.h"
#include "test_util.h"

enum {
    N = 3,  // workers 0, 1 honest, 2 the attacker
    HONEST = 2,
    D = 2,
    ROUNDS = 4,  // round 0 full, then compressed rounds
};

static method_params_t
s_params(int local)
{
    method_params_t mp = {0};
    mp.n = N;
    mp.dim = D;
    mp.m = 10;
    mp.gamma = 0.5;
    mp.p = 0.5;
    mp.comp.kind = COMP_IDENTITY;
    mp.batch = mp.batch_prime = 1;
    mp.seed = 3;
    agg_cfg_default(&mp.agg);
    mp.agg.rule = AGG_CM;
    mp.agg.byzantine = 1;
    mp.byzantine = 1;
    mp.local_estimator = local;
    return mp;
}

static void
s_set(cvec_t *c, double a, double b)
{
    c->kind = CVEC_DENSE;
    c->dim = c->nnz = D;
    c->val[0] = a;
    c->val[1] = b;
}

//  Plays ROUNDS rounds of an attack against the server's bookkeeping, done here by hand: the
//  honest estimators h_i and the attacker's view a. Checks a against the attack's target each
//  round.
static void
s_play(attack_kind_t kind, int local)
{
    const method_t *m = method_find("byz-vr-marina");
    assert_non_null(m);
    method_params_t mp = s_params(local);
    attack_cfg_t ac = {.kind = kind, .z = 1.0, .eps = 0.5};
    mr_err_t err;
    attacker_t *at = attacker_new(m, &mp, &ac, HONEST, 2, 7, &err);
    assert_non_null(at);
    msg_t up[HONEST];
    memset(up, 0, sizeof up);
    for (int i = 0; i < HONEST; i++)
        assert_int_equal(cvec_init(&up[i].up, D, D), MR_OK);
    cvec_t own;
    assert_int_equal(cvec_init(&own, D, D), MR_OK);
    double g[D] = {0, 0};         // the server's g^{k-1} (global)
    double h[HONEST][D] = {{0}};  // the honest views the server aggregates
    double a[D] = {0, 0};         // the attacker's view on the server
    double shadow[D] = {0, 0};    // the attacker's own honest estimator (local)
    vec_t gv;
    assert_int_equal(vec_init(&gv, D), MR_OK);
    for (uint64_t k = 0; k < ROUNDS; k++) {
        int full = k == 0;
        gv.x[0] = g[0];
        gv.x[1] = g[1];
        method_round_t rd = {k, full, full ? NULL : &gv, NULL, 0};
        //  The honest messages of the round, and the attacker's own honest one.
        double q[HONEST][D] = {{1.0 + (double) k, -2.0}, {3.0, 4.0 * (double) k + 1.0}};
        s_set(&own, 0.5 * (double) k + 1.0, -1.0);
        attacker_begin(at, &rd, &own);
        for (int i = 0; i < HONEST; i++) {
            up[i].type = MSG_UPDATE;
            up[i].round = k;
            up[i].sender = (uint32_t) i;
            s_set(&up[i].up, q[i][0], q[i][1]);
            attacker_observe(at, &up[i]);
            for (int j = 0; j < D; j++) {
                double base = local ? (full ? 0.0 : h[i][j]) : (full ? 0.0 : g[j]);
                h[i][j] = base + q[i][j];
            }
        }
        for (int j = 0; j < D; j++)
            shadow[j] = (full ? 0.0 : shadow[j]) + own.val[j];
        cvec_t out;
        assert_int_equal(cvec_init(&out, D, D), MR_OK);
        assert_int_equal(attacker_craft(at, &out, &err), MR_OK);
        double dense[D] = {0, 0};
        for (size_t t = 0; t < out.nnz; t++)
            dense[out.kind == CVEC_DENSE ? t : out.idx[t]] += out.val[t];
        for (int j = 0; j < D; j++) {
            double base = local ? (full ? 0.0 : a[j]) : (full ? 0.0 : g[j]);
            a[j] = base + dense[j];
            double mean = (h[0][j] + h[1][j]) / 2.0;
            double own_view = local ? shadow[j] : (full ? 0.0 : g[j]) + own.val[j];
            double want = kind == ATTACK_IPM ? -0.5 * mean : -own_view;
            assert_true(fabs(a[j] - want) < 1e-12);
        }
        cvec_fini(&out);
        //  The server's next g: any value will do for the test (the mean of the three views).
        for (int j = 0; j < D; j++)
            g[j] = (h[0][j] + h[1][j] + a[j]) / 3.0;
    }
    for (int i = 0; i < HONEST; i++)
        cvec_fini(&up[i].up);
    cvec_fini(&own);
    vec_fini(&gv);
    attacker_destroy(&at);
}

static void
test_ipm_global_view_is_minus_eps_times_the_honest_mean(void **state)
{
    (void) state;
    s_play(ATTACK_IPM, 0);
}

static void
test_ipm_local_view_is_minus_eps_times_the_mean_of_the_running_estimators(void **state)
{
    (void) state;
    s_play(ATTACK_IPM, 1);
}

static void
test_bf_local_view_is_the_negated_own_running_estimator(void **state)
{
    (void) state;
    s_play(ATTACK_BF, 1);
}

static void
test_bf_global_view_is_the_negated_own_view(void **state)
{
    (void) state;
    s_play(ATTACK_BF, 0);
}

//  estimator = local with RandK (K = 1 of d = 10, omega = 9): the attacker's view on the server
//  (the sum of what it sent) follows the IPM target with a bounded error, round after round,
//  with fixed honest views (the error shrinks by omega / (1 + omega) a round in expectation).
static void
test_local_randk_attack_tracks_its_target(void **state)
{
    (void) state;
    enum {
        DD = 10,
        ROUNDS_K = 400
    };
    const method_t *m = method_find("byz-vr-marina");
    method_params_t mp = s_params(1);
    mp.dim = DD;
    mp.comp.kind = COMP_RANDK;
    mp.comp.k = 1;
    attack_cfg_t ac = {.kind = ATTACK_IPM, .eps = 0.5};
    mr_err_t err;
    attacker_t *at = attacker_new(m, &mp, &ac, HONEST, 2, 11, &err);
    assert_non_null(at);
    msg_t up[HONEST];
    memset(up, 0, sizeof up);
    for (int i = 0; i < HONEST; i++)
        assert_int_equal(cvec_init(&up[i].up, DD, DD), MR_OK);
    cvec_t own, out;
    assert_int_equal(cvec_init(&own, DD, DD), MR_OK);
    assert_int_equal(cvec_init(&out, DD, DD), MR_OK);
    vec_t g;
    assert_int_equal(vec_init(&g, DD), MR_OK);
    double a[DD] = {0}, h[HONEST][DD] = {{0}}, err_late = 0;
    for (uint64_t k = 0; k < ROUNDS_K; k++) {
        int full = k == 0;
        method_round_t rd = {k, full, full ? NULL : &g, NULL, 0};
        own.kind = CVEC_SPARSE;
        own.dim = DD;
        own.nnz = 0;
        attacker_begin(at, &rd, &own);
        for (int i = 0; i < HONEST; i++) {
            up[i].type = MSG_UPDATE;
            up[i].round = k;
            up[i].sender = (uint32_t) i;
            up[i].up.dim = DD;
            if (full) {  // honest estimators h_0 = (1, ..., 1), h_1 = (3, ..., 3), then fixed
                up[i].up.kind = CVEC_DENSE;
                up[i].up.nnz = DD;
                for (int j = 0; j < DD; j++)
                    up[i].up.val[j] = h[i][j] = 1.0 + 2.0 * i;
            } else {  // then each moves by 0.1 in one coordinate a round
                up[i].up.kind = CVEC_SPARSE;
                up[i].up.nnz = 1;
                up[i].up.idx[0] = (uint32_t) ((k + (uint64_t) i) % DD);
                up[i].up.val[0] = 0.1;
                h[i][up[i].up.idx[0]] += 0.1;
            }
            attacker_observe(at, &up[i]);
        }
        assert_int_equal(attacker_craft(at, &out, &err), MR_OK);
        for (size_t t = 0; t < out.nnz; t++) {
            size_t j = out.kind == CVEC_DENSE ? t : out.idx[t];
            a[j] = (full && out.kind == CVEC_DENSE ? 0.0 : a[j]) + out.val[t];
        }
        if (k >= ROUNDS_K - 100) {  // target: -0.5 times the honest mean
            double e = 0;
            for (int j = 0; j < DD; j++) {
                double want = -0.5 * (h[0][j] + h[1][j]) / 2.0;
                e += (a[j] - want) * (a[j] - want);
            }
            err_late += e / 100.0;
        }
    }
    //  Without the damping the error grew 9-fold a round; with it, it stays of the order of
    //  the target's moves (0.05 a coordinate a round, times the noise of K = 1 of 10).
    assert_true(err_late < 10.0);
    for (int i = 0; i < HONEST; i++)
        cvec_fini(&up[i].up);
    cvec_fini(&own);
    cvec_fini(&out);
    vec_fini(&g);
    attacker_destroy(&at);
}

//  Checkpoints (attacker_state): the attacker of rounds 0..K1-1, saved, destroyed, made anew and
//  loaded, then run to round K, sends what the attacker never stopped sends, bit for bit. Full
//  rounds every 5 (the local estimators restart), RandK (the compressor draws from the rng).
enum {
    CK_D = 10,
    CK_K1 = 7,
    CK_K = 16,
};

typedef struct {
    method_params_t mp;
    attack_cfg_t ac;
    msg_t up[HONEST];
    cvec_t own;
    vec_t g;
} s_ck_t;

static void
s_ck_init(s_ck_t *ck, attack_kind_t kind, int local)
{
    memset(ck, 0, sizeof *ck);
    ck->mp = s_params(local);
    ck->mp.dim = CK_D;
    ck->mp.comp.kind = COMP_RANDK;
    ck->mp.comp.k = 2;
    ck->ac = (attack_cfg_t){.kind = kind, .z = 1.0, .eps = 0.5};
    for (int i = 0; i < HONEST; i++)
        assert_int_equal(cvec_init(&ck->up[i].up, CK_D, CK_D), MR_OK);
    assert_int_equal(cvec_init(&ck->own, CK_D, CK_D), MR_OK);
    assert_int_equal(vec_init(&ck->g, CK_D), MR_OK);
}

static void
s_ck_fini(s_ck_t *ck)
{
    for (int i = 0; i < HONEST; i++)
        cvec_fini(&ck->up[i].up);
    cvec_fini(&ck->own);
    vec_fini(&ck->g);
}

static attacker_t *
s_ck_attacker(const s_ck_t *ck)
{
    mr_err_t err;
    attacker_t *at =
        attacker_new(method_find("byz-vr-marina"), &ck->mp, &ck->ac, HONEST, 2, 7, &err);
    assert_non_null(at);
    return at;
}

//  Round k of the attacker: made-up honest messages (dense on full rounds, one coordinate
//  otherwise), its own message, a made-up g^{k-1}; writes the attack's message to out. Then
//  worker 0's update arrives a second time. Worker 1's update of round K1 - 1 comes late (after
//  the craft, see s_ck_check_resume()).
static void
s_ck_round(s_ck_t *ck, attacker_t *at, uint64_t k, cvec_t *out)
{
    int full = k % 5 == 0;
    for (size_t j = 0; j < CK_D; j++)
        ck->g.x[j] = 0.1 * (double) k - 0.05 * (double) j;
    method_round_t rd = {k, full, k == 0 ? NULL : &ck->g, NULL, 0};
    ck->own.kind = CVEC_DENSE;
    ck->own.dim = ck->own.nnz = CK_D;
    for (size_t j = 0; j < CK_D; j++)
        ck->own.val[j] = 1.0 + 0.3 * (double) (k * j % 7);
    attacker_begin(at, &rd, &ck->own);
    for (int i = 0; i < HONEST; i++) {
        msg_t *u = &ck->up[i];
        u->type = MSG_UPDATE;
        u->round = k;
        u->sender = (uint32_t) i;
        u->up.dim = CK_D;
        if (full) {
            u->up.kind = CVEC_DENSE;
            u->up.nnz = CK_D;
            for (size_t j = 0; j < CK_D; j++)
                u->up.val[j] = 1.0 + 2.0 * i + 0.01 * (double) (j + k);
        } else {
            u->up.kind = CVEC_SPARSE;
            u->up.nnz = 1;
            u->up.idx[0] = (uint32_t) ((k + (uint64_t) i) % CK_D);
            u->up.val[0] = 0.1 * (double) (i + 1);
        }
        if (k != CK_K1 - 1 || i != 1)
            attacker_observe(at, u);
    }
    mr_err_t err;
    assert_int_equal(attacker_craft(at, out, &err), MR_OK);
    attacker_observe(at, &ck->up[0]);  // a late duplicate: dropped, also after a resume
}

static void
s_ck_check_resume(attack_kind_t kind, int local)
{
    s_ck_t ck;
    s_ck_init(&ck, kind, local);
    attacker_t *whole = s_ck_attacker(&ck), *first = s_ck_attacker(&ck);
    cvec_t a, b;
    assert_int_equal(cvec_init(&a, CK_D, CK_D), MR_OK);
    assert_int_equal(cvec_init(&b, CK_D, CK_D), MR_OK);
    for (uint64_t k = 0; k < CK_K1; k++) {
        s_ck_round(&ck, whole, k, &a);
        s_ck_round(&ck, first, k, &b);
    }
    state_t sv;
    state_init_save(&sv);
    attacker_state(first, &sv);
    mr_err_t err;
    assert_int_equal(state_rc(&sv, &err), MR_OK);
    attacker_destroy(&first);
    attacker_t *resumed = s_ck_attacker(&ck);
    state_t st;
    state_init_load(&st, sv.data, sv.size);
    attacker_state(resumed, &st);
    if (state_rc(&st, &err) != MR_OK)
        fail_msg("loading the attacker: %s", err.text);
    //  After the resume, round K1 - 1's update of worker 0 arrives once more (dropped) and
    //  worker 1's, late, for the first time (taken: its estimator moves).
    for (int i = 0; i < HONEST; i++) {
        attacker_observe(whole, &ck.up[i]);
        attacker_observe(resumed, &ck.up[i]);
    }
    int differ_from_fresh = 0;
    attacker_t *fresh = s_ck_attacker(&ck);
    for (uint64_t k = CK_K1; k < CK_K; k++) {
        s_ck_round(&ck, whole, k, &a);
        s_ck_round(&ck, resumed, k, &b);
        assert_int_equal(a.kind, b.kind);
        assert_int_equal(a.nnz, b.nnz);
        assert_memory_equal(a.val, b.val, a.nnz * sizeof *a.val);
        if (a.kind == CVEC_SPARSE)
            assert_memory_equal(a.idx, b.idx, a.nnz * sizeof *a.idx);
        //  A fresh attacker (nothing loaded) sends something else: the comparison can fail.
        s_ck_round(&ck, fresh, k, &b);
        differ_from_fresh |= a.nnz != b.nnz || memcmp(a.val, b.val, a.nnz * sizeof *a.val) != 0;
    }
    assert_true(differ_from_fresh);
    //  A stream cut short or of another state is refused.
    state_init_load(&st, sv.data, sv.size - 1);
    attacker_state(fresh, &st);
    assert_int_equal(state_rc(&st, &err), MR_EMALFORMED);
    state_init_load(&st, sv.data + 8, sv.size - 8);
    attacker_state(fresh, &st);
    assert_int_equal(state_rc(&st, &err), MR_EMALFORMED);
    assert_non_null(strstr(err.text, "attacker-v1"));
    state_fini(&sv);
    attacker_destroy(&whole);
    attacker_destroy(&resumed);
    attacker_destroy(&fresh);
    cvec_fini(&a);
    cvec_fini(&b);
    s_ck_fini(&ck);
}

static void
test_a_resumed_attacker_sends_what_it_would_have_sent(void **state)
{
    (void) state;
    s_ck_check_resume(ATTACK_IPM, 1);
    s_ck_check_resume(ATTACK_IPM, 0);
    s_ck_check_resume(ATTACK_NOISE, 1);
    s_ck_check_resume(ATTACK_ALIE, 0);
    s_ck_check_resume(ATTACK_BF, 1);
}

//  An attacker saved with estimator = local does not load into one without (the layout differs).
static void
test_an_attacker_stream_of_other_options_is_refused(void **state)
{
    (void) state;
    s_ck_t lo, gl;
    s_ck_init(&lo, ATTACK_IPM, 1);
    s_ck_init(&gl, ATTACK_IPM, 0);
    attacker_t *a = s_ck_attacker(&lo), *b = s_ck_attacker(&gl);
    state_t sv, st;
    state_init_save(&sv);
    attacker_state(a, &sv);
    state_init_load(&st, sv.data, sv.size);
    attacker_state(b, &st);
    mr_err_t err;
    assert_int_equal(state_rc(&st, &err), MR_EMALFORMED);
    assert_non_null(strstr(err.text, "estimator = local"));
    state_fini(&sv);
    attacker_destroy(&a);
    attacker_destroy(&b);
    s_ck_fini(&lo);
    s_ck_fini(&gl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipm_global_view_is_minus_eps_times_the_honest_mean),
        cmocka_unit_test(test_ipm_local_view_is_minus_eps_times_the_mean_of_the_running_estimators),
        cmocka_unit_test(test_bf_local_view_is_the_negated_own_running_estimator),
        cmocka_unit_test(test_bf_global_view_is_the_negated_own_view),
        cmocka_unit_test(test_local_randk_attack_tracks_its_target),
        cmocka_unit_test(test_a_resumed_attacker_sends_what_it_would_have_sent),
        cmocka_unit_test(test_an_attacker_stream_of_other_options_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
