/* churn.h - how much a new generation changes the lists people see.
 *
 * Between the live index and a candidate, over the items both know, each list in its own
 * index's order (what each would serve, index_neighbors):
 *   overlap@k  |top-k(live) ∩ top-k(candidate)| / k, items matched by id
 *   RBO        rank-biased overlap (Webber, Moffat and Zobel, 2010) of the two top-k lists,
 *              extrapolated to full depth: (X_k / k) p^k + (1 - p) / p * sum over d = 1..k
 *              of (X_d / d) p^d, X_d = the overlap of the first d of each, p = 0.9: agreement
 *              at the top weighs more than further down (1 for identical lists)
 *   churn      1 - overlap@k
 * means over the items compared: every shared item when both indexes store lists, else
 * (each list then an exact scan) WR_CHURN_SAMPLE of them spread over the live index's rows.
 * Any thread; reads both indexes only. */
#ifndef WALKREC_CHURN_H
#define WALKREC_CHURN_H

#include <stddef.h>

#include "walkrec/index.h"

#define WR_CHURN_SAMPLE 500
#define WR_CHURN_RBO_P 0.9

typedef struct wr_churn {
    double overlap, rbo; /* means (NaN when no item was compared) */
    size_t items;        /* items compared */
    int sampled;         /* 1 when they were a sample */
} wr_churn;

void churn_compare(const wr_index *live, const wr_index *cand, size_t k, wr_churn *out);

/* The two measures of one pair of lists of n and m rows of the same index (exposed for the
 * tests). */
double churn_overlap(const uint32_t *a, size_t n, const uint32_t *b, size_t m, size_t k);
double churn_rbo(const uint32_t *a, size_t n, const uint32_t *b, size_t m, size_t k, double p);

#endif
