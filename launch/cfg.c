//  cfg.c - see cfg.h.
#include "cfg.h"

#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const cfg_key_t s_keys[] = {
    {"method", CFG_STR, "marina", 0, 0,
     "gd | dcgd | diana | vr-diana | marina | vr-marina | vr-marina-online | pp-marina | sgd | "
     "sega | sega-biased | sega-subspace | cd | byz-vr-marina | br-sgdm"},
    {"compressor", CFG_STR, "randk", 0, 0,
     "Q: identity | randk | dither | natural | topk (biased) | ternary | block"},
    {"k", CFG_INT, "10", 1, 1e9, "randk/topk: coordinates in one compressed update"},
    {"s", CFG_INT, "1", 1, 1e9, "dither/block: quantization levels"},
    {"t", CFG_INT, "16", 1, 1e9, "block: block size (coordinates per norm)"},
    {"n", CFG_INT, "5", 1, 100000, "number of workers"},
    {"rounds", CFG_INT, "1000", 0, 1e12, "communication rounds after round 0"},
    {"seed", CFG_INT, "1", 0, 9e18, "the run's seed: every random choice flows from it"},
    {"dataset", CFG_STR, "synthetic", 0, 0, "a LibSVM file, or 'synthetic' (generated)"},
    {"bias", CFG_BOOL, "true", 0, 0, "append a feature of ones (the paper's code does)"},
    {"loss", CFG_STR, "nonconvex", 0, 0, "nonconvex (MARINA (11)) | logreg | quadratic"},
    {"lambda", CFG_REAL, "0", -1e300, 1e300, "l2 regularisation lambda/2 |x|^2 on every f_ij"},
    {"gamma", CFG_THEORY, "theory", -1e300, 1e300,
     "stepsize, 'theory' (the method's theorem, docs/cli.md) or 'ours' (diana: our constants)"},
    {"p", CFG_THEORY, "theory", -1e300, 1e300,
     "P(c_k = 1) (VR-DIANA: reference update), or theory"},
    {"alpha", CFG_THEORY, "theory", -1e300, 1e300,
     "DIANA shift stepsize, or 'theory' (1/(1+omega))"},
    {"batch", CFG_INT, "0", 0, 1e12, "b: SGD / VR-MARINA online full-round minibatch (0: theory)"},
    {"batch_prime", CFG_INT, "0", 0, 1e12,
     "b': VR-MARINA / VR-DIANA minibatch (0: max(1, floor(m/100)))"},
    {"r", CFG_INT, "0", 0, 1e9, "PP-MARINA: clients per compressed round (0: n)"},
    {"sampling", CFG_STR, "uniform", 0, 0, "minibatches: uniform | importance (P(j) ~ L_ij)"},
    {"reg", CFG_STR, "none", 0, 0, "R of F = f + R: none | l1 | l2 | ball | box (prox methods)"},
    {"lambda1", CFG_REAL, "0", -1e300, 1e300, "reg = l1: lambda1 |x|_1"},
    {"lambda2", CFG_REAL, "0", -1e300, 1e300, "reg = l2: lambda2/2 |x|^2"},
    {"radius", CFG_REAL, "1", -1e300, 1e300, "reg = ball: the constraint |x|_2 <= radius"},
    {"lo", CFG_REAL, "-1", -1e300, 1e300, "reg = box: lower bound of every coordinate"},
    {"hi", CFG_REAL, "1", -1e300, 1e300, "reg = box: upper bound of every coordinate"},
    {"sketch", CFG_STR, "coordinate", 0, 0,
     "sega, cd: coordinate (K = k uniform coordinates) | importance (j with probability p_j ~ "
     "L_jj, "
     "sum p_j = k) | gaussian (sega; sega-subspace: gaussian only) | single (acd, asega: one "
     "coordinate drawn with probability p_j ~ sqrt(L_jj), k = 1)"},
    {"sketch_b", CFG_INT, "1", -1e18, 1e18, "sega, gaussian sketch: directions per round (b)"},
    {"fstar", CFG_STR, "auto", 0, 0,
     "convex losses: auto (computed once, cached in db) | off | a number; for the gap f - f*"},
    {"stop_at", CFG_REAL, "0", 0, 1, "end early once ||grad f||^2 <= stop_at * its round-0 value"},
    {"stop_gap", CFG_REAL, "0", 0, 1e300, "convex losses: end early once F - F* <= stop_gap"},
    {"db", CFG_STR, "marina.db", 0, 0, "the SQLite result database"},
    {"name", CFG_STR, "", 0, 0, "a label stored with the run"},
    {"launch", CFG_STR, "", 0, 0,
     "set by marina run: a token naming this launch in runs.config (leave it unset)"},
    {"transport", CFG_STR, "tcp", 0, 0, "tcp (processes) | ipc (processes) | inproc (threads)"},
    {"threads", CFG_INT, "0", 0, 1e6,
     "inproc: threads hosting the honest workers (0: one per core)"},
    {"timeout_s", CFG_REAL, "60", 0.1, 1e6, "give up on a silent actor after this many seconds"},
    {"progress_s", CFG_REAL, "1", 0, 1e6, "log progress every this many seconds (0: never)"},
    {"metrics_every", CFG_STR, "auto", 0, 0,
     "workers send f_i and grad f_i every this many rounds (and in round 0 and the last); auto: "
     "1 for d <= 100000, else d / 100000"},
    {"worker_rows_every", CFG_STR, "auto", 0, 0,
     "round_workers rows (one per worker) in round 0, the last round and every this many rounds; "
     "auto: 1 for n <= 100, else ceil(n / 100)"},
    {"checkpoint_every", CFG_STR, "auto", 0, 0,
     "checkpoints for `marina run --resume`: auto (one every 60 s of run time) | off | N (after "
     "every N-th round)"},
    {"fault_send", CFG_STR, "none", 0, 0,
     "chaos tests: faults injected into the workers' UPDATE and METRICS sends: none, or e.g. "
     "loss=0.02,dup=0.05,delay_ms=2,jitter_ms=3"},
    {"downlink", CFG_STR, "auto", 0, 0,
     "auto (a ROUND carries only the coordinates of g that changed when that is smaller) | "
     "dense (always the whole g)"},
    {"security", CFG_STR, "none", 0, 0,
     "none (plain sockets: one host or a trusted network) | curve (ZeroMQ CURVE on every socket, "
     "only the keys in keys_dir/public may connect)"},
    {"keys_dir", CFG_STR, "", 0, 0,
     "security=curve: the folder of `marina keys` (empty: marina run makes one-off keys)"},
    {"byzantine", CFG_INT, "0", 0, 100000,
     "B: workers n-B..n-1 are Byzantine attackers (n counts every worker)"},
    {"attack", CFG_STR, "none", 0, 0,
     "what the attackers send: none (no attackers: n-B honest workers) | lf | bf | alie | ipm | "
     "noise | junk"},
    {"attack_z", CFG_THEORY, "theory", -1e300, 1e300,
     "alie: mean - z std; theory = Baruch et al.'s z for n and B"},
    {"attack_eps", CFG_REAL, "0.1", -1e300, 1e300, "ipm: the attackers send -eps * honest mean"},
    {"aggregator", CFG_STR, "mean", 0, 0,
     "how the server combines messages: mean | cm | tm | rfa | krum | cc"},
    {"bucket", CFG_INT, "0", 0, 100000, "bucketing: bucket size s (0 or 1: none; the paper: 2)"},
    {"rfa_nu", CFG_REAL, "0.1", 0, 1e300, "rfa: Weiszfeld smoothing nu"},
    {"rfa_iters", CFG_INT, "8", 1, 1e6, "rfa: Weiszfeld iterations T"},
    {"cc_tau", CFG_REAL, "10", 0, 1e300, "cc: clipping radius tau"},
    {"cc_iters", CFG_INT, "3", 1, 1e6, "cc: clipping iterations"},
    {"on_worker_loss", CFG_STR, "fail", 0, 0,
     "fail (a worker silent past a round's timeout_s fails the run) | continue (it is lost: the "
     "run goes on, averaging over the workers that answered)"},
    {"max_invalid", CFG_INT, "10", 0, 1e9,
     "exclude a sender after this many invalid updates (0: never)"},
    {"momentum", CFG_REAL, "0.9", 0, 0.999999, "br-sgdm: worker momentum beta"},
    {"epoch_full", CFG_BOOL, "false", 0, 0,
     "byz-vr-marina: a full round opens every epoch (the authors' code) instead of the coin"},
    {"estimator", CFG_STR, "global", 0, 0,
     "marina family, robust aggregator: global (Alg. 1: Agg of g^k + Q_i) | local (the authors' "
     "code: Agg of each worker's own g_i^k = g_i^{k-1} + Q_i)"},
    {"epochs", CFG_REAL, "0", 0, 1e9,
     "> 0: run this many epochs (passes over a worker's shard) instead of 'rounds'"},
    {"normalize", CFG_STR, "none", 0, 0, "none | l2 (every row scaled to unit l2 norm)"},
    {"split", CFG_STR, "contiguous", 0, 0,
     "how the honest workers share the data: contiguous (MARINA paper) | shuffle (a random "
     "permutation, then contiguous: the Byzantine paper) | full (each holds every row)"},
    {"synth_rows", CFG_INT, "2000", 2, 1e8, "synthetic data: samples"},
    {"synth_d", CFG_INT, "40", 2, 1e7, "synthetic data: features (including the bias)"},
    {"synth_density", CFG_REAL, "0.3", 1e-6, 1, "synthetic data: fraction of non-zero features"},
    {"synth_rank", CFG_INT, "0", 0, 1e7,
     "synthetic data: 0 (sparse, full rank) or the rank of the features (dense, low rank)"},
    {"synth_cond", CFG_REAL, "1", 1, 1e12,
     "synthetic data: feature column j scaled by synth_cond^(-j/(2(d-2))), so L_jj span this "
     "ratio"},
};

#define KEY_COUNT (sizeof s_keys / sizeof s_keys[0])

//  Keys left out of the HELLO's configuration (cfg_join_text()): they may differ per actor.
static const char *const s_local_keys[] = {
    "db",         "name",     "transport",     "threads", "timeout_s",        "progress_s",
    "fault_send", "downlink", "metrics_every", "rounds",  "stop_at",          "stop_gap",
    "fstar",      "dataset",  "keys_dir",      "launch",  "checkpoint_every", "worker_rows_every",
};

const cfg_key_t *
cfg_keys(size_t *count)
{
    *count = KEY_COUNT;
    return s_keys;
}

static int
s_find(const char *key)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(s_keys[i].name, key) == 0)
            return (int) i;
    return -1;
}

static int
s_parse_bool(const char *v, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 1;
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 1;
    }
    return 0;
}

//  Parses a number; 1 if v is one whole finite number.
static int
s_parse_real(const char *v, double *out)
{
    //  Decimal only: strtod would also take hexadecimal ("0x10" = 16), "inf" and "nan".
    if (strpbrk(v, "xXpP") || strspn(v, "+-0123456789.eE") != strlen(v))
        return 0;
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    return end != v && *end == '\0' && errno == 0 && isfinite(*out);
}

static int
s_check(const cfg_key_t *k, const char *v, const char *where, mr_err_t *err)
{
    double x;
    int b;
    switch (k->type) {
        case CFG_STR:
            return MR_OK;
        case CFG_BOOL:
            if (s_parse_bool(v, &b))
                return MR_OK;
            return mr_err_set(err, MR_ECONFIG, "%s: %s = '%s' is not a boolean (true/false)", where,
                              k->name, v);
        case CFG_THEORY:
            if (strcmp(v, "theory") == 0 ||
                (strcmp(v, "ours") == 0 && strcmp(k->name, "gamma") == 0))
                return MR_OK;
            // fall through
        case CFG_INT:
        case CFG_REAL:
            if (!s_parse_real(v, &x))
                return mr_err_set(err, MR_ECONFIG, "%s: %s = '%s' is not a %snumber", where,
                                  k->name, v, k->type == CFG_THEORY ? "finite 'theory' or " : "");
            if (k->type == CFG_INT && x != floor(x))
                return mr_err_set(err, MR_ECONFIG, "%s: %s = '%s' is not an integer", where,
                                  k->name, v);
            if (x < k->min || x > k->max)
                return mr_err_set(err, MR_ECONFIG, "%s: %s = %s is outside [%g, %g]", where,
                                  k->name, v, k->min, k->max);
            return MR_OK;
    }
    return MR_OK;
}

int
cfg_init(cfg_t *c)
{
    c->values = calloc(KEY_COUNT, sizeof(char *));
    if (!c->values)
        return MR_ENOMEM;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        c->values[i] = strdup(s_keys[i].def);
        if (!c->values[i]) {
            cfg_fini(c);
            return MR_ENOMEM;
        }
    }
    return MR_OK;
}

void
cfg_fini(cfg_t *c)
{
    if (!c->values)
        return;
    for (size_t i = 0; i < KEY_COUNT; i++)
        free(c->values[i]);
    free(c->values);
    c->values = NULL;
}

//  The child processes read the configuration back from the INI text cfg_to_ini() writes
//  (launch/marina.c), so a value must be one that text carries unchanged: no control characters
//  (a newline would start a line of its own: another key), no blanks at either end, no ';' at the
//  start or after a blank (inih strips both: "key = ;x" reads as ""), and "key = value" within
//  one line inih reads whole.
static int
s_check_writable(const char *key, const char *v, const char *where, mr_err_t *err)
{
    size_t len = strlen(v);
    for (size_t j = 0; j < len; j++) {
        unsigned char ch = (unsigned char) v[j];
        if (ch < 0x20 || ch == 0x7f)
            return mr_err_set(err, MR_ECONFIG,
                              "%s: the value of %s contains a control character (byte 0x%02x at "
                              "%zu)",
                              where, key, ch, j + 1);
    }
    if (len > 0 && (v[0] == ' ' || v[len - 1] == ' '))
        return mr_err_set(err, MR_ECONFIG, "%s: the value of %s starts or ends with a blank", where,
                          key);
    if (v[0] == ';' || strstr(v, " ;"))
        return mr_err_set(err, MR_ECONFIG,
                          "%s: the value of %s %s, which a config file reads as the start "
                          "of a comment",
                          where, key, v[0] == ';' ? "starts with ';'" : "contains ' ;'");
    if (strlen(key) + 3 + len > CFG_LINE_MAX)
        return mr_err_set(err, MR_ECONFIG,
                          "%s: the value of %s is too long (%zu characters; a config line holds "
                          "at most %d)",
                          where, key, len, CFG_LINE_MAX);
    return MR_OK;
}

int
cfg_set(cfg_t *c, const char *key, const char *value, const char *where, mr_err_t *err)
{
    int i = s_find(key);
    if (i < 0)
        return mr_err_set(err, MR_ECONFIG, "%s: unknown key '%s' (marina --help lists them)", where,
                          key);
    int rc = s_check_writable(key, value, where, err);
    if (rc != MR_OK)
        return rc;
    rc = s_check(&s_keys[i], value, where, err);
    if (rc != MR_OK)
        return rc;
    char *copy = strdup(value);
    if (!copy)
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    free(c->values[i]);
    c->values[i] = copy;
    return MR_OK;
}

typedef struct {
    cfg_t *cfg;
    const char *path;
    mr_err_t first;  // the first error, without its line (inih gives the line)
} s_load_t;

static int
s_on_ini(void *user, const char *section, const char *name, const char *value)
{
    s_load_t *load = user;
    if (load->first.rc != MR_OK)
        return 0;
    if (section && section[0]) {
        mr_err_set(&load->first, MR_ECONFIG,
                   "section [%s]: keys are flat, write them without "
                   "a section",
                   section);
        return 0;
    }
    return cfg_set(load->cfg, name, value ? value : "", "", &load->first) == MR_OK;
}

//  What inih reads from: a file or a string, one line per call. inih cuts a longer line than its
//  buffer into pieces and reads each piece as a line of its own (the tail of a long value would
//  become a key), so a line that does not fit ends the reading and is reported instead.
typedef struct {
    FILE *file;        // or NULL: text
    const char *text;  // the rest of the text
    int line;          // lines handed out
    int too_long;      // the line that did not fit (0: none)
} s_reader_t;

static char *
s_read_line(char *str, int num, void *stream)
{
    s_reader_t *r = stream;
    if (r->too_long)
        return NULL;
    size_t len = 0, max = (size_t) num - 1;
    int ch = 0;
    for (;;) {
        if (r->file) {
            ch = getc(r->file);
            if (ch == EOF)
                break;
        } else {
            if (*r->text == '\0')
                break;
            ch = (unsigned char) *r->text++;
        }
        if (len == max) {
            r->too_long = r->line + 1;
            return NULL;
        }
        str[len++] = (char) ch;
        if (ch == '\n')
            break;
    }
    if (len == 0)
        return NULL;
    str[len] = '\0';
    r->line++;
    return str;
}

//  Reads from r into c; name is the file (or text) name for messages.
static int
s_load(cfg_t *c, s_reader_t *r, const char *name, mr_err_t *err)
{
    s_load_t load = {c, name, {MR_OK, ""}};
    int line = ini_parse_stream(s_read_line, r, s_on_ini, &load);
    if (line < 0)
        return mr_err_set(err, MR_ENOMEM, "no memory to read %s", name);
    if (line > 0) {
        // cfg_set's text starts with ": " since where was empty
        const char *text = load.first.rc != MR_OK ? load.first.text : ": not a 'key = value' line";
        if (text[0] == ':')
            text += 2;
        return mr_err_set(err, MR_ECONFIG, "%s:%d: %s", name, line, text);
    }
    if (r->too_long)
        return mr_err_set(err, MR_ECONFIG, "%s:%d: the line is longer than %d characters", name,
                          r->too_long, CFG_LINE_MAX);
    return MR_OK;
}

int
cfg_load_file(cfg_t *c, const char *path, mr_err_t *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return mr_err_set(err, MR_ECONFIG, "the config file %s is not a regular file%s", path,
                          S_ISDIR(st.st_mode) ? " (a directory)" : "");
    s_reader_t r = {.file = fopen(path, "r")};
    if (!r.file)
        return mr_err_set(err, MR_EIO, "cannot read the config file %s", path);
    int rc = s_load(c, &r, path, err);
    fclose(r.file);
    return rc;
}

int
cfg_load_text(cfg_t *c, const char *text, const char *name, mr_err_t *err)
{
    s_reader_t r = {.text = text};
    return s_load(c, &r, name, err);
}

int
cfg_apply_arg(cfg_t *c, const char *arg, const char *where, mr_err_t *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return mr_err_set(err, MR_ECONFIG, "%s: '%s' is not key=value", where, arg);
    char key[64];
    size_t len = (size_t) (eq - arg);
    if (len >= sizeof key)
        return mr_err_set(err, MR_ECONFIG, "%s: unknown key '%.*s'", where, (int) len, arg);
    memcpy(key, arg, len);
    key[len] = '\0';
    return cfg_set(c, key, eq + 1, where, err);
}

static const char *
s_value(const cfg_t *c, const char *key, cfg_type_t *type)
{
    int i = s_find(key);
    assert(i >= 0);
    if (type)
        *type = s_keys[i].type;
    return c->values[i];
}

const char *
cfg_str(const cfg_t *c, const char *key)
{
    return s_value(c, key, NULL);
}

int64_t
cfg_int(const cfg_t *c, const char *key)
{
    return (int64_t) strtod(s_value(c, key, NULL), NULL);
}

double
cfg_real(const cfg_t *c, const char *key)
{
    cfg_type_t type;
    const char *v = s_value(c, key, &type);
    if (type == CFG_THEORY && (strcmp(v, "theory") == 0 || strcmp(v, "ours") == 0))
        return NAN;
    return strtod(v, NULL);
}

int
cfg_bool(const cfg_t *c, const char *key)
{
    int b = 0;
    s_parse_bool(s_value(c, key, NULL), &b);
    return b;
}

char *
cfg_to_ini(const cfg_t *c)
{
    size_t size = 1;
    for (size_t i = 0; i < KEY_COUNT; i++)
        size += strlen(s_keys[i].name) + strlen(c->values[i]) + 4;
    char *out = malloc(size), *at = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < KEY_COUNT; i++)
        at += sprintf(at, "%s = %s\n", s_keys[i].name, c->values[i]);
    return out;
}

void
cfg_print_help(FILE *out)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        fprintf(out, "  %-14s %-10s %s\n", s_keys[i].name, s_keys[i].def[0] ? s_keys[i].def : "''",
                s_keys[i].help);
}

int
cfg_key_is_local(const char *key)
{
    for (size_t i = 0; i < sizeof s_local_keys / sizeof s_local_keys[0]; i++)
        if (strcmp(s_local_keys[i], key) == 0)
            return 1;
    return 0;
}

//  The canonical text of value v of key k (checked by cfg_set(), so it parses), into out.
static void
s_canonical(const cfg_key_t *k, const char *v, char *out, size_t size)
{
    double x = 0;
    int b = 0;
    switch (k->type) {
        case CFG_STR:
            snprintf(out, size, "%s", v);
            return;
        case CFG_BOOL:
            s_parse_bool(v, &b);
            snprintf(out, size, "%s", b ? "true" : "false");
            return;
        case CFG_THEORY:
            if (strcmp(v, "theory") == 0) {
                snprintf(out, size, "theory");
                return;
            }
            // fall through
        case CFG_REAL:
            s_parse_real(v, &x);
            snprintf(out, size, "%.17g", x);
            return;
        case CFG_INT:
            s_parse_real(v, &x);
            snprintf(out, size, "%lld", (long long) x);
            return;
    }
}

char *
cfg_join_text(const cfg_t *c)
{
    size_t size = 1;
    for (size_t i = 0; i < KEY_COUNT; i++)
        size += strlen(s_keys[i].name) + strlen(c->values[i]) + 32;
    char *out = malloc(size), *at = out;
    if (!out)
        return NULL;
    *at = '\0';
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (cfg_key_is_local(s_keys[i].name))
            continue;
        char value[64];
        const char *v = value;
        if (s_keys[i].type == CFG_STR)
            v = c->values[i];
        else
            s_canonical(&s_keys[i], c->values[i], value, sizeof value);
        at += sprintf(at, "%s=%s\n", s_keys[i].name, v);
    }
    return out;
}
