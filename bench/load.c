/* load.c - how fast pairs load: read + intern ids + merge, the first stage of every command.
 *
 * usage: build/bench-load PAIRS [ROUNDS]   (prints the best of ROUNDS, default 3) */
#include <stdio.h>
#include <stdlib.h>

#include "walkrec/pairs.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PAIRS [ROUNDS]\n", argv[0]);
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    double best = 1e30;
    size_t n = 0, items = 0;
    wr_quiet = 1;
    for (int r = 0; r < rounds; r++) {
        wr_pairs p;
        wr_err err;
        pairs_init(&p);
        double t = wr_now();
        if (pairs_read(&p, argv[1], NULL, NULL, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t = wr_now() - t;
        if (t < best)
            best = t;
        n = p.n;
        items = dict_size(p.ids);
        pairs_free(&p);
    }
    printf("%zu pairs, %zu ids: best of %d loads %.2f s (%.2f M pairs/s), peak RSS %zu MiB\n", n,
           items, rounds, best, n / best / 1e6, wr_peak_rss_kib() / 1024);
    return 0;
}
