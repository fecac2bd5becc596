/* lines.h - a line reader over plain or gzip'd files (zlib tells them apart by themselves).
 *
 * Every text format walkrec reads (pairs, items, Amazon metadata, validation pairs, word2vec
 * text) comes through here. A gzip stream cut off mid-way ends the input with `truncated`
 * set rather than an error: what was read stands. A reader is one thread's. */
#ifndef WALKREC_LINES_H
#define WALKREC_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/util.h"

typedef struct wr_lines {
    void *gz;            /* gzFile */
    char *buf;           /* current line, NUL-terminated, without '\n' or "\r\n"; it may
                          * hold NUL bytes of its own: len is the true length */
    size_t len, cap;
    size_t max_len;      /* longer lines are skipped whole and reported via `too_long` */
    uint64_t lineno;     /* 1-based number of the current line */
    int too_long;        /* the current line exceeded max_len (buf holds its first max_len bytes) */
    int truncated;       /* input ended inside a damaged or cut-off gzip stream */
    const char *path;    /* borrowed from lines_open's caller */
    char *blk;           /* decompressed block being cut into lines */
    size_t blk_pos, blk_len;
    int eof;
} wr_lines;

#define WR_LINES_BLOCK (1 << 16)

/* Opens path ("-" = standard input); max_len 0 = 64 MiB. Close with lines_close() after a
 * success. */
int lines_open(wr_lines *l, const char *path, size_t max_len, wr_err *err);
/* Returns 1 with a line, 0 at end of input, -1 on a read error. */
int lines_next(wr_lines *l, wr_err *err);
void lines_close(wr_lines *l);

#endif
