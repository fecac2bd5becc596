/* api_admin.c - the write side of the API: pair ingestion and the admin routes.
 *
 * These handlers hand their work to the trainer through rq->svc (rest.h; walkrecd wires
 * retrain.h behind it) and never touch the published snapshot, so http.c runs them outside
 * any read section (a rollback publishes). The bearer token was checked before they run,
 * and on a follower they never run: api_refuse_follower answers 409 first. Library errors
 * become API errors through rest_reply_err's one table: a generation that does not exist
 * is 404 unknown_generation, a file that cannot be read 500 io_error naming it, a corrupt
 * one 500 corrupt_file naming it and the offset. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/api.h"
#include "walkrec/pairs.h"
#include "walkrec/text.h"

int api_refuse_follower(const wr_route *rt, const wr_request *rq, wr_reply *rp)
{
    if (!api_writes(rt, rq->method) || !rq->svc->follower)
        return 0;
    const char *to = rq->cfg->trainer_url;
    rest_reply_error(rp, WR_E_FOLLOWER, "this instance follows %s and takes no writes; send "
                     "them to the trainer%s%s", rq->cfg->follow, *to ? " at " : "", to);
    return 1;
}

/* One entry of {"pairs": [...]} into *out; a reason in why when it is bad. The strings stay
 * owned by the JSON document. */
static int pair_entry(const json_t *e, wr_wal_pair *out, char *why, size_t n)
{
    const json_t *a = json_object_get(e, "a"), *b = json_object_get(e, "b"),
                 *w = json_object_get(e, "weight"), *rel = json_object_get(e, "relationship");
    if (!json_is_object(e))
        return snprintf(why, n, "expected an object {\"a\", \"b\", \"weight\" or "
                        "\"relationship\"}"), -1;
    if (!json_is_string(a) || !json_is_string(b))
        return snprintf(why, n, "\"a\" and \"b\" must be strings (item ids)"), -1;
    if (json_string_length(a) == json_string_length(b) &&
        !memcmp(json_string_value(a), json_string_value(b), json_string_length(a)))
        return snprintf(why, n, "\"a\" and \"b\" are the same item (%.64s): a pair needs two",
                        json_string_value(a)), -1;
    if (w && rel)
        return snprintf(why, n, "give \"weight\" or \"relationship\", not both"), -1;
    double weight = 1.0;
    if (w) {
        if (!json_is_number(w))
            return snprintf(why, n, "\"weight\" must be a number"), -1;
        weight = json_number_value(w);
    } else if (rel) {
        if (!json_is_string(rel) ||
            pairs_weights_lookup(&wr_default_weights, json_string_value(rel), &weight) < 0)
            return snprintf(why, n, "unknown relationship (bought_together, also_bought, "
                            "also_viewed, buy_after_viewing)"), -1;
        if (!(weight > 0))
            return snprintf(why, n, "relationship %s has weight 0 (it is off)",
                            json_string_value(rel)), -1;
    }
    *out = (wr_wal_pair){json_string_value(a), json_string_value(b), json_string_length(a),
                         json_string_length(b), weight};
    return 0;
}

void api_ingest(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    json_t *doc = NULL, *arr, *e;
    wr_wal_pair *p = NULL;
    size_t i, bad;
    char why[256];
    wr_err err;
    if (!(doc = api_parse_body(rq, "pairs", rp)) ||
        !(arr = api_body_array(rq, doc, "pairs", rp)))
        goto out;
    p = xmalloc(json_array_size(arr) * sizeof *p);
    json_array_foreach(arr, i, e) {
        char where[32];
        snprintf(where, sizeof where, "pairs[%zu]", i);
        if (json_is_object(e) && api_unknown_field(rq, e, "a,b,weight,relationship", where, rp) < 0)
            goto out;
        if (pair_entry(e, &p[i], why, sizeof why) < 0) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "pairs[%zu]: %s; nothing was stored", i, why);
            goto out;
        }
    }
    /* The log's own rules (id bytes and length, weight range) decide the rest. */
    if (wal_check(p, json_array_size(arr), &bad, &err) < 0) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "pairs[%zu]: %s; nothing was stored", bad, err.msg);
        goto out;
    }
    uint64_t pos, pending;
    if (rq->svc->ingest(p, json_array_size(arr), &pos, &pending, &err) < 0) {
        /* the log's failures (a full disk, a write error) are the server's, not the batch's */
        rest_reply_error(rp, WR_E_UNAVAILABLE, "the pair log did not take the batch: %s", err.msg);
        goto out;
    }
    rest_reply_json(rp, 202, json_pack("{s:I,s:I,s:I}", "accepted", (json_int_t)json_array_size(arr),
                                  "position", (json_int_t)pos, "pending_pairs",
                                  (json_int_t)pending));
out:
    free(p);
    json_decref(doc);
}

void api_admin_retrain(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    rq->svc->retrain();
    rest_reply_json(rp, 202, json_pack("{s:b,s:o}", "queued", 1, "status", rq->svc->status()));
}

void api_admin_publish(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const char *g = rest_param(rq, "generation");
    uint64_t gen;
    wr_err err;
    if (!g || text_parse_u64(g, &gen) < 0 || gen == 0) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "generation: expected a positive integer");
        return;
    }
    if (rq->svc->publish(gen, &err) < 0) {
        rest_reply_err(rp, &err, WR_E_UNKNOWN_GENERATION);
        return;
    }
    rest_reply_json(rp, 202, json_pack("{s:b,s:I}", "queued", 1, "generation", (json_int_t)gen));
}

void api_admin_candidates(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    json_t *doc = api_parse_body(rq, "model", rp), *path;
    wr_err err;
    if (!doc)
        return;
    path = json_object_get(doc, "model");
    if (!json_is_string(path) || json_object_size(doc) != 1) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "body: expected {\"model\": \"/path/on/the/"
                         "trainer/model.wr\"}");
    } else if (rq->svc->submit(json_string_value(path), &err) < 0) {
        rest_reply_err(rp, &err, WR_E_NOT_FOUND);
    } else {
        rest_reply_json(rp, 202, json_pack("{s:b,s:s}", "queued", 1, "model",
                                           json_string_value(path)));
    }
    json_decref(doc);
}

void api_admin_rollback(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    uint64_t gen;
    int queued;
    wr_err err;
    if (rq->svc->rollback(&gen, &queued, &err) < 0) {
        rest_reply_err(rp, &err, WR_E_UNKNOWN_GENERATION);
        return;
    }
    rest_reply_json(rp, queued ? 202 : 200,
               json_pack("{s:I,s:b}", "generation", (json_int_t)gen, "queued", queued));
}

void api_admin_status(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    rest_reply_json(rp, 200, rq->svc->status());
}
