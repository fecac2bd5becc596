/* progress.c - progress lines on stderr for long steps, and the running step for status. */
#include "walkrec/progress.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "walkrec/util.h"

static void human(char *buf, size_t n, double v)
{
    if (v >= 1e9)
        snprintf(buf, n, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, n, "%.1fk", v / 1e3);
    else
        snprintf(buf, n, "%.0f", v);
}

/* The step started last: its counter is read through `running`, which progress_end clears
 * under the lock, so a snapshot never reads a step whose stack frame is gone. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static wr_progress *running;

int progress_snapshot(wr_progress_snap *s)
{
    pthread_mutex_lock(&running_lock);
    wr_progress *p = running;
    if (p)
        *s = (wr_progress_snap){p->what, p->unit, __atomic_load_n(&p->done, __ATOMIC_RELAXED),
                                p->total, p->start};
    pthread_mutex_unlock(&running_lock);
    return p != NULL;
}

void progress_start(wr_progress *p, const char *what, const char *unit, uint64_t total)
{
    pthread_mutex_lock(&running_lock);
    running = p;
    memset(p, 0, sizeof *p);
    p->what = what;
    p->unit = unit;
    p->total = total;
    p->start = wr_now();
    p->last_draw_ms = (uint64_t)(p->start * 1000);
    p->tty = !wr_quiet && isatty(2);
    pthread_mutex_unlock(&running_lock);
}

static void draw(wr_progress *p, double t)
{
    uint64_t done = __atomic_load_n(&p->done, __ATOMIC_RELAXED);
    double el = t - p->start, rate = el > 0 ? done / el : 0;
    char r[32];
    human(r, sizeof r, rate);
    if (p->total) {
        double frac = (double)done / p->total;
        double left = rate > 0 && done < p->total ? (p->total - done) / rate : 0;
        fprintf(stderr, "\r%s: %5.1f%%  %s %s/s  %.0fs left   ", p->what, 100 * frac, r, p->unit,
                left);
    } else {
        fprintf(stderr, "\r%s: %llu %s  %s %s/s   ", p->what, (unsigned long long)done, p->unit, r,
                p->unit);
    }
}

void progress_set(wr_progress *p, uint64_t done)
{
    __atomic_store_n(&p->done, done, __ATOMIC_RELAXED);
    progress_add(p, 0);
}

void progress_add(wr_progress *p, uint64_t n)
{
    if (n)
        __atomic_add_fetch(&p->done, n, __ATOMIC_RELAXED);
    if (!p->tty)
        return;
    double t = wr_now();
    uint64_t now_ms = (uint64_t)(t * 1000), last = __atomic_load_n(&p->last_draw_ms, __ATOMIC_RELAXED);
    if (now_ms - last < 200)
        return;
    /* one thread wins the redraw */
    if (__atomic_compare_exchange_n(&p->last_draw_ms, &last, now_ms, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        draw(p, t);
}

void progress_end(wr_progress *p, const char *extra)
{
    pthread_mutex_lock(&running_lock);
    if (running == p)
        running = NULL;
    pthread_mutex_unlock(&running_lock);
    if (wr_quiet)
        return;
    double el = wr_now() - p->start;
    char r[32], d[32];
    human(r, sizeof r, el > 0 ? p->done / el : 0);
    human(d, sizeof d, (double)p->done);
    fprintf(stderr, "%s%s: %s %s in %.2fs (%s %s/s)%s%s%s\n", p->tty ? "\r" : "", p->what, d,
            p->unit, el, r, p->unit, extra ? ", " : "", extra ? extra : "", p->tty ? "     " : "");
}
