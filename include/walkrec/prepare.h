/* prepare.h - `walkrec prepare`: an Amazon metadata file (one record a line, amazon.h;
 * plain or gzip'd) to a pairs file and an items file of side information. */
#ifndef WALKREC_PREPARE_H
#define WALKREC_PREPARE_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/pairs.h"
#include "walkrec/util.h"

#define WR_AMAZON_MAX_LINE ((size_t)16 << 20) /* default line limit */

typedef struct wr_prepare_opts {
    const wr_weights *weights; /* NULL = defaults */
    int strict;                /* first malformed line is an error */
    int max_report;            /* malformed lines named in warnings (default 5) */
    size_t max_line;           /* longer lines are malformed; 0 = WR_AMAZON_MAX_LINE */
} wr_prepare_opts;

typedef struct wr_prepare_stats {
    uint64_t lines;           /* lines read, empty ones included */
    uint64_t records;         /* lines parsed into a record */
    uint64_t malformed;       /* lines skipped as malformed */
    uint64_t pairs;           /* unordered pairs written */
    uint64_t items;           /* distinct ids in the pairs */
    uint64_t items_with_info; /* distinct asins with a record (rows of the items file) */
    int truncated;            /* the gzip stream was cut off; what came before was used */
} wr_prepare_stats;

/* Reads META and writes the pairs TSV and, if items_path is not NULL, the items TSV
 * (header item, brand, category, price, title, salesrank; one row per asin with a
 * record, sorted by asin; for a repeated asin each field keeps its first non-empty value).
 * Malformed lines are counted, the first max_report named via wr_warn as "path:LINE:
 * reason", and skipped; with strict the first one fails ("path:LINE: reason" in err).
 * A cut-off gzip stream is not an error: what was read is used, stats->truncated is set
 * and a warning printed; its cut-off last line is dropped without counting as malformed. */
int prepare_amazon(const char *meta_path, const char *pairs_path, const char *items_path,
                   const wr_prepare_opts *o, wr_prepare_stats *st, wr_err *err);

#endif
