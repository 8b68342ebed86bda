//  cfg.h - the experiment configuration: one table of keys (name, type, default, range, help),
//  read from an INI file (flat "key = value" lines, parsed by inih) and from "key=value"
//  command-line overrides, later ones winning. Unknown keys, values of the wrong type or out of
//  range are refused with the file:line or the argument that carries them. A cfg_t owns its
//  strings; it is a plain value (init/fini), read-only once built.
#ifndef CFG_H
#define CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ini.h>

#include "mr_err.h"

//  The longest line of a config file (without its newline): inih's line buffer. A value that a
//  "key = value" line of this length cannot hold is refused, like control characters, blanks at
//  either end and " ;" (the INI text the launcher writes for its children must read back as is).
#define CFG_LINE_MAX (INI_MAX_LINE - 2)

typedef enum {
    CFG_INT,     // an integer in [min, max]
    CFG_REAL,    // a finite real in [min, max]
    CFG_THEORY,  // "theory" (gamma: also "ours") or a finite real in [min, max]
    CFG_STR,     // any string
    CFG_BOOL,    // true/false, yes/no, on/off, 1/0
} cfg_type_t;

typedef struct {
    const char *name;
    cfg_type_t type;
    const char *def;   // default value, as text
    double min, max;   // range for numbers
    const char *help;  // one line
} cfg_key_t;

typedef struct {
    char **values;  // one per key of the table, owned
} cfg_t;

//  The table of keys, and its length.
const cfg_key_t *cfg_keys(size_t *count);

//  A configuration holding every default.
int cfg_init(cfg_t *c);
void cfg_fini(cfg_t *c);

//  Sets key to value after checking both; where ("file.ini:3", "argument 2") names the origin
//  in the error. MR_ECONFIG with err filled on an unknown key or a bad value.
int cfg_set(cfg_t *c, const char *key, const char *value, const char *where, mr_err_t *err);
//  Reads an INI file of flat "key = value" lines (';' or '#' comments).
int cfg_load_file(cfg_t *c, const char *path, mr_err_t *err);
//  The same for INI text held in memory; name stands for the file in messages ("name:3: ...").
int cfg_load_text(cfg_t *c, const char *text, const char *name, mr_err_t *err);
//  Applies one "key=value" argument.
int cfg_apply_arg(cfg_t *c, const char *arg, const char *where, mr_err_t *err);

//  Typed getters (the key must exist in the table: asserted).
const char *cfg_str(const cfg_t *c, const char *key);
int64_t cfg_int(const cfg_t *c, const char *key);
double cfg_real(const cfg_t *c, const char *key);  // CFG_THEORY: NAN for "theory" and "ours"
int cfg_bool(const cfg_t *c, const char *key);

//  The whole configuration as INI text, every key, one per line (caller frees).
char *cfg_to_ini(const cfg_t *c);

//  The configuration a HELLO carries (docs/protocol.md, "Joining: the configuration check"):
//  "key=value\n" for every key in table order except the per-actor ones (cfg_key_is_local()),
//  each value in canonical form: integers in decimal, reals as %.17g, booleans true/false,
//  'theory' as is, strings as given. Equal text <=> the same experiment (caller frees).
char *cfg_join_text(const cfg_t *c);
//  1 for the keys that may differ between the actors of one run (db, name, transport, timeout_s,
//  progress_s, the server-only rounds, stop_at, stop_gap, fstar, launch; dataset, a path that may
//  differ per machine, whose content the shard fingerprint checks instead; keys_dir, a path too).
int cfg_key_is_local(const char *key);

//  Prints the table (name, default, help) for --help.
void cfg_print_help(FILE *out);

#endif
