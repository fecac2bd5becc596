/* synth.h - a seeded synthetic catalogue with planted categories.
 *
 * Items get power-law popularity and one of C categories of varying size; pairs join mostly
 * items of the same category (so there is something to learn), picked in proportion to
 * popularity; weights from {0.5, 1.0, 1.2}, repeated draws of a pair summed. Every item is
 * in at least one pair, so the counts are exact. The built-in default is small enough to
 * train in seconds. */
#ifndef WALKREC_SYNTH_H
#define WALKREC_SYNTH_H

#include <stdint.h>

#include "walkrec/pairs.h"
#include "walkrec/util.h"

typedef struct wr_synth_opts {
    uint32_t items;       /* default 2000 */
    uint64_t pairs;       /* default 20000 */
    uint32_t categories;  /* default 20 */
    double in_category;   /* share of pairs inside a category, default 0.9 */
    double alpha;         /* popularity exponent, default 1.0 */
    uint64_t seed;        /* default 1 */
} wr_synth_opts;

void synth_default_opts(wr_synth_opts *o);
/* Sets items, pairs and categories of a named preset over *o: "default" (2000 items,
 * 20000 pairs, 20 categories), "electronics" (418,749 items, 4,005,262 pairs, 1000
 * categories) or "books" (1,948,370 items, 26,595,848 pairs, 5000 categories): the sizes
 * of the Amazon electronics and books co-purchase graphs. -1 if the name is unknown. */
int synth_preset(wr_synth_opts *o, const char *name);

/* Fills *out (pairs_init'ed and empty) with a merged pair set of exactly o->items ids
 * ("P0000123": 'P' and at least 7 digits, fixed width, so byte order is index order) and
 * exactly o->pairs pairs, of which round(in_category * pairs) join items of one category.
 * If cat is not NULL, *cat gets a malloc'd array of each item's category (by dict index).
 * Errors (out left empty): pairs < items (every item needs a pair), fewer than 2 items per
 * category, more pairs of either kind than exist, or a catalogue so dense that the
 * missing pairs are not found. Progress is reported in pairs. */
int synth_generate(const wr_synth_opts *o, wr_pairs *out, uint32_t **cat, wr_err *err);
/* Writes items.tsv: header "item<TAB>category", then each item and its category
 * ("c0042": at least 4 digits), in dict order. */
int synth_write_items(const wr_pairs *p, const uint32_t *cat, const char *path, wr_err *err);

#endif
