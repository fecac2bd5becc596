/* cmd_synth.c - `walkrec synth`: the seeded synthetic catalogue -> pairs.tsv [+ items.tsv]. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/synth.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec synth -o PAIRS.tsv [options]\n\n"
            "Generates a catalogue with planted categories: items with power-law popularity,\n"
            "pairs mostly within a category with endpoints drawn by popularity, weights from\n"
            "{0.5, 1.0, 1.2} (repeated draws summed). Every item is in a pair; the item and\n"
            "pair counts are exact. Same options and seed, same files.\n\n"
            "  -o, --output PATH     pairs file (item_a, item_b, weight)\n"
            "  --items-out PATH      items file (item, category) for side information\n"
            "  --preset NAME         default (2000 items, 20000 pairs, 20 categories),\n"
            "                        electronics (418749, 4005262, 1000) or\n"
            "                        books (1948370, 26595848, 5000); options below override\n"
            "  --items N             number of items\n"
            "  --pairs N             number of distinct pairs (at least --items)\n"
            "  --categories N        number of categories (at most items / 2)\n"
            "  --in-category X       share of pairs inside a category (default 0.9)\n"
            "  --alpha X             popularity exponent: item of rank r gets r^-alpha (default 1)\n"
            "  --seed N              random seed (default 1)\n"
            "  --json                print a JSON summary on stdout\n"
            "  --quiet               no progress on stderr\n"
            "  -h, --help            this help\n");
}

static void print_json(const wr_synth_opts *o, const char *out, const char *items_out,
                       double secs)
{
    json_t *j = json_pack("{s:s, s:o, s:I, s:I, s:I, s:f, s:f, s:I, s:f, s:I}", "pairs_file", out,
                          "items_file", items_out ? json_string(items_out) : json_null(),
                          "items", (json_int_t)o->items, "pairs", (json_int_t)o->pairs,
                          "categories", (json_int_t)o->categories, "in_category", o->in_category,
                          "alpha", o->alpha, "seed", (json_int_t)o->seed, "seconds", secs,
                          "peak_rss_kib", (json_int_t)wr_peak_rss_kib());
    if (!j)
        die("synth: cannot build the JSON result");
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    putchar('\n');
    json_decref(j);
}

int cmd_synth(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"items-out", required_argument, NULL, 'I'},
        {"preset", required_argument, NULL, 'P'}, {"items", required_argument, NULL, 'n'},
        {"pairs", required_argument, NULL, 'p'}, {"categories", required_argument, NULL, 'c'},
        {"in-category", required_argument, NULL, 'i'}, {"alpha", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    wr_synth_opts so;
    synth_default_opts(&so);
    const char *out = NULL, *items_out = NULL, *preset = NULL;
    /* Explicit sizes win over the preset, wherever they appear on the line. */
    unsigned long long items = 0, pairs = 0, cats = 0;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'I': items_out = optarg; break;
        case 'P': preset = optarg; break;
        case 'n': items = cli_uint("--items", optarg, 2, UINT32_MAX); break;
        case 'p': pairs = cli_uint("--pairs", optarg, 1, (1ULL << 40)); break;
        case 'c': cats = cli_uint("--categories", optarg, 1, UINT32_MAX); break;
        case 'i': so.in_category = cli_double("--in-category", optarg, 0, 1); break;
        case 'a': so.alpha = cli_double("--alpha", optarg, 0, 10); break;
        case 's': so.seed = cli_uint("--seed", optarg, 0, UINT64_MAX); break;
        case 'j': json = 1; break;
        case 'q': wr_quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !out) {
        usage(stderr);
        return 2;
    }
    if (preset && synth_preset(&so, preset) < 0)
        die("--preset: unknown preset '%s' (default, electronics, books)", preset);
    if (items)
        so.items = (uint32_t)items;
    if (pairs)
        so.pairs = pairs;
    if (cats)
        so.categories = (uint32_t)cats;

    double t0 = wr_now();
    wr_err err;
    wr_pairs p;
    uint32_t *cat;
    pairs_init(&p);
    if (synth_generate(&so, &p, &cat, &err) < 0)
        die("%s", err.msg);
    if (pairs_write(&p, out, &err) < 0)
        die("%s", err.msg);
    if (items_out && synth_write_items(&p, cat, items_out, &err) < 0)
        die("%s", err.msg);
    double secs = wr_now() - t0;
    if (json)
        print_json(&so, out, items_out, secs);
    else if (!wr_quiet)
        fprintf(stderr, "synth: %u items, %llu pairs, %u categories (%.0f%% in-category) -> %s "
                "in %.2fs\n", so.items, (unsigned long long)so.pairs, so.categories,
                100 * so.in_category, out, secs);
    free(cat);
    pairs_free(&p);
    return 0;
}
