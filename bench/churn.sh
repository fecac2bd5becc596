#!/usr/bin/env bash
# bench/churn.sh - how much of the served lists a retrain keeps, with and without anchoring
# (anchor_margin), and what it costs the lists' quality, on every shared set.
#
# usage: bench/churn.sh [--build DIR] [--out DIR] [--sets "a b"] [--data DIR]
#                       [--margins "0 0.5"] [--new FRACTION]
#
# Per set: `walkrec split PAIRS --seed 42`; walkrecd trains generation 1 on all but the
# last FRACTION (default 0.05) of the training pairs, which are then ingested, and
# bench/retrain.sh runs one scratch and one warm retrain from that generation 1 for each
# margin (train_threads 1: the same candidate for every margin). Each run's overlap@10 and
# RBO with the live lists come from the gate's report; the recall@10 and NDCG@10 of the
# lists generation 2 serves (`walkrec eval --lists`) and of generation 1's from the held-out
# third. One markdown table; OUT/results.md keeps it. Needs wrk.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build OUT=/var/tmp/walkrec-churn MARGINS="0 0.5" NEW=0.05
DATA=${WALKREC_DATA:-$ROOT/../shared/data}
SETS="snap-amazon0302-prefix groceries amazon-gift-cards-2018 amazon-magazine-subscriptions-2018 online-retail"
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --sets) SETS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --margins) MARGINS=$2; shift 2 ;;
    --new) NEW=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "churn.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
BUILD=$(cd "$BUILD" && pwd)
W=$BUILD/walkrec
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores," \
    "$(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$NEW of the training pairs ingested" >"$OUT/header.txt"
port=18170
for set in $SETS; do
    d=$OUT/$set
    mkdir -p "$d"
    [ -f "$d/val.tsv" ] || "$W" split "$DATA/$set/pairs.tsv" --seed 42 --train "$d/train.tsv" \
        --val "$d/val.tsv" --quiet
    for m in $MARGINS; do
        port=$((port + 1))
        (cd "$ROOT" && BENCH_WORK="$d/m$m" BENCH_PORT=$port BENCH_FLAGS="--anchor-margin $m" \
            bench/retrain.sh "$(realpath --relative-to="$ROOT" "$BUILD")" "$d/train.tsv" "$NEW") \
            >"$d/m$m.txt" 2>/dev/null
        for g in var/model-1 var-scratch/model-2 var-warm/model-2; do
            f=$d/m$m/$g.wr
            [ -f "$f" ] && "$W" eval "$f" "$d/val.tsv" --train "$d/train.tsv" --lists --threads 2 \
                --json >"$d/m$m-${g%%/*}.json"
        done
    done
done
/usr/bin/python3 - "$OUT" "$MARGINS" $SETS <<'EOF' | tee "$OUT/results.md"
import json, os, sys
out, margins, sets = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
print(open(os.path.join(out, 'header.txt')).read().rstrip())
print('\n| data set | retrain | anchor_margin | overlap@10 / RBO with the live lists | '
      'served lists recall@10 / NDCG@10 (generation 1: ...) | gate AUC all |')
print('|---|---|---:|---|---|---:|')
for s in sets:
    for mode in ('scratch', 'warm'):
        for m in margins:
            rows = [l for l in open(os.path.join(out, s, f'm{m}.txt')) if l.startswith(f'| {mode} ')]
            cells = [c.strip() for c in rows[0].split('|')] if rows else []
            f = os.path.join(out, s, f'm{m}-var-{mode}.json')
            g1 = json.load(open(os.path.join(out, s, f'm{m}-var.json')))
            j = json.load(open(f)) if os.path.exists(f) else None
            lists = (f"{j['recall_at_10']:.4f} / {j['ndcg_at_10']:.4f} ({g1['recall_at_10']:.4f} / "
                     f"{g1['ndcg_at_10']:.4f})") if j else 'not published'
            print(f"| {s} | {mode} | {m} | {cells[8] if cells else '-'} | {lists} | "
                  f"{cells[4].split('/')[0].strip() if cells else '-'} |")
EOF
