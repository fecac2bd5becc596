/* api.h - the routes of walkrecd's REST API and their handlers (docs/openapi.yaml
 * describes them).
 *
 * A handler reads a request view (rest.h) and a snapshot of what is served (snapshot.h)
 * and fills a reply with a status and a JSON document; none knows about sockets or
 * libmicrohttpd and none reads a global, so tests drive them directly
 * (tests/unit/test_api.c). http.c finds the route, checks access, and calls the handler
 * inside a read section of the published snapshot: `s` stays valid for the call, and is
 * NULL before the first publication (routes that need a model then answer 503) and for
 * writer routes, which run outside any read section because they may publish and reach the
 * trainer only through rq->svc. Any thread. */
#ifndef WALKREC_API_H
#define WALKREC_API_H

#include "walkrec/bytes.h"
#include "walkrec/rest.h"
#include "walkrec/snapshot.h"

typedef void (*wr_handler)(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);

/* Who may call a route: anyone; readers (anyone unless protect_reads); admin-token holders
 * (anyone when no token is configured, which only loopback binding allows). */
enum { WR_OPEN, WR_READ, WR_ADMIN };

typedef struct wr_route {
    const char *path; /* "{id}" matches one path segment */
    wr_handler get;   /* also HEAD */
    wr_handler post;
    int needs_model;  /* its reads answer 503 no_model while nothing is published */
    int access;       /* WR_OPEN, WR_READ or WR_ADMIN (its reads; writes are WR_ADMIN) */
    int writer;       /* its POST changes state (and its GET reaches the trainer): they run
                         outside any read section */
    const char *params; /* the query parameters it reads, comma-separated (strict_params
                           refuses others); NULL: not checked (pages, probes) */
    wr_handler put;   /* PUT, DELETE and PATCH always change state: writes, as writer's POST */
    wr_handler del;
    wr_handler patch;
} wr_route;

/* The routes in matching order; *n of them. */
const wr_route *api_routes(size_t *n);
/* The route of a path (still percent-encoded), with its raw {id} segment (or NULL); NULL
 * when no route matches. */
const wr_route *api_route(const char *path, const char **id, size_t *id_len);
/* "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS"-style list of the route's methods into buf. */
void api_allow(const wr_route *rt, char *buf, size_t n);
/* The route's handler for a WR_M_* method, or NULL. */
wr_handler api_handler(const wr_route *rt, int method);
/* 1 when the call writes: POST to a writer route, PUT or DELETE. A write needs the admin
 * token (when one is set), runs outside any read section with no snapshot, needs no model,
 * and a follower refuses it. */
int api_writes(const wr_route *rt, int method);
/* 1 when the call runs outside a read section: writes, and every call of a writer route. */
int api_unlocked(const wr_route *rt, int method);
/* On a follower, a write (api_writes) answers 409 naming trainer_url, whatever its body:
 * returns 1 with the reply set; else 0. */
int api_refuse_follower(const wr_route *rt, const wr_request *rq, wr_reply *rp);
/* Runs the route's handler for rq->method (GET and HEAD: get, POST: post, PUT: put,
 * DELETE: del; else 405 with the allowed methods named), 503 no_model when a read needs a
 * model and s is NULL. An answer that depends on the model while items are hidden names
 * the hidden set in its ETag (wr_reply.overlay). */
void api_call(const wr_route *rt, const wr_request *rq, const wr_snapshot *s, wr_reply *rp);

/* The handlers (src/api.c: reads; src/api_items.c: an item and its changes;
 * src/api_admin.c: writes and the trainer's status; src/dashboard.c: the page and its
 * files). */
void api_item_neighbors(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_item(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_items_prefix(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_neighbors(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_score(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_score_batch(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_model(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_healthz(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_readyz(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_metrics(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_ingest(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_admin_retrain(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_admin_publish(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_admin_rollback(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_admin_candidates(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_admin_status(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
/* src/api_diverse.c: diversity=L and max_per=COLUMN:N of a neighbour request, from the
 * query string or a JSON object's members (d->on 0 when neither is given; -1 with a 400
 * reply on a bad value or an unknown column); the
 * pool a page of k is picked from; the pick (out: at most k hits, scores the pool's). */
typedef struct api_diverse {
    int on;
    double lambda;
    uint32_t max_per;
    int64_t col;
} api_diverse;
int api_diverse_params(const wr_request *rq, const wr_index *ix, api_diverse *d, wr_reply *rp);
int api_diverse_json(const wr_index *ix, const json_t *obj, api_diverse *d, wr_reply *rp);
size_t api_diverse_pool(const api_diverse *d, size_t k);
size_t api_diverse_pick(const wr_snapshot *s, const wr_item *it, int rank, const api_diverse *d,
                        const wr_hit *pool, size_t n, size_t k, wr_hit *out);
/* src/api_explain.c: explain=1 (GET: api_explain_param; a JSON body's "explain":
 * api_explain_json; both -1 with a 400 when malformed, *on 0 when absent), and the evidence
 * for a pair written as a JSON object (api_put_explain), or as ,"explain":{...} for a hit of
 * snapshot_neighbors of item a (api_put_explain_hit). Inside the read section of s. */
int api_explain_param(const wr_request *rq, int *on, wr_reply *rp);
int api_explain_json(const json_t *obj, int *on, wr_reply *rp);
void api_put_explain(wr_bytes *o, const wr_snapshot *s, const wr_item *a, const wr_item *b);
void api_put_explain_hit(wr_bytes *o, const wr_snapshot *s, const wr_item *a, uint32_t item);
/* src/api_items.c: PUT and DELETE /v1/items/{id}/hidden, DELETE /v1/items/{id}. */
void api_item_hide(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_item_unhide(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_item_delete(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
/* PATCH /v1/items/{id}: sets attributes (attrs.h); PATCH /v1/items {"items": {ID: {...}}}:
 * those of up to max_batch items at once, checked first, logged and published together. */
void api_item_patch(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
void api_items_patch(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);

/* src/api_filter.c: a request's neighbour filter, under construction: rows excluded,
 * min_score, and the attribute filter of `category` and `filter`. Init, then fill it from
 * the GET parameters (api_query_filter: exclude=a,b, min_score, category, filter) or a body
 * object (api_body_filter: the same fields), which compile the attribute filter for the
 * snapshot (-1 with a 400 naming what is wrong); api_filt_done sorts the excluded rows and
 * returns the filter to pass on; api_filt_free at the end. */
typedef struct api_filt {
    wr_filter f;
    uint32_t *rows;
    size_t n, cap;
    json_t *clauses;        /* NULL: none */
    struct wr_match *match;
} api_filt;
void api_filt_init(api_filt *x);
void api_filt_free(api_filt *x);
/* Excludes an id (ids the model does not have cannot be returned anyway: skipped). */
void api_filt_exclude(api_filt *x, const wr_index *ix, const char *id, size_t len);
wr_filter *api_filt_done(api_filt *x);
int api_query_filter(const wr_request *rq, const wr_snapshot *s, api_filt *x, wr_reply *rp);
int api_body_filter(const wr_request *rq, const wr_snapshot *s, json_t *doc, api_filt *x,
                    wr_reply *rp);

/* Answers the query handlers write as JSON text (api.c): api_begin starts a model-dependent
 * answer {"generation":g and sets the reply's ETag parts, api_answer ends it (400
 * response_too_large past max_response_bytes); api_put_probability writes a pair's
 * calibrated probability or null. api_param: a query parameter percent-decoded into a new
 * string, NULL with a 400 when malformed. api_is_id: a JSON string of 1 to WR_ID_MAX bytes.
 * api_error_json: the error object of a code and message. api_model_doc: the document of a
 * model-dependent answer built with jansson, {"generation": g}, the reply's ETag parts set. */
json_t *api_model_doc(const wr_index *ix, wr_reply *rp);
/* relation=similar (default) or complement (index_complement; the model must have context
 * vectors): *complement, or -1 with a 400. */
int api_relation(const wr_request *rq, const wr_index *ix, int *complement, wr_reply *rp);
void api_begin(wr_bytes *o, const wr_index *ix, wr_reply *rp);
void api_answer(wr_bytes *o, const wr_request *rq, wr_reply *rp);
void api_put_probability(wr_bytes *o, const wr_snapshot *s, const wr_item *a, const wr_item *b);
char *api_param(const wr_request *rq, const char *key, wr_reply *rp);
int api_is_id(const json_t *s);
json_t *api_error_json(wr_code code, const char *message);

/* Body helpers shared by the handlers: the body as a JSON object whose members are among
 * `fields` (comma-separated; others are a 400 with strict_params), and its member `key` as
 * a non-empty array of at most max_batch entries; NULL with the error reply set. */
json_t *api_parse_body(const wr_request *rq, const char *fields, wr_reply *rp);
/* 0 when every member of obj is among `fields` (or strict_params is 0); else -1 with a 400
 * naming the member, `where` saying which object ("body", "pairs[3]"). */
int api_unknown_field(const wr_request *rq, const json_t *obj, const char *fields,
                      const char *where, wr_reply *rp);
json_t *api_body_array(const wr_request *rq, json_t *doc, const char *key, wr_reply *rp);

#endif
