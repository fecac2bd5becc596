/* test_churn.c - overlap@k and rank-biased overlap by hand, and between two indexes whose
 * rows come in different orders (items matched by id). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "walkrec/churn.h"
#include "walkrec/rng.h"

static void close_to(double got, double want, double eps, int line)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("line %d: got %.17g, want %.17g", line, got, want);
}
#define assert_near(got, want, eps) close_to((got), (want), (eps), __LINE__)

static void test_by_hand(void **state)
{
    (void)state;
    const uint32_t a[] = {1, 2, 3}, same[] = {1, 2, 3}, swap[] = {2, 1, 3}, none[] = {7, 8, 9};
    const uint32_t last[] = {9, 8, 3};
    assert_true(churn_overlap(a, 3, same, 3, 3) == 1 && churn_rbo(a, 3, same, 3, 3, 0.9) > 1 - 1e-12);
    assert_true(churn_overlap(a, 3, none, 3, 3) == 0 && churn_rbo(a, 3, none, 3, 3, 0.9) == 0);
    /* the top two swapped: every item shared, but X_1 = 0, X_2 = 2, X_3 = 3:
     * 0.9^3 + (0.1 / 0.9) (0 + 0.81 + 0.729) = 0.9 */
    assert_true(churn_overlap(a, 3, swap, 3, 3) == 1);
    assert_near(churn_rbo(a, 3, swap, 3, 3, 0.9), 0.9, 1e-12);
    /* one item in common, at the bottom: a third of overlap, less in RBO */
    assert_near(churn_overlap(a, 3, last, 3, 3), 1.0 / 3, 1e-15);
    assert_near(churn_rbo(a, 3, last, 3, 3, 0.9), 0.729 / 3 + 0.1 / 0.9 * 0.243, 1e-12);
    /* a short list counts against k */
    assert_near(churn_overlap(a, 2, same, 2, 3), 2.0 / 3, 1e-15);
}

/* n rows of random vectors named "i<perm(r)>", with the rows in the given order. */
static wr_index *indexed(uint32_t n, const uint32_t *order, uint64_t seed, float noise, uint32_t k)
{
    wr_model *m = model_new(n, 8);
    wr_rng r, e;
    rng_seed(&r, seed);
    rng_seed(&e, seed + 1000);
    float base[64 * 8];
    for (size_t i = 0; i < (size_t)n * 8; i++)
        base[i] = rng_float(&r) - 0.5f;
    for (uint32_t row = 0; row < n; row++) {
        char id[16];
        snprintf(id, sizeof id, "i%u", order[row]);
        dict_intern(m->ids, id, strlen(id));
        for (uint32_t d = 0; d < 8; d++)
            m->vecs[(size_t)row * 8 + d] = base[order[row] * 8 + d] + noise * (rng_float(&e) - 0.5f);
    }
    wr_index_opts o;
    index_default_opts(&o);
    o.k = k;
    o.threads = 1;
    wr_err err;
    wr_index *ix = index_build(m, 1, "mem", &o, &err);
    assert_non_null(ix);
    return ix;
}

static void test_indexes(void **state)
{
    (void)state;
    enum { N = 64 };
    uint32_t id[N], rev[N];
    for (uint32_t i = 0; i < N; i++)
        id[i] = i, rev[i] = N - 1 - i;
    wr_index *live = indexed(N, id, 1, 0, 20);
    /* the same vectors, rows reversed: the same lists by id */
    wr_index *same = indexed(N, rev, 1, 0, 20);
    wr_churn c;
    churn_compare(live, same, 10, &c);
    assert_int_equal(c.items, N);
    assert_false(c.sampled);
    assert_true(c.overlap > 1 - 1e-12 && c.rbo > 1 - 1e-9);
    /* perturbed vectors: some lists change */
    wr_index *moved = indexed(N, rev, 1, 0.6f, 20);
    churn_compare(live, moved, 10, &c);
    print_message("perturbed: overlap@10 %.3f, RBO %.3f\n", c.overlap, c.rbo);
    assert_true(c.overlap < 1 && c.overlap > 0 && c.rbo < 1 && c.rbo > 0);
    /* other vectors altogether: about chance, 10 of 63 */
    wr_index *other = indexed(N, id, 99, 0, 20);
    churn_compare(live, other, 10, &c);
    assert_true(c.overlap < 0.4);
    /* without stored lists: exact scans, the same answer for the same vectors */
    wr_index *nolists = indexed(N, rev, 1, 0, 0);
    churn_compare(live, nolists, 10, &c);
    assert_true(c.overlap > 1 - 1e-12);
    index_free(live);
    index_free(same);
    index_free(moved);
    index_free(other);
    index_free(nolists);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
