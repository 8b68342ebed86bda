//  worker.h - the worker actor: SUBscribes to the server's broadcasts, applies each round with its
//  method over its own data shard, and PUSHes its update and its metrics to the server.
//
//  The worker's logic lives in the method (optim/); this file is only the socket shell, so one
//  process can host many workers as threads, or many workers in one thread (worker_host_actor).
//  Sends HELLO on start, READY on the first PING, for each ROUND its UPDATE with the round's
//  metrics inside (docs/protocol.md; a METRICS of its own when it sends no UPDATE, or with
//  injected faults). A repeated
//  ROUND (resent after a RESYNC) of the round it last answered makes it send that answer again,
//  byte for byte: it may have been lost, and the server discards a copy it already has. RESYNC
//  after max(2 s, 3 rounds) of silence. With cfg.attack it hosts a Byzantine attacker instead
//  (attacker.h): UPDATEs only, crafted after the round's forwarded honest updates when the attack
//  needs them; honest workers ignore those. A ROUND that asks for a checkpoint is followed, after
//  the answer, by the seat's STATE (its method state, rngs and, for an attacker, the attack's
//  state); with cfg.resume the seat starts from its state in that checkpoint, and the host from
//  the g every worker held. Ends on STOP (DONE "completed", or "stopped" when the
//  server ended the run early), on a REFUSE naming this process (DONE "failed": its configuration
//  or data differs from the server's), on $TERM, or when the server is silent past timeout_s.
#ifndef WORKER_H
#define WORKER_H

#include <czmq.h>
#include <stdint.h>

#include "attack.h"
#include "loss.h"
#include "method.h"
#include "seat_share.h"

//  Faults injected into a worker's sends of UPDATE and METRICS (cfg key fault_send; tc netem is
//  not available): each frame is delayed by delay_s + jitter_s U(0, 1), then lost with
//  probability loss, else sent, and sent a second time with probability dup. Draws come from
//  the stream RNG_STREAM_FAULT(id), so the method's draws and the rows are those of a clean run.
typedef struct {
    double loss, dup;          // probabilities in [0, 1)
    double delay_s, jitter_s;  // seconds
} worker_fault_t;

typedef struct {
    const char *ep_bcast;         // the server's PUB endpoint (connect)
    const char *ep_up;            // the server's PULL endpoint (connect)
    uint32_t id;                  // 0-based worker id
    const method_t *method;       // the run's method
    method_params_t mp;           // its resolved parameters
    const loss_t *loss;           // this worker's local objective (borrowed, read-only)
    uint64_t seed;                // the run's seed (worker stream: compressor draws)
    double timeout_s;             // give up when the server is silent this long
    const attack_cfg_t *attack;   // non-NULL: this actor is a Byzantine attacker (attacker.h):
                                  // it joins with the attacker role, sends attacks, no METRICS
    size_t honest;                // G, the honest workers (ids 0..G-1), for an attacker
    const char *join_config;      // the configuration HELLO carries (docs/protocol.md); NULL: ""
    uint64_t join_digest;         // its FNV-1a 64 digest
    uint64_t shard_fp;            // csr_fingerprint() of this worker's shard
    const worker_fault_t *fault;  // non-NULL: inject these faults into its UPDATE and METRICS
    const char *keys_dir;         // security=curve: the keys folder (security.h); NULL: plain
    const uint8_t *resume;        // a run's checkpoint (checkpoint.h) to continue from, or NULL
    size_t resume_bytes;
    int rejoin;  // 1: a new process for a worker the run lost (on_worker_loss = continue): it
                 // says HELLO every REJOIN_HELLO_S and waits for its JOIN (docs/protocol.md)
} worker_cfg_t;

//  The zactor function; args is a const worker_cfg_t * that outlives the actor.
void worker_actor(zsock_t *pipe, void *args);

//  Several honest workers in one actor (one thread, one SUB and one PUSH socket): for runs of
//  thousands of workers in one process. Each seat says HELLO and READY, answers every ROUND and
//  sends its METRICS under its own id, so the server sees what separate workers would send
//  (it combines in id order whatever the order of arrival) and the rows are the same bit for
//  bit. A RESYNC goes out once, under the first seat's id. Alone, a host steps its seats in id
//  order; with a share, the hosts of a process step whichever seats they claim in a round (each
//  seat's messages still name it), so that none waits for another at a round's end, and run as
//  SCHED_BATCH threads (a waking host does not take the server's core). The answers of a round
//  go out in BUNDLEs (up to 64 frames and 256 KiB each; none with injected faults): a few
//  frames a round instead of one a seat. Ends as worker_actor does (one DONE for the host).
typedef struct {
    const worker_cfg_t *seats;  // nseats >= 1 honest workers (attack NULL), ids increasing
    size_t nseats;
    seat_share_t *share;  // non-NULL: the hosts of this process share their seats out round by
                          // round (seat_share.h; no faults, no rejoin): the same rows
    int from_top;         // which end of the share this host claims from (alternate them)
} worker_host_cfg_t;

//  The zactor function; args is a const worker_host_cfg_t * that outlives the actor.
void worker_host_actor(zsock_t *pipe, void *args);

#endif
