/* plot.c - line plots as inline SVG (plot.h): frame, grid, ticks, axis labels, the series
 * clipped to the frame, and the legend below the plot so it never hides a curve.
 *
 * Series are told apart by colour (the Okabe-Ito palette, safe for colour-blind readers),
 * dash pattern and marker together, so a greyscale print still separates them. */
#include "walkrec/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "walkrec/util.h"


/* Okabe-Ito, ordered so that neighbours differ in lightness too (dark blue, light orange). */
static const char *const colours[] = {"#0072b2", "#e69f00", "#009e73",
                                      "#cc79a7", "#d55e00", "#56b4e9"};
static const char *const dashes[] = {"none", "10 4", "3 3", "10 3 3 3", "6 2 2 2 2 2"};
#define N_COLOURS (sizeof colours / sizeof *colours)
#define N_DASHES (sizeof dashes / sizeof *dashes)

#define N_MODEL_MARKERS 5 /* WR_MK_CROSS is kept for the popularity baseline */
static const char *const marker_names[] = {"circle", "square", "triangle", "diamond", "plus",
                                           "cross"};

wr_plot_style plot_class(size_t i)
{
    return (wr_plot_style){colours[i % N_COLOURS], dashes[i % N_DASHES], (int)(i % N_MODEL_MARKERS),
                           2};
}

/* Past five models the markers shift by one, so that dash and marker still differ. */
wr_plot_style plot_style(size_t model, size_t dash)
{
    return (wr_plot_style){colours[model % N_COLOURS], dashes[dash % N_DASHES],
                   (int)((model + model / N_MODEL_MARKERS) % N_MODEL_MARKERS), 2};
}

const wr_plot_style plot_popularity = {"#4d4d4d", "1.5 3", WR_MK_CROSS, 2};
const wr_plot_style plot_reference = {"#9a9a9a", "5 4", WR_MK_NONE, 1.2};

void plot_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: putc(*s, f);
        }
    }
}


/* Plot geometry in SVG pixels: the frame, and the legend's first row below the x label. */
enum { SVG_W = 720, PL = 78, PR = 700, PT = 46, PB = 346, LEGEND_T = 408, LEGEND_ROW = 22 };

void plot_init(wr_plot *g, const char *id, const char *title, const char *xlabel,
                        const char *ylabel)
{
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", id);
    snprintf(g->title, sizeof g->title, "%s", title);
    snprintf(g->xlabel, sizeof g->xlabel, "%s", xlabel);
    snprintf(g->ylabel, sizeof g->ylabel, "%s", ylabel);
    g->x1 = g->y1 = 1;
}

/* Takes x and y (malloc'd). */
void plot_add(wr_plot *g, const char *label, const char *tag, double *x, double *y,
                       size_t n, wr_plot_style st)
{
    g->s = xrealloc(g->s, (g->ns + 1) * sizeof *g->s);
    g->s[g->ns++] = (wr_plot_series){xstrdup(label), xstrdup(tag), x, y, n, st};
}

void plot_free(wr_plot *g)
{
    for (size_t i = 0; i < g->ns; i++) {
        free(g->s[i].label);
        free(g->s[i].tag);
        free(g->s[i].x);
        free(g->s[i].y);
    }
    free(g->s);
    free(g->vlines);
}

/* 1, 2 or 5 times a power of ten, giving about `target` steps over range. */
static double nice_step(double range, int target)
{
    double raw = range / target, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

/* [lo, hi] widened to whole ticks; a single value gets some room around it. */
void plot_nice_range(double lo, double hi, double *a, double *b)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) / 10 : 0.5;
        lo -= pad;
        hi += pad;
    }
    double s = nice_step(hi - lo, 5);
    *a = floor(lo / s + 1e-9) * s;
    *b = ceil(hi / s - 1e-9) * s;
}

static double px(const wr_plot *g, double x) { return PL + (x - g->x0) / (g->x1 - g->x0) * (PR - PL); }
static double py(const wr_plot *g, double y) { return PB - (y - g->y0) / (g->y1 - g->y0) * (PB - PT); }

/* Grid lines, tick marks and tick labels of one axis. */
static void axis(FILE *f, const wr_plot *g, int vertical)
{
    double lo = vertical ? g->y0 : g->x0, hi = vertical ? g->y1 : g->x1;
    double step = nice_step(hi - lo, vertical ? 5 : 6);
    if (!vertical && g->integer_x && step < 1)
        step = 1;
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    for (long i = (long)ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) {
        double t = fabs((double)i * step) < step * 1e-9 ? 0 : (double)i * step;
        if (vertical) {
            double y = py(g, t);
            fprintf(f, "<path d=\"M%d %.1fH%d\" stroke=\"#e3e3e3\"/>"
                    "<path d=\"M%d %.1fH%d\" stroke=\"#333\"/>"
                    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n",
                    PL, y, PR, PL - 6, y, PL, PL - 9, y + 5, dec, t);
        } else {
            double x = px(g, t);
            fprintf(f, "<path d=\"M%.1f %dV%d\" stroke=\"#e3e3e3\"/>"
                    "<path d=\"M%.1f %dV%d\" stroke=\"#333\"/>"
                    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f</text>\n",
                    x, PT, PB, x, PB, PB + 6, x, PB + 22, dec, t);
        }
    }
}

static void marker_path(FILE *f, int kind, double x, double y)
{
    const double r = 4.5, a = 3.8, t = 4.2;
    switch (kind) {
    case WR_MK_CIRCLE:
        fprintf(f, "M%.1f %.1fa%.1f %.1f 0 1 0 %.1f 0a%.1f %.1f 0 1 0 %.1f 0", x - r, y, r, r,
                2 * r, r, r, -2 * r);
        break;
    case WR_MK_SQUARE:
        fprintf(f, "M%.1f %.1fh%.1fv%.1fh%.1fz", x - a, y - a, 2 * a, 2 * a, -2 * a);
        break;
    case WR_MK_TRIANGLE:
        fprintf(f, "M%.1f %.1fL%.1f %.1fL%.1f %.1fz", x, y - r - 0.5, x + t, y + 0.6 * r + 0.5,
                x - t, y + 0.6 * r + 0.5);
        break;
    case WR_MK_DIAMOND:
        fprintf(f, "M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fz", x, y - r - 0.5, x + r, y, x,
                y + r + 0.5, x - r, y);
        break;
    case WR_MK_PLUS:
        fprintf(f, "M%.1f %.1fh%.1fM%.1f %.1fv%.1f", x - r, y, 2 * r, x, y - r, 2 * r);
        break;
    case WR_MK_CROSS:
        fprintf(f, "M%.1f %.1fl%.1f %.1fM%.1f %.1fl%.1f %.1f", x - a, y - a, 2 * a, 2 * a, x - a,
                y + a, 2 * a, -2 * a);
        break;
    default: break;
    }
}

/* The finite points of s in pixels, leaving out those within half a pixel of the last one
 * kept (a curve over a million pairs needs no more points than the screen has). */
static size_t to_pixels(const wr_plot *g, const wr_plot_series *s, double *X, double *Y)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i]))
            continue;
        double x = px(g, s->x[i]), y = py(g, s->y[i]);
        if (n && i + 1 < s->n && fabs(x - X[n - 1]) + fabs(y - Y[n - 1]) < 0.5)
            continue;
        X[n] = x;
        Y[n++] = y;
    }
    return n;
}

/* Markers on every point of a short series (a learning curve's evaluations), else eight
 * spread along the drawn length, shifted per series so that curves lying on top of each
 * other still show each one's markers. */
static void series_markers(FILE *f, const double *X, const double *Y, size_t n, int kind,
                           size_t si, size_t ns)
{
    if (n <= 24) {
        for (size_t i = 0; i < n; i++)
            marker_path(f, kind, X[i], Y[i]);
        return;
    }
    double total = 0;
    for (size_t i = 1; i < n; i++)
        total += hypot(X[i] - X[i - 1], Y[i] - Y[i - 1]);
    double walked = 0;
    size_t i = 1;
    for (int k = 0; k < 8; k++) {
        double at = (k + 0.2 + 0.6 * (double)(si + 1) / (double)(ns + 1)) / 8 * total;
        double seg = 0;
        for (; i < n; i++, walked += seg) {
            seg = hypot(X[i] - X[i - 1], Y[i] - Y[i - 1]);
            if (walked + seg >= at)
                break;
        }
        if (i >= n)
            break;
        double u = seg > 0 ? (at - walked) / seg : 0;
        marker_path(f, kind, X[i - 1] + u * (X[i] - X[i - 1]), Y[i - 1] + u * (Y[i] - Y[i - 1]));
    }
}

static void series_write(FILE *f, const wr_plot *g, size_t si)
{
    const wr_plot_series *s = &g->s[si];
    double *X = xmalloc((s->n + 1) * sizeof *X), *Y = xmalloc((s->n + 1) * sizeof *Y);
    size_t n = to_pixels(g, s, X, Y);
    fprintf(f, "<g class=\"series\" data-series=\"%s\" data-label=\"", s->tag);
    plot_escape(f, s->label);
    fprintf(f, "\">\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
            "stroke-dasharray=\"%s\" stroke-linejoin=\"round\" clip-path=\"url(#%s-clip)\" "
            "points=\"", s->st.colour, s->st.width, s->st.dash, g->id);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%.1f,%.1f", i ? " " : "", X[i], Y[i]);
    fputs("\"/>\n", f);
    if (s->st.marker != WR_MK_NONE) {
        fprintf(f, "<path class=\"marker-%s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.6\" "
                "d=\"", marker_names[s->st.marker], s->st.colour, s->st.colour);
        series_markers(f, X, Y, n, s->st.marker, si, g->ns);
        fputs("\"/>\n", f);
    }
    fputs("</g>\n", f);
    free(X);
    free(Y);
}

static void legend_entry(FILE *f, double y, const wr_plot_style *st, const char *label)
{
    fprintf(f, "<path d=\"M%d %.1fh44\" stroke=\"%s\" stroke-width=\"%.1f\" "
            "stroke-dasharray=\"%s\"/>", PL, y, st->colour, st->width, st->dash);
    if (st->marker != WR_MK_NONE) {
        fprintf(f, "<path fill=\"%s\" stroke=\"%s\" stroke-width=\"1.6\" d=\"", st->colour,
                st->colour);
        marker_path(f, st->marker, PL + 22, y);
        fputs("\"/>", f);
    }
    fprintf(f, "<text x=\"%d\" y=\"%.1f\">", PL + 54, y + 5);
    plot_escape(f, label);
    fputs("</text>\n", f);
}

void plot_write(FILE *f, const wr_plot *g)
{
    size_t rows = g->ns + (g->nv > 0);
    int h = LEGEND_T + (int)rows * LEGEND_ROW;
    fprintf(f, "<svg class=\"figure\" id=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\" font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" "
            "font-size=\"14\" fill=\"#222\">\n<title>", g->id, SVG_W, h, SVG_W, h);
    plot_escape(f, g->title);
    fprintf(f, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
            "<defs><clipPath id=\"%s-clip\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
            "</clipPath></defs>\n<text x=\"%d\" y=\"28\" font-size=\"17\" font-weight=\"bold\">",
            SVG_W, h, g->id, PL, PT, PR - PL, PB - PT, PL);
    plot_escape(f, g->title);
    fputs("</text>\n", f);
    axis(f, g, 0);
    axis(f, g, 1);
    fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#333\"/>\n", PL, PT, PR - PL, PB - PT);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"15\">", (PL + PR) / 2,
            PB + 46);
    plot_escape(f, g->xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(20 %d) rotate(-90)\" "
            "text-anchor=\"middle\" font-size=\"15\">", (PT + PB) / 2);
    plot_escape(f, g->ylabel);
    fputs("</text>\n", f);
    const wr_plot_style vstyle = {"#6e6e6e", "2 4", WR_MK_NONE, 1.2};
    for (size_t i = 0; i < g->nv; i++)
        fprintf(f, "<path class=\"vline\" d=\"M%.1f %dV%d\" stroke=\"%s\" stroke-width=\"%.1f\" "
                "stroke-dasharray=\"%s\"/>\n", px(g, g->vlines[i]), PT, PB, vstyle.colour,
                vstyle.width, vstyle.dash);
    for (size_t i = 0; i < g->ns; i++)
        series_write(f, g, i);
    double y = LEGEND_T;
    for (size_t i = 0; i < g->ns; i++, y += LEGEND_ROW)
        legend_entry(f, y, &g->s[i].st, g->s[i].label);
    if (g->nv)
        legend_entry(f, y, &vstyle, g->vlabel);
    fputs("</svg>\n", f);
}
