/* test_mf.c - the matrix-factorisation baselines (mf.h) and eval's dot scoring. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "walkrec/mf.h"
#include "walkrec/rng.h"

#include "labeled.h"

#define CLIQUE 8
#define TINY_ADAM_LR 0.003

/* Held out of the cliques: i - (i + 1) for even i. */
static int held_out(int i, int j) { return j == i + 1 && i % 2 == 0; }

/* Two cliques of CLIQUE items ("a0".., "b0"..) joined by the edge a0 - b0, the held-out
 * pairs left out; weights 1 + (i + j) % 4 so continuous targets vary. Validation: the
 * held-out pairs (label 1) against every cross-clique pair but the bridge (label 0). */
static void two_cliques(wr_pairs *p, wr_labeled *v)
{
    char x[8], y[8];
    pairs_init(p);
    memset(v, 0, sizeof *v);
    for (char side = 'a'; side <= 'b'; side++)
        for (int i = 0; i < CLIQUE; i++)
            for (int j = i + 1; j < CLIQUE; j++) {
                snprintf(x, sizeof x, "%c%d", side, i);
                snprintf(y, sizeof y, "%c%d", side, j);
                if (held_out(i, j))
                    add_label(v, x, y, 1);
                else
                    pairs_add(p, x, strlen(x), y, strlen(y), (float)(1 + (i + j) % 4));
            }
    pairs_add(p, "a0", 2, "b0", 2, 1);
    pairs_merge(p);
    for (int i = 0; i < CLIQUE; i++)
        for (int j = 0; j < CLIQUE; j++) {
            snprintf(x, sizeof x, "a%d", i);
            snprintf(y, sizeof y, "b%d", j);
            if (i || j)
                add_label(v, x, y, 0);
        }
}

/* A learning rate for 16 items and 10 epochs, by optimizer: a few steps per item. */
static double tiny_lr(const wr_mf_opts *o)
{
    return mf_optimizer(o) == WR_MF_ADAM ? TINY_ADAM_LR : 0.1;
}

/* Small, fast and trained enough for 16 items. */
static wr_mf_opts small_opts(int source, int bias)
{
    wr_mf_opts o;
    mf_default_opts(&o);
    o.source = source;
    o.bias = bias;
    o.dim = 16;
    o.epochs = 10;
    o.lr = tiny_lr(&o);
    o.threads = 1;
    o.walk.threads = 1;
    return o;
}

static double auc_seen(const wr_model *m, const wr_labeled *v)
{
    wr_eval_opts eo;
    eval_default_opts(&eo);
    eo.max_queries = 0;
    eo.threads = 1;
    wr_eval_result r;
    wr_err err;
    assert_int_equal(eval_model(m, v, &eo, &r, &err), 0);
    assert_int_equal(r.pairs_unseen, 0);
    double auc = r.auc_seen;
    eval_result_free(&r);
    return auc;
}

static const char *meta_string(const wr_model *m, const char *key, char *buf, size_t size)
{
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    assert_non_null(meta);
    const char *s = json_string_value(json_object_get(meta, key));
    snprintf(buf, size, "%s", s ? s : "");
    json_decref(meta);
    return buf;
}

static void check_cliques(int source, int bias, const char *score)
{
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    wr_mf_opts o = small_opts(source, bias);
    wr_err err;
    wr_model *m = mf_train(&p, &o, NULL, &err);
    assert_non_null(m);
    assert_int_equal(m->n, 2 * CLIQUE);
    assert_true((m->bias != NULL) == bias);
    char buf[32];
    assert_string_equal(meta_string(m, "score", buf, sizeof buf), score);
    assert_string_equal(meta_string(m, "algo", buf, sizeof buf), mf_algo_name(&o));
    double auc = auc_seen(m, &v);
    print_message("%s%s: AUC %.4f\n", mf_algo_name(&o), bias ? " --bias" : "", auc);
    assert_true(auc > 0.9);
    model_free(m);
    eval_labeled_free(&v);
    pairs_free(&p);
}

static void test_cliques_mf(void **state) { check_cliques(WR_MF_PAIRS, 0, "dot"); }
static void test_cliques_mf_bias(void **state) { check_cliques(WR_MF_PAIRS, 1, "dot+bias"); }
static void test_cliques_mf_seq(void **state) { check_cliques(WR_MF_WALKS, 0, "dot"); }

static wr_model *train_with(const wr_pairs *p, const wr_mf_opts *o);

/* Every optimizer learns the cliques, mf and mf --bias; the metadata names the optimizer
 * AUTO resolved to, the learning rate used and the initialisation; N(0, 1) rows start at
 * about sqrt(dim) long, small ones at about 0.1. */
static void test_optimizers(void **state)
{
    static const struct {
        int source, optimizer;
        double lr;
        const char *name;
    } cases[] = {
        {WR_MF_PAIRS, WR_MF_AUTO, 0.003, "adam"},   {WR_MF_WALKS, WR_MF_AUTO, 0.1, "sgd"},
        {WR_MF_PAIRS, WR_MF_ADAM, 0.003, "adam"},   {WR_MF_PAIRS, WR_MF_ADAGRAD, 0.1, "adagrad"},
        {WR_MF_PAIRS, WR_MF_SGD, 0.1, "sgd"},       {WR_MF_WALKS, WR_MF_ADAM, 0.003, "adam"},
    };
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int bias = 0; bias <= 1; bias++) {
            wr_mf_opts o = small_opts(cases[k].source, bias);
            o.optimizer = cases[k].optimizer;
            o.lr = cases[k].lr;
            wr_model *m = train_with(&p, &o);
            double auc = auc_seen(m, &v);
            json_t *meta = json_loads(m->meta_json, 0, NULL);
            json_t *tr = json_object_get(meta, "trainer");
            print_message("%s, %s%s: AUC %.4f\n", mf_algo_name(&o), cases[k].name,
                          bias ? " --bias" : "", auc);
            assert_true(auc > 0.9);
            assert_string_equal(json_string_value(json_object_get(tr, "optimizer")),
                                cases[k].name);
            assert_true(json_real_value(json_object_get(tr, "lr")) == cases[k].lr);
            assert_string_equal(json_string_value(json_object_get(tr, "init")), "small");
            json_decref(meta);
            model_free(m);
        }
    /* lr 0: the optimizer's own, recorded */
    wr_mf_opts o = small_opts(WR_MF_PAIRS, 0);
    o.lr = 0;
    assert_true(mf_lr(&o) == 0.0003);
    o.labels = WR_MF_CONTINUOUS;
    assert_true(mf_lr(&o) == 0.0001);
    o.labels = WR_MF_BINARY;
    o.init = WR_MF_INIT_NORMAL;
    assert_true(mf_lr(&o) == 0.01); /* the posts' recipe */
    o.optimizer = WR_MF_SGD;
    assert_true(mf_lr(&o) == 0.01);
    /* initial lengths: train one tiny step so the rows are those of the start */
    for (int init = WR_MF_INIT_SMALL; init <= WR_MF_INIT_NORMAL; init++) {
        o = small_opts(WR_MF_PAIRS, 1);
        o.dim = 64;
        o.epochs = 1;
        o.lr = 1e-9;
        o.init = init;
        wr_model *m = train_with(&p, &o);
        double len = 0;
        for (uint32_t i = 0; i < m->n; i++) {
            double sq = 0;
            for (uint32_t d = 0; d < m->dim; d++)
                sq += (double)m->vecs[i * m->dim + d] * m->vecs[i * m->dim + d];
            len += sqrt(sq) / m->n;
        }
        print_message("init %s: mean length %.3f\n", mf_init_name(init), len);
        if (init == WR_MF_INIT_NORMAL)
            assert_true(fabs(len - 8) < 1); /* sqrt(64) */
        else
            assert_true(fabs(len - 0.1) < 0.02);
        model_free(m);
    }
    eval_labeled_free(&v);
    pairs_free(&p);
}

/* The posts' recipe (Adam from N(0, 1), mini-batches, every row stepped): on one thread
 * whatever was asked, at lr 0.01, repeatable; the rows shrink from their N(0, 1) start
 * and it learns the cliques. */
static void test_posts_recipe(void **state)
{
    wr_mf_opts o = small_opts(WR_MF_PAIRS, 1);
    o.optimizer = WR_MF_ADAM;
    o.init = WR_MF_INIT_NORMAL;
    o.lr = 0;
    o.threads = 2;
    o.epochs = 400; /* 100 directed pairs an epoch: one batch of 128 every 1.28 epochs */
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    wr_model *a = train_with(&p, &o), *b = train_with(&p, &o);
    assert_memory_equal(a->vecs, b->vecs, (size_t)a->n * a->dim * sizeof(float));
    json_t *meta = json_loads(a->meta_json, 0, NULL), *tr = json_object_get(meta, "trainer");
    assert_int_equal(json_integer_value(json_object_get(tr, "threads")), 1);
    assert_true(json_real_value(json_object_get(tr, "lr")) == 0.01);
    assert_string_equal(json_string_value(json_object_get(tr, "init")), "normal");
    double len = 0;
    for (uint32_t i = 0; i < a->n * a->dim; i++)
        len += (double)a->vecs[i] * a->vecs[i];
    len = sqrt(len / a->n);
    double auc = auc_seen(a, &v);
    print_message("posts' recipe: AUC %.4f, rows %.2f long (4 at the start)\n", auc, len);
    assert_true(len < 3.5);
    assert_true(auc > 0.65);
    json_decref(meta);
    model_free(a);
    model_free(b);
    eval_labeled_free(&v);
    pairs_free(&p);
}

static wr_model *train_with(const wr_pairs *p, const wr_mf_opts *o)
{
    wr_err err;
    wr_model *m = mf_train(p, o, NULL, &err);
    assert_non_null(m);
    return m;
}

static void test_deterministic(void **state)
{
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    for (int source = WR_MF_PAIRS; source <= WR_MF_WALKS; source++) {
        wr_mf_opts o = small_opts(source, 1);
        o.epochs = 3;
        o.seed = o.walk.seed = 42;
        wr_model *a = train_with(&p, &o), *b = train_with(&p, &o);
        size_t bytes = (size_t)a->n * a->dim * sizeof(float);
        assert_memory_equal(a->vecs, b->vecs, bytes);
        assert_memory_equal(a->bias, b->bias, a->n * sizeof(float));
        o.seed = 43;
        wr_model *c = train_with(&p, &o);
        assert_memory_not_equal(a->vecs, c->vecs, bytes);
        model_free(a);
        model_free(b);
        model_free(c);
    }
    eval_labeled_free(&v);
    pairs_free(&p);
}

/* Pearson's chi-square of draws against weights w (0: never drawn), and the degrees of
 * freedom in *df. */
static double chi_square(const uint64_t *got, const double *w, uint32_t n, uint64_t draws,
                         int *df)
{
    double total = 0, chi2 = 0;
    for (uint32_t i = 0; i < n; i++)
        total += w[i];
    *df = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (w[i] == 0) {
            assert_int_equal(got[i], 0);
            continue;
        }
        double want = (double)draws * w[i] / total;
        chi2 += (got[i] - want) * (got[i] - want) / want;
        (*df)++;
    }
    return chi2;
}

/* Draws follow the item degrees to the power 0.75: Pearson's chi-square against them far
 * below the 0.1% critical value, against the degrees themselves far above it; an item
 * without pairs is never drawn. */
static void test_sampler_frequency(void **state)
{
    enum { N = 10, DRAWS = 200000 };
    wr_pairs p;
    pairs_init(&p);
    char x[8], y[8];
    /* a hub i0 paired with i1..i8, and the chain i1 - i2 - ... - i8: degrees 8, 2, 3 x 6, 2 */
    for (int i = 1; i < N - 1; i++) {
        snprintf(x, sizeof x, "i%d", i);
        pairs_add(&p, "i0", 2, x, strlen(x), 1);
        snprintf(y, sizeof y, "i%d", i + 1);
        if (i + 1 < N - 1)
            pairs_add(&p, x, strlen(x), y, strlen(y), 1);
    }
    dict_intern(p.ids, "lonely", 6); /* an id without pairs */
    pairs_merge(&p);
    uint32_t n = dict_size(p.ids);
    assert_int_equal(n, N);
    uint32_t *deg = pairs_degree(&p);
    wr_alias s;
    wr_err err;
    assert_int_equal(mf_sampler_build(&s, &p, &err), 0);
    uint64_t got[N] = {0};
    wr_rng r;
    rng_seed(&r, 5);
    for (int k = 0; k < DRAWS; k++)
        got[alias_draw(s.cell, s.n, &r)]++;
    double w75[N], w1[N];
    for (uint32_t i = 0; i < n; i++) {
        w75[i] = pow(deg[i], 0.75);
        w1[i] = deg[i];
    }
    int df;
    double chi75 = chi_square(got, w75, n, DRAWS, &df), chi1 = chi_square(got, w1, n, DRAWS, &df);
    print_message("chi-square %.2f (degree^0.75), %.2f (degree), %d degrees of freedom\n",
                  chi75, chi1, df);
    assert_int_equal(df, 8);
    assert_true(chi75 < 26.12); /* the 0.1% critical value for 8 degrees of freedom */
    assert_true(chi1 > 26.12);
    alias_free(&s);
    free(deg);
    pairs_free(&p);
}

/* The biases go through the file's bias section and the global bias through the metadata,
 * and eval scores the reloaded model by v_a . v_b + b_a + b_b + g. */
static void test_bias_roundtrip(void **state)
{
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    wr_mf_opts o = small_opts(WR_MF_PAIRS, 1);
    wr_model *m = train_with(&p, &o);
    char path[] = "/tmp/test_mf_modelXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    wr_err err;
    assert_int_equal(model_save(m, path, &err), 0);
    wr_model *l = model_load(path, &err);
    unlink(path);
    assert_non_null(l);
    assert_non_null(l->bias);
    assert_memory_equal(l->bias, m->bias, m->n * sizeof(float));
    int nonzero = 0;
    for (uint32_t i = 0; i < l->n; i++)
        nonzero += l->bias[i] != 0;
    assert_true(nonzero > 0);
    json_t *meta = json_loads(l->meta_json, 0, NULL);
    json_t *g = json_object_get(meta, "global_bias");
    assert_true(json_is_number(g));
    double global = json_number_value(g);

    wr_eval_opts eo;
    eval_default_opts(&eo);
    eo.max_queries = 0;
    wr_eval_result r;
    assert_int_equal(eval_model(l, &v, &eo, &r, &err), 0);
    for (size_t i = 0; i < v.n; i++) {
        int64_t a = model_find(l, v.a[i]), b = model_find(l, v.b[i]);
        double want = l->bias[a] + l->bias[b] + global;
        for (uint32_t d = 0; d < l->dim; d++)
            want += (double)l->vecs[a * l->dim + d] * l->vecs[b * l->dim + d];
        assert_true(fabs(r.scores[i] - want) < 1e-5 * (1 + fabs(want)));
    }
    assert_true(r.auc_seen > 0.9);
    eval_result_free(&r);
    /* a dot+bias model without its biases is refused, not scored by something else */
    free(l->bias);
    l->bias = NULL;
    assert_int_equal(eval_model(l, &v, &eo, &r, &err), -1);
    json_decref(meta);
    model_free(l);
    model_free(m);
    eval_labeled_free(&v);
    pairs_free(&p);
}

/* Mean squared error of the model's score against every ordered pair of distinct items:
 * the weight over target_scale for training pairs, 0 for the rest. */
static double squared_error(const wr_model *m, const wr_pairs *p)
{
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    double scale = json_number_value(json_object_get(meta, "target_scale"));
    json_decref(meta);
    assert_true(scale > 0);
    double se = 0;
    size_t cnt = 0;
    for (uint32_t a = 0; a < m->n; a++)
        for (uint32_t b = 0; b < m->n; b++) {
            if (a == b)
                continue;
            double target = 0, s = 0;
            for (size_t i = 0; i < p->n; i++)
                if ((p->v[i].a == a && p->v[i].b == b) || (p->v[i].a == b && p->v[i].b == a))
                    target = p->v[i].w / scale;
            for (uint32_t d = 0; d < m->dim; d++)
                s += (double)m->vecs[a * m->dim + d] * m->vecs[b * m->dim + d];
            se += (s - target) * (s - target);
            cnt++;
        }
    return se / (double)cnt;
}

static void test_continuous_labels(void **state)
{
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    wr_mf_opts o = small_opts(WR_MF_PAIRS, 0);
    o.labels = WR_MF_CONTINUOUS;
    double prev = INFINITY, first = 0;
    for (uint32_t epochs = 1; epochs <= 64; epochs *= 4) {
        o.epochs = epochs;
        wr_model *m = train_with(&p, &o);
        double mse = squared_error(m, &p);
        print_message("continuous labels, %u epochs: squared error %.4f\n", epochs, mse);
        assert_true(mse < prev);
        prev = mse;
        first = first ? first : mse;
        model_free(m);
    }
    assert_true(prev < 0.5 * first);
    /* the walks carry no weights */
    o.source = WR_MF_WALKS;
    wr_err err;
    assert_null(mf_train(&p, &o, NULL, &err));
    eval_labeled_free(&v);
    pairs_free(&p);
}

static void on_point(double progress, uint32_t epoch, double all, double seen, void *ctx)
{
    (*(int *)ctx)++;
}

/* The curve lands in the metadata like train.c's: progress, epoch, auc_all, auc_seen. */
static void test_learning_curve(void **state)
{
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    wr_mf_opts o = small_opts(WR_MF_PAIRS, 1);
    int calls = 0;
    o.val = &v;
    o.eval_every = 4;
    o.on_point = on_point;
    o.point_ctx = &calls;
    wr_model *m = train_with(&p, &o);
    assert_int_equal(calls, 4);
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    json_t *curve = json_object_get(meta, "learning_curve");
    assert_int_equal(json_array_size(curve), 4);
    json_t *last = json_array_get(curve, 3);
    assert_true(json_real_value(json_object_get(last, "progress")) == 1.0);
    assert_int_equal(json_integer_value(json_object_get(last, "epoch")), o.epochs);
    double auc = json_real_value(json_object_get(last, "auc_seen"));
    assert_true(fabs(auc - auc_seen(m, &v)) < 1e-12); /* scored as eval scores the model */
    /* evaluating does not change what is learned */
    o.val = NULL;
    wr_model *quiet = train_with(&p, &o);
    assert_memory_equal(quiet->vecs, m->vecs, (size_t)m->n * m->dim * sizeof(float));
    json_decref(meta);
    model_free(quiet);
    model_free(m);
    eval_labeled_free(&v);
    pairs_free(&p);
}

/* eval ranks a "dot" model by dot product. q = (1, 0), x = (10, 10), y = (1, -0.5): by
 * cosine y is q's nearest, by dot product x is; x's nearest is q either way. */
static void test_eval_dot_ranking(void **state)
{
    static const char *ids[] = {"q", "x", "y"};
    static const float vecs[] = {1, 0, 10, 10, 1, -0.5f};
    wr_labeled v = {0};
    add_label(&v, "q", "x", 1);
    add_label(&v, "q", "y", 0);
    wr_eval_opts eo;
    eval_default_opts(&eo);
    eo.k = 1;
    eo.threads = 1;
    wr_err err;
    for (int dot = 0; dot <= 1; dot++) {
        wr_model *m = model_new(3, 2);
        for (uint32_t i = 0; i < 3; i++)
            dict_intern(m->ids, ids[i], 1);
        memcpy(m->vecs, vecs, sizeof vecs);
        if (dot) {
            free(m->meta_json);
            m->meta_json = xstrdup("{\"score\":\"dot\"}");
        }
        wr_eval_result r;
        assert_int_equal(eval_model(m, &v, &eo, &r, &err), 0);
        assert_int_equal(r.queries, 2);
        assert_true(fabs(r.recall_at_k - (dot ? 1.0 : 0.5)) < 1e-12);
        assert_true(fabs(r.auc_seen - (dot ? 1.0 : 0.0)) < 1e-12);
        assert_true(fabs(r.scores[0] - (dot ? 10.0 : sqrt(0.5))) < 1e-6);
        eval_result_free(&r);
        model_free(m);
    }
    eval_labeled_free(&v);
}

static void test_bad_options(void **state)
{
    wr_pairs p;
    wr_labeled v;
    two_cliques(&p, &v);
    wr_err err;
    wr_mf_opts o = small_opts(WR_MF_PAIRS, 0);
    o.lr = -1;
    assert_null(mf_train(&p, &o, NULL, &err));
    o = small_opts(WR_MF_PAIRS, 0);
    o.optimizer = WR_MF_SGD + 1;
    assert_null(mf_train(&p, &o, NULL, &err));
    o = small_opts(WR_MF_PAIRS, 0);
    o.init = WR_MF_INIT_NORMAL + 1;
    assert_null(mf_train(&p, &o, NULL, &err));
    o = small_opts(WR_MF_PAIRS, 0);
    o.negative = WR_MF_MAX_NEGATIVE + 1;
    assert_null(mf_train(&p, &o, NULL, &err));
    wr_pairs empty;
    pairs_init(&empty);
    o = small_opts(WR_MF_PAIRS, 0);
    assert_null(mf_train(&empty, &o, NULL, &err));
    pairs_free(&empty);
    eval_labeled_free(&v);
    pairs_free(&p);
}

int main(void)
{
    wr_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cliques_mf),
        cmocka_unit_test(test_cliques_mf_bias),
        cmocka_unit_test(test_cliques_mf_seq),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_optimizers),
        cmocka_unit_test(test_posts_recipe),
        cmocka_unit_test(test_sampler_frequency),
        cmocka_unit_test(test_bias_roundtrip),
        cmocka_unit_test(test_continuous_labels),
        cmocka_unit_test(test_learning_curve),
        cmocka_unit_test(test_eval_dot_ranking),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
