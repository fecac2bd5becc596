/* blas.h - which OpenBLAS kernels run.
 *
 * OpenBLAS picks its kernels when the library loads, from the CPU it recognises. Debian
 * 12's 0.3.21 does not recognise some CPUs with AVX-512 (the Xeons and AMD EPYCs of the
 * development machines) and falls back to its AVX2 (Haswell) or even SSE3 (Prescott)
 * kernels: sgemm 256x2048x128 on one core measured 65.9 GFLOP/s as picked against 115.6
 * with SkylakeX on this project's 2-core AMD EPYC (docs/performance.md). The choice can only
 * be changed before the library loads, through OPENBLAS_CORETYPE: so a program that finds
 * the library picked less than the CPU runs sets it and executes itself again, once, first
 * thing in main(). OPENBLAS_CORETYPE in the environment is followed unless the setting names a
 * core type (then the setting wins); a weaker one than the CPU runs is named in the log. */
#ifndef WALKREC_BLAS_H
#define WALKREC_BLAS_H

/* The core type to ask for: want is "auto" (the best this CPU runs, when better than the
 * library's pick), "keep" (the library's pick) or a core name (taken as given); picked is
 * what the library chose (openblas_get_corename), avx512 and avx2 what the CPU runs.
 * NULL: nothing to change. Pure; tests call it. */
const char *blas_target(const char *want, const char *picked, int avx512, int avx2);

/* Re-executes the program (argv, /proc/self/exe) with OPENBLAS_CORETYPE set when
 * blas_target asks for a change and the environment did not choose (want "auto"), or the
 * setting names a core type; returns when nothing is to change or the re-execution failed
 * (then the kernels stay as they are). Call first in main, before any thread starts. */
void blas_choose(const char *want, char **argv);

/* One line for the log: the kernels running, and who chose them ("the CPU", "walkrec:
 * the library picked Haswell", "OPENBLAS_CORETYPE"). Static storage. */
const char *blas_describe(void);

#endif
