/* bestepoch.c - how many epochs rank held-out pairs best (bestepoch.h). */
#include "walkrec/bestepoch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/rng.h"
#include "walkrec/util.h"

static uint64_t key_of(uint32_t x, uint32_t y)
{
    return x < y ? (uint64_t)x << 32 | y : (uint64_t)y << 32 | x;
}

static uint64_t key_at(const void *keys, size_t i) { return ((const uint64_t *)keys)[i]; }

static uint64_t pair_at(const void *pairs, size_t i)
{
    const wr_pair *p = (const wr_pair *)pairs + i;
    return key_of(p->a, p->b);
}

/* Whether key k is among the n sorted keys at(v, 0..n-1). */
static int has(const void *v, size_t n, uint64_t (*at)(const void *, size_t), uint64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(v, mid) < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && at(v, lo) == k;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static void push(wr_best_epoch *b, size_t *cap, uint32_t x, uint32_t y, uint8_t label)
{
    if (b->n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        b->a = xrealloc(b->a, *cap * sizeof *b->a);
        b->b = xrealloc(b->b, *cap * sizeof *b->b);
        b->label = xrealloc(b->label, *cap);
    }
    b->a[b->n] = x;
    b->b[b->n] = y;
    b->label[b->n++] = label;
}

/* Up to `want` uniform pairs of distinct items with training pairs that are neither a
 * pair of p nor a held-out positive (pos: sorted keys), drawn with replacement; fewer when
 * the graph leaves hardly any (at most 64 draws a pair). */
static void draw_negatives(wr_best_epoch *b, size_t *cap, const wr_pairs *p, const uint64_t *pos,
                           size_t npos, size_t want, uint64_t seed)
{
    uint32_t n = dict_size(p->ids), *items = xmalloc(((size_t)n + 1) * sizeof *items), m = 0;
    uint32_t *deg = pairs_degree(p);
    for (uint32_t i = 0; i < n; i++)
        if (deg[i])
            items[m++] = i;
    free(deg);
    wr_rng r;
    rng_seed(&r, seed ^ 0x62657374u);
    for (uint64_t tries = 0, got = 0; m > 1 && got < want && tries < 64 * (uint64_t)want;
         tries++) {
        uint32_t x = items[rng_below(&r, m)], y = items[rng_below(&r, m)];
        uint64_t k = key_of(x, y); /* p is merged: sorted by (a, b), a < b */
        if (x == y || has(pos, npos, key_at, k) || has(p->v, p->n, pair_at, k))
            continue;
        push(b, cap, x, y, 0);
        got++;
    }
    free(items);
}

void best_epoch_init(wr_best_epoch *b, const wr_labeled *v, const wr_pairs *p, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    size_t cap = 0, npos = 0;
    uint64_t *pos = xmalloc((v->n + 1) * sizeof *pos);
    for (size_t i = 0; i < v->n; i++) {
        int64_t x = v->label[i] ? dict_find(p->ids, v->a[i], strlen(v->a[i])) : -1;
        int64_t y = x >= 0 ? dict_find(p->ids, v->b[i], strlen(v->b[i])) : -1;
        if (x < 0 || y < 0 || x == y)
            continue;
        push(b, &cap, (uint32_t)x, (uint32_t)y, 1);
        pos[npos++] = key_of((uint32_t)x, (uint32_t)y);
    }
    b->positives = b->n;
    qsort(pos, npos, sizeof *pos, cmp_u64);
    size_t want = npos > WR_BEST_MIN_NEGATIVES ? npos : WR_BEST_MIN_NEGATIVES;
    if (npos)
        draw_negatives(b, &cap, p, pos, npos, want, seed);
    free(pos);
    b->score = xmalloc((b->n + 1) * sizeof *b->score);
    b->best_score = xmalloc((b->n + 1) * sizeof *b->best_score);
    b->auc = NAN;
    if (!(b->aucs = json_array()) || !(b->ses = json_array()))
        abort();
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* How many of the n sorted values are below x, ties counting a half. */
static double below(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n, eq;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (eq = lo; eq < n && v[eq] == x; eq++)
        ;
    return (double)lo + 0.5 * (double)(eq - lo);
}

/* DeLong's placements of scores s (the positives first, then the negatives): each
 * positive's share of negatives below it into v[0..m), each negative's share of positives
 * above it into v[m..n). */
static void placements(const double *s, size_t m, size_t n, double *v, double *tmp)
{
    size_t k = n - m;
    memcpy(tmp, s + m, k * sizeof *tmp);
    qsort(tmp, k, sizeof *tmp, cmp_double);
    for (size_t i = 0; i < m; i++)
        v[i] = below(tmp, k, s[i]) / (double)k;
    memcpy(tmp, s, m * sizeof *tmp);
    qsort(tmp, m, sizeof *tmp, cmp_double);
    for (size_t j = 0; j < k; j++)
        v[m + j] = ((double)m - below(tmp, m, s[m + j])) / (double)m;
}

double best_epoch_paired_se(const double *x, const double *y, size_t m, size_t n)
{
    if (m == 0 || m == n)
        return NAN;
    double *vx = xmalloc(n * sizeof *vx), *vy = xmalloc(n * sizeof *vy);
    double *t = xmalloc(n * sizeof *t), var = 0;
    placements(x, m, n, vx, t);
    placements(y, m, n, vy, t);
    for (int part = 0; part < 2; part++) { /* the positives', then the negatives' */
        size_t lo = part ? m : 0, hi = part ? n : m, c = hi - lo;
        double mean = 0, ss = 0;
        for (size_t i = lo; i < hi; i++)
            mean += vx[i] - vy[i];
        mean /= (double)c;
        for (size_t i = lo; i < hi; i++)
            ss += (vx[i] - vy[i] - mean) * (vx[i] - vy[i] - mean);
        var += c > 1 ? ss / (double)(c - 1) / (double)c : 0;
    }
    free(vx);
    free(vy);
    free(t);
    return sqrt(var);
}

static json_t *number_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

int best_epoch_check(wr_best_epoch *b, uint32_t epoch,
                     double (*score)(const void *ctx, uint32_t a, uint32_t b), const void *ctx)
{
    for (size_t i = 0; i < b->n; i++)
        b->score[i] = score(ctx, b->a[i], b->b[i]);
    double auc = eval_auc_roc(b->score, b->label, b->n), se = NAN;
    if (b->epoch && isfinite(b->auc) && isfinite(auc))
        se = best_epoch_paired_se(b->score, b->best_score, b->positives, b->n);
    if (json_array_append_new(b->aucs, number_or_null(auc)) < 0 ||
        json_array_append_new(b->ses, number_or_null(se)) < 0)
        abort(); /* only allocation fails here */
    if (b->epoch && isfinite(b->auc) && !(auc > b->auc + (isfinite(se) ? se : 0)))
        return 0;
    b->auc = auc;
    b->epoch = epoch;
    memcpy(b->best_score, b->score, b->n * sizeof *b->score);
    return 1;
}

json_t *best_epoch_meta(const wr_best_epoch *b)
{
    json_t *j = json_pack("{s:I, s:O, s:O, s:I, s:I}", "epoch", (json_int_t)b->epoch, "auc",
                          b->aucs, "se", b->ses, "positives", (json_int_t)b->positives,
                          "negatives", (json_int_t)(b->n - b->positives));
    if (!j)
        abort();
    return j;
}

void best_epoch_free(wr_best_epoch *b)
{
    free(b->a);
    free(b->b);
    free(b->label);
    free(b->score);
    free(b->best_score);
    json_decref(b->aucs);
    json_decref(b->ses);
    memset(b, 0, sizeof *b);
}
