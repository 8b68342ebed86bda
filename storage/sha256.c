//  sha256.c - see sha256.h. Written from FIPS 180-4: functions 4.1.2, constants 4.2.2, padding
//  5.1.1, initial hash value 5.3.3, computation 6.2.2.
#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

//  FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
//  64 primes.
static const uint32_t s_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
s_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

//  FIPS 180-4, 6.2.2: one 512-bit block into the hash value.
static void
s_compress(uint32_t h[8], const uint8_t block[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t) block[4 * t] << 24 | (uint32_t) block[4 * t + 1] << 16 |
               (uint32_t) block[4 * t + 2] << 8 | (uint32_t) block[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = s_rotr(w[t - 15], 7) ^ s_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = s_rotr(w[t - 2], 17) ^ s_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = s1 + w[t - 7] + s0 + w[t - 16];
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t big1 = s_rotr(e, 6) ^ s_rotr(e, 11) ^ s_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = k + big1 + ch + s_k[t] + w[t];
        uint32_t big0 = s_rotr(a, 2) ^ s_rotr(a, 13) ^ s_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big0 + maj;
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

void
sha256_init(sha256_t *s)
{
    //  FIPS 180-4, 5.3.3.
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->used = 0;
    s->total = 0;
}

void
sha256_update(sha256_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    while (len > 0) {
        size_t take = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        len -= take;
        if (s->used == 64) {
            s_compress(s->h, s->block);
            s->used = 0;
        }
    }
}

void
sha256_final(sha256_t *s, uint8_t digest[32])
{
    //  FIPS 180-4, 5.1.1: a 1 bit, zeros to 448 mod 512 bits, then the length in bits (64 bits).
    uint64_t bits = s->total * 8;
    s->block[s->used++] = 0x80;
    if (s->used > 56) {
        memset(s->block + s->used, 0, 64 - s->used);
        s_compress(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, 56 - s->used);
    for (int i = 0; i < 8; i++)
        s->block[56 + i] = (uint8_t) (bits >> (56 - 8 * i));
    s_compress(s->h, s->block);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t) (s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t) (s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t) (s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t) s->h[i];
    }
}

static void
s_to_hex(const uint8_t digest[32], char hex[SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[SHA256_HEX_LEN] = '\0';
}

void
sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
    sha256_t s;
    uint8_t digest[32];
    sha256_init(&s);
    sha256_update(&s, data, len);
    sha256_final(&s, digest);
    s_to_hex(digest, hex);
}

int
sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], mr_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mr_err_set(err, MR_EIO, "%s: cannot open: %s", path, strerror(errno));
    sha256_t s;
    sha256_init(&s);
    uint8_t buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(&s, buf, got);
    int failed = ferror(f);
    fclose(f);
    if (failed)
        return mr_err_set(err, MR_EIO, "%s: read error", path);
    uint8_t digest[32];
    sha256_final(&s, digest);
    s_to_hex(digest, hex);
    return MR_OK;
}
