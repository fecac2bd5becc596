/* test_index.c - the served index against brute force: precomputed lists, the exact-scan
 * fallbacks (large k, filters that exhaust a list, no lists at all) and the budgets that
 * count and bound them, basket queries, scores, and side information (sidecar + items
 * file, categories, bad files). Includes index.c. */
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

#include "../../src/index.c"
#include "walkrec/rng.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_index.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

static char *tmp_path(const char *name)
{
    char *p = xmalloc(strlen(tmpdir) + strlen(name) + 2);
    sprintf(p, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* n random rows of dim (row `zero` all zeros), ids "it000".. */
static wr_model *random_model(uint32_t n, uint32_t dim, uint64_t seed, uint32_t zero)
{
    wr_model *m = model_new(n, dim);
    wr_rng r;
    rng_seed(&r, seed);
    for (uint32_t i = 0; i < n; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "it%03u", i);
        dict_intern(m->ids, id, (size_t)len);
        for (uint32_t j = 0; j < dim; j++)
            m->vecs[(size_t)i * dim + j] = i == zero ? 0.0f : rng_float(&r) * 2 - 1;
    }
    return m;
}

static int by_score(const void *a, const void *b)
{
    const wr_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* A filter's accept callback: the rows of one category (a code of the side column). */
typedef struct in_cat {
    const wr_index *ix;
    size_t col;
    uint32_t code;
} in_cat;

static int accept_cat(const void *ctx, uint32_t row, int prov)
{
    const in_cat *c = ctx;
    return !prov && index_side_code(c->ix, row, c->col) == c->code;
}

/* Brute force over the index's own unit vectors: every row but self passing f, sorted. */
static size_t brute(const wr_index *ix, const float *q, uint32_t self, size_t k,
                    const wr_filter *f, wr_hit *out)
{
    uint32_t n = ix->info.n;
    wr_hit *all = xmalloc(n * sizeof *all);
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == self || rejected(ix, f, i))
            continue;
        double s = 0;
        for (uint32_t j = 0; j < ix->info.dim; j++)
            s += (double)q[j] * ix->vecs[(size_t)i * ix->info.dim + j];
        if ((float)s >= f->min_score)
            all[m++] = (wr_hit){i, (float)s};
    }
    qsort(all, m, sizeof *all, by_score);
    if (m > k)
        m = k;
    memcpy(out, all, m * sizeof *out);
    free(all);
    return m;
}

/* Same items in the same order, except that near-equal scores may swap. */
static void same_hits(const wr_hit *want, size_t nw, const wr_hit *got, size_t ng,
                      const char *what, uint32_t row)
{
    if (nw != ng)
        fail_msg("%s, row %u: %zu neighbours, expected %zu", what, row, ng, nw);
    for (size_t i = 0; i < nw; i++) {
        if (fabsf(want[i].score - got[i].score) > 1e-5f)
            fail_msg("%s, row %u, rank %zu: score %g, expected %g", what, row, i,
                     got[i].score, want[i].score);
        if (want[i].item != got[i].item && fabsf(want[i].score - got[i].score) > 1e-6f)
            fail_msg("%s, row %u, rank %zu: item %u, expected %u", what, row, i, got[i].item,
                     want[i].item);
    }
}

static wr_index *build(wr_model *m, uint32_t k, uint64_t exact_max, const char *items,
                       const char *sidecar)
{
    wr_index_opts o;
    wr_err err;
    index_default_opts(&o);
    o.k = k;
    o.exact_max_items = exact_max;
    o.ann_probe = 0; /* above exact_max: no lists at all (test_ann covers approximate ones) */
    o.threads = 2;
    o.items_file = items;
    o.sidecar = sidecar;
    wr_index *ix = index_build(m, 7, "mem", &o, &err);
    if (!ix)
        fail_msg("index_build: %s", err.msg);
    return ix;
}

/* Categories: row i is in "c<i % 3>". */
static char *category_file(uint32_t n)
{
    char *path = tmp_path("cats.tsv");
    FILE *f = fopen(path, "w");
    fprintf(f, "item\tcategory\n");
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, "it%03u\tc%u\n", i, i % 3);
    fclose(f);
    return path;
}

/* The same query under budgets: none (a trial that counts the scans it needs), one scan
 * short, exactly the scans it needs. */
static void check_budget(const wr_index *ix, uint32_t row, size_t k, wr_filter *f, int scans,
                         const wr_hit *want, size_t nw, const char *what)
{
    wr_hit *got = xmalloc(k * sizeof *got);
    wr_budget trial = {0}, short_one = {ix->info.n - 1, 0, 0}, enough = {ix->info.n, 0, 0};
    f->budget = &trial;
    size_t ng = index_neighbors(ix, row, k, f, got);
    if (scans >= 0 && trial.scans != (uint64_t)scans)
        fail_msg("%s, row %u: %llu scans counted, expected %d", what, row,
                 (unsigned long long)trial.scans, scans);
    assert_true(trial.scans <= 1);
    assert_int_equal(trial.refused, trial.scans == 1);
    if (trial.scans == 0)
        same_hits(want, nw, got, ng, what, row);
    else
        assert_int_equal(ng, 0);
    f->budget = &short_one;
    ng = index_neighbors(ix, row, k, f, got);
    assert_int_equal(short_one.refused, trial.scans == 1);
    assert_int_equal(short_one.items, ix->info.n - 1);
    f->budget = &enough;
    ng = index_neighbors(ix, row, k, f, got);
    same_hits(want, nw, got, ng, what, row);
    assert_int_equal(enough.refused, 0);
    assert_int_equal(enough.items, trial.scans ? 0 : ix->info.n);
    f->budget = NULL;
    free(got);
}

static void test_neighbors_table(void **state)
{
    (void)state;
    const uint32_t n = 300, dim = 8;
    char *cats = category_file(n);
    static const struct {
        const char *what;
        uint32_t index_k;
        uint64_t exact_max;
        size_t k;
        size_t n_exclude;  /* the first rows of the item's true ranking, excluded */
        float min_score;
        int category;      /* -1 = none */
        int scans;         /* exact scans per query: 0, 1, or -1 when it depends on the row */
    } cases[] = {
        {"lists, k < K", 10, 1000, 5, 0, -INFINITY, -1, 0},
        {"lists, k = K", 10, 1000, 10, 0, -INFINITY, -1, 0},
        {"scan, k > K", 10, 1000, 25, 0, -INFINITY, -1, 1},
        {"scan, k > n", 10, 1000, 400, 0, -INFINITY, -1, 1},
        {"lists, exclude", 10, 1000, 5, 3, -INFINITY, -1, 0},
        {"exclude exhausts the list", 10, 1000, 5, 8, -INFINITY, -1, 1},
        {"min_score", 10, 1000, 10, 0, 0.5f, -1, 0},
        {"min_score with scan", 10, 1000, 50, 0, 0.3f, -1, 1},
        {"category", 10, 1000, 5, 0, -INFINITY, 1, -1},
        {"category + exclude + min_score", 10, 1000, 8, 2, 0.1f, 2, -1},
        {"no lists (exact_max_items < n)", 10, 100, 10, 2, -INFINITY, 0, 1},
        {"complete lists (K > n - 1)", 5000, 1000, 20, 4, -INFINITY, 1, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        wr_index *ix = build(random_model(n, dim, 42 + c, 17), cases[c].index_k,
                             cases[c].exact_max, cats, NULL);
        uint32_t want_k = cases[c].exact_max < n ? 0
                          : cases[c].index_k < n - 1 ? cases[c].index_k : n - 1;
        assert_int_equal(ix->info.k, want_k);
        size_t k = cases[c].k;
        wr_hit *want = xmalloc((k + n) * sizeof *want), *got = xmalloc(k * sizeof *got);
        uint32_t excl[16];
        for (uint32_t row = 0; row < n; row++) {
            wr_filter none = index_filter_none(), f = index_filter_none();
            /* exclude the item's best few (what would empty its list fastest) */
            size_t ne = brute(ix, ix->vecs + row * dim, row, cases[c].n_exclude, &none, want);
            for (size_t i = 0; i < ne; i++)
                excl[i] = want[i].item;
            qsort(excl, ne, sizeof *excl, cmp_u32);
            f.exclude = excl;
            f.n_exclude = ne;
            f.min_score = cases[c].min_score;
            in_cat cat = {ix, 0, 0};
            if (cases[c].category >= 0) {
                char name[16];
                snprintf(name, sizeof name, "c%d", cases[c].category);
                cat.code = index_side_find_code(ix, 0, name, strlen(name));
                assert_int_not_equal(cat.code, UINT32_MAX);
                f.accept = accept_cat;
                f.accept_ctx = &cat;
            }
            size_t nw = brute(ix, ix->vecs + row * dim, row, k, &f, want);
            size_t ng = index_neighbors(ix, row, k, &f, got);
            same_hits(want, nw, got, ng, cases[c].what, row);
            check_budget(ix, row, k, &f, cases[c].scans, want, nw, cases[c].what);
        }
        free(want);
        free(got);
        index_free(ix);
    }
    free(cats);
}

/* A basket is always one scan: counted by a trial, made within a budget of n items. */
static void check_budget_vec(const wr_index *ix, const float *q, wr_filter *f,
                             const wr_hit *want, size_t nw)
{
    wr_hit got[30];
    wr_budget trial = {0}, enough = {ix->info.n, 0, 0};
    f->budget = &trial;
    assert_int_equal(index_neighbors_vec(ix, q, 30, f, got), 0);
    assert_int_equal(trial.scans, 1);
    assert_int_equal(trial.refused, 1);
    f->budget = &enough;
    same_hits(want, nw, got, index_neighbors_vec(ix, q, 30, f, got), "basket, budget", 0);
    assert_int_equal(enough.items, 0);
    f->budget = NULL;
}

static void test_basket_and_score(void **state)
{
    (void)state;
    const uint32_t n = 200, dim = 16;
    wr_index *ix = build(random_model(n, dim, 5, 3), 20, 1000, NULL, NULL);
    float q[16];
    wr_hit want[30], got[30];
    uint32_t rows[3] = {10, 20, 30};
    const float *vecs[3] = {index_vector(ix, 10), index_vector(ix, 20), index_vector(ix, 30)};
    assert_int_equal(index_basket(ix, vecs, 3, q), 0);
    double norm = 0;
    for (uint32_t j = 0; j < dim; j++)
        norm += (double)q[j] * q[j];
    assert_true(fabs(norm - 1) < 1e-5);
    wr_filter f = index_filter_none();
    f.exclude = rows;
    f.n_exclude = 3;
    size_t nw = brute(ix, q, UINT32_MAX, 30, &f, want);
    size_t ng = index_neighbors_vec(ix, q, 30, &f, got);
    same_hits(want, nw, got, ng, "basket", 0);
    check_budget_vec(ix, q, &f, want, nw);
    for (size_t i = 0; i < ng; i++)
        assert_true(got[i].item != 10 && got[i].item != 20 && got[i].item != 30);
    /* a basket of the zero row has no direction */
    const float *zero = index_vector(ix, 3);
    assert_int_equal(index_basket(ix, &zero, 1, q), -1);
    /* scores are cosines of the original vectors */
    for (uint32_t a = 0; a < n; a += 37)
        for (uint32_t b = 0; b < n; b += 41) {
            double s = 0;
            for (uint32_t j = 0; j < dim; j++)
                s += (double)ix->vecs[a * dim + j] * ix->vecs[b * dim + j];
            assert_true(fabs(index_score(ix, a, b) - s) < 1e-6);
        }
    assert_true(fabsf(index_score(ix, 4, 4) - 1.0f) < 1e-6f);
    assert_true(index_score(ix, 3, 4) == 0.0f);
    const wr_index_info *in = index_info(ix);
    assert_int_equal(in->generation, 7);
    assert_int_equal(in->n, n);
    assert_int_equal(in->dim, dim);
    assert_int_equal(in->k, 20);
    assert_string_equal(in->source, "mem");
    assert_string_equal(in->meta_json, "{}");
    assert_true(in->build_seconds >= 0);
    assert_int_equal(index_find(ix, "it123", 5), 123);
    assert_int_equal(index_find(ix, "it1234", 6), -1);
    assert_string_equal(index_id(ix, 45), "it045");
    index_free(ix);
}

static void test_side_information(void **state)
{
    (void)state;
    char *sidecar = tmp_path("model-1.items.tsv"), *items = tmp_path("items.tsv");
    write_file(sidecar, "item\tdegree\tcategory\n"
                        "it000\t5\tc0001\n"
                        "it001\t2\tc0002\n"
                        "gone\t9\tc0001\n"
                        "it002\t7\n");
    write_file(items, "item\tcategory\tbrand\n"
                      "it001\tc0001\tAcme\n"
                      "it003\t\tZed\n"
                      "it004\tbad\xff\tB\n"
                      "other\tc0009\tX\n");
    wr_index *ix = build(random_model(6, 4, 1, 99), 3, 1000, items, sidecar);
    const wr_index_info *in = index_info(ix);
    assert_int_equal(in->side_rows, 5); /* it000..it004 described, each once; it005 not */
    assert_int_equal(in->side_unmatched, 2);
    assert_int_equal(index_side_columns(ix), 3);
    assert_string_equal(index_side_name(ix, 0), "degree");
    assert_string_equal(index_side_name(ix, 1), "category");
    assert_string_equal(index_side_name(ix, 2), "brand");
    static const struct {
        uint32_t row;
        const char *degree, *category, *brand;
    } want[] = {
        {0, "5", "c0001", NULL},
        {1, "2", "c0001", "Acme"}, /* the items file overrides the sidecar */
        {2, "7", NULL, NULL},
        {3, NULL, NULL, "Zed"},
        {4, NULL, NULL, "B"},      /* invalid UTF-8 is dropped */
        {5, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *v[3] = {want[i].degree, want[i].category, want[i].brand};
        for (size_t c = 0; c < 3; c++) {
            const char *got = index_side_value(ix, want[i].row, c);
            if ((v[c] == NULL) != (got == NULL) || (v[c] && strcmp(v[c], got)))
                fail_msg("row %u column %zu: '%s', expected '%s'", want[i].row, c,
                         got ? got : "(none)", v[c] ? v[c] : "(none)");
        }
    }
    assert_int_equal(index_side_column(ix, "category"), 1);
    assert_int_equal(index_side_column(ix, "colour"), -1);
    assert_int_equal(index_side_type(ix, 0), WR_SIDE_NUMBER);
    assert_int_equal(index_side_type(ix, 1), WR_SIDE_STRING);
    double d;
    assert_int_equal(index_side_number(ix, 2, 0, &d), 0);
    assert_true(d == 7);
    assert_int_equal(index_side_number(ix, 3, 0, &d), -1);
    in_cat c1 = {ix, 1, index_side_find_code(ix, 1, "c0001", 5)};
    assert_int_not_equal(c1.code, UINT32_MAX);
    assert_int_equal(index_side_find_code(ix, 1, "c0009", 5), UINT32_MAX);
    wr_filter f = index_filter_none();
    f.accept = accept_cat;
    f.accept_ctx = &c1;
    wr_hit got[5];
    size_t n = index_neighbors(ix, 2, 5, &f, got);
    assert_int_equal(n, 2); /* rows 0 and 1 are the only c0001 items */
    assert_true((got[0].item == 0 && got[1].item == 1) || (got[0].item == 1 && got[1].item == 0));
    index_free(ix);

    /* No sidecar file is fine; a missing or header-less items file is an error. */
    wr_index_opts o;
    wr_err err;
    index_default_opts(&o);
    o.sidecar = "/nonexistent/model.items.tsv";
    ix = index_build(random_model(4, 4, 1, 99), 1, "mem", &o, &err);
    assert_non_null(ix);
    assert_int_equal(index_side_column(ix, "category"), -1);
    assert_int_equal(index_side_columns(ix), 0);
    index_free(ix);
    o.items_file = "/nonexistent/items.tsv";
    assert_null(index_build(random_model(4, 4, 1, 99), 1, "mem", &o, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/items.tsv"));
    write_file(items, "item\n");
    o.items_file = items;
    assert_null(index_build(random_model(4, 4, 1, 99), 1, "mem", &o, &err));
    assert_non_null(strstr(err.msg, "expected a header"));
    write_file(items, "");
    assert_null(index_build(random_model(4, 4, 1, 99), 1, "mem", &o, &err));
    assert_non_null(strstr(err.msg, "empty file"));
    free(sidecar);
    free(items);
}

/* Ids inserted out of byte order: "B" < "a" < "aa" < "ab" < "abc" < "b" < "b/2" < "été". */
static void test_prefix(void **state)
{
    (void)state;
    static const char *ids[] = {"b/2", "abc", "\xc3\xa9t\xc3\xa9", "a", "B", "ab", "b", "aa"};
    const uint32_t n = sizeof ids / sizeof ids[0];
    wr_model *m = model_new(n, 2);
    for (uint32_t i = 0; i < n; i++) {
        dict_intern(m->ids, ids[i], strlen(ids[i]));
        m->vecs[2 * i] = 1;
        m->vecs[2 * i + 1] = (float)i;
    }
    wr_index *ix = build(m, 3, 1000, NULL, NULL);
    static const struct {
        const char *prefix;
        size_t max;
        const char *want; /* the ids found, space-separated */
        const char *after; /* a cursor: the last id of the page before */
    } cases[] = {
        {"a", 10, "a aa ab abc", NULL},
        {"a", 10, "ab abc", "aa"},
        {"a", 2, "ab abc", "aa"},
        {"a", 10, "ab abc", "aaz"}, /* not an id: what sorts after it */
        {"a", 10, "", "abc"},
        {"", 2, "aa ab", "a"},
        {"b", 10, "b b/2", "a"},     /* a cursor before the prefix */
        {"ab", 10, "ab abc", NULL},
        {"abc", 10, "abc", NULL},
        {"abcd", 10, "", NULL},
        {"a", 2, "a aa", NULL},
        {"b", 10, "b b/2", NULL},
        {"B", 10, "B", NULL},
        {"", 100, "B a aa ab abc b b/2 \xc3\xa9t\xc3\xa9", NULL},
        {"", 3, "B a aa", NULL},
        {"\xc3", 10, "\xc3\xa9t\xc3\xa9", NULL},
        {"A", 10, "", NULL},
        {"zz", 10, "", NULL},
        {"a", 0, "", NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t rows[16];
        size_t got = index_prefix(ix, cases[c].prefix, strlen(cases[c].prefix),
                                  cases[c].after, rows, cases[c].max);
        char joined[256] = "";
        for (size_t i = 0; i < got; i++) {
            assert_true(rows[i] < n);
            if (i)
                strcat(joined, " ");
            strcat(joined, index_id(ix, rows[i]));
        }
        if (strcmp(joined, cases[c].want))
            fail_msg("prefix '%s', max %zu, after %s: '%s', expected '%s'", cases[c].prefix,
                     cases[c].max, cases[c].after ? cases[c].after : "-", joined,
                     cases[c].want);
    }
    index_free(ix);

    /* Against a linear scan over a larger catalogue. */
    ix = build(random_model(1000, 2, 3, 99), 0, 1000, NULL, NULL);
    static const char *prefixes[] = {"it", "it0", "it05", "it123", "it99", "it999", "iu"};
    for (size_t c = 0; c < sizeof prefixes / sizeof prefixes[0]; c++) {
        uint32_t rows[1000];
        size_t len = strlen(prefixes[c]), want = 0;
        for (uint32_t r = 0; r < 1000; r++)
            want += !strncmp(index_id(ix, r), prefixes[c], len);
        size_t got = index_prefix(ix, prefixes[c], len, NULL, rows, 1000);
        if (got != want)
            fail_msg("prefix '%s': %zu ids, expected %zu", prefixes[c], got, want);
        for (size_t i = 0; i < got; i++) {
            assert_int_equal(strncmp(index_id(ix, rows[i]), prefixes[c], len), 0);
            if (i)
                assert_true(strcmp(index_id(ix, rows[i - 1]), index_id(ix, rows[i])) < 0);
        }
    }
    index_free(ix);
}

/* relation=complement: index_complement against a recomputation from the raw vectors, and
 * its scan through a filter and min_score against brute force; nothing without context
 * vectors. */
static void test_complement(void **state)
{
    (void)state;
    const uint32_t n = 60, dim = 8;
    wr_model *m = random_model(n, dim, 5, UINT32_MAX);
    wr_model *plain = random_model(n, dim, 5, UINT32_MAX);
    float *raw_in = xmalloc(n * dim * sizeof(float)), *raw_ctx = xmalloc(n * dim * sizeof(float));
    memcpy(raw_in, m->vecs, n * dim * sizeof(float));
    m->ctx = xmalloc_aligned(n * dim * sizeof(float));
    wr_rng r;
    rng_seed(&r, 77);
    for (uint32_t i = 0; i < n * dim; i++)
        m->ctx[i] = raw_ctx[i] = rng_float(&r) * 2 - 1;
    wr_index *ix = build(m, 10, 1000, NULL, NULL), *no = build(plain, 10, 1000, NULL, NULL);
    assert_true(index_has_context(ix));
    assert_false(index_has_context(no));
    wr_hit got[12], none[1];
    wr_filter f = index_filter_none();
    assert_int_equal(index_neighbors_complement(no, 0, 5, &f, none), 0);
    double *want = xmalloc(n * sizeof *want);
    for (uint32_t a = 0; a < n; a += 7) {
        for (uint32_t b = 0; b < n; b++) { /* cos(u_a, c_b) and cos(c_a, u_b), averaged */
            const float *ua = raw_in + a * dim, *ca = raw_ctx + a * dim, *ub = raw_in + b * dim,
                        *cb = raw_ctx + b * dim;
            double d1 = 0, d2 = 0, nua = 0, nca = 0, nub = 0, ncb = 0;
            for (uint32_t j = 0; j < dim; j++) {
                d1 += (double)ua[j] * cb[j];
                d2 += (double)ca[j] * ub[j];
                nua += (double)ua[j] * ua[j], nca += (double)ca[j] * ca[j];
                nub += (double)ub[j] * ub[j], ncb += (double)cb[j] * cb[j];
            }
            want[b] = (d1 / sqrt(nua * ncb) + d2 / sqrt(nca * nub)) / 2;
            assert_true(fabs(index_complement(ix, a, b) - want[b]) < 1e-5);
        }
        uint32_t excl[1] = {(a + 1) % n};
        f = index_filter_none();
        f.exclude = excl;
        f.n_exclude = 1;
        f.min_score = 0.05f;
        size_t ng = index_neighbors_complement(ix, a, 12, &f, got);
        /* brute force: every other row but the excluded, at or above min_score, best first */
        wr_hit all[60];
        size_t na = 0;
        for (uint32_t b = 0; b < n; b++)
            if (b != a && b != excl[0] && want[b] >= 0.05)
                all[na++] = (wr_hit){b, (float)want[b]};
        qsort(all, na, sizeof *all, by_score);
        same_hits(all, na < 12 ? na : 12, got, ng, "complement", a);
    }
    free(want);
    free(raw_in);
    free(raw_ctx);
    index_free(ix);
    index_free(no);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neighbors_table),
        cmocka_unit_test(test_complement),
        cmocka_unit_test(test_basket_and_score),
        cmocka_unit_test(test_side_information),
        cmocka_unit_test(test_prefix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
