/* wal.c - the write-ahead log of ingested pairs and item changes: encoding, group-committed
 * appends, recovery of a torn tail, scanning. The file format and the recovery rules are
 * in wal.h. */
#include "walkrec/dict.h"
#include "walkrec/text.h"
#include "walkrec/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define WAL_VERSION 3  /* written before the first attribute record */
#define WAL_VERSION_ITEMS 2 /* written before the first hide, unhide or delete */
#define WAL_VERSION_PAIRS 1 /* a log of pair records only: new logs start so */
#define PAIR_FIXED 8 /* u16 alen, u16 blen, f32 weight */
#define ITEM_FIXED 8 /* u32 0, u16 kind, u16 len */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char wal_magic[8] = {'W', 'R', 'P', 'A', 'I', 'R', 'S', '\n'};

struct wr_wal {
    pthread_mutex_t mu;
    pthread_cond_t synced; /* signalled when an fdatasync ends */
    int fd;
    char *path;
    uint64_t end;          /* where the next record goes */
    uint64_t durable;      /* everything before it is on disk */
    uint64_t records, pairs, appends, syncs;
    uint64_t items;        /* item records */
    uint32_t version;      /* of the file header: WAL_VERSION_PAIRS .. WAL_VERSION */
    int syncing;           /* a thread is in fdatasync with the mutex released */
    int failed;            /* errno that made the log refuse appends, or 0 */
};

/* ---- little-endian fields ---- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static float getf(const uint8_t *p)
{
    uint32_t u = get32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}
static void putf(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put32(p, u);
}

static uint32_t crc(const uint8_t *p, size_t n) { return (uint32_t)crc32(0, p, (uInt)n); }

/* ---- the rules for one pair ---- */

const char *wal_check_id(const char *s, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > WR_ID_MAX)
        return "is longer than " STR(WR_ID_MAX) " bytes";
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            return "contains NUL, tab, CR or LF";
    if (!text_utf8_valid(s, len))
        return "is not valid UTF-8";
    return NULL;
}

static const char *check_weight(double w)
{
    if (!isfinite(w) || !(w > 0))
        return "weight must be a finite number > 0";
    if (w > FLT_MAX)
        return "weight is too large for a float";
    if ((float)w == 0)
        return "weight is too small for a float";
    return NULL;
}

int wal_check(const wr_wal_pair *p, size_t n, size_t *bad, wr_err *err)
{
    size_t unused;
    if (!bad)
        bad = &unused;
    *bad = 0;
    if (n == 0)
        return wr_fail(err, "empty batch: no pairs");
    uint64_t len = 4;
    for (size_t i = 0; i < n; i++) {
        const char *why, *which = "a";
        *bad = i;
        if (!(why = wal_check_id(p[i].a, p[i].alen))) {
            which = "b";
            why = wal_check_id(p[i].b, p[i].blen);
        }
        if (why)
            return wr_fail(err, "id %s %s", which, why);
        if ((why = check_weight(p[i].w)))
            return wr_fail(err, "%s", why);
        len += PAIR_FIXED + p[i].alen + p[i].blen;
        if (len > WR_WAL_RECORD_MAX)
            return wr_fail(err, "batch too large (a record holds at most %u bytes)",
                           WR_WAL_RECORD_MAX);
    }
    return 0;
}

/* ---- records ---- */

/* Record header and payload of a checked batch; the header is filled under the lock. */
static uint8_t *encode(const wr_wal_pair *p, size_t n, uint32_t *len)
{
    size_t l = 4;
    for (size_t i = 0; i < n; i++)
        l += PAIR_FIXED + p[i].alen + p[i].blen;
    uint8_t *rec = xmalloc(WR_WAL_RECORD_HEADER + l), *q = rec + WR_WAL_RECORD_HEADER;
    put32(q, (uint32_t)n);
    q += 4;
    for (size_t i = 0; i < n; i++) {
        put16(q, (uint16_t)p[i].alen);
        put16(q + 2, (uint16_t)p[i].blen);
        putf(q + 4, (float)p[i].w);
        q += PAIR_FIXED;
        memcpy(q, p[i].a, p[i].alen);
        memcpy(q + p[i].alen, p[i].b, p[i].blen);
        q += p[i].alen + p[i].blen;
    }
    *len = (uint32_t)l;
    return rec;
}

/* The payload of an item record: its id, then the data of an attribute record. */
static uint8_t *encode_item(int kind, const char *id, size_t len, const char *data, size_t dlen,
                            uint32_t *plen)
{
    uint8_t *rec = xmalloc(WR_WAL_RECORD_HEADER + ITEM_FIXED + len + dlen),
            *q = rec + WR_WAL_RECORD_HEADER;
    put32(q, 0);
    put16(q + 4, (uint16_t)kind);
    put16(q + 6, (uint16_t)len);
    memcpy(q + ITEM_FIXED, id, len);
    if (dlen)
        memcpy(q + ITEM_FIXED + len, data, dlen);
    *plen = (uint32_t)(ITEM_FIXED + len + dlen);
    return rec;
}

/* What the payload of a record says; n = 0 for an item record. */
typedef struct payload {
    uint32_t n;
    int kind;
    const char *id;
    size_t len;
    const char *data; /* an attribute record's */
    size_t dlen;
} payload;

#define WHY_MAX 96
static const char *decode_item(const uint8_t *p, uint32_t len, payload *out, char *why)
{
    if (len < ITEM_FIXED + 1)
        return "item record cut short";
    int kind = get16(p + 4);
    size_t n = get16(p + 6);
    const char *bad;
    if (kind < WR_WAL_HIDE || kind > WR_WAL_ATTRS)
        return "item record of an unknown kind";
    if (kind == WR_WAL_ATTRS ? n >= len - ITEM_FIXED : n != len - ITEM_FIXED)
        return "item record's id length differs from the record length";
    if ((bad = wal_check_id((const char *)p + ITEM_FIXED, n))) {
        snprintf(why, WHY_MAX, "item record: id %s", bad);
        return why;
    }
    *out = (payload){0, kind, (const char *)p + ITEM_FIXED, n,
                     (const char *)p + ITEM_FIXED + n, len - ITEM_FIXED - n};
    return NULL;
}

/* Checks a payload into *rec; fills out[0..n) of a pair record when out is not NULL. NULL,
 * or what is wrong written into why[WHY_MAX]. */
static const char *decode(const uint8_t *p, uint32_t len, wr_wal_pair *out, payload *rec,
                          char *why)
{
    uint32_t n = get32(p);
    size_t at = 4;
    if (n == 0) /* a pair record holds at least one pair: the tag of an item record */
        return decode_item(p, len, rec, why);
    if (n > (len - at) / (PAIR_FIXED + 2))
        return "pair count does not fit the record length";
    for (uint32_t i = 0; i < n; i++) {
        if (len - at < PAIR_FIXED)
            return "pair runs past the end of the record";
        size_t alen = get16(p + at), blen = get16(p + at + 2);
        float w = getf(p + at + 4);
        at += PAIR_FIXED;
        if (alen + blen > len - at)
            return "pair runs past the end of the record";
        const char *a = (const char *)p + at, *b = a + alen, *bad;
        if ((bad = wal_check_id(a, alen)) || (bad = wal_check_id(b, blen))) {
            snprintf(why, WHY_MAX, "pair %u: id %s", i, bad);
            return why;
        }
        if ((bad = check_weight(w))) {
            snprintf(why, WHY_MAX, "pair %u: %s", i, bad);
            return why;
        }
        if (out)
            out[i] = (wr_wal_pair){a, b, alen, blen, w};
        at += alen + blen;
    }
    if (at != len)
        return "bytes after the last pair of the record";
    *rec = (payload){n, 0, NULL, 0, NULL, 0};
    return NULL;
}

/* A read-only window [lo, hi) of the file. */
typedef struct view {
    const uint8_t *p;
    uint64_t lo, hi;
} view;

typedef struct rec_info {
    uint32_t len;
    payload pl;     /* pl.n pairs, or an item record */
    uint64_t durable;
    int sum_ok; /* the checksum matched: a bad record is then corruption, never a torn write */
    int cut;    /* the file ends inside the record: it may still be being written */
    char why[WHY_MAX];
} rec_info;

/* NULL if a whole valid record starts at off, else what is wrong with it. */
static const char *check_record(const view *v, uint64_t off, rec_info *r)
{
    const uint8_t *h = v->p + (off - v->lo);
    r->sum_ok = 0;
    r->cut = 1;
    if (v->hi - off < WR_WAL_RECORD_HEADER)
        return "record header cut short by the end of the file";
    r->len = get32(h + 4);
    r->durable = get64(h + 16);
    r->cut = 0;
    if (r->len < WR_WAL_PAYLOAD_MIN || r->len > WR_WAL_RECORD_MAX)
        return "record length out of range";
    if ((r->cut = r->len > v->hi - off - WR_WAL_RECORD_HEADER))
        return "record runs past the end of the file";
    if (crc(h + 4, WR_WAL_RECORD_HEADER - 4 + r->len) != get32(h))
        return "checksum mismatch";
    r->sum_ok = 1;
    if (get64(h + 8) != off)
        return "stored offset differs from the record's position";
    if (r->durable > off || r->durable < WR_WAL_HEADER)
        return "stored durable position is impossible";
    return decode(h + WR_WAL_RECORD_HEADER, r->len, NULL, &r->pl, r->why);
}

/* A cheap filter before check_record when hunting for records at arbitrary offsets. */
static int plausible(const view *v, uint64_t off)
{
    const uint8_t *h = v->p + (off - v->lo);
    uint32_t len = get32(h + 4);
    return get64(h + 8) == off && len >= WR_WAL_PAYLOAD_MIN && len <= WR_WAL_RECORD_MAX &&
           len <= v->hi - off - WR_WAL_RECORD_HEADER;
}

/* After a bad record at x: the offset of a valid later record that was written when x was
 * already durable (so x was acknowledged data, now damaged), or 0 if there is none (x
 * starts a torn tail). */
static uint64_t durable_successor(const view *v, uint64_t x)
{
    uint64_t y = x + 1;
    while (y + WR_WAL_RECORD_HEADER <= v->hi) {
        rec_info r;
        if (!plausible(v, y) || check_record(v, y, &r)) {
            y++;
            continue;
        }
        if (r.durable > x)
            return y;
        y += WR_WAL_RECORD_HEADER + r.len;
    }
    return 0;
}

/* ---- opening and recovery ---- */

static void make_header(uint8_t h[WR_WAL_HEADER], uint32_t version)
{
    memcpy(h, wal_magic, 8);
    put32(h + 8, version);
    put32(h + 12, crc(h, 12));
}

static int fsync_dir(const char *dir, wr_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return wr_fail(err, "%s: %s", dir, strerror(errno));
    int rc = fsync(fd) < 0 && errno != EINVAL ? wr_fail(err, "%s: fsync: %s", dir, strerror(errno))
                                              : 0;
    close(fd);
    return rc;
}

static int parent_fsync(const char *path, wr_err *err)
{
    char *copy = xstrdup(path);
    int rc = fsync_dir(dirname(copy), err);
    free(copy);
    return rc;
}

static int make_dir(const char *dir, wr_err *err)
{
    if (mkdir(dir, 0755) == 0)
        return parent_fsync(dir, err);
    if (errno == EEXIST)
        return 0;
    return wr_fail(err, "%s: mkdir: %s", dir, strerror(errno));
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        p += k, n -= (size_t)k, off += (uint64_t)k;
    }
    return 0;
}

/* Writes the file header over an empty file or a torn prefix of a header. */
static int create_log(int fd, const char *path, wr_err *err)
{
    uint8_t h[WR_WAL_HEADER];
    make_header(h, WAL_VERSION_PAIRS);
    if (pwrite_all(fd, h, sizeof h, 0) < 0)
        return wr_fail(err, "%s: write: %s", path, strerror(errno));
    if (fsync(fd) < 0)
        return wr_fail(err, "%s: fsync: %s", path, strerror(errno));
    return parent_fsync(path, err);
}

/* 1 if the file needs a header (empty or a torn one), 0 if its header is good (*version),
 * -1 if bad. */
static int check_header(int fd, const char *path, uint64_t size, uint32_t *version, wr_err *err)
{
    uint8_t want[WR_WAL_HEADER], h[WR_WAL_HEADER];
    size_t n = size < WR_WAL_HEADER ? (size_t)size : WR_WAL_HEADER;
    make_header(want, WAL_VERSION_PAIRS);
    if (pread(fd, h, n, 0) != (ssize_t)n)
        return wr_fail(err, "%s: read: %s", path, strerror(errno));
    if (n < WR_WAL_HEADER) {
        if (memcmp(h, want, n) == 0)
            return 1;
        return wr_fail(err, "%s: not a walkrec pair log (%zu-byte file with a wrong header)",
                       path, n);
    }
    if (memcmp(h, wal_magic, 8))
        return wr_fail(err, "%s: not a walkrec pair log (bad magic)", path);
    *version = get32(h + 8);
    if (*version < WAL_VERSION_PAIRS || *version > WAL_VERSION)
        return wr_fail(err, "%s: pair log format version %u; this build reads versions %d to "
                       "%d", path, *version, WAL_VERSION_PAIRS, WAL_VERSION);
    if (get32(h + 12) != crc(h, 12))
        return wr_fail(err, "%s: file header checksum mismatch", path);
    return 0;
}

/* Reads the records after the header, cuts a torn tail; *end = the recovered log end. */
static int recover(int fd, const char *path, uint64_t size, int flags, wr_wal_info *info,
                   uint64_t *end, wr_err *err)
{
    uint64_t off = WR_WAL_HEADER;
    const char *why = NULL;
    *end = off;
    if (size == off)
        return 0;
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return wr_fail(err, "%s: mmap: %s", path, strerror(errno));
    madvise(map, (size_t)size, MADV_SEQUENTIAL);
    view v = {map, 0, size};
    rec_info r;
    while (off < size && !(why = check_record(&v, off, &r))) {
        off += WR_WAL_RECORD_HEADER + r.len;
        info->records++;
        info->pairs += r.pl.n;
        info->items += !r.pl.n;
    }
    int rc = 0;
    if (off < size) {
        uint64_t follow = r.sum_ok ? off : durable_successor(&v, off);
        snprintf(info->cut_why, sizeof info->cut_why, "%s", why);
        if (follow) {
            info->corrupt_at = off;
            if (!(flags & WR_WAL_REPAIR) && follow == off)
                rc = wr_fail(err, "%s: corrupt record at byte offset %llu: %s (its checksum is "
                                  "right: not a torn write)",
                             path, (unsigned long long)off, why);
            else if (!(flags & WR_WAL_REPAIR))
                rc = wr_fail(err, "%s: corrupt record at byte offset %llu: %s; the record at "
                                  "offset %llu was written after it was on disk, so acknowledged "
                                  "data is damaged and the log is not cut",
                             path, (unsigned long long)off, why, (unsigned long long)follow);
        }
        if (rc == 0) {
            info->cut_at = off;
            info->cut_bytes = size - off;
            if (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0)
                rc = wr_fail(err, "%s: truncating at %llu: %s", path, (unsigned long long)off,
                             strerror(errno));
        }
    }
    munmap(map, (size_t)size);
    *end = off;
    return rc;
}

static int open_log(const char *path, int flags, wr_wal_info *info, uint64_t *end,
                    uint32_t *version, wr_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return wr_fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        rc = wr_fail(err, "%s: %s", path,
                     errno == EWOULDBLOCK ? "in use: another process (or another wal_open) holds its lock"
                                           : strerror(errno));
    else if (fstat(fd, &st) < 0)
        rc = wr_fail(err, "%s: %s", path, strerror(errno));
    else if ((rc = check_header(fd, path, (uint64_t)st.st_size, version, err)) == 1) {
        info->created = 1;
        *version = WAL_VERSION_PAIRS;
        *end = WR_WAL_HEADER;
        rc = create_log(fd, path, err);
    } else if (rc == 0) {
        rc = recover(fd, path, (uint64_t)st.st_size, flags, info, end, err);
    }
    if (rc < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

wr_wal *wal_open(const char *dir, int flags, wr_wal_info *info, wr_err *err)
{
    wr_wal_info unused;
    if (!info)
        info = &unused;
    memset(info, 0, sizeof *info);
    if (make_dir(dir, err) < 0)
        return NULL;
    size_t len = strlen(dir) + sizeof WR_WAL_FILE + 1;
    char *path = xmalloc(len);
    snprintf(path, len, "%s/%s", dir, WR_WAL_FILE);
    uint64_t end = WR_WAL_HEADER;
    uint32_t version = WAL_VERSION_PAIRS;
    int fd = open_log(path, flags, info, &end, &version, err);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    info->end = end;
    wr_wal *w = xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->synced, NULL);
    w->fd = fd;
    w->path = path;
    w->end = w->durable = end;
    w->records = info->records;
    w->pairs = info->pairs;
    w->items = info->items;
    w->version = version;
    return w;
}

void wal_close(wr_wal *w)
{
    if (!w)
        return;
    close(w->fd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->synced);
    free(w->path);
    free(w);
}

const char *wal_path(const wr_wal *w) { return w->path; }

/* ---- appending ---- */

static int refuse(wr_wal *w, wr_err *err)
{
    return wr_fail(err, "%s: the log refuses appends after an earlier I/O error (%s); reopen it",
                   w->path, strerror(w->failed));
}

/* Group commit: with the mutex held, waits until `pos` is durable. The first waiter runs
 * fdatasync with the mutex released, covering every record written so far; the records that
 * arrive meanwhile are covered by the next one. */
static int wait_durable(wr_wal *w, uint64_t pos, wr_err *err)
{
    while (w->durable < pos && !w->failed) {
        if (w->syncing) {
            pthread_cond_wait(&w->synced, &w->mu);
            continue;
        }
        uint64_t target = w->end;
        w->syncing = 1;
        pthread_mutex_unlock(&w->mu);
        int rc = fdatasync(w->fd), e = errno;
        pthread_mutex_lock(&w->mu);
        w->syncing = 0;
        w->syncs++;
        if (rc < 0)
            w->failed = e; /* the kernel may have dropped the dirty pages: never retry */
        else
            w->durable = target;
        pthread_cond_broadcast(&w->synced);
    }
    return w->durable >= pos ? 0 : refuse(w, err);
}

/* A log says version 2 before its first hide, unhide or delete record, and version 3 before
 * its first attribute record, so that an older build refuses the log by its version instead
 * of calling the record corrupt. The 16 bytes sit in the file's first sector: the write is
 * whole or not at all. With the mutex held. */
static int upgrade(wr_wal *w, uint32_t version, wr_err *err)
{
    uint8_t h[WR_WAL_HEADER];
    if (w->version >= version)
        return 0;
    make_header(h, version);
    if (pwrite_all(w->fd, h, sizeof h, 0) < 0 || fdatasync(w->fd) < 0) {
        w->failed = errno;
        return wr_fail(err, "%s: writing the version %u header: %s", w->path, version,
                       strerror(errno));
    }
    w->version = version;
    return 0;
}

/* Appends k records back to back (recs[i]: len[i] payload bytes behind its header, freed
 * here) and waits once until they are durable, pos[i] (pos may be NULL) the position after
 * record i. npairs: the pairs of a pair record (k 1), 0 for item records; version: the
 * log's version they need. A failed write drops the record it cut; the records of the
 * batch before it stay, unacknowledged (at-least-once, as a failed append). */
static int write_records(wr_wal *w, uint8_t **recs, const uint32_t *len, size_t k,
                         size_t npairs, uint32_t version, uint64_t *pos, wr_err *err)
{
    int rc;
    pthread_mutex_lock(&w->mu);
    if (w->failed) {
        rc = refuse(w, err);
        goto out;
    }
    if ((rc = upgrade(w, version, err)) < 0)
        goto out;
    for (size_t i = 0; i < k; i++) {
        uint8_t *rec = recs[i];
        uint32_t body = crc(rec + WR_WAL_RECORD_HEADER, len[i]);
        size_t total = WR_WAL_RECORD_HEADER + (size_t)len[i];
        uint64_t at = w->end;
        put32(rec + 4, len[i]);
        put64(rec + 8, at);
        put64(rec + 16, w->durable);
        put32(rec, (uint32_t)crc32_combine(crc(rec + 4, WR_WAL_RECORD_HEADER - 4), body,
                                           (z_off_t)len[i]));
        if (pwrite_all(w->fd, rec, total, at) < 0) {
            rc = wr_fail(err, "%s: write: %s", w->path, strerror(errno));
            if (ftruncate(w->fd, (off_t)at) < 0) /* drop the partial record */
                w->failed = errno;
            goto out;
        }
        w->end = at + total;
        w->records++;
        w->pairs += npairs;
        w->items += !npairs;
        if (pos)
            pos[i] = w->end;
    }
    w->appends++;
    rc = wait_durable(w, w->end, err);
out:
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < k; i++)
        free(recs[i]);
    return rc;
}

int wal_append(wr_wal *w, const wr_wal_pair *p, size_t n, uint64_t *pos, wr_err *err)
{
    size_t bad;
    wr_err e;
    if (wal_check(p, n, &bad, &e) < 0)
        return n ? wr_fail(err, "pair %zu: %s", bad, e.msg) : wr_fail(err, "%s", e.msg);
    uint32_t len;
    uint8_t *rec = encode(p, n, &len);
    return write_records(w, &rec, &len, 1, n, WAL_VERSION_PAIRS, pos, err);
}

int wal_append_items(wr_wal *w, int kind, const wr_wal_item *it, size_t n, uint64_t *pos,
                     wr_err *err)
{
    if (kind < WR_WAL_HIDE || kind > WR_WAL_ATTRS)
        return wr_fail(err, "unknown item record kind %d", kind);
    for (size_t i = 0; i < n; i++) {
        const char *why = wal_check_id(it[i].id, it[i].len);
        if (why)
            return wr_fail(err, "id %s", why);
        if ((kind == WR_WAL_ATTRS) != (it[i].dlen > 0) ||
            ITEM_FIXED + it[i].len + it[i].dlen > WR_WAL_RECORD_MAX)
            return wr_fail(err, "an attribute record takes 1 to %u bytes of data, other item "
                           "records none", (unsigned)(WR_WAL_RECORD_MAX - ITEM_FIXED - it[i].len));
    }
    uint8_t **recs = xmalloc((n + 1) * sizeof *recs);
    uint32_t *plen = xmalloc((n + 1) * sizeof *plen);
    for (size_t i = 0; i < n; i++)
        recs[i] = encode_item(kind, it[i].id, it[i].len, it[i].data, it[i].dlen, &plen[i]);
    int rc = write_records(w, recs, plen, n, 0,
                           kind == WR_WAL_ATTRS ? WAL_VERSION : WAL_VERSION_ITEMS, pos, err);
    free(recs);
    free(plen);
    return rc;
}

int wal_append_item(wr_wal *w, int kind, const char *id, size_t len, const char *data,
                    size_t dlen, uint64_t *pos, wr_err *err)
{
    wr_wal_item it = {id, len, data, dlen};
    return wal_append_items(w, kind, &it, 1, pos, err);
}

void wal_stats(wr_wal *w, wr_wal_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = (wr_wal_stats){w->end, w->durable, w->records, w->pairs, w->items, w->appends,
                         w->syncs};
    pthread_mutex_unlock(&w->mu);
}

/* ---- reading ---- */

/* wal_scan over fd (the log at path) up to stop; tail: a record cut by the end of the file
 * (being written by the process that appends) or any bad record after the first ends the
 * scan quietly; a bad first one means `from` is no longer a record boundary. */
static int scan(int fd, const char *path, uint64_t from, uint64_t stop, int tail, wr_wal_fn fn,
                wr_wal_item_fn item_fn, void *ud, uint64_t *end, wr_err *err)
{
    if (from < WR_WAL_HEADER)
        from = WR_WAL_HEADER;
    if (end)
        *end = from;
    if (from > stop)
        return wr_fail(err, "%s: position %llu is past the end of the log (%llu)", path,
                       (unsigned long long)from, (unsigned long long)stop);
    if (from == stop)
        return 0;
    /* map from the page holding `from`: a late start does not touch the whole log */
    uint64_t lo = from & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);
    void *map = mmap(NULL, (size_t)(stop - lo), PROT_READ, MAP_SHARED, fd, (off_t)lo);
    if (map == MAP_FAILED)
        return wr_fail(err, "%s: mmap: %s", path, strerror(errno));
    madvise(map, (size_t)(stop - lo), MADV_SEQUENTIAL);
    view v = {map, lo, stop};
    wr_wal_pair *pp = NULL;
    size_t cap = 0;
    uint64_t off = from;
    int rc = 0;
    while (off < stop) {
        rec_info r;
        const char *why = check_record(&v, off, &r);
        if (why && tail && (off > from || r.cut))
            break;
        if (why) {
            rc = wr_failc(err, tail ? WR_ESTATE : WR_ECORRUPT, "%s: bad record at byte offset %llu: %s%s", path,
                         (unsigned long long)off, why,
                         off == from && from != WR_WAL_HEADER ? " (is the start a record boundary?)" : "");
            break;
        }
        uint32_t n = r.pl.n; /* check_record decoded the record once: 0 for an item */
        if (n > cap) {
            cap = n;
            pp = xrealloc(pp, cap * sizeof *pp);
        }
        payload pl;
        decode(v.p + (off - lo) + WR_WAL_RECORD_HEADER, r.len, n ? pp : NULL, &pl, r.why);
        uint64_t at = off;
        off += WR_WAL_RECORD_HEADER + r.len;
        if (n ? fn && (rc = fn(ud, at, pp, n))
              : item_fn && (rc = item_fn(ud, at, pl.kind, pl.id, pl.len, pl.data, pl.dlen)))
            break;
    }
    if (end)
        *end = off;
    free(pp);
    munmap(map, (size_t)(stop - lo));
    return rc;
}

int wal_scan_all(wr_wal *w, uint64_t from, wr_wal_fn fn, wr_wal_item_fn item_fn, void *ud,
                 uint64_t *end, wr_err *err)
{
    pthread_mutex_lock(&w->mu);
    uint64_t stop = w->durable;
    pthread_mutex_unlock(&w->mu);
    return scan(w->fd, w->path, from, stop, 0, fn, item_fn, ud, end, err);
}

int wal_scan(wr_wal *w, uint64_t from, wr_wal_fn fn, void *ud, uint64_t *end, wr_err *err)
{
    return wal_scan_all(w, from, fn, NULL, ud, end, err);
}

static int add_pairs(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    wr_pairs *out = ud;
    for (size_t i = 0; i < n; i++)
        pairs_add(out, p[i].a, p[i].alen, p[i].b, p[i].blen, (float)p[i].w);
    return 0;
}

int wal_load(wr_wal *w, uint64_t from, wr_pairs *out, uint64_t *end, wr_err *err)
{
    return wal_scan(w, from, add_pairs, out, end, err);
}

int wal_scan_file_all(const char *path, uint64_t from, uint64_t stop, wr_wal_fn fn,
                      wr_wal_item_fn item_fn, void *ud, uint64_t *end, wr_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wr_failc(err, errno == ENOENT ? WR_ENOTFOUND : WR_EIO, "%s: %s", path,
                        strerror(errno));
    int tail = !stop, rc = 0;
    struct stat st;
    if (tail) {
        if (fstat(fd, &st) < 0)
            rc = wr_failc(err, WR_EIO, "%s: %s", path, strerror(errno));
        else if ((uint64_t)st.st_size < (from > WR_WAL_HEADER ? from : WR_WAL_HEADER))
            rc = wr_failc(err, WR_ESTATE, "%s: the log is shorter (%lld bytes) than position "
                          "%llu", path, (long long)st.st_size, (unsigned long long)from);
        stop = (uint64_t)st.st_size;
    }
    if (rc == 0)
        rc = scan(fd, path, from, stop, tail, fn, item_fn, ud, end, err);
    close(fd);
    return rc;
}

int wal_scan_file(const char *path, uint64_t from, uint64_t stop, wr_wal_fn fn, void *ud,
                  uint64_t *end, wr_err *err)
{
    return wal_scan_file_all(path, from, stop, fn, NULL, ud, end, err);
}

/* ---- deletions: what training leaves out ---- */

static int note_delete(void *ud, uint64_t off, int kind, const char *id, size_t len,
                       const char *data, size_t dlen)
{
    (void)data, (void)dlen;
    wr_wal_deletes *d = ud;
    if (kind != WR_WAL_DELETE)
        return 0;
    uint32_t i = dict_intern(d->ids, id, len);
    if (i >= d->cap) {
        d->cap = d->cap ? 2 * d->cap : 16;
        d->at = xrealloc(d->at, d->cap * sizeof *d->at);
    }
    d->at[i] = off; /* records come in order: the last delete of the item wins */
    return 0;
}

int wal_deletes_file(const char *path, uint64_t stop, wr_wal_deletes *out, wr_err *err)
{
    *out = (wr_wal_deletes){dict_new(16), NULL, 0};
    int rc = wal_scan_file_all(path, WR_WAL_HEADER, stop, NULL, note_delete, out, NULL, err);
    if (rc < 0)
        wal_deletes_free(out);
    return rc;
}

void wal_deletes_free(wr_wal_deletes *d)
{
    dict_free(d->ids);
    free(d->at);
    *d = (wr_wal_deletes){0};
}

int wal_deleted_after(const wr_wal_deletes *d, const char *id, size_t len, uint64_t off)
{
    int64_t i = d && d->ids ? dict_find(d->ids, id, len) : -1;
    return i >= 0 && d->at[i] > off;
}

typedef struct load_ctx {
    wr_pairs *out;
    const wr_wal_deletes *del;
} load_ctx;

static int add_kept(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    load_ctx *c = ud;
    for (size_t i = 0; i < n; i++)
        if (!wal_deleted_after(c->del, p[i].a, p[i].alen, off) &&
            !wal_deleted_after(c->del, p[i].b, p[i].blen, off))
            pairs_add(c->out, p[i].a, p[i].alen, p[i].b, p[i].blen, (float)p[i].w);
    return 0;
}

int wal_load_file(const char *path, uint64_t stop, const wr_wal_deletes *del, wr_pairs *out,
                  wr_err *err)
{
    load_ctx c = {out, del};
    return wal_scan_file(path, WR_WAL_HEADER, stop, add_kept, &c, NULL, err);
}
