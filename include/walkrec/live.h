/* live.h - the published snapshot (snapshot.h): one pointer, read under RCU, swapped by
 * publishers. All of walkrecd's liburcu calls are behind these three functions.
 *
 * Readers bracket their use of the snapshot with live_acquire() and live_release(); they
 * never wait, and need not register. Publishers are snapshot.c's functions, which build a
 * new snapshot off to the side and swap it in with live_swap(). */
#ifndef WALKREC_LIVE_H
#define WALKREC_LIVE_H

struct wr_snapshot;

/* Enters a read-side section and returns the published snapshot, or NULL before the first
 * publication. It stays valid until the matching live_release(). Sections nest. Any
 * thread; never blocks. Keep sections short: a publisher waits for them to end. */
const struct wr_snapshot *live_acquire(void);
void live_release(void);

/* Publishes s (NULL unpublishes), waits until no reader can hold the previous snapshot
 * and hands it back (NULL before the first publication): the caller frees it. Blocks for
 * as long as the longest read section in progress; never call it inside one. Publishers
 * are serialised. Any thread that is not reading. */
struct wr_snapshot *live_swap(struct wr_snapshot *s);

#endif
