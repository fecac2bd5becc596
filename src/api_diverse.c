/* api_diverse.c - diversity=L and max_per=COLUMN:N on GET /v1/items/{id}/neighbors: the
 * page is picked from the list's first max(5 x (offset + k), 50) by MMR and the cap
 * (diverse.h), relevance in the list's own order (the cosine, or the probability for a
 * model item ranked by it), vectors and side information read from the snapshot (a
 * provisional item has no attribute value, so it is never capped). */
#include "walkrec/api.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/diverse.h"
#include "walkrec/rank.h"

typedef struct src_ctx {
    const wr_snapshot *s;
    int64_t col; /* side column of max_per, -1: none */
} src_ctx;

static const float *hit_vector(const void *ctx, uint32_t item)
{
    const wr_snapshot *s = ((const src_ctx *)ctx)->s;
    uint32_t n = index_info(s->index)->n;
    wr_item it = {item < n ? (int64_t)item : -1, item < n ? -1 : (int64_t)(item - n)};
    return snapshot_vector(s, &it);
}

static const char *hit_value(const void *ctx, uint32_t item)
{
    const src_ctx *c = ctx;
    return c->col >= 0 && item < index_info(c->s->index)->n
               ? index_side_value(c->s->index, item, (size_t)c->col)
               : NULL;
}

/* max_per's COLUMN:N into d; -1 with a 400. */
static int set_max_per(const wr_index *ix, const char *mp, api_diverse *d, wr_reply *rp)
{
    const char *colon = strrchr(mp, ':');
    char *end = NULL;
    unsigned long n = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!colon || colon == mp || end == colon + 1 || *end || n < 1 || n > 1000) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "max_per: expected COLUMN:N, N 1 to 1000 "
                         "(brand:3: at most 3 items per brand)");
        return -1;
    }
    for (size_t c = 0; c < index_side_columns(ix) && d->col < 0; c++) {
        const char *name = index_side_name(ix, c);
        if (strlen(name) == (size_t)(colon - mp) && !memcmp(name, mp, (size_t)(colon - mp)))
            d->col = (int64_t)c;
    }
    if (d->col < 0) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "max_per: the items have no attribute '%.*s'",
                         (int)(colon - mp), mp);
        return -1;
    }
    d->max_per = (uint32_t)n;
    return 0;
}

static int set_lambda(double v, api_diverse *d, wr_reply *rp)
{
    if (!(v >= 0 && v <= 1)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "diversity: expected a number in [0, 1]");
        return -1;
    }
    d->lambda = v;
    return 0;
}

int api_diverse_params(const wr_request *rq, const wr_index *ix, api_diverse *d, wr_reply *rp)
{
    memset(d, 0, sizeof *d);
    d->col = -1;
    const char *l = rest_param(rq, "diversity"), *mp = rest_param(rq, "max_per");
    char *end;
    if (l && set_lambda(strtod(l, &end), d, rp) < 0)
        return -1;
    if (l && (end == l || *end))
        return set_lambda(NAN, d, rp);
    if (mp && set_max_per(ix, mp, d, rp) < 0)
        return -1;
    d->on = d->lambda > 0 || d->max_per;
    return 0;
}

int api_diverse_json(const wr_index *ix, const json_t *obj, api_diverse *d, wr_reply *rp)
{
    memset(d, 0, sizeof *d);
    d->col = -1;
    const json_t *l = json_object_get(obj, "diversity"), *mp = json_object_get(obj, "max_per");
    if (l && set_lambda(json_is_number(l) ? json_number_value(l) : NAN, d, rp) < 0)
        return -1;
    if (mp && !json_is_string(mp)) {
        rest_reply_error(rp, WR_E_BAD_REQUEST, "max_per: expected a string COLUMN:N");
        return -1;
    }
    if (mp && set_max_per(ix, json_string_value(mp), d, rp) < 0)
        return -1;
    d->on = d->lambda > 0 || d->max_per;
    return 0;
}

size_t api_diverse_pool(const api_diverse *d, size_t k)
{
    return !d->on ? k : k * 5 > 50 ? k * 5 : 50;
}

size_t api_diverse_pick(const wr_snapshot *s, const wr_item *it, int rank, const api_diverse *d,
                        const wr_hit *pool, size_t n, size_t k, wr_hit *out)
{
    src_ctx c = {s, d->col};
    wr_diverse_src src = {hit_vector, hit_value, &c, index_info(s->index)->dim};
    wr_hit *scored = xmalloc((n + 1) * sizeof *scored);
    for (size_t i = 0; i < n; i++) { /* relevance in the list's order */
        scored[i] = pool[i];
        if (rank == WR_RANK_PROBABILITY && it->row >= 0)
            scored[i].score = (float)snapshot_hit_probability(s, (uint32_t)it->row, pool[i].item);
    }
    size_t m = diverse_pick(scored, n, k, d->lambda, d->max_per, &src, out);
    for (size_t i = 0; i < m; i++) /* the answer's scores stay cosines */
        for (size_t j = 0; j < n; j++)
            if (pool[j].item == out[i].item) {
                out[i].score = pool[j].score;
                break;
            }
    free(scored);
    return m;
}
