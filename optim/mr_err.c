//  mr_err.c - see mr_err.h.
#include "mr_err.h"

#include <stdarg.h>
#include <stdio.h>

int
mr_err_set(mr_err_t *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
        err->rc = rc;
    }
    return rc;
}

void
mr_err_clear(mr_err_t *err)
{
    if (err) {
        err->rc = MR_OK;
        err->text[0] = '\0';
    }
}

const char *
mr_strerror(int rc)
{
    switch (rc) {
        case MR_OK:
            return "ok";
        case MR_ENOMEM:
            return "out of memory";
        case MR_EINVAL:
            return "invalid argument";
        case MR_EMALFORMED:
            return "malformed input";
        case MR_EDIM:
            return "wrong dimension";
        case MR_ENONFINITE:
            return "non-finite value";
        case MR_EIO:
            return "I/O error";
        case MR_ECONFIG:
            return "configuration error";
        case MR_ETIMEOUT:
            return "timed out";
        case MR_EVERSION:
            return "version mismatch";
        case MR_EPEER:
            return "peer failure";
        default:
            return "unknown error";
    }
}
