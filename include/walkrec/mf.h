/* mf.h - matrix-factorisation baselines: one embedding table, pairs scored by dot product.
 *
 * The posts' first two baselines and their seventh implementation:
 *   mf         every training pair in both directions (a, b) is a positive; each comes with
 *              `negative` pairs (a, x), x drawn in proportion to its frequency in training
 *   mf --bias  the same with one bias per item and a global bias:
 *              score(a, b) = v_a . v_b + b_a + b_b + g
 *   mf-seq     the same factorisation on the (centre, context) pairs of random walks over
 *              the pair graph, with word2vec's reduced window, instead of the pairs
 * Labels: binary (sigmoid of the score, binary cross-entropy; sigmoid(score) is the
 * probability that a pair is related) or continuous (the pair's summed weight over the
 * mean weight, "target_scale" in the metadata, is the target of the score itself, squared
 * error; pairs only). Every term of the loss carries
 * L2 regularisation l2/2 (|v_left|^2 + |v_right|^2 + b_left^2 + b_right^2). Plain SGD,
 * pair after pair, the learning rate cosine-annealed from lr to min_lr over each epoch.
 * Hogwild threads over contiguous slices of each epoch; with one thread a run is a
 * function of the input and the options.
 *
 * The model: vectors in VECS, the item biases in BIAS (with bias only; they are the
 * learned biases, not the log degrees of a calibration), and in the metadata
 *   "algo": "mf" | "mf-seq", "score": "dot" | "dot+bias", "labels": "binary" |
 *   "continuous", "global_bias": g (with bias), "target_scale": s (continuous),
 *   "trainer": {...}, "times": {...},
 *   "learning_curve": [{progress, epoch, auc_all, auc_seen}, ...] (with val)
 * eval_model reads "score" and ranks and scores such a model by it (eval.c). */
#ifndef WALKREC_MF_H
#define WALKREC_MF_H

#include <stdint.h>

#include "walkrec/alias.h"
#include "walkrec/eval.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/sgns.h"
#include "walkrec/train.h"
#include "walkrec/walk.h"

enum { WR_MF_PAIRS = 0, WR_MF_WALKS = 1 };
enum { WR_MF_BINARY = 0, WR_MF_CONTINUOUS = 1 };

#define WR_MF_MAX_NEGATIVE 63

typedef struct wr_mf_opts {
    int source;         /* WR_MF_PAIRS (mf) or WR_MF_WALKS (mf-seq) */
    int bias;           /* 0: score = dot; 1: dot + item biases + global bias */
    int labels;         /* WR_MF_BINARY (default) or WR_MF_CONTINUOUS (pairs only) */
    uint32_t dim;       /* 128 */
    uint32_t negative;  /* 5 (0..WR_MF_MAX_NEGATIVE) */
    uint32_t epochs;    /* 5 */
    double lr, min_lr;  /* 0.01, 0 */
    double l2;          /* 1e-6 */
    uint32_t window;    /* mf-seq: 5 (1..WR_SGNS_MAX_WINDOW) */
    wr_walk_opts walk;  /* mf-seq: the walks (defaults as train_default_opts) */
    int threads;        /* <= 0: one per CPU */
    uint64_t seed;      /* 1 */
    const wr_labeled *val; /* optional learning curve, as train.h */
    uint32_t eval_every;   /* evaluations per run with val (default 10) */
    void (*on_point)(double progress, uint32_t epoch, double auc_all, double auc_seen,
                     void *ctx);
    void *point_ctx;
} wr_mf_opts;

void mf_default_opts(wr_mf_opts *o);
/* "mf" or "mf-seq". */
const char *mf_algo_name(const wr_mf_opts *o);

/* Trains on a merged pair set (with labels continuous, its weights are the targets). The
 * model has a row for every id of p; ids without pairs keep a zero row. t (may be NULL)
 * gets the times; t->tokens counts the training units of one epoch (directed pairs for mf,
 * walk tokens for mf-seq) and t->sequences the walks (0 for mf). Returns NULL with err set
 * on bad options or input. */
wr_model *mf_train(const wr_pairs *p, const wr_mf_opts *o, wr_train_times *t, wr_err *err);

/* The negative sampler of mf into s (release with alias_free()): item i drawn with
 * probability proportional to the number of pairs of p it is in (its degree). -1 with err
 * set when p has no pair. */
int mf_sampler_build(wr_alias *s, const wr_pairs *p, wr_err *err);

#endif
