/* attrs.c - attributes set at run time and their per-snapshot views (attrs.h).
 *
 * The set maps each id that ever had an attribute record to two objects: its values (name
 * to value, null included) and, per name, the log offset of the record that set it. The
 * values object is shared with the views made from it, so a change makes a new object
 * (copy on write) and never touches one a view holds; the offsets are the writers' only.
 * A view holds the values of the ids with any, and their rows in its index and overlay,
 * sorted for a binary search behind a bit test. */
#include "walkrec/attrs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/bytes.h"
#include "walkrec/dict.h"
#include "walkrec/overlay.h"

#define MAX_TEXT 4096 /* bytes of a string value */
#define MAX_LIST 256  /* strings in a list */

typedef struct entry {
    json_t *vals; /* name -> value; NULL before the first change */
    json_t *offs; /* name -> log offset of the record that set it */
} entry;

static struct {
    pthread_mutex_t mu;
    wr_dict *ids;
    entry *e;
    size_t cap;
    wr_dict *names; /* every name with a typed value, and its type */
    int types[WR_ATTRS_MAX_NAMES];
    uint64_t stamp;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct at {
    uint32_t row, idx; /* a row of the index or overlay, and its entry in the view */
} at;

struct wr_attrs {
    wr_dict *ids;
    json_t **vals;         /* per id of ids */
    at *rows, *prov;       /* sorted by row */
    size_t nrows, nprov;
    uint64_t *rowbits;     /* a bit per index row with values */
    wr_dict *names;
    int *types;
    uint64_t stamp;
};

int attrs_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return WR_SIDE_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return WR_SIDE_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return WR_SIDE_BOOL;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
            if (!json_is_string(e))
                return -1;
        return WR_SIDE_LIST;
    }
    default:
        return -1;
    }
}

/* The type a name has in the set, or -1. With the mutex held. */
static int set_type(const char *name)
{
    int64_t i = S.names ? dict_find(S.names, name, strlen(name)) : -1;
    return i < 0 ? -1 : S.types[i];
}

static int bad_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > WR_ATTRS_NAME_MAX || !strcmp(name, "item"))
        return 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 1;
    return 0;
}

static int too_long(const json_t *v)
{
    if (json_is_string(v))
        return json_string_length(v) > MAX_TEXT;
    size_t i;
    json_t *e;
    if (json_array_size(v) > MAX_LIST)
        return 1;
    json_array_foreach(v, i, e)
        if (json_string_length(e) > MAX_TEXT)
            return 1;
    return 0;
}

int attrs_check(const json_t *change, const wr_index *ix, char *why, size_t why_size)
{
    const char *name;
    json_t *v;
    if (!json_is_object(change) || json_object_size(change) == 0 ||
        json_object_size(change) > WR_ATTRS_MAX_NAMES) {
        snprintf(why, why_size, "body: expected an object of 1 to %d attributes",
                 WR_ATTRS_MAX_NAMES);
        return -1;
    }
    int rc = 0;
    pthread_mutex_lock(&S.mu);
    size_t known = S.names ? dict_size(S.names) : 0;
    json_object_foreach((json_t *)change, name, v) {
        if (bad_name(name)) {
            snprintf(why, why_size, "%.64s: an attribute name is 1 to %d bytes without control "
                     "characters, and not \"item\"", name, WR_ATTRS_NAME_MAX);
            rc = -1;
            break;
        }
        if (json_is_null(v))
            continue;
        int t = attrs_json_type(v);
        if (t < 0 || too_long(v)) {
            snprintf(why, why_size, "%s: expected a string (at most %d bytes), a number, true, "
                     "false, an array of at most %d strings, or null", name, MAX_TEXT, MAX_LIST);
            rc = -1;
            break;
        }
        int64_t col = ix ? index_side_column(ix, name) : -1;
        int want = col >= 0 ? (int)index_side_type(ix, (size_t)col) : set_type(name);
        if (want >= 0 && want != t && !(want == WR_SIDE_LIST && t == WR_SIDE_STRING)) {
            snprintf(why, why_size, "%s: the attribute is a %s; expected a %s or null", name,
                     side_type_name(want), want == WR_SIDE_LIST ? "list of strings"
                                                                : side_type_name(want));
            rc = -1;
            break;
        }
        if (want < 0 && known++ >= WR_ATTRS_MAX_NAMES) {
            snprintf(why, why_size, "%s: more than %d attribute names", name, WR_ATTRS_MAX_NAMES);
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&S.mu);
    return rc;
}

/* ---- the set ---- */

static void note_type(const char *name, const json_t *v)
{
    int t = attrs_json_type(v);
    if (t < 0 || set_type(name) >= 0)
        return;
    if (!S.names)
        S.names = dict_new(16);
    if (dict_size(S.names) < WR_ATTRS_MAX_NAMES)
        S.types[dict_intern(S.names, name, strlen(name))] = t;
}

int attrs_apply(const char *id, size_t len, const char *data, size_t dlen, uint64_t off)
{
    json_t *change = json_loadb(data, dlen, JSON_REJECT_DUPLICATES, NULL), *v;
    const char *name;
    int changed = 0;
    if (!json_is_object(change)) {
        json_decref(change);
        return 0;
    }
    pthread_mutex_lock(&S.mu);
    if (!S.ids)
        S.ids = dict_new(64);
    uint32_t i = dict_intern(S.ids, id, len);
    size_t cap0 = S.cap;
    S.e = bytes_grow(S.e, &S.cap, (size_t)i + 1, sizeof *S.e);
    memset(S.e + cap0, 0, (S.cap - cap0) * sizeof *S.e);
    entry *e = &S.e[i];
    json_t *vals = e->vals ? json_copy(e->vals) : json_object();
    if (!e->offs)
        e->offs = json_object();
    json_object_foreach(change, name, v) {
        json_t *was = json_object_get(e->offs, name);
        if (was && (uint64_t)json_integer_value(was) > off)
            continue;
        json_object_set_new(e->offs, name, json_integer((json_int_t)off));
        json_t *old = json_object_get(vals, name);
        if (old && json_equal(old, v))
            continue;
        json_object_set(vals, name, v);
        note_type(name, v);
        changed = 1;
    }
    if (changed) {
        json_decref(e->vals);
        e->vals = vals;
        if (off > S.stamp)
            S.stamp = off;
    } else {
        json_decref(vals);
    }
    pthread_mutex_unlock(&S.mu);
    json_decref(change);
    return changed;
}

void attrs_reset(void)
{
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.cap; i++) {
        json_decref(S.e[i].vals);
        json_decref(S.e[i].offs);
    }
    dict_free(S.ids);
    dict_free(S.names);
    free(S.e);
    S.ids = S.names = NULL;
    S.e = NULL;
    S.cap = 0;
    S.stamp = 0;
    pthread_mutex_unlock(&S.mu);
}

size_t attrs_count(void)
{
    pthread_mutex_lock(&S.mu);
    size_t n = 0, ids = S.ids ? dict_size(S.ids) : 0;
    for (size_t i = 0; i < ids; i++)
        n += json_object_size(S.e[i].vals) > 0;
    pthread_mutex_unlock(&S.mu);
    return n;
}

/* ---- the view ---- */

static int by_row(const void *a, const void *b)
{
    uint32_t x = ((const at *)a)->row, y = ((const at *)b)->row;
    return x < y ? -1 : x > y;
}

wr_attrs *attrs_view(const wr_index *ix, const wr_overlay *ov)
{
    pthread_mutex_lock(&S.mu);
    uint32_t ids = S.ids ? dict_size(S.ids) : 0, rows = ix ? index_info(ix)->n : 0;
    wr_attrs *a = NULL;
    for (uint32_t i = 0; i < ids; i++) {
        if (!json_object_size(S.e[i].vals))
            continue;
        if (!a) {
            a = xcalloc(1, sizeof *a);
            a->ids = dict_new(16);
            a->vals = xmalloc(ids * sizeof(json_t *));
            a->rows = xmalloc(ids * sizeof *a->rows);
            a->prov = xmalloc(ids * sizeof *a->prov);
            a->rowbits = xcalloc((rows + 63) / 64 + 1, sizeof *a->rowbits);
            a->stamp = S.stamp;
        }
        const char *id = dict_str(S.ids, i);
        size_t len = dict_strlen(S.ids, i);
        uint32_t k = dict_intern(a->ids, id, len);
        a->vals[k] = json_incref(S.e[i].vals);
        int64_t r = ix ? index_find(ix, id, len) : -1, p;
        if (r >= 0) {
            a->rows[a->nrows++] = (at){(uint32_t)r, k};
            a->rowbits[r >> 6] |= (uint64_t)1 << (r & 63);
        } else if (ov && (p = overlay_find(ov, id, len)) >= 0) {
            a->prov[a->nprov++] = (at){(uint32_t)p, k};
        }
    }
    if (a) {
        qsort(a->rows, a->nrows, sizeof *a->rows, by_row);
        qsort(a->prov, a->nprov, sizeof *a->prov, by_row);
        size_t nn = S.names ? dict_size(S.names) : 0;
        a->names = dict_new(16);
        a->types = xmalloc((nn ? nn : 1) * sizeof *a->types);
        for (size_t i = 0; i < nn; i++) {
            dict_intern(a->names, dict_str(S.names, (uint32_t)i), dict_strlen(S.names, (uint32_t)i));
            a->types[i] = S.types[i];
        }
    }
    pthread_mutex_unlock(&S.mu);
    return a;
}

void attrs_free(wr_attrs *a)
{
    if (!a)
        return;
    for (uint32_t i = 0; i < dict_size(a->ids); i++)
        json_decref(a->vals[i]);
    dict_free(a->ids);
    dict_free(a->names);
    free(a->vals);
    free(a->rows);
    free(a->prov);
    free(a->rowbits);
    free(a->types);
    free(a);
}

static const json_t *find(const wr_attrs *a, const at *v, size_t n, uint32_t row)
{
    at key = {row, 0};
    const at *hit = bsearch(&key, v, n, sizeof *v, by_row);
    return hit ? a->vals[hit->idx] : NULL;
}

const json_t *attrs_row(const wr_attrs *a, uint32_t row)
{
    if (!a || !(a->rowbits[row >> 6] >> (row & 63) & 1))
        return NULL;
    return find(a, a->rows, a->nrows, row);
}

const json_t *attrs_prov(const wr_attrs *a, uint32_t prov)
{
    return a && a->nprov ? find(a, a->prov, a->nprov, prov) : NULL;
}

const json_t *attrs_id(const wr_attrs *a, const char *id, size_t len)
{
    int64_t i = a ? dict_find(a->ids, id, len) : -1;
    return i < 0 ? NULL : a->vals[i];
}

int attrs_type(const wr_attrs *a, const char *name)
{
    int64_t i = a ? dict_find(a->names, name, strlen(name)) : -1;
    return i < 0 ? -1 : a->types[i];
}

uint64_t attrs_stamp(const wr_attrs *a) { return a ? a->stamp : 0; }
