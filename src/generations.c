/* generations.c - the files of a data directory (generations.h). */
#include "walkrec/generations.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walkrec/explain.h"
#include "walkrec/file.h"
#include "walkrec/wal.h"
#include "walkrec/text.h"

static char *join(const char *dir, const char *name)
{
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

char *generations_path(const char *dir, uint64_t gen, int candidate)
{
    char name[64];
    snprintf(name, sizeof name, "%s-%llu.wr", candidate ? "candidate" : "model",
             (unsigned long long)gen);
    return join(dir, name);
}

char *generations_log(const char *dir) { return join(dir, WR_WAL_FILE); }

char *generations_sidecar(const char *model) { return file_beside(model, ".wr", ".items.tsv"); }

/* N of a name "<prefix>N.wr" (N >= 1, digits only), else 0. */
static uint64_t number_of(const char *name, const char *prefix)
{
    size_t len = strlen(name), pl = strlen(prefix);
    uint64_t g;
    char digits[32];
    if (len <= pl + 3 || strncmp(name, prefix, pl) || strcmp(name + len - 3, ".wr") ||
        len - pl - 3 >= sizeof digits)
        return 0;
    memcpy(digits, name + pl, len - pl - 3);
    digits[len - pl - 3] = 0;
    return text_parse_u64(digits, &g) == 0 ? g : 0;
}

uint64_t generations_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return number_of(slash ? slash + 1 : path, "model-");
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

size_t generations_list(const char *dir, uint64_t **models, uint64_t **cands, size_t *ncands)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0, nc = 0;
    *models = NULL;
    if (cands)
        *cands = NULL;
    while (d && (e = readdir(d))) {
        uint64_t g = number_of(e->d_name, "model-"), c = number_of(e->d_name, "candidate-");
        if (g) {
            *models = xrealloc(*models, (n + 1) * sizeof **models);
            (*models)[n++] = g;
        } else if (c && cands) {
            *cands = xrealloc(*cands, (nc + 1) * sizeof **cands);
            (*cands)[nc++] = c;
        }
    }
    if (d)
        closedir(d);
    if (n)
        qsort(*models, n, sizeof **models, cmp_u64);
    if (cands && nc)
        qsort(*cands, nc, sizeof **cands, cmp_u64);
    if (ncands)
        *ncands = nc;
    return n;
}

uint64_t generations_current(const char *dir)
{
    char *p = join(dir, "CURRENT"), buf[32];
    FILE *f = fopen(p, "r");
    uint64_t g = 0;
    free(p);
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return text_parse_u64(buf, &g) == 0 ? g : 0;
}

int generations_set_current(const char *dir, uint64_t gen, wr_err *err)
{
    char *p = join(dir, "CURRENT"), buf[32];
    int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)gen);
    int rc = file_write_atomic(p, buf, (size_t)n, err);
    free(p);
    return rc;
}

uint64_t generations_serving(const char *dir)
{
    uint64_t cur = generations_current(dir), *g, best = 0;
    size_t n = generations_list(dir, &g, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        if (g[i] == cur || (!cur && g[i] > best))
            best = g[i];
    if (cur && best != cur) /* CURRENT names a file that is gone: the newest */
        for (size_t i = 0; i < n; i++)
            best = g[i] > best ? g[i] : best;
    free(g);
    return best;
}

uint64_t generations_next(const char *dir, uint64_t at_least)
{
    uint64_t *g, *c, next = at_least ? at_least : 1;
    size_t nc, n = generations_list(dir, &g, &c, &nc);
    for (size_t i = 0; i < n; i++)
        next = g[i] >= next ? g[i] + 1 : next;
    for (size_t i = 0; i < nc; i++)
        next = c[i] >= next ? c[i] + 1 : next;
    free(g);
    free(c);
    return next;
}

int generations_make_dir(const char *dir, wr_err *err)
{
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        int end = *s == 0;
        if (*s != '/' && !end)
            continue;
        *s = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            rc = wr_failc(err, WR_EIO, "cannot create %s: %s", p, strerror(errno));
        if (end)
            break;
        *s = '/';
    }
    free(p);
    return rc;
}

void generations_remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    while (d && (e = readdir(d))) {
        if (!strstr(e->d_name, ".tmp."))
            continue;
        char *p = join(dir, e->d_name);
        n += unlink(p) == 0;
        free(p);
    }
    if (d)
        closedir(d);
    if (n)
        wr_log("removed %zu temporary files left by an interrupted write in %s", n, dir);
}

int generations_move(const char *dir, uint64_t gen, int publish, wr_err *err)
{
    char *m = generations_path(dir, gen, 0), *c = generations_path(dir, gen, 1);
    const char *from = publish ? c : m, *to = publish ? m : c;
    char *fs = generations_sidecar(from), *ts = generations_sidecar(to);
    char *fg = explain_graph_path(from), *tg = explain_graph_path(to);
    int rc = 0;
    if (rename(from, to) < 0)
        rc = wr_failc(err, wr_errno_status(errno), "generation %llu: %s: %s",
                      (unsigned long long)gen, from, strerror(errno));
    else if (rename(fs, ts) < 0 && errno != ENOENT)
        wr_log("warning: %s: %s", fs, strerror(errno));
    else if (rename(fg, tg) < 0 && errno != ENOENT)
        wr_log("warning: %s: %s", fg, strerror(errno));
    free(m);
    free(c);
    free(fs);
    free(ts);
    free(fg);
    free(tg);
    return rc;
}

/* Deletes a model file, its side file and its pair graph. */
static void delete(const char *dir, uint64_t gen, int candidate, size_t keep)
{
    char *m = generations_path(dir, gen, candidate), *s = generations_sidecar(m);
    char *g = explain_graph_path(m);
    if (unlink(m) == 0)
        wr_log("deleted %s %llu (keep_generations = %zu)",
               candidate ? "refused candidate" : "generation", (unsigned long long)gen, keep);
    unlink(s);
    unlink(g);
    free(m);
    free(s);
    free(g);
}

void generations_prune(const char *dir, size_t keep, uint64_t live, uint64_t previous)
{
    uint64_t *g, *c;
    size_t nc, n = generations_list(dir, &g, &c, &nc);
    for (size_t i = 0; i + keep < n; i++)
        if (g[i] != live && g[i] != previous)
            delete(dir, g[i], 0, keep);
    for (size_t i = 0; i + keep < nc; i++)
        delete(dir, c[i], 1, keep);
    free(g);
    free(c);
}

int generations_write_sidecar(const char *path, const wr_pairs *p, const uint32_t *cat,
                              uint32_t ncat, const wr_side *items, wr_err *err)
{
    wr_atomic_file a;
    size_t ncol = items ? side_columns(items) : 0;
    int degree = !items || side_column(items, "degree") < 0;
    if (items && side_column(items, "category") >= 0)
        cat = NULL;
    if (file_atomic_open(&a, path, err) < 0)
        return -1;
    uint32_t *deg = degree ? pairs_degree(p) : NULL;
    fputs("item", a.f);
    if (degree)
        fputs("\tdegree", a.f);
    if (cat)
        fputs("\tcategory", a.f);
    for (size_t c = 0; c < ncol; c++)
        fprintf(a.f, "\t%s", side_name(items, c));
    fputc('\n', a.f);
    for (uint32_t i = 0; i < dict_size(p->ids); i++) {
        fputs(dict_str(p->ids, i), a.f);
        if (degree)
            fprintf(a.f, "\t%u", deg[i]);
        if (cat && i < ncat)
            fprintf(a.f, "\tc%04u", cat[i]); /* synth_write_items' category names */
        else if (cat)
            fputc('\t', a.f);
        for (size_t c = 0; c < ncol; c++) {
            const char *v = side_value(items, i, c);
            fprintf(a.f, "\t%s", v ? v : "");
        }
        fputc('\n', a.f);
    }
    free(deg);
    return file_atomic_commit(&a, err);
}
