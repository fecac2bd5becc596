/* retrain.c - the trainer thread of walkrecd: triggers, the quality gate, publishing,
 * rollback, followers and the status (see retrain.h for the whole story).
 *
 * Everything here is module state, as walkrecd runs one trainer per process. The lock `mu`
 * guards the mailbox (triggers and requests), the status fields and the index kept for a
 * rollback; it is never held during I/O, training or a publication. `pub` serialises the
 * publications themselves (the trainer's and an instant rollback from an HTTP thread).
 *
 * Gathering the pairs, training (pipeline.h), evaluating and writing a model happen in a
 * trainer process (candidate.h, trainproc.h), so that a run which cannot get memory or disk
 * kills that process, not the daemon. The files of the data directory are generations.h's. */
#include "walkrec/retrain.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "walkrec/attrs.h"
#include "walkrec/candidate.h"
#include "walkrec/churn.h"
#include "walkrec/explain.h"
#include "walkrec/generations.h"
#include "walkrec/hidden.h"
#include "walkrec/history.h"
#include "walkrec/index.h"
#include "walkrec/live.h"
#include "walkrec/metrics.h"
#include "walkrec/model.h"
#include "walkrec/overlay.h"
#include "walkrec/snapshot.h"
#include "walkrec/trainproc.h"

typedef enum { S_STARTING, S_IDLE, S_LOADING, S_TRAINING = WR_CANDIDATE_TRAINING,
               S_EVALUATING = WR_CANDIDATE_EVALUATING, S_INDEXING = WR_CANDIDATE_INDEXING } state;
static const char *state_names[] = {"starting", "idle", "loading", "training", "evaluating",
                                    "indexing"};
#define NSTATES (sizeof state_names / sizeof *state_names)


static struct {
    const wr_config *cfg;
    const char *dir;       /* where model files live: data_dir, or follow */
    int follower;
    void (*on_fatal)(void);
    wr_wal *wal;
    pthread_t tid;
    int started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t idle;   /* signalled when the thread is between runs */
    int stop, reload, requested, busy;
    uint64_t publish_gen;  /* queued forced publication, 0 = none */
    char *submitted;       /* queued submitted model file, NULL = none */
    uint64_t pending;      /* pairs ingested since the last run began, or, after a
                              publication, logged after the live generation's training */
    uint64_t replayed;     /* log position the last replay read to: pending counts it */
    uint64_t hidden_read;  /* follower: where the reading of item records goes on from */
    double last_run;       /* monotonic time the last run began (or start) */
    state st;
    double st_since;
    uint64_t live_gen;
    char live_path[4096];
    wr_index *previous;    /* the index published before the live one, for rollback */
    uint64_t previous_gen;
    char last_error[WR_ERR_MAX + 64];
    double last_error_at;
    uint64_t runs, published, refused;
} T = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
       .idle = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t pub = PTHREAD_MUTEX_INITIALIZER;

static void set_state(state s)
{
    pthread_mutex_lock(&T.mu);
    T.st = s;
    T.st_since = wr_now();
    pthread_mutex_unlock(&T.mu);
}

/* A trainer process's state, relayed (trainproc.h). */
static void on_child_state(int s, void *ctx)
{
    (void)ctx;
    if (s >= 0 && (size_t)s < NSTATES)
        set_state((state)s);
}

/* The published generation and the one kept for rollback (a rollback from an HTTP thread
 * may change them at any time). */
static uint64_t live_generation(uint64_t *previous)
{
    pthread_mutex_lock(&T.mu);
    uint64_t g = T.live_gen;
    if (previous)
        *previous = T.previous_gen;
    pthread_mutex_unlock(&T.mu);
    return g;
}

static void record_error(const char *what, const wr_err *err)
{
    wr_log("%s: %s", what, err->msg);
    pthread_mutex_lock(&T.mu);
    snprintf(T.last_error, sizeof T.last_error, "%.60s: %s", what, err->msg);
    T.last_error_at = wr_unix_now();
    pthread_mutex_unlock(&T.mu);
}

static void prune(void)
{
    uint64_t prev, live = live_generation(&prev);
    generations_prune(T.dir, T.cfg->keep_generations, live, prev);
}

/* ---- publishing ---- */

static wr_index *build_index(wr_model *m, const char *path, uint64_t gen, wr_err *err)
{
    wr_index_opts o;
    candidate_index_opts(T.cfg, &o);
    char *side = generations_sidecar(path), *graph = explain_graph_path(path);
    o.sidecar = side;
    o.graph = graph;
    wr_index *ix = index_build(m, gen, path, &o, err);
    free(side);
    free(graph);
    if (ix)
        index_log(ix);
    return ix;
}

/* The log position a generation was trained through (its metadata's log_position), 0 when
 * it saw none of the log (trained elsewhere, or before the log existed). */
static uint64_t trained_through(const wr_index *ix)
{
    json_t *meta = json_loads(index_info(ix)->meta_json, 0, NULL);
    json_int_t v = json_integer_value(json_object_get(meta, "log_position"));
    json_decref(meta);
    return v > 0 ? (uint64_t)v : 0;
}

/* The pair log is the truth for serving too: after ix is published (with `pub` held, so
 * that replays follow publications in order) every logged item it does not know becomes
 * provisional again, and the pairs logged after its training count as pending, as if the
 * daemon had never stopped or rolled back. */
static void replay_log(const wr_index *ix)
{
    wr_overlay_replay r;
    wr_err err;
    uint64_t trained = trained_through(ix);
    int rc;
    if (T.follower) {
        char *path = generations_log(T.dir);
        rc = overlay_replay(path, 1, 0, trained, &r, &err);
        free(path);
    } else if (T.wal) {
        wr_wal_stats st;
        wal_stats(T.wal, &st);
        pthread_mutex_lock(&T.mu);
        T.replayed = st.durable;
        T.pending = 0; /* ingestion after st.durable counts from here */
        pthread_mutex_unlock(&T.mu);
        if ((rc = overlay_replay(wal_path(T.wal), 1, st.durable, trained, &r, &err)) == 0) {
            pthread_mutex_lock(&T.mu);
            T.pending += r.pending;
            pthread_mutex_unlock(&T.mu);
        }
    } else {
        rc = 0;
        r.pairs = 0;
    }
    overlay_refresh();
    if (rc < 0)
        record_error("replaying the pair log", &err);
    else if (r.pairs)
        wr_log("pair log replayed: %llu pairs in %.3f s, %llu of them after generation %llu's "
               "training", (unsigned long long)r.pairs, r.seconds, (unsigned long long)r.pending,
               (unsigned long long)index_info(ix)->generation);
}

/* Publishes ix; the index it replaces is kept for rollback (the one kept before is freed).
 * current: also record the generation in CURRENT (trainers). */
static void publish_index(wr_index *ix, int current)
{
    const wr_index_info *in = index_info(ix);
    uint64_t gen = in->generation;
    wr_err err;
    pthread_mutex_lock(&pub);
    wr_index *old = snapshot_publish_index(ix);
    pthread_mutex_lock(&T.mu);
    wr_index *drop = T.previous;
    if (T.follower) { /* a follower keeps no second copy: rollback is the trainer's */
        T.previous = NULL;
        T.previous_gen = 0;
        index_free(old);
    } else {
        T.previous = old;
        T.previous_gen = old ? index_info(old)->generation : 0;
    }
    T.live_gen = gen;
    snprintf(T.live_path, sizeof T.live_path, "%s", in->source);
    pthread_mutex_unlock(&T.mu);
    wr_log("published generation %llu: %u items x %u dimensions from %s",
           (unsigned long long)gen, in->n, in->dim, in->source);
    replay_log(ix);
    pthread_mutex_unlock(&pub);
    index_free(drop);
    if (current && generations_set_current(T.dir, gen, &err) < 0)
        record_error("CURRENT", &err);
}

/* Maps a generation's file; a trainer first has the lists the settings ask for built into
 * it by a trainer process when the file has none or other ones (its own generations only:
 * --model names a file that is the operator's). */
static wr_model *map_generation(const char *path, int write_back, wr_err *err)
{
    wr_model *m = model_map(path, err);
    if (!m || !write_back)
        return m;
    wr_index_opts o;
    candidate_index_opts(T.cfg, &o);
    if (index_lists_fit(m, &o))
        return m;
    model_free(m);
    wr_log("%s: building the neighbour lists of the settings into it", path);
    double t0 = wr_now();
    if (candidate_index(T.cfg, path, on_child_state, err) < 0)
        return NULL;
    wr_log("%s: lists stored in %.1f s", path, wr_now() - t0);
    return model_map(path, err);
}

/* The index of a generation's file, as it would be served. */
static wr_index *load_generation(const char *path, uint64_t gen, wr_err *err)
{
    wr_log("loading %s", path);
    set_state(S_LOADING);
    wr_model *m = map_generation(path, !T.follower && generations_of(path) == gen &&
                                           strcmp(path, T.cfg->model), err);
    if (!m)
        return NULL;
    set_state(S_INDEXING);
    return build_index(m, path, gen, err);
}

static int load_and_publish(const char *path, uint64_t gen, int current, wr_err *err)
{
    double t0 = wr_now();
    wr_index *ix = load_generation(path, gen, err);
    if (!ix)
        return -1;
    publish_index(ix, current);
    wr_log("generation %llu ready in %.2f s", (unsigned long long)gen, wr_now() - t0);
    return 0;
}

/* model-N.wr back to its candidate name, so that the disk says what the status says: not
 * published (why: what stopped it). */
static void demote(uint64_t gen, const char *why)
{
    wr_err e;
    if (generations_move(T.dir, gen, 0, &e) == 0)
        wr_log("generation %llu not published, kept as candidate-%llu.wr: %s",
               (unsigned long long)gen, (unsigned long long)gen, why);
}

/* Publishes model-N.wr; when that fails (its neighbour lists need memory the daemon does
 * not have: the index is built here, not in the trainer process) it is demoted. */
static int publish_or_demote(uint64_t gen, wr_err *err)
{
    char *m = generations_path(T.dir, gen, 0);
    int rc = load_and_publish(m, gen, 1, err);
    free(m);
    if (rc < 0)
        demote(gen, err->msg);
    return rc;
}

/* How much the candidate's lists differ from the published ones (churn.h), into rep. */
static void measure_churn(const wr_index *cand, wr_run *rep)
{
    const wr_snapshot *s = live_acquire();
    if (s)
        churn_compare(s->index, cand, 10, &rep->churn);
    live_release();
}

static void finish_report(wr_run *rep)
{
    rep->seconds = wr_unix_now() - rep->started;
    rep->gate_max_auc_drop = T.cfg->gate_max_auc_drop;
    wr_err err;
    if (history_add(rep, &err) < 0)
        record_error("the run's report", &err);
    pthread_mutex_lock(&T.mu);
    T.runs++;
    T.published += !strcmp(rep->decision, "published");
    T.refused += !strcmp(rep->decision, "refused");
    pthread_mutex_unlock(&T.mu);
}

/* Trains a candidate on everything but the validation pairs (or takes the submitted
 * model), compares it with the live model on them, and publishes it or keeps it aside. */
static int run(const char *trigger, const char *submitted, wr_err *err)
{
    wr_run rep = {.started = wr_unix_now(), .gate_max_churn = T.cfg->gate_max_churn,
                  .churn = {.overlap = NAN, .rbo = NAN},
                  .c = {.cand_auc_all = NAN, .live_auc_all = NAN, .lists_recall = NAN}};
    snprintf(rep.trigger, sizeof rep.trigger, "%s", trigger);
    snprintf(rep.mode, sizeof rep.mode, "%s", config_enum_name(T.cfg, "retrain_mode"));
    snprintf(rep.decision, sizeof rep.decision, "failed");
    char live_path[sizeof T.live_path];
    int rc = -1;

    set_state(S_LOADING);
    pthread_mutex_lock(&T.mu);
    snprintf(live_path, sizeof live_path, "%s", T.live_path);
    rep.live_generation = T.live_gen;
    pthread_mutex_unlock(&T.mu);
    rep.generation = generations_next(T.dir, live_generation(NULL) + 1);
    char *path = generations_path(T.dir, rep.generation, 0),
         *cpath = generations_path(T.dir, rep.generation, 1);
    wr_log("retraining (%s, %s)", trigger, rep.mode);
    wr_candidate_job j = {T.cfg, 1, T.wal, live_path, path, cpath, submitted};
    if (candidate_train(&j, on_child_state, &rep.c, err) < 0)
        goto out;
    wr_log("candidate %llu: AUC %.4f (seen %.4f, recall@10 %.4f) against live %.4f (seen %.4f, "
           "recall@10 %.4f)%s", (unsigned long long)rep.generation, rep.c.cand_auc_all,
           rep.c.cand_auc_seen, rep.c.cand_recall, rep.c.live_auc_all, rep.c.live_auc_seen,
           rep.c.live_recall, rep.c.pass ? "" : ": refused by the gate");
    if (!rep.c.pass) {
        snprintf(rep.decision, sizeof rep.decision, "refused");
        snprintf(rep.reason, sizeof rep.reason,
                 "AUC %.4f is more than %g below the live model's %.4f; kept as %s",
                 rep.c.cand_auc_all, T.cfg->gate_max_auc_drop, rep.c.live_auc_all, cpath);
        prune();
        rc = 0;
        goto out;
    }
    /* the candidate as it would be served: its lists against the live ones, then served */
    double t0 = wr_now();
    wr_index *cix = load_generation(path, rep.generation, err);
    if (!cix) {
        demote(rep.generation, err->msg);
        goto out;
    }
    if (*live_path) {
        measure_churn(cix, &rep);
        metrics_churn(rep.churn.overlap, rep.churn.rbo);
    }
    double churn = 1 - rep.churn.overlap;
    wr_log("candidate %llu: overlap@10 with the live lists %.3f, RBO %.3f over %zu items%s",
           (unsigned long long)rep.generation, rep.churn.overlap, rep.churn.rbo, rep.churn.items,
           churn > T.cfg->gate_max_churn ? ": refused by the gate" : "");
    if (churn > T.cfg->gate_max_churn) { /* NaN (nothing to compare with) passes */
        index_free(cix);
        demote(rep.generation, "churn above gate_max_churn");
        snprintf(rep.decision, sizeof rep.decision, "refused");
        snprintf(rep.reason, sizeof rep.reason, "churn %.4f (1 - overlap@10) is above "
                 "gate_max_churn %g; kept as %s", churn, T.cfg->gate_max_churn, cpath);
        prune();
        rc = 0;
        goto out;
    }
    publish_index(cix, 1);
    rep.c.seconds[WR_STAGE_PUBLISH] = wr_now() - t0;
    prune();
    snprintf(rep.decision, sizeof rep.decision, "published");
    rc = 0;
out:
    if (rc < 0)
        snprintf(rep.reason, sizeof rep.reason, "%s", err->msg);
    finish_report(&rep);
    free(path);
    free(cpath);
    return rc;
}

/* No model at all: train on everything (no gate: there is nothing to compare with). */
static int train_first(wr_err *err)
{
    char *path = NULL;
    wr_candidate res;
    int rc = -1;
    set_state(S_LOADING);
    if (*T.cfg->pairs)
        wr_log("no model in %s: training on %s%s", T.dir, T.cfg->pairs,
               T.wal ? " and the ingested pairs" : "");
    else
        wr_log("no model in %s and no pairs file: training on the built-in synthetic catalogue",
               T.dir);
    if (generations_make_dir(T.dir, err) < 0)
        goto out;
    uint64_t gen = generations_next(T.dir, live_generation(NULL) + 1);
    path = generations_path(T.dir, gen, 0);
    wr_candidate_job j = {T.cfg, 0, T.wal, "", path, path, NULL};
    if (candidate_train(&j, on_child_state, &res, err) < 0)
        goto out;
    wr_log("trained %u items x %u dimensions in %.1f s", res.items, res.dim, res.train_seconds);
    wr_log("saved %s", path);
    if (load_and_publish(path, gen, 1, err) < 0)
        goto out;
    rc = 0;
out:
    free(path);
    return rc;
}

/* ---- hidden items and attributes ---- */

static int apply_item(void *ud, uint64_t off, int kind, const char *id, size_t len,
                      const char *data, size_t dlen)
{
    *(int *)ud |= kind == WR_WAL_ATTRS ? attrs_apply(id, len, data, dlen, off)
                                       : hidden_apply(kind, id, len, off);
    return 0;
}

/* Follower: the item records the trainer logged since the last call into the hidden set
 * and the attributes, published when they changed; from the start again when the log was
 * cut or replaced. */
static void follow_hidden(void)
{
    wr_err err;
    char *path = generations_log(T.dir);
    int changed = 0, rc = wal_scan_file_all(path, T.hidden_read, 0, NULL, apply_item, &changed,
                                            &T.hidden_read, &err);
    if (rc < 0 && err.code == WR_ESTATE) {
        wr_log("%s; reading the hidden items and attributes again from the start", err.msg);
        hidden_reset();
        attrs_reset();
        changed = 1;
        rc = wal_scan_file_all(path, 0, 0, NULL, apply_item, &changed, &T.hidden_read, &err);
    }
    free(path);
    if (rc < 0 && err.code != WR_ENOTFOUND)
        record_error("follow: hidden items", &err);
    if (changed)
        snapshot_publish_hidden();
}

int retrain_items(int kind, const wr_wal_item *it, size_t n, wr_err *err)
{
    int changed = 0;
    if (!T.wal)
        return wr_failc(err, WR_ESTATE, "this instance has no pair log (follower)");
    uint64_t *pos = xmalloc((n + 1) * sizeof *pos);
    if (wal_append_items(T.wal, kind, it, n, pos, err) < 0) {
        free(pos);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        apply_item(&changed, pos[i] - WR_WAL_ITEM_RECORD(it[i].len + it[i].dlen), kind, it[i].id,
                   it[i].len, it[i].data, it[i].dlen);
    if (changed) /* one publication for the batch */
        snapshot_publish_hidden();
    for (size_t i = 0; kind == WR_WAL_DELETE && i < n; i++)
        overlay_delete(it[i].id, it[i].len, pos[i]);
    free(pos);
    return 0;
}

/* The model to serve at start, or after SIGHUP. */
static int load_serving(int first, wr_err *err)
{
    const char *model = T.cfg->model;
    if (*model && !T.follower) {
        uint64_t gen = generations_of(model);
        return load_and_publish(model, gen ? gen : live_generation(NULL) + 1, 0, err);
    }
    if (T.follower)
        follow_hidden(); /* before the first publication */
    uint64_t gen = generations_serving(T.dir);
    if (!gen) {
        if (T.follower) {
            if (first)
                wr_log("following %s: no generation there yet", T.dir);
            return 0;
        }
        if (!first)
            return wr_failc(err, WR_ENOTFOUND, "no model-<generation>.wr file in %s", T.dir);
        return train_first(err);
    }
    char *path = generations_path(T.dir, gen, 0);
    int rc = load_and_publish(path, gen, 0, err);
    free(path);
    return rc;
}

/* Follower: publish the generation the trainer's CURRENT names once it differs. */
static void follow_once(void)
{
    wr_err err;
    follow_hidden();
    uint64_t gen = generations_serving(T.dir);
    if (gen && gen == live_generation(NULL)) { /* the trainer's newly logged pairs */
        char *log = generations_log(T.dir);
        if (overlay_replay(log, 0, 0, 0, NULL, &err) < 0)
            record_error("follow: pair log", &err);
        free(log);
    }
    if (!gen || gen == live_generation(NULL))
        return;
    char *path = generations_path(T.dir, gen, 0);
    if (load_and_publish(path, gen, 0, &err) < 0)
        record_error("follow", &err);
    free(path);
}

/* A refused candidate becomes a published generation by renaming it (with its side file);
 * an older published one is simply published again. */
static int force_publish(uint64_t gen, wr_err *err)
{
    if (gen == live_generation(NULL)) {
        wr_log("generation %llu is live already: nothing to publish", (unsigned long long)gen);
        return 0;
    }
    char *m = generations_path(T.dir, gen, 0);
    int rc = access(m, F_OK) == 0              ? load_and_publish(m, gen, 1, err)
             : generations_move(T.dir, gen, 1, err) ? -1
                                                   : publish_or_demote(gen, err);
    free(m);
    return rc;
}

static int due(double now)
{
    const wr_config *c = T.cfg;
    if (T.follower)
        return 0;
    return T.requested || (c->retrain_min_pairs && T.pending >= c->retrain_min_pairs) ||
           (c->retrain_interval && T.pending && now - T.last_run >= c->retrain_interval);
}

/* One piece of work of the mailbox, entered and left with T.mu held. */
static void work(void)
{
    wr_err err;
    if (T.follower) {
        T.reload = 0;
        pthread_mutex_unlock(&T.mu);
        follow_once();
    } else if (T.reload) {
        T.reload = 0;
        pthread_mutex_unlock(&T.mu);
        if (load_serving(0, &err) < 0) {
            char what[64];
            snprintf(what, sizeof what, "reload failed, still serving generation %llu",
                     (unsigned long long)live_generation(NULL));
            record_error(what, &err);
        }
    } else if (T.publish_gen) {
        uint64_t gen = T.publish_gen;
        T.publish_gen = 0;
        pthread_mutex_unlock(&T.mu);
        if (force_publish(gen, &err) < 0)
            record_error("publish", &err);
    } else if (T.submitted) {
        char *path = T.submitted;
        T.submitted = NULL;
        T.last_run = wr_now();
        pthread_mutex_unlock(&T.mu);
        wr_log("judging the submitted model %s", path);
        if (run("submitted", path, &err) < 0)
            record_error("submitted", &err);
        free(path);
    } else {
        const char *why = T.requested ? "requested"
                          : T.cfg->retrain_min_pairs && T.pending >= T.cfg->retrain_min_pairs
                              ? "new pairs"
                              : "interval";
        T.requested = 0;
        T.pending = 0;
        T.last_run = wr_now();
        pthread_mutex_unlock(&T.mu);
        if (run(why, NULL, &err) < 0)
            record_error("retrain", &err);
    }
    /* The scratch of an index build (and, in sanitizer builds, a run's pairs) is freed, but
     * glibc keeps the freed pages of a thread's arena: the daemon's RSS would follow the
     * largest run so far rather than what it serves (bench/soak.sh). */
    malloc_trim(0);
    pthread_mutex_lock(&T.mu);
}

static void *trainer_main(void *arg)
{
    (void)arg;
    wr_err err;
    if (load_serving(1, &err) < 0) {
        pthread_mutex_lock(&T.mu);
        int stopping = T.stop; /* the first training was stopped: not a failure */
        T.busy = 0; /* nothing left to abandon: retrain_stop may join */
        pthread_cond_broadcast(&T.idle);
        pthread_mutex_unlock(&T.mu);
        if (stopping) {
            wr_log("no model to serve: %s", err.msg);
        } else {
            record_error("error", &err);
            T.on_fatal();
        }
        return NULL;
    }
    pthread_mutex_lock(&T.mu);
    for (;;) {
        T.busy = 0;
        T.st = S_IDLE;
        pthread_cond_broadcast(&T.idle);
        while (!T.stop && !T.reload && !T.publish_gen && !T.submitted && !due(wr_now())) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += T.follower ? T.cfg->follow_interval : 1;
            if (pthread_cond_timedwait(&T.cv, &T.mu, &ts) == ETIMEDOUT && T.follower)
                break;
        }
        if (T.stop)
            break;
        T.busy = 1;
        work();
    }
    pthread_mutex_unlock(&T.mu);
    return NULL;
}

/* ---- the API ---- */

int retrain_start(const wr_config *cfg, void (*on_fatal)(void), wr_err *err)
{
    T.cfg = cfg;
    T.follower = *cfg->follow != 0;
    T.dir = T.follower ? cfg->follow : cfg->data_dir;
    T.on_fatal = on_fatal;
    T.last_run = wr_now();
    T.st_since = wr_now();
    if (!T.follower) {
        generations_remove_temporaries(cfg->data_dir);
        wr_wal_info wi;
        if (!(T.wal = wal_open(cfg->data_dir, 0, &wi, err)))
            return -1;
        if (wi.cut_bytes)
            wr_log("pair log: cut a torn tail of %llu bytes at offset %llu (%s)",
                   (unsigned long long)wi.cut_bytes, (unsigned long long)wi.cut_at, wi.cut_why);
        if (wi.pairs)
            wr_log("pair log: %llu ingested pairs in %llu batches",
                   (unsigned long long)wi.pairs, (unsigned long long)wi.records - wi.items);
        int changed = 0; /* the hidden set, before anything is published */
        if (wal_scan_all(T.wal, 0, NULL, apply_item, &changed, NULL, err) < 0) {
            wal_close(T.wal);
            return -1;
        }
        if (wi.items)
            wr_log("pair log: %llu item changes, %zu items hidden, %zu with attributes set",
                   (unsigned long long)wi.items, hidden_count(), attrs_count());
        if (history_open(cfg->data_dir, 20, err) < 0) {
            wal_close(T.wal);
            return -1;
        }
    }
    T.busy = 1;
    if (pthread_create(&T.tid, NULL, trainer_main, NULL) != 0) {
        wal_close(T.wal);
        T.wal = NULL;
        return wr_failc(err, WR_EINTERNAL, "cannot start the trainer thread");
    }
    T.started = 1;
    return 0;
}

int retrain_stop(void)
{
    if (!T.started)
        return 0;
    pthread_mutex_lock(&T.mu);
    T.stop = 1;
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    /* A trainer process is killed and reaped; the thread then only reports the failure
     * and goes idle, which is worth a moment's wait to join it. */
    trainproc_kill();
    pthread_mutex_lock(&T.mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    while (T.busy && pthread_cond_timedwait(&T.idle, &T.mu, &until) != ETIMEDOUT)
        ;
    int busy = T.busy;
    pthread_mutex_unlock(&T.mu);
    if (busy)
        return 1;
    pthread_join(T.tid, NULL);
    wal_close(T.wal);
    T.wal = NULL;
    history_close();
    pthread_mutex_lock(&T.mu);
    index_free(T.previous);
    T.previous = NULL;
    free(T.submitted);
    T.submitted = NULL;
    pthread_mutex_unlock(&T.mu);
    T.started = 0;
    return 0;
}

static void wake(int *flag)
{
    pthread_mutex_lock(&T.mu);
    if (flag)
        *flag = 1;
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
}

void retrain_reload(void) { wake(&T.reload); }

void retrain_request(void) { wake(&T.requested); }

int retrain_is_follower(void) { return T.follower; }

int retrain_ingest(const wr_wal_pair *p, size_t n, uint64_t *pos, uint64_t *pending,
                   wr_err *err)
{
    if (!T.wal)
        return wr_failc(err, WR_ESTATE, "this instance has no pair log (follower)");
    if (wal_append(T.wal, p, n, pos, err) < 0)
        return -1;
    pthread_mutex_lock(&T.mu);
    if (*pos > T.replayed) /* else a replay counted it */
        T.pending += n;
    *pending = T.pending;
    if (due(wr_now()))
        pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    overlay_note(p, n, *pos);
    return 0;
}

int retrain_force_publish(uint64_t generation, wr_err *err)
{
    char *m = generations_path(T.dir, generation, 0), *c = generations_path(T.dir, generation, 1);
    const char *path = access(m, F_OK) == 0 ? m : access(c, F_OK) == 0 ? c : NULL;
    int rc = 0;
    if (!path)
        rc = wr_failc(err, WR_ENOTFOUND, "no model-%llu.wr or candidate-%llu.wr in %s",
                      (unsigned long long)generation, (unsigned long long)generation, T.dir);
    else /* a file that cannot be read or is damaged is refused now, naming it */
        rc = model_verify(path, err);
    free(m);
    free(c);
    if (rc < 0)
        return -1;
    pthread_mutex_lock(&T.mu);
    T.publish_gen = generation;
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    return 0;
}

int retrain_submit(const char *path, wr_err *err)
{
    if (T.follower)
        return wr_failc(err, WR_ESTATE, "a follower judges no models");
    if (path[0] != '/')
        return wr_fail(err, "model: expected an absolute path on the trainer's machine, got "
                       "'%s'", path);
    if (model_verify(path, err) < 0)
        return -1;
    pthread_mutex_lock(&T.mu);
    if (T.submitted) {
        pthread_mutex_unlock(&T.mu);
        return wr_failc(err, WR_EBUSY, "a submitted model is waiting to be judged already");
    }
    T.submitted = xstrdup(path);
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    return 0;
}

int retrain_rollback(uint64_t *generation, int *queued, wr_err *err)
{
    pthread_mutex_lock(&pub);
    pthread_mutex_lock(&T.mu);
    wr_index *prev = T.previous;
    uint64_t live = T.live_gen, target = 0;
    if (prev && T.previous_gen < live) {
        T.previous = NULL;
        T.previous_gen = 0;
        pthread_mutex_unlock(&T.mu);
        wr_index *newer = snapshot_publish_index(prev);
        pthread_mutex_lock(&T.mu);
        T.live_gen = index_info(prev)->generation;
        snprintf(T.live_path, sizeof T.live_path, "%s", index_info(prev)->source);
        pthread_mutex_unlock(&T.mu);
        *generation = index_info(prev)->generation;
        *queued = 0;
        wr_log("rolled back from generation %llu to %llu", (unsigned long long)live,
               (unsigned long long)*generation);
        replay_log(prev);
        pthread_mutex_unlock(&pub);
        index_free(newer);
        wr_err e;
        if (generations_set_current(T.dir, *generation, &e) < 0) /* a restart may not know */
            record_error("rollback: CURRENT", &e);
        return 0;
    }
    pthread_mutex_unlock(&T.mu);
    pthread_mutex_unlock(&pub);
    uint64_t *g;
    size_t n = generations_list(T.dir, &g, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        if (g[i] < live)
            target = g[i];
    free(g);
    if (!target)
        return wr_failc(err, WR_ESTATE, "no generation older than %llu in %s",
                        (unsigned long long)live, T.dir);
    *generation = target;
    *queued = 1;
    return retrain_force_publish(target, err);
}

/* ---- status ---- */

static json_t *progress_json(void)
{
    wr_progress_snap ps;
    char what[48], unit[16];
    if (!trainproc_progress(&ps, what, sizeof what, unit, sizeof unit))
        return json_null();
    double el = wr_now() - ps.start, rate = el > 0 ? (double)ps.done / el : 0;
    return json_pack("{s:s,s:s,s:I,s:I,s:o,s:f,s:o}", "step", ps.what, "unit", ps.unit, "done",
                     (json_int_t)ps.done, "total", (json_int_t)ps.total, "fraction",
                     ps.total ? json_real((double)ps.done / ps.total) : json_null(),
                     "per_second", rate, "seconds_left",
                     ps.total && rate > 0 && ps.done < ps.total
                         ? json_real((double)(ps.total - ps.done) / rate)
                         : json_null());
}

json_t *retrain_status(void)
{
    json_t *doc = json_object(), *hist = json_array();
    pthread_mutex_lock(&T.mu);
    json_object_set_new(doc, "role", json_string(T.follower ? "follower" : "trainer"));
    json_object_set_new(doc, "state", json_string(state_names[T.st]));
    json_object_set_new(doc, "state_seconds", json_real(wr_now() - T.st_since));
    json_object_set_new(doc, "generation", json_integer((json_int_t)T.live_gen));
    json_object_set_new(doc, "model_file", json_string(T.live_path));
    json_object_set_new(doc, "rollback_ready", json_boolean(T.previous != NULL));
    json_object_set_new(doc, "pending_pairs", json_integer((json_int_t)T.pending));
    json_object_set_new(doc, "provisional_items", json_integer((json_int_t)overlay_served()));
    json_object_set_new(doc, "hidden_items", json_integer((json_int_t)hidden_count()));
    json_object_set_new(doc, "runs", json_integer((json_int_t)T.runs));
    json_object_set_new(doc, "published", json_integer((json_int_t)T.published));
    json_object_set_new(doc, "refused", json_integer((json_int_t)T.refused));
    json_t *last = history_last();
    json_object_set_new(doc, "last_run", last ? last : json_null());
    json_object_set_new(doc, "history", history_json());
    json_object_set_new(doc, "last_error", *T.last_error ? json_pack("{s:s,s:f}", "message",
                        T.last_error, "at", T.last_error_at) : json_null());
    json_object_set_new(doc, "retrain_mode",
                        json_string(config_enum_name(T.cfg, "retrain_mode")));
    json_object_set_new(doc, "validation_seed", json_integer((json_int_t)T.cfg->validation_seed));
    int idle = T.st == S_IDLE;
    uint64_t live_gen = T.live_gen;
    pthread_mutex_unlock(&T.mu);
    json_object_set_new(doc, "progress", idle ? json_null() : progress_json());
    if (T.wal) {
        wr_wal_stats ws;
        wal_stats(T.wal, &ws);
        json_object_set_new(doc, "log", json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "path",
            wal_path(T.wal), "position", (json_int_t)ws.end, "durable", (json_int_t)ws.durable,
            "records", (json_int_t)ws.records, "pairs", (json_int_t)ws.pairs, "items",
            (json_int_t)ws.items, "syncs", (json_int_t)ws.syncs));
    }
    uint64_t *g, *c;
    size_t nc, n = generations_list(T.dir, &g, &c, &nc);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(hist, json_pack("{s:I,s:s}", "generation", (json_int_t)g[i],
                                              "state", g[i] == live_gen ? "live" : "published"));
    for (size_t i = 0; i < nc; i++)
        json_array_append_new(hist, json_pack("{s:I,s:s}", "generation", (json_int_t)c[i],
                                              "state", "refused"));
    free(g);
    free(c);
    json_object_set_new(doc, "generations", hist);
    return doc;
}
