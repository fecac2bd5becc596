/* metrics.h - request counters, latency histograms and model gauges in Prometheus text.
 *
 * Counters are updated with relaxed atomic adds from any thread; rendering reads them
 * without stopping writers, so one scrape may be a few requests out of step with itself. */
#ifndef WALKREC_METRICS_H
#define WALKREC_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum { WR_M_GET, WR_M_HEAD, WR_M_POST, WR_M_PUT, WR_M_DELETE, WR_M_PATCH, WR_M_OPTIONS, WR_M_OTHER,
       WR_M_NMETHODS };

/* Method name -> WR_M_*. */
int metrics_method(const char *name);

/* Sets up counters for nroutes routes named by `names` (borrowed, must outlive the
 * metrics: static strings). Call once before any other metrics function except
 * metrics_model. */
void metrics_init(size_t nroutes, const char *const *names);
void metrics_free(void);

/* One finished request: route index, WR_M_* method, HTTP status (100..599), seconds from
 * its first byte to its last. Any thread. */
void metrics_request(size_t route, int method, unsigned status, double seconds);
/* A client connection opened (+1), closed (-1), or was cut for a late request (0). Any
 * thread. */
void metrics_connection(int event);
/* A request let in by read key number `key` (1-based: its line among the keys, access.h).
 * Keys past WR_METRICS_KEYS are not counted. Any thread. */
#define WR_METRICS_KEYS 64
void metrics_read_key(int key);
/* A model was published. Any thread. */
void metrics_model(uint64_t generation, uint32_t items, uint32_t dim, double build_seconds,
                   double published_unix);

/* The churn the gate measured last: overlap@10 and RBO of the candidate's lists with the
 * live ones (churn.h); NaN ones are not shown. Any thread. */
void metrics_churn(double overlap, double rbo);
/* Items hidden in the published snapshot (hidden.h). Any thread. */
void metrics_hidden(size_t n);

/* The text exposition format (version 0.0.4); caller frees. Any thread. */
char *metrics_render(size_t *len);

#endif
