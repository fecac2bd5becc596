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
    int keep_context;       /* the model keeps the output (context) vectors (model.h) */
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

/* The "trainer" object of a model's metadata for word2vec options o run on `threads`
 * threads: mode, dim, window, negative, epochs, subsample, lr, min_lr, lr_schedule,
 * threads, seed, kernel, warm_start. A new object; the caller owns it. */
json_t *train_describe(const wr_sgns_opts *o, int threads);

/* What a model's metadata says of a word2vec training on corpus c (train_pairs, eges):
 * sets t->sequences and t->tokens from c, then adds to meta "trainer" (steals `trainer`),
 * "items", "sequences", "tokens", "train" and, with points, "learning_curve" seconds (of
 * t) to its "times" object, "tokens_per_second" over `epochs`, and "learning_curve"
 * (steals `points`; NULL = none). */
void train_record(json_t *meta, json_t *trainer, uint32_t items, uint32_t epochs,
                  const wr_corpus *c, wr_train_times *t, json_t *points);

/* The first two stages of train_pairs, for the trainers that share them (eges.c, mf.c's
 * mf-seq): the graph of p, then walks with o into c (the caller frees them with
 * walk_corpus_free(); c is left empty on error), their seconds in t->graph and t->walks.
 * Returns a new JSON object (the caller owns it) with what a model's metadata says of these
 * stages: "source": "pairs", "walks": {walks_per_item, length, p, q, seed}, "pairs": the
 * number of pairs, and "times": {graph, walks}; NULL with err set on failure. */
json_t *train_prepare(const wr_pairs *p, const wr_walk_opts *o, wr_corpus *c, wr_train_times *t,
                      wr_err *err);

/* Trains on a merged pair set; the model carries ids, vectors and metadata (parameters,
 * timings, token counts, learning curve). t may be NULL. */
wr_model *train_pairs(const wr_pairs *p, const wr_train_opts *o, wr_train_times *t, wr_err *err);
/* Trains on a corpus of sequences whose tokens index ids. */
wr_model *train_corpus(const wr_corpus *c, const wr_dict *ids, const wr_train_opts *o,
                       wr_train_times *t, wr_err *err);

#endif
