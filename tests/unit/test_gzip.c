/* test_gzip.c - Accept-Encoding values, table-driven, and gzip members that zlib's own
 * reader turns back into the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "walkrec/gzip.h"

static void test_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int want;
    } cases[] = {
        {NULL, 0},
        {"", 0},
        {"gzip", 1},
        {"GZip", 1},
        {"x-gzip", 1},
        {"gzip, deflate, br", 1},
        {"br,gzip", 1},
        {"deflate, br", 0},
        {"identity", 0},
        {"gzip;q=0", 0},
        {"gzip; q=0.0", 0},
        {"gzip;q=0.001", 1},
        {"br;q=1.0, gzip;q=0.8, *;q=0.1", 1},
        {"*", 1},
        {"*;q=0", 0},
        {"gzip;q=0, *", 0},    /* named refusal wins over the wildcard */
        {"*, gzip;q=0", 0},
        {"gzipped", 0},
        {"agzip", 0},
        {" gzip ; q=1 ", 1},
        {"gzip;level=1;q=0", 0},
        {",,,", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (gzip_accepted(cases[i].value) != cases[i].want)
            fail_msg("Accept-Encoding '%s': %d, expected %d",
                     cases[i].value ? cases[i].value : "(none)", !cases[i].want, cases[i].want);
}

/* zlib's inflate with the gzip wrapper: the member decoded, and its length. */
static char *gunzip(const char *in, size_t n, size_t cap, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    char *out = malloc(cap + 1);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    *len = z.total_out;
    inflateEnd(&z);
    return out;
}

static void test_round_trip(void **state)
{
    (void)state;
    size_t big = 3 << 20;
    char *json = malloc(big);
    size_t n = 0;
    while (n + 64 < big) /* a neighbour list's shape */
        n += (size_t)sprintf(json + n, "{\"item\":\"P%07zu\",\"score\":0.%07zu},", n % 9999991,
                             n * 7919 % 10000000);
    const size_t sizes[] = {0, 1, 100, WR_GZIP_MIN, 65536, n};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t zlen, back;
        char *z = gzip_encode(json, sizes[i], &zlen);
        assert_non_null(z);
        assert_true(zlen >= 18 && (unsigned char)z[0] == 0x1f && (unsigned char)z[1] == 0x8b);
        char *out = gunzip(z, zlen, sizes[i], &back);
        assert_int_equal(back, sizes[i]);
        assert_memory_equal(out, json, sizes[i]);
        if (sizes[i] == n)
            assert_true(zlen < n / 3); /* lists compress */
        free(out);
        free(z);
    }
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
