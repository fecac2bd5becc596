/* index.h - the served model: ids, unit vectors, neighbour lists and side information.
 *
 * An index is built completely off to the side (index_build) and never changes after
 * that, so any number of threads may query it at once without locks; snapshot.h publishes
 * it. Up to opts.k neighbours per item are precomputed (lists.h), in the order the model
 * serves by default: the lists the model file carries when they are what the options ask
 * for (a mapped model's are served in place, nothing is built), else built here, exactly up
 * to opts.exact_max_items items, approximately above. Larger k, filters that exhaust a
 * list, the other order, and vector (basket) queries fall back to an exact scan. */
#ifndef WALKREC_INDEX_H
#define WALKREC_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/calib.h"
#include "walkrec/knn.h"
#include "walkrec/lists.h"
#include "walkrec/model.h"
#include "walkrec/rank.h"
#include "walkrec/side.h"
#include "walkrec/util.h"

typedef struct wr_index wr_index;

typedef struct wr_index_opts {
    uint32_t k;               /* neighbours precomputed per item; 0 = none (default 100) */
    uint64_t exact_max_items; /* above this many items, the lists are approximate
                                 (WR_LISTS_EXACT_MAX) */
    uint32_t ann_cells;       /* k-means cells of the approximate lists; 0 = by size (0) */
    uint32_t ann_probe;       /* cells searched per cell; 0 = no approximate lists: above
                                 exact_max_items every query is an exact scan (8) */
    double ann_min_recall;    /* the lists are rebuilt probing twice the cells while their
                                 recall@10 on a sample is below this (0.98; 0 = never) */
    uint32_t ann_popular;     /* probability order: popular items every cell compares with
                                 (512) */
    int rank;                 /* WR_RANK_* (rank.h): what the precomputed lists rank by;
                                 AUTO (default): the order the model's training chose for a
                                 calibrated model, else the cosine */
    int threads;              /* build threads; <= 0 = every core */
    const char *items_file;   /* side information TSV, NULL or "" = none */
    const char *sidecar;      /* side information written beside the model by the daemon;
                                 read first, and only when the file exists */
    const char *graph;        /* the pair graph beside the model (explain.h), mapped when the
                                 file exists and belongs to the model; NULL or "" = none */
} wr_index_opts;

void index_default_opts(wr_index_opts *o);
/* The lists' options (lists.h) the index options ask for. */
void index_lists_opts(const wr_index_opts *o, wr_lists_opts *lo);
/* 1 when m carries the lists o asks for (their length and order), so that index_build
 * would serve them without building any; also 1 for a model of fewer than 2 items. */
int index_lists_fit(const wr_model *m, const wr_index_opts *o);

/* What /v1/model reports; plain data owned by the index. */
typedef struct wr_index_info {
    uint64_t generation;
    uint64_t serial;          /* unique to this index in the process (1, 2, ...): what an
                                 overlay names as the index it was built over */
    uint64_t identity;        /* what the answers' ETags name: the model file's checksums
                                 (model.h) mixed with the side information's bytes; for a
                                 model not read from a file, the time of the build (us) */
    uint32_t n, dim;
    uint32_t k;               /* length of the precomputed lists, 0 when there are none */
    const char *kind;         /* the lists: "exact", "approximate" or "none" */
    int lists_stored;         /* they came with the model file (else built here) */
    int calibrated;           /* the model carries a pair probability (calib.h) */
    int rank;                 /* WR_RANK_COSINE or WR_RANK_PROBABILITY: the lists' order */
    int64_t created;          /* the model's creation time (unix seconds) */
    char *source;             /* the model file */
    char *meta_json;          /* the model's metadata (a JSON object) */
    double build_seconds;     /* time spent on the neighbour lists (k-means included), where
                                 they were built */
    /* "approximate" only (else 0): */
    uint32_t ann_cells, ann_probe; /* the probe the lists were built with at last */
    uint32_t ann_popular;     /* popular items compared with (probability order) */
    uint32_t ann_rounds;      /* builds it took to reach ann_min_recall (1 = the first) */
    double ann_kmeans_seconds; /* of build_seconds, placing the cells (every round) */
    double ann_candidates;    /* items each item was compared with, on average */
    double recall_at_10;      /* the lists' first 10 against exact lists of their order ... */
    uint32_t recall_sample;   /* ... over this many items spread over the catalogue */
    double published_at;      /* unix seconds, set by index_set_published() */
    uint64_t side_rows;       /* model items with side information (each once) */
    uint64_t side_unmatched;  /* rows of the files naming items the model does not have */
} wr_index_info;

/* Takes ownership of m (freed here even on error; a mapped one lives as long as the index):
 * takes its unit vectors (or normalises its vectors), its lists when they fit the options,
 * builds the rest and the side information. Progress of a list build on stderr. On error
 * (unreadable side file, out of memory for the lists) returns NULL with err set. Any
 * thread; it touches nothing shared. Free with index_free() (NULL is fine). */
wr_index *index_build(wr_model *m, uint64_t generation, const char *source,
                      const wr_index_opts *o, wr_err *err);
void index_free(wr_index *ix);

const wr_index_info *index_info(const wr_index *ix);
/* Logs what serving will use: the lists (kind, order, stored or built), the approximate
 * lists' recall, the side information. */
void index_log(const wr_index *ix);
/* Stamps the publication time; only before the index is published. */
void index_set_published(wr_index *ix, double unix_seconds);

/* Row of an id, or -1. */
int64_t index_find(const wr_index *ix, const char *id, size_t len);
/* The id of a row (borrowed, lives as long as the index). */
const char *index_id(const wr_index *ix, uint32_t row);
/* The rows of the first max ids (in byte order) that start with p[0..len) (no NUL bytes;
 * len 0: every id) and, when after is not NULL, sort after it, into rows; returns how
 * many. O(log n + max). */
size_t index_prefix(const wr_index *ix, const char *p, size_t len, const char *after,
                    uint32_t *rows, size_t max);

/* Cosine similarity of two rows; index_dot: of two unit vectors of the index's dim (rows'
 * index_vector, or provisional items'), summed in double. */
float index_score(const wr_index *ix, uint32_t a, uint32_t b);
/* "Goes with" rather than "alike", for a model with context vectors (walkrec train
 * --keep-context): the mean of the cosines of a's vector with b's context vector and of a's
 * context vector with b's vector (docs/evaluation.md#similar-against-goes-with). 1 when
 * the index has them. */
int index_has_context(const wr_index *ix);
float index_complement(const wr_index *ix, uint32_t a, uint32_t b);
float index_dot(const wr_index *ix, const float *x, const float *y);
/* The unit vector of a row (index_info()->dim floats, borrowed). */
const float *index_vector(const wr_index *ix, uint32_t row);
/* The calibrated probability that two rows are related (calib.h); NaN when the model
 * carries no calibration. */
double index_probability(const wr_index *ix, uint32_t a, uint32_t b);
/* The same for row a and an item the model has no row for (a provisional one): its unit
 * vector v and log1p of its weighted degree. */
double index_probability_vec(const wr_index *ix, uint32_t a, const float *v, float logdeg);
/* index_probability's logit split into its terms (calib_terms); -1 for an uncalibrated
 * model. */
int index_probability_terms(const wr_index *ix, uint32_t a, uint32_t b,
                            double terms[WR_CALIB_NFEAT]);
/* The pair graph the model was made from (explain.h; borrowed, lives as long as the index),
 * NULL when the index has none. */
const struct wr_explain_graph *index_graph(const wr_index *ix);

/* The exact scans a query may make. A scan compares the query with every item, so it costs
 * the catalogue's size; a scan that does not fit in `items` is not made (the query returns
 * no hits and `refused` is set). `scans` counts the scans asked for, made or not: a budget
 * of 0 items tells, without scanning, how many scans a query needs. */
typedef struct wr_budget {
    uint64_t items;           /* item comparisons left */
    uint64_t scans;           /* scans asked for */
    int refused;              /* a scan was not made */
} wr_budget;

/* Which neighbours a query accepts, and what it may cost. All-zero is not "no filter":
 * start from index_filter_none(). */
typedef struct wr_filter {
    const uint32_t *exclude;  /* rows never returned, sorted ascending (may be NULL) */
    size_t n_exclude;
    float min_score;          /* drop neighbours scoring below; -INFINITY = keep all */
    /* only rows it accepts: accept(accept_ctx, row, 0) for an index row, (.., row, 1) for
     * an overlay row (filter.h's filter_accept); NULL = any */
    int (*accept)(const void *ctx, uint32_t row, int prov);
    const void *accept_ctx;
    wr_budget *budget;        /* exact scans allowed; NULL = any */
    const uint64_t *hidden;   /* a bit per row: rows never returned, and a list they shorten
                                 is answered short rather than by a scan (NULL = none;
                                 snapshot.h sets it from the snapshot's hidden items) */
} wr_filter;

wr_filter index_filter_none(void);
/* 1 when the filter hides row r. */
static inline int index_filter_hidden(const wr_filter *f, uint32_t r)
{
    return f->hidden && (f->hidden[r >> 6] >> (r & 63) & 1);
}

/* The k best rows other than `row` that pass f, best first (equal scores: lower row
 * first), into out[0..k); returns how many were found (fewer than k only when fewer items
 * pass the filter, or when hidden rows of the precomputed list shortened it: hiding never
 * turns a list's answer into an exact scan). */
size_t index_neighbors(const wr_index *ix, uint32_t row, size_t k, const wr_filter *f,
                       wr_hit *out);
/* The same for a unit query vector of index_info()->dim floats (no row is left out unless
 * excluded). Always an exact scan. */
size_t index_neighbors_vec(const wr_index *ix, const float *q, size_t k, const wr_filter *f,
                           wr_hit *out);
/* index_neighbors ranked by `rank` (WR_RANK_COSINE or WR_RANK_PROBABILITY; the latter only
 * for calibrated models): from the lists when they are in that order, else by an exact
 * scan. The hits' scores are cosines either way; min_score filters on the cosine. */
size_t index_neighbors_by(const wr_index *ix, uint32_t row, size_t k, const wr_filter *f,
                          int rank, wr_hit *out);
/* The k rows other than `row` best by index_complement that pass f (min_score on that
 * score), best first: always an exact scan, counted by the filter's budget. 0 without
 * context vectors. */
size_t index_neighbors_complement(const wr_index *ix, uint32_t row, size_t k,
                                  const wr_filter *f, wr_hit *out);
/* "More like these, not like those", best score: every item by its best cosine with the np
 * unit vectors pos minus its best with the nn vectors neg (nothing subtracted without
 * neg), the k best through the filter into out (scores: that difference; min_score applies
 * to it). An exact scan counted as np + nn scans by the filter's budget. */
size_t index_neighbors_contrast(const wr_index *ix, const float *const *pos, size_t np,
                                const float *const *neg, size_t nn, size_t k,
                                const wr_filter *f, wr_hit *out);
/* q = the normalised sum of n vectors of the index's dim (rows' index_vector, or provisional
 * items'); -1 when the sum is zero. */
int index_basket(const wr_index *ix, const float *const *vecs, size_t n, float *q);

/* Side information: named columns of text per row. */
size_t index_side_columns(const wr_index *ix);
const char *index_side_name(const wr_index *ix, size_t col);
/* The value of a column for a row, or NULL when the row has none (borrowed). */
const char *index_side_value(const wr_index *ix, uint32_t row, size_t col);
/* The column of that name, or -1; its type (side_type over the column's values). */
int64_t index_side_column(const wr_index *ix, const char *name);
wr_side_type index_side_type(const wr_index *ix, size_t col);
/* Typed values, read once when the index is made: a number or boolean (1/0) column's value
 * (0, or -1 when the row has none); the code of a string column's value (UINT32_MAX: none),
 * and the code of a string (UINT32_MAX when no row has it); a list's items (side_list). */
int index_side_number(const wr_index *ix, uint32_t row, size_t col, double *out);
uint32_t index_side_code(const wr_index *ix, uint32_t row, size_t col);
uint32_t index_side_find_code(const wr_index *ix, size_t col, const char *v, size_t len);
size_t index_side_list(const wr_index *ix, uint32_t row, size_t col, wr_side_span *out,
                       size_t max);

#endif
