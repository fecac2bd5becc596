/* pipeline.c - pairs -> model for the CLI and the daemon alike (stages in pipeline.h).
 *
 * This file decides nothing about training itself: it resolves the options into the
 * trainers' own (train.h, mf.h, eges.h), runs the stages in order and writes what happened
 * into the model's metadata. The rank choice lives here rather than in calib.c because it
 * evaluates (eval.h), which reads calibrations: calib fits and stores, eval reads, this file
 * joins them. */
#include "walkrec/pipeline.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/edgeweight.h"
#include "walkrec/eges.h"
#include "walkrec/mf.h"
#include "walkrec/rng.h"

static const char *const algo_names[] = {"sgns", "cbow", "mf", "mf-seq"};

int pipeline_algo_parse(const char *name)
{
    for (int a = 0; a < 4; a++)
        if (!strcmp(name, algo_names[a]))
            return a;
    return -1;
}

const char *pipeline_algo_name(wr_algo a)
{
    return (unsigned)a < 4 ? algo_names[a] : "?";
}

static int is_mf(wr_algo a) { return a == WR_ALGO_MF || a == WR_ALGO_MF_SEQ; }

static void stage(const wr_pipeline_opts *o, const char *what)
{
    if (o->on_stage)
        o->on_stage(what, o->stage_ctx);
}

/* ---- options ---- */

#define OR(v, d) ((v) ? (v) : (d))

/* The options of another family of trainers are an error, not silently ignored. */
static int check(const wr_pipeline_opts *o, int corpus, wr_err *err)
{
    const char *name = pipeline_algo_name(o->algo);
    if ((unsigned)o->algo > WR_ALGO_MF_SEQ)
        return wr_fail(err, "unknown algorithm %d", (int)o->algo);
    if (!is_mf(o->algo) && (o->bias || o->labels || o->l2 || o->optimizer || o->init))
        return wr_fail(err, "bias, labels, l2, optimizer and init are for the mf and mf-seq "
                       "algorithms");
    if (is_mf(o->algo)) {
        if (corpus)
            return wr_fail(err, "%s trains on pairs, not on sequences", name);
        if (o->calibration > 0 && o->algo == WR_ALGO_MF_SEQ)
            return wr_fail(err, "the calibration fits the cosine of sgns and cbow, and mf "
                           "chooses its epochs on the slice; mf-seq has neither");
        if (o->subsample || o->lr_schedule)
            return wr_fail(err, "subsampling and the learning-rate schedule are for sgns and "
                           "cbow (%s anneals by cosine each epoch)", name);
        if (o->labels == WR_MF_CONTINUOUS && o->algo == WR_ALGO_MF_SEQ)
            return wr_fail(err, "continuous labels need pair weights; mf-seq trains on walks");
        if (o->walks_out || o->side_info || o->keep_context)
            return wr_fail(err, "walks_out, keep_context and side information are for sgns and "
                           "cbow");
    }
    if (o->side_info && (corpus || o->algo != WR_ALGO_SGNS || o->walks_out || o->keep_context))
        return wr_fail(err, "side information trains sgns on the walks over the pairs (not on "
                       "sequences, with walks_out, keep_context or another algorithm)");
    if (o->side_columns && !o->side_info)
        return wr_fail(err, "side_columns needs side_info");
    if (corpus && (o->walks_out || o->edge_weight))
        return wr_fail(err, "sequences have no walks and no edge weights");
    if (o->calibration >= 0.5 || o->edge_weight < 0 || o->edge_weight > WR_EW_JACCARD)
        return wr_fail(err, "calibration must be below 0.5 and edge_weight a known scheme");
    return 0;
}

static void resolve_train(const wr_pipeline_opts *o, wr_train_opts *t)
{
    train_default_opts(t);
    uint64_t seed = OR(o->run.seed, 1);
    int threads = o->run.threads > 0 ? o->run.threads : wr_cpu_count();
    t->walk.walks_per_item = OR(o->walks_per_item, t->walk.walks_per_item);
    t->walk.length = OR(o->walk_length, t->walk.length);
    t->walk.p = OR(o->p, t->walk.p);
    t->walk.q = OR(o->q, t->walk.q);
    t->walk.seed = t->sgns.seed = seed;
    t->walk.threads = t->sgns.threads = threads;
    wr_sgns_opts *s = &t->sgns;
    s->mode = o->algo == WR_ALGO_CBOW ? WR_MODE_CBOW : WR_MODE_SG;
    s->dim = OR(o->dim, s->dim);
    s->window = OR(o->window, s->window);
    s->negative = OR(o->negative, s->negative);
    s->epochs = OR(o->epochs, s->epochs);
    s->subsample = o->subsample < 0 ? 0 : OR(o->subsample, s->subsample);
    s->lr = OR(o->lr, s->lr);
    s->min_lr = o->min_lr < 0 ? 0 : OR(o->min_lr, s->min_lr);
    s->lr_schedule = o->lr_schedule;
    t->val = o->val;
    t->eval_every = OR(o->eval_every, t->eval_every);
    t->on_point = o->on_point;
    t->point_ctx = o->point_ctx;
    t->walks_out = o->walks_out;
    t->keep_context = o->keep_context;
}

static void resolve_mf(const wr_pipeline_opts *o, const wr_train_opts *t, wr_mf_opts *m)
{
    mf_default_opts(m);
    m->source = o->algo == WR_ALGO_MF_SEQ ? WR_MF_WALKS : WR_MF_PAIRS;
    m->bias = o->bias;
    m->labels = o->labels;
    m->l2 = o->l2 < 0 ? 0 : OR(o->l2, m->l2);
    m->optimizer = o->optimizer;
    m->init = o->init;
    m->dim = t->sgns.dim;
    m->negative = t->sgns.negative;
    m->epochs = t->sgns.epochs;
    m->lr = OR(o->lr, m->lr);
    m->min_lr = o->min_lr < 0 ? 0 : OR(o->min_lr, m->min_lr);
    m->window = t->sgns.window;
    m->walk = t->walk;
    m->threads = t->sgns.threads;
    m->seed = t->sgns.seed;
    m->val = o->val;
    m->eval_every = t->eval_every;
    m->on_point = o->on_point;
    m->point_ctx = o->point_ctx;
}

/* ---- warm starts and untrained models ---- */

/* Input vectors for the ids of p from `warm` where it has them, small random ones for new
 * ids (as sgns initialises); NULL when the dimensions differ. */
static float *warm_vectors(const wr_model *warm, const wr_dict *ids, uint32_t dim, uint64_t seed)
{
    if (warm->dim != dim)
        return NULL;
    uint32_t n = dict_size(ids);
    wr_rng r;
    rng_seed(&r, seed);
    float *init = xmalloc(((size_t)n * dim + 1) * sizeof *init);
    for (uint32_t i = 0; i < n; i++) {
        int64_t row = model_find(warm, dict_str(ids, i));
        for (uint32_t d = 0; d < dim; d++)
            init[(size_t)i * dim + d] = row >= 0 ? warm->vecs[(size_t)row * dim + d]
                                                 : (rng_float(&r) - 0.5f) / (float)dim;
    }
    return init;
}

static wr_model *random_model(const wr_dict *ids, uint32_t dim, uint64_t seed)
{
    wr_rng r;
    rng_seed(&r, seed);
    wr_model *m = model_new(dict_size(ids), dim);
    for (uint32_t i = 0; i < m->n; i++)
        dict_intern(m->ids, dict_str(ids, i), dict_strlen(ids, i));
    for (size_t j = 0; j < (size_t)m->n * m->dim; j++)
        m->vecs[j] = rng_float(&r) - 0.5f;
    return m;
}

/* ---- the rank choice ---- */

/* The slice's lists ranked by `rank`: mean and per-query recall@10 (r, to free). */
static int slice_lists(const wr_model *m, const wr_calib_data *cd, const wr_labeled *v,
                       int rank, int threads, wr_eval_result *r, wr_err *err)
{
    wr_eval_opts o;
    eval_default_opts(&o);
    o.max_queries = eval_query_budget(m->n, WR_CALIB_RANK_COMPARISONS, 500, WR_CALIB_RANK_QUERIES);
    o.train = &cd->train;
    o.rank = rank;
    o.threads = threads;
    return eval_model(m, v, &o, r, err);
}

/* Cosine wins when its recall exceeds the probability's by more than two standard errors
 * of the per-query difference (the same queries either way): a slice of a hundred pairs is
 * noisy (calib.h). */
static int cosine_wins(const wr_eval_result *rc, const wr_eval_result *rp)
{
    size_t n = rc->queries;
    if (n < 2)
        return 0;
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += rc->query_recall[i] - rp->query_recall[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = rc->query_recall[i] - rp->query_recall[i] - mean;
        ss += d * d;
    }
    return mean > 2 * sqrt(ss / (double)(n - 1) / (double)n);
}

/* Which order finds more of the slice's held-out pairs; m carries the fit already. */
static int choose_rank(const wr_model *m, const wr_calib_data *cd, int threads, wr_calib *c,
                       wr_err *err)
{
    wr_labeled v;
    eval_labeled_view(&v, &cd->held, cd->train.ids);
    wr_eval_result rc, rp;
    int rc_ok = slice_lists(m, cd, &v, WR_RANK_COSINE, threads, &rc, err) == 0;
    int rp_ok = rc_ok && slice_lists(m, cd, &v, WR_RANK_PROBABILITY, threads, &rp, err) == 0;
    eval_labeled_release(&v);
    if (rp_ok) {
        c->rank_queries = rc.queries;
        c->rank_recall_cosine = rc.recall_at_k;
        c->rank_recall_probability = rp.recall_at_k;
        c->rank = cosine_wins(&rc, &rp) ? WR_RANK_COSINE : WR_RANK_PROBABILITY;
        eval_result_free(&rp);
    }
    if (rc_ok)
        eval_result_free(&rc);
    return rp_ok ? 0 : -1;
}

/* Fit, rank choice, and both stored in the model. */
static int calibrate(wr_model *m, const wr_calib_data *cd, const wr_pipeline_opts *o,
                     int threads, wr_pipeline_result *res, wr_err *err)
{
    wr_calib c;
    stage(o, "calibration fit");
    if (calib_finish(m, cd, &c, err) < 0)
        return -1;
    stage(o, "rank choice");
    int rc = choose_rank(m, cd, threads, &c, err);
    if (rc == 0) {
        calib_store(m, &c, cd->train.ids, cd->weight);
        res->calibrated = 1;
        res->calib_positives = c.positives;
        res->brier = c.brier;
        res->brier_constant = c.brier_constant;
        res->rank = c.rank;
        res->rank_queries = c.rank_queries;
        res->rank_recall_cosine = c.rank_recall_cosine;
        res->rank_recall_probability = c.rank_recall_probability;
    }
    calib_free(&c);
    return rc;
}

/* ---- the edge weighting choice ---- */

static wr_model *train(const wr_pairs *tp, const wr_pipeline_opts *o, wr_train_opts *t,
                       const wr_labeled *held, wr_pipeline_result *res, wr_err *err);

/* The cosine's AUC over the slice's related pairs against its uniform negatives, both
 * items in m (NaN when it cannot be computed). */
static double slice_cosine_auc(const wr_model *m, const wr_calib_data *cd, int threads)
{
    wr_labeled v;
    eval_labeled_view(&v, &cd->held, cd->train.ids);
    wr_eval_opts eo;
    eval_default_opts(&eo);
    eo.max_queries = 0;
    eo.rank = WR_RANK_COSINE;
    eo.threads = threads;
    wr_eval_result r;
    wr_err err;
    double auc = eval_model(m, &v, &eo, &r, &err) == 0 ? r.auc_seen : NAN;
    if (isfinite(auc) || r.scores)
        eval_result_free(&r);
    eval_labeled_release(&v);
    return auc;
}

int pipeline_model_edge_weight(const wr_model *m)
{
    json_t *meta = json_loads(m->meta_json ? m->meta_json : "{}", 0, NULL);
    const char *name = json_string_value(json_object_get(meta, "edge_weight"));
    int ew = name ? edgeweight_parse(name) : -1;
    json_decref(meta);
    return ew > 0 ? ew : WR_EW_AUTO;
}

/* The weighting asked for or implied: o's; the algorithm's for an mf, a run without a
 * slice or an untrained one; a warm start's model's (a retrain keeps its generation's
 * geometry); WR_EW_AUTO when the run should choose (train_choosing). */
static int edge_weight_of(const wr_pipeline_opts *o, int calibrated)
{
    if (o->edge_weight)
        return o->edge_weight;
    if (is_mf(o->algo))
        return o->algo == WR_ALGO_MF ? WR_EW_RAW : WR_EW_LIFT;
    if (o->warm) {
        int ew = pipeline_model_edge_weight(o->warm);
        return ew ? ew : WR_EW_LIFT;
    }
    return !calibrated || o->untrained ? WR_EW_LIFT : WR_EW_AUTO;
}

/* Trains on wp once per scheme of WR_EW_CHOICES (lift, raw) and keeps the model whose
 * cosine ranks the slice's related pairs above its uniform negatives better (AUC; lift on
 * a tie), with wp re-weighted by it. Whole trainings: one epoch, or a short run, ranks the
 * schemes the other way round on four of the five shared sets
 * (docs/evaluation.md#edge-weighting). A learning curve and a walks file are left to a
 * last training of the winner, so that they describe the model kept. */
static wr_model *train_choosing(wr_pairs *wp, const wr_pipeline_opts *o, wr_train_opts *t,
                                const wr_calib_data *cd, wr_pipeline_result *res, wr_err *err)
{
    static const int scheme[WR_EW_CHOICES] = {WR_EW_LIFT, WR_EW_RAW};
    wr_model *best = NULL;
    wr_pipeline_result keep = *res;
    int win = 0;
    double t0 = wr_now();
    for (int i = 0; i < WR_EW_CHOICES; i++) {
        wr_pairs cand;
        pairs_copy(&cand, wp);
        edgeweight_apply(&cand, scheme[i]);
        wr_train_opts ct = *t;
        ct.val = NULL;
        ct.on_point = NULL;
        ct.walks_out = NULL;
        wr_pipeline_result r = *res;
        wr_model *m = train(&cand, o, &ct, NULL, &r, err);
        pairs_free(&cand);
        if (!m) {
            model_free(best);
            return NULL;
        }
        res->ew_auc[i] = slice_cosine_auc(m, cd, t->sgns.threads);
        if (!best || res->ew_auc[i] > res->ew_auc[win]) {
            model_free(best);
            best = m;
            keep = r;
            win = i;
        } else {
            model_free(m);
        }
    }
    double auc[WR_EW_CHOICES];
    memcpy(auc, res->ew_auc, sizeof auc);
    *res = keep;
    memcpy(res->ew_auc, auc, sizeof auc);
    res->ew_chosen = 1;
    res->ew_seconds = wr_now() - t0;
    res->edge_weight = edgeweight_name(scheme[win]);
    edgeweight_apply(wp, scheme[win]);
    if (t->val || t->walks_out) {
        model_free(best);
        best = train(wp, o, t, NULL, res, err);
    }
    return best;
}

/* ---- metadata ---- */

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* only allocation fails here */
}

/* What the trainers cannot know: the algorithm, how eval scores its pairs, the edge
 * weighting, the start, and the times of the load and the calibration. */
static int write_meta(wr_model *m, const wr_pipeline_opts *o, const wr_pipeline_result *res,
                      wr_err *err)
{
    json_t *meta = json_loads(m->meta_json, 0, NULL), *times;
    if (!json_is_object(meta))
        return wr_failc(err, WR_EINTERNAL, "the model's metadata is not a JSON object");
    if (!(times = json_object_get(meta, "times"))) {
        times = json_object();
        jset(meta, "times", times);
    }
    jset(times, "load", json_real(o->load_seconds));
    if (res->calibrated)
        jset(times, "calibration", json_real(res->calibration_seconds));
    if (!is_mf(o->algo)) { /* mf_train writes its own algo and score */
        jset(meta, "algo", json_string(res->algo));
        jset(meta, "score", json_string("cosine"));
    }
    if (res->edge_weight)
        jset(meta, "edge_weight", json_string(res->edge_weight));
    if (res->ew_chosen) {
        json_t *c = json_object(), *auc = json_object();
        jset(auc, "lift", isfinite(res->ew_auc[0]) ? json_real(res->ew_auc[0]) : json_null());
        jset(auc, "raw", isfinite(res->ew_auc[1]) ? json_real(res->ew_auc[1]) : json_null());
        jset(c, "slice_cosine_auc", auc);
        jset(c, "chosen", json_string(res->edge_weight));
        jset(meta, "edge_weight_choice", c);
        jset(times, "edge_weight_choice", json_real(res->ew_seconds));
    }
    jset(meta, "start", json_string(res->start));
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(meta);
    if (!text)
        return wr_failc(err, WR_ENOMEM, "cannot format the model's metadata");
    free(m->meta_json);
    m->meta_json = text;
    return 0;
}

/* ---- the pipeline ---- */

static void result_init(wr_pipeline_result *res, const wr_pipeline_opts *o)
{
    memset(res, 0, sizeof *res);
    res->algo = pipeline_algo_name(o->algo);
    res->start = "scratch";
    res->rank = WR_RANK_COSINE;
    res->brier = res->brier_constant = NAN;
    res->rank_recall_cosine = res->rank_recall_probability = NAN;
}

/* The trainer on prepared pairs (re-weighted, slice held out); held: the slice's pairs,
 * by which mf keeps its best epoch (NULL: none). */
static wr_model *train(const wr_pairs *tp, const wr_pipeline_opts *o, wr_train_opts *t,
                       const wr_labeled *held, wr_pipeline_result *res, wr_err *err)
{
    if (o->untrained)
        return random_model(tp->ids, t->sgns.dim, t->sgns.seed);
    if (is_mf(o->algo)) {
        wr_mf_opts mo;
        resolve_mf(o, t, &mo);
        mo.holdout = held;
        return mf_train(tp, &mo, &res->times, err);
    }
    float *init = NULL;
    if (o->warm) {
        init = warm_vectors(o->warm, tp->ids, t->sgns.dim, t->sgns.seed);
        if (init) {
            t->sgns.init = init;
            t->sgns.epochs = OR(o->warm_epochs, 2);
            res->start = "warm";
        } else {
            snprintf(res->warning, sizeof res->warning, "a scratch start: the warm model has "
                     "%u dimensions, the run %u", o->warm->dim, t->sgns.dim);
        }
    }
    wr_model *m = o->side_info ? eges_train_file(tp, o->side_info, o->side_columns, t,
                                                 &res->times, err)
                               : train_pairs(tp, t, &res->times, err);
    free(init);
    return m;
}

/* mf with a slice: a training on the rest finds the number of epochs that ranks the
 * slice's pairs best (mf.h, bestepoch.h); a second one trains that many on all of p,
 * re-weighted by ew, with the learning curve if asked. The first one's choice goes into
 * the model's metadata, "best_epoch", its time into "times". */
static wr_model *train_stopped(const wr_pairs *p, const wr_calib_data *cd, int ew,
                               const wr_pipeline_opts *o, wr_train_opts *t,
                               wr_pipeline_result *res, wr_err *err)
{
    wr_labeled held;
    eval_labeled_view(&held, &cd->held, cd->train.ids);
    wr_train_opts first = *t;
    first.val = NULL;
    first.on_point = NULL;
    wr_model *m = train(&cd->train, o, &first, &held, res, err);
    eval_labeled_release(&held);
    if (!m)
        return NULL;
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    json_t *best = json_incref(json_object_get(meta, "best_epoch"));
    json_decref(meta);
    model_free(m);
    double seconds = res->times.train;
    json_int_t e = json_integer_value(json_object_get(best, "epoch"));
    if (e >= 1)
        t->sgns.epochs = (uint32_t)e;
    wr_pairs all;
    pairs_copy(&all, p);
    edgeweight_apply(&all, ew);
    stage(o, "training");
    m = train(&all, o, t, NULL, res, err);
    pairs_free(&all);
    if (m && best) {
        meta = json_loads(m->meta_json, 0, NULL);
        jset(best, "seconds", json_real(seconds));
        json_object_set(meta, "best_epoch", best);
        free(m->meta_json);
        m->meta_json = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17));
        json_decref(meta);
        if (!m->meta_json)
            abort();
    }
    json_decref(best);
    return m;
}

wr_model *pipeline_train(const wr_pairs *p, const wr_pipeline_opts *o, wr_pipeline_result *res,
                         wr_err *err)
{
    wr_pipeline_result local;
    res = res ? res : &local;
    result_init(res, o);
    if (check(o, 0, err) < 0)
        return NULL;
    if (p->n == 0) {
        wr_fail(err, "no pairs to train on");
        return NULL;
    }
    wr_train_opts t;
    resolve_train(o, &t);
    wr_mf_opts mo;
    resolve_mf(o, &t, &mo);
    double frac = OR(o->calibration, !is_mf(o->algo)   ? 0.05
                                     : mf_holds_out(&mo) ? WR_MF_HOLDOUT
                                                         : 0);
    if (o->untrained || o->calibration < 0)
        frac = 0;

    /* 1. the slice; without one the pairs are copied, as re-weighting changes them */
    wr_calib_data cd = {0};
    wr_pairs copy = {0};
    const wr_pairs *tp = p;
    double t0 = wr_now();
    int calibrated = frac > 0; /* sgns and cbow fit the probability on the slice, mf stops */
    if (calibrated) {
        stage(o, is_mf(o->algo) ? "held-out slice" : "calibration slice");
        if (calib_prepare(p, frac, t.walk.seed, &cd, err) < 0) {
            snprintf(res->warning, sizeof res->warning, "%s: %.400s",
                     is_mf(o->algo) ? "no best epoch" : "no calibrated probability", err->msg);
            calib_data_free(&cd);
            memset(&cd, 0, sizeof cd);
            calibrated = 0;
        }
        cd.positive_rate = o->positive_rate;
    }
    wr_pairs *wp = calibrated ? &cd.train : &copy;
    if (!calibrated)
        pairs_copy(&copy, p);
    tp = wp;
    res->calibration_seconds = wr_now() - t0;

    /* 2, 3. edge weighting and training (both schemes, when the run chooses) */
    int ew = edge_weight_of(o, calibrated);
    wr_model *m;
    if (ew == WR_EW_AUTO) {
        stage(o, "edge weighting choice");
        m = train_choosing(wp, o, &t, &cd, res, err);
    } else {
        res->edge_weight = edgeweight_name(ew);
        edgeweight_apply(wp, ew);
        stage(o, calibrated && is_mf(o->algo) ? "best epoch" : "training");
        m = calibrated && is_mf(o->algo) ? train_stopped(p, &cd, ew, o, &t, res, err)
                                         : train(tp, o, &t, NULL, res, err);
    }

    /* 4, 5. fit and rank */
    t0 = wr_now();
    if (m && calibrated && !is_mf(o->algo) && calibrate(m, &cd, o, t.sgns.threads, res, err) < 0) {
        model_free(m);
        m = NULL;
    }
    res->calibration_seconds += wr_now() - t0;
    if (m && write_meta(m, o, res, err) < 0) {
        model_free(m);
        m = NULL;
    }
    calib_data_free(&cd);
    pairs_free(&copy);
    return m;
}

wr_model *pipeline_train_corpus(const wr_corpus *c, const wr_dict *ids, const wr_pipeline_opts *o,
                                wr_pipeline_result *res, wr_err *err)
{
    wr_pipeline_result local;
    res = res ? res : &local;
    result_init(res, o);
    if (check(o, 1, err) < 0)
        return NULL;
    if (o->calibration > 0 || o->warm || o->untrained) {
        wr_fail(err, "sequences train without calibration, warm start or untrained vectors");
        return NULL;
    }
    wr_train_opts t;
    resolve_train(o, &t);
    stage(o, "training");
    wr_model *m = train_corpus(c, ids, &t, &res->times, err);
    if (m && write_meta(m, o, res, err) < 0) {
        model_free(m);
        m = NULL;
    }
    return m;
}
