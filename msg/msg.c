//  msg.c - the wire protocol's schema (one table of fields per message type) and the lifecycle of
//  a msg_t. Encoding is in msg_encode.c, decoding in msg_decode.c, the compact vector formats in
//  msg_cvec.c and bit accounting in msg_cost.c; msg_impl.h is what they share. See msg.h for the
//  contract and docs/protocol.md for the layout of every message.
#include "msg_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------------------------
//  The schema: one table of fields per message type, after [version, type].

#define S_ROLE_MAX ((uint64_t) MSG_ROLE_ATTACKER)

static const msg_field_t s_hello[] = {
    {"role", MSG_F_UINT, S_ROLE_MAX}, {"sender", MSG_F_UINT, MSG_U32},
    {"pid", MSG_F_UINT, MSG_U32},     {"digest", MSG_F_UINT, MSG_U64},
    {"shard", MSG_F_UINT, MSG_U64},   {"config", MSG_F_STR, 64 * MSG_KIB},
};
static const msg_field_t s_ready[] = {
    {"role", MSG_F_UINT, S_ROLE_MAX},
    {"sender", MSG_F_UINT, MSG_U32},
};
static const msg_field_t s_ping[] = {
    {"seq", MSG_F_UINT, MSG_U64},
};
static const msg_field_t s_round[] = {
    {"seq", MSG_F_UINT, MSG_U64},    {"round", MSG_F_UINT, MSG_U64},
    {"coin", MSG_F_COIN, 1},         {"g", MSG_F_BIN_NIL, 0},
    {"part", MSG_F_BIN_NIL, 0},      {"patch_idx", MSG_F_BIN_NIL, 0},
    {"patch_val", MSG_F_BIN_NIL, 0}, {"digest", MSG_F_UINT, MSG_U64},
    {"metrics", MSG_F_COIN, 1},      {"checkpoint", MSG_F_COIN, 1},
};
static const msg_field_t s_update[] = {
    {"round", MSG_F_UINT, MSG_U64},
    {"sender", MSG_F_UINT, MSG_U32},
    {"kind", MSG_F_UINT, CVEC_SPARSE},
    {"dim", MSG_F_UINT, MSG_U32},
    {"idx", MSG_F_BIN_NIL, 0},
    {"val", MSG_F_VEC, 0},
    {"oracle_calls", MSG_F_UINT, MSG_U64},
    {"f", MSG_F_REAL, 0},  // optional, with the next: the sender's METRICS of the same round
    {"grad", MSG_F_BIN, 0},
};

static const msg_field_t s_metrics[] = {
    {"round", MSG_F_UINT, MSG_U64},
    {"sender", MSG_F_UINT, MSG_U32},
    {"f", MSG_F_REAL, 0},
    {"grad", MSG_F_BIN, 0},
};
static const msg_field_t s_resync[] = {
    {"sender", MSG_F_UINT, MSG_U32},
    {"seq", MSG_F_UINT, MSG_U64},
};
static const msg_field_t s_run[] = {
    {"name", MSG_F_STR, 4 * MSG_KIB},    {"version", MSG_F_STR, 256},
    {"config", MSG_F_STR, MSG_MIB},      {"seed", MSG_F_UINT, MSG_U64},
    {"method", MSG_F_STR, 256},          {"compressor", MSG_F_STR, 256},
    {"n", MSG_F_UINT, MSG_U32},          {"dim", MSG_F_UINT, MSG_U32},
    {"dataset", MSG_F_STR, 4 * MSG_KIB}, {"start_time", MSG_F_REAL, 0},
    {"f_star", MSG_F_REAL_NAN, 0},       {"problem", MSG_F_STR, 4 * MSG_KIB},
    {"byzantine", MSG_F_UINT, MSG_U32},  {"attack", MSG_F_STR, 64},
    {"aggregator", MSG_F_STR, 64},       {"bucket", MSG_F_UINT, MSG_U32},
};
static const msg_field_t s_stats[] = {
    {"round", MSG_F_UINT, MSG_U64},
    {"coin", MSG_F_COIN, 1},
    {"f", MSG_F_REAL_NAN, 0},
    {"grad_norm_sq", MSG_F_REAL_NAN, 0},
    {"bits_paper_up", MSG_F_UINT, MSG_U64},
    {"bits_model_up", MSG_F_UINT, MSG_U64},
    {"bytes_wire_up", MSG_F_UINT, MSG_U64},
    {"bits_paper_down", MSG_F_UINT, MSG_U64},
    {"bits_model_down", MSG_F_UINT, MSG_U64},
    {"bytes_wire_down", MSG_F_UINT, MSG_U64},
    {"nnz_up", MSG_F_UINT, MSG_U64},
    {"oracle_calls", MSG_F_UINT, MSG_U64},
    {"participants", MSG_F_UINT, MSG_U32},
    {"wall_time_s", MSG_F_REAL, 0},
    {"gap", MSG_F_REAL_NAN, 0},
    {"workers", MSG_F_BIN_NIL, 0},
    {"accepted", MSG_F_UINT, MSG_U32},
    {"rejected", MSG_F_UINT, MSG_U32},
    {"agg_dist_sq", MSG_F_REAL, 0},
    {"rejections", MSG_F_STR, 64 * MSG_KIB},
    {"bytes_metrics", MSG_F_UINT, MSG_U64},
};

static const msg_field_t s_stop[] = {
    {"status", MSG_F_STR, 64},
    {"reason", MSG_F_STR, 4 * MSG_KIB},
};
static const msg_field_t s_refuse[] = {
    {"role", MSG_F_UINT, S_ROLE_MAX},
    {"sender", MSG_F_UINT, MSG_U32},
    {"pid", MSG_F_UINT, MSG_U32},
    {"reason", MSG_F_STR, 4 * MSG_KIB},
};

static const msg_field_t s_ack[] = {
    {"round", MSG_F_UINT, MSG_U64},
    {"done", MSG_F_COIN, 1},
};
static const msg_field_t s_state[] = {
    {"sender", MSG_F_UINT, MSG_U32},
    {"round", MSG_F_UINT, MSG_U64},
    {"state", MSG_F_BIN, 0},
};
static const msg_field_t s_checkpoint[] = {
    {"round", MSG_F_UINT, MSG_U64},
    {"state", MSG_F_BIN, 0},
};
static const msg_field_t s_join[] = {
    {"sender", MSG_F_UINT, MSG_U32},
    {"pid", MSG_F_UINT, MSG_U32},
    {"round", MSG_F_UINT, MSG_U64},
    {"x", MSG_F_BIN, 0},
};

static const msg_field_t s_batch[] = {
    {"frames", MSG_F_ARRAY, 0},
};

#define S_SCHEMA(label, table)                                                                     \
    {                                                                                              \
        label, table, sizeof(table) / sizeof(table[0]), 0                                          \
    }

static const msg_schema_t s_schemas[] = {
    [MSG_HELLO] = S_SCHEMA("hello", s_hello),
    [MSG_READY] = S_SCHEMA("ready", s_ready),
    [MSG_PING] = S_SCHEMA("ping", s_ping),
    [MSG_ROUND] = S_SCHEMA("round", s_round),
    [MSG_UPDATE] = {"update", s_update, sizeof s_update / sizeof s_update[0], 2},
    [MSG_METRICS] = S_SCHEMA("metrics", s_metrics),
    [MSG_RESYNC] = S_SCHEMA("resync", s_resync),
    [MSG_RUN] = S_SCHEMA("run", s_run),
    [MSG_STATS] = S_SCHEMA("stats", s_stats),
    [MSG_STOP] = S_SCHEMA("stop", s_stop),
    [MSG_REFUSE] = S_SCHEMA("refuse", s_refuse),
    [MSG_ACK] = S_SCHEMA("ack", s_ack),
    [MSG_STATE] = S_SCHEMA("state", s_state),
    [MSG_CHECKPOINT] = S_SCHEMA("checkpoint", s_checkpoint),
    [MSG_BUNDLE] = S_SCHEMA("bundle", s_batch),
    [MSG_JOIN] = S_SCHEMA("join", s_join),
};

const msg_schema_t *
msg_schema(uint64_t type)
{
    if (type < MSG_HELLO || type > MSG_TYPE_LAST)
        return NULL;
    return &s_schemas[type];
}

const char *
msg_type_name(int type)
{
    const msg_schema_t *schema = type < 0 ? NULL : msg_schema((uint64_t) type);
    return schema ? schema->name : "unknown";
}

//  --------------------------------------------------------------------------------------------
//  Lifecycle

//  Frees the strings a previous decode left in m and forgets every pointer to them.
void
msg_release_strings(msg_t *m)
{
    for (size_t i = 0; m->owned_mask && i < sizeof m->owned / sizeof m->owned[0]; i++) {
        free(m->owned[i]);  // (an UPDATE has none: the loop is skipped)
        m->owned[i] = NULL;
    }
    m->owned_mask = 0;
    m->run.name = m->run.version = m->run.config = NULL;
    m->run.method = m->run.compressor = m->run.dataset = m->run.problem = NULL;
    m->run.attack = m->run.aggregator = NULL;
    m->stats.rejections = NULL;
    m->status = m->reason = m->cfg_text = NULL;
}

int
msg_init(msg_t *m, size_t dim)
{
    assert(m);
    memset(m, 0, sizeof *m);
    m->all_part = 1;  // a ROUND is for every worker unless msg_set_part() says otherwise
    if (dim < 1 || dim > MSG_MAX_DIM)
        return MR_EINVAL;
    if (vec_init(&m->g, dim) != MR_OK || cvec_init(&m->up, dim, dim) != MR_OK) {
        msg_fini(m);
        return MR_ENOMEM;
    }
    m->up.dim = dim;
    return MR_OK;
}

void
msg_fini(msg_t *m)
{
    if (!m)
        return;
    msg_release_strings(m);
    vec_fini(&m->g);
    cvec_fini(&m->up);
    free(m->part);
    free(m->wbuf);
    free(m->gp_idx);
    free(m->gp_val);
    free(m->mg_idx);
    free(m->mg_val);
    m->mg_idx = NULL;
    m->mg_val = NULL;
    m->mg_nnz = m->mg_cap = 0;
    m->mg_sparse = 0;
    free(m->blob_own);
    free((void *) m->batch_data);
    free(m->batch_size);
    m->blob_own = NULL;
    m->blob = NULL;
    m->blob_len = m->blob_cap = 0;
    m->part = NULL;
    m->wbuf = NULL;
    m->gp_idx = NULL;
    m->gp_val = NULL;
    m->gp_nnz = m->gp_cap = 0;
    m->npart = m->cap_part = m->wcap = 0;
}

void
msg_metrics_dense(msg_t *m)
{
    if (!m->mg_sparse)
        return;
    memset(m->g.x, 0, m->g.dim * sizeof *m->g.x);
    for (size_t e = 0; e < m->mg_nnz; e++)
        m->g.x[m->mg_idx[e]] = m->mg_val[e];
    m->mg_sparse = 0;
}

//  Makes room for n participants in m->part.
int
msg_part_reserve(msg_t *m, size_t n)
{
    if (n <= m->cap_part)
        return MR_OK;
    uint32_t *grown = realloc(m->part, n * sizeof *grown);
    if (!grown)
        return MR_ENOMEM;
    m->part = grown;
    m->cap_part = n;
    return MR_OK;
}

int
msg_set_part(msg_t *m, const uint32_t *ids, size_t n)
{
    m->all_part = ids == NULL;
    m->npart = ids ? n : 0;
    if (!ids || n == 0)
        return MR_OK;
    if (msg_part_reserve(m, n) != MR_OK)
        return MR_ENOMEM;
    memcpy(m->part, ids, n * sizeof *ids);
    return MR_OK;
}
void
msg_buf_fini(msg_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->size = b->cap = 0;
}
