/* side.h - the items table (items.tsv): what is known about each item besides its pairs.
 *
 * A tab-separated text file, plain or gzip: a header line naming the columns, the first
 * being the item id ("item"), then one line per item, its id and its values in header
 * order. A cell that is empty (after trimming spaces) is no value; a row with fewer cells
 * than the header has no value in the columns it lacks. Empty lines are skipped.
 *
 * Training reads every item of the file (side_load with ids NULL: rows in file order,
 * eges.h builds its features from them); serving reads the items of a model (ids given:
 * row r is the model's item r, and rows of the file naming other items are counted and
 * left out). One set of rules and limits serves both. A file is refused whole, the error
 * naming path:line, for: a missing or malformed header (fewer than two columns, more than
 * WR_SIDE_MAX_COLUMNS, an empty, repeated or non-UTF-8 column name), a line longer than
 * WR_SIDE_MAX_LINE bytes or holding a NUL byte, a row with more cells than the header, an
 * item id that is empty, longer than WR_ID_MAX bytes or not UTF-8, an item listed twice,
 * and a damaged or cut-off gzip stream. A value that is not UTF-8 is left out (the row
 * keeps its other values) and counted (side_dropped).
 *
 * Values are text; the typed readers (side_number, side_bool, side_list) and side_type,
 * each column's type inferred from all its values, read them as numbers, booleans or
 * lists of strings. A table never changes after side_load/side_update return: any number
 * of threads may read it at once. */
#ifndef WALKREC_SIDE_H
#define WALKREC_SIDE_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/dict.h"
#include "walkrec/util.h"

#define WR_SIDE_MAX_LINE ((size_t)1 << 20) /* bytes in a line, its newline left out */
#define WR_SIDE_MAX_COLUMNS 256            /* columns of the header, the item column included */

typedef struct wr_side wr_side;

/* Reads the table at path. ids NULL: every item of the file is a row, in file order
 * (side_items names them). ids given (borrowed: it must outlive the table and not change):
 * row r is the item ids names r, without values when the file does not list it. Returns a
 * new table, freed with side_free(); NULL with err set (its code, message and, for a
 * malformed file, path and line) on an unreadable or malformed file or when out of memory
 * for the values. Any thread; nothing shared. */
wr_side *side_load(const char *path, const wr_dict *ids, wr_err *err);

/* Reads a second file over s, as side_load does: its columns are added to those of s by
 * name (a column both have is one column), and in each column it gives a value to, its
 * value replaces the one s had. New items become rows when s was read without ids.
 * 0, or -1 with err set; s is unchanged on error. Only while no other thread reads s. */
int side_update(wr_side *s, const char *path, wr_err *err);

/* Frees s (NULL is fine). */
void side_free(wr_side *s);

/* The number of rows: the size of ids, or the items read. */
uint32_t side_rows(const wr_side *s);
/* The ids of the rows: the ids given to side_load, or the file's items in file order
 * (borrowed, valid as long as s). */
const wr_dict *side_items(const wr_side *s);
/* Rows of the files read that name an item of ids (every row without ids), and rows that
 * name an item ids does not have (0 without ids). */
uint64_t side_matched(const wr_side *s);
uint64_t side_unmatched(const wr_side *s);
/* Values left out for not being UTF-8, in every file read. */
uint64_t side_dropped(const wr_side *s);

/* The columns after the item column, in the order of the header (a second file's new
 * columns after them). */
size_t side_columns(const wr_side *s);
/* The name of a column (borrowed, valid as long as s). */
const char *side_name(const wr_side *s, size_t col);
/* The column with that name, or -1. */
int64_t side_column(const wr_side *s, const char *name);
/* The value of a row in a column: trimmed, non-empty, UTF-8, NUL-terminated; NULL when the
 * row has none (borrowed, valid as long as s). */
const char *side_value(const wr_side *s, uint32_t row, size_t col);

/* ---- typed values ---- */

typedef enum wr_side_type {
    WR_SIDE_STRING = 0, /* text */
    WR_SIDE_NUMBER,     /* side_number reads every value */
    WR_SIDE_LIST,       /* most values are lists (side_list) of two or more strings */
    WR_SIDE_BOOL,       /* side_bool reads every value */
} wr_side_type;

/* A column's type from all its values: BOOL when every value is a boolean, else NUMBER
 * when at least 95% of the values are numbers (scraped metadata holds stray text in price
 * columns: side_number reads such a value as none), else LIST when more than half the
 * values hold a list separator, else STRING (also for a column without values). */
wr_side_type side_type(const wr_side *s, size_t col);
/* "string", "number", "list", "boolean". */
const char *side_type_name(wr_side_type t);

/* The value as a number: decimal, with an optional leading currency sign ($, £, €) and
 * thousands commas; a range "$5.00 - $10.00" reads as its low end. 0, or -1 when there is
 * no value or it is not a number. */
int side_number(const wr_side *s, uint32_t row, size_t col, double *out);
/* The value as a boolean: true/false, yes/no (any case) -> 1/0 in *out. 0, or -1. */
int side_bool(const wr_side *s, uint32_t row, size_t col, int *out);

/* A piece of a value: len bytes at p (not NUL-terminated; borrowed from s). */
typedef struct wr_side_span {
    const char *p;
    size_t len;
} wr_side_span;

/* The value as a list of strings, split at " > " when it holds one (a path, "A > B > C"),
 * else at "|", else one item; each item trimmed of spaces. Empty items are kept, so that
 * the k-th item is the k-th level of a path. Writes the first max items to out and returns
 * the number of items (0 when there is no value). */
size_t side_list(const wr_side *s, uint32_t row, size_t col, wr_side_span *out, size_t max);

#endif
