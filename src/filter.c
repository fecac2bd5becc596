/* filter.c - filters on item attributes (filter.h): compiled once per query, tested per
 * candidate.
 *
 * A compiled filter is an array of nodes: operators (all, any, not) hold the indexes of
 * their operands, tests hold an attribute and what they accept. A test reads the run-time
 * value of the candidate first (attrs.h), and only without one the side information's,
 * through the typed columns the index read once: a code compare for strings, a double
 * compare for numbers and booleans, so a scan of every item costs a few nanoseconds per
 * item more. */
#include "walkrec/filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/rest.h"

enum { F_ALL, F_ANY, F_NOT, F_EQ, F_RANGE };

typedef struct node {
    int op;
    uint32_t first, count;  /* operators: operands kids[first .. first + count) */
    const char *name;       /* tests: the attribute (owned by the match's arena) */
    int64_t col;            /* its side column, or -1 */
    int type;               /* its type (wr_side_type) */
    const char **str;       /* F_EQ of a string or list attribute: values ... */
    size_t *len;
    uint32_t *code;         /* ... and their codes in a string column (UINT32_MAX: none) */
    double *num;            /* F_EQ of a number or boolean attribute: values */
    size_t nv;
    double lo, hi;          /* F_RANGE */
    int lo_open, hi_open;
} node;

struct wr_match {
    const wr_index *ix;
    const wr_attrs *av;
    node *n;
    size_t nn;
    uint32_t *kids;
    size_t nkids;
    size_t values;
    json_t *keep;           /* the filter, whose strings the nodes point into */
};

typedef struct cc {
    wr_match *m;
    char *why;
    size_t why_size;
} cc;

static int fail(cc *c, const char *fmt, const char *a, const char *b)
{
    snprintf(c->why, c->why_size, fmt, a, b);
    return -1;
}

static int new_node(cc *c, int op)
{
    wr_match *m = c->m;
    if (m->nn == WR_FILTER_MAX_NODES) {
        snprintf(c->why, c->why_size, "filter: more than %d tests and operators",
                 WR_FILTER_MAX_NODES);
        return -1;
    }
    m->n = xrealloc(m->n, (m->nn + 1) * sizeof *m->n);
    memset(&m->n[m->nn], 0, sizeof *m->n);
    m->n[m->nn].op = op;
    m->n[m->nn].col = -1;
    return (int)m->nn++;
}

static int compile(cc *c, const json_t *f, int depth);

/* The type of an attribute, -1 when nothing names it. */
static int type_of(const wr_index *ix, const wr_attrs *av, const char *name, int64_t *col)
{
    *col = index_side_column(ix, name);
    if (*col >= 0)
        return (int)index_side_type(ix, (size_t)*col);
    return attrs_type(av, name);
}

static int count_values(cc *c, size_t n)
{
    if ((c->m->values += n) > WR_FILTER_MAX_VALUES) {
        snprintf(c->why, c->why_size, "filter: more than %d values", WR_FILTER_MAX_VALUES);
        return -1;
    }
    return 0;
}

/* A range {"gte": x, ...} of a number attribute into node i. */
static int range(cc *c, int i, const char *name, const json_t *v)
{
    node *x = &c->m->n[i];
    const char *k;
    json_t *b;
    x->op = F_RANGE;
    x->lo = -INFINITY;
    x->hi = INFINITY;
    if (json_object_size(v) == 0)
        return fail(c, "filter: %s: a range needs gt, gte, lt or lte%s", name, "");
    json_object_foreach((json_t *)v, k, b) {
        if (!json_is_number(b) || !isfinite(json_number_value(b)))
            return fail(c, "filter: %s.%s: expected a finite number", name, k);
        double d = json_number_value(b);
        if (!strcmp(k, "gt") || !strcmp(k, "gte")) {
            x->lo = d;
            x->lo_open = k[2] == 0;
        } else if (!strcmp(k, "lt") || !strcmp(k, "lte")) {
            x->hi = d;
            x->hi_open = k[2] == 0;
        } else {
            return fail(c, "filter: %s: unknown range bound '%s' (gt, gte, lt, lte)", name, k);
        }
    }
    return 0;
}

/* What a test accepts: a value or an array of values of the attribute's type. */
static int values(cc *c, int i, const char *name, const json_t *v)
{
    node *x = &c->m->n[i];
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    int text = x->type == WR_SIDE_STRING || x->type == WR_SIDE_LIST;
    if (n == 0)
        return fail(c, "filter: %s: an empty list of values%s", name, "");
    if (count_values(c, n) < 0)
        return -1;
    if (text) {
        x->str = xmalloc(n * sizeof *x->str);
        x->len = xmalloc(n * sizeof *x->len);
        x->code = xmalloc(n * sizeof *x->code);
    } else {
        x->num = xmalloc(n * sizeof *x->num);
    }
    for (size_t j = 0; j < n; j++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, j) : v;
        if (text && json_is_string(e)) {
            x->str[j] = json_string_value(e);
            x->len[j] = json_string_length(e);
            x->code[j] = x->col >= 0 && x->type == WR_SIDE_STRING
                             ? index_side_find_code(c->m->ix, (size_t)x->col, x->str[j], x->len[j])
                             : UINT32_MAX;
        } else if (x->type == WR_SIDE_NUMBER && json_is_number(e)) {
            x->num[j] = json_number_value(e);
        } else if (x->type == WR_SIDE_BOOL && json_is_boolean(e)) {
            x->num[j] = json_is_true(e);
        } else {
            const char *want = text ? "a string or an array of strings"
                               : x->type == WR_SIDE_NUMBER
                                   ? "a number, an array of numbers or a range {\"gte\": ..}"
                                   : "true or false";
            snprintf(c->why, c->why_size, "filter: %s is a %s attribute: expected %s", name,
                     side_type_name((wr_side_type)x->type), want);
            return -1;
        }
        x->nv++;
    }
    return 0;
}

static int test(cc *c, const char *name, const json_t *v)
{
    int64_t col;
    int type = type_of(c->m->ix, c->m->av, name, &col);
    if (type < 0)
        return fail(c, "filter: unknown attribute '%s' (no column of the items file, setting "
                    "items_file, and no value set with PATCH /v1/items/{id})%s", name, "");
    int i = new_node(c, F_EQ);
    if (i < 0)
        return -1;
    c->m->n[i].name = name;
    c->m->n[i].col = col;
    c->m->n[i].type = type;
    if (json_is_object(v)) {
        if (type != WR_SIDE_NUMBER)
            return fail(c, "filter: %s: a range needs a number attribute, not a %s", name,
                        side_type_name((wr_side_type)type));
        if (range(c, i, name, v) < 0)
            return -1;
    } else if (values(c, i, name, v) < 0) {
        return -1;
    }
    return i;
}

/* An operator over operands ops[0..n) into node i. */
static void operands(cc *c, int i, const int *ops, size_t n)
{
    wr_match *m = c->m;
    m->kids = xrealloc(m->kids, (m->nkids + n + 1) * sizeof *m->kids);
    m->n[i].first = (uint32_t)m->nkids;
    m->n[i].count = (uint32_t)n;
    for (size_t j = 0; j < n; j++)
        m->kids[m->nkids++] = (uint32_t)ops[j];
}

static int compile_list(cc *c, int op, const json_t *a, int depth)
{
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > WR_FILTER_MAX_NODES)
        return fail(c, "filter: %s: expected a non-empty array of filters%s",
                    op == F_ANY ? "any" : "all", "");
    size_t n = json_array_size(a);
    int *ops = xmalloc(n * sizeof *ops);
    for (size_t j = 0; j < n; j++)
        if ((ops[j] = compile(c, json_array_get(a, j), depth + 1)) < 0) {
            free(ops);
            return -1;
        }
    int i = new_node(c, op);
    if (i >= 0)
        operands(c, i, ops, n);
    free(ops);
    return i;
}

static int compile(cc *c, const json_t *f, int depth)
{
    if (depth > WR_FILTER_MAX_DEPTH) {
        snprintf(c->why, c->why_size, "filter: nested deeper than %d", WR_FILTER_MAX_DEPTH);
        return -1;
    }
    if (!json_is_object(f))
        return fail(c, "filter: expected an object of attributes and operators%s%s", "", "");
    size_t n = json_object_size(f), j = 0;
    int *ops = xmalloc((n ? n : 1) * sizeof *ops), rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)f, k, v) {
        if (!strcmp(k, "not")) {
            int o = compile(c, v, depth + 1), i = o < 0 ? -1 : new_node(c, F_NOT);
            if ((rc = i) >= 0)
                operands(c, i, &o, 1);
        } else if (!strcmp(k, "any") || !strcmp(k, "all")) {
            rc = compile_list(c, k[1] == 'n' ? F_ANY : F_ALL, v, depth);
        } else {
            rc = test(c, k, v);
        }
        if (rc < 0)
            break;
        ops[j++] = rc;
    }
    if (rc >= 0 && (rc = new_node(c, F_ALL)) >= 0) /* {} accepts everything */
        operands(c, rc, ops, j);
    free(ops);
    return rc;
}

wr_match *filter_compile(const json_t *f, const wr_index *ix, const wr_attrs *av, char *why,
                         size_t why_size)
{
    wr_match *m = xcalloc(1, sizeof *m);
    m->ix = ix;
    m->av = av;
    m->keep = json_incref((json_t *)f);
    cc c = {m, why, why_size};
    if (compile(&c, f, 0) < 0) {
        filter_free(m);
        return NULL;
    }
    return m;
}

void filter_free(wr_match *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nn; i++) {
        free(m->n[i].str);
        free(m->n[i].len);
        free(m->n[i].code);
        free(m->n[i].num);
    }
    free(m->n);
    free(m->kids);
    json_decref(m->keep);
    free(m);
}

/* ---- testing ---- */

static int in_range(const node *x, double d)
{
    return (x->lo_open ? d > x->lo : d >= x->lo) && (x->hi_open ? d < x->hi : d <= x->hi);
}

static int has_num(const node *x, double d)
{
    if (x->op == F_RANGE)
        return in_range(x, d);
    for (size_t j = 0; j < x->nv; j++)
        if (x->num[j] == d)
            return 1;
    return 0;
}

static int has_str(const node *x, const char *s, size_t len)
{
    for (size_t j = 0; j < x->nv; j++)
        if (x->len[j] == len && !memcmp(x->str[j], s, len))
            return 1;
    return 0;
}

/* A test on a run-time value: by the value's own type (a value of another type passes no
 * test of this one). */
static int test_json(const node *x, const json_t *v)
{
    size_t i;
    json_t *e;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return x->str && has_str(x, json_string_value(v), json_string_length(v));
    case JSON_ARRAY:
        if (x->str)
            json_array_foreach(v, i, e)
                if (json_is_string(e) && has_str(x, json_string_value(e), json_string_length(e)))
                    return 1;
        return 0;
    case JSON_INTEGER:
    case JSON_REAL:
        return x->type == WR_SIDE_NUMBER && has_num(x, json_number_value(v));
    case JSON_TRUE:
    case JSON_FALSE:
        return x->type == WR_SIDE_BOOL && has_num(x, json_is_true(v));
    default:
        return 0;
    }
}

static int test_side(const wr_match *m, const node *x, uint32_t row)
{
    size_t col = (size_t)x->col;
    switch (index_side_type(m->ix, col)) {
    case WR_SIDE_STRING: {
        uint32_t code = index_side_code(m->ix, row, col);
        if (code == UINT32_MAX || !x->code)
            return 0;
        for (size_t j = 0; j < x->nv; j++)
            if (x->code[j] == code)
                return 1;
        return 0;
    }
    case WR_SIDE_LIST: { /* one of its items, or the whole text ("A > B" as written) */
        wr_side_span sp[64];
        size_t n = index_side_list(m->ix, row, col, sp, 64);
        const char *all = index_side_value(m->ix, row, col);
        if (!x->str || (all && has_str(x, all, strlen(all))))
            return !!x->str;
        for (size_t j = 0; j < n && j < 64; j++)
            if (has_str(x, sp[j].p, sp[j].len))
                return 1;
        return 0;
    }
    default: {
        double d;
        return !x->str && index_side_number(m->ix, row, col, &d) == 0 && has_num(x, d);
    }
    }
}

/* Node i for index row `row` (-1: none) with run-time values over (NULL: none). */
static int eval(const wr_match *m, uint32_t i, int64_t row, const json_t *over)
{
    const node *x = &m->n[i];
    switch (x->op) {
    case F_ALL:
    case F_ANY:
        for (uint32_t j = 0; j < x->count; j++)
            if (eval(m, m->kids[x->first + j], row, over) != (x->op == F_ALL))
                return x->op != F_ALL;
        return x->op == F_ALL;
    case F_NOT:
        return !eval(m, m->kids[x->first], row, over);
    default: {
        const json_t *v = over ? json_object_get(over, x->name) : NULL;
        if (v)
            return test_json(x, v);
        return row >= 0 && x->col >= 0 && test_side(m, x, (uint32_t)row);
    }
    }
}

int filter_accept(const void *ctx, uint32_t row, int prov)
{
    const wr_match *m = ctx;
    return prov ? eval(m, (uint32_t)m->nn - 1, -1, attrs_prov(m->av, row))
                : eval(m, (uint32_t)m->nn - 1, row, attrs_row(m->av, row));
}

/* ---- the GET form ---- */

static json_t *number(const char *raw, size_t len)
{
    char *s = rest_decoded(raw, len), *end;
    double d = s && *s ? strtod(s, &end) : NAN;
    json_t *v = s && *s && !*end && isfinite(d) ? json_real(d) : NULL;
    free(s);
    return v;
}

/* The value part of a clause of an attribute of type t. */
static json_t *clause_value(const char *raw, size_t len, int t)
{
    const char *dots = t == WR_SIDE_NUMBER ? strstr(raw, "..") : NULL;
    if (dots && dots < raw + len) { /* lo..hi */
        json_t *r = json_object(), *b;
        size_t a = (size_t)(dots - raw);
        if (a && (!(b = number(raw, a)) || json_object_set_new(r, "gte", b)))
            goto bad;
        if (len - a - 2 && (!(b = number(dots + 2, len - a - 2)) || json_object_set_new(r, "lte", b)))
            goto bad;
        return r;
    bad:
        json_decref(r);
        return NULL;
    }
    json_t *all = json_array();
    for (size_t at = 0; at <= len;) {
        size_t n = strcspn(raw + at, "|");
        n = at + n > len ? len - at : n;
        json_t *v;
        char *s;
        if (t == WR_SIDE_NUMBER) {
            v = number(raw + at, n);
        } else if (t == WR_SIDE_BOOL) {
            v = n == 4 && !memcmp(raw + at, "true", 4) ? json_true()
              : n == 5 && !memcmp(raw + at, "false", 5) ? json_false() : NULL;
        } else {
            v = (s = rest_decoded(raw + at, n)) ? json_string(s) : NULL;
            free(s);
        }
        if (!v) {
            json_decref(all);
            return NULL;
        }
        json_array_append_new(all, v);
        at += n + 1;
    }
    if (json_array_size(all) == 1) {
        json_t *one = json_incref(json_array_get(all, 0));
        json_decref(all);
        return one;
    }
    return all;
}

/* Where the name of a clause raw[0..len) ends: its first colon, written or percent-encoded
 * (URLSearchParams encodes it); len when it has none. */
static size_t name_end(const char *raw, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (raw[i] == ':' || (raw[i] == '%' && i + 2 < len && raw[i + 1] == '3' &&
                              (raw[i + 2] == 'A' || raw[i + 2] == 'a')))
            return i;
    return len;
}

json_t *filter_parse_query(const char *raw, const wr_index *ix, const wr_attrs *av, char *why,
                           size_t why_size)
{
    json_t *all = json_array();
    while (*raw) {
        size_t len = strcspn(raw, ","), colon = name_end(raw, len), vat;
        int neg = *raw == '!';
        char *name = colon < len ? rest_decoded(raw + neg, colon - neg) : NULL;
        vat = colon + (raw[colon] == ':' ? 1 : 3); /* where the value starts */
        int64_t col;
        int t = name ? type_of(ix, av, name, &col) : -1;
        json_t *v = NULL;
        if (!name || !*name)
            snprintf(why, why_size, "filter: expected name:value clauses separated by commas, "
                     "got '%.*s'", (int)(len > 64 ? 64 : len), raw);
        else if (t < 0)
            snprintf(why, why_size, "filter: unknown attribute '%s' (no column of the items "
                     "file, setting items_file, and no value set with PATCH /v1/items/{id})",
                     name);
        else if (!(v = clause_value(raw + vat, len - vat, t)))
            snprintf(why, why_size, "filter: %s is a %s attribute: '%.*s' is not a value of it%s",
                     name, side_type_name((wr_side_type)t), (int)(len - vat > 64 ? 64 : len - vat),
                     raw + vat, t == WR_SIDE_NUMBER ? " (a number, a|b, or lo..hi)" : "");
        if (!v) {
            free(name);
            json_decref(all);
            return NULL;
        }
        json_t *clause = json_pack("{so}", name, v);
        json_array_append_new(all, neg ? json_pack("{so}", "not", clause) : clause);
        free(name);
        raw += len + (raw[len] == ',');
    }
    return json_pack("{so}", "all", all);
}

/* ---- values ---- */

static json_t *side_json(const wr_index *ix, uint32_t row, size_t col)
{
    double d;
    switch (index_side_type(ix, col)) {
    case WR_SIDE_NUMBER:
        return index_side_number(ix, row, col, &d) == 0 ? json_real(d) : NULL;
    case WR_SIDE_BOOL:
        return index_side_number(ix, row, col, &d) == 0 ? json_boolean(d != 0) : NULL;
    case WR_SIDE_LIST: {
        wr_side_span sp[64];
        size_t n = index_side_list(ix, row, col, sp, 64);
        json_t *a = n ? json_array() : NULL;
        for (size_t j = 0; j < n && j < 64; j++)
            json_array_append_new(a, json_stringn(sp[j].p, sp[j].len));
        return a;
    }
    default: {
        const char *v = index_side_value(ix, row, col);
        return v ? json_string(v) : NULL;
    }
    }
}

json_t *filter_values(const wr_index *ix, const wr_attrs *av, int64_t row, const char *id,
                      size_t len)
{
    json_t *o = json_object(), *v;
    const char *k;
    for (size_t c = 0; row >= 0 && c < index_side_columns(ix); c++)
        if ((v = side_json(ix, (uint32_t)row, c)))
            json_object_set_new(o, index_side_name(ix, c), v);
    const json_t *over = attrs_id(av, id, len);
    json_object_foreach((json_t *)over, k, v) {
        if (json_is_null(v))
            json_object_del(o, k);
        else
            json_object_set(o, k, v);
    }
    return o;
}
