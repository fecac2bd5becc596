"""direction.py - "similar" against "goes with": recall@10 of the held-out pairs ranked by
the input vectors' cosine (similar) and by input against output (context) vectors
(complement), and on the directed versions of the held-out pairs where the raw data has
direction. Called by bench/direction.sh: direction.py MODEL TRAIN VAL [DIRECTED]

The model file must carry the context vectors (WR_SEC_CTX, model.h). For each query item
of the held-out pairs (every one, or 3,000 picked by a seeded hash of the id), every other
item not already a training partner of it is ranked by

  similar        cos(u_a, u_b)                        (what walkrecd serves by default)
  complement     (cos(u_a, c_b) + cos(c_a, u_b)) / 2  (relation=complement)
  a->b           cos(u_a, c_b)                        (one direction only)

and recall@10 is the share of the query's held-out partners in its top 10 (as walkrec eval
counts it). DIRECTED: directed raw edges "a b kind" (SNAP's edge list, kind "edge"; Amazon's
lists, a's also_buy or also_view naming b): recall@10 is then also measured, per kind,
against the held-out partners b with an edge of that kind q -> b (out), b -> q (in), or
either (any), each over the queries that have such partners."""

import hashlib
import json
import struct
import sys

import numpy as np


def read_model(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, _v, dim, n, _created, nsec = struct.unpack_from("<8sIIQqI", data, 0)
    assert magic == b"WALKREC\0", path
    sec = {}
    for i in range(nsec):
        typ, _r, off, length = struct.unpack_from("<IIQQ", data, 64 + 24 * i)
        sec[typ] = (off, length)
    ids = data[sec[2][0]:sec[2][0] + sec[2][1]].split(b"\0")[:n]
    vec = lambda t: np.frombuffer(data, np.float32, n * dim, sec[t][0]).reshape(n, dim)  # noqa
    if 9 not in sec:
        sys.exit("%s: no context vectors (a model of walkrec train --algo sgns or cbow)" % path)
    meta = json.loads(data[sec[1][0]:sec[1][0] + sec[1][1]])
    return [i.decode() for i in ids], vec(3), vec(9), meta


def unit(m):
    norm = np.linalg.norm(m, axis=1, keepdims=True)
    norm[norm == 0] = 1
    return (m / norm).astype(np.float32)


def read_pairs(path, label=None):
    out = []
    with open(path) as f:
        next(f)
        for line in f:
            c = line.rstrip("\n").split("\t")
            if label is None or (len(c) > 2 and c[2] == label):
                out.append((c[0], c[1]))
    return out


def main():
    model, train, val = sys.argv[1:4]
    directed = sys.argv[4] if len(sys.argv) > 4 else None
    ids, vin, vctx, meta = read_model(model)
    row = {s: i for i, s in enumerate(ids)}
    u, c = unit(vin), unit(vctx)
    seen = {}
    for a, b in read_pairs(train):
        if a in row and b in row:
            seen.setdefault(row[a], set()).add(row[b])
            seen.setdefault(row[b], set()).add(row[a])
    pos = {}
    for a, b in read_pairs(val, "1"):
        if a in row and b in row:
            pos.setdefault(row[a], set()).add(row[b])
            pos.setdefault(row[b], set()).add(row[a])
    kinds = {}
    if directed:
        with open(directed) as f:
            for line in f:
                p = line.rstrip("\n").split("\t") if "\t" in line else line.split()
                if len(p) >= 2 and p[0] in row and p[1] in row:
                    kinds.setdefault(p[2] if len(p) > 2 else "edge", set()).add(
                        (row[p[0]], row[p[1]]))
    queries = sorted(pos)
    if len(queries) > 3000:
        queries = sorted(queries, key=lambda q: hashlib.sha1(ids[q].encode()).digest())[:3000]
    scores = {"similar": [], "complement": [], "a->b": [], "b->a": []}
    directed_scores = {k: {(kind, d): [] for kind in kinds for d in ("out", "in", "any")}
                       for k in scores}
    for lo in range(0, len(queries), 256):
        qs = queries[lo:lo + 256]
        s_sim = u[qs] @ u.T
        s_ab = u[qs] @ c.T
        s_ba = c[qs] @ u.T
        rank = {"similar": s_sim, "complement": (s_ab + s_ba) / 2, "a->b": s_ab, "b->a": s_ba}
        for i, q in enumerate(qs):
            skip = list(seen.get(q, ())) + [q]
            for name, s in rank.items():
                r = s[i].copy()
                r[skip] = -np.inf
                top = set(np.argpartition(-r, 10)[:10].tolist())
                scores[name].append(len(top & pos[q]) / len(pos[q]))
                for kind, edges in kinds.items():
                    outs = {b for b in pos[q] if (q, b) in edges}
                    ins = {b for b in pos[q] if (b, q) in edges}
                    for d, rel in (("out", outs), ("in", ins), ("any", outs | ins)):
                        if rel:
                            directed_scores[name][(kind, d)].append(len(top & rel) / len(rel))
    res = {"queries": len(queries), "edge_weight": meta.get("edge_weight_choice",
                                                            meta.get("edge_weight")),
           "recall_at_10": {k: float(np.mean(v)) for k, v in scores.items()}}
    if kinds:
        res["by_kind"] = {name: {"%s %s" % kd: [float(np.mean(v)) if v else None, len(v)]
                                 for kd, v in dv.items()} for name, dv in directed_scores.items()}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
