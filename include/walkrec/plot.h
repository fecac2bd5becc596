/* plot.h - line plots as inline SVG, for the evaluation report (report.h).
 *
 * A plot is a plain struct: fill its title, labels, ranges, optional vertical marks and
 * series (plot_add), write it (plot_write) and free it (plot_free). Nothing is fetched: the
 * SVG names only generic fonts. */
#ifndef WALKREC_PLOT_H
#define WALKREC_PLOT_H

#include <stddef.h>
#include <stdio.h>

enum { WR_MK_NONE = -1, WR_MK_CIRCLE, WR_MK_SQUARE, WR_MK_TRIANGLE, WR_MK_DIAMOND, WR_MK_PLUS,
       WR_MK_CROSS };
#define WR_PLOT_DASH_SECOND 2 /* the dash of a model's second quantity (recall, AUC seen) */

typedef struct wr_plot_style {
    const char *colour, *dash; /* SVG colour and stroke-dasharray */
    int marker;                /* WR_MK_* */
    double width;
} wr_plot_style;

typedef struct wr_plot_series {
    char *label, *tag; /* tag: data-series, the model's index, "popularity" or "reference" */
    double *x, *y;     /* owned */
    size_t n;
    wr_plot_style st;
} wr_plot_series;

typedef struct wr_plot {
    char id[48], title[160], xlabel[96], ylabel[96];
    double x0, x1, y0, y1;
    int integer_x;   /* x ticks on whole numbers only */
    double *vlines;  /* vertical marks (epoch boundaries), owned */
    size_t nv;
    const char *vlabel;
    wr_plot_series *s;
    size_t ns;
} wr_plot;

/* The style of model number `model` with dash pattern number `dash`: a model keeps its
 * colour and marker; past five models the markers shift by one. */
wr_plot_style plot_style(size_t model, size_t dash);
extern const wr_plot_style plot_popularity, plot_reference;
/* Colour, dash and marker number i together: classes within one model (histograms). */
wr_plot_style plot_class(size_t i);
/* [lo, hi] widened to whole ticks of 1, 2 or 5 times a power of ten; a single value gets
 * some room around it. */
void plot_nice_range(double lo, double hi, double *a, double *b);

void plot_init(wr_plot *g, const char *id, const char *title, const char *xlabel,
               const char *ylabel);
/* Adds a series; takes x and y (malloc'd). */
void plot_add(wr_plot *g, const char *label, const char *tag, double *x, double *y, size_t n,
              wr_plot_style st);
void plot_write(FILE *f, const wr_plot *g);
void plot_free(wr_plot *g);
/* s with HTML's special characters escaped. */
void plot_escape(FILE *f, const char *s);

#endif
