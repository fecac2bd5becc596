/* cmd_eval.c - `walkrec eval`: model + validation pairs -> AUC, recall@k, NDCG@k. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/eval.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec eval MODEL VAL [options]\n\n"
            "Scores the validation pairs (item_a, item_b, label from `walkrec split`) by cosine:\n"
            "AUC-ROC over all pairs (items missing from the model get the median score) and\n"
            "over pairs whose items are both in the model; recall@k and NDCG@k of ranking all\n"
            "model items for a sample of query items with held-out positives (definitions in\n"
            "include/walkrec/eval.h).\n\n"
            "  --train PATH        training pairs: the query's training neighbours are left out\n"
            "                      of its ranking\n"
            "  -k N                cut-off for recall and NDCG (default 10)\n"
            "  --queries N         at most N sampled query items (default 2000)\n"
            "  --seed N            sampling seed (default 1)\n"
            "  --threads N         threads for the top-k search (default: all cores)\n"
            "  --scores PATH       write item_a, item_b, label, score, seen per validation pair\n"
            "  --queries-out PATH  write the sampled query ids, one per line\n"
            "  --json              print one JSON object on stdout\n"
            "  --quiet             no warnings on stderr\n"
            "  -h, --help          this help\n");
}

static json_t *json_number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static void print_json(const wr_eval_opts *o, size_t n, const wr_eval_result *r)
{
    char recall_key[32], ndcg_key[32];
    snprintf(recall_key, sizeof recall_key, "recall_at_%zu", o->k);
    snprintf(ndcg_key, sizeof ndcg_key, "ndcg_at_%zu", o->k);
    json_t *j = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
                          "auc_all", json_number(r->auc_all), "auc_seen", json_number(r->auc_seen),
                          recall_key, json_number(r->recall_at_k), ndcg_key,
                          json_number(r->ndcg_at_k), "pairs", (json_int_t)n,
                          "pairs_seen", (json_int_t)r->pairs_seen,
                          "pairs_unseen", (json_int_t)r->pairs_unseen,
                          "queries", (json_int_t)r->queries, "k", (json_int_t)o->k,
                          "seed", (json_int_t)o->seed);
    if (!j)
        die("eval: cannot build the JSON result");
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    putchar('\n');
    json_decref(j);
}

static void print_table(const wr_eval_opts *o, size_t n, const wr_eval_result *r)
{
    char recall[32], ndcg[32];
    snprintf(recall, sizeof recall, "recall@%zu", o->k);
    snprintf(ndcg, sizeof ndcg, "NDCG@%zu", o->k);
    printf("%-12s %zu (seen %zu, unseen %zu)\n", "pairs", n, r->pairs_seen, r->pairs_unseen);
    printf("%-12s %.6f\n", "AUC all", r->auc_all);
    printf("%-12s %.6f\n", "AUC seen", r->auc_seen);
    printf("%-12s %.6f\n", recall, r->recall_at_k);
    printf("%-12s %.6f\n", ndcg, r->ndcg_at_k);
    printf("%-12s %zu\n", "queries", r->queries);
}

/* Writes the formatted text of `emit` atomically to path. */
static void write_text(const char *path, void (*emit)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        die("%s: cannot allocate the output buffer", path);
    emit(f, arg);
    if (fclose(f) != 0)
        die("%s: cannot format the output", path);
    wr_err err;
    if (write_file_atomic(path, buf, len, &err) < 0)
        die("%s", err.msg);
    free(buf);
}

typedef struct scores_out {
    const wr_labeled *v;
    const wr_eval_result *r;
    const wr_model *m;
} scores_out;

static void emit_scores(FILE *f, const void *arg)
{
    const scores_out *s = arg;
    fputs("item_a\titem_b\tlabel\tscore\tseen\n", f);
    for (size_t i = 0; i < s->v->n; i++)
        fprintf(f, "%s\t%s\t%u\t%.17g\t%u\n", s->v->a[i], s->v->b[i], (unsigned)s->v->label[i],
                s->r->scores[i], (unsigned)s->r->seen[i]);
}

static void emit_queries(FILE *f, const void *arg)
{
    const scores_out *s = arg;
    for (size_t i = 0; i < s->r->queries; i++)
        fprintf(f, "%s\n", dict_str(s->m->ids, s->r->query_rows[i]));
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"train", required_argument, NULL, 't'}, {"queries", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'}, {"threads", required_argument, NULL, 'T'},
        {"scores", required_argument, NULL, 'S'}, {"queries-out", required_argument, NULL, 'Q'},
        {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    wr_eval_opts eo;
    eval_default_opts(&eo);
    const char *train_path = NULL, *scores_path = NULL, *queries_path = NULL;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': train_path = optarg; break;
        case 'k': eo.k = cli_uint("-k", optarg, 1, 100000); break;
        case 'n': eo.max_queries = cli_uint("--queries", optarg, 1, UINT32_MAX); break;
        case 's': eo.seed = cli_uint("--seed", optarg, 0, UINT64_MAX); break;
        case 'T': eo.threads = (int)cli_uint("--threads", optarg, 1, 1024); break;
        case 'S': scores_path = optarg; break;
        case 'Q': queries_path = optarg; break;
        case 'j': json = 1; break;
        case 'q': wr_quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 2 != argc) {
        usage(stderr);
        return 2;
    }

    wr_err err;
    wr_model *m = model_load(argv[optind], &err);
    if (!m)
        die("%s", err.msg);
    wr_labeled v;
    if (labeled_read(&v, argv[optind + 1], &err) < 0)
        die("%s", err.msg);
    wr_pairs train;
    if (train_path) {
        wr_read_stats st;
        pairs_init(&train);
        if (pairs_read(&train, train_path, NULL, &st, &err) < 0)
            die("%s", err.msg);
        eo.train = &train;
    }

    wr_eval_result r;
    if (eval_model(m, &v, &eo, &r, &err) < 0)
        die("%s", err.msg);
    if (r.pairs_seen == 0)
        wr_warn("eval: no validation pair has both items in the model");

    scores_out so = {&v, &r, m};
    if (scores_path)
        write_text(scores_path, emit_scores, &so);
    if (queries_path)
        write_text(queries_path, emit_queries, &so);
    if (json)
        print_json(&eo, v.n, &r);
    else
        print_table(&eo, v.n, &r);

    eval_result_free(&r);
    if (train_path)
        pairs_free(&train);
    labeled_free(&v);
    model_free(m);
    return 0;
}
