/* prepare.c - Amazon metadata to pairs.tsv and items.tsv (prepare.h).
 *
 * Each line goes through the one-line parser of amazon.h; the relations are collected as
 * (asin, other) links per kind, sorted and deduplicated (an id repeated in one list counts
 * once), then summed into weighted pairs; side fields keep the first non-empty value per
 * asin. */
#include "walkrec/prepare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/amazon.h"
#include "walkrec/bytes.h"
#include "walkrec/file.h"
#include "walkrec/lines.h"
#include "walkrec/progress.h"
#include "walkrec/text.h"

/* Side information of the asins with a record, first non-empty value of each field. */
typedef struct item_info {
    uint32_t id;
    uint64_t off[WR_INFO_FIELDS]; /* into side.text; 0 = empty */
} item_info;

typedef struct side {
    uint32_t *slot; /* dict index -> index into v, UINT32_MAX for none */
    size_t nslot, slotcap;
    item_info *v;
    size_t n, cap;
    wr_bytes text;
} side;

typedef struct links { /* asin << 32 | other */
    uint64_t *v;
    size_t n, cap;
} links;

typedef struct prep {
    const char *path;
    int strict, max_report;
    wr_prepare_stats *st;
    wr_pairs pairs;
    float w[WR_REL_KINDS];
    links links[WR_REL_KINDS];
    int want_items;
    side side;
} prep;

static void side_add(side *sd, uint32_t id, const wr_amazon_record *r)
{
    if (sd->nslot <= id) {
        sd->slot = bytes_grow(sd->slot, &sd->slotcap, (size_t)id + 1, sizeof *sd->slot);
        memset(sd->slot + sd->nslot, 0xff, (sd->slotcap - sd->nslot) * sizeof *sd->slot);
        sd->nslot = sd->slotcap;
    }
    if (!sd->text.n)
        bytes_putc(&sd->text, 0); /* offset 0 is the empty string */
    if (sd->slot[id] == UINT32_MAX) {
        sd->v = bytes_grow(sd->v, &sd->cap, sd->n + 1, sizeof *sd->v);
        sd->slot[id] = (uint32_t)sd->n;
        sd->v[sd->n++] = (item_info){.id = id};
    }
    item_info *it = &sd->v[sd->slot[id]];
    for (int f = 0; f < WR_INFO_FIELDS; f++)
        if (!it->off[f] && r->info[f].len) {
            it->off[f] = sd->text.n;
            bytes_put(&sd->text, r->info[f].s, r->info[f].len + 1);
        }
}

static void add_record(prep *pp, const wr_amazon_record *r)
{
    int need = pp->want_items;
    for (int k = 0; k < WR_REL_KINDS; k++)
        if (pp->w[k] > 0 && r->nrel[k])
            need = 1;
    if (!need)
        return;
    uint32_t a = dict_intern(pp->pairs.ids, r->asin.s, r->asin.len);
    for (int k = 0; k < WR_REL_KINDS; k++) {
        links *l = &pp->links[k];
        if (!(pp->w[k] > 0))
            continue;
        l->v = bytes_grow(l->v, &l->cap, l->n + r->nrel[k], sizeof *l->v);
        for (size_t i = 0; i < r->nrel[k]; i++) {
            uint32_t b = dict_intern(pp->pairs.ids, r->rel[k][i].s, r->rel[k][i].len);
            if (b != a)
                l->v[l->n++] = (uint64_t)a << 32 | b;
        }
    }
    if (pp->want_items)
        side_add(&pp->side, a, r);
}

/* LSD radix sort by bytes, skipping the bytes that are the same in every key (with dense
 * ids most of them). */
static void radix_sort(uint64_t *v, size_t n)
{
    if (n < 2)
        return;
    size_t(*count)[256] = xcalloc(8, sizeof *count);
    uint64_t *tmp = xmalloc(n * sizeof *tmp), *src = v, *dst = tmp;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][(v[i] >> (8 * b)) & 0xff]++;
    for (int b = 0; b < 8; b++) {
        int shift = 8 * b;
        if (count[b][(src[0] >> shift) & 0xff] == n)
            continue;
        size_t sum = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = count[b][d];
            count[b][d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[b][(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    free(count);
}

static void build_pairs(prep *pp)
{
    for (int k = 0; k < WR_REL_KINDS; k++) {
        links *l = &pp->links[k];
        radix_sort(l->v, l->n);
        for (size_t i = 0; i < l->n; i++)
            if (i == 0 || l->v[i] != l->v[i - 1])
                pairs_add_idx(&pp->pairs, (uint32_t)(l->v[i] >> 32), (uint32_t)l->v[i],
                              pp->w[k]);
        free(l->v);
        *l = (links){0};
    }
    if (pp->pairs.n) /* pairs_merge memcpy's from a NULL array when empty */
        pairs_merge(&pp->pairs);
}

static uint64_t count_items(const wr_pairs *p)
{
    uint32_t n = dict_size(p->ids);
    unsigned char *seen = xcalloc(n ? n : 1, 1);
    uint64_t items = 0;
    for (size_t i = 0; i < p->n; i++) {
        items += !seen[p->v[i].a] + !seen[p->v[i].b];
        seen[p->v[i].a] = seen[p->v[i].b] = 1;
    }
    free(seen);
    return items;
}

static int write_items(prep *pp, const char *path, wr_err *err)
{
    const side *sd = &pp->side;
    const wr_dict *ids = pp->pairs.ids;
    uint32_t *rank = dict_sorted_rank(ids);
    uint64_t *order = xmalloc((sd->n ? sd->n : 1) * sizeof *order);
    for (size_t i = 0; i < sd->n; i++)
        order[i] = (uint64_t)rank[sd->v[i].id] << 32 | i;
    free(rank);
    radix_sort(order, sd->n);
    wr_atomic_file af;
    int rc = file_atomic_open(&af, path, err);
    if (rc == 0) {
        fputs("item\tbrand\tcategory\tprice\ttitle\tsalesrank\n", af.f);
        for (size_t i = 0; i < sd->n; i++) {
            const item_info *it = &sd->v[(uint32_t)order[i]];
            fputs(dict_str(ids, it->id), af.f);
            for (int f = 0; f < WR_INFO_FIELDS; f++) {
                fputc('\t', af.f);
                fputs(sd->text.p + it->off[f], af.f);
            }
            fputc('\n', af.f);
        }
        rc = file_atomic_commit(&af, err);
    }
    free(order);
    return rc;
}

static int malformed(prep *pp, uint64_t lineno, const char *why, wr_err *err)
{
    pp->st->malformed++;
    if (pp->strict)
        return wr_fail(err, "%s:%llu: %s", pp->path, (unsigned long long)lineno, why);
    if (pp->st->malformed <= (uint64_t)pp->max_report)
        wr_warn("%s:%llu: %s", pp->path, (unsigned long long)lineno, why);
    return 0;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f')
            return 0;
    return 1;
}

static int read_meta(prep *pp, wr_lines *l, wr_err *err)
{
    wr_amazon_parser *ps = amazon_parser_new(pp->want_items);
    wr_amazon_record rec;
    wr_progress pg;
    wr_err why, pending;
    uint64_t pending_line = 0, ticks = 0;
    int rc = 0, r;
    progress_start(&pg, "prepare", "lines", 0);
    while ((r = lines_next(l, err)) == 1) {
        /* A bad line read while the gzip stream was failing may be its cut-off end; only
         * the next line proves it was not. */
        if (pending_line && (rc = malformed(pp, pending_line, pending.msg, err)) < 0)
            break;
        pending_line = 0;
        pp->st->lines++;
        if (++ticks == 4096) {
            progress_add(&pg, ticks);
            ticks = 0;
        }
        if (l->too_long)
            wr_fail(&why, "line longer than %zu bytes", l->max_len);
        else if (blank(l->buf, l->len))
            continue;
        else if (amazon_parse_line(ps, l->buf, l->len, &rec, &why) == 0) {
            pp->st->records++;
            add_record(pp, &rec);
            continue;
        }
        if (l->truncated) {
            pending_line = l->lineno;
            pending = why;
        } else if ((rc = malformed(pp, l->lineno, why.msg, err)) < 0) {
            break;
        }
    }
    if (r < 0)
        rc = -1;
    progress_add(&pg, ticks);
    char extra[96];
    snprintf(extra, sizeof extra, "%llu records, %llu malformed",
             (unsigned long long)pp->st->records, (unsigned long long)pp->st->malformed);
    progress_end(&pg, extra);
    if (rc == 0 && l->truncated) {
        pp->st->truncated = 1;
        wr_warn("%s: the gzip stream is cut off after line %llu%s; using what came before",
                pp->path, (unsigned long long)l->lineno,
                pending_line ? " (that line is incomplete and dropped)" : "");
    }
    if (rc == 0 && pp->st->malformed)
        wr_warn("%s: %llu malformed line%s skipped", pp->path,
                (unsigned long long)pp->st->malformed, pp->st->malformed == 1 ? "" : "s");
    amazon_parser_free(ps);
    return rc;
}

int prepare_amazon(const char *meta_path, const char *pairs_path, const char *items_path,
                   const wr_prepare_opts *o, wr_prepare_stats *st, wr_err *err)
{
    static const wr_prepare_opts defaults = {0};
    wr_prepare_stats local;
    wr_lines l;
    if (!o)
        o = &defaults;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    const wr_weights *wt = o->weights ? o->weights : &wr_default_weights;
    prep pp = {.path = meta_path, .strict = o->strict,
               .max_report = o->max_report > 0 ? o->max_report : 5, .st = st,
               .want_items = items_path != NULL,
               .w = {(float)wt->bought_together, (float)wt->also_bought, (float)wt->also_viewed,
                     (float)wt->buy_after_viewing}};
    if (lines_open(&l, meta_path, o->max_line ? o->max_line : WR_AMAZON_MAX_LINE, err) < 0)
        return -1;
    pairs_init(&pp.pairs);
    int rc = read_meta(&pp, &l, err);
    lines_close(&l);
    if (rc == 0) {
        build_pairs(&pp);
        st->pairs = pp.pairs.n;
        st->items = count_items(&pp.pairs);
        st->items_with_info = pp.side.n;
        rc = pairs_write(&pp.pairs, pairs_path, err);
    }
    if (rc == 0 && items_path)
        rc = write_items(&pp, items_path, err);
    for (int k = 0; k < WR_REL_KINDS; k++)
        free(pp.links[k].v);
    free(pp.side.slot);
    free(pp.side.v);
    free(pp.side.text.p);
    pairs_free(&pp.pairs);
    return rc;
}
