/* eval.c - AUC-ROC, recall@k and NDCG@k of a model on a validation file, beside the
 * popularity baseline and, for calibrated models, the probability's AUC and calibration.
 *
 * The exact definitions are in eval.h. Pair scores are cosines in double precision so the
 * AUC agrees with an independent float64 computation (numpy + scikit-learn) to rounding;
 * retrieval reuses knn_topk (float32 BLAS) over the normalised vectors, or calib_topk to
 * rank by probability. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "walkrec/eval.h"
#include "walkrec/diverse.h"
#include "walkrec/knn.h"
#include "walkrec/lines.h"
#include "walkrec/lists.h"
#include "walkrec/rank.h"
#include "walkrec/rng.h"
#include "walkrec/text.h"

void eval_labeled_free(wr_labeled *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->a[i]);
        free(v->b[i]);
    }
    free(v->a);
    free(v->b);
    free(v->label);
    free(v->kind);
    memset(v, 0, sizeof *v);
}

/* The fourth column: the kind of a negative, nothing on a positive. */
static int labeled_kind(const wr_lines *l, int label, const char *f, uint8_t *kind, wr_err *err)
{
    *kind = WR_NEG_UNIFORM;
    if (!f)
        return 0;
    if (label)
        return *f ? wr_fail(err, "%s:%llu: a held-out pair (label 1) has no kind of negatives, "
                            "got '%s'", l->path, (unsigned long long)l->lineno, f) : 0;
    if (!strcmp(f, "degree"))
        *kind = WR_NEG_DEGREE;
    else if (strcmp(f, "uniform"))
        return wr_fail(err, "%s:%llu: negatives must be uniform or degree, got '%s'", l->path,
                       (unsigned long long)l->lineno, f);
    return 0;
}

static int labeled_line(wr_labeled *v, size_t *cap, wr_lines *l, wr_err *err)
{
    if (l->too_long)
        return wr_fail(err, "%s:%llu: line longer than %zu bytes", l->path,
                       (unsigned long long)l->lineno, l->max_len);
    char *f[5];
    int nf = text_split(l->buf, '\t', f, 5);
    if (nf != 3 && nf != 4)
        return wr_fail(err, "%s:%llu: expected 3 tab-separated columns (item_a, item_b, label) "
                       "and maybe a 4th (negatives), got %d", l->path,
                       (unsigned long long)l->lineno, nf);
    if (l->lineno == 1 && !strcmp(f[0], "item_a") && !strcmp(f[2], "label"))
        return 0;
    if (!*f[0] || !*f[1])
        return wr_fail(err, "%s:%llu: empty item id", l->path, (unsigned long long)l->lineno);
    if (strcmp(f[2], "0") && strcmp(f[2], "1"))
        return wr_fail(err, "%s:%llu: label must be 0 or 1, got '%s'", l->path,
                       (unsigned long long)l->lineno, f[2]);
    int label = f[2][0] == '1';
    uint8_t kind;
    if (labeled_kind(l, label, nf == 4 ? f[3] : NULL, &kind, err) < 0)
        return -1;
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        v->a = xrealloc(v->a, *cap * sizeof *v->a);
        v->b = xrealloc(v->b, *cap * sizeof *v->b);
        v->label = xrealloc(v->label, *cap);
        v->kind = xrealloc(v->kind, *cap);
    }
    v->a[v->n] = xstrdup(f[0]);
    v->b[v->n] = xstrdup(f[1]);
    v->kind[v->n] = kind;
    v->label[v->n++] = (uint8_t)label;
    return 0;
}

int eval_labeled_read(wr_labeled *v, const char *path, wr_err *err)
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
        eval_labeled_free(v);
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

double eval_auc_roc(const double *score, const uint8_t *label, size_t n)
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

const char *eval_unseen_name(int unseen) { return unseen == WR_UNSEEN_ZERO ? "zero" : "median"; }

int eval_unseen_parse(const char *name)
{
    return !strcmp(name, "median") ? WR_UNSEEN_MEDIAN : !strcmp(name, "zero") ? WR_UNSEEN_ZERO : -1;
}

void eval_default_opts(wr_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->max_queries = WR_EVAL_ALL_QUERIES;
    o->seed = 1;
    o->rank = WR_RANK_AUTO;
}

void eval_labeled_view(wr_labeled *v, const wr_valset *s, const wr_dict *ids)
{
    memset(v, 0, sizeof *v);
    v->n = s->n;
    v->a = xmalloc((s->n + 1) * sizeof *v->a);
    v->b = xmalloc((s->n + 1) * sizeof *v->b);
    v->label = s->label;
    v->kind = s->kind;
    for (size_t i = 0; i < s->n; i++) {
        v->a[i] = (char *)dict_str(ids, s->a[i]);
        v->b[i] = (char *)dict_str(ids, s->b[i]);
    }
}

void eval_labeled_release(wr_labeled *v)
{
    free(v->a);
    free(v->b);
    memset(v, 0, sizeof *v);
}

size_t eval_query_budget(size_t n, double comparisons, size_t lo, size_t hi)
{
    double q = n ? comparisons / (double)n : (double)hi;
    return q < (double)lo ? lo : q > (double)hi ? hi : (size_t)q;
}

void eval_result_free(wr_eval_result *r)
{
    free(r->scores);
    free(r->seen);
    free(r->query_rows);
    free(r->query_recall);
    free(r->popularity_scores);
    free(r->probabilities);
    calib_free(&r->calib);
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

/* ---- the model's own score ------------------------------------------------------------ */

/* Models from mf_train (mf.h) say in their metadata how a pair is scored: "dot" (the dot
 * product) or "dot+bias" (plus both item biases and the global bias). For binary labels
 * that is the logit of the model's probability: pairs and lists are scored by it rather
 * than by the sigmoid, which orders them the same but rounds large logits to one tie.
 * Every other model is scored by cosine. */
enum { SCORE_COSINE = 0, SCORE_DOT = 1, SCORE_DOT_BIAS = 2 };

typedef struct model_score {
    int kind;
    double global; /* SCORE_DOT_BIAS */
} model_score;

static int model_score_read(const wr_model *m, model_score *ms, wr_err *err)
{
    ms->kind = SCORE_COSINE;
    ms->global = 0;
    json_t *meta = m->meta_json ? json_loads(m->meta_json, 0, NULL) : NULL;
    json_t *sc = json_object_get(meta, "score");
    const char *name = json_string_value(sc);
    int rc = 0;
    if (!sc || (name && !strcmp(name, "cosine")))
        ms->kind = SCORE_COSINE;
    else if (name && !strcmp(name, "dot"))
        ms->kind = SCORE_DOT;
    else if (name && !strcmp(name, "dot+bias"))
        ms->kind = SCORE_DOT_BIAS;
    else
        rc = wr_fail(err, "eval: the model's metadata names an unknown score (expected "
                     "cosine, dot or dot+bias)");
    if (rc == 0 && ms->kind == SCORE_DOT_BIAS) {
        json_t *g = json_object_get(meta, "global_bias");
        if (!m->bias || json_object_get(meta, "calibration"))
            rc = wr_fail(err, "eval: a model scored by dot+bias needs its item biases in the "
                         "bias section and no calibration");
        else if (!json_is_number(g) || !isfinite(ms->global = json_number_value(g)))
            rc = wr_fail(err, "eval: a model scored by dot+bias needs a finite global_bias");
    }
    json_decref(meta);
    return rc;
}

static double dot_score(const wr_model *m, const model_score *ms, uint32_t a, uint32_t b)
{
    const float *x = m->vecs + (size_t)a * m->dim, *y = m->vecs + (size_t)b * m->dim;
    double s = 0;
    for (uint32_t d = 0; d < m->dim; d++)
        s += (double)x[d] * y[d];
    if (ms->kind == SCORE_DOT_BIAS)
        s += (double)m->bias[a] + m->bias[b] + ms->global;
    return s;
}

/* Top k by the model's dot score with knn_topk: a base row is [v, bias, 1] and a query
 * row [v, 1, bias + global], so that their product is the score. */
static void dot_topk(const wr_model *m, const model_score *ms, const uint32_t *query, size_t nq,
                     size_t k, wr_knn_exclude exclude, void *ctx, int threads, wr_hit *out)
{
    int bias = ms->kind == SCORE_DOT_BIAS;
    size_t dim = m->dim, w = dim + 2 * (size_t)bias;
    float *base = xmalloc(((size_t)m->n * w + 1) * sizeof *base);
    float *qv = xmalloc((nq * w + 1) * sizeof *qv);
    for (uint32_t i = 0; i < m->n; i++) {
        memcpy(base + i * w, m->vecs + (size_t)i * dim, dim * sizeof *base);
        if (bias) {
            base[i * w + dim] = m->bias[i];
            base[i * w + dim + 1] = 1;
        }
    }
    for (size_t i = 0; i < nq; i++) {
        memcpy(qv + i * w, base + (size_t)query[i] * w, dim * sizeof *qv);
        if (bias) {
            qv[i * w + dim] = 1;
            qv[i * w + dim + 1] = (float)(m->bias[query[i]] + ms->global);
        }
    }
    knn_topk(base, m->n, w, qv, nq, k, exclude, ctx, threads, out);
    free(qv);
    free(base);
}

/* ---- evaluation sets: the positives with one kind of negatives ----------------------- */

static int row_kind(const wr_labeled *v, size_t i)
{
    return v->kind ? v->kind[i] : WR_NEG_UNIFORM;
}

static int in_set(const wr_labeled *v, size_t i, int kind)
{
    return v->label[i] || row_kind(v, i) == kind;
}

/* AUCs of score s over one set. With fill, an unseen row scores the median of the set's
 * seen rows (returned); without, every row is scored as it is. */
static double set_auc(const wr_labeled *v, const uint8_t *seen, const double *s, int kind,
                      int fill, double *all, double *seen_auc)
{
    size_t n = v->n, na = 0, ns = 0;
    double *as = xmalloc(n * sizeof *as), *ss = xmalloc(n * sizeof *ss);
    uint8_t *al = xmalloc(n), *sl = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        if (in_set(v, i, kind) && seen[i]) {
            ss[ns] = s[i];
            sl[ns++] = v->label[i];
        }
    double med = fill ? median(ss, ns) : 0;
    for (size_t i = 0; i < n; i++)
        if (in_set(v, i, kind)) {
            as[na] = seen[i] || !fill ? s[i] : med;
            al[na++] = v->label[i];
        }
    *all = eval_auc_roc(as, al, na);
    *seen_auc = eval_auc_roc(ss, sl, ns);
    free(as);
    free(ss);
    free(al);
    free(sl);
    return med;
}

/* Both sets of one score into a; the degree set only when the file has degree negatives. */
static void score_aucs(const wr_labeled *v, const uint8_t *seen, const double *s, int fill,
                       const wr_eval_result *r, wr_eval_auc *a)
{
    set_auc(v, seen, s, r->primary, fill, &a->all, &a->seen);
    a->degree_all = a->degree_seen = NAN;
    if (r->negatives_degree)
        set_auc(v, seen, s, WR_NEG_DEGREE, fill, &a->degree_all, &a->degree_seen);
}

static void count_kinds(const wr_labeled *v, wr_eval_result *r)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->label[i])
            r->positives++;
        else if (row_kind(v, i) == WR_NEG_DEGREE)
            r->negatives_degree++;
        else
            r->negatives_uniform++;
    }
    r->primary = r->negatives_uniform || !r->negatives_degree ? WR_NEG_UNIFORM : WR_NEG_DEGREE;
}

/* ---- pair scores ---------------------------------------------------------------------- */

/* Cosines (or the model's own scores) of the seen pairs and their AUCs; unseen pairs get
 * the primary set's median. */
static void score_cosine(const wr_model *m, const model_score *ms, const wr_labeled *v,
                         const int64_t *row_a, const int64_t *row_b, int fill,
                         wr_eval_result *r)
{
    double *inv = inverse_norms(m);
    r->scores = xmalloc(v->n * sizeof *r->scores);
    r->seen = xmalloc(v->n);
    for (size_t i = 0; i < v->n; i++) {
        r->seen[i] = row_a[i] >= 0 && row_b[i] >= 0;
        if (r->seen[i] && ms->kind != SCORE_COSINE)
            r->scores[i] = dot_score(m, ms, (uint32_t)row_a[i], (uint32_t)row_b[i]);
        else
            r->scores[i] = r->seen[i] ? cosine(m, inv, (uint32_t)row_a[i], (uint32_t)row_b[i]) : 0;
        r->pairs_seen += r->seen[i];
    }
    r->pairs_unseen = v->n - r->pairs_seen;
    double med = set_auc(v, r->seen, r->scores, r->primary, fill, &r->auc_all, &r->auc_seen);
    for (size_t i = 0; i < v->n && fill; i++)
        if (!r->seen[i])
            r->scores[i] = med;
    r->deg_auc_all = r->deg_auc_seen = NAN;
    if (r->negatives_degree)
        set_auc(v, r->seen, r->scores, WR_NEG_DEGREE, fill, &r->deg_auc_all, &r->deg_auc_seen);
    free(inv);
}

/* log1p of the training degree of an id; 0 when it has no training pair. */
static double log_degree(const wr_pairs *t, const uint32_t *deg, const char *id)
{
    int64_t i = dict_find(t->ids, id, strlen(id));
    return i < 0 ? 0 : log1p(deg[i]);
}

static void score_popularity(const wr_labeled *v, const wr_pairs *t, int fill,
                             wr_eval_result *r)
{
    uint32_t *deg = pairs_degree(t);
    r->popularity_scores = xmalloc(v->n * sizeof *r->popularity_scores);
    for (size_t i = 0; i < v->n; i++)
        r->popularity_scores[i] = log_degree(t, deg, v->a[i]) + log_degree(t, deg, v->b[i]);
    free(deg);
    /* auc_all: the unseen rule as for the cosine; auc_seen: the model's seen pairs */
    score_aucs(v, r->seen, r->popularity_scores, fill, r, &r->popularity);
}

/* The bins of the probabilities of the primary set's pairs (with seen[i], or all when seen
 * is NULL) into rel (may be NULL), each class weighing the same: the population the
 * probability states (calib.h). Returns the ECE; the Brier score and its pairs are set when
 * the pointers are not NULL. */
static double reliability(const wr_labeled *v, int primary, const double *p,
                          const uint8_t *seen, wr_reliability_bin *rel, double *brier,
                          double *brier_constant, size_t *pairs)
{
    size_t count[2] = {0}, used = 0, cnt[WR_EVAL_BINS] = {0};
    for (size_t i = 0; i < v->n; i++)
        if ((!seen || seen[i]) && in_set(v, i, primary))
            count[v->label[i] != 0]++;
    double bw[WR_EVAL_BINS] = {0}, bp[WR_EVAL_BINS] = {0}, by[WR_EVAL_BINS] = {0};
    double sw = 0, swy = 0, sb = 0, ece = 0;
    for (size_t i = 0; i < v->n && count[0] && count[1]; i++) {
        if ((seen && !seen[i]) || !in_set(v, i, primary))
            continue;
        int y = v->label[i] != 0, b = (int)(p[i] * WR_EVAL_BINS);
        double w = 1.0 / (double)count[y];
        b = b < 0 ? 0 : b >= WR_EVAL_BINS ? WR_EVAL_BINS - 1 : b;
        cnt[b]++;
        bw[b] += w;
        bp[b] += w * p[i];
        by[b] += w * y;
        sw += w;
        swy += w * y;
        sb += w * (p[i] - y) * (p[i] - y);
        used++;
    }
    for (int b = 0; b < WR_EVAL_BINS; b++) {
        if (bw[b] > 0)
            ece += bw[b] / sw * fabs(by[b] / bw[b] - bp[b] / bw[b]);
        if (rel)
            rel[b] = (wr_reliability_bin){
                .lo = (double)b / WR_EVAL_BINS, .hi = (double)(b + 1) / WR_EVAL_BINS,
                .count = cnt[b], .mean_predicted = bw[b] > 0 ? bp[b] / bw[b] : NAN,
                .observed = bw[b] > 0 ? by[b] / bw[b] : NAN};
    }
    double base = sw > 0 ? swy / sw : NAN;
    if (brier) {
        *brier = sw > 0 ? sb / sw : NAN;
        *brier_constant = base * (1 - base);
        *pairs = used;
    }
    return sw > 0 ? ece : NAN;
}

/* Probabilities of all pairs from the cosines, the model's log degrees and the rows' cosines
 * to the centre (an item missing from the model: log degree 0, the cosine and the hub
 * product at the calibration's means, calib.h); AUCs on the logit, which keeps its order
 * where the probability rounds to 0 or 1. */
static void score_probability(const wr_model *m, const wr_labeled *v, const int64_t *row_a,
                              const int64_t *row_b, int fill, wr_eval_result *r)
{
    const wr_calib *c = &r->calib;
    double *z = xmalloc(v->n * sizeof *z);
    r->probabilities = xmalloc(v->n * sizeof *r->probabilities);
    for (size_t i = 0; i < v->n; i++) {
        double la = row_a[i] >= 0 ? m->bias[row_a[i]] : 0;
        double lb = row_b[i] >= 0 ? m->bias[row_b[i]] : 0;
        double cos = c->cos_mean, hub = c->hub_mean;
        if (r->seen[i]) {
            cos = r->scores[i];
            hub = c->hub ? (double)c->hub[row_a[i]] * c->hub[row_b[i]] : 0;
        }
        z[i] = calib_logit(c, cos, la, lb, hub);
        r->probabilities[i] = calib_prob(c, cos, la, lb, hub);
    }
    score_aucs(v, r->seen, z, fill, r, &r->probability);
    r->ece = reliability(v, r->primary, r->probabilities, r->seen, r->reliability, &r->brier,
                         &r->brier_constant, &r->brier_pairs);
    r->ece_all = reliability(v, r->primary, r->probabilities, NULL, NULL, NULL, NULL, NULL);
    free(z);
}

/* ---- neighbour lists ------------------------------------------------------------------ */

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

/* Training neighbours over model rows (pairs whose items are both in the model), and the
 * training degree of every model row into deg_row when it is not NULL. */
static void train_adjacency(const wr_model *m, const wr_pairs *t, adjacency *g, uint32_t *deg_row)
{
    g->key = xmalloc((2 * t->n + 1) * sizeof *g->key);
    g->n = 0;
    uint32_t nid = dict_size(t->ids);
    int64_t *row = xmalloc(((size_t)nid + 1) * sizeof *row);
    for (uint32_t i = 0; i < nid; i++)
        row[i] = model_find(m, dict_str(t->ids, i));
    for (size_t i = 0; i < t->n; i++) {
        int64_t a = row[t->v[i].a], b = row[t->v[i].b];
        if (deg_row && a >= 0)
            deg_row[a]++;
        if (deg_row && b >= 0)
            deg_row[b]++;
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

/* A seeded hash of an id (FNV-1a, then a 64-bit finaliser): which queries a sample takes
 * depends on the ids and the seed, not on the model's row order. */
static uint64_t id_hash(const char *id, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ (seed * 0x9e3779b97f4a7c15ull);
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

typedef struct hashed {
    uint64_t h;
    uint32_t row;
} hashed;

static int cmp_hashed(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h;
}

/* The distinct sources of g; when more than max, the max whose ids hash lowest with the
 * seed (so two models of the same items query the same ones whatever their row order);
 * ascending rows. */
static uint32_t *sample_queries(const wr_model *m, const adjacency *g, size_t max,
                                uint64_t seed, size_t *nq, size_t *candidates)
{
    uint32_t *q = xmalloc((g->n + 1) * sizeof *q);
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        uint32_t from = (uint32_t)(g->key[i] >> 32);
        if (n == 0 || q[n - 1] != from)
            q[n++] = from;
    }
    *candidates = n;
    if (max == WR_EVAL_ALL_QUERIES) /* every query while it fits the budget */
        max = n <= eval_query_budget(m->n, WR_EVAL_QUERY_COMPARISONS, 0, SIZE_MAX / 2)
                  ? n : eval_query_budget(m->n, WR_EVAL_QUERY_COMPARISONS, 2000, n);
    if (n > max) {
        hashed *h = xmalloc(n * sizeof *h);
        for (size_t i = 0; i < n; i++)
            h[i] = (hashed){id_hash(dict_str(m->ids, q[i]), seed), q[i]};
        qsort(h, n, sizeof *h, cmp_hashed);
        for (size_t i = 0; i < max; i++)
            q[i] = h[i].row;
        free(h);
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

/* Adds NDCG of one query's top-k list; returns its recall. */
static double score_query(const wr_hit *top, size_t k, const adjacency *pos, uint32_t q,
                          double *ndcg)
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
    *ndcg += dcg / idcg;
    return (double)hits / (double)npos;
}

/* Recall, NDCG, coverage and mean log degree of nq lists of k (deg_row NULL: no degrees);
 * each query's recall into per_query unless it is NULL. */
static wr_eval_lists list_metrics(const wr_hit *top, size_t nq, size_t k, const adjacency *pos,
                                  const uint32_t *query, uint32_t n_items, const uint32_t *deg_row,
                                  double *per_query)
{
    double recall = 0, ndcg = 0, logdeg = 0;
    size_t listed = 0, covered = 0;
    uint8_t *hit = xcalloc((size_t)n_items + 1, 1);
    for (size_t i = 0; i < nq; i++) {
        double rq = score_query(top + i * k, k, pos, query[i], &ndcg);
        recall += rq;
        if (per_query)
            per_query[i] = rq;
        for (size_t j = 0; j < k; j++) {
            uint32_t item = top[i * k + j].item;
            if (item == UINT32_MAX)
                continue;
            covered += !hit[item];
            hit[item] = 1;
            listed++;
            if (deg_row)
                logdeg += log1p(deg_row[item]);
        }
    }
    free(hit);
    return (wr_eval_lists){recall / (double)nq, ndcg / (double)nq,
                           (double)covered / (double)n_items,
                           deg_row && listed ? logdeg / (double)listed : NAN};
}

/* Popularity lists: the model rows by training degree (highest first, then lower row), each
 * query taking the first k it does not exclude. */
static void popularity_topk(uint32_t n, const uint32_t *deg_row, const uint32_t *query,
                            size_t nq, size_t k, const adjacency *train, wr_hit *out)
{
    uint64_t *order = xmalloc(((size_t)n + 1) * sizeof *order);
    for (uint32_t r = 0; r < n; r++)
        order[r] = (uint64_t)(UINT32_MAX - deg_row[r]) << 32 | r;
    qsort(order, n, sizeof *order, cmp_u64);
    for (size_t i = 0; i < nq; i++) {
        size_t got = 0;
        for (uint32_t s = 0; s < n && got < k; s++) {
            uint32_t item = (uint32_t)order[s];
            if (item != query[i] && !adj_has(train, query[i], item))
                out[i * k + got++] = (wr_hit){item, (float)deg_row[item]};
        }
        for (; got < k; got++)
            out[i * k + got] = (wr_hit){UINT32_MAX, -INFINITY};
    }
    free(order);
}

/* The stored lists as served: each query's list minus what exclude_seen leaves out. */
static void stored_topk(const wr_model *m, const wr_eval_result *r, size_t k, exclude_ctx *ctx,
                        wr_hit *top)
{
    for (size_t i = 0; i < r->queries; i++) {
        const uint32_t *item = m->list_item + (size_t)r->query_rows[i] * m->list_k;
        const float *score = m->list_score + (size_t)r->query_rows[i] * m->list_k;
        size_t got = 0;
        for (uint32_t j = 0; j < m->list_k && got < k && item[j] != UINT32_MAX; j++)
            if (!exclude_seen(i, item[j], ctx))
                top[i * k + got++] = (wr_hit){item[j], score[j]};
        for (; got < k; got++)
            top[i * k + got] = (wr_hit){UINT32_MAX, -INFINITY};
    }
}

/* base: the model's unit vectors (model_normalized), for the cosine and the probability. */
static void model_topk(const wr_model *m, const float *base, const model_score *ms,
                       const wr_eval_opts *o, const wr_eval_result *r, const adjacency *train,
                       wr_hit *top)
{
    size_t nq = r->queries, dim = m->dim, k = o->k;
    int threads = o->threads > 0 ? o->threads : wr_cpu_count();
    exclude_ctx ctx = {r->query_rows, train};
    if (o->from_lists) {
        stored_topk(m, r, k, &ctx, top);
        return;
    }
    if (ms->kind != SCORE_COSINE) {
        dot_topk(m, ms, r->query_rows, nq, k, exclude_seen, &ctx, threads, top);
        return;
    }
    if (r->rank == WR_RANK_PROBABILITY) {
        calib_topk(m, base, &r->calib, r->query_rows, nq, k, exclude_seen, &ctx, threads, top);
    } else {
        float *qv = xmalloc(nq * dim * sizeof *qv);
        for (size_t i = 0; i < nq; i++)
            memcpy(qv + i * dim, base + (size_t)r->query_rows[i] * dim, dim * sizeof *qv);
        knn_topk(base, m->n, dim, qv, nq, k, exclude_seen, &ctx, threads, top);
        free(qv);
    }
}

typedef struct rows_src {
    const float *unit;
    uint32_t dim;
    const char *const *values;
} rows_src;

static const float *row_vector(const void *ctx, uint32_t item)
{
    const rows_src *c = ctx;
    return c->unit + (size_t)item * c->dim;
}

static const char *row_value(const void *ctx, uint32_t item)
{
    return ((const rows_src *)ctx)->values[item];
}

/* model_topk, diversified when the opts ask for it (diverse.h), and the lists' intra-list
 * similarity and attribute entropy into r. */
static void diverse_topk(const wr_model *m, const model_score *ms, const wr_eval_opts *o,
                         wr_eval_result *r, const adjacency *train, wr_hit *top)
{
    size_t nq = r->queries, k = o->k;
    int diverse = o->diversity > 0 || o->max_per;
    wr_eval_opts po = *o;
    if (diverse)
        po.k = k * 5 > 50 ? k * 5 : 50;
    wr_hit *pool = diverse ? xmalloc(nq * po.k * sizeof *pool) : top;
    rows_src rs = {model_normalized(m), m->dim, o->values}; /* for the lists and the measures */
    model_topk(m, rs.unit, ms, &po, r, train, pool);
    wr_diverse_src src = {row_vector, o->values ? row_value : NULL, &rs, m->dim};
    double ils = 0, ent = 0;
    size_t ni = 0, ne = 0;
    for (size_t q = 0; q < nq; q++) {
        wr_hit *l = top + q * k;
        if (diverse) {
            size_t got = diverse_pick(pool + q * po.k, po.k, k, o->diversity, o->max_per, &src, l);
            for (size_t i = got; i < k; i++)
                l[i] = (wr_hit){.item = UINT32_MAX, .score = -INFINITY};
        }
        double s = diverse_ils(l, k, &src), e = o->values ? diverse_entropy(l, k, &src) : NAN;
        ils += isfinite(s) ? s : 0, ni += isfinite(s);
        ent += isfinite(e) ? e : 0, ne += isfinite(e);
    }
    r->ils = ni ? ils / (double)ni : NAN;
    r->attr_entropy = ne ? ent / (double)ne : NAN;
    free((float *)rs.unit);
    if (diverse)
        free(pool);
}

static double catalogue_log_degree(uint32_t n, const uint32_t *deg_row)
{
    double s = 0;
    for (uint32_t r = 0; r < n; r++)
        s += log1p(deg_row[r]);
    return n ? s / n : NAN;
}

static void retrieval(const wr_model *m, const model_score *ms, const wr_labeled *v,
                      const wr_eval_opts *o, const int64_t *row_a, const int64_t *row_b,
                      wr_eval_result *r)
{
    const wr_eval_lists none = {NAN, NAN, NAN, NAN};
    r->popularity_lists = none;
    r->recall_at_k = r->ndcg_at_k = r->coverage_at_k = r->mean_log_degree = NAN;
    r->ils = r->attr_entropy = NAN;
    r->catalogue_log_degree = NAN;
    adjacency train = {0}, pos;
    uint32_t *deg_row = NULL;
    if (o->train) {
        deg_row = xcalloc((size_t)m->n + 1, sizeof *deg_row);
        train_adjacency(m, o->train, &train, deg_row);
        r->catalogue_log_degree = catalogue_log_degree(m->n, deg_row);
    }
    if (o->max_queries == 0)
        goto done;
    positive_adjacency(v, row_a, row_b, &train, &pos);
    r->query_rows = sample_queries(m, &pos, o->max_queries, o->seed, &r->queries,
                                   &r->query_items);
    if (r->queries > 0) {
        size_t nq = r->queries, k = o->k;
        wr_hit *top = xmalloc(nq * k * sizeof *top);
        diverse_topk(m, ms, o, r, &train, top);
        r->query_recall = xmalloc(nq * sizeof *r->query_recall);
        wr_eval_lists l = list_metrics(top, nq, k, &pos, r->query_rows, m->n, deg_row,
                                       r->query_recall);
        r->recall_at_k = l.recall;
        r->ndcg_at_k = l.ndcg;
        r->coverage_at_k = l.coverage;
        r->mean_log_degree = l.mean_log_degree;
        if (deg_row) {
            popularity_topk(m->n, deg_row, r->query_rows, nq, k, &train, top);
            r->popularity_lists = list_metrics(top, nq, k, &pos, r->query_rows, m->n, deg_row,
                                               NULL);
        }
        free(top);
    }
    free(pos.key);
done:
    free(train.key);
    free(deg_row);
}

int eval_model(const wr_model *m, const wr_labeled *v, const wr_eval_opts *o,
               wr_eval_result *r, wr_err *err)
{
    memset(r, 0, sizeof *r);
    if (v->n == 0)
        return wr_fail(err, "eval: no validation pairs");
    if (o->k == 0)
        return wr_fail(err, "eval: k must be at least 1");
    model_score ms;
    if (model_score_read(m, &ms, err) < 0)
        return -1;
    int has = calib_load(m, &r->calib, err);
    if (has < 0)
        return -1;
    if (o->rank == WR_RANK_PROBABILITY && !has)
        return wr_fail(err, "eval: ranking by probability needs a calibrated model (this one "
                       "has no calibration in its metadata)");
    r->has_probability = has;
    r->has_popularity = o->train != NULL;
    r->rank = o->rank != WR_RANK_AUTO ? o->rank : has ? r->calib.rank : WR_RANK_COSINE;
    if (o->from_lists) {
        wr_lists l = {0};
        json_t *d = m->lists_json ? json_loads(m->lists_json, 0, NULL) : NULL;
        int ok = d && m->list_item && lists_read_description(d, &l) == 0;
        json_decref(d);
        if (!ok) {
            if (has)
                calib_free(&r->calib);
            return wr_fail(err, "eval: --lists needs a model that carries its neighbour lists "
                           "(walkrec index)");
        }
        r->rank = l.rank;
    }
    count_kinds(v, r);
    int64_t *row_a = xmalloc(v->n * sizeof *row_a), *row_b = xmalloc(v->n * sizeof *row_b);
    for (size_t i = 0; i < v->n; i++) {
        row_a[i] = model_find(m, v->a[i]);
        row_b[i] = model_find(m, v->b[i]);
    }
    int fill = o->unseen != WR_UNSEEN_ZERO; /* one rule for every row */
    r->unseen = o->unseen;
    score_cosine(m, &ms, v, row_a, row_b, fill, r);
    if (o->train)
        score_popularity(v, o->train, fill, r);
    if (has)
        score_probability(m, v, row_a, row_b, fill, r);
    retrieval(m, &ms, v, o, row_a, row_b, r);
    free(row_a);
    free(row_b);
    return 0;
}
