/* api_filter.c - the neighbour filter of a request (api.h): the rows it excludes, the
 * lowest score it keeps, and the attribute filter (filter.h) of its `category` and `filter`
 * parameters or body fields, all of whose clauses must hold, compiled for the snapshot the
 * request reads. */
#include "walkrec/api.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/filter.h"
#include "walkrec/text.h"

void api_filt_init(api_filt *x)
{
    memset(x, 0, sizeof *x);
    x->f = index_filter_none();
}

void api_filt_free(api_filt *x)
{
    free(x->rows);
    json_decref(x->clauses);
    filter_free(x->match);
}

static void filt_clause(api_filt *x, json_t *clause)
{
    if (!x->clauses)
        x->clauses = json_array();
    json_array_append_new(x->clauses, clause);
}

/* The clauses compiled for the snapshot; -1 with a 400 naming what is wrong. */
static int filt_compile(api_filt *x, const wr_snapshot *s, wr_reply *rp)
{
    char why[256];
    if (!x->clauses)
        return 0;
    json_t *all = json_pack("{sO}", "all", x->clauses);
    x->match = filter_compile(all, s->index, s->attrs, why, sizeof why);
    json_decref(all);
    if (!x->match) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "%s", why);
        return -1;
    }
    x->f.accept = filter_accept;
    x->f.accept_ctx = x->match;
    return 0;
}

/* Ids the model does not have cannot be returned anyway, so they are skipped. */
void api_filt_exclude(api_filt *x, const wr_index *ix, const char *id, size_t len)
{
    int64_t row = index_find(ix, id, len);
    if (row < 0)
        return;
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 16;
        x->rows = xrealloc(x->rows, x->cap * sizeof *x->rows);
    }
    x->rows[x->n++] = (uint32_t)row;
}


static int filt_min_score(api_filt *x, double v, wr_reply *rp)
{
    if (!isfinite(v)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "min_score: expected a finite number");
        return -1;
    }
    x->f.min_score = (float)v;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

wr_filter *api_filt_done(api_filt *x)
{
    if (x->n)
        qsort(x->rows, x->n, sizeof *x->rows, cmp_u32);
    x->f.exclude = x->rows;
    x->f.n_exclude = x->n;
    return &x->f;
}

/* exclude=a,b,c (each id percent-encoded on its own, so %2C is a comma inside an id),
 * min_score=0.2, category=name (filter=category:name), filter=clauses (filter.h). */
int api_query_filter(const wr_request *rq, const wr_snapshot *s, api_filt *x, wr_reply *rp)
{
    const wr_index *ix = s->index;
    const char *raw = rest_param(rq, "exclude");
    int rc = -1;
    char *v = NULL;
    if (raw && *raw) {
        size_t count = 0;
        while (*raw) {
            size_t len = strcspn(raw, ",");
            char *id = rest_decoded(raw, len);
            if (id && *id)
                api_filt_exclude(x, ix, id, strlen(id));
            free(id);
            if (!id) {
                rest_reply_error(rp, WR_E_BAD_REQUEST, "exclude: bad percent-encoding or invalid UTF-8");
                return -1;
            }
            if (++count > rq->cfg->max_batch) {
                rest_reply_error(rp, WR_E_BATCH_TOO_LARGE, "exclude: more than %u ids (max_batch)",
                            rq->cfg->max_batch);
                return -1;
            }
            raw += len + (raw[len] == ',');
        }
    }
    if (rest_param(rq, "min_score")) {
        double d;
        if (!(v = api_param(rq, "min_score", rp)))
            return -1;
        if (text_parse_double(v, &d) < 0) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "min_score: expected a number");
            goto out;
        }
        if (filt_min_score(x, d, rp) < 0)
            goto out;
        free(v);
        v = NULL;
    }
    if (rest_param(rq, "category")) {
        if (!(v = api_param(rq, "category", rp)))
            return -1;
        filt_clause(x, json_pack("{ss}", "category", v));
    }
    if ((raw = rest_param(rq, "filter"))) {
        char why[256];
        json_t *f = filter_parse_query(raw, ix, s->attrs, why, sizeof why);
        if (!f) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "%s", why);
            goto out;
        }
        filt_clause(x, f);
    }
    rc = filt_compile(x, s, rp);
out:
    free(v);
    return rc;
}

/* Optional body fields shared with the GET filter: exclude, min_score, category, filter. */
int api_body_filter(const wr_request *rq, const wr_snapshot *s, json_t *doc, api_filt *x,
                       wr_reply *rp)
{
    const wr_index *ix = s->index;
    json_t *v = json_object_get(doc, "exclude");
    if (v) {
        size_t i;
        json_t *e;
        if (!json_is_array(v) || json_array_size(v) > rq->cfg->max_batch) {
            rest_reply_error(rp, WR_E_BAD_REQUEST,
                        "exclude: expected an array of at most %u ids (max_batch)",
                        rq->cfg->max_batch);
            return -1;
        }
        json_array_foreach(v, i, e) {
            if (!json_is_string(e)) {
                rest_reply_error(rp, WR_E_BAD_REQUEST, "exclude[%zu]: expected a string", i);
                return -1;
            }
            api_filt_exclude(x, ix, json_string_value(e), json_string_length(e));
        }
    }
    if ((v = json_object_get(doc, "min_score"))) {
        if (!json_is_number(v)) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "min_score: expected a number");
            return -1;
        }
        if (filt_min_score(x, json_number_value(v), rp) < 0)
            return -1;
    }
    if ((v = json_object_get(doc, "category"))) {
        if (!json_is_string(v)) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "category: expected a string");
            return -1;
        }
        filt_clause(x, json_pack("{sO}", "category", v));
    }
    if ((v = json_object_get(doc, "filter")))
        filt_clause(x, json_incref(v));
    return filt_compile(x, s, rp);
}

