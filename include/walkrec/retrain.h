/* retrain.h - walkrecd's models over time: generations on disk, pair ingestion into the
 * write-ahead log, background retraining behind a quality gate, rollback, and followers.
 *
 * One background thread (the "trainer") owns every change of the published model. At start
 * it publishes the first model (the `model` file; else the generation named by data_dir/
 * CURRENT; else the newest model-<N>.wr; else one trained on the base pairs plus the log);
 * then it waits for a trigger: retrain_min_pairs ingested pairs, retrain_interval seconds
 * with some new pair, an explicit request, a forced publication, SIGHUP (reload). Triggers
 * that arrive during a run merge into the next one.
 *
 * A run gathers the base pairs (the `pairs` file, or the built-in synthetic catalogue) and
 * every pair of the log, holds out the validation pairs (a hash of the two ids and
 * validation_seed picks them, so a pair once held out stays held out as data grows and no
 * model ever trains on it) with as many uniform negatives, trains a candidate on the rest
 * (from scratch, or warm-started from the live vectors), and evaluates candidate and live
 * model on the same pairs: AUC all and seen, recall@10, and overlap@10 of their neighbour
 * lists for a sample of items. The gate publishes the candidate as model-<N>.wr when its AUC
 * is not below the live one's by more than gate_max_auc_drop; otherwise it is kept as
 * candidate-<N>.wr. data_dir/CURRENT names the published generation, so a restart serves
 * it (also after a rollback); the last keep_generations published files are kept.
 *
 * A follower (`follow` = DIR) runs no trainer: it polls DIR/CURRENT (else the newest
 * model file there) and publishes each new generation it finds.
 *
 * Hidden items (hidden.h) are daemon state beside the generations: the trainer reads the
 * log's item records at start, before its first publication; a follower reads the
 * trainer's log at each poll, before it publishes what it found. Every publication (new
 * generation, rollback, reload) makes its hidden view from that set, so hiding survives
 * all of them. */
#ifndef WALKREC_RETRAIN_H
#define WALKREC_RETRAIN_H

#include <jansson.h>
#include <stdint.h>

#include "walkrec/config.h"
#include "walkrec/util.h"
#include "walkrec/wal.h"

/* Opens the log (trainers only; a torn tail is cut and reported) and starts the thread,
 * which publishes the first model. on_fatal runs in that thread when the first model
 * cannot be had (the daemon should stop with status 1). cfg must outlive the module. */
int retrain_start(const wr_config *cfg, void (*on_fatal)(void), wr_err *err);
/* Stops the thread. Returns 1 when it was in the middle of a run and was abandoned (the
 * caller exits without waiting: nothing the run holds needs saving, the log is durable),
 * else 0 after joining it and closing the log. */
int retrain_stop(void);
/* SIGHUP: publish the newest model file again (trainers: the generation CURRENT names). */
void retrain_reload(void);

/* 1 in follower mode (writes are refused). */
int retrain_is_follower(void);

/* Appends a validated batch to the log; returns once it is on disk, with the log position
 * after it and the pairs ingested since the last run began. Then wakes the trainer when a
 * trigger is due. */
int retrain_ingest(const wr_wal_pair *p, size_t n, uint64_t *pos, uint64_t *pending,
                   wr_err *err);
/* Hides, unhides or deletes items, or sets their attributes (WR_WAL_HIDE, _UNHIDE, _DELETE,
 * _ATTRS with data, the JSON text of a change attrs_check took; ids that pass
 * wal_check_id): appends the n item records to the log (wal_append_items), returns once
 * they are on disk and the changes are published, once for all of them
 * (snapshot_publish_hidden). WR_ESTATE on a follower. */
int retrain_items(int kind, const wr_wal_item *it, size_t n, wr_err *err);
/* POST /v1/admin/retrain: a run as soon as the trainer is free. */
void retrain_request(void);
/* POST /v1/admin/publish?generation=N: queue publication of model-N.wr or candidate-N.wr.
 * An error when neither file exists. */
int retrain_force_publish(uint64_t generation, wr_err *err);
/* POST /v1/admin/candidates: a model file trained elsewhere (walkrec import of gensim,
 * Spark or PyTorch-BigGraph vectors), an absolute path on this machine, judged like a
 * retrain's candidate on the same validation pairs (its neighbour lists built, then
 * published or kept aside by the gate) as soon as the trainer is free. An error when the
 * file is not a readable model, or another submission waits. */
int retrain_submit(const char *path, wr_err *err);
/* POST /v1/admin/rollback: publish the generation before the live one. Instant when that
 * index is still in memory (*queued = 0); otherwise the trainer loads and indexes it
 * (*queued = 1). *generation is the generation being rolled back to. */
int retrain_rollback(uint64_t *generation, int *queued, wr_err *err);
/* The trainer's state, progress, last run, last error and generation history. */
json_t *retrain_status(void);

#endif
