/* fuzz_w2v.c - the word2vec loaders, text and binary (w2v_load_mem tells them apart by
 * content; the seed corpus holds both).
 *
 * Vectors that load must be what w2v.h promises (distinct valid ids without blanks, finite
 * values), and must survive w2v_save and w2v_load in both formats exactly: text is written
 * with 9 significant digits, which round-trips float32. One exception: the format has no
 * marker, and a binary file whose float bytes all read as numbers is a valid text file as
 * well, which the loader reads as text (its "format" says so); then only the ids must
 * agree. A refusal must say why and name the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "walkrec/w2v.h"

static char *text_path, *bin_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wr_quiet = 1;
    text_path = fuzz_path("again.vec");
    bin_path = fuzz_path("again.bin");
    return 0;
}

static void check_model(const wr_model *m)
{
    if (m->dim < 1 || dict_size(m->ids) != m->n)
        fuzz_bug("n %u, dim %u, %u ids", m->n, m->dim, dict_size(m->ids));
    for (uint32_t i = 0; i < m->n; i++) {
        const char *id = dict_str(m->ids, i);
        size_t len = dict_strlen(m->ids, i);
        if (!fuzz_valid_id(id, len) || strpbrk(id, " \n") || model_find(m, id) != (int64_t)i)
            fuzz_bug("row %u: bad id '%s', or not found at its row", i, id);
    }
    for (size_t i = 0; i < (size_t)m->n * m->dim; i++)
        if (!isfinite(m->vecs[i]))
            fuzz_bug("value %zu is not finite", i);
}

static void round_trip(const wr_model *m, const char *path, int binary)
{
    wr_err err;
    if (w2v_save(m, path, binary, &err) < 0)
        fuzz_bug("loaded vectors cannot be saved (%s): %s", binary ? "binary" : "text", err.msg);
    wr_model *b = w2v_load(path, &err);
    if (!b)
        fuzz_bug("saved vectors (%s) do not load: %s", binary ? "binary" : "text", err.msg);
    if (b->n != m->n || b->dim != m->dim)
        fuzz_bug("saved as %s and loaded, %u x %u became %u x %u", binary ? "binary" : "text",
                 m->n, m->dim, b->n, b->dim);
    for (uint32_t i = 0; i < m->n; i++)
        if (strcmp(dict_str(m->ids, i), dict_str(b->ids, i)))
            fuzz_bug("saved as %s and loaded, row %u has another id", binary ? "binary" : "text", i);
    int as_binary = strstr(b->meta_json, "\"word2vec-binary\"") != NULL;
    if (binary && !as_binary) { /* binary that is valid text too: see the top */
        model_free(b);
        return;
    }
    if (!binary && as_binary)
        fuzz_bug("saved as text, loaded as binary");
    for (size_t i = 0; i < (size_t)m->n * m->dim; i++)
        if (memcmp(&m->vecs[i], &b->vecs[i], sizeof(float)))
            fuzz_bug("saved as %s and loaded, value %zu went from %.9g to %.9g",
                     binary ? "binary" : "text", i, (double)m->vecs[i], (double)b->vecs[i]);
    model_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_err err;
    err.msg[0] = 0;
    wr_model *m = w2v_load_mem(data, size, "fuzz.vec", &err);
    if (!m) {
        if (strncmp(err.msg, "fuzz.vec", 8))
            fuzz_bug("a refusal that does not name the file: '%s'", err.msg);
        return 0;
    }
    check_model(m);
    round_trip(m, text_path, 0);
    round_trip(m, bin_path, 1);
    model_free(m);
    return 0;
}
