/* hogwild.h - the epoch driver of the Hogwild trainers (sgns, eges, mf).
 *
 * The work is a list of units (sequences of a corpus, pairs), each with a weight (its
 * tokens; 1 when no offsets are given). Each worker thread takes one contiguous slice of
 * the units of about equal weight, fixed for the run, and goes over it once per epoch in
 * chunks, calling step() for each; the workers update the shared parameters without locks
 * (Hogwild). The driver keeps the learning-rate clock, the progress line, and `evals`
 * evaluation points spread evenly over the run (the j-th when each worker has done j/evals
 * of its share), where every worker waits and one of them calls pause(), so that the
 * parameters hold still while they are read. With one thread the sequence of step calls is
 * a function of the options alone, so a trainer whose steps are seeded is repeatable. */
#ifndef WALKREC_HOGWILD_H
#define WALKREC_HOGWILD_H

#include <stdint.h>

enum { WR_LR_LINEAR = 0, WR_LR_COSINE = 1 };

/* What a step call is given: plain values, valid during the call. */
typedef struct wr_hogwild_chunk {
    int worker;              /* 0 .. hogwild_workers() - 1 */
    uint32_t epoch;          /* 0-based */
    uint64_t u0, u1;         /* the units [u0, u1) to train, inside the slice */
    uint64_t slice0, slice1; /* the worker's slice of units [slice0, slice1) */
    /* The clock at u0 (weights): */
    uint64_t global;         /* done by every worker, as far as reported at the chunk start */
    uint64_t in_epoch;       /* done by this worker in this epoch (0: the epoch starts) */
    uint64_t slice;          /* of the worker's slice */
} wr_hogwild_chunk;

typedef struct wr_hogwild_opts {
    uint64_t units;          /* > 0 */
    const uint64_t *off;     /* units + 1 cumulative weights, off[0] = 0 (a corpus's
                                offsets), borrowed for the run; NULL: each unit weighs 1 */
    uint32_t epochs;         /* >= 1 */
    int threads;             /* <= 0: one per CPU; never more than units */
    uint64_t chunk;          /* a step gets whole units until this weight (0: one unit),
                                fewer at an evaluation point or the end of the slice */
    int schedule;            /* WR_LR_LINEAR over the whole run or WR_LR_COSINE restarted
                                each epoch, from lr down to min_lr (hogwild_lr) */
    double lr, min_lr;
    uint32_t evals;          /* evaluation points; 0 = none */
    /* Trains the chunk, on the worker's thread. */
    void (*step)(void *ctx, const wr_hogwild_chunk *c);
    /* At evaluation point j: progress j / evals and the 1-based epoch it falls in, on one
     * worker's thread while the others wait. NULL = no points. */
    void (*pause)(void *ctx, double progress, uint32_t epoch);
    void *ctx;
    /* The progress line (progress.h): "training", "tokens", and what its summary line
     * ends with (may be NULL). String literals or strings outliving the run. */
    const char *what, *unit, *extra;
} wr_hogwild_opts;

/* The number of workers hogwild_run will start (the calling thread is worker 0), so that
 * a trainer can make room for per-worker state indexed by wr_hogwild_chunk.worker. */
int hogwild_workers(const wr_hogwild_opts *o);

/* Runs every epoch on hogwild_workers(o) threads and returns when all are done. A thread
 * that cannot be started aborts the process (the workers meet at evaluation points). */
void hogwild_run(const wr_hogwild_opts *o);

/* The learning rate `offset` weight into chunk c: linear from lr to min_lr over epochs x
 * the total weight (by c->global + offset), or cosine from lr to min_lr over each epoch
 * of the worker's slice (by c->in_epoch + offset). Any thread. */
float hogwild_lr(const wr_hogwild_opts *o, const wr_hogwild_chunk *c, uint64_t offset);

#endif
