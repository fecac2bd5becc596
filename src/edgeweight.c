/* edgeweight.c - raw / PMI / lift / Jaccard pair weights (definitions in edgeweight.h).
 *
 * Item totals and the grand total are summed in double: a float running sum over millions
 * of basket counts would lose the small pairs' contribution. */
#include "walkrec/edgeweight.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *names[] = {"auto", "raw", "pmi", "lift", "jaccard"};

int edgeweight_parse(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

const char *edgeweight_name(int scheme)
{
    return scheme >= 0 && scheme < 5 ? names[scheme] : "unknown";
}

static double reweight(int scheme, double w, double wa, double wb, double total)
{
    switch (scheme) {
    case WR_EW_PMI: return log(2 * total * w / (wa * wb));
    case WR_EW_LIFT: return 2 * total * w / (wa * wb);
    case WR_EW_JACCARD: return w / (wa + wb - w);
    default: return w;
    }
}

long edgeweight_apply(wr_pairs *p, int scheme)
{
    if (scheme < WR_EW_RAW || scheme > WR_EW_JACCARD)
        return -1;
    if (scheme == WR_EW_RAW)
        return 0;
    double *tot = pairs_weighted_degree(p), total = 0;
    for (size_t i = 0; i < p->n; i++)
        total += p->v[i].w;
    size_t kept = 0;
    for (size_t i = 0; i < p->n; i++) {
        wr_pair e = p->v[i];
        double x = reweight(scheme, e.w, tot[e.a], tot[e.b], total);
        /* PMI <= 0 is dropped on purpose; below FLT_MIN a weight would vanish in the
         * alias tables anyway */
        if (!(x >= FLT_MIN && x <= FLT_MAX))
            continue;
        e.w = (float)x;
        p->v[kept++] = e;
    }
    free(tot);
    long dropped = (long)(p->n - kept);
    p->n = kept;
    return dropped;
}
