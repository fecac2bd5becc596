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
. "$(dirname "$0")/sets.sh"
OUT=/var/tmp/walkrec-churn MARGINS="0 0.5" NEW=0.05
while [ $# -gt 0 ]; do
    case $1 in
    --margins) MARGINS=$2 ;;
    --new) NEW=$2 ;;
    *) set_option "$1" "${2:-}" ;;
    esac
    shift 2
done
start_run "$NEW of the training pairs ingested"
port=18170
for set in $SETS; do
    d=$OUT/$set
    split_set "$set" "$d"
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
