#!/usr/bin/python3
"""quality.py - helper of bench/quality.sh. Run with Debian's /usr/bin/python3.

  weighted TRAIN VAL   AUC (uniform and degree-matched negatives) of the weighted-degree
                       popularity log1p(w a) + log1p(w b), w = summed training pair weights
                       (0 for an item without training pairs); JSON on stdout
  table DIR            the markdown table and the issue's "Must show" checks from DIR
"""
import collections
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import mean, read_json, seeds, set_dirs  # noqa: E402


def rows(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            yield line.rstrip("\n").split("\t")


def cmd_weighted(train, val):
    import numpy as np
    from sklearn.metrics import roc_auc_score
    w = collections.Counter()
    for a, b, x in rows(train):
        w[a] += float(x)
        w[b] += float(x)
    y, s, kind = bytearray(), [], bytearray()  # kind: 0 positive, 1 uniform, 2 degree
    for r in rows(val):
        y.append(r[2] == "1")
        s.append(math.log1p(w[r[0]]) + math.log1p(w[r[1]]))
        kind.append(0 if r[2] == "1" else 2 if len(r) > 3 and r[3] == "degree" else 1)
    y, s, kind = (np.frombuffer(y, np.uint8), np.array(s), np.frombuffer(kind, np.uint8))
    out = {}
    for name, k in (("uniform", 1), ("degree", 2)):
        keep = (kind == 0) | (kind == k)
        if (kind == k).any():
            out[name] = roc_auc_score(y[keep], s[keep])
    json.dump(out, sys.stdout)
    print()


# ---------------------------------------------------------------- table

def numbers(ev):
    """What the table needs from one `walkrec eval --json`."""
    if not ev:
        return None
    pop, prob = ev["popularity"], ev["probability"]
    deg = ev.get("degree_negatives") or {}
    r = {"cos": ev["auc_all"], "cos_deg": deg.get("auc_all"), "pop": pop.get("auc_all"),
         "pop_deg": (pop.get("degree_negatives") or {}).get("auc_all"),
         "recall": ev["recall_at_10"], "pop_recall": pop.get("recall_at_10"),
         "rank": ev["rank"], "prob": None, "prob_deg": None}
    if prob.get("available"):
        r["prob"] = prob["auc_all"]
        r["prob_deg"] = (prob.get("degree_negatives") or {}).get("auc_all")
    return r


def collect(root):
    return [{"name": name, "pairs": split["pairs"],
             "runs": {k: [numbers(read_json(os.path.join(d, "seed%d" % s, k + ".json")))
                          for s in seeds(d)] for k in ("walkrec", "gensim")},
             "weighted": read_json(os.path.join(d, "weighted.json")) or {}}
            for name, d, split, _ in set_dirs(root)]


def f4(x):
    return "n/a" if x is None else "%.4f" % x


def avg(runs, key):
    return mean([r[key] if r else None for r in runs])


def margins(s):
    """Per seed: probability minus the better of cosine and popularity (uniform), probability
    minus cosine (degree-matched), walkrec's recall minus the better of popularity's and
    gensim's; None for what that seed lacks."""
    out = []
    for w, g in zip(s["runs"]["walkrec"], s["runs"]["gensim"]):
        prob = w and w["prob"] is not None
        out.append((w["prob"] - max(w["cos"], w["pop"]) if prob else None,
                    w["prob_deg"] - w["cos_deg"] if prob and w["prob_deg"] is not None else None,
                    w["recall"] - max(w["pop_recall"], g["recall"]) if w and g else None))
    return out


def table(root):
    sets = collect(root)
    lines = [
        "| data set | pairs | seeds | AUC uniform: cosine | popularity | popularity (weighted) "
        "| probability | probability − max(cos, pop) | AUC degree-matched: cosine | popularity "
        "| probability | recall@10: walkrec (lists by) | popularity | gensim sg=1 |",
        "|---" * 14 + "|"]
    for s in sets:
        w, g = s["runs"]["walkrec"], s["runs"]["gensim"]
        cos, pop, prob = avg(w, "cos"), avg(w, "pop"), avg(w, "prob")
        ranks = sorted({r["rank"] for r in w if r})
        cells = [s["name"], str(s["pairs"]), str(sum(1 for r in w if r)), f4(cos), f4(pop),
                 f4(s["weighted"].get("uniform")), f4(prob),
                 "n/a" if None in (cos, pop, prob) else "%+.4f" % (prob - max(cos, pop)),
                 f4(avg(w, "cos_deg")), f4(avg(w, "pop_deg")), f4(avg(w, "prob_deg")),
                 "%s (%s)" % (f4(avg(w, "recall")), "/".join(ranks) or "n/a"),
                 f4(avg(w, "pop_recall")), f4(avg(g, "recall"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += checks(sets)
    return "\n".join(lines)


def check_line(title, sets, index, bar, fmt):
    """PASS when the mean margin over seeds clears `bar` on every set with a complete run."""
    bad, parts = [], []
    for s in sets:
        m = margins(s)
        got = [x[index] for x in m if x[index] is not None]
        if not got or len(got) < len(m):
            bad.append(s["name"])
            parts.append("%s incomplete" % s["name"])
            continue
        avg_m = sum(got) / len(got)
        if not avg_m >= bar:
            bad.append(s["name"])
        parts.append(fmt % (s["name"], avg_m, min(got)))
    verdict = "PASS" if sets and not bad else "FAIL"
    return "- %s: %s (mean over seeds; worst seed in brackets): %s" % (
        verdict, title, "; ".join(parts))


def checks(sets):
    return [
        check_line("probability's AUC with uniform negatives >= max(popularity's, cosine's) "
                   "+ 0.01 on every data set", sets, 0, 0.01, "%s %+.4f [%+.4f]"),
        check_line("probability's AUC with degree-matched negatives >= cosine's on every data "
                   "set", sets, 1, 0, "%s %+.4f [%+.4f]"),
        check_line("walkrec's recall@10 (default lists) > popularity's and > gensim's on every "
                   "data set", sets, 2, 1e-12, "%s %+.4f [%+.4f]"),
        "",
        "Weighted popularity (uniform negatives), which the probability uses, against the "
        "probability: " + "; ".join(
            "%s %s" % (s["name"], "n/a" if s["weighted"].get("uniform") is None or
                       avg(s["runs"]["walkrec"], "prob") is None else "%+.4f" % (
                           avg(s["runs"]["walkrec"], "prob") - s["weighted"]["uniform"]))
            for s in sets)]


def main(argv):
    if len(argv) == 4 and argv[1] == "weighted":
        return cmd_weighted(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "table":
        print(table(argv[2]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
