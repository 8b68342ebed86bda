//  server_impl.h - private to actors/server*.c: the server actor's state (server_t) and the
//  functions its parts share. server.c is the actor: its life, the sockets, message intake,
//  warnings and the rejection log, the recorder link; server_join.c the join (HELLO, READY, the
//  configuration check, REFUSE) and joining again (JOIN); server_checkpoint.c checkpoints and
//  resume; server_round.c the rounds (plan, broadcast, take the updates, combine, the stats row).
//  One server_t per actor, owned by its thread; nothing outside actors/server*.c includes this
//  header (use server.h).
#ifndef SERVER_IMPL_H
#define SERVER_IMPL_H

#include <czmq.h>
#include <stdint.h>

#include "msg.h"
#include "rng.h"
#include "security.h"
#include "server.h"
#include "stats_link.h"

#define MAX_REFUSED 8  // refusals remembered (the latest replace the oldest)

//  A process refused at HELLO; its REFUSE is published until the join ends (PUB/SUB may lose the
//  first copies to the slow-joiner problem, as it would lose a PING).
//  A worker's metrics gradient as it came sparse (msg_t.mg_*): entries in coordinate order, +0.0
//  elsewhere; swapped with the decoder's arrays, never copied.
typedef struct {
    int on;  // 1: this round's gradient of the worker is here (else in grads[i])
    uint32_t *idx;
    double *val;
    size_t nnz, cap;
} server_sparse_grad_t;

typedef struct {
    msg_role_t role;
    uint32_t sender, pid;
    char reason[400];
} server_refusal_t;

typedef enum {
    NEXT_OTHER = 3,  // something other than a PULL message was handled (e.g. the recorder's HELLO)
    NEXT_BAD = 2,    // an UPDATE that failed to decode, from a known sender (self->bad_*)
    NEXT_MSG = 1,    // self->in holds a valid message, self->frame_size its size
    NEXT_TIMEOUT = 0,
    NEXT_TERM = -1,  // the host said $TERM, or the process is interrupted
    NEXT_STOP = -2,  // the host asked to abort the run ("STOP" reason on the pipe; self->reason)
    NEXT_LOST = 4,   // the host saw worker self->lost_seat die ("LOST" on the pipe; self->lost_why)
} server_next_t;

typedef struct {
    const server_cfg_t *cfg;
    zsock_t *pipe;
    zsock_t *pub, *pull;  // broadcast, updates
    stats_link_t *link;   // the stats socket (ROUTER), its recorder and unacknowledged rows
    sec_t *sec;           // security=curve: our certificate and the authenticator
    char peer[64];        // the certificate name of the last message's sender ("": none)
    size_t n, dim;
    msg_t in, out;           // decoded input, message being sent
    msg_buf_t buf;           // encoded frame
    int frame_size;          // bytes of the frame in self->in
    uint64_t metrics_bytes;  // this round's accepted metrics, in bytes (the row's bytes_metrics)
    method_server_t *ms;
    rng_t rng;
    uint64_t seq;        // last ROUND sequence number (round k has seq k + 1)
    uint64_t again_seq;  // the seq last published again (0: none), and when
    double again_at;
    uint8_t *hello, *ready;  // per worker: joined, receives broadcasts
    uint8_t *got_up, *got_metrics;
    uint8_t *expected;             // per worker: 1 if it takes part in this round
    worker_stats_t *wstats;        // per worker: this round's share (round_workers rows)
    cvec_t *ups;                   // per worker: this round's update
    const cvec_t **up_ptrs;        // ups[i] in worker-id order, for the method
    double *f;                     // per worker: f_i(x^k)
    vec_t *grads;                  // per worker: grad f_i(x^k) (when it came dense)
    server_sparse_grad_t *sgrads;  // per worker: grad f_i(x^k) when it came sparse (on)
    vec_t gmean;                   // mean of grads
    int gmean_zero;                // 1: every coordinate of gmean is +0.0 (between rounds)
    uint64_t *marks;               // d bits of scratch (coordinates touched), 0 between uses
    uint64_t rejected;             // messages dropped as malformed or unexpected
    uint64_t discarded;   // ... of them harmless: late, or copies of what arrived (resends)
    int term;             // the host sent $TERM (it waits for us to return)
    double polled_at;     // when server_next() last looked at the pipe and the stats link
    int abort;            // the host asked to end the run: 1 "STOP" (aborted), 2 "FAIL" (an
                          // actor died: failed)
    char reason[512];     // why the run failed or was aborted
    uint64_t *invalid;    // per sender: invalid updates so far
    uint8_t *excluded;    // per sender: 1 once excluded (max_invalid reached, or lost)
    uint8_t *lost;        // per honest worker: 1 once it missed a round's deadline
                          // (on_worker_loss = continue): out of the aggregate and metrics
    size_t live;          // honest workers not lost
    uint32_t *pid;        // per seat: the process id of its accepted HELLO
    uint32_t *join_pid;   // per honest seat: a lost worker's new process asking to join (0: none)
    uint64_t *joined_at;  // per honest seat: the round its last JOIN admitted it to (0: none)
    uint32_t lost_seat;   // NEXT_LOST: the seat whose process died, and how
    char lost_why[512];
    zmq_msg_t batch;  // a BUNDLE frame whose messages are being taken (batch_open)
    int batch_open;
    const char **batch_data;  // ... its messages: where each begins in the frame, its size
    size_t *batch_size;
    size_t batch_count, batch_next, batch_cap;  // messages, the next to take, capacity
    uint8_t *closed;          // per sender: this round's update slot is used (valid or rejected)
    uint32_t round_rejected;  // rejections in this round
    char *rejlog;             // this round's "SENDER\tREASON\n" lines
    size_t rejlen;            // bytes used in rejlog
    uint32_t bad_sender;      // NEXT_BAD: the claimed sender, round and the decoder's reason
    uint64_t bad_round;
    char bad_reason[256];
    int forwarded;           // the honest updates of this round went to the attackers
    size_t honest;           // G: senders 0..G-1 are honest workers (cfg->honest, 0 = all n)
    size_t max_nnz;          // entries a compressed update may carry (cfg->max_nnz, 0 = d)
    int robust;              // the method aggregates robustly: absent updates are allowed
    uint32_t warned;         // warnings about peers logged so far (at most WARN_BURST)
    uint32_t unwarned;       // warnings suppressed since the last summary
    double warn_summary_at;  // when the next summary of suppressed warnings is due
    int fatal;               // the run cannot go on (reason set)
    size_t open_up;          // update slots of this round still open
    size_t open_honest;      // ... of them, honest workers'
    msg_t fwd;               // an honest update forwarded to the attackers
    uint64_t g_sent_digest;  // the digest of out.g: the g^{k-1} of the last ROUND published
    int metrics_wanted;      // the current ROUND asks the workers for METRICS
    int g_sent_ok;           // out.g is set (a ROUND with g went out)
    int ups_combined;        // up_ptrs hold the updates of round ups_round's combine (unchanged
    uint64_t ups_round;      // since): the next ROUND's patch may look at them alone
    server_refusal_t refused[MAX_REFUSED];  // processes refused at HELLO (server_join.c)
    size_t nrefused;                        // entries in refused (at most MAX_REFUSED)
    size_t refused_next;                    // the slot the next refusal takes
    double next_refuse;                     // when the pending REFUSEs go out again
    uint64_t first_round;                   // 0, or the round after a resumed checkpoint's
    double elapsed0;                        // a resumed run's wall time at its checkpoint
    double gns0, last_gns;  // ||grad f||^2 of round 0 and of the latest metrics round
    int ckpt_wanted;        // this round's ROUND asks for the seats' STATE
    int ckpt_off;           // a seat cannot save its state: no checkpoints
    double ckpt_at;         // when the last checkpoint was taken (or the rounds began)
    uint8_t **seat_state;   // per seat: its STATE of this round (checkpoint rounds)
    size_t *seat_state_len, *seat_state_cap;
    uint8_t *seat_got;      // per seat: its STATE of this round arrived
    size_t states_pending;  // STATEs still to come in this round
} server_t;

//  server.c: warnings, the rejection log, message intake, broadcasts, the recorder link.

//  A warning about a peer's message; the first of a run are logged, the others only counted.
void server_warn(server_t *self, const char *fmt, ...);
//  Logs how many warnings server_warn() held back, at most every few seconds (always if force).
void server_warn_flush(server_t *self, const char *when, int force);
//  Appends "SENDER\tTEXT\n" to this round's rejection lines (sender UINT32_MAX: "-").
void server_log_event(server_t *self, uint32_t sender, const char *reason);
//  Counts a rejected message (in the run and in this round) and logs its reason.
void server_log_rejection(server_t *self, uint32_t sender, const char *reason);
//  Records a harmless message that is not used (late, or a copy): never counted to max_invalid.
void server_discard(server_t *self, uint32_t i, const char *reason);
//  Rejects and records a STOP that came on the update socket (not the launcher's).
void server_reject_stop(server_t *self);
//  Waits until deadline for the next valid message on the update socket (into self->in).
server_next_t server_next(server_t *self, double deadline);
//  Publishes self->out on the PUB socket: the frame's size, or -1 (logged).
int server_publish(server_t *self);
//  Publishes the current ROUND again (same seq) with the dense g, a repair for a worker that
//  lost a broadcast or its copy of g; PUB cannot address one, so its frame is counted once per
//  receiver in row's bytes_wire_down (not in the paper's or model's bits). Notes seq and time
//  (again_seq, again_at): one copy serves every RESYNC that follows it closely.
void server_publish_round_again(server_t *self, round_stats_t *row);
//  Sends self->out (RUN, STATS, CHECKPOINT or STOP) to the recorder. 0, or -1 with the reason set.
int server_to_recorder(server_t *self);
//  Writes the indices i < n whose have[i] is 0 into out, comma-separated.
void server_list_missing(const uint8_t *have, size_t n, char *out, size_t size);
//  How many of have[0..n-1] are not 0.
size_t server_count_flags(const uint8_t *have, size_t n);

//  server_join.c: the join, and joining again (on_worker_loss = continue).

//  Every worker and the recorder say HELLO, then every worker is READY. NULL once joined, else
//  the run's status ("failed", "aborted"; self->reason says why).
const char *server_join(server_t *self);
//  A HELLO in round k (a lost worker's new process asking to join again, or one that missed its
//  JOIN); a resent ROUND is counted in row.
void server_take_hello(server_t *self, uint64_t k, round_stats_t *row);
//  At the start of round k: JOIN for every lost worker whose new process asked. 0, or -1 (reason).
int server_admit_joins(server_t *self, uint64_t k);

//  server_checkpoint.c: checkpoints and resume.

//  Continues from cfg->resume: the server's state, the g every worker holds, the next round.
int server_resume(server_t *self, mr_err_t *err);
//  1 if round k asks the seats for their STATE.
int server_checkpoint_due(server_t *self, uint64_t k);
//  A STATE of round k in self->in: kept for the round's checkpoint, or discarded.
void server_take_state(server_t *self, uint64_t k);
//  After round k: waits for the seats' STATEs and sends the checkpoint. 0, or -1 (reason set).
int server_checkpoint(server_t *self, uint64_t k, double elapsed_s);

//  server_round.c: the rounds.

//  Runs rounds first_round..R with the progress line: the run's status ("completed", "failed",
//  "aborted"; self->reason says why).
const char *server_rounds(server_t *self);

#endif
