/* snapshot.c - the published {index, overlay, hidden} triple: reading items through it,
 * publishing.
 *
 * Reading: an id is looked up in the index first, then in the overlay. Publishing: a
 * snapshot is a small struct owning its overlay; the index is owned by whichever snapshot
 * publishes it and handed back to the publisher of the next index (retrain.c keeps it for
 * a rollback). Snapshots that only change the overlay share the index, so freeing an old
 * snapshot frees its overlay only; one that only changes the hidden view shares both. Each
 * snapshot owns its hidden view, made under the lock from the set as it is then, so the
 * last publication always holds the last change of the set. The lists hide items through
 * the filter's hidden bits (index.h); provisional items are checked here. */
#include "walkrec/snapshot.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/attrs.h"
#include "walkrec/hidden.h"
#include "walkrec/live.h"
#include "walkrec/metrics.h"
#include "walkrec/overlay.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int snapshot_find(const wr_snapshot *s, const char *id, size_t len, wr_item *it)
{
    it->row = index_find(s->index, id, len);
    it->prov = it->row < 0 && s->overlay ? overlay_find(s->overlay, id, len) : -1;
    return it->row >= 0 || it->prov >= 0;
}

const float *snapshot_vector(const wr_snapshot *s, const wr_item *it)
{
    return it->row >= 0 ? index_vector(s->index, (uint32_t)it->row)
                        : overlay_vector(s->overlay, (uint32_t)it->prov);
}

float snapshot_score(const wr_snapshot *s, const wr_item *a, const wr_item *b)
{
    if (a->row >= 0 && b->row >= 0)
        return index_score(s->index, (uint32_t)a->row, (uint32_t)b->row);
    return index_dot(s->index, snapshot_vector(s, a), snapshot_vector(s, b));
}

/* How hit h ranks in the list of index row `row`: its cosine, or its probability. */
static double order_of(const wr_snapshot *s, uint32_t row, wr_hit h, int rank)
{
    if (rank != WR_RANK_PROBABILITY)
        return h.score;
    const wr_index *ix = s->index;
    uint32_t n = index_info(ix)->n;
    if (h.item < n)
        return index_probability(ix, row, h.item);
    return index_probability_vec(ix, row, overlay_vector(s->overlay, h.item - n),
                                 overlay_logdeg(s->overlay, h.item - n));
}

/* Row's list of n hits with the provisional items near it merged in where their score earns
 * a place; returns the new length (at most k). */
static size_t merge_provisional(const wr_snapshot *s, uint32_t row, size_t k, const wr_filter *f,
                                int rank, wr_hit *out, size_t n)
{
    const uint32_t *prov;
    const float *score;
    size_t m = overlay_near(s->overlay, row, &prov, &score);
    if (!m)
        return n;
    uint32_t base = index_info(s->index)->n;
    for (size_t j = 0; j < m; j++) {
        if (score[j] < f->min_score || hidden_prov(s->hidden, prov[j]) ||
            (f->accept && !f->accept(f->accept_ctx, prov[j], 1)))
            continue;
        wr_hit h = {base + prov[j], score[j]};
        double v = order_of(s, row, h, rank);
        size_t at = n;
        while (at > 0 && order_of(s, row, out[at - 1], rank) < v)
            at--;
        if (at >= k)
            continue;
        memmove(out + at + 1, out + at, ((n < k ? n : k - 1) - at) * sizeof *out);
        out[at] = h;
        n += n < k;
    }
    return n;
}

/* f with the snapshot's hidden rows. */
static wr_filter hiding(const wr_snapshot *s, const wr_filter *f)
{
    wr_filter g = *f;
    g.hidden = hidden_rows(s->hidden);
    return g;
}

size_t snapshot_neighbors(const wr_snapshot *s, const wr_item *it, size_t k, const wr_filter *f,
                          int rank, wr_hit *out)
{
    wr_filter g = hiding(s, f);
    if (it->row < 0)
        return overlay_neighbors(s->overlay, s->index, (uint32_t)it->prov, k, &g, out);
    size_t n = index_neighbors_by(s->index, (uint32_t)it->row, k, &g, rank, out);
    return s->overlay ? merge_provisional(s, (uint32_t)it->row, k, &g, rank, out, n) : n;
}

size_t snapshot_neighbors_vec(const wr_snapshot *s, const float *q, size_t k, const wr_filter *f,
                              wr_hit *out)
{
    wr_filter g = hiding(s, f);
    return index_neighbors_vec(s->index, q, k, &g, out);
}

size_t snapshot_neighbors_contrast(const wr_snapshot *s, const float *const *pos, size_t np,
                                   const float *const *neg, size_t nn, size_t k,
                                   const wr_filter *f, wr_hit *out)
{
    wr_filter g = hiding(s, f);
    return index_neighbors_contrast(s->index, pos, np, neg, nn, k, &g, out);
}

size_t snapshot_neighbors_complement(const wr_snapshot *s, const wr_item *it, size_t k,
                                     const wr_filter *f, wr_hit *out)
{
    wr_filter g = hiding(s, f);
    return it->row >= 0 ? index_neighbors_complement(s->index, (uint32_t)it->row, k, &g, out) : 0;
}

int snapshot_hidden(const wr_snapshot *s, const char *id, size_t len)
{
    return hidden_has(s->hidden, id, len);
}

const char *snapshot_hit_id(const wr_snapshot *s, uint32_t item)
{
    uint32_t n = index_info(s->index)->n;
    return item < n ? index_id(s->index, item) : overlay_id(s->overlay, item - n);
}

double snapshot_hit_probability(const wr_snapshot *s, uint32_t row, uint32_t item)
{
    wr_hit h = {item, 0};
    return order_of(s, row, h, WR_RANK_PROBABILITY);
}

uint32_t snapshot_partners(const wr_snapshot *s, const wr_item *it)
{
    return it->prov >= 0 ? overlay_partners(s->overlay, (uint32_t)it->prov) : 0;
}

size_t snapshot_provisional(const wr_snapshot *s) { return overlay_size(s->overlay); }

/* ---- publishing ---- */

static wr_snapshot *published; /* what live.c holds; written under lock */

static wr_snapshot *swap(wr_index *ix, wr_overlay *ov)
{
    static uint64_t last;
    wr_snapshot *s = NULL;
    if (ix) {
        uint64_t now = (uint64_t)(wr_unix_now() * 1e6);
        s = xmalloc(sizeof *s);
        s->index = ix;
        s->overlay = ov;
        s->hidden = hidden_view(ix, ov);
        s->attrs = attrs_view(ix, ov);
        s->version = last = now > last ? now : last + 1;
        metrics_hidden(hidden_size(s->hidden));
    }
    published = s;
    return live_swap(s);
}

/* Frees what an unpublished snapshot owns beside the index: its hidden view, and its
 * overlay unless the new snapshot shares it. */
static void drop(wr_snapshot *old, const wr_overlay *kept)
{
    if (!old)
        return;
    if (old->overlay != kept)
        overlay_free(old->overlay);
    hidden_free(old->hidden);
    attrs_free(old->attrs);
    free(old);
}

wr_index *snapshot_publish_index(wr_index *ix)
{
    const wr_index_info *in = index_info(ix);
    double now = wr_unix_now();
    index_set_published(ix, now);
    pthread_mutex_lock(&lock);
    wr_snapshot *old = swap(ix, NULL);
    metrics_model(in->generation, in->n, in->dim, in->build_seconds, now);
    pthread_mutex_unlock(&lock);
    wr_index *prev = old ? old->index : NULL;
    drop(old, NULL);
    return prev == ix ? NULL : prev;
}

int snapshot_publish_overlay(wr_overlay *ov)
{
    pthread_mutex_lock(&lock);
    if (!published || overlay_serial(ov) != index_info(published->index)->serial) {
        pthread_mutex_unlock(&lock);
        overlay_free(ov);
        return -1;
    }
    wr_snapshot *old = swap(published->index, ov);
    pthread_mutex_unlock(&lock);
    drop(old, NULL);
    return 0;
}

void snapshot_publish_hidden(void)
{
    pthread_mutex_lock(&lock);
    if (!published) {
        pthread_mutex_unlock(&lock);
        return;
    }
    wr_overlay *ov = published->overlay;
    wr_snapshot *old = swap(published->index, ov);
    pthread_mutex_unlock(&lock);
    drop(old, ov);
}

void snapshot_shutdown(void)
{
    pthread_mutex_lock(&lock);
    wr_snapshot *old = swap(NULL, NULL);
    pthread_mutex_unlock(&lock);
    if (old)
        index_free(old->index);
    drop(old, NULL);
}

size_t snapshot_prefix(const wr_snapshot *s, const char *p, size_t len, const char *after,
                       const char **ids, size_t max, int *provisional)
{
    uint32_t *a = xmalloc((max + 1) * sizeof *a), *b = xmalloc((max + 1) * sizeof *b);
    size_t na = index_prefix(s->index, p, len, after, a, max);
    size_t nb = overlay_prefix(s->overlay, p, len, after, b, max), i = 0, j = 0, n = 0;
    *provisional = 0;
    while (n < max && (i < na || j < nb)) {
        const char *x = i < na ? index_id(s->index, a[i]) : NULL;
        const char *y = j < nb ? overlay_id(s->overlay, b[j]) : NULL;
        if (y && (!x || strcmp(y, x) < 0)) {
            ids[n++] = y;
            j++;
            *provisional = 1;
        } else {
            ids[n++] = x;
            i++;
        }
    }
    free(a);
    free(b);
    return n;
}
