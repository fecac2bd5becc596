#!/usr/bin/env bash
# bench/diversity.sh - what diverse lists cost: recall@10, NDCG@10, intra-list similarity
# and attribute entropy of walkrec's lists as ranked, with MMR (lambda 0.3), with at most 3
# items per attribute value, and with both, on the shared sets with an items file.
#
# usage: bench/diversity.sh [--build DIR] [--out DIR] [--data DIR] [--sets "SET:COLUMN ..."]
#
# Per set: `walkrec split PAIRS --seed 42`, `walkrec train --seed 1 --threads 2` (defaults),
# then `walkrec eval MODEL VAL --train TRAIN --items ITEMS --attribute COL [--diversity 0.3]
# [--max-per 3] --json`; COL is brand on the Amazon sets and price_mode on online-retail
# (it has no brand). One markdown table; OUT/results.md keeps it.
set -euo pipefail
. "$(dirname "$0")/sets.sh"
OUT=/var/tmp/walkrec-diversity
SETS="amazon-gift-cards-2018:brand amazon-magazine-subscriptions-2018:brand online-retail:price_mode"
while [ $# -gt 0 ]; do
    set_option "$1" "${2:-}"
    shift 2
done
start_run
cd "$OUT"
for sc in $SETS; do
    set=${sc%%:*} col=${sc#*:}
    split_set "$set" "$set"
    [ -f "$set/model.wr" ] || "$W" train "$set/train.tsv" -o "$set/model.wr" --seed 1 --threads 2 --quiet
    i=0
    for args in "" "--diversity 0.3" "--max-per 3" "--diversity 0.3 --max-per 3"; do
        # shellcheck disable=SC2086 # the variant's flags, split on purpose
        "$W" eval "$set/model.wr" "$set/val.tsv" --train "$set/train.tsv" --threads 2 \
            --items "$DATA/$set/items.tsv" --attribute "$col" $args --json >"$set/v$i.json"
        echo "$args" >"$set/v$i.args"
        i=$((i + 1))
    done
    echo "$col" >"$set/column.txt"
done
/usr/bin/python3 - "$OUT" $SETS <<'EOF' | tee results.md
import json, os, sys
out, sets = sys.argv[1], [s.split(':')[0] for s in sys.argv[2:]]
print(open(os.path.join(out, 'header.txt')).read().rstrip())
print('\n| data set | attribute | lists | recall@10 | NDCG@10 | intra-list similarity | '
      'attribute entropy (bits) |')
print('|---|---|---|---:|---:|---:|---:|')
for s in sets:
    col = open(os.path.join(out, s, 'column.txt')).read().strip()
    for i in range(4):
        j = json.load(open(os.path.join(out, s, f'v{i}.json')))
        a = open(os.path.join(out, s, f'v{i}.args')).read().strip() or 'as ranked'
        d = j['diversity']
        print(f"| {s} | {col} | {a} | {j['recall_at_10']:.4f} | {j['ndcg_at_10']:.4f} | "
              f"{d['ils']:.4f} | {d['attribute_entropy']:.4f} |")
EOF
