/* test_w2v.c - word2vec text and binary: round trips, the variants other tools write, and
 * malformed inputs refused with errors that say where. */
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

#include "walkrec/model.h"
#include "walkrec/rng.h"
#include "walkrec/util.h"
#include "walkrec/w2v.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/wr-test-w2v-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/v.txt", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/v.bin", dir);
    unlink(p);
    return rmdir(dir);
}

static wr_model *load(const char *text, size_t len, wr_err *err)
{
    return w2v_load_mem(text, len, "v.vec", err);
}

/* Loads text that must be valid and checks it is ids a, b with rows 1 2 3 / 4 5 6. */
static void expect_ab(const char *text, size_t len, const char *format)
{
    wr_err err;
    wr_model *m = load(text, len, &err);
    if (!m)
        fail_msg("%s", err.msg);
    assert_int_equal(m->n, 2);
    assert_int_equal(m->dim, 3);
    assert_string_equal(dict_str(m->ids, 0), "a");
    assert_string_equal(dict_str(m->ids, 1), "b");
    for (int i = 0; i < 6; i++)
        assert_true(m->vecs[i] == (float)(i + 1));
    assert_non_null(strstr(m->meta_json, format));
    assert_non_null(strstr(m->meta_json, "v.vec"));
    model_free(m);
}

static void expect_error(const char *text, size_t len, const char *needle)
{
    wr_err err = {0};
    wr_model *m = load(text, len, &err);
    if (m)
        fail_msg("accepted a bad file (expected '%s')", needle);
    if (!strstr(err.msg, "v.vec") || !strstr(err.msg, needle))
        fail_msg("error '%s' lacks the file name or '%s'", err.msg, needle);
}

#define S(lit) lit, sizeof lit - 1

/* "id " + floats (+ '\n') for rows a = 1 2 3, b = 4 5 6. */
static size_t binary_ab(char *out, int newline)
{
    size_t n = (size_t)sprintf(out, "2 3\n");
    const char *ids[] = {"a", "b"};
    for (int r = 0; r < 2; r++) {
        out[n++] = ids[r][0];
        out[n++] = ' ';
        for (int j = 0; j < 3; j++) {
            float v = (float)(r * 3 + j + 1);
            memcpy(out + n, &v, 4);
            n += 4;
        }
        if (newline)
            out[n++] = '\n';
    }
    return n;
}

static void test_variants(void **state)
{
    (void)state;
    expect_ab(S("2 3\na 1 2 3\nb 4 5 6\n"), "\"word2vec\"");                /* gensim */
    expect_ab(S("2 3\na 1 2 3 \nb 4 5 6 \n"), "\"word2vec\"");              /* fastText .vec */
    expect_ab(S("2 3\r\na 1.0 2.000 3 \r\nb 4e0 5 6\r\n"), "\"word2vec\""); /* CRLF */
    expect_ab(S("2 3\na 1 2 3\nb 4 5 6"), "\"word2vec\"");                  /* no last newline */
    expect_ab(S("\xEF\xBB\xBF" "2 3 \na  1  2 3\nb 4 5 6\n\n"), "\"word2vec\""); /* BOM, runs */
    char bin[64];
    size_t n = binary_ab(bin, 0);                                      /* gensim binary */
    expect_ab(bin, n, "word2vec-binary");
    n = binary_ab(bin, 1);                                             /* word2vec.c binary */
    expect_ab(bin, n, "word2vec-binary");
    wr_err err;
    wr_model *m = load(S("0 8\n"), &err);
    assert_non_null(m);
    assert_int_equal(m->n, 0);
    model_free(m);
}

static void test_malformed_text(void **state)
{
    (void)state;
    expect_error(S(""), "empty file");
    expect_error(S("a 1 2 3\n"), "line 1: expected a header");
    expect_error(S("2\n"), "line 1: expected a header");
    expect_error(S("2 0\na\nb\n"), "line 1: bad dimension 0");
    expect_error(S("4000000000 300\na 1 2 3\n"), "line 1: the header says");
    expect_error(S("3 3\na 1 2 3\nb 4 5 6\n"), "line 1: the header says 3 rows of 3 values");
    expect_error(S("3 3\na 1.5 2.5 3.5\nb 4.5 5.5 6.5\n"),
                 "line 4: end of file after 2 rows, the header says 3");
    expect_error(S("1 3\na 1 2 3\nb 4 5 6\n"), "line 3: more rows than the 1");
    expect_error(S("2 3\na 1 2\nb 4 5 6\n"), "line 2: 2 values, expected 3");
    expect_error(S("2 3\na 1 2 3 4\nb 4 5 6\n"), "line 2: more than 3 values");
    expect_error(S("2 3\na 1 2 3\nb 4 x 6\n"), "line 3: value 2 'x' is not a number");
    expect_error(S("2 3\na 1 2 3\nb 4 5 6abc\n"), "line 3: value 3 '6abc' is not a number");
    expect_error(S("2 3\na 1 2 3\nb 4 1,5 6\n"), "line 3: value 2 '1,5' is not a number");
    expect_error(S("2 3\na 1 nan 3\nb 4 5 6\n"), "line 2: value 2 'nan' is not a finite");
    expect_error(S("2 3\na 1 2 3\nb -inf 5 6\n"), "line 3: value 1 '-inf' is not a finite");
    expect_error(S("2 3\na 1 2 3\nb 4 1e39 6\n"), "line 3: value 2 '1e39' is not a finite");
    expect_error(S("2 3\na 1 2 3\na 4 5 6\n"), "line 3: duplicate id 'a' (first in row 1)");
    expect_error(S("2 3\na 1 2 3\n\nb 4 5 6\n"), "line 3: empty line");
    expect_error(S("2 3\na 1 2 3\n 4 5 6\n"), "line 3: empty id");
    expect_error(S("2 3\na 1 2 3\n\xff\xfe 4 5 6\n"), "line 3: id is not valid UTF-8");
    char longid[700];
    int n = sprintf(longid, "1 1\n");
    memset(longid + n, 'x', 513);
    n += 513;
    n += sprintf(longid + n, " 1\n");
    expect_error(longid, (size_t)n, "line 2: id longer than 512 bytes");
}

static void test_malformed_binary(void **state)
{
    (void)state;
    char bin[64];
    size_t n = binary_ab(bin, 1);
    /* Every cut short of the optional final newline loses data. */
    for (size_t cut = 4; cut + 1 < n; cut++) {
        char *t = xmalloc(cut);
        memcpy(t, bin, cut);
        wr_err err;
        wr_model *m = load(t, cut, &err);
        if (m)
            fail_msg("binary file cut at %zu of %zu loaded", cut, n);
        free(t);
    }
    n = binary_ab(bin, 0);
    float nan = NAN;
    memcpy(bin + 4 + 2 + 4, &nan, 4);
    expect_error(bin, n, "offset 10: row 1 'a': value 2 is not finite");
    n = binary_ab(bin, 0);
    memcpy(bin + n, "c", 1);
    expect_error(bin, n + 1, "offset 32: data after the 2 rows");
    n = binary_ab(bin, 0);
    bin[4 + 14] = 'a'; /* row b renamed a */
    expect_error(bin, n, "offset 18: duplicate id 'a'");
    n = binary_ab(bin, 1);
    expect_error(bin, n - 3, "end of file after 10 of its 12 vector bytes");
}

static wr_model *random_model(uint32_t n, uint32_t dim)
{
    wr_model *m = model_new(n, dim);
    wr_rng r;
    rng_seed(&r, 7);
    char id[32];
    for (uint32_t i = 0; i < n; i++) {
        int len = snprintf(id, sizeof id, i % 3 ? "item-%u" : "\xc3\xa9l\xc3\xa9ment-%u", i);
        dict_intern(m->ids, id, (size_t)len);
        for (uint32_t j = 0; j < dim; j++) {
            /* Magnitudes from denormal-adjacent to huge, both signs. */
            double e = rng_double(&r) * 60 - 30;
            float v = (float)((rng_double(&r) - 0.5) * pow(10, e));
            m->vecs[(size_t)i * dim + j] = v;
        }
    }
    m->vecs[0] = -0.0f;
    m->vecs[1] = 3.4028235e38f;
    m->vecs[2] = 1.17549435e-38f;
    return m;
}

static void test_round_trip(void **state)
{
    (void)state;
    wr_model *m = random_model(300, 17);
    const char *names[] = {"v.txt", "v.bin"};
    for (int binary = 0; binary < 2; binary++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, names[binary]);
        wr_err err;
        assert_int_equal(w2v_save(m, p, binary, &err), 0);
        wr_model *r = w2v_load(p, &err);
        if (!r)
            fail_msg("%s", err.msg);
        assert_int_equal(r->n, m->n);
        assert_int_equal(r->dim, m->dim);
        for (uint32_t i = 0; i < m->n; i++)
            assert_string_equal(dict_str(r->ids, i), dict_str(m->ids, i));
        /* Bit for bit, text included: %.9g round-trips float32. */
        assert_memory_equal(r->vecs, m->vecs, (size_t)m->n * m->dim * sizeof(float));
        assert_non_null(strstr(r->meta_json, binary ? "word2vec-binary" : "\"word2vec\""));
        model_free(r);
    }
    model_free(m);
}

static void test_save_refuses(void **state)
{
    (void)state;
    wr_model *m = model_new(1, 2);
    dict_intern(m->ids, "has space", 9);
    char p[128];
    snprintf(p, sizeof p, "%s/v.txt", dir);
    unlink(p);
    wr_err err;
    assert_int_equal(w2v_save(m, p, 0, &err), -1);
    assert_non_null(strstr(err.msg, "'has space'"));
    assert_int_equal(access(p, F_OK), -1);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variants),         cmocka_unit_test(test_malformed_text),
        cmocka_unit_test(test_malformed_binary), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_save_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
