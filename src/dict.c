/* dict.c - string interning: open addressing over an arena of NUL-terminated ids. */
#include "walkrec/dict.h"

#include <stdlib.h>
#include <string.h>

#include "walkrec/util.h"

struct wr_dict {
    char *arena;         /* ids, each NUL-terminated */
    size_t arena_len, arena_cap;
    uint64_t *off;       /* per index: offset into arena */
    uint32_t *hash;      /* per index: hash, kept so growing never rehashes strings */
    uint32_t n, cap;     /* ids, capacity of off/hash */
    uint32_t *slot;      /* index + 1, 0 = empty */
    uint32_t mask;
};

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

static uint32_t hash_bytes(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);
    while (len >= 8) {
        h = (h ^ mix(load64(p))) * 0xc4ceb9fe1a85ec53ULL;
        p += 8;
        len -= 8;
    }
    uint64_t t = 0;
    memcpy(&t, p, len);
    h = (h ^ mix(t ^ len)) * 0xc4ceb9fe1a85ec53ULL;
    return (uint32_t)mix(h);
}

wr_dict *dict_new(size_t expected)
{
    wr_dict *d = xcalloc(1, sizeof *d);
    uint32_t tsize = 1024;
    while (tsize < expected * 2 && tsize < (1u << 31))
        tsize <<= 1;
    d->mask = tsize - 1;
    d->slot = xcalloc(tsize, sizeof *d->slot);
    d->cap = (uint32_t)(expected < 256 ? 256 : expected > (1u << 30) ? (1u << 30) : expected);
    d->off = xmalloc(d->cap * sizeof *d->off);
    d->hash = xmalloc(d->cap * sizeof *d->hash);
    d->arena_cap = (size_t)d->cap * 16;
    d->arena = xmalloc(d->arena_cap);
    return d;
}

void dict_free(wr_dict *d)
{
    if (!d)
        return;
    free(d->arena);
    free(d->off);
    free(d->hash);
    free(d->slot);
    free(d);
}

static void grow_table(wr_dict *d)
{
    uint32_t tsize = (d->mask + 1) * 2, mask = tsize - 1;
    uint32_t *slot = xcalloc(tsize, sizeof *slot);
    for (uint32_t i = 0; i < d->n; i++) {
        uint32_t h = d->hash[i] & mask;
        while (slot[h])
            h = (h + 1) & mask;
        slot[h] = i + 1;
    }
    free(d->slot);
    d->slot = slot;
    d->mask = mask;
}

static int64_t lookup(const wr_dict *d, const char *s, size_t len, uint32_t h, uint32_t *pos)
{
    uint32_t i = h & d->mask;
    for (;;) {
        uint32_t e = d->slot[i];
        if (!e) {
            *pos = i;
            return -1;
        }
        e--;
        if (d->hash[e] == h) {
            const char *t = d->arena + d->off[e];
            if (!memcmp(t, s, len) && t[len] == 0)
                return e;
        }
        i = (i + 1) & d->mask;
    }
}

int64_t dict_find(const wr_dict *d, const char *s, size_t len)
{
    uint32_t pos;
    return lookup(d, s, len, hash_bytes(s, len), &pos);
}

uint32_t dict_intern(wr_dict *d, const char *s, size_t len)
{
    uint32_t h = hash_bytes(s, len), pos;
    int64_t e = lookup(d, s, len, h, &pos);
    if (e >= 0)
        return (uint32_t)e;
    if (d->n == UINT32_MAX - 1)
        abort(); /* 4 billion ids: far beyond any catalogue */
    if (d->n == d->cap) {
        d->cap = d->cap > (1u << 31) ? UINT32_MAX : d->cap * 2;
        d->off = xrealloc(d->off, (size_t)d->cap * sizeof *d->off);
        d->hash = xrealloc(d->hash, (size_t)d->cap * sizeof *d->hash);
    }
    if (d->arena_len + len + 1 > d->arena_cap) {
        while (d->arena_len + len + 1 > d->arena_cap)
            d->arena_cap *= 2;
        d->arena = xrealloc(d->arena, d->arena_cap);
    }
    memcpy(d->arena + d->arena_len, s, len);
    d->arena[d->arena_len + len] = 0;
    d->off[d->n] = d->arena_len;
    d->hash[d->n] = h;
    d->arena_len += len + 1;
    d->slot[pos] = d->n + 1;
    d->n++;
    if ((uint64_t)d->n * 4 > (uint64_t)(d->mask + 1) * 3) /* keep load under 3/4 */
        grow_table(d);
    return d->n - 1;
}

uint32_t dict_size(const wr_dict *d) { return d->n; }

const char *dict_str(const wr_dict *d, uint32_t i) { return d->arena + d->off[i]; }

size_t dict_strlen(const wr_dict *d, uint32_t i)
{
    size_t end = i + 1 < d->n ? d->off[i + 1] : d->arena_len;
    return end - d->off[i] - 1;
}

static int cmp_ids(const void *x, const void *y, void *ctx)
{
    const wr_dict *d = ctx;
    return strcmp(dict_str(d, *(const uint32_t *)x), dict_str(d, *(const uint32_t *)y));
}

uint32_t *dict_sorted(const wr_dict *d)
{
    uint32_t *order = xmalloc(((size_t)d->n + 1) * sizeof *order);
    for (uint32_t i = 0; i < d->n; i++)
        order[i] = i;
    /* strcmp compares unsigned bytes: byte order, as the pair files promise */
    qsort_r(order, d->n, sizeof *order, cmp_ids, (void *)d);
    return order;
}

uint32_t *dict_sorted_rank(const wr_dict *d)
{
    uint32_t *order = dict_sorted(d);
    uint32_t *rank = xmalloc(((size_t)d->n + 1) * sizeof *rank);
    for (uint32_t i = 0; i < d->n; i++)
        rank[order[i]] = i;
    free(order);
    return rank;
}

/* The first position of by_id whose string is not below key: cut to len bytes when
 * prefix, else whole and strictly above key. */
static size_t dict_lower(const wr_dict *d, const uint32_t *by_id, size_t n, const char *key,
                         size_t len, int prefix)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = dict_str(d, by_id[mid]);
        if (prefix ? strncmp(s, key, len) < 0 : strcmp(s, key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Cutting sorted strings to their first len bytes keeps them sorted, so those starting with
 * p are one run of by_id. */
size_t dict_prefix(const wr_dict *d, const uint32_t *by_id, const char *p, size_t len,
                   const char *after, uint32_t *out, size_t max)
{
    size_t n = dict_size(d), got = 0, at = dict_lower(d, by_id, n, p, len, 1);
    if (after) {
        size_t past = dict_lower(d, by_id, n, after, 0, 0);
        at = past > at ? past : at;
    }
    for (; at < n && got < max && !strncmp(dict_str(d, by_id[at]), p, len); at++)
        out[got++] = by_id[at];
    return got;
}
