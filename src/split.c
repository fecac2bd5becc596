/* split.c - random train/validation split of a merged pair set, with negative pairs.
 *
 * Positives: a seeded random subset of exactly round(val_frac * n) pairs.
 * Negatives: the shuffled-array method of the posts (uniform) and/or degree-matched draws
 * (see split.h). The true edges of the whole set live in one open-addressing hash set of
 * (min,max) keys and the negatives drawn so far of a kind in another, so each draw is
 * checked in O(1) and no kind holds a duplicate pair. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/file.h"
#include "walkrec/rng.h"
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

int split_negatives_parse(const char *name)
{
    static const char *names[] = {"uniform", "degree", "both"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

const char *split_negatives_name(int kind)
{
    return kind == WR_NEG_DEGREE ? "degree" : kind == WR_NEG_BOTH ? "both" : "uniform";
}

static int pairset_has(const pairset *s, uint64_t key)
{
    for (size_t i = pairset_hash(key) & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == key)
            return 1;
        if (s->slot[i] == 0)
            return 0;
    }
}

/* Candidate negatives of one kind. Uniform: the shuffled array, consecutive pairs, a
 * reshuffle when fewer than two items are left. Degree: each item is an end of a uniformly
 * drawn held-out pair, which is exactly the law of the held-out pairs' own endpoints. */
typedef struct drawer {
    int kind;
    const wr_valset *val; /* the held-out pairs are its first `held` rows */
    size_t held;
    uint32_t *perm, items;
    size_t pos;
} drawer;

static uint32_t degree_item(const drawer *d, wr_rng *rng)
{
    size_t i = rng_below(rng, (uint32_t)d->held);
    return rng_next(rng) >> 63 ? d->val->a[i] : d->val->b[i];
}

static void draw_candidate(drawer *d, wr_rng *rng, uint32_t *a, uint32_t *b)
{
    if (d->kind == WR_NEG_DEGREE) {
        *a = degree_item(d, rng);
        *b = degree_item(d, rng);
        return;
    }
    if (d->pos + 1 >= d->items) {
        shuffle_u32(d->perm, d->items, rng);
        d->pos = 0;
    }
    *a = d->perm[d->pos];
    *b = d->perm[d->pos + 1];
    d->pos += 2;
}

/* Draws `want` negatives of one kind into val rows [at, at + want). The attempt bound keeps
 * a nearly complete graph from looping forever while leaving ample room for dense but
 * feasible ones. */
static int draw_negatives(const wr_pairs *p, const pairset *edges, int kind, wr_valset *val,
                          size_t at, size_t want, wr_rng *rng, wr_err *err)
{
    uint32_t items = dict_size(p->ids);
    drawer d = {.kind = kind, .val = val, .held = want, .items = items, .pos = items};
    if (kind == WR_NEG_UNIFORM) {
        d.perm = xmalloc((size_t)items * sizeof *d.perm);
        for (uint32_t i = 0; i < items; i++)
            d.perm[i] = i;
    }
    pairset drawn;
    pairset_init(&drawn, want);
    uint64_t max_attempts = 1000 * (uint64_t)want + 1000000, attempts = 0;
    size_t found = 0;
    while (found < want && attempts < max_attempts) {
        uint32_t a, b;
        draw_candidate(&d, rng, &a, &b);
        attempts++;
        uint64_t k = pair_key(a, b);
        if (a == b || pairset_has(edges, k) || !pairset_add(&drawn, k))
            continue;
        size_t i = at + found++;
        val->a[i] = a < b ? a : b;
        val->b[i] = a < b ? b : a;
        val->label[i] = 0;
        val->kind[i] = (uint8_t)kind;
    }
    free(d.perm);
    free(drawn.slot);
    if (found < want)
        return wr_fail(err,
                       "split: found only %zu of %zu %s negative pairs after %llu random draws: "
                       "the graph is too dense (%zu edges among %u items)",
                       found, want, split_negatives_name(kind), (unsigned long long)attempts,
                       p->n, items);
    return 0;
}

/* Unordered pairs of distinct items that are not edges, among all items (uniform) or among
 * the items of held-out pairs (degree; val holds them in its first `want` rows), counted in
 * double to stay clear of overflow. p is merged: no duplicates, no self pairs. */
static double free_pairs(const wr_pairs *p, const wr_valset *val, size_t want, int kind)
{
    uint32_t items = dict_size(p->ids);
    if (kind == WR_NEG_UNIFORM)
        return (double)items * (items - 1.0) / 2.0 - (double)p->n;
    uint8_t *held = xcalloc((size_t)items + 1, 1);
    for (size_t i = 0; i < want; i++)
        held[val->a[i]] = held[val->b[i]] = 1;
    double k = 0, inside = 0;
    for (uint32_t i = 0; i < items; i++)
        k += held[i];
    for (size_t i = 0; i < p->n; i++)
        inside += held[p->v[i].a] && held[p->v[i].b];
    free(held);
    return k * (k - 1.0) / 2.0 - inside;
}

/* Refuses up front when fewer non-edges exist than negatives are wanted. */
static int check_room(const wr_pairs *p, const wr_valset *val, int kind, size_t want,
                      wr_err *err)
{
    double room = free_pairs(p, val, want, kind);
    if (room >= (double)want)
        return 0;
    return wr_fail(err,
                   "split: need %zu %s negative pairs but only %.0f item pairs are not edges "
                   "(%zu edges among %u items)",
                   want, split_negatives_name(kind), room, p->n, dict_size(p->ids));
}

/* Fills the negative rows after the `want` positives: uniform ones first. */
static int all_negatives(const wr_pairs *p, int which, wr_valset *val, size_t want, wr_rng *rng,
                         wr_err *err)
{
    pairset edges;
    pairset_init(&edges, p->n);
    for (size_t i = 0; i < p->n; i++)
        pairset_add(&edges, pair_key(p->v[i].a, p->v[i].b));
    size_t at = want;
    int rc = 0;
    for (int kind = WR_NEG_UNIFORM; kind <= WR_NEG_DEGREE && rc == 0; kind++) {
        if (which != WR_NEG_BOTH && which != kind)
            continue;
        rc = check_room(p, val, kind, want, err);
        if (rc == 0)
            rc = draw_negatives(p, &edges, kind, val, at, want, rng, err);
        at += want;
    }
    free(edges.slot);
    return rc;
}

int split_pairs(const wr_pairs *p, const wr_split_opts *o, wr_pairs *train, wr_valset *val,
                wr_err *err)
{
    memset(val, 0, sizeof *val);
    if (!(o->val_frac > 0 && o->val_frac < 1))
        return wr_fail(err, "split: validation fraction must be in (0, 1), got %g", o->val_frac);
    if (o->negatives < WR_NEG_UNIFORM || o->negatives > WR_NEG_BOTH)
        return wr_fail(err, "split: unknown kind of negatives %d", o->negatives);
    if (p->n > UINT32_MAX)
        return wr_fail(err, "split: %zu pairs is more than this splitter handles", p->n);
    uint32_t items = dict_size(p->ids);
    size_t want = (size_t)llround(o->val_frac * (double)p->n);
    if (want == 0 || want >= p->n)
        return wr_fail(err, "split: %zu pairs with fraction %g leave %s empty", p->n,
                       o->val_frac, want == 0 ? "the validation set" : "the training set");
    /* the cheap check before any work; the degree one needs the held-out pairs */
    if (o->negatives != WR_NEG_DEGREE && check_room(p, NULL, WR_NEG_UNIFORM, want, err) < 0)
        return -1;

    wr_rng rng;
    rng_seed(&rng, o->seed);
    uint8_t *held = pick_validation(p->n, want, &rng);

    val->n = (o->negatives == WR_NEG_BOTH ? 3 : 2) * want;
    val->a = xmalloc(val->n * sizeof *val->a);
    val->b = xmalloc(val->n * sizeof *val->b);
    val->label = xmalloc(val->n);
    val->kind = xcalloc(val->n, 1);

    pairs_init(train);
    for (uint32_t i = 0; i < items; i++)
        dict_intern(train->ids, dict_str(p->ids, i), dict_strlen(p->ids, i));
    size_t nv = 0;
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
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

    int rc = all_negatives(p, o->negatives, val, want, &rng, err);
    if (rc < 0) {
        pairs_free(train);
        split_valset_free(val);
    }
    return rc;
}

void split_valset_free(wr_valset *v)
{
    free(v->a);
    free(v->b);
    free(v->label);
    free(v->kind);
    memset(v, 0, sizeof *v);
}

int split_valset_write(const wr_valset *v, const wr_dict *ids, const char *path, wr_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return wr_fail(err, "%s: cannot allocate the output buffer", path);
    int four = 0;
    for (size_t i = 0; i < v->n && !four; i++)
        four = !v->label[i] && v->kind && v->kind[i] == WR_NEG_DEGREE;
    fputs(four ? "item_a\titem_b\tlabel\tnegatives\n" : "item_a\titem_b\tlabel\n", f);
    for (size_t i = 0; i < v->n; i++) {
        fprintf(f, "%s\t%s\t%u", dict_str(ids, v->a[i]), dict_str(ids, v->b[i]),
                (unsigned)v->label[i]);
        if (four)
            fprintf(f, "\t%s", v->label[i] ? "" : split_negatives_name(v->kind[i]));
        putc('\n', f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return wr_fail(err, "%s: cannot format the validation pairs", path);
    }
    int rc = file_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* ---- the hash-stable split of walkrecd ---- */

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return rng_mix(h);
}

int split_held_out(const char *a, const char *b, uint64_t seed, double frac)
{
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    uint64_t h = hash_str(hash_str(rng_mix(seed) ^ 0xcbf29ce484222325ULL, a) ^ 0x2f, b);
    return (double)(h >> 11) * 0x1.0p-53 < frac;
}

static int cmp_key(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static uint64_t edge_key(uint32_t a, uint32_t b)
{
    return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

void split_stable(const wr_pairs *p, uint64_t seed, double frac, wr_pairs *train, wr_valset *val)
{
    uint32_t nid = dict_size(p->ids);
    uint64_t *keys = xmalloc((p->n ? p->n : 1) * sizeof *keys);
    size_t npos = 0;
    uint8_t *out = xcalloc(p->n ? p->n : 1, 1);
    uint32_t *deg = xcalloc(nid ? nid : 1, sizeof *deg);
    pairs_init(train);
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        keys[i] = edge_key(e->a, e->b);
        out[i] = split_held_out(dict_str(p->ids, e->a), dict_str(p->ids, e->b), seed, frac);
        if (!out[i])
            deg[e->a]++, deg[e->b]++;
    }
    /* An item whose every pair was drawn would have no vector at all: its pairs go back to
     * training (so a pair's side can change as its items gain pairs; rarely, and only
     * ever from validation to training). */
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        if (out[i] && (!deg[e->a] || !deg[e->b])) {
            out[i] = 0;
            deg[e->a]++, deg[e->b]++;
        }
        if (out[i])
            npos++;
        else
            pairs_add(train, dict_str(p->ids, e->a), dict_strlen(p->ids, e->a),
                      dict_str(p->ids, e->b), dict_strlen(p->ids, e->b), e->w);
    }
    free(deg);
    pairs_merge(train);
    qsort(keys, p->n, sizeof *keys, cmp_key);
    memset(val, 0, sizeof *val);
    val->a = xmalloc((2 * npos + 1) * sizeof *val->a);
    val->b = xmalloc((2 * npos + 1) * sizeof *val->b);
    val->label = xmalloc(2 * npos + 1);
    val->kind = xcalloc(2 * npos + 1, 1);
    for (size_t i = 0; i < p->n; i++)
        if (out[i]) {
            val->a[val->n] = p->v[i].a;
            val->b[val->n] = p->v[i].b;
            val->label[val->n++] = 1;
        }
    wr_rng r;
    rng_seed(&r, seed ^ 0x6e6567ULL);
    for (size_t tries = 0; val->n < 2 * npos && nid >= 2 && tries < 100 * npos + 1000; tries++) {
        uint32_t a = rng_below(&r, nid), b = rng_below(&r, nid);
        uint64_t k = edge_key(a, b);
        if (a == b || bsearch(&k, keys, p->n, sizeof *keys, cmp_key))
            continue;
        val->a[val->n] = a;
        val->b[val->n] = b;
        val->label[val->n++] = 0;
    }
    free(out);
    free(keys);
}

