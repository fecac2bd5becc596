/* wal.h - the write-ahead log of ingested pairs and item changes: append-only, checksummed,
 * durable.
 *
 * One file, <dir>/pairs.wal, holds every accepted batch of pairs as one record, and every
 * hide, unhide, delete and attribute change of an item as one item record. wal_append and
 * wal_append_item
 * return only once their record is on disk (fdatasync), so a handler may acknowledge as
 * soon as they return; on restart the base pairs plus every record of the log are the
 * training data, and the item records in log order say which items are hidden.
 *
 * File format, all integers little-endian:
 *
 *   file header, 16 bytes
 *     0   8  magic "WRPAIRS\n"
 *     8   4  u32 version: 1, 2 or 3 (below)
 *    12   4  u32 crc32 of bytes 0..12
 *   records, back to back to the end of the file, each
 *     0   4  u32 crc32 of the rest of the record: bytes 4 .. 24+len
 *     4   4  u32 len, payload bytes: WR_WAL_PAYLOAD_MIN .. WR_WAL_RECORD_MAX
 *     8   8  u64 off, the byte offset of this record in the file
 *    16   8  u64 durable, how much of the log was known to be on disk when this record was
 *            written (<= off; equal to off unless other appends were waiting for one fsync)
 *    24 len  payload, one of
 *            a pair record: u32 n >= 1 pairs, then n times
 *              u16 alen, u16 blen, f32 weight, alen bytes of id a, blen bytes of id b
 *            an item record: u32 0 (no pair record has zero pairs: the tag), u16 kind
 *              (WR_WAL_HIDE 1, WR_WAL_UNHIDE 2, WR_WAL_DELETE 3, WR_WAL_ATTRS 4), u16 len,
 *              len bytes of id; an attribute record then its data (a JSON object, attrs.h)
 *              to the end of the payload, at least one byte
 *
 * Versions. Version 1 logs hold pair records only; hide, unhide and delete records came
 * with version 2, attribute records with version 3, and nothing else changed. A new log
 * starts as version 1 and its header is rewritten as version 2 (or 3; one 16-byte write in
 * the first sector, synced) just before its first record that needs it, so a build that
 * reads only older versions refuses such a log by its version rather than calling the
 * record corrupt, and a log without such records still opens there. This build reads all
 * three versions, and every kind of record wherever it is. A follower of an older build
 * reading a newer trainer's log stops at the first record it does not know.
 *
 * Ids are 1..WR_ID_MAX bytes of UTF-8 without NUL, tab, CR or LF (so that every stored id
 * can be written to a pair TSV file); weights are finite, > 0 and fit a float. A record whose
 * checksum is right but whose content breaks these rules is corruption.
 *
 * Recovery. wal_open reads the whole log. The first record that is bad (cut short, a length
 * out of range, a wrong stored offset, a checksum mismatch, malformed content) at offset X is
 * classified:
 *   - torn tail: no valid record after X claims that X was already durable (durable > X).
 *     That covers a record cut off by a crash (it runs past the end of the file, or its
 *     pages never reached the disk and read as zeros or garbage), and also unsynced records
 *     of one group commit reaching the disk out of order after a power loss: none of them was
 *     acknowledged. The file is truncated at X and the cut is reported in wr_wal_info.
 *   - corrupt middle: a valid record after X (one whose checksum and stored offset match its
 *     position) says X was durable when it was written, or the bad record's own checksum is
 *     right. Acknowledged data was damaged: wal_open fails naming X, and changes nothing
 *     unless WR_WAL_REPAIR asks it to cut the log at X (losing every record from X on).
 * Damage to the last record of the log (bit rot after it was synced) cannot be told from a
 * torn write, so it is cut too; info->cut_why says what was wrong with it.
 *
 * The log position returned by wal_append is the byte offset just past the record, i.e.
 * the end of the log after it: positions grow with every append and each one is a record
 * boundary that wal_scan can start from.
 *
 * Thread safety: wal_append and wal_scan may be called from any number of threads; appends
 * are serialised by a mutex inside, and appends waiting at the same moment share one
 * fdatasync (group commit). A process holds an exclusive flock on the file while it is open,
 * so a second opener fails instead of interleaving records. */
#ifndef WALKREC_WAL_H
#define WALKREC_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/pairs.h"
#include "walkrec/util.h"

#define WR_WAL_FILE "pairs.wal"
#define WR_WAL_HEADER 16                 /* bytes of the file header: the first record's offset */
#define WR_WAL_RECORD_HEADER 24
#define WR_WAL_PAYLOAD_MIN 9             /* an item record of a one-byte id (a pair record
                                            of two one-byte ids: 14) */
#define WR_WAL_RECORD_MAX (64u << 20)    /* payload bytes of one record (one batch) */
/* The bytes of an item record of a len-byte id (and data), header included. */
#define WR_WAL_ITEM_RECORD(len) (WR_WAL_RECORD_HEADER + 8 + (uint64_t)(len))

/* One pair, as given to wal_append and as handed back by wal_scan (where a and b point into
 * the log, are not NUL-terminated and stay valid during the callback only). */
typedef struct wr_wal_pair {
    const char *a, *b;
    size_t alen, blen;
    double w;
} wr_wal_pair;

typedef struct wr_wal wr_wal;

/* The kinds of item records. A hide takes the item out of every answer until an unhide; a
 * delete hides it the same way and also leaves out of training every pair of the item that
 * comes before the delete in the log, the base pairs included (wal_load_file): pairs
 * ingested after it train again. An unhide ends the hiding of either, and brings back no
 * pair a delete left out. An attribute record sets attributes of the item (attrs.h). */
enum { WR_WAL_HIDE = 1, WR_WAL_UNHIDE = 2, WR_WAL_DELETE = 3, WR_WAL_ATTRS = 4 };

/* wal_open flags */
#define WR_WAL_REPAIR 1 /* cut the log at a corrupt record instead of failing */

/* What wal_open found. */
typedef struct wr_wal_info {
    int created;               /* the file was new (or empty, or only part of a header) */
    uint64_t records, pairs;   /* whole records kept (pair and item records), pairs in them */
    uint64_t items;            /* item records among them */
    uint64_t end;              /* log position after recovery */
    uint64_t cut_at;           /* offset the file was truncated at, or 0 */
    uint64_t cut_bytes;        /* bytes removed there (a torn tail, or with WR_WAL_REPAIR) */
    uint64_t corrupt_at;       /* offset of a corrupt record (failure or repair), or 0 */
    char cut_why[WR_ERR_MAX];  /* what was wrong with the record at cut_at / corrupt_at */
} wr_wal_info;

/* Opens (creating if missing) dir and dir/pairs.wal, validates the log and cuts a torn tail
 * (see above; the truncation is fsynced before returning). Creating the directory or the
 * file fsyncs its parent directory. Returns NULL with err set on I/O errors, a bad header
 * (magic, version, checksum), a corrupt record (info->corrupt_at names it) or when another
 * process has the log open. info may be NULL. */
wr_wal *wal_open(const char *dir, int flags, wr_wal_info *info, wr_err *err);
void wal_close(wr_wal *w);
const char *wal_path(const wr_wal *w);

/* Checks a batch against the limits above without writing: 0 if it may be appended, else -1
 * with *bad (may be NULL) the index of the first bad pair and err the reason. An empty
 * batch gives *bad = 0; an oversized one the index of the pair that crosses
 * WR_WAL_RECORD_MAX. Self pairs (a == b) are allowed: reading drops them. */
int wal_check(const wr_wal_pair *p, size_t n, size_t *bad, wr_err *err);
/* Why an id breaks the rules ("is empty", "contains NUL, tab, CR or LF", ...), or NULL. */
const char *wal_check_id(const char *id, size_t len);

/* Appends the batch as one record and returns once it is on disk, with *pos (may be NULL)
 * the log position after it. A batch that fails wal_check writes nothing. After a failed
 * fdatasync the log refuses further appends (the kernel may have dropped the unsynced pages;
 * reopening re-reads what is really there). A failed append may still have reached the
 * disk: an unacknowledged batch can appear in the log after a restart (at-least-once). */
int wal_append(wr_wal *w, const wr_wal_pair *p, size_t n, uint64_t *pos, wr_err *err);
/* Appends an item record (WR_WAL_HIDE, _UNHIDE, _DELETE or _ATTRS of the id, which must
 * follow the rules for ids) as wal_append does a batch; the first one a log's version does
 * not allow rewrites its header first. data: dlen bytes for WR_WAL_ATTRS (at least one;
 * the log stores them as given), none (0) for the others. */
int wal_append_item(wr_wal *w, int kind, const char *id, size_t len, const char *data,
                    size_t dlen, uint64_t *pos, wr_err *err);
/* Several item records of one kind, back to back, with one wait for the disk: pos[i] (pos
 * may be NULL) the position after record i. Nothing is written when one of them breaks the
 * rules. */
typedef struct wr_wal_item {
    const char *id;
    size_t len;
    const char *data; /* WR_WAL_ATTRS only */
    size_t dlen;
} wr_wal_item;
int wal_append_items(wr_wal *w, int kind, const wr_wal_item *it, size_t n, uint64_t *pos,
                     wr_err *err);

/* Calls fn for each record that starts at or after `from` (0 or WR_WAL_HEADER: the first
 * record; else a position returned by wal_append, wal_scan or wal_open) and is on disk when
 * the scan starts. A non-zero return from fn stops the scan and is returned. *end (may be
 * NULL) is where the scan stopped: pass it as `from` to read only the records that came
 * after. Runs concurrently with appends; each record's checksum is verified again. */
typedef int (*wr_wal_fn)(void *ud, uint64_t off, const wr_wal_pair *p, size_t n);
int wal_scan(wr_wal *w, uint64_t from, wr_wal_fn fn, void *ud, uint64_t *end, wr_err *err);
/* wal_scan of every record: pair records to fn, item records to item_fn (its id and data
 * point into the log, not NUL-terminated, valid during the call; dlen 0 but for
 * WR_WAL_ATTRS); either may be NULL to skip them. wal_scan skips item records. */
typedef int (*wr_wal_item_fn)(void *ud, uint64_t off, int kind, const char *id, size_t len,
                              const char *data, size_t dlen);
int wal_scan_all(wr_wal *w, uint64_t from, wr_wal_fn fn, wr_wal_item_fn item_fn, void *ud,
                 uint64_t *end, wr_err *err);

/* Adds the pairs of every record from `from` on to *out (with pairs_add: self pairs dropped,
 * not merged). *end as for wal_scan. */
int wal_load(wr_wal *w, uint64_t from, wr_pairs *out, uint64_t *end, wr_err *err);

/* wal_scan of the log file at path, without the wr_wal (the records before a durable
 * position are never rewritten, so no lock is needed): from `from` to `stop`, a durable
 * position the log's owner read with wal_stats; or, with stop 0, to the last whole record
 * the file holds now, for a reader that follows a log another process appends to (a
 * follower daemon): a record being written ends the scan there, *end says where to go on
 * from. Errors: WR_ENOTFOUND (no file), WR_ESTATE (with stop 0: `from` is past the end of
 * the file or no longer starts a record: the log was cut or replaced; read it again from
 * the start), WR_ECORRUPT, WR_EIO. */
int wal_scan_file(const char *path, uint64_t from, uint64_t stop, wr_wal_fn fn, void *ud,
                  uint64_t *end, wr_err *err);
/* The same with item records to item_fn, as wal_scan_all. */
int wal_scan_file_all(const char *path, uint64_t from, uint64_t stop, wr_wal_fn fn,
                      wr_wal_item_fn item_fn, void *ud, uint64_t *end, wr_err *err);

/* The items deleted in a log: each with the log position of its last delete record. */
typedef struct wr_wal_deletes {
    wr_dict *ids;
    uint64_t *at;     /* per id of ids: the offset of its last WR_WAL_DELETE record */
    size_t cap;
} wr_wal_deletes;
/* Reads the deletes of the log file at path up to stop (as wal_load_file) into *out, which
 * the caller frees with wal_deletes_free (also on error: then empty). */
int wal_deletes_file(const char *path, uint64_t stop, wr_wal_deletes *out, wr_err *err);
void wal_deletes_free(wr_wal_deletes *d);
/* 1 when d (may be NULL) deletes the id after log offset off: a pair at off, or a base
 * pair (off 0), is left out of training. */
int wal_deleted_after(const wr_wal_deletes *d, const char *id, size_t len, uint64_t off);

/* wal_load from the first record to `stop` (a durable position the log's owner read with
 * wal_stats) of the log file at path, without the wr_wal: for a process that does not hold
 * the log open, such as walkrecd's trainer process, which must take no lock of the
 * daemon's. The records before stop are never rewritten, so no lock is needed. With del
 * (wal_deletes_file of the same log and stop; may be NULL), a pair is left out when one of
 * its items is deleted later in the log: the training data of a log with deletes. */
int wal_load_file(const char *path, uint64_t stop, const wr_wal_deletes *del, wr_pairs *out,
                  wr_err *err);

typedef struct wr_wal_stats {
    uint64_t end;             /* log position of the last written record */
    uint64_t durable;         /* log position known to be on disk */
    uint64_t records, pairs;  /* in the log, recovered ones included */
    uint64_t items;           /* item records among the records */
    uint64_t appends, syncs;  /* by this process: appends/syncs > 1 means group commits */
} wr_wal_stats;

void wal_stats(wr_wal *w, wr_wal_stats *st);

#endif
