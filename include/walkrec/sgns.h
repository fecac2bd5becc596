/* sgns.h - word2vec on a token corpus: skip-gram or CBOW with negative sampling.
 *
 * Hogwild threads; negatives from unigram^0.75 with an alias table (O(1), memory linear in
 * the vocabulary); subsampling of frequent tokens; word2vec's reduced random window;
 * linear or per-epoch cosine learning rate. Skip-gram shares the negatives of a context
 * window so updates become small dense matrix products (HogBatch). */
#ifndef WALKREC_SGNS_H
#define WALKREC_SGNS_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/walk.h"
#include "walkrec/util.h"

enum { WR_MODE_SG = 0, WR_MODE_CBOW = 1 };
enum { WR_LR_LINEAR = 0, WR_LR_COSINE = 1 };

typedef struct wr_sgns_opts {
    uint32_t dim;       /* 128 */
    uint32_t window;    /* 5 */
    uint32_t negative;  /* 5 */
    uint32_t epochs;    /* 5 */
    double subsample;   /* 1e-3 */
    double lr, min_lr;  /* 0.025, 0.0001 */
    int mode;           /* WR_MODE_SG */
    int lr_schedule;    /* WR_LR_LINEAR */
    int threads;
    uint64_t seed;      /* 1 */
    /* Called from one thread `evals` times evenly over training (progress in 0..1, epoch);
     * may read vecs. NULL = none. */
    void (*on_eval)(double progress, uint32_t epoch, const float *vecs, void *ctx);
    void *eval_ctx;
    uint32_t evals;
    const float *init;  /* optional warm start: vocab x dim input vectors */
} wr_sgns_opts;

void sgns_default_opts(wr_sgns_opts *o);

/* Trains vocab x dim input vectors into out (caller allocates, 64-byte aligned).
 * Returns 0, or -1 with err set. Tokens >= vocab are an error. */
int sgns_train(const wr_corpus *c, uint32_t vocab, const wr_sgns_opts *o, float *out,
               wr_err *err);

#endif
