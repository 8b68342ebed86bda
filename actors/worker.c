//  worker.c - see worker.h.
//
//  One actor (a "host": one thread, one SUB and one PUSH socket) answers for one or more workers
//  ("seats"). Everything a worker sends names its seat's id, so the server sees exactly the
//  messages separate workers would send: a run is the same bit for bit however its workers are
//  hosted. The hosts of one process may share their seats out round by round (seat_share.h,
//  s_take_round_shared()).
#define _GNU_SOURCE  // SCHED_BATCH
#include "worker.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "checkpoint.h"
#include "frame_pool.h"
#include "attacker.h"
#include "chunk_team.h"
#include "loss_split.h"
#include "msg.h"
#include "rng.h"
#include "seat_share.h"
#include "security.h"

#define RESYNC_AFTER_S 2.0   // ask for the current broadcast again after this much silence
#define REJOIN_HELLO_S 1.0   // a rejoining worker says HELLO again this often until its JOIN
#define WAIT_MS        250   // the longest wait for a broadcast before the timers are looked at
#define PIPE_CHECK_S   0.02  // the host's pipe ($TERM) is looked at least this often
#define BATCH_MAX      64    // a host's answers held for one BUNDLE frame: at most this many ...
#define BATCH_BYTES    ((size_t) 256 << 10)  // ... and these many bytes
#define BUNDLE_BUFFERS 16  // BUNDLEs in flight before one is copied (a round sends n / 64)
#define SHARE_CHUNK    8   // seats a shared host claims at a time (seat_share.h), at most: ...
#define SHARE_CLAIMS   64  // ... and fewer when a round has fewer than this many chunks

typedef struct s_host s_host_t;

//  One worker: its method state and its part of the protocol. The fields a step reads and
//  writes come first, on as few cache lines as they fit: at n = 1,000 a host's seats outgrow
//  its core's caches, and each line of a seat a round touches is a miss.
typedef struct {
    //  Each seat on cache lines of its own: seats next to each other are stepped by different
    //  hosts (threads), and a line they shared would go back and forth between the cores.
    _Alignas(64) s_host_t *host;  // the host acting for it: its own (home), or, shared, the one
                                  // stepping it
    s_host_t *home;
    pthread_mutex_t lock;  // shared hosts: held by the host acting for the seat
    int lock_ok;
    int joined;             // cfg->rejoin: a JOIN admitted it, or it answered round 0
    s_host_t *last_runner;  // shared: the host that stepped it last
    const worker_cfg_t *cfg;
    method_worker_t *mw;
    rng_t rng;
    uint64_t next_round;   // the round we answer next
    uint64_t kept_round;   // the round it answered
    uint64_t extra_calls;  // oracle calls of its JOIN, counted in its next UPDATE
    attacker_t *attacker;  // cfg->attack: the attack's logic
    int waiting;           // the attacker waits for the honest updates of round wait_round
    int ready_sent;
    //  Its last answer, for a resend: the frames it sent (UPDATE, with the metrics when both
    //  went; METRICS), each encoded again from `out` when resent (out keeps the answer until the
    //  seat steps again, its metrics gradient borrowed from the method as long).
    int nkept;  // how many frames that answer had
    msg_type_t kept_type[2];
    int kept_metrics[2];  // ... an UPDATE with the metrics in it
    msg_t out;            // message being sent
    msg_buf_t kept[2];    // the frames sent one by one (no BUNDLE), and resends
    //  The rest is for attackers and injected faults only.
    uint64_t wait_round, wait_seq;
    int wait_checkpoint;    // the attacker's waiting round asks for its STATE
    uint64_t oracle_calls;  // the shadow method's work in the waiting round
    rng_t fault_rng;        // cfg->fault: RNG_STREAM_FAULT(id)
    msg_t junk;             // attack = junk: the abusive messages
    //  A shard worth it computes its gradient in chunks (loss_split.h), which a shared host's
    //  other hosts may help with: the method steps `loss`, cfg->loss with the split.
    loss_t loss;
    loss_split_t split;
} s_seat_t;
_Static_assert(offsetof(s_seat_t, out) <= 3 * 64, "a seat's step fields on its first 3 lines");

//  The shell the seats share: sockets, the broadcast, and the copy of g a patch applies to.
struct s_host {
    zsock_t *pipe, *sub, *push;
    sec_t *sec;  // security=curve: our certificate and the server's public key
    msg_t in;    // decoded broadcast
    msg_buf_t buf;
    uint64_t last_seq;     // last broadcast sequence number seen
    vec_t g;               // g^{k-1} of the last ROUND taken (a patch applies to it)
    int g_ok;              // g holds the server's g (0 before the first, or after a drift)
    uint64_t g_digest;     // msg_g_digest(g), kept up to date patch by patch
    double round_at;       // when the last ROUND arrived
    double longest_round;  // the longest time between two ROUNDs so far, repairs left out
    double answer_bound;   // the longest round its own answers imply: the time it took to answer
                           // one round times the run's n (the server waits for all n answers,
                           // which share the machine's cores and links), before any is measured
    s_seat_t *seats;
    size_t nseats;
    int batching;  // several seats, no injected faults: answers go out in BATCHes
    msg_t bat;     // the BUNDLE being gathered: pointers to its frames (slots, or a seat's kept)
    msg_buf_t slots[BATCH_MAX];  // the frames of the BUNDLE being gathered, encoded in place:
                                 // the same few buffers every round, so they stay in the caches
    size_t bat_cap, bat_bytes;
    frame_pool_t *bundles;  // the BUNDLEs' buffers, handed to ZeroMQ without a copy
    seat_share_t *share;    // non-NULL: the process's hosts share their seats out (seat_share.h)
    int from_top;           // which end of the share this host claims from
    int helps;              // shared, its seats' gradients split: it helps with the others' chunks
    uint64_t taken_round;   // shared: the last ROUND whose g this host took (UINT64_MAX: none)
    //  shared: 1 + the last round whose answers it has all sent. The other hosts read it for
    //  every seat this one stepped last: on a cache line of its own, away from the fields this
    //  host writes for every answer.
    _Alignas(64) _Atomic uint64_t flushed;
    char flushed_pad[64 - sizeof(uint64_t)];
    char reason[512];
};

//  A seat of a shared host is acted for under its lock (a no-op when the host shares nothing).
static void
s_seat_lock(s_seat_t *s)
{
    if (s->home->share)
        pthread_mutex_lock(&s->lock);
}

static void
s_seat_unlock(s_seat_t *s)
{
    if (s->home->share)
        pthread_mutex_unlock(&s->lock);
}

static void
s_host_destroy(s_host_t **self_p)
{
    s_host_t *self = *self_p;
    if (!self)
        return;
    if (self->share)  // no other host steps our seats from here on
        seat_share_close(self->share);
    for (size_t i = 0; self->seats && i < self->nseats; i++) {
        s_seat_t *s = &self->seats[i];
        if (s->lock_ok)
            pthread_mutex_destroy(&s->lock);
        if (s->mw)
            s->cfg->method->worker_destroy(&s->mw);
        attacker_destroy(&s->attacker);
        loss_split_fini(&s->split);
        msg_fini(&s->junk);
        msg_fini(&s->out);
        msg_buf_fini(&s->kept[0]);
        msg_buf_fini(&s->kept[1]);
    }
    free(self->seats);
    msg_fini(&self->bat);  // and the arrays of its pointers (msg.h)
    for (size_t j = 0; j < BATCH_MAX; j++)
        msg_buf_fini(&self->slots[j]);
    vec_fini(&self->g);
    msg_fini(&self->in);
    msg_buf_fini(&self->buf);
    frame_pool_destroy(&self->bundles);
    zsock_destroy(&self->sub);
    zsock_destroy(&self->push);
    sec_destroy(&self->sec);
    free(self);
    *self_p = NULL;
}

//  team: the hosts' chunk team (shared hosts), or NULL.
static int
s_seat_init(s_seat_t *s, s_host_t *host, const worker_cfg_t *cfg, chunk_team_t *team, mr_err_t *err)
{
    s->host = s->home = host;
    s->cfg = cfg;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return mr_err_set(err, MR_ENOMEM, "worker %u: cannot make its lock", cfg->id);
    s->lock_ok = 1;
    size_t d = cfg->mp.dim;
    rng_seed(&s->rng, cfg->seed, rng_stream_worker(cfg->id));
    rng_seed(&s->fault_rng, cfg->seed, RNG_STREAM_FAULT(cfg->id));
    if (cfg->fault)
        zsys_notice("worker %u: injected faults on its sends: loss %g, duplicates %g, delay %g s "
                    "+ up to %g s",
                    cfg->id, cfg->fault->loss, cfg->fault->dup, cfg->fault->delay_s,
                    cfg->fault->jitter_s);
    if (msg_init(&s->out, d) != MR_OK)
        return mr_err_set(err, MR_ENOMEM, "worker %u: out of memory for d=%zu", cfg->id, d);
    vec_t x0;
    if (vec_init(&x0, d) != MR_OK)
        return mr_err_set(err, MR_ENOMEM, "worker %u: out of memory", cfg->id);
    //  A worker reads x only where its gradients do (MARINA with lambda = 0: its shard's
    //  columns), and steps it only there: O(shard) a round instead of O(d).
    method_params_t mp = cfg->mp;
    mp.worker_x_support = 1;
    const loss_t *loss = cfg->loss;
    if (!cfg->attack && loss_split_worth(loss)) {  // the same bits, a little faster, and shared
        int rc = loss_split_init(&s->split, loss, team ? chunk_team_for : NULL, team, err);
        if (rc != MR_OK) {
            vec_fini(&x0);
            return rc;
        }
        s->loss = *loss;
        s->loss.split = &s->split;
        loss = &s->loss;
    }
    s->mw = cfg->method->worker_new(&mp, loss, cfg->id, &x0, err);
    vec_fini(&x0);
    if (!s->mw)
        return MR_EINVAL;
    if (cfg->attack) {
        s->attacker =
            attacker_new(cfg->method, &cfg->mp, cfg->attack, cfg->honest, cfg->id, cfg->seed, err);
        if (!s->attacker)
            return MR_EINVAL;
        if (msg_init(&s->junk, d) != MR_OK)
            return mr_err_set(err, MR_ENOMEM, "attacker %u: out of memory", cfg->id);
    }
    return MR_OK;
}

static int s_send(s_seat_t *self);

//  Saves or loads (state.h) what a seat carries from one round to the next: its method state
//  (an attacker's shadow worker), its rngs, the round it answers next and the attack's state.
static void
s_seat_state(s_seat_t *s, state_t *st)
{
    state_tag(st, s->attacker ? "marina-attacker-seat-v1" : "marina-worker-seat-v1");
    state_expect(st, s->cfg->id, "the seat's id");
    s->cfg->method->worker_state(s->mw, st);
    state_rng(st, &s->rng);
    state_rng(st, &s->fault_rng);
    state_u64(st, &s->next_round);
    if (s->attacker)
        attacker_state(s->attacker, st);
}

//  Sends the seat's STATE after its answer to round k (a checkpoint round); an empty one when its
//  method cannot save its state. 0, or -1 (reason set).
static int
s_send_state(s_seat_t *s, uint64_t k)
{
    state_t st;
    state_init_save(&st);
    if (s->cfg->method->worker_state)
        s_seat_state(s, &st);
    mr_err_t err;
    if (state_rc(&st, &err) != MR_OK) {
        zsys_warning("worker %u: round %llu: cannot save its state: %s", s->cfg->id,
                     (unsigned long long) k, err.text);
        st.size = 0;
    }
    s->out.type = MSG_STATE;
    s->out.sender = s->cfg->id;
    s->out.round = k;
    s->out.blob = st.data;
    s->out.blob_len = st.size;
    int rc = s_send(s);
    s->out.blob = NULL;
    s->out.blob_len = 0;
    state_fini(&st);
    return rc;
}

//  Continues from the checkpoint in the seats' configuration: every seat's state, and the g of
//  the last ROUND (a patch of the next applies to it).
static int
s_host_resume(s_host_t *self, mr_err_t *err)
{
    const worker_cfg_t *cfg = self->seats[0].cfg;
    checkpoint_t c;
    int rc = checkpoint_parse(cfg->resume, cfg->resume_bytes, cfg->mp.n, cfg->join_digest, &c, err);
    if (rc != MR_OK)
        return rc;
    if (c.g_bytes != 0 && c.g_bytes != self->g.dim * sizeof(double))
        rc = mr_err_set(err, MR_EDIM, "the checkpoint's g has %zu bytes, not 8 d", c.g_bytes);
    if (rc == MR_OK && c.g_bytes) {
        memcpy(self->g.x, c.g, c.g_bytes);
        self->g_digest = msg_g_digest(&self->g);
        self->g_ok = 1;
    }
    for (size_t i = 0; rc == MR_OK && i < self->nseats; i++) {
        s_seat_t *s = &self->seats[i];
        if (!s->cfg->method->worker_state) {
            rc = mr_err_set(err, MR_EINVAL, "%s cannot be resumed", s->cfg->method->name);
            break;
        }
        state_t st;
        state_init_load(&st, c.seat[s->cfg->id], c.seat_bytes[s->cfg->id]);
        s_seat_state(s, &st);
        rc = state_rc(&st, err);
        if (rc != MR_OK)
            rc = mr_err_set(err, rc, "worker %u: its state in the checkpoint: %s", s->cfg->id,
                            st.why[0] ? st.why : "left over bytes");
        s->kept_round = UINT64_MAX;
    }
    checkpoint_fini(&c);
    return rc;
}

static s_host_t *
s_host_new(zsock_t *pipe,
           const worker_cfg_t *seats,
           size_t nseats,
           seat_share_t *share,
           int from_top,
           mr_err_t *err)
{
    if (nseats == 0) {
        mr_err_set(err, MR_EINVAL, "a worker host with no workers");
        return NULL;
    }
    for (size_t i = 1; i < nseats; i++)
        if (seats[i].attack || seats[i].id <= seats[i - 1].id || seats[0].attack) {
            mr_err_set(err, MR_EINVAL,
                       "a worker host serves honest workers in increasing id order only");
            return NULL;
        }
    s_host_t *self = aligned_alloc(64, sizeof *self);  // (flushed's line)
    if (self)
        memset(self, 0, sizeof *self);
    if (!self) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        return NULL;
    }
    self->pipe = pipe;
    self->nseats = nseats;
    const worker_cfg_t *cfg = &seats[0];
    size_t d = cfg->mp.dim;
    self->seats = aligned_alloc(64, nseats * sizeof *self->seats);
    if (self->seats)
        memset(self->seats, 0, nseats * sizeof *self->seats);
    self->bundles = frame_pool_new(BUNDLE_BUFFERS);
    if (!self->seats || !self->bundles || msg_init(&self->in, d) != MR_OK ||
        vec_init(&self->g, d) != MR_OK) {
        mr_err_set(err, MR_ENOMEM, "out of memory for d=%zu", d);
        goto fail;
    }
    for (size_t i = 0; i < nseats; i++)
        if (s_seat_init(&self->seats[i], self, &seats[i], share ? seat_share_team(share) : NULL,
                        err) != MR_OK)
            goto fail;
    self->taken_round = UINT64_MAX;
    for (size_t i = 0; share && i < nseats; i++) {
        if (seats[i].id >= seat_share_size(share) || seats[i].fault || seats[i].rejoin ||
            seats[i].attack) {
            mr_err_set(err, MR_EINVAL,
                       "worker %u: a shared host's seats are honest workers "
                       "with ids below %zu, no faults and no rejoin",
                       seats[i].id, seat_share_size(share));
            goto fail;
        }
        seat_share_put(share, seats[i].id, &self->seats[i]);
    }
    self->share = share;
    self->from_top = from_top;
    self->helps = share && self->seats[0].loss.split;
    self->batching = nseats > 1;
    for (size_t i = 0; i < nseats; i++)
        self->batching &= seats[i].fault == NULL;
    if (self->batching &&
        (msg_init(&self->bat, 1) != MR_OK ||
         !(self->bat.batch_data = calloc(BATCH_MAX, sizeof *self->bat.batch_data)) ||
         !(self->bat.batch_size = calloc(BATCH_MAX, sizeof *self->bat.batch_size)))) {
        mr_err_set(err, MR_ENOMEM, "out of memory");
        goto fail;
    }
    self->bat.type = MSG_BUNDLE;
    self->bat.batch_cap = BATCH_MAX;
    if (cfg->resume && s_host_resume(self, err) != MR_OK)
        goto fail;
    //  One certificate for the host: its first seat's (a host of several seats serves honest
    //  workers, which a role key "worker" speaks for; inproc runs, the only ones that host
    //  several, use no CURVE).
    if (cfg->keys_dir && cfg->keys_dir[0]) {
        self->sec =
            sec_client_new(cfg->keys_dir, cfg->attack ? "attacker" : "worker", (long) cfg->id, err);
        if (!self->sec)
            goto fail;
    }
    self->sub = zsock_new(ZMQ_SUB);
    self->push = zsock_new(ZMQ_PUSH);
    if (!self->sub || !self->push) {
        mr_err_set(err, MR_EIO, "cannot create sockets");
        goto fail;
    }
    zsock_set_rcvhwm(self->sub, 0);
    zsock_set_sndhwm(self->push, 0);
    zsock_set_linger(self->push, 2000);
    zsock_set_subscribe(self->sub, "");
    zsock_set_rcvtimeo(self->sub, WAIT_MS);  // s_run()'s blocking receive
    sec_apply(self->sec, self->sub);
    sec_apply(self->sec, self->push);
    if (!self->sec) {
        char who[32];
        snprintf(who, sizeof who, "%s %u", cfg->attack ? "attacker" : "worker", cfg->id);
        sec_warn_plain(who, cfg->ep_bcast);
        sec_warn_plain(who, cfg->ep_up);
    }
    if (zsock_connect(self->sub, "%s", cfg->ep_bcast) < 0) {
        mr_err_set(err, MR_EIO, "cannot connect to the broadcast endpoint %s", cfg->ep_bcast);
        goto fail;
    }
    if (zsock_connect(self->push, "%s", cfg->ep_up) < 0) {
        mr_err_set(err, MR_EIO, "cannot connect to the update endpoint %s", cfg->ep_up);
        goto fail;
    }
    return self;
fail:
    s_host_destroy(&self);
    return NULL;
}

//  Sends the answers gathered for a BUNDLE: one frame (a lone answer as itself). 0, or -1 if the
//  socket failed (reason set).
static int
s_flush(s_host_t *h)
{
    msg_t *b = &h->bat;
    if (b->nbatch == 0)
        return 0;
    void *push = zsock_resolve(h->push);
    int rc = b->nbatch == 1 ? zmq_send(push, b->batch_data[0], b->batch_size[0], 0)
                            : frame_pool_send(h->bundles, push, b, 0);
    b->nbatch = 0;
    h->bat_bytes = 0;
    if (rc < 0) {
        snprintf(h->reason, sizeof h->reason, "worker %u: cannot send its answers: %s",
                 h->seats[0].cfg->id, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static int
s_send(s_seat_t *self)
{
    s_host_t *h = self->host;
    if (s_flush(h) < 0)  // what was gathered goes first, in order
        return -1;
    if (actor_send(zsock_resolve(h->push), &self->out, &h->buf, 0) < 0) {
        snprintf(h->reason, sizeof h->reason, "worker %u: cannot send %s: %s", self->cfg->id,
                 msg_type_name(self->out.type), zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

//  Sends one kept frame of an answer through the injected faults (cfg->fault): delayed, lost or
//  doubled as drawn. -1 if the socket failed (reason set).
static int
s_emit(s_seat_t *self, msg_buf_t *frame)
{
    const worker_fault_t *fault = self->cfg->fault;
    s_host_t *h = self->host;
    void *push = zsock_resolve(h->push);
    if (h->batching && frame->size < BATCH_BYTES) {
        //  Gathered for one BUNDLE frame: the frame stays where it is until the host's flush (at
        //  the latest at the end of this round). One encoded in the next slot that does not fit
        //  moves to the first once the others are sent.
        if (h->bat.nbatch == BATCH_MAX || h->bat_bytes + frame->size > BATCH_BYTES) {
            int in_slot = h->bat.nbatch < BATCH_MAX && frame == &h->slots[h->bat.nbatch];
            if (s_flush(h) < 0)
                return -1;
            if (in_slot) {
                msg_buf_t t = h->slots[0];
                h->slots[0] = *frame;
                *frame = t;
                frame = &h->slots[0];
            }
        }
        h->bat.batch_data[h->bat.nbatch] = frame->data;
        h->bat.batch_size[h->bat.nbatch++] = frame->size;
        h->bat_bytes += frame->size;
        return 0;
    }
    if (s_flush(h) < 0)
        return -1;
    int copies = 1;
    if (fault) {
        double wait = fault->delay_s + fault->jitter_s * rng_uniform(&self->fault_rng);
        if (wait > 0)
            nanosleep(&(struct timespec){(time_t) wait, (long) (fmod(wait, 1.0) * 1e9)}, NULL);
        double u = rng_uniform(&self->fault_rng), v = rng_uniform(&self->fault_rng);
        copies = u < fault->loss ? 0 : v < fault->dup ? 2 : 1;
    }
    for (int c = 0; c < copies; c++)
        if (zmq_send(push, frame->data, frame->size, 0) < 0) {
            snprintf(self->host->reason, sizeof self->host->reason, "worker %u: cannot send: %s",
                     self->cfg->id, zmq_strerror(zmq_errno()));
            return -1;
        }
    return 0;
}

//  Encodes self->out into frame and emits it. 0, or -1 (reason set).
static int
s_encode_emit(s_seat_t *self, msg_buf_t *frame)
{
    if (msg_encode(&self->out, frame) != MR_OK) {
        snprintf(self->host->reason, sizeof self->host->reason, "worker %u: cannot encode %s",
                 self->cfg->id, msg_type_name(self->out.type));
        return -1;
    }
    return s_emit(self, frame);
}

//  Sends self->out (the UPDATE or METRICS of the round s_answer() began keeping, kept_round) as
//  the answer's next frame: in the host's next BUNDLE slot when it gathers (a full BUNDLE goes
//  first), else in the seat's kept buffer.
static int
s_send_kept(s_seat_t *self)
{
    assert(self->nkept < 2);
    s_host_t *h = self->host;
    self->kept_type[self->nkept] = self->out.type;
    self->kept_metrics[self->nkept] = self->out.with_metrics;
    msg_buf_t *frame = &self->kept[self->nkept];
    self->nkept++;
    if (h->batching) {
        if (h->bat.nbatch == BATCH_MAX && s_flush(h) < 0)
            return -1;
        frame = &h->slots[h->bat.nbatch];
    }
    return s_encode_emit(self, frame);
}

static int
s_say(s_seat_t *self, msg_type_t type)
{
    s_seat_lock(self);
    self->out.type = type;
    self->out.role = self->cfg->attack ? MSG_ROLE_ATTACKER : MSG_ROLE_WORKER;
    self->out.sender = self->cfg->id;
    self->out.pid = (uint32_t) getpid();
    self->out.seq = self->host->last_seq;
    self->out.cfg_text = (char *) (self->cfg->join_config ? self->cfg->join_config : "");
    self->out.cfg_digest = self->cfg->join_digest;
    self->out.shard_fp = self->cfg->shard_fp;
    int rc = s_send(self);
    self->out.cfg_text = NULL;  // borrowed for this frame only
    s_seat_unlock(self);
    return rc;
}

//  attack = junk: before its update, what a faulty or malicious peer might send: bytes that are
//  no message, then by round a non-finite update, a dense one (too many entries for a compressed
//  round), or one for a future round; after it, the same update again.
static int
s_send_junk_before(s_seat_t *self, uint64_t k)
{
    static const char garbage[] = "\xc1\xc1 not a marina message";
    void *push = zsock_resolve(self->host->push);
    if (zmq_send(push, garbage, sizeof garbage - 1, 0) < 0)
        return -1;
    msg_t *j = &self->junk;
    j->type = MSG_UPDATE;
    j->sender = self->cfg->id;
    j->round = k % 3 == 2 ? k + 1 : k;
    j->oracle_calls = 0;
    j->up.kind = CVEC_DENSE;
    j->up.enc = CVEC_ENC_RAW;
    j->up.dim = j->up.nnz = self->cfg->mp.dim;
    for (size_t t = 0; t < self->cfg->mp.dim; t++)
        j->up.val[t] = k % 3 == 0 && t == 0 ? NAN : 1.0;
    return actor_send(push, j, &self->host->buf, 0) < 0 ? -1 : 0;
}

//  The attacker's answer to the round it began: craft the attack and send it (no METRICS).
static int
s_attack(s_seat_t *self)
{
    mr_err_t err;
    msg_t *out = &self->out;
    s_host_t *h = self->host;
    if (attacker_craft(self->attacker, &out->up, &err) != MR_OK) {
        snprintf(h->reason, sizeof h->reason, "attacker %u: round %llu: %s", self->cfg->id,
                 (unsigned long long) self->wait_round, err.text);
        return -1;
    }
    int junk = self->cfg->attack->kind == ATTACK_JUNK;
    if (junk && s_send_junk_before(self, self->wait_round) < 0)
        return -1;
    out->type = MSG_UPDATE;
    out->round = self->wait_round;
    out->sender = self->cfg->id;
    out->oracle_calls = self->oracle_calls;
    self->waiting = 0;
    self->next_round = self->wait_round + 1;
    if (s_send(self) < 0)
        return -1;
    if (junk && s_send(self) < 0)  // junk: the same update a second time
        return -1;
    return self->wait_checkpoint ? s_send_state(self, self->wait_round) : 0;
}

//  The metrics at x^k into self->out (f, g): the method's evaluation if it made one. 0, or -1 if
//  the iterate diverged (reason set).
static int
s_metrics(s_seat_t *self, const method_report_t *report)
{
    const worker_cfg_t *cfg = self->cfg;
    msg_t *out = &self->out;
    // Metrics are for the record, never communication: reuse the method's evaluation if any.
    const vec_t *x = cfg->method->worker_x(self->mw);
    //  The gradient's columns, when they are few enough to be worth a list (else the dense
    //  passes, which vectorise, are as fast).
    const uint32_t *cols =
        report->grad_cols && 4 * report->grad_ncols < cfg->mp.dim ? report->grad_cols : NULL;
    out->g_cols = NULL;
    out->g_ncols = 0;
    out->g_src = NULL;
    const double *g = out->g.x;  // the gradient the metrics carry
    if (report->have_eval) {
        //  The method's own gradient is encoded where it lies (no copy into out.g).
        out->f = report->f;
        out->g_src = g = report->grad->x;
        out->g_cols = cols;
        out->g_ncols = cols ? report->grad_ncols : 0;
    } else {
        out->f = loss_value_grad(cfg->loss, x, &out->g);
    }
    // The recorded objective is F = f + R: every worker adds R(x^k) of the common iterate.
    if (cfg->mp.reg.kind != PROX_NONE)
        out->f += prox_value(&cfg->mp.reg, x);
    int finite = out->g_cols ? vec_all_finite_at(g, out->g_cols, out->g_ncols)
                             : vec_all_finite(g, cfg->mp.dim);
    if (!isfinite(out->f) || !finite) {
        snprintf(self->host->reason, sizeof self->host->reason,
                 "worker %u: round %llu: the iterate diverged (f_i = %g)", cfg->id,
                 (unsigned long long) self->kept_round, out->f);
        return -1;
    }
    return 0;
}

//  Answers round k (the host's broadcast): step the method with the host's g, send the update,
//  and the metrics at x^k when the round asks for them: inside the UPDATE when both go
//  (docs/protocol.md, "UPDATE"), else as a METRICS of its own.
static int
s_answer(s_seat_t *self)
{
    const worker_cfg_t *cfg = self->cfg;
    const method_t *method = cfg->method;
    s_host_t *h = self->host;
    const msg_t *in = &h->in;
    static const uint32_t nobody[1] = {0};  // an empty list that is not NULL ("everybody")
    method_round_t rd = {in->round, in->coin, in->has_g ? &h->g : NULL,
                         in->all_part ? NULL : (in->part ? in->part : nobody),
                         in->all_part ? 0 : in->npart};
    method_report_t report = {0};
    msg_t *out = &self->out;
    int rc = method->worker_step(self->mw, &rd, &self->rng, &out->up, &report);
    if (rc != MR_OK) {
        snprintf(h->reason, sizeof h->reason, "worker %u: round %llu: %s", cfg->id,
                 (unsigned long long) rd.round, mr_strerror(rc));
        return -1;
    }
    if (self->attacker) {
        //  The shadow's message is the attacker's own view; the attack goes out now, or once the
        //  round's honest updates have been forwarded.
        attacker_begin(self->attacker, &rd, &out->up);
        self->wait_round = rd.round;
        self->wait_seq = in->seq;
        self->wait_checkpoint = in->checkpoint;
        self->oracle_calls = report.oracle_calls;
        self->waiting = 1;
        self->next_round = rd.round + 1;
        return attacker_waits(self->attacker) ? 0 : s_attack(self);
    }
    out->type = MSG_UPDATE;
    out->round = rd.round;
    out->sender = cfg->id;
    out->oracle_calls = report.oracle_calls + self->extra_calls;
    self->extra_calls = 0;
    self->joined = 1;
    out->with_metrics = 0;
    self->kept_round = rd.round;
    self->nkept = 0;
    self->next_round = rd.round + 1;
    //  A round that asks for metrics: they ride in the UPDATE (one frame, one wake-up of the
    //  server), except with injected faults, whose draws are one per frame as before.
    int merge = report.send && in->metrics && !cfg->fault;
    if (report.send && !merge && s_send_kept(self) < 0)
        return -1;
    if (!in->metrics)
        return in->checkpoint ? s_send_state(self, rd.round) : 0;  // no f (metrics_every)
    if (s_metrics(self, &report) < 0)
        return -1;
    out->type = merge ? MSG_UPDATE : MSG_METRICS;
    out->with_metrics = merge;
    out->round = rd.round;
    rc = s_send_kept(self);
    out->with_metrics = 0;  // (g_src stays: a resend encodes the metrics again)
    if (rc < 0)
        return -1;
    return in->checkpoint ? s_send_state(self, rd.round) : 0;
}

//  Takes the g^{k-1} of ROUND m into self->g: dense, or a patch of the previous one. 0, or -1 if
//  there is no previous g to patch or the result's digest is not the server's (logged).
static int
s_take_g(s_host_t *self, const msg_t *m)
{
    uint32_t id = self->seats[0].cfg->id;
    if (m->g_patch) {
        if (!self->g_ok || msg_g_patch_apply(m, &self->g, &self->g_digest) != MR_OK) {
            zsys_warning("worker %u: round %llu: a patch of g and no g to apply it to: asking "
                         "for the round again",
                         id, (unsigned long long) m->round);
            self->g_ok = 0;
            return -1;
        }
    } else {
        vec_copy(&self->g, &m->g);
        self->g_digest = msg_g_digest(&self->g);
    }
    //  A patch updated the digest of the copy checked last round in O(entries), not O(d).
    self->g_ok = self->g_digest == m->g_digest;
    if (!self->g_ok)
        zsys_warning("worker %u: round %llu: its copy of g differs from the server's (digest): "
                     "asking for the round again",
                     id, (unsigned long long) m->round);
    return self->g_ok ? 0 : -1;
}

//  JOIN (docs/protocol.md, "Joining again"): a rejoining seat named by id and pid takes part from
//  round k at the server's x^{k-1}; its method rebuilds what it keeps of that point and its draws
//  come from the rejoin stream of round k. A copy of a JOIN it took is ignored. 0, or -1 (reason
//  set) if the method refuses.
static int
s_take_join(s_host_t *self)
{
    const msg_t *m = &self->in;
    for (size_t i = 0; i < self->nseats; i++) {
        s_seat_t *s = &self->seats[i];
        const worker_cfg_t *cfg = s->cfg;
        if (!cfg->rejoin || m->sender != cfg->id || m->pid != (uint32_t) getpid() ||
            (s->joined && s->next_round >= m->round))
            continue;
        uint64_t calls = 0;
        if (!cfg->method->worker_rejoin ||
            cfg->method->worker_rejoin(s->mw, m->round, &m->g, &calls) != MR_OK) {
            snprintf(self->reason, sizeof self->reason,
                     "worker %u: method %s cannot join a run again at round %llu", cfg->id,
                     cfg->method->name, (unsigned long long) m->round);
            return -1;
        }
        rng_seed(&s->rng, RNG_SEED_REJOIN(cfg->seed, m->round), RNG_STREAM_REJOIN(cfg->id));
        s->extra_calls = calls;
        s->next_round = m->round;
        s->kept_round = UINT64_MAX;
        s->nkept = 0;
        s->ready_sent = 1;
        s->joined = 1;
        self->g_ok = 0;  // the round it joins carries the dense g
        zsys_notice("worker %u: joins the run again from round %llu", cfg->id,
                    (unsigned long long) m->round);
    }
    return 0;
}

//  A round the seat answered last, published again: its answer may be lost, so its kept frames
//  go out again (the server drops a copy it has; an attacker's attack is not repeated). 0, or -1
//  (reason set).
static int
s_resend_answer(s_seat_t *s, uint64_t round)
{
    if (s->attacker || round + 1 != s->next_round || s->kept_round != round)
        return 0;
    //  out still holds that answer (the seat has not stepped since): its frames are encoded
    //  again, the same bytes, into the seat's own buffers.
    msg_t *out = &s->out;
    for (int f = 0; f < s->nkept; f++) {
        out->type = s->kept_type[f];
        out->with_metrics = s->kept_metrics[f];
        out->round = round;
        int rc = s_encode_emit(s, &s->kept[f]);
        out->with_metrics = 0;
        if (rc < 0)
            return -1;
    }
    return 0;
}

//  A ROUND the host answers arrived at now: its length is noted (not one that needed a RESYNC:
//  its wait is the repair's, and would push the next RESYNC ever later) and its g taken. 0, or
//  -1 when there is no g to patch or the copy drifted: it asked for the dense g (the server
//  publishes the round again) and answers that one.
static int
s_begin_round(s_host_t *self, double now, double *last_resync)
{
    const msg_t *m = &self->in;
    if (self->round_at > 0 && *last_resync < self->round_at &&
        now - self->round_at > self->longest_round)
        self->longest_round = now - self->round_at;
    self->round_at = now;
    if (m->has_g && s_take_g(self, m) < 0) {
        s_say(&self->seats[0], MSG_RESYNC);
        *last_resync = now;
        return -1;
    }
    return 0;
}

//  The host answered `answered` seats of a round that arrived at now: the round cannot end
//  sooner than all n answers (a dense round 0 of d = 10^7 takes a second), so silence shorter
//  than that is no evidence of a loss.
static void
s_note_answers(s_host_t *self, double now, size_t answered)
{
    double took = (actor_now() - now) * (double) self->seats[0].cfg->mp.n / (double) answered;
    if (took > self->answer_bound)
        self->answer_bound = took;
}

//  Host h steps seat s for round k (a shared host): under the seat's lock, once the seat has
//  answered the round before (another host may still be stepping it). 0, or -1 (reason set).
static int
s_step_shared(s_host_t *h, s_seat_t *s, uint64_t k, double deadline)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        uint64_t next = s->next_round;
        //  The host that stepped it last may still hold its frames in a BUNDLE it has not sent:
        //  they are rewritten only once it has (it has, by the time round k is out; this makes
        //  it explicit).
        s_host_t *last = s->last_runner;
        int ready = next != k || !last || last == h ||
                    atomic_load_explicit(&last->flushed, memory_order_acquire) >= k;
        int rc = 0;
        if (next == k && ready) {
            s->host = h;
            rc = s_answer(s);
            s->host = s->home;
            s->last_runner = h;
        }
        pthread_mutex_unlock(&s->lock);
        if (next > k || (next == k && ready))
            return rc;
        if (actor_now() > deadline) {
            snprintf(h->reason, sizeof h->reason,
                     "worker %u: round %llu: its answer to round %llu was never sent", s->cfg->id,
                     (unsigned long long) k, (unsigned long long) (next == k ? k - 1 : next));
            return -1;
        }
        sched_yield();
    }
}

//  A ROUND for a shared host (seat_share.h): its own seats' answers to a round published again go
//  out again; then, in a round it has not taken yet, it claims chunks of the round's seats, any
//  host's, until none is left. 0, or -1 (reason set).
static int
s_take_round_shared(s_host_t *self, double now, double *last_resync)
{
    const msg_t *m = &self->in;
    self->last_seq = m->seq;
    //  A round it took before, published again (after a RESYNC): not a round another host has
    //  stepped its seats in ahead of it.
    int again = m->round == self->taken_round;
    for (size_t i = 0; again && i < self->nseats; i++) {
        //  Sent before the lock is let go: the next host to step the seat rewrites its frames.
        s_seat_t *s = &self->seats[i];
        s_seat_lock(s);
        int rc = s_resend_answer(s, m->round);
        if (rc == 0)
            rc = s_flush(self);
        s_seat_unlock(s);
        if (rc < 0)
            return -1;
    }
    if (again && self->g_ok)
        return 0;  // its seats were stepped in that round already
    if (s_begin_round(self, now, last_resync) < 0)
        return 0;
    self->taken_round = m->round;
    double deadline = now + self->seats[0].cfg->timeout_s;
    size_t stepped = 0, chunk = seat_share_size(self->share) / SHARE_CLAIMS;
    chunk = chunk < 1 ? 1 : chunk > SHARE_CHUNK ? SHARE_CHUNK : chunk;
    for (;;) {
        size_t first = 0, count = 0;
        share_claim_t got =
            seat_share_claim(self->share, m->round, chunk, self->from_top, &first, &count);
        if (got == SHARE_NONE || got == SHARE_CLOSED)
            break;  // (closed: a host has left, and the run ends)
        if (got == SHARE_WAIT) {
            if (actor_now() > deadline) {
                snprintf(self->reason, sizeof self->reason,
                         "worker %u: round %llu: the seats of the round before were never all "
                         "taken",
                         self->seats[0].cfg->id, (unsigned long long) m->round);
                return -1;
            }
            sched_yield();
            continue;
        }
        int rc = 0;
        for (size_t j = 0; rc == 0 && j < count; j++) {
            s_seat_t *s = seat_share_seat(self->share, first + j);
            if (!s) {
                snprintf(self->reason, sizeof self->reason, "worker %zu: no host has its seat",
                         first + j);
                rc = -1;
            } else {
                rc = s_step_shared(self, s, m->round, deadline);
                stepped++;
            }
        }
        seat_share_done(self->share);
        if (rc < 0)
            return -1;
    }
    if (s_flush(self) < 0)
        return -1;
    atomic_store_explicit(&self->flushed, m->round + 1, memory_order_release);
    s_note_answers(self, now, stepped ? stepped : self->nseats);
    //  Its answers are out: until the other hosts have stepped the round's last seats, it takes
    //  chunks of their gradients (on 2 cores, 5 seats would otherwise end 3 steps after the ROUND
    //  on one core and 2 on the other).
    chunk_team_t *team = seat_share_team(self->share);
    while (self->helps && seat_share_busy(self->share, m->round)) {
        if (!chunk_team_help(team))
            sched_yield();
        if (actor_now() > deadline)
            break;  // a host stuck: it says so itself
    }
    return 0;
}

//  A ROUND for the seats: each that has not answered it yet does, in id order. 0, or -1 (reason
//  set).
static int
s_take_round(s_host_t *self, double now, double *last_resync)
{
    const msg_t *m = &self->in;
    if (self->share)
        return s_take_round_shared(self, now, last_resync);
    self->last_seq = m->seq;
    int due = 0;
    for (size_t i = 0; i < self->nseats; i++) {
        s_seat_t *s = &self->seats[i];
        if (s_resend_answer(s, m->round) < 0)
            return -1;
        if (s->cfg->rejoin && !s->joined && m->round > s->next_round)
            continue;  // a round of the run it will join: it waits for its JOIN
        if (m->round > s->next_round) {
            snprintf(self->reason, sizeof self->reason,
                     "worker %u: got round %llu but expected %llu", s->cfg->id,
                     (unsigned long long) m->round, (unsigned long long) s->next_round);
            return -1;
        }
        due += m->round == s->next_round;
    }
    if (s_flush(self) < 0)  // the resent answers go out before anything new
        return -1;
    if (!due)
        return 0;  // a resent round every seat already answered
    if (s_begin_round(self, now, last_resync) < 0)
        return 0;
    for (size_t i = 0; i < self->nseats; i++)
        if (m->round == self->seats[i].next_round && s_answer(&self->seats[i]) < 0)
            return -1;
    if (s_flush(self) < 0)
        return -1;
    s_note_answers(self, now, self->nseats);
    return 0;
}

static const char *
s_run(s_host_t *self, int *term)
{
    s_seat_t *first = &self->seats[0];
    double timeout_s = first->cfg->timeout_s;
    for (size_t i = 0; i < self->nseats; i++)
        if (s_say(&self->seats[i], MSG_HELLO) < 0)
            return "failed";
    void *sub = zsock_resolve(self->sub);
    double last_heard = actor_now(), last_resync = last_heard, last_hello = last_heard;
    double last_pipe = last_heard;
    while (true) {
        if (zsys_interrupted)
            return "aborted";
        //  A blocking receive on the broadcast (the socket's RCVTIMEO bounds the wait) instead of
        //  a zmq_poll() of it and the pipe: zmq_poll() checks each socket's events, which costs
        //  system calls per socket, twice per wake-up. The pipe is looked at when the broadcast is
        //  silent and at least every PIPE_CHECK_S while it is not.
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        int size = actor_recv_wait(sub, &frame);
        double now = actor_now();
        if (size == -1 || now - last_pipe >= PIPE_CHECK_S) {
            last_pipe = now;
            if (actor_pipe_term(self->pipe)) {
                zmq_msg_close(&frame);
                *term = 1;
                return "aborted";
            }
        }
        if (first->cfg->rejoin && !first->joined && now - last_hello > REJOIN_HELLO_S) {
            // Until a JOIN (or round 0) comes: the server takes it back once it has lost the
            // old process, and a HELLO may precede this SUB's subscription.
            if (s_say(first, MSG_HELLO) < 0)
                return "failed";
            last_hello = now;
        }
        if (size == -1) {
            zmq_msg_close(&frame);
            if (now - last_heard > timeout_s) {
                snprintf(self->reason, sizeof self->reason,
                         "worker %u: the server was silent for %.0f s", first->cfg->id, timeout_s);
                return "failed";
            }
            //  Silence is evidence of a lost broadcast only once it is well past the rounds'
            //  own length (a long round is not a lost one).
            double resync_after =
                fmax(RESYNC_AFTER_S,
                     fmin(3.0 * fmax(self->longest_round, self->answer_bound), timeout_s / 4.0));
            if (first->ready_sent && now - last_heard > resync_after &&
                now - last_resync > resync_after) {
                s_say(first, MSG_RESYNC);
                last_resync = now;
            }
            continue;
        }
        mr_err_t err;
        int rc = size == -2 ? mr_err_set(&err, MR_EMALFORMED, "multipart message")
                            : msg_decode(&self->in, zmq_msg_data(&frame), (size_t) size, &err);
        zmq_msg_close(&frame);
        if (rc != MR_OK) {
            zsys_warning("worker %u: rejected a broadcast (%d bytes): %s", first->cfg->id, size,
                         err.text);
            continue;
        }
        last_heard = now;
        msg_t *m = &self->in;
        if (m->type == MSG_PING) {
            self->last_seq = m->seq;
            for (size_t i = 0; i < self->nseats; i++) {
                s_seat_t *s = &self->seats[i];
                if (!s->ready_sent) {
                    if (s_say(s, MSG_READY) < 0)
                        return "failed";
                    s->ready_sent = 1;
                }
            }
            // The PING after the forwarded honest updates of the round the attacker waits for.
            if (first->waiting && m->seq == first->wait_seq && s_attack(first) < 0)
                return "failed";
        } else if (m->type == MSG_UPDATE) {
            // Honest updates forwarded to the attackers: only an attacker reads them.
            if (first->waiting)
                attacker_observe(first->attacker, m);
        } else if (m->type == MSG_ROUND) {
            if (s_take_round(self, now, &last_resync) < 0)
                return "failed";
        } else if (m->type == MSG_JOIN) {
            if (s_take_join(self) < 0)
                return "failed";
        } else if (m->type == MSG_REFUSE) {
            for (size_t i = 0; i < self->nseats; i++) {
                const worker_cfg_t *c = self->seats[i].cfg;
                if (m->role == MSG_ROLE_WORKER && m->sender == c->id &&
                    m->pid == (uint32_t) getpid()) {
                    snprintf(self->reason, sizeof self->reason, "%s",
                             m->reason ? m->reason : "refused");
                    return "failed";
                }
            }
        } else if (m->type == MSG_STOP) {
            snprintf(self->reason, sizeof self->reason, "%s", m->reason ? m->reason : "");
            if (m->status && strcmp(m->status, "completed") == 0)
                return "completed";
            return "stopped";  // the server ended the run early; not this worker's failure
        } else {
            zsys_warning("worker %u: unexpected %s on the broadcast", first->cfg->id,
                         msg_type_name(m->type));
        }
    }
}

static void
s_host_run(
    zsock_t *pipe, const worker_cfg_t *seats, size_t nseats, seat_share_t *share, int from_top)
{
    mr_err_t err;
    mr_err_clear(&err);
    s_host_t *self = s_host_new(pipe, seats, nseats, share, from_top, &err);
    zsock_signal(pipe, 0);
    if (!self) {
        zsys_error("worker %u: %s", nseats ? seats[0].id : 0, err.text);
        actor_finish(pipe, "failed", err.text);
        return;
    }
    zstr_sendx(pipe, "READY", NULL);
    int term = 0;
    const char *status = s_run(self, &term);
    if (strcmp(status, "failed") == 0)
        zsys_error("%s", self->reason);
    if (!term)
        actor_finish(pipe, status, self->reason);
    s_host_destroy(&self);
}

void
worker_actor(zsock_t *pipe, void *args)
{
    s_host_run(pipe, (const worker_cfg_t *) args, 1, NULL, 0);
}

void
worker_host_actor(zsock_t *pipe, void *args)
{
    const worker_host_cfg_t *hc = args;
    if (hc->share) {
        //  The server's work is every round's critical path. A waking batch thread never
        //  preempts the running one: the server's PUBlish of a ROUND wakes every host before
        //  any of them takes its core (as normal threads, the first woken took it, and the
        //  server, with the other hosts still asleep, waited ~100 us a round: docs/bench.md).
        //  Linux gives each thread its own policy; a failure leaves the default.
        struct sched_param sp = {0};
        (void) sched_setscheduler(gettid(), SCHED_BATCH, &sp);
    }
    s_host_run(pipe, hc->seats, hc->nseats, hc->share, hc->from_top);
}
