/* pipeline.h - the one training pipeline: pairs -> model, for `walkrec train` and walkrecd.
 *
 * The stages, in order:
 *   1. calibration slice  a share of the pairs held out (calib_prepare) to fit the pair
 *                         probability on pairs the trainer never saw (word2vec models only)
 *   2. edge weighting     the rest re-weighted (edgeweight.h) before the graph is built;
 *                         with edge_weight auto, sgns and cbow with a slice train with lift
 *                         and with raw and keep the model whose cosine ranks the slice
 *                         better (AUC against uniform negatives): twice the training time;
 *                         a warm start keeps the warm model's scheme. The choice and both
 *                         AUCs go into the metadata ("edge_weight_choice")
 *   3. training           the chosen trainer: sgns or cbow on random walks (train.h), with
 *                         side information (eges.h), or a matrix factorisation (mf.h)
 *   4. calibration fit    the probability's coefficients on the slice (calib_finish)
 *   5. rank choice        recall@10 of the slice's pairs by cosine against by probability
 *                         (eval.h); the lists' default order is recorded in the model
 *   6. metadata           algo, score, edge weighting, seed and threads, the time of every
 *                         stage, the start (warm or scratch)
 * Whoever calls it, the model carries the same metadata keys for the same settings.
 *
 * Options: all-zero means defaults throughout (the numbers in the comments). Every random
 * choice flows from run.seed; with run.threads 1 a run is repeatable bit for bit.
 * Any thread; the pipeline touches nothing shared but progress.h's display. */
#ifndef WALKREC_PIPELINE_H
#define WALKREC_PIPELINE_H

#include <stdint.h>

#include "walkrec/calib.h"
#include "walkrec/edgeweight.h"
#include "walkrec/eval.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/train.h"

typedef enum wr_algo {
    WR_ALGO_SGNS = 0, /* skip-gram with negative sampling on random walks (the default) */
    WR_ALGO_CBOW,     /* CBOW on the same walks */
    WR_ALGO_MF,       /* matrix factorisation of the pairs (mf.h) */
    WR_ALGO_MF_SEQ,   /* the same on the walks' (centre, context) pairs */
} wr_algo;

/* "sgns", "cbow", "mf", "mf-seq" -> WR_ALGO_*, or -1. */
int pipeline_algo_parse(const char *name);
const char *pipeline_algo_name(wr_algo a);

/* What every stage reads: the seed of every random choice and the threads it may use. */
typedef struct wr_run {
    uint64_t seed; /* 0 = 1 */
    int threads;   /* <= 0: every core */
} wr_run;

typedef struct wr_pipeline_opts {
    wr_run run;
    wr_algo algo;
    int edge_weight;      /* WR_EW_*; WR_EW_AUTO (0): chosen on the slice (stage 2), mf raw */
    double calibration;   /* share held out for the probability: 0 = the algorithm's (0.05
                             for sgns and cbow; mf has a score of its own), < 0 = none */
    double positive_rate; /* the share of related pairs the probability assumes (calib.h's
                             prior correction): 0 = 0.5, the balanced population */
    /* the walks (sgns, cbow, mf-seq) */
    uint32_t walks_per_item, walk_length; /* 10, 10 */
    double p, q;                          /* node2vec's return and in-out parameters: 1, 1 */
    /* the trainer */
    uint32_t dim, window, negative, epochs; /* 128, 5, 5, 5 */
    double subsample;     /* sgns, cbow: 1e-3; < 0 = keep every token */
    double lr, min_lr;    /* 0.025 and 0.0001 (mf: by optimizer, mf_lr, and 0); min_lr < 0 = 0 */
    int lr_schedule;      /* sgns, cbow: WR_LR_LINEAR (0) or WR_LR_COSINE */
    int bias, labels;     /* mf: item biases (mf.h), WR_MF_BINARY (0) or WR_MF_CONTINUOUS */
    double l2;            /* mf: 1e-6; < 0 = none */
    int optimizer, init;  /* mf: WR_MF_AUTO (Adam; mf-seq SGD), WR_MF_INIT_SMALL (mf.h) */
    const char *side_info, *side_columns; /* sgns with side information (eges.h): items file */
    /* a warm start: the vectors of `warm` for the ids it has (random ones for the rest),
     * trained for warm_epochs (2) instead of epochs. Needs the same dim, else the run starts
     * from scratch and says so (result.start). sgns and cbow only. */
    const wr_model *warm;
    uint32_t warm_epochs;
    int untrained;        /* random vectors and no training at all (tests of the gate) */
    /* observing */
    const wr_labeled *val;  /* learning curve against these pairs (train.h) */
    uint32_t eval_every;    /* points per run with val: 10 */
    void (*on_point)(double progress, uint32_t epoch, double auc_all, double auc_seen,
                     void *ctx);
    void *point_ctx;
    /* called as each stage begins ("calibration slice", "edge weighting choice",
     * "training", "calibration fit", "rank choice"), from the calling thread */
    void (*on_stage)(const char *stage, void *ctx);
    void *stage_ctx;
    const char *walks_out;  /* write the walks here (sgns, cbow) */
    int keep_context;       /* keep skip-gram's output vectors in the model (sgns, cbow) */
    double load_seconds;    /* the caller's time reading the pairs, recorded as times.load */
} wr_pipeline_opts;

typedef struct wr_pipeline_result {
    const char *algo, *edge_weight; /* names (static strings); edge_weight NULL for corpora */
    const char *start;              /* "scratch" or "warm" */
    wr_train_times times;           /* graph, walks, train, ... (train.h) */
    double calibration_seconds;     /* slice, fit and rank choice together */
    int calibrated;
    /* with calibrated: the fit and the rank decision (calib.h; center not kept) */
    size_t calib_positives;
    double brier, brier_constant;
    int rank;                       /* WR_RANK_*: the lists' default order */
    size_t rank_queries;
    double rank_recall_cosine, rank_recall_probability;
    /* the edge weighting choice (stage 2): made, the slice's cosine AUC of the lift and the
     * raw model, the seconds of both trainings */
    int ew_chosen;
    double ew_auc[WR_EW_CHOICES];
    double ew_seconds;
    char warning[WR_ERR_MAX];       /* "" or what the run did differently from what was
                                       asked (no calibration, a scratch start) */
} wr_pipeline_result;

/* Trains on a merged pair set p (not changed). Returns a new model (model_free) with its
 * metadata, and fills *res (may be NULL); NULL with err set on bad options or input (an
 * unknown algorithm, options of another algorithm, no pairs). */
wr_model *pipeline_train(const wr_pairs *p, const wr_pipeline_opts *o, wr_pipeline_result *res,
                         wr_err *err);
/* The edge weighting m's training used (its metadata's "edge_weight"), WR_EW_AUTO when it
 * names none: what a daemon's retrain keeps unless told otherwise. */
int pipeline_model_edge_weight(const wr_model *m);
/* The same on given sequences whose tokens index ids (sgns or cbow, no calibration). */
wr_model *pipeline_train_corpus(const wr_corpus *c, const wr_dict *ids, const wr_pipeline_opts *o,
                                wr_pipeline_result *res, wr_err *err);

#endif
