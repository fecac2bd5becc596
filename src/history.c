/* history.c - the gate's decisions across restarts (history.h). */
#include "walkrec/history.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walkrec/file.h"

static struct {
    pthread_mutex_t mu;
    char *path;
    size_t keep, lines; /* runs to keep in memory; lines in the file */
    json_t *runs;       /* the newest `keep`, oldest first */
} H = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void remember(json_t *run)
{
    json_array_append(H.runs, run);
    while (json_array_size(H.runs) > H.keep)
        json_array_remove(H.runs, 0);
}

/* The newest runs alone, written over the file (with H.mu held). */
static int rewrite(wr_err *err)
{
    wr_atomic_file a;
    if (file_atomic_open(&a, H.path, err) < 0)
        return -1;
    size_t i;
    json_t *run;
    json_array_foreach(H.runs, i, run)
    {
        json_dumpf(run, a.f, JSON_COMPACT);
        fputc('\n', a.f);
    }
    if (file_atomic_commit(&a, err) < 0)
        return -1;
    H.lines = json_array_size(H.runs);
    return 0;
}

int history_open(const char *dir, size_t keep, wr_err *err)
{
    history_close();
    H.path = xmalloc(strlen(dir) + sizeof "/" WR_HISTORY_FILE);
    sprintf(H.path, "%s/%s", dir, WR_HISTORY_FILE);
    H.keep = keep ? keep : 1;
    H.runs = json_array();
    H.lines = 0;
    FILE *f = fopen(H.path, "r");
    if (!f)
        return errno == ENOENT ? 0 : wr_failc(err, WR_EIO, "%s: %s", H.path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, bad = 0;
    ssize_t len;
    int torn = 0; /* the last line has no end: appending would run on from it */
    while ((len = getline(&line, &cap, f)) >= 0) {
        H.lines++;
        torn = len == 0 || line[len - 1] != '\n';
        json_t *run = json_loads(line, 0, NULL);
        if (json_is_object(run))
            remember(run);
        else
            bad++;
        json_decref(run);
    }
    free(line);
    int rc = ferror(f) ? wr_failc(err, WR_EIO, "%s: read error", H.path) : 0;
    fclose(f);
    if (bad)
        wr_log("%s: %zu line%s that did not parse skipped", H.path, bad, bad == 1 ? "" : "s");
    if (rc == 0 && torn) {
        pthread_mutex_lock(&H.mu);
        rc = rewrite(err);
        pthread_mutex_unlock(&H.mu);
    }
    return rc;
}

void history_close(void)
{
    pthread_mutex_lock(&H.mu);
    json_decref(H.runs);
    H.runs = NULL;
    free(H.path);
    H.path = NULL;
    pthread_mutex_unlock(&H.mu);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *run_json(const wr_run *r)
{
    static const char *const names[WR_STAGES] = {"gathering", "training", "calibration",
                                                 "gate", "lists", "write", "publish"};
    json_t *stages = json_object();
    for (int s = 0; s < WR_STAGES; s++)
        json_object_set_new(stages, names[s], json_real(r->c.seconds[s]));
    json_t *doc = json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:I,s:I,s:I,s:{s:o,s:o,s:o},s:{s:I,s:o,s:o,s:o},"
        "s:o,s:f}",
        "generation", (json_int_t)r->generation, "trigger", r->trigger, "mode", r->mode,
        "start", r->c.start, "decision", r->decision, "reason", r->reason, "started_at",
        r->started, "seconds", r->seconds, "train_seconds", r->c.train_seconds, "train_pairs",
        (json_int_t)r->c.train_pairs, "validation_pairs", (json_int_t)r->c.val_pairs, "items",
        (json_int_t)r->c.items, "candidate", "auc_all", num(r->c.cand_auc_all), "auc_seen",
        num(r->c.cand_auc_seen), "recall_at_10", num(r->c.cand_recall), "live", "generation",
        (json_int_t)r->live_generation, "auc_all", num(r->c.live_auc_all), "auc_seen",
        num(r->c.live_auc_seen), "recall_at_10", num(r->c.live_recall), "overlap_at_10",
        num(r->churn.overlap), "gate_max_auc_drop", r->gate_max_auc_drop);
    json_object_set_new(doc, "rbo_at_10", num(r->churn.rbo));
    json_object_set_new(doc, "churn_at_10", num(1 - r->churn.overlap));
    json_object_set_new(doc, "churn_items", json_integer((json_int_t)r->churn.items));
    json_object_set_new(doc, "churn_sampled", json_boolean(r->churn.sampled));
    json_object_set_new(doc, "gate_max_churn", json_real(r->gate_max_churn));
    json_object_set_new(doc, "stage_seconds", stages);
    json_object_set_new(doc, "lists_recall_at_10", num(r->c.lists_recall));
    return doc;
}

int history_add(const wr_run *r, wr_err *err)
{
    pthread_mutex_lock(&H.mu);
    int rc = 0;
    if (!H.path) {
        pthread_mutex_unlock(&H.mu);
        return 0;
    }
    const double *t = r->c.seconds;
    wr_log("run of generation %llu, seconds per stage: gathering %.1f, training %.1f, "
           "calibration %.1f, gate %.1f, lists %.1f, write %.1f, publish %.1f; %.1f in all",
           (unsigned long long)r->generation, t[WR_STAGE_GATHER], t[WR_STAGE_TRAINING],
           t[WR_STAGE_CALIBRATION], t[WR_STAGE_GATE], t[WR_STAGE_LISTS], t[WR_STAGE_WRITE],
           t[WR_STAGE_PUBLISH], r->seconds);
    json_t *run = run_json(r);
    remember(run);
    char *text = json_dumps(run, JSON_COMPACT);
    int fd = open(H.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    size_t len = text ? strlen(text) : 0;
    if (text)
        text[len++] = '\n'; /* json_dumps's NUL becomes the line's end */
    if (!text || fd < 0 || write(fd, text, len) != (ssize_t)len || fdatasync(fd) < 0)
        rc = wr_failc(err, WR_EIO, "%s: %s", H.path, text ? strerror(errno) : "out of memory");
    else if (++H.lines >= 4 * H.keep)
        rc = rewrite(err);
    if (fd >= 0)
        close(fd);
    free(text);
    json_decref(run);
    pthread_mutex_unlock(&H.mu);
    return rc;
}

json_t *history_json(void)
{
    pthread_mutex_lock(&H.mu);
    json_t *a = H.runs ? json_deep_copy(H.runs) : json_array();
    pthread_mutex_unlock(&H.mu);
    return a;
}

json_t *history_last(void)
{
    pthread_mutex_lock(&H.mu);
    size_t n = H.runs ? json_array_size(H.runs) : 0;
    json_t *r = n ? json_deep_copy(json_array_get(H.runs, n - 1)) : NULL;
    pthread_mutex_unlock(&H.mu);
    return r;
}
