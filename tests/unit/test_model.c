/* test_model.c - model files: round trips, and that every corruption, truncation and
 * hostile-but-checksummed structure is refused with an error instead of a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "walkrec/model.h"
#include "walkrec/util.h"

static const char *ids[] = {"a", "bb", "ccc", "\xce\xb4\xce\xb5", "item-5"};
#define N 5
#define DIM 3

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/wr-test-model-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[sizeof dir + 260];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    return rmdir(dir);
}

static wr_model *sample(int with_bias)
{
    wr_model *m = model_new(N, DIM);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(dict_intern(m->ids, ids[i], strlen(ids[i])), i);
        for (uint32_t j = 0; j < DIM; j++)
            m->vecs[i * DIM + j] = (float)i - 0.25f * (float)j + 1e-7f * (float)(i * j);
    }
    if (with_bias) {
        m->bias = xmalloc(N * sizeof(float));
        for (uint32_t i = 0; i < N; i++)
            m->bias[i] = -0.5f * (float)i;
    }
    free(m->meta_json);
    m->meta_json = xstrdup("{\"dim\":3,\"walks\":{\"p\":1.0,\"q\":0.5},\"note\":\"\xc3\xa9t\xc3\xa9\"}");
    m->created = 1700000000;
    return m;
}

static char *path_of(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = xmalloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* The bytes of a saved sample model. */
static uint8_t *sample_bytes(int with_bias, size_t *len)
{
    wr_err err;
    wr_model *m = sample(with_bias);
    assert_int_equal(model_save(m, path_of("s.wrm"), &err), 0);
    model_free(m);
    return slurp(path_of("s.wrm"), len);
}

/* Recomputes both checksums, so structural checks can be tested behind them. */
static void refix(uint8_t *b, size_t len)
{
    uint32_t body = (uint32_t)crc32(0, b + 64, (uInt)(len - 64)), head;
    memcpy(b + 48, &body, 4);
    head = (uint32_t)crc32(0, b, 60);
    memcpy(b + 60, &head, 4);
}

static void expect_error(const uint8_t *b, size_t len, const char *needle)
{
    wr_err err = {0};
    wr_model *m = model_load_mem(b, len, "x.wrm", &err);
    if (m)
        fail_msg("loaded a bad file (expected '%s')", needle);
    if (!strstr(err.msg, "x.wrm") || !strstr(err.msg, needle))
        fail_msg("error '%s' lacks the file name or '%s'", err.msg, needle);
}

static void test_round_trip(void **state)
{
    (void)state;
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        wr_err err;
        wr_model *m = sample(with_bias);
        assert_int_equal(model_save(m, path_of("m.wrm"), &err), 0);
        wr_model *r = model_load(path_of("m.wrm"), &err);
        if (!r)
            fail_msg("%s", err.msg);
        assert_int_equal(r->n, N);
        assert_int_equal(r->dim, DIM);
        assert_int_equal(r->created, 1700000000);
        assert_int_equal((uintptr_t)r->vecs % 64, 0);
        for (uint32_t i = 0; i < N; i++) {
            assert_string_equal(dict_str(r->ids, i), ids[i]);
            assert_int_equal(model_find(r, ids[i]), i);
        }
        assert_int_equal(model_find(r, "zzz"), -1);
        assert_memory_equal(r->vecs, m->vecs, N * DIM * sizeof(float));
        assert_string_equal(r->meta_json, m->meta_json);
        if (with_bias)
            assert_memory_equal(r->bias, m->bias, N * sizeof(float));
        else
            assert_null(r->bias);
        model_free(r);
        model_free(m);
    }
    /* Nothing left behind but the model itself: the temporary file was renamed. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            assert_string_equal(e->d_name, "m.wrm");
            files++;
        }
    closedir(d);
    assert_int_equal(files, 1);
    unlink(path_of("m.wrm"));
}

static void test_layout(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = sample_bytes(1, &len);
    assert_memory_equal(b, "WALKREC\0", 8);
    uint32_t v32;
    uint64_t v64;
    memcpy(&v32, b + 8, 4);
    assert_int_equal(v32, WR_MODEL_VERSION);
    memcpy(&v64, b + 40, 8);
    assert_int_equal(v64, len);
    memcpy(&v32, b + 32, 4);
    assert_int_equal(v32, 4);
    for (uint32_t s = 0; s < 4; s++) {
        memcpy(&v64, b + 64 + 24 * s + 8, 8);
        assert_int_equal(v64 % 64, 0);
    }
    free(b);
}

static void test_every_bit_flip(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = sample_bytes(1, &len);
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            wr_err err = {0};
            wr_model *m = model_load_mem(b, len, "x.wrm", &err);
            if (m)
                fail_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
            assert_non_null(strstr(err.msg, "x.wrm"));
            b[i] ^= (uint8_t)(1u << bit);
        }
    wr_err err;
    wr_model *m = model_load_mem(b, len, "x.wrm", &err);
    assert_non_null(m);
    model_free(m);
    free(b);
}

static void test_truncation(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = sample_bytes(0, &len);
    for (size_t cut = 0; cut < len; cut++) {
        /* A copy of exactly `cut` bytes, so a read past it is caught by ASan/valgrind. */
        uint8_t *t = xmalloc(cut ? cut : 1);
        memcpy(t, b, cut);
        expect_error(t, cut, "truncated");
        free(t);
    }
    uint8_t *longer = xmalloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    expect_error(longer, len + 1, "after offset");
    free(longer);
    free(b);
}

static void test_version_and_magic(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = sample_bytes(0, &len);
    uint32_t v = 2;
    memcpy(b + 8, &v, 4);
    refix(b, len);
    expect_error(b, len, "unsupported format version 2");
    v = WR_MODEL_VERSION;
    memcpy(b + 8, &v, 4);
    memcpy(b, "WALKREX", 7);
    refix(b, len);
    expect_error(b, len, "bad magic");
    expect_error((const uint8_t *)"{\"not\": \"a model\"}", 18, "truncated");
    free(b);
}

/* Offset and length of the section of a type in a saved file. */
static void find_section(const uint8_t *b, uint32_t type, uint64_t *off, uint64_t *len)
{
    uint32_t nsec, t;
    memcpy(&nsec, b + 32, 4);
    for (uint32_t s = 0; s < nsec; s++) {
        memcpy(&t, b + 64 + 24 * s, 4);
        if (t == type) {
            memcpy(off, b + 64 + 24 * s + 8, 8);
            memcpy(len, b + 64 + 24 * s + 16, 8);
            return;
        }
    }
    fail_msg("no section %u", type);
}

static void test_hostile_structure(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = sample_bytes(1, &len), *b = xmalloc(len);
    uint64_t off, slen;

    /* Duplicate ids: rename the third of three equal-length ids to the first. */
    wr_err err;
    wr_model *m = model_new(3, 2);
    dict_intern(m->ids, "xy", 2);
    dict_intern(m->ids, "zw", 2);
    dict_intern(m->ids, "uv", 2);
    assert_int_equal(model_save(m, path_of("d.wrm"), &err), 0);
    model_free(m);
    size_t dlen;
    uint8_t *d = slurp(path_of("d.wrm"), &dlen);
    find_section(d, WR_SEC_IDS, &off, &slen);
    memcpy(d + off + 6, "xy", 2);
    refix(d, dlen);
    expect_error(d, dlen, "duplicate id 'xy' (rows 0 and 2)");
    free(d);

    /* Metadata that is not JSON, or not an object. */
    memcpy(b, orig, len);
    find_section(b, WR_SEC_META, &off, &slen);
    b[off + slen - 1] = ',';
    refix(b, len);
    expect_error(b, len, "metadata not valid JSON");
    memcpy(b, orig, len);
    memset(b + off, ' ', slen);
    b[off] = '[';
    b[off + slen - 1] = ']';
    refix(b, len);
    expect_error(b, len, "metadata not a JSON object");

    /* A NaN in the vectors and an infinity in the bias. */
    memcpy(b, orig, len);
    find_section(b, WR_SEC_VECS, &off, &slen);
    float nan = NAN, inf = INFINITY;
    memcpy(b + off + 4 * 7, &nan, 4);
    refix(b, len);
    expect_error(b, len, "row 2, value 1 of the vectors section is not finite");
    memcpy(b, orig, len);
    find_section(b, WR_SEC_BIAS, &off, &slen);
    memcpy(b + off + 4, &inf, 4);
    refix(b, len);
    expect_error(b, len, "bias section is not finite");

    /* Sections: misaligned, past the end, missing, counts that disagree. */
    memcpy(b, orig, len);
    uint64_t bad = 100;
    memcpy(b + 64 + 8, &bad, 8);
    refix(b, len);
    expect_error(b, len, "not a 64-byte boundary");
    memcpy(b, orig, len);
    bad = UINT64_MAX - 10;
    memcpy(b + 64 + 16, &bad, 8);
    refix(b, len);
    expect_error(b, len, "past the end");
    memcpy(b, orig, len);
    uint32_t t = 99;
    find_section(b, WR_SEC_IDS, &off, &slen);
    memcpy(b + 64 + 24 * 1, &t, 4); /* the ids entry becomes an unknown type */
    refix(b, len);
    expect_error(b, len, "no ids section");
    memcpy(b, orig, len);
    uint64_t n = 4;
    memcpy(b + 16, &n, 8);
    refix(b, len);
    expect_error(b, len, "4 items x 3 floats");
    memcpy(b, orig, len);
    n = UINT64_MAX;
    memcpy(b + 16, &n, 8);
    refix(b, len);
    expect_error(b, len, "too large");
    memcpy(b, orig, len);
    t = 1000;
    memcpy(b + 32, &t, 4);
    refix(b, len);
    expect_error(b, len, "sections");

    /* An unknown section type is skipped: the file still loads. */
    memcpy(b, orig, len);
    t = 77;
    memcpy(b + 64 + 24 * 3, &t, 4); /* the bias section becomes unknown */
    refix(b, len);
    m = model_load_mem(b, len, "x.wrm", &err);
    assert_non_null(m);
    assert_null(m->bias);
    model_free(m);
    free(b);
    free(orig);
}

static void test_save_refuses(void **state)
{
    (void)state;
    wr_err err;
    wr_model *m = sample(0);
    m->vecs[4] = NAN;
    assert_int_equal(model_save(m, path_of("r.wrm"), &err), -1);
    assert_non_null(strstr(err.msg, "non-finite"));
    m->vecs[4] = 0;
    free(m->meta_json);
    m->meta_json = xstrdup("[1,2]");
    assert_int_equal(model_save(m, path_of("r.wrm"), &err), -1);
    assert_non_null(strstr(err.msg, "metadata"));
    model_free(m);
    m = model_new(2, 2);
    dict_intern(m->ids, "only-one", 8);
    assert_int_equal(model_save(m, path_of("r.wrm"), &err), -1);
    assert_non_null(strstr(err.msg, "2 rows but 1 ids"));
    model_free(m);
    assert_int_equal(access(path_of("r.wrm"), F_OK), -1);
    assert_null(model_load(path_of("missing.wrm"), &err));
    assert_non_null(strstr(err.msg, "missing.wrm"));
}

/* Context vectors: saved, loaded and mapped as they were; a section of the wrong size, a
 * non-finite value in it, refused. */
static void test_context(void **state)
{
    (void)state;
    wr_err err;
    wr_model *m = sample(1);
    m->ctx = xmalloc_aligned(N * DIM * sizeof(float));
    for (uint32_t i = 0; i < N * DIM; i++)
        m->ctx[i] = 0.5f - (float)i;
    assert_int_equal(model_save(m, path_of("c.wrm"), &err), 0);
    wr_model *r = model_load(path_of("c.wrm"), &err), *mm = model_map(path_of("c.wrm"), &err);
    assert_non_null(r);
    assert_non_null(mm);
    assert_memory_equal(r->ctx, m->ctx, N * DIM * sizeof(float));
    assert_memory_equal(mm->ctx, m->ctx, N * DIM * sizeof(float));
    assert_memory_equal(r->bias, m->bias, N * sizeof(float));
    model_free(r);
    model_free(mm);
    size_t len;
    uint8_t *b = slurp(path_of("c.wrm"), &len);
    uint64_t off, slen;
    for (uint32_t s = 0;; s++) { /* the context section's entry */
        uint32_t type;
        memcpy(&type, b + 64 + 24 * s, 4);
        if (type != WR_SEC_CTX)
            continue;
        memcpy(&off, b + 64 + 24 * s + 8, 8);
        memcpy(&slen, b + 64 + 24 * s + 16, 8);
        uint64_t shorter = slen - 4;
        memcpy(b + 64 + 24 * s + 16, &shorter, 8);
        refix(b, len);
        expect_error(b, len, "context vectors section has");
        memcpy(b + 64 + 24 * s + 16, &slen, 8);
        break;
    }
    float nan = NAN;
    memcpy(b + off + 8, &nan, 4);
    refix(b, len);
    expect_error(b, len, "not finite");
    free(b);
    m->ctx[5] = INFINITY;
    assert_int_equal(model_save(m, path_of("r.wrm"), &err), -1);
    assert_non_null(strstr(err.msg, "context vector of row 1"));
    model_free(m);
    /* a model of many pages: model_load reads the context vectors with the vectors, not
     * only the sections before the lists' */
    m = model_new(4000, 16);
    m->ctx = xmalloc_aligned(4000 * 16 * sizeof(float));
    for (uint32_t i = 0; i < 4000; i++) {
        char id[16];
        dict_intern(m->ids, id, (size_t)snprintf(id, sizeof id, "i%u", i));
        for (uint32_t j = 0; j < 16; j++)
            m->ctx[i * 16 + j] = (float)(i + j);
    }
    assert_int_equal(model_save(m, path_of("c.wrm"), &err), 0);
    assert_non_null(r = model_load(path_of("c.wrm"), &err));
    assert_memory_equal(r->ctx, m->ctx, 4000 * 16 * sizeof(float));
    model_free(r);
    model_free(m);
    unlink(path_of("c.wrm"));
}

static void test_normalized(void **state)
{
    (void)state;
    wr_model *m = model_new(3, 2);
    m->vecs[0] = 3, m->vecs[1] = 4;
    m->vecs[4] = -1e-20f, m->vecs[5] = 0;
    float *v = model_normalized(m);
    assert_int_equal((uintptr_t)v % 64, 0);
    assert_float_equal(v[0], 0.6, 1e-7);
    assert_float_equal(v[1], 0.8, 1e-7);
    assert_true(v[2] == 0 && v[3] == 0); /* zero row stays zero */
    assert_float_equal(v[4], -1.0, 1e-7);
    free(v);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_layout),
        cmocka_unit_test(test_every_bit_flip), cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_version_and_magic), cmocka_unit_test(test_hostile_structure),
        cmocka_unit_test(test_save_refuses), cmocka_unit_test(test_context),   cmocka_unit_test(test_normalized),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
