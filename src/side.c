/* side.c - the items table (side.h): one reader of items.tsv for training and serving.
 *
 * Values live in one arena of NUL-terminated strings; each column holds, per row, 1 + the
 * offset of the row's value in the arena, 0 for no value (so a table of n rows and c
 * columns costs 4 n c bytes besides the text). A file is read into a table of its own and
 * checked line by line; side_update merges such a table into an existing one after
 * reserving all the room the merge needs, so a failure leaves the existing table as it was.
 * The arena and the columns are sized by the input: their allocations are checked and a
 * failure is an error (WR_ENOMEM), not an abort. Column types are inferred once, when a
 * table is complete; after that nothing is written. */
#include "walkrec/side.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "walkrec/lines.h"
#include "walkrec/text.h"

struct wr_side {
    const wr_dict *ids;  /* the model's ids (borrowed), or NULL */
    wr_dict *own;        /* without ids: the items read, in file order */
    uint32_t nrows, rcap; /* rows, and room for rows in each column */
    size_t ncol;
    char **name;
    uint32_t **off;      /* per column, rcap entries: 1 + offset of the value, 0 = none */
    uint8_t *type;       /* per column: wr_side_type */
    char *arena;
    size_t len, cap;
    uint64_t matched, unmatched, dropped;
};

static const char *const type_names[] = {"string", "number", "list", "boolean"};

const char *side_type_name(wr_side_type t)
{
    return (unsigned)t < 4 ? type_names[t] : "string";
}

void side_free(wr_side *s)
{
    if (!s)
        return;
    for (size_t c = 0; c < s->ncol; c++) {
        free(s->name[c]);
        free(s->off[c]);
    }
    free(s->name);
    free(s->off);
    free(s->type);
    free(s->arena);
    dict_free(s->own);
    free(s);
}

/* ---- storage ---- */

static int no_memory(wr_err *err, const char *path)
{
    return wr_failc(err, WR_ENOMEM, "%s: out of memory for the side information", path);
}

/* Room for `more` bytes in the arena (offsets must stay below 2^32). */
static int arena_reserve(wr_side *s, size_t more, const char *path, wr_err *err)
{
    if (s->len + more >= UINT32_MAX)
        return wr_failc(err, WR_ENOMEM, "%s: side information over 4 GiB", path);
    if (s->len + more <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 1 << 16;
    while (cap < s->len + more)
        cap *= 2;
    char *a = realloc(s->arena, cap);
    if (!a)
        return no_memory(err, path);
    s->arena = a;
    s->cap = cap;
    return 0;
}

/* Appends a value (room reserved); returns 1 + its offset. */
static uint32_t arena_put(wr_side *s, const char *v, size_t len)
{
    memcpy(s->arena + s->len, v, len);
    s->arena[s->len + len] = 0;
    uint32_t at = (uint32_t)s->len + 1;
    s->len += len + 1;
    return at;
}

/* Room for `rows` rows in every column. */
static int rows_reserve(wr_side *s, uint32_t rows, const char *path, wr_err *err)
{
    if (rows <= s->rcap)
        return 0;
    uint32_t cap = s->rcap ? s->rcap : 1024;
    while (cap < rows)
        cap = cap > UINT32_MAX / 2 ? UINT32_MAX : 2 * cap;
    for (size_t c = 0; c < s->ncol; c++) {
        uint32_t *o = realloc(s->off[c], (size_t)cap * sizeof *o);
        if (!o)
            return no_memory(err, path);
        memset(o + s->rcap, 0, (size_t)(cap - s->rcap) * sizeof *o);
        s->off[c] = o;
    }
    s->rcap = cap;
    return 0;
}

/* Adds a column without values. */
static int column_add(wr_side *s, const char *name, const char *path, wr_err *err)
{
    uint32_t *o = calloc(s->rcap ? s->rcap : 1, sizeof *o);
    if (!o)
        return no_memory(err, path);
    s->name = xrealloc(s->name, (s->ncol + 1) * sizeof *s->name);
    s->off = xrealloc(s->off, (s->ncol + 1) * sizeof *s->off);
    s->type = xrealloc(s->type, s->ncol + 1);
    s->name[s->ncol] = xstrdup(name);
    s->off[s->ncol] = o;
    s->type[s->ncol] = WR_SIDE_STRING;
    s->ncol++;
    return 0;
}

static wr_side *side_new(const wr_dict *ids)
{
    wr_side *s = xcalloc(1, sizeof *s);
    s->ids = ids;
    if (ids)
        s->nrows = s->rcap = dict_size(ids);
    else
        s->own = dict_new(1024);
    return s;
}

/* ---- reading one file ---- */

/* Leading and trailing spaces off, in place. */
static char *trim(char *v, size_t *len)
{
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    while (n && v[n - 1] == ' ')
        n--;
    v[n] = 0;
    *len = n;
    return v;
}

static int fields_of(const char *buf, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\t';
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* The header: the columns of s, in order. */
static int read_header(wr_side *s, wr_lines *l, const char *path, wr_err *err)
{
    int rc = lines_next(l, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return wr_fail_at(err, WR_EINVAL, path, 0, 0,
                          "%s: empty file (expected a header: item<TAB>column...)", path);
    if (l->too_long || memchr(l->buf, 0, l->len) || l->len == 0)
        return wr_fail_at(err, WR_EINVAL, path, l->lineno, 0,
                          "%s:%llu: expected a header: item<TAB>column...", path,
                          (unsigned long long)l->lineno);
    int nf = fields_of(l->buf, l->len);
    if (nf < 2 || nf > WR_SIDE_MAX_COLUMNS)
        return wr_fail_at(err, WR_EINVAL, path, l->lineno, 0,
                          "%s:%llu: %d columns; expected a header: item<TAB>column... with 2 "
                          "to %d columns", path, (unsigned long long)l->lineno, nf,
                          WR_SIDE_MAX_COLUMNS);
    char *f[WR_SIDE_MAX_COLUMNS];
    text_split(l->buf, '\t', f, nf);
    for (int c = 1; c < nf; c++) {
        size_t len;
        const char *name = trim(f[c], &len);
        if (!len || !text_utf8_valid(name, len) || side_column(s, name) >= 0)
            return wr_fail_at(err, WR_EINVAL, path, l->lineno, 0,
                              "%s:%llu: column %d of the header is empty, repeated or not "
                              "UTF-8", path, (unsigned long long)l->lineno, c + 1);
        if (column_add(s, name, path, err) < 0)
            return -1;
    }
    return nf;
}

/* The row of an item line, or -1 with err set; *row = UINT32_MAX for an item ids lacks.
 * seen holds every id of the file so far (s->own without ids). */
static int item_row(wr_side *s, wr_dict *seen, const char *id, const wr_lines *l,
                    const char *path, uint32_t *row, wr_err *err)
{
    size_t len = strlen(id);
    if (!len || len > WR_ID_MAX || !text_utf8_valid(id, len))
        return wr_fail_at(err, WR_EINVAL, path, l->lineno, 0,
                          "%s:%llu: item id empty, longer than %d bytes or not UTF-8", path,
                          (unsigned long long)l->lineno, WR_ID_MAX);
    uint32_t before = dict_size(seen);
    if (dict_intern(seen, id, len) != before)
        return wr_fail_at(err, WR_EINVAL, path, l->lineno, 0,
                          "%s:%llu: item '%s' listed twice", path,
                          (unsigned long long)l->lineno, id);
    if (!s->ids) {
        if (rows_reserve(s, before + 1, path, err) < 0)
            return -1;
        *row = s->nrows = before;
        s->nrows++;
        s->matched++;
        return 0;
    }
    int64_t r = dict_find(s->ids, id, len);
    *row = r < 0 ? UINT32_MAX : (uint32_t)r;
    if (r < 0)
        s->unmatched++;
    else
        s->matched++;
    return 0;
}

/* One item line (split into nf fields f): checked, and its values stored. */
static int read_row(wr_side *s, wr_dict *seen, char **f, int nf, const wr_lines *l,
                    const char *path, wr_err *err)
{
    uint32_t row = UINT32_MAX;
    if (item_row(s, seen, f[0], l, path, &row, err) < 0)
        return -1;
    for (int c = 1; c < nf; c++) {
        size_t len;
        const char *v = trim(f[c], &len);
        if (!len)
            continue;
        if (!text_utf8_valid(v, len)) { /* a value, not the row: left out and counted */
            s->dropped++;
            continue;
        }
        if (row == UINT32_MAX)
            continue;
        if (arena_reserve(s, len + 1, path, err) < 0)
            return -1;
        s->off[c - 1][row] = arena_put(s, v, len);
    }
    return 0;
}

static int read_rows(wr_side *s, wr_lines *l, int nhdr, const char *path, wr_err *err)
{
    char *f[WR_SIDE_MAX_COLUMNS];
    wr_dict *seen = s->ids ? dict_new(1024) : s->own;
    int rc;
    while ((rc = lines_next(l, err)) == 1) {
        if (l->too_long) {
            rc = wr_fail_at(err, WR_EINVAL, path, l->lineno, 0,
                            "%s:%llu: line longer than %zu bytes", path,
                            (unsigned long long)l->lineno, l->max_len);
            break;
        }
        if (l->len == 0)
            continue;
        if (memchr(l->buf, 0, l->len)) {
            rc = wr_fail_at(err, WR_EINVAL, path, l->lineno, 0, "%s:%llu: a NUL byte", path,
                            (unsigned long long)l->lineno);
            break;
        }
        int nf = fields_of(l->buf, l->len);
        if (nf > nhdr) {
            rc = wr_fail_at(err, WR_EINVAL, path, l->lineno, 0,
                            "%s:%llu: %d cells, more than the %d columns of the header", path,
                            (unsigned long long)l->lineno, nf, nhdr);
            break;
        }
        text_split(l->buf, '\t', f, nf);
        if ((rc = read_row(s, seen, f, nf, l, path, err)) < 0)
            break;
    }
    if (rc == 0 && l->truncated)
        rc = wr_fail_at(err, WR_ECORRUPT, path, l->lineno, 0,
                        "%s: compressed stream is truncated or damaged", path);
    if (s->ids)
        dict_free(seen);
    return rc < 0 ? -1 : 0;
}

static void infer_types(wr_side *s);

static wr_side *read_file(const char *path, const wr_dict *ids, wr_err *err)
{
    wr_lines l;
    if (lines_open(&l, path, WR_SIDE_MAX_LINE, err) < 0)
        return NULL;
    wr_side *s = side_new(ids);
    int nhdr = read_header(s, &l, path, err);
    int rc = nhdr < 0 ? -1 : read_rows(s, &l, nhdr, path, err);
    lines_close(&l);
    if (rc < 0) {
        side_free(s);
        return NULL;
    }
    return s;
}

wr_side *side_load(const char *path, const wr_dict *ids, wr_err *err)
{
    wr_side *s = read_file(path, ids, err);
    if (s)
        infer_types(s);
    return s;
}

/* ---- a second file ---- */

int side_update(wr_side *s, const char *path, wr_err *err)
{
    wr_side *t = read_file(path, s->ids, err);
    if (!t)
        return -1;
    /* reserve everything first, so that s stays as it was on failure */
    uint32_t rows = s->nrows;
    for (uint32_t r = 0; !s->ids && r < t->nrows; r++)
        rows += dict_find(s->own, dict_str(t->own, r), dict_strlen(t->own, r)) < 0;
    size_t ncol = s->ncol;
    int rc = arena_reserve(s, t->len, path, err);
    if (rc == 0)
        rc = rows_reserve(s, rows, path, err);
    for (size_t c = 0; rc == 0 && c < t->ncol; c++)
        if (side_column(s, t->name[c]) < 0)
            rc = column_add(s, t->name[c], path, err);
    if (rc < 0) {
        while (s->ncol > ncol) { /* the columns just added */
            s->ncol--;
            free(s->name[s->ncol]);
            free(s->off[s->ncol]);
        }
        side_free(t);
        return -1;
    }
    size_t *map = xmalloc((t->ncol + 1) * sizeof *map);
    for (size_t c = 0; c < t->ncol; c++)
        map[c] = (size_t)side_column(s, t->name[c]);
    for (uint32_t r = 0; r < t->nrows; r++) {
        uint32_t to = s->ids ? r : dict_intern(s->own, dict_str(t->own, r), dict_strlen(t->own, r));
        for (size_t c = 0; c < t->ncol; c++) {
            const char *v = side_value(t, r, c);
            if (v)
                s->off[map[c]][to] = arena_put(s, v, strlen(v));
        }
    }
    free(map);
    if (!s->ids)
        s->nrows = dict_size(s->own);
    s->matched += t->matched;
    s->unmatched += t->unmatched;
    s->dropped += t->dropped;
    side_free(t);
    infer_types(s);
    return 0;
}

/* ---- access ---- */

uint32_t side_rows(const wr_side *s) { return s->nrows; }
const wr_dict *side_items(const wr_side *s) { return s->ids ? s->ids : s->own; }
uint64_t side_matched(const wr_side *s) { return s->matched; }
uint64_t side_unmatched(const wr_side *s) { return s->unmatched; }
uint64_t side_dropped(const wr_side *s) { return s->dropped; }
size_t side_columns(const wr_side *s) { return s->ncol; }
const char *side_name(const wr_side *s, size_t col) { return s->name[col]; }

int64_t side_column(const wr_side *s, const char *name)
{
    for (size_t c = 0; c < s->ncol; c++)
        if (!strcmp(s->name[c], name))
            return (int64_t)c;
    return -1;
}

const char *side_value(const wr_side *s, uint32_t row, size_t col)
{
    uint32_t at = s->off[col][row];
    return at ? s->arena + at - 1 : NULL;
}

/* ---- typed values ---- */

/* "$1,250.00", "12.5", "£3", "$5.00 - $10.00" (the low end). */
static int parse_number(const char *s, double *out)
{
    char buf[64];
    size_t n = 0;
    while (*s == ' ' || *s == '$')
        s++;
    if (!strncmp(s, "\xc2\xa3", 2) || !strncmp(s, "\xe2\x82\xac", 3)) /* £, € */
        s += s[0] == '\xc2' ? 2 : 3;
    for (; *s && *s != ' '; s++)
        if (*s != ',') {
            if (n + 1 >= sizeof buf)
                return -1;
            buf[n++] = *s;
        }
    buf[n] = 0;
    while (*s == ' ')
        s++;
    if (*s && *s != '-')
        return -1;
    return text_parse_double(buf, out) < 0 || !isfinite(*out) ? -1 : 0;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"true", "yes"}, *const no[] = {"false", "no"};
    for (int k = 0; k < 2; k++) {
        if (!strcasecmp(v, yes[k]))
            return *out = 1, 0;
        if (!strcasecmp(v, no[k]))
            return *out = 0, 0;
    }
    return -1;
}

/* The list separator of a value: " > " when it has one, else "|", else none. */
static const char *list_sep(const char *v)
{
    return strstr(v, " > ") ? " > " : strchr(v, '|') ? "|" : NULL;
}

static void infer_types(wr_side *s)
{
    for (size_t c = 0; c < s->ncol; c++) {
        uint32_t filled = 0, numbers = 0, bools = 0, lists = 0;
        for (uint32_t r = 0; r < s->nrows; r++) {
            const char *v = side_value(s, r, c);
            double x;
            int b;
            if (!v)
                continue;
            filled++;
            numbers += parse_number(v, &x) == 0;
            bools += parse_bool(v, &b) == 0;
            lists += list_sep(v) != NULL;
        }
        s->type[c] = !filled                ? WR_SIDE_STRING
                     : bools == filled      ? WR_SIDE_BOOL
                     : (uint64_t)numbers * 20 >= (uint64_t)filled * 19 ? WR_SIDE_NUMBER
                     : 2 * lists > filled   ? WR_SIDE_LIST
                                            : WR_SIDE_STRING;
    }
}

wr_side_type side_type(const wr_side *s, size_t col) { return (wr_side_type)s->type[col]; }

int side_number(const wr_side *s, uint32_t row, size_t col, double *out)
{
    const char *v = side_value(s, row, col);
    return v ? parse_number(v, out) : -1;
}

int side_bool(const wr_side *s, uint32_t row, size_t col, int *out)
{
    const char *v = side_value(s, row, col);
    return v ? parse_bool(v, out) : -1;
}

size_t side_list(const wr_side *s, uint32_t row, size_t col, wr_side_span *out, size_t max)
{
    const char *v = side_value(s, row, col);
    if (!v)
        return 0;
    const char *sep = list_sep(v);
    size_t seplen = sep ? strlen(sep) : 0, n = 0;
    for (const char *p = v;; n++) {
        const char *end = sep ? strstr(p, sep) : NULL;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *q = p;
        while (len && *q == ' ')
            q++, len--;
        while (len && q[len - 1] == ' ')
            len--;
        if (n < max)
            out[n] = (wr_side_span){q, len};
        if (!end)
            return n + 1;
        p = end + seplen;
    }
}
