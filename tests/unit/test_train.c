/* test_train.c - the training pipeline: pairs -> graph -> walks -> word2vec -> model. */
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

#include "walkrec/train.h"

#include "labeled.h"

#define CLIQUE 8

/* Two cliques of CLIQUE items ("a0".."a7", "b0".."b7") joined by the edge a0 - b0. */
static void two_cliques(wr_pairs *p)
{
    char x[8], y[8];
    pairs_init(p);
    for (char side = 'a'; side <= 'b'; side++)
        for (int i = 0; i < CLIQUE; i++)
            for (int j = i + 1; j < CLIQUE; j++) {
                snprintf(x, sizeof x, "%c%d", side, i);
                snprintf(y, sizeof y, "%c%d", side, j);
                pairs_add(p, x, strlen(x), y, strlen(y), 1);
            }
    pairs_add(p, "a0", 2, "b0", 2, 1);
    pairs_merge(p);
}

static wr_train_opts small_opts(void)
{
    wr_train_opts o;
    train_default_opts(&o);
    o.walk.threads = o.sgns.threads = 1;
    o.sgns.dim = 32;
    o.sgns.subsample = 0; /* 16 items: subsampling would drop most of the walks */
    return o;
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

/* Every item's clique-mates are its CLIQUE - 1 nearest neighbours. */
static void assert_cliques_separate(const wr_model *m)
{
    for (uint32_t i = 0; i < m->n; i++) {
        char side = dict_str(m->ids, i)[0];
        double worst_in = INFINITY, best_out = -INFINITY;
        for (uint32_t j = 0; j < m->n; j++) {
            if (j == i)
                continue;
            double c = cosine(m->vecs + (size_t)i * m->dim, m->vecs + (size_t)j * m->dim, m->dim);
            if (dict_str(m->ids, j)[0] == side)
                worst_in = fmin(worst_in, c);
            else
                best_out = fmax(best_out, c);
        }
        if (!(worst_in > best_out))
            fail_msg("%s: farthest clique-mate %.3f, nearest other item %.3f",
                     dict_str(m->ids, i), worst_in, best_out);
    }
}

static void test_two_cliques(void **state)
{
    (void)state;
    wr_pairs p;
    two_cliques(&p);
    for (int mode = WR_MODE_SG; mode <= WR_MODE_CBOW; mode++) {
        wr_train_opts o = small_opts();
        o.sgns.mode = mode;
        wr_train_times t;
        wr_err err;
        wr_model *m = train_pairs(&p, &o, &t, &err);
        assert_non_null(m);
        assert_int_equal(m->n, 2 * CLIQUE);
        assert_int_equal(m->dim, 32);
        for (uint32_t i = 0; i < m->n; i++)
            assert_string_equal(dict_str(m->ids, i), dict_str(p.ids, i));
        assert_int_equal(t.sequences, 2 * CLIQUE * 10);
        assert_int_equal(t.tokens, 2 * CLIQUE * 10 * 10);
        assert_true(t.graph >= 0 && t.walks >= 0 && t.train > 0);
        assert_cliques_separate(m);
        model_free(m);
    }
    pairs_free(&p);
}

static void test_repeatable(void **state)
{
    (void)state;
    wr_pairs p;
    two_cliques(&p);
    wr_train_opts o = small_opts();
    wr_err err;
    wr_model *a = train_pairs(&p, &o, NULL, &err), *b = train_pairs(&p, &o, NULL, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a->vecs, b->vecs, (size_t)a->n * a->dim * sizeof(float));
    model_free(a);
    model_free(b);
    pairs_free(&p);
}

typedef struct points {
    int n;
    double last_auc;
} points;

static void on_point(double progress, uint32_t epoch, double auc_all, double auc_seen, void *ctx)
{
    points *p = ctx;
    p->n++;
    p->last_auc = auc_all;
}

static void test_metadata_and_learning_curve(void **state)
{
    (void)state;
    wr_pairs p;
    two_cliques(&p);
    wr_labeled val = {0};
    char x[8], y[8];
    for (int i = 1; i < CLIQUE; i++) {
        snprintf(x, sizeof x, "a%d", i);
        snprintf(y, sizeof y, "a%d", (i % (CLIQUE - 1)) + 1);
        add_label(&val, x, y, 1);
        snprintf(x, sizeof x, "b%d", i);
        add_label(&val, x, y, 0);
    }
    add_label(&val, "a3", "unknown", 0);
    wr_train_opts o = small_opts();
    o.val = &val;
    o.eval_every = 3;
    points pts = {0};
    o.on_point = on_point;
    o.point_ctx = &pts;
    char walks[] = "/tmp/test_train_walksXXXXXX";
    int fd = mkstemp(walks);
    assert_true(fd >= 0);
    close(fd);
    o.walks_out = walks;
    wr_err err;
    wr_model *m = train_pairs(&p, &o, NULL, &err);
    assert_non_null(m);
    assert_int_equal(pts.n, 3);
    assert_true(pts.last_auc > 0.9);

    json_error_t jerr;
    json_t *meta = json_loads(m->meta_json, 0, &jerr);
    assert_non_null(meta);
    json_t *tr = json_object_get(meta, "trainer");
    assert_int_equal(json_integer_value(json_object_get(tr, "dim")), 32);
    assert_int_equal(json_integer_value(json_object_get(tr, "threads")), 1);
    assert_string_equal(json_string_value(json_object_get(tr, "mode")), "sg");
    assert_int_equal(json_integer_value(json_object_get(meta, "tokens")), 2 * CLIQUE * 100);
    assert_int_equal(json_integer_value(json_object_get(meta, "pairs")), p.n);
    json_t *walk = json_object_get(meta, "walks");
    assert_int_equal(json_integer_value(json_object_get(walk, "walks_per_item")), 10);
    json_t *times = json_object_get(meta, "times");
    assert_true(json_is_real(json_object_get(times, "graph")));
    assert_true(json_is_real(json_object_get(times, "walks")));
    assert_true(json_is_real(json_object_get(times, "train")));
    json_t *curve = json_object_get(meta, "learning_curve");
    assert_int_equal(json_array_size(curve), 3);
    double prev = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *pt = json_array_get(curve, i);
        double progress = json_real_value(json_object_get(pt, "progress"));
        assert_true(progress > prev);
        prev = progress;
        assert_true(json_is_integer(json_object_get(pt, "epoch")));
        assert_true(json_is_real(json_object_get(pt, "auc_all")));
        assert_true(json_is_real(json_object_get(pt, "auc_seen")));
    }
    assert_true(fabs(prev - 1) < 1e-12);
    json_decref(meta);
    model_free(m);

    /* the walks file holds one walk per line, ids separated by spaces; training on it as
     * sequences gives a model over the same items */
    wr_corpus c;
    wr_dict *ids = dict_new(16);
    assert_int_equal(walk_corpus_read(&c, ids, walks, &err), 0);
    assert_int_equal(c.nseq, 2 * CLIQUE * 10);
    assert_int_equal(c.ntok, 2 * CLIQUE * 100);
    for (uint64_t q = 0; q < c.nseq; q++)
        assert_int_equal(c.off[q + 1] - c.off[q], 10);
    o.walks_out = NULL;
    wr_train_times t;
    m = train_corpus(&c, ids, &o, &t, &err);
    assert_non_null(m);
    assert_int_equal(m->n, 2 * CLIQUE);
    assert_int_equal(t.tokens, c.ntok);
    assert_cliques_separate(m);
    meta = json_loads(m->meta_json, 0, &jerr);
    assert_string_equal(json_string_value(json_object_get(meta, "source")), "sequences");
    json_decref(meta);
    model_free(m);
    walk_corpus_free(&c);
    dict_free(ids);
    unlink(walks);
    eval_labeled_free(&val);
    pairs_free(&p);
}

static void test_errors(void **state)
{
    (void)state;
    wr_pairs p;
    two_cliques(&p);
    wr_train_opts o = small_opts();
    o.sgns.negative = 0;
    wr_err err;
    assert_null(train_pairs(&p, &o, NULL, &err));
    assert_non_null(strstr(err.msg, "negative"));
    o = small_opts();
    o.walks_out = "/nonexistent-dir/walks.txt";
    assert_null(train_pairs(&p, &o, NULL, &err));
    assert_non_null(strstr(err.msg, "/nonexistent-dir/walks.txt"));
    pairs_free(&p);
}

int main(void)
{
    wr_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_cliques),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_metadata_and_learning_curve),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
