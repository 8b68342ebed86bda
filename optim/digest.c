//  digest.c - FNV-1a 64 (Fowler, Noll, Vo); see digest.h.
#include "digest.h"

#include <string.h>

//  FNV's 64-bit prime, 2^40 + 2^8 + 0xb3.
#define S_FNV_PRIME 0x100000001b3ull

uint64_t
digest_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= S_FNV_PRIME;
    }
    return h;
}

uint64_t
digest_u64(uint64_t h, uint64_t v)
{
    unsigned char le[8];
    for (int k = 0; k < 8; k++)
        le[k] = (unsigned char) (v >> (8 * k));
    return digest_fnv1a(h, le, sizeof le);
}

uint64_t
digest_f64(uint64_t h, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return digest_u64(h, bits);
}

uint64_t
digest_str(const char *s)
{
    return digest_fnv1a(DIGEST_FNV_OFFSET, s, strlen(s));
}
