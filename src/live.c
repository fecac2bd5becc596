/* live.c - every liburcu call of walkrecd: the one pointer to the published snapshot.
 *
 * The bulletproof flavour (urcu-bp) fits because libmicrohttpd owns its worker threads and
 * offers no hook to register them: readers register themselves on their first
 * rcu_read_lock(). A publisher swaps the pointer with rcu_xchg_pointer(), so readers see
 * either the old snapshot or the new one, whole; synchronize_rcu() then returns once every
 * read section that could have seen the old one has ended, and the old one goes back to the
 * publisher, who frees what of it is no longer shared (snapshot.c). A mutex serialises
 * publishers. This file knows nothing of what a snapshot holds.
 * _LGPL_SOURCE is left undefined: the read-side calls go through the shared library.
 *
 * ThreadSanitizer cannot see the ordering liburcu provides (the library is not built for
 * it): it would report every read of a published snapshot as racing with its
 * construction, and every free after a grace period as racing with the reads before it.
 * In a -fsanitize=thread build the calls below tell it what liburcu guarantees: a
 * publication happens before the reads of what it published, and the end of each read
 * section before the end of the grace period that waits for it. Elsewhere they are
 * nothing. */
#include "walkrec/live.h"

#include <pthread.h>

#include <urcu-bp.h> /* maps rcu_read_lock() etc. to the urcu_bp_ flavour */

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

static struct wr_snapshot *current;
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static char grace; /* sync object: read sections end before the grace period does */

const struct wr_snapshot *live_acquire(void)
{
    rcu_read_lock();
    struct wr_snapshot *s = rcu_dereference(current);
    happens_after(&current);
    return s;
}

void live_release(void)
{
    happens_before(&grace);
    rcu_read_unlock();
}

struct wr_snapshot *live_swap(struct wr_snapshot *s)
{
    pthread_mutex_lock(&publish_lock);
    happens_before(&current);
    struct wr_snapshot *old = rcu_xchg_pointer(&current, s);
    synchronize_rcu();
    happens_after(&grace);
    pthread_mutex_unlock(&publish_lock);
    return old;
}
