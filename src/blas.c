/* blas.c - choosing OpenBLAS's kernels before the library commits to them (blas.h). */
#include "walkrec/blas.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MARK "WALKREC_BLAS_PICKED" /* what the library picked before the re-execution */

/* Core types at least as fast as SkylakeX's kernels (OpenBLAS's names, any case). */
static int avx512_core(const char *c)
{
    static const char *const names[] = {"skylakex", "cooperlake", "sapphirerapids"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(c, names[i]))
            return 1;
    return 0;
}

static int avx2_core(const char *c)
{
    static const char *const names[] = {"haswell", "zen", "skylakex", "cooperlake",
                                        "sapphirerapids"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(c, names[i]))
            return 1;
    return 0;
}

const char *blas_target(const char *want, const char *picked, int avx512, int avx2)
{
    if (!want || !strcmp(want, "keep"))
        return NULL;
    if (strcmp(want, "auto"))
        return strcasecmp(want, picked) ? want : NULL;
    if (avx512 && !avx512_core(picked))
        return "SkylakeX";
    if (avx2 && !avx2_core(picked))
        return "Haswell";
    return NULL;
}

void blas_choose(const char *want, char **argv)
{
    const char *env = getenv("OPENBLAS_CORETYPE");
    if (getenv(MARK) || (env && (!strcmp(want, "auto") || !strcasecmp(env, want))))
        return; /* ours after the re-execution, or the environment's choice */
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const char *picked = openblas_get_corename();
    const char *target = blas_target(want, picked, avx512, __builtin_cpu_supports("avx2"));
    if (!target)
        return;
    setenv("OPENBLAS_CORETYPE", target, 1);
    setenv(MARK, picked, 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* cannot: keep what the library picked */
    unsetenv(MARK);
    fprintf(stderr, "walkrec: warning: cannot execute itself again to choose the %s kernels of "
            "OpenBLAS; keeping %s\n", target, picked);
}

const char *blas_describe(void)
{
    static char line[320];
    const char *env = getenv("OPENBLAS_CORETYPE"), *mark = getenv(MARK);
    const char *core = openblas_get_corename();
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const char *better = blas_target("auto", core, avx512, __builtin_cpu_supports("avx2"));
    if (env && mark)
        snprintf(line, sizeof line, "%s (chosen by walkrec; the library had %s)", core, mark);
    else if (env && better)
        snprintf(line, sizeof line, "%s (OPENBLAS_CORETYPE=%s in the environment; this CPU "
                 "runs %s, about 1.5x faster products here: blas_kernel = %s uses them)", core,
                 env, better, better);
    else if (env)
        snprintf(line, sizeof line, "%s (OPENBLAS_CORETYPE=%s)", core, env);
    else
        snprintf(line, sizeof line, "%s (the library's pick)", core);
    return line;
}
