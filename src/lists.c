/* lists.c - a catalogue's neighbour lists, exact or from k-means cells (lists.h). */
#include "walkrec/lists.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/ann.h"
#include "walkrec/knn.h"
#include "walkrec/model.h"
#include "walkrec/progress.h"
#include "walkrec/rank.h"
#include "walkrec/rng.h"

#define RECALL_K 10

void lists_default_opts(wr_lists_opts *o)
{
    *o = (wr_lists_opts){.k = 100, .exact_max_items = WR_LISTS_EXACT_MAX, .probe = 8,
                         .popular = 512, .min_recall = 0.98, .recall_sample = 1000};
}

void lists_free(wr_lists *l)
{
    if (!l->borrowed) {
        free(l->item);
        free(l->score);
    }
    l->item = NULL;
    l->score = NULL;
}

/* Queries skip themselves: query i of a block is row first + i, or rows[i]. */
typedef struct self_ctx {
    size_t first;
    const uint32_t *rows;
} self_ctx;

static int reject_self(size_t qi, uint32_t item, void *arg)
{
    const self_ctx *c = arg;
    return item == (c->rows ? c->rows[qi] : c->first + qi);
}

/* The cosine of two rows, for lists ranked by probability (calib_topk scores logits). */
static float cosine(const wr_lists_input *in, uint32_t a, uint32_t b)
{
    const float *x = in->unit + (size_t)a * in->dim, *y = in->unit + (size_t)b * in->dim;
    double s = 0;
    for (uint32_t d = 0; d < in->dim; d++)
        s += (double)x[d] * y[d];
    return (float)s;
}

/* The exact k best of nq query rows (rows[i], or first + i) in `rank` order into out. */
static void exact_topk(const wr_lists_input *in, int rank, size_t first, const uint32_t *rows,
                       size_t nq, size_t k, int threads, wr_hit *out)
{
    self_ctx sc = {first, rows};
    if (rank == WR_RANK_PROBABILITY) {
        uint32_t *q = rows ? NULL : xmalloc(nq * sizeof *q);
        for (size_t i = 0; q && i < nq; i++)
            q[i] = (uint32_t)(first + i);
        /* calib_topk reads the log degrees as a model's bias section */
        wr_model view = {.n = in->n, .dim = in->dim, .vecs = (float *)in->unit,
                         .bias = (float *)in->logdeg};
        calib_topk(&view, in->unit, in->calib, rows ? rows : q, nq, k, reject_self, &sc, threads,
                   out);
        free(q);
        return;
    }
    float *qv = NULL;
    if (rows) {
        qv = xmalloc(nq * in->dim * sizeof *qv);
        for (size_t i = 0; i < nq; i++)
            memcpy(qv + i * in->dim, in->unit + (size_t)rows[i] * in->dim, in->dim * sizeof *qv);
    }
    knn_topk(in->unit, in->n, in->dim, rows ? qv : in->unit + first * in->dim, nq, k,
             reject_self, &sc, threads, out);
    free(qv);
}

/* Every row's list, exactly, in blocks of queries so progress can be reported; the blocks
 * are large enough that each thread still gets many of knn's query tiles. */
static void exact_lists(const wr_lists_input *in, int rank, wr_lists *l, int threads)
{
    size_t n = in->n, k = l->k, chunk = (size_t)256 * 8 * (size_t)threads;
    wr_hit *hits = xmalloc(chunk * k * sizeof *hits);
    wr_progress p;
    progress_start(&p, "neighbour lists", "items", n);
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t nq = n - r0 < chunk ? n - r0 : chunk;
        exact_topk(in, rank, r0, NULL, nq, k, threads, hits);
        for (size_t i = 0; i < nq * k; i++) {
            uint32_t q = (uint32_t)(r0 + i / k), item = hits[i].item;
            l->item[r0 * k + i] = item;
            l->score[r0 * k + i] = rank == WR_RANK_PROBABILITY && item != UINT32_MAX
                                       ? cosine(in, q, item)
                                       : hits[i].score;
        }
        progress_add(&p, nq);
    }
    progress_end(&p, NULL);
    free(hits);
}

double lists_recall(const wr_lists_input *in, const wr_lists *l, uint32_t sample, int threads)
{
    size_t n = in->n, k = l->k < RECALL_K ? l->k : RECALL_K;
    size_t ns = n < sample ? n : sample;
    if (!ns || !k)
        return NAN;
    uint32_t *rows = xmalloc(ns * sizeof *rows);
    wr_hit *truth = xmalloc(ns * k * sizeof *truth);
    wr_rng rng;
    rng_seed(&rng, 0x6c69737473ULL);
    for (size_t i = 0; i < ns; i++) {
        size_t lo = i * n / ns, hi = (i + 1) * n / ns;
        rows[i] = (uint32_t)(lo + rng_below(&rng, (uint32_t)(hi - lo)));
    }
    exact_topk(in, l->rank, 0, rows, ns, k, threads, truth);
    size_t found = 0, want = 0;
    for (size_t i = 0; i < ns; i++) {
        const uint32_t *list = l->item + (size_t)rows[i] * l->k;
        for (size_t t = 0; t < k; t++) {
            if (truth[i * k + t].item == UINT32_MAX)
                continue;
            want++;
            for (size_t j = 0; j < k; j++)
                if (list[j] == truth[i * k + t].item) {
                    found++;
                    break;
                }
        }
    }
    free(rows);
    free(truth);
    return want ? (double)found / (double)want : 1;
}

/* From k-means cells (ann.h), again with twice the probe and twice the popular items while
 * the recall is below the minimum, until every cell is probed (which is exact). */
static int approximate_lists(const wr_lists_input *in, int rank, const wr_lists_opts *o,
                             wr_lists *l, int threads, wr_err *err)
{
    wr_ann_opts ao;
    ann_default_opts(&ao);
    ao.cells = o->cells;
    ao.probe = o->probe ? o->probe : ao.probe;
    ao.threads = threads;
    if (rank == WR_RANK_PROBABILITY) {
        ao.calib = in->calib;
        ao.logdeg = in->logdeg;
        ao.popular = o->popular;
    }
    for (l->rounds = 1;; l->rounds++) {
        wr_ann_stats st;
        if (ann_topk_all(in->unit, in->n, in->dim, l->k, &ao, l->item, l->score, &st, err) < 0)
            return -1;
        l->cells = st.cells;
        l->probe = st.probe;
        l->popular = ao.popular;
        l->kmeans_seconds += st.kmeans_seconds;
        l->candidates_mean = st.candidates_mean;
        double t0 = wr_now();
        l->recall_at_10 = lists_recall(in, l, o->recall_sample, threads);
        l->recall_seconds = wr_now() - t0;
        l->recall_sample = in->n < o->recall_sample ? in->n : o->recall_sample;
        if (!(l->recall_at_10 < o->min_recall) || st.probe >= st.cells)
            return 0;
        wr_log("approximate lists: recall@10 %.4f with %u of %u cells probed, below %g: "
               "probing %u", l->recall_at_10, st.probe, st.cells, o->min_recall,
               st.probe * 2 < st.cells ? st.probe * 2 : st.cells);
        ao.cells = st.cells;
        ao.probe = st.probe * 2;
        ao.popular = ao.popular * 2;
    }
}

int lists_build(const wr_lists_input *in, int rank, const wr_lists_opts *o, wr_lists *out,
                wr_err *err)
{
    memset(out, 0, sizeof *out);
    if (rank == WR_RANK_PROBABILITY && !in->calib)
        return wr_fail(err, "neighbour lists by probability need a calibrated model");
    out->n = in->n;
    out->k = in->n < 2 ? 0 : o->k < in->n - 1 ? o->k : in->n - 1;
    out->rank = rank;
    if (!out->k)
        return 0;
    size_t cells = (size_t)in->n * out->k;
    out->item = malloc(cells * sizeof *out->item);
    out->score = malloc(cells * sizeof *out->score);
    if (!out->item || !out->score) {
        lists_free(out);
        return wr_failc(err, WR_ENOMEM, "out of memory for the neighbour lists (%u items x "
                        "%u: %zu MiB)", in->n, out->k, 2 * cells * sizeof(float) >> 20);
    }
    int threads = o->threads > 0 ? o->threads : wr_cpu_count();
    double t0 = wr_now();
    out->approximate = in->n > o->exact_max_items;
    if (out->approximate) {
        if (approximate_lists(in, rank, o, out, threads, err) < 0) {
            lists_free(out);
            return -1;
        }
    } else {
        exact_lists(in, rank, out, threads);
    }
    out->seconds = wr_now() - t0;
    return 0;
}

static void put(json_t *d, const char *key, json_t *v)
{
    if (!v || json_object_set_new(d, key, v) < 0)
        abort(); /* only allocation fails here */
}

json_t *lists_describe(const wr_lists *l)
{
    json_t *d = json_object();
    put(d, "k", json_integer(l->k));
    put(d, "kind", json_string(l->approximate ? "approximate" : "exact"));
    put(d, "rank", json_string(rank_name(l->rank)));
    put(d, "seconds", json_real(l->seconds));
    put(d, "recall_at_10", l->recall_sample ? json_real(l->recall_at_10) : json_null());
    put(d, "recall_sample", json_integer(l->recall_sample));
    if (l->recall_sample) /* exact lists of the sample: the cost of exactness, per item */
        put(d, "exact_seconds_per_item", json_real(l->recall_seconds / l->recall_sample));
    if (l->approximate) {
        put(d, "cells", json_integer(l->cells));
        put(d, "probe", json_integer(l->probe));
        put(d, "popular", json_integer(l->popular));
        put(d, "rounds", json_integer(l->rounds));
        put(d, "kmeans_seconds", json_real(l->kmeans_seconds));
        put(d, "candidates_mean", json_real(l->candidates_mean));
    }
    return d;
}

int lists_read_description(const json_t *d, wr_lists *l)
{
    const char *kind = json_string_value(json_object_get(d, "kind"));
    const char *rank = json_string_value(json_object_get(d, "rank"));
    json_t *k = json_object_get(d, "k");
    if (!json_is_object(d) || !kind || !rank || !json_is_integer(k) ||
        (strcmp(kind, "exact") && strcmp(kind, "approximate")) || rank_parse(rank) < 0 ||
        rank_parse(rank) == WR_RANK_AUTO || json_integer_value(k) < 0 ||
        json_integer_value(k) > UINT32_MAX)
        return -1;
    l->k = (uint32_t)json_integer_value(k);
    l->approximate = !strcmp(kind, "approximate");
    l->rank = rank_parse(rank);
    l->seconds = json_number_value(json_object_get(d, "seconds"));
    json_t *r = json_object_get(d, "recall_at_10");
    l->recall_at_10 = json_is_number(r) ? json_number_value(r) : NAN;
    l->recall_sample = (uint32_t)json_integer_value(json_object_get(d, "recall_sample"));
    json_t *e = json_object_get(d, "exact_seconds_per_item");
    l->recall_seconds = json_is_number(e) ? json_number_value(e) * l->recall_sample : 0;
    l->cells = (uint32_t)json_integer_value(json_object_get(d, "cells"));
    l->probe = (uint32_t)json_integer_value(json_object_get(d, "probe"));
    l->popular = (uint32_t)json_integer_value(json_object_get(d, "popular"));
    l->rounds = (uint32_t)json_integer_value(json_object_get(d, "rounds"));
    l->kmeans_seconds = json_number_value(json_object_get(d, "kmeans_seconds"));
    l->candidates_mean = json_number_value(json_object_get(d, "candidates_mean"));
    return 0;
}

int lists_rank_for(const wr_calib *c, int rank)
{
    if (!c)
        return WR_RANK_COSINE;
    return rank == WR_RANK_AUTO ? c->rank : rank;
}

int lists_attach(wr_model *m, int rank, const wr_lists_opts *o, wr_lists *out, wr_err *err)
{
    wr_calib c;
    wr_lists l;
    int cal = calib_load(m, &c, err);
    if (cal < 0)
        return -1;
    float *unit = model_normalized(m);
    wr_lists_input in = {unit, m->n, m->dim, cal ? &c : NULL, m->bias};
    int rc = lists_build(&in, lists_rank_for(cal ? &c : NULL, rank), o, &l, err);
    if (cal)
        calib_free(&c);
    if (rc < 0) {
        free(unit);
        return -1;
    }
    json_t *d = lists_describe(&l);
    char *text = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(d);
    if (!text) {
        free(unit);
        lists_free(&l);
        return wr_failc(err, WR_ENOMEM, "cannot describe the neighbour lists");
    }
    free(m->unit);
    free(m->list_item);
    free(m->list_score);
    free(m->lists_json);
    m->unit = unit;
    m->list_k = l.k;
    m->list_item = l.item;
    m->list_score = l.score;
    m->lists_json = text;
    if (out) {
        *out = l;
        out->borrowed = 1;
    }
    return 0;
}


typedef struct anchored {
    double key;  /* the order's score, + margin for an incumbent */
    float cos;
    uint32_t row;
} anchored;

static int cmp_anchored(const void *a, const void *b)
{
    const anchored *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

size_t lists_anchor(wr_model *m, int rank, const uint32_t *inc, uint32_t ki, double margin)
{
    wr_calib c;
    wr_err err;
    int cal = calib_load(m, &c, &err) == 1, prob = cal && rank == WR_RANK_PROBABILITY;
    if (!prob) /* the margin in the cosine: through the logit's slope in it, else / 10 */
        margin /= cal && c.coef[1] > 0 ? c.coef[1] * (c.scale_a > 0 ? c.scale_a : 1) : 10;
    uint32_t k = m->list_k;
    anchored *v = xmalloc((k + ki + 1) * sizeof *v);
    size_t changed = 0;
    for (uint32_t q = 0; q < m->n && k; q++) {
        uint32_t *item = m->list_item + (size_t)q * k;
        float *score = m->list_score + (size_t)q * k;
        const uint32_t *in = inc + (size_t)q * ki;
        size_t n = 0;
        for (uint32_t i = 0; i < k && item[i] != UINT32_MAX; i++)
            v[n++] = (anchored){0, score[i], item[i]};
        for (uint32_t j = 0; j < ki; j++) {
            uint32_t x = in[j];
            size_t i = 0;
            if (x == UINT32_MAX || x == q)
                continue;
            while (i < n && v[i].row != x)
                i++;
            if (i == n) { /* an incumbent the list lost: its cosine from the vectors */
                const float *a = m->unit + (size_t)q * m->dim, *b = m->unit + (size_t)x * m->dim;
                double d = 0;
                for (uint32_t t = 0; t < m->dim; t++)
                    d += (double)a[t] * b[t];
                v[n++] = (anchored){0, (float)d, x};
            }
            v[i].key = 1; /* marks an incumbent until the keys are computed */
        }
        uint32_t first[64], nf = 0;
        for (uint32_t i = 0; i < ki && i < 64 && item[i] != UINT32_MAX; i++)
            first[nf++] = item[i];
        for (size_t i = 0; i < n; i++) {
            double s = prob ? calib_logit(&c, v[i].cos, m->bias[q], m->bias[v[i].row],
                                          calib_hub(&c, q) * calib_hub(&c, v[i].row))
                            : v[i].cos;
            v[i].key = s + (v[i].key == 1 ? margin : 0);
        }
        qsort(v, n, sizeof *v, cmp_anchored);
        n = n < k ? n : k;
        int diff = 0;
        for (uint32_t i = 0; i < nf; i++)
            diff |= v[i].row != first[i];
        changed += diff;
        for (size_t i = 0; i < n; i++) {
            item[i] = v[i].row;
            score[i] = v[i].cos;
        }
    }
    free(v);
    if (cal)
        calib_free(&c);
    return changed;
}
