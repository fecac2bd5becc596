/* access.c - who may do what (access.h). */
#include "walkrec/access.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "walkrec/rest.h"
#include "walkrec/text.h"
#include "walkrec/util.h"

/* Wrong tokens from one client address within auth_failure_window. */
typedef struct guess {
    unsigned char addr[16];
    uint32_t fails; /* 0: a free slot */
    double since;   /* when the window began */
} guess;

struct wr_access {
    const wr_config *cfg;
    char **origins; /* cors_origins */
    size_t norigins;
    int any_origin; /* "*" among them */
    pthread_mutex_t lock;
    guess slots[ACCESS_SLOTS];
    pthread_rwlock_t keys_lock;
    char *keys[ACCESS_MAX_KEYS];
    size_t nkeys;
};

wr_access *access_new(const wr_config *cfg)
{
    wr_access *a = xcalloc(1, sizeof *a);
    a->cfg = cfg;
    pthread_mutex_init(&a->lock, NULL);
    pthread_rwlock_init(&a->keys_lock, NULL);
    const char *list = cfg->cors_origins ? cfg->cors_origins : "";
    char *copy = xstrdup(list), *f[256];
    int n = *copy ? text_split(copy, ',', f, 256) : 0;
    a->origins = xcalloc((size_t)n + 1, sizeof *a->origins);
    for (int i = 0; i < n; i++) {
        if (!strcmp(f[i], "*"))
            a->any_origin = 1;
        a->origins[a->norigins++] = xstrdup(f[i]);
    }
    free(copy);
    return a;
}

void access_free(wr_access *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    pthread_rwlock_destroy(&a->keys_lock);
    for (size_t i = 0; i < a->nkeys; i++) {
        explicit_bzero(a->keys[i], strlen(a->keys[i]));
        free(a->keys[i]);
    }
    for (size_t i = 0; i < a->norigins; i++)
        free(a->origins[i]);
    free(a->origins);
    free(a);
}

/* origin is one of cors_origins by name ("*" lets other sites read, not write). */
static int listed(const wr_access *a, const char *origin)
{
    for (size_t i = 0; i < a->norigins; i++)
        if (!strcmp(a->origins[i], origin))
            return 1;
    return 0;
}

const char *access_cors_origin(const wr_access *a, const char *origin)
{
    if (!a->norigins || !origin)
        return NULL;
    if (a->any_origin)
        return "*";
    return listed(a, origin) ? origin : NULL;
}

int access_by_origin(const wr_access *a) { return a->norigins && !a->any_origin; }

/* Equal strings in a time that depends on the lengths only, not on where they differ. */
static int same_secret(const char *x, size_t xlen, const char *y, size_t ylen)
{
    volatile unsigned char diff = xlen != ylen;
    for (size_t i = 0; i < xlen; i++)
        diff |= (unsigned char)(x[i] ^ y[i % (ylen ? ylen : 1)]);
    return diff == 0 && ylen > 0;
}

/* The credential of "Bearer <credential>", "" for another scheme, NULL for no header. */
static const char *credential(const char *v)
{
    if (!v)
        return NULL;
    if (strncasecmp(v, "Bearer ", 7))
        return "";
    v += 7;
    while (*v == ' ')
        v++;
    return v;
}

int access_bearer(const wr_access *a, const char *v)
{
    const char *tok = a->cfg->admin_token;
    if (!tok || !(v = credential(v)))
        return -1;
    return same_secret(v, strlen(v), tok, strlen(tok));
}

int access_read_key(wr_access *a, const char *v)
{
    if (!(v = credential(v)))
        return -1;
    int found = 0;
    size_t len = strlen(v);
    pthread_rwlock_rdlock(&a->keys_lock);
    for (size_t i = 0; i < a->nkeys; i++) /* every key, whichever matches */
        if (same_secret(v, len, a->keys[i], strlen(a->keys[i])) && !found)
            found = (int)i + 1;
    pthread_rwlock_unlock(&a->keys_lock);
    return found;
}

int access_load_keys(wr_access *a, size_t *nkeys, wr_err *err)
{
    const char *path = a->cfg->read_keys_file;
    char *keys[ACCESS_MAX_KEYS], line[4096];
    size_t n = 0, lineno = 0;
    int rc = -1;
    *nkeys = 0;
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return wr_failc(err, WR_EIO, "read_keys_file %s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            wr_failc(err, WR_EINVAL, "read_keys_file %s:%zu: longer than %zu bytes", path,
                     lineno, sizeof line - 2);
            goto out;
        }
        char *k = line;
        while (*k == ' ' || *k == '\t')
            k++;
        len = strcspn(k, "\r\n");
        while (len && (k[len - 1] == ' ' || k[len - 1] == '\t'))
            len--;
        k[len] = 0;
        if (!len || *k == '#')
            continue;
        if (len < WR_TOKEN_MIN || strpbrk(k, " \t")) {
            wr_failc(err, WR_EINVAL, "read_keys_file %s:%zu: a key is %d bytes or more, "
                     "without blanks", path, lineno, WR_TOKEN_MIN);
            goto out;
        }
        if (n == ACCESS_MAX_KEYS) {
            wr_failc(err, WR_EINVAL, "read_keys_file %s: more than %d keys", path,
                     ACCESS_MAX_KEYS);
            goto out;
        }
        keys[n++] = xstrdup(k);
    }
    if (ferror(f)) {
        wr_failc(err, WR_EIO, "read_keys_file %s: %s", path, strerror(errno));
        goto out;
    }
    pthread_rwlock_wrlock(&a->keys_lock);
    for (size_t i = 0; i < a->nkeys; i++) {
        explicit_bzero(a->keys[i], strlen(a->keys[i]));
        free(a->keys[i]);
    }
    memcpy(a->keys, keys, n * sizeof *keys);
    a->nkeys = n;
    pthread_rwlock_unlock(&a->keys_lock);
    *nkeys = n;
    n = 0;
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        explicit_bzero(keys[i], strlen(keys[i]));
        free(keys[i]);
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    return rc;
}

/* Browsers say where a request comes from (Sec-Fetch-Site to loopback and https servers,
 * Origin on every POST), and cannot send Content-Type: application/json to another origin
 * without a CORS preflight, which only cors_origins pass; a no-cors fetch of a Blob and a
 * body-less POST carry no Content-Type at all. */
const char *access_foreign_write(const wr_access *a, const char *site, const char *origin,
                                 const char *host, const char *content_type, char *why,
                                 size_t n)
{
    int ok = origin && listed(a, origin);
    if (site && (!strcasecmp(site, "cross-site") || !strcasecmp(site, "same-site")) && !ok) {
        snprintf(why, n, "a %.20s request (Sec-Fetch-Site) from an origin not in "
                 "cors_origins may not write", site);
        return why;
    }
    if (origin && !ok && !(site && !strcasecmp(site, "same-origin")) &&
        !rest_same_origin(origin, host)) {
        snprintf(why, n, "Origin %.200s is neither this server nor in cors_origins: it may "
                 "not write", origin);
        return why;
    }
    if (!content_type) {
        snprintf(why, n, "writes need Content-Type: application/json (curl --json, or -H "
                 "'Content-Type: application/json' without a body) or the admin token");
        return why;
    }
    return NULL;
}

/* A browser can send the form and text types cross-origin without asking (no CORS
 * preflight), so refusing them keeps another site's page from posting through a visitor. */
int access_json_or_none(const char *t)
{
    if (!t)
        return 1;
    size_t n = strcspn(t, ";");
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    return (n == 16 && !strncasecmp(t, "application/json", 16)) ||
           (n > 5 && !strncasecmp(t + n - 5, "+json", 5) && !strncasecmp(t, "application/", 12));
}

/* The address's slot among 8 probed from its hash; with take, else a free one or the one
 * whose window began first. Under lock. */
static guess *slot(wr_access *a, const unsigned char addr[16], int take)
{
    uint64_t x = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        x = (x ^ addr[i]) * 1099511628211ull;
    guess *pick = NULL;
    for (unsigned i = 0; i < 8; i++) {
        guess *g = &a->slots[(x + i) % ACCESS_SLOTS];
        if (g->fails && !memcmp(g->addr, addr, 16))
            return g;
        if (!pick || (pick->fails && (!g->fails || g->since < pick->since)))
            pick = g;
    }
    if (!take)
        return NULL;
    memcpy(pick->addr, addr, 16);
    pick->fails = 0;
    return pick;
}

unsigned access_wait(wr_access *a, const unsigned char addr[16], double now)
{
    unsigned wait = 0;
    if (!a->cfg->auth_failures)
        return 0;
    pthread_mutex_lock(&a->lock);
    guess *g = slot(a, addr, 0);
    double left = g ? g->since + a->cfg->auth_failure_window - now : 0;
    if (g && g->fails >= a->cfg->auth_failures && left > 0)
        wait = (unsigned)left + 1;
    pthread_mutex_unlock(&a->lock);
    return wait;
}

void access_failed(wr_access *a, const unsigned char addr[16], double now)
{
    if (!a->cfg->auth_failures)
        return;
    pthread_mutex_lock(&a->lock);
    guess *g = slot(a, addr, 1);
    if (!g->fails || now - g->since >= a->cfg->auth_failure_window) {
        g->fails = 0;
        g->since = now;
    }
    g->fails++;
    pthread_mutex_unlock(&a->lock);
}

int access_addr(const struct sockaddr *sa, unsigned char a[16])
{
    memset(a, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        a[10] = a[11] = 0xff;
        memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6) {
        memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    }
    return -1;
}
