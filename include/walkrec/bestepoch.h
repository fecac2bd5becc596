/* bestepoch.h - early stopping: how many epochs rank held-out pairs best.
 *
 * A trainer run on pairs with a slice held out (positives it never saw) scores the slice
 * at the end of every epoch against uniform non-edges of its training pairs (AUC of its
 * own score). An epoch becomes the best only when its AUC beats the best epoch's by more
 * than one standard error of the difference (DeLong's, the two AUCs over the same pairs):
 * fewer epochs unless more are clearly better, the one-standard-error rule of model
 * selection (Hastie, Tibshirani and Friedman, The Elements of Statistical Learning, 7.10).
 * The first epoch is always a candidate; when the AUC is undefined (a class empty) every
 * epoch is the best, that is the last is chosen.
 *
 * Measured for mf on groceries at seed 1 (docs/baselines.md): on a 5% slice (323
 * positives) the slice AUC moved by about 0.01 between epochs either way, its standard
 * errors 0.009 to 0.016, and the plain "at least as good" rule chose epoch 2 or later in
 * every run, this rule epoch 2 in one run of two; on a tenth (646 positives) it fell
 * nearly every epoch and this rule chose epoch 1 in every run. Where the AUC rises (every
 * other shared set and the electronics scale) the gains between epochs are several
 * standard errors. */
#ifndef WALKREC_BESTEPOCH_H
#define WALKREC_BESTEPOCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "walkrec/eval.h"
#include "walkrec/pairs.h"

#define WR_BEST_MIN_NEGATIVES 20000

typedef struct wr_best_epoch {
    size_t n, positives;  /* pairs: the positives first, then the negatives */
    uint32_t *a, *b;      /* rows of the training pairs' ids */
    uint8_t *label;
    double *score, *best_score; /* this epoch's scores; the best epoch's */
    double auc;           /* the best epoch's AUC (NaN before the first or when undefined) */
    uint32_t epoch;       /* the best epoch, 1-based; 0 before the first epoch's end */
    json_t *aucs, *ses;   /* every epoch's AUC and the standard error of its difference to
                             the best before it (null when undefined) */
} wr_best_epoch;

/* The positives of v (label 1) whose two items are ids of p, the merged training pairs,
 * and uniform negatives of b's own: pairs of distinct items with training pairs, neither a
 * pair of p nor a positive, drawn with replacement (seeded), as many as the positives but
 * at least WR_BEST_MIN_NEGATIVES (fewer when the graph leaves hardly any). A split's
 * negatives are as few as its positives: on groceries' 323 the AUC of mf over the epochs
 * wandered by 0.01, where 7,740 negatives (every non-edge) showed its fall. */
void best_epoch_init(wr_best_epoch *b, const wr_labeled *v, const wr_pairs *p, uint64_t seed);
/* At the end of epoch `epoch` (1-based), the trainer's parameters holding still: each
 * pair's score from score(ctx, a, b). Returns 1 when this epoch is the best so far. */
int best_epoch_check(wr_best_epoch *b, uint32_t epoch,
                     double (*score)(const void *ctx, uint32_t a, uint32_t b), const void *ctx);
/* {"epoch": e, "auc": [...], "se": [...], "positives": n, "negatives": n} (a new
 * reference). */
json_t *best_epoch_meta(const wr_best_epoch *b);
void best_epoch_free(wr_best_epoch *b);
/* The standard error of AUC(x) - AUC(y), both scores of the same m positives (first) and
 * n - m negatives (DeLong, DeLong and Clarke-Pearson 1988). */
double best_epoch_paired_se(const double *x, const double *y, size_t m, size_t n);

#endif
