/* test_wal.c - the pair write-ahead log: round trips, reopening, torn tails cut at every byte,
 * corrupt middles named by offset, group-commit windows, bad headers, bad batches, concurrent
 * appends, a writer killed with SIGKILL at random moments, and item records (hide, unhide,
 * delete): their round trip, a version 1 log taking its first one, their damage, and the
 * pairs a delete leaves out of training. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "walkrec/wal.h"

/* ---- scratch directories: tmpfs for the format tests (fsync is free there), the real disk
 * for the concurrency and kill tests ---- */

static char root[256], dir[300], logpath[350];

static void scratch(int on_disk)
{
    const char *base = !on_disk && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(root, sizeof root, "%s/wr_test_wal_XXXXXX", base);
    assert_non_null(mkdtemp(root));
    snprintf(dir, sizeof dir, "%s/data", root); /* wal_open creates it */
    snprintf(logpath, sizeof logpath, "%s/%s", dir, WR_WAL_FILE);
}

static void scratch_done(void)
{
    unlink(logpath);
    rmdir(dir);
    assert_int_equal(rmdir(root), 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spit(const char *path, const void *b, size_t len)
{
    mkdir(dir, 0755);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static size_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

/* ---- deterministic batches: batch (tag, k) of n pairs, recognisable from its first id ---- */

typedef struct batch {
    wr_wal_pair *p;
    size_t n;
    char *ids;
} batch;

#define ID_ROOM (WR_ID_MAX + 1)

static size_t make_id(char *s, uint32_t tag, uint32_t k, size_t i, int side, int longest)
{
    int len = snprintf(s, ID_ROOM, "t%u-k%u-i%zu-%s", tag, k, i, side ? "b\xc3\xa9" : "a\xe2\x9c\x93");
    size_t want = (size_t)len + (i * 31 + k) % 40;
    if (longest || (i + k) % 97 == 5)
        want = WR_ID_MAX;
    memset(s + len, 'z', want - (size_t)len);
    return want;
}

/* Batch k of `tag`, n pairs; `longest` makes every id WR_ID_MAX bytes. */
static void make_batch_ids(batch *b, uint32_t tag, uint32_t k, size_t n, int longest)
{
    b->n = n;
    b->p = malloc(n * sizeof *b->p);
    b->ids = malloc(n * 2 * ID_ROOM);
    for (size_t i = 0; i < n; i++) {
        char *a = b->ids + 2 * i * ID_ROOM, *c = a + ID_ROOM;
        b->p[i] = (wr_wal_pair){a, c, make_id(a, tag, k, i, 0, longest),
                                make_id(c, tag, k, i, 1, longest), 0.5 + (k % 7) + 0.25 * (double)i};
    }
}

static void make_batch(batch *b, uint32_t tag, uint32_t k, size_t n)
{
    make_batch_ids(b, tag, k, n, 0);
}

static void free_batch(batch *b)
{
    free(b->p);
    free(b->ids);
}

static int same_batch(const batch *b, const wr_wal_pair *p, size_t n)
{
    if (n != b->n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].alen != b->p[i].alen || p[i].blen != b->p[i].blen || p[i].w != b->p[i].w ||
            memcmp(p[i].a, b->p[i].a, p[i].alen) || memcmp(p[i].b, b->p[i].b, p[i].blen))
            return 0;
    return 1;
}

/* (tag, k) of a record from its first id, "t<tag>-k<k>-...". */
static int batch_key(const wr_wal_pair *p, uint32_t *tag, uint32_t *k)
{
    char s[64], *e;
    *tag = *k = UINT32_MAX;
    size_t l = p[0].alen < sizeof s - 1 ? p[0].alen : sizeof s - 1;
    memcpy(s, p[0].a, l);
    s[l] = 0;
    if (s[0] != 't')
        return -1;
    *tag = (uint32_t)strtoul(s + 1, &e, 10);
    if (e == s + 1 || e[0] != '-' || e[1] != 'k')
        return -1;
    const char *kp = e + 2;
    *k = (uint32_t)strtoul(kp, &e, 10);
    return e != kp && *e == '-' ? 0 : -1;
}

static size_t size_of(uint32_t k) { return 1 + (k * 37) % 60; }

/* Appends batches k0 .. k1-1 of `tag` (sizes size_of(k)); pos[k] = the position after each. */
static void append_range(wr_wal *w, uint32_t tag, uint32_t k0, uint32_t k1, uint64_t *pos)
{
    wr_err err;
    for (uint32_t k = k0; k < k1; k++) {
        batch b;
        make_batch(&b, tag, k, size_of(k));
        uint64_t at = 0;
        if (wal_append(w, b.p, b.n, &at, &err) < 0)
            fail_msg("append %u: %s", k, err.msg);
        if (pos)
            pos[k] = at;
        free_batch(&b);
    }
}

/* Scan callback: records must be batches (tag, 0), (tag, 1), ... in order. */
typedef struct expect {
    uint32_t tag, next;
    uint64_t *pos; /* if set, pos[k] must be the end of record k */
    uint32_t stop_after; /* return 7 after this many records, 0 = never */
} expect;

static int check_next(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    expect *e = ud;
    batch b;
    make_batch(&b, e->tag, e->next, size_of(e->next));
    int same = same_batch(&b, p, n);
    free_batch(&b);
    if (!same)
        fail_msg("record %u at offset %llu differs", e->next, (unsigned long long)off);
    if (e->pos && e->next > 0 && e->pos[e->next - 1] != off)
        fail_msg("record %u at %llu, expected %llu", e->next, (unsigned long long)off,
                 (unsigned long long)e->pos[e->next - 1]);
    e->next++;
    return e->stop_after && e->next == e->stop_after ? 7 : 0;
}

static void expect_records(wr_wal *w, uint32_t tag, uint32_t n)
{
    wr_err err;
    expect e = {tag, 0, NULL, 0};
    if (wal_scan(w, 0, check_next, &e, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(e.next, n);
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
    (void)state;
    scratch(0);
    wr_err err;
    wr_wal_info info;
    wr_wal *w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_true(info.created);
    assert_int_equal(info.records, 0);
    assert_int_equal(info.end, WR_WAL_HEADER);
    enum { N = 300 };
    uint64_t pos[N], total = 0;
    append_range(w, 1, 0, N, pos);
    for (uint32_t k = 0; k < N; k++)
        total += size_of(k);
    for (uint32_t k = 1; k < N; k++)
        assert_true(pos[k] > pos[k - 1]);
    wr_wal_stats st;
    wal_stats(w, &st);
    assert_int_equal(st.end, pos[N - 1]);
    assert_int_equal(st.durable, pos[N - 1]);
    assert_int_equal(st.records, N);
    assert_int_equal(st.pairs, total);
    assert_int_equal(st.appends, N);
    assert_int_equal(st.syncs, N); /* one thread: nobody to share an fdatasync with */
    assert_int_equal(file_size(logpath), pos[N - 1]);

    expect e = {1, 0, pos, 0};
    uint64_t end;
    assert_int_equal(wal_scan(w, 0, check_next, &e, &end, &err), 0);
    assert_int_equal(e.next, N);
    assert_int_equal(end, pos[N - 1]);

    /* from a position: only the later records; a callback's value stops the scan */
    e = (expect){1, 151, pos, 160};
    assert_int_equal(wal_scan(w, pos[150], check_next, &e, &end, &err), 7);
    assert_int_equal(end, pos[159]);
    assert_int_equal(wal_scan(w, pos[N - 1], check_next, &e, &end, &err), 0);
    assert_int_equal(end, pos[N - 1]);
    assert_int_equal(wal_scan(w, pos[150] + 1, check_next, &e, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "record boundary"));
    assert_int_equal(wal_scan(w, pos[N - 1] + 24, check_next, &e, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "past the end"));

    /* into a pair set: every pair, ids intact */
    wr_pairs p;
    pairs_init(&p);
    assert_int_equal(wal_load(w, 0, &p, &end, &err), 0);
    assert_int_equal(p.n, total);
    assert_int_equal(dict_size(p.ids), 2 * total);
    batch b;
    make_batch(&b, 1, 299, size_of(299));
    int64_t ia = dict_find(p.ids, b.p[0].a, b.p[0].alen);
    assert_true(ia >= 0);
    assert_int_equal(dict_find(p.ids, b.p[0].b, b.p[0].blen), p.v[p.n - b.n].b);
    assert_int_equal(p.v[p.n - b.n].a, ia);
    assert_true(p.v[p.n - 1].w == (float)b.p[b.n - 1].w);
    free_batch(&b);
    pairs_free(&p);

    /* by path, as the trainer process reads it: up to a position, the same pairs */
    pairs_init(&p);
    assert_int_equal(wal_load_file(logpath, st.durable, NULL, &p, &err), 0);
    assert_int_equal(p.n, total);
    pairs_free(&p);
    uint64_t first10 = 0;
    for (uint32_t k = 0; k < 10; k++)
        first10 += size_of(k);
    pairs_init(&p);
    assert_int_equal(wal_load_file(logpath, pos[9], NULL, &p, &err), 0);
    assert_int_equal(p.n, first10);
    pairs_free(&p);
    pairs_init(&p);
    assert_int_equal(wal_load_file(logpath, pos[9] - 1, NULL, &p, &err), -1); /* not a boundary */
    assert_non_null(strstr(err.msg, logpath));
    assert_int_equal(wal_load_file("/nonexistent/pairs.wal", pos[9], NULL, &p, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/pairs.wal"));
    pairs_free(&p);

    /* a second opener is refused while the log is open */
    assert_null(wal_open(dir, 0, NULL, &err));
    assert_non_null(strstr(err.msg, "in use"));
    wal_close(w);

    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_false(info.created);
    assert_int_equal(info.records, N);
    assert_int_equal(info.pairs, total);
    assert_int_equal(info.end, pos[N - 1]);
    assert_int_equal(info.cut_bytes, 0);
    wal_close(w);
    scratch_done();
}

static int count(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    (void)off;
    (void)p;
    *(uint64_t *)ud += n;
    return 0;
}

/* A follower's reading of a log another process appends to (wal_scan_file with stop 0): to
 * the last whole record, quietly stopping at one being written, on from where it stopped,
 * and WR_ESTATE when its position is no longer a record boundary. */
static void test_tail(void **state)
{
    (void)state;
    scratch(0);
    wr_err err;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    uint64_t pos[20], pairs = 0, end = 0, first10 = 0, all = 0;
    append_range(w, 3, 0, 20, pos);
    for (uint32_t k = 0; k < 20; k++)
        all += size_of(k), first10 += k < 10 ? size_of(k) : 0;
    assert_int_equal(wal_scan_file(logpath, 0, pos[9], count, &pairs, &end, &err), 0);
    assert_int_equal(pairs, first10);
    assert_int_equal(end, pos[9]);
    pairs = 0;
    assert_int_equal(wal_scan_file(logpath, end, 0, count, &pairs, &end, &err), 0);
    assert_int_equal(pairs, all - first10);
    assert_int_equal(end, pos[19]);
    wal_close(w);

    /* a record being written: half of a copy of the last one at the end of the file */
    size_t len;
    uint8_t *b = slurp(logpath, &len);
    FILE *f = fopen(logpath, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(b + pos[18], 1, (pos[19] - pos[18]) / 2, f), (pos[19] - pos[18]) / 2);
    fclose(f);
    free(b);
    pairs = 0;
    assert_int_equal(wal_scan_file(logpath, end, 0, count, &pairs, &end, &err), 0);
    assert_int_equal(pairs, 0);
    assert_int_equal(end, pos[19]);
    pairs = 0;
    assert_int_equal(wal_scan_file(logpath, 0, 0, count, &pairs, &end, &err), 0);
    assert_int_equal(pairs, all);
    assert_int_equal(end, pos[19]);

    /* not a boundary; past the end of the file; no file */
    assert_int_equal(wal_scan_file(logpath, pos[9] + 1, 0, count, &pairs, &end, &err), -1);
    assert_int_equal(err.code, WR_ESTATE);
    assert_int_equal(wal_scan_file(logpath, pos[19] + 4096, 0, count, &pairs, &end, &err), -1);
    assert_int_equal(err.code, WR_ESTATE);
    assert_int_equal(wal_scan_file("/nonexistent/pairs.wal", 0, 0, count, &pairs, &end, &err), -1);
    assert_int_equal(err.code, WR_ENOTFOUND);
    scratch_done();
}

static void test_reopen_appends(void **state)
{
    (void)state;
    scratch(0);
    wr_err err;
    wr_wal_info info;
    uint64_t pos[15];
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    append_range(w, 2, 0, 10, pos);
    wal_close(w);
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.records, 10);
    assert_int_equal(info.end, pos[9]);
    append_range(w, 2, 10, 15, pos);
    assert_true(pos[10] > pos[9]);
    wal_close(w);
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.records, 15);
    expect_records(w, 2, 15);
    wal_close(w);
    scratch_done();
}

/* A log of 3 records in memory: the bytes and the ends of the records. */
static uint8_t *three_records(uint64_t end[3], size_t *len)
{
    scratch(0);
    wr_err err;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    append_range(w, 3, 0, 3, end);
    wal_close(w);
    uint8_t *b = slurp(logpath, len);
    assert_int_equal(*len, end[2]);
    return b;
}

static void open_expect_cut(const void *bytes, size_t len, uint64_t cut_at, uint64_t cut,
                            uint32_t left)
{
    wr_err err;
    wr_wal_info info;
    spit(logpath, bytes, len);
    wr_wal *w = wal_open(dir, 0, &info, &err);
    if (!w)
        fail_msg("%zu bytes: %s", len, err.msg);
    assert_int_equal(info.records, left);
    assert_int_equal(info.cut_bytes, cut);
    assert_int_equal(info.corrupt_at, 0);
    if (cut) {
        assert_int_equal(info.cut_at, cut_at);
        assert_true(info.cut_why[0]);
    }
    assert_int_equal(file_size(logpath), cut_at);
    expect_records(w, 3, left);
    wal_close(w);
}

static void test_torn_tail(void **state)
{
    (void)state;
    uint64_t end[3];
    size_t len;
    uint8_t *log = three_records(end, &len);
    uint8_t *z = malloc(len + 100);
    for (uint64_t l = end[1]; l < end[2]; l++) {
        /* cut short by a crash at every byte of the last record */
        open_expect_cut(log, l, end[1], l - end[1], 2);
        /* the file grew but the last pages never arrived: zeros from byte l on */
        memcpy(z, log, len);
        memset(z + l, 0, len - l);
        open_expect_cut(z, len, end[1], len - end[1], 2);
    }
    /* garbage after the last whole record */
    memcpy(z, log, len);
    for (int i = 0; i < 100; i++)
        z[len + i] = (uint8_t)(i * 73 + 11);
    open_expect_cut(z, len + 100, end[2], 100, 3);
    open_expect_cut(log, len, end[2], 0, 3);

    /* after a cut the log goes on where it was cut */
    wr_err err;
    wr_wal_info info;
    spit(logpath, log, end[1] + 30);
    wr_wal *w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    uint64_t pos[3];
    append_range(w, 3, 2, 3, pos);
    assert_int_equal(pos[2], end[2]);
    wal_close(w);
    uint8_t *again = slurp(logpath, &len);
    assert_int_equal(len, end[2]);
    assert_memory_equal(again, log, len);
    free(again);
    free(z);
    free(log);
    scratch_done();
}

static void test_corrupt_middle(void **state)
{
    (void)state;
    scratch(0);
    wr_err err;
    wr_wal_info info;
    uint64_t end[5];
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    append_range(w, 3, 0, 5, end);
    wal_close(w);
    size_t len;
    uint8_t *log = slurp(logpath, &len);
    uint8_t *bad = malloc(len);
    char want[64];
    snprintf(want, sizeof want, "byte offset %llu:", (unsigned long long)end[1]);
    /* every byte of the third record, flipped: an error naming its offset; nothing changed */
    for (uint64_t j = end[1]; j < end[2]; j++) {
        memcpy(bad, log, len);
        bad[j] ^= 0x5a;
        spit(logpath, bad, len);
        assert_null(wal_open(dir, 0, &info, &err));
        if (!strstr(err.msg, want))
            fail_msg("byte %llu: %s", (unsigned long long)j, err.msg);
        assert_int_equal(info.corrupt_at, end[1]);
        assert_int_equal(file_size(logpath), len);
    }
    /* an impossible length, not at the tail */
    for (int v = 0; v < 2; v++) {
        memcpy(bad, log, len);
        memset(bad + end[1] + 4, v ? 0xff : 0, 4);
        spit(logpath, bad, len);
        assert_null(wal_open(dir, 0, &info, &err));
        assert_non_null(strstr(err.msg, want));
        assert_non_null(strstr(err.msg, "length out of range"));
    }
    /* a flipped byte in the last record looks like a torn write: cut, and said why */
    memcpy(bad, log, len);
    bad[end[3] + 30] ^= 1;
    spit(logpath, bad, len);
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.cut_at, end[3]);
    assert_non_null(strstr(info.cut_why, "checksum"));
    wal_close(w);
    /* repair cuts at the corrupt record */
    memcpy(bad, log, len);
    bad[end[1] + 40] ^= 1;
    spit(logpath, bad, len);
    w = wal_open(dir, WR_WAL_REPAIR, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.corrupt_at, end[1]);
    assert_int_equal(info.cut_at, end[1]);
    assert_int_equal(info.cut_bytes, len - end[1]);
    assert_int_equal(info.records, 2);
    expect_records(w, 3, 2);
    wal_close(w);
    free(bad);
    free(log);
    scratch_done();
}

/* ---- hand-made logs, written from the format in wal.h alone ---- */

static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

/* Appends a record of batch (4, k) at *len with the given durable field. */
static void craft(uint8_t *buf, size_t *len, uint32_t k, uint64_t durable)
{
    batch b;
    make_batch(&b, 4, k, size_of(k));
    uint8_t *r = buf + *len, *q = r + 28;
    for (size_t i = 0; i < b.n; i++) {
        float f = (float)b.p[i].w;
        uint32_t u;
        memcpy(&u, &f, 4);
        le(q, b.p[i].alen, 2);
        le(q + 2, b.p[i].blen, 2);
        le(q + 4, u, 4);
        memcpy(q + 8, b.p[i].a, b.p[i].alen);
        memcpy(q + 8 + b.p[i].alen, b.p[i].b, b.p[i].blen);
        q += 8 + b.p[i].alen + b.p[i].blen;
    }
    le(r + 24, b.n, 4);
    uint32_t plen = (uint32_t)(q - r - 24);
    le(r + 4, plen, 4);
    le(r + 8, *len, 8);
    le(r + 16, durable, 8);
    le(r, crc32(0, r + 4, 20 + plen), 4);
    *len += 24 + plen;
    free_batch(&b);
}

static void craft_header(uint8_t *h, uint32_t version)
{
    static const uint8_t magic[8] = {'W', 'R', 'P', 'A', 'I', 'R', 'S', '\n'};
    memcpy(h, magic, sizeof magic);
    le(h + 8, version, 4);
    le(h + 12, crc32(0, h, 12), 4);
}

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Walks a log file by the format alone: the number of records written while an earlier one
 * was still waiting for its fdatasync (durable < off). */
static uint32_t count_waiting(const char *path, uint32_t *records)
{
    size_t len;
    uint8_t *b = slurp(path, &len);
    uint64_t off = 16, last = 16;
    uint32_t waiting = 0;
    *records = 0;
    while (off < len) {
        uint64_t plen = rd(b + off + 4, 4), durable = rd(b + off + 16, 8);
        assert_int_equal(rd(b + off, 4), crc32(0, b + off + 4, (uInt)(20 + plen)));
        assert_int_equal(rd(b + off + 8, 8), off);
        assert_true(durable <= off && durable >= last);
        waiting += durable < off;
        last = durable;
        off += 24 + plen;
        (*records)++;
    }
    assert_int_equal(off, len);
    free(b);
    return waiting;
}

/* Four records; the last two written while the second was waiting for its fsync (durable
 * = e[0]), and with `synced_before_last` the fourth after the third was durable. */
static size_t window_log(uint8_t *buf, uint64_t e[4], int synced_before_last)
{
    size_t len = 16;
    craft_header(buf, 1);
    craft(buf, &len, 0, 16), e[0] = len;
    craft(buf, &len, 1, e[0]), e[1] = len;
    craft(buf, &len, 2, e[0]), e[2] = len;
    craft(buf, &len, 3, synced_before_last ? e[2] : e[0]), e[3] = len;
    return len;
}

static void test_handmade_and_group_window(void **state)
{
    (void)state;
    scratch(0);
    uint8_t *buf = malloc(1 << 20);
    uint64_t e[4];
    wr_err err;
    wr_wal_info info;
    size_t len = window_log(buf, e, 0);
    spit(logpath, buf, len);
    wr_wal *w = wal_open(dir, 0, &info, &err);
    if (!w)
        fail_msg("%s", err.msg);
    assert_int_equal(info.records, 4);
    expect ex = {4, 0, e, 0};
    assert_int_equal(wal_scan(w, 0, check_next, &ex, NULL, &err), 0);
    assert_int_equal(ex.next, 4);
    wal_close(w);

    /* the third record damaged, the fourth intact but written before the third was synced:
     * a power loss in a group commit, nothing after the second was acknowledged */
    buf[e[1] + 50] ^= 1;
    spit(logpath, buf, len);
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.records, 2);
    assert_int_equal(info.cut_at, e[1]);
    wal_close(w);
    /* the second damaged: the third and fourth say it was not yet durable */
    len = window_log(buf, e, 0);
    buf[e[0] + 50] ^= 1;
    spit(logpath, buf, len);
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.records, 1);
    assert_int_equal(info.cut_at, e[0]);
    wal_close(w);
    /* the fourth was written after the third was durable: damage to the third is corruption */
    len = window_log(buf, e, 1);
    buf[e[1] + 50] ^= 1;
    spit(logpath, buf, len);
    assert_null(wal_open(dir, 0, &info, &err));
    assert_int_equal(info.corrupt_at, e[1]);
    assert_non_null(strstr(err.msg, "acknowledged data is damaged"));
    /* a whole record copied to the wrong place (its stored offset differs): corruption */
    len = window_log(buf, e, 1);
    memcpy(buf + len, buf + e[0], e[1] - e[0]);
    spit(logpath, buf, len + e[1] - e[0]);
    assert_null(wal_open(dir, 0, &info, &err));
    assert_int_equal(info.corrupt_at, len);
    assert_non_null(strstr(err.msg, "stored offset"));
    /* a durable position past the record itself: corruption */
    len = 16;
    craft(buf, &len, 0, 16), e[0] = len;
    craft(buf, &len, 1, e[0] + 1);
    spit(logpath, buf, len);
    assert_null(wal_open(dir, 0, &info, &err));
    assert_int_equal(info.corrupt_at, e[0]);
    assert_non_null(strstr(err.msg, "durable"));
    /* a record whose checksum is right but whose content breaks the rules: corruption even
     * at the tail (here a weight of 0) */
    len = window_log(buf, e, 1);
    le(buf + e[2] + 24 + 4 + 4, 0, 4);
    le(buf + e[2], crc32(0, buf + e[2] + 4, (uInt)(len - e[2] - 4)), 4);
    spit(logpath, buf, len);
    assert_null(wal_open(dir, 0, &info, &err));
    assert_int_equal(info.corrupt_at, e[2]);
    assert_non_null(strstr(err.msg, "weight"));
    free(buf);
    scratch_done();
}

static void test_empty_and_header_only(void **state)
{
    (void)state;
    scratch(0);
    uint8_t h[16];
    craft_header(h, 1);
    wr_err err;
    wr_wal_info info;
    /* a zero-length file and a torn header are made whole */
    for (size_t n = 0; n < 16; n += 5) {
        spit(logpath, h, n);
        wr_wal *w = wal_open(dir, 0, &info, &err);
        assert_non_null(w);
        assert_true(info.created);
        assert_int_equal(info.records, 0);
        assert_int_equal(info.end, 16);
        wal_close(w);
        size_t len;
        uint8_t *b = slurp(logpath, &len);
        assert_int_equal(len, 16);
        assert_memory_equal(b, h, 16);
        free(b);
    }
    wr_wal *w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_false(info.created);
    assert_int_equal(info.records, 0);
    assert_int_equal(info.cut_bytes, 0);
    expect_records(w, 3, 0);
    uint64_t end;
    wr_pairs p;
    pairs_init(&p);
    assert_int_equal(wal_load(w, 0, &p, &end, &err), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(end, 16);
    pairs_free(&p);
    wal_close(w);
    scratch_done();
}

static void test_bad_header(void **state)
{
    (void)state;
    scratch(0);
    struct {
        const char *why;
        uint8_t h[16];
        size_t n;
    } cases[5];
    memset(cases, 0, sizeof cases);
    craft_header(cases[0].h, 1);
    memcpy(cases[0].h, "WRPAIRZ\n", 8);
    cases[0].why = "bad magic";
    craft_header(cases[1].h, 4);
    cases[1].why = "version 4";
    craft_header(cases[2].h, 1);
    cases[2].h[13] ^= 1;
    cases[2].why = "header checksum";
    memcpy(cases[3].h, "item_a\titem_b\tweight\n", 16);
    cases[3].why = "bad magic";
    craft_header(cases[4].h, 1);
    cases[4].h[3] ^= 1;
    cases[4].why = "not a walkrec pair log";
    for (int i = 0; i < 5; i++) {
        size_t n = i == 4 ? 9 : 16;
        wr_err err;
        spit(logpath, cases[i].h, n);
        assert_null(wal_open(dir, 0, NULL, &err));
        if (!strstr(err.msg, cases[i].why))
            fail_msg("case %d: %s", i, err.msg);
        size_t len;
        uint8_t *b = slurp(logpath, &len);
        assert_int_equal(len, n);
        assert_memory_equal(b, cases[i].h, n);
        free(b);
    }
    scratch_done();
}

static void test_bad_batch(void **state)
{
    (void)state;
    scratch(0);
    wr_err err;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    append_range(w, 5, 0, 2, NULL);
    wr_wal_stats before, after;
    wal_stats(w, &before);
    size_t size = file_size(logpath);
    char longid[WR_ID_MAX + 1];
    memset(longid, 'x', sizeof longid);
    static const struct {
        const char *a, *b;
        int alen, blen; /* -1 = strlen */
        double w;
        const char *why;
    } bad[] = {
        {"x", "y", -1, -1, NAN, "finite"},
        {"x", "y", -1, -1, INFINITY, "finite"},
        {"x", "y", -1, -1, 0, "> 0"},
        {"x", "y", -1, -1, -1, "> 0"},
        {"x", "y", -1, -1, 1e39, "too large"},
        {"x", "y", -1, -1, 1e-50, "too small"},
        {"", "y", -1, -1, 1, "id a is empty"},
        {"x", "", -1, -1, 1, "id b is empty"},
        {NULL, "y", WR_ID_MAX + 1, -1, 1, "longer than 512"},
        {"\xff", "y", -1, -1, 1, "UTF-8"},
        {"x", "\xc0\xaf", -1, -1, 1, "id b is not valid UTF-8"}, /* overlong '/' */
        {"\xe2\x82", "y", -1, -1, 1, "UTF-8"},                    /* cut short */
        {"\xed\xa0\x80", "y", -1, -1, 1, "UTF-8"},                /* a surrogate */
        {"x\0y", "y", 3, -1, 1, "NUL"},
        {"x\ty", "y", -1, -1, 1, "tab"},
        {"x", "y\n", -1, -1, 1, "LF"},
    };
    batch good;
    make_batch(&good, 5, 9, 10);
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        wr_wal_pair p[10];
        memcpy(p, good.p, sizeof p);
        p[5] = (wr_wal_pair){bad[c].a ? bad[c].a : longid, bad[c].b,
                             bad[c].alen < 0 ? strlen(bad[c].a) : (size_t)bad[c].alen,
                             bad[c].blen < 0 ? strlen(bad[c].b) : (size_t)bad[c].blen, bad[c].w};
        size_t at = 99;
        assert_int_equal(wal_check(p, 10, &at, &err), -1);
        assert_int_equal(at, 5);
        if (!strstr(err.msg, bad[c].why) || strstr(err.msg, "pair 5"))
            fail_msg("case %zu: %s", c, err.msg);
        assert_int_equal(wal_append(w, p, 10, NULL, &err), -1);
        if (strncmp(err.msg, "pair 5: ", 8) || !strstr(err.msg, bad[c].why))
            fail_msg("case %zu: %s", c, err.msg);
    }
    assert_int_equal(wal_append(w, good.p, 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "empty batch"));
    free_batch(&good);

    /* an oversized batch: 70000 pairs of two longest ids */
    size_t n = 70000, at;
    wr_wal_pair *big = malloc(n * sizeof *big);
    for (size_t i = 0; i < n; i++)
        big[i] = (wr_wal_pair){longid, longid + 1, WR_ID_MAX, WR_ID_MAX, 1};
    assert_int_equal(wal_check(big, n, &at, &err), -1);
    assert_int_equal(at, (WR_WAL_RECORD_MAX - 4) / (8 + 2 * WR_ID_MAX));
    assert_non_null(strstr(err.msg, "too large"));
    assert_int_equal(wal_append(w, big, n, NULL, &err), -1);
    /* the same pairs a few at a time are fine (a self pair included) */
    assert_int_equal(wal_check(big, 1000, &at, &err), 0);
    free(big);

    wal_stats(w, &after);
    assert_memory_equal(&before, &after, sizeof before);
    assert_int_equal(file_size(logpath), size);
    wal_close(w);
    scratch_done();
}

/* ---- concurrency ---- */

enum { THREADS = 4, PER_THREAD = 60 };

typedef struct worker {
    wr_wal *w;
    uint32_t tag;
    uint64_t pos[PER_THREAD];
} worker;

static void *append_worker(void *arg)
{
    worker *t = arg;
    append_range(t->w, t->tag, 0, PER_THREAD, t->pos);
    return NULL;
}

typedef struct seen {
    uint32_t next[THREADS];
    worker *t;
} seen;

static int check_interleaved(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    seen *s = ud;
    uint32_t tag, k;
    assert_int_equal(batch_key(p, &tag, &k), 0);
    assert_true(tag >= 10 && tag < 10 + THREADS);
    assert_int_equal(k, s->next[tag - 10]); /* each thread's batches in its own order */
    batch b;
    make_batch(&b, tag, k, size_of(k));
    assert_true(same_batch(&b, p, n));
    /* the position the thread was given is the end of its record */
    uint64_t len = 24 + 4;
    for (size_t i = 0; i < n; i++)
        len += 8 + p[i].alen + p[i].blen;
    assert_int_equal(s->t[tag - 10].pos[k], off + len);
    free_batch(&b);
    s->next[tag - 10]++;
    return 0;
}

static void test_concurrent_appends(void **state)
{
    (void)state;
    scratch(1);
    wr_err err;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    worker t[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i] = (worker){.w = w, .tag = 10 + (uint32_t)i};
        assert_int_equal(pthread_create(&th[i], NULL, append_worker, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    wr_wal_stats st;
    wal_stats(w, &st);
    assert_int_equal(st.appends, THREADS * PER_THREAD);
    assert_true(st.syncs >= 1 && st.syncs <= st.appends);
    print_message("      %d appends from %d threads took %llu fdatasyncs\n",
                  THREADS * PER_THREAD, THREADS, (unsigned long long)st.syncs);
    seen s = {{0}, t};
    assert_int_equal(wal_scan(w, 0, check_interleaved, &s, NULL, &err), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(s.next[i], PER_THREAD);
    wal_close(w);
    /* an fdatasync shared by k appends leaves k-1 records written while waiting: their
     * durable field is below their own offset */
    uint32_t records, waiting = count_waiting(logpath, &records);
    assert_int_equal(records, THREADS * PER_THREAD);
    assert_true(waiting >= st.appends - st.syncs);
    /* and the same from a fresh open */
    wr_wal_info info;
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.records, THREADS * PER_THREAD);
    assert_int_equal(info.cut_bytes, 0);
    memset(s.next, 0, sizeof s.next);
    assert_int_equal(wal_scan(w, 0, check_interleaved, &s, NULL, &err), 0);
    wal_close(w);
    scratch_done();
}

/* ---- kill -9 ---- */

enum { RUNS = 25, MAX_ACKS = 1 << 16 };

/* Batch k of run r: from 1 to 2000 pairs, every third with the longest ids (up to 2 MB), so
 * that some kills land in the middle of writing a record. */
static size_t kill_size(uint32_t run, uint32_t k) { return 1 + (run * 7919u + k * 104729u) % 2000; }

static void kill_batch(batch *b, uint32_t run, uint32_t k)
{
    make_batch_ids(b, run, k, kill_size(run, k), k % 3 == 2);
}

/* The child: appends until killed, writing "run k pos" to fd after each acknowledgement. */
static _Noreturn void writer(uint32_t run, int fd)
{
    wr_err err;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    if (!w)
        _exit(2);
    for (uint32_t k = 0;; k++) {
        batch b;
        kill_batch(&b, run, k);
        uint64_t pos;
        if (wal_append(w, b.p, b.n, &pos, &err) < 0)
            _exit(3);
        char line[64];
        int n = snprintf(line, sizeof line, "%u %u %llu\n", run, k, (unsigned long long)pos);
        if (write(fd, line, (size_t)n) != n)
            _exit(4);
        free_batch(&b);
    }
}

typedef struct kill_check {
    uint32_t run, k;       /* the record expected next */
    uint64_t *ack;         /* ack[run * MAX_ACKS + k] = acknowledged position + 1, or 0 */
    uint32_t *acked;       /* acknowledged batches per run */
    uint32_t unacked;      /* records present without an acknowledgement */
} kill_check;

static int check_killed(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    kill_check *c = ud;
    uint32_t run, k;
    assert_int_equal(batch_key(p, &run, &k), 0);
    if (run != c->run) { /* a later run starts at its batch 0; runs between wrote nothing */
        assert_true(run > c->run);
        assert_int_equal(k, 0);
        assert_true(c->k >= c->acked[c->run]); /* every acknowledged batch of the last run */
        for (uint32_t r = c->run + 1; r < run; r++)
            assert_int_equal(c->acked[r], 0);
        c->run = run;
        c->k = 0;
    }
    assert_int_equal(k, c->k);
    batch b;
    kill_batch(&b, run, k);
    assert_true(same_batch(&b, p, n));
    free_batch(&b);
    uint64_t ack = c->ack[(size_t)run * MAX_ACKS + k];
    if (ack) {
        uint64_t len = 28;
        for (size_t i = 0; i < n; i++)
            len += 8 + p[i].alen + p[i].blen;
        assert_int_equal(ack - 1, off + len);
    } else {
        c->unacked++;
        assert_true(k == c->acked[run]); /* only the batch in flight can lack its ack */
    }
    c->k++;
    return 0;
}

static void test_kill9(void **state)
{
    (void)state;
    scratch(1);
    uint64_t *ack = calloc((size_t)RUNS * MAX_ACKS, sizeof *ack);
    uint32_t acked[RUNS] = {0}, cuts = 0, total_acked = 0;
    unsigned seed = (unsigned)time(NULL), draw = seed;
    /* each run checks the records added since the last one; a full check at the end */
    kill_check c = {0, 0, ack, acked, 0};
    uint64_t verified = 0;
    wr_err err;
    for (uint32_t run = 0; run < RUNS; run++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            writer(run, fds[1]);
        }
        close(fds[1]);
        draw = draw * 1103515245u + 12345u; /* a small LCG: the seed repeats a run */
        struct timespec ts = {0, (long)(5 + (draw >> 16) % 120) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("run %u: writer exited with %d", run, WEXITSTATUS(status));
        FILE *f = fdopen(fds[0], "r");
        unsigned long r, k;
        unsigned long long pos;
        char line[96], *e;
        while (fgets(line, sizeof line, f) && strchr(line, '\n')) { /* whole lines (atomic
                                                                      writes to a pipe) */
            r = strtoul(line, &e, 10);
            k = strtoul(e, &e, 10);
            pos = strtoull(e, &e, 10);
            assert_true(*e == '\n');
            assert_int_equal(r, run);
            assert_int_equal(k, acked[run]);
            assert_true(k < MAX_ACKS);
            ack[(size_t)run * MAX_ACKS + k] = pos + 1;
            acked[run]++;
        }
        fclose(f);
        total_acked += acked[run];

        wr_wal_info info;
        wr_wal *w = wal_open(dir, 0, &info, &err);
        if (!w)
            fail_msg("run %u (seed %u): %s", run, seed, err.msg);
        cuts += info.cut_bytes > 0;
        if (wal_scan(w, verified, check_killed, &c, &verified, &err) < 0)
            fail_msg("run %u (seed %u): %s", run, seed, err.msg);
        assert_true(c.k >= acked[c.run]);
        for (uint32_t r2 = c.run + 1; r2 <= run; r2++)
            assert_int_equal(acked[r2], 0);
        wal_close(w);
    }
    wr_wal_info info;
    wr_wal *w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    uint32_t unacked = c.unacked;
    c = (kill_check){0, 0, ack, acked, 0};
    assert_int_equal(wal_scan(w, 0, check_killed, &c, NULL, &err), 0);
    assert_int_equal(c.unacked, unacked);
    assert_int_equal(info.records, total_acked + unacked);
    wal_close(w);
    print_message("      %d kills (seed %u): %u batches acknowledged, %u more written but not "
                  "acknowledged, %u torn tails cut\n", RUNS, seed, total_acked, unacked, cuts);
    free(ack);
    scratch_done();
}

/* ---- item records ---- */

/* Appends an item record (kind, id) at *len by the format alone. */
static void craft_item(uint8_t *buf, size_t *len, int kind, const char *id, size_t n,
                       uint64_t durable)
{
    uint8_t *r = buf + *len;
    le(r + 24, 0, 4);
    le(r + 28, (uint64_t)kind, 2);
    le(r + 30, n, 2);
    memcpy(r + 32, id, n);
    uint32_t plen = (uint32_t)(8 + n);
    le(r + 4, plen, 4);
    le(r + 8, *len, 8);
    le(r + 16, durable, 8);
    le(r, crc32(0, r + 4, 20 + plen), 4);
    *len += 24 + plen;
}

/* What a scan of every record saw: pair records as 'P', items as their kind digit and id. */
typedef struct trace {
    char text[4096];
    uint64_t items, pair_records;
    uint64_t last_item_off;
} trace;

static int seen_pairs(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    trace *s = ud;
    (void)off, (void)p, (void)n;
    s->pair_records++;
    size_t at = strlen(s->text);
    snprintf(s->text + at, sizeof s->text - at, "P ");
    return 0;
}

static int seen_item(void *ud, uint64_t off, int kind, const char *id, size_t len,
                     const char *data, size_t dlen)
{
    trace *s = ud;
    size_t at = strlen(s->text);
    snprintf(s->text + at, sizeof s->text - at, "%d:%.*s%s%.*s ", kind, (int)len, id,
             dlen ? "=" : "", (int)dlen, data);
    s->items++;
    s->last_item_off = off;
    return 0;
}

static uint32_t header_version(void)
{
    size_t len;
    uint8_t *b = slurp(logpath, &len);
    uint32_t v = (uint32_t)rd(b + 8, 4);
    assert_int_equal(rd(b + 12, 4), crc32(0, b, 12));
    free(b);
    return v;
}

/* Hides, unhides and deletes written and read back in log order beside pair batches; a new
 * log stays version 1 until its first item record. */
static void test_item_round_trip(void **state)
{
    (void)state;
    scratch(0);
    wr_err err;
    wr_wal_info info;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    uint64_t pos[4], ipos[3];
    append_range(w, 9, 0, 2, pos);
    wal_close(w);
    assert_int_equal(header_version(), 1);
    w = wal_open(dir, 0, NULL, &err);
    assert_int_equal(wal_append_item(w, WR_WAL_HIDE, "P0000001", 8, NULL, 0, &ipos[0], &err), 0);
    assert_int_equal(header_version(), 2);
    append_range(w, 9, 2, 3, pos);
    assert_int_equal(wal_append_item(w, WR_WAL_UNHIDE, "P0000001", 8, NULL, 0, &ipos[1], &err), 0);
    assert_int_equal(wal_append_item(w, WR_WAL_DELETE, "caf\xc3\xa9", 5, NULL, 0, &ipos[2], &err), 0);
    assert_true(ipos[0] < pos[2] && pos[2] < ipos[1] && ipos[1] < ipos[2]);
    wr_wal_stats st;
    wal_stats(w, &st);
    assert_int_equal(st.records, 6);
    assert_int_equal(st.items, 3);
    /* wal_scan reads the pair records only, as before */
    expect e = {9, 0, NULL, 0};
    assert_int_equal(wal_scan(w, 0, check_next, &e, NULL, &err), 0);
    assert_int_equal(e.next, 3);
    trace sn = {{0}, 0, 0, 0};
    uint64_t end;
    assert_int_equal(wal_scan_all(w, 0, seen_pairs, seen_item, &sn, &end, &err), 0);
    assert_string_equal(sn.text, "P P 1:P0000001 P 2:P0000001 3:caf\xc3\xa9 ");
    assert_int_equal(end, ipos[2]);
    /* from a position between records, and items only */
    sn = (trace){{0}, 0, 0, 0};
    assert_int_equal(wal_scan_all(w, pos[2], NULL, seen_item, &sn, NULL, &err), 0);
    assert_string_equal(sn.text, "2:P0000001 3:caf\xc3\xa9 ");
    /* bad items write nothing */
    assert_int_equal(wal_append_item(w, WR_WAL_HIDE, "a\tb", 3, NULL, 0, NULL, &err), -1);
    assert_int_equal(wal_append_item(w, WR_WAL_HIDE, "", 0, NULL, 0, NULL, &err), -1);
    assert_int_equal(wal_append_item(w, 7, "x", 1, NULL, 0, NULL, &err), -1);
    assert_int_equal(wal_append_item(w, WR_WAL_HIDE, "\xff", 1, NULL, 0, NULL, &err), -1);
    assert_int_equal(wal_append_item(w, WR_WAL_ATTRS, "x", 1, NULL, 0, NULL, &err), -1);
    assert_int_equal(wal_append_item(w, WR_WAL_HIDE, "x", 1, "{}", 2, NULL, &err), -1);
    wal_stats(w, &st);
    assert_int_equal(st.end, ipos[2]);
    /* an attribute record carries its data, and makes the log version 3 */
    assert_int_equal(header_version(), 2);
    const char *patch = "{\"price\":5}";
    uint64_t apos;
    assert_int_equal(wal_append_item(w, WR_WAL_ATTRS, "P0000001", 8, patch, strlen(patch), &apos,
                                     &err), 0);
    assert_int_equal(apos - ipos[2], WR_WAL_ITEM_RECORD(8 + strlen(patch)));
    assert_int_equal(header_version(), 3);
    sn = (trace){{0}, 0, 0, 0};
    assert_int_equal(wal_scan_all(w, ipos[2], NULL, seen_item, &sn, NULL, &err), 0);
    assert_string_equal(sn.text, "4:P0000001={\"price\":5} ");
    wal_close(w);
    assert_non_null(w = wal_open(dir, 0, &info, &err));
    sn = (trace){{0}, 0, 0, 0};
    assert_int_equal(wal_scan_all(w, ipos[2], NULL, seen_item, &sn, NULL, &err), 0);
    assert_string_equal(sn.text, "4:P0000001={\"price\":5} ");
    /* several attribute records with one wait: in order, positions growing; one bad id
     * writes none of them */
    wr_wal_item three[3] = {{"A", 1, "{\"x\":1}", 7}, {"B", 1, "{\"x\":2}", 7},
                            {"a\tb", 3, "{}", 2}};
    uint64_t bpos[3];
    wal_stats(w, &st);
    assert_int_equal(wal_append_items(w, WR_WAL_ATTRS, three, 3, bpos, &err), -1);
    wr_wal_stats st2;
    wal_stats(w, &st2);
    assert_int_equal(st2.end, st.end);
    assert_int_equal(wal_append_items(w, WR_WAL_ATTRS, three, 2, bpos, &err), 0);
    assert_int_equal(bpos[0], apos + WR_WAL_ITEM_RECORD(1 + 7));
    assert_int_equal(bpos[1], bpos[0] + WR_WAL_ITEM_RECORD(1 + 7));
    sn = (trace){{0}, 0, 0, 0};
    assert_int_equal(wal_scan_all(w, apos, NULL, seen_item, &sn, NULL, &err), 0);
    assert_string_equal(sn.text, "4:A={\"x\":1} 4:B={\"x\":2} ");
    wal_stats(w, &st2);
    assert_int_equal(st2.appends, st.appends + 1); /* one append, one wait */
    apos = bpos[1];
    ipos[2] = apos;
    wal_close(w);
    /* reopened: counted, and read the same from the file */
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.records, 9);
    assert_int_equal(info.items, 6);
    assert_int_equal(info.pairs, size_of(0) + size_of(1) + size_of(2));
    assert_int_equal(info.cut_bytes, 0);
    wal_close(w);
    sn = (trace){{0}, 0, 0, 0};
    assert_int_equal(wal_scan_file_all(logpath, 0, 0, seen_pairs, seen_item, &sn, &end, &err), 0);
    assert_string_equal(sn.text, "P P 1:P0000001 P 2:P0000001 3:caf\xc3\xa9 "
                                 "4:P0000001={\"price\":5} 4:A={\"x\":1} 4:B={\"x\":2} ");
    scratch_done();
}

/* A version 1 log made by hand (the format before item records) opens, scans, takes pairs,
 * and takes an item record after its header says version 2. */
static void test_item_old_log(void **state)
{
    (void)state;
    scratch(0);
    uint8_t *buf = malloc(1 << 20);
    uint64_t e[4];
    wr_err err;
    wr_wal_info info;
    size_t len = window_log(buf, e, 1);
    spit(logpath, buf, len);
    wr_wal *w = wal_open(dir, 0, &info, &err);
    if (!w)
        fail_msg("%s", err.msg);
    assert_int_equal(info.records, 4);
    assert_int_equal(info.items, 0);
    expect ex = {4, 0, e, 0};
    assert_int_equal(wal_scan(w, 0, check_next, &ex, NULL, &err), 0);
    assert_int_equal(ex.next, 4);
    append_range(w, 5, 0, 1, NULL);
    assert_int_equal(header_version(), 1);
    uint64_t at;
    assert_int_equal(wal_append_item(w, WR_WAL_HIDE, "X", 1, NULL, 0, &at, &err), 0);
    assert_int_equal(header_version(), 2);
    wal_close(w);
    size_t n2;
    uint8_t *b = slurp(logpath, &n2);
    assert_memory_equal(b + 16, buf + 16, len - 16); /* the old records are untouched */
    free(b);
    w = wal_open(dir, 0, &info, &err);
    assert_non_null(w);
    assert_int_equal(info.records, 6);
    assert_int_equal(info.items, 1);
    assert_int_equal(info.end, at);
    wal_close(w);
    free(buf);
    scratch_done();
}

/* Damaged item records are told apart like damaged pair records: any flipped byte in the
 * middle of the log is corruption named by offset; a right checksum over wrong content is
 * corruption even at the tail; a torn last one is cut. */
static void test_item_corrupt(void **state)
{
    (void)state;
    scratch(0);
    uint8_t *buf = malloc(1 << 16), *bad = malloc(1 << 16);
    wr_err err;
    wr_wal_info info;
    size_t len = 16;
    uint64_t e[3];
    craft_header(buf, 2);
    craft(buf, &len, 0, 16), e[0] = len;
    craft_item(buf, &len, WR_WAL_HIDE, "P0000042", 8, e[0]), e[1] = len;
    craft(buf, &len, 1, e[1]), e[2] = len;
    spit(logpath, buf, len);
    wr_wal *w = wal_open(dir, 0, &info, &err);
    if (!w)
        fail_msg("%s", err.msg);
    assert_int_equal(info.records, 3);
    assert_int_equal(info.items, 1);
    wal_close(w);
    char want[64];
    snprintf(want, sizeof want, "byte offset %llu:", (unsigned long long)e[0]);
    for (uint64_t j = e[0]; j < e[1]; j++) {
        memcpy(bad, buf, len);
        bad[j] ^= 0x21;
        spit(logpath, bad, len);
        assert_null(wal_open(dir, 0, &info, &err));
        if (!strstr(err.msg, want))
            fail_msg("byte %llu: %s", (unsigned long long)j, err.msg);
        assert_int_equal(info.corrupt_at, e[0]);
        assert_int_equal(file_size(logpath), len);
    }
    /* well-checksummed item records that break the rules, as the last record */
    struct {
        int kind;
        const char *id, *why;
        int fix_len; /* a stored id length other than the record's */
    } cases[] = {
        {9, "P1", "unknown kind", 0},
        {0, "P1", "unknown kind", 0},
        {WR_WAL_DELETE, "a\tb", "contains NUL, tab", 0},
        {WR_WAL_HIDE, "\xc3", "UTF-8", 0},
        {WR_WAL_HIDE, "P1", "id length differs", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t l = e[0];
        memcpy(bad, buf, l);
        craft_item(bad, &l, cases[i].kind, cases[i].id, strlen(cases[i].id), e[0]);
        if (cases[i].fix_len) {
            le(bad + e[0] + 30, 1, 2);
            le(bad + e[0], crc32(0, bad + e[0] + 4, (uInt)(l - e[0] - 4)), 4);
        }
        spit(logpath, bad, l);
        assert_null(wal_open(dir, 0, &info, &err));
        if (!strstr(err.msg, cases[i].why))
            fail_msg("case %zu: %s", i, err.msg);
        assert_int_equal(info.corrupt_at, e[0]);
    }
    /* an item record with no room for an id: its length is out of range */
    size_t l = e[0];
    memcpy(bad, buf, l);
    craft_item(bad, &l, WR_WAL_HIDE, "", 0, e[0]);
    craft(bad, &l, 1, l);
    spit(logpath, bad, l);
    assert_null(wal_open(dir, 0, &info, &err));
    assert_int_equal(info.corrupt_at, e[0]);
    /* torn at every byte of a last item record: cut there, the rest kept */
    for (size_t cut = e[0] + 1; cut < e[1]; cut++) {
        spit(logpath, buf, cut);
        w = wal_open(dir, 0, &info, &err);
        if (!w)
            fail_msg("cut at %zu: %s", cut, err.msg);
        assert_int_equal(info.records, 1);
        assert_int_equal(info.cut_at, e[0]);
        wal_close(w);
    }
    free(bad);
    free(buf);
    scratch_done();
}

static int count_pairs(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    (void)off, (void)p;
    *(size_t *)ud += n;
    return 0;
}

/* Training's view of deletes: a pair is left out when one of its items is deleted later in
 * the log; pairs logged after the delete are kept; an unhide brings none back. */
static void test_item_deletes(void **state)
{
    (void)state;
    scratch(0);
    wr_err err;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    assert_non_null(w);
    wr_wal_pair b1[] = {{"D", "A", 1, 1, 1.0}, {"A", "B", 1, 1, 1.0}},
                b2[] = {{"B", "D", 1, 1, 2.0}, {"C", "A", 1, 1, 1.0}},
                b3[] = {{"D", "C", 1, 1, 4.0}};
    uint64_t del1, del2, stop;
    assert_int_equal(wal_append(w, b1, 2, NULL, &err), 0);
    assert_int_equal(wal_append_item(w, WR_WAL_DELETE, "D", 1, NULL, 0, &del1, &err), 0);
    assert_int_equal(wal_append(w, b2, 2, NULL, &err), 0);
    assert_int_equal(wal_append_item(w, WR_WAL_DELETE, "C", 1, NULL, 0, NULL, &err), 0);
    assert_int_equal(wal_append_item(w, WR_WAL_UNHIDE, "C", 1, NULL, 0, NULL, &err), 0);
    assert_int_equal(wal_append_item(w, WR_WAL_DELETE, "B", 1, NULL, 0, &del2, &err), 0);
    assert_int_equal(wal_append(w, b3, 1, &stop, &err), 0);
    wal_close(w);
    wr_wal_deletes del;
    assert_int_equal(wal_deletes_file(logpath, stop, &del, &err), 0);
    assert_int_equal(dict_size(del.ids), 3);
    /* D deleted once, before b2: its pair in b2 and b3 count, b1's does not */
    assert_true(wal_deleted_after(&del, "D", 1, 0));
    assert_false(wal_deleted_after(&del, "D", 1, del1));
    assert_true(wal_deleted_after(&del, "B", 1, del1));
    assert_false(wal_deleted_after(&del, "A", 1, 0));
    assert_false(wal_deleted_after(NULL, "D", 1, 0));
    wr_pairs p;
    pairs_init(&p);
    assert_int_equal(wal_load_file(logpath, stop, &del, &p, &err), 0);
    /* kept: only D-C of b3 (A-B: B deleted later; B-D: B deleted later; C-A: C deleted) */
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].w, 4.0f);
    pairs_free(&p);
    /* up to a stop before the later deletes, they do not count */
    wal_deletes_free(&del);
    assert_int_equal(wal_deletes_file(logpath, del1, &del, &err), 0);
    assert_int_equal(dict_size(del.ids), 1);
    pairs_init(&p);
    assert_int_equal(wal_load_file(logpath, del1, &del, &p, &err), 0);
    assert_int_equal(p.n, 1); /* A-B */
    pairs_free(&p);
    wal_deletes_free(&del);
    size_t n = 0;
    assert_int_equal(wal_scan_file(logpath, 0, stop, count_pairs, &n, NULL, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(wal_deletes_file("/nonexistent/pairs.wal", 100, &del, &err), -1);
    wal_deletes_free(&del);
    scratch_done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_reopen_appends),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_handmade_and_group_window),
        cmocka_unit_test(test_tail),
        cmocka_unit_test(test_empty_and_header_only),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_batch),
        cmocka_unit_test(test_concurrent_appends),
        cmocka_unit_test(test_kill9),
        cmocka_unit_test(test_item_round_trip),
        cmocka_unit_test(test_item_old_log),
        cmocka_unit_test(test_item_corrupt),
        cmocka_unit_test(test_item_deletes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
