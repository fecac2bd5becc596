/* test_calib.c - the calibrated pair probability: the logistic fit against known
 * coefficients and its weighting, separable data, storing in and reading from a model file,
 * and the whole path (held-out slice -> fit -> eval) on a synthetic catalogue, where the
 * probability must be calibrated on pairs it never saw: Brier score well below a constant's,
 * reliability bins close to the diagonal, AUC above both the cosine's and popularity's on
 * uniform negatives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walkrec/calib.h"
#include "walkrec/eval.h"
#include "walkrec/rank.h"
#include "walkrec/rng.h"
#include "walkrec/split.h"

#define NF WR_CALIB_NFEAT

static double gauss(wr_rng *r)
{
    double u = rng_double(r), v = rng_double(r);
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

/* n pairs with random cosines, log degrees and hub products, labels drawn from the
 * logistic model coef. */
static void simulate(const double coef[NF], size_t n, uint64_t seed, double *x, uint8_t *y)
{
    wr_rng r;
    rng_seed(&r, seed);
    wr_calib m = {.coef = {coef[0], coef[1], coef[2], coef[3], coef[4]}};
    for (size_t i = 0; i < n; i++) {
        double c = 2 * rng_double(&r) - 1, la = 4 * rng_double(&r), lb = 4 * rng_double(&r);
        double h = rng_double(&r) * rng_double(&r);
        calib_features(c, la, lb, h, x + i * NF);
        y[i] = rng_double(&r) < calib_prob(&m, c, la, lb, h);
    }
}

static void test_features(void **state)
{
    (void)state;
    double x[NF];
    calib_features(0.25, 1.5, 4.0, 0.375, x);
    assert_true(x[0] == 1 && x[1] == 0.25 && x[2] == 5.5 && x[3] == 2.5 && x[4] == 0.375);
    wr_calib c = {.coef = {-1, 2, 0.5, -0.25, -4}};
    double z = -1 + 2 * 0.25 + 0.5 * 5.5 - 0.25 * 2.5 - 4 * 0.375;
    assert_true(fabs(calib_logit(&c, 0.25, 1.5, 4.0, 0.375) - z) < 1e-12);
    assert_true(fabs(calib_prob(&c, 0.25, 4.0, 1.5, 0.375) - 1 / (1 + exp(-z))) < 1e-12);
    /* by rows: the log degrees from the array, the hub product from the rows' hubs */
    float logdeg[2] = {1.5f, 4.0f}, hub[2] = {0.75f, 0.5f};
    c.hub = hub;
    assert_true(fabs(calib_prob_rows(&c, 0.25, logdeg, 0, 1) - 1 / (1 + exp(-z))) < 1e-7);
    /* the terms, scaled, the constant holding B and the prior shift, sum to the logit */
    wr_calib sc = {.coef = {-1, 2, 0.5, -0.25, -4}, .scale_a = 1.5, .scale_b = 0.25,
                   .positive_rate = 0.2};
    double t[NF], zs = calib_logit(&sc, 0.25, 1.5, 4.0, 0.375);
    calib_terms(&sc, 0.25, 1.5, 4.0, 0.375, t);
    assert_true(fabs(t[1] - 1.5 * 2 * 0.25) < 1e-12 && fabs(t[4] - 1.5 * -4 * 0.375) < 1e-12);
    assert_true(fabs(t[2] + t[3] - 1.5 * (0.5 * 5.5 - 0.25 * 2.5)) < 1e-12);
    assert_true(fabs(t[0] - (1.5 * -1 + 0.25 + log(0.2 / 0.8))) < 1e-12);
    assert_true(fabs(t[0] + t[1] + t[2] + t[3] + t[4] - zs) < 1e-12);
    /* no overflow far out */
    wr_calib big = {.coef = {800, 0, 0, 0, 0}}, small = {.coef = {-800, 0, 0, 0, 0}};
    assert_true(calib_prob(&big, 0, 0, 0, 0) == 1.0);
    assert_true(calib_prob(&small, 0, 0, 0, 0) >= 0 && calib_prob(&small, 0, 0, 0, 0) < 1e-300);
}

/* Platt scaling: on weighted rows whose label shares follow sigmoid(3 z + 1) exactly, the
 * fit finds a 3 and b 1 (up to its tiny ridge); a reversed order is refused (a = 1, b = 0);
 * a zeroed calibration (scale_a 0) scales by 1. */
static void test_fit_scale(void **state)
{
    (void)state;
    enum { N = 61 };
    double z[2 * N], w[2 * N], a, b;
    uint8_t y[2 * N];
    for (int i = 0; i < N; i++) {
        double zi = -3 + 0.1 * i, p = 1 / (1 + exp(-(3 * zi + 1)));
        z[2 * i] = z[2 * i + 1] = zi;
        y[2 * i] = 1, w[2 * i] = p;
        y[2 * i + 1] = 0, w[2 * i + 1] = 1 - p;
    }
    calib_fit_scale(z, y, w, 2 * N, &a, &b);
    assert_true(fabs(a - 3) < 1e-3 && fabs(b - 1) < 1e-3);
    for (int i = 0; i < 2 * N; i++)
        z[i] = -z[i];
    calib_fit_scale(z, y, w, 2 * N, &a, &b);
    assert_true(a == 1 && b == 0);
    wr_calib c = {.coef = {0.5, 2, 0, 0, 0}};
    assert_true(fabs(calib_logit(&c, 0.25, 0, 0, 0) - 1) < 1e-15);
}

/* 40000 draws from a known model: the fit finds its coefficients within sampling error. */
static void test_fit_recovers(void **state)
{
    (void)state;
    const double truth[NF] = {-2.0, 3.0, 0.6, -0.4, -1.5};
    size_t n = 40000;
    double *x = malloc(n * NF * sizeof *x), *w = malloc(n * sizeof *w);
    uint8_t *y = malloc(n);
    simulate(truth, n, 11, x, y);
    for (size_t i = 0; i < n; i++)
        w[i] = 1;
    wr_calib c;
    wr_err err;
    assert_int_equal(calib_fit(&c, x, y, w, n, &err), 0);
    for (int j = 0; j < NF; j++)
        if (fabs(c.coef[j] - truth[j]) > 0.15)
            fail_msg("coefficient %d: got %g, want %g", j, c.coef[j], truth[j]);
    assert_true(c.iterations > 1 && c.iterations < 30);
    assert_true(c.brier < c.brier_constant);

    /* weight 2 on every positive = every positive twice */
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += y[i];
    double *x2 = malloc((n + npos) * NF * sizeof *x2), *w2 = malloc((n + npos) * sizeof *w2);
    uint8_t *y2 = malloc(n + npos);
    memcpy(x2, x, n * NF * sizeof *x);
    memcpy(y2, y, n);
    size_t m = n;
    for (size_t i = 0; i < n; i++) {
        w2[i] = 1;
        if (y[i]) {
            memcpy(x2 + m * NF, x + i * NF, NF * sizeof *x);
            y2[m] = 1;
            w2[m++] = 1;
        }
        w[i] = y[i] ? 2 : 1;
    }
    wr_calib cw, cd;
    assert_int_equal(calib_fit(&cw, x, y, w, n, &err), 0);
    assert_int_equal(calib_fit(&cd, x2, y2, w2, m, &err), 0);
    for (int j = 0; j < NF; j++)
        assert_true(fabs(cw.coef[j] - cd.coef[j]) < 1e-6);
    /* and doubling the positives moves the intercept by about log 2 */
    assert_true(fabs(cw.coef[0] - c.coef[0] - log(2.0)) < 0.1);
    free(x);
    free(w);
    free(y);
    free(x2);
    free(w2);
    free(y2);
}

/* Perfectly separable by the cosine: the ridge keeps the coefficients finite and the fit
 * still separates. */
static void test_fit_separable(void **state)
{
    (void)state;
    double x[40 * NF], w[40];
    uint8_t y[40];
    for (int i = 0; i < 40; i++) {
        double c = i < 20 ? -0.5 - i * 0.01 : 0.5 + i * 0.01;
        calib_features(c, 1 + (i % 3), 2, 0, x + i * NF);
        y[i] = i >= 20;
        w[i] = 1;
    }
    wr_calib c;
    wr_err err;
    assert_int_equal(calib_fit(&c, x, y, w, 40, &err), 0);
    for (int j = 0; j < NF; j++)
        assert_true(isfinite(c.coef[j]));
    assert_true(calib_prob(&c, 0.6, 2, 2, 0) > 0.99 && calib_prob(&c, -0.6, 2, 2, 0) < 0.01);
    assert_true(c.brier < 0.01);
}

static void test_fit_errors(void **state)
{
    (void)state;
    double x[4 * NF], w[4] = {1, 1, 1, 1};
    uint8_t y[4] = {1, 1, 1, 1};
    for (int i = 0; i < 4; i++)
        calib_features(0.1 * i, 1, 1, 0, x + i * NF);
    wr_calib c;
    wr_err err;
    assert_int_equal(calib_fit(&c, x, y, w, 4, &err), -1);
    assert_non_null(strstr(err.msg, "unrelated"));
    y[0] = 0;
    w[1] = 0;
    assert_int_equal(calib_fit(&c, x, y, w, 4, &err), -1);
    assert_non_null(strstr(err.msg, "weight"));
    w[1] = 1;
    x[2 * NF + 1] = NAN;
    assert_int_equal(calib_fit(&c, x, y, w, 4, &err), -1);
    assert_non_null(strstr(err.msg, "not finite"));
}

static wr_model *tiny_model(void)
{
    wr_model *m = model_new(3, 2);
    const char *ids[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        dict_intern(m->ids, ids[i], 1);
        m->vecs[2 * i] = 1;
        m->vecs[2 * i + 1] = (float)i;
    }
    return m;
}

/* Replaces the model's metadata by `json` and expects calib_load to fail naming `what`. */
static void expect_load_error(wr_model *m, const char *json, const char *what)
{
    wr_calib got;
    wr_err err;
    free(m->meta_json);
    m->meta_json = strdup(json);
    assert_int_equal(calib_load(m, &got, &err), -1);
    if (!strstr(err.msg, what))
        fail_msg("expected an error about '%s', got: %s", what, err.msg);
}

#define OLD_FEATURES "\"features\":[\"1\",\"cos\",\"logdeg_sum\",\"logdeg_absdiff\"]"
#define NEW_FEATURES                                                                       \
    "\"features\":[\"1\",\"cos\",\"logpop_sum\",\"logpop_absdiff\",\"hub_product\"]"

/* Coefficients, centre, list order and log weighted degrees survive a model file, and every
 * row's cosine to the centre is computed on load; a model without them has none; a model
 * from before the hub term still loads; a damaged calibration is an error, not a silent
 * default. */
static void test_store_load(void **state)
{
    (void)state;
    wr_model *m = tiny_model(); /* rows (1,0), (1,1), (1,2) */
    float center[2] = {0.6f, 0.8f};
    wr_calib c = {.coef = {-1.25, 3.5, 0.125, -0.0625, -2.5}, .cos_mean = 0.375,
                  .hub_mean = 0.5, .rank = WR_RANK_COSINE, .center = center, .positives = 7,
                  .uniform = 7, .degree = 7, .brier = 0.2, .brier_constant = 0.25,
                  .iterations = 6, .rank_queries = 3, .rank_recall_cosine = 0.5,
                  .rank_recall_probability = 0.25, .scale_a = 1.75, .scale_b = -0.5,
                  .scale_pairs = 14, .positive_rate = 0.01},
             got;
    wr_err err;
    assert_int_equal(calib_load(m, &got, &err), 0);

    /* weighted degrees over another dict: "c" 4.5, "a" 0, "b" missing -> 0 */
    wr_dict *ids = dict_new(4);
    dict_intern(ids, "c", 1);
    dict_intern(ids, "a", 1);
    double weight[2] = {4.5, 0};
    calib_store(m, &c, ids, weight);
    char path[256];
    snprintf(path, sizeof path, "/tmp/wr_test_calib_%ld.wr", (long)getpid());
    assert_int_equal(model_save(m, path, &err), 0);
    wr_model *l = model_load(path, &err);
    assert_non_null(l);
    unlink(path);
    assert_int_equal(calib_load(l, &got, &err), 1);
    for (int j = 0; j < NF; j++)
        assert_true(got.coef[j] == c.coef[j]);
    assert_true(got.cos_mean == 0.375 && got.hub_mean == 0.5);
    assert_int_equal(got.positives, 7);
    assert_int_equal(got.iterations, 6);
    assert_int_equal(got.rank, WR_RANK_COSINE);
    assert_int_equal(got.rank_queries, 3);
    assert_true(got.rank_recall_cosine == 0.5 && got.rank_recall_probability == 0.25);
    assert_true(got.scale_a == 1.75 && got.scale_b == -0.5 && got.scale_pairs == 14);
    assert_true(got.positive_rate == 0.01);
    /* the logit: scale over the five terms, plus the log odds of the stated rate */
    double z = -1.25 + 3.5 * 0.5 + 0.125 * 3 - 0.0625 * 1 - 2.5 * 0.25;
    assert_true(fabs(calib_logit(&got, 0.5, 1, 2, 0.25) - (1.75 * z - 0.5 + log(0.01 / 0.99)))
                < 1e-12);
    assert_true(got.center[0] == 0.6f && got.center[1] == 0.8f);
    assert_true(fabs(got.hub[0] - 0.6) < 1e-6);
    assert_true(fabs(got.hub[1] - 1.4 / sqrt(2.0)) < 1e-6);
    assert_true(fabs(got.hub[2] - 2.2 / sqrt(5.0)) < 1e-6);
    assert_non_null(l->bias);
    assert_true(l->bias[0] == 0.0f && l->bias[1] == 0.0f && l->bias[2] == (float)log1p(4.5));
    calib_free(&got);
    assert_null(got.hub);

    /* the learning curve's view of a model has no metadata at all */
    wr_model view = {.n = 3, .dim = 2, .ids = l->ids, .vecs = l->vecs};
    assert_int_equal(calib_load(&view, &got, &err), 0);

    /* a model written before the hub term: four features over plain degrees, no ranking */
    free(l->meta_json);
    l->meta_json = strdup("{\"calibration\":{" OLD_FEATURES ",\"coef\":[1,2,3,4],"
                          "\"cos_mean\":0.5,\"bias\":\"log1p_degree\"}}");
    assert_int_equal(calib_load(l, &got, &err), 1);
    assert_true(got.coef[3] == 4 && got.coef[4] == 0 && got.cos_mean == 0.5);
    assert_null(got.hub);
    assert_int_equal(got.rank, WR_RANK_PROBABILITY);
    assert_true(calib_prob(&got, 0.5, 1, 2, 0.9) == calib_prob(&got, 0.5, 1, 2, 0));
    calib_free(&got);

    expect_load_error(l, "{\"calibration\":{\"features\":[\"1\",\"cos\",\"logdeg_sum\",\"x\"],"
                         "\"coef\":[1,2,3,4]}}", "feature 3");
    expect_load_error(l, "{\"calibration\":{" OLD_FEATURES ",\"coef\":[1,2,\"3\",4],"
                         "\"cos_mean\":0,\"bias\":\"log1p_degree\"}}", "coefficient 2");
    expect_load_error(l, "{\"calibration\":{" OLD_FEATURES ",\"coef\":[1,2,3,4],"
                         "\"bias\":\"log1p_degree\"}}", "cos_mean");
    /* the old features over the new bias would mix two kinds of degree */
    expect_load_error(l, "{\"calibration\":{" OLD_FEATURES ",\"coef\":[1,2,3,4],"
                         "\"cos_mean\":0,\"bias\":\"log1p_weighted_degree\"}}", "bias");
    expect_load_error(l, "{\"calibration\":{" NEW_FEATURES ",\"coef\":[1,2,3,4,5],"
                         "\"cos_mean\":0,\"hub_product_mean\":0,"
                         "\"bias\":\"log1p_weighted_degree\"}}", "no center");
    expect_load_error(l, "{\"calibration\":{" NEW_FEATURES ",\"coef\":[1,2,3,4,5],"
                         "\"cos_mean\":0,\"hub_product_mean\":0,\"center\":[1,0,0],"
                         "\"bias\":\"log1p_weighted_degree\"}}", "center has 3");
    expect_load_error(l, "{\"calibration\":{" NEW_FEATURES ",\"coef\":[1,2,3,4,5],"
                         "\"cos_mean\":0,\"hub_product_mean\":0,\"center\":[1,1],"
                         "\"bias\":\"log1p_weighted_degree\"}}", "unit length");
    expect_load_error(l, "{\"calibration\":{" NEW_FEATURES ",\"coef\":[1,2,3,4,0],"
                         "\"cos_mean\":0,\"hub_product_mean\":0,\"ranking\":{\"best\":\"x\"},"
                         "\"bias\":\"log1p_weighted_degree\"}}", "ranking.best");
    /* bias section gone */
    free(l->bias);
    l->bias = NULL;
    free(l->meta_json);
    l->meta_json = strdup(m->meta_json);
    assert_int_equal(calib_load(l, &got, &err), -1);
    assert_non_null(strstr(err.msg, "bias"));
    dict_free(ids);
    model_free(l);
    model_free(m);
}

static int skip_row_zero(size_t qi, uint32_t item, void *ctx)
{
    (void)qi;
    (void)ctx;
    return item == 0;
}

/* Lists by probability: the cosine alone ranks like a cosine (the query itself first when
 * nothing is excluded); a degree term lifts the popular row; a hub term demotes rows that
 * lie along the centre with the query; k beyond the rows pads. */
static void test_topk(void **state)
{
    (void)state;
    wr_model *m = tiny_model(); /* rows (1,0), (1,1), (1,2): cos(a,b) 0.71, cos(b,c) 0.95 */
    wr_dict *ids = dict_new(4);
    dict_intern(ids, "a", 1);
    dict_intern(ids, "b", 1);
    dict_intern(ids, "c", 1);
    double weight[3] = {50, 0, 1};
    wr_calib c = {.coef = {0, 1, 0, 0, 0}};
    calib_store(m, &c, ids, weight);
    float *base = model_normalized(m);
    uint32_t q[3] = {0, 1, 2};
    wr_hit out[3 * 4];
    calib_topk(m, base, &c, q, 3, 4, NULL, NULL, 2, out);
    assert_int_equal(out[0].item, 0);
    assert_int_equal(out[1].item, 1);
    assert_int_equal(out[2].item, 2);
    assert_int_equal(out[3].item, UINT32_MAX);
    assert_int_equal(out[4].item, 1);
    assert_int_equal(out[5].item, 2);
    assert_true(fabs(out[5].score - (float)(3 / sqrt(10.0))) < 1e-6);
    /* + the log degrees: for query b (degree 0), c scores 0.95 + log 2 = 1.64 and beats b
     * itself (1 + 0); a, 0.71 + log 51 = 4.64, beats both unless excluded */
    c.coef[2] = 1;
    calib_topk(m, base, &c, q, 3, 2, skip_row_zero, NULL, 1, out);
    assert_int_equal(out[2].item, 2);
    assert_int_equal(out[3].item, 1);
    calib_topk(m, base, &c, q, 3, 2, NULL, NULL, 1, out);
    assert_int_equal(out[2].item, 0);
    assert_int_equal(out[3].item, 2);

    /* the hub term, centre (0, 1): hubs 0, 0.71, 0.89. For query b: a 0.71 - 0 = 0.71,
     * b 1 - 0.5 = 0.5, c 0.95 - 0.63 = 0.32; by cosine alone it was b, c, a */
    float center[2] = {0, 1};
    c = (wr_calib){.coef = {0, 1, 0, 0, -1}, .center = center};
    calib_store(m, &c, ids, weight);
    wr_calib loaded;
    wr_err err;
    assert_int_equal(calib_load(m, &loaded, &err), 1);
    calib_topk(m, base, &loaded, q + 1, 1, 3, NULL, NULL, 1, out);
    assert_int_equal(out[0].item, 0);
    assert_int_equal(out[1].item, 1);
    assert_int_equal(out[2].item, 2);
    assert_true(fabs(out[2].score - (3 / sqrt(10.0) - 1 / sqrt(2.0) * 2 / sqrt(5.0))) < 1e-6);
    calib_free(&loaded);
    free(base);
    dict_free(ids);
    model_free(m);
}

/* A synthetic catalogue where both signals matter: items have a popularity (power law) and a
 * cluster; a pair picks its first item by popularity and its second by popularity within the
 * same cluster (85%) or anywhere. The "embedding" is the cluster's direction plus noise, so
 * the cosine knows the cluster but not the popularity. */
#define ITEMS 1500
#define CLUSTERS 30
#define DIM 16

static void catalogue(wr_pairs *p, uint32_t *cluster, double *pop)
{
    wr_rng r;
    rng_seed(&r, 2024);
    double total = 0;
    for (uint32_t i = 0; i < ITEMS; i++) {
        cluster[i] = i % CLUSTERS;
        pop[i] = pow(1.0 + i, -0.9);
        total += pop[i];
    }
    pairs_init(p);
    char a[16];
    for (uint32_t i = 0; i < ITEMS; i++) {
        snprintf(a, sizeof a, "i%u", i);
        dict_intern(p->ids, a, strlen(a));
    }
    for (int e = 0; e < 15000; e++) {
        uint32_t x = 0, y = 0;
        for (double u = rng_double(&r) * total; x + 1 < ITEMS && (u -= pop[x]) > 0;)
            x++;
        int same = rng_double(&r) < 0.85;
        /* rejection: popularity-weighted draw until the cluster condition holds */
        do {
            y = 0;
            for (double u = rng_double(&r) * total; y + 1 < ITEMS && (u -= pop[y]) > 0;)
                y++;
        } while (same && cluster[y] != cluster[x]);
        pairs_add_idx(p, x, y, 1);
    }
    pairs_merge(p);
}

static wr_model *cluster_model(const wr_dict *ids, const uint32_t *cluster)
{
    wr_rng r;
    rng_seed(&r, 7);
    uint32_t n = dict_size(ids);
    wr_model *m = model_new(n, DIM);
    for (uint32_t i = 0; i < n; i++) {
        const char *id = dict_str(ids, i);
        dict_intern(m->ids, id, strlen(id));
        uint32_t c = cluster[(uint32_t)atoi(id + 1)];
        for (uint32_t d = 0; d < DIM; d++)
            m->vecs[(size_t)i * DIM + d] = (float)(0.9 * gauss(&r) + (d == c % DIM ? 2.0 : 0) +
                                                   (d == (c / DIM + 3) % DIM ? 1.5 : 0));
    }
    return m;
}

static void test_end_to_end(void **state)
{
    (void)state;
    static uint32_t cluster[ITEMS];
    static double pop[ITEMS];
    wr_pairs p, train;
    wr_valset val;
    wr_err err;
    catalogue(&p, cluster, pop);

    /* the evaluation split, then the calibration slice out of its training part */
    wr_split_opts so = {.val_frac = 0.2, .seed = 3, .negatives = WR_NEG_BOTH};
    assert_int_equal(split_pairs(&p, &so, &train, &val, &err), 0);
    wr_calib_data cd;
    assert_int_equal(calib_prepare(&train, 0.1, 5, &cd, &err), 0);
    /* the slice and the trainer's pairs make the training pairs; no item is left without
     * a pair for the trainer (such held-out pairs went back) */
    size_t held = 0, given_back = (size_t)llround(0.1 * (double)train.n);
    for (size_t i = 0; i < cd.held.n; i++)
        held += cd.held.label[i];
    assert_int_equal(cd.train.n + held, train.n);
    given_back -= held;
    print_message("calibration slice: %zu pairs, %zu given back to the trainer\n", held,
                  given_back);
    assert_true(given_back < held / 4);
    uint32_t *tdeg = pairs_degree(&train);
    for (uint32_t i = 0; i < dict_size(train.ids); i++)
        assert_true(!tdeg[i] || cd.weight[i] > 0);
    free(tdeg);
    wr_model *m = cluster_model(cd.train.ids, cluster);
    wr_calib c;
    assert_int_equal(calib_finish(m, &cd, &c, &err), 0);
    assert_int_equal(c.positives, held);
    assert_int_equal(c.positives + c.uniform + c.degree, cd.held.n);
    assert_true(c.coef[1] > 0); /* the cosine counts */
    assert_true(c.coef[2] > 0); /* and so does popularity */
    assert_non_null(c.center);
    /* calib fits and stores; the lists' order is the pipeline's to decide (test_pipeline),
     * so it is left at probability, undecided */
    assert_int_equal(c.rank, WR_RANK_PROBABILITY);
    assert_int_equal(c.rank_queries, 0);

    /* the whole probability order (k = every item, as lists with a large index_k): a
     * permutation, best first with equal scores by lower row, whose head is the k = 10
     * answer */
    float *base = model_normalized(m);
    uint32_t n = m->n, qs[3] = {0, 7, 42};
    wr_hit *all = malloc(3 * (size_t)n * sizeof *all), top[3 * 10];
    uint8_t *seen = malloc(n);
    calib_topk(m, base, &c, qs, 3, n, NULL, NULL, 2, all);
    calib_topk(m, base, &c, qs, 3, 10, NULL, NULL, 1, top);
    for (size_t q = 0; q < 3; q++) {
        const wr_hit *h = all + q * n;
        memset(seen, 0, n);
        for (uint32_t i = 0; i < n; i++) {
            assert_true(h[i].item < n && !seen[h[i].item]);
            seen[h[i].item] = 1;
            assert_true(i == 0 || h[i - 1].score > h[i].score ||
                        (h[i - 1].score == h[i].score && h[i - 1].item < h[i].item));
        }
        for (size_t i = 0; i < 10; i++)
            assert_int_equal(top[q * 10 + i].item, h[i].item);
    }
    free(seen);
    free(all);
    free(base);

    /* the validation pairs as eval reads them */
    wr_labeled v = {.n = val.n};
    v.a = malloc(v.n * sizeof *v.a);
    v.b = malloc(v.n * sizeof *v.b);
    v.label = malloc(v.n);
    v.kind = malloc(v.n);
    for (size_t i = 0; i < v.n; i++) {
        v.a[i] = strdup(dict_str(p.ids, val.a[i]));
        v.b[i] = strdup(dict_str(p.ids, val.b[i]));
        v.label[i] = val.label[i];
        v.kind[i] = val.kind[i];
    }
    wr_eval_opts o;
    eval_default_opts(&o);
    o.train = &train;
    o.threads = 1;
    o.max_queries = 200;
    o.rank = WR_RANK_COSINE;
    wr_eval_result r;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_true(r.has_probability && r.has_popularity);
    print_message("AUC uniform: cosine %.4f popularity %.4f probability %.4f\n", r.auc_all,
                  r.popularity.all, r.probability.all);
    print_message("AUC degree:  cosine %.4f popularity %.4f probability %.4f\n", r.deg_auc_all,
                  r.popularity.degree_all, r.probability.degree_all);
    print_message("Brier %.4f (constant %.4f) over %zu pairs, ECE %.4f (all pairs %.4f)\n",
                  r.brier, r.brier_constant, r.brier_pairs, r.ece, r.ece_all);
    assert_true(r.probability.all > fmax(r.auc_all, r.popularity.all) + 0.01);
    /* where popularity is no help (it scores about 0.5 on degree-matched negatives) the
     * probability still carries the cosine's knowledge; it need not match the cosine there,
     * being fitted mostly for uniform negatives (calib.h) */
    assert_true(r.popularity.degree_all < 0.55);
    assert_true(r.probability.degree_all > r.popularity.degree_all + 0.1);
    assert_true(fabs(r.brier_constant - 0.25) < 1e-9);
    assert_true(r.brier < r.brier_constant - 0.05);
    /* calibrated: where a bin holds enough pairs, prediction and outcome agree */
    size_t total = 0;
    for (int b = 0; b < WR_EVAL_BINS; b++) {
        const wr_reliability_bin *x = &r.reliability[b];
        total += x->count;
        print_message("  [%.1f, %.1f) %5zu predicted %.3f observed %.3f\n", x->lo, x->hi,
                      x->count, x->mean_predicted, x->observed);
        if (x->count >= 300)
            assert_true(fabs(x->mean_predicted - x->observed) < 0.08);
    }
    assert_int_equal(total, r.brier_pairs);
    assert_true(r.ece < 0.04);

    /* ranking by probability works and is no worse than popularity's lists */
    wr_eval_result rp;
    o.rank = WR_RANK_PROBABILITY;
    assert_int_equal(eval_model(m, &v, &o, &rp, &err), 0);
    assert_int_equal(rp.queries, r.queries);
    assert_true(rp.recall_at_k >= r.popularity_lists.recall);
    print_message("recall@10: cosine %.4f probability %.4f popularity %.4f\n", r.recall_at_k,
                  rp.recall_at_k, r.popularity_lists.recall);
    eval_result_free(&rp);
    /* and by default eval ranks as the model's slice said */
    o.rank = WR_RANK_AUTO;
    assert_int_equal(eval_model(m, &v, &o, &rp, &err), 0);
    assert_int_equal(rp.rank, c.rank);
    eval_result_free(&rp);
    calib_free(&c);

    eval_result_free(&r);
    eval_labeled_free(&v);
    model_free(m);
    calib_data_free(&cd);
    split_valset_free(&val);
    pairs_free(&train);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),      cmocka_unit_test(test_fit_recovers),
        cmocka_unit_test(test_fit_scale),
        cmocka_unit_test(test_fit_separable), cmocka_unit_test(test_fit_errors),
        cmocka_unit_test(test_store_load),    cmocka_unit_test(test_topk),
        cmocka_unit_test(test_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
