/* fuzz_wal.c - the write-ahead log reader: wal_open on a directory whose pairs.wal is the
 * input, then wal_scan_all (pair and item records), wal_load and the deletes training
 * applies (wal_deletes_file, wal_load_file).
 *
 * What wal.h promises: an open either fails (with a reason) or recovers a log whose kept
 * records all scan back; a corrupt middle is refused unless WR_WAL_REPAIR, which then
 * opens; recovery is idempotent (a second open cuts nothing and finds the same records);
 * and the recovered log takes an append that the next open finds. Each input goes in as
 * it is and once more with the header's and every whole record's checksum and stored
 * offset made right, so that mutations get past the checksums to the records' content and
 * to the torn-tail/corrupt-middle decision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "fuzz.h"
#include "walkrec/wal.h"

static char *dir, *log_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wr_quiet = 1;
    dir = fuzz_path("wal");
    log_path = fuzz_path("wal/" WR_WAL_FILE);
    if (mkdir(dir, 0700) < 0)
        fuzz_bug("cannot make %s", dir);
    return 0;
}

typedef struct tally {
    uint64_t records, pairs, items;
} tally;

static int count_item(void *ud, uint64_t off, int kind, const char *id, size_t len,
                      const char *data, size_t dlen)
{
    tally *t = ud;
    (void)data;
    if (kind < WR_WAL_HIDE || kind > WR_WAL_ATTRS || !fuzz_valid_id(id, len) ||
        (kind == WR_WAL_ATTRS) != (dlen > 0))
        fuzz_bug("item record at %llu breaks the log's rules", (unsigned long long)off);
    t->records++;
    t->items++;
    return 0;
}

static int count(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    tally *t = ud;
    if (n == 0)
        fuzz_bug("record at %llu with no pair", (unsigned long long)off);
    for (size_t i = 0; i < n; i++)
        if (!fuzz_valid_id(p[i].a, p[i].alen) || !fuzz_valid_id(p[i].b, p[i].blen) ||
            !(p[i].w > 0))
            fuzz_bug("record at %llu, pair %zu: breaks the log's rules",
                     (unsigned long long)off, i);
    t->records++;
    t->pairs += n;
    return 0;
}

/* Scans w and checks the scan against what wal_open reported. */
static void check_scan(wr_wal *w, const wr_wal_info *in)
{
    tally t = {0};
    uint64_t end;
    wr_err err;
    if (wal_scan_all(w, 0, count, count_item, &t, &end, &err) < 0)
        fuzz_bug("an opened log does not scan: %s", err.msg);
    if (t.records != in->records || t.pairs != in->pairs || t.items != in->items ||
        end != in->end)
        fuzz_bug("open reported %llu records, %llu pairs, end %llu; the scan found %llu, "
                 "%llu, %llu", (unsigned long long)in->records, (unsigned long long)in->pairs,
                 (unsigned long long)in->end, (unsigned long long)t.records,
                 (unsigned long long)t.pairs, (unsigned long long)end);
    wr_pairs p;
    pairs_init(&p);
    if (wal_load(w, 0, &p, NULL, &err) < 0)
        fuzz_bug("wal_load: %s", err.msg);
    size_t all = p.n;
    pairs_free(&p);
    wr_wal_deletes del;
    pairs_init(&p);
    if (wal_deletes_file(log_path, in->end, &del, &err) < 0 ||
        wal_load_file(log_path, in->end, &del, &p, &err) < 0)
        fuzz_bug("training's reading of an opened log: %s", err.msg);
    if (p.n > all || (!dict_size(del.ids) && p.n != all))
        fuzz_bug("deletes kept %zu of %zu pairs (%u items deleted)", p.n, all,
                 dict_size(del.ids));
    wal_deletes_free(&del);
    pairs_free(&p);
}

static void open_log(const uint8_t *data, size_t size)
{
    wr_wal_info in, again;
    wr_err err;
    unlink(log_path);
    fuzz_write(log_path, data, size);
    wr_wal *w = wal_open(dir, 0, &in, &err);
    if (!w) {
        if (!in.corrupt_at)
            return; /* a bad header, or an I/O error */
        w = wal_open(dir, WR_WAL_REPAIR, &in, &err);
        if (!w)
            fuzz_bug("a corrupt record at %llu, and the repair fails: %s",
                     (unsigned long long)in.corrupt_at, err.msg);
    }
    check_scan(w, &in);
    wal_close(w);
    if (!(w = wal_open(dir, 0, &again, &err)))
        fuzz_bug("a recovered log does not open again: %s", err.msg);
    if (again.cut_at || again.records != in.records || again.pairs != in.pairs ||
        again.end != in.end)
        fuzz_bug("the second open of a recovered log cut at %llu or found other records",
                 (unsigned long long)again.cut_at);
    wr_wal_pair p = {"a", "b", 1, 1, 2.5};
    uint64_t pos;
    if (wal_append(w, &p, 1, &pos, &err) < 0 || wal_append_item(w, WR_WAL_HIDE, "a", 1, NULL, 0,
                                                                  &pos, &err) < 0)
        fuzz_bug("a recovered log refuses an append: %s", err.msg);
    wal_close(w);
    if (!(w = wal_open(dir, 0, &again, &err)))
        fuzz_bug("the log does not open after an append: %s", err.msg);
    if (again.records != in.records + 2 || again.end != pos || again.cut_at)
        fuzz_bug("after two appends at %llu, the log has %llu records (before: %llu), end %llu",
                 (unsigned long long)in.end, (unsigned long long)again.records,
                 (unsigned long long)in.records, (unsigned long long)again.end);
    check_scan(w, &again);
    wal_close(w);
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    open_log(data, size);
    if (size < WR_WAL_HEADER)
        return 0;
    uint8_t *fixed = xmalloc(size);
    memcpy(fixed, data, size);
    put_le(fixed + 12, crc32(0, fixed, 12), 4);
    for (size_t off = WR_WAL_HEADER; off + WR_WAL_RECORD_HEADER <= size;) {
        uint64_t len = get_le(fixed + off + 4, 4);
        if (len > size - off - WR_WAL_RECORD_HEADER)
            break;
        put_le(fixed + off + 8, off, 8);
        put_le(fixed + off, crc32(0, fixed + off + 4, (uInt)(WR_WAL_RECORD_HEADER - 4 + len)), 4);
        off += WR_WAL_RECORD_HEADER + len;
    }
    open_log(fixed, size);
    free(fixed);
    return 0;
}
