/* api_score.c - walkrecd's pair scores: GET /v1/score?a=&b= and POST /v1/score, the
 * cosine and the calibrated probability of pairs, provisional items included, with
 * relation=complement the "goes with" score beside them (index_complement), and with
 * explain=1 the evidence for each pair (api_explain.c) (api.h). */
#include "walkrec/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/bytes.h"

void api_score(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_index *ix = s->index; /* routes that need a model get one (api_call) */
    char *a = NULL, *b = NULL;
    int explain, complement;
    if (api_explain_param(rq, &explain, rp) < 0 || api_relation(rq, ix, &complement, rp) < 0)
        return;
    if (!rest_param(rq, "a") || !rest_param(rq, "b")) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "expected the parameters a and b (item ids)");
        return;
    }
    if (!(a = api_param(rq, "a", rp)) || !(b = api_param(rq, "b", rp)))
        goto out;
    wr_item ia, ib;
    int64_t ra = snapshot_find(s, a, strlen(a), &ia) ? 0 : -1,
            rb = snapshot_find(s, b, strlen(b), &ib) ? 0 : -1;
    if (ra < 0 || rb < 0) {
        char msg[2 * WR_ID_MAX + 64];
        if (ra < 0 && rb < 0)
            snprintf(msg, sizeof msg, "unknown items: a '%s' and b '%s'", a, b);
        else
            snprintf(msg, sizeof msg, "unknown item: %s '%s'", ra < 0 ? "a" : "b",
                     ra < 0 ? a : b);
        rest_reply_json(rp, 404, json_pack("{s:o,s:{s:b,s:b}}", "error",
                                      api_error_json(WR_E_UNKNOWN_ITEM, msg), "known", "a",
                                      ra >= 0, "b", rb >= 0));
        goto out;
    }
    if (complement && (ia.row < 0 || ib.row < 0)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "relation=complement: a provisional item has no "
                         "context vector until it is trained");
        goto out;
    }
    wr_bytes o = {0};
    api_begin(&o, ix, rp);
    bytes_puts(&o, ",\"a\":");
    bytes_put_json_str(&o, a, strlen(a));
    bytes_puts(&o, ",\"b\":");
    bytes_put_json_str(&o, b, strlen(b));
    bytes_puts(&o, ",\"score\":");
    bytes_put_score(&o, snapshot_score(s, &ia, &ib));
    bytes_puts(&o, ",\"probability\":");
    api_put_probability(&o, s, &ia, &ib);
    bytes_puts(&o, ",\"known\":{\"a\":true,\"b\":true}");
    if (complement) {
        bytes_puts(&o, ",\"relation\":\"complement\",\"complement\":");
        bytes_put_score(&o, index_complement(ix, (uint32_t)ia.row, (uint32_t)ib.row));
    }
    if (explain) {
        bytes_puts(&o, ",\"explain\":");
        api_put_explain(&o, s, &ia, &ib);
    }
    if (ia.prov >= 0 || ib.prov >= 0) {
        rp->overlay = s->version;
        bytes_puts(&o, ia.prov >= 0 ? ",\"provisional\":{\"a\":true"
                                    : ",\"provisional\":{\"a\":false");
        bytes_puts(&o, ib.prov >= 0 ? ",\"b\":true}" : ",\"b\":false}");
    }
    api_answer(&o, rq, rp);
out:
    free(a);
    free(b);
}

void api_score_batch(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_index *ix = s->index; /* routes that need a model get one (api_call) */
    json_t *doc = api_parse_body(rq, "pairs,explain", rp), *pairs, *p;
    size_t i;
    /* "probabilities" and "explanations" in parallel with "scores" */
    wr_bytes o = {0}, probs = {0}, why = {0};
    int explain;
    if (!doc || !(pairs = api_body_array(rq, doc, "pairs", rp)) ||
        api_explain_json(doc, &explain, rp) < 0)
        goto out;
    api_begin(&o, ix, rp);
    bytes_puts(&o, ",\"scores\":[");
    bytes_puts(&probs, ",\"probabilities\":[");
    bytes_puts(&why, ",\"explanations\":[");
    json_array_foreach(pairs, i, p) {
        if (!json_is_array(p) || json_array_size(p) != 2 || !api_is_id(json_array_get(p, 0)) ||
            !api_is_id(json_array_get(p, 1))) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "pairs[%zu]: expected [\"a\", \"b\"], ids of 1 "
                        "to %d bytes", i, WR_ID_MAX);
            free(o.p);
            goto out;
        }
        const json_t *ja = json_array_get(p, 0), *jb = json_array_get(p, 1);
        wr_item a, b;
        if (i) {
            bytes_put(&o, ",", 1);
            bytes_put(&probs, ",", 1);
            bytes_put(&why, ",", 1);
        }
        if (!snapshot_find(s, json_string_value(ja), json_string_length(ja), &a) ||
            !snapshot_find(s, json_string_value(jb), json_string_length(jb), &b)) {
            bytes_puts(&o, "null");
            bytes_puts(&probs, "null");
            bytes_puts(&why, "null");
        } else {
            bytes_put_score(&o, snapshot_score(s, &a, &b));
            api_put_probability(&probs, s, &a, &b);
            if (explain)
                api_put_explain(&why, s, &a, &b);
        }
    }
    bytes_put(&o, "]", 1);
    bytes_put(&o, probs.p, probs.n);
    bytes_put(&o, "]", 1);
    if (explain) {
        bytes_put(&o, why.p, why.n);
        bytes_put(&o, "]", 1);
    }
    api_answer(&o, rq, rp);
out:
    free(why.p);
    free(probs.p);
    json_decref(doc);
}
