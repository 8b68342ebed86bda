//  checkpoint.c - see checkpoint.h.
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TAG "marina-checkpoint-v1"

//  The fields in order; the same visit saves and loads.
static void
s_visit_head(state_t *st, checkpoint_t *c)
{
    state_tag(st, S_TAG);
    state_u64(st, &c->round);
    state_u64(st, &c->cfg_digest);
    state_f64(st, &c->elapsed_s);
    uint64_t n = c->n;
    state_u64(st, &n);
    c->n = (size_t) n;
    state_span(st, &c->g, &c->g_bytes);
    state_span(st, &c->server, &c->server_bytes);
}

int
checkpoint_pack(const checkpoint_t *c, state_t *out, mr_err_t *err)
{
    checkpoint_t copy = *c;
    s_visit_head(out, &copy);
    for (size_t i = 0; i < c->n; i++) {
        const uint8_t *p = c->seat[i];
        size_t len = c->seat_bytes[i];
        state_span(out, &p, &len);
    }
    return state_rc(out, err);
}

int
checkpoint_parse(const void *data,
                 size_t size,
                 size_t want_n,
                 uint64_t want_digest,
                 checkpoint_t *c,
                 mr_err_t *err)
{
    memset(c, 0, sizeof *c);
    state_t st;
    state_init_load(&st, data, size);
    s_visit_head(&st, c);
    if (st.rc != MR_OK)
        return mr_err_set(err, st.rc, "the checkpoint: %s", st.why);
    if (c->n != want_n)
        return mr_err_set(err, MR_EINVAL, "the checkpoint has %zu workers, the run %zu", c->n,
                          want_n);
    if (c->cfg_digest != want_digest)
        return mr_err_set(err, MR_EINVAL,
                          "the checkpoint is of another configuration (digest %016llx, the run's "
                          "%016llx)",
                          (unsigned long long) c->cfg_digest, (unsigned long long) want_digest);
    c->seat = calloc(c->n ? c->n : 1, sizeof *c->seat);
    c->seat_bytes = calloc(c->n ? c->n : 1, sizeof *c->seat_bytes);
    if (!c->seat || !c->seat_bytes) {
        checkpoint_fini(c);
        return mr_err_set(err, MR_ENOMEM, "out of memory reading the checkpoint");
    }
    for (size_t i = 0; i < c->n; i++)
        state_span(&st, &c->seat[i], &c->seat_bytes[i]);
    mr_err_t inner;
    if (state_rc(&st, &inner) != MR_OK) {
        checkpoint_fini(c);
        return mr_err_set(err, inner.rc, "the checkpoint: %s", inner.text);
    }
    return MR_OK;
}

void
checkpoint_fini(checkpoint_t *c)
{
    free(c->seat);
    free(c->seat_bytes);
    c->seat = NULL;
    c->seat_bytes = NULL;
}

int
checkpoint_read_file(const char *path, uint8_t **data, size_t *size, mr_err_t *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mr_err_set(err, MR_EIO, "cannot open the checkpoint %s", path);
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return mr_err_set(err, MR_EIO, "cannot read the checkpoint %s", path);
    }
    uint8_t *buf = malloc(len ? (size_t) len : 1);
    if (!buf) {
        fclose(f);
        return mr_err_set(err, MR_ENOMEM, "out of memory reading the checkpoint %s", path);
    }
    size_t got = fread(buf, 1, (size_t) len, f);
    fclose(f);
    if (got != (size_t) len) {
        free(buf);
        return mr_err_set(err, MR_EIO, "the checkpoint %s ends early", path);
    }
    *data = buf;
    *size = got;
    return MR_OK;
}
