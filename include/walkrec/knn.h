/* knn.h - exact top-k neighbours by cosine with blocked OpenBLAS products.
 *
 * Works on row-normalised vectors, so the dot product is the cosine. */
#ifndef WALKREC_KNN_H
#define WALKREC_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/util.h"

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

/* The k best of a scan over scores of one's own (calib.c's probabilities), in a heap of
 * *hn hits whose root is the worst kept (lowest score, then highest item). knn_heap_offer
 * adds x, which must beat the root while the heap is full (scan items in increasing order
 * and offer only scores above the returned threshold, so an equal score never displaces an
 * earlier item), and returns the threshold: -INFINITY until the heap holds k.
 * knn_heap_drain empties it into out best first (equal scores: lower item first), padded to
 * k with item UINT32_MAX, score -INFINITY. */
float knn_heap_offer(wr_hit *h, size_t *hn, size_t k, wr_hit x);
void knn_heap_drain(wr_hit *h, size_t hn, size_t k, wr_hit *out);

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
/* OpenBLAS gives every thread that calls it a work buffer of its own (128 MiB of address
 * space in Debian's build). When an address-space limit (ulimit -v) leaves no room for it,
 * Debian 12's OpenBLAS does not fail but retries for ever (OpenBLAS issue 5289, fixed in
 * 0.3.30). A trainer process, whose threads are new, checks first: -1 with err (WR_ENOMEM)
 * when `threads` such buffers do not fit under the limit; 0 without a limit. */
int knn_blas_headroom(int threads, wr_err *err);

#endif
