#!/usr/bin/env bash
# train.sh - the whole pipeline from the command line: synth -> split -> train -> eval on a
# catalogue with planted categories. Checks that training learns the categories (AUC,
# recall against the popularity baseline, neighbours in the item's own category), that a
# one-thread run is repeatable bit for bit, that --walks-out/--sequences round-trip, the
# learning curve of --val, the JSON summaries, and that bad input stops with a message.
set -euo pipefail
: "${WALKREC:?set WALKREC to the walkrec binary}"
PY=${PY:-/usr/bin/python3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "train.sh: $*" >&2; exit 1; }
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }
# ge A B: A >= B as floats
ge() { "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

# 1. A seeded catalogue: 1500 items in 15 categories, 90% of pairs inside a category.
"$WALKREC" synth -o pairs.tsv --items-out items.tsv --items 1500 --pairs 12000 \
    --categories 15 --seed 3 --json --quiet >synth.json
[ "$(jget synth.json pairs)" = 12000 ] || fail "synth pair count: $(cat synth.json)"
[ "$(($(wc -l <pairs.tsv) - 1))" = 12000 ] || fail "pairs.tsv has $(wc -l <pairs.tsv) lines"
"$WALKREC" synth -o again.tsv --items 1500 --pairs 12000 --categories 15 --seed 3 --quiet
cmp -s pairs.tsv again.tsv || fail "synth is not a function of its seed"

# 2. Split with both kinds of negatives; train with a learning curve.
"$WALKREC" split pairs.tsv --train t.tsv --val v.tsv --seed 42 --negatives both --quiet
"$WALKREC" train t.tsv -o m.wr --dim 32 --epochs 3 --threads 2 --val v.tsv --eval-every 3 \
    --walks-out walks.txt --json --quiet >train.json
[ "$(jget train.json trainer.dim)" = 32 ] || fail "train --json: $(head -c 400 train.json)"
[ -s walks.txt ] || fail "--walks-out wrote nothing"
"$PY" - train.json <<'EOF' || fail "learning curve"
import json, sys
t = json.load(open(sys.argv[1]))
curve = t["learning_curve"]
assert len(curve) >= 3, curve
aucs = [p["auc_all"] for p in curve]
assert aucs[-1] > 0.8 and aucs[-1] > aucs[0], aucs
EOF

# 3. It learned the categories: AUC on both negative kinds, recall above best-sellers.
"$WALKREC" eval m.wr v.tsv --train t.tsv --json --quiet >eval.json
"$PY" - eval.json <<'EOF' || fail "quality: $(head -c 600 eval.json)"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["auc_all"] > 0.85, e["auc_all"]
assert e["negatives"]["degree"] > 0
assert e["degree_negatives"]["auc_all"] > 0.75, e["degree_negatives"]
assert e["recall_at_10"] > e["popularity"]["recall_at_10"], (e["recall_at_10"], e["popularity"])
EOF

# Most of an item's nearest neighbours share its planted category.
for q in P0000001 P0000002 P0000100 P0001000; do
    "$WALKREC" neighbors m.wr "$q" -k 5 --rank cosine --json
done >nb.json
"$PY" - nb.json items.tsv <<'EOF' || fail "neighbours outside their category: $(head -c 600 nb.json)"
import csv, json, sys
cat = {r[0]: r[1] for r in csv.reader(open(sys.argv[2]), delimiter="\t")}
dec, text, lists = json.JSONDecoder(), open(sys.argv[1]).read(), []
while text.strip():
    obj, end = dec.raw_decode(text.strip())
    lists.append(obj)
    text = text.strip()[end:]
same = total = 0
for q in lists:
    for n in q["neighbors"]:
        total += 1
        same += cat[n["item"]] == cat[q["item"]]
assert total >= 15 and same / total >= 0.8, (same, total)
EOF

# 4. One thread + a seed: the same vectors twice. The walks file trains as sequences.
for r in 1 2; do
    "$WALKREC" train t.tsv -o r$r.wr --dim 16 --epochs 1 --threads 1 --seed 9 --quiet
    "$WALKREC" export r$r.wr -o r$r.txt --quiet
done
cmp -s r1.txt r2.txt || fail "one-thread training is not repeatable"
"$WALKREC" train --sequences walks.txt -o s.wr --dim 32 --epochs 3 --threads 2 --quiet
"$WALKREC" eval s.wr v.tsv --train t.tsv --rank cosine --json --quiet >seq.json
ge "$(jget seq.json auc_all)" 0.85 || fail "--sequences on the walks: AUC $(jget seq.json auc_all)"

# 5. Bad input stops with a message naming the problem, and writes no model.
expect_fail() { # PATTERN CMD...
    local pat=$1
    shift
    if "$@" >out.txt 2>err.txt; then fail "expected failure: $*"; fi
    grep -qi -- "$pat" err.txt || fail "$*: message lacks '$pat': $(cat err.txt)"
}
expect_fail "no-such" "$WALKREC" train no-such.tsv -o x.wr --quiet
# A malformed line is skipped with a warning naming it; a file with no pair at all is fatal.
printf 'a\tb\t1\nc\td\tnot-a-number\n' >bad.tsv
"$WALKREC" train bad.tsv -o b.wr --dim 8 2>err.txt || fail "one bad line of two: $(cat err.txt)"
grep -q "bad.tsv:2: " err.txt || fail "no warning naming bad.tsv:2: $(cat err.txt)"
printf 'c\td\tnot-a-number\n' >none.tsv
expect_fail "none.tsv" "$WALKREC" train none.tsv -o x.wr --quiet
expect_fail "dim" "$WALKREC" train t.tsv -o x.wr --dim 0 --quiet
expect_fail "edge-weight" "$WALKREC" train t.tsv -o x.wr --edge-weight cubic --quiet
expect_fail "calibration" "$WALKREC" train t.tsv -o x.wr --calibration 1.5 --quiet
[ ! -e x.wr ] || fail "a failed run left a model file"
echo "train.sh: ok"
