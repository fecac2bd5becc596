/* train.h - the whole training pipeline: pairs -> graph -> walks -> word2vec -> model. */
#ifndef WALKREC_TRAIN_H
#define WALKREC_TRAIN_H

#include "walkrec/eval.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/sgns.h"
#include "walkrec/walk.h"

typedef struct wr_train_opts {
    wr_walk_opts walk;
    wr_sgns_opts sgns;
    const wr_labeled *val;  /* optional learning curve */
    uint32_t eval_every;    /* evaluations per run when val is set (default 10) */
} wr_train_opts;

void train_default_opts(wr_train_opts *o);

typedef struct wr_train_times {
    double graph, walks, train; /* seconds */
} wr_train_times;

/* Trains on a merged pair set; the model carries ids, vectors and metadata (parameters,
 * timings, learning curve). */
wr_model *train_pairs(const wr_pairs *p, const wr_train_opts *o, wr_train_times *t, wr_err *err);
/* Trains on a corpus of sequences whose tokens index ids. */
wr_model *train_corpus(const wr_corpus *c, const wr_dict *ids, const wr_train_opts *o,
                       wr_train_times *t, wr_err *err);

#endif
