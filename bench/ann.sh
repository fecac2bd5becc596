#!/usr/bin/env bash
# ann.sh - walkrecd's approximate neighbour lists (src/ann.c: k-means cells, each cell's items
# against those of its nearest cells) against exact top-k on a model file.
#
# usage: bench/ann.sh [options] MODEL
#   --build DIR      build directory holding libwalkrec.a (default build)
#   --queries N      query items, spread over the catalogue, with exact answers (default 1000)
#   --threads N      threads for the lists and the exact scan (default 2)
#   --cells N        k-means cells (default 0: walkrecd's default, min(3 sqrt(n), n / 64))
#   --probe LIST     cells probed per cell, one index_build per value (default "8",
#                    walkrecd's default)
#   --k K            list length (default 100, walkrecd's index_k)
#   --out DIR        keep the exact answers and logs here (default: a temp dir, removed); the
#                    exact answers are reused when DIR already holds them for MODEL
# Each measurement runs in its own process (peak RSS is per process). The exact answers
# are top-100 lists by knn_topk; recall@10 is the share of each query's true 10 best found
# among the 10 returned (beside it: the share of the 10 returned that score within 1e-4 of
# the true 10th, since near-duplicates tie). Everything runs on OpenBLAS (OPENBLAS_CORETYPE
# applies). The load average is printed at the start and end of every step: the machine is
# shared.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build QUERIES=1000 THREADS=2 CELLS=0 PROBES=8 K=100 OUT=""
while [ $# -gt 1 ]; do
    case $1 in
    --build) BUILD=$2 ;;
    --queries) QUERIES=$2 ;;
    --threads) THREADS=$2 ;;
    --cells) CELLS=$2 ;;
    --probe) PROBES=$2 ;;
    --k) K=$2 ;;
    --out) OUT=$2 ;;
    *) echo "ann.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ $# -eq 1 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
MODEL=$1
BUILD=$(cd "$BUILD" && pwd)
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d)
    trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"

cc -O2 -std=c11 -D_GNU_SOURCE -I"$SRC/include" "$SRC/bench/ann.c" "$SRC/src/index.c" \
    "$BUILD/libwalkrec.a" -o "$OUT/bench-ann" -pthread -lm -lz -ljansson -lopenblas
B=$OUT/bench-ann

echo "# $(basename "$MODEL"): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)," \
    "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
key="$(readlink -f "$MODEL") $(stat -c '%s %Y' "$MODEL") $QUERIES"
if [ -f "$OUT/truth.bin" ] && [ "$(cat "$OUT/truth.key" 2>/dev/null)" = "$key" ]; then
    echo "## exact answers: reusing $OUT/truth.bin"
else
    echo "## exact answers"
    "$B" truth "$MODEL" "$QUERIES" "$THREADS" "$OUT/truth.bin"
    echo "$key" >"$OUT/truth.key"
fi
for p in $PROBES; do
    echo "## index_build, approximate lists, probe $p"
    "$B" index "$MODEL" "$OUT/truth.bin" "$CELLS" "$p" "$K" "$THREADS"
done
