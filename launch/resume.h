//  resume.h - `marina run --resume RUN`: a failed or aborted run continues from its latest
//  checkpoint (docs/cli.md, "Resuming a run"). resume_prepare() reads the run's stored
//  configuration into a fresh cfg (the same launch token, so the recorder continues the same runs
//  row and skips the rounds already recorded), lets only local keys (timeout_s, progress_s,
//  transport, ...) be changed by the command line, reads the checkpoint, and sets the run back to
//  'running'. The actors then start from the checkpoint's round + 1.
#ifndef RESUME_H
#define RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "mr_err.h"

typedef struct {
    int64_t run_id;  // the run continued
    uint64_t round;  // the checkpoint's last round
    uint8_t *state;  // the checkpoint (checkpoint.h), owned
    size_t bytes;
} resume_t;

//  Fills cfg (initialised, empty) from run run_id of the database db, then applies args[0..nargs)
//  ("key=value", local keys only), reads the checkpoint into r and reopens the run. MR_OK, or an
//  error naming the problem (no such run, a completed or running one, no checkpoint, a key that
//  would change the results).
int resume_prepare(const char *db,
                   int64_t run_id,
                   char *const *args,
                   size_t nargs,
                   cfg_t *cfg,
                   resume_t *r,
                   mr_err_t *err);
void resume_fini(resume_t *r);

//  Writes the checkpoint to path (for the actors' --resume FILE). MR_OK or MR_EIO.
int resume_write(const resume_t *r, const char *path, mr_err_t *err);

#endif
