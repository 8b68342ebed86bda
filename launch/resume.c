//  resume.c - see resume.h.
#include "resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

int
resume_prepare(const char *db,
               int64_t run_id,
               char *const *args,
               size_t nargs,
               cfg_t *cfg,
               resume_t *r,
               mr_err_t *err)
{
    memset(r, 0, sizeof *r);
    r->run_id = run_id;
    char *config = NULL, status[32] = "";
    int rc = db_run_config(db, run_id, &config, status, sizeof status, err);
    if (rc != MR_OK)
        return rc;
    if (strcmp(status, "failed") != 0 && strcmp(status, "aborted") != 0) {
        free(config);
        return mr_err_set(err, MR_EINVAL,
                          "run %lld in %s is %s: only a failed or aborted run is resumed",
                          (long long) run_id, db, status);
    }
    char name[64];
    snprintf(name, sizeof name, "run %lld's configuration", (long long) run_id);
    rc = cfg_load_text(cfg, config, name, err);
    free(config);
    if (rc != MR_OK)
        return rc;
    if (!cfg_str(cfg, "launch")[0])
        return mr_err_set(err, MR_EINVAL,
                          "run %lld was not started by marina run (no launch token): it cannot be "
                          "resumed",
                          (long long) run_id);
    for (size_t i = 0; i < nargs; i++) {
        char key[64];
        size_t len = strcspn(args[i], "=");
        snprintf(key, sizeof key, "%.*s", (int) (len < sizeof key ? len : sizeof key - 1), args[i]);
        if (!cfg_key_is_local(key) || strcmp(key, "launch") == 0 || strcmp(key, "rounds") == 0 ||
            strcmp(key, "dataset") == 0)
            return mr_err_set(err, MR_ECONFIG,
                              "'%s': a resumed run keeps its configuration; only keys that do not "
                              "change its results may be given (timeout_s, progress_s, "
                              "transport, threads, db, ...)",
                              args[i]);
        rc = cfg_apply_arg(cfg, args[i], "the command line", err);
        if (rc != MR_OK)
            return rc;
    }
    cfg_set(cfg, "db", db, "--resume", NULL);
    rc = db_checkpoint_get(db, run_id, &r->round, (void **) &r->state, &r->bytes, err);
    if (rc != MR_OK)
        return rc;
    db_t *h = db_open(db, err);
    if (!h)
        return err->rc;
    rc = db_run_reopen(h, run_id, err);
    db_close(&h);
    return rc;
}

void
resume_fini(resume_t *r)
{
    free(r->state);
    memset(r, 0, sizeof *r);
}

int
resume_write(const resume_t *r, const char *path, mr_err_t *err)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(r->state, 1, r->bytes, f) == r->bytes;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? MR_OK : mr_err_set(err, MR_EIO, "cannot write the checkpoint to %s", path);
}
