#!/usr/bin/env bash
# bench/slice.sh - what the trainer decides on its calibration slice, on every shared set:
# whether the pair probability means what it says (ECE, reliability), and which edge
# weighting it picks and what each weighting gives.
#
# usage: bench/slice.sh [--build DIR] [--before WALKREC] [--out DIR] [--sets "a b"]
#                       [--data DIR] [--seed N]
#
# Per set: `walkrec split PAIRS --seed 42` (a third held out, as many uniform non-edges),
# then `walkrec train` (--seed N, 2 threads) with its defaults (--edge-weight auto: lift
# and raw both trained, the better on the slice kept), with --edge-weight lift and with
# raw, and, given --before, with another build's defaults; every model scored by this
# build's `walkrec eval MODEL VAL --train TRAIN --json`. Prints two markdown tables and the
# reliability tables; OUT/results.md keeps them.
#   calibration: ECE over the seen pairs and over all pairs, probability AUC, and the share
#     of the training data's non-edges that are held-out pairs (what the slice's "negatives"
#     hold of the pairs the validation counts as related)
#   edge weighting: the pick, both slice AUCs, cosine and probability AUC and recall@10
#     under each scheme, training seconds (wall, neighbour lists included)
set -euo pipefail
. "$(dirname "$0")/sets.sh"
OUT=/var/tmp/walkrec-slice BEFORE="" SEED=1
while [ $# -gt 0 ]; do
    case $1 in
    --before) BEFORE=$2 ;;
    --seed) SEED=$2 ;;
    *) set_option "$1" "${2:-}" ;;
    esac
    shift 2
done
start_run
cd "$OUT"
[ -z "$BEFORE" ] || echo "# before: $BEFORE (sha256 $(sha256sum "$BEFORE" | cut -c1-12))" >>header.txt
runs="auto:$W:auto lift:$W:lift raw:$W:raw"
[ -z "$BEFORE" ] || runs="before:$BEFORE:auto $runs"
for set in $SETS; do
    split_set "$set" "$set"
    for run in $runs; do
        IFS=: read -r tag bin ew <<<"$run"
        t0=$(date +%s.%N)
        "$bin" train "$set/train.tsv" -o "$set/$tag.wr" --edge-weight "$ew" --seed "$SEED" \
            --threads 2 --quiet
        echo "$t0 $(date +%s.%N)" | awk '{printf "%.2f\n", $2 - $1}' >"$set/$tag.seconds"
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
res = {(s, t): json.load(open(os.path.join(out, s, t + '.json')))
       for s in sets for t in ('before', 'auto', 'lift', 'raw')
       if os.path.exists(os.path.join(out, s, t + '.json'))}
sec = {k: open(os.path.join(out, k[0], k[1] + '.seconds')).read().strip() for k in res}
tags = [t for t in ('before', 'auto') if (sets[0], t) in res]
print('\n| data set | held-out share of non-edges | ' +
      ' | '.join(f'{t}: ECE seen | {t}: ECE all | {t}: probability AUC all' for t in tags) + ' |')
print('|---|---:|' + '---:|' * 3 * len(tags))
for s in sets:
    cells = []
    for t in tags:
        p = res[s, t]['probability']
        cells += [f"{p['ece']:.4f}", f"{p['ece_all']:.4f}", f"{p['auc_all']:.4f}"]
    print(f'| {s} | {share(os.path.join(out, s)):.4f} | ' + ' | '.join(cells) + ' |')
print('\n| data set | picked | slice cosine AUC lift / raw | cosine AUC all lift / raw | '
      'probability AUC all lift / raw | recall@10 lift / raw | picked model: cosine AUC, '
      'probability AUC, recall@10 | train s auto / lift / raw |')
print('|---|---|---|---|---|---|---|---|')
for s in sets:
    r = {t: res[s, t] for t in ('auto', 'lift', 'raw')}
    a = r['auto'].get('edge_weight_choice', {}).get('slice_cosine_auc', {})
    pair = lambda f: ' / '.join(f(r[t]) for t in ('lift', 'raw'))
    print(f"| {s} | {r['auto'].get('edge_weight')} | {a.get('lift', float('nan')):.4f} / "
          f"{a.get('raw', float('nan')):.4f} | {pair(lambda j: '%.4f' % j['auc_all'])} | "
          f"{pair(lambda j: '%.4f' % j['probability']['auc_all'])} | "
          f"{pair(lambda j: '%.4f' % j['recall_at_10'])} | {r['auto']['auc_all']:.4f}, "
          f"{r['auto']['probability']['auc_all']:.4f}, {r['auto']['recall_at_10']:.4f} | "
          f"{sec[s, 'auto']} / {sec[s, 'lift']} / {sec[s, 'raw']} |")
for s in sets:
    for t in tags:
        p = res[s, t]['probability']
        print(f"\n{s}, {t}: ECE {p['ece']:.4f} over {p['brier_pairs']} seen pairs; bins as "
              'predicted mean -> observed (pairs)')
        print('  ' + '  '.join(f"{b['mean_predicted']:.3f}->{b['observed']:.3f} ({b['count']})"
                             for b in p['reliability'] if b['count']))
EOF
