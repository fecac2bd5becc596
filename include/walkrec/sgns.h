/* sgns.h - word2vec on a token corpus: skip-gram or CBOW with negative sampling.
 *
 * Hogwild threads; negatives from unigram^0.75 with an alias table (alias.h: O(1), memory
 * linear in the vocabulary), shared by the context words of a centre; subsampling of frequent
 * tokens; word2vec's reduced random window; linear or per-epoch cosine learning rate. */
#ifndef WALKREC_SGNS_H
#define WALKREC_SGNS_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/hogwild.h"
#include "walkrec/rng.h"
#include "walkrec/util.h"
#include "walkrec/walk.h"

enum { WR_MODE_SG = 0, WR_MODE_CBOW = 1 };

#define WR_SGNS_MAX_NEGATIVE 63
#define WR_SGNS_MAX_WINDOW 64

typedef struct wr_sgns_opts {
    uint32_t dim;       /* 128 */
    uint32_t window;    /* 5 (1..WR_SGNS_MAX_WINDOW) */
    uint32_t negative;  /* 5 (1..WR_SGNS_MAX_NEGATIVE) */
    uint32_t epochs;    /* 5 */
    double subsample;   /* 1e-3; 0 keeps every token */
    double lr, min_lr;  /* 0.025, 0.0001 */
    int mode;           /* WR_MODE_SG */
    int lr_schedule;    /* WR_LR_LINEAR (hogwild.h) */
    int threads;        /* 0 = all cores */
    uint64_t seed;      /* 1 */
    /* Called `evals` times evenly over training (progress j/evals, j = 1..evals, the last
     * at the end) while every worker waits, so vecs (vocab x dim) is a consistent snapshot.
     * epoch is the 1-based epoch the point falls in. NULL = none. */
    void (*on_eval)(double progress, uint32_t epoch, const float *vecs, void *ctx);
    void *eval_ctx;
    uint32_t evals;
    const float *init;  /* optional warm start: vocab x dim input vectors */
    float *ctx_out;     /* optional: vocab x dim, gets the output (context) vectors */
} wr_sgns_opts;

void sgns_default_opts(wr_sgns_opts *o);

/* Trains vocab x dim input vectors into out (caller allocates).
 * Tokens that never occur keep their `init` row, or zeros without init (so they have no
 * neighbours rather than random ones). With threads = 1 the result is a function of the
 * corpus, the options and the CPU's kernel (see sgns_kernels). Returns 0, or -1 with err
 * set. Tokens >= vocab are an error. */
int sgns_train(const wr_corpus *c, uint32_t vocab, const wr_sgns_opts *o, float *out,
               wr_err *err);

/* 0, or -1 with err set (naming the option) when an option is out of range. */
int sgns_check(const wr_sgns_opts *o, wr_err *err);

/* word2vec's probability of keeping a token seen `count` times among `total`:
 * (sqrt(f / (s * total)) + 1) * s * total / f, capped at 1; 1 when sample is 0. */
double sgns_keep_prob(uint64_t count, uint64_t total, double sample);
/* Those probabilities for tokens 0..vocab as thresholds on 32 random bits: keep token t
 * when the bits are below keep[t] (UINT32_MAX: always). Returns a new array of vocab + 1
 * entries; the caller frees it with free(). */
uint32_t *sgns_subsample(const uint64_t *count, uint32_t vocab, uint64_t total, double sample);

/* The inner kernels, exposed so tests can compare them: one input row against nout output
 * rows. Rows are 64-byte aligned with n floats, n a multiple of 16. */
typedef struct wr_sgns_kernel {
    const char *name; /* "scalar", "avx2", "avx512" */
    /* m[k] = in . out[k] */
    void (*dots)(const float *in, float *const *out, uint32_t nout, float *m, uint32_t n);
    /* From the values before the call: out[k] += g[k] in and din += sum_k g[k] out[k].
     * din may be in; the out rows must be distinct and apart from in and din. */
    void (*update)(const float *in, float *din, float *const *out, uint32_t nout,
                   const float *g, uint32_t n);
    /* y += a x */
    void (*axpy)(float a, const float *x, float *y, uint32_t n);
} wr_sgns_kernel;

/* One skip-gram step for trainers built on these kernels (eges.c): the output rows of a
 * centre, its own row of `rows` (label 1) then those of its `negative` negatives neg[],
 * the distinct ones with their multiplicity (negatives equal to the centre are skipped, as
 * word2vec does), into out and mult (room for negative + 1). Returns their number. */
uint32_t sgns_gather(uint32_t centre, const uint32_t *neg, uint32_t negative, float *rows,
                     uint32_t stride, float **out, float *mult);
/* One input row against out[0..nout) (label 1 for the first, 0 for the rest, each term
 * times mult), by word2vec's logistic table: the output rows are updated and the input's
 * gradient added to din (may be in). k comes from sgns_kernel() or sgns_kernels() (which
 * also fill the logistic table); rows as for the kernels. Any thread (Hogwild). */
void sgns_step(const wr_sgns_kernel *k, const float *in, float *const *out, uint32_t nout,
               const float *mult, float lr, float *din, uint32_t stride);

/* The kernels this CPU runs, the portable scalar one first, the widest last. */
size_t sgns_kernels(const wr_sgns_kernel *const **list);
/* The one training uses: the widest, or the one named by WALKREC_SIMD (scalar, avx2,
 * avx512) when this CPU runs it. */
const wr_sgns_kernel *sgns_kernel(void);

#endif
