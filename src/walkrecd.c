/* walkrecd.c - the walkrec REST daemon: start-up, the model loader thread, signals.
 *
 * main() starts things in a fixed order and stops them in reverse:
 *   1. settings (defaults < file < environment < flags; a bad value stops here),
 *   2. SIGINT, SIGTERM and SIGHUP blocked in every thread (all created later inherit the
 *      mask) and taken synchronously by main with sigwait,
 *   3. the HTTP server (listening at once: /healthz answers, /readyz is 503),
 *   4. the loader thread, which brings the first model: the file named by `model`, else
 *      the newest model-<generation>.wr in data_dir, else one trained from `pairs`, else
 *      one trained on the built-in synthetic catalogue (saved as model-1.wr). It builds
 *      the index off to the side and publishes it (live.h); only then is the daemon ready.
 *      Afterwards it waits for reload requests.
 *   5. main waits for signals: SIGHUP asks the loader to reload the newest model file and
 *      publish it (requests in flight keep the old model until they finish); SIGTERM or
 *      SIGINT stop the server (requests in flight finish first), the loader, and free the
 *      published index.
 * A start-up that fails in the loader (bad model file, unreadable pairs) stops the daemon
 * with status 1. Stopping while the loader is still training or indexing exits without
 * waiting for it, since nothing it holds needs saving. */
#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "walkrec/config.h"
#include "walkrec/http.h"
#include "walkrec/index.h"
#include "walkrec/live.h"
#include "walkrec/model.h"
#include "walkrec/pairs.h"
#include "walkrec/synth.h"
#include "walkrec/train.h"
#include "walkrec/util.h"

static const wr_config *cfg;

/* The loader thread's mailbox. */
static struct {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int reload;          /* SIGHUP arrived */
    int stop;            /* shutting down */
    int busy;            /* loading, training or indexing right now */
    int failed;          /* start-up failed: exit status 1 */
    uint64_t generation; /* last published */
} loader = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* One timestamped line on stderr, written in one piece. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[2048];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ walkrecd: ", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    fputs(line, stderr);
}

/* ---- model files ---- */

/* N for a file named model-N.wr (N >= 1, digits only), else 0. */
static uint64_t generation_of(const char *path)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = strlen(name);
    uint64_t g;
    if (len < 10 || strncmp(name, "model-", 6) || strcmp(name + len - 3, ".wr"))
        return 0;
    char digits[32];
    if (len - 9 >= sizeof digits)
        return 0;
    memcpy(digits, name + 6, len - 9);
    digits[len - 9] = 0;
    return parse_u64(digits, &g) == 0 ? g : 0;
}

/* The model-N.wr with the largest N in dir (a new string), or NULL; *gen gets N. */
static char *newest_model(const char *dir, uint64_t *gen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *best = NULL;
    *gen = 0;
    if (!d)
        return NULL;
    while ((e = readdir(d))) {
        uint64_t g = generation_of(e->d_name);
        if (g > *gen) {
            *gen = g;
            free(best);
            best = xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (!best)
        return NULL;
    char *path = xmalloc(strlen(dir) + strlen(best) + 2);
    sprintf(path, "%s/%s", dir, best);
    free(best);
    return path;
}

/* Side information the daemon writes beside a model it trained: model-N.items.tsv. */
static char *sidecar_path(const char *model)
{
    size_t len = strlen(model);
    if (len > 3 && !strcmp(model + len - 3, ".wr"))
        len -= 3;
    char *p = xmalloc(len + 11);
    memcpy(p, model, len);
    strcpy(p + len, ".items.tsv");
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

/* item, degree in the training graph, and the category when the catalogue has them. */
static int write_sidecar(const char *path, const wr_pairs *p, const uint32_t *cat, wr_err *err)
{
    wr_afile a;
    uint32_t *deg = pairs_degree(p);
    if (afile_open(&a, path, err) < 0) {
        free(deg);
        return -1;
    }
    fprintf(a.f, "item\tdegree%s\n", cat ? "\tcategory" : "");
    for (uint32_t i = 0; i < dict_size(p->ids); i++) {
        fprintf(a.f, "%s\t%u", dict_str(p->ids, i), deg[i]);
        if (cat)
            fprintf(a.f, "\tc%04u", cat[i]); /* synth_write_items' category names */
        fputc('\n', a.f);
    }
    free(deg);
    return afile_commit(&a, err);
}

/* ---- loading and publishing ---- */

static int publish(wr_model *m, const char *path, uint64_t gen, wr_err *err)
{
    wr_index_opts o;
    index_default_opts(&o);
    o.k = cfg->index_k;
    o.exact_max_items = cfg->exact_index_max_items;
    o.threads = (int)cfg->index_threads;
    o.items_file = cfg->items_file;
    char *side = sidecar_path(path);
    o.sidecar = side;
    uint32_t n = m->n;
    if (n > cfg->exact_index_max_items)
        say("%u items is above exact_index_max_items (%llu): no precomputed neighbour lists, "
            "every query is an exact scan", n, (unsigned long long)cfg->exact_index_max_items);
    wr_index *ix = index_build(m, gen, path, &o, err);
    free(side);
    if (!ix)
        return -1;
    const wr_index_info *in = index_info(ix);
    if (in->k)
        say("neighbour lists: %u items x %u in %.2f s", in->n, in->k, in->build_seconds);
    if (in->side_rows || in->side_unmatched)
        say("side information: %llu items described, %llu rows for items not in the model",
            (unsigned long long)in->side_rows, (unsigned long long)in->side_unmatched);
    live_publish(ix);
    loader.generation = gen;
    say("published generation %llu: %u items x %u dimensions from %s", (unsigned long long)gen,
        n, index_info(ix)->dim, path);
    return 0;
}

static int load_file(const char *path, uint64_t gen, wr_err *err)
{
    say("loading %s", path);
    wr_model *m = model_load(path, err);
    return m ? publish(m, path, gen, err) : -1;
}

/* No model yet: train on the pairs file, or on the built-in synthetic catalogue, save the
 * model (and its side information) into data_dir and publish it. */
static int train_at_start(wr_err *err)
{
    wr_pairs p;
    uint32_t *cat = NULL;
    wr_model *m = NULL;
    char *path = NULL, *side = NULL;
    int rc = -1;
    uint64_t gen;
    pairs_init(&p); /* synth_generate fills an empty set too */
    if (*cfg->pairs) {
        say("no model in %s: training on %s", cfg->data_dir, cfg->pairs);
        if (pairs_read(&p, cfg->pairs, NULL, NULL, err) < 0)
            goto out;
    } else {
        wr_synth_opts so;
        synth_default_opts(&so);
        say("no model in %s and no pairs file: training on the built-in synthetic catalogue "
            "(%u items, %llu pairs)", cfg->data_dir, so.items, (unsigned long long)so.pairs);
        if (synth_generate(&so, &p, &cat, err) < 0)
            goto out;
    }
    wr_train_opts to;
    wr_train_times times;
    train_default_opts(&to);
    to.walk.threads = to.sgns.threads = (int)cfg->train_threads;
    double t0 = wr_now();
    if (!(m = train_pairs(&p, &to, &times, err)))
        goto out;
    say("trained %u items x %u dimensions in %.1f s", m->n, m->dim, wr_now() - t0);
    if (make_dirs(cfg->data_dir, err) < 0)
        goto out;
    free(newest_model(cfg->data_dir, &gen));
    path = xmalloc(strlen(cfg->data_dir) + 32);
    sprintf(path, "%s/model-%llu.wr", cfg->data_dir, (unsigned long long)gen + 1);
    side = sidecar_path(path);
    if (write_sidecar(side, &p, cat, err) < 0 || model_save(m, path, err) < 0)
        goto out;
    say("saved %s", path);
    rc = 0;
out:
    pairs_free(&p); /* before the index is built: it needs the memory more */
    free(cat);
    free(side);
    if (rc == 0) {
        rc = publish(m, path, gen + 1, err);
        m = NULL; /* publish took it */
    }
    model_free(m);
    free(path);
    return rc;
}

static int load_first(wr_err *err)
{
    uint64_t gen;
    if (*cfg->model) {
        gen = generation_of(cfg->model);
        return load_file(cfg->model, gen ? gen : 1, err);
    }
    char *path = newest_model(cfg->data_dir, &gen);
    if (!path)
        return train_at_start(err);
    int rc = load_file(path, gen, err);
    free(path);
    return rc;
}

/* SIGHUP: the newest model file again (or the `model` file, as a new generation). */
static int reload(wr_err *err)
{
    uint64_t gen;
    if (*cfg->model) {
        gen = generation_of(cfg->model);
        return load_file(cfg->model, gen ? gen : loader.generation + 1, err);
    }
    char *path = newest_model(cfg->data_dir, &gen);
    if (!path)
        return wr_fail(err, "no model-<generation>.wr file in %s", cfg->data_dir);
    int rc = load_file(path, gen, err);
    free(path);
    return rc;
}

static pthread_t main_thread;

/* OpenBLAS starts its thread pool when the library loads, before main blocks the signals, so
 * a process-directed SIGTERM may land on one of its threads and kill the process outright.
 * There this handler passes the signal on to main, where it is blocked and sigwait takes it. */
static void forward_signal(int sig) { pthread_kill(main_thread, sig); }

static void *loader_main(void *arg)
{
    wr_err err;
    if (load_first(&err) < 0) {
        say("error: %s", err.msg);
        pthread_mutex_lock(&loader.mu);
        loader.failed = 1;
        loader.busy = 0;
        pthread_mutex_unlock(&loader.mu);
        pthread_kill(main_thread, SIGTERM);
        return NULL;
    }
    pthread_mutex_lock(&loader.mu);
    for (;;) {
        loader.busy = 0;
        while (!loader.reload && !loader.stop)
            pthread_cond_wait(&loader.cv, &loader.mu);
        if (loader.stop)
            break;
        loader.reload = 0;
        loader.busy = 1;
        pthread_mutex_unlock(&loader.mu);
        if (reload(&err) < 0)
            say("reload failed, still serving generation %llu: %s",
                (unsigned long long)loader.generation, err.msg);
        pthread_mutex_lock(&loader.mu);
    }
    pthread_mutex_unlock(&loader.mu);
    return NULL;
}

/* Debian's OpenBLAS 0.3.21 does not recognise some virtual CPUs and falls back to its
 * SSE3 (Prescott) kernels: 15 GFLOP/s per core against 74 with its AVX-512 (SkylakeX) ones,
 * measured on the development machines. The choice is made when the library loads, before
 * main, so it can only be named here; OPENBLAS_CORETYPE chooses for it. */
static void check_blas(void)
{
    const char *core = openblas_get_corename();
    say("OpenBLAS kernels: %s", core);
    if (!strcasecmp(core, "prescott") && !getenv("OPENBLAS_CORETYPE") &&
        __builtin_cpu_supports("avx2"))
        say("warning: this CPU has AVX2%s; OPENBLAS_CORETYPE=%s in the environment makes "
            "building the neighbour lists several times faster",
            __builtin_cpu_supports("avx512f") ? " and AVX-512" : "",
            __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    wr_config c;
    wr_err err;
    wr_config_action action;
    sigset_t sigs;
    int sig;

    config_init(&c);
    if (config_load(&c, argc, argv, &action, &err) < 0) {
        fprintf(stderr, "walkrecd: %s\n", err.msg);
        config_free(&c);
        return 2;
    }
    if (action != WR_CONFIG_RUN) {
        if (action == WR_CONFIG_HELP)
            config_usage(stdout);
        else
            config_write(&c, stdout);
        config_free(&c);
        return 0;
    }
    cfg = &c;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    main_thread = pthread_self();
    struct sigaction sa = {.sa_handler = forward_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    wr_http *h = http_start(&c, &err);
    if (!h) {
        say("error: %s", err.msg);
        config_free(&c);
        return 1;
    }
    check_blas();
    say("listening on http://%s%s%s:%u/ with %u threads", strchr(c.bind, ':') ? "[" : "", c.bind,
        strchr(c.bind, ':') ? "]" : "", http_port(h), c.threads);

    loader.busy = 1;
    if (pthread_create(&loader.tid, NULL, loader_main, NULL) != 0) {
        say("error: cannot start the loader thread");
        http_stop(h, 0);
        config_free(&c);
        return 1;
    }

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        say("SIGHUP: reloading the newest model");
        pthread_mutex_lock(&loader.mu);
        loader.reload = 1;
        pthread_cond_signal(&loader.cv);
        pthread_mutex_unlock(&loader.mu);
    }

    say("%s: stopping (requests in flight get up to %u s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
        c.shutdown_grace);
    http_stop(h, c.shutdown_grace);
    pthread_mutex_lock(&loader.mu);
    loader.stop = 1;
    int busy = loader.busy, failed = loader.failed;
    pthread_cond_signal(&loader.cv);
    pthread_mutex_unlock(&loader.mu);
    if (busy) {
        say("stopped (the model load in progress was abandoned)");
        _exit(failed);
    }
    pthread_join(loader.tid, NULL);
    live_shutdown();
    config_free(&c);
    say("stopped");
    return failed;
}
