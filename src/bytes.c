/* bytes.c - the growable byte buffer of bytes.h. */
#include "walkrec/bytes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "walkrec/util.h"

void *bytes_grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    *cap = c;
    return xrealloc(p, c * size);
}

void bytes_put(wr_bytes *b, const void *data, size_t n)
{
    if (!n)
        return;
    b->p = bytes_grow(b->p, &b->cap, b->n + n, 1);
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

void bytes_putc(wr_bytes *b, char c) { bytes_put(b, &c, 1); }

void bytes_puts(wr_bytes *b, const char *s) { bytes_put(b, s, strlen(s)); }

void bytes_put_str(wr_bytes *b, const char *s, size_t len)
{
    uint32_t l = (uint32_t)len;
    bytes_put(b, &l, sizeof l);
    bytes_put(b, s, len);
}

int bytes_take_str(const char **p, const char *end, const char **s, uint32_t *len)
{
    if (end - *p < 4)
        return -1;
    memcpy(len, *p, 4);
    *p += 4;
    if ((size_t)(end - *p) < *len)
        return -1;
    *s = *p;
    *p += *len;
    return 0;
}

/* ---- JSON text ---- */

/* A JSON string; s is UTF-8 (ids are checked when loaded or decoded). */
void bytes_put_json_str(wr_bytes *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t from = 0;
    bytes_put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        bytes_put(o, s + from, i - from);
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\')
            esc[1] = (char)c;
        bytes_put(o, esc, c == '"' || c == '\\' ? 2 : 6);
        from = i + 1;
    }
    bytes_put(o, s + from, n - from);
    bytes_put(o, "\"", 1);
}

void bytes_put_u64(wr_bytes *o, uint64_t v)
{
    char b[24];
    int n = sizeof b;
    do
        b[--n] = (char)('0' + v % 10);
    while ((v /= 10));
    bytes_put(o, b + n, sizeof b - (size_t)n);
}

void bytes_put_score(wr_bytes *o, float s)
{
    if (!isfinite(s)) { /* JSON has no NaN or infinity */
        bytes_put(o, "null", 4);
        return;
    }
    double v = s < 0 ? -(double)s : s;
    if (v >= 1e11) { /* past what x below holds with 7 decimals */
        char t[32];
        bytes_put(o, t, (size_t)snprintf(t, sizeof t, "%.9g", (double)s));
        return;
    }
    uint64_t x = (uint64_t)(v * 1e7 + 0.5), frac = x % 10000000;
    if (s < 0 && x)
        bytes_put(o, "-", 1);
    bytes_put_u64(o, x / 10000000);
    if (!frac)
        return;
    char d[8] = {'.'};
    int n = 7;
    while (frac % 10 == 0) {
        frac /= 10;
        n--;
    }
    for (int i = n; i >= 1; i--, frac /= 10)
        d[i] = (char)('0' + frac % 10);
    bytes_put(o, d, (size_t)n + 1);
}
