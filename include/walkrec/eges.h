/* eges.h - skip-gram with side information: "enhanced graph embedding with side information"
 * (EGES; Wang et al., "Billion-scale Commodity Embedding for E-commerce Recommendation in
 * Alibaba", KDD 2018).
 *
 * Side information is the items table (items.tsv, read by side.h: a header, the item id
 * in the first column). Each selected column gives an item zero or more terms, each term a
 * field j and the rows W_j[s] of the values s the item has in it:
 *   value   the whole cell is one value (brand): one field
 *   path    "A > B > C" (or "A|B|C"): one field per level, the value of level k being the
 *           path up to k, so "A > B" and "C > B" differ
 *   bucket  a number (a leading currency sign and thousands commas allowed, a range
 *           "$5 - $10" read at its low end): log-value deciles over the items of the file
 *           that have a positive number; anything else is no value
 *   words   the cell's words (ASCII letters lower-cased, split at anything not a letter,
 *           digit or non-ASCII byte), the term being the mean of their rows: one field
 * An item's vector is the softmax-weighted mean of its terms, the item's own id row being
 * field 0:
 *   H_v = sum_j exp(a_vj) e_vj / sum_j exp(a_vj),   e_vj = mean of W_j[s] over its values,
 * trained by skip-gram with negative sampling over the random walks, H_v the input vector,
 * a separate output table as in word2vec; the gradient of H_v flows to every W_j row
 * (alpha_vj / count) and to a_vj (alpha_vj (e_vj - H_v) . dH). An empty cell gives no
 * term: there is no shared "missing" value pulling unrelated items together, and an item
 * without side information trains exactly as in plain skip-gram (H_v = its id row).
 *
 * Cold items (with side information but in no walk, e.g. in no training pair) have no id
 * row; their vector is the same weighted mean over the side terms they have, with a_j the
 * mean of a_vj over the trained items that have field j. Values that no trained item has
 * were never trained and are left out. */
#ifndef WALKREC_EGES_H
#define WALKREC_EGES_H

#include <stdint.h>

#include "walkrec/dict.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/side.h"
#include "walkrec/train.h"
#include "walkrec/util.h"

enum { WR_EGES_AUTO = -1, WR_EGES_VALUE = 0, WR_EGES_PATH = 1, WR_EGES_BUCKET = 2,
       WR_EGES_WORDS = 3 };

/* "value", "path", "bucket", "words" -> WR_EGES_*, or -1. */
int eges_kind_parse(const char *name);
/* The name of a WR_EGES_* kind ("auto" for any other number). */
const char *eges_kind_name(int kind);

typedef struct wr_eges_column {
    char *name;
    int kind;
    uint32_t source;         /* its column in the items table */
    uint32_t field0, levels; /* its fields: field0 .. field0 + levels - 1 */
    uint32_t items;          /* items with at least one value in it */
    uint32_t values;         /* distinct values over all its fields */
    uint32_t ncuts;          /* bucket: ncuts + 1 buckets, cut points on log(number) */
    double *cuts;
} wr_eges_column;

/* The items' features: for each item, its values, each value belonging to one field. */
typedef struct wr_eges_features {
    const wr_dict *items;  /* the table's items, in its row order (borrowed from it) */
    uint32_t ncols, nfields, nvalues;
    wr_eges_column *col;
    uint32_t *field_col;   /* nfields: the column of each field */
    uint32_t *value_field; /* nvalues: the field of each value */
    uint64_t *off;         /* items + 1: item i's values are val[off[i] .. off[i + 1]), */
    uint32_t *val;         /* grouped by field in ascending field order */
} wr_eges_features;

/* Builds f from an items table read without ids (side_load(path, NULL, ...)): f borrows
 * the table's ids, so the table must outlive f. columns is a comma-separated list of
 * column names, each optionally ":kind" (value, path, bucket, words); NULL or "" selects
 * every column. A column without a kind is a bucket when its name starts with "price" or
 * its type (side_type) is a number, words when it is named title, description or name, a
 * path when its type is a list, else a value. Errors (f left empty): an unknown or
 * repeated column or an unknown kind. Free f with eges_features_free(). */
int eges_features_build(wr_eges_features *f, const wr_side *table, const char *columns,
                        wr_err *err);
void eges_features_free(wr_eges_features *f);
/* The field's name: the column's, with "[k]" (1-based level) for paths. */
void eges_field_name(const wr_eges_features *f, uint32_t field, char *buf, size_t len);

/* Trains on a merged pair set like train_pairs (graph, walks, then skip-gram with o->sgns;
 * o->walk, o->val, o->eval_every and o->on_point as there) with side information. The
 * model's rows are the pair set's ids in order, then the side file's items that are not
 * among them; its metadata holds train_pairs's keys and "side_info" (the file's columns,
 * the counts of trained, cold and side-less items, and per field the trained items with
 * side information having it, with their mean softmax weight; and the mean a_vj that cold
 * items use). Errors: CBOW mode, a warm start or
 * walks_out (not supported here), and those of train_pairs. */
wr_model *eges_train(const wr_pairs *p, const wr_eges_features *f, const wr_train_opts *o,
                     wr_train_times *t, wr_err *err);

/* side_load + eges_features_build + eges_train, the file's path recorded in the metadata
 * (and leading the messages of the errors of eges_features_build). */
wr_model *eges_train_file(const wr_pairs *p, const char *side_path, const char *columns,
                          const wr_train_opts *o, wr_train_times *t, wr_err *err);

#endif
