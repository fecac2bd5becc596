/* trainproc.h - running the heavy part of a retrain in a forked trainer process.
 *
 * walkrecd's trainer thread hands a job (a function and its argument) to trainproc_run,
 * which forks a child to run it. When the job cannot get memory (xmalloc aborts; the
 * kernel's OOM killer picks the biggest process) or disk (a full disk, a file size limit:
 * walkrecd ignores SIGXFSZ, so a write fails with EFBIG), the child dies or fails, and the
 * daemon reports it, keeps serving and may retrain later.
 *
 * The child is a copy of the daemon with only the forking thread running, so the job must
 * not take a lock another thread may have held at that moment: no liburcu and no published
 * snapshot, no mutex of the daemon's modules, no wr_log (gmtime_r's time zone lock: use
 * trainproc_log), no wr_wal (read the log file by path). glibc's malloc and stdio restore
 * their own locks in a child; OpenBLAS's are never held at a fork (knn_blas_enter), nor
 * progress.c's (trainproc_progress takes the fork's lock around its snapshot). The child
 * dies with the daemon (PR_SET_PDEATHSIG), so kill -9 leaves no trainer behind.
 *
 * The child talks through a pipe: records of a header and a payload. States, progress and
 * log lines are each written by one write() of at most PIPE_BUF bytes, which a pipe never
 * interleaves with another writer's (the child's progress thread); the result (any bytes
 * the job put into its wr_bytes) comes last, once that thread has stopped.
 *
 * Sanitizer builds run the job in the calling thread instead. ThreadSanitizer cannot
 * follow a fork of a threaded process whose child starts threads; AddressSanitizer's
 * allocator (gcc 12) has no fork handlers, so a child forked while another thread held one
 * of its locks hangs at its first malloc (seen, under load). In the thread their checks
 * still cover the job's code.
 *
 * One job at a time per process (walkrecd has one trainer thread). */
#ifndef WALKREC_TRAINPROC_H
#define WALKREC_TRAINPROC_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/bytes.h"
#include "walkrec/progress.h"
#include "walkrec/util.h"

/* A job: fills result (empty at the call) and returns 0, or -1 with err. */
typedef int (*wr_trainproc_fn)(void *arg, wr_bytes *result, wr_err *err);

/* Runs fn(arg) in a trainer process and waits for it. on_state(state, ctx) is called in the
 * calling thread for every trainproc_state of the job. Returns 0 with *result (to free)
 * holding the job's result, or -1 with err saying how it failed (its message, a signal with
 * a hint, an exit status, "stopped with the daemon" after trainproc_kill). *pid is the
 * process that ran the job (this one in sanitizer builds), whose temporary files
 * (file_temp_name) the caller may remove after a failure. */
int trainproc_run(wr_trainproc_fn fn, void *arg, void (*on_state)(int state, void *ctx),
                  void *ctx, wr_bytes *result, long *pid, wr_err *err);

/* Inside a job: report a state change, or a line for the daemon's log. */
void trainproc_state(int state);
void trainproc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Any thread: kills the running trainer process, if any, and returns once it is reaped.
 * The run it belonged to fails with "stopped with the daemon"; later runs are refused
 * (walkrecd is stopping). */
void trainproc_kill(void);
/* Any thread: the step the running job is in (relayed from the child, or this process's
 * own progress), 1 when there is one. The strings are copied into the caller's buffers. */
int trainproc_progress(wr_progress_snap *s, char *what, size_t what_len, char *unit,
                       size_t unit_len);

#endif
