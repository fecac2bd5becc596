#!/usr/bin/env bash
# ann.sh - the approximate neighbour index (HNSW, src/ann.cc) against exact top-k on a model.
#
# usage: bench/ann.sh [options] MODEL
#   --build DIR      build directory holding libwalkrec.a (default build)
#   --queries N      query items, spread over the catalogue, with exact answers (default 1000)
#   --threads N      build threads, and the exact scan's (default 2)
#   --graphs LIST    graphs to build alone, "M:EF_CONSTRUCTION ..." (default "32:200"; ""
#                    = none)
#   --ef LIST        ef values searched on each graph (default "64 128 256 512")
#   --index M:EFC:EF index_build above exact_max_items as walkrecd runs it: graph, every
#                    item's top-K list, its own recall check (default 32:200:256, walkrecd's
#                    defaults; "" = skip)
#   --k K            list length for --index and --ivf (default 100, walkrecd's index_k)
#   --ivf NLIST:P,P  also an IVF prototype: k-means into NLIST lists, single queries probing
#                    P lists, then every item's top K in batches of products, each list's
#                    items against the --ivf-lists lists nearest its centroid (e.g. 2048:4,8)
#   --ivf-lists P    (default 8; 0 = no batched lists)
#   --out DIR        keep the exact answers and logs here (default: a temp dir, removed)
# Each measurement runs in its own process (peak RSS is per process). The exact answers
# are the first step's top-100 by knn_topk; recall@10 is the share of each query's true 10
# best found among the 10 returned (beside it: the share of the 10 returned that score within
# 1e-4 of the true 10th, since near-duplicates tie). Latencies are single queries on one
# thread. The exact scan and the IVF products run on OpenBLAS (OPENBLAS_CORETYPE applies).
# The load average is printed at the start and end of every step: the machine is shared.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build QUERIES=1000 THREADS=2 GRAPHS="32:200" EFS="64 128 256 512"
INDEX="32:200:256" K=100 IVF="" IVF_LISTS=8 OUT=""
while [ $# -gt 1 ]; do
    case $1 in
    --build) BUILD=$2 ;;
    --queries) QUERIES=$2 ;;
    --threads) THREADS=$2 ;;
    --graphs) GRAPHS=$2 ;;
    --ef) EFS=$2 ;;
    --index) INDEX=$2 ;;
    --k) K=$2 ;;
    --ivf) IVF=$2 ;;
    --ivf-lists) IVF_LISTS=$2 ;;
    --out) OUT=$2 ;;
    *) echo "ann.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ $# -eq 1 ] || { sed -n '2,25p' "$0" >&2; exit 2; }
MODEL=$1
BUILD=$(cd "$BUILD" && pwd)
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d)
    trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"

cc -O2 -std=c11 -D_GNU_SOURCE -I"$SRC/include" "$SRC/bench/ann.c" "$SRC/src/index.c" \
    "$BUILD/libwalkrec.a" -o "$OUT/bench-ann" -lstdc++ -pthread -lm -lz -ljansson -lopenblas
B=$OUT/bench-ann

echo "# $(basename "$MODEL"): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "## exact answers"
"$B" truth "$MODEL" "$QUERIES" "$THREADS" "$OUT/truth.bin"
for g in $GRAPHS; do
    echo "## hnsw graph $g"
    # shellcheck disable=SC2086
    "$B" hnsw "$MODEL" "$OUT/truth.bin" "${g%%:*}" "${g#*:}" "$THREADS" $EFS
done
if [ -n "$INDEX" ]; then
    IFS=: read -r m efc ef <<<"$INDEX"
    echo "## index_build with approximate lists"
    "$B" index "$MODEL" "$OUT/truth.bin" "$m" "$efc" "$ef" "$K" "$THREADS"
fi
if [ -n "$IVF" ]; then
    echo "## ivf prototype"
    probes=${IVF#*:}
    # shellcheck disable=SC2086
    "$B" ivf "$MODEL" "$OUT/truth.bin" "${IVF%%:*}" "$THREADS" "$K" "$IVF_LISTS" ${probes//,/ }
fi
