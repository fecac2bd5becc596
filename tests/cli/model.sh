#!/usr/bin/env bash
# model.sh - walkrec import/export/neighbors against gensim: vectors trained by gensim go
# through walkrec in word2vec text and binary, come back into gensim unchanged, the model
# file's layout is checked by an independent reader, and neighbours match most_similar.
set -euo pipefail
: "${WALKREC:?set WALKREC to the walkrec binary}"
PY=${PY:-/usr/bin/python3}
export PYTHONHASHSEED=0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "model.sh: $*" >&2; exit 1; }

# 1. A small gensim model, saved both ways.
"$PY" - <<'EOF'
import random
import numpy as np
from gensim.models import Word2Vec
rng = random.Random(1)
vocab = [f"item{i}" for i in range(60)] + ["café", "naïve-ü", "東京"]
sentences = [[rng.choice(vocab) for _ in range(rng.randint(5, 15))] for _ in range(400)]
m = Word2Vec(sentences, vector_size=16, window=3, min_count=1, seed=7, workers=1, epochs=5)
m.wv.save_word2vec_format("g.txt", binary=False)
m.wv.save_word2vec_format("g.bin", binary=True)
np.save("g.npy", m.wv.vectors)
with open("g.ids", "w", encoding="utf-8") as f:
    f.write("\n".join(m.wv.index_to_key) + "\n")
EOF

# 2. Import each, export each model in both formats.
"$WALKREC" import g.txt -o t.wrm --quiet
"$WALKREC" import g.bin -o b.wrm 2> import.log
grep -q "imported 63 items x 16 dimensions (word2vec-binary)" import.log ||
    fail "import summary: $(cat import.log)"
for m in t b; do
    "$WALKREC" export $m.wrm --format word2vec -o $m.out.txt --quiet
    "$WALKREC" export $m.wrm --format word2vec-binary -o $m.out.bin --quiet
done

# 3. gensim reads the exports back: same ids in order, vectors within 1e-6 via text,
#    bit-identical via binary. The model files are parsed by an independent reader.
"$PY" - <<'EOF'
import json, struct, sys, zlib
import numpy as np
from gensim.models import KeyedVectors
ref = np.load("g.npy")
ids = open("g.ids", encoding="utf-8").read().split("\n")[:-1]
bad = []

def check(path, binary, exact):
    kv = KeyedVectors.load_word2vec_format(path, binary=binary)
    if kv.index_to_key != ids:
        bad.append(f"{path}: ids differ from gensim's")
    elif exact and not np.array_equal(kv.vectors, ref):
        bad.append(f"{path}: vectors not bit-identical")
    elif np.max(np.abs(kv.vectors - ref)) > 1e-6:
        bad.append(f"{path}: vectors differ by {np.max(np.abs(kv.vectors - ref))}")

for m in "tb":
    check(f"{m}.out.txt", False, False)
    check(f"{m}.out.bin", True, m == "b")

def read_model(path):
    b = open(path, "rb").read()
    magic, ver, dim, n, created, nsec, _, size, body_crc = struct.unpack_from("<8sIIQqIIQI", b)
    head_crc, = struct.unpack_from("<I", b, 60)
    assert magic == b"WALKREC\0" and ver == 1, (magic, ver)
    assert size == len(b), (size, len(b))
    assert zlib.crc32(b[64:]) == body_crc and zlib.crc32(b[:60]) == head_crc, "checksums"
    sec = {}
    for s in range(nsec):
        t, _, off, ln = struct.unpack_from("<IIQQ", b, 64 + 24 * s)
        assert off % 64 == 0, ("section alignment", t, off)
        sec[t] = b[off:off + ln]
    meta = json.loads(sec[1])
    mids = sec[2].decode("utf-8").split("\0")[:-1]
    vecs = np.frombuffer(sec[3], dtype="<f4").reshape(n, dim)
    return meta, mids, vecs

for m, fmt, src in (("t", "word2vec", "g.txt"), ("b", "word2vec-binary", "g.bin")):
    meta, mids, vecs = read_model(f"{m}.wrm")
    if meta.get("source") != {"file": src, "format": fmt}:
        bad.append(f"{m}.wrm: metadata {meta}")
    if mids != ids:
        bad.append(f"{m}.wrm: ids differ")
    if not np.array_equal(vecs, ref):
        bad.append(f"{m}.wrm: vectors not bit-identical to gensim's")

if bad:
    sys.exit("model.sh: " + "; ".join(bad))
EOF

# 4. Neighbours agree with gensim's most_similar: same order (except within near-ties)
#    and scores within 1e-5.
for item in item0 item7 item42 café 東京; do
    "$WALKREC" neighbors b.wrm "$item" -k 10 --json > "nb-$item.json"
done
"$WALKREC" neighbors b.wrm item7 -k 3 > plain.txt
"$PY" - <<'EOF'
import json, sys
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format("g.bin", binary=True)
bad = []
for item in ["item0", "item7", "item42", "café", "東京"]:
    got = json.load(open(f"nb-{item}.json", encoding="utf-8"))
    want = kv.most_similar(item, topn=10)
    if got["item"] != item or len(got["neighbors"]) != 10:
        bad.append(f"{item}: {got}")
        continue
    ws = [s for _, s in want]
    for r, (g, (wi, w)) in enumerate(zip(got["neighbors"], want)):
        if abs(g["score"] - w) > 1e-5:
            bad.append(f"{item} rank {r + 1}: score {g['score']} vs gensim {w}")
        tie = (r > 0 and ws[r - 1] - w < 1e-5) or (r + 1 < len(ws) and w - ws[r + 1] < 1e-5)
        if g["item"] != wi and not tie:
            bad.append(f"{item} rank {r + 1}: {g['item']} vs gensim {wi}")
lines = open("plain.txt", encoding="utf-8").read().splitlines()
want = kv.most_similar("item7", topn=3)
for r, (line, (wi, w)) in enumerate(zip(lines, want)):
    rank, item, score = line.split("\t")
    if int(rank) != r + 1 or item != wi or abs(float(score) - w) > 1e-5:
        bad.append(f"plain line {line!r} vs gensim {wi} {w}")
if len(lines) != 3:
    bad.append(f"plain output has {len(lines)} lines")
if bad:
    sys.exit("model.sh: " + "; ".join(bad))
EOF

# 5. Errors: unknown item, malformed vectors, corrupted model, bad format name.
if "$WALKREC" neighbors b.wrm no-such-item 2> err.txt; then fail "unknown item accepted"; fi
grep -q "unknown item 'no-such-item'" err.txt || fail "unknown item message: $(cat err.txt)"
printf '2 3\na 1 2 3\nb 4 x 6\n' > bad.vec
if "$WALKREC" import bad.vec -o bad.wrm 2> err.txt; then fail "malformed vectors accepted"; fi
grep -q "bad.vec: line 3: value 2 'x' is not a number" err.txt || fail "import error: $(cat err.txt)"
[ ! -e bad.wrm ] || fail "a failed import left bad.wrm behind"
cp b.wrm broken.wrm
"$PY" -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[300] ^= 4; open(sys.argv[1], "wb").write(b)' broken.wrm
if "$WALKREC" export broken.wrm -o x.txt 2> err.txt; then fail "corrupted model exported"; fi
grep -q "broken.wrm: checksum mismatch" err.txt || fail "corruption message: $(cat err.txt)"
if "$WALKREC" export b.wrm --format glove -o x.txt 2> err.txt; then fail "--format glove accepted"; fi
grep -q "word2vec or word2vec-binary" err.txt || fail "format message: $(cat err.txt)"
echo "model.sh: ok"
