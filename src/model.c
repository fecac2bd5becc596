/* model.c - the binary model file (layout in model.h): build, save, load and verify it.
 *
 * Loading maps the file and checks it in the order that gives the most useful message:
 * magic, version, header checksum, size, body checksum, then the structure (a file with
 * valid checksums can still be hostile, so every offset and length is checked before use). */
#include "walkrec/file.h"
#include "walkrec/model.h"
#include "walkrec/text.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* Vectors are stored as the host's float32 bytes; the format is little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "model files are little-endian");

#define HDR_SIZE 64
#define SEC_ENTRY 24
#define MAX_SECTIONS 64
#define ALIGN 64
#define NSEC (WR_SEC_CTX + 1) /* sections known to this build, indexed by type */

static const char model_magic[8] = "WALKREC";

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t align_up(uint64_t x) { return (x + ALIGN - 1) & ~(uint64_t)(ALIGN - 1); }

static uint32_t crc(const void *p, size_t len)
{
    return (uint32_t)crc32_z(crc32_z(0, NULL, 0), p, len);
}

wr_model *model_new(uint32_t n, uint32_t dim)
{
    wr_model *m = xcalloc(1, sizeof *m);
    size_t bytes = (size_t)n * dim * sizeof(float);
    m->n = n;
    m->dim = dim;
    m->created = (int64_t)time(NULL);
    m->ids = dict_new(n);
    m->vecs = xmalloc_aligned(bytes ? bytes : ALIGN);
    memset(m->vecs, 0, bytes);
    m->meta_json = xstrdup("{}");
    return m;
}

void model_free(wr_model *m)
{
    if (!m)
        return;
    dict_free(m->ids);
    if (m->map) { /* the arrays point into the mapping */
        file_map_close(m->map);
        free(m->map);
    } else {
        free(m->vecs);
        free(m->bias);
        free(m->ctx);
        free(m->unit);
        free(m->list_item);
        free(m->list_score);
    }
    free(m->meta_json);
    free(m->lists_json);
    free(m);
}

int64_t model_find(const wr_model *m, const char *id)
{
    return dict_find(m->ids, id, strlen(id));
}

float *model_normalized(const wr_model *m)
{
    size_t dim = m->dim, bytes = (size_t)m->n * dim * sizeof(float);
    float *out = xmalloc_aligned(bytes ? bytes : ALIGN);
    for (size_t i = 0; i < m->n; i++) {
        const float *v = m->vecs + i * dim;
        float *o = out + i * dim;
        double ss = 0;
        for (size_t j = 0; j < dim; j++)
            ss += (double)v[j] * v[j];
        double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
        for (size_t j = 0; j < dim; j++)
            o[j] = (float)(v[j] * inv);
    }
    return out;
}

/* ---- checks shared by the writer and the reader ---- */

static int id_ok(const char *s, size_t len)
{
    return len >= 1 && len <= WR_ID_MAX && !memchr(s, '\0', len) && text_utf8_valid(s, len);
}

/* Index of the first non-finite value, or n. */
static size_t first_nonfinite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return i;
    return n;
}

/* 0 when text[0..len) is a JSON object; otherwise fills why (jansson's message). */
static int meta_check(const char *text, size_t len, char *why, size_t whylen, int *at)
{
    json_error_t je;
    if (memchr(text, '\0', len)) {
        snprintf(why, whylen, "contains a NUL byte");
        *at = (int)((const char *)memchr(text, '\0', len) - text);
        return -1;
    }
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j) {
        snprintf(why, whylen, "not valid JSON: %s", je.text);
        *at = je.position;
        return -1;
    }
    int obj = json_is_object(j);
    json_decref(j);
    if (!obj) {
        snprintf(why, whylen, "not a JSON object");
        *at = 0;
        return -1;
    }
    return 0;
}

/* ---- writing ---- */

/* Everything after the header goes through put(), which keeps the body checksum. */
typedef struct writer {
    FILE *f;
    uLong crc;
    uint64_t pos;
} writer;

static void put(writer *w, const void *p, size_t len)
{
    fwrite(p, 1, len, w->f);
    w->crc = crc32_z(w->crc, p, len);
    w->pos += len;
}

static void pad_to(writer *w, uint64_t off)
{
    static const uint8_t zeros[ALIGN];
    put(w, zeros, (size_t)(off - w->pos));
}

static int save_check(const wr_model *m, wr_err *err)
{
    if (m->dim == 0)
        return wr_fail(err, "model has dimension 0");
    if (m->n == UINT32_MAX)
        return wr_fail(err, "model has too many items (%u)", m->n);
    if (dict_size(m->ids) != m->n)
        return wr_fail(err, "model has %u rows but %u ids", m->n, dict_size(m->ids));
    for (uint32_t i = 0; i < m->n; i++)
        if (!id_ok(dict_str(m->ids, i), dict_strlen(m->ids, i)))
            return wr_fail(err, "id of row %u is empty, longer than %d bytes or not UTF-8", i,
                           WR_ID_MAX);
    size_t nv = (size_t)m->n * m->dim, bad = first_nonfinite(m->vecs, nv);
    if (bad < nv)
        return wr_fail(err, "row %zu (%s) has a non-finite value", bad / m->dim,
                       dict_str(m->ids, (uint32_t)(bad / m->dim)));
    if (m->bias && (bad = first_nonfinite(m->bias, m->n)) < m->n)
        return wr_fail(err, "bias of row %zu (%s) is not finite", bad,
                       dict_str(m->ids, (uint32_t)bad));
    if (m->ctx && (bad = first_nonfinite(m->ctx, nv)) < nv)
        return wr_fail(err, "context vector of row %zu (%s) has a non-finite value", bad / m->dim,
                       dict_str(m->ids, (uint32_t)(bad / m->dim)));
    char why[256];
    int at;
    if (meta_check(m->meta_json, strlen(m->meta_json), why, sizeof why, &at) < 0)
        return wr_fail(err, "model metadata: %s (at byte %d)", why, at);
    if (m->unit && (bad = first_nonfinite(m->unit, nv)) < nv)
        return wr_fail(err, "unit vector of row %zu is not finite", bad / m->dim);
    return 0;
}

int model_save(const wr_model *m, const char *path, wr_err *err)
{
    wr_err why;
    if (save_check(m, &why) < 0)
        return wr_fail(err, "%s: not saved: %s", path, why.msg);

    uint64_t ids_len = 0;
    for (uint32_t i = 0; i < m->n; i++)
        ids_len += dict_strlen(m->ids, i) + 1;
    size_t nv = (size_t)m->n * m->dim, nl = (size_t)m->n * m->list_k;
    int lists = m->unit && m->list_k && m->list_item && m->list_score && m->lists_json;
    /* in file order; the ids are written from the dict */
    typedef struct { uint32_t type; const void *data; uint64_t off, len; } out_section;
    out_section sec[9] = {
        {WR_SEC_META, m->meta_json, 0, strlen(m->meta_json)},
        {WR_SEC_IDS, NULL, 0, ids_len},
        {WR_SEC_VECS, m->vecs, 0, nv * sizeof(float)},
    };
    uint32_t nsec = 3;
    if (m->bias)
        sec[nsec++] = (out_section){WR_SEC_BIAS, m->bias, 0, (uint64_t)m->n * sizeof(float)};
    if (m->ctx)
        sec[nsec++] = (out_section){WR_SEC_CTX, m->ctx, 0, nv * sizeof(float)};
    if (lists) {
        sec[nsec++] = (out_section){WR_SEC_UNIT, m->unit, 0, nv * sizeof(float)};
        sec[nsec++] = (out_section){WR_SEC_LIST_META, m->lists_json, 0, strlen(m->lists_json)};
        sec[nsec++] = (out_section){WR_SEC_LIST_ITEMS, m->list_item, 0, nl * sizeof(uint32_t)};
        sec[nsec++] = (out_section){WR_SEC_LIST_SCORES, m->list_score, 0, nl * sizeof(float)};
    }
    uint64_t end = HDR_SIZE + (uint64_t)nsec * SEC_ENTRY;
    for (uint32_t s = 0; s < nsec; s++) {
        sec[s].off = align_up(end);
        end = sec[s].off + sec[s].len;
    }

    wr_atomic_file o;
    if (file_atomic_open(&o, path, err) < 0)
        return -1;
    uint8_t hdr[HDR_SIZE] = {0};
    fwrite(hdr, 1, HDR_SIZE, o.f);
    writer w = {o.f, crc32_z(0, NULL, 0), HDR_SIZE};
    for (uint32_t s = 0; s < nsec; s++) {
        uint8_t e[SEC_ENTRY] = {0};
        put32(e, sec[s].type);
        put64(e + 8, sec[s].off);
        put64(e + 16, sec[s].len);
        put(&w, e, sizeof e);
    }
    for (uint32_t s = 0; s < nsec; s++) {
        pad_to(&w, sec[s].off);
        if (sec[s].type == WR_SEC_IDS)
            for (uint32_t i = 0; i < m->n; i++)
                put(&w, dict_str(m->ids, i), dict_strlen(m->ids, i) + 1);
        else
            put(&w, sec[s].data, (size_t)sec[s].len);
    }

    memcpy(hdr, model_magic, 8);
    put32(hdr + 8, WR_MODEL_VERSION);
    put32(hdr + 12, m->dim);
    put64(hdr + 16, m->n);
    put64(hdr + 24, (uint64_t)m->created);
    put32(hdr + 32, nsec);
    put64(hdr + 40, w.pos);
    put32(hdr + 48, (uint32_t)w.crc);
    put32(hdr + 60, crc(hdr, 60));
    if (fseek(o.f, 0, SEEK_SET) != 0 || fwrite(hdr, 1, HDR_SIZE, o.f) != HDR_SIZE) {
        wr_fail(err, "%s: write failed: %s", path, strerror(errno));
        file_atomic_abort(&o);
        return -1;
    }
    return file_atomic_commit(&o, err);
}

/* ---- reading ---- */

typedef struct section {
    uint64_t off, len;
    int present;
} section;

static const char *sec_name(uint32_t t)
{
    switch (t) {
    case WR_SEC_META: return "metadata";
    case WR_SEC_IDS: return "ids";
    case WR_SEC_VECS: return "vectors";
    case WR_SEC_BIAS: return "bias";
    case WR_SEC_CTX: return "context vectors";
    case WR_SEC_UNIT: return "unit vectors";
    case WR_SEC_LIST_META: return "list description";
    case WR_SEC_LIST_ITEMS: return "list items";
    case WR_SEC_LIST_SCORES: return "list scores";
    }
    return "unknown";
}

/* body_crc: the checksum of bytes HDR_SIZE..len, computed by the caller (model_load reads
 * the file rather than mapping all of it), or NULL to compute it from p. */
static int check_header(const uint8_t *p, size_t len, const uint32_t *body_crc,
                        const char *name, wr_err *err)
{
    if (len < HDR_SIZE)
        return wr_fail(err, "%s: truncated: %zu bytes, the header alone needs %d", name, len,
                       HDR_SIZE);
    if (memcmp(p, model_magic, 8) != 0)
        return wr_fail(err, "%s: not a walkrec model (bad magic at offset 0)", name);
    if (get32(p + 8) != WR_MODEL_VERSION)
        return wr_fail(err, "%s: offset 8: unsupported format version %u (this build reads %d)",
                       name, get32(p + 8), WR_MODEL_VERSION);
    if (crc(p, 60) != get32(p + 60))
        return wr_fail(err, "%s: header checksum mismatch (bytes 0..59 are corrupted)", name);
    if (get32(p + 36) != 0 || get64(p + 52) != 0)
        return wr_fail(err, "%s: offset 36/52: reserved header fields are not zero", name);
    uint64_t size = get64(p + 40);
    if (size > len)
        return wr_fail(err, "%s: truncated: the header says %llu bytes, the file ends at offset %zu",
                       name, (unsigned long long)size, len);
    if (size < len)
        return wr_fail(err, "%s: %llu bytes of unexpected data after offset %llu", name,
                       (unsigned long long)(len - size), (unsigned long long)size);
    if ((body_crc ? *body_crc : crc(p + HDR_SIZE, len - HDR_SIZE)) != get32(p + 48))
        return wr_fail(err, "%s: checksum mismatch over bytes %d..%zu (the contents are corrupted)",
                       name, HDR_SIZE, len - 1);
    if (get32(p + 12) == 0)
        return wr_fail(err, "%s: offset 12: dimension is 0", name);
    if (get64(p + 16) >= UINT32_MAX)
        return wr_fail(err, "%s: offset 16: item count %llu is too large", name,
                       (unsigned long long)get64(p + 16));
    return 0;
}

/* Reads the section table into sec[type] for the known types and checks every entry. */
static int read_sections(const uint8_t *p, size_t len, const char *name, section sec[NSEC],
                         wr_err *err)
{
    uint32_t nsec = get32(p + 32);
    if (nsec > MAX_SECTIONS)
        return wr_fail(err, "%s: offset 32: %u sections (at most %d)", name, nsec, MAX_SECTIONS);
    uint64_t table_end = HDR_SIZE + (uint64_t)nsec * SEC_ENTRY;
    if (table_end > len)
        return wr_fail(err, "%s: the section table (%u entries) runs past the end of the file at "
                       "offset %zu", name, nsec, len);
    memset(sec, 0, NSEC * sizeof *sec);
    for (uint32_t s = 0; s < nsec; s++) {
        const uint8_t *e = p + HDR_SIZE + (size_t)s * SEC_ENTRY;
        size_t at = HDR_SIZE + (size_t)s * SEC_ENTRY;
        uint32_t type = get32(e);
        uint64_t off = get64(e + 8), slen = get64(e + 16);
        if (get32(e + 4) != 0)
            return wr_fail(err, "%s: offset %zu: reserved field of section entry %u is not zero",
                           name, at + 4, s);
        if (off % ALIGN || off < table_end)
            return wr_fail(err, "%s: offset %zu: section %u (%s) starts at %llu, which is not a "
                           "64-byte boundary after the section table", name, at + 8, s,
                           sec_name(type), (unsigned long long)off);
        if (off > len || slen > len - off)
            return wr_fail(err, "%s: offset %zu: section %u (%s) spans bytes %llu..+%llu, past the "
                           "end of the file at %zu", name, at + 16, s, sec_name(type),
                           (unsigned long long)off, (unsigned long long)slen, len);
        if (type < WR_SEC_META || type >= NSEC)
            continue;
        if (sec[type].present)
            return wr_fail(err, "%s: offset %zu: a second %s section", name, at, sec_name(type));
        sec[type] = (section){off, slen, 1};
    }
    for (uint32_t t = WR_SEC_META; t <= WR_SEC_VECS; t++)
        if (!sec[t].present)
            return wr_fail(err, "%s: the section table has no %s section", name, sec_name(t));
    return 0;
}

static int read_ids(const uint8_t *p, const section *s, wr_model *m, const char *name,
                    wr_err *err)
{
    uint64_t pos = s->off, end = s->off + s->len;
    for (uint32_t i = 0; i < m->n; i++) {
        const char *id = (const char *)p + pos;
        const char *nul = memchr(id, '\0', (size_t)(end - pos));
        if (!nul)
            return wr_fail(err, "%s: offset %llu: id of row %u runs past the end of the ids section",
                           name, (unsigned long long)pos, i);
        size_t idlen = (size_t)(nul - id);
        if (!id_ok(id, idlen))
            return wr_fail(err, "%s: offset %llu: id of row %u is empty, longer than %d bytes or "
                           "not UTF-8", name, (unsigned long long)pos, i, WR_ID_MAX);
        uint32_t got = dict_intern(m->ids, id, idlen);
        if (got != i)
            return wr_fail(err, "%s: offset %llu: duplicate id '%s' (rows %u and %u)", name,
                           (unsigned long long)pos, id, got, i);
        pos += idlen + 1;
    }
    if (pos != end)
        return wr_fail(err, "%s: offset %llu: %llu extra bytes in the ids section after %u ids",
                       name, (unsigned long long)pos, (unsigned long long)(end - pos), m->n);
    return 0;
}

/* Copies n floats from section s into dst (aligned, owned by the model), all finite. */
static int read_floats(const uint8_t *p, const section *s, float *dst, size_t n, uint32_t per_row,
                       const char *name, wr_err *err)
{
    memcpy(dst, p + s->off, n * sizeof(float));
    size_t bad = first_nonfinite(dst, n);
    if (bad < n)
        return wr_fail(err, "%s: offset %llu: row %zu, value %zu of the %s section is not finite",
                       name, (unsigned long long)(s->off + bad * sizeof(float)), bad / per_row,
                       bad % per_row, per_row == 1 ? "bias" : "vectors");
    return 0;
}

/* The lists' sections, all four or none: sizes agree, items are rows or padding, unit
 * vectors finite (what serving reads straight from the mapped file). */
static int verify_lists(const uint8_t *p, const char *name, const section sec[NSEC], uint32_t n,
                        uint32_t dim, wr_err *err)
{
    int have = sec[WR_SEC_UNIT].present + sec[WR_SEC_LIST_META].present +
               sec[WR_SEC_LIST_ITEMS].present + sec[WR_SEC_LIST_SCORES].present;
    if (!have)
        return 0;
    if (have != 4)
        return wr_fail(err, "%s: neighbour lists need four sections (unit vectors, description, "
                       "items, scores), the file has %d", name, have);
    const section *u = &sec[WR_SEC_UNIT], *it = &sec[WR_SEC_LIST_ITEMS],
                  *sc = &sec[WR_SEC_LIST_SCORES];
    if (u->len != (uint64_t)n * dim * sizeof(float))
        return wr_fail(err, "%s: offset %llu: the unit vectors section has %llu bytes, not %llu",
                       name, (unsigned long long)u->off, (unsigned long long)u->len,
                       (unsigned long long)n * dim * sizeof(float));
    if (!n || it->len % ((uint64_t)n * 4) || sc->len != it->len)
        return wr_fail(err, "%s: offset %llu: list sections of %llu and %llu bytes do not hold "
                       "whole lists of %u items", name, (unsigned long long)it->off,
                       (unsigned long long)it->len, (unsigned long long)sc->len, n);
    const float *uv = (const float *)(p + u->off);
    size_t bad = first_nonfinite(uv, (size_t)n * dim);
    if (bad < (size_t)n * dim)
        return wr_fail(err, "%s: offset %llu: unit vector of row %zu is not finite", name,
                       (unsigned long long)(u->off + bad * sizeof(float)), bad / dim);
    const uint32_t *item = (const uint32_t *)(p + it->off);
    for (size_t i = 0; i < it->len / 4; i++)
        if (item[i] >= n && item[i] != UINT32_MAX)
            return wr_fail(err, "%s: offset %llu: list entry %zu names row %u of %u", name,
                           (unsigned long long)(it->off + i * 4), i, item[i], n);
    char why[256];
    int at;
    if (meta_check((const char *)p + sec[WR_SEC_LIST_META].off, (size_t)sec[WR_SEC_LIST_META].len,
                   why, sizeof why, &at) < 0)
        return wr_fail(err, "%s: offset %llu: list description %s", name,
                       (unsigned long long)sec[WR_SEC_LIST_META].off + (unsigned)at, why);
    return 0;
}

/* Every check that needs no allocation: header, checksums, section table, sizes, metadata.
 * Fills sec. */
static int verify(const uint8_t *p, size_t len, const uint32_t *body_crc, int lists,
                  const char *name, section sec[NSEC], wr_err *err)
{
    if (check_header(p, len, body_crc, name, err) < 0 || read_sections(p, len, name, sec, err) < 0)
        return -1;
    uint32_t dim = get32(p + 12), n = (uint32_t)get64(p + 16);
    uint64_t row = (uint64_t)dim * sizeof(float);
    /* Sizes agree with the header before anything of size n is allocated. */
    if (sec[WR_SEC_VECS].len % row || sec[WR_SEC_VECS].len / row != n)
        return wr_fail(err, "%s: offset %llu: the vectors section has %llu bytes, %u items x %u "
                       "floats need %llu", name, (unsigned long long)sec[WR_SEC_VECS].off,
                       (unsigned long long)sec[WR_SEC_VECS].len, n, dim,
                       (unsigned long long)(n * row));
    if (sec[WR_SEC_CTX].present && sec[WR_SEC_CTX].len != sec[WR_SEC_VECS].len)
        return wr_fail(err, "%s: offset %llu: the context vectors section has %llu bytes, the "
                       "vectors %llu", name, (unsigned long long)sec[WR_SEC_CTX].off,
                       (unsigned long long)sec[WR_SEC_CTX].len,
                       (unsigned long long)sec[WR_SEC_VECS].len);
    if (sec[WR_SEC_BIAS].present && sec[WR_SEC_BIAS].len != (uint64_t)n * sizeof(float))
        return wr_fail(err, "%s: offset %llu: the bias section has %llu bytes, %u items need %llu",
                       name, (unsigned long long)sec[WR_SEC_BIAS].off,
                       (unsigned long long)sec[WR_SEC_BIAS].len, n,
                       (unsigned long long)n * sizeof(float));
    const char *meta = (const char *)p + sec[WR_SEC_META].off;
    char why[256];
    int at;
    if (meta_check(meta, (size_t)sec[WR_SEC_META].len, why, sizeof why, &at) < 0)
        return wr_fail(err, "%s: offset %llu: metadata %s", name,
                       (unsigned long long)sec[WR_SEC_META].off + (unsigned)at, why);
    return lists ? verify_lists(p, name, sec, n, dim, err) : 0;
}

/* A model file that does not read is corrupt: the error's code says so, its file names it,
 * its offset is the one the message gives ("offset N"), when it gives one. */
static void mark_corrupt(wr_err *err, const char *name)
{
    if (!err)
        return;
    err->code = WR_ECORRUPT;
    snprintf(err->file, sizeof err->file, "%s", name);
    const char *o = strstr(err->msg, "offset ");
    err->offset = o ? strtoull(o + 7, NULL, 10) : 0;
}

int model_verify(const char *path, wr_err *err)
{
    wr_filemap fm;
    section sec[NSEC];
    if (file_map_open(&fm, path, err) < 0)
        return -1;
    int rc = verify(fm.data, fm.len, NULL, 1, path, sec, err);
    file_map_close(&fm);
    if (rc < 0)
        mark_corrupt(err, path);
    return rc;
}

static wr_model *load_mem(const void *data, size_t len, const uint32_t *body_crc,
                          const char *name, wr_err *err)
{
    const uint8_t *p = data;
    section sec[NSEC];
    if (verify(p, len, body_crc, body_crc == NULL, name, sec, err) < 0)
        return NULL;
    uint32_t dim = get32(p + 12), n = (uint32_t)get64(p + 16);
    const char *meta = (const char *)p + sec[WR_SEC_META].off;
    size_t meta_len = (size_t)sec[WR_SEC_META].len;

    wr_model *m = model_new(n, dim);
    m->created = (int64_t)get64(p + 24);
    m->checksum = (uint64_t)get32(p + 60) << 32 | get32(p + 48);
    free(m->meta_json);
    m->meta_json = xstrndup(meta, meta_len);
    if (read_ids(p, &sec[WR_SEC_IDS], m, name, err) < 0 ||
        read_floats(p, &sec[WR_SEC_VECS], m->vecs, (size_t)n * dim, dim, name, err) < 0)
        goto fail;
    if (sec[WR_SEC_BIAS].present) {
        m->bias = xmalloc_aligned(n ? (size_t)n * sizeof(float) : ALIGN);
        if (read_floats(p, &sec[WR_SEC_BIAS], m->bias, n, 1, name, err) < 0)
            goto fail;
    }
    if (sec[WR_SEC_CTX].present) {
        m->ctx = xmalloc_aligned(n ? (size_t)n * dim * sizeof(float) : ALIGN);
        if (read_floats(p, &sec[WR_SEC_CTX], m->ctx, (size_t)n * dim, dim, name, err) < 0)
            goto fail;
    }
    return m;
fail:
    model_free(m);
    return NULL;
}

wr_model *model_map(const char *path, wr_err *err)
{
    wr_filemap *fm = xmalloc(sizeof *fm);
    section sec[NSEC];
    wr_model *m = NULL;
    if (file_map_open(fm, path, err) < 0) {
        free(fm);
        return NULL;
    }
    const uint8_t *p = fm->data;
    if (verify(p, fm->len, NULL, 1, path, sec, err) < 0)
        goto fail;
    uint32_t dim = get32(p + 12), n = (uint32_t)get64(p + 16);
    m = xcalloc(1, sizeof *m);
    m->n = n;
    m->dim = dim;
    m->created = (int64_t)get64(p + 24);
    m->checksum = (uint64_t)get32(p + 60) << 32 | get32(p + 48);
    m->ids = dict_new(n);
    m->meta_json = xstrndup((const char *)p + sec[WR_SEC_META].off, sec[WR_SEC_META].len);
    if (read_ids(p, &sec[WR_SEC_IDS], m, path, err) < 0)
        goto fail;
    m->vecs = (float *)(p + sec[WR_SEC_VECS].off); /* read-only: the mapping is */
    size_t nv = (size_t)n * dim, bad = first_nonfinite(m->vecs, nv);
    if (bad < nv) {
        wr_fail(err, "%s: offset %llu: row %zu of the vectors section is not finite", path,
                (unsigned long long)(sec[WR_SEC_VECS].off + bad * 4), bad / dim);
        goto fail;
    }
    if (sec[WR_SEC_BIAS].present) {
        m->bias = (float *)(p + sec[WR_SEC_BIAS].off);
        if ((bad = first_nonfinite(m->bias, n)) < n) {
            wr_fail(err, "%s: offset %llu: bias of row %zu is not finite", path,
                    (unsigned long long)(sec[WR_SEC_BIAS].off + bad * 4), bad);
            goto fail;
        }
    }
    if (sec[WR_SEC_CTX].present) {
        m->ctx = (float *)(p + sec[WR_SEC_CTX].off);
        if ((bad = first_nonfinite(m->ctx, nv)) < nv) {
            wr_fail(err, "%s: offset %llu: row %zu of the context vectors is not finite", path,
                    (unsigned long long)(sec[WR_SEC_CTX].off + bad * 4), bad / dim);
            goto fail;
        }
    }
    if (sec[WR_SEC_LIST_ITEMS].present) {
        m->unit = (float *)(p + sec[WR_SEC_UNIT].off);
        m->list_k = (uint32_t)(sec[WR_SEC_LIST_ITEMS].len / 4 / n);
        m->list_item = (uint32_t *)(p + sec[WR_SEC_LIST_ITEMS].off);
        m->list_score = (float *)(p + sec[WR_SEC_LIST_SCORES].off);
        m->lists_json = xstrndup((const char *)p + sec[WR_SEC_LIST_META].off,
                                 sec[WR_SEC_LIST_META].len);
    }
    m->map = fm;
    return m;
fail:
    mark_corrupt(err, path);
    if (m) {
        m->vecs = m->bias = m->ctx = m->unit = NULL;
        m->list_item = NULL;
        m->list_score = NULL;
        model_free(m);
    }
    file_map_close(fm);
    free(fm);
    return NULL;
}

wr_model *model_load_mem(const void *data, size_t len, const char *name, wr_err *err)
{
    wr_model *m = load_mem(data, len, NULL, name, err);
    if (!m)
        mark_corrupt(err, name);
    return m;
}

/* The checksum of bytes HDR_SIZE..size of fd, read in blocks; -1 on a read error. */
static int64_t stream_crc(int fd, uint64_t size)
{
    enum { BLOCK = 1 << 20 };
    uint8_t *buf = xmalloc(BLOCK);
    uLong c = crc32_z(0, NULL, 0);
    for (uint64_t at = HDR_SIZE; at < size;) {
        ssize_t r = pread(fd, buf, size - at < BLOCK ? (size_t)(size - at) : BLOCK, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return -1;
        }
        c = crc32_z(c, buf, (size_t)r);
        at += (uint64_t)r;
    }
    free(buf);
    return (int64_t)(uint32_t)c;
}

/* Loads what training and evaluation read (metadata, ids, vectors, bias, context) without mapping
 * the lists' sections: a model that carries hundreds of megabytes of lists costs their
 * address space only to the reader that serves them (model_map). The whole body is still
 * checksummed, read in blocks. Pipes and other unmappable files are read whole. */
wr_model *model_load(const char *path, wr_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return wr_failc(err, wr_errno_status(errno), "%s: %s", path, strerror(errno)), NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < HDR_SIZE + SEC_ENTRY) {
        close(fd); /* a pipe, or a file too short to tell: the whole of it */
        wr_filemap fm;
        if (file_map_open(&fm, path, err) < 0)
            return NULL;
        wr_model *m = model_load_mem(fm.data, fm.len, path, err);
        file_map_close(&fm);
        return m;
    }
    uint64_t size = (uint64_t)st.st_size, prefix = size;
    uint8_t head[HDR_SIZE + MAX_SECTIONS * SEC_ENTRY];
    ssize_t got = pread(fd, head, sizeof head < size ? sizeof head : size, 0);
    if (got >= HDR_SIZE + SEC_ENTRY && !memcmp(head, model_magic, 8)) {
        /* the prefix that holds every section but the lists' (they are written last) */
        uint32_t nsec = get32(head + 32);
        prefix = HDR_SIZE + (uint64_t)nsec * SEC_ENTRY;
        for (uint32_t s = 0; s < nsec && s < MAX_SECTIONS &&
                             HDR_SIZE + (s + 1) * SEC_ENTRY <= (size_t)got; s++) {
            const uint8_t *e = head + HDR_SIZE + s * SEC_ENTRY;
            uint32_t type = get32(e);
            uint64_t end = get64(e + 8) + get64(e + 16);
            if ((type < WR_SEC_UNIT || type == WR_SEC_CTX) && end > prefix && end <= size)
                prefix = end;
        }
        if (prefix > size)
            prefix = size;
    }
    int64_t body = stream_crc(fd, size);
    void *p = body < 0 ? MAP_FAILED : mmap(NULL, (size_t)prefix, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (body < 0 || p == MAP_FAILED)
        return wr_failc(err, wr_errno_status(e), "%s: %s", path, strerror(e)), NULL;
    uint32_t crc32v = (uint32_t)body;
    /* the header and table checks see the whole file's size; the sections read lie in the
     * mapped prefix (read_sections bounds them by the size, load_mem reads only these) */
    wr_model *m = load_mem(p, size, &crc32v, path, err);
    munmap(p, (size_t)prefix);
    if (!m)
        mark_corrupt(err, path);
    return m;
}
