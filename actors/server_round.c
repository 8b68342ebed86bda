//  server_round.c - the server's rounds (server_impl.h): plan, broadcast ROUND, take each
//  worker's update and metrics (checked; rejected, lost and joining seats), combine in worker-id
//  order, send the stats row, stop when the target is reached; the progress line.
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "marks.h"
#include "msg.h"
#include "progress.h"
#include "server_impl.h"

#define REJECT_WARN_MAX 5  // warnings logged per sender before they are only counted
//  A RESYNC this soon after the round's copy was published is served by that copy (half the
//  workers' RESYNC_AFTER_S, so a worker whose copy was lost asks again and is served then).
#define RESYNC_SERVED_S 1.0
#define S_AHEAD         4  // s_metrics_mean(): gradients fetched this many workers ahead, ...
#define S_AHEAD_LINES   8  // ... their first this many cache lines (64 doubles)

//  Closes sender i's update slot of this round (its update arrived, or was rejected).
static void
s_close_slot(server_t *self, uint32_t i)
{
    if (self->closed[i])
        return;
    self->closed[i] = 1;
    self->open_up--;
    if (i < self->honest)
        self->open_honest--;
}

//  Rejects an update of sender i in round k for reason: recorded, counted towards exclusion; with
//  an aggregator and close = 1 the sender's slot of this round is closed (it is absent from the
//  aggregate). Without an aggregator the server keeps waiting for a valid update, and an excluded
//  sender fails the run.
static void
s_reject_update(server_t *self, uint32_t i, uint64_t k, const char *reason, int close)
{
    self->invalid[i]++;
    server_log_rejection(self, i, reason);
    if (self->invalid[i] <= REJECT_WARN_MAX)
        server_warn(self, "round %llu: rejected an update from worker %u: %s",
                    (unsigned long long) k, i, reason);
    if (close && self->robust && self->expected[i] && !self->closed[i]) {
        s_close_slot(self, i);
        self->up_ptrs[i] = NULL;
    }
    if (self->cfg->max_invalid > 0 && self->invalid[i] >= self->cfg->max_invalid &&
        !self->excluded[i]) {
        self->excluded[i] = 1;
        zsys_warning("server: worker %u excluded after %llu invalid updates", i,
                     (unsigned long long) self->invalid[i]);
        if (!self->robust && !self->fatal) {
            // Without an aggregator every update is needed: the run cannot go on.
            snprintf(self->reason, sizeof self->reason,
                     "round %llu: worker %u excluded after %llu invalid updates (last: %s)",
                     (unsigned long long) k, i, (unsigned long long) self->invalid[i], reason);
            self->fatal = 1;
        }
    }
}

//  Ends the run in round k when no honest worker is left: the reason is set; returns -1.
static int
s_none_left(server_t *self, uint64_t k)
{
    snprintf(self->reason, sizeof self->reason,
             "round %llu: every honest worker is lost (on_worker_loss = continue)",
             (unsigned long long) k);
    return -1;
}

//  Takes honest worker i out of round k (its open slot closed, its metrics no longer awaited) and,
//  unless it is already lost, out of the run, recording why. 0, or -1 when no honest worker is
//  left (reason set).
static int
s_lose_seat(server_t *self, uint32_t i, uint64_t k, const char *why, size_t *metrics_pending)
{
    if (!self->closed[i]) {
        s_close_slot(self, i);
        self->up_ptrs[i] = NULL;
    }
    if (i >= self->honest)
        return 0;  // an attacker that sent nothing: absent from this round's aggregate
    if (self->metrics_wanted && !self->lost[i] && !self->got_metrics[i]) {
        (*metrics_pending)--;
        self->got_metrics[i] = 1;  // awaited no more (a lost worker's metrics are left out)
    }
    if (!self->lost[i]) {
        self->lost[i] = self->excluded[i] = 1;
        self->live--;
        server_log_rejection(self, i, why);
        zsys_warning("server: %s", why);
    }
    if (self->live == 0)
        return s_none_left(self, k);
    return 0;
}

//  on_worker_loss = continue, at round k's deadline: every honest worker whose update or metrics
//  did not come is lost for the rest of the run (recorded with the reason); the round goes on
//  with those that answered (attackers may be absent anyway). 0, or -1 when no honest worker is
//  left (reason set).
static int
s_lose_missing(server_t *self, uint64_t k, size_t *metrics_pending)
{
    for (size_t i = 0; i < self->n; i++) {
        int no_update = !self->closed[i], no_metrics = i < self->honest && self->metrics_wanted &&
                                                       !self->lost[i] && !self->got_metrics[i];
        if (!no_update && !no_metrics)
            continue;
        char why[200];
        snprintf(why, sizeof why,
                 "worker %zu lost: no %s by round %llu's deadline (timeout_s = %.0f); the run goes "
                 "on without it (on_worker_loss = continue)",
                 i, no_update ? "update" : "metrics", (unsigned long long) k, self->cfg->timeout_s);
        if (s_lose_seat(self, (uint32_t) i, k, why, metrics_pending) < 0)
            return -1;
    }
    if (self->live == 0)
        return s_none_left(self, k);
    return 0;
}

//  1 if a and b are the same update, value for value (bits) and index for index.
static int
s_same_update(const cvec_t *a, const cvec_t *b)
{
    if (a->kind != b->kind || a->dim != b->dim || a->nnz != b->nnz)
        return 0;
    if (memcmp(a->val, b->val, a->nnz * sizeof *a->val) != 0)
        return 0;
    return a->kind != CVEC_SPARSE || memcmp(a->idx, b->idx, a->nnz * sizeof *a->idx) == 0;
}

//  1 if g changed since the last ROUND only where the last round's updates (still in up_ptrs:
//  their combine was the round before this ROUND's) have non-zero entries, as the method says
//  (server_g_changed_at_updates): then those coordinates are marked in self->marks, and
//  s_set_g() looks at them alone (RandK of a gradient difference that is +0.0 off the shard's
//  columns: most of the K entries are zeros). 0 (nothing marked) otherwise.
static int
s_mark_changes(server_t *self)
{
    const method_t *method = self->cfg->method;
    if (!self->g_sent_ok || !self->ups_combined || self->ups_round + 1 != self->out.round ||
        !method->server_g_changed_at_updates || !method->server_g_changed_at_updates(self->ms))
        return 0;
    for (size_t i = 0; i < self->n; i++)
        if (self->up_ptrs[i] && self->up_ptrs[i]->kind != CVEC_SPARSE)
            return 0;
    for (size_t i = 0; i < self->n; i++) {
        const cvec_t *u = self->up_ptrs[i];
        for (size_t e = 0; u && e < u->nnz; e++)
            if (u->val[e] != 0.0)
                marks_set(self->marks, u->idx[e]);
    }
    return 1;
}

//  Puts g^{k-1} into the ROUND being built: dense, or (downlink = auto) as the patch of the
//  coordinates that changed since the last ROUND when that frame is smaller (12 bytes an entry
//  against 8 a coordinate), with the digest of the whole g either way.
static int
s_set_g(server_t *self, const vec_t *g)
{
    //  out->g keeps the g of the last ROUND (what every worker holds): one pass writes what
    //  changed, builds the patch and updates the digest (msg_g_update).
    msg_t *out = &self->out;
    int patch = !self->cfg->downlink_dense && self->g_sent_ok;
    int rc = s_mark_changes(self)
                 ? msg_g_update_marked(out, g, self->marks, patch, &self->g_sent_digest)
                 : msg_g_update(out, g, self->g_sent_ok, patch, &self->g_sent_digest);
    if (rc != MR_OK)
        return MR_ENOMEM;
    out->g_patch = patch && 12 * out->gp_nnz < 8 * self->dim;
    self->g_sent_ok = 1;
    return MR_OK;
}

//  1 if round rd's updates pass through the compressor (then at most max_nnz entries each).
static int
s_round_compressed(const server_t *self, const method_round_t *rd)
{
    const method_t *method = self->cfg->method;
    if (!method->uses_compressor)
        return 0;
    return method->round_compressed ? method->round_compressed(rd) : 1;
}

//  What s_accept() did with a message: bits (an UPDATE with metrics may do both).
typedef enum {
    TOOK_NOTHING = 0,
    TOOK_UPDATE = 1,
    TOOK_METRICS = 2,
} took_t;

//  Checks an UPDATE of round k from sender i against the round; NULL if it may be used, else why
//  not (in why).
static const char *
s_update_problem(
    server_t *self, uint32_t i, uint64_t k, const method_round_t *rd, char *why, size_t size)
{
    const msg_t *m = &self->in;
    const method_t *method = self->cfg->method;
    if (i < self->honest && self->lost[i])
        snprintf(why, size, "worker %u is lost (on_worker_loss = continue)", i);
    else if (self->excluded[i])
        snprintf(why, size, "worker %u is excluded (%llu invalid updates)", i,
                 (unsigned long long) self->invalid[i]);
    else if (!self->expected[i])
        snprintf(why, size, "worker %u does not take part in round %llu", i,
                 (unsigned long long) k);
    else if (self->closed[i])
        snprintf(why, size, "a second update from worker %u in round %llu", i,
                 (unsigned long long) k);
    else if (m->up.enc == CVEC_ENC_SKETCH && !method->sketched)
        snprintf(why, size, "sketch coefficients from worker %u; method %s does not sketch", i,
                 method->name);
    else if (!method->sketched && s_round_compressed(self, rd) && m->up.nnz > self->max_nnz)
        snprintf(why, size, "%zu entries from worker %u, the compressor allows %zu", m->up.nnz, i,
                 self->max_nnz);
    else
        return NULL;
    return why;
}

//  Takes one message of round k into the per-worker slots.
static took_t s_accept_metrics(server_t *self, uint64_t k, uint32_t i);

static took_t
s_accept(server_t *self, uint64_t k, const method_round_t *rd, round_stats_t *row)
{
    msg_t *m = &self->in;
    if (m->type == MSG_STOP) {
        server_reject_stop(self);
        return TOOK_NOTHING;
    }
    if (m->type == MSG_STATE) {
        server_take_state(self, k);
        return TOOK_NOTHING;
    }
    if (m->type == MSG_HELLO) {
        server_take_hello(self, k, row);
        return TOOK_NOTHING;
    }
    if (m->type != MSG_UPDATE && m->type != MSG_METRICS && m->type != MSG_RESYNC) {
        if (m->type != MSG_READY) {
            self->rejected++;
            server_warn(self, "unexpected %s in round %llu", msg_type_name(m->type),
                        (unsigned long long) k);
        }
        return TOOK_NOTHING;
    }
    if (m->sender >= self->n) {
        char why[128];
        snprintf(why, sizeof why, "%s from unknown worker %u (n = %zu)", msg_type_name(m->type),
                 m->sender, self->n);
        server_log_rejection(self, UINT32_MAX, why);
        server_warn(self, "%s", why);
        return TOOK_NOTHING;
    }
    if (m->type == MSG_RESYNC) {
        // The worker missed broadcasts or lost its copy of g: the current round again. Once:
        // the workers that waited on one slow peer ask together, and a copy published less than
        // RESYNC_SERVED_S ago reaches each of them after the broadcast it lacked (PUB keeps the
        // order); one whose copy was lost asks again after its own 2 s and is served then.
        int served = self->again_seq == self->seq && actor_now() - self->again_at < RESYNC_SERVED_S;
        server_warn(self, "worker %u asks to resync from seq %llu%s", m->sender,
                    (unsigned long long) m->seq,
                    served ? " (served by the copy just published)" : "");
        if (!served)
            server_publish_round_again(self, row);
        return TOOK_NOTHING;
    }
    uint32_t i = m->sender;
    char why[256];
    if (m->round != k) {
        snprintf(why, sizeof why, "%s from worker %u for round %llu, %s round %llu%s",
                 msg_type_name(m->type), i, (unsigned long long) m->round,
                 m->round < k ? "stale: the server is in" : "a future round: the server is in",
                 (unsigned long long) k, m->round < k ? ": discarded" : "");
        if (m->round < k) {
            server_discard(self, i, why);  // late (a resend, a delayed frame): harmless
        } else if (m->type == MSG_UPDATE) {
            s_reject_update(self, i, k, why, 0);
        } else {
            self->rejected++;
            server_warn(self, "%s", why);
        }
        return TOOK_NOTHING;
    }
    if (m->type == MSG_UPDATE && self->closed[i] && self->up_ptrs[i] == &self->ups[i] &&
        s_same_update(&m->up, &self->ups[i])) {
        snprintf(why, sizeof why,
                 "a second update from worker %u in round %llu, the same as the first (a resend): "
                 "discarded",
                 i, (unsigned long long) k);
        server_discard(self, i, why);
        return TOOK_NOTHING;
    }
    if (m->type == MSG_UPDATE) {
        //  The metrics that ride in an UPDATE count as a METRICS of their own would, whatever
        //  becomes of the update.
        took_t took = m->with_metrics ? s_accept_metrics(self, k, i) : TOOK_NOTHING;
        const char *problem = s_update_problem(self, i, k, rd, why, sizeof why);
        if (problem) {
            s_reject_update(self, i, k, problem, 1);
            return took;
        }
        // Swap buffers instead of copying: both have capacity d.
        cvec_t tmp = self->ups[i];
        self->ups[i] = m->up;
        m->up = tmp;
        s_close_slot(self, i);
        self->up_ptrs[i] = &self->ups[i];
        //  The UPDATE's own bytes: the frame less the metrics riding in it (not communication).
        msg_cost_t cost =
            msg_update_cost(&self->ups[i], (size_t) self->frame_size - m->metrics_bytes);
        row->bits_paper_up += cost.bits_paper;
        row->bits_model_up += cost.bits_model;
        row->bytes_wire_up += cost.bytes_wire;
        row->nnz_up += self->ups[i].nnz;
        row->oracle_calls += m->oracle_calls;
        row->accepted++;
        self->wstats[i] = (worker_stats_t){cost.bits_paper,  cost.bits_model, cost.bytes_wire,
                                           self->ups[i].nnz, m->oracle_calls, 1};
        return took | TOOK_UPDATE;
    }
    return s_accept_metrics(self, k, i);
}

//  Takes the metrics in self->in (a METRICS, or an UPDATE's with_metrics part) of worker i < n in
//  round k.
static took_t
s_accept_metrics(server_t *self, uint64_t k, uint32_t i)
{
    msg_t *m = &self->in;
    char why[256];
    if (i < self->honest && self->lost[i]) {
        snprintf(why, sizeof why, "metrics from worker %u in round %llu, which is lost: discarded",
                 i, (unsigned long long) k);
        server_discard(self, i, why);
        return TOOK_NOTHING;
    }
    if (i < self->honest && self->got_metrics[i] && self->metrics_wanted) {
        snprintf(why, sizeof why, "second metrics from worker %u in round %llu: discarded", i,
                 (unsigned long long) k);
        server_discard(self, i, why);
        return TOOK_NOTHING;
    }
    if (i >= self->honest || self->got_metrics[i] || !self->metrics_wanted) {
        snprintf(why, sizeof why, "%s metrics from worker %u in round %llu",
                 i >= self->honest       ? "attacker seat:"
                 : !self->metrics_wanted ? "unasked:"
                                         : "duplicate",
                 i, (unsigned long long) k);
        server_log_rejection(self, i, why);
        server_warn(self, "%s", why);
        return TOOK_NOTHING;
    }
    server_sparse_grad_t *sg = &self->sgrads[i];
    sg->on = m->mg_sparse;
    if (sg->on) {  // swap the decoder's arrays in (the dense d-vector is never written)
        uint32_t *idx = sg->idx;
        double *val = sg->val;
        size_t cap = sg->cap;
        sg->idx = m->mg_idx;
        sg->val = m->mg_val;
        sg->cap = m->mg_cap;
        sg->nnz = m->mg_nnz;
        m->mg_idx = idx;
        m->mg_val = val;
        m->mg_cap = cap;
        m->mg_nnz = 0;
        m->mg_sparse = 0;
    } else {
        vec_t tmp = self->grads[i];
        self->grads[i] = m->g;
        m->g = tmp;
    }
    self->f[i] = m->f;
    self->got_metrics[i] = 1;
    self->metrics_bytes += m->type == MSG_UPDATE ? m->metrics_bytes : (uint64_t) self->frame_size;
    return TOOK_METRICS;
}

//  The omniscient adversary: the round's valid honest updates, one UPDATE frame each (as their
//  senders sent them), then a PING with the round's seq that ends the list. Not communication of
//  the method: never counted in the row.
static int
s_forward_honest(server_t *self, uint64_t k)
{
    self->forwarded = 1;
    msg_t *f = &self->fwd;
    for (uint32_t i = 0; i < self->honest; i++) {
        if (!self->up_ptrs[i])
            continue;
        cvec_t tmp = self->ups[i];
        self->ups[i] = f->up;
        f->up = tmp;
        f->type = MSG_UPDATE;
        f->round = k;
        f->sender = i;
        f->oracle_calls = self->wstats[i].oracle_calls;
        int size = actor_send(zsock_resolve(self->pub), f, &self->buf, 0);
        tmp = self->ups[i];
        self->ups[i] = f->up;
        f->up = tmp;
        if (size < 0)
            return -1;
    }
    f->type = MSG_PING;
    f->seq = self->seq;
    return actor_send(zsock_resolve(self->pub), f, &self->buf, 0) < 0 ? -1 : 0;
}

//  The round's f and ||grad f(x^k)||^2 into row: the means over the honest workers still in the
//  run. When every gradient came sparse, only the coordinates they list are touched (marked in
//  marks, then scaled and squared in increasing order and set back to +0.0): the same bits
//  as the dense passes, which add +0.0 to +0.0, scale +0.0 and add its square +0.0 to a sum that
//  is never -0.0. O(d / 64 + entries) instead of three passes over d.
static void
s_metrics_mean(server_t *self, round_stats_t *row)
{
    size_t honest = self->honest;
    int sparse = 1;
    double fsum = 0;
    for (size_t i = 0; i < honest; i++) {
        if (self->lost[i])
            continue;
        fsum += self->f[i];
        sparse &= self->sgrads[i].on;
    }
    double scale = 1.0 / (double) self->live;
    row->f = fsum / (double) self->live;
    double *mean = self->gmean.x;
    if (!sparse) {
        vec_zero(&self->gmean);
        for (size_t i = 0; i < honest; i++) {
            //  Each worker's gradient is a buffer of its own, long out of the caches: ask for
            //  the start of the one a few workers ahead while this one is summed (at most
            //  S_AHEAD_LINES lines: a long vector's hardware prefetch takes over).
            if (i + S_AHEAD < honest) {
                const double *ahead = self->grads[i + S_AHEAD].x;
                size_t span = self->dim < 8 * S_AHEAD_LINES ? self->dim : 8 * S_AHEAD_LINES;
                for (size_t b = 0; b < span; b += 8)
                    __builtin_prefetch(&ahead[b]);
            }
            if (self->lost[i])
                continue;
            const server_sparse_grad_t *sg = &self->sgrads[i];
            if (sg->on)
                for (size_t e = 0; e < sg->nnz; e++)
                    mean[sg->idx[e]] += 1.0 * sg->val[e];
            else
                vec_axpy(&self->gmean, 1.0, &self->grads[i]);
        }
        vec_scale(&self->gmean, scale);
        row->grad_norm_sq = vec_norm_sq(&self->gmean);
        self->gmean_zero = 0;
        return;
    }
    if (!self->gmean_zero)
        vec_zero(&self->gmean);
    uint64_t *marks = self->marks;
    for (size_t i = 0; i < honest; i++) {
        if (self->lost[i])
            continue;
        const server_sparse_grad_t *sg = &self->sgrads[i];
        for (size_t e = 0; e < sg->nnz; e++) {
            uint32_t j = sg->idx[e];
            mean[j] += 1.0 * sg->val[e];
            marks_set(marks, j);
        }
    }
    double sum = 0.0;
    marks_walk_t it = marks_walk(marks, self->dim);
    for (size_t j; marks_next(&it, &j);) {
        double v = mean[j] * scale;
        sum += v * v;
        mean[j] = 0.0;
    }
    row->grad_norm_sq = sum;
    self->gmean_zero = 1;
}

//  The workers this round expects that are not lost: after the round, those whose update formed
//  g^k (one lost inside the round, by a LOST or at the deadline, gave none).
static size_t
s_takers(const server_t *self)
{
    size_t takers = 0;
    for (size_t i = 0; i < self->n; i++)
        takers += self->expected[i] && !(i < self->honest && self->lost[i]);
    return takers;
}

static const char *
s_run_rounds(server_t *self, progress_t *pg)
{
    const server_cfg_t *cfg = self->cfg;
    const method_t *method = cfg->method;
    size_t n = self->n;
    double t0 = pg->t0 - self->elapsed0;  // a resumed run's wall time goes on
    self->ckpt_at = pg->t0;
    for (uint64_t k = self->first_round; k <= cfg->rounds; k++) {
        method_round_t rd = {0};
        method->server_plan(self->ms, k, &self->rng, &rd);
        msg_t *out = &self->out;
        out->type = MSG_ROUND;
        out->seq = ++self->seq;
        out->round = k;
        out->coin = rd.coin;
        out->has_g = rd.g != NULL;
        uint64_t every = cfg->metrics_every > 0 ? cfg->metrics_every : 1;
        self->metrics_wanted = k == 0 || k == cfg->rounds || k % every == 0;
        out->metrics = self->metrics_wanted;
        out->checkpoint = self->ckpt_wanted = server_checkpoint_due(self, k);
        if (self->ckpt_wanted) {
            memset(self->seat_got, 0, n);
            self->states_pending = n;
        }
        out->g_patch = 0;
        out->g_digest = 0;
        if (rd.g && s_set_g(self, rd.g) != MR_OK) {
            snprintf(self->reason, sizeof self->reason, "out of memory");
            return "failed";
        }
        // Participants: every worker, or the sorted draws of the plan (repeats allowed).
        if (msg_set_part(out, rd.part, rd.npart) != MR_OK) {
            snprintf(self->reason, sizeof self->reason, "out of memory");
            return "failed";
        }
        memset(self->expected, rd.part ? 0 : 1, n);
        for (size_t j = 0; rd.part && j < rd.npart; j++)
            self->expected[rd.part[j]] = 1;
        self->round_rejected = 0;
        self->rejlen = 0;
        self->rejlog[0] = '\0';
        if (k > 0 && server_admit_joins(self, k) < 0)
            return "failed";
        size_t honest = self->honest;
        self->open_up = self->open_honest = 0;
        for (size_t i = 0; i < n; i++) {
            self->up_ptrs[i] = self->expected[i] ? &self->ups[i] : NULL;
            // An excluded sender is absent from every later round (robust methods only).
            self->closed[i] = !self->expected[i] || (self->robust && self->excluded[i]);
            if (self->closed[i])
                self->up_ptrs[i] = NULL;
            self->open_up += !self->closed[i];
            self->open_honest += !self->closed[i] && i < honest;
        }
        self->forwarded = 0;
        memset(self->wstats, 0, n * sizeof *self->wstats);
        int size = server_publish(self);
        if (size < 0)
            return "failed";
        round_stats_t row = {0};
        msg_cost_t down = msg_round_cost(out, (size_t) size);
        row.bits_paper_down = down.bits_paper * n;
        row.bits_model_down = down.bits_model * n;
        row.bytes_wire_down = down.bytes_wire * n;
        memset(self->got_metrics, 0, n);
        self->metrics_bytes = 0;
        size_t metrics_pending = 0;  // one per honest worker still in the run
        for (size_t i = 0; self->metrics_wanted && i < honest; i++)
            metrics_pending += !self->lost[i];
        double deadline = actor_now() + cfg->timeout_s;
        while (self->open_up > 0 || metrics_pending > 0) {
            if (cfg->forward_honest && !self->forwarded && self->open_honest == 0 &&
                s_forward_honest(self, k) < 0) {
                snprintf(self->reason, sizeof self->reason,
                         "round %llu: cannot forward the honest updates: %s",
                         (unsigned long long) k, zmq_strerror(zmq_errno()));
                return "failed";
            }
            server_next_t got = server_next(self, deadline);
            if (got == NEXT_STOP)
                return "aborted";  // the launcher's reason is in self->reason
            if (got == NEXT_OTHER)
                continue;
            if (got == NEXT_LOST) {
                char why[700];
                snprintf(why, sizeof why,
                         "worker %u lost in round %llu: %s; the run goes on without it "
                         "(on_worker_loss = continue)",
                         self->lost_seat, (unsigned long long) k, self->lost_why);
                if (s_lose_seat(self, self->lost_seat, k, why, &metrics_pending) < 0)
                    return "failed";
                continue;
            }
            if (got == NEXT_TERM) {
                snprintf(self->reason, sizeof self->reason, "interrupted in round %llu",
                         (unsigned long long) k);
                return "aborted";
            }
            if (got == NEXT_TIMEOUT && cfg->continue_on_loss) {
                if (s_lose_missing(self, k, &metrics_pending) < 0)
                    return "failed";
                continue;
            }
            if (got == NEXT_TIMEOUT) {
                char missing[72];
                server_list_missing(self->closed, n, missing, sizeof missing);
                for (size_t i = 0; i < honest; i++)
                    self->got_up[i] = self->got_metrics[i];
                char no_metrics[72];
                server_list_missing(self->got_up, honest, no_metrics, sizeof no_metrics);
                snprintf(self->reason, sizeof self->reason,
                         "round %llu: no update from workers %s%s%s within %.0f s",
                         (unsigned long long) k, missing[0] ? missing : "(none)",
                         no_metrics[0] ? ", no metrics from workers " : "", no_metrics,
                         cfg->timeout_s);
                return "failed";
            }
            if (got == NEXT_BAD) {
                s_reject_update(self, self->bad_sender, k, self->bad_reason, self->bad_round == k);
            } else {
                took_t took = s_accept(self, k, &rd, &row);
                metrics_pending -= (took & TOOK_METRICS) != 0;
            }
            if (self->abort)
                return "aborted";
            if (self->fatal)
                return "failed";
        }
        if (cfg->forward_honest && !self->forwarded && s_forward_honest(self, k) < 0) {
            snprintf(self->reason, sizeof self->reason,
                     "round %llu: cannot forward the honest updates", (unsigned long long) k);
            return "failed";
        }
        char when[40];
        snprintf(when, sizeof when, "round %llu", (unsigned long long) k);
        server_warn_flush(self, when, 0);
        mr_err_t err;
        if (method->server_combine(self->ms, &rd, self->up_ptrs, &err) != MR_OK) {
            snprintf(self->reason, sizeof self->reason, "round %llu: %s", (unsigned long long) k,
                     err.text);
            return "failed";
        }
        self->ups_combined = 1;  // what s_mark_changes() may read in round k + 1
        self->ups_round = k;
        // Metrics over all honest data, summed in worker-id order (reproducible to the bit); NULL
        // in a round that asked for none.
        row.f = row.grad_norm_sq = NAN;
        //  After a loss (on_worker_loss = continue): over the honest workers still in the run.
        if (self->metrics_wanted)
            s_metrics_mean(self, &row);
        row.round = k;
        row.coin = rd.coin;
        row.participants = (uint32_t) s_takers(self);
        row.gap = isnan(cfg->run.f_star) ? NAN : row.f - cfg->run.f_star;
        uint64_t rows_every = cfg->worker_rows_every > 0 ? cfg->worker_rows_every : 1;
        int worker_rows = k == 0 || k == cfg->rounds || k % rows_every == 0;
        row.nworkers = worker_rows ? (uint32_t) n : 0;
        row.workers = self->wstats;
        row.rejected = self->round_rejected;
        row.rejections = self->rejlog;
        row.agg_dist_sq = method->server_agg_dist_sq ? method->server_agg_dist_sq(self->ms) : 0.0;
        row.bytes_metrics = self->metrics_bytes;
        row.wall_time_s = actor_now() - t0;
        out->type = MSG_STATS;
        out->stats = row;
        if (server_to_recorder(self) < 0)
            return self->abort ? "aborted" : "failed";
        if (!isnan(row.grad_norm_sq))
            self->last_gns = row.grad_norm_sq;  // the latest recorded value (metrics_every)
        double now = actor_now();
        if (progress_due(pg, row.bits_paper_up, now)) {
            // Uplink bits per worker as `marina query compare` counts them (runs.n workers).
            double workers = cfg->run.n ? (double) cfg->run.n : (double) n;
            char line[256];
            progress_format(line, sizeof line, k, cfg->rounds, now - t0, self->last_gns,
                            pg->bits_up / workers);
            if (!progress_print(pg, line, stderr))
                zsys_info("%s", line);
        }
        if (k == 0)
            self->gns0 = row.grad_norm_sq;
        else if (cfg->stop_at > 0 && row.grad_norm_sq <= cfg->stop_at * self->gns0)
            break;  // the target is reached: the run is complete
        else if (cfg->stop_gap > 0 && row.gap <= cfg->stop_gap)
            break;
        if (self->metrics_wanted && (!isfinite(row.f) || !isfinite(row.grad_norm_sq))) {
            snprintf(self->reason, sizeof self->reason,
                     "round %llu: the iterate diverged (f = %g); is the stepsize too large?",
                     (unsigned long long) k, row.f);
            return "failed";
        }
        if (self->ckpt_wanted && server_checkpoint(self, k, actor_now() - t0) < 0)
            return self->abort || self->term ? "aborted" : "failed";
    }
    return "completed";
}

//  The rounds, with the progress line (ended before anything else is printed).
const char *
server_rounds(server_t *self)
{
    progress_t pg;
    progress_init(&pg, self->cfg->progress_s, isatty(STDERR_FILENO), actor_now());
    const char *status = s_run_rounds(self, &pg);
    progress_end(&pg, stderr);
    return status;
}
