//  spawner.h - starts the actors of a run as child processes of the launcher and reaps them.
//  Children are started with posix_spawn from this same executable; a spawn_t remembers their
//  pids and roles so that every child is stopped (SIGTERM, then SIGKILL after a grace period) and
//  reaped on error or interrupt: no orphans. One spawn_t per launcher; not thread-safe.
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "mr_err.h"

typedef struct {
    pid_t pid;
    char role[32];  // "server", "recorder", "worker 3"
    int done;       // reaped
    int status;     // waitpid status once done
    int restarted;  // the launcher started another in its place: its end is not a failure
    int told;       // spawn_reap() has returned it as failed
} spawn_child_t;

typedef struct {
    spawn_child_t *children;
    size_t count, cap;
} spawn_t;

void spawn_init(spawn_t *s);
void spawn_fini(spawn_t *s);

//  Starts argv (argv[0] = the executable path) as a child named role. If report_fd >= 0, the
//  child's fd 3 is that descriptor (the launcher keeps the read end). MR_OK or MR_EIO.
int spawn_start(spawn_t *s, const char *role, char *const argv[], int report_fd, mr_err_t *err);

//  As spawn_start; if stdin_fd >= 0, the child's standard input is that descriptor (the
//  launcher's control channel to the server: it keeps the write end).
int spawn_start_stdin(
    spawn_t *s, const char *role, char *const argv[], int report_fd, int stdin_fd, mr_err_t *err);

//  As spawn_start, for a command found on PATH (argv[0] may be "ssh", "nsenter", ...): the
//  child's stdout is stdout_fd (if >= 0, else log_path), its stderr appended to log_path (if not
//  NULL, else inherited).
int spawn_start_logged(spawn_t *s,
                       const char *role,
                       char *const argv[],
                       int stdout_fd,
                       const char *log_path,
                       mr_err_t *err);

//  As spawn_start_logged, with the child's standard input stdin_fd (if >= 0).
int spawn_start_logged_stdin(spawn_t *s,
                             const char *role,
                             char *const argv[],
                             int stdin_fd,
                             int stdout_fd,
                             const char *log_path,
                             mr_err_t *err);

//  The launcher's control channel to a server (`marina server --control-fd 0`): a connected
//  pair of local sockets, fds[0] for the child's standard input, fds[1] kept by the launcher;
//  both close-on-exec (posix_spawn's dup2 onto 0 clears that flag for the child). 0 or -1.
int spawn_control_pair(int fds[2]);

//  Sends "STOP reason\n" on the launcher's end fd (line breaks in reason become spaces); never
//  raises SIGPIPE when the server is gone. 0, or -1 if it could not be sent.
int spawn_control_stop(int fd, const char *reason);
//  As spawn_control_stop, for a run that fails (an actor died): "FAIL reason\n"; the run ends
//  'failed' rather than 'aborted'.
int spawn_control_fail(int fd, const char *reason);
//  "LOST I how\n": worker I's process died and the run goes on (on_worker_loss = continue); the
//  server takes it out of the round at once instead of at the round's deadline.
int spawn_control_lost(int fd, const char *seat_and_how);

//  Reaps children that ended, without blocking; returns the index of a child that failed
//  (non-zero exit or a signal) and was not returned before, or -1: each failure is returned once,
//  one a call, however many end at once.
int spawn_reap(spawn_t *s);

//  Number of children still running.
size_t spawn_running(const spawn_t *s);

//  Sends sig to every running child.
void spawn_signal_all(spawn_t *s, int sig);

//  Waits up to grace_s for all children, then SIGKILLs and reaps the rest.
void spawn_wait_all(spawn_t *s, double grace_s);

//  A sentence about how child i ended ("exited with status 1", "was killed by signal 9").
void spawn_describe(const spawn_child_t *c, char *out, size_t size);

//  Exit notes: a child started with `--exit-note FILE` writes there, one line, why it failed;
//  the launcher adds it to the sentence. The note of the child of role R in run folder dir is
//  dir/exit-R, spaces made dashes ("worker 3": dir/exit-worker-3).
void spawn_note_path(const char *dir, const char *role, char *out, size_t size);

//  As spawn_describe, and if c exited with a non-zero status and left a note in dir, ": " and
//  the note (made one printable line); the note is removed once read, so that a process started
//  again in c's place speaks for itself.
void spawn_describe_noted(const spawn_child_t *c, const char *dir, char *out, size_t size);

//  Removes every exit note left in run folder dir.
void spawn_remove_notes(const char *dir);

#endif
