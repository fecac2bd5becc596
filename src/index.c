/* index.c - the served model object: unit vectors, neighbour lists, side information.
 *
 * Memory while serving is the unit vectors (n x dim floats; the model's own vectors are
 * normalised in place, not copied), the neighbour lists (n x k item numbers and n x k
 * scores), the ids, and the side information. Everything is written once in index_build
 * and only read afterwards, from any number of threads.
 *
 * Above exact_max_items the lists come from k-means cells (ann.h) instead of products
 * with every item. The cells only serve to write them and are freed afterwards: reading a
 * list costs microseconds, searching cells per request a fraction of a millisecond. The
 * scores are the exact cosines, and the lists' recall against an exact scan of a sample
 * of items is measured, enforced (ann_min_recall) and reported.
 *
 * A neighbour query walks the item's precomputed list (best first) through the filter; it
 * scans every item instead when k is larger than the lists or the filter left fewer than k
 * of a list that does not hold every other item. */
#include "walkrec/index.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walkrec/lists.h"
#include "walkrec/calib.h"
#include "walkrec/explain.h"
#include "walkrec/dict.h"
#include "walkrec/progress.h"
#include "walkrec/rng.h"
#include "walkrec/rank.h"
#include "walkrec/side.h"

/* A column of the side information read once for filters (filter.h): numbers and
 * booleans as doubles, strings as codes of their values. */
typedef struct column {
    wr_side_type type;
    double *num;    /* NUMBER, BOOL: per row, NaN = none */
    uint32_t *code; /* STRING: per row, the value's code in vals, UINT32_MAX = none */
    wr_dict *vals;
} column;

/* Side information (side.h, rows = the model's items) and its typed columns. */
typedef struct side_info {
    wr_side *t;  /* NULL without side information */
    column *col; /* per column of t */
} side_info;

struct wr_index {
    wr_index_info info;
    wr_dict *ids;
    const float *vecs;       /* n x dim, unit rows (zero rows stay zero) */
    const uint32_t *nb_item; /* n x k, best first; approximate lists may end in UINT32_MAX */
    const float *nb_score;   /* n x k */
    int complete;      /* the lists are exact and hold every other item */
    uint32_t *by_id;   /* rows in byte order of their ids (index_prefix) */
    side_info side;
    wr_calib calib;    /* with info.calibrated: the pair probability ... */
    const float *logdeg; /* ... and log1p(degree) of every row */
    /* What is freed with the index: the model when it is mapped (vecs, logdeg and maybe
     * the lists point into it), else the arrays taken from it or built. */
    wr_model *mapped;
    float *own_vecs, *own_logdeg;
    float *ctx;          /* n x dim unit context vectors (model.h's WR_SEC_CTX), or NULL */
    int owns_lists;
    wr_explain_graph *graph; /* the pairs it was made from (explain.h), NULL when absent */
};

void index_default_opts(wr_index_opts *o)
{
    memset(o, 0, sizeof *o);
    o->k = 100;
    o->rank = WR_RANK_AUTO;
    o->exact_max_items = WR_LISTS_EXACT_MAX;
    o->ann_probe = 8;
    o->ann_min_recall = 0.98;
    o->ann_popular = 512;
}

wr_filter index_filter_none(void)
{
    return (wr_filter){NULL, 0, -INFINITY, NULL, NULL, NULL, NULL};
}

/* ---- side information ---- */

/* FNV-1a over a string and its terminating NUL. */
static uint64_t mix(uint64_t h, const char *v)
{
    do
        h = (h ^ (unsigned char)*v) * 1099511628211ull;
    while (*v++);
    return h;
}

static void read_column(column *c, const wr_side *t, size_t col, uint32_t n)
{
    c->type = side_type(t, col);
    if (c->type == WR_SIDE_NUMBER || c->type == WR_SIDE_BOOL) {
        c->num = xmalloc((n ? n : 1) * sizeof *c->num);
        for (uint32_t r = 0; r < n; r++) {
            int b;
            if (c->type == WR_SIDE_BOOL)
                c->num[r] = side_bool(t, r, col, &b) == 0 ? b : NAN;
            else if (side_number(t, r, col, &c->num[r]) < 0)
                c->num[r] = NAN;
        }
    } else if (c->type == WR_SIDE_STRING) {
        c->vals = dict_new(1024);
        c->code = xmalloc((n ? n : 1) * sizeof *c->code);
        for (uint32_t r = 0; r < n; r++) {
            const char *v = side_value(t, r, col);
            c->code[r] = v ? dict_intern(c->vals, v, strlen(v)) : UINT32_MAX;
        }
    }
}

/* The generation's sidecar, then the items file over it (side.h: its values win), both
 * over the model's ids; every column typed for filters. The values are part of what
 * answers say, so part of the identity (the ETag) too. */
static int load_side(wr_index *ix, const wr_index_opts *o, wr_err *err)
{
    side_info *s = &ix->side;
    const char *files[2] = {
        o->sidecar && *o->sidecar && access(o->sidecar, F_OK) == 0 ? o->sidecar : NULL,
        o->items_file && *o->items_file ? o->items_file : NULL};
    for (int i = 0; i < 2; i++) {
        if (!files[i])
            continue;
        if (!s->t ? !(s->t = side_load(files[i], ix->ids, err))
                  : side_update(s->t, files[i], err) < 0)
            return -1;
    }
    if (!s->t)
        return 0;
    /* described: the model's items with a value (each counted once, however many files) */
    ix->info.side_unmatched = side_unmatched(s->t);
    uint64_t h = ix->info.identity;
    size_t ncol = side_columns(s->t);
    for (size_t c = 0; c < ncol; c++)
        h = mix(h, side_name(s->t, c));
    for (uint32_t r = 0; r < ix->info.n; r++) {
        int any = 0;
        for (size_t c = 0; c < ncol; c++) {
            const char *v = side_value(s->t, r, c);
            h = mix(h, v ? v : "");
            any |= v != NULL;
        }
        ix->info.side_rows += any;
    }
    ix->info.identity = h;
    s->col = xcalloc(ncol ? ncol : 1, sizeof *s->col);
    for (size_t c = 0; c < ncol; c++)
        read_column(&s->col[c], s->t, c, ix->info.n);
    return 0;
}

/* The generation's pair graph, when its file is there and belongs to this model (else the
 * answers explain without it, and the log says why). Its size is part of the identity. */
static void load_graph(wr_index *ix, const wr_index_opts *o)
{
    wr_err e = {0};
    if (!o->graph || !*o->graph)
        return;
    ix->graph = explain_graph_open(o->graph, ix->ids, &e);
    if (!ix->graph) {
        if (e.code != WR_ENOTFOUND)
            wr_log("warning: explanations without the pair graph: %s", e.msg);
        return;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%llu %.17g", (unsigned long long)explain_graph_pairs(ix->graph),
             explain_graph_weight(ix->graph));
    ix->info.identity = mix(ix->info.identity, buf);
}

static void side_info_free(side_info *s)
{
    size_t ncol = s->t ? side_columns(s->t) : 0;
    for (size_t c = 0; c < ncol; c++) {
        free(s->col[c].num);
        free(s->col[c].code);
        dict_free(s->col[c].vals);
    }
    free(s->col);
    side_free(s->t);
}

/* ---- filters ---- */

/* Who a scan must skip: the query row itself and what the filter rejects. */
typedef struct reject_ctx {
    const wr_index *ix;
    const wr_filter *f;
    uint32_t self;  /* UINT32_MAX = none */
    size_t first;   /* row of query 0 when building lists */
} reject_ctx;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int rejected(const wr_index *ix, const wr_filter *f, uint32_t item)
{
    if (index_filter_hidden(f, item))
        return 1;
    if (f->accept && !f->accept(f->accept_ctx, item, 0))
        return 1;
    return f->n_exclude && bsearch(&item, f->exclude, f->n_exclude, sizeof item, cmp_u32);
}

static int reject_query(size_t qi, uint32_t item, void *arg)
{
    reject_ctx *c = arg;
    (void)qi;
    return item == c->self || rejected(c->ix, c->f, item);
}

static void normalize_rows(float *v, size_t n, size_t dim)
{
    for (size_t i = 0; i < n; i++) {
        float *r = v + i * dim;
        double ss = 0;
        for (size_t j = 0; j < dim; j++)
            ss += (double)r[j] * r[j];
        double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
        for (size_t j = 0; j < dim; j++)
            r[j] = (float)(r[j] * inv);
    }
}

/* ---- neighbour lists ---- */

static void lists_info(wr_index_info *in, const wr_lists *l, int stored)
{
    in->k = l->k;
    in->kind = l->approximate ? "approximate" : "exact";
    in->rank = l->rank;
    in->lists_stored = stored;
    in->build_seconds = l->seconds;
    in->recall_at_10 = l->recall_at_10;
    in->recall_sample = l->recall_sample;
    in->ann_cells = l->cells;
    in->ann_probe = l->probe;
    in->ann_popular = l->popular;
    in->ann_rounds = l->rounds;
    in->ann_kmeans_seconds = l->kmeans_seconds;
    in->ann_candidates = l->candidates_mean;
}

/* 1 when the model carries lists of length k in `rank` order, described into *l. */
static int stored_lists(const wr_model *m, uint32_t k, int rank, wr_lists *l)
{
    memset(l, 0, sizeof *l);
    json_t *d = m->lists_json ? json_loads(m->lists_json, 0, NULL) : NULL;
    int ok = d && m->list_item && lists_read_description(d, l) == 0 && l->k == m->list_k &&
             l->k == k && l->rank == rank;
    json_decref(d);
    return ok;
}

/* The model's own lists when they are what the options ask for (k and order): they are
 * served from the model (mapped, or taken over). 1 when taken. */
static int take_stored(wr_index *ix, wr_model *m, uint32_t k, int rank)
{
    wr_lists l;
    if (!stored_lists(m, k, rank, &l))
        return 0;
    ix->nb_item = m->list_item;
    ix->nb_score = m->list_score;
    if (!m->map) { /* taken over */
        m->list_item = NULL;
        m->list_score = NULL;
    }
    lists_info(&ix->info, &l, 1);
    ix->complete = !l.approximate && k == ix->info.n - 1;
    return 1;
}

void index_lists_opts(const wr_index_opts *o, wr_lists_opts *lo)
{
    lists_default_opts(lo);
    lo->k = o->k;
    lo->exact_max_items = o->exact_max_items;
    lo->cells = o->ann_cells;
    lo->probe = o->ann_probe;
    lo->popular = o->ann_popular;
    lo->min_recall = o->ann_min_recall;
    lo->threads = o->threads;
}

int index_lists_fit(const wr_model *m, const wr_index_opts *o)
{
    if (!m->list_item || !m->lists_json || m->n < 2)
        return m->n < 2;
    wr_calib c;
    int cal = calib_load(m, &c, NULL);
    if (cal < 0)
        return 0;
    int rank = lists_rank_for(cal ? &c : NULL, o->rank);
    if (cal)
        calib_free(&c);
    wr_lists l;
    return stored_lists(m, o->k < m->n - 1 ? o->k : m->n - 1, rank, &l);
}

static int build_lists(wr_index *ix, uint32_t k, int rank, const wr_index_opts *o, wr_err *err)
{
    wr_lists_opts lo;
    index_lists_opts(o, &lo);
    lo.k = k;
    wr_lists_input in = {ix->vecs, ix->info.n, ix->info.dim,
                         ix->info.calibrated ? &ix->calib : NULL, ix->logdeg};
    wr_lists l;
    if (lists_build(&in, rank, &lo, &l, err) < 0)
        return -1;
    ix->nb_item = l.item;
    ix->nb_score = l.score;
    ix->owns_lists = 1;
    lists_info(&ix->info, &l, 0);
    ix->complete = !l.approximate && k == ix->info.n - 1;
    return 0;
}

/* The unit vectors and log degrees from the model: borrowed from a mapped one (the model
 * stays with the index), taken over from one in memory. */
static void take_vectors(wr_index *ix, wr_model *m)
{
    if (m->ctx) { /* the "goes with" relation's: a unit copy (a mapping is read-only) */
        size_t nv = (size_t)m->n * m->dim;
        ix->ctx = xmalloc_aligned((nv + 1) * sizeof *ix->ctx);
        memcpy(ix->ctx, m->ctx, nv * sizeof *ix->ctx);
        normalize_rows(ix->ctx, m->n, m->dim);
    }
    if (m->map) {
        ix->mapped = m;
        ix->logdeg = m->bias;
        if (m->unit) {
            ix->vecs = m->unit;
        } else { /* the mapping is read-only: a normalised copy */
            ix->vecs = ix->own_vecs = model_normalized(m);
        }
        return;
    }
    if (m->unit) {
        ix->vecs = ix->own_vecs = m->unit;
        m->unit = NULL;
    } else {
        normalize_rows(m->vecs, m->n, m->dim);
        ix->vecs = ix->own_vecs = m->vecs;
        m->vecs = NULL;
    }
    ix->logdeg = ix->own_logdeg = m->bias;
    m->bias = NULL;
}

wr_index *index_build(wr_model *m, uint64_t generation, const char *source,
                      const wr_index_opts *o, wr_err *err)
{
    wr_index *ix = xcalloc(1, sizeof *ix);
    wr_index_info *in = &ix->info;
    static uint64_t serials;
    in->generation = generation;
    in->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
    in->n = m->n;
    in->dim = m->dim;
    in->created = m->created;
    in->identity = m->checksum ? m->checksum : (uint64_t)(wr_unix_now() * 1e6);
    in->source = xstrdup(source);
    in->kind = "none";
    int cal = calib_load(m, &ix->calib, err);
    in->calibrated = cal == 1;
    in->meta_json = m->meta_json;
    ix->ids = m->ids;
    m->meta_json = NULL;
    m->ids = NULL;
    take_vectors(ix, m);
    /* auto: the order the model's trainer found the better on its held-out slice */
    in->rank = lists_rank_for(in->calibrated ? &ix->calib : NULL, o->rank);
    uint32_t k = in->n < 2 ? 0 : o->k < in->n - 1 ? o->k : in->n - 1;
    int stored = cal >= 0 && k && take_stored(ix, m, k, in->rank);
    if (!ix->mapped)
        model_free(m);
    if (cal < 0)
        goto fail;

    if (load_side(ix, o, err) < 0)
        goto fail;
    load_graph(ix, o);
    ix->by_id = dict_sorted(ix->ids);

    if (!stored && k && (in->n <= o->exact_max_items || o->ann_probe > 0) &&
        build_lists(ix, k, in->rank, o, err) < 0)
        goto fail;
    return ix;
fail:
    index_free(ix);
    return NULL;
}

void index_free(wr_index *ix)
{
    if (!ix)
        return;
    free(ix->info.source);
    free(ix->info.meta_json);
    dict_free(ix->ids);
    free(ix->own_vecs);
    free(ix->own_logdeg);
    free(ix->ctx);
    if (ix->owns_lists || !ix->mapped) {
        free((void *)ix->nb_item);
        free((void *)ix->nb_score);
    }
    model_free(ix->mapped);
    free(ix->by_id);
    calib_free(&ix->calib);
    side_info_free(&ix->side);
    explain_graph_free(ix->graph);
    free(ix);
}

const wr_index_info *index_info(const wr_index *ix) { return &ix->info; }

void index_log(const wr_index *ix)
{
    const wr_index_info *in = &ix->info;
    if (in->k && in->lists_stored)
        wr_log("neighbour lists (%s, by %s): %u items x %u, stored with the model", in->kind,
               rank_name(in->rank), in->n, in->k);
    else if (in->k)
        wr_log("neighbour lists (%s, by %s): %u items x %u, built here in %.2f s", in->kind,
               rank_name(in->rank), in->n, in->k, in->build_seconds);
    if (in->recall_sample)
        wr_log("approximate lists: %u cells, %u probed per cell, %u popular (%u build%s), "
               "%.0f candidates per item; recall@10 %.4f against exact lists of %u items",
               in->ann_cells, in->ann_probe, in->ann_popular, in->ann_rounds,
               in->ann_rounds == 1 ? "" : "s", in->ann_candidates, in->recall_at_10,
               in->recall_sample);
    if (in->side_rows || in->side_unmatched)
        wr_log("side information: %llu items described, %llu rows for items not in the model",
               (unsigned long long)in->side_rows, (unsigned long long)in->side_unmatched);
}

void index_set_published(wr_index *ix, double unix_seconds)
{
    ix->info.published_at = unix_seconds;
}

int64_t index_find(const wr_index *ix, const char *id, size_t len)
{
    return dict_find(ix->ids, id, len);
}

const char *index_id(const wr_index *ix, uint32_t row) { return dict_str(ix->ids, row); }

size_t index_prefix(const wr_index *ix, const char *p, size_t len, const char *after,
                    uint32_t *rows, size_t max)
{
    return dict_prefix(ix->ids, ix->by_id, p, len, after, rows, max);
}

const float *index_vector(const wr_index *ix, uint32_t row)
{
    return ix->vecs + (size_t)row * ix->info.dim;
}

float index_dot(const wr_index *ix, const float *x, const float *y)
{
    double s = 0;
    for (size_t j = 0; j < ix->info.dim; j++)
        s += (double)x[j] * y[j];
    return (float)s;
}

float index_score(const wr_index *ix, uint32_t a, uint32_t b)
{
    return index_dot(ix, index_vector(ix, a), index_vector(ix, b));
}

/* 1 when the filter's budget (if any) pays for a scan of every row; it counts the scan. */
static int afford(const wr_index *ix, const wr_filter *f)
{
    wr_budget *b = f->budget;
    if (!b)
        return 1;
    b->scans++;
    if (b->items < ix->info.n) {
        b->refused = 1;
        return 0;
    }
    b->items -= ix->info.n;
    return 1;
}

/* Exact scan of every row; the filter runs inside knn_topk so only accepted rows count. */
static size_t scan(const wr_index *ix, const float *q, uint32_t self, size_t k,
                   const wr_filter *f, wr_hit *out)
{
    if (!afford(ix, f))
        return 0;
    reject_ctx c = {ix, f, self, 0};
    int filtered = self != UINT32_MAX || f->n_exclude || f->accept || f->hidden;
    knn_topk(ix->vecs, ix->info.n, ix->info.dim, q, 1, k, filtered ? reject_query : NULL, &c,
             1, out);
    size_t got = 0;
    while (got < k && out[got].item != UINT32_MAX && out[got].score >= f->min_score)
        got++;
    return got;
}

static float best_dot(const wr_index *ix, const float *v, const float *const *q, size_t nq)
{
    float best = -INFINITY;
    for (size_t i = 0; i < nq; i++) {
        float d = index_dot(ix, v, q[i]);
        best = d > best ? d : best;
    }
    return best;
}

size_t index_neighbors_contrast(const wr_index *ix, const float *const *pos, size_t np,
                                const float *const *neg, size_t nn, size_t k,
                                const wr_filter *f, wr_hit *out)
{
    for (size_t i = 0; i < np + nn; i++)
        if (!afford(ix, f))
            return 0;
    if (k == 0 || np == 0)
        return 0;
    size_t dim = ix->info.dim, hn = 0;
    wr_hit *heap = xmalloc(k * sizeof *heap);
    float floor = -INFINITY;
    for (uint32_t r = 0; r < ix->info.n; r++) {
        if (rejected(ix, f, r))
            continue;
        const float *v = ix->vecs + (size_t)r * dim;
        float sc = best_dot(ix, v, pos, np) - (nn ? best_dot(ix, v, neg, nn) : 0);
        if (sc > floor && sc >= f->min_score)
            floor = knn_heap_offer(heap, &hn, k, (wr_hit){r, sc});
    }
    knn_heap_drain(heap, hn, k, out);
    free(heap);
    return hn;
}

/* Every row by the calibrated logit against `row` (calib_topk), then the cosines. */
static size_t scan_probability(const wr_index *ix, uint32_t row, size_t k, const wr_filter *f,
                               wr_hit *out)
{
    if (k == 0 || !afford(ix, f))
        return 0;
    reject_ctx c = {ix, f, row, 0};
    wr_model view = {.n = ix->info.n, .dim = ix->info.dim, .vecs = (float *)ix->vecs,
                     .bias = (float *)ix->logdeg};
    calib_topk(&view, ix->vecs, &ix->calib, &row, 1, k, reject_query, &c, 1, out);
    size_t got = 0;
    for (size_t i = 0; i < k && out[i].item != UINT32_MAX; i++) {
        float cos = index_score(ix, row, out[i].item);
        if (cos >= f->min_score)
            out[got++] = (wr_hit){out[i].item, cos};
    }
    return got;
}

int index_has_context(const wr_index *ix) { return ix->ctx != NULL; }

float index_complement(const wr_index *ix, uint32_t a, uint32_t b)
{
    size_t d = ix->info.dim;
    return 0.5f * (index_dot(ix, ix->vecs + a * d, ix->ctx + b * d) +
                   index_dot(ix, ix->ctx + a * d, ix->vecs + b * d));
}

size_t index_neighbors_complement(const wr_index *ix, uint32_t row, size_t k,
                                  const wr_filter *f, wr_hit *out)
{
    if (k == 0 || !ix->ctx || !afford(ix, f))
        return 0;
    wr_hit *h = xmalloc(k * sizeof *h);
    size_t hn = 0;
    float worst = -INFINITY;
    for (uint32_t j = 0; j < ix->info.n; j++) {
        if (j == row)
            continue;
        float s = index_complement(ix, row, j);
        if (s > worst && s >= f->min_score && !rejected(ix, f, j))
            worst = knn_heap_offer(h, &hn, k, (wr_hit){j, s});
    }
    knn_heap_drain(h, hn, k, out);
    free(h);
    return hn;
}

size_t index_neighbors(const wr_index *ix, uint32_t row, size_t k, const wr_filter *f,
                       wr_hit *out)
{
    size_t lk = ix->info.k;
    if (k == 0)
        return 0;
    if (lk > 0 && k <= lk) {
        const uint32_t *item = ix->nb_item + (size_t)row * lk;
        const float *score = ix->nb_score + (size_t)row * lk;
        size_t got = 0, hidden = 0;
        for (size_t i = 0; i < lk && item[i] != UINT32_MAX; i++) {
            if (score[i] < f->min_score) {
                if (ix->info.rank == WR_RANK_COSINE)
                    return got; /* best first: the rest score lower still */
                continue;
            }
            if (index_filter_hidden(f, item[i])) {
                hidden++;
                continue;
            }
            if (rejected(ix, f, item[i]))
                continue;
            out[got++] = (wr_hit){item[i], score[i]};
            if (got == k)
                return got;
        }
        if (ix->complete || got + hidden >= k)
            return got; /* the list held every other item, or hidden ones cut it short */
    }
    if (ix->info.rank == WR_RANK_PROBABILITY)
        return scan_probability(ix, row, k, f, out);
    return scan(ix, ix->vecs + (size_t)row * ix->info.dim, row, k, f, out);
}

size_t index_neighbors_by(const wr_index *ix, uint32_t row, size_t k, const wr_filter *f,
                          int rank, wr_hit *out)
{
    if (rank == ix->info.rank)
        return index_neighbors(ix, row, k, f, out);
    if (rank == WR_RANK_PROBABILITY)
        return ix->info.calibrated ? scan_probability(ix, row, k, f, out) : 0;
    return k ? scan(ix, ix->vecs + (size_t)row * ix->info.dim, row, k, f, out) : 0;
}

double index_probability(const wr_index *ix, uint32_t a, uint32_t b)
{
    if (!ix->info.calibrated)
        return NAN;
    return calib_prob_rows(&ix->calib, index_score(ix, a, b), ix->logdeg, a, b);
}

int index_probability_terms(const wr_index *ix, uint32_t a, uint32_t b,
                            double terms[WR_CALIB_NFEAT])
{
    if (!ix->info.calibrated)
        return -1;
    const wr_calib *c = &ix->calib;
    calib_terms(c, index_score(ix, a, b), ix->logdeg[a], ix->logdeg[b],
                calib_hub(c, a) * calib_hub(c, b), terms);
    return 0;
}

const struct wr_explain_graph *index_graph(const wr_index *ix) { return ix->graph; }

double index_probability_vec(const wr_index *ix, uint32_t a, const float *v, float logdeg)
{
    if (!ix->info.calibrated)
        return NAN;
    const float *x = ix->vecs + (size_t)a * ix->info.dim, *c = ix->calib.center;
    double cos = 0, hub = 0;
    for (uint32_t d = 0; d < ix->info.dim; d++)
        cos += (double)x[d] * v[d], hub += c ? (double)c[d] * v[d] : 0;
    return calib_prob(&ix->calib, cos, ix->logdeg[a], logdeg, calib_hub(&ix->calib, a) * hub);
}

size_t index_neighbors_vec(const wr_index *ix, const float *q, size_t k, const wr_filter *f,
                           wr_hit *out)
{
    return k ? scan(ix, q, UINT32_MAX, k, f, out) : 0;
}

int index_basket(const wr_index *ix, const float *const *vecs, size_t n, float *q)
{
    size_t dim = ix->info.dim;
    memset(q, 0, dim * sizeof *q);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            q[j] += vecs[i][j];
    double ss = 0;
    for (size_t j = 0; j < dim; j++)
        ss += (double)q[j] * q[j];
    if (!(ss > 0))
        return -1;
    float inv = (float)(1.0 / sqrt(ss));
    for (size_t j = 0; j < dim; j++)
        q[j] *= inv;
    return 0;
}

size_t index_side_columns(const wr_index *ix) { return ix->side.t ? side_columns(ix->side.t) : 0; }

const char *index_side_name(const wr_index *ix, size_t col) { return side_name(ix->side.t, col); }

const char *index_side_value(const wr_index *ix, uint32_t row, size_t col)
{
    return side_value(ix->side.t, row, col);
}

int64_t index_side_column(const wr_index *ix, const char *name)
{
    return ix->side.t ? side_column(ix->side.t, name) : -1;
}

wr_side_type index_side_type(const wr_index *ix, size_t col) { return ix->side.col[col].type; }

int index_side_number(const wr_index *ix, uint32_t row, size_t col, double *out)
{
    const column *c = &ix->side.col[col];
    if (!c->num || isnan(c->num[row]))
        return -1;
    *out = c->num[row];
    return 0;
}

uint32_t index_side_code(const wr_index *ix, uint32_t row, size_t col)
{
    const column *c = &ix->side.col[col];
    return c->code ? c->code[row] : UINT32_MAX;
}

uint32_t index_side_find_code(const wr_index *ix, size_t col, const char *v, size_t len)
{
    const column *c = &ix->side.col[col];
    int64_t i = c->vals ? dict_find(c->vals, v, len) : -1;
    return i < 0 ? UINT32_MAX : (uint32_t)i;
}

size_t index_side_list(const wr_index *ix, uint32_t row, size_t col, wr_side_span *out,
                       size_t max)
{
    return side_list(ix->side.t, row, col, out, max);
}
