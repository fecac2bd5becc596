/* ann.c - the approximate neighbour lists (src/ann.c, an inverted file of k-means cells)
 * against exact top-k on a model file; driven by bench/ann.sh, one measurement per process
 * so that each peak RSS is its own.
 *
 *   bench-ann truth MODEL QUERIES THREADS OUT   exact top-100 of QUERIES rows spread over
 *                                               the catalogue (knn_topk), saved to OUT
 *   bench-ann index MODEL TRUTH CELLS PROBE K THREADS
 *                                               index_build above exact_max_items, as
 *                                               walkrecd does it (CELLS 0 = its default):
 *                                               times, memory, the lists' recall against
 *                                               TRUTH, latency of k=10 from the lists
 * Needs index.c (daemon code), so ann.sh compiles this file with it against the build's
 * libwalkrec.a. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/index.h"
#include "walkrec/knn.h"
#include "walkrec/model.h"
#include "walkrec/rng.h"

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
    fprintf(stderr, "usage: bench-ann truth|index MODEL ... (see bench/ann.c)\n");
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

static void cmd_index(char **a)
{
    wr_err err;
    wr_model *m = model_load(a[0], &err);
    if (!m)
        fail(&err);
    truth t = read_truth(a[1]);
    wr_index_opts o;
    index_default_opts(&o);
    o.ann_cells = (uint32_t)atoi(a[2]);
    o.ann_probe = (uint32_t)atoi(a[3]);
    o.k = (uint32_t)atoi(a[4]);
    o.threads = atoi(a[5]);
    o.exact_max_items = 0;
    o.ann_min_recall = 0; /* measure the probe asked for */
    uint32_t n = m->n;
    size_t before = wr_peak_rss_kib();
    double t0 = wr_now();
    wr_index *ix = index_build(m, 1, a[0], &o, &err);
    if (!ix)
        fail(&err);
    double el = wr_now() - t0;
    const wr_index_info *in = index_info(ix);
    printf("index_build (%s, k %u, %u cells, probe %u, %d threads): %.1f s in all; k-means "
           "%.1f s, lists %.1f s (%.0f candidates per item), recall check %.1f s; "
           "index_build's own recall@10 %.4f over %u items; peak RSS %.0f MiB (%.0f after "
           "loading the model)\n", in->kind, in->k, in->ann_cells, in->ann_probe, o.threads,
           el, in->ann_kmeans_seconds, in->build_seconds - in->ann_kmeans_seconds,
           in->ann_candidates, el - in->build_seconds, in->recall_at_10, in->recall_sample,
           wr_peak_rss_kib() / 1024.0, before / 1024.0);
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
    else if (!strcmp(cmd, "index") && na == 6)
        cmd_index(a);
    else
        usage();
    loadavg("at end");
    return 0;
}
