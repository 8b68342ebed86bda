//  sha256.h - SHA-256 (FIPS 180-4, section 6.2) of bytes and of files, for fingerprinting the
//  data a run read. sha256_t is a plain value (init, update any number of times, final); it
//  holds no resources. sha256_file() reads the whole file; MR_EIO with err naming the file.
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

#define SHA256_HEX_LEN 64  // characters of a digest in hex, without the terminating NUL

typedef struct {
    uint32_t h[8];      // the hash value H^(i)
    uint8_t block[64];  // the message block being filled
    size_t used;        // bytes in block
    uint64_t total;     // message length so far, bytes
} sha256_t;

void sha256_init(sha256_t *s);
void sha256_update(sha256_t *s, const void *data, size_t len);
//  Pads, finishes and writes the 32-byte digest; s must be re-initialised to be used again.
void sha256_final(sha256_t *s, uint8_t digest[32]);

//  The digest of len bytes as 64 lower-case hex characters plus NUL.
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]);

//  The digest of the file at path, as sha256_hex().
int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], mr_err_t *err);

#endif
