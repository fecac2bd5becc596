/* w2v.h - the word2vec text and binary vector formats (gensim, fastText .vec, word2vec.c).
 *
 * Text: first line "N DIM", then "id v1 v2 ... vDIM" per line (separator: space).
 * Binary: the same header line, then per item "id " + DIM little-endian float32 (+ optional
 * '\n'). Ids may not contain spaces or newlines in either format. */
#ifndef WALKREC_W2V_H
#define WALKREC_W2V_H

#include "walkrec/model.h"
#include "walkrec/util.h"

/* Detects text or binary by content. Duplicate ids, short rows, bad numbers, counts that
 * disagree with the header are errors naming the line or byte offset. */
wr_model *w2v_load(const char *path, wr_err *err);
wr_model *w2v_load_mem(const void *data, size_t len, const char *name, wr_err *err);
int w2v_save(const wr_model *m, const char *path, int binary, wr_err *err);

#endif
