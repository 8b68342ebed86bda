//  experiment.c - see experiment.h.
#include "experiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "comp.h"
#include "libsvm.h"
#include "theory.h"

static int
s_load_data(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    const char *dataset = cfg_str(c, "dataset");
    if (strcmp(dataset, "synthetic") == 0) {
        // The generator always adds the bias column, as its last feature.
        return data_synthetic((size_t) cfg_int(c, "synth_rows"), (size_t) cfg_int(c, "synth_d"),
                              cfg_real(c, "synth_density"), (size_t) cfg_int(c, "n"),
                              (uint64_t) cfg_int(c, "seed"), &e->data, err);
    }
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
    free(e->resolved);
    memset(e, 0, sizeof *e);
}

int
experiment_init(experiment_t *e, const cfg_t *c, mr_err_t *err)
{
    memset(e, 0, sizeof *e);
    e->method = method_find(cfg_str(c, "method"));
    if (!e->method) {
        char names[256] = "";
        for (const char *const *m = method_names(); *m; m++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     names[0] ? ", " : "", *m);
        return mr_err_set(err, MR_ECONFIG, "method = '%s' is unknown (known: %s)",
                          cfg_str(c, "method"), names);
    }
    comp_kind_t kind;
    int rc = comp_kind_parse(cfg_str(c, "compressor"), &kind, err);
    if (rc != MR_OK)
        return rc;
    if (strcmp(cfg_str(c, "loss"), "nonconvex") != 0)
        return mr_err_set(err, MR_ECONFIG, "loss = '%s' is unknown (known: nonconvex)",
                          cfg_str(c, "loss"));
    size_t n = (size_t) cfg_int(c, "n");
    rc = s_load_data(e, c, err);
    if (rc != MR_OK)
        goto fail;
    size_t d = e->data.cols;
    if (e->data.rows < n) {
        rc = mr_err_set(err, MR_ECONFIG, "n = %zu is more than the %zu samples of the data set", n,
                        e->data.rows);
        goto fail;
    }
    e->mp.n = n;
    e->mp.dim = d;
    e->mp.compressor = kind;
    e->mp.k = (size_t) cfg_int(c, "k");
    comp_t comp;
    rc = comp_init(&comp, kind, d, e->mp.k, err);
    if (rc != MR_OK)
        goto fail;
    e->omega = comp_omega(&comp);
    e->zeta = comp_zeta(&comp);
    comp_fini(&comp);

    e->shards = calloc(n, sizeof(csr_t));
    e->losses = calloc(n, sizeof(loss_t));
    double *Li = calloc(n, sizeof(double));
    if (!e->shards || !e->losses || !Li) {
        free(Li);
        rc = mr_err_set(err, MR_ENOMEM, "out of memory for %zu workers", n);
        goto fail;
    }
    for (size_t i = 0; i < n && rc == MR_OK; i++) {
        rc = csr_split_part(&e->data, n, i, &e->shards[i], err);
        if (rc == MR_OK)
            rc = loss_init(&e->losses[i], LOSS_NONCONVEX, &e->shards[i], err);
        if (rc == MR_OK)
            Li[i] = loss_smoothness(&e->losses[i]);
    }
    if (rc == MR_OK)
        e->L = theory_mean_sq_L(Li, n);
    free(Li);
    if (rc != MR_OK)
        goto fail;

    double p = cfg_real(c, "p");
    e->mp.p = isnan(p) ? theory_marina_p(e->zeta, d) : p;
    if (e->mp.p > 1)
        e->mp.p = 1;  // identity: zeta = d
    double gamma = cfg_real(c, "gamma");
    e->mp.gamma = isnan(gamma) ? theory_marina_gamma(e->L, e->omega, e->mp.p, n) : gamma;
    if (!(e->mp.gamma > 0) || !isfinite(e->mp.gamma)) {
        rc = mr_err_set(err, MR_ECONFIG,
                        "gamma = %g: the stepsize must be positive and finite "
                        "(L = %g)",
                        e->mp.gamma, e->L);
        goto fail;
    }

    // The resolved configuration: every key, theory values replaced by the numbers used.
    cfg_t resolved;
    if (cfg_init(&resolved) != MR_OK) {
        rc = mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    size_t count;
    const cfg_key_t *keys = cfg_keys(&count);
    char num[64];
    for (size_t i = 0; i < count && rc == MR_OK; i++)
        rc = cfg_set(&resolved, keys[i].name, cfg_str(c, keys[i].name), "config", err);
    snprintf(num, sizeof num, "%.17g", e->mp.gamma);
    if (rc == MR_OK)
        rc = cfg_set(&resolved, "gamma", num, "theory", err);
    snprintf(num, sizeof num, "%.17g", e->mp.p);
    if (rc == MR_OK)
        rc = cfg_set(&resolved, "p", num, "theory", err);
    char *ini = rc == MR_OK ? cfg_to_ini(&resolved) : NULL;
    cfg_fini(&resolved);
    if (rc != MR_OK)
        goto fail;
    size_t size = (ini ? strlen(ini) : 0) + 512;
    e->resolved = malloc(size);
    if (!ini || !e->resolved) {
        free(ini);
        rc = mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(e->resolved, size,
             "%s; derived: d = %zu, samples = %zu, m = %zu per worker, L = %.17g, omega = %.17g, "
             "zeta = %.17g, gamma_from = %s, p_from = %s\n",
             ini, d, e->data.rows, e->shards[0].rows, e->L, e->omega, e->zeta,
             isnan(gamma) ? "theory" : "config", isnan(p) ? "theory" : "config");
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
    run->compressor = cfg_str(c, "compressor");
    run->n = (uint32_t) e->mp.n;
    run->dim = (uint32_t) e->mp.dim;
    run->dataset = cfg_str(c, "dataset");
    run->start_time = (double) tv.tv_sec + 1e-6 * (double) tv.tv_usec;
}
