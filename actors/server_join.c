//  server_join.c - the server's join (server_impl.h): HELLO from every seat and the recorder,
//  the configuration check and its REFUSEs, PING until every worker is READY; and joining again
//  (on_worker_loss = continue): a lost worker's new process says HELLO and gets a JOIN.
#include <string.h>

#include "actor.h"
#include "msg.h"
#include "server_impl.h"
#include "stats_link.h"

#define PING_INTERVAL_MS   5
#define REFUSE_INTERVAL_MS 50  // how often a pending REFUSE is published again while joining

//  1 if m's (role, sender) is a seat of this run: honest workers 0..G-1, attackers G..n-1.
static int
s_role_fits(const server_t *self, const msg_t *m)
{
    if (m->sender >= self->n)
        return 0;
    int attacker = m->sender >= self->honest;
    return m->role == (attacker ? MSG_ROLE_ATTACKER : MSG_ROLE_WORKER);
}

//  The configuration check of one HELLO (docs/protocol.md, "Joining: the configuration check"),
//  for every role that carries a configuration (worker, attacker): its digest must be ours, or it
//  is refused naming the differing keys; a worker's shard fingerprint must be its shard's.
//  Returns 0 to accept the sender; -1 after logging why and queueing a REFUSE for its process.
static int
s_check_hello(server_t *self, const msg_t *m)
{
    const server_cfg_t *cfg = self->cfg;
    if (m->role == MSG_ROLE_RECORDER || !cfg->join_config)
        return 0;
    char diff[320] = "";
    size_t used = 0;
    if (m->cfg_digest != cfg->join_digest || strcmp(m->cfg_text, cfg->join_config) != 0) {
        char keys[300];
        if (actor_config_diff(cfg->join_config, m->cfg_text, keys, sizeof keys) == 0)
            snprintf(keys, sizeof keys, "digest %016llx, server's %016llx",
                     (unsigned long long) m->cfg_digest, (unsigned long long) cfg->join_digest);
        used = (size_t) snprintf(diff, sizeof diff, "its configuration differs: %s", keys);
    }
    uint64_t fp = cfg->shard_fp && m->sender < self->n ? cfg->shard_fp[m->sender] : 0;
    if (m->role == MSG_ROLE_WORKER && cfg->shard_fp && m->shard_fp != fp && used < sizeof diff)
        snprintf(diff + used, sizeof diff - used,
                 "%sits data shard differs (fingerprint %016llx, server's %016llx): check dataset, "
                 "bias, n and synth_*",
                 used ? "; " : "", (unsigned long long) m->shard_fp, (unsigned long long) fp);
    if (!diff[0])
        return 0;
    server_refusal_t *r = &self->refused[self->refused_next];
    self->refused_next = (self->refused_next + 1) % MAX_REFUSED;
    if (self->nrefused < MAX_REFUSED)
        self->nrefused++;
    r->role = m->role;
    r->sender = m->sender;
    r->pid = m->pid;
    snprintf(r->reason, sizeof r->reason, "%s %u (pid %u) refused: %s",
             m->role == MSG_ROLE_WORKER ? "worker" : "attacker", m->sender, m->pid, diff);
    zsys_warning("server: %s", r->reason);
    self->rejected++;
    self->next_refuse = 0;  // publish it now
    return -1;
}

//  Publishes the pending REFUSEs if they are due; returns when they are due next (or far away).
static double
s_refuse_pending(server_t *self, double deadline)
{
    if (self->nrefused == 0)
        return deadline;
    double now = actor_now();
    if (now >= self->next_refuse) {
        //  From self->fwd, as a JOIN goes (s_publish_join()): during the rounds self->out holds
        //  the ROUND a RESYNC publishes again.
        msg_t *o = &self->fwd;
        for (size_t i = 0; i < self->nrefused; i++) {
            const server_refusal_t *r = &self->refused[i];
            o->type = MSG_REFUSE;
            o->role = r->role;
            o->sender = r->sender;
            o->pid = r->pid;
            o->reason = (char *) r->reason;
            if (actor_send(zsock_resolve(self->pub), o, &self->buf, 0) < 0)
                zsys_error("server: cannot publish a REFUSE: %s", zmq_strerror(zmq_errno()));
            o->reason = NULL;
        }
        self->next_refuse = now + REFUSE_INTERVAL_MS / 1000.0;
    }
    return self->next_refuse < deadline ? self->next_refuse : deadline;
}

//  Appends the latest refusal to the run's failure reason, so that a join that timed out says why.
static void
s_reason_add_refusal(server_t *self)
{
    if (self->nrefused == 0)
        return;
    size_t last = (self->refused_next + MAX_REFUSED - 1) % MAX_REFUSED;
    size_t used = strlen(self->reason);
    snprintf(self->reason + used, sizeof self->reason - used, "; %s", self->refused[last].reason);
}

//  Join: every worker and the recorder say HELLO; then PING until every worker is READY, i.e.
//  its SUB socket receives our broadcasts (no slow-joiner loss of round 0).
const char *
server_join(server_t *self)
{
    const server_cfg_t *cfg = self->cfg;
    double deadline = actor_now() + cfg->timeout_s;
    while (server_count_flags(self->hello, self->n) < self->n ||
           (cfg->with_recorder && !stats_link_joined(self->link))) {
        server_next_t got = server_next(self, s_refuse_pending(self, deadline));
        if (got == NEXT_TERM || got == NEXT_STOP)
            return "aborted";
        if (got == NEXT_TIMEOUT && actor_now() < deadline)
            continue;  // a REFUSE is due
        if (got == NEXT_TIMEOUT) {
            char missing[128];
            server_list_missing(self->hello, self->n, missing, sizeof missing);
            snprintf(self->reason, sizeof self->reason,
                     "only %zu of %zu workers%s joined within %.0f s (missing workers: %s)",
                     server_count_flags(self->hello, self->n), self->n,
                     cfg->with_recorder && !stats_link_joined(self->link) ? " and no recorder" : "",
                     cfg->timeout_s, missing);
            s_reason_add_refusal(self);
            return "failed";
        }
        if (got == NEXT_OTHER)
            continue;  // the recorder may have said HELLO
        msg_t *m = &self->in;
        if (m->type == MSG_STOP) {
            server_reject_stop(self);
            continue;
        }
        if (m->type == MSG_HELLO && s_role_fits(self, m)) {
            if (s_check_hello(self, m) < 0)
                continue;
            if (self->hello[m->sender])
                server_warn(self, "worker %u said HELLO twice", m->sender);
            self->hello[m->sender] = 1;
            self->pid[m->sender] = m->pid;
        } else if (m->type == MSG_HELLO && m->role == MSG_ROLE_RECORDER) {
            self->rejected++;
            server_warn(self,
                        "a recorder HELLO on the update socket: ignored (the recorder says HELLO "
                        "on the stats socket)");
        } else {
            self->rejected++;
            server_warn(self, "unexpected %s from %u while joining", msg_type_name(m->type),
                        m->sender);
        }
    }
    if (cfg->with_recorder) {
        self->out.type = MSG_RUN;
        self->out.run = cfg->run;
        if (server_to_recorder(self) < 0)
            return self->abort ? "aborted" : "failed";
    }
    deadline = actor_now() + cfg->timeout_s;
    double next_ping = 0;
    while (server_count_flags(self->ready, self->n) < self->n) {
        double now = actor_now();
        if (now >= next_ping) {
            self->out.type = MSG_PING;
            // PINGs repeat the last sequence number: how many are sent depends on timing, and the
            // ROUND frames (whose sizes are recorded) must be the same in every run.
            self->out.seq = self->seq;
            if (server_publish(self) < 0)
                return "failed";
            next_ping = now + PING_INTERVAL_MS / 1000.0;
        }
        server_next_t got =
            server_next(self, s_refuse_pending(self, next_ping < deadline ? next_ping : deadline));
        if (got == NEXT_TERM || got == NEXT_STOP)
            return "aborted";
        if (got == NEXT_OTHER)
            continue;
        if (got == NEXT_TIMEOUT) {
            if (actor_now() < deadline)
                continue;
            char missing[128];
            server_list_missing(self->ready, self->n, missing, sizeof missing);
            snprintf(self->reason, sizeof self->reason,
                     "workers %s never received a broadcast within %.0f s", missing,
                     cfg->timeout_s);
            return "failed";
        }
        msg_t *m = &self->in;
        if (m->type == MSG_STOP) {
            server_reject_stop(self);
            continue;
        }
        if (m->type == MSG_READY && s_role_fits(self, m))
            self->ready[m->sender] = 1;
        else if (m->type == MSG_HELLO && s_role_fits(self, m) && s_check_hello(self, m) == 0)
            self->pid[m->sender] = m->pid;  // a duplicate, or a restarted process: harmless
        else if (m->type == MSG_HELLO)
            s_check_hello(self, m);  // refused if it differs
        else
            server_warn(self, "unexpected %s from %u before round 0", msg_type_name(m->type),
                        m->sender);
    }
    server_warn_flush(self, "while joining", 0);
    zsys_notice("server: %zu workers joined; starting %llu rounds", self->n,
                (unsigned long long) cfg->rounds);
    return NULL;
}

//  --------------------------------------------------------------------------------------------
//  Joining again (on_worker_loss = continue; docs/protocol.md, "Joining again: JOIN")

//  Publishes JOIN for honest seat i: its process join_pid[i] takes part from round k at x^{k-1},
//  the server's iterate before round k's step.
static int
s_publish_join(server_t *self, uint32_t i, uint64_t k)
{
    msg_t *j = &self->fwd;  // free between rounds (it carries forwarded updates inside one)
    j->type = MSG_JOIN;
    j->sender = i;
    j->pid = self->pid[i];
    j->round = k;
    vec_copy(&j->g, self->cfg->method->server_x(self->ms));
    return actor_send(zsock_resolve(self->pub), j, &self->buf, 0) < 0 ? -1 : 0;
}

//  A HELLO in round k. From a lost honest worker's new process (its configuration checked): it
//  joins again at the start of the next round (server_admit_joins()). From the process a JOIN
//  admitted to round k that has not answered yet: it missed the JOIN (a slow subscription), so
//  JOIN and ROUND k go out again. From a new process while the old one is still in the run: held
//  until the old one is lost. Anything else is logged and ignored.
void
server_take_hello(server_t *self, uint64_t k, round_stats_t *row)
{
    const msg_t *m = &self->in;
    if (!s_role_fits(self, m) || m->role != MSG_ROLE_WORKER) {
        self->rejected++;
        server_warn(self, "a %s HELLO from %u in round %llu: ignored",
                    m->role == MSG_ROLE_RECORDER ? "recorder" : "misplaced", m->sender,
                    (unsigned long long) k);
        return;
    }
    uint32_t i = m->sender;
    if (!self->cfg->continue_on_loss || !self->cfg->method->worker_rejoin) {
        self->rejected++;
        server_warn(self,
                    "worker %u (pid %u) says HELLO in round %llu: a run can take a worker back "
                    "only with on_worker_loss = continue and a method whose workers can rejoin",
                    i, m->pid, (unsigned long long) k);
        return;
    }
    if (s_check_hello(self, m) < 0) {
        s_refuse_pending(self, 0);  // REFUSE now: no join loop publishes it during the rounds
        return;
    }
    if (self->lost[i] && self->join_pid[i] != m->pid) {
        self->join_pid[i] = m->pid;
        zsys_notice("server: worker %u (pid %u) asks to join again; it takes part from round %llu",
                    i, m->pid, (unsigned long long) k + 1);
    } else if (k > 0 && !self->lost[i] && self->joined_at[i] == k && self->pid[i] == m->pid &&
               !self->closed[i]) {
        //  (k > 0: admissions start at round 1; joined_at 0 means none, and a new process that
        //  joined before round 0 answers round 0 without a JOIN.)
        if (s_publish_join(self, i, k) == 0)
            server_publish_round_again(self, row);
    } else if (!self->lost[i] && self->pid[i] != m->pid && self->join_pid[i] != m->pid) {
        //  Held: the launcher starts the new process as soon as it reaps the old one, and its
        //  HELLO can come before the server has read the LOST (its pipe is polled every
        //  SERVER_POLL_S). It is admitted once the old process is lost, never before.
        self->join_pid[i] = m->pid;
        self->rejected++;
        server_warn(self,
                    "worker %u (pid %u) says HELLO while worker %u (pid %u) is in the run: "
                    "held until that process is lost",
                    i, m->pid, i, self->pid[i]);
    }
}

//  At the start of round k, before its ROUND: every lost worker whose new process asked to join
//  gets its JOIN and takes part from this round on (recorded in the round's rejections as an
//  event). The ROUND then carries the dense g (the new process holds no g to patch). 0, or -1 if
//  a JOIN cannot be sent (reason set).
int
server_admit_joins(server_t *self, uint64_t k)
{
    for (uint32_t i = 0; i < self->honest; i++) {
        if (!self->join_pid[i] || !self->lost[i])
            continue;
        self->pid[i] = self->join_pid[i];
        self->join_pid[i] = 0;
        if (s_publish_join(self, i, k) < 0) {
            snprintf(self->reason, sizeof self->reason, "round %llu: cannot send JOIN: %s",
                     (unsigned long long) k, zmq_strerror(zmq_errno()));
            return -1;
        }
        self->lost[i] = self->excluded[i] = 0;
        self->invalid[i] = 0;
        self->live++;
        self->joined_at[i] = k;
        self->out.g_patch = 0;
        char why[160];
        snprintf(why, sizeof why,
                 "worker %u (pid %u) joins again from round %llu (on_worker_loss = continue)", i,
                 self->pid[i], (unsigned long long) k);
        server_log_event(self, i, why);
        zsys_notice("server: %s", why);
    }
    return 0;
}
