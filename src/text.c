/* text.c - the parsers of text.h. */
#include "walkrec/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int text_split(char *s, char sep, char **fields, int max)
{
    int n = 0;
    if (max <= 0)
        return 0;
    fields[n++] = s;
    while (n < max && (s = strchr(s, sep))) {
        *s++ = 0;
        fields[n++] = s;
    }
    return n;
}

int text_parse_double(const char *s, double *out)
{
    char *end;
    if (!*s || (*s != '-' && *s != '+' && *s != '.' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int text_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int text_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *e = s + len;
    while (s < e) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        int n;
        unsigned min;
        if ((c & 0xe0) == 0xc0)
            n = 1, min = 0x80, c &= 0x1f;
        else if ((c & 0xf0) == 0xe0)
            n = 2, min = 0x800, c &= 0x0f;
        else if ((c & 0xf8) == 0xf0)
            n = 3, min = 0x10000, c &= 0x07;
        else
            return 0;
        if (e - s <= n)
            return 0;
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        s += n + 1;
    }
    return 1;
}

