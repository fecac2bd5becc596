/* eges.c - skip-gram over random walks with side information (EGES, see eges.h).
 *
 * Two halves: the features, per-item value lists built from the items table (side.h),
 * and the trainer. The trainer follows sgns.c's semantics (subsampling before windowing, reduced
 * random window, K negatives per centre shared by its context words, each context word's
 * input vector trained against the centre's output row and the negatives by sgns_step,
 * Hogwild threads over contiguous slices of the walks driven by hogwild.h), with the input
 * vector H_v composed from the item's terms once per position of the walk and its gradient
 * spread back once (see train_walk). It uses alias.h's sampler and sgns.h's kernels; items
 * whose only term is their id row are trained in place pair by pair, exactly like plain
 * skip-gram. */
#include "walkrec/eges.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "walkrec/alias.h"
#include "walkrec/hogwild.h"
#include "walkrec/sgns.h"
#include "walkrec/walk.h"
#include "walkrec/rng.h"

#define MAX_OUT (WR_SGNS_MAX_NEGATIVE + 1)
#define CHUNK 1024 /* tokens per step of the driver */
#define BUCKETS 10 /* deciles */

/* ---- features from the items table ---- */

static const char *const kind_names[] = {"value", "path", "bucket", "words"};

int eges_kind_parse(const char *name)
{
    for (int k = 0; k < 4; k++)
        if (!strcmp(name, kind_names[k]))
            return k;
    return -1;
}

const char *eges_kind_name(int kind)
{
    return kind >= 0 && kind < 4 ? kind_names[kind] : "auto";
}

void eges_features_free(wr_eges_features *f)
{
    for (uint32_t c = 0; c < f->ncols; c++) {
        free(f->col[c].name);
        free(f->col[c].cuts);
    }
    free(f->col);
    free(f->field_col);
    free(f->value_field);
    free(f->off);
    free(f->val);
    memset(f, 0, sizeof *f);
}

void eges_field_name(const wr_eges_features *f, uint32_t field, char *buf, size_t len)
{
    const wr_eges_column *c = &f->col[f->field_col[field]];
    if (c->kind == WR_EGES_PATH)
        snprintf(buf, len, "%s[%u]", c->name, field - c->field0 + 1);
    else
        snprintf(buf, len, "%s", c->name);
}

static int name_is(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (!strcasecmp(name, *list))
            return 1;
    return 0;
}

/* The kind of a column given without one (see eges.h), from its name and its type. */
static int infer_kind(const char *name, wr_side_type type)
{
    static const char *const words[] = {"title", "description", "name", NULL};
    if (!strncasecmp(name, "price", 5))
        return WR_EGES_BUCKET;
    if (name_is(name, words))
        return WR_EGES_WORDS;
    return type == WR_SIDE_NUMBER ? WR_EGES_BUCKET
           : type == WR_SIDE_LIST ? WR_EGES_PATH
                                  : WR_EGES_VALUE;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Decile cut points of log(number) over the column's positive numbers, duplicates merged. */
static void bucket_cuts(wr_eges_column *col, const wr_side *t)
{
    uint32_t n = side_rows(t), m = 0;
    double *x = xmalloc(((size_t)n + 1) * sizeof *x), v;
    for (uint32_t i = 0; i < n; i++)
        if (side_number(t, i, col->source, &v) == 0 && v > 0)
            x[m++] = log(v);
    qsort(x, m, sizeof *x, cmp_double);
    col->cuts = xmalloc(BUCKETS * sizeof *col->cuts);
    col->ncuts = 0;
    for (uint32_t k = 1; m && k < BUCKETS; k++) {
        double c = x[(size_t)k * m / BUCKETS];
        if (c > x[0] && (!col->ncuts || c > col->cuts[col->ncuts - 1]))
            col->cuts[col->ncuts++] = c;
    }
    free(x);
}

static uint32_t bucket_of(const wr_eges_column *col, double logv)
{
    uint32_t b = 0;
    while (b < col->ncuts && col->cuts[b] <= logv)
        b++;
    return b;
}

/* Builds the interning keys of values: "field \x1f parent \x1f text". */
typedef struct keybuf {
    char *p;
    size_t len, cap;
} keybuf;

static void key_set(keybuf *k, uint32_t field, int64_t parent, const char *text, size_t len)
{
    if (k->cap < len + 48) {
        k->cap = 2 * (len + 48);
        k->p = xrealloc(k->p, k->cap);
    }
    k->len = (size_t)snprintf(k->p, 48, "%u\x1f%lld\x1f", field, (long long)parent);
    memcpy(k->p + k->len, text, len);
    k->len += len;
}

/* What eges_features_build accumulates. */
typedef struct builder {
    wr_eges_features *f;
    const wr_side *t;
    wr_dict *values;
    keybuf key;
    wr_side_span *levels; /* room for the deepest path */
    uint32_t vcap;
    uint64_t ncap, nval;
} builder;

static uint32_t intern_value(builder *b, uint32_t field, int64_t parent, const char *text,
                             size_t len)
{
    wr_eges_features *f = b->f;
    key_set(&b->key, field, parent, text, len);
    uint32_t v = dict_intern(b->values, b->key.p, b->key.len);
    if (v == f->nvalues) {
        if (f->nvalues == b->vcap) {
            b->vcap = b->vcap ? 2 * b->vcap : 1024;
            f->value_field = xrealloc(f->value_field, (size_t)b->vcap * sizeof *f->value_field);
        }
        f->value_field[f->nvalues++] = field;
    }
    return v;
}

static void push_value(builder *b, uint32_t v)
{
    if (b->nval == b->ncap) {
        b->ncap = b->ncap ? 2 * b->ncap : 4096;
        b->f->val = xrealloc(b->f->val, b->ncap * sizeof *b->f->val);
    }
    b->f->val[b->nval++] = v;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The words of a cell as values of `field`, each once. */
static void add_words(builder *b, uint32_t field, const char *cell)
{
    uint64_t first = b->nval;
    char w[WR_ID_MAX];
    size_t n = 0;
    for (const char *p = cell;; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch && (isalnum(ch) || ch >= 0x80)) {
            if (n < sizeof w)
                w[n++] = (char)tolower(ch);
            continue;
        }
        if (n)
            push_value(b, intern_value(b, field, -1, w, n));
        n = 0;
        if (!ch)
            break;
    }
    uint32_t *v = b->f->val + first;
    size_t m = b->nval - first, u = 0;
    if (m > 1)
        qsort(v, m, sizeof *v, cmp_u32);
    for (size_t i = 0; i < m; i++)
        if (!u || v[i] != v[u - 1])
            v[u++] = v[i];
    b->nval = first + u;
}

/* The levels of a path, each the path up to it (a value under its parent). */
static void add_path(builder *b, const wr_eges_column *col, uint32_t row)
{
    size_t n = side_list(b->t, row, col->source, b->levels, col->levels);
    int64_t parent = -1;
    for (uint32_t level = 0; level < n && level < col->levels; level++) {
        if (!b->levels[level].len)
            break; /* the levels below an empty one have no parent */
        uint32_t v = intern_value(b, col->field0 + level, parent, b->levels[level].p,
                                  b->levels[level].len);
        push_value(b, v);
        parent = v;
    }
}

static void add_cell(builder *b, const wr_eges_column *col, uint32_t row)
{
    const char *cell = side_value(b->t, row, col->source);
    double x;
    char tag[16];
    switch (col->kind) {
    case WR_EGES_PATH:
        add_path(b, col, row);
        break;
    case WR_EGES_WORDS:
        add_words(b, col->field0, cell);
        break;
    case WR_EGES_BUCKET:
        if (side_number(b->t, row, col->source, &x) == 0 && x > 0) {
            int n = snprintf(tag, sizeof tag, "%u", bucket_of(col, log(x)));
            push_value(b, intern_value(b, col->field0, -1, tag, (size_t)n));
        }
        break;
    default:
        push_value(b, intern_value(b, col->field0, -1, cell, strlen(cell)));
    }
}

/* The selected columns of the table, each with its kind (WR_EGES_AUTO when not given). */
static int select_columns(wr_eges_features *f, const wr_side *t, const char *spec, wr_err *err)
{
    size_t ncols = side_columns(t);
    char *list = xstrdup(spec ? spec : ""), *save = NULL;
    int rc = 0;
    f->col = xcalloc(ncols + 1, sizeof *f->col);
    if (!*list)
        for (size_t c = 0; c < ncols; c++)
            f->col[f->ncols++] = (wr_eges_column){.name = xstrdup(side_name(t, c)),
                                                  .kind = WR_EGES_AUTO, .source = (uint32_t)c};
    for (char *tok = strtok_r(list, ",", &save); tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(tok, ':');
        int kind = WR_EGES_AUTO;
        if (colon) {
            *colon = 0;
            if ((kind = eges_kind_parse(colon + 1)) < 0) {
                rc = wr_fail(err, "side information: column '%s': unknown kind '%s' (value, "
                             "path, bucket or words)", tok, colon + 1);
                break;
            }
        }
        int64_t c = side_column(t, tok);
        int dup = 0;
        for (uint32_t k = 0; k < f->ncols; k++)
            dup |= c >= 0 && f->col[k].source == (uint32_t)c;
        if (c < 0 || dup || f->ncols == ncols) {
            rc = wr_fail(err, "side information: %s column '%s'", c < 0 ? "no" : "repeated",
                         tok);
            break;
        }
        f->col[f->ncols++] = (wr_eges_column){.name = xstrdup(tok), .kind = kind,
                                              .source = (uint32_t)c};
    }
    free(list);
    return rc;
}

/* Kinds, field layout and bucket cuts of the columns. */
static void lay_out(wr_eges_features *f, const wr_side *t, uint32_t *maxlevels)
{
    *maxlevels = 1;
    for (uint32_t c = 0; c < f->ncols; c++) {
        wr_eges_column *col = &f->col[c];
        if (col->kind == WR_EGES_AUTO)
            col->kind = infer_kind(col->name, side_type(t, col->source));
        col->field0 = f->nfields;
        col->levels = 1;
        if (col->kind == WR_EGES_PATH)
            for (uint32_t i = 0; i < side_rows(t); i++) {
                uint32_t d = (uint32_t)side_list(t, i, col->source, NULL, 0);
                col->levels = d > col->levels ? d : col->levels;
            }
        if (col->kind == WR_EGES_BUCKET)
            bucket_cuts(col, t);
        *maxlevels = col->levels > *maxlevels ? col->levels : *maxlevels;
        f->nfields += col->levels;
    }
    f->field_col = xmalloc((size_t)f->nfields * sizeof *f->field_col);
    for (uint32_t c = 0; c < f->ncols; c++)
        for (uint32_t k = 0; k < f->col[c].levels; k++)
            f->field_col[f->col[c].field0 + k] = c;
}

int eges_features_build(wr_eges_features *f, const wr_side *t, const char *columns,
                        wr_err *err)
{
    memset(f, 0, sizeof *f);
    f->items = side_items(t);
    if (select_columns(f, t, columns, err) < 0) {
        eges_features_free(f);
        return -1;
    }
    uint32_t n = side_rows(t), maxlevels;
    lay_out(f, t, &maxlevels);
    builder b = {.f = f, .t = t, .values = dict_new(4096),
                 .levels = xmalloc(maxlevels * sizeof *b.levels), .ncap = 4096,
                 .vcap = 1024};
    /* never NULL, even without values */
    f->val = xmalloc(b.ncap * sizeof *f->val);
    f->value_field = xmalloc(b.vcap * sizeof *f->value_field);
    f->off = xmalloc(((size_t)n + 1) * sizeof *f->off);
    for (uint32_t i = 0; i < n; i++) {
        f->off[i] = b.nval;
        for (uint32_t c = 0; c < f->ncols; c++) {
            uint64_t before = b.nval;
            if (side_value(t, i, f->col[c].source))
                add_cell(&b, &f->col[c], i);
            f->col[c].items += b.nval > before;
        }
    }
    f->off[n] = b.nval;
    for (uint32_t v = 0; v < f->nvalues; v++)
        f->col[f->field_col[f->value_field[v]]].values++;
    dict_free(b.values);
    free(b.key.p);
    free(b.levels);
    return 0;
}

/* ---- the model: rows, terms and their weights ---- */

/* A term of an item: field (0 = the id row, j + 1 = side field j) and its rows. */
typedef struct term {
    uint32_t field, first, count; /* rows trow[first .. first + count) */
} term;

typedef struct net {
    uint32_t n, vocab, dim, stride, nfields; /* nfields counts field 0 */
    float *in, *out;  /* input rows (ids, then side values), output rows (vocab) */
    uint64_t *toff;   /* n + 1: item r's terms term[toff[r] .. toff[r + 1]) */
    term *term;
    float *a;         /* per term: a_vj (trained items only) */
    uint32_t *trow;
    float *abar;      /* per field: what cold items use for a (field_means) */
    uint32_t maxterms;
} net;

static void net_free(net *m)
{
    free(m->in);
    free(m->out);
    free(m->toff);
    free(m->term);
    free(m->a);
    free(m->trow);
    free(m->abar);
}

/* The values some trained item (some token of the walks) has: 0 for those, UINT32_MAX
 * for the others, which are never trained. side_of maps the vocab's rows to side items. */
static uint32_t *trained_values(const wr_eges_features *s, const int64_t *side_of,
                                const uint64_t *count, uint32_t vocab)
{
    uint32_t *vrow = xmalloc(((size_t)s->nvalues + 1) * sizeof *vrow);
    for (uint32_t v = 0; v < s->nvalues; v++)
        vrow[v] = UINT32_MAX;
    for (uint32_t r = 0; r < vocab; r++)
        if (count[r] && side_of[r] >= 0)
            for (uint64_t k = s->off[side_of[r]]; k < s->off[side_of[r] + 1]; k++)
                vrow[s->val[k]] = 0;
    return vrow;
}

static int has_trained_value(const wr_eges_features *s, uint32_t item, const uint32_t *vrow)
{
    for (uint64_t k = s->off[item]; k < s->off[item + 1]; k++)
        if (vrow[s->val[k]] != UINT32_MAX)
            return 1;
    return 0;
}

/* Terms of every model row: the id row for items in the walks, then a term per side field
 * with the trained values (vrow from trained_values, turned into input rows here). side_of
 * maps rows to side items (-1 none). Returns the number of input rows. */
static uint32_t build_terms(net *m, const wr_eges_features *s, const int64_t *side_of,
                            const uint64_t *count, uint32_t *vrow)
{
    uint32_t rows = m->n;
    for (uint32_t v = 0; v < s->nvalues; v++)
        if (vrow[v] != UINT32_MAX)
            vrow[v] = rows++;
    size_t tcap = (size_t)m->n + (s->items ? s->off[dict_size(s->items)] : 0) + 1;
    m->toff = xmalloc(((size_t)m->n + 1) * sizeof *m->toff);
    m->term = xmalloc(tcap * sizeof *m->term);
    m->trow = xmalloc(tcap * sizeof *m->trow);
    uint64_t nt = 0;
    uint32_t nr = 0;
    for (uint32_t r = 0; r < m->n; r++) {
        m->toff[r] = nt;
        if (r < m->vocab && count[r]) {
            m->term[nt++] = (term){0, nr, 1};
            m->trow[nr++] = r;
        }
        if (side_of[r] < 0)
            continue;
        for (uint64_t k = s->off[side_of[r]]; k < s->off[side_of[r] + 1]; k++) {
            uint32_t v = s->val[k], f = s->value_field[v] + 1;
            if (vrow[v] == UINT32_MAX)
                continue;
            if (m->toff[r] == nt || m->term[nt - 1].field != f)
                m->term[nt++] = (term){f, nr, 0};
            m->trow[nr++] = vrow[v];
            m->term[nt - 1].count++;
        }
        if (nt - m->toff[r] > m->maxterms)
            m->maxterms = (uint32_t)(nt - m->toff[r]);
    }
    m->toff[m->n] = nt;
    m->a = xcalloc(nt + 1, sizeof *m->a);
    m->abar = xcalloc(m->nfields, sizeof *m->abar);
    if (!m->maxterms)
        m->maxterms = 1;
    return rows;
}

static int trained(const net *m, uint32_t r)
{
    return m->toff[r] < m->toff[r + 1] && m->term[m->toff[r]].field == 0;
}

/* abar: the mean a_vj per field over the trained items with side information (an item
 * with its id alone keeps a = 0: the softmax of one term has no gradient). */
static void field_means(net *m)
{
    double *sum = xcalloc(m->nfields, sizeof *sum);
    uint64_t *cnt = xcalloc(m->nfields, sizeof *cnt);
    for (uint32_t r = 0; r < m->n; r++)
        if (trained(m, r) && m->toff[r + 1] - m->toff[r] > 1)
            for (uint64_t t = m->toff[r]; t < m->toff[r + 1]; t++) {
                sum[m->term[t].field] += m->a[t];
                cnt[m->term[t].field]++;
            }
    for (uint32_t f = 0; f < m->nfields; f++)
        m->abar[f] = cnt[f] ? (float)(sum[f] / (double)cnt[f]) : 0;
    free(sum);
    free(cnt);
}

/* Softmax weights of item r's terms: its own a for a trained item, abar for a cold one. */
static void term_weights(const net *m, uint32_t r, float *alpha)
{
    uint64_t t0 = m->toff[r], nt = m->toff[r + 1] - t0;
    int own = trained(m, r);
    float top = -INFINITY, sum = 0;
    for (uint64_t t = 0; t < nt; t++) {
        alpha[t] = own ? m->a[t0 + t] : m->abar[m->term[t0 + t].field];
        top = alpha[t] > top ? alpha[t] : top;
    }
    for (uint64_t t = 0; t < nt; t++)
        sum += alpha[t] = expf(alpha[t] - top);
    for (uint64_t t = 0; t < nt; t++)
        alpha[t] /= sum;
}

/* h = sum_t alpha_t (mean of term t's rows), stride floats. */
static void compose(const net *m, const wr_sgns_kernel *k, uint32_t r, const float *alpha,
                    float *h)
{
    memset(h, 0, m->stride * sizeof *h);
    for (uint64_t t = m->toff[r]; t < m->toff[r + 1]; t++) {
        const term *tm = &m->term[t];
        float c = alpha[t - m->toff[r]] / (float)tm->count;
        for (uint32_t q = 0; q < tm->count; q++)
            k->axpy(c, m->in + (size_t)m->trow[tm->first + q] * m->stride, h, m->stride);
    }
}

/* The vectors of all rows (n x dim) into vecs; rows without terms are zero. */
static void final_vectors(net *m, float *vecs)
{
    const wr_sgns_kernel *k = sgns_kernel();
    float *h = xmalloc_aligned(m->stride * sizeof *h), *alpha = xmalloc(m->maxterms * sizeof *alpha);
    field_means(m);
    for (uint32_t r = 0; r < m->n; r++) {
        term_weights(m, r, alpha);
        compose(m, k, r, alpha, h);
        memcpy(vecs + (size_t)r * m->dim, h, m->dim * sizeof *h);
    }
    free(h);
    free(alpha);
}

/* ---- training ---- */

typedef struct curve curve;

typedef struct shared {
    const wr_corpus *c;
    const wr_sgns_opts *o;
    const wr_sgns_kernel *k;
    net *m;
    wr_alias neg;
    uint32_t *keep;        /* keep a token when 32 random bits < keep[t] */
    curve *cv;             /* learning curve, NULL = none */
    wr_hogwild_opts h;     /* the run: units are the walks, weighed by their tokens */
    struct worker *w;      /* hogwild_workers(&h) */
} shared;

typedef struct worker {
    shared *s;
    wr_rng rng;
    uint32_t *tok, *radius, *negs; /* the walk being trained: tokens, windows, negatives */
    float *h, *dh, *alpha;
} worker;

/* The input vector of item v for its pairs: its id row itself when it has no side terms
 * (updated in place pair by pair, as in plain skip-gram), else H_v composed into w->h, its
 * gradient summed into w->dh until input_end. */
static float *input_begin(worker *w, uint32_t v, float **din)
{
    net *m = w->s->m;
    if (m->toff[v + 1] - m->toff[v] == 1) {
        *din = m->in + (size_t)v * m->stride;
        return *din;
    }
    term_weights(m, v, w->alpha);
    compose(m, w->s->k, v, w->alpha, w->h);
    memset(w->dh, 0, m->stride * sizeof *w->dh);
    *din = w->dh;
    return w->h;
}

/* Spreads the summed gradient dH of a composed input: each term's rows get
 * alpha_t / count dH, and a_t gets alpha_t (e_t - H) . dH. */
static void input_end(worker *w, uint32_t v)
{
    net *m = w->s->m;
    const wr_sgns_kernel *k = w->s->k;
    uint32_t st = m->stride;
    uint64_t t0 = m->toff[v], nt = m->toff[v + 1] - t0;
    if (nt == 1)
        return;
    float hd, e, *dh = w->dh;
    k->dots(dh, &w->h, 1, &hd, st);
    for (uint64_t t = 0; t < nt; t++) {
        const term *tm = &m->term[t0 + t];
        float c = w->alpha[t] / (float)tm->count, sum = 0;
        for (uint32_t q = 0; q < tm->count; q++) {
            float *row = m->in + (size_t)m->trow[tm->first + q] * st;
            k->dots(dh, &row, 1, &e, st);
            sum += e;
            k->axpy(c, dh, row, st);
        }
        m->a[t0 + t] += w->alpha[t] * (sum / (float)tm->count - hd);
    }
}

/* One walk: subsampled, each centre's reduced window and K negatives drawn, then input by
 * input: the same (context, centre) pairs as sgns.c, grouped by context so that H_v is
 * composed and its gradient spread once per position rather than once per pair (the
 * output rows are still updated pair by pair). */
static void train_walk(worker *w, const uint32_t *t, uint64_t len, float lr)
{
    const shared *s = w->s;
    uint32_t nt = 0, win = s->o->window, K = s->o->negative;
    for (uint64_t j = 0; j < len; j++)
        if (s->keep[t[j]] == UINT32_MAX || (uint32_t)(rng_next(&w->rng) >> 32) < s->keep[t[j]])
            w->tok[nt++] = t[j];
    if (nt < 2)
        return;
    for (uint32_t i = 0; i < nt; i++) {
        w->radius[i] = win - rng_below(&w->rng, win);
        for (uint32_t q = 0; q < K; q++)
            w->negs[(size_t)i * K + q] = alias_draw(s->neg.cell, s->neg.n, &w->rng);
    }
    for (uint32_t j = 0; j < nt; j++) {
        float *din, *in = input_begin(w, w->tok[j], &din);
        uint32_t i0 = j > win ? j - win : 0, i1 = nt - j > win ? j + win + 1 : nt;
        for (uint32_t i = i0; i < i1; i++) {
            if (i == j || (i < j ? j - i : i - j) > w->radius[i])
                continue;
            float *out[MAX_OUT], mult[MAX_OUT];
            uint32_t nout = sgns_gather(w->tok[i], w->negs + (size_t)i * K, K, s->m->out,
                                        s->m->stride, out, mult);
            sgns_step(s->k, in, out, nout, mult, lr, din, s->m->stride);
        }
        input_end(w, w->tok[j]);
    }
}

/* The learning curve: AUC of the current vectors at evenly spaced points, as train.c. */
struct curve {
    const wr_train_opts *o;
    const wr_dict *ids;
    float *vecs;
    json_t *points;
    double seconds;
};

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* only allocation fails here */
}

/* An evaluation point of the driver: every worker waits. */
static void curve_point(void *ctx, double progress, uint32_t epoch)
{
    shared *s = ctx;
    curve *c = s->cv;
    const wr_sgns_opts *o = s->o;
    double t0 = wr_now();
    final_vectors(s->m, c->vecs);
    wr_model view = {.n = s->m->n, .dim = s->m->dim, .ids = (wr_dict *)c->ids, .vecs = c->vecs};
    wr_err err;
    if (train_curve_point(&view, c->o->val, o->threads, progress, epoch, c->points,
                          c->o->on_point, c->o->point_ctx, &err) < 0)
        wr_warn("learning curve: %s", err.msg);
    c->seconds += wr_now() - t0;
}

/* One chunk of walks on worker ch->worker's thread, each walk's learning rate taken at
 * its first token. */
static void step(void *ctx, const wr_hogwild_chunk *ch)
{
    shared *s = ctx;
    worker *w = &s->w[ch->worker];
    const wr_corpus *c = s->c;
    uint64_t n = 0;
    for (uint64_t q = ch->u0; q < ch->u1; q++) {
        uint64_t len = c->off[q + 1] - c->off[q];
        train_walk(w, c->tok + c->off[q], len, hogwild_lr(&s->h, ch, n));
        n += len;
    }
}

static int check_opts(const wr_train_opts *to, wr_err *err)
{
    const wr_sgns_opts *o = &to->sgns;
    if (o->mode != WR_MODE_SG)
        return wr_fail(err, "side information: only skip-gram is supported (not CBOW)");
    if (o->init || to->walks_out)
        return wr_fail(err, "side information: %s is not supported",
                       o->init ? "a warm start" : "writing the walks");
    return sgns_check(o, err);
}

/* word2vec's initialisation: used input rows uniform in [-0.5, 0.5) / dim, outputs zero. */
static void init_rows(net *m, uint32_t rows, uint64_t seed)
{
    wr_rng r;
    rng_seed(&r, seed);
    uint8_t *used = xcalloc(rows, 1);
    for (uint64_t q = 0; q < m->toff[m->n]; q++)
        for (uint32_t k = 0; k < m->term[q].count; k++)
            used[m->trow[m->term[q].first + k]] = 1;
    m->in = xmalloc_aligned((size_t)rows * m->stride * sizeof *m->in);
    m->out = xmalloc_aligned(((size_t)m->vocab + 1) * m->stride * sizeof *m->out);
    memset(m->in, 0, (size_t)rows * m->stride * sizeof *m->in);
    memset(m->out, 0, ((size_t)m->vocab + 1) * m->stride * sizeof *m->out);
    for (uint32_t v = 0; v < rows; v++)
        if (used[v])
            for (uint32_t d = 0; d < m->dim; d++)
                m->in[(size_t)v * m->stride + d] = (rng_float(&r) - 0.5f) / (float)m->dim;
    free(used);
}

/* Runs the workers over the corpus; the vectors end up in vecs. */
static int run(const wr_corpus *c, net *m, const uint64_t *count, const wr_train_opts *to,
               curve *cv, float *vecs, wr_err *err)
{
    const wr_sgns_opts *o = &to->sgns;
    shared s = {.c = c, .o = o, .k = sgns_kernel(), .m = m, .cv = cv};
    if (alias_init(&s.neg, count, m->vocab, 0.75, err) < 0)
        return -1;
    s.keep = sgns_subsample(count, m->vocab, c->ntok, o->subsample);
    s.h = (wr_hogwild_opts){.units = c->nseq, .off = c->off, .epochs = o->epochs,
                            .threads = o->threads, .chunk = CHUNK, .schedule = o->lr_schedule,
                            .lr = o->lr, .min_lr = o->min_lr, .step = step, .ctx = &s,
                            .what = "training", .unit = "tokens", .extra = "side information"};
    if (cv) {
        s.h.evals = to->eval_every;
        s.h.pause = curve_point;
    }
    int n = hogwild_workers(&s.h);
    uint64_t maxlen = 0;
    for (uint64_t q = 0; q < c->nseq; q++)
        maxlen = c->off[q + 1] - c->off[q] > maxlen ? c->off[q + 1] - c->off[q] : maxlen;
    worker *w = s.w = xcalloc((size_t)n, sizeof *w);
    for (int t = 0; t < n; t++) {
        w[t].s = &s;
        rng_seed(&w[t].rng, o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(t + 1)));
        w[t].tok = xmalloc((maxlen + 1) * sizeof *w[t].tok);
        w[t].radius = xmalloc((maxlen + 1) * sizeof *w[t].radius);
        w[t].negs = xmalloc((maxlen + 1) * o->negative * sizeof *w[t].negs);
        w[t].h = xmalloc_aligned(m->stride * sizeof(float));
        w[t].dh = xmalloc_aligned(m->stride * sizeof(float));
        w[t].alpha = xmalloc(m->maxterms * sizeof(float));
    }
    hogwild_run(&s.h);
    final_vectors(m, vecs);
    for (int t = 0; t < n; t++) {
        free(w[t].tok);
        free(w[t].radius);
        free(w[t].negs);
        free(w[t].h);
        free(w[t].dh);
        free(w[t].alpha);
    }
    free(w);
    free(s.keep);
    alias_free(&s.neg);
    return 0;
}

/* ---- the metadata ---- */

/* The side file's columns, the kinds of rows, and the learned weights per field. */
static json_t *side_meta(const net *m, const wr_eges_features *s, uint32_t left_out)
{
    json_t *j = json_object(), *cols = json_array(), *fields = json_array();
    for (uint32_t c = 0; c < s->ncols; c++) {
        const wr_eges_column *col = &s->col[c];
        json_t *o = json_object();
        jset(o, "name", json_string(col->name));
        jset(o, "kind", json_string(eges_kind_name(col->kind)));
        jset(o, "fields", json_integer(col->levels));
        jset(o, "items", json_integer(col->items));
        jset(o, "values", json_integer(col->values));
        if (col->kind == WR_EGES_BUCKET) {
            json_t *cuts = json_array();
            for (uint32_t k = 0; k < col->ncuts; k++)
                json_array_append_new(cuts, json_real(exp(col->cuts[k])));
            jset(o, "bucket_bounds", cuts);
        }
        json_array_append_new(cols, o);
    }
    uint32_t nf = m->nfields, n_trained = 0, n_cold = 0, n_plain = 0, n_empty = 0;
    double *wsum = xcalloc(nf, sizeof *wsum);
    uint32_t *cnt = xcalloc(nf, sizeof *cnt);
    float *alpha = xmalloc(m->maxterms * sizeof *alpha);
    for (uint32_t r = 0; r < m->n; r++) {
        uint64_t nt = m->toff[r + 1] - m->toff[r];
        if (!trained(m, r)) {
            n_cold += nt > 0;
            n_empty += nt == 0;
            continue;
        }
        n_trained++;
        n_plain += nt == 1;
        if (nt == 1)
            continue; /* the id's weight is 1: it tells nothing */
        term_weights(m, r, alpha);
        for (uint64_t t = 0; t < nt; t++) {
            wsum[m->term[m->toff[r] + t].field] += alpha[t];
            cnt[m->term[m->toff[r] + t].field]++;
        }
    }
    for (uint32_t f = 0; f < nf; f++) {
        char name[WR_ID_MAX + 16];
        json_t *o = json_object();
        if (f == 0)
            snprintf(name, sizeof name, "id");
        else
            eges_field_name(s, f - 1, name, sizeof name);
        jset(o, "name", json_string(name));
        jset(o, "items", json_integer(cnt[f]));
        jset(o, "mean_a", json_real(m->abar[f]));
        jset(o, "mean_weight", jnum(cnt[f] ? wsum[f] / cnt[f] : NAN));
        json_array_append_new(fields, o);
    }
    free(wsum);
    free(cnt);
    free(alpha);
    jset(j, "items", json_integer(s->items ? dict_size(s->items) : 0));
    jset(j, "columns", cols);
    jset(j, "trained_items", json_integer(n_trained));
    jset(j, "trained_without_side_info", json_integer(n_plain));
    jset(j, "cold_items", json_integer(n_cold));
    jset(j, "items_without_vector", json_integer(n_empty));
    jset(j, "side_items_left_out", json_integer(left_out));
    jset(j, "cold_weights", json_string("softmax of the mean a of each field over trained items"));
    jset(j, "fields", fields);
    return j;
}

/* ---- the pipeline ---- */

static wr_model *train_net(const wr_pairs *p, const wr_eges_features *s,
                           const wr_corpus *c, const wr_train_opts *o, wr_train_times *t,
                           json_t *meta, wr_err *err)
{
    uint32_t vocab = dict_size(p->ids);
    wr_dict *ids = dict_new((size_t)vocab + (s->items ? dict_size(s->items) : 0));
    for (uint32_t i = 0; i < vocab; i++)
        dict_intern(ids, dict_str(p->ids, i), dict_strlen(p->ids, i));
    uint32_t nside = s->items ? dict_size(s->items) : 0;
    int64_t *side_of = xmalloc(((size_t)vocab + nside + 1) * sizeof *side_of);
    for (uint32_t r = 0; r < vocab; r++)
        side_of[r] = nside ? dict_find(s->items, dict_str(ids, r), dict_strlen(ids, r)) : -1;
    uint64_t *count = xcalloc((size_t)vocab + 1, sizeof *count);
    for (uint64_t j = 0; j < c->ntok; j++)
        count[c->tok[j]]++;
    /* side items outside the pairs are rows when they have something trained */
    uint32_t *vrow = trained_values(s, side_of, count, vocab);
    for (uint32_t i = 0; i < nside; i++)
        if (dict_find(ids, dict_str(s->items, i), dict_strlen(s->items, i)) < 0 &&
            has_trained_value(s, i, vrow)) {
            side_of[dict_size(ids)] = i;
            dict_intern(ids, dict_str(s->items, i), dict_strlen(s->items, i));
        }
    uint32_t n = dict_size(ids);
    uint64_t side_rows = 0;
    for (uint32_t r = 0; r < n; r++)
        side_rows += side_of[r] >= 0;

    net m = {.n = n, .vocab = vocab, .dim = o->sgns.dim, .stride = (o->sgns.dim + 15) & ~15u,
             .nfields = s->nfields + 1};
    uint32_t rows = build_terms(&m, s, side_of, count, vrow);
    init_rows(&m, rows, o->sgns.seed);
    free(side_of);
    free(vrow);

    wr_model *model = model_new(n, m.dim);
    for (uint32_t i = 0; i < n; i++)
        dict_intern(model->ids, dict_str(ids, i), dict_strlen(ids, i));
    dict_free(ids);
    curve cv = {.o = o, .ids = model->ids, .points = json_array()};
    int curving = o->val && o->eval_every;
    if (curving)
        cv.vecs = xmalloc_aligned((size_t)n * m.dim * sizeof(float));
    double t0 = wr_now();
    int rc = run(c, &m, count, o, curving ? &cv : NULL, model->vecs, err);
    free(count);
    free(cv.vecs);
    if (rc < 0) {
        json_decref(cv.points);
        net_free(&m);
        model_free(model);
        return NULL;
    }
    t->eval = cv.seconds;
    t->train = wr_now() - t0 - cv.seconds;

    int threads = o->sgns.threads > 0 ? o->sgns.threads : wr_cpu_count();
    json_t *trainer = train_describe(&o->sgns, threads);
    jset(trainer, "side_info", json_true());
    if (!curving) {
        json_decref(cv.points);
        cv.points = NULL;
    }
    train_record(meta, trainer, n, o->sgns.epochs, c, t, cv.points);
    json_t *side = side_meta(&m, s, nside - (uint32_t)side_rows);
    json_object_update(json_object_get(meta, "side_info"), side);
    json_decref(side);
    net_free(&m);
    return model;
}

static wr_model *eges_train_meta(const wr_pairs *p, const wr_eges_features *s,
                                 const wr_train_opts *o, wr_train_times *t,
                                 const char *side_path, wr_err *err)
{
    wr_train_times local;
    if (!t)
        t = &local;
    memset(t, 0, sizeof *t);
    if (check_opts(o, err) < 0)
        return NULL;
    wr_corpus c;
    json_t *meta = train_prepare(p, &o->walk, &c, t, err);
    if (!meta)
        return NULL;
    json_t *side = json_object();
    if (side_path)
        jset(side, "file", json_string(side_path));
    jset(meta, "side_info", side);
    wr_model *m = train_net(p, s, &c, o, t, meta, err);
    walk_corpus_free(&c);
    if (m) {
        char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (!text)
            abort();
        free(m->meta_json);
        m->meta_json = text;
    }
    json_decref(meta);
    return m;
}

wr_model *eges_train(const wr_pairs *p, const wr_eges_features *s, const wr_train_opts *o,
                     wr_train_times *t, wr_err *err)
{
    return eges_train_meta(p, s, o, t, NULL, err);
}

wr_model *eges_train_file(const wr_pairs *p, const char *side_path, const char *columns,
                          const wr_train_opts *o, wr_train_times *t, wr_err *err)
{
    wr_side *table = side_load(side_path, NULL, err);
    if (!table)
        return NULL;
    if (side_dropped(table))
        wr_warn("%s: %llu values that are not UTF-8 left out", side_path,
                (unsigned long long)side_dropped(table));
    wr_eges_features f;
    wr_model *m = NULL;
    if (eges_features_build(&f, table, columns, err) < 0) {
        if (err) { /* the file leads the message */
            char msg[WR_ERR_MAX];
            memcpy(msg, err->msg, sizeof msg);
            wr_fail(err, "%s: %s", side_path, msg);
        }
        goto out;
    }
    m = eges_train_meta(p, &f, o, t, side_path, err);
    eges_features_free(&f);
out:
    side_free(table);
    return m;
}
