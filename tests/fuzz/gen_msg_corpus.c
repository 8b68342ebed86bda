//  gen_msg_corpus.c - writes the seed corpus of fuzz_msg: one real encoded frame of every message
//  type and vector layout (dense, sparse, the quantizers' compact encodings, the downlink patch),
//  each prefixed with fuzz_msg's dimension byte. Usage: gen_msg_corpus DIR. Run by hand when the
//  protocol changes; its output is committed under tests/fuzz/corpus/msg/.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"
#include "msg.h"
#include "rng.h"

#define S_DIM      7  // fuzz_msg's dimension byte 2 (s_dims[2] = 7)
#define S_DIM_BYTE 2

static const char *s_dir;
static int s_count;

static void
s_write(const msg_t *m, const char *label)
{
    msg_buf_t buf = {0};
    if (msg_encode(m, &buf) != MR_OK) {
        fprintf(stderr, "gen_msg_corpus: cannot encode %s\n", label);
        exit(1);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%02d-%s", s_dir, s_count++, label);
    FILE *f = fopen(path, "wb");
    unsigned char dim_byte = S_DIM_BYTE;
    if (!f || fwrite(&dim_byte, 1, 1, f) != 1 || fwrite(buf.data, 1, buf.size, f) != buf.size ||
        fclose(f) != 0) {
        fprintf(stderr, "gen_msg_corpus: cannot write %s\n", path);
        exit(1);
    }
    msg_buf_fini(&buf);
}

//  An update made by a real compressor from x.
static void
s_compressed(msg_t *m, comp_kind_t kind, const vec_t *x, const char *label)
{
    comp_cfg_t cc = {.kind = kind, .k = 3, .s = 2, .t = 3};
    comp_t comp;
    mr_err_t err;
    rng_t r;
    rng_seed(&r, 7, 1);
    if (comp_init(&comp, &cc, S_DIM, &err) != MR_OK) {
        fprintf(stderr, "gen_msg_corpus: %s\n", err.text);
        exit(1);
    }
    m->type = MSG_UPDATE;
    m->round = 9;
    m->sender = 1;
    m->oracle_calls = 40;
    comp_apply(&comp, x, &r, &m->up);
    s_write(m, label);
    comp_fini(&comp);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_msg_corpus DIR\n");
        return 2;
    }
    s_dir = argv[1];
    msg_t m;
    if (msg_init(&m, S_DIM) != MR_OK)
        return 1;
    vec_t x, prev;
    vec_init(&x, S_DIM);
    vec_init(&prev, S_DIM);
    for (size_t i = 0; i < S_DIM; i++)
        x.x[i] = prev.x[i] = 0.25 * (double) i - 0.6;
    prev.x[2] += 1.0;

    m.type = MSG_HELLO;
    m.role = MSG_ROLE_WORKER;
    m.sender = 3;
    m.pid = 4242;
    m.cfg_text = "method=marina\nk=3\n";
    m.cfg_digest = 0x0123456789abcdefull;
    m.shard_fp = 77;
    s_write(&m, "hello");
    m.role = MSG_ROLE_RECORDER;
    m.cfg_text = "";
    s_write(&m, "hello-recorder");
    m.type = MSG_READY;
    m.role = MSG_ROLE_WORKER;
    s_write(&m, "ready");
    m.type = MSG_PING;
    m.seq = 12;
    s_write(&m, "ping");

    m.type = MSG_ROUND;
    m.round = 0;
    m.coin = 1;
    m.has_g = 0;
    m.metrics = 1;
    msg_set_part(&m, NULL, 0);
    s_write(&m, "round0");
    m.round = 5;
    m.coin = 0;
    m.has_g = 1;
    vec_copy(&m.g, &x);
    m.g_digest = msg_g_digest(&m.g);
    static const uint32_t part[] = {0, 2, 2};
    msg_set_part(&m, part, 3);
    s_write(&m, "round-dense");
    msg_g_patch_build(&m, &prev);
    m.g_patch = 1;
    m.metrics = 0;
    s_write(&m, "round-patch");
    m.g_patch = 0;

    m.type = MSG_UPDATE;
    cvec_set_dense(&m.up, &x);
    m.round = 5;
    m.sender = 2;
    m.oracle_calls = 10;
    s_write(&m, "update-dense");
    s_compressed(&m, COMP_RANDK, &x, "update-randk");
    s_compressed(&m, COMP_DITHER, &x, "update-dither");
    s_compressed(&m, COMP_NATURAL, &x, "update-natural");
    s_compressed(&m, COMP_TERNARY, &x, "update-ternary");
    s_compressed(&m, COMP_BLOCK, &x, "update-block");
    s_compressed(&m, COMP_TOPK, &x, "update-topk");

    m.type = MSG_METRICS;
    m.round = 5;
    m.f = 0.75;
    s_write(&m, "metrics");
    vec_t dense_g;  // the sparse form: two coordinates off +0.0, one of them -0.0
    if (vec_init(&dense_g, m.g.dim) != MR_OK)
        exit(1);
    vec_copy(&dense_g, &m.g);
    vec_zero(&m.g);
    m.g.x[1] = -0.0;
    m.g.x[m.g.dim - 1] = 2.5;
    s_write(&m, "metrics-sparse");
    vec_copy(&m.g, &dense_g);
    vec_fini(&dense_g);
    m.type = MSG_RESYNC;
    m.seq = 11;
    s_write(&m, "resync");

    m.type = MSG_RUN;
    m.run = (run_info_t){.name = "fuzz",
                         .version = "0.1.0",
                         .config = "method = marina\nk = 3\n",
                         .seed = 1,
                         .method = "marina",
                         .compressor = "randk",
                         .n = 3,
                         .dim = S_DIM,
                         .dataset = "synthetic",
                         .start_time = 1.7e9,
                         .f_star = NAN,
                         .problem = "synthetic|nonconvex",
                         .byzantine = 1,
                         .attack = "alie",
                         .aggregator = "cm",
                         .bucket = 2};
    s_write(&m, "run");

    worker_stats_t rows[3] = {
        {320, 390, 132, 10, 100, 1}, {0, 0, 0, 0, 0, 0}, {32, 35, 20, 1, 4, 1}};
    m.type = MSG_STATS;
    m.stats = (round_stats_t){.round = 5,
                              .coin = 0,
                              .f = 0.5,
                              .grad_norm_sq = 0.25,
                              .bits_paper_up = 352,
                              .bits_model_up = 425,
                              .bytes_wire_up = 152,
                              .bits_paper_down = 1344,
                              .nnz_up = 11,
                              .oracle_calls = 104,
                              .participants = 2,
                              .wall_time_s = 0.5,
                              .gap = NAN,
                              .nworkers = 3,
                              .workers = rows,
                              .accepted = 2,
                              .rejected = 1,
                              .agg_dist_sq = 0.125,
                              .rejections = "2\tnot finite\n"};
    s_write(&m, "stats");
    m.stats.nworkers = 0;
    m.stats.workers = NULL;
    m.stats.rejections = "";
    s_write(&m, "stats-no-rows");

    m.type = MSG_STOP;
    m.status = "completed";
    m.reason = "";
    s_write(&m, "stop");
    m.status = "failed";
    m.reason = "worker 2 is gone";
    s_write(&m, "stop-failed");
    m.type = MSG_REFUSE;
    m.role = MSG_ROLE_WORKER;
    m.sender = 4;
    m.pid = 99;
    m.reason = "configuration differs: k";
    s_write(&m, "refuse");
    m.type = MSG_ACK;
    m.round = 41;
    m.done = 0;
    s_write(&m, "ack");
    m.done = 1;
    s_write(&m, "ack-done");
    static const uint8_t state[12] = {'m', 'a', 'r', 'i', 'n', 'a', 0, 1, 2, 3, 254, 255};
    m.blob = state;
    m.blob_len = sizeof state;
    m.type = MSG_STATE;
    m.sender = 3;
    s_write(&m, "state");
    m.type = MSG_CHECKPOINT;
    s_write(&m, "checkpoint");
    m.type = MSG_JOIN;
    m.sender = 2;
    m.pid = 4242;
    m.round = 7523;
    s_write(&m, "join");
    m.blob = NULL;
    m.blob_len = 0;
    //  An UPDATE with its sender's metrics, and a BUNDLE of it and a METRICS.
    msg_buf_t inner[2] = {{0}, {0}};
    vec_copy(&m.g, &x);
    m.f = 0.5;
    m.type = MSG_UPDATE;
    m.round = 9;
    m.sender = 1;
    m.oracle_calls = 40;
    m.up.kind = CVEC_SPARSE;
    m.up.enc = CVEC_ENC_RAW;
    m.up.nnz = 2;
    m.up.idx[0] = 1;
    m.up.idx[1] = 5;
    m.up.val[0] = -0.75;
    m.up.val[1] = 2.5;
    m.with_metrics = 1;
    s_write(&m, "update-with-metrics");
    if (msg_encode(&m, &inner[0]) != MR_OK)
        exit(1);
    m.with_metrics = 0;
    m.type = MSG_METRICS;
    if (msg_encode(&m, &inner[1]) != MR_OK)
        exit(1);
    m.type = MSG_BUNDLE;
    m.batch_data = calloc(2, sizeof *m.batch_data);  // owned: msg_fini() frees them
    m.batch_size = calloc(2, sizeof *m.batch_size);
    if (!m.batch_data || !m.batch_size)
        exit(1);
    m.batch_cap = m.nbatch = 2;
    for (size_t j = 0; j < 2; j++) {
        m.batch_data[j] = inner[j].data;
        m.batch_size[j] = inner[j].size;
    }
    s_write(&m, "bundle");
    m.nbatch = 0;
    msg_buf_fini(&inner[0]);
    msg_buf_fini(&inner[1]);

    m.cfg_text = NULL;
    m.status = m.reason = NULL;
    m.run = (run_info_t){0};
    m.stats = (round_stats_t){0};
    msg_fini(&m);
    vec_fini(&x);
    vec_fini(&prev);
    printf("gen_msg_corpus: %d frames in %s\n", s_count, s_dir);
    return 0;
}
