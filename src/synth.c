/* synth.c - the seeded synthetic catalogue: power-law popularity, planted categories.
 *
 * Category c gets a share of the items proportional to (c + 1)^-0.5 (at least 2 each), so
 * sizes vary over a range of about sqrt(C). Items are dealt to categories by one seeded
 * shuffle and ranked by popularity by another, popularity being (rank + 1)^-alpha.
 * Pairs come in two phases. First every item that has no pair yet gets one, to a partner
 * drawn by popularity inside or outside its category; then pairs whose first end is drawn
 * by popularity over the whole catalogue and whose second end by popularity within the
 * first's category (an in-category pair) or over the catalogue (a cross pair, dropped if
 * both ends share a category). Each kind is drawn until its quota of distinct pairs is
 * met, so the counts and the in-category share are exact. A hash set of pairs sums the
 * weights of repeated draws, which are frequent for popular items, as in real co-purchase
 * data. */
#include "walkrec/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/alias.h"
#include "walkrec/progress.h"
#include "walkrec/rng.h"
#include "walkrec/file.h"

#define CATEGORY_SIZE_EXPONENT 0.5
/* Draws in a row without a new pair before giving up: only a catalogue close to complete
 * gets there (a new pair rarer than one in millions of draws). */
#define STALE_MAX (1u << 24)
/* Rejection tries for a partner before drawing it uniformly (only a partner that all but
 * owns its category's popularity gets there). */
#define PARTNER_TRIES 64
#define EMPTY UINT64_MAX
#define SYNTH_BATCH 512

void synth_default_opts(wr_synth_opts *o)
{
    *o = (wr_synth_opts){
        .items = 2000, .pairs = 20000, .categories = 20, .in_category = 0.9, .alpha = 1.0,
        .seed = 1,
    };
}

/* About 400 items per category at both Amazon scales: each category is then a dense
 * cluster (17 in-category neighbours per item on average for electronics, 25 for books)
 * among many, so neighbours are learnable and not trivial. */
int synth_preset(wr_synth_opts *o, const char *name)
{
    if (!strcmp(name, "default")) {
        o->items = 2000, o->pairs = 20000, o->categories = 20;
    } else if (!strcmp(name, "electronics")) {
        o->items = 418749, o->pairs = 4005262, o->categories = 1000;
    } else if (!strcmp(name, "books")) {
        o->items = 1948370, o->pairs = 26595848, o->categories = 5000;
    } else {
        return -1;
    }
    return 0;
}

/* ---- the set of distinct pairs (open addressing, linear probing) ---- */

typedef struct pair_set {
    uint64_t *key;  /* a << 32 | b with a < b; EMPTY when free */
    uint32_t *w;    /* summed weight in tenths, exact */
    uint64_t mask, n;
    int shift;
} pair_set;

static void set_init(pair_set *s, uint64_t expected)
{
    int bits = 10;
    while (((uint64_t)1 << bits) < 2 * expected)
        bits++;
    s->mask = ((uint64_t)1 << bits) - 1;
    s->shift = 64 - bits;
    s->n = 0;
    s->key = xmalloc((s->mask + 1) * sizeof *s->key);
    s->w = xmalloc((s->mask + 1) * sizeof *s->w);
    memset(s->key, 0xff, (s->mask + 1) * sizeof *s->key);
}

static void set_free(pair_set *s)
{
    free(s->key);
    free(s->w);
    memset(s, 0, sizeof *s);
}

static uint64_t set_slot(const pair_set *s, uint32_t a, uint32_t b)
{
    uint64_t k = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
    return (k * 0x9e3779b97f4a7c15ULL) >> s->shift;
}

/* Adds w tenths to pair {a, b}; 1 if the pair is new. */
static int set_add(pair_set *s, uint32_t a, uint32_t b, uint32_t w)
{
    uint64_t k = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
    for (uint64_t i = set_slot(s, a, b);; i = (i + 1) & s->mask) {
        if (s->key[i] == k) {
            s->w[i] += w;
            return 0;
        }
        if (s->key[i] == EMPTY) {
            s->key[i] = k;
            s->w[i] = w;
            s->n++;
            return 1;
        }
    }
}

/* ---- the catalogue: categories, popularity and the samplers over them ---- */

typedef struct catalogue {
    uint32_t n, ncat;
    uint32_t *cat;     /* category of each item */
    uint32_t *member;  /* items grouped by category */
    uint32_t *coff;    /* ncat + 1 offsets into member */
    wr_alias_cell *gcell; /* alias table over all items by popularity */
    wr_alias_cell *ccell; /* per category, over member[coff[c]..coff[c+1]) */
} catalogue;

static uint32_t csize(const catalogue *k, uint32_t c) { return k->coff[c + 1] - k->coff[c]; }

static uint32_t draw_global(const catalogue *k, wr_rng *r)
{
    return alias_draw(k->gcell, k->n, r);
}

static uint32_t draw_in(const catalogue *k, uint32_t c, wr_rng *r)
{
    uint32_t o = k->coff[c];
    return k->member[o + alias_draw(k->ccell + o, csize(k, c), r)];
}

static void shuffle(uint32_t *v, uint32_t n, wr_rng *r)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_below(r, i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Sizes: 2 each, the rest in proportion to (c + 1)^-e, the rounding left-overs to the
 * largest. */
static void category_sizes(catalogue *k)
{
    double sum = 0;
    for (uint32_t c = 0; c < k->ncat; c++)
        sum += pow(c + 1.0, -CATEGORY_SIZE_EXPONENT);
    uint32_t spare = k->n - 2 * k->ncat, given = 0;
    k->coff[0] = 0;
    for (uint32_t c = 0; c < k->ncat; c++) {
        uint32_t extra = (uint32_t)(spare * pow(c + 1.0, -CATEGORY_SIZE_EXPONENT) / sum);
        given += extra;
        k->coff[c + 1] = 2 + extra; /* sizes for now */
    }
    /* NOLINTNEXTLINE(clang-analyzer-core.DivideZero): ncat >= 1 (check_opts) */
    for (uint32_t c = 0; given < spare; c = (c + 1) % k->ncat, given++)
        k->coff[c + 1]++;
    for (uint32_t c = 0; c < k->ncat; c++)
        k->coff[c + 1] += k->coff[c];
}

static void catalogue_init(catalogue *k, const wr_synth_opts *o, wr_rng *r)
{
    uint32_t n = o->items;
    k->n = n;
    k->ncat = o->categories;
    k->cat = xmalloc((size_t)n * sizeof *k->cat);
    k->member = xmalloc((size_t)n * sizeof *k->member);
    k->coff = xmalloc(((size_t)k->ncat + 1) * sizeof *k->coff);
    k->gcell = xmalloc((size_t)n * sizeof *k->gcell);
    k->ccell = xmalloc((size_t)n * sizeof *k->ccell);
    category_sizes(k);
    for (uint32_t i = 0; i < n; i++)
        k->member[i] = i;
    shuffle(k->member, n, r);
    for (uint32_t c = 0; c < k->ncat; c++)
        for (uint32_t j = k->coff[c]; j < k->coff[c + 1]; j++)
            k->cat[k->member[j]] = c;

    uint32_t *rank = xmalloc((size_t)n * sizeof *rank), *work = xmalloc((size_t)n * sizeof *work);
    float *pop = xmalloc((size_t)n * sizeof *pop), *mpop = xmalloc((size_t)n * sizeof *mpop);
    double *q = xmalloc((size_t)n * sizeof *q);
    for (uint32_t i = 0; i < n; i++)
        rank[i] = i;
    shuffle(rank, n, r);
    for (uint32_t i = 0; i < n; i++)
        pop[i] = (float)pow(rank[i] + 1.0, -o->alpha);
    alias_build(pop, n, k->gcell, q, work);
    for (uint32_t j = 0; j < n; j++)
        mpop[j] = pop[k->member[j]];
    for (uint32_t c = 0; c < k->ncat; c++) {
        uint32_t o0 = k->coff[c];
        alias_build(mpop + o0, csize(k, c), k->ccell + o0, q, work);
    }
    free(rank);
    free(work);
    free(pop);
    free(mpop);
    free(q);
}

static void catalogue_free(catalogue *k)
{
    free(k->cat);
    free(k->member);
    free(k->coff);
    free(k->gcell);
    free(k->ccell);
}

/* A partner for item i in its category, by popularity; uniform among the others if i all
 * but owns the category's popularity. */
static uint32_t partner_in(const catalogue *k, uint32_t i, wr_rng *r)
{
    uint32_t c = k->cat[i], o = k->coff[c], s = csize(k, c);
    for (int t = 0; t < PARTNER_TRIES; t++) {
        uint32_t j = draw_in(k, c, r);
        if (j != i)
            return j;
    }
    uint32_t j = k->member[o + rng_below(r, s - 1)];
    return j != i ? j : k->member[o + s - 1];
}

/* A partner for item i outside its category, by popularity; uniform among those if the
 * category all but owns the catalogue's popularity. */
static uint32_t partner_out(const catalogue *k, uint32_t i, wr_rng *r)
{
    uint32_t c = k->cat[i];
    for (int t = 0; t < PARTNER_TRIES; t++) {
        uint32_t j = draw_global(k, r);
        if (k->cat[j] != c)
            return j;
    }
    uint32_t x = rng_below(r, k->n - csize(k, c));
    return k->member[x < k->coff[c] ? x : x + csize(k, c)];
}

/* Relationship-like weights, in tenths: also_viewed 0.5 (50%), also_bought 1.0 (35%),
 * bought_together 1.2 (15%). */
static uint32_t draw_weight(wr_rng *r)
{
    uint32_t x = rng_below(r, 20);
    return x < 10 ? 5 : x < 17 ? 10 : 12;
}

typedef struct quota {
    uint64_t in, cross; /* distinct pairs still to find, by kind */
    double share;
} quota;

/* 1 for an in-category pair: by the target share while both kinds are open. */
static int pick_kind(const quota *qt, wr_rng *r)
{
    if (!qt->cross)
        return 1;
    if (!qt->in)
        return 0;
    return rng_double(r) < qt->share;
}

static void cover_items(const catalogue *k, pair_set *set, quota *qt, wr_rng *r)
{
    uint8_t *covered = xcalloc(k->n, 1);
    for (uint32_t i = 0; i < k->n; i++) {
        if (covered[i])
            continue;
        int in = pick_kind(qt, r);
        uint32_t j = in ? partner_in(k, i, r) : partner_out(k, i, r);
        set_add(set, i, j, draw_weight(r)); /* new: i had no pair */
        *(in ? &qt->in : &qt->cross) -= 1;
        covered[i] = covered[j] = 1;
    }
    free(covered);
}

typedef struct candidate {
    uint32_t a, b, w;
    int in;
} candidate;

/* Candidates come in batches, each stage a loop over independent draws so that their cache
 * misses (alias tables, categories, hash slots) overlap. A candidate of a kind whose quota
 * filled up earlier in its batch is dropped. */
static int fill_pairs(const catalogue *k, pair_set *set, quota *qt, wr_rng *r, wr_progress *pr,
                      wr_err *err)
{
    candidate cb[SYNTH_BATCH];
    uint64_t stale = 0;
    while (qt->in + qt->cross > 0) {
        for (int i = 0; i < SYNTH_BATCH; i++) {
            cb[i].in = pick_kind(qt, r);
            cb[i].a = draw_global(k, r);
            cb[i].w = draw_weight(r);
        }
        for (int i = 0; i < SYNTH_BATCH; i++)
            cb[i].b = cb[i].in ? draw_in(k, k->cat[cb[i].a], r) : draw_global(k, r);
        for (int i = 0; i < SYNTH_BATCH; i++) {
            uint64_t slot = set_slot(set, cb[i].a, cb[i].b);
            __builtin_prefetch(&set->key[slot]);
            __builtin_prefetch(&set->w[slot]);
        }
        for (int i = 0; i < SYNTH_BATCH; i++) {
            candidate *c = &cb[i];
            uint64_t *left = c->in ? &qt->in : &qt->cross;
            if (*left && c->a != c->b && (c->in || k->cat[c->a] != k->cat[c->b]) &&
                set_add(set, c->a, c->b, c->w)) {
                --*left;
                stale = 0;
            } else if (++stale == STALE_MAX) {
                return wr_fail(err,
                               "synth: no new pair in %u draws with %llu in-category and %llu "
                               "cross pairs still missing: the catalogue is too dense (lower "
                               "--pairs or --alpha, or raise --items)",
                               STALE_MAX, (unsigned long long)qt->in,
                               (unsigned long long)qt->cross);
            }
        }
        progress_set(pr, set->n);
    }
    return 0;
}

static int check_opts(const wr_synth_opts *o, wr_err *err)
{
    if (o->items < 2)
        return wr_fail(err, "synth: need at least 2 items");
    if (o->categories < 1 || o->items / 2 < o->categories)
        return wr_fail(err, "synth: %u categories need 1 to %u (at least 2 items each)",
                       o->categories, o->items / 2);
    if (o->pairs < o->items)
        return wr_fail(err, "synth: %llu pairs are fewer than the %u items (every item needs "
                       "a pair)", (unsigned long long)o->pairs, o->items);
    if (!(o->in_category >= 0 && o->in_category <= 1))
        return wr_fail(err, "synth: in-category share %g is not in [0, 1]", o->in_category);
    if (!(isfinite(o->alpha) && o->alpha >= 0))
        return wr_fail(err, "synth: popularity exponent %g must be finite and >= 0", o->alpha);
    return 0;
}

/* Quotas by kind, checked against how many pairs of each kind exist. */
static int make_quota(const catalogue *k, const wr_synth_opts *o, quota *qt, wr_err *err)
{
    uint64_t in_cap = 0, all = (uint64_t)k->n * (k->n - 1) / 2;
    for (uint32_t c = 0; c < k->ncat; c++)
        in_cap += (uint64_t)csize(k, c) * (csize(k, c) - 1) / 2;
    qt->share = o->in_category;
    qt->in = (uint64_t)llround(o->in_category * (double)o->pairs);
    qt->cross = o->pairs - qt->in;
    if (qt->in > in_cap)
        return wr_fail(err, "synth: %llu in-category pairs wanted but the categories hold only "
                       "%llu", (unsigned long long)qt->in, (unsigned long long)in_cap);
    if (qt->cross > all - in_cap)
        return wr_fail(err, "synth: %llu cross-category pairs wanted but only %llu exist",
                       (unsigned long long)qt->cross, (unsigned long long)(all - in_cap));
    return 0;
}

/* The set becomes a merged pair set over ids P0000000, P0000001, ... */
static void export_pairs(pair_set *set, uint32_t n, wr_pairs *out)
{
    int width = 7;
    char id[32];
    for (uint32_t x = n - 1; x >= 10000000; x /= 10)
        width++;
    for (uint32_t i = 0; i < n; i++)
        dict_intern(out->ids, id, (size_t)snprintf(id, sizeof id, "P%0*u", width, i));
    out->cap = set->n;
    out->v = xmalloc(set->n * sizeof *out->v);
    for (uint64_t i = 0; i <= set->mask; i++)
        if (set->key[i] != EMPTY)
            out->v[out->n++] =
                (wr_pair){(uint32_t)(set->key[i] >> 32), (uint32_t)set->key[i],
                          (float)(set->w[i] / 10.0)};
    set_free(set);
    pairs_merge(out); /* sorts; there is nothing to merge */
}

int synth_generate(const wr_synth_opts *o, wr_pairs *out, uint32_t **cat, wr_err *err)
{
    if (dict_size(out->ids) || out->n)
        return wr_fail(err, "synth: the pair set to fill is not empty");
    if (check_opts(o, err) < 0)
        return -1;
    wr_rng r;
    rng_seed(&r, o->seed);
    catalogue k;
    catalogue_init(&k, o, &r);
    quota qt;
    if (make_quota(&k, o, &qt, err) < 0) {
        catalogue_free(&k);
        return -1;
    }
    pair_set set;
    set_init(&set, o->pairs);
    wr_progress pr;
    progress_start(&pr, "synth", "pairs", o->pairs);
    cover_items(&k, &set, &qt, &r);
    int rc = fill_pairs(&k, &set, &qt, &r, &pr, err);
    progress_end(&pr, NULL);
    if (rc == 0) {
        export_pairs(&set, o->items, out);
        if (cat) {
            *cat = k.cat;
            k.cat = NULL;
        }
    }
    set_free(&set);
    catalogue_free(&k);
    return rc;
}

int synth_write_items(const wr_pairs *p, const uint32_t *cat, const char *path, wr_err *err)
{
    uint32_t n = dict_size(p->ids), top = 0;
    for (uint32_t i = 0; i < n; i++)
        if (cat[i] > top)
            top = cat[i];
    int width = 4;
    for (uint32_t x = top; x >= 10000; x /= 10)
        width++;
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    len += (size_t)snprintf(buf, cap, "item\tcategory\n");
    for (uint32_t i = 0; i < n; i++) {
        size_t need = dict_strlen(p->ids, i) + 32;
        if (len + need > cap) {
            cap = 2 * cap + need;
            buf = xrealloc(buf, cap);
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s\tc%0*u\n", dict_str(p->ids, i), width,
                                cat[i]);
    }
    int rc = file_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}
