/* mf.h - matrix-factorisation baselines: one embedding table, pairs scored by dot product.
 *
 * The posts' first two baselines and their seventh implementation:
 *   mf         every training pair in both directions (a, b) is a positive; each comes with
 *              `negative` pairs (a, x), x drawn in proportion to its number of training
 *              pairs to the power 0.75 (word2vec's and the posts' unigram^0.75)
 *   mf --bias  the same with one bias per item and a global bias:
 *              score(a, b) = v_a . v_b + b_a + b_b + g
 *   mf-seq     the same factorisation on the (centre, context) pairs of random walks over
 *              the pair graph, with word2vec's reduced window, instead of the pairs;
 *              negatives in proportion to their count in the walks
 * Labels: binary (sigmoid of the score, binary cross-entropy; sigmoid(score) is the
 * probability that a pair is related) or continuous (the pair's summed weight over the
 * mean weight, "target_scale" in the metadata, is the target of the score itself, squared
 * error; pairs only). Every term of the loss carries
 * L2 regularisation l2/2 (|v_left|^2 + |v_right|^2 + b_left^2 + b_right^2). One step per
 * left item and its right items, pair after pair, the learning rate cosine-annealed from
 * lr to min_lr over each epoch (restarting at each epoch, as the posts). The optimiser:
 *   adam     per coordinate, lazily (only the rows a step touches; bias-corrected by the
 *            worker's step count, as PyTorch's SparseAdam); the default for mf, lr 0.0003
 *            (0.0001 with continuous labels)
 *   adagrad  per coordinate (sum of squared gradients), lr 0.01
 *   sgd      plain steps, lr 0.01; the default for mf-seq, whose walks give every item
 *            about a hundred times as many steps per epoch as its pairs do
 * Rows start small (uniform, |v| about 0.1) or, with WR_MF_INIT_NORMAL, N(0, 1) per
 * coordinate with N(0, 1) item biases and a global bias of 1 (PyTorch's nn.Embedding, the
 * posts' models). Adam from N(0, 1) is the posts' recipe, trained as their PyTorch code
 * did: lr 0.01, mini-batches of 128 left items with the mean loss, and L2 l2 |V|^2 over
 * the whole table, so that every row takes an Adam step after every batch (which is what
 * shrinks N(0, 1) rows within an epoch, and what makes the AUC dip when the learning rate
 * restarts); on one thread, since every step touches every row.
 * With held-out pairs (holdout), the training finds the epoch that ranks them best; at
 * mf's defaults (mf_holds_out) the pipeline trains on all the pairs for that many epochs:
 * early stopping (pipeline.h).
 * Measurements: docs/baselines.md. Hogwild threads over contiguous slices of each epoch
 * (hogwild.h); with one thread a run is a function of the input and the options.
 *
 * The model: vectors in VECS, the item biases in BIAS (with bias only; they are the
 * learned biases, not the log degrees of a calibration), and in the metadata
 *   "algo": "mf" | "mf-seq", "score": "dot" | "dot+bias", "labels": "binary" |
 *   "continuous", "global_bias": g (with bias), "target_scale": s (continuous),
 *   "trainer": {...}, "times": {...},
 *   "learning_curve": [{progress, epoch, auc_all, auc_seen}, ...] (with val),
 *   "best_epoch": {"epoch": e, "auc": [one per epoch], "se": [...], "positives": n,
 *   "negatives": n} (bestepoch.h)
 *   (with holdout)
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
/* Optimisers: AUTO (the default) is Adam for mf and SGD for mf-seq (mf_optimizer). */
enum { WR_MF_AUTO = 0, WR_MF_ADAM = 1, WR_MF_ADAGRAD = 2, WR_MF_SGD = 3 };
/* Initial rows: small uniform (the default), or N(0, 1) per coordinate (the posts'). */
enum { WR_MF_INIT_SMALL = 0, WR_MF_INIT_NORMAL = 1 };

#define WR_MF_MAX_NEGATIVE 63

typedef struct wr_mf_opts {
    int source;         /* WR_MF_PAIRS (mf) or WR_MF_WALKS (mf-seq) */
    int bias;           /* 0: score = dot; 1: dot + item biases + global bias */
    int labels;         /* WR_MF_BINARY (default) or WR_MF_CONTINUOUS (pairs only) */
    uint32_t dim;       /* 128 */
    uint32_t negative;  /* 5 (0..WR_MF_MAX_NEGATIVE) */
    uint32_t epochs;    /* 5 */
    int optimizer;      /* WR_MF_AUTO (default), WR_MF_ADAM, WR_MF_ADAGRAD or WR_MF_SGD */
    int init;           /* WR_MF_INIT_SMALL (default) or WR_MF_INIT_NORMAL */
    double lr, min_lr;  /* 0 = by optimizer and init (mf_lr); 0 */
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
    /* optional: pairs held out of the training pairs (label 1; the rest of the rows are
     * ignored), ids as strings: at the end of every epoch their AUC against uniform
     * non-edges of the training pairs is measured and the best epoch chosen (bestepoch.h),
     * "best_epoch" in the metadata. The model is still the last epoch's. */
    const wr_labeled *holdout;
} wr_mf_opts;

void mf_default_opts(wr_mf_opts *o);
/* "mf" or "mf-seq". */
const char *mf_algo_name(const wr_mf_opts *o);
/* "auto", "adam", "adagrad", "sgd" <-> WR_MF_*; parse gives -1 for another name. */
const char *mf_optimizer_name(int optimizer);
int mf_optimizer_parse(const char *name);
/* "small", "normal" <-> WR_MF_INIT_*; parse gives -1 for another name. */
const char *mf_init_name(int init);
int mf_init_parse(const char *name);
/* The optimizer o trains with: o->optimizer, AUTO resolved (Adam for mf, SGD for mf-seq). */
int mf_optimizer(const wr_mf_opts *o);
/* The learning rate o starts each epoch from: o->lr, or when 0 Adam's 0.0003 (0.0001 with
 * continuous labels, 0.01 from WR_MF_INIT_NORMAL: the posts' recipe), AdaGrad's 0.01,
 * SGD's 0.01. */
double mf_lr(const wr_mf_opts *o);
/* 1 when o's training should choose its number of epochs on a held-out slice by default:
 * plain mf (pairs, binary labels, no bias) over more than one epoch, every optimiser but
 * the posts' recipe (Adam from N(0, 1)), which trains as the posts did. The pipeline holds
 * out WR_MF_HOLDOUT of the pairs, trains on the rest with holdout, then on all the pairs
 * for the best epoch's number of epochs (pipeline.h): twice the training. On groceries,
 * nearly a complete graph, mf's AUC falls with every epoch and the first is chosen; on the
 * other shared sets and at the electronics scale it rises to the last. mf --bias and
 * continuous labels choose only when given a slice (--calibration): on the magazines set
 * mf --bias's AUC peaks at epoch 2 while its recall@10 doubles up to epoch 5
 * (docs/baselines.md). */
int mf_holds_out(const wr_mf_opts *o);
#define WR_MF_HOLDOUT 0.1

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
