"""explain_walks.py - how the walk part of explain=1 relates to the training walks.

    /usr/bin/python3 bench/explain_walks.py PAIRS WALKS [WINDOW] [SAMPLE]

explain=1 reports, from the pair graph at query time, the chance that a walk at a is at b
after one step and after exactly two (and back); it does not count the walks themselves
(they are not kept, and steps 3 to WINDOW would need paths of three and more pairs). This
compares that with the walks a training wrote (`walkrec train PAIRS --walks-out WALKS`):

- of every co-occurrence within WINDOW (default 5) in the walks, the share at distance 1,
  at distance 2 and beyond, and the share of co-occurring pairs that are within two steps
  in the graph (the pairs whose explanation has a non-zero walk part);
- over SAMPLE (default 3000) pairs drawn uniformly from the pairs that co-occur in the
  walks, the Spearman correlation between their co-occurrence count and
  reach = one_step + two_steps + one_step_back + two_steps_back (raw weights, as served),
  and between the count and the direct pair's weight; and the same for an estimate of the
  count within two steps that weights reach by how often a walk stands at each item (not
  served: what a stored count or a served estimate would have to beat).

Python standard library only; recomputes the graph from PAIRS as explain.c does."""

import random
import sys
from collections import defaultdict

WALKS, LENGTH = 10, 10  # walkrec train's defaults (--walks-per-item, --walk-length)


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    n = len(x)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / (vx * vy) ** 0.5 if vx and vy else float("nan")


def main():
    pairs, walks = sys.argv[1], sys.argv[2]
    window = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    sample = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
    w = defaultdict(dict)
    with open(pairs) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 3 or p[0] == p[1]:
                continue
            try:
                x = float(p[2])
            except ValueError:
                continue  # the header
            w[p[0]][p[1]] = w[p[0]].get(p[1], 0.0) + x
            w[p[1]][p[0]] = w[p[1]].get(p[0], 0.0) + x
    s = {a: sum(v.values()) for a, v in w.items()}
    co = defaultdict(int)
    by_dist = [0] * (window + 1)
    tokens = 0
    with open(walks) as f:
        for line in f:
            t = line.split()
            tokens += len(t)
            for i in range(len(t)):
                for d in range(1, window + 1):
                    if i + d >= len(t):
                        break
                    if t[i] == t[i + d]:
                        continue
                    a, b = (t[i], t[i + d]) if t[i] < t[i + d] else (t[i + d], t[i])
                    co[(a, b)] += 1
                    by_dist[d] += 1

    def reach(a, b):
        wa, wb = w.get(a, {}), w.get(b, {})
        r = wa.get(b, 0) / s[a] + wb.get(a, 0) / s[b]
        small, big = (wa, wb) if len(wa) < len(wb) else (wb, wa)
        for c in small:
            if c in big:
                r += wa[c] / s[a] * wb[c] / s[c] + wb[c] / s[b] * wa[c] / s[c]
        return r

    total = sum(by_dist[1:])
    print("walks %s: %d tokens, %d co-occurrences within %d steps, %d distinct pairs" %
          (walks, tokens, total, window, len(co)))
    print("share of co-occurrences at distance 1: %.4f, 2: %.4f, 3..%d: %.4f" %
          (by_dist[1] / total, by_dist[2] / total, window, sum(by_dist[3:]) / total))
    keys = list(co)
    within2 = sum(1 for k in keys if reach(*k) > 0)
    mass2 = sum(co[k] for k in keys if reach(*k) > 0)
    print("co-occurring pairs within two steps in the graph: %.4f of the pairs, %.4f of the "
          "co-occurrences" % (within2 / len(keys), mass2 / total))
    rng = random.Random(1)
    pick = rng.sample(keys, min(sample, len(keys)))
    counts = [co[k] for k in pick]
    print("%d sampled co-occurring pairs: Spearman(count, reach) %.4f, Spearman(count, direct "
          "weight) %.4f" % (len(pick), spearman(counts, [reach(*k) for k in pick]),
                            spearman(counts, [w[k[0]].get(k[1], 0) for k in pick])))
    # Weighted by how often a walk stands at each item (a start, then (L - 2) later steps
    # in proportion to its weighted degree): an estimate of the count within two steps.
    mean_s = sum(s.values()) / len(s)

    def estimate(a, b):
        wa, wb = w.get(a, {}), w.get(b, {})
        ab, ba = wa.get(b, 0) / s[a], wb.get(a, 0) / s[b]
        small, big = (wa, wb) if len(wa) < len(wb) else (wb, wa)
        for c in small:
            if c in big:
                ab += wa[c] / s[a] * wb[c] / s[c]
                ba += wb[c] / s[b] * wa[c] / s[c]
        return WALKS * ((1 + (LENGTH - 2) * s[a] / mean_s) * ab +
                        (1 + (LENGTH - 2) * s[b] / mean_s) * ba)

    e = [estimate(*k) for k in pick]
    ratio = sorted(c / x for c, x in zip(counts, e) if x > 0)
    print("visit-weighted estimate within two steps (%d walks per item of %d items): "
          "Spearman(count, estimate) %.4f, median count / estimate %.2f" %
          (WALKS, LENGTH, spearman(counts, e), ratio[len(ratio) // 2]))

if __name__ == "__main__":
    main()
