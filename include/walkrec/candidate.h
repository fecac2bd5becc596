/* candidate.h - training a candidate generation in the trainer process, and what the gate
 * needs to judge it.
 *
 * walkrecd's trainer thread (retrain.c) hands a job to candidate_train, which runs it in a
 * trainer process (trainproc.h): gather the pairs (the pairs file or the built-in
 * catalogue, and the pair log up to the position the daemon saw on disk), hold out the
 * validation pairs (split_stable: the same pairs whatever else the data holds), train on
 * the rest with the pipeline (pipeline.h) from the daemon's settings (warm-started from the
 * live model's file when retrain_mode is warm), evaluate the candidate and the live model on
 * the validation pairs (the gate's numbers), and write the candidate with its side file:
 * to the model path when it passes the gate, else to the candidate path. A submitted model
 * (vectors trained elsewhere: gensim, Spark, PyTorch-BigGraph, through walkrec import) takes
 * the training's place and is judged the same way. Nothing of it runs
 * in the daemon but the reading of the result; how much the lists would change (churn.h)
 * the daemon measures itself, between the published index and the candidate's. */
#ifndef WALKREC_CANDIDATE_H
#define WALKREC_CANDIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/config.h"
#include "walkrec/index.h"
#include "walkrec/trainproc.h"
#include "walkrec/util.h"
#include "walkrec/wal.h"

typedef struct wr_candidate_job {
    const wr_config *cfg;
    int gate;               /* 0: the first model (no live one, nothing to compare with) */
    wr_wal *wal;            /* the pair log (NULL: none); read by path up to its durable end */
    const char *live_path;  /* "" when there is no live model */
    const char *model_path, *cand_path; /* where a passing / refused candidate goes */
    const char *submitted;  /* a model file trained elsewhere (walkrec import) to be gated
                               instead of training one; NULL: train */
} wr_candidate_job;

/* The stages of a run, timed (wr_candidate.seconds; the daemon adds the publication). */
enum { WR_STAGE_GATHER, WR_STAGE_TRAINING, WR_STAGE_CALIBRATION, WR_STAGE_GATE,
       WR_STAGE_LISTS, WR_STAGE_WRITE, WR_STAGE_PUBLISH, WR_STAGES };

/* What a run found (plain data, copied through the pipe). */
typedef struct wr_candidate {
    int32_t pass;
    uint32_t items, dim;
    uint64_t train_pairs, val_pairs;
    double train_seconds, cand_auc_all, cand_auc_seen, cand_recall;
    double live_auc_all, live_auc_seen, live_recall; /* NaN without a live model */
    char start[16];         /* "warm" or "scratch" */
    double seconds[WR_STAGES];
    double lists_recall;    /* of approximate lists (NaN for exact ones) */
} wr_candidate;

/* Runs the job in a trainer process and waits for it (the calling thread: walkrecd's
 * trainer). *res gets what it found. On failure (err: the job's error, or how the process
 * died) the files it may have left are removed. States reach on_state as trainproc.h says. */
int candidate_train(const wr_candidate_job *job, void (*on_state)(int state, void *ctx),
                    wr_candidate *res, wr_err *err);

/* The state a job reports while it trains, evaluates and builds lists (trainproc_state). */
enum { WR_CANDIDATE_TRAINING = 3, WR_CANDIDATE_EVALUATING = 4, WR_CANDIDATE_INDEXING = 5 };

/* The index options of the settings (index_k, exact_index_max_items, ann_*, rank,
 * index_threads, items_file). */
void candidate_index_opts(const wr_config *cfg, wr_index_opts *o);

/* Builds the lists the settings ask for into the generation file at path and writes it
 * back (atomically), in a trainer process: for a generation without them (written before
 * lists were stored, imported, or with other settings). */
int candidate_index(const wr_config *cfg, const char *path,
                    void (*on_state)(int state, void *ctx), wr_err *err);

#endif
