//  marks.h - one mark per coordinate of a d-vector: bit j % 64 of word j / 64, in MARKS_WORDS(d)
//  words that start zero. Coordinates are marked one at a time (marks_set), then walked once in
//  increasing order (marks_walk, marks_next), which clears every word it passes: after a walk to
//  its end the words are zero again, ready for the next round. A walk costs O(d / 64 + marked).
//  Header only: the walks are inner loops of the server's round.
#ifndef MARKS_H
#define MARKS_H

#include <stddef.h>
#include <stdint.h>

//  The words of marks for dim coordinates.
#define MARKS_WORDS(dim) ((dim) / 64 + 1)

static inline void
marks_set(uint64_t *marks, size_t j)
{
    marks[j / 64] |= 1ull << (j % 64);
}

//  A walk over the marked coordinates of marks (MARKS_WORDS(dim) words).
typedef struct {
    uint64_t *marks;
    size_t words;
    size_t w;       // the word whose marks bits holds (words once the walk is over)
    uint64_t bits;  // its marks not yet handed out
} marks_walk_t;

static inline marks_walk_t
marks_walk(uint64_t *marks, size_t dim)
{
    return (marks_walk_t){marks, MARKS_WORDS(dim), 0, marks[0]};
}

//  The next marked coordinate in *j, in increasing order: 1, or 0 at the end, when every word
//  has been cleared.
static inline int
marks_next(marks_walk_t *it, size_t *j)
{
    while (it->bits == 0) {
        if (it->w == it->words)
            return 0;
        it->marks[it->w++] = 0;
        if (it->w == it->words)
            return 0;
        it->bits = it->marks[it->w];
    }
    *j = 64 * it->w + (size_t) __builtin_ctzll(it->bits);
    it->bits &= it->bits - 1;
    return 1;
}

#endif
