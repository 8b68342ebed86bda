//  msg_cost.c - the bit accounting of docs/protocol.md, "Counting bits": bits_paper, bits_model
//  and bytes_wire of an UPDATE or a ROUND.
#include "msg_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t
msg_index_bits(size_t dim)
{
    //  ceil(log2 dim): the bits of dim - 1 (one count per update, so no loop).
    return dim <= 1 ? 0 : (uint32_t) (64 - __builtin_clzll((unsigned long long) dim - 1));
}

uint32_t
msg_level_bits(uint32_t s)
{
    return 1 + msg_index_bits((size_t) s + 1);
}

msg_cost_t
msg_update_cost(const cvec_t *up, size_t wire_bytes)
{
    assert(up);
    //  A sketch's b coefficients carry no indices: the receiver redraws S from the run's seed.
    int sketch = up->enc == CVEC_ENC_SKETCH;
    int sparse = up->kind == CVEC_SPARSE && !sketch;
    uint64_t nnz = up->kind == CVEC_SPARSE ? up->nnz : up->dim;
    uint64_t per_value = 32, fixed = 0;  // bits per transmitted value, bits per message
    if (up->enc == CVEC_ENC_LEVELS) {
        assert(up->t >= 1);
        per_value = msg_level_bits(up->s);
        fixed = 32 * (uint64_t) ((up->dim + up->t - 1) / up->t);  // one float per block norm
    } else if (up->enc == CVEC_ENC_POW2) {
        per_value = MSG_POW2_PAPER_BITS;
    }
    msg_cost_t c;
    c.bits_paper = fixed + per_value * nnz;
    c.bits_model = c.bits_paper + (sparse ? nnz * msg_index_bits(up->dim) : 0);
    c.bytes_wire = wire_bytes;
    return c;
}

msg_cost_t
msg_round_cost(const msg_t *round, size_t wire_bytes)
{
    msg_cost_t c;
    size_t dim = round->g.dim;
    if (round->has_g && round->g_patch) {
        c.bits_paper = 32 * (uint64_t) round->gp_nnz;
        c.bits_model = c.bits_paper + (uint64_t) round->gp_nnz * msg_index_bits(dim);
        c.bytes_wire = wire_bytes;
        return c;
    }
    c.bits_paper = round->has_g ? 32 * (uint64_t) dim : 0;
    c.bits_model = c.bits_paper;
    c.bytes_wire = wire_bytes;
    return c;
}
