/* dashboard.c - the operator page (GET /), its files (GET /ui/{name}), the API document
 * (GET /openapi.yaml).
 *
 * The files live in the table tools/embed.c generates at build time. A reply owns its
 * text, so each answer copies the file: tens of kilobytes, for a page an operator opens
 * now and then. */
#include "walkrec/dashboard.h"

#include <stdlib.h>
#include <string.h>


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
        rest_reply_error(rp, WR_E_INTERNAL, "%s is not compiled into this daemon", name);
}

void dashboard_page(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    reply_named(rp, "index.html");
}

void dashboard_openapi(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    reply_named(rp, "openapi.yaml");
}

void dashboard_file(const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    const wr_asset *a = find_asset(rq->id, rq->id_len);
    if (!a) {
        rest_reply_error(rp, WR_E_NOT_FOUND, "no such file: /ui/%.*s", (int)rq->id_len, rq->id);
        return;
    }
    reply_asset(rp, a);
}
