/* eval.h - quality of embeddings on a validation file (the posts' protocol).
 *
 * Definitions (what eval_model computes, exactly):
 *
 *   score(a, b)  cosine of the two model vectors, computed in double precision from the
 *                float32 vectors; 0 when either vector is all zeros. A pair is "seen" when
 *                both ids are in the model.
 *   auc_seen     AUC-ROC over the seen pairs.
 *   auc_all      AUC-ROC over all pairs, each unseen pair scored with the median of the seen
 *                scores (mean of the two middle values for an even count; 0 when no pair is
 *                seen).
 *   AUC-ROC      Mann-Whitney U / (positives * negatives): the fraction of (positive,
 *                negative) pairs ranked correctly, a tie counting one half. Equal to
 *                scikit-learn's roc_auc_score. NaN when a class is empty.
 *
 *   Retrieval, for each query q in a seeded sample of at most max_queries items:
 *     P(q)       the model items b != q with a label-1 validation pair {q, b}, minus the
 *                training neighbours of q (they are excluded from the ranking, so they could
 *                never be found). Queries are the model items with non-empty P(q), sampled
 *                uniformly without replacement with rng_seed(seed) when there are more.
 *     ranking    all model items by cosine to q, best first, leaving out q itself and, when
 *                training pairs are given, every training neighbour of q; the top k kept.
 *     recall@k   |top-k ∩ P(q)| / |P(q)|                      (not capped at k)
 *     NDCG@k     DCG / IDCG with binary gains: DCG = sum over ranks i = 1..k of
 *                [hit at i] / log2(i + 1), IDCG = sum over i = 1..min(k, |P(q)|) of
 *                1 / log2(i + 1).
 *   recall_at_k and ndcg_at_k are the means over the sampled queries (NaN with none). */
#ifndef WALKREC_EVAL_H
#define WALKREC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/util.h"

/* Validation pairs as strings (ids may be absent from the model). */
typedef struct wr_labeled {
    size_t n;
    char **a, **b;
    uint8_t *label;
} wr_labeled;

/* Reads "item_a\titem_b\tlabel" lines (label 0 or 1; optional header line naming the
 * columns; plain or gzip). Any malformed line is an error naming path:line. */
int labeled_read(wr_labeled *v, const char *path, wr_err *err);
void labeled_free(wr_labeled *v);

/* AUC of scores against labels (label != 0 is positive), Mann-Whitney with mid-ranks for
 * ties, O(n log n), exact integer counting up to the final division; NaN when one class is
 * empty. NaN scores rank below every number. */
double auc_roc(const double *score, const uint8_t *label, size_t n);

typedef struct wr_eval_opts {
    size_t k;            /* default 10 */
    size_t max_queries;  /* default 2000; 0 = no retrieval (AUC only, recall/NDCG NaN) */
    uint64_t seed;       /* default 1 */
    const wr_pairs *train; /* optional: excluded from retrieval */
    int threads;         /* for the top-k search; <= 0 = all cores */
} wr_eval_opts;

void eval_default_opts(wr_eval_opts *o);

typedef struct wr_eval_result {
    double auc_all, auc_seen;
    double recall_at_k, ndcg_at_k;
    size_t pairs_seen, pairs_unseen, queries;
    double *scores;       /* per validation pair, median filled in for unseen (owned) */
    uint8_t *seen;        /* per validation pair (owned) */
    uint32_t *query_rows; /* the sampled queries (model rows, ascending), `queries` of them (owned) */
} wr_eval_result;

int eval_model(const wr_model *m, const wr_labeled *v, const wr_eval_opts *o,
               wr_eval_result *r, wr_err *err);
void eval_result_free(wr_eval_result *r);

#endif
