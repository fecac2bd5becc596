/* graph.c - CSR item graph from a merged pair set, with a Vose alias table per row.
 *
 * Two passes over the pairs (count degrees, then scatter arcs) place every arc; rows come
 * out sorted when the pairs are sorted (as pairs_merge leaves them) and are sorted here
 * otherwise. The alias tables are built per row on worker threads. */
#include "walkrec/graph.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Below this many arcs a thread costs more than it saves. */
#define PARALLEL_MIN_ARCS 200000
#define MAX_THREADS 256

typedef struct arc {
    uint32_t v;
    float w;
} arc;

static int arc_cmp(const void *x, const void *y)
{
    uint32_t a = ((const arc *)x)->v, b = ((const arc *)y)->v;
    return (a > b) - (a < b);
}

typedef struct row_job {
    wr_graph *g;
    uint32_t lo, hi; /* rows [lo, hi) */
} row_job;

static uint32_t max_degree(const wr_graph *g, uint32_t lo, uint32_t hi)
{
    uint32_t mx = 0;
    for (uint32_t u = lo; u < hi; u++)
        if (graph_degree(g, u) > mx)
            mx = graph_degree(g, u);
    return mx;
}

static int row_sorted(const uint32_t *a, uint32_t d)
{
    for (uint32_t i = 1; i < d; i++)
        if (a[i] < a[i - 1])
            return 0;
    return 1;
}

static void sort_row(wr_graph *g, uint64_t o, uint32_t d, arc *tmp)
{
    if (row_sorted(g->adj + o, d))
        return;
    for (uint32_t i = 0; i < d; i++)
        tmp[i] = (arc){g->adj[o + i], g->w[o + i]};
    qsort(tmp, d, sizeof *tmp, arc_cmp);
    for (uint32_t i = 0; i < d; i++) {
        g->adj[o + i] = tmp[i].v;
        g->w[o + i] = tmp[i].w;
    }
}

static void *rows_worker(void *arg)
{
    row_job *j = arg;
    wr_graph *g = j->g;
    uint32_t mx = max_degree(g, j->lo, j->hi);
    double *q = xmalloc((size_t)mx * sizeof *q);
    uint32_t *work = xmalloc((size_t)mx * sizeof *work);
    arc *tmp = xmalloc((size_t)mx * sizeof *tmp);
    for (uint32_t u = j->lo; u < j->hi; u++) {
        uint64_t o = g->off[u];
        uint32_t d = graph_degree(g, u);
        if (d == 0)
            continue;
        sort_row(g, o, d, tmp);
        alias_build(g->w + o, d, g->cell + o, q, work);
        for (uint32_t k = 0; k < d; k++) /* row-local alias -> node */
            g->cell[o + k].alias = g->adj[o + g->cell[o + k].alias];
    }
    free(q);
    free(work);
    free(tmp);
    return NULL;
}

/* Splits the rows into nt ranges of about equal work (arcs plus a little per row). */
static void split_rows(const wr_graph *g, int nt, row_job *jobs)
{
    uint64_t total = g->m + g->n, per = total / (uint64_t)nt + 1;
    uint32_t u = 0;
    for (int t = 0; t < nt; t++) {
        jobs[t].g = (wr_graph *)g;
        jobs[t].lo = u;
        uint64_t goal = per * (uint64_t)(t + 1);
        if (t == nt - 1)
            u = g->n;
        else
            while (u < g->n && g->off[u + 1] + u + 1 <= goal)
                u++;
        jobs[t].hi = u;
    }
}

static int check_pairs(const wr_pairs *p, uint32_t n, wr_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        if (e->a >= n || e->b >= n)
            return wr_fail(err, "graph: pair %zu names item index %u beyond the %u ids", i,
                           e->a >= n ? e->a : e->b, n);
        if (e->a == e->b)
            return wr_fail(err, "graph: pair %zu joins item %u to itself", i, e->a);
        if (!(isfinite(e->w) && e->w > 0))
            return wr_fail(err, "graph: pair %zu has weight %g (must be finite and > 0)", i,
                           (double)e->w);
    }
    return 0;
}

int graph_build(wr_graph *g, const wr_pairs *p, int threads, wr_err *err)
{
    memset(g, 0, sizeof *g);
    uint32_t n = p->ids ? dict_size(p->ids) : 0;
    if (check_pairs(p, n, err) < 0)
        return -1;
    g->n = n;
    g->m = 2 * (uint64_t)p->n;
    g->off = xcalloc((size_t)n + 1, sizeof *g->off);
    for (size_t i = 0; i < p->n; i++) {
        g->off[p->v[i].a + 1]++;
        g->off[p->v[i].b + 1]++;
    }
    for (uint32_t u = 0; u < n; u++)
        g->off[u + 1] += g->off[u];
    g->adj = xmalloc(g->m * sizeof *g->adj);
    g->w = xmalloc(g->m * sizeof *g->w);
    g->cell = xmalloc(g->m * sizeof *g->cell);
    /* off[u] serves as row u's cursor, so afterwards it holds the start of row u + 1. */
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        uint64_t ka = g->off[e->a]++, kb = g->off[e->b]++;
        g->adj[ka] = e->b;
        g->w[ka] = e->w;
        g->adj[kb] = e->a;
        g->w[kb] = e->w;
    }
    memmove(g->off + 1, g->off, (size_t)n * sizeof *g->off);
    g->off[0] = 0;

    int nt = threads > 0 ? threads : wr_cpu_count();
    if (nt > MAX_THREADS)
        nt = MAX_THREADS;
    if (g->m < PARALLEL_MIN_ARCS)
        nt = 1;
    row_job *jobs = xmalloc((size_t)nt * sizeof *jobs);
    pthread_t *tid = xmalloc((size_t)nt * sizeof *tid);
    int *started = xcalloc((size_t)nt, sizeof *started);
    split_rows(g, nt, jobs);
    /* A thread that cannot be started leaves its rows to this one. */
    for (int t = 1; t < nt; t++)
        started[t] = pthread_create(&tid[t], NULL, rows_worker, &jobs[t]) == 0;
    rows_worker(&jobs[0]);
    for (int t = 1; t < nt; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            rows_worker(&jobs[t]);
    free(jobs);
    free(tid);
    free(started);
    return 0;
}

void graph_free(wr_graph *g)
{
    free(g->off);
    free(g->adj);
    free(g->w);
    free(g->cell);
    memset(g, 0, sizeof *g);
}

int graph_has_edge(const wr_graph *g, uint32_t u, uint32_t v)
{
    const uint32_t *a = g->adj + g->off[u];
    uint32_t lo = 0, hi = graph_degree(g, u);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < graph_degree(g, u) && a[lo] == v;
}
