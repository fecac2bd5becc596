/* test_pairs.c - the pair reader on good and malformed TSV/CSV, merging, the writer. */
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

#include "walkrec/pairs.h"
#include "walkrec/rng.h"

static char path[256];

static const char *write_tmp(const char *name, const char *data)
{
    snprintf(path, sizeof path, "/tmp/wr_test_pairs_%ld_%s", (long)getpid(), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, strlen(data), f);
    fclose(f);
    return path;
}

static float weight_of(const wr_pairs *p, const char *a, const char *b)
{
    int64_t ia = dict_find(p->ids, a, strlen(a)), ib = dict_find(p->ids, b, strlen(b));
    if (ia < 0 || ib < 0)
        return -1;
    for (size_t i = 0; i < p->n; i++)
        if ((p->v[i].a == ia && p->v[i].b == ib) || (p->v[i].a == ib && p->v[i].b == ia))
            return p->v[i].w;
    return 0;
}

static void test_tsv_header_merge(void **state)
{
    (void)state;
    const char *f = write_tmp("a.tsv", "item_a\titem_b\tweight\n"
                                       "x\ty\t1\n"
                                       "y\tx\t0.5\n" /* same unordered pair: summed */
                                       "x\tz\talso_viewed\n"
                                       "z\tz\t1\n" /* self pair: dropped */
                                       "# comment\n"
                                       "\n"
                                       "a b\tc\n"); /* ids with spaces, default weight */
    wr_pairs p;
    wr_read_stats st;
    wr_err err;
    pairs_init(&p);
    assert_int_equal(pairs_read(&p, f, NULL, &st, &err), 0);
    assert_int_equal(p.n, 3);
    assert_true(fabsf(weight_of(&p, "x", "y") - 1.5f) < 1e-6);
    assert_true(fabsf(weight_of(&p, "x", "z") - 0.5f) < 1e-6);
    assert_true(fabsf(weight_of(&p, "a b", "c") - 1.0f) < 1e-6);
    assert_int_equal(st.self_pairs, 1);
    assert_int_equal(st.malformed, 0);
    for (size_t i = 0; i < p.n; i++)
        assert_true(p.v[i].a < p.v[i].b);
    pairs_free(&p);
    unlink(f);
}

static void test_csv_quotes_no_header(void **state)
{
    (void)state;
    const char *f = write_tmp("b.csv", "\"a,1\",b,2\n"
                                       "\"say \"\"hi\"\"\",b,bought_together\n"
                                       "c,d\n");
    wr_pairs p;
    wr_err err;
    pairs_init(&p);
    assert_int_equal(pairs_read(&p, f, NULL, NULL, &err), 0);
    assert_int_equal(p.n, 3);
    assert_true(fabsf(weight_of(&p, "a,1", "b") - 2.0f) < 1e-6);
    assert_true(fabsf(weight_of(&p, "say \"hi\"", "b") - 1.2f) < 1e-6);
    assert_true(fabsf(weight_of(&p, "c", "d") - 1.0f) < 1e-6);
    pairs_free(&p);
    unlink(f);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *f = write_tmp("c.tsv", "a\tb\t1\n"
                                       "onlyone\n"
                                       "a\tb\tnan\n"
                                       "a\tb\t-1\n"
                                       "a\tb\t0\n"
                                       "a\tb\tinf\n"
                                       "a\tb\tfoo\n"
                                       "\tb\t1\n"
                                       "\xff\xfe\tb\t1\n"
                                       "c\td\t2\n");
    wr_pairs p;
    wr_read_stats st;
    wr_err err;
    wr_quiet = 1;
    pairs_init(&p);
    assert_int_equal(pairs_read(&p, f, NULL, &st, &err), 0);
    assert_int_equal(st.malformed, 8);
    assert_int_equal(p.n, 2);
    pairs_free(&p);

    wr_read_opts strict = {.strict = 1};
    pairs_init(&p);
    assert_int_equal(pairs_read(&p, f, &strict, &st, &err), -1);
    assert_non_null(strstr(err.msg, ":2: "));
    pairs_free(&p);
    unlink(f);
    wr_quiet = 0;
}

static void test_huge_line_and_empty(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *big = malloc(n + 64);
    memset(big, 'q', n);
    strcpy(big + n, "\tb\t1\nx\ty\t1\n");
    const char *f = write_tmp("d.tsv", big);
    free(big);
    wr_pairs p;
    wr_read_stats st;
    wr_err err;
    wr_quiet = 1;
    pairs_init(&p);
    assert_int_equal(pairs_read(&p, f, NULL, &st, &err), 0);
    assert_int_equal(st.malformed, 1);
    assert_int_equal(p.n, 1);
    pairs_free(&p);
    f = write_tmp("e.tsv", "");
    pairs_init(&p);
    assert_int_equal(pairs_read(&p, f, NULL, &st, &err), 0);
    assert_int_equal(p.n, 0);
    pairs_free(&p);
    unlink(f);
    pairs_init(&p);
    assert_int_equal(pairs_read(&p, "/nonexistent/pairs.tsv", NULL, &st, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/pairs.tsv"));
    pairs_free(&p);
    wr_quiet = 0;
}

static void test_write_sorted(void **state)
{
    (void)state;
    wr_pairs p;
    wr_err err;
    pairs_init(&p);
    pairs_add(&p, "b", 1, "a", 1, 1.0f);
    pairs_add(&p, "\xc3\xa9", 2, "B", 1, 0.5f);
    pairs_add(&p, "a", 1, "b", 1, 1.2f);
    pairs_add(&p, "a", 1, "B", 1, 2.0f);
    pairs_merge(&p);
    snprintf(path, sizeof path, "/tmp/wr_test_pairs_%ld_out.tsv", (long)getpid());
    assert_int_equal(pairs_write(&p, path, &err), 0);
    FILE *f = fopen(path, "r");
    char buf[256] = {0};
    assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
    fclose(f);
    assert_string_equal(buf, "item_a\titem_b\tweight\n"
                             "B\ta\t2\n"
                             "B\t\xc3\xa9\t0.5\n"
                             "a\tb\t2.2\n");
    unlink(path);
    pairs_free(&p);
}

static void test_weights_parse(void **state)
{
    (void)state;
    wr_weights w = wr_default_weights;
    wr_err err;
    double v;
    assert_int_equal(pairs_weights_parse(&w, "also_view=0.25,buy_after_viewing=2", &err), 0);
    assert_int_equal(pairs_weights_lookup(&w, "also_viewed", &v), 0);
    assert_true(v == 0.25);
    assert_int_equal(pairs_weights_lookup(&w, "buy_after_viewing", &v), 0);
    assert_true(v == 2);
    assert_int_equal(pairs_weights_parse(&w, "bogus=1", &err), -1);
    assert_int_equal(pairs_weights_parse(&w, "also_buy=-1", &err), -1);
    assert_int_equal(pairs_weights_parse(&w, "also_buy", &err), -1);
}

/* Millions of ids must intern and merge quickly; the CLI benchmark measures 4M pairs. */
static void test_many_pairs(void **state)
{
    (void)state;
    wr_pairs p;
    wr_rng r;
    char a[32], b[32];
    pairs_init(&p);
    rng_seed(&r, 1);
    for (int i = 0; i < 400000; i++) {
        int la = snprintf(a, sizeof a, "P%07u", rng_below(&r, 100000));
        int lb = snprintf(b, sizeof b, "P%07u", rng_below(&r, 100000));
        pairs_add(&p, a, la, b, lb, 1.0f);
    }
    size_t before = p.n;
    pairs_merge(&p);
    assert_true(p.n <= before);
    double total = 0;
    for (size_t i = 0; i < p.n; i++) {
        assert_true(p.v[i].a < p.v[i].b);
        if (i)
            assert_true(p.v[i - 1].a < p.v[i].a ||
                        (p.v[i - 1].a == p.v[i].a && p.v[i - 1].b < p.v[i].b));
        total += p.v[i].w;
    }
    assert_true(fabs(total - (double)before) < 1e-6 * before);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsv_header_merge), cmocka_unit_test(test_csv_quotes_no_header),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_huge_line_and_empty),
        cmocka_unit_test(test_write_sorted),     cmocka_unit_test(test_weights_parse),
        cmocka_unit_test(test_many_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
