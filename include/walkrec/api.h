/* api.h - the route handlers of walkrecd's REST API (docs/openapi.yaml describes it).
 *
 * Each handler reads a request view, queries the index and fills a reply with a status and
 * a JSON document; none knows about sockets or libmicrohttpd, so tests can call them
 * directly. http.c calls them inside a read section of the published index: `ix` stays
 * valid for the call, and is NULL only for the routes that work without a model
 * (healthz, readyz, metrics). Any thread. */
#ifndef WALKREC_API_H
#define WALKREC_API_H

#include "walkrec/http.h"
#include "walkrec/index.h"

typedef void (*wr_handler)(const wr_request *rq, const wr_index *ix, wr_reply *rp);

/* GET /v1/items/{id}/neighbors */
void api_item_neighbors(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* GET /v1/items/{id} */
void api_item(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* POST /v1/neighbors */
void api_neighbors(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* GET /v1/score */
void api_score(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* POST /v1/score */
void api_score_batch(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* GET /v1/model */
void api_model(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* GET /healthz, GET /readyz, GET /metrics */
void api_healthz(const wr_request *rq, const wr_index *ix, wr_reply *rp);
void api_readyz(const wr_request *rq, const wr_index *ix, wr_reply *rp);
void api_metrics(const wr_request *rq, const wr_index *ix, wr_reply *rp);

/* Ingestion and administration (src/api_admin.c). They run outside any read section, as
 * they may publish; `ix` is NULL. */
/* POST /v1/pairs */
void api_ingest(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* POST /v1/admin/retrain, /v1/admin/publish?generation=N, /v1/admin/rollback */
void api_admin_retrain(const wr_request *rq, const wr_index *ix, wr_reply *rp);
void api_admin_publish(const wr_request *rq, const wr_index *ix, wr_reply *rp);
void api_admin_rollback(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* GET /v1/admin/status */
void api_admin_status(const wr_request *rq, const wr_index *ix, wr_reply *rp);
/* On a follower: fills rp with 409 follower naming trainer_url (rq->cfg) and returns 1;
 * else 0. http.c asks it for the write routes before the body's size and type. */
int api_refuse_follower(const wr_request *rq, wr_reply *rp);

/* Body helpers shared by the handlers: the body as a JSON object, and its member `key` as
 * a non-empty array of at most max_batch entries; NULL with the error reply set. */
json_t *api_parse_body(const wr_request *rq, wr_reply *rp);
json_t *api_body_array(const wr_request *rq, json_t *doc, const char *key, wr_reply *rp);

#endif
