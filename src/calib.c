/* calib.c - the calibrated pair probability: fitting, storing in a model, reading back.
 *
 * Four coefficients and a few thousand pairs: Newton's method on the exact Hessian
 * converges in a handful of steps, and a 4 x 4 Cholesky solve is all the linear algebra
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

#define NF WR_CALIB_NFEAT

static const char *feature_names[NF] = {"1", "cos", "logdeg_sum", "logdeg_absdiff"};

void calib_features(double cos, double la, double lb, double x[NF])
{
    x[0] = 1;
    x[1] = cos;
    x[2] = la + lb;
    x[3] = fabs(la - lb);
}

double calib_logit(const wr_calib *c, double cos, double la, double lb)
{
    double x[NF], z = 0;
    calib_features(cos, la, lb, x);
    for (int i = 0; i < NF; i++)
        z += c->coef[i] * x[i];
    return z;
}

/* The logistic function without overflow for large |z|. */
static double sigmoid(double z)
{
    if (z >= 0)
        return 1 / (1 + exp(-z));
    double e = exp(z);
    return e / (1 + e);
}

double calib_prob(const wr_calib *c, double cos, double la, double lb)
{
    return sigmoid(calib_logit(c, cos, la, lb));
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
        double z = 0;
        for (int j = 0; j < NF; j++)
            z += coef[j] * x[i * NF + j];
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
        double z = 0;
        for (int j = 0; j < NF; j++)
            z += coef[j] * xi[j];
        double p = sigmoid(z), r = w[i] * ((y[i] != 0) - p), v = w[i] * p * (1 - p);
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
    double sw = 0, swy = 0, b = 0, sc = 0;
    for (size_t i = 0; i < n; i++) {
        sc += w[i] * x[i * NF + 1];
        double z = 0;
        for (int j = 0; j < NF; j++)
            z += c->coef[j] * x[i * NF + j];
        double e = sigmoid(z) - (y[i] != 0);
        b += w[i] * e * e;
        sw += w[i];
        swy += w[i] * (y[i] != 0);
    }
    double base = swy / sw;
    c->cos_mean = sc / sw;
    c->brier = b / sw;
    c->brier_constant = base * (1 - base);
}

int calib_fit(wr_calib *c, const double *x, const uint8_t *y, const double *w, size_t n,
              wr_err *err)
{
    memset(c->coef, 0, sizeof c->coef);
    c->iterations = 0;
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
    cd->deg = pairs_degree(&cd->train);
    return 0;
}

void calib_data_free(wr_calib_data *cd)
{
    pairs_free(&cd->train);
    valset_free(&cd->held);
    free(cd->deg);
    memset(cd, 0, sizeof *cd);
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

int calib_finish(wr_model *m, const wr_calib_data *cd, wr_calib *out, wr_err *err)
{
    const wr_valset *h = &cd->held;
    double *x = xmalloc((h->n + 1) * NF * sizeof *x), *w = xmalloc((h->n + 1) * sizeof *w);
    uint8_t *y = xmalloc(h->n + 1), *kind = xmalloc(h->n + 1);
    size_t n = 0, count[3] = {0};
    for (size_t i = 0; i < h->n; i++) {
        const char *ia = dict_str(cd->train.ids, h->a[i]), *ib = dict_str(cd->train.ids, h->b[i]);
        int64_t ra = model_find(m, ia), rb = model_find(m, ib);
        if (ra < 0 || rb < 0)
            continue;
        calib_features(cosine_rows(m, ra, rb), log1p(cd->deg[h->a[i]]), log1p(cd->deg[h->b[i]]),
                       x + n * NF);
        y[n] = h->label[i];
        kind[n] = h->label[i] ? 0 : 1 + (h->kind[i] == WR_NEG_DEGREE);
        count[kind[n++]]++;
    }
    /* each class weighs its count of positives, the negatives split 3:1 by kind, whatever
     * the counts left after keep_items_trained */
    const double share[3] = {1, WR_CALIB_UNIFORM_WEIGHT, 1 - WR_CALIB_UNIFORM_WEIGHT};
    for (size_t i = 0; i < n; i++)
        w[i] = share[kind[i]] * (double)count[0] / (double)count[kind[i]];
    wr_calib c;
    int rc = count[0] && count[1] && count[2] ? calib_fit(&c, x, y, w, n, err)
             : wr_fail(err, "calibration: the held-out slice lacks %s",
                       !count[0] ? "related pairs" : "negatives of both kinds");
    free(x);
    free(w);
    free(y);
    free(kind);
    if (rc < 0)
        return -1;
    c.positives = count[0];
    c.uniform = count[1];
    c.degree = count[2];
    calib_store(m, &c, cd->train.ids, cd->deg);
    if (out)
        *out = c;
    return 0;
}

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* only allocation fails here */
}

void calib_store(wr_model *m, const wr_calib *c, const wr_dict *ids, const uint32_t *deg)
{
    free(m->bias);
    m->bias = xmalloc_aligned(((size_t)m->n + 1) * sizeof *m->bias);
    for (uint32_t r = 0; r < m->n; r++) {
        int64_t i = dict_find(ids, dict_str(m->ids, r), dict_strlen(m->ids, r));
        m->bias[r] = i < 0 ? 0.0f : (float)log1p(deg[i]);
    }
    json_t *meta = json_loads(m->meta_json ? m->meta_json : "{}", 0, NULL);
    if (!json_is_object(meta)) {
        json_decref(meta);
        meta = json_object();
    }
    json_t *cal = json_object(), *names = json_array(), *coef = json_array(), *fit = json_object();
    for (int j = 0; j < NF; j++) {
        json_array_append_new(names, json_string(feature_names[j]));
        json_array_append_new(coef, json_real(c->coef[j]));
    }
    jset(cal, "features", names);
    jset(cal, "coef", coef);
    jset(cal, "cos_mean", json_real(c->cos_mean));
    jset(cal, "bias", json_string("log1p_degree"));
    jset(fit, "positives", json_integer((json_int_t)c->positives));
    jset(fit, "uniform_negatives", json_integer((json_int_t)c->uniform));
    jset(fit, "degree_negatives", json_integer((json_int_t)c->degree));
    jset(fit, "uniform_weight", json_real(WR_CALIB_UNIFORM_WEIGHT));
    jset(fit, "brier", json_real(c->brier));
    jset(fit, "brier_constant", json_real(c->brier_constant));
    jset(fit, "iterations", json_integer(c->iterations));
    jset(cal, "fit", fit);
    jset(meta, "calibration", cal);
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text)
        abort();
    json_decref(meta);
    free(m->meta_json);
    m->meta_json = text;
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
    json_t *names = json_object_get(cal, "features"), *coef = json_object_get(cal, "coef");
    if (json_array_size(names) != NF || json_array_size(coef) != NF) {
        wr_fail(err, "model calibration: expected %d features and coefficients", NF);
        goto done;
    }
    for (int j = 0; j < NF; j++) {
        const char *name = json_string_value(json_array_get(names, j));
        json_t *v = json_array_get(coef, j);
        if (!name || strcmp(name, feature_names[j])) {
            wr_fail(err, "model calibration: feature %d is '%s', this walkrec knows '%s'", j,
                    name ? name : "(not a string)", feature_names[j]);
            goto done;
        }
        if (!json_is_number(v) || !isfinite(c->coef[j] = json_number_value(v))) {
            wr_fail(err, "model calibration: coefficient %d is not a finite number", j);
            goto done;
        }
    }
    json_t *cm = json_object_get(cal, "cos_mean");
    if (!json_is_number(cm) || !isfinite(c->cos_mean = json_number_value(cm))) {
        wr_fail(err, "model calibration: cos_mean is not a finite number");
        goto done;
    }
    if (!m->bias) {
        wr_fail(err, "model calibration: the model has no bias section (the log degrees)");
        goto done;
    }
    json_t *fit = json_object_get(cal, "fit");
    c->positives = (size_t)json_integer_value(json_object_get(fit, "positives"));
    c->uniform = (size_t)json_integer_value(json_object_get(fit, "uniform_negatives"));
    c->degree = (size_t)json_integer_value(json_object_get(fit, "degree_negatives"));
    c->brier = json_number_value(json_object_get(fit, "brier"));
    c->brier_constant = json_number_value(json_object_get(fit, "brier_constant"));
    c->iterations = (int)json_integer_value(json_object_get(fit, "iterations"));
    rc = 1;
done:
    json_decref(meta);
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

/* Offers row `item` with logit z to the sorted list (best first) of query qi. Rows come in
 * increasing order, so an equal logit never displaces an earlier row. */
static void offer(const topk_job *j, size_t qi, uint32_t item, double z, double *best,
                  wr_hit *list)
{
    size_t k = j->k;
    if (!(z > best[k - 1]) || (j->exclude && j->exclude(qi, item, j->ctx)))
        return;
    size_t i = k - 1;
    for (; i > 0 && z > best[i - 1]; i--) {
        best[i] = best[i - 1];
        list[i] = list[i - 1];
    }
    best[i] = z;
    list[i] = (wr_hit){item, (float)z};
}

static void *topk_worker(void *arg)
{
    topk_job *j = arg;
    const wr_model *m = j->m;
    size_t dim = m->dim, k = j->k;
    float *tile = xmalloc_aligned(PQBLOCK * PNBLOCK * sizeof(float));
    float *qv = xmalloc_aligned(PQBLOCK * dim * sizeof(float) + 64);
    double *best = xmalloc(PQBLOCK * k * sizeof *best);
    for (;;) {
        size_t q0 = atomic_fetch_add(&j->next, 1) * PQBLOCK;
        if (q0 >= j->nq)
            break;
        size_t qb = j->nq - q0 < PQBLOCK ? j->nq - q0 : PQBLOCK;
        for (size_t i = 0; i < qb; i++) {
            memcpy(qv + i * dim, j->base + (size_t)j->query[q0 + i] * dim, dim * sizeof *qv);
            for (size_t s = 0; s < k; s++) {
                best[i * k + s] = -INFINITY;
                j->out[(q0 + i) * k + s] = (wr_hit){UINT32_MAX, -INFINITY};
            }
        }
        for (size_t r0 = 0; r0 < m->n; r0 += PNBLOCK) {
            size_t nb = m->n - r0 < PNBLOCK ? m->n - r0 : PNBLOCK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)nb, (int)dim,
                        1.0f, qv, (int)dim, j->base + r0 * dim, (int)dim, 0.0f, tile, (int)nb);
            for (size_t i = 0; i < qb; i++) {
                double la = m->bias[j->query[q0 + i]];
                for (size_t c = 0; c < nb; c++) {
                    uint32_t item = (uint32_t)(r0 + c);
                    double z = calib_logit(j->c, tile[i * nb + c], la, m->bias[item]);
                    offer(j, q0 + i, item, z, best + i * k, j->out + (q0 + i) * k);
                }
            }
        }
    }
    free(best);
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
    openblas_set_num_threads(1);
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
