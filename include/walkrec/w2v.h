/* w2v.h - the word2vec text and binary vector formats (gensim, fastText .vec, word2vec.c).
 *
 * Text: first line "N DIM", then "id v1 v2 ... vDIM" per line (separator: space; trailing
 * spaces and CRLF are fine). Binary: the same header line, then per item "id " + DIM
 * little-endian float32 (+ optional '\n'). Ids may not contain spaces or newlines in either
 * format; here they must also be 1..WR_ID_MAX bytes of UTF-8 without NUL. */
#ifndef WALKREC_W2V_H
#define WALKREC_W2V_H

#include "walkrec/model.h"
#include "walkrec/util.h"

/* Detects text or binary by content (text when the first row parses as DIM numbers).
 * Duplicate ids, short rows, bad or non-finite numbers, counts that disagree with the
 * header are errors naming the line (text) or byte offset (binary). The model's meta_json
 * records {"source": {"file": name, "format": "word2vec" | "word2vec-binary"}}. */
wr_model *w2v_load(const char *path, wr_err *err);
wr_model *w2v_load_mem(const void *data, size_t len, const char *name, wr_err *err);
/* Text values are written with 9 significant digits, which round-trips float32 exactly;
 * binary rows end in '\n' as word2vec.c writes them (gensim reads both). */
int w2v_save(const wr_model *m, const char *path, int binary, wr_err *err);

#endif
