/* ann.h - approximate top-k lists by cosine for a whole catalogue: an inverted file (IVF).
 *
 * For catalogues too large for exact neighbour lists (index.h). Spherical k-means on a
 * sample of the rows puts centroids on the unit sphere; every row goes to the cell of its
 * nearest centroid. Then, cell by cell, the cell's rows are compared with every row of the
 * `probe` cells whose centroids lie nearest the cell's own (the cell itself first), by
 * knn_topk: blocked OpenBLAS products and per-row heaps, so the scores are the same floats
 * as the exact lists'. Cells are handed to threads from a shared counter and each cell's
 * answer depends on nothing else, so the lists do not depend on the thread count.
 *
 * Chosen over an HNSW graph (hnswlib) by measurement, docs/performance.md: at 1.95 M items the
 * graph stayed under 0.98 recall@10 at the settings that fit this machine's time, the
 * inverted file passed it and built faster. What it misses is what lies just across a cell
 * boundary from the cells it probes. */
#ifndef WALKREC_ANN_H
#define WALKREC_ANN_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/util.h"

struct wr_calib;

typedef struct wr_ann_opts {
    uint32_t cells;      /* k-means cells; 0 = min(3 sqrt(n), n / 64), at least 1 */
    uint32_t probe;      /* cells each cell's rows are compared with (itself included): 8 */
    uint32_t iterations; /* k-means rounds: 10 */
    uint32_t sample;     /* k-means trains on sample x cells rows (all when fewer): 64 */
    uint64_t seed;       /* of the sample and the first centroids: 7 */
    int threads;         /* <= 0: every core */
    /* Ranking by the calibrated probability instead of the cosine (calib.h): the candidates
     * of a cell's rows are the rows of its probed cells and the `popular` rows that the
     * probability's terms other than the cosine favour most for a typical query (popularity,
     * distance from the centre), wherever they lie; each
     * is scored by calib_logit, the best k kept, their cosines stored as the scores. NULL:
     * by cosine. */
    const struct wr_calib *calib;
    const float *logdeg; /* n: log1p(weighted degree) of every row (the model's bias) */
    uint32_t popular;    /* 0 = none */
} wr_ann_opts;

typedef struct wr_ann_stats {
    uint32_t cells, probe;
    double kmeans_seconds, lists_seconds;
    double candidates_mean; /* rows each row was compared with, on average */
    size_t bytes;           /* held while building, beyond the lists: centroids, cell order */
} wr_ann_stats;

void ann_default_opts(wr_ann_opts *o);

/* For each of the n rows of vecs (n x dim, unit length, n < UINT32_MAX), its k rows of
 * highest inner product but itself (or of highest probability, with o->calib; the score
 * stored is the cosine either way), best first (equal scores: lower row first), into
 * item[r*k ...] and score[r*k ...]; padded with UINT32_MAX / -INFINITY when the candidates
 * hold fewer than k other rows. Progress on stderr. An error (nothing written) for bad arguments or when memory
 * runs out. */
int ann_topk_all(const float *vecs, size_t n, size_t dim, size_t k, const wr_ann_opts *o,
                 uint32_t *item, float *score, wr_ann_stats *st, wr_err *err);

#endif
