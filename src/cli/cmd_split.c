/* cmd_split.c - `walkrec split`: pairs -> training pairs + validation pairs with negatives. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/split.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec split PAIRS --train T --val V [options]\n\n"
            "Splits a pair file at random: T gets the training pairs (item_a, item_b, weight),\n"
            "V the held-out pairs (label 1) plus as many random non-edges (label 0) of each\n"
            "kind asked for, with the header item_a<TAB>item_b<TAB>label (and a fourth column\n"
            "negatives = uniform|degree on negative rows when degree negatives are present).\n\n"
            "  --train PATH      training pairs to write (required)\n"
            "  --val PATH        validation pairs to write (required)\n"
            "  --val-frac X      fraction of pairs held out, in (0, 1) (default 0.33)\n"
            "  --seed N          random seed (default 1); the split is a function of it\n"
            "  --negatives K     uniform: both items uniform over all items (the posts' method);\n"
            "                    degree: each item an end of a random held-out pair, i.e. drawn\n"
            "                    in proportion to its degree exactly as the held-out pairs' own\n"
            "                    items are, so the popularity of single items cannot tell them\n"
            "                    apart (see include/walkrec/split.h); both: one set of each\n"
            "                    (default uniform)\n"
            "  --json            print a JSON summary on stdout\n"
            "  --quiet           no summary or warnings on stderr\n"
            "  -h, --help        this help\n");
}

/* Rows of the validation set: positives, uniform negatives, degree negatives. */
static void count_rows(const wr_valset *val, size_t n[3])
{
    n[0] = n[1] = n[2] = 0;
    for (size_t i = 0; i < val->n; i++)
        n[val->label[i] ? 0 : 1 + (val->kind[i] == WR_NEG_DEGREE)]++;
}

static void print_json(const char *in, const wr_pairs *p, const wr_pairs *train,
                       const wr_valset *val, const wr_split_opts *o)
{
    size_t n[3];
    count_rows(val, n);
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:f, s:I}", "input", in,
                          "items", (json_int_t)dict_size(p->ids), "pairs", (json_int_t)p->n,
                          "train_pairs", (json_int_t)train->n,
                          "val_positives", (json_int_t)n[0],
                          "val_negatives", (json_int_t)(n[1] + n[2]),
                          "val_negatives_uniform", (json_int_t)n[1],
                          "val_negatives_degree", (json_int_t)n[2],
                          "negatives", split_negatives_name(o->negatives),
                          "val_frac", o->val_frac, "seed", (json_int_t)o->seed);
    if (!j)
        die("split: cannot build the JSON summary");
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    putchar('\n');
    json_decref(j);
}

int cmd_split(int argc, char **argv)
{
    static const struct option opts[] = {
        {"train", required_argument, NULL, 't'}, {"val", required_argument, NULL, 'v'},
        {"val-frac", required_argument, NULL, 'f'}, {"seed", required_argument, NULL, 's'},
        {"negatives", required_argument, NULL, 'N'},
        {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    wr_split_opts so = {.val_frac = 0.33, .seed = 1};
    const char *train_path = NULL, *val_path = NULL;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': train_path = optarg; break;
        case 'v': val_path = optarg; break;
        case 'f': so.val_frac = cli_double("--val-frac", optarg, 0, 1); break;
        case 's': so.seed = cli_uint("--seed", optarg, 0, UINT64_MAX); break;
        case 'N':
            if ((so.negatives = split_negatives_parse(optarg)) < 0)
                die("--negatives: expected uniform, degree or both, got '%s'", optarg);
            break;
        case 'j': json = 1; break;
        case 'q': wr_quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc || !train_path || !val_path) {
        usage(stderr);
        return 2;
    }
    const char *in = argv[optind];

    wr_err err;
    wr_pairs p, train;
    wr_valset val;
    wr_read_stats st;
    pairs_init(&p);
    if (pairs_read(&p, in, NULL, &st, &err) < 0)
        die("%s", err.msg);
    if (split_pairs(&p, &so, &train, &val, &err) < 0)
        die("%s", err.msg);
    if (pairs_write(&train, train_path, &err) < 0 || split_valset_write(&val, p.ids, val_path, &err) < 0)
        die("%s", err.msg);

    if (json)
        print_json(in, &p, &train, &val, &so);
    if (!wr_quiet) {
        size_t n[3];
        count_rows(&val, n);
        fprintf(stderr,
                "split: %zu pairs over %u items -> %s: %zu training pairs, %s: %zu held-out + "
                "%zu uniform + %zu degree-matched negative pairs (seed %llu)\n",
                p.n, dict_size(p.ids), train_path, train.n, val_path, n[0], n[1], n[2],
                (unsigned long long)so.seed);
    }
    split_valset_free(&val);
    pairs_free(&train);
    pairs_free(&p);
    return 0;
}
