/* dict.h - interning of item ids: string <-> dense uint32 index.
 *
 * Open addressing with the strings in one growing arena; ids are arbitrary bytes up to
 * WR_ID_MAX (callers validate UTF-8 where it matters). Indices are assigned in order of
 * first appearance, 0, 1, 2, ... Not thread-safe for writers; concurrent readers of a dict
 * that no longer changes are fine. */
#ifndef WALKREC_DICT_H
#define WALKREC_DICT_H

#include <stddef.h>
#include <stdint.h>

#define WR_ID_MAX 512

typedef struct wr_dict wr_dict;

wr_dict *dict_new(size_t expected);
void dict_free(wr_dict *d);
/* Index of s, adding it if new. */
uint32_t dict_intern(wr_dict *d, const char *s, size_t len);
/* Index of s, or -1. */
int64_t dict_find(const wr_dict *d, const char *s, size_t len);
uint32_t dict_size(const wr_dict *d);
/* NUL-terminated id of index i (valid until the next intern). */
const char *dict_str(const wr_dict *d, uint32_t i);
size_t dict_strlen(const wr_dict *d, uint32_t i);
/* Every index of d in byte-wise order of the strings (caller frees). */
uint32_t *dict_sorted(const wr_dict *d);
/* rank[i] = position of id i in byte-wise sorted order (caller frees). */
uint32_t *dict_sorted_rank(const wr_dict *d);
/* by_id: every index of d in byte-wise order of the strings (dict_sorted). The indices
 * whose strings start with p[0..len) and, when after is not NULL, sort after it, in that
 * order: at most max into out; returns how many. */
size_t dict_prefix(const wr_dict *d, const uint32_t *by_id, const char *p, size_t len,
                   const char *after, uint32_t *out, size_t max);

#endif
