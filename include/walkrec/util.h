/* util.h - memory, errors, time, random numbers, line reading.
 *
 * Library code never exits on bad input: it returns -1 and fills a wr_err.
 * Only allocation failure aborts (xmalloc and friends). */
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

typedef struct wr_err {
    char msg[WR_ERR_MAX];
} wr_err;

/* Sets err->msg (if err is not NULL) and returns -1. */
int wr_fail(wr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* 64-byte aligned allocation, freed with free(). */
void *xmalloc_aligned(size_t n);

/* Fatal error for command-line front ends: prints "walkrec: msg" and exits 1. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning on stderr unless quiet. */
void wr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The daemon's log: one line "<UTC time> walkrecd: msg" on stderr, written in one piece so
 * that lines of several threads never interleave. */
void wr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int wr_quiet; /* set by --quiet: silences progress and warnings */

double wr_now(void);      /* monotonic seconds */
int wr_cpu_count(void);
/* Runs fn(arg) on `threads` threads, the calling one included (on fewer when one cannot be
 * created), and returns when they have all returned. */
void wr_run_threads(void *(*fn)(void *), void *arg, int threads);
size_t wr_peak_rss_kib(void); /* VmHWM of this process */

/* xoshiro256** seeded through splitmix64. Not for cryptography. */
typedef struct wr_rng {
    uint64_t s[4];
} wr_rng;

void rng_seed(wr_rng *r, uint64_t seed);
static inline uint64_t rng_next(wr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t res = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return res;
}
/* Uniform in [0, 1). */
static inline double rng_double(wr_rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static inline float rng_float(wr_rng *r) { return (float)(rng_next(r) >> 40) * 0x1.0p-24f; }
/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-32). */
static inline uint32_t rng_below(wr_rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Line reader over plain or gzip'd files (zlib detects the format).
 * A gzip stream cut off mid-way ends the input with `truncated` set. */
typedef struct wr_lines {
    void *gz;            /* gzFile */
    char *buf;           /* current line, NUL-terminated, without '\n' or "\r\n"; it may
                          * hold NUL bytes of its own: len is the true length */
    size_t len, cap;
    size_t max_len;      /* longer lines are skipped whole and reported via `too_long` */
    uint64_t lineno;     /* 1-based number of the current line */
    int too_long;        /* the current line exceeded max_len (buf holds its first max_len bytes) */
    int truncated;       /* input ended inside a damaged or cut-off gzip stream */
    const char *path;
    char *blk;           /* decompressed block being cut into lines */
    size_t blk_pos, blk_len;
    int eof;
} wr_lines;

#define WR_LINES_BLOCK (1 << 16)

int lines_open(wr_lines *l, const char *path, size_t max_len, wr_err *err);
/* Returns 1 with a line, 0 at end of input, -1 on a read error. */
int lines_next(wr_lines *l, wr_err *err);
void lines_close(wr_lines *l);

/* Splits s (modified in place) at every `sep`; returns the number of fields
 * (at most max; the last field keeps the rest). */
int split_fields(char *s, char sep, char **fields, int max);

/* Strict number parsing: the whole string must be consumed. */
int parse_double(const char *s, double *out);
int parse_u64(const char *s, uint64_t *out);

/* 1 when s[0..len) is well-formed UTF-8. */
int utf8_valid(const char *s, size_t len);

/* Writes `len` bytes to `path` via path.tmp + fsync + rename + directory fsync. */
int write_file_atomic(const char *path, const void *data, size_t len, wr_err *err);

/* A file written under a temporary name and renamed into place on commit (after fsync),
 * so readers never see half a file. Path "-" writes to stdout instead. */
typedef struct wr_afile {
    FILE *f;
    char *path, *tmp;
} wr_afile;

int afile_open(wr_afile *a, const char *path, wr_err *err);
int afile_commit(wr_afile *a, wr_err *err);
void afile_abort(wr_afile *a);

#endif
