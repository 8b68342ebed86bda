//  ports.c - see ports.h.
#include "ports.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

//  The most endpoints one check takes (a server binds three).
#define S_MAX_EP 8

//  Splits "tcp://HOST:PORT" into host and port text. 1 if ep is tcp, 0 otherwise; -1 if it is tcp
//  but has no ":PORT".
static int
s_split(const char *ep, char *host, size_t hsize, char *port, size_t psize)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return 0;
    const char *at = ep + 6, *colon = strrchr(at, ':');
    if (!colon || colon == at || !colon[1])
        return -1;
    size_t hlen = (size_t) (colon - at);
    if (hlen >= hsize || strlen(colon + 1) >= psize)
        return -1;
    memcpy(host, at, hlen);
    host[hlen] = '\0';
    //  [::1] -> ::1
    if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    snprintf(port, psize, "%s", colon + 1);
    return 1;
}

//  Binds and closes a socket on host:port (IPv4, as ZeroMQ without ZMQ_IPV6, unless host is an
//  IPv6 literal). MR_OK or MR_ECONFIG naming ep. A host this check cannot resolve (ZeroMQ also
//  takes interface names) or another bind error is left to the server to report.
static int
s_try_bind(const char *ep, const char *host, const char *port, mr_err_t *err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = strchr(host, ':') ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res) != 0 || !res)
        return MR_OK;
    int rc = MR_OK;
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
            int e = errno;
            if (e == EADDRINUSE)
                rc = mr_err_set(err, MR_ECONFIG,
                                "--bind %s: port %s is in use by another program (%s)", ep, port,
                                strerror(e));
            else if (e == EACCES)
                rc = mr_err_set(err, MR_ECONFIG, "--bind %s: port %s needs privileges (%s)", ep,
                                port, strerror(e));
        }
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

int
ports_check_free(const char *const *ep, size_t n, mr_err_t *err)
{
    char host[S_MAX_EP][256], port[S_MAX_EP][16];
    int fixed[S_MAX_EP];
    if (n > S_MAX_EP)
        return mr_err_set(err, MR_ECONFIG, "%zu endpoints: at most %d", n, S_MAX_EP);
    for (size_t i = 0; i < n; i++) {
        fixed[i] = 0;
        int tcp = s_split(ep[i], host[i], sizeof host[i], port[i], sizeof port[i]);
        if (tcp < 0)
            return mr_err_set(err, MR_ECONFIG, "--bind %s: a tcp endpoint is tcp://HOST:PORT",
                              ep[i]);
        if (tcp == 0 || strcmp(port[i], "*") == 0 || strcmp(port[i], "0") == 0)
            continue;
        char *end;
        long p = strtol(port[i], &end, 10);
        if (*end || p < 1 || p > 65535)
            return mr_err_set(err, MR_ECONFIG, "--bind %s: the port must be 1..65535 or *", ep[i]);
        fixed[i] = 1;
        for (size_t j = 0; j < i; j++)
            if (fixed[j] && strcmp(port[j], port[i]) == 0 &&
                (strcmp(host[j], host[i]) == 0 || strcmp(host[j], "*") == 0 ||
                 strcmp(host[i], "*") == 0))
                return mr_err_set(err, MR_ECONFIG,
                                  "--bind %s: port %s is given twice (also %s); each socket needs "
                                  "a port of its own",
                                  ep[i], port[i], ep[j]);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = fixed[i] ? s_try_bind(ep[i], host[i], port[i], err) : MR_OK;
        if (rc != MR_OK)
            return rc;
    }
    return MR_OK;
}
