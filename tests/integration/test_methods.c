//  test_methods.c - every method and compressor through real processes and sockets: the
//  participants of PP-MARINA on the wire, the compact encodings, SEGA's sketches, prox runs and
//  the optimality gap with its cached F*, and the sweep and report commands.
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "integration/proc_util.h"
#include "test_util.h"

typedef pu_fixture_t fixture_t;

//  Runs `marina run ARGS... db=<f->db> progress_s=0`; returns the exit code.
static int
s_run(fixture_t *f, ...)
{
    char *argv[32] = {MARINA_BIN, "run"};
    int argc = 2;
    va_list ap;
    va_start(ap, f);
    for (char *a = va_arg(ap, char *); a && argc < 29; a = va_arg(ap, char *))
        argv[argc++] = a;
    va_end(ap);
    char dbarg[160];
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    argv[argc++] = dbarg;
    argv[argc++] = "progress_s=0";
    argv[argc] = NULL;
    return pu_run(argv, f->out, 120);
}

static double
s_q(fixture_t *f, const char *sql)
{
    return pu_query(f->db, sql);
}

static void
test_every_method_runs_end_to_end(void **state)
{
    fixture_t *f = *state;
    static const char *const methods[] = {
        "gd",        "dcgd", "diana", "vr-diana",    "marina", "vr-marina", "vr-marina-online",
        "pp-marina", "sgd",  "sega",  "sega-biased", "cd"};
    size_t count = sizeof methods / sizeof methods[0];
    for (size_t i = 0; i < count; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "method=%s", methods[i]);
        int code = s_run(f, arg, "rounds=150", "n=3", NULL);
        if (code != 0)
            fail_msg("%s exited with %d: %s", methods[i], code, pu_slurp(f->out));
    }
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE status = 'completed'");
    assert_near(s_q(f, sql), (double) count, 0);
    // Every run has 151 rows, each with 3 per-worker rows, and a finite objective.
    assert_near(s_q(f, "SELECT count(*) FROM rounds"), 151.0 * (double) count, 0);
    assert_near(s_q(f, "SELECT count(*) FROM round_workers"), 3 * 151.0 * (double) count, 0);
    assert_near(s_q(f, "SELECT count(*) FROM rounds WHERE f IS NULL OR f != f"), 0, 0);
    // The per-worker rows add up to the round's totals.
    assert_near(s_q(f, "SELECT count(*) FROM rounds r WHERE bits_paper_up != (SELECT "
                       "sum(bits_paper_up) FROM round_workers w WHERE w.run_id = r.run_id AND "
                       "w.round = r.round) OR oracle_calls != (SELECT sum(oracle_calls) FROM "
                       "round_workers w WHERE w.run_id = r.run_id AND w.round = r.round)"),
                0, 0);
}

static void
test_pp_marina_sends_only_from_the_drawn_workers(void **state)
{
    fixture_t *f = *state;
    // r = 2 of n = 5 per compressed round; p = K r / (d n) = 4 * 2 / (40 * 5) = 0.04.
    assert_int_equal(s_run(f, "method=pp-marina", "r=2", "k=4", "rounds=600", NULL), 0);
    // Compressed rounds: at most r distinct senders, each with K values; the rest send nothing.
    assert_near(s_q(f, "SELECT count(*) FROM rounds WHERE c_k = 0 AND (participants < 1 OR "
                       "participants > 2)"),
                0, 0);
    assert_near(s_q(f, "SELECT count(*) FROM round_workers w JOIN rounds r USING (run_id, round) "
                       "WHERE r.c_k = 0 AND ((w.sent = 1 AND w.nnz_up != 4) OR (w.sent = 0 AND "
                       "(w.bits_paper_up != 0 OR w.oracle_calls != 0)))"),
                0, 0);
    assert_near(s_q(f, "SELECT count(*) FROM rounds r WHERE participants != (SELECT sum(sent) "
                       "FROM round_workers w WHERE w.run_id = r.run_id AND w.round = r.round)"),
                0, 0);
    // Full rounds: everybody, dense.
    assert_near(s_q(f, "SELECT count(*) FROM rounds WHERE c_k = 1 AND (participants != 5 OR "
                       "nnz_up != 200)"),
                0, 0);
    // Both kinds of rounds happened, and some compressed rounds had a single sender (a repeat
    // draw or r = 2 draws of the same worker): the multiset semantics were exercised.
    assert_true(s_q(f, "SELECT count(*) FROM rounds WHERE c_k = 1 AND round > 0") > 0);
    assert_true(s_q(f, "SELECT count(*) FROM rounds WHERE c_k = 0 AND participants = 1") > 0);
}

static void
test_compressors_cost_what_the_protocol_says(void **state)
{
    fixture_t *f = *state;
    // DCGD sends Q(grad f_i) every round; d = 40, n = 5. docs/protocol.md, "Compressors".
    assert_int_equal(s_run(f, "method=dcgd", "compressor=ternary", "rounds=50", NULL), 0);
    assert_int_equal(s_run(f, "method=dcgd", "compressor=natural", "rounds=50", NULL), 0);
    assert_int_equal(s_run(f, "method=dcgd", "compressor=dither", "s=3", "rounds=50", NULL), 0);
    assert_int_equal(s_run(f, "method=dcgd", "compressor=block", "s=2", "t=8", "rounds=50", NULL),
                     0);
    assert_int_equal(s_run(f, "method=dcgd", "compressor=topk", "k=5", "rounds=50", NULL), 0);
    // Natural: 9 bits per value (sign + 8-bit exponent), dense: 9 * 40 per worker.
    assert_near(s_q(f, "SELECT count(*) FROM round_workers WHERE run_id = 2 AND "
                       "bits_paper_up != 360"),
                0, 0);
    // TopK: 32 bits per value, K values, plus ceil(log2 40) = 6 index bits each in the model.
    assert_near(s_q(f, "SELECT count(*) FROM round_workers WHERE run_id = 5 AND "
                       "(bits_paper_up != 160 OR bits_model_up != 190 OR nnz_up != 5)"),
                0, 0);
    // Ternary: a 32-bit scale plus 2 bits per coordinate when dense (every round here is at
    // most 32 + 2 * 40 = 112 bits; sparse sends are cheaper by construction).
    assert_near(s_q(f, "SELECT count(*) FROM round_workers WHERE run_id = 1 AND "
                       "bits_paper_up > 112"),
                0, 0);
    // Block: one 32-bit norm per block of 8: ceil(40 / 8) = 5 norms at least.
    assert_near(s_q(f, "SELECT count(*) FROM round_workers WHERE run_id = 4 AND "
                       "bits_paper_up < 160"),
                0, 0);
    // The wire carries less than raw doubles would (8 bytes per value) for every quantizer.
    assert_true(s_q(f, "SELECT max(bytes_wire_up) FROM round_workers WHERE run_id IN (1, 2, 3)") <
                8 * 40);
    // A biased compressor is refused by a method that needs an unbiased one.
    assert_int_equal(s_run(f, "method=marina", "compressor=topk", NULL), 2);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "biased"));
    free(out);
}

static void
test_sega_gaussian_sketches_travel_as_coefficients(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "method=sega", "sketch=gaussian", "sketch_b=3", "n=2",
                           "loss=quadratic", "lambda=0.1", "rounds=300", NULL),
                     0);
    // b = 3 coefficients per worker per round, 32 bits each, no indices.
    assert_near(s_q(f, "SELECT count(*) FROM round_workers WHERE nnz_up != 3 OR bits_paper_up "
                       "!= 96 OR bits_model_up != 96"),
                0, 0);
    // The gap falls, monotonically on average (F* of the quadratic is known; the slides' step
    // 1/(4 L theta) with theta = d/b = 13.3 is small, so the decrease is slow but steady).
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE round = 300") <
                0.8 * s_q(f, "SELECT gap FROM rounds WHERE round = 0"));
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE round = 300") <
                s_q(f, "SELECT gap FROM rounds WHERE round = 150"));
}

//  The number after "KEY = " in run ID's config text (NAN if absent).
static double
s_config_number(fixture_t *f, int id, const char *key)
{
    char sql[96], pat[64];
    snprintf(sql, sizeof sql, "SELECT config FROM runs WHERE id = %d", id);
    snprintf(pat, sizeof pat, " %s = ", key);
    char *config = pu_query_text(f->db, sql);
    const char *at = config ? strstr(config, pat) : NULL;
    double v = at ? strtod(at + strlen(pat), NULL) : NAN;
    free(config);
    return v;
}

//  synth_cond scales the data every actor generates (the workers are processes: their shard
//  fingerprints must match the server's, or HELLO fails), so L shrinks, and F* is computed for
//  the scaled problem, not reused from the unscaled one of the same database.
static void
test_synth_cond_scales_every_actor_s_data_and_its_f_star(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(
        s_run(f, "method=gd", "loss=quadratic", "lambda=0.01", "n=2", "rounds=50", NULL), 0);
    assert_int_equal(s_run(f, "method=gd", "loss=quadratic", "lambda=0.01", "n=2", "rounds=50",
                           "synth_cond=100", NULL),
                     0);
    assert_near(s_q(f, "SELECT count(*) FROM runs WHERE status = 'completed'"), 2, 0);
    double L1 = s_config_number(f, 1, "L"), L2 = s_config_number(f, 2, "L");
    double fs1 = s_config_number(f, 1, "f_star"), fs2 = s_config_number(f, 2, "f_star");
    assert_true(L2 < 0.9 * L1);  // every feature but the first is scaled down
    assert_true(fabs(fs2 - fs1) > 1e-6 * fabs(fs1));
    // F* is the scaled problem's: GD's gap stays non-negative and falls.
    assert_true(s_q(f, "SELECT min(gap) FROM rounds WHERE run_id = 2") > -1e-12);
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE run_id = 2 AND round = 50") <
                s_q(f, "SELECT gap FROM rounds WHERE run_id = 2 AND round = 0"));
}

static void
test_sega_subspace_runs_on_low_rank_data_and_refuses_bad_combos(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "method=sega-subspace", "sketch=gaussian", "sketch_b=2",
                           "synth_rank=5", "loss=quadratic", "lambda=0.01", "rounds=300", "n=2",
                           NULL),
                     0);
    // Every actor computed Range(A^T) of the 2000 x 40 set: 5 feature directions plus the bias.
    char *config = pu_query_text(f->db, "SELECT config FROM runs WHERE id = 1");
    assert_non_null(strstr(config, "range_rank = 6"));
    free(config);
    // b = 2 coefficients per worker per round, as SEGA's Gaussian sketch sends them.
    assert_near(s_q(f, "SELECT count(*) FROM round_workers WHERE nnz_up != 2 OR bits_paper_up "
                       "!= 64"),
                0, 0);
    assert_near(s_q(f, "SELECT count(*) FROM rounds WHERE run_id = 1"), 301, 0);
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE round = 300") <
                0.8 * s_q(f, "SELECT gap FROM rounds WHERE round = 0"));
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE round = 300") <
                s_q(f, "SELECT gap FROM rounds WHERE round = 150"));
    // Refused before any process starts, each naming its key: coordinates (no closed-form
    // theta), a prox that leaves Range(A^T), a rank the features cannot have.
    static const char *const bad[][3] = {
        {"sketch=coordinate", "k=3", "'sketch'"},
        {"reg=l1", "lambda1=0.1", "'reg'"},
        {"reg=box", "sketch_b=3", "'reg'"},
        {"synth_rank=40", "sketch_b=3", "synth_rank"},
    };
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        const char *sketch = strcmp(bad[j][0], "sketch=coordinate") ? "sketch=gaussian" : bad[j][0];
        int code = s_run(f, "method=sega-subspace", "synth_rank=5", sketch, bad[j][0], bad[j][1],
                         "rounds=10", NULL);
        char *out = pu_slurp(f->out);
        if (code != 2 || !strstr(out, bad[j][2]))
            fail_msg("%s %s: exit %d, expected 2 naming %s: %s", bad[j][0], bad[j][1], code,
                     bad[j][2], out);
        free(out);
    }
    assert_near(s_q(f, "SELECT count(*) FROM runs"), 1, 0);
}

static void
test_sega_importance_sketches_vary_in_size(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "method=sega", "sketch=importance", "k=5", "loss=quadratic",
                           "lambda=0.1", "n=2", "rounds=300", NULL),
                     0);
    // Every actor computed the same p_j ~ L_jj from the data (the run would stop on a
    // mismatched sketch otherwise); the resolved config says so.
    char *config = pu_query_text(f->db, "SELECT config FROM runs WHERE id = 1");
    assert_non_null(strstr(config, "sketch = importance"));
    assert_non_null(strstr(config, "importance coordinates p_j ~ L_jj"));
    free(config);
    assert_near(s_q(f, "SELECT count(*) FROM rounds WHERE run_id = 1"), 301, 0);
    // The sketch size varies from round to round (expected 5 of d = 40, 0 possible); each
    // coordinate costs 32 bits (an empty update 0), its index 6 more.
    assert_true(s_q(f, "SELECT count(DISTINCT nnz_up) FROM round_workers") >= 3);
    assert_near(s_q(f, "SELECT count(*) FROM round_workers WHERE bits_paper_up != 32 * nnz_up OR "
                       "bits_model_up != 38 * nnz_up"),
                0, 0);
    // The gap falls, slowly: with L^{-1} >= I/L the theorem's gamma is limited by min_j p_j
    // (0.048 here, against 5/40 uniform), 1.9e-4 against uniform SEGA's 1.4e-3; 0.159 -> 0.142.
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE round = 300") <
                0.95 * s_q(f, "SELECT gap FROM rounds WHERE round = 0"));
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE round = 300") <
                s_q(f, "SELECT gap FROM rounds WHERE round = 150"));
    // Subspace SEGA has no importance coordinates: refused before any process starts.
    int code = s_run(f, "method=sega-subspace", "synth_rank=5", "sketch=importance", "k=3",
                     "rounds=10", NULL);
    char *out = pu_slurp(f->out);
    if (code != 2 || !strstr(out, "'sketch'"))
        fail_msg("sega-subspace sketch=importance: exit %d, expected 2 naming 'sketch': %s", code,
                 out);
    free(out);
    assert_near(s_q(f, "SELECT count(*) FROM runs"), 1, 0);
}

static void
test_prox_runs_record_the_gap_and_reuse_f_star(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "method=gd", "loss=logreg", "lambda=0.01", "reg=ball", "radius=0.2",
                           "rounds=400", NULL),
                     0);
    assert_int_equal(s_run(f, "method=diana", "compressor=ternary", "loss=logreg", "lambda=0.01",
                           "reg=ball", "radius=0.2", "rounds=400", NULL),
                     0);
    double fstar1 = s_q(f, "SELECT f_star FROM runs WHERE id = 1");
    double fstar2 = s_q(f, "SELECT f_star FROM runs WHERE id = 2");
    assert_true(isfinite(fstar1));
    assert_true(fstar1 == fstar2);  // the second run took F* from the first (same problem key)
    // F = f + R is finite: every iterate stayed in the ball (R would be +inf outside).
    assert_near(s_q(f, "SELECT count(*) FROM rounds WHERE f IS NULL OR gap IS NULL OR gap < "
                       "-1e-9"),
                0, 0);
    // Projected GD gets close to F*.
    assert_true(s_q(f, "SELECT gap FROM rounds WHERE run_id = 1 AND round = 400") < 1e-4);
    // MARINA has no prox theory: refused, naming the key.
    assert_int_equal(s_run(f, "method=marina", "reg=l1", "lambda1=0.1", NULL), 2);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "reg = 'l1'"));
    free(out);
}

static void
test_sweep_and_report_make_a_table(void **state)
{
    fixture_t *f = *state;
    char sweep[128], dbarg[160];
    snprintf(sweep, sizeof sweep, "%s/sweep.ini", f->dir);
    FILE *s = fopen(sweep, "w");
    fprintf(s, "rounds = 3000\nstop_at = 1e-2\nprogress_s = 0\n\n[fast]\nmethod = gd\n\n"
               "[slow]\nmethod = marina\nk = 2\n");
    fclose(s);
    snprintf(dbarg, sizeof dbarg, "db=%s", f->db);
    char *sweep_argv[] = {MARINA_BIN, "sweep", sweep, dbarg, NULL};
    assert_int_equal(pu_run(sweep_argv, f->out, 120), 0);
    char *names = pu_query_text(f->db, "SELECT group_concat(name) FROM runs");
    assert_string_equal(names, "fast,slow");
    free(names);
    // stop_at ended each run at the first round at or below 1e-2 of the start.
    assert_true(s_q(f, "SELECT max(round) FROM rounds WHERE run_id = 1") < 3000);
    assert_near(s_q(f, "SELECT count(*) FROM rounds r WHERE run_id = 1 AND grad_norm_sq <= 1e-2 *"
                       " (SELECT grad_norm_sq FROM rounds WHERE run_id = 1 AND round = 0)"),
                1, 0);
    char report[128];
    snprintf(report, sizeof report, "%s/report.md", f->dir);
    char *report_argv[] = {MARINA_BIN, "report", "--db", f->db, "--eps", "1e-2", NULL};
    assert_int_equal(pu_run(report_argv, report, 30), 0);
    char *table = pu_slurp(report);
    assert_non_null(strstr(table, "| 1 | fast | gd |"));
    assert_non_null(strstr(table, "| 2 | slow | marina |"));
    free(table);
    // A bad key in a later section stops the sweep before the first run starts.
    s = fopen(sweep, "w");
    fprintf(s, "[ok]\nrounds = 10\n[bad]\nrounds = 10\ncompresor = randk\n");
    fclose(s);
    assert_int_equal(pu_run(sweep_argv, f->out, 60), 2);
    char *out = pu_slurp(f->out);
    assert_non_null(strstr(out, "unknown key 'compresor'"));
    free(out);
    assert_near(s_q(f, "SELECT count(*) FROM runs"), 2, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_method_runs_end_to_end, pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_pp_marina_sends_only_from_the_drawn_workers, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_compressors_cost_what_the_protocol_says, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_sega_gaussian_sketches_travel_as_coefficients,
                                        pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(
            test_sega_subspace_runs_on_low_rank_data_and_refuses_bad_combos, pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_sega_importance_sketches_vary_in_size, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_prox_runs_record_the_gap_and_reuse_f_star, pu_setup,
                                        pu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_and_report_make_a_table, pu_setup, pu_teardown),
        cmocka_unit_test_setup_teardown(test_synth_cond_scales_every_actor_s_data_and_its_f_star,
                                        pu_setup, pu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
