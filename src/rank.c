/* rank.c - names of the list orders (rank.h). */
#include "walkrec/rank.h"

#include <string.h>

static const char *const names[] = {"cosine", "probability", "auto"};

int rank_parse(const char *name)
{
    for (int r = 0; r < 3; r++)
        if (!strcmp(name, names[r]))
            return r;
    return -1;
}

const char *rank_name(int rank) { return rank >= 0 && rank < 3 ? names[rank] : "?"; }
