/* rest.h - the request and reply views of walkrecd's REST API, its error codes, and the
 * services the write routes reach: everything a handler sees, without libmicrohttpd.
 *
 * http.c (the only file that knows libmicrohttpd) turns a connection's request into a
 * wr_request and a handler's wr_reply into a response; tests/unit/test_api.c builds both
 * by hand. Errors are {"error": {"code": name, "message": ...}} with the code's status;
 * an error that comes from a file adds "file" and "line" or "offset". */
#ifndef WALKREC_REST_H
#define WALKREC_REST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "walkrec/config.h"
#include "walkrec/util.h"
#include "walkrec/wal.h"

/* Error codes of the API: each has one HTTP status and one name for the JSON body. */
typedef enum wr_code {
    WR_E_BAD_REQUEST,     /* 400 bad_request: malformed parameter or body */
    WR_E_BATCH_TOO_LARGE, /* 400 batch_too_large: more than max_batch entries */
    WR_E_UNKNOWN_ITEM,    /* 404 unknown_item: the model has no such item */
    WR_E_NOT_FOUND,       /* 404 not_found: no such route or file */
    WR_E_METHOD,          /* 405 method_not_allowed */
    WR_E_TOO_LARGE,       /* 413 payload_too_large: body over max_body_bytes */
    WR_E_INTERNAL,        /* 500 internal */
    WR_E_NO_MODEL,        /* 503 no_model: nothing published yet */
    WR_E_UNAUTHORIZED,    /* 401 unauthorized: missing or wrong bearer token */
    WR_E_FOLLOWER,        /* 409 follower: writes go to the trainer */
    WR_E_UNKNOWN_GENERATION, /* 404 unknown_generation: no such model file */
    WR_E_UNAVAILABLE,     /* 503 unavailable: a resource (memory, the log) is short now */
    WR_E_MEDIA_TYPE,      /* 415 unsupported_media_type: a body that is not JSON */
    WR_E_CONFLICT,        /* 409 conflict: not in a state to do that (nothing to roll back) */
    WR_E_IO,              /* 500 io_error: reading or writing a file failed */
    WR_E_CORRUPT,         /* 500 corrupt_file: a file that is not what it claims to be */
    WR_E_FORBIDDEN,       /* 403 forbidden: a write that a page of another site may have sent */
    WR_E_TOO_MANY,        /* 429 too_many_requests: too many wrong tokens from one address */
    WR_E_LENGTH_REQUIRED, /* 411 length_required: a chunked body (Content-Length only) */
    WR_E_NOT_IMPLEMENTED, /* 501 not_implemented: a transfer coding other than chunked */
    WR_E_TOO_COSTLY,      /* 400 too_costly: more exact scans than max_scan_items pays for */
    WR_E_RESPONSE_TOO_LARGE, /* 400 response_too_large: an answer over max_response_bytes */
    WR_E_BUSY,            /* 503 busy: the scan threads and their queue are full, or unread
                             answers hold max_unsent_bytes; with Retry-After */
} wr_code;

const char *rest_code_str(wr_code c);
unsigned rest_code_status(wr_code c);
/* The API code of a library status (util.h): EINVAL 400 bad_request, ENOTFOUND the
 * caller's `not_found` code, ENOMEM and EBUSY 503 unavailable, EIO 500 io_error, ECORRUPT
 * 500 corrupt_file, ESTATE 409 conflict, the rest 500 internal. The one table. */
wr_code rest_code_of(wr_status s, wr_code not_found);

typedef struct wr_param {
    const char *key, *value; /* as received: still percent-encoded */
} wr_param;

/* What the write routes reach: the trainer (retrain.h), as walkrecd wires it; tests give
 * their own. Functions as in retrain.h. */
typedef struct wr_service {
    int follower; /* writes answer 409 naming trainer_url */
    int (*ingest)(const wr_wal_pair *p, size_t n, uint64_t *pos, uint64_t *pending,
                  wr_err *err);
    void (*retrain)(void);
    int (*publish)(uint64_t generation, wr_err *err);
    int (*rollback)(uint64_t *generation, int *queued, wr_err *err);
    int (*submit)(const char *path, wr_err *err);
    json_t *(*status)(void);
    char *(*metrics)(size_t *len); /* Prometheus text, new (free) */
    /* item records of one kind (WR_WAL_HIDE, _UNHIDE, _DELETE, _ATTRS with their data;
     * wal.h) logged, then served; NULL: the item routes answer 409 */
    int (*items)(int kind, const wr_wal_item *it, size_t n, wr_err *err);
} wr_service;

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
    const wr_service *svc;
    int pooled;              /* 1 on the scan pool: heavy work is allowed (see `heavy`) */
} wr_request;

/* What a handler answers: a JSON document (or text), a status and, for answers that
 * depend on the model, what names their content (the ETag, rest_etag). */
typedef struct wr_reply {
    unsigned status;
    json_t *json;             /* owned; serialised after the read section ends */
    char *text;               /* owned, used when json is NULL */
    size_t text_len;
    const char *content_type; /* for text */
    uint64_t generation;      /* 0 = not model-dependent: no ETag */
    uint64_t model_id;        /* the served model's content (index_info()->identity) */
    uint64_t overlay;         /* answers that include provisional items: the snapshot's
                                 version (snapshot.h); else, while items are hidden, the
                                 hidden set's stamp (hidden.h); 0 otherwise */
    int heavy;                /* no answer yet: the request needs an exact scan or answers
                                 many neighbours, and rq->pooled was 0. Call the handler
                                 again with rq->pooled = 1 (http.c does, on the scan pool) */
} wr_reply;

/* reply = status + body (steals body). */
void rest_reply_json(wr_reply *r, unsigned status, json_t *body);
/* reply = the error document for code, message formatted like printf. */
void rest_reply_error(wr_reply *r, wr_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* reply = the error document for a library error: code by rest_code_of, its message, and
 * its file, line and offset when it has them. */
void rest_reply_err(wr_reply *r, const wr_err *e, wr_code not_found);
/* Frees what the reply owns. */
void rest_reply_free(wr_reply *r);
/* The reply's body as bytes (its JSON serialised, or its text taken; a new buffer, free()),
 * gzip'd when gzip is set and it is WR_GZIP_MIN bytes or more (*gzipped then 1). The reply
 * keeps its status (500 when the JSON cannot be serialised) and owns no body afterwards.
 * Any thread: the scan pool encodes the answers it made. */
char *rest_encode(wr_reply *r, int gzip, size_t *len, int *gzipped);

/* The raw value of the first query parameter named key, or NULL. */
const char *rest_param(const wr_request *rq, const char *key);
/* Percent-decodes in[0..len) ('+' is a space when plus_is_space) into out (room for len + 1
 * bytes, NUL-terminated); returns the decoded length, or -1 for a bad escape, a NUL byte
 * or invalid UTF-8. */
long rest_decode(const char *in, size_t len, int plus_is_space, char *out);
/* rest_decode of in[0..len), '+' a space, into a new string (free()); NULL when it is
 * malformed. */
char *rest_decoded(const char *in, size_t len);

/* 1 when an If-None-Match value holds "*" or tag (weakly or strongly). */
int rest_etag_matches(const char *if_none_match, const char *tag);
/* The ETag of a reply into buf (n >= WR_ETAG_MAX): "generation-model_id" in hex, plus
 * "-overlay" when the answer includes provisional items; "" when the reply has no
 * generation. Two answers get one tag only when the generation, the model's content and the
 * overlay are the same. */
#define WR_ETAG_MAX 64
void rest_etag(const wr_reply *r, char *buf, size_t n);

/* ---- request framing and origin (pure functions of header text, for http.c) ---- */

/* Why a request header is refused, or NULL when it is fine: a name that is not an HTTP
 * token (blanks before the colon, the traces of a folded line), a name that starts with
 * Content-Length or Transfer-Encoding and goes on (how libmicrohttpd 0.9.75 joins a folded
 * line to them), CR or LF in the value. */
const char *rest_header_problem(const char *name, const char *value);
/* The path of a request target: the target itself when it starts with '/', the part
 * after the authority of an absolute-form target (http://host/path; "/" when it has none),
 * NULL for anything else. The query is not part of it (libmicrohttpd splits it off). */
const char *rest_origin_form(const char *target);
/* 1 when an Origin header (scheme://host[:port]) names the authority of the Host header
 * (default ports 80 and 443 may be written or not), else 0. */
int rest_same_origin(const char *origin, const char *host);
/* Parameters in the query of a raw request target ('&'-separated fields after '?'). */
size_t rest_query_count(const char *target);

#endif
