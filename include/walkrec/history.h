/* history.h - the gate's decisions, kept across restarts.
 *
 * <data_dir>/runs.jsonl holds one JSON object per line: the report of every retraining run
 * (retrain.c's last_run: trigger, decision, both models' numbers, stage times), appended
 * and fsynced when the run ends. At start the last `keep` are read back, so the status and
 * the dashboard show the decisions made before a restart; a line that does not parse (the
 * tail of a crash mid-append) is skipped. When the file holds 4 x keep lines it is
 * rewritten (atomically, file.h) with the newest keep. One trainer per data directory
 * writes it; the functions are thread-safe. */
#ifndef WALKREC_HISTORY_H
#define WALKREC_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "walkrec/candidate.h"
#include "walkrec/churn.h"
#include "walkrec/util.h"

#define WR_HISTORY_FILE "runs.jsonl"

/* What a run found. */
typedef struct wr_run {
    uint64_t generation, live_generation;
    char trigger[32], mode[16], decision[16], reason[WR_ERR_MAX + 128];
    double started, seconds, gate_max_auc_drop, gate_max_churn;
    wr_churn churn; /* the candidate's lists against the live ones (NaN: not measured: no
                       live model, or refused on its AUC) */
    wr_candidate c; /* the trainer process's numbers (NaN: not measured) */
} wr_run;

/* Reads dir/runs.jsonl (missing: empty). Errors only when it exists and cannot be read. */
int history_open(const char *dir, size_t keep, wr_err *err);
void history_close(void);
/* Appends a run's report and logs its stage times; kept in memory also when writing fails
 * (the error). */
int history_add(const wr_run *run, wr_err *err);
/* The kept runs, oldest first (a new array), and the newest (a new reference, or NULL). */
json_t *history_json(void);
json_t *history_last(void);

#endif
