//  worker.h - the worker actor: SUBscribes to the server's broadcasts, applies each round with its
//  method over its own data shard, and PUSHes its update and its metrics to the server.
//
//  The worker's logic lives in the method (optim/); this file is only the socket shell, so one
//  process can host many workers as threads. Sends HELLO on start, READY on the first PING,
//  UPDATE + METRICS for each ROUND (a repeated ROUND, resent after a RESYNC, is ignored), RESYNC
//  after 2 s of silence. With cfg.attack it hosts a Byzantine attacker instead (attacker.h):
//  UPDATEs only, crafted after the round's forwarded honest updates when the attack needs them;
//  honest workers ignore those. Ends on STOP (DONE "completed", or "stopped" when the server ended
//  the run early), on a REFUSE naming this process (DONE "failed": its configuration or data
//  differs from the server's), on $TERM, or when the server is silent past timeout_s.
#ifndef WORKER_H
#define WORKER_H

#include <czmq.h>
#include <stdint.h>

#include "attack.h"
#include "loss.h"
#include "method.h"

typedef struct {
    const char *ep_bcast;        // the server's PUB endpoint (connect)
    const char *ep_up;           // the server's PULL endpoint (connect)
    uint32_t id;                 // 0-based worker id
    const method_t *method;      // the run's method
    method_params_t mp;          // its resolved parameters
    const loss_t *loss;          // this worker's local objective (borrowed, read-only)
    uint64_t seed;               // the run's seed (worker stream: compressor draws)
    double timeout_s;            // give up when the server is silent this long
    const attack_cfg_t *attack;  // non-NULL: this actor is a Byzantine attacker (attacker.h):
                                 // it joins with the attacker role, sends attacks, no METRICS
    size_t honest;               // G, the honest workers (ids 0..G-1), for an attacker
    const char *join_config;     // the configuration HELLO carries (docs/protocol.md); NULL: ""
    uint64_t join_digest;        // its FNV-1a 64 digest
    uint64_t shard_fp;           // csr_fingerprint() of this worker's shard
    const char *keys_dir;        // security=curve: the keys folder (security.h); NULL: plain
} worker_cfg_t;

//  The zactor function; args is a const worker_cfg_t * that outlives the actor.
void worker_actor(zsock_t *pipe, void *args);

#endif
