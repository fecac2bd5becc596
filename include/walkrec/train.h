/* train.h - the whole training pipeline: pairs -> graph -> walks -> word2vec -> model. */
#ifndef WALKREC_TRAIN_H
#define WALKREC_TRAIN_H

#include <jansson.h>

#include "walkrec/eval.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/sgns.h"
#include "walkrec/walk.h"

typedef struct wr_train_opts {
    wr_walk_opts walk;
    wr_sgns_opts sgns;      /* sgns.on_eval, eval_ctx and evals are set by the pipeline */
    const wr_labeled *val;  /* optional learning curve */
    uint32_t eval_every;    /* evaluations per run when val is set (default 10) */
    /* Called after each learning-curve point (NULL = none). */
    void (*on_point)(double progress, uint32_t epoch, double auc_all, double auc_seen,
                     void *ctx);
    void *point_ctx;
    const char *walks_out;  /* optional: write the walks here, one per line, ids space-separated */
} wr_train_opts;

void train_default_opts(wr_train_opts *o);

/* One point of a trainer's learning curve: the AUC (only: ranking every item would dominate
 * training time) of the model view m on val, appended to points as {progress, epoch,
 * auc_all, auc_seen} and handed to on_point (may be NULL). -1 with err set when the
 * evaluation fails. Every trainer (sgns, mf, eges) records its curve this way. */
int train_curve_point(const wr_model *m, const wr_labeled *val, int threads, double progress,
                      uint32_t epoch, json_t *points,
                      void (*on_point)(double, uint32_t, double, double, void *), void *ctx,
                      wr_err *err);

typedef struct wr_train_times {
    double graph, walks, train; /* seconds; train leaves out the learning-curve evaluations */
    double write_walks, eval;   /* seconds writing walks_out, evaluating the learning curve */
    uint64_t sequences, tokens; /* the corpus (tokens of one epoch) */
} wr_train_times;

/* Trains on a merged pair set; the model carries ids, vectors and metadata (parameters,
 * timings, token counts, learning curve). t may be NULL. */
wr_model *train_pairs(const wr_pairs *p, const wr_train_opts *o, wr_train_times *t, wr_err *err);
/* Trains on a corpus of sequences whose tokens index ids. */
wr_model *train_corpus(const wr_corpus *c, const wr_dict *ids, const wr_train_opts *o,
                       wr_train_times *t, wr_err *err);

#endif
