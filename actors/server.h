//  server.h - the parameter server actor: PUBlishes each round, PULLs the workers' updates,
//  combines them with the run's method in worker-id order, and sends one stats row per round to
//  the recorder (in bursts, each about 20 ms after its first row).
//
//  Sockets: PUB bound at ep_bcast (ROUND, PING, STOP, REFUSE; with an omniscient adversary also
//  the round's honest UPDATEs, then a PING, for the attackers), PULL bound at ep_up (HELLO, READY,
//  UPDATE (with or without the metrics), METRICS, RESYNC from workers and attackers, and BUNDLEs
//  of UPDATEs and METRICS, taken one by one), ROUTER bound at ep_stats (the recorder's
//  HELLO and ACK in; RUN, STATS, CHECKPOINT, STOP out, to the recorder's connection (stats_link.h:
//  rows are kept until acknowledged, held for a burst, and a recorder restarted with the run's
//  token gets them): a second reader gets nothing). With keys_dir every socket is a CURVE server that accepts only the keys of the
//  allow-list (security.h), and a message is taken only from a key that may speak for its sender
//  (worker/attacker keys for their seats, the recorder key on the stats socket).
//  Control: the host's pipe, not the network, ends a run early: "$TERM" (stop now) and
//  "STOP" reason (abort the run with that reason, recorded in the database; "FAIL" reason: the
//  same, ending it 'failed': an actor died). A STOP message on
//  the PULL socket is rejected and recorded like any bad message. A HELLO whose configuration or data shard differs
//  from the server's is refused: REFUSE on the PUB socket, naming the differing keys, repeated
//  while the run joins; the run waits for a correct worker with that id (and fails at timeout_s
//  naming the refusal). Endpoints may use "*" ports; the bound ones are reported to the host in
//  "READY" ep_bcast ep_up ep_stats. A peer's bad message is logged, counted and dropped; it never
//  stops the server. An update that fails the checks (dimension, non-finite values, more entries
//  than the compressor allows, wrong round, a second one in a round, an excluded sender) is
//  rejected and recorded with its sender and reason; with an aggregator its sender is absent from
//  that round, and it is excluded after max_invalid such updates. The run fails (DONE failed <reason>) when a worker is silent past timeout_s.
#ifndef SERVER_H
#define SERVER_H

#include <czmq.h>
#include <stdint.h>

#include "method.h"
#include "stats.h"

typedef struct {
    const char *ep_bcast;        // where to bind the PUB socket
    const char *ep_up;           // where to bind the PULL socket
    const char *ep_stats;        // where to bind the ROUTER socket to the recorder
    const method_t *method;      // the run's method
    method_params_t mp;          // its resolved parameters
    uint64_t rounds;             // last round index R: rounds 0..R are run (R + 1 rows)
    uint64_t seed;               // the run's seed (server stream: c_k)
    run_info_t run;              // sent to the recorder before round 0
    int with_recorder;           // 1: wait for a recorder and send it RUN/STATS/STOP
    double timeout_s;            // join and per-round deadline
    double progress_s;           // log progress every progress_s seconds (0: never)
    double stop_at;              // > 0: complete once ||grad f||^2 <= stop_at * its round-0 value
    double stop_gap;             // > 0: complete once the gap F - F* <= stop_gap
    size_t honest;               // G: workers 0..G-1 are honest; G..n-1 join as attackers
    int forward_honest;          // 1: PUBlish each round's honest updates to the attackers (the
                                 // omniscient adversary) before waiting for theirs
    size_t max_nnz;              // the most entries an update of a compressed round may carry
    uint64_t metrics_every;      // the workers send METRICS in round 0, the last round and every
                                 // metrics_every-th round (0 is taken as 1); others record NULL f
    uint64_t worker_rows_every;  // round_workers rows in round 0, the last round and every this
                                 // many-th (0 is taken as 1): the recorder's rows stay O(rounds)
    int continue_on_loss;        // on_worker_loss = continue: a worker silent past a round's
                                 // deadline is lost and the run goes on with the others
    int downlink_dense;          // 1: every ROUND carries the dense g^{k-1}; 0: a patch of the
                                 // coordinates that changed whenever that frame is smaller
    uint64_t max_invalid;        // exclude a sender after this many invalid updates (0: never)
    //  The configuration check at HELLO (docs/protocol.md, "Joining: the configuration check"):
    //  a worker or attacker whose configuration or shard differs is refused (REFUSE), naming keys.
    const char *join_config;     // the configuration HELLO must carry; NULL: nothing is checked
    uint64_t join_digest;        // its FNV-1a 64 digest
    const uint64_t *shard_fp;    // n fingerprints (worker i's shard); NULL: shards not checked
    const char *keys_dir;        // security=curve: the keys folder (security.h); NULL: plain
    const char *recorder_token;  // the launcher's run token: only a recorder HELLO whose config
                                 // is "token=TOKEN\n" is the recorder; NULL: the first HELLO
    //  Checkpoints (checkpoint.h): after round k, every seat sends its STATE and the server sends
    //  the recorder a CHECKPOINT of the whole run, when k is a multiple of checkpoint_every (> 0),
    //  or (checkpoint_every = 0) when checkpoint_auto_s > 0 seconds passed since the last one.
    //  None in the last round, none while a worker is lost or excluded, none once a seat answers
    //  with an empty STATE (it cannot save its state).
    uint64_t checkpoint_every;
    double checkpoint_auto_s;
    const uint8_t *resume;  // a checkpoint to continue from (round + 1 on), or NULL
    size_t resume_bytes;
} server_cfg_t;

//  The zactor function; args is a const server_cfg_t * that outlives the actor.
void server_actor(zsock_t *pipe, void *args);

#endif
