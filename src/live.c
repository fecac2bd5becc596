/* live.c - every liburcu call of walkrecd: the one pointer to the published index.
 *
 * The bulletproof flavour (urcu-bp) fits because libmicrohttpd owns its worker threads and
 * offers no hook to register them: readers register themselves on their first
 * rcu_read_lock(). A publisher swaps the pointer with rcu_xchg_pointer(), so readers see
 * either the old index or the new one, whole; synchronize_rcu() then returns once every
 * read section that could have seen the old one has ended, and the old index is freed
 * outside any read section. A mutex keeps two publishers from freeing the same index.
 * _LGPL_SOURCE is left undefined: the read-side calls go through the shared library.
 *
 * ThreadSanitizer cannot see the ordering liburcu provides (the library is not built for
 * it): it would report every read of a published index as racing with the index's
 * construction, and every free after a grace period as racing with the reads before it.
 * In a -fsanitize=thread build the calls below tell it what liburcu guarantees: a
 * publication happens before the reads of what it published, and the end of each read
 * section before the end of the grace period that waits for it. Elsewhere they are
 * nothing. */
#include "walkrec/live.h"

#include <pthread.h>
#include <time.h>

#include <urcu-bp.h> /* maps rcu_read_lock() etc. to the urcu_bp_ flavour */

#include "walkrec/metrics.h"
#include "walkrec/provisional.h"
#include "walkrec/util.h"

#if WR_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define happens_before(sync) __tsan_release(sync)
#define happens_after(sync) __tsan_acquire(sync)
#else
#define happens_before(sync) ((void)(sync))
#define happens_after(sync) ((void)(sync))
#endif

static wr_index *current;
static wr_overlay *overlay;
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static char grace; /* sync object: read sections end before the grace period does */

const wr_index *live_acquire(void)
{
    rcu_read_lock();
    wr_index *ix = rcu_dereference(current);
    happens_after(&current);
    return ix;
}

void live_release(void)
{
    happens_before(&grace);
    rcu_read_unlock();
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

wr_index *live_swap(wr_index *ix)
{
    const wr_index_info *in = index_info(ix);
    double now = unix_now();
    index_set_published(ix, now);
    pthread_mutex_lock(&publish_lock);
    happens_before(&current);
    wr_index *old = rcu_xchg_pointer(&current, ix);
    metrics_model(in->generation, in->n, in->dim, in->build_seconds, now);
    synchronize_rcu();
    happens_after(&grace);
    pthread_mutex_unlock(&publish_lock);
    return old;
}

void live_publish(wr_index *ix) { index_free(live_swap(ix)); }

const wr_overlay *live_overlay(void)
{
    const wr_overlay *ov = rcu_dereference(overlay);
    happens_after(&overlay);
    return ov;
}

void live_publish_overlay(wr_overlay *ov)
{
    pthread_mutex_lock(&publish_lock);
    happens_before(&overlay);
    wr_overlay *old = rcu_xchg_pointer(&overlay, ov);
    synchronize_rcu();
    happens_after(&grace);
    overlay_free(old);
    pthread_mutex_unlock(&publish_lock);
}

void live_shutdown(void)
{
    pthread_mutex_lock(&publish_lock);
    wr_index *old = rcu_xchg_pointer(&current, NULL);
    wr_overlay *ov = rcu_xchg_pointer(&overlay, NULL);
    synchronize_rcu();
    happens_after(&grace);
    index_free(old);
    overlay_free(ov);
    pthread_mutex_unlock(&publish_lock);
}
