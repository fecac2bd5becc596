/* test_explain.c - the pair graph beside a model: written over the model's rows (pairs of
 * items it lacks left out), read back; a pair's evidence (direct weight, shared partners
 * and the best of them, walk steps) against a brute force over the pairs themselves, in
 * both ways of intersecting the rows; damaged and foreign files refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpdir.h"
#include "walkrec/explain.h"
#include "walkrec/rng.h"

static void add(wr_pairs *p, const char *a, const char *b, float w)
{
    pairs_add(p, a, strlen(a), b, strlen(b), w);
}

static wr_dict *rows_of(const char *const *ids, size_t n)
{
    wr_dict *d = dict_new(n);
    for (size_t i = 0; i < n; i++)
        dict_intern(d, ids[i], strlen(ids[i]));
    return d;
}

static uint32_t row(const wr_dict *d, const char *id)
{
    int64_t r = dict_find(d, id, strlen(id));
    assert_true(r >= 0);
    return (uint32_t)r;
}

static const char *path_of(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

/* A small catalogue worked by hand. Rows in another order than the pairs' ids; Z is in
 * the pairs but not in the model. A-B 2 (given as 1.5 + 0.5), A-C 1, B-C 3, A-D 4, B-D 1,
 * C-E 1, A-Z 7. */
static void test_by_hand(void **state)
{
    (void)state;
    wr_pairs p;
    pairs_init(&p);
    add(&p, "A", "B", 1.5f);
    add(&p, "B", "A", 0.5f);
    add(&p, "A", "C", 1);
    add(&p, "C", "B", 3);
    add(&p, "A", "D", 4);
    add(&p, "D", "B", 1);
    add(&p, "C", "E", 1);
    add(&p, "A", "Z", 7);
    pairs_merge(&p);
    static const char *const ids[] = {"E", "D", "C", "B", "A"};
    wr_dict *rows = rows_of(ids, 5);
    wr_err err;
    const char *path = path_of("hand.graph");
    assert_int_equal(explain_graph_write(path, &p, rows, &err), 0);
    wr_explain_graph *g = explain_graph_open(path, rows, &err);
    assert_non_null(g);
    assert_int_equal(explain_graph_pairs(g), 6);
    assert_true(explain_graph_weight(g) == 12);
    uint32_t A = row(rows, "A"), B = row(rows, "B"), C = row(rows, "C"), D = row(rows, "D"),
             E = row(rows, "E");
    assert_int_equal(explain_graph_degree(g, A), 3); /* Z is no row */
    assert_true(explain_graph_strength(g, A) == 7);
    assert_true(explain_graph_strength(g, B) == 6);
    wr_explain e;
    explain_pair(g, A, B, &e);
    assert_true(e.weight == 2);
    assert_int_equal(e.deg_a, 3);
    assert_int_equal(e.deg_b, 3);
    assert_int_equal(e.shared, 2); /* C and D */
    assert_int_equal(e.ntop, 2);
    /* D: min(4, 1) = 1, sum 5; C: min(1, 3) = 1, sum 4: D first */
    assert_int_equal(e.top[0].row, D);
    assert_true(e.top[0].wa == 4 && e.top[0].wb == 1);
    assert_int_equal(e.top[1].row, C);
    assert_true(e.top[1].wa == 1 && e.top[1].wb == 3);
    assert_true(fabs(e.step1_ab - 2.0 / 7) < 1e-12);
    assert_true(fabs(e.step1_ba - 2.0 / 6) < 1e-12);
    /* A -> C -> B: 1/7 * 3/5; A -> D -> B: 4/7 * 1/5 */
    assert_true(fabs(e.step2_ab - (1.0 / 7 * 3 / 5 + 4.0 / 7 * 1 / 5)) < 1e-7);
    /* B -> C -> A: 3/6 * 1/5; B -> D -> A: 1/6 * 4/5 */
    assert_true(fabs(e.step2_ba - (3.0 / 6 * 1 / 5 + 1.0 / 6 * 4 / 5)) < 1e-7);
    explain_pair(g, A, E, &e); /* no pair, one shared partner (C) */
    assert_true(e.weight == 0 && e.step1_ab == 0);
    assert_int_equal(e.shared, 1);
    assert_int_equal(e.top[0].row, C);
    assert_true(fabs(e.step2_ab - 1.0 / 7 * 1 / 5) < 1e-7);
    assert_true(fabs(e.step2_ba - 1.0 * 1 / 5) < 1e-7);
    explain_pair(g, B, A, &e); /* the other way round: the same, mirrored */
    assert_true(e.weight == 2 && fabs(e.step1_ab - 2.0 / 6) < 1e-12);
    assert_true(e.top[0].wa == 1 && e.top[0].wb == 4);
    /* an item known from ingested pairs only: A 2 and C 0.5 (rows ascending) */
    uint32_t prow[2] = {C < A ? C : A, C < A ? A : C};
    float pw[2] = {prow[0] == A ? 2.0f : 0.5f, prow[1] == A ? 2.0f : 0.5f};
    explain_ingested(g, prow, pw, 2, B, &e); /* no pair with B; A and C shared */
    assert_true(e.weight == 0 && e.deg_a == 2 && e.deg_b == 3);
    assert_int_equal(e.shared, 2);
    assert_int_equal(e.top[0].row, A); /* min(2, 2) before min(0.5, 3) */
    assert_true(e.top[0].wa == 2 && e.top[0].wb == 2);
    assert_true(e.top[1].wa == 0.5f && e.top[1].wb == 3);
    assert_true(e.step1_ab == 0 && e.step2_ab == 0 && e.step2_ba == 0);
    explain_ingested(g, prow, pw, 2, A, &e); /* the pair with A; C shared (A's partner) */
    assert_true(e.weight == 2);
    assert_int_equal(e.shared, 1);
    assert_int_equal(e.top[0].row, C);
    assert_true(e.top[0].wa == 0.5f && e.top[0].wb == 1);
    explain_graph_free(g);
    dict_free(rows);
    pairs_free(&p);
}

/* A random graph with a hub: every pair's evidence equals a brute force over an adjacency
 * matrix, whether the rows are merged or the short one is looked up in the long one. */
static void test_random(void **state)
{
    (void)state;
    enum { N = 60 };
    static float w[N][N];
    memset(w, 0, sizeof w);
    wr_rng r;
    rng_seed(&r, 7);
    wr_pairs p;
    pairs_init(&p);
    char ids[N][8];
    const char *names[N];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "i%02d", i);
        names[i] = ids[i];
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            /* item 0 is a hub (every item), the rest sparse */
            if (i == 0 || rng_double(&r) < 0.08) {
                float x = (float)(1 + rng_below(&r, 4)) * 0.5f;
                w[i][j] = w[j][i] = x;
                add(&p, ids[j], ids[i], x);
            }
        }
    pairs_merge(&p);
    wr_dict *rows = rows_of(names, N);
    wr_err err;
    const char *path = path_of("random.graph");
    assert_int_equal(explain_graph_write(path, &p, rows, &err), 0);
    wr_explain_graph *g = explain_graph_open(path, rows, &err);
    assert_non_null(g);
    double s[N] = {0};
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            s[i] += w[i][j];
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            if (a == b)
                continue;
            wr_explain e;
            explain_pair(g, (uint32_t)a, (uint32_t)b, &e);
            uint32_t shared = 0;
            double s2ab = 0, s2ba = 0, best = 0;
            for (int c = 0; c < N; c++)
                if (w[a][c] > 0 && w[b][c] > 0) {
                    shared++;
                    s2ab += w[a][c] / s[a] * w[c][b] / s[c];
                    s2ba += w[b][c] / s[b] * w[c][a] / s[c];
                    double m = w[a][c] < w[b][c] ? w[a][c] : w[b][c];
                    best = m > best ? m : best;
                }
            assert_true(e.weight == w[a][b]);
            assert_int_equal(e.shared, shared);
            assert_int_equal(e.ntop, shared < WR_EXPLAIN_TOP ? shared : WR_EXPLAIN_TOP);
            if (shared) { /* the first is a best one, and they come in order */
                const wr_explain_partner *t = e.top;
                assert_true((t[0].wa < t[0].wb ? t[0].wa : t[0].wb) == best);
                for (uint32_t k = 0; k < e.ntop; k++) {
                    assert_true(t[k].wa == w[a][t[k].row] && t[k].wb == w[b][t[k].row]);
                    if (k)
                        assert_true((t[k].wa < t[k].wb ? t[k].wa : t[k].wb) <=
                                    (t[k - 1].wa < t[k - 1].wb ? t[k - 1].wa : t[k - 1].wb));
                }
            }
            assert_true(fabs(e.step1_ab - w[a][b] / s[a]) < 1e-6);
            assert_true(fabs(e.step2_ab - s2ab) < 1e-6);
            assert_true(fabs(e.step2_ba - s2ba) < 1e-6);
        }
    explain_graph_free(g);
    dict_free(rows);
    pairs_free(&p);
}

/* No file, another model's file, a cut file, a partner out of bounds: refused with the
 * right code. */
static void test_refused(void **state)
{
    (void)state;
    wr_pairs p;
    pairs_init(&p);
    add(&p, "A", "B", 1);
    add(&p, "B", "C", 1);
    pairs_merge(&p);
    static const char *const ids[] = {"A", "B", "C"}, *const other[] = {"A", "B", "X"};
    wr_dict *rows = rows_of(ids, 3), *rows2 = rows_of(other, 3);
    wr_err err;
    const char *path = path_of("r.graph");
    char good[128];
    snprintf(good, sizeof good, "%s", path);
    assert_null(explain_graph_open(good, rows, &err));
    assert_int_equal(err.code, WR_ENOTFOUND);
    assert_int_equal(explain_graph_write(good, &p, rows, &err), 0);
    assert_null(explain_graph_open(good, rows2, &err));
    assert_int_equal(err.code, WR_ECORRUPT);
    FILE *f = fopen(good, "rb");
    assert_non_null(f);
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *cut = tmpdir_write("cut.graph", buf, n - 4);
    assert_null(explain_graph_open(cut, rows, &err));
    assert_int_equal(err.code, WR_ECORRUPT);
    /* the first partner of row A (after the header and 4 offsets) made 9 */
    uint32_t bad = 9;
    memcpy(buf + 64 + 4 * 8, &bad, 4);
    const char *oob = tmpdir_write("oob.graph", buf, n);
    assert_null(explain_graph_open(oob, rows, &err));
    assert_int_equal(err.code, WR_ECORRUPT);
    memcpy(buf, "WRGRAPH0", 8);
    assert_null(explain_graph_open(tmpdir_write("magic.graph", buf, n), rows, &err));
    assert_int_equal(err.code, WR_ECORRUPT);
    char *gp = explain_graph_path("/d/model-3.wr");
    assert_string_equal(gp, "/d/model-3.graph");
    free(gp);
    dict_free(rows);
    dict_free(rows2);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
