/* split.h - train/validation split of a pair set with negative pairs (the posts' protocol).
 *
 * Validation file: header "item_a\titem_b\tlabel", label 1 for held-out pairs, 0 for
 * negatives drawn by the shuffled-array method: shuffle all items, take consecutive
 * pairs, reshuffle when exhausted, skip self pairs and true edges (of the whole set). */
#ifndef WALKREC_SPLIT_H
#define WALKREC_SPLIT_H

#include <stdint.h>

#include "walkrec/pairs.h"
#include "walkrec/util.h"

typedef struct wr_split_opts {
    double val_frac; /* default 0.33 */
    uint64_t seed;   /* default 1 */
} wr_split_opts;

/* Splits a merged pair set. train gets its own copy of the ids (same indices). The
 * validation set is returned as parallel arrays over p->ids indices. */
typedef struct wr_valset {
    size_t n;
    uint32_t *a, *b;
    uint8_t *label;
} wr_valset;

int split_pairs(const wr_pairs *p, const wr_split_opts *o, wr_pairs *train, wr_valset *val,
                wr_err *err);
void valset_free(wr_valset *v);
int valset_write(const wr_valset *v, const wr_dict *ids, const char *path, wr_err *err);

#endif
