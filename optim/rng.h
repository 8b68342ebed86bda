//  rng.h - a small, fast, seeded pseudo-random generator (xoshiro256** seeded by splitmix64).
//  Every random choice in a run flows from the run's seed: each actor derives its own
//  independent stream with rng_seed(&r, run_seed, stream_id), where stream_id names the actor
//  (RNG_STREAM_SERVER, rng_stream_worker(i), ...). An rng_t is a plain value owned by one actor;
//  it is not thread-safe. Same seed and stream => same sequence, on every machine.
#ifndef RNG_H
#define RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];  // xoshiro256** state, never all zero
} rng_t;

#define RNG_STREAM_SERVER 0u  // the server's stream (c_k, participants)
//  Streams with bit 63 set are the run's other shared draws (no other stream sets bit 63):
#define RNG_STREAM_SHUFFLE   ((uint64_t) 1 << 63 | 1u)  // split = shuffle: the row permutation
#define RNG_STREAM_AGGREGATE ((uint64_t) 1 << 63 | 2u)  // the server's bucketing permutations
//  Attacker i's own draws (noise attack): 2^63 | 2^32 | i.
#define RNG_STREAM_ATTACK(i) ((uint64_t) 1 << 63 | (uint64_t) 1 << 32 | (uint64_t) (i))
//  Worker i's injected faults (fault_send: which frames are lost, doubled, delayed): 2^63 | 2^33 | i.
#define RNG_STREAM_FAULT(i) ((uint64_t) 1 << 63 | (uint64_t) 1 << 33 | (uint64_t) (i))
//  Worker i's draws after it joined a run again at round k (JOIN): stream 2^63 | 2^34 | i, seeded
//  with the run's seed xor k * 0x9e3779b97f4a7c15 (so each rejoin round has its own sequence).
#define RNG_STREAM_REJOIN(i)     ((uint64_t) 1 << 63 | (uint64_t) 1 << 34 | (uint64_t) (i))
#define RNG_SEED_REJOIN(seed, k) ((seed) ^ ((uint64_t) (k) *0x9e3779b97f4a7c15ULL))

//  The stream id of worker i (0-based): distinct from the server's and every other worker's.
uint64_t rng_stream_worker(uint32_t worker_id);

//  Seeds r from (seed, stream): different streams give statistically independent sequences.
void rng_seed(rng_t *r, uint64_t seed, uint64_t stream);

//  The next 64 random bits.
uint64_t rng_next(rng_t *r);

//  A uniform double in [0, 1) with 53 random bits.
double rng_uniform(rng_t *r);

//  A uniform integer in [0, n), without modulo bias; n > 0.
uint64_t rng_below(rng_t *r, uint64_t n);

//  1 with probability p, else 0 (p <= 0 gives 0, p >= 1 gives 1 without drawing).
int rng_bernoulli(rng_t *r, double p);

//  A standard normal N(0, 1) draw (Box-Muller, no cached state).
double rng_normal(rng_t *r);

//  Writes k distinct indices drawn uniformly from [0, n) to out, sorted increasingly; k <= n.
//  Uses scratch (n bytes, all zero, the caller's) to mark chosen indices (a bit each); it is left
//  all zero on return.
void rng_sample_k(rng_t *r, uint32_t n, uint32_t k, uint32_t *out, uint8_t *scratch);

#endif
