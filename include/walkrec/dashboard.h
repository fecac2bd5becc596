/* dashboard.h - walkrecd's operator page and the files compiled into the daemon for it.
 *
 * GET / is a page of plain HTML, CSS and JavaScript (src/dashboard/) that reads the API:
 * the published model, the trainer's status and progress, the last run's evaluation, the
 * learning curve, and an item search whose neighbours can be walked on. tools/embed.c turns
 * the files and docs/openapi.yaml into a table at build time; nothing is read from the disk
 * or fetched from the network when they are served. Handlers as in api.h. */
#ifndef WALKREC_DASHBOARD_H
#define WALKREC_DASHBOARD_H

#include <stddef.h>

#include "walkrec/api.h"

typedef struct wr_asset {
    const char *name;          /* base name of the file; NULL ends the table */
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
} wr_asset;

/* The generated table (dashboard_assets.c). */
extern const wr_asset wr_assets[];

/* GET /: the page (text/html; http.c adds its Content-Security-Policy). */
void dashboard_page(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
/* GET /ui/{id}: the page's script and style sheet by name. */
void dashboard_file(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
/* GET /openapi.yaml: the API document. */
void dashboard_openapi(const wr_request *rq, const wr_snapshot *s, wr_reply *rp);
#endif
