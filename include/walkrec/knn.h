/* knn.h - exact top-k neighbours by cosine with blocked OpenBLAS products.
 *
 * Works on row-normalised vectors, so the dot product is the cosine. */
#ifndef WALKREC_KNN_H
#define WALKREC_KNN_H

#include <stddef.h>
#include <stdint.h>

typedef struct wr_hit {
    uint32_t item;
    float score;
} wr_hit;

/* For each of the nq query vectors q (nq x dim, normalised), the k best rows of base
 * (n x dim, normalised, n < UINT32_MAX), best first (equal scores: lower row first), written
 * to out[qi*k ...]. exclude(qi, item, ctx) may reject candidates (NULL = none); it is asked
 * only about candidates good enough to enter the current top k, possibly from several
 * threads at once. Rows with fewer than k candidates are padded with item UINT32_MAX, score
 * -INFINITY. Uses `threads` threads (1 = calling thread only), each taking blocks of
 * queries; OpenBLAS is switched to single-threaded mode (openblas_set_num_threads(1),
 * process-wide) so the products run in those threads. */
typedef int (*wr_knn_exclude)(size_t qi, uint32_t item, void *ctx);
void knn_topk(const float *base, size_t n, size_t dim, const float *q, size_t nq, size_t k,
              wr_knn_exclude exclude, void *ctx, int threads, wr_hit *out);

#endif
