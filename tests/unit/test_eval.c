/* test_eval.c - AUC against hand counts and a brute-force pair count, the median rule for
 * unseen items, recall/NDCG on a tiny hand-built model, the validation file reader; the
 * popularity baseline, coverage and popularity bias by hand, ranking by probability, and
 * popularity's AUC on degree-matched negatives of a synthetic graph (about one half). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walkrec/eval.h"
#include "walkrec/rank.h"
#include "walkrec/rng.h"
#include "walkrec/split.h"

/* cmocka's float comparison rounds to float; these checks need doubles. */
#define assert_double_equal(got, want, eps) check_close((got), (want), (eps), __LINE__)

static void check_close(double got, double want, double eps, int line)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("line %d: got %.17g, want %.17g (tolerance %g)", line, got, want, eps);
}

static void test_auc_hand(void **state)
{
    (void)state;
    /* scikit-learn's documented example */
    const double s1[] = {0.1, 0.4, 0.35, 0.8};
    const uint8_t l1[] = {0, 0, 1, 1};
    assert_double_equal(eval_auc_roc(s1, l1, 4), 0.75, 1e-15);

    /* with a tie between classes: pos {0.5, 0.9} vs neg {0.5, 0.1} -> (0.5 + 1 + 1 + 1) / 4 */
    const double s2[] = {0.5, 0.5, 0.9, 0.1};
    const uint8_t l2[] = {1, 0, 1, 0};
    assert_double_equal(eval_auc_roc(s2, l2, 4), 0.875, 1e-15);

    /* all tied -> 0.5; perfect -> 1; inverted -> 0 */
    const double s3[] = {2, 2, 2, 2, 2};
    const uint8_t l3[] = {1, 0, 0, 1, 0};
    assert_double_equal(eval_auc_roc(s3, l3, 5), 0.5, 1e-15);
    const double s4[] = {0.9, -0.3, 0.2, 0.7, 0.1};
    assert_double_equal(eval_auc_roc(s4, (const uint8_t[]){1, 0, 0, 1, 0}, 5), 1.0, 1e-15);
    assert_double_equal(eval_auc_roc(s4, (const uint8_t[]){0, 1, 1, 0, 1}, 5), 0.0, 1e-15);

    /* one class only: undefined */
    assert_true(isnan(eval_auc_roc(s4, (const uint8_t[]){1, 1, 1, 1, 1}, 5)));
    assert_true(isnan(eval_auc_roc(s4, (const uint8_t[]){0, 0, 0, 0, 0}, 5)));

    /* -0 and +0 are the same score: a tie */
    const double s5[] = {-0.0, 0.0};
    assert_double_equal(eval_auc_roc(s5, (const uint8_t[]){1, 0}, 2), 0.5, 1e-15);
}

/* O(n^2) definition: fraction of (positive, negative) pairs ordered right, ties half. */
static double auc_brute(const double *s, const uint8_t *l, size_t n)
{
    double good = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (l[i] && !l[j]) {
                total++;
                good += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
    return good / total;
}

static void test_auc_random(void **state)
{
    (void)state;
    wr_rng rng;
    rng_seed(&rng, 2024);
    const size_t n = 3000;
    double *s = malloc(n * sizeof *s);
    uint8_t *l = malloc(n);
    for (int round = 0; round < 4; round++) {
        /* round 0: continuous scores; later rounds: few distinct values, many ties; the
         * label is correlated with the score so the AUC is far from 0.5 */
        uint32_t levels = round == 0 ? 0 : round == 1 ? 1000 : round == 2 ? 20 : 3;
        for (size_t i = 0; i < n; i++) {
            double x = rng_double(&rng);
            s[i] = levels ? (double)(uint32_t)(x * levels) / levels : x;
            l[i] = rng_double(&rng) < 0.2 + 0.6 * x;
        }
        double want = auc_brute(s, l, n), got = eval_auc_roc(s, l, n);
        assert_double_equal(got, want, 1e-12);
        assert_true(want > 0.6);
    }
    free(s);
    free(l);
}

/* Rows q, A..E on the unit circle at the given angles (degrees), scaled by 1 + row so the
 * cosine must normalise. */
static wr_model *circle_model(void)
{
    static const char *ids[] = {"q", "A", "B", "C", "D", "E"};
    static const double deg[] = {0, 12, 20, 33, 100, 185};
    wr_model *m = model_new(6, 2);
    for (uint32_t i = 0; i < 6; i++) {
        assert_int_equal(dict_intern(m->ids, ids[i], strlen(ids[i])), i);
        double r = deg[i] * M_PI / 180;
        m->vecs[2 * i] = (float)((1 + i) * cos(r));
        m->vecs[2 * i + 1] = (float)((1 + i) * sin(r));
    }
    return m;
}

static void labeled_add(wr_labeled *v, const char *a, const char *b, int label)
{
    v->a = realloc(v->a, (v->n + 1) * sizeof *v->a);
    v->b = realloc(v->b, (v->n + 1) * sizeof *v->b);
    v->label = realloc(v->label, v->n + 1);
    v->a[v->n] = strdup(a);
    v->b[v->n] = strdup(b);
    v->label[v->n++] = (uint8_t)label;
}

static void circle_validation(wr_labeled *v)
{
    memset(v, 0, sizeof *v);
    labeled_add(v, "q", "B", 1); /* cos 20 */
    labeled_add(v, "q", "D", 1); /* cos 100: the median of the seen scores */
    labeled_add(v, "A", "C", 1); /* cos 21 */
    labeled_add(v, "q", "E", 0); /* cos 175 */
    labeled_add(v, "B", "E", 0); /* cos 165 */
    labeled_add(v, "Z", "q", 1); /* unseen */
    labeled_add(v, "A", "Z", 0); /* unseen */
}

static double cosd(double deg) { return cos(deg * M_PI / 180); }

static void test_scores_median(void **state)
{
    (void)state;
    wr_model *m = circle_model();
    wr_labeled v;
    circle_validation(&v);
    wr_eval_opts o;
    eval_default_opts(&o);
    o.threads = 1;
    wr_eval_result r;
    wr_err err;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_int_equal(r.pairs_seen, 5);
    assert_int_equal(r.pairs_unseen, 2);
    const double want[] = {cosd(20), cosd(100), cosd(21), cosd(175), cosd(165)};
    for (int i = 0; i < 5; i++) {
        assert_true(r.seen[i]);
        assert_double_equal(r.scores[i], want[i], 1e-6);
    }
    /* unseen pairs get exactly the median of the seen scores: the q-D score */
    assert_false(r.seen[5]);
    assert_false(r.seen[6]);
    assert_true(r.scores[5] == r.scores[1] && r.scores[6] == r.scores[1]);
    /* seen: every positive above every negative. all: 4 positives x 3 negatives, the two
     * pairs scored at the median tie with each other: (3 + 3 + 2.5 + 2.5) / 12 */
    assert_double_equal(r.auc_seen, 1.0, 1e-15);
    assert_double_equal(r.auc_all, 11.0 / 12.0, 1e-15);
    eval_result_free(&r);

    /* even count of seen scores: the median is the mean of the middle two */
    labeled_add(&v, "C", "D", 0); /* cos 67 */
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_int_equal(r.pairs_seen, 6);
    assert_double_equal(r.scores[5], (cosd(100) + cosd(67)) / 2, 1e-6);
    eval_result_free(&r);
    eval_labeled_free(&v);
    model_free(m);
}

/* Retrieval with k = 2. Angles: q 0, A 12, B 20, C 33, D 100, E 185. Queries (model items
 * with positives in the model): q {B, D}, A {C}, B {q}, C {A}, D {q}.
 *   q: top A, B     -> 1 hit at rank 2 of 2 positives: recall 1/2, NDCG (1/log2 3) / (1 + 1/log2 3)
 *   A: top B, q     -> 0          B: top A, C -> 0        D: top C, B -> 0
 *   C: top B, A     -> hit at rank 2: recall 1, NDCG 1/log2 3
 * With training pair A-B, A ranks q, C (hit at 2) and B ranks C, q (hit at 2). */
static void test_retrieval(void **state)
{
    (void)state;
    wr_model *m = circle_model();
    wr_labeled v;
    circle_validation(&v);
    wr_eval_opts o;
    eval_default_opts(&o);
    o.k = 2;
    o.threads = 1;
    wr_eval_result r;
    wr_err err;
    double g2 = 1 / log2(3.0);

    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_true(o.max_queries == WR_EVAL_ALL_QUERIES); /* by default every query item */
    assert_int_equal(r.queries, 5);
    assert_int_equal(r.query_items, 5);
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(r.query_rows[i], i); /* q A B C D, not E */
    assert_double_equal(r.recall_at_k, (0.5 + 1) / 5, 1e-12);
    assert_double_equal(r.ndcg_at_k, (g2 / (1 + g2) + g2) / 5, 1e-12);
    eval_result_free(&r);

    wr_pairs train;
    pairs_init(&train);
    pairs_add(&train, "B", 1, "A", 1, 1);
    pairs_add(&train, "Z", 1, "E", 1, 1); /* Z is not in the model: ignored */
    pairs_merge(&train);
    o.train = &train;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_int_equal(r.queries, 5);
    assert_double_equal(r.recall_at_k, (0.5 + 1 + 1 + 1) / 5, 1e-12);
    assert_double_equal(r.ndcg_at_k, (g2 / (1 + g2) + 3 * g2) / 5, 1e-12);
    eval_result_free(&r);
    pairs_free(&train);

    /* a held-out positive that is also a training pair is no positive: q keeps only D
     * (ranked after A, C once B is excluded), B has none left and is no query */
    pairs_init(&train);
    pairs_add(&train, "q", 1, "B", 1, 1);
    pairs_merge(&train);
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_int_equal(r.queries, 4);
    assert_double_equal(r.recall_at_k, 1.0 / 4, 1e-12); /* only C finds A */
    eval_result_free(&r);
    pairs_free(&train);

    /* sampling: at most 2 queries, a fixed subset for a fixed seed, ascending */
    o.train = NULL;
    o.max_queries = 2;
    o.seed = 99;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    wr_eval_result r2;
    assert_int_equal(eval_model(m, &v, &o, &r2, &err), 0);
    assert_int_equal(r.queries, 2);
    assert_int_equal(r.query_items, 5);
    assert_true(r.query_rows[0] < r.query_rows[1] && r.query_rows[1] < 5);
    assert_memory_equal(r.query_rows, r2.query_rows, 2 * sizeof *r.query_rows);
    assert_double_equal(r.recall_at_k, r2.recall_at_k, 0);
    eval_result_free(&r2);
    /* the same items in another row order (as an imported model has them) are asked the
     * same queries, with every seed */
    wr_model *p = model_new(6, 2);
    static const uint32_t perm[] = {5, 3, 0, 4, 1, 2}; /* p's row i is m's row perm[i] */
    for (uint32_t i = 0; i < 6; i++) {
        const char *id = dict_str(m->ids, perm[i]);
        assert_int_equal(dict_intern(p->ids, id, strlen(id)), i);
        p->vecs[2 * i] = m->vecs[2 * perm[i]];
        p->vecs[2 * i + 1] = m->vecs[2 * perm[i] + 1];
    }
    for (uint64_t seed = 1; seed < 40; seed++) {
        o.seed = seed;
        eval_result_free(&r);
        assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
        assert_int_equal(eval_model(p, &v, &o, &r2, &err), 0);
        assert_int_equal(r2.queries, 2);
        const char *a0 = dict_str(m->ids, r.query_rows[0]);
        const char *a1 = dict_str(m->ids, r.query_rows[1]);
        const char *b0 = dict_str(p->ids, r2.query_rows[0]);
        const char *b1 = dict_str(p->ids, r2.query_rows[1]);
        if (!((!strcmp(a0, b0) && !strcmp(a1, b1)) || (!strcmp(a0, b1) && !strcmp(a1, b0))))
            fail_msg("seed %llu: queries %s %s against %s %s", (unsigned long long)seed, a0, a1,
                     b0, b1);
        assert_double_equal(r.recall_at_k, r2.recall_at_k, 1e-12);
        eval_result_free(&r2);
    }
    model_free(p);
    eval_result_free(&r);

    /* diverse lists: k 3 from the pool; at most one per group leaves lists of distinct
     * groups (entropy log2 of their length); MMR lowers the intra-list similarity */
    const char *const group[6] = {"a", "a", "b", "b", "c", "c"};
    o.k = 3;
    o.values = group;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    double plain = r.ils;
    assert_true(isfinite(plain) && isfinite(r.attr_entropy));
    eval_result_free(&r);
    o.max_per = 1;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_true(fabs(r.attr_entropy - log2(3.0)) < 1e-12);
    eval_result_free(&r);
    o.max_per = 0;
    o.diversity = 0.9;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_true(r.ils <= plain);
    eval_result_free(&r);
    o.diversity = 0;
    o.values = NULL;
    o.k = 2;

    /* max_queries 0: AUC only (the training learning curve relies on it) */
    o.max_queries = 0;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_int_equal(r.queries, 0);
    assert_true(isnan(r.recall_at_k) && isnan(r.ndcg_at_k));
    assert_double_equal(r.auc_all, 11.0 / 12.0, 1e-15);
    eval_result_free(&r);

    /* recall is not capped at k: with q-A held out too and k = 1, q finds A, one of its
     * three positives (1/3), the other four queries find nothing; NDCG of q is 1 */
    labeled_add(&v, "q", "A", 1);
    o.max_queries = 2000;
    o.k = 1;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_int_equal(r.queries, 5);
    assert_double_equal(r.recall_at_k, 1.0 / 15, 1e-12);
    assert_double_equal(r.ndcg_at_k, 1.0 / 5, 1e-12);
    eval_result_free(&r);

    eval_labeled_free(&v);
    model_free(m);
}

/* Nothing in the model: no AUC over seen pairs, every score the fallback 0, no queries. */
static void test_nothing_seen(void **state)
{
    (void)state;
    wr_model *m = circle_model();
    wr_labeled v = {0};
    labeled_add(&v, "x", "y", 1);
    labeled_add(&v, "x", "z", 0);
    wr_eval_opts o;
    eval_default_opts(&o);
    wr_eval_result r;
    wr_err err;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_int_equal(r.pairs_seen, 0);
    assert_true(isnan(r.auc_seen));
    assert_double_equal(r.auc_all, 0.5, 1e-15);
    assert_int_equal(r.queries, 0);
    assert_true(isnan(r.recall_at_k));
    eval_result_free(&r);
    eval_labeled_free(&v);
    model_free(m);
}

static const char *write_tmp(char *path, size_t size, const char *data)
{
    snprintf(path, size, "/tmp/wr_test_eval_%ld.tsv", (long)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(data, f);
    fclose(f);
    return path;
}

static void test_labeled_read(void **state)
{
    (void)state;
    char path[256];
    wr_labeled v;
    wr_err err;
    write_tmp(path, sizeof path, "item_a\titem_b\tlabel\nx\ty\t1\r\n\nx\tz z\t0\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), 0);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.a[0], "x");
    assert_string_equal(v.b[0], "y");
    assert_string_equal(v.b[1], "z z");
    assert_int_equal(v.label[0], 1);
    assert_int_equal(v.label[1], 0);
    eval_labeled_free(&v);

    write_tmp(path, sizeof path, "item_a\titem_b\tlabel\nx\ty\t1\nx\ty\t2\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), -1);
    assert_non_null(strstr(err.msg, ":3: label must be 0 or 1"));
    assert_null(v.a);

    write_tmp(path, sizeof path, "x\ty\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), -1);
    assert_non_null(strstr(err.msg, ":1: expected 3"));

    write_tmp(path, sizeof path, "item_a\titem_b\tlabel\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), -1);
    assert_non_null(strstr(err.msg, "no validation pairs"));
    unlink(path);

    assert_int_equal(eval_labeled_read(&v, "/nonexistent/val.tsv", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/val.tsv"));
}


/* Four columns: the kinds come back; a positive with a kind or an unknown kind is an error;
 * a three-column file means uniform negatives. */
static void test_labeled_kinds(void **state)
{
    (void)state;
    char path[256];
    wr_labeled v;
    wr_err err;
    write_tmp(path, sizeof path,
              "item_a\titem_b\tlabel\tnegatives\nx\ty\t1\t\nx\tz\t0\tdegree\ny\tz\t0\tuniform\n"
              "u\tv\t0\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), 0);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.kind[0], WR_NEG_UNIFORM);
    assert_int_equal(v.kind[1], WR_NEG_DEGREE);
    assert_int_equal(v.kind[2], WR_NEG_UNIFORM);
    assert_int_equal(v.kind[3], WR_NEG_UNIFORM);
    eval_labeled_free(&v);

    write_tmp(path, sizeof path, "x\ty\t1\tdegree\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), -1);
    assert_non_null(strstr(err.msg, ":1: a held-out pair"));
    write_tmp(path, sizeof path, "x\ty\t0\tpopular\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), -1);
    assert_non_null(strstr(err.msg, ":1: negatives must be uniform or degree"));
    write_tmp(path, sizeof path, "x\ty\t0\tdegree\textra\n");
    assert_int_equal(eval_labeled_read(&v, path, &err), -1);
    assert_non_null(strstr(err.msg, "got 5"));
    unlink(path);
}

/* Training pairs E-C, E-D, E-A, C-D: degrees E 3, C 2, D 2, A 1, q 0, B 0 (Z is in neither).
 *   popularity scores: q-B 0, q-D ln 3, A-C ln 2 + ln 3, q-E ln 4, B-E ln 4, Z-q 0, A-Z ln 2
 *   AUC all: positives {0, ln 3, ln 6, 0} against {ln 4, ln 4, ln 2}: (0 + 1 + 3 + 0) / 12
 *   AUC seen (first five pairs): {0, ln 3, ln 6} against {ln 4, ln 4}: 2 / 6
 * Lists, k = 2; positives q {B, D}, A {C}, B {q}, C {A}, D {q}; best-sellers E C D A q B:
 *   popularity  q: E C   A: C D (hit 1)   B: E C   C: A q (hit 1)   D: A q (hit 2)
 *   cosine      q: A B (hit 2)   A: B q   B: A C   C: B A (hit 2)   D: B A */
static void circle_train(wr_pairs *t)
{
    pairs_init(t);
    pairs_add(t, "E", 1, "C", 1, 1);
    pairs_add(t, "E", 1, "D", 1, 1);
    pairs_add(t, "E", 1, "A", 1, 1);
    pairs_add(t, "C", 1, "D", 1, 1);
    pairs_merge(t);
}

static void test_popularity(void **state)
{
    (void)state;
    wr_model *m = circle_model();
    wr_labeled v;
    circle_validation(&v);
    wr_pairs train;
    circle_train(&train);
    wr_eval_opts o;
    eval_default_opts(&o);
    o.k = 2;
    o.threads = 1;
    o.train = &train;
    wr_eval_result r;
    wr_err err;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_true(r.has_popularity);
    assert_false(r.has_probability);
    assert_int_equal(r.rank, WR_RANK_COSINE); /* the default without a calibration */
    const double l2 = log(2.0), l3 = log(3.0), l4 = log(4.0), g2 = 1 / log2(3.0);
    const double want[] = {0, l3, l2 + l3, l4, l4, 0, l2};
    for (int i = 0; i < 7; i++)
        assert_double_equal(r.popularity_scores[i], want[i], 1e-12);
    /* the median rule for every row: Z-q and A-Z score the seen pairs' median, ln 4 */
    assert_double_equal(r.popularity.all, 4.5 / 12, 1e-15);
    assert_double_equal(r.popularity.seen, 2.0 / 6, 1e-15);
    wr_eval_result rz;
    o.unseen = WR_UNSEEN_ZERO; /* Z has degree 0, and cosine 0 */
    assert_int_equal(eval_model(m, &v, &o, &rz, &err), 0);
    assert_double_equal(rz.popularity.all, 4.0 / 12, 1e-15);
    assert_double_equal(rz.popularity.seen, 2.0 / 6, 1e-15);
    assert_double_equal(rz.auc_seen, r.auc_seen, 0);
    assert_int_equal(rz.unseen, WR_UNSEEN_ZERO);
    eval_result_free(&rz);
    o.unseen = WR_UNSEEN_MEDIAN;
    assert_true(isnan(r.popularity.degree_all) && isnan(r.deg_auc_all));
    assert_int_equal(r.primary, WR_NEG_UNIFORM);
    assert_int_equal(r.positives, 4);
    assert_int_equal(r.negatives_uniform, 3);
    assert_int_equal(r.negatives_degree, 0);

    assert_int_equal(r.queries, 5);
    assert_double_equal(r.popularity_lists.recall, 3.0 / 5, 1e-12);
    assert_double_equal(r.popularity_lists.ndcg, (2 + g2) / 5, 1e-12);
    assert_double_equal(r.popularity_lists.coverage, 5.0 / 6, 1e-15);
    assert_double_equal(r.popularity_lists.mean_log_degree, (2 * l4 + 4 * l3 + 2 * l2) / 10,
                        1e-12);
    assert_double_equal(r.recall_at_k, (0.5 + 1) / 5, 1e-12);
    assert_double_equal(r.ndcg_at_k, (g2 / (1 + g2) + g2) / 5, 1e-12);
    assert_double_equal(r.coverage_at_k, 4.0 / 6, 1e-15);
    assert_double_equal(r.mean_log_degree, (4 * l2 + l3) / 10, 1e-12);
    assert_double_equal(r.catalogue_log_degree, (l2 + 2 * l3 + l4) / 6, 1e-12);
    eval_result_free(&r);

    /* no training pairs: no baseline, no degrees, coverage still there */
    o.train = NULL;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    assert_false(r.has_popularity);
    assert_null(r.popularity_scores);
    assert_true(isnan(r.popularity.all) || r.popularity.all == 0);
    assert_true(isnan(r.mean_log_degree) && isnan(r.catalogue_log_degree));
    assert_true(isfinite(r.coverage_at_k));
    eval_result_free(&r);
    pairs_free(&train);
    eval_labeled_free(&v);
    model_free(m);
}

/* A calibration that is the cosine (coef 0, 1, 0, 0, 0) ranks like the cosine; one that is
 * the candidate's log degree (0, 0, 1, 0, 0) ranks like the best-seller list. Either way the
 * ties go to the lower row, as in knn_topk and the popularity lists. By default eval ranks
 * as the model's calibration slice decided. */
static void test_rank_probability(void **state)
{
    (void)state;
    wr_model *m = circle_model();
    wr_labeled v;
    circle_validation(&v);
    wr_pairs train;
    circle_train(&train);
    double *deg = pairs_weighted_degree(&train); /* weights 1: the degrees */
    wr_eval_opts o;
    eval_default_opts(&o);
    o.k = 2;
    o.threads = 2;
    o.train = &train;
    wr_eval_result rc, rp;
    wr_err err;

    assert_int_equal(eval_model(m, &v, &o, &rc, &err), 0);
    o.rank = WR_RANK_PROBABILITY;
    assert_int_equal(eval_model(m, &v, &o, &rp, &err), -1);
    assert_non_null(strstr(err.msg, "calibrat"));

    wr_calib c = {.coef = {0, 1, 0, 0}};
    calib_store(m, &c, train.ids, deg);
    assert_int_equal(eval_model(m, &v, &o, &rp, &err), 0);
    assert_true(rp.has_probability);
    assert_int_equal(rp.rank, WR_RANK_PROBABILITY);
    assert_double_equal(rp.recall_at_k, rc.recall_at_k, 1e-15);
    assert_double_equal(rp.ndcg_at_k, rc.ndcg_at_k, 1e-15);
    assert_double_equal(rp.coverage_at_k, rc.coverage_at_k, 1e-15);
    assert_double_equal(rp.mean_log_degree, rc.mean_log_degree, 1e-15);
    /* the logit is the cosine: the same AUC on seen pairs; probabilities are
     * sigmoid(cosine), and pairs with Z (no vector) get the cosine cos_mean = 0. All pairs,
     * by the median rule (Z's pairs score the seen median, cos 100): positives {cos 20,
     * cos 100, cos 21, cos 100} against {cos 175, cos 165, cos 100}: (3 + 2.5 + 3 + 2.5) / 12 */
    assert_double_equal(rp.probability.seen, rc.auc_seen, 1e-15);
    assert_double_equal(rp.probability.all, 11.0 / 12, 1e-15);
    wr_eval_result rz; /* the zero rule: Z's pairs keep the logit of cos_mean 0 */
    o.unseen = WR_UNSEEN_ZERO;
    assert_int_equal(eval_model(m, &v, &o, &rz, &err), 0);
    assert_double_equal(rz.probability.all, 10.5 / 12, 1e-15);
    eval_result_free(&rz);
    o.unseen = WR_UNSEEN_MEDIAN;
    assert_double_equal(rp.probabilities[0], 1 / (1 + exp(-cosd(20))), 1e-6);
    assert_double_equal(rp.probabilities[5], 0.5, 0);
    assert_double_equal(rp.probabilities[6], 0.5, 0);
    eval_result_free(&rp);

    /* the default for a calibrated model: the order its slice found the better */
    c = (wr_calib){.coef = {0, 0, 1, 0}, .rank = WR_RANK_PROBABILITY};
    calib_store(m, &c, train.ids, deg);
    o.rank = WR_RANK_AUTO;
    assert_int_equal(eval_model(m, &v, &o, &rp, &err), 0);
    assert_int_equal(rp.rank, WR_RANK_PROBABILITY);
    assert_double_equal(rp.recall_at_k, rc.popularity_lists.recall, 1e-15);
    assert_double_equal(rp.ndcg_at_k, rc.popularity_lists.ndcg, 1e-15);
    assert_double_equal(rp.coverage_at_k, rc.popularity_lists.coverage, 1e-15);
    eval_result_free(&rp);
    c.rank = WR_RANK_COSINE;
    calib_store(m, &c, train.ids, deg);
    assert_int_equal(eval_model(m, &v, &o, &rp, &err), 0);
    assert_int_equal(rp.rank, WR_RANK_COSINE);
    assert_double_equal(rp.recall_at_k, rc.recall_at_k, 1e-15);
    eval_result_free(&rp);
    eval_result_free(&rc);
    free(deg);
    pairs_free(&train);
    eval_labeled_free(&v);
    model_free(m);
}

/* ECE of n probabilities with labels y in ten equal-width bins, each class weighing the
 * same: the definition in eval.h, written out once more. */
static double ece_of(const double *p, const int *y, int n)
{
    double cnt[2] = {0}, bw[10] = {0}, bp[10] = {0}, by[10] = {0}, e = 0;
    for (int i = 0; i < n; i++)
        cnt[y[i]]++;
    for (int i = 0; i < n; i++) {
        int b = (int)(p[i] * 10);
        bw[b] += 1 / cnt[y[i]];
        bp[b] += p[i] / cnt[y[i]];
        by[b] += y[i] / cnt[y[i]];
    }
    for (int b = 0; b < 10; b++)
        if (bw[b] > 0)
            e += bw[b] / 2 * fabs(by[b] / bw[b] - bp[b] / bw[b]);
    return e;
}

/* Brier score, ECE and reliability bins on a hand case: a calibration of the cosine alone
 * (cos_mean 0) over the circle's pairs. The table covers the five seen pairs, weighted 1/3
 * per positive and 1/2 per (uniform) negative; ece_all also the two pairs with Z, whose
 * cosine is imputed as 0, so their probability is 1/2. */
static void test_brier(void **state)
{
    (void)state;
    wr_model *m = circle_model();
    wr_labeled v;
    circle_validation(&v);
    wr_dict *ids = dict_new(4);
    double none = 0;
    wr_calib c = {.coef = {0, 2, 0, 0}};
    calib_store(m, &c, ids, &none);
    wr_eval_opts o;
    eval_default_opts(&o);
    o.max_queries = 0;
    wr_eval_result r;
    wr_err err;
    assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
    const double cs[] = {cosd(20), cosd(100), cosd(21), cosd(175), cosd(165), 0, 0};
    const int y[] = {1, 1, 1, 0, 0, 1, 0};
    double b = 0, p[7];
    for (int i = 0; i < 7; i++) {
        p[i] = 1 / (1 + exp(-2 * cs[i]));
        if (i < 5)
            b += (y[i] ? 1.0 / 3 : 1.0 / 2) * (p[i] - y[i]) * (p[i] - y[i]);
    }
    assert_int_equal(r.brier_pairs, 5);
    assert_double_equal(r.brier, b / 2, 1e-7); /* float32 vectors */
    assert_double_equal(r.brier_constant, 0.25, 1e-15);
    assert_double_equal(r.ece, ece_of(p, y, 5), 1e-7);
    assert_double_equal(r.ece_all, ece_of(p, y, 7), 1e-7);
    assert_true(r.ece_all != r.ece);
    /* sigmoid(2 cos): 0.87, 0.41, 0.87, 0.12, 0.13 -> bins 8, 4, 8, 1, 1 */
    size_t total = 0;
    for (int i = 0; i < WR_EVAL_BINS; i++)
        total += r.reliability[i].count;
    assert_int_equal(total, 5);
    assert_int_equal(r.reliability[8].count, 2);
    assert_int_equal(r.reliability[4].count, 1);
    assert_int_equal(r.reliability[1].count, 2);
    assert_int_equal(r.reliability[5].count, 0);
    assert_double_equal(r.reliability[8].observed, 1, 1e-15);
    assert_double_equal(r.reliability[1].observed, 0, 1e-15);
    assert_double_equal(r.reliability[4].mean_predicted, p[1], 1e-7);
    assert_true(isnan(r.reliability[0].observed) && isnan(r.reliability[5].observed));
    eval_result_free(&r);
    dict_free(ids);
    eval_labeled_free(&v);
    model_free(m);
}

/* Chung-Lu graph: both ends of each pair drawn by a power-law weight, nothing else. */
static void chung_lu(wr_pairs *p, uint32_t items, size_t draws, double alpha, uint64_t seed)
{
    wr_rng rng;
    rng_seed(&rng, seed);
    double *cum = malloc(items * sizeof *cum), total = 0;
    for (uint32_t i = 0; i < items; i++)
        cum[i] = total += pow(1.0 + i, -alpha);
    pairs_init(p);
    char a[32];
    for (uint32_t i = 0; i < items; i++) {
        snprintf(a, sizeof a, "n%u", i);
        dict_intern(p->ids, a, strlen(a));
    }
    for (size_t e = 0; e < draws; e++) {
        uint32_t x[2];
        for (int s = 0; s < 2; s++) {
            double u = rng_double(&rng) * total;
            uint32_t lo = 0, hi = items - 1;
            while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;
                if (cum[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            x[s] = lo;
        }
        pairs_add_idx(p, x[0], x[1], 1);
    }
    pairs_merge(p);
    free(cum);
}

/* On a synthetic graph whose pairs follow popularity and nothing else, popularity separates
 * held-out pairs from uniform negatives well and from degree-matched ones not at all: AUC
 * within 0.45-0.55, on several splits. */
static void test_popularity_degree_negatives(void **state)
{
    (void)state;
    wr_pairs p;
    chung_lu(&p, 5000, 30000, 0.5, 77);
    wr_model *m = model_new(dict_size(p.ids), 4);
    wr_rng rng;
    rng_seed(&rng, 1);
    for (uint32_t i = 0; i < m->n; i++) {
        dict_intern(m->ids, dict_str(p.ids, i), dict_strlen(p.ids, i));
        for (int d = 0; d < 4; d++)
            m->vecs[i * 4 + d] = rng_float(&rng) - 0.5f;
    }
    for (uint64_t seed = 1; seed <= 3; seed++) {
        wr_pairs train;
        wr_valset val;
        wr_err err;
        wr_split_opts so = {.val_frac = 0.33, .seed = seed, .negatives = WR_NEG_BOTH};
        assert_int_equal(split_pairs(&p, &so, &train, &val, &err), 0);
        wr_labeled v = {.n = val.n};
        v.a = malloc(v.n * sizeof *v.a);
        v.b = malloc(v.n * sizeof *v.b);
        v.label = val.label;
        v.kind = val.kind;
        for (size_t i = 0; i < v.n; i++) {
            v.a[i] = strdup(dict_str(p.ids, val.a[i]));
            v.b[i] = strdup(dict_str(p.ids, val.b[i]));
        }
        val.label = val.kind = NULL;
        wr_eval_opts o;
        eval_default_opts(&o);
        o.max_queries = 0;
        o.train = &train;
        wr_eval_result r;
        assert_int_equal(eval_model(m, &v, &o, &r, &err), 0);
        print_message("split %llu: popularity AUC uniform %.4f, degree-matched %.4f; random "
                      "vectors %.4f / %.4f\n", (unsigned long long)seed, r.popularity.all,
                      r.popularity.degree_all, r.auc_all, r.deg_auc_all);
        assert_true(r.popularity.all > 0.65);
        assert_true(r.popularity.degree_all > 0.45 && r.popularity.degree_all < 0.55);
        assert_true(fabs(r.deg_auc_all - 0.5) < 0.05);
        eval_result_free(&r);
        eval_labeled_free(&v);
        split_valset_free(&val);
        pairs_free(&train);
    }
    model_free(m);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc_hand),       cmocka_unit_test(test_auc_random),
        cmocka_unit_test(test_scores_median),  cmocka_unit_test(test_retrieval),
        cmocka_unit_test(test_nothing_seen),   cmocka_unit_test(test_labeled_read),
        cmocka_unit_test(test_labeled_kinds),  cmocka_unit_test(test_popularity),
        cmocka_unit_test(test_rank_probability), cmocka_unit_test(test_brier),
        cmocka_unit_test(test_popularity_degree_negatives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
