/* trainer_stub.c - the trainer as the handler drivers see it: a wr_service (rest.h).
 *
 * retrain.c runs a thread that trains and publishes; the handlers only hand it validated
 * batches and read its status, so the drivers give them this instead. Ingestion goes into a
 * real write-ahead log in the scratch directory: every 32 acknowledged batches the log is
 * closed, opened again and scanned, and each batch must come back as it was acknowledged
 * (same pairs, in order), then a fresh log starts. The admin calls answer as a trainer
 * with nothing to publish or roll back to would. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fuzz.h"
#include "walkrec/attrs.h"
#include "walkrec/hidden.h"
#include "walkrec/metrics.h"
#include "walkrec/snapshot.h"

#define CHECK_EVERY 32

static wr_wal *wal;
static char *dir;
static struct {
    size_t n;
    uint64_t hash;
} acked[CHECK_EVERY];
static size_t nacked;
static uint64_t pending;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t batch_hash(const wr_wal_pair *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        float w = (float)p[i].w;
        h = fnv(h, &p[i].alen, sizeof p[i].alen);
        h = fnv(h, p[i].a, p[i].alen);
        h = fnv(h, &p[i].blen, sizeof p[i].blen);
        h = fnv(h, p[i].b, p[i].blen);
        h = fnv(h, &w, sizeof w);
    }
    return h;
}

static void open_fresh(void)
{
    wr_err err;
    if (!dir)
        dir = fuzz_path("wal");
    char *path = fuzz_path("wal/" WR_WAL_FILE);
    unlink(path);
    free(path);
    if (!(wal = wal_open(dir, 0, NULL, &err)))
        fuzz_bug("wal_open: %s", err.msg);
    nacked = 0;
    pending = 0;
}

static int compare(void *ud, uint64_t off, const wr_wal_pair *p, size_t n)
{
    size_t *i = ud;
    if (*i >= nacked || acked[*i].n != n || acked[*i].hash != batch_hash(p, n))
        fuzz_bug("the log's record %zu (at %llu) is not the batch acknowledged", *i,
                 (unsigned long long)off);
    ++*i;
    return 0;
}

static void check_log(void)
{
    wr_wal_info in;
    wr_err err;
    size_t i = 0;
    wal_close(wal);
    if (!(wal = wal_open(dir, 0, &in, &err)))
        fuzz_bug("the log of acknowledged batches does not open: %s", err.msg);
    if (in.cut_at || wal_scan(wal, 0, compare, &i, NULL, &err) < 0 || i != nacked)
        fuzz_bug("%zu of %zu acknowledged batches read back (cut at %llu)", i, nacked,
                 (unsigned long long)in.cut_at);
    wal_close(wal);
    open_fresh();
}

static int ingest(const wr_wal_pair *p, size_t n, uint64_t *pos, uint64_t *pend, wr_err *err)
{
    if (!wal)
        open_fresh();
    if (wal_append(wal, p, n, pos, err) < 0)
        fuzz_bug("the handler passed a batch the log refuses: %s", err->msg);
    acked[nacked].n = n;
    acked[nacked++].hash = batch_hash(p, n);
    *pend = pending += n;
    if (nacked == CHECK_EVERY)
        check_log();
    return 0;
}

static void request(void) {}

static int force_publish(uint64_t generation, wr_err *err)
{
    return wr_failc(err, WR_ENOTFOUND, "no model-%llu.wr or candidate-%llu.wr",
                   (unsigned long long)generation, (unsigned long long)generation);
}

static int rollback(uint64_t *generation, int *queued, wr_err *err)
{
    return wr_failc(err, WR_ESTATE, "no earlier generation to roll back to");
}

static int submit(const char *path, wr_err *err)
{
    return wr_failc(err, WR_ENOTFOUND, "%s: no such model", path);
}

/* Item changes go to the real hidden set and are published, as retrain_item does after
 * its log append: later inputs read through the hidden view. */
static int item(int kind, const wr_wal_item *it, size_t n, wr_err *err)
{
    static uint64_t off = WR_WAL_HEADER;
    int changed = 0;
    (void)err;
    for (size_t i = 0; i < n; i++) {
        off += WR_WAL_ITEM_RECORD(it[i].len + it[i].dlen);
        changed |= kind == WR_WAL_ATTRS ? attrs_apply(it[i].id, it[i].len, it[i].data,
                                                      it[i].dlen, off)
                                        : hidden_apply(kind, it[i].id, it[i].len, off);
    }
    if (changed)
        snapshot_publish_hidden();
    return 0;
}

static json_t *status(void)
{
    return json_pack("{s:s,s:I}", "state", "idle", "generation", (json_int_t)FUZZ_GENERATION);
}

const wr_service *stub_service(void)
{
    static const wr_service svc = {
        .ingest = ingest,
        .retrain = request,
        .publish = force_publish,
        .rollback = rollback,
        .submit = submit,
        .status = status,
        .metrics = metrics_render,
        .items = item,
    };
    return &svc;
}
