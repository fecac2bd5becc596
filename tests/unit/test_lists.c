/* test_lists.c - a catalogue's neighbour lists: exact ones against brute force in both
 * orders, approximate ones by probability against exact ones (their recall, and what the
 * popular candidates add), stored in a model file and served from the mapping without a
 * rebuild. */
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

#include "walkrec/index.h"
#include "walkrec/lists.h"
#include "walkrec/rng.h"

#define N 4000
#define DIM 32
#define CLUSTERS 50

static float unit[N * DIM], logdeg[N];
static wr_calib cal;

static double gauss(wr_rng *r)
{
    double u = rng_double(r) + 1e-300, v = rng_double(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Clustered unit vectors, power-law popularity, and a calibration in which popularity
 * matters as much as the cosine (as fitted on basket data). */
static int setup(void **state)
{
    (void)state;
    wr_rng r;
    rng_seed(&r, 11);
    static float centre[CLUSTERS * DIM];
    for (size_t i = 0; i < CLUSTERS * DIM; i++)
        centre[i] = (float)gauss(&r);
    for (size_t i = 0; i < N; i++) {
        const float *c = centre + rng_below(&r, CLUSTERS) * DIM;
        double ss = 0;
        for (size_t d = 0; d < DIM; d++) {
            unit[i * DIM + d] = c[d] + 0.7f * (float)gauss(&r);
            ss += (double)unit[i * DIM + d] * unit[i * DIM + d];
        }
        for (size_t d = 0; d < DIM; d++)
            unit[i * DIM + d] = (float)(unit[i * DIM + d] / sqrt(ss));
        logdeg[i] = (float)log1p(2000.0 / (1 + rng_below(&r, N))); /* Zipf-like */
    }
    cal = (wr_calib){.coef = {-4, 6, 0.9, -0.2, 0}, .rank = WR_RANK_PROBABILITY};
    wr_quiet = 1;
    return 0;
}

static wr_lists_input input(void) { return (wr_lists_input){unit, N, DIM, &cal, logdeg}; }

/* Exact lists are brute force, in either order. */
static void test_exact(void **state)
{
    (void)state;
    wr_lists_input in = input();
    wr_lists_opts o;
    lists_default_opts(&o);
    o.k = 15;
    o.threads = 2;
    for (int rank = WR_RANK_COSINE; rank <= WR_RANK_PROBABILITY; rank++) {
        wr_lists l;
        wr_err err;
        assert_int_equal(lists_build(&in, rank, &o, &l, &err), 0);
        assert_false(l.approximate);
        assert_int_equal(l.k, 15);
        for (uint32_t q = 0; q < N; q += 97) {
            /* brute force: every other row by the order's score */
            double best = INFINITY;
            for (uint32_t i = 0; i < l.k; i++) {
                uint32_t it = l.item[(size_t)q * l.k + i];
                assert_true(it < N && it != q);
                double cos = 0;
                for (size_t d = 0; d < DIM; d++)
                    cos += (double)unit[q * DIM + d] * unit[it * DIM + d];
                assert_true(fabs(cos - l.score[(size_t)q * l.k + i]) < 1e-5);
                double s = rank == WR_RANK_COSINE ? cos
                                                   : calib_logit(&cal, cos, logdeg[q], logdeg[it], 0);
                assert_true(s <= best + 1e-5);
                best = s;
            }
            size_t beaten = 0; /* rows outside the list that beat its last */
            for (uint32_t j = 0; j < N; j++) {
                double cos = 0;
                for (size_t d = 0; d < DIM; d++)
                    cos += (double)unit[q * DIM + d] * unit[j * DIM + d];
                double s = rank == WR_RANK_COSINE ? cos
                                                   : calib_logit(&cal, cos, logdeg[q], logdeg[j], 0);
                beaten += j != q && s > best + 1e-5;
            }
            assert_true(beaten <= l.k - 1);
        }
        assert_true(lists_recall(&in, &l, 300, 2) == 1.0);
        lists_free(&l);
    }
}

/* Approximate lists by probability reach the recall asked of them; without the popular
 * candidates the cells alone miss the best-sellers the probability ranks high. */
static void test_approximate_probability(void **state)
{
    (void)state;
    wr_lists_input in = input();
    wr_lists_opts o;
    lists_default_opts(&o);
    o.k = 20;
    o.threads = 2;
    o.exact_max_items = N - 1;
    o.min_recall = 0;
    o.probe = 4;
    o.popular = 0;
    wr_lists bare, full;
    wr_err err;
    assert_int_equal(lists_build(&in, WR_RANK_PROBABILITY, &o, &bare, &err), 0);
    o.popular = 256;
    assert_int_equal(lists_build(&in, WR_RANK_PROBABILITY, &o, &full, &err), 0);
    print_message("probability, probe 4: recall@10 %.4f without popular items, %.4f with 256\n",
                  bare.recall_at_10, full.recall_at_10);
    assert_true(full.approximate && full.recall_sample == 1000);
    assert_true(full.recall_at_10 > bare.recall_at_10);
    assert_true(full.recall_at_10 >= 0.98);
    /* the scores are cosines, best first by probability */
    for (uint32_t q = 0; q < N; q += 131)
        for (uint32_t i = 1; i < full.k; i++) {
            uint32_t a = full.item[(size_t)q * full.k + i - 1], b = full.item[(size_t)q * full.k + i];
            assert_true(calib_logit(&cal, full.score[(size_t)q * full.k + i - 1], logdeg[q],
                                    logdeg[a], 0) >=
                        calib_logit(&cal, full.score[(size_t)q * full.k + i], logdeg[q],
                                    logdeg[b], 0) - 1e-4);
        }
    /* below the minimum recall, built again with twice the probe and popular items */
    o.popular = 0;
    o.probe = 1;
    o.min_recall = 0.99;
    wr_lists again;
    assert_int_equal(lists_build(&in, WR_RANK_PROBABILITY, &o, &again, &err), 0);
    assert_true(again.rounds >= 2);
    assert_true(again.recall_at_10 >= 0.99 || again.probe == again.cells);
    json_t *d = lists_describe(&again);
    wr_lists back = {0};
    assert_int_equal(lists_read_description(d, &back), 0);
    assert_true(back.k == again.k && back.approximate && back.rank == WR_RANK_PROBABILITY &&
                back.rounds == again.rounds && back.probe == again.probe);
    json_decref(d);
    lists_free(&bare);
    lists_free(&full);
    lists_free(&again);
}

/* Lists attached to a model are saved with it; a mapped model's are served in place. */
static void test_stored_and_mapped(void **state)
{
    (void)state;
    wr_model *m = model_new(N, DIM);
    for (uint32_t i = 0; i < N; i++) {
        char id[16];
        int n = snprintf(id, sizeof id, "i%05u", i);
        dict_intern(m->ids, id, (size_t)n);
    }
    for (size_t i = 0; i < (size_t)N * DIM; i++)
        m->vecs[i] = 3 * unit[i]; /* not unit: the model keeps its own vectors */
    wr_lists_opts o;
    lists_default_opts(&o);
    o.k = 10;
    o.threads = 2;
    wr_lists l;
    wr_err err;
    assert_int_equal(lists_attach(m, WR_RANK_AUTO, &o, &l, &err), 0);
    assert_int_equal(l.rank, WR_RANK_COSINE); /* uncalibrated */
    char path[] = "/tmp/test_lists.XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(model_save(m, path, &err), 0);
    wr_model *mm = model_map(path, &err);
    assert_non_null(mm);
    assert_non_null(mm->map);
    assert_int_equal(mm->list_k, 10);
    assert_memory_equal(mm->list_item, m->list_item, (size_t)N * 10 * sizeof(uint32_t));
    assert_memory_equal(mm->unit, m->unit, (size_t)N * DIM * sizeof(float));
    /* a copy-loading reader skips the lists */
    wr_model *loaded = model_load(path, &err);
    assert_non_null(loaded);
    assert_null(loaded->list_item);
    model_free(loaded);

    wr_index_opts io;
    index_default_opts(&io);
    io.k = 10;
    io.threads = 1;
    wr_index *ix = index_build(mm, 1, path, &io, &err);
    assert_non_null(ix);
    const wr_index_info *in = index_info(ix);
    assert_true(in->lists_stored && in->k == 10 && !strcmp(in->kind, "exact"));
    wr_filter f = index_filter_none();
    wr_hit h[10];
    assert_int_equal(index_neighbors(ix, 17, 10, &f, h), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(h[i].item, m->list_item[17 * 10 + i]);
    index_free(ix);
    /* other settings than the stored lists': built anew */
    io.k = 12;
    ix = index_build(model_map(path, &err), 1, path, &io, &err);
    assert_non_null(ix);
    assert_false(index_info(ix)->lists_stored);
    assert_int_equal(index_info(ix)->k, 12);
    index_free(ix);
    /* a damaged list entry is found by the checks */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, -4, SEEK_END);
    uint32_t bogus = N + 5;
    fwrite(&bogus, 4, 1, fp);
    fclose(fp);
    assert_null(model_map(path, &err));
    assert_int_equal(err.code, WR_ECORRUPT);
    unlink(path);
    model_free(m);
}

static wr_model *clustered_model(void)
{
    wr_model *m = model_new(N, DIM);
    for (uint32_t i = 0; i < N; i++) {
        char id[16];
        int n = snprintf(id, sizeof id, "i%05u", i);
        dict_intern(m->ids, id, (size_t)n);
    }
    memcpy(m->vecs, unit, sizeof unit);
    return m;
}

static double cosine(uint32_t a, uint32_t b)
{
    double d = 0;
    for (int t = 0; t < DIM; t++)
        d += (double)unit[a * DIM + t] * unit[b * DIM + t];
    return d;
}

/* The lists back to orig (items and their cosines). */
static void reset(wr_model *m, const uint32_t *orig)
{
    for (uint32_t q = 0; q < N; q++)
        for (int i = 0; i < 20; i++) {
            m->list_item[q * 20 + i] = orig[q * 20 + i];
            m->list_score[q * 20 + i] = (float)cosine(q, orig[q * 20 + i]);
        }
}

/* Anchoring keeps incumbents within the margin (an uncalibrated model: the margin over 10
 * on the cosine): ranks 11-20 as incumbents change nothing at margin 0, take the first ten
 * at a margin no cosine gap reaches, and at 0.5 the first ten are the ten best of cosine +
 * 0.05 for an incumbent; an incumbent missing from the list joins it. */
static void test_anchor(void **state)
{
    (void)state;
    wr_lists_opts o;
    lists_default_opts(&o);
    o.k = 20;
    o.threads = 2;
    wr_err err;
    wr_model *m = clustered_model();
    assert_int_equal(lists_attach(m, WR_RANK_COSINE, &o, NULL, &err), 0);
    size_t cells = (size_t)N * 20;
    uint32_t *orig = malloc(cells * sizeof *orig), *inc = malloc((size_t)N * 10 * sizeof *inc);
    memcpy(orig, m->list_item, cells * sizeof *orig);
    for (uint32_t q = 0; q < N; q++)
        memcpy(inc + q * 10, orig + q * 20 + 10, 10 * sizeof *inc);
    assert_int_equal(lists_anchor(m, WR_RANK_COSINE, inc, 10, 0), 0);
    assert_memory_equal(m->list_item, orig, cells * sizeof *orig);

    size_t changed = lists_anchor(m, WR_RANK_COSINE, inc, 10, 0.5);
    print_message("margin 0.5 (0.05 on the cosine): %zu of %d first-ten lists changed\n", changed, N);
    assert_true(changed > 0);
    for (uint32_t q = 0; q < N; q += 13) {
        /* brute force: the 20 by cosine, + 0.05 for an incumbent (ranks 11-20); the new
         * first ten are the ten best keys, best first */
        double key[20];
        for (int i = 0; i < 20; i++)
            key[i] = cosine(q, orig[q * 20 + i]) + (i >= 10 ? 0.05 : 0);
        for (int i = 0; i < 10; i++) {
            int best = -1;
            for (int j = 0; j < 20; j++)
                if (key[j] > -INFINITY && (best < 0 || key[j] > key[best]))
                    best = j;
            assert_int_equal(m->list_item[q * 20 + i], orig[q * 20 + best]);
            key[best] = -INFINITY;
        }
    }
    /* a margin no gap reaches: the incumbents lead, in their own order */
    reset(m, orig);
    assert_int_equal(lists_anchor(m, WR_RANK_COSINE, inc, 10, 100), N);
    for (uint32_t q = 0; q < N; q += 7)
        assert_memory_equal(m->list_item + q * 20, inc + q * 10, 10 * sizeof *inc);
    /* an incumbent the list does not hold: the farthest row from row 0 joins at the top */
    reset(m, orig);
    uint32_t far = 1;
    for (uint32_t i = 1; i < N; i++)
        if (cosine(0, i) < cosine(0, far))
            far = i;
    for (uint32_t q = 0; q < N; q++)
        for (int i = 0; i < 10; i++)
            inc[q * 10 + i] = q == 0 && i == 0 ? far : UINT32_MAX;
    lists_anchor(m, WR_RANK_COSINE, inc, 10, 100);
    assert_int_equal(m->list_item[0], far);
    assert_true(fabsf(m->list_score[0] - (float)cosine(0, far)) < 1e-5f);
    assert_memory_equal(m->list_item + 1, orig, 19 * sizeof *orig);
    free(orig);
    free(inc);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_approximate_probability),
        cmocka_unit_test(test_stored_and_mapped),
        cmocka_unit_test(test_anchor),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
