/* walk.h - random walks (DeepWalk, node2vec by rejection) and the token corpus.
 *
 * A corpus is a list of sequences of item indices kept as integer arrays. */
#ifndef WALKREC_WALK_H
#define WALKREC_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/dict.h"
#include "walkrec/graph.h"
#include "walkrec/util.h"

typedef struct wr_corpus {
    uint32_t *tok;    /* all tokens */
    uint64_t *off;    /* nseq + 1 sequence offsets into tok */
    uint64_t nseq, ntok;
} wr_corpus;

void walk_corpus_free(wr_corpus *c);

typedef struct wr_walk_opts {
    uint32_t walks_per_item; /* default 10 */
    uint32_t length;         /* default 10 (nodes per walk) */
    double p, q;             /* node2vec return / in-out parameters; 1, 1 = DeepWalk */
    uint64_t seed;
    int threads;             /* <= 0: one per CPU */
} wr_walk_opts;

/* 10 walks of 10 nodes per item, p = q = 1, seed 1, one thread per CPU. */
void walk_default_opts(wr_walk_opts *o);

/* Every node with degree > 0 starts walks_per_item walks of exactly `length` nodes. Walks
 * are laid out round by round, each round visiting the start nodes in a seeded shuffled
 * order (DeepWalk's). Each block of walks draws from its own random stream seeded by
 * (seed, block), so the corpus depends on the seed only, not on the thread count.
 * p = q = 1 is a first-order weighted walk; otherwise node2vec's second-order walk by
 * rejection sampling on the first-order alias tables (no second-order tables): the mean
 * number of proposals per step is at most max(1/p, 1, 1/q) / min(1/p, 1, 1/q). Progress is
 * reported in steps. An error for bad options or a graph without edges. */
int walk_generate(const wr_graph *g, const wr_walk_opts *o, wr_corpus *out, wr_err *err);

/* Reads sequences (plain or gzip): one per line, ids separated by runs of spaces or tabs,
 * interned into ids; lines without ids are skipped. An id longer than WR_ID_MAX bytes, an
 * id that is not UTF-8, a line over 64 MiB or a damaged gzip stream is an error naming
 * "path:line". On error c is left empty (ids may have grown). */
int walk_corpus_read(wr_corpus *c, wr_dict *ids, const char *path, wr_err *err);

#endif
