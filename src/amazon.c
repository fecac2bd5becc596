/* amazon.c - Amazon product metadata to pairs and side information.
 *
 * One hand-written parser reads McAuley's 2014 files (a Python dict literal per line, as
 * printed by Python 2 or 3) and the 2018 files (a JSON object per line). It builds a small
 * tree of the fields used and only checks the rest (descriptions, images, ...), so most
 * of a line is scanned once and never copied. Relations become (asin, other) links per
 * kind; at the end each kind's links are sorted and deduplicated, which merges repeated
 * records of an asin and repeated ids in a list, and the weighted pairs are summed. */
#include "walkrec/amazon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/bytes.h"
#include "walkrec/text.h"
#include "walkrec/lines.h"
#include "walkrec/file.h"

/* ---- growable buffers ---- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void buf_put(buf *b, const void *s, size_t n)
{
    b->p = bytes_grow(b->p, &b->cap, b->len + n, 1);
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void buf_putc(buf *b, char c) { buf_put(b, &c, 1); }

/* Encodes c as UTF-8. Surrogates come out as their (invalid) 3-byte form on purpose, so
 * the UTF-8 checks on ids reject a lone \uD800 instead of hiding it. */
static void buf_put_utf8(buf *b, uint32_t c)
{
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xc0 | c >> 6);
        u[1] = (char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xe0 | c >> 12);
        u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        u[2] = (char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | c >> 18);
        u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        u[3] = (char)(0x80 | (c & 0x3f));
        n = 4;
    }
    buf_put(b, u, n);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* ---- the parser ---- */

enum { V_NULL, V_BOOL, V_NUM, V_STR, V_LIST, V_DICT };

/* A parsed value. A container's children sit contiguously in ps->nodes (a dict's as key,
 * value, key, value, ...); strings live in ps->str. Offsets rather than pointers because
 * both arrays move while they grow. */
typedef struct node {
    int type;
    size_t pos; /* where the value starts in the line */
    size_t off; /* V_STR: offset in ps->str; V_LIST, V_DICT: first child in ps->nodes */
    size_t n;   /* V_STR: bytes; V_LIST: items; V_DICT: keys + values */
    double num; /* V_NUM, V_BOOL */
} node;

struct wr_amazon_parser {
    int side_info;
    const char *line, *p, *end;
    const char *why; /* syntax error and where */
    size_t why_pos;
    node *nodes; /* finished children of closed containers */
    size_t nn, ncap;
    node *stack; /* values whose container is still open */
    size_t sn, scap;
    buf str;     /* decoded strings, each NUL-terminated */
    buf out;     /* side fields, each NUL-terminated */
    size_t info_off[WR_INFO_FIELDS], info_len[WR_INFO_FIELDS];
    wr_amazon_str *ids[WR_REL_KINDS];
    size_t nids[WR_REL_KINDS], idcap[WR_REL_KINDS];
};

static const struct {
    const char *name;
    wr_rel kind;
} rel_names[] = {
    {"bought_together", WR_REL_BOUGHT_TOGETHER}, {"also_bought", WR_REL_ALSO_BOUGHT},
    {"also_buy", WR_REL_ALSO_BOUGHT},            {"also_viewed", WR_REL_ALSO_VIEWED},
    {"also_view", WR_REL_ALSO_VIEWED},           {"buy_after_viewing", WR_REL_BUY_AFTER_VIEWING},
};

static const char *const side_keys[] = {"brand",    "title",     "price", "categories",
                                        "category", "salesRank", "rank"};

wr_amazon_parser *amazon_parser_new(int side_info)
{
    wr_amazon_parser *ps = xcalloc(1, sizeof *ps);
    ps->side_info = side_info;
    return ps;
}

void amazon_parser_free(wr_amazon_parser *ps)
{
    if (!ps)
        return;
    free(ps->nodes);
    free(ps->stack);
    free(ps->str.p);
    free(ps->out.p);
    for (int k = 0; k < WR_REL_KINDS; k++)
        free(ps->ids[k]);
    free(ps);
}

static int syntax(wr_amazon_parser *ps, const char *at, const char *why)
{
    ps->why = why;
    ps->why_pos = (size_t)(at - ps->line);
    return -1;
}

static void push(wr_amazon_parser *ps, const node *v)
{
    ps->stack = bytes_grow(ps->stack, &ps->scap, ps->sn + 1, sizeof *ps->stack);
    ps->stack[ps->sn++] = *v;
}

static const char *str_of(const wr_amazon_parser *ps, const node *v) { return ps->str.p + v->off; }

static int str_is(const wr_amazon_parser *ps, const node *v, const char *s)
{
    size_t n = strlen(s);
    return v->type == V_STR && v->n == n && !memcmp(str_of(ps, v), s, n);
}

static void skip_ws(wr_amazon_parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\f'))
        ps->p++;
}

static int string_starts(const char *p, const char *end)
{
    if (p < end && (*p == 'u' || *p == 'U'))
        p++;
    return p < end && (*p == '\'' || *p == '"');
}

static int hex(const char *s, const char *end, int n, uint32_t *out)
{
    uint32_t v = 0;
    if (end - s < n)
        return -1;
    for (int i = 0; i < n; i++) {
        char c = s[i];
        int d = is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* \xNN and octal escapes: a code point, or in a Python 2 byte string a raw byte. */
static void put_latin(wr_amazon_parser *ps, uint32_t c, int code_points, int *raw_bytes)
{
    if (c < 0x80 || code_points) {
        buf_put_utf8(&ps->str, c);
    } else {
        buf_putc(&ps->str, (char)c);
        *raw_bytes = 1;
    }
}

/* Decodes the quoted string at ps->p into ps->str. */
static int decode_string(wr_amazon_parser *ps, int code_points, int *raw_bytes)
{
    const char *open = ps->p, *s = ps->p + 1, *end = ps->end;
    char q = *open;
    for (;;) {
        const char *run = s;
        while (s < end && *s != q && *s != '\\')
            s++;
        buf_put(&ps->str, run, (size_t)(s - run));
        if (s >= end || (*s == '\\' && s + 1 >= end))
            return syntax(ps, open, "unterminated string");
        if (*s == q)
            break;
        const char *esc = s;
        uint32_t c;
        s += 2;
        switch (esc[1]) {
        case '\\': case '\'': case '"': case '/':
            buf_putc(&ps->str, esc[1]);
            break;
        case 'n': buf_putc(&ps->str, '\n'); break;
        case 't': buf_putc(&ps->str, '\t'); break;
        case 'r': buf_putc(&ps->str, '\r'); break;
        case 'b': buf_putc(&ps->str, '\b'); break;
        case 'f': buf_putc(&ps->str, '\f'); break;
        case 'v': buf_putc(&ps->str, '\v'); break;
        case 'a': buf_putc(&ps->str, '\a'); break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
            c = (uint32_t)(esc[1] - '0');
            for (int i = 0; i < 2 && s < end && *s >= '0' && *s <= '7'; i++)
                c = c * 8 + (uint32_t)(*s++ - '0');
            put_latin(ps, c, code_points, raw_bytes);
            break;
        case 'x':
            if (hex(s, end, 2, &c) < 0)
                return syntax(ps, esc, "bad \\x escape");
            s += 2;
            put_latin(ps, c, code_points, raw_bytes);
            break;
        case 'u':
            if (hex(s, end, 4, &c) < 0)
                return syntax(ps, esc, "bad \\u escape");
            s += 4;
            /* JSON writes characters beyond U+FFFF as a surrogate pair */
            if (c >= 0xd800 && c < 0xdc00 && end - s >= 6 && s[0] == '\\' && s[1] == 'u') {
                uint32_t lo;
                if (hex(s + 2, end, 4, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                    s += 6;
                }
            }
            buf_put_utf8(&ps->str, c);
            break;
        case 'U':
            if (hex(s, end, 8, &c) < 0 || c > 0x10ffff)
                return syntax(ps, esc, "bad \\U escape");
            s += 8;
            buf_put_utf8(&ps->str, c);
            break;
        default:
            return syntax(ps, esc, "unknown escape");
        }
    }
    ps->p = s + 1;
    return 0;
}

static int parse_string(wr_amazon_parser *ps, node *v)
{
    int code_points = *ps->p == 'u' || *ps->p == 'U', raw_bytes = 0;
    if (code_points)
        ps->p++;
    const char *quote = ps->p;
    size_t mark = ps->str.len;
    if (decode_string(ps, code_points, &raw_bytes) < 0)
        return -1;
    /* Python 2 printed a byte string's non-ASCII bytes as \xNN (UTF-8 once joined);
     * Python 3 prints \xNN for the code points U+0080..U+00FF. Bytes when they make UTF-8,
     * else code points: Python 3 never escapes a valid UTF-8 lead byte, so this is exact. */
    if (raw_bytes && !text_utf8_valid(ps->str.p + mark, ps->str.len - mark)) {
        ps->str.len = mark;
        ps->p = quote;
        decode_string(ps, 1, &raw_bytes); /* cannot fail: the same text just decoded */
    }
    buf_putc(&ps->str, 0);
    v->type = V_STR;
    v->off = mark;
    v->n = ps->str.len - mark - 1;
    return 0;
}

static double to_double(const char *s, size_t n)
{
    char small[64];
    char *t = n < sizeof small ? small : xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = 0;
    double v = strtod(t, NULL);
    if (t != small)
        free(t);
    return v;
}

/* Python and JSON numbers: [+-]digits[.digits][e[+-]digits], also ".5", "5." and the
 * Python 2 long suffix "5L". No NaN, Infinity, hex or underscores. */
static int parse_number(wr_amazon_parser *ps, node *v, int keep)
{
    const char *start = ps->p, *s = ps->p, *end = ps->end;
    size_t digits = 0;
    int integer = 1;
    if (*s == '-' || *s == '+')
        s++;
    for (; s < end && is_digit(*s); s++)
        digits++;
    if (s < end && *s == '.') {
        integer = 0;
        for (s++; s < end && is_digit(*s); s++)
            digits++;
    }
    if (!digits)
        return syntax(ps, start, "bad number");
    if (s < end && (*s == 'e' || *s == 'E')) {
        integer = 0;
        s++;
        if (s < end && (*s == '-' || *s == '+'))
            s++;
        if (s >= end || !is_digit(*s))
            return syntax(ps, start, "bad number");
        while (s < end && is_digit(*s))
            s++;
    }
    const char *stop = s;
    if (integer && s < end && (*s == 'L' || *s == 'l'))
        s++;
    if (s < end && (is_word(*s) || *s == '.'))
        return syntax(ps, start, "bad number");
    ps->p = s;
    v->type = V_NUM;
    v->num = keep ? to_double(start, (size_t)(stop - start)) : 0;
    return 0;
}

static int parse_word(wr_amazon_parser *ps, node *v)
{
    static const struct {
        const char *w;
        int type, val;
    } words[] = {{"True", V_BOOL, 1},  {"true", V_BOOL, 1}, {"False", V_BOOL, 0},
                 {"false", V_BOOL, 0}, {"None", V_NULL, 0}, {"null", V_NULL, 0}};
    const char *s = ps->p;
    while (s < ps->end && is_word(*s))
        s++;
    size_t n = (size_t)(s - ps->p);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].w) == n && !memcmp(words[i].w, ps->p, n)) {
            v->type = words[i].type;
            v->num = words[i].val;
            ps->p = s;
            return 0;
        }
    return syntax(ps, ps->p, "unknown word (only True, False, None, true, false, null)");
}

/* Of the record itself only the fields used are kept; the rest is only checked. */
static int wanted(const wr_amazon_parser *ps, const node *key)
{
    if (str_is(ps, key, "asin") || str_is(ps, key, "related"))
        return 1;
    for (size_t i = 0; i < sizeof rel_names / sizeof rel_names[0]; i++)
        if (str_is(ps, key, rel_names[i].name))
            return 1;
    for (size_t i = 0; ps->side_info && i < sizeof side_keys / sizeof side_keys[0]; i++)
        if (str_is(ps, key, side_keys[i]))
            return 1;
    return 0;
}

static int parse_value(wr_amazon_parser *ps, int keep, int depth);

static int parse_entry(wr_amazon_parser *ps, int keep, int depth)
{
    node k = {.pos = (size_t)(ps->p - ps->line)};
    size_t mark = ps->str.len;
    if (!string_starts(ps->p, ps->end))
        return syntax(ps, ps->p, "dict key is not a string");
    if (parse_string(ps, &k) < 0)
        return -1;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':')
        return syntax(ps, ps->p, "expected ':'");
    ps->p++;
    int keep_value = keep && (depth > 0 || wanted(ps, &k));
    if (keep_value)
        push(ps, &k);
    else
        ps->str.len = mark;
    return parse_value(ps, keep_value, depth + 1);
}

static int parse_container(wr_amazon_parser *ps, int keep, int depth)
{
    const char *open = ps->p;
    int dict = *open == '{';
    char close = dict ? '}' : ']';
    size_t base = ps->sn;
    if (depth >= WR_AMAZON_MAX_DEPTH)
        return syntax(ps, open, "nested too deeply");
    ps->p++;
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end)
            return syntax(ps, open, dict ? "unterminated dict" : "unterminated list");
        if (*ps->p == close) {
            ps->p++;
            break;
        }
        if ((dict ? parse_entry(ps, keep, depth) : parse_value(ps, keep, depth + 1)) < 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',')
            ps->p++; /* a trailing comma is fine in Python */
        else if (ps->p < ps->end && *ps->p != close)
            return syntax(ps, ps->p, dict ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (!keep)
        return 0;
    node v = {.type = dict ? V_DICT : V_LIST, .pos = (size_t)(open - ps->line), .off = ps->nn,
              .n = ps->sn - base};
    if (v.n) {
        ps->nodes = bytes_grow(ps->nodes, &ps->ncap, ps->nn + v.n, sizeof *ps->nodes);
        memcpy(ps->nodes + ps->nn, ps->stack + base, v.n * sizeof *ps->nodes);
        ps->nn += v.n;
    }
    ps->sn = base;
    push(ps, &v);
    return 0;
}

/* Parses one value; when keep, pushes it onto ps->stack. */
static int parse_value(wr_amazon_parser *ps, int keep, int depth)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return syntax(ps, ps->p, "unexpected end of line");
    char c = *ps->p;
    node v = {.pos = (size_t)(ps->p - ps->line)};
    if (c == '{' || c == '[')
        return parse_container(ps, keep, depth);
    if (string_starts(ps->p, ps->end)) {
        size_t mark = ps->str.len;
        if (parse_string(ps, &v) < 0)
            return -1;
        if (!keep)
            ps->str.len = mark;
    } else if (c == '-' || c == '+' || c == '.' || is_digit(c)) {
        if (parse_number(ps, &v, keep) < 0)
            return -1;
    } else if (is_word(c)) {
        if (parse_word(ps, &v) < 0)
            return -1;
    } else {
        return syntax(ps, ps->p, "unexpected character");
    }
    if (keep)
        push(ps, &v);
    return 0;
}

/* ---- from the tree to a record ---- */

static const char *id_problem(const char *s, size_t n)
{
    if (n == 0)
        return "is empty";
    if (n > WR_ID_MAX)
        return "is longer than 512 bytes";
    if (!text_utf8_valid(s, n))
        return "is not valid UTF-8";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "contains a control character";
    return NULL;
}

static int add_ids(wr_amazon_parser *ps, wr_rel kind, const node *key, const node *v,
                   wr_err *err)
{
    if (v->type == V_NULL)
        return 0;
    if (v->type != V_LIST)
        return wr_fail(err, "column %zu: %s is not a list", v->pos + 1, str_of(ps, key));
    ps->ids[kind] = bytes_grow(ps->ids[kind], &ps->idcap[kind], ps->nids[kind] + v->n,
                         sizeof *ps->ids[kind]);
    for (size_t i = 0; i < v->n; i++) {
        const node *x = &ps->nodes[v->off + i];
        const char *why = x->type == V_STR ? id_problem(str_of(ps, x), x->n) : "is not a string";
        if (why)
            return wr_fail(err, "column %zu: an id in %s %s", x->pos + 1, str_of(ps, key), why);
        ps->ids[kind][ps->nids[kind]++] = (wr_amazon_str){str_of(ps, x), x->n};
    }
    return 0;
}

static int rel_kind(const wr_amazon_parser *ps, const node *key)
{
    for (size_t i = 0; i < sizeof rel_names / sizeof rel_names[0]; i++)
        if (str_is(ps, key, rel_names[i].name))
            return (int)rel_names[i].kind;
    return -1;
}

/* 2014: related = {'also_bought': [...], ...}; unknown kinds are ignored. */
static int add_related(wr_amazon_parser *ps, const node *v, wr_err *err)
{
    if (v->type == V_NULL)
        return 0;
    if (v->type != V_DICT)
        return wr_fail(err, "column %zu: related is not a dict", v->pos + 1);
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        const node *k = &ps->nodes[v->off + i];
        int kind = rel_kind(ps, k);
        if (kind >= 0 && add_ids(ps, (wr_rel)kind, k, k + 1, err) < 0)
            return -1;
    }
    return 0;
}

/* Length of the valid UTF-8 character at u, 0 if invalid. */
static size_t utf8_char(const unsigned char *u, const unsigned char *e)
{
    size_t n = *u < 0x80 ? 1 : *u < 0xc2 ? 0 : *u < 0xe0 ? 2 : *u < 0xf0 ? 3 : *u < 0xf5 ? 4 : 0;
    return n && (size_t)(e - u) >= n && text_utf8_valid((const char *)u, n) ? n : 0;
}

/* Appends s as one tidy line: white space and control characters collapse into single
 * spaces between words (none before the field's first word at `start` or at the end),
 * invalid bytes become U+FFFD. */
static void put_clean(buf *b, size_t start, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s, *e = u + n;
    int space = 0;
    while (u < e) {
        if (*u <= 0x20 || *u == 0x7f) {
            space = 1;
            u++;
            continue;
        }
        if (space && b->len > start)
            buf_putc(b, ' ');
        space = 0;
        size_t len = utf8_char(u, e);
        buf_put(b, len ? (const void *)u : "\xef\xbf\xbd", len ? len : 3);
        u += len ? len : 1;
    }
}

static void field_set(wr_amazon_parser *ps, wr_info f, size_t mark)
{
    buf_putc(&ps->out, 0);
    ps->info_off[f] = mark;
    ps->info_len[f] = ps->out.len - mark - 1;
}

static void set_text(wr_amazon_parser *ps, wr_info f, const node *v)
{
    size_t mark = ps->out.len;
    if (v->type == V_STR)
        put_clean(&ps->out, mark, str_of(ps, v), v->n);
    field_set(ps, f, mark);
}

/* The string items of a list joined with " > ", empty ones left out. */
static void set_path(wr_amazon_parser *ps, const node *list)
{
    size_t mark = ps->out.len;
    for (size_t i = 0; i < list->n; i++) {
        const node *x = &ps->nodes[list->off + i];
        if (x->type != V_STR)
            continue;
        size_t before = ps->out.len;
        if (before > mark)
            buf_put(&ps->out, " > ", 3);
        size_t part = ps->out.len;
        put_clean(&ps->out, part, str_of(ps, x), x->n);
        if (ps->out.len == part)
            ps->out.len = before;
    }
    field_set(ps, WR_INFO_CATEGORY, mark);
}

static void set_number(wr_amazon_parser *ps, wr_info f, double x, int decimals)
{
    char t[32];
    size_t mark = ps->out.len;
    /* beyond 1e12 it is no price or rank but a scraping accident */
    if (isfinite(x) && x >= 0 && x < 1e12)
        buf_put(&ps->out, t, (size_t)snprintf(t, sizeof t, "%.*f", decimals, x));
    field_set(ps, f, mark);
}

/* "$1,234.50" (white space around allowed) -> 1234.5; -1 for anything else. */
static int parse_money(const char *s, size_t n, double *out)
{
    char t[32];
    size_t k = 0, digits = 0;
    int dot = 0;
    while (n && (unsigned char)*s <= ' ')
        s++, n--;
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    if (n && *s == '$')
        s++, n--;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',' && !dot)
            continue;
        if (s[i] == '.' && !dot)
            dot = 1;
        else if (is_digit(s[i]))
            digits++;
        else
            return -1;
        if (k + 1 >= sizeof t)
            return -1;
        t[k++] = s[i];
    }
    if (!digits)
        return -1;
    t[k] = 0;
    *out = strtod(t, NULL);
    return 0;
}

/* 2018 rank text: "2,255 in Gift Cards (" or ">#1,112,093 in Books (See Top 100 ...". */
static int parse_rank(const char *s, size_t n, double *out)
{
    size_t i = 0, digits = 0;
    double v = 0;
    while (i < n && (s[i] == ' ' || s[i] == '>' || s[i] == '#'))
        i++;
    for (; i < n && (is_digit(s[i]) || (s[i] == ',' && digits)); i++)
        if (s[i] != ',') {
            v = v * 10 + (s[i] - '0');
            digits++;
        }
    if (!digits || (i < n && s[i] != ' '))
        return -1;
    *out = v;
    return 0;
}

static void set_rank(wr_amazon_parser *ps, const node *v)
{
    double r;
    if (v->type == V_STR && parse_rank(str_of(ps, v), v->n, &r) == 0) {
        set_number(ps, WR_INFO_SALESRANK, r, 0);
        return;
    }
    for (size_t i = 0; v->type == V_LIST && i < v->n; i++) {
        const node *x = &ps->nodes[v->off + i];
        if (x->type == V_STR && parse_rank(str_of(ps, x), x->n, &r) == 0) {
            set_number(ps, WR_INFO_SALESRANK, r, 0);
            return;
        }
    }
}

static void side_field(wr_amazon_parser *ps, const node *k, const node *v)
{
    double x;
    if (str_is(ps, k, "brand")) {
        set_text(ps, WR_INFO_BRAND, v);
    } else if (str_is(ps, k, "title")) {
        set_text(ps, WR_INFO_TITLE, v);
    } else if (str_is(ps, k, "price")) {
        if (v->type == V_NUM)
            set_number(ps, WR_INFO_PRICE, v->num, 2);
        else if (v->type == V_STR && parse_money(str_of(ps, v), v->n, &x) == 0)
            set_number(ps, WR_INFO_PRICE, x, 2);
    } else if (str_is(ps, k, "categories")) { /* 2014: a list of paths, the first one */
        if (v->type == V_LIST && v->n && ps->nodes[v->off].type == V_LIST)
            set_path(ps, &ps->nodes[v->off]);
    } else if (str_is(ps, k, "category")) {
        if (v->type == V_LIST)
            set_path(ps, v);
    } else if (str_is(ps, k, "salesRank")) { /* 2014: {"Category": rank} */
        if (v->type == V_DICT && v->n && ps->nodes[v->off + 1].type == V_NUM)
            set_number(ps, WR_INFO_SALESRANK, ps->nodes[v->off + 1].num, 0);
    } else if (str_is(ps, k, "rank")) {
        set_rank(ps, v);
    }
}

static int extract(wr_amazon_parser *ps, const node *root, wr_amazon_record *rec, wr_err *err)
{
    const node *asin = NULL;
    for (size_t i = 0; i + 1 < root->n; i += 2) {
        const node *k = &ps->nodes[root->off + i], *v = k + 1;
        int kind = rel_kind(ps, k);
        if (kind >= 0) {
            if (add_ids(ps, (wr_rel)kind, k, v, err) < 0)
                return -1;
        } else if (str_is(ps, k, "asin")) {
            asin = v;
        } else if (str_is(ps, k, "related")) {
            if (add_related(ps, v, err) < 0)
                return -1;
        } else if (ps->side_info) {
            side_field(ps, k, v);
        }
    }
    if (!asin)
        return wr_fail(err, "column %zu: no asin", root->pos + 1);
    const char *why = asin->type == V_STR ? id_problem(str_of(ps, asin), asin->n) : "is not a string";
    if (why)
        return wr_fail(err, "column %zu: asin %s", asin->pos + 1, why);
    rec->asin = (wr_amazon_str){str_of(ps, asin), asin->n};
    for (int k = 0; k < WR_REL_KINDS; k++) {
        rec->rel[k] = ps->ids[k];
        rec->nrel[k] = ps->nids[k];
    }
    for (int f = 0; f < WR_INFO_FIELDS; f++)
        rec->info[f] = ps->info_len[f] ? (wr_amazon_str){ps->out.p + ps->info_off[f], ps->info_len[f]}
                                       : (wr_amazon_str){"", 0};
    return 0;
}

int amazon_parse_line(wr_amazon_parser *ps, const char *line, size_t len,
                      wr_amazon_record *rec, wr_err *err)
{
    ps->line = ps->p = line;
    ps->end = line + len;
    ps->nn = ps->sn = ps->str.len = ps->out.len = 0;
    memset(ps->nids, 0, sizeof ps->nids);
    memset(ps->info_len, 0, sizeof ps->info_len);
    skip_ws(ps);
    /* checked first so that no other value is ever built whole */
    if (ps->p >= ps->end || *ps->p != '{')
        return wr_fail(err, "column %zu: the record is not a dict", (size_t)(ps->p - line) + 1);
    if (parse_value(ps, 1, 0) < 0)
        return wr_fail(err, "column %zu: %s", ps->why_pos + 1, ps->why);
    skip_ws(ps);
    if (ps->p < ps->end)
        return wr_fail(err, "column %zu: text after the record", (size_t)(ps->p - line) + 1);
    return extract(ps, &ps->stack[0], rec, err);
}
