//  rng.c - xoshiro256** (Blackman & Vigna) seeded by splitmix64; see rng.h.
#include "rng.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  Worker streams live above 2^32 so that they can never meet the server's stream (0) or any
//  other small stream id a later actor kind might take.
#define S_STREAM_WORKER_BASE 0x100000000ull

#define S_TWO_PI 6.283185307179586476925286766559

static uint64_t
s_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t
s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
rng_stream_worker(uint32_t worker_id)
{
    return S_STREAM_WORKER_BASE + worker_id;
}

void
rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
    //  Hash the seed first, then fold in the hashed stream id: (seed, stream) pairs that differ
    //  in either part give unrelated splitmix64 starting points (a plain seed + stream would make
    //  (1, 0) and (0, 1) collide).
    uint64_t a = seed;
    uint64_t b = stream ^ 0xD1B54A32D192ED03ull;
    uint64_t state = s_splitmix64(&a) ^ s_rotl(s_splitmix64(&b), 17);
    for (int i = 0; i < 4; i++)
        r->s[i] = s_splitmix64(&state);
    //  xoshiro's one forbidden state; splitmix64 is a bijection of its counter, so four zero
    //  outputs in a row cannot happen, but the contract says "never all zero".
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

uint64_t
rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

double
rng_uniform(rng_t *r)
{
    //  The top 53 bits, scaled by 2^-53: every value k 2^-53 in [0, 1) equally likely.
    return (double) (rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t
rng_below(rng_t *r, uint64_t n)
{
    assert(n > 0);
    if (n <= UINT32_MAX) {
        //  Lemire's multiply-shift with rejection (ACM TOMACS 2019): the 32x32 -> 64-bit product
        //  maps a 32-bit draw onto [0, n); draws whose low half falls below 2^32 mod n are
        //  rejected, which removes the bias. The division runs only on the rare slow path.
        uint32_t n32 = (uint32_t) n;
        uint64_t m = (rng_next(r) >> 32) * n32;
        uint32_t low = (uint32_t) m;
        if (low < n32) {
            uint32_t threshold = (uint32_t) (-n32) % n32;
            while (low < threshold) {
                m = (rng_next(r) >> 32) * n32;
                low = (uint32_t) m;
            }
        }
        return m >> 32;
    }
    //  Wide ranges: reject the top 2^64 mod n values, then reduce. Rare in practice.
    uint64_t threshold = (0 - n) % n;
    uint64_t x = rng_next(r);
    while (x < threshold)
        x = rng_next(r);
    return x % n;
}

int
rng_bernoulli(rng_t *r, double p)
{
    if (!(p > 0.0))
        return 0;
    if (p >= 1.0)
        return 1;
    return rng_uniform(r) < p;
}

double
rng_normal(rng_t *r)
{
    //  Box-Muller; u1 in (0, 1] keeps log() finite.
    double u1 = 1.0 - rng_uniform(r);
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(S_TWO_PI * u2);
}

#define S_BATCH 64  // Floyd's draws made ahead of their marks

#define S_RADIX_BITS 12  // two passes cover n <= 2^24 (d = 10^7)
#define S_RADIX      (1u << S_RADIX_BITS)

//  Sorts the k values of v (each < n) increasingly: an LSD radix sort of S_RADIX_BITS-bit digits,
//  as many as n needs, through tmp (4 k bytes, any alignment; memcpy'd, so byte scratch works).
static void
s_radix_sort_u32(uint32_t *v, uint32_t k, uint32_t n, unsigned char *tmp)
{
    unsigned bits = 0;
    while (bits < 32 && (n - 1) >> bits)
        bits++;
    uint32_t count[S_RADIX];
    int in_tmp = 0;  // where the values are now: v (0) or tmp (1)
    for (unsigned shift = 0; shift < bits; shift += S_RADIX_BITS) {
        memset(count, 0, sizeof count);
        for (uint32_t a = 0; a < k; a++) {
            uint32_t x;
            if (in_tmp)
                memcpy(&x, tmp + 4 * (size_t) a, 4);
            else
                x = v[a];
            count[(x >> shift) & (S_RADIX - 1)]++;
        }
        uint32_t at = 0;
        for (uint32_t b = 0; b < S_RADIX; b++) {
            uint32_t c = count[b];
            count[b] = at;
            at += c;
        }
        for (uint32_t a = 0; a < k; a++) {
            uint32_t x;
            if (in_tmp) {
                memcpy(&x, tmp + 4 * (size_t) a, 4);
                v[count[(x >> shift) & (S_RADIX - 1)]++] = x;
            } else {
                x = v[a];
                memcpy(tmp + 4 * (size_t) count[(x >> shift) & (S_RADIX - 1)]++, &x, 4);
            }
        }
        in_tmp ^= 1;
    }
    if (in_tmp)
        memcpy(v, tmp, 4 * (size_t) k);
}

void
rng_sample_k(rng_t *r, uint32_t n, uint32_t k, uint32_t *out, uint8_t *scratch)
{
    assert(k <= n);
    //  The marks are bits, scratch[t / 8] bit t % 8: an eighth of the memory of a byte a mark.
    //  Floyd's algorithm (Bentley & Floyd, CACM 1987): for j = n-k .. n-1 pick t in [0, j]; take
    //  t, or j if t is already taken. Every k-subset comes out equally likely, with exactly k
    //  draws and no retries. The draws do not depend on the marks, so they are made S_BATCH at
    //  a time and their marks fetched ahead: at large n nearly every mark misses the cache, and
    //  the misses then overlap instead of coming one after another.
    uint32_t draw[S_BATCH];
    for (uint32_t step = 0; step < k; step += S_BATCH) {
        uint32_t m = k - step < S_BATCH ? k - step : S_BATCH;
        for (uint32_t b = 0; b < m; b++) {
            uint32_t j = n - k + step + b;
            draw[b] = (uint32_t) rng_below(r, (uint64_t) j + 1);
            __builtin_prefetch(&scratch[draw[b] >> 3], 1);
        }
        for (uint32_t b = 0; b < m; b++) {
            uint32_t j = n - k + step + b, t = draw[b];
            if (scratch[t >> 3] & (1u << (t & 7)))
                t = j;  // j itself cannot be taken yet: earlier steps drew from [0, j)
            scratch[t >> 3] |= (uint8_t) (1u << (t & 7));
            out[step + b] = t;
        }
    }
    if (k <= 16) {
        //  The hot case (RandK with small K): insertion sort beats a scan of all n marks.
        for (uint32_t a = 0; a < k; a++) {
            scratch[out[a] >> 3] = 0;
            uint32_t v = out[a];
            uint32_t b = a;
            while (b > 0 && out[b - 1] > v) {
                out[b] = out[b - 1];
                b--;
            }
            out[b] = v;
        }
    } else if (n / k >= 16) {
        //  Sparse sample: sorting k values is cheaper than scanning n marks. Once the marks are
        //  cleared, the first 4 k of the n >= 16 k scratch bytes are the sort's buffer.
        for (uint32_t a = 0; a < k; a++)
            scratch[out[a] >> 3] = 0;
        s_radix_sort_u32(out, k, n, scratch);
        memset(scratch, 0, 4 * (size_t) k);
    } else {
        //  Dense sample: one scan of the marks yields them in order and clears them.
        uint32_t w = 0;
        for (uint32_t b = 0; b < (n + 7) / 8; b++) {
            unsigned bits = scratch[b];
            scratch[b] = 0;
            while (bits) {
                out[w++] = 8 * b + (uint32_t) __builtin_ctz(bits);
                bits &= bits - 1;
            }
        }
        assert(w == k);
    }
}
