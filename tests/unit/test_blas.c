/* test_blas.c - the choice of OpenBLAS's kernels, table-driven (blas_target). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "walkrec/blas.h"

static void test_target(void **state)
{
    (void)state;
    static const struct {
        const char *want, *picked;
        int avx512, avx2;
        const char *target; /* NULL: keep */
    } t[] = {
        {"auto", "Prescott", 1, 1, "SkylakeX"},  /* an AVX-512 CPU the library did not know */
        {"auto", "Haswell", 1, 1, "SkylakeX"},
        {"auto", "Cooperlake", 1, 1, NULL},      /* as good already */
        {"auto", "SKYLAKEX", 1, 1, NULL},
        {"auto", "Prescott", 0, 1, "Haswell"},   /* AVX2 only */
        {"auto", "Zen", 0, 1, NULL},
        {"auto", "Prescott", 0, 0, NULL},        /* nothing better to run */
        {"keep", "Prescott", 1, 1, NULL},
        {"Haswell", "SkylakeX", 1, 1, "Haswell"}, /* a name is taken as given */
        {"haswell", "Haswell", 1, 1, NULL},
        {NULL, "Prescott", 1, 1, NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const char *got = blas_target(t[i].want, t[i].picked, t[i].avx512, t[i].avx2);
        if (!got != !t[i].target || (got && strcmp(got, t[i].target)))
            fail_msg("case %zu: %s", i, got ? got : "(keep)");
    }
    assert_non_null(strstr(blas_describe(), "("));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_target)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
