/* fuzz_url.c - URL paths and query strings: routing, the {id} segment, percent-decoding
 * (rest_decode) and every handler's parsing of its query parameters.
 *
 * The input is a request target "path?query". It goes the way http.c's dispatch() takes a
 * request, minus libmicrohttpd: api_route(), the {id} segment decoded with the same
 * limits, the query split into parameters as libmicrohttpd 0.9.75 splits it (at '&', then
 * at the first '=', '+' turned into ' ', nothing percent-decoded: keep_escaped), then the
 * route's GET handler (its POST handler, body-less, for POST-only routes; PUT or DELETE
 * when the input starts "PUT " or "DELETE ") through api_call(), on the published fixture
 * snapshot. The replies must pass daemon_check_reply.
 * rest_decode and rest_etag_matches also get the raw input. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz.h"
#include "walkrec/live.h"
#include "walkrec/metrics.h"
#include "walkrec/text.h"

static const wr_config *cfg;
static const wr_service *svc;

typedef struct params {
    wr_param *v;
    size_t n, cap;
} params;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cfg = daemon_start(&svc);
    size_t n;
    const wr_route *routes = api_routes(&n);
    static const char *names[64];
    for (size_t i = 0; i < n && i < 63; i++) /* as http_start() does, for GET /metrics */
        names[i] = routes[i].path;
    names[n] = "unmatched";
    metrics_init(n + 1, names);
    return 0;
}

/* rest_decode's promise: -1, or a NUL-terminated string of valid UTF-8 without NUL bytes,
 * no longer than its input. */
static void check_decode(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    for (int plus = 0; plus <= 1; plus++) {
        long n = rest_decode(s, len, plus, out);
        if (n < -1 || n > (long)len)
            fuzz_bug("rest_decode: %ld bytes out of %zu", n, len);
        if (n >= 0 && (out[n] || memchr(out, 0, (size_t)n) || !text_utf8_valid(out, (size_t)n)))
            fuzz_bug("rest_decode: %ld bytes that are not a clean string", n);
    }
    free(out);
}

static void add_param(params *p, char *key, char *value)
{
    for (char *c = key; *c; c++)
        *c = *c == '+' ? ' ' : *c;
    for (char *c = value; c && *c; c++)
        *c = *c == '+' ? ' ' : *c;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (wr_param){key, value ? value : ""};
}

/* libmicrohttpd's MHD_parse_arguments_(): "k=v&k2&k3=v3" in place. */
static void split_query(char *q, params *p)
{
    while (q && *q) {
        char *amp = strchr(q, '&'), *eq = strchr(q, '=');
        if (amp)
            *amp++ = 0;
        if (eq && (!amp || eq < amp)) {
            *eq = 0;
            add_param(p, q, eq + 1);
        } else {
            add_param(p, q, NULL);
        }
        q = amp;
    }
}

static void serve(int method, const char *url, char *query, const char *what)
{
    const char *raw_id;
    size_t raw_len;
    wr_reply rp = {0};
    char *id = NULL;
    const wr_route *rt = api_route(url, &raw_id, &raw_len);
    if (!rt) {
        rest_reply_error(&rp, WR_E_NOT_FOUND, "no such route: %.200s", url);
        daemon_check_reply(&rp, what);
        return;
    }
    if (!method) /* as the route takes it: GET, else body-less POST */
        method = rt->get ? WR_M_GET : WR_M_POST;
    wr_request rq = {.method = method, .cfg = cfg, .svc = svc};
    if (raw_id) { /* as dispatch() */
        long n = -1;
        if (raw_len <= 3 * WR_ID_MAX) {
            id = xmalloc(raw_len + 1);
            n = rest_decode(raw_id, raw_len, 0, id);
        }
        if (n <= 0 || n > WR_ID_MAX) {
            rest_reply_error(&rp, WR_E_BAD_REQUEST, "item id: expected 1 to %d bytes", WR_ID_MAX);
            daemon_check_reply(&rp, what);
            free(id);
            return;
        }
        rq.id = id;
        rq.id_len = (size_t)n;
    }
    params p = {0};
    split_query(query, &p);
    rq.query = p.v;
    rq.nquery = p.n;
    if (api_unlocked(rt, method)) {
        api_call(rt, &rq, NULL, &rp);
    } else {
        api_call(rt, &rq, live_acquire(), &rp);
        live_release();
    }
    if (rp.heavy) { /* http.c runs it again on the scan pool */
        rq.pooled = 1;
        rp.heavy = 0;
        api_call(rt, &rq, live_acquire(), &rp);
        live_release();
    }
    daemon_check_reply(&rp, what);
    free(p.v);
    free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A request line carries no NUL byte: libmicrohttpd ends the target at the first. */
    size_t len = strnlen((const char *)data, size);
    char *url = xmalloc(len + 1);
    memcpy(url, data, len);
    url[len] = 0;
    check_decode(url, len);
    rest_etag_matches(url, "\"7\"");
    /* "PUT " or "DELETE " before the target: that method (the item changes) */
    int method = !strncmp(url, "PUT ", 4) ? WR_M_PUT : !strncmp(url, "DELETE ", 7) ? WR_M_DELETE : 0;
    char *target = url + (method == WR_M_PUT ? 4 : method ? 7 : 0);
    char *query = strchr(target, '?');
    if (query)
        *query++ = 0;
    serve(method, target, query, method ? "PUT or DELETE" : "GET or POST by URL");
    free(url);
    return 0;
}
