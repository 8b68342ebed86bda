//  spawner.c - see spawner.h.
#include "spawner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

void
spawn_init(spawn_t *s)
{
    memset(s, 0, sizeof *s);
}

void
spawn_fini(spawn_t *s)
{
    free(s->children);
    memset(s, 0, sizeof *s);
}

int
spawn_start(spawn_t *s, const char *role, char *const argv[], int report_fd, mr_err_t *err)
{
    return spawn_start_stdin(s, role, argv, report_fd, -1, err);
}

int
spawn_start_stdin(
    spawn_t *s, const char *role, char *const argv[], int report_fd, int stdin_fd, mr_err_t *err)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        spawn_child_t *grown = realloc(s->children, cap * sizeof *grown);
        if (!grown)
            return mr_err_set(err, MR_ENOMEM, "out of memory");
        s->children = grown;
        s->cap = cap;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // stdin first: stdin_fd may be 3, which the report descriptor then replaces.
    if (stdin_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (report_fd >= 0 && report_fd != 3)
        posix_spawn_file_actions_adddup2(&actions, report_fd, 3);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        return mr_err_set(err, MR_EIO, "cannot start the %s (%s): %s", role, argv[0], strerror(rc));
    spawn_child_t *c = &s->children[s->count++];
    memset(c, 0, sizeof *c);
    c->pid = pid;
    snprintf(c->role, sizeof c->role, "%s", role);
    return MR_OK;
}

int
spawn_start_logged(spawn_t *s,
                   const char *role,
                   char *const argv[],
                   int stdout_fd,
                   const char *log_path,
                   mr_err_t *err)
{
    return spawn_start_logged_stdin(s, role, argv, -1, stdout_fd, log_path, err);
}

int
spawn_start_logged_stdin(spawn_t *s,
                         const char *role,
                         char *const argv[],
                         int stdin_fd,
                         int stdout_fd,
                         const char *log_path,
                         mr_err_t *err)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        spawn_child_t *grown = realloc(s->children, cap * sizeof *grown);
        if (!grown)
            return mr_err_set(err, MR_ENOMEM, "out of memory");
        s->children = grown;
        s->cap = cap;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (log_path)
        posix_spawn_file_actions_addopen(&actions, 2, log_path, O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
    if (stdin_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (stdout_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    else if (log_path)
        posix_spawn_file_actions_adddup2(&actions, 2, 1);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        return mr_err_set(err, MR_EIO, "cannot start the %s (%s): %s", role, argv[0], strerror(rc));
    spawn_child_t *c = &s->children[s->count++];
    memset(c, 0, sizeof *c);
    c->pid = pid;
    snprintf(c->role, sizeof c->role, "%s", role);
    return MR_OK;
}

int
spawn_control_pair(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : -1;
}

static int
s_control(int fd, const char *cmd, const char *reason)
{
    if (fd < 0)
        return -1;
    char line[1024];
    int len = snprintf(line, sizeof line - 1, "%s %s", cmd, reason ? reason : "");
    if (len < 0 || len > (int) sizeof line - 2)
        len = (int) sizeof line - 2;
    for (int i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    return send(fd, line, (size_t) len, MSG_NOSIGNAL | MSG_DONTWAIT) == len ? 0 : -1;
}

int
spawn_control_stop(int fd, const char *reason)
{
    return s_control(fd, "STOP", reason);
}

int
spawn_control_fail(int fd, const char *reason)
{
    return s_control(fd, "FAIL", reason);
}

int
spawn_control_lost(int fd, const char *seat_and_how)
{
    return s_control(fd, "LOST", seat_and_how);
}

static int
s_failed(int status)
{
    return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int
spawn_reap(spawn_t *s)
{
    for (size_t i = 0; i < s->count; i++) {
        spawn_child_t *c = &s->children[i];
        if (c->done)
            continue;
        int status;
        pid_t pid = waitpid(c->pid, &status, WNOHANG);
        if (pid == c->pid || (pid < 0 && errno == ECHILD)) {
            c->done = 1;
            c->status = pid == c->pid ? status : 0;
        }
    }
    //  One failure a call, the first not yet told: two children that end in the same sweep are
    //  both told, one call after the other.
    for (size_t i = 0; i < s->count; i++) {
        spawn_child_t *c = &s->children[i];
        if (c->done && !c->told && s_failed(c->status)) {
            c->told = 1;
            return (int) i;
        }
    }
    return -1;
}

size_t
spawn_running(const spawn_t *s)
{
    size_t running = 0;
    for (size_t i = 0; i < s->count; i++)
        running += !s->children[i].done;
    return running;
}

void
spawn_signal_all(spawn_t *s, int sig)
{
    for (size_t i = 0; i < s->count; i++)
        if (!s->children[i].done)
            kill(s->children[i].pid, sig);
}

void
spawn_wait_all(spawn_t *s, double grace_s)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (double waited = 0; waited < grace_s && spawn_running(s) > 0; waited += 0.01) {
        spawn_reap(s);
        nanosleep(&tick, NULL);
    }
    if (spawn_running(s) == 0)
        return;
    spawn_signal_all(s, SIGKILL);
    for (size_t i = 0; i < s->count; i++) {
        spawn_child_t *c = &s->children[i];
        if (!c->done && waitpid(c->pid, &c->status, 0) == c->pid)
            c->done = 1;
        c->done = 1;
    }
}

void
spawn_describe(const spawn_child_t *c, char *out, size_t size)
{
    if (!c->done)
        snprintf(out, size, "is still running");
    else if (WIFEXITED(c->status))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(c->status),
                 strsignal(WTERMSIG(c->status)));
    else
        snprintf(out, size, "ended with wait status %d", c->status);
}

void
spawn_note_path(const char *dir, const char *role, char *out, size_t size)
{
    int len = snprintf(out, size, "%s/exit-", dir);
    if (len < 0 || (size_t) len >= size)
        return;
    snprintf(out + len, size - (size_t) len, "%s", role);
    for (char *c = out + len; *c; c++)
        if (*c == ' ')
            *c = '-';
}

void
spawn_describe_noted(const spawn_child_t *c, const char *dir, char *out, size_t size)
{
    spawn_describe(c, out, size);
    if (!c->done || !WIFEXITED(c->status) || WEXITSTATUS(c->status) == 0)
        return;
    char path[4200], note[512] = "";
    spawn_note_path(dir, c->role, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(note, sizeof note, f))
        note[strcspn(note, "\n")] = '\0';
    fclose(f);
    unlink(path);
    for (char *p = note; *p; p++)  // one printable line, whatever the file held
        if ((unsigned char) *p < 0x20 || (unsigned char) *p == 0x7f)
            *p = '?';
    size_t used = strlen(out);
    if (note[0] && used < size)
        snprintf(out + used, size - used, ": %s", note);
}

void
spawn_remove_notes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, "exit-", 5) != 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
}
