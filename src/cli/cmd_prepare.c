/* cmd_prepare.c - `walkrec prepare`: Amazon product metadata -> pairs (+ side information). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/amazon.h"
#include "walkrec/prepare.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec prepare META --pairs OUT.tsv [options]\n\n"
            "Reads Amazon product metadata, one record per line, plain or gzip'd: the 2014\n"
            "release (Python dict literals, relations under `related`) or the 2018 release\n"
            "(JSON, top-level also_buy / also_view). Writes every related unordered pair once,\n"
            "item_a < item_b, weight = sum over both directions of the weights of the\n"
            "relations linking them. Repeated records of an asin are merged.\n\n"
            "  --pairs PATH      pairs to write, header item_a<TAB>item_b<TAB>weight (required)\n"
            "  --items PATH      side information to write: item, brand, category, price,\n"
            "                    title, salesrank (one row per asin with a record)\n"
            "  --weights SPEC    relation weights, e.g. also_bought=1,also_viewed=0.25; 0 = off\n"
            "                    (defaults: bought_together=1.2, also_bought=1 (also_buy),\n"
            "                    also_viewed=0.5 (also_view), buy_after_viewing=0)\n"
            "  --strict          the first malformed line is an error (default: skip, warn)\n"
            "  --json            print the counts as JSON on stdout\n"
            "  --quiet           no progress, summary or warnings on stderr\n"
            "  -h, --help        this help\n");
}

static void print_json(const char *in, const wr_prepare_stats *st)
{
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "input", in, "lines",
                          (json_int_t)st->lines, "records", (json_int_t)st->records, "malformed",
                          (json_int_t)st->malformed, "pairs", (json_int_t)st->pairs, "items",
                          (json_int_t)st->items, "items_with_info",
                          (json_int_t)st->items_with_info, "truncated", st->truncated);
    if (!j)
        die("prepare: cannot build the JSON summary");
    json_dumpf(j, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(j);
}

int cmd_prepare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pairs", required_argument, NULL, 'p'}, {"items", required_argument, NULL, 'i'},
        {"weights", required_argument, NULL, 'w'}, {"strict", no_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    wr_weights wt = wr_default_weights;
    wr_prepare_opts po = {.weights = &wt};
    const char *pairs_path = NULL, *items_path = NULL;
    int json = 0, c;
    wr_err err;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pairs_path = optarg; break;
        case 'i': items_path = optarg; break;
        case 'w':
            if (pairs_weights_parse(&wt, optarg, &err) < 0)
                die("--%s", err.msg);
            break;
        case 's': po.strict = 1; break;
        case 'j': json = 1; break;
        case 'q': wr_quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc || !pairs_path) {
        usage(stderr);
        return 2;
    }
    const char *in = argv[optind];

    wr_prepare_stats st;
    if (prepare_amazon(in, pairs_path, items_path, &po, &st, &err) < 0)
        die("%s", err.msg);
    if (json)
        print_json(in, &st);
    if (!wr_quiet)
        fprintf(stderr,
                "prepare: %llu lines, %llu records, %llu malformed%s -> %s: %llu pairs over %llu "
                "items%s%s\n",
                (unsigned long long)st.lines, (unsigned long long)st.records,
                (unsigned long long)st.malformed, st.truncated ? " (input cut off)" : "",
                pairs_path, (unsigned long long)st.pairs, (unsigned long long)st.items,
                items_path ? ", side information -> " : "", items_path ? items_path : "");
    return 0;
}
