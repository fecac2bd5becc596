/* graph.h - weighted undirected item graph in CSR form with alias tables.
 *
 * Built straight from a merged pair set: each pair becomes two arcs, placed by a counting
 * sort on the source (no per-node maps, no dense matrices). Rows are sorted by neighbour.
 * Transition probability from u is proportional to arc weight; Vose alias tables give O(1)
 * sampling. Memory: 16 bytes per arc plus 8 per node. */
#ifndef WALKREC_GRAPH_H
#define WALKREC_GRAPH_H

#include <stdint.h>

#include "walkrec/alias.h"
#include "walkrec/pairs.h"
#include "walkrec/rng.h"
#include "walkrec/util.h"

typedef struct wr_graph {
    uint32_t n;          /* nodes = dict_size of the pair set */
    uint64_t m;          /* arcs = 2 x pairs */
    uint64_t *off;       /* n + 1 */
    uint32_t *adj;       /* m, sorted within each row */
    float *w;            /* m arc weights */
    wr_alias_cell *cell; /* m alias cells (alias.h), each alias a node rather than an index
                            in the row: keep the arc itself, or go to node `alias` */
} wr_graph;

/* Builds g from a merged pair set (pairs_merge); unsorted pairs work too, and a pair listed
 * twice acts as one pair with the summed weight. Pairs naming an index outside the dict,
 * self pairs or weights that are not finite and > 0 are an error. threads <= 0 means one
 * per CPU; the result does not depend on it. On error g is left empty (graph_free is still
 * safe). */
int graph_build(wr_graph *g, const wr_pairs *p, int threads, wr_err *err);
void graph_free(wr_graph *g);

static inline uint32_t graph_degree(const wr_graph *g, uint32_t u)
{
    return (uint32_t)(g->off[u + 1] - g->off[u]);
}

/* One step from u (deg(u) > 0): one random number, two independent loads (the cell and the
 * arc of the same index) and no branch, so that steps of independent walks overlap. */
static inline uint32_t graph_step(const wr_graph *g, uint32_t u, wr_rng *r)
{
    uint64_t x = rng_next(r), o = g->off[u];
    uint32_t d = (uint32_t)(g->off[u + 1] - o);
    uint64_t k = o + alias_index(d, x);
    wr_alias_cell c = g->cell[k];
    uint32_t v = g->adj[k];
    return (uint32_t)x < c.thr ? v : c.alias;
}
/* 1 if v is adjacent to u (binary search). */
int graph_has_edge(const wr_graph *g, uint32_t u, uint32_t v);

#endif
