/* metrics.c - Prometheus counters and histograms for walkrecd.
 *
 * Requests are counted per (route, method, status) and timed per (route, method) into
 * fixed buckets. The arrays are sized once in metrics_init and updated with relaxed atomic
 * adds, so the hot path takes no lock. Model gauges change only on publication and sit
 * behind a mutex. */
#include "walkrec/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/util.h"

#define NSTATUS 500 /* statuses 100..599 */

static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
#define NBUCKETS (sizeof bounds / sizeof bounds[0] + 1) /* the last is +Inf */

static const char *const method_names[WR_M_NMETHODS] = {"GET",    "HEAD",    "POST", "PUT",
                                                        "DELETE", "PATCH", "OPTIONS", "OTHER"};

typedef struct timing {
    uint64_t bucket[NBUCKETS]; /* not cumulative; summed when rendered */
    uint64_t count, sum_ns;
} timing;

static size_t nroutes;
static const char *const *route_names;
static uint64_t *counts; /* [route][method][status - 100] */
static timing *timings;  /* [route][method] */

/* Client connections: opened since start, open now, closed for a late request. */
static uint64_t conn_opened, conn_open, conn_cut;
static uint64_t read_keys[WR_METRICS_KEYS];
static uint64_t hidden_items;

static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t generation, publishes;
    uint32_t items, dim;
    double build_seconds, published;
    double overlap, rbo; /* the gate's last churn measurement, shown once churned is set */
    int churned;
} model;

int metrics_method(const char *name)
{
    for (int m = 0; m < WR_M_OTHER; m++)
        if (!strcmp(name, method_names[m]))
            return m;
    return WR_M_OTHER;
}

void metrics_hidden(size_t n) { __atomic_store_n(&hidden_items, (uint64_t)n, __ATOMIC_RELAXED); }

void metrics_init(size_t n, const char *const *names)
{
    nroutes = n;
    route_names = names;
    counts = xcalloc(n * WR_M_NMETHODS * NSTATUS, sizeof *counts);
    timings = xcalloc(n * WR_M_NMETHODS, sizeof *timings);
}

void metrics_free(void)
{
    free(counts);
    free(timings);
    counts = NULL;
    timings = NULL;
    nroutes = 0;
}

void metrics_request(size_t route, int method, unsigned status, double seconds)
{
    if (route >= nroutes || status < 100 || status >= 100 + NSTATUS)
        return;
    size_t rm = route * WR_M_NMETHODS + (size_t)method;
    __atomic_fetch_add(&counts[rm * NSTATUS + status - 100], 1, __ATOMIC_RELAXED);
    size_t b = 0;
    while (b < NBUCKETS - 1 && seconds > bounds[b])
        b++;
    timing *t = &timings[rm];
    __atomic_fetch_add(&t->bucket[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->count, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->sum_ns, (uint64_t)(seconds * 1e9), __ATOMIC_RELAXED);
}

void metrics_connection(int event)
{
    if (event > 0) {
        __atomic_fetch_add(&conn_opened, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&conn_open, 1, __ATOMIC_RELAXED);
    } else if (event < 0) {
        __atomic_fetch_sub(&conn_open, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_add(&conn_cut, 1, __ATOMIC_RELAXED);
    }
}

void metrics_read_key(int key)
{
    if (key >= 1 && key <= WR_METRICS_KEYS)
        __atomic_fetch_add(&read_keys[key - 1], 1, __ATOMIC_RELAXED);
}

void metrics_model(uint64_t generation, uint32_t items, uint32_t dim, double build_seconds,
                   double published_unix)
{
    pthread_mutex_lock(&model_lock);
    model.generation = generation;
    model.items = items;
    model.dim = dim;
    model.build_seconds = build_seconds;
    model.published = published_unix;
    model.publishes++;
    pthread_mutex_unlock(&model_lock);
}

void metrics_churn(double overlap, double rbo)
{
    pthread_mutex_lock(&model_lock);
    model.overlap = overlap;
    model.rbo = rbo;
    model.churned = isfinite(overlap) && isfinite(rbo);
    pthread_mutex_unlock(&model_lock);
}

static uint64_t load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

static void render_requests(FILE *f)
{
    fputs("# HELP walkrec_http_requests_total HTTP requests answered, by route, method and "
          "status.\n# TYPE walkrec_http_requests_total counter\n", f);
    for (size_t r = 0; r < nroutes; r++)
        for (int m = 0; m < WR_M_NMETHODS; m++)
            for (unsigned s = 0; s < NSTATUS; s++) {
                uint64_t c = load(&counts[(r * WR_M_NMETHODS + m) * NSTATUS + s]);
                if (c)
                    fprintf(f,
                            "walkrec_http_requests_total{route=\"%s\",method=\"%s\","
                            "code=\"%u\"} %llu\n",
                            route_names[r], method_names[m], s + 100, (unsigned long long)c);
            }
    fputs("# HELP walkrec_http_request_duration_seconds Time from a request's first byte to "
          "its response's last.\n# TYPE walkrec_http_request_duration_seconds histogram\n", f);
    for (size_t r = 0; r < nroutes; r++)
        for (int m = 0; m < WR_M_NMETHODS; m++) {
            const timing *t = &timings[r * WR_M_NMETHODS + m];
            uint64_t count = load(&t->count), cum = 0;
            if (!count)
                continue;
            for (size_t b = 0; b < NBUCKETS; b++) {
                cum += load(&t->bucket[b]);
                char le[32];
                if (b < NBUCKETS - 1)
                    snprintf(le, sizeof le, "%g", bounds[b]);
                else
                    snprintf(le, sizeof le, "+Inf");
                fprintf(f,
                        "walkrec_http_request_duration_seconds_bucket{route=\"%s\","
                        "method=\"%s\",le=\"%s\"} %llu\n",
                        route_names[r], method_names[m], le, (unsigned long long)cum);
            }
            fprintf(f,
                    "walkrec_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} "
                    "%.9f\n",
                    route_names[r], method_names[m], load(&t->sum_ns) * 1e-9);
            /* The count is the last bucket's cumulative value, consistent with it. */
            fprintf(f,
                    "walkrec_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} "
                    "%llu\n",
                    route_names[r], method_names[m], (unsigned long long)cum);
        }
}

static void gauge(FILE *f, const char *name, const char *type, const char *help, double v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

char *metrics_render(size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        fprintf(stderr, "walkrecd: out of memory rendering metrics\n");
        abort();
    }
    render_requests(f);
    gauge(f, "walkrec_http_connections", "gauge", "Client connections open.",
          (double)load(&conn_open));
    gauge(f, "walkrec_http_connections_total", "counter", "Client connections accepted.",
          (double)load(&conn_opened));
    gauge(f, "walkrec_http_request_timeouts_total", "counter",
          "Connections closed because a request did not arrive whole within "
          "request_timeout.", (double)load(&conn_cut));
    int any = 0; /* the keys that were used, by number (never the key itself) */
    for (int k = 0; k < WR_METRICS_KEYS; k++) {
        uint64_t v = load(&read_keys[k]);
        if (!v)
            continue;
        if (!any++)
            fputs("# HELP walkrec_read_key_requests_total Requests let in by each read key (its "
                  "line number in read_keys_file).\n# TYPE walkrec_read_key_requests_total "
                  "counter\n", f);
        fprintf(f, "walkrec_read_key_requests_total{key=\"%d\"} %llu\n", k + 1,
                (unsigned long long)v);
    }
    gauge(f, "walkrec_hidden_items", "gauge",
          "Items hidden or deleted: left out of every neighbour answer.",
          (double)load(&hidden_items));
    pthread_mutex_lock(&model_lock);
    gauge(f, "walkrec_ready", "gauge", "1 once a model is published.", model.publishes > 0);
    gauge(f, "walkrec_model_generation", "gauge", "Generation of the published model.",
          (double)model.generation);
    gauge(f, "walkrec_model_items", "gauge", "Items in the published model.", model.items);
    gauge(f, "walkrec_model_dimension", "gauge", "Vector dimension of the published model.",
          model.dim);
    gauge(f, "walkrec_model_publish_timestamp_seconds", "gauge",
          "Unix time the published model went live.", model.published);
    gauge(f, "walkrec_model_publishes_total", "counter", "Models published since start.",
          (double)model.publishes);
    gauge(f, "walkrec_index_build_seconds", "gauge",
          "Seconds spent building the published model's neighbour lists.",
          model.build_seconds);
    if (model.churned) {
        gauge(f, "walkrec_gate_overlap_at_10", "gauge",
              "The last gated candidate's lists: share of their first 10 the live lists had.",
              model.overlap);
        gauge(f, "walkrec_gate_rbo_at_10", "gauge",
              "The last gated candidate's lists: rank-biased overlap (p 0.9) with the live ones.",
              model.rbo);
    }
    pthread_mutex_unlock(&model_lock);
    fclose(f);
    *len = n;
    return buf;
}
