/* trainproc.c - the trainer process: fork, pipe protocol, reaping (trainproc.h). */
#include "walkrec/trainproc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { REC_STATE = 1, REC_PROGRESS, REC_LOG, REC_RESULT };

typedef struct rec_head {
    uint32_t type, len;
} rec_head;

/* The result record's payload starts with this, the job's bytes after it. */
typedef struct result_head {
    int32_t rc;
    int32_t code;
    char msg[WR_ERR_MAX];
} result_head;

/* The step a trainer process is in, as progress_snapshot gives it there; the strings are
 * copied because the parent must not follow the child's pointers. what[0] = 0: none. */
typedef struct child_progress {
    char what[48], unit[16];
    uint64_t done, total;
    double start;
} child_progress;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t gone;    /* signalled when the child is reaped */
    pid_t child;            /* the running trainer process (not yet reaped), else 0 */
    int stopping;           /* trainproc_kill was called */
    child_progress prog;    /* its running step */
    /* in a job in thread mode: */
    void (*on_state)(int, void *);
    void *ctx;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .gone = PTHREAD_COND_INITIALIZER};

/* Held around fork() and around every progress_snapshot() of another thread: the child
 * then never inherits progress.c's lock held by a thread that does not exist there. */
static pthread_mutex_t fork_mu = PTHREAD_MUTEX_INITIALIZER;

/* In a trainer process: its end of the pipe to the daemon; -1 in the daemon itself. */
static int child_fd = -1;

/* ---- the pipe ---- */

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Bytes read, fewer than n only at the end of the pipe or on an error. */
static size_t read_full(int fd, void *data, size_t n)
{
    char *p = data;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* One record in one write(), so whole (len is cut to fit PIPE_BUF). */
static void child_send(uint32_t type, const void *data, size_t len)
{
    unsigned char buf[PIPE_BUF];
    rec_head h = {type, 0};
    if (len > sizeof buf - sizeof h)
        len = sizeof buf - sizeof h;
    h.len = (uint32_t)len;
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, data, len);
    if (write_all(child_fd, buf, sizeof h + len) < 0) /* the daemon is gone */
        _exit(1);
}

void trainproc_state(int state)
{
    if (child_fd >= 0) {
        unsigned char b = (unsigned char)state;
        child_send(REC_STATE, &b, 1);
    } else if (P.on_state) {
        P.on_state(state, P.ctx);
    }
}

void trainproc_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n = n < 0 ? 0 : n >= (int)sizeof line ? (int)sizeof line - 1 : n;
    if (child_fd >= 0)
        child_send(REC_LOG, line, (size_t)n);
    else
        wr_log("%s", line);
}

/* ---- the child ---- */

/* The child's progress thread: the running step, four times a second. */
static int relay_stop;

static void *relay_main(void *arg)
{
    (void)arg;
    const struct timespec pause = {0, 250000000L};
    while (!__atomic_load_n(&relay_stop, __ATOMIC_ACQUIRE)) {
        nanosleep(&pause, NULL);
        wr_progress_snap s;
        child_progress m;
        memset(&m, 0, sizeof m);
        if (progress_snapshot(&s)) {
            snprintf(m.what, sizeof m.what, "%s", s.what);
            snprintf(m.unit, sizeof m.unit, "%s", s.unit);
            m.done = s.done;
            m.total = s.total;
            m.start = s.start;
        }
        child_send(REC_PROGRESS, &m, sizeof m);
    }
    return NULL;
}

/* Closes every descriptor from lo to hi. */
static void close_fds(unsigned lo, unsigned hi)
{
    if (lo > hi || close_range(lo, hi, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX); /* a kernel older than 5.9 */
    for (long fd = lo; fd <= (long)hi && fd < (max > 0 ? max : 65536); fd++)
        close((int)fd);
}

static _Noreturn void child_main(wr_trainproc_fn fn, void *arg, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the daemon died before the line above */
        _exit(1);
    /* An abort for want of memory would dump a core as big as the daemon onto a disk that
     * may be short too. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* The daemon's sockets and files are its own: a client must see its connection close
     * when the daemon closes it, not when this process ends. */
    if (fd >= 3) {
        close_fds(3, (unsigned)fd - 1);
        close_fds((unsigned)fd + 1, ~0U);
    } else {
        close_fds(3, ~0U);
    }
    child_fd = fd;
    pthread_t relay;
    int relaying = pthread_create(&relay, NULL, relay_main, NULL) == 0;
    result_head res;
    memset(&res, 0, sizeof res);
    wr_bytes out = {0};
    wr_err err;
    if ((res.rc = fn(arg, &out, &err)) < 0) {
        res.code = (int32_t)err.code;
        snprintf(res.msg, sizeof res.msg, "%s", err.msg);
    }
    if (relaying) {
        __atomic_store_n(&relay_stop, 1, __ATOMIC_RELEASE);
        pthread_join(relay, NULL);
    }
    rec_head h = {REC_RESULT, (uint32_t)(sizeof res + out.n)};
    int ok = write_all(fd, &h, sizeof h) == 0 && write_all(fd, &res, sizeof res) == 0 &&
             write_all(fd, out.p, out.n) == 0;
    _exit(ok ? 0 : 1);
}

/* ---- the daemon's side ---- */

/* Reads the child's records until it closes the pipe; 1 when its result came. */
static int read_child(int fd, void (*on_state)(int, void *), void *ctx, result_head *res,
                      wr_bytes *out)
{
    rec_head h;
    int got = 0;
    while (read_full(fd, &h, sizeof h) == sizeof h) {
        if (h.type == REC_RESULT) {
            if (h.len < sizeof *res || h.len > (256u << 20) ||
                read_full(fd, res, sizeof *res) != sizeof *res)
                break;
            res->msg[sizeof res->msg - 1] = 0;
            size_t n = h.len - sizeof *res;
            out->n = 0;
            if (n > out->cap) {
                out->p = xrealloc(out->p, n);
                out->cap = n;
            }
            if (read_full(fd, out->p, n) != n)
                break;
            out->n = n;
            got = 1;
            continue;
        }
        unsigned char data[PIPE_BUF];
        if (h.len > sizeof data || read_full(fd, data, h.len) != h.len)
            break;
        if (h.type == REC_STATE && h.len == 1) {
            if (on_state)
                on_state(data[0], ctx);
        } else if (h.type == REC_PROGRESS && h.len == sizeof(child_progress)) {
            pthread_mutex_lock(&P.mu);
            memcpy(&P.prog, data, sizeof P.prog);
            P.prog.what[sizeof P.prog.what - 1] = P.prog.unit[sizeof P.prog.unit - 1] = 0;
            pthread_mutex_unlock(&P.mu);
        } else if (h.type == REC_LOG) {
            wr_log("%.*s", (int)h.len, (const char *)data);
        }
    }
    return got;
}

/* Waits for the child's end and reaps it. P.child is cleared while the zombie still holds
 * the pid, so that trainproc_kill never kills a process that reused it. */
static int reap(pid_t pid)
{
    siginfo_t si;
    int status = 0;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&P.mu);
    P.child = 0;
    P.prog.what[0] = 0;
    pthread_cond_broadcast(&P.gone);
    pthread_mutex_unlock(&P.mu);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static const char *signal_hint(int sig)
{
    switch (sig) {
    case SIGABRT: return ": out of memory?";
    case SIGKILL: return ": the kernel's out-of-memory killer?";
    case SIGXFSZ: return ": file size limit";
    default: return "";
    }
}

static int in_thread(wr_trainproc_fn fn, void *arg, void (*on_state)(int, void *), void *ctx,
                     wr_bytes *result, long *pid, wr_err *err)
{
    *pid = (long)getpid();
    P.on_state = on_state;
    P.ctx = ctx;
    int rc = fn(arg, result, err);
    P.on_state = NULL;
    return rc;
}

int trainproc_run(wr_trainproc_fn fn, void *arg, void (*on_state)(int state, void *ctx),
                  void *ctx, wr_bytes *result, long *pid, wr_err *err)
{
    memset(result, 0, sizeof *result);
    if (WR_TSAN || WR_ASAN)
        return in_thread(fn, arg, on_state, ctx, result, pid, err);
    *pid = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return wr_failc(err, WR_EIO, "cannot start a trainer process: pipe: %s",
                        strerror(errno));
    pid_t parent = getpid();
    pthread_mutex_lock(&fork_mu);
    double t0 = wr_now();
    pid_t child = fork();
    if (child == 0)
        child_main(fn, arg, fds[1], parent);
    int fork_errno = errno;
    double fork_ms = (wr_now() - t0) * 1e3; /* page tables copied; OpenBLAS calls held */
    pthread_mutex_unlock(&fork_mu);
    close(fds[1]);
    if (child < 0) {
        close(fds[0]);
        return wr_failc(err, wr_errno_status(fork_errno), "cannot start a trainer process: %s",
                        strerror(fork_errno));
    }
    *pid = (long)child;
    wr_log("trainer process %ld started (fork %.1f ms)", (long)child, fork_ms);
    pthread_mutex_lock(&P.mu);
    P.child = child;
    if (P.stopping) /* trainproc_kill came between the fork and here */
        kill(child, SIGKILL);
    pthread_mutex_unlock(&P.mu);
    result_head res;
    memset(&res, 0, sizeof res);
    int got = read_child(fds[0], on_state, ctx, &res, result);
    close(fds[0]);
    int status = reap(child);
    pthread_mutex_lock(&P.mu);
    int stopping = P.stopping;
    pthread_mutex_unlock(&P.mu);
    if (got && WIFEXITED(status) && WEXITSTATUS(status) == 0 && res.rc == 0)
        return 0;
    free(result->p);
    memset(result, 0, sizeof *result);
    if (stopping)
        return wr_failc(err, WR_ESTATE, "trainer process %ld stopped with the daemon",
                        (long)child);
    if (got && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return wr_failc(err, (wr_status)res.code, "%s", res.msg);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        return wr_failc(err, sig == SIGABRT || sig == SIGKILL ? WR_ENOMEM : WR_EIO,
                        "trainer process %ld killed by signal %d (SIG%s%s)", (long)child, sig,
                        sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", signal_hint(sig));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status))
        return wr_failc(err, WR_EINTERNAL, "trainer process %ld exited with status %d",
                        (long)child, WEXITSTATUS(status));
    return wr_failc(err, WR_EINTERNAL, "trainer process %ld ended without a result",
                    (long)child);
}

void trainproc_kill(void)
{
    pthread_mutex_lock(&P.mu);
    P.stopping = 1;
    if (P.child) {
        kill(P.child, SIGKILL);
        while (P.child)
            pthread_cond_wait(&P.gone, &P.mu);
    }
    pthread_mutex_unlock(&P.mu);
}

int trainproc_progress(wr_progress_snap *s, char *what, size_t what_len, char *unit,
                       size_t unit_len)
{
    pthread_mutex_lock(&fork_mu);
    int running = progress_snapshot(s);
    pthread_mutex_unlock(&fork_mu);
    pthread_mutex_lock(&P.mu);
    if (P.child && *P.prog.what) { /* the trainer process's step, relayed */
        s->done = P.prog.done;
        s->total = P.prog.total;
        s->start = P.prog.start;
        snprintf(what, what_len, "%s", P.prog.what);
        snprintf(unit, unit_len, "%s", P.prog.unit);
        running = 1;
    } else if (running) {
        snprintf(what, what_len, "%s", s->what);
        snprintf(unit, unit_len, "%s", s->unit);
    }
    pthread_mutex_unlock(&P.mu);
    s->what = what;
    s->unit = unit;
    return running;
}
