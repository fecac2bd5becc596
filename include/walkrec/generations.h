/* generations.h - the model files of a data directory: generations, CURRENT, side files.
 *
 * A directory holds published generations `model-<N>.wr`, refused candidates
 * `candidate-<N>.wr` (N >= 1), beside each the side file `<name>.items.tsv` (side
 * information the trainer wrote: every item's degree, the catalogue's categories, the
 * items file's columns) and the pair graph `<name>.graph` (explain.h: the pairs the
 * generation was made from, for explanations), and
 * `CURRENT`, the number of the generation being served (written atomically, so a restart
 * serves it, also after a rollback). Files are written under temporary names and renamed
 * into place (file.h); a crash leaves only `*.tmp.*` files, which
 * generations_remove_temporaries deletes at start.
 *
 * Plain functions of a directory path: the callers (retrain.c) serialise what must be. */
#ifndef WALKREC_GENERATIONS_H
#define WALKREC_GENERATIONS_H

#include <stddef.h>
#include <stdint.h>

#include "walkrec/pairs.h"
#include "walkrec/side.h"
#include "walkrec/util.h"

/* dir/model-N.wr, or dir/candidate-N.wr when candidate (new string, caller frees). */
char *generations_path(const char *dir, uint64_t gen, int candidate);
/* dir/pairs.wal, the pair log (wal.h) of the daemon whose data directory dir is (new string). */
char *generations_log(const char *dir);
/* The side file of a model file: <model without .wr>.items.tsv (new string). */
char *generations_sidecar(const char *model_path);
/* N of a path ending in model-N.wr, else 0. */
uint64_t generations_of(const char *path);

/* Generations in dir, ascending: published ones into *models (returns how many), refused
 * ones into *cands (count *ncands) when cands is not NULL. Arrays to free; a directory that
 * cannot be read has none. */
size_t generations_list(const char *dir, uint64_t **models, uint64_t **cands, size_t *ncands);
/* The generation CURRENT names, 0 when there is none (or it is malformed). */
uint64_t generations_current(const char *dir);
int generations_set_current(const char *dir, uint64_t gen, wr_err *err);
/* The generation to serve: CURRENT's when its file exists, else the newest; 0 = none. */
uint64_t generations_serving(const char *dir);
/* One more than every generation on disk, published or refused, and than `at_least` - 1. */
uint64_t generations_next(const char *dir, uint64_t at_least);

/* Creates dir and its parents. */
int generations_make_dir(const char *dir, wr_err *err);
/* Deletes what an interrupted write left (`*.tmp.*`), logging how many. */
void generations_remove_temporaries(const char *dir);
/* Renames generation gen's model and side file from candidate to model (publish) or back.
 * WR_ENOTFOUND when the source file does not exist. */
int generations_move(const char *dir, uint64_t gen, int publish, wr_err *err);
/* Deletes published generations beyond the newest `keep`, never `live` nor `previous`, and
 * refused candidates beyond the newest `keep`. */
void generations_prune(const char *dir, size_t keep, uint64_t live, uint64_t previous);

/* Writes the side file: item, its number of pairs in p, when cat is given the category of
 * the first ncat ids (the synthetic catalogue's; later ids have none), and when items is
 * given (a table read over p's ids, side.h) every column of it, which replaces a column of
 * the same name. So the generation carries the items file's content, and a follower needs
 * no items file of its own. */
int generations_write_sidecar(const char *path, const wr_pairs *p, const uint32_t *cat,
                              uint32_t ncat, const wr_side *items, wr_err *err);

#endif
