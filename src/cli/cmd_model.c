/* cmd_model.c - `walkrec import`, `export`, `neighbors`, `index` and `graph`: word2vec
 * interchange, nearest-neighbour lookups, stored neighbour lists and the pair graph of a
 * model file. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/calib.h"
#include "walkrec/eval.h"
#include "walkrec/explain.h"
#include "walkrec/knn.h"
#include "walkrec/lists.h"
#include "walkrec/model.h"
#include "walkrec/rank.h"
#include "walkrec/w2v.h"

/* The options of import and graph: -o PATH into *out, --quiet, -h. -1 to go on, else the
 * exit status. */
static int out_options(int argc, char **argv, void (*usage)(FILE *), const char **out)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': *out = optarg; break;
        case 'q': wr_quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    return -1;
}

static void import_usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec import VECTORS -o MODEL [--quiet]\n\n"
            "Converts word2vec vectors (text or binary, detected from the content: gensim's\n"
            "save_word2vec_format, fastText .vec, word2vec.c output) into a model file. The\n"
            "model's metadata records the source file and its format.\n\n"
            "  -o, --output PATH  model file to write (required)\n"
            "  --quiet            no summary on stderr\n"
            "  -h, --help         this help\n");
}

/* "word2vec" or "word2vec-binary", as w2v_load recorded it. */
static char *source_format(const wr_model *m)
{
    json_t *j = json_loads(m->meta_json, 0, NULL);
    const char *f = json_string_value(json_object_get(json_object_get(j, "source"), "format"));
    char *out = xstrdup(f ? f : "word2vec");
    json_decref(j);
    return out;
}

int cmd_import(int argc, char **argv)
{
    const char *out = NULL;
    int rc = out_options(argc, argv, import_usage, &out);
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc || !out) {
        import_usage(stderr);
        return 2;
    }
    wr_err err;
    wr_model *m = w2v_load(argv[optind], &err);
    if (!m)
        die("%s", err.msg);
    if (model_save(m, out, &err) < 0)
        die("%s", err.msg);
    if (!wr_quiet) {
        char *fmt = source_format(m);
        fprintf(stderr, "walkrec: imported %u items x %u dimensions (%s) from %s into %s\n", m->n,
                m->dim, fmt, argv[optind], out);
        free(fmt);
    }
    model_free(m);
    return 0;
}

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec export MODEL [--format word2vec|word2vec-binary] -o OUT [--quiet]\n\n"
            "Writes a model's vectors in word2vec format, readable by gensim\n"
            "(KeyedVectors.load_word2vec_format) and word2vec.c. Text values round-trip\n"
            "float32 exactly.\n\n"
            "  -o, --output PATH  file to write (required)\n"
            "  --format F         word2vec (text, default) or word2vec-binary\n"
            "  --quiet            no summary on stderr\n"
            "  -h, --help         this help\n");
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int binary = 0, c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f':
            if (!strcmp(optarg, "word2vec"))
                binary = 0;
            else if (!strcmp(optarg, "word2vec-binary"))
                binary = 1;
            else
                die("--format: expected word2vec or word2vec-binary, got '%s'", optarg);
            break;
        case 'q': wr_quiet = 1; break;
        case 'h': export_usage(stdout); return 0;
        default: export_usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc || !out) {
        export_usage(stderr);
        return 2;
    }
    wr_err err;
    wr_model *m = model_load(argv[optind], &err);
    if (!m)
        die("%s", err.msg);
    if (w2v_save(m, out, binary, &err) < 0)
        die("%s", err.msg);
    if (!wr_quiet)
        fprintf(stderr, "walkrec: exported %u items x %u dimensions (%s) to %s\n", m->n, m->dim,
                binary ? "word2vec-binary" : "word2vec", out);
    model_free(m);
    return 0;
}

static void neighbors_usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec neighbors MODEL ITEM [-k N] [--rank R] [--json]\n\n"
            "Prints the k items closest to ITEM by cosine, or most probably related to it for a\n"
            "calibrated model (exact; ITEM itself excluded) as rank<TAB>item<TAB>score lines,\n"
            "or with --json as {\"item\": ITEM, \"rank\": R, \"neighbors\": [{\"item\": ...,\n"
            "\"score\": ...}, ...]}; the score is the cosine or the probability.\n\n"
            "  -k N         how many neighbours (default 10)\n"
            "  --rank R     cosine or probability (calibrated models only); default: for a\n"
            "               calibrated model the order chosen on its held-out slice when it\n"
            "               was trained (include/walkrec/calib.h), else cosine\n"
            "  --json       JSON on stdout\n"
            "  --quiet      no warnings on stderr\n"
            "  -h, --help   this help\n");
}

static int exclude_self(size_t qi, uint32_t item, void *ctx)
{
    (void)qi;
    return item == *(const uint32_t *)ctx;
}

static void print_json(const wr_model *m, const char *item, int rank, const wr_hit *hits,
                       size_t k)
{
    json_t *list = json_array();
    for (size_t i = 0; i < k && hits[i].item != UINT32_MAX; i++)
        json_array_append_new(list, json_pack("{s:s, s:f}", "item", dict_str(m->ids, hits[i].item),
                                              "score", (double)hits[i].score));
    json_t *j = json_pack("{s:s, s:s, s:o}", "item", item, "rank", rank_name(rank),
                          "neighbors", list);
    if (!j)
        die("neighbors: cannot build the JSON output");
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    putchar('\n');
    json_decref(j);
}

int cmd_neighbors(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"rank", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    size_t k = 10;
    int json = 0, rank = WR_RANK_AUTO, c;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': k = (size_t)cli_uint("-k", optarg, 1, UINT32_MAX - 1); break;
        case 'R':
            if ((rank = rank_parse(optarg)) < 0)
                die("--rank: expected cosine or probability, got '%s'", optarg);
            break;
        case 'j': json = 1; break;
        case 'q': wr_quiet = 1; break;
        case 'h': neighbors_usage(stdout); return 0;
        default: neighbors_usage(stderr); return 2;
        }
    }
    if (optind + 2 != argc) {
        neighbors_usage(stderr);
        return 2;
    }
    const char *item = argv[optind + 1];
    wr_err err;
    wr_model *m = model_load(argv[optind], &err);
    if (!m)
        die("%s", err.msg);
    int64_t row = model_find(m, item);
    if (row < 0)
        die("unknown item '%s'", item);
    if (k > m->n)
        k = m->n;
    wr_calib cal;
    int calibrated = calib_load(m, &cal, &err);
    if (calibrated < 0)
        die("%s", err.msg);
    if (rank == WR_RANK_PROBABILITY && !calibrated)
        die("neighbors: --rank probability needs a calibrated model (this one has none)");
    if (rank == WR_RANK_AUTO)
        rank = calibrated ? cal.rank : WR_RANK_COSINE;
    uint32_t self = (uint32_t)row;
    float *base = model_normalized(m);
    wr_hit *hits = xmalloc(k * sizeof *hits);
    if (rank == WR_RANK_PROBABILITY) {
        calib_topk(m, base, &cal, &self, 1, k, exclude_self, &self, 1, hits);
        for (size_t i = 0; i < k && hits[i].item != UINT32_MAX; i++)
            hits[i].score = (float)(1 / (1 + exp(-(double)hits[i].score))); /* logit -> p */
    } else {
        knn_topk(base, m->n, m->dim, base + (size_t)self * m->dim, 1, k, exclude_self, &self, 1,
                 hits);
    }
    if (json) {
        print_json(m, item, rank, hits, k);
    } else {
        for (size_t i = 0; i < k && hits[i].item != UINT32_MAX; i++)
            printf("%zu\t%s\t%.6f\n", i + 1, dict_str(m->ids, hits[i].item), hits[i].score);
    }
    free(hits);
    free(base);
    if (calibrated)
        calib_free(&cal);
    model_free(m);
    return 0;
}

/* ---- index ---- */

static void index_usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec index MODEL [-o OUT] [options]\n\n"
            "Builds every item's neighbour list and stores them, with the unit vectors, in the\n"
            "model file (include/walkrec/lists.h), so that walkrecd maps them instead of\n"
            "building them: for models trained elsewhere (walkrec import) or before lists\n"
            "were stored. `walkrec train` stores them itself.\n\n"
            "  -o, --output PATH      write the indexed model here (default: MODEL, replaced\n"
            "                         atomically)\n"
            "  -k, --k N              neighbours per item (default 100)\n"
            "  --rank R               auto (the order the model's training chose; cosine for\n"
            "                         an uncalibrated model), cosine or probability\n"
            "  --exact-max-items N    larger catalogues get approximate lists (default %d)\n"
            "  --probe N              k-means cells compared per cell (default 8)\n"
            "  --popular N            probability order: popular items every cell compares\n"
            "                         with (default 512)\n"
            "  --min-recall X         recall@10 the approximate lists must reach on a sample\n"
            "                         (default 0.98)\n"
            "  --threads N            threads (default: all cores)\n"
            "  --json                 print the lists' description on stdout\n"
            "  --quiet                no progress or summary on stderr\n"
            "  -h, --help             this help\n",
            WR_LISTS_EXACT_MAX);
}

/* Parses the lists' options shared by `index` and `train` (-1 when c is not one). */
int cli_lists_option(int c, const char *arg, wr_lists_opts *o, int *rank)
{
    switch (c) {
    case CLI_O_K: o->k = (uint32_t)cli_uint("--k", arg, 0, 100000); return 0;
    case CLI_O_RANK:
        if ((*rank = rank_parse(arg)) < 0)
            die("--rank: expected auto, cosine or probability, got '%s'", arg);
        return 0;
    case CLI_O_EXACT_MAX: o->exact_max_items = cli_uint("--exact-max-items", arg, 0, UINT32_MAX); return 0;
    case CLI_O_PROBE: o->probe = (uint32_t)cli_uint("--probe", arg, 1, 1u << 20); return 0;
    case CLI_O_POPULAR: o->popular = (uint32_t)cli_uint("--popular", arg, 0, 1u << 24); return 0;
    case CLI_O_MIN_RECALL: o->min_recall = cli_double("--min-recall", arg, 0, 1); return 0;
    default: return -1;
    }
}

void cli_print_lists(const wr_lists *l)
{
    if (wr_quiet)
        return;
    fprintf(stderr, "neighbour lists: %u items x %u, %s, by %s, %.2f s", l->n, l->k,
            l->approximate ? "approximate" : "exact", rank_name(l->rank), l->seconds);
    if (l->recall_sample)
        fprintf(stderr, "; recall@10 %.4f against exact lists of %u items (%u cells, probe %u, "
                "%u popular, %u build%s)", l->recall_at_10, l->recall_sample, l->cells, l->probe,
                l->popular, l->rounds, l->rounds == 1 ? "" : "s");
    fputc('\n', stderr);
}

int cmd_index(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"k", required_argument, NULL, CLI_O_K},
        {"rank", required_argument, NULL, CLI_O_RANK},
        {"exact-max-items", required_argument, NULL, CLI_O_EXACT_MAX},
        {"probe", required_argument, NULL, CLI_O_PROBE},
        {"popular", required_argument, NULL, CLI_O_POPULAR},
        {"min-recall", required_argument, NULL, CLI_O_MIN_RECALL},
        {"threads", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c, json = 0, rank = WR_RANK_AUTO;
    wr_lists_opts lo;
    lists_default_opts(&lo);
    while ((c = getopt_long(argc, argv, "o:k:h", opts, NULL)) != -1) {
        if (c == 'k')
            c = CLI_O_K;
        if (cli_lists_option(c, optarg, &lo, &rank) == 0)
            continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 't': lo.threads = (int)cli_uint("--threads", optarg, 1, 1024); break;
        case 'j': json = 1; break;
        case 'q': wr_quiet = 1; break;
        case 'h': index_usage(stdout); return 0;
        default: index_usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        index_usage(stderr);
        return 2;
    }
    const char *in = argv[optind];
    wr_err err;
    wr_model *m = model_load(in, &err);
    if (!m)
        die("%s", err.msg);
    wr_lists l;
    if (lists_attach(m, rank, &lo, &l, &err) < 0)
        die("%s", err.msg);
    cli_print_lists(&l);
    if (model_save(m, out ? out : in, &err) < 0)
        die("%s", err.msg);
    if (json) {
        json_t *d = lists_describe(&l);
        json_dumpf(d, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        putchar('\n');
        json_decref(d);
    }
    model_free(m);
    return 0;
}

static void graph_usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec graph MODEL PAIRS [-o OUT] [--quiet]\n\n"
            "Writes the pair graph of MODEL from PAIRS (the pairs it was trained on) beside\n"
            "it, as <MODEL without .wr>.graph: what walkrecd's explain=1 answers read (the\n"
            "direct pair, shared partners, walk steps). walkrecd writes it with every\n"
            "generation it trains; this is for models trained with walkrec train.\n\n"
            "  -o, --output PATH  graph file to write instead\n"
            "  --quiet            no summary on stderr\n"
            "  -h, --help         this help\n");
}

int cmd_graph(int argc, char **argv)
{
    const char *out = NULL;
    int rc = out_options(argc, argv, graph_usage, &out);
    if (rc >= 0)
        return rc;
    if (optind + 2 != argc) {
        graph_usage(stderr);
        return 2;
    }
    wr_err err;
    wr_model *m = model_map(argv[optind], &err);
    if (!m)
        die("%s", err.msg);
    wr_pairs p;
    pairs_init(&p);
    if (pairs_read(&p, argv[optind + 1], NULL, NULL, &err) < 0)
        die("%s", err.msg);
    char *path = out ? xstrdup(out) : explain_graph_path(argv[optind]);
    double t0 = wr_now();
    if (explain_graph_write(path, &p, m->ids, &err) < 0)
        die("%s", err.msg);
    wr_explain_graph *g = explain_graph_open(path, m->ids, &err);
    if (!g)
        die("%s", err.msg);
    if (!wr_quiet)
        fprintf(stderr, "%s: %llu pairs of %u items in %.2f s\n", path,
                (unsigned long long)explain_graph_pairs(g), m->n, wr_now() - t0);
    explain_graph_free(g);
    free(path);
    pairs_free(&p);
    model_free(m);
    return 0;
}
