/* churn.c - overlap@k and rank-biased overlap of two generations' lists (churn.h). The
 * candidate's hits are mapped to live rows by id, so both lists compare as live rows. */
#include "walkrec/churn.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/util.h"

static int contains(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

double churn_overlap(const uint32_t *a, size_t n, const uint32_t *b, size_t m, size_t k)
{
    size_t same = 0;
    for (size_t i = 0; i < n && i < k; i++)
        same += contains(b, m < k ? m : k, a[i]);
    return k ? (double)same / (double)k : NAN;
}

double churn_rbo(const uint32_t *a, size_t n, const uint32_t *b, size_t m, size_t k, double p)
{
    double sum = 0, x = 0, pd = 1;
    for (size_t d = 1; d <= k; d++) {
        /* X_d = X_{d-1} + [a_d in b[..d]] + [b_d in a[..d-1]] */
        if (d <= n && contains(b, d < m ? d : m, a[d - 1]))
            x++;
        if (d <= m && contains(a, d - 1 < n ? d - 1 : n, b[d - 1]))
            x++;
        pd *= p;
        sum += x / (double)d * pd;
    }
    return x / (double)k * pd + (1 - p) / p * sum;
}

void churn_compare(const wr_index *live, const wr_index *cand, size_t k, wr_churn *out)
{
    const wr_index_info *li = index_info(live), *ci = index_info(cand);
    wr_filter f = index_filter_none();
    int sample = li->k < k || ci->k < k;
    uint32_t step = sample && li->n > WR_CHURN_SAMPLE ? li->n / WR_CHURN_SAMPLE : 1;
    wr_hit *hl = xmalloc((k + 1) * sizeof *hl), *hc = xmalloc((k + 1) * sizeof *hc);
    uint32_t *a = xmalloc((k + 1) * sizeof *a), *b = xmalloc((k + 1) * sizeof *b);
    double so = 0, sr = 0;
    size_t items = 0;
    for (uint32_t r = 0; r < li->n; r += step) {
        const char *id = index_id(live, r);
        int64_t cr = index_find(cand, id, strlen(id));
        if (cr < 0)
            continue;
        size_t n = index_neighbors(live, r, k, &f, hl);
        size_t m = index_neighbors(cand, (uint32_t)cr, k, &f, hc), mm = 0;
        for (size_t i = 0; i < n; i++)
            a[i] = hl[i].item;
        for (size_t i = 0; i < m; i++) { /* candidate rows as live rows; new items: none */
            const char *cid = index_id(cand, hc[i].item);
            int64_t lr = index_find(live, cid, strlen(cid));
            b[mm++] = lr < 0 ? UINT32_MAX : (uint32_t)lr;
        }
        so += churn_overlap(a, n, b, mm, k);
        sr += churn_rbo(a, n, b, mm, k, WR_CHURN_RBO_P);
        items++;
    }
    free(hl);
    free(hc);
    free(a);
    free(b);
    *out = (wr_churn){.overlap = items ? so / (double)items : NAN,
                      .rbo = items ? sr / (double)items : NAN, .items = items,
                      .sampled = step > 1};
}
