/* hidden.h - hidden items: ids taken out of every neighbour answer, kept in the pair log.
 *
 * An operator hides an item (PUT /v1/items/{id}/hidden), unhides it, or deletes it (hidden
 * too; wal.h says what a delete does to training). The change is written to the pair log
 * as an item record first, then applied here, then published: the set below is the fold of
 * the log's item records in log order, so a restart, a rollback, a new generation and a
 * follower reading the trainer's log all arrive at the same set. Ids need not be known to
 * any model: an item may be hidden before it is ever ingested.
 *
 * Two halves. The set (hidden_apply and friends) is the writers' truth, behind a mutex: it
 * is touched by the handlers that hide and by log replays, never by readers. The view
 * (wr_hidden) is what readers see: an immutable copy made for one snapshot by
 * snapshot.c at each publication, with a bit per row of that snapshot's index and one per
 * row of its overlay, so that leaving hidden items out of an answer costs one bit test per
 * candidate and takes no lock. */
#ifndef WALKREC_HIDDEN_H
#define WALKREC_HIDDEN_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/index.h"

struct wr_overlay;

/* ---- the set: any thread ---- */

/* Applies an item record of the log (WR_WAL_HIDE, _UNHIDE or _DELETE of the id) written at
 * log offset off. A record older than one already applied to the same id changes nothing,
 * so replaying a log twice, or a handler's apply racing another's, ends in the log's order.
 * Returns 1 when the set changed. */
int hidden_apply(int kind, const char *id, size_t len, uint64_t off);
/* Forgets every id (a follower whose trainer's log was replaced reads it again). */
void hidden_reset(void);
/* Ids hidden now. */
size_t hidden_count(void);
/* Frees the set (at shutdown). */
void hidden_free_all(void);

/* ---- the view: built by snapshot.c, read inside a read section ---- */

typedef struct wr_hidden wr_hidden;

/* A view of the set now for index ix and overlay ov (may be NULL); NULL when nothing is
 * hidden. Free with hidden_free() (NULL is fine). Any thread; takes the set's mutex. */
wr_hidden *hidden_view(const wr_index *ix, const struct wr_overlay *ov);
void hidden_free(wr_hidden *h);
/* A bit per row of the index the view was made for (wr_filter.hidden), or NULL when no
 * row of it is hidden. h may be NULL. */
const uint64_t *hidden_rows(const wr_hidden *h);
/* 1 when row `prov` of the view's overlay is hidden (h may be NULL). */
int hidden_prov(const wr_hidden *h, uint32_t prov);
/* 1 when the id is hidden (h may be NULL). */
int hidden_has(const wr_hidden *h, const char *id, size_t len);
/* Ids hidden in the view, and the log offset of the last change it holds: a number that
 * names the set (answers' ETags change with it). */
size_t hidden_size(const wr_hidden *h);
uint64_t hidden_stamp(const wr_hidden *h);

#endif
