#!/usr/bin/env bash
# bench/calibration.sh - does the pair probability mean what it says? ECE and reliability
# tables on every shared data set, for this build's training and, with --before, another
# build's, both scored by this build's `walkrec eval`.
#
# usage: bench/calibration.sh [--build DIR] [--before WALKREC] [--out DIR] [--sets "a b"]
#                             [--data DIR] [--seed N]
#
# Per set: `walkrec split PAIRS --seed 42` (a third held out, as many uniform non-edges),
# `walkrec train` with its defaults (--seed N, 2 threads) by each build, `walkrec eval
# MODEL VAL --train TRAIN --json`. Prints one markdown table (ECE over the seen pairs and
# over all pairs, probability AUC, and the share of the training data's non-edges that are
# held-out pairs: what the calibration slice's "negatives" hold of the pairs the validation
# counts as related), then each reliability table. OUT/results.md keeps it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build OUT=/var/tmp/walkrec-calibration BEFORE="" SEED=1
DATA=${WALKREC_DATA:-$ROOT/../shared/data}
SETS="snap-amazon0302-prefix groceries amazon-gift-cards-2018 amazon-magazine-subscriptions-2018 online-retail"
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --sets) SETS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "calibration.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
W=$BUILD/walkrec
mkdir -p "$OUT"
cd "$OUT"
builds="after=$W"
[ -n "$BEFORE" ] && builds="before=$BEFORE $builds"
{
    echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores," \
        "$(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    [ -n "$BEFORE" ] && echo "# before: $BEFORE (sha256 $(sha256sum "$BEFORE" | cut -c1-12))"
} >header.txt
for set in $SETS; do
    mkdir -p "$set"
    [ -f "$set/val.tsv" ] || "$W" split "$DATA/$set/pairs.tsv" --seed 42 --train "$set/train.tsv" \
        --val "$set/val.tsv" --quiet
    for b in $builds; do
        tag=${b%%=*} bin=${b#*=}
        "$bin" train "$set/train.tsv" -o "$set/$tag.wr" --seed "$SEED" --threads 2 --quiet
        "$W" eval "$set/$tag.wr" "$set/val.tsv" --train "$set/train.tsv" --threads 2 --json \
            >"$set/$tag.json"
    done
done
/usr/bin/python3 - "$OUT" $SETS <<'EOF' | tee results.md
import json, os, sys
out, sets = sys.argv[1], sys.argv[2:]
print(open(os.path.join(out, 'header.txt')).read().rstrip())
def share(d):
    items, train, pos = set(), 0, 0
    for i, l in enumerate(open(os.path.join(d, 'train.tsv'))):
        if i:
            items.update(l.split('\t')[:2]); train += 1
    for i, l in enumerate(open(os.path.join(d, 'val.tsv'))):
        if i:
            f = l.rstrip('\n').split('\t'); items.update(f[:2]); pos += f[2] == '1'
    n = len(items)
    return pos / (n * (n - 1) // 2 - train)
tags = [t for t in ('before', 'after') if os.path.exists(os.path.join(out, sets[0], t + '.json'))]
print('\n| data set | held-out share of non-edges | ' +
      ' | '.join(f'{t}: ECE seen | {t}: ECE all | {t}: AUC all' for t in tags) + ' |')
print('|---|---:|' + '---:|' * 3 * len(tags))
res = {}
for s in sets:
    d = os.path.join(out, s)
    cells = []
    for t in tags:
        p = json.load(open(os.path.join(d, t + '.json')))['probability']
        res[s, t] = p
        cells += [f"{p['ece']:.4f}", f"{p['ece_all']:.4f}", f"{p['auc_all']:.4f}"]
    print(f'| {s} | {share(d):.4f} | ' + ' | '.join(cells) + ' |')
for s in sets:
    for t in tags:
        p = res[s, t]
        print(f"\n{s}, {t}: ECE {p['ece']:.4f} over {p['brier_pairs']} seen pairs; bins as "
              'predicted mean -> observed (pairs)')
        print('  ' + '  '.join(f"{b['mean_predicted']:.3f}->{b['observed']:.3f} ({b['count']})"
                             for b in p['reliability'] if b['count']))
EOF
