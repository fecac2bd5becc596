/* dashboard.c - the operator page (GET /), its files (GET /ui/{name}), the API document
 * (GET /openapi.yaml), and the id suggestions of the page's search box (GET /v1/items).
 *
 * The files live in the table tools/embed.c generates at build time. A reply owns its
 * text, so each answer copies the file: tens of kilobytes, for a page an operator opens
 * now and then. Suggestions come from index_prefix: a binary search over the ids in byte
 * order, built with the index. */
#include "walkrec/dashboard.h"

#include <stdlib.h>
#include <string.h>

#include "walkrec/dict.h"
#include "walkrec/text.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    /* text/ rather than application/yaml (RFC 9512), which browsers download instead of
     * showing, and the document is linked from the page to be read */
    {".yaml", "text/yaml; charset=utf-8"},
};

static const wr_asset *find_asset(const char *name, size_t len)
{
    for (const wr_asset *a = wr_assets; a->name; a++)
        if (strlen(a->name) == len && !memcmp(a->name, name, len))
            return a;
    return NULL;
}

static void reply_asset(wr_reply *rp, const wr_asset *a)
{
    size_t n = strlen(a->name);
    rp->content_type = "application/octet-stream";
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && !strcmp(a->name + n - e, types[i].ext))
            rp->content_type = types[i].type;
    }
    rp->status = 200;
    rp->text = xmalloc(a->len + 1);
    memcpy(rp->text, a->data, a->len + 1);
    rp->text_len = a->len;
}

static void reply_named(wr_reply *rp, const char *name)
{
    const wr_asset *a = find_asset(name, strlen(name));
    if (a)
        reply_asset(rp, a);
    else /* only when the build left the file out of the table */
        reply_error(rp, WR_E_INTERNAL, "%s is not compiled into this daemon", name);
}

void dashboard_page(const wr_request *rq, const wr_index *ix, wr_reply *rp)
{
    reply_named(rp, "index.html");
}

void dashboard_openapi(const wr_request *rq, const wr_index *ix, wr_reply *rp)
{
    reply_named(rp, "openapi.yaml");
}

void dashboard_file(const wr_request *rq, const wr_index *ix, wr_reply *rp)
{
    const wr_asset *a = find_asset(rq->id, rq->id_len);
    if (!a) {
        reply_error(rp, WR_E_NOT_FOUND, "no such file: /ui/%.*s", (int)rq->id_len, rq->id);
        return;
    }
    reply_asset(rp, a);
}

/* ---- suggestions ---- */

#define PREFIX_DEFAULT_LIMIT 10

/* The decoded value of a query parameter into out (room for WR_ID_MAX + 1 bytes); its
 * length, or -1 with a 400 reply. */
static long id_param(const wr_request *rq, const char *key, char *out, wr_reply *rp)
{
    const char *raw = request_param(rq, key);
    size_t len = raw ? strlen(raw) : 0;
    char *buf = xmalloc(len + 1);
    long n = http_decode(raw ? raw : "", len, 1, buf);
    if (n < 0)
        reply_error(rp, WR_E_BAD_REQUEST, "%s: bad percent-encoding or invalid UTF-8", key);
    else if (n > WR_ID_MAX)
        reply_error(rp, WR_E_BAD_REQUEST, "%s: longer than an id (%d bytes)", key, WR_ID_MAX);
    else
        memcpy(out, buf, (size_t)n + 1);
    free(buf);
    return n > WR_ID_MAX ? -1 : n;
}

static int limit_param(const wr_request *rq, size_t *limit, wr_reply *rp)
{
    const char *raw = request_param(rq, "limit");
    uint64_t v = PREFIX_DEFAULT_LIMIT;
    if (raw && (text_parse_u64(raw, &v) < 0 || v < 1 || v > rq->cfg->max_batch)) {
        reply_error(rp, WR_E_BAD_REQUEST, "limit: expected an integer from 1 to %u (max_batch)",
                    rq->cfg->max_batch);
        return -1;
    }
    *limit = (size_t)v;
    return 0;
}

void api_items_prefix(const wr_request *rq, const wr_index *ix, wr_reply *rp)
{
    char prefix[WR_ID_MAX + 1];
    size_t limit;
    long len = id_param(rq, "prefix", prefix, rp);
    if (len < 0 || limit_param(rq, &limit, rp) < 0)
        return;
    /* one more than asked says whether there are more */
    uint32_t *rows = xmalloc((limit + 1) * sizeof *rows);
    size_t n = index_prefix(ix, prefix, (size_t)len, rows, limit + 1);
    json_t *items = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_string(index_id(ix, rows[i])));
    free(rows);
    rp->generation = index_info(ix)->generation;
    reply_json(rp, 200, json_pack("{s:I,s:s,s:o,s:b}", "generation", (json_int_t)rp->generation,
                                  "prefix", prefix, "items", items, "more", n > limit));
}
