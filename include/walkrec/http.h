/* http.h - walkrecd's HTTP server: the one module that knows libmicrohttpd.
 *
 * It refuses requests that could be framed two ways (400, 411 or 501 and a closed
 * connection), routes the rest to the handlers of api.h, collects bodies into a capped
 * buffer, enforces the limits (connections, deadlines, sizes, query parameters), checks the
 * bearer token (429 for an address past auth_failures wrong ones), refuses writes that a
 * page of another site may have sent (403), answers OPTIONS and CORS, turns a handler's
 * reply (rest.h) into a response with an ETag naming its content (and 304 for a matching
 * If-None-Match), and counts every request in metrics.h. Read handlers run inside a read
 * section of the published snapshot (live.h); requests that need an exact scan or answer
 * many neighbours run on a bounded pool of scan threads (pool.h), not on the HTTP threads.
 * Answers are gzip'd for clients that accept it (gzip.h), and the memory of answers not
 * yet sent is bounded (max_unsent_bytes). */
#ifndef WALKREC_HTTP_H
#define WALKREC_HTTP_H

#include "walkrec/config.h"
#include "walkrec/rest.h"
#include "walkrec/util.h"

typedef struct wr_http wr_http;

/* Listens on cfg->bind:cfg->port and serves in cfg->threads threads; cfg and svc must
 * outlive the server. NULL with err set when the address cannot be bound or the server not
 * started. */
wr_http *http_start(const wr_config *cfg, const wr_service *svc, wr_err *err);
/* The port actually bound (differs from cfg->port when that is 0). */
unsigned http_port(const wr_http *h);
/* Reads read_keys_file again (SIGHUP); on error the keys before stay, and it is logged. */
void http_reload_keys(wr_http *h);
/* Stops accepting connections, gives requests in flight up to grace seconds to finish,
 * then closes every connection and frees the server. NULL is fine. */
void http_stop(wr_http *h, unsigned grace);

#endif
