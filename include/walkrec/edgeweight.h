/* edgeweight.h - re-weighting of co-occurrence pairs before the walk graph is built.
 *
 * Raw co-occurrence counts let best-sellers dominate: a walk from any item soon lands on a
 * hub and stays among hubs, so every vector drifts towards "popular". The schemes divide
 * the popularity out of each pair. With w the pair's weight, W_a and W_b the items' totals
 * (sum of the weights of their pairs) and W the sum of all pair weights (each pair once):
 *
 *   raw      w                                     (unchanged)
 *   pmi      log(2W w / (W_a W_b))                 pointwise mutual information of the
 *                                                  pair as a co-occurrence event; pairs with
 *                                                  PMI <= 0 (seen no more often than chance)
 *                                                  are dropped (positive PMI)
 *   lift     2W w / (W_a W_b)                      = exp(pmi), every pair kept
 *   jaccard  w / (W_a + W_b - w)                   weighted Jaccard of the two items'
 *                                                  pair sets, in (0, 1]
 *
 * (2W is the total of the symmetric co-occurrence matrix: each pair counts in both rows.)
 * A pair whose new weight does not round to a positive finite float is dropped too, so the
 * result always satisfies graph_build. Items whose every pair is dropped keep their id but
 * get no walks. */
#ifndef WALKREC_EDGEWEIGHT_H
#define WALKREC_EDGEWEIGHT_H

#include <stddef.h>

#include "walkrec/pairs.h"

/* WR_EW_AUTO: not a scheme but "the trainer's default" (pipeline.h); edgeweight_apply
 * refuses it. */
enum { WR_EW_AUTO = 0, WR_EW_RAW = 1, WR_EW_PMI = 2, WR_EW_LIFT = 3, WR_EW_JACCARD = 4 };

/* The schemes a run with WR_EW_AUTO chooses between on its calibration slice (pipeline.c):
 * lift and raw. */
#define WR_EW_CHOICES 2

/* "auto", "raw", "pmi", "lift", "jaccard" -> WR_EW_*, or -1. */
int edgeweight_parse(const char *name);
const char *edgeweight_name(int scheme);

/* Re-weights a merged pair set in place, dropping pairs as described above (order kept).
 * Returns the number of pairs dropped, or -1 for an unknown scheme. */
long edgeweight_apply(wr_pairs *p, int scheme);

#endif
