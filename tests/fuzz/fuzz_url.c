/* fuzz_url.c - URL paths and query strings: routing, the {id} segment, percent-decoding
 * (http_decode) and every handler's parsing of its query parameters.
 *
 * The input is a request target "path?query". It goes the way http.c's dispatch() takes a
 * request, minus libmicrohttpd: find_route(), the {id} segment decoded with the same
 * limits, the query split into parameters as libmicrohttpd 0.9.75 splits it (at '&', then
 * at the first '=', '+' turned into ' ', nothing percent-decoded: keep_escaped), then the
 * route's GET handler (its POST handler, body-less, for POST-only routes) through call(),
 * on the published fixture index. The replies must pass daemon_check_reply. http_decode
 * and etag_matches also get the raw input. This file includes http.c to reach its static
 * routing functions, so it must track dispatch() when that changes. */
#include "../../src/http.c"

#include "daemon.h"
#include "fuzz.h"
#include "walkrec/text.h"

static const wr_config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cfg = daemon_start();
    for (size_t i = 0; i < NROUTES; i++) /* as http_start() does, for GET /metrics */
        route_names[i] = routes[i].path;
    route_names[UNMATCHED] = "unmatched";
    metrics_init(NROUTES + 1, route_names);
    return 0;
}

/* http_decode's promise: -1, or a NUL-terminated string of valid UTF-8 without NUL bytes,
 * no longer than its input. */
static void check_decode(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    for (int plus = 0; plus <= 1; plus++) {
        long n = http_decode(s, len, plus, out);
        if (n < -1 || n > (long)len)
            fuzz_bug("http_decode: %ld bytes out of %zu", n, len);
        if (n >= 0 && (out[n] || memchr(out, 0, (size_t)n) || !text_utf8_valid(out, (size_t)n)))
            fuzz_bug("http_decode: %ld bytes that are not a clean string", n);
    }
    free(out);
}

static void add_param(params *p, char *key, char *value)
{
    for (char *c = key; *c; c++)
        *c = *c == '+' ? ' ' : *c;
    for (char *c = value; c && *c; c++)
        *c = *c == '+' ? ' ' : *c;
    collect_param(p, MHD_GET_ARGUMENT_KIND, key, value);
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

static void serve(const char *url, char *query, const char *what)
{
    const char *raw_id;
    size_t raw_len;
    wr_reply rp = {0};
    char *id = NULL;
    size_t r = find_route(url, &raw_id, &raw_len);
    if (r == UNMATCHED) {
        reply_error(&rp, WR_E_NOT_FOUND, "no such route: %.200s", url);
        daemon_check_reply(&rp, what);
        return;
    }
    const route *rt = &routes[r];
    wr_handler fn = rt->get ? rt->get : rt->post;
    wr_request rq = {.method = rt->get ? WR_M_GET : WR_M_POST, .cfg = cfg};
    if (raw_id) { /* as dispatch() */
        long n = -1;
        if (raw_len <= 3 * WR_ID_MAX) {
            id = xmalloc(raw_len + 1);
            n = http_decode(raw_id, raw_len, 0, id);
        }
        if (n <= 0 || n > WR_ID_MAX) {
            reply_error(&rp, WR_E_BAD_REQUEST, "item id: expected 1 to %d bytes", WR_ID_MAX);
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
    call(rt, fn, &rq, &rp);
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
    etag_matches(url, "\"7\"");
    char *query = strchr(url, '?');
    if (query)
        *query++ = 0;
    serve(url, query, "GET or POST by URL");
    free(url);
    return 0;
}
