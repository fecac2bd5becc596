/* tmpdir.h - a temporary folder for one test program, as cmocka group fixtures, and files
 * written into it. Include it in a test_*.c after <cmocka.h>; single-threaded tests only
 * (the paths it returns live in a static buffer until the next call). */
#ifndef WALKREC_TEST_TMPDIR_H
#define WALKREC_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* The group setup: a new folder /tmp/walkrec-test.XXXXXX. */
static int tmpdir_setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/walkrec-test.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* The group teardown: the folder and everything in it removed. */
static int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes len bytes of text (len 0: up to its NUL) to the file `name` of the folder;
 * returns its path (valid until the next call). */
static const char *tmpdir_write(const char *name, const char *text, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(text, 1, len ? len : strlen(text), f);
    fclose(f);
    return path;
}

#endif
