/* test_dict.c - interning: round trips, growth, lookups of absent ids, byte-order ranks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/dict.h"
#include "walkrec/util.h"

static void test_intern_find(void **state)
{
    (void)state;
    wr_dict *d = dict_new(0);
    char buf[32];
    uint32_t n = 300000; /* forces several table and arena growths */
    for (uint32_t i = 0; i < n; i++) {
        int len = snprintf(buf, sizeof buf, "item-%u", i * 7919u);
        assert_int_equal(dict_intern(d, buf, len), i);
    }
    assert_int_equal(dict_size(d), n);
    for (uint32_t i = 0; i < n; i += 97) {
        int len = snprintf(buf, sizeof buf, "item-%u", i * 7919u);
        assert_int_equal(dict_find(d, buf, len), i);
        assert_int_equal(dict_intern(d, buf, len), i);
        assert_string_equal(dict_str(d, i), buf);
        assert_int_equal(dict_strlen(d, i), len);
    }
    assert_int_equal(dict_find(d, "item-1", 6), -1);
    assert_int_equal(dict_find(d, "item-0x", 7), -1);
    assert_int_equal(dict_find(d, "item-", 5), -1); /* prefix of an id is not the id */
    dict_free(d);
}

static void test_binary_and_empty(void **state)
{
    (void)state;
    wr_dict *d = dict_new(4);
    assert_int_equal(dict_intern(d, "", 0), 0);
    assert_int_equal(dict_intern(d, "\xc3\xa9", 2), 1);
    assert_int_equal(dict_find(d, "", 0), 0);
    assert_int_equal(dict_strlen(d, 0), 0);
    assert_int_equal(dict_strlen(d, 1), 2);
    dict_free(d);
}

static void test_sorted_rank(void **state)
{
    (void)state;
    wr_dict *d = dict_new(0);
    const char *ids[] = {"b", "a", "\xc3\xa9", "B", "ab", "a b"};
    /* byte order: "B" < "a" < "a b" < "ab" < "b" < "\xc3\xa9" */
    const uint32_t expect[] = {4, 1, 5, 0, 3, 2};
    for (int i = 0; i < 6; i++)
        dict_intern(d, ids[i], strlen(ids[i]));
    uint32_t *rank = dict_sorted_rank(d);
    for (int i = 0; i < 6; i++)
        assert_int_equal(rank[i], expect[i]);
    free(rank);
    dict_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_find),
        cmocka_unit_test(test_binary_and_empty),
        cmocka_unit_test(test_sorted_rank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
