/* alias.h - Walker's alias method (Vose's construction): O(1) draws from a fixed discrete
 * distribution over [0, n).
 *
 * One 8-byte cell per outcome, so a draw is one random number, one multiply and one cache
 * access. The draw comes in two halves (alias_index, then alias_pick) so that a caller
 * drawing ahead can prefetch the cell between them (sgns.c does). The graph's per-row
 * tables (graph.h), the negative samplers of sgns, eges and mf and the synthetic catalogue
 * (synth.c) all use these cells. Tables are read-only once built: any number of threads
 * may draw from one at once, each with its own wr_rng. */
#ifndef WALKREC_ALIAS_H
#define WALKREC_ALIAS_H

#include <stdint.h>

#include "walkrec/rng.h"
#include "walkrec/util.h"

/* Outcome k keeps itself when 32 random bits are below thr, else goes to `alias` (a cell
 * that always keeps itself has thr 2^32 - 1 and alias = k, so thr never needs 2^32). */
typedef struct wr_alias_cell {
    uint32_t thr;
    uint32_t alias;
} wr_alias_cell;

/* Fills cell[0..n) (n > 0) for weights w[0..n), all finite and >= 0 with a positive sum.
 * Every alias is an index in [0, n). q (n doubles) and work (n uint32) are the caller's
 * scratch. No allocation; any thread. */
void alias_build(const float *w, uint32_t n, wr_alias_cell *cell, double *q, uint32_t *work);

/* A table that owns its cells. */
typedef struct wr_alias {
    uint32_t n;
    wr_alias_cell *cell; /* n cells; free with alias_free() */
} wr_alias;

/* A table over n outcomes with weight count[k]^power (0 for a count of 0). Fills a (which
 * the caller owns; release its cells with alias_free()). -1 with err set when every count
 * is 0 (a is then empty). */
int alias_init(wr_alias *a, const uint64_t *count, uint32_t n, double power, wr_err *err);
/* Frees a's cells and empties it; an empty or zeroed table is fine. */
void alias_free(wr_alias *a);

/* The two halves of a draw from 64 random bits x: the cell to look at, then the outcome. */
static inline uint32_t alias_index(uint32_t n, uint64_t x)
{
    return (uint32_t)(((x >> 32) * n) >> 32);
}
static inline uint32_t alias_pick(const wr_alias_cell *cell, uint64_t x, uint32_t k)
{
    wr_alias_cell c = cell[k];
    return (uint32_t)x < c.thr ? k : c.alias;
}
/* An index in [0, n) drawn from cells of alias_build or alias_init, without a branch. */
static inline uint32_t alias_draw(const wr_alias_cell *cell, uint32_t n, wr_rng *r)
{
    uint64_t x = rng_next(r);
    return alias_pick(cell, x, alias_index(n, x));
}

#endif
