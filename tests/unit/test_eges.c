/* test_eges.c - side information: features from the items table, and skip-gram with side
 * information placing cold items (no training pairs) by their category. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "walkrec/eges.h"
#include "walkrec/eval.h"
#include "walkrec/rng.h"
#include "walkrec/synth.h"

#include "tmpdir.h"

/* The values of item `id` in field `f` (up to 8), their count returned. */
static int values_in(const wr_eges_features *s, const char *id, uint32_t f, uint32_t *out)
{
    int64_t i = dict_find(s->items, id, strlen(id));
    assert_true(i >= 0);
    int n = 0;
    for (uint64_t k = s->off[i]; k < s->off[i + 1]; k++)
        if (s->value_field[s->val[k]] == f && n < 8)
            out[n++] = s->val[k];
    return n;
}

static void test_features(void **state)
{
    (void)state;
    const char *path = tmpdir_write("items.tsv",
        "item\tcategory\tbrand\tprice\ttitle\n"
        "a\tX > Y > Z\tAcme\t$1,250.00\tRed Heart Bag\n"
        "b\tX > Y\t\t3.5\tred bag, RED\n"
        "c\t\tAcme\tjunk\t\n"
        "d\tQ|R\tOther\t$5.00 - $10.00\tHEART\n", 0);
    wr_err err;
    wr_side *t = side_load(path, NULL, &err);
    assert_non_null(t);
    wr_eges_features s;
    assert_int_equal(eges_features_build(&s, t, NULL, &err), 0);
    assert_int_equal(dict_size(s.items), 4);
    assert_int_equal(s.ncols, 4);
    assert_string_equal(s.col[0].name, "category");
    assert_int_equal(s.col[0].kind, WR_EGES_PATH);
    assert_int_equal(s.col[0].levels, 3);
    assert_int_equal(s.col[1].kind, WR_EGES_VALUE);
    assert_int_equal(s.col[2].kind, WR_EGES_BUCKET);
    assert_int_equal(s.col[3].kind, WR_EGES_WORDS);
    assert_int_equal(s.nfields, 6); /* category[1..3], brand, price, title */
    char name[64];
    eges_field_name(&s, 1, name, sizeof name);
    assert_string_equal(name, "category[2]");

    uint32_t va[8], vb[8], vc[8], vd[8];
    /* path levels: "X > Y" is one value for a and b; Q|R uses the other separator */
    assert_int_equal(values_in(&s, "a", 1, va), 1);
    assert_int_equal(values_in(&s, "b", 1, vb), 1);
    assert_int_equal(va[0], vb[0]);
    assert_int_equal(values_in(&s, "b", 2, vb), 0);
    assert_int_equal(values_in(&s, "d", 1, vd), 1);
    assert_int_not_equal(vd[0], va[0]);
    /* an empty cell is no value at all, not a shared "missing" one */
    assert_int_equal(values_in(&s, "b", 3, vb), 0);
    assert_int_equal(values_in(&s, "c", 0, vc), 0);
    assert_int_equal(values_in(&s, "c", 3, vc), 1);
    assert_int_equal(values_in(&s, "a", 3, va), 1);
    assert_int_equal(va[0], vc[0]);
    /* price: "junk" is no value; a range counts at its low end; 4 numbers, distinct buckets */
    assert_int_equal(values_in(&s, "c", 4, vc), 0);
    assert_int_equal(values_in(&s, "a", 4, va), 1);
    assert_int_equal(values_in(&s, "d", 4, vd), 1);
    assert_int_not_equal(va[0], vd[0]);
    /* words: lower-cased, each once */
    assert_int_equal(values_in(&s, "a", 5, va), 3);
    assert_int_equal(values_in(&s, "b", 5, vb), 2);
    assert_int_equal(values_in(&s, "d", 5, vd), 1);
    assert_int_equal(s.off[4], 1 + 1 + 1 + 1 + 1 + 3 + /* b */ 2 + 1 + 2 + /* c */ 1 +
                               /* d */ 2 + 1 + 1 + 1);
    eges_features_free(&s);

    /* a chosen subset with a forced kind */
    assert_int_equal(eges_features_build(&s, t, "price:value,brand", &err), 0);
    assert_int_equal(s.ncols, 2);
    assert_int_equal(s.col[0].kind, WR_EGES_VALUE);
    assert_int_equal(values_in(&s, "c", 0, vc), 1); /* "junk" is a value now */
    eges_features_free(&s);
    side_free(t);
}

/* Column choices that are refused; a file side_load refuses, named by eges_train_file's
 * message. */
static void test_features_errors(void **state)
{
    (void)state;
    const char *path = tmpdir_write("ok.tsv", "item\tbrand\na\tAcme\n", 0);
    static const struct {
        const char *columns, *msg;
    } cases[] = {
        {"brand,nosuch", "nosuch"},
        {"brand,brand", "repeated"},
        {"brand:colour", "colour"},
        {"item", "item"},
    };
    wr_err err;
    wr_side *t = side_load(path, NULL, &err);
    assert_non_null(t);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        wr_eges_features s;
        assert_int_equal(eges_features_build(&s, t, cases[k].columns, &err), -1);
        assert_non_null(strstr(err.msg, cases[k].msg));
        assert_null(s.col);
    }
    side_free(t);
}

/* ---- training on a planted catalogue ---- */

#define ITEMS 800
#define CATS 10

typedef struct world {
    wr_pairs all, train;
    uint32_t *cat;      /* by index of all.ids */
    const char *items;  /* the side file */
} world;

/* Items i % 5 == 0 (20%) lose all their pairs (cold); items i % 10 == 1 have no category. */
static int is_cold(uint32_t i) { return i % 5 == 0; }
static int no_side(uint32_t i) { return i % 10 == 1; }

static void make_world(world *w)
{
    wr_synth_opts so;
    synth_default_opts(&so);
    so.items = ITEMS;
    so.pairs = 8000;
    so.categories = CATS;
    so.in_category = 0.7;
    so.seed = 7;
    wr_err err;
    pairs_init(&w->all);
    assert_int_equal(synth_generate(&so, &w->all, &w->cat, &err), 0);
    pairs_init(&w->train);
    for (size_t k = 0; k < w->all.n; k++) {
        const wr_pair *q = &w->all.v[k];
        if (is_cold(q->a) || is_cold(q->b))
            continue;
        const char *a = dict_str(w->all.ids, q->a), *b = dict_str(w->all.ids, q->b);
        pairs_add(&w->train, a, strlen(a), b, strlen(b), q->w);
    }
    pairs_merge(&w->train);
    size_t cap = 64 + (size_t)ITEMS * 32, len = 0;
    char *text = xmalloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "item\tcategory\n");
    for (uint32_t i = 0; i < ITEMS; i++) {
        const char *id = dict_str(w->all.ids, i);
        if (no_side(i))
            len += (size_t)snprintf(text + len, cap - len, "%s\t\n", id);
        else
            len += (size_t)snprintf(text + len, cap - len, "%s\tc%u\n", id, w->cat[i]);
    }
    w->items = tmpdir_write("planted.tsv", text, 0);
    free(text);
}

static void free_world(world *w)
{
    pairs_free(&w->all);
    pairs_free(&w->train);
    free(w->cat);
}

static wr_train_opts small_opts(void)
{
    wr_train_opts o;
    train_default_opts(&o);
    o.walk.threads = o.sgns.threads = 1;
    o.sgns.dim = 32;
    return o;
}

static double cosine(const wr_model *m, int64_t a, int64_t b)
{
    const float *x = m->vecs + (size_t)a * m->dim, *y = m->vecs + (size_t)b * m->dim;
    double xy = 0, xx = 0, yy = 0;
    for (uint32_t d = 0; d < m->dim; d++) {
        xy += (double)x[d] * y[d];
        xx += (double)x[d] * x[d];
        yy += (double)y[d] * y[d];
    }
    return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
}

/* The share of item i's 10 nearest trained items (by cosine) in its own category. */
static double same_category_top10(const world *w, const wr_model *m, uint32_t i)
{
    int64_t ri = model_find(m, dict_str(w->all.ids, i));
    double best[10];
    uint32_t who[10], n = 0;
    for (uint32_t j = 0; j < ITEMS; j++) {
        const char *id = dict_str(w->all.ids, j);
        if (j == i || dict_find(w->train.ids, id, strlen(id)) < 0)
            continue;
        double c = cosine(m, ri, model_find(m, id));
        uint32_t p = n < 10 ? n++ : 10;
        while (p > 0 && best[p - 1] < c) {
            if (p < 10) {
                best[p] = best[p - 1];
                who[p] = who[p - 1];
            }
            p--;
        }
        if (p < 10) {
            best[p] = c;
            who[p] = j;
        }
    }
    uint32_t same = 0;
    for (uint32_t k = 0; k < n; k++)
        same += w->cat[who[k]] == w->cat[i];
    return n ? (double)same / n : 0;
}

static void test_cold_items(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    wr_train_opts o = small_opts();
    wr_train_times t;
    wr_err err;
    wr_model *m = eges_train_file(&w.train, w.items, NULL, &o, &t, &err);
    assert_non_null(m);
    assert_true(t.train > 0 && t.tokens > 0);

    /* every item with a category or training pairs has a row; cold ones sit among their
     * category's trained items */
    uint32_t ncold = 0, nplain = 0;
    double cold_share = 0, plain_share = 0;
    for (uint32_t i = 0; i < ITEMS; i++) {
        const char *id = dict_str(w.all.ids, i);
        int trained = dict_find(w.train.ids, id, strlen(id)) >= 0;
        if (!trained && no_side(i)) {
            assert_true(model_find(m, id) < 0);
            continue;
        }
        assert_true(model_find(m, id) >= 0);
        if (!trained) {
            ncold++;
            cold_share += same_category_top10(&w, m, i);
        } else if (no_side(i)) {
            nplain++;
            plain_share += same_category_top10(&w, m, i);
        }
    }
    assert_true(ncold >= ITEMS / 5 - ITEMS / 10);
    cold_share /= ncold;
    plain_share /= nplain;
    print_message("cold items %u: %.3f of top-10 in their category; without side info %u: %.3f\n",
                  ncold, cold_share, nplain, plain_share);
    assert_true(cold_share > 0.8);
    /* items without side information learn from the walks alone (chance is 1/CATS) */
    assert_true(plain_share > 0.5);

    /* pairs with a cold item: held-out pairs against random non-pairs of the same item */
    size_t n = 0;
    double *score = xmalloc(2 * w.all.n * sizeof *score);
    uint8_t *label = xmalloc(2 * w.all.n);
    wr_rng r;
    rng_seed(&r, 3);
    for (size_t k = 0; k < w.all.n; k++) {
        uint32_t a = w.all.v[k].a, b = w.all.v[k].b, c;
        if (!(is_cold(a) || is_cold(b)) || no_side(a) || no_side(b))
            continue;
        uint32_t x = is_cold(a) ? a : b;
        do
            c = rng_below(&r, ITEMS);
        while (c == x || no_side(c));
        int64_t rx = model_find(m, dict_str(w.all.ids, x));
        score[n] = cosine(m, model_find(m, dict_str(w.all.ids, a)), model_find(m, dict_str(w.all.ids, b)));
        label[n++] = 1;
        score[n] = cosine(m, rx, model_find(m, dict_str(w.all.ids, c)));
        label[n++] = 0;
    }
    double auc = eval_auc_roc(score, label, n);
    print_message("AUC on %zu pairs with a cold item: %.3f\n", n, auc);
    assert_true(n > 1000);
    assert_true(auc > 0.75);
    free(score);
    free(label);

    /* the metadata counts the kinds of rows */
    json_t *meta = json_loads(m->meta_json, 0, NULL), *side = json_object_get(meta, "side_info");
    assert_non_null(side);
    assert_int_equal(json_integer_value(json_object_get(side, "cold_items")), ncold);
    assert_int_equal(json_integer_value(json_object_get(side, "trained_without_side_info")), nplain);
    json_t *fields = json_object_get(side, "fields");
    assert_int_equal(json_array_size(fields), 2);
    double wid = json_real_value(json_object_get(json_array_get(fields, 0), "mean_weight"));
    double wcat = json_real_value(json_object_get(json_array_get(fields, 1), "mean_weight"));
    assert_true(wid > 0 && wcat > 0 && wid < 1 && wcat < 1);
    json_decref(meta);
    model_free(m);
    free_world(&w);
}

static void test_repeatable(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    wr_train_opts o = small_opts();
    o.sgns.epochs = 2;
    wr_err err;
    wr_model *a = eges_train_file(&w.train, w.items, NULL, &o, NULL, &err);
    wr_model *b = eges_train_file(&w.train, w.items, NULL, &o, NULL, &err);
    o.sgns.seed = o.walk.seed = 2;
    wr_model *c = eges_train_file(&w.train, w.items, NULL, &o, NULL, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->vecs, b->vecs, (size_t)a->n * a->dim * sizeof(float));
    assert_int_equal(a->n, c->n);
    assert_memory_not_equal(a->vecs, c->vecs, (size_t)a->n * a->dim * sizeof(float));
    model_free(a);
    model_free(b);
    model_free(c);
    free_world(&w);
}

static void test_train_errors(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    wr_train_opts o = small_opts();
    wr_err err;
    o.sgns.mode = WR_MODE_CBOW;
    assert_null(eges_train_file(&w.train, w.items, NULL, &o, NULL, &err));
    assert_non_null(strstr(err.msg, "CBOW"));
    o = small_opts();
    assert_null(eges_train_file(&w.train, w.items, "colour", &o, NULL, &err));
    assert_non_null(strstr(err.msg, "colour"));
    assert_non_null(strstr(err.msg, w.items)); /* the file named */
    free_world(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_features_errors),
        cmocka_unit_test(test_cold_items),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_train_errors),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
