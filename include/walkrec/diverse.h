/* diverse.h - lists that do not repeat themselves: maximal marginal relevance and a cap
 * per attribute value, and the two measures of how much a list repeats itself.
 *
 *   MMR (Carbonell and Goldstein, 1998): from a pool of candidates, best first, pick k
 *   greedily, each time the one maximising (1 - lambda) rel - lambda max cos(it, picked),
 *   rel = its score in the list's order (the cosine, or the probability's logit) rescaled
 *   to [0, 1] over the pool. lambda 0 keeps the pool's order.
 *   max_per: at most max_per picks share a value of the attribute (an item without one is
 *   never capped); 0 = no cap.
 *   intra-list similarity: the mean cosine of the list's pairs of items.
 *   attribute entropy: the Shannon entropy (bits) of the values among the list's items that
 *   have one.
 * Plain functions; any thread. */
#ifndef WALKREC_DIVERSE_H
#define WALKREC_DIVERSE_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/knn.h"

/* Where the items of the hits come from: each one's unit vector (dim floats) and its value
 * of the attribute (NULL: none; value NULL: no attribute). */
typedef struct wr_diverse_src {
    const float *(*vector)(const void *ctx, uint32_t item);
    const char *(*value)(const void *ctx, uint32_t item);
    const void *ctx;
    uint32_t dim;
} wr_diverse_src;

/* Picks up to k of the n hits in pool into out (not pool); returns how many (fewer than k
 * only when the cap leaves too few). Padding (item UINT32_MAX) at the pool's end is
 * skipped. */
size_t diverse_pick(const wr_hit *pool, size_t n, size_t k, double lambda, uint32_t max_per,
                    const wr_diverse_src *src, wr_hit *out);
/* NaN for fewer than two items / none with a value. */
double diverse_ils(const wr_hit *list, size_t n, const wr_diverse_src *src);
double diverse_entropy(const wr_hit *list, size_t n, const wr_diverse_src *src);

#endif
