/* live.h - the published index: one pointer, read under RCU, swapped by publishers.
 *
 * Readers (HTTP worker threads) bracket their use of the index with live_acquire() and
 * live_release(); they never wait, and need not register. A publisher builds a new index
 * off to the side and hands it to live_publish(), which swaps the pointer in one step and
 * frees the old index once no reader can still see it. */
#ifndef WALKREC_LIVE_H
#define WALKREC_LIVE_H

#include "walkrec/index.h"

/* Enters a read-side section and returns the published index, or NULL before the first
 * publication. The index stays valid until the matching live_release(). Sections nest.
 * Any thread; never blocks. Keep sections short: a publisher waits for them to end. */
const wr_index *live_acquire(void);
void live_release(void);

/* Publishes ix (takes ownership; stamps its publication time and updates the model
 * metrics), then waits until no reader can hold the previous index and frees it. Blocks
 * for as long as the longest read section in progress; never call it inside one.
 * Publishers are serialised. Any thread that is not reading. */
void live_publish(wr_index *ix);
/* The same, but hands back the previous index (NULL before the first publication) instead
 * of freeing it: no reader can see it any more, so the caller may keep it (walkrecd keeps it
 * for an instant rollback) and publish it again later. */
wr_index *live_swap(wr_index *ix);

/* The overlay of provisional items (provisional.h) published beside the index, or NULL;
 * only inside a read section, which it shares with live_acquire(). */
struct wr_overlay;
const struct wr_overlay *live_overlay(void);
/* Publishes an overlay (takes ownership) and frees the previous one after the grace period. */
void live_publish_overlay(struct wr_overlay *ov);

/* Unpublishes and frees the current index (at shutdown, after the readers stopped). */
void live_shutdown(void);

#endif
