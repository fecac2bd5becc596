/* retrain.c - the trainer thread of walkrecd: generations, ingestion, retraining behind a
 * quality gate, rollback, followers (see retrain.h for the whole story).
 *
 * Everything here is module state, as walkrecd runs one trainer per process. The lock `mu`
 * guards the mailbox (triggers and requests), the status fields and the kept previous
 * index; it is never held during I/O, training or a publication. `pub` serialises the
 * publications themselves (the trainer's and an instant rollback from an HTTP thread).
 *
 * Gathering the pairs, training, evaluating and writing a model happen in a child process
 * (see "the trainer process" below), so that a run which cannot get memory or disk kills
 * that process, not the daemon: the live model keeps serving and a later run may succeed. */
#include "walkrec/retrain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "walkrec/calib.h"
#include "walkrec/edgeweight.h"
#include "walkrec/eval.h"
#include "walkrec/index.h"
#include "walkrec/knn.h"
#include "walkrec/live.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/progress.h"
#include "walkrec/provisional.h"
#include "walkrec/synth.h"
#include "walkrec/train.h"
#include "walkrec/rng.h"
#include "walkrec/text.h"
#include "walkrec/file.h"
#include "walkrec/rank.h"

#define OVERLAP_SAMPLE 500
#define EVAL_QUERIES 1000

typedef enum { S_STARTING, S_IDLE, S_LOADING, S_TRAINING, S_EVALUATING, S_INDEXING } state;
static const char *state_names[] = {"starting", "idle", "loading", "training", "evaluating",
                                    "indexing"};
#define NSTATES (sizeof state_names / sizeof *state_names)

/* The step a trainer process is in, as progress_snapshot gives it there; the strings are
 * copied because the parent must not follow the child's pointers. what[0] = 0: none. */
typedef struct child_progress {
    char what[48], unit[16];
    uint64_t done, total;
    double start;
} child_progress;

/* What a run found, for the status route and the log. */
typedef struct run_report {
    int done;
    uint64_t generation;
    char trigger[32], mode[16], decision[16], reason[WR_ERR_MAX + 128];
    double started, seconds, train_seconds;
    size_t train_pairs, val_pairs, items;
    double cand_auc_all, cand_auc_seen, cand_recall;
    double live_auc_all, live_auc_seen, live_recall;
    double overlap;
    uint64_t live_generation;
} run_report;

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
    int stop, reload, requested, busy;
    uint64_t publish_gen;  /* queued forced publication, 0 = none */
    uint64_t pending;      /* pairs ingested since the last run began */
    double last_run;       /* monotonic time the last run began (or start) */
    state st;
    double st_since;
    uint64_t live_gen;
    char live_path[4096];
    wr_index *previous;    /* the index published before the live one, for rollback */
    uint64_t previous_gen;
    run_report last;
    char last_error[WR_ERR_MAX + 64];
    double last_error_at;
    uint64_t runs, published, refused;
    pid_t child;           /* the trainer process while one runs (not yet reaped), else 0 */
    child_progress cprog;  /* its running step */
    pthread_cond_t gone;   /* signalled when the child is gone and when the thread is idle */
} T = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
       .gone = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t pub = PTHREAD_MUTEX_INITIALIZER;

/* Held around fork() and around every progress_snapshot() of another thread: the child
 * then never inherits progress.c's lock held by a thread that does not exist there. */
static pthread_mutex_t fork_mu = PTHREAD_MUTEX_INITIALIZER;

/* In a trainer process: its end of the pipe to the daemon; -1 in the daemon itself. */
static int child_fd = -1;
static void child_send(uint32_t type, const void *data, size_t len);
enum { REC_STATE = 1, REC_PROGRESS, REC_LOG, REC_RESULT };

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void set_state(state s)
{
    if (child_fd >= 0) { /* a trainer process: the daemon's state is the daemon's to set */
        unsigned char b = (unsigned char)s;
        child_send(REC_STATE, &b, 1);
        return;
    }
    pthread_mutex_lock(&T.mu);
    T.st = s;
    T.st_since = wr_now();
    pthread_mutex_unlock(&T.mu);
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

/* wr_log, or in a trainer process a line the daemon logs for it: wr_log's gmtime_r takes
 * glibc's time zone lock, which an HTTP thread may have held at the fork. */
static void tlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tlog(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n = n < 0 ? 0 : n >= (int)sizeof line ? (int)sizeof line - 1 : n;
    if (child_fd >= 0)
        child_send(REC_LOG, line, (size_t)n);
    else
        wr_log("%s", line);
}

static void record_error(const char *what, const wr_err *err)
{
    wr_log("%s: %s", what, err->msg);
    pthread_mutex_lock(&T.mu);
    snprintf(T.last_error, sizeof T.last_error, "%s: %s", what, err->msg);
    T.last_error_at = unix_now();
    pthread_mutex_unlock(&T.mu);
}

/* ---- files ---- */

static char *path_in(const char *dir, const char *fmt, uint64_t gen)
{
    char name[64];
    snprintf(name, sizeof name, fmt, (unsigned long long)gen);
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* N of a name "<prefix>N.wr" (N >= 1, digits only), else 0. */
static uint64_t number_of(const char *name, const char *prefix)
{
    size_t len = strlen(name), pl = strlen(prefix);
    uint64_t g;
    char digits[32];
    if (len <= pl + 3 || strncmp(name, prefix, pl) || strcmp(name + len - 3, ".wr") ||
        len - pl - 3 >= sizeof digits)
        return 0;
    memcpy(digits, name + pl, len - pl - 3);
    digits[len - pl - 3] = 0;
    return text_parse_u64(digits, &g) == 0 ? g : 0;
}

static uint64_t generation_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return number_of(slash ? slash + 1 : path, "model-");
}

static void sort_generations(uint64_t *g, size_t n)
{
    for (size_t i = 1; i < n; i++) /* few files: insertion sort */
        for (size_t j = i; j > 0 && g[j - 1] > g[j]; j--) {
            uint64_t t = g[j];
            g[j] = g[j - 1];
            g[j - 1] = t;
        }
}

/* Generations in dir, ascending: published ones (model-N.wr) into *models, refused ones
 * (candidate-N.wr) into *cands (may be NULL). */
static size_t list_generations(const char *dir, uint64_t **models, uint64_t **cands,
                               size_t *ncands)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0, nc = 0;
    *models = NULL;
    if (cands)
        *cands = NULL;
    while (d && (e = readdir(d))) {
        uint64_t g = number_of(e->d_name, "model-"), c = number_of(e->d_name, "candidate-");
        if (g) {
            *models = xrealloc(*models, (n + 1) * sizeof **models);
            (*models)[n++] = g;
        } else if (c && cands) {
            *cands = xrealloc(*cands, (nc + 1) * sizeof **cands);
            (*cands)[nc++] = c;
        }
    }
    if (d)
        closedir(d);
    sort_generations(*models, n);
    if (cands)
        sort_generations(*cands, nc);
    if (ncands)
        *ncands = nc;
    return n;
}

/* The generation data_dir/CURRENT names, 0 when there is no such file (or it is bad). */
static uint64_t read_current(const char *dir)
{
    char *p = path_in(dir, "CURRENT", 0), buf[32];
    FILE *f = fopen(p, "r");
    uint64_t g = 0;
    free(p);
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return text_parse_u64(buf, &g) == 0 ? g : 0;
}

static int write_current(uint64_t gen, wr_err *err)
{
    char *p = path_in(T.dir, "CURRENT", 0), buf[32];
    int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)gen);
    int rc = file_write_atomic(p, buf, (size_t)n, err);
    free(p);
    return rc;
}

/* The generation to serve from dir: CURRENT's when its file exists, else the newest. */
static uint64_t serving_generation(const char *dir)
{
    uint64_t cur = read_current(dir), *g, best = 0;
    size_t n = list_generations(dir, &g, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        if (g[i] == cur || (!cur && g[i] > best))
            best = g[i];
    if (cur && best != cur)
        for (size_t i = 0; i < n; i++)
            best = g[i] > best ? g[i] : best;
    free(g);
    return best;
}

/* One more than every generation on disk, published or refused. */
static uint64_t next_generation(void)
{
    uint64_t *g, *c, next = live_generation(NULL) + 1;
    size_t nc, n = list_generations(T.dir, &g, &c, &nc);
    for (size_t i = 0; i < n; i++)
        next = g[i] >= next ? g[i] + 1 : next;
    for (size_t i = 0; i < nc; i++)
        next = c[i] >= next ? c[i] + 1 : next;
    free(g);
    free(c);
    return next;
}

/* Files are written as <name>.tmp.<suffix> and renamed into place (model.h, util.h), so a
 * crash mid-write leaves only such a file behind, never a torn model: removed at start. */
static void remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    while (d && (e = readdir(d))) {
        if (!strstr(e->d_name, ".tmp."))
            continue;
        char *p = xmalloc(strlen(dir) + strlen(e->d_name) + 2);
        sprintf(p, "%s/%s", dir, e->d_name);
        n += unlink(p) == 0;
        free(p);
    }
    if (d)
        closedir(d);
    if (n)
        wr_log("removed %zu temporary files left by an interrupted write in %s", n, dir);
}

/* Side information the daemon writes beside a model it trained: <model>.items.tsv. */
static char *sidecar_path(const char *model)
{
    size_t len = strlen(model);
    if (len > 3 && !strcmp(model + len - 3, ".wr"))
        len -= 3;
    char *p = xmalloc(len + sizeof ".items.tsv");
    snprintf(p, len + sizeof ".items.tsv", "%.*s.items.tsv", (int)len, model);
    return p;
}

static int make_dirs(const char *dir, wr_err *err)
{
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        int end = *s == 0;
        if (*s != '/' && !end)
            continue;
        *s = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            rc = wr_fail(err, "cannot create %s: %s", p, strerror(errno));
        if (end)
            break;
        *s = '/';
    }
    free(p);
    return rc;
}

/* item, its number of pairs (validation and ingested ones included), and the category
 * where the catalogue has one (the first ncat ids: the synthetic catalogue's; ingested
 * items have none). */
static int write_sidecar(const char *path, const wr_pairs *p, const uint32_t *cat,
                         uint32_t ncat, wr_err *err)
{
    wr_atomic_file a;
    uint32_t *deg = pairs_degree(p);
    if (file_atomic_open(&a, path, err) < 0) {
        free(deg);
        return -1;
    }
    fprintf(a.f, "item\tdegree%s\n", cat ? "\tcategory" : "");
    for (uint32_t i = 0; i < dict_size(p->ids); i++) {
        fprintf(a.f, "%s\t%u", dict_str(p->ids, i), deg[i]);
        if (cat && i < ncat)
            fprintf(a.f, "\tc%04u", cat[i]); /* synth_write_items' category names */
        else if (cat)
            fputc('\t', a.f);
        fputc('\n', a.f);
    }
    free(deg);
    return file_atomic_commit(&a, err);
}

/* Deletes a model file (model-N.wr or candidate-N.wr) and its side file. */
static void delete_generation(const char *pattern, uint64_t gen, const char *what, size_t keep)
{
    char *m = path_in(T.dir, pattern, gen), *s = sidecar_path(m);
    if (unlink(m) == 0)
        wr_log("deleted %s %llu (keep_generations = %zu)", what, (unsigned long long)gen, keep);
    unlink(s);
    free(m);
    free(s);
}

/* Deletes published generations beyond the newest keep_generations, never the live one
 * nor the one kept for rollback, and refused candidates beyond the newest keep_generations
 * (under noisy ingestion the gate may refuse most of them). */
static void prune(void)
{
    uint64_t *g, *c, prev, live = live_generation(&prev);
    size_t nc, n = list_generations(T.dir, &g, &c, &nc), keep = T.cfg->keep_generations;
    for (size_t i = 0; i + keep < n; i++)
        if (g[i] != live && g[i] != prev)
            delete_generation("model-%llu.wr", g[i], "generation", keep);
    for (size_t i = 0; i + keep < nc; i++)
        delete_generation("candidate-%llu.wr", c[i], "refused candidate", keep);
    free(g);
    free(c);
}

/* ---- publishing ---- */

static wr_index *build_index(wr_model *m, const char *path, uint64_t gen, wr_err *err)
{
    wr_index_opts o;
    index_default_opts(&o);
    o.k = T.cfg->index_k;
    o.exact_max_items = T.cfg->exact_index_max_items;
    o.ann_cells = T.cfg->ann_cells;
    o.ann_probe = T.cfg->ann_probe;
    o.ann_min_recall = T.cfg->ann_min_recall;
    o.threads = (int)T.cfg->index_threads;
    o.rank = !strcmp(T.cfg->rank, "auto") ? WR_RANK_AUTO : rank_parse(T.cfg->rank);
    o.items_file = T.cfg->items_file;
    char *side = sidecar_path(path);
    o.sidecar = side;
    wr_index *ix = index_build(m, gen, path, &o, err);
    free(side);
    if (!ix)
        return NULL;
    const wr_index_info *in = index_info(ix);
    if (in->k)
        wr_log("neighbour lists (%s): %u items x %u in %.2f s", in->kind, in->n, in->k,
               in->build_seconds);
    if (in->recall_sample)
        wr_log("approximate lists: %u cells, %u probed per cell (%u build%s), %.0f candidates "
               "per item; recall@10 %.4f against an exact scan of %u items", in->ann_cells,
               in->ann_probe, in->ann_rounds, in->ann_rounds == 1 ? "" : "s",
               in->ann_candidates, in->recall_at_10, in->recall_sample);
    if (in->side_rows || in->side_unmatched)
        wr_log("side information: %llu items described, %llu rows for items not in the model",
               (unsigned long long)in->side_rows, (unsigned long long)in->side_unmatched);
    return ix;
}

/* Publishes ix; the index it replaces is kept for rollback (the one kept before is freed).
 * current: also record the generation in CURRENT (trainers). */
static void publish_index(wr_index *ix, const char *path, int current)
{
    uint64_t gen = index_info(ix)->generation;
    uint32_t n = index_info(ix)->n, dim = index_info(ix)->dim;
    wr_err err;
    pthread_mutex_lock(&pub);
    wr_index *old = live_swap(ix);
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
    snprintf(T.live_path, sizeof T.live_path, "%s", path);
    pthread_mutex_unlock(&T.mu);
    pthread_mutex_unlock(&pub);
    index_free(drop);
    wr_log("published generation %llu: %u items x %u dimensions from %s",
           (unsigned long long)gen, n, dim, path);
    provisional_refresh();
    if (current && write_current(gen, &err) < 0)
        record_error("CURRENT", &err);
}

static int load_and_publish(const char *path, uint64_t gen, int current, wr_err *err)
{
    wr_log("loading %s", path);
    set_state(S_LOADING);
    wr_model *m = model_load(path, err);
    if (!m)
        return -1;
    set_state(S_INDEXING);
    wr_index *ix = build_index(m, path, gen, err);
    if (!ix)
        return -1;
    publish_index(ix, path, current);
    return 0;
}

/* Renames generation gen's model and side file from candidate-N to model-N (publish) or
 * back. */
static int move_generation(uint64_t gen, int publish, wr_err *err)
{
    char *m = path_in(T.dir, "model-%llu.wr", gen), *c = path_in(T.dir, "candidate-%llu.wr", gen);
    const char *from = publish ? c : m, *to = publish ? m : c;
    char *fs = sidecar_path(from), *ts = sidecar_path(to);
    int rc = 0;
    if (rename(from, to) < 0)
        rc = wr_fail(err, "generation %llu: %s: %s", (unsigned long long)gen, from,
                     strerror(errno));
    else if (rename(fs, ts) < 0 && errno != ENOENT)
        wr_log("warning: %s: %s", fs, strerror(errno));
    free(m);
    free(c);
    free(fs);
    free(ts);
    return rc;
}

/* Publishes model-N.wr; when that fails (its neighbour lists need memory the daemon does
 * not have: the index is built here, not in the trainer process) the file goes back to
 * its candidate name, so that the disk says what the status says: not published. */
static int publish_or_demote(uint64_t gen, wr_err *err)
{
    char *m = path_in(T.dir, "model-%llu.wr", gen);
    int rc = load_and_publish(m, gen, 1, err);
    free(m);
    wr_err e;
    if (rc < 0 && move_generation(gen, 0, &e) == 0)
        wr_log("generation %llu not published, kept as candidate-%llu.wr: %s",
               (unsigned long long)gen, (unsigned long long)gen, err->msg);
    return rc;
}

/* ---- training data ---- */

/* What the child does: gathers the pairs (the pairs file or the built-in catalogue, and
 * the pair log up to wal_stop, which the daemon read before the fork), splits off the
 * validation pairs, trains on the rest (warm-started from the model at live_path, if any),
 * evaluates the candidate and that live model on the validation pairs (not for the first
 * model: there is no gate then) and writes the candidate, with the side file of every
 * item, to model_path when it passes the gate, else to cand_path. */
typedef struct child_job {
    int gate;
    const char *wal_path; /* NULL: no pair log */
    uint64_t wal_stop;
    const char *live_path, *model_path, *cand_path;
} child_job;

/* The base pairs plus the pairs of the log up to the job's stop, merged. *cat: categories
 * of the first *ncat ids when the base is the synthetic catalogue, else NULL. Runs in the
 * trainer process (child_job). */
static int gather(const child_job *j, wr_pairs *p, uint32_t **cat, uint32_t *ncat, wr_err *err)
{
    *cat = NULL;
    *ncat = 0;
    pairs_init(p);
    if (*T.cfg->pairs) {
        if (pairs_read(p, T.cfg->pairs, NULL, NULL, err) < 0)
            return -1;
    } else {
        wr_synth_opts so;
        synth_default_opts(&so);
        if (synth_generate(&so, p, cat, err) < 0)
            return -1;
        *ncat = dict_size(p->ids);
    }
    if (j->wal_path) {
        size_t before = p->n;
        if (wal_load_file(j->wal_path, j->wal_stop, p, err) < 0)
            return -1;
        if (p->n > before)
            pairs_merge(p);
    }
    return 0;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return mix64(h);
}

/* Held out when a hash of the pair's two ids (in byte order) and the seed falls below the
 * fraction: the same pairs whatever else the data holds. */
static int held_out(const char *a, const char *b, uint64_t seed, double frac)
{
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    uint64_t h = hash_str(hash_str(mix64(seed) ^ 0xcbf29ce484222325ULL, a) ^ 0x2f, b);
    return (double)(h >> 11) * 0x1.0p-53 < frac;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static uint64_t edge_key(uint32_t a, uint32_t b)
{
    return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

/* Splits p: training pairs into *train (its own ids), the held-out pairs and as many
 * uniform negatives (seeded; no self pairs, no pair of p) into *val (ids borrowed from p). */
static void split_stable(const wr_pairs *p, wr_pairs *train, wr_labeled *val)
{
    uint64_t seed = T.cfg->validation_seed;
    double frac = T.cfg->validation_fraction;
    uint32_t nid = dict_size(p->ids);
    uint64_t *keys = xmalloc((p->n ? p->n : 1) * sizeof *keys);
    size_t npos = 0;
    uint8_t *out = xcalloc(p->n ? p->n : 1, 1);
    uint32_t *deg = xcalloc(nid ? nid : 1, sizeof *deg);
    pairs_init(train);
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        keys[i] = edge_key(e->a, e->b);
        out[i] = held_out(dict_str(p->ids, e->a), dict_str(p->ids, e->b), seed, frac);
        if (!out[i])
            deg[e->a]++, deg[e->b]++;
    }
    /* An item whose every pair was drawn would have no vector at all: its pairs go back to
     * training (so a pair's side can change as its items gain pairs; rarely, and only
     * ever from validation to training). */
    for (size_t i = 0; i < p->n; i++) {
        const wr_pair *e = &p->v[i];
        if (out[i] && (!deg[e->a] || !deg[e->b])) {
            out[i] = 0;
            deg[e->a]++, deg[e->b]++;
        }
        if (out[i])
            npos++;
        else
            pairs_add(train, dict_str(p->ids, e->a), dict_strlen(p->ids, e->a),
                      dict_str(p->ids, e->b), dict_strlen(p->ids, e->b), e->w);
    }
    free(deg);
    pairs_merge(train);
    qsort(keys, p->n, sizeof *keys, cmp_u64);
    memset(val, 0, sizeof *val);
    val->a = xmalloc((2 * npos + 1) * sizeof *val->a);
    val->b = xmalloc((2 * npos + 1) * sizeof *val->b);
    val->label = xmalloc(2 * npos + 1);
    for (size_t i = 0; i < p->n; i++)
        if (out[i]) {
            val->a[val->n] = (char *)dict_str(p->ids, p->v[i].a);
            val->b[val->n] = (char *)dict_str(p->ids, p->v[i].b);
            val->label[val->n++] = 1;
        }
    wr_rng r;
    rng_seed(&r, seed ^ 0x6e6567ULL);
    for (size_t tries = 0; val->n < 2 * npos && nid >= 2 && tries < 100 * npos + 1000; tries++) {
        uint32_t a = rng_below(&r, nid), b = rng_below(&r, nid);
        uint64_t k = edge_key(a, b);
        if (a == b || bsearch(&k, keys, p->n, sizeof *keys, cmp_u64))
            continue;
        val->a[val->n] = (char *)dict_str(p->ids, a);
        val->b[val->n] = (char *)dict_str(p->ids, b);
        val->label[val->n++] = 0;
    }
    free(out);
    free(keys);
}

static void labeled_release(wr_labeled *v) /* the strings are borrowed */
{
    free(v->a);
    free(v->b);
    free(v->label);
    memset(v, 0, sizeof *v);
}

/* ---- training a candidate ---- */

/* Walks and skip-gram on pairs already re-weighted: warm-started from the live vectors
 * (retrain_mode warm), or from random ones. */
static wr_model *train_weighted(const wr_pairs *train, const wr_model *live, wr_err *err)
{
    wr_train_opts to;
    train_default_opts(&to);
    to.walk.threads = to.sgns.threads = (int)T.cfg->train_threads;
    float *init = NULL;
    if (live && !strcmp(T.cfg->retrain_mode, "warm")) {
        uint32_t n = dict_size(train->ids), dim = to.sgns.dim;
        if (live->dim == dim) {
            wr_rng r;
            rng_seed(&r, to.sgns.seed);
            init = xmalloc((size_t)n * dim * sizeof *init);
            for (uint32_t i = 0; i < n; i++) {
                int64_t row = model_find(live, dict_str(train->ids, i));
                for (uint32_t d = 0; d < dim; d++)
                    init[(size_t)i * dim + d] = row >= 0 ? live->vecs[(size_t)row * dim + d]
                                                         : (rng_float(&r) - 0.5f) / (float)dim;
            }
            to.sgns.init = init;
            to.sgns.epochs = T.cfg->retrain_warm_epochs;
        }
    }
    wr_model *m;
    if (!init && T.cfg->retrain_epochs == 0) { /* no training: the gate's test case */
        wr_rng r;
        rng_seed(&r, to.sgns.seed);
        m = model_new(dict_size(train->ids), to.sgns.dim);
        for (uint32_t i = 0; i < m->n; i++)
            dict_intern(m->ids, dict_str(train->ids, i), dict_strlen(train->ids, i));
        for (size_t j = 0; j < (size_t)m->n * m->dim; j++)
            m->vecs[j] = rng_float(&r) - 0.5f;
    } else {
        if (!init)
            to.sgns.epochs = T.cfg->retrain_epochs;
        m = train_pairs(train, &to, NULL, err);
    }
    free(init);
    return m;
}


/* The pipeline of `walkrec train PAIRS`: a calibration slice held out (calib.h), the rest
 * re-weighted (edgeweight.h) and walked, the probability fitted on the slice. Without a
 * calibration the caller's pairs are re-weighted in place. */
static wr_model *train_candidate(wr_pairs *train, const wr_model *live, wr_err *err)
{
    wr_calib_data cd = {0};
    int calibrate = T.cfg->calibration > 0;
    if (calibrate && calib_prepare(train, T.cfg->calibration, 1, &cd, err) < 0) {
        tlog("training without a calibrated probability: %s", err->msg);
        calib_data_free(&cd);
        memset(&cd, 0, sizeof cd);
        calibrate = 0;
    }
    if (calibrate)
        train = &cd.train;
    edgeweight_apply(train, edgeweight_parse(T.cfg->edge_weight));
    wr_model *m = train_weighted(train, live, err);
    if (m && calibrate && calib_finish(m, &cd, NULL, err) < 0) {
        model_free(m);
        m = NULL;
    }
    calib_data_free(&cd);
    return m;
}

static int evaluate(const wr_model *m, const wr_labeled *val, const wr_pairs *train,
                    double *all, double *seen, double *recall, wr_err *err)
{
    wr_eval_opts eo;
    wr_eval_result r;
    eval_default_opts(&eo);
    eo.train = train;
    eo.max_queries = EVAL_QUERIES;
    eo.seed = T.cfg->validation_seed;
    eo.threads = (int)T.cfg->train_threads;
    eo.rank = WR_RANK_COSINE;
    if (eval_model(m, val, &eo, &r, err) < 0)
        return -1;
    *all = r.auc_all;
    *seen = r.auc_seen;
    *recall = r.recall_at_k;
    eval_result_free(&r);
    return 0;
}

static void finish_report(run_report *rep)
{
    rep->seconds = unix_now() - rep->started;
    rep->done = 1;
    pthread_mutex_lock(&T.mu);
    T.last = *rep;
    T.runs++;
    T.published += !strcmp(rep->decision, "published");
    T.refused += !strcmp(rep->decision, "refused");
    pthread_mutex_unlock(&T.mu);
}

/* ---- the trainer process ----
 *
 * The trainer thread forks a child for the heavy part of a run: gathering the pairs (the
 * pair log read by its path up to the position the daemon saw on disk), training,
 * evaluation and writing the model file and its side file. When that part cannot get
 * memory (xmalloc aborts; the kernel's OOM killer picks the biggest process) or disk (a
 * full disk, a file size limit: walkrecd ignores SIGXFSZ, so a write fails with EFBIG),
 * the child dies or fails, and the daemon reports it, removes what the child left, keeps
 * serving and may retrain later. Building the published model's index stays here.
 *
 * The child is a copy of the daemon with only the forking thread running, so it must not
 * take a lock another thread may have held at that moment: no liburcu and no live index
 * (the overlap of neighbour lists is finished here, see cand_lists), no T.mu (set_state and
 * tlog send records instead), no wr_log (the time zone lock of gmtime_r), no wr_wal (its
 * lock; wal_load_file reads the file).
 * glibc's malloc and stdio restore their own locks in a child; OpenBLAS's are never held
 * at a fork (knn_blas_enter, knn.h), nor progress.c's (fork_mu). The child dies with the daemon
 * (PR_SET_PDEATHSIG), so kill -9 leaves no trainer behind; retrain_stop kills it.
 *
 * The child talks through a pipe: records of a rec_head and a payload. States, progress
 * and log lines are each written by one write() of at most PIPE_BUF bytes, which a pipe
 * never interleaves with another writer's (the child's progress thread); the result comes
 * last, once that thread has stopped. */

typedef struct rec_head {
    uint32_t type, len;
} rec_head;

/* What it found. The record carries the candidate's neighbour lists after it. */
typedef struct child_result {
    int32_t rc, pass;
    uint32_t items, dim, nlists;
    uint64_t train_pairs, val_pairs;
    double train_seconds, cand_auc_all, cand_auc_seen, cand_recall;
    double live_auc_all, live_auc_seen, live_recall;
    char msg[WR_ERR_MAX];
} child_result;

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
} wbuf;

static void wbuf_put(wbuf *b, const void *data, size_t n)
{
    if (!n)
        return;
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 256;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void wbuf_str(wbuf *b, const char *s, size_t len)
{
    uint32_t l = (uint32_t)len;
    wbuf_put(b, &l, sizeof l);
    wbuf_put(b, s, len);
}

/* The next length-prefixed string of [*p, end); -1 when it does not fit. */
static int take_str(const unsigned char **p, const unsigned char *end, const char **s,
                    uint32_t *len)
{
    if (end - *p < 4)
        return -1;
    memcpy(len, *p, 4);
    *p += 4;
    if ((size_t)(end - *p) < *len)
        return -1;
    *s = (const char *)*p;
    *p += *len;
    return 0;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Bytes read, fewer than n only at the end of the pipe or on an error. */
static size_t read_full(int fd, void *data, size_t n)
{
    char *p = data;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* One record in one write(), so whole (len is cut to fit PIPE_BUF). */
static void child_send(uint32_t type, const void *data, size_t len)
{
    unsigned char buf[PIPE_BUF];
    rec_head h = {type, 0};
    if (len > sizeof buf - sizeof h)
        len = sizeof buf - sizeof h;
    h.len = (uint32_t)len;
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, data, len);
    if (write_all(child_fd, buf, sizeof h + len) < 0) /* the daemon is gone */
        _exit(1);
}

/* The child's progress thread: the running step, four times a second. */
static int relay_stop;

static void *relay_main(void *arg)
{
    (void)arg;
    const struct timespec pause = {0, 250000000L};
    while (!__atomic_load_n(&relay_stop, __ATOMIC_ACQUIRE)) {
        nanosleep(&pause, NULL);
        wr_progress_snap s;
        child_progress m;
        memset(&m, 0, sizeof m);
        if (progress_snapshot(&s)) {
            snprintf(m.what, sizeof m.what, "%s", s.what);
            snprintf(m.unit, sizeof m.unit, "%s", s.unit);
            m.done = s.done;
            m.total = s.total;
            m.start = s.start;
        }
        child_send(REC_PROGRESS, &m, sizeof m);
    }
    return NULL;
}

/* The candidate's 10 nearest neighbours (cosine, exact) for a sample of the items the live
 * model knows, appended to out as [id, count, ids...]: overlap_at_10 compares them with
 * the live index's lists in the daemon. Returns the number of lists. */
static uint32_t cand_lists(const wr_model *cand, const wr_model *live, wbuf *out)
{
    uint32_t nq = 0;
    if (!live || cand->n <= 11)
        return 0;
    float *unit = model_normalized(cand);
    uint32_t step = cand->n > OVERLAP_SAMPLE ? cand->n / OVERLAP_SAMPLE : 1;
    wr_hit hc[11];
    for (uint32_t r = 0; r < cand->n && nq < OVERLAP_SAMPLE; r += step) {
        const char *id = dict_str(cand->ids, r);
        if (model_find(live, id) < 0)
            continue;
        knn_topk(unit, cand->n, cand->dim, unit + (size_t)r * cand->dim, 1, 11, NULL, NULL, 1,
                 hc);
        uint32_t m = 0, rows[10];
        for (size_t i = 0; i < 11 && m < 10; i++)
            if (hc[i].item != r && hc[i].item != UINT32_MAX)
                rows[m++] = hc[i].item;
        wbuf_str(out, id, dict_strlen(cand->ids, r));
        wbuf_put(out, &m, sizeof m);
        for (uint32_t i = 0; i < m; i++)
            wbuf_str(out, dict_str(cand->ids, rows[i]), dict_strlen(cand->ids, rows[i]));
        nq++;
    }
    free(unit);
    return nq;
}

/* Mean share of the 10 nearest neighbours that the live index and the candidate agree on,
 * over the sample cand_lists sent (n bytes at p); NAN when none is in the live index. */
static double overlap_at_10(const unsigned char *p, size_t n, uint32_t nlists)
{
    const unsigned char *end = p + n;
    const wr_index *ix = live_acquire();
    wr_filter f = index_filter_none();
    double sum = 0;
    size_t nq = 0;
    for (uint32_t q = 0; ix && q < nlists; q++) {
        const char *id, *cid[10];
        uint32_t len, m, clen[10];
        int bad = take_str(&p, end, &id, &len) < 0 || end - p < 4;
        if (!bad) {
            memcpy(&m, p, 4);
            p += 4;
            bad = m > 10;
        }
        for (uint32_t i = 0; !bad && i < m; i++)
            bad = take_str(&p, end, &cid[i], &clen[i]) < 0;
        if (bad)
            break;
        int64_t lr = index_find(ix, id, len);
        if (lr < 0)
            continue;
        wr_hit hl[10];
        size_t nl = index_neighbors(ix, (uint32_t)lr, 10, &f, hl), same = 0;
        for (size_t j = 0; j < nl; j++) {
            const char *lid = index_id(ix, hl[j].item);
            for (uint32_t i = 0; i < m; i++)
                same += strlen(lid) == clen[i] && !memcmp(lid, cid[i], clen[i]);
        }
        sum += (double)same / 10;
        nq++;
    }
    live_release();
    return nq ? sum / (double)nq : NAN;
}

/* The child's part of a run (see child_job); -1 with err when it fails. */
static int child_train(const child_job *j, child_result *res, wbuf *lists, wr_err *err)
{
    wr_model *live = NULL, *cand = NULL;
    wr_pairs all = {0}, train = {0};
    wr_labeled val = {0};
    uint32_t *cat = NULL, ncat = 0;
    int rc = -1;
    if (gather(j, &all, &cat, &ncat, err) < 0)
        goto out;
    /* The validation pairs stay out of every model, the first one included, so that the
     * gate compares candidates with it fairly later. */
    split_stable(&all, &train, &val);
    res->train_pairs = train.n;
    res->val_pairs = val.n;
    tlog("%s: %zu training pairs, %zu validation pairs", j->gate ? "retraining" : "training",
         train.n, val.n);
    if (*j->live_path && !(live = model_load(j->live_path, err)))
        goto out;
    set_state(S_TRAINING);
    double t0 = wr_now();
    if (!(cand = train_candidate(&train, live, err)))
        goto out;
    res->train_seconds = wr_now() - t0;
    res->items = cand->n;
    res->dim = cand->dim;
    res->pass = 1;
    if (j->gate) {
        set_state(S_EVALUATING);
        if (evaluate(cand, &val, &train, &res->cand_auc_all, &res->cand_auc_seen,
                     &res->cand_recall, err) < 0)
            goto out;
        if (live && evaluate(live, &val, &train, &res->live_auc_all, &res->live_auc_seen,
                             &res->live_recall, err) < 0)
            goto out;
        res->nlists = cand_lists(cand, live, lists);
        res->pass = !isfinite(res->live_auc_all) ||
                    res->cand_auc_all >= res->live_auc_all - T.cfg->gate_max_auc_drop;
    }
    model_free(live); /* the file needs the memory more */
    live = NULL;
    const char *path = res->pass ? j->model_path : j->cand_path;
    char *side = sidecar_path(path);
    rc = write_sidecar(side, &all, cat, ncat, err) < 0 || model_save(cand, path, err) < 0
             ? -1
             : 0;
    free(side);
out:
    model_free(live);
    model_free(cand);
    labeled_release(&val);
    pairs_free(&train);
    pairs_free(&all);
    free(cat);
    return rc;
}

/* Closes every descriptor from lo to hi. */
static void close_fds(unsigned lo, unsigned hi)
{
    if (lo > hi || close_range(lo, hi, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX); /* a kernel older than 5.9 */
    for (long fd = lo; fd <= (long)hi && fd < (max > 0 ? max : 65536); fd++)
        close((int)fd);
}

static _Noreturn void child_main(const child_job *j, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the daemon died before the line above */
        _exit(1);
    /* An abort for want of memory would dump a core as big as the daemon onto a disk that
     * may be short too. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* The daemon's sockets and files are its own: a client must see its connection close
     * when the daemon closes it, not when this process ends. */
    if (fd >= 3) {
        close_fds(3, (unsigned)fd - 1);
        close_fds((unsigned)fd + 1, ~0U);
    } else {
        close_fds(3, ~0U);
    }
    child_fd = fd;
    pthread_t relay;
    int relaying = pthread_create(&relay, NULL, relay_main, NULL) == 0;
    child_result res;
    memset(&res, 0, sizeof res);
    res.cand_auc_all = res.live_auc_all = NAN;
    wbuf lists = {0};
    wr_err err;
    if ((res.rc = child_train(j, &res, &lists, &err)) < 0)
        snprintf(res.msg, sizeof res.msg, "%s", err.msg);
    if (relaying) {
        __atomic_store_n(&relay_stop, 1, __ATOMIC_RELEASE);
        pthread_join(relay, NULL);
    }
    rec_head h = {REC_RESULT, (uint32_t)(sizeof res + lists.n)};
    int ok = write_all(fd, &h, sizeof h) == 0 && write_all(fd, &res, sizeof res) == 0 &&
             write_all(fd, lists.p, lists.n) == 0;
    _exit(ok ? 0 : 1);
}

/* Reads the child's records until it closes the pipe; 1 when its result came. */
static int read_child(int fd, child_result *res, wbuf *lists)
{
    rec_head h;
    int got = 0;
    while (read_full(fd, &h, sizeof h) == sizeof h) {
        if (h.type == REC_RESULT) {
            if (h.len < sizeof *res || h.len > (256u << 20) ||
                read_full(fd, res, sizeof *res) != sizeof *res)
                break;
            res->msg[sizeof res->msg - 1] = 0;
            size_t n = h.len - sizeof *res;
            lists->n = 0;
            if (n > lists->cap) {
                lists->p = xrealloc(lists->p, n);
                lists->cap = n;
            }
            if (read_full(fd, lists->p, n) != n)
                break;
            lists->n = n;
            got = 1;
            continue;
        }
        unsigned char data[PIPE_BUF];
        if (h.len > sizeof data || read_full(fd, data, h.len) != h.len)
            break;
        if (h.type == REC_STATE && h.len == 1 && data[0] < NSTATES) {
            set_state((state)data[0]);
        } else if (h.type == REC_PROGRESS && h.len == sizeof(child_progress)) {
            pthread_mutex_lock(&T.mu);
            memcpy(&T.cprog, data, sizeof T.cprog);
            T.cprog.what[sizeof T.cprog.what - 1] = T.cprog.unit[sizeof T.cprog.unit - 1] = 0;
            pthread_mutex_unlock(&T.mu);
        } else if (h.type == REC_LOG) {
            wr_log("%.*s", (int)h.len, (const char *)data);
        }
    }
    return got;
}

/* Waits for the child's end and reaps it. T.child is cleared while the zombie still holds
 * the pid, so that retrain_stop never kills a process that reused it. */
static int reap(pid_t pid)
{
    siginfo_t si;
    int status = 0;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&T.mu);
    T.child = 0;
    T.cprog.what[0] = 0;
    pthread_cond_broadcast(&T.gone);
    pthread_mutex_unlock(&T.mu);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* What a failed child may have left: temporaries (killed in the middle of a write) and
 * the files of a generation it wrote but that was never announced. */
static void remove_outputs(const child_job *j, pid_t pid)
{
    const char *paths[2] = {j->model_path, j->cand_path};
    size_t n = 0;
    for (int i = 0; i < 2 && (i == 0 || strcmp(paths[0], paths[1])); i++) {
        char *side = sidecar_path(paths[i]);
        const char *files[2] = {paths[i], side};
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(files[k]) + 32;
            char *tmp = xmalloc(len);
            snprintf(tmp, len, "%s.tmp.%ld", files[k], (long)pid); /* util.c's names */
            n += unlink(files[k]) == 0;
            n += unlink(tmp) == 0;
            free(tmp);
        }
        free(side);
    }
    if (n)
        wr_log("removed %zu files left by the failed trainer process", n);
}

static const char *signal_hint(int sig)
{
    switch (sig) {
    case SIGABRT:
        return ": out of memory?";
    case SIGKILL:
        return ": the kernel's out-of-memory killer?";
    case SIGXFSZ:
        return ": file size limit";
    default:
        return "";
    }
}

/* Sanitizer builds do the child's part in the trainer thread. ThreadSanitizer cannot
 * follow a fork of a threaded process whose child starts threads (it dies: "starting new
 * threads after multi-threaded fork", or with die_after_fork=0 "dup thread with used id").
 * AddressSanitizer's allocator (gcc 12) has no fork handlers: a child forked while an HTTP
 * thread held one of its locks hangs at its first malloc (seen, under load). In the
 * trainer thread their checks still cover the child's code, against the HTTP threads.
 * Every other build forks. */

static int in_thread(const child_job *j, child_result *res, wbuf *lists, wr_err *err)
{
    memset(res, 0, sizeof *res);
    res->cand_auc_all = res->live_auc_all = NAN;
    lists->n = 0;
    if ((res->rc = child_train(j, res, lists, err)) == 0)
        return 0;
    remove_outputs(j, getpid());
    return -1;
}

/* Runs j in a trainer process and fills *res and *lists from its result. -1 with err when
 * it failed, whichever way, once what it left is removed. */
static int in_child(const child_job *j, child_result *res, wbuf *lists, wr_err *err)
{
    if (WR_TSAN || WR_ASAN)
        return in_thread(j, res, lists, err);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return wr_fail(err, "cannot start a trainer process: pipe: %s", strerror(errno));
    pid_t parent = getpid();
    pthread_mutex_lock(&fork_mu);
    double t0 = wr_now();
    pid_t pid = fork();
    if (pid == 0)
        child_main(j, fds[1], parent);
    int fork_errno = errno;
    double fork_ms = (wr_now() - t0) * 1e3; /* page tables copied; OpenBLAS calls held */
    pthread_mutex_unlock(&fork_mu);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return wr_fail(err, "cannot start a trainer process: %s", strerror(fork_errno));
    }
    wr_log("trainer process %ld started (fork %.1f ms)", (long)pid, fork_ms);
    pthread_mutex_lock(&T.mu);
    T.child = pid;
    int stopping = T.stop;
    if (stopping) /* retrain_stop came between the fork and here */
        kill(pid, SIGKILL);
    pthread_mutex_unlock(&T.mu);
    memset(res, 0, sizeof *res);
    int got = read_child(fds[0], res, lists);
    close(fds[0]);
    int status = reap(pid);
    pthread_mutex_lock(&T.mu);
    stopping = T.stop;
    pthread_mutex_unlock(&T.mu);
    if (got && WIFEXITED(status) && WEXITSTATUS(status) == 0 && res->rc == 0)
        return 0;
    if (stopping)
        wr_fail(err, "trainer process %ld stopped with the daemon", (long)pid);
    else if (got && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        wr_fail(err, "%s", res->msg);
    else if (WIFSIGNALED(status))
        wr_fail(err, "trainer process %ld killed by signal %d (SIG%s%s)", (long)pid,
                WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status))
                                                                 : "?",
                signal_hint(WTERMSIG(status)));
    else if (WIFEXITED(status) && WEXITSTATUS(status))
        wr_fail(err, "trainer process %ld exited with status %d", (long)pid,
                WEXITSTATUS(status));
    else
        wr_fail(err, "trainer process %ld ended without a result", (long)pid);
    remove_outputs(j, pid);
    return -1;
}

/* ---- a run ---- */

/* The job's pair log: the part on disk now (the pairs acknowledged so far). */
static void with_pair_log(child_job *j)
{
    if (!T.wal)
        return;
    wr_wal_stats st;
    wal_stats(T.wal, &st);
    j->wal_path = wal_path(T.wal);
    j->wal_stop = st.durable;
}

/* Trains a candidate on everything but the validation pairs, compares it with the live
 * model on them, and publishes it or keeps it aside. */
static int run(const char *trigger, wr_err *err)
{
    run_report rep = {.started = unix_now(), .cand_auc_all = NAN, .live_auc_all = NAN};
    snprintf(rep.trigger, sizeof rep.trigger, "%s", trigger);
    snprintf(rep.mode, sizeof rep.mode, "%s", T.cfg->retrain_mode);
    snprintf(rep.decision, sizeof rep.decision, "failed");
    char *path = NULL, *cpath = NULL, live_path[sizeof T.live_path];
    wbuf lists = {0};
    child_result res;
    int rc = -1;

    set_state(S_LOADING);
    pthread_mutex_lock(&T.mu);
    snprintf(live_path, sizeof live_path, "%s", T.live_path);
    rep.live_generation = T.live_gen;
    pthread_mutex_unlock(&T.mu);
    rep.generation = next_generation();
    path = path_in(T.dir, "model-%llu.wr", rep.generation);
    cpath = path_in(T.dir, "candidate-%llu.wr", rep.generation);
    wr_log("retraining (%s, %s)", trigger, T.cfg->retrain_mode);
    child_job job = {1, NULL, 0, live_path, path, cpath};
    with_pair_log(&job);
    if (in_child(&job, &res, &lists, err) < 0)
        goto out;
    rep.train_pairs = res.train_pairs;
    rep.val_pairs = res.val_pairs;
    rep.train_seconds = res.train_seconds;
    rep.items = res.items;
    rep.cand_auc_all = res.cand_auc_all;
    rep.cand_auc_seen = res.cand_auc_seen;
    rep.cand_recall = res.cand_recall;
    rep.live_auc_all = res.live_auc_all;
    rep.live_auc_seen = res.live_auc_seen;
    rep.live_recall = res.live_recall;
    rep.overlap = *live_path ? overlap_at_10(lists.p, lists.n, res.nlists) : NAN;
    wr_log("candidate %llu: AUC %.4f (seen %.4f, recall@10 %.4f) against live %.4f (seen %.4f, "
           "recall@10 %.4f), overlap@10 %.3f: %s",
           (unsigned long long)rep.generation, rep.cand_auc_all, rep.cand_auc_seen,
           rep.cand_recall, rep.live_auc_all, rep.live_auc_seen, rep.live_recall, rep.overlap,
           res.pass ? "publishing" : "refused by the gate");
    if (!res.pass) {
        snprintf(rep.decision, sizeof rep.decision, "refused");
        snprintf(rep.reason, sizeof rep.reason,
                 "AUC %.4f is more than %g below the live model's %.4f; kept as %s",
                 rep.cand_auc_all, T.cfg->gate_max_auc_drop, rep.live_auc_all, cpath);
        prune();
        rc = 0;
        goto out;
    }
    if (publish_or_demote(rep.generation, err) < 0)
        goto out;
    prune();
    snprintf(rep.decision, sizeof rep.decision, "published");
    rc = 0;
out:
    if (rc < 0)
        snprintf(rep.reason, sizeof rep.reason, "%s", err->msg);
    finish_report(&rep);
    free(lists.p);
    free(path);
    free(cpath);
    return rc;
}

/* No model at all: train on everything (no gate: there is nothing to compare with). */
static int train_first(wr_err *err)
{
    char *path = NULL;
    wbuf lists = {0};
    child_result res;
    int rc = -1;
    set_state(S_LOADING);
    if (*T.cfg->pairs)
        wr_log("no model in %s: training on %s%s", T.dir, T.cfg->pairs,
               T.wal ? " and the ingested pairs" : "");
    else
        wr_log("no model in %s and no pairs file: training on the built-in synthetic catalogue",
               T.dir);
    if (make_dirs(T.dir, err) < 0)
        goto out;
    uint64_t gen = next_generation();
    path = path_in(T.dir, "model-%llu.wr", gen);
    child_job job = {0, NULL, 0, "", path, path};
    with_pair_log(&job);
    if (in_child(&job, &res, &lists, err) < 0)
        goto out;
    wr_log("trained %u items x %u dimensions in %.1f s", res.items, res.dim, res.train_seconds);
    wr_log("saved %s", path);
    if (load_and_publish(path, gen, 1, err) < 0)
        goto out;
    rc = 0;
out:
    free(lists.p);
    free(path);
    return rc;
}

/* The model to serve at start, or after SIGHUP. */
static int load_serving(int first, wr_err *err)
{
    const char *model = T.cfg->model;
    if (*model && !T.follower) {
        uint64_t gen = generation_of(model);
        return load_and_publish(model, gen ? gen : live_generation(NULL) + 1, 0, err);
    }
    uint64_t gen = serving_generation(T.dir);
    if (!gen) {
        if (T.follower) {
            if (first)
                wr_log("following %s: no generation there yet", T.dir);
            return 0;
        }
        if (!first)
            return wr_fail(err, "no model-<generation>.wr file in %s", T.dir);
        return train_first(err);
    }
    char *path = path_in(T.dir, "model-%llu.wr", gen);
    int rc = load_and_publish(path, gen, 0, err);
    free(path);
    return rc;
}

/* Follower: publish the generation the trainer's CURRENT names once it differs. */
static void follow_once(void)
{
    wr_err err;
    uint64_t gen = serving_generation(T.dir);
    if (!gen || gen == live_generation(NULL))
        return;
    char *path = path_in(T.dir, "model-%llu.wr", gen);
    if (load_and_publish(path, gen, 0, &err) < 0)
        record_error("follow", &err);
    free(path);
}

/* A refused candidate becomes a published generation by renaming it (with its side file);
 * an older published one is simply published again. */
static int force_publish(uint64_t gen, wr_err *err)
{
    char *m = path_in(T.dir, "model-%llu.wr", gen);
    int rc = access(m, F_OK) == 0          ? load_and_publish(m, gen, 1, err)
             : move_generation(gen, 1, err) ? -1
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

static void *trainer_main(void *arg)
{
    (void)arg;
    wr_err err;
    if (load_serving(1, &err) < 0) {
        pthread_mutex_lock(&T.mu);
        int stopping = T.stop; /* the first training was stopped: not a failure */
        T.busy = 0; /* nothing left to abandon: retrain_stop may join */
        pthread_cond_broadcast(&T.gone);
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
        pthread_cond_broadcast(&T.gone);
        while (!T.stop && !T.reload && !T.publish_gen && !due(wr_now())) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += T.follower ? T.cfg->follow_interval : 1;
            if (pthread_cond_timedwait(&T.cv, &T.mu, &ts) == ETIMEDOUT && T.follower)
                break;
        }
        if (T.stop)
            break;
        T.busy = 1;
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
        } else {
            const char *why = T.requested ? "requested"
                              : T.cfg->retrain_min_pairs && T.pending >= T.cfg->retrain_min_pairs
                                  ? "new pairs"
                                  : "interval";
            T.requested = 0;
            T.pending = 0;
            T.last_run = wr_now();
            pthread_mutex_unlock(&T.mu);
            if (run(why, &err) < 0)
                record_error("retrain", &err);
        }
        /* The scratch of an index build (and, in sanitizer builds, a run's pairs) is
         * freed, but glibc keeps the freed pages of a thread's arena: the daemon's RSS
         * would follow the largest run so far rather than what it serves (bench/soak.sh). */
        malloc_trim(0);
        pthread_mutex_lock(&T.mu);
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
        remove_temporaries(cfg->data_dir);
        wr_wal_info wi;
        if (!(T.wal = wal_open(cfg->data_dir, 0, &wi, err)))
            return -1;
        if (wi.cut_bytes)
            wr_log("pair log: cut a torn tail of %llu bytes at offset %llu (%s)",
                   (unsigned long long)wi.cut_bytes, (unsigned long long)wi.cut_at, wi.cut_why);
        if (wi.pairs)
            wr_log("pair log: %llu ingested pairs in %llu batches",
                   (unsigned long long)wi.pairs, (unsigned long long)wi.records);
    }
    T.busy = 1;
    if (pthread_create(&T.tid, NULL, trainer_main, NULL) != 0) {
        wal_close(T.wal);
        T.wal = NULL;
        return wr_fail(err, "cannot start the trainer thread");
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
    if (T.child) {
        /* A trainer process is killed and reaped; the thread then only reports the failure
         * and goes idle, which is worth a moment's wait to join it. */
        kill(T.child, SIGKILL);
        while (T.child)
            pthread_cond_wait(&T.gone, &T.mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        while (T.busy && pthread_cond_timedwait(&T.gone, &T.mu, &until) != ETIMEDOUT)
            ;
    }
    int busy = T.busy;
    pthread_mutex_unlock(&T.mu);
    if (busy)
        return 1;
    pthread_join(T.tid, NULL);
    wal_close(T.wal);
    T.wal = NULL;
    pthread_mutex_lock(&T.mu);
    index_free(T.previous);
    T.previous = NULL;
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
        return wr_fail(err, "this instance has no pair log (follower)");
    if (wal_append(T.wal, p, n, pos, err) < 0)
        return -1;
    pthread_mutex_lock(&T.mu);
    T.pending += n;
    *pending = T.pending;
    if (due(wr_now()))
        pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    return 0;
}

int retrain_force_publish(uint64_t generation, wr_err *err)
{
    char *m = path_in(T.dir, "model-%llu.wr", generation),
         *c = path_in(T.dir, "candidate-%llu.wr", generation);
    int ok = access(m, R_OK) == 0 || access(c, R_OK) == 0;
    free(m);
    free(c);
    if (!ok)
        return wr_fail(err, "no model-%llu.wr or candidate-%llu.wr in %s",
                       (unsigned long long)generation, (unsigned long long)generation, T.dir);
    pthread_mutex_lock(&T.mu);
    T.publish_gen = generation;
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
        char path[sizeof T.live_path];
        snprintf(path, sizeof path, "%s", index_info(prev)->source);
        wr_index *newer = live_swap(prev);
        pthread_mutex_lock(&T.mu);
        T.live_gen = index_info(prev)->generation;
        snprintf(T.live_path, sizeof T.live_path, "%s", path);
        pthread_mutex_unlock(&T.mu);
        pthread_mutex_unlock(&pub);
        index_free(newer);
        *generation = index_info(prev)->generation;
        *queued = 0;
        wr_log("rolled back from generation %llu to %llu", (unsigned long long)live,
               (unsigned long long)*generation);
        provisional_refresh();
        if (write_current(*generation, err) < 0) /* served now; a restart may not know it */
            record_error("rollback: CURRENT", err);
        return 0;
    }
    pthread_mutex_unlock(&T.mu);
    pthread_mutex_unlock(&pub);
    uint64_t *g;
    size_t n = list_generations(T.dir, &g, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        if (g[i] < live)
            target = g[i];
    free(g);
    if (!target)
        return wr_fail(err, "no generation older than %llu in %s", (unsigned long long)live,
                       T.dir);
    *generation = target;
    *queued = 1;
    return retrain_force_publish(target, err);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *report_json(const run_report *r)
{
    if (!r->done)
        return json_null();
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:I,s:I,s:I,s:{s:o,s:o,s:o},s:{s:I,s:o,s:o,s:o},s:o,s:f}",
        "generation", (json_int_t)r->generation, "trigger", r->trigger, "mode", r->mode,
        "decision", r->decision, "reason", r->reason, "started_at", r->started, "seconds",
        r->seconds, "train_seconds", r->train_seconds, "train_pairs", (json_int_t)r->train_pairs,
        "validation_pairs", (json_int_t)r->val_pairs, "items", (json_int_t)r->items,
        "candidate", "auc_all", num(r->cand_auc_all), "auc_seen", num(r->cand_auc_seen),
        "recall_at_10", num(r->cand_recall), "live", "generation",
        (json_int_t)r->live_generation, "auc_all", num(r->live_auc_all), "auc_seen",
        num(r->live_auc_seen), "recall_at_10", num(r->live_recall), "overlap_at_10",
        num(r->overlap), "gate_max_auc_drop", T.cfg->gate_max_auc_drop);
}

json_t *retrain_status(void)
{
    json_t *doc = json_object(), *hist = json_array();
    wr_progress_snap ps;
    child_progress cp;
    pthread_mutex_lock(&fork_mu);
    int running = progress_snapshot(&ps);
    pthread_mutex_unlock(&fork_mu);
    pthread_mutex_lock(&T.mu);
    if (T.child && *T.cprog.what) { /* the trainer process's step, relayed */
        cp = T.cprog;
        ps = (wr_progress_snap){cp.what, cp.unit, cp.done, cp.total, cp.start};
        running = 1;
    }
    double now = wr_now();
    json_object_set_new(doc, "role", json_string(T.follower ? "follower" : "trainer"));
    json_object_set_new(doc, "state", json_string(state_names[T.st]));
    json_object_set_new(doc, "state_seconds", json_real(now - T.st_since));
    json_object_set_new(doc, "generation", json_integer((json_int_t)T.live_gen));
    json_object_set_new(doc, "rollback_ready", json_boolean(T.previous != NULL));
    json_object_set_new(doc, "pending_pairs", json_integer((json_int_t)T.pending));
    json_object_set_new(doc, "runs", json_integer((json_int_t)T.runs));
    json_object_set_new(doc, "published", json_integer((json_int_t)T.published));
    json_object_set_new(doc, "refused", json_integer((json_int_t)T.refused));
    json_object_set_new(doc, "last_run", report_json(&T.last));
    json_object_set_new(doc, "last_error", *T.last_error ? json_pack("{s:s,s:f}", "message",
                        T.last_error, "at", T.last_error_at) : json_null());
    json_object_set_new(doc, "retrain_mode", json_string(T.cfg->retrain_mode));
    json_object_set_new(doc, "validation_seed", json_integer((json_int_t)T.cfg->validation_seed));
    int idle = T.st == S_IDLE;
    uint64_t live_gen = T.live_gen;
    pthread_mutex_unlock(&T.mu);
    if (running && !idle) {
        double el = now - ps.start, rate = el > 0 ? (double)ps.done / el : 0;
        json_object_set_new(doc, "progress", json_pack("{s:s,s:s,s:I,s:I,s:o,s:f,s:o}",
            "step", ps.what, "unit", ps.unit, "done", (json_int_t)ps.done, "total",
            (json_int_t)ps.total, "fraction", ps.total ? json_real((double)ps.done / ps.total)
                                                       : json_null(),
            "per_second", rate, "seconds_left", ps.total && rate > 0 && ps.done < ps.total
                ? json_real((double)(ps.total - ps.done) / rate) : json_null()));
    } else {
        json_object_set_new(doc, "progress", json_null());
    }
    if (T.wal) {
        wr_wal_stats ws;
        wal_stats(T.wal, &ws);
        json_object_set_new(doc, "log", json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "path",
            wal_path(T.wal), "position", (json_int_t)ws.end, "durable", (json_int_t)ws.durable,
            "records", (json_int_t)ws.records, "pairs", (json_int_t)ws.pairs, "syncs",
            (json_int_t)ws.syncs));
    }
    uint64_t *g, *c;
    size_t nc, n = list_generations(T.dir, &g, &c, &nc);
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
