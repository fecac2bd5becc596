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
static const char *const *values; /* the attribute's value of each row, or NULL */

static const float *vector(const void *ctx, uint32_t item)
{
    (void)ctx;
    return unit + item * 3;
}

static const char *value(const void *ctx, uint32_t item)
{
    (void)ctx;
    return values[item];
}

static const wr_diverse_src src = {vector, value, NULL, 3};

static void test_pick(void **state)
{
    (void)state;
    const wr_hit pool[4] = {{0, 1.0f}, {1, 0.99f}, {2, 0.5f}, {3, 0.4f}};
    wr_hit out[4];
    /* lambda 0, no cap: the pool's order */
    values = (const char *const[]){NULL, NULL, NULL, NULL};
    assert_int_equal(diverse_pick(pool, 4, 3, 0, 0, &src, out), 3);
    assert_true(out[0].item == 0 && out[1].item == 1 && out[2].item == 2);
    /* lambda 0.5: after 0, its near twin 1 scores 0.5 * 0.983 - 0.5 * 0.995 < 0, while 2
     * scores 0.5 * 0.167 - 0 > 0 */
    assert_int_equal(diverse_pick(pool, 4, 2, 0.5, 0, &src, out), 2);
    assert_true(out[0].item == 0 && out[1].item == 2);
    /* at most one per value: 0 and 1 share one, 3 has none (never capped) */
    values = (const char *const[]){"x", "x", "y", NULL};
    assert_int_equal(diverse_pick(pool, 4, 4, 0, 1, &src, out), 3);
    assert_true(out[0].item == 0 && out[1].item == 2 && out[2].item == 3);
    /* padding at the pool's end is skipped */
    const wr_hit padded[3] = {{2, 0.5f}, {UINT32_MAX, -INFINITY}, {UINT32_MAX, -INFINITY}};
    assert_int_equal(diverse_pick(padded, 3, 2, 0.3, 0, &src, out), 1);
}

static void test_measures(void **state)
{
    (void)state;
    const wr_hit twins[2] = {{0, 1}, {1, 1}}, apart[3] = {{0, 1}, {2, 1}, {3, 1}};
    assert_true(fabs(diverse_ils(twins, 2, &src) - 0.99498744) < 1e-6);
    assert_true(fabs(diverse_ils(apart, 3, &src)) < 1e-9);
    assert_true(isnan(diverse_ils(twins, 1, &src)));
    const wr_hit all[4] = {{0, 1}, {1, 1}, {2, 1}, {3, 1}};
    values = (const char *const[]){"p", "p", "q", "q"};
    assert_true(fabs(diverse_entropy(all, 4, &src) - 1) < 1e-12);
    values = (const char *const[]){"p", "p", "p", "p"};
    assert_true(diverse_entropy(all, 4, &src) == 0);
    values = (const char *const[]){NULL, NULL, NULL, NULL};
    assert_true(isnan(diverse_entropy(all, 4, &src)));
    /* values p, p, q and one item without: log2(3) - 2/3 */
    values = (const char *const[]){"p", "p", "q", NULL};
    assert_true(fabs(diverse_entropy(all, 4, &src) - (log2(3.0) - 2.0 / 3)) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_measures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
