/* test_sgns.c - the word2vec trainer: subsampling, kernels, repeatability,
 * learning, evaluation callbacks and errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "walkrec/rng.h"
#include "walkrec/sgns.h"

/* Sequences of length len over vocab tokens: a random walk on two rings of `vocab / 2`
 * tokens each (step -1, +1 or +2 within the ring), so tokens of one ring co-occur. */
static void ring_corpus(wr_corpus *c, uint32_t vocab, uint64_t nseq, uint32_t len, uint64_t seed)
{
    wr_rng r;
    rng_seed(&r, seed);
    uint32_t half = vocab / 2;
    c->nseq = nseq;
    c->ntok = nseq * len;
    c->tok = xmalloc(c->ntok * sizeof *c->tok);
    c->off = xmalloc((nseq + 1) * sizeof *c->off);
    for (uint64_t q = 0; q <= nseq; q++)
        c->off[q] = q * len;
    for (uint64_t q = 0; q < nseq; q++) {
        uint32_t ring = q % 2, pos = rng_below(&r, half);
        for (uint32_t j = 0; j < len; j++) {
            c->tok[q * len + j] = ring * half + pos;
            pos = (pos + half + rng_below(&r, 4) - 1) % half;
        }
    }
}

static void free_corpus(wr_corpus *c)
{
    free(c->tok);
    free(c->off);
}

static wr_sgns_opts small_opts(void)
{
    wr_sgns_opts o;
    sgns_default_opts(&o);
    o.dim = 32;
    o.threads = 1;
    o.epochs = 3;
    o.subsample = 0; /* with 40 tokens it would drop three quarters of these tiny corpora */
    return o;
}

static void test_keep_prob(void **state)
{
    (void)state;
    /* word2vec: (sqrt(f / (s * total)) + 1) * s * total / f */
    assert_true(fabs(sgns_keep_prob(1000, 10000, 1e-3) - 0.11) < 1e-12);
    double st = 1e-4 * 1e6, f = 5000;
    assert_true(fabs(sgns_keep_prob(5000, 1000000, 1e-4) - (sqrt(f / st) + 1) * st / f) < 1e-12);
    assert_true(sgns_keep_prob(1, 10000, 1e-3) == 1);   /* rare tokens are always kept */
    assert_true(sgns_keep_prob(1000, 10000, 0) == 1);   /* 0 switches subsampling off */
    assert_true(sgns_keep_prob(0, 10000, 1e-3) == 1);
    double prev = 1;
    for (uint64_t c = 10; c <= 100000; c *= 10) {
        double p = sgns_keep_prob(c, 1000000, 1e-4);
        assert_true(p <= prev && p > 0);
        prev = p;
    }
}

static float *random_row(wr_rng *r, uint32_t n)
{
    float *v = xmalloc_aligned(n * sizeof *v);
    for (uint32_t d = 0; d < n; d++)
        v[d] = rng_float(r) * 2 - 1;
    return v;
}

static void assert_close(const float *a, const float *b, uint32_t n, float tol)
{
    for (uint32_t d = 0; d < n; d++)
        if (!(fabsf(a[d] - b[d]) <= tol * (1 + fabsf(b[d]))))
            fail_msg("element %u: %.9g vs %.9g", d, a[d], b[d]);
}

/* Runs dots and update of kernel k and of the scalar kernel on copies of the same rows. */
static void compare_kernels(const wr_sgns_kernel *k, const wr_sgns_kernel *ref, uint32_t n,
                            uint32_t nout, int din_is_in, wr_rng *r)
{
    float *in[2], *din[2], *out[2][8], m[2][8], g[8];
    float *in0 = random_row(r, n), *din0 = random_row(r, n), *out0[8];
    for (uint32_t o = 0; o < nout; o++) {
        out0[o] = random_row(r, n);
        g[o] = rng_float(r) - 0.5f;
    }
    const wr_sgns_kernel *ks[2] = {k, ref};
    for (int v = 0; v < 2; v++) {
        in[v] = xmalloc_aligned(n * sizeof(float));
        memcpy(in[v], in0, n * sizeof(float));
        din[v] = in[v];
        if (!din_is_in) {
            din[v] = xmalloc_aligned(n * sizeof(float));
            memcpy(din[v], din0, n * sizeof(float));
        }
        for (uint32_t o = 0; o < nout; o++) {
            out[v][o] = xmalloc_aligned(n * sizeof(float));
            memcpy(out[v][o], out0[o], n * sizeof(float));
        }
        ks[v]->dots(in[v], out[v], nout, m[v], n);
        ks[v]->update(in[v], din[v], out[v], nout, g, n);
        ks[v]->axpy(0.375f, out[v][0], in[v], n);
    }
    assert_close(m[0], m[1], nout, 1e-5f);
    assert_close(in[0], in[1], n, 1e-5f);
    assert_close(din[0], din[1], n, 1e-5f);
    for (uint32_t o = 0; o < nout; o++)
        assert_close(out[0][o], out[1][o], n, 1e-5f);
    /* and the scalar kernel does what its contract says */
    for (uint32_t o = 0; o < nout; o++) {
        double dot = 0;
        for (uint32_t d = 0; d < n; d++)
            dot += (double)in0[d] * out0[o][d];
        assert_true(fabs(m[1][o] - dot) < 1e-4 * (1 + fabs(dot)));
        for (uint32_t d = 0; d < n; d += 7)
            assert_true(fabsf(out[1][o][d] - (out0[o][d] + g[o] * in0[d])) < 1e-5f);
    }
    for (int v = 0; v < 2; v++) {
        if (!din_is_in)
            free(din[v]);
        free(in[v]);
        for (uint32_t o = 0; o < nout; o++)
            free(out[v][o]);
    }
    free(in0);
    free(din0);
    for (uint32_t o = 0; o < nout; o++)
        free(out0[o]);
}

static void test_kernels_match_scalar(void **state)
{
    (void)state;
    const wr_sgns_kernel *const *list;
    size_t nk = sgns_kernels(&list);
    assert_true(nk >= 1);
    assert_string_equal(list[0]->name, "scalar");
    int found = 0;
    for (size_t i = 0; i < nk; i++)
        found |= list[i] == sgns_kernel();
    assert_true(found);
    wr_rng r;
    rng_seed(&r, 3);
    for (size_t i = 0; i < nk; i++)
        for (uint32_t n = 16; n <= 144; n += 64)
            for (uint32_t nout = 1; nout <= 8; nout++) {
                compare_kernels(list[i], list[0], n, nout, 0, &r);
                compare_kernels(list[i], list[0], n, nout, 1, &r);
            }
}

static void test_repeatable(void **state)
{
    (void)state;
    wr_corpus c;
    ring_corpus(&c, 60, 600, 10, 5);
    for (int mode = WR_MODE_SG; mode <= WR_MODE_CBOW; mode++)
        for (uint32_t dim = 20; dim <= 32; dim += 12) { /* 20 pads rows to 32 inside */
            wr_sgns_opts o = small_opts();
            o.mode = mode;
            o.dim = dim;
            size_t bytes = 60 * dim * sizeof(float);
            float *a = xmalloc_aligned(bytes), *b = xmalloc_aligned(bytes);
            wr_err err;
            assert_int_equal(sgns_train(&c, 60, &o, a, &err), 0);
            assert_int_equal(sgns_train(&c, 60, &o, b, &err), 0);
            assert_memory_equal(a, b, bytes);
            o.seed = 2;
            assert_int_equal(sgns_train(&c, 60, &o, b, &err), 0);
            assert_memory_not_equal(a, b, bytes);
            free(a);
            free(b);
        }
    free_corpus(&c);
}

static double cosine(const float *a, const float *b, uint32_t dim)
{
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t d = 0; d < dim; d++) {
        ab += (double)a[d] * b[d];
        aa += (double)a[d] * a[d];
        bb += (double)b[d] * b[d];
    }
    return ab / sqrt(aa * bb);
}

/* Mean cosine within a ring minus across rings. */
static double separation(const float *v, uint32_t vocab, uint32_t dim)
{
    double in = 0, across = 0;
    uint64_t nin = 0, nacross = 0;
    for (uint32_t a = 0; a < vocab; a++)
        for (uint32_t b = a + 1; b < vocab; b++) {
            double c = cosine(v + (size_t)a * dim, v + (size_t)b * dim, dim);
            if ((a < vocab / 2) == (b < vocab / 2)) {
                in += c;
                nin++;
            } else {
                across += c;
                nacross++;
            }
        }
    return in / nin - across / nacross;
}

static void test_learns_rings(void **state)
{
    (void)state;
    wr_corpus c;
    ring_corpus(&c, 40, 2000, 10, 9);
    for (int mode = WR_MODE_SG; mode <= WR_MODE_CBOW; mode++)
        for (int sched = WR_LR_LINEAR; sched <= WR_LR_COSINE; sched++) {
            wr_sgns_opts o = small_opts();
            o.mode = mode;
            o.lr_schedule = sched;
            o.threads = 2;
            float *v = xmalloc_aligned(40 * 32 * sizeof(float));
            wr_err err;
            assert_int_equal(sgns_train(&c, 40, &o, v, &err), 0);
            double sep = separation(v, 40, 32);
            if (!(sep > 0.2))
                fail_msg("mode %d schedule %d: separation %.3f", mode, sched, sep);
            free(v);
        }
    free_corpus(&c);
}

/* ctx_out gets the output vectors: an item's input vector meets the output vectors of items
 * on its own ring (which it co-occurs with) more than those of the other ring, and the
 * input vectors are the same as without ctx_out. */
static void test_context_out(void **state)
{
    (void)state;
    wr_corpus c;
    ring_corpus(&c, 40, 2000, 10, 9);
    wr_sgns_opts o = small_opts();
    o.threads = 1;
    float *v = xmalloc_aligned(40 * 32 * sizeof(float)), *w = xmalloc_aligned(40 * 32 * sizeof(float));
    float *ctx = xcalloc(40 * 32, sizeof(float));
    wr_err err;
    assert_int_equal(sgns_train(&c, 40, &o, v, &err), 0);
    o.ctx_out = ctx;
    assert_int_equal(sgns_train(&c, 40, &o, w, &err), 0);
    assert_memory_equal(v, w, 40 * o.dim * sizeof(float));
    double same = 0, other = 0;
    for (uint32_t a = 0; a < 40; a++)
        for (uint32_t b = 0; b < 40; b++) {
            double cs = cosine(v + (size_t)a * o.dim, ctx + (size_t)b * o.dim, o.dim);
            if ((a < 20) == (b < 20))
                same += cs / (20.0 * 40);
            else
                other += cs / (20.0 * 40);
        }
    if (!(same - other > 0.2))
        fail_msg("input against output: same ring %.3f, other ring %.3f", same, other);
    free(v);
    free(w);
    free(ctx);
    free_corpus(&c);
}

typedef struct evals {
    int calls;
    double progress[8];
    uint32_t epoch[8];
    double sep[8];
} evals;

static void on_eval(double progress, uint32_t epoch, const float *vecs, void *ctx)
{
    evals *e = ctx;
    if (e->calls < 8) {
        e->progress[e->calls] = progress;
        e->epoch[e->calls] = epoch;
        e->sep[e->calls] = separation(vecs, 40, 20);
    }
    e->calls++;
}

static void test_eval_callback(void **state)
{
    (void)state;
    wr_corpus c;
    ring_corpus(&c, 40, 1000, 10, 11);
    for (int threads = 1; threads <= 3; threads++) {
        wr_sgns_opts o = small_opts();
        o.dim = 20;
        o.epochs = 2;
        o.threads = threads;
        o.evals = 4;
        o.on_eval = on_eval;
        evals e = {0};
        o.eval_ctx = &e;
        float *v = xmalloc_aligned(40 * 20 * sizeof(float));
        wr_err err;
        assert_int_equal(sgns_train(&c, 40, &o, v, &err), 0);
        assert_int_equal(e.calls, 4);
        for (int j = 0; j < 4; j++)
            assert_true(fabs(e.progress[j] - (j + 1) / 4.0) < 1e-12);
        assert_int_equal(e.epoch[0], 1);
        assert_int_equal(e.epoch[1], 1);
        assert_int_equal(e.epoch[2], 2);
        assert_int_equal(e.epoch[3], 2);
        /* the last snapshot is the result */
        assert_true(fabs(e.sep[3] - separation(v, 40, 20)) < 1e-9);
        assert_true(e.sep[3] > 0.15);
        free(v);
    }
    free_corpus(&c);
}

static void test_unused_tokens_and_warm_start(void **state)
{
    (void)state;
    wr_corpus c;
    ring_corpus(&c, 20, 200, 10, 13); /* tokens 0..19; 20..23 never occur */
    wr_sgns_opts o = small_opts();
    float *v = xmalloc_aligned(24 * 32 * sizeof(float)), *init = xmalloc(24 * 32 * sizeof(float));
    wr_err err;
    assert_int_equal(sgns_train(&c, 24, &o, v, &err), 0);
    for (uint32_t d = 0; d < 20 * 32; d++)
        assert_true(isfinite(v[d]));
    for (uint32_t d = 20 * 32; d < 24 * 32; d++)
        assert_true(v[d] == 0);
    for (uint32_t d = 0; d < 24 * 32; d++)
        init[d] = (float)d / 1000;
    o.init = init;
    assert_int_equal(sgns_train(&c, 24, &o, v, &err), 0);
    assert_memory_equal(v + 20 * 32, init + 20 * 32, 4 * 32 * sizeof(float));
    assert_memory_not_equal(v, init, 20 * 32 * sizeof(float));
    free(v);
    free(init);
    free_corpus(&c);
}

static void test_errors(void **state)
{
    (void)state;
    wr_corpus c;
    ring_corpus(&c, 20, 50, 10, 17);
    wr_sgns_opts o = small_opts();
    float *v = xmalloc_aligned(20 * 32 * sizeof(float));
    wr_err err;
    assert_int_equal(sgns_train(&c, 19, &o, v, &err), -1);
    assert_non_null(strstr(err.msg, "outside the vocabulary"));
    o.negative = 0;
    assert_int_equal(sgns_train(&c, 20, &o, v, &err), -1);
    assert_non_null(strstr(err.msg, "negative"));
    o = small_opts();
    o.window = WR_SGNS_MAX_WINDOW + 1;
    assert_int_equal(sgns_train(&c, 20, &o, v, &err), -1);
    o = small_opts();
    o.min_lr = 1;
    assert_int_equal(sgns_train(&c, 20, &o, v, &err), -1);
    o = small_opts();
    wr_corpus empty = {.off = (uint64_t[]){0}, .nseq = 0, .ntok = 0};
    assert_int_equal(sgns_train(&empty, 20, &o, v, &err), -1);
    assert_non_null(strstr(err.msg, "empty"));
    free(v);
    free_corpus(&c);
}

int main(void)
{
    wr_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_prob),
        cmocka_unit_test(test_kernels_match_scalar),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_learns_rings),
        cmocka_unit_test(test_context_out),
        cmocka_unit_test(test_eval_callback),
        cmocka_unit_test(test_unused_tokens_and_warm_start),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
