/* main.c - the walkrec command-line tool: dispatch to subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "walkrec/blas.h"
#include "walkrec/text.h"
#include "walkrec/util.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"prepare", cmd_prepare, "Amazon metadata (2014 or 2018, gzip ok) -> pairs.tsv [+ items.tsv]"},
    {"split", cmd_split, "pairs -> train pairs + validation pairs with negatives"},
    {"train", cmd_train, "pairs (or sequences) -> model: graph, random walks, word2vec"},
    {"index", cmd_index, "model -> model with every item's neighbour list stored"},
    {"graph", cmd_graph, "model + its pairs -> the pair graph that explanations read"},
    {"eval", cmd_eval, "model + validation pairs -> AUC, recall@10, NDCG@10"},
    {"neighbors", cmd_neighbors, "top-k items of an item by cosine"},
    {"import", cmd_import, "word2vec text/binary vectors (gensim, fastText) -> model"},
    {"export", cmd_export, "model -> word2vec text/binary vectors"},
    {"synth", cmd_synth, "generate the seeded synthetic catalogue"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: walkrec COMMAND [options]   (walkrec COMMAND --help for details)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("walkrec: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

unsigned long long cli_uint(const char *opt, const char *s, unsigned long long min,
                            unsigned long long max)
{
    uint64_t v;
    if (text_parse_u64(s, &v) < 0 || v < min || v > max)
        die("%s: expected an integer from %llu to %llu, got '%s'", opt, min, max, s);
    return v;
}

double cli_double(const char *opt, const char *s, double min, double max)
{
    double v;
    if (text_parse_double(s, &v) < 0 || !(v >= min && v <= max))
        die("%s: expected a number from %g to %g, got '%s'", opt, min, max, s);
    return v;
}

int main(int argc, char **argv)
{
    /* OpenBLAS's kernels (blas.h): WALKREC_BLAS_KERNEL = auto (default), keep or a name */
    const char *kernel = getenv("WALKREC_BLAS_KERNEL");
    blas_choose(kernel && *kernel ? kernel : "auto", argv);
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "walkrec: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
