/* test_util.c - line reader (plain, gzip, truncated gzip, long lines), parsers, UTF-8, rng. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "walkrec/bytes.h"
#include "walkrec/file.h"
#include "walkrec/lines.h"
#include "walkrec/rng.h"
#include "walkrec/text.h"
#include "walkrec/util.h"

static char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/wr_test_util_%ld_%s", (long)getpid(), name);
    return buf;
}

static void write_plain(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_lines_plain(void **state)
{
    (void)state;
    const char *p = tmp_path("plain.txt");
    write_plain(p, "a\tb\r\n\nlast", 10);
    wr_lines l;
    wr_err err;
    assert_int_equal(lines_open(&l, p, 0, &err), 0);
    assert_int_equal(lines_next(&l, &err), 1);
    assert_string_equal(l.buf, "a\tb");
    assert_int_equal(l.lineno, 1);
    assert_int_equal(lines_next(&l, &err), 1);
    assert_string_equal(l.buf, "");
    assert_int_equal(lines_next(&l, &err), 1);
    assert_string_equal(l.buf, "last");
    assert_int_equal(l.lineno, 3);
    assert_int_equal(lines_next(&l, &err), 0);
    assert_false(l.truncated);
    lines_close(&l);
    unlink(p);
}

static void test_lines_long(void **state)
{
    (void)state;
    const char *p = tmp_path("long.txt");
    size_t n = 100000;
    char *data = malloc(n + 8);
    memset(data, 'x', n);
    memcpy(data + n, "\nok\n", 4);
    write_plain(p, data, n + 4);
    free(data);
    wr_lines l;
    wr_err err;
    assert_int_equal(lines_open(&l, p, 1000, &err), 0);
    assert_int_equal(lines_next(&l, &err), 1);
    assert_true(l.too_long);
    assert_true(l.len <= 1000);
    assert_int_equal(lines_next(&l, &err), 1);
    assert_false(l.too_long);
    assert_string_equal(l.buf, "ok");
    assert_int_equal(lines_next(&l, &err), 0);
    lines_close(&l);
    unlink(p);
}

static void test_lines_gzip_truncated(void **state)
{
    (void)state;
    const char *p = tmp_path("t.gz");
    gzFile gz = gzopen(p, "wb");
    assert_non_null(gz);
    wr_rng r;
    rng_seed(&r, 3);
    int lines = 20000;
    for (int i = 0; i < lines; i++)
        gzprintf(gz, "line %d %llu\n", i, (unsigned long long)rng_next(&r));
    gzclose(gz);

    /* whole file: every line, not truncated */
    wr_lines l;
    wr_err err;
    assert_int_equal(lines_open(&l, p, 0, &err), 0);
    int n = 0;
    while (lines_next(&l, &err) == 1)
        n++;
    assert_int_equal(n, lines);
    assert_false(l.truncated);
    lines_close(&l);

    /* cut in the middle: fewer lines, flagged, no error */
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(size);
    assert_int_equal(fread(buf, 1, size, f), (size_t)size);
    fclose(f);
    write_plain(p, buf, size / 2);
    free(buf);
    assert_int_equal(lines_open(&l, p, 0, &err), 0);
    n = 0;
    int rc;
    while ((rc = lines_next(&l, &err)) == 1)
        n++;
    assert_int_equal(rc, 0);
    assert_true(n > 0 && n < lines);
    assert_true(l.truncated);
    lines_close(&l);
    unlink(p);
}

static void test_parse(void **state)
{
    (void)state;
    double d;
    uint64_t u;
    assert_int_equal(text_parse_double("1.5", &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(text_parse_double("-2e3", &d), 0);
    assert_int_equal(text_parse_double("", &d), -1);
    assert_int_equal(text_parse_double("1.5x", &d), -1);
    assert_int_equal(text_parse_double(" 1", &d), -1);
    assert_int_equal(text_parse_double("nan", &d), -1);
    assert_int_equal(text_parse_double("inf", &d), -1);
    assert_int_equal(text_parse_double("1e999", &d), -1);
    assert_int_equal(text_parse_u64("42", &u), 0);
    assert_true(u == 42);
    assert_int_equal(text_parse_u64("-1", &u), -1);
    assert_int_equal(text_parse_u64("99999999999999999999999", &u), -1);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(text_utf8_valid("abc", 3));
    assert_true(text_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_false(text_utf8_valid("\xc3", 1));             /* truncated */
    assert_false(text_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(text_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(text_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(text_utf8_valid("\xff", 1));
}

static void test_split_fields(void **state)
{
    (void)state;
    char s[] = "a\tb\t\tc";
    char *f[3];
    assert_int_equal(text_split(s, '\t', f, 3), 3);
    assert_string_equal(f[0], "a");
    assert_string_equal(f[1], "b");
    assert_string_equal(f[2], "\tc");
}

static void test_rng(void **state)
{
    (void)state;
    wr_rng a, b;
    rng_seed(&a, 7);
    rng_seed(&b, 7);
    for (int i = 0; i < 100; i++)
        assert_true(rng_next(&a) == rng_next(&b));
    /* rng_below is uniform: chi-square over 10 bins, 1e5 draws, df 9, 0.1% critical 27.9 */
    long bins[10] = {0};
    for (int i = 0; i < 100000; i++)
        bins[rng_below(&a, 10)]++;
    double chi = 0;
    for (int i = 0; i < 10; i++)
        chi += (bins[i] - 10000.0) * (bins[i] - 10000.0) / 10000.0;
    assert_true(chi < 27.9);
}

static void test_afile(void **state)
{
    (void)state;
    const char *p = tmp_path("atomic.txt");
    wr_atomic_file af;
    wr_err err;
    assert_int_equal(file_atomic_open(&af, p, &err), 0);
    fputs("hello\n", af.f);
    assert_int_equal(access(p, F_OK), -1); /* not visible before commit */
    assert_int_equal(file_atomic_commit(&af, &err), 0);
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(file_atomic_open(&af, p, &err), 0);
    fputs("partial", af.f);
    file_atomic_abort(&af);
    FILE *f = fopen(p, "r");
    char line[32];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "hello\n");
    fclose(f);
    unlink(p);
    assert_int_equal(file_atomic_open(&af, "/nonexistent-dir/x", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x"));
}

/* Scores as answers write them: 7 decimals at most, no trailing zeros, null for what JSON
 * cannot say, large values in full. */
static void test_score(void **state)
{
    (void)state;
    static const struct {
        float v;
        const char *want;
    } cases[] = {{0.5f, "0.5"}, {-0.25f, "-0.25"}, {1, "1"}, {0, "0"}, {-1e-9f, "0"},
                 {0.12345678f, "0.1234568"}, {NAN, "null"}, {INFINITY, "null"},
                 {-INFINITY, "null"}, {2e12f, "1.99999999e+12"}, {123456.5f, "123456.5"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wr_bytes b = {0};
        bytes_put_score(&b, cases[i].v);
        bytes_put(&b, "", 1);
        if (strcmp(b.p, cases[i].want))
            fail_msg("%g: '%s', expected '%s'", (double)cases[i].v, b.p, cases[i].want);
        free(b.p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_lines_plain),  cmocka_unit_test(test_lines_long),
        cmocka_unit_test(test_lines_gzip_truncated), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_utf8),         cmocka_unit_test(test_split_fields),
        cmocka_unit_test(test_rng),          cmocka_unit_test(test_afile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
