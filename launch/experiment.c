//  experiment.c - see experiment.h.
#include "experiment.h"

#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "comp.h"
#include "data_transform.h"
#include "db.h"
#include "digest.h"
#include "libsvm.h"
#include "prox.h"
#include "sampler.h"
#include "sha256.h"
#include "solve.h"
#include "theory.h"

#define FSTAR_TOL      1e-22   // ||grad f||^2 at the computed minimiser
#define FSTAR_MAX_ITER 200000  // accelerated gradient steps before giving up
//  data_row_space(): a row within this fraction of its norm of the span so far is dependent.
#define RANGE_TOL 1e-10

static int
s_load_data(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    const char *dataset = cfg_str(c, "dataset");
    if (strcmp(dataset, "synthetic") == 0) {
        // The generators always add the bias column, as the last feature.
        int64_t rank = cfg_int(c, "synth_rank"), d = cfg_int(c, "synth_d");
        if (rank > d - 1)
            return mr_err_set(err, MR_ECONFIG,
                              "synth_rank = %lld: the features (synth_d - 1 = %lld) span at most "
                              "%lld dimensions",
                              (long long) rank, (long long) (d - 1), (long long) (d - 1));
        int rc;
        if (rank > 0)
            rc = data_synthetic_lowrank((size_t) cfg_int(c, "synth_rows"), (size_t) d,
                                        (size_t) rank, (size_t) cfg_int(c, "n"),
                                        (uint64_t) cfg_int(c, "seed"), &e->data, err);
        else
            rc = data_synthetic((size_t) cfg_int(c, "synth_rows"), (size_t) cfg_int(c, "synth_d"),
                                cfg_real(c, "synth_density"), (size_t) cfg_int(c, "n"),
                                (uint64_t) cfg_int(c, "seed"), &e->data, err);
        if (rc == MR_OK)
            rc = data_scale_columns(&e->data, cfg_real(c, "synth_cond"), err);
        return rc;
    }
    // "${MARINA_DATA_DIR}" stands for that variable or the build's default (libsvm_data_dir()),
    // so experiment files name the data without naming a machine. The run records the file
    // actually read (absolute) and its SHA-256; the f* cache is keyed on the latter.
    char path[PATH_MAX];
    int rc = libsvm_resolve_path(dataset, path, sizeof path, err);
    if (rc == MR_OK)
        rc = sha256_file(path, e->dataset_sha256, NULL);
    if (rc != MR_OK)  // an unreadable file: let the reader say why, with the path it tried
        return libsvm_read(path, cfg_bool(c, "bias"), 0, &e->data, err);
    e->dataset_path = strdup(path);
    if (!e->dataset_path)
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    dataset = path;
    return libsvm_read(dataset, cfg_bool(c, "bias"), 0, &e->data, err);
}

void
experiment_fini(experiment_t *e)
{
    for (size_t i = 0; e->shards && i < e->mp.n; i++)
        csr_fini(&e->shards[i]);
    free(e->shards);
    free(e->losses);
    csr_fini(&e->data);
    free(e->range_q);
    free(e->coord_p);
    free(e->coord_L);
    free(e->resolved);
    free(e->join_config);
    free(e->shard_fp);
    free(e->problem);
    free(e->dataset_path);
    memset(e, 0, sizeof *e);
}

void
experiment_keep_shard(experiment_t *e, size_t keep)
{
    for (size_t i = 0; e->shards && i < e->mp.n; i++)
        if (i != keep) {
            csr_fini(&e->shards[i]);
            memset(&e->losses[i], 0, sizeof e->losses[i]);
        }
    csr_fini(&e->data);
#ifdef __GLIBC__
    malloc_trim(0);  // the freed rows go back to the system, not only to malloc's free lists
#endif
}

//  The method's name list, for an error message.
static void
s_method_list(char *out, size_t size)
{
    out[0] = '\0';
    for (const char *const *m = method_names(); *m; m++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? ", " : "", *m);
}

//  Splits the data among the workers and computes the constants the theory needs.
static int
s_split(experiment_t *e, const cfg_t *c, method_consts_t *pc, mr_err_t *err)
{
    size_t n = e->mp.n;
    loss_kind_t kind;
    int rc = loss_kind_parse(cfg_str(c, "loss"), &kind, err);
    if (rc != MR_OK)
        return rc;
    e->loss_kind = kind;
    e->shards = calloc(n, sizeof(csr_t));
    e->losses = calloc(n, sizeof(loss_t));
    if (!e->shards || !e->losses)
        return mr_err_set(err, MR_ENOMEM, "out of memory for %zu workers", n);
    double sum_L2 = 0, sum_Lc2 = 0, L_max = 0;
    size_t g = e->honest;
    int full = strcmp(cfg_str(c, "split"), "full") == 0;
    for (size_t i = g; i < n && rc == MR_OK; i++) {
        //  Attackers hold the whole data set (the paper's omniscient Byzantines); label flipping
        //  computes its honest-looking updates on flipped labels.
        rc = e->attack.kind == ATTACK_LF ? csr_flip_labels(&e->data, &e->shards[i], err)
                                         : csr_slice(&e->data, 0, e->data.rows, &e->shards[i]);
        if (rc == MR_OK)
            rc = loss_init(&e->losses[i], kind, cfg_real(c, "lambda"), &e->shards[i], err);
    }
    for (size_t i = 0; i < g && rc == MR_OK; i++) {
        rc = full ? csr_slice(&e->data, 0, e->data.rows, &e->shards[i])
                  : csr_split_part(&e->data, g, i, &e->shards[i], err);
        if (rc == MR_OK)
            rc = loss_init(&e->losses[i], kind, cfg_real(c, "lambda"), &e->shards[i], err);
        if (rc != MR_OK)
            break;
        double Li = loss_smoothness(&e->losses[i]), Lc = Li;
        if (e->mp.sampling == SAMPLING_IMPORTANCE) {
            // Importance sampling: script L_i = mean_j L_ij (Byz-VR-MARINA, Example 2.2).
            double s = 0;
            for (size_t j = 0; j < e->shards[i].rows; j++)
                s += loss_sample_smoothness(&e->losses[i], j);
            Lc = s / (double) e->shards[i].rows;
        }
        sum_L2 += Li * Li;
        L_max = fmax(L_max, Li);
        sum_Lc2 += Lc * Lc;
    }
    if (rc != MR_OK)
        return rc;
    e->L = sqrt(sum_L2 / (double) g);
    pc->n = g;  // the theory's n is the honest workers' count (G in the Byzantine paper)
    pc->dim = e->mp.dim;
    pc->m = e->shards[0].rows;
    pc->L = e->L;
    pc->L_max = L_max;
    e->L_max = L_max;
    pc->L_avg = sqrt(sum_Lc2 / (double) g);
    pc->mu = loss_kind_is_convex(kind) ? cfg_real(c, "lambda") : 0.0;
    e->mp.m = pc->m;
    return MR_OK;
}

//  f* of a convex problem: from an earlier run of the same problem in the database, or by a
//  long deterministic accelerated gradient run (then stored with this run, so cached).
static int
s_fstar(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    e->f_star = NAN;
    char key[1024];
    const char *dataset = cfg_str(c, "dataset");
    if (strcmp(dataset, "synthetic") == 0 && cfg_int(c, "synth_rank") > 0)
        snprintf(key, sizeof key, "synthetic rows=%lld d=%lld rank=%lld seed=%lld",
                 (long long) cfg_int(c, "synth_rows"), (long long) cfg_int(c, "synth_d"),
                 (long long) cfg_int(c, "synth_rank"), (long long) cfg_int(c, "seed"));
    else if (strcmp(dataset, "synthetic") == 0)
        snprintf(key, sizeof key, "synthetic rows=%lld d=%lld density=%.17g seed=%lld",
                 (long long) cfg_int(c, "synth_rows"), (long long) cfg_int(c, "synth_d"),
                 cfg_real(c, "synth_density"), (long long) cfg_int(c, "seed"));
    else  // the file's content, not its name: two files of one name never share an f*
        snprintf(key, sizeof key, "sha256:%s bias=%d", e->dataset_sha256, cfg_bool(c, "bias"));
    size_t used = strlen(key);
    if (strcmp(dataset, "synthetic") == 0 && cfg_real(c, "synth_cond") != 1.0)
        used += (size_t) snprintf(key + used, sizeof key - used, " cond=%.17g",
                                  cfg_real(c, "synth_cond"));
    const prox_cfg_t *reg = &e->mp.reg;
    snprintf(key + used, sizeof key - used,
             " loss=%s lambda=%.17g n=%zu reg=%s lambda1=%.17g lambda2=%.17g radius=%.17g "
             "lo=%.17g hi=%.17g",
             loss_kind_name(e->loss_kind), cfg_real(c, "lambda"), e->honest,
             prox_kind_name(reg->kind), reg->lambda1, reg->lambda2, reg->radius, reg->lo, reg->hi);
    used = strlen(key);
    //  The Byzantine paper's data preparation changes the honest objective.
    if (strcmp(cfg_str(c, "normalize"), "none") != 0 || strcmp(cfg_str(c, "split"), "contiguous"))
        snprintf(key + used, sizeof key - used, " normalize=%s split=%s%s%lld",
                 cfg_str(c, "normalize"), cfg_str(c, "split"),
                 strcmp(cfg_str(c, "split"), "shuffle") == 0 ? " shuffle_seed=" : "",
                 strcmp(cfg_str(c, "split"), "shuffle") == 0 ? (long long) cfg_int(c, "seed")
                                                             : 0LL);
    e->problem = strdup(key);
    if (!e->problem)
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    const char *how = cfg_str(c, "fstar");
    if (strcmp(how, "off") == 0 || !loss_kind_is_convex(e->loss_kind))
        return MR_OK;
    if (strcmp(how, "auto") != 0) {
        char *end;
        e->f_star = strtod(how, &end);
        if (end == how || *end || !isfinite(e->f_star))
            return mr_err_set(err, MR_ECONFIG, "fstar = '%s' is not auto, off or a number", how);
        return MR_OK;
    }
    int rc = db_find_fstar(cfg_str(c, "db"), e->problem, &e->f_star, err);
    if (rc != MR_OK || !isnan(e->f_star))
        return rc;
    vec_t x0, xs;
    if (vec_init(&x0, e->mp.dim) != MR_OK || vec_init(&xs, e->mp.dim) != MR_OK) {
        vec_fini(&x0);
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    }
    rc = solve_minimize_prox(e->losses, e->honest, &e->mp.reg, &x0, FSTAR_TOL, FSTAR_MAX_ITER, &xs,
                             &e->f_star, err);
    vec_fini(&x0);
    vec_fini(&xs);
    if (rc == MR_ETIMEOUT) {
        // Not converged to the tolerance: the value is still an upper bound; keep it, say so.
        fprintf(stderr, "marina: warning: f* is approximate: %s\n", err ? err->text : "");
        rc = MR_OK;
    }
    return rc;
}

//  Range(A^T) for a method that needs it: an orthonormal basis of the span of the rows the
//  workers hold (the union of the shards, rows [0, n m)), the same bits in every actor process.
static int
s_range(experiment_t *e, mr_err_t *err)
{
    csr_t used;
    if (csr_slice(&e->data, 0, e->honest * e->mp.m, &used) != MR_OK)
        return mr_err_set(err, MR_ENOMEM, "out of memory for the row space");
    int rc = data_row_space(&used, RANGE_TOL, &e->range_q, &e->range_rank, err);
    csr_fini(&used);
    if (rc != MR_OK)
        return rc;
    if (e->range_rank == 0)
        return mr_err_set(err, MR_ECONFIG, "method '%s': the data's rows are all zero",
                          e->method->name);
    e->mp.range_q = e->range_q;
    e->mp.range_rank = e->range_rank;
    return MR_OK;
}

//  Importance coordinates for a method that samples them (sega, sega-biased, cd):
//  p_j ~ L_jj = max_i (max|l''| 1/m sum_{t in shard i} a_tj^2 + lambda), the largest diagonal
//  smoothness of any worker's f_i (loss_coord_smoothness()), with sum_j p_j = k, capped at 1
//  (method_importance_p()). Every actor process loads the whole set and computes the same bits,
//  so worker and server draw the same S. A k outside 1..d is left to resolve() to name.
//  Accelerated methods (acd, asega: accel_coords) also get L_jj itself (mp.coord_L, for their
//  ESO) and take p_j ~ sqrt(L_jj) (Allen-Zhu et al. 2016), computed here whatever the sketch.
static int
s_coord_p(experiment_t *e, mr_err_t *err)
{
    size_t d = e->mp.dim, k = e->mp.comp.k;
    int accel = e->method->accel_coords;
    if (!accel && (k < 1 || k > d))
        return MR_OK;
    double *w = calloc(d, sizeof *w), *wi = calloc(d, sizeof *wi);
    int rc = MR_OK;
    if (!w || !wi) {
        rc = mr_err_set(err, MR_ENOMEM, "out of memory for the coordinate probabilities");
        goto out;
    }
    for (size_t i = 0; i < e->honest; i++) {
        loss_coord_smoothness(&e->losses[i], wi);
        for (size_t j = 0; j < d; j++)
            w[j] = fmax(w[j], wi[j]);
    }
    if (accel) {
        e->coord_L = malloc(d * sizeof *e->coord_L);
        if (!e->coord_L) {
            rc = mr_err_set(err, MR_ENOMEM, "out of memory for the coordinate smoothness");
            goto out;
        }
        memcpy(e->coord_L, w, d * sizeof *w);
        e->mp.coord_L = e->coord_L;
        for (size_t j = 0; j < d; j++)
            w[j] = sqrt(w[j]);
        if ((e->mp.sketch != 1 && e->mp.sketch != 3) || k < 1 || k > d)
            goto out;  // p_j only for importance and single; a k outside 1..d: resolve()
    }
    e->coord_p = calloc(d, sizeof *e->coord_p);
    if (!e->coord_p) {
        rc = mr_err_set(err, MR_ENOMEM, "out of memory for the coordinate probabilities");
        goto out;
    }
    if (method_importance_p(w, d, k, e->coord_p) != MR_OK) {
        rc = mr_err_set(err, MR_ECONFIG, "sketch = importance: bad diagonal smoothness");
        goto out;
    }
    e->mp.coord_p = e->coord_p;
out:
    free(w);
    free(wi);
    return rc;
}

//  R of F = f + R, and the sketch of SEGA; refused for a method without prox theory.
static int
s_regulariser(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    prox_cfg_t *reg = &e->mp.reg;
    int rc = prox_kind_parse(cfg_str(c, "reg"), &reg->kind, err);
    if (rc != MR_OK)
        return rc;
    reg->lambda1 = cfg_real(c, "lambda1");
    reg->lambda2 = cfg_real(c, "lambda2");
    reg->radius = cfg_real(c, "radius");
    reg->lo = cfg_real(c, "lo");
    reg->hi = cfg_real(c, "hi");
    rc = prox_check(reg, err);
    if (rc != MR_OK)
        return rc;
    if (reg->kind != PROX_NONE && !e->method->allows_prox)
        return mr_err_set(err, MR_ECONFIG,
                          "reg = '%s': method '%s' has no proximal theory (use gd, dcgd, diana, "
                          "vr-diana, sega, sega-biased, sega-subspace or cd)",
                          cfg_str(c, "reg"), e->method->name);
    const char *sketch = cfg_str(c, "sketch");
    if (strcmp(sketch, "coordinate") == 0)
        e->mp.sketch = 0;  // METHOD_SKETCH_COORDINATE (optim/method_impl.h)
    else if (strcmp(sketch, "importance") == 0)
        e->mp.sketch = 1;  // METHOD_SKETCH_IMPORTANCE
    else if (strcmp(sketch, "gaussian") == 0)
        e->mp.sketch = 2;  // METHOD_SKETCH_GAUSSIAN
    else if (strcmp(sketch, "single") == 0 && e->method->accel_coords)
        e->mp.sketch = 3;  // METHOD_SKETCH_SINGLE
    else if (strcmp(sketch, "single") == 0)
        return mr_err_set(err, MR_ECONFIG,
                          "sketch = single: only acd and asega draw one coordinate from p_j; "
                          "method '%s' takes coordinate, importance or gaussian",
                          e->method->name);
    else
        return mr_err_set(err, MR_ECONFIG,
                          "sketch = '%s' is unknown (coordinate, importance, gaussian, single)",
                          sketch);
    int64_t b = cfg_int(c, "sketch_b");
    if (b < 1)
        return mr_err_set(err, MR_ECONFIG, "sketch_b = %lld: a sketch needs b >= 1 directions",
                          (long long) b);
    e->mp.sketch_b = (size_t) b;
    if (!(cfg_real(c, "lambda") >= 0))
        return mr_err_set(err, MR_ECONFIG, "lambda = %g must be >= 0", cfg_real(c, "lambda"));
    return MR_OK;
}

//  n, byzantine and attack: the honest count G, and the attack with its resolved strength. With
//  attack = none the B attackers do not exist: the run has n - B honest workers.
static int
s_byzantine(experiment_t *e, const cfg_t *c, size_t *n, mr_err_t *err)
{
    size_t b = (size_t) cfg_int(c, "byzantine");
    int rc = attack_kind_parse(cfg_str(c, "attack"), &e->attack.kind, err);
    if (rc != MR_OK)
        return rc;
    if (b >= *n)
        return mr_err_set(err, MR_ECONFIG,
                          "byzantine = %zu: at least one of the n = %zu workers must be honest", b,
                          *n);
    if (e->attack.kind != ATTACK_NONE && b == 0)
        return mr_err_set(err, MR_ECONFIG, "attack = %s needs byzantine >= 1 attackers",
                          cfg_str(c, "attack"));
    if (e->attack.kind == ATTACK_NONE) {
        *n -= b;  // no attack: the attackers do not exist
        b = 0;
    }
    if (b > 0 && !e->method->server_agg_dist_sq)
        return mr_err_set(err, MR_ECONFIG,
                          "byzantine = %zu: method '%s' has no aggregator to face attackers", b,
                          e->method->name);
    e->honest = *n - b;
    e->mp.byzantine = b;
    double z = cfg_real(c, "attack_z");
    e->attack.z = isnan(z) ? attack_alie_z(*n, b) : z;
    e->attack.eps = cfg_real(c, "attack_eps");
    e->max_invalid = (double) cfg_int(c, "max_invalid");
    return MR_OK;
}

//  normalize and split: rows scaled to unit l2 norm, then shuffled by the run's seed.
static int
s_prepare_data(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    const char *norm = cfg_str(c, "normalize"), *split = cfg_str(c, "split");
    if (strcmp(norm, "none") != 0 && strcmp(norm, "l2") != 0)
        return mr_err_set(err, MR_ECONFIG, "normalize = '%s' is unknown (none, l2)", norm);
    if (strcmp(split, "contiguous") != 0 && strcmp(split, "shuffle") != 0 &&
        strcmp(split, "full") != 0)
        return mr_err_set(err, MR_ECONFIG, "split = '%s' is unknown (contiguous, shuffle, full)",
                          split);
    csr_t next;
    if (strcmp(norm, "l2") == 0) {
        int rc = csr_normalize_rows(&e->data, &next, err);
        if (rc != MR_OK)
            return rc;
        csr_fini(&e->data);
        e->data = next;
    }
    if (strcmp(split, "shuffle") == 0) {
        rng_t rng;
        rng_seed(&rng, e->mp.seed, RNG_STREAM_SHUFFLE);
        int rc = csr_shuffle_rows(&e->data, &rng, &next, err);
        if (rc != MR_OK)
            return rc;
        csr_fini(&e->data);
        e->data = next;
    }
    return MR_OK;
}

//  fault_send: "none", or comma-separated loss=P, dup=P, delay_ms=T, jitter_ms=T.
static int
s_fault(experiment_t *e, const char *spec, mr_err_t *err)
{
    e->fault = (worker_fault_t){0};
    e->fault_on = strcmp(spec, "none") != 0;
    if (!e->fault_on)
        return MR_OK;
    char buf[256];
    if (strlen(spec) >= sizeof buf)
        return mr_err_set(err, MR_ECONFIG, "fault_send: too long");
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        char *end = NULL;
        double v = eq ? strtod(eq + 1, &end) : NAN;
        if (!eq || end == eq + 1 || *end != '\0' || !(v >= 0))
            return mr_err_set(err, MR_ECONFIG,
                              "fault_send: '%s' is not NAME=VALUE with a number >= 0 (loss, dup, "
                              "delay_ms, jitter_ms)",
                              item);
        *eq = '\0';
        if (strcmp(item, "loss") == 0 && v < 1)
            e->fault.loss = v;
        else if (strcmp(item, "dup") == 0 && v < 1)
            e->fault.dup = v;
        else if (strcmp(item, "delay_ms") == 0)
            e->fault.delay_s = v / 1000.0;
        else if (strcmp(item, "jitter_ms") == 0)
            e->fault.jitter_s = v / 1000.0;
        else
            return mr_err_set(err, MR_ECONFIG,
                              "fault_send: '%s' is unknown or out of range (loss and dup in [0, "
                              "1), delay_ms, jitter_ms >= 0)",
                              item);
    }
    return MR_OK;
}

//  checkpoint_every = auto: a checkpoint after the first round that ends this long after the last.
#define CHECKPOINT_AUTO_S 60.0

//  A key of the form auto | N (a whole number >= 1) into *out; auto gives auto_value.
static int
s_every(const cfg_t *c, const char *key, uint64_t auto_value, uint64_t *out, mr_err_t *err)
{
    const char *every = cfg_str(c, key);
    if (strcmp(every, "auto") == 0) {
        *out = auto_value;
        return MR_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(every, &end, 10);
    if (every[0] < '1' || every[0] > '9' || *end != '\0' || errno != 0)
        return mr_err_set(err, MR_ECONFIG, "%s = '%s' is neither auto nor a whole number >= 1", key,
                          every);
    *out = (uint64_t) v;
    return MR_OK;
}

//  metrics_every (auto: every round up to d = 100000, then every d / 100000: a METRICS is 8 d
//  bytes per worker), worker_rows_every (auto: every round up to n = 100, then every
//  ceil(n / 100): about 100 round_workers rows a round at most), checkpoint_every and downlink.
static int
s_round_io(experiment_t *e, const cfg_t *c, size_t d, mr_err_t *err)
{
    size_t n = (size_t) cfg_int(c, "n");
    int rc = s_every(c, "metrics_every", d <= 100000 ? 1 : (uint64_t) (d / 100000),
                     &e->metrics_every, err);
    if (rc == MR_OK)
        rc = s_every(c, "worker_rows_every", n <= 100 ? 1 : (uint64_t) ((n + 99) / 100),
                     &e->worker_rows_every, err);
    if (rc != MR_OK)
        return rc;
    const char *ck = cfg_str(c, "checkpoint_every");
    e->checkpoint_every = 0;
    e->checkpoint_auto_s = strcmp(ck, "auto") == 0 ? CHECKPOINT_AUTO_S : 0;
    if (strcmp(ck, "auto") != 0 && strcmp(ck, "off") != 0) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(ck, &end, 10);
        if (ck[0] < '1' || ck[0] > '9' || *end != '\0' || errno != 0)
            return mr_err_set(
                err, MR_ECONFIG,
                "checkpoint_every = '%s' is neither auto, off nor a whole number >= 1", ck);
        e->checkpoint_every = (uint64_t) v;
    }
    rc = s_fault(e, cfg_str(c, "fault_send"), err);
    if (rc != MR_OK)
        return rc;
    const char *down = cfg_str(c, "downlink");
    if (strcmp(down, "auto") != 0 && strcmp(down, "dense") != 0)
        return mr_err_set(err, MR_ECONFIG, "downlink = '%s' is unknown (auto, dense)", down);
    e->downlink_dense = strcmp(down, "dense") == 0;
    return MR_OK;
}

//  aggregator, bucket and their parameters; momentum, epoch_full and estimator.
static int
s_aggregator(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    agg_cfg_t *a = &e->mp.agg;
    agg_cfg_default(a);
    if (agg_rule_parse(cfg_str(c, "aggregator"), &a->rule) != MR_OK)
        return mr_err_set(err, MR_ECONFIG,
                          "aggregator = '%s' is unknown (mean, cm, tm, rfa, krum, cc)",
                          cfg_str(c, "aggregator"));
    a->bucket = (size_t) cfg_int(c, "bucket");
    a->byzantine = e->mp.byzantine;
    a->rfa_nu = cfg_real(c, "rfa_nu");
    a->rfa_iters = (size_t) cfg_int(c, "rfa_iters");
    a->cc_tau = cfg_real(c, "cc_tau");
    a->cc_iters = (size_t) cfg_int(c, "cc_iters");
    e->mp.momentum = cfg_real(c, "momentum");
    e->mp.epoch_full = cfg_bool(c, "epoch_full");
    const char *est = cfg_str(c, "estimator");
    if (strcmp(est, "local") == 0)
        e->mp.local_estimator = 1;
    else if (strcmp(est, "global") != 0)
        return mr_err_set(err, MR_ECONFIG, "estimator = '%s' is unknown (global, local)", est);
    if (e->mp.local_estimator && !e->method->local_estimator)
        return mr_err_set(err, MR_ECONFIG,
                          "estimator = local: method '%s' has no estimator g^k + Q_i (marina, "
                          "vr-marina, vr-marina-online, byz-vr-marina)",
                          e->method->name);
    const char *loss = cfg_str(c, "on_worker_loss");
    if (strcmp(loss, "continue") == 0)
        e->mp.allow_absent = 1;
    else if (strcmp(loss, "fail") != 0)
        return mr_err_set(err, MR_ECONFIG, "on_worker_loss = '%s' is unknown (fail, continue)",
                          loss);
    if (e->mp.allow_absent && !e->method->server_agg_dist_sq)
        return mr_err_set(err, MR_ECONFIG,
                          "on_worker_loss = continue: method '%s' cannot average over the workers "
                          "that answered (methods with an aggregator: gd, dcgd, diana, sgd, "
                          "br-sgdm, marina, vr-marina, byz-vr-marina)",
                          e->method->name);
    int robust = method_robust_wanted(&e->mp);
    if (robust && !e->method->server_agg_dist_sq)
        return mr_err_set(err, MR_ECONFIG, "aggregator = '%s': method '%s' has no aggregator",
                          cfg_str(c, "aggregator"), e->method->name);
    return robust ? agg_check(a, e->mp.n, err) : MR_OK;
}

//  The last round: 'rounds', or 'epochs' passes over a worker's shard of m samples at the
//  method's per-round minibatch (rounds = ceil(epochs * ceil(m / b))).
static void
s_rounds(experiment_t *e, const cfg_t *c)
{
    e->rounds = (uint64_t) cfg_int(c, "rounds");
    double epochs = cfg_real(c, "epochs");
    if (!(epochs > 0))
        return;
    size_t b = e->mp.m;
    if (e->method->epoch_batch == METHOD_EPOCH_BATCH && e->mp.batch > 0)
        b = e->mp.batch;
    else if (e->method->epoch_batch == METHOD_EPOCH_BATCH_PRIME && e->mp.batch_prime > 0)
        b = e->mp.batch_prime;
    double per_epoch = b > 0 ? ceil((double) e->mp.m / (double) b) : 1.0;
    e->rounds = (uint64_t) ceil(epochs * per_epoch);
}

int
experiment_init(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    memset(e, 0, sizeof *e);
    e->f_star = NAN;
    e->method = method_find(cfg_str(c, "method"));
    if (!e->method) {
        char names[256];
        s_method_list(names, sizeof names);
        return mr_err_set(err, MR_ECONFIG, "method = '%s' is unknown (known: %s)",
                          cfg_str(c, "method"), names);
    }
    comp_cfg_t cc = {.k = (size_t) cfg_int(c, "k"),
                     .s = (size_t) cfg_int(c, "s"),
                     .t = (size_t) cfg_int(c, "t")};
    int rc = comp_kind_parse(cfg_str(c, "compressor"), &cc.kind, err);
    if (rc != MR_OK)
        return rc;
    if (comp_kind_is_biased(cc.kind) && !e->method->allows_biased)
        return mr_err_set(err, MR_ECONFIG,
                          "compressor = '%s' is biased; method '%s' needs an unbiased one",
                          cfg_str(c, "compressor"), e->method->name);
    if (!e->method->uses_compressor)
        cc.kind = COMP_IDENTITY;  // e.g. GD and SGD send exact vectors
    rc = sampler_kind_parse(cfg_str(c, "sampling"), &e->mp.sampling, err);
    if (rc != MR_OK)
        return rc;
    rc = s_regulariser(e, c, err);
    if (rc != MR_OK)
        return rc;
    e->mp.seed = (uint64_t) cfg_int(c, "seed");
    size_t n = (size_t) cfg_int(c, "n");
    rc = s_byzantine(e, c, &n, err);
    if (rc != MR_OK)
        return rc;
    rc = s_load_data(e, c, err);
    if (rc == MR_OK)
        rc = s_prepare_data(e, c, err);
    if (rc != MR_OK)
        goto fail;
    size_t d = e->data.cols;
    if (e->data.rows < e->honest) {
        rc = mr_err_set(err, MR_ECONFIG,
                        "%zu honest workers are more than the %zu samples of the data set",
                        e->honest, e->data.rows);
        goto fail;
    }
    e->mp.n = n;
    e->mp.dim = d;
    e->mp.comp = cc;
    comp_t comp;
    rc = comp_init(&comp, &cc, d, err);
    if (rc != MR_OK)
        goto fail;
    method_consts_t pc = {0};
    e->omega = pc.omega = comp_omega(&comp);
    e->zeta = pc.zeta = comp_zeta(&comp);
    comp_fini(&comp);
    rc = s_split(e, c, &pc, err);
    if (rc != MR_OK)
        goto fail;

    rc = s_aggregator(e, c, err);
    if (rc == MR_OK)
        rc = s_round_io(e, c, d, err);
    if (rc != MR_OK)
        goto fail;
    e->mp.gamma = cfg_real(c, "gamma");
    e->mp.gamma_ours = strcmp(cfg_str(c, "gamma"), "ours") == 0;
    if (e->mp.gamma_ours && !e->method->has_gamma_ours) {
        rc = mr_err_set(err, MR_ECONFIG,
                        "gamma = 'ours': method '%s' has no constants of ours (only diana; use "
                        "theory or a number)",
                        e->method->name);
        goto fail;
    }
    e->mp.p = cfg_real(c, "p");
    e->mp.alpha = cfg_real(c, "alpha");
    e->mp.batch = (size_t) cfg_int(c, "batch");
    e->mp.batch_prime = (size_t) cfg_int(c, "batch_prime");
    e->mp.r = (size_t) cfg_int(c, "r");
    if (e->method->needs_range) {
        rc = s_range(e, err);
        if (rc != MR_OK)
            goto fail;
    }
    if ((e->method->samples_coords && e->mp.sketch == 1) || e->method->accel_coords) {
        rc = s_coord_p(e, err);
        if (rc != MR_OK)
            goto fail;
    }
    rc = e->method->resolve(&e->mp, &pc, err);
    if (rc != MR_OK)
        goto fail;
    rc = s_fstar(e, c, err);
    if (rc != MR_OK)
        goto fail;
    s_rounds(e, c);
    // What a HELLO carries, so that the server refuses an actor started with other keys or data.
    e->join_config = cfg_join_text(c);
    e->shard_fp = calloc(n, sizeof *e->shard_fp);
    if (!e->join_config || !e->shard_fp) {
        rc = mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    e->join_digest = digest_str(e->join_config);
    for (size_t i = 0; i < n; i++)
        e->shard_fp[i] = csr_fingerprint(&e->shards[i]);

    // The resolved configuration: every key as given, then the numbers the run uses.
    char *ini = cfg_to_ini(c);
    size_t size = (ini ? strlen(ini) : 0) + 1024 + PATH_MAX;
    e->resolved = malloc(size);
    if (!ini || !e->resolved) {
        free(ini);
        rc = mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(e->resolved, size,
             "%s; resolved: gamma = %.17g, p = %.17g, alpha = %.17g, batch = %zu, "
             "batch_prime = %zu, r = %zu, rounds = %llu, honest = %zu, attack_z = %.17g\n"
             "; derived: d = %zu, samples = %zu, m = %zu per worker, L = %.17g, "
             "L_max = %.17g, L_avg = %.17g, omega = %.17g, zeta = %.17g, f_star = %.17g",
             ini, e->mp.gamma, e->mp.p, e->mp.alpha, e->mp.batch, e->mp.batch_prime, e->mp.r,
             (unsigned long long) e->rounds, e->honest, e->attack.z, d, e->data.rows, e->mp.m, e->L,
             e->L_max, pc.L_avg, e->omega, e->zeta, e->f_star);
    size_t used = strlen(e->resolved);
    if (e->method->accel_coords) {
        snprintf(e->resolved + used, size - used, ", tau = %.17g", e->mp.tau);
        used = strlen(e->resolved);
    }
    if (e->method->needs_range) {
        snprintf(e->resolved + used, size - used, ", range_rank = %zu\n", e->range_rank);
    } else if (e->mp.coord_p) {
        double pmin = 1.0, pmax = 0.0;
        for (size_t j = 0; j < d; j++) {
            pmin = fmin(pmin, e->coord_p[j]);
            pmax = fmax(pmax, e->coord_p[j]);
        }
        snprintf(e->resolved + used, size - used,
                 ", importance coordinates p_j ~ L_jj: min p_j = %.17g, max p_j = %.17g\n", pmin,
                 pmax);
    } else
        snprintf(e->resolved + used, size - used, "\n");
    used = strlen(e->resolved);
    if (e->dataset_path)
        snprintf(e->resolved + used, size - used, "; data: path = %s, sha256 = %s\n",
                 e->dataset_path, e->dataset_sha256);
    free(ini);
    return MR_OK;
fail:
    experiment_fini(e);
    return rc;
}

void
experiment_run_info(const experiment_t *e, const cfg_t *c, run_info_t *run)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    run->name = cfg_str(c, "name");
    run->version = MARINA_VERSION;
    run->config = e->resolved;
    run->seed = (uint64_t) cfg_int(c, "seed");
    run->method = e->method->name;
    run->compressor = comp_kind_name(e->mp.comp.kind);
    run->n = (uint32_t) e->mp.n;
    run->byzantine = (uint32_t) e->mp.byzantine;
    run->attack = attack_kind_name(e->attack.kind);
    run->aggregator = agg_rule_name(e->mp.agg.rule);
    run->bucket = (uint32_t) e->mp.agg.bucket;
    run->dim = (uint32_t) e->mp.dim;
    run->dataset = e->dataset_path ? e->dataset_path : cfg_str(c, "dataset");
    run->start_time = (double) tv.tv_sec + 1e-6 * (double) tv.tv_usec;
    run->f_star = e->f_star;
    run->problem = e->problem;
}
