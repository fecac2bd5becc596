/* pool.h - a fixed set of threads that run queued jobs, with a bounded queue.
 *
 * walkrecd runs requests that need an exact scan, or that answer many neighbours, here
 * rather than on the HTTP threads, so that an HTTP thread never spends long on one request
 * and cheap reads keep flowing (http.c). The bound is the point: `threads` jobs run and
 * `queue` more wait; a caller that finds every place taken is told so at once and answers
 * 503, rather than queueing without end.
 *
 * A place is taken first (pool_reserve) and filled afterwards (pool_submit), so that a
 * caller can get ready for the job's completion (http.c suspends the connection) knowing
 * the job will be accepted. Any thread. */
#ifndef WALKREC_POOL_H
#define WALKREC_POOL_H

typedef struct wr_pool wr_pool;

/* Starts `threads` (>= 1) threads; at most `queue` jobs wait beside the running ones.
 * Aborts when a thread cannot be started, like xmalloc. Free with pool_stop(). */
wr_pool *pool_start(unsigned threads, unsigned queue);
/* Takes a place for one job: 0, or -1 when threads + queue jobs are running or waiting, or
 * the pool is stopping. */
int pool_reserve(wr_pool *p);
/* Queues fn(arg) into a place taken by pool_reserve (it cannot fail); jobs start in the
 * order they were submitted. */
void pool_submit(wr_pool *p, void (*fn)(void *arg), void *arg);
/* Takes no more jobs, runs every job submitted (and waits for every place reserved to be
 * submitted), then stops the threads. NULL is fine. Not from a job. */
void pool_stop(wr_pool *p);
/* Frees a stopped pool (NULL is fine); pool_reserve may be called until then. */
void pool_free(wr_pool *p);

#endif
