/* overlay.c - the overlay of provisional items (see overlay.h).
 *
 * The thread keeps, for every ingested item the live model does not know, the summed
 * weight of each partner it was ingested with. Whenever pairs arrive or an index is
 * published it builds a new overlay from scratch against the published index — the items
 * the index now knows are dropped for good — and publishes it beside that index
 * (snapshot.h). Building takes one short read section per item (a vector sum and one exact
 * scan, or a copy of the row of the overlay already published over the same index), so
 * publishers never wait long; if the index changes meanwhile, the build starts over. */
#include "walkrec/overlay.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/dict.h"
#include "walkrec/live.h"
#include "walkrec/snapshot.h"

struct wr_overlay {
    uint64_t serial;    /* of the index it was built over (index_info) */
    uint32_t n, dim, k;
    wr_dict *ids;
    float *vecs;        /* n x dim, unit */
    uint32_t *nb;       /* n x k index rows, UINT32_MAX padded */
    float *score;       /* n x k */
    uint32_t *partners; /* known partners each vector was averaged from */
    uint64_t *poff;     /* n + 1: each row's known partners in prow, pw (by row) ... */
    uint32_t *prow;     /* ... their index rows ... */
    float *pw;          /* ... and the summed weights of the ingested pairs (explain.h) */
    size_t pcap;
    float *logdeg;      /* log1p of the summed weight of each item's ingested pairs */
    /* the way back: for index rows, the provisional items that list them among their
     * first NEAR neighbours, sorted by row, then score */
    size_t ninv;
    uint32_t *inv_row, *inv_prov;
    float *inv_score;
    uint32_t *by_id;    /* rows in byte order of their ids (overlay_prefix) */
};

#define NEAR 20

typedef struct partner {
    char *id;
    double w;
} partner;

typedef struct item {
    partner *p;
    size_t n, cap;
    int dirty; /* partners changed since the last overlay */
} item;

static struct {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, stop, dirty;
    uint32_t k;
    wr_dict *ids; /* unknown items seen in ingested pairs */
    item *items;
    size_t cap;
    uint64_t through; /* log position the last replay read to: notes up to it are in */
    uint64_t epoch;   /* replays from the start so far: a build in between starts over */
    size_t served;    /* items of the overlay published last */
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void item_free(item *it);

/* ---- reading ---- */

int64_t overlay_find(const wr_overlay *ov, const char *id, size_t len)
{
    return ov ? dict_find(ov->ids, id, len) : -1;
}

uint64_t overlay_serial(const wr_overlay *ov) { return ov->serial; }

const float *overlay_vector(const wr_overlay *ov, uint32_t row)
{
    return ov->vecs + (size_t)row * ov->dim;
}

uint32_t overlay_partners(const wr_overlay *ov, uint32_t row) { return ov->partners[row]; }

size_t overlay_pairs(const wr_overlay *ov, uint32_t row, const uint32_t **rows, const float **w)
{
    *rows = ov->prow + ov->poff[row];
    *w = ov->pw + ov->poff[row];
    return (size_t)(ov->poff[row + 1] - ov->poff[row]);
}

float overlay_logdeg(const wr_overlay *ov, uint32_t row) { return ov->logdeg[row]; }

const char *overlay_id(const wr_overlay *ov, uint32_t row) { return dict_str(ov->ids, row); }

size_t overlay_near(const wr_overlay *ov, uint32_t index_row, const uint32_t **prov,
                    const float **score)
{
    size_t lo = 0, hi = ov ? ov->ninv : 0;
    while (lo < hi) { /* the first entry of index_row */
        size_t mid = lo + (hi - lo) / 2;
        if (ov->inv_row[mid] < index_row)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < (ov ? ov->ninv : 0) && ov->inv_row[end] == index_row)
        end++;
    *prov = ov ? ov->inv_prov + lo : NULL;
    *score = ov ? ov->inv_score + lo : NULL;
    return end - lo;
}

size_t overlay_size(const wr_overlay *ov) { return ov ? ov->n : 0; }

size_t overlay_prefix(const wr_overlay *ov, const char *p, size_t len, const char *after,
                      uint32_t *rows, size_t max)
{
    return ov ? dict_prefix(ov->ids, ov->by_id, p, len, after, rows, max) : 0;
}

static int no_filter(const wr_filter *f)
{
    return !f->n_exclude && !f->accept && isinf(f->min_score) && f->min_score < 0;
}

size_t overlay_neighbors(const wr_overlay *ov, const wr_index *ix, uint32_t row, size_t k,
                         const wr_filter *f, wr_hit *out)
{
    if (k <= ov->k && no_filter(f)) { /* hidden rows shorten the list (as index.h's) */
        const uint32_t *nb = ov->nb + (size_t)row * ov->k;
        const float *score = ov->score + (size_t)row * ov->k;
        size_t got = 0;
        for (size_t i = 0; i < k && nb[i] != UINT32_MAX; i++)
            if (!index_filter_hidden(f, nb[i]))
                out[got++] = (wr_hit){nb[i], score[i]};
        return got;
    }
    return index_neighbors_vec(ix, overlay_vector(ov, row), k, f, out);
}

void overlay_free(wr_overlay *ov)
{
    if (!ov)
        return;
    dict_free(ov->ids);
    free(ov->vecs);
    free(ov->nb);
    free(ov->score);
    free(ov->partners);
    free(ov->poff);
    free(ov->prow);
    free(ov->pw);
    free(ov->logdeg);
    free(ov->inv_row);
    free(ov->inv_prov);
    free(ov->inv_score);
    free(ov->by_id);
    free(ov);
}

/* ---- ingestion's side ---- */

static void add_partner(uint32_t u, const char *id, size_t len, double w)
{
    if (u >= P.cap) {
        size_t cap = P.cap ? 2 * P.cap : 64;
        while (cap <= u)
            cap *= 2;
        P.items = xrealloc(P.items, cap * sizeof *P.items);
        memset(P.items + P.cap, 0, (cap - P.cap) * sizeof *P.items);
        P.cap = cap;
    }
    item *it = &P.items[u];
    it->dirty = 1;
    for (size_t i = 0; i < it->n; i++)
        if (strlen(it->p[i].id) == len && !memcmp(it->p[i].id, id, len)) {
            it->p[i].w += w;
            return;
        }
    if (it->n == it->cap) {
        it->cap = it->cap ? 2 * it->cap : 4;
        it->p = xrealloc(it->p, it->cap * sizeof *it->p);
    }
    it->p[it->n++] = (partner){xstrndup(id, len), w};
}

/* overlay_note's work, with P.mu held inside a read section. */
static int note(const wr_index *ix, const wr_wal_pair *p, size_t n)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        int ka = ix && index_find(ix, p[i].a, p[i].alen) >= 0,
            kb = ix && index_find(ix, p[i].b, p[i].blen) >= 0;
        if (ka && kb)
            continue;
        if (p[i].alen == p[i].blen && !memcmp(p[i].a, p[i].b, p[i].alen))
            continue;
        if (!ka)
            add_partner(dict_intern(P.ids, p[i].a, p[i].alen), p[i].b, p[i].blen, p[i].w);
        if (!kb)
            add_partner(dict_intern(P.ids, p[i].b, p[i].blen), p[i].a, p[i].alen, p[i].w);
        any = 1;
    }
    return any;
}

static void wake(void)
{
    P.dirty = 1;
    pthread_cond_signal(&P.cv);
}

void overlay_note(const wr_wal_pair *p, size_t n, uint64_t pos)
{
    if (!P.started)
        return;
    const wr_snapshot *s = live_acquire();
    pthread_mutex_lock(&P.mu);
    if ((!pos || pos > P.through) && note(s ? s->index : NULL, p, n))
        wake();
    pthread_mutex_unlock(&P.mu);
    live_release();
}

/* A delete (wal.h): forgets the pairs of id ingested so far, as training leaves them out:
 * its own partners and its place among the partners of others (with P.mu held). */
static void forget_item(const char *id, size_t len)
{
    int64_t u = dict_find(P.ids, id, len);
    if (u >= 0 && (size_t)u < P.cap) {
        item_free(&P.items[u]);
        P.items[u] = (item){NULL, 0, 0, 1};
    }
    for (size_t v = 0; v < P.cap; v++) {
        item *it = &P.items[v];
        for (size_t i = 0; i < it->n; i++)
            if (strlen(it->p[i].id) == len && !memcmp(it->p[i].id, id, len)) {
                free(it->p[i].id);
                it->p[i] = it->p[--it->n];
                it->dirty = 1;
                break;
            }
    }
}

void overlay_delete(const char *id, size_t len, uint64_t pos)
{
    if (!P.started)
        return;
    pthread_mutex_lock(&P.mu);
    if (!pos || pos > P.through) {
        forget_item(id, len);
        wake();
    }
    pthread_mutex_unlock(&P.mu);
}

/* Forgets every item (with P.mu held). */
static void forget(void)
{
    for (size_t u = 0; u < P.cap; u++)
        item_free(&P.items[u]);
    free(P.items);
    P.items = NULL;
    P.cap = 0;
    dict_free(P.ids);
    P.ids = dict_new(1024);
    P.epoch++;
}

typedef struct replay_ctx {
    uint64_t trained, pending, pairs, deletes;
} replay_ctx;

static int replay_record(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    replay_ctx *c = ud;
    const wr_snapshot *s = live_acquire();
    pthread_mutex_lock(&P.mu);
    note(s ? s->index : NULL, p, n);
    pthread_mutex_unlock(&P.mu);
    live_release();
    c->pairs += n;
    if (off >= c->trained)
        c->pending += n;
    return 0;
}

static int replay_item(void *ud, uint64_t off, int kind, const char *id, size_t len,
                       const char *data, size_t dlen)
{
    replay_ctx *c = ud;
    (void)data, (void)dlen;
    if (kind != WR_WAL_DELETE)
        return 0;
    pthread_mutex_lock(&P.mu);
    forget_item(id, len);
    pthread_mutex_unlock(&P.mu);
    c->deletes++;
    return 0;
}

int overlay_replay(const char *path, int reset, uint64_t stop, uint64_t trained,
                   wr_overlay_replay *out, wr_err *err)
{
    if (!P.started)
        return 0;
    double t0 = wr_now();
    replay_ctx c = {trained, 0, 0, 0};
    uint64_t from = WR_WAL_HEADER, end = 0;
    pthread_mutex_lock(&P.mu);
    if (reset) { /* a new generation: from the start, against its index */
        forget();
        P.through = stop;
    } else {
        from = P.through > WR_WAL_HEADER ? P.through : WR_WAL_HEADER;
    }
    pthread_mutex_unlock(&P.mu);
    int rc = wal_scan_file_all(path, from, stop, replay_record, replay_item, &c, &end, err);
    if (rc < 0 && !stop && err->code == WR_ESTATE && from > WR_WAL_HEADER) {
        wr_log("%s; reading the log again from the start", err->msg);
        pthread_mutex_lock(&P.mu);
        forget();
        pthread_mutex_unlock(&P.mu);
        c = (replay_ctx){trained, 0, 0, 0};
        rc = wal_scan_file_all(path, WR_WAL_HEADER, 0, replay_record, replay_item, &c, &end,
                               err);
    }
    if (rc < 0 && err->code == WR_ENOTFOUND)
        rc = 0; /* no log yet: nothing ingested */
    pthread_mutex_lock(&P.mu);
    if (!stop && rc == 0)
        P.through = end;
    if (!reset && (c.pairs || c.deletes)) /* after a reset the caller wakes the thread */
        wake();
    pthread_mutex_unlock(&P.mu);
    if (out)
        *out = (wr_overlay_replay){c.pairs, c.pending, stop ? stop : end, wr_now() - t0};
    return rc < 0 ? -1 : 0;
}

size_t overlay_served(void)
{
    pthread_mutex_lock(&P.mu);
    size_t n = P.served;
    pthread_mutex_unlock(&P.mu);
    return n;
}

void overlay_refresh(void)
{
    pthread_mutex_lock(&P.mu);
    if (P.ids && dict_size(P.ids))
        wake();
    pthread_mutex_unlock(&P.mu);
}

/* ---- building ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A copy of one item's partners, taken under the lock. */
static item copy_item(uint32_t u)
{
    item c = {0};
    if (u >= P.cap)
        return c;
    c.dirty = P.items[u].dirty;
    P.items[u].dirty = 0;
    c.n = c.cap = P.items[u].n;
    c.p = xmalloc((c.n ? c.n : 1) * sizeof *c.p);
    for (size_t i = 0; i < c.n; i++)
        c.p[i] = (partner){xstrdup(P.items[u].p[i].id), P.items[u].p[i].w};
    return c;
}

static void item_free(item *it)
{
    for (size_t i = 0; i < it->n; i++)
        free(it->p[i].id);
    free(it->p);
}

/* The k best by cosine with v among the item's known partners and their stored lists, or
 * SIZE_MAX when the index stores no lists that long: the vector is a mean of the partners',
 * so its neighbours are theirs, and this costs (partners x list length) products instead
 * of a scan of the catalogue (100,000 ingested pairs replay in seconds at 400k items). */
static size_t listed(const wr_index *ix, const item *it, const float *v, size_t k, wr_hit *out)
{
    size_t lk = index_info(ix)->k, dim = index_info(ix)->dim, hn = 0, cap = lk + 1, nc = 0;
    if (lk < k || it->n > 4096)
        return SIZE_MAX;
    uint32_t *cand = xmalloc(cap * sizeof *cand);
    wr_hit *l = xmalloc(lk * sizeof *l), *heap = xmalloc(k * sizeof *heap);
    wr_filter f = index_filter_none();
    for (size_t i = 0; i < it->n; i++) {
        int64_t r = index_find(ix, it->p[i].id, strlen(it->p[i].id));
        if (r < 0)
            continue;
        size_t got = index_neighbors(ix, (uint32_t)r, lk, &f, l);
        if (nc + got + 1 > cap) {
            cap = 2 * (nc + got + 1);
            cand = xrealloc(cand, cap * sizeof *cand);
        }
        cand[nc++] = (uint32_t)r;
        for (size_t j = 0; j < got; j++)
            cand[nc++] = l[j].item;
    }
    qsort(cand, nc, sizeof *cand, cmp_u32);
    float floor = -INFINITY;
    for (size_t i = 0; i < nc; i++) {
        if (i + 4 < nc) /* rows lie far apart in memory: ask for one a few ahead */
            for (size_t d = 0; d < dim; d += 16)
                __builtin_prefetch(index_vector(ix, cand[i + 4]) + d);
        if (i && cand[i] == cand[i - 1])
            continue;
        const float *x = index_vector(ix, cand[i]);
        float acc[8] = {0}, dot = 0;
        size_t d = 0;
        for (; d + 8 <= dim; d += 8)
            for (size_t j = 0; j < 8; j++)
                acc[j] += v[d + j] * x[d + j];
        for (; d < dim; d++)
            dot += v[d] * x[d];
        for (size_t j = 0; j < 8; j++)
            dot += acc[j];
        if (dot > floor)
            floor = knn_heap_offer(heap, &hn, k, (wr_hit){cand[i], dot});
    }
    knn_heap_drain(heap, hn, k, out);
    size_t got = 0;
    while (got < k && out[got].item != UINT32_MAX)
        got++;
    free(cand);
    free(l);
    free(heap);
    return got;
}

/* Appends the next row's known partners (n of them) to ov->prow and ov->pw; *rows and *w
 * then point at their places. */
static void grow_pairs(wr_overlay *ov, size_t n, uint32_t **rows, float **w)
{
    size_t at = ov->poff[ov->n];
    if (at + n > ov->pcap) {
        ov->pcap = (at + n) * 2 + 16;
        ov->prow = xrealloc(ov->prow, ov->pcap * sizeof *ov->prow);
        ov->pw = xrealloc(ov->pw, ov->pcap * sizeof *ov->pw);
    }
    ov->poff[ov->n + 1] = at + n;
    *rows = ov->prow + at;
    *w = ov->pw + at;
}

typedef struct known_pair {
    uint32_t row;
    float w;
} known_pair;

static int by_row(const void *a, const void *b)
{
    uint32_t x = ((const known_pair *)a)->row, y = ((const known_pair *)b)->row;
    return x < y ? -1 : x > y;
}

/* Row u of the new overlay from the published index ix: 0 when it has a vector, 1 when the
 * index itself knows the item now, -1 when no partner is known. */
static int place(const wr_index *ix, const char *id, const item *it, wr_overlay *ov)
{
    if (index_find(ix, id, strlen(id)) >= 0)
        return 1;
    uint32_t dim = ov->dim, n = ov->n, known = 0;
    float *v = ov->vecs + (size_t)n * dim;
    known_pair *kp = xmalloc((it->n + 1) * sizeof *kp);
    memset(v, 0, dim * sizeof *v);
    for (size_t i = 0; i < it->n; i++) {
        int64_t r = index_find(ix, it->p[i].id, strlen(it->p[i].id));
        if (r < 0)
            continue;
        const float *x = index_vector(ix, (uint32_t)r);
        for (uint32_t d = 0; d < dim; d++)
            v[d] += (float)it->p[i].w * x[d];
        kp[known++] = (known_pair){(uint32_t)r, (float)it->p[i].w};
    }
    double ss = 0;
    for (uint32_t d = 0; d < dim; d++)
        ss += (double)v[d] * v[d];
    if (!known || !(ss > 0)) {
        free(kp);
        return -1;
    }
    qsort(kp, known, sizeof *kp, by_row);
    uint32_t *prow;
    float *pw;
    grow_pairs(ov, known, &prow, &pw);
    for (uint32_t i = 0; i < known; i++)
        prow[i] = kp[i].row, pw[i] = kp[i].w;
    free(kp);
    for (uint32_t d = 0; d < dim; d++)
        v[d] = (float)(v[d] / sqrt(ss));
    wr_hit *h = xmalloc(ov->k * sizeof *h);
    size_t got = listed(ix, it, v, ov->k, h);
    if (got == SIZE_MAX) {
        wr_filter f = index_filter_none();
        got = index_neighbors_vec(ix, v, ov->k, &f, h);
    }
    for (size_t i = 0; i < ov->k; i++) {
        ov->nb[(size_t)n * ov->k + i] = i < got ? h[i].item : UINT32_MAX;
        ov->score[(size_t)n * ov->k + i] = i < got ? h[i].score : -INFINITY;
    }
    free(h);
    ov->partners[n] = known;
    double w = 0;
    for (size_t i = 0; i < it->n; i++)
        w += it->p[i].w;
    ov->logdeg[n] = (float)log1p(w);
    dict_intern(ov->ids, id, strlen(id));
    ov->n++;
    return 0;
}

/* Row `from` of overlay `src` as the next row of ov. */
static void copy_row(wr_overlay *ov, const wr_overlay *src, uint32_t from, const char *id)
{
    uint32_t n = ov->n;
    memcpy(ov->vecs + (size_t)n * ov->dim, src->vecs + (size_t)from * src->dim,
           ov->dim * sizeof *ov->vecs);
    memcpy(ov->nb + (size_t)n * ov->k, src->nb + (size_t)from * src->k, ov->k * sizeof *ov->nb);
    memcpy(ov->score + (size_t)n * ov->k, src->score + (size_t)from * src->k,
           ov->k * sizeof *ov->score);
    ov->partners[n] = src->partners[from];
    ov->logdeg[n] = src->logdeg[from];
    const uint32_t *sr;
    const float *sw;
    size_t np = overlay_pairs(src, from, &sr, &sw);
    uint32_t *prow;
    float *pw;
    grow_pairs(ov, np, &prow, &pw);
    memcpy(prow, sr, np * sizeof *prow);
    memcpy(pw, sw, np * sizeof *pw);
    dict_intern(ov->ids, id, strlen(id));
    ov->n++;
}

typedef struct inv {
    uint32_t row, prov;
    float score;
} inv;

static int cmp_inv(const void *a, const void *b)
{
    const inv *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->score < y->score) - (x->score > y->score);
}

/* The way back from index rows to the provisional items near them. */
static void invert(wr_overlay *ov)
{
    size_t near = ov->k < NEAR ? ov->k : NEAR, n = 0;
    inv *e = xmalloc(((size_t)ov->n * near + 1) * sizeof *e);
    for (uint32_t p = 0; p < ov->n; p++)
        for (size_t i = 0; i < near && ov->nb[(size_t)p * ov->k + i] != UINT32_MAX; i++)
            e[n++] = (inv){ov->nb[(size_t)p * ov->k + i], p, ov->score[(size_t)p * ov->k + i]};
    qsort(e, n, sizeof *e, cmp_inv);
    ov->ninv = n;
    ov->inv_row = xmalloc((n + 1) * sizeof *ov->inv_row);
    ov->inv_prov = xmalloc((n + 1) * sizeof *ov->inv_prov);
    ov->inv_score = xmalloc((n + 1) * sizeof *ov->inv_score);
    for (size_t i = 0; i < n; i++) {
        ov->inv_row[i] = e[i].row;
        ov->inv_prov[i] = e[i].prov;
        ov->inv_score[i] = e[i].score;
    }
    free(e);
}

/* The published index and its serial, or NULL, inside a read section the caller ends. */
static const wr_snapshot *acquire(uint64_t serial)
{
    const wr_snapshot *s = live_acquire();
    return s && index_info(s->index)->serial == serial ? s : NULL;
}

/* One overlay for the published index (there is one), or NULL when it changed under us.
 * Items the index knows are forgotten. Rows of the overlay published over the same index
 * whose partners did not change are copied: only new or changed items cost a scan. */
static wr_overlay *build(void)
{
    const wr_snapshot *s = live_acquire();
    if (!s) {
        live_release();
        return NULL;
    }
    uint64_t serial = index_info(s->index)->serial;
    uint32_t dim = index_info(s->index)->dim;
    live_release();
    pthread_mutex_lock(&P.mu);
    uint32_t total = dict_size(P.ids);
    uint64_t epoch = P.epoch;
    pthread_mutex_unlock(&P.mu);
    wr_overlay *ov = xcalloc(1, sizeof *ov);
    ov->serial = serial;
    ov->dim = dim;
    ov->k = P.k;
    ov->ids = dict_new(total + 1);
    ov->vecs = xmalloc(((size_t)total * dim + 1) * sizeof *ov->vecs);
    ov->nb = xmalloc(((size_t)total * P.k + 1) * sizeof *ov->nb);
    ov->score = xmalloc(((size_t)total * P.k + 1) * sizeof *ov->score);
    ov->partners = xmalloc(((size_t)total + 1) * sizeof *ov->partners);
    ov->poff = xcalloc((size_t)total + 2, sizeof *ov->poff);
    ov->logdeg = xmalloc(((size_t)total + 1) * sizeof *ov->logdeg);
    for (uint32_t u = 0; u < total; u++) {
        pthread_mutex_lock(&P.mu);
        if (P.epoch != epoch) { /* replayed from the start meanwhile */
            pthread_mutex_unlock(&P.mu);
            overlay_free(ov);
            return NULL;
        }
        char *id = xstrdup(dict_str(P.ids, u));
        item it = copy_item(u);
        pthread_mutex_unlock(&P.mu);
        int r = 2;
        if ((s = acquire(serial))) {
            int64_t was = s->overlay && !it.dirty ? dict_find(s->overlay->ids, id, strlen(id)) : -1;
            if (was >= 0) {
                copy_row(ov, s->overlay, (uint32_t)was, id);
                r = 0;
            } else {
                r = place(s->index, id, &it, ov);
            }
        }
        live_release();
        if (r == 1) { /* placed by a retrain: nothing more to remember */
            pthread_mutex_lock(&P.mu);
            if (P.epoch == epoch && u < P.cap)
                item_free(&P.items[u]), memset(&P.items[u], 0, sizeof P.items[u]);
            pthread_mutex_unlock(&P.mu);
        }
        item_free(&it);
        free(id);
        if (r == 2) {
            overlay_free(ov);
            pthread_mutex_lock(&P.mu);
            for (uint32_t v = 0; P.epoch == epoch && v <= u && v < P.cap; v++) /* not placed */
                P.items[v].dirty = 1;
            pthread_mutex_unlock(&P.mu);
            return NULL;
        }
    }
    invert(ov);
    ov->by_id = dict_sorted(ov->ids);
    return ov;
}

static void *overlay_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (!P.stop && !P.dirty)
            pthread_cond_wait(&P.cv, &P.mu);
        if (P.stop)
            break;
        P.dirty = 0;
        pthread_mutex_unlock(&P.mu);
        int ready = live_acquire() != NULL;
        live_release();
        if (!ready) { /* the first publication calls overlay_refresh() */
            pthread_mutex_lock(&P.mu);
            continue;
        }
        double t0 = wr_now();
        wr_overlay *ov = build();
        size_t n = ov ? ov->n : 0;
        if (ov && snapshot_publish_overlay(ov) == 0) {
            pthread_mutex_lock(&P.mu);
            P.served = n;
            pthread_mutex_unlock(&P.mu);
            if (n)
                wr_log("provisional items: %zu in %.3f s", n, wr_now() - t0);
        } else {
            overlay_refresh(); /* the index changed: again */
        }
        pthread_mutex_lock(&P.mu);
    }
    pthread_mutex_unlock(&P.mu);
    return NULL;
}

int overlay_start(uint32_t k, wr_err *err)
{
    P.k = k ? k : 1;
    P.ids = dict_new(1024);
    if (pthread_create(&P.tid, NULL, overlay_main, NULL) != 0) {
        dict_free(P.ids);
        P.ids = NULL;
        return wr_fail(err, "cannot start the provisional items thread");
    }
    P.started = 1;
    return 0;
}

void overlay_stop(void)
{
    if (!P.started)
        return;
    pthread_mutex_lock(&P.mu);
    P.stop = 1;
    pthread_cond_signal(&P.cv);
    pthread_mutex_unlock(&P.mu);
    pthread_join(P.tid, NULL);
    forget();
    dict_free(P.ids);
    P.ids = NULL;
    P.through = 0;
    P.started = 0;
}
