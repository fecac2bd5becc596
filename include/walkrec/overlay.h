/* overlay.h - provisional items: vectors for items that first appear in ingested pairs,
 * until a retrain places them properly.
 *
 * An item the published index does not know, ingested in a pair with items it knows, gets a
 * provisional vector within a second: the weight-averaged unit vectors of its known
 * partners, normalised, and a neighbour list from an exact scan of the index. These live in
 * a small immutable overlay published beside the index it was built over, in one snapshot
 * (snapshot.h); a new index makes the overlay be rebuilt against it, without the items it
 * now holds. The lists of the model's own items are not changed: a provisional item is
 * found from itself, not yet as anyone's neighbour. One background thread does the work;
 * ingestion only hands it pairs. */
#ifndef WALKREC_OVERLAY_H
#define WALKREC_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/index.h"
#include "walkrec/knn.h"
#include "walkrec/wal.h"

typedef struct wr_overlay wr_overlay;

/* Starts the thread; lists hold k neighbours. */
int overlay_start(uint32_t k, wr_err *err);
void overlay_stop(void);
/* Ingested pairs (any thread, after they are durable): remembers each pair that joins an
 * item unknown to the published index with a known one, and wakes the thread. */
void overlay_note(const wr_wal_pair *p, size_t n);
/* Wakes the thread after a publication, so the overlay follows the new index. */
void overlay_refresh(void);

/* Reading, inside a read section (live.h), through the snapshot that holds ov: the row of
 * an id, or -1 (ov may be NULL). */
int64_t overlay_find(const wr_overlay *ov, const char *id, size_t len);
const float *overlay_vector(const wr_overlay *ov, uint32_t row);
/* The row's list (best first, at most k entries of rows of ix, the index ov was built over)
 * passed through the filter. */
size_t overlay_neighbors(const wr_overlay *ov, const wr_index *ix, uint32_t row, size_t k,
                         const wr_filter *f, wr_hit *out);
/* How many partners the vector was averaged from. */
uint32_t overlay_partners(const wr_overlay *ov, uint32_t row);
/* Rows (0 for NULL). */
size_t overlay_size(const wr_overlay *ov);
/* The serial of the index it was built over (index_info). */
uint64_t overlay_serial(const wr_overlay *ov);
void overlay_free(wr_overlay *ov);

#endif
