/* overlay.h - provisional items: vectors for items that first appear in ingested pairs,
 * until a retrain places them properly.
 *
 * An item the published index does not know, ingested in a pair with items it knows, gets a
 * provisional vector within a second: the weight-averaged unit vectors of its known
 * partners, normalised, and a neighbour list: the best by cosine among its partners and
 * their stored lists (an exact scan of the index when it stores none). These live in a
 * small immutable overlay published beside the index it was built over, in one snapshot
 * (snapshot.h); a new index makes the overlay be rebuilt against it, without the items it
 * now holds. A model item's list takes in the provisional items near it where their score
 * earns a place (snapshot.h, overlay_near). One background thread does the work.
 *
 * The pair log is the truth: whenever a generation is published (start, reload, rollback,
 * a forced publication, a retrain) the daemon replays the whole log into the overlay
 * (overlay_replay), so every acknowledged item the generation does not know is served
 * again, and a follower reads the trainer's log the same way. Ingestion adds its batches as
 * they are acknowledged (overlay_note). */
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
 * item unknown to the published index with a known one, and wakes the thread. pos: the log
 * position after their record (wal_append), so that a replay that read it already does not
 * count it twice; 0 when they are not from the log. */
void overlay_note(const wr_wal_pair *p, size_t n, uint64_t pos);
/* A deleted item (wal.h; any thread, after its record is durable): its pairs noted so far
 * are forgotten, as training leaves them out, so it is no provisional item and no partner
 * of one; pairs noted later count again. pos as for overlay_note. A replay does the same
 * at each delete record. */
void overlay_delete(const char *id, size_t len, uint64_t pos);

/* What a replay read. */
typedef struct wr_overlay_replay {
    uint64_t pairs;    /* pairs read */
    uint64_t pending;  /* of which in records at or after `trained` */
    uint64_t end;      /* log position read to */
    double seconds;
} wr_overlay_replay;

/* Replays the pair log at path into the overlay (call after publishing an index). reset:
 * forgets every item and reads from the start (a new generation, against its index; then
 * call overlay_refresh to have the overlay built), else reads on from where the last call
 * stopped (and builds when it read something). stop: a durable position of the log this
 * process appends to (overlay_note then skips batches at or before it), or 0 for the last
 * whole record in the file (a follower tailing the trainer's log; from the start again
 * when the log was cut or replaced). `trained`: the log position the published generation
 * was trained through (0: none of the log), for out->pending. A missing log is empty. */
int overlay_replay(const char *path, int reset, uint64_t stop, uint64_t trained,
                   wr_overlay_replay *out, wr_err *err);
/* Wakes the thread after a publication, so the overlay follows the new index. */
void overlay_refresh(void);

/* Items of the overlay published last (for the status). */
size_t overlay_served(void);

/* Reading, inside a read section (live.h), through the snapshot that holds ov: the row of
 * an id, or -1 (ov may be NULL). */
int64_t overlay_find(const wr_overlay *ov, const char *id, size_t len);
const float *overlay_vector(const wr_overlay *ov, uint32_t row);
/* The row's list (best first, at most k entries of rows of ix, the index ov was built over)
 * passed through the filter (its hidden rows shorten the stored list, as index.h's). */
size_t overlay_neighbors(const wr_overlay *ov, const wr_index *ix, uint32_t row, size_t k,
                         const wr_filter *f, wr_hit *out);
/* How many partners the vector was averaged from. */
uint32_t overlay_partners(const wr_overlay *ov, uint32_t row);
/* Those partners: their index rows (ascending) into *rows and the summed weights of the
 * row's ingested pairs with them into *w (both borrowed from ov); returns how many. */
size_t overlay_pairs(const wr_overlay *ov, uint32_t row, const uint32_t **rows, const float **w);
/* The row's id (borrowed). */
const char *overlay_id(const wr_overlay *ov, uint32_t row);
/* log1p of the summed weight of the row's ingested pairs (its degree, for the probability). */
float overlay_logdeg(const wr_overlay *ov, uint32_t row);
/* The provisional items that have index row index_row among their first 20 neighbours,
 * best first, with their cosines to it: candidates for that row's list (0 for NULL ov). */
size_t overlay_near(const wr_overlay *ov, uint32_t index_row, const uint32_t **prov,
                    const float **score);
/* Rows (0 for NULL). */
size_t overlay_size(const wr_overlay *ov);
/* The rows whose ids start with p[0..len) (and sort after `after`, when not NULL), in byte
 * order of the ids, at most max (dict_prefix). */
size_t overlay_prefix(const wr_overlay *ov, const char *p, size_t len, const char *after,
                      uint32_t *rows, size_t max);
/* The serial of the index it was built over (index_info). */
uint64_t overlay_serial(const wr_overlay *ov);
void overlay_free(wr_overlay *ov);

#endif
