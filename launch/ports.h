//  ports.h - checks, before a server starts, that the fixed tcp ports it is told to bind are
//  free, so a port in use is refused at once with exit 2 and the endpoint's name instead of a
//  started actor failing. Endpoints with port * (or 0), ipc:// and inproc:// are not checked:
//  nothing is fixed there. The check binds and closes a plain socket (with SO_REUSEADDR, as
//  ZeroMQ does, so a port in TIME_WAIT counts as free); a port taken between the check and the
//  server's own bind is still reported by the server.
#ifndef PORTS_H
#define PORTS_H

#include <stddef.h>

#include "mr_err.h"

//  MR_OK if every fixed tcp endpoint of ep[0..n) (n <= 8) can be bound now and no two name the
//  same port on the same host; else MR_ECONFIG (a tcp endpoint without a port or with a bad one,
//  a repeated port, a port in use, a port that needs privileges) with err naming the endpoint.
int ports_check_free(const char *const *ep, size_t n, mr_err_t *err);

#endif
