/* hogwild.c - the epoch driver of the Hogwild trainers (hogwild.h).
 *
 * Worker t owns the units [slice0, slice1): cut so that each slice holds about 1/n of the
 * total weight, the last one taking what is left. Each epoch the worker walks its slice in
 * chunks: units are added until the chunk reaches `chunk` weight, the slice ends or the
 * worker reaches its next evaluation point (its share j/evals of its own weight over all
 * epochs, rounded up, the last point exactly at its end), so that points fall on unit
 * boundaries. After a chunk the worker adds its weight to the shared counter (the linear
 * schedule's clock) and to the progress line, then waits at a barrier for every point it
 * has passed; the barrier's serial thread calls pause() and a second barrier releases
 * everyone. A worker whose slice is over keeps meeting the barrier until the last point.
 * Nothing here is shared but the counter, the progress line and the barrier. */
#include "walkrec/hogwild.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "walkrec/progress.h"
#include "walkrec/util.h"

typedef struct run run;

typedef struct worker {
    run *r;
    int id;
    pthread_t tid;
    uint64_t u0, u1, slice; /* units [u0, u1) weighing `slice` */
    uint32_t evals_done;
} worker;

struct run {
    const wr_hogwild_opts *o;
    _Atomic uint64_t done;  /* weight done by all workers */
    wr_progress prog;
    pthread_barrier_t barrier;
};

static uint64_t weight_at(const wr_hogwild_opts *o, uint64_t u)
{
    return o->off ? o->off[u] : u;
}

int hogwild_workers(const wr_hogwild_opts *o)
{
    int n = o->threads > 0 ? o->threads : wr_cpu_count();
    if ((uint64_t)n > o->units)
        n = (int)o->units;
    return n > 0 ? n : 1;
}

float hogwild_lr(const wr_hogwild_opts *o, const wr_hogwild_chunk *c, uint64_t offset)
{
    double f;
    if (o->schedule == WR_LR_COSINE) {
        f = c->slice ? (double)(c->in_epoch + offset) / (double)c->slice : 1;
        return (float)(o->min_lr + 0.5 * (o->lr - o->min_lr) * (1 + cos(M_PI * (f < 1 ? f : 1))));
    }
    f = (double)(c->global + offset) / (double)(weight_at(o, o->units) * o->epochs);
    return (float)(o->lr - (o->lr - o->min_lr) * (f < 1 ? f : 1));
}

static int evaluating(const wr_hogwild_opts *o) { return o->pause && o->evals; }

/* Weight this worker has done at its j-th evaluation point. */
static uint64_t eval_point(const worker *w, uint32_t j)
{
    const wr_hogwild_opts *o = w->r->o;
    uint64_t mine = w->slice * o->epochs, e = o->evals;
    return j == e ? mine : (uint64_t)ceil((double)mine * j / (double)e);
}

/* Every worker stops at each point it has reached; one of them evaluates. */
static void eval_until(worker *w, uint64_t local)
{
    run *r = w->r;
    const wr_hogwild_opts *o = r->o;
    while (evaluating(o) && w->evals_done < o->evals &&
           local >= eval_point(w, w->evals_done + 1)) {
        uint32_t j = ++w->evals_done;
        if (pthread_barrier_wait(&r->barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
            uint32_t epoch = (uint32_t)(((uint64_t)j * o->epochs + o->evals - 1) / o->evals);
            o->pause(o->ctx, (double)j / o->evals, epoch);
        }
        pthread_barrier_wait(&r->barrier);
    }
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    run *r = w->r;
    const wr_hogwild_opts *o = r->o;
    uint64_t local = 0, chunk = o->chunk ? o->chunk : 1;
    wr_hogwild_chunk c = {.worker = w->id, .slice0 = w->u0, .slice1 = w->u1,
                          .slice = w->slice};
    for (uint32_t e = 0; e < o->epochs; e++) {
        uint64_t u = w->u0, in_epoch = 0;
        while (u < w->u1) {
            uint64_t limit = UINT64_MAX, n = 0, u1 = u;
            if (evaluating(o) && w->evals_done < o->evals)
                limit = eval_point(w, w->evals_done + 1) - local;
            do {
                n += weight_at(o, u1 + 1) - weight_at(o, u1);
                u1++;
            } while (u1 < w->u1 && n < chunk && n < limit);
            c.epoch = e;
            c.u0 = u;
            c.u1 = u1;
            c.global = atomic_load_explicit(&r->done, memory_order_relaxed);
            c.in_epoch = in_epoch;
            o->step(o->ctx, &c);
            u = u1;
            local += n;
            in_epoch += n;
            atomic_fetch_add_explicit(&r->done, n, memory_order_relaxed);
            progress_add(&r->prog, n);
            eval_until(w, local);
        }
    }
    eval_until(w, UINT64_MAX);
    return NULL;
}

/* Contiguous slices of about the same weight. */
static void slice_units(const wr_hogwild_opts *o, worker *w, int n)
{
    uint64_t u = 0, total = weight_at(o, o->units);
    for (int t = 0; t < n; t++) {
        uint64_t end = t == n - 1 ? total : total / (uint64_t)n * (uint64_t)(t + 1);
        w[t].u0 = u;
        while (u < o->units && weight_at(o, u + 1) <= end)
            u++;
        if (t == n - 1)
            u = o->units;
        w[t].u1 = u;
        w[t].slice = weight_at(o, u) - weight_at(o, w[t].u0);
    }
}

void hogwild_run(const wr_hogwild_opts *o)
{
    int n = hogwild_workers(o);
    run r = {.o = o};
    atomic_init(&r.done, 0);
    worker *w = xcalloc((size_t)n, sizeof *w);
    slice_units(o, w, n);
    for (int t = 0; t < n; t++) {
        w[t].r = &r;
        w[t].id = t;
    }
    if (evaluating(o))
        pthread_barrier_init(&r.barrier, NULL, (unsigned)n);
    progress_start(&r.prog, o->what ? o->what : "training", o->unit ? o->unit : "units",
                   weight_at(o, o->units) * o->epochs);
    for (int t = 1; t < n; t++)
        if (pthread_create(&w[t].tid, NULL, worker_run, &w[t]))
            abort();
    worker_run(&w[0]);
    for (int t = 1; t < n; t++)
        pthread_join(w[t].tid, NULL);
    progress_end(&r.prog, o->extra);
    if (evaluating(o))
        pthread_barrier_destroy(&r.barrier);
    free(w);
}
