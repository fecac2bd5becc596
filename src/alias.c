/* alias.c - Vose's alias tables (alias.h).
 *
 * Both builders scale the weights to a mean of 1 in q and pair them up: `work` holds the
 * stack of small entries (q < 1) growing up from 0 and the stack of large ones growing
 * down from n. Each small entry takes its threshold and the large entry on top as its
 * alias; the large one gives away what the small one lacked, q_l = (q_l + q_s) - 1 (the
 * order of operations Vose and Schwarz recommend: it loses less to rounding than
 * q_l - (1 - q_s)), and moves to the small stack once below 1. Entries left on either
 * stack are 1 up to rounding and keep themselves. No state outside the arguments. */
#include "walkrec/alias.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t threshold(double q)
{
    return q >= 1 ? UINT32_MAX : (uint32_t)(q * 4294967296.0);
}

/* q holds the weights (sum > 0) on entry and scratch on return. */
static void vose(double *q, uint32_t n, wr_alias_cell *cell, uint32_t *work)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += q[i];
    uint32_t ns = 0, nl = n;
    for (uint32_t i = 0; i < n; i++) {
        q[i] = q[i] * (double)n / sum;
        if (q[i] < 1)
            work[ns++] = i;
        else
            work[--nl] = i;
    }
    while (ns > 0 && nl < n) {
        uint32_t s = work[--ns], l = work[nl];
        cell[s] = (wr_alias_cell){threshold(q[s]), l};
        q[l] = (q[l] + q[s]) - 1;
        if (q[l] < 1) {
            nl++;
            work[ns++] = l;
        }
    }
    while (ns > 0) {
        uint32_t s = work[--ns];
        cell[s] = (wr_alias_cell){UINT32_MAX, s};
    }
    for (; nl < n; nl++)
        cell[work[nl]] = (wr_alias_cell){UINT32_MAX, work[nl]};
}

void alias_build(const float *w, uint32_t n, wr_alias_cell *cell, double *q, uint32_t *work)
{
    for (uint32_t i = 0; i < n; i++)
        q[i] = w[i];
    vose(q, n, cell, work);
}

int alias_init(wr_alias *a, const uint64_t *count, uint32_t n, double power, wr_err *err)
{
    memset(a, 0, sizeof *a);
    double *q = xmalloc(((size_t)n + 1) * sizeof *q), sum = 0;
    for (uint32_t k = 0; k < n; k++) {
        q[k] = count[k] ? pow((double)count[k], power) : 0;
        sum += q[k];
    }
    if (!(sum > 0)) {
        free(q);
        return wr_fail(err, "alias table: every one of the %u counts is 0", n);
    }
    uint32_t *work = xmalloc((size_t)n * sizeof *work);
    a->n = n;
    a->cell = xmalloc((size_t)n * sizeof *a->cell);
    vose(q, n, a->cell, work);
    free(work);
    free(q);
    return 0;
}

void alias_free(wr_alias *a)
{
    free(a->cell);
    memset(a, 0, sizeof *a);
}
