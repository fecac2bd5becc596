/* fuzz_config.c - walkrecd's settings file reader (config_load_file on the input).
 *
 * A refusal must name the file and the line. A file that loads is written back with
 * config_write (what --print-config prints): that text must load, and write the same text
 * again; the example file the daemon prints describes the settings it was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "walkrec/config.h"

static char *in_path, *again_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wr_quiet = 1;
    in_path = fuzz_path("walkrecd.conf");
    again_path = fuzz_path("again.conf");
    return 0;
}

static char *written(const wr_config *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        fuzz_bug("open_memstream");
    config_write(c, f);
    fclose(f);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_config c, d;
    wr_err err;
    err.msg[0] = 0;
    fuzz_write(in_path, data, size);
    config_init(&c);
    if (config_load_file(&c, in_path, &err) < 0) {
        if (strncmp(err.msg, in_path, strlen(in_path)))
            fuzz_bug("a refusal that does not name the file: '%s'", err.msg);
        config_free(&c);
        return 0;
    }
    size_t n1, n2;
    char *t1 = written(&c, &n1);
    fuzz_write(again_path, t1, n1);
    config_init(&d);
    if (config_load_file(&d, again_path, &err) < 0)
        fuzz_bug("config_write wrote a file that does not load: %s", err.msg);
    char *t2 = written(&d, &n2);
    if (n1 != n2 || memcmp(t1, t2, n1))
        fuzz_bug("written, loaded and written again, the settings changed");
    free(t1);
    free(t2);
    config_free(&c);
    config_free(&d);
    return 0;
}
