/* fuzz_pairs.c - the pair reader (TSV and CSV, sniffed or named by extension, gzip).
 *
 * The input is read as a file named .tsv (the format sniffed) and as one named .csv, each
 * leniently and strictly: strict must succeed when the lenient read found nothing
 * malformed (and no cut-off gzip stream, which strict may refuse), and only then. A read
 * set must be what pairs.h promises after merging (a < b, sorted, no repeats, valid ids,
 * weights finite and > 0 as stored). And what pairs_write makes of it must read back
 * strictly into the same set: written again, byte for byte the same file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "walkrec/file.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"

static char *tsv_path, *csv_path, *out_path, *again_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wr_quiet = 1;
    tsv_path = fuzz_path("in.tsv");
    csv_path = fuzz_path("in.csv");
    out_path = fuzz_path("out.tsv");
    again_path = fuzz_path("again.tsv");
    return 0;
}

static void check_set(const wr_pairs *p, const char *what)
{
    uint32_t n = dict_size(p->ids);
    for (uint32_t i = 0; i < n; i++)
        if (!fuzz_valid_id(dict_str(p->ids, i), dict_strlen(p->ids, i)))
            fuzz_bug("%s: id %u is not a valid id", what, i);
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        if (e->a >= e->b || e->b >= n)
            fuzz_bug("%s: pair %zu is (%u, %u) of %u items", what, i, e->a, e->b, n);
        if (i && (e->a < p->v[i - 1].a || (e->a == p->v[i - 1].a && e->b <= p->v[i - 1].b)))
            fuzz_bug("%s: pair %zu out of order or repeated", what, i);
        if (!isfinite(e->w) || !(e->w > 0))
            fuzz_bug("%s: pair %zu ('%s', '%s') has weight %g", what, i,
                     dict_str(p->ids, e->a), dict_str(p->ids, e->b), (double)e->w);
    }
}

static int same_file(const char *a, const char *b)
{
    wr_filemap x, y;
    wr_err err;
    if (file_map_open(&x, a, &err) < 0 || file_map_open(&y, b, &err) < 0)
        fuzz_bug("%s", err.msg);
    int same = x.len == y.len && !memcmp(x.data, y.data, x.len);
    file_map_close(&x);
    file_map_close(&y);
    return same;
}

static void check_read(const char *path)
{
    wr_pairs p, q;
    wr_read_opts lenient = {0}, strict = {.strict = 1};
    wr_read_stats ls, ss;
    wr_err err;
    pairs_init(&p);
    pairs_init(&q);
    int rl = pairs_read(&p, path, &lenient, &ls, &err);
    int rs = pairs_read(&q, path, &strict, &ss, &err);
    if (rl == 0 && ls.malformed == 0 && !ls.truncated && rs < 0)
        fuzz_bug("%s: nothing malformed leniently, but strictly: %s", path, err.msg);
    if (rs == 0 && (rl < 0 || ls.malformed || q.n != p.n))
        fuzz_bug("%s: strict read took what the lenient one did not", path);
    if (rl == 0) {
        check_set(&p, path);
        if (ls.pairs < p.n)
            fuzz_bug("%s: %zu pairs merged out of %llu read", path, p.n,
                     (unsigned long long)ls.pairs);
        if (pairs_write(&p, out_path, &err) < 0)
            fuzz_bug("pairs_write: %s", err.msg);
        wr_pairs r;
        wr_read_stats rst;
        pairs_init(&r);
        if (pairs_read(&r, out_path, &strict, &rst, &err) < 0)
            fuzz_bug("%s: the written pairs do not read back: %s", path, err.msg);
        check_set(&r, "read back");
        if (pairs_write(&r, again_path, &err) < 0)
            fuzz_bug("pairs_write: %s", err.msg);
        if (r.n != p.n || !same_file(out_path, again_path))
            fuzz_bug("%s: %zu pairs written, another set of %zu read back", path, p.n, r.n);
        pairs_free(&r);
    }
    pairs_free(&p);
    pairs_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(tsv_path, data, size);
    check_read(tsv_path);
    fuzz_write(csv_path, data, size);
    check_read(csv_path);
    return 0;
}
