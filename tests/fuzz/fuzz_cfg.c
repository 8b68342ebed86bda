//  fuzz_cfg.c - libFuzzer target for the configuration parser: INI text, then key=value
//  overrides. The input is split at NUL bytes: the first piece is the INI text (cfg_load_text()),
//  each further piece one command-line argument (cfg_apply_arg()). Whatever is accepted must then
//  survive what the launcher does with it: every getter answers, cfg_join_text() works, and the
//  INI text cfg_to_ini() writes for the child processes (launch/marina.c) reads back as exactly
//  the same configuration.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

static void
s_check(int ok, const char *what, const char *detail)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_cfg: %s (%s)\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    s_check(text != NULL, "no memory", "text");
    memcpy(text, data, size);
    text[size] = '\0';

    cfg_t c, back;
    s_check(cfg_init(&c) == MR_OK && cfg_init(&back) == MR_OK, "no memory", "cfg_init");
    mr_err_t err = {MR_OK, ""};
    int rc = cfg_load_text(&c, text, "fuzz.ini", &err);
    size_t used = strlen(text) + 1;
    for (int arg = 1; rc == MR_OK && used < size + 1; arg++) {
        const char *piece = text + used;
        used += strlen(piece) + 1;
        char where[32];
        snprintf(where, sizeof where, "argument %d", arg);
        rc = cfg_apply_arg(&c, piece, where, &err);
    }
    if (rc != MR_OK) {
        s_check(err.rc == rc && err.text[0] != '\0', "a rejection without a sentence", err.text);
        goto out;
    }

    size_t nkeys;
    const cfg_key_t *keys = cfg_keys(&nkeys);
    for (size_t i = 0; i < nkeys; i++) {
        switch (keys[i].type) {
            case CFG_INT:
                (void) cfg_int(&c, keys[i].name);
                break;
            case CFG_REAL:
            case CFG_THEORY:
                (void) cfg_real(&c, keys[i].name);
                break;
            case CFG_BOOL:
                (void) cfg_bool(&c, keys[i].name);
                break;
            case CFG_STR:
                s_check(cfg_str(&c, keys[i].name) != NULL, "a NULL string", keys[i].name);
                break;
        }
    }
    char *join = cfg_join_text(&c);
    s_check(join != NULL, "cfg_join_text failed", "");
    free(join);

    char *ini = cfg_to_ini(&c);
    s_check(ini != NULL, "cfg_to_ini failed", "");
    rc = cfg_load_text(&back, ini, "run.ini", &err);
    s_check(rc == MR_OK, "the launcher's INI text does not read back", err.text);
    for (size_t i = 0; i < nkeys; i++)
        s_check(strcmp(cfg_str(&c, keys[i].name), cfg_str(&back, keys[i].name)) == 0,
                "a value changed through the launcher's INI text", keys[i].name);
    free(ini);
out:
    cfg_fini(&c);
    cfg_fini(&back);
    free(text);
    return 0;
}
