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

/* OpenBLAS and fork(). A child forked while another thread is inside OpenBLAS inherits
 * OpenBLAS's locks held (its thread pool's, its buffers') and hangs at its first product:
 * seen as walkrecd's trainer process stuck in blas_thread_init while an HTTP thread ran an
 * exact scan. Every OpenBLAS call of the library runs between knn_blas_enter and
 * knn_blas_leave, a shared lock that fork() takes exclusively (pthread_atfork handlers,
 * registered when the program loads), so no thread is inside OpenBLAS when a process forks.
 * Writers first: a stream of scans cannot hold a fork off. Not recursive: wrap the calls
 * themselves, nothing that may call back into this. */
void knn_blas_enter(void);
void knn_blas_leave(void);

#endif
