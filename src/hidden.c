/* hidden.c - the set of hidden items and its per-snapshot views (hidden.h).
 *
 * The set maps each id that ever had an item record to its state (hidden or not) and the
 * log offset of the record that set it; ids are never removed, so that an unhide keeps the
 * offset that orders later records. A view copies the hidden ids into a dict of its own and
 * marks their rows in the snapshot's index and overlay; views are immutable and owned by
 * their snapshot. */
#include "walkrec/hidden.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/bytes.h"
#include "walkrec/dict.h"
#include "walkrec/overlay.h"
#include "walkrec/wal.h"

typedef struct state {
    uint64_t off; /* of the record applied last */
    int hidden;
} state;

static struct {
    pthread_mutex_t mu;
    wr_dict *ids;
    state *st;
    size_t cap, hidden;
    uint64_t stamp; /* the offset of the last change */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct wr_hidden {
    wr_dict *ids;   /* the hidden ids */
    uint64_t *rows; /* a bit per index row, NULL when none */
    uint64_t *prov; /* a bit per overlay row, NULL when none */
    uint32_t nprov;
    uint64_t stamp;
};

int hidden_apply(int kind, const char *id, size_t len, uint64_t off)
{
    int hide = kind == WR_WAL_HIDE || kind == WR_WAL_DELETE, changed = 0;
    pthread_mutex_lock(&S.mu);
    if (!S.ids)
        S.ids = dict_new(64);
    uint32_t i = dict_intern(S.ids, id, len);
    size_t was = S.cap;
    S.st = bytes_grow(S.st, &S.cap, (size_t)i + 1, sizeof *S.st);
    memset(S.st + was, 0, (S.cap - was) * sizeof *S.st);
    state *s = &S.st[i];
    if (off >= s->off) {
        changed = s->hidden != hide;
        S.hidden += changed ? (hide ? 1 : (size_t)-1) : 0;
        s->hidden = hide;
        s->off = off;
        if (changed && off > S.stamp)
            S.stamp = off;
    }
    pthread_mutex_unlock(&S.mu);
    return changed;
}

static void clear(void)
{
    dict_free(S.ids);
    free(S.st);
    S.ids = NULL;
    S.st = NULL;
    S.cap = S.hidden = 0;
    S.stamp = 0;
}

void hidden_reset(void)
{
    pthread_mutex_lock(&S.mu);
    clear();
    pthread_mutex_unlock(&S.mu);
}

void hidden_free_all(void) { hidden_reset(); }

size_t hidden_count(void)
{
    pthread_mutex_lock(&S.mu);
    size_t n = S.hidden;
    pthread_mutex_unlock(&S.mu);
    return n;
}

static void set_bit(uint64_t **bits, size_t n, uint32_t i)
{
    if (!*bits)
        *bits = xcalloc((n + 63) / 64, sizeof **bits);
    (*bits)[i >> 6] |= (uint64_t)1 << (i & 63);
}

wr_hidden *hidden_view(const wr_index *ix, const wr_overlay *ov)
{
    pthread_mutex_lock(&S.mu);
    if (!S.hidden) {
        pthread_mutex_unlock(&S.mu);
        return NULL;
    }
    wr_hidden *h = xcalloc(1, sizeof *h);
    h->ids = dict_new(S.hidden);
    h->stamp = S.stamp;
    h->nprov = (uint32_t)overlay_size(ov);
    uint32_t n = dict_size(S.ids), rows = ix ? index_info(ix)->n : 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!S.st[i].hidden)
            continue;
        const char *id = dict_str(S.ids, i);
        size_t len = dict_strlen(S.ids, i);
        dict_intern(h->ids, id, len);
        int64_t r = ix ? index_find(ix, id, len) : -1, p;
        if (r >= 0)
            set_bit(&h->rows, rows, (uint32_t)r);
        else if (ov && (p = overlay_find(ov, id, len)) >= 0)
            set_bit(&h->prov, h->nprov, (uint32_t)p);
    }
    pthread_mutex_unlock(&S.mu);
    return h;
}

void hidden_free(wr_hidden *h)
{
    if (!h)
        return;
    dict_free(h->ids);
    free(h->rows);
    free(h->prov);
    free(h);
}

const uint64_t *hidden_rows(const wr_hidden *h) { return h ? h->rows : NULL; }

int hidden_prov(const wr_hidden *h, uint32_t prov)
{
    return h && h->prov && prov < h->nprov && (h->prov[prov >> 6] >> (prov & 63) & 1);
}

int hidden_has(const wr_hidden *h, const char *id, size_t len)
{
    return h && dict_find(h->ids, id, len) >= 0;
}

size_t hidden_size(const wr_hidden *h) { return h ? dict_size(h->ids) : 0; }

uint64_t hidden_stamp(const wr_hidden *h) { return h ? h->stamp : 0; }
