/* test_alias.c - Vose's alias tables: the exact distribution a table encodes, for weights
 * (alias_build) and for counts to a power (alias_init), zero counts never drawn, draws
 * against the weights by chi-square, and the error for all-zero counts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "walkrec/alias.h"
#include "walkrec/rng.h"

#define MAXN 8

/* The probability the cells give to each outcome, exactly: a cell keeps its own outcome
 * with probability thr / 2^32 and otherwise goes to its alias, which must be in range. */
static void distribution(const wr_alias_cell *cell, uint32_t n, double *out)
{
    for (uint32_t k = 0; k < n; k++)
        out[k] = 0;
    for (uint32_t k = 0; k < n; k++) {
        double keep = cell[k].thr / 4294967296.0;
        assert_true(cell[k].alias < n);
        out[k] += keep / n;
        out[cell[k].alias] += (1 - keep) / n;
    }
}

/* alias_build: equal weights, one dominant weight, uneven ones, a single outcome. */
static void test_build_weights(void **state)
{
    (void)state;
    static const struct {
        uint32_t n;
        float w[MAXN];
    } cases[] = {
        {5, {1, 1, 1, 1, 1}},
        {5, {1000, 0.001f, 0.001f, 0.001f, 0.001f}},
        {5, {5, 1, 2, 0.5f, 7}},
        {1, {3}},
        {8, {1, 2, 3, 4, 5, 6, 7, 8}},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        uint32_t n = cases[t].n, work[MAXN];
        wr_alias_cell cell[MAXN];
        double q[MAXN], dist[MAXN], sum = 0;
        alias_build(cases[t].w, n, cell, q, work);
        distribution(cell, n, dist);
        for (uint32_t k = 0; k < n; k++)
            sum += cases[t].w[k];
        for (uint32_t k = 0; k < n; k++)
            assert_true(fabs(dist[k] - cases[t].w[k] / sum) < 1e-7);
    }
}

/* alias_init: count^power exactly, zero counts with no probability at all. */
static void test_init_counts(void **state)
{
    (void)state;
    static const struct {
        uint32_t n;
        uint64_t count[MAXN];
        double power;
    } cases[] = {
        {8, {5, 0, 1, 40, 1000, 0, 77, 300}, 0.75},
        {8, {5, 0, 1, 40, 1000, 0, 77, 300}, 1.0},
        {3, {0, 7, 0}, 0.75},
        {4, {1, 1, 1, 1}, 0.5},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        wr_alias a;
        wr_err err;
        double dist[MAXN], sum = 0;
        assert_int_equal(alias_init(&a, cases[t].count, cases[t].n, cases[t].power, &err), 0);
        assert_int_equal(a.n, cases[t].n);
        distribution(a.cell, a.n, dist);
        for (uint32_t k = 0; k < a.n; k++)
            sum += cases[t].count[k] ? pow((double)cases[t].count[k], cases[t].power) : 0;
        for (uint32_t k = 0; k < a.n; k++) {
            double want = cases[t].count[k] ? pow((double)cases[t].count[k], cases[t].power) / sum
                                            : 0;
            assert_true(fabs(dist[k] - want) < 1e-7);
            if (!cases[t].count[k])
                assert_true(dist[k] == 0);
        }
        alias_free(&a);
        assert_null(a.cell);
    }
}

/* Draws, whole and in two halves, against count^0.75 by Pearson's chi-square. */
static void test_draws_chi_square(void **state)
{
    (void)state;
    const uint64_t count[] = {5, 0, 1, 40, 1000, 0, 77, 300};
    uint32_t n = sizeof count / sizeof count[0];
    wr_alias a;
    wr_err err;
    assert_int_equal(alias_init(&a, count, n, 0.75, &err), 0);
    for (int split = 0; split < 2; split++) {
        uint64_t hist[8] = {0}, draws = 2000000;
        wr_rng r;
        rng_seed(&r, 7);
        for (uint64_t i = 0; i < draws; i++) {
            if (split) {
                uint64_t x = rng_next(&r);
                hist[alias_pick(a.cell, x, alias_index(a.n, x))]++;
            } else {
                hist[alias_draw(a.cell, a.n, &r)]++;
            }
        }
        double total = 0, chi = 0;
        for (uint32_t k = 0; k < n; k++)
            total += count[k] ? pow((double)count[k], 0.75) : 0;
        for (uint32_t k = 0; k < n; k++) {
            if (!count[k]) {
                assert_int_equal(hist[k], 0);
                continue;
            }
            double expect = draws * pow((double)count[k], 0.75) / total;
            chi += (hist[k] - expect) * (hist[k] - expect) / expect;
        }
        /* 5 degrees of freedom: P(chi^2 > 20.52) = 0.001 */
        assert_true(chi < 20.52);
    }
    alias_free(&a);
}

static void test_errors(void **state)
{
    (void)state;
    const uint64_t zeros[3] = {0, 0, 0};
    wr_alias a;
    wr_err err;
    assert_int_equal(alias_init(&a, zeros, 3, 0.75, &err), -1);
    assert_non_null(strstr(err.msg, "0"));
    assert_null(a.cell);
    alias_free(&a); /* an empty table is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_weights),
        cmocka_unit_test(test_init_counts),
        cmocka_unit_test(test_draws_chi_square),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
