/* fuzz_api_body.c - JSON request bodies of every route that reads one: POST /v1/neighbors
 * (api_neighbors, filters included), POST /v1/score (api_score_batch), POST /v1/pairs
 * (api_ingest), PATCH /v1/items/{id} and /v1/items (api_item_patch, api_items_patch).
 *
 * Each input is the body of all five, called as http.c calls them: the read routes inside
 * a read section of the published fixture snapshot (daemon.c), the writes outside one. Every
 * reply must pass daemon_check_reply: above all, the JSON the query routes write by hand
 * must parse. Ingestion runs into a real log behind trainer_stub.c, which checks that
 * every batch acknowledged reads back. (The admin POST routes read no body: fuzz_url.c
 * reaches them with their query strings.) */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz.h"
#include "walkrec/live.h"
#include "walkrec/metrics.h"

static const wr_config *cfg;
static const wr_service *svc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cfg = daemon_start(&svc);
    return 0;
}

static void post(wr_handler fn, int writer, const char *body, size_t len, const char *what)
{
    wr_request rq = {.method = writer == 2 ? WR_M_PATCH : WR_M_POST, .body = body,
                     .body_len = len, .cfg = cfg, .svc = svc, .id = "P0001", .id_len = 5};
    wr_reply rp = {0};
    const wr_snapshot *s = writer ? NULL : live_acquire();
    fn(&rq, s, &rp);
    if (rp.heavy) { /* http.c runs it again on the scan pool */
        rq.pooled = 1;
        rp.heavy = 0;
        fn(&rq, s, &rp);
    }
    if (!writer)
        live_release();
    daemon_check_reply(&rp, what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* http.c hands over the body NUL-terminated, or NULL when there was none. */
    char *body = NULL;
    if (size) {
        body = xmalloc(size + 1);
        memcpy(body, data, size);
        body[size] = 0;
    }
    post(api_neighbors, 0, body, size, "POST /v1/neighbors");
    post(api_score_batch, 0, body, size, "POST /v1/score");
    post(api_ingest, 1, body, size, "POST /v1/pairs");
    post(api_item_patch, 2, body, size, "PATCH /v1/items/{id}");
    post(api_items_patch, 2, body, size, "PATCH /v1/items");
    free(body);
    return 0;
}
