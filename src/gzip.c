/* gzip.c - Accept-Encoding and gzip members (gzip.h).
 *
 * zlib, already walkrec's reader of gzip'd pair files, writes the members: deflate with
 * the gzip wrapper (windowBits 15 + 16) at level 1, Z_BEST_SPEED. On neighbour lists level 1
 * keeps 23% of the bytes at 2.6 times the speed of level 6, which keeps 20%
 * (docs/performance.md); an answer is compressed on the thread that made it, an HTTP
 * thread for small ones, so speed counts more than the last few percent. */
#include "walkrec/gzip.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* The q-value of one list member's parameters (";q=0.5"); 1 when absent. */
static double qvalue(const char *p, const char *end)
{
    while (p < end) {
        p += strspn(p, " \t;");
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            return strtod(p + 2, NULL);
        p += strcspn(p, ";");
    }
    return 1;
}

int gzip_accepted(const char *v)
{
    double gzip = -1, star = -1;
    while (v && *v) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ","), name = strcspn(v, " \t;,");
        if (name > n)
            name = n;
        double q = qvalue(v + name, v + n);
        if ((name == 4 && !strncasecmp(v, "gzip", 4)) ||
            (name == 6 && !strncasecmp(v, "x-gzip", 6)))
            gzip = q;
        else if (name == 1 && *v == '*')
            star = q;
        v += n;
    }
    return gzip >= 0 ? gzip > 0 : star > 0;
}

char *gzip_encode(const char *in, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)n);
    char *out = malloc(cap);
    int rc = Z_STREAM_ERROR;
    if (out) {
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)cap;
        rc = deflate(&z, Z_FINISH);
    }
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    char *fit = realloc(out, *out_len ? *out_len : 1);
    return fit ? fit : out;
}
