/* daemon.c - the fixture of the handler drivers (see daemon.h). */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "walkrec/index.h"
#include "walkrec/live.h"
#include "walkrec/overlay.h"
#include "walkrec/rng.h"
#include "walkrec/snapshot.h"

static wr_config cfg;

/* Ids the handlers must quote, split and decode correctly. */
static const char *const odd_ids[] = {
    "a,b", "sp ace", "plus+sign", "per%20cent", "slash/ed", "q\"uote", "back\\slash",
    "caf\xc3\xa9", "\xf0\x9f\x98\x80", "amp&er=eq", "?", "#hash", "x",
};
#define NODD (sizeof odd_ids / sizeof odd_ids[0])
#define NITEMS 40
#define DIM 8

static wr_model *fixture_model(void)
{
    wr_model *m = model_new(NITEMS, DIM);
    wr_rng r;
    rng_seed(&r, 9);
    for (uint32_t i = 0; i < NITEMS; i++) {
        char id[16];
        if (i < NODD) {
            dict_intern(m->ids, odd_ids[i], strlen(odd_ids[i]));
        } else {
            int n = snprintf(id, sizeof id, "P%04u", i);
            dict_intern(m->ids, id, (size_t)n);
        }
        for (uint32_t j = 0; j < DIM; j++) /* row 13 stays zero: no direction at all */
            m->vecs[(size_t)i * DIM + j] = i == NODD ? 0.0f : rng_float(&r) * 2 - 1;
    }
    return m;
}

/* Side information: every item but the last; categories named like the ids. */
static char *side_file(const wr_model *m)
{
    static const char *const cats[] = {"Books", "Toys & Games", "caf\xc3\xa9", "a,b"};
    char *path = fuzz_path("items.tsv");
    FILE *f = fopen(path, "w");
    if (!f)
        fuzz_bug("cannot write %s", path);
    fputs("item\tbrand\tcategory\tdegree\n", f);
    for (uint32_t i = 0; i + 1 < m->n; i++)
        fprintf(f, "%s\tBrand %u\t%s\t%u\n", dict_str(m->ids, i), i % 3, cats[i % 4], i * 7);
    fclose(f);
    return path;
}

static void wait_overlay(void)
{
    for (int i = 0; i < 2000; i++) {
        const wr_snapshot *s = live_acquire();
        size_t n = s ? snapshot_provisional(s) : 0;
        live_release();
        if (n >= 2)
            return;
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    fuzz_bug("the provisional overlay did not appear within 10 s");
}

const wr_config *daemon_start(const wr_service **svc)
{
    wr_index_opts o;
    wr_err err;
    wr_quiet = 1;
    config_init(&cfg);
    cfg.max_k = 200; /* small enough that every allocation stays cheap, still reachable */
    cfg.max_batch = 64;
    wr_model *m = fixture_model();
    char *items = side_file(m);
    index_default_opts(&o);
    o.k = 5;
    o.exact_max_items = 16; /* approximate lists (ann.h) over the 40 items */
    o.threads = 1;
    o.items_file = items;
    wr_index *ix = index_build(m, FUZZ_GENERATION, "fuzz.wr", &o, &err);
    if (!ix)
        fuzz_bug("index_build: %s", err.msg);
    free(items);
    snapshot_publish_index(ix);
    /* Two items known only from ingested pairs; then the thread stops, so that ingestion
     * during fuzzing changes nothing the next input would see. */
    if (overlay_start(5, &err) < 0)
        fuzz_bug("%s", err.msg);
    wr_wal_pair p[] = {{"new-1", "P0020", 5, 5, 1.0}, {"new-1", "a,b", 5, 3, 2.0},
                       {"new 2", "P0030", 5, 5, 1.5}};
    overlay_note(p, 3, 0);
    wait_overlay();
    overlay_stop();
    *svc = stub_service();
    return &cfg;
}

static int known_code(const char *c)
{
    for (int i = 0; i <= WR_E_BUSY; i++)
        if (!strcmp(c, rest_code_str((wr_code)i)))
            return 1;
    return 0;
}

void daemon_check_reply(wr_reply *rp, const char *what)
{
    static const unsigned statuses[] = {200, 202, 204, 400, 401, 404, 405, 409, 413, 500, 503};
    int ok = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        ok |= rp->status == statuses[i];
    if (!ok)
        fuzz_bug("%s: status %u", what, rp->status);
    if (rp->status == 204) { /* no content: an item change */
        if (rp->json || rp->text)
            fuzz_bug("%s: 204 with a body", what);
        return;
    }
    if (!rp->json == !rp->text)
        fuzz_bug("%s: %s", what, rp->json ? "both a document and a text" : "no body at all");
    if (rp->generation && rp->generation != FUZZ_GENERATION)
        fuzz_bug("%s: generation %llu", what, (unsigned long long)rp->generation);
    json_t *doc = rp->json;
    if (rp->text) {
        int json = !rp->content_type || !strncmp(rp->content_type, "application/json", 16);
        if (memchr(rp->text, 0, rp->text_len) && json)
            fuzz_bug("%s: a NUL byte in the answer", what);
        if (!json) {
            free(rp->text);
            return;
        }
        json_error_t e;
        doc = json_loadb(rp->text, rp->text_len, 0, &e);
        if (!json_is_object(doc))
            fuzz_bug("%s: the answer is not a JSON object (%s at column %d): %.*s", what, e.text,
                     e.column, (int)(rp->text_len < 300 ? rp->text_len : 300), rp->text);
        free(rp->text);
    } else {
        char *s = json_dumps(doc, JSON_COMPACT);
        if (!s)
            fuzz_bug("%s: the document does not serialise", what);
        free(s);
    }
    if (rp->status >= 400) {
        json_t *e = json_object_get(doc, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        if (!code || !known_code(code) || !json_is_string(json_object_get(e, "message")))
            fuzz_bug("%s: status %u without an error code and message", what, rp->status);
    }
    json_decref(doc);
}
