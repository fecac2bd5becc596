/* explain.h - the evidence behind a recommendation: the pair graph a generation was made
 * from, kept beside its model file, and what it says about two items.
 *
 * The trainer writes the graph of the pairs it gathered (merged, weights summed, over the
 * model's rows) into `<model without .wr>.graph` beside the model file: CSR adjacency,
 * every row's partners sorted by row, their weights, and every row's weighted degree. The
 * index maps it read-only (index.h, index_graph), so serving costs no copy and the pages
 * of items nobody asks about stay on disk. An explanation of a pair (a, b) reads the two
 * rows: the direct pair's weight, the shared partners (both rows merged, O(deg a + deg
 * b)), the best few of them, and the chance that a random walk standing at a is at b after
 * one step and after two (the walks that trained the model step in proportion to these
 * weights, or to their lift, as the model's metadata "edge_weight" says). The relationship
 * kinds (bought_together, also_bought, ...) are not in it: pairs.c sums them into weights
 * when it reads them.
 *
 * File layout (native byte order, 64-byte header): "WRGRAPH1", n (rows), arcs (2 x
 * pairs), the FNV-1a hash of the model's ids in row order (each with its NUL), the total
 * weight of the pairs (double), pairs read that name an item outside the model, 2 reserved
 * u64; then off (n + 1 u64), the arcs (each a partner u32 and the pair's weight f32, side by
 * side), deg (n f32: the rows' weighted degrees).
 * Opening checks the sizes, the hash against the index's ids, and that every offset and
 * partner is in bounds. */
#ifndef WALKREC_EXPLAIN_H
#define WALKREC_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/dict.h"
#include "walkrec/pairs.h"
#include "walkrec/util.h"

typedef struct wr_explain_graph wr_explain_graph;

/* <model path without .wr>.graph (new string). */
char *explain_graph_path(const char *model_path);
/* FNV-1a of ids in row order, what a graph file names the model by. */
uint64_t explain_ids_hash(const wr_dict *ids);

/* Writes the merged pair set p as the graph of the model whose ids are `rows` (row i = id
 * i), atomically (file.h). Pairs naming an item the model does not have are left out and
 * counted in the header. Any thread. */
int explain_graph_write(const char *path, const wr_pairs *p, const wr_dict *rows, wr_err *err);
/* Maps the graph file of a model whose ids are `rows`. Returns a new graph (free with
 * explain_graph_free, NULL is fine); NULL with err: WR_ENOTFOUND when there is no file,
 * WR_ECORRUPT when it is damaged or belongs to another model, WR_EIO. Any thread. */
wr_explain_graph *explain_graph_open(const char *path, const wr_dict *rows, wr_err *err);
void explain_graph_free(wr_explain_graph *g);
/* Pairs kept (arcs / 2) and the sum of their weights. */
uint64_t explain_graph_pairs(const wr_explain_graph *g);
double explain_graph_weight(const wr_explain_graph *g);
/* A row's partners and weighted degree. */
uint32_t explain_graph_degree(const wr_explain_graph *g, uint32_t row);
double explain_graph_strength(const wr_explain_graph *g, uint32_t row);

#define WR_EXPLAIN_TOP 3

/* A shared partner c of a and b with its weights to both. */
typedef struct wr_explain_partner {
    uint32_t row;
    float wa, wb;
} wr_explain_partner;

/* What the graph says about rows a and b (plain data). */
typedef struct wr_explain {
    float weight;          /* of the pair a-b, 0 when the graph has none */
    uint32_t shared;       /* partners of both */
    uint32_t ntop;         /* the best shared partners by min(wa, wb) (ties: by wa + wb,
                              then the lower row), at most WR_EXPLAIN_TOP */
    wr_explain_partner top[WR_EXPLAIN_TOP];
    uint32_t deg_a, deg_b; /* partners of a, of b */
    /* a walk at a that steps to a partner in proportion to its weight: the chance it is at
     * b after one step, and after exactly two (through a shared partner); _ba from b */
    double step1_ab, step2_ab, step1_ba, step2_ba;
} wr_explain;

/* The evidence for rows a and b (< the graph's n). O(deg a + deg b). Any thread. */
void explain_pair(const wr_explain_graph *g, uint32_t a, uint32_t b, wr_explain *out);
/* The same for an item a the graph does not have, known from n ingested pairs with rows
 * rows[0..n) (ascending) of weights w, and row b: weight, shared partners (weight_a the
 * ingested weight) and deg_a = n; no walk steps (a has no row to walk from): all 0. */
void explain_ingested(const wr_explain_graph *g, const uint32_t *rows, const float *w, size_t n,
                      uint32_t b, wr_explain *out);

#endif
