/* diverse.c - MMR, a cap per attribute value, and how much a list repeats itself
 * (diverse.h). k and the pools are small (tens to hundreds): plain loops. */
#include "walkrec/diverse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/util.h"

static double cosine(const wr_diverse_src *src, uint32_t a, uint32_t b)
{
    const float *x = src->vector(src->ctx, a), *y = src->vector(src->ctx, b);
    double d = 0;
    for (uint32_t i = 0; i < src->dim; i++)
        d += (double)x[i] * y[i];
    return d;
}

static const char *value_of(const wr_diverse_src *src, uint32_t item)
{
    return src->value ? src->value(src->ctx, item) : NULL;
}

static int same_value(const char *a, const char *b) { return a && b && !strcmp(a, b); }

size_t diverse_pick(const wr_hit *pool, size_t n, size_t k, double lambda, uint32_t max_per,
                    const wr_diverse_src *src, wr_hit *out)
{
    while (n > 0 && pool[n - 1].item == UINT32_MAX)
        n--;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, pool[i].score);
        hi = fmax(hi, pool[i].score);
    }
    /* per candidate: its highest cosine with a pick so far; 2 once it is picked or capped */
    double *near = xmalloc((n + 1) * sizeof *near);
    for (size_t i = 0; i < n; i++)
        near[i] = -INFINITY;
    size_t m = 0;
    while (m < k) {
        size_t best = n;
        double bv = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            if (near[i] == 2)
                continue;
            double rel = hi > lo ? (pool[i].score - lo) / (hi - lo) : 1;
            double v = (1 - lambda) * rel - (m && lambda > 0 ? lambda * near[i] : 0);
            if (v > bv) {
                bv = v;
                best = i;
            }
        }
        if (best == n)
            break;
        near[best] = 2;
        const char *g = max_per ? value_of(src, pool[best].item) : NULL;
        uint32_t same = 0;
        for (size_t j = 0; g && j < m; j++)
            same += same_value(value_of(src, out[j].item), g);
        if (same >= max_per && g)
            continue; /* capped: never picked */
        out[m++] = pool[best];
        if (lambda > 0)
            for (size_t i = 0; i < n; i++)
                if (near[i] != 2)
                    near[i] = fmax(near[i], cosine(src, pool[i].item, pool[best].item));
    }
    free(near);
    return m;
}

double diverse_ils(const wr_hit *list, size_t n, const wr_diverse_src *src)
{
    double s = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < n && list[i].item != UINT32_MAX; i++)
        for (size_t j = i + 1; j < n && list[j].item != UINT32_MAX; j++, pairs++)
            s += cosine(src, list[i].item, list[j].item);
    return pairs ? s / (double)pairs : NAN;
}

double diverse_entropy(const wr_hit *list, size_t n, const wr_diverse_src *src)
{
    size_t with = 0;
    double h = 0;
    for (size_t i = 0; i < n && list[i].item != UINT32_MAX; i++)
        with += value_of(src, list[i].item) != NULL;
    for (size_t i = 0; i < n && list[i].item != UINT32_MAX; i++) {
        const char *g = value_of(src, list[i].item);
        size_t c = 0, first = 1;
        if (!g)
            continue;
        for (size_t j = 0; j < n && list[j].item != UINT32_MAX; j++) {
            int same = same_value(value_of(src, list[j].item), g);
            c += same;
            first &= !(j < i && same);
        }
        if (first)
            h -= (double)c / (double)with * log2((double)c / (double)with);
    }
    return with ? h : NAN;
}
