/* walkrecd.c - the walkrec REST daemon: start-up, signals, shutdown.
 *
 * main() starts things in a fixed order and stops them in reverse:
 *   1. settings (defaults < file < environment < flags; a bad value stops here),
 *   2. SIGINT, SIGTERM and SIGHUP blocked in every thread (all created later inherit the
 *      mask) and taken synchronously by main with sigwait,
 *   3. the overlay thread of provisional items (overlay.h) and the trainer thread
 *      (retrain.h), which opens the pair log, brings the first model and publishes it;
 *      only then is the daemon ready. Afterwards it retrains, publishes, rolls back or
 *      follows another instance's generations. Both come first so that their state is set
 *      up before a request can reach it,
 *   4. the HTTP server (listening at once: /healthz answers, /readyz is 503 until the first
 *      publication), its write routes wired to the trainer (the service table below),
 *   5. main waits for signals: SIGHUP asks the trainer to reload the served model file;
 *      SIGTERM or SIGINT stop the server (requests in flight finish first), the trainer,
 *      the overlay thread, and free the published snapshot.
 * A start-up that fails in the trainer (bad model file, unreadable pairs) stops the daemon
 * with status 1. Stopping while the trainer is in the middle of a run exits without
 * waiting for it (a trainer process is killed and reaped first): every acknowledged pair
 * is already in the log, and model files are only ever renamed into place whole. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "walkrec/blas.h"
#include "walkrec/config.h"
#include "walkrec/hidden.h"
#include "walkrec/http.h"
#include "walkrec/metrics.h"
#include "walkrec/overlay.h"
#include "walkrec/retrain.h"
#include "walkrec/snapshot.h"
#include "walkrec/util.h"

static pthread_t main_thread;
static int failed; /* atomic: set by the trainer thread, read by main */

/* The trainer could not bring the first model: stop with status 1. */
static void on_fatal(void)
{
    __atomic_store_n(&failed, 1, __ATOMIC_RELEASE);
    /* main blocks SIGTERM and takes it with sigwait(): this stops nothing by itself */
    pthread_kill(main_thread, SIGTERM); /* NOLINT(bugprone-bad-signal-to-kill-thread,cert-pos44-c) */
}


/* OpenBLAS starts its thread pool when the library loads, before main blocks the signals, so
 * a process-directed SIGTERM may land on one of its threads and kill the process outright.
 * There this handler passes the signal on to main, where it is blocked and sigwait takes it. */
static void forward_signal(int sig) { pthread_kill(main_thread, sig); }

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
    /* OpenBLAS's kernels, before any thread starts (blas.h): may execute walkrecd again */
    if (action == WR_CONFIG_RUN)
        blas_choose(c.blas_kernel, argv);
    if (action != WR_CONFIG_RUN) {
        if (action == WR_CONFIG_HELP)
            config_usage(stdout);
        else
            config_write(&c, stdout);
        config_free(&c);
        return 0;
    }


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
    /* A file size limit then makes a write fail with EFBIG, which the trainer reports like a
     * full disk, instead of killing the daemon (its trainer processes inherit this). */
    signal(SIGXFSZ, SIG_IGN);
    /* Fixed thresholds: glibc's adaptive ones rise to 32 MiB of mmap threshold and 64 MiB
     * of untrimmed heap top after the first large free, so the pairs every retrain gathers
     * stayed resident in the trainer thread's arena, more as the pair log grew (RSS +50%
     * in 10 minutes of bench/soak.sh). Large blocks now go back to the system when freed. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 4 << 20);

    /* The trainer and the provisional items first: the HTTP threads, started after them,
     * then see their state set up (a request can come the moment the server listens). */
    if (overlay_start(c.index_k < 100 ? c.index_k : 100, &err) < 0 ||
        retrain_start(&c, on_fatal, &err) < 0) {
        wr_log("error: %s", err.msg);
        overlay_stop();
        config_free(&c);
        return 1;
    }
    const wr_service svc = {
        .follower = retrain_is_follower(),
        .ingest = retrain_ingest,
        .items = retrain_items,
        .retrain = retrain_request,
        .publish = retrain_force_publish,
        .rollback = retrain_rollback,
        .submit = retrain_submit,
        .status = retrain_status,
        .metrics = metrics_render,
    };
    wr_http *h = http_start(&c, &svc, &err);
    if (!h) {
        wr_log("error: %s", err.msg);
        if (retrain_stop())
            _exit(1);
        overlay_stop();
        config_free(&c);
        return 1;
    }
    wr_log("OpenBLAS kernels: %s", blas_describe());
    wr_log("listening on http://%s%s%s:%u/ with %u threads", strchr(c.bind, ':') ? "[" : "", c.bind,
        strchr(c.bind, ':') ? "]" : "", http_port(h), c.threads);

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        wr_log("SIGHUP: reloading the served model");
        retrain_reload();
        http_reload_keys(h);
    }

    int fatal = __atomic_load_n(&failed, __ATOMIC_ACQUIRE);
    if (!fatal)
        wr_log("%s: stopping (requests in flight get up to %u s)",
               sig == SIGINT ? "SIGINT" : "SIGTERM", c.shutdown_grace);
    http_stop(h, fatal ? 0 : c.shutdown_grace);
    /* The trainer before the provisional items: a publication wakes their thread. */
    int abandoned = retrain_stop();
    fatal = __atomic_load_n(&failed, __ATOMIC_ACQUIRE); /* stopping may fail the first model */
    if (abandoned) {
        wr_log("stopped (the trainer's run in progress was abandoned)");
        _exit(fatal);
    }
    overlay_stop();
    snapshot_shutdown();
    hidden_free_all(); /* after the last view was made from it */
    config_free(&c);
    wr_log("stopped");
    return fatal;
}
