#!/usr/bin/env bash
# bench/side.sh - side information judged without its leaks: on every shared set with an
# items file, sgns without side information, with every column, and without the columns
# that only restate popularity (sales rank; online-retail's invoice count).
#
# usage: bench/side.sh [--build DIR] [--out DIR] [--sets "a b"] [--data DIR]
#
# Per set: `walkrec split PAIRS --seed 42 --negatives both`, `walkrec train --seed 1
# --threads 2` three ways (plain; --side-info ITEMS; --side-info ITEMS --side-columns all
# but rank and n_invoices), `walkrec eval MODEL VAL --train TRAIN --json --scores S`. From
# the scored pairs (scikit-learn's roc_auc_score): AUC with uniform negatives, with
# degree-matched negatives, and with uniform negatives over the pairs whose two items both
# have a row in the items file (so that "has a metadata row" alone cannot tell a pair
# apart); for the cosine and the probability; plus recall@10 and the share of validation
# pairs the model has no vector for. One markdown table; OUT/results.md keeps it.
set -euo pipefail
. "$(dirname "$0")/sets.sh"
OUT=/var/tmp/walkrec-side
SETS="amazon-gift-cards-2018 amazon-magazine-subscriptions-2018 online-retail"
POPULARITY_COLUMNS="rank n_invoices"
while [ $# -gt 0 ]; do
    set_option "$1" "${2:-}"
    shift 2
done
start_run
cd "$OUT"
for set in $SETS; do
    items=$DATA/$set/items.tsv
    split_set "$set" "$set" --negatives both
    cd "$set"
    cols=$(head -1 "$items" | tr '\t' '\n' | tail -n +2 | grep -vxF -f <(tr ' ' '\n' <<<"$POPULARITY_COLUMNS") |
        paste -sd,)
    "$W" train train.tsv -o plain.wr --seed 1 --threads 2 --quiet
    "$W" train train.tsv -o side.wr --seed 1 --threads 2 --side-info "$items" --quiet
    "$W" train train.tsv -o side-nopop.wr --seed 1 --threads 2 --side-info "$items" \
        --side-columns "$cols" --quiet
    for m in plain side side-nopop; do
        "$W" eval "$m.wr" val.tsv --train train.tsv --threads 2 --json --scores "$m.scores.tsv" >"$m.json"
    done
    echo "$cols" >columns.txt
    cd ..
done
/usr/bin/python3 - "$OUT" "$DATA" $SETS <<'EOF' | tee results.md
import csv, json, os, sys
from sklearn.metrics import roc_auc_score
out, data, sets = sys.argv[1], sys.argv[2], sys.argv[3:]
print(open(os.path.join(out, 'header.txt')).read().rstrip())
print('\n| data set | model | unseen pairs | cosine AUC: uniform / degree / both described | '
      'probability AUC: uniform / degree / both described | recall@10 |')
print('|---|---|---:|---|---|---:|')
for s in sets:
    described = {r['item'] for r in csv.DictReader(open(os.path.join(data, s, 'items.tsv')),
                                                   delimiter='\t', quoting=csv.QUOTE_NONE)}
    cols = open(os.path.join(out, s, 'columns.txt')).read().strip()
    for m, name in (('plain', 'sgns'), ('side', 'sgns --side-info (every column)'),
                    ('side-nopop', f'sgns --side-info --side-columns {cols}')):
        rows = list(csv.DictReader(open(os.path.join(out, s, m + '.scores.tsv')), delimiter='\t',
                                   quoting=csv.QUOTE_NONE))
        j = json.load(open(os.path.join(out, s, m + '.json')))
        def auc(col, keep):
            sel = [r for r in rows if keep(r)]
            return roc_auc_score([int(r['label']) for r in sel], [float(r[col]) for r in sel])
        uni = lambda r: r['label'] == '1' or r['negatives'] == 'uniform'
        deg = lambda r: r['label'] == '1' or r['negatives'] == 'degree'
        both = lambda r: uni(r) and r['item_a'] in described and r['item_b'] in described
        cells = []
        for col in ('score', 'probability'):
            cells.append(' / '.join('%.4f' % auc(col, k) for k in (uni, deg, both)))
        print(f"| {s} | {name} | {j['pairs_unseen'] / j['pairs']:.3f} | {cells[0]} | {cells[1]} | "
              f"{j['recall_at_10']:.4f} |")
EOF
