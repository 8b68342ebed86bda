//  msg.h - the wire protocol of marina: versioned MessagePack messages, strict decoding, and the
//  bit accounting of every message. See docs/protocol.md for the exact layout of each message.
//
//  Every message is one ZeroMQ frame holding one MessagePack array [version, type, ...fields].
//  Vectors travel as MessagePack bin of little-endian IEEE-754 doubles (indices: uint32 LE),
//  except an UPDATE whose cvec_t.enc is LEVELS or POW2 (a quantizer's output): its values travel
//  as an array of norms and bit-packed levels or exponents, its indices bit-packed, and the
//  decoder rebuilds the doubles bit for bit (docs/protocol.md, "Compact values"). An UPDATE
//  whose enc is SKETCH (SEGA's Gaussian sketch) carries b coefficients S^T r and no indices
//  (docs/protocol.md, "Sketch coefficients"); it costs 32 b bits in both bit conventions.
//  msg_decode() is strict: wrong types, field counts, lengths, dimensions, versions, non-finite
//  values or trailing bytes give MR_EMALFORMED / MR_EDIM / MR_ENONFINITE / MR_EVERSION and a
//  sentence in err; it never crashes or reads out of bounds, whatever the bytes.
//
//  Ownership: a msg_t is a plain value made with msg_init(m, dim), which allocates its vector
//  buffers for dimension dim (the run's d; decoded vectors must have exactly that dimension).
//  Strings decoded into a msg_t are owned by it and freed by the next decode or msg_fini().
//  Encoding reads a msg_t (vectors may be set by the caller to borrowed buffers via the pointers
//  documented below) and appends nothing else. Not thread-safe; one msg_t per actor.
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "stats.h"
#include "vec.h"

#define MSG_VERSION 6

typedef enum {
    MSG_HELLO = 1,    // worker/recorder -> server: I am (role, id, pid, configuration, shard)
    MSG_READY = 2,    // worker -> server: I receive your broadcasts (answer to PING)
    MSG_PING = 3,     // server -> all (PUB): are you subscribed? (seq)
    MSG_ROUND = 4,    // server -> workers (PUB): round k, c_k, g^{k-1}
    MSG_UPDATE = 5,   // worker -> server: round k, my update (dense or sparse), oracle calls
    MSG_METRICS = 6,  // worker -> server: round k, f_i(x^k), grad f_i(x^k); not communication
    MSG_RESYNC = 7,   // worker -> server: resend from seq (last seq I saw)
    MSG_RUN = 8,      // server -> recorder: the run's identity and resolved config
    MSG_STATS = 9,    // server -> recorder: one round's row
    MSG_STOP = 10,    // server -> workers (PUB) and recorder: the run ended (status, reason)
    MSG_REFUSE = 11,  // server -> workers (PUB): (role, id, pid) may not join (reason)
    MSG_ACK = 12,     // recorder -> server: every STATS up to round is committed (done: the end)
    MSG_STATE = 13,   // worker -> server: my state after round k (a checkpoint round), opaque
    MSG_CHECKPOINT = 14,  // server -> recorder: the run's checkpoint after round k, opaque
    MSG_JOIN = 15,    // server -> workers (PUB): (id, pid) takes part again from round k at x^{k-1}
    MSG_BUNDLE = 16,  // worker host -> server: several UPDATE / METRICS frames in one
} msg_type_t;

#define MSG_TYPE_LAST MSG_BUNDLE

typedef enum {
    MSG_ROLE_WORKER = 0,
    MSG_ROLE_RECORDER = 1,
    MSG_ROLE_ATTACKER = 2,  // reserved for the Byzantine issue
} msg_role_t;

typedef struct {
    msg_type_t type;
    // HELLO, READY, UPDATE, METRICS, RESYNC
    msg_role_t role;  // HELLO, READY
    uint32_t sender;  // worker id (0-based) or 0 for the recorder
    uint32_t
        pid;  // HELLO: the sender's process id; REFUSE: the refused one; JOIN: the admitted one
    // HELLO (docs/protocol.md, "Joining: the configuration check")
    uint64_t cfg_digest;  // FNV-1a 64 of cfg_text
    uint64_t shard_fp;    // the fingerprint of the sender's data shard (0: none)
    char *cfg_text;       // "key=value\n" lines ("" for the recorder; owned after decode)
    // PING, ROUND, RESYNC
    uint64_t seq;  // broadcast sequence number (PING, ROUND); RESYNC: last seq seen
    // ROUND, UPDATE, METRICS
    uint64_t round;  // k
    //  (What an UPDATE and its metrics read and write comes first, together: a host of many
    //  seats encodes one per seat a round, from cache lines that are cold at n = 1,000.)
    cvec_t up;               // UPDATE: the update. Owned, cap = d
    uint64_t oracle_calls;   // UPDATE
    int with_metrics;        // UPDATE: 1 = it carries the sender's METRICS of the same round too
                             // (f and g below): one frame where both go
    size_t metrics_bytes;    // UPDATE decoded with_metrics: the bytes of those two fields (the
                             // frame less these is the UPDATE alone, as the bit columns count it)
    int mg_sparse;           // METRICS, UPDATE with_metrics, decoded: 1 = its gradient came
                             // sparse and is in mg_idx/mg_val (g is then not written; every
                             // other coordinate is +0.0; msg_metrics_dense() expands it)
    uint32_t *mg_idx;        // its coordinates, strictly increasing; owned
    double *mg_val;          // their values; owned
    size_t mg_nnz, mg_cap;   // entries, capacity
    double f;                // METRICS, UPDATE with_metrics: f_i(x^k)
    vec_t g;                 // ROUND: g^{k-1}; METRICS, UPDATE with_metrics: grad f_i(x^k);
                             // JOIN: x^{k-1}. Owned, dim = d
    const double *g_src;     // encoding METRICS, UPDATE with_metrics: the gradient's d values
                             // are read from here (borrowed) instead of g.x; NULL: g.x
    const uint32_t *g_cols;  // encoding METRICS, UPDATE with_metrics: g is +0.0 off these
    size_t g_ncols;          // increasing coordinates (borrowed; NULL: any), read alone
    int coin;                // ROUND: c_k
    int has_g;               // ROUND: 1 if the round carries g^{k-1} (k >= 1), 0 in round 0
    int g_patch;             // ROUND with has_g: 1 = g^{k-1} travels as a patch of the previous
                             // ROUND's g (gp_idx, gp_val: the coordinates that changed), 0 = dense
    uint32_t *gp_idx;        // ROUND patch: strictly increasing coordinates; owned
    double *gp_val;          // ROUND patch: their values in g^{k-1}; owned
    size_t gp_nnz, gp_cap;   // ROUND patch: entries, capacity
    uint64_t g_digest;       // ROUND: msg_g_digest(g^{k-1}) (0 without g), to catch a drift
    int metrics;             // ROUND: 1 = the workers send METRICS for this round
    int checkpoint;          // ROUND: 1 = the workers send their STATE after this round's answer
    int done;                // ACK: 1 = the run's end (STOP) is committed too
    const uint8_t *blob;     // STATE, CHECKPOINT: the saved state blob[0..blob_len): encode reads
    size_t blob_len;         // it (the caller's bytes); decode points it at blob_own
    uint8_t *blob_own;       // decoded state bytes; owned, capacity blob_cap
    size_t blob_cap;
    uint32_t *part;            // ROUND: participants (sorted ids, repeats allowed); owned
    size_t npart;              // ROUND: entries in part
    size_t cap_part;           // ROUND: capacity of part
    int all_part;              // ROUND: 1 = every worker takes part (part unused)
    worker_stats_t *wbuf;      // STATS: decoded per-worker rows (stats.workers points here); owned
    size_t wcap;               // STATS: capacity of wbuf
    run_info_t run;            // RUN (strings owned after decode)
    round_stats_t stats;       // STATS
    char *status;              // STOP: "completed", "failed" or "aborted" (owned after decode)
    char *reason;              // STOP, REFUSE: a sentence, may be "" (owned after decode)
    const char **batch_data;   // BATCH: its nbatch messages, each one whole encoded frame of
    size_t *batch_size;        // batch_size[j] bytes. Encode reads them (the caller's frames);
    size_t nbatch, batch_cap;  // decode points them into the decoded frame (valid while that
                               // is). The two arrays (batch_cap entries) are owned: msg_fini()
                               // frees them
    char *owned[12];           // strings owned by this msg_t (internal)
    unsigned owned_mask;       // bit i set: owned[i] holds one (internal)
} msg_t;
_Static_assert(offsetof(msg_t, g_ncols) < 4 * 64,
               "an UPDATE's fields on a message's first 4 lines");

//  A growable byte buffer for encoded frames.
typedef struct {
    char *data;
    size_t size;
    size_t cap;
} msg_buf_t;

//  Allocates m's buffers for dimension dim (dim >= 1). MR_OK or MR_ENOMEM.
int msg_init(msg_t *m, size_t dim);
void msg_fini(msg_t *m);
void msg_buf_fini(msg_buf_t *b);

//  Sets a ROUND's participants: ids[0..n) (sorted, repeats allowed), or every worker if ids is
//  NULL. MR_OK or MR_ENOMEM.
int msg_set_part(msg_t *m, const uint32_t *ids, size_t n);

//  The downlink patch (msg_patch.c; docs/protocol.md, "ROUND"). msg_g_digest: d plus the sum mod
//  2^64 of one mixed term per coordinate (of its position and IEEE-754 bits), so that a patch
//  can update it entry by entry. msg_g_patch_build: sets m->gp_* to the coordinates where m->g
//  differs from prev bit for bit (MR_OK or MR_ENOMEM; the caller then decides with g_patch
//  whether the patch or the dense g travels). msg_g_patch_apply: writes a decoded patch into g
//  (the receiver's previous g), MR_OK or MR_EDIM; with digest (msg_g_digest of g before, or
//  NULL) it updates *digest to that of g after in O(patch entries).
uint64_t msg_g_digest(const vec_t *g);
int msg_g_patch_build(msg_t *m, const vec_t *prev);
int msg_g_patch_apply(const msg_t *m, vec_t *g, uint64_t *digest);
//  msg_g_update: the sender's side in one pass. m->g holds the g of the last ROUND (what the
//  receivers hold) when have_prev, and *digest its digest; sets m->g to g, writing only the
//  coordinates that differ bit for bit, m->g_digest and *digest to g's digest, and with
//  want_patch m->gp_* to those coordinates (as msg_g_patch_build() would). Without have_prev it
//  copies g and hashes it whole. MR_OK or MR_ENOMEM.
int msg_g_update(msg_t *m, const vec_t *g, int have_prev, int want_patch, uint64_t *digest);
//  msg_g_update() with have_prev, for a g that differs from m->g only at coordinates whose bit is
//  set in marks (marks.h: MARKS_WORDS(d) words): it looks at those alone, O(d / 64 +
//  marked), and gives the same m->g, patch and digest. Clears marks. MR_OK or MR_ENOMEM.
int
msg_g_update_marked(msg_t *m, const vec_t *g, uint64_t *marks, int want_patch, uint64_t *digest);

//  Writes the sparse metrics gradient of a decoded METRICS or UPDATE (mg_sparse) into m->g as d
//  doubles (+0.0 off its entries) and clears mg_sparse; does nothing to a dense one.
void msg_metrics_dense(msg_t *m);

//  Encodes m into out (out->size is set; out->data reused/grown). MR_OK or MR_ENOMEM; MR_EINVAL
//  for an unknown type, or an UPDATE whose encoding fields (enc, s, t, lev, norm) do not produce
//  exactly its val.
int msg_encode(const msg_t *m, msg_buf_t *out);

//  Decodes size bytes into m, strictly (see above). MR_OK or MR_E* with err filled.
int msg_decode(msg_t *m, const void *data, size_t size, mr_err_t *err);

//  The name of a type ("update"), or "unknown".
const char *msg_type_name(int type);

//  Bits and bytes of one message in the three conventions of docs/protocol.md.
typedef struct {
    uint64_t bits_paper;  // 32 bits per transmitted float (fewer for levels and exponents);
                          // indices free (the papers' plots)
    uint64_t bits_model;  // values plus ceil(log2 d) bits per transmitted index
    uint64_t bytes_wire;  // the exact frame bytes
} msg_cost_t;

//  ceil(log2 dim) (0 for dim <= 1): bits to name one of dim coordinates.
uint32_t msg_index_bits(size_t dim);
//  1 + ceil(log2(s + 1)): bits of one signed level in [-s, s] (a sign and a magnitude).
uint32_t msg_level_bits(uint32_t s);
//  The cost of an UPDATE carrying up (any enc), whose encoded frame has wire_bytes bytes.
msg_cost_t msg_update_cost(const cvec_t *up, size_t wire_bytes);
//  The cost, to one receiver, of a ROUND message whose frame has wire_bytes bytes: a dense g^{k-1}
//  costs 32 d bits (both conventions), a patch 32 per entry (paper) plus its indices (model).
msg_cost_t msg_round_cost(const msg_t *round, size_t wire_bytes);

#endif
