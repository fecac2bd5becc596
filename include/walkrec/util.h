/* util.h - what every module needs: errors, memory, logging, time, threads.
 *
 * Library code never exits on bad input: it returns -1 and fills a wr_err with a code and a
 * message. Only failure of a small internal allocation aborts (xmalloc and friends).
 * Names: util's functions carry the wr_ prefix, except the x-allocators, whose names every C
 * programmer knows (docs/STYLE.md). */
#ifndef WALKREC_UTIL_H
#define WALKREC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* WR_TSAN: 1 in a ThreadSanitizer build (gcc defines __SANITIZE_THREAD__, clang has
 * __has_feature), else 0. */
#if defined(__SANITIZE_THREAD__)
#define WR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WR_TSAN 1
#endif
#endif
#ifndef WR_TSAN
#define WR_TSAN 0
#endif
/* WR_ASAN: 1 in an AddressSanitizer build, likewise. */
#if defined(__SANITIZE_ADDRESS__)
#define WR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WR_ASAN 1
#endif
#endif
#ifndef WR_ASAN
#define WR_ASAN 0
#endif

#define WR_ERR_MAX 512

/* What went wrong, as a code: the API maps each to one HTTP status (rest.h), the CLI prints
 * the message. WR_OK is 0. */
typedef enum wr_status {
    WR_OK = 0,
    WR_EINVAL,    /* invalid input: a bad argument, a malformed line or request */
    WR_ENOTFOUND, /* no such item, generation or file */
    WR_ENOMEM,    /* out of memory for something sized by the input */
    WR_EIO,       /* reading or writing failed (full disk, permissions, a file size limit) */
    WR_ECORRUPT,  /* a file that does not read as what it claims to be (checksum, bounds) */
    WR_EBUSY,     /* a limit or a queue is full now: try again later */
    WR_ESTATE,    /* not in this state: a follower asked to write, nothing to roll back to */
    WR_EINTERNAL, /* a bug or an unexpected failure */
} wr_status;

/* "ok", "invalid", "not_found", "no_memory", "io", "corrupt", "busy", "state", "internal". */
const char *wr_status_str(wr_status s);

/* An error: its code, a message, and for errors in files where they happened (file "" when
 * none; line and offset 0 when unknown). */
typedef struct wr_err {
    wr_status code;
    char msg[WR_ERR_MAX];
    char file[256];
    uint64_t line, offset;
} wr_err;

/* Sets err (if not NULL) to code WR_EINVAL and the message, and returns -1. */
int wr_fail(wr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a code of one's own. */
int wr_failc(wr_err *err, wr_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same naming where in a file: line (text) or byte offset (binary), 0 = unknown. The
 * message should name them too; the fields are for the API's error body. */
int wr_fail_at(wr_err *err, wr_status code, const char *file, uint64_t line, uint64_t offset,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* errno as a code: ENOMEM -> WR_ENOMEM, ENOENT -> WR_ENOTFOUND, anything else WR_EIO. */
wr_status wr_errno_status(int e);

/* Allocation that cannot fail: out of memory aborts the process. For small internal
 * allocations; memory sized by input is allocated with malloc and checked (STYLE.md). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* 64-byte aligned allocation, freed with free(). */
void *xmalloc_aligned(size_t n);

/* Warning on stderr unless quiet. */
void wr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The daemon's log: one line "<UTC time> walkrecd: msg" on stderr, written in one piece so
 * that lines of several threads never interleave. */
void wr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int wr_quiet; /* set by --quiet: silences progress and warnings */

double wr_now(void);      /* monotonic seconds */
double wr_unix_now(void); /* wall-clock seconds since 1970 */
int wr_cpu_count(void);
/* Runs fn(arg) on `threads` threads, the calling one included (on fewer when one cannot be
 * created), and returns when they have all returned. */
void wr_run_threads(void *(*fn)(void *), void *arg, int threads);
size_t wr_peak_rss_kib(void); /* VmHWM of this process */

#endif
