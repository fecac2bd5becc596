/* pool.c - worker threads over a bounded FIFO of jobs (pool.h).
 *
 * One mutex guards the queue (a ring of threads + queue slots, enough for every place that
 * can be taken) and the count of places taken; a job gives its place back when it ends.
 * Workers sleep on one condition variable; pool_stop sets `stop` and they leave once the
 * ring is empty and no place is held by a job yet to be submitted. */
#include "walkrec/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "walkrec/util.h"

typedef struct job {
    void (*fn)(void *);
    void *arg;
} job;

struct wr_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned nthreads, places; /* places = threads + queue */
    unsigned taken;            /* reserved, queued or running */
    job *ring;
    unsigned head, len;        /* queued jobs: ring[head .. head+len) mod places */
    int stop;
    pthread_t *tid;
};

static void *worker(void *arg)
{
    wr_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->len && !(p->stop && !p->taken))
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->len)
            break;
        job j = p->ring[p->head];
        p->head = (p->head + 1) % p->places;
        p->len--;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&p->mu);
        p->taken--;
        if (p->stop && !p->taken)
            pthread_cond_broadcast(&p->cv); /* the others may leave too */
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

wr_pool *pool_start(unsigned threads, unsigned queue)
{
    wr_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->nthreads = threads ? threads : 1;
    p->places = p->nthreads + queue;
    p->ring = xcalloc(p->places, sizeof *p->ring);
    p->tid = xcalloc(p->nthreads, sizeof *p->tid);
    for (unsigned i = 0; i < p->nthreads; i++)
        if (pthread_create(&p->tid[i], NULL, worker, p)) {
            fprintf(stderr, "walkrec: cannot start a thread\n");
            abort();
        }
    return p;
}

int pool_reserve(wr_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int ok = !p->stop && p->taken < p->places;
    p->taken += ok;
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -1;
}

void pool_submit(wr_pool *p, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->ring[(p->head + p->len) % p->places] = (job){fn, arg};
    p->len++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void pool_stop(wr_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->tid[i], NULL);
}

void pool_free(wr_pool *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->ring);
    free(p->tid);
    free(p);
}
