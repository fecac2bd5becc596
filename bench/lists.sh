#!/usr/bin/env bash
# bench/lists.sh - where approximate neighbour lists become cheaper than exact ones: the
# crossover behind exact_index_max_items.
#
# usage: bench/lists.sh [--build DIR] [--out DIR] [--sizes "5000 20000 50000 100000"]
#
# For each size n: `walkrec synth --items n --pairs 10n --categories n/400`, `walkrec
# train` (2 threads, 2 epochs: the lists' cost, not the model's quality, is measured), then
# `walkrec index` of the model twice, exact (--exact-max-items n) and approximate
# (--exact-max-items 0), in the order the model chose (probability), each timed in this run,
# with the approximate lists' recall@10 against exact lists of 1000 items. One line per size
# and OUT/results.tsv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build OUT=/var/tmp/walkrec-lists SIZES="5000 20000 50000 100000"
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "lists.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
W=$BUILD/walkrec
mkdir -p "$OUT"
cd "$OUT"
echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" | tee results.tsv
printf 'items\texact_s\tapprox_s\tratio\trecall_at_10\tload\n' | tee -a results.tsv
for n in $SIZES; do
    [ -f "m$n.wr" ] || {
        "$W" synth --items "$n" --pairs $((10 * n)) --categories $((n / 400 > 2 ? n / 400 : 2)) -o "p$n.tsv" --quiet
        "$W" train "p$n.tsv" -o "m$n.wr" --threads 2 --epochs 2 --index-k 0 --quiet
    }
    t0=$(date +%s.%N)
    "$W" index "m$n.wr" -o "e$n.wr" --threads 2 --exact-max-items "$n" --quiet
    t1=$(date +%s.%N)
    "$W" index "m$n.wr" -o "a$n.wr" --threads 2 --exact-max-items 0 --json --quiet >"a$n.json"
    t2=$(date +%s.%N)
    recall=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recall_at_10"])' "a$n.json")
    printf '%s\t%.2f\t%.2f\t%.2f\t%s\t%s\n' "$n" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" \
        "$(echo "($t1 - $t0) / ($t2 - $t1)" | bc -l)" "$recall" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a results.tsv
    rm -f "e$n.wr" "a$n.wr"
done
