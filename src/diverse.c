/* diverse.c - MMR, a cap per attribute value, and how much a list repeats itself
 * (diverse.h). k and the pools are small (tens to hundreds): plain loops. */
#include "walkrec/diverse.h"

#include <math.h>
#include <stdlib.h>

#include "walkrec/util.h"

static double cosine(const float *unit, uint32_t dim, uint32_t a, uint32_t b)
{
    const float *x = unit + (size_t)a * dim, *y = unit + (size_t)b * dim;
    double d = 0;
    for (uint32_t i = 0; i < dim; i++)
        d += (double)x[i] * y[i];
    return d;
}

size_t diverse_pick(const wr_hit *pool, size_t n, size_t k, double lambda, const float *unit,
                    uint32_t dim, const uint32_t *group, uint32_t max_per, wr_hit *out)
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
            if (near[i] == 2) /* taken or capped */
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
        uint32_t g = group ? group[pool[best].item] : UINT32_MAX, same = 0;
        if (max_per && g != UINT32_MAX) {
            for (size_t j = 0; j < m; j++)
                same += group[out[j].item] == g;
            if (same >= max_per)
                continue; /* capped: never picked */
        }
        out[m++] = pool[best];
        if (lambda > 0)
            for (size_t i = 0; i < n; i++)
                if (near[i] != 2)
                    near[i] = fmax(near[i], cosine(unit, dim, pool[i].item, pool[best].item));
    }
    free(near);
    return m;
}

double diverse_ils(const wr_hit *list, size_t n, const float *unit, uint32_t dim)
{
    double s = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < n && list[i].item != UINT32_MAX; i++)
        for (size_t j = i + 1; j < n && list[j].item != UINT32_MAX; j++, pairs++)
            s += cosine(unit, dim, list[i].item, list[j].item);
    return pairs ? s / (double)pairs : NAN;
}

double diverse_entropy(const wr_hit *list, size_t n, const uint32_t *group)
{
    size_t with = 0;
    double h = 0;
    for (size_t i = 0; i < n && list[i].item != UINT32_MAX; i++)
        with += group[list[i].item] != UINT32_MAX;
    for (size_t i = 0; i < n && list[i].item != UINT32_MAX; i++) {
        uint32_t g = group[list[i].item];
        size_t c = 0, first = 1;
        if (g == UINT32_MAX)
            continue;
        for (size_t j = 0; j < n && list[j].item != UINT32_MAX; j++) {
            c += group[list[j].item] == g;
            first &= !(j < i && group[list[j].item] == g);
        }
        if (first)
            h -= (double)c / (double)with * log2((double)c / (double)with);
    }
    return with ? h : NAN;
}
