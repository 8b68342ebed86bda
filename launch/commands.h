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

#endif
