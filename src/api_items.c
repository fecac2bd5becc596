/* api_items.c - the item routes: GET /v1/items/{id}, and the handlers that change an item:
 * hide, unhide, delete, set attributes.
 *
 * GET answers what is known of an item: hidden or not, its degree, the items file's text
 * ("side") and its attributes as filters see them, typed, run-time values included.
 *
 * PUT /v1/items/{id}/hidden hides the item, DELETE /v1/items/{id}/hidden unhides it, and
 * DELETE /v1/items/{id} deletes it: hidden as by a hide, and its pairs logged so far (and
 * its base pairs) left out of the next training (wal.h). Each is an item record in the
 * pair log, applied to the hidden set and published (hidden.h) before the 204, so the
 * next read leaves the item out. Any id of 1 to WR_ID_MAX bytes may be hidden, known to
 * the model or not: a hide is pre-emptive for an item that has not been ingested yet, an
 * unhide of an item that is not hidden changes nothing, and both answer 204 either way.
 * PATCH /v1/items/{id} sets attributes (attrs.h): the body, a JSON object of names to values
 * (null: no value), checked against the types the names have, logged as an attribute record
 * and published the same way; the answer is the item's attributes as filters now see them.
 * They are writes (api.h): the admin token, outside any read section, 409 on a follower. */
#include "walkrec/api.h"

#include <string.h>

#include "walkrec/text.h"

#include "walkrec/attrs.h"
#include "walkrec/filter.h"
#include "walkrec/live.h"

void api_item(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_index *ix = s->index; /* routes that need a model get one (api_call) */
    wr_item it;
    if (!snapshot_find(s, rq->id, rq->id_len, &it)) {
        rest_reply_error(rp, WR_E_UNKNOWN_ITEM, "unknown item '%s'", rq->id);
        return;
    }
    json_t *doc = api_model_doc(ix, rp), *side = json_object(), *degree = json_null();
    json_object_set_new(doc, "item", json_string(rq->id));
    json_object_set_new(doc, "hidden", json_boolean(snapshot_hidden(s, rq->id, rq->id_len)));
    json_object_set_new(doc, "attributes", filter_values(ix, s->attrs, it.row, rq->id, rq->id_len));
    if (it.prov >= 0) { /* known from ingested pairs only */
        rp->overlay = s->version;
        json_object_set_new(doc, "provisional", json_true());
        json_object_set_new(doc, "partners", json_integer(snapshot_partners(s, &it)));
        json_object_set_new(doc, "degree", degree);
        json_object_set_new(doc, "side", side);
        rest_reply_json(rp, 200, doc);
        return;
    }
    int64_t row = it.row;
    for (size_t c = 0; c < index_side_columns(ix); c++) {
        const char *name = index_side_name(ix, c), *v = index_side_value(ix, (uint32_t)row, c);
        uint64_t d;
        if (!v)
            continue;
        if (!strcmp(name, "degree") && text_parse_u64(v, &d) == 0) {
            json_decref(degree);
            degree = json_integer((json_int_t)d);
        } else {
            json_object_set_new(side, name, json_string(v));
        }
    }
    json_object_set_new(doc, "degree", degree);
    json_object_set_new(doc, "side", side);
    rest_reply_json(rp, 200, doc);
}

/* Logs and publishes n item records of one kind (ids checked by the caller): 204, or the
 * error. */
static void log_items(const wr_request *rq, int kind, const wr_wal_item *it, size_t n,
                      wr_reply *rp)
{
    wr_err err;
    if (!rq->svc->items) { /* a service without a log (api.h's tests may give none) */
        rest_reply_error(rp, WR_E_FOLLOWER, "this instance takes no item changes");
        return;
    }
    if (rq->svc->items(kind, it, n, &err) < 0) {
        /* the log's failures (a full disk, a write error) are the server's */
        rest_reply_error(rp, WR_E_UNAVAILABLE, "the pair log did not take the change: %s",
                         err.msg);
        return;
    }
    rp->status = 204;
}

static void change(const wr_request *rq, int kind, const char *data, size_t dlen, wr_reply *rp)
{
    const char *why = wal_check_id(rq->id, rq->id_len);
    if (why) { /* the log's rule for ids: every stored id can be written to a pair file */
        rest_reply_error(rp, WR_E_BAD_REQUEST, "item id %s", why);
        return;
    }
    wr_wal_item it = {rq->id, rq->id_len, data, dlen};
    log_items(rq, kind, &it, 1, rp);
}

void api_item_hide(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    change(rq, WR_WAL_HIDE, NULL, 0, rp);
}

void api_item_unhide(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    change(rq, WR_WAL_UNHIDE, NULL, 0, rp);
}

void api_item_delete(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    change(rq, WR_WAL_DELETE, NULL, 0, rp);
}

/* A change checked against the types the names have (attrs_check) and written as the
 * compact JSON text the log keeps (free()); NULL with why set. */
static char *checked(const json_t *change, const wr_snapshot *now, char *why, size_t n)
{
    return attrs_check(change, now ? now->index : NULL, why, n) < 0
               ? NULL
               : json_dumps(change, JSON_COMPACT);
}

void api_item_patch(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    json_error_t e;
    char why[256];
    (void)s; /* a write: it reads the published snapshot in sections of its own */
    json_t *doc = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!doc) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "body: invalid JSON at line %d, column %d: %s",
                         e.line, e.column, e.text);
        return;
    }
    const wr_snapshot *now = live_acquire();
    char *text = checked(doc, now, why, sizeof why);
    live_release();
    json_decref(doc);
    if (!text) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "%s", why);
        return;
    }
    change(rq, WR_WAL_ATTRS, text, strlen(text), rp);
    free(text);
    if (rp->status != 204)
        return;
    now = live_acquire();
    json_t *out = json_pack("{s:s%,s:o}", "item", rq->id, rq->id_len, "attributes",
                            now ? filter_values(now->index, now->attrs,
                                                index_find(now->index, rq->id, rq->id_len),
                                                rq->id, rq->id_len)
                                : json_object());
    live_release();
    rest_reply_json(rp, 200, out);
}

void api_items_patch(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    char why[256];
    const char *id;
    json_t *change, *doc = api_parse_body(rq, "items", rp), *items;
    (void)s;
    if (!doc)
        return;
    items = json_object_get(doc, "items");
    size_t n = json_object_size(items), i = 0;
    if (!json_is_object(items) || n == 0 || n > rq->cfg->max_batch) {
        rest_reply_error(rp, n > rq->cfg->max_batch ? WR_E_BATCH_TOO_LARGE : WR_E_BAD_REQUEST,
                         "items: expected an object of 1 to %u item ids (max_batch), each to "
                         "its attributes", rq->cfg->max_batch);
        json_decref(doc);
        return;
    }
    wr_wal_item *it = xcalloc(n, sizeof *it);
    const wr_snapshot *now = live_acquire();
    json_object_foreach(items, id, change) { /* every change checked before any is logged */
        const char *bad = wal_check_id(id, strlen(id));
        char *text = bad ? NULL : checked(change, now, why, sizeof why);
        if (!text) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "items[\"%.64s\"]: %s%s", id,
                             bad ? "id " : "", bad ? bad : why);
            break;
        }
        it[i++] = (wr_wal_item){id, strlen(id), text, strlen(text)};
    }
    live_release();
    if (i == n) {
        log_items(rq, WR_WAL_ATTRS, it, n, rp);
        if (rp->status == 204)
            rest_reply_json(rp, 200, json_pack("{s:I}", "items", (json_int_t)n));
    }
    for (size_t j = 0; j < i; j++)
        free((char *)it[j].data);
    free(it);
    json_decref(doc);
}
