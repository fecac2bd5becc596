/* w2v.c - the word2vec vector formats, as gensim, fastText (.vec) and word2vec.c write them.
 *
 * Text rows are "id v1 ... vDIM" (fastText and word2vec.c add a trailing space, Windows
 * tools a CR); binary rows are "id " + DIM float32 with an optional '\n' (word2vec.c writes
 * it, gensim does not). Which one a file is gets decided by its first row: text when it
 * parses as DIM numbers, binary when the bytes after its id could not be text. */
#include "walkrec/w2v.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/dict.h"
#include "walkrec/text.h"
#include "walkrec/file.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "binary rows are little-endian floats");

#define TOKEN_MAX 64

typedef struct src {
    const char *p;
    size_t len;
    const char *name;
} src;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static size_t line_end(const src *s, size_t pos)
{
    const char *nl = memchr(s->p + pos, '\n', s->len - pos);
    return nl ? (size_t)(nl - s->p) : s->len;
}

/* "COUNT DIM" on the first line; returns the offset of the first row. */
static int parse_header(const src *s, uint64_t *n, uint64_t *dim, size_t *rows, wr_err *err)
{
    size_t pos = 0;
    if (s->len >= 3 && !memcmp(s->p, "\xEF\xBB\xBF", 3))
        pos = 3;
    if (pos == s->len)
        return wr_fail(err, "%s: empty file", s->name);
    size_t end = line_end(s, pos), hl = end - pos;
    char line[TOKEN_MAX], *f[3];
    if (hl >= sizeof line)
        return wr_fail(err, "%s: line 1: expected a header 'COUNT DIM' (headerless files such as "
                       "GloVe's are not word2vec format)", s->name);
    memcpy(line, s->p + pos, hl);
    line[hl] = '\0';
    int nf = 0;
    char *save;
    for (char *t = strtok_r(line, " \t\r", &save); t && nf < 3; t = strtok_r(NULL, " \t\r", &save))
        f[nf++] = t;
    if (nf != 2 || text_parse_u64(f[0], n) < 0 || text_parse_u64(f[1], dim) < 0)
        return wr_fail(err, "%s: line 1: expected a header 'COUNT DIM' (headerless files such as "
                       "GloVe's are not word2vec format)", s->name);
    if (*n >= UINT32_MAX)
        return wr_fail(err, "%s: line 1: %llu rows is too many", s->name, (unsigned long long)*n);
    if (*dim == 0 || *dim > UINT32_MAX)
        return wr_fail(err, "%s: line 1: bad dimension %llu", s->name, (unsigned long long)*dim);
    *rows = end < s->len ? end + 1 : end;
    return 0;
}

static int check_id(const char *id, size_t len, char *what, size_t wl)
{
    if (len == 0)
        snprintf(what, wl, "empty id");
    else if (len > WR_ID_MAX)
        snprintf(what, wl, "id longer than %d bytes", WR_ID_MAX);
    else if (memchr(id, '\0', len))
        snprintf(what, wl, "id contains a NUL byte");
    else if (!text_utf8_valid(id, len))
        snprintf(what, wl, "id is not valid UTF-8");
    else
        return 0;
    return -1;
}

/* One text row s[0..len) (no '\n') into out[dim]; returns the id length or -1. */
static long text_row(const src *s, size_t pos, size_t len, uint32_t dim, float *out,
                     uint64_t line, wr_err *err)
{
    const char *r = s->p + pos;
    while (len > 0 && is_blank(r[len - 1]))
        len--;
    if (len == 0)
        return wr_fail(err, "%s: line %llu: empty line", s->name, (unsigned long long)line);
    const char *sp = memchr(r, ' ', len);
    size_t idlen = sp ? (size_t)(sp - r) : len, i = idlen;
    char what[64];
    if (check_id(r, idlen, what, sizeof what) < 0)
        return wr_fail(err, "%s: line %llu: %s", s->name, (unsigned long long)line, what);
    for (uint32_t j = 0; j < dim; j++) {
        while (i < len && r[i] == ' ')
            i++;
        if (i == len)
            return wr_fail(err, "%s: line %llu: %u values, expected %u", s->name,
                           (unsigned long long)line, j, dim);
        size_t t = i;
        while (i < len && r[i] != ' ')
            i++;
        char tok[TOKEN_MAX], *endp;
        size_t tl = i - t < TOKEN_MAX ? i - t : TOKEN_MAX - 1;
        memcpy(tok, r + t, tl);
        tok[tl] = '\0';
        errno = 0;
        out[j] = strtof(tok, &endp);
        if (i - t >= TOKEN_MAX || endp != tok + tl)
            return wr_fail(err, "%s: line %llu: value %u '%.*s' is not a number", s->name,
                           (unsigned long long)line, j + 1, (int)tl, tok);
        if (!isfinite(out[j]))
            return wr_fail(err, "%s: line %llu: value %u '%s' is not a finite float32", s->name,
                           (unsigned long long)line, j + 1, tok);
    }
    while (i < len && r[i] == ' ')
        i++;
    if (i < len)
        return wr_fail(err, "%s: line %llu: more than %u values", s->name,
                       (unsigned long long)line, dim);
    return (long)idlen;
}

/* 1 when the dim*4 bytes after the first row's id hold a byte that text cannot contain. */
static int looks_binary(const src *s, size_t pos, uint64_t dim)
{
    if (pos < s->len && s->p[pos] == '\n')
        pos++;
    const char *sp = memchr(s->p + pos, ' ', s->len - pos);
    if (!sp)
        return 0;
    size_t at = (size_t)(sp - s->p) + 1, n = s->len - at < dim * 4 ? s->len - at : dim * 4;
    const unsigned char *b = (const unsigned char *)s->p + at;
    for (size_t i = 0; i < n; i++)
        if ((b[i] < 0x20 && b[i] != '\t' && b[i] != '\r' && b[i] != '\n') || b[i] == 0x7f)
            return 1;
    return !text_utf8_valid((const char *)b, n);
}

static int duplicate(const src *s, const char *id, size_t idlen, uint32_t first,
                     const char *where, uint64_t at, wr_err *err)
{
    return wr_fail(err, "%s: %s %llu: duplicate id '%.*s' (first in row %u)", s->name, where,
                   (unsigned long long)at, (int)idlen, id, first + 1);
}

static int load_text(const src *s, size_t pos, wr_model *m, wr_err *err)
{
    uint64_t line = 2;
    for (uint32_t row = 0; row < m->n; row++, line++) {
        if (pos >= s->len)
            return wr_fail(err, "%s: line %llu: end of file after %u rows, the header says %u",
                           s->name, (unsigned long long)line, row, m->n);
        size_t end = line_end(s, pos);
        long idlen = text_row(s, pos, end - pos, m->dim, m->vecs + (size_t)row * m->dim, line, err);
        if (idlen < 0)
            return -1;
        uint32_t got = dict_intern(m->ids, s->p + pos, (size_t)idlen);
        if (got != row)
            return duplicate(s, s->p + pos, (size_t)idlen, got, "line", line, err);
        pos = end + 1;
    }
    for (; pos < s->len; line++) {
        size_t end = line_end(s, pos);
        for (size_t i = pos; i < end; i++)
            if (!is_blank(s->p[i]))
                return wr_fail(err, "%s: line %llu: more rows than the %u the header declares",
                               s->name, (unsigned long long)line, m->n);
        pos = end + 1;
    }
    return 0;
}

static int load_binary(const src *s, size_t pos, wr_model *m, wr_err *err)
{
    size_t vbytes = (size_t)m->dim * sizeof(float);
    for (uint32_t row = 0; row < m->n; row++) {
        if (pos < s->len && s->p[pos] == '\n')
            pos++;
        size_t room = s->len - pos < WR_ID_MAX + 1 ? s->len - pos : WR_ID_MAX + 1;
        const char *id = s->p + pos, *sp = memchr(id, ' ', room);
        if (!sp) {
            if (room <= WR_ID_MAX)
                return wr_fail(err, "%s: offset %zu: end of file in row %u, the header says %u rows",
                               s->name, pos, row + 1, m->n);
            return wr_fail(err, "%s: offset %zu: row %u: id longer than %d bytes", s->name, pos,
                           row + 1, WR_ID_MAX);
        }
        size_t idlen = (size_t)(sp - id);
        char what[64];
        if (memchr(id, '\n', idlen))
            snprintf(what, sizeof what, "id contains a newline (misaligned row?)");
        if (memchr(id, '\n', idlen) || check_id(id, idlen, what, sizeof what) < 0)
            return wr_fail(err, "%s: offset %zu: row %u: %s", s->name, pos, row + 1, what);
        size_t at = pos + idlen + 1;
        if (s->len - at < vbytes)
            return wr_fail(err, "%s: offset %zu: row %u '%.*s': end of file after %zu of its %zu "
                           "vector bytes", s->name, at, row + 1, (int)idlen, id, s->len - at, vbytes);
        float *v = m->vecs + (size_t)row * m->dim;
        memcpy(v, s->p + at, vbytes);
        for (uint32_t j = 0; j < m->dim; j++)
            if (!isfinite(v[j]))
                return wr_fail(err, "%s: offset %zu: row %u '%.*s': value %u is not finite",
                               s->name, at + j * sizeof(float), row + 1, (int)idlen, id, j + 1);
        uint32_t got = dict_intern(m->ids, id, idlen);
        if (got != row)
            return duplicate(s, id, idlen, got, "offset", pos, err);
        pos = at + vbytes;
    }
    for (; pos < s->len; pos++)
        if (!is_blank(s->p[pos]) && s->p[pos] != '\n')
            return wr_fail(err, "%s: offset %zu: data after the %u rows the header declares",
                           s->name, pos, m->n);
    return 0;
}

static char *source_meta(const char *name, int binary)
{
    const char *fmt = binary ? "word2vec-binary" : "word2vec";
    json_t *j = json_pack("{s:{s:s,s:s}}", "source", "file", name, "format", fmt);
    if (!j) /* a file name that is not UTF-8 */
        j = json_pack("{s:{s:s}}", "source", "format", fmt);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *out = xstrdup(text);
    free(text);
    return out;
}

wr_model *w2v_load_mem(const void *data, size_t len, const char *name, wr_err *err)
{
    src s = {data, len, name};
    uint64_t n, dim;
    size_t pos = 0;
    if (parse_header(&s, &n, &dim, &pos, err) < 0)
        return NULL;
    size_t rest = len - pos;
    if (n > 0 && dim > rest) {
        wr_fail(err, "%s: line 1: the header says %llu values per row, but only %zu bytes follow",
                name, (unsigned long long)dim, rest);
        return NULL;
    }

    int binary = 0;
    if (n > 0) {
        float *scratch = xmalloc(dim * sizeof(float));
        size_t end = line_end(&s, pos);
        binary = text_row(&s, pos, end - pos, (uint32_t)dim, scratch, 2, NULL) < 0 &&
                 looks_binary(&s, pos, dim);
        free(scratch);
    }
    /* The smallest possible row ("x 0 0 ..." or "x " + floats) bounds the count before any
     * allocation, so a lying header cannot make us reserve gigabytes. */
    uint64_t min_row = binary ? 2 + 4 * dim : 1 + 2 * dim;
    if (n > (rest + 1) / min_row) {
        wr_fail(err, "%s: line 1: the header says %llu rows of %llu values, but only %zu bytes "
                "follow", name, (unsigned long long)n, (unsigned long long)dim, rest);
        return NULL;
    }

    wr_model *m = model_new((uint32_t)n, (uint32_t)dim);
    int rc = binary ? load_binary(&s, pos, m, err) : load_text(&s, pos, m, err);
    if (rc < 0 && !binary) {
        /* Text by its first row, not as a whole: maybe binary floats whose bytes happen to
         * read as numbers (w2v_save wrote such a file). The text error stands otherwise. */
        wr_err ignored;
        model_free(m);
        m = model_new((uint32_t)n, (uint32_t)dim);
        if ((rc = load_binary(&s, pos, m, &ignored)) == 0)
            binary = 1;
    }
    if (rc < 0) {
        model_free(m);
        return NULL;
    }
    free(m->meta_json);
    m->meta_json = source_meta(name, binary);
    return m;
}

wr_model *w2v_load(const char *path, wr_err *err)
{
    wr_filemap fm;
    if (file_map_open(&fm, path, err) < 0)
        return NULL;
    wr_model *m = w2v_load_mem(fm.data, fm.len, path, err);
    file_map_close(&fm);
    return m;
}

static void write_text_row(FILE *f, const char *id, size_t idlen, const float *v, uint32_t dim)
{
    char num[32];
    fwrite(id, 1, idlen, f);
    for (uint32_t j = 0; j < dim; j++) {
        /* %.9g round-trips every float32 exactly. */
        int k = snprintf(num, sizeof num, " %.9g", v[j]);
        fwrite(num, 1, (size_t)k, f);
    }
    fputc('\n', f);
}

int w2v_save(const wr_model *m, const char *path, int binary, wr_err *err)
{
    if (dict_size(m->ids) != m->n)
        return wr_fail(err, "%s: not written: model has %u rows but %u ids", path, m->n,
                       dict_size(m->ids));
    for (uint32_t i = 0; i < m->n; i++) {
        const char *id = dict_str(m->ids, i);
        if (!id[0] || strpbrk(id, " \n"))
            return wr_fail(err, "%s: not written: id '%s' (row %u) is empty or holds a space or "
                           "newline, which word2vec files cannot represent", path, id, i + 1);
    }
    wr_atomic_file o;
    if (file_atomic_open(&o, path, err) < 0)
        return -1;
    fprintf(o.f, "%u %u\n", m->n, m->dim);
    for (uint32_t i = 0; i < m->n; i++) {
        const float *v = m->vecs + (size_t)i * m->dim;
        if (binary) {
            fwrite(dict_str(m->ids, i), 1, dict_strlen(m->ids, i), o.f);
            fputc(' ', o.f);
            fwrite(v, sizeof(float), m->dim, o.f);
            fputc('\n', o.f);
        } else {
            write_text_row(o.f, dict_str(m->ids, i), dict_strlen(m->ids, i), v, m->dim);
        }
    }
    return file_atomic_commit(&o, err);
}
