/* test_hidden.c - the hidden set and its views: records applied in log order whatever order
 * they arrive in, deletes hiding like hides, a view's bits for index rows, ids no model
 * knows, the stamp that names the set, and a reset. (What hiding does to answers, through
 * the handlers: test_api.c's test_hidden.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "walkrec/hidden.h"
#include "walkrec/wal.h"

#define N 70 /* past one 64-bit word of row bits */
#define DIM 2

static wr_index *ix;

static int setup(void **state)
{
    (void)state;
    wr_err err;
    wr_quiet = 1;
    wr_model *m = model_new(N, DIM);
    for (uint32_t i = 0; i < N; i++) {
        char id[8];
        int n = snprintf(id, sizeof id, "P%02u", i);
        dict_intern(m->ids, id, (size_t)n);
        m->vecs[(size_t)i * DIM] = 1;
        m->vecs[(size_t)i * DIM + 1] = 0.01f * (float)i;
    }
    wr_index_opts o;
    index_default_opts(&o);
    o.k = 0;
    o.threads = 1;
    ix = index_build(m, 1, "test.wr", &o, &err);
    return ix ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    index_free(ix);
    hidden_free_all();
    return 0;
}

static int row_hidden(const wr_hidden *h, uint32_t r)
{
    const uint64_t *bits = hidden_rows(h);
    return bits && (bits[r >> 6] >> (r & 63) & 1);
}

/* Each record is applied unless a later one (by log offset) of the same id was already. */
static void test_log_order(void **state)
{
    (void)state;
    static const struct {
        int kind;
        const char *id;
        uint64_t off;
        int changed;
        size_t count;
    } steps[] = {
        {WR_WAL_HIDE, "P03", 100, 1, 1},
        {WR_WAL_HIDE, "P03", 100, 0, 1},    /* the same record again (a replay) */
        {WR_WAL_UNHIDE, "P03", 50, 0, 1},   /* older than the hide: nothing */
        {WR_WAL_UNHIDE, "P03", 200, 1, 0},
        {WR_WAL_HIDE, "P03", 150, 0, 0},    /* a handler's late apply of an older hide */
        {WR_WAL_UNHIDE, "NEVER", 210, 0, 0}, /* unhiding what is not hidden */
        {WR_WAL_DELETE, "P65", 220, 1, 1},  /* a delete hides */
        {WR_WAL_HIDE, "NOT-IN-MODEL", 230, 1, 2},
        {WR_WAL_HIDE, "P65", 240, 0, 2},    /* hidden already */
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        int changed = hidden_apply(steps[i].kind, steps[i].id, strlen(steps[i].id), steps[i].off);
        if (changed != steps[i].changed || hidden_count() != steps[i].count)
            fail_msg("step %zu: changed %d, %zu hidden", i, changed, hidden_count());
    }
    wr_hidden *h = hidden_view(ix, NULL);
    assert_non_null(h);
    assert_int_equal(hidden_size(h), 2);
    assert_int_equal(hidden_stamp(h), 230); /* the offset of the last change */
    for (uint32_t r = 0; r < N; r++)
        assert_int_equal(row_hidden(h, r), r == 65);
    assert_true(hidden_has(h, "P65", 3));
    assert_true(hidden_has(h, "NOT-IN-MODEL", 12));
    assert_false(hidden_has(h, "P03", 3));
    assert_false(hidden_prov(h, 0)); /* no overlay */
    hidden_free(h);
    hidden_reset();
    assert_int_equal(hidden_count(), 0);
    assert_null(hidden_view(ix, NULL));
}

/* A view without anything hidden is NULL, and NULL reads as nothing hidden; ids no model
 * row has leave the row bits NULL. */
static void test_empty_views(void **state)
{
    (void)state;
    assert_null(hidden_view(ix, NULL));
    assert_null(hidden_rows(NULL));
    assert_false(hidden_has(NULL, "P00", 3));
    assert_false(hidden_prov(NULL, 0));
    assert_int_equal(hidden_size(NULL), 0);
    assert_int_equal(hidden_stamp(NULL), 0);
    assert_int_equal(hidden_apply(WR_WAL_HIDE, "ELSEWHERE", 9, 16), 1);
    wr_hidden *h = hidden_view(ix, NULL);
    assert_non_null(h);
    assert_null(hidden_rows(h));
    assert_int_equal(hidden_size(h), 1);
    hidden_free(h);
    h = hidden_view(NULL, NULL); /* before any index */
    assert_true(hidden_has(h, "ELSEWHERE", 9));
    hidden_free(h);
    hidden_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_order),
        cmocka_unit_test(test_empty_views),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
