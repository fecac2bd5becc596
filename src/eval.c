/* eval.c - AUC-ROC, recall@k and NDCG@k of a model on a validation file.
 *
 * The exact definitions are in eval.h. Pair scores are cosines in double precision so the
 * AUC agrees with an independent float64 computation (numpy + scikit-learn) to rounding;
 * retrieval reuses knn_topk (float32 BLAS) over the normalised vectors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/eval.h"
#include "walkrec/knn.h"

void labeled_free(wr_labeled *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->a[i]);
        free(v->b[i]);
    }
    free(v->a);
    free(v->b);
    free(v->label);
    memset(v, 0, sizeof *v);
}

static int labeled_line(wr_labeled *v, size_t *cap, wr_lines *l, wr_err *err)
{
    if (l->too_long)
        return wr_fail(err, "%s:%llu: line longer than %zu bytes", l->path,
                       (unsigned long long)l->lineno, l->max_len);
    char *f[4];
    int nf = split_fields(l->buf, '\t', f, 4);
    if (nf != 3)
        return wr_fail(err, "%s:%llu: expected 3 tab-separated columns (item_a, item_b, label), "
                       "got %d", l->path, (unsigned long long)l->lineno, nf);
    if (l->lineno == 1 && !strcmp(f[0], "item_a") && !strcmp(f[2], "label"))
        return 0;
    if (!*f[0] || !*f[1])
        return wr_fail(err, "%s:%llu: empty item id", l->path, (unsigned long long)l->lineno);
    if (strcmp(f[2], "0") && strcmp(f[2], "1"))
        return wr_fail(err, "%s:%llu: label must be 0 or 1, got '%s'", l->path,
                       (unsigned long long)l->lineno, f[2]);
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        v->a = xrealloc(v->a, *cap * sizeof *v->a);
        v->b = xrealloc(v->b, *cap * sizeof *v->b);
        v->label = xrealloc(v->label, *cap);
    }
    v->a[v->n] = xstrdup(f[0]);
    v->b[v->n] = xstrdup(f[1]);
    v->label[v->n++] = f[2][0] == '1';
    return 0;
}

int labeled_read(wr_labeled *v, const char *path, wr_err *err)
{
    memset(v, 0, sizeof *v);
    wr_lines l;
    if (lines_open(&l, path, 2 * WR_ID_MAX + 16, err) < 0)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = lines_next(&l, err)) == 1) {
        if (l.len == 0 && !l.too_long)
            continue;
        if ((rc = labeled_line(v, &cap, &l, err)) < 0)
            break;
    }
    if (rc == 0 && l.truncated)
        rc = wr_fail(err, "%s: input ends inside a damaged gzip stream", path);
    if (rc == 0 && v->n == 0)
        rc = wr_fail(err, "%s: no validation pairs", path);
    lines_close(&l);
    if (rc < 0)
        labeled_free(v);
    return rc < 0 ? -1 : 0;
}

/* Total order for scores: NaN below every number, -0 equal to +0. */
static int cmp_score(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(b) - isnan(a);
    return (a > b) - (a < b);
}

static int cmp_double(const void *x, const void *y)
{
    return cmp_score(*(const double *)x, *(const double *)y);
}

typedef struct scored {
    double s;
    uint8_t pos;
} scored;

static int cmp_scored(const void *x, const void *y)
{
    return cmp_score(((const scored *)x)->s, ((const scored *)y)->s);
}

double auc_roc(const double *score, const uint8_t *label, size_t n)
{
    scored *v = xmalloc((n ? n : 1) * sizeof *v);
    uint64_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = score[i];
        v[i].pos = label[i] != 0;
        npos += v[i].pos;
    }
    uint64_t nneg = n - npos;
    if (npos == 0 || nneg == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof *v, cmp_scored);
    /* 2U = sum over tie groups, in ascending score, of 2 * pos * (negatives below) +
     * pos * neg (a tie counts half). Integers stay below n^2 / 2 < 2^63. */
    uint64_t twice_u = 0, neg_below = 0;
    for (size_t i = 0, j; i < n; i = j) {
        uint64_t p = 0, q = 0;
        for (j = i; j < n && cmp_score(v[j].s, v[i].s) == 0; j++) {
            p += v[j].pos;
            q += !v[j].pos;
        }
        twice_u += 2 * p * neg_below + p * q;
        neg_below += q;
    }
    free(v);
    return (double)twice_u / (2.0 * (double)npos * (double)nneg);
}

void eval_default_opts(wr_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->max_queries = 2000;
    o->seed = 1;
}

void eval_result_free(wr_eval_result *r)
{
    free(r->scores);
    free(r->seen);
    free(r->query_rows);
    memset(r, 0, sizeof *r);
}

/* 1 / L2 norm of every row in double precision; 0 for an all-zero row. */
static double *inverse_norms(const wr_model *m)
{
    double *inv = xmalloc(((size_t)m->n + 1) * sizeof *inv);
    for (uint32_t i = 0; i < m->n; i++) {
        const float *x = m->vecs + (size_t)i * m->dim;
        double s = 0;
        for (uint32_t d = 0; d < m->dim; d++)
            s += (double)x[d] * x[d];
        inv[i] = s > 0 ? 1.0 / sqrt(s) : 0.0;
    }
    return inv;
}

static double cosine(const wr_model *m, const double *inv, uint32_t a, uint32_t b)
{
    const float *x = m->vecs + (size_t)a * m->dim, *y = m->vecs + (size_t)b * m->dim;
    double s = 0;
    for (uint32_t d = 0; d < m->dim; d++)
        s += (double)x[d] * y[d];
    return s * inv[a] * inv[b];
}

static double median(const double *v, size_t n)
{
    if (n == 0)
        return 0;
    double *c = xmalloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    double med = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return med;
}

/* Scores every pair, fills the median in for unseen ones, computes both AUCs. Model rows
 * of the pair items go to row_a/row_b (-1 when absent). */
static void score_pairs(const wr_model *m, const wr_labeled *v, int64_t *row_a, int64_t *row_b,
                        wr_eval_result *r)
{
    double *inv = inverse_norms(m);
    double *seen_scores = xmalloc(v->n * sizeof *seen_scores);
    uint8_t *seen_labels = xmalloc(v->n);
    r->scores = xmalloc(v->n * sizeof *r->scores);
    r->seen = xmalloc(v->n);
    for (size_t i = 0; i < v->n; i++) {
        row_a[i] = model_find(m, v->a[i]);
        row_b[i] = model_find(m, v->b[i]);
        r->seen[i] = row_a[i] >= 0 && row_b[i] >= 0;
        if (!r->seen[i])
            continue;
        r->scores[i] = cosine(m, inv, (uint32_t)row_a[i], (uint32_t)row_b[i]);
        seen_scores[r->pairs_seen] = r->scores[i];
        seen_labels[r->pairs_seen++] = v->label[i];
    }
    r->pairs_unseen = v->n - r->pairs_seen;
    double med = median(seen_scores, r->pairs_seen);
    for (size_t i = 0; i < v->n; i++)
        if (!r->seen[i])
            r->scores[i] = med;
    r->auc_all = auc_roc(r->scores, v->label, v->n);
    r->auc_seen = auc_roc(seen_scores, seen_labels, r->pairs_seen);
    free(inv);
    free(seen_scores);
    free(seen_labels);
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* A directed adjacency as sorted unique keys (from << 32 | to). */
typedef struct adjacency {
    uint64_t *key;
    size_t n;
} adjacency;

static void adj_finish(adjacency *g)
{
    qsort(g->key, g->n, sizeof *g->key, cmp_u64);
    size_t w = 0;
    for (size_t i = 0; i < g->n; i++)
        if (w == 0 || g->key[i] != g->key[w - 1])
            g->key[w++] = g->key[i];
    g->n = w;
}

static void adj_add_both(adjacency *g, uint32_t a, uint32_t b)
{
    g->key[g->n++] = (uint64_t)a << 32 | b;
    g->key[g->n++] = (uint64_t)b << 32 | a;
}

/* First index in g with key >= k. */
static size_t adj_lower(const adjacency *g, uint64_t k)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->key[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int adj_has(const adjacency *g, uint32_t a, uint32_t b)
{
    uint64_t k = (uint64_t)a << 32 | b;
    size_t i = adj_lower(g, k);
    return i < g->n && g->key[i] == k;
}

/* Training neighbours over model rows (pairs whose items are both in the model). */
static void train_adjacency(const wr_model *m, const wr_pairs *t, adjacency *g)
{
    g->key = xmalloc((2 * t->n + 1) * sizeof *g->key);
    g->n = 0;
    uint32_t nid = dict_size(t->ids);
    int64_t *row = xmalloc(((size_t)nid + 1) * sizeof *row);
    for (uint32_t i = 0; i < nid; i++)
        row[i] = model_find(m, dict_str(t->ids, i));
    for (size_t i = 0; i < t->n; i++) {
        int64_t a = row[t->v[i].a], b = row[t->v[i].b];
        if (a >= 0 && b >= 0 && a != b)
            adj_add_both(g, (uint32_t)a, (uint32_t)b);
    }
    free(row);
    adj_finish(g);
}

/* Held-out positives over model rows, minus training neighbours. */
static void positive_adjacency(const wr_labeled *v, const int64_t *row_a, const int64_t *row_b,
                               const adjacency *train, adjacency *g)
{
    g->key = xmalloc((2 * v->n + 1) * sizeof *g->key);
    g->n = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (!v->label[i] || row_a[i] < 0 || row_b[i] < 0 || row_a[i] == row_b[i])
            continue;
        uint32_t a = (uint32_t)row_a[i], b = (uint32_t)row_b[i];
        if (!adj_has(train, a, b))
            adj_add_both(g, a, b);
    }
    adj_finish(g);
}

/* The distinct sources of g, then a seeded uniform sample of at most max of them, sorted. */
static uint32_t *sample_queries(const adjacency *g, size_t max, uint64_t seed, size_t *nq)
{
    uint32_t *q = xmalloc((g->n + 1) * sizeof *q);
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        uint32_t from = (uint32_t)(g->key[i] >> 32);
        if (n == 0 || q[n - 1] != from)
            q[n++] = from;
    }
    if (n > max) {
        wr_rng rng;
        rng_seed(&rng, seed);
        for (size_t i = 0; i < max; i++) {
            size_t j = i + rng_below(&rng, (uint32_t)(n - i));
            uint32_t t = q[i];
            q[i] = q[j];
            q[j] = t;
        }
        n = max;
        qsort(q, n, sizeof *q, cmp_u32);
    }
    *nq = n;
    return q;
}

typedef struct exclude_ctx {
    const uint32_t *query;
    const adjacency *train;
} exclude_ctx;

static int exclude_seen(size_t qi, uint32_t item, void *arg)
{
    const exclude_ctx *c = arg;
    return item == c->query[qi] || adj_has(c->train, c->query[qi], item);
}

/* Adds recall and NDCG of one query's top-k list. */
static void score_query(const wr_hit *top, size_t k, const adjacency *pos, uint32_t q,
                        double *recall, double *ndcg)
{
    size_t first = adj_lower(pos, (uint64_t)q << 32);
    size_t npos = adj_lower(pos, ((uint64_t)q + 1) << 32) - first;
    double dcg = 0, idcg = 0;
    size_t hits = 0;
    for (size_t i = 0; i < k; i++) {
        if (top[i].item != UINT32_MAX && adj_has(pos, q, top[i].item)) {
            hits++;
            dcg += 1.0 / log2((double)i + 2);
        }
        if (i < npos)
            idcg += 1.0 / log2((double)i + 2);
    }
    *recall += (double)hits / (double)npos;
    *ndcg += dcg / idcg;
}

static void retrieval(const wr_model *m, const wr_labeled *v, const wr_eval_opts *o,
                      const int64_t *row_a, const int64_t *row_b, wr_eval_result *r)
{
    r->recall_at_k = r->ndcg_at_k = NAN;
    if (o->max_queries == 0)
        return;
    adjacency train = {0}, pos;
    if (o->train)
        train_adjacency(m, o->train, &train);
    positive_adjacency(v, row_a, row_b, &train, &pos);
    r->query_rows = sample_queries(&pos, o->max_queries, o->seed, &r->queries);
    if (r->queries > 0) {
        size_t nq = r->queries, dim = m->dim, k = o->k;
        float *base = model_normalized(m);
        float *qv = xmalloc(nq * dim * sizeof *qv);
        for (size_t i = 0; i < nq; i++)
            memcpy(qv + i * dim, base + (size_t)r->query_rows[i] * dim, dim * sizeof *qv);
        wr_hit *top = xmalloc(nq * k * sizeof *top);
        exclude_ctx ctx = {r->query_rows, &train};
        knn_topk(base, m->n, dim, qv, nq, k, exclude_seen, &ctx,
                 o->threads > 0 ? o->threads : wr_cpu_count(), top);
        double recall = 0, ndcg = 0;
        for (size_t i = 0; i < nq; i++)
            score_query(top + i * k, k, &pos, r->query_rows[i], &recall, &ndcg);
        r->recall_at_k = recall / (double)nq;
        r->ndcg_at_k = ndcg / (double)nq;
        free(top);
        free(qv);
        free(base);
    }
    free(train.key);
    free(pos.key);
}

int eval_model(const wr_model *m, const wr_labeled *v, const wr_eval_opts *o,
               wr_eval_result *r, wr_err *err)
{
    memset(r, 0, sizeof *r);
    if (v->n == 0)
        return wr_fail(err, "eval: no validation pairs");
    if (o->k == 0)
        return wr_fail(err, "eval: k must be at least 1");
    int64_t *row_a = xmalloc(v->n * sizeof *row_a), *row_b = xmalloc(v->n * sizeof *row_b);
    score_pairs(m, v, row_a, row_b, r);
    retrieval(m, v, o, row_a, row_b, r);
    free(row_a);
    free(row_b);
    return 0;
}
