/* provisional.h - vectors for items that first appear in ingested pairs, until a retrain
 * places them properly.
 *
 * An item the live model does not know, ingested in a pair with items it knows, gets a
 * provisional vector within a second: the weight-averaged unit vectors of its known
 * partners, normalised, and a neighbour list from an exact scan of the live index. These
 * live in a small immutable overlay published beside the index (live.h), tied to the
 * index's generation: readers use it only with that generation, and a new generation makes
 * the overlay be rebuilt against it without the items it now holds. The lists of the
 * model's own items are not changed: a provisional item is found from itself, not yet as
 * anyone's neighbour. One background thread does the work; ingestion only hands it pairs. */
#ifndef WALKREC_PROVISIONAL_H
#define WALKREC_PROVISIONAL_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/index.h"
#include "walkrec/knn.h"
#include "walkrec/wal.h"

typedef struct wr_overlay wr_overlay;

/* Starts the thread; lists hold k neighbours. */
int provisional_start(uint32_t k, wr_err *err);
void provisional_stop(void);
/* Ingested pairs (any thread, after they are durable): remembers each pair that joins an
 * item unknown to the live index with a known one, and wakes the thread. */
void provisional_note(const wr_wal_pair *p, size_t n);
/* Wakes the thread after a publication, so the overlay follows the new generation. */
void provisional_refresh(void);

/* Reading, inside a read section (live_acquire) and with that section's index: the
 * overlay's row of an id, or -1 (also when the overlay belongs to another generation). */
int64_t overlay_find(const wr_overlay *ov, const wr_index *ix, const char *id, size_t len);
const float *overlay_vector(const wr_overlay *ov, uint32_t row);
/* The row's list (best first, at most k entries of index rows) passed through the filter
 * (no exclusion of provisional items: the list holds model items only). */
size_t overlay_neighbors(const wr_overlay *ov, const wr_index *ix, uint32_t row, size_t k,
                         const wr_filter *f, wr_hit *out);
/* How many partners the vector was averaged from. */
uint32_t overlay_partners(const wr_overlay *ov, uint32_t row);
size_t overlay_size(const wr_overlay *ov);
void overlay_free(wr_overlay *ov);

#endif
