/* api_items.c - the handlers that change an item: hide, unhide, delete.
 *
 * PUT /v1/items/{id}/hidden hides the item, DELETE /v1/items/{id}/hidden unhides it, and
 * DELETE /v1/items/{id} deletes it: hidden as by a hide, and its pairs logged so far (and
 * its base pairs) left out of the next training (wal.h). Each is an item record in the
 * pair log, applied to the hidden set and published (hidden.h) before the 204, so the
 * next read leaves the item out. Any id of 1 to WR_ID_MAX bytes may be hidden, known to
 * the model or not: a hide is pre-emptive for an item that has not been ingested yet, an
 * unhide of an item that is not hidden changes nothing, and both answer 204 either way.
 * They are writes (api.h): the admin token, outside any read section, 409 on a follower. */
#include "walkrec/api.h"

static void change(const wr_request *rq, int kind, wr_reply *rp)
{
    wr_err err;
    const char *why = wal_check_id(rq->id, rq->id_len);
    if (why) { /* the log's rule for ids: every stored id can be written to a pair file */
        rest_reply_error(rp, WR_E_BAD_REQUEST, "item id %s", why);
        return;
    }
    if (!rq->svc->item) { /* a service without a log (api.h's tests may give none) */
        rest_reply_error(rp, WR_E_FOLLOWER, "this instance takes no item changes");
        return;
    }
    if (rq->svc->item(kind, rq->id, rq->id_len, &err) < 0) {
        /* the log's failures (a full disk, a write error) are the server's */
        rest_reply_error(rp, WR_E_UNAVAILABLE, "the pair log did not take the change: %s",
                         err.msg);
        return;
    }
    rp->status = 204;
}

void api_item_hide(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    change(rq, WR_WAL_HIDE, rp);
}

void api_item_unhide(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    change(rq, WR_WAL_UNHIDE, rp);
}

void api_item_delete(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    change(rq, WR_WAL_DELETE, rp);
}
