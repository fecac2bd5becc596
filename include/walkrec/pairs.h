/* pairs.h - weighted unordered item pairs: reading, merging, writing.
 *
 * A pair set owns a dict of item ids. After pairs_merge every unordered pair occurs once
 * with a < b (by dict index), its weights summed, self pairs dropped. */
#ifndef WALKREC_PAIRS_H
#define WALKREC_PAIRS_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/dict.h"
#include "walkrec/util.h"

/* Weight of each relationship kind. 0 turns a kind off. */
typedef struct wr_weights {
    double bought_together;   /* default 1.2 */
    double also_bought;       /* also_bought, also_buy: default 1.0 */
    double also_viewed;       /* also_viewed, also_view: default 0.5 */
    double buy_after_viewing; /* default 0 (off) */
} wr_weights;

extern const wr_weights wr_default_weights;
/* Looks up a relationship name (bought_together, also_bought, also_buy, also_viewed,
 * also_view, buy_after_viewing); -1 if unknown. */
int pairs_weights_lookup(const wr_weights *wt, const char *name, double *out);
/* Parses "also_bought=1,also_viewed=0.25,..." over *wt. */
int pairs_weights_parse(wr_weights *wt, const char *spec, wr_err *err);

typedef struct wr_pair {
    uint32_t a, b;
    float w;
} wr_pair;

typedef struct wr_pairs {
    wr_dict *ids;
    wr_pair *v;
    size_t n, cap;
} wr_pairs;

void pairs_init(wr_pairs *p);
void pairs_free(wr_pairs *p);
/* dst = a copy of src with the same ids in the same order (dst is overwritten). */
void pairs_copy(wr_pairs *dst, const wr_pairs *src);
/* Adds a pair by index; self pairs are ignored. */
void pairs_add_idx(wr_pairs *p, uint32_t a, uint32_t b, float w);
void pairs_add(wr_pairs *p, const char *a, size_t alen, const char *b, size_t blen, float w);
/* Orders each pair a < b, sorts, sums duplicates. */
void pairs_merge(wr_pairs *p);

typedef struct wr_read_opts {
    const wr_weights *weights; /* for a relationship column; NULL = defaults */
    int strict;                /* first malformed line is an error */
    int max_report;            /* how many malformed lines to name (default 5) */
} wr_read_opts;

typedef struct wr_read_stats {
    uint64_t lines, pairs, malformed, self_pairs;
    int truncated;
} wr_read_stats;

/* Reads TSV or CSV (by extension .csv or by sniffing the first line; gzip ok). Columns:
 * item_a, item_b, then an optional weight (a number) or relationship name. A first line
 * whose third column is not a number and not a relationship, or that names item_a, is a
 * header. Bad lines (missing column, empty or too long id, bad UTF-8, weight not finite or
 * <= 0) are counted, the first few reported as "path:line: reason", and skipped; strict
 * makes the first an error. Merges at the end. */
int pairs_read(wr_pairs *p, const char *path, const wr_read_opts *opts,
               wr_read_stats *stats, wr_err *err);

/* Writes "item_a\titem_b\tweight" with item_a < item_b in byte order, lines sorted.
 * Requires a merged set. */
int pairs_write(const wr_pairs *p, const char *path, wr_err *err);

/* Weighted degree and plain degree per item (arrays of dict_size, caller frees). */
double *pairs_weighted_degree(const wr_pairs *p);
uint32_t *pairs_degree(const wr_pairs *p);

#endif
