/* test_ann.c - the HNSW shim against exact top-k on clustered unit vectors (recall@10,
 * vector and row queries, a graph built by several threads), its error paths, and
 * index_build above exact_max_items: approximate lists with their measured recall, exact
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

static void test_recall(void **state)
{
    (void)state;
    const size_t k = 10;
    float *v = clustered(N, DIM, 1);
    wr_hit *truth = exact_all(v, N, DIM, k), got[10];
    wr_ann_opts o;
    wr_err err;
    ann_default_opts(&o);
    o.threads = 3; /* more threads than this machine's cores is fine too */
    wr_ann *a = ann_build(v, N, DIM, &o, &err);
    if (!a)
        fail_msg("ann_build: %s", err.msg);
    assert_int_equal(ann_size(a), N);
    assert_true(ann_memory(a) > (size_t)N * DIM * sizeof(float));
    size_t found = 0;
    for (uint32_t row = 0; row < N; row++) {
        long n = ann_search_row(a, row, k, 64, got, &err);
        assert_int_equal(n, (long)k);
        for (size_t i = 0; i < k; i++) {
            assert_int_not_equal(got[i].item, row); /* left out of its own answer */
            assert_true(i == 0 || got[i - 1].score >= got[i].score);
        }
        found += overlap(truth + row * k, got, k);
    }
    double recall = (double)found / (N * k);
    print_message("recall@10 at ef 64: %.4f\n", recall);
    assert_true(recall >= 0.98);

    /* A vector query finds the row it was taken from first, scored ~1. */
    assert_int_equal(ann_search(a, v + 123 * DIM, k, 64, UINT32_MAX, got, &err), (long)k);
    assert_int_equal(got[0].item, 123);
    assert_true(fabsf(got[0].score - 1.0f) < 1e-4f);
    /* ef below k is raised to k; k = 0 finds nothing. */
    assert_int_equal(ann_search(a, v, k, 1, UINT32_MAX, got, &err), (long)k);
    assert_int_equal(ann_search(a, v, 0, 64, UINT32_MAX, got, &err), 0);
    /* More than there are: every other row. */
    wr_hit *all = xmalloc(N * sizeof *all);
    assert_int_equal(ann_search_row(a, 5, N, N, all, &err), N - 1);
    free(all);
    assert_int_equal(ann_search_row(a, N, k, 64, got, &err), -1);
    assert_non_null(strstr(err.msg, "no row"));
    ann_free(a);

    /* The parameters reach the graph: a sparse one built in a hurry misses most of them
     * (measured here: 0.19). */
    o.m = 2;
    o.ef_construction = 8;
    a = ann_build(v, N, DIM, &o, &err);
    assert_non_null(a);
    found = 0;
    for (uint32_t row = 0; row < N; row++) {
        assert_true(ann_search_row(a, row, k, k, got, &err) >= 0);
        found += overlap(truth + row * k, got, k);
    }
    print_message("recall@10 of m 2, ef_construction 8, ef 10: %.4f\n",
                  (double)found / (N * k));
    assert_true(found < N * k * 6 / 10);
    ann_free(a);
    free(truth);
    free(v);
}

static void test_errors(void **state)
{
    (void)state;
    float v[4] = {1, 0, 0, 1};
    wr_ann_opts o;
    wr_err err;
    ann_default_opts(&o);
    err.msg[0] = 0;
    assert_null(ann_build(v, 0, 2, &o, &err));
    assert_non_null(strstr(err.msg, "no vectors"));
    err.msg[0] = 0;
    assert_null(ann_build(v, 2, 0, &o, &err));
    assert_non_null(strstr(err.msg, "no vectors"));
    o.m = 1;
    assert_null(ann_build(v, 2, 2, &o, &err));
    assert_non_null(strstr(err.msg, "m must be at least 2"));
    /* A single row: a graph, and nothing besides the row itself. */
    ann_default_opts(&o);
    wr_ann *a = ann_build(v, 1, 4, &o, &err);
    assert_non_null(a);
    wr_hit h[2];
    assert_int_equal(ann_search_row(a, 0, 2, 10, h, &err), 0);
    assert_int_equal(ann_search(a, v, 2, 10, UINT32_MAX, h, &err), 1);
    ann_free(a);
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
    assert_int_equal(o.ann_m, 32);
    assert_int_equal(o.ann_ef_construction, 200);
    assert_int_equal(o.ann_ef_search, 256);
    o.k = K;
    o.exact_max_items = N - 1;
    o.threads = 2;
    o.ann_m = 16;         /* lighter than the defaults: quick under the sanitizers too */
    o.ann_ef_search = 8;  /* raised to K */
    wr_index *ix = index_build(model_of(v, N, DIM), 3, "mem", &o, &err);
    if (!ix)
        fail_msg("index_build: %s", err.msg);
    const wr_index_info *in = index_info(ix);
    assert_string_equal(in->kind, "hnsw");
    assert_int_equal(in->k, K);
    assert_int_equal(in->ann_m, 16);
    assert_int_equal(in->ann_ef_construction, 200);
    assert_int_equal(in->ann_ef_search, K);
    assert_true(in->ann_bytes > 0 && in->build_seconds >= in->ann_graph_seconds);
    assert_int_equal(in->recall_sample, 500);
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
            /* Scores are exact, whatever the graph's arithmetic. */
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

    /* ann_m 0: above exact_max_items nothing is precomputed. */
    o.ann_m = 0;
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
