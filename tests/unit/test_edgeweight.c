/* test_edgeweight.c - the pair re-weighting schemes against hand computations, the PMI
 * drop rule, invariance to the unit of the weights, and that hubs lose their pull. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "walkrec/edgeweight.h"
#include "walkrec/graph.h"

#define assert_close(got, want, eps) check_close((got), (want), (eps), __LINE__)

static void check_close(double got, double want, double eps, int line)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("line %d: got %.17g, want %.17g (tolerance %g)", line, got, want, eps);
}

static void add(wr_pairs *p, const char *a, const char *b, float w)
{
    pairs_add(p, a, strlen(a), b, strlen(b), w);
}

/* A hub H co-occurring with everything, and two pairs that belong together:
 *   H-a 10, H-b 10, H-c 10, H-d 10, a-b 4, c-d 1
 * Totals: H 40, a 14, b 14, c 11, d 11; W = 45, 2W = 90. */
static void basket(wr_pairs *p, float scale)
{
    pairs_init(p);
    add(p, "H", "a", 10 * scale);
    add(p, "H", "b", 10 * scale);
    add(p, "H", "c", 10 * scale);
    add(p, "H", "d", 10 * scale);
    add(p, "a", "b", 4 * scale);
    add(p, "c", "d", 1 * scale);
    pairs_merge(p);
}

/* Weight of the pair {x, y} in p, or -1 when it is not there. */
static double weight_of(const wr_pairs *p, const char *x, const char *y)
{
    int64_t a = dict_find(p->ids, x, strlen(x)), b = dict_find(p->ids, y, strlen(y));
    for (size_t i = 0; i < p->n; i++)
        if ((p->v[i].a == a && p->v[i].b == b) || (p->v[i].a == b && p->v[i].b == a))
            return p->v[i].w;
    return -1;
}

static void test_names(void **state)
{
    (void)state;
    const char *n[] = {"auto", "raw", "pmi", "lift", "jaccard"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(edgeweight_parse(n[i]), i);
        assert_string_equal(edgeweight_name(i), n[i]);
    }
    assert_int_equal(edgeweight_parse("tfidf"), -1);
    wr_pairs p;
    basket(&p, 1);
    assert_int_equal(edgeweight_apply(&p, 7), -1);
    assert_int_equal(edgeweight_apply(&p, WR_EW_AUTO), -1); /* the pipeline resolves it */
    assert_int_equal(p.n, 6);
    pairs_free(&p);
}

static void test_raw(void **state)
{
    (void)state;
    wr_pairs p;
    basket(&p, 1);
    assert_int_equal(edgeweight_apply(&p, WR_EW_RAW), 0);
    assert_int_equal(p.n, 6);
    assert_close(weight_of(&p, "a", "b"), 4, 0);
    assert_close(weight_of(&p, "H", "c"), 10, 0);
    pairs_free(&p);
}

static void test_lift_and_pmi(void **state)
{
    (void)state;
    wr_pairs p;
    basket(&p, 1);
    assert_int_equal(edgeweight_apply(&p, WR_EW_LIFT), 0);
    assert_close(weight_of(&p, "H", "a"), 90.0 * 10 / (40 * 14), 1e-5);
    assert_close(weight_of(&p, "a", "b"), 90.0 * 4 / (14 * 14), 1e-5);
    assert_close(weight_of(&p, "c", "d"), 90.0 * 1 / (11 * 11), 1e-5);
    pairs_free(&p);

    /* PMI: H-a log(900/560) > 0, a-b log(360/196) > 0, c-d log(90/121) < 0: dropped */
    basket(&p, 1);
    assert_int_equal(edgeweight_apply(&p, WR_EW_PMI), 1);
    assert_int_equal(p.n, 5);
    assert_close(weight_of(&p, "H", "a"), log(900.0 / 560), 1e-6);
    assert_close(weight_of(&p, "a", "b"), log(360.0 / 196), 1e-6);
    assert_close(weight_of(&p, "c", "d"), -1, 0);
    /* the ids stay: c and d keep their pairs with H */
    assert_int_equal(dict_size(p.ids), 5);
    pairs_free(&p);
}

static void test_jaccard(void **state)
{
    (void)state;
    wr_pairs p;
    basket(&p, 1);
    assert_int_equal(edgeweight_apply(&p, WR_EW_JACCARD), 0);
    assert_close(weight_of(&p, "H", "a"), 10.0 / (40 + 14 - 10), 1e-6);
    assert_close(weight_of(&p, "a", "b"), 4.0 / (14 + 14 - 4), 1e-6);
    assert_close(weight_of(&p, "c", "d"), 1.0 / (11 + 11 - 1), 1e-6);
    pairs_free(&p);

    /* an isolated pair is its items' whole world: Jaccard 1 */
    pairs_init(&p);
    add(&p, "x", "y", 7);
    pairs_merge(&p);
    edgeweight_apply(&p, WR_EW_JACCARD);
    assert_close(p.v[0].w, 1, 0);
    pairs_free(&p);
}

/* Counts and rates give the same graph: every scheme but raw ignores the unit. */
static void test_scale_invariance(void **state)
{
    (void)state;
    for (int s = WR_EW_PMI; s <= WR_EW_JACCARD; s++) {
        wr_pairs p, q;
        basket(&p, 1);
        basket(&q, 1000);
        assert_int_equal(edgeweight_apply(&p, s), edgeweight_apply(&q, s));
        assert_int_equal(p.n, q.n);
        for (size_t i = 0; i < p.n; i++)
            assert_close(q.v[i].w, p.v[i].w, 1e-5 * p.v[i].w);
        pairs_free(&p);
        pairs_free(&q);
    }
}

/* From a, the raw walk goes to the hub 10 times in 14; every scheme lowers that share, PMI
 * and lift below one half (the partner b becomes the likelier step), and the result builds
 * a graph. */
static void test_hub_loses_pull(void **state)
{
    (void)state;
    for (int s = WR_EW_RAW; s <= WR_EW_JACCARD; s++) {
        wr_pairs p;
        basket(&p, 1);
        edgeweight_apply(&p, s);
        double hub = weight_of(&p, "a", "H"), partner = weight_of(&p, "a", "b");
        double share = hub / (hub + partner);
        if (s == WR_EW_RAW)
            assert_close(share, 10.0 / 14, 1e-6);
        else
            assert_true(share < 10.0 / 14 - 0.1);
        if (s == WR_EW_PMI || s == WR_EW_LIFT)
            assert_true(share < 0.5);
        wr_graph g;
        wr_err err;
        assert_int_equal(graph_build(&g, &p, 1, &err), 0);
        graph_free(&g);
        pairs_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),         cmocka_unit_test(test_raw),
        cmocka_unit_test(test_lift_and_pmi),  cmocka_unit_test(test_jaccard),
        cmocka_unit_test(test_scale_invariance), cmocka_unit_test(test_hub_loses_pull),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
