/* test_filter.c - filters on attributes and the attributes set at run time: every test
 * (equality, membership, list items, ranges with open and closed ends, booleans, not, any,
 * all) against a recomputation over a typed items file; run-time values winning over the
 * file's, null removing a value, names only run-time values know; the GET form; what is
 * refused; and the set's fold of attribute records in log order, per name, whatever order
 * they arrive in. (Filters through the handlers and the daemon: tests/http/attrs.py.) */
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

#include "walkrec/attrs.h"
#include "walkrec/filter.h"

#define N 30
#define DIM 2

static wr_index *ix;
static char items_path[64];

/* Row i: brand b<i%3>, price i (none for i % 7 == 6; "n/a" for row 13, below 5% of the
 * column), on_sale for even rows (none for i % 5 == 4), tags "t<i%4> > x" (a path, so a
 * list), note: free text. */
static int brand(int i) { return i % 3; }
static int has_price(int i) { return i % 7 != 6 && i != 13; }
static int sale(int i) { return i % 5 == 4 ? -1 : i % 2 == 0; }

static int setup(void **state)
{
    (void)state;
    wr_err err;
    wr_quiet = 1;
    snprintf(items_path, sizeof items_path, "/tmp/test_filter.XXXXXX");
    FILE *f = fdopen(mkstemp(items_path), "w");
    fputs("item\tbrand\tprice\ton_sale\ttags\tnote\n", f);
    for (int i = 0; i < N; i++) {
        char price[16] = "", on[8] = "";
        if (has_price(i))
            snprintf(price, sizeof price, "$%d.00", i);
        else if (i == 13)
            strcpy(price, "n/a");
        if (sale(i) >= 0)
            strcpy(on, sale(i) ? "yes" : "no");
        fprintf(f, "P%02d\tb%d\t%s\t%s\tt%d > x\tnote %d\n", i, brand(i), price, on, i % 4, i);
    }
    fclose(f);
    wr_model *m = model_new(N, DIM);
    for (uint32_t i = 0; i < N; i++) {
        char id[8];
        int n = snprintf(id, sizeof id, "P%02u", i);
        dict_intern(m->ids, id, (size_t)n);
        m->vecs[(size_t)i * DIM] = 1;
    }
    wr_index_opts o;
    index_default_opts(&o);
    o.k = 0;
    o.threads = 1;
    o.items_file = items_path;
    ix = index_build(m, 1, "test.wr", &o, &err);
    return ix ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    index_free(ix);
    attrs_reset();
    unlink(items_path);
    return 0;
}

/* The rows a JSON filter accepts, as a 0/1 string over rows 0..N-1. */
static void accepted(const char *json, const wr_attrs *av, char *out)
{
    char why[256];
    json_t *f = json_loads(json, 0, NULL);
    assert_non_null(f);
    wr_match *m = filter_compile(f, ix, av, why, sizeof why);
    if (!m)
        fail_msg("%s: refused: %s", json, why);
    for (uint32_t r = 0; r < N; r++)
        out[r] = filter_accept(m, r, 0) ? '1' : '0';
    out[N] = 0;
    filter_free(m);
    json_decref(f);
}

typedef int (*pred)(int i);
static int p_b1(int i) { return brand(i) == 1; }
static int p_b0_or_b2(int i) { return brand(i) != 1; }
static int p_price_5_10(int i) { return has_price(i) && i >= 5 && i <= 10; }
static int p_price_open(int i) { return has_price(i) && i > 5 && i < 10; }
static int p_price_is_12(int i) { return has_price(i) && i == 12; }
static int p_sale(int i) { return sale(i) == 1; }
static int p_not_sale(int i) { return sale(i) != 1; }
static int p_tag2(int i) { return i % 4 == 2; }
static int p_path(int i) { return i % 4 == 3; }
static int p_any(int i) { return brand(i) == 0 || (has_price(i) && i >= 25); }
static int p_all(int i) { return brand(i) == 2 && sale(i) == 0; }
static int p_none(int i) { (void)i; return 0; }
static int p_every(int i) { (void)i; return 1; }

static void test_tests(void **state)
{
    (void)state;
    assert_int_equal(index_side_type(ix, 1), WR_SIDE_NUMBER); /* "n/a" is 1 of 26 values */
    assert_int_equal(index_side_type(ix, 2), WR_SIDE_BOOL);
    assert_int_equal(index_side_type(ix, 3), WR_SIDE_LIST);
    static const struct {
        const char *json;
        pred want;
    } cases[] = {
        {"{\"brand\": \"b1\"}", p_b1},
        {"{\"brand\": [\"b0\", \"b2\", \"nobody\"]}", p_b0_or_b2},
        {"{\"price\": {\"gte\": 5, \"lte\": 10}}", p_price_5_10},
        {"{\"price\": {\"gt\": 5, \"lt\": 10}}", p_price_open},
        {"{\"price\": 12}", p_price_is_12},
        {"{\"on_sale\": true}", p_sale},
        {"{\"not\": {\"on_sale\": true}}", p_not_sale},
        {"{\"tags\": \"t2\"}", p_tag2},
        {"{\"tags\": \"t3 > x\"}", p_path}, /* the whole path as written */
        {"{\"any\": [{\"brand\": \"b0\"}, {\"price\": {\"gte\": 25}}]}", p_any},
        {"{\"brand\": \"b2\", \"on_sale\": false}", p_all},
        {"{\"all\": [{\"brand\": \"b2\"}, {\"on_sale\": false}]}", p_all},
        {"{\"brand\": \"nobody\"}", p_none},
        {"{}", p_every},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char got[N + 1], want[N + 1];
        accepted(cases[c].json, NULL, got);
        for (int i = 0; i < N; i++)
            want[i] = cases[c].want(i) ? '1' : '0';
        want[N] = 0;
        if (strcmp(got, want))
            fail_msg("%s:\n got  %s\n want %s", cases[c].json, got, want);
    }
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json, *why;
    } cases[] = {
        {"{\"colour\": \"red\"}", "unknown attribute 'colour'"},
        {"{\"price\": \"cheap\"}", "price is a number attribute"},
        {"{\"brand\": 3}", "brand is a string attribute"},
        {"{\"on_sale\": \"yes\"}", "on_sale is a boolean attribute"},
        {"{\"brand\": {\"gte\": 1}}", "a range needs a number attribute"},
        {"{\"price\": {\"over\": 1}}", "unknown range bound 'over'"},
        {"{\"price\": {}}", "a range needs"},
        {"{\"price\": []}", "an empty list"},
        {"{\"any\": {}}", "any: expected a non-empty array"},
        {"{\"not\": 3}", "expected an object"},
        {"[1]", "expected an object"},
    };
    char why[256];
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        json_t *f = json_loads(cases[c].json, JSON_DECODE_ANY, NULL);
        assert_non_null(f);
        wr_match *m = filter_compile(f, ix, NULL, why, sizeof why);
        if (m || !strstr(why, cases[c].why))
            fail_msg("%s: %s, expected a refusal naming \"%s\"", cases[c].json,
                     m ? "compiled" : why, cases[c].why);
        json_decref(f);
    }
    /* nesting and size limits */
    char deep[512] = "";
    for (int i = 0; i <= WR_FILTER_MAX_DEPTH + 1; i++)
        strcat(deep, "{\"not\":");
    strcat(deep, "{}");
    for (int i = 0; i <= WR_FILTER_MAX_DEPTH + 1; i++)
        strcat(deep, "}");
    json_t *f = json_loads(deep, 0, NULL);
    assert_null(filter_compile(f, ix, NULL, why, sizeof why));
    assert_non_null(strstr(why, "nested deeper"));
    json_decref(f);
    f = json_pack("{s:o}", "brand", json_array());
    for (int i = 0; i <= WR_FILTER_MAX_VALUES; i++)
        json_array_append_new(json_object_get(f, "brand"), json_string("x"));
    assert_null(filter_compile(f, ix, NULL, why, sizeof why));
    assert_non_null(strstr(why, "more than"));
    json_decref(f);
}

/* The GET form reads as the JSON one. */
static void test_query(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *json;
    } cases[] = {
        {"brand:b1", "{\"brand\": \"b1\"}"},
        {"brand:b0|b2|nobody", "{\"brand\": [\"b0\", \"b2\", \"nobody\"]}"},
        {"price:5..10", "{\"price\": {\"gte\": 5, \"lte\": 10}}"},
        {"price:..10,price:5..", "{\"price\": {\"gte\": 5, \"lte\": 10}}"},
        {"on_sale:true", "{\"on_sale\": true}"},
        {"!on_sale:true", "{\"not\": {\"on_sale\": true}}"},
        {"brand:b2,on_sale:false", "{\"brand\": \"b2\", \"on_sale\": false}"},
        {"t%61gs:t3%20%3E%20x", "{\"tags\": \"t3 > x\"}"},
        {"price:12", "{\"price\": 12}"},
        {"price%3A12", "{\"price\": 12}"},
        {"!brand%3ab1", "{\"not\": {\"brand\": \"b1\"}}"},
    };
    char why[256];
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        json_t *f = filter_parse_query(cases[c].raw, ix, NULL, why, sizeof why);
        if (!f)
            fail_msg("%s: refused: %s", cases[c].raw, why);
        wr_match *m = filter_compile(f, ix, NULL, why, sizeof why);
        assert_non_null(m);
        char got[N + 1], want[N + 1];
        for (uint32_t r = 0; r < N; r++)
            got[r] = filter_accept(m, r, 0) ? '1' : '0';
        got[N] = 0;
        accepted(cases[c].json, NULL, want);
        if (strcmp(got, want))
            fail_msg("%s:\n got  %s\n want %s", cases[c].raw, got, want);
        filter_free(m);
        json_decref(f);
    }
    static const char *bad[] = {"colour:red", "price:cheap", "price:1..x", "on_sale:maybe",
                                "brand", ":x", "brand:%zz", "!"};
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++)
        if (filter_parse_query(bad[c], ix, NULL, why, sizeof why))
            fail_msg("%s: accepted", bad[c]);
}

static void apply(const char *id, const char *json, uint64_t off)
{
    attrs_apply(id, strlen(id), json, strlen(json), off);
}

/* Run-time values: they win over the file's, null removes a value, a name the file lacks
 * becomes filterable, an older record changes nothing (per name), and provisional items are
 * filtered on them. */
static void test_runtime(void **state)
{
    (void)state;
    char why[256];
    attrs_reset();
    apply("P05", "{\"price\": 100, \"stock\": 3}", 200);
    apply("P05", "{\"price\": 7}", 100);            /* older: price stays 100 ... */
    apply("P05", "{\"stock\": 0, \"colour\": \"red\"}", 150); /* ... stock is older too */
    apply("P07", "{\"price\": null}", 300);          /* no price, whatever the file says */
    apply("P08", "{\"brand\": \"b9\"}", 310);
    apply("ghost", "{\"colour\": \"red\"}", 320);    /* no model knows it */
    apply("P09", "not json", 330);                   /* ignored */
    assert_int_equal(attrs_count(), 4);
    wr_attrs *av = attrs_view(ix, NULL);
    assert_non_null(av);
    assert_int_equal(attrs_stamp(av), 320);
    assert_int_equal(attrs_type(av, "stock"), WR_SIDE_NUMBER);
    assert_int_equal(attrs_type(av, "colour"), WR_SIDE_STRING);
    assert_int_equal(attrs_type(av, "size"), -1);
    json_t *v = filter_values(ix, av, 5, "P05", 3);
    assert_true(json_number_value(json_object_get(v, "price")) == 100);
    assert_true(json_number_value(json_object_get(v, "stock")) == 3);
    assert_string_equal(json_string_value(json_object_get(v, "colour")), "red");
    assert_string_equal(json_string_value(json_object_get(v, "brand")), "b2");
    json_decref(v);
    v = filter_values(ix, av, 7, "P07", 3);
    assert_null(json_object_get(v, "price"));
    json_decref(v);
    char got[N + 1];
    accepted("{\"price\": {\"gte\": 50}}", av, got);
    assert_string_equal(got, "000001000000000000000000000000");
    accepted("{\"price\": {\"gte\": 6, \"lte\": 8}}", av, got); /* P07's price removed */
    assert_string_equal(got, "000000001000000000000000000000");
    accepted("{\"brand\": \"b9\"}", av, got);
    assert_string_equal(got, "000000001000000000000000000000");
    accepted("{\"stock\": {\"gt\": 0}}", av, got);
    assert_string_equal(got, "000001000000000000000000000000");
    accepted("{\"colour\": \"red\"}", av, got);
    assert_string_equal(got, "000001000000000000000000000000");
    /* a run-time value of another type than the test's passes no test */
    apply("P10", "{\"stock\": \"many\"}", 400);
    attrs_free(av);
    av = attrs_view(ix, NULL);
    accepted("{\"stock\": {\"gte\": 0}}", av, got);
    assert_string_equal(got, "000001000000000000000000000000");
    /* the checks a change passes before it is logged */
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"price\": \"cheap\"}", "price: the attribute is a number"},
        {"{\"stock\": true}", "stock: the attribute is a number"},
        {"{\"on_sale\": 1}", "on_sale: the attribute is a boolean"},
        {"{\"item\": \"x\"}", "not \"item\""},
        {"{\"\": 1}", "an attribute name"},
        {"{\"tags\": [1]}", "expected a string"},
        {"{\"x\": {\"a\": 1}}", "expected a string"},
        {"{}", "expected an object of 1 to"},
        {"[]", "expected an object of 1 to"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        json_t *d = json_loads(bad[c].json, JSON_DECODE_ANY, NULL);
        if (attrs_check(d, ix, why, sizeof why) == 0 || !strstr(why, bad[c].why))
            fail_msg("%s: %s", bad[c].json, why);
        json_decref(d);
    }
    json_t *d = json_loads("{\"tags\": \"one\", \"price\": null, \"new\": [\"a\"]}", 0, NULL);
    assert_int_equal(attrs_check(d, ix, why, sizeof why), 0);
    json_decref(d);
    attrs_free(av);
    attrs_reset();
    assert_int_equal(attrs_count(), 0);
    assert_null(attrs_view(ix, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tests),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_runtime),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
