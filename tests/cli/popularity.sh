#!/usr/bin/env bash
# popularity.sh - evaluation that a best-seller list cannot fool: `walkrec split --negatives`
# and the popularity baseline, coverage and popularity bias of `walkrec eval`, cross-checked
# against an independent computation (training degrees, scikit-learn's roc_auc_score, numpy
# rankings) for gensim vectors trained on the SNAP prefix.
set -euo pipefail
DATA=${WALKREC_DATA:-$DATA}
PAIRS=$DATA/snap-amazon0302-prefix/pairs.tsv
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "popularity.sh: FAIL: $*" >&2; exit 1; }

# --- split --negatives: both kinds, the uniform ones as with uniform alone -------------------
"$WALKREC" split "$PAIRS" --train "$W/train.tsv" --val "$W/val.tsv" --seed 42 --negatives both \
    --json >"$W/split.json" || fail "split --negatives both exited non-zero"
"$WALKREC" split "$PAIRS" --train "$W/train_u.tsv" --val "$W/val_u.tsv" --seed 42 --quiet
"$WALKREC" split "$PAIRS" --train "$W/train_b.tsv" --val "$W/val_b.tsv" --seed 42 --quiet \
    --negatives both
cmp -s "$W/val.tsv" "$W/val_b.tsv" || fail "split --negatives both twice: validation files differ"
cmp -s "$W/train.tsv" "$W/train_u.tsv" || fail "the training pairs depend on --negatives"
if "$WALKREC" split "$PAIRS" --train "$W/x.tsv" --val "$W/y.tsv" --negatives popular 2>"$W/err"; then
    fail "split --negatives popular succeeded"
fi
grep -q "uniform, degree or both" "$W/err" || fail "bad --negatives: unclear error: $(cat "$W/err")"

"$PY" - "$PAIRS" "$W" <<'EOF' || fail "split contents"
import json, sys
pairs, w = sys.argv[1], sys.argv[2]
rows = lambda p: [l.rstrip('\n').split('\t') for l in open(p)]
full = rows(pairs)[1:]
edges = {frozenset(r[:2]) for r in full}
val, val_u = rows(f'{w}/val.tsv'), rows(f'{w}/val_u.tsv')
assert val[0] == ['item_a', 'item_b', 'label', 'negatives'], val[0]
assert val_u[0] == ['item_a', 'item_b', 'label'], val_u[0]
pos = [r for r in val[1:] if r[2] == '1']
uni = [r for r in val[1:] if r[2] == '0' and r[3] == 'uniform']
deg = [r for r in val[1:] if r[2] == '0' and r[3] == 'degree']
assert all(r[3] == '' for r in pos), 'a positive row names a kind of negatives'
assert len(pos) + len(uni) + len(deg) == len(val) - 1
assert len(pos) == len(uni) == len(deg) == round(0.33 * len(edges)), (len(pos), len(uni), len(deg))
assert [r[:3] for r in val[1:1 + 2 * len(pos)]] == val_u[1:], 'uniform part differs from --negatives uniform'
held = {x for r in pos for x in r[:2]}
for kind in (uni, deg):
    keys = [frozenset(r[:2]) for r in kind]
    assert all(len(k) == 2 and k not in edges for k in keys), 'self pair or true edge among negatives'
    assert len(set(keys)) == len(keys), 'duplicate negatives'
assert all(r[0] in held and r[1] in held for r in deg), 'degree negative outside the held-out items'
s = json.load(open(f'{w}/split.json'))
assert s['negatives'] == 'both' and s['val_negatives'] == 2 * len(pos), s
assert s['val_negatives_uniform'] == len(uni) and s['val_negatives_degree'] == len(deg), s
print(f'split: {len(pos)} held-out, {len(uni)} uniform + {len(deg)} degree-matched negatives: ok')
EOF

# --- a model from gensim: word2vec on uniform random walks over the training pairs -----------
PYTHONHASHSEED=0 "$PY" - "$W/train.tsv" "$W/vectors.txt" <<'EOF' || fail "gensim training"
import sys
import numpy as np
from gensim.models import Word2Vec
train, out = sys.argv[1], sys.argv[2]
adj = {}
for line in list(open(train))[1:]:
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

# --- without training pairs the baseline is unavailable, and eval says so -------------------
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" >"$W/table0.txt" || fail "eval without --train exited non-zero"
grep -q "popularity baseline: unavailable" "$W/table0.txt" \
    || fail "no 'popularity baseline: unavailable' line without --train: $(cat "$W/table0.txt")"
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" --json >"$W/eval0.json" || fail "eval --json without --train"
if "$WALKREC" eval "$W/model.wr" "$W/val.tsv" --rank probability 2>"$W/err" >/dev/null; then
    fail "eval --rank probability succeeded on a model without calibration"
fi
grep -q "calibrat" "$W/err" || fail "--rank probability: unclear error: $(cat "$W/err")"
item=$(sed -n 2p "$W/vectors.txt" | cut -d' ' -f1)
if "$WALKREC" neighbors "$W/model.wr" "$item" --rank probability 2>"$W/err" >/dev/null; then
    fail "neighbors --rank probability succeeded on a model without calibration"
fi
grep -q "calibrat" "$W/err" || fail "neighbors --rank probability: unclear error: $(cat "$W/err")"
"$WALKREC" neighbors "$W/model.wr" "$item" --json | grep -q '"rank": "cosine"' \
    || fail "neighbors of an uncalibrated model are not ranked by cosine"

# --- with them: every number beside the model's, cross-checked ------------------------------
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" --train "$W/train.tsv" --seed 5 --threads 1 --json \
    --scores "$W/scores.tsv" --queries-out "$W/queries.txt" >"$W/eval.json" \
    || fail "eval --train exited non-zero"
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" --train "$W/train.tsv" >"$W/table.txt" \
    || fail "eval --train (table) exited non-zero"
grep -q "^AUC all (degree neg.)" "$W/table.txt" || fail "no degree-negatives row: $(cat "$W/table.txt")"
# a three-column file scores the same as the uniform part of a four-column one
"$WALKREC" eval "$W/model.wr" "$W/val_u.tsv" --train "$W/train.tsv" --seed 5 --threads 1 --json \
    >"$W/eval_u.json" || fail "eval on the uniform-only file exited non-zero"
# the other unseen rule: cosine 0, popularity by degree (0 for an item with no pair)
"$WALKREC" eval "$W/model.wr" "$W/val.tsv" --train "$W/train.tsv" --seed 5 --threads 1 --json \
    --unseen zero >"$W/eval_z.json" || fail "eval --unseen zero exited non-zero"

"$PY" - "$W" <<'EOF' || fail "cross-check against numpy / scikit-learn"
import json, math, sys
import numpy as np
from sklearn.metrics import roc_auc_score
w = sys.argv[1]
r, ru, r0, rz = (json.load(open(f'{w}/{n}.json')) for n in ('eval', 'eval_u', 'eval0', 'eval_z'))
assert (r['unseen'], rz['unseen']) == ('median', 'zero'), (r['unseen'], rz['unseen'])
bad = []
def check(name, got, want, tol=1e-9):
    ok = got is not None and want is not None and abs(got - want) <= tol
    print(f'{name:44s} walkrec {got!r:>22}  reference {want!r:>22}  {"ok" if ok else "DIFFERS"}')
    if not ok:
        bad.append(name)

# the old keys keep their meaning; the new ones are there
for k in ('auc_all', 'auc_seen', 'recall_at_10', 'ndcg_at_10', 'pairs_seen', 'pairs_unseen', 'queries'):
    assert k in r, k
check('auc_all: 4-column file == 3-column file', r['auc_all'], ru['auc_all'], 0)
check('auc_seen: 4-column file == 3-column file', r['auc_seen'], ru['auc_seen'], 0)
check('popularity auc_all: same', r['popularity']['auc_all'], ru['popularity']['auc_all'], 0)
assert r0['popularity'] == {'available': False, 'reason': r0['popularity']['reason']}, r0['popularity']
assert r0['popularity_bias'] is None and r['probability']['available'] is False

# the model's rows, the training degrees and neighbours
ids, vecs = [], []
with open(f'{w}/vectors.txt') as f:
    next(f)
    for line in f:
        p = line.rstrip('\n').split(' ')
        ids.append(p[0])
        vecs.append([float(x) for x in p[1:]])
row = {s: i for i, s in enumerate(ids)}
V = np.array(vecs, dtype=np.float32).astype(np.float64)
U = V / np.linalg.norm(V, axis=1, keepdims=True)
deg, nbr = {}, {}
for l in list(open(f'{w}/train.tsv'))[1:]:
    a, b, _ = l.rstrip('\n').split('\t')
    deg[a] = deg.get(a, 0) + 1
    deg[b] = deg.get(b, 0) + 1
    if a in row and b in row:
        nbr.setdefault(row[a], set()).add(row[b])
        nbr.setdefault(row[b], set()).add(row[a])
ld = lambda s: math.log1p(deg.get(s, 0))

# popularity AUCs: every pair scored; "seen" = both items in the model
val = [l.rstrip('\n').split('\t') for l in open(f'{w}/val.tsv')][1:]
for kind, key in (('uniform', None), ('degree', 'degree_negatives')):
    rows_ = [v for v in val if v[2] == '1' or v[3] == kind]
    y = np.array([int(v[2]) for v in rows_])
    s = np.array([ld(v[0]) + ld(v[1]) for v in rows_])
    seen = np.array([v[0] in row and v[1] in row for v in rows_])
    # one rule for every row: the median of the seen pairs (default), or 0 / the degree
    got = r['popularity'] if key is None else r['popularity'][key]
    gz = rz['popularity'] if key is None else rz['popularity'][key]
    check(f'popularity auc_all ({kind}, median rule)', got['auc_all'],
          roc_auc_score(y, np.where(seen, s, np.median(s[seen]))))
    check(f'popularity auc_all ({kind}, zero rule)', gz['auc_all'], roc_auc_score(y, s))
    check(f'popularity auc_seen ({kind})', got['auc_seen'], roc_auc_score(y[seen], s[seen]))
    cos = np.array([U[row[v[0]]] @ U[row[v[1]]] if q else np.nan for v, q in zip(rows_, seen)])
    full = np.where(seen, cos, np.median(cos[seen]))
    got = r if key is None else r[key]
    gz = rz if key is None else rz[key]
    check(f'cosine auc_all ({kind}, own median)', got['auc_all'], roc_auc_score(y, full), 1e-6)
    check(f'cosine auc_all ({kind}, zero rule)', gz['auc_all'],
          roc_auc_score(y, np.where(seen, cos, 0.0)), 1e-6)
    check(f'cosine auc_seen ({kind})', got['auc_seen'], roc_auc_score(y[seen], cos[seen]), 1e-6)
pd = r['popularity']['degree_negatives']['auc_all']
print(f'popularity on degree-matched negatives: {pd:.4f} (uniform: {r["popularity"]["auc_all"]:.4f})')
if not 0.45 <= pd <= 0.55:
    bad.append('popularity AUC on degree-matched negatives outside 0.45-0.55')

# scores file: the popularity column is the score above
sc = [l.rstrip('\n').split('\t') for l in open(f'{w}/scores.tsv')]
assert sc[0] == ['item_a', 'item_b', 'label', 'score', 'seen', 'negatives', 'popularity'], sc[0]
check('max |popularity column - reference|',
      max(abs(float(x[6]) - ld(x[0]) - ld(x[1])) for x in sc[1:]), 0.0, 1e-12)

# lists for the same queries: positives minus training neighbours, as eval.h defines them
pos = {}
for v in val:
    if v[2] == '1' and v[0] in row and v[1] in row:
        a, b = row[v[0]], row[v[1]]
        if a != b and b not in nbr.get(a, ()):
            pos.setdefault(a, set()).add(b)
            pos.setdefault(b, set()).add(a)
qs = [row[l.rstrip('\n')] for l in open(f'{w}/queries.txt')]
n = len(ids)
d_row = np.array([deg.get(s, 0) for s in ids])
best_sellers = sorted(range(n), key=lambda i: (-d_row[i], i))
def metrics(lists, k=10):
    rec, ndcg, listed = [], [], []
    for q, top in zip(qs, lists):
        hits = [t in pos[q] for t in top]
        rec.append(sum(hits) / len(pos[q]))
        idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(pos[q]))))
        ndcg.append(sum(h / math.log2(i + 2) for i, h in enumerate(hits)) / idcg)
        listed += top
    return (float(np.mean(rec)), float(np.mean(ndcg)), len(set(listed)) / n,
            float(np.mean(np.log1p(d_row[listed]))))
def cosine_list(q, k=10):
    s = U @ U[q]
    s[q] = -np.inf
    for t in nbr.get(q, ()):
        s[t] = -np.inf
    return [int(t) for t in np.argsort(-s, kind='stable')[:k]]
def popular_list(q, k=10):
    return [t for t in best_sellers if t != q and t not in nbr.get(q, ())][:k]
model = metrics([cosine_list(q) for q in qs])
popular = metrics([popular_list(q) for q in qs])
p = r['popularity']
check('popularity recall_at_10', p['recall_at_10'], popular[0])
check('popularity ndcg_at_10', p['ndcg_at_10'], popular[1])
check('popularity coverage_at_10', p['coverage_at_10'], popular[2])
check('popularity bias: recommended', p['popularity_bias']['recommended'], popular[3])
check('model recall_at_10', r['recall_at_10'], model[0], 1e-6)
check('model coverage_at_10', r['coverage_at_10'], model[2], 1e-6)
check('model popularity bias: recommended', r['popularity_bias']['recommended'], model[3], 1e-6)
check('catalogue mean log-degree', r['popularity_bias']['catalogue'], float(np.mean(np.log1p(d_row))))
if bad:
    sys.exit('differs: ' + ', '.join(bad))
EOF

# --- a calibrated model: its probabilities recomputed from the model file alone, and its lists
# ranked in the order its training slice chose (include/walkrec/calib.h) --------------------
"$WALKREC" train "$W/train.tsv" -o "$W/cal.wr" --dim 32 --epochs 2 --threads 1 2>"$W/train.err" \
    || fail "train (calibrated) exited non-zero"
grep -q "^calibration: .* lists rank by \(probability\|cosine\)" "$W/train.err" \
    || fail "train does not say how the lists rank: $(cat "$W/train.err")"
"$WALKREC" eval "$W/cal.wr" "$W/val.tsv" --train "$W/train.tsv" --threads 1 --json \
    --scores "$W/cal_scores.tsv" >"$W/cal.json" || fail "eval (calibrated) exited non-zero"
item=$(sed -n 2p "$W/train.tsv" | cut -f1)
"$WALKREC" neighbors "$W/cal.wr" "$item" --json >"$W/cal_nb.json" || fail "neighbors (calibrated)"
"$PY" - "$W" <<'EOF' || fail "calibrated probabilities"
import json, math, struct, sys
w = sys.argv[1]
data = open(f'{w}/cal.wr', 'rb').read()
_, _, dim, n, _, nsec = struct.unpack_from('<8sIIQqI', data, 0)
sec = {}
for i in range(nsec):
    typ, _, off, length = struct.unpack_from('<IIQQ', data, 64 + 24 * i)
    sec[typ] = data[off:off + length]
meta = json.loads(sec[1])
ids = [s.decode() for s in sec[2].split(b'\0')[:n]]
row = {s: i for i, s in enumerate(ids)}
flat = struct.unpack('<%df' % (n * dim), sec[3])
logpop = struct.unpack('<%df' % n, sec[4])
unit = []
for i in range(n):
    v = flat[i * dim:(i + 1) * dim]
    norm = math.sqrt(sum(x * x for x in v))
    unit.append([x / norm for x in v])
cal = meta['calibration']
assert cal['features'] == ['1', 'cos', 'logpop_sum', 'logpop_absdiff', 'hub_product'], cal
assert abs(sum(x * x for x in cal['center']) - 1) < 1e-6
hub = [sum(x * y for x, y in zip(u, cal['center'])) for u in unit]
c = cal['coef']
worst, rows = 0, []
for l in list(open(f'{w}/cal_scores.tsv'))[1:]:
    a, b, label, score, seen, kind, pop, prob = l.rstrip('\n').split('\t')
    la, lb = (logpop[row[x]] if x in row else 0 for x in (a, b))
    if a in row and b in row:
        cos = sum(x * y for x, y in zip(unit[row[a]], unit[row[b]]))
        h = hub[row[a]] * hub[row[b]]
    else:
        cos, h = cal['cos_mean'], cal['hub_product_mean']
    z = c[0] + c[1] * cos + c[2] * (la + lb) + c[3] * abs(la - lb) + c[4] * h
    pi = cal['positive_rate']
    z = cal['scale']['a'] * z + cal['scale']['b'] + math.log(pi / (1 - pi))
    worst = max(worst, abs(float(prob) - 1 / (1 + math.exp(-z))))
    if kind != 'degree':
        rows.append((float(prob), int(label), seen == '1'))
print(f'probability column against the model file: max |diff| {worst:.2e}')
assert worst < 1e-6, worst
assert cal['scale']['a'] > 0 and cal['scale']['pairs'] > 0 and pi == 0.5, cal['scale']
def ece(rs):
    n = [sum(1 for r in rs if r[1] == y) for y in (0, 1)]
    bins = {}
    for p, y, _ in rs:
        b = bins.setdefault(min(int(p * 10), 9), [0, 0, 0])
        b[0] += 1 / n[y]; b[1] += p / n[y]; b[2] += y / n[y]
    return sum(w / 2 * abs(s / w - o / w) for w, s, o in bins.values())
pr = json.load(open(f'{w}/cal.json'))['probability']
got = (pr['ece'], pr['ece_all'])
want = (ece([r for r in rows if r[2]]), ece(rows))
print(f'ECE seen, all: eval {got}, recomputed {want}')
assert all(abs(g - x) < 1e-6 for g, x in zip(got, want)), (got, want)
best = cal['ranking']['best']
r, nb = json.load(open(f'{w}/cal.json')), json.load(open(f'{w}/cal_nb.json'))
print(f"lists: slice recall@10 {cal['ranking']['recall_at_10']} -> {best}; eval ranks by "
      f"{r['rank']}, neighbors by {nb['rank']}")
assert r['rank'] == best and nb['rank'] == best
EOF
echo "popularity.sh: ok"
