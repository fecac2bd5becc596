/* fuzz_amazon.c - the Amazon metadata parser (2014 Python literals, 2018 JSON lines).
 *
 * Every line of the input goes through the one-line parser twice, with and without side
 * information: both must agree on whether the line is a record, on its asin and its
 * relations, and what they return must be what amazon.h promises (valid ids; side fields
 * one line of valid UTF-8, trimmed, blanks squeezed). Then the whole input, as a file, goes
 * through prepare_amazon, and the pairs file it writes must read back strictly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "walkrec/amazon.h"
#include "walkrec/prepare.h"
#include "walkrec/pairs.h"
#include "walkrec/text.h"

static wr_amazon_parser *with_info, *without_info;
static char *meta_path, *pairs_path, *items_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wr_quiet = 1;
    with_info = amazon_parser_new(1);
    without_info = amazon_parser_new(0);
    meta_path = fuzz_path("meta.json");
    pairs_path = fuzz_path("pairs.tsv");
    items_path = fuzz_path("items.tsv");
    return 0;
}

static int same_str(const wr_amazon_str *a, const wr_amazon_str *b)
{
    return a->len == b->len && !memcmp(a->s, b->s, a->len);
}

static void check_info(const wr_amazon_str *v, int field)
{
    const char *s = v->s;
    size_t n = v->len;
    if (strlen(s) != n || !text_utf8_valid(s, n))
        fuzz_bug("side field %d: not NUL-terminated valid UTF-8", field);
    if (n && (s[0] == ' ' || s[n - 1] == ' ' || strstr(s, "  ")))
        fuzz_bug("side field %d: '%s' is not trimmed and squeezed", field, s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            fuzz_bug("side field %d: control character 0x%02x", field, s[i]);
}

static void check_line(const char *line, size_t len)
{
    wr_amazon_record a, b;
    wr_err ea, eb;
    int ra = amazon_parse_line(with_info, line, len, &a, &ea),
        rb = amazon_parse_line(without_info, line, len, &b, &eb);
    if (ra != rb)
        fuzz_bug("with side information the line %s, without it %s", ra ? ea.msg : "parses",
                 rb ? eb.msg : "parses");
    if (ra < 0) {
        if (!*ea.msg)
            fuzz_bug("a malformed line without a reason");
        return;
    }
    if (!fuzz_valid_id(a.asin.s, a.asin.len) || !same_str(&a.asin, &b.asin))
        fuzz_bug("bad or differing asin");
    for (int k = 0; k < WR_REL_KINDS; k++) {
        if (a.nrel[k] != b.nrel[k])
            fuzz_bug("relation %d: %zu ids with side information, %zu without", k, a.nrel[k],
                     b.nrel[k]);
        for (size_t i = 0; i < a.nrel[k]; i++) {
            const wr_amazon_str *x = &a.rel[k][i];
            if (!fuzz_valid_id(x->s, x->len) || !same_str(x, &b.rel[k][i]))
                fuzz_bug("relation %d, id %zu: bad or differing", k, i);
            for (size_t j = 0; j < x->len; j++)
                if ((unsigned char)x->s[j] < 0x20)
                    fuzz_bug("relation %d, id %zu: control character", k, i);
        }
    }
    for (int f = 0; f < WR_INFO_FIELDS; f++)
        check_info(&a.info[f], f);
}

static void check_prepare(const uint8_t *data, size_t size)
{
    wr_prepare_opts o = {0};
    wr_prepare_stats st;
    wr_err err;
    fuzz_write(meta_path, data, size);
    if (prepare_amazon(meta_path, pairs_path, items_path, &o, &st, &err) < 0)
        return; /* not strict: only I/O fails it, or nothing to write */
    if (st.records + st.malformed > st.lines)
        fuzz_bug("%llu records and %llu malformed lines out of %llu lines",
                 (unsigned long long)st.records, (unsigned long long)st.malformed,
                 (unsigned long long)st.lines);
    wr_pairs p;
    wr_read_opts ro = {.strict = 1};
    wr_read_stats rs;
    pairs_init(&p);
    if (pairs_read(&p, pairs_path, &ro, &rs, &err) < 0)
        fuzz_bug("the pairs file prepare_amazon wrote does not read back: %s", err.msg);
    if (p.n != st.pairs || dict_size(p.ids) != st.items)
        fuzz_bug("wrote %llu pairs of %llu items, read back %zu of %u",
                 (unsigned long long)st.pairs, (unsigned long long)st.items, p.n,
                 dict_size(p.ids));
    pairs_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        /* The line reader passes a line without its "\r\n" or "\n". */
        char *line = xmalloc(len ? len : 1);
        memcpy(line, s, len);
        check_line(line, len - (len && s[len - 1] == '\r'));
        free(line);
        s += len + 1;
    }
    check_prepare(data, size);
    return 0;
}
