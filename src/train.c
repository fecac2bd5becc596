/* train.c - the training pipeline: pairs -> graph -> walks -> word2vec -> model.
 *
 * The model's metadata records everything needed to reproduce and judge a run: the
 * parameters, the corpus size, the time of each stage and, when validation pairs are
 * given, the learning curve (AUC at evenly spaced points of training). */
#include "walkrec/train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "walkrec/graph.h"

void train_default_opts(wr_train_opts *o)
{
    memset(o, 0, sizeof *o);
    walk_default_opts(&o->walk);
    sgns_default_opts(&o->sgns);
    o->eval_every = 10;
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* only allocation fails here */
}

/* The learning curve: evaluated by sgns_train's callback while its workers wait. */
typedef struct curve {
    const wr_train_opts *o;
    const wr_dict *ids;
    uint32_t n, dim;
    int threads;
    json_t *points;
    double seconds;
} curve;

static void curve_point(double progress, uint32_t epoch, const float *vecs, void *ctx)
{
    curve *c = ctx;
    double t0 = wr_now();
    /* a view of the vectors being trained; eval_model only reads */
    wr_model m = {.n = c->n, .dim = c->dim, .ids = (wr_dict *)c->ids, .vecs = (float *)vecs};
    wr_err err;
    if (train_curve_point(&m, c->o->val, c->threads, progress, epoch, c->points, c->o->on_point,
                          c->o->point_ctx, &err) < 0)
        wr_warn("learning curve: %s", err.msg);
    c->seconds += wr_now() - t0;
}

int train_curve_point(const wr_model *m, const wr_labeled *val, int threads, double progress,
                      uint32_t epoch, json_t *points,
                      void (*on_point)(double, uint32_t, double, double, void *), void *ctx,
                      wr_err *err)
{
    wr_eval_opts eo;
    wr_eval_result r;
    eval_default_opts(&eo);
    eo.max_queries = 0;
    eo.threads = threads;
    if (eval_model(m, val, &eo, &r, err) < 0)
        return -1;
    json_t *pt = json_object();
    jset(pt, "progress", json_real(progress));
    jset(pt, "epoch", json_integer(epoch));
    jset(pt, "auc_all", jnum(r.auc_all));
    jset(pt, "auc_seen", jnum(r.auc_seen));
    json_array_append_new(points, pt);
    if (on_point)
        on_point(progress, epoch, r.auc_all, r.auc_seen, ctx);
    eval_result_free(&r);
    return 0;
}

static const char *mode_name(int mode) { return mode == WR_MODE_CBOW ? "cbow" : "sg"; }
static const char *lr_name(int s) { return s == WR_LR_COSINE ? "cosine" : "linear"; }

json_t *train_describe(const wr_sgns_opts *s, int threads)
{
    json_t *j = json_object();
    jset(j, "mode", json_string(mode_name(s->mode)));
    jset(j, "dim", json_integer(s->dim));
    jset(j, "window", json_integer(s->window));
    jset(j, "negative", json_integer(s->negative));
    jset(j, "epochs", json_integer(s->epochs));
    jset(j, "subsample", json_real(s->subsample));
    jset(j, "lr", json_real(s->lr));
    jset(j, "min_lr", json_real(s->min_lr));
    jset(j, "lr_schedule", json_string(lr_name(s->lr_schedule)));
    jset(j, "threads", json_integer(threads));
    jset(j, "seed", json_integer((json_int_t)s->seed));
    jset(j, "kernel", json_string(sgns_kernel()->name));
    jset(j, "warm_start", json_boolean(s->init != NULL));
    return j;
}

void train_record(json_t *meta, json_t *trainer, uint32_t items, uint32_t epochs,
                  const wr_corpus *c, wr_train_times *t, json_t *points)
{
    t->sequences = c->nseq;
    t->tokens = c->ntok;
    jset(meta, "trainer", trainer);
    jset(meta, "items", json_integer(items));
    jset(meta, "sequences", json_integer((json_int_t)t->sequences));
    jset(meta, "tokens", json_integer((json_int_t)t->tokens));
    json_t *times = json_object_get(meta, "times");
    jset(times, "train", json_real(t->train));
    if (points)
        jset(times, "learning_curve", json_real(t->eval));
    jset(meta, "tokens_per_second",
         jnum((double)t->tokens * epochs / (t->train > 0 ? t->train : NAN)));
    if (points)
        jset(meta, "learning_curve", points);
}

/* Trains on the corpus and fills the model; meta already holds the stages before. */
static wr_model *train_core(const wr_corpus *c, const wr_dict *ids, const wr_train_opts *o,
                            wr_train_times *t, json_t *meta, wr_err *err)
{
    uint32_t n = dict_size(ids);
    wr_model *m = model_new(n, o->sgns.dim);
    for (uint32_t i = 0; i < n; i++)
        dict_intern(m->ids, dict_str(ids, i), dict_strlen(ids, i));
    wr_sgns_opts so = o->sgns;
    if (o->keep_context)
        m->ctx = so.ctx_out = xmalloc_aligned(((size_t)n * so.dim + 1) * sizeof(float));
    int threads = so.threads > 0 ? so.threads : wr_cpu_count();
    curve cv = {.o = o, .ids = ids, .n = n, .dim = so.dim, .threads = threads,
                .points = json_array()};
    if (o->val && o->eval_every) {
        so.on_eval = curve_point;
        so.eval_ctx = &cv;
        so.evals = o->eval_every;
    }
    double t0 = wr_now();
    if (sgns_train(c, n, &so, m->vecs, err) < 0) {
        json_decref(cv.points);
        model_free(m);
        return NULL;
    }
    t->eval = cv.seconds;
    t->train = wr_now() - t0 - cv.seconds;
    if (!(o->val && o->eval_every)) {
        json_decref(cv.points);
        cv.points = NULL;
    }
    train_record(meta, train_describe(&o->sgns, threads), n, so.epochs, c, t, cv.points);
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!text)
        abort();
    free(m->meta_json);
    m->meta_json = text;
    return m;
}

/* Ids with blanks cannot survive a whitespace-separated file: says so once. */
static void warn_blank_ids(const wr_dict *ids, const char *path)
{
    uint32_t n = dict_size(ids), bad = 0, first = 0;
    for (uint32_t i = 0; i < n; i++)
        if (strpbrk(dict_str(ids, i), " \t\r\n") && !bad++)
            first = i;
    if (bad)
        wr_warn("%s: %u ids contain blanks (e.g. '%s'); readers that split on whitespace "
                "(walkrec train --sequences, gensim, fastText) will see several tokens",
                path, bad, dict_str(ids, first));
}

static int write_walks(const wr_corpus *c, const wr_dict *ids, const char *path, wr_err *err)
{
    warn_blank_ids(ids, path);
    FILE *f = fopen(path, "w");
    if (!f)
        return wr_fail(err, "%s: %s", path, strerror(errno));
    for (uint64_t q = 0; q < c->nseq; q++)
        for (uint64_t j = c->off[q]; j < c->off[q + 1]; j++) {
            fwrite(dict_str(ids, c->tok[j]), 1, dict_strlen(ids, c->tok[j]), f);
            putc(j + 1 < c->off[q + 1] ? ' ' : '\n', f);
        }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return wr_fail(err, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

json_t *train_prepare(const wr_pairs *p, const wr_walk_opts *o, wr_corpus *c, wr_train_times *t,
                      wr_err *err)
{
    wr_graph g;
    memset(c, 0, sizeof *c);
    double t0 = wr_now();
    if (graph_build(&g, p, o->threads, err) < 0)
        return NULL;
    double t1 = wr_now();
    int rc = walk_generate(&g, o, c, err);
    graph_free(&g);
    if (rc < 0)
        return NULL;
    t->graph = t1 - t0;
    t->walks = wr_now() - t1;

    json_t *meta = json_object(), *walks = json_object(), *times = json_object();
    jset(walks, "walks_per_item", json_integer(o->walks_per_item));
    jset(walks, "length", json_integer(o->length));
    jset(walks, "p", json_real(o->p));
    jset(walks, "q", json_real(o->q));
    jset(walks, "seed", json_integer((json_int_t)o->seed));
    jset(meta, "source", json_string("pairs"));
    jset(meta, "walks", walks);
    jset(meta, "pairs", json_integer((json_int_t)p->n));
    jset(times, "graph", json_real(t->graph));
    jset(times, "walks", json_real(t->walks));
    jset(meta, "times", times);
    return meta;
}

wr_model *train_pairs(const wr_pairs *p, const wr_train_opts *o, wr_train_times *t, wr_err *err)
{
    wr_train_times local;
    if (!t)
        t = &local;
    memset(t, 0, sizeof *t);
    wr_corpus c;
    json_t *meta = train_prepare(p, &o->walk, &c, t, err);
    if (!meta)
        return NULL;
    double t2 = wr_now();
    if (o->walks_out && write_walks(&c, p->ids, o->walks_out, err) < 0) {
        json_decref(meta);
        walk_corpus_free(&c);
        return NULL;
    }
    t->write_walks = wr_now() - t2;
    wr_model *m = train_core(&c, p->ids, o, t, meta, err);
    json_decref(meta);
    walk_corpus_free(&c);
    return m;
}

wr_model *train_corpus(const wr_corpus *c, const wr_dict *ids, const wr_train_opts *o,
                       wr_train_times *t, wr_err *err)
{
    wr_train_times local;
    if (!t)
        t = &local;
    memset(t, 0, sizeof *t);
    json_t *meta = json_object();
    jset(meta, "source", json_string("sequences"));
    jset(meta, "times", json_object());
    wr_model *m = train_core(c, ids, o, t, meta, err);
    json_decref(meta);
    return m;
}
