/* test_split.c - the random split: determinism, sizes, negatives, dense-graph corner cases,
 * degree-matched negatives (their distribution by a chi-square test, the file format). */
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

#include "walkrec/eval.h"
#include "walkrec/rng.h"
#include "walkrec/split.h"

/* A random graph: `items` ids "i0", "i1", ..., `edges` draws (duplicates merge away). */
static void random_graph(wr_pairs *p, uint32_t items, size_t edges, uint64_t seed)
{
    wr_rng rng;
    rng_seed(&rng, seed);
    pairs_init(p);
    char a[32], b[32];
    for (uint32_t i = 0; i < items; i++) {
        snprintf(a, sizeof a, "i%u", i);
        dict_intern(p->ids, a, strlen(a));
    }
    for (size_t e = 0; e < edges; e++) {
        uint32_t x = rng_below(&rng, items), y = rng_below(&rng, items);
        snprintf(a, sizeof a, "i%u", x);
        snprintf(b, sizeof b, "i%u", y);
        pairs_add(p, a, strlen(a), b, strlen(b), 1.0f + (float)(e % 3));
    }
    pairs_merge(p);
}

static uint64_t key(uint32_t a, uint32_t b)
{
    return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static int has_edge(const wr_pairs *p, uint32_t a, uint32_t b)
{
    for (size_t i = 0; i < p->n; i++)
        if (key(p->v[i].a, p->v[i].b) == key(a, b))
            return 1;
    return 0;
}

static void test_determinism(void **state)
{
    (void)state;
    wr_pairs p, t1, t2, t3;
    wr_valset v1, v2, v3;
    wr_err err;
    random_graph(&p, 300, 1500, 5);
    wr_split_opts o = {.val_frac = 0.33, .seed = 42};
    assert_int_equal(split_pairs(&p, &o, &t1, &v1, &err), 0);
    assert_int_equal(split_pairs(&p, &o, &t2, &v2, &err), 0);
    assert_int_equal(v1.n, v2.n);
    assert_memory_equal(v1.a, v2.a, v1.n * sizeof *v1.a);
    assert_memory_equal(v1.b, v2.b, v1.n * sizeof *v1.b);
    assert_memory_equal(v1.label, v2.label, v1.n);
    assert_int_equal(t1.n, t2.n);
    assert_memory_equal(t1.v, t2.v, t1.n * sizeof *t1.v);

    o.seed = 43;
    assert_int_equal(split_pairs(&p, &o, &t3, &v3, &err), 0);
    assert_int_equal(v3.n, v1.n);
    assert_true(memcmp(v1.a, v3.a, v1.n * sizeof *v1.a) || memcmp(v1.b, v3.b, v1.n * sizeof *v1.b));

    split_valset_free(&v1);
    split_valset_free(&v2);
    split_valset_free(&v3);
    pairs_free(&t1);
    pairs_free(&t2);
    pairs_free(&t3);
    pairs_free(&p);
}

static void test_sizes_and_contents(void **state)
{
    (void)state;
    wr_pairs p, t;
    wr_valset v;
    wr_err err;
    random_graph(&p, 400, 2000, 9);
    const double fracs[] = {0.33, 0.1, 0.5};
    for (size_t fi = 0; fi < 3; fi++) {
        wr_split_opts o = {.val_frac = fracs[fi], .seed = 7};
        assert_int_equal(split_pairs(&p, &o, &t, &v, &err), 0);
        size_t npos = 0, nneg = 0;
        for (size_t i = 0; i < v.n; i++)
            v.label[i] ? npos++ : nneg++;
        assert_int_equal(npos, (size_t)llround(fracs[fi] * (double)p.n));
        assert_int_equal(nneg, npos);
        assert_int_equal(t.n + npos, p.n);

        /* the training set keeps the input's ids at the same indices */
        assert_int_equal(dict_size(t.ids), dict_size(p.ids));
        for (uint32_t i = 0; i < dict_size(p.ids); i++)
            assert_string_equal(dict_str(t.ids, i), dict_str(p.ids, i));

        /* train ∪ held-out positives == input, as sets of unordered pairs */
        uint64_t *got = malloc((t.n + npos) * sizeof *got), *want = malloc(p.n * sizeof *want);
        size_t g = 0;
        for (size_t i = 0; i < t.n; i++)
            got[g++] = key(t.v[i].a, t.v[i].b);
        for (size_t i = 0; i < v.n; i++)
            if (v.label[i])
                got[g++] = key(v.a[i], v.b[i]);
        for (size_t i = 0; i < p.n; i++)
            want[i] = key(p.v[i].a, p.v[i].b);
        qsort(got, g, sizeof *got, cmp_u64);
        qsort(want, p.n, sizeof *want, cmp_u64);
        assert_int_equal(g, p.n);
        assert_memory_equal(got, want, p.n * sizeof *got);

        /* negatives: no self pair, no true edge, no duplicate */
        uint64_t *neg = malloc(nneg * sizeof *neg);
        size_t k = 0;
        for (size_t i = 0; i < v.n; i++) {
            if (v.label[i])
                continue;
            assert_int_not_equal(v.a[i], v.b[i]);
            assert_true(v.a[i] < dict_size(p.ids) && v.b[i] < dict_size(p.ids));
            uint64_t kk = key(v.a[i], v.b[i]);
            assert_null(bsearch(&kk, want, p.n, sizeof *want, cmp_u64));
            neg[k++] = kk;
        }
        qsort(neg, k, sizeof *neg, cmp_u64);
        for (size_t i = 1; i < k; i++)
            assert_true(neg[i] != neg[i - 1]);
        free(neg);
        free(got);
        free(want);
        split_valset_free(&v);
        pairs_free(&t);
    }
    pairs_free(&p);
}

/* Complete graph: no negative exists; the split must fail at once with a clear message. */
static void test_complete_graph(void **state)
{
    (void)state;
    wr_pairs p, t;
    wr_valset v;
    wr_err err;
    pairs_init(&p);
    char a[8], b[8];
    for (int i = 0; i < 12; i++)
        for (int j = i + 1; j < 12; j++) {
            snprintf(a, sizeof a, "n%d", i);
            snprintf(b, sizeof b, "n%d", j);
            pairs_add(&p, a, strlen(a), b, strlen(b), 1);
        }
    pairs_merge(&p);
    wr_split_opts o = {.val_frac = 0.33, .seed = 1};
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), -1);
    assert_non_null(strstr(err.msg, "negative"));
    assert_null(v.a);
    pairs_free(&p);
}

/* Dense but feasible: 30 items, 435 possible pairs, all but 40 are edges; 0.1 of the edges
 * (40) must be drawn as negatives, i.e. every single non-edge. */
static void test_dense_graph(void **state)
{
    (void)state;
    wr_pairs p, t;
    wr_valset v;
    wr_err err;
    pairs_init(&p);
    char a[8], b[8];
    int skipped = 0;
    for (int i = 0; i < 30; i++)
        for (int j = i + 1; j < 30; j++) {
            if (skipped < 40 && (i * 31 + j) % 7 == 0) {
                skipped++;
                continue;
            }
            snprintf(a, sizeof a, "n%d", i);
            snprintf(b, sizeof b, "n%d", j);
            pairs_add(&p, a, strlen(a), b, strlen(b), 1);
        }
    pairs_merge(&p);
    assert_int_equal(skipped, 40);
    assert_int_equal(p.n, 395);
    wr_split_opts o = {.val_frac = 40.0 / 395.0, .seed = 3};
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), 0);
    assert_int_equal(v.n, 80);
    for (size_t i = 0; i < v.n; i++)
        if (!v.label[i])
            assert_false(has_edge(&p, v.a[i], v.b[i]));
    split_valset_free(&v);
    pairs_free(&t);

    /* one more negative than there are non-edges: refused up front */
    o.val_frac = 41.0 / 395.0;
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), -1);
    assert_non_null(strstr(err.msg, "not edges"));
    pairs_free(&p);
}

static void test_bad_options(void **state)
{
    (void)state;
    wr_pairs p, t;
    wr_valset v;
    wr_err err;
    random_graph(&p, 50, 100, 1);
    wr_split_opts o = {.val_frac = 1.5, .seed = 1};
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), -1);
    assert_non_null(strstr(err.msg, "fraction"));
    o.val_frac = 0.001; /* rounds to zero held-out pairs */
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), -1);
    assert_non_null(strstr(err.msg, "empty"));
    pairs_free(&p);
}

static void test_write(void **state)
{
    (void)state;
    wr_pairs p, t;
    wr_valset v;
    wr_err err;
    random_graph(&p, 40, 60, 2);
    wr_split_opts o = {.val_frac = 0.25, .seed = 11};
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), 0);
    char path[256];
    snprintf(path, sizeof path, "/tmp/wr_test_split_%ld.tsv", (long)getpid());
    assert_int_equal(split_valset_write(&v, p.ids, path, &err), 0);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256], a[64], b[64];
    unsigned label;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "item_a\titem_b\tlabel\n");
    size_t i = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(i < v.n);
        assert_int_equal(sscanf(line, "%63[^\t]\t%63[^\t]\t%u", a, b, &label), 3);
        assert_string_equal(a, dict_str(p.ids, v.a[i]));
        assert_string_equal(b, dict_str(p.ids, v.b[i]));
        assert_int_equal(label, v.label[i]);
        i++;
    }
    assert_int_equal(i, v.n);
    fclose(f);
    unlink(path);
    split_valset_free(&v);
    pairs_free(&t);
    pairs_free(&p);
}


/* A Chung-Lu graph: both ends of each of `draws` pairs drawn in proportion to a power-law
 * weight, so degrees spread from hubs to leaves with no other structure. */
static void chung_lu(wr_pairs *p, uint32_t items, size_t draws, double alpha, uint64_t seed)
{
    wr_rng rng;
    rng_seed(&rng, seed);
    double *cum = malloc(items * sizeof *cum), total = 0;
    for (uint32_t i = 0; i < items; i++)
        cum[i] = total += pow(1.0 + i, -alpha);
    pairs_init(p);
    char a[32];
    for (uint32_t i = 0; i < items; i++) {
        snprintf(a, sizeof a, "n%u", i);
        dict_intern(p->ids, a, strlen(a));
    }
    for (size_t e = 0; e < draws; e++) {
        uint32_t x[2];
        for (int s = 0; s < 2; s++) {
            double u = rng_double(&rng) * total;
            uint32_t lo = 0, hi = items - 1;
            while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;
                if (cum[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            x[s] = lo;
        }
        pairs_add_idx(p, x[0], x[1], 1);
    }
    pairs_merge(p);
    free(cum);
}

static int kind_count(const wr_valset *v, int label, int kind)
{
    int n = 0;
    for (size_t i = 0; i < v->n; i++)
        n += v->label[i] == label && (label || v->kind[i] == kind);
    return n;
}

/* Both kinds: the uniform ones are exactly those of a uniform-only split, the degree ones
 * obey the same rules (no self pair, no edge, no duplicate) and only name items of held-out
 * pairs. */
static void test_both_kinds(void **state)
{
    (void)state;
    wr_pairs p, t1, t2;
    wr_valset u, b;
    wr_err err;
    chung_lu(&p, 400, 1500, 0.8, 4);
    wr_split_opts o = {.val_frac = 0.3, .seed = 8};
    assert_int_equal(split_pairs(&p, &o, &t1, &u, &err), 0);
    o.negatives = WR_NEG_BOTH;
    assert_int_equal(split_pairs(&p, &o, &t2, &b, &err), 0);
    size_t want = (size_t)llround(0.3 * (double)p.n);
    assert_int_equal(u.n, 2 * want);
    assert_int_equal(b.n, 3 * want);
    assert_int_equal(kind_count(&b, 1, 0), want);
    assert_int_equal(kind_count(&b, 0, WR_NEG_UNIFORM), want);
    assert_int_equal(kind_count(&b, 0, WR_NEG_DEGREE), want);
    assert_memory_equal(u.a, b.a, u.n * sizeof *u.a);
    assert_memory_equal(u.b, b.b, u.n * sizeof *u.b);
    assert_memory_equal(u.kind, b.kind, u.n);
    assert_int_equal(t1.n, t2.n);

    uint8_t *held = calloc(dict_size(p.ids), 1);
    for (size_t i = 0; i < want; i++)
        held[b.a[i]] = held[b.b[i]] = 1;
    uint64_t *neg = malloc(want * sizeof *neg);
    size_t k = 0;
    for (size_t i = 2 * want; i < b.n; i++) {
        assert_int_equal(b.label[i], 0);
        assert_int_equal(b.kind[i], WR_NEG_DEGREE);
        assert_int_not_equal(b.a[i], b.b[i]);
        assert_true(held[b.a[i]] && held[b.b[i]]);
        assert_false(has_edge(&p, b.a[i], b.b[i]));
        neg[k++] = key(b.a[i], b.b[i]);
    }
    qsort(neg, k, sizeof *neg, cmp_u64);
    for (size_t i = 1; i < k; i++)
        assert_true(neg[i] != neg[i - 1]);
    free(neg);
    free(held);

    /* degree alone: the same positives, then degree negatives only */
    wr_pairs t3;
    wr_valset d;
    o.negatives = WR_NEG_DEGREE;
    assert_int_equal(split_pairs(&p, &o, &t3, &d, &err), 0);
    assert_int_equal(d.n, 2 * want);
    assert_memory_equal(d.a, u.a, want * sizeof *d.a);
    assert_int_equal(kind_count(&d, 0, WR_NEG_DEGREE), want);
    split_valset_free(&u);
    split_valset_free(&b);
    split_valset_free(&d);
    pairs_free(&t1);
    pairs_free(&t2);
    pairs_free(&t3);
    pairs_free(&p);
}

/* Upper quantile of chi-square with df degrees of freedom at standard normal quantile z
 * (Wilson-Hilferty; within a percent for df >= 10). */
static double chi2_quantile(double df, double z)
{
    double h = 2 / (9 * df);
    return df * pow(1 - h + z * sqrt(h), 3);
}

/* Chi-square statistic of observed against expected counts; cells expecting fewer than 5
 * are pooled into one. */
static double chi2(const double *obs, const double *exp, size_t n, size_t *df)
{
    double stat = 0, po = 0, pe = 0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        if (exp[i] < 5) {
            po += obs[i];
            pe += exp[i];
            continue;
        }
        stat += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i];
        cells++;
    }
    if (pe >= 5) {
        stat += (po - pe) * (po - pe) / pe;
        cells++;
    }
    *df = cells - 1;
    return stat;
}

/* Degree-matched negatives follow their distribution: an unordered non-edge {i, j} with
 * probability proportional to h_i h_j (h = held-out degree, which changes with each split).
 * Over 1500 seeded splits of a small sparse graph, the count of each item as an endpoint of
 * a negative is compared with its expectation under that law: chi-square below the 0.001
 * critical value. Uniform negatives, under the same test, are rejected by far (the test has
 * power). Few negatives per split keep the no-duplicate rule from bending the law. */
static void test_degree_distribution(void **state)
{
    (void)state;
    enum { N = 60, SPLITS = 1500 };
    wr_pairs p;
    chung_lu(&p, N, 200, 0.9, 21);
    uint8_t edge[N][N] = {{0}};
    for (size_t i = 0; i < p.n; i++)
        edge[p.v[i].a][p.v[i].b] = edge[p.v[i].b][p.v[i].a] = 1;
    double obs_deg[N] = {0}, obs_uni[N] = {0}, exp[N] = {0};
    for (uint64_t seed = 1; seed <= SPLITS; seed++) {
        wr_pairs t;
        wr_valset v;
        wr_err err;
        wr_split_opts o = {.val_frac = 0.04, .seed = seed, .negatives = WR_NEG_BOTH};
        assert_int_equal(split_pairs(&p, &o, &t, &v, &err), 0);
        size_t want = v.n / 3;
        double deg[N] = {0}, z = 0, e[N] = {0};
        for (size_t i = 0; i < want; i++) {
            deg[v.a[i]]++;
            deg[v.b[i]]++;
        }
        for (uint32_t i = 0; i < N; i++)
            for (uint32_t j = i + 1; j < N; j++)
                if (!edge[i][j]) {
                    double w = deg[i] * deg[j];
                    z += w;
                    e[i] += w;
                    e[j] += w;
                }
        for (uint32_t i = 0; i < N; i++)
            exp[i] += (double)want * e[i] / z;
        for (size_t i = 0; i < v.n; i++) {
            if (v.label[i])
                continue;
            double *obs = v.kind[i] == WR_NEG_DEGREE ? obs_deg : obs_uni;
            obs[v.a[i]]++;
            obs[v.b[i]]++;
        }
        split_valset_free(&v);
        pairs_free(&t);
    }
    size_t df, df_u;
    double stat = chi2(obs_deg, exp, N, &df), stat_u = chi2(obs_uni, exp, N, &df_u);
    double crit = chi2_quantile((double)df, 3.09); /* p = 0.001 */
    print_message("degree negatives: chi-square %.1f on %zu df (0.001 critical %.1f); "
                  "uniform negatives: %.1f\n", stat, df, crit, stat_u);
    assert_true(df >= 20);
    assert_true(stat < crit);
    assert_true(stat_u > 10 * crit);
    pairs_free(&p);
}

/* Four columns when degree negatives are there: uniform|degree on negatives, empty on
 * positives, and the reader gets the kinds back. Three columns otherwise, as always. */
static void test_write_kinds(void **state)
{
    (void)state;
    wr_pairs p, t;
    wr_valset v;
    wr_err err;
    chung_lu(&p, 100, 300, 0.7, 6);
    wr_split_opts o = {.val_frac = 0.2, .seed = 2, .negatives = WR_NEG_BOTH};
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), 0);
    char path[256];
    snprintf(path, sizeof path, "/tmp/wr_test_split_kinds_%ld.tsv", (long)getpid());
    assert_int_equal(split_valset_write(&v, p.ids, path, &err), 0);
    FILE *f = fopen(path, "r");
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "item_a\titem_b\tlabel\tnegatives\n");
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "\t1\t\n"));
    fclose(f);
    wr_labeled l;
    assert_int_equal(eval_labeled_read(&l, path, &err), 0);
    assert_int_equal(l.n, v.n);
    for (size_t i = 0; i < v.n; i++) {
        assert_int_equal(l.label[i], v.label[i]);
        assert_int_equal(l.kind[i], v.label[i] ? WR_NEG_UNIFORM : v.kind[i]);
        assert_string_equal(l.a[i], dict_str(p.ids, v.a[i]));
    }
    eval_labeled_free(&l);
    split_valset_free(&v);
    pairs_free(&t);

    o.negatives = WR_NEG_UNIFORM;
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), 0);
    assert_int_equal(split_valset_write(&v, p.ids, path, &err), 0);
    f = fopen(path, "r");
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "item_a\titem_b\tlabel\n");
    fclose(f);
    unlink(path);
    split_valset_free(&v);
    pairs_free(&t);
    pairs_free(&p);
}

/* A complete core plus two ids without any pair: uniform negatives exist (core to extra),
 * degree-matched ones cannot (the extras have no training degree): refused up front. */
static void test_degree_room(void **state)
{
    (void)state;
    wr_pairs p, t;
    wr_valset v;
    wr_err err;
    pairs_init(&p);
    char a[16], b[16];
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++) {
            snprintf(a, sizeof a, "k%d", i);
            snprintf(b, sizeof b, "k%d", j);
            pairs_add(&p, a, strlen(a), b, strlen(b), 1);
        }
    pairs_merge(&p);
    dict_intern(p.ids, "x", 1);
    dict_intern(p.ids, "y", 1);
    wr_split_opts o = {.val_frac = 0.1, .seed = 1, .negatives = WR_NEG_UNIFORM};
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), 0);
    for (size_t i = 0; i < v.n; i++)
        if (!v.label[i])
            assert_true(v.a[i] >= 8 || v.b[i] >= 8);
    split_valset_free(&v);
    pairs_free(&t);
    o.negatives = WR_NEG_BOTH;
    assert_int_equal(split_pairs(&p, &o, &t, &v, &err), -1);
    assert_non_null(strstr(err.msg, "degree negative"));
    assert_null(v.a);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_sizes_and_contents),
        cmocka_unit_test(test_complete_graph), cmocka_unit_test(test_dense_graph),
        cmocka_unit_test(test_bad_options), cmocka_unit_test(test_write),
        cmocka_unit_test(test_both_kinds), cmocka_unit_test(test_degree_distribution),
        cmocka_unit_test(test_write_kinds), cmocka_unit_test(test_degree_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
