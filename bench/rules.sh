#!/usr/bin/env bash
# bench/rules.sh - one evaluation for every model: how much the unseen-item rule and the
# query sample move the figures, for walkrec and for gensim vectors imported into the same
# `walkrec eval`, on every shared set.
#
# usage: bench/rules.sh [--build DIR] [--out DIR] [--sets "a b"] [--data DIR]
#
# Per set: `walkrec split PAIRS --seed 42`, `walkrec train --seed 1 --threads 2
# --walks-out W` (defaults), gensim 4 Word2Vec sg=1 with walkrec's hyper-parameters on the
# same walks (bench/trainer.py gensim, seed 1), `walkrec import`; then `walkrec eval MODEL
# VAL --train TRAIN --json` for each model under --unseen median and --unseen zero, and with
# --queries 2000 against every query item (the default within its budget). One markdown
# table; OUT/results.md keeps it.
set -euo pipefail
. "$(dirname "$0")/sets.sh"
OUT=/var/tmp/walkrec-rules
while [ $# -gt 0 ]; do
    set_option "$1" "${2:-}"
    shift 2
done
start_run "gensim $(/usr/bin/python3 -c 'import gensim; print(gensim.__version__)')"
cd "$OUT"
for set in $SETS; do
    split_set "$set" "$set"
    cd "$set"
    "$W" train train.tsv -o walkrec.wr --seed 1 --threads 2 --walks-out walks.txt --quiet
    /usr/bin/python3 "$ROOT/bench/trainer.py" gensim walks.txt vectors.bin --sg 1 --seed 1 \
        --threads 2 >/dev/null
    "$W" import vectors.bin -o gensim.wr --quiet
    rm -f vectors.bin walks.txt
    for m in walkrec gensim; do
        for u in median zero; do
            "$W" eval "$m.wr" val.tsv --train train.tsv --threads 2 --unseen "$u" --json >"$m-$u.json"
        done
        "$W" eval "$m.wr" val.tsv --train train.tsv --threads 2 --queries 2000 --json >"$m-2000.json"
    done
    cd ..
done
/usr/bin/python3 - "$OUT" $SETS <<'EOF' | tee results.md
import json, os, sys
out, sets = sys.argv[1], sys.argv[2:]
print(open(os.path.join(out, 'header.txt')).read().rstrip())
print('\n| data set | unseen pairs | AUC all median / zero: cosine | popularity | probability | '
      'gensim cosine | recall@10 2000 sampled / all queries: walkrec | gensim | queries |')
print('|---|---:|---|---|---|---|---|---|---:|')
for s in sets:
    j = lambda n: json.load(open(os.path.join(out, s, n + '.json')))
    wm, wz, w2 = j('walkrec-median'), j('walkrec-zero'), j('walkrec-2000')
    gm, gz, g2 = j('gensim-median'), j('gensim-zero'), j('gensim-2000')
    mz = lambda a, b: f'{a:.4f} / {b:.4f}'
    print(f"| {s} | {wm['pairs_unseen'] / wm['pairs']:.3f} | {mz(wm['auc_all'], wz['auc_all'])} | "
          f"{mz(wm['popularity']['auc_all'], wz['popularity']['auc_all'])} | "
          f"{mz(wm['probability']['auc_all'], wz['probability']['auc_all'])} | "
          f"{mz(gm['auc_all'], gz['auc_all'])} | {mz(w2['recall_at_10'], wm['recall_at_10'])} | "
          f"{mz(g2['recall_at_10'], gm['recall_at_10'])} | {w2['queries']} / {wm['queries']} |")
EOF
