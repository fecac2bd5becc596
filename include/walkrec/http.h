/* http.h - walkrecd's HTTP server (libmicrohttpd) and the request/reply views handlers use.
 *
 * The server routes requests to handlers (api.h), collects bodies into a capped buffer,
 * enforces the limits, answers OPTIONS and CORS, turns a handler's JSON document into a
 * response with an ETag (and 304 for a matching If-None-Match), and counts every request
 * in metrics.h. Handlers never see libmicrohttpd: they get a wr_request and fill a
 * wr_reply, inside a read section of the published index (live.h). */
#ifndef WALKREC_HTTP_H
#define WALKREC_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "walkrec/config.h"
#include "walkrec/index.h"
#include "walkrec/util.h"

/* Error codes of the API: each has one HTTP status and one name for the JSON body
 * {"error": {"code": name, "message": ...}}. */
typedef enum wr_code {
    WR_E_BAD_REQUEST,     /* 400 bad_request: malformed parameter or body */
    WR_E_BATCH_TOO_LARGE, /* 400 batch_too_large: more than max_batch entries */
    WR_E_UNKNOWN_ITEM,    /* 404 unknown_item: the model has no such item */
    WR_E_NOT_FOUND,       /* 404 not_found: no such route */
    WR_E_METHOD,          /* 405 method_not_allowed */
    WR_E_TOO_LARGE,       /* 413 payload_too_large: body over max_body_bytes */
    WR_E_INTERNAL,        /* 500 internal */
    WR_E_NO_MODEL,        /* 503 no_model: nothing published yet */
    WR_E_UNAUTHORIZED,    /* 401 unauthorized: missing or wrong bearer token */
    WR_E_FOLLOWER,        /* 409 follower: writes go to the trainer */
    WR_E_UNKNOWN_GENERATION, /* 404 unknown_generation: no such model file */
    WR_E_UNAVAILABLE,     /* 503 unavailable: the pair log could not store the batch */
    WR_E_MEDIA_TYPE,      /* 415 unsupported_media_type: a body that is not JSON */
} wr_code;

const char *http_code_str(wr_code c);
unsigned http_code_status(wr_code c);

typedef struct wr_param {
    const char *key, *value; /* as received: still percent-encoded */
} wr_param;

/* One request as a handler sees it; everything is borrowed for the handler's call. */
typedef struct wr_request {
    int method;              /* WR_M_* (metrics.h) */
    const char *id;          /* the decoded {id} path segment (UTF-8, no NUL), or NULL */
    size_t id_len;
    const wr_param *query;   /* query parameters in order */
    size_t nquery;
    const char *body;        /* request body (POST), body_len bytes, NUL-terminated */
    size_t body_len;
    const wr_config *cfg;
} wr_request;

/* What a handler answers: a JSON document (or text), a status and, for answers that
 * depend on the model, its generation (ETag). */
typedef struct wr_reply {
    unsigned status;
    json_t *json;             /* owned; serialised after the read section ends */
    char *text;               /* owned, used when json is NULL (metrics) */
    size_t text_len;
    const char *content_type; /* for text */
    uint64_t generation;      /* 0 = not model-dependent: no ETag */
} wr_reply;

/* reply = status + body (steals body). */
void reply_json(wr_reply *r, unsigned status, json_t *body);
/* reply = the error document for code, message formatted like printf. */
void reply_error(wr_reply *r, wr_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The raw value of the first query parameter named key, or NULL. */
const char *request_param(const wr_request *rq, const char *key);
/* Percent-decodes in[0..len) ('+' is a space when plus_is_space) into out (room for len + 1
 * bytes, NUL-terminated); returns the decoded length, or -1 for a bad escape, a NUL byte
 * or invalid UTF-8. */
long http_decode(const char *in, size_t len, int plus_is_space, char *out);

typedef struct wr_http wr_http;

/* Listens on cfg->bind:cfg->port and serves in cfg->threads threads; cfg must outlive the
 * server. NULL with err set when the address cannot be bound or the server not started. */
wr_http *http_start(const wr_config *cfg, wr_err *err);
/* The port actually bound (differs from cfg->port when that is 0). */
unsigned http_port(const wr_http *h);
/* Stops accepting connections, gives requests in flight up to grace seconds to finish,
 * then closes every connection and frees the server. NULL is fine. */
void http_stop(wr_http *h, unsigned grace);

#endif
