//  marina.c - the command line: `marina run` (an experiment on this machine), `marina server`,
//  `marina worker`, `marina recorder` (one actor by hand), `marina summary` (a run's figures).
//  stdout carries the CLI's output (endpoints, summary); logs go to stderr.
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "commands.h"
#include "db.h"
#include "run_limits.h"
#include "report.h"
#include "actor.h"
#include "experiment.h"
#include "msg.h"
#include "ports.h"
#include "checkpoint.h"
#include "recorder.h"
#include "resume.h"
#include "hosts.h"
#include "security.h"
#include "server.h"
#include "slurm.h"
#include "spawner.h"
#include "worker.h"

#define GRACE_S         10.0  // how long stopping children may take before SIGKILL
#define S_RUN_KEY_COUNT 3     // the one-off keys of `marina run security=curve`: one per role

static const char *const s_run_key_names[S_RUN_KEY_COUNT] = {"recorder", "worker", "attacker"};
#define HOST_GRACE_MS 3000  // after an interrupt, how long an actor may take to report DONE

//  Options of the subcommands; key=value arguments go to the configuration.
typedef struct {
    const char *config;      // --config FILE (run: may be the first positional argument)
    const char *bind[3];     // server: --bind BCAST UP STATS
    const char *connect[2];  // worker: --connect BCAST UP; recorder: --connect STATS UP
    const char *db;          // recorder: --db FILE
    long id;                 // worker: --id I
    int report_fd;           // --report-fd FD: write the bound endpoints there (launcher use)
    int control_fd;          // server: --control-fd FD: the launcher's "STOP reason" lines
    const char *token_file;  // server, recorder: --token-file F: the launcher's run token
    int watch_parent;        // --watch-parent: stop when the launcher dies
    int rejoin;              // worker: --rejoin: join a running run again (its JOIN)
    int no_recorder;         // server: --no-recorder
    int verbose;             // -v
    double timeout_s;        // recorder: --timeout S
    const char *run_id;      // summary: --run ID
    const char *resume;      // run: --resume RUN (a run id); server, worker: --resume FILE
    const char *exit_note;   // --exit-note FILE: a failed actor writes its reason there
    int help;
} opts_t;

static volatile sig_atomic_t s_stop_signal = 0;

static void
s_on_signal(int sig)
{
    s_stop_signal = sig;
}

static void
s_usage(FILE *out)
{
    fprintf(
        out,
        "marina - communication-compressed distributed optimization (MARINA and friends)\n"
        "\n"
        "usage:\n"
        "  marina run [CONFIG.ini] [key=value ...]   run an experiment on this machine\n"
        "  marina run CONFIG --slurm [--wait] [--run-dir D] [-- sbatch options]\n"
        "                                            run it as one Slurm job step\n"
        "  marina server   --config F [key=value ...] --bind BCAST UP STATS [--no-recorder]\n"
        "                  [--control-fd FD]\n"
        "  marina worker   --config F [key=value ...] --id I --connect BCAST UP [--rejoin]\n"
        "  marina attacker --config F [key=value ...] --id I --connect BCAST UP\n"
        "  marina recorder --connect STATS UP --db FILE [--timeout S]\n"
        "  marina summary  [--db FILE] [--run ID]    figures of a recorded run\n"
        "  marina sweep FILE.ini [key=v1,v2 | key=A..B ...] [jobs=J]\n"
        "                                            sections x grid points, resumable\n"
        "  marina query DB runs|show|rounds|compare|sql ... [--csv|--json]\n"
        "                                            tables from a result database\n"
        "  marina plot DB [RUN ...] --y Y --x X [--by k1,k2] [--out F.svg]\n"
        "                                            a figure (SVG; PNG with rsvg-convert)\n"
        "  marina merge DST.db SRC.db ...            copy runs from databases into one\n"
        "  marina report [--db FILE] [--eps E] ...   table: cost to reach a target, best gamma\n"
        "  marina keys DIR [--actors NAME,...]      CURVE certificates for security=curve\n"
        "  marina COMMAND --help                      help on one command\n"
        "\n"
        "`marina run` with no arguments runs a demo: MARINA with RandK on a synthetic,\n"
        "heterogeneous data set, 5 workers, recorded in marina.db.\n"
        "\n"
        "configuration keys (INI file lines 'key = value', or key=value arguments):\n");
    cfg_print_help(out);
}

static void
s_command_help(const char *cmd)
{
    if (strcmp(cmd, "run") == 0)
        printf("usage: marina run [CONFIG.ini] [key=value ...]\n"
               "Starts the server, the recorder and n workers as processes on this machine\n"
               "(transport=tcp over loopback with free ports, or ipc; transport=inproc runs them\n"
               "as threads of one process), shows progress, records every round in the SQLite\n"
               "file `db`, and prints a summary. Exits non-zero if any actor failed; stops every\n"
               "actor on error or Ctrl-C.\n\nkeys:\n");
    else if (strcmp(cmd, "server") == 0)
        printf(
            "usage: marina server --config F [key=value ...] --bind BCAST UP STATS "
            "[--no-recorder]\n"
            "                     [--control-fd FD] [--token-file F]\n"
            "Runs the parameter server: binds its PUB (BCAST), PULL (UP) and stats ROUTER (STATS)\n"
            "endpoints (e.g. tcp://0.0.0.0:5555; port * picks a free one), prints the bound\n"
            "endpoints on stdout, waits for n workers and a recorder, and runs the rounds.\n"
            "security=curve keys_dir=DIR: CURVE on every socket, only DIR/public's keys get in.\n"
            "--control-fd FD: a line 'STOP reason' there aborts the run (the launcher's channel);\n"
            "--token-file F: only the recorder whose HELLO carries F's token gets the rows.\n"
            "\nkeys:\n");
    else if (strcmp(cmd, "worker") == 0)
        printf("usage: marina worker --config F [key=value ...] --id I --connect BCAST UP "
               "[--rejoin]\n"
               "Runs worker I (0-based) of the experiment the config describes: loads its part\n"
               "of the data and connects to the server's BCAST and UP endpoints.\n"
               "--rejoin: worker I's process died and the run went on (on_worker_loss =\n"
               "continue): this one joins it again from the next round (JOIN).\n"
               "--exit-note FILE (any actor): if it fails, its reason goes there (one line).\n"
               "\nkeys:\n");
    else if (strcmp(cmd, "attacker") == 0)
        printf(
            "usage: marina attacker --config F [key=value ...] --id I --connect BCAST UP\n"
            "Runs Byzantine attacker I (n - byzantine <= I < n): holds the whole data set, joins\n"
            "like a worker with the attacker role and sends the configured attack\n"
            "(docs/threat-model.md).\n\nkeys:\n");
    else if (strcmp(cmd, "recorder") == 0) {
        printf(
            "usage: marina recorder --connect STATS UP --db FILE [--timeout S] [--token-file F]\n"
            "                       [security=curve keys_dir=DIR]\n"
            "Runs the recorder: connects to the server's STATS endpoint (UP is accepted and\n"
            "unused), says HELLO there and writes the run into the SQLite file FILE\n"
            "(docs/schema.md).\n");
        return;
    } else if (strcmp(cmd, "summary") == 0) {
        printf("usage: marina summary [--db FILE] [--run ID]\n"
               "Prints the figures of run ID (default: the latest) of FILE (default marina.db).\n");
        return;
    }
    cfg_print_help(stdout);
}

//  Parses argv[first..] into opts and the configuration. Returns 0, or prints why and returns 2.
static int
s_parse(int argc, char **argv, int first, opts_t *o, cfg_t *cfg, int config_positional)
{
    memset(o, 0, sizeof *o);
    o->id = -1;
    o->report_fd = -1;
    o->control_fd = -1;
    o->timeout_s = 60;
    mr_err_t err;
    char where[64];
    // The config file first, so that key=value arguments override it wherever they stand.
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            o->config = argv[++i];
        else if (config_positional && i == first && argv[i][0] != '-' && !strchr(argv[i], '='))
            o->config = argv[i];
    }
    if (o->config && cfg_load_file(cfg, o->config, &err) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        return 2;
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        int left = argc - i - 1;
        if (strcmp(a, "--config") == 0 && left >= 1)
            i++;
        else if (config_positional && i == first && a[0] != '-' && !strchr(a, '='))
            continue;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            o->help = 1;
        else if (strcmp(a, "-v") == 0)
            o->verbose = 1;
        else if (strcmp(a, "--bind") == 0 && left >= 3) {
            o->bind[0] = argv[++i];
            o->bind[1] = argv[++i];
            o->bind[2] = argv[++i];
        } else if (strcmp(a, "--connect") == 0 && left >= 2) {
            o->connect[0] = argv[++i];
            o->connect[1] = argv[++i];
        } else if (strcmp(a, "--db") == 0 && left >= 1)
            o->db = argv[++i];
        else if (strcmp(a, "--run") == 0 && left >= 1)
            o->run_id = argv[++i];
        else if (strcmp(a, "--resume") == 0 && left >= 1)
            o->resume = argv[++i];
        else if (strcmp(a, "--id") == 0 && left >= 1)
            o->id = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--timeout") == 0 && left >= 1)
            o->timeout_s = strtod(argv[++i], NULL);
        else if (strcmp(a, "--report-fd") == 0 && left >= 1)
            o->report_fd = (int) strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--control-fd") == 0 && left >= 1)
            o->control_fd = (int) strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--token-file") == 0 && left >= 1)
            o->token_file = argv[++i];
        else if (strcmp(a, "--watch-parent") == 0)
            o->watch_parent = 1;
        else if (strcmp(a, "--exit-note") == 0 && left >= 1)
            o->exit_note = argv[++i];
        else if (strcmp(a, "--no-recorder") == 0)
            o->no_recorder = 1;
        else if (strcmp(a, "--rejoin") == 0)
            o->rejoin = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "marina: unknown option '%s' (or missing values); see --help\n", a);
            return 2;
        } else {
            snprintf(where, sizeof where, "argument '%s'", a);
            if (cfg_apply_arg(cfg, a, where, &err) != MR_OK) {
                fprintf(stderr, "marina: %s\n", err.text);
                return 2;
            }
        }
    }
    return 0;
}

static void
s_logging(const char *ident, int verbose)
{
    zsys_set_logident(ident);
    zsys_set_logstream(stderr);
    zsys_set_logsystem(false);
    (void) verbose;
}

//  --exit-note FILE: a failed actor's reason, one line, for the launcher that reaps the process
//  (its runs.error then says why, not only "exited with status 1"). Nothing for other statuses.
static void
s_write_exit_note(const char *path, const char *status, const char *reason)
{
    if (!path || !status || strcmp(status, "failed") != 0 || !reason || !reason[0])
        return;
    FILE *f = fopen(path, "w");
    if (!f)
        return;  // the exit status still tells the launcher that it failed
    fprintf(f, "%s\n", reason);
    fclose(f);
}

//  Hosts one actor in this process until it reports DONE, the process is interrupted, or (with
//  watch_parent) the launcher dies. Returns the actor's final status as an exit code.
static int
s_host(zactor_fn *fn, void *args, const opts_t *o, const char *who)
{
    pid_t parent = getppid();
    zactor_t *actor = zactor_new(fn, args);
    if (!actor) {
        fprintf(stderr, "marina: cannot start the %s\n", who);
        return 1;
    }
    char status[32] = "aborted";
    zmsg_t *first = zmsg_recv(actor);
    char *kind = first ? zmsg_popstr(first) : NULL;
    if (kind && strcmp(kind, "READY") == 0) {
        char line[1024] = "";
        for (char *ep = zmsg_popstr(first); ep; ep = zmsg_popstr(first)) {
            snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", line[0] ? " " : "",
                     ep);
            zstr_free(&ep);
        }
        if (line[0]) {
            if (o->report_fd >= 0) {
                dprintf(o->report_fd, "%s\n", line);
                close(o->report_fd);
            } else {
                printf("%s\n", line);
                fflush(stdout);
            }
        }
    } else if (kind && strcmp(kind, "DONE") == 0) {
        char *st = zmsg_popstr(first), *reason = zmsg_popstr(first);
        s_write_exit_note(o->exit_note, st, reason);
        zstr_free(&st);
        zstr_free(&reason);
        zmsg_destroy(&first);
        zstr_free(&kind);
        zactor_destroy(&actor);
        return 1;
    }
    zstr_free(&kind);
    zmsg_destroy(&first);
    void *pipe = zsock_resolve(actor);
    // On an interrupt the actor itself ends its part (the server tells the others, the recorder
    // writes the final status): give it a moment to report DONE before stopping it.
    double interrupted_at = 0;
    int control = o->control_fd;
    char cline[1024];
    size_t cused = 0;
    while (interrupted_at == 0 || zclock_mono() - interrupted_at < HOST_GRACE_MS) {
        if (zsys_interrupted && interrupted_at == 0)
            interrupted_at = (double) zclock_mono();
        zmq_pollitem_t items[2] = {{pipe, 0, ZMQ_POLLIN, 0}, {NULL, control, ZMQ_POLLIN, 0}};
        int ready = zmq_poll(items, control >= 0 ? 2 : 1, 100);
        if (ready > 0 && control >= 0 && items[1].revents) {
            // The launcher's control channel: "STOP reason" lines go to the actor's pipe. Only
            // the launcher holds this descriptor; the network cannot write to it.
            ssize_t got = read(control, cline + cused, 1);
            if (got <= 0) {
                control = -1;  // the launcher closed it: nothing more will come
            } else if (cline[cused] == '\n' || cused + 2 >= sizeof cline) {
                cline[cused] = '\0';
                int fail = strncmp(cline, "FAIL", 4) == 0;
                if (fail || strncmp(cline, "STOP", 4) == 0 || strncmp(cline, "LOST", 4) == 0)
                    zstr_sendx(actor,
                               fail                             ? "FAIL"
                               : strncmp(cline, "STOP", 4) == 0 ? "STOP"
                                                                : "LOST",
                               cline[4] == ' ' ? cline + 5 : "", NULL);
                cused = 0;
            } else {
                cused++;
            }
        }
        if (ready > 0 && items[0].revents) {
            zmsg_t *msg = zmsg_recv(actor);
            char *what = msg ? zmsg_popstr(msg) : NULL;
            int done = what && strcmp(what, "DONE") == 0;
            if (done) {
                char *st = zmsg_popstr(msg), *reason = zmsg_popstr(msg);
                snprintf(status, sizeof status, "%s", st ? st : "failed");
                s_write_exit_note(o->exit_note, status, reason);
                zstr_free(&st);
                zstr_free(&reason);
            }
            zstr_free(&what);
            zmsg_destroy(&msg);
            if (done)
                break;
        }
        if (o->watch_parent && getppid() != parent) {
            zsys_error("%s: the launcher died; stopping", who);
            break;
        }
    }
    zactor_destroy(&actor);
    if (strcmp(status, "completed") == 0 || strcmp(status, "stopped") == 0)
        return 0;
    return strcmp(status, "aborted") == 0 ? 130 : 1;
}

//  Reads the run token (hex, one line) of --token-file into out; 0, or prints why and returns 2.
static int
s_read_token(const char *path, char *out, size_t size, const char *cmd)
{
    out[0] = '\0';
    if (!path)
        return 0;
    FILE *f = fopen(path, "r");
    int ok = f && fgets(out, (int) size, f) != NULL;
    if (f)
        fclose(f);
    out[ok ? strspn(out, "0123456789abcdef") : 0] = '\0';
    if (!ok || strlen(out) < 16) {
        fprintf(stderr, "marina %s: --token-file %s: no run token there\n", cmd, path);
        return 2;
    }
    return 0;
}

//  Writes a fresh run token (32 random hex digits, from /dev/urandom) to path, mode 0600; the
//  server and the recorder of one launch read it (--token-file). 0 or -1.
static int
s_write_token(const char *path)
{
    unsigned char raw[16];
    FILE *r = fopen("/dev/urandom", "rb");
    int ok = r && fread(raw, 1, sizeof raw, r) == sizeof raw;
    if (r)
        fclose(r);
    int fd = ok ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (fd < 0)
        return -1;
    char hex[2 * sizeof raw + 2];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[2 * sizeof raw] = '\n';
    ok = write(fd, hex, 2 * sizeof raw + 1) == (ssize_t) (2 * sizeof raw + 1);
    return close(fd) == 0 && ok ? 0 : -1;
}

//  The keys folder the actors use: keys_dir with security=curve, else NULL (plain sockets).
static const char *
s_keys_dir(const cfg_t *cfg)
{
    return strcmp(cfg_str(cfg, "security"), "curve") == 0 ? cfg_str(cfg, "keys_dir") : NULL;
}

//  Checks the security keys: security is none or curve, and with curve keys_dir holds keys
//  (unless may_make: `marina run` then makes one-off keys). 0, or prints why and returns 2.
static int
s_check_security(const cfg_t *cfg, const char *cmd, int may_make)
{
    const char *sec = cfg_str(cfg, "security");
    if (strcmp(sec, "none") != 0 && strcmp(sec, "curve") != 0) {
        fprintf(stderr, "marina %s: security = '%s' is unknown (none or curve)\n", cmd, sec);
        return 2;
    }
    mr_err_t err;
    if (strcmp(sec, "curve") == 0 && !(may_make && !cfg_str(cfg, "keys_dir")[0]) &&
        sec_keys_check(cfg_str(cfg, "keys_dir"), &err) != MR_OK) {
        fprintf(stderr, "marina %s: %s\n", cmd, err.text);
        return 2;
    }
    return 0;
}

//  The server's configuration for the experiment e of cfg, bound at the three endpoints ep.
static void
s_server_cfg(const cfg_t *cfg, const experiment_t *e, const char *const ep[3], server_cfg_t *sc)
{
    *sc = (server_cfg_t){0};
    sc->ep_bcast = ep[0];
    sc->ep_up = ep[1];
    sc->ep_stats = ep[2];
    sc->method = e->method;
    sc->mp = e->mp;
    sc->rounds = e->rounds;
    sc->seed = (uint64_t) cfg_int(cfg, "seed");
    sc->honest = e->honest;
    sc->forward_honest = e->mp.byzantine > 0 && attack_needs_honest(e->attack.kind);
    sc->downlink_dense = e->downlink_dense;
    sc->continue_on_loss = e->mp.allow_absent;
    sc->metrics_every = e->metrics_every;
    sc->worker_rows_every = e->worker_rows_every;
    sc->checkpoint_every = e->checkpoint_every;
    sc->checkpoint_auto_s = e->checkpoint_auto_s;
    comp_t comp;
    sc->max_nnz = e->mp.dim;
    if (comp_init(&comp, &e->mp.comp, e->mp.dim, NULL) == MR_OK) {
        sc->max_nnz = comp_max_nnz(&comp);
        comp_fini(&comp);
    }
    sc->max_invalid = (uint64_t) e->max_invalid;
    experiment_run_info(e, cfg, &sc->run);
    sc->with_recorder = 1;
    sc->timeout_s = cfg_real(cfg, "timeout_s");
    sc->progress_s = cfg_real(cfg, "progress_s");
    sc->stop_at = cfg_real(cfg, "stop_at");
    sc->stop_gap = cfg_real(cfg, "stop_gap");
    sc->join_config = e->join_config;
    sc->join_digest = e->join_digest;
    sc->shard_fp = e->shard_fp;
    sc->keys_dir = s_keys_dir(cfg);
}

static int
s_server_ready(const opts_t *o, const cfg_t *cfg)
{
    (void) cfg;
    return o->bind[0] && o->bind[1] && o->bind[2];
}

static int
s_worker_ready(const opts_t *o, const cfg_t *cfg)
{
    return o->connect[0] && o->id >= 0 && o->id < cfg_int(cfg, "n");
}

//  Worker (or, for ids G..n-1, attacker) id of experiment e, connected to bcast and up.
static worker_cfg_t
s_worker_cfg(const cfg_t *cfg, const experiment_t *e, size_t id, const char *bcast, const char *up)
{
    return (worker_cfg_t){.ep_bcast = bcast,
                          .ep_up = up,
                          .id = (uint32_t) id,
                          .method = e->method,
                          .mp = e->mp,
                          .loss = &e->losses[id],
                          .seed = (uint64_t) cfg_int(cfg, "seed"),
                          .timeout_s = cfg_real(cfg, "timeout_s"),
                          .attack = id >= e->honest ? &e->attack : NULL,
                          .honest = e->honest,
                          .join_config = e->join_config,
                          .join_digest = e->join_digest,
                          .shard_fp = e->shard_fp[id],
                          .fault = e->fault_on && id < e->honest ? &e->fault : NULL,
                          .keys_dir = s_keys_dir(cfg)};
}

//  The common start of `marina server|worker`: parses the arguments, answers --help, checks the
//  options ready() needs (else prints missing), resolves the experiment. Returns -1 when the
//  actor is to run (cfg and e are then the caller's to finish), else the exit code.
static int
s_actor_start(int argc,
              char **argv,
              const char *cmd,
              int (*ready)(const opts_t *, const cfg_t *),
              const char *missing,
              opts_t *o,
              cfg_t *cfg,
              experiment_t *e)
{
    if (cfg_init(cfg) != MR_OK)
        return 1;
    int rc = s_parse(argc, argv, 2, o, cfg, 0);
    if (rc == 0 && o->help) {
        s_command_help(cmd);
        cfg_fini(cfg);
        return 0;
    }
    if (rc == 0 && !ready(o, cfg)) {
        fprintf(stderr, "marina %s: %s\n", cmd, missing);
        rc = 2;
    }
    if (rc == 0)
        rc = s_check_security(cfg, cmd, 0);
    mr_err_t err;
    if (rc == 0 && experiment_init(e, cfg, &err) != MR_OK) {
        fprintf(stderr, "marina %s: %s\n", cmd, err.text);
        rc = 2;
    }
    if (rc != 0) {
        cfg_fini(cfg);
        return rc;
    }
    return -1;
}

static int
s_cmd_server(int argc, char **argv)
{
    opts_t o;
    cfg_t cfg;
    experiment_t e;
    int rc = s_actor_start(argc, argv, "server", s_server_ready,
                           "--bind BCAST UP STATS is required", &o, &cfg, &e);
    if (rc >= 0)
        return rc;
    s_logging("marina-server", o.verbose);
    mr_err_t err;
    char what[64];
    snprintf(what, sizeof what, "a server of n = %zu workers", e.mp.n);
    if (limits_ensure_fds(limits_fds_server(e.mp.n), what, &err) != MR_OK) {
        fprintf(stderr, "marina server: %s\n", err.text);
        experiment_fini(&e);
        cfg_fini(&cfg);
        return 2;
    }
    experiment_keep_shard(&e, SIZE_MAX);  // the server needs no data once f* is known
    //  A fixed port in use is refused now, before the server starts (exit 2, like a bad key).
    if (ports_check_free(o.bind, 3, &err) != MR_OK) {
        fprintf(stderr, "marina server: %s\n", err.text);
        experiment_fini(&e);
        cfg_fini(&cfg);
        return 2;
    }
    server_cfg_t sc;
    s_server_cfg(&cfg, &e, o.bind, &sc);
    sc.with_recorder = !o.no_recorder;
    char token[80];
    if (s_read_token(o.token_file, token, sizeof token, "server") != 0) {
        experiment_fini(&e);
        cfg_fini(&cfg);
        return 2;
    }
    sc.recorder_token = token[0] ? token : NULL;
    uint8_t *resume = NULL;
    if (o.resume && checkpoint_read_file(o.resume, &resume, &sc.resume_bytes, &err) != MR_OK) {
        fprintf(stderr, "marina server: %s\n", err.text);
        experiment_fini(&e);
        cfg_fini(&cfg);
        return 2;
    }
    sc.resume = resume;
    rc = s_host(server_actor, &sc, &o, "server");
    free(resume);
    experiment_fini(&e);
    cfg_fini(&cfg);
    return rc;
}

//  marina worker (attacker = 0) or marina attacker (attacker = 1): one seat of the run.
static int
s_cmd_seat(int argc, char **argv, int attacker)
{
    opts_t o;
    cfg_t cfg;
    experiment_t e;
    const char *cmd = attacker ? "attacker" : "worker";
    int rc = s_actor_start(argc, argv, cmd, s_worker_ready,
                           "--id I (0 <= I < n) and --connect BCAST UP are required", &o, &cfg, &e);
    if (rc >= 0)
        return rc;
    size_t id = (size_t) o.id;
    if (id >= e.mp.n || (id >= e.honest) != attacker) {
        if (id >= e.mp.n)
            fprintf(stderr, "marina %s: --id %zu: the run has %zu workers\n", cmd, id, e.mp.n);
        else
            fprintf(stderr,
                    "marina %s: --id %zu: ids 0..%zu are honest workers (marina worker), %zu..%zu "
                    "attackers (marina attacker)\n",
                    cmd, id, e.honest - 1, e.honest, e.mp.n - 1);
        experiment_fini(&e);
        cfg_fini(&cfg);
        return 2;
    }
    char ident[48];
    snprintf(ident, sizeof ident, "marina-%s-%zu", cmd, id);
    s_logging(ident, o.verbose);
    experiment_keep_shard(&e, id);  // this process holds its own shard only
    worker_cfg_t wc = s_worker_cfg(&cfg, &e, id, o.connect[0], o.connect[1]);
    uint8_t *resume = NULL;
    mr_err_t err;
    if (o.resume && checkpoint_read_file(o.resume, &resume, &wc.resume_bytes, &err) != MR_OK) {
        fprintf(stderr, "marina %s: %s\n", cmd, err.text);
        experiment_fini(&e);
        cfg_fini(&cfg);
        return 2;
    }
    wc.resume = resume;
    wc.rejoin = o.rejoin;
    rc = s_host(worker_actor, &wc, &o, ident);
    free(resume);
    experiment_fini(&e);
    cfg_fini(&cfg);
    return rc;
}

static int
s_cmd_recorder(int argc, char **argv)
{
    opts_t o;
    cfg_t cfg;
    if (cfg_init(&cfg) != MR_OK)
        return 1;
    int rc = s_parse(argc, argv, 2, &o, &cfg, 0);
    if (rc == 0 && o.help) {
        s_command_help("recorder");
        cfg_fini(&cfg);
        return 0;
    }
    if (rc == 0 && (!o.connect[0] || !o.db)) {
        fprintf(stderr, "marina recorder: --connect STATS UP and --db FILE are required\n");
        rc = 2;
    }
    if (rc == 0)
        rc = s_check_security(&cfg, "recorder", 0);
    char token[80] = "";
    if (rc == 0)
        rc = s_read_token(o.token_file, token, sizeof token, "recorder");
    if (rc == 0) {
        s_logging("marina-recorder", o.verbose);
        recorder_cfg_t rcfg = {o.connect[0], o.db, o.timeout_s, s_keys_dir(&cfg),
                               token[0] ? token : NULL};
        rc = s_host(recorder_actor, &rcfg, &o, "recorder");
    }
    cfg_fini(&cfg);
    return rc;
}

static int
s_print_summary(const char *db_path, int64_t run_id)
{
    db_summary_t s;
    mr_err_t err;
    if (db_run_summary(db_path, run_id, &s, &err) != MR_OK) {
        fprintf(stderr, "marina: cannot read the summary: %s\n", err.text);
        return -1;
    }
    double rps = s.wall_time_s > 0 && s.rounds > 1 ? (double) (s.rounds - 1) / s.wall_time_s : 0;
    printf("\nrun %lld %s  (%s)\n", (long long) s.run_id, s.status, db_path);
    if (s.error[0])
        printf("  reason               %s\n", s.error);
    uint64_t rounds = s.rounds > 0 ? s.rounds - 1 : 0;  // rows hold rounds 0..R
    printf("  rounds               %llu (+ round 0: %llu rows)\n", (unsigned long long) rounds,
           (unsigned long long) s.rounds);
    printf("  f                    %.6e -> %.6e\n", s.f_first, s.f_last);
    printf("  ||grad f||^2         %.6e -> %.6e  (x %.3g)\n", s.gns_first, s.gns_last,
           s.gns_first > 0 ? s.gns_last / s.gns_first : NAN);
    printf("  uplink bits (paper)  %llu\n", (unsigned long long) s.bits_paper_up);
    printf("  uplink bits (model)  %llu\n", (unsigned long long) s.bits_model_up);
    printf("  uplink bytes (wire)  %llu\n", (unsigned long long) s.bytes_wire_up);
    printf("  oracle calls         %llu\n", (unsigned long long) s.oracle_calls);
    printf("  wall time            %.3f s\n", s.wall_time_s);
    printf("  rounds/s             %.0f\n", rps);
    return 0;
}

static int
s_cmd_summary(int argc, char **argv)
{
    opts_t o;
    cfg_t cfg;
    if (cfg_init(&cfg) != MR_OK)
        return 1;
    int rc = s_parse(argc, argv, 2, &o, &cfg, 0);
    cfg_fini(&cfg);
    if (rc != 0)
        return rc;
    if (o.help) {
        s_command_help("summary");
        return 0;
    }
    char *end = NULL;
    long long id = o.run_id ? strtoll(o.run_id, &end, 10) : 0;
    if (o.run_id && (end == o.run_id || *end || id < 1)) {
        fprintf(stderr, "marina summary: --run '%s' is not a run id (1, 2, ...)\n", o.run_id);
        return 2;
    }
    // 1 when the database or the run cannot be read (the reason is on stderr).
    return s_print_summary(o.db ? o.db : "marina.db", id) == 0 ? 0 : 1;
}

//  Reads one line (the server's bound endpoints) from fd within timeout_s.
static int
s_read_line(int fd, char *line, size_t size, double timeout_s)
{
    size_t used = 0;
    while (used + 1 < size) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int) (timeout_s * 1000));
        if (r <= 0)
            return -1;
        ssize_t got = read(fd, line + used, 1);
        if (got <= 0)
            return -1;
        if (line[used] == '\n') {
            line[used] = '\0';
            return 0;
        }
        used++;
    }
    return -1;
}

//  Asks the server to abort the run with reason (recorded in the database) on its control channel
//  (control: the launcher's end), and gives it up to timeout_s to end before the caller signals
//  everybody. The network cannot do this: a STOP on the server's sockets is rejected.
static void
s_abort_server(spawn_t *sp, int control, const char *reason, double timeout_s, int failed)
{
    if ((failed ? spawn_control_fail(control, reason) : spawn_control_stop(control, reason)) != 0)
        return;  // the server is gone already
    // The server ends first, its STOP tells the workers and the recorder.
    for (double waited = 0; waited < timeout_s && !sp->children[0].done; waited += 0.02) {
        spawn_reap(sp);
        zclock_sleep(20);
    }
}

//  Removes the run folders (/tmp/marina-run-PID-XXXXXX: run.ini and ipc sockets) that launchers
//  no longer alive left behind, e.g. one killed with SIGKILL, which cannot clean up itself.
static void
s_clean_stale_run_dirs(void)
{
    DIR *tmp = opendir("/tmp");
    struct dirent *de;
    while (tmp && (de = readdir(tmp))) {
        long pid = 0;
        char tail[32];
        if (sscanf(de->d_name, "marina-run-%ld-%31s", &pid, tail) != 2 || pid <= 0 ||
            (kill((pid_t) pid, 0) == 0 || errno != ESRCH))
            continue;
        char path[300];
        static const char *const files[] = {"run.ini", "bcast", "up",
                                            "stats",   "token", "checkpoint"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "/tmp/%s/%s", de->d_name, files[i]);
            unlink(path);
        }
        snprintf(path, sizeof path, "/tmp/%s/keys", de->d_name);
        sec_keys_remove(path, s_run_key_names, S_RUN_KEY_COUNT);
        snprintf(path, sizeof path, "/tmp/%s", de->d_name);
        spawn_remove_notes(path);
        rmdir(path);
    }
    if (tmp)
        closedir(tmp);
}

//  After a failed run: a run of this launch (id > last_run and the launch token in its config;
//  other launches may be writing the same file) that no recorder finished (the recorder died,
//  or was killed) is marked failed with why, so that no run stays 'running'.
static void
s_fail_orphans(const char *path, int64_t last_run, const char *launch, const char *why)
{
    mr_err_t err;
    db_t *db = db_open(path, &err);
    int marked = 0;
    char reason[400];
    snprintf(reason, sizeof reason, "no end was recorded (marked by the launcher): %s",
             why && why[0] ? why : "an actor failed");
    if (!db || db_fail_running_after(db, last_run, launch, reason, &marked, &err) != MR_OK)
        fprintf(stderr, "marina: cannot mark the run failed in %s: %s\n", path, err.text);
    else if (marked > 0)
        fprintf(stderr, "marina: run marked failed in %s: %s\n", path, reason);
    db_close(&db);
}

//  How often a recorder that dies is started again during one run (processes launch).
#define RECORDER_RESTARTS 3
//  How many new worker processes may join a run again, in all (on_worker_loss = continue).
#define WORKER_RESTARTS 8

//  Runs the experiment as processes: server, recorder and n workers.
static int
s_run_processes(const cfg_t *cfg,
                const experiment_t *e,
                const char *config_path,
                const char *tmpdir,
                const resume_t *resume,
                char *why,
                size_t why_size)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        fprintf(stderr, "marina: cannot find my own executable\n");
        return 1;
    }
    exe[len] = '\0';
    char ep[3][512];
    const char *names[3] = {"bcast", "up", "stats"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(cfg_str(cfg, "transport"), "ipc") == 0)
            snprintf(ep[i], sizeof ep[i], "ipc://%s/%s", tmpdir, names[i]);
        else
            snprintf(ep[i], sizeof ep[i], "tcp://127.0.0.1:*");
    }
    // The run token (in the private run folder) tells the server which stats reader is the
    // recorder it starts, even without CURVE.
    char token_path[4200];
    snprintf(token_path, sizeof token_path, "%s/token", tmpdir);
    if (s_write_token(token_path) != 0) {
        fprintf(stderr, "marina: cannot write %s\n", token_path);
        return 1;
    }
    // A resumed run: every actor reads the checkpoint from the private run folder.
    char ckpt_path[4200];
    snprintf(ckpt_path, sizeof ckpt_path, "%s/checkpoint", tmpdir);
    mr_err_t err;
    if (resume && resume_write(resume, ckpt_path, &err) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        return 1;
    }
    spawn_t sp;
    spawn_init(&sp);
    int fds[2], control[2];
    if (spawn_control_pair(control) != 0) {
        perror("marina: socketpair");
        return 1;
    }
    for (int i = 0; i < 2; i++) {  // away from fd 3 (the server's report descriptor), like those
        int moved = fcntl(control[i], F_DUPFD_CLOEXEC, 10);
        if (moved >= 0) {
            close(control[i]);
            control[i] = moved;
        }
    }
    if (pipe(fds) != 0) {
        perror("marina: pipe");
        close(control[0]);
        close(control[1]);
        return 1;
    }
    // Keep the report pipe away from fd 3 and out of every other child.
    int report_w = fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
    int report_r = fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
    close(fds[0]);
    close(fds[1]);
    //  Each child writes why it failed to its exit note, for runs.error (spawn_describe_noted).
    char server_note[4200], recorder_note[4200];
    spawn_note_path(tmpdir, "server", server_note, sizeof server_note);
    spawn_note_path(tmpdir, "recorder", recorder_note, sizeof recorder_note);
    char *server_argv[] = {exe,
                           "server",
                           "--config",
                           (char *) config_path,
                           "--bind",
                           ep[0],
                           ep[1],
                           ep[2],
                           "--report-fd",
                           "3",
                           "--control-fd",
                           "0",
                           "--token-file",
                           token_path,
                           "--watch-parent",
                           "--exit-note",
                           server_note,
                           resume ? "--resume" : NULL,
                           ckpt_path,
                           NULL};
    int rc = spawn_start_stdin(&sp, "server", server_argv, report_w, control[0], &err);
    close(report_w);
    close(control[0]);
    char line[1600];
    if (rc == MR_OK && s_read_line(report_r, line, sizeof line, cfg_real(cfg, "timeout_s")) != 0) {
        rc = MR_EPEER;
        fprintf(stderr, "marina: the server did not report its endpoints\n");
    }
    close(report_r);
    char bound[3][512];
    if (rc == MR_OK && sscanf(line, "%511s %511s %511s", bound[0], bound[1], bound[2]) != 3) {
        rc = MR_EPEER;
        fprintf(stderr, "marina: the server reported '%s', not three endpoints\n", line);
    }
    char timeout[32], security[32], keys[4200];
    snprintf(timeout, sizeof timeout, "%g", cfg_real(cfg, "timeout_s"));
    snprintf(security, sizeof security, "security=%s", cfg_str(cfg, "security"));
    snprintf(keys, sizeof keys, "keys_dir=%s", cfg_str(cfg, "keys_dir"));
    char *rec_argv[] = {exe,
                        "recorder",
                        "--connect",
                        bound[2],
                        bound[1],
                        "--db",
                        (char *) cfg_str(cfg, "db"),
                        "--timeout",
                        timeout,
                        security,
                        keys,
                        "--token-file",
                        token_path,
                        "--watch-parent",
                        "--exit-note",
                        recorder_note,
                        NULL};
    if (rc == MR_OK)
        rc = spawn_start(&sp, "recorder", rec_argv, -1, &err);
    for (size_t i = 0; rc == MR_OK && i < e->mp.n; i++) {
        char id[32], role[32], note[4200];
        const char *seat = i < e->honest ? "worker" : "attacker";
        snprintf(id, sizeof id, "%zu", i);
        snprintf(role, sizeof role, "%s %zu", seat, i);
        spawn_note_path(tmpdir, role, note, sizeof note);
        char *w_argv[] = {exe,
                          (char *) seat,
                          "--config",
                          (char *) config_path,
                          "--id",
                          id,
                          "--connect",
                          bound[0],
                          bound[1],
                          "--watch-parent",
                          "--exit-note",
                          note,
                          resume ? "--resume" : NULL,
                          ckpt_path,
                          NULL};
        rc = spawn_start(&sp, role, w_argv, -1, &err);
    }
    //  A new process for a lost worker (on_worker_loss = continue) joins again with --rejoin.
    char rejoin_note[4200];
    char *rejoin_argv[] = {exe,         "worker",   "--config",       (char *) config_path,
                           "--id",      NULL,       "--connect",      bound[0],
                           bound[1],    "--rejoin", "--watch-parent", "--exit-note",
                           rejoin_note, NULL};
    int rejoins = e->mp.allow_absent && e->method->worker_rejoin != NULL;
    int worker_restarts = 0;
    if (rc != MR_OK && err.text[0])
        fprintf(stderr, "marina: %s\n", err.text);
    int failed = rc != MR_OK;
    if (failed)
        spawn_signal_all(&sp, SIGTERM);
    // Watch the children: the first failure (or Ctrl-C) stops them all; with on_worker_loss =
    // continue an honest worker's death does not (the server loses it at the round's deadline).
    int lost_ok = e->mp.allow_absent;
    int recorder_restarts = 0;
    while (!failed && spawn_running(&sp) > 0) {
        int bad = spawn_reap(&sp);
        if (bad >= 0 && strcmp(sp.children[bad].role, "recorder") == 0 &&
            recorder_restarts < RECORDER_RESTARTS) {
            // The server keeps the rows the recorder did not acknowledge; a new recorder
            // continues the run in the database and gets them again (docs/protocol.md).
            char how[640];
            spawn_describe_noted(&sp.children[bad], tmpdir, how, sizeof how);
            recorder_restarts++;
            fprintf(stderr, "marina: the recorder (pid %d) %s; starting another (%d of %d)\n",
                    (int) sp.children[bad].pid, how, recorder_restarts, RECORDER_RESTARTS);
            sp.children[bad].restarted = 1;
            if (spawn_start(&sp, "recorder", rec_argv, -1, &err) != MR_OK) {
                fprintf(stderr, "marina: %s\n", err.text);
                snprintf(why, why_size, "the recorder %s and could not be started again", how);
                failed = 1;
                s_abort_server(&sp, control[1], why, 5.0, 1);
                spawn_signal_all(&sp, SIGTERM);
            }
        } else if (bad >= 0 && lost_ok && strncmp(sp.children[bad].role, "worker ", 7) == 0) {
            spawn_child_t *c = &sp.children[bad];
            char how[640], lost[720], role[32];
            spawn_describe_noted(c, tmpdir, how, sizeof how);
            snprintf(role, sizeof role, "%s", c->role);
            snprintf(lost, sizeof lost, "%s %s (pid %d) %s", role + 7, role, (int) c->pid, how);
            spawn_control_lost(control[1], lost);  // the server need not wait for its deadline
            if (rejoins && worker_restarts < WORKER_RESTARTS) {
                worker_restarts++;
                c->restarted = 1;
                fprintf(stderr,
                        "marina: the %s (pid %d) %s; the run goes on without it and a new "
                        "process joins it again (%d of %d, on_worker_loss = continue)\n",
                        role, (int) c->pid, how, worker_restarts, WORKER_RESTARTS);
                rejoin_argv[5] = role + 7;  // its id
                spawn_note_path(tmpdir, role, rejoin_note, sizeof rejoin_note);
                unlink(rejoin_note);  // the new process speaks for itself
                if (spawn_start(&sp, role, rejoin_argv, -1, &err) != MR_OK)
                    fprintf(stderr, "marina: %s; the run goes on without %s\n", err.text, role);
            } else {
                fprintf(stderr,
                        "marina: the %s (pid %d) %s; the run goes on without it (on_worker_loss "
                        "= continue%s)\n",
                        role, (int) c->pid, how,
                        rejoins ? ": no restarts left"
                                : "; its method's workers cannot join again");
            }
        } else if (bad >= 0) {
            char how[640];
            spawn_describe_noted(&sp.children[bad], tmpdir, how, sizeof how);
            char reason[720];
            snprintf(reason, sizeof reason, "the %s (pid %d) %s", sp.children[bad].role,
                     (int) sp.children[bad].pid, how);
            fprintf(stderr, "marina: %s; stopping the run\n", reason);
            snprintf(why, why_size, "%s", reason);
            failed = 1;
            if (bad != 0)
                s_abort_server(&sp, control[1], reason, 5.0, 1);
            spawn_signal_all(&sp, SIGTERM);
        } else if (s_stop_signal) {
            fprintf(stderr, "marina: interrupted; stopping every actor\n");
            failed = 1;
            char reason[80];
            snprintf(reason, sizeof reason, "interrupted by signal %d (%s)", (int) s_stop_signal,
                     strsignal((int) s_stop_signal));
            snprintf(why, why_size, "%s", reason);
            s_abort_server(&sp, control[1], reason, 5.0, 0);
            spawn_signal_all(&sp, SIGTERM);
        } else {
            zclock_sleep(20);
        }
    }
    spawn_wait_all(&sp, GRACE_S);
    close(control[1]);
    for (size_t i = 0; i < sp.count; i++) {
        spawn_child_t *c = &sp.children[i];
        if ((WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0) || c->restarted)
            continue;
        if (lost_ok && strncmp(c->role, "worker ", 7) == 0)
            continue;  // lost, and said so above
        char how[640];
        spawn_describe_noted(c, tmpdir, how, sizeof how);
        if (!failed)
            fprintf(stderr, "marina: the %s (pid %d) %s\n", c->role, (int) c->pid, how);
        failed = 1;
    }
    spawn_fini(&sp);
    return failed ? 1 : 0;
}

//  How many threads host the G honest workers of an inproc run: 'threads', or (0, auto) one per
//  online core (never more than G): more threads than cores only add wake-ups and switches
//  (docs/bench.md, benchmark (a)).
static size_t
s_worker_threads(const cfg_t *cfg, size_t honest)
{
    size_t want = (size_t) cfg_int(cfg, "threads");
    if (want == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        want = (size_t) (cores > 0 ? cores : 1);
    }
    return want < honest ? want : honest;
}

//  Runs the experiment as threads of this process over inproc:// (one zactor per actor, the
//  honest workers grouped by s_worker_threads()).
static int
s_run_threads(const cfg_t *cfg, const experiment_t *e, const resume_t *resume)
{
    s_logging("marina", 0);
    size_t n = e->mp.n;
    // Names of this run alone: a sweep's next run must not meet the last one's endpoints, which
    // ZeroMQ may not have released yet ("Address already in use").
    static const char *const names[3] = {"bcast", "up", "stats"};
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char ep[3][64];
    const char *inproc[3];
    for (int i = 0; i < 3; i++) {
        snprintf(ep[i], sizeof ep[i], "inproc://marina-%s-%lld-%ld", names[i],
                 (long long) now.tv_sec, (long) now.tv_nsec);
        inproc[i] = ep[i];
    }
    server_cfg_t sc;
    s_server_cfg(cfg, e, inproc, &sc);
    sc.resume = resume ? resume->state : NULL;
    sc.resume_bytes = resume ? resume->bytes : 0;
    sc.keys_dir = NULL;  // one process: no socket leaves it, CURVE does not apply to inproc://
    recorder_cfg_t rcfg = {sc.ep_stats, cfg_str(cfg, "db"), sc.timeout_s, NULL, NULL};
    //  The honest workers share `hosts` threads (worker_host_actor), each attacker has its own.
    size_t honest = e->honest, hosts = s_worker_threads(cfg, honest);
    size_t nactors = hosts + (n - honest);
    worker_cfg_t *wc = calloc(n, sizeof *wc);
    worker_host_cfg_t *hc = calloc(hosts ? hosts : 1, sizeof *hc);
    zactor_t **actors = calloc(nactors + 2, sizeof *actors);
    if (!wc || !hc || !actors) {
        free(wc);
        free(hc);
        free(actors);
        return 1;
    }
    int failed = 0;
    seat_share_t *share = NULL;
    actors[0] = zactor_new(server_actor, &sc);
    char *ready = zstr_recv(actors[0]);  // READY (endpoints follow) or DONE failed
    failed = !ready || strcmp(ready, "READY") != 0;
    zstr_free(&ready);
    zsock_flush(actors[0]);
    if (!failed) {
        actors[1] = zactor_new(recorder_actor, &rcfg);
        for (size_t i = 0; i < n; i++) {
            wc[i] = s_worker_cfg(cfg, e, i, sc.ep_bcast, sc.ep_up);
            wc[i].resume = resume ? resume->state : NULL;
            wc[i].resume_bytes = resume ? resume->bytes : 0;
            wc[i].keys_dir = NULL;
        }
        //  Host h serves the honest ids [h G / hosts, (h + 1) G / hosts), and with several
        //  hosts (no injected faults) they share the seats out round by round.
        if (hosts > 1 && !wc[0].fault)
            share = seat_share_new(honest);
        for (size_t h = 0; h < hosts; h++) {
            size_t lo = h * honest / hosts, hi = (h + 1) * honest / hosts;
            hc[h] = (worker_host_cfg_t){&wc[lo], hi - lo, share, (int) (h % 2)};
            actors[2 + h] = zactor_new(worker_host_actor, &hc[h]);
        }
        for (size_t i = honest; i < n; i++)
            actors[2 + hosts + (i - honest)] = zactor_new(worker_actor, &wc[i]);
        // Each actor says READY (or DONE failed) first; then wait for the server's DONE.
        for (size_t i = 1; i < nactors + 2; i++) {
            char *what = zstr_recv(actors[i]);
            if (what && strcmp(what, "DONE") == 0)
                failed = 1;
            zstr_free(&what);
            zsock_flush(actors[i]);
        }
        //  A worker (or the recorder) that ends first says why: the server is stopped with that
        //  reason, so the run's error names it (not the round it then waits for in vain).
        int told = 0;
        while (!failed && !zsys_interrupted) {
            for (size_t i = 1; !told && i < nactors + 2; i++) {
                zmq_pollitem_t it = {zsock_resolve(actors[i]), 0, ZMQ_POLLIN, 0};
                if (zmq_poll(&it, 1, 0) <= 0)
                    continue;
                char *what = NULL, *status = NULL, *reason = NULL;
                zstr_recvx(actors[i], &what, &status, &reason, NULL);
                if (what && strcmp(what, "DONE") == 0 && status &&
                    strcmp(status, "completed") != 0 && strcmp(status, "stopped") != 0) {
                    char why[600];
                    snprintf(why, sizeof why, "%s", reason && reason[0] ? reason : status);
                    fprintf(stderr, "marina: %s; stopping the run\n", why);
                    zstr_sendx(actors[0], "FAIL", why, NULL);  // status failed, as over tcp
                    told = 1;
                }
                zstr_free(&what);
                zstr_free(&status);
                zstr_free(&reason);
            }
            zmq_pollitem_t item = {zsock_resolve(actors[0]), 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 250) <= 0)
                continue;
            char *what = NULL, *status = NULL;
            zstr_recvx(actors[0], &what, &status, NULL);
            if (what && strcmp(what, "DONE") == 0) {
                failed = !status || strcmp(status, "completed") != 0;
                zstr_free(&what);
                zstr_free(&status);
                break;
            }
            zstr_free(&what);
            zstr_free(&status);
        }
        // The recorder finishes after the server's STOP; give it the time to commit.
        if (actors[1]) {
            zmq_pollitem_t item = {zsock_resolve(actors[1]), 0, ZMQ_POLLIN, 0};
            zmq_poll(&item, 1, (long) (GRACE_S * 1000));
        }
    }
    if (zsys_interrupted)
        failed = 1;
    for (size_t i = nactors + 2; i-- > 0;)
        zactor_destroy(&actors[i]);
    seat_share_destroy(&share);  // after the hosts that used it
    free(actors);
    free(hc);
    free(wc);
    return failed;
}

//  Runs one experiment described by cfg: checks everything first (exit 2 on a bad parameter),
//  starts the actors, prints the summary. Returns the exit code.
static int
s_run_one(cfg_t *cfg, const resume_t *resume)
{
    const char *transport = cfg_str(cfg, "transport");
    if (strcmp(transport, "tcp") && strcmp(transport, "ipc") && strcmp(transport, "inproc")) {
        fprintf(stderr, "marina: transport = '%s' is unknown (tcp, ipc or inproc)\n", transport);
        return 2;
    }
    if (s_check_security(cfg, "run", 1) != 0)
        return 2;
    if (strcmp(transport, "inproc") == 0 && s_keys_dir(cfg))
        fprintf(stderr, "marina: transport = inproc: the actors are threads of one process and no "
                        "socket leaves it; security = curve does not apply\n");
    // A token of this launch, stored with the run (runs.config: "launch = TOKEN"): other
    // launches may write the same file at once, so "the latest run" need not be ours. Set before
    // experiment_init(), whose resolved config the inproc server sends.
    if (!cfg_str(cfg, "launch")[0]) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        char token[64];
        snprintf(token, sizeof token, "%ld-%lld.%09ld", (long) getpid(), (long long) now.tv_sec,
                 (long) now.tv_nsec);
        cfg_set(cfg, "launch", token, "launch", NULL);
    }
    // Every parameter is checked here, before any actor starts.
    mr_err_t err;
    experiment_t e;
    if (experiment_init(&e, cfg, &err) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        return 2;
    }
    // The database too: one that cannot be opened, or is another program's (or another
    // schema's), is refused now, not by the recorder after every actor started.
    db_t *db = db_open(cfg_str(cfg, "db"), &err);
    int64_t last_run = 0;
    if (db && resume)
        last_run = resume->run_id - 1;  // the run continued is this launch's
    else if (!db || db_last_run_id(db, &last_run, &err) != MR_OK) {
        fprintf(stderr, "marina: db = %s: %s\n", cfg_str(cfg, "db"), err.text);
        db_close(&db);
        experiment_fini(&e);
        return 2;
    }
    db_close(&db);
    const char *launch = cfg_str(cfg, "launch");
    char why[720] = "";
    // The actors get f* as a number: they need not compute it again.
    char num[64];
    snprintf(num, sizeof num, "%.17g", e.f_star);
    if (!isnan(e.f_star))
        cfg_set(cfg, "fstar", num, "f*", NULL);
    fprintf(stderr,
            "marina: %s with %s (omega=%.4g), n=%zu, d=%zu, %zu samples, L=%.4g, gamma=%.4g, "
            "p=%.4g, %lld rounds -> %s\n",
            e.method->name, comp_kind_name(e.mp.comp.kind), e.omega, e.mp.n, e.mp.dim, e.data.rows,
            e.L, e.mp.gamma, e.mp.p, (long long) e.rounds, cfg_str(cfg, "db"));
    int rc;
    char what[96];
    snprintf(what, sizeof what, "n = %zu workers over %s (the server)", e.mp.n, transport);
    size_t max_sockets = 0;
    if ((strcmp(transport, "inproc") == 0
             ? limits_prepare_inproc(s_worker_threads(cfg, e.honest) + (e.mp.n - e.honest),
                                     &max_sockets, &err)
             : limits_ensure_fds(limits_fds_server(e.mp.n), what, &err)) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        experiment_fini(&e);
        return 2;
    }
    if (max_sockets > 1024)
        zsys_set_max_sockets(max_sockets);  // CZMQ's default is 1024 sockets per process
    if (strcmp(transport, "inproc") == 0) {
        rc = s_run_threads(cfg, &e, resume);
    } else {
        s_clean_stale_run_dirs();
        char tmpdir[64];
        snprintf(tmpdir, sizeof tmpdir, "/tmp/marina-run-%ld-XXXXXX", (long) getpid());
        char config_path[sizeof tmpdir + 16] = "";
        char keys[sizeof tmpdir + 16] = "";
        FILE *f = NULL;
        int keys_ok = 1;
        if (mkdtemp(tmpdir)) {
            snprintf(config_path, sizeof config_path, "%s/run.ini", tmpdir);
            // security=curve without keys_dir: one-off keys for this run, in its private folder.
            if (s_keys_dir(cfg) && !cfg_str(cfg, "keys_dir")[0]) {
                snprintf(keys, sizeof keys, "%s/keys", tmpdir);
                keys_ok = sec_keys_make(keys, s_run_key_names, S_RUN_KEY_COUNT, &err) == MR_OK &&
                          cfg_set(cfg, "keys_dir", keys, "run", &err) == MR_OK;
                if (!keys_ok)
                    fprintf(stderr, "marina: %s\n", err.text);
            }
            f = keys_ok ? fopen(config_path, "w") : NULL;
        }
        char *ini = cfg_to_ini(cfg);
        if (!f || !ini || fputs(ini, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "marina: cannot write the run's config under /tmp\n");
            rc = 1;
        } else {
            rc = s_run_processes(cfg, &e, config_path, tmpdir, resume, why, sizeof why);
        }
        free(ini);
        unlink(config_path);
        if (keys[0])
            sec_keys_remove(keys, s_run_key_names, S_RUN_KEY_COUNT);
        char path[sizeof tmpdir + 16];
        for (int i = 0; i < 5; i++) {
            snprintf(path, sizeof path, "%s/%s", tmpdir,
                     (const char *[]){"bcast", "up", "stats", "token", "checkpoint"}[i]);
            unlink(path);
        }
        spawn_remove_notes(tmpdir);
        rmdir(tmpdir);
    }
    if (rc != 0)
        s_fail_orphans(cfg_str(cfg, "db"), last_run, launch, why);
    int64_t mine = 0;
    if (db_launch_run(cfg_str(cfg, "db"), launch, last_run, &mine, &err) != MR_OK)
        fprintf(stderr, "marina: cannot find this run in %s: %s\n", cfg_str(cfg, "db"), err.text);
    else if (mine > 0)
        s_print_summary(cfg_str(cfg, "db"), mine);
    else
        fprintf(stderr, "marina: no run was recorded in %s\n", cfg_str(cfg, "db"));
    experiment_fini(&e);
    return rc;
}

static void
s_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

//  marina run --resume RUN [db=FILE] [local key=value ...]: run RUN continues from its latest
//  checkpoint (resume.h). parsed holds the command line's keys (db among them).
static int
s_resume_run(const cfg_t *parsed, const char *run, int argc, char **argv)
{
    char *end = NULL;
    long long id = strtoll(run, &end, 10);
    if (end == run || *end || id < 1) {
        fprintf(stderr, "marina run: --resume '%s' is not a run id (1, 2, ...)\n", run);
        return 2;
    }
    char **args = calloc((size_t) argc, sizeof *args);
    size_t nargs = 0;
    for (int i = 2; args && i < argc; i++)
        if (argv[i][0] != '-' && strchr(argv[i], '=') && strncmp(argv[i], "db=", 3) != 0)
            args[nargs++] = argv[i];
    cfg_t cfg;
    resume_t r = {0};
    mr_err_t err;
    int cfg_ok = args && cfg_init(&cfg) == MR_OK;
    int rc = cfg_ok ? 0 : 1;
    if (rc == 0 &&
        resume_prepare(cfg_str(parsed, "db"), id, args, nargs, &cfg, &r, &err) != MR_OK) {
        fprintf(stderr, "marina run --resume: %s\n", err.text);
        rc = 2;
    }
    if (rc == 0) {
        fprintf(stderr, "marina: run %lld continues after round %llu (its checkpoint) in %s\n", id,
                (unsigned long long) r.round, cfg_str(&cfg, "db"));
        s_catch_signals();
        rc = s_run_one(&cfg, &r);
    }
    if (cfg_ok)
        cfg_fini(&cfg);
    resume_fini(&r);
    free(args);
    return rc;
}

static int
s_cmd_run(int argc, char **argv)
{
    opts_t o;
    cfg_t cfg;
    slurm_opts_t so;
    slurm_take_args(&argc, argv, &so);  // --slurm, --wait, --run-dir, -- sbatch options
    if (cfg_init(&cfg) != MR_OK)
        return 1;
    int rc = s_parse(argc, argv, 2, &o, &cfg, 1);
    if (rc == 0 && o.help)
        s_command_help("run");
    else if (rc == 0 && so.slurm)
        rc = slurm_run(&cfg, &so);
    else if (rc == 0 && so.hosts)
        rc = hosts_run(&cfg, so.hosts, so.run_dir);
    else if (rc == 0 && o.resume)
        rc = s_resume_run(&cfg, o.resume, argc, argv);
    else if (rc == 0) {
        s_catch_signals();
        rc = s_run_one(&cfg, NULL);
    }
    cfg_fini(&cfg);
    return rc;
}

//  marina report --db F [--metric grad_norm_sq|gap] [--eps E] [--absolute] [--where SQL]
//                [--round0 include|exclude] [--best-only]
static int
s_cmd_report(int argc, char **argv)
{
    report_cfg_t rc = {.metric = "grad_norm_sq", .eps = 1e-4, .relative = 1, .round0 = 0};
    const char *db = "marina.db";
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--metric") == 0 && i + 1 < argc)
            rc.metric = argv[++i];
        else if (strcmp(argv[i], "--eps") == 0 && i + 1 < argc)
            rc.eps = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--absolute") == 0)
            rc.relative = 0;
        else if (strcmp(argv[i], "--where") == 0 && i + 1 < argc)
            rc.where = argv[++i];
        else if (strcmp(argv[i], "--best-only") == 0)
            rc.best_only = 1;
        else if (strcmp(argv[i], "--round0") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "include") == 0 || strcmp(argv[i + 1], "exclude") == 0))
            rc.round0 = strcmp(argv[++i], "include") == 0;
        else {
            printf(
                "usage: marina report [--db FILE] [--metric grad_norm_sq|gap] [--eps E]\n"
                "                     [--absolute] [--where SQL] [--round0 include|exclude]\n"
                "                     [--best-only]\n"
                "Prints a Markdown table: for each run, the rounds, uplink bits (paper; in total\n"
                "and per worker, the papers' #bits/n) and oracle calls per node until the metric\n"
                "first fell to E times its round-0 value (or to E itself with --absolute).\n"
                "--where filters runs (alias r), e.g. \"r.name LIKE 'fig1-%%'\". --round0: count\n"
                "round 0 (n dense gradients) in bits and oracle calls or not (default: exclude,\n"
                "as the papers' plots). Runs that differ only in gamma (and seed) are a stepsize\n"
                "search: a second table names the gamma with the lowest final metric (best in\n"
                "hindsight); --best-only lists only those runs in the first.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (strcmp(rc.metric, "grad_norm_sq") && strcmp(rc.metric, "gap")) {
        fprintf(stderr, "marina: --metric '%s' is unknown (grad_norm_sq or gap)\n", rc.metric);
        return 2;
    }
    mr_err_t err;
    if (report_print(db, &rc, stdout, &err) != MR_OK) {
        fprintf(stderr, "marina: %s\n", err.text);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("marina %s\n", MARINA_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return s_cmd_run(argc, argv);
    if (strcmp(cmd, "server") == 0)
        return s_cmd_server(argc, argv);
    if (strcmp(cmd, "worker") == 0)
        return s_cmd_seat(argc, argv, 0);
    if (strcmp(cmd, "attacker") == 0)
        return s_cmd_seat(argc, argv, 1);
    if (strcmp(cmd, "recorder") == 0)
        return s_cmd_recorder(argc, argv);
    if (strcmp(cmd, "summary") == 0)
        return s_cmd_summary(argc, argv);
    if (strcmp(cmd, "sweep") == 0)
        return cmd_sweep(argc, argv);
    if (strcmp(cmd, "slurm-step") == 0)
        return slurm_cmd_step(argc, argv);
    if (strcmp(cmd, "slurm-task") == 0)
        return slurm_cmd_task(argc, argv);
    if (strcmp(cmd, "slurm-collect") == 0)
        return slurm_cmd_collect(argc, argv);
    if (strcmp(cmd, "query") == 0)
        return cmd_query(argc, argv);
    if (strcmp(cmd, "merge") == 0)
        return cmd_merge(argc, argv);
    if (strcmp(cmd, "plot") == 0)
        return cmd_plot(argc, argv);
    if (strcmp(cmd, "report") == 0)
        return s_cmd_report(argc, argv);
    if (strcmp(cmd, "keys") == 0)
        return cmd_keys(argc, argv);
    fprintf(stderr, "marina: unknown command '%s'\n\n", cmd);
    s_usage(stderr);
    return 2;
}
