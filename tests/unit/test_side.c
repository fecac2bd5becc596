/* test_side.c - the items table: reading every item (training) and a model's items
 * (serving), values trimmed and missing cells, a second file over the first, the typed
 * readers and column types, gzip, values that are not UTF-8 left out, and every malformed
 * file refused with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "walkrec/side.h"

#include "tmpdir.h"

static const char *const items =
    "item\tcategory\tbrand\tprice\tgift\n"
    "a\tX > Y > Z\t Acme \t$1,250.00\ttrue\n"
    "b\tX > Y\t\t3.5\tno\n"
    "c\n"                      /* fewer cells: no values */
    "\n"                       /* skipped */
    "d\tQ|R\tOther\t$5.00 - $10.00\tYES\n"
    "\xc3\xa9t\xc3\xa9\tA\tBrand\tjunk\tfalse\n";

/* Without ids: every item, in file order; values trimmed; empty cells are no value. */
static void test_every_item(void **state)
{
    (void)state;
    wr_err err;
    wr_side *s = side_load(tmpdir_write("items.tsv", items, 0), NULL, &err);
    assert_non_null(s);
    assert_int_equal(side_rows(s), 5);
    assert_int_equal(side_matched(s), 5);
    assert_int_equal(side_unmatched(s), 0);
    assert_int_equal(side_columns(s), 4);
    static const char *const names[] = {"category", "brand", "price", "gift"};
    for (size_t c = 0; c < 4; c++) {
        assert_string_equal(side_name(s, c), names[c]);
        assert_int_equal(side_column(s, names[c]), (int64_t)c);
    }
    assert_int_equal(side_column(s, "item"), -1);
    static const struct {
        const char *id;
        const char *v[4];
    } rows[] = {
        {"a", {"X > Y > Z", "Acme", "$1,250.00", "true"}},
        {"b", {"X > Y", NULL, "3.5", "no"}},
        {"c", {NULL, NULL, NULL, NULL}},
        {"d", {"Q|R", "Other", "$5.00 - $10.00", "YES"}},
        {"\xc3\xa9t\xc3\xa9", {"A", "Brand", "junk", "false"}},
    };
    const wr_dict *ids = side_items(s);
    for (uint32_t r = 0; r < 5; r++) {
        assert_string_equal(dict_str(ids, r), rows[r].id);
        for (size_t c = 0; c < 4; c++) {
            const char *got = side_value(s, r, c);
            if (rows[r].v[c])
                assert_string_equal(got, rows[r].v[c]);
            else
                assert_null(got);
        }
    }
    side_free(s);
}

/* With a model's ids: row r is id r; rows of the file for other items are counted. */
static void test_model_items(void **state)
{
    (void)state;
    wr_dict *ids = dict_new(8);
    static const char *const model[] = {"zz", "d", "a", "nothing"};
    for (int i = 0; i < 4; i++)
        dict_intern(ids, model[i], strlen(model[i]));
    wr_err err;
    wr_side *s = side_load(tmpdir_write("items.tsv", items, 0), ids, &err);
    assert_non_null(s);
    assert_int_equal(side_rows(s), 4);
    assert_ptr_equal(side_items(s), ids);
    assert_int_equal(side_matched(s), 2);   /* a, d */
    assert_int_equal(side_unmatched(s), 3); /* b, c, été */
    assert_null(side_value(s, 0, 0));
    assert_string_equal(side_value(s, 1, 1), "Other");
    assert_string_equal(side_value(s, 2, 0), "X > Y > Z");
    for (size_t c = 0; c < 4; c++)
        assert_null(side_value(s, 3, c));

    /* a second file: a new column, and its values replace the first file's */
    const char *more = tmpdir_write("more.tsv", "item\tbrand\tcolour\n"
                                             "a\tAcme Corp\tred\n"
                                             "zz\t\tblue\n"
                                             "other\tX\tY\n", 0);
    assert_int_equal(side_update(s, more, &err), 0);
    assert_int_equal(side_columns(s), 5);
    assert_string_equal(side_name(s, 4), "colour");
    assert_string_equal(side_value(s, 2, 1), "Acme Corp");
    assert_string_equal(side_value(s, 2, 4), "red");
    assert_string_equal(side_value(s, 0, 4), "blue");
    assert_null(side_value(s, 0, 1)); /* an empty cell replaces nothing */
    assert_string_equal(side_value(s, 1, 1), "Other");
    assert_null(side_value(s, 1, 4));
    assert_int_equal(side_matched(s), 4);
    assert_int_equal(side_unmatched(s), 4);

    /* a bad second file leaves the table as it was */
    assert_int_equal(side_update(s, tmpdir_write("bad.tsv", "item\tsize\na\tx\ta\n", 0), &err), -1);
    assert_int_equal(side_columns(s), 5);
    assert_int_equal(side_column(s, "size"), -1);
    assert_string_equal(side_value(s, 2, 1), "Acme Corp");
    side_free(s);
    dict_free(ids);
}

/* A value that is not UTF-8 is left out and counted; the rest of its row stays. */
static void test_bad_value_dropped(void **state)
{
    (void)state;
    wr_err err;
    wr_side *s = side_load(tmpdir_write("v.tsv", "item\tb\tc\na\tok\tx\n"
                                                 "b\tbad \xe2\x82\ty\n", 0), NULL, &err);
    assert_non_null(s);
    assert_int_equal(side_rows(s), 2);
    assert_int_equal(side_dropped(s), 1);
    assert_null(side_value(s, 1, 0));
    assert_string_equal(side_value(s, 1, 1), "y");
    assert_string_equal(side_value(s, 0, 0), "ok");
    side_free(s);
}

/* Without ids a second file's new items become rows. */
static void test_update_adds_items(void **state)
{
    (void)state;
    wr_err err;
    wr_side *s = side_load(tmpdir_write("one.tsv", "item\tbrand\na\tA\nb\tB\n", 0), NULL, &err);
    assert_non_null(s);
    const char *two = tmpdir_write("two.tsv", "item\tbrand\tsize\nc\tC\t3\nb\tBB\t\n", 0);
    assert_int_equal(side_update(s, two, &err), 0);
    assert_int_equal(side_rows(s), 3);
    assert_string_equal(dict_str(side_items(s), 2), "c");
    assert_string_equal(side_value(s, 1, 0), "BB");
    assert_string_equal(side_value(s, 2, 1), "3");
    assert_null(side_value(s, 0, 1));
    side_free(s);
}

/* Numbers, booleans, lists, and each column's type. */
static void test_typed_values(void **state)
{
    (void)state;
    wr_err err;
    wr_side *s = side_load(tmpdir_write("items.tsv", items, 0), NULL, &err);
    assert_non_null(s);
    static const struct {
        uint32_t row;
        size_t col;
        int ok;
        double want;
    } numbers[] = {
        {0, 2, 0, 1250}, {1, 2, 0, 3.5}, {3, 2, 0, 5}, {4, 2, -1, 0}, {2, 2, -1, 0},
        {0, 1, -1, 0},
    };
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        double x = -1;
        assert_int_equal(side_number(s, numbers[k].row, numbers[k].col, &x), numbers[k].ok);
        if (numbers[k].ok == 0)
            assert_true(x == numbers[k].want);
    }
    static const struct {
        uint32_t row;
        int ok, want;
    } bools[] = {{0, 0, 1}, {1, 0, 0}, {2, -1, 0}, {3, 0, 1}, {4, 0, 0}};
    for (size_t k = 0; k < sizeof bools / sizeof bools[0]; k++) {
        int b = -1;
        assert_int_equal(side_bool(s, bools[k].row, 3, &b), bools[k].ok);
        if (bools[k].ok == 0)
            assert_int_equal(b, bools[k].want);
    }
    wr_side_span sp[4];
    assert_int_equal(side_list(s, 0, 0, sp, 4), 3);
    assert_int_equal(sp[2].len, 1);
    assert_memory_equal(sp[2].p, "Z", 1);
    assert_int_equal(side_list(s, 3, 0, sp, 1), 2); /* Q|R: counted past max */
    assert_memory_equal(sp[0].p, "Q", 1);
    assert_int_equal(side_list(s, 4, 0, sp, 4), 1);
    assert_int_equal(side_list(s, 2, 0, sp, 4), 0);
    /* category: 3 of 4 are lists; brand: text; price: "junk" is no number; gift: booleans */
    static const wr_side_type types[] = {WR_SIDE_LIST, WR_SIDE_STRING, WR_SIDE_STRING,
                                         WR_SIDE_BOOL};
    for (size_t c = 0; c < 4; c++)
        assert_int_equal(side_type(s, c), types[c]);
    assert_string_equal(side_type_name(WR_SIDE_BOOL), "boolean");
    side_free(s);

    s = side_load(tmpdir_write("n.tsv", "item\tprice\tempty\na\t3\t\nb\t$4.50\t\n", 0), NULL, &err);
    assert_non_null(s);
    assert_int_equal(side_type(s, 0), WR_SIDE_NUMBER);
    assert_int_equal(side_type(s, 1), WR_SIDE_STRING); /* no values */
    side_free(s);

    /* a number column may hold stray text: 20 numbers and 1 junk value is still numbers
     * (the junk reads as none), 19 and 2 is text */
    char text[2048] = "item\tprice\tcost\n";
    for (int i = 0; i < 21; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "i%d\t%s\t%s\n", i,
                 i == 20 ? "<div>" : "$1.50", i >= 19 ? "n/a" : "2");
    s = side_load(tmpdir_write("junk.tsv", text, 0), NULL, &err);
    assert_non_null(s);
    assert_int_equal(side_type(s, 0), WR_SIDE_NUMBER);
    assert_int_equal(side_type(s, 1), WR_SIDE_STRING);
    double x;
    assert_int_equal(side_number(s, 20, 0, &x), -1);
    assert_int_equal(side_number(s, 3, 0, &x), 0);
    side_free(s);
}

/* A gzip file reads like the plain one; a cut-off one is refused. */
static void test_gzip(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/items.tsv.gz", tmpdir);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    gzputs(gz, items);
    for (int i = 0; i < 3000; i++) /* enough to span several blocks */
        gzprintf(gz, "extra%d\tC%d\tB%d\t%d\tyes\n", i, i % 7, i % 13, i);
    assert_int_equal(gzclose(gz), Z_OK);
    wr_err err;
    wr_side *s = side_load(path, NULL, &err);
    assert_non_null(s);
    assert_int_equal(side_rows(s), 5 + 3000);
    assert_string_equal(side_value(s, 3, 1), "Other");
    assert_string_equal(side_value(s, 5 + 2999, 2), "2999");
    side_free(s);

    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *cut = tmpdir_write("cut.tsv.gz", buf, n / 2);
    assert_null(side_load(cut, NULL, &err));
    assert_int_equal(err.code, WR_ECORRUPT);
}

/* Malformed files: refused whole, the message naming the file and the line. */
static void test_malformed(void **state)
{
    (void)state;
    static char longline[WR_SIDE_MAX_LINE + 64];
    static char wide[8 * (WR_SIDE_MAX_COLUMNS + 2)];
    strcpy(longline, "item\tdesc\na\t");
    memset(longline + strlen(longline), 'x', WR_SIDE_MAX_LINE);
    strcat(longline, "\n");
    strcpy(wide, "item");
    for (int c = 0; c < WR_SIDE_MAX_COLUMNS; c++)
        sprintf(wide + strlen(wide), "\tc%d", c);
    strcat(wide, "\na\n");
    static const struct {
        const char *name, *text;
        size_t len;
        uint64_t line;
        const char *msg;
    } cases[] = {
        {"empty", "", 0, 0, "empty file"},
        {"blank header", "\nitem\tb\n", 0, 1, "header"},
        {"one column", "item\na\n", 0, 1, "expected a header"},
        {"too wide", wide, 0, 1, "expected a header"},
        {"unnamed column", "item\t\tb\n", 0, 1, "column 2"},
        {"repeated column", "item\tb\tb\n", 0, 1, "column 3"},
        {"bad column name", "item\t\xff\n", 0, 1, "column 2"},
        {"ragged: too many", "item\tb\na\tx\n\nc\tx\ty\n", 0, 4, "more than the 2 columns"},
        {"bad id", "item\tb\n\xc3\x28\tx\n", 0, 2, "item id"},
        {"empty id", "item\tb\n\tx\n", 0, 2, "item id"},
        {"duplicate id", "item\tb\na\t1\nb\t2\na\t3\n", 0, 4, "'a' listed twice"},
        {"NUL byte", "item\tb\na\tx\0y\n", sizeof "item\tb\na\tx\0y\n" - 1, 2, "NUL"},
        {"long line", longline, 0, 2, "longer than"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *path = tmpdir_write("bad.tsv", cases[k].text, cases[k].len);
        wr_err err;
        memset(&err, 0, sizeof err);
        wr_side *s = side_load(path, NULL, &err);
        if (s)
            fail_msg("%s: read", cases[k].name);
        assert_int_equal(err.code, WR_EINVAL);
        if (!strstr(err.msg, cases[k].msg) || !strstr(err.msg, path))
            fail_msg("%s: message '%s'", cases[k].name, err.msg);
        assert_int_equal(err.line, cases[k].line);
        /* the same with a model's ids */
        wr_dict *ids = dict_new(4);
        dict_intern(ids, "a", 1);
        assert_null(side_load(path, ids, &err));
        dict_free(ids);
    }
    wr_err err;
    assert_null(side_load("/nonexistent/items.tsv", NULL, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/items.tsv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item),   cmocka_unit_test(test_model_items),
        cmocka_unit_test(test_update_adds_items), cmocka_unit_test(test_typed_values),
        cmocka_unit_test(test_bad_value_dropped),
        cmocka_unit_test(test_gzip),         cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
