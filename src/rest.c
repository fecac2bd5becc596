/* rest.c - replies, parameters and the error-code table of the REST API (rest.h). */
#include "walkrec/rest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "walkrec/gzip.h"
#include "walkrec/text.h"

static const struct {
    const char *name;
    unsigned status;
} codes[] = {
    [WR_E_BAD_REQUEST] = {"bad_request", 400},
    [WR_E_BATCH_TOO_LARGE] = {"batch_too_large", 400},
    [WR_E_UNKNOWN_ITEM] = {"unknown_item", 404},
    [WR_E_NOT_FOUND] = {"not_found", 404},
    [WR_E_METHOD] = {"method_not_allowed", 405},
    [WR_E_TOO_LARGE] = {"payload_too_large", 413},
    [WR_E_INTERNAL] = {"internal", 500},
    [WR_E_NO_MODEL] = {"no_model", 503},
    [WR_E_UNAUTHORIZED] = {"unauthorized", 401},
    [WR_E_FOLLOWER] = {"follower", 409},
    [WR_E_UNKNOWN_GENERATION] = {"unknown_generation", 404},
    [WR_E_UNAVAILABLE] = {"unavailable", 503},
    [WR_E_MEDIA_TYPE] = {"unsupported_media_type", 415},
    [WR_E_CONFLICT] = {"conflict", 409},
    [WR_E_IO] = {"io_error", 500},
    [WR_E_CORRUPT] = {"corrupt_file", 500},
    [WR_E_FORBIDDEN] = {"forbidden", 403},
    [WR_E_TOO_MANY] = {"too_many_requests", 429},
    [WR_E_LENGTH_REQUIRED] = {"length_required", 411},
    [WR_E_NOT_IMPLEMENTED] = {"not_implemented", 501},
    [WR_E_TOO_COSTLY] = {"too_costly", 400},
    [WR_E_RESPONSE_TOO_LARGE] = {"response_too_large", 400},
    [WR_E_BUSY] = {"busy", 503},
};

const char *rest_code_str(wr_code c) { return codes[c].name; }

unsigned rest_code_status(wr_code c) { return codes[c].status; }

wr_code rest_code_of(wr_status s, wr_code not_found)
{
    switch (s) {
    case WR_EINVAL: return WR_E_BAD_REQUEST;
    case WR_ENOTFOUND: return not_found;
    case WR_ENOMEM:
    case WR_EBUSY: return WR_E_UNAVAILABLE;
    case WR_EIO: return WR_E_IO;
    case WR_ECORRUPT: return WR_E_CORRUPT;
    case WR_ESTATE: return WR_E_CONFLICT;
    default: return WR_E_INTERNAL;
    }
}

void rest_reply_json(wr_reply *r, unsigned status, json_t *body)
{
    json_decref(r->json);
    r->status = status;
    r->json = body;
}

void rest_reply_free(wr_reply *r)
{
    json_decref(r->json);
    free(r->text);
    r->json = NULL;
    r->text = NULL;
}

/* Bytes that are not UTF-8 become '?', so a message quoting raw input stays valid JSON. */
static void scrub_utf8(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (i + n > len || !text_utf8_valid(s + i, n)) {
            s[i++] = '?';
            continue;
        }
        i += n;
    }
}

static json_t *error_doc(wr_code code, char *msg)
{
    scrub_utf8(msg);
    return json_pack("{s:{s:s,s:s}}", "error", "code", codes[code].name, "message", msg);
}

void rest_reply_error(wr_reply *r, wr_code code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->generation = 0;
    rest_reply_json(r, codes[code].status, error_doc(code, msg));
}

void rest_reply_err(wr_reply *r, const wr_err *e, wr_code not_found)
{
    char msg[WR_ERR_MAX], file[sizeof e->file];
    wr_code code = rest_code_of(e->code, not_found);
    snprintf(msg, sizeof msg, "%s", e->msg);
    json_t *doc = error_doc(code, msg), *err = json_object_get(doc, "error");
    if (*e->file) {
        snprintf(file, sizeof file, "%s", e->file);
        scrub_utf8(file);
        json_object_set_new(err, "file", json_string(file));
    }
    if (e->line)
        json_object_set_new(err, "line", json_integer((json_int_t)e->line));
    if (e->offset)
        json_object_set_new(err, "offset", json_integer((json_int_t)e->offset));
    r->generation = 0;
    rest_reply_json(r, codes[code].status, doc);
}

const char *rest_param(const wr_request *rq, const char *key)
{
    for (size_t i = 0; i < rq->nquery; i++)
        if (!strcmp(rq->query[i].key, key))
            return rq->query[i].value;
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long rest_decode(const char *in, size_t len, int plus_is_space, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0)
            return -1;
        out[o++] = c;
    }
    out[o] = 0;
    return text_utf8_valid(out, o) ? (long)o : -1;
}

char *rest_decoded(const char *in, size_t len)
{
    char *s = xmalloc(len + 1);
    if (rest_decode(in, len, 1, s) >= 0)
        return s;
    free(s);
    return NULL;
}

int rest_etag_matches(const char *inm, const char *tag)
{
    size_t tl = strlen(tag);
    while (*inm) {
        inm += strspn(inm, " \t,");
        size_t n = strcspn(inm, ","), e = n;
        while (e > 0 && (inm[e - 1] == ' ' || inm[e - 1] == '\t'))
            e--;
        const char *t = inm;
        if (e == 1 && *t == '*')
            return 1;
        if (e > 2 && t[0] == 'W' && t[1] == '/') {
            t += 2;
            e -= 2;
        }
        if (e == tl && !memcmp(t, tag, tl))
            return 1;
        inm += n;
    }
    return 0;
}

void rest_etag(const wr_reply *r, char *buf, size_t n)
{
    if (!r->generation)
        snprintf(buf, n, "%s", "");
    else if (r->overlay)
        snprintf(buf, n, "\"%llu-%016llx-%llx\"", (unsigned long long)r->generation,
                 (unsigned long long)r->model_id, (unsigned long long)r->overlay);
    else
        snprintf(buf, n, "\"%llu-%016llx\"", (unsigned long long)r->generation,
                 (unsigned long long)r->model_id);
}

/* tchar of RFC 9110 section 5.6.2 */
static int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* s starts with p (case-insensitively) and goes on */
static int longer_than(const char *s, const char *p)
{
    size_t n = strlen(p);
    return !strncasecmp(s, p, n) && s[n];
}

const char *rest_header_problem(const char *name, const char *value)
{
    if (!*name)
        return "an empty header name";
    for (const char *p = name; *p; p++)
        if (!tchar((unsigned char)*p))
            return "a header name that is not a token (blanks before the colon, or a folded "
                   "line)";
    if (longer_than(name, "content-length") || longer_than(name, "transfer-encoding"))
        return "a framing header name run on (a folded line)";
    if (value && strpbrk(value, "\r\n"))
        return "CR or LF inside a header value";
    return NULL;
}

const char *rest_origin_form(const char *t)
{
    if (*t == '/')
        return t;
    size_t skip = !strncasecmp(t, "http://", 7) ? 7 : !strncasecmp(t, "https://", 8) ? 8 : 0;
    if (!skip || !t[skip] || t[skip] == '/')
        return NULL;
    const char *path = strchr(t + skip, '/');
    return path ? path : "/";
}

int rest_same_origin(const char *origin, const char *host)
{
    const char *def = !strncasecmp(origin, "http://", 7) ? ":80"
                      : !strncasecmp(origin, "https://", 8) ? ":443" : NULL;
    if (!def || !host)
        return 0;
    const char *a = strstr(origin, "://") + 3;
    size_t an = strlen(a), hn = strlen(host), dn = strlen(def);
    if (an == hn)
        return !strncasecmp(a, host, an);
    /* one of them writes the default port, the other leaves it out */
    if (an == hn + dn)
        return !strncasecmp(a, host, hn) && !strcmp(a + hn, def);
    if (hn == an + dn)
        return !strncasecmp(a, host, an) && !strcmp(host + an, def);
    return 0;
}

size_t rest_query_count(const char *t)
{
    const char *q = strchr(t, '?');
    if (!q || !q[1])
        return 0;
    size_t n = 1;
    for (q++; *q; q++)
        n += *q == '&';
    return n;
}

char *rest_encode(wr_reply *r, int gzip, size_t *len, int *gzipped)
{
    char *body = NULL;
    *len = 0;
    *gzipped = 0;
    if (r->json) {
        body = json_dumps(r->json, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (!body) {
            r->status = 500;
            body = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"cannot serialise\"}}");
        }
        *len = body ? strlen(body) : 0;
    } else if (r->text) {
        body = r->text;
        *len = r->text_len;
        r->text = NULL;
    }
    json_decref(r->json);
    r->json = NULL;
    if (gzip && *len >= WR_GZIP_MIN) {
        size_t zlen;
        char *z = gzip_encode(body, *len, &zlen);
        if (z) {
            free(body);
            body = z;
            *len = zlen;
            *gzipped = 1;
        }
    }
    return body;
}
