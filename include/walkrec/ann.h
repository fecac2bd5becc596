/* ann.h - approximate top-k by cosine: an HNSW graph (hnswlib) over unit vectors.
 *
 * For catalogues too large for exact neighbour lists (index.h). The graph keeps its own
 * copy of the vectors; the inner product of unit vectors is their cosine. It is built once,
 * in parallel, and only read afterwards, so any number of threads may search it at once.
 * A C API over a C++ library: no exception crosses it, failures come back as wr_err. */
#ifndef WALKREC_ANN_H
#define WALKREC_ANN_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/knn.h"
#include "walkrec/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wr_ann wr_ann;

typedef struct wr_ann_opts {
    uint32_t m;               /* links per node (2m on the bottom layer); default 16 */
    uint32_t ef_construction; /* candidates kept while inserting; default 200 */
    int threads;              /* build threads; <= 0 = every core */
    uint64_t seed;            /* of the random layer assignment; default 100 */
} wr_ann_opts;

void ann_default_opts(wr_ann_opts *o);

/* A graph over n rows of dim floats (unit length; n < UINT32_MAX), row r labelled r.
 * Progress on stderr. Returns NULL with err set on bad arguments (n or dim 0, m < 2) or
 * when memory runs out. */
wr_ann *ann_build(const float *vecs, size_t n, size_t dim, const wr_ann_opts *o, wr_err *err);
void ann_free(wr_ann *a);

/* The k rows of highest inner product with q (dim floats), best first (equal scores: lower
 * row first), leaving out row `skip` (UINT32_MAX = none). ef is the search's candidate list,
 * raised to k when smaller: larger is slower and finds more of the true top k. Returns how
 * many were found (fewer than k only when the graph holds fewer rows), or -1 with err set. */
long ann_search(const wr_ann *a, const float *q, size_t k, size_t ef, uint32_t skip,
                wr_hit *out, wr_err *err);
/* The same for the stored vector of `row`, which is left out of its own answer. */
long ann_search_row(const wr_ann *a, uint32_t row, size_t k, size_t ef, wr_hit *out,
                    wr_err *err);

size_t ann_size(const wr_ann *a);
/* Bytes held by the graph: vectors, links, locks and the label table. */
size_t ann_memory(const wr_ann *a);

#ifdef __cplusplus
}
#endif

#endif
