/* explain.c - the pair graph beside a model file, and the evidence it holds for a pair
 * (explain.h).
 *
 * Written once by the trainer (a counting sort of the merged pairs over the model's rows,
 * each row then sorted by partner), mapped read-only by the index and never changed, so
 * any number of threads read it without locks. An explanation merges the two rows' sorted
 * partner lists; when one row is much longer than the other (a best-seller against a niche
 * item) it looks each partner of the short row up in the long one instead, so the cost is
 * min(deg a + deg b, deg short x log2 deg long). */
#include "walkrec/explain.h"

#include <stdlib.h>
#include <string.h>

#include "walkrec/file.h"

#define MAGIC "WRGRAPH1"
#define HEADER 64

typedef struct header {
    char magic[8];
    uint64_t n, arcs, ids_hash;
    double total;
    uint64_t outside;
    uint64_t reserved[2];
} header;

_Static_assert(sizeof(header) == HEADER, "the graph file's header is 64 bytes");

/* A partner and the pair's weight side by side: the partner found, its weight is in the
 * same cache line (an explanation's cost is its cache misses). */
typedef struct arc {
    uint32_t to;
    float w;
} arc;

struct wr_explain_graph {
    wr_filemap fm;
    uint32_t n;
    uint64_t arcs;
    double total;
    const uint64_t *off;
    const arc *adj;
    const float *deg;
};

char *explain_graph_path(const char *model) { return file_beside(model, ".wr", ".graph"); }

uint64_t explain_ids_hash(const wr_dict *ids)
{
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < dict_size(ids); i++) {
        const unsigned char *s = (const unsigned char *)dict_str(ids, i);
        size_t len = dict_strlen(ids, i);
        for (size_t k = 0; k <= len; k++) /* the NUL too */
            h = (h ^ (k < len ? s[k] : 0)) * 1099511628211ull;
    }
    return h;
}

/* ---- writing ---- */

static int by_partner(const void *x, const void *y)
{
    uint32_t a = ((const arc *)x)->to, b = ((const arc *)y)->to;
    return a < b ? -1 : a > b;
}

int explain_graph_write(const char *path, const wr_pairs *p, const wr_dict *rows, wr_err *err)
{
    uint32_t n = dict_size(rows), np = dict_size(p->ids);
    header h = {.n = n, .ids_hash = explain_ids_hash(rows)};
    memcpy(h.magic, MAGIC, 8);
    int rc = -1;
    uint32_t *row = malloc(((size_t)np + 1) * sizeof *row);
    uint64_t *off = calloc((size_t)n + 2, sizeof *off);
    float *deg = calloc((size_t)n + 1, sizeof *deg);
    arc *arcs = NULL;
    if (!row || !off || !deg) {
        wr_failc(err, WR_ENOMEM, "%s: no memory for the graph of %u items", path, n);
        goto out;
    }
    for (uint32_t i = 0; i < np; i++) {
        int64_t r = dict_find(rows, dict_str(p->ids, i), dict_strlen(p->ids, i));
        row[i] = r < 0 ? UINT32_MAX : (uint32_t)r;
    }
    for (size_t i = 0; i < p->n; i++) { /* count each row's arcs into off[row + 2] */
        uint32_t a = row[p->v[i].a], b = row[p->v[i].b];
        if (a == UINT32_MAX || b == UINT32_MAX || a == b) {
            h.outside++;
            continue;
        }
        off[a + 2]++;
        off[b + 2]++;
        h.arcs += 2;
        h.total += p->v[i].w;
    }
    for (uint32_t r = 0; r < n; r++)
        off[r + 2] += off[r + 1];
    if (!(arcs = malloc((h.arcs ? h.arcs : 1) * sizeof *arcs))) {
        wr_failc(err, WR_ENOMEM, "%s: no memory for %llu arcs", path,
                 (unsigned long long)h.arcs);
        goto out;
    }
    for (size_t i = 0; i < p->n; i++) { /* off[row + 1] is the next free place of row */
        uint32_t a = row[p->v[i].a], b = row[p->v[i].b];
        float w = p->v[i].w;
        if (a == UINT32_MAX || b == UINT32_MAX || a == b)
            continue;
        arcs[off[a + 1]++] = (arc){b, w};
        arcs[off[b + 1]++] = (arc){a, w};
        deg[a] += w;
        deg[b] += w;
    }
    for (uint32_t r = 0; r < n; r++) /* off[0..n] now the rows' starts and the end */
        qsort(arcs + off[r], off[r + 1] - off[r], sizeof *arcs, by_partner);
    wr_atomic_file f;
    if (file_atomic_open(&f, path, err) < 0)
        goto out;
    fwrite(&h, sizeof h, 1, f.f);
    fwrite(off, sizeof *off, (size_t)n + 1, f.f);
    fwrite(arcs, sizeof *arcs, h.arcs, f.f);
    fwrite(deg, sizeof *deg, n, f.f);
    rc = file_atomic_commit(&f, err);
out:
    free(row);
    free(off);
    free(deg);
    free(arcs);
    return rc;
}

/* ---- reading ---- */

static int corrupt(wr_err *err, const char *path, const char *what)
{
    return wr_failc(err, WR_ECORRUPT, "%s: %s", path, what);
}

/* Every offset within arcs and rising, every partner a row. */
static int in_bounds(const wr_explain_graph *g)
{
    if (g->off[0] != 0 || g->off[g->n] != g->arcs)
        return 0;
    for (uint32_t r = 0; r < g->n; r++)
        if (g->off[r + 1] < g->off[r])
            return 0;
    for (uint64_t i = 0; i < g->arcs; i++)
        if (g->adj[i].to >= g->n)
            return 0;
    return 1;
}

wr_explain_graph *explain_graph_open(const char *path, const wr_dict *rows, wr_err *err)
{
    wr_explain_graph *g = xcalloc(1, sizeof *g);
    header h;
    if (file_map_open(&g->fm, path, err) < 0)
        goto fail;
    if (g->fm.len < HEADER) {
        corrupt(err, path, "shorter than a graph file's header");
        goto fail;
    }
    memcpy(&h, g->fm.data, sizeof h);
    uint64_t n = h.n;
    if (memcmp(h.magic, MAGIC, 8)) {
        corrupt(err, path, "not a walkrec graph file");
        goto fail;
    }
    if (n != dict_size(rows) || h.ids_hash != explain_ids_hash(rows)) {
        corrupt(err, path, "the graph of another model (its items differ)");
        goto fail;
    }
    if (h.arcs > (g->fm.len - HEADER) / 8 ||
        g->fm.len != HEADER + 8 * (n + 1) + 8 * h.arcs + 4 * n) {
        corrupt(err, path, "its size does not match its header");
        goto fail;
    }
    const char *d = (const char *)g->fm.data + HEADER;
    g->n = (uint32_t)n;
    g->arcs = h.arcs;
    g->total = h.total;
    g->off = (const uint64_t *)d;
    g->adj = (const arc *)(d + 8 * (n + 1));
    g->deg = (const float *)(d + 8 * (n + 1) + 8 * h.arcs);
    if (!in_bounds(g)) {
        corrupt(err, path, "an offset or a partner out of bounds");
        goto fail;
    }
    return g;
fail:
    explain_graph_free(g);
    return NULL;
}

void explain_graph_free(wr_explain_graph *g)
{
    if (!g)
        return;
    file_map_close(&g->fm);
    free(g);
}

uint64_t explain_graph_pairs(const wr_explain_graph *g) { return g->arcs / 2; }
double explain_graph_weight(const wr_explain_graph *g) { return g->total; }

uint32_t explain_graph_degree(const wr_explain_graph *g, uint32_t row)
{
    return (uint32_t)(g->off[row + 1] - g->off[row]);
}

double explain_graph_strength(const wr_explain_graph *g, uint32_t row) { return g->deg[row]; }

/* ---- a pair's evidence ---- */

/* The place of v in row r's partners, or -1. */
static int64_t find(const wr_explain_graph *g, uint32_t r, uint32_t v)
{
    uint64_t lo = g->off[r], hi = g->off[r + 1];
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (g->adj[mid].to < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->off[r + 1] && g->adj[lo].to == v ? (int64_t)lo : -1;
}

/* 1 when partner x ranks above y: the higher weaker link, then the higher sum, then the
 * lower row. */
static int better(const wr_explain_partner *x, const wr_explain_partner *y)
{
    float mx = x->wa < x->wb ? x->wa : x->wb, my = y->wa < y->wb ? y->wa : y->wb;
    if (mx != my)
        return mx > my;
    if (x->wa + x->wb != y->wa + y->wb)
        return x->wa + x->wb > y->wa + y->wb;
    return x->row < y->row;
}

/* Counts shared partner c (weights wa to a, wb to b) into e. */
static void shared(const wr_explain_graph *g, wr_explain *e, uint32_t c, float wa, float wb,
                   double da, double db)
{
    e->shared++;
    double dc = g->deg[c];
    if (da > 0 && dc > 0)
        e->step2_ab += (wa / da) * (wb / dc);
    if (db > 0 && dc > 0)
        e->step2_ba += (wb / db) * (wa / dc);
    wr_explain_partner p = {c, wa, wb};
    uint32_t i = e->ntop < WR_EXPLAIN_TOP ? e->ntop++ : WR_EXPLAIN_TOP;
    if (i == WR_EXPLAIN_TOP && !better(&p, &e->top[WR_EXPLAIN_TOP - 1]))
        return;
    if (i == WR_EXPLAIN_TOP)
        i--;
    while (i > 0 && better(&p, &e->top[i - 1])) {
        e->top[i] = e->top[i - 1];
        i--;
    }
    e->top[i] = p;
}

static unsigned log2u(uint64_t x)
{
    unsigned l = 0;
    while (x >>= 1)
        l++;
    return l;
}

void explain_ingested(const wr_explain_graph *g, const uint32_t *rows, const float *w, size_t n,
                      uint32_t b, wr_explain *e)
{
    memset(e, 0, sizeof *e);
    e->deg_a = (uint32_t)n;
    e->deg_b = explain_graph_degree(g, b);
    uint64_t j = g->off[b], je = g->off[b + 1];
    for (size_t i = 0; i < n; i++) { /* both sorted by row: a merge */
        if (rows[i] == b)
            e->weight = w[i];
        while (j < je && g->adj[j].to < rows[i])
            j++;
        if (j < je && g->adj[j].to == rows[i])
            shared(g, e, rows[i], w[i], g->adj[j].w, 0, 0);
    }
}

void explain_pair(const wr_explain_graph *g, uint32_t a, uint32_t b, wr_explain *e)
{
    memset(e, 0, sizeof *e);
    e->deg_a = explain_graph_degree(g, a);
    e->deg_b = explain_graph_degree(g, b);
    double da = g->deg[a], db = g->deg[b];
    int64_t at = find(g, a, b);
    if (at >= 0) {
        e->weight = g->adj[at].w;
        e->step1_ab = da > 0 ? e->weight / da : 0;
        e->step1_ba = db > 0 ? e->weight / db : 0;
    }
    uint64_t i = g->off[a], ie = g->off[a + 1], j = g->off[b], je = g->off[b + 1];
    uint64_t short_n = e->deg_a < e->deg_b ? e->deg_a : e->deg_b,
             long_n = e->deg_a < e->deg_b ? e->deg_b : e->deg_a;
    if (short_n * (log2u(long_n) + 1) < short_n + long_n) { /* look the short row up */
        int a_short = e->deg_a <= e->deg_b;
        uint32_t s = a_short ? a : b, l = a_short ? b : a;
        for (uint64_t k = g->off[s]; k < g->off[s + 1]; k++) {
            int64_t x = find(g, l, g->adj[k].to);
            if (x >= 0)
                shared(g, e, g->adj[k].to, a_short ? g->adj[k].w : g->adj[x].w,
                       a_short ? g->adj[x].w : g->adj[k].w, da, db);
        }
        return;
    }
    while (i < ie && j < je) { /* merge the two sorted rows */
        if (g->adj[i].to < g->adj[j].to) {
            i++;
        } else if (g->adj[i].to > g->adj[j].to) {
            j++;
        } else {
            shared(g, e, g->adj[i].to, g->adj[i].w, g->adj[j].w, da, db);
            i++;
            j++;
        }
    }
}
