/* mf.c - matrix-factorisation baselines (mf.h): pairs scored by dot product.
 *
 * Three optimisers over the same loss: plain SGD (train_left, the rows updated in place
 * with the kernels of sgns.h), and AdaGrad and Adam (train_left_adaptive: the gradient of
 * each row first, then an apply_fn kernel steps the row and its per-coordinate state;
 * only the rows a pair touches, "lazily"); the posts' recipe batches and steps every row
 * (train_left_dense, dense_step).
 *
 * hogwild.h drives the workers: one contiguous slice of training units each (directed
 * pairs for mf, walks for mf-seq, weighed by their tokens), fixed for the run; a worker
 * reshuffles its own pairs each epoch, so the order a worker sees depends on the seed and
 * its slice only. Workers run between the learning-curve evaluations without locks; the
 * vectors are shared Hogwild style. The global bias is a single scalar every pair would
 * touch: the first worker alone learns it (its slice is a random sample of the data) and
 * the others read it. */
#include "walkrec/mf.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "walkrec/alias.h"
#include "walkrec/bestepoch.h"
#include "walkrec/hogwild.h"
#include "walkrec/rng.h"

#define CHUNK 4096 /* units (mf) or tokens (mf-seq) per step of the driver */
#define BATCH 128  /* the posts' recipe: left items per mini-batch */
#define MAX_POINTS 1000000 /* evaluation points of a run with val and held-out pairs */

/* The default learning rates (mf_lr), measured on the shared data sets (docs/baselines.md):
 * one step per pair wants a far smaller Adam step than the posts' batches; the posts' own
 * recipe (Adam from N(0, 1)) keeps their 0.01; SGD keeps walkrec's earlier default. */
#define ADAM_LR 0.0003
#define ADAM_LR_CONTINUOUS 0.0001 /* 0.0003 overfitted the heavy pairs of online-retail */
#define ADAM_LR_POSTS 0.01
#define ADAGRAD_LR 0.01
#define SGD_LR 0.01

/* Negatives of mf in proportion to the items' pair counts to this power, as word2vec's
 * and the posts' (measured: higher AUC with --bias on every shared set than 1); mf-seq
 * keeps the walk counts themselves. */
#define PAIRS_NEG_POWER 0.75

/* word2vec's dimension, negatives, epochs, window, walks and seed (sgns.h, walk.h), so
 * that the baselines compare at the same sizes; a learning rate of their own. */
void mf_default_opts(wr_mf_opts *o)
{
    wr_sgns_opts w;
    sgns_default_opts(&w);
    *o = (wr_mf_opts){.dim = w.dim, .negative = w.negative, .epochs = w.epochs, .l2 = 1e-6,
                      .window = w.window, .seed = w.seed, .eval_every = 10};
    walk_default_opts(&o->walk);
}

static const char *const optimizers[] = {"auto", "adam", "adagrad", "sgd"};
static const char *const inits[] = {"small", "normal"};

const char *mf_optimizer_name(int optimizer)
{
    return optimizer >= 0 && optimizer < 4 ? optimizers[optimizer] : "?";
}

int mf_optimizer_parse(const char *name)
{
    for (int k = 0; k < 4; k++)
        if (!strcmp(name, optimizers[k]))
            return k;
    return -1;
}

const char *mf_init_name(int init) { return init >= 0 && init < 2 ? inits[init] : "?"; }

int mf_init_parse(const char *name)
{
    for (int k = 0; k < 2; k++)
        if (!strcmp(name, inits[k]))
            return k;
    return -1;
}

int mf_optimizer(const wr_mf_opts *o)
{
    if (o->optimizer != WR_MF_AUTO)
        return o->optimizer;
    return o->source == WR_MF_WALKS ? WR_MF_SGD : WR_MF_ADAM;
}

double mf_lr(const wr_mf_opts *o)
{
    static const double lr[] = {[WR_MF_ADAM] = ADAM_LR, [WR_MF_ADAGRAD] = ADAGRAD_LR,
                                [WR_MF_SGD] = SGD_LR};
    int opt = mf_optimizer(o);
    if (o->lr)
        return o->lr;
    if (opt == WR_MF_ADAM && o->init == WR_MF_INIT_NORMAL)
        return ADAM_LR_POSTS;
    if (opt == WR_MF_ADAM && o->labels == WR_MF_CONTINUOUS)
        return ADAM_LR_CONTINUOUS;
    return opt >= WR_MF_ADAM && opt <= WR_MF_SGD ? lr[opt] : SGD_LR;
}

int mf_holds_out(const wr_mf_opts *o)
{
    return o->source == WR_MF_PAIRS && o->epochs > 1 && !o->bias &&
           o->labels == WR_MF_BINARY &&
           !(mf_optimizer(o) == WR_MF_ADAM && o->init == WR_MF_INIT_NORMAL);
}

const char *mf_algo_name(const wr_mf_opts *o)
{
    return o->source == WR_MF_WALKS ? "mf-seq" : "mf";
}

static int check_opts(const wr_pairs *p, const wr_mf_opts *o, wr_err *err)
{
    if (o->source != WR_MF_PAIRS && o->source != WR_MF_WALKS)
        return wr_fail(err, "mf: unknown source %d", o->source);
    if (o->labels != WR_MF_BINARY && o->labels != WR_MF_CONTINUOUS)
        return wr_fail(err, "mf: unknown labels %d", o->labels);
    if (o->labels == WR_MF_CONTINUOUS && o->source == WR_MF_WALKS)
        return wr_fail(err, "mf-seq: continuous labels need pair weights; the pairs of "
                       "walks have none (use binary labels)");
    if (o->dim < 1 || o->dim > 1u << 16)
        return wr_fail(err, "mf: dim must be 1..65536, got %u", o->dim);
    if (o->negative > WR_MF_MAX_NEGATIVE)
        return wr_fail(err, "mf: negative must be 0..%d, got %u", WR_MF_MAX_NEGATIVE,
                       o->negative);
    if (o->epochs < 1)
        return wr_fail(err, "mf: epochs must be at least 1");
    if (o->optimizer < WR_MF_AUTO || o->optimizer > WR_MF_SGD)
        return wr_fail(err, "mf: unknown optimizer %d", o->optimizer);
    if (o->init != WR_MF_INIT_SMALL && o->init != WR_MF_INIT_NORMAL)
        return wr_fail(err, "mf: unknown initialisation %d", o->init);
    double lr = mf_lr(o);
    if (!(lr > 0) || !(o->min_lr >= 0) || o->min_lr > lr)
        return wr_fail(err, "mf: need 0 <= min_lr <= lr and lr > 0 (0: the optimizer's "
                       "default), got lr %g, min_lr %g", o->lr, o->min_lr);
    if (!(o->l2 >= 0) || !isfinite(o->l2))
        return wr_fail(err, "mf: l2 must be a finite number >= 0, got %g", o->l2);
    if (o->source == WR_MF_WALKS && (o->window < 1 || o->window > WR_SGNS_MAX_WINDOW))
        return wr_fail(err, "mf-seq: window must be 1..%d, got %u", WR_SGNS_MAX_WINDOW,
                       o->window);
    if (o->holdout && o->val && o->eval_every &&
        (uint64_t)o->eval_every * o->epochs > MAX_POINTS)
        return wr_fail(err, "mf: eval_every x epochs must be at most %d with held-out pairs",
                       MAX_POINTS);
    if (p->n == 0)
        return wr_fail(err, "mf: no training pairs");
    if (p->n >= 1ull << 31)
        return wr_fail(err, "mf: %zu pairs are more than this trainer handles (2^31)", p->n);
    return 0;
}

/* Frequency of each item in the pairs: its degree. */
static void pair_counts(const wr_pairs *p, uint64_t *count)
{
    for (size_t i = 0; i < p->n; i++) {
        count[p->v[i].a]++;
        count[p->v[i].b]++;
    }
}

int mf_sampler_build(wr_alias *s, const wr_pairs *p, wr_err *err)
{
    uint32_t n = dict_size(p->ids);
    uint64_t *count = xcalloc((size_t)n + 1, sizeof *count);
    pair_counts(p, count);
    int rc = n ? alias_init(s, count, n, PAIRS_NEG_POWER, err) : wr_fail(err, "mf: no items");
    free(count);
    return rc;
}

/* ---- training ---------------------------------------------------------------------- */

/* Adam's constants (Kingma and Ba's, PyTorch's) and AdaGrad's epsilon (PyTorch's). */
#define BETA1 0.9f
#define BETA2 0.999f
#define ADAM_EPS 1e-8f
#define ADAGRAD_EPS 1e-10f

/* What one step of the optimiser needs: the rate, and for Adam the bias correction. */
typedef struct rate {
    int opt;     /* WR_MF_ADAGRAD or WR_MF_ADAM */
    float lr;   /* AdaGrad: lr; Adam: lr sqrt(1 - beta2^t) / (1 - beta1^t) */
} rate;

/* p -= the optimiser's step for gradient g, its state in m1 and m2: rows of n floats (a
 * multiple of 16), 64-byte aligned (apply_kernel). */
typedef void (*apply_fn)(const rate *r, float *p, float *m1, float *m2, const float *g,
                         uint32_t n);

typedef struct shared {
    const wr_mf_opts *o;
    const wr_sgns_kernel *k;
    const wr_pairs *p;
    const wr_corpus *c;       /* mf-seq */
    uint64_t *order;          /* mf: directed pairs (pair << 1 | reversed), sliced */
    float *vec, *bias;        /* n x stride; n or NULL */
    _Atomic double gbias;     /* written by worker 0 only */
    double target_scale;      /* continuous labels: the mean pair weight; else 1 */
    uint32_t n, stride;
    /* adaptive optimisers: per coordinate of vec and bias, AdaGrad's sum of squared
     * gradients in m2, Adam's moments in m1 and m2; the global bias's (worker 0's) in g1,
     * g2 */
    float *m1, *m2, *bm1, *bm2, g1, g2;
    apply_fn apply;
    int opt;                  /* the optimiser (mf_optimizer) */
    double lr;                /* its learning rate (mf_lr) */
    /* the posts' recipe (Adam from N(0, 1)): mini-batches, every row stepped each batch */
    int dense;
    float *acc, *bacc, gacc;  /* the batch's summed loss gradients (n x stride, n + 1) */
    uint32_t inbatch;         /* left items in the batch so far */
    wr_alias neg;
    wr_hogwild_opts h;        /* the run: units are directed pairs, or walks by tokens */
    struct worker *w;         /* hogwild_workers(&h) */
    /* the learning curve (with val) */
    const wr_dict *ids;
    float *snap;
    json_t *points;
    int threads;
    double eval_seconds;
    uint32_t curve_evals;     /* the learning curve's points (o->eval_every; 0 without val) */
    wr_best_epoch best;       /* with o->holdout */
} shared;

typedef struct worker {
    shared *s;
    int id;
    wr_rng rng;
    float *grad;              /* stride floats: the left row's gradient */
    float *gb;                /* stride floats: a right row's gradient (adaptive) */
    double b1t, b2t;          /* Adam: beta1^t and beta2^t after this worker's t steps */
    uint32_t right[WR_MF_MAX_NEGATIVE + 1]; /* a left item's right items: positive first */
} worker;

/* The apply_fn kernels: one per instruction set, picked as sgns picks its own
 * (sgns_kernel: WALKREC_SIMD names one); the portable one in blocks of 16 floats. */

static void adam_scalar(const rate *r, float *p, float *m1, float *m2, const float *g,
                        uint32_t n)
{
    for (uint32_t d = 0; d < n; d += 16)
        for (uint32_t e = d; e < d + 16; e++) {
            m1[e] = BETA1 * m1[e] + (1 - BETA1) * g[e];
            m2[e] = BETA2 * m2[e] + (1 - BETA2) * g[e] * g[e];
            p[e] -= r->lr * m1[e] / (sqrtf(m2[e]) + ADAM_EPS);
        }
}

static void adagrad_scalar(const rate *r, float *p, float *m1, float *m2, const float *g,
                           uint32_t n)
{
    for (uint32_t d = 0; d < n; d += 16)
        for (uint32_t e = d; e < d + 16; e++) {
            m2[e] += g[e] * g[e];
            p[e] -= r->lr * g[e] / (sqrtf(m2[e]) + ADAGRAD_EPS);
        }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

/* The two kernels for one instruction set: vectors V of W floats and their intrinsics.
 * ATTR (a target attribute) and V (a type) cannot take parentheses. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define ISA_KERNELS(ISA, ATTR, V, W, load, store, set1, add, mul, div, sqrt, fmadd, fnmadd) \
    ATTR static void adam_##ISA(const rate *r, float *p, float *m1, float *m2,            \
                                const float *g, uint32_t n)                               \
    {                                                                                     \
        V b1 = set1(BETA1), c1 = set1(1 - BETA1), b2 = set1(BETA2), c2 = set1(1 - BETA2); \
        V lr = set1(r->lr), eps = set1(ADAM_EPS);                                         \
        for (uint32_t d = 0; d < n; d += (W)) {                                           \
            V gd = load(g + d), m = fmadd(b1, load(m1 + d), mul(c1, gd));                 \
            V v = fmadd(b2, load(m2 + d), mul(c2, mul(gd, gd)));                          \
            store(m1 + d, m);                                                             \
            store(m2 + d, v);                                                             \
            store(p + d, fnmadd(lr, div(m, add(sqrt(v), eps)), load(p + d)));             \
        }                                                                                 \
    }                                                                                     \
    ATTR static void adagrad_##ISA(const rate *r, float *p, float *m1, float *m2,         \
                                   const float *g, uint32_t n)                            \
    {                                                                                     \
        V lr = set1(r->lr), eps = set1(ADAGRAD_EPS);                                      \
        for (uint32_t d = 0; d < n; d += (W)) {                                           \
            V gd = load(g + d), v = fmadd(gd, gd, load(m2 + d));                          \
            store(m2 + d, v);                                                             \
            store(p + d, fnmadd(lr, div(gd, add(sqrt(v), eps)), load(p + d)));            \
        }                                                                                 \
    }
/* NOLINTEND(bugprone-macro-parentheses) */

ISA_KERNELS(avx512, AVX512, __m512, 16, _mm512_load_ps, _mm512_store_ps, _mm512_set1_ps,
            _mm512_add_ps, _mm512_mul_ps, _mm512_div_ps, _mm512_sqrt_ps, _mm512_fmadd_ps,
            _mm512_fnmadd_ps)
ISA_KERNELS(avx2, AVX2, __m256, 8, _mm256_load_ps, _mm256_store_ps, _mm256_set1_ps,
            _mm256_add_ps, _mm256_mul_ps, _mm256_div_ps, _mm256_sqrt_ps, _mm256_fmadd_ps,
            _mm256_fnmadd_ps)
#endif

/* The row kernel of an optimiser for the instruction set sgns runs. */
static apply_fn apply_kernel(int optimizer)
{
    const char *isa = sgns_kernel()->name;
    int adam = optimizer == WR_MF_ADAM;
#if defined(__x86_64__) || defined(__i386__)
    if (!strcmp(isa, "avx512"))
        return adam ? adam_avx512 : adagrad_avx512;
    if (!strcmp(isa, "avx2"))
        return adam ? adam_avx2 : adagrad_avx2;
#endif
    return adam ? adam_scalar : adagrad_scalar;
}

/* The same for one scalar. */
static void apply_one(const rate *r, float *p, float *m1, float *m2, float g)
{
    if (r->opt == WR_MF_ADAM) {
        *m1 = BETA1 * *m1 + (1 - BETA1) * g;
        *m2 = BETA2 * *m2 + (1 - BETA2) * g * g;
        *p -= r->lr * *m1 / (sqrtf(*m2) + ADAM_EPS);
    } else {
        *m2 += g * g;
        *p -= r->lr * g / (sqrtf(*m2) + ADAGRAD_EPS);
    }
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* One left item against its right items (the first with target y, the rest 0): the loss
 * of each (left, right) term and its L2 pull, l2/2 (|v_left|^2 + |v_right|^2 + both
 * biases^2). Each right row is updated at once, the left row after all of them, as
 * word2vec does with its input row. */
static void train_left(worker *w, uint32_t left, const uint32_t *right, uint32_t nr, float y,
                       float lr)
{
    shared *s = w->s;
    const wr_mf_opts *o = s->o;
    const wr_sgns_kernel *k = s->k;
    uint32_t st = s->stride;
    float *a = s->vec + (size_t)left * st, decay = (float)(lr * o->l2), bias_grad = 0;
    float g0 = s->bias ? (float)atomic_load_explicit(&s->gbias, memory_order_relaxed) : 0;
    memset(w->grad, 0, st * sizeof(float));
    uint32_t terms = 0;
    for (uint32_t j = 0; j < nr; j++) {
        if (right[j] == left || (j > 0 && right[j] == right[0]))
            continue; /* a pair with itself, or a "negative" that is the positive */
        float *b = s->vec + (size_t)right[j] * st, score;
        k->dots(a, &b, 1, &score, st);
        if (s->bias)
            score += s->bias[left] + s->bias[right[j]] + g0;
        float target = j == 0 ? y : 0;
        /* minus the derivative of the loss by the score, times the learning rate. The
         * squared error's residual is clipped to +-1 (Huber loss): unclipped, a heavy pair
         * on a large catalogue overshoots and the rows grow without bound (electronics
         * scale reached non-finite values within the first epoch). */
        float ge = lr * (o->labels == WR_MF_BINARY ? target - sigmoidf(score)
                                                   : fminf(1, fmaxf(-1, target - score)));
        if (decay > 0)
            k->axpy(-decay, b, b, st);
        k->update(a, w->grad, &b, 1, &ge, st);
        if (s->bias) {
            s->bias[right[j]] += ge - decay * s->bias[right[j]];
            bias_grad += ge;
        }
        terms++;
    }
    if (terms == 0)
        return;
    if (decay > 0)
        k->axpy(-decay * (float)terms, a, w->grad, st);
    k->axpy(1, w->grad, a, st);
    if (s->bias) {
        s->bias[left] += bias_grad - decay * (float)terms * s->bias[left];
        if (w->id == 0)
            atomic_store_explicit(&s->gbias, g0 + bias_grad, memory_order_relaxed);
    }
}

/* train_left with AdaGrad or Adam: the gradient of the same loss and L2 pull, each right
 * row and bias stepped at once, the left row after all of them. */
static void train_left_adaptive(worker *w, uint32_t left, const uint32_t *right, uint32_t nr,
                                float y, float lr)
{
    shared *s = w->s;
    const wr_mf_opts *o = s->o;
    uint32_t st = s->stride;
    float *a = s->vec + (size_t)left * st, l2 = (float)o->l2, bias_grad = 0;
    float g0 = s->bias ? (float)atomic_load_explicit(&s->gbias, memory_order_relaxed) : 0;
    const wr_sgns_kernel *k = s->k;
    rate r = {.opt = s->opt, .lr = lr};
    if (s->opt == WR_MF_ADAM) {
        w->b1t *= BETA1;
        w->b2t *= BETA2;
        r.lr = (float)(lr * sqrt(1 - w->b2t) / (1 - w->b1t));
    }
    float *ga = w->grad, *gb = w->gb;
    memset(ga, 0, st * sizeof(float));
    uint32_t terms = 0;
    for (uint32_t j = 0; j < nr; j++) {
        if (right[j] == left || (j > 0 && right[j] == right[0]))
            continue; /* a pair with itself, or a "negative" that is the positive */
        uint32_t rj = right[j];
        float *b = s->vec + (size_t)rj * st, score;
        k->dots(a, &b, 1, &score, st);
        if (s->bias)
            score += s->bias[left] + s->bias[rj] + g0;
        float target = j == 0 ? y : 0;
        /* the derivative of the loss by the score (the squared error's clipped, as in
         * train_left) */
        float e = o->labels == WR_MF_BINARY ? sigmoidf(score) - target
                                            : -fminf(1, fmaxf(-1, target - score));
        k->axpy(e, b, ga, st);
        memset(gb, 0, st * sizeof(float));
        k->axpy(e, a, gb, st);
        if (l2 > 0)
            k->axpy(l2, b, gb, st);
        s->apply(&r, b, s->m1 + (size_t)rj * st, s->m2 + (size_t)rj * st, gb, st);
        if (s->bias) {
            apply_one(&r, &s->bias[rj], &s->bm1[rj], &s->bm2[rj], e + l2 * s->bias[rj]);
            bias_grad += e;
        }
        terms++;
    }
    if (terms == 0)
        return;
    if (l2 > 0)
        k->axpy((float)terms * l2, a, ga, st);
    s->apply(&r, a, s->m1 + (size_t)left * st, s->m2 + (size_t)left * st, ga, st);
    if (s->bias) {
        apply_one(&r, &s->bias[left], &s->bm1[left], &s->bm2[left],
                  bias_grad + (float)terms * l2 * s->bias[left]);
        if (w->id == 0) {
            float g = g0;
            apply_one(&r, &g, &s->g1, &s->g2, bias_grad);
            atomic_store_explicit(&s->gbias, g, memory_order_relaxed);
        }
    }
}

/* The posts' recipe, PyTorch's way: the loss is the mean over a batch of BATCH left items
 * and their right items, and L2 c |V|^2 (c = l2) is over the whole table, so torch.optim.Adam
 * steps every row after each batch. train_left_dense adds a left item's loss gradients to
 * the batch; dense_step takes the step. One thread (mf_train sees to it). */
static void train_left_dense(worker *w, uint32_t left, const uint32_t *right, uint32_t nr,
                             float y)
{
    shared *s = w->s;
    uint32_t st = s->stride;
    const float *a = s->vec + (size_t)left * st;
    float *ga = s->acc + (size_t)left * st, scale = 1.0f / (float)(BATCH * nr);
    float g0 = s->bias ? (float)atomic_load_explicit(&s->gbias, memory_order_relaxed) : 0;
    for (uint32_t j = 0; j < nr; j++) {
        if (right[j] == left || (j > 0 && right[j] == right[0]))
            continue;
        const float *b = s->vec + (size_t)right[j] * st;
        float score;
        s->k->dots(a, (float *const *)&b, 1, &score, st);
        if (s->bias)
            score += s->bias[left] + s->bias[right[j]] + g0;
        float target = j == 0 ? y : 0;
        float e = scale * (s->o->labels == WR_MF_BINARY ? sigmoidf(score) - target
                                                        : -fminf(1, fmaxf(-1, target - score)));
        /* the loss's gradient: left row from the right one, right row from the left one */
        s->k->axpy(e, b, ga, st);
        s->k->axpy(e, a, s->acc + (size_t)right[j] * st, st);
        if (s->bias) {
            s->bacc[left] += e;
            s->bacc[right[j]] += e;
            s->gacc += e;
        }
    }
}

static void dense_step(worker *w, float lr)
{
    shared *s = w->s;
    uint32_t st = s->stride;
    float l2 = (float)(2 * s->o->l2);
    w->b1t *= BETA1;
    w->b2t *= BETA2;
    rate r = {.opt = WR_MF_ADAM, .lr = (float)(lr * sqrt(1 - w->b2t) / (1 - w->b1t))};
    for (uint32_t v = 0; v < s->n; v++) {
        float *p = s->vec + (size_t)v * st, *g = s->acc + (size_t)v * st;
        s->k->axpy(l2, p, g, st);
        s->apply(&r, p, s->m1 + (size_t)v * st, s->m2 + (size_t)v * st, g, st);
        memset(g, 0, st * sizeof(float));
        if (s->bias) {
            apply_one(&r, &s->bias[v], &s->bm1[v], &s->bm2[v], s->bacc[v] + l2 * s->bias[v]);
            s->bacc[v] = 0;
        }
    }
    if (s->bias) {
        float g = (float)atomic_load_explicit(&s->gbias, memory_order_relaxed);
        apply_one(&r, &g, &s->g1, &s->g2, s->gacc);
        atomic_store_explicit(&s->gbias, g, memory_order_relaxed);
        s->gacc = 0;
    }
    s->inbatch = 0;
}

/* One left item against its right items, by the chosen optimiser. */
static void learn(worker *w, uint32_t left, const uint32_t *right, uint32_t nr, float y,
                  float lr)
{
    shared *s = w->s;
    if (s->dense) {
        train_left_dense(w, left, right, nr, y);
        if (++s->inbatch == BATCH)
            dense_step(w, lr);
    } else if (s->opt == WR_MF_SGD) {
        train_left(w, left, right, nr, y, lr);
    } else {
        train_left_adaptive(w, left, right, nr, y, lr);
    }
}

static void draw_negatives(worker *w, uint32_t *right)
{
    for (uint32_t j = 1; j <= w->s->o->negative; j++)
        right[j] = alias_draw(w->s->neg.cell, w->s->neg.n, &w->rng);
}

static void shuffle(uint64_t *v, uint64_t n, wr_rng *r)
{
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = rng_below(r, (uint32_t)i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* mf: the directed pair at position u of the (sliced) order. */
static void pair_unit(worker *w, uint64_t u, float lr)
{
    const shared *s = w->s;
    uint64_t d = s->order[u];
    const wr_pair *pr = &s->p->v[d >> 1];
    uint32_t left = d & 1 ? pr->b : pr->a;
    w->right[0] = d & 1 ? pr->a : pr->b;
    draw_negatives(w, w->right);
    float y = s->o->labels == WR_MF_BINARY ? 1.0f : (float)(pr->w / s->target_scale);
    learn(w, left, w->right, 1 + s->o->negative, y, lr);
}

/* mf-seq: every (centre, context) pair of walk u, word2vec's reduced window. */
static uint64_t walk_unit(worker *w, uint64_t u, float lr)
{
    const shared *s = w->s;
    const wr_corpus *c = s->c;
    const uint32_t *t = c->tok + c->off[u];
    uint32_t len = (uint32_t)(c->off[u + 1] - c->off[u]), win = s->o->window;
    uint32_t *right = w->right;
    for (uint32_t i = 0; i < len; i++) {
        uint32_t r = win - rng_below(&w->rng, win);
        uint32_t j0 = i > r ? i - r : 0, j1 = len - i > r ? i + r + 1 : len;
        for (uint32_t j = j0; j < j1; j++) {
            if (j == i)
                continue;
            right[0] = t[j];
            draw_negatives(w, right);
            learn(w, t[i], right, 1 + s->o->negative, 1.0f, lr);
        }
    }
    return len;
}

/* One chunk of units on worker ch->worker's thread; a worker reshuffles its slice of the
 * pairs as each epoch starts, and each unit's learning rate is taken at its start. */
static void step(void *ctx, const wr_hogwild_chunk *ch)
{
    shared *s = ctx;
    worker *w = &s->w[ch->worker];
    if (ch->in_epoch == 0 && s->order)
        shuffle(s->order + ch->slice0, ch->slice1 - ch->slice0, &w->rng);
    uint64_t n = 0;
    for (uint64_t u = ch->u0; u < ch->u1; u++) {
        float lr = hogwild_lr(&s->h, ch, n);
        if (s->order) {
            pair_unit(w, u, lr);
            n++;
        } else {
            n += walk_unit(w, u, lr);
        }
    }
}

/* ---- the learning curve ------------------------------------------------------------- */

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* only allocation fails here */
}

/* The scoring part of the metadata, which eval_model reads. */
static void score_meta(json_t *meta, const shared *s)
{
    const wr_mf_opts *o = s->o;
    jset(meta, "score", json_string(o->bias ? "dot+bias" : "dot"));
    jset(meta, "labels", json_string(o->labels == WR_MF_BINARY ? "binary" : "continuous"));
    if (o->bias)
        jset(meta, "global_bias", json_real(atomic_load(&s->gbias)));
    if (o->labels == WR_MF_CONTINUOUS)
        jset(meta, "target_scale", json_real(s->target_scale));
}

/* The rows without their padding. */
static void copy_out(const shared *s, float *out)
{
    uint32_t dim = s->o->dim;
    for (uint32_t v = 0; v < s->n; v++)
        memcpy(out + (size_t)v * dim, s->vec + (size_t)v * s->stride, dim * sizeof(float));
}

/* One point of the curve, scored exactly as eval will score the finished model: an
 * evaluation point of the driver, every worker waiting. */
static void curve_point(void *ctx, double progress, uint32_t epoch)
{
    shared *s = ctx;
    double t0 = wr_now();
    copy_out(s, s->snap);
    json_t *meta = json_object();
    score_meta(meta, s);
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(meta);
    if (!text)
        abort();
    wr_model m = {.n = s->n, .dim = s->o->dim, .ids = (wr_dict *)s->ids, .vecs = s->snap,
                  .bias = s->bias, .meta_json = text};
    wr_err err;
    if (train_curve_point(&m, s->o->val, s->threads, progress, epoch, s->points,
                          s->o->on_point, s->o->point_ctx, &err) < 0)
        wr_warn("learning curve: %s", err.msg);
    free(text);
    s->eval_seconds += wr_now() - t0;
}

/* ---- the best epoch on held-out pairs ------------------------------------------------ */

/* The score eval gives the pair of rows a and b (mf.h), from the training's rows. */
static double score_rows(const void *ctx, uint32_t a, uint32_t b)
{
    const shared *s = ctx;
    float d;
    float *y = s->vec + (size_t)b * s->stride;
    s->k->dots(s->vec + (size_t)a * s->stride, &y, 1, &d, s->stride);
    if (!s->bias)
        return d;
    return (double)d + s->bias[a] + s->bias[b] + atomic_load(&s->gbias);
}

/* The driver's evaluation points: the learning curve's and the ends of the epochs, both
 * among lcm(curve points, epochs) evenly spaced points. 0 for neither. */
static uint32_t points_of_run(const shared *s)
{
    uint64_t e = s->o->epochs, c = s->curve_evals ? s->curve_evals : 1, a = e, b = c;
    if (!s->best.aucs)
        return s->curve_evals;
    while (b) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return (uint32_t)(c / a * e);
}

/* Point j of h.evals: a point of the curve, the end of an epoch, or both. */
static void at_point(void *ctx, double progress, uint32_t epoch)
{
    shared *s = ctx;
    uint64_t evals = s->h.evals, j = (uint64_t)llround(progress * (double)evals);
    if (s->best.aucs && j * s->o->epochs % evals == 0)
        best_epoch_check(&s->best, (uint32_t)(j * s->o->epochs / evals), score_rows, s);
    if (s->points && j * s->curve_evals % evals == 0)
        curve_point(s, progress, epoch);
}

/* ---- setup -------------------------------------------------------------------------- */

/* Rows uniform with variance 0.01 / dim per coordinate, so |v| is about 0.1: measured on
 * the shared data sets, rows of length 1 bury what an item with a handful of pairs learns
 * in the noise of its start. Items that never occur keep a zero row. The item biases start
 * at 0 and the global bias at the score that fits the share of positives, -ln(negative)
 * (binary) or the mean target (continuous): else the biases of the most frequent items,
 * which move fastest, would take the whole common shift and rank rare items first. */
static float normal(wr_rng *r)
{
    double u = 1 - rng_double(r), v = rng_double(r);
    return (float)(sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

static void init_rows(shared *s, const uint64_t *count)
{
    const wr_mf_opts *o = s->o;
    uint32_t dim = o->dim;
    float a = 0.1f * sqrtf(3.0f / (float)dim);
    wr_rng r;
    rng_seed(&r, s->o->seed);
    memset(s->vec, 0, (size_t)s->n * s->stride * sizeof(float));
    for (uint32_t v = 0; v < s->n; v++)
        if (count[v])
            for (uint32_t d = 0; d < dim; d++)
                s->vec[(size_t)v * s->stride + d] = o->init == WR_MF_INIT_NORMAL
                                                        ? normal(&r)
                                                        : a * (2 * rng_float(&r) - 1);
    if (!s->bias)
        return;
    memset(s->bias, 0, ((size_t)s->n + 1) * sizeof(float));
    if (o->init == WR_MF_INIT_NORMAL) { /* nn.Embedding's N(0, 1), the global bias 1 */
        for (uint32_t v = 0; v < s->n; v++)
            s->bias[v] = count[v] ? normal(&r) : 0;
        atomic_store(&s->gbias, 1.0);
        return;
    }
    double g = 0;
    if (o->labels == WR_MF_CONTINUOUS)
        g = 1.0 / (1 + o->negative); /* the targets' mean is 1 */
    else if (o->negative > 0)
        g = -log((double)o->negative);
    atomic_store(&s->gbias, g);
}

static json_t *trainer_meta(const wr_mf_opts *o, int threads)
{
    json_t *j = json_object();
    jset(j, "algo", json_string(mf_algo_name(o)));
    jset(j, "dim", json_integer(o->dim));
    jset(j, "negative", json_integer(o->negative));
    jset(j, "negatives", json_string(o->source == WR_MF_WALKS ? "frequency" : "frequency^0.75"));
    jset(j, "epochs", json_integer(o->epochs));
    jset(j, "optimizer", json_string(mf_optimizer_name(mf_optimizer(o))));
    jset(j, "init", json_string(mf_init_name(o->init)));
    jset(j, "lr", json_real(mf_lr(o)));
    jset(j, "min_lr", json_real(o->min_lr));
    jset(j, "lr_schedule", json_string("cosine"));
    jset(j, "l2", json_real(o->l2));
    jset(j, "bias", json_boolean(o->bias));
    jset(j, "labels", json_string(o->labels == WR_MF_BINARY ? "binary" : "continuous"));
    if (o->source == WR_MF_WALKS)
        jset(j, "window", json_integer(o->window));
    jset(j, "threads", json_integer(threads));
    jset(j, "seed", json_integer((json_int_t)o->seed));
    jset(j, "kernel", json_string(sgns_kernel()->name));
    return j;
}

/* meta holds the stages before training (train_prepare's object for mf-seq); it is
 * consumed. */
static char *model_meta(const shared *s, json_t *meta, const wr_train_times *t, json_t *curve,
                        int threads)
{
    const wr_mf_opts *o = s->o;
    json_t *times = json_object_get(meta, "times");
    jset(meta, "algo", json_string(mf_algo_name(o)));
    score_meta(meta, s);
    jset(meta, "trainer", trainer_meta(o, threads));
    jset(meta, "items", json_integer(s->n));
    if (o->source == WR_MF_WALKS) {
        jset(meta, "sequences", json_integer((json_int_t)t->sequences));
        jset(meta, "tokens", json_integer((json_int_t)t->tokens));
    } else {
        jset(meta, "directed_pairs", json_integer((json_int_t)t->tokens));
    }
    jset(times, "train", json_real(t->train));
    if (curve)
        jset(times, "learning_curve", json_real(t->eval));
    if (curve)
        json_object_set(meta, "learning_curve", curve);
    if (s->best.aucs)
        jset(meta, "best_epoch", best_epoch_meta(&s->best));
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(meta);
    if (!text)
        abort();
    return text;
}

/* Continuous targets are the weights over their mean, so that one learning rate suits
 * weights of any scale (plain SGD on raw counts in the hundreds diverges). */
static double mean_weight(const wr_pairs *p)
{
    double sum = 0;
    for (size_t i = 0; i < p->n; i++)
        sum += p->v[i].w;
    return sum > 0 ? sum / (double)p->n : 1;
}

static void corpus_counts(const wr_corpus *c, uint64_t *count)
{
    for (uint64_t j = 0; j < c->ntok; j++)
        count[c->tok[j]]++;
}

static float *zeroed_rows(size_t floats)
{
    float *f = xmalloc_aligned(floats * sizeof(float));
    memset(f, 0, floats * sizeof(float));
    return f;
}

wr_model *mf_train(const wr_pairs *p, const wr_mf_opts *o, wr_train_times *t, wr_err *err)
{
    wr_train_times local;
    if (!t)
        t = &local;
    memset(t, 0, sizeof *t);
    if (check_opts(p, o, err) < 0)
        return NULL;
    uint32_t n = dict_size(p->ids);
    wr_corpus c = {0};
    json_t *meta;
    if (o->source == WR_MF_WALKS) {
        if (!(meta = train_prepare(p, &o->walk, &c, t, err)))
            return NULL;
    } else {
        meta = json_object();
        jset(meta, "source", json_string("pairs"));
        jset(meta, "pairs", json_integer((json_int_t)p->n));
        jset(meta, "times", json_object());
    }
    shared s = {.o = o, .k = sgns_kernel(), .p = p, .n = n, .stride = (o->dim + 15) & ~15u,
                .target_scale = 1};
    atomic_init(&s.gbias, 0.0);
    if (o->labels == WR_MF_CONTINUOUS)
        s.target_scale = mean_weight(p);
    /* frequency in training: pair degrees (mf), walk tokens (mf-seq) */
    uint64_t *count = xcalloc((size_t)n + 1, sizeof *count), units;
    if (o->source == WR_MF_WALKS) {
        s.c = &c;
        units = c.nseq;
        corpus_counts(&c, count);
        t->sequences = c.nseq;
        t->tokens = c.ntok;
    } else {
        units = 2 * (uint64_t)p->n;
        s.order = xmalloc(units * sizeof *s.order);
        for (uint64_t u = 0; u < units; u++)
            s.order[u] = u;
        pair_counts(p, count);
        t->tokens = units;
    }
    int rc = s.c ? alias_init(&s.neg, count, n, 1.0, err) : mf_sampler_build(&s.neg, p, err);
    if (rc < 0) {
        free(count);
        free(s.order);
        walk_corpus_free(&c);
        json_decref(meta);
        return NULL;
    }
    s.vec = xmalloc_aligned((size_t)n * s.stride * sizeof(float));
    s.bias = o->bias ? xmalloc_aligned(((size_t)n + 1) * sizeof(float)) : NULL;
    s.opt = mf_optimizer(o);
    if (s.opt != WR_MF_SGD) {
        s.m2 = zeroed_rows((size_t)n * s.stride);
        s.bm2 = xcalloc((size_t)n + 1, sizeof(float));
        s.apply = apply_kernel(s.opt);
    }
    if (s.opt == WR_MF_ADAM) {
        s.m1 = zeroed_rows((size_t)n * s.stride);
        s.bm1 = xcalloc((size_t)n + 1, sizeof(float));
    }
    s.dense = s.opt == WR_MF_ADAM && o->init == WR_MF_INIT_NORMAL;
    if (s.dense) {
        s.acc = zeroed_rows((size_t)n * s.stride);
        s.bacc = xcalloc((size_t)n + 1, sizeof(float));
    }
    s.lr = mf_lr(o);
    init_rows(&s, count);
    free(count);

    s.threads = s.dense ? 1 : o->threads > 0 ? o->threads : wr_cpu_count();
    s.h = (wr_hogwild_opts){.units = units, .off = s.c ? c.off : NULL, .epochs = o->epochs,
                            .threads = s.threads, .chunk = CHUNK, .schedule = WR_LR_COSINE,
                            .lr = s.lr, .min_lr = o->min_lr, .step = step, .ctx = &s,
                            .what = "training", .unit = s.c ? "tokens" : "pairs",
                            .extra = s.k->name};
    int nw = hogwild_workers(&s.h);
    worker *w = s.w = xcalloc((size_t)nw, sizeof *w);
    /* one seeded shuffle of all pairs first, so that every slice is a random sample */
    wr_rng r;
    rng_seed(&r, o->seed ^ 0x6D66u);
    if (s.order)
        shuffle(s.order, units, &r);
    for (int i = 0; i < nw; i++) {
        w[i].s = &s;
        w[i].id = i;
        rng_seed(&w[i].rng, o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)));
        w[i].grad = xmalloc_aligned(s.stride * sizeof(float));
        w[i].gb = xmalloc_aligned(s.stride * sizeof(float));
        w[i].b1t = w[i].b2t = 1;
    }

    if (o->val && o->eval_every) {
        s.curve_evals = o->eval_every;
        s.ids = p->ids;
        s.points = json_array();
        s.snap = xmalloc_aligned((size_t)n * o->dim * sizeof(float) + 64);
    }
    if (o->holdout)
        best_epoch_init(&s.best, o->holdout, p, o->seed);
    s.h.evals = points_of_run(&s);
    s.h.pause = s.h.evals ? at_point : NULL;
    double t0 = wr_now();
    hogwild_run(&s.h);
    t->eval = s.eval_seconds;
    t->train = wr_now() - t0 - t->eval;

    wr_model *m = model_new(n, o->dim);
    for (uint32_t i = 0; i < n; i++)
        dict_intern(m->ids, dict_str(p->ids, i), dict_strlen(p->ids, i));
    copy_out(&s, m->vecs);
    if (s.bias) {
        m->bias = xmalloc_aligned(((size_t)n + 1) * sizeof(float));
        memcpy(m->bias, s.bias, (size_t)n * sizeof(float));
    }
    free(m->meta_json);
    m->meta_json = model_meta(&s, meta, t, s.points, s.threads);

    json_decref(s.points);
    free(s.snap);
    best_epoch_free(&s.best);
    for (int i = 0; i < nw; i++) {
        free(w[i].grad);
        free(w[i].gb);
    }
    free(w);
    free(s.vec);
    free(s.bias);
    free(s.order);
    free(s.m1);
    free(s.m2);
    free(s.acc);
    free(s.bacc);
    free(s.bm1);
    free(s.bm2);
    alias_free(&s.neg);
    walk_corpus_free(&c);
    return m;
}
