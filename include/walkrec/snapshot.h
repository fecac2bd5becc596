/* snapshot.h - what walkrecd serves: one immutable {index, overlay, hidden, attributes}
 * snapshot behind one pointer.
 *
 * The index is a generation's model with its neighbour lists (index.h); the overlay holds
 * the provisional items known from pairs ingested since (overlay.h), placed over that very
 * index. Handlers get a snapshot as an argument and read both through the functions below,
 * so an answer never mixes an overlay with an index it was not built for. A new snapshot is
 * published whenever either part changes: the trainer publishes a new index (with no
 * overlay; the overlay thread then builds one over it), the overlay thread a new overlay
 * over the published index. Every snapshot also carries views of the hidden items and of the
 * attributes set at run time made for its index and overlay (hidden.h, attrs.h), remade at
 * each publication and whenever either set changes (snapshot_publish_hidden); the reading
 * functions below leave hidden items out of every list they answer (an item's own list and
 * its pair scores are still answered), and filters read the attributes view.
 * Publication is serialised here; all RCU is in live.c. */
#ifndef WALKREC_SNAPSHOT_H
#define WALKREC_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/index.h"
#include "walkrec/knn.h"

struct wr_overlay;

typedef struct wr_snapshot {
    wr_index *index;            /* never NULL */
    struct wr_overlay *overlay; /* NULL when no provisional item is known */
    struct wr_hidden *hidden;   /* NULL when no item is hidden */
    struct wr_attrs *attrs;     /* NULL when no attribute was set at run time */
    uint64_t version;           /* unique to this snapshot, also across restarts (the time
                                 of its publication in microseconds, made to grow): what
                                 the ETags of answers with provisional items name */
} wr_snapshot;

/* ---- reading: inside a read section (live.h), any thread ---- */

/* An item as answers see it: a model row, or a provisional row of the overlay. */
typedef struct wr_item {
    int64_t row;  /* index row, or -1 */
    int64_t prov; /* overlay row, or -1 */
} wr_item;

/* 1 and *it when the snapshot knows the id, else 0. */
int snapshot_find(const wr_snapshot *s, const char *id, size_t len, wr_item *it);
/* The unit vector of an item (index_info(s->index)->dim floats, borrowed). */
const float *snapshot_vector(const wr_snapshot *s, const wr_item *it);
/* Cosine of two items. */
float snapshot_score(const wr_snapshot *s, const wr_item *a, const wr_item *b);
/* The item's k best neighbours by rank (WR_RANK_*; a provisional item's own list ranks by
 * cosine) through the filter, as index_neighbors_by. A model item's list also takes in the
 * provisional items near it (overlay_near) where their score in that order earns a place
 * (through the filter: they have run-time attributes only). Hits are index rows, or provisional
 * rows plus index_info(s->index)->n: read them with snapshot_hit_id. */
size_t snapshot_neighbors(const wr_snapshot *s, const wr_item *it, size_t k, const wr_filter *f,
                          int rank, wr_hit *out);
/* index_neighbors_vec and index_neighbors_contrast (index.h) without the hidden items. */
size_t snapshot_neighbors_vec(const wr_snapshot *s, const float *q, size_t k, const wr_filter *f,
                              wr_hit *out);
size_t snapshot_neighbors_contrast(const wr_snapshot *s, const float *const *pos, size_t np,
                                   const float *const *neg, size_t nn, size_t k,
                                   const wr_filter *f, wr_hit *out);
/* index_neighbors_complement of a model item (it->row >= 0) without the hidden items. */
size_t snapshot_neighbors_complement(const wr_snapshot *s, const wr_item *it, size_t k,
                                     const wr_filter *f, wr_hit *out);
/* 1 when the id is hidden (whether or not the snapshot knows it). */
int snapshot_hidden(const wr_snapshot *s, const char *id, size_t len);
/* The id of a hit of snapshot_neighbors, and its probability with index row `row` (NaN for
 * an uncalibrated model). */
const char *snapshot_hit_id(const wr_snapshot *s, uint32_t item);
double snapshot_hit_probability(const wr_snapshot *s, uint32_t row, uint32_t item);
/* How many model items a provisional item's vector was averaged from (0 for model items). */
uint32_t snapshot_partners(const wr_snapshot *s, const wr_item *it);
/* Provisional items in the snapshot. */
size_t snapshot_provisional(const wr_snapshot *s);
/* The ids starting with p[0..len) (and sorting after `after`, when not NULL), model and
 * provisional items merged in byte order, at most max (borrowed: valid inside the read
 * section); *provisional = 1 when one of them is provisional. */
size_t snapshot_prefix(const wr_snapshot *s, const char *p, size_t len, const char *after,
                       const char **ids, size_t max, int *provisional);

/* ---- publishing: any thread outside a read section; serialised ---- */

/* Publishes ix (takes ownership) with no overlay, stamping its publication time and the
 * model metrics. Returns the index it replaces (NULL at first), which no reader can see any
 * more: the caller keeps it (for a rollback) or frees it. The old overlay is freed. */
wr_index *snapshot_publish_index(wr_index *ix);
/* Publishes ov (takes ownership) beside the published index when ov was built over that
 * index (overlay_serial); otherwise frees ov and returns -1. */
int snapshot_publish_overlay(struct wr_overlay *ov);
/* Publishes the published index and overlay again with new views of the hidden set and the
 * attributes (hidden.h, attrs.h), after one changed; nothing before the first publication. */
void snapshot_publish_hidden(void);
/* Unpublishes and frees everything (at shutdown, after the readers stopped). */
void snapshot_shutdown(void);

#endif
