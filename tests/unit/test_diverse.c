/* test_diverse.c - MMR, the cap per attribute value, intra-list similarity and attribute
 * entropy on hand cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "walkrec/diverse.h"

/* rows: 0 and 1 nearly the same direction, 2 and 3 orthogonal to them and to each other */
static const float unit[4 * 3] = {1, 0, 0, 0.99498744f, 0.1f, 0, 0, 1, 0, 0, 0, 1};

static void test_pick(void **state)
{
    (void)state;
    const wr_hit pool[4] = {{0, 1.0f}, {1, 0.99f}, {2, 0.5f}, {3, 0.4f}};
    wr_hit out[4];
    /* lambda 0, no cap: the pool's order */
    assert_int_equal(diverse_pick(pool, 4, 3, 0, unit, 3, NULL, 0, out), 3);
    assert_true(out[0].item == 0 && out[1].item == 1 && out[2].item == 2);
    /* lambda 0.5: after 0, its near twin 1 scores 0.5 * 0.983 - 0.5 * 0.995 < 0, while 2
     * scores 0.5 * 0.167 - 0 > 0 */
    assert_int_equal(diverse_pick(pool, 4, 2, 0.5, unit, 3, NULL, 0, out), 2);
    assert_true(out[0].item == 0 && out[1].item == 2);
    /* at most one per value: 0 and 1 share one, 3 has none (never capped) */
    const uint32_t group[4] = {7, 7, 8, UINT32_MAX};
    assert_int_equal(diverse_pick(pool, 4, 4, 0, unit, 3, group, 1, out), 3);
    assert_true(out[0].item == 0 && out[1].item == 2 && out[2].item == 3);
    /* padding at the pool's end is skipped */
    const wr_hit padded[3] = {{2, 0.5f}, {UINT32_MAX, -INFINITY}, {UINT32_MAX, -INFINITY}};
    assert_int_equal(diverse_pick(padded, 3, 2, 0.3, unit, 3, NULL, 0, out), 1);
}

static void test_measures(void **state)
{
    (void)state;
    const wr_hit twins[2] = {{0, 1}, {1, 1}}, apart[3] = {{0, 1}, {2, 1}, {3, 1}};
    assert_true(fabs(diverse_ils(twins, 2, unit, 3) - 0.99498744) < 1e-6);
    assert_true(fabs(diverse_ils(apart, 3, unit, 3)) < 1e-9);
    assert_true(isnan(diverse_ils(twins, 1, unit, 3)));
    const uint32_t two[4] = {5, 5, 6, 6}, one[4] = {5, 5, 5, 5}, none[4] = {
        UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
    const wr_hit all[4] = {{0, 1}, {1, 1}, {2, 1}, {3, 1}};
    assert_true(fabs(diverse_entropy(all, 4, two) - 1) < 1e-12);
    assert_true(diverse_entropy(all, 4, one) == 0);
    assert_true(isnan(diverse_entropy(all, 4, none)));
    /* values 5, 5, 6 and one item without: log2(3) - 2/3 */
    const uint32_t some[4] = {5, 5, 6, UINT32_MAX};
    assert_true(fabs(diverse_entropy(all, 4, some) - (log2(3.0) - 2.0 / 3)) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_measures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
