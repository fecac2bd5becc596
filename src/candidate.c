/* candidate.c - a candidate generation trained in the trainer process (candidate.h). The
 * result crosses the pipe as a wr_candidate. */
#include "walkrec/candidate.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walkrec/eval.h"
#include "walkrec/file.h"
#include "walkrec/generations.h"
#include "walkrec/side.h"
#include "walkrec/explain.h"
#include "walkrec/index.h"
#include "walkrec/knn.h"
#include "walkrec/lists.h"
#include "walkrec/rank.h"
#include "walkrec/live.h"
#include "walkrec/model.h"
#include "walkrec/pipeline.h"
#include "walkrec/snapshot.h"
#include "walkrec/split.h"
#include "walkrec/synth.h"

/* The gate's recall@10: 1000 sampled queries, fewer above 100,000 items (~1e8 comparisons,
 * 200 at the least); its AUC is over every validation pair either way. */
#define EVAL_QUERIES 1000
#define EVAL_COMPARISONS 1e8

/* The job as the trainer process sees it: the log by path, up to the durable position the
 * daemon read before the fork. */
typedef struct job {
    const wr_candidate_job *j;
    const char *wal_path; /* NULL: no pair log */
    uint64_t wal_stop;
} job;

/* The base pairs without those of deleted items (wal.h: a delete leaves out every base
 * pair of its item), on ids of their own, so that an item left without pairs is gone; the
 * categories of the synthetic catalogue follow their ids. */
static void drop_deleted(wr_pairs *p, const wr_wal_deletes *del, uint32_t **cat, uint32_t *ncat)
{
    uint32_t n = dict_size(p->ids), *to = xmalloc(((size_t)n + 1) * sizeof *to);
    wr_pairs kept;
    pairs_init(&kept);
    for (uint32_t i = 0; i < n; i++)
        to[i] = wal_deleted_after(del, dict_str(p->ids, i), dict_strlen(p->ids, i), 0)
                    ? UINT32_MAX
                    : dict_intern(kept.ids, dict_str(p->ids, i), dict_strlen(p->ids, i));
    for (size_t i = 0; i < p->n; i++)
        if (to[p->v[i].a] != UINT32_MAX && to[p->v[i].b] != UINT32_MAX)
            pairs_add_idx(&kept, to[p->v[i].a], to[p->v[i].b], p->v[i].w);
    if (*cat) {
        uint32_t *c = xcalloc((size_t)dict_size(kept.ids) + 1, sizeof *c);
        for (uint32_t i = 0; i < *ncat; i++)
            if (to[i] != UINT32_MAX)
                c[to[i]] = (*cat)[i];
        free(*cat);
        *cat = c;
        *ncat = dict_size(kept.ids);
    }
    wr_log("training leaves out %zu base pairs and %u items deleted in the pair log",
           p->n - kept.n, n - dict_size(kept.ids));
    pairs_free(p);
    *p = kept;
    pairs_merge(p);
    free(to);
}

/* The base pairs plus the pairs of the log up to the job's stop, merged, without the pairs
 * deletes in the log leave out (wal.h). *cat: categories of the first *ncat ids when the
 * base is the synthetic catalogue, else NULL. */
static int gather(const job *jb, wr_pairs *p, uint32_t **cat, uint32_t *ncat, wr_err *err)
{
    const wr_config *cfg = jb->j->cfg;
    *cat = NULL;
    *ncat = 0;
    pairs_init(p);
    if (*cfg->pairs) {
        if (pairs_read(p, cfg->pairs, NULL, NULL, err) < 0)
            return -1;
    } else {
        wr_synth_opts so;
        synth_default_opts(&so);
        if (synth_generate(&so, p, cat, err) < 0)
            return -1;
        *ncat = dict_size(p->ids);
    }
    if (jb->wal_path) {
        wr_wal_deletes del;
        if (wal_deletes_file(jb->wal_path, jb->wal_stop, &del, err) < 0)
            return -1;
        if (dict_size(del.ids))
            drop_deleted(p, &del, cat, ncat);
        size_t before = p->n;
        int rc = wal_load_file(jb->wal_path, jb->wal_stop, &del, p, err);
        wal_deletes_free(&del);
        if (rc < 0)
            return -1;
        if (p->n > before)
            pairs_merge(p);
    }
    return 0;
}

/* The log position the model was trained through, in its metadata: serving replays the
 * log after it (retrain.c). */
static int record_log_position(wr_model *m, uint64_t pos, wr_err *err)
{
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    char *text = NULL;
    if (json_is_object(meta) &&
        json_object_set_new(meta, "log_position", json_integer((json_int_t)pos)) == 0)
        text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(meta);
    if (!text)
        return wr_failc(err, WR_EINTERNAL, "cannot record the log position in the metadata");
    free(m->meta_json);
    m->meta_json = text;
    return 0;
}

static void on_stage(const char *what, void *ctx)
{
    (void)what;
    (void)ctx;
    trainproc_state(WR_CANDIDATE_TRAINING);
}

/* The pipeline's options from the settings: the daemon trains like `walkrec train` with
 * the same values. */
static void pipeline_opts(const wr_config *c, wr_pipeline_opts *o, const wr_model *live,
                          double load)
{
    memset(o, 0, sizeof *o);
    o->run.seed = c->train_seed;
    o->run.threads = (int)c->train_threads;
    o->algo = (wr_algo)c->algo;
    /* auto chooses on the first training; a retrain keeps its live generation's scheme
     * rather than pay a second training each time (pipeline.h) */
    o->edge_weight = c->edge_weight || !live ? c->edge_weight : pipeline_model_edge_weight(live);
    /* mf-seq has no slice to hold out (pipeline.c refuses one): its models rank by cosine */
    o->calibration = c->calibration > 0 && o->algo != WR_ALGO_MF_SEQ ? c->calibration : -1;
    o->positive_rate = c->positive_rate;
    o->keep_context = c->keep_context && (c->algo == WR_ALGO_SGNS || c->algo == WR_ALGO_CBOW);
    o->walks_per_item = c->walks_per_item;
    o->walk_length = c->walk_length;
    o->dim = c->dim;
    o->window = c->window;
    o->negative = c->negative;
    o->epochs = c->retrain_epochs;
    o->untrained = c->retrain_epochs == 0 && !(live && c->retrain_mode == WR_RETRAIN_WARM);
    if (live && c->retrain_mode == WR_RETRAIN_WARM && (o->algo == WR_ALGO_SGNS ||
                                                        o->algo == WR_ALGO_CBOW)) {
        o->warm = live;
        o->warm_epochs = c->retrain_warm_epochs;
    }
    o->on_stage = on_stage;
    o->load_seconds = load;
}

static int evaluate(const wr_config *cfg, const wr_model *m, const wr_labeled *val,
                    const wr_pairs *train, double *all, double *seen, double *recall,
                    wr_err *err)
{
    wr_eval_opts eo;
    wr_eval_result r;
    eval_default_opts(&eo);
    eo.train = train;
    eo.max_queries = eval_query_budget(m->n, EVAL_COMPARISONS, 200, EVAL_QUERIES);
    eo.seed = cfg->validation_seed;
    eo.threads = (int)cfg->train_threads;
    eo.rank = WR_RANK_COSINE;
    if (eval_model(m, val, &eo, &r, err) < 0)
        return -1;
    *all = r.auc_all;
    *seen = r.auc_seen;
    *recall = r.recall_at_k;
    eval_result_free(&r);
    return 0;
}

/* The most threads a job runs OpenBLAS on at once. */
static int blas_threads(const wr_config *c)
{
    int t = (int)(c->train_threads > c->index_threads ? c->train_threads : c->index_threads);
    return t > 0 && t < wr_cpu_count() && c->train_threads && c->index_threads ? t
                                                                                : wr_cpu_count();
}

void candidate_index_opts(const wr_config *c, wr_index_opts *o)
{
    index_default_opts(o);
    o->k = c->index_k;
    o->exact_max_items = c->exact_index_max_items;
    o->ann_cells = c->ann_cells;
    o->ann_probe = c->ann_probe;
    o->ann_min_recall = c->ann_min_recall;
    o->ann_popular = c->ann_popular;
    o->threads = (int)c->index_threads;
    o->rank = c->rank;
    o->items_file = c->items_file;
}

/* The lists the daemon will serve, into the model (and their description into res). */
/* For each row of cand, the first ANCHOR_K rows of the live generation's stored list for
 * the same item, as rows of cand (UINT32_MAX: none): what lists_anchor keeps where it can.
 * The live file is mapped only for this, once training and evaluation are done, and
 * unmapped before the candidate's lists are built (a copy-loaded model has no lists). NULL
 * when it has no lists or cannot be mapped (then nothing is anchored). */
#define ANCHOR_K 10
static uint32_t *incumbents(const wr_model *cand, const char *live_path)
{
    wr_err e;
    wr_model *live = *live_path ? model_map(live_path, &e) : NULL;
    if (*live_path && !live)
        trainproc_log("lists not anchored: %s", e.msg);
    if (!live || live->list_k < ANCHOR_K) {
        model_free(live);
        return NULL;
    }
    uint32_t *inc = xmalloc(((size_t)cand->n * ANCHOR_K + 1) * sizeof *inc);
    for (uint32_t r = 0; r < cand->n; r++) {
        uint32_t *out = inc + (size_t)r * ANCHOR_K;
        int64_t lr = model_find(live, dict_str(cand->ids, r));
        for (uint32_t i = 0; i < ANCHOR_K; i++) {
            uint32_t x = lr < 0 ? UINT32_MAX : live->list_item[(size_t)lr * live->list_k + i];
            int64_t cr = x == UINT32_MAX ? -1 : model_find(cand, dict_str(live->ids, x));
            out[i] = cr < 0 ? UINT32_MAX : (uint32_t)cr;
        }
    }
    model_free(live);
    return inc;
}

static int attach_lists(const wr_config *cfg, wr_model *m, const uint32_t *inc,
                        wr_candidate *res, wr_err *err)
{
    wr_index_opts io;
    wr_lists_opts lo;
    wr_lists l;
    candidate_index_opts(cfg, &io);
    index_lists_opts(&io, &lo);
    if (io.exact_max_items < m->n && !io.ann_probe) /* no approximate lists wanted */
        return 0;
    if (lists_attach(m, io.rank, &lo, &l, err) < 0)
        return -1;
    trainproc_log("neighbour lists: %u items x %u, %s, by %s, in %.1f s", l.n, l.k,
                  l.approximate ? "approximate" : "exact", rank_name(l.rank), l.seconds);
    if (l.recall_sample)
        trainproc_log("approximate lists: recall@10 %.4f against exact lists of %u items "
                      "(%u cells, probe %u, %u popular, %u build%s)", l.recall_at_10,
                      l.recall_sample, l.cells, l.probe, l.popular, l.rounds,
                      l.rounds == 1 ? "" : "s");
    res->lists_recall = l.recall_sample ? l.recall_at_10 : NAN;
    if (inc && cfg->anchor_margin > 0) {
        double t0 = wr_now();
        size_t changed = lists_anchor(m, l.rank, inc, ANCHOR_K, cfg->anchor_margin);
        trainproc_log("lists anchored to the live ones (margin %g): %zu of %u first-10 lists "
                      "changed, in %.1f s", cfg->anchor_margin, changed, m->n, wr_now() - t0);
    }
    return 0;
}

static int run_job(void *arg, wr_bytes *out, wr_err *err)
{
    const job *jb = arg;
    const wr_candidate_job *j = jb->j;
    const wr_config *cfg = j->cfg;
    wr_model *live = NULL, *cand = NULL;
    wr_pairs all = {0}, train = {0};
    wr_valset vs = {0};
    wr_labeled val = {0};
    uint32_t *cat = NULL, ncat = 0;
    wr_candidate res = {.cand_auc_all = NAN, .live_auc_all = NAN, .lists_recall = NAN};
    int rc = -1;
    double t0 = wr_now();
    if (knn_blas_headroom(blas_threads(cfg), err) < 0 || gather(jb, &all, &cat, &ncat, err) < 0)
        goto out;
    res.seconds[WR_STAGE_GATHER] = wr_now() - t0;
    /* The validation pairs stay out of every model, the first one included, so that the
     * gate compares candidates with it fairly later. */
    split_stable(&all, cfg->validation_seed, cfg->validation_fraction, &train, &vs);
    eval_labeled_view(&val, &vs, all.ids);
    res.train_pairs = train.n;
    res.val_pairs = val.n;
    trainproc_log("%s: %zu training pairs, %zu validation pairs",
                  j->gate ? "retraining" : "training", train.n, val.n);
    if (*j->live_path && !(live = model_load(j->live_path, err)))
        goto out;
    trainproc_state(WR_CANDIDATE_TRAINING);
    double t1 = wr_now();
    if (j->submitted) { /* trained elsewhere: judged like one of ours */
        if (!(cand = model_load(j->submitted, err)))
            goto out;
        snprintf(res.start, sizeof res.start, "submitted");
    } else {
        wr_pipeline_opts po;
        wr_pipeline_result pr;
        pipeline_opts(cfg, &po, live, wr_now() - t0);
        if (!(cand = pipeline_train(&train, &po, &pr, err)))
            goto out;
        if (*pr.warning)
            trainproc_log("training: %s", pr.warning);
        if (jb->wal_path && record_log_position(cand, jb->wal_stop, err) < 0)
            goto out;
        snprintf(res.start, sizeof res.start, "%s", pr.start);
        res.seconds[WR_STAGE_CALIBRATION] = pr.calibration_seconds;
    }
    res.train_seconds = wr_now() - t1;
    res.seconds[WR_STAGE_TRAINING] = res.train_seconds - res.seconds[WR_STAGE_CALIBRATION];
    res.items = cand->n;
    res.dim = cand->dim;
    res.pass = 1;
    if (j->gate) {
        trainproc_state(WR_CANDIDATE_EVALUATING);
        t1 = wr_now();
        if (evaluate(cfg, cand, &val, &train, &res.cand_auc_all, &res.cand_auc_seen,
                     &res.cand_recall, err) < 0)
            goto out;
        if (live && evaluate(cfg, live, &val, &train, &res.live_auc_all, &res.live_auc_seen,
                             &res.live_recall, err) < 0)
            goto out;
        res.pass = !isfinite(res.live_auc_all) ||
                   res.cand_auc_all >= res.live_auc_all - cfg->gate_max_auc_drop;
        res.seconds[WR_STAGE_GATE] = wr_now() - t1;
    }
    model_free(live); /* the file needs the memory more */
    live = NULL;
    uint32_t *inc = cfg->anchor_margin > 0 && j->gate ? incumbents(cand, j->live_path) : NULL;
    /* the generation carries its lists, refused or not (a forced publication maps them) */
    trainproc_state(WR_CANDIDATE_INDEXING);
    t1 = wr_now();
    rc = attach_lists(cfg, cand, inc, &res, err);
    free(inc);
    if (rc < 0)
        goto out;
    rc = -1;
    res.seconds[WR_STAGE_LISTS] = wr_now() - t1;
    const char *path = res.pass ? j->model_path : j->cand_path;
    char *side = generations_sidecar(path);
    t1 = wr_now();
    /* the items file's content goes into the generation, for followers (side.h reads it as
     * index.c will, so a file the index would refuse fails here, before the publish) */
    wr_side *items = *cfg->items_file ? side_load(cfg->items_file, all.ids, err) : NULL;
    if (*cfg->items_file && !items) {
        free(side);
        goto out;
    }
    /* the pairs behind the model, for the answers' explanations (explain.h) */
    char *graph = explain_graph_path(path);
    rc = generations_write_sidecar(side, &all, cat, ncat, items, err) < 0 ||
                 explain_graph_write(graph, &all, cand->ids, err) < 0 ||
                 model_save(cand, path, err) < 0
             ? -1
             : 0;
    free(graph);
    res.seconds[WR_STAGE_WRITE] = wr_now() - t1;
    side_free(items);
    free(side);
    bytes_put(out, &res, sizeof res);
out:
    model_free(live);
    model_free(cand);
    eval_labeled_release(&val);
    split_valset_free(&vs);
    pairs_free(&train);
    pairs_free(&all);
    free(cat);
    return rc;
}

/* What a failed trainer process may have left: temporaries (killed in the middle of a
 * write) and the files of a generation it wrote but that was never announced. */
static void remove_outputs(const wr_candidate_job *j, long pid)
{
    const char *paths[2] = {j->model_path, j->cand_path};
    size_t n = 0;
    for (int i = 0; i < 2 && (i == 0 || strcmp(paths[0], paths[1])); i++) {
        char *side = generations_sidecar(paths[i]), *graph = explain_graph_path(paths[i]);
        const char *files[3] = {paths[i], side, graph};
        for (int k = 0; k < 3; k++) {
            char *tmp = file_temp_name(files[k], pid);
            n += unlink(files[k]) == 0;
            n += unlink(tmp) == 0;
            free(tmp);
        }
        free(side);
        free(graph);
    }
    if (n)
        wr_log("removed %zu files left by the failed trainer process", n);
}

int candidate_train(const wr_candidate_job *j, void (*on_state)(int state, void *ctx),
                    wr_candidate *res, wr_err *err)
{
    job jb = {j, NULL, 0};
    if (j->wal) { /* the part of the pair log on disk now: the pairs acknowledged so far */
        wr_wal_stats st;
        wal_stats(j->wal, &st);
        jb.wal_path = wal_path(j->wal);
        jb.wal_stop = st.durable;
    }
    long pid;
    wr_bytes out;
    if (trainproc_run(run_job, &jb, on_state, NULL, &out, &pid, err) < 0) {
        remove_outputs(j, pid);
        return -1;
    }
    if (out.n != sizeof *res) {
        free(out.p);
        remove_outputs(j, pid);
        return wr_failc(err, WR_EINTERNAL, "trainer process %ld: a result of %zu bytes, not %zu",
                        pid, out.n, sizeof *res);
    }
    memcpy(res, out.p, sizeof *res);
    res->start[sizeof res->start - 1] = 0;
    free(out.p);
    return 0;
}

/* ---- lists for a generation that has none ---- */

typedef struct index_job {
    const wr_config *cfg;
    const char *path;
} index_job;

static int run_index(void *arg, wr_bytes *out, wr_err *err)
{
    const index_job *ij = arg;
    wr_candidate res = {.lists_recall = NAN};
    if (knn_blas_headroom(blas_threads(ij->cfg), err) < 0)
        return -1;
    wr_model *m = model_load(ij->path, err);
    if (!m)
        return -1;
    trainproc_state(WR_CANDIDATE_INDEXING);
    double t0 = wr_now();
    int rc = attach_lists(ij->cfg, m, NULL, &res, err);
    res.seconds[WR_STAGE_LISTS] = wr_now() - t0;
    t0 = wr_now();
    if (rc == 0)
        rc = model_save(m, ij->path, err);
    res.seconds[WR_STAGE_WRITE] = wr_now() - t0;
    model_free(m);
    if (rc == 0)
        bytes_put(out, &res, sizeof res);
    return rc;
}

int candidate_index(const wr_config *cfg, const char *path,
                    void (*on_state)(int state, void *ctx), wr_err *err)
{
    index_job ij = {cfg, path};
    wr_bytes out;
    long pid;
    int rc = trainproc_run(run_index, &ij, on_state, NULL, &out, &pid, err);
    free(out.p);
    if (rc < 0) {
        char *tmp = file_temp_name(path, pid);
        unlink(tmp);
        free(tmp);
    }
    return rc;
}

