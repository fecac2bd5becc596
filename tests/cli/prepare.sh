#!/bin/bash
# prepare.sh - `walkrec prepare` on the real 2018 Amazon metadata: the pairs must equal the
# data sets' pairs.tsv; a cut-off gzip warns and keeps what it read; --strict names the
# broken line; --json, --items and --weights do what they say.
set -euo pipefail

WALKREC=${WALKREC:?path of the walkrec binary}
PY=${PY:-/usr/bin/python3}
DATA=${WALKREC_DATA:-${DATA:?shared data directory}}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

fail() { echo "prepare.sh: FAIL: $*" >&2; exit 1; }

# Same pair set and weights (to 1e-6) as the reference file, and well-formed output.
same_pairs() {
    "$PY" - "$1" "$2" <<'EOF'
import sys
def load(path):
    pairs = {}
    with open(path, encoding="utf-8") as f:
        if f.readline() != "item_a\titem_b\tweight\n":
            sys.exit(f"{path}: bad header")
        for n, line in enumerate(f, 2):
            a, b, w = line.rstrip("\n").split("\t")
            if not a < b or (a, b) in pairs:
                sys.exit(f"{path}:{n}: not item_a < item_b or repeated")
            pairs[(a, b)] = float(w)
    return pairs
got, want = load(sys.argv[1]), load(sys.argv[2])
missing, extra = want.keys() - got.keys(), got.keys() - want.keys()
off = [k for k in want.keys() & got.keys() if abs(want[k] - got[k]) > 1e-6]
if missing or extra or off:
    sys.exit(f"{len(missing)} pairs missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra "
             f"(e.g. {sorted(extra)[:3]}), {len(off)} weights differ (e.g. {off[:3]})")
print(f"{len(got)} pairs equal")
EOF
}

json_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

for set in amazon-gift-cards-2018/meta_Gift_Cards amazon-magazine-subscriptions-2018/meta_Magazine_Subscriptions; do
    dir=$DATA/$(dirname "$set")
    name=$(basename "$set")
    "$WALKREC" prepare "$DATA/$set.json.gz" --pairs "$W/$name.tsv" --items "$W/$name.items.tsv" \
        --json --quiet >"$W/$name.json" || fail "$name: exit $?"
    same_pairs "$W/$name.tsv" "$dir/pairs.tsv" || fail "$name: pairs differ from $dir/pairs.tsv"
    [ "$(json_field "$W/$name.json" malformed)" = 0 ] || fail "$name: malformed lines reported"
    [ "$(json_field "$W/$name.json" truncated)" = False ] || fail "$name: reported as truncated"
    [ "$(json_field "$W/$name.json" pairs)" = "$(($(wc -l <"$dir/pairs.tsv") - 1))" ] ||
        fail "$name: --json pair count"
    # one items row per asin with a record; brand, category and title as in the data set's
    # items.tsv, which was derived independently
    "$PY" - "$W/$name.items.tsv" "$dir/items.tsv" <<'EOF' || fail "$name: items differ"
import sys
def load(path):
    with open(path, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        return head, {r[0]: r for r in (l.rstrip("\n").split("\t") for l in f)}
(hg, got), (hw, want) = load(sys.argv[1]), load(sys.argv[2])
if hg != ["item", "brand", "category", "price", "title", "salesrank"]:
    sys.exit(f"header {hg}")
if got.keys() != want.keys():
    sys.exit(f"{len(got)} items, want {len(want)}")
for col in ("brand", "category", "title"):
    bad = [k for k in want if got[k][hg.index(col)] != want[k][hw.index(col)]]
    if bad:
        sys.exit(f"{col} differs for {len(bad)} items, e.g. {bad[0]}")
print(f"{len(got)} items equal")
EOF
done

# --weights: also_view off leaves the also_buy pairs only, each weighing 1 or 2.
gift=$DATA/amazon-gift-cards-2018/meta_Gift_Cards.json.gz
"$WALKREC" prepare "$gift" --pairs "$W/buy.tsv" --weights also_view=0 --quiet
"$PY" - "$W/buy.tsv" <<'EOF' || fail "--weights also_view=0"
import sys
w = [float(l.split("\t")[2]) for l in list(open(sys.argv[1]))[1:]]
assert w and set(w) <= {1.0, 2.0}, sorted(set(w))
EOF
if "$WALKREC" prepare "$gift" --pairs "$W/x.tsv" --weights also_seen=1 2>"$W/err"; then
    fail "unknown relation in --weights accepted"
fi
grep -q also_seen "$W/err" || fail "--weights error does not name the relation"

# A cut-off gzip: a warning, exit 0 (even with --strict), fewer pairs, "truncated": true.
head -c 200000 "$gift" >"$W/cut.json.gz"
"$WALKREC" prepare "$W/cut.json.gz" --pairs "$W/cut.tsv" --json --strict >"$W/cut.json" \
    2>"$W/cut.err" || fail "cut-off gzip: exit $?"
grep -q "cut off" "$W/cut.err" || fail "cut-off gzip: no warning"
[ "$(json_field "$W/cut.json" truncated)" = True ] || fail "cut-off gzip: not flagged"
cut=$(json_field "$W/cut.json" pairs)
[ "$cut" -gt 0 ] && [ "$cut" -lt 45074 ] || fail "cut-off gzip: $cut pairs"
[ "$(json_field "$W/cut.json" malformed)" = 0 ] || fail "cut-off gzip: the cut line counted"

# A broken line: skipped with a warning naming it; --strict fails naming it.
cat >"$W/broken.txt" <<'EOF'
{'asin': 'A', 'related': {'also_bought': ['B']}}

{'asin': 'B', 'related': {'also_bought': ['C'}}
{"asin": "C", "also_view": ["A"]}
EOF
"$WALKREC" prepare "$W/broken.txt" --pairs "$W/broken.tsv" --json >"$W/broken.json" \
    2>"$W/broken.err" || fail "broken line without --strict: exit $?"
grep -q "broken.txt:3: " "$W/broken.err" || fail "no warning naming line 3: $(cat "$W/broken.err")"
[ "$(json_field "$W/broken.json" malformed)" = 1 ] || fail "malformed count"
[ "$(json_field "$W/broken.json" records)" = 2 ] || fail "record count"
printf 'item_a\titem_b\tweight\nA\tB\t1\nA\tC\t0.5\n' | cmp -s - "$W/broken.tsv" ||
    fail "pairs around the broken line: $(cat "$W/broken.tsv")"
if "$WALKREC" prepare "$W/broken.txt" --pairs "$W/strict.tsv" --strict 2>"$W/strict.err"; then
    fail "--strict accepted a broken line"
fi
grep -q "broken.txt:3: column 46" "$W/strict.err" || fail "--strict message: $(cat "$W/strict.err")"
[ ! -e "$W/strict.tsv" ] || fail "--strict left a pairs file"

# Usage errors.
"$WALKREC" prepare --help | grep -q -- --pairs || fail "--help"
set +e
"$WALKREC" prepare "$gift" 2>/dev/null; rc=$?
set -e
[ "$rc" = 2 ] || fail "missing --pairs: exit $rc, want 2"
echo "prepare.sh: ok"
