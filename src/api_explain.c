/* api_explain.c - explain=1 on neighbour and pair-score answers: the evidence for a pair of
 * items, as JSON a merchandiser can read (api.h).
 *
 * For two model items: what the generation's pair graph says (explain.h: the direct pair's
 * weight, the shared partners and the best of them, a walk's chance to step from one to
 * the other in one or two steps), the side information's columns on which they agree, and
 * the calibrated probability's logit split into its cosine, popularity, hub and constant
 * parts (calib.h). Everything is read from the snapshot inside the handler's read section
 * and written as text at once. A pair of a provisional item and a model item is explained
 * by the provisional item's ingested pairs (overlay_pairs) against the model item's row of
 * the graph: the direct pair, the partner counts and the shared partners, no walk, no side
 * information and no logit; a pair of two provisional items only as such. */
#include "walkrec/api.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/attrs.h"
#include "walkrec/bytes.h"
#include "walkrec/calib.h"
#include "walkrec/explain.h"
#include "walkrec/filter.h"
#include "walkrec/overlay.h"

/* "1"/"true" or "0"/"false"; anything else a 400. */
static int flag(const char *v, size_t len, int *on)
{
    if ((len == 1 && *v == '1') || (len == 4 && !memcmp(v, "true", 4)))
        return *on = 1, 0;
    if ((len == 1 && *v == '0') || (len == 5 && !memcmp(v, "false", 5)))
        return *on = 0, 0;
    return -1;
}

int api_explain_param(const wr_request *rq, int *on, wr_reply *rp)
{
    const char *v = rest_param(rq, "explain");
    *on = 0;
    if (v && flag(v, strlen(v), on) < 0) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "explain: expected 1, 0, true or false");
        return -1;
    }
    return 0;
}

int api_explain_json(const json_t *obj, int *on, wr_reply *rp)
{
    json_t *v = json_object_get(obj, "explain");
    *on = 0;
    if (!v)
        return 0;
    if (json_is_boolean(v) || (json_is_integer(v) && (json_integer_value(v) == 0 ||
                                                      json_integer_value(v) == 1))) {
        *on = json_is_true(v) || json_integer_value(v) == 1;
        return 0;
    }
    rest_reply_error(rp, WR_E_BAD_REQUEST, "explain: expected true, false, 1 or 0");
    return -1;
}

/* A number as JSON after key, to 7 decimals (bytes_put_score: a tenth of the time of
 * printf's %g, which was a quarter of an explained answer's), null when not finite. */
static void key_num(wr_bytes *o, const char *key, double v)
{
    bytes_puts(o, key);
    if (isfinite(v))
        bytes_put_score(o, (float)v);
    else
        bytes_puts(o, "null");
}

/* The graph's part of an explanation: pair, partners, shared partners; swap: e's a is the
 * answer's b. */
static void put_evidence(wr_bytes *o, const wr_index *ix, const wr_explain *e, int swap)
{
    bytes_puts(o, ",\"pair\":");
    if (e->weight > 0)
        key_num(o, "{\"weight\":", e->weight), bytes_putc(o, '}');
    else
        bytes_puts(o, "null");
    bytes_puts(o, ",\"partners\":{\"a\":");
    bytes_put_u64(o, swap ? e->deg_b : e->deg_a);
    bytes_puts(o, ",\"b\":");
    bytes_put_u64(o, swap ? e->deg_a : e->deg_b);
    bytes_puts(o, "},\"shared\":{\"count\":");
    bytes_put_u64(o, e->shared);
    bytes_puts(o, ",\"top\":[");
    for (uint32_t i = 0; i < e->ntop; i++) {
        const char *id = index_id(ix, e->top[i].row);
        bytes_puts(o, i ? ",{\"item\":" : "{\"item\":");
        bytes_put_json_str(o, id, strlen(id));
        key_num(o, ",\"weight_a\":", swap ? e->top[i].wb : e->top[i].wa);
        key_num(o, ",\"weight_b\":", swap ? e->top[i].wa : e->top[i].wb);
        bytes_putc(o, '}');
    }
    bytes_puts(o, "]}");
}

static void put_graph(wr_bytes *o, const wr_index *ix, const wr_explain_graph *g, uint32_t a,
                      uint32_t b)
{
    wr_explain e;
    explain_pair(g, a, b, &e);
    put_evidence(o, ix, &e, 0);
    key_num(o, ",\"walk\":{\"one_step\":", e.step1_ab);
    key_num(o, ",\"two_steps\":", e.step2_ab);
    key_num(o, ",\"one_step_back\":", e.step1_ba);
    key_num(o, ",\"two_steps_back\":", e.step2_ba);
    bytes_putc(o, '}');
}

/* A provisional item p and a model row: what p's ingested pairs say, against the model
 * row's pairs in the graph when there is one (prov_b: p is the answer's b). */
static void put_ingested(wr_bytes *o, const wr_snapshot *s, uint32_t p, uint32_t row, int prov_b)
{
    const wr_explain_graph *g = index_graph(s->index);
    const uint32_t *rows;
    const float *w;
    size_t n = overlay_pairs(s->overlay, p, &rows, &w);
    bytes_puts(o, g ? "{\"provisional\":true,\"graph\":true"
                    : "{\"provisional\":true,\"graph\":false");
    if (g) {
        wr_explain e;
        explain_ingested(g, rows, w, n, row, &e);
        put_evidence(o, s->index, &e, prov_b);
    }
    bytes_putc(o, '}');
}

/* The attributes on which a and b agree, when either has values set at run time (attrs.h):
 * typed, as filters see them. */
static void put_runtime_attributes(wr_bytes *o, const wr_snapshot *s, uint32_t a, uint32_t b)
{
    const wr_index *ix = s->index;
    json_t *va = filter_values(ix, s->attrs, a, index_id(ix, a), strlen(index_id(ix, a))),
           *vb = filter_values(ix, s->attrs, b, index_id(ix, b), strlen(index_id(ix, b))), *v;
    const char *name;
    int first = 1;
    bytes_puts(o, ",\"attributes\":{");
    json_object_foreach(va, name, v) {
        if (strcmp(name, "degree") && json_equal(v, json_object_get(vb, name))) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!first)
                bytes_putc(o, ',');
            first = 0;
            bytes_put_json_str(o, name, strlen(name));
            bytes_putc(o, ':');
            bytes_puts(o, text);
            free(text);
        }
    }
    bytes_putc(o, '}');
    json_decref(va);
    json_decref(vb);
}

/* The side information's columns on which a and b have the same value (not the trainer's
 * degree column); with values set at run time for either, put_runtime_attributes. */
static void put_attributes(wr_bytes *o, const wr_snapshot *s, uint32_t a, uint32_t b)
{
    const wr_index *ix = s->index;
    int first = 1;
    if (attrs_row(s->attrs, a) || attrs_row(s->attrs, b)) {
        put_runtime_attributes(o, s, a, b);
        return;
    }
    bytes_puts(o, ",\"attributes\":{");
    for (size_t c = 0; c < index_side_columns(ix); c++) {
        const char *name = index_side_name(ix, c), *va = index_side_value(ix, a, c),
                   *vb = index_side_value(ix, b, c);
        if (!va || !vb || !*va || strcmp(va, vb) || !strcmp(name, "degree"))
            continue;
        if (!first)
            bytes_putc(o, ',');
        first = 0;
        bytes_put_json_str(o, name, strlen(name));
        bytes_putc(o, ':');
        bytes_put_json_str(o, va, strlen(va));
    }
    bytes_putc(o, '}');
}

static void put_logit(wr_bytes *o, const wr_index *ix, uint32_t a, uint32_t b)
{
    double t[WR_CALIB_NFEAT];
    bytes_puts(o, ",\"logit\":");
    if (index_probability_terms(ix, a, b, t) < 0) {
        bytes_puts(o, "null");
        return;
    }
    key_num(o, "{\"cosine\":", t[1]);
    key_num(o, ",\"popularity\":", t[2] + t[3]);
    key_num(o, ",\"hub\":", t[4]);
    key_num(o, ",\"constant\":", t[0]);
    key_num(o, ",\"total\":", t[0] + t[1] + t[2] + t[3] + t[4]);
    bytes_putc(o, '}');
}

void api_put_explain(wr_bytes *o, const wr_snapshot *s, const wr_item *a, const wr_item *b)
{
    const wr_index *ix = s->index;
    if (a->row < 0 && b->row < 0) { /* two provisional items: no pair of theirs is kept */
        bytes_puts(o, "{\"provisional\":true}");
        return;
    }
    if (a->row < 0 || b->row < 0) {
        int prov_b = b->row < 0;
        put_ingested(o, s, (uint32_t)(prov_b ? b->prov : a->prov),
                     (uint32_t)(prov_b ? a->row : b->row), prov_b);
        return;
    }
    uint32_t ra = (uint32_t)a->row, rb = (uint32_t)b->row;
    const wr_explain_graph *g = index_graph(ix);
    bytes_puts(o, g ? "{\"graph\":true" : "{\"graph\":false");
    if (g)
        put_graph(o, ix, g, ra, rb);
    put_attributes(o, s, ra, rb);
    put_logit(o, ix, ra, rb);
    bytes_putc(o, '}');
}

void api_put_explain_hit(wr_bytes *o, const wr_snapshot *s, const wr_item *a, uint32_t item)
{
    uint32_t n = index_info(s->index)->n;
    wr_item b = {-1, -1};
    if (item < n)
        b.row = item;
    else
        b.prov = item - n;
    bytes_puts(o, ",\"explain\":");
    api_put_explain(o, s, a, &b);
}
