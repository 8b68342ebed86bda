//  security.h - ZeroMQ CURVE for the actors' sockets (security=curve, docs/threat-model.md): the
//  certificates of a keys folder, who may connect, and a warning for plain tcp off this machine.
//
//  A keys folder (made by sec_keys_make(), `marina keys DIR`) holds:
//    DIR/server.cert                 the server's public certificate (every client reads it)
//    DIR/public/NAME.cert            the allow-list: one public certificate per client name; the
//                                    server's zauth accepts exactly these keys
//    DIR/secret/NAME.cert_secret     each name's secret certificate (mode 0600; the folder 0700),
//                                    NAME = server, or a client name
//  Client names are roles (recorder, worker, attacker: one key per role) or role-ID (worker-3:
//  one key per actor); a client takes DIR/secret/ROLE-ID.cert_secret if it exists, else
//  DIR/secret/ROLE.cert_secret. Each public certificate carries its name as metadata "name",
//  which zauth attaches to every message of a connection that used that key (sec_peer_name()).
//  The zauth actor authenticates every socket of its process (one ZeroMQ context): one server
//  per process. Over inproc:// no handshake takes place; CURVE applies to tcp:// and ipc://.
#ifndef SECURITY_H
#define SECURITY_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

typedef struct sec sec_t;

//  The server's side: loads DIR/secret/server.cert_secret and starts zauth with the allow-list
//  DIR/public/. NULL with err (naming the file) if a certificate is missing or unreadable.
sec_t *sec_server_new(const char *keys_dir, mr_err_t *err);

//  A client's side for role ("recorder", "worker", "attacker") and id (< 0: none): loads its
//  secret certificate (role-id first, then role) and DIR/server.cert. NULL with err if missing.
sec_t *sec_client_new(const char *keys_dir, const char *role, long id, mr_err_t *err);

void sec_destroy(sec_t **self_p);

//  Makes sock use CURVE before it binds (server) or connects (client). sec NULL: does nothing.
void sec_apply(const sec_t *sec, zsock_t *sock);

//  The certificate name of the client that sent frame (its "name" metadata), or NULL when the
//  connection is not CURVE-authenticated with a marina certificate.
const char *sec_peer_name(zmq_msg_t *frame);

//  1 if endpoint cannot be reached from another machine: ipc://, inproc://, or tcp:// on a
//  loopback address (127.x.y.z, ::1, localhost, lo). 0 otherwise (tcp://*, a host's address).
int sec_endpoint_is_local(const char *endpoint);

//  Warns once (zsys_warning, who names the actor) when security is none and endpoint is not
//  local: anyone who can reach it can join, read or disturb the run.
void sec_warn_plain(const char *who, const char *endpoint);

//  Makes a keys folder in dir (created if absent, mode 0700) with the server's certificate and
//  one client certificate per name (names[0..count): "recorder", "worker", "worker-3", ...;
//  letters, digits, '-' and '_'). Existing certificates of those names are replaced. MR_OK or
//  an error naming the file.
int sec_keys_make(const char *dir, const char *const *names, size_t count, mr_err_t *err);

//  Removes what sec_keys_make() made in dir for names (and dir itself if then empty).
void sec_keys_remove(const char *dir, const char *const *names, size_t count);

//  Checks a keys_dir value for security=curve: the folder holds the server's public certificate.
//  MR_OK, or MR_ECONFIG naming what is missing.
int sec_keys_check(const char *keys_dir, mr_err_t *err);

#endif
