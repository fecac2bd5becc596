/* calib.h - a calibrated probability that two items are related.
 *
 * A cosine ranks pairs but is no probability, and it is blind to popularity, which on basket
 * and co-view data alone tells held-out pairs from random ones better than most embeddings
 * do. A five-coefficient logistic model joins the two:
 *
 *   P(related | a, b) = 1 / (1 + exp(-(A (w0 + w1 c + w2 s + w3 d + w4 h) + B + log(pi/(1-pi)))))
 *   c = cosine of the two vectors,
 *   la = log1p(weighted training degree of a): the sum of its training pairs' weights
 *        before any edge re-weighting (co-occurrence counts on basket data, the degree on
 *        an unweighted graph),
 *   s = la + lb   (popularity, so the model can never know less than a best-seller list),
 *   d = |la - lb| (a best-seller paired with a niche item is a different case from two
 *                  equals: co-purchase graphs pair hubs with leaves),
 *   h = ha * hb   with ha = cosine of a's vector to the centre, the normalised mean of all
 *                 unit vectors. Random-walk embeddings share a common direction (random
 *                 pairs have cosines around 0.35 on the SNAP prefix), and items close to it
 *                 have high cosines with everything: h is the part of c that any two such
 *                 "hub" items share without being related.
 *
 * Chosen in a prototype (scikit-learn on walkrec vectors of the five shared data sets, three
 * seeds, each feature set fitted on the held-out slice and scored on `walkrec split --seed 42
 * --negatives both` validation pairs; AUC with uniform negatives above the better of cosine
 * and popularity): the first model, with the plain degree and no h, gained from +0.0058
 * (SNAP prefix) to +0.0137 (online-retail); h took the SNAP prefix to +0.0190 and the Amazon
 * sets from about +0.010 to about +0.015; the weighted degree took groceries from +0.0092 to
 * +0.0215, because a basket set's co-occurrence counts say more than its number of partners
 * (169 items, two thirds of all pairs present). Richer terms (c*s, c^2, la*lb, splines in c,
 * s and d, gradient-boosted trees) gained nothing consistent out of sample. The vector norm
 * and the mean cosine of an item's ten nearest neighbours carry signal too, but the daemon
 * keeps unit vectors and no lists of the whole catalogue, so they stay out.
 *
 * The coefficients are fitted by weighted maximum likelihood on pairs the trainer never saw:
 * a slice of the training pairs (label 1) and as many negatives of each kind (split.h) drawn
 * from the rest, the uniform ones weighted 3/4, the degree-matched 1/4. So the probability is
 * that of a balanced population, one related pair per unrelated one, the unrelated drawn
 * three times in four from the whole catalogue (what a neighbour list ranks) and once in
 * four in proportion to popularity (so that popularity alone does not pass for relatedness).
 * A and B then rescale that logit to the population of `walkrec split`'s validation pairs,
 * one related pair per uniform non-edge (calib_fit_scale), and pi, the stated share of
 * related pairs (0.5 unless a deployment says otherwise), shifts its odds.
 *
 * Neighbour lists: after the fit, the pipeline (pipeline.h) ranks the slice's held-out pairs for up to
 * 2000 of their items (fewer above 100,000 items: WR_CALIB_RANK_COMPARISONS) both by
 * cosine and by probability (eval.h's recall@10, training
 * neighbours left out) and records the probability unless the cosine found more by over two
 * standard errors of the per-query difference: a slice of a hundred pairs is noisy (on the
 * SNAP prefix, 143 once favoured the cosine by 0.011, which then lost on the validation
 * pairs). `walkrec eval`, `walkrec neighbors` and the daemon rank by the recorded order
 * unless told otherwise (WR_RANK_AUTO). The probability was kept on every shared data set;
 * cosine is the answer for a model whose calibration clearly ranks worse.
 *
 * In the model: la of every row in the bias section, and in the metadata JSON
 * "calibration": {"features": ["1", "cos", "logpop_sum", "logpop_absdiff", "hub_product"],
 * "coef": [w0..w4], "cos_mean": c0, "hub_product_mean": h0, "center": [dim numbers],
 * "bias": "log1p_weighted_degree", "fit": {...}, "ranking": {"best": "probability" |
 * "cosine", "queries": n, "recall_at_10": {"cosine": x, "probability": y}}, "scale": {"a": A,
 * "b": B, "pairs": n, "negatives": "uniform"}, "positive_rate": pi}. Models without "scale"
 * and "positive_rate" load with A 1, B 0, pi 0.5. Models written
 * before h ("features": ["1", "cos", "logdeg_sum", "logdeg_absdiff"], "bias":
 * "log1p_degree", no "ranking") still load: their w4 is 0 and their lists rank by
 * probability.
 *
 * A pair with an item the model has no vector for still gets a probability: that item's log
 * degree is 0 (it had no training pairs) and c and h, unknown, are replaced by their means
 * over the fitting pairs, c0 and h0 (the usual mean imputation of a missing covariate). */
#ifndef WALKREC_CALIB_H
#define WALKREC_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/knn.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/rank.h"
#include "walkrec/split.h"
#include "walkrec/util.h"

#define WR_CALIB_NFEAT 5
#define WR_CALIB_UNIFORM_WEIGHT 0.75 /* the degree-matched negatives get the rest */
#define WR_CALIB_RANK_QUERIES 2000   /* slice items whose lists decide the ranking, at most: */
#define WR_CALIB_RANK_COMPARISONS 2e8 /* fewer above 100,000 items (500 at the least), so that
                                        the choice costs ~2e8 comparisons per order */

typedef struct wr_calib {
    double coef[WR_CALIB_NFEAT];
    /* the probability's scale (Platt): logit = scale_a (coef . x) + scale_b + log(prior odds);
     * scale_a 0 (a zeroed struct, models from before the scale) stands for 1 */
    double scale_a, scale_b;
    double positive_rate; /* the stated base rate of related pairs (0.5: the balanced
                             population the scale was fitted on); its odds shift the logit */
    size_t scale_pairs;   /* slice pairs the scale was fitted on */
    /* weighted means over the fitting pairs of c and h: what a pair with an item that has
     * no vector (and log degree 0) is given */
    double cos_mean, hub_mean;
    int rank;         /* WR_RANK_COSINE or WR_RANK_PROBABILITY (eval.h): the lists' order */
    uint32_t dim, n;  /* of center and hub */
    float *center;    /* dim: the unit mean direction, NULL when w4 is 0 (owned) */
    float *hub;       /* n: cosine of every model row to center, filled by calib_load; NULL
                         when there is no center (owned) */
    /* the fit: pairs used, weighted Brier score and that of the best constant (0.25) */
    size_t positives, uniform, degree;
    double brier, brier_constant;
    int iterations;
    /* the ranking decision: slice queries and recall@10 of either order (NaN when unknown) */
    size_t rank_queries;
    double rank_recall_cosine, rank_recall_probability;
} wr_calib;

/* The feature vector of a pair (x[0] = 1) from its cosine, the two log degrees and the
 * product of the two items' cosines to the centre. */
void calib_features(double cos, double la, double lb, double hub_ab, double x[WR_CALIB_NFEAT]);
double calib_logit(const wr_calib *c, double cos, double la, double lb, double hub_ab);
double calib_prob(const wr_calib *c, double cos, double la, double lb, double hub_ab);
/* calib_logit split by feature: terms[j] = A w_j x_j, terms[0] also holding B and the prior
 * shift; they sum to calib_logit (up to rounding). */
void calib_terms(const wr_calib *c, double cos, double la, double lb, double hub_ab,
                 double terms[WR_CALIB_NFEAT]);
/* The probability of model rows a and b of the model c was loaded from, given their cosine
 * and the log degrees of every row (the model's bias section). */
double calib_prob_rows(const wr_calib *c, double cos, const float *logdeg, uint32_t a,
                       uint32_t b);
/* Row r's cosine to the centre (its hub term), 0 when the calibration has none. */
double calib_hub(const wr_calib *c, uint32_t r);
/* Frees center and hub (c itself is the caller's). */
void calib_free(wr_calib *c);

/* Weighted logistic regression by Newton's method: n rows of WR_CALIB_NFEAT features x,
 * labels y (nonzero = 1), weights w > 0. A ridge of 1e-6 x the total weight on every
 * coefficient but the intercept keeps separable (or constant) features finite. Fills coef,
 * cos_mean and hub_mean (weighted means of features 1 and 4), iterations, brier and
 * brier_constant (weighted; the constant is the weighted base rate), and sets no scale
 * (a 1, b 0) and the positive rate 0.5; nothing else. An error
 * when a class is empty or the weights are not positive. */
int calib_fit(wr_calib *c, const double *x, const uint8_t *y, const double *w, size_t n,
              wr_err *err);

/* Platt scaling: y ~ sigmoid(a z + b) by weighted maximum likelihood (Newton on two
 * parameters; a ridge of 1e-6 x the total weight keeps separable data finite). Leaves a = 1,
 * b = 0 when the fit fails or would reverse the order (a <= 0). calib_finish fits the
 * logit of the logistic model this way on the slice's related pairs and uniform negatives,
 * each class weighing the same: `walkrec split`'s validation population, one related pair
 * per uniform non-edge. The logistic model itself is fitted on the 3:1 mix above, which
 * keeps popularity from passing for relatedness in the lists' order but leaves its
 * probability under-confident on that population; the monotone rescaling gives the
 * probability its meaning back without changing any order (docs/evaluation.md#calibration).
 * A stated positive rate pi then adds log(pi / (1 - pi)) to the logit: Bayes' rule for a
 * population with pi related pairs in place of 1/2. */
void calib_fit_scale(const double *z, const uint8_t *y, const double *w, size_t n, double *a,
                     double *b);

/* What the trainer needs to produce a calibrated model (see calib_prepare). */
typedef struct wr_calib_data {
    wr_pairs train;  /* the pairs the trainer gets: the input minus the slice */
    wr_valset held;  /* the slice (label 1), uniform and degree negatives (indices of train.ids) */
    double *weight;  /* weighted degree of every id in `train`, before any re-weighting */
    double positive_rate; /* the stated base rate (calib_finish; 0 = 0.5) */
} wr_calib_data;

/* Holds out round(frac * p->n) random pairs of p (frac in (0, 1), seeded) with as many
 * negatives of each kind (split_pairs with WR_NEG_BOTH), then gives back to the trainer
 * every held-out pair with an item that would have no pair left: the model must not carry
 * untrained items, and eval only ever sees pairs of trained items. Negatives naming an item
 * without pairs are dropped. */
int calib_prepare(const wr_pairs *p, double frac, uint64_t seed, wr_calib_data *cd,
                  wr_err *err);
/* Fits the calibration on the held-out pairs with the trained model's vectors and stores it
 * in the model (calib_store with cd->weight), with the lists' order left at probability:
 * pipeline.c then decides the order (recall@10 on the slice by cosine against by
 * probability, cosine only when it wins by over two standard errors, above) and stores
 * again. The model's ids must be cd->train's (any order; ids missing from the model are left
 * out). c, when not NULL, gets what was stored, center included (calib_free it; its hub stays
 * NULL). */
int calib_finish(wr_model *m, const wr_calib_data *cd, wr_calib *c, wr_err *err);
void calib_data_free(wr_calib_data *cd);

/* Writes the calibration into the model's metadata (c->center, dim m->dim, may be NULL when
 * coef[4] is 0) and log1p(weight) of every row into its bias section; weight is indexed by
 * the ids of `ids` (rows whose id is not there get 0). */
void calib_store(wr_model *m, const wr_calib *c, const wr_dict *ids, const double *weight);
/* Reads the calibration of a model and computes every row's cosine to the centre: 1 when
 * present, 0 when the model has none (also for meta_json NULL), -1 when it is malformed
 * (unknown features, bad coefficients or centre, no bias section). c needs calib_free after
 * 1 only. */
int calib_load(const wr_model *m, wr_calib *c, wr_err *err);

/* Neighbour lists by probability: for each query (a model row), the k model rows with the
 * highest calib_logit against it, best first (equal logits: lower row first), padded with
 * item UINT32_MAX, score -INFINITY; the score is the logit. base = model_normalized(m); m
 * must carry the log degrees and c be loaded from a model with m's rows (calib_load; or
 * have coef[4] 0). exclude as in knn_topk (the query row itself is not left out unless
 * exclude says so). Blocked sgemm like knn_topk (OpenBLAS set to one thread, process-wide)
 * on `threads` threads, then a scan of the logits that keeps a sorted array per query: O(k)
 * per candidate that enters, fine for the usual small k. */
void calib_topk(const wr_model *m, const float *base, const wr_calib *c, const uint32_t *query,
                size_t nq, size_t k, wr_knn_exclude exclude, void *ctx, int threads,
                wr_hit *out);

#endif
