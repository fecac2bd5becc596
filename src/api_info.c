/* api_info.c - walkrecd's handlers that describe rather than query: the model
 * (GET /v1/model), id suggestions (GET /v1/items), liveness and readiness, and the
 * Prometheus text (api.h). */
#include "walkrec/api.h"

#include <stdlib.h>
#include <string.h>

#include "walkrec/rank.h"
#include "walkrec/text.h"

/* ---- id suggestions (GET /v1/items): a binary search over the ids in byte order ---- */

#define PREFIX_DEFAULT_LIMIT 10

/* The decoded value of a query parameter into out (room for WR_ID_MAX + 1 bytes); its
 * length, or -1 with a 400 reply. */
static long id_param(const wr_request *rq, const char *key, char *out, wr_reply *rp)
{
    const char *raw = rest_param(rq, key);
    char *buf = rest_decoded(raw ? raw : "", raw ? strlen(raw) : 0);
    long n = buf ? (long)strlen(buf) : -1;
    if (n < 0)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "%s: bad percent-encoding or invalid UTF-8", key);
    else if (n > WR_ID_MAX)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "%s: longer than an id (%d bytes)", key, WR_ID_MAX);
    else
        memcpy(out, buf, (size_t)n + 1);
    free(buf);
    return n > WR_ID_MAX ? -1 : n;
}

static int limit_param(const wr_request *rq, size_t *limit, wr_reply *rp)
{
    const char *raw = rest_param(rq, "limit");
    uint64_t v = PREFIX_DEFAULT_LIMIT;
    if (raw && (text_parse_u64(raw, &v) < 0 || v < 1 || v > rq->cfg->max_batch)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "limit: expected an integer from 1 to %u (max_batch)",
                    rq->cfg->max_batch);
        return -1;
    }
    *limit = (size_t)v;
    return 0;
}

void api_items_prefix(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_index *ix = s->index;
    char prefix[WR_ID_MAX + 1], after[WR_ID_MAX + 1];
    size_t limit;
    const char *cursor = rest_param(rq, "cursor");
    long len = id_param(rq, "prefix", prefix, rp);
    if (len < 0 || limit_param(rq, &limit, rp) < 0 ||
        (cursor && id_param(rq, "cursor", after, rp) < 0))
        return;
    /* one more than asked says whether there are more */
    const char **ids = xmalloc((limit + 1) * sizeof *ids);
    int prov;
    size_t n = snapshot_prefix(s, prefix, (size_t)len, cursor ? after : NULL, ids, limit + 1,
                               &prov);
    json_t *items = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_string(ids[i]));
    free(ids);
    if (prov)
        rp->overlay = s->version;
    rp->generation = index_info(ix)->generation;
    rp->model_id = index_info(ix)->identity;
    json_t *doc = json_pack("{s:I,s:s,s:o,s:b}", "generation", (json_int_t)rp->generation,
                            "prefix", prefix, "items", items, "more", n > limit);
    /* the next page starts after the last id of this one */
    if (n > limit)
        json_object_set(doc, "cursor", json_array_get(items, limit - 1));
    rest_reply_json(rp, 200, doc);
}

/* Seconds of training as the model's metadata records them, when it does. */
static json_t *training_seconds(json_t *meta)
{
    json_t *t = json_object_get(meta, "times");
    double sum = 0;
    const char *key;
    json_t *v;
    if (json_is_number(json_object_get(meta, "train_seconds")))
        return json_real(json_number_value(json_object_get(meta, "train_seconds")));
    if (!json_is_object(t))
        return json_null();
    json_object_foreach(t, key, v) {
        if (json_is_number(v))
            sum += json_number_value(v);
    }
    return json_real(sum);
}

void api_model(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_index *ix = s->index; /* routes that need a model get one (api_call) */
    const wr_index_info *in = index_info(ix);
    json_t *meta = json_loads(in->meta_json, 0, NULL), *cols = json_array();
    if (!json_is_object(meta)) {
        json_decref(meta);
        meta = json_object();
    }
    /* no file paths for anonymous readers (an imported model names its source file); the
     * served file is in /v1/admin/status */
    json_object_del(json_object_get(meta, "source"), "file");
    json_t *types = json_object();
    for (size_t c = 0; c < index_side_columns(ix); c++) {
        json_array_append_new(cols, json_string(index_side_name(ix, c)));
        json_object_set_new(types, index_side_name(ix, c),
                            json_string(side_type_name(index_side_type(ix, c))));
    }
    /* Evaluation results: recorded as such, else the learning curve's last point (the
     * trained model against the validation pairs). */
    json_t *eval = json_object_get(meta, "eval");
    if (!eval)
        eval = json_object_get(meta, "evaluation");
    if (!eval) {
        json_t *curve = json_object_get(meta, "learning_curve");
        eval = json_array_get(curve, json_array_size(curve) - 1);
    }
    rp->generation = in->generation;
    rp->model_id = in->identity;
    json_t *doc = json_pack("{s:I}", "generation", (json_int_t)rp->generation);
    json_t *top = json_pack("{s:I,s:I,s:I,s:I}", "items", (json_int_t)in->n, "dim",
                            (json_int_t)in->dim, "created", (json_int_t)in->created,
                            "published_at", (json_int_t)in->published_at);
    json_object_update(doc, top);
    json_decref(top);
    json_t *index = json_pack("{s:I,s:b,s:s,s:s,s:b,s:f,s:s,s:I}", "k", (json_int_t)in->k,
                              "precomputed", in->k > 0, "kind", in->kind, "rank",
                              rank_name(in->rank), "calibrated", in->calibrated,
                              "build_seconds", in->build_seconds, "lists",
                              in->k ? in->lists_stored ? "stored" : "built" : "none",
                              "exact_index_max_items",
                              (json_int_t)rq->cfg->exact_index_max_items);
    if (in->recall_sample)
        json_object_set_new(index, "approximate",
                            json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:I}", "cells",
                                      (json_int_t)in->ann_cells, "probe",
                                      (json_int_t)in->ann_probe, "popular",
                                      (json_int_t)in->ann_popular, "builds",
                                      (json_int_t)in->ann_rounds, "kmeans_seconds",
                                      in->ann_kmeans_seconds, "candidates_mean",
                                      in->ann_candidates, "recall_at_10", in->recall_at_10,
                                      "recall_sample", (json_int_t)in->recall_sample));
    json_object_set_new(doc, "index", index);
    json_object_set_new(doc, "side_info",
                        json_pack("{s:o,s:o,s:I,s:I}", "columns", cols, "types", types, "rows",
                                  (json_int_t)in->side_rows, "unmatched",
                                  (json_int_t)in->side_unmatched));
    json_object_set_new(doc, "training_seconds", training_seconds(meta));
    json_object_set(doc, "evaluation", eval ? eval : json_null());
    json_object_set_new(doc, "training", meta);
    rest_reply_json(rp, 200, doc);
}

void api_healthz(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    rest_reply_json(rp, 200, json_pack("{s:s}", "status", "ok"));
}

void api_readyz(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    if (!s) {
        rest_reply_error(rp, WR_E_NO_MODEL, "no model published yet (loading or training)");
        return;
    }
    rest_reply_json(rp, 200, json_pack("{s:s,s:I}", "status", "ready", "generation",
                                       (json_int_t)index_info(s->index)->generation));
}

void api_metrics(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    rp->status = 200;
    rp->text = rq->svc->metrics(&rp->text_len);
    rp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
