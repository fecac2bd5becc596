/* report.h - the evaluation report: one self-contained HTML file of inline SVG figures and
 * the numbers of `walkrec eval --json`, for one model or several overlaid.
 *
 * What the figures show (every model on the same validation pairs):
 *   ROC          the cosine over the positives and the primary negatives (eval.h), all pairs
 *                (an unseen pair scores the median of the set's seen pairs, as for auc_all)
 *                and seen pairs; the same two on the degree-matched negatives when the file
 *                has them; the popularity baseline of the first model when it has one. The
 *                legends give the AUCs of the evaluation.
 *   threshold    precision and recall of "score >= t" against t, all pairs and seen pairs,
 *                on the primary set only (precision depends on the mix of negatives, and
 *                the primary set is the one of auc_all).
 *   histograms   per model, the cosines of the seen positives and of each kind of seen
 *                negatives, as the share of the class per bin.
 *   learning     AUC all and seen recorded while training (`walkrec train --val`, in the
 *                model's metadata "learning_curve") against epochs, epoch boundaries marked.
 *   numbers      per model, every number `walkrec eval --json` prints; each cell carries
 *                data-key (the JSON path, dots between keys and array indices) and
 *                data-value (the value at full precision, "null" where JSON has null).
 * Nothing is fetched: no script, stylesheet, font or image outside the file. */
#ifndef WALKREC_REPORT_H
#define WALKREC_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "walkrec/eval.h"

typedef struct wr_report_model {
    const char *name;          /* its label in legends and headings */
    const wr_model *m;         /* its metadata gives the learning curve */
    const wr_eval_result *r;   /* eval_model of m on the report's pairs */
} wr_report_model;

typedef struct wr_report {
    const char *val_path, *train_path; /* named in the header; train_path may be NULL */
    const wr_labeled *v;
    const wr_eval_opts *o;             /* the options every model was evaluated with */
    const wr_report_model *models;     /* the first is the main model */
    size_t n_models;
} wr_report;

/* Writes the report to f; -1 with err set when writing fails. */
int report_write(FILE *f, const wr_report *rep, wr_err *err);

#endif
