/* rank.h - what a neighbour list is ordered by.
 *
 * WR_RANK_COSINE: the cosine of the two vectors. WR_RANK_PROBABILITY: the calibrated pair
 * probability (calib.h), for models that carry one. WR_RANK_AUTO (the default of every
 * setting and flag): for a calibrated model, the order its trainer found the better on its
 * held-out calibration slice (recall@10 by cosine against by probability, recorded in the
 * model; models from before that choice: probability), else cosine. On the five shared data
 * sets the probability won every time (bench/quality.sh). */
#ifndef WALKREC_RANK_H
#define WALKREC_RANK_H

typedef enum wr_rank { WR_RANK_COSINE = 0, WR_RANK_PROBABILITY = 1, WR_RANK_AUTO = 2 } wr_rank;

/* "cosine", "probability", "auto" -> WR_RANK_*, or -1. */
int rank_parse(const char *name);
/* The name of a rank ("auto" included). */
const char *rank_name(int rank);

#endif
