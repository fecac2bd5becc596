/* live.c - every liburcu call of walkrecd: the one pointer to the published index.
 *
 * The bulletproof flavour (urcu-bp) fits because libmicrohttpd owns its worker threads and
 * offers no hook to register them: readers register themselves on their first
 * rcu_read_lock(). A publisher swaps the pointer with rcu_xchg_pointer(), so readers see
 * either the old index or the new one, whole; synchronize_rcu() then returns once every
 * read section that could have seen the old one has ended, and the old index is freed
 * outside any read section. A mutex keeps two publishers from freeing the same index.
 * _LGPL_SOURCE is left undefined: the read-side calls go through the shared library. */
#include "walkrec/live.h"

#include <pthread.h>
#include <time.h>

#include <urcu-bp.h> /* maps rcu_read_lock() etc. to the urcu_bp_ flavour */

#include "walkrec/metrics.h"
#include "walkrec/provisional.h"

static wr_index *current;
static wr_overlay *overlay;
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;

const wr_index *live_acquire(void)
{
    rcu_read_lock();
    return rcu_dereference(current);
}

void live_release(void) { rcu_read_unlock(); }

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
    wr_index *old = rcu_xchg_pointer(&current, ix);
    metrics_model(in->generation, in->n, in->dim, in->build_seconds, now);
    synchronize_rcu();
    pthread_mutex_unlock(&publish_lock);
    return old;
}

void live_publish(wr_index *ix) { index_free(live_swap(ix)); }

const wr_overlay *live_overlay(void) { return rcu_dereference(overlay); }

void live_publish_overlay(wr_overlay *ov)
{
    pthread_mutex_lock(&publish_lock);
    wr_overlay *old = rcu_xchg_pointer(&overlay, ov);
    synchronize_rcu();
    overlay_free(old);
    pthread_mutex_unlock(&publish_lock);
}

void live_shutdown(void)
{
    pthread_mutex_lock(&publish_lock);
    wr_index *old = rcu_xchg_pointer(&current, NULL);
    wr_overlay *ov = rcu_xchg_pointer(&overlay, NULL);
    synchronize_rcu();
    index_free(old);
    overlay_free(ov);
    pthread_mutex_unlock(&publish_lock);
}
