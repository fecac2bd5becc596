/* cmd_train.c - `walkrec train`: flags into the pipeline's options (pipeline.h), the model
 * written, a summary printed. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/edgeweight.h"
#include "walkrec/mf.h"
#include "walkrec/rank.h"
#include "walkrec/pipeline.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: walkrec train PAIRS -o MODEL [options]\n"
            "       walkrec train --sequences FILE -o MODEL [options]\n\n"
            "Builds the item graph from the pairs, generates random walks and trains word2vec\n"
            "(skip-gram or CBOW with negative sampling) on them; or trains on given sequences;\n"
            "or trains a matrix-factorisation baseline (include/walkrec/mf.h).\n\n"
            "  -o, --output MODEL      model file to write\n"
            "  --algo A                sgns (default), cbow, mf (factorisation of the pairs,\n"
            "                          scored by dot product) or mf-seq (the same on the\n"
            "                          (centre, context) pairs of the walks)\n"
            "  --bias                  mf, mf-seq: a bias per item and a global bias\n"
            "  --labels L              mf: binary (sigmoid, cross-entropy; default) or\n"
            "                          continuous (the pair weight as target, squared error)\n"
            "  --l2 X                  mf, mf-seq: L2 regularisation (default 1e-6)\n"
            "  --optimizer O           mf, mf-seq: auto (default: adam for mf, sgd for mf-seq),\n"
            "                          adam (lr 0.0003, continuous labels 0.0001), adagrad\n"
            "                          (lr 0.01) or sgd (lr 0.01)\n"
            "  --init I                mf, mf-seq: small (default: uniform, |v| about 0.1) or\n"
            "                          normal (N(0,1), item biases too); --optimizer adam\n"
            "                          --init normal is the posts' recipe (Adam, lr 0.01)\n"
            "  --side-info ITEMS       sgns: each item's vector is a learned weighted mean of its\n"
            "                          id's and its side information's embeddings (EGES,\n"
            "                          include/walkrec/eges.h); items with side information\n"
            "                          but no pairs get a vector from it alone\n"
            "  --side-columns LIST     columns of ITEMS to use, comma-separated, each optionally\n"
            "                          :value, :path, :bucket or :words (default: all,\n"
            "                          kinds guessed from names and contents)\n"
            "  --sequences FILE        train on these sequences (one per line, ids separated by\n"
            "                          spaces or tabs) instead of walks over PAIRS\n"
            );
    fprintf(f,
            "  --walks-out FILE        write the generated walks as text, one per line\n"
            "  --keep-context          keep skip-gram's output (context) vectors in the model\n"
            "                          (sgns, cbow; bench/direction.sh reads them)\n"
            "  --dim N                 vector dimension (default 128)\n"
            "  --walks-per-item N      walks started from each item (default 10)\n"
            "  --walk-length N         items per walk (default 10)\n"
            "  --p X, --q X            node2vec return and in-out parameters (default 1, 1)\n"
            "  --mode sg|cbow          the same as --algo sgns|cbow\n"
            "  --window N              context window (default 5)\n"
            "  --negative N            negatives per centre word, or per pair for mf\n"
            "                          (default 5)\n"
            "  --epochs N              passes over the walks (default 5)\n"
            "  --subsample X           subsampling threshold, 0 = off (default 1e-3)\n"
            "  --lr X                  initial learning rate (default 0.025; mf: by optimizer)\n"
            "  --min-lr X              final learning rate (default 0.0001; mf: 0)\n"
            "  --lr-schedule S         linear (over all epochs) or cosine (restarting each\n"
            "                          epoch) (default linear; mf: always cosine)\n"
            "  --threads N             threads (default: all cores)\n"
            "  --seed N                seed for walks and training, >= 1 (default 1); with\n"
            "                          --threads 1 a run is repeatable bit for bit\n"
            "  --edge-weight S         auto, raw, pmi, lift or jaccard: re-weight pairs by the\n"
            "                          items' totals before walking (default auto: train\n"
            "                          with lift and with raw, keep the model whose cosine\n"
            "                          ranks the calibration slice better, at twice the\n"
            "                          training time; without a slice lift; mf: raw, so\n"
            "                          continuous labels are the summed weights)\n"
            "  --calibration X         share of training pairs held out to fit the pair\n"
            "                          probability (default 0.05; 0 = no calibration);\n"
            "                          mf: held out to choose the number of epochs a\n"
            "                          second training on all pairs runs (default: 0.1\n"
            "                          for plain mf, none with --bias, continuous labels\n"
            "                          or the posts' recipe; 0 = none; not for mf-seq)\n"
            "  --positive-rate P       share of related pairs among the pairs the probability\n"
            "                          is asked about (default 0.5: one per random pair, as in\n"
            "                          walkrec split's validation pairs); adjusts the odds\n"
            "  --index-k N             neighbours per item stored with the model, so that\n"
            "                          walkrecd serves them without building them (default\n"
            "                          100; 0 = none; walkrec index --help for the others:\n"
            "                          --rank, --exact-max-items, --probe, --popular,\n"
            "                          --min-recall)\n"
            "  --val VAL               validation pairs (item_a, item_b, label): record the AUC\n"
            "                          during training (the learning curve) in the model\n"
            "  --eval-every N          evaluations per run with --val (default 10)\n"
            "  --json                  print a summary object on stdout\n"
            "  --quiet                 no progress or summary on stderr\n"
            "  -h, --help              this help\n");
}

typedef struct args {
    const char *pairs, *out, *sequences, *val;
    int json;
    wr_lists_opts lists; /* k 0: no lists stored */
    int rank;
} args;

static void print_point(double progress, uint32_t epoch, double auc_all, double auc_seen,
                        void *ctx)
{
    if (!wr_quiet)
        fprintf(stderr, "learning curve: %5.1f%% (epoch %u)  AUC all %.4f  seen %.4f\n",
                100 * progress, epoch, auc_all, auc_seen);
}

/* A flag's value 0 that means "none" where the options' 0 means "the default". */
static double zero_is_none(double v) { return v == 0 ? -1 : v; }

static void parse(int argc, char **argv, args *a, wr_pipeline_opts *o)
{
    enum { O_SEQ = 256, O_WALKS_OUT, O_DIM, O_WPI, O_LEN, O_P, O_Q, O_MODE, O_WINDOW, O_NEG,
           O_EPOCHS, O_SUB, O_LR, O_MINLR, O_SCHED, O_THREADS, O_SEED, O_VAL, O_EVERY, O_JSON,
           O_QUIET, O_EDGE, O_CALIB, O_PRATE, O_ALGO, O_BIAS, O_LABELS, O_L2, O_SIDE, O_SIDE_COLS,
           O_OPTIMIZER, O_INIT, O_CONTEXT };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"sequences", required_argument, NULL, O_SEQ},
        {"walks-out", required_argument, NULL, O_WALKS_OUT},
        {"keep-context", no_argument, NULL, O_CONTEXT},
        {"dim", required_argument, NULL, O_DIM}, {"walks-per-item", required_argument, NULL, O_WPI},
        {"walk-length", required_argument, NULL, O_LEN}, {"p", required_argument, NULL, O_P},
        {"q", required_argument, NULL, O_Q}, {"mode", required_argument, NULL, O_MODE},
        {"window", required_argument, NULL, O_WINDOW},
        {"negative", required_argument, NULL, O_NEG},
        {"epochs", required_argument, NULL, O_EPOCHS},
        {"subsample", required_argument, NULL, O_SUB}, {"lr", required_argument, NULL, O_LR},
        {"min-lr", required_argument, NULL, O_MINLR},
        {"lr-schedule", required_argument, NULL, O_SCHED},
        {"threads", required_argument, NULL, O_THREADS},
        {"seed", required_argument, NULL, O_SEED}, {"val", required_argument, NULL, O_VAL},
        {"eval-every", required_argument, NULL, O_EVERY}, {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET}, {"help", no_argument, NULL, 'h'},
        {"edge-weight", required_argument, NULL, O_EDGE},
        {"calibration", required_argument, NULL, O_CALIB},
        {"positive-rate", required_argument, NULL, O_PRATE},
        {"side-info", required_argument, NULL, O_SIDE},
        {"side-columns", required_argument, NULL, O_SIDE_COLS},
        {"algo", required_argument, NULL, O_ALGO}, {"bias", no_argument, NULL, O_BIAS},
        {"labels", required_argument, NULL, O_LABELS}, {"l2", required_argument, NULL, O_L2},
        {"index-k", required_argument, NULL, CLI_O_K}, {"rank", required_argument, NULL, CLI_O_RANK},
        {"exact-max-items", required_argument, NULL, CLI_O_EXACT_MAX},
        {"probe", required_argument, NULL, CLI_O_PROBE},
        {"popular", required_argument, NULL, CLI_O_POPULAR},
        {"min-recall", required_argument, NULL, CLI_O_MIN_RECALL},
        {"optimizer", required_argument, NULL, O_OPTIMIZER},
        {"init", required_argument, NULL, O_INIT},
        {NULL, 0, NULL, 0},
    };
    int c, algo;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (cli_lists_option(c, optarg, &a->lists, &a->rank) == 0)
            continue;
        switch (c) {
        case 'o': a->out = optarg; break;
        case O_SEQ: a->sequences = optarg; break;
        case O_WALKS_OUT: o->walks_out = optarg; break;
        case O_CONTEXT: o->keep_context = 1; break;
        case O_DIM: o->dim = (uint32_t)cli_uint("--dim", optarg, 1, 65536); break;
        case O_WPI: o->walks_per_item = (uint32_t)cli_uint("--walks-per-item", optarg, 1, 1000000); break;
        case O_LEN: o->walk_length = (uint32_t)cli_uint("--walk-length", optarg, 1, 1000000); break;
        case O_P: o->p = cli_double("--p", optarg, 1e-6, 1e6); break;
        case O_Q: o->q = cli_double("--q", optarg, 1e-6, 1e6); break;
        case O_MODE:
            if (strcmp(optarg, "sg") && strcmp(optarg, "cbow"))
                die("--mode: expected sg or cbow, got '%s'", optarg);
            o->algo = !strcmp(optarg, "sg") ? WR_ALGO_SGNS : WR_ALGO_CBOW;
            break;
        case O_ALGO:
            if ((algo = pipeline_algo_parse(optarg)) < 0)
                die("--algo: expected sgns, cbow, mf or mf-seq, got '%s'", optarg);
            o->algo = (wr_algo)algo;
            break;
        case O_BIAS: o->bias = 1; break;
        case O_LABELS:
            if (strcmp(optarg, "binary") && strcmp(optarg, "continuous"))
                die("--labels: expected binary or continuous, got '%s'", optarg);
            o->labels = !strcmp(optarg, "binary") ? WR_MF_BINARY : WR_MF_CONTINUOUS;
            break;
        case O_L2: o->l2 = zero_is_none(cli_double("--l2", optarg, 0, 1e6)); break;
        case O_WINDOW: o->window = (uint32_t)cli_uint("--window", optarg, 1, WR_SGNS_MAX_WINDOW); break;
        case O_NEG: o->negative = (uint32_t)cli_uint("--negative", optarg, 1, WR_SGNS_MAX_NEGATIVE); break;
        case O_EPOCHS: o->epochs = (uint32_t)cli_uint("--epochs", optarg, 1, 100000); break;
        case O_SUB: o->subsample = zero_is_none(cli_double("--subsample", optarg, 0, 1)); break;
        case O_LR: o->lr = cli_double("--lr", optarg, 1e-9, 10); break;
        case O_MINLR: o->min_lr = zero_is_none(cli_double("--min-lr", optarg, 0, 10)); break;
        case O_OPTIMIZER:
            if ((o->optimizer = mf_optimizer_parse(optarg)) < 0)
                die("--optimizer: expected auto, adam, adagrad or sgd, got '%s'", optarg);
            break;
        case O_INIT:
            if ((o->init = mf_init_parse(optarg)) < 0)
                die("--init: expected small or normal, got '%s'", optarg);
            break;
        case O_SCHED:
            if (strcmp(optarg, "linear") && strcmp(optarg, "cosine"))
                die("--lr-schedule: expected linear or cosine, got '%s'", optarg);
            o->lr_schedule = !strcmp(optarg, "linear") ? WR_LR_LINEAR : WR_LR_COSINE;
            break;
        case O_THREADS: o->run.threads = (int)cli_uint("--threads", optarg, 1, 1024); break;
        case O_SEED: o->run.seed = cli_uint("--seed", optarg, 1, UINT64_MAX); break;
        case O_VAL: a->val = optarg; break;
        case O_EVERY: o->eval_every = (uint32_t)cli_uint("--eval-every", optarg, 1, 10000); break;
        case O_JSON: a->json = 1; break;
        case O_QUIET: wr_quiet = 1; break;
        case O_EDGE:
            if ((o->edge_weight = edgeweight_parse(optarg)) < 0)
                die("--edge-weight: expected auto, raw, pmi, lift or jaccard, got '%s'", optarg);
            break;
        case O_CALIB:
            o->calibration = zero_is_none(cli_double("--calibration", optarg, 0, 0.5));
            break;
        case O_PRATE: o->positive_rate = cli_double("--positive-rate", optarg, 1e-4, 0.9999); break;
        case O_SIDE: o->side_info = optarg; break;
        case O_SIDE_COLS: o->side_columns = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc)
        a->pairs = argv[optind++];
    if (optind < argc || (!a->pairs && !a->sequences)) {
        usage(stderr);
        exit(2);
    }
    if (a->pairs && a->sequences)
        die("train: give either PAIRS or --sequences, not both");
    if (!a->out)
        die("train: -o MODEL is required");
    o->on_point = print_point;
    a->lists.threads = o->run.threads;
}

/* Fails before the training rather than after it when an output cannot be written. */
static void check_writable(const char *path)
{
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        slash[slash == dir] = '\0';
        d = dir;
    }
    if (access(d, W_OK | X_OK) != 0)
        die("%s: cannot write into %s: %s", path, d, strerror(errno));
    free(dir);
}

static void print_summary(const wr_model *m, const wr_pipeline_result *r, const wr_pipeline_opts *o,
                          double load, double save)
{
    const wr_train_times *t = &r->times;
    double epochs = o->epochs ? o->epochs : 5;
    double trained = (double)t->tokens * epochs;
    double rate = t->train > 0 ? trained / t->train : NAN;
    /* mf counts directed pairs where the others count walk tokens */
    int mf = o->algo == WR_ALGO_MF;
    if (*r->warning)
        wr_warn("%s", r->warning);
    if (wr_quiet)
        return;
    if (r->calibrated)
        fprintf(stderr, "calibration: %zu held-out pairs, Brier %.4f (constant %.4f); lists "
                "rank by %s (slice recall@10 by probability %.4f, by cosine %.4f)\n",
                r->calib_positives, r->brier, r->brier_constant, rank_name(r->rank),
                r->rank_recall_probability, r->rank_recall_cosine);
    if (r->ew_chosen)
        fprintf(stderr, "edge weight: %s (slice cosine AUC: lift %.4f, raw %.4f; both trained "
                "in %.2fs)\n", r->edge_weight, r->ew_auc[0], r->ew_auc[1], r->ew_seconds);
    if (mf)
        fprintf(stderr, "items %u, %llu directed pairs\n", m->n, (unsigned long long)t->tokens);
    else
        fprintf(stderr, "items %u, %llu sequences, %llu tokens\n", m->n,
                (unsigned long long)t->sequences, (unsigned long long)t->tokens);
    fprintf(stderr, "load %.2fs  graph %.2fs  walks %.2fs  train %.2fs (%.0f %s/s)", load,
            t->graph, t->walks, t->train, rate, mf ? "pairs" : "tokens");
    if (o->walks_out)
        fprintf(stderr, "  walks-out %.2fs", t->write_walks);
    if (o->val)
        fprintf(stderr, "  learning curve %.2fs", t->eval);
    if (r->calibrated)
        fprintf(stderr, "  calibration %.2fs", r->calibration_seconds);
    fprintf(stderr, "  save %.2fs  peak RSS %zu MiB\n", save, wr_peak_rss_kib() / 1024);
}

static void print_json(const wr_model *m, const wr_pipeline_result *r, const wr_pipeline_opts *o,
                       const char *out, double load, double save)
{
    const wr_train_times *t = &r->times;
    double rate = t->train > 0 ? (double)t->tokens * (o->epochs ? o->epochs : 5) / t->train : NAN;
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}, s:o, s:I}",
                          "model", out, "items", (json_int_t)m->n,
                          "sequences", (json_int_t)t->sequences, "tokens", (json_int_t)t->tokens,
                          "times", "load", load, "graph", t->graph, "walks", t->walks,
                          "train", t->train, "write_walks", t->write_walks,
                          "learning_curve", t->eval, "save", save,
                          "tokens_per_second", isfinite(rate) ? json_real(rate) : json_null(),
                          "peak_rss_kib", (json_int_t)wr_peak_rss_kib());
    if (!j || !meta)
        die("train: cannot build the JSON summary");
    json_t *curve = json_object_get(meta, "learning_curve");
    if (curve)
        json_object_set(j, "learning_curve", curve);
    json_object_set(j, "trainer", json_object_get(meta, "trainer"));
    json_object_set(j, "algo", json_object_get(meta, "algo"));
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    putchar('\n');
    json_decref(j);
    json_decref(meta);
}

int cmd_train(int argc, char **argv)
{
    args a = {.rank = WR_RANK_AUTO};
    wr_pipeline_opts o = {0};
    lists_default_opts(&a.lists);
    parse(argc, argv, &a, &o);
    check_writable(a.out);
    if (o.walks_out)
        check_writable(o.walks_out);

    wr_err err;
    double t0 = wr_now();
    wr_labeled val;
    if (a.val) {
        if (eval_labeled_read(&val, a.val, &err) < 0)
            die("%s", err.msg);
        o.val = &val;
    }
    wr_pairs p;
    wr_corpus c;
    wr_dict *ids = NULL;
    pairs_init(&p);
    if (a.sequences) {
        ids = dict_new(1024);
        if (walk_corpus_read(&c, ids, a.sequences, &err) < 0)
            die("%s", err.msg);
    } else if (pairs_read(&p, a.pairs, NULL, NULL, &err) < 0) {
        die("%s", err.msg);
    } else if (p.n == 0) {
        die("%s: no pairs to train on", a.pairs);
    }
    o.load_seconds = wr_now() - t0;

    wr_pipeline_result r;
    wr_model *m = a.sequences ? pipeline_train_corpus(&c, ids, &o, &r, &err)
                              : pipeline_train(&p, &o, &r, &err);
    if (!m)
        die("train: %s", err.msg);
    wr_lists l = {0};
    if (a.lists.k && !a.sequences) { /* the generation carries its lists (lists.h) */
        if (lists_attach(m, a.rank, &a.lists, &l, &err) < 0)
            die("train: %s", err.msg);
        cli_print_lists(&l);
    }
    double t1 = wr_now();
    if (model_save(m, a.out, &err) < 0)
        die("%s", err.msg);
    double save = wr_now() - t1;
    print_summary(m, &r, &o, o.load_seconds, save);
    if (a.json)
        print_json(m, &r, &o, a.out, o.load_seconds, save);
    model_free(m);
    if (a.sequences) {
        walk_corpus_free(&c);
        dict_free(ids);
    }
    pairs_free(&p);
    if (a.val)
        eval_labeled_free(&val);
    return 0;
}
