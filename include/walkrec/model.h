/* model.h - the binary model file: item ids + float32 vectors + JSON metadata.
 *
 * Layout (little-endian), designed to be memory-mapped:
 *   header  64 bytes:
 *      0  magic "WALKREC\0"
 *      8  u32 version (1)          12  u32 dim (>= 1)
 *     16  u64 n_items (< 2^32)     24  i64 created (unix seconds)
 *     32  u32 n_sections (<= 64)   36  u32 reserved (0)
 *     40  u64 file_size
 *     48  u32 crc32 of every byte after the header (section table, sections, padding)
 *     52  8 reserved bytes (0)
 *     60  u32 crc32 of header bytes 0..59
 *   section table at 64: n_sections x {u32 type, u32 reserved (0), u64 offset, u64 length}
 *   sections, each starting on a 64-byte boundary, zero padding between them:
 *     WR_SEC_META  JSON object (training parameters, learning curve, evaluation, ...),
 *                  no NUL terminator
 *     WR_SEC_IDS   n_items NUL-terminated ids, in index order: 1..WR_ID_MAX bytes of
 *                  UTF-8, no duplicates
 *     WR_SEC_VECS  n_items x dim float32, row-major, all finite
 *     WR_SEC_BIAS  n_items float32 (optional, per-item bias)
 *     WR_SEC_CTX   n_items x dim float32 (optional): skip-gram's output (context) vectors,
 *                  all finite; an item's vector against another's context vector scores how
 *                  the two go together rather than how alike they are (index.h's relation)
 *   and, when the file carries its neighbour lists (lists.h), all four of:
 *     WR_SEC_UNIT        n_items x dim float32: the vectors scaled to unit length
 *     WR_SEC_LIST_META   JSON object: how the lists were built (lists_describe)
 *     WR_SEC_LIST_ITEMS  n_items x k uint32: each row's neighbours, best first, UINT32_MAX
 *                        padded
 *     WR_SEC_LIST_SCORES n_items x k float32: their cosines
 *   META, IDS and VECS occur exactly once, the others at most once. Unknown section types
 *   are skipped by readers (forward compatible within version 1); serving maps the file and
 *   reads the vectors, unit vectors and lists in place (model_map).
 * Writes go to a temporary file in the same directory, fsync, rename, fsync of the directory. */
#ifndef WALKREC_MODEL_H
#define WALKREC_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "walkrec/dict.h"
#include "walkrec/file.h"
#include "walkrec/util.h"

#define WR_MODEL_VERSION 1

enum { WR_SEC_META = 1, WR_SEC_IDS = 2, WR_SEC_VECS = 3, WR_SEC_BIAS = 4, WR_SEC_UNIT = 5,
       WR_SEC_LIST_META = 6, WR_SEC_LIST_ITEMS = 7, WR_SEC_LIST_SCORES = 8, WR_SEC_CTX = 9 };

typedef struct wr_model {
    uint32_t n, dim;
    int64_t created;
    uint64_t checksum;  /* loaded from a file: its header's checksum (bits 32-63) and its
                           body's (0-31), which name the file's content; 0 for model_new */
    wr_dict *ids;       /* index i <-> id of row i */
    float *vecs;        /* n x dim, 64-byte aligned, owned (free()) */
    float *bias;        /* n or NULL, owned (free()) */
    float *ctx;         /* n x dim output vectors or NULL, 64-byte aligned, owned (free()) */
    char *meta_json;    /* NUL-terminated JSON object text, owned (free()); "{}" when none */
    /* the neighbour lists, when the model carries them (all set, or all NULL / 0): */
    float *unit;        /* n x dim unit vectors */
    uint32_t list_k;
    uint32_t *list_item; /* n x list_k */
    float *list_score;  /* n x list_k */
    char *lists_json;   /* their description (lists.h), owned */
    struct wr_filemap *map; /* model_map: the arrays above and vecs, bias point into this
                               read-only mapping, freed with the model; NULL: owned */
} wr_model;

/* An empty model of n rows x dim: `ids` is an empty dict the caller fills with the n ids
 * in row order (dict_intern), `vecs` is zeroed, `bias` NULL, `meta_json` "{}", `created`
 * now. */
wr_model *model_new(uint32_t n, uint32_t dim);
void model_free(wr_model *m);

/* Refuses (returns -1) models that model_load would reject: id count != n, bad ids,
 * non-finite values, metadata that is not a JSON object. */
int model_save(const wr_model *m, const char *path, wr_err *err);
/* Verifies magic, version, sizes, section bounds and checksums; errors name the file
 * and the byte offset where the file stops making sense (WR_ECORRUPT, err->file and
 * err->offset set; WR_EIO or WR_ENOTFOUND when the file cannot be read at all). The lists'
 * sections are checked but not loaded (model_map serves them). */
wr_model *model_load(const char *path, wr_err *err);
/* Every check model_load makes that needs no memory of the model's size (header,
 * checksums, sections, sizes, metadata), on the mapped file: 0, or -1 with err (WR_EIO or
 * WR_ENOTFOUND when the file cannot be read, WR_ECORRUPT naming it and the offset). */
int model_verify(const char *path, wr_err *err);
/* Loads from memory (the fuzzer and tests use it); never reads outside data[0..len). */
wr_model *model_load_mem(const void *data, size_t len, const char *name, wr_err *err);

/* The file mapped read-only and checked like model_load (the lists' sections too: their
 * sizes, their items within the rows, finite unit vectors): vecs, bias and the lists point
 * into the mapping, only the ids are copied (into the dict). Never write through them. Free
 * with model_free, which unmaps. Errors as model_load's. */
wr_model *model_map(const char *path, wr_err *err);

/* Row of an id, or -1. */
int64_t model_find(const wr_model *m, const char *id);
/* Copy of the vectors with every row scaled to unit length (zero rows stay zero);
 * 64-byte aligned, caller frees with free(). */
float *model_normalized(const wr_model *m);

#endif
