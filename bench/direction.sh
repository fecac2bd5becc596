#!/usr/bin/env bash
# bench/direction.sh - "similar" against "goes with" on every shared set: recall@10 of the
# held-out pairs ranked by input-input cosine (similar) and by input-output cosine
# (complement), and per kind and direction of the raw data's edges.
#
#   bench/direction.sh [--build DIR] [--out DIR] [--data DIR] [--sets "A B"]
#
# Each set: `walkrec split --seed 42`, `walkrec train train.tsv --keep-context` (defaults
# otherwise: the model keeps skip-gram's context vectors), then bench/direction.py on the model and the held-out
# pairs. The raw data's direction: SNAP's edge list for snap-amazon0302-prefix (kind
# "edge": a customer who bought a also bought b), and for the Amazon 2018 sets each
# product's also_buy and also_view lists from its metadata (kinds also_buy, also_view). The
# other sets have no direction. Beside them, the recall@10 of the lists as walkrecd serves
# them (`walkrec eval`: by calibrated probability). One JSON line per set in OUT/SET.json,
# the eval in OUT/SET.eval.json; a table on stdout.
set -euo pipefail
source "$(dirname "$0")/sets.sh"
OUT=${TMPDIR:-/tmp}/walkrec-direction
while [ $# -gt 0 ]; do
    set_option "$1" "${2:-}"
    shift 2
done
start_run
PY=/usr/bin/python3
cat "$OUT/header.txt"

# The directed edges of a set's raw data, "a b kind" lines, or nothing.
directed_edges() { # SET FILE
    local raw=$DATA/$1
    if [ -f "$raw/Amazon0302.txt" ]; then
        awk '!/^#/ { print $1 "\t" $2 "\tedge" }' "$raw/Amazon0302.txt" >"$2"
    elif ls "$raw"/meta_*.json.gz >/dev/null 2>&1; then
        $PY - "$raw"/meta_*.json.gz >"$2" <<'PY'
import gzip, json, sys
for line in gzip.open(sys.argv[1], "rt", errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue  # a cut-off last line
    for kind in ("also_buy", "also_view"):
        for b in d.get(kind) or []:
            print("%s\t%s\t%s" % (d.get("asin"), b, kind))
PY
    else
        : >"$2"
    fi
}

for set in $SETS; do
    d=$OUT/$set
    split_set "$set" "$d"
    [ -f "$d/model.wr" ] || "$W" train "$d/train.tsv" -o "$d/model.wr" --threads "$(nproc)" \
        --keep-context --quiet
    directed_edges "$set" "$d/directed.tsv"
    if [ -s "$d/directed.tsv" ]; then
        $PY "$ROOT/bench/direction.py" "$d/model.wr" "$d/train.tsv" "$d/val.tsv" "$d/directed.tsv"
    else
        $PY "$ROOT/bench/direction.py" "$d/model.wr" "$d/train.tsv" "$d/val.tsv"
    fi >"$OUT/$set.json"
    "$W" eval "$d/model.wr" "$d/val.tsv" --train "$d/train.tsv" --json >"$OUT/$set.eval.json"
done

$PY - "$OUT" $SETS <<'PY'
import json, os, sys
out, sets = sys.argv[1], sys.argv[2:]
print("| set | queries | similar | complement | a->b | b->a | served (walkrec eval) |")
print("|---|---:|---:|---:|---:|---:|---:|")
kinds = []
for s in sets:
    r = json.load(open(os.path.join(out, s + ".json")))
    rc = r["recall_at_10"]
    e = json.load(open(os.path.join(out, s + ".eval.json")))
    print("| %s | %d | %.4f | %.4f | %.4f | %.4f | %.4f (%s) |" % (s, r["queries"], rc["similar"],
          rc["complement"], rc["a->b"], rc["b->a"], e["recall_at_10"], e["rank"]))
    for kd in sorted(r.get("by_kind", {}).get("similar", {})):
        kinds.append((s, kd, {n: r["by_kind"][n][kd] for n in r["by_kind"]}))
if kinds:
    print()
    print("| set | held-out partners of kind, direction | queries | similar | complement | a->b | b->a |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for s, kd, v in kinds:
        f = lambda x: "–" if x[0] is None else "%.4f" % x[0]  # noqa: E731
        print("| %s | %s | %d | %s | %s | %s | %s |" % (s, kd, v["similar"][1], f(v["similar"]),
              f(v["complement"]), f(v["a->b"]), f(v["b->a"])))
PY
