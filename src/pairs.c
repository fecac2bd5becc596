/* pairs.c - weighted unordered pairs: the TSV/CSV reader, merging, the writer. */
#include "walkrec/file.h"
#include "walkrec/lines.h"
#include "walkrec/pairs.h"
#include "walkrec/text.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const wr_weights wr_default_weights = {
    .bought_together = 1.2, .also_bought = 1.0, .also_viewed = 0.5, .buy_after_viewing = 0};

static double *weight_slot(wr_weights *wt, const char *name)
{
    if (!strcmp(name, "bought_together"))
        return &wt->bought_together;
    if (!strcmp(name, "also_bought") || !strcmp(name, "also_buy"))
        return &wt->also_bought;
    if (!strcmp(name, "also_viewed") || !strcmp(name, "also_view"))
        return &wt->also_viewed;
    if (!strcmp(name, "buy_after_viewing"))
        return &wt->buy_after_viewing;
    return NULL;
}

int pairs_weights_lookup(const wr_weights *wt, const char *name, double *out)
{
    double *s = weight_slot((wr_weights *)wt, name);
    if (!s)
        return -1;
    *out = *s;
    return 0;
}

int pairs_weights_parse(wr_weights *wt, const char *spec, wr_err *err)
{
    char *copy = xstrdup(spec), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        double v;
        double *s;
        if (!eq) {
            rc = wr_fail(err, "weights: '%s' is not NAME=VALUE", tok);
            break;
        }
        *eq = 0;
        if (!(s = weight_slot(wt, tok))) {
            rc = wr_fail(err, "weights: unknown relationship '%s' (known: bought_together, "
                              "also_bought, also_viewed, buy_after_viewing)", tok);
            break;
        }
        if (text_parse_double(eq + 1, &v) < 0 || !isfinite(v) || v < 0) {
            rc = wr_fail(err, "weights: %s needs a finite number >= 0, got '%s'", tok, eq + 1);
            break;
        }
        *s = v;
    }
    free(copy);
    return rc;
}

void pairs_init(wr_pairs *p)
{
    memset(p, 0, sizeof *p);
    p->ids = dict_new(1024);
}

void pairs_free(wr_pairs *p)
{
    dict_free(p->ids);
    free(p->v);
    memset(p, 0, sizeof *p);
}

void pairs_add_idx(wr_pairs *p, uint32_t a, uint32_t b, float w)
{
    if (a == b)
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (wr_pair){a, b, w};
}

void pairs_copy(wr_pairs *dst, const wr_pairs *src)
{
    uint32_t n = dict_size(src->ids);
    memset(dst, 0, sizeof *dst);
    dst->ids = dict_new(n + 1);
    for (uint32_t i = 0; i < n; i++)
        dict_intern(dst->ids, dict_str(src->ids, i), dict_strlen(src->ids, i));
    dst->cap = dst->n = src->n;
    dst->v = xmalloc((src->n ? src->n : 1) * sizeof *dst->v);
    memcpy(dst->v, src->v, src->n * sizeof *dst->v);
}

void pairs_add(wr_pairs *p, const char *a, size_t alen, const char *b, size_t blen, float w)
{
    uint32_t ia = dict_intern(p->ids, a, alen), ib = dict_intern(p->ids, b, blen);
    pairs_add_idx(p, ia, ib, w);
}

static int cmp_b(const void *x, const void *y)
{
    uint32_t a = ((const wr_pair *)x)->b, b = ((const wr_pair *)y)->b;
    return (a > b) - (a < b);
}

/* Sorts v by (a, b): a counting sort on a, then small sorts within each bucket. */
static void sort_pairs(wr_pair *v, size_t n, uint32_t n_items)
{
    if (n == 0)
        return;
    size_t *end = xcalloc((size_t)n_items + 1, sizeof *end);
    wr_pair *tmp = xmalloc((n ? n : 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++)
        end[v[i].a + 1]++;
    for (uint32_t k = 0; k < n_items; k++)
        end[k + 1] += end[k];
    for (size_t i = 0; i < n; i++)
        tmp[end[v[i].a]++] = v[i];
    /* end[k] is now the end of bucket k */
    size_t s = 0;
    for (uint32_t k = 0; k < n_items; k++) {
        if (end[k] - s > 1)
            qsort(tmp + s, end[k] - s, sizeof *tmp, cmp_b);
        s = end[k];
    }
    memcpy(v, tmp, n * sizeof *v);
    free(tmp);
    free(end);
}

void pairs_merge(wr_pairs *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].a > p->v[i].b) {
            uint32_t t = p->v[i].a;
            p->v[i].a = p->v[i].b;
            p->v[i].b = t;
        }
    sort_pairs(p->v, p->n, dict_size(p->ids));
    size_t out = 0;
    for (size_t i = 0; i < p->n;) {
        size_t j = i;
        double w = 0;
        while (j < p->n && p->v[j].a == p->v[i].a && p->v[j].b == p->v[i].b)
            w += p->v[j++].w;
        /* a sum past the float range saturates rather than becoming infinite */
        p->v[out++] = (wr_pair){p->v[i].a, p->v[i].b, w < FLT_MAX ? (float)w : FLT_MAX};
        i = j;
    }
    p->n = out;
}

/* ---- reading ---- */

/* Splits one CSV line in place (RFC 4180 quotes: "a ""b""" -> a "b"). Returns the field
 * count, or -1 for an unterminated quote. */
static int split_csv(char *s, char **f, int max)
{
    int n = 0;
    for (;;) {
        if (n == max)
            return n;
        if (*s == '"') {
            char *w = ++s;
            f[n++] = w;
            for (;;) {
                if (!*s)
                    return -1;
                if (*s == '"') {
                    if (s[1] == '"') {
                        *w++ = '"';
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                *w++ = *s++;
            }
            *w = 0;
            if (*s == 0)
                return n;
            if (*s != ',')
                return -1;
            s++;
        } else {
            f[n++] = s;
            char *c = strchr(s, ',');
            if (!c)
                return n;
            *c = 0;
            s = c + 1;
        }
    }
}

static int looks_like_header(char **f, int nf, const wr_weights *wt)
{
    static const char *names[][2] = {
        {"item_a", "item_b"}, {"src", "dst"},   {"source", "target"},
        {"from", "to"},       {"item1", "item2"}, {"node1", "node2"}, {"fromnodeid", "tonodeid"},
        {"product_a", "product_b"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(f[0], names[i][0]) && nf > 1 && !strcasecmp(f[1], names[i][1]))
            return 1;
    double v;
    return nf >= 3 && text_parse_double(f[2], &v) < 0 && pairs_weights_lookup(wt, f[2], &v) < 0;
}

static const char *check_id(const char *s)
{
    size_t len = strlen(s);
    if (!len)
        return "empty item id";
    if (len > WR_ID_MAX)
        return "item id longer than the limit (WR_ID_MAX bytes)";
    if (!text_utf8_valid(s, len))
        return "item id is not valid UTF-8";
    if (memchr(s, '\t', len)) /* a quoted CSV field: no pair file (TSV) could hold it */
        return "item id contains a tab";
    return NULL;
}

int pairs_read(wr_pairs *p, const char *path, const wr_read_opts *opts, wr_read_stats *stats,
               wr_err *err)
{
    wr_read_opts defaults = {0};
    wr_read_stats local;
    const wr_read_opts *o = opts ? opts : &defaults;
    const wr_weights *wt = o->weights ? o->weights : &wr_default_weights;
    int max_report = o->max_report > 0 ? o->max_report : 5;
    wr_lines l;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    /* long enough for two maximal ids and a weight, with room for quoting */
    if (lines_open(&l, path, 4 * WR_ID_MAX + 256, err) < 0)
        return -1;
    size_t plen = strlen(path);
    int csv = plen >= 4 && !strcasecmp(path + plen - 4, ".csv");
    int sniffed = 0, rc;
    while ((rc = lines_next(&l, err)) == 1) {
        char *line = l.buf, *f[4];
        const char *why = NULL;
        stats->lines++;
        /* '#' starts a comment, except on a TSV line with a tab: ids may start with '#',
         * and pairs_write writes their pairs like any other. */
        if (l.len == 0 || (line[0] == '#' && (csv || !memchr(line, '\t', l.len))))
            continue;
        int first = !sniffed;
        if (first) {
            sniffed = 1;
            if (!csv && !strchr(line, '\t') && strchr(line, ','))
                csv = 1;
        }
        int nf = l.too_long ? -2 : csv ? split_csv(line, f, 4) : text_split(line, '\t', f, 4);
        if (first && nf >= 2 && looks_like_header(f, nf, wt))
            continue;
        double w = 1;
        if (nf == -2)
            why = "line too long";
        else if (nf < 0)
            why = "unterminated quote";
        else if (nf < 2)
            why = "expected at least two columns (item_a, item_b)";
        else if ((why = check_id(f[0])) || (why = check_id(f[1])))
            ;
        else if (nf >= 3 && f[2][0]) {
            if (text_parse_double(f[2], &w) == 0) {
                /* stored as a float: 1e-50 would become 0, 1e39 infinity */
                if (!isfinite((float)w) || (float)w <= 0)
                    why = "weight must be a number > 0 within float range (1e-45 to 3e38)";
            } else if (pairs_weights_lookup(wt, f[2], &w) < 0) {
                why = "third column is neither a weight nor a known relationship";
            } else if (w == 0) {
                continue; /* relationship switched off */
            }
        }
        if (why) {
            stats->malformed++;
            if (o->strict) {
                lines_close(&l);
                return wr_fail(err, "%s:%llu: %s", path, (unsigned long long)l.lineno, why);
            }
            if (stats->malformed <= (uint64_t)max_report)
                wr_warn("%s:%llu: %s (line skipped)", path, (unsigned long long)l.lineno, why);
            continue;
        }
        if (!strcmp(f[0], f[1])) {
            stats->self_pairs++;
            continue;
        }
        pairs_add(p, f[0], strlen(f[0]), f[1], strlen(f[1]), (float)w);
        stats->pairs++;
    }
    stats->truncated = l.truncated;
    lines_close(&l);
    if (rc < 0)
        return -1;
    if (stats->malformed > (uint64_t)max_report)
        wr_warn("%s: %llu malformed lines skipped in all", path,
                (unsigned long long)stats->malformed);
    if (stats->truncated) {
        if (o->strict)
            return wr_fail(err, "%s: compressed stream is truncated or damaged", path);
        wr_warn("%s: compressed stream is truncated or damaged; using the %llu lines read",
                path, (unsigned long long)stats->lines);
    }
    pairs_merge(p);
    return 0;
}

/* ---- writing ---- */

/* The shortest of %.6g .. %.9g that reads back as the same float: 2.2, not 2.20000005. */
static void format_weight(char *buf, size_t n, float w)
{
    if (w < 1e6f && w == (float)(int)w) { /* in that order: (int) of a larger float is UB */
        snprintf(buf, n, "%d", (int)w);
        return;
    }
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)w);
        if (strtof(buf, NULL) == w)
            return;
    }
}

int pairs_write(const wr_pairs *p, const char *path, wr_err *err)
{
    uint32_t n_items = dict_size(p->ids);
    uint32_t *rank = dict_sorted_rank(p->ids);
    uint32_t *item_of = xmalloc((size_t)(n_items ? n_items : 1) * sizeof *item_of);
    for (uint32_t i = 0; i < n_items; i++)
        item_of[rank[i]] = i;
    wr_pair *v = xmalloc((p->n ? p->n : 1) * sizeof *v);
    for (size_t i = 0; i < p->n; i++) {
        uint32_t ra = rank[p->v[i].a], rb = rank[p->v[i].b];
        v[i] = (wr_pair){ra < rb ? ra : rb, ra < rb ? rb : ra, p->v[i].w};
    }
    free(rank);
    sort_pairs(v, p->n, n_items);
    wr_atomic_file af;
    int rc = file_atomic_open(&af, path, err);
    if (rc == 0) {
        fputs("item_a\titem_b\tweight\n", af.f);
        for (size_t i = 0; i < p->n; i++) {
            char w[32];
            format_weight(w, sizeof w, v[i].w);
            fputs(dict_str(p->ids, item_of[v[i].a]), af.f);
            putc('\t', af.f);
            fputs(dict_str(p->ids, item_of[v[i].b]), af.f);
            putc('\t', af.f);
            fputs(w, af.f);
            putc('\n', af.f);
        }
        rc = file_atomic_commit(&af, err);
    }
    free(v);
    free(item_of);
    return rc;
}

double *pairs_weighted_degree(const wr_pairs *p)
{
    double *d = xcalloc(dict_size(p->ids) + 1, sizeof *d);
    for (size_t i = 0; i < p->n; i++) {
        d[p->v[i].a] += p->v[i].w;
        d[p->v[i].b] += p->v[i].w;
    }
    return d;
}

uint32_t *pairs_degree(const wr_pairs *p)
{
    uint32_t *d = xcalloc(dict_size(p->ids) + 1, sizeof *d);
    for (size_t i = 0; i < p->n; i++) {
        d[p->v[i].a]++;
        d[p->v[i].b]++;
    }
    return d;
}
