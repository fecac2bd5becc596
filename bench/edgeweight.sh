#!/usr/bin/env bash
# bench/edgeweight.sh - which edge weighting the default training picks on each shared set,
# and what each weighting gives: cosine and probability AUC, recall@10, training time.
#
# usage: bench/edgeweight.sh [--build DIR] [--out DIR] [--sets "a b"] [--data DIR] [--seed N]
#
# Per set: `walkrec split PAIRS --seed 42`, then `walkrec train` (--seed N, 2 threads) three
# times: the default (--edge-weight auto: both schemes trained, the better on the slice
# kept), --edge-weight lift and --edge-weight raw; each scored by `walkrec eval MODEL VAL
# --train TRAIN --json`. One markdown table; OUT/results.md keeps it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build OUT=/var/tmp/walkrec-edgeweight SEED=1
DATA=${WALKREC_DATA:-$ROOT/../shared/data}
SETS="snap-amazon0302-prefix groceries amazon-gift-cards-2018 amazon-magazine-subscriptions-2018 online-retail"
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --sets) SETS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "edgeweight.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
W=$BUILD/walkrec
mkdir -p "$OUT"
cd "$OUT"
echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores," \
    "$(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)" >header.txt
for set in $SETS; do
    mkdir -p "$set"
    [ -f "$set/val.tsv" ] || "$W" split "$DATA/$set/pairs.tsv" --seed 42 --train "$set/train.tsv" \
        --val "$set/val.tsv" --quiet
    for ew in auto lift raw; do
        t0=$(date +%s.%N)
        "$W" train "$set/train.tsv" -o "$set/$ew.wr" --edge-weight "$ew" --seed "$SEED" \
            --threads 2 --quiet
        t1=$(date +%s.%N)
        echo "$t0 $t1" | awk '{printf "%.2f\n", $2 - $1}' >"$set/$ew.seconds"
        "$W" eval "$set/$ew.wr" "$set/val.tsv" --train "$set/train.tsv" --threads 2 --json \
            >"$set/$ew.json"
    done
done
/usr/bin/python3 - "$OUT" $SETS <<'EOF' | tee results.md
import json, os, sys
out, sets = sys.argv[1], sys.argv[2:]
print(open(os.path.join(out, 'header.txt')).read().rstrip())
print('\n| data set | picked | slice cosine AUC lift / raw | cosine AUC all lift / raw | '
      'probability AUC all lift / raw | recall@10 lift / raw | picked model: cosine AUC, '
      'probability AUC, recall@10 | train s auto / lift / raw |')
print('|---|---|---|---|---|---|---|---|')
for s in sets:
    d = os.path.join(out, s)
    r = {ew: json.load(open(os.path.join(d, ew + '.json'))) for ew in ('auto', 'lift', 'raw')}
    sec = {ew: open(os.path.join(d, ew + '.seconds')).read().strip() for ew in r}
    c = r['auto'].get('edge_weight_choice', {})
    a = c.get('slice_cosine_auc', {})
    pair = lambda f: ' / '.join(f(r[ew]) for ew in ('lift', 'raw'))
    print(f"| {s} | {r['auto'].get('edge_weight')} | {a.get('lift', float('nan')):.4f} / "
          f"{a.get('raw', float('nan')):.4f} | {pair(lambda j: '%.4f' % j['auc_all'])} | "
          f"{pair(lambda j: '%.4f' % j['probability']['auc_all'])} | "
          f"{pair(lambda j: '%.4f' % j['recall_at_10'])} | {r['auto']['auc_all']:.4f}, "
          f"{r['auto']['probability']['auc_all']:.4f}, {r['auto']['recall_at_10']:.4f} | "
          f"{sec['auto']} / {sec['lift']} / {sec['raw']} |")
EOF
