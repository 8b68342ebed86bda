//  hosts.c - see hosts.h.
#include "hosts.h"

#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "experiment.h"
#include "msg.h"
#include "security.h"
#include "spawner.h"

#define HOSTS_MAX_WORDS 16    // words of one line's prefix
#define HOSTS_REACH_S   15.0  // how long `PREFIX true` may take to answer
#define HOSTS_GRACE_S   10.0  // stopping actors: SIGTERM, then SIGKILL after this

static volatile sig_atomic_t s_signal = 0;

static void
s_on_signal(int sig)
{
    s_signal = sig;
}

typedef struct {
    char name[128];
    char addr[128];
    char *words[HOSTS_MAX_WORDS + 1];  // the prefix (owned), NULL-terminated
    size_t count;
} s_host_t;

typedef struct {
    s_host_t *hosts;
    size_t count;
} s_hosts_t;

static void
s_hosts_fini(s_hosts_t *h)
{
    for (size_t i = 0; i < h->count; i++)
        for (size_t w = 0; w < h->hosts[i].count; w++)
            free(h->hosts[i].words[w]);
    free(h->hosts);
    memset(h, 0, sizeof *h);
}

//  Reads the hosts file. 0, or prints file:line and why, and returns 2.
static int
s_hosts_read(const char *path, s_hosts_t *h)
{
    memset(h, 0, sizeof *h);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "marina: %s: cannot read the hosts file: %s\n", path, strerror(errno));
        return 2;
    }
    char line[2048];
    int number = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        number++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL, *word[HOSTS_MAX_WORDS + 3];
        size_t words = 0;
        for (char *w = strtok_r(line, " \t\r\n", &save); w && words < HOSTS_MAX_WORDS + 3;
             w = strtok_r(NULL, " \t\r\n", &save))
            word[words++] = w;
        if (words == 0)
            continue;
        if (words < 2 || words > HOSTS_MAX_WORDS + 2 || strlen(word[0]) >= 128 ||
            strlen(word[1]) >= 128) {
            fprintf(stderr,
                    "marina: %s:%d: a line is NAME ADDR [PREFIX ...] (at most %d prefix words)\n",
                    path, number, HOSTS_MAX_WORDS);
            rc = 2;
            break;
        }
        s_host_t *grown = realloc(h->hosts, (h->count + 1) * sizeof *grown);
        if (!grown) {
            rc = 1;
            break;
        }
        h->hosts = grown;
        s_host_t *host = &h->hosts[h->count++];
        memset(host, 0, sizeof *host);
        snprintf(host->name, sizeof host->name, "%s", word[0]);
        snprintf(host->addr, sizeof host->addr, "%s", word[1]);
        if (words == 2) {
            const char *ssh[] = {"ssh", "-o", "BatchMode=yes", host->name};
            for (size_t w = 0; w < 4; w++)
                host->words[host->count++] = strdup(ssh[w]);
        } else if (!(words == 3 && strcmp(word[2], "-") == 0)) {
            for (size_t w = 2; w < words; w++)
                host->words[host->count++] = strdup(word[w]);
        }
    }
    fclose(f);
    if (rc == 0 && h->count == 0) {
        fprintf(stderr, "marina: %s: no hosts\n", path);
        rc = 2;
    }
    if (rc != 0)
        s_hosts_fini(h);
    return rc;
}

//  argv = the host's prefix, then cmd (NULL-terminated); into out (size >= prefix + 16).
static void
s_argv(const s_host_t *host, char *const cmd[], char **out)
{
    size_t k = 0;
    for (size_t w = 0; w < host->count; w++)
        out[k++] = host->words[w];
    for (size_t c = 0; cmd[c]; c++)
        out[k++] = cmd[c];
    out[k] = NULL;
}

//  Can a command start on host? Runs `PREFIX true` (nothing to check for a local host).
static int
s_reachable(const s_host_t *host, char *why, size_t size)
{
    if (host->count == 0)
        return 1;
    char *cmd[] = {"true", NULL}, *argv[HOSTS_MAX_WORDS + 4];
    s_argv(host, cmd, argv);
    spawn_t sp;
    spawn_init(&sp);
    mr_err_t err = {0};
    if (spawn_start_logged(&sp, "probe", argv, -1, "/dev/null", &err) != MR_OK) {
        snprintf(why, size, "%s", err.text);
        spawn_fini(&sp);
        return 0;
    }
    double waited = 0;
    while (spawn_running(&sp) > 0 && waited < HOSTS_REACH_S) {
        spawn_reap(&sp);
        zclock_sleep(20);
        waited += 0.02;
    }
    int ok = sp.children[0].done && WIFEXITED(sp.children[0].status) &&
             WEXITSTATUS(sp.children[0].status) == 0;
    if (!ok) {
        char how[128] = "did not answer in time";
        if (sp.children[0].done)
            spawn_describe(&sp.children[0], how, sizeof how);
        snprintf(why, size, "'%s ... true' %s", host->words[0], how);
    }
    spawn_wait_all(&sp, 1.0);
    spawn_fini(&sp);
    return ok;
}

//  Reads the server's endpoints line from fd within timeout_s.
static int
s_read_endpoints(int fd, double timeout_s, char ep[3][256])
{
    char line[1024];
    size_t used = 0;
    double deadline = zclock_mono() / 1000.0 + timeout_s;
    while (used + 1 < sizeof line) {
        int left = (int) ((deadline - zclock_mono() / 1000.0) * 1000);
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        ssize_t got = read(fd, line + used, 1);
        if (got <= 0)
            return -1;
        if (line[used] == '\n') {
            line[used] = '\0';
            if (sscanf(line, "%255s %255s %255s", ep[0], ep[1], ep[2]) == 3 &&
                strncmp(ep[0], "tcp://", 6) == 0)
                return 0;
            used = 0;  // some other line: keep looking
            continue;
        }
        used++;
    }
    return -1;
}

//  Asks the server to abort the run with reason on its control channel (its standard input,
//  which the host's prefix, e.g. ssh, forwards; control is the launcher's end), and waits up to
//  timeout_s for its process to end.
static void
s_stop_server(spawn_t *sp, int control, const char *reason, double timeout_s)
{
    if (spawn_control_stop(control, reason) != 0)
        return;
    for (double waited = 0; waited < timeout_s && !sp->children[0].done; waited += 0.02) {
        spawn_reap(sp);
        zclock_sleep(20);
    }
}

//  The run folder: run_dir, or marina-hosts/TIME-PID under the current folder (absolute).
static int
s_run_dir(const char *run_dir, char *out, size_t size)
{
    char cwd[2048];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    if (run_dir) {
        snprintf(out, size, "%s%s%s", run_dir[0] == '/' ? "" : cwd, run_dir[0] == '/' ? "" : "/",
                 run_dir);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(out, size, "%s/marina-hosts", cwd);
        mkdir(out, 0755);
        snprintf(out, size, "%s/marina-hosts/%s-%d", cwd, stamp, (int) getpid());
    }
    return mkdir(out, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

int
hosts_run(cfg_t *cfg, const char *path, const char *run_dir)
{
    s_hosts_t h;
    int rc = s_hosts_read(path, &h);
    if (rc != 0)
        return rc;
    experiment_t e;
    mr_err_t err = {0};
    if (experiment_init(&e, cfg, &err) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        s_hosts_fini(&h);
        return 2;
    }
    char num[64], dir[4096], exe[4096], ini[4200], cwd[2048];
    snprintf(num, sizeof num, "%.17g", e.f_star);
    if (!isnan(e.f_star))
        cfg_set(cfg, "fstar", num, "f*", NULL);
    size_t n = e.mp.n;
    experiment_fini(&e);
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0 || !getcwd(cwd, sizeof cwd) || s_run_dir(run_dir, dir, sizeof dir) != 0) {
        fprintf(stderr, "marina: cannot make the run folder: %s\n", strerror(errno));
        s_hosts_fini(&h);
        return 1;
    }
    exe[len] = '\0';
    const char *db = cfg_str(cfg, "db");
    if (db[0] != '/') {
        char abs[4200];
        snprintf(abs, sizeof abs, "%s/%s", cwd, db);
        cfg_set(cfg, "db", abs, "hosts", NULL);
    }
    // Across machines: CURVE with the given keys, or with keys made in the run folder (which the
    // hosts share, like run.ini); plain tcp only when asked for, and then with a warning.
    const char *security = cfg_str(cfg, "security");
    if (strcmp(security, "curve") == 0 && !cfg_str(cfg, "keys_dir")[0]) {
        static const char *const names[] = {"recorder", "worker", "attacker"};
        char keys[4200];
        snprintf(keys, sizeof keys, "%s/keys", dir);
        if (sec_keys_make(keys, names, 3, &err) != MR_OK ||
            cfg_set(cfg, "keys_dir", keys, "hosts", &err) != MR_OK) {
            fprintf(stderr, "marina: %s\n", err.text);
            s_hosts_fini(&h);
            return 1;
        }
        fprintf(stderr, "marina: security = curve, keys made in %s\n", keys);
    } else if (strcmp(security, "curve") == 0 && sec_keys_check(cfg_str(cfg, "keys_dir"), &err)) {
        fprintf(stderr, "marina: %s\n", err.text);
        s_hosts_fini(&h);
        return 2;
    } else if (strcmp(security, "none") == 0 && h.count > 1) {
        fprintf(stderr,
                "marina: warning: security = none: the actors talk plain tcp across %zu "
                "hosts; anyone on that network can join, read or disturb the run (use "
                "security=curve, docs/deploy.md)\n",
                h.count);
    } else if (strcmp(security, "none") != 0 && strcmp(security, "curve") != 0) {
        fprintf(stderr, "marina: security = '%s' is unknown (none or curve)\n", security);
        s_hosts_fini(&h);
        return 2;
    }
    snprintf(ini, sizeof ini, "%s/run.ini", dir);
    char *text = cfg_to_ini(cfg);
    FILE *f = fopen(ini, "w");
    int ok = text && f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    if (!ok) {
        fprintf(stderr, "marina: cannot write %s\n", ini);
        s_hosts_fini(&h);
        return 1;
    }
    // Every host answers before anything starts.
    for (size_t i = 0; i < h.count; i++) {
        char why[300];
        if (!s_reachable(&h.hosts[i], why, sizeof why)) {
            fprintf(stderr, "marina: host %s (%s:%zu) cannot be reached: %s\n", h.hosts[i].name,
                    path, i + 1, why);
            s_hosts_fini(&h);
            return 1;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "marina: %zu hosts, run folder %s\n", h.count, dir);
    //  The folder may hold the exit notes of an earlier run: they must not speak for this one's.
    spawn_remove_notes(dir);
    char server_note[4200], recorder_note[4200];
    spawn_note_path(dir, "server", server_note, sizeof server_note);
    spawn_note_path(dir, "recorder", recorder_note, sizeof recorder_note);
    spawn_t sp;
    spawn_init(&sp);
    char bind[200], log[4300], ep[3][256], timeout[32];
    snprintf(bind, sizeof bind, "tcp://%s:*", h.hosts[0].addr);
    snprintf(timeout, sizeof timeout, "%g", cfg_real(cfg, "timeout_s"));
    int fds[2] = {-1, -1}, control[2] = {-1, -1};
    rc = pipe(fds) == 0 && spawn_control_pair(control) == 0 ? MR_OK : MR_EIO;
    char *argv[HOSTS_MAX_WORDS + 16];
    if (rc == MR_OK) {
        char *cmd[] = {exe,         "server", "--config",     ini, "--bind",         bind,
                       bind,        bind,     "--control-fd", "0", "--watch-parent", "--exit-note",
                       server_note, NULL};
        s_argv(&h.hosts[0], cmd, argv);
        snprintf(log, sizeof log, "%s/server.log", dir);
        rc = spawn_start_logged_stdin(&sp, "server", argv, control[0], fds[1], log, &err);
        close(fds[1]);
        close(control[0]);
    }
    if (rc == MR_OK && s_read_endpoints(fds[0], cfg_real(cfg, "timeout_s"), ep) != 0) {
        rc = mr_err_set(&err, MR_EPEER, "the server on %s did not report its endpoints (see %s)",
                        h.hosts[0].name, log);
    }
    char security_arg[32], keys_arg[4200];
    snprintf(security_arg, sizeof security_arg, "security=%s", cfg_str(cfg, "security"));
    snprintf(keys_arg, sizeof keys_arg, "keys_dir=%s", cfg_str(cfg, "keys_dir"));
    if (rc == MR_OK) {
        char *cmd[] = {exe,
                       "recorder",
                       "--connect",
                       ep[2],
                       ep[1],
                       "--db",
                       (char *) cfg_str(cfg, "db"),
                       "--timeout",
                       timeout,
                       security_arg,
                       keys_arg,
                       "--watch-parent",
                       "--exit-note",
                       recorder_note,
                       NULL};
        s_argv(&h.hosts[0], cmd, argv);
        snprintf(log, sizeof log, "%s/recorder.log", dir);
        rc = spawn_start_logged(&sp, "recorder", argv, -1, log, &err);
    }
    for (size_t i = 0; rc == MR_OK && i < n; i++) {
        const s_host_t *host = &h.hosts[h.count > 1 ? 1 + i % (h.count - 1) : 0];
        char id[32], role[32], note[4200];
        snprintf(id, sizeof id, "%zu", i);
        snprintf(role, sizeof role, "worker %zu", i);
        spawn_note_path(dir, role, note, sizeof note);  // why it failed, if it does
        char *cmd[] = {exe,   "worker", "--config",       ini,           "--id", id,  "--connect",
                       ep[0], ep[1],    "--watch-parent", "--exit-note", note,   NULL};
        s_argv(host, cmd, argv);
        snprintf(log, sizeof log, "%s/worker-%zu.log", dir, i);
        rc = spawn_start_logged(&sp, role, argv, -1, log, &err);
        if (rc == MR_OK)
            fprintf(stderr, "marina: worker %zu on %s\n", i, host->name);
    }
    int failed = rc != MR_OK;
    if (failed) {
        fprintf(stderr, "marina: %s\n", err.text);
        spawn_signal_all(&sp, SIGTERM);
    }
    while (!failed && spawn_running(&sp) > 0) {
        int bad = spawn_reap(&sp);
        if (bad >= 0 || s_signal) {
            char reason[720];
            if (bad >= 0) {
                char how[640];
                spawn_describe_noted(&sp.children[bad], dir, how, sizeof how);
                snprintf(reason, sizeof reason, "the %s (pid %d) %s", sp.children[bad].role,
                         (int) sp.children[bad].pid, how);
            } else {
                snprintf(reason, sizeof reason, "interrupted by signal %d (%s)", (int) s_signal,
                         strsignal((int) s_signal));
            }
            fprintf(stderr, "marina: %s; stopping every actor\n", reason);
            failed = 1;
            if (bad != 0)
                s_stop_server(&sp, control[1], reason, 5.0);
            spawn_signal_all(&sp, SIGTERM);
        } else {
            zclock_sleep(20);
        }
    }
    spawn_wait_all(&sp, HOSTS_GRACE_S);
    for (size_t i = 0; i < sp.count && !failed; i++)
        failed = !WIFEXITED(sp.children[i].status) || WEXITSTATUS(sp.children[i].status) != 0;
    if (fds[0] >= 0)
        close(fds[0]);
    if (control[1] >= 0)
        close(control[1]);
    spawn_remove_notes(dir);  // those of the children that failed after the first (unread)
    spawn_fini(&sp);
    s_hosts_fini(&h);
    return failed ? 1 : 0;
}
