/* synth.h - a seeded synthetic catalogue with planted categories.
 *
 * Items get power-law popularity and one of C categories; pairs join mostly items of the
 * same category (so there is something to learn), picked in proportion to popularity;
 * weights from {0.5, 1.0, 1.2}. The built-in default is small enough to train in seconds. */
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
/* Fills a merged pair set (ids "i000123"-style) and, if cat is not NULL, a malloc'd array of
 * each item's category index (by dict index). */
int synth_generate(const wr_synth_opts *o, wr_pairs *out, uint32_t **cat, wr_err *err);
/* Writes items.tsv: item, category ("c07"). */
int synth_write_items(const wr_pairs *p, const uint32_t *cat, const char *path, wr_err *err);

#endif
