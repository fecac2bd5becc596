/* cmd_train.c - `walkrec train`: pairs (or sequences) -> model, by word2vec on random walks
 * (train.h) or by one of the matrix-factorisation baselines (mf.h). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "walkrec/calib.h"
#include "walkrec/edgeweight.h"
#include "walkrec/eges.h"
#include "walkrec/mf.h"
#include "walkrec/rank.h"
#include "walkrec/train.h"

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
            "  --walks-out FILE        write the generated walks as text, one per line\n"
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
            "  --seed N                seed for walks and training (default 1); with\n"
            "                          --threads 1 a run is repeatable bit for bit\n"
            "  --edge-weight S         raw, pmi, lift or jaccard: re-weight pairs by the items'\n"
            "                          totals before walking (default lift; mf: raw, so\n"
            "                          continuous labels are the summed weights)\n"
            "  --calibration X         share of training pairs held out to fit the pair\n"
            "                          probability (default 0.05; 0 = no calibration;\n"
            "                          sgns and cbow only)\n"
            "  --val VAL               validation pairs (item_a, item_b, label): record the AUC\n"
            "                          during training (the learning curve) in the model\n"
            "  --eval-every N          evaluations per run with --val (default 10)\n"
            "  --json                  print a summary object on stdout\n"
            "  --quiet                 no progress or summary on stderr\n"
            "  -h, --help              this help\n");
}

enum { ALGO_SGNS, ALGO_CBOW, ALGO_MF, ALGO_MF_SEQ };

typedef struct args {
    const char *pairs, *out, *sequences, *val;
    int json;
    int algo;           /* ALGO_* */
    int edge_weight;    /* WR_EW_*, -1 = the algorithm's default */
    double calib_frac;  /* 0 = uncalibrated, < 0 = the algorithm's default */
    int bias, labels, lr_set, min_lr_set, sched_set, sub_set, l2_set;
    double l2;
    const char *side_info, *side_columns; /* sgns with side information (eges.h) */
    int optimizer, init; /* mf: WR_MF_*, 0 = the default */
} args;

static int is_mf(const args *a) { return a->algo == ALGO_MF || a->algo == ALGO_MF_SEQ; }

static int algo_parse(const char *s)
{
    return !strcmp(s, "sgns") ? ALGO_SGNS : !strcmp(s, "cbow") ? ALGO_CBOW
           : !strcmp(s, "mf") ? ALGO_MF : !strcmp(s, "mf-seq") ? ALGO_MF_SEQ : -1;
}

static void print_point(double progress, uint32_t epoch, double auc_all, double auc_seen,
                        void *ctx)
{
    if (!wr_quiet)
        fprintf(stderr, "learning curve: %5.1f%% (epoch %u)  AUC all %.4f  seen %.4f\n",
                100 * progress, epoch, auc_all, auc_seen);
}

/* Options that belong to one family of trainers, and the defaults that differ. */
static void check_algo(args *a, wr_sgns_opts *s)
{
    const char *name = a->algo == ALGO_MF ? "mf" : a->algo == ALGO_MF_SEQ ? "mf-seq" : NULL;
    if (!is_mf(a)) {
        if (a->bias || a->labels != WR_MF_BINARY || a->l2_set)
            die("train: --bias, --labels and --l2 are for --algo mf and mf-seq");
        s->mode = a->algo == ALGO_CBOW ? WR_MODE_CBOW : WR_MODE_SG;
        if (a->calib_frac < 0)
            a->calib_frac = 0.05;
        if (a->edge_weight < 0)
            a->edge_weight = WR_EW_LIFT;
        return;
    }
    if (a->sequences)
        die("train: --algo %s trains on PAIRS, not --sequences", name);
    if (a->calib_frac > 0)
        die("train: --calibration fits the cosine of sgns and cbow; --algo %s has its own "
            "score", name);
    if (a->sub_set || a->sched_set)
        die("train: --subsample and --lr-schedule are for sgns and cbow (--algo %s always "
            "anneals the learning rate by cosine each epoch)", name);
    if (a->labels == WR_MF_CONTINUOUS && a->algo == ALGO_MF_SEQ)
        die("train: --labels continuous needs pair weights; mf-seq trains on walks");
    a->calib_frac = 0;
    if (a->edge_weight < 0)
        a->edge_weight = a->algo == ALGO_MF ? WR_EW_RAW : WR_EW_LIFT;
    if (!a->lr_set)
        s->lr = 0.01;
    if (!a->min_lr_set)
        s->min_lr = 0;
}

static void parse(int argc, char **argv, args *a, wr_train_opts *o)
{
    enum { O_SEQ = 256, O_WALKS_OUT, O_DIM, O_WPI, O_LEN, O_P, O_Q, O_MODE, O_WINDOW, O_NEG,
           O_EPOCHS, O_SUB, O_LR, O_MINLR, O_SCHED, O_THREADS, O_SEED, O_VAL, O_EVERY, O_JSON,
           O_QUIET, O_EDGE, O_CALIB, O_ALGO, O_BIAS, O_LABELS, O_L2, O_SIDE, O_SIDE_COLS,
           O_OPTIMIZER, O_INIT };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"sequences", required_argument, NULL, O_SEQ},
        {"walks-out", required_argument, NULL, O_WALKS_OUT},
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
        {"side-info", required_argument, NULL, O_SIDE},
        {"side-columns", required_argument, NULL, O_SIDE_COLS},
        {"algo", required_argument, NULL, O_ALGO}, {"bias", no_argument, NULL, O_BIAS},
        {"labels", required_argument, NULL, O_LABELS}, {"l2", required_argument, NULL, O_L2},
        {"optimizer", required_argument, NULL, O_OPTIMIZER},
        {"init", required_argument, NULL, O_INIT},
        {NULL, 0, NULL, 0},
    };
    wr_sgns_opts *s = &o->sgns;
    int c, threads = wr_cpu_count();
    uint64_t seed = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': a->out = optarg; break;
        case O_SEQ: a->sequences = optarg; break;
        case O_WALKS_OUT: o->walks_out = optarg; break;
        case O_DIM: s->dim = (uint32_t)cli_uint("--dim", optarg, 1, 65536); break;
        case O_WPI: o->walk.walks_per_item = (uint32_t)cli_uint("--walks-per-item", optarg, 1, 1000000); break;
        case O_LEN: o->walk.length = (uint32_t)cli_uint("--walk-length", optarg, 1, 1000000); break;
        case O_P: o->walk.p = cli_double("--p", optarg, 1e-6, 1e6); break;
        case O_Q: o->walk.q = cli_double("--q", optarg, 1e-6, 1e6); break;
        case O_MODE:
            if (!strcmp(optarg, "sg"))
                a->algo = ALGO_SGNS;
            else if (!strcmp(optarg, "cbow"))
                a->algo = ALGO_CBOW;
            else
                die("--mode: expected sg or cbow, got '%s'", optarg);
            break;
        case O_ALGO:
            if ((a->algo = algo_parse(optarg)) < 0)
                die("--algo: expected sgns, cbow, mf or mf-seq, got '%s'", optarg);
            break;
        case O_BIAS: a->bias = 1; break;
        case O_LABELS:
            if (!strcmp(optarg, "binary"))
                a->labels = WR_MF_BINARY;
            else if (!strcmp(optarg, "continuous"))
                a->labels = WR_MF_CONTINUOUS;
            else
                die("--labels: expected binary or continuous, got '%s'", optarg);
            break;
        case O_L2: a->l2 = cli_double("--l2", optarg, 0, 1e6); a->l2_set = 1; break;
        case O_OPTIMIZER:
            if ((a->optimizer = mf_optimizer_parse(optarg)) < 0)
                die("--optimizer: expected auto, adam, adagrad or sgd, got '%s'", optarg);
            break;
        case O_INIT:
            if ((a->init = mf_init_parse(optarg)) < 0)
                die("--init: expected small or normal, got '%s'", optarg);
            break;
        case O_WINDOW: s->window = (uint32_t)cli_uint("--window", optarg, 1, WR_SGNS_MAX_WINDOW); break;
        case O_NEG: s->negative = (uint32_t)cli_uint("--negative", optarg, 1, WR_SGNS_MAX_NEGATIVE); break;
        case O_EPOCHS: s->epochs = (uint32_t)cli_uint("--epochs", optarg, 1, 100000); break;
        case O_SUB: s->subsample = cli_double("--subsample", optarg, 0, 1); a->sub_set = 1; break;
        case O_LR: s->lr = cli_double("--lr", optarg, 1e-9, 10); a->lr_set = 1; break;
        case O_MINLR: s->min_lr = cli_double("--min-lr", optarg, 0, 10); a->min_lr_set = 1; break;
        case O_SCHED:
            a->sched_set = 1;
            if (!strcmp(optarg, "linear"))
                s->lr_schedule = WR_LR_LINEAR;
            else if (!strcmp(optarg, "cosine"))
                s->lr_schedule = WR_LR_COSINE;
            else
                die("--lr-schedule: expected linear or cosine, got '%s'", optarg);
            break;
        case O_THREADS: threads = (int)cli_uint("--threads", optarg, 1, 1024); break;
        case O_SEED: seed = cli_uint("--seed", optarg, 0, UINT64_MAX); break;
        case O_VAL: a->val = optarg; break;
        case O_EVERY: o->eval_every = (uint32_t)cli_uint("--eval-every", optarg, 1, 10000); break;
        case O_JSON: a->json = 1; break;
        case O_QUIET: wr_quiet = 1; break;
        case O_EDGE:
            if ((a->edge_weight = edgeweight_parse(optarg)) < 0)
                die("--edge-weight: expected raw, pmi, lift or jaccard, got '%s'", optarg);
            break;
        case O_CALIB: a->calib_frac = cli_double("--calibration", optarg, 0, 0.5); break;
        case O_SIDE: a->side_info = optarg; break;
        case O_SIDE_COLS: a->side_columns = optarg; break;
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
    if (a->sequences && o->walks_out)
        die("train: --walks-out needs PAIRS (there are no walks with --sequences)");
    check_algo(a, s);
    if (a->side_columns && !a->side_info)
        die("train: --side-columns needs --side-info");
    if (a->side_info && (a->sequences || a->algo != ALGO_SGNS || o->walks_out))
        die("train: --side-info trains sgns on the walks over PAIRS (not with --sequences, "
            "--walks-out or another --algo)");
    if (is_mf(a) && o->walks_out)
        die("train: --walks-out is for sgns and cbow");
    if (s->min_lr > s->lr)
        die("--min-lr %g is above --lr %g", s->min_lr, s->lr);
    o->walk.threads = s->threads = threads;
    o->walk.seed = s->seed = seed;
    o->on_point = print_point;
}

static wr_model *train_mf(const wr_pairs *p, const args *a, const wr_train_opts *o,
                          wr_train_times *t, wr_err *err)
{
    wr_mf_opts mo;
    mf_default_opts(&mo);
    mo.source = a->algo == ALGO_MF_SEQ ? WR_MF_WALKS : WR_MF_PAIRS;
    mo.bias = a->bias;
    mo.labels = a->labels;
    if (a->l2_set)
        mo.l2 = a->l2;
    mo.dim = o->sgns.dim;
    mo.negative = o->sgns.negative;
    mo.epochs = o->sgns.epochs;
    mo.optimizer = a->optimizer;
    mo.init = a->init;
    if (a->lr_set) /* else the optimizer's default */
        mo.lr = o->sgns.lr;
    if (a->min_lr_set)
        mo.min_lr = o->sgns.min_lr;
    mo.window = o->sgns.window;
    mo.walk = o->walk;
    mo.threads = o->sgns.threads;
    mo.seed = o->sgns.seed;
    mo.val = o->val;
    mo.eval_every = o->eval_every;
    mo.on_point = o->on_point;
    mo.point_ctx = o->point_ctx;
    return mf_train(p, &mo, t, err);
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

/* Adds what the pipeline cannot see to the model's metadata: load time, edge weighting and,
 * for word2vec, the algorithm and how eval scores its pairs (mf_train writes its own). */
static void meta_times(wr_model *m, double load, const char *edge_weight, const args *a)
{
    json_t *meta = json_loads(m->meta_json, 0, NULL), *times;
    if (!meta || !(times = json_object_get(meta, "times")))
        die("train: the model metadata is not a JSON object with times");
    json_object_set_new(times, "load", json_real(load));
    if (!is_mf(a)) {
        json_object_set_new(meta, "algo", json_string(a->algo == ALGO_CBOW ? "cbow" : "sgns"));
        json_object_set_new(meta, "score", json_string("cosine"));
    }
    if (edge_weight)
        json_object_set_new(meta, "edge_weight", json_string(edge_weight));
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!text)
        die("train: cannot format the metadata");
    free(m->meta_json);
    m->meta_json = text;
    json_decref(meta);
}

/* What the calibration slice showed: the fit, and which list order found more of it. */
static void print_calibration(wr_calib *c)
{
    if (!wr_quiet)
        fprintf(stderr, "calibration: %zu held-out pairs, Brier %.4f (constant %.4f); lists "
                "rank by %s (slice recall@10 by probability %.4f, by cosine %.4f)\n",
                c->positives, c->brier, c->brier_constant, rank_name(c->rank),
                c->rank_recall_probability, c->rank_recall_cosine);
    calib_free(c);
}

int cmd_train(int argc, char **argv)
{
    args a = {.edge_weight = -1, .calib_frac = -1, .labels = WR_MF_BINARY};
    wr_train_opts o;
    train_default_opts(&o);
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
    double load = wr_now() - t0;

    /* Pairs only: hold out the calibration slice, then re-weight what the walks see. */
    wr_calib_data cd = {0};
    wr_pairs *tp = &p;
    int calibrate = !a.sequences && a.calib_frac > 0;
    if (calibrate && calib_prepare(&p, a.calib_frac, o.walk.seed, &cd, &err) < 0) {
        wr_warn("%s; training without a calibrated probability", err.msg);
        calib_data_free(&cd);
        memset(&cd, 0, sizeof cd);
        calibrate = 0;
    }
    if (calibrate)
        tp = &cd.train;
    if (!a.sequences)
        edgeweight_apply(tp, a.edge_weight);

    wr_train_times t;
    wr_model *m = a.sequences ? train_corpus(&c, ids, &o, &t, &err)
                  : is_mf(&a)  ? train_mf(tp, &a, &o, &t, &err)
                  : a.side_info ? eges_train_file(tp, a.side_info, a.side_columns, &o, &t, &err)
                               : train_pairs(tp, &o, &t, &err);
    if (!m)
        die("%s", err.msg);
    wr_calib cal;
    if (calibrate && calib_finish(m, &cd, &cal, &err) < 0)
        die("%s", err.msg);
    if (calibrate)
        print_calibration(&cal);
    calib_data_free(&cd);
    meta_times(m, load, a.sequences ? NULL : edgeweight_name(a.edge_weight), &a);
    double t1 = wr_now();
    if (model_save(m, a.out, &err) < 0)
        die("%s", err.msg);
    double save = wr_now() - t1;

    double trained = (double)t.tokens * o.sgns.epochs;
    double rate = t.train > 0 ? trained / t.train : NAN;
    size_t rss = wr_peak_rss_kib();
    /* mf counts directed pairs where the others count walk tokens */
    const char *unit = a.algo == ALGO_MF ? "pairs" : "tokens";
    if (!wr_quiet) {
        if (a.algo == ALGO_MF)
            fprintf(stderr, "items %u, %llu directed pairs\n", m->n, (unsigned long long)t.tokens);
        else
            fprintf(stderr, "items %u, %llu sequences, %llu tokens\n", m->n,
                    (unsigned long long)t.sequences, (unsigned long long)t.tokens);
        fprintf(stderr, "load %.2fs  graph %.2fs  walks %.2fs  train %.2fs (%.0f %s/s)", load,
                t.graph, t.walks, t.train, rate, unit);
        if (o.walks_out)
            fprintf(stderr, "  walks-out %.2fs", t.write_walks);
        if (o.val)
            fprintf(stderr, "  learning curve %.2fs", t.eval);
        fprintf(stderr, "  save %.2fs  peak RSS %zu MiB\n", save, rss / 1024);
    }
    if (a.json) {
        json_t *meta = json_loads(m->meta_json, 0, NULL);
        json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}, s:o, s:I}",
                              "model", a.out, "items", (json_int_t)m->n,
                              "sequences", (json_int_t)t.sequences, "tokens", (json_int_t)t.tokens,
                              "times", "load", load, "graph", t.graph, "walks", t.walks,
                              "train", t.train, "write_walks", t.write_walks,
                              "learning_curve", t.eval, "save", save,
                              "tokens_per_second", isfinite(rate) ? json_real(rate) : json_null(),
                              "peak_rss_kib", (json_int_t)rss);
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
