//  cmd_keys.c - `marina keys DIR [--actors NAME,...]`: makes the CURVE certificates of
//  security=curve (actors/security.h has the folder's layout). Exit codes: 0 done, 2 bad usage
//  or name, 1 a file that cannot be written.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "security.h"

#define KEYS_MAX_NAMES 4096

static void
s_keys_usage(FILE *out)
{
    fprintf(out,
            "usage: marina keys DIR [--actors NAME,NAME,...]\n"
            "Makes the certificates of security=curve in DIR (created, mode 0700):\n"
            "  DIR/server.cert           the server's public key (every actor reads it)\n"
            "  DIR/public/NAME.cert      the allow-list: the client keys the server accepts\n"
            "  DIR/secret/NAME.cert_secret  each key's secret (mode 0600): give each host only\n"
            "                            the secrets of the actors it runs\n"
            "NAME is a role (recorder, worker, attacker: one key per role) or ROLE-ID (worker-3:\n"
            "one key per actor; an actor takes ROLE-ID before ROLE). The server's secret is\n"
            "DIR/secret/server.cert_secret. Default: --actors recorder,worker,attacker.\n"
            "Then: marina run ... security=curve keys_dir=DIR (docs/deploy.md).\n");
}

int
cmd_keys(int argc, char **argv)
{
    const char *dir = NULL, *actors = "recorder,worker,attacker";
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_keys_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--actors") == 0 && i + 1 < argc) {
            actors = argv[++i];
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            s_keys_usage(stderr);
            return 2;
        }
    }
    if (!dir) {
        s_keys_usage(stderr);
        return 2;
    }
    char *list = strdup(actors);
    const char **names = calloc(KEYS_MAX_NAMES, sizeof *names);
    if (!list || !names) {
        free(list);
        free(names);
        return 1;
    }
    size_t count = 0;
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name && count < KEYS_MAX_NAMES;
         name = strtok_r(NULL, ",", &save))
        if (strcmp(name, "server") != 0)  // the server's key is always made
            names[count++] = name;
    mr_err_t err;
    int rc = sec_keys_make(dir, names, count, &err);
    if (rc == MR_OK) {
        printf("%s: server.cert, secret/server.cert_secret", dir);
        for (size_t i = 0; i < count; i++)
            printf(", %s", names[i]);
        printf(" (public/NAME.cert, secret/NAME.cert_secret)\n");
    } else {
        fprintf(stderr, "marina keys: %s\n", err.text);
    }
    free(list);
    free(names);
    return rc == MR_OK ? 0 : rc == MR_EINVAL ? 2 : 1;
}
