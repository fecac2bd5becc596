/* text.h - strict little parsers for fields of text files and requests. Pure functions. */
#ifndef WALKREC_TEXT_H
#define WALKREC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Splits s (modified in place) at every `sep`; returns the number of fields (at most max;
 * the last field keeps the rest). */
int text_split(char *s, char sep, char **fields, int max);

/* Strict number parsing: the whole string must be consumed; -1 otherwise. */
int text_parse_double(const char *s, double *out);
int text_parse_u64(const char *s, uint64_t *out);

/* 1 when s[0..len) is well-formed UTF-8. */
int text_utf8_valid(const char *s, size_t len);

#endif
