/* test_graph.c - CSR construction (degrees, symmetric arcs, weights, sorted rows), the
 * alias tables' exact distributions, input checks and the parallel build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/graph.h"
#include "walkrec/rng.h"

static void add(wr_pairs *p, const char *a, const char *b, float w)
{
    pairs_add(p, a, strlen(a), b, strlen(b), w);
}

static uint32_t id(const wr_pairs *p, const char *s)
{
    int64_t i = dict_find(p->ids, s, strlen(s));
    assert_true(i >= 0);
    return (uint32_t)i;
}

/* Weight of arc u -> v, or 0 if there is none (a linear scan: independent of the binary
 * search under test). */
static float arc_weight(const wr_graph *g, uint32_t u, uint32_t v)
{
    for (uint64_t k = g->off[u]; k < g->off[u + 1]; k++)
        if (g->adj[k] == v)
            return g->w[k];
    return 0;
}

/* The probability the alias cells of row u give to each arc, exactly: a cell keeps its arc
 * with probability thr / 2^32 and otherwise moves to its alias, which must be in the row. */
static void alias_distribution(const wr_graph *g, uint32_t u, double *out)
{
    uint64_t o = g->off[u];
    uint32_t d = graph_degree(g, u);
    for (uint32_t k = 0; k < d; k++)
        out[k] = 0;
    for (uint32_t k = 0; k < d; k++) {
        double keep = g->cell[o + k].thr / 4294967296.0;
        uint32_t a = 0;
        while (a < d && g->adj[o + a] != g->cell[o + k].alias)
            a++;
        assert_true(a < d);
        out[k] += keep / d;
        out[a] += (1 - keep) / d;
    }
}

static void check_alias_rows(const wr_graph *g)
{
    double *dist = malloc((g->m + 1) * sizeof *dist);
    for (uint32_t u = 0; u < g->n; u++) {
        uint32_t d = graph_degree(g, u);
        double sum = 0;
        for (uint64_t k = g->off[u]; k < g->off[u + 1]; k++)
            sum += g->w[k];
        alias_distribution(g, u, dist);
        for (uint32_t k = 0; k < d; k++)
            assert_true(fabs(dist[k] - g->w[g->off[u] + k] / sum) < 1e-6);
    }
    free(dist);
}

static void test_small_graph(void **state)
{
    (void)state;
    wr_pairs p;
    pairs_init(&p);
    add(&p, "a", "b", 1);
    add(&p, "c", "a", 2);
    add(&p, "b", "c", 0.5f);
    add(&p, "d", "c", 3);
    add(&p, "b", "a", 0.25f); /* merges with a-b */
    dict_intern(p.ids, "e", 1); /* an item without pairs */
    pairs_merge(&p);
    wr_graph g;
    wr_err err;
    assert_int_equal(graph_build(&g, &p, 1, &err), 0);
    uint32_t a = id(&p, "a"), b = id(&p, "b"), c = id(&p, "c"), d = id(&p, "d"), e = id(&p, "e");
    assert_int_equal(g.n, 5);
    assert_int_equal(g.m, 8);
    assert_int_equal(g.off[0], 0);
    assert_int_equal(g.off[g.n], g.m);
    assert_int_equal(graph_degree(&g, a), 2);
    assert_int_equal(graph_degree(&g, b), 2);
    assert_int_equal(graph_degree(&g, c), 3);
    assert_int_equal(graph_degree(&g, d), 1);
    assert_int_equal(graph_degree(&g, e), 0);
    assert_true(fabsf(arc_weight(&g, a, b) - 1.25f) < 1e-6);
    assert_true(fabsf(arc_weight(&g, a, c) - 2) < 1e-6);
    assert_true(fabsf(arc_weight(&g, b, c) - 0.5f) < 1e-6);
    assert_true(fabsf(arc_weight(&g, c, d) - 3) < 1e-6);
    assert_true(arc_weight(&g, a, d) == 0);
    /* every arc has its reverse with the same weight; rows sorted */
    for (uint32_t u = 0; u < g.n; u++)
        for (uint64_t k = g.off[u]; k < g.off[u + 1]; k++) {
            assert_true(arc_weight(&g, g.adj[k], u) == g.w[k]);
            if (k > g.off[u])
                assert_true(g.adj[k - 1] < g.adj[k]);
        }
    assert_true(graph_has_edge(&g, a, b) && graph_has_edge(&g, b, a));
    assert_true(graph_has_edge(&g, c, d) && graph_has_edge(&g, d, c));
    assert_false(graph_has_edge(&g, a, d));
    assert_false(graph_has_edge(&g, d, b));
    assert_false(graph_has_edge(&g, e, a));
    assert_false(graph_has_edge(&g, a, e));
    assert_false(graph_has_edge(&g, a, a));
    check_alias_rows(&g);
    /* graph_step from d can only reach c */
    wr_rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < 100; i++)
        assert_int_equal(graph_step(&g, d, &r), c);
    graph_free(&g);
    assert_null(g.adj);
    pairs_free(&p);
}

/* Pairs in no particular order and not merged through pairs_merge: rows still sorted. */
static void test_unsorted_input(void **state)
{
    (void)state;
    wr_pairs p;
    pairs_init(&p);
    for (int i = 0; i < 10; i++) {
        char s[8];
        dict_intern(p.ids, s, (size_t)snprintf(s, sizeof s, "n%d", i));
    }
    uint32_t edges[][2] = {{9, 3}, {0, 7}, {5, 1}, {3, 0}, {2, 8}, {1, 3}, {4, 9}, {6, 0}};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        pairs_add_idx(&p, edges[i][0], edges[i][1], (float)(i + 1));
    wr_graph g;
    wr_err err;
    assert_int_equal(graph_build(&g, &p, 1, &err), 0);
    assert_int_equal(g.m, 16);
    for (uint32_t u = 0; u < g.n; u++)
        for (uint64_t k = g.off[u] + 1; k < g.off[u + 1]; k++)
            assert_true(g.adj[k - 1] < g.adj[k]);
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        assert_true(arc_weight(&g, edges[i][0], edges[i][1]) == (float)(i + 1));
        assert_true(arc_weight(&g, edges[i][1], edges[i][0]) == (float)(i + 1));
    }
    assert_int_equal(graph_degree(&g, 3), 3);
    assert_int_equal(graph_degree(&g, 0), 3);
    check_alias_rows(&g);
    graph_free(&g);
    pairs_free(&p);
}

static void test_bad_input(void **state)
{
    (void)state;
    wr_pairs p;
    wr_graph g;
    wr_err err;
    pairs_init(&p);
    add(&p, "a", "b", 1);
    pairs_merge(&p);
    p.v[0].w = 0;
    assert_int_equal(graph_build(&g, &p, 1, &err), -1);
    assert_non_null(strstr(err.msg, "weight"));
    assert_null(g.adj);
    graph_free(&g);
    p.v[0].w = NAN;
    assert_int_equal(graph_build(&g, &p, 1, &err), -1);
    p.v[0].w = 1;
    p.v[0].b = p.v[0].a;
    assert_int_equal(graph_build(&g, &p, 1, &err), -1);
    assert_non_null(strstr(err.msg, "itself"));
    p.v[0].b = 7;
    assert_int_equal(graph_build(&g, &p, 1, &err), -1);
    assert_non_null(strstr(err.msg, "beyond"));
    pairs_free(&p);

    /* no pairs at all: a valid, empty graph */
    pairs_init(&p);
    dict_intern(p.ids, "x", 1);
    assert_int_equal(graph_build(&g, &p, 2, &err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.m, 0);
    assert_int_equal(graph_degree(&g, 0), 0);
    graph_free(&g);
    pairs_free(&p);
}

/* Skewed random weights over many rows, built on 1 and 3 threads: identical arrays, and
 * every alias table exact. */
static void test_parallel_build(void **state)
{
    (void)state;
    enum { N = 20000, PAIRS = 150000 };
    wr_pairs p;
    pairs_init(&p);
    for (int i = 0; i < N; i++) {
        char s[16];
        dict_intern(p.ids, s, (size_t)snprintf(s, sizeof s, "n%d", i));
    }
    wr_rng r;
    rng_seed(&r, 42);
    for (int i = 0; i < PAIRS; i++) {
        /* a hub-heavy graph: low indices get many arcs */
        uint32_t a = rng_below(&r, 1 + rng_below(&r, N)), b = rng_below(&r, N);
        pairs_add_idx(&p, a, b, (float)(0.01 + 100 * rng_double(&r) * rng_double(&r)));
    }
    pairs_merge(&p);
    wr_graph g1, g3;
    wr_err err;
    assert_int_equal(graph_build(&g1, &p, 1, &err), 0);
    assert_int_equal(graph_build(&g3, &p, 3, &err), 0);
    assert_int_equal(g1.m, 2 * p.n);
    assert_true(g1.m >= 200000); /* large enough for the threaded path */
    assert_memory_equal(g1.off, g3.off, (g1.n + 1) * sizeof *g1.off);
    assert_memory_equal(g1.adj, g3.adj, g1.m * sizeof *g1.adj);
    assert_memory_equal(g1.w, g3.w, g1.m * sizeof *g1.w);
    assert_memory_equal(g1.cell, g3.cell, g1.m * sizeof *g1.cell);
    check_alias_rows(&g3);
    uint64_t deg_sum = 0;
    for (uint32_t u = 0; u < g3.n; u++)
        deg_sum += graph_degree(&g3, u);
    assert_int_equal(deg_sum, g3.m);
    for (size_t i = 0; i < p.n; i += 97) {
        assert_true(graph_has_edge(&g3, p.v[i].a, p.v[i].b));
        assert_true(graph_has_edge(&g3, p.v[i].b, p.v[i].a));
        assert_true(arc_weight(&g3, p.v[i].b, p.v[i].a) == p.v[i].w);
    }
    graph_free(&g1);
    graph_free(&g3);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_graph),   cmocka_unit_test(test_unsorted_input),
        cmocka_unit_test(test_bad_input),     cmocka_unit_test(test_parallel_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
