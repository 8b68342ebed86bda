//  stats.h - what a run records: its identity (run_info_t) and one row per round (round_stats_t).
//  Plain data shared by msg/ (which carries them to the recorder) and storage/ (which writes them).
//  Strings in run_info_t are borrowed by whoever fills the struct, owned by msg_t after a decode.
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

typedef struct {
    const char *name;        // a label for the run (may be "")
    const char *version;     // program version that produced it
    const char *config;      // the full resolved configuration, as INI text
    uint64_t seed;           // the run's seed
    const char *method;      // e.g. "marina"
    const char *compressor;  // e.g. "randk"
    uint32_t n;              // workers
    uint32_t dim;            // d
    const char *dataset;     // path or "synthetic"
    double start_time;       // Unix time, seconds
    double f_star;           // min f for convex problems (NAN if unknown)
    const char *problem;  // a key naming the objective (data, loss, lambda, split) for caching f*
    uint32_t byzantine;   // B: workers n-B..n-1 are the attackers (ground truth)
    const char *attack;   // what they send ("none", "alie", ...)
    const char *aggregator;  // the server's rule ("mean", "cm", ...)
    uint32_t bucket;         // bucketing's bucket size (0: none)
} run_info_t;

//  One worker's share of a round (the round_workers table).
typedef struct {
    uint64_t bits_paper_up;  // this worker's update, in the three conventions
    uint64_t bits_model_up;
    uint64_t bytes_wire_up;
    uint64_t nnz_up;
    uint64_t oracle_calls;  // grad f_ij evaluations it reported
    int sent;               // 1 if it sent an update this round (participated)
} worker_stats_t;

typedef struct {
    uint64_t round;            // k: the row describes x^k and the messages that formed g^k
    int coin;                  // c_k (1 in round 0: full gradients)
    double f;                  // f(x^k) over all honest data (NAN if not evaluated)
    double grad_norm_sq;       // ||grad f(x^k)||^2 over all honest data (NAN if not evaluated)
    uint64_t bits_paper_up;    // workers -> server: 32 bits per transmitted value
    uint64_t bits_model_up;    // values plus ceil(log2 d) bits per transmitted index
    uint64_t bytes_wire_up;    // exact frame bytes of the update messages
    uint64_t bits_paper_down;  // server -> workers, summed over receivers
    uint64_t bits_model_down;
    uint64_t bytes_wire_down;
    uint64_t nnz_up;          // transmitted values, summed over workers
    uint64_t oracle_calls;    // grad f_ij evaluations, summed over workers
    uint32_t participants;    // workers whose update was used
    double wall_time_s;       // seconds since round 0 was broadcast
    double gap;               // f(x^k) - f* when f* is known, else NAN
    uint32_t nworkers;        // entries in workers (0: no per-worker rows)
    worker_stats_t *workers;  // per-worker shares, owned by whoever filled the struct
    uint32_t accepted;        // updates the server used this round
    uint32_t rejected;        // updates (and other messages) it rejected this round
    double agg_dist_sq;       // ||aggregate - mean of the honest vectors||^2 (0 without attackers)
    uint64_t bytes_metrics;   // the metrics' bytes the server took this round (METRICS frames, or
                              // the metrics fields inside UPDATEs): not communication, own column
    const char *rejections;   // one line per rejected update: "SENDER<TAB>REASON\n" ("" if none)
} round_stats_t;

#endif
