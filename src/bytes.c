/* bytes.c - the growable byte buffer of bytes.h. */
#include "walkrec/bytes.h"

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
