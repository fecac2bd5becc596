/* lists.h - every item's neighbour list for a whole catalogue, in the order served.
 *
 * A generation's lists are built once, by whoever trains it (`walkrec train`, walkrecd's
 * trainer process, `walkrec index` for a model trained elsewhere), and stored in its model
 * file (model.h); serving maps them. Up to exact_max_items items they are exact: every item
 * against every other, by blocked OpenBLAS products (knn.h for the cosine, calib_topk for
 * the calibrated probability). Above, they come from k-means cells (ann.h): each cell's
 * items against the items of its nearest cells, and for the probability order against the
 * most popular items too, re-ranked exactly. Their recall@10 against exact lists of the
 * same order is measured on a sample and enforced (min_recall): a build below it is done
 * again probing twice the cells and twice the popular items.
 *
 * Scores stored are cosines whatever the order (the probability of a pair is computed when
 * answered). Plain data; any thread. */
#ifndef WALKREC_LISTS_H
#define WALKREC_LISTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "walkrec/calib.h"
#include "walkrec/model.h"
#include "walkrec/util.h"

/* The default of exact_max_items: where approximate lists by probability became cheaper
 * than exact ones (docs/performance.md). */
#define WR_LISTS_EXACT_MAX 50000

typedef struct wr_lists_opts {
    uint32_t k;               /* neighbours per item: 100 */
    uint64_t exact_max_items; /* above: approximate: WR_LISTS_EXACT_MAX */
    uint32_t cells;           /* k-means cells; 0 = by size (ann.h) */
    uint32_t probe;           /* cells compared per cell: 8 */
    uint32_t popular;         /* probability order: most popular items every cell compares
                                 with: 512 */
    double min_recall;        /* recall@10 on a sample the approximate lists must reach:
                                 0.98; 0 = accept the first build */
    uint32_t recall_sample;   /* items the recall is measured on: 1000 */
    int threads;              /* <= 0: every core */
} wr_lists_opts;

void lists_default_opts(wr_lists_opts *o);

/* What to rank: unit vectors and, for the probability order, the calibration loaded from
 * the same model (calib_load: its hub terms) and every row's log degree. */
typedef struct wr_lists_input {
    const float *unit; /* n x dim, unit rows (zero rows stay zero) */
    uint32_t n, dim;
    const wr_calib *calib; /* NULL: cosine only */
    const float *logdeg;
} wr_lists_input;

typedef struct wr_lists {
    uint32_t n, k;
    int rank;              /* WR_RANK_COSINE or WR_RANK_PROBABILITY */
    int approximate;
    uint32_t *item;        /* n x k rows, best first, padded with UINT32_MAX */
    float *score;          /* n x k cosines, -INFINITY in the padding */
    int borrowed;          /* item and score belong to someone else (a mapped model) */
    double seconds;        /* building them (k-means and every round included) */
    double recall_at_10;   /* their first 10 against exact lists of the same order ... */
    uint32_t recall_sample; /* ... over this many items (0: exact lists, not measured) */
    double recall_seconds; /* the exact lists of that sample took this long: the cost of
                              exact lists for the whole catalogue is about n / sample times */
    /* approximate lists: */
    uint32_t cells, probe, popular, rounds;
    double kmeans_seconds, candidates_mean;
} wr_lists;

/* Keeps what need not change. inc holds, for each row of m, up to ki rows of m that the
 * previous generation listed first for it (UINT32_MAX: none). m's lists (lists_attach, in
 * `rank` order) are re-ranked so that an incumbent stays unless a challenger outranks it
 * by more than margin: every entry is scored in that order, incumbents get +margin (those missing from the list
 * join it), and the list is sorted again and cut to its length. margin is in the
 * probability's logit; for lists by cosine it is divided by the calibration's slope in the
 * cosine (coef[1] times the scale; 2 to 19 on the shared sets), or by 10 for a model
 * without one. Returns how many rows' first ki changed. */
size_t lists_anchor(wr_model *m, int rank, const uint32_t *inc, uint32_t ki, double margin);

/* Builds lists of min(o->k, n - 1) neighbours in `rank` order (WR_RANK_PROBABILITY needs
 * in->calib). Progress on stderr. -1 with err (WR_ENOMEM) when memory for them runs out. */
int lists_build(const wr_lists_input *in, int rank, const wr_lists_opts *o, wr_lists *out,
                wr_err *err);
/* recall@10 of l's first 10 against exact lists of l's order, over `sample` rows spread
 * over the catalogue (seeded): one batch of products. */
double lists_recall(const wr_lists_input *in, const wr_lists *l, uint32_t sample, int threads);
void lists_free(wr_lists *l);

/* Builds a model's lists and attaches them (m->unit, list_k, list_item, list_score,
 * lists_json; model_save then writes them). rank as the setting: WR_RANK_AUTO takes the
 * order the model's training recorded (calib.h) when it is calibrated, else the cosine;
 * the probability for an uncalibrated model is the cosine too. *out (may be NULL) gets the
 * description, its arrays borrowed from m. m must not be mapped. */
int lists_attach(wr_model *m, int rank, const wr_lists_opts *o, wr_lists *out, wr_err *err);
/* The order lists_attach would choose for m (its calibration loaded as c, or NULL). */
int lists_rank_for(const wr_calib *c, int rank);

/* The lists' description as stored in a model's metadata ("lists") and shown by
 * /v1/model: {"k", "kind": "exact" | "approximate", "rank", "seconds", "recall_at_10",
 * "recall_sample", "cells", "probe", "popular", "rounds", ...}. New reference. */
json_t *lists_describe(const wr_lists *l);
/* The description back into l (n, item, score untouched); -1 when it is malformed. */
int lists_read_description(const json_t *d, wr_lists *l);

#endif
