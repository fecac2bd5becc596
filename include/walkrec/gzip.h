/* gzip.h - gzip-encoding answers for clients that accept it (zlib).
 *
 * walkrecd compresses an answer when the request's Accept-Encoding takes gzip and the
 * answer is at least WR_GZIP_MIN bytes (below it the header and the checksum outweigh the
 * gain). Pure functions, any thread. */
#ifndef WALKREC_GZIP_H
#define WALKREC_GZIP_H

#include <stddef.h>

#define WR_GZIP_MIN 1024

/* 1 when an Accept-Encoding value accepts gzip: "gzip" or "x-gzip" with a q-value above 0,
 * or "*" with one when gzip is not named; 0 otherwise (NULL: no header, 0). */
int gzip_accepted(const char *accept_encoding);
/* in[0..n) as a gzip member: a new buffer of *out_len bytes (free()), or NULL when memory
 * runs out (the caller sends the answer uncompressed). */
char *gzip_encode(const char *in, size_t n, size_t *out_len);

#endif
