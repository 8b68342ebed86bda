//  run_limits.c - see run_limits.h.
#include "run_limits.h"

#include <stdio.h>
#include <sys/resource.h>

size_t
limits_fds_server(size_t n)
{
    return 2 * n + 64;
}

size_t
limits_sockets_inproc(size_t n)
{
    return 4 * (n + 2) + 64;
}

int
limits_ensure_fds(size_t need, const char *what, mr_err_t *err)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return MR_OK;  // nothing to check against
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
        return MR_OK;
    if (rl.rlim_cur == RLIM_INFINITY)
        return MR_OK;
    rlim_t want = (rlim_t) need;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return MR_OK;
    }
    return mr_err_set(err, MR_ECONFIG,
                      "%s need about %zu open files, but the limit (RLIMIT_NOFILE, ulimit -n) is "
                      "%llu with a hard limit of %llu: raise it (e.g. ulimit -n %zu, or "
                      "LimitNOFILE= / limits.conf) or use fewer workers",
                      what, need, (unsigned long long) rl.rlim_cur,
                      (unsigned long long) rl.rlim_max, need);
}

int
limits_prepare_inproc(size_t n, size_t *max_sockets, mr_err_t *err)
{
    size_t sockets = limits_sockets_inproc(n);
    char what[96];
    snprintf(what, sizeof what, "n = %zu worker threads (transport = inproc)", n);
    int rc = limits_ensure_fds(sockets + 64, what, err);
    if (rc != MR_OK)
        return rc;
    *max_sockets = sockets;
    return MR_OK;
}
