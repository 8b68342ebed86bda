//  cmd_sweep.c - `marina sweep CONFIG [key=value ...] [key=v1,v2 | key=A..B ...] [jobs=J]`: the
//  runs of a sweep are every [section] of CONFIG (or CONFIG itself when it has none) times every
//  point of the grid the list arguments span. Every run is checked before the first starts.
//  Each run is a child `marina run` writing its own database in a private folder; when it ends,
//  its runs are merged into the sweep's database (storage/merge.h), so J runs at a time never
//  contend for one SQLite writer lock. A run whose configuration (all keys but name, db, fstar,
//  transport, progress_s, timeout_s, launch) already has a completed run in the database is skipped: a
//  sweep stopped half-way is resumed by running it again.
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "commands.h"
#include "experiment.h"
#include "grid.h"
#include "merge.h"
#include "query.h"
#include "slurm.h"

extern char **environ;

#define SWEEP_MAX_JOBS 256

static volatile sig_atomic_t s_signal = 0;

static void
s_on_signal(int sig)
{
    s_signal = sig;
}

//  One [section] of the sweep file: its name and key = value lines.
typedef struct {
    char *name;
    char **keys, **values;
    size_t count;
} s_section_t;

typedef struct {
    s_section_t *sections;  // sections[0] is "" (the keys above the first section) if present
    size_t count;
} s_file_t;

//  One run of the sweep, ready to start.
typedef struct {
    char *name;      // the run's name (section, then the grid point's label)
    char *db;        // the database it goes into
    char *ini;       // its whole configuration (db is replaced by the part file when it runs)
    long tasks;      // actors of the run (the tasks of its Slurm step)
    int skip;        // already completed in db
    pid_t pid;       // while running
    int exit_code;   // once ended (-1: not run)
    char part[512];  // its own database while it runs
    char log[512];   // its output (jobs > 1)
    char conf[512];  // its configuration file while it runs
} s_point_t;

static int
s_on_line(void *user, const char *section, const char *name, const char *value)
{
    s_file_t *f = user;
    if (f->count == 0 || strcmp(f->sections[f->count - 1].name, section) != 0) {
        s_section_t *grown = realloc(f->sections, (f->count + 1) * sizeof *grown);
        if (!grown)
            return 0;
        f->sections = grown;
        f->sections[f->count] = (s_section_t){strdup(section), NULL, NULL, 0};
        if (!f->sections[f->count++].name)
            return 0;
    }
    s_section_t *s = &f->sections[f->count - 1];
    char **keys = realloc(s->keys, (s->count + 1) * sizeof *keys);
    if (!keys)
        return 0;
    s->keys = keys;
    char **values = realloc(s->values, (s->count + 1) * sizeof *values);
    if (!values)
        return 0;
    s->values = values;
    s->keys[s->count] = strdup(name);
    s->values[s->count] = strdup(value ? value : "");
    s->count++;
    return 1;
}

static void
s_file_fini(s_file_t *f)
{
    for (size_t i = 0; i < f->count; i++) {
        for (size_t j = 0; j < f->sections[i].count; j++) {
            free(f->sections[i].keys[j]);
            free(f->sections[i].values[j]);
        }
        free(f->sections[i].keys);
        free(f->sections[i].values);
        free(f->sections[i].name);
    }
    free(f->sections);
}

static int
s_apply_section(cfg_t *cfg, const s_section_t *s, const char *path, mr_err_t *err)
{
    char where[512];
    snprintf(where, sizeof where, "%s [%s]", path, s->name[0] ? s->name : "common");
    for (size_t j = 0; j < s->count; j++) {
        int rc = cfg_set(cfg, s->keys[j], s->values[j], where, err);
        if (rc != MR_OK)
            return rc;
    }
    return MR_OK;
}

//  f* already found for a problem key during the checks: convex problems are solved once.
typedef struct {
    char *problem;
    double f_star;
} s_fstar_t;

typedef struct {
    s_fstar_t *items;
    size_t count;
} s_fstar_cache_t;

//  Checks cfg by resolving its experiment; with fstar = auto the f* found is written into cfg as
//  a number, so the run does not compute it again. Returns MR_OK or the error (err filled).
static int
s_check(cfg_t *cfg, s_fstar_cache_t *cache, mr_err_t *err)
{
    experiment_t e;
    int autof = strcmp(cfg_str(cfg, "fstar"), "auto") == 0;
    if (autof && cfg_set(cfg, "fstar", "off", "sweep", err) != MR_OK)
        return MR_ECONFIG;
    int rc = experiment_init(&e, cfg, err);
    if (rc != MR_OK || !autof)
        goto done;
    double f_star = NAN;
    for (size_t i = 0; i < cache->count; i++)
        if (strcmp(cache->items[i].problem, e.problem) == 0)
            f_star = cache->items[i].f_star;
    if (isnan(f_star)) {
        cfg_set(cfg, "fstar", "auto", "sweep", NULL);
        experiment_fini(&e);
        if ((rc = experiment_init(&e, cfg, err)) != MR_OK)
            return rc;
        f_star = e.f_star;
        s_fstar_t *grown = realloc(cache->items, (cache->count + 1) * sizeof *grown);
        if (grown && !isnan(f_star) && (grown[cache->count].problem = strdup(e.problem))) {
            grown[cache->count++].f_star = f_star;
        }
        if (grown)
            cache->items = grown;
    }
    char num[64];
    snprintf(num, sizeof num, "%.17g", f_star);
    cfg_set(cfg, "fstar", isnan(f_star) ? "auto" : num, "sweep", NULL);
done:
    if (rc == MR_OK)
        experiment_fini(&e);
    return rc;
}

static void
s_sweep_usage(FILE *out)
{
    fprintf(
        out,
        "usage: marina sweep CONFIG.ini [key=value ...] [key=v1,v2,... | key=A..B ...] "
        "[jobs=J]\n"
        "Runs one experiment per [section] of CONFIG (CONFIG itself if it has no sections)\n"
        "and per point of the grid that the list arguments span (seed=1..3 method=marina,diana\n"
        "is 6 runs), J at a time (default 1), into the database `db`. A run is named after\n"
        "its section and grid point (e.g. \"fig1 seed=2 method=diana\"); a run whose config\n"
        "(all keys but name, db, fstar, transport, progress_s, timeout_s) already has a\n"
        "completed run in the database is skipped, so running the same sweep again resumes\n"
        "it. Keys above the first section are shared; the command line\n"
        "overrides both. Every run is checked before the first starts.\n");
}

//  The file's name without folder and ".ini": the base name of a sweep without sections.
static void
s_stem(const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".ini") == 0)
        len -= 4;
    snprintf(out, size, "%.*s", (int) len, base);
}

static void
s_points_free(s_point_t *points, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(points[i].name);
        free(points[i].db);
        free(points[i].ini);
    }
    free(points);
}

//  Builds and checks every run. Returns 0 or the exit code (2: a bad run, named).
static int
s_build(const char *path,
        const s_file_t *file,
        const grid_t *grid,
        char **overrides,
        size_t override_count,
        s_point_t **points_p,
        size_t *count_p)
{
    size_t first = file->count > 0 && file->sections[0].name[0] == '\0' ? 1 : 0;
    size_t bases = file->count > first ? file->count - first : 1;
    size_t total = bases * grid_points(grid);
    s_point_t *points = calloc(total, sizeof *points);
    if (!points)
        return 1;
    s_fstar_cache_t cache = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < total; i++) {
        size_t b = i / grid_points(grid), p = i % grid_points(grid);
        const s_section_t *section = file->count > first ? &file->sections[first + b] : NULL;
        cfg_t cfg;
        mr_err_t err = {0};
        if (cfg_init(&cfg) != MR_OK) {
            rc = 1;
            break;
        }
        int bad = first && s_apply_section(&cfg, &file->sections[0], path, &err) != MR_OK;
        if (!bad && section)
            bad = s_apply_section(&cfg, section, path, &err) != MR_OK ||
                  cfg_set(&cfg, "name", section->name, path, &err) != MR_OK;
        for (size_t o = 0; !bad && o < override_count; o++) {
            char where[64];
            snprintf(where, sizeof where, "argument '%s'", overrides[o]);
            bad = cfg_apply_arg(&cfg, overrides[o], where, &err) != MR_OK;
        }
        for (size_t a = 0; !bad && a < grid->count; a++) {
            char where[160];
            snprintf(where, sizeof where, "the list for '%s'", grid->axes[a].key);
            bad = cfg_set(&cfg, grid->axes[a].key, grid_value(grid, p, a), where, &err) != MR_OK;
        }
        char name[1024], label[768], stem[256];
        if (!bad) {
            grid_label(grid, p, label, sizeof label);
            const char *base = cfg_str(&cfg, "name");
            if (!base[0] && !section) {
                s_stem(path, stem, sizeof stem);
                base = stem;
            }
            snprintf(name, sizeof name, "%s%s%s", base, base[0] && label[0] ? " " : "", label);
            bad = cfg_set(&cfg, "name", name, "sweep", &err) != MR_OK;
        }
        if (!bad && s_check(&cfg, &cache, &err) != MR_OK) {
            fprintf(stderr, "marina sweep: %s [%s]: %s\n", path, name, err.text);
            rc = 2;
        } else if (bad) {
            fprintf(stderr, "marina sweep: %s\n", err.text);
            rc = 2;
        }
        if (rc == 0) {
            points[i].name = strdup(name);
            points[i].db = strdup(cfg_str(&cfg, "db"));
            points[i].ini = cfg_to_ini(&cfg);
            points[i].exit_code = -1;
            points[i].tasks = slurm_task_count(&cfg);
            if (!points[i].name || !points[i].db || !points[i].ini)
                rc = 1;
        }
        cfg_fini(&cfg);
    }
    for (size_t i = 0; i < cache.count; i++)
        free(cache.items[i].problem);
    free(cache.items);
    if (rc != 0) {
        s_points_free(points, total);
        return rc;
    }
    *points_p = points;
    *count_p = total;
    return 0;
}

//  Starts point pt as `marina run` with its own database in dir. 0 or -1.
static int
s_start(const char *exe, const char *dir, size_t index, s_point_t *pt, int quiet)
{
    snprintf(pt->conf, sizeof pt->conf, "%s/run-%zu.ini", dir, index);
    snprintf(pt->part, sizeof pt->part, "%s/run-%zu.db", dir, index);
    snprintf(pt->log, sizeof pt->log, "%s/run-%zu.log", dir, index);
    FILE *f = fopen(pt->conf, "w");
    if (!f)
        return -1;
    // The stored ini has "db = ..."; the last line wins, so the part file is appended.
    fprintf(f, "%s\ndb = %s\n", pt->ini, pt->part);
    if (fclose(f) != 0) {
        unlink(pt->conf);
        return -1;
    }
    char *argv[] = {(char *) exe, "run", pt->conf, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (quiet) {
        posix_spawn_file_actions_addopen(&fa, 1, pt->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    int rc = posix_spawn(&pt->pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        unlink(pt->conf);
        unlink(pt->log);
    }
    return rc == 0 ? 0 : -1;
}

//  After point pt ended: merges its database into the sweep's and removes its files.
static int
s_finish(s_point_t *pt, int quiet)
{
    int rc = 0;
    unlink(pt->conf);  // the run has read it
    if (access(pt->part, F_OK) == 0) {
        mr_err_t err = {0};
        if (db_merge(pt->db, pt->part, NULL, &err) != MR_OK) {
            fprintf(stderr, "marina sweep: [%s]: cannot merge %s into %s: %s (left in place)\n",
                    pt->name, pt->part, pt->db, err.text);
            return -1;
        }
        char side[600];
        unlink(pt->part);
        snprintf(side, sizeof side, "%s-wal", pt->part);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", pt->part);
        unlink(side);
    }
    if (quiet && pt->exit_code != 0) {
        // Show the end of a failed run's output (the cause is usually in the last lines).
        FILE *f = fopen(pt->log, "r");
        char line[1024], tail[8][1024];
        size_t n = 0;
        while (f && fgets(line, sizeof line, f))
            snprintf(tail[n++ % 8], sizeof tail[0], "%s", line);
        for (size_t i = n > 8 ? n - 8 : 0; i < n; i++)
            fprintf(stderr, "  | %s", tail[i % 8]);
        if (f)
            fclose(f);
    }
    if (rc == 0)
        unlink(pt->log);
    return rc;
}

//  Keys that do not change what a run computes: a completed run that differs only in them is
//  the same run (resuming skips it). launch is the token of the marina run that made it.
static const char *const s_not_identity[] = {"name",      "db",         "fstar",
                                             "transport", "progress_s", "timeout_s",
                                             "security",  "keys_dir",   "launch"};

//  The lines "key = value" of an INI text that name what a run computes, in order (comment
//  lines and the keys above dropped), into a new string (caller frees).
static char *
s_identity(const char *ini)
{
    char *out = calloc(strlen(ini) + 1, 1);
    if (!out)
        return NULL;
    size_t used = 0;
    for (const char *line = ini; *line;) {
        size_t len = strcspn(line, "\n");
        int keep = line[0] != ';' && line[0] != '#' && len > 0;
        for (size_t k = 0; keep && k < sizeof s_not_identity / sizeof s_not_identity[0]; k++) {
            size_t kl = strlen(s_not_identity[k]);
            keep = !(len > kl + 2 && strncmp(line, s_not_identity[k], kl) == 0 &&
                     strncmp(line + kl, " = ", 3) == 0);
        }
        if (keep) {
            memcpy(out + used, line, len);
            used += len;
            out[used++] = '\n';
        }
        line += len;
        if (*line == '\n')
            line++;
    }
    out[used] = '\0';
    return out;
}

//  Marks the points of db that already have a completed run of the same identity.
static int
s_mark_completed(const char *db, s_point_t *points, size_t count, size_t *skipped)
{
    if (access(db, F_OK) != 0)
        return 0;
    mr_err_t err = {0};
    query_t *q = query_open(db, &err);
    qtable_t t = {0};
    if (!q ||
        query_sql(q, "SELECT config FROM runs WHERE status = 'completed'", &t, &err) != MR_OK) {
        fprintf(stderr, "marina sweep: %s\n", err.text);
        query_close(&q);
        return err.rc == MR_EVERSION ? 2 : 1;
    }
    for (size_t r = 0; r < t.rows; r++) {
        const char *config = qtable_cell(&t, r, 0);
        char *done = config ? s_identity(config) : NULL;
        for (size_t i = 0; done && i < count; i++) {
            if (points[i].skip || strcmp(points[i].db, db) != 0)
                continue;
            char *mine = s_identity(points[i].ini);
            if (mine && strcmp(mine, done) == 0) {
                points[i].skip = 1;
                (*skipped)++;
                free(mine);
                break;  // one completed run covers one point
            }
            free(mine);
        }
        free(done);
    }
    qtable_fini(&t);
    query_close(&q);
    return 0;
}

//  Runs the points, jobs at a time. Returns the exit code.
static int
s_run_all(s_point_t *points, size_t count, long jobs)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        fprintf(stderr, "marina sweep: cannot find my own executable\n");
        return 1;
    }
    exe[len] = '\0';
    // The runs' files go in a private folder under $TMPDIR (default /tmp), removed at the end.
    const char *tmp = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    char dir[400];
    if ((size_t) snprintf(dir, sizeof dir, "%s/marina-sweep-XXXXXX", tmp) >= sizeof dir ||
        !mkdtemp(dir)) {
        fprintf(stderr, "marina sweep: cannot make a folder under %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    size_t todo = 0, skipped = 0, done = 0, failed = 0, next = 0, running = 0;
    for (size_t i = 0; i < count; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(points[i].db, points[j].db) == 0;
        int rc = seen ? 0 : s_mark_completed(points[i].db, points, count, &skipped);
        if (rc != 0) {
            rmdir(dir);
            return rc;
        }
    }
    todo = count - skipped;
    fprintf(stderr, "marina sweep: %zu runs (%zu already completed), %ld at a time\n", count,
            skipped, jobs);
    int quiet = jobs > 1;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int stopping = 0;
    while (done + failed < todo || running > 0) {
        // Start runs while there is room.
        while (!stopping && !s_signal && running < (size_t) jobs && next < count) {
            s_point_t *pt = &points[next];
            if (pt->skip) {
                next++;
                continue;
            }
            if (s_start(exe, dir, next, pt, quiet) != 0) {
                fprintf(stderr, "marina sweep: cannot start run [%s]\n", pt->name);
                pt->exit_code = 1;
                failed++;
            } else {
                running++;
                if (quiet)
                    fprintf(stderr, "marina sweep: started [%s]\n", pt->name);
            }
            next++;
        }
        if (s_signal && !stopping) {
            stopping = 1;
            fprintf(stderr, "marina sweep: interrupted; stopping the %zu running runs\n", running);
            for (size_t i = 0; i < count; i++)
                if (points[i].pid > 0)
                    kill(points[i].pid, SIGTERM);
        }
        if (running == 0)
            break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (size_t i = 0; i < count; i++) {
            s_point_t *pt = &points[i];
            if (pt->pid != pid)
                continue;
            pt->pid = 0;
            running--;
            pt->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            if (s_finish(pt, quiet) != 0 && pt->exit_code == 0)
                pt->exit_code = 1;
            if (pt->exit_code == 0)
                done++;
            else
                failed++;
            fprintf(stderr, "marina sweep: run %zu of %zu done (%zu failed): [%s] %s (exit %d)\n",
                    done + failed + skipped, count, failed, pt->name,
                    pt->exit_code ? "FAILED" : "completed", pt->exit_code);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    rmdir(dir);
    if (s_signal)
        return 130;
    return failed ? 1 : 0;
}

//  --slurm: one job array element per run that is not completed yet (RUNDIR/INDEX/run.ini), and
//  a job that merges their databases into the sweep's once all have ended.
static int
s_submit_array(s_point_t *points, size_t count, const slurm_opts_t *o)
{
    char exe[4096], cwd[2048], dir[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0 || !getcwd(cwd, sizeof cwd))
        return 1;
    exe[len] = '\0';
    size_t skipped = 0;
    if (s_mark_completed(points[0].db, points, count, &skipped) != 0)
        return 1;
    for (size_t i = 1; i < count; i++)
        if (strcmp(points[i].db, points[0].db) != 0) {
            fprintf(stderr, "marina sweep --slurm: every run must use the same db (%s, %s)\n",
                    points[0].db, points[i].db);
            return 2;
        }
    if (o->run_dir)
        snprintf(dir, sizeof dir, "%s%s%s", o->run_dir[0] == '/' ? "" : cwd,
                 o->run_dir[0] == '/' ? "" : "/", o->run_dir);
    else {
        snprintf(dir, sizeof dir, "%s/marina-slurm", cwd);
        mkdir(dir, 0755);
        snprintf(dir, sizeof dir, "%s/marina-slurm/sweep-%ld-%d", cwd, (long) time(NULL),
                 (int) getpid());
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "marina sweep: cannot make %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char *array = calloc(count * 24 + 1, 1);
    long tasks = 0;
    size_t used = 0;
    for (size_t i = 0; array && i < count; i++) {
        if (points[i].skip)
            continue;
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%zu", dir, i);
        mkdir(sub, 0755);
        snprintf(sub, sizeof sub, "%s/%zu/run.ini", dir, i);
        FILE *f = fopen(sub, "w");
        if (!f || fputs(points[i].ini, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "marina sweep: cannot write %s\n", sub);
            free(array);
            return 1;
        }
        used += (size_t) sprintf(array + used, "%s%zu", used ? "," : "", i);
        if (points[i].tasks > tasks)
            tasks = points[i].tasks;
    }
    if (!array || used == 0) {
        fprintf(stderr, "marina sweep: %zu runs, all completed already\n", count);
        free(array);
        return array ? 0 : 1;
    }
    char db[4200], merge[4200];
    snprintf(db, sizeof db, "%s%s%s", points[0].db[0] == '/' ? "" : cwd,
             points[0].db[0] == '/' ? "" : "/", points[0].db);
    snprintf(merge, sizeof merge, "%s/merge.sh", dir);
    FILE *f = fopen(merge, "w");
    if (f) {
        fprintf(f,
                "#!/bin/sh\n#SBATCH --job-name=marina-merge\n#SBATCH --ntasks=1\n"
                "#SBATCH --output=%s/merge-%%j.log\nexec '%s' merge '%s' '%s'/*/run.db\n",
                dir, exe, db, dir);
        fclose(f);
    }
    if (!f || slurm_write_job(dir, 1, tasks, exe) != 0) {
        fprintf(stderr, "marina sweep: cannot write the job scripts in %s\n", dir);
        free(array);
        return 1;
    }
    fprintf(stderr, "marina sweep: %zu runs (%zu already completed) as a job array in %s\n", count,
            skipped, dir);
    long job = 0, merge_job = 0;
    slurm_opts_t first = *o;
    first.wait = 0;
    int rc = slurm_submit(dir, array, NULL, "job.sh", &first, &job);
    free(array);
    if (rc != 0 || job <= 0)
        return rc ? rc : 1;
    char dep[64];
    snprintf(dep, sizeof dep, "afterany:%ld", job);
    slurm_opts_t second = {0};
    second.wait = o->wait;
    rc = slurm_submit(dir, NULL, dep, "merge.sh", &second, &merge_job);
    if (rc == 0 && o->wait) {
        // The merge ran: did every element complete?
        mr_err_t err = {0};
        size_t again = 0;
        for (size_t i = 0; i < count; i++)
            points[i].skip = 0;
        if (s_mark_completed(points[0].db, points, count, &again) != 0 || again < count) {
            fprintf(stderr, "marina sweep: %zu of %zu runs completed %s\n", again, count, err.text);
            return 1;
        }
    }
    return rc;
}

int
cmd_sweep(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        s_sweep_usage(argc < 3 ? stderr : stdout);
        return argc < 3 ? 2 : 0;
    }
    slurm_opts_t so;
    slurm_take_args(&argc, argv, &so);  // --slurm [--wait] [--run-dir D] [-- sbatch options]
    const char *path = argv[2];
    grid_t grid;
    grid_init(&grid);
    char **overrides = calloc((size_t) argc, sizeof *overrides);
    size_t override_count = 0;
    long jobs = 1;
    int rc = overrides ? 0 : 1;
    for (int i = 3; rc == 0 && i < argc; i++) {
        mr_err_t err = {0};
        if (strncmp(argv[i], "jobs=", 5) == 0) {
            char *end;
            jobs = strtol(argv[i] + 5, &end, 10);
            if (*end || end == argv[i] + 5 || jobs < 1 || jobs > SWEEP_MAX_JOBS) {
                fprintf(stderr, "marina sweep: '%s': jobs is a whole number in 1..%d\n", argv[i],
                        SWEEP_MAX_JOBS);
                rc = 2;
            }
        } else if (argv[i][0] == '-' || !strchr(argv[i], '=')) {
            fprintf(stderr,
                    "marina sweep: unexpected argument '%s' (key=value, key=v1,v2 or "
                    "key=A..B; see --help)\n",
                    argv[i]);
            rc = 2;
        } else if (grid_is_axis(argv[i])) {
            if (grid_add(&grid, argv[i], &err) != MR_OK) {
                fprintf(stderr, "marina sweep: %s\n", err.text);
                rc = 2;
            }
        } else {
            overrides[override_count++] = argv[i];
        }
    }
    s_file_t file = {0};
    if (rc == 0) {
        int line = ini_parse(path, s_on_line, &file);
        if (line != 0) {
            if (line < 0)
                fprintf(stderr, "marina sweep: %s: cannot read the file\n", path);
            else
                fprintf(stderr, "marina sweep: %s:%d: cannot parse this line\n", path, line);
            rc = 2;
        }
    }
    s_point_t *points = NULL;
    size_t count = 0;
    if (rc == 0)
        rc = s_build(path, &file, &grid, overrides, override_count, &points, &count);
    if (rc == 0 && so.slurm)
        rc = s_submit_array(points, count, &so);
    else if (rc == 0)
        rc = s_run_all(points, count, jobs);
    s_points_free(points, count);
    s_file_fini(&file);
    grid_fini(&grid);
    free(overrides);
    return rc;
}
