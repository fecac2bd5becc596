/* test_amazon.c - the Amazon metadata parser and `prepare`: both formats, escapes, merging
 * of repeated records, weights, side information, malformed and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "walkrec/amazon.h"
#include "walkrec/prepare.h"
#include "walkrec/text.h"

static char tmpdir[64];

static const char *fixture(const char *name)
{
    static char path[4096];
    const char *src = getenv("SRC");
    snprintf(path, sizeof path, "%s/tests/data/amazon/%s", src ? src : ".", name);
    return path;
}

static const char *tmp(const char *name)
{
    static char path[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    return path[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

typedef struct want_pair {
    const char *a, *b;
    double w;
} want_pair;

/* The pairs file must hold exactly `want`, in this (sorted) order. */
static void check_pairs(const char *path, const want_pair *want, size_t n)
{
    char *text = read_text(path), *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "item_a\titem_b\tweight");
    size_t i = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char a[64], b[64];
        double w;
        assert_int_equal(sscanf(line, "%63[^\t]\t%63[^\t]\t%lf", a, b, &w), 3);
        assert_true(i < n);
        assert_string_equal(a, want[i].a);
        assert_string_equal(b, want[i].b);
        if (fabs(w - want[i].w) > 1e-5)
            fail_msg("%s %s: weight %g, want %g", a, b, w, want[i].w);
        i++;
    }
    assert_int_equal(i, n);
    free(text);
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_amazon.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- one line ---- */

static int parse(wr_amazon_parser *ps, const char *line, wr_amazon_record *r, wr_err *err)
{
    return amazon_parse_line(ps, line, strlen(line), r, err);
}

static void test_parse_2014(void **state)
{
    (void)state;
    wr_amazon_parser *ps = amazon_parser_new(1);
    wr_amazon_record r;
    wr_err err;
    char *text = read_text(fixture("meta_2014.txt"));
    char *line = strtok(text, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.asin.s, "A1");
    assert_int_equal(r.asin.len, 2);
    assert_int_equal(r.nrel[WR_REL_ALSO_BOUGHT], 4); /* repeats and the self reference kept here */
    assert_string_equal(r.rel[WR_REL_ALSO_BOUGHT][2].s, "B1");
    assert_string_equal(r.rel[WR_REL_ALSO_BOUGHT][3].s, "A1");
    assert_int_equal(r.nrel[WR_REL_ALSO_VIEWED], 2);
    assert_string_equal(r.rel[WR_REL_ALSO_VIEWED][1].s, "C1");
    assert_int_equal(r.nrel[WR_REL_BOUGHT_TOGETHER], 1);
    assert_int_equal(r.nrel[WR_REL_BUY_AFTER_VIEWING], 1);
    assert_string_equal(r.rel[WR_REL_BUY_AFTER_VIEWING][0].s, "D1");
    /* \' \\ \" and \t decoded, the tab then folded into a space */
    assert_string_equal(r.info[WR_INFO_TITLE].s, "Girls' Ballet Tutu \\ \"Zebra\" Pink");
    /* Python 3's \xe9 is a code point, and \u00c9 */
    assert_string_equal(r.info[WR_INFO_BRAND].s, "Caf\xc3\xa9 \xc3\x89t\xc3\xa9");
    assert_string_equal(r.info[WR_INFO_PRICE].s, "3.17");
    assert_string_equal(r.info[WR_INFO_SALESRANK].s, "211836");
    assert_string_equal(r.info[WR_INFO_CATEGORY].s, "Sports & Outdoors > Other Sports > Dance");

    line = strtok(NULL, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.asin.s, "A1");
    assert_int_equal(r.info[WR_INFO_BRAND].len, 0);

    line = strtok(NULL, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.asin.s, "B1");
    /* double-quoted string holding ', Python 2 byte escapes forming UTF-8, \U */
    assert_string_equal(r.info[WR_INFO_TITLE].s, "It's \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(r.info[WR_INFO_BRAND].s, "M\xc3\xbcller"); /* u'M\xfcller' */
    assert_string_equal(r.info[WR_INFO_PRICE].s, "");                /* 1e999 is no price */

    line = strtok(NULL, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.asin.s, "B2");
    assert_string_equal(r.info[WR_INFO_TITLE].s, "Snow \xe2\x98\x83 man");
    assert_string_equal(r.info[WR_INFO_SALESRANK].s, "");
    assert_string_equal(r.info[WR_INFO_CATEGORY].s, "");

    line = strtok(NULL, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.asin.s, "C1");
    assert_string_equal(r.info[WR_INFO_BRAND].s, "");
    assert_string_equal(r.info[WR_INFO_PRICE].s, "12.00");
    assert_string_equal(r.info[WR_INFO_SALESRANK].s, "12345");
    assert_string_equal(r.info[WR_INFO_CATEGORY].s, "Books > Kids & Teens");
    free(text);
    amazon_parser_free(ps);
}

static void test_parse_2018(void **state)
{
    (void)state;
    wr_amazon_parser *ps = amazon_parser_new(1);
    wr_amazon_record r;
    wr_err err;
    char *text = read_text(fixture("meta_2018.json"));
    char *line = strtok(text, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.asin.s, "X1");
    assert_int_equal(r.nrel[WR_REL_ALSO_BOUGHT], 3);
    assert_int_equal(r.nrel[WR_REL_ALSO_VIEWED], 1);
    assert_int_equal(r.nrel[WR_REL_BOUGHT_TOGETHER], 0);
    /* a surrogate pair is one character */
    assert_string_equal(r.info[WR_INFO_TITLE].s, "Caf\xc3\xa9 \xf0\x9f\x98\x80 \"quoted\"");
    assert_string_equal(r.info[WR_INFO_BRAND].s, "Brand/Slash");
    assert_string_equal(r.info[WR_INFO_CATEGORY].s, "Gift Cards > Restaurants");
    assert_string_equal(r.info[WR_INFO_PRICE].s, "1234.50");
    assert_string_equal(r.info[WR_INFO_SALESRANK].s, "12345");
    line = strtok(NULL, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.info[WR_INFO_PRICE].s, "");
    assert_string_equal(r.info[WR_INFO_SALESRANK].s, "2255");
    line = strtok(NULL, "\n");
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_string_equal(r.info[WR_INFO_PRICE].s, ""); /* scraped CSS is no price */
    free(text);
    amazon_parser_free(ps);
}

static void test_parse_without_side_info(void **state)
{
    (void)state;
    wr_amazon_parser *ps = amazon_parser_new(0);
    wr_amazon_record r;
    wr_err err;
    assert_int_equal(parse(ps, "{'title': 'T', 'asin': 'A', 'also_buy': ['B']}", &r, &err), 0);
    assert_string_equal(r.asin.s, "A");
    assert_int_equal(r.nrel[WR_REL_ALSO_BOUGHT], 1);
    assert_int_equal(r.info[WR_INFO_TITLE].len, 0);
    amazon_parser_free(ps);
}

static void test_parse_lenient_forms(void **state)
{
    (void)state;
    static const char *ok[] = {
        "{'asin': 'A', 'x': 1L, 'y': +.5, 'z': 5., 'w': -0e-0,}",
        "  {'asin': 'A'}  \t",
        "{'asin':'A','related':None,'also_buy':null}",
        "{\"asin\": \"A\", \"t\": true, \"f\": false, \"n\": null, \"o\": {}}",
        "{'asin': 'A', 'x': '\\101\\0\\a\\b\\f\\v\\r\\/'}",
        "{'asin': 'A', 'title': '\\ud800'}", /* a lone surrogate in a side field is no error */
        "{'asin': 'A', 'title': '\xff bad \xc3'}",
    };
    wr_amazon_parser *ps = amazon_parser_new(1);
    wr_amazon_record r;
    wr_err err;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (parse(ps, ok[i], &r, &err) < 0)
            fail_msg("rejected %s: %s", ok[i], err.msg);
    /* the last two titles come out as valid UTF-8 with U+FFFD for the bad bytes */
    assert_true(text_utf8_valid(r.info[WR_INFO_TITLE].s, r.info[WR_INFO_TITLE].len));
    assert_string_equal(r.info[WR_INFO_TITLE].s, "\xef\xbf\xbd bad \xef\xbf\xbd");
    assert_int_equal(parse(ps, ok[5], &r, &err), 0);
    assert_true(text_utf8_valid(r.info[WR_INFO_TITLE].s, r.info[WR_INFO_TITLE].len));
    amazon_parser_free(ps);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *line, *why;
    } bad[] = {
        {"", "not a dict"},
        {"   ", "not a dict"},
        {"[1, 2]", "not a dict"},
        {"'asin'", "not a dict"},
        {"{", "unterminated dict"},
        {"{'asin': 'A'", "unterminated dict"},
        {"{'asin': ['A'", "unterminated list"},
        {"{'asin': 'A}", "unterminated string"},
        {"{'asin': 'A\\", "unterminated string"},
        {"{'asin': \"A'}", "unterminated string"},
        {"{'asin': 'A'} x", "text after"},
        {"{'asin': 'A'}}", "text after"},
        {"{'asin' 'A'}", "expected ':'"},
        {"{asin: 'A'}", "key is not a string"},
        {"{1: 'A'}", "key is not a string"},
        {"{'asin': 'A',, }", "dict key is not a string"},
        {"{'asin': 'A', 'x': [1,, 2]}", "unexpected character"},
        {"{'asin': 'A' 'b': 1}", "expected ',' or '}'"},
        {"{'asin': 'A', 'x': [1 2]}", "expected ',' or ']'"},
        {"{'asin': NaN}", "unknown word"},
        {"{'asin': 'A', 'price': nan}", "unknown word"},
        {"{'asin': 'A', 'price': Infinity}", "unknown word"},
        {"{'asin': 'A', 'price': -Infinity}", "bad number"},
        {"{'asin': 'A', 'price': 1.2.3}", "bad number"},
        {"{'asin': 'A', 'price': 1e}", "bad number"},
        {"{'asin': 'A', 'price': 0x1F}", "bad number"},
        {"{'asin': 'A', 'price': -}", "bad number"},
        {"{'asin': 'A', 'price': .}", "bad number"},
        {"{'asin': 'A', 'x': b'bytes'}", "unknown word"},
        {"{'asin': 'A', 'x': '\\q'}", "unknown escape"},
        {"{'asin': 'A', 'x': '\\x4'}", "bad \\x escape"},
        {"{'asin': 'A', 'x': '\\u12'}", "bad \\u escape"},
        {"{'asin': 'A', 'x': '\\U00110000'}", "bad \\U escape"},
        {"{'title': 'no id'}", "no asin"},
        {"{'asin': 5}", "asin is not a string"},
        {"{'asin': ''}", "asin is empty"},
        {"{'asin': '\xff\xfe'}", "asin is not valid UTF-8"},
        {"{\"asin\": \"\\ud800\"}", "asin is not valid UTF-8"},
        {"{'asin': 'A\\tB'}", "asin contains a control character"},
        {"{'asin': 'A', 'related': {'also_bought': ['B', 7]}}",
         "an id in also_bought is not a string"},
        {"{'asin': 'A', 'related': {'also_bought': 'B'}}", "also_bought is not a list"},
        {"{'asin': 'A', 'related': ['B']}", "related is not a dict"},
        {"{'asin': 'A', 'also_buy': ['B', '']}", "an id in also_buy is empty"},
        {"{'asin': 'A', 'also_view': ['\xc3\x28']}", "an id in also_view is not valid UTF-8"},
        {"{'asin': 'A', 'x': @}", "unexpected character"},
    };
    wr_amazon_parser *ps = amazon_parser_new(1);
    wr_amazon_record r;
    wr_err err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(ps, bad[i].line, &r, &err) == 0)
            fail_msg("accepted %s", bad[i].line);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("%s: said '%s', want '%s'", bad[i].line, err.msg, bad[i].why);
        assert_non_null(strstr(err.msg, "column "));
    }
    /* the column points at the problem */
    assert_int_equal(parse(ps, "{'asin': 'A', 'x': @}", &r, &err), -1);
    assert_string_equal(err.msg, "column 20: unexpected character");
    /* a NUL byte inside the given length is text like any other */
    assert_int_equal(amazon_parse_line(ps, "{'asin': 'A'}\0x", 15, &r, &err), -1);
    /* an asin longer than WR_ID_MAX */
    char line[WR_ID_MAX + 64];
    int n = snprintf(line, sizeof line, "{'asin': '");
    memset(line + n, 'x', WR_ID_MAX + 1);
    strcpy(line + n + WR_ID_MAX + 1, "'}");
    assert_int_equal(parse(ps, line, &r, &err), -1);
    assert_non_null(strstr(err.msg, "longer than 512"));
    line[n + WR_ID_MAX] = '\'';
    line[n + WR_ID_MAX + 1] = '}';
    line[n + WR_ID_MAX + 2] = 0;
    assert_int_equal(parse(ps, line, &r, &err), 0);
    assert_int_equal(r.asin.len, WR_ID_MAX);
    amazon_parser_free(ps);
}

/* A record whose field x is `levels` nested lists. */
static char *nested(int levels)
{
    char *s = malloc((size_t)levels * 2 + 64);
    int n = sprintf(s, "{'asin': 'A', 'x': ");
    memset(s + n, '[', (size_t)levels);
    memset(s + n + levels, ']', (size_t)levels);
    strcpy(s + n + 2 * levels, "}");
    return s;
}

static void test_parse_depth(void **state)
{
    (void)state;
    wr_amazon_parser *ps = amazon_parser_new(1);
    wr_amazon_record r;
    wr_err err;
    /* the record is level 1, so 63 more levels make the limit of 64 */
    char *s = nested(WR_AMAZON_MAX_DEPTH - 1);
    assert_int_equal(parse(ps, s, &r, &err), 0);
    free(s);
    s = nested(WR_AMAZON_MAX_DEPTH);
    assert_int_equal(parse(ps, s, &r, &err), -1);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    free(s);
    /* far deeper input fails the same way instead of exhausting the stack */
    s = nested(1000000);
    assert_int_equal(parse(ps, s, &r, &err), -1);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    free(s);
    /* an unwanted field is only checked, but checked to the same depth */
    s = malloc(200000);
    int n = sprintf(s, "{'asin': 'A', 'description': ");
    for (int i = 0; i < 70; i++)
        n += sprintf(s + n, "{'k': ");
    n += sprintf(s + n, "1");
    for (int i = 0; i < 70; i++)
        s[n++] = '}';
    strcpy(s + n, "}");
    assert_int_equal(parse(ps, s, &r, &err), -1);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    free(s);
    amazon_parser_free(ps);
}

static void test_parse_huge_line(void **state)
{
    (void)state;
    const size_t ids = 200000, title = 4u << 20;
    char *s = malloc(ids * 16 + title + 256);
    size_t n = (size_t)sprintf(s, "{'asin': 'A', 'title': '");
    memset(s + n, 't', title);
    n += title;
    n += (size_t)sprintf(s + n, "', 'related': {'also_viewed': [");
    for (size_t i = 0; i < ids; i++)
        n += (size_t)sprintf(s + n, "'B%07zu', ", i);
    strcpy(s + n, "]}}");
    wr_amazon_parser *ps = amazon_parser_new(1);
    wr_amazon_record r;
    wr_err err;
    assert_int_equal(parse(ps, s, &r, &err), 0);
    assert_int_equal(r.nrel[WR_REL_ALSO_VIEWED], ids);
    assert_string_equal(r.rel[WR_REL_ALSO_VIEWED][ids - 1].s, "B0199999");
    assert_int_equal(r.info[WR_INFO_TITLE].len, title);
    amazon_parser_free(ps);
    free(s);
}

/* Checks what a successful parse promises, whatever the input. */
static void check_record(const wr_amazon_record *r)
{
    assert_true(r->asin.len > 0 && r->asin.len <= WR_ID_MAX);
    assert_true(text_utf8_valid(r->asin.s, r->asin.len));
    assert_int_equal(strlen(r->asin.s), r->asin.len);
    for (int k = 0; k < WR_REL_KINDS; k++)
        for (size_t i = 0; i < r->nrel[k]; i++) {
            assert_true(r->rel[k][i].len > 0 && r->rel[k][i].len <= WR_ID_MAX);
            assert_true(text_utf8_valid(r->rel[k][i].s, r->rel[k][i].len));
        }
    for (int f = 0; f < WR_INFO_FIELDS; f++) {
        assert_true(text_utf8_valid(r->info[f].s, r->info[f].len));
        assert_int_equal(strlen(r->info[f].s), r->info[f].len);
        for (size_t i = 0; i < r->info[f].len; i++)
            assert_true((unsigned char)r->info[f].s[i] >= 0x20 && r->info[f].s[i] != 0x7f);
    }
}

/* Every proper prefix of a record is malformed; every byte-level mutation either parses
 * into a well-formed record or fails cleanly. Heap copies of exact length, so a read past
 * the end shows up under ASan / valgrind. */
static void test_parse_prefixes_and_mutations(void **state)
{
    (void)state;
    wr_amazon_parser *ps = amazon_parser_new(1);
    wr_amazon_record r;
    wr_err err;
    char *text = read_text(fixture("meta_2014.txt"));
    char *more = read_text(fixture("meta_2018.json"));
    const char *lines[16];
    size_t nl = 0;
    for (char *t = strtok(text, "\n"); t; t = strtok(NULL, "\n"))
        lines[nl++] = t;
    for (char *t = strtok(more, "\n"); t; t = strtok(NULL, "\n"))
        lines[nl++] = t;
    for (size_t i = 0; i < nl; i++) {
        size_t len = strlen(lines[i]);
        for (size_t k = 0; k < len; k++) {
            char *c = malloc(k ? k : 1);
            memcpy(c, lines[i], k);
            if (amazon_parse_line(ps, c, k, &r, &err) == 0)
                fail_msg("accepted a %zu-byte prefix of line %zu", k, i);
            free(c);
        }
    }
    static const char special[] = "{}[]'\"\\:,0123456789.eE-+uxUNTF \t\xff\xc3\x80";
    uint64_t x = 88172645463325252ULL;
    int parsed = 0;
    for (int it = 0; it < 30000; it++) {
        const char *src = lines[it % nl];
        size_t len = strlen(src);
        char *c = malloc(len + 8);
        memcpy(c, src, len);
        for (int m = 0; m < 1 + it % 4; m++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x >> 8) % len;
            char ch = special[(x >> 40) % (sizeof special - 1)];
            switch (x % 3) {
            case 0: c[at] = ch; break;
            case 1: memmove(c + at, c + at + 1, len - at - 1), len--; break;
            default: memmove(c + at + 1, c + at, len - at), c[at] = ch, len++; break;
            }
            if (len < 2)
                break;
        }
        char *exact = malloc(len);
        memcpy(exact, c, len);
        free(c);
        if (amazon_parse_line(ps, exact, len, &r, &err) == 0) {
            check_record(&r);
            parsed++;
        } else {
            assert_non_null(strstr(err.msg, "column "));
        }
        free(exact);
    }
    /* some mutations hit text only and still parse, most break the syntax */
    assert_true(parsed > 100 && parsed < 29000);
    free(text);
    free(more);
    amazon_parser_free(ps);
}

/* ---- whole files ---- */

static const want_pair want_2014[] = {
    /* A1's two records merged: also_bought {B1, B2, B3}, also_viewed {B2, C1},
     * bought_together {B1}; B1: also_bought + bought_together A1; B2, C1: also_viewed A1 */
    {"A1", "B1", 1.0 + 1.2 + 1.0 + 1.2},
    {"A1", "B2", 1.0 + 0.5 + 0.5},
    {"A1", "B3", 1.0},
    {"A1", "C1", 0.5 + 0.5},
};

static void test_prepare_2014(void **state)
{
    (void)state;
    wr_prepare_stats st;
    wr_err err;
    const char *pairs = tmp("p2014.tsv"), *items = tmp("i2014.tsv");
    assert_int_equal(prepare_amazon(fixture("meta_2014.txt"), pairs, items, NULL, &st, &err), 0);
    assert_int_equal(st.lines, 7);
    assert_int_equal(st.records, 6);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.pairs, 4);
    assert_int_equal(st.items, 5); /* D1 is only linked by buy_after_viewing, off by default */
    assert_int_equal(st.items_with_info, 5);
    assert_false(st.truncated);
    check_pairs(pairs, want_2014, sizeof want_2014 / sizeof want_2014[0]);

    char *text = read_text(items);
    assert_string_equal(text,
                        "item\tbrand\tcategory\tprice\ttitle\tsalesrank\n"
                        "A1\tCaf\xc3\xa9 \xc3\x89t\xc3\xa9\tSports & Outdoors > Other Sports > "
                        "Dance\t3.17\tGirls' Ballet Tutu \\ \"Zebra\" Pink\t211836\n"
                        "B1\tM\xc3\xbcller\t\t\tIt's \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\t\n"
                        "B2\t\t\t\tSnow \xe2\x98\x83 man\t\n"
                        "C1\t\tBooks > Kids & Teens\t12.00\t\t12345\n"
                        "E1\t\t\t\t\t\n");
    free(text);
}

static void test_prepare_weights(void **state)
{
    (void)state;
    wr_weights w = wr_default_weights;
    wr_err err;
    assert_int_equal(pairs_weights_parse(&w, "buy_after_viewing=0.3,also_viewed=0", &err), 0);
    wr_prepare_opts o = {.weights = &w};
    wr_prepare_stats st;
    const char *pairs = tmp("pw.tsv");
    assert_int_equal(prepare_amazon(fixture("meta_2014.txt"), pairs, NULL, &o, &st, &err), 0);
    static const want_pair want[] = {
        {"A1", "B1", 4.4}, {"A1", "B2", 1.0}, {"A1", "B3", 1.0}, {"A1", "D1", 0.3}};
    check_pairs(pairs, want, sizeof want / sizeof want[0]);
    assert_int_equal(st.items_with_info, 0); /* no items file asked for */
}

static void test_prepare_2018(void **state)
{
    (void)state;
    wr_prepare_stats st;
    wr_err err;
    const char *pairs = tmp("p2018.tsv");
    assert_int_equal(prepare_amazon(fixture("meta_2018.json"), pairs, NULL, NULL, &st, &err), 0);
    static const want_pair want[] = {{"X1", "X2", 2.0}, {"X1", "X3", 1.5}};
    check_pairs(pairs, want, sizeof want / sizeof want[0]);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.items, 3);
}

static void test_prepare_empty(void **state)
{
    (void)state;
    wr_prepare_stats st;
    wr_err err;
    const char *in = tmp("empty.txt"), *pairs = tmp("pe.tsv"), *items = tmp("ie.tsv");
    write_text(in, "");
    assert_int_equal(prepare_amazon(in, pairs, items, NULL, &st, &err), 0);
    assert_int_equal(st.lines + st.records + st.pairs + st.items_with_info, 0);
    check_pairs(pairs, NULL, 0);
    char *text = read_text(items);
    assert_string_equal(text, "item\tbrand\tcategory\tprice\ttitle\tsalesrank\n");
    free(text);
    /* blank lines only: nothing, and nothing malformed */
    write_text(in, "\n  \n\r\n\t\n");
    assert_int_equal(prepare_amazon(in, pairs, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.lines, 4);
    assert_int_equal(st.malformed, 0);
    /* a missing file is an error naming it */
    assert_int_equal(prepare_amazon(tmp("nope.json"), pairs, NULL, NULL, &st, &err), -1);
    assert_non_null(strstr(err.msg, "nope.json"));
}

static void test_prepare_malformed(void **state)
{
    (void)state;
    wr_prepare_stats st;
    wr_err err;
    const char *in = tmp("bad.txt"), *pairs = tmp("pb.tsv");
    write_text(in, "{'asin': 'A', 'also_buy': ['B']}\n"
                   "\n"
                   "{'asin': 'B', 'also_buy': ['C'}\n"
                   "{'asin': 'C', 'also_buy': ['A']}\n"
                   "not a record\n");
    assert_int_equal(prepare_amazon(in, pairs, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.lines, 5);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.malformed, 2);
    static const want_pair want[] = {{"A", "B", 1.0}, {"A", "C", 1.0}};
    check_pairs(pairs, want, sizeof want / sizeof want[0]);

    wr_prepare_opts o = {.strict = 1};
    assert_int_equal(prepare_amazon(in, pairs, NULL, &o, &st, &err), -1);
    char want_msg[512];
    snprintf(want_msg, sizeof want_msg, "%s:3: column 31: expected ',' or ']'", in);
    assert_string_equal(err.msg, want_msg);
}

static void test_prepare_long_line(void **state)
{
    (void)state;
    wr_prepare_stats st;
    wr_err err;
    const char *in = tmp("long.txt"), *pairs = tmp("pl.tsv");
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fputs("{'asin': 'A', 'also_buy': ['B']}\n{'asin': 'L', 'title': '", f);
    for (int i = 0; i < 5000; i++)
        fputc('x', f);
    fputs("', 'also_buy': ['M']}\n{'asin': 'C', 'also_buy': ['D']}\n", f);
    fclose(f);
    wr_prepare_opts o = {.max_line = 1000};
    assert_int_equal(prepare_amazon(in, pairs, NULL, &o, &st, &err), 0);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.malformed, 1);
    static const want_pair want[] = {{"A", "B", 1.0}, {"C", "D", 1.0}};
    check_pairs(pairs, want, sizeof want / sizeof want[0]);
    o.max_line = 0; /* the default limit takes it */
    assert_int_equal(prepare_amazon(in, pairs, NULL, &o, &st, &err), 0);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.pairs, 3);
}

/* A gzip file cut off mid-way gives the lines before the cut, a flag and no error, even
 * in strict mode: the half line at the cut is not a malformed record. */
static void test_prepare_truncated_gzip(void **state)
{
    (void)state;
    const char *gzpath = tmp("meta.json.gz"), *pairs = tmp("pt.tsv");
    const int n = 20000;
    gzFile gz = gzopen(gzpath, "wb");
    assert_non_null(gz);
    for (int i = 0; i < n; i++)
        gzprintf(gz, "{\"asin\": \"P%d\", \"also_buy\": [\"P%d\", \"Q%d\"], \"description\": "
                     "[\"filler %d to make the file large enough to cut\"]}\n",
                 i, i + 1, i * 7919 % n, i);
    assert_int_equal(gzclose(gz), Z_OK);

    wr_prepare_stats st;
    wr_err err;
    assert_int_equal(prepare_amazon(gzpath, pairs, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.records, (uint64_t)n);
    assert_false(st.truncated);
    uint64_t full = st.pairs;

    FILE *f = fopen(gzpath, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(gzpath, size / 2), 0);
    wr_prepare_opts o = {.strict = 1};
    assert_int_equal(prepare_amazon(gzpath, pairs, NULL, &o, &st, &err), 0);
    assert_true(st.truncated);
    assert_int_equal(st.malformed, 0);
    assert_true(st.records > (uint64_t)n / 4 && st.records < (uint64_t)n);
    assert_true(st.pairs > 0 && st.pairs < full);
}

int main(void)
{
    wr_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_2014),
        cmocka_unit_test(test_parse_2018),
        cmocka_unit_test(test_parse_without_side_info),
        cmocka_unit_test(test_parse_lenient_forms),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_parse_huge_line),
        cmocka_unit_test(test_parse_prefixes_and_mutations),
        cmocka_unit_test(test_prepare_2014),
        cmocka_unit_test(test_prepare_weights),
        cmocka_unit_test(test_prepare_2018),
        cmocka_unit_test(test_prepare_empty),
        cmocka_unit_test(test_prepare_malformed),
        cmocka_unit_test(test_prepare_long_line),
        cmocka_unit_test(test_prepare_truncated_gzip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
