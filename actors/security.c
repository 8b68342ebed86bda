//  security.c - see security.h.
#include "security.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sec {
    zcert_t *cert;        // our certificate (public + secret)
    zcert_t *server;      // client: the server's public certificate
    zactor_t *auth;       // server: the zauth actor
    char server_key[41];  // client: the server's public key, Z85
};

void
sec_destroy(sec_t **self_p)
{
    sec_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy(&self->auth);
    zcert_destroy(&self->cert);
    zcert_destroy(&self->server);
    free(self);
    *self_p = NULL;
}

//  Loads the secret certificate of name from keys_dir/secret; NULL if absent or public only.
static zcert_t *
s_load_secret(const char *keys_dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/secret/%s.cert_secret", keys_dir, name);
    if (access(path, R_OK) != 0)
        return NULL;
    zcert_t *cert = zcert_load(path);
    // A certificate without its secret part loads with an all-zero secret key text.
    if (cert && strspn(zcert_secret_txt(cert), "0") == 40)
        zcert_destroy(&cert);
    return cert;
}

sec_t *
sec_server_new(const char *keys_dir, mr_err_t *err)
{
    sec_t *self = calloc(1, sizeof *self);
    if (!self) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        return NULL;
    }
    self->cert = s_load_secret(keys_dir, "server");
    if (!self->cert) {
        mr_err_set(err, MR_ECONFIG, "no key server.cert_secret in %s/secret (`marina keys`)",
                   keys_dir);
        sec_destroy(&self);
        return NULL;
    }
    char allow[4200];
    snprintf(allow, sizeof allow, "%s/public", keys_dir);
    struct stat st;
    if (stat(allow, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mr_err_set(err, MR_ECONFIG, "no allow-list folder %s (`marina keys`)", allow);
        sec_destroy(&self);
        return NULL;
    }
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth) {
        mr_err_set(err, MR_EIO, "security=curve: cannot start the authenticator (zauth)");
        sec_destroy(&self);
        return NULL;
    }
    zstr_sendx(self->auth, "CURVE", allow, NULL);
    zsock_wait(self->auth);
    return self;
}

sec_t *
sec_client_new(const char *keys_dir, const char *role, long id, mr_err_t *err)
{
    sec_t *self = calloc(1, sizeof *self);
    if (!self) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        return NULL;
    }
    char name[64];
    if (id >= 0) {
        snprintf(name, sizeof name, "%s-%ld", role, id);
        self->cert = s_load_secret(keys_dir, name);
    }
    if (!self->cert)
        self->cert = s_load_secret(keys_dir, role);
    char path[4200];
    snprintf(path, sizeof path, "%s/server.cert", keys_dir);
    if (self->cert && access(path, R_OK) == 0)
        self->server = zcert_load(path);
    if (!self->cert || !self->server) {
        if (!self->cert && id >= 0)
            mr_err_set(err, MR_ECONFIG,
                       "no key %s-%ld.cert_secret or %s.cert_secret in %s/secret (`marina keys`)",
                       role, id, role, keys_dir);
        else if (!self->cert)
            mr_err_set(err, MR_ECONFIG, "no key %s.cert_secret in %s/secret (`marina keys`)", role,
                       keys_dir);
        else
            mr_err_set(err, MR_ECONFIG, "no server certificate %s (`marina keys`)", path);
        sec_destroy(&self);
        return NULL;
    }
    snprintf(self->server_key, sizeof self->server_key, "%s", zcert_public_txt(self->server));
    return self;
}

void
sec_apply(const sec_t *sec, zsock_t *sock)
{
    if (!sec)
        return;
    zcert_apply(sec->cert, sock);
    if (sec->auth) {
        zsock_set_zap_domain(sock, "marina");
        zsock_set_curve_server(sock, 1);
    } else {
        zsock_set_curve_serverkey(sock, sec->server_key);
    }
}

const char *
sec_peer_name(zmq_msg_t *frame)
{
    return zmq_msg_gets(frame, "name");
}

int
sec_endpoint_is_local(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return 1;
    if (strncmp(ep, "tcp://", 6) != 0)
        return 0;
    const char *host = ep + 6;
    // A connect endpoint may name a source first: "tcp://SRC;DST:PORT".
    const char *semi = strchr(host, ';');
    if (semi)
        host = semi + 1;
    char h[256];
    size_t len = strcspn(host, "");
    const char *colon = strrchr(host, ':');
    if (colon)
        len = (size_t) (colon - host);
    if (len >= sizeof h)
        return 0;
    memcpy(h, host, len);
    h[len] = '\0';
    if (h[0] == '[' && len >= 2 && h[len - 1] == ']') {
        memmove(h, h + 1, len - 2);
        h[len - 2] = '\0';
    }
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0 ||
           strcmp(h, "lo") == 0;
}

void
sec_warn_plain(const char *who, const char *endpoint)
{
    if (!endpoint || sec_endpoint_is_local(endpoint))
        return;
    zsys_warning("%s: security=none and %s can be reached from other machines: anyone who reaches "
                 "it can join, read or disturb the run. Use security=curve (marina keys, "
                 "docs/deploy.md) or a trusted network",
                 who, endpoint);
}

static int
s_name_ok(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len < 48 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
               len &&
           strcmp(name, "server") != 0;
}

//  Saves a fresh certificate named name: its secret part in dir/secret (0600), its public part at
//  public_path (NULL: dir/public/name.cert).
static int
s_make_one(const char *dir, const char *name, const char *public_path, mr_err_t *err)
{
    zcert_t *cert = zcert_new();
    if (!cert)
        return mr_err_set(err, MR_ENOMEM, "cannot make a certificate");
    zcert_set_meta(cert, "name", "%s", name);
    char secret[4200], pub[4200];
    snprintf(secret, sizeof secret, "%s/secret/%s.cert_secret", dir, name);
    if (public_path)
        snprintf(pub, sizeof pub, "%s", public_path);
    else
        snprintf(pub, sizeof pub, "%s/public/%s.cert", dir, name);
    unlink(secret);
    // The secret file is made 0600 before a byte of the key is written into it.
    mode_t old = umask(077);
    int rc = zcert_save_secret(cert, secret);
    umask(old);
    if (rc == 0)
        rc = chmod(secret, 0600);
    if (rc == 0)
        rc = zcert_save_public(cert, pub);
    zcert_destroy(&cert);
    if (rc != 0)
        return mr_err_set(err, MR_EIO, "cannot write the certificate %s or %s: %s", secret, pub,
                          strerror(errno));
    return MR_OK;
}

int
sec_keys_make(const char *dir, const char *const *names, size_t count, mr_err_t *err)
{
    for (size_t i = 0; i < count; i++)
        if (!s_name_ok(names[i]))
            return mr_err_set(err, MR_EINVAL,
                              "'%s' is not a client name (a role such as recorder, worker, "
                              "attacker, or role-ID such as worker-3; letters, digits, - and _)",
                              names[i]);
    char path[4200];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return mr_err_set(err, MR_EIO, "cannot make %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/public", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return mr_err_set(err, MR_EIO, "cannot make %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/secret", dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return mr_err_set(err, MR_EIO, "cannot make %s: %s", path, strerror(errno));
    if (chmod(path, 0700) != 0)
        return mr_err_set(err, MR_EIO, "cannot restrict %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/server.cert", dir);
    int rc = s_make_one(dir, "server", path, err);
    for (size_t i = 0; rc == MR_OK && i < count; i++)
        rc = s_make_one(dir, names[i], NULL, err);
    return rc;
}

void
sec_keys_remove(const char *dir, const char *const *names, size_t count)
{
    char path[4200];
    for (size_t i = 0; i <= count; i++) {
        const char *name = i < count ? names[i] : "server";
        snprintf(path, sizeof path, "%s/secret/%s.cert_secret", dir, name);
        unlink(path);
        snprintf(path, sizeof path, "%s/public/%s.cert", dir, name);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/server.cert", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/secret", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/public", dir);
    rmdir(path);
    rmdir(dir);
}

int
sec_keys_check(const char *keys_dir, mr_err_t *err)
{
    if (!keys_dir || !keys_dir[0])
        return mr_err_set(err, MR_ECONFIG,
                          "security = curve needs keys_dir (make the keys with `marina keys DIR`)");
    char path[4200];
    snprintf(path, sizeof path, "%s/server.cert", keys_dir);
    if (access(path, R_OK) != 0)
        return mr_err_set(err, MR_ECONFIG,
                          "security = curve: no server certificate %s (make the keys with "
                          "`marina keys DIR`)",
                          path);
    return MR_OK;
}
