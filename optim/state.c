//  state.c - see state.h.
#include "state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
state_init_save(state_t *s)
{
    memset(s, 0, sizeof *s);
}

void
state_init_load(state_t *s, const void *data, size_t size)
{
    memset(s, 0, sizeof *s);
    s->loading = 1;
    s->data = (uint8_t *) data;
    s->size = size;
}

void
state_fini(state_t *s)
{
    if (!s->loading)
        free(s->data);
    memset(s, 0, sizeof *s);
}

void
state_fail(state_t *s, int rc, const char *fmt, ...)
{
    if (s->rc != MR_OK)
        return;
    s->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
}

void
state_bytes(state_t *s, void *p, size_t n)
{
    if (s->rc != MR_OK || n == 0)
        return;
    if (s->loading) {
        if (n > s->size - s->pos) {
            state_fail(s, MR_EMALFORMED,
                       "the saved state ends early (byte %zu of %zu, %zu more wanted)", s->pos,
                       s->size, n);
            return;
        }
        memcpy(p, s->data + s->pos, n);
        s->pos += n;
        return;
    }
    if (n > s->cap - s->size) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap - s->size < n)
            cap *= 2;
        uint8_t *grown = realloc(s->data, cap);
        if (!grown) {
            state_fail(s, MR_ENOMEM, "out of memory saving the state (%zu bytes)", cap);
            return;
        }
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->size, p, n);
    s->size += n;
}

void
state_u64(state_t *s, uint64_t *v)
{
    state_bytes(s, v, sizeof *v);
}

void
state_int(state_t *s, int *v)
{
    int64_t w = *v;
    state_bytes(s, &w, sizeof w);
    *v = (int) w;
}

void
state_f64(state_t *s, double *v)
{
    state_bytes(s, v, sizeof *v);
}

void
state_vec(state_t *s, vec_t *v)
{
    uint64_t dim = v->dim;
    state_u64(s, &dim);
    if (s->rc == MR_OK && dim != v->dim) {
        state_fail(s, MR_EDIM,
                   "the saved state has a vector of dimension %llu where %zu is expected",
                   (unsigned long long) dim, v->dim);
        return;
    }
    state_bytes(s, v->x, v->dim * sizeof *v->x);
}

void
state_rng(state_t *s, rng_t *r)
{
    state_bytes(s, r->s, sizeof r->s);
}

void
state_tag(state_t *s, const char *tag)
{
    char have[32] = {0};
    snprintf(have, sizeof have, "%s", tag);
    char saved[32];
    memcpy(saved, have, sizeof saved);
    state_bytes(s, saved, sizeof saved);
    if (s->rc == MR_OK && s->loading && memcmp(saved, have, sizeof saved) != 0) {
        saved[sizeof saved - 1] = '\0';
        state_fail(s, MR_EMALFORMED, "the saved state is of '%s', not of '%s'", saved, have);
    }
}

void
state_index(state_t *s, int *v, int n, const char *what)
{
    state_int(s, v);
    if (s->rc == MR_OK && (*v < 0 || *v >= n))
        state_fail(s, MR_EMALFORMED, "the saved state has %s = %d, outside 0..%d", what, *v, n - 1);
    if (s->rc != MR_OK && s->loading)
        *v = 0;
}

void
state_expect(state_t *s, uint64_t have, const char *what)
{
    uint64_t saved = have;
    state_u64(s, &saved);
    if (s->rc == MR_OK && saved != have)
        state_fail(s, MR_EMALFORMED, "the saved state has %s = %llu, this run %llu", what,
                   (unsigned long long) saved, (unsigned long long) have);
}

int
state_rc(const state_t *s, mr_err_t *err)
{
    if (s->rc != MR_OK)
        return mr_err_set(err, s->rc, "%s", s->why);
    if (s->loading && s->pos != s->size)
        return mr_err_set(err, MR_EMALFORMED, "the saved state has %zu bytes left over",
                          s->size - s->pos);
    return MR_OK;
}

void
state_span(state_t *s, const uint8_t **p, size_t *n)
{
    uint64_t len = *n;
    state_u64(s, &len);
    if (s->rc != MR_OK)
        return;
    if (!s->loading) {
        state_bytes(s, (void *) *p, (size_t) len);
        return;
    }
    if (len > s->size - s->pos) {
        state_fail(s, MR_EMALFORMED,
                   "the saved state ends early (a part of %llu bytes at byte %zu "
                   "of %zu)",
                   (unsigned long long) len, s->pos, s->size);
        return;
    }
    *p = s->data + s->pos;
    *n = (size_t) len;
    s->pos += (size_t) len;
}
