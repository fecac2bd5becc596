/* filter.h - filters on item attributes: which neighbours a query accepts.
 *
 * An item's attributes are the columns of the served side information (index.h: the items
 * file, typed by side_type) with the values set at run time over them (attrs.h: a value set
 * there wins; null there means no value). A filter is a JSON object:
 *
 *   {"brand": "Acme"}                  equality (a list attribute: the list holds it)
 *   {"brand": ["Acme", "Bolt"]}        membership: any of them
 *   {"price": {"gte": 5, "lt": 20}}    a range of a number attribute (gt, gte, lt, lte)
 *   {"price": 9.99}, {"price": [5, 10]} a number, or any of some numbers
 *   {"in_stock": true}                 a boolean
 *   {"not": F}, {"any": [F, ...]}, {"all": [F, ...]}
 *
 * and several keys in one object must all hold. An item without a value of the attribute
 * passes no test of it (and so passes its "not"). The GET form is one parameter of clauses
 * separated by commas, all of which must hold, each clause "name:value", "name:a|b|c"
 * (any of them), "name:lo..hi" (a number attribute, both ends included, either may be left
 * out), "name:true", or "!clause" (not); names and values percent-encoded each on its own,
 * so %2C and %7C are a comma and a bar inside them. A name ends at its first colon, written
 * or percent-encoded (%3A, as URLSearchParams writes it): a name with a colon in it can be
 * filtered on in the JSON form only.
 *
 * An attribute that neither the side information nor a run-time value names, a value of
 * the wrong type, and a filter over the limits below are refused with a message naming it. */
#ifndef WALKREC_FILTER_H
#define WALKREC_FILTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "walkrec/attrs.h"
#include "walkrec/index.h"

#define WR_FILTER_MAX_NODES 256  /* tests and operators in one filter */
#define WR_FILTER_MAX_DEPTH 16   /* operators inside operators */
#define WR_FILTER_MAX_VALUES 1024 /* values in all tests of one filter */

typedef struct wr_match wr_match;

/* Compiles filter f for the rows of ix and the values of av (may be NULL; both borrowed:
 * they must outlive the result). NULL with why[why_size] set when f is refused. */
wr_match *filter_compile(const json_t *f, const wr_index *ix, const wr_attrs *av, char *why,
                         size_t why_size);
/* The JSON filter of a GET parameter's raw (still percent-encoded) value; NULL with why. */
json_t *filter_parse_query(const char *raw, const wr_index *ix, const wr_attrs *av, char *why,
                           size_t why_size);
void filter_free(wr_match *m);

/* 1 when index row `row` passes (prov 0), or overlay row `row` (prov 1: run-time values
 * only): wr_filter's accept, with m as its context. Any thread. */
int filter_accept(const void *m, uint32_t row, int prov);

/* The attributes of an item as filters see them, typed, as a new JSON object: index row
 * `row` (or -1) and the item's id. */
json_t *filter_values(const wr_index *ix, const wr_attrs *av, int64_t row, const char *id,
                      size_t len);

#endif
