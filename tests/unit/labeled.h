/* labeled.h - validation pairs built row by row in a test (eval.h's wr_labeled; free
 * them with eval_labeled_free). Include it in a test_*.c after the walkrec headers. */
#ifndef WALKREC_TEST_LABELED_H
#define WALKREC_TEST_LABELED_H

#include <stdint.h>

#include "walkrec/eval.h"
#include "walkrec/util.h"

static void add_label(wr_labeled *v, const char *a, const char *b, uint8_t label)
{
    v->a = xrealloc(v->a, (v->n + 1) * sizeof *v->a);
    v->b = xrealloc(v->b, (v->n + 1) * sizeof *v->b);
    v->label = xrealloc(v->label, v->n + 1);
    v->a[v->n] = xstrdup(a);
    v->b[v->n] = xstrdup(b);
    v->label[v->n++] = label;
}

#endif
