//  attacker.h - the Byzantine attacker's logic, hosted by the worker actor's socket shell
//  (worker.c) when worker_cfg_t.attack is set: its own honest-looking message comes from a
//  "shadow" of the run's method over the attacker's data (the whole set; label-flipped for lf),
//  the omniscient attacks see the round's honest updates that the server forwards on its PUB
//  socket, and the attack's view (optim/attack.h) is shaped into a message like an honest one: a
//  compressed round's message goes through the compressor (a RandK attacker sends K values), a
//  full round's travels dense. docs/threat-model.md has the threat model.
//
//  One attacker_t per attacker actor (one thread); not thread-safe.
#ifndef ATTACKER_H
#define ATTACKER_H

#include <stddef.h>
#include <stdint.h>

#include "attack.h"
#include "method.h"
#include "msg.h"

typedef struct attacker attacker_t;

//  An attacker for the run's method and parameters (mp.n workers, the first honest of them
//  honest), with id and the run's seed. NULL with err filled on failure.
attacker_t *attacker_new(const method_t *method,
                         const method_params_t *mp,
                         const attack_cfg_t *attack,
                         size_t honest,
                         uint32_t id,
                         uint64_t seed,
                         mr_err_t *err);
void attacker_destroy(attacker_t **self_p);
//  Saves or loads (st->loading) what persists between rounds (state.h): its rng and, with
//  estimator = local, the estimators it mirrors; between rounds only.
void attacker_state(attacker_t *self, state_t *st);

//  Starts round rd: own is the message the shadow method computed (kept as the attacker's own
//  view). The round's offset (the part of the view the server adds itself) is copied, so rd may
//  change afterwards.
void attacker_begin(attacker_t *self, const method_round_t *rd, const cvec_t *own);
//  1 if the attack must see the round's honest updates before it can answer.
int attacker_waits(const attacker_t *self);
//  Takes one forwarded honest UPDATE (ignored unless it is of the current round, from an honest
//  sender not seen yet in this round).
void attacker_observe(attacker_t *self, const msg_t *update);
//  Writes the attack's message for the current round to out (cap >= d). MR_OK or MR_EINVAL.
int attacker_craft(attacker_t *self, cvec_t *out, mr_err_t *err);

#endif
