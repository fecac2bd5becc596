/* cmd_eval.c - `walkrec eval`: model + validation pairs -> AUC, recall@k, NDCG@k. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/eval.h"
#include "walkrec/side.h"
#include "walkrec/file.h"
#include "walkrec/rank.h"
#include "walkrec/report.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec eval MODEL VAL [options]\n\n"
            "Scores the validation pairs (item_a, item_b, label from `walkrec split`) by cosine:\n"
            "AUC-ROC over all pairs (items missing from the model get the median score) and\n"
            "over pairs whose items are both in the model; recall@k and NDCG@k of ranking all\n"
            "model items for a sample of query items with held-out positives; coverage and\n"
            "popularity of those lists. Beside them, on the same pairs and queries: the\n"
            "popularity baseline (log1p(deg a) + log1p(deg b) with training degrees; its lists\n"
            "are the best-sellers), and for a calibrated model the probability's AUC, Brier\n"
            "score and reliability table. With degree-matched negatives in VAL (split\n"
            "--negatives degree|both) every AUC is also given on those (definitions in\n"
            "include/walkrec/eval.h).\n\n"
            "  --train PATH        training pairs: the query's training neighbours are left out\n"
            "                      of its ranking; their degrees make the popularity baseline\n"
            "                      (without them the baseline is unavailable)\n"
            "  --lists             rank as walkrecd serves: each query's list as stored in the\n"
            "                      model (walkrec index, walkrec train), training neighbours\n"
            "                      left out, instead of an exact ranking of every item\n"
            "  --unseen RULE       a pair with an item the model lacks: median (default, the\n"
            "                      original protocol: the median of the seen pairs' scores)\n"
            "                      or zero (cosine 0; popularity and probability by its\n"
            "                      training degree); one rule for every row\n"
            "  --diversity L       re-rank each list from its first max(5k, 50) by MMR with\n"
            "                      lambda L in [0, 1] (0: as ranked; include/walkrec/diverse.h)\n"
            "  --items FILE        an items file, with --attribute COLUMN: the attribute whose\n"
            "  --attribute COLUMN  entropy in the lists is reported, and that --max-per caps\n"
            "  --max-per N         at most N items per value of the attribute in a list\n"
            "  --rank R            rank the model's lists by cosine or probability (calibrated\n"
            "                      models only) (default: for a calibrated model the order\n"
            "                      chosen on its calibration slice when it was trained,\n"
            "                      probability unless cosine found clearly more; else cosine)\n"
            "  -k N                cut-off for recall and NDCG (default 10)\n"
            "  --queries N|all     at most N query items: those whose ids hash lowest with\n"
            "                      the seed, the same for any model of the items; all: every\n"
            "                      one (default: every one while queries x items stays under\n"
            "                      3e9 comparisons, ~20 s on two cores, else that many)\n"
            "  --seed N            sampling seed (default 1)\n"
            "  --threads N         threads for the top-k search (default: all cores)\n"
            "  --scores PATH       write item_a, item_b, label, score, seen, negatives (and\n"
            "                      popularity, probability when available) per validation pair\n"
            "  --queries-out PATH  write the sampled query ids, one per line\n"
            "  --report PATH       write an HTML report: ROC, precision and recall against the\n"
            "                      threshold, score histograms, the learning curve stored by\n"
            "                      `train --val`, and these numbers (one file, no scripts)\n"
            "  --compare M2[,M3]   more models to overlay in the report, each evaluated like\n"
            "                      MODEL (repeatable; needs --report; the table and --json stay\n"
            "                      MODEL's)\n"
            "  --json              print one JSON object on stdout\n"
            "  --quiet             no warnings on stderr\n"
            "  -h, --help          this help\n");
}

static json_t *json_number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        die("eval: cannot build the JSON result");
}

static json_t *json_aucs(double all, double seen)
{
    json_t *j = json_object();
    jset(j, "auc_all", json_number(all));
    jset(j, "auc_seen", json_number(seen));
    return j;
}

static json_t *json_bias(double recommended, double catalogue)
{
    if (!isfinite(catalogue))
        return json_null();
    json_t *j = json_object();
    jset(j, "recommended", json_number(recommended));
    jset(j, "catalogue", json_number(catalogue));
    return j;
}

static json_t *json_unavailable(const char *reason)
{
    json_t *j = json_object();
    jset(j, "available", json_false());
    jset(j, "reason", json_string(reason));
    return j;
}

#define NO_POPULARITY "needs the training pairs (--train) for the degrees"
#define NO_PROBABILITY "the model carries no calibration"

/* Sets the recall/NDCG/coverage keys for cut-off k. */
static void json_lists(json_t *j, size_t k, double recall, double ndcg, double coverage)
{
    char key[48];
    snprintf(key, sizeof key, "recall_at_%zu", k);
    jset(j, key, json_number(recall));
    snprintf(key, sizeof key, "ndcg_at_%zu", k);
    jset(j, key, json_number(ndcg));
    snprintf(key, sizeof key, "coverage_at_%zu", k);
    jset(j, key, json_number(coverage));
}

static json_t *json_popularity(const wr_eval_opts *o, const wr_eval_result *r)
{
    if (!r->has_popularity)
        return json_unavailable(NO_POPULARITY);
    const wr_eval_auc *a = &r->popularity;
    const wr_eval_lists *l = &r->popularity_lists;
    json_t *j = json_aucs(a->all, a->seen);
    jset(j, "available", json_true());
    json_lists(j, o->k, l->recall, l->ndcg, l->coverage);
    jset(j, "popularity_bias", json_bias(l->mean_log_degree, r->catalogue_log_degree));
    if (r->negatives_degree)
        jset(j, "degree_negatives", json_aucs(a->degree_all, a->degree_seen));
    return j;
}

static json_t *json_probability(const wr_eval_result *r)
{
    if (!r->has_probability)
        return json_unavailable(NO_PROBABILITY);
    const wr_eval_auc *a = &r->probability;
    json_t *j = json_aucs(a->all, a->seen), *bins = json_array();
    jset(j, "available", json_true());
    if (r->negatives_degree)
        jset(j, "degree_negatives", json_aucs(a->degree_all, a->degree_seen));
    jset(j, "brier", json_number(r->brier));
    jset(j, "brier_constant", json_number(r->brier_constant));
    jset(j, "brier_pairs", json_integer((json_int_t)r->brier_pairs));
    jset(j, "ece", json_number(r->ece));
    jset(j, "ece_all", json_number(r->ece_all));
    for (int b = 0; b < WR_EVAL_BINS; b++) {
        const wr_reliability_bin *x = &r->reliability[b];
        json_t *bin = json_object();
        jset(bin, "lo", json_real(x->lo));
        jset(bin, "hi", json_real(x->hi));
        jset(bin, "count", json_integer((json_int_t)x->count));
        jset(bin, "mean_predicted", json_number(x->mean_predicted));
        jset(bin, "observed", json_number(x->observed));
        json_array_append_new(bins, bin);
    }
    jset(j, "reliability", bins);
    json_t *coef = json_array();
    for (int i = 0; i < WR_CALIB_NFEAT; i++)
        json_array_append_new(coef, json_real(r->calib.coef[i]));
    jset(j, "coef", coef);
    return j;
}

/* The model's edge weighting and, when its training chose it, the choice (pipeline.h):
 * {"edge_weight": name, "edge_weight_choice": {...}} (new reference; empty without). */
static json_t *edge_weighting(const wr_model *m)
{
    json_t *meta = json_loads(m->meta_json ? m->meta_json : "{}", 0, NULL), *out = json_object();
    json_t *ew = json_object_get(meta, "edge_weight"), *c = json_object_get(meta, "edge_weight_choice");
    if (json_is_string(ew))
        jset(out, "edge_weight", json_incref(ew));
    if (json_is_object(c))
        jset(out, "edge_weight_choice", json_incref(c));
    json_decref(meta);
    return out;
}

static void print_json(const wr_model *m, const wr_eval_opts *o, size_t n, const wr_eval_result *r)
{
    json_t *j = edge_weighting(m), *neg = json_object();
    jset(j, "auc_all", json_number(r->auc_all));
    jset(j, "auc_seen", json_number(r->auc_seen));
    json_lists(j, o->k, r->recall_at_k, r->ndcg_at_k, r->coverage_at_k);
    jset(j, "pairs", json_integer((json_int_t)n));
    jset(j, "pairs_seen", json_integer((json_int_t)r->pairs_seen));
    jset(j, "pairs_unseen", json_integer((json_int_t)r->pairs_unseen));
    jset(j, "queries", json_integer((json_int_t)r->queries));
    jset(j, "query_items", json_integer((json_int_t)r->query_items));
    jset(j, "k", json_integer((json_int_t)o->k));
    jset(j, "seed", json_integer((json_int_t)o->seed));
    jset(j, "rank", json_string(rank_name(r->rank)));
    jset(j, "unseen", json_string(eval_unseen_name(r->unseen)));
    jset(neg, "primary", json_string(split_negatives_name(r->primary)));
    jset(neg, "positives", json_integer((json_int_t)r->positives));
    jset(neg, "uniform", json_integer((json_int_t)r->negatives_uniform));
    jset(neg, "degree", json_integer((json_int_t)r->negatives_degree));
    jset(j, "negatives", neg);
    jset(j, "popularity_bias", json_bias(r->mean_log_degree, r->catalogue_log_degree));
    if (r->negatives_degree)
        jset(j, "degree_negatives", json_aucs(r->deg_auc_all, r->deg_auc_seen));
    jset(j, "popularity", json_popularity(o, r));
    jset(j, "probability", json_probability(r));
    json_t *dv = json_object();
    jset(dv, "lambda", json_real(o->diversity));
    jset(dv, "max_per", json_integer((json_int_t)o->max_per));
    jset(dv, "ils", json_number(r->ils));
    jset(dv, "attribute_entropy", json_number(r->attr_entropy));
    jset(j, "diversity", dv);
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    putchar('\n');
    json_decref(j);
}

/* One table row: model, popularity and probability columns ("n/a" when not there). */
static void row(const char *name, double model, int has_pop, double pop, int has_prob, double prob)
{
    char c[3][16];
    const double v[3] = {model, pop, prob};
    const int has[3] = {1, has_pop, has_prob};
    for (int i = 0; i < 3; i++)
        snprintf(c[i], sizeof c[i], has[i] && isfinite(v[i]) ? "%.6f" : "n/a", v[i]);
    printf("%-26s %12s %12s %12s\n", name, c[0], c[1], c[2]);
}

static void print_reliability(const wr_eval_result *r)
{
    printf("\nprobability over the seen pairs: Brier %.6f over %zu pairs (constant base rate: "
           "%.6f), ECE %.4f (all pairs, unseen items imputed: %.4f)\n",
           r->brier, r->brier_pairs, r->brier_constant, r->ece, r->ece_all);
    printf("%-12s %10s %14s %10s\n", "predicted", "pairs", "mean predicted", "observed");
    for (int b = 0; b < WR_EVAL_BINS; b++) {
        const wr_reliability_bin *x = &r->reliability[b];
        printf("[%.1f, %.1f%c %10zu %14.4f %10.4f\n", x->lo, x->hi, b + 1 < WR_EVAL_BINS ? ')' : ']',
               x->count, x->mean_predicted, x->observed);
    }
}

static void print_table(const wr_model *m, const wr_eval_opts *o, size_t n, const wr_eval_result *r)
{
    char name[64];
    int pop = r->has_popularity, prob = r->has_probability, deg = r->negatives_degree > 0;
    const wr_eval_auc *pa = &r->popularity, *qa = &r->probability;
    const wr_eval_lists *pl = &r->popularity_lists;
    printf("%-12s %zu (seen %zu, unseen %zu): %zu held-out, %zu uniform + %zu degree-matched "
           "negatives\n", "pairs", n, r->pairs_seen, r->pairs_unseen, r->positives,
           r->negatives_uniform, r->negatives_degree);
    printf("%-26s %12s %12s %12s\n", "", "model", "popularity", "probability");
    row("AUC all", r->auc_all, pop, pa->all, prob, qa->all);
    row("AUC seen", r->auc_seen, pop, pa->seen, prob, qa->seen);
    if (deg) {
        row("AUC all (degree neg.)", r->deg_auc_all, pop, pa->degree_all, prob, qa->degree_all);
        row("AUC seen (degree neg.)", r->deg_auc_seen, pop, pa->degree_seen, prob, qa->degree_seen);
    }
    snprintf(name, sizeof name, "recall@%zu", o->k);
    row(name, r->recall_at_k, pop, pl->recall, 0, NAN);
    snprintf(name, sizeof name, "NDCG@%zu", o->k);
    row(name, r->ndcg_at_k, pop, pl->ndcg, 0, NAN);
    snprintf(name, sizeof name, "coverage@%zu", o->k);
    row(name, r->coverage_at_k, pop, pl->coverage, 0, NAN);
    snprintf(name, sizeof name, "mean log-degree@%zu", o->k);
    row(name, r->mean_log_degree, pop, pl->mean_log_degree, 0, NAN);
    printf("%-12s every row scores a pair with an item the model lacks by %s (--unseen)\n",
           "unseen", r->unseen == WR_UNSEEN_ZERO ? "0 (its degree for popularity and probability)"
                                                 : "the median of the seen pairs' scores");
    printf("%-12s %zu of %zu (%s; lists ranked by %s", "queries", r->queries, r->query_items,
           r->queries < r->query_items ? "sampled by id hash" : "all", rank_name(r->rank));
    if (isfinite(r->catalogue_log_degree))
        printf("; catalogue mean log-degree %.6f", r->catalogue_log_degree);
    printf(")\n");
    printf("%-12s intra-list similarity %.4f, attribute entropy %.4f bits (MMR lambda %g, at "
           "most %u per value; 0: none)\n", "diversity", r->ils, r->attr_entropy, o->diversity,
           o->max_per);
    json_t *ew = edge_weighting(m), *c = json_object_get(ew, "edge_weight_choice");
    json_t *auc = json_object_get(c, "slice_cosine_auc");
    if (json_object_get(ew, "edge_weight"))
        printf("%-12s %s", "edge weight", json_string_value(json_object_get(ew, "edge_weight")));
    if (json_is_object(auc))
        printf(" (chosen in training: slice cosine AUC lift %.4f, raw %.4f)",
               json_number_value(json_object_get(auc, "lift")),
               json_number_value(json_object_get(auc, "raw")));
    if (json_object_get(ew, "edge_weight"))
        putchar('\n');
    json_decref(ew);
    if (!pop)
        printf("popularity baseline: unavailable, it %s\n", NO_POPULARITY);
    if (!prob)
        printf("probability: unavailable, %s\n", NO_PROBABILITY);
    else
        print_reliability(r);
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
    if (file_write_atomic(path, buf, len, &err) < 0)
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
    const wr_eval_result *r = s->r;
    fputs("item_a\titem_b\tlabel\tscore\tseen\tnegatives", f);
    fputs(r->popularity_scores ? "\tpopularity" : "", f);
    fputs(r->probabilities ? "\tprobability\n" : "\n", f);
    for (size_t i = 0; i < s->v->n; i++) {
        int label = s->v->label[i];
        int kind = s->v->kind ? s->v->kind[i] : WR_NEG_UNIFORM;
        fprintf(f, "%s\t%s\t%u\t%.17g\t%u\t%s", s->v->a[i], s->v->b[i], (unsigned)label,
                r->scores[i], (unsigned)r->seen[i], label ? "" : split_negatives_name(kind));
        if (r->popularity_scores)
            fprintf(f, "\t%.17g", r->popularity_scores[i]);
        if (r->probabilities)
            fprintf(f, "\t%.17g", r->probabilities[i]);
        putc('\n', f);
    }
}

static void emit_queries(FILE *f, const void *arg)
{
    const scores_out *s = arg;
    for (size_t i = 0; i < s->r->queries; i++)
        fprintf(f, "%s\n", dict_str(s->m->ids, s->r->query_rows[i]));
}

/* Appends the comma-separated paths of one --compare to models; returns the new count. */
static size_t compare_add(const char ***models, size_t n, char *arg)
{
    char *save = NULL;
    for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        *models = xrealloc(*models, (n + 1) * sizeof **models);
        (*models)[n++] = tok;
    }
    return n;
}

/* A model's label in the report: its file name, or its path when two file names agree. */
static const char *model_label(const char **paths, size_t n, size_t i)
{
    const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
    for (size_t j = 0; j < n; j++) {
        const char *b = strrchr(paths[j], '/') ? strrchr(paths[j], '/') + 1 : paths[j];
        if (j != i && !strcmp(b, base) && strcmp(paths[j], paths[i]))
            return paths[i];
    }
    return base;
}

static void write_report(const char *path, const wr_report *rep)
{
    char *buf = NULL;
    size_t len = 0;
    wr_err err;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        die("%s: cannot allocate the output buffer", path);
    int rc = report_write(f, rep, &err);
    if (fclose(f) != 0 || rc < 0)
        die("%s: cannot format the report", path);
    if (file_write_atomic(path, buf, len, &err) < 0)
        die("%s", err.msg);
    free(buf);
}

/* The report of the main model (already evaluated) and the --compare models, each loaded
 * and evaluated on the same pairs with the same options. */
static void report(const char *out, const char **paths, size_t n, const wr_model *main_m,
                   const wr_eval_result *main_r, const char *val_path, const wr_labeled *v,
                   const char *train_path, const wr_eval_opts *eo)
{
    wr_report_model *rm = xcalloc(n, sizeof *rm);
    wr_model **ms = xcalloc(n, sizeof *ms); /* NOLINT(bugprone-sizeof-expression): pointers */
    wr_eval_result *rs = xcalloc(n, sizeof *rs);
    wr_err err;
    for (size_t i = 1; i < n; i++) {
        if (!(ms[i] = model_load(paths[i], &err)))
            die("%s", err.msg);
        if (eval_model(ms[i], v, eo, &rs[i], &err) < 0)
            die("%s: %s", paths[i], err.msg);
        if (rs[i].pairs_seen == 0)
            wr_warn("eval: %s: no validation pair has both items in the model", paths[i]);
    }
    for (size_t i = 0; i < n; i++)
        rm[i] = (wr_report_model){model_label(paths, n, i), i ? ms[i] : main_m,
                                  i ? &rs[i] : main_r};
    wr_report rep = {val_path, train_path, v, eo, rm, n};
    write_report(out, &rep);
    for (size_t i = 1; i < n; i++) {
        model_free(ms[i]);
        eval_result_free(&rs[i]);
    }
    free(rs);
    free(ms);
    free(rm);
}

/* Every model row's value of the items file's column (NULL: none; borrowed from *table,
 * which the caller frees), for --attribute. */
static const char **attribute_values(const wr_model *m, const char *path, const char *column,
                                     wr_side **table)
{
    wr_err err;
    wr_side *s = side_load(path, m->ids, &err);
    if (!s)
        die("%s", err.msg);
    int64_t col = side_column(s, column);
    if (col < 0)
        die("--attribute: %s has no column '%s'", path, column);
    const char **v = xmalloc(((size_t)m->n + 1) * sizeof *v);
    for (uint32_t r = 0; r < m->n; r++)
        v[r] = side_value(s, r, (size_t)col);
    *table = s;
    return v;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"train", required_argument, NULL, 't'}, {"queries", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'}, {"threads", required_argument, NULL, 'T'},
        {"scores", required_argument, NULL, 'S'}, {"queries-out", required_argument, NULL, 'Q'},
        {"rank", required_argument, NULL, 'R'}, {"report", required_argument, NULL, 'P'},
        {"compare", required_argument, NULL, 'C'}, {"lists", no_argument, NULL, 'L'},
        {"unseen", required_argument, NULL, 'U'}, {"diversity", required_argument, NULL, 'D'},
        {"max-per", required_argument, NULL, 'M'}, {"items", required_argument, NULL, 'I'},
        {"attribute", required_argument, NULL, 'A'},
        {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    wr_eval_opts eo;
    eval_default_opts(&eo);
    const char *train_path = NULL, *scores_path = NULL, *queries_path = NULL, *report_path = NULL;
    const char *items_path = NULL, *attribute = NULL;
    const char **models = xmalloc(sizeof *models); /* MODEL, then the --compare ones */
    size_t n_models = 1;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': train_path = optarg; break;
        case 'k': eo.k = cli_uint("-k", optarg, 1, 100000); break;
        case 'n':
            eo.max_queries = !strcmp(optarg, "all") ? SIZE_MAX - 1
                                                    : cli_uint("--queries", optarg, 1, UINT32_MAX);
            break;
        case 's': eo.seed = cli_uint("--seed", optarg, 0, UINT64_MAX); break;
        case 'T': eo.threads = (int)cli_uint("--threads", optarg, 1, 1024); break;
        case 'S': scores_path = optarg; break;
        case 'Q': queries_path = optarg; break;
        case 'P': report_path = optarg; break;
        case 'C': n_models = compare_add(&models, n_models, optarg); break;
        case 'R':
            if ((eo.rank = rank_parse(optarg)) < 0)
                die("--rank: expected cosine or probability, got '%s'", optarg);
            break;
        case 'L': eo.from_lists = 1; break;
        case 'U':
            if ((eo.unseen = eval_unseen_parse(optarg)) < 0)
                die("--unseen: expected median or zero, got '%s'", optarg);
            break;
        case 'D': eo.diversity = cli_double("--diversity", optarg, 0, 1); break;
        case 'M': eo.max_per = (uint32_t)cli_uint("--max-per", optarg, 1, UINT32_MAX); break;
        case 'I': items_path = optarg; break;
        case 'A': attribute = optarg; break;
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
    if (n_models > 1 && !report_path)
        die("--compare overlays models in the report: it needs --report PATH");
    if (!items_path != !attribute || (eo.max_per && !attribute))
        die("--items FILE and --attribute COLUMN go together (and --max-per needs them)");
    if (attribute && n_models > 1)
        die("--attribute describes the rows of one model: not with --compare");
    models[0] = argv[optind];

    wr_err err;
    wr_model *m = eo.from_lists ? model_map(argv[optind], &err) : model_load(argv[optind], &err);
    if (!m)
        die("%s", err.msg);
    wr_side *table = NULL;
    const char **values = attribute ? attribute_values(m, items_path, attribute, &table) : NULL;
    eo.values = values;
    wr_labeled v;
    if (eval_labeled_read(&v, argv[optind + 1], &err) < 0)
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
    if (report_path)
        report(report_path, models, n_models, m, &r, argv[optind + 1], &v, train_path, &eo);
    if (json)
        print_json(m, &eo, v.n, &r);
    else
        print_table(m, &eo, v.n, &r);

    eval_result_free(&r);
    free(values);
    side_free(table);
    if (train_path)
        pairs_free(&train);
    eval_labeled_free(&v);
    model_free(m);
    free(models);
    return 0;
}
