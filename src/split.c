/* split.c - random train/validation split of a merged pair set, with negative pairs.
 *
 * Positives: a seeded random subset of exactly round(val_frac * n) pairs.
 * Negatives: the shuffled-array method of the posts. Every true edge of the whole set and
 * every negative already drawn lives in one open-addressing hash set of (min,max) keys, so
 * each draw is checked in O(1) and the validation file holds no duplicate pair. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/split.h"

/* Open-addressing set of unordered pairs. A key is (min << 32 | max) with min < max, so it
 * is never 0 and 0 marks an empty slot. */
typedef struct pairset {
    uint64_t *slot;
    size_t mask;
} pairset;

static uint64_t pair_key(uint32_t a, uint32_t b)
{
    return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

static size_t pairset_hash(uint64_t x)
{
    /* murmur3 finaliser: keys from dense indices are far from uniform */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x;
}

static void pairset_init(pairset *s, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap <<= 1;
    s->slot = xcalloc(cap, sizeof *s->slot);
    s->mask = cap - 1;
}

/* Returns 1 when the key was added, 0 when it was already there. The table is sized up
 * front for everything it will ever hold, so it never fills past one half. */
static int pairset_add(pairset *s, uint64_t key)
{
    for (size_t i = pairset_hash(key) & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == key)
            return 0;
        if (s->slot[i] == 0) {
            s->slot[i] = key;
            return 1;
        }
    }
}

static void shuffle_u32(uint32_t *v, size_t n, wr_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        uint32_t j = rng_below(rng, (uint32_t)i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Marks `want` of the n pairs for validation: a partial Fisher-Yates shuffle of indices. */
static uint8_t *pick_validation(size_t n, size_t want, wr_rng *rng)
{
    uint32_t *idx = xmalloc(n * sizeof *idx);
    uint8_t *held = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    for (size_t i = 0; i < want; i++) {
        size_t j = i + rng_below(rng, (uint32_t)(n - i));
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        held[idx[i]] = 1;
    }
    free(idx);
    return held;
}

/* Draws val->n/2 negatives into the second half of val. Each reshuffle yields
 * items/2 candidate pairs; the attempt bound keeps a nearly complete graph from looping
 * forever while leaving ample room for dense but feasible ones. */
static int draw_negatives(const wr_pairs *p, pairset *edges, wr_valset *val, size_t want,
                          wr_rng *rng, wr_err *err)
{
    uint32_t items = dict_size(p->ids);
    uint32_t *perm = xmalloc((size_t)items * sizeof *perm);
    for (uint32_t i = 0; i < items; i++)
        perm[i] = i;
    uint64_t max_attempts = 1000 * (uint64_t)want + 1000000, attempts = 0;
    size_t found = 0, pos = items;
    while (found < want && attempts < max_attempts) {
        if (pos + 1 >= items) {
            shuffle_u32(perm, items, rng);
            pos = 0;
        }
        uint32_t a = perm[pos], b = perm[pos + 1];
        pos += 2;
        attempts++;
        if (a == b || !pairset_add(edges, pair_key(a, b)))
            continue;
        size_t i = want + found++;
        val->a[i] = a < b ? a : b;
        val->b[i] = a < b ? b : a;
        val->label[i] = 0;
    }
    free(perm);
    if (found < want)
        return wr_fail(err,
                       "split: found only %zu of %zu negative pairs after %llu random draws: "
                       "the graph is too dense (%zu edges among %u items)",
                       found, want, (unsigned long long)attempts, p->n, items);
    return 0;
}

int split_pairs(const wr_pairs *p, const wr_split_opts *o, wr_pairs *train, wr_valset *val,
                wr_err *err)
{
    memset(val, 0, sizeof *val);
    if (!(o->val_frac > 0 && o->val_frac < 1))
        return wr_fail(err, "split: validation fraction must be in (0, 1), got %g", o->val_frac);
    if (p->n > UINT32_MAX)
        return wr_fail(err, "split: %zu pairs is more than this splitter handles", p->n);
    uint32_t items = dict_size(p->ids);
    size_t want = (size_t)llround(o->val_frac * (double)p->n);
    if (want == 0 || want >= p->n)
        return wr_fail(err, "split: %zu pairs with fraction %g leave %s empty", p->n,
                       o->val_frac, want == 0 ? "the validation set" : "the training set");
    /* Unordered pairs of distinct items that are not edges (p is merged: no duplicates,
     * no self pairs), counted in double to stay clear of overflow. */
    double free_pairs = (double)items * (items - 1.0) / 2.0 - (double)p->n;
    if (free_pairs < (double)want)
        return wr_fail(err,
                       "split: need %zu negative pairs but only %.0f item pairs are not edges "
                       "(%zu edges among %u items)",
                       want, free_pairs, p->n, items);

    wr_rng rng;
    rng_seed(&rng, o->seed);
    uint8_t *held = pick_validation(p->n, want, &rng);

    val->n = 2 * want;
    val->a = xmalloc(val->n * sizeof *val->a);
    val->b = xmalloc(val->n * sizeof *val->b);
    val->label = xmalloc(val->n);

    pairs_init(train);
    for (uint32_t i = 0; i < items; i++)
        dict_intern(train->ids, dict_str(p->ids, i), dict_strlen(p->ids, i));

    pairset edges;
    pairset_init(&edges, p->n + want);
    size_t nv = 0;
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        pairset_add(&edges, pair_key(e->a, e->b));
        if (held[i]) {
            val->a[nv] = e->a;
            val->b[nv] = e->b;
            val->label[nv++] = 1;
        } else {
            pairs_add_idx(train, e->a, e->b, e->w);
        }
    }
    free(held);
    pairs_merge(train);

    int rc = draw_negatives(p, &edges, val, want, &rng, err);
    free(edges.slot);
    if (rc < 0) {
        pairs_free(train);
        valset_free(val);
    }
    return rc;
}

void valset_free(wr_valset *v)
{
    free(v->a);
    free(v->b);
    free(v->label);
    memset(v, 0, sizeof *v);
}

int valset_write(const wr_valset *v, const wr_dict *ids, const char *path, wr_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return wr_fail(err, "%s: cannot allocate the output buffer", path);
    fputs("item_a\titem_b\tlabel\n", f);
    for (size_t i = 0; i < v->n; i++)
        fprintf(f, "%s\t%s\t%u\n", dict_str(ids, v->a[i]), dict_str(ids, v->b[i]),
                (unsigned)v->label[i]);
    if (fclose(f) != 0) {
        free(buf);
        return wr_fail(err, "%s: cannot format the validation pairs", path);
    }
    int rc = write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}
