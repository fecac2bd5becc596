/* http.c - the one file that knows libmicrohttpd: options, bodies, limits, access, CORS,
 * ETags and request metrics. Routes and handlers are api.h's; requests and replies
 * rest.h's.
 *
 * The server runs MHD's own threads (a pool over epoll). MHD calls on_request several
 * times per request: first with the headers (per-request state is made, an announced body
 * over max_body_bytes is refused at once), then once per chunk of body (collected into a
 * buffer capped at max_body_bytes; past it the rest is read and dropped), then once with
 * no data, when the request is dispatched. on_completed runs when the response is sent
 * or the connection dies; it times the request and frees its state.
 *
 * Paths and query strings reach us still percent-encoded (keep_escaped): MHD would
 * otherwise decode %2F before routing, and ids may contain '/' or ','. The {id} segment
 * is decoded here, the query parameters by the handlers that read them.
 *
 * One framing of every request: MHD 0.9.75 takes a second Content-Length, Content-Length
 * beside Transfer-Encoding, blanks before a colon, a NUL in the target and a second Host,
 * and waits for the body of a transfer coding it does not know. Before any handler runs,
 * misframed() refuses all of these with a closed connection, and chunked bodies too (411:
 * MHD answers a chunk line longer than its buffer with a 500 of its own, which no callback
 * sees). The target is seen twice: whole by on_uri (before MHD splits the query off and
 * parses it), then cut at the first NUL as the URL; a query of more than WR_QUERY_MAX
 * parameters is hidden from MHD's parser in on_uri (it would run out of connection memory
 * and never answer) and refused with 400. docs/reliability.md says what MHD's parse leaves
 * unseen.
 *
 * Who may do what (the token, cors_origins, writes from other sites' pages, wrong tokens
 * by client address) is access.h's, asked with the headers' values.
 *
 * Slow clients: MHD's connection_timeout only closes silent connections, so one that sends
 * a byte now and then (slowloris) would hold its slot for ever. Every connection is listed
 * (MHD's connection notifications) with the time it opened or last answered; a reaper
 * thread shuts down the socket of any whose next request has not arrived whole within
 * request_timeout. MHD tells us a connection closed before it closes the descriptor, and
 * both sides hold the list's lock, so the reaper never touches a reused descriptor.
 *
 * Heavy requests: a handler that needs an exact scan, or answers many neighbours, answers
 * `heavy` instead (api.c). Such a request takes a place on the scan pool (pool.h), its
 * connection is suspended (MHD polls it no more) and a pool thread runs the handler again,
 * in a read section of its own, serialises and compresses the answer, and resumes the
 * connection; MHD then calls on_request once more, which queues the answer. So the HTTP
 * threads only ever run short handlers: a connection is bound to one MHD thread, and a
 * thread busy with a long scan would stall every other connection it polls. With every
 * place of the pool taken, the request gets 503 busy with Retry-After.
 *
 * Answers: gzip'd when the client accepts it and they are WR_GZIP_MIN bytes or more
 * (gzip.h), with a weak ETag then (the bytes differ from the identity answer's). An
 * answer counts in `unsent` from its queueing to its request's completion; one over
 * UNSENT_SMALL bytes that would take unsent past max_unsent_bytes is replaced by 503 busy,
 * so clients that never read cannot pile answers up in memory.
 *
 * Shutdown: stop listening (MHD_quiesce_daemon), wait for requests in flight up to the
 * grace period, run what the scan pool still holds (answering 503 once the grace is over)
 * and resume its connections, then MHD_stop_daemon closes what is left. */
#include "walkrec/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "walkrec/access.h"
#include "walkrec/api.h"
#include "walkrec/dict.h"
#include "walkrec/gzip.h"
#include "walkrec/live.h"
#include "walkrec/metrics.h"
#include "walkrec/pool.h"
#include "walkrec/text.h"

static const char **route_names; /* metrics' names of the routes, "unmatched" last */
static size_t nroutes;          /* the metrics slot of requests no route took */

/* A client connection (MHD's socket context), listed from its opening to its closing.
 * `waiting` (atomic): no request is being handled; `since` (atomic, ms): when it opened or
 * its last response was sent. */
typedef struct conn {
    struct conn *prev, *next;
    int fd;
    int waiting;
    int64_t since;
} conn;

struct wr_http {
    struct MHD_Daemon *d;
    const wr_config *cfg;
    const wr_service *svc;
    int fd;             /* listening socket (ours: MHD was given it) */
    unsigned port;
    wr_access *access;  /* the token, cors_origins, wrong tokens by address */
    int stopping;       /* atomic: responses ask clients to close (1); the grace period
                           is over, jobs left on the scan pool answer 503 (2) */
    long inflight;      /* atomic: requests between first call and completion */
    wr_pool *pool;      /* the scan pool: heavy requests */
    uint64_t unsent;    /* atomic: bytes of answers queued, their requests not complete */
    pthread_mutex_t lock; /* conns and the reaper's sleep */
    pthread_cond_t wake;
    conn *conns;
    pthread_t reaper;
    int reaping;        /* the reaper runs (request_timeout > 0); under lock */
};

/* Most query parameters a request may carry; no route reads more than a handful. */
#define WR_QUERY_MAX 100

/* A heavy request on the scan pool: what its handler needs, kept while the connection is
 * suspended (the query values stay in MHD's memory of the connection). */
typedef struct job {
    wr_http *h;
    struct MHD_Connection *c;
    const wr_route *rt;
    wr_request rq;
    wr_param *params;   /* owned, as the id */
    char *id;
    wr_reply rp;
} job;

/* Per-request state (MHD's con_cls). */
typedef struct req {
    double start;
    size_t route;       /* index in api_routes, nroutes before routing or when none fits */
    int method;
    char *body;
    size_t len, cap;
    int over;           /* the body went past max_body_bytes */
    int seen;           /* the headers were checked (the first call of on_request) */
    int close;          /* the answer closes the connection */
    size_t target_len;  /* bytes of the target before a NUL, as on_uri saw it */
    size_t nparams;     /* query parameters, when over WR_QUERY_MAX (else 0) */
    unsigned retry_after; /* seconds, for a 429 */
    unsigned status;    /* 0 until a response is queued */
    int gzip;           /* the client accepts gzip */
    job *job;           /* on the scan pool, or NULL */
    int done;           /* atomic: the pool ran the job, its answer is in out */
    char *out;          /* the answer's bytes once encoded (owned until queued) */
    size_t out_len;
    int encoded, gzipped;
    uint64_t unsent;    /* bytes counted in unsent until completion */
} req;

/* Answers up to this size are always sent: unsent bounds the large ones. */
#define UNSENT_SMALL (64 * 1024)

/* ---- connections and the reaper of slow requests ---- */

static int64_t now_ms(void) { return (int64_t)(wr_now() * 1000); }

/* The connection's request was dispatched (0), or its response sent (1): its next request
 * is due within request_timeout from now. */
static void set_waiting(struct MHD_Connection *c, int waiting)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn *k = ci ? ci->socket_context : NULL;
    if (!k)
        return;
    if (waiting)
        __atomic_store_n(&k->since, now_ms(), __ATOMIC_RELAXED);
    __atomic_store_n(&k->waiting, waiting, __ATOMIC_RELEASE);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    wr_http *h = cls;
    conn *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k = xcalloc(1, sizeof *k);
        k->fd = ci ? ci->connect_fd : -1;
        k->waiting = 1;
        k->since = now_ms();
        pthread_mutex_lock(&h->lock);
        k->next = h->conns;
        if (h->conns)
            h->conns->prev = k;
        h->conns = k;
        pthread_mutex_unlock(&h->lock);
        *socket_context = k;
        metrics_connection(1);
    } else if (k) { /* closed: MHD closes the descriptor after this returns */
        pthread_mutex_lock(&h->lock);
        if (k->prev)
            k->prev->next = k->next;
        else
            h->conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        pthread_mutex_unlock(&h->lock);
        free(k);
        *socket_context = NULL;
        metrics_connection(-1);
    }
}

/* Once a second: shuts down connections whose request is overdue. MHD then sees the socket
 * end, closes it and tells on_connection. */
static void *reap(void *arg)
{
    wr_http *h = arg;
    int64_t limit = (int64_t)h->cfg->request_timeout * 1000;
    pthread_mutex_lock(&h->lock);
    while (h->reaping) {
        int64_t now = now_ms();
        for (conn *k = h->conns; k; k = k->next)
            if (__atomic_load_n(&k->waiting, __ATOMIC_ACQUIRE) &&
                now - __atomic_load_n(&k->since, __ATOMIC_RELAXED) > limit && k->fd >= 0) {
                shutdown(k->fd, SHUT_RDWR);
                __atomic_store_n(&k->waiting, 0, __ATOMIC_RELAXED);
                metrics_connection(0);
            }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&h->wake, &h->lock, &ts);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* The descriptors connection_limit needs, with room for the daemon's own files: raises the
 * soft limit up to the hard one; returns how many connections fit. */
static unsigned fit_descriptors(unsigned want)
{
    const rlim_t spare = 128;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return want;
    rlim_t need = (rlim_t)want + spare;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return want;
    unsigned fit = rl.rlim_cur > 2 * spare ? (unsigned)(rl.rlim_cur - spare) : 1;
    wr_log("connection_limit %u needs %llu descriptors, the hard limit (ulimit -Hn) is %llu: "
           "taking at most %u connections", want, (unsigned long long)need,
           (unsigned long long)rl.rlim_max, fit);
    return fit;
}

/* ---- responses ---- */

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* CORS headers, and Vary: Origin when the answer depends on the origin, Accept-Encoding
 * when on that (by_encoding). */
static void add_cors(const wr_http *h, struct MHD_Response *resp, const char *origin,
                     int by_encoding)
{
    int by_origin = access_by_origin(h->access);
    if (by_origin || by_encoding)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
                                !by_encoding ? "Origin"
                                : by_origin  ? "Origin, Accept-Encoding"
                                             : "Accept-Encoding");
    if (!origin)
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", "ETag");
}

/* What the dashboard (the only page) may do: run its own script and style sheet, call this
 * server, draw inline SVG; nothing inline in the markup, nothing from elsewhere, no
 * framing. */
#define PAGE_POLICY                                                                           \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "            \
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* The reply's body into q->out (rest_encode). */
static void encode(req *q, wr_reply *rp)
{
    q->out = rest_encode(rp, q->gzip, &q->out_len, &q->gzipped);
    q->encoded = 1;
}

/* Counts an answer of len bytes in unsent; 0 when it would go past max_unsent_bytes (only
 * answers over UNSENT_SMALL are refused). */
static int count_unsent(wr_http *h, req *q, size_t len)
{
    uint64_t before = __atomic_fetch_add(&h->unsent, len, __ATOMIC_RELAXED);
    if (len > UNSENT_SMALL && before + len > h->cfg->max_unsent_bytes) {
        __atomic_fetch_sub(&h->unsent, len, __ATOMIC_RELAXED);
        return 0;
    }
    q->unsent = len;
    return 1;
}

static void busy_unsent(const wr_http *h, wr_reply *rp)
{
    rest_reply_error(rp, WR_E_BUSY, "answers not yet read by their clients hold the memory "
                     "allowed for them (max_unsent_bytes, %llu bytes): try again later",
                     (unsigned long long)h->cfg->max_unsent_bytes);
}

/* Encodes the reply (after the read section) unless the pool did, adds the headers and
 * queues it. */
static enum MHD_Result send_reply(wr_http *h, struct MHD_Connection *c, req *q, wr_reply *rp,
                                  const char *allow)
{
    char tag[WR_ETAG_MAX + 2]; /* room for W/ */
    const char *ctype = !rp->json && rp->content_type ? rp->content_type : "application/json";
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    rest_etag(rp, tag, WR_ETAG_MAX);
    if (rp->status == 200 && *tag && inm && (q->method == WR_M_GET || q->method == WR_M_HEAD) &&
        rest_etag_matches(inm, tag)) {
        rp->status = 304;
        free(q->out); /* the pool's work, not sent */
        q->out = NULL;
        q->out_len = 0;
        q->encoded = 1;
        q->gzipped = 0;
    }
    if (!q->encoded) {
        q->gzip = gzip_accepted(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_ACCEPT_ENCODING));
        encode(q, rp);
    }
    if (!count_unsent(h, q, q->out_len)) {
        free(q->out);
        *tag = 0;
        busy_unsent(h, rp);
        ctype = "application/json";
        encode(q, rp);
        count_unsent(h, q, q->out_len);
    }
    unsigned status = rp->status;
    free(rp->text); /* left over when not sent (304) */
    json_decref(rp->json);
    rp->json = NULL;
    rp->text = NULL;
    char *body = q->out;
    q->out = NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(q->out_len, body,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (*tag && q->gzipped) { /* weak: the bytes differ from the identity answer's */
        memmove(tag + 2, tag, strlen(tag) + 1);
        memcpy(tag, "W/", 2);
    }
    if (status != 304 && status != 204)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (q->gzipped)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (!strncmp(ctype, "text/html", 9))
        MHD_add_response_header(resp, "Content-Security-Policy", PAGE_POLICY);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (*tag) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, tag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    }
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"walkrecd\"");
    if (status == 429) {
        char s[16];
        snprintf(s, sizeof s, "%u", q->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, s);
    }
    /* the answers that may be gzip'd depend on Accept-Encoding */
    add_cors(h, resp, access_cors_origin(h->access, header(c, "Origin")),
             q->gzipped || q->out_len >= WR_GZIP_MIN || status == 304);
    if (q->close || __atomic_load_n(&h->stopping, __ATOMIC_RELAXED))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    q->status = status;
    return ret;
}

/* OPTIONS: the methods of the path, and the CORS preflight answer when the origin may. */
static enum MHD_Result preflight(wr_http *h, struct MHD_Connection *c, req *q, const wr_route *rt)
{
    char allow[64];
    api_allow(rt, allow, sizeof allow);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    const char *origin = access_cors_origin(h->access, header(c, "Origin"));
    add_cors(h, resp, origin, 0);
    if (origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", allow);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, If-None-Match");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
    enum MHD_Result ret = MHD_queue_response(c, 204, resp);
    MHD_destroy_response(resp);
    q->status = 204;
    return ret;
}

typedef struct params {
    wr_param *v;
    size_t n, cap;
} params;

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    params *p = cls;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (wr_param){key, value ? value : ""};
    return MHD_YES;
}

/* Runs the route inside a read section of the published snapshot (writers outside one). */
static void call(const wr_route *rt, const wr_request *rq, wr_reply *rp)
{
    if (api_unlocked(rt, rq->method)) {
        api_call(rt, rq, NULL, rp);
        return;
    }
    api_call(rt, rq, live_acquire(), rp);
    live_release();
}

/* Who may make the call (api.h): the route's access, WR_ADMIN for writes. */
static int access_of(const wr_route *rt, int method)
{
    return api_writes(rt, method) ? WR_ADMIN : rt->access;
}

/* 1 when the call needs a token. */
static int needs_token(const wr_http *h, int access)
{
    return access == WR_READ ? h->cfg->protect_reads : access == WR_ADMIN && h->cfg->admin_token;
}

static int client_addr(struct MHD_Connection *c, unsigned char a[16])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return access_addr(ci ? ci->client_addr : NULL, a);
}

/* ---- heavy requests on the scan pool ---- */

/* A pool thread: the handler again, allowed to scan, in a read section of its own; the
 * answer encoded here; then the connection resumed, after which the job's memory is MHD's
 * thread's again (on_request queues the answer, on_completed frees the job). */
static void run_job(void *arg)
{
    req *q = arg;
    job *j = q->job;
    if (__atomic_load_n(&j->h->stopping, __ATOMIC_RELAXED) > 1)
        rest_reply_error(&j->rp, WR_E_BUSY, "the server is shutting down");
    else
        call(j->rt, &j->rq, &j->rp);
    encode(q, &j->rp);
    __atomic_store_n(&q->done, 1, __ATOMIC_RELEASE);
    MHD_resume_connection(j->c);
}

/* Hands a heavy request to the scan pool (taking pv, its parameters, and id) and suspends its
 * connection; 503 busy when every place of the pool is taken or unread answers fill
 * max_unsent_bytes. */
static enum MHD_Result defer(wr_http *h, struct MHD_Connection *c, req *q, const wr_route *rt,
                             const wr_request *rq, wr_param *pv, char *id)
{
    wr_reply rp = {0};
    if (__atomic_load_n(&h->unsent, __ATOMIC_RELAXED) >= h->cfg->max_unsent_bytes) {
        busy_unsent(h, &rp);
    } else if (pool_reserve(h->pool) < 0) {
        rest_reply_error(&rp, WR_E_BUSY, "every scan thread is busy and %u requests wait for "
                         "one (scan_threads %u, scan_queue %u): try again later",
                         h->cfg->scan_queue, h->cfg->scan_threads, h->cfg->scan_queue);
    } else {
        job *j = xcalloc(1, sizeof *j);
        *j = (job){h, c, rt, *rq, pv, id, {0}};
        j->rq.pooled = 1;
        q->job = j;
        q->gzip = gzip_accepted(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_ACCEPT_ENCODING));
        MHD_suspend_connection(c);
        pool_submit(h->pool, run_job, q);
        return MHD_YES;
    }
    free(pv);
    free(id);
    return send_reply(h, c, q, &rp, NULL);
}

static void job_free(job *j)
{
    if (!j)
        return;
    rest_reply_free(&j->rp);
    free(j->params);
    free(j->id);
    free(j);
}

static enum MHD_Result dispatch(wr_http *h, struct MHD_Connection *c, req *q, const char *url)
{
    const char *raw_id, *path = rest_origin_form(url);
    size_t raw_len, nr;
    wr_reply rp = {0};
    char allow[64], why[320], *id = NULL;
    set_waiting(c, 0); /* the request is in: no longer subject to request_timeout */
    if (!path) {
        rest_reply_error(&rp, WR_E_BAD_REQUEST, "request target: expected /path or "
                         "http://host/path, got %.200s", url);
        return send_reply(h, c, q, &rp, NULL);
    }
    const wr_route *rt = api_route(path, &raw_id, &raw_len);
    if (!rt) {
        rest_reply_error(&rp, WR_E_NOT_FOUND, "no such route: %.200s", path);
        return send_reply(h, c, q, &rp, NULL);
    }
    q->route = (size_t)(rt - api_routes(&nr));
    if (q->method == WR_M_OPTIONS)
        return preflight(h, c, q, rt);
    wr_request rq = {.method = q->method, .body = q->body, .body_len = q->len, .cfg = h->cfg,
                     .svc = h->svc};
    if (!api_handler(rt, q->method)) {
        api_allow(rt, allow, sizeof allow);
        rest_reply_error(&rp, WR_E_METHOD, "%s takes %s", rt->path, allow);
        return send_reply(h, c, q, &rp, allow);
    }
    const char *auth = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    int token = access_bearer(h->access, auth), who_may = access_of(rt, q->method);
    int key = token == 1 || who_may != WR_READ ? -1 : access_read_key(h->access, auth);
    if (needs_token(h, who_may)) {
        unsigned char addr[16];
        int known = client_addr(c, addr) == 0;
        if (known && (q->retry_after = access_wait(h->access, addr, wr_now()))) {
            rest_reply_error(&rp, WR_E_TOO_MANY, "more than %u wrong tokens from this address "
                             "within %u s (auth_failures, auth_failure_window): try again in "
                             "%u s", h->cfg->auth_failures, h->cfg->auth_failure_window,
                             q->retry_after);
            return send_reply(h, c, q, &rp, NULL);
        }
        if (token != 1 && key <= 0) {
            int sent = token == 0 || key == 0;
            if (sent && known)
                access_failed(h->access, addr, wr_now());
            const char *who = who_may == WR_READ ? "a read key or the admin token"
                                                 : "the admin token";
            if (sent) /* said apart from a missing one; never which part was wrong */
                rest_reply_error(&rp, WR_E_UNAUTHORIZED, "%s: the bearer token sent is not "
                                 "%s", rt->path, who);
            else
                rest_reply_error(&rp, WR_E_UNAUTHORIZED, "%s needs the header Authorization: "
                                 "Bearer <%s>", rt->path, who);
            return send_reply(h, c, q, &rp, NULL);
        }
        if (key > 0)
            metrics_read_key(key);
    }
    /* A follower takes no write whatever its body: where to send it comes first. */
    if (api_refuse_follower(rt, &rq, &rp))
        return send_reply(h, c, q, &rp, NULL);
    if (api_writes(rt, q->method) && token != 1 &&
        access_foreign_write(h->access, header(c, "Sec-Fetch-Site"), header(c, "Origin"),
                             header(c, "Host"), header(c, MHD_HTTP_HEADER_CONTENT_TYPE), why,
                             sizeof why)) {
        rest_reply_error(&rp, WR_E_FORBIDDEN, "%s", why);
        return send_reply(h, c, q, &rp, NULL);
    }
    if (q->over) {
        rest_reply_error(&rp, WR_E_TOO_LARGE, "request body over %llu bytes (max_body_bytes)",
                         (unsigned long long)h->cfg->max_body_bytes);
        return send_reply(h, c, q, &rp, NULL);
    }
    if ((q->method == WR_M_POST || q->method == WR_M_PATCH) &&
        !access_json_or_none(header(c, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        rest_reply_error(&rp, WR_E_MEDIA_TYPE, "bodies are JSON: send Content-Type: "
                         "application/json (curl --json) or none");
        return send_reply(h, c, q, &rp, NULL);
    }
    if (raw_id) {
        long n = -1;
        if (raw_len <= 3 * WR_ID_MAX) {
            id = xmalloc(raw_len + 1);
            n = rest_decode(raw_id, raw_len, 0, id);
        }
        if (n <= 0 || n > WR_ID_MAX) {
            rest_reply_error(&rp, WR_E_BAD_REQUEST,
                             n < 0 && raw_len <= 3 * WR_ID_MAX
                                 ? "item id: bad percent-encoding or invalid UTF-8"
                                 : "item id: expected 1 to %d bytes",
                             WR_ID_MAX);
            free(id);
            return send_reply(h, c, q, &rp, NULL);
        }
        rq.id = id;
        rq.id_len = (size_t)n;
    }
    params p = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, &p);
    rq.query = p.v;
    rq.nquery = p.n;
    call(rt, &rq, &rp);
    if (rp.heavy)
        return defer(h, c, q, rt, &rq, p.v, id);
    free(p.v);
    free(id);
    return send_reply(h, c, q, &rp, NULL);
}

/* ---- MHD callbacks ---- */

typedef struct frame {
    unsigned lengths, codings, hosts;
    const char *coding;  /* the Transfer-Encoding */
    const char *problem; /* the first header refused */
} frame;

static enum MHD_Result tally(void *cls, enum MHD_ValueKind kind, const char *key,
                             const char *value)
{
    frame *f = cls;
    if (!f->problem)
        f->problem = rest_header_problem(key, value);
    f->lengths += !strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH);
    f->hosts += !strcasecmp(key, MHD_HTTP_HEADER_HOST);
    if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->codings++;
        f->coding = value ? value : "";
    }
    return MHD_YES;
}

/* 1 with an error reply when the request's framing or headers are refused (see the top of
 * the file), else 0. */
static int misframed(const wr_http *h, struct MHD_Connection *c, const req *q,
                     const char *url, const char *version, wr_reply *rp)
{
    frame f = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, tally, &f);
    /* MHD keeps the request line in one buffer: the version starts after the whole target,
     * which strlen(url) ends at its first NUL */
    size_t whole = version && *version && version > url &&
                           (uint64_t)(version - url) <= h->cfg->connection_memory_limit
                       ? (size_t)(version - url - 1)
                       : q->target_len;
    if (q->target_len < whole)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "a NUL byte in the request target");
    else if (f.problem)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "%s", f.problem);
    else if (f.hosts > 1)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "Host given %u times", f.hosts);
    else if (f.lengths > 1)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "Content-Length given %u times", f.lengths);
    else if (f.lengths && f.codings)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
    else if (f.codings && (f.codings > 1 || strcasecmp(f.coding, "chunked")))
        rest_reply_error(rp, WR_E_NOT_IMPLEMENTED, "Transfer-Encoding %.100s: request bodies "
                         "come with Content-Length", f.coding);
    else if (f.codings)
        rest_reply_error(rp, WR_E_LENGTH_REQUIRED, "chunked request bodies are not taken: "
                         "send Content-Length");
    else if (q->nparams)
        rest_reply_error(rp, WR_E_BAD_REQUEST, "%zu query parameters: at most %d",
                         q->nparams, WR_QUERY_MAX);
    else
        return 0;
    return 1;
}

static req *req_new(wr_http *h)
{
    req *q = xcalloc(1, sizeof *q);
    q->start = wr_now();
    q->route = nroutes;
    __atomic_fetch_add(&h->inflight, 1, __ATOMIC_RELAXED);
    return q;
}

/* The whole request target, before MHD parses its query: its per-request state starts
 * here (MHD passes it on as con_cls, and calls on_completed for it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    req *q = req_new(cls);
    q->target_len = strlen(uri);
    size_t n = rest_query_count(uri);
    if (n > WR_QUERY_MAX) {
        q->nparams = n;
        /* MHD parses the query after this returns, as a string from after the '?': ended
         * there, it holds no parameter. The target is in MHD's own writable buffer. */
        strchr((char *)uri, '?')[1] = 0;
    }
    return q;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    wr_http *h = cls;
    req *q = *con_cls;
    if (!q) { /* on_uri was not called */
        q = req_new(h);
        q->target_len = strlen(url);
        *con_cls = q;
    }
    if (!q->seen) {
        q->seen = 1;
        q->method = metrics_method(method);
        wr_reply rp = {0};
        if (misframed(h, c, q, url, version, &rp)) {
            set_waiting(c, 0);
            q->close = 1;
            return send_reply(h, c, q, &rp, NULL);
        }
        /* An announced body that is too large is refused before it is read. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t n;
        if (cl && text_parse_u64(cl, &n) == 0 && n > h->cfg->max_body_bytes) {
            q->over = 1;
            return dispatch(h, c, q, url);
        }
        return MHD_YES;
    }
    if (q->job && __atomic_load_n(&q->done, __ATOMIC_ACQUIRE)) /* resumed: the pool answered */
        return send_reply(h, c, q, &q->job->rp, NULL);
    if (*upload_data_size) {
        size_t n = *upload_data_size, max = h->cfg->max_body_bytes;
        *upload_data_size = 0;
        if (q->over || q->len + n > max) {
            q->over = 1;
            return MHD_YES;
        }
        if (q->len + n + 1 > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n + 1)
                cap *= 2;
            q->body = xrealloc(q->body, cap);
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload_data, n);
        q->len += n;
        q->body[q->len] = 0;
        return MHD_YES;
    }
    return dispatch(h, c, q, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    wr_http *h = cls;
    req *q = *con_cls;
    if (!q)
        return;
    if (q->status)
        metrics_request(q->route, q->method, q->status, wr_now() - q->start);
    set_waiting(c, 1);
    __atomic_fetch_sub(&h->unsent, q->unsent, __ATOMIC_RELAXED);
    job_free(q->job);
    free(q->out);
    free(q->body);
    free(q);
    *con_cls = NULL;
    __atomic_fetch_sub(&h->inflight, 1, __ATOMIC_RELAXED);
}

/* Leaves the URL and query strings percent-encoded (see the top of the file). */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s) { return strlen(s); }

/* MHD's messages, at most LOG_BURST per minute: a flood of refused connections must not
 * fill the disk with the same line. The count left out is said with the next one let
 * through. */
#define LOG_BURST 20
static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static double window;
    static unsigned said, dropped;
    pthread_mutex_lock(&lock);
    double now = wr_now();
    if (now - window >= 60) {
        window = now;
        said = 0;
    }
    if (said < LOG_BURST) {
        said++;
        if (dropped)
            fprintf(stderr, "walkrecd: http: (%u earlier messages left out)\n",
                    dropped);
        dropped = 0;
        fputs("walkrecd: http: ", stderr);
        vfprintf(stderr, fmt, ap);
    } else {
        dropped++;
    }
    pthread_mutex_unlock(&lock);
}

/* ---- start and stop ---- */

static int listen_on(wr_http *h, const char *addr, unsigned port, wr_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof *v6;
    } else {
        return wr_fail(err, "bind: '%s' is not an IPv4 or IPv6 address", addr);
    }
    int one = 1, fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wr_fail(err, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        wr_fail(err, "cannot listen on %s port %u: %s", addr, port, strerror(errno));
        close(fd);
        return -1;
    }
    h->fd = fd;
    h->port = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
    return ss.ss_family == AF_INET6;
}

static void http_free(wr_http *h)
{
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->wake);
    access_free(h->access);
    free(h);
}

wr_http *http_start(const wr_config *cfg, const wr_service *svc, wr_err *err)
{
    wr_http *h = xcalloc(1, sizeof *h);
    h->cfg = cfg;
    h->svc = svc;
    h->fd = -1;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    h->access = access_new(cfg);
    size_t nkeys;
    if (access_load_keys(h->access, &nkeys, err) < 0) {
        http_free(h);
        return NULL;
    }
    if (*cfg->read_keys_file)
        wr_log("read keys: %zu from %s", nkeys, cfg->read_keys_file);
    int v6 = listen_on(h, cfg->bind, cfg->port, err);
    if (v6 < 0) {
        http_free(h);
        return NULL;
    }
    const wr_route *routes = api_routes(&nroutes);
    free(route_names);
    route_names = xmalloc((nroutes + 1) * sizeof *route_names);
    for (size_t i = 0; i < nroutes; i++)
        route_names[i] = routes[i].path;
    route_names[nroutes] = "unmatched";
    metrics_init(nroutes + 1, route_names);

    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, NULL}, /* first, to catch all */
        {MHD_OPTION_LISTEN_SOCKET, h->fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, fit_descriptors(cfg->connection_limit), NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->connection_limit_per_ip, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h},
        /* HTTP/1.1 without Host, spaces in the request target: 400 */
        {MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cfg->connection_memory_limit, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)keep_escaped, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, h},
        /* One thread is MHD's internal polling thread itself, without a pool. */
        {cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, cfg->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    h->pool = pool_start(cfg->scan_threads, cfg->scan_queue);
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
    if (!h->d) {
        wr_fail(err, "cannot start the HTTP server (see the message above)");
        pool_stop(h->pool);
        pool_free(h->pool);
        close(h->fd);
        metrics_free();
        http_free(h);
        return NULL;
    }
    if (cfg->request_timeout) {
        h->reaping = 1;
        if (pthread_create(&h->reaper, NULL, reap, h)) {
            fprintf(stderr, "walkrecd: cannot start a thread\n");
            abort();
        }
    }
    return h;
}

unsigned http_port(const wr_http *h) { return h->port; }

void http_reload_keys(wr_http *h)
{
    wr_err err;
    size_t n;
    if (!*h->cfg->read_keys_file)
        return;
    if (access_load_keys(h->access, &n, &err) < 0)
        wr_log("SIGHUP: %s; the read keys before stay", err.msg);
    else
        wr_log("SIGHUP: read keys: %zu from %s", n, h->cfg->read_keys_file);
}

void http_stop(wr_http *h, unsigned grace)
{
    if (!h)
        return;
    __atomic_store_n(&h->stopping, 1, __ATOMIC_RELAXED);
    /* MHD no longer polls the socket it hands back; closing it makes new clients see a
     * refused connection rather than wait in the backlog of a server that is going away. */
    MHD_socket fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    double end = wr_now() + grace;
    while (__atomic_load_n(&h->inflight, __ATOMIC_RELAXED) > 0 && wr_now() < end)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    /* MHD must not stop with a connection suspended: the pool runs what it holds, each
     * job resuming its connection, and takes no more. */
    __atomic_store_n(&h->stopping, 2, __ATOMIC_RELAXED);
    pool_stop(h->pool);
    pthread_mutex_lock(&h->lock);
    int reaping = h->reaping;
    h->reaping = 0;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    if (reaping)
        pthread_join(h->reaper, NULL);
    MHD_stop_daemon(h->d);
    pool_free(h->pool);
    metrics_free();
    free(route_names);
    route_names = NULL;
    http_free(h);
}
