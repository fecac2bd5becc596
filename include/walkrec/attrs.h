/* attrs.h - item attributes set at run time (PATCH /v1/items/{id}), kept in the pair log.
 *
 * An attribute change is a JSON object of attribute names to values: a string, a number, a
 * boolean, an array of strings (a list), or null (the item has no value, whatever the items
 * file says). It is written to the pair log as an attribute record first (wal.h), then
 * applied here, then published, like a hide (hidden.h): the values below are the fold of the
 * log's attribute records in log order, each name on its own (a later change of one name
 * leaves the others), so a restart, a rollback, a new generation and a follower reading the
 * trainer's log all arrive at the same values. Ids need not be known to any model. A value
 * set here wins over the items file's value of the same name for that item.
 *
 * Two halves, like hidden.h: the set, the writers' truth behind a mutex; and the view
 * (wr_attrs), an immutable copy made for one snapshot with the changed items' rows in its
 * index and overlay, read by filters (filter.h) and answers without a lock. */
#ifndef WALKREC_ATTRS_H
#define WALKREC_ATTRS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "walkrec/index.h"
#include "walkrec/side.h"

struct wr_overlay;

#define WR_ATTRS_MAX_NAMES 256  /* attribute names in the set */
#define WR_ATTRS_NAME_MAX 64    /* bytes of a name */

/* The type of a value of a change: WR_SIDE_STRING, _NUMBER, _BOOL, _LIST (an array of
 * strings); -1 for null and anything else. */
int attrs_json_type(const json_t *v);

/* Checks a change before it is logged: an object of 1 to 256 names, each 1 to
 * WR_ATTRS_NAME_MAX bytes without control characters and not "item", each value of a type
 * above or null, a list of at most 256 strings, a string of at most 4096 bytes. A name that
 * already has a type (the items file's column type in ix, else the type of the values set
 * before) takes only values of that type (a list also takes one string). 0, or -1 with
 * why (why_size bytes) naming the name. */
int attrs_check(const json_t *change, const wr_index *ix, char *why, size_t why_size);

/* ---- the set: any thread ---- */

/* Applies the attribute record of id with data (its JSON text) written at log offset off.
 * Per name, a record older than the one that set it last changes nothing. Data that is not
 * a JSON object is ignored. Returns 1 when a value changed. */
int attrs_apply(const char *id, size_t len, const char *data, size_t dlen, uint64_t off);
/* Forgets everything (a follower whose trainer's log was replaced reads it again). */
void attrs_reset(void);
/* Items with a value set. */
size_t attrs_count(void);

/* ---- the view: built by snapshot.c, read inside a read section ---- */

typedef struct wr_attrs wr_attrs;

/* A view of the set now for index ix and overlay ov (may be NULL); NULL when nothing is
 * set. Free with attrs_free() (NULL is fine). */
wr_attrs *attrs_view(const wr_index *ix, const struct wr_overlay *ov);
void attrs_free(wr_attrs *a);
/* The values set for index row `row`, overlay row `prov`, or an id: an object, or NULL
 * when none is set (borrowed; a may be NULL). */
const json_t *attrs_row(const wr_attrs *a, uint32_t row);
const json_t *attrs_prov(const wr_attrs *a, uint32_t prov);
const json_t *attrs_id(const wr_attrs *a, const char *id, size_t len);
/* The type of a name set in the view (attrs_json_type of its first value), or -1 when no
 * item has a value of that name. */
int attrs_type(const wr_attrs *a, const char *name);
/* The log offset of the last change the view holds (0 for none): answers' ETags change with
 * it. */
uint64_t attrs_stamp(const wr_attrs *a);

#endif
