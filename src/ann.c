/* ann.c - approximate top-k lists for every row: spherical k-means cells, each cell's rows
 * against the rows of its nearest cells by knn_topk (ann.h). */
#include "walkrec/ann.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/calib.h"
#include "walkrec/knn.h"
#include "walkrec/progress.h"
#include "walkrec/rng.h"

#define ASSIGN_BLOCK 1024 /* rows per product block while assigning rows to cells */

void ann_default_opts(wr_ann_opts *o)
{
    *o = (wr_ann_opts){.probe = 8, .iterations = 10, .sample = 64, .seed = 7};
}

static uint32_t auto_cells(size_t n)
{
    double c = fmin(3 * sqrt((double)n), (double)n / 64);
    return c < 1 ? 1 : (uint32_t)c;
}

/* ---- k-means ---- */

typedef struct assign_job {
    const float *cent, *v;
    size_t ncell, n, dim;
    uint32_t *best;
    atomic_size_t next;
} assign_job;

/* The nearest centroid of each row, blocks of rows taken from a shared counter. */
static void *assign_worker(void *arg)
{
    assign_job *j = arg;
    float *s = xmalloc(ASSIGN_BLOCK * j->ncell * sizeof *s);
    for (size_t r0; (r0 = atomic_fetch_add(&j->next, ASSIGN_BLOCK)) < j->n;) {
        size_t nb = j->n - r0 < ASSIGN_BLOCK ? j->n - r0 : ASSIGN_BLOCK;
        knn_blas_enter();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)j->ncell,
                    (int)j->dim, 1, j->v + r0 * j->dim, (int)j->dim, j->cent, (int)j->dim, 0, s,
                    (int)j->ncell);
        knn_blas_leave();
        for (size_t i = 0; i < nb; i++) {
            const float *si = s + i * j->ncell;
            size_t b = 0;
            for (size_t c = 1; c < j->ncell; c++)
                if (si[c] > si[b])
                    b = c;
            j->best[r0 + i] = (uint32_t)b;
        }
    }
    free(s);
    return NULL;
}

static void assign(const float *cent, size_t ncell, const float *v, size_t n, size_t dim,
                   int threads, uint32_t *best)
{
    assign_job j = {.cent = cent, .v = v, .ncell = ncell, .n = n, .dim = dim, .best = best};
    atomic_init(&j.next, 0);
    wr_run_threads(assign_worker, &j, threads);
}

/* Centroids from a sample: the first ones are random sample rows, then `iterations` rounds
 * of assigning and re-centring (sums in double, in row order, so the result does not
 * depend on the thread count); an empty cell restarts from a random sample row. */
static void kmeans(const float *v, size_t n, size_t dim, size_t ncell, const wr_ann_opts *o,
                   int threads, float *cent)
{
    wr_rng rng;
    rng_seed(&rng, o->seed);
    size_t ns = (size_t)o->sample * ncell < n ? (size_t)o->sample * ncell : n;
    float *sample = xmalloc(ns * dim * sizeof *sample);
    for (size_t i = 0; i < ns; i++) {
        size_t r = ns == n ? i : rng_below(&rng, (uint32_t)n);
        memcpy(sample + i * dim, v + r * dim, dim * sizeof *sample);
    }
    for (size_t c = 0; c < ncell; c++)
        memcpy(cent + c * dim, sample + (size_t)rng_below(&rng, (uint32_t)ns) * dim,
               dim * sizeof *cent);
    uint32_t *best = xmalloc(ns * sizeof *best);
    double *sum = xmalloc(ncell * dim * sizeof *sum);
    size_t *count = xmalloc(ncell * sizeof *count);
    for (uint32_t it = 0; it < o->iterations; it++) {
        assign(cent, ncell, sample, ns, dim, threads, best);
        memset(sum, 0, ncell * dim * sizeof *sum);
        memset(count, 0, ncell * sizeof *count);
        for (size_t i = 0; i < ns; i++) {
            double *s = sum + (size_t)best[i] * dim;
            const float *x = sample + i * dim;
            count[best[i]]++;
            for (size_t d = 0; d < dim; d++)
                s[d] += x[d];
        }
        for (size_t c = 0; c < ncell; c++) {
            double *s = sum + c * dim, ss = 0;
            if (!count[c]) {
                const float *x = sample + (size_t)rng_below(&rng, (uint32_t)ns) * dim;
                for (size_t d = 0; d < dim; d++)
                    s[d] = x[d];
            }
            for (size_t d = 0; d < dim; d++)
                ss += s[d] * s[d];
            double inv = ss > 0 ? 1 / sqrt(ss) : 0;
            for (size_t d = 0; d < dim; d++)
                cent[c * dim + d] = (float)(s[d] * inv);
        }
    }
    free(sample);
    free(best);
    free(sum);
    free(count);
}

/* ---- lists, cell by cell ---- */

typedef struct ranked {
    float v;
    uint32_t row;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* The m rows the probability's terms other than the cosine favour most for a typical
 * query (mean log degree, mean cosine to the centre), highest first (equal: lower row
 * first): popularity, but also the distance from the centre that the hub term rewards,
 * wherever those rows lie. */
static uint32_t *most_popular(const wr_calib *c, const float *logdeg, size_t n, size_t m)
{
    double la = 0, ha = 0;
    for (size_t i = 0; i < n; i++)
        la += logdeg[i], ha += calib_hub(c, (uint32_t)i);
    la /= n ? (double)n : 1;
    ha /= n ? (double)n : 1;
    ranked *r = xmalloc((n ? n : 1) * sizeof *r);
    for (size_t i = 0; i < n; i++)
        r[i] = (ranked){(float)calib_logit(c, 0, la, logdeg[i], ha * calib_hub(c, (uint32_t)i)),
                        (uint32_t)i};
    qsort(r, n, sizeof *r, cmp_ranked);
    uint32_t *out = xmalloc((m ? m : 1) * sizeof *out);
    for (size_t i = 0; i < m; i++)
        out[i] = r[i].row;
    free(r);
    return out;
}

typedef struct lists_job {
    const float *vecs, *cent;
    size_t n, dim, k, ncell, probe;
    const size_t *start;   /* ncell + 1 offsets into rows */
    const uint32_t *rows;  /* rows grouped by cell */
    uint32_t *item;
    float *score;
    /* by probability (o->calib): */
    const wr_calib *calib;
    const float *logdeg;
    const uint32_t *popular, *cell_of; /* the popular rows; every row's cell */
    size_t npopular;
    atomic_size_t next;
    atomic_uint_fast64_t candidates;
    wr_progress progress;
} lists_job;

typedef struct same_ctx {
    const uint32_t *base_rows, *query_rows;
} same_ctx;

static int reject_same(size_t qi, uint32_t item, void *arg)
{
    const same_ctx *c = arg;
    return c->base_rows[item] == c->query_rows[qi];
}

static int cmp_hit(const void *a, const void *b)
{
    const wr_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* The `probe` cells whose centroids score highest against cell c's (c itself scores 1,
 * the most any unit vector can), best first, into probe[]; returns how many. */
static size_t nearest_cells(const lists_job *j, size_t c, float *cs, wr_hit *probe)
{
    knn_blas_enter();
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)j->ncell, (int)j->dim, 1, j->cent,
                (int)j->dim, j->cent + c * j->dim, 1, 0, cs, 1);
    knn_blas_leave();
    cs[c] = INFINITY;
    size_t np = 0;
    for (size_t d = 0; d < j->ncell; d++) {
        if (np == j->probe && !(cs[d] > probe[np - 1].score))
            continue;
        size_t i = np < j->probe ? np++ : np - 1;
        while (i > 0 && probe[i - 1].score < cs[d]) {
            probe[i] = probe[i - 1];
            i--;
        }
        probe[i] = (wr_hit){(uint32_t)d, cs[d]};
    }
    return np;
}

#define PQ 64    /* queries per product block */
#define PB 2048  /* candidates per product block */

/* The cell's nq rows (the first of base) against the nb candidates of base by the
 * calibrated logit, the best k of each kept in heaps (knn.h's), then written as rows best
 * first with their cosines. tile holds PQ x PB floats, heaps PQ x k hits, h k hits. */
static void by_probability(const lists_job *j, const float *base, const uint32_t *base_rows,
                           size_t nb, size_t nq, float *tile, wr_hit *heaps, wr_hit *h)
{
    size_t dim = j->dim, k = j->k, hn[PQ];
    float thr[PQ];
    for (size_t q0 = 0; q0 < nq; q0 += PQ) {
        size_t qb = nq - q0 < PQ ? nq - q0 : PQ;
        for (size_t i = 0; i < qb; i++) {
            hn[i] = 0;
            thr[i] = -INFINITY;
        }
        for (size_t b0 = 0; b0 < nb; b0 += PB) {
            size_t bb = nb - b0 < PB ? nb - b0 : PB;
            knn_blas_enter();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)bb, (int)dim,
                        1, base + q0 * dim, (int)dim, base + b0 * dim, (int)dim, 0, tile,
                        (int)bb);
            knn_blas_leave();
            for (size_t i = 0; i < qb; i++) {
                uint32_t q = base_rows[q0 + i];
                double la = j->logdeg[q], ha = calib_hub(j->calib, q);
                for (size_t b = 0; b < bb; b++) {
                    uint32_t item = base_rows[b0 + b];
                    if (item == q)
                        continue;
                    float z = (float)calib_logit(j->calib, tile[i * bb + b], la, j->logdeg[item],
                                                 ha * calib_hub(j->calib, item));
                    if (z > thr[i])
                        thr[i] = knn_heap_offer(heaps + i * k, &hn[i], k, (wr_hit){item, z});
                }
            }
        }
        for (size_t i = 0; i < qb; i++) {
            uint32_t q = base_rows[q0 + i];
            size_t at = (size_t)q * k;
            knn_heap_drain(heaps + i * k, hn[i], k, h);
            for (size_t r = 0; r < k; r++) {
                j->item[at + r] = h[r].item;
                float cos = -INFINITY;
                if (h[r].item != UINT32_MAX) {
                    const float *x = j->vecs + (size_t)q * dim, *y = j->vecs + (size_t)h[r].item * dim;
                    double s = 0;
                    for (size_t d = 0; d < dim; d++)
                        s += (double)x[d] * y[d];
                    cos = (float)s;
                }
                j->score[at + r] = cos;
            }
        }
    }
}

/* Whether cell d is among the np probed ones. */
static int probed(const wr_hit *probe, size_t np, uint32_t d)
{
    for (size_t p = 0; p < np; p++)
        if (probe[p].item == d)
            return 1;
    return 0;
}

static void *lists_worker(void *arg)
{
    lists_job *j = arg;
    size_t dim = j->dim, k = j->k, bcap = 0, hcap = 0;
    float *cs = xmalloc(j->ncell * sizeof *cs), *base = NULL;
    uint32_t *base_rows = NULL;
    wr_hit *probe = xmalloc(j->probe * sizeof *probe), *hits = NULL;
    /* the probability's blocks (512 KiB a thread; also without calibration, which keeps
     * the analyzer from following a NULL into by_probability) */
    float *tile = xmalloc_aligned(PQ * PB * sizeof *tile);
    wr_hit *heaps = xmalloc(PQ * k * sizeof *heaps);
    wr_hit *sorted = xmalloc(k * sizeof *sorted);
    for (size_t c; (c = atomic_fetch_add(&j->next, 1)) < j->ncell;) {
        size_t q0 = j->start[c], nq = j->start[c + 1] - q0, nb = 0;
        if (!nq)
            continue;
        size_t np = nearest_cells(j, c, cs, probe);
        for (size_t p = 0; p < np; p++)
            nb += j->start[probe[p].item + 1] - j->start[probe[p].item];
        nb += j->npopular; /* room for them; those in probed cells are not added twice */
        if (nb > bcap) {
            bcap = nb;
            base = xrealloc(base, bcap * dim * sizeof *base);
            base_rows = xrealloc(base_rows, bcap * sizeof *base_rows);
        }
        if (nq * k > hcap) {
            hcap = nq * k;
            hits = xrealloc(hits, hcap * sizeof *hits);
        }
        assert(base && base_rows && hits); /* nb >= nq > 0: the buffers exist */
        nb = 0;
        for (size_t p = 0; p < np; p++)
            for (size_t i = j->start[probe[p].item]; i < j->start[probe[p].item + 1]; i++) {
                base_rows[nb] = j->rows[i];
                memcpy(base + nb++ * dim, j->vecs + (size_t)j->rows[i] * dim,
                       dim * sizeof *base);
            }
        /* the cell's own rows come first in base (probe[0] is c): they are the queries */
        if (j->calib) {
            for (size_t p = 0; p < j->npopular; p++) {
                uint32_t r = j->popular[p];
                if (probed(probe, np, j->cell_of[r]))
                    continue;
                base_rows[nb] = r;
                memcpy(base + nb++ * dim, j->vecs + (size_t)r * dim, dim * sizeof *base);
            }
            by_probability(j, base, base_rows, nb, nq, tile, heaps, sorted);
            atomic_fetch_add(&j->candidates, (uint64_t)nq * (nb - 1));
            progress_add(&j->progress, nq);
            continue;
        }
        same_ctx sc = {base_rows, j->rows + q0};
        knn_topk(base, nb, dim, base, nq, k, reject_same, &sc, 1, hits);
        for (size_t q = 0; q < nq; q++) {
            wr_hit *h = hits + q * k;
            for (size_t i = 0; i < k; i++)
                if (h[i].item != UINT32_MAX)
                    h[i].item = base_rows[h[i].item];
            qsort(h, k, sizeof *h, cmp_hit); /* ties by row, not by place in base */
            size_t at = (size_t)j->rows[q0 + q] * k;
            for (size_t i = 0; i < k; i++) {
                j->item[at + i] = h[i].item;
                j->score[at + i] = h[i].score;
            }
        }
        atomic_fetch_add(&j->candidates, (uint64_t)nq * (nb - 1));
        progress_add(&j->progress, nq);
    }
    free(cs);
    free(base);
    free(base_rows);
    free(probe);
    free(hits);
    free(tile);
    free(heaps);
    free(sorted);
    return NULL;
}

int ann_topk_all(const float *vecs, size_t n, size_t dim, size_t k, const wr_ann_opts *o,
                 uint32_t *item, float *score, wr_ann_stats *st, wr_err *err)
{
    if (!n || !dim || !k || n >= UINT32_MAX || !o->probe || !o->iterations || !o->sample)
        return wr_fail(err, "approximate lists: need n, dim, k, probe, iterations and sample "
                            "above 0 (n %zu, dim %zu, k %zu)", n, dim, k);
    size_t ncell = o->cells ? o->cells : auto_cells(n);
    if (ncell > n)
        ncell = n;
    int threads = o->threads > 0 ? o->threads : wr_cpu_count();
    knn_blas_enter();
    openblas_set_num_threads(1); /* the products run in our threads, as in knn_topk */
    knn_blas_leave();
    float *cent = malloc(ncell * dim * sizeof *cent);
    uint32_t *best = malloc(n * sizeof *best), *rows = malloc(n * sizeof *rows);
    size_t *start = calloc(ncell + 1, sizeof *start);
    if (!cent || !best || !rows || !start) {
        free(cent);
        free(best);
        free(rows);
        free(start);
        return wr_fail(err, "out of memory for the approximate index (%zu items, %zu cells)",
                       n, ncell);
    }
    double t0 = wr_now();
    kmeans(vecs, n, dim, ncell, o, threads, cent);
    assign(cent, ncell, vecs, n, dim, threads, best);
    for (size_t i = 0; i < n; i++)
        start[best[i] + 1]++;
    for (size_t c = 0; c < ncell; c++)
        start[c + 1] += start[c];
    uint32_t *cell_of = NULL, *popular = NULL;
    size_t npopular = 0;
    if (o->calib) { /* which cell each row is in, and the most popular rows */
        cell_of = xmalloc(n * sizeof *cell_of);
        memcpy(cell_of, best, n * sizeof *cell_of);
        npopular = o->popular < n ? o->popular : n;
        popular = most_popular(o->calib, o->logdeg, n, npopular);
    }
    for (size_t i = 0; i < n; i++) /* best[] becomes each cell's fill position */
        rows[start[best[i]]++] = (uint32_t)i;
    for (size_t c = ncell; c > 0; c--)
        start[c] = start[c - 1];
    start[0] = 0;
    free(best);
    double t1 = wr_now();

    lists_job j = {.vecs = vecs, .cent = cent, .n = n, .dim = dim, .k = k, .ncell = ncell,
                   .probe = o->probe < ncell ? o->probe : ncell, .start = start, .rows = rows,
                   .item = item, .score = score, .calib = o->calib, .logdeg = o->logdeg,
                   .popular = popular, .cell_of = cell_of, .npopular = npopular};
    atomic_init(&j.next, 0);
    atomic_init(&j.candidates, 0);
    progress_start(&j.progress, "neighbour lists (approximate)", "items", n);
    wr_run_threads(lists_worker, &j, threads);
    progress_end(&j.progress, NULL);
    if (st)
        *st = (wr_ann_stats){.cells = (uint32_t)ncell, .probe = (uint32_t)j.probe,
                             .kmeans_seconds = t1 - t0, .lists_seconds = wr_now() - t1,
                             .candidates_mean = (double)atomic_load(&j.candidates) / (double)n,
                             .bytes = ncell * dim * sizeof *cent + n * sizeof *rows +
                                      (ncell + 1) * sizeof *start};
    free(cent);
    free(rows);
    free(start);
    free(cell_of);
    free(popular);
    return 0;
}
