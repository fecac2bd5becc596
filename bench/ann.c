/* ann.c - the approximate neighbour index against exact top-k on a model file; driven by
 * bench/ann.sh, one measurement per process so that each peak RSS is its own.
 *
 *   bench-ann truth MODEL QUERIES THREADS OUT      exact top-100 of QUERIES rows spread over
 *                                                  the catalogue (knn_topk), saved to OUT
 *   bench-ann hnsw MODEL TRUTH M EFC THREADS EF... the graph alone: build time, memory,
 *                                                  then per ef recall@10/@100 and latency
 *   bench-ann index MODEL TRUTH M EFC EF K THREADS index_build above exact_max_items, as
 *                                                  walkrecd does it: lists' recall, times
 *   bench-ann ivf MODEL TRUTH NLIST THREADS K LISTP NPROBE...  an IVF prototype: spherical
 *                                                  k-means centroids and list scans as
 *                                                  OpenBLAS products, recall@10 and latency
 *                                                  per NPROBE; then (K > 0) every item's top
 *                                                  K in batches, probing LISTP lists
 * Latencies are one query at a time on one thread. Needs index.c (daemon code), so
 * ann.sh compiles this file with it against the build's libwalkrec.a. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/ann.h"
#include "walkrec/index.h"
#include "walkrec/knn.h"
#include "walkrec/model.h"

#define TRUTH_K 100

typedef struct truth {
    uint32_t nq, k;
    uint32_t *rows;
    wr_hit *hits; /* nq x k, best first */
} truth;

static void fail(const wr_err *e)
{
    fprintf(stderr, "bench-ann: %s\n", e->msg);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-ann truth|hnsw|index|ivf MODEL ... (see bench/ann.c)\n");
    exit(2);
}

static wr_model *load_unit(const char *path)
{
    wr_err err;
    wr_model *m = model_load(path, &err);
    if (!m)
        fail(&err);
    for (size_t i = 0; i < m->n; i++) {
        float *r = m->vecs + i * m->dim;
        double ss = 0;
        for (size_t j = 0; j < m->dim; j++)
            ss += (double)r[j] * r[j];
        float inv = ss > 0 ? (float)(1 / sqrt(ss)) : 0;
        for (size_t j = 0; j < m->dim; j++)
            r[j] *= inv;
    }
    return m;
}

static void loadavg(const char *when)
{
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            strcpy(buf, "?\n");
        fclose(f);
    }
    printf("load average %s: %s", when, buf);
}

static int reject_row(size_t qi, uint32_t item, void *ctx)
{
    return item == ((const uint32_t *)ctx)[qi];
}

static void cmd_truth(char **a)
{
    wr_model *m = load_unit(a[0]);
    uint32_t nq = (uint32_t)atoi(a[1]);
    int threads = atoi(a[2]);
    if (nq > m->n)
        nq = m->n;
    truth t = {nq, TRUTH_K, malloc(nq * sizeof(uint32_t)), malloc((size_t)nq * TRUTH_K *
                                                                    sizeof(wr_hit))};
    float *q = malloc((size_t)nq * m->dim * sizeof *q);
    wr_rng rng;
    rng_seed(&rng, 12345);
    for (size_t i = 0; i < nq; i++) {
        size_t lo = i * m->n / nq, hi = (i + 1) * m->n / nq;
        t.rows[i] = (uint32_t)(lo + rng_below(&rng, (uint32_t)(hi - lo)));
        memcpy(q + i * m->dim, m->vecs + (size_t)t.rows[i] * m->dim, m->dim * sizeof *q);
    }
    double t0 = wr_now();
    knn_topk(m->vecs, m->n, m->dim, q, nq, TRUTH_K, reject_row, t.rows, threads, t.hits);
    double el = wr_now() - t0;
    printf("exact top-%d of %u queries over %u x %u, %d threads: %.2f s (%.2f ms per query); "
           "all %u lists at this rate: %.0f s\n", TRUTH_K, nq, m->n, m->dim, threads, el,
           el / nq * 1e3, m->n, el / nq * m->n);
    FILE *f = fopen(a[3], "wb");
    if (!f || fwrite(&t, sizeof(uint32_t), 2, f) != 2 ||
        fwrite(t.rows, sizeof *t.rows, nq, f) != nq ||
        fwrite(t.hits, sizeof *t.hits, (size_t)nq * TRUTH_K, f) != (size_t)nq * TRUTH_K ||
        fclose(f)) {
        fprintf(stderr, "bench-ann: cannot write %s\n", a[3]);
        exit(1);
    }
    free(q);
    model_free(m);
}

static truth read_truth(const char *path)
{
    truth t;
    FILE *f = fopen(path, "rb");
    if (!f || fread(&t, sizeof(uint32_t), 2, f) != 2) {
        fprintf(stderr, "bench-ann: cannot read %s\n", path);
        exit(1);
    }
    t.rows = malloc(t.nq * sizeof *t.rows);
    t.hits = malloc((size_t)t.nq * t.k * sizeof *t.hits);
    if (fread(t.rows, sizeof *t.rows, t.nq, f) != t.nq ||
        fread(t.hits, sizeof *t.hits, (size_t)t.nq * t.k, f) != (size_t)t.nq * t.k) {
        fprintf(stderr, "bench-ann: %s is short\n", path);
        exit(1);
    }
    fclose(f);
    return t;
}

/* Share of query i's true k best found among got[0..k). */
static size_t found(const truth *t, size_t i, const wr_hit *got, size_t ngot, size_t k)
{
    size_t n = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < ngot && b < k; b++)
            if (got[b].item == t->hits[i * t->k + a].item) {
                n++;
                break;
            }
    return n;
}

/* Of got[0..10), how many score within TIE of query i's true 10th best: near-duplicate
 * items tie to the fourth decimal in trained embeddings, and which of them an answer
 * holds does not matter to a shopper. Reported beside the strict recall@10, never for it. */
#define TIE 1e-4f
static size_t near(const truth *t, size_t i, const wr_hit *got, size_t ngot)
{
    size_t n = 0;
    for (size_t b = 0; b < ngot && b < 10; b++)
        n += got[b].score >= t->hits[i * t->k + 9].score - TIE;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* mean, p50 and p99 of nq latencies (seconds), in ms */
static void latency(double *lat, size_t nq, char *out, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < nq; i++)
        sum += lat[i];
    qsort(lat, nq, sizeof *lat, cmp_double);
    snprintf(out, n, "mean %.3f ms, p50 %.3f ms, p99 %.3f ms", sum / nq * 1e3,
             lat[nq / 2] * 1e3, lat[nq * 99 / 100] * 1e3);
}

static void cmd_hnsw(char **a, int na)
{
    wr_model *m = load_unit(a[0]);
    truth t = read_truth(a[1]);
    wr_ann_opts o;
    wr_err err;
    ann_default_opts(&o);
    o.m = (uint32_t)atoi(a[2]);
    o.ef_construction = (uint32_t)atoi(a[3]);
    o.threads = atoi(a[4]);
    size_t before = wr_peak_rss_kib();
    double t0 = wr_now();
    wr_ann *ann = ann_build(m->vecs, m->n, m->dim, &o, &err);
    if (!ann)
        fail(&err);
    double el = wr_now() - t0;
    printf("hnsw m %u ef_construction %u: graph of %u items in %.1f s with %d threads, "
           "%.0f MiB (ann_memory); peak RSS %.0f MiB (%.0f MiB before the graph)\n", o.m,
           o.ef_construction, m->n, el, o.threads, ann_memory(ann) / 1048576.0,
           wr_peak_rss_kib() / 1024.0, before / 1024.0);
    wr_hit *got = malloc(TRUTH_K * sizeof *got);
    double *lat = malloc(t.nq * sizeof *lat);
    for (int e = 5; e < na; e++) {
        size_t ef = (size_t)atoi(a[e]), f10 = 0, f100 = 0, poor = 0, tie = 0;
        for (size_t i = 0; i < t.nq; i++) {
            double q0 = wr_now();
            long n = ann_search_row(ann, t.rows[i], 10, ef, got, &err);
            lat[i] = wr_now() - q0;
            if (n < 0)
                fail(&err);
            size_t f = found(&t, i, got, (size_t)n, 10);
            f10 += f;
            tie += near(&t, i, got, (size_t)n);
            poor += f <= 5;
            if (ef >= TRUTH_K) {
                n = ann_search_row(ann, t.rows[i], TRUTH_K, ef, got, &err);
                if (n < 0)
                    fail(&err);
                f100 += found(&t, i, got, (size_t)n, TRUTH_K);
            }
        }
        char l[128];
        latency(lat, t.nq, l, sizeof l);
        printf("  ef %4zu: recall@10 %.4f (%zu queries found 5 or fewer; %.4f within %g of the "
               "10th)", ef, (double)f10 / (t.nq * 10.0), poor, (double)tie / (t.nq * 10.0),
               (double)TIE);
        if (ef >= TRUTH_K)
            printf(", recall@100 %.4f", (double)f100 / ((double)t.nq * TRUTH_K));
        printf("; k=10 query %s\n", l);
    }
    ann_free(ann);
    free(got);
    free(lat);
    model_free(m);
}

static void cmd_index(char **a)
{
    wr_err err;
    wr_model *m = model_load(a[0], &err);
    if (!m)
        fail(&err);
    truth t = read_truth(a[1]);
    wr_index_opts o;
    index_default_opts(&o);
    o.ann_m = (uint32_t)atoi(a[2]);
    o.ann_ef_construction = (uint32_t)atoi(a[3]);
    o.ann_ef_search = (uint32_t)atoi(a[4]);
    o.k = (uint32_t)atoi(a[5]);
    o.threads = atoi(a[6]);
    o.exact_max_items = 0;
    uint32_t n = m->n;
    double t0 = wr_now();
    wr_index *ix = index_build(m, 1, a[0], &o, &err);
    if (!ix)
        fail(&err);
    double el = wr_now() - t0;
    const wr_index_info *in = index_info(ix);
    printf("index_build (%s, k %u, m %u, ef_construction %u, ef_search %u, %d threads): "
           "%.1f s in all; graph %.1f s (%.0f MiB), lists %.1f s, recall check %.1f s; "
           "index_build's own recall@10 %.4f over %u items; peak RSS %.0f MiB\n", in->kind,
           in->k, in->ann_m, in->ann_ef_construction, in->ann_ef_search, o.threads, el,
           in->ann_graph_seconds, in->ann_bytes / 1048576.0,
           in->build_seconds - in->ann_graph_seconds, el - in->build_seconds,
           in->recall_at_10, in->recall_sample, wr_peak_rss_kib() / 1024.0);
    size_t kk = in->k < TRUTH_K ? in->k : TRUTH_K, f10 = 0, fk = 0, tie = 0;
    wr_filter none = index_filter_none();
    wr_hit *got = malloc(kk * sizeof *got);
    double *lat = malloc(t.nq * sizeof *lat);
    for (size_t i = 0; i < t.nq; i++) {
        double q0 = wr_now();
        size_t g = index_neighbors(ix, t.rows[i], 10, &none, got);
        lat[i] = wr_now() - q0;
        f10 += found(&t, i, got, g, 10);
        tie += near(&t, i, got, g);
        g = index_neighbors(ix, t.rows[i], kk, &none, got);
        fk += found(&t, i, got, g, kk);
    }
    char l[128];
    latency(lat, t.nq, l, sizeof l);
    printf("  lists against the %u exact queries: recall@10 %.4f (%.4f within %g of the "
           "10th), recall@%zu %.4f; k=10 from the lists %s (%u items)\n", t.nq,
           (double)f10 / (t.nq * 10.0), (double)tie / (t.nq * 10.0), (double)TIE, kk,
           (double)fk / ((double)t.nq * kk), l, n);
    free(got);
    free(lat);
    index_free(ix);
}

/* ---- IVF prototype ---- */

typedef struct ivf {
    size_t n, dim, nlist;
    float *cent;     /* nlist x dim, unit */
    size_t *start;   /* nlist + 1 offsets into rows/vecs */
    uint32_t *rows;  /* rows grouped by list */
    float *vecs;     /* their vectors, in that order */
} ivf;

/* The best centroid of each of n rows: products in blocks, argmax per row. */
static void assign(const float *cent, size_t nlist, const float *v, size_t n, size_t dim,
                   uint32_t *best)
{
    const size_t B = 4096;
    float *s = malloc(B * nlist * sizeof *s);
    for (size_t r0 = 0; r0 < n; r0 += B) {
        size_t nb = n - r0 < B ? n - r0 : B;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)nlist, (int)dim, 1,
                    v + r0 * dim, (int)dim, cent, (int)dim, 0, s, (int)nlist);
        for (size_t i = 0; i < nb; i++) {
            const float *si = s + i * nlist;
            size_t b = 0;
            for (size_t c = 1; c < nlist; c++)
                if (si[c] > si[b])
                    b = c;
            best[r0 + i] = (uint32_t)b;
        }
    }
    free(s);
}

static void ivf_build(ivf *x, const float *v, size_t n, size_t dim, size_t nlist)
{
    wr_rng rng;
    rng_seed(&rng, 7);
    size_t ns = n < 64 * nlist ? n : 64 * nlist, iters = 10;
    float *sample = malloc(ns * dim * sizeof *sample), *sum = malloc(nlist * dim * sizeof *sum);
    for (size_t i = 0; i < ns; i++)
        memcpy(sample + i * dim, v + (size_t)rng_below(&rng, (uint32_t)n) * dim,
               dim * sizeof *sample);
    x->n = n;
    x->dim = dim;
    x->nlist = nlist;
    x->cent = malloc(nlist * dim * sizeof *x->cent);
    for (size_t c = 0; c < nlist; c++)
        memcpy(x->cent + c * dim, sample + (size_t)rng_below(&rng, (uint32_t)ns) * dim,
               dim * sizeof *x->cent);
    uint32_t *best = malloc((n > ns ? n : ns) * sizeof *best);
    size_t *cnt = malloc((nlist + 1) * sizeof *cnt);
    for (size_t it = 0; it < iters; it++) {
        assign(x->cent, nlist, sample, ns, dim, best);
        memset(sum, 0, nlist * dim * sizeof *sum);
        memset(cnt, 0, nlist * sizeof *cnt);
        for (size_t i = 0; i < ns; i++) {
            cnt[best[i]]++;
            for (size_t j = 0; j < dim; j++)
                sum[best[i] * dim + j] += sample[i * dim + j];
        }
        for (size_t c = 0; c < nlist; c++) {
            float *s = sum + c * dim;
            if (!cnt[c]) /* empty: restart from a random sample row */
                memcpy(s, sample + (size_t)rng_below(&rng, (uint32_t)ns) * dim,
                       dim * sizeof *s);
            double ss = 0;
            for (size_t j = 0; j < dim; j++)
                ss += (double)s[j] * s[j];
            for (size_t j = 0; j < dim; j++)
                x->cent[c * dim + j] = ss > 0 ? (float)(s[j] / sqrt(ss)) : 0;
        }
    }
    assign(x->cent, nlist, v, n, dim, best);
    x->start = calloc(nlist + 1, sizeof *x->start);
    for (size_t i = 0; i < n; i++)
        x->start[best[i] + 1]++;
    for (size_t c = 0; c < nlist; c++)
        x->start[c + 1] += x->start[c];
    memcpy(cnt, x->start, (nlist + 1) * sizeof *cnt);
    x->rows = malloc(n * sizeof *x->rows);
    x->vecs = malloc(n * dim * sizeof *x->vecs);
    for (size_t i = 0; i < n; i++) {
        size_t at = cnt[best[i]]++;
        x->rows[at] = (uint32_t)i;
        memcpy(x->vecs + at * dim, v + i * dim, dim * sizeof *x->vecs);
    }
    free(sample);
    free(sum);
    free(best);
    free(cnt);
}

/* Keeps the k best of the offered hits in h (sorted, best first). */
static void keep(wr_hit *h, size_t *nh, size_t k, uint32_t item, float s)
{
    if (*nh == k && s <= h[k - 1].score)
        return;
    size_t i = *nh < k ? (*nh)++ : k - 1;
    while (i > 0 && h[i - 1].score < s) {
        h[i] = h[i - 1];
        i--;
    }
    h[i] = (wr_hit){item, s};
}

static size_t ivf_search(const ivf *x, const float *q, uint32_t skip, size_t k, size_t nprobe,
                         float *cs, float *buf, wr_hit *out)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)x->nlist, (int)x->dim, 1, x->cent,
                (int)x->dim, q, 1, 0, cs, 1);
    wr_hit probe[256];
    size_t np = 0, nh = 0;
    for (size_t c = 0; c < x->nlist; c++)
        keep(probe, &np, nprobe, (uint32_t)c, cs[c]);
    for (size_t p = 0; p < np; p++) {
        size_t c = probe[p].item, a = x->start[c], len = x->start[c + 1] - a;
        if (!len)
            continue;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)len, (int)x->dim, 1, x->vecs + a * x->dim,
                    (int)x->dim, q, 1, 0, buf, 1);
        for (size_t i = 0; i < len; i++)
            if (x->rows[a + i] != skip)
                keep(out, &nh, k, x->rows[a + i], buf[i]);
    }
    return nh;
}

/* Every item's k best, batched: the members of each list against the members of the
 * nprobe lists whose centroids are nearest its own centroid, by knn_topk (blocked sgemm
 * and heaps), the lists shared out to `threads` threads. */
typedef struct ivf_job {
    const ivf *x;
    size_t k, nprobe;
    uint32_t *item; /* n x k */
    float *score;
    atomic_size_t next;
} ivf_job;

typedef struct self_ctx {
    const uint32_t *base_rows, *query_rows;
} self_ctx;

static int reject_same(size_t qi, uint32_t item, void *arg)
{
    const self_ctx *c = arg;
    return c->base_rows[item] == c->query_rows[qi];
}

static void *ivf_lists_worker(void *arg)
{
    ivf_job *j = arg;
    const ivf *x = j->x;
    size_t dim = x->dim, k = j->k, cap = 0;
    float *cs = malloc(x->nlist * sizeof *cs), *base = NULL;
    uint32_t *base_rows = NULL;
    wr_hit *hits = NULL, probe[256];
    size_t hcap = 0;
    for (size_t c; (c = atomic_fetch_add(&j->next, 1)) < x->nlist;) {
        size_t nq = x->start[c + 1] - x->start[c], np = 0, nb = 0;
        if (!nq)
            continue;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)x->nlist, (int)dim, 1, x->cent, (int)dim,
                    x->cent + c * dim, 1, 0, cs, 1);
        for (size_t d = 0; d < x->nlist; d++)
            keep(probe, &np, j->nprobe, (uint32_t)d, cs[d]);
        for (size_t p = 0; p < np; p++)
            nb += x->start[probe[p].item + 1] - x->start[probe[p].item];
        if (nb > cap) {
            cap = nb;
            base = realloc(base, cap * dim * sizeof *base);
            base_rows = realloc(base_rows, cap * sizeof *base_rows);
        }
        if (nq * k > hcap) {
            hcap = nq * k;
            hits = realloc(hits, hcap * sizeof *hits);
        }
        nb = 0;
        for (size_t p = 0; p < np; p++) {
            size_t a = x->start[probe[p].item], len = x->start[probe[p].item + 1] - a;
            memcpy(base + nb * dim, x->vecs + a * dim, len * dim * sizeof *base);
            memcpy(base_rows + nb, x->rows + a, len * sizeof *base_rows);
            nb += len;
        }
        self_ctx sc = {base_rows, x->rows + x->start[c]};
        knn_topk(base, nb, dim, x->vecs + x->start[c] * dim, nq, k, reject_same, &sc, 1, hits);
        for (size_t q = 0; q < nq; q++) {
            size_t at = (size_t)x->rows[x->start[c] + q] * k;
            for (size_t i = 0; i < k; i++) {
                const wr_hit *h = &hits[q * k + i];
                j->item[at + i] = h->item == UINT32_MAX ? UINT32_MAX : base_rows[h->item];
                j->score[at + i] = h->score;
            }
        }
    }
    free(cs);
    free(base);
    free(base_rows);
    free(hits);
    return NULL;
}

static void ivf_lists(const ivf *x, const truth *t, size_t k, size_t nprobe, int threads)
{
    ivf_job j = {.x = x, .k = k, .nprobe = nprobe, .item = malloc(x->n * k * sizeof(uint32_t)),
                 .score = malloc(x->n * k * sizeof(float))};
    atomic_init(&j.next, 0);
    double t0 = wr_now();
    pthread_t tid[64];
    int started = 0;
    while (started < threads - 1 && started < 64 &&
           pthread_create(&tid[started], NULL, ivf_lists_worker, &j) == 0)
        started++;
    ivf_lists_worker(&j);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    double el = wr_now() - t0;
    size_t f10 = 0, fk = 0, tie = 0, kk = k < TRUTH_K ? k : TRUTH_K;
    wr_hit *got = malloc(k * sizeof *got);
    for (size_t i = 0; i < t->nq; i++) {
        size_t at = (size_t)t->rows[i] * k;
        for (size_t b = 0; b < k; b++)
            got[b] = (wr_hit){j.item[at + b], j.score[at + b]};
        f10 += found(t, i, got, k, 10);
        tie += near(t, i, got, k);
        fk += found(t, i, got, k, kk);
    }
    printf("  every item's top %zu, lists probing the %zu lists nearest their centroid: %.1f s "
           "with %d threads; recall@10 %.4f (%.4f within %g of the 10th), recall@%zu %.4f; "
           "peak RSS %.0f MiB\n", k, nprobe, el, threads, (double)f10 / (t->nq * 10.0),
           (double)tie / (t->nq * 10.0), (double)TIE, kk, (double)fk / ((double)t->nq * kk),
           wr_peak_rss_kib() / 1024.0);
    free(got);
    free(j.item);
    free(j.score);
}

static void ivf_free(ivf *x)
{
    free(x->cent);
    free(x->start);
    free(x->rows);
    free(x->vecs);
}

static void cmd_ivf(char **a, int na)
{
    wr_model *m = load_unit(a[0]);
    truth t = read_truth(a[1]);
    size_t nlist = (size_t)atoi(a[2]);
    int threads = atoi(a[3]);
    size_t k = (size_t)atoi(a[4]), lists_nprobe = (size_t)atoi(a[5]);
    openblas_set_num_threads(threads);
    double t0 = wr_now();
    ivf x;
    ivf_build(&x, m->vecs, m->n, m->dim, nlist);
    size_t longest = 0;
    for (size_t c = 0; c < nlist; c++)
        if (x.start[c + 1] - x.start[c] > longest)
            longest = x.start[c + 1] - x.start[c];
    printf("ivf %zu lists (k-means on %zu rows, 10 rounds): built in %.1f s with %d threads, "
           "longest list %zu; peak RSS %.0f MiB\n", nlist, m->n < 64 * nlist ? m->n : 64 * nlist,
           wr_now() - t0, threads, longest, wr_peak_rss_kib() / 1024.0);
    openblas_set_num_threads(1);
    float *cs = malloc(nlist * sizeof *cs), *buf = malloc(longest * sizeof *buf);
    double *lat = malloc(t.nq * sizeof *lat);
    wr_hit got[10];
    for (int e = 6; e < na; e++) {
        size_t nprobe = (size_t)atoi(a[e]), f10 = 0, tie = 0;
        if (nprobe > 256)
            nprobe = 256;
        for (size_t i = 0; i < t.nq; i++) {
            double q0 = wr_now();
            size_t g = ivf_search(&x, m->vecs + (size_t)t.rows[i] * m->dim, t.rows[i], 10, nprobe,
                                  cs, buf, got);
            lat[i] = wr_now() - q0;
            f10 += found(&t, i, got, g, 10);
            tie += near(&t, i, got, g);
        }
        char l[128];
        latency(lat, t.nq, l, sizeof l);
        printf("  nprobe %4zu: recall@10 %.4f (%.4f within %g of the 10th); k=10 query %s\n",
               nprobe, (double)f10 / (t.nq * 10.0), (double)tie / (t.nq * 10.0), (double)TIE, l);
    }
    if (k && lists_nprobe)
        ivf_lists(&x, &t, k, lists_nprobe > 256 ? 256 : lists_nprobe, threads);
    free(cs);
    free(buf);
    free(lat);
    ivf_free(&x);
    model_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    const char *cmd = argv[1];
    char **a = argv + 2;
    int na = argc - 2;
    loadavg("at start");
    if (!strcmp(cmd, "truth") && na == 4)
        cmd_truth(a);
    else if (!strcmp(cmd, "hnsw") && na >= 6)
        cmd_hnsw(a, na);
    else if (!strcmp(cmd, "index") && na == 7)
        cmd_index(a);
    else if (!strcmp(cmd, "ivf") && na >= 6)
        cmd_ivf(a, na);
    else
        usage();
    loadavg("at end");
    return 0;
}
