/* calib.c - the calibrated pair probability: fitting, storing in a model, reading back,
 * ranking by it. (Choosing the lists' order evaluates, so pipeline.c does it.)
 *
 * Five coefficients and a few thousand pairs: Newton's method on the exact Hessian
 * converges in a handful of steps, and a 5 x 5 Cholesky solve is all the linear algebra
 * needed. The model and definitions are in calib.h. Ranking by probability needs every
 * candidate's logit, so it scans blocked products itself rather than using knn_topk. */
#include "walkrec/calib.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "walkrec/rank.h"

#define NF WR_CALIB_NFEAT

static const char *feature_names[NF] = {"1", "cos", "logpop_sum", "logpop_absdiff",
                                        "hub_product"};
#define BIAS_NAME "log1p_weighted_degree"
/* Models written before the hub term: the same first four features over plain degrees. */
#define OLD_NF 4
static const char *old_feature_names[OLD_NF] = {"1", "cos", "logdeg_sum", "logdeg_absdiff"};
#define OLD_BIAS_NAME "log1p_degree"

void calib_features(double cos, double la, double lb, double hub_ab, double x[NF])
{
    x[0] = 1;
    x[1] = cos;
    x[2] = la + lb;
    x[3] = fabs(la - lb);
    x[4] = hub_ab;
}

/* log(pi / (1 - pi)) for the stated positive rate pi: the odds of the balanced population
 * the scale was fitted on (1) times the deployment's prior odds (Bayes' rule for a changed
 * base rate, the class-conditional densities kept). */
static double prior_shift(const wr_calib *c)
{
    double pi = c->positive_rate;
    return pi > 0 && pi < 1 ? log(pi / (1 - pi)) : 0;
}

/* The five-term logit of one feature row, before scale and prior. */
static double linear(const double *coef, const double *x)
{
    double z = 0;
    for (int j = 0; j < NF; j++)
        z += coef[j] * x[j];
    return z;
}

double calib_logit(const wr_calib *c, double cos, double la, double lb, double hub_ab)
{
    double x[NF];
    calib_features(cos, la, lb, hub_ab, x);
    return (c->scale_a > 0 ? c->scale_a : 1) * linear(c->coef, x) + c->scale_b + prior_shift(c);
}

void calib_terms(const wr_calib *c, double cos, double la, double lb, double hub_ab,
                 double terms[NF])
{
    double x[NF], a = c->scale_a > 0 ? c->scale_a : 1;
    calib_features(cos, la, lb, hub_ab, x);
    for (int j = 0; j < NF; j++)
        terms[j] = a * c->coef[j] * x[j];
    terms[0] += c->scale_b + prior_shift(c);
}

/* The logistic function without overflow for large |z|. */
static double sigmoid(double z)
{
    if (z >= 0)
        return 1 / (1 + exp(-z));
    double e = exp(z);
    return e / (1 + e);
}

double calib_prob(const wr_calib *c, double cos, double la, double lb, double hub_ab)
{
    return sigmoid(calib_logit(c, cos, la, lb, hub_ab));
}

/* Cosine of row r to the centre (0 without one). */
double calib_hub(const wr_calib *c, uint32_t r)
{
    return c->hub ? c->hub[r] : 0;
}

double calib_prob_rows(const wr_calib *c, double cos, const float *logdeg, uint32_t a,
                       uint32_t b)
{
    return calib_prob(c, cos, logdeg[a], logdeg[b], calib_hub(c, a) * calib_hub(c, b));
}

void calib_free(wr_calib *c)
{
    free(c->center);
    free(c->hub);
    c->center = c->hub = NULL;
}

/* Solves A s = b for a symmetric positive definite A (NF x NF, destroyed); -1 when A is
 * not numerically positive definite. */
static int cholesky_solve(double a[NF][NF], const double b[NF], double s[NF])
{
    for (int j = 0; j < NF; j++) {
        double d = a[j][j];
        for (int k = 0; k < j; k++)
            d -= a[j][k] * a[j][k];
        if (!(d > 0))
            return -1;
        a[j][j] = sqrt(d);
        for (int i = j + 1; i < NF; i++) {
            double v = a[i][j];
            for (int k = 0; k < j; k++)
                v -= a[i][k] * a[j][k];
            a[i][j] = v / a[j][j];
        }
    }
    double t[NF];
    for (int i = 0; i < NF; i++) {
        double v = b[i];
        for (int k = 0; k < i; k++)
            v -= a[i][k] * t[k];
        t[i] = v / a[i][i];
    }
    for (int i = NF - 1; i >= 0; i--) {
        double v = t[i];
        for (int k = i + 1; k < NF; k++)
            v -= a[k][i] * s[k];
        s[i] = v / a[i][i];
    }
    return 0;
}

/* Penalised weighted log-likelihood of coef. */
static double objective(const double *coef, const double *x, const uint8_t *y, const double *w,
                        size_t n, double lambda)
{
    double ll = 0;
    for (size_t i = 0; i < n; i++) {
        double z = linear(coef, x + i * NF);
        /* log sigmoid(+-z) computed stably */
        double m = y[i] ? -z : z;
        ll -= w[i] * (m > 0 ? m + log1p(exp(-m)) : log1p(exp(m)));
    }
    for (int j = 1; j < NF; j++)
        ll -= 0.5 * lambda * coef[j] * coef[j];
    return ll;
}

/* One Newton direction at coef: gradient and Hessian of the objective. */
static int newton_step(const double *coef, const double *x, const uint8_t *y, const double *w,
                       size_t n, double lambda, double step[NF])
{
    double g[NF] = {0}, h[NF][NF] = {{0}};
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * NF;
        double p = sigmoid(linear(coef, xi)), r = w[i] * ((y[i] != 0) - p), v = w[i] * p * (1 - p);
        for (int j = 0; j < NF; j++) {
            g[j] += r * xi[j];
            for (int k = 0; k <= j; k++)
                h[j][k] += v * xi[j] * xi[k];
        }
    }
    for (int j = 1; j < NF; j++) {
        g[j] -= lambda * coef[j];
        h[j][j] += lambda;
    }
    for (int j = 0; j < NF; j++)
        for (int k = j + 1; k < NF; k++)
            h[j][k] = h[k][j];
    return cholesky_solve(h, g, step);
}

static void fit_brier(wr_calib *c, const double *x, const uint8_t *y, const double *w, size_t n)
{
    double sw = 0, swy = 0, b = 0, sc = 0, sh = 0;
    for (size_t i = 0; i < n; i++) {
        sc += w[i] * x[i * NF + 1];
        sh += w[i] * x[i * NF + 4];
        double e = sigmoid(linear(c->coef, x + i * NF)) - (y[i] != 0);
        b += w[i] * e * e;
        sw += w[i];
        swy += w[i] * (y[i] != 0);
    }
    double base = swy / sw;
    c->cos_mean = sc / sw;
    c->hub_mean = sh / sw;
    c->brier = b / sw;
    c->brier_constant = base * (1 - base);
}

int calib_fit(wr_calib *c, const double *x, const uint8_t *y, const double *w, size_t n,
              wr_err *err)
{
    memset(c->coef, 0, sizeof c->coef);
    c->iterations = 0;
    c->scale_a = 1; /* no scale and the balanced population: fit_scale and the caller */
    c->scale_b = 0;
    c->positive_rate = 0.5;
    double wpos = 0, wneg = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] > 0 && isfinite(w[i])))
            return wr_fail(err, "calibration: weight %zu is %g, not a positive number", i, w[i]);
        for (int j = 0; j < NF; j++)
            if (!isfinite(x[i * NF + j]))
                return wr_fail(err, "calibration: feature %d of pair %zu is not finite", j, i);
        *(y[i] ? &wpos : &wneg) += w[i];
    }
    if (wpos == 0 || wneg == 0)
        return wr_fail(err, "calibration: needs related and unrelated pairs, got %s",
                       wpos == 0 ? "no related ones" : "no unrelated ones");
    double lambda = 1e-6 * (wpos + wneg);
    /* start at the base rate: every step from there is a descent direction */
    c->coef[0] = log(wpos / wneg);
    double f = objective(c->coef, x, y, w, n, lambda);
    for (int it = 0; it < 100; it++) {
        double step[NF], next[NF], t = 1, fn;
        if (newton_step(c->coef, x, y, w, n, lambda, step) < 0)
            return wr_fail(err, "calibration: the features are degenerate (singular Hessian)");
        /* halve until the objective does not get worse: Newton can overshoot far out */
        do {
            for (int j = 0; j < NF; j++)
                next[j] = c->coef[j] + t * step[j];
            fn = objective(next, x, y, w, n, lambda);
            t /= 2;
        } while (fn < f && t > 1e-10);
        double moved = 0;
        for (int j = 0; j < NF; j++)
            moved = fmax(moved, fabs(next[j] - c->coef[j]));
        if (fn >= f) {
            memcpy(c->coef, next, sizeof next);
            f = fn;
        }
        c->iterations = it + 1;
        if (moved < 1e-9)
            break;
    }
    fit_brier(c, x, y, w, n);
    return 0;
}

void calib_fit_scale(const double *z, const uint8_t *y, const double *w, size_t n, double *a,
                     double *b)
{
    double p[2] = {1, 0}, sw = 0;
    for (size_t i = 0; i < n; i++)
        sw += w[i];
    double lambda = 1e-6 * sw;
    for (int it = 0; it < 50; it++) {
        double g[2] = {-lambda * p[0], -lambda * p[1]}, h[3] = {lambda, 0, lambda};
        for (size_t i = 0; i < n; i++) {
            double q = sigmoid(p[0] * z[i] + p[1]), r = w[i] * ((y[i] != 0) - q);
            double v = w[i] * q * (1 - q);
            g[0] += r * z[i];
            g[1] += r;
            h[0] += v * z[i] * z[i];
            h[1] += v * z[i];
            h[2] += v;
        }
        double det = h[0] * h[2] - h[1] * h[1];
        if (!(det > 0))
            break;
        double d0 = (h[2] * g[0] - h[1] * g[1]) / det, d1 = (h[0] * g[1] - h[1] * g[0]) / det;
        p[0] += d0;
        p[1] += d1;
        if (fabs(d0) + fabs(d1) < 1e-10)
            break;
    }
    int ok = isfinite(p[0]) && isfinite(p[1]) && p[0] > 0;
    *a = ok ? p[0] : 1;
    *b = ok ? p[1] : 0;
}

/* The scale of c on the slice's related pairs and uniform negatives, each class weighing
 * the same (calib.h, calib_fit_scale). */
static void fit_scale(wr_calib *c, const double *x, const uint8_t *kind, size_t n,
                      const size_t count[3])
{
    double *z = xmalloc((n + 1) * sizeof *z), *w = xmalloc((n + 1) * sizeof *w);
    uint8_t *y = xmalloc(n + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (kind[i] > 1)
            continue;
        z[m] = linear(c->coef, x + i * NF);
        y[m] = kind[i] == 0;
        w[m++] = 1.0 / (double)count[kind[i]];
    }
    c->scale_a = 1;
    c->scale_b = 0;
    if (count[0] && count[1])
        calib_fit_scale(z, y, w, m, &c->scale_a, &c->scale_b);
    c->scale_pairs = m;
    free(z);
    free(w);
    free(y);
}

/* Weight of the pair {a, b} (a < b) in a merged pair set, which is sorted by (a, b). */
static float pair_weight(const wr_pairs *p, uint32_t a, uint32_t b)
{
    uint64_t k = (uint64_t)a << 32 | b;
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t m = (uint64_t)p->v[mid].a << 32 | p->v[mid].b;
        if (m < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n && p->v[lo].a == a && p->v[lo].b == b ? p->v[lo].w : 1.0f;
}

/* Gives back to the trainer every held-out pair with an item the rest no longer has a pair
 * for: holding it out would leave that item untrained (a random vector) in the final model,
 * and a pair eval can see always has both items in training. Then drops the negatives that
 * name an item still without pairs (only ids of the input without any pair). */
static void keep_items_trained(const wr_pairs *p, wr_calib_data *cd)
{
    wr_valset *h = &cd->held;
    uint32_t *deg = pairs_degree(&cd->train);
    size_t w = 0;
    for (size_t i = 0; i < h->n; i++) {
        int orphan = !deg[h->a[i]] || !deg[h->b[i]];
        if (orphan && h->label[i])
            pairs_add_idx(&cd->train, h->a[i], h->b[i], pair_weight(p, h->a[i], h->b[i]));
        if (orphan)
            continue;
        h->a[w] = h->a[i];
        h->b[w] = h->b[i];
        h->label[w] = h->label[i];
        h->kind[w++] = h->kind[i];
    }
    h->n = w;
    free(deg);
    pairs_merge(&cd->train);
}

int calib_prepare(const wr_pairs *p, double frac, uint64_t seed, wr_calib_data *cd,
                  wr_err *err)
{
    memset(cd, 0, sizeof *cd);
    wr_split_opts so = {.val_frac = frac, .seed = seed, .negatives = WR_NEG_BOTH};
    wr_err why;
    if (split_pairs(p, &so, &cd->train, &cd->held, &why) < 0)
        return wr_fail(err, "calibration slice: %s", why.msg);
    keep_items_trained(p, cd);
    cd->weight = pairs_weighted_degree(&cd->train);
    return 0;
}

void calib_data_free(wr_calib_data *cd)
{
    pairs_free(&cd->train);
    split_valset_free(&cd->held);
    free(cd->weight);
    memset(cd, 0, sizeof *cd);
}

/* Cosine of model row r to the vector x of unit length (double precision). */
static double cosine_to(const wr_model *m, uint32_t r, const float *x)
{
    const float *v = m->vecs + (size_t)r * m->dim;
    double s = 0, nv = 0;
    for (uint32_t d = 0; d < m->dim; d++) {
        s += (double)v[d] * x[d];
        nv += (double)v[d] * v[d];
    }
    return nv > 0 ? s / sqrt(nv) : 0;
}

static double cosine_rows(const wr_model *m, int64_t a, int64_t b)
{
    const float *x = m->vecs + (size_t)a * m->dim, *y = m->vecs + (size_t)b * m->dim;
    double s = 0, nx = 0, ny = 0;
    for (uint32_t d = 0; d < m->dim; d++) {
        s += (double)x[d] * y[d];
        nx += (double)x[d] * x[d];
        ny += (double)y[d] * y[d];
    }
    return nx > 0 && ny > 0 ? s / sqrt(nx * ny) : 0;
}

/* The centre: the mean of the model's unit rows, scaled to unit length; NULL when it is 0
 * (no direction to speak of). */
static float *mean_direction(const wr_model *m)
{
    double *sum = xcalloc(m->dim, sizeof *sum), len = 0;
    for (uint32_t r = 0; r < m->n; r++) {
        const float *v = m->vecs + (size_t)r * m->dim;
        double nv = 0;
        for (uint32_t d = 0; d < m->dim; d++)
            nv += (double)v[d] * v[d];
        for (uint32_t d = 0; nv > 0 && d < m->dim; d++)
            sum[d] += v[d] / sqrt(nv);
    }
    for (uint32_t d = 0; d < m->dim; d++)
        len += sum[d] * sum[d];
    float *center = NULL;
    if (len > 0) {
        center = xmalloc(m->dim * sizeof *center);
        for (uint32_t d = 0; d < m->dim; d++)
            center[d] = (float)(sum[d] / sqrt(len));
    }
    free(sum);
    return center;
}

/* Every row's cosine to c->center into c->hub (left NULL without a centre). */
static void compute_hubs(const wr_model *m, wr_calib *c)
{
    c->n = m->n;
    if (!c->center)
        return;
    c->hub = xmalloc(((size_t)m->n + 1) * sizeof *c->hub);
    for (uint32_t r = 0; r < m->n; r++)
        c->hub[r] = (float)cosine_to(m, r, c->center);
}

/* The features of the slice's pairs whose items are both in the model (x, y, kind: 0
 * related, 1 uniform, 2 degree-matched negative); returns how many. */
static size_t slice_features(const wr_model *m, const wr_calib_data *cd, const float *center,
                             double *x, uint8_t *y, uint8_t *kind, size_t count[3])
{
    const wr_valset *h = &cd->held;
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++) {
        const char *ia = dict_str(cd->train.ids, h->a[i]), *ib = dict_str(cd->train.ids, h->b[i]);
        int64_t ra = model_find(m, ia), rb = model_find(m, ib);
        if (ra < 0 || rb < 0)
            continue;
        double hub = center ? cosine_to(m, (uint32_t)ra, center) *
                              cosine_to(m, (uint32_t)rb, center) : 0;
        calib_features(cosine_rows(m, ra, rb), log1p(cd->weight[h->a[i]]),
                       log1p(cd->weight[h->b[i]]), hub, x + n * NF);
        y[n] = h->label[i];
        kind[n] = h->label[i] ? 0 : 1 + (h->kind[i] == WR_NEG_DEGREE);
        count[kind[n++]]++;
    }
    return n;
}

int calib_finish(wr_model *m, const wr_calib_data *cd, wr_calib *out, wr_err *err)
{
    const wr_valset *h = &cd->held;
    double *x = xmalloc((h->n + 1) * NF * sizeof *x), *w = xmalloc((h->n + 1) * sizeof *w);
    uint8_t *y = xmalloc(h->n + 1), *kind = xmalloc(h->n + 1);
    size_t count[3] = {0};
    wr_calib c = {.center = mean_direction(m)};
    size_t n = slice_features(m, cd, c.center, x, y, kind, count);
    /* each class weighs its count of positives, the negatives split 3:1 by kind, whatever
     * the counts left after keep_items_trained */
    const double share[3] = {1, WR_CALIB_UNIFORM_WEIGHT, 1 - WR_CALIB_UNIFORM_WEIGHT};
    for (size_t i = 0; i < n; i++)
        w[i] = share[kind[i]] * (double)count[0] / (double)count[kind[i]];
    int rc = count[0] && count[1] && count[2] ? calib_fit(&c, x, y, w, n, err)
             : wr_fail(err, "calibration: the held-out slice lacks %s",
                       !count[0] ? "related pairs" : "negatives of both kinds");
    if (rc == 0)
        fit_scale(&c, x, kind, n, count);
    c.positive_rate = cd->positive_rate > 0 ? cd->positive_rate : 0.5;
    free(x);
    free(w);
    free(y);
    free(kind);
    c.positives = count[0];
    c.uniform = count[1];
    c.degree = count[2];
    c.rank = WR_RANK_PROBABILITY;
    c.rank_recall_cosine = c.rank_recall_probability = NAN;
    if (rc == 0)
        calib_store(m, &c, cd->train.ids, cd->weight);
    if (rc == 0 && out)
        *out = c;
    else
        free(c.center);
    return rc;
}

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* only allocation fails here */
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *fit_json(const wr_calib *c)
{
    json_t *fit = json_object();
    jset(fit, "positives", json_integer((json_int_t)c->positives));
    jset(fit, "uniform_negatives", json_integer((json_int_t)c->uniform));
    jset(fit, "degree_negatives", json_integer((json_int_t)c->degree));
    jset(fit, "uniform_weight", json_real(WR_CALIB_UNIFORM_WEIGHT));
    jset(fit, "brier", jnum(c->brier));
    jset(fit, "brier_constant", jnum(c->brier_constant));
    jset(fit, "iterations", json_integer(c->iterations));
    return fit;
}

static json_t *ranking_json(const wr_calib *c)
{
    json_t *r = json_object(), *rec = json_object();
    jset(r, "best", json_string(rank_name(c->rank)));
    jset(r, "queries", json_integer((json_int_t)c->rank_queries));
    jset(rec, "cosine", jnum(c->rank_recall_cosine));
    jset(rec, "probability", jnum(c->rank_recall_probability));
    jset(r, "recall_at_10", rec);
    return r;
}

void calib_store(wr_model *m, const wr_calib *c, const wr_dict *ids, const double *weight)
{
    free(m->bias);
    m->bias = xmalloc_aligned(((size_t)m->n + 1) * sizeof *m->bias);
    for (uint32_t r = 0; r < m->n; r++) {
        int64_t i = dict_find(ids, dict_str(m->ids, r), dict_strlen(m->ids, r));
        m->bias[r] = i < 0 ? 0.0f : (float)log1p(weight[i]);
    }
    json_t *meta = json_loads(m->meta_json ? m->meta_json : "{}", 0, NULL);
    if (!json_is_object(meta)) {
        json_decref(meta);
        meta = json_object();
    }
    json_t *cal = json_object(), *names = json_array(), *coef = json_array();
    for (int j = 0; j < NF; j++) {
        json_array_append_new(names, json_string(feature_names[j]));
        json_array_append_new(coef, json_real(c->coef[j]));
    }
    jset(cal, "features", names);
    jset(cal, "coef", coef);
    jset(cal, "cos_mean", json_real(c->cos_mean));
    jset(cal, "hub_product_mean", json_real(c->hub_mean));
    if (c->center) {
        json_t *center = json_array();
        for (uint32_t d = 0; d < m->dim; d++)
            json_array_append_new(center, json_real(c->center[d]));
        jset(cal, "center", center);
    }
    jset(cal, "bias", json_string(BIAS_NAME));
    jset(cal, "fit", fit_json(c));
    json_t *scale = json_object();
    jset(scale, "a", json_real(c->scale_a > 0 ? c->scale_a : 1));
    jset(scale, "b", json_real(c->scale_b));
    jset(scale, "pairs", json_integer((json_int_t)c->scale_pairs));
    jset(scale, "negatives", json_string("uniform"));
    jset(cal, "scale", scale);
    jset(cal, "positive_rate", json_real(c->positive_rate > 0 ? c->positive_rate : 0.5));
    jset(cal, "ranking", ranking_json(c));
    jset(meta, "calibration", cal);
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text)
        abort();
    json_decref(meta);
    free(m->meta_json);
    m->meta_json = text;
}

/* A finite number from obj[key] into *out; -1 (with err) otherwise. */
static int get_number(json_t *obj, const char *key, double *out, wr_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v) || !isfinite(*out = json_number_value(v)))
        return wr_fail(err, "model calibration: %s is not a finite number", key);
    return 0;
}

/* The feature list and coefficients: this build's five, or the four of the first models
 * (whose hub coefficient is then 0). Returns the feature count, -1 on error. */
static int load_coef(json_t *cal, wr_calib *c, wr_err *err)
{
    json_t *names = json_object_get(cal, "features"), *coef = json_object_get(cal, "coef");
    size_t nf = json_array_size(names);
    const char **known = nf == OLD_NF ? old_feature_names : feature_names;
    if ((nf != NF && nf != OLD_NF) || json_array_size(coef) != nf)
        return wr_fail(err, "model calibration: expected %d (or, from older models, %d) "
                       "features and as many coefficients", NF, OLD_NF);
    for (size_t j = 0; j < nf; j++) {
        const char *name = json_string_value(json_array_get(names, j));
        json_t *v = json_array_get(coef, j);
        if (!name || strcmp(name, known[j]))
            return wr_fail(err, "model calibration: feature %zu is '%s', this walkrec knows "
                           "'%s'", j, name ? name : "(not a string)", known[j]);
        if (!json_is_number(v) || !isfinite(c->coef[j] = json_number_value(v)))
            return wr_fail(err, "model calibration: coefficient %zu is not a finite number", j);
    }
    const char *bias = json_string_value(json_object_get(cal, "bias"));
    const char *want = nf == OLD_NF ? OLD_BIAS_NAME : BIAS_NAME;
    if (!bias || strcmp(bias, want))
        return wr_fail(err, "model calibration: the bias section must hold %s with these "
                       "features, the model says '%s'", want, bias ? bias : "(nothing)");
    return (int)nf;
}

/* The centre: dim unit-length numbers; required when the hub coefficient is not 0. */
static int load_center(json_t *cal, const wr_model *m, wr_calib *c, wr_err *err)
{
    json_t *center = json_object_get(cal, "center");
    if (!center)
        return c->coef[4] == 0 ? 0 : wr_fail(err, "model calibration: no center");
    if (json_array_size(center) != m->dim)
        return wr_fail(err, "model calibration: center has %zu numbers, the vectors %u",
                       json_array_size(center), m->dim);
    c->dim = m->dim;
    c->center = xmalloc(m->dim * sizeof *c->center);
    double len = 0;
    for (uint32_t d = 0; d < m->dim; d++) {
        json_t *v = json_array_get(center, d);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return wr_fail(err, "model calibration: center[%u] is not a finite number", d);
        c->center[d] = (float)json_number_value(v);
        len += (double)c->center[d] * c->center[d];
    }
    if (fabs(len - 1) > 1e-4)
        return wr_fail(err, "model calibration: center is not of unit length (%g)", sqrt(len));
    return 0;
}

/* The scale and the stated positive rate; models from before them have neither (a = 1,
 * b = 0, rate 0.5). */
static int load_scale(json_t *cal, wr_calib *c, wr_err *err)
{
    json_t *s = json_object_get(cal, "scale"), *pr = json_object_get(cal, "positive_rate");
    c->scale_a = 1;
    c->scale_b = 0;
    c->positive_rate = 0.5;
    if (s && (get_number(s, "a", &c->scale_a, err) < 0 || get_number(s, "b", &c->scale_b, err) < 0))
        return -1;
    if (!(c->scale_a > 0))
        return wr_fail(err, "model calibration: scale.a must be above 0, got %g", c->scale_a);
    c->scale_pairs = (size_t)json_integer_value(json_object_get(s, "pairs"));
    if (pr && (get_number(cal, "positive_rate", &c->positive_rate, err) < 0 ||
               !(c->positive_rate > 0 && c->positive_rate < 1)))
        return wr_fail(err, "model calibration: positive_rate must be in (0, 1)");
    return 0;
}

/* The recorded choice of the lists' order; models from before it rank by probability. */
static int load_ranking(json_t *cal, wr_calib *c, wr_err *err)
{
    json_t *r = json_object_get(cal, "ranking");
    c->rank = WR_RANK_PROBABILITY;
    c->rank_recall_cosine = c->rank_recall_probability = NAN;
    if (!r)
        return 0;
    const char *best = json_string_value(json_object_get(r, "best"));
    int rank = best ? rank_parse(best) : -1;
    if (rank != WR_RANK_COSINE && rank != WR_RANK_PROBABILITY)
        return wr_fail(err, "model calibration: ranking.best must be cosine or probability");
    c->rank = rank;
    c->rank_queries = (size_t)json_integer_value(json_object_get(r, "queries"));
    json_t *rec = json_object_get(r, "recall_at_10");
    json_t *rc = json_object_get(rec, "cosine"), *rp = json_object_get(rec, "probability");
    if (json_is_number(rc))
        c->rank_recall_cosine = json_number_value(rc);
    if (json_is_number(rp))
        c->rank_recall_probability = json_number_value(rp);
    return 0;
}

static void load_fit(json_t *cal, wr_calib *c)
{
    json_t *fit = json_object_get(cal, "fit");
    c->positives = (size_t)json_integer_value(json_object_get(fit, "positives"));
    c->uniform = (size_t)json_integer_value(json_object_get(fit, "uniform_negatives"));
    c->degree = (size_t)json_integer_value(json_object_get(fit, "degree_negatives"));
    c->brier = json_number_value(json_object_get(fit, "brier"));
    c->brier_constant = json_number_value(json_object_get(fit, "brier_constant"));
    c->iterations = (int)json_integer_value(json_object_get(fit, "iterations"));
}

int calib_load(const wr_model *m, wr_calib *c, wr_err *err)
{
    memset(c, 0, sizeof *c);
    if (!m->meta_json)
        return 0;
    json_t *meta = json_loads(m->meta_json, 0, NULL);
    json_t *cal = json_object_get(meta, "calibration");
    int rc = 0;
    if (!cal)
        goto done;
    rc = -1;
    int nf = load_coef(cal, c, err);
    if (nf < 0 || get_number(cal, "cos_mean", &c->cos_mean, err) < 0)
        goto done;
    if (nf == NF && (get_number(cal, "hub_product_mean", &c->hub_mean, err) < 0 ||
                     load_center(cal, m, c, err) < 0))
        goto done;
    if (load_ranking(cal, c, err) < 0 || load_scale(cal, c, err) < 0)
        goto done;
    if (!m->bias) {
        wr_fail(err, "model calibration: the model has no bias section (the log degrees)");
        goto done;
    }
    load_fit(cal, c);
    compute_hubs(m, c);
    rc = 1;
done:
    json_decref(meta);
    if (rc < 0)
        calib_free(c);
    return rc;
}

#define PQBLOCK 64
#define PNBLOCK 2048

typedef struct topk_job {
    const wr_model *m;
    const float *base;
    const wr_calib *c;
    const uint32_t *query;
    size_t nq, k;
    wr_knn_exclude exclude;
    void *ctx;
    wr_hit *out;
    atomic_size_t next; /* next query block */
} topk_job;

static void *topk_worker(void *arg)
{
    topk_job *j = arg;
    const wr_model *m = j->m;
    size_t dim = m->dim, k = j->k, hn[PQBLOCK];
    float *tile = xmalloc_aligned(PQBLOCK * PNBLOCK * sizeof(float));
    float *qv = xmalloc_aligned(PQBLOCK * dim * sizeof(float) + 64), thr[PQBLOCK];
    wr_hit *heaps = xmalloc(PQBLOCK * k * sizeof *heaps); /* knn.h's, one per query */
    for (;;) {
        size_t q0 = atomic_fetch_add(&j->next, 1) * PQBLOCK;
        if (q0 >= j->nq)
            break;
        size_t qb = j->nq - q0 < PQBLOCK ? j->nq - q0 : PQBLOCK;
        for (size_t i = 0; i < qb; i++) {
            memcpy(qv + i * dim, j->base + (size_t)j->query[q0 + i] * dim, dim * sizeof *qv);
            hn[i] = 0;
            thr[i] = -INFINITY;
        }
        for (size_t r0 = 0; r0 < m->n; r0 += PNBLOCK) {
            size_t nb = m->n - r0 < PNBLOCK ? m->n - r0 : PNBLOCK;
            knn_blas_enter();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)nb, (int)dim,
                        1.0f, qv, (int)dim, j->base + r0 * dim, (int)dim, 0.0f, tile, (int)nb);
            knn_blas_leave();
            for (size_t i = 0; i < qb; i++) {
                uint32_t q = j->query[q0 + i];
                double la = m->bias[q], ha = calib_hub(j->c, q);
                for (size_t c = 0; c < nb; c++) {
                    uint32_t item = (uint32_t)(r0 + c);
                    float z = (float)calib_logit(j->c, tile[i * nb + c], la, m->bias[item],
                                                 ha * calib_hub(j->c, item));
                    /* rows come in increasing order: an equal logit keeps the earlier row */
                    if (z > thr[i] && !(j->exclude && j->exclude(q0 + i, item, j->ctx)))
                        thr[i] = knn_heap_offer(heaps + i * k, &hn[i], k, (wr_hit){item, z});
                }
            }
        }
        for (size_t i = 0; i < qb; i++)
            knn_heap_drain(heaps + i * k, hn[i], k, j->out + (q0 + i) * k);
    }
    free(heaps);
    free(qv);
    free(tile);
    return NULL;
}

void calib_topk(const wr_model *m, const float *base, const wr_calib *c, const uint32_t *query,
                size_t nq, size_t k, wr_knn_exclude exclude, void *ctx, int threads,
                wr_hit *out)
{
    if (k == 0 || nq == 0)
        return;
    topk_job j = {m, base, c, query, nq, k, exclude, ctx, out, 0};
    size_t blocks = (nq + PQBLOCK - 1) / PQBLOCK, nt = threads > 1 ? (size_t)threads : 1;
    if (nt > blocks)
        nt = blocks;
    knn_blas_enter();
    openblas_set_num_threads(1);
    knn_blas_leave();
    pthread_t *tid = xmalloc(nt * sizeof *tid);
    size_t started = 0;
    for (; started + 1 < nt; started++)
        if (pthread_create(&tid[started], NULL, topk_worker, &j) != 0)
            break; /* fewer threads: the blocks are shared, the work still gets done */
    topk_worker(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
}
