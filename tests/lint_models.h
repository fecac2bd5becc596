/* lint_models.h - what clang's static analyzer cannot see from one file, stated for it.
 * tests/lint.sh includes this before every source but util.c; nothing else uses it.
 *
 * The analyzer reads one translation unit at a time, so it does not know that wr_fail(),
 * defined in util.c, always returns -1 (util.h's contract). It then follows paths on
 * which `return wr_fail(...)` is taken for success and reports the uninitialised values
 * and null pointers those impossible paths would meet. The macro keeps the call and makes
 * the result visible; inside it, wr_fail names the function again (no recursion in the
 * preprocessor). */
#ifndef WALKREC_LINT_MODELS_H
#define WALKREC_LINT_MODELS_H

#include "walkrec/util.h"

#define wr_fail(...) (wr_fail(__VA_ARGS__), -1)

#endif
