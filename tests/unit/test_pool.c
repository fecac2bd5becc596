/* test_pool.c - the bounded pool: places taken up to threads + queue and given back as jobs
 * end, jobs in submission order, stopping runs what is queued and takes nothing more. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "walkrec/pool.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int gate_open, order[64], ran;

/* A job that waits for the gate, then records its number. */
static void job(void *arg)
{
    pthread_mutex_lock(&mu);
    while (!gate_open)
        pthread_cond_wait(&cv, &mu);
    order[ran++] = (int)(intptr_t)arg;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void set_gate(int open)
{
    pthread_mutex_lock(&mu);
    gate_open = open;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void wait_ran(int n)
{
    pthread_mutex_lock(&mu);
    while (ran < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void test_places(void **state)
{
    (void)state;
    static const struct {
        unsigned threads, queue;
    } cases[] = {{1, 0}, {1, 2}, {2, 3}, {4, 8}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned places = cases[c].threads + cases[c].queue;
        wr_pool *p = pool_start(cases[c].threads, cases[c].queue);
        ran = 0;
        set_gate(0);
        for (unsigned i = 0; i < places; i++) {
            assert_int_equal(pool_reserve(p), 0);
            pool_submit(p, job, (void *)(intptr_t)i);
        }
        assert_int_equal(pool_reserve(p), -1); /* every place taken: refused at once */
        set_gate(1);
        wait_ran((int)places);
        if (cases[c].threads == 1)
            for (unsigned i = 0; i < places; i++)
                assert_int_equal(order[i], (int)i); /* one thread: submission order */
        /* the places come back as the jobs end */
        for (int tries = 0; pool_reserve(p) < 0; tries++) {
            assert_true(tries < 10000);
            nanosleep(&(struct timespec){0, 100000}, NULL);
        }
        pool_submit(p, job, (void *)(intptr_t)places);
        wait_ran((int)places + 1);
        pool_stop(p);
        pool_free(p);
    }
}

static void test_stop_runs_the_queue(void **state)
{
    (void)state;
    wr_pool *p = pool_start(1, 5);
    ran = 0;
    set_gate(0);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pool_reserve(p), 0);
        pool_submit(p, job, (void *)(intptr_t)i);
    }
    set_gate(1);
    pool_stop(p); /* returns once all six ran */
    assert_int_equal(ran, 6);
    assert_int_equal(pool_reserve(p), -1); /* stopped: nothing more */
    pool_free(p);
    pool_stop(NULL);
    pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_places),
        cmocka_unit_test(test_stop_runs_the_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
