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
 *   Retrieval, for each query q of every query item or, above max_queries of them, a
 *   sample (WR_EVAL_ALL_QUERIES, the default: every query item while queries x model items
 *   stays within WR_EVAL_QUERY_COMPARISONS, else a sample of that many comparisons):
 *     P(q)       the model items b != q with a label-1 validation pair {q, b}, minus the
 *                training neighbours of q (they are excluded from the ranking, so they could
 *                never be found). Queries are the model items with non-empty P(q); when
 *                there are more than max_queries, those whose ids hash lowest with the seed
 *                (a sample by id, so models of the same items with rows in another order,
 *                an imported gensim model say, are asked the same queries).
 *     ranking    all model items by cosine to q (or by probability, see o->rank below),
 *                best first, leaving out q itself and, when training pairs are given, every
 *                training neighbour of q; the top k kept.
 *     recall@k   |top-k ∩ P(q)| / |P(q)|                      (not capped at k)
 *     NDCG@k     DCG / IDCG with binary gains: DCG = sum over ranks i = 1..k of
 *                [hit at i] / log2(i + 1), IDCG = sum over i = 1..min(k, |P(q)|) of
 *                1 / log2(i + 1).
 *   recall_at_k and ndcg_at_k are the means over the sampled queries (NaN with none).
 *
 * Kinds of negatives (split.h): the primary evaluation set is the positives plus the
 * uniform negatives, or plus all negatives when the file has no uniform ones; auc_all and
 * auc_seen are over it (so a three-column file is scored exactly as always). The degree set
 * is the positives plus the degree-matched negatives (deg_auc_*, NaN when there are none).
 * Each set takes its median for its unseen pairs; `scores` holds the primary set's.
 *
 * Beside the model, on the same pairs and queries:
 *   popularity   needs training pairs (o->train). score(a, b) = log1p(deg a) + log1p(deg b),
 *                deg = degree in the training pairs (0 for an item not in them). Every pair
 *                has a score, so its auc_all needs no median; its auc_seen is over the pairs
 *                the model sees (the model's auc_seen pairs). Its neighbour list for q: the
 *                model items by training degree, highest first (equal degree: lower row
 *                first), leaving out what the model's list leaves out.
 *   probability  models that carry a calibration (calib.h): calib_prob of the cosine, the
 *                log (weighted) degrees stored in the model and the two rows' cosines to the
 *                calibration's centre. Like popularity it scores every pair: an item missing
 *                from the model has log degree 0 and the cosine and hub product are taken at
 *                the calibration's means; so auc_all needs no median, and auc_seen is over
 *                the model's seen pairs. brier, ece and the reliability table are over the
 *                primary set's seen pairs (those the daemon answers), ece_all over all of
 *                its pairs, each class weighing the same: the population the probability
 *                states (one related pair per random one, calib.h; the ECE's ten equal-width
 *                bins are the reliability table's). brier_constant is the Brier score of
 *                always predicting the base rate (0.25): a useful probability is below it.
 *   lists        coverage_at_k = share of the model items that are in the top k of some
 *                sampled query; mean_log_degree = mean log1p(training degree) over all
 *                listed items, against catalogue_log_degree, the mean over the model items
 *                (both NaN without training pairs). The model's lists are ranked by o->rank
 *                (resolved into `rank`): cosine (knn_topk) or probability (descending
 *                calib_logit, equal values: lower row first). */
#ifndef WALKREC_EVAL_H
#define WALKREC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/calib.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/rank.h"
#include "walkrec/split.h"
#include "walkrec/util.h"

/* Validation pairs as strings (ids may be absent from the model). */
typedef struct wr_labeled {
    size_t n;
    char **a, **b;
    uint8_t *label;
    uint8_t *kind; /* WR_NEG_UNIFORM / WR_NEG_DEGREE per negative row; NULL = all uniform */
} wr_labeled;

/* Reads "item_a\titem_b\tlabel" lines (label 0 or 1; optional header line naming the
 * columns; plain or gzip), optionally with a fourth column "negatives": "uniform" or
 * "degree" on label-0 rows, empty on label-1 rows (split.h). Any malformed line is an error
 * naming path:line. */
int eval_labeled_read(wr_labeled *v, const char *path, wr_err *err);
void eval_labeled_free(wr_labeled *v);
/* A view of a validation set of indices as strings of ids (borrowed: valid while both are);
 * release with eval_labeled_release, which frees the view's arrays only. */
void eval_labeled_view(wr_labeled *v, const wr_valset *s, const wr_dict *ids);
void eval_labeled_release(wr_labeled *v);

/* AUC of scores against labels (label != 0 is positive), Mann-Whitney with mid-ranks for
 * ties, O(n log n), exact integer counting up to the final division; NaN when one class is
 * empty. NaN scores rank below every number. */
double eval_auc_roc(const double *score, const uint8_t *label, size_t n);

enum { WR_UNSEEN_MEDIAN = 0, WR_UNSEEN_ZERO = 1 };
/* "median", "zero"; and back (-1 for another name). */
const char *eval_unseen_name(int unseen);
int eval_unseen_parse(const char *name);

/* max_queries: every query item while their lists cost at most WR_EVAL_QUERY_COMPARISONS
 * item comparisons (queries x model items), else the hash-lowest that many comparisons
 * buy (at least 2000). Every shared data set is ranked in full; the electronics-scale
 * catalogue (418,749 items, 385,874 query items) gets 7,164 sampled queries, about 20 s of
 * ranking on two cores (docs/evaluation.md#the-protocol). */
#define WR_EVAL_ALL_QUERIES SIZE_MAX
#define WR_EVAL_QUERY_COMPARISONS 3e9

typedef struct wr_eval_opts {
    size_t k;            /* default 10 */
    size_t max_queries;  /* default WR_EVAL_ALL_QUERIES; 0 = no retrieval (AUC only,
                            recall/NDCG NaN) */
    uint64_t seed;       /* default 1 */
    const wr_pairs *train; /* optional: excluded from retrieval; the popularity baseline */
    int threads;         /* for the top-k search; <= 0 = all cores */
    int rank;            /* WR_RANK_*: how the model's neighbour lists are ranked */
    int unseen;          /* WR_UNSEEN_MEDIAN (0, the original protocol): a pair with an item
                            the model lacks scores the median of the seen pairs' scores, in
                            every row (cosine, popularity, probability); WR_UNSEEN_ZERO: it
                            scores 0 by cosine, and popularity and probability score it as
                            they are (its training degree, 0 when it has none) */
    int from_lists;      /* rank from the lists the model carries (lists.h), as served:
                            each query's stored list minus its training neighbours, its first
                            k; the order is theirs (rank is ignored) */
    /* diverse lists (diverse.h): each list picked from its first max(5k, 50) by MMR with
     * this lambda (0: none) and at most max_per items per value of values (model row ->
     * its value, NULL for none; max_per 0: no cap). values also gives attr_entropy. */
    double diversity;
    uint32_t max_per;
    const char *const *values;
} wr_eval_opts;


#define WR_EVAL_BINS 10

typedef struct wr_eval_auc {
    double all, seen;               /* primary set */
    double degree_all, degree_seen; /* degree set (NaN when the file has no such negatives) */
} wr_eval_auc;

typedef struct wr_eval_lists {
    double recall, ndcg, coverage, mean_log_degree;
} wr_eval_lists;

/* Predicted probabilities in [lo, hi) ([0.9, 1] for the last bin): `count` pairs, their
 * weighted mean prediction and weighted share of positives (NaN when empty). */
typedef struct wr_reliability_bin {
    double lo, hi;
    size_t count;
    double mean_predicted, observed;
} wr_reliability_bin;

void eval_default_opts(wr_eval_opts *o);
/* How many sampled queries cost about `comparisons` item comparisons over n items, within
 * [lo, hi]: ranking every item for each query grows with the catalogue, so the samples that
 * only judge (the rank choice, the gate's recall) shrink as it grows. */
size_t eval_query_budget(size_t n, double comparisons, size_t lo, size_t hi);

typedef struct wr_eval_result {
    double auc_all, auc_seen;
    double recall_at_k, ndcg_at_k;
    double ils, attr_entropy; /* the lists' mean intra-list similarity and attribute entropy
                                 (bits; NaN without opts group), diverse.h */
    size_t pairs_seen, pairs_unseen, queries;
    size_t query_items;   /* items that could be queries (queries is all of them or a sample) */
    double *scores;       /* per validation pair, median filled in for unseen (owned) */
    uint8_t *seen;        /* per validation pair (owned) */
    uint32_t *query_rows; /* the sampled queries (model rows, ascending), `queries` of them (owned) */
    double *query_recall; /* recall@k of the model's list for each of them (owned) */

    int primary;          /* WR_NEG_UNIFORM or WR_NEG_DEGREE: the negatives of auc_all/seen */
    int unseen;           /* the opts' rule for pairs with an item the model lacks */
    size_t positives, negatives_uniform, negatives_degree;
    double deg_auc_all, deg_auc_seen;      /* the cosine on the degree set */
    double coverage_at_k, mean_log_degree; /* the model's lists */
    double catalogue_log_degree;
    int rank;                              /* how the model's lists were ranked (resolved) */

    int has_popularity;                    /* o->train was given */
    wr_eval_auc popularity;
    wr_eval_lists popularity_lists;
    double *popularity_scores;             /* per validation pair (owned), NULL without */

    int has_probability;                   /* the model carries a calibration */
    wr_calib calib;                        /* (owned) */
    wr_eval_auc probability;
    double brier, brier_constant;
    double ece;                            /* expected calibration error over the seen pairs
                                              (those the daemon can answer): the bins'
                                              weighted mean |observed - mean predicted| */
    double ece_all;                        /* the same over all pairs, an unseen item's
                                              probability imputed as calib.h says */
    size_t brier_pairs;
    wr_reliability_bin reliability[WR_EVAL_BINS];
    double *probabilities;                 /* per validation pair (owned) */
} wr_eval_result;

int eval_model(const wr_model *m, const wr_labeled *v, const wr_eval_opts *o,
               wr_eval_result *r, wr_err *err);
void eval_result_free(wr_eval_result *r);

#endif
