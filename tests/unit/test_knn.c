/* test_knn.c - knn_topk against a brute-force reference: random data, exact ties,
 * exclusion, padding, several query and base blocks, and thread counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/knn.h"
#include "walkrec/rng.h"
#include "walkrec/util.h"

typedef struct ref_hit {
    double score;
    uint32_t item;
} ref_hit;

static int ref_cmp(const void *a, const void *b)
{
    const ref_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

typedef struct exclude_ctx {
    uint32_t mod;         /* items divisible by it are excluded (0 = none) */
    const uint32_t *self; /* query qi's own row, excluded (NULL = none) */
} exclude_ctx;

static int exclude(size_t qi, uint32_t item, void *arg)
{
    const exclude_ctx *c = arg;
    return (c->mod && item % c->mod == 0) || (c->self && c->self[qi] == item);
}

/* Scores in double, all candidates sorted best first; returns how many. */
static size_t reference(const float *base, size_t n, size_t dim, const float *q,
                        const exclude_ctx *ex, size_t qi, ref_hit *all)
{
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (ex && exclude(qi, i, (void *)ex))
            continue;
        double s = 0;
        for (size_t d = 0; d < dim; d++)
            s += (double)q[d] * base[(size_t)i * dim + d];
        all[m++] = (ref_hit){s, i};
    }
    qsort(all, m, sizeof *all, ref_cmp);
    return m;
}

static float *random_unit(size_t n, size_t dim, uint64_t seed)
{
    wr_rng r;
    rng_seed(&r, seed);
    float *v = xmalloc_aligned(n * dim * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double ss = 0;
        for (size_t d = 0; d < dim; d++) {
            v[i * dim + d] = (float)(rng_double(&r) * 2 - 1);
            ss += (double)v[i * dim + d] * v[i * dim + d];
        }
        for (size_t d = 0; d < dim; d++)
            v[i * dim + d] = (float)(v[i * dim + d] / sqrt(ss));
    }
    return v;
}

/* Random data: scores match the reference to float precision, and the items match except
 * where the reference itself has near-ties (then the scores still have to). */
static void check_random(size_t n, size_t dim, size_t nq, size_t k, int threads,
                         const exclude_ctx *ex)
{
    float *base = random_unit(n, dim, 11), *q = random_unit(nq, dim, 12);
    wr_hit *out = xmalloc(nq * k * sizeof *out);
    ref_hit *all = xmalloc(n * sizeof *all);
    knn_topk(base, n, dim, q, nq, k, ex ? exclude : NULL, (void *)ex, threads, out);
    for (size_t qi = 0; qi < nq; qi++) {
        size_t m = reference(base, n, dim, q + qi * dim, ex, qi, all);
        for (size_t r = 0; r < k; r++) {
            wr_hit h = out[qi * k + r];
            if (r >= m) {
                assert_int_equal(h.item, UINT32_MAX);
                assert_true(h.score == -INFINITY);
                continue;
            }
            if (fabs(h.score - all[r].score) > 1e-5)
                fail_msg("query %zu rank %zu: score %.7f, reference %.7f", qi, r, h.score,
                         all[r].score);
            int near_tie = (r > 0 && all[r - 1].score - all[r].score < 1e-5) ||
                           (r + 1 < m && all[r].score - all[r + 1].score < 1e-5);
            if (!near_tie && h.item != all[r].item)
                fail_msg("query %zu rank %zu: item %u, reference %u", qi, r, h.item, all[r].item);
            assert_false(ex && exclude(qi, h.item, (void *)ex));
        }
    }
    free(all);
    free(out);
    free(q);
    free(base);
}

static void test_random(void **state)
{
    (void)state;
    check_random(1000, 16, 37, 10, 1, NULL);
    /* Several base blocks (2048 rows) and query blocks (256), odd sizes, threads. */
    check_random(5000, 24, 301, 7, 1, NULL);
    check_random(5000, 24, 301, 7, 3, NULL);
    check_random(300, 5, 1, 100, 2, NULL);
}

static void test_exclusion_and_padding(void **state)
{
    (void)state;
    exclude_ctx ex = {3, NULL};
    check_random(2500, 8, 50, 20, 2, &ex);
    /* Fewer candidates than k: padded. */
    check_random(5, 4, 3, 8, 1, NULL);
    exclude_ctx everything = {1, NULL};
    check_random(10, 4, 2, 3, 1, &everything);
    /* The usual self-exclusion: queries are base rows. */
    float *base = random_unit(400, 6, 5);
    uint32_t self[4] = {0, 17, 399, 200};
    float q[4 * 6];
    for (int i = 0; i < 4; i++)
        memcpy(q + i * 6, base + self[i] * 6, 6 * sizeof(float));
    wr_hit out[4 * 5];
    exclude_ctx sx = {0, self};
    knn_topk(base, 400, 6, q, 4, 5, exclude, &sx, 1, out);
    ref_hit *all = xmalloc(400 * sizeof *all);
    for (int i = 0; i < 4; i++) {
        reference(base, 400, 6, q + i * 6, &sx, (size_t)i, all);
        for (int r = 0; r < 5; r++) {
            assert_int_not_equal(out[i * 5 + r].item, self[i]);
            assert_int_equal(out[i * 5 + r].item, all[r].item);
        }
    }
    free(all);
    free(base);
}

/* Small integers: every product is exact in float, so ties are exact and the order must
 * be the reference's (score descending, lower row first) to the last item. */
static void test_exact_ties(void **state)
{
    (void)state;
    size_t n = 4500, dim = 4, nq = 40, k = 25;
    wr_rng r;
    rng_seed(&r, 3);
    float *base = xmalloc_aligned(n * dim * sizeof(float)), *q = xmalloc(nq * dim * sizeof(float));
    for (size_t i = 0; i < n * dim; i++)
        base[i] = (float)rng_below(&r, 3) - 1;
    for (size_t i = 0; i < nq * dim; i++)
        q[i] = (float)rng_below(&r, 5) - 2;
    wr_hit *out = xmalloc(nq * k * sizeof *out), *out2 = xmalloc(nq * k * sizeof *out);
    ref_hit *all = xmalloc(n * sizeof *all);
    exclude_ctx ex = {7, NULL};
    for (int pass = 0; pass < 2; pass++) {
        const exclude_ctx *e = pass ? &ex : NULL;
        knn_topk(base, n, dim, q, nq, k, e ? exclude : NULL, (void *)e, 1, out);
        knn_topk(base, n, dim, q, nq, k, e ? exclude : NULL, (void *)e, 2, out2);
        assert_memory_equal(out, out2, nq * k * sizeof *out);
        for (size_t qi = 0; qi < nq; qi++) {
            reference(base, n, dim, q + qi * dim, e, qi, all);
            for (size_t i = 0; i < k; i++) {
                if (out[qi * k + i].item != all[i].item || out[qi * k + i].score != all[i].score)
                    fail_msg("query %zu rank %zu: (%u, %g), reference (%u, %g)", qi, i,
                             out[qi * k + i].item, out[qi * k + i].score, all[i].item,
                             all[i].score);
            }
        }
    }
    free(all);
    free(out2);
    free(out);
    free(q);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_exclusion_and_padding),
        cmocka_unit_test(test_exact_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
