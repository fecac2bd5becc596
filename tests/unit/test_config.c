/* test_config.c - walkrecd's settings: bounds, file syntax and errors, precedence of flags
 * over environment over file, --help, and the shipped config/walkrecd.conf matching the
 * table. Includes config.c to walk its table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config.c"
#include "walkrec/lists.h"
#include "walkrec/rank.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_config.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    /* Start from the defaults whatever the calling environment says. */
    for (size_t i = 0; i < NSET; i++) {
        char name[64];
        env_name(&table[i], name, sizeof name);
        unsetenv(name);
    }
    unsetenv("WALKREC_CONFIG");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

static char *write_tmp(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_defaults(void **state)
{
    (void)state;
    wr_config c;
    config_init(&c);
    assert_string_equal(c.bind, "127.0.0.1");
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.threads, 2);
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.model, "");
    assert_string_equal(c.cors_origins, "");
    assert_int_equal(c.index_k, 100);
    assert_int_equal(c.exact_index_max_items, WR_LISTS_EXACT_MAX);
    assert_int_equal(c.ann_popular, 512);
    assert_int_equal(c.rank, WR_RANK_AUTO);
    assert_int_equal(c.algo, 0);
    assert_int_equal(c.default_k, 10);
    assert_int_equal(c.max_body_bytes, 1048576);
    config_free(&c);
}

/* config_set: every kind of value, accepted or refused with the reason. */
static void test_set_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value, *error; /* error: NULL when accepted, else a substring */
    } cases[] = {
        {"port", "80", NULL},
        {"port", "0", NULL},
        {"port", "65535", NULL},
        {"port", "65536", "where: port: expected an integer from 0 to 65535, got '65536'"},
        {"port", "-1", "expected an integer"},
        {"port", "8o", "expected an integer"},
        {"port", "", "expected an integer"},
        {"threads", "0", "from 1 to 256"},
        {"max_body_bytes", "63", "from 64 to"},
        {"exact_index_max_items", "4294967295", NULL},
        {"exact_index_max_items", "4294967296", "expected an integer"},
        {"bind", "::1", NULL},
        {"bind", "0.0.0.0", NULL},
        {"bind", "localhost", "expected an IPv4 or IPv6 address"},
        {"bind", "", "bind must not be empty"},
        {"data_dir", "", "data_dir must not be empty"},
        {"model", "", NULL},
        {"cors_origins", "*", NULL},
        {"cors_origins", "https://a.example,http://b.example:8080", NULL},
        {"cors_origins", "https://a.example,ftp://b", "'ftp://b'"},
        {"cors_origins", "https://", "expected origins"},
        {"no_such", "1", "where: unknown setting 'no_such'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wr_config c;
        wr_err err = {0};
        config_init(&c);
        int rc = config_set(&c, cases[i].name, cases[i].value, "where", &err);
        if (cases[i].error) {
            if (rc != -1 || !strstr(err.msg, cases[i].error))
                fail_msg("%s=%s: expected error '%s', got rc %d '%s'", cases[i].name,
                         cases[i].value, cases[i].error, rc, err.msg);
        } else if (rc != 0) {
            fail_msg("%s=%s: unexpected error '%s'", cases[i].name, cases[i].value, err.msg);
        }
        config_free(&c);
    }
    wr_config c;
    config_init(&c);
    assert_int_equal(config_set(&c, "port", "1234", "x", NULL), 0);
    assert_int_equal(c.port, 1234);
    assert_int_equal(config_set(&c, "exact_index_max_items", "7", "x", NULL), 0);
    assert_int_equal(c.exact_index_max_items, 7);
    assert_int_equal(config_set(&c, "items_file", "a b", "x", NULL), 0);
    assert_string_equal(c.items_file, "a b");
    config_free(&c);
}

static void test_file(void **state)
{
    (void)state;
    wr_config c;
    wr_err err;
    config_init(&c);
    const char *path = write_tmp("good.conf", "# comment\n"
                                              "\n"
                                              "   port = 9000   \n"
                                              "bind=::1\n"
                                              "items_file = \"  spaced \\\"name\\\"  \"\n"
                                              "  # indented comment\n"
                                              "model = \n"
                                              "port = 9001\n");
    assert_int_equal(config_load_file(&c, path, &err), 0);
    assert_int_equal(c.port, 9001); /* the later line wins */
    assert_string_equal(c.bind, "::1");
    assert_string_equal(c.items_file, "  spaced \"name\"  ");
    assert_string_equal(c.model, "");
    config_free(&c);

    static const struct {
        const char *text, *error; /* error after "<path>:" */
    } bad[] = {
        {"port = 1\nport = x\n", ":2: port: expected an integer"},
        {"\n\nprot = 1\n", ":3: unknown setting 'prot'"},
        {"port 80\n", ":1: expected `key = value`, got 'port 80'"},
        {"= 80\n", ":1: missing key"},
        {"model = \"abc\n", ":1: model: unbalanced quotes"},
        {"model = a\"b\n", ":1: model: unbalanced quotes"},
        {"bind = 1.2.3\n", ":1: bind: expected an IPv4 or IPv6 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        config_init(&c);
        path = write_tmp("bad.conf", bad[i].text);
        char want[256];
        snprintf(want, sizeof want, "%s%s", path, bad[i].error);
        if (config_load_file(&c, path, &err) != -1 || !strstr(err.msg, want))
            fail_msg("case %zu: expected '%s', got '%s'", i, want, err.msg);
        config_free(&c);
    }
    config_init(&c);
    assert_int_equal(config_load_file(&c, "/nonexistent/walkrecd.conf", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/walkrecd.conf"));
    config_free(&c);
}

static int load_args(wr_config *c, wr_config_action *action, wr_err *err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    argv[argc++] = "walkrecd";
    for (char *a; argc < 31 && (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    config_init(c);
    return config_load(c, argc, argv, action, err);
}

static void test_precedence(void **state)
{
    (void)state;
    wr_config c;
    wr_err err;
    wr_config_action act;
    char *path = xstrdup(write_tmp("p.conf", "port = 1111\nthreads = 3\nmax_k = 50\n"));
    char *other = xstrdup(write_tmp("q.conf", "port = 4444\n"));

    /* file only */
    assert_int_equal(load_args(&c, &act, &err, "--config", path, NULL), 0);
    assert_int_equal(act, WR_CONFIG_RUN);
    assert_int_equal(c.port, 1111);
    assert_int_equal(c.threads, 3);
    config_free(&c);
    /* environment over file */
    setenv("WALKREC_PORT", "2222", 1);
    assert_int_equal(load_args(&c, &act, &err, "--config", path, NULL), 0);
    assert_int_equal(c.port, 2222);
    assert_int_equal(c.threads, 3);
    config_free(&c);
    /* flags over environment, both spellings */
    assert_int_equal(load_args(&c, &act, &err, "--port", "3333", "--config", path, NULL), 0);
    assert_int_equal(c.port, 3333);
    config_free(&c);
    assert_int_equal(load_args(&c, &act, &err, "--port=3334", "--data-dir", "/d", NULL), 0);
    assert_int_equal(c.port, 3334);
    assert_string_equal(c.data_dir, "/d");
    config_free(&c);
    /* WALKREC_CONFIG names the file; --config overrides it */
    unsetenv("WALKREC_PORT");
    setenv("WALKREC_CONFIG", other, 1);
    assert_int_equal(load_args(&c, &act, &err, NULL), 0);
    assert_int_equal(c.port, 4444);
    config_free(&c);
    assert_int_equal(load_args(&c, &act, &err, "-c", path, NULL), 0);
    assert_int_equal(c.port, 1111);
    config_free(&c);
    unsetenv("WALKREC_CONFIG");

    /* errors name their source */
    setenv("WALKREC_THREADS", "zero", 1);
    assert_int_equal(load_args(&c, &act, &err, NULL), -1);
    assert_non_null(strstr(err.msg, "WALKREC_THREADS: threads: expected an integer"));
    config_free(&c);
    unsetenv("WALKREC_THREADS");
    static const struct {
        const char *a, *b, *error;
    } bad[] = {
        {"--port", "x", "--port: port: expected an integer"},
        {"--bogus", "1", "unknown flag '--bogus'"},
        {"--port", NULL, "--port: missing value"},
        {"stray", NULL, "unexpected argument 'stray'"},
        {"--default-k", "60", "default_k (60) is larger than max_k (50)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = load_args(&c, &act, &err, "--config", path, bad[i].a, bad[i].b, NULL);
        if (rc != -1 || !strstr(err.msg, bad[i].error))
            fail_msg("case %zu: expected '%s', got rc %d '%s'", i, bad[i].error, rc, err.msg);
        config_free(&c);
    }
    assert_int_equal(load_args(&c, &act, &err, "--help", NULL), 0);
    assert_int_equal(act, WR_CONFIG_HELP);
    config_free(&c);
    assert_int_equal(load_args(&c, &act, &err, "--print-config", "--port", "1", NULL), 0);
    assert_int_equal(act, WR_CONFIG_PRINT);
    assert_int_equal(c.port, 1);
    config_free(&c);
    /* Printing a container's settings needs no token; serving them does. */
    assert_int_equal(load_args(&c, &act, &err, "--print-config", "--bind", "0.0.0.0", NULL), 0);
    config_free(&c);
    assert_int_equal(load_args(&c, &act, &err, "--bind", "0.0.0.0", NULL), -1);
    assert_non_null(strstr(err.msg, "not a loopback address"));
    config_free(&c);
    free(path);
    free(other);
}

static char *capture(void (*fn)(const wr_config *, FILE *), const wr_config *c)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fn(c, f);
    fclose(f);
    return buf;
}

static void usage_of(const wr_config *c, FILE *f)
{
    (void)c;
    config_usage(f);
}

/* --help names every flag and variable; the example file documents every key. */
static void test_help_and_example(void **state)
{
    (void)state;
    wr_config c;
    config_init(&c);
    char *help = capture(usage_of, &c), *example = capture(config_write, &c);
    for (size_t i = 0; i < NSET; i++) {
        char flag[80], env[64], key[80];
        flag_name(&table[i], flag + 2, sizeof flag - 2);
        flag[0] = flag[1] = '-';
        env_name(&table[i], env, sizeof env);
        snprintf(key, sizeof key, "\n%s = ", table[i].name);
        if (!strstr(help, flag) || !strstr(help, env))
            fail_msg("--help lacks %s or %s", flag, env);
        if (!strstr(example, key))
            fail_msg("the example lacks %s", key);
    }
    /* The shipped example is exactly what --print-config writes with the defaults. */
    char path[4096];
    snprintf(path, sizeof path, "%s/config/walkrecd.conf", getenv("SRC") ? getenv("SRC") : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char *shipped = xcalloc(1, 1 << 16);
    size_t n = fread(shipped, 1, (1 << 16) - 1, f);
    fclose(f);
    shipped[n] = 0;
    if (strcmp(shipped, example))
        fail_msg("config/walkrecd.conf differs from `walkrecd --print-config`; regenerate it");

    /* Written values read back to the same settings, quoting included. */
    assert_int_equal(config_set(&c, "items_file", " a \"q\" \\ ", "x", NULL), 0);
    assert_int_equal(config_set(&c, "port", "0", "x", NULL), 0);
    char *out = capture(config_write, &c);
    wr_config back;
    wr_err err;
    config_init(&back);
    assert_int_equal(config_load_file(&back, write_tmp("round.conf", out), &err), 0);
    assert_string_equal(back.items_file, " a \"q\" \\ ");
    assert_int_equal(back.port, 0);
    config_free(&back);
    free(out);
    free(shipped);
    free(help);
    free(example);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_bounds),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_help_and_example),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
