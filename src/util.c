/* util.c - memory, errors, time, random numbers, line reading, small parsers. */
#include "walkrec/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>
#include <zlib.h>

int wr_quiet;

int wr_fail(wr_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static _Noreturn void oom(size_t n)
{
    fprintf(stderr, "walkrec: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

void *xmalloc_aligned(size_t n)
{
    void *p = NULL;
    n = (n + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, n ? n : 64))
        oom(n);
    return p;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("walkrec: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void wr_warn(const char *fmt, ...)
{
    if (wr_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("walkrec: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void wr_log(const char *fmt, ...)
{
    char line[2048];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ walkrecd: ", &tm);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + (size_t)m < sizeof line - 1 ? n + (size_t)m : sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}

double wr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int wr_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

void wr_run_threads(void *(*fn)(void *), void *arg, int threads)
{
    pthread_t *tid = xmalloc((size_t)(threads > 1 ? threads : 1) * sizeof *tid);
    int started = 0;
    while (started < threads - 1 && pthread_create(&tid[started], NULL, fn, arg) == 0)
        started++;
    fn(arg);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    free(tid);
}

size_t wr_peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) {
            kib = strtoull(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(wr_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

/* ---- line reader ---- */

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

int split_fields(char *s, char sep, char **fields, int max)
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

int parse_double(const char *s, double *out)
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

int parse_u64(const char *s, uint64_t *out)
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

int utf8_valid(const char *str, size_t len)
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

static void fsync_dir_of(const char *path)
{
    char *dirc = xstrdup(path);
    int dfd = open(dirname(dirc), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dirc);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int write_file_atomic(const char *path, const void *data, size_t len, wr_err *err)
{
    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        wr_fail(err, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            wr_fail(err, "%s: write: %s", tmp, w < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0) {
        wr_fail(err, "%s: fsync: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        wr_fail(err, "%s: close: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        wr_fail(err, "%s: rename: %s", path, strerror(errno));
        goto fail;
    }
    fsync_dir_of(path);
    free(tmp);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

int afile_open(wr_afile *a, const char *path, wr_err *err)
{
    memset(a, 0, sizeof *a);
    if (!strcmp(path, "-")) {
        a->f = stdout;
        return 0;
    }
    size_t n = strlen(path) + 32;
    a->path = xstrdup(path);
    a->tmp = xmalloc(n);
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "we");
    if (!a->f) {
        wr_fail(err, "%s: %s", a->tmp, strerror(errno));
        free(a->path);
        free(a->tmp);
        return -1;
    }
    setvbuf(a->f, NULL, _IOFBF, 1 << 20);
    return 0;
}

int afile_commit(wr_afile *a, wr_err *err)
{
    if (!a->tmp)
        return fflush(a->f) ? wr_fail(err, "stdout: %s", strerror(errno)) : 0;
    /* fflush first: when an earlier buffered write failed, flushing again names the error
     * (errno from that write is long gone); if it succeeds ferror still tells. */
    errno = 0;
    int bad = fflush(a->f) || ferror(a->f) || fsync(fileno(a->f));
    int e = errno ? errno : EIO;
    if (fclose(a->f) && !bad)
        bad = 1, e = errno;
    a->f = NULL;
    if (!bad && rename(a->tmp, a->path) < 0)
        bad = 1, e = errno;
    if (bad) {
        wr_fail(err, "%s: write failed: %s", a->path, strerror(e));
        unlink(a->tmp);
    } else {
        fsync_dir_of(a->path);
    }
    free(a->path);
    free(a->tmp);
    return bad ? -1 : 0;
}

void afile_abort(wr_afile *a)
{
    if (!a->tmp)
        return;
    if (a->f)
        fclose(a->f);
    unlink(a->tmp);
    free(a->path);
    free(a->tmp);
    a->f = NULL;
}
