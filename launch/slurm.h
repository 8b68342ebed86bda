//  slurm.h - marina on a Slurm cluster (docs/deploy.md). One run is one job step whose tasks are
//  the actors, by SLURM_PROCID: 0 the server, 1 the recorder, 2 .. n+1 workers 0 .. n-1, then
//  the attackers (config key `byzantine`, 0 where it does not exist). Rendezvous through the run
//  folder, which every node sees (a shared file system): the server binds free ports on its
//  node's address and writes `tcp://ADDR:PORT` x 3 into RUNDIR/endpoints; the others wait for
//  that file. The recorder writes SQLite on a node-local path (TMPDIR) and moves the file to
//  RUNDIR/run.db when it ends; the step's launcher then fixes the status (failed, with the
//  cause, if a task failed or the job was cancelled) and merges it into the config's `db`.
//  Per-task logs: RUNDIR/task-N.log. A failed task ends the step (srun --kill-on-bad-exit).
#ifndef SLURM_H
#define SLURM_H

#include "cfg.h"

typedef struct {
    int slurm;            // --slurm given
    int wait;             // --wait: wait for the job to end (sbatch --wait)
    const char *run_dir;  // --run-dir DIR, or NULL (marina-slurm/NAME-TIME-PID)
    const char *hosts;    // --hosts FILE (launch/hosts.h), or NULL
    char **sbatch_opts;   // the arguments after "--"
    int sbatch_count;
} slurm_opts_t;

//  Takes --slurm, --wait, --run-dir DIR, --hosts FILE and everything after "--" out of argv
//  (argc shrinks).
void slurm_take_args(int *argc, char **argv, slurm_opts_t *o);

//  marina run CONFIG --slurm: checks cfg, writes the run folder, then starts the step (inside an
//  allocation: SLURM_JOB_ID is set) or submits a batch job that does. Returns the exit code.
int slurm_run(cfg_t *cfg, const slurm_opts_t *o);

//  Writes RUNDIR/job.sh for sbatch: one step running `marina slurm-step RUNDIR` (for an array
//  job, RUNDIR/$SLURM_ARRAY_TASK_ID); ntasks is the actors per run. 0 or -1.
int slurm_write_job(const char *run_dir, int array, long ntasks, const char *exe);

//  Submits RUNDIR/job.sh with sbatch (extra options, --array=SPEC when array is not NULL, with
//  wait sbatch --wait); prints the job id on stdout. Returns sbatch's exit code, job id in *id.
int slurm_submit(const char *run_dir,
                 const char *array,
                 const char *dependency,
                 const char *script,
                 const slurm_opts_t *o,
                 long *job_id);

//  The number of actors (tasks) of a run of cfg: 2 + n + byzantine.
long slurm_task_count(const cfg_t *cfg);

//  Hidden subcommands: `marina slurm-step RUNDIR [--no-merge]` (the step: srun, then the
//  database into place), `marina slurm-task RUNDIR` (one actor, by SLURM_PROCID),
//  `marina slurm-collect RUNDIR` (moves a dead recorder's database from its node).
int slurm_cmd_step(int argc, char **argv);
int slurm_cmd_task(int argc, char **argv);
int slurm_cmd_collect(int argc, char **argv);

#endif
