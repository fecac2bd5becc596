/* lines.c - the line reader of lines.h over zlib's gz* functions. */
#include "walkrec/lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

int lines_open(wr_lines *l, const char *path, size_t max_len, wr_err *err)
{
    memset(l, 0, sizeof *l);
    l->path = path;
    l->max_len = max_len ? max_len : ((size_t)1 << 26);
    int fd = !strcmp(path, "-") ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wr_fail(err, "%s: %s", path, strerror(errno));
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return wr_fail(err, "%s: cannot open", path);
    }
    gzbuffer(gz, 1 << 17);
    l->gz = gz;
    l->blk = xmalloc(WR_LINES_BLOCK);
    l->cap = 4096;
    l->buf = xmalloc(l->cap);
    return 0;
}

/* Refills the block buffer; returns bytes available, 0 at end of input, -1 on error. */
static int fill(wr_lines *l, wr_err *err)
{
    if (l->eof)
        return 0;
    int n = gzread(l->gz, l->blk, WR_LINES_BLOCK);
    if (n > 0) {
        l->blk_pos = 0;
        l->blk_len = (size_t)n;
        return n;
    }
    l->eof = 1;
    int errnum;
    const char *msg = gzerror(l->gz, &errnum);
    if (errnum == Z_BUF_ERROR || errnum == Z_DATA_ERROR) {
        l->truncated = 1; /* cut off or damaged: what was read stands */
        return 0;
    }
    if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
        return wr_fail(err, "%s: read error: %s", l->path, errnum == Z_ERRNO ? strerror(errno) : msg);
    return 0;
}

/* Reads one line into l->buf. Bytes past max_len are dropped and flagged with too_long.
 * NUL bytes stay in the line (l->len counts them). */
int lines_next(wr_lines *l, wr_err *err)
{
    l->len = 0;
    l->too_long = 0;
    int any = 0;
    for (;;) {
        if (l->blk_pos == l->blk_len) {
            int n = fill(l, err);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
        }
        any = 1;
        char *start = l->blk + l->blk_pos;
        size_t avail = l->blk_len - l->blk_pos;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        l->blk_pos += take + (nl != NULL);
        size_t room = l->max_len - l->len;
        size_t copy = take < room ? take : room;
        if (copy < take)
            l->too_long = 1;
        if (l->len + copy + 1 > l->cap) {
            while (l->len + copy + 1 > l->cap)
                l->cap *= 2;
            l->buf = xrealloc(l->buf, l->cap);
        }
        memcpy(l->buf + l->len, start, copy);
        l->len += copy;
        if (nl)
            break;
    }
    if (!any)
        return 0;
    if (l->len > 0 && l->buf[l->len - 1] == '\r')
        l->len--;
    l->buf[l->len] = 0;
    l->lineno++;
    return 1;
}

void lines_close(wr_lines *l)
{
    if (l->gz)
        gzclose(l->gz);
    free(l->buf);
    free(l->blk);
    l->gz = NULL;
    l->buf = NULL;
    l->blk = NULL;
}

