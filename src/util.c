/* util.c - memory, errors, logging, time and threads: what every module needs. */
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

int wr_quiet;

static const char *const status_names[] = {
    [WR_OK] = "ok",         [WR_EINVAL] = "invalid", [WR_ENOTFOUND] = "not_found",
    [WR_ENOMEM] = "no_memory", [WR_EIO] = "io",     [WR_ECORRUPT] = "corrupt",
    [WR_EBUSY] = "busy",    [WR_ESTATE] = "state",   [WR_EINTERNAL] = "internal",
};

const char *wr_status_str(wr_status s)
{
    return (unsigned)s < sizeof status_names / sizeof *status_names ? status_names[s] : "?";
}

static int fail(wr_err *err, wr_status code, const char *file, uint64_t line, uint64_t offset,
                const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->code = code;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    err->line = line;
    err->offset = offset;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int wr_fail(wr_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(err, WR_EINVAL, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int wr_failc(wr_err *err, wr_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(err, code, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int wr_fail_at(wr_err *err, wr_status code, const char *file, uint64_t line, uint64_t offset,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(err, code, file, line, offset, fmt, ap);
    va_end(ap);
    return -1;
}

wr_status wr_errno_status(int e)
{
    return e == ENOMEM ? WR_ENOMEM : e == ENOENT ? WR_ENOTFOUND : WR_EIO;
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

double wr_unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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

