//  hosts.h - `marina run CONFIG --hosts FILE`: the actors of one run on a few machines without
//  Slurm (docs/deploy.md). FILE has one line per host: NAME ADDR [PREFIX ...] ('#' comments):
//  ADDR is the address the host's actors bind or connect to; PREFIX is how a command starts
//  there (default `ssh -o BatchMode=yes NAME`; `-` runs it here directly; any prefix works, e.g.
//  `nsenter --net=/run/netns/X`). The first host runs the server and the recorder, the workers go
//  round-robin over the others (over the first too when it is the only one). The run folder
//  (config, one log per actor) must be on a path every host sees. Each actor runs with
//  --watch-parent: it stops when its starter (the prefix's process, or ssh's session) goes.
#ifndef HOSTS_H
#define HOSTS_H

#include "cfg.h"

//  Runs the experiment cfg on the hosts of path; run_dir may be NULL (marina-hosts/TIME-PID).
//  The first failure, or SIGINT/SIGTERM, stops every actor; the server records the cause.
//  Returns the exit code (2: a bad hosts file or config, nothing started).
int hosts_run(cfg_t *cfg, const char *path, const char *run_dir);

#endif
