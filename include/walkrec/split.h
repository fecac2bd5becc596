/* split.h - train/validation split of a pair set with negative pairs (the posts' protocol).
 *
 * Validation file: header "item_a\titem_b\tlabel", label 1 for held-out pairs, 0 for
 * negatives, as many of each kind as there are held-out pairs. Two kinds of negatives:
 *   uniform  the posts' shuffled-array method: shuffle all items, take consecutive pairs,
 *            reshuffle when exhausted;
 *   degree   each item an end of a uniformly drawn held-out pair: in proportion to its
 *            held-out degree, which is in expectation proportional to its degree. This is
 *            exactly the law of the held-out pairs' own endpoints, so popularity cannot tell
 *            a negative from a positive by its items one at a time. (Drawing in proportion
 *            to the training degree instead would be biased: a held-out pair's own edge is
 *            missing from its items' training degrees, so such negatives look more popular
 *            than the positives: popularity's AUC on them was 0.37 on the SNAP prefix at
 *            seed 42, against 0.51 this way.) What remains for popularity is pair
 *            structure: where best-sellers are all linked to each other, no pair of them
 *            can be a negative (groceries: 0.89, online-retail: 0.83).
 * Both skip self pairs, true edges (of the whole set) and pairs already drawn for the same
 * kind (a pair may be drawn once per kind). When the file holds degree negatives it has a
 * fourth column "negatives": "uniform" or "degree" on negative rows, empty on positives. */
#ifndef WALKREC_SPLIT_H
#define WALKREC_SPLIT_H

#include <stdint.h>

#include "walkrec/pairs.h"
#include "walkrec/util.h"

/* Kinds of negatives; WR_NEG_BOTH (split option only) draws a full set of each. */
enum { WR_NEG_UNIFORM = 0, WR_NEG_DEGREE = 1, WR_NEG_BOTH = 2 };

typedef struct wr_split_opts {
    double val_frac; /* default 0.33 */
    uint64_t seed;   /* default 1 */
    int negatives;   /* WR_NEG_*, default (0) uniform */
} wr_split_opts;

/* "uniform", "degree", "both" -> WR_NEG_*, -1 when unknown. */
int split_negatives_parse(const char *name);
const char *split_negatives_name(int kind);

/* Splits a merged pair set. train gets its own copy of the ids (same indices). The
 * validation set is returned as parallel arrays over p->ids indices: the held-out pairs,
 * then the uniform negatives, then the degree negatives. With uniform negatives alone the
 * result is the same as before degree negatives existed, for the same seed; with both,
 * the uniform ones are the same as with uniform alone. */
typedef struct wr_valset {
    size_t n;
    uint32_t *a, *b;
    uint8_t *label;
    uint8_t *kind; /* WR_NEG_UNIFORM or WR_NEG_DEGREE on negatives, 0 on positives */
} wr_valset;

int split_pairs(const wr_pairs *p, const wr_split_opts *o, wr_pairs *train, wr_valset *val,
                wr_err *err);
void split_valset_free(wr_valset *v);
/* The split walkrecd's gate uses: a pair is held out when a hash of its two ids (in byte
 * order) and the seed falls below frac, so it stays held out whatever else the data holds
 * and no model ever trains on it. An item whose every pair would be held out keeps them in
 * training (it would have no vector). train gets the rest (its own ids, merged); val the
 * held-out pairs (indices of p->ids) and as many uniform negatives (seeded; no self pairs,
 * no pair of p). */
void split_stable(const wr_pairs *p, uint64_t seed, double frac, wr_pairs *train,
                  wr_valset *val);
/* 1 when split_stable holds the pair {a, b} out. */
int split_held_out(const char *a, const char *b, uint64_t seed, double frac);
/* Writes the three-column file, or four columns when some negative is a degree one. */
int split_valset_write(const wr_valset *v, const wr_dict *ids, const char *path, wr_err *err);

#endif
