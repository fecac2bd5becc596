/* bytes.h - a growable byte buffer, and the growth rule of every growable array.
 *
 * A wr_bytes is a plain value: zero-initialise it, append, free p. One thread's. */
#ifndef WALKREC_BYTES_H
#define WALKREC_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct wr_bytes {
    char *p; /* owned; NULL until the first append */
    size_t n, cap;
} wr_bytes;

void bytes_put(wr_bytes *b, const void *data, size_t n);
void bytes_putc(wr_bytes *b, char c);
void bytes_puts(wr_bytes *b, const char *s);
/* A string as a 4-byte length and its bytes. */
void bytes_put_str(wr_bytes *b, const char *s, size_t len);
/* The next length-prefixed string of [*p, end); -1 when it does not fit. */
int bytes_take_str(const char **p, const char *end, const char **s, uint32_t *len);

/* JSON text, for answers written without a JSON library (api.c): a string, quoted and
 * escaped (s is UTF-8); an unsigned integer; a score with at most 7 decimals (absolute error
 * below 5e-8 for cosines), trailing zeros left out, null for NaN and infinities, 9
 * significant digits from 1e11 on. */
void bytes_put_json_str(wr_bytes *b, const char *s, size_t n);
void bytes_put_u64(wr_bytes *b, uint64_t v);
void bytes_put_score(wr_bytes *b, float s);

/* p (an array of *cap elements of `size` bytes) grown to hold `need`: doubling from 64,
 * *cap updated. Aborts when memory runs out, as xrealloc. */
void *bytes_grow(void *p, size_t *cap, size_t need, size_t size);

#endif
