/* api.c - walkrecd's route handlers: request view + index -> status + JSON document.
 *
 * Handlers validate everything they read (400 with the parameter's name), look items up
 * (404 unknown_item), and copy what they answer out of the index: the query routes as JSON
 * text in a buffer of their own, the others as jansson values (which own their strings),
 * so the answer outlives the read section it was built in. Answers that depend on the
 * model carry its generation in the body, and its generation and identity in wr_reply (the
 * ETag); those that include provisional items also the snapshot's version. The neighbour
 * routes weigh a request before its work (what a query costs, below): too costly ones get
 * 400, heavy ones go to the scan pool, answers stop at max_response_bytes. */
#include "walkrec/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/bytes.h"
#include "walkrec/dict.h"
#include "walkrec/filter.h"
#include "walkrec/text.h"
#include "walkrec/rank.h"

/* ---- parameters ---- */

/* Decodes a query parameter into a new string; NULL with a 400 reply when malformed. */
char *api_param(const wr_request *rq, const char *key, wr_reply *rp)
{
    const char *raw = rest_param(rq, key);
    char *v = raw ? rest_decoded(raw, strlen(raw)) : NULL;
    if (raw && !v)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "%s: bad percent-encoding or invalid UTF-8", key);
    return v;
}

static int check_k(const wr_request *rq, uint64_t k, wr_reply *rp)
{
    if (k >= 1 && k <= rq->cfg->max_k)
        return 0;
    rest_reply_error(rp, WR_E_BAD_REQUEST, "k: expected an integer from 1 to %u (max_k), got %llu",
                rq->cfg->max_k, (unsigned long long)k);
    return -1;
}

static int query_k(const wr_request *rq, size_t *k, wr_reply *rp)
{
    uint64_t v = rq->cfg->default_k;
    if (rest_param(rq, "k")) {
        char *s = api_param(rq, "k", rp);
        int bad = !s || text_parse_u64(s, &v) < 0;
        free(s);
        if (bad) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "k: expected an integer from 1 to %u (max_k)",
                        rq->cfg->max_k);
            return -1;
        }
    }
    *k = (size_t)v;
    return check_k(rq, v, rp);
}

/* The page of a neighbour list: the first `offset` hits are skipped, and k + offset may not
 * pass max_k. v is the parameter's text (GET) or NULL; j the JSON member (POST) or NULL. */
static int page_offset(const wr_request *rq, const char *v, const json_t *j, size_t k,
                       size_t *offset, wr_reply *rp)
{
    uint64_t o = 0;
    int bad = 0;
    if (v)
        bad = text_parse_u64(v, &o) < 0;
    else if (j)
        bad = !json_is_integer(j) || json_integer_value(j) < 0 ||
              (o = (uint64_t)json_integer_value(j), 0);
    if (bad || o > rq->cfg->max_k || k + o > rq->cfg->max_k) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "offset: expected an integer from 0 with k + offset "
                         "at most %u (max_k)", rq->cfg->max_k);
        return -1;
    }
    *offset = (size_t)o;
    return 0;
}

/* ---- answers ----
 *
 * The query routes write their JSON text directly. Built with jansson, a k=10 neighbours
 * answer cost 16 us of CPU, most of it printf formatting the scores and a node allocated
 * per value; written here it is a few hundred bytes appended to one buffer. Scores are
 * printed with 7 decimals (cosines: absolute error below 5e-8). Bodies are parsed, and
 * the rarely asked routes built, with jansson. */

typedef wr_bytes wbuf;

static void put(wbuf *o, const char *s, size_t n) { bytes_put(o, s, n); }

static void put_lit(wbuf *o, const char *s) { bytes_puts(o, s); }

/* Hits as [{"item", "score" (the cosine), "probability" (calibrated models, when the
 * query is a model row), "explain" (with `explain`, the query's item: api_explain.c)}]. */
static void put_hits(wbuf *o, const wr_snapshot *s, int64_t row, const wr_hit *h, size_t n,
                     const wr_item *explain)
{
    int prob = row >= 0 && index_info(s->index)->calibrated;
    put(o, "[", 1);
    for (size_t i = 0; i < n; i++) {
        const char *id = snapshot_hit_id(s, h[i].item);
        put_lit(o, i ? ",{\"item\":" : "{\"item\":");
        bytes_put_json_str(o, id, strlen(id));
        put_lit(o, ",\"score\":");
        bytes_put_score(o, h[i].score);
        if (prob) {
            put_lit(o, ",\"probability\":");
            bytes_put_score(o, (float)snapshot_hit_probability(s, (uint32_t)row, h[i].item));
        }
        if (explain)
            api_put_explain_hit(o, s, explain, h[i].item);
        put(o, "}", 1);
    }
    put(o, "]", 1);
}

/* The rank of a query: "cosine", "probability" (calibrated models only) or the lists'. */
static int parse_rank(const wr_index *ix, const char *v, size_t len, int *rank, wr_reply *rp)
{
    if (!v) {
        *rank = index_info(ix)->rank;
        return 0;
    }
    if (len == 6 && !memcmp(v, "cosine", 6)) {
        *rank = WR_RANK_COSINE;
        return 0;
    }
    if (len == 11 && !memcmp(v, "probability", 11)) {
        if (!index_info(ix)->calibrated) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "rank=probability: this model has no calibrated "
                        "probability (train it with walkrec train --calibration)");
            return -1;
        }
        *rank = WR_RANK_PROBABILITY;
        return 0;
    }
    rest_reply_error(rp, WR_E_BAD_REQUEST, "rank: expected cosine or probability");
    return -1;
}

static void put_rank(wbuf *o, int rank)
{
    put_lit(o, rank == WR_RANK_PROBABILITY ? ",\"rank\":\"probability\"" : ",\"rank\":\"cosine\"");
}

static void put_error(wbuf *o, wr_code code, const char *message)
{
    put_lit(o, "{\"code\":\"");
    put_lit(o, rest_code_str(code));
    put_lit(o, "\",\"message\":");
    bytes_put_json_str(o, message, strlen(message));
    put(o, "}", 1);
}

/* A model-dependent answer starts {"generation":g and ends with api_answer(). */
void api_begin(wbuf *o, const wr_index *ix, wr_reply *rp)
{
    rp->generation = index_info(ix)->generation;
    rp->model_id = index_info(ix)->identity;
    put_lit(o, "{\"generation\":");
    bytes_put_u64(o, rp->generation);
}

/* 1, with the 400 reply set and o freed, when o grew past max_response_bytes. */
static int too_large(const wr_request *rq, wbuf *o, wr_reply *rp)
{
    if (o->n <= rq->cfg->max_response_bytes)
        return 0;
    free(o->p);
    *o = (wbuf){0};
    rest_reply_error(rp, WR_E_RESPONSE_TOO_LARGE, "the answer is larger than %llu bytes "
                     "(max_response_bytes): ask for fewer items or a smaller k",
                     (unsigned long long)rq->cfg->max_response_bytes);
    return 1;
}

void api_answer(wbuf *o, const wr_request *rq, wr_reply *rp)
{
    put(o, "}", 1);
    if (too_large(rq, o, rp))
        return;
    rp->status = 200;
    rp->text = o->p;
    rp->text_len = o->n;
    rp->content_type = "application/json";
}

json_t *api_error_json(wr_code code, const char *message)
{
    return json_pack("{s:s,s:s}", "code", rest_code_str(code), "message", message);
}

json_t *api_model_doc(const wr_index *ix, wr_reply *rp)
{
    rp->generation = index_info(ix)->generation;
    rp->model_id = index_info(ix)->identity;
    return json_pack("{s:I}", "generation", (json_int_t)rp->generation);
}

json_t *api_parse_body(const wr_request *rq, const char *fields, wr_reply *rp)
{
    json_error_t e;
    /* A key given twice is refused: which one counts would be a guess. */
    json_t *doc = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!doc) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "body: invalid JSON at line %d, column %d: %s",
                    e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "body: expected a JSON object");
        json_decref(doc);
        return NULL;
    }
    if (api_unknown_field(rq, doc, fields, "body", rp) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}


/* "items"/"pairs" arrays: present, an array, 1..max_batch entries. */
json_t *api_body_array(const wr_request *rq, json_t *doc, const char *key, wr_reply *rp)
{
    json_t *a = json_object_get(doc, key);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "body: expected \"%s\": a non-empty array", key);
        return NULL;
    }
    if (json_array_size(a) > rq->cfg->max_batch) {
        rest_reply_error(rp, WR_E_BATCH_TOO_LARGE, "%s: %zu entries, at most %u (max_batch)", key,
                    json_array_size(a), rq->cfg->max_batch);
        return NULL;
    }
    return a;
}

/* The calibrated probability of a pair with at least one model item, else null. */
void api_put_probability(wbuf *o, const wr_snapshot *s, const wr_item *a, const wr_item *b)
{
    uint32_t n = index_info(s->index)->n;
    if (a->row < 0) { /* the model item first */
        const wr_item *t = a;
        a = b;
        b = t;
    }
    if (index_info(s->index)->calibrated && a->row >= 0 && (b->row >= 0 || b->prov >= 0))
        bytes_put_score(o, (float)snapshot_hit_probability(s, (uint32_t)a->row,
                                                     b->row >= 0 ? (uint32_t)b->row
                                                                 : n + (uint32_t)b->prov));
    else
        put_lit(o, "null");
}

/* ---- what a query costs ----
 *
 * A neighbour query is answered from the item's precomputed list when it can be, else by
 * an exact scan of every item (index.h). A handler first tries its queries with a budget
 * of no scans (wr_budget), which answers those the lists can and counts the scans the
 * others need; then it refuses the request (too_costly), or hands it to the scan pool
 * (wr_reply.heavy), or answers it. Formatting a hit with its probability takes about
 * 2.5 us: answers of more than INLINE_HITS neighbours go to the pool as well. */

#define INLINE_HITS 1000

/* The item's neighbours. min_score applies to the score the list ranks by: for a list by
 * probability, the probability (which falls along the list, so cutting at the first below
 * it is exact). With scans, a budget of no scans: none when the list needs a scan, counted
 * in *scans. */
static size_t neighbors_of(const wr_snapshot *s, const wr_item *it, size_t k, wr_filter *f,
                           int rank, wr_hit *hits, uint64_t *scans)
{
    double min = f->min_score;
    /* only with a min_score: each probability costs about as much as formatting the hit */
    int by_prob = rank == WR_RANK_PROBABILITY && it->row >= 0 && min > -INFINITY;
    wr_budget b = {0};
    if (by_prob)
        f->min_score = -INFINITY;
    f->budget = scans ? &b : NULL;
    size_t n = snapshot_neighbors(s, it, k, f, rank, hits);
    f->budget = NULL;
    f->min_score = min;
    if (scans && (*scans += b.scans, b.scans))
        return 0;
    for (size_t i = 0; by_prob && i < n; i++)
        if (snapshot_hit_probability(s, (uint32_t)it->row, hits[i].item) < min)
            return i;
    return n;
}

/* 0 when a request of `scans` exact scans answering about `hits` neighbours may go on
 * here; -1 with the reply set: 400 too_costly past max_scan_items, or heavy when it scans
 * or answers more than INLINE_HITS and is not on the scan pool yet. */
static int afford(const wr_request *rq, const wr_index *ix, uint64_t scans, uint64_t hits,
                  wr_reply *rp)
{
    const wr_index_info *in = index_info(ix);
    if (scans && scans * in->n > rq->cfg->max_scan_items) {
        rest_reply_error(rp, WR_E_TOO_COSTLY, "this request needs %llu exact scans of %u items "
                         "(%llu item comparisons), more than max_scan_items (%llu); lists of "
                         "up to %u neighbours by %s answer without a scan",
                         (unsigned long long)scans, in->n,
                         (unsigned long long)(scans * in->n),
                         (unsigned long long)rq->cfg->max_scan_items, in->k,
                         rank_name(in->rank));
        return -1;
    }
    if ((scans || hits > INLINE_HITS) && !rq->pooled) {
        rp->heavy = 1;
        return -1;
    }
    return 0;
}

/* relation=similar (the default) or complement (index.h's index_complement): 0, or -1
 * with a 400. */
int api_relation(const wr_request *rq, const wr_index *ix, int *complement, wr_reply *rp)
{
    const char *v = rest_param(rq, "relation");
    *complement = v && !strcmp(v, "complement");
    if (v && !*complement && strcmp(v, "similar")) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "relation: expected similar or complement");
        return -1;
    }
    if (*complement && !index_has_context(ix)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "relation=complement: this model has no context "
                         "vectors (walkrec train --keep-context, setting keep_context)");
        return -1;
    }
    return 0;
}

/* ---- handlers ---- */

void api_item_neighbors(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_index *ix = s->index; /* routes that need a model get one (api_call) */
    size_t k;
    api_filt x;
    api_filt_init(&x);
    const char *rv = rest_param(rq, "rank");
    int rank;
    size_t off;
    api_diverse dv;
    int explain, complement;
    if (query_k(rq, &k, rp) < 0 || api_query_filter(rq, s, &x, rp) < 0 ||
        api_explain_param(rq, &explain, rp) < 0 ||
        parse_rank(ix, rv, rv ? strlen(rv) : 0, &rank, rp) < 0 ||
        page_offset(rq, rest_param(rq, "offset"), NULL, k, &off, rp) < 0 ||
        api_diverse_params(rq, ix, &dv, rp) < 0 || api_relation(rq, ix, &complement, rp) < 0)
        goto out;
    if (complement && (rv || dv.on)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "relation=complement ranks by its own score: "
                         "rank, diversity and max_per are for relation=similar");
        goto out;
    }
    wr_item it;
    if (!snapshot_find(s, rq->id, rq->id_len, &it)) {
        rest_reply_error(rp, WR_E_UNKNOWN_ITEM, "unknown item '%s'", rq->id);
        goto out;
    }
    if (complement && it.row < 0) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "relation=complement: a provisional item has no "
                         "context vector until it is trained");
        goto out;
    }
    k += off; /* the page's hits are those after the first `off` */
    size_t pk = api_diverse_pool(&dv, k); /* the list to pick the page from */
    wr_hit *hits = xmalloc(pk * sizeof *hits);
    if (it.prov >= 0)
        rank = WR_RANK_COSINE; /* a provisional item has no degree yet */
    wr_filter *f = api_filt_done(&x);
    uint64_t scans = complement; /* complement lists are always a scan */
    size_t n = complement ? 0 : neighbors_of(s, &it, pk, f, rank, hits, &scans);
    if (afford(rq, ix, scans, scans ? pk : n, rp) < 0) {
        free(hits);
        goto out;
    }
    if (complement)
        n = snapshot_neighbors_complement(s, &it, pk, f, hits);
    else if (scans)
        n = neighbors_of(s, &it, pk, f, rank, hits, NULL);
    if (dv.on) {
        wr_hit *page = xmalloc(k * sizeof *page);
        n = api_diverse_pick(s, &it, rank, &dv, hits, n, k, page);
        free(hits);
        hits = page;
    }
    wbuf o = {0};
    api_begin(&o, ix, rp);
    put_lit(&o, ",\"item\":");
    bytes_put_json_str(&o, rq->id, rq->id_len);
    if (complement)
        put_lit(&o, ",\"relation\":\"complement\"");
    else
        put_rank(&o, rank);
    if (it.prov >= 0)
        put_lit(&o, ",\"provisional\":true");
    if (snapshot_provisional(s)) /* the list may hold provisional items: the overlay's version */
        rp->overlay = s->version;
    if (off) {
        put_lit(&o, ",\"offset\":");
        bytes_put_u64(&o, off);
    }
    put_lit(&o, ",\"neighbors\":");
    put_hits(&o, s, complement ? -1 : it.row, hits + off, n > off ? n - off : 0,
             explain ? &it : NULL);
    api_answer(&o, rq, rp);
    free(hits);
out:
    api_filt_free(&x);
}

/* An item id in a body: a string of 1 to WR_ID_MAX bytes, like a path's {id}. */
int api_is_id(const json_t *s)
{
    return json_is_string(s) && json_string_length(s) >= 1 && json_string_length(s) <= WR_ID_MAX;
}


static void put_json_str(wbuf *o, const json_t *s)
{
    bytes_put_json_str(o, json_string_value(s), json_string_length(s));
}

/* The known ids of a basket's list into vecs (their vectors; model rows also excluded
 * from the answer), known and unknown ones listed as JSON into the two buffers. Returns how
 * many are known; *prov |= 1 when one is provisional. */
/* One side of a basket (its items, or its negatives) into vecs: the known items' vectors,
 * and the raw vectors given (ids_only checked them) normalised into buf, counted in
 * *raw. */
static size_t basket_side(const wr_snapshot *s, const json_t *ids, api_filt *x, const float **vecs,
                          float *buf, size_t *raw, wbuf *known, wbuf *unknown, int *prov)
{
    size_t i, n = 0, dim = index_info(s->index)->dim;
    json_t *e;
    json_array_foreach(ids, i, e) {
        wr_item it;
        if (json_is_array(e)) { /* a raw vector, used as a unit vector */
            float *v = buf + (*raw)++ * dim;
            double ss = 0;
            for (size_t j = 0; j < dim; j++) {
                v[j] = (float)json_number_value(json_array_get(e, j));
                ss += (double)v[j] * v[j];
            }
            for (size_t j = 0; ss > 0 && j < dim; j++)
                v[j] = (float)(v[j] / sqrt(ss));
            if (ss > 0)
                vecs[n++] = v;
            continue;
        }
        int found = json_is_string(e) &&
                    snapshot_find(s, json_string_value(e), json_string_length(e), &it);
        wbuf *list = found ? known : unknown;
        put(list, list->n ? "," : "[", 1);
        put_json_str(list, e);
        if (!found)
            continue;
        vecs[n++] = snapshot_vector(s, &it);
        *prov |= it.row < 0;
        if (it.row >= 0)
            api_filt_exclude(x, s->index, json_string_value(e), json_string_length(e));
    }
    return n;
}

static void put_list(wbuf *o, const char *name, const wbuf *l)
{
    put_lit(o, name);
    put(o, l->n ? l->p : "[", l->n ? l->n : 1);
    put(o, "]", 1);
}

/* POST /v1/neighbors, mode "basket": one list for the items (provisional ones too), leaving
 * them out; with "negative" items, more like the items and less like those. Strategy
 * "average" (the default): the nearest to 2 x the mean of the items' unit vectors minus the
 * mean of the negatives' (the sum of the items' without negatives), scored by cosine;
 * "best_score": every item by its best cosine with an item minus its best with a negative,
 * scored by that difference. */
static void basket(const wr_request *rq, const wr_snapshot *s, json_t *items, json_t *negative,
                   int best, size_t k, size_t off, api_filt *x, const api_diverse *dv, wr_reply *rp)
{
    const wr_index *ix = s->index;
    size_t dim = index_info(ix)->dim, nneg = negative ? json_array_size(negative) : 0;
    const float **vecs = xmalloc((json_array_size(items) + nneg) * sizeof *vecs);
    float *q = xmalloc(dim * sizeof *q + 1), *mix = xcalloc(dim + 1, sizeof *mix);
    float *raw = xmalloc(((json_array_size(items) + nneg) * dim + 1) * sizeof *raw);
    size_t nraw = 0, praw;
    size_t pk = api_diverse_pool(dv, k); /* the list to pick the page from */
    wr_hit *hits = xmalloc(pk * sizeof *hits);
    wbuf known = {0}, unknown = {0}, negs = {0}, o = {0};
    size_t n = 0;
    int prov = 0;
    size_t np = basket_side(s, items, x, vecs, raw, &nraw, &known, &unknown, &prov);
    praw = nraw;
    size_t nn = negative ? basket_side(s, negative, x, vecs + np, raw, &nraw, &negs, &unknown,
                                       &prov) : 0;
    if (np == 0) {
        rest_reply_error(rp, WR_E_UNKNOWN_ITEM, "none of the %zu items is known to the model "
                         "(or a non-zero vector)", json_array_size(items));
        goto out;
    }
    if (afford(rq, ix, best ? np + nn : 1, pk, rp) < 0)
        goto out;
    if (prov) /* the answer depends on the overlay too */
        rp->overlay = s->version;
    if (best) {
        n = snapshot_neighbors_contrast(s, vecs, np, vecs + np, nn, pk, api_filt_done(x), hits);
    } else {
        for (size_t i = 0; i < np + nn; i++) /* 2 mean(items) - mean(negatives) */
            for (size_t j = 0; j < dim; j++)
                mix[j] += i < np ? (nn ? 2.0f / (float)np : 1.0f) * vecs[i][j]
                                 : -vecs[i][j] / (float)nn;
        const float *m = mix;
        if (index_basket(ix, &m, 1, q) == 0)
            n = snapshot_neighbors_vec(s, q, pk, api_filt_done(x), hits);
    }
    if (dv->on) { /* the basket's own score is the relevance */
        wr_hit *page = xmalloc(k * sizeof *page);
        wr_item none = {-1, -1};
        n = api_diverse_pick(s, &none, WR_RANK_COSINE, dv, hits, n, k, page);
        free(hits);
        hits = page;
    }
    api_begin(&o, ix, rp);
    put_lit(&o, ",\"mode\":\"basket\",\"strategy\":");
    put_lit(&o, best ? "\"best_score\"" : "\"average\"");
    put_list(&o, ",\"items\":", &known);
    if (negative)
        put_list(&o, ",\"negative\":", &negs);
    put_list(&o, ",\"unknown\":", &unknown);
    if (nraw) { /* how many raw vectors each side took */
        put_lit(&o, ",\"vectors\":{\"items\":");
        bytes_put_u64(&o, praw);
        put_lit(&o, ",\"negative\":");
        bytes_put_u64(&o, nraw - praw);
        put(&o, "}", 1);
    }
    put_lit(&o, ",\"neighbors\":");
    put_hits(&o, s, -1, hits + off, n > off ? n - off : 0, NULL);
    api_answer(&o, rq, rp);
out:
    free(known.p);
    free(unknown.p);
    free(negs.p);
    free(hits);
    free(q);
    free(mix);
    free(raw);
    free(vecs);
}


/* 1 when e is an array of dim finite numbers. */
static int is_vector(const json_t *e, size_t dim)
{
    size_t j;
    json_t *x;
    if (!dim || json_array_size(e) != dim)
        return 0;
    json_array_foreach(e, j, x)
        if (!json_is_number(x) || !isfinite(json_number_value(x)))
            return 0;
    return 1;
}

/* 0 when every entry of arr is an item id, or with dim > 0 (a basket) a vector of dim
 * numbers; else -1 with a 400 naming name[i]. */
static int ids_only(const json_t *arr, const char *name, size_t dim, wr_reply *rp)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        if (!api_is_id(e) && !is_vector(e, dim)) {
            if (dim)
                rest_reply_error(rp, WR_E_BAD_REQUEST, "%s[%zu]: expected an id of 1 to %d "
                                 "bytes or a vector of %zu numbers", name, i, WR_ID_MAX, dim);
            else
                rest_reply_error(rp, WR_E_BAD_REQUEST, "%s[%zu]: expected an id of 1 to %d "
                                 "bytes", name, i, WR_ID_MAX);
            return -1;
        }
    }
    return 0;
}

/* The list parameters of a JSON object (a POST /v1/neighbors body, or one of its queries):
 * k, offset, rank (*ranked: given, not the default) and the filter into x; -1 with a 400. */
static int list_params(const wr_request *rq, const wr_snapshot *s, const json_t *obj, size_t *k,
                       size_t *off, int *rank, int *ranked, api_filt *x, wr_reply *rp)
{
    json_t *v = json_object_get(obj, "k");
    *k = rq->cfg->default_k;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "k: expected an integer from 1 to %u (max_k)",
                             rq->cfg->max_k);
            return -1;
        }
        if (check_k(rq, (uint64_t)json_integer_value(v), rp) < 0)
            return -1;
        *k = (size_t)json_integer_value(v);
    }
    v = json_object_get(obj, "rank");
    if (v && !json_is_string(v)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "rank: expected cosine or probability");
        return -1;
    }
    *ranked = v != NULL;
    return parse_rank(s->index, json_string_value(v), v ? json_string_length(v) : 0, rank, rp) < 0 ||
                   page_offset(rq, NULL, json_object_get(obj, "offset"), *k, off, rp) < 0 ||
                   api_body_filter(rq, s, (json_t *)obj, x, rp) < 0
               ? -1
               : 0;
}

/* One query of a "queries" batch: its item and parameters of its own. */
typedef struct query {
    const json_t *id;
    wr_item it;
    int known, rank, explain;
    size_t k, off;  /* k counts the skipped `off` hits too */
    api_filt *x;        /* the batch's filter, or own */
    api_filt own;
    api_diverse dv;
} query;

/* Reads queries[i] into q; -1 with a 400 naming the query. */
static int read_query(const wr_request *rq, const wr_snapshot *s, const json_t *j, size_t i,
                      query *q, wr_reply *rp)
{
    char where[32];
    snprintf(where, sizeof where, "queries[%zu]", i);
    json_t *id = json_object_get(j, "item");
    size_t k;
    int ranked;
    q->k = 0;
    if (!json_is_object(j) ||
        api_unknown_field(rq, j, "item,k,offset,exclude,min_score,category,filter,rank,diversity,"
                          "max_per,explain", where, rp) < 0 ||
        api_diverse_json(s->index, j, &q->dv, rp) < 0 || api_explain_json(j, &q->explain, rp) < 0)
        goto bad;
    if (!api_is_id(id)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "item: expected an id of 1 to %d bytes",
                         WR_ID_MAX);
        goto bad;
    }
    q->x = &q->own;
    if (list_params(rq, s, j, &k, &q->off, &q->rank, &ranked, q->x, rp) < 0)
        goto bad;
    q->id = id;
    q->k = k + q->off;
    q->known = snapshot_find(s, json_string_value(id), json_string_length(id), &q->it);
    if (q->known && q->it.prov >= 0)
        q->rank = WR_RANK_COSINE; /* a provisional item has no degree yet */
    return 0;
bad:;
    json_t *e = json_object_get(rp->json, "error");
    char msg[512];
    snprintf(msg, sizeof msg, "%s", e ? json_string_value(json_object_get(e, "message"))
                                      : "expected an object {\"item\", ...}");
    rest_reply_free(rp);
    rest_reply_error(rp, WR_E_BAD_REQUEST, "%s: %s", where, msg);
    return -1;
}

/* Mode "each": one list per query, an error entry for an unknown item. A trial with a
 * budget of no scans answers what the lists can and counts the scans the others need; then
 * the request is refused, sent to the scan pool or answered (afford). rank >= 0: the order
 * of every list, said once; else each list says its own. */
static void lists_each(const wr_request *rq, const wr_snapshot *s, query *q, size_t nq,
                       int rank, wr_reply *rp)
{
    const wr_index *ix = s->index;
    size_t i, kmax = 1;
    wbuf o = {0};
    uint64_t scans = 0, answered = 0;
    for (i = 0; i < nq; i++)
        kmax = api_diverse_pool(&q[i].dv, q[i].k) > kmax ? api_diverse_pool(&q[i].dv, q[i].k)
                                                          : kmax;
    wr_hit *hits = xmalloc(kmax * sizeof *hits), *page = xmalloc(kmax * sizeof *page);
    for (i = 0; i < nq; i++) {
        uint64_t before = scans;
        size_t pk = api_diverse_pool(&q[i].dv, q[i].k);
        if (!q[i].known)
            continue;
        size_t n = neighbors_of(s, &q[i].it, pk, &q[i].x->f, q[i].rank, hits, &scans);
        answered += scans > before ? pk : n;
    }
    if (afford(rq, ix, scans, answered, rp) < 0)
        goto out;
    api_begin(&o, ix, rp);
    put_lit(&o, ",\"mode\":\"each\"");
    if (rank >= 0)
        put_rank(&o, rank);
    put_lit(&o, ",\"results\":[");
    for (i = 0; i < nq; i++) {
        put_lit(&o, i ? ",{\"item\":" : "{\"item\":");
        put_json_str(&o, q[i].id);
        if (!q[i].known) {
            put_lit(&o, ",\"neighbors\":null,\"error\":");
            put_error(&o, WR_E_UNKNOWN_ITEM, "the model has no such item");
        } else {
            if (q[i].it.prov >= 0)
                put_lit(&o, ",\"provisional\":true");
            if (rank < 0)
                put_rank(&o, q[i].rank);
            size_t pk = api_diverse_pool(&q[i].dv, q[i].k);
            size_t n = neighbors_of(s, &q[i].it, pk, &q[i].x->f, q[i].rank, hits, NULL);
            wr_hit *h = hits;
            if (q[i].dv.on) {
                n = api_diverse_pick(s, &q[i].it, q[i].rank, &q[i].dv, hits, n, q[i].k, page);
                h = page;
            }
            put_lit(&o, ",\"neighbors\":");
            put_hits(&o, s, q[i].it.row, h + q[i].off, n > q[i].off ? n - q[i].off : 0,
                     q[i].explain ? &q[i].it : NULL);
        }
        put(&o, "}", 1);
        if (too_large(rq, &o, rp))
            goto out;
    }
    put(&o, "]", 1);
    if (snapshot_provisional(s))
        rp->overlay = s->version;
    api_answer(&o, rq, rp);
out:
    free(hits);
    free(page);
}

/* POST /v1/neighbors {"items": [...], k, offset, rank, filter}: one parameter set for all. */
static void each(const wr_request *rq, const wr_snapshot *s, json_t *items, size_t k,
                 size_t off, api_filt *x, int rank, const api_diverse *dv, int explain, wr_reply *rp)
{
    size_t nq = json_array_size(items), i;
    query *q = xcalloc(nq, sizeof *q);
    json_t *e;
    api_filt_done(x);
    json_array_foreach(items, i, e) {
        q[i] = (query){.id = e, .rank = rank, .k = k, .off = off, .x = x, .dv = *dv,
                       .explain = explain};
        q[i].known = snapshot_find(s, json_string_value(e), json_string_length(e), &q[i].it);
        if (q[i].known && q[i].it.prov >= 0)
            q[i].rank = WR_RANK_COSINE; /* a provisional item has no degree yet */
    }
    lists_each(rq, s, q, nq, rank, rp);
    free(q);
}

/* POST /v1/neighbors {"queries": [{"item", "k", "offset", "exclude", "min_score",
 * "category", "rank", "diversity", "max_per"}, ...]}: mode each, parameters per query. */
static void queries(const wr_request *rq, const wr_snapshot *s, json_t *list, wr_reply *rp)
{
    size_t nq = json_array_size(list), ready = 0, i;
    query *q = xcalloc(nq, sizeof *q);
    for (i = 0; i < nq; i++, ready++) {
        api_filt_init(&q[i].own);
        if (read_query(rq, s, json_array_get(list, i), i, &q[i], rp) < 0)
            goto out;
        api_filt_done(&q[i].own);
    }
    lists_each(rq, s, q, nq, -1, rp);
out:
    for (i = 0; i < ready + (ready < nq); i++)
        api_filt_free(&q[i].own);
    free(q);
}

void api_neighbors(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_index *ix = s->index; /* routes that need a model get one (api_call) */
    static const char fields[] =
        "items,queries,negative,strategy,k,offset,mode,rank,exclude,min_score,category,filter,"
        "diversity,max_per,explain";
    json_t *doc = api_parse_body(rq, fields, rp), *items, *v;
    size_t k, off;
    int rank, ranked;
    const char *mode = "each";
    api_filt x;
    api_filt_init(&x);
    if (doc && json_object_get(doc, "queries")) { /* parameters per query */
        if (json_object_size(doc) != 1) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "queries: give every parameter inside each "
                             "query, nothing beside the list");
        } else if ((items = api_body_array(rq, doc, "queries", rp))) {
            queries(rq, s, items, rp);
        }
        goto out;
    }
    if (!doc || !(items = api_body_array(rq, doc, "items", rp)))
        goto out;
    if ((v = json_object_get(doc, "mode"))) {
        mode = json_string_value(v);
        if (!mode || (strcmp(mode, "each") && strcmp(mode, "basket"))) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "mode: expected \"each\" or \"basket\"");
            goto out;
        }
    }
    size_t vdim = strcmp(mode, "basket") ? 0 : index_info(ix)->dim; /* baskets take vectors */
    if (ids_only(items, "items", vdim, rp) < 0)
        goto out;
    if (list_params(rq, s, doc, &k, &off, &rank, &ranked, &x, rp) < 0)
        goto out;
    if (!strcmp(mode, "basket") && ranked && rank == WR_RANK_PROBABILITY) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "rank probability: a basket has no single item to "
                    "take the popularity of; baskets rank by cosine");
        goto out;
    }
    json_t *neg = json_object_get(doc, "negative"), *strat = json_object_get(doc, "strategy");
    const char *sv = json_string_value(strat);
    if ((neg || strat) && strcmp(mode, "basket")) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "negative and strategy are for mode basket");
        goto out;
    }
    if (strat && (!sv || (strcmp(sv, "average") && strcmp(sv, "best_score")))) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "strategy: expected average or best_score");
        goto out;
    }
    if (neg && (!json_is_array(neg) || json_array_size(neg) > rq->cfg->max_batch)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "negative: expected an array of at most %u ids "
                         "(max_batch)", rq->cfg->max_batch);
        goto out;
    }
    if (neg && ids_only(neg, "negative", vdim, rp) < 0)
        goto out;
    api_diverse dv;
    int explain;
    if (api_diverse_json(ix, doc, &dv, rp) < 0 || api_explain_json(doc, &explain, rp) < 0)
        goto out;
    if (explain && !strcmp(mode, "basket")) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "explain: for lists of items (mode each); a "
                         "basket's list has no single item to explain it by");
        goto out;
    }
    if (!strcmp(mode, "basket"))
        basket(rq, s, items, neg, sv && !strcmp(sv, "best_score"), k + off, off, &x, &dv, rp);
    else
        each(rq, s, items, k + off, off, &x, rank, &dv, explain, rp);
out:
    api_filt_free(&x);
    json_decref(doc);
}
