//  mr_err.h - the one error vocabulary of marina.
//  Functions that can fail return MR_OK (0) or a negative MR_E* code. Where a person must learn
//  why, they take an optional mr_err_t *err (may be NULL) and fill it with the code and a sentence
//  naming the problem. mr_err_set() returns the code, so failing is one line. No global state.
#ifndef MR_ERR_H
#define MR_ERR_H

enum {
    MR_OK = 0,
    MR_ENOMEM = -1,      // allocation failed
    MR_EINVAL = -2,      // bad argument or parameter
    MR_EMALFORMED = -3,  // bytes that do not decode (message, file line)
    MR_EDIM = -4,        // wrong dimension or length
    MR_ENONFINITE = -5,  // NaN or Inf where a finite number is required
    MR_EIO = -6,         // file or socket I/O failed
    MR_ECONFIG = -7,     // bad configuration key or value
    MR_ETIMEOUT = -8,    // a deadline passed
    MR_EVERSION = -9,    // protocol or schema version mismatch
    MR_EPEER = -10,      // a peer misbehaved or died
};

typedef struct {
    int rc;          // the MR_E* code, MR_OK when nothing failed
    char text[200];  // a sentence for a person: what failed and why
} mr_err_t;

//  Fills err (if not NULL) with rc and the printf-formatted text; returns rc.
int mr_err_set(mr_err_t *err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

//  Clears err (if not NULL) to MR_OK and an empty text.
void mr_err_clear(mr_err_t *err);

//  The short name of a code, e.g. "malformed input"; never NULL.
const char *mr_strerror(int rc);

#endif
