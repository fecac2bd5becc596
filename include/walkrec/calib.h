/* calib.h - a calibrated probability that two items are related.
 *
 * A cosine ranks pairs but is no probability, and it is blind to popularity, which on basket
 * and co-view data alone tells held-out pairs from random ones better than most embeddings
 * do. A four-coefficient logistic model joins the two:
 *
 *   P(related | a, b) = 1 / (1 + exp(-(w0 + w1 c + w2 s + w3 d)))
 *   c = cosine of the two vectors,  la = log1p(training degree of a),
 *   s = la + lb   (the popularity baseline itself, so the model can never know less),
 *   d = |la - lb| (a best-seller paired with a niche item is a different case from two
 *                  equals: co-purchase graphs pair hubs with leaves)
 *
 * Chosen in a prototype (scikit-learn on walkrec vectors of the five shared data sets): d
 * raised the AUC on degree-matched negatives on all five; c*s, s^2 and min/max of the log
 * degrees gained nothing consistent. The coefficients are fitted by weighted maximum likelihood on pairs the
 * trainer never saw: a slice of the training pairs (label 1) and as many negatives of each
 * kind (split.h) drawn from the rest, the uniform ones weighted 3/4, the degree-matched 1/4.
 * So the probability is that of a balanced population, one related pair per unrelated one,
 * the unrelated drawn three times in four from the whole catalogue (what a neighbour list
 * ranks) and once in four in proportion to popularity (so that popularity alone does not
 * pass for relatedness).
 *
 * In the model: log1p(training degree) of every row in the bias section, and in the metadata
 * JSON "calibration": {"features": ["1", "cos", "logdeg_sum", "logdeg_absdiff"],
 * "coef": [w0, w1, w2, w3], "cos_mean": c0, "bias": "log1p_degree", "fit": {...}}.
 *
 * A pair with an item the model has no vector for still gets a probability: that item's log
 * degree is 0 (it had no training pairs) and the unknown cosine is replaced by its mean over
 * the fitting pairs, c0 (the usual mean imputation of a missing covariate). */
#ifndef WALKREC_CALIB_H
#define WALKREC_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/knn.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/split.h"
#include "walkrec/util.h"

#define WR_CALIB_NFEAT 4
#define WR_CALIB_UNIFORM_WEIGHT 0.75 /* the degree-matched negatives get the rest */

typedef struct wr_calib {
    double coef[WR_CALIB_NFEAT];
    /* the weighted mean cosine of the fitting pairs: the cosine assumed for a pair with an
     * item that has no vector (an item without training pairs, whose log degree is 0) */
    double cos_mean;
    /* the fit: pairs used, weighted Brier score and that of the best constant (0.25) */
    size_t positives, uniform, degree;
    double brier, brier_constant;
    int iterations;
} wr_calib;

/* The feature vector of a pair (x[0] = 1). */
void calib_features(double cos, double la, double lb, double x[WR_CALIB_NFEAT]);
double calib_logit(const wr_calib *c, double cos, double la, double lb);
double calib_prob(const wr_calib *c, double cos, double la, double lb);

/* Weighted logistic regression by Newton's method: n rows of WR_CALIB_NFEAT features x,
 * labels y (nonzero = 1), weights w > 0. A ridge of 1e-6 x the total weight on every
 * coefficient but the intercept keeps separable data finite. Fills coef, cos_mean (the
 * weighted mean of feature 1), iterations, brier and brier_constant (weighted; the constant
 * is the weighted base rate). An error when a class is empty or the weights are not
 * positive. */
int calib_fit(wr_calib *c, const double *x, const uint8_t *y, const double *w, size_t n,
              wr_err *err);

/* What the trainer needs to produce a calibrated model (see calib_prepare). */
typedef struct wr_calib_data {
    wr_pairs train;  /* the pairs the trainer gets: the input minus the slice */
    wr_valset held;  /* the slice (label 1), uniform and degree negatives (indices of train.ids) */
    uint32_t *deg;   /* degree of every id in `train`, taken before any re-weighting */
} wr_calib_data;

/* Holds out round(frac * p->n) random pairs of p (frac in (0, 1), seeded) with as many
 * negatives of each kind (split_pairs with WR_NEG_BOTH), then gives back to the trainer
 * every held-out pair with an item that would have no pair left: the model must not carry
 * untrained items, and eval only ever sees pairs of trained items. Negatives naming an item
 * without pairs are dropped. */
int calib_prepare(const wr_pairs *p, double frac, uint64_t seed, wr_calib_data *cd,
                  wr_err *err);
/* Fits the calibration on the held-out pairs with the trained model's cosines and stores
 * it in the model (calib_store with cd->deg). The model's ids must be cd->train's (any
 * order; ids missing from the model are left out of the fit). c may be NULL. */
int calib_finish(wr_model *m, const wr_calib_data *cd, wr_calib *c, wr_err *err);
void calib_data_free(wr_calib_data *cd);

/* Writes the coefficients into the model's metadata and log1p(deg) of every row into its
 * bias section; deg is indexed by the ids of `ids` (rows whose id is not there get 0). */
void calib_store(wr_model *m, const wr_calib *c, const wr_dict *ids, const uint32_t *deg);
/* Reads the calibration of a model: 1 when present, 0 when the model has none (also for
 * meta_json NULL), -1 when it is malformed (unknown features, bad coefficients, no bias
 * section). */
int calib_load(const wr_model *m, wr_calib *c, wr_err *err);

/* Neighbour lists by probability: for each query (a model row), the k model rows with the
 * highest calib_logit against it, best first (equal logits: lower row first), padded with
 * item UINT32_MAX, score -INFINITY; the score is the logit. base = model_normalized(m); m
 * must carry the log degrees (calib_load succeeded). exclude as in knn_topk (the query row
 * itself is not left out unless exclude says so). Blocked sgemm like knn_topk (OpenBLAS set
 * to one thread, process-wide) on `threads` threads, then a scan of the logits that keeps a
 * sorted array per query: O(k) per candidate that enters, fine for the usual small k. */
void calib_topk(const wr_model *m, const float *base, const wr_calib *c, const uint32_t *query,
                size_t nq, size_t k, wr_knn_exclude exclude, void *ctx, int threads,
                wr_hit *out);

#endif
