#!/usr/bin/env bash
# walks.sh - micro-benchmark of the graph and the walks at a given synthetic scale.
#
# usage: bench/walks.sh [BUILD_DIR] [PRESET] [WALKS_PER_ITEM] [LENGTH]
#   BUILD_DIR defaults to build; PRESET (default electronics) is a `walkrec synth` preset.
# Builds a small driver against BUILD_DIR/libwalkrec.a, generates the catalogue in memory,
# then times graph_build and walk_generate (DeepWalk, and node2vec p=0.5 q=2) on 2 and 1
# threads, printing wall and CPU time, steps per second and the peak RSS. On a shared
# machine the CPU time per step is the figure to compare; the load average is printed.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
PRESET=${2:-electronics}
WALKS=${3:-10}
LENGTH=${4:-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/bench.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "walkrec/synth.h"
#include "walkrec/walk.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *load_average(void)
{
    static char buf[128] = "unknown\n";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            snprintf(buf, sizeof buf, "unknown\n");
        fclose(f);
    }
    return buf;
}

static void die_err(const wr_err *e) { fprintf(stderr, "%s\n", e->msg); exit(1); }

int main(int argc, char **argv)
{
    wr_synth_opts so;
    wr_pairs p;
    wr_err err;
    wr_quiet = 1;
    synth_default_opts(&so);
    if (synth_preset(&so, argv[1]) < 0) {
        fprintf(stderr, "unknown preset %s\n", argv[1]);
        return 2;
    }
    double t = wr_now();
    pairs_init(&p);
    if (synth_generate(&so, &p, NULL, &err) < 0)
        die_err(&err);
    printf("synth %s: %u items, %zu pairs in %.2fs\n", argv[1], so.items, p.n, wr_now() - t);
    printf("load average at start: %s", load_average());
    for (int threads = 2; threads >= 1; threads--) {
        wr_graph g;
        t = wr_now();
        double cpu0 = cpu_now();
        if (graph_build(&g, &p, threads, &err) < 0)
            die_err(&err);
        printf("graph_build, %d thread(s): %.3fs (%.3fs CPU; %u nodes, %llu arcs)\n", threads,
               wr_now() - t, cpu_now() - cpu0, g.n, (unsigned long long)g.m);
        double pq[][2] = {{1, 1}, {0.5, 2}};
        for (int k = 0; k < 2; k++) {
            wr_walk_opts wo = {.walks_per_item = (uint32_t)atoi(argv[2]),
                               .length = (uint32_t)atoi(argv[3]), .p = pq[k][0], .q = pq[k][1],
                               .seed = 1, .threads = threads};
            wr_corpus c;
            t = wr_now();
            double cpu = cpu_now();
            if (walk_generate(&g, &wo, &c, &err) < 0)
                die_err(&err);
            double el = wr_now() - t, steps = (double)c.nseq * (wo.length - 1);
            cpu = cpu_now() - cpu;
            printf("walks p=%g q=%g, %d thread(s): %.3fs, %.1fM steps/s (%llu walks; %.3fs "
                   "CPU, %.1f ns CPU per step)\n", wo.p, wo.q, threads, el, steps / el / 1e6,
                   (unsigned long long)c.nseq, cpu, cpu / steps * 1e9);
            walk_corpus_free(&c);
        }
        graph_free(&g);
    }
    printf("peak RSS %.0f MiB\n", wr_peak_rss_kib() / 1024.0);
    pairs_free(&p);
    return 0;
}
EOF
cc -O2 -std=c11 -D_GNU_SOURCE -I"$SRC/include" "$WORK/bench.c" "$BUILD/libwalkrec.a" \
    -o "$WORK/bench" -pthread -lm -lz -ljansson -lopenblas
"$WORK/bench" "$PRESET" "$WALKS" "$LENGTH"
