//  digest.h - FNV-1a 64, the one hash of the wire protocol (docs/protocol.md, "Joining: the
//  configuration check"): the digest of a HELLO's configuration text and the fingerprint of a
//  data shard (csr_fingerprint() in data.h). Not cryptographic: it detects mistakes (a worker
//  started with other keys or other data), not attacks. Pure functions, no state.
#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>
#include <stdint.h>

//  FNV-1a's offset basis: the hash of zero bytes.
#define DIGEST_FNV_OFFSET 0xcbf29ce484222325ull

//  Continues the FNV-1a 64 hash h over the n bytes at p (start with DIGEST_FNV_OFFSET).
uint64_t digest_fnv1a(uint64_t h, const void *p, size_t n);

//  Continues h over v as 8 little-endian bytes, and over the IEEE-754 bits of x likewise.
uint64_t digest_u64(uint64_t h, uint64_t v);
uint64_t digest_f64(uint64_t h, double x);

//  The FNV-1a 64 hash of the NUL-terminated string s (its bytes, without the NUL).
uint64_t digest_str(const char *s);

#endif
