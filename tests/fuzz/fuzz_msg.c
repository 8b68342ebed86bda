//  fuzz_msg.c - libFuzzer target for msg_decode(): any bytes, for a few run dimensions.
//  The first byte picks the dimension (s_dims), the rest is the frame. Besides "no crash, no
//  out-of-bounds read" (ASan, UBSan) it checks the decoder's contract: a rejection fills err with
//  the same code and a sentence; an accepted frame re-encodes, the re-encoded frame decodes, and
//  encoding that again gives the same bytes (the decoder keeps everything the encoder needs).
//  And the flat path (msg_decode()'s for one array of scalars) agrees with the object tree:
//  the same code and sentence, and an accepted frame re-encodes to the same bytes.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "msg_impl.h"  // msg_decode_how(), msg_encode_how()

static const size_t s_dims[] = {1, 2, 7, 113};

static void
s_check(int ok, const char *what, const char *detail)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_msg: %s (%s)\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t dim = s_dims[data[0] % (sizeof s_dims / sizeof s_dims[0])];
    data++, size--;
    //  A copy of exactly size bytes, so that ASan sees a read one past the end.
    uint8_t *frame = malloc(size ? size : 1);
    s_check(frame != NULL, "no memory", "frame");
    memcpy(frame, data, size);

    msg_t m, again;
    s_check(msg_init(&m, dim) == MR_OK && msg_init(&again, dim) == MR_OK, "no memory", "msg_init");
    mr_err_t err = {MR_OK, ""}, terr = {MR_OK, ""};
    msg_t t;
    s_check(msg_init(&t, dim) == MR_OK, "no memory", "msg_init");
    int trc = msg_decode_how(&t, frame, size, 1, &terr);
    int rc = msg_decode(&m, frame, size, &err);
    s_check(rc == trc && strcmp(err.text, terr.text) == 0, "the flat and tree paths disagree",
            err.text);
    if (rc == MR_OK) {
        msg_buf_t a = {0}, b = {0};
        int ea = msg_encode(&m, &a), eb = msg_encode(&t, &b);
        s_check(ea == eb &&
                    (ea != MR_OK || (a.size == b.size && memcmp(a.data, b.data, a.size) == 0)),
                "the flat and tree paths decode different messages", msg_type_name(m.type));
        msg_buf_fini(&a);
        msg_buf_fini(&b);
    }
    msg_fini(&t);
    if (rc != MR_OK) {
        s_check(err.rc == rc, "err.rc differs from the return code", err.text);
        s_check(err.text[0] != '\0', "a rejection without a sentence", msg_type_name(m.type));
    } else {
        msg_buf_t one = {0}, two = {0};
        int erc = msg_encode(&m, &one);
        s_check(erc == MR_OK, "an accepted frame does not re-encode", msg_type_name(m.type));
        s_check(msg_encode_how(&m, &two, 1) == MR_OK && one.size == two.size &&
                    memcmp(one.data, two.data, one.size) == 0,
                "the fast and general encoders write different bytes", msg_type_name(m.type));
        mr_err_t err2 = {MR_OK, ""};
        rc = msg_decode(&again, one.data, one.size, &err2);
        s_check(rc == MR_OK, "the re-encoded frame is rejected", err2.text);
        s_check(msg_encode(&again, &two) == MR_OK, "the second decode does not encode",
                msg_type_name(again.type));
        s_check(one.size == two.size && memcmp(one.data, two.data, one.size) == 0,
                "encode(decode(encode(decode(x)))) differs from encode(decode(x))",
                msg_type_name(m.type));
        //  A msg_t is reused by the actors: decoding into one that holds a message works too.
        rc = msg_decode(&m, two.data, two.size, &err2);
        s_check(rc == MR_OK, "a reused msg_t rejects a valid frame", err2.text);
        msg_buf_fini(&one);
        msg_buf_fini(&two);
    }
    msg_fini(&m);
    msg_fini(&again);
    free(frame);
    return 0;
}
