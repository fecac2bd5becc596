/* knn.c - exact top-k by cosine: blocked sgemm into a score tile, then one bounded min-heap
 * per query. Threads take blocks of queries from a shared counter; each scans the base in
 * row order, which makes ties resolve to the lower row without extra comparisons. */
#include "walkrec/knn.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/util.h"

/* A 256 x 2048 float tile (2 MiB) stays in L2 between the product and the heap scan. */
#define QBLOCK 256
#define NBLOCK 2048

typedef struct job {
    const float *base, *q;
    size_t n, dim, nq, k, qblock;
    wr_knn_exclude exclude;
    void *ctx;
    wr_hit *out;
    atomic_size_t next; /* next query block */
} job;

/* ---- OpenBLAS and fork (knn.h) ---- */

static pthread_rwlock_t blas_gate;

static void gate_init(void)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&blas_gate, &a);
    pthread_rwlockattr_destroy(&a);
}

static void gate_close(void) { pthread_rwlock_wrlock(&blas_gate); }
static void gate_open(void) { pthread_rwlock_unlock(&blas_gate); }

__attribute__((constructor)) static void gate_setup(void)
{
    gate_init();
    /* The child has one thread, whose id is not the one that took the lock: it starts
     * from a new lock. */
    pthread_atfork(gate_close, gate_open, gate_init);
}

void knn_blas_enter(void) { pthread_rwlock_rdlock(&blas_gate); }
void knn_blas_leave(void) { pthread_rwlock_unlock(&blas_gate); }

/* Debian 12's OpenBLAS (0.3.21) mallocs this for every thread that calls it (seen in gdb:
 * 134,221,824 bytes). */
#define BLAS_BUFFER ((size_t)(128 << 20) + 4096)

int knn_blas_headroom(int threads, wr_err *err)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t vm = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmSize:", 7))
            vm = (size_t)strtoull(line + 7, NULL, 10) << 10;
    if (f)
        fclose(f);
    size_t need = (size_t)(threads > 0 ? threads : 1) * BLAS_BUFFER;
    if (vm && vm + need > rl.rlim_cur)
        return wr_failc(err, WR_ENOMEM, "out of memory: the address-space limit (%zu MiB) leaves "
                        "%zu MiB above this process's %zu MiB, and OpenBLAS needs %zu MiB for %d "
                        "thread%s", (size_t)rl.rlim_cur >> 20,
                        rl.rlim_cur > vm ? (size_t)(rl.rlim_cur - vm) >> 20 : 0, vm >> 20,
                        need >> 20, threads, threads == 1 ? "" : "s");
    return 0;
}

/* Heap order: the root is the worst hit kept (lowest score, then highest row). */
static inline int worse(wr_hit a, wr_hit b)
{
    return a.score < b.score || (a.score == b.score && a.item > b.item);
}

static void sift_up(wr_hit *h, size_t i)
{
    wr_hit x = h[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(x, h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static void sift_down(wr_hit *h, size_t n, size_t i)
{
    wr_hit x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && worse(h[c + 1], h[c]))
            c++;
        if (!worse(h[c], x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

float knn_heap_offer(wr_hit *h, size_t *hn, size_t k, wr_hit x)
{
    if (*hn < k) {
        h[*hn] = x;
        sift_up(h, (*hn)++);
        return *hn == k ? h[0].score : -INFINITY;
    }
    h[0] = x;
    sift_down(h, k, 0);
    return h[0].score;
}

/* Offers row `item` with score s (known to beat the root or fill the heap) to a heap of
 * *hn hits; returns the new threshold. */
static inline float offer(const job *j, size_t qi, uint32_t item, float s, wr_hit *h, size_t *hn,
                          float thr)
{
    if (j->exclude && j->exclude(qi, item, j->ctx))
        return thr;
    return knn_heap_offer(h, hn, j->k, (wr_hit){item, s});
}

/* Offers the scores of rows first..first+nb to the heap of query qi. Rows come in
 * increasing order, so a score equal to the root's never displaces it. Almost every score
 * loses, so chunks are first tested as a whole (a loop the compiler vectorises). */
static void scan(const job *j, size_t qi, const float *s, size_t nb, uint32_t first, wr_hit *h,
                 size_t *hn)
{
    enum { CHUNK = 32 };
    float thr = *hn == j->k ? h[0].score : -INFINITY;
    size_t c = 0;
    for (; c + CHUNK <= nb; c += CHUNK) {
        int any = 0;
        for (size_t i = 0; i < CHUNK; i++)
            any |= s[c + i] > thr;
        if (!any)
            continue;
        for (size_t i = c; i < c + CHUNK; i++)
            if (s[i] > thr)
                thr = offer(j, qi, first + (uint32_t)i, s[i], h, hn, thr);
    }
    for (; c < nb; c++)
        if (s[c] > thr)
            thr = offer(j, qi, first + (uint32_t)c, s[c], h, hn, thr);
}

/* Empties the heap into out best-first and pads to k. */
void knn_heap_drain(wr_hit *h, size_t n, size_t k, wr_hit *out)
{
    for (size_t i = n; i < k; i++)
        out[i] = (wr_hit){UINT32_MAX, -INFINITY};
    while (n > 0) {
        out[--n] = h[0];
        h[0] = h[n];
        sift_down(h, n, 0);
    }
}

static void *worker(void *arg)
{
    job *j = arg;
    size_t dim = j->dim, k = j->k, qblock = j->qblock;
    float *tile = xmalloc_aligned(qblock * NBLOCK * sizeof(float));
    wr_hit *heaps = xmalloc(qblock * k * sizeof(wr_hit));
    size_t *hn = xmalloc(qblock * sizeof(size_t));
    for (;;) {
        size_t q0 = atomic_fetch_add(&j->next, 1) * qblock;
        if (q0 >= j->nq)
            break;
        size_t qb = j->nq - q0 < qblock ? j->nq - q0 : qblock;
        memset(hn, 0, qb * sizeof *hn);
        for (size_t r0 = 0; r0 < j->n; r0 += NBLOCK) {
            size_t nb = j->n - r0 < NBLOCK ? j->n - r0 : NBLOCK;
            if (dim == 0)
                memset(tile, 0, qb * nb * sizeof(float));
            else {
                knn_blas_enter();
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)nb, (int)dim,
                            1.0f, j->q + q0 * dim, (int)dim, j->base + r0 * dim, (int)dim, 0.0f,
                            tile, (int)nb);
                knn_blas_leave();
            }
            for (size_t i = 0; i < qb; i++)
                scan(j, q0 + i, tile + i * nb, nb, (uint32_t)r0, heaps + i * k, &hn[i]);
        }
        for (size_t i = 0; i < qb; i++)
            knn_heap_drain(heaps + i * k, hn[i], k, j->out + (q0 + i) * k);
    }
    free(hn);
    free(heaps);
    free(tile);
    return NULL;
}

void knn_topk(const float *base, size_t n, size_t dim, const float *q, size_t nq, size_t k,
              wr_knn_exclude exclude, void *ctx, int threads, wr_hit *out)
{
    if (k == 0 || nq == 0)
        return;
    size_t nt = threads > 1 ? (size_t)threads : 1;
    /* Small query sets are cut into one block per thread rather than one block in all. */
    size_t qblock = (nq + nt - 1) / nt;
    if (qblock > QBLOCK)
        qblock = QBLOCK;
    size_t blocks = (nq + qblock - 1) / qblock;
    if (nt > blocks)
        nt = blocks;
    job j = {base, q, n, dim, nq, k, qblock, exclude, ctx, out, 0};
    knn_blas_enter();
    openblas_set_num_threads(1);
    knn_blas_leave();
    if (nt == 1) {
        worker(&j);
        return;
    }
    pthread_t *tid = xmalloc(nt * sizeof *tid);
    size_t started = 0;
    for (; started < nt - 1; started++)
        if (pthread_create(&tid[started], NULL, worker, &j) != 0)
            break; /* fewer threads; the blocks are shared, so the work still gets done */
    worker(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
}
