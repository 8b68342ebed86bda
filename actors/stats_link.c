//  stats_link.c - see stats_link.h.
#include "stats_link.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "outbox.h"
#include "security.h"

#define S_BURST 64  // messages taken per call

struct stats_link {
    stats_link_cfg_t cfg;
    zsock_t *sock;
    uint8_t id[256];  // the recorder connection's routing id
    size_t id_len;    // 0 until a recorder said HELLO
    int gone;         // a send to that connection failed: it is gone
    int joined, done;
    int64_t acked;  // last round acknowledged, -1 before the first ACK
    outbox_t *box;
    size_t held;          // the last `held` frames of box wait for their burst
    double held_since;    // when the first of them was kept
    msg_buf_t run, stop;  // the RUN and (once sent) the STOP frames
    int has_run, has_stop;
    msg_t in;
};

stats_link_t *
stats_link_new(zsock_t *router, const stats_link_cfg_t *cfg, mr_err_t *err)
{
    stats_link_t *self = calloc(1, sizeof *self);
    if (!self || msg_init(&self->in, 1) != MR_OK ||
        !(self->box = outbox_new(cfg->keep_frames, cfg->keep_bytes))) {
        if (self)
            msg_fini(&self->in);
        free(self);
        mr_err_set(err, MR_ENOMEM, "out of memory for the stats link");
        return NULL;
    }
    self->cfg = *cfg;
    self->sock = router;
    self->acked = -1;
    return self;
}

void
stats_link_destroy(stats_link_t **self_p)
{
    stats_link_t *self = *self_p;
    if (!self)
        return;
    outbox_destroy(&self->box);
    msg_buf_fini(&self->run);
    msg_buf_fini(&self->stop);
    msg_fini(&self->in);
    zsock_destroy(&self->sock);
    free(self);
    *self_p = NULL;
}

zsock_t *
stats_link_sock(stats_link_t *self)
{
    return self->sock;
}

int
stats_link_joined(const stats_link_t *self)
{
    return self->joined;
}

int
stats_link_done(const stats_link_t *self)
{
    return self->done;
}

size_t
stats_link_unacked(const stats_link_t *self)
{
    return outbox_count(self->box);
}

int64_t
stats_link_acked_round(const stats_link_t *self)
{
    return self->acked;
}

static void
s_say(stats_link_t *self, void (*fn)(void *, const char *), const char *fmt, ...)
{
    if (!fn)
        return;
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fn(self->cfg.ctx, text);
}

//  Sends one frame to the recorder's connection; a connection that is gone is remembered (the
//  frame stays wherever the caller keeps it). 0 sent, -1 not.
static int
s_send(stats_link_t *self, const void *data, size_t size)
{
    if (self->id_len == 0 || self->gone)
        return -1;
    void *raw = zsock_resolve(self->sock);
    if (zmq_send(raw, self->id, self->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(raw, data, size, ZMQ_DONTWAIT) >= 0)
        return 0;
    if (!self->gone)
        s_say(self, self->cfg.note,
              "the recorder's connection is gone (%s); keeping its rows until a recorder says "
              "HELLO (%zu kept)",
              zmq_strerror(zmq_errno()), outbox_count(self->box));
    self->gone = 1;
    return -1;
}

//  A recorder took over: it gets the RUN, every kept frame and the STOP, in that order.
static void
s_catch_up(stats_link_t *self)
{
    self->held = 0;  // every kept frame goes now
    if (self->has_run && s_send(self, self->run.data, self->run.size) < 0)
        return;
    for (size_t i = 0; i < outbox_count(self->box); i++) {
        size_t size;
        const void *frame = outbox_frame(self->box, i, &size, NULL);
        if (s_send(self, frame, size) < 0)
            return;
    }
    if (self->has_stop)
        s_send(self, self->stop.data, self->stop.size);
}

static int
s_is_recorder_key(const char *name)
{
    return name && strncmp(name, "recorder", 8) == 0 && (name[8] == '\0' || name[8] == '-');
}

static void
s_take_one(stats_link_t *self, zmq_msg_t *id, zmq_msg_t *frame, int size)
{
    mr_err_t err;
    msg_t *m = &self->in;
    int rc = size < 0 ? mr_err_set(&err, MR_EMALFORMED, "not one frame")
                      : msg_decode(m, zmq_msg_data(frame), (size_t) size, &err);
    size_t idlen = zmq_msg_size(id);
    int ours =
        self->id_len > 0 && idlen == self->id_len && memcmp(self->id, zmq_msg_data(id), idlen) == 0;
    if (rc == MR_OK && m->type == MSG_ACK && ours) {
        outbox_ack(self->box, m->done ? UINT64_MAX : 2 * m->round);
        if (self->held > outbox_count(self->box))  // an ACK can only name frames it got
            self->held = outbox_count(self->box);
        if ((int64_t) m->round > self->acked)
            self->acked = (int64_t) m->round;
        self->done = self->done || m->done;
        return;
    }
    int hello = rc == MR_OK && m->type == MSG_HELLO && m->role == MSG_ROLE_RECORDER;
    if (!hello) {
        s_say(self, self->cfg.warn, "%s on the stats socket%s: ignored",
              rc == MR_OK ? msg_type_name(m->type) : err.text,
              ours ? "" : " from a connection that is not the recorder's");
        return;
    }
    if (self->cfg.curve) {
        const char *name = size >= 0 ? sec_peer_name(frame) : NULL;
        if (!s_is_recorder_key(name)) {
            s_say(self, self->cfg.warn,
                  "a recorder HELLO from the key '%s' on the stats socket: "
                  "ignored",
                  name ? name : "");
            return;
        }
    }
    char want[160] = "";
    if (self->cfg.token && self->cfg.token[0])
        snprintf(want, sizeof want, "token=%s\n", self->cfg.token);
    if (want[0] && strcmp(m->cfg_text ? m->cfg_text : "", want) != 0) {
        s_say(self, self->cfg.warn,
              "a recorder HELLO without the run's token on the stats socket: ignored");
        return;
    }
    if (ours)
        return;  // the recorder said HELLO again on its connection: harmless
    if (self->id_len > 0 && !want[0] && !self->gone) {
        s_say(self, self->cfg.warn,
              "a second recorder HELLO on the stats socket from another "
              "connection: ignored (the run has a recorder)");
        return;
    }
    if (idlen == 0 || idlen > sizeof self->id)
        return;
    int again = self->id_len > 0;
    memcpy(self->id, zmq_msg_data(id), idlen);
    self->id_len = idlen;
    self->gone = 0;
    self->joined = 1;
    if (again)
        s_say(self, self->cfg.note,
              "a recorder said HELLO on a new connection: it takes over and gets the RUN and the "
              "%zu rows not acknowledged yet",
              outbox_count(self->box));
    s_catch_up(self);
}

void
stats_link_take(stats_link_t *self)
{
    void *raw = zsock_resolve(self->sock);
    for (int burst = 0; burst < S_BURST; burst++) {
        zmq_msg_t id, frame;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, raw, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return;
        }
        zmq_msg_init(&frame);
        int size = zmq_msg_more(&id) ? actor_recv(raw, &frame) : -1;
        s_take_one(self, &id, &frame, size);
        zmq_msg_close(&frame);
        zmq_msg_close(&id);
    }
}

static int
s_copy(msg_buf_t *to, const msg_buf_t *from)
{
    if (to->cap < from->size) {
        char *grown = realloc(to->data, from->size);
        if (!grown)
            return MR_ENOMEM;
        to->data = grown;
        to->cap = from->size;
    }
    memcpy(to->data, from->data, from->size);
    to->size = from->size;
    return MR_OK;
}

int
stats_link_send_run(stats_link_t *self, const msg_buf_t *frame)
{
    if (s_copy(&self->run, frame) != MR_OK)
        return MR_ENOMEM;
    stats_link_flush(self);
    self->has_run = 1;
    s_send(self, frame->data, frame->size);
    return MR_OK;
}

int
stats_link_full(const stats_link_t *self, size_t size)
{
    return outbox_full(self->box, size);
}

void
stats_link_flush(stats_link_t *self)
{
    size_t count = outbox_count(self->box), held = self->held;
    self->held = 0;
    //  A connection that is gone keeps them in the outbox: a recorder that takes over gets them.
    for (size_t i = count - held; i < count; i++) {
        size_t size;
        const void *frame = outbox_frame(self->box, i, &size, NULL);
        if (s_send(self, frame, size) < 0)
            return;
    }
}

void
stats_link_tick(stats_link_t *self, double now)
{
    if (self->held > 0 && now - self->held_since >= self->cfg.hold_s)
        stats_link_flush(self);
}

size_t
stats_link_held(const stats_link_t *self)
{
    return self->held;
}

int
stats_link_send_kept(stats_link_t *self, uint64_t order, const msg_buf_t *frame)
{
    int rc = outbox_push(self->box, order, frame->data, frame->size);
    if (rc != MR_OK)
        return rc;
    if (self->cfg.hold_s <= 0.0) {
        s_send(self, frame->data, frame->size);
        return MR_OK;
    }
    double now = actor_now();
    if (self->held++ == 0)
        self->held_since = now;
    if (order & 1)
        stats_link_flush(self);  // a CHECKPOINT (odd key) goes at once: a resume starts there
    else
        stats_link_tick(self, now);
    return MR_OK;
}

int
stats_link_send_stop(stats_link_t *self, const msg_buf_t *frame)
{
    if (s_copy(&self->stop, frame) != MR_OK)
        return MR_ENOMEM;
    stats_link_flush(self);
    self->has_stop = 1;
    s_send(self, frame->data, frame->size);
    return MR_OK;
}
