/* test_generations.c - the files of a data directory: names, CURRENT, listing, moving,
 * pruning, temporaries, side files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "walkrec/generations.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/wr-gen-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void touch(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
}

static int exists(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void test_names(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        uint64_t gen;
    } cases[] = {
        {"var/model-12.wr", 12}, {"model-1.wr", 1},   {"/a/model-0.wr", 0},
        {"model-.wr", 0},        {"model-3x.wr", 0},  {"candidate-4.wr", 0},
        {"model-5.wr.tmp.9", 0}, {"model-5", 0},      {"m/odel-5.wr", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (generations_of(cases[i].path) != cases[i].gen)
            fail_msg("%s: %llu", cases[i].path, (unsigned long long)generations_of(cases[i].path));
    char *p = generations_path("d", 7, 0), *c = generations_path("d", 7, 1);
    char *s = generations_sidecar(p), *t = generations_sidecar("odd");
    assert_string_equal(p, "d/model-7.wr");
    assert_string_equal(c, "d/candidate-7.wr");
    assert_string_equal(s, "d/model-7.items.tsv");
    assert_string_equal(t, "odd.items.tsv");
    free(p);
    free(c);
    free(s);
    free(t);
}

static void test_list_current_move_prune(void **state)
{
    (void)state;
    wr_err err;
    const char *files[] = {"model-10.wr", "model-2.wr", "model-3.wr", "candidate-4.wr",
                           "candidate-11.wr", "model-5.items.tsv", "notes.txt", "model-x.wr"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        touch(files[i]);
    uint64_t *g, *c;
    size_t nc, n = generations_list(dir, &g, &c, &nc);
    assert_int_equal(n, 3);
    assert_int_equal(nc, 2);
    assert_true(g[0] == 2 && g[1] == 3 && g[2] == 10);
    assert_true(c[0] == 4 && c[1] == 11);
    free(g);
    free(c);
    /* no CURRENT: the newest; CURRENT: its generation; CURRENT naming a missing file: the
     * newest again */
    assert_int_equal(generations_current(dir), 0);
    assert_int_equal(generations_serving(dir), 10);
    assert_int_equal(generations_set_current(dir, 3, &err), 0);
    assert_int_equal(generations_current(dir), 3);
    assert_int_equal(generations_serving(dir), 3);
    assert_int_equal(generations_set_current(dir, 9, &err), 0);
    assert_int_equal(generations_serving(dir), 10);
    assert_int_equal(generations_next(dir, 1), 12);
    assert_int_equal(generations_next(dir, 40), 40);
    /* a candidate published and demoted again, with its side file */
    touch("candidate-4.items.tsv");
    assert_int_equal(generations_move(dir, 4, 1, &err), 0);
    assert_true(exists("model-4.wr") && exists("model-4.items.tsv") && !exists("candidate-4.wr"));
    assert_int_equal(generations_move(dir, 4, 0, &err), 0);
    assert_true(exists("candidate-4.wr") && exists("candidate-4.items.tsv"));
    assert_int_equal(generations_move(dir, 99, 1, &err), -1);
    assert_int_equal(err.code, WR_ENOTFOUND);
    /* keep 1: generations 2 and 3 would go, but 2 is the live one; candidate 4 goes */
    generations_prune(dir, 1, 2, 0);
    assert_true(exists("model-2.wr") && !exists("model-3.wr") && exists("model-10.wr"));
    assert_true(!exists("candidate-4.wr") && !exists("candidate-4.items.tsv"));
    assert_true(exists("candidate-11.wr"));
}

static void test_temporaries_and_dirs(void **state)
{
    (void)state;
    wr_err err;
    touch("model-20.wr.tmp.123");
    touch("CURRENT.tmp.9");
    generations_remove_temporaries(dir);
    assert_false(exists("model-20.wr.tmp.123"));
    assert_false(exists("CURRENT.tmp.9"));
    char deep[128];
    snprintf(deep, sizeof deep, "%s/a/b/c", dir);
    assert_int_equal(generations_make_dir(deep, &err), 0);
    assert_int_equal(generations_make_dir(deep, &err), 0);
    snprintf(deep, sizeof deep, "%s/notes.txt/x", dir);
    assert_int_equal(generations_make_dir(deep, &err), -1);
    assert_int_equal(err.code, WR_EIO);
}

static void read_text(const char *path, char *text, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, cap - 1, f);
    fclose(f);
    text[n] = 0;
}

static void test_sidecar(void **state)
{
    (void)state;
    wr_pairs p;
    wr_err err;
    pairs_init(&p);
    pairs_add(&p, "a", 1, "b", 1, 1);
    pairs_add(&p, "a", 1, "c", 1, 2);
    pairs_merge(&p);
    uint32_t cat[] = {4, 5};
    char path[128];
    snprintf(path, sizeof path, "%s/model-30.items.tsv", dir);
    assert_int_equal(generations_write_sidecar(path, &p, cat, 2, NULL, &err), 0);
    char text[256];
    read_text(path, text, sizeof text);
    assert_string_equal(text, "item\tdegree\tcategory\na\t2\tc0004\nb\t1\tc0005\nc\t1\t\n");

    /* An items file's columns go in, its category replacing the catalogue's; rows of
     * items the pairs lack stay out, items it lacks get empty cells. */
    char items_path[128];
    snprintf(items_path, sizeof items_path, "%s/items.tsv", dir);
    FILE *f = fopen(items_path, "w");
    fputs("item\tcategory\tbrand\nc\tCables\tAcme\nzz\tOther\tNone\na\tPhones\t\n", f);
    fclose(f);
    wr_side *items = side_load(items_path, p.ids, &err);
    assert_non_null(items);
    assert_int_equal(generations_write_sidecar(path, &p, cat, 2, items, &err), 0);
    read_text(path, text, sizeof text);
    assert_string_equal(text, "item\tdegree\tcategory\tbrand\na\t2\tPhones\t\nb\t1\t\t\n"
                              "c\t1\tCables\tAcme\n");
    /* and read back over the same ids, it holds what the items file said */
    wr_side *back = side_load(path, p.ids, &err);
    assert_non_null(back);
    assert_string_equal(side_value(back, 2, (size_t)side_column(back, "brand")), "Acme");
    assert_string_equal(side_value(back, 0, (size_t)side_column(back, "category")), "Phones");
    side_free(back);
    side_free(items);
    pairs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_list_current_move_prune),
        cmocka_unit_test(test_temporaries_and_dirs),
        cmocka_unit_test(test_sidecar),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
