/* report.c - the evaluation report (report.h): HTML with inline SVG figures (plot.h).
 *
 * A model keeps its colour and marker in every figure; where a wr_plot shows two quantities
 * per model (precision and recall, AUC all and seen) the dash pattern tells the quantity,
 * elsewhere it tells the model as well. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "walkrec/plot.h"
#include "walkrec/rank.h"
#include "walkrec/report.h"
#include "walkrec/split.h"

static void note(FILE *f, const char *text)
{
    fprintf(f, "<p class=\"note\">%s</p>\n", text);
}

/* ---- curves from the evaluation -------------------------------------------------------- */

typedef struct scored {
    double s;
    uint8_t pos;
} scored;

/* Best first, NaN last. */
static int cmp_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x < y) - (x > y);
}

static int same_score(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static int row_kind(const wr_labeled *v, size_t i)
{
    return v->kind ? v->kind[i] : WR_NEG_UNIFORM;
}

static int in_set(const wr_labeled *v, size_t i, int kind)
{
    return v->label[i] || row_kind(v, i) == kind;
}

/* The rows of one evaluation set (the positives and the negatives of one kind), all or
 * seen only, best first. With fill, an unseen row scores the median of the set's seen rows
 * as for auc_all (eval.h); without, every row keeps its score (the popularity baseline). */
static scored *set_rows(const wr_labeled *v, const uint8_t *seen, const double *score, int kind,
                        int seen_only, int fill, size_t *n, size_t *npos)
{
    scored *r = xmalloc((v->n + 1) * sizeof *r);
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++)
        if (in_set(v, i, kind) && seen[i])
            r[k++] = (scored){score[i], v->label[i] != 0};
    double med = 0;
    if (fill && k) {
        qsort(r, k, sizeof *r, cmp_desc);
        med = k % 2 ? r[k / 2].s : (r[k / 2 - 1].s + r[k / 2].s) / 2;
    }
    for (size_t i = 0; i < v->n && !seen_only; i++)
        if (in_set(v, i, kind) && !seen[i])
            r[k++] = (scored){fill ? med : score[i], v->label[i] != 0};
    qsort(r, k, sizeof *r, cmp_desc);
    *npos = 0;
    for (size_t i = 0; i < k; i++)
        *npos += r[i].pos;
    *n = k;
    return r;
}

/* ROC points from (0, 0), one after each group of equal scores: tied pairs make a straight
 * segment, whose area counts them one half as the AUC does. NULL with an empty class. */
static size_t roc_points(const scored *r, size_t n, size_t npos, double **x, double **y)
{
    size_t nneg = n - npos, k = 0, tp = 0, fp = 0;
    if (!npos || !nneg)
        return 0;
    *x = xmalloc((n + 1) * sizeof **x);
    *y = xmalloc((n + 1) * sizeof **y);
    (*x)[k] = (*y)[k] = 0;
    k++;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && same_score(r[j].s, r[i].s); j++) {
            tp += r[j].pos;
            fp += !r[j].pos;
        }
        (*x)[k] = (double)fp / (double)nneg;
        (*y)[k++] = (double)tp / (double)npos;
    }
    return k;
}

/* Precision and recall of "score >= t" at each distinct score t, highest first. */
static size_t threshold_points(const scored *r, size_t n, size_t npos, double **t, double **prec,
                               double **rec)
{
    size_t k = 0, tp = 0, fp = 0;
    *t = xmalloc((n + 1) * sizeof **t);
    *prec = xmalloc((n + 1) * sizeof **prec);
    *rec = xmalloc((n + 1) * sizeof **rec);
    for (size_t i = 0, j; i < n && !isnan(r[i].s) && npos; i = j) {
        for (j = i; j < n && same_score(r[j].s, r[i].s); j++) {
            tp += r[j].pos;
            fp += !r[j].pos;
        }
        (*t)[k] = r[i].s;
        (*prec)[k] = (double)tp / (double)(tp + fp);
        (*rec)[k++] = (double)tp / (double)npos;
    }
    return k;
}

#define BINS 40

/* The outline of a histogram over [lo, hi]: each bin's share of the n values, as steps. */
static size_t histogram(const double *s, size_t n, double lo, double hi, double **x, double **y)
{
    double share[BINS] = {0}, w = (hi - lo) / BINS;
    for (size_t i = 0; i < n; i++) {
        int b = (int)((s[i] - lo) / w);
        share[b < 0 ? 0 : b >= BINS ? BINS - 1 : b] += 1.0 / (double)n;
    }
    *x = xmalloc((2 * BINS + 2) * sizeof **x);
    *y = xmalloc((2 * BINS + 2) * sizeof **y);
    size_t k = 0;
    (*x)[k] = lo;
    (*y)[k++] = 0;
    for (int b = 0; b < BINS; b++) {
        (*x)[k] = lo + b * w;
        (*y)[k++] = share[b];
        (*x)[k] = lo + (b + 1) * w;
        (*y)[k++] = share[b];
    }
    (*x)[k] = hi;
    (*y)[k++] = 0;
    return k;
}

/* ---- the figures ----------------------------------------------------------------------- */

/* How a model scores a pair: its metadata's "score" (eval.c), else the cosine. */
static const char *score_name(const wr_model *m)
{
    static char name[32];
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    const char *s = json_string_value(json_object_get(meta, "score"));
    snprintf(name, sizeof name, "%s", s ? s : "cosine");
    json_decref(meta);
    return name;
}

/* The score's name when every model has the same, else "score". */
static const char *common_score_name(const wr_report *rep, char *buf, size_t len)
{
    snprintf(buf, len, "%s", score_name(rep->models[0].m));
    for (size_t i = 1; i < rep->n_models; i++)
        if (strcmp(buf, score_name(rep->models[i].m)))
            snprintf(buf, len, "score");
    return buf;
}

static const char *kind_label(int kind)
{
    return kind == WR_NEG_DEGREE ? "degree-matched negatives" : "uniform negatives";
}

/* An AUC of the evaluation: the primary set's or the degree set's, all or seen pairs. */
static double pick_auc(const wr_eval_auc *a, int primary, int kind, int seen_only)
{
    if (kind == primary)
        return seen_only ? a->seen : a->all;
    return seen_only ? a->degree_seen : a->degree_all;
}

static void auc_label(char *buf, size_t len, const char *name, double auc)
{
    if (isfinite(auc))
        snprintf(buf, len, "%s: AUC %.4f", name, auc);
    else
        snprintf(buf, len, "%s: AUC n/a", name);
}

static void add_roc(wr_plot *g, const wr_labeled *v, const uint8_t *seen, const double *score,
                    int kind, int seen_only, int fill, const char *label, const char *tag,
                    wr_plot_style st)
{
    size_t n, npos;
    scored *r = set_rows(v, seen, score, kind, seen_only, fill, &n, &npos);
    double *x, *y;
    size_t k = roc_points(r, n, npos, &x, &y);
    if (k)
        plot_add(g, label, tag, x, y, k, st);
    free(r);
}

static void roc_figure(FILE *f, const wr_report *rep, int kind, int seen_only)
{
    const wr_eval_result *r0 = rep->models[0].r;
    char id[48], title[160], label[512], tag[24];
    snprintf(id, sizeof id, "roc-%s-%s", kind == WR_NEG_DEGREE ? "degree" : "uniform",
             seen_only ? "seen" : "all");
    snprintf(title, sizeof title, "ROC, %s, %s", kind_label(kind),
             seen_only ? "seen pairs" : "all pairs");
    wr_plot g;
    plot_init(&g, id, title, "false positive rate", "true positive rate");
    for (size_t i = 0; i < rep->n_models; i++) {
        const wr_eval_result *r = rep->models[i].r;
        wr_eval_auc a = {r->auc_all, r->auc_seen, r->deg_auc_all, r->deg_auc_seen};
        auc_label(label, sizeof label, rep->models[i].name, pick_auc(&a, r->primary, kind, seen_only));
        snprintf(tag, sizeof tag, "%zu", i);
        add_roc(&g, rep->v, r->seen, r->scores, kind, seen_only, r->unseen != WR_UNSEEN_ZERO,
                label, tag, plot_style(i, i));
    }
    if (r0->has_popularity) {
        auc_label(label, sizeof label, "popularity baseline",
                  pick_auc(&r0->popularity, r0->primary, kind, seen_only));
        add_roc(&g, rep->v, r0->seen, r0->popularity_scores, kind, seen_only,
                r0->unseen != WR_UNSEEN_ZERO, label, "popularity", plot_popularity);
    }
    double *dx = xmalloc(2 * sizeof *dx), *dy = xmalloc(2 * sizeof *dy);
    dx[0] = dy[0] = 0;
    dx[1] = dy[1] = 1;
    plot_add(&g, "chance (AUC 0.5)", "reference", dx, dy, 2, plot_reference);
    plot_write(f, &g);
    plot_free(&g);
}

static void threshold_figure(FILE *f, const wr_report *rep, int seen_only)
{
    int kind = rep->models[0].r->primary;
    char id[48], title[160], label[512], tag[24], score[32], xlabel[96];
    snprintf(id, sizeof id, "threshold-%s", seen_only ? "seen" : "all");
    snprintf(title, sizeof title, "Precision and recall against the threshold, %s",
             seen_only ? "seen pairs" : "all pairs");
    snprintf(xlabel, sizeof xlabel, "threshold: a pair is predicted related when %s >= it",
             common_score_name(rep, score, sizeof score));
    wr_plot g;
    plot_init(&g, id, title, xlabel, "precision, recall");
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < rep->n_models; i++) {
        const wr_eval_result *r = rep->models[i].r;
        size_t n, npos;
        scored *rows = set_rows(rep->v, r->seen, r->scores, kind, seen_only, 1, &n, &npos);
        double *t, *p, *q;
        size_t k = threshold_points(rows, n, npos, &t, &p, &q);
        free(rows);
        if (!k) {
            free(t);
            free(p);
            free(q);
            continue;
        }
        lo = fmin(lo, t[k - 1]);
        hi = fmax(hi, t[0]);
        double *t2 = xmalloc(k * sizeof *t2);
        memcpy(t2, t, k * sizeof *t2);
        snprintf(tag, sizeof tag, "%zu", i);
        snprintf(label, sizeof label, "%s: precision", rep->models[i].name);
        plot_add(&g, label, tag, t, p, k, plot_style(i, 0));
        snprintf(label, sizeof label, "%s: recall", rep->models[i].name);
        plot_add(&g, label, tag, t2, q, k, plot_style(i, WR_PLOT_DASH_SECOND));
    }
    plot_nice_range(lo, hi, &g.x0, &g.x1);
    plot_write(f, &g);
    plot_free(&g);
}

static void histogram_figure(FILE *f, const wr_report *rep, size_t m)
{
    const wr_labeled *v = rep->v;
    const wr_eval_result *r = rep->models[m].r;
    double *cls[3];
    size_t cnt[3] = {0};
    double lo = INFINITY, hi = -INFINITY;
    for (int c = 0; c < 3; c++)
        cls[c] = xmalloc((v->n + 1) * sizeof *cls[c]);
    for (size_t i = 0; i < v->n; i++) {
        if (!r->seen[i] || !isfinite(r->scores[i]))
            continue;
        int c = v->label[i] ? 0 : row_kind(v, i) == WR_NEG_DEGREE ? 2 : 1;
        cls[c][cnt[c]++] = r->scores[i];
        lo = fmin(lo, r->scores[i]);
        hi = fmax(hi, r->scores[i]);
    }
    char id[48], title[160], label[160];
    const char *score = score_name(rep->models[m].m);
    snprintf(id, sizeof id, "histogram-%zu", m);
    snprintf(title, sizeof title, "Scores of the seen pairs: %s", rep->models[m].name);
    wr_plot g;
    plot_init(&g, id, title, score, "share of the class's pairs per bin");
    plot_nice_range(lo, hi, &g.x0, &g.x1);
    static const char *const names[3] = {"held-out positives", "uniform negatives",
                                         "degree-matched negatives"};
    double top = 0;
    for (int c = 0; c < 3; c++) {
        if (!cnt[c])
            continue;
        double *x, *y;
        size_t k = histogram(cls[c], cnt[c], g.x0, g.x1, &x, &y);
        for (size_t i = 0; i < k; i++)
            top = fmax(top, y[i]);
        snprintf(label, sizeof label, "%s (%zu pairs)", names[c], cnt[c]);
        wr_plot_style st = plot_class((size_t)c);
        plot_add(&g, label, names[c], x, y, k, st);
    }
    plot_nice_range(0, top, &g.y0, &g.y1);
    g.y0 = 0;
    plot_write(f, &g);
    plot_free(&g);
    for (int c = 0; c < 3; c++)
        free(cls[c]);
}

/* The learning curve in a model's metadata, x in epochs. */
typedef struct lcurve {
    double *x, *all, *seen;
    size_t n;
    double epochs;
} lcurve;

static double jreal(json_t *j) { return json_is_number(j) ? json_number_value(j) : NAN; }

static int lcurve_load(const wr_model *m, lcurve *c)
{
    memset(c, 0, sizeof *c);
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    json_t *pts = json_object_get(meta, "learning_curve");
    size_t n = json_array_size(pts);
    if (!n) {
        json_decref(meta);
        return 0;
    }
    c->epochs = jreal(json_object_get(json_object_get(meta, "trainer"), "epochs"));
    if (!(c->epochs >= 1)) /* no trainer parameters: the last point's epoch */
        c->epochs = fmax(1, jreal(json_object_get(json_array_get(pts, n - 1), "epoch")));
    c->x = xmalloc(n * sizeof *c->x);
    c->all = xmalloc(n * sizeof *c->all);
    c->seen = xmalloc(n * sizeof *c->seen);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pts, i);
        c->x[i] = jreal(json_object_get(p, "progress")) * c->epochs;
        c->all[i] = jreal(json_object_get(p, "auc_all"));
        c->seen[i] = jreal(json_object_get(p, "auc_seen"));
    }
    c->n = n;
    json_decref(meta);
    return 1;
}

static double *copy(const double *x, size_t n)
{
    double *c = xmalloc((n + 1) * sizeof *c);
    memcpy(c, x, n * sizeof *c);
    return c;
}

/* Returns the number of models with a learning curve. */
static size_t learning_figure(FILE *f, const wr_report *rep)
{
    wr_plot g;
    plot_init(&g, "learning", "Learning curve: AUC during training", "epochs",
                "AUC (validation pairs given to train --val)");
    double top = 0, lo = INFINITY, hi = -INFINITY;
    char label[512], tag[24];
    size_t with = 0;
    for (size_t i = 0; i < rep->n_models; i++) {
        lcurve c;
        if (!lcurve_load(rep->models[i].m, &c))
            continue;
        with++;
        top = fmax(top, c.epochs);
        for (size_t j = 0; j < c.n; j++) {
            lo = fmin(lo, fmin(c.all[j], c.seen[j]));
            hi = fmax(hi, fmax(c.all[j], c.seen[j]));
        }
        snprintf(tag, sizeof tag, "%zu", i);
        snprintf(label, sizeof label, "%s: AUC all", rep->models[i].name);
        plot_add(&g, label, tag, copy(c.x, c.n), c.all, c.n, plot_style(i, 0));
        snprintf(label, sizeof label, "%s: AUC seen", rep->models[i].name);
        plot_add(&g, label, tag, c.x, c.seen, c.n, plot_style(i, WR_PLOT_DASH_SECOND));
    }
    if (with) {
        g.x0 = 0;
        g.x1 = top;
        g.integer_x = top >= 3;
        plot_nice_range(lo, hi, &g.y0, &g.y1);
        g.y0 = fmax(g.y0, 0);
        g.y1 = fmin(g.y1, 1);
        g.nv = top > 1 ? (size_t)top - 1 : 0;
        g.vlines = xmalloc((g.nv + 1) * sizeof *g.vlines);
        for (size_t e = 0; e < g.nv; e++)
            g.vlines[e] = (double)(e + 1);
        g.vlabel = "epoch boundary";
        plot_write(f, &g);
    }
    plot_free(&g);
    return with;
}

/* ---- the numbers ----------------------------------------------------------------------- */

/* One cell: key NULL = not available (no data-key); else the value under that JSON path. */
static void td_real(FILE *f, const char *prefix, const char *key, double x, int digits)
{
    if (!prefix) {
        fputs("<td class=\"na\">n/a</td>", f);
    } else if (!isfinite(x)) {
        fprintf(f, "<td data-key=\"%s%s\" data-value=\"null\">n/a</td>", prefix, key);
    } else {
        fprintf(f, "<td data-key=\"%s%s\" data-value=\"%.17g\">%.*f</td>", prefix, key, x,
                digits, x);
    }
}

static void td_count(FILE *f, const char *key, size_t n)
{
    fprintf(f, "<td data-key=\"%s\" data-value=\"%zu\">%zu</td>", key, n, n);
}

static void td_text(FILE *f, const char *key, const char *s)
{
    fprintf(f, "<td data-key=\"%s\" data-value=\"", key);
    plot_escape(f, s);
    fputs("\">", f);
    plot_escape(f, s);
    fputs("</td>", f);
}

/* A row of the model, popularity and probability columns; has[c] = 0 leaves c out. */
static void row3(FILE *f, const char *name, const char *key, const double v[3], const int has[3],
                 int digits)
{
    static const char *const prefix[3] = {"", "popularity.", "probability."};
    fputs("<tr><th scope=\"row\">", f);
    plot_escape(f, name);
    fputs("</th>", f);
    for (int c = 0; c < 3; c++)
        td_real(f, has[c] ? prefix[c] : NULL, key, v[c], digits);
    fputs("</tr>\n", f);
}

static void metrics_table(FILE *f, const wr_report *rep, const wr_eval_result *r)
{
    const size_t k = rep->o->k;
    const wr_eval_auc *pa = &r->popularity, *qa = &r->probability;
    const wr_eval_lists *pl = &r->popularity_lists;
    int pop = r->has_popularity, prob = r->has_probability, bias = isfinite(r->catalogue_log_degree);
    char name[64], key[64];
    fputs("<table class=\"numbers\">\n<tr><th></th><th scope=\"col\">model</th>"
          "<th scope=\"col\">popularity</th><th scope=\"col\">probability</th></tr>\n", f);
    row3(f, "AUC all", "auc_all", (double[3]){r->auc_all, pa->all, qa->all},
         (int[3]){1, pop, prob}, 4);
    row3(f, "AUC seen", "auc_seen", (double[3]){r->auc_seen, pa->seen, qa->seen},
         (int[3]){1, pop, prob}, 4);
    if (r->negatives_degree) {
        row3(f, "AUC all, degree-matched negatives", "degree_negatives.auc_all",
             (double[3]){r->deg_auc_all, pa->degree_all, qa->degree_all}, (int[3]){1, pop, prob}, 4);
        row3(f, "AUC seen, degree-matched negatives", "degree_negatives.auc_seen",
             (double[3]){r->deg_auc_seen, pa->degree_seen, qa->degree_seen},
             (int[3]){1, pop, prob}, 4);
    }
    snprintf(name, sizeof name, "recall@%zu", k);
    snprintf(key, sizeof key, "recall_at_%zu", k);
    row3(f, name, key, (double[3]){r->recall_at_k, pl->recall, NAN}, (int[3]){1, pop, 0}, 4);
    snprintf(name, sizeof name, "NDCG@%zu", k);
    snprintf(key, sizeof key, "ndcg_at_%zu", k);
    row3(f, name, key, (double[3]){r->ndcg_at_k, pl->ndcg, NAN}, (int[3]){1, pop, 0}, 4);
    snprintf(name, sizeof name, "coverage@%zu", k);
    snprintf(key, sizeof key, "coverage_at_%zu", k);
    row3(f, name, key, (double[3]){r->coverage_at_k, pl->coverage, NAN}, (int[3]){1, pop, 0}, 4);
    snprintf(name, sizeof name, "mean log-degree@%zu", k);
    row3(f, name, "popularity_bias.recommended",
         (double[3]){r->mean_log_degree, pl->mean_log_degree, NAN}, (int[3]){bias, pop, 0}, 4);
    row3(f, "catalogue mean log-degree", "popularity_bias.catalogue",
         (double[3]){r->catalogue_log_degree, r->catalogue_log_degree, NAN},
         (int[3]){bias, pop, 0}, 4);
    if (prob) {
        row3(f, "Brier score", "brier", (double[3]){NAN, NAN, r->brier}, (int[3]){0, 0, 1}, 4);
        row3(f, "Brier score of the base rate", "brier_constant",
             (double[3]){NAN, NAN, r->brier_constant}, (int[3]){0, 0, 1}, 4);
        row3(f, "expected calibration error", "ece", (double[3]){NAN, NAN, r->ece},
             (int[3]){0, 0, 1}, 4);
        row3(f, "ECE, all pairs (unseen imputed)", "ece_all", (double[3]){NAN, NAN, r->ece_all},
             (int[3]){0, 0, 1}, 4);
        fputs("<tr><th scope=\"row\">pairs in the Brier score</th><td class=\"na\">n/a</td>"
              "<td class=\"na\">n/a</td>", f);
        td_count(f, "probability.brier_pairs", r->brier_pairs);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void counts_table(FILE *f, const wr_report *rep, const wr_eval_result *r)
{
    fputs("<table class=\"numbers\">\n<tr><th scope=\"row\">pairs</th>", f);
    td_count(f, "pairs", rep->v->n);
    fputs("<th scope=\"row\">seen</th>", f);
    td_count(f, "pairs_seen", r->pairs_seen);
    fputs("<th scope=\"row\">unseen</th>", f);
    td_count(f, "pairs_unseen", r->pairs_unseen);
    fputs("</tr>\n<tr><th scope=\"row\">held-out positives</th>", f);
    td_count(f, "negatives.positives", r->positives);
    fputs("<th scope=\"row\">uniform negatives</th>", f);
    td_count(f, "negatives.uniform", r->negatives_uniform);
    fputs("<th scope=\"row\">degree-matched negatives</th>", f);
    td_count(f, "negatives.degree", r->negatives_degree);
    fputs("</tr>\n<tr><th scope=\"row\">negatives in AUC all, seen</th>", f);
    td_text(f, "negatives.primary", split_negatives_name(r->primary));
    fputs("<th scope=\"row\">queries</th>", f);
    td_count(f, "queries", r->queries);
    fputs("<th scope=\"row\">of query items</th>", f);
    td_count(f, "query_items", r->query_items);
    fputs("<th scope=\"row\">lists ranked by</th>", f);
    td_text(f, "rank", rank_name(r->rank));
    fputs("</tr>\n<tr><th scope=\"row\">k</th>", f);
    td_count(f, "k", rep->o->k);
    fputs("<th scope=\"row\">sampling seed</th>", f);
    fprintf(f, "<td data-key=\"seed\" data-value=\"%llu\">%llu</td>",
            (unsigned long long)rep->o->seed, (unsigned long long)rep->o->seed);
    fputs("<th scope=\"row\">pairs with an unseen item</th>", f);
    td_text(f, "unseen", eval_unseen_name(r->unseen));
    fputs("</tr>\n<tr><th scope=\"row\">MMR lambda</th>", f);
    td_real(f, "diversity.", "lambda", rep->o->diversity, 2);
    fputs("<th scope=\"row\">at most per value</th>", f);
    td_count(f, "diversity.max_per", rep->o->max_per);
    fputs("<th scope=\"row\">intra-list similarity</th>", f);
    td_real(f, "diversity.", "ils", r->ils, 4);
    fputs("</tr>\n<tr><th scope=\"row\">attribute entropy (bits)</th>", f);
    td_real(f, "diversity.", "attribute_entropy", r->attr_entropy, 4);
    fputs("</tr>\n</table>\n", f);
}

static void reliability_table(FILE *f, const wr_eval_result *r)
{
    char key[64];
    fputs("<table class=\"numbers\">\n<tr><th scope=\"col\">predicted from</th>"
          "<th scope=\"col\">to</th><th scope=\"col\">pairs</th>"
          "<th scope=\"col\">mean predicted</th><th scope=\"col\">observed</th></tr>\n", f);
    for (int b = 0; b < WR_EVAL_BINS; b++) {
        const wr_reliability_bin *x = &r->reliability[b];
        fputs("<tr>", f);
        snprintf(key, sizeof key, "%d.lo", b);
        td_real(f, "probability.reliability.", key, x->lo, 1);
        snprintf(key, sizeof key, "%d.hi", b);
        td_real(f, "probability.reliability.", key, x->hi, 1);
        snprintf(key, sizeof key, "probability.reliability.%d.count", b);
        td_count(f, key, x->count);
        snprintf(key, sizeof key, "%d.mean_predicted", b);
        td_real(f, "probability.reliability.", key, x->mean_predicted, 4);
        snprintf(key, sizeof key, "%d.observed", b);
        td_real(f, "probability.reliability.", key, x->observed, 4);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The logistic model's coefficients, named as calib.h defines its features. */
static void coef_table(FILE *f, const wr_eval_result *r)
{
    static const char *const names[WR_CALIB_NFEAT] = {
        "w0 (intercept)", "w1 (cosine)", "w2 (log-degree sum)", "w3 (|log-degree difference|)"};
    char key[16];
    fputs("<table class=\"numbers\">\n<tr>", f);
    for (int i = 0; i < WR_CALIB_NFEAT; i++)
        fprintf(f, "<th scope=\"col\">%s</th>", names[i]);
    fputs("</tr>\n<tr>", f);
    for (int i = 0; i < WR_CALIB_NFEAT; i++) {
        snprintf(key, sizeof key, "%d", i);
        td_real(f, "probability.coef.", key, r->calib.coef[i], 4);
    }
    fputs("</tr>\n</table>\n", f);
}

/* obj[key] as a number, NaN when it is not one (null: not computed). */
static double number(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The model's edge weighting and, when its training chose it, both slice AUCs
 * (pipeline.h), under the keys of eval --json. */
static void edge_weight_table(FILE *f, const wr_model *m)
{
    json_t *meta = json_loads(m->meta_json ? m->meta_json : "{}", 0, NULL);
    const char *ew = json_string_value(json_object_get(meta, "edge_weight"));
    json_t *c = json_object_get(meta, "edge_weight_choice");
    json_t *auc = json_object_get(c, "slice_cosine_auc");
    const char *chosen = json_string_value(json_object_get(c, "chosen"));
    if (ew) {
        fputs("<table class=\"numbers\">\n<tr><th scope=\"row\">edge weight</th>", f);
        td_text(f, "edge_weight", ew);
        if (chosen && json_is_object(auc)) {
            fputs("<th scope=\"row\">chosen in training by slice cosine AUC</th>", f);
            td_text(f, "edge_weight_choice.chosen", chosen);
            fputs("<th scope=\"row\">lift</th>", f);
            td_real(f, "edge_weight_choice.slice_cosine_auc.", "lift", number(auc, "lift"), 4);
            fputs("<th scope=\"row\">raw</th>", f);
            td_real(f, "edge_weight_choice.slice_cosine_auc.", "raw", number(auc, "raw"), 4);
        }
        fputs("</tr>\n</table>\n", f);
    }
    json_decref(meta);
}

static void numbers_section(FILE *f, const wr_report *rep, size_t i)
{
    const wr_eval_result *r = rep->models[i].r;
    fprintf(f, "<section class=\"model-numbers\" data-model=\"%zu\">\n<h3>", i);
    plot_escape(f, rep->models[i].name);
    fputs("</h3>\n", f);
    counts_table(f, rep, r);
    edge_weight_table(f, rep->models[i].m);
    metrics_table(f, rep, r);
    if (!r->has_popularity)
        note(f, "Popularity baseline: unavailable, it needs the training pairs (--train) for "
                "the degrees.");
    if (r->has_probability) {
        note(f, "Reliability of the calibrated probability (eval.h), and the coefficients of "
                "its logistic model (calib.h).");
        reliability_table(f, r);
        coef_table(f, r);
    } else {
        note(f, "Probability: unavailable, the model carries no calibration.");
    }
    fputs("</section>\n", f);
}

/* ---- the page -------------------------------------------------------------------------- */

static void describe_model(FILE *f, const wr_report_model *rm)
{
    json_t *meta = json_loads(rm->m->meta_json, 0, NULL);
    json_t *t = json_object_get(meta, "trainer"), *w = json_object_get(meta, "walks");
    json_t *ew = json_object_get(meta, "edge_weight");
    fputs("<li><b>", f);
    plot_escape(f, rm->name);
    fprintf(f, "</b>: %u items, %u dimensions", rm->m->n, rm->m->dim);
    if (json_is_object(w))
        fprintf(f, "; %lld walks of %lld per item",
                (long long)json_integer_value(json_object_get(w, "walks_per_item")),
                (long long)json_integer_value(json_object_get(w, "length")));
    if (json_is_string(ew)) {
        fputs(", edge weight ", f);
        plot_escape(f, json_string_value(ew));
    }
    if (json_is_object(t)) {
        const char *mode = json_string_value(json_object_get(t, "mode"));
        const char *sched = json_string_value(json_object_get(t, "lr_schedule"));
        fputs("; ", f);
        plot_escape(f, mode ? mode : "?");
        fprintf(f, ", %lld epochs, learning rate %g (", 
                (long long)json_integer_value(json_object_get(t, "epochs")),
                jreal(json_object_get(t, "lr")));
        plot_escape(f, sched ? sched : "?");
        fputs(")", f);
    } else {
        fputs("; no training parameters in its metadata (imported?)", f);
    }
    fputs("; pairs scored by ", f);
    plot_escape(f, score_name(rm->m));
    fputs(rm->r->has_probability ? "; calibrated" : "; not calibrated", f);
    fputs(".</li>\n", f);
    json_decref(meta);
}

static const char *const css =
    "body{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif;color:#222;"
    "max-width:760px;margin:1.5em auto;padding:0 1em;line-height:1.45}"
    "h1{font-size:1.6em}h2{font-size:1.3em;margin-top:1.8em;border-bottom:1px solid #ccc}"
    "h3{font-size:1.1em}svg.figure{display:block;margin:1.2em 0 0.3em;max-width:100%;height:auto}"
    "p.note{color:#555;font-size:0.92em;margin:0.2em 0 1.2em}"
    "table.numbers{border-collapse:collapse;margin:0.6em 0;font-size:0.95em}"
    "table.numbers th,table.numbers td{border:1px solid #ccc;padding:0.25em 0.6em}"
    "table.numbers td{text-align:right;font-variant-numeric:tabular-nums}"
    "table.numbers th{text-align:left;background:#f4f4f4;font-weight:normal}"
    "td.na{color:#999}code{font-size:0.95em}";

static void header(FILE *f, const wr_report *rep)
{
    const wr_eval_result *r0 = rep->models[0].r;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>walkrec evaluation: ");
    plot_escape(f, rep->models[0].name);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>walkrec evaluation</h1>\n"
            "<p>Validation pairs <code>", css);
    plot_escape(f, rep->val_path);
    fprintf(f, "</code>: %zu pairs, %zu held-out positives, %zu uniform and %zu degree-matched "
            "negatives. ", rep->v->n, r0->positives, r0->negatives_uniform, r0->negatives_degree);
    if (rep->train_path) {
        fputs("Training pairs <code>", f);
        plot_escape(f, rep->train_path);
        fputs("</code>: their neighbours are left out of the rankings and their degrees make "
              "the popularity baseline.</p>\n", f);
    } else {
        fputs("No training pairs given (<code>--train</code>): no popularity baseline.</p>\n", f);
    }
    fputs("<ul>\n", f);
    for (size_t i = 0; i < rep->n_models; i++)
        describe_model(f, &rep->models[i]);
    fputs("</ul>\n", f);
}

static void roc_section(FILE *f, const wr_report *rep)
{
    const wr_eval_result *r0 = rep->models[0].r;
    fputs("<h2>ROC</h2>\n", f);
    roc_figure(f, rep, r0->primary, 0);
    note(f, "All pairs: a pair with an item missing from the model scores the median of the "
            "seen pairs, as in AUC all; those ties make a straight segment. The popularity "
            "baseline scores log(1 + degree a) + log(1 + degree b) with training degrees.");
    roc_figure(f, rep, r0->primary, 1);
    note(f, "Seen pairs: both items are in the model (for the baseline: in the first model).");
    if (r0->primary == WR_NEG_UNIFORM && r0->negatives_degree) {
        roc_figure(f, rep, WR_NEG_DEGREE, 0);
        roc_figure(f, rep, WR_NEG_DEGREE, 1);
        note(f, "Degree-matched negatives draw each item in proportion to its degree, as the "
                "held-out pairs' items are drawn, so popularity alone scores about 0.5 on "
                "them (split.h).");
    }
}

static void threshold_section(FILE *f, const wr_report *rep)
{
    const wr_eval_result *r0 = rep->models[0].r;
    char text[512];
    fputs("<h2>Precision and recall against the threshold</h2>\n", f);
    threshold_figure(f, rep, 0);
    threshold_figure(f, rep, 1);
    snprintf(text, sizeof text, "Over the held-out positives and the %s only (%zu + %zu "
             "pairs), as for AUC all; precision depends on that mix. All pairs: unseen pairs at "
             "the median score, so recall jumps where the threshold passes it.",
             kind_label(r0->primary), r0->positives,
             r0->primary == WR_NEG_DEGREE ? r0->negatives_degree : r0->negatives_uniform);
    note(f, text);
}

int report_write(FILE *f, const wr_report *rep, wr_err *err)
{
    header(f, rep);
    roc_section(f, rep);
    threshold_section(f, rep);
    fputs("<h2>Score histograms</h2>\n", f);
    for (size_t i = 0; i < rep->n_models; i++)
        histogram_figure(f, rep, i);
    note(f, "Seen pairs only (an unseen pair has no score of its own); each class as the share "
            "of its pairs per bin, so classes of different sizes compare.");
    fputs("<h2>Learning curve</h2>\n", f);
    if (learning_figure(f, rep))
        note(f, "Recorded by <code>walkrec train --val</code> in the model's metadata: AUC over "
                "the validation file given to the training (not necessarily this one), at "
                "evenly spaced points of the run (one marker each). Solid: all pairs; short "
                "dashes: seen pairs.");
    for (size_t i = 0; i < rep->n_models; i++) {
        lcurve c;
        if (lcurve_load(rep->models[i].m, &c)) {
            free(c.x);
            free(c.all);
            free(c.seen);
            continue;
        }
        fputs("<p class=\"note\">", f);
        plot_escape(f, rep->models[i].name);
        fputs(": no learning curve (trained without <code>--val</code>).</p>\n", f);
    }
    fputs("<h2>Numbers</h2>\n", f);
    note(f, "The numbers of <code>walkrec eval --json</code> for each model (definitions in "
            "include/walkrec/eval.h).");
    for (size_t i = 0; i < rep->n_models; i++)
        numbers_section(f, rep, i);
    fputs("</body>\n</html>\n", f);
    if (ferror(f) || fflush(f) != 0)
        return wr_fail(err, "report: write failed");
    return 0;
}
