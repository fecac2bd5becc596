/* file.h - whole files: mapped for reading, written atomically.
 *
 * Every file walkrec writes (models, pair files, side files, CURRENT, reports) is written
 * under a temporary name `<path>.tmp.<pid>` in the same directory, flushed, fsynced and
 * renamed over `path`, then the directory is fsynced: readers see the old file or the new
 * one, whole, and a crash leaves at most a temporary file, which walkrecd removes at start
 * (generations.h). */
#ifndef WALKREC_FILE_H
#define WALKREC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "walkrec/util.h"

/* A whole file in memory: mapped read-only when it is a regular file, read otherwise
 * (pipes, terminals). */
typedef struct wr_filemap {
    const void *data;
    size_t len;
    int mapped;
} wr_filemap;

/* Errors carry WR_ENOTFOUND (no such file) or WR_EIO. Close with file_map_close(). */
int file_map_open(wr_filemap *fm, const char *path, wr_err *err);
void file_map_close(wr_filemap *fm);

/* A file being written: write through `f` (fully buffered), then commit or abort. Path "-"
 * writes to standard output (commit flushes it). */
typedef struct wr_atomic_file {
    FILE *f;
    char *path, *tmp, *buf;
} wr_atomic_file;

int file_atomic_open(wr_atomic_file *a, const char *path, wr_err *err);
/* Flush, fsync, rename over path, fsync the directory; on failure the temporary file is
 * removed and err (WR_EIO) names the file and the system's reason. Frees a either way. */
int file_atomic_commit(wr_atomic_file *a, wr_err *err);
/* Removes the temporary file and frees a. */
void file_atomic_abort(wr_atomic_file *a);

/* The whole of data[0..len) as path, the same way. */
int file_write_atomic(const char *path, const void *data, size_t len, wr_err *err);

/* A file beside path: path without its ending `ext` (when it ends so), then `with`; a
 * model's side files (new string). */
char *file_beside(const char *path, const char *ext, const char *with);

/* The temporary name file_atomic_open uses for path in process pid (caller frees). */
char *file_temp_name(const char *path, long pid);

#endif
