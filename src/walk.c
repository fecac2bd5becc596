/* walk.c - random walks over the item graph into an in-memory token corpus, and the
 * reader for sequence files.
 *
 * Walk w lives at tok[w * length]; its start node is written there first (round by round,
 * each round a seeded shuffle of the start nodes), then workers take blocks of walks off a
 * shared counter. A block's random stream depends only on (seed, block), so the thread
 * count changes nothing but speed. Within a block, LANES walks advance side by side: their
 * steps are independent, so the CPU overlaps their cache misses. */
#include "walkrec/walk.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/progress.h"
#include "walkrec/rng.h"
#include "walkrec/text.h"
#include "walkrec/lines.h"

#define BLOCK 2048 /* walks per random stream and per unit of work */
#define LANES 16
#define MAX_THREADS 256

void walk_default_opts(wr_walk_opts *o)
{
    *o = (wr_walk_opts){.walks_per_item = 10, .length = 10, .p = 1, .q = 1, .seed = 1};
}

void walk_corpus_free(wr_corpus *c)
{
    free(c->tok);
    free(c->off);
    memset(c, 0, sizeof *c);
}

/* A seed for stream `id` of a run seeded with `seed` (splitmix64's finaliser). */
static uint64_t stream_seed(uint64_t seed, uint64_t id)
{
    uint64_t z = seed ^ (id * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct walk_ctx {
    const wr_graph *g;
    uint32_t len, rounds, nstart;
    const uint32_t *starts;  /* nodes with degree > 0 */
    uint64_t nwalks, nblocks, seed;
    double ip, iq, imax;     /* 1/p, 1/q, max(1/p, 1, 1/q) */
    int first_order;
    uint32_t *tok;
    uint64_t next;           /* next round, then next block: taken atomically */
    wr_progress pr;
} walk_ctx;

/* Round r: the start nodes in a seeded Fisher-Yates order, one per walk slot. */
static void shuffle_round(walk_ctx *c, uint32_t r)
{
    wr_rng rng;
    rng_seed(&rng, stream_seed(c->seed, 2 * (uint64_t)r + 1));
    uint64_t L = c->len, base = (uint64_t)r * c->nstart;
    uint32_t *t = c->tok + base * L;
    for (uint32_t i = 0; i < c->nstart; i++)
        t[i * L] = c->starts[i];
    for (uint32_t i = c->nstart; i > 1; i--) {
        uint32_t j = rng_below(&rng, i);
        uint32_t x = t[(i - 1) * L];
        t[(i - 1) * L] = t[j * L];
        t[j * L] = x;
    }
}

/* node2vec's acceptance of x, proposed by weight from cur having come from prev: the return /
 * in-out bias relative to its largest value. A non-return proposal's bias is 1 or 1/q, so
 * the uniform often settles it without the adjacency search. */
static int accept2(const walk_ctx *c, uint32_t prev, uint32_t x, wr_rng *r)
{
    const wr_graph *g = c->g;
    double u = rng_double(r) * c->imax;
    if (x == prev)
        return u < c->ip;
    if (u < fmin(1, c->iq))
        return 1;
    if (u >= fmax(1, c->iq))
        return 0;
    return u < (graph_has_edge(g, prev, x) ? 1 : c->iq);
}

/* First-order walks: nl <= LANES consecutive walks side by side, t pointing at the first,
 * whose start node is in place. graph_step in two passes, so that each lane's arc and cell
 * are fetched while the other lanes work, and the next row's offsets as soon as the node
 * is known. */
static void walk_lanes(const walk_ctx *c, uint32_t *t, uint32_t nl, wr_rng *rp)
{
    const wr_graph *g = c->g;
    uint64_t L = c->len, k[LANES];
    uint32_t cur[LANES], x[LANES];
    wr_rng r = *rp;
    for (uint32_t l = 0; l < nl; l++)
        cur[l] = t[l * L];
    for (uint64_t s = 1; s < L; s++) {
        for (uint32_t l = 0; l < nl; l++) {
            uint64_t o = g->off[cur[l]], z = rng_next(&r);
            uint32_t d = (uint32_t)(g->off[cur[l] + 1] - o);
            k[l] = o + (((z >> 32) * d) >> 32);
            x[l] = (uint32_t)z;
            __builtin_prefetch(&g->cell[k[l]]);
            __builtin_prefetch(&g->adj[k[l]]);
        }
        for (uint32_t l = 0; l < nl; l++) {
            wr_alias_cell cl = g->cell[k[l]];
            uint32_t v = x[l] < cl.thr ? g->adj[k[l]] : cl.alias;
            __builtin_prefetch(&g->off[v]);
            t[l * L + s] = cur[l] = v;
        }
    }
    *rp = r;
}

/* A node2vec walk in progress: proposals are rejected a varying number of times, so each
 * lane moves on its own and takes the block's next walk when done. */
typedef struct lane {
    uint32_t *t;       /* the walk's tokens */
    uint32_t s;        /* next position */
    uint32_t prev, cur;
    uint32_t z;        /* random bits for the pending proposal's cell */
    uint64_t k;        /* the pending proposal's arc */
} lane;

static void lane_start(lane *x, uint32_t *t)
{
    *x = (lane){.t = t, .s = 1, .cur = t[0], .prev = UINT32_MAX};
}

/* The nw walks of a block from t on, LANES at a time, in the same two passes as
 * walk_lanes: propose for every lane, then settle every lane's proposal. */
static void walk_block2(const walk_ctx *c, uint32_t *t, uint64_t nw, wr_rng *rp)
{
    const wr_graph *g = c->g;
    uint32_t L = c->len, na = 0;
    uint64_t next = 0;
    lane ln[LANES];
    wr_rng r = *rp;
    while (na < LANES && next < nw)
        lane_start(&ln[na++], t + next++ * L);
    while (na > 0) {
        for (uint32_t l = 0; l < na; l++) {
            uint64_t o = g->off[ln[l].cur], z = rng_next(&r);
            uint32_t d = (uint32_t)(g->off[ln[l].cur + 1] - o);
            ln[l].k = o + (((z >> 32) * d) >> 32);
            ln[l].z = (uint32_t)z;
            __builtin_prefetch(&g->cell[ln[l].k]);
            __builtin_prefetch(&g->adj[ln[l].k]);
            if (ln[l].s > 1) /* the first probe of accept2's search in prev's row */
                __builtin_prefetch(&g->adj[g->off[ln[l].prev] + graph_degree(g, ln[l].prev) / 2]);
        }
        for (uint32_t l = 0; l < na;) {
            lane *x = &ln[l];
            wr_alias_cell cl = g->cell[x->k];
            uint32_t v = x->z < cl.thr ? g->adj[x->k] : cl.alias;
            if (x->s == 1 || accept2(c, x->prev, v, &r)) {
                __builtin_prefetch(&g->off[v]);
                x->t[x->s++] = v;
                x->prev = x->cur;
                x->cur = v;
                if (x->s == L) {
                    if (next < nw) {
                        lane_start(x, t + next++ * L);
                    } else {
                        *x = ln[--na]; /* settle the moved lane's proposal next */
                        continue;
                    }
                }
            }
            l++;
        }
    }
    *rp = r;
}

static void *shuffle_worker(void *arg)
{
    walk_ctx *c = arg;
    uint32_t r;
    while ((r = (uint32_t)__atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED)) < c->rounds)
        shuffle_round(c, r);
    return NULL;
}

static void *block_worker(void *arg)
{
    walk_ctx *c = arg;
    uint64_t b;
    while ((b = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED)) < c->nblocks) {
        wr_rng rng;
        rng_seed(&rng, stream_seed(c->seed, 2 * b));
        uint64_t w0 = b * BLOCK, w1 = w0 + BLOCK < c->nwalks ? w0 + BLOCK : c->nwalks;
        if (c->first_order || c->len < 3)
            for (uint64_t w = w0; w < w1; w += LANES)
                walk_lanes(c, c->tok + w * c->len, (uint32_t)(w1 - w < LANES ? w1 - w : LANES),
                           &rng);
        else
            walk_block2(c, c->tok + w0 * c->len, w1 - w0, &rng);
        progress_add(&c->pr, (w1 - w0) * (c->len - 1));
    }
    return NULL;
}

/* Runs fn on nt threads (this one included); a thread that cannot start is not needed,
 * since workers share their work through an atomic counter. */
static void run_threads(void *(*fn)(void *), walk_ctx *c, int nt)
{
    pthread_t tid[MAX_THREADS];
    int started = 0;
    c->next = 0;
    for (int t = 1; t < nt; t++) {
        if (pthread_create(&tid[started], NULL, fn, c) != 0)
            break;
        started++;
    }
    fn(c);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}

static int check_opts(const wr_walk_opts *o, wr_err *err)
{
    if (o->walks_per_item < 1)
        return wr_fail(err, "walks: walks per item must be at least 1");
    if (o->length < 1)
        return wr_fail(err, "walks: walk length must be at least 1");
    if (!(isfinite(o->p) && o->p > 0) || !(isfinite(o->q) && o->q > 0))
        return wr_fail(err, "walks: node2vec p and q must be finite and > 0 (got p=%g q=%g)",
                       o->p, o->q);
    return 0;
}

int walk_generate(const wr_graph *g, const wr_walk_opts *o, wr_corpus *out, wr_err *err)
{
    memset(out, 0, sizeof *out);
    if (check_opts(o, err) < 0)
        return -1;
    uint32_t *starts = xmalloc((size_t)g->n * sizeof *starts);
    uint32_t ns = 0;
    for (uint32_t u = 0; u < g->n; u++)
        if (graph_degree(g, u) > 0)
            starts[ns++] = u;
    if (ns == 0) {
        free(starts);
        return wr_fail(err, "walks: the graph has no edges");
    }
    uint64_t nwalks = (uint64_t)ns * o->walks_per_item;
    if (nwalks > (SIZE_MAX / sizeof(uint32_t)) / o->length) {
        free(starts);
        return wr_fail(err, "walks: %llu walks of %u nodes do not fit in memory",
                       (unsigned long long)nwalks, o->length);
    }
    walk_ctx c = {
        .g = g, .len = o->length, .rounds = o->walks_per_item, .nstart = ns, .starts = starts,
        .nwalks = nwalks, .nblocks = (nwalks + BLOCK - 1) / BLOCK, .seed = o->seed,
        .ip = 1 / o->p, .iq = 1 / o->q, .first_order = o->p == 1 && o->q == 1,
    };
    c.imax = fmax(1, fmax(c.ip, c.iq));
    out->ntok = nwalks * o->length;
    out->nseq = nwalks;
    out->tok = xmalloc(out->ntok * sizeof *out->tok);
    out->off = xmalloc((nwalks + 1) * sizeof *out->off);
    c.tok = out->tok;
    for (uint64_t w = 0; w <= nwalks; w++)
        out->off[w] = w * o->length;

    int nt = o->threads > 0 ? o->threads : wr_cpu_count();
    if (nt > MAX_THREADS)
        nt = MAX_THREADS;
    run_threads(shuffle_worker, &c, nt);
    progress_start(&c.pr, "walks", "steps", nwalks * (o->length - 1));
    run_threads(block_worker, &c, nt);
    progress_end(&c.pr, NULL);
    free(starts);
    return 0;
}

/* ---- sequence files ---- */

static void corpus_push(wr_corpus *c, uint64_t *cap, uint32_t t)
{
    if (c->ntok == *cap) {
        *cap = *cap ? 2 * *cap : 1 << 16;
        c->tok = xrealloc(c->tok, *cap * sizeof *c->tok);
    }
    c->tok[c->ntok++] = t;
}

static void corpus_end_seq(wr_corpus *c, uint64_t *cap)
{
    if (c->nseq + 2 > *cap) {
        *cap *= 2;
        c->off = xrealloc(c->off, *cap * sizeof *c->off);
    }
    c->off[++c->nseq] = c->ntok;
}

static int read_line(wr_corpus *c, uint64_t *tcap, wr_dict *ids, const wr_lines *l,
                     wr_err *err)
{
    const char *s = l->buf, *end = l->buf + l->len;
    while (s < end) {
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        const char *b = s;
        while (s < end && *s != ' ' && *s != '\t')
            s++;
        if (s == b)
            break;
        size_t n = (size_t)(s - b);
        if (n > WR_ID_MAX)
            return wr_fail(err, "%s:%llu: id longer than %d bytes", l->path,
                           (unsigned long long)l->lineno, WR_ID_MAX);
        if (!text_utf8_valid(b, n))
            return wr_fail(err, "%s:%llu: id is not valid UTF-8", l->path,
                           (unsigned long long)l->lineno);
        corpus_push(c, tcap, dict_intern(ids, b, n));
    }
    return 0;
}

int walk_corpus_read(wr_corpus *c, wr_dict *ids, const char *path, wr_err *err)
{
    wr_lines l;
    uint64_t tcap = 0, scap = 0;
    int rc;
    memset(c, 0, sizeof *c);
    if (lines_open(&l, path, (size_t)64 << 20, err) < 0)
        return -1;
    scap = 1 << 12;
    c->off = xmalloc(scap * sizeof *c->off);
    c->off[0] = 0;
    while ((rc = lines_next(&l, err)) == 1) {
        if (l.too_long) {
            rc = wr_fail(err, "%s:%llu: line longer than %zu bytes", path,
                         (unsigned long long)l.lineno, l.max_len);
            break;
        }
        uint64_t before = c->ntok;
        if ((rc = read_line(c, &tcap, ids, &l, err)) < 0)
            break;
        if (c->ntok > before)
            corpus_end_seq(c, &scap);
    }
    if (rc == 0 && l.truncated)
        rc = wr_fail(err, "%s:%llu: input ends inside a damaged or cut-off gzip stream", path,
                     (unsigned long long)l.lineno);
    lines_close(&l);
    if (rc < 0) {
        walk_corpus_free(c);
        return -1;
    }
    return 0;
}
