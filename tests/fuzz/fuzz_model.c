/* fuzz_model.c - the model file loader, from memory (model_load_mem).
 *
 * A model that loads must be what model.h promises: n rows of dim >= 1, n distinct valid
 * ids in row order, finite vectors and bias, a JSON object as metadata. Saved again and
 * loaded from the file, it must come back the same. A refusal must say why and name the
 * file. Each input is loaded as it is and, when it is long enough, once more with its file
 * size and both checksums made right: otherwise nearly every mutation would stop at the
 * checksum, short of the section table and the sections. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "fuzz.h"
#include "walkrec/model.h"

static char *save_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wr_quiet = 1;
    save_path = fuzz_path("again.wr");
    return 0;
}

static void check_model(const wr_model *m)
{
    if (m->dim < 1 || !m->ids || dict_size(m->ids) != m->n)
        fuzz_bug("n %u, dim %u, %u ids", m->n, m->dim, m->ids ? dict_size(m->ids) : 0);
    for (uint32_t i = 0; i < m->n; i++) {
        const char *id = dict_str(m->ids, i);
        size_t len = dict_strlen(m->ids, i);
        if (!fuzz_valid_id(id, len) || model_find(m, id) != (int64_t)i)
            fuzz_bug("row %u: bad id or not found at its row", i);
    }
    for (size_t i = 0; i < (size_t)m->n * m->dim; i++)
        if (!isfinite(m->vecs[i]))
            fuzz_bug("value %zu is not finite", i);
    for (uint32_t i = 0; m->bias && i < m->n; i++)
        if (!isfinite(m->bias[i]))
            fuzz_bug("bias %u is not finite", i);
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    if (!json_is_object(meta))
        fuzz_bug("the metadata is not a JSON object");
    json_decref(meta);
}

static void check_same(const wr_model *a, const wr_model *b)
{
    if (a->n != b->n || a->dim != b->dim || a->created != b->created || !a->bias != !b->bias ||
        strcmp(a->meta_json, b->meta_json))
        fuzz_bug("saved and loaded again, the model differs in its header or metadata");
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(dict_str(a->ids, i), dict_str(b->ids, i)))
            fuzz_bug("saved and loaded again, row %u has another id", i);
    if (memcmp(a->vecs, b->vecs, (size_t)a->n * a->dim * sizeof *a->vecs) ||
        (a->bias && memcmp(a->bias, b->bias, a->n * sizeof *a->bias)))
        fuzz_bug("saved and loaded again, the vectors differ");
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static void load(const uint8_t *data, size_t size)
{
    wr_err err;
    err.msg[0] = 0;
    wr_model *m = model_load_mem(data, size, "fuzz.wr", &err);
    if (!m) {
        if (strncmp(err.msg, "fuzz.wr", 7))
            fuzz_bug("a refusal that does not name the file: '%s'", err.msg);
        return;
    }
    check_model(m);
    if (model_save(m, save_path, &err) < 0)
        fuzz_bug("a loaded model cannot be saved: %s", err.msg);
    wr_model *again = model_load(save_path, &err);
    if (!again)
        fuzz_bug("a saved model does not load: %s", err.msg);
    check_same(m, again);
    model_free(again);
    model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size);
    if (size < 64)
        return 0;
    uint8_t *fixed = xmalloc(size);
    memcpy(fixed, data, size);
    put_le(fixed + 40, size, 8);
    put_le(fixed + 48, crc32(0, fixed + 64, (uInt)(size - 64)), 4);
    put_le(fixed + 60, crc32(0, fixed, 60), 4);
    load(fixed, size);
    free(fixed);
    return 0;
}
