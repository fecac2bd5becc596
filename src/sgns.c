/* sgns.c - word2vec (skip-gram or CBOW, negative sampling) on a token corpus.
 *
 * The semantics are word2vec.c's: frequent tokens are subsampled before windowing, each
 * centre gets a reduced random window, skip-gram trains each context word's input row
 * against the centre's output row and K negatives, pair after pair, CBOW trains the mean
 * of the context, and the learning rate decays linearly with the processed tokens.
 * What makes it fast:
 *  - the K negatives of a centre are drawn once and shared by all its context words (the
 *    sampling half of HogBatch, Ji et al. 2016), so a centre touches C + K + 1 rows instead
 *    of C * (K + 2) and they stay in L1 across its pairs. HogBatch's other half, a single
 *    simultaneous update of the whole window as a small matrix product, is not used: it
 *    cost 0.06 AUC on amazon-gift-cards-2018, while pair-by-pair updates with shared
 *    negatives score like word2vec.c;
 *  - negatives are drawn a few centres ahead, and the rows the next centres need are
 *    prefetched meanwhile: the matrices are far larger than the caches;
 *  - SIMD kernels (AVX-512, AVX2 + FMA, portable scalar) picked at run time, and a table
 *    for the logistic function.
 * Workers are Hogwild (hogwild.h): each takes a contiguous slice of the sequences every
 * epoch, in batches of about BATCH raw tokens, and updates the shared matrices without
 * locks. */
#include "walkrec/sgns.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "walkrec/alias.h"
#include "walkrec/rng.h"

#if defined(__x86_64__) || defined(__i386__)
#define WR_X86 1
#include <immintrin.h>
#endif

#define MAX_OUT (WR_SGNS_MAX_NEGATIVE + 1)
#define BATCH 1024   /* raw tokens per batch */
#define AHEAD 3      /* centres prefetched ahead */

void sgns_default_opts(wr_sgns_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dim = 128;
    o->window = 5;
    o->negative = 5;
    o->epochs = 5;
    o->subsample = 1e-3;
    o->lr = 0.025;
    o->min_lr = 0.0001;
    o->mode = WR_MODE_SG;
    o->lr_schedule = WR_LR_LINEAR;
    o->seed = 1;
}

double sgns_keep_prob(uint64_t count, uint64_t total, double sample)
{
    if (sample <= 0 || count == 0)
        return 1;
    double st = sample * (double)total;
    double p = (sqrt((double)count / st) + 1) * st / (double)count;
    return p < 1 ? p : 1;
}

/* The logistic function from a table, as word2vec does: measured 15-35% less CPU time per
 * token than expf, with the same AUC on four data sets. Steps of 1/128 over [-8, 8] keep
 * the error below 1e-3 (3.4e-4 at the ends). */
#define SIG_MAX 8
#define SIG_RES 128
static float sig_table[2 * SIG_MAX * SIG_RES + 1];

static void sigmoid_init(void)
{
    for (int i = 0; i <= 2 * SIG_MAX * SIG_RES; i++)
        sig_table[i] = 1 / (1 + exp(SIG_MAX - (double)i / SIG_RES));
}

static inline float sigmoid(float x)
{
    if (x >= SIG_MAX)
        return 1;
    if (x <= -SIG_MAX)
        return 0;
    return sig_table[(int)((x + SIG_MAX) * SIG_RES + 0.5f)];
}

/* ---- kernels: one input row against nout output rows ---- */

/* The portable kernels work in blocks of 16 floats (n is a multiple of 16) so that the
 * compiler can vectorise them for whatever the baseline of the target is. */
static void dots_scalar(const float *in, float *const *out, uint32_t nout, float *m, uint32_t n)
{
    for (uint32_t k = 0; k < nout; k++) {
        const float *b = out[k];
        float acc[16] = {0}, s = 0;
        for (uint32_t d = 0; d < n; d += 16)
            for (uint32_t e = 0; e < 16; e++)
                acc[e] += in[d + e] * b[d + e];
        for (uint32_t e = 0; e < 16; e++)
            s += acc[e];
        m[k] = s;
    }
}

/* Block by block, so that every product uses the old values even when din is in. */
static void update_scalar(const float *in, float *din, float *const *out, uint32_t nout,
                          const float *g, uint32_t n)
{
    for (uint32_t d = 0; d < n; d += 16) {
        float x[16], s[16] = {0};
        memcpy(x, in + d, sizeof x);
        for (uint32_t k = 0; k < nout; k++) {
            float *o = out[k] + d, gk = g[k];
            for (uint32_t e = 0; e < 16; e++) {
                s[e] += gk * o[e];
                o[e] += gk * x[e];
            }
        }
        for (uint32_t e = 0; e < 16; e++)
            din[d + e] += s[e];
    }
}

static void axpy_scalar(float a, const float *x, float *y, uint32_t n)
{
    for (uint32_t d = 0; d < n; d += 16) {
        float t[16];
        for (uint32_t e = 0; e < 16; e++)
            t[e] = y[d + e] + a * x[d + e];
        memcpy(y + d, t, sizeof t);
    }
}

#ifdef WR_X86
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

AVX512 static void dots_avx512(const float *in, float *const *out, uint32_t nout, float *m,
                               uint32_t n)
{
    uint32_t k = 0;
    /* four dots at a time hide the FMA latency */
    for (; k + 4 <= nout; k += 4) {
        const float *b0 = out[k], *b1 = out[k + 1], *b2 = out[k + 2], *b3 = out[k + 3];
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (uint32_t d = 0; d < n; d += 16) {
            __m512 x = _mm512_load_ps(in + d);
            s0 = _mm512_fmadd_ps(x, _mm512_load_ps(b0 + d), s0);
            s1 = _mm512_fmadd_ps(x, _mm512_load_ps(b1 + d), s1);
            s2 = _mm512_fmadd_ps(x, _mm512_load_ps(b2 + d), s2);
            s3 = _mm512_fmadd_ps(x, _mm512_load_ps(b3 + d), s3);
        }
        m[k] = _mm512_reduce_add_ps(s0);
        m[k + 1] = _mm512_reduce_add_ps(s1);
        m[k + 2] = _mm512_reduce_add_ps(s2);
        m[k + 3] = _mm512_reduce_add_ps(s3);
    }
    for (; k < nout; k++) {
        const float *b = out[k];
        __m512 s = _mm512_setzero_ps();
        for (uint32_t d = 0; d < n; d += 16)
            s = _mm512_fmadd_ps(_mm512_load_ps(in + d), _mm512_load_ps(b + d), s);
        m[k] = _mm512_reduce_add_ps(s);
    }
}

AVX512 static void update_avx512(const float *in, float *din, float *const *out, uint32_t nout,
                                 const float *g, uint32_t n)
{
    for (uint32_t d = 0; d < n; d += 16) {
        __m512 x = _mm512_load_ps(in + d), s = _mm512_setzero_ps();
        for (uint32_t k = 0; k < nout; k++) {
            __m512 gk = _mm512_set1_ps(g[k]), o = _mm512_load_ps(out[k] + d);
            s = _mm512_fmadd_ps(gk, o, s);
            _mm512_store_ps(out[k] + d, _mm512_fmadd_ps(gk, x, o));
        }
        _mm512_store_ps(din + d, _mm512_add_ps(_mm512_load_ps(din + d), s));
    }
}

AVX512 static void axpy_avx512(float a, const float *x, float *y, uint32_t n)
{
    __m512 va = _mm512_set1_ps(a);
    for (uint32_t d = 0; d < n; d += 16)
        _mm512_store_ps(y + d, _mm512_fmadd_ps(va, _mm512_load_ps(x + d), _mm512_load_ps(y + d)));
}

AVX2 static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void dots_avx2(const float *in, float *const *out, uint32_t nout, float *m,
                           uint32_t n)
{
    uint32_t k = 0;
    for (; k + 4 <= nout; k += 4) {
        const float *b0 = out[k], *b1 = out[k + 1], *b2 = out[k + 2], *b3 = out[k + 3];
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (uint32_t d = 0; d < n; d += 8) {
            __m256 x = _mm256_load_ps(in + d);
            s0 = _mm256_fmadd_ps(x, _mm256_load_ps(b0 + d), s0);
            s1 = _mm256_fmadd_ps(x, _mm256_load_ps(b1 + d), s1);
            s2 = _mm256_fmadd_ps(x, _mm256_load_ps(b2 + d), s2);
            s3 = _mm256_fmadd_ps(x, _mm256_load_ps(b3 + d), s3);
        }
        m[k] = hsum256(s0);
        m[k + 1] = hsum256(s1);
        m[k + 2] = hsum256(s2);
        m[k + 3] = hsum256(s3);
    }
    for (; k < nout; k++) {
        const float *b = out[k];
        __m256 s = _mm256_setzero_ps();
        for (uint32_t d = 0; d < n; d += 8)
            s = _mm256_fmadd_ps(_mm256_load_ps(in + d), _mm256_load_ps(b + d), s);
        m[k] = hsum256(s);
    }
}

AVX2 static void update_avx2(const float *in, float *din, float *const *out, uint32_t nout,
                             const float *g, uint32_t n)
{
    for (uint32_t d = 0; d < n; d += 8) {
        __m256 x = _mm256_load_ps(in + d), s = _mm256_setzero_ps();
        for (uint32_t k = 0; k < nout; k++) {
            __m256 gk = _mm256_set1_ps(g[k]), o = _mm256_load_ps(out[k] + d);
            s = _mm256_fmadd_ps(gk, o, s);
            _mm256_store_ps(out[k] + d, _mm256_fmadd_ps(gk, x, o));
        }
        _mm256_store_ps(din + d, _mm256_add_ps(_mm256_load_ps(din + d), s));
    }
}

AVX2 static void axpy_avx2(float a, const float *x, float *y, uint32_t n)
{
    __m256 va = _mm256_set1_ps(a);
    for (uint32_t d = 0; d < n; d += 8)
        _mm256_store_ps(y + d, _mm256_fmadd_ps(va, _mm256_load_ps(x + d), _mm256_load_ps(y + d)));
}
#endif

static const wr_sgns_kernel k_scalar = {"scalar", dots_scalar, update_scalar, axpy_scalar};
#ifdef WR_X86
static const wr_sgns_kernel k_avx2 = {"avx2", dots_avx2, update_avx2, axpy_avx2};
static const wr_sgns_kernel k_avx512 = {"avx512", dots_avx512, update_avx512, axpy_avx512};
#endif

static const wr_sgns_kernel *supported[3];
static size_t nsupported;
static const wr_sgns_kernel *chosen;
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

static void kernels_init(void)
{
    sigmoid_init();
    supported[nsupported++] = &k_scalar;
#ifdef WR_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        supported[nsupported++] = &k_avx2;
    if (__builtin_cpu_supports("avx512f"))
        supported[nsupported++] = &k_avx512;
#endif
    chosen = supported[nsupported - 1];
    const char *want = getenv("WALKREC_SIMD");
    if (!want || !*want)
        return;
    for (size_t i = 0; i < nsupported; i++)
        if (!strcmp(want, supported[i]->name)) {
            chosen = supported[i];
            return;
        }
    wr_warn("WALKREC_SIMD=%s: not available here, using %s", want, chosen->name);
}

size_t sgns_kernels(const wr_sgns_kernel *const **list)
{
    pthread_once(&kernels_once, kernels_init);
    *list = supported;
    return nsupported;
}

const wr_sgns_kernel *sgns_kernel(void)
{
    pthread_once(&kernels_once, kernels_init);
    return chosen;
}

/* ---- training ---- */

typedef struct shared {
    const wr_corpus *c;
    const wr_sgns_opts *o;
    const wr_sgns_kernel *k;
    float *syn0, *syn1, *out;
    uint32_t stride, vocab;
    wr_alias neg;
    uint32_t *keep;        /* keep a token when 32 random bits < keep[t]; UINT32_MAX: always */
    wr_hogwild_opts h;     /* the run: units are the sequences, weighed by their tokens */
    struct worker *w;      /* hogwild_workers(&h) */
} shared;

typedef struct worker {
    shared *s;
    wr_rng rng;
    /* The batch: kept tokens, each with its window [win0, win1) and learning rate. */
    uint32_t *tok, *win0, *win1;
    float *lr;
    uint32_t ntok;
    /* Negatives go through a two-stage pipeline, so that neither the alias cells nor the
     * rows wait on memory: the random bits of centre i + 2 AHEAD are drawn (and its alias
     * cells prefetched) while the negatives of centre i + AHEAD are resolved (and their
     * rows prefetched); K of each per centre, in rings of RING centres. */
    uint64_t *bits;
    uint32_t *ring;
    float *neu1, *work; /* CBOW */
} worker;

#define RING (2 * AHEAD + 1) /* positions in flight: drawn up to i + 2 AHEAD, used from i */

static inline void prefetch_row(const float *row, uint32_t stride)
{
    for (uint32_t d = 0; d < stride; d += 16)
        __builtin_prefetch(row + d, 1, 3);
}

static inline uint32_t *negatives(const worker *w, uint32_t p)
{
    return w->ring + (size_t)(p % RING) * w->s->o->negative;
}

/* Stage one for position p: the random bits of its negatives. */
static void draw_ahead(worker *w, uint32_t p)
{
    const shared *s = w->s;
    if (p >= w->ntok)
        return;
    uint32_t K = s->o->negative;
    uint64_t *x = w->bits + (size_t)(p % RING) * K;
    for (uint32_t q = 0; q < K; q++) {
        x[q] = rng_next(&w->rng);
        __builtin_prefetch(&s->neg.cell[alias_index(s->neg.n, x[q])], 0, 3);
    }
}

/* Stage two for position p: its negatives, and prefetches of the rows it will need: its
 * output row, its negatives', and the input row of the token entering the window there. */
static void prepare(worker *w, uint32_t p)
{
    const shared *s = w->s;
    uint32_t st = s->stride, win = s->o->window;
    if (p >= w->ntok)
        return;
    uint32_t K = s->o->negative, *neg = negatives(w, p);
    const uint64_t *x = w->bits + (size_t)(p % RING) * K;
    for (uint32_t q = 0; q < K; q++) {
        neg[q] = alias_pick(s->neg.cell, x[q], alias_index(s->neg.n, x[q]));
        prefetch_row(s->syn1 + (size_t)neg[q] * st, st);
    }
    prefetch_row(s->syn1 + (size_t)w->tok[p] * st, st);
    if (p + win < w->ntok)
        prefetch_row(s->syn0 + (size_t)w->tok[p + win] * st, st);
}

/* Output rows of a centre: its own (label 1), then its distinct negatives with their
 * multiplicity (the kernel wants distinct rows). */
static inline uint32_t gather(uint32_t centre, const uint32_t *neg, uint32_t K, float *rows,
                              uint32_t stride, float **out, float *mult)
{
    uint32_t ids[MAX_OUT], n = 1;
    ids[0] = centre;
    mult[0] = 1;
    for (uint32_t j = 0; j < K; j++) {
        if (neg[j] == centre) /* word2vec skips these */
            continue;
        uint32_t k = 1;
        while (k < n && ids[k] != neg[j])
            k++;
        if (k == n) {
            ids[n] = neg[j];
            mult[n++] = 1;
        } else {
            mult[k] += 1;
        }
    }
    for (uint32_t k = 0; k < n; k++)
        out[k] = rows + (size_t)ids[k] * stride;
    return n;
}

/* One input row against its outputs (label 1 for the first, 0 for the rest); the input's
 * gradient goes to din. */
static inline void step_row(const wr_sgns_kernel *k, const float *in, float *const *out,
                            uint32_t nout, const float *mult, float lr, float *din,
                            uint32_t stride)
{
    float m[MAX_OUT], g[MAX_OUT];
    k->dots(in, out, nout, m, stride);
    for (uint32_t o = 0; o < nout; o++)
        g[o] = ((o == 0) - sigmoid(m[o])) * lr * mult[o];
    k->update(in, din, out, nout, g, stride);
}

uint32_t sgns_gather(uint32_t centre, const uint32_t *neg, uint32_t negative, float *rows,
                     uint32_t stride, float **out, float *mult)
{
    return gather(centre, neg, negative, rows, stride, out, mult);
}

void sgns_step(const wr_sgns_kernel *k, const float *in, float *const *out, uint32_t nout,
               const float *mult, float lr, float *din, uint32_t stride)
{
    step_row(k, in, out, nout, mult, lr, din, stride);
}

/* The output rows of centre i of the batch. */
static inline uint32_t outputs(const worker *w, uint32_t i, float **out, float *mult)
{
    const shared *s = w->s;
    return gather(w->tok[i], negatives(w, i), s->o->negative, s->syn1, s->stride, out, mult);
}

static inline void train_row(const worker *w, const float *in, float *const *out,
                             uint32_t nout, const float *mult, float lr, float *din)
{
    step_row(w->s->k, in, out, nout, mult, lr, din, w->s->stride);
}

/* Skip-gram: each context word's input row against the centre's output row and the
 * centre's negatives, pair after pair as in word2vec.c, so each pair sees the output rows
 * the previous one updated. */
static void sg_centre(worker *w, uint32_t i)
{
    const shared *s = w->s;
    float *out[MAX_OUT], om[MAX_OUT];
    uint32_t nout = outputs(w, i, out, om);
    for (uint32_t j = w->win0[i]; j < w->win1[i]; j++) {
        if (j == i)
            continue;
        float *in = s->syn0 + (size_t)w->tok[j] * s->stride;
        train_row(w, in, out, nout, om, w->lr[i], in);
    }
}

/* CBOW (gensim's cbow_mean=1): the mean of the context predicts the centre; every context
 * row receives the whole error, as in word2vec.c. */
static void cbow_centre(worker *w, uint32_t i)
{
    const shared *s = w->s;
    const wr_sgns_kernel *k = s->k;
    uint32_t st = s->stride, j0 = w->win0[i], j1 = w->win1[i];
    float *out[MAX_OUT], om[MAX_OUT], inv = 1.0f / (float)(j1 - j0 - 1);
    memset(w->neu1, 0, st * sizeof(float));
    memset(w->work, 0, st * sizeof(float));
    for (uint32_t j = j0; j < j1; j++)
        if (j != i)
            k->axpy(inv, s->syn0 + (size_t)w->tok[j] * st, w->neu1, st);
    uint32_t nout = outputs(w, i, out, om);
    train_row(w, w->neu1, out, nout, om, w->lr[i], w->work);
    for (uint32_t j = j0; j < j1; j++)
        if (j != i)
            k->axpy(1, w->work, s->syn0 + (size_t)w->tok[j] * st, st);
}

/* Fills the batch with the sequences of chunk ch, each sequence's learning rate taken at
 * its first token. As in word2vec, subsampling happens before windowing and each centre
 * draws a reduced window. */
static void batch_fill(worker *w, const wr_hogwild_chunk *ch)
{
    const shared *s = w->s;
    const wr_corpus *c = s->c;
    uint64_t n = 0;
    uint32_t nt = 0, win = s->o->window;
    for (uint64_t q = ch->u0; q < ch->u1; q++) {
        const uint32_t *t = c->tok + c->off[q];
        uint64_t len = c->off[q + 1] - c->off[q];
        uint32_t start = nt;
        for (uint64_t j = 0; j < len; j++) {
            uint32_t x = t[j], keep = s->keep[x];
            if (keep == UINT32_MAX || (uint32_t)(rng_next(&w->rng) >> 32) < keep)
                w->tok[nt++] = x;
        }
        if (nt - start < 2) {
            nt = start; /* nothing to learn from */
        } else {
            float lr = hogwild_lr(&s->h, ch, n);
            for (uint32_t p = start; p < nt; p++) {
                uint32_t r = win - rng_below(&w->rng, win);
                w->win0[p] = p - start > r ? p - r : start;
                w->win1[p] = nt - p > r ? p + r + 1 : nt;
                w->lr[p] = lr;
            }
        }
        n += len;
    }
    w->ntok = nt;
}

static void batch_train(worker *w)
{
    const shared *s = w->s;
    uint32_t st = s->stride;
    for (uint32_t p = 0; p < s->o->window && p < w->ntok; p++)
        prefetch_row(s->syn0 + (size_t)w->tok[p] * st, st);
    for (uint32_t p = 0; p < 2 * AHEAD; p++)
        draw_ahead(w, p);
    for (uint32_t p = 0; p < AHEAD; p++)
        prepare(w, p);
    for (uint32_t i = 0; i < w->ntok; i++) {
        draw_ahead(w, i + 2 * AHEAD);
        prepare(w, i + AHEAD);
        if (s->o->mode == WR_MODE_SG)
            sg_centre(w, i);
        else
            cbow_centre(w, i);
    }
}

/* The input rows, without their padding, into the caller's buffer. */
static void copy_out(const shared *s)
{
    uint32_t dim = s->o->dim;
    for (uint32_t v = 0; v < s->vocab; v++)
        memcpy(s->out + (size_t)v * dim, s->syn0 + (size_t)v * s->stride, dim * sizeof(float));
}

/* One chunk of sequences on worker ch->worker's thread. */
static void step(void *ctx, const wr_hogwild_chunk *ch)
{
    worker *w = &((shared *)ctx)->w[ch->worker];
    batch_fill(w, ch);
    batch_train(w);
}

/* An evaluation point: every worker waits, so the rows hold still. */
static void pause_eval(void *ctx, double progress, uint32_t epoch)
{
    const shared *s = ctx;
    copy_out(s);
    s->o->on_eval(progress, epoch, s->out, s->o->eval_ctx);
}

int sgns_check(const wr_sgns_opts *o, wr_err *err)
{
    if (o->dim < 1 || o->dim > 1u << 16)
        return wr_fail(err, "word2vec: dim must be 1..65536, got %u", o->dim);
    if (o->window < 1 || o->window > WR_SGNS_MAX_WINDOW)
        return wr_fail(err, "word2vec: window must be 1..%d, got %u", WR_SGNS_MAX_WINDOW,
                       o->window);
    if (o->negative < 1 || o->negative > WR_SGNS_MAX_NEGATIVE)
        return wr_fail(err, "word2vec: negative must be 1..%d, got %u", WR_SGNS_MAX_NEGATIVE,
                       o->negative);
    if (o->epochs < 1)
        return wr_fail(err, "word2vec: epochs must be at least 1");
    if (!(o->lr > 0) || !(o->min_lr >= 0) || o->min_lr > o->lr)
        return wr_fail(err, "word2vec: need 0 <= min_lr <= lr and lr > 0, got lr %g, min_lr %g",
                       o->lr, o->min_lr);
    if (!(o->subsample >= 0))
        return wr_fail(err, "word2vec: subsample must be >= 0, got %g", o->subsample);
    if (o->mode != WR_MODE_SG && o->mode != WR_MODE_CBOW)
        return wr_fail(err, "word2vec: unknown mode %d", o->mode);
    if (o->lr_schedule != WR_LR_LINEAR && o->lr_schedule != WR_LR_COSINE)
        return wr_fail(err, "word2vec: unknown learning-rate schedule %d", o->lr_schedule);
    return 0;
}

uint32_t *sgns_subsample(const uint64_t *count, uint32_t vocab, uint64_t total, double sample)
{
    uint32_t *keep = xmalloc(((size_t)vocab + 1) * sizeof *keep);
    for (uint32_t v = 0; v < vocab; v++) {
        double p = sgns_keep_prob(count[v], total, sample) * 4294967296.0;
        keep[v] = p >= 4294967295.0 ? UINT32_MAX : (uint32_t)p;
    }
    return keep;
}

/* Token counts and the longest sequence; fails on a token outside the vocabulary. */
static int count_tokens(const wr_corpus *c, uint32_t vocab, uint64_t *count, uint64_t *maxlen,
                        wr_err *err)
{
    *maxlen = 0;
    for (uint64_t q = 0; q < c->nseq; q++) {
        uint64_t len = c->off[q + 1] - c->off[q];
        if (len > *maxlen)
            *maxlen = len;
        for (uint64_t j = c->off[q]; j < c->off[q + 1]; j++) {
            if (c->tok[j] >= vocab)
                return wr_fail(err, "word2vec: token %u in sequence %llu is outside the "
                               "vocabulary of %u", c->tok[j], (unsigned long long)q, vocab);
            count[c->tok[j]]++;
        }
    }
    if (*maxlen > UINT32_MAX - 2 * BATCH)
        return wr_fail(err, "word2vec: a sequence of %llu tokens is too long",
                       (unsigned long long)*maxlen);
    return 0;
}

/* word2vec's initialisation: inputs uniform in [-0.5, 0.5) / dim, outputs zero. Rows of
 * tokens that never occur stay zero, or take the warm start. */
static void init_rows(shared *s, const uint64_t *count)
{
    const wr_sgns_opts *o = s->o;
    uint32_t dim = o->dim, st = s->stride;
    wr_rng r;
    rng_seed(&r, o->seed);
    memset(s->syn1, 0, (size_t)s->vocab * st * sizeof(float));
    for (uint32_t v = 0; v < s->vocab; v++) {
        float *row = s->syn0 + (size_t)v * st;
        memset(row, 0, st * sizeof(float));
        if (o->init)
            memcpy(row, o->init + (size_t)v * dim, dim * sizeof(float));
        else if (count[v])
            for (uint32_t d = 0; d < dim; d++)
                row[d] = (rng_float(&r) - 0.5f) / (float)dim;
    }
}

/* Room for the matrices, on huge pages where the kernel allows: rows are visited at
 * random, so with 4 KiB pages nearly every row costs a TLB miss on top of a cache miss. */
static float *alloc_rows(size_t bytes)
{
    void *p;
    size_t huge = 2u << 20;
    bytes = (bytes + huge - 1) / huge * huge;
    if (posix_memalign(&p, huge, bytes) != 0)
        return xmalloc_aligned(bytes);
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void worker_init(worker *w, shared *s, int t, uint64_t maxlen)
{
    size_t cap = BATCH + maxlen;
    w->s = s;
    rng_seed(&w->rng, s->o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(t + 1)));
    w->tok = xmalloc(cap * sizeof *w->tok);
    w->win0 = xmalloc(cap * sizeof *w->win0);
    w->win1 = xmalloc(cap * sizeof *w->win1);
    w->lr = xmalloc(cap * sizeof *w->lr);
    w->bits = xmalloc((size_t)RING * s->o->negative * sizeof *w->bits);
    w->ring = xmalloc((size_t)RING * s->o->negative * sizeof *w->ring);
    w->neu1 = xmalloc_aligned(s->stride * sizeof(float));
    w->work = xmalloc_aligned(s->stride * sizeof(float));
}

static void worker_free(worker *w)
{
    free(w->tok);
    free(w->win0);
    free(w->win1);
    free(w->lr);
    free(w->bits);
    free(w->ring);
    free(w->neu1);
    free(w->work);
}

int sgns_train(const wr_corpus *c, uint32_t vocab, const wr_sgns_opts *o, float *out,
               wr_err *err)
{
    if (sgns_check(o, err) < 0)
        return -1;
    if (vocab == 0 || c->ntok == 0)
        return wr_fail(err, "word2vec: the corpus is empty");
    uint64_t *count = xcalloc(vocab, sizeof *count), maxlen;
    shared s = {.c = c, .o = o, .k = sgns_kernel(), .out = out, .vocab = vocab};
    if (count_tokens(c, vocab, count, &maxlen, err) < 0 ||
        alias_init(&s.neg, count, vocab, 0.75, err) < 0) {
        free(count);
        return -1;
    }
    s.keep = sgns_subsample(count, vocab, c->ntok, o->subsample);
    s.stride = (o->dim + 15) & ~15u;
    s.syn0 = alloc_rows((size_t)vocab * s.stride * sizeof(float));
    s.syn1 = alloc_rows((size_t)vocab * s.stride * sizeof(float));
    init_rows(&s, count);
    free(count);
    s.h = (wr_hogwild_opts){.units = c->nseq, .off = c->off, .epochs = o->epochs,
                            .threads = o->threads, .chunk = BATCH, .schedule = o->lr_schedule,
                            .lr = o->lr, .min_lr = o->min_lr, .step = step, .ctx = &s,
                            .what = "training", .unit = "tokens", .extra = s.k->name};
    if (o->on_eval && o->evals) {
        s.h.evals = o->evals;
        s.h.pause = pause_eval;
    }
    int n = hogwild_workers(&s.h);
    s.w = xcalloc((size_t)n, sizeof *s.w);
    for (int t = 0; t < n; t++)
        worker_init(&s.w[t], &s, t, maxlen);
    hogwild_run(&s.h);

    copy_out(&s);
    for (uint32_t v = 0; o->ctx_out && v < vocab; v++)
        memcpy(o->ctx_out + (size_t)v * o->dim, s.syn1 + (size_t)v * s.stride,
               o->dim * sizeof(float));
    free(s.syn0);
    for (int t = 0; t < n; t++)
        worker_free(&s.w[t]);
    free(s.w);
    free(s.syn1);
    free(s.keep);
    alias_free(&s.neg);
    return 0;
}
