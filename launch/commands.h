//  commands.h - subcommands of the marina CLI that live in their own files: each takes the
//  whole argv (argv[1] is the command's name) and returns the process's exit code. stdout
//  carries their results, stderr their messages.
#ifndef COMMANDS_H
#define COMMANDS_H

//  marina query DB runs|show|rounds|compare|sql ... [--csv|--json] (cmd_query.c).
int cmd_query(int argc, char **argv);
//  marina merge DST SRC... (cmd_query.c).
int cmd_merge(int argc, char **argv);
//  marina sweep CONFIG [key=value ...] [key=v1,v2 | key=A..B ...] [jobs=J] (cmd_sweep.c).
int cmd_sweep(int argc, char **argv);
//  marina keys DIR [--actors NAME,NAME,...] (cmd_keys.c): the certificates of security=curve.
int cmd_keys(int argc, char **argv);

//  marina plot DB [RUN... | --where SQL] [--y Y] [--x X] [--by k1,k2] [--out F.svg] ... (cmd_plot.c).
int cmd_plot(int argc, char **argv);

//  The exit code of `marina query` and `marina plot` for an MR_E* code: 2 MR_ECONFIG (bad usage,
//  an unknown column), 3 MR_EIO (missing or unreadable file), 4 MR_EVERSION (another schema
//  version), 5 MR_EINVAL (an unknown run), 1 otherwise (cmd_query.c).
int cmd_exit_code(int rc);

#endif
