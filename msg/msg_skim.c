//  msg_skim.c - decoding, step 1 (msg_decode.c runs the steps): walk a frame's raw bytes without
//  building anything, and build the objects of a flat frame on the stack.
#include "msg_impl.h"

#include <inttypes.h>
#include <string.h>

//  Containers nested deeper than this are rejected by msg_skim() (our messages are flat).
#define S_MAX_DEPTH 16

//  Checks that data holds exactly one complete MessagePack object, nested at most S_MAX_DEPTH
//  deep, in which no container announces more elements than there are bytes left (every element
//  takes at least one byte). This bounds what msgpack_unpack() allocates by the frame's size.
//  starts[i] gets the offset of the message's element i (of the outer array; i < nstarts).
int
msg_skim(const unsigned char *p, size_t size, size_t *starts, size_t nstarts, mr_err_t *err)
{
    size_t element = 0;          // elements of the outer array begun so far
    uint64_t left[S_MAX_DEPTH];  // elements still to read in each open container
    int depth = 0;
    uint64_t pending = 1;  // objects announced and not yet started, over all open containers
    size_t off = 0;
    do {
        if (off >= size)
            return mr_err_set(err, MR_EMALFORMED, "truncated frame: %zu bytes end mid-message",
                              size);
        if (depth == 1 && element < nstarts)
            starts[element++] = off;
        unsigned char b = p[off++];
        pending--;
        size_t head = 0;       // length bytes that follow b
        uint64_t payload = 0;  // bytes of data after those
        uint64_t entries = 0;  // elements, if b opens a container
        int container = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            // fixint, nil, bool: the byte is the whole object
        } else if (b <= 0x8f) {  // fixmap: a key and a value per entry
            container = 1;
            entries = 2 * (uint64_t) (b & 0x0f);
        } else if (b <= 0x9f) {  // fixarray
            container = 1;
            entries = b & 0x0f;
        } else if (b <= 0xbf) {
            payload = b & 0x1f;
        } else {
            switch (b) {
                case 0xc4:  // bin 8/16/32
                case 0xc5:
                case 0xc6:
                    head = (size_t) 1 << (b - 0xc4);
                    break;
                case 0xc7:  // ext 8/16/32: length, then a type byte
                case 0xc8:
                case 0xc9:
                    head = (size_t) 1 << (b - 0xc7);
                    payload = 1;
                    break;
                case 0xca:
                    payload = 4;
                    break;
                case 0xcb:
                    payload = 8;
                    break;
                case 0xcc:  // uint 8/16/32/64
                case 0xcd:
                case 0xce:
                case 0xcf:
                    payload = (uint64_t) 1 << (b - 0xcc);
                    break;
                case 0xd0:  // int 8/16/32/64
                case 0xd1:
                case 0xd2:
                case 0xd3:
                    payload = (uint64_t) 1 << (b - 0xd0);
                    break;
                case 0xd4:  // fixext 1/2/4/8/16, plus the type byte
                case 0xd5:
                case 0xd6:
                case 0xd7:
                case 0xd8:
                    payload = 1 + ((uint64_t) 1 << (b - 0xd4));
                    break;
                case 0xd9:  // str 8/16/32
                case 0xda:
                case 0xdb:
                    head = (size_t) 1 << (b - 0xd9);
                    break;
                case 0xdc:  // array 16/32
                case 0xdd:
                    head = (size_t) 1 << (b - 0xdc + 1);
                    container = 1;
                    break;
                case 0xde:  // map 16/32
                case 0xdf:
                    head = (size_t) 1 << (b - 0xde + 1);
                    container = 2;
                    break;
                default:  // 0xc1 is never used
                    return mr_err_set(err, MR_EMALFORMED,
                                      "byte 0x%02x at offset %zu is not MessagePack", b, off - 1);
            }
        }
        if (head > size - off)
            return mr_err_set(err, MR_EMALFORMED, "truncated frame: %zu bytes end mid-message",
                              size);
        if (head > 0) {
            uint64_t n = msg_be(p + off, head);
            off += head;
            if (container)
                entries = (uint64_t) container * n;  // a map has a key and a value per entry
            else
                payload += n;
        }
        if (payload > size - off || pending > size - off - payload)
            return mr_err_set(err, MR_EMALFORMED, "truncated frame: %zu bytes end mid-message",
                              size);
        off += (size_t) payload;
        if (container && entries > 0) {
            if (entries > size - off - pending)
                return mr_err_set(err, MR_EMALFORMED,
                                  "a container at offset %zu announces %" PRIu64
                                  " elements but only %zu bytes follow",
                                  off, entries, size - off);
            if (depth == S_MAX_DEPTH)
                return mr_err_set(err, MR_EMALFORMED, "containers nested deeper than %d",
                                  S_MAX_DEPTH);
            left[depth++] = entries;
            pending += entries;
        } else {
            // One object is complete; so is every container it completes.
            while (depth > 0 && --left[depth - 1] == 0)
                depth--;
        }
    } while (depth > 0);
    if (off < size)
        return mr_err_set(err, MR_EMALFORMED, "%zu trailing bytes after the message", size - off);
    return MR_OK;
}

//  The object of MessagePack type byte p[0] (bounds checked by msg_skim()) into *o, as
//  msgpack_unpack() makes it, for the types our encoder writes: fixint, uint 8..64, nil, bool,
//  float64, str and bin. 0 for any other type (the tree path takes the frame).
static int
s_flat_object(const unsigned char *p, msgpack_object *o)
{
    unsigned char b = p[0];
    if (b <= 0x7f) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = b;
    } else if (b >= 0xe0) {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = (int64_t) b - 256;
    } else if (b >= 0xa0 && b <= 0xbf) {
        o->type = MSGPACK_OBJECT_STR;
        o->via.str.size = b & 0x1f;
        o->via.str.ptr = (const char *) p + 1;
    } else if (b == 0xc0) {
        o->type = MSGPACK_OBJECT_NIL;
    } else if (b == 0xc2 || b == 0xc3) {
        o->type = MSGPACK_OBJECT_BOOLEAN;
        o->via.boolean = b == 0xc3;
    } else if (b >= 0xc4 && b <= 0xc6) {  // bin 8/16/32
        size_t head = (size_t) 1 << (b - 0xc4);
        o->type = MSGPACK_OBJECT_BIN;
        o->via.bin.size = (uint32_t) msg_be(p + 1, head);
        o->via.bin.ptr = (const char *) p + 1 + head;
    } else if (b >= 0xd9 && b <= 0xdb) {  // str 8/16/32
        size_t head = (size_t) 1 << (b - 0xd9);
        o->type = MSGPACK_OBJECT_STR;
        o->via.str.size = (uint32_t) msg_be(p + 1, head);
        o->via.str.ptr = (const char *) p + 1 + head;
    } else if (b >= 0xcc && b <= 0xcf) {  // uint 8/16/32/64
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = msg_be(p + 1, (size_t) 1 << (b - 0xcc));
    } else if (b == 0xcb) {
        uint64_t u = msg_be(p + 1, 8);
        o->type = MSGPACK_OBJECT_FLOAT64;
        memcpy(&o->via.f64, &u, sizeof u);
    } else {
        return 0;
    }
    return 1;
}

//  A frame that is one array of at most nstarts elements, each of a type s_flat_object() takes:
//  its elements into o[] (pointing into p), their count into *count. 0 otherwise. p passed
//  msg_skim(), which found the elements at starts[].
int
msg_flat(
    const unsigned char *p, const size_t *starts, size_t nstarts, msgpack_object *o, size_t *count)
{
    unsigned char b = p[0];
    size_t n;
    if (b >= 0x90 && b <= 0x9f)
        n = b & 0x0f;
    else if (b == 0xdc || b == 0xdd)
        n = (size_t) msg_be(p + 1, b == 0xdc ? 2 : 4);
    else
        return 0;
    if (n > nstarts)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!s_flat_object(p + starts[i], &o[i]))
            return 0;
    *count = n;
    return 1;
}
