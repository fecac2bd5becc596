#!/usr/bin/env bash
# eval.sh - `walkrec split` and `walkrec eval` on the SNAP prefix, cross-checked against an
# independent computation: gensim word2vec on random walks over the training pairs, cosines
# in numpy, AUC from scikit-learn's roc_auc_score, recall@10 / NDCG@10 in numpy.
set -euo pipefail
DATA=${WALKREC_DATA:-$DATA}
PAIRS=$DATA/snap-amazon0302-prefix/pairs.tsv
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "eval.sh: FAIL: $*" >&2; exit 1; }

# --- split: deterministic for a seed, different for another --------------------------------
"$WALKREC" split "$PAIRS" --train "$W/train.tsv" --val "$W/val.tsv" --seed 42 --json >"$W/split.json" \
    || fail "split exited non-zero"
"$WALKREC" split "$PAIRS" --train "$W/train2.tsv" --val "$W/val2.tsv" --seed 42 --quiet
cmp -s "$W/train.tsv" "$W/train2.tsv" || fail "split --seed 42 twice: training files differ"
cmp -s "$W/val.tsv" "$W/val2.tsv" || fail "split --seed 42 twice: validation files differ"
"$WALKREC" split "$PAIRS" --train "$W/train3.tsv" --val "$W/val3.tsv" --seed 43 --quiet
cmp -s "$W/val.tsv" "$W/val3.tsv" && fail "split --seed 42 and --seed 43 gave the same validation file"

# --- split refuses a complete graph instead of looping ---------------------------------------
printf 'item_a\titem_b\tweight\na\tb\t1\na\tc\t1\nb\tc\t1\na\td\t1\nb\td\t1\nc\td\t1\n' >"$W/k4.tsv"
if "$WALKREC" split "$W/k4.tsv" --train "$W/k4t.tsv" --val "$W/k4v.tsv" --quiet 2>"$W/k4.err"; then
    fail "split of a complete graph succeeded"
fi
grep -q "negative" "$W/k4.err" || fail "complete graph: unclear error: $(cat "$W/k4.err")"

# --- the split's contents, checked in Python ---------------------------------------------------
"$PY" - "$PAIRS" "$W" <<'EOF' || fail "split contents"
import json, sys
pairs, w = sys.argv[1], sys.argv[2]
def read(path):
    with open(path) as f:
        head = next(f).rstrip('\n').split('\t')
        return head, [l.rstrip('\n').split('\t') for l in f]
_, full = read(pairs)
edges = {frozenset(r[:2]) for r in full}
items = {x for r in full for x in r[:2]}
thead, train = read(f'{w}/train.tsv')
vhead, val = read(f'{w}/val.tsv')
assert vhead == ['item_a', 'item_b', 'label'], vhead
pos = [frozenset(r[:2]) for r in val if r[2] == '1']
neg = [frozenset(r[:2]) for r in val if r[2] == '0']
assert len(val) == len(pos) + len(neg)
tr = [frozenset(r[:2]) for r in train]
s = json.load(open(f'{w}/split.json'))
assert s['pairs'] == len(edges) and s['train_pairs'] == len(tr), s
assert s['val_positives'] == len(pos) == len(neg) == s['val_negatives'], s
assert len(pos) == round(0.33 * len(edges)), (len(pos), len(edges))
assert set(tr) | set(pos) == edges and len(set(tr) & set(pos)) == 0 and len(tr) + len(pos) == len(edges)
assert all(len(p) == 2 and p <= items and p not in edges for p in neg), 'bad negative'
assert len(set(neg)) == len(neg), 'duplicate negatives'
print(f'split: {len(edges)} pairs -> {len(tr)} train, {len(pos)} + {len(neg)} validation: ok')
EOF

# --- a model from gensim: word2vec on uniform random walks over the training pairs -----------
PYTHONHASHSEED=0 "$PY" - "$W/train.tsv" "$W/vectors.txt" <<'EOF' || fail "gensim training"
import sys
import numpy as np
from gensim.models import Word2Vec
train, out = sys.argv[1], sys.argv[2]
adj = {}
with open(train) as f:
    next(f)
    for line in f:
        a, b, _ = line.rstrip('\n').split('\t')
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
nodes = sorted(adj)
rng = np.random.default_rng(7)
walks = []
for _ in range(10):
    for n in rng.permutation(len(nodes)):
        walk = [nodes[n]]
        for _ in range(19):
            nb = adj[walk[-1]]
            walk.append(nb[rng.integers(len(nb))])
        walks.append(walk)
m = Word2Vec(walks, vector_size=32, window=5, min_count=1, sg=1, negative=5, epochs=5,
             workers=1, seed=1)
m.wv.save_word2vec_format(out)
EOF

"$WALKREC" import "$W/vectors.txt" -o "$W/model.wr" --quiet || fail "import exited non-zero"

# --- eval, JSON + per-pair scores + the sampled queries --------------------------------------
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" --train "$W/train.tsv" --seed 3 --threads 1 --json \
    --scores "$W/scores.tsv" --queries-out "$W/queries.txt" >"$W/eval.json" || fail "eval exited non-zero"
# a sample smaller than the query set: fewer queries, same AUC
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" --train "$W/train.tsv" --queries 50 --json \
    --queries-out "$W/queries50.txt" >"$W/eval50.json" || fail "eval --queries 50 exited non-zero"
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" >"$W/table.txt" || fail "eval (table) exited non-zero"
grep -q "^AUC all" "$W/table.txt" || fail "no 'AUC all' row in the table output: $(cat "$W/table.txt")"

"$PY" - "$W" <<'EOF' || fail "cross-check against numpy / scikit-learn"
import json, math, sys
import numpy as np
from sklearn.metrics import roc_auc_score
w = sys.argv[1]
r = json.load(open(f'{w}/eval.json'))
r50 = json.load(open(f'{w}/eval50.json'))
bad = []
def check(name, got, want, tol=1e-6):
    ok = got is not None and abs(got - want) <= tol
    diff = abs(got - want) if got is not None else float('nan')
    print(f'{name:36s} walkrec {got!r:>22}  reference {want!r:>22}  |diff| {diff:.1e}  {"ok" if ok else "DIFFERS"}')
    if not ok:
        bad.append(name)

# (a) scikit-learn on walkrec's own per-pair scores
rows = [l.rstrip('\n').split('\t') for l in open(f'{w}/scores.tsv')][1:]
lab = np.array([int(x[2]) for x in rows])
sc = np.array([float(x[3]) for x in rows])
seen = np.array([x[4] == '1' for x in rows])
check('auc_all  (sklearn on scores file)', r['auc_all'], roc_auc_score(lab, sc))
check('auc_seen (sklearn on scores file)', r['auc_seen'], roc_auc_score(lab[seen], sc[seen]))

# (b) independent cosines from the gensim vectors, median rule for unseen pairs
with open(f'{w}/vectors.txt') as f:
    n, dim = map(int, next(f).split())
    ids, vecs = [], []
    for line in f:
        p = line.rstrip('\n').split(' ')
        ids.append(p[0])
        vecs.append([float(x) for x in p[1:]])
V = np.array(vecs, dtype=np.float32).astype(np.float64)
row = {s: i for i, s in enumerate(ids)}
U = V / np.linalg.norm(V, axis=1, keepdims=True)
val = [l.rstrip('\n').split('\t') for l in open(f'{w}/val.tsv')][1:]
vl = np.array([int(x[2]) for x in val])
vseen = np.array([x[0] in row and x[1] in row for x in val])
cos = np.array([U[row[a]] @ U[row[b]] if s else np.nan for (a, b, _), s in zip(val, vseen)])
full = np.where(vseen, cos, np.median(cos[vseen]))
check('pairs_seen', r['pairs_seen'], int(vseen.sum()), 0)
check('pairs_unseen', r['pairs_unseen'], int((~vseen).sum()), 0)
check('max |score - numpy cosine|', float(np.max(np.abs(sc - full))), 0.0, 1e-9)
check('auc_all  (sklearn on numpy cosines)', r['auc_all'], roc_auc_score(vl, full))
check('auc_seen (sklearn on numpy cosines)', r['auc_seen'], roc_auc_score(vl[vseen], cos[vseen]))
check('auc_all with --queries 50', r50['auc_all'], r['auc_all'], 0)

# recall@10 / NDCG@10 in numpy over the same queries
train = {}
for l in list(open(f'{w}/train.tsv'))[1:]:
    a, b, _ = l.rstrip('\n').split('\t')
    if a in row and b in row:
        train.setdefault(row[a], set()).add(row[b])
        train.setdefault(row[b], set()).add(row[a])
pos = {}
for (a, b, l), s in zip(val, vseen):
    if l == '1' and s and row[a] != row[b] and row[b] not in train.get(row[a], ()):
        pos.setdefault(row[a], set()).add(row[b])
        pos.setdefault(row[b], set()).add(row[a])

def retrieval(queries, k=10):
    rec, ndcg = [], []
    for q in queries:
        s = U @ U[q]
        s[q] = -np.inf
        for t in train.get(q, ()):
            s[t] = -np.inf
        top = np.argsort(-s, kind='stable')[:k]
        hits = [int(t) in pos[q] for t in top]
        rec.append(sum(hits) / len(pos[q]))
        idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(pos[q]))))
        ndcg.append(sum(h / math.log2(i + 2) for i, h in enumerate(hits)) / idcg)
    return float(np.mean(rec)), float(np.mean(ndcg))

qs = [row[l.rstrip('\n')] for l in open(f'{w}/queries.txt')]
assert len(pos) <= 2000, len(pos)
check('queries (all eligible)', r['queries'], len(pos), 0)
check('query set == eligible items', int(sorted(qs) == sorted(pos)), 1, 0)
rec, nd = retrieval(qs)
check('recall_at_10 (numpy)', r['recall_at_10'], rec)
check('ndcg_at_10 (numpy)', r['ndcg_at_10'], nd)
qs50 = [row[l.rstrip('\n')] for l in open(f'{w}/queries50.txt')]
check('queries with --queries 50', r50['queries'], 50, 0)
check('distinct sampled queries', len(set(qs50)), 50, 0)
rec50, nd50 = retrieval(qs50)
check('recall_at_10, 50 queries (numpy)', r50['recall_at_10'], rec50)
check('ndcg_at_10, 50 queries (numpy)', r50['ndcg_at_10'], nd50)
if bad:
    sys.exit('differs: ' + ', '.join(bad))
EOF
echo "eval.sh: ok"
