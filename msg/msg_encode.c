//  msg_encode.c - msg_encode(): a msgpack_packer whose write callback appends to a reused
//  msg_buf_t, so that encoding allocates nothing once the buffer is warm. The compact vector
//  formats of an UPDATE are packed by msg_cvec.c.
#include "msg_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Makes room for extra more bytes; the capacity only grows (doubling), so a buffer reused for
//  messages of one size stops allocating after the first.
int
msg_buf_reserve(msg_buf_t *b, size_t extra)
{
    if (extra <= b->cap - b->size)
        return 0;
    if (extra > SIZE_MAX - b->size)
        return -1;
    size_t need = b->size + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(b->data, cap);
    if (!data)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

//  The packer's writes are mostly a tag and a few bytes: those are copied inline, and the buffer
//  grows only when they do not fit.
static int
s_buf_write(void *data, const char *buf, size_t len)
{
    msg_buf_t *b = data;
    if (len == 0)
        return 0;
    if (len > b->cap - b->size && msg_buf_reserve(b, len))
        return -1;
    char *o = b->data + b->size;
    if (len <= 16)
        for (size_t i = 0; i < len; i++)
            o[i] = buf[i];
    else
        memcpy(o, buf, len);
    b->size += len;
    return 0;
}

//  Writes n doubles (n uint32) little-endian at o; returns the end.
static unsigned char *
s_put_f64s(unsigned char *o, const double *x, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n > 0)
        memcpy(o, x, 8 * n);
#else
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &x[i], 8);
        for (int k = 0; k < 8; k++)
            o[8 * i + k] = (unsigned char) (u >> (8 * k));
    }
#endif
    return o + 8 * n;
}

static unsigned char *
s_put_u32s(unsigned char *o, const uint32_t *idx, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n > 0)
        memcpy(o, idx, 4 * n);
#else
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            o[4 * i + k] = (unsigned char) (idx[i] >> (8 * k));
#endif
    return o + 4 * n;
}

//  Appends a bin of n little-endian IEEE-754 doubles, written straight into the buffer.
int
msg_pack_f64s(msgpack_packer *pk, msg_buf_t *b, const double *x, size_t n)
{
    assert(n <= MSG_MAX_DIM);
    if (msgpack_pack_bin(pk, 8 * n) || msg_buf_reserve(b, 8 * n))
        return -1;
    s_put_f64s((unsigned char *) b->data + b->size, x, n);
    b->size += 8 * n;
    return 0;
}

//  Appends a bin of n little-endian uint32 indices.
static int
s_pack_u32s(msgpack_packer *pk, msg_buf_t *b, const uint32_t *idx, size_t n)
{
    assert(n <= MSG_MAX_DIM);
    if (msgpack_pack_bin(pk, 4 * n) || msg_buf_reserve(b, 4 * n))
        return -1;
    s_put_u32s((unsigned char *) b->data + b->size, idx, n);
    b->size += 4 * n;
    return 0;
}

//  Entry e of a sparse metrics gradient: coordinate j (uint32 LE) among the indices at ip, the
//  value's bits u (LE) among the values at vp.
static void
s_put_grad_entry(unsigned char *ip, unsigned char *vp, size_t e, uint32_t j, uint64_t u)
{
    for (int k = 0; k < 4; k++)
        ip[4 * e + k] = (unsigned char) (j >> (8 * k));
    for (int k = 0; k < 8; k++)
        vp[8 * e + k] = (unsigned char) (u >> (8 * k));
}

//  The metrics gradient of m as it travels: the sparse one it was decoded with (mg_sparse: its
//  entries as they came, so that a decoded frame encodes to the same bytes), else m->g: sparse
//  (the p coordinates whose bits are not +0.0's) when its 12 p bytes are fewer than the dense
//  8 d, else dense; bit for bit the same vector either way (a -0.0 is listed). With g_cols
//  (g_ncols increasing coordinates outside which g is +0.0) only those are read: the same bytes
//  in O(g_ncols). s_grad_shape() says which (the entries p, 0 when dense) and the bytes;
//  s_put_grad() writes them at o (a sparse list: p uint32 LE, then the p values) and returns the
//  end. The values are read from g_src when it is set (s_grad_values()).
static const double *
s_grad_values(const msg_t *m)
{
    return m->g_src ? m->g_src : m->g.x;
}

static size_t
s_grad_shape(const msg_t *m, size_t *p_out)
{
    if (m->mg_sparse) {
        *p_out = m->mg_nnz;
        return 12 * m->mg_nnz;
    }
    const uint32_t *cols = m->g_cols;
    size_t d = m->g.dim, p = 0;
    const double *x = s_grad_values(m);
    if (cols) {
        for (size_t t = 0; t < m->g_ncols; t++) {
            uint64_t u;
            memcpy(&u, &x[cols[t]], sizeof u);
            p += u != 0;
        }
    } else {
        //  Two counts, so that the loop is not one chain of additions.
        size_t q = 0, t = 0;
        for (; t + 2 <= d; t += 2) {
            uint64_t u, v;
            memcpy(&u, &x[t], sizeof u);
            memcpy(&v, &x[t + 1], sizeof v);
            p += u != 0;
            q += v != 0;
        }
        for (; t < d; t++) {
            uint64_t u;
            memcpy(&u, &x[t], sizeof u);
            p += u != 0;
        }
        p += q;
    }
    *p_out = 12 * p >= 8 * d ? 0 : p;
    return 12 * p >= 8 * d ? 8 * d : 12 * p;
}

static unsigned char *
s_put_grad(unsigned char *o, const msg_t *m, size_t p, size_t bytes)
{
    unsigned char *ip = o, *vp = o + 4 * p;
    if (m->mg_sparse) {
        for (size_t e = 0; e < p; e++) {
            uint64_t u;
            memcpy(&u, &m->mg_val[e], sizeof u);
            s_put_grad_entry(ip, vp, e, m->mg_idx[e], u);
        }
        return o + bytes;
    }
    const double *x = s_grad_values(m);
    if (p == 0 && bytes > 0)
        return s_put_f64s(o, x, m->g.dim);
    const uint32_t *cols = m->g_cols;
    size_t span = cols ? m->g_ncols : m->g.dim;
    for (size_t t = 0, e = 0; t < span && e < p; t++) {
        size_t j = cols ? cols[t] : t;
        uint64_t u;
        memcpy(&u, &x[j], sizeof u);
        if (u != 0)
            s_put_grad_entry(ip, vp, e++, (uint32_t) j, u);
    }
    return o + bytes;
}

//  Appends the metrics gradient of m (s_grad_shape()). 0 or -1.
static int
s_pack_metrics_grad(msgpack_packer *pk, msg_buf_t *b, const msg_t *m)
{
    size_t p, bytes = s_grad_shape(m, &p);
    if (msgpack_pack_bin(pk, bytes) || msg_buf_reserve(b, bytes))
        return -1;
    s_put_grad((unsigned char *) b->data + b->size, m, p, bytes);
    b->size += bytes;
    return 0;
}

//  Appends a bin of the per-worker rows of a STATS message (nil when there are none).
static int
s_pack_workers(msgpack_packer *pk, msg_buf_t *b, const round_stats_t *st)
{
    if (st->nworkers == 0 || !st->workers)
        return msgpack_pack_nil(pk);
    size_t bytes = (size_t) st->nworkers * MSG_WORKER_BYTES;
    if (msgpack_pack_bin(pk, bytes) || msg_buf_reserve(b, bytes))
        return -1;
    unsigned char *out = (unsigned char *) b->data + b->size;
    for (uint32_t i = 0; i < st->nworkers; i++) {
        const worker_stats_t *w = &st->workers[i];
        uint64_t f[6] = {w->bits_paper_up, w->bits_model_up, w->bytes_wire_up,
                         w->nnz_up,        w->oracle_calls,  (uint64_t) (w->sent != 0)};
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 8; k++)
                *out++ = (unsigned char) (f[j] >> (8 * k));
    }
    b->size += bytes;
    return 0;
}

//  Appends a bin of n raw bytes.
static int
s_pack_bytes(msgpack_packer *pk, msg_buf_t *b, const uint8_t *p, size_t n)
{
    if (n > UINT32_MAX || msgpack_pack_bin(pk, n) || msg_buf_reserve(b, n))
        return -1;
    if (n > 0)
        memcpy(b->data + b->size, p, n);
    b->size += n;
    return 0;
}

//  A NULL string (a field the caller left unset) travels as "".
static int
s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    return msgpack_pack_str_with_body(pk, s ? s : "", len);
}

static int
s_pack_coin(msgpack_packer *pk, int coin)
{
    return coin ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

//  The UPDATE fast path's writers: the bytes msgpack-c's packer writes for an unsigned integer
//  (the shortest form), a bin's header and a double, each returning the end.
static unsigned char *
s_put_be(unsigned char *o, uint64_t v, int bytes)
{
    for (int k = bytes - 1; k >= 0; k--)
        *o++ = (unsigned char) (v >> (8 * k));
    return o;
}

static unsigned char *
s_put_uint(unsigned char *o, uint64_t v)
{
    if (v < 128) {
        *o++ = (unsigned char) v;
        return o;
    }
    if (v < 256) {
        *o++ = 0xcc;
        return s_put_be(o, v, 1);
    }
    if (v < 65536) {
        *o++ = 0xcd;
        return s_put_be(o, v, 2);
    }
    if (v <= UINT32_MAX) {
        *o++ = 0xce;
        return s_put_be(o, v, 4);
    }
    *o++ = 0xcf;
    return s_put_be(o, v, 8);
}

static unsigned char *
s_put_bin_header(unsigned char *o, size_t n)
{
    if (n < 256) {
        *o++ = 0xc4;
        return s_put_be(o, n, 1);
    }
    if (n < 65536) {
        *o++ = 0xc5;
        return s_put_be(o, n, 2);
    }
    *o++ = 0xc6;
    return s_put_be(o, n, 4);
}

static unsigned char *
s_put_double(unsigned char *o, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    *o++ = 0xcb;
    return s_put_be(o, u, 8);
}

//  An UPDATE with plain values (enc RAW), the frame every worker sends each round: the same
//  bytes as the packer's calls in msg_encode() (test_msg and fuzz_msg compare the two on every
//  frame), written after one reservation instead of a callback per field.
static int
s_fast_update(const msg_t *m, msg_buf_t *out, size_t nfields)
{
    const cvec_t *up = &m->up;
    int sparse = up->kind == CVEC_SPARSE;
    assert(!sparse || (up->nnz <= up->dim && up->nnz <= up->cap));
    assert(nfields < 14 && up->dim <= MSG_MAX_DIM);
    size_t nval = sparse ? up->nnz : up->dim, p = 0, grad_bytes = 0;
    if (m->with_metrics)
        grad_bytes = s_grad_shape(m, &p);
    //  Header, round, sender, kind, dim: at most 3 + 9 + 5 + 1 + 9; the two bins' headers 10;
    //  oracle_calls 9; f 9 and the gradient's header 5.
    size_t most = 60 + (sparse ? 4 * nval : 0) + 8 * nval + grad_bytes;
    out->size = 0;
    if (msg_buf_reserve(out, most))
        return MR_ENOMEM;
    unsigned char *o = (unsigned char *) out->data;
    *o++ = (unsigned char) (0x90 | (2 + nfields));
    o = s_put_uint(o, MSG_VERSION);
    o = s_put_uint(o, MSG_UPDATE);
    o = s_put_uint(o, m->round);
    o = s_put_uint(o, m->sender);
    o = s_put_uint(o, sparse ? CVEC_SPARSE : CVEC_DENSE);
    o = s_put_uint(o, up->dim);
    if (sparse) {
        o = s_put_bin_header(o, 4 * nval);
        o = s_put_u32s(o, up->idx, nval);
    } else {
        *o++ = 0xc0;  // nil: no coordinates
    }
    o = s_put_bin_header(o, 8 * nval);
    o = s_put_f64s(o, up->val, nval);
    o = s_put_uint(o, m->oracle_calls);
    if (m->with_metrics) {
        o = s_put_double(o, m->f);
        o = s_put_bin_header(o, grad_bytes);
        o = s_put_grad(o, m, p, grad_bytes);
    }
    out->size = (size_t) (o - (unsigned char *) out->data);
    assert(out->size <= most);
    return MR_OK;
}

int
msg_encode(const msg_t *m, msg_buf_t *out)
{
    return msg_encode_how(m, out, 0);
}

int
msg_encode_how(const msg_t *m, msg_buf_t *out, int general)
{
    assert(m && out);
    const msg_schema_t *schema = msg_schema((uint64_t) m->type);
    if (!schema)
        return MR_EINVAL;
    size_t nfields = schema->nfields;
    if (m->type == MSG_UPDATE && !m->with_metrics)
        nfields -= schema->optional;
    if (m->type == MSG_UPDATE && m->up.enc == CVEC_ENC_RAW && !general)
        return s_fast_update(m, out, nfields);
    out->size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);

    //  Each pack call returns 0 or -1 (our callback's out of memory); or-ing keeps the code flat.
    int r = msgpack_pack_array(&pk, 2 + nfields);
    r |= msgpack_pack_uint8(&pk, MSG_VERSION);
    r |= msgpack_pack_uint8(&pk, (uint8_t) m->type);
    switch (m->type) {
        case MSG_HELLO:
            r |= msgpack_pack_uint32(&pk, (uint32_t) m->role);
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint32(&pk, m->pid);
            r |= msgpack_pack_uint64(&pk, m->cfg_digest);
            r |= msgpack_pack_uint64(&pk, m->shard_fp);
            r |= s_pack_str(&pk, m->cfg_text);
            break;
        case MSG_REFUSE:
            r |= msgpack_pack_uint32(&pk, (uint32_t) m->role);
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint32(&pk, m->pid);
            r |= s_pack_str(&pk, m->reason);
            break;
        case MSG_READY:
            r |= msgpack_pack_uint32(&pk, (uint32_t) m->role);
            r |= msgpack_pack_uint32(&pk, m->sender);
            break;
        case MSG_PING:
            r |= msgpack_pack_uint64(&pk, m->seq);
            break;
        case MSG_ROUND:
            r |= msgpack_pack_uint64(&pk, m->seq);
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= s_pack_coin(&pk, m->coin);
            if (m->has_g && !m->g_patch)
                r |= msg_pack_f64s(&pk, out, m->g.x, m->g.dim);
            else
                r |= msgpack_pack_nil(&pk);
            if (m->all_part)
                r |= msgpack_pack_nil(&pk);
            else
                r |= s_pack_u32s(&pk, out, m->part, m->npart);
            if (m->has_g && m->g_patch) {
                r |= s_pack_u32s(&pk, out, m->gp_idx, m->gp_nnz);
                r |= msg_pack_f64s(&pk, out, m->gp_val, m->gp_nnz);
            } else {
                r |= msgpack_pack_nil(&pk);
                r |= msgpack_pack_nil(&pk);
            }
            r |= msgpack_pack_uint64(&pk, m->has_g ? m->g_digest : 0);
            r |= s_pack_coin(&pk, m->metrics);
            r |= s_pack_coin(&pk, m->checkpoint);
            break;
        case MSG_UPDATE: {
            const cvec_t *up = &m->up;
            int sparse = up->kind == CVEC_SPARSE;
            assert(!sparse || (up->nnz <= up->dim && up->nnz <= up->cap));
            if (up->enc != CVEC_ENC_RAW && msg_check_compact(up) != MR_OK) {
                out->size = 0;
                return MR_EINVAL;
            }
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint8(&pk, sparse ? CVEC_SPARSE : CVEC_DENSE);
            r |= msgpack_pack_uint64(&pk, up->dim);
            if (up->enc != CVEC_ENC_RAW) {
                r |= msg_pack_compact(&pk, out, up);
            } else if (sparse) {
                r |= s_pack_u32s(&pk, out, up->idx, up->nnz);
                r |= msg_pack_f64s(&pk, out, up->val, up->nnz);
            } else {
                r |= msgpack_pack_nil(&pk);
                r |= msg_pack_f64s(&pk, out, up->val, up->dim);
            }
            r |= msgpack_pack_uint64(&pk, m->oracle_calls);
            if (m->with_metrics) {  // the fields of its METRICS, in their order
                r |= msgpack_pack_double(&pk, m->f);
                r |= s_pack_metrics_grad(&pk, out, m);
            }
            break;
        }
        case MSG_METRICS:
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_double(&pk, m->f);
            r |= s_pack_metrics_grad(&pk, out, m);
            break;
        case MSG_RESYNC:
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint64(&pk, m->seq);
            break;
        case MSG_RUN: {
            const run_info_t *run = &m->run;
            r |= s_pack_str(&pk, run->name);
            r |= s_pack_str(&pk, run->version);
            r |= s_pack_str(&pk, run->config);
            r |= msgpack_pack_uint64(&pk, run->seed);
            r |= s_pack_str(&pk, run->method);
            r |= s_pack_str(&pk, run->compressor);
            r |= msgpack_pack_uint32(&pk, run->n);
            r |= msgpack_pack_uint32(&pk, run->dim);
            r |= s_pack_str(&pk, run->dataset);
            r |= msgpack_pack_double(&pk, run->start_time);
            r |= msgpack_pack_double(&pk, run->f_star);
            r |= s_pack_str(&pk, run->problem);
            r |= msgpack_pack_uint32(&pk, run->byzantine);
            r |= s_pack_str(&pk, run->attack ? run->attack : "none");
            r |= s_pack_str(&pk, run->aggregator ? run->aggregator : "mean");
            r |= msgpack_pack_uint32(&pk, run->bucket);
            break;
        }
        case MSG_STATS: {
            const round_stats_t *st = &m->stats;
            r |= msgpack_pack_uint64(&pk, st->round);
            r |= s_pack_coin(&pk, st->coin);
            r |= msgpack_pack_double(&pk, st->f);
            r |= msgpack_pack_double(&pk, st->grad_norm_sq);
            r |= msgpack_pack_uint64(&pk, st->bits_paper_up);
            r |= msgpack_pack_uint64(&pk, st->bits_model_up);
            r |= msgpack_pack_uint64(&pk, st->bytes_wire_up);
            r |= msgpack_pack_uint64(&pk, st->bits_paper_down);
            r |= msgpack_pack_uint64(&pk, st->bits_model_down);
            r |= msgpack_pack_uint64(&pk, st->bytes_wire_down);
            r |= msgpack_pack_uint64(&pk, st->nnz_up);
            r |= msgpack_pack_uint64(&pk, st->oracle_calls);
            r |= msgpack_pack_uint32(&pk, st->participants);
            r |= msgpack_pack_double(&pk, st->wall_time_s);
            r |= msgpack_pack_double(&pk, st->gap);
            r |= s_pack_workers(&pk, out, st);
            r |= msgpack_pack_uint32(&pk, st->accepted);
            r |= msgpack_pack_uint32(&pk, st->rejected);
            r |= msgpack_pack_double(&pk, st->agg_dist_sq);
            r |= s_pack_str(&pk, st->rejections ? st->rejections : "");
            r |= msgpack_pack_uint64(&pk, st->bytes_metrics);
            break;
        }
        case MSG_STOP:
            r |= s_pack_str(&pk, m->status);
            r |= s_pack_str(&pk, m->reason);
            break;
        case MSG_ACK:
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= s_pack_coin(&pk, m->done);
            break;
        case MSG_STATE:
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= s_pack_bytes(&pk, out, m->blob, m->blob_len);
            break;
        case MSG_CHECKPOINT:
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= s_pack_bytes(&pk, out, m->blob, m->blob_len);
            break;
        case MSG_JOIN:
            r |= msgpack_pack_uint32(&pk, m->sender);
            r |= msgpack_pack_uint32(&pk, m->pid);
            r |= msgpack_pack_uint64(&pk, m->round);
            r |= msg_pack_f64s(&pk, out, m->g.x, m->g.dim);
            break;
        case MSG_BUNDLE:
            assert(m->nbatch == 0 || (m->batch_data && m->batch_size));
            r |= msgpack_pack_array(&pk, m->nbatch);
            for (size_t j = 0; j < m->nbatch; j++)
                r |= s_pack_bytes(&pk, out, (const uint8_t *) m->batch_data[j], m->batch_size[j]);
            break;
    }
    return r ? MR_ENOMEM : MR_OK;
}
