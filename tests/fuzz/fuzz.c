/* fuzz.c - scratch files and failure reports for the fuzz drivers (see fuzz.h). */
#include "fuzz.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walkrec/dict.h"
#include "walkrec/text.h"
#include "walkrec/util.h"

static char dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_dir(void)
{
    if (*dir)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_dir(void)
{
    if (*dir)
        return dir;
    struct stat st;
    snprintf(dir, sizeof dir, "%s/walkrec-fuzz.XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        fuzz_bug("cannot make a scratch directory %s", dir);
    atexit(remove_dir);
    return dir;
}

char *fuzz_path(const char *name)
{
    const char *d = fuzz_dir();
    char *p = xmalloc(strlen(d) + strlen(name) + 2);
    sprintf(p, "%s/%s", d, name);
    return p;
}

void fuzz_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        fuzz_bug("cannot write %s", path);
}

void fuzz_bug(const char *fmt, ...)
{
    va_list ap;
    fputs("fuzz: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

int fuzz_valid_id(const char *s, size_t len)
{
    return len >= 1 && len <= WR_ID_MAX && !memchr(s, 0, len) && text_utf8_valid(s, len);
}
