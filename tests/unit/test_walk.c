/* test_walk.c - random walks: transition frequencies against edge weights (chi-square),
 * node2vec's second-order frequencies against the exact distribution, layout, determinism,
 * option checks; walk_corpus_read on good and malformed sequence files. */
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

#include <zlib.h>

#include "walkrec/rng.h"
#include "walkrec/walk.h"

/* ---- chi-square p-values: Q(df/2, x/2), the regularised upper incomplete gamma ---- */

static double gamma_q(double a, double x)
{
    if (x <= 0)
        return 1;
    double lg = lgamma(a);
    if (x < a + 1) { /* series for P */
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < 10000 && fabs(del) > fabs(sum) * 1e-15; n++) {
            ap += 1;
            del *= x / ap;
            sum += del;
        }
        return 1 - sum * exp(-x + a * log(x) - lg);
    }
    /* Lentz's continued fraction for Q */
    double b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < 1e-300)
            d = 1e-300;
        c = b + an / c;
        if (fabs(c) < 1e-300)
            c = 1e-300;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return exp(-x + a * log(x) - lg) * h;
}

static double chi2_pvalue(double chi2, double df) { return gamma_q(df / 2, chi2 / 2); }

static void test_chi2_pvalue(void **state)
{
    (void)state;
    /* reference values: scipy.stats.chi2.sf */
    assert_true(fabs(chi2_pvalue(3.841458820694124, 1) - 0.05) < 1e-9);
    assert_true(fabs(chi2_pvalue(18.307038053275146, 10) - 0.05) < 1e-9);
    assert_true(fabs(chi2_pvalue(29.588298445074418, 10) - 0.001) < 1e-9);
    assert_true(fabs(chi2_pvalue(9.3418177655919, 10) - 0.5) < 1e-9);
}

/* ---- a small weighted graph with triangles; node i is "n<i>" ---- */

enum { SN = 6 };
static const struct {
    uint32_t a, b;
    float w;
} small_edges[] = {
    {0, 1, 1}, {0, 2, 2}, {0, 3, 4}, {1, 2, 0.5f}, {2, 3, 3},
    {3, 4, 1.2f}, {4, 5, 0.5f}, {1, 5, 2.5f}, {0, 4, 0.3f},
};

static void make_pairs(wr_pairs *p, uint32_t n)
{
    pairs_init(p);
    for (uint32_t i = 0; i < n; i++) {
        char s[16];
        dict_intern(p->ids, s, (size_t)snprintf(s, sizeof s, "n%u", i));
    }
}

static void small_graph(wr_graph *g, wr_pairs *p)
{
    wr_err err;
    make_pairs(p, SN);
    for (size_t i = 0; i < sizeof small_edges / sizeof small_edges[0]; i++)
        pairs_add_idx(p, small_edges[i].a, small_edges[i].b, small_edges[i].w);
    pairs_merge(p);
    assert_int_equal(graph_build(g, p, 1, &err), 0);
}

static double weight(const wr_graph *g, uint32_t u, uint32_t v)
{
    for (uint64_t k = g->off[u]; k < g->off[u + 1]; k++)
        if (g->adj[k] == v)
            return g->w[k];
    return 0;
}

static double out_weight(const wr_graph *g, uint32_t u)
{
    double s = 0;
    for (uint64_t k = g->off[u]; k < g->off[u + 1]; k++)
        s += g->w[k];
    return s;
}

static wr_walk_opts walk_opts(uint32_t walks, uint32_t length, double p, double q, uint64_t seed,
                              int threads)
{
    return (wr_walk_opts){.walks_per_item = walks, .length = length, .p = p, .q = q,
                          .seed = seed, .threads = threads};
}

/* Chi-square of first-order transition counts cnt[u][v] against weight-proportional
 * (or, with uniform set, degree-uniform) expectations. */
static double first_order_chi2(const wr_graph *g, double cnt[SN][SN], int uniform,
                               double *df)
{
    double chi2 = 0;
    *df = 0;
    for (uint32_t u = 0; u < SN; u++) {
        double n = 0;
        for (uint32_t v = 0; v < SN; v++)
            n += cnt[u][v];
        if (n == 0)
            continue;
        for (uint64_t k = g->off[u]; k < g->off[u + 1]; k++) {
            double e = uniform ? n / graph_degree(g, u) : n * g->w[k] / out_weight(g, u);
            double o = cnt[u][g->adj[k]];
            chi2 += (o - e) * (o - e) / e;
        }
        *df += graph_degree(g, u) - 1;
    }
    return chi2;
}

/* About 1e6 first-order steps: frequencies match the weights; the same test rejects a
 * degree-uniform sampler (the negative control) and the walks against uniform. */
static void test_first_order_frequencies(void **state)
{
    (void)state;
    wr_pairs p;
    wr_graph g;
    wr_corpus c;
    wr_err err;
    small_graph(&g, &p);
    wr_walk_opts o = walk_opts(2000, 84, 1, 1, 11, 2);
    assert_int_equal(walk_generate(&g, &o, &c, &err), 0);
    static double cnt[SN][SN], ucnt[SN][SN];
    memset(cnt, 0, sizeof cnt);
    memset(ucnt, 0, sizeof ucnt);
    wr_rng r;
    rng_seed(&r, 5);
    uint64_t steps = 0;
    for (uint64_t s = 0; s < c.nseq; s++)
        for (uint64_t k = c.off[s] + 1; k < c.off[s + 1]; k++) {
            uint32_t u = c.tok[k - 1], v = c.tok[k];
            assert_true(graph_has_edge(&g, u, v));
            cnt[u][v]++;
            /* what a sampler that ignores the weights would have done from u */
            ucnt[u][g.adj[g.off[u] + rng_below(&r, graph_degree(&g, u))]]++;
            steps++;
        }
    assert_true(steps > 990000);
    double df, chi2 = first_order_chi2(&g, cnt, 0, &df);
    double pv = chi2_pvalue(chi2, df);
    print_message("first order: chi2 %.2f df %.0f p %.4f\n", chi2, df, pv);
    assert_true(pv > 1e-4);
    double uchi2 = first_order_chi2(&g, ucnt, 0, &df);
    assert_true(chi2_pvalue(uchi2, df) < 1e-12); /* negative control: uniform sampling fails */
    double wchi2 = first_order_chi2(&g, cnt, 1, &df);
    assert_true(chi2_pvalue(wchi2, df) < 1e-12); /* and the walks are not uniform */
    walk_corpus_free(&c);
    graph_free(&g);
    pairs_free(&p);
}

/* node2vec's exact second-order law by brute force: P(x | t, v) is proportional to
 * w(v, x) times 1/p if x = t, 1 if x is adjacent to t, 1/q otherwise. With first_order
 * set, the bias is left out (the negative control). */
static double node2vec_chi2(const wr_graph *g, double p, double q, double cnt[SN][SN][SN],
                            int first_order, double *df)
{
    double chi2 = 0;
    *df = 0;
    for (uint32_t t = 0; t < SN; t++)
        for (uint32_t v = 0; v < SN; v++) {
            double n = 0, z = 0, pi[SN] = {0};
            for (uint32_t x = 0; x < SN; x++)
                n += cnt[t][v][x];
            if (n == 0)
                continue;
            assert_true(graph_has_edge(g, t, v));
            for (uint32_t x = 0; x < SN; x++) {
                double wx = weight(g, v, x);
                if (wx == 0)
                    continue;
                double bias = first_order ? 1 : x == t ? 1 / p : graph_has_edge(g, t, x) ? 1 : 1 / q;
                pi[x] = wx * bias;
                z += pi[x];
            }
            for (uint32_t x = 0; x < SN; x++) {
                if (pi[x] == 0) {
                    assert_true(cnt[t][v][x] == 0);
                    continue;
                }
                double e = n * pi[x] / z;
                chi2 += (cnt[t][v][x] - e) * (cnt[t][v][x] - e) / e;
            }
            *df += graph_degree(g, v) - 1;
        }
    return chi2;
}

static void check_node2vec(double p, double q)
{
    wr_pairs pairs;
    wr_graph g;
    wr_corpus c;
    wr_err err;
    small_graph(&g, &pairs);
    wr_walk_opts o = walk_opts(2000, 85, p, q, 99, 2);
    assert_int_equal(walk_generate(&g, &o, &c, &err), 0);
    static double cnt[SN][SN][SN];
    memset(cnt, 0, sizeof cnt);
    uint64_t n = 0;
    for (uint64_t s = 0; s < c.nseq; s++)
        for (uint64_t k = c.off[s] + 2; k < c.off[s + 1]; k++, n++)
            cnt[c.tok[k - 2]][c.tok[k - 1]][c.tok[k]]++;
    assert_true(n > 990000);
    double df, chi2 = node2vec_chi2(&g, p, q, cnt, 0, &df);
    double pv = chi2_pvalue(chi2, df);
    print_message("node2vec p=%g q=%g: chi2 %.2f df %.0f p %.4f\n", p, q, chi2, df, pv);
    assert_true(pv > 1e-4);
    double fchi2 = node2vec_chi2(&g, p, q, cnt, 1, &df);
    assert_true(chi2_pvalue(fchi2, df) < 1e-12); /* negative control: first-order law fails */
    walk_corpus_free(&c);
    graph_free(&g);
    pairs_free(&pairs);
}

static void test_node2vec_frequencies(void **state)
{
    (void)state;
    check_node2vec(0.25, 4);  /* return-heavy, local */
    check_node2vec(4, 0.5);   /* exploring */
}

/* A random graph with some isolated nodes. */
static void random_graph(wr_graph *g, wr_pairs *p, uint32_t n, uint32_t npairs, uint64_t seed)
{
    wr_err err;
    wr_rng r;
    rng_seed(&r, seed);
    make_pairs(p, n);
    for (uint32_t i = 0; i < npairs; i++) {
        uint32_t a = rng_below(&r, n - n / 10), b = rng_below(&r, n - n / 10);
        pairs_add_idx(p, a, b, (float)(0.5 + rng_double(&r)));
    }
    pairs_merge(p);
    assert_int_equal(graph_build(g, p, 2, &err), 0);
}

static void test_layout(void **state)
{
    (void)state;
    wr_pairs p;
    wr_graph g;
    wr_corpus c;
    wr_err err;
    random_graph(&g, &p, 3000, 12000, 1);
    uint32_t ns = 0;
    for (uint32_t u = 0; u < g.n; u++)
        ns += graph_degree(&g, u) > 0;
    assert_true(ns < g.n);
    wr_walk_opts o = walk_opts(10, 10, 1, 1, 3, 2);
    assert_int_equal(walk_generate(&g, &o, &c, &err), 0);
    assert_int_equal(c.nseq, (uint64_t)ns * 10);
    assert_int_equal(c.ntok, c.nseq * 10);
    assert_int_equal(c.off[0], 0);
    uint32_t *seen = calloc(g.n, sizeof *seen);
    for (uint32_t round = 0; round < 10; round++) {
        int ascending = 1;
        for (uint32_t i = 0; i < ns; i++) {
            uint64_t s = (uint64_t)round * ns + i;
            assert_int_equal(c.off[s + 1] - c.off[s], 10);
            uint32_t start = c.tok[c.off[s]];
            assert_true(graph_degree(&g, start) > 0);
            assert_int_equal(seen[start], round); /* once per round */
            seen[start]++;
            if (i > 0 && start < c.tok[c.off[s - 1]])
                ascending = 0;
            for (uint64_t k = c.off[s] + 1; k < c.off[s + 1]; k++)
                assert_true(graph_has_edge(&g, c.tok[k - 1], c.tok[k]));
        }
        assert_false(ascending); /* shuffled */
    }
    free(seen);
    walk_corpus_free(&c);
    graph_free(&g);
    pairs_free(&p);
}

static int same_corpus(const wr_corpus *a, const wr_corpus *b)
{
    return a->ntok == b->ntok && a->nseq == b->nseq &&
           !memcmp(a->tok, b->tok, a->ntok * sizeof *a->tok) &&
           !memcmp(a->off, b->off, (a->nseq + 1) * sizeof *a->off);
}

/* Same seed: same corpus whatever the thread count; another seed: another corpus. */
static void test_determinism(void **state)
{
    (void)state;
    wr_pairs p;
    wr_graph g;
    wr_err err;
    random_graph(&g, &p, 5000, 30000, 2);
    double pq[][2] = {{1, 1}, {0.5, 2}};
    for (int k = 0; k < 2; k++) {
        wr_corpus c1, c2, c3, d;
        wr_walk_opts o = walk_opts(10, 20, pq[k][0], pq[k][1], 7, 1);
        assert_int_equal(walk_generate(&g, &o, &c1, &err), 0);
        o.threads = 2;
        assert_int_equal(walk_generate(&g, &o, &c2, &err), 0);
        o.threads = 3;
        assert_int_equal(walk_generate(&g, &o, &c3, &err), 0);
        o.seed = 8;
        assert_int_equal(walk_generate(&g, &o, &d, &err), 0);
        assert_true(same_corpus(&c1, &c2));
        assert_true(same_corpus(&c1, &c3));
        assert_false(same_corpus(&c1, &d));
        uint64_t differ = 0;
        for (uint64_t i = 0; i < c1.ntok; i++)
            differ += c1.tok[i] != d.tok[i];
        assert_true(differ > c1.ntok / 2);
        walk_corpus_free(&c1);
        walk_corpus_free(&c2);
        walk_corpus_free(&c3);
        walk_corpus_free(&d);
    }
    graph_free(&g);
    pairs_free(&p);
}

static void test_bad_options(void **state)
{
    (void)state;
    wr_pairs p;
    wr_graph g;
    wr_corpus c;
    wr_err err;
    small_graph(&g, &p);
    wr_walk_opts o = walk_opts(10, 10, 0, 1, 1, 1);
    assert_int_equal(walk_generate(&g, &o, &c, &err), -1);
    assert_non_null(strstr(err.msg, "p and q"));
    o = walk_opts(10, 10, 1, INFINITY, 1, 1);
    assert_int_equal(walk_generate(&g, &o, &c, &err), -1);
    o = walk_opts(10, 0, 1, 1, 1, 1);
    assert_int_equal(walk_generate(&g, &o, &c, &err), -1);
    o = walk_opts(0, 10, 1, 1, 1, 1);
    assert_int_equal(walk_generate(&g, &o, &c, &err), -1);
    assert_null(c.tok);
    /* length 1: the start nodes only */
    o = walk_opts(2, 1, 1, 1, 1, 1);
    assert_int_equal(walk_generate(&g, &o, &c, &err), 0);
    assert_int_equal(c.ntok, 2 * SN);
    walk_corpus_free(&c);
    graph_free(&g);
    pairs_free(&p);

    make_pairs(&p, 3);
    assert_int_equal(graph_build(&g, &p, 1, &err), 0);
    o = walk_opts(10, 10, 1, 1, 1, 1);
    assert_int_equal(walk_generate(&g, &o, &c, &err), -1);
    assert_non_null(strstr(err.msg, "no edges"));
    graph_free(&g);
    pairs_free(&p);
}

/* ---- walk_corpus_read ---- */

static char path[256];

static const char *write_tmp(const char *name, const char *data, size_t len)
{
    snprintf(path, sizeof path, "/tmp/wr_test_walk_%ld_%s", (long)getpid(), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, len, f);
    fclose(f);
    return path;
}

static void expect_seq(const wr_corpus *c, const wr_dict *d, uint64_t s, const char *want)
{
    char got[256] = "";
    for (uint64_t k = c->off[s]; k < c->off[s + 1]; k++) {
        if (k > c->off[s])
            strcat(got, ",");
        strcat(got, dict_str(d, c->tok[k]));
    }
    assert_string_equal(got, want);
}

static void test_corpus_read_good(void **state)
{
    (void)state;
    const char text[] = "a b c\n"
                        "\n"
                        "  b\t\tc  a \r\n"
                        " \t \n"
                        "d\n"
                        "caf\xc3\xa9 a";
    const char *f = write_tmp("good.txt", text, sizeof text - 1);
    wr_dict *d = dict_new(16);
    dict_intern(d, "z", 1); /* ids already in the dict keep their index */
    wr_corpus c;
    wr_err err;
    assert_int_equal(walk_corpus_read(&c, d, f, &err), 0);
    assert_int_equal(c.nseq, 4);
    assert_int_equal(c.ntok, 9);
    expect_seq(&c, d, 0, "a,b,c");
    expect_seq(&c, d, 1, "b,c,a");
    expect_seq(&c, d, 2, "d");
    expect_seq(&c, d, 3, "caf\xc3\xa9,a");
    assert_int_equal(dict_size(d), 6);
    assert_int_equal(dict_find(d, "z", 1), 0);
    assert_int_equal(c.tok[0], 1);
    unlink(f);
    walk_corpus_free(&c);

    /* gzip'd input */
    snprintf(path, sizeof path, "/tmp/wr_test_walk_%ld_seq.gz", (long)getpid());
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    gzputs(gz, "x y\nz x\n");
    gzclose(gz);
    assert_int_equal(walk_corpus_read(&c, d, path, &err), 0);
    assert_int_equal(c.nseq, 2);
    expect_seq(&c, d, 0, "x,y");
    expect_seq(&c, d, 1, "z,x");
    assert_int_equal(c.tok[2], 0);
    unlink(path);
    walk_corpus_free(&c);

    /* an empty file: an empty corpus */
    f = write_tmp("empty.txt", "", 0);
    assert_int_equal(walk_corpus_read(&c, d, f, &err), 0);
    assert_int_equal(c.nseq, 0);
    assert_int_equal(c.ntok, 0);
    assert_int_equal(c.off[0], 0);
    unlink(f);
    walk_corpus_free(&c);
    dict_free(d);
}

static void expect_error(const char *name, const char *data, size_t len, const char *where,
                         const char *what)
{
    const char *f = write_tmp(name, data, len);
    char want[300];
    snprintf(want, sizeof want, "%s:%s", f, where);
    wr_dict *d = dict_new(16);
    wr_corpus c;
    wr_err err;
    assert_int_equal(walk_corpus_read(&c, d, f, &err), -1);
    assert_null(c.tok);
    assert_int_equal(c.nseq, 0);
    if (!strstr(err.msg, want) || !strstr(err.msg, what))
        fail_msg("error '%s' lacks '%s' or '%s'", err.msg, want, what);
    unlink(f);
    dict_free(d);
}

static void test_corpus_read_bad(void **state)
{
    (void)state;
    const char bad_utf8[] = "a b\nc \xff\xfe d\n";
    expect_error("utf8.txt", bad_utf8, sizeof bad_utf8 - 1, "2:", "UTF-8");
    const char overlong[] = "a b\n\nx \xc0\xaf\n"; /* overlong encoding of '/' */
    expect_error("overlong.txt", overlong, sizeof overlong - 1, "3:", "UTF-8");
    size_t n = WR_ID_MAX + 1;
    char *longid = malloc(n + 16);
    memcpy(longid, "a\nb\nc ", 6);
    memset(longid + 6, 'x', n);
    memcpy(longid + 6 + n, " d\n", 3);
    expect_error("long.txt", longid, n + 9, "3:", "longer than");
    /* exactly WR_ID_MAX bytes is fine */
    const char *f = write_tmp("max.txt", longid + 4, n + 1);
    wr_dict *d = dict_new(16);
    wr_corpus c;
    wr_err err;
    assert_int_equal(walk_corpus_read(&c, d, f, &err), 0);
    assert_int_equal(c.ntok, 2); /* "c" and the id of WR_ID_MAX bytes */
    assert_int_equal(dict_strlen(d, 1), WR_ID_MAX);
    walk_corpus_free(&c);
    dict_free(d);
    unlink(f);
    free(longid);
    d = dict_new(16);
    assert_int_equal(walk_corpus_read(&c, d, "/nonexistent/seq.txt", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/seq.txt"));
    dict_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chi2_pvalue),
        cmocka_unit_test(test_first_order_frequencies),
        cmocka_unit_test(test_node2vec_frequencies),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_corpus_read_good),
        cmocka_unit_test(test_corpus_read_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
