/* test_ann.c - the inverted file against exact top-k on clustered unit vectors (recall@10,
 * order and padding, independence of the thread count, the probe setting), its error
 * paths, and index_build above exact_max_items: approximate lists with their measured recall, exact
 * scores, and the exact-scan fallbacks. Includes index.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/index.c"
#include "walkrec/ann.h"
#include "walkrec/rng.h"

#define N 3000
#define DIM 32
#define CLUSTERS 40

static double gauss(wr_rng *r)
{
    double u = rng_double(r) + 1e-300, v = rng_double(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* n unit rows around CLUSTERS random centres: neighbours are crowded, as in trained
 * embeddings, and the nearest ones are not obvious from the cluster alone. */
static float *clustered(size_t n, size_t dim, uint64_t seed)
{
    wr_rng r;
    rng_seed(&r, seed);
    float *c = xmalloc(CLUSTERS * dim * sizeof *c), *v = xmalloc(n * dim * sizeof *v);
    for (size_t i = 0; i < CLUSTERS * dim; i++)
        c[i] = (float)gauss(&r);
    for (size_t i = 0; i < n; i++) {
        const float *ci = c + rng_below(&r, CLUSTERS) * dim;
        for (size_t j = 0; j < dim; j++)
            v[i * dim + j] = ci[j] + 0.6f * (float)gauss(&r);
    }
    normalize_rows(v, n, dim);
    free(c);
    return v;
}

static int reject_self(size_t qi, uint32_t item, void *arg)
{
    const reject_ctx *c = arg;
    return item == c->first + qi;
}

/* Exact top-k of every row, itself left out. */
static wr_hit *exact_all(const float *v, size_t n, size_t dim, size_t k)
{
    wr_hit *h = xmalloc(n * k * sizeof *h);
    knn_topk(v, n, dim, v, n, k, reject_self, &(reject_ctx){NULL, NULL, UINT32_MAX, 0}, 2, h);
    return h;
}

static size_t overlap(const wr_hit *want, const wr_hit *got, size_t k)
{
    size_t found = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            if (got[j].item == want[i].item) {
                found++;
                break;
            }
    return found;
}

/* ann_topk_all with o into fresh arrays; fails the test on error. */
static void all_topk(const float *v, size_t n, size_t k, const wr_ann_opts *o, uint32_t **item,
                     float **score, wr_ann_stats *st)
{
    wr_err err;
    *item = xmalloc(n * k * sizeof **item);
    *score = xmalloc(n * k * sizeof **score);
    if (ann_topk_all(v, n, DIM, k, o, *item, *score, st, &err) < 0)
        fail_msg("ann_topk_all: %s", err.msg);
}

static double recall_of(const wr_hit *truth, const uint32_t *item, const float *score, size_t k)
{
    size_t found = 0;
    wr_hit *got = xmalloc(k * sizeof *got);
    for (uint32_t row = 0; row < N; row++) {
        for (size_t i = 0; i < k; i++)
            got[i] = (wr_hit){item[row * k + i], score[row * k + i]};
        found += overlap(truth + row * k, got, k);
    }
    free(got);
    return (double)found / (N * k);
}

static void test_recall(void **state)
{
    (void)state;
    const size_t k = 10;
    float *v = clustered(N, DIM, 1);
    wr_hit *truth = exact_all(v, N, DIM, k);
    wr_ann_opts o;
    wr_ann_stats st;
    ann_default_opts(&o);
    assert_int_equal(o.probe, 8);
    o.threads = 3; /* more threads than this machine's cores is fine too */
    uint32_t *item, *item1;
    float *score, *score1;
    all_topk(v, N, k, &o, &item, &score, &st);
    assert_int_equal(st.cells, 46); /* min(3 sqrt(3000), 3000 / 64) */
    assert_int_equal(st.probe, 8);
    assert_true(st.candidates_mean > 8 * 3000 / 46 / 2 && st.candidates_mean < N);
    assert_true(st.bytes > 0);
    for (uint32_t row = 0; row < N; row++)
        for (size_t i = 0; i < k; i++) {
            uint32_t it = item[row * k + i];
            assert_true(it < N && it != row); /* never itself, never padding here */
            /* the exact cosine of the pair, best first, ties by row */
            float dot = 0;
            for (size_t d = 0; d < DIM; d++)
                dot += v[row * DIM + d] * v[(size_t)it * DIM + d];
            assert_true(fabsf(dot - score[row * k + i]) < 1e-5f);
            if (i > 0)
                assert_true(score[row * k + i - 1] > score[row * k + i] ||
                            (score[row * k + i - 1] == score[row * k + i] &&
                             item[row * k + i - 1] < it));
        }
    double recall = recall_of(truth, item, score, k);
    print_message("recall@10, %u cells, probe 8: %.4f\n", st.cells, recall);
    assert_true(recall >= 0.98);

    /* The same lists whatever the number of threads. */
    o.threads = 1;
    all_topk(v, N, k, &o, &item1, &score1, &st);
    assert_memory_equal(item, item1, N * k * sizeof *item);
    assert_memory_equal(score, score1, N * k * sizeof *score);
    free(item1);
    free(score1);

    /* The probe setting reaches the lists: one cell per cell (its own) misses many. */
    o.probe = 1;
    all_topk(v, N, k, &o, &item1, &score1, &st);
    double r1 = recall_of(truth, item1, score1, k);
    print_message("recall@10, probe 1: %.4f\n", r1);
    assert_true(r1 < recall - 0.02);
    free(item1);
    free(score1);

    /* Every cell probed: exact. */
    o.cells = 20;
    o.probe = 20;
    all_topk(v, N, k, &o, &item1, &score1, &st);
    assert_int_equal(st.cells, 20);
    assert_true(st.candidates_mean == N - 1);
    assert_true(recall_of(truth, item1, score1, k) == 1.0);
    free(item1);
    free(score1);
    free(item);
    free(score);
    free(truth);
    free(v);
}

static void test_errors(void **state)
{
    (void)state;
    float v[8] = {1, 0, 0, 1, 0.6f, 0.8f, 1, 0};
    uint32_t item[8];
    float score[8];
    wr_ann_opts o;
    wr_ann_stats st;
    wr_err err;
    ann_default_opts(&o);
    err.msg[0] = 0;
    assert_int_equal(ann_topk_all(v, 0, 2, 1, &o, item, score, &st, &err), -1);
    assert_non_null(strstr(err.msg, "approximate lists"));
    assert_int_equal(ann_topk_all(v, 2, 0, 1, &o, item, score, &st, &err), -1);
    assert_int_equal(ann_topk_all(v, 2, 2, 0, &o, item, score, &st, &err), -1);
    o.probe = 0;
    assert_int_equal(ann_topk_all(v, 2, 2, 1, &o, item, score, &st, &err), -1);
    /* A single row: one cell, and nothing but padding. */
    ann_default_opts(&o);
    assert_int_equal(ann_topk_all(v, 1, 2, 2, &o, item, score, &st, &err), 0);
    assert_int_equal(st.cells, 1);
    assert_int_equal(item[0], UINT32_MAX);
    assert_true(isinf(score[1]) && score[1] < 0);
    /* More cells asked for than rows: one row per cell at most; k above n - 1 pads. */
    o.cells = 100;
    assert_int_equal(ann_topk_all(v, 4, 2, 2, &o, item, score, &st, &err), 0);
    assert_int_equal(st.cells, 4);
    for (uint32_t r = 0; r < 4; r++)
        assert_true(item[r * 2] < 4 && item[r * 2] != r);
}

static wr_model *model_of(const float *v, uint32_t n, uint32_t dim)
{
    wr_model *m = model_new(n, dim);
    for (uint32_t i = 0; i < n; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "i%u", i);
        dict_intern(m->ids, id, (size_t)len);
    }
    memcpy(m->vecs, v, (size_t)n * dim * sizeof *v);
    return m;
}

static void test_index_above_exact_max(void **state)
{
    (void)state;
    const uint32_t K = 20;
    float *v = clustered(N, DIM, 2);
    wr_hit *truth = exact_all(v, N, DIM, 40);
    wr_index_opts o;
    wr_err err;
    index_default_opts(&o);
    assert_int_equal(o.ann_cells, 0);
    assert_int_equal(o.ann_probe, 8);
    o.k = K;
    o.exact_max_items = N - 1;
    o.threads = 2;
    wr_index *ix = index_build(model_of(v, N, DIM), 3, "mem", &o, &err);
    if (!ix)
        fail_msg("index_build: %s", err.msg);
    const wr_index_info *in = index_info(ix);
    assert_string_equal(in->kind, "approximate");
    assert_int_equal(in->k, K);
    assert_int_equal(in->ann_cells, 46);
    assert_int_equal(in->ann_probe, 8);
    assert_true(in->ann_candidates > 0 && in->ann_candidates < N);
    assert_true(in->build_seconds >= in->ann_kmeans_seconds);
    assert_int_equal(in->recall_sample, 1000);
    print_message("index: recall@10 %.4f over %u items\n", in->recall_at_10, in->recall_sample);
    assert_true(in->recall_at_10 >= 0.98);

    wr_filter none = index_filter_none();
    wr_hit got[40];
    uint32_t first_right = 0;
    for (uint32_t row = 0; row < N; row++) {
        const wr_hit *want = truth + (size_t)row * 40;
        assert_int_equal(index_neighbors(ix, row, 10, &none, got), 10);
        first_right += got[0].item == want[0].item;
        for (size_t i = 0; i < 10; i++) {
            /* Scores are the pairs' scores. */
            assert_true(fabsf(got[i].score - index_score(ix, row, got[i].item)) < 1e-6f);
            assert_true(i == 0 || got[i - 1].score >= got[i].score);
        }
    }
    print_message("true nearest neighbour first for %u of %u items\n", first_right, N);
    assert_true(first_right >= N * 99 / 100);

    /* Larger k than the lists: an exact scan, identical to the truth. */
    uint32_t row = 77;
    assert_int_equal(index_neighbors(ix, row, 40, &none, got), 40);
    for (size_t i = 0; i < 40; i++)
        assert_true(got[i].item == truth[row * 40 + i].item ||
                    fabsf(got[i].score - truth[row * 40 + i].score) < 1e-6f);
    /* A filter that empties the list: the scan finds the 21st and later. */
    uint32_t excl[20];
    for (size_t i = 0; i < 20; i++)
        excl[i] = truth[row * 40 + i].item;
    qsort(excl, 20, sizeof *excl, cmp_u32);
    wr_filter f = index_filter_none();
    f.exclude = excl;
    f.n_exclude = 20;
    assert_int_equal(index_neighbors(ix, row, 5, &f, got), 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(got[i].item == truth[row * 40 + 20 + i].item ||
                    fabsf(got[i].score - truth[row * 40 + 20 + i].score) < 1e-6f);
    index_free(ix);

    /* Below ann_min_recall the lists are built again, probing twice the cells each time. */
    o.ann_probe = 1;
    o.ann_min_recall = 0.999;
    ix = index_build(model_of(v, N, DIM), 5, "mem", &o, &err);
    assert_non_null(ix);
    in = index_info(ix);
    print_message("probe 1, min recall 0.999: %u builds, probe %u, recall@10 %.4f\n",
                  in->ann_rounds, in->ann_probe, in->recall_at_10);
    assert_true(in->ann_rounds >= 2);
    assert_int_equal(in->ann_probe, 1u << (in->ann_rounds - 1));
    assert_true(in->recall_at_10 >= 0.999 || in->ann_probe == in->ann_cells);
    index_free(ix);
    /* ... and with 0, the first build stands, whatever its recall. */
    o.ann_min_recall = 0;
    ix = index_build(model_of(v, N, DIM), 6, "mem", &o, &err);
    assert_non_null(ix);
    assert_int_equal(index_info(ix)->ann_rounds, 1);
    assert_int_equal(index_info(ix)->ann_probe, 1);
    index_free(ix);

    /* ann_probe 0: above exact_max_items nothing is precomputed. */
    o.ann_probe = 0;
    ix = index_build(model_of(v, N, DIM), 4, "mem", &o, &err);
    assert_non_null(ix);
    assert_string_equal(index_info(ix)->kind, "none");
    assert_int_equal(index_info(ix)->k, 0);
    assert_int_equal(index_info(ix)->recall_sample, 0);
    index_free(ix);
    free(truth);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_index_above_exact_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
