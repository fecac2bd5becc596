/* test_access.c - the token, cors_origins, writes from other sites' pages and wrong tokens
 * by address, from header values alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "walkrec/access.h"
#include "walkrec/util.h"

static wr_config cfg_with(const char *token, const char *origins)
{
    wr_config c;
    config_init(&c);
    free(c.cors_origins);
    c.cors_origins = xstrdup(origins);
    c.admin_token = token ? xstrdup(token) : NULL;
    return c;
}

static void test_bearer(void **state)
{
    (void)state;
    wr_config c = cfg_with("0123456789abcdef", "");
    wr_access *a = access_new(&c);
    assert_int_equal(access_bearer(a, NULL), -1);
    assert_int_equal(access_bearer(a, "Bearer 0123456789abcdef"), 1);
    assert_int_equal(access_bearer(a, "bearer   0123456789abcdef"), 1);
    assert_int_equal(access_bearer(a, "Bearer 0123456789abcdeF"), 0);
    assert_int_equal(access_bearer(a, "Bearer 0123456789abcde"), 0);
    assert_int_equal(access_bearer(a, "Bearer 0123456789abcdef0"), 0);
    assert_int_equal(access_bearer(a, "Bearer "), 0);
    assert_int_equal(access_bearer(a, "Basic 0123456789abcdef"), 0);
    access_free(a);
    config_free(&c);
    c = cfg_with(NULL, "");
    a = access_new(&c);
    assert_int_equal(access_bearer(a, "Bearer x"), -1); /* no token set */
    access_free(a);
    config_free(&c);
}

static void test_cors(void **state)
{
    (void)state;
    wr_config c = cfg_with(NULL, "");
    wr_access *a = access_new(&c);
    assert_null(access_cors_origin(a, "https://shop.example"));
    assert_int_equal(access_by_origin(a), 0);
    access_free(a);
    config_free(&c);

    c = cfg_with(NULL, "https://shop.example,https://admin.example");
    a = access_new(&c);
    assert_string_equal(access_cors_origin(a, "https://admin.example"), "https://admin.example");
    assert_null(access_cors_origin(a, "https://evil.example"));
    assert_null(access_cors_origin(a, NULL));
    assert_int_equal(access_by_origin(a), 1);
    access_free(a);
    config_free(&c);

    c = cfg_with(NULL, "*");
    a = access_new(&c);
    assert_string_equal(access_cors_origin(a, "https://any.example"), "*");
    assert_int_equal(access_by_origin(a), 0);
    access_free(a);
    config_free(&c);
}

static void test_foreign_write(void **state)
{
    (void)state;
    wr_config c = cfg_with(NULL, "https://shop.example,*");
    wr_access *a = access_new(&c);
    char why[512];
#define json "application/json"
    static const struct {
        const char *site, *origin, *host, *type;
        int foreign;
    } cases[] = {
        {NULL, NULL, "localhost:8080", json, 0},                      /* curl --json */
        {NULL, NULL, "localhost:8080", NULL, 1},                      /* no Content-Type */
        {"same-origin", "http://localhost:8080", "localhost:8080", json, 0},
        {"cross-site", "https://evil.example", "localhost:8080", json, 1},
        {"same-site", "https://a.localhost", "localhost:8080", json, 1},
        {"cross-site", "https://shop.example", "localhost:8080", json, 0}, /* listed */
        {NULL, "https://evil.example", "localhost:8080", json, 1},   /* "*" reads, not writes */
        {NULL, "http://localhost:8080", "localhost:8080", json, 0},  /* the server itself */
        {"none", NULL, "localhost:8080", json, 0},                   /* typed in the bar */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *r = access_foreign_write(a, cases[i].site, cases[i].origin, cases[i].host,
                                             cases[i].type, why, sizeof why);
        if (!!r != cases[i].foreign)
            fail_msg("case %zu: expected %s, got %s", i, cases[i].foreign ? "refused" : "fine",
                     r ? r : "fine");
    }
#undef json
    access_free(a);
    config_free(&c);
}

static void test_json_or_none(void **state)
{
    (void)state;
    assert_true(access_json_or_none(NULL));
    assert_true(access_json_or_none("application/json"));
    assert_true(access_json_or_none("Application/JSON; charset=utf-8"));
    assert_true(access_json_or_none("application/merge-patch+json"));
    assert_false(access_json_or_none("text/plain"));
    assert_false(access_json_or_none("application/x-www-form-urlencoded"));
    assert_false(access_json_or_none("multipart/form-data; boundary=x"));
    assert_false(access_json_or_none("text/+json"));
    assert_false(access_json_or_none("application/jsonp"));
}

static void test_wrong_tokens(void **state)
{
    (void)state;
    wr_config c = cfg_with("0123456789abcdef", "");
    c.auth_failures = 3;
    c.auth_failure_window = 60;
    wr_access *a = access_new(&c);
    unsigned char one[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 1};
    unsigned char two[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 2};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(access_wait(a, one, 100.0 + i), 0);
        access_failed(a, one, 100.0 + i);
    }
    /* the window began at 100: 60 s later the address may try again */
    assert_int_equal(access_wait(a, one, 103.0), 58);
    assert_int_equal(access_wait(a, two, 103.0), 0); /* another address is not held */
    assert_int_equal(access_wait(a, one, 161.0), 0);
    access_failed(a, one, 161.0); /* a new window */
    assert_int_equal(access_wait(a, one, 162.0), 0);
    /* thousands of addresses: the table stays fixed and the newest are still counted */
    for (unsigned i = 0; i < 5 * ACCESS_SLOTS; i++) {
        unsigned char x[16] = {0x20, 0x01, [12] = (unsigned char)(i >> 24),
                               (unsigned char)(i >> 16), (unsigned char)(i >> 8),
                               (unsigned char)i};
        for (int j = 0; j < 3; j++)
            access_failed(a, x, 200.0 + i * 1e-3);
    }
    unsigned char last[16] = {0x20, 0x01, [12] = 0, 0, (unsigned char)((5 * ACCESS_SLOTS - 1) >> 8),
                              (unsigned char)(5 * ACCESS_SLOTS - 1)};
    assert_true(access_wait(a, last, 210.0) > 0);
    access_free(a);
    config_free(&c);

    c = cfg_with("0123456789abcdef", "");
    c.auth_failures = 0; /* no limit */
    a = access_new(&c);
    for (int i = 0; i < 100; i++)
        access_failed(a, one, 100.0);
    assert_int_equal(access_wait(a, one, 100.0), 0);
    access_free(a);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_foreign_write),
        cmocka_unit_test(test_json_or_none),
        cmocka_unit_test(test_wrong_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
