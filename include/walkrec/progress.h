/* progress.h - progress for long steps on stderr.
 *
 * On a terminal: one line redrawn at most 5 times a second with rate and time left.
 * Otherwise: one summary line when the step ends. Nothing with wr_quiet. Thread-safe:
 * progress_add may be called from any thread. */
#ifndef WALKREC_PROGRESS_H
#define WALKREC_PROGRESS_H

#include <stdint.h>

typedef struct wr_progress {
    const char *what;     /* "walks", "training", ... */
    const char *unit;     /* "steps", "pairs", ... */
    uint64_t total;       /* 0 when unknown */
    uint64_t done;        /* updated atomically */
    double start;
    uint64_t last_draw_ms; /* for rate-limiting redraws across threads */
    int tty;
} wr_progress;

void progress_start(wr_progress *p, const char *what, const char *unit, uint64_t total);
void progress_add(wr_progress *p, uint64_t n);
void progress_set(wr_progress *p, uint64_t done);
/* Prints the summary line; `extra` (may be NULL) is appended, e.g. "loss 0.41". */
void progress_end(wr_progress *p, const char *extra);

/* The step started last and not yet ended, as a copy, for a status report from another
 * thread (walkrecd's /v1/admin/status): 1 when a step is running, else 0. `what` and `unit`
 * must be string literals (they outlive the step). */
typedef struct wr_progress_snap {
    const char *what, *unit;
    uint64_t done, total;
    double start;
} wr_progress_snap;
int progress_snapshot(wr_progress_snap *s);

#endif
