/* test_hogwild.c - the epoch driver: every unit trained once per epoch by the worker whose
 * slice holds it, chunks cut at the chunk weight, the slice end and the evaluation points,
 * pauses while no worker is inside a step, the learning-rate clock of both schedules, and
 * the same calls in the same order on one thread run after run. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "walkrec/hogwild.h"
#include "walkrec/util.h"

#define MAX_UNITS 64
#define MAX_CALLS 4096

typedef struct record {
    wr_hogwild_opts o;
    _Atomic int inside;             /* workers inside a step now */
    _Atomic uint32_t seen[MAX_UNITS]; /* times each unit was trained */
    pthread_mutex_t lock;
    wr_hogwild_chunk call[MAX_CALLS]; /* in call order (one thread: deterministic) */
    float lr0[MAX_CALLS];           /* the rate at each chunk's start */
    uint32_t ncalls;
    double progress[16];
    uint32_t epoch[16], npauses;
    int bad;                        /* a rule broken inside a callback */
} record;

static uint64_t weight(const wr_hogwild_opts *o, uint64_t u0, uint64_t u1)
{
    return o->off ? o->off[u1] - o->off[u0] : u1 - u0;
}

static void step(void *ctx, const wr_hogwild_chunk *c)
{
    record *r = ctx;
    atomic_fetch_add(&r->inside, 1);
    if (c->u0 >= c->u1 || c->u0 < c->slice0 || c->u1 > c->slice1 ||
        c->slice != weight(&r->o, c->slice0, c->slice1))
        r->bad = 1;
    for (uint64_t u = c->u0; u < c->u1; u++)
        atomic_fetch_add(&r->seen[u], 1);
    pthread_mutex_lock(&r->lock);
    if (r->ncalls < MAX_CALLS) {
        r->lr0[r->ncalls] = hogwild_lr(&r->o, c, 0);
        r->call[r->ncalls++] = *c;
    }
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_sub(&r->inside, 1);
}

static void pause_cb(void *ctx, double progress, uint32_t epoch)
{
    record *r = ctx;
    if (atomic_load(&r->inside) != 0 || r->npauses >= 16)
        r->bad = 1;
    else {
        r->progress[r->npauses] = progress;
        r->epoch[r->npauses++] = epoch;
    }
}

static void run(record *r, uint64_t units, const uint64_t *off, uint32_t epochs, int threads,
                uint64_t chunk, uint32_t evals)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->o = (wr_hogwild_opts){.units = units, .off = off, .epochs = epochs, .threads = threads,
                             .chunk = chunk, .schedule = WR_LR_LINEAR, .lr = 0.1,
                             .min_lr = 0.001, .evals = evals, .step = step,
                             .pause = evals ? pause_cb : NULL, .ctx = r};
    hogwild_run(&r->o);
    pthread_mutex_destroy(&r->lock);
}

/* Units of weight 1..5 in turn: off[u] = their running sum. */
static const uint64_t *ragged(void)
{
    static uint64_t off[MAX_UNITS + 1];
    for (uint32_t u = 0; u < MAX_UNITS; u++)
        off[u + 1] = off[u] + 1 + u % 5;
    return off;
}

static void test_coverage_and_pauses(void **state)
{
    (void)state;
    static const struct {
        uint64_t units;
        int weighted, threads;
        uint32_t epochs;
        uint64_t chunk;
        uint32_t evals;
    } cases[] = {
        {10, 0, 1, 1, 1, 0},  {10, 0, 1, 3, 4, 4},  {64, 1, 1, 2, 16, 5},
        {64, 1, 3, 3, 8, 7},  {64, 0, 2, 1, 100, 3}, {3, 0, 8, 2, 1, 2},
        {1, 1, 2, 4, 0, 10},  {37, 1, 2, 5, 7, 1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        static record r;
        const uint64_t *off = cases[t].weighted ? ragged() : NULL;
        run(&r, cases[t].units, off, cases[t].epochs, cases[t].threads, cases[t].chunk,
            cases[t].evals);
        assert_false(r.bad);
        int workers = hogwild_workers(&r.o);
        assert_true(workers >= 1 && (uint64_t)workers <= cases[t].units);
        for (uint64_t u = 0; u < cases[t].units; u++)
            assert_int_equal(r.seen[u], cases[t].epochs);
        /* the pauses: evenly spread, the last at the end, with their epochs */
        assert_int_equal(r.npauses, cases[t].evals);
        for (uint32_t j = 0; j < r.npauses; j++) {
            assert_true(fabs(r.progress[j] - (j + 1.0) / cases[t].evals) < 1e-12);
            assert_int_equal(r.epoch[j],
                             ((j + 1) * cases[t].epochs + cases[t].evals - 1) / cases[t].evals);
        }
        /* a chunk reaches the chunk weight unless its slice or an evaluation point ends it */
        for (uint32_t i = 0; i < r.ncalls; i++) {
            const wr_hogwild_chunk *c = &r.call[i];
            uint64_t w = weight(&r.o, c->u0, c->u1);
            uint64_t without_last = weight(&r.o, c->u0, c->u1 - 1);
            assert_true(without_last < (cases[t].chunk ? cases[t].chunk : 1));
            if (!cases[t].evals && c->u1 < c->slice1)
                assert_true(w >= cases[t].chunk);
        }
    }
}

/* One thread: the chunks in order, each epoch starting at in_epoch 0, and the same calls
 * twice. */
static void test_one_thread_order(void **state)
{
    (void)state;
    static record a, b;
    run(&a, 64, ragged(), 3, 1, 10, 4);
    run(&b, 64, ragged(), 3, 1, 10, 4);
    assert_int_equal(a.ncalls, b.ncalls);
    assert_memory_equal(a.call, b.call, a.ncalls * sizeof a.call[0]);
    uint64_t global = 0;
    for (uint32_t i = 0; i < a.ncalls; i++) {
        const wr_hogwild_chunk *c = &a.call[i];
        assert_int_equal(c->worker, 0);
        assert_int_equal(c->global, global); /* one thread: nothing is unreported */
        if (i == 0 || c->epoch != a.call[i - 1].epoch) {
            assert_int_equal(c->u0, 0);
            assert_int_equal(c->in_epoch, 0);
        } else {
            assert_int_equal(c->u0, a.call[i - 1].u1);
        }
        global += weight(&a.o, c->u0, c->u1);
    }
    assert_int_equal(global, 3 * ragged()[64]);
}

/* The schedules: linear from lr over the whole run, cosine restarting each epoch. */
static void test_learning_rate(void **state)
{
    (void)state;
    wr_hogwild_opts o = {.units = 10, .epochs = 2, .lr = 0.5, .min_lr = 0.1};
    wr_hogwild_chunk c = {.slice0 = 0, .slice1 = 10, .slice = 10};
    static const struct {
        int schedule;
        uint64_t global, in_epoch, offset;
        double want;
    } cases[] = {
        {WR_LR_LINEAR, 0, 0, 0, 0.5},     {WR_LR_LINEAR, 10, 0, 0, 0.3},
        {WR_LR_LINEAR, 15, 5, 5, 0.1},    {WR_LR_LINEAR, 30, 0, 0, 0.1},
        {WR_LR_COSINE, 0, 0, 0, 0.5},     {WR_LR_COSINE, 7, 5, 0, 0.3},
        {WR_LR_COSINE, 10, 0, 0, 0.5},    {WR_LR_COSINE, 12, 2, 3, 0.3},
        {WR_LR_COSINE, 19, 10, 0, 0.1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        o.schedule = cases[t].schedule;
        c.global = cases[t].global;
        c.in_epoch = cases[t].in_epoch;
        assert_true(fabs(hogwild_lr(&o, &c, cases[t].offset) - cases[t].want) < 1e-6);
    }
}

int main(void)
{
    wr_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coverage_and_pauses),
        cmocka_unit_test(test_one_thread_order),
        cmocka_unit_test(test_learning_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
