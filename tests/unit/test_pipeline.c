/* test_pipeline.c - the one training pipeline: its stages, its metadata, its options.
 *
 * The rank choice (pipeline.c's choose_rank) is tested through pipeline_train on a
 * synthetic catalogue whose popularity matters, where the probability must win. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "walkrec/edgeweight.h"
#include "walkrec/mf.h"
#include "walkrec/pipeline.h"
#include "walkrec/synth.h"

static wr_pairs catalogue;

static int setup(void **state)
{
    (void)state;
    wr_synth_opts so;
    wr_err err;
    synth_default_opts(&so);
    so.items = 600;
    so.pairs = 6000;
    so.categories = 12;
    pairs_init(&catalogue);
    wr_quiet = 1;
    return synth_generate(&so, &catalogue, NULL, &err);
}

static int teardown(void **state)
{
    (void)state;
    pairs_free(&catalogue);
    return 0;
}

static wr_pipeline_opts small(void)
{
    wr_pipeline_opts o = {0};
    o.run.threads = 1;
    o.dim = 32;
    o.epochs = 2;
    return o;
}

static json_t *meta_of(const wr_model *m)
{
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    assert_non_null(meta);
    return meta;
}

/* sgns with its defaults: every stage ran and left its trace in the metadata. */
static void test_sgns_metadata(void **state)
{
    (void)state;
    wr_pipeline_opts o = small();
    wr_pipeline_result r;
    wr_err err;
    o.load_seconds = 0.25;
    wr_model *m = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(m);
    assert_true(r.calibrated);
    assert_string_equal(r.algo, "sgns");
    assert_string_equal(r.edge_weight, "lift");
    assert_string_equal(r.start, "scratch");
    /* the rank choice ran on the slice: popularity matters in this catalogue */
    assert_true(r.rank_queries > 0);
    assert_true(isfinite(r.rank_recall_cosine) && isfinite(r.rank_recall_probability));
    assert_true(r.rank_recall_probability > r.rank_recall_cosine);
    assert_int_equal(r.rank, WR_RANK_PROBABILITY);
    json_t *meta = meta_of(m);
    const char *keys[] = {"algo", "score", "edge_weight", "start", "trainer", "walks",
                          "calibration", "times"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!json_object_get(meta, keys[i]))
            fail_msg("metadata lacks %s: %s", keys[i], m->meta_json);
    assert_string_equal(json_string_value(json_object_get(meta, "algo")), "sgns");
    assert_string_equal(json_string_value(json_object_get(meta, "edge_weight")), "lift");
    json_t *times = json_object_get(meta, "times");
    assert_true(json_real_value(json_object_get(times, "load")) == 0.25);
    assert_true(json_is_number(json_object_get(times, "calibration")));
    json_t *ranking = json_object_get(json_object_get(meta, "calibration"), "ranking");
    assert_string_equal(json_string_value(json_object_get(ranking, "best")), "probability");
    json_decref(meta);
    model_free(m);
}

/* Edge weight auto with a slice: both schemes trained, their slice AUCs recorded, the
 * better kept, and the model kept is the one an explicit run of that scheme trains (one
 * thread: bit for bit). An explicit scheme and a warm start choose nothing; the warm start
 * keeps its model's scheme. */
static void test_edge_weight_choice(void **state)
{
    (void)state;
    wr_pipeline_opts o = small();
    wr_pipeline_result r, e;
    wr_err err;
    wr_model *m = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(m);
    assert_true(r.ew_chosen);
    assert_true(isfinite(r.ew_auc[0]) && isfinite(r.ew_auc[1]));
    assert_true(r.ew_auc[0] != r.ew_auc[1]);
    const char *want = r.ew_auc[1] > r.ew_auc[0] ? "raw" : "lift";
    assert_string_equal(r.edge_weight, want);
    json_t *meta = meta_of(m), *c = json_object_get(meta, "edge_weight_choice");
    assert_string_equal(json_string_value(json_object_get(c, "chosen")), want);
    json_t *auc = json_object_get(c, "slice_cosine_auc");
    assert_true(fabs(json_real_value(json_object_get(auc, "lift")) - r.ew_auc[0]) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(auc, "raw")) - r.ew_auc[1]) < 1e-9);
    assert_true(json_is_number(json_object_get(json_object_get(meta, "times"),
                                               "edge_weight_choice")));
    json_decref(meta);

    o.edge_weight = edgeweight_parse(want);
    wr_model *x = pipeline_train(&catalogue, &o, &e, &err);
    assert_non_null(x);
    assert_false(e.ew_chosen);
    assert_int_equal(x->n, m->n);
    assert_memory_equal(x->vecs, m->vecs, (size_t)m->n * m->dim * sizeof *m->vecs);
    meta = meta_of(x);
    assert_null(json_object_get(meta, "edge_weight_choice"));
    json_decref(meta);

    /* a warm start from a raw model: raw, no choice */
    o.edge_weight = WR_EW_RAW;
    o.calibration = -1;
    wr_model *live = pipeline_train(&catalogue, &o, &e, &err);
    assert_non_null(live);
    o = small();
    o.warm = live;
    o.warm_epochs = 1;
    wr_model *w = pipeline_train(&catalogue, &o, &e, &err);
    assert_non_null(w);
    assert_true(e.calibrated);
    assert_false(e.ew_chosen);
    assert_string_equal(e.edge_weight, "raw");
    model_free(w);
    model_free(live);
    model_free(x);
    model_free(m);
}

/* The same seed and one thread: the same model, bit for bit; the input is not changed. */
static void test_repeatable(void **state)
{
    (void)state;
    wr_pipeline_opts o = small();
    o.algo = WR_ALGO_CBOW;
    o.calibration = -1;
    wr_err err;
    float w0 = catalogue.v[0].w;
    wr_model *a = pipeline_train(&catalogue, &o, NULL, &err),
             *b = pipeline_train(&catalogue, &o, NULL, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(catalogue.v[0].w == w0); /* re-weighted a copy */
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->vecs, b->vecs, (size_t)a->n * a->dim * sizeof *a->vecs);
    o.run.seed = 2;
    wr_model *c = pipeline_train(&catalogue, &o, NULL, &err);
    assert_true(memcmp(a->vecs, c->vecs, (size_t)a->n * a->dim * sizeof *a->vecs) != 0);
    model_free(a);
    model_free(b);
    model_free(c);
}

/* A warm start takes the warm model's vectors when the dimensions agree, and says so when
 * they do not; untrained vectors are random. */
static void test_warm_and_untrained(void **state)
{
    (void)state;
    wr_pipeline_opts o = small();
    o.calibration = -1;
    wr_pipeline_result r;
    wr_err err;
    wr_model *live = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(live);
    o.warm = live;
    o.warm_epochs = 1;
    wr_model *warm = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(warm);
    assert_string_equal(r.start, "warm");
    assert_string_equal(r.warning, "");
    o.dim = 16;
    wr_model *other = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(other);
    assert_string_equal(r.start, "scratch");
    assert_non_null(strstr(r.warning, "32 dimensions"));
    json_t *meta = meta_of(other);
    assert_string_equal(json_string_value(json_object_get(meta, "start")), "scratch");
    json_decref(meta);
    o = small();
    o.untrained = 1;
    wr_model *u = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(u);
    assert_false(r.calibrated);
    model_free(u);
    model_free(other);
    model_free(warm);
    model_free(live);
}

/* mf: raw weights and no calibration unless told, its own score in the metadata. */
static void test_mf(void **state)
{
    (void)state;
    wr_pipeline_opts o = small();
    o.algo = WR_ALGO_MF;
    o.epochs = 1;
    wr_pipeline_result r;
    wr_err err;
    wr_model *m = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(m);
    assert_false(r.calibrated);
    assert_string_equal(r.edge_weight, "raw");
    json_t *meta = meta_of(m);
    assert_string_equal(json_string_value(json_object_get(meta, "algo")), "mf");
    assert_string_equal(json_string_value(json_object_get(meta, "score")), "dot");
    assert_string_equal(json_string_value(json_object_get(meta, "edge_weight")), "raw");
    json_decref(meta);
    model_free(m);
}

/* Plain mf over more than one epoch: a first training with a slice held out chooses the
 * number of epochs (bestepoch.h), a second one on every pair runs that many; the choice is
 * in the metadata. Without a slice (calibration < 0) neither, nor for mf --bias by
 * default. */
static void test_mf_best_epoch(void **state)
{
    (void)state;
    wr_pipeline_opts o = small();
    o.algo = WR_ALGO_MF;
    o.epochs = 3;
    wr_pipeline_result r;
    wr_err err;
    wr_model *m = pipeline_train(&catalogue, &o, &r, &err);
    assert_non_null(m);
    assert_false(r.calibrated);
    json_t *meta = meta_of(m), *best = json_object_get(meta, "best_epoch");
    assert_non_null(best);
    json_int_t e = json_integer_value(json_object_get(best, "epoch"));
    assert_true(e >= 1 && e <= 3);
    assert_int_equal(json_array_size(json_object_get(best, "auc")), 3);
    assert_true(json_integer_value(json_object_get(best, "positives")) > 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "trainer"),
                                                        "epochs")),
                     e);
    assert_int_equal(m->n, dict_size(catalogue.ids)); /* every item, the slice's too */
    json_decref(meta);
    model_free(m);
    for (int i = 0; i < 2; i++) { /* none without a slice, none for mf --bias unless asked */
        o.calibration = i ? 0 : -1;
        o.bias = i;
        m = pipeline_train(&catalogue, &o, &r, &err);
        assert_non_null(m);
        meta = meta_of(m);
        assert_null(json_object_get(meta, "best_epoch"));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "trainer"),
                                                            "epochs")),
                         3);
        json_decref(meta);
        model_free(m);
    }
}

/* Options of another family of trainers are errors, table-driven. */
static void test_bad_options(void **state)
{
    (void)state;
    static const struct {
        wr_algo algo;
        int bias, labels;
        double calibration, subsample, l2;
        const char *side_columns, *why;
    } bad[] = {
        {WR_ALGO_SGNS, 1, 0, 0, 0, 0, NULL, "bias"},
        {WR_ALGO_CBOW, 0, 0, 0, 0, 1e-3, NULL, "l2"},
        {WR_ALGO_MF_SEQ, 0, 0, 0.05, 0, 0, NULL, "calibration"},
        {WR_ALGO_MF, 0, 0, 0, 1e-4, 0, NULL, "subsampling"},
        {WR_ALGO_MF_SEQ, 0, WR_MF_CONTINUOUS, 0, 0, 0, NULL, "continuous"},
        {WR_ALGO_SGNS, 0, 0, 0, 0, 0, "brand", "side_columns"},
        {(wr_algo)7, 0, 0, 0, 0, 0, NULL, "unknown algorithm"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        wr_pipeline_opts o = small();
        o.algo = bad[i].algo;
        o.bias = bad[i].bias;
        o.labels = bad[i].labels;
        o.calibration = bad[i].calibration;
        o.subsample = bad[i].subsample;
        o.l2 = bad[i].l2;
        o.side_columns = bad[i].side_columns;
        wr_err err;
        if (pipeline_train(&catalogue, &o, NULL, &err) || !strstr(err.msg, bad[i].why))
            fail_msg("case %zu: expected an error naming %s, got '%s'", i, bad[i].why, err.msg);
    }
    wr_pairs empty;
    pairs_init(&empty);
    wr_pipeline_opts o = small();
    wr_err err;
    assert_null(pipeline_train(&empty, &o, NULL, &err));
    pairs_free(&empty);
}

static void test_names(void **state)
{
    (void)state;
    const char *names[] = {"sgns", "cbow", "mf", "mf-seq"};
    for (int a = 0; a < 4; a++) {
        assert_int_equal(pipeline_algo_parse(names[a]), a);
        assert_string_equal(pipeline_algo_name((wr_algo)a), names[a]);
    }
    assert_int_equal(pipeline_algo_parse("svd"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_sgns_metadata),
        cmocka_unit_test(test_edge_weight_choice),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_warm_and_untrained),
        cmocka_unit_test(test_mf),
        cmocka_unit_test(test_mf_best_epoch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
