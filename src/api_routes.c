/* api_routes.c - walkrecd's routes: the table (path, handlers, access, the query
 * parameters each reads), matching a path, and the call of a route's handler with the checks
 * every route shares (method, a published model, strict_params). api.h. */
#include "walkrec/api.h"

#include <stdio.h>
#include <string.h>

#include "walkrec/dashboard.h"
#include "walkrec/attrs.h"
#include "walkrec/hidden.h"
#include "walkrec/metrics.h"

/* 1 when name[0..len) is one of the comma-separated names of list. */
static int listed(const char *list, const char *name, size_t len)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && !memcmp(p, name, len))
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

int api_unknown_field(const wr_request *rq, const json_t *obj, const char *fields,
                      const char *where, wr_reply *rp)
{
    const char *key;
    json_t *v;
    if (!rq->cfg->strict_params)
        return 0;
    json_object_foreach((json_t *)obj, key, v) {
        if (!listed(fields, key, strlen(key))) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "%s: unknown field \"%.64s\" (it takes %s; "
                             "strict_params = 0 ignores others)", where, key, fields);
            return -1;
        }
    }
    return 0;
}

/* ---- routes ---- */

static const wr_route routes[] = {
    {"/v1/items/{id}/neighbors", api_item_neighbors, NULL, 1, WR_READ, 0,
     "k,offset,exclude,min_score,category,filter,rank,diversity,max_per,explain,relation", NULL,
     NULL, NULL},
    {"/v1/items/{id}/hidden", NULL, NULL, 0, WR_ADMIN, 1, "", api_item_hide, api_item_unhide, NULL},
    {"/v1/items/{id}", api_item, NULL, 1, WR_READ, 0, "", NULL, api_item_delete, api_item_patch},
    {"/v1/items", api_items_prefix, NULL, 1, WR_READ, 0, "prefix,limit,cursor", NULL, NULL,
     api_items_patch},
    {"/v1/neighbors", NULL, api_neighbors, 1, WR_READ, 0, "", NULL, NULL, NULL},
    {"/v1/score", api_score, api_score_batch, 1, WR_READ, 0, "a,b,explain,relation", NULL, NULL,
     NULL},
    {"/v1/model", api_model, NULL, 1, WR_READ, 0, "", NULL, NULL, NULL},
    {"/v1/pairs", NULL, api_ingest, 0, WR_ADMIN, 1, "", NULL, NULL, NULL},
    {"/v1/admin/retrain", NULL, api_admin_retrain, 0, WR_ADMIN, 1, "", NULL, NULL, NULL},
    {"/v1/admin/publish", NULL, api_admin_publish, 0, WR_ADMIN, 1, "generation", NULL, NULL, NULL},
    {"/v1/admin/rollback", NULL, api_admin_rollback, 0, WR_ADMIN, 1, "", NULL, NULL, NULL},
    {"/v1/admin/candidates", NULL, api_admin_candidates, 0, WR_ADMIN, 1, "", NULL, NULL, NULL},
    {"/v1/admin/status", api_admin_status, NULL, 0, WR_ADMIN, 1, "", NULL, NULL, NULL},
    {"/healthz", api_healthz, NULL, 0, WR_OPEN, 0, NULL, NULL, NULL, NULL},
    {"/readyz", api_readyz, NULL, 0, WR_OPEN, 0, NULL, NULL, NULL, NULL},
    {"/metrics", api_metrics, NULL, 0, WR_OPEN, 0, NULL, NULL, NULL, NULL},
    {"/", dashboard_page, NULL, 0, WR_OPEN, 0, NULL, NULL, NULL, NULL},
    {"/ui/{id}", dashboard_file, NULL, 0, WR_OPEN, 0, NULL, NULL, NULL, NULL},
    {"/openapi.yaml", dashboard_openapi, NULL, 0, WR_OPEN, 0, NULL, NULL, NULL, NULL},
};
#define NROUTES (sizeof routes / sizeof routes[0])

const wr_route *api_routes(size_t *n)
{
    *n = NROUTES;
    return routes;
}

static int match(const char *tmpl, const char *path, const char **id, size_t *id_len)
{
    while (*tmpl && *path) {
        if (!strncmp(tmpl, "{id}", 4)) {
            size_t n = strcspn(path, "/");
            *id = path;
            *id_len = n;
            tmpl += 4;
            path += n;
        } else if (*tmpl++ != *path++) {
            return 0;
        }
    }
    return !*tmpl && !*path;
}

const wr_route *api_route(const char *path, const char **id, size_t *id_len)
{
    for (size_t i = 0; i < NROUTES; i++) {
        *id = NULL;
        *id_len = 0;
        if (match(routes[i].path, path, id, id_len))
            return &routes[i];
    }
    return NULL;
}

void api_allow(const wr_route *rt, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%sOPTIONS", rt->get ? "GET, HEAD, " : "", rt->post ? "POST, " : "",
             rt->put ? "PUT, " : "", rt->del ? "DELETE, " : "", rt->patch ? "PATCH, " : "");
}

wr_handler api_handler(const wr_route *rt, int method)
{
    switch (method) {
    case WR_M_GET:
    case WR_M_HEAD: return rt->get;
    case WR_M_POST: return rt->post;
    case WR_M_PUT: return rt->put;
    case WR_M_DELETE: return rt->del;
    case WR_M_PATCH: return rt->patch;
    default: return NULL;
    }
}

int api_writes(const wr_route *rt, int method)
{
    return method == WR_M_PUT || method == WR_M_DELETE || method == WR_M_PATCH ||
           (method == WR_M_POST && rt->writer);
}

int api_unlocked(const wr_route *rt, int method) { return rt->writer || api_writes(rt, method); }

/* 0, or -1 with a 400 naming the first query parameter the route does not read. */
static int known_params(const wr_route *rt, const wr_request *rq, wr_reply *rp)
{
    if (!rt->params || !rq->cfg->strict_params)
        return 0;
    for (size_t i = 0; i < rq->nquery; i++) {
        const char *key = rq->query[i].key;
        if (!listed(rt->params, key, strlen(key))) {
            rest_reply_error(rp, WR_E_BAD_REQUEST, "unknown query parameter '%.64s' (%s reads %s; "
                             "strict_params = 0 ignores others)", key, rt->path,
                             *rt->params ? rt->params : "none");
            return -1;
        }
    }
    return 0;
}

void api_call(const wr_route *rt, const wr_request *rq, const wr_snapshot *s, wr_reply *rp)
{
    wr_handler fn = api_handler(rt, rq->method);
    if (!fn) {
        char allow[64];
        api_allow(rt, allow, sizeof allow);
        rest_reply_error(rp, WR_E_METHOD, "%s takes %s", rt->path, allow);
    } else if (rt->needs_model && !s && !api_writes(rt, rq->method)) {
        rest_reply_error(rp, WR_E_NO_MODEL, "no model published yet (loading or training)");
    } else if (known_params(rt, rq, rp) == 0) {
        fn(rq, s, rp);
        /* hidden items and attributes set at run time change what model answers hold:
         * their tag names the last change of either (both are log offsets) */
        if (s && (s->hidden || s->attrs) && rp->generation && !rp->overlay) {
            uint64_t h = hidden_stamp(s->hidden), a = attrs_stamp(s->attrs);
            rp->overlay = h > a ? h : a;
        }
    }
}
