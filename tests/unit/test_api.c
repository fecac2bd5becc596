/* test_api.c - every route of the REST API, table-driven, without a socket and without
 * libmicrohttpd: {method, target, body} -> {status, a JSON document the answer must
 * contain}.
 *
 * The requests go the way http.c's dispatch() takes them after its transport checks:
 * api_route, the {id} segment decoded, the follower refusal, api_call inside a read section
 * of the published snapshot (writers outside one). The snapshot is a 20-item model in two
 * clusters with side information, and an overlay with one provisional item; the trainer
 * behind the write routes is a fake wr_service whose answers the cases choose by their
 * arguments, so every library error code is seen mapped to its status; its item changes go
 * to the real hidden set (hidden.h), so test_hidden sees hidden items leave every answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "walkrec/api.h"
#include "walkrec/attrs.h"
#include "walkrec/hidden.h"
#include "walkrec/live.h"
#include "walkrec/metrics.h"
#include "walkrec/overlay.h"

#define GEN 7
#define N 20
#define DIM 4

static wr_config cfg;
static char items_path[64];

/* ---- the fake trainer ---- */

static size_t ingested, retrains;

static int ingest(const wr_wal_pair *p, size_t n, uint64_t *pos, uint64_t *pending, wr_err *err)
{
    if (p[0].alen == 4 && !memcmp(p[0].a, "fail", 4))
        return wr_failc(err, WR_EIO, "pairs.wal: write failed: No space left on device");
    ingested += n;
    *pos = 4 + ingested;
    *pending = ingested;
    return 0;
}

static void retrain(void) { retrains++; }

static int publish(uint64_t gen, wr_err *err)
{
    switch (gen) {
    case 3: return wr_failc(err, WR_ENOTFOUND, "no model-3.wr or candidate-3.wr in var");
    case 4: return wr_fail_at(err, WR_EIO, "var/model-4.wr", 0, 0, "var/model-4.wr: Permission denied");
    case 5: return wr_fail_at(err, WR_ECORRUPT, "var/model-5.wr", 0, 4160,
                              "var/model-5.wr: offset 4160: checksum mismatch");
    default: return 0;
    }
}

static int rollback(uint64_t *gen, int *queued, wr_err *err)
{
    return wr_failc(err, WR_ESTATE, "no generation older than 7 in var");
}

static int submit(const char *path, wr_err *err)
{
    if (strcmp(path, "/models/ok.wr"))
        return wr_failc(err, WR_ENOTFOUND, "%s: No such file or directory", path);
    return 0;
}

static json_t *status(void) { return json_pack("{s:s,s:i}", "state", "idle", "generation", GEN); }

static char *metrics(size_t *len)
{
    char *s = strdup("walkrec_up 1\n");
    *len = strlen(s);
    return s;
}

/* As retrain_item without the log: applied at growing offsets, then published. */
static int item(int kind, const wr_wal_item *it, size_t n, wr_err *err)
{
    static uint64_t off = 16;
    int changed = 0;
    for (size_t i = 0; i < n; i++)
        if (it[i].len == 4 && !memcmp(it[i].id, "fail", 4))
            return wr_failc(err, WR_EIO, "pairs.wal: write failed: No space left on device");
    for (size_t i = 0; i < n; i++) {
        off += 40;
        changed |= kind == WR_WAL_ATTRS ? attrs_apply(it[i].id, it[i].len, it[i].data,
                                                      it[i].dlen, off)
                                        : hidden_apply(kind, it[i].id, it[i].len, off);
    }
    if (changed)
        snapshot_publish_hidden();
    return 0;
}

static const wr_service trainer = {0, ingest, retrain, publish, rollback, submit, status,
                                   metrics, item};
static const wr_service follower = {1, ingest, retrain, publish, rollback, submit, status,
                                    metrics, item};

/* ---- the snapshot ---- */

static wr_model *fixture_model(void)
{
    wr_model *m = model_new(N, DIM);
    for (uint32_t i = 0; i < N; i++) {
        char id[8];
        int n = snprintf(id, sizeof id, "P%02u", i);
        dict_intern(m->ids, id, (size_t)n);
        float *v = m->vecs + (size_t)i * DIM;
        v[i < 10 ? 0 : 1] = 1; /* two clusters */
        v[2] = 0.05f * (float)(i % 10);
        v[3] = 0.01f * (float)i;
    }
    return m;
}

static int setup(void **state)
{
    (void)state;
    wr_err err;
    wr_quiet = 1;
    config_init(&cfg);
    snprintf(items_path, sizeof items_path, "/tmp/test_api_items.XXXXXX");
    int fd = mkstemp(items_path);
    FILE *f = fdopen(fd, "w");
    fputs("item\tcategory\tbrand\n", f);
    for (int i = 0; i < N; i++)
        fprintf(f, "P%02d\t%s\tbrand%d\n", i, i < 10 ? "A" : "B", i % 3);
    fclose(f);
    wr_index_opts o;
    index_default_opts(&o);
    o.k = 5;
    o.threads = 1;
    o.items_file = items_path;
    wr_index *ix = index_build(fixture_model(), GEN, "test.wr", &o, &err);
    if (!ix)
        return -1;
    snapshot_publish_index(ix);
    /* one provisional item, known from two ingested pairs */
    if (overlay_start(5, &err) < 0)
        return -1;
    wr_wal_pair p[] = {{"NEW", "P00", 3, 3, 1.0}, {"NEW", "P01", 3, 3, 2.0}};
    overlay_note(p, 2, 0);
    for (int i = 0; i < 2000; i++) {
        const wr_snapshot *s = live_acquire();
        size_t n = snapshot_provisional(s);
        live_release();
        if (n == 1)
            break;
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    overlay_stop();
    size_t nr;
    const wr_route *r = api_routes(&nr);
    static const char *names[32];
    for (size_t i = 0; i < nr; i++)
        names[i] = r[i].path;
    names[nr] = "unmatched";
    metrics_init(nr + 1, names);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    snapshot_shutdown();
    metrics_free();
    config_free(&cfg);
    unlink(items_path);
    return 0;
}

/* ---- the harness ---- */

static size_t heavy_calls; /* requests the handlers sent to the scan pool */

/* A request as http.c hands it on: its reply, decoded as JSON when it is JSON. */
static json_t *serve(int method, const char *target, const char *body, const wr_service *svc,
                     int with_model, unsigned *status, char **ctype)
{
    char *url = strdup(target), *query = strchr(url, '?');
    if (query)
        *query++ = 0;
    wr_param params[16];
    size_t np = 0;
    for (char *q = query; q && *q && np < 16;) {
        char *amp = strchr(q, '&'), *eq;
        if (amp)
            *amp++ = 0;
        eq = strchr(q, '=');
        if (eq)
            *eq++ = 0;
        params[np++] = (wr_param){q, eq ? eq : ""};
        q = amp;
    }
    wr_reply rp = {0};
    const char *raw_id;
    size_t raw_len;
    char id[256];
    wr_request rq = {.method = method, .query = params, .nquery = np, .body = body,
                     .body_len = body ? strlen(body) : 0, .cfg = &cfg, .svc = svc};
    const wr_route *rt = api_route(url, &raw_id, &raw_len);
    if (!rt) {
        rest_reply_error(&rp, WR_E_NOT_FOUND, "no such route: %s", url);
    } else if (!api_refuse_follower(rt, &rq, &rp)) {
        long n = raw_id ? rest_decode(raw_id, raw_len, 0, id) : 0;
        assert_true(n >= 0);
        rq.id = raw_id ? id : NULL;
        rq.id_len = (size_t)n;
        if (api_unlocked(rt, method) || !with_model) {
            api_call(rt, &rq, NULL, &rp);
        } else {
            api_call(rt, &rq, live_acquire(), &rp);
            live_release();
        }
        if (rp.heavy) { /* http.c runs it again on the scan pool */
            assert_int_equal(rp.status, 0);
            rp.heavy = 0;
            rq.pooled = 1;
            api_call(rt, &rq, live_acquire(), &rp);
            live_release();
            assert_false(rp.heavy);
            heavy_calls++;
        }
    }
    free(url);
    *status = rp.status;
    *ctype = NULL;
    json_t *doc = rp.json;
    if (!doc && rp.text) {
        int json = !rp.content_type || !strncmp(rp.content_type, "application/json", 16);
        doc = json ? json_loadb(rp.text, rp.text_len, 0, NULL) : json_stringn(rp.text, rp.text_len);
        assert_non_null(doc);
        *ctype = strdup(rp.content_type ? rp.content_type : "application/json");
        free(rp.text);
    }
    return doc;
}

/* want is contained in got: every member of an object, every element of an array (same
 * length), equal scalars (numbers by value). */
static int contains(const json_t *got, const json_t *want)
{
    if (json_is_object(want)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v) {
            if (!contains(json_object_get(got, k), v))
                return 0;
        }
        return json_is_object(got);
    }
    if (json_is_array(want)) {
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
            return 0;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!contains(json_array_get(got, i), json_array_get(want, i)))
                return 0;
        return 1;
    }
    if (json_is_number(want))
        return json_is_number(got) && json_number_value(got) == json_number_value(want);
    return got && json_equal((json_t *)got, (json_t *)want);
}

/* ---- checks beyond containment ---- */

static int neighbors_in(const json_t *doc, char cluster, size_t n)
{
    json_t *nb = json_object_get(doc, "neighbors");
    if (json_array_size(nb) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(nb, i), "item"));
        if (!id || (id[1] < '1') != (cluster == 'A'))
            return 0;
    }
    return 1;
}

static int cluster_b2(const json_t *d) { return neighbors_in(d, 'B', 2); }
static int cluster_a2(const json_t *d) { return neighbors_in(d, 'A', 2); }

/* P00's list takes in the provisional NEW (averaged from P00 and P01) at the top. */
static int new_then_a2(const json_t *d)
{
    json_t *nb = json_object_get(d, "neighbors"), *first = json_array_get(nb, 0);
    if (json_array_size(nb) != 3 || strcmp(json_string_value(json_object_get(first, "item")),
                                           "NEW"))
        return 0;
    json_t *rest = json_pack("{s:[O,O]}", "neighbors", json_array_get(nb, 1),
                             json_array_get(nb, 2));
    int ok = neighbors_in(rest, 'A', 2);
    json_decref(rest);
    return ok;
}

static int close_pair(const json_t *d)
{
    return json_number_value(json_object_get(d, "score")) > 0.9 &&
           json_is_null(json_object_get(d, "probability"));
}

static int batch_scores(const json_t *d)
{
    json_t *s = json_object_get(d, "scores");
    return json_array_size(s) == 2 && fabs(json_number_value(json_array_get(s, 0))) < 0.2 &&
           json_is_null(json_array_get(s, 1));
}

static int three_items(const json_t *d) { return json_array_size(json_object_get(d, "items")) == 3; }

static int basket_leaves_out(const json_t *d)
{
    json_t *nb = json_object_get(d, "neighbors");
    for (size_t i = 0; i < json_array_size(nb); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(nb, i), "item"));
        if (!strcmp(id, "P00") || !strcmp(id, "P01"))
            return 0;
    }
    return json_array_size(nb) == 3;
}

/* NEW + P01's basket: three of cluster A, P01 left out */
static int basket_of_new(const json_t *d)
{
    json_t *nb = json_object_get(d, "neighbors");
    for (size_t i = 0; i < json_array_size(nb); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(nb, i), "item")), "P01"))
            return 0;
    return neighbors_in(d, 'A', 3);
}

static int prometheus(const json_t *d) { return !strcmp(json_string_value(d), "walkrec_up 1\n"); }

static int html(const json_t *d) { return !strncmp(json_string_value(d), "<!", 2); }

enum { GET = WR_M_GET, POST = WR_M_POST, PUT = WR_M_PUT, DEL = WR_M_DELETE };

static const struct {
    int method;
    const char *target, *body;
    unsigned status;
    const char *want; /* JSON the answer contains, NULL: none */
    int (*check)(const json_t *doc);
    const wr_service *svc; /* NULL: the trainer */
    int no_model;          /* before the first publication */
} cases[] = {
    {GET, "/healthz", NULL, 200, "{\"status\":\"ok\"}", NULL, NULL, 0},
    {GET, "/readyz", NULL, 200, "{\"status\":\"ready\",\"generation\":7}", NULL, NULL, 0},
    {GET, "/readyz", NULL, 503, "{\"error\":{\"code\":\"no_model\"}}", NULL, NULL, 1},
    {GET, "/v1/model", NULL, 503, "{\"error\":{\"code\":\"no_model\"}}", NULL, NULL, 1},
    {GET, "/v1/items/P00/neighbors?k=3", NULL, 200,
     "{\"generation\":7,\"item\":\"P00\",\"rank\":\"cosine\"}", new_then_a2, NULL, 0},
    {GET, "/v1/items/P00/neighbors?k=2&category=B", NULL, 200, "{\"item\":\"P00\"}",
     cluster_b2, NULL, 0},
    {GET, "/v1/items/P00/neighbors?k=0", NULL, 400, "{\"error\":{\"code\":\"bad_request\"}}",
     NULL, NULL, 0},
    {GET, "/v1/items/P00/neighbors?k=2&min_score=x", NULL, 400,
     "{\"error\":{\"code\":\"bad_request\"}}", NULL, NULL, 0},
    {GET, "/v1/items/P00/neighbors?rank=probability", NULL, 400,
     "{\"error\":{\"code\":\"bad_request\"}}", NULL, NULL, 0},
    {GET, "/v1/items/NOPE/neighbors", NULL, 404, "{\"error\":{\"code\":\"unknown_item\"}}",
     NULL, NULL, 0},
    {GET, "/v1/items/P05", NULL, 200,
     "{\"item\":\"P05\",\"side\":{\"category\":\"A\",\"brand\":\"brand2\"}}", NULL, NULL, 0},
    {GET, "/v1/items/NEW", NULL, 200, "{\"item\":\"NEW\",\"provisional\":true,\"partners\":2}",
     NULL, NULL, 0},
    {GET, "/v1/items/NEW/neighbors?k=2", NULL, 200, "{\"provisional\":true}", cluster_a2, NULL,
     0},
    {GET, "/v1/items?prefix=P1&limit=3", NULL, 200, "{\"prefix\":\"P1\",\"more\":true}",
     three_items, NULL, 0},
    /* provisional items are ids too: NEW sorts before the model's P.. */
    {GET, "/v1/items?prefix=&limit=2", NULL, 200, "{\"items\":[\"NEW\",\"P00\"],\"more\":true}",
     NULL, NULL, 0},
    {GET, "/v1/items?prefix=NE", NULL, 200, "{\"items\":[\"NEW\"],\"more\":false}", NULL,
     NULL, 0},
    {GET, "/v1/score?a=P00&b=P01", NULL, 200, "{\"a\":\"P00\",\"b\":\"P01\"}", close_pair, NULL,
     0},
    {GET, "/v1/score?a=NEW&b=P01", NULL, 200, "{\"provisional\":{\"a\":true,\"b\":false}}", NULL,
     NULL, 0},
    {GET, "/v1/score?a=P00", NULL, 400, "{\"error\":{\"code\":\"bad_request\"}}", NULL, NULL, 0},
    {GET, "/v1/score?a=P00&b=ZZ", NULL, 404,
     "{\"error\":{\"code\":\"unknown_item\"},\"known\":{\"a\":true,\"b\":false}}", NULL, NULL, 0},
    {POST, "/v1/score", "{\"pairs\":[[\"P00\",\"P10\"],[\"P00\",\"X\"]]}", 200, "{}",
     batch_scores, NULL, 0},
    {POST, "/v1/score", "{\"pairs\":[[\"P00\"]]}", 400, "{\"error\":{\"code\":\"bad_request\"}}",
     NULL, NULL, 0},
    {POST, "/v1/neighbors", "{\"items\":[\"P00\",\"X\"],\"k\":2}", 200,
     "{\"mode\":\"each\",\"results\":[{\"item\":\"P00\"},{\"item\":\"X\",\"neighbors\":null,"
     "\"error\":{\"code\":\"unknown_item\"}}]}", NULL, NULL, 0},
    {POST, "/v1/neighbors", "{\"items\":[\"P00\",\"P01\"],\"mode\":\"basket\",\"k\":3}", 200,
     "{\"mode\":\"basket\",\"items\":[\"P00\",\"P01\"],\"unknown\":[]}", basket_leaves_out, NULL,
     0},
    {POST, "/v1/neighbors", "{\"items\":[\"NEW\",\"P01\",\"ZZ\"],\"mode\":\"basket\",\"k\":3}",
     200, "{\"items\":[\"NEW\",\"P01\"],\"unknown\":[\"ZZ\"]}", basket_of_new, NULL, 0},
    {POST, "/v1/neighbors", "{\"items\":[\"NEW\"],\"mode\":\"basket\",\"k\":2}", 200,
     "{\"items\":[\"NEW\"],\"unknown\":[]}", cluster_a2, NULL, 0},
    {POST, "/v1/neighbors", "{\"items\":[]}", 400, "{\"error\":{\"code\":\"bad_request\"}}",
     NULL, NULL, 0},
    {POST, "/v1/neighbors", "{\"items\":[\"P00\"],\"k\":5000}", 400,
     "{\"error\":{\"code\":\"bad_request\"}}", NULL, NULL, 0},
    {POST, "/v1/neighbors", "not json", 400, "{\"error\":{\"code\":\"bad_request\"}}", NULL,
     NULL, 0},
    {GET, "/v1/model", NULL, 200,
     "{\"generation\":7,\"items\":20,\"dim\":4,\"index\":{\"k\":5,\"kind\":\"exact\","
     "\"rank\":\"cosine\"},\"side_info\":{\"rows\":20}}", NULL, NULL, 0},
    {POST, "/v1/model", NULL, 405, "{\"error\":{\"code\":\"method_not_allowed\"}}", NULL, NULL,
     0},
    {GET, "/v1/nothing", NULL, 404, "{\"error\":{\"code\":\"not_found\"}}", NULL, NULL, 0},
    {POST, "/v1/pairs", "{\"pairs\":[{\"a\":\"x\",\"b\":\"y\",\"weight\":2}]}", 202,
     "{\"accepted\":1}", NULL, NULL, 0},
    {POST, "/v1/pairs", "{\"pairs\":[{\"a\":\"x\",\"b\":\"y\",\"relationship\":\"also_bought\"},"
     "{\"a\":\"x\",\"b\":\"z\",\"weight\":-1}]}", 400,
     "{\"error\":{\"code\":\"bad_request\",\"message\":\"pairs[1]: weight must be a finite "
     "number > 0; nothing was stored\"}}", NULL, NULL, 0},
    {POST, "/v1/pairs", "{\"pairs\":[{\"a\":\"fail\",\"b\":\"y\"}]}", 503,
     "{\"error\":{\"code\":\"unavailable\"}}", NULL, NULL, 0},
    {POST, "/v1/pairs", "not json at all", 409, "{\"error\":{\"code\":\"follower\"}}", NULL,
     &follower, 0},
    {POST, "/v1/admin/retrain", NULL, 409, "{\"error\":{\"code\":\"follower\"}}", NULL,
     &follower, 0},
    {GET, "/v1/admin/status", NULL, 200, "{\"state\":\"idle\"}", NULL, &follower, 0},
    {POST, "/v1/admin/retrain", NULL, 202, "{\"queued\":true,\"status\":{\"state\":\"idle\"}}",
     NULL, NULL, 0},
    {POST, "/v1/admin/publish?generation=abc", NULL, 400,
     "{\"error\":{\"code\":\"bad_request\"}}", NULL, NULL, 0},
    {POST, "/v1/admin/publish?generation=3", NULL, 404,
     "{\"error\":{\"code\":\"unknown_generation\"}}", NULL, NULL, 0},
    {POST, "/v1/admin/publish?generation=4", NULL, 500,
     "{\"error\":{\"code\":\"io_error\",\"file\":\"var/model-4.wr\"}}", NULL, NULL, 0},
    {POST, "/v1/admin/publish?generation=5", NULL, 500,
     "{\"error\":{\"code\":\"corrupt_file\",\"file\":\"var/model-5.wr\",\"offset\":4160}}", NULL,
     NULL, 0},
    {POST, "/v1/admin/publish?generation=6", NULL, 202, "{\"queued\":true,\"generation\":6}",
     NULL, NULL, 0},
    {POST, "/v1/admin/rollback", NULL, 409, "{\"error\":{\"code\":\"conflict\"}}", NULL, NULL,
     0},
    {GET, "/v1/admin/status", NULL, 200, "{\"state\":\"idle\",\"generation\":7}", NULL, NULL, 0},
    {POST, "/v1/admin/candidates", "{\"model\":\"/models/ok.wr\"}", 202,
     "{\"queued\":true,\"model\":\"/models/ok.wr\"}", NULL, NULL, 0},
    {POST, "/v1/admin/candidates", "{\"model\":\"/models/none.wr\"}", 404,
     "{\"error\":{\"code\":\"not_found\"}}", NULL, NULL, 0},
    {POST, "/v1/admin/candidates", "{\"path\":\"/models/ok.wr\"}", 400,
     "{\"error\":{\"code\":\"bad_request\"}}", NULL, NULL, 0},
    {POST, "/v1/admin/candidates", "{\"model\":\"/models/ok.wr\"}", 409,
     "{\"error\":{\"code\":\"follower\"}}", NULL, &follower, 0},
    /* item changes: any id (known or not), 409 on a follower, 400 for ids the log refuses,
     * 503 when the log fails; test_hidden follows what they do to answers */
    {PUT, "/v1/items/NOT-YET/hidden", NULL, 204, NULL, NULL, NULL, 0},
    {DEL, "/v1/items/NOT-YET/hidden", NULL, 204, NULL, NULL, NULL, 1},
    {DEL, "/v1/items/NOT-YET/hidden", NULL, 204, NULL, NULL, NULL, 0},
    {PUT, "/v1/items/P01/hidden", NULL, 409, "{\"error\":{\"code\":\"follower\"}}", NULL,
     &follower, 0},
    {DEL, "/v1/items/P01", NULL, 409, "{\"error\":{\"code\":\"follower\"}}", NULL,
     &follower, 0},
    {PUT, "/v1/items/a%09b/hidden", NULL, 400, "{\"error\":{\"code\":\"bad_request\"}}",
     NULL, NULL, 0},
    {PUT, "/v1/items/fail/hidden", NULL, 503, "{\"error\":{\"code\":\"unavailable\"}}",
     NULL, NULL, 0},
    {GET, "/v1/items/P01/hidden", NULL, 405,
     "{\"error\":{\"code\":\"method_not_allowed\"}}", NULL, NULL, 0},
    {POST, "/v1/items/P01", "{}", 405, "{\"error\":{\"code\":\"method_not_allowed\"}}",
     NULL, NULL, 0},
    {GET, "/metrics", NULL, 200, NULL, prometheus, NULL, 0},
    {GET, "/", NULL, 200, NULL, html, NULL, 0},
    {GET, "/ui/app.js", NULL, 200, NULL, NULL, NULL, 0},
    {GET, "/ui/nope.js", NULL, 404, "{\"error\":{\"code\":\"not_found\"}}", NULL, NULL, 0},
    {GET, "/openapi.yaml", NULL, 200, NULL, NULL, NULL, 0},
};

static void test_routes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned status;
        char *ctype;
        json_t *doc = serve(cases[i].method, cases[i].target, cases[i].body,
                            cases[i].svc ? cases[i].svc : &trainer, !cases[i].no_model, &status,
                            &ctype);
        char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
        if (status != cases[i].status)
            fail_msg("case %zu, %s: status %u, expected %u: %.300s", i, cases[i].target,
                     status, cases[i].status, text);
        if (cases[i].want) {
            json_t *want = json_loads(cases[i].want, 0, NULL);
            if (!want)
                fail_msg("case %zu: bad expectation", i);
            if (!contains(doc, want))
                fail_msg("%s: %.400s lacks %s", cases[i].target, text, cases[i].want);
            json_decref(want);
        }
        if (cases[i].check && !cases[i].check(doc))
            fail_msg("%s: %.400s", cases[i].target, text);
        free(text);
        free(ctype);
        json_decref(doc);
    }
    assert_int_equal(ingested, 1);
    assert_int_equal(retrains, 1);
}

/* What a request may cost: which go to the scan pool, and the 400s of max_scan_items and
 * max_response_bytes naming them. The index has 20 items and lists of 5. */
static void test_cost(void **state)
{
    (void)state;
    static const struct {
        uint64_t max_scan_items, max_response_bytes;
        int method;
        const char *target, *body;
        unsigned status;
        const char *code; /* of the error, or NULL */
        int heavy;        /* went to the scan pool */
    } costs[] = {
        {20, 1 << 20, GET, "/v1/items/P00/neighbors?k=5", NULL, 200, NULL, 0},
        {20, 1 << 20, GET, "/v1/items/P00/neighbors?k=6", NULL, 200, NULL, 1},
        {20, 1 << 20, GET, "/v1/items/P00/neighbors?k=2&category=B", NULL, 200, NULL, 1},
        {20, 1 << 20, GET, "/v1/items/NEW/neighbors?k=2", NULL, 200, NULL, 0},
        {20, 1 << 20, GET, "/v1/items/NEW/neighbors?k=6", NULL, 200, NULL, 1},
        {19, 1 << 20, GET, "/v1/items/P00/neighbors?k=6", NULL, 400, "too_costly", 0},
        {19, 1 << 20, GET, "/v1/items/P00/neighbors?k=5", NULL, 200, NULL, 0},
        {19, 1 << 20, GET, "/v1/items/NEW/neighbors?k=6", NULL, 400, "too_costly", 0},
        {40, 1 << 20, POST, "/v1/neighbors", "{\"items\":[\"P00\",\"P01\"],\"k\":6}", 200, NULL, 1},
        {40, 1 << 20, POST, "/v1/neighbors", "{\"items\":[\"P00\",\"P01\",\"P02\"],\"k\":6}",
         400, "too_costly", 0},
        {40, 1 << 20, POST, "/v1/neighbors", "{\"items\":[\"P00\",\"P01\",\"P02\",\"X\"],"
         "\"k\":2}", 200, NULL, 0},
        {19, 1 << 20, POST, "/v1/neighbors", "{\"items\":[\"P00\"],\"mode\":\"basket\"}", 400,
         "too_costly", 0},
        {20, 1 << 20, POST, "/v1/neighbors", "{\"items\":[\"P00\"],\"mode\":\"basket\"}", 200,
         NULL, 1},
        {0, 1 << 20, POST, "/v1/neighbors", "{\"items\":[\"P00\"],\"k\":2,\"category\":\"B\"}",
         400, "too_costly", 0},
        {20, 100, GET, "/v1/items/P00/neighbors?k=5", NULL, 400, "response_too_large", 0},
        {40, 100, POST, "/v1/neighbors", "{\"items\":[\"P00\",\"P01\"],\"k\":6}", 400,
         "response_too_large", 1},
        {20, 50, POST, "/v1/score", "{\"pairs\":[[\"P00\",\"P10\"],[\"P00\",\"P11\"],"
         "[\"P00\",\"P12\"]]}", 400, "response_too_large", 0},
    };
    const char *setting[] = {"too_costly", "max_scan_items", "response_too_large",
                             "max_response_bytes"};
    wr_config saved = cfg;
    for (size_t i = 0; i < sizeof costs / sizeof costs[0]; i++) {
        unsigned status;
        char *ctype;
        cfg.max_scan_items = costs[i].max_scan_items;
        cfg.max_response_bytes = costs[i].max_response_bytes;
        size_t before = heavy_calls;
        json_t *doc = serve(costs[i].method, costs[i].target, costs[i].body, &trainer, 1,
                            &status, &ctype);
        char *text = json_dumps(doc, JSON_COMPACT);
        if (status != costs[i].status || (int)(heavy_calls - before) != costs[i].heavy)
            fail_msg("case %zu, %s: status %u, %s; expected %u, %s: %.300s", i,
                     costs[i].target, status, heavy_calls > before ? "heavy" : "not heavy",
                     costs[i].status, costs[i].heavy ? "heavy" : "not heavy", text);
        if (costs[i].code) {
            json_t *err = json_object_get(doc, "error");
            const char *msg = json_string_value(json_object_get(err, "message"));
            assert_string_equal(json_string_value(json_object_get(err, "code")), costs[i].code);
            for (size_t j = 0; j < 4; j += 2)
                if (!strcmp(costs[i].code, setting[j]))
                    assert_non_null(strstr(msg, setting[j + 1]));
        }
        free(text);
        free(ctype);
        json_decref(doc);
    }
    cfg = saved;
}

/* Every route of the table is in the cases: a new route needs a case. */
static json_t *ok(int method, const char *target, const char *body)
{
    unsigned status;
    char *ctype;
    json_t *doc = serve(method, target, body, &trainer, 1, &status, &ctype);
    free(ctype);
    if (status != 200)
        fail_msg("%s: status %u", target, status);
    return doc;
}

/* The items of a "neighbors" array, space-separated, into buf. */
static const char *hit_ids(const json_t *nb, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < json_array_size(nb); i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? " " : "",
                               json_string_value(json_object_get(json_array_get(nb, i), "item")));
    return buf;
}

/* 1 when any list of the answer holds id: a hit {"item": id, "score": ...}. */
static int lists_hold(const json_t *doc, const char *id)
{
    char *text = json_dumps(doc, JSON_COMPACT), want[64];
    snprintf(want, sizeof want, "{\"item\":\"%s\",\"score\"", id);
    int in = strstr(text, want) != NULL;
    free(text);
    return in;
}

static void change(int method, const char *target)
{
    unsigned status;
    char *ctype;
    json_t *doc = serve(method, target, NULL, &trainer, 1, &status, &ctype);
    if (status != 204)
        fail_msg("%s: status %u", target, status);
    json_decref(doc);
    free(ctype);
}

/* Hidden items leave every kind of answer (lists, scans, each, queries, baskets of both
 * strategies, a provisional item's place in model lists), while their own lists and
 * scores still answer, and come back when unhidden. */
static void test_hidden(void **state)
{
    (void)state;
    static const struct {
        int method;
        const char *target, *body;
    } reads[] = {
        {GET, "/v1/items/P00/neighbors?k=3", NULL},      /* the precomputed list */
        {GET, "/v1/items/P00/neighbors?k=5", NULL},      /* the whole list, shortened */
        {GET, "/v1/items/P00/neighbors?k=12", NULL},     /* an exact scan */
        {GET, "/v1/items/P02/neighbors?k=3&exclude=P03,P04", NULL},
        {GET, "/v1/items/NEW/neighbors?k=3", NULL},      /* a provisional item's list */
        {GET, "/v1/items/NEW/neighbors?k=3&min_score=-1", NULL}, /* ... by a scan */
        {POST, "/v1/neighbors", "{\"items\":[\"P00\",\"P02\"],\"k\":3}"},
        {POST, "/v1/neighbors", "{\"queries\":[{\"item\":\"P02\",\"k\":4},{\"item\":\"P00\","
                                "\"k\":15}]}"},
        {POST, "/v1/neighbors", "{\"items\":[\"P00\",\"P02\"],\"mode\":\"basket\",\"k\":3}"},
        {POST, "/v1/neighbors", "{\"items\":[\"P02\"],\"mode\":\"basket\",\"strategy\":"
                                "\"best_score\",\"k\":3}"},
    };
    const char *hide[] = {"P01", "NEW"};
    json_t *doc;
    /* before: every read holds P01 or NEW somewhere (else the test proves nothing) */
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        doc = ok(reads[i].method, reads[i].target, reads[i].body);
        if (!lists_hold(doc, "P01") && !lists_hold(doc, "NEW"))
            fail_msg("%s %s: holds neither P01 nor NEW before hiding", reads[i].target,
                     reads[i].body ? reads[i].body : "");
        json_decref(doc);
    }
    change(PUT, "/v1/items/P01/hidden");
    change(PUT, "/v1/items/NEW/hidden");
    change(PUT, "/v1/items/NEW/hidden"); /* twice: the same */
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        doc = ok(reads[i].method, reads[i].target, reads[i].body);
        for (size_t h = 0; h < 2; h++)
            if (lists_hold(doc, hide[h]))
                fail_msg("%s %s: still holds hidden %s", reads[i].target,
                         reads[i].body ? reads[i].body : "", hide[h]);
        json_decref(doc);
    }
    /* the list shortened by a hidden item answers short rather than scanning */
    doc = ok(GET, "/v1/items/P00/neighbors?k=5", NULL);
    assert_true(json_array_size(json_object_get(doc, "neighbors")) <= 5);
    json_decref(doc);
    /* hidden items say so, and still answer for themselves */
    doc = ok(GET, "/v1/items/P01", NULL);
    assert_true(json_is_true(json_object_get(doc, "hidden")));
    json_decref(doc);
    doc = ok(GET, "/v1/items/P00", NULL);
    assert_true(json_is_false(json_object_get(doc, "hidden")));
    json_decref(doc);
    doc = ok(GET, "/v1/items/P01/neighbors?k=3", NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "neighbors")), 3);
    json_decref(doc);
    doc = ok(GET, "/v1/score?a=P00&b=P01", NULL);
    assert_true(json_number_value(json_object_get(doc, "score")) > 0.9);
    json_decref(doc);
    /* a delete hides too; unhiding it and P01 and NEW brings every one back */
    change(DEL, "/v1/items/P02");
    doc = ok(GET, "/v1/items/P00/neighbors?k=12", NULL);
    assert_false(lists_hold(doc, "P02"));
    json_decref(doc);
    change(DEL, "/v1/items/P02/hidden");
    change(DEL, "/v1/items/P01/hidden");
    change(DEL, "/v1/items/NEW/hidden");
    doc = ok(GET, "/v1/items/P00/neighbors?k=12", NULL);
    assert_true(lists_hold(doc, "P01") && lists_hold(doc, "P02") && lists_hold(doc, "NEW"));
    json_decref(doc);
    assert_int_equal(hidden_count(), 0);
}

/* Pages: offset on neighbour lists (GET, POST each and basket) and the cursor of /v1/items
 * give the same items as one long answer, in order. */
static void test_pages(void **state)
{
    (void)state;
    char whole[512], paged[512], tail[512];
    json_t *all = ok(GET, "/v1/items/P00/neighbors?k=6", NULL);
    json_t *page = ok(GET, "/v1/items/P00/neighbors?k=3&offset=3", NULL);
    hit_ids(json_object_get(all, "neighbors"), whole, sizeof whole);
    hit_ids(json_object_get(page, "neighbors"), paged, sizeof paged);
    json_t *rest = json_array();
    for (size_t i = 3; i < 6; i++)
        json_array_append(rest, json_array_get(json_object_get(all, "neighbors"), i));
    hit_ids(rest, tail, sizeof tail);
    if (strcmp(paged, tail) || json_integer_value(json_object_get(page, "offset")) != 3)
        fail_msg("k=3&offset=3: '%s', expected '%s' (of '%s')", paged, tail, whole);
    json_decref(rest);
    json_decref(page);
    json_decref(all);
    for (int basket = 0; basket < 2; basket++) {
        char b1[160], b2[160];
        snprintf(b1, sizeof b1, "{\"items\":[\"P05\"],\"mode\":\"%s\",\"k\":5}",
                 basket ? "basket" : "each");
        snprintf(b2, sizeof b2, "{\"items\":[\"P05\"],\"mode\":\"%s\",\"k\":2,\"offset\":3}",
                 basket ? "basket" : "each");
        all = ok(POST, "/v1/neighbors", b1);
        page = ok(POST, "/v1/neighbors", b2);
        const json_t *a = json_object_get(all, "neighbors");
        const json_t *p = json_object_get(page, "neighbors");
        if (!basket) {
            a = json_object_get(json_array_get(json_object_get(all, "results"), 0), "neighbors");
            p = json_object_get(json_array_get(json_object_get(page, "results"), 0), "neighbors");
        }
        rest = json_array();
        for (size_t i = 3; i < 5; i++)
            json_array_append(rest, json_array_get(a, i));
        if (strcmp(hit_ids(p, paged, sizeof paged), hit_ids(rest, tail, sizeof tail)))
            fail_msg("%s offset 3: '%s', expected '%s'", basket ? "basket" : "each", paged, tail);
        json_decref(rest);
        json_decref(page);
        json_decref(all);
    }
    unsigned status;
    char *ctype;
    json_decref(serve(GET, "/v1/items/P00/neighbors?k=990&offset=11", NULL, &trainer, 1, &status,
                      &ctype));
    free(ctype);
    assert_int_equal(status, 400); /* k + offset past max_k */
    /* /v1/items by pages of 6, following the cursor, against one page of everything */
    all = ok(GET, "/v1/items?prefix=&limit=100", NULL);
    size_t got = 0;
    char target[128] = "/v1/items?prefix=&limit=6";
    for (int pages = 0; pages < 10; pages++) {
        page = ok(GET, target, NULL);
        json_t *items = json_object_get(page, "items");
        for (size_t i = 0; i < json_array_size(items); i++, got++)
            assert_string_equal(json_string_value(json_array_get(items, i)), json_string_value(
                json_array_get(json_object_get(all, "items"), got)));
        json_t *cursor = json_object_get(page, "cursor");
        int more = json_is_true(json_object_get(page, "more"));
        assert_int_equal(!!cursor, more);
        if (more)
            snprintf(target, sizeof target, "/v1/items?prefix=&limit=6&cursor=%s",
                     json_string_value(cursor));
        json_decref(page);
        if (!more)
            break;
    }
    assert_int_equal(got, json_array_size(json_object_get(all, "items")));
    assert_int_equal(got, 21); /* P00..P19 and the provisional NEW */
    json_decref(all);
}

/* strict_params: what a route does not read is a 400 naming it; 0 lets it pass. A self
 * pair is a 400 either way. */
static void test_strict(void **state)
{
    (void)state;
    static const struct {
        int method;
        const char *target, *body, *names;
        int strict_only;
    } strict_cases[] = {
        {GET, "/v1/items/P00/neighbors?k=2&min_scroe=0.5", NULL, "'min_scroe'", 1},
        {GET, "/v1/score?a=P00&b=P01&rank=cosine", NULL, "'rank'", 1},
        {GET, "/v1/items/P00?k=3", NULL, "'k'", 1},
        {POST, "/v1/neighbors", "{\"items\":[\"P00\"],\"colour\":\"red\"}", "\"colour\"", 1},
        {POST, "/v1/score", "{\"pairs\":[[\"P00\",\"P01\"]],\"k\":3}", "\"k\"", 1},
        {POST, "/v1/pairs", "{\"pairs\":[{\"a\":\"x\",\"b\":\"y\",\"wieght\":2}]}",
         "pairs[0]: unknown field \"wieght\"", 1},
        {POST, "/v1/admin/candidates", "{\"model\":\"/models/ok.wr\",\"force\":true}", "\"force\"",
         1},
        {POST, "/v1/admin/publish?generation=6&force=1", NULL, "'force'", 1},
        {POST, "/v1/pairs", "{\"pairs\":[{\"a\":\"x\",\"b\":\"y\"},{\"a\":\"P00\",\"b\":\"P00\"}]}",
         "pairs[1]: \"a\" and \"b\" are the same item (P00)", 0},
    };
    for (int strict = 1; strict >= 0; strict--) {
        cfg.strict_params = (uint32_t)strict;
        for (size_t i = 0; i < sizeof strict_cases / sizeof *strict_cases; i++) {
            unsigned status;
            char *ctype;
            json_t *doc = serve(strict_cases[i].method, strict_cases[i].target,
                                strict_cases[i].body, &trainer, 1,
                                &status, &ctype);
            const char *msg = json_string_value(
                json_object_get(json_object_get(doc, "error"), "message"));
            int refused = status == 400 && msg && strstr(msg, strict_cases[i].names);
            if (refused != (strict || !strict_cases[i].strict_only))
                fail_msg("strict_params %d, %s: status %u, message %s", strict,
                         strict_cases[i].target,
                         status, msg ? msg : "none");
            free(ctype);
            json_decref(doc);
        }
    }
    cfg.strict_params = 1;
}

static void test_every_route(void **state)
{
    (void)state;
    size_t n;
    const wr_route *r = api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t c = 0; c < sizeof cases / sizeof *cases && !seen; c++) {
            const char *id, *q = strchr(cases[c].target, '?');
            size_t len, tl = q ? (size_t)(q - cases[c].target) : strlen(cases[c].target);
            char path[128];
            snprintf(path, sizeof path, "%.*s", (int)tl, cases[c].target);
            seen = api_route(path, &id, &len) == &r[i];
        }
        if (!seen)
            fail_msg("no case for %s", r[i].path);
    }
}

/* The error-code table: each library status to one API code and status. */
static void test_codes(void **state)
{
    (void)state;
    static const struct {
        wr_status s;
        const char *name;
        unsigned http;
    } t[] = {
        {WR_EINVAL, "bad_request", 400},       {WR_ENOTFOUND, "unknown_generation", 404},
        {WR_ENOMEM, "unavailable", 503},      {WR_EIO, "io_error", 500},
        {WR_ECORRUPT, "corrupt_file", 500},   {WR_EBUSY, "unavailable", 503},
        {WR_ESTATE, "conflict", 409},         {WR_EINTERNAL, "internal", 500},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        wr_code c = rest_code_of(t[i].s, WR_E_UNKNOWN_GENERATION);
        assert_string_equal(rest_code_str(c), t[i].name);
        assert_int_equal(rest_code_status(c), t[i].http);
    }
    assert_int_equal(rest_etag_matches("W/\"7\", \"8\"", "\"8\""), 1);
    assert_int_equal(rest_etag_matches("\"78\"", "\"7\""), 0);
    assert_int_equal(rest_etag_matches("*", "\"7\""), 1);
}

/* ETags: generation, model identity, and the overlay's version when there is one. */
static void test_etag(void **state)
{
    (void)state;
    char buf[WR_ETAG_MAX];
    wr_reply r = {.generation = 3, .model_id = 0xabcdef0123456789ull};
    rest_etag(&r, buf, sizeof buf);
    assert_string_equal(buf, "\"3-abcdef0123456789\"");
    r.overlay = 0x1f;
    rest_etag(&r, buf, sizeof buf);
    assert_string_equal(buf, "\"3-abcdef0123456789-1f\"");
    r.model_id = 1;
    r.overlay = 0;
    rest_etag(&r, buf, sizeof buf);
    assert_string_equal(buf, "\"3-0000000000000001\"");
    assert_int_equal(rest_etag_matches("\"3\"", buf), 0); /* the generation alone is stale */
    r.generation = 0;
    rest_etag(&r, buf, sizeof buf);
    assert_string_equal(buf, "");
}

/* Header names and values, request targets, origins and query counts (http.c's checks). */
static void test_framing(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value;
        int bad;
    } h[] = {
        {"Host", "x", 0},
        {"X-Custom_1!#$%&'*+-.^`|~", "v", 0},
        {"Content-Length", "5", 0},
        {"Transfer-Encoding", "chunked", 0},
        {"Content-Length ", "5", 1},         /* a blank before the colon */
        {"Host\t", "x", 1},
        {"AuthorizationBearer abc", "", 1},  /* a folded line, as MHD 0.9.75 joins it */
        {"Transfer-Encodingchunked", "", 1}, /* ... with a single word */
        {"content-length5", "", 1},
        {"X-A:b", "c", 1},
        {"", "v", 1},
        {"X-A", "a\rb", 1},
        {"X-A", "a\nb", 1},
        {"X-A", NULL, 0},
        {"Content-Type", "application/json; charset=utf-8", 0},
    };
    for (size_t i = 0; i < sizeof h / sizeof *h; i++)
        if ((rest_header_problem(h[i].name, h[i].value) != NULL) != h[i].bad)
            fail_msg("header '%s': expected %s", h[i].name, h[i].bad ? "a problem" : "none");

    static const struct {
        const char *target, *path; /* NULL: refused */
    } t[] = {
        {"/v1/model", "/v1/model"},
        {"http://x/v1/model", "/v1/model"},
        {"HTTPS://host:8443/v1/items/a/neighbors", "/v1/items/a/neighbors"},
        {"http://x", "/"},
        {"http:///v1/model", NULL},
        {"http://", NULL},
        {"ftp://x/v1/model", NULL},
        {"x.example:443", NULL},
        {"*", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const char *got = rest_origin_form(t[i].target);
        if (t[i].path ? !got || strcmp(got, t[i].path) : got != NULL)
            fail_msg("target '%s': got %s", t[i].target, got ? got : "NULL");
    }

    static const struct {
        const char *origin, *host;
        int same;
    } o[] = {
        {"http://127.0.0.1:8080", "127.0.0.1:8080", 1},
        {"http://Shop.Example", "shop.example", 1},
        {"http://shop.example", "shop.example:80", 1},
        {"http://shop.example:80", "shop.example", 1},
        {"https://shop.example", "shop.example:443", 1},
        {"https://shop.example", "shop.example:80", 0},
        {"http://127.0.0.1:8081", "127.0.0.1:8080", 0},
        {"http://evil.example", "shop.example", 0},
        {"http://shop.example.evil", "shop.example", 0},
        {"null", "shop.example", 0},
        {"http://shop.example", NULL, 0},
        {"file://", "", 0},
    };
    for (size_t i = 0; i < sizeof o / sizeof *o; i++)
        if (rest_same_origin(o[i].origin, o[i].host) != o[i].same)
            fail_msg("origin %s, host %s: expected %d", o[i].origin,
                     o[i].host ? o[i].host : "NULL", o[i].same);

    assert_int_equal(rest_query_count("/a"), 0);
    assert_int_equal(rest_query_count("/a?"), 0);
    assert_int_equal(rest_query_count("/a?k=1"), 1);
    assert_int_equal(rest_query_count("/a?k=1&x&y=2"), 3);
    assert_int_equal(rest_query_count("/a?&&"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_every_route),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_cost),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_hidden),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
