/* fuzz_side.c - the items table reader (side.h), plain or gzip.
 *
 * The input is read as a table of every item and as the table of a model whose ids are the
 * items read plus one the file may not have. A table read must be what side.h promises:
 * values NUL-terminated, non-empty, trimmed, UTF-8 and without tab or newline; column
 * names the same; with the model's ids the same values row for row and the matched and
 * unmatched rows adding up to the items read. The typed readers must agree with the types
 * inferred, and reading the file over its own table must change no value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "walkrec/side.h"
#include "walkrec/text.h"

static char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wr_quiet = 1;
    path = fuzz_path("items.tsv");
    return 0;
}

static void check_text(const char *v, const char *what)
{
    size_t len = strlen(v);
    if (!len || v[0] == ' ' || v[len - 1] == ' ' || !text_utf8_valid(v, len) ||
        strpbrk(v, "\t\n"))
        fuzz_bug("%s '%s' is empty, untrimmed, not UTF-8 or holds a tab or newline", what, v);
}

static void check_table(const wr_side *s)
{
    for (size_t c = 0; c < side_columns(s); c++) {
        check_text(side_name(s, c), "column name");
        if (side_column(s, side_name(s, c)) != (int64_t)c)
            fuzz_bug("column '%s' is not found where it is", side_name(s, c));
        wr_side_type t = side_type(s, c);
        for (uint32_t r = 0; r < side_rows(s); r++) {
            const char *v = side_value(s, r, c);
            double x;
            int b;
            wr_side_span sp[4];
            if (!v)
                continue;
            check_text(v, "value");
            if (t == WR_SIDE_NUMBER && side_number(s, r, c, &x) < 0)
                fuzz_bug("'%s' in a number column is no number", v);
            if (t == WR_SIDE_BOOL && side_bool(s, r, c, &b) < 0)
                fuzz_bug("'%s' in a boolean column is no boolean", v);
            size_t n = side_list(s, r, c, sp, 4);
            for (size_t k = 0; k < n && k < 4; k++)
                if (sp[k].p < v || sp[k].p + sp[k].len > v + strlen(v))
                    fuzz_bug("list item %zu of '%s' outside the value", k, v);
        }
    }
}

static int same_values(const wr_side *a, const wr_side *b)
{
    if (side_columns(a) != side_columns(b) || side_rows(a) != side_rows(b))
        return 0;
    for (size_t c = 0; c < side_columns(a); c++)
        for (uint32_t r = 0; r < side_rows(a); r++) {
            const char *x = side_value(a, r, c), *y = side_value(b, r, c);
            if ((x == NULL) != (y == NULL) || (x && strcmp(x, y)))
                return 0;
        }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(path, data, size);
    wr_err err;
    wr_side *all = side_load(path, NULL, &err);
    if (!all)
        return 0;
    check_table(all);
    const wr_dict *items = side_items(all);
    if (side_matched(all) != side_rows(all) || dict_size(items) != side_rows(all))
        fuzz_bug("%u rows, %llu matched", side_rows(all),
                 (unsigned long long)side_matched(all));
    wr_dict *ids = dict_new(side_rows(all) + 1);
    for (uint32_t r = 0; r < side_rows(all); r++)
        dict_intern(ids, dict_str(items, r), dict_strlen(items, r));
    dict_intern(ids, "\x01not in the file", 16);
    wr_side *model = side_load(path, ids, &err);
    if (!model)
        fuzz_bug("read without ids, refused with them: %s", err.msg);
    check_table(model);
    if (side_matched(model) != side_rows(all) || side_unmatched(model) != 0)
        fuzz_bug("every item of the file is a model item");
    for (size_t c = 0; c < side_columns(all); c++)
        for (uint32_t r = 0; r < side_rows(all); r++) {
            const char *x = side_value(all, r, c), *y = side_value(model, r, c);
            if ((x == NULL) != (y == NULL) || (x && strcmp(x, y)))
                fuzz_bug("row %u column %zu differs with ids", r, c);
        }
    if (side_update(model, path, &err) < 0)
        fuzz_bug("read once, refused over itself: %s", err.msg);
    wr_side *again = side_load(path, ids, &err);
    if (!again || !same_values(model, again))
        fuzz_bug("the file read over its own table changed it");
    side_free(again);
    side_free(model);
    dict_free(ids);
    side_free(all);
    return 0;
}
