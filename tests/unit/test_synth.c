/* test_synth.c - the synthetic catalogue: exact counts, ids, merged output, every item in a
 * pair, exact in-category share, skewed popularity, determinism, errors, items.tsv. */
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

#include "walkrec/synth.h"

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static int gen(const wr_synth_opts *o, wr_pairs *p, uint32_t **cat, wr_err *err)
{
    pairs_init(p);
    return synth_generate(o, p, cat, err);
}

/* Checks everything synth_generate promises about a catalogue made with o. */
static void check_catalogue(const wr_synth_opts *o, const wr_pairs *p, const uint32_t *cat)
{
    uint32_t n = dict_size(p->ids);
    assert_int_equal(n, o->items);
    assert_int_equal(p->n, o->pairs);
    size_t width = dict_strlen(p->ids, 0);
    assert_true(width >= 8);
    for (uint32_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "P%0*u", (int)width - 1, i);
        assert_string_equal(dict_str(p->ids, i), want);
    }
    uint64_t in = 0;
    uint32_t *deg = calloc(n, sizeof *deg);
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        assert_true(e->a < e->b && e->b < n);
        if (i > 0) /* merged: sorted, distinct */
            assert_true(e->a > p->v[i - 1].a || (e->a == p->v[i - 1].a && e->b > p->v[i - 1].b));
        /* a sum of draws from {0.5, 1.0, 1.2}: a multiple of 0.1 of at least 0.5 */
        assert_true(e->w >= 0.5f - 1e-6f);
        assert_true(fabs(e->w * 10 - round(e->w * 10)) < 1e-3 * e->w);
        in += cat[e->a] == cat[e->b];
        deg[e->a]++;
        deg[e->b]++;
    }
    /* the in-category quota is exact */
    assert_int_equal(in, (uint64_t)llround(o->in_category * (double)o->pairs));
    uint32_t *size = calloc(o->categories, sizeof *size);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(deg[i] > 0);
        assert_true(cat[i] < o->categories);
        size[cat[i]]++;
    }
    uint32_t smin = UINT32_MAX, smax = 0;
    for (uint32_t c = 0; c < o->categories; c++) {
        smin = size[c] < smin ? size[c] : smin;
        smax = size[c] > smax ? size[c] : smax;
    }
    assert_true(smin >= 2);
    if (o->categories >= 10)
        assert_true(smax >= 2 * smin); /* sizes vary */
    qsort(deg, n, sizeof *deg, cmp_u32);
    print_message("items %u pairs %zu: degree median %u, max %u; category size %u..%u\n", n,
                  p->n, deg[n / 2], deg[n - 1], smin, smax);
    if (o->alpha >= 1 && n >= 1000)
        assert_true(deg[n - 1] > 10 * deg[n / 2]); /* power-law popularity: hubs */
    free(size);
    free(deg);
}

static void test_default(void **state)
{
    (void)state;
    wr_synth_opts o;
    synth_default_opts(&o);
    assert_int_equal(o.items, 2000);
    assert_int_equal(o.pairs, 20000);
    assert_int_equal(o.categories, 20);
    wr_pairs p;
    uint32_t *cat;
    wr_err err;
    assert_int_equal(gen(&o, &p, &cat, &err), 0);
    check_catalogue(&o, &p, cat);
    free(cat);
    pairs_free(&p);
}

static int same(const wr_pairs *a, const wr_pairs *b)
{
    return a->n == b->n && !memcmp(a->v, b->v, a->n * sizeof *a->v);
}

static void test_determinism_and_options(void **state)
{
    (void)state;
    wr_synth_opts o;
    synth_default_opts(&o);
    o.items = 5000, o.pairs = 40000, o.categories = 37, o.in_category = 0.75, o.seed = 9;
    wr_pairs a, b, c;
    uint32_t *ca, *cb, *cc;
    wr_err err;
    assert_int_equal(gen(&o, &a, &ca, &err), 0);
    assert_int_equal(gen(&o, &b, &cb, &err), 0);
    check_catalogue(&o, &a, ca);
    assert_true(same(&a, &b));
    assert_memory_equal(ca, cb, o.items * sizeof *ca);
    o.seed = 10;
    assert_int_equal(gen(&o, &c, &cc, &err), 0);
    check_catalogue(&o, &c, cc);
    assert_false(same(&a, &c));
    assert_true(memcmp(ca, cc, o.items * sizeof *ca) != 0);
    free(ca);
    free(cb);
    free(cc);
    pairs_free(&a);
    pairs_free(&b);
    pairs_free(&c);

    /* all pairs in category, flat popularity, and no category array asked for */
    o.in_category = 1, o.alpha = 0, o.categories = 5, o.items = 100, o.pairs = 500;
    assert_int_equal(gen(&o, &a, NULL, &err), 0);
    assert_int_equal(a.n, 500);
    pairs_free(&a);
}

/* The complete graph on 50 items in one category: every possible pair, found. */
static void test_complete(void **state)
{
    (void)state;
    wr_synth_opts o;
    synth_default_opts(&o);
    o.items = 50, o.pairs = 50 * 49 / 2, o.categories = 1, o.in_category = 1;
    wr_pairs p;
    uint32_t *cat;
    wr_err err;
    assert_int_equal(gen(&o, &p, &cat, &err), 0);
    check_catalogue(&o, &p, cat);
    free(cat);
    pairs_free(&p);
}

static void expect_error(const wr_synth_opts *o, const char *what)
{
    wr_pairs p;
    uint32_t *cat = NULL;
    wr_err err;
    assert_int_equal(gen(o, &p, &cat, &err), -1);
    if (!strstr(err.msg, what))
        fail_msg("error '%s' lacks '%s'", err.msg, what);
    assert_int_equal(p.n, 0);
    assert_null(cat);
    pairs_free(&p);
}

static void test_errors(void **state)
{
    (void)state;
    wr_synth_opts o;
    synth_default_opts(&o);
    o.pairs = 1999;
    expect_error(&o, "every item needs a pair");
    synth_default_opts(&o);
    o.categories = 1001;
    expect_error(&o, "at least 2 items each");
    synth_default_opts(&o);
    o.categories = 0;
    expect_error(&o, "categories");
    synth_default_opts(&o);
    o.categories = 1; /* no cross pairs exist */
    expect_error(&o, "cross-category pairs wanted");
    synth_default_opts(&o);
    o.items = 100, o.pairs = 1000, o.categories = 50; /* 50 in-category pairs exist */
    expect_error(&o, "in-category pairs wanted");
    synth_default_opts(&o);
    o.in_category = 1.5;
    expect_error(&o, "in-category share");
    synth_default_opts(&o);
    o.alpha = NAN;
    expect_error(&o, "exponent");
    synth_default_opts(&o);
    wr_pairs p;
    wr_err err;
    pairs_init(&p);
    dict_intern(p.ids, "x", 1);
    assert_int_equal(synth_generate(&o, &p, NULL, &err), -1); /* not empty */
    assert_non_null(strstr(err.msg, "not empty"));
    pairs_free(&p);
    synth_default_opts(&o);
    o.items = 1;
    expect_error(&o, "at least 2 items");
    /* possible in principle but with alpha 8 the last pairs are too rare to find */
    synth_default_opts(&o);
    o.items = 60, o.pairs = 60 * 59 / 2, o.categories = 1, o.in_category = 1, o.alpha = 8;
    expect_error(&o, "too dense");
}

static void test_presets(void **state)
{
    (void)state;
    wr_synth_opts o;
    synth_default_opts(&o);
    assert_int_equal(synth_preset(&o, "electronics"), 0);
    assert_int_equal(o.items, 418749);
    assert_int_equal(o.pairs, 4005262);
    assert_int_equal(o.categories, 1000);
    assert_int_equal(synth_preset(&o, "books"), 0);
    assert_int_equal(o.items, 1948370);
    assert_int_equal(o.pairs, 26595848);
    assert_int_equal(synth_preset(&o, "default"), 0);
    assert_int_equal(o.items, 2000);
    assert_int_equal(synth_preset(&o, "music"), -1);
}

static void test_write_items(void **state)
{
    (void)state;
    wr_synth_opts o;
    synth_default_opts(&o);
    o.items = 300, o.pairs = 1000, o.categories = 12;
    wr_pairs p;
    uint32_t *cat;
    wr_err err;
    assert_int_equal(gen(&o, &p, &cat, &err), 0);
    char path[256];
    snprintf(path, sizeof path, "/tmp/wr_test_synth_%ld_items.tsv", (long)getpid());
    assert_int_equal(synth_write_items(&p, cat, path, &err), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "item\tcategory\n");
    uint32_t i = 0;
    while (fgets(line, sizeof line, f)) {
        char want[64];
        snprintf(want, sizeof want, "%s\tc%04u\n", dict_str(p.ids, i), cat[i]);
        assert_string_equal(line, want);
        i++;
    }
    assert_int_equal(i, 300);
    fclose(f);
    unlink(path);
    assert_int_equal(synth_write_items(&p, cat, "/nonexistent/dir/items.tsv", &err), -1);
    free(cat);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_determinism_and_options),
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_write_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
