/* wal_bench.c - appends and pairs per second of the pair write-ahead log, every append
 * durable before it returns: one thread (one fdatasync per batch) and several threads
 * appending at once (their waits share fdatasyncs: group commit).
 *
 *   build-dir/tests/wal_bench DIR [SECONDS-PER-CASE [THREADS]]
 *
 * DIR must be on the file system to measure (not tmpfs, where fdatasync costs nothing);
 * each case uses and removes DIR/wal-bench-B-T. */
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walkrec/wal.h"

static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

typedef struct job {
    wr_wal *w;
    size_t batch;
    double until;
    uint64_t appends;
} job;

static void *run(void *arg)
{
    job *j = arg;
    wr_wal_pair *p = xmalloc(j->batch * sizeof *p);
    char *ids = xmalloc(j->batch * 24);
    for (size_t i = 0; i < j->batch; i++) {
        char *a = ids + 24 * i, *b = a + 12;
        snprintf(a, 12, "B%010zu", (size_t)rand() % 10000000);
        snprintf(b, 12, "B%010zu", (size_t)rand() % 10000000);
        p[i] = (wr_wal_pair){a, b, 11, 11, 1.0};
    }
    wr_err err;
    while (wr_now() < j->until) {
        if (wal_append(j->w, p, j->batch, NULL, &err) < 0)
            die("%s", err.msg);
        j->appends++;
    }
    free(ids);
    free(p);
    return NULL;
}

static void bench(const char *root, size_t batch, int threads, double secs)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/wal-bench-%zu-%d", root, batch, threads);
    wr_err err;
    wr_wal *w = wal_open(dir, 0, NULL, &err);
    if (!w)
        die("%s", err.msg);
    job *jobs = xcalloc((size_t)threads, sizeof *jobs);
    pthread_t *th = xcalloc((size_t)threads, sizeof *th);
    double t0 = wr_now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){w, batch, t0 + secs, 0};
        pthread_create(&th[i], NULL, run, &jobs[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double dt = wr_now() - t0;
    wr_wal_stats st;
    wal_stats(w, &st);
    printf("%6zu %7d %8llu %7llu %10.0f %12.0f %9.2f %8.1f\n", batch, threads,
           (unsigned long long)st.appends, (unsigned long long)st.syncs, st.appends / dt,
           st.appends * (double)batch / dt, (double)st.appends / (double)st.syncs,
           st.end / dt / 1e6);
    fflush(stdout);
    char path[4200];
    snprintf(path, sizeof path, "%s", wal_path(w));
    wal_close(w);
    unlink(path);
    rmdir(dir);
    free(jobs);
    free(th);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4 || !strcmp(argv[1], "--help"))
        die("usage: wal_bench DIR [SECONDS-PER-CASE (2)] [THREADS (8)]");
    double secs = argc > 2 ? atof(argv[2]) : 2;
    int threads = argc > 3 ? atoi(argv[3]) : 8;
    if (secs <= 0 || threads < 1)
        die("bad SECONDS or THREADS");
    static const size_t sizes[] = {1, 100, 1000};
    printf(" batch threads  appends  syncs  appends/s      pairs/s  per-sync     MB/s\n");
    for (size_t i = 0; i < 3; i++) {
        bench(argv[1], sizes[i], 1, secs);
        bench(argv[1], sizes[i], threads, secs);
    }
    return 0;
}
