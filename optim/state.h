//  state.h - saving and restoring the state of a run's actors (checkpoints, docs/schema.md).
//  A state_t is a byte stream walked by one visitor function per state type: the same function
//  saves (appends each field) and loads (copies each field back, in the same order), so that the
//  two can never disagree about the layout. Fields are raw native-endian bytes, each vector
//  preceded by its dimension, which loading checks. A failed visit (out of memory, a short or
//  mismatched stream) sets s->rc and s->why and makes every later visit a no-op; the caller checks
//  state_rc() once at the end. A state_t is a plain value owned by one thread.
#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "rng.h"
#include "vec.h"

typedef struct {
    int loading;    // 0: save (append to data), 1: load (read from data at pos)
    uint8_t *data;  // save: owned, grown; load: borrowed
    size_t size;    // bytes in data
    size_t cap;     // save: capacity of data
    size_t pos;     // load: the next byte to read
    int rc;         // MR_OK, or the first failure
    char why[160];  // the first failure, a sentence
} state_t;

//  A stream to save into (empty, owned buffer) / to load from data[0..size) (borrowed).
void state_init_save(state_t *s);
void state_init_load(state_t *s, const void *data, size_t size);
//  Frees a saving stream's buffer; NULL-safe for loading streams (nothing owned).
void state_fini(state_t *s);

//  The fields: n raw bytes; one integer; a vector (its dim, then dim doubles; loading checks the
//  dim); an rng; a tag (save writes it, load checks it: the start of a state type, so that a
//  stream of another method or version is refused with a sentence, not misread).
void state_bytes(state_t *s, void *p, size_t n);
void state_u64(state_t *s, uint64_t *v);
void state_int(state_t *s, int *v);
void state_f64(state_t *s, double *v);
void state_vec(state_t *s, vec_t *v);
void state_rng(state_t *s, rng_t *r);
void state_tag(state_t *s, const char *tag);

//  Checks a visitor makes: an int index that must be in [0, n) (save writes it; a loaded value
//  outside fails, naming what, and leaves *v = 0); a value fixed by the state's construction
//  (save writes have; load fails unless the saved value equals have, naming what: a stream of
//  the same method saved with other options); and a failure of the visitor's own (rc, a
//  sentence). All are no-ops after an earlier failure.
void state_index(state_t *s, int *v, int n, const char *what);
void state_expect(state_t *s, uint64_t have, const char *what);
void state_fail(state_t *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

//  A length-prefixed byte string: save writes n and the n bytes at *p; load reads the length into
//  *n and points *p into the stream (borrowed: valid while the stream's data is).
void state_span(state_t *s, const uint8_t **p, size_t *n);

//  MR_OK, or the first failure with err filled (loading: also bytes left over at the end).
int state_rc(const state_t *s, mr_err_t *err);

#endif
