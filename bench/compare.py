#!/usr/bin/python3
"""compare.py - helper of bench/compare.sh: precision-recall summaries and the table.

Run with Debian's /usr/bin/python3. The process runner, gensim and machine description
are bench/trainer.py's. Subcommands:

  pr SCORES.tsv      from `walkrec eval --scores` (item_a, item_b, label, score, seen, ...):
                     average precision and the precision where recall first reaches
                     0.1, 0.25, 0.5, 0.75 and 0.9, over the pairs whose items are both in
                     the model; JSON on stdout
  table DIR          the markdown table, the "Must show" checks (issue 6's and issue 23's)
                     and the learning curves of a compare.sh run
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import failure, fnum, machine, read_json, set_dirs, verdict  # noqa: E402

RECALLS = (0.1, 0.25, 0.5, 0.75, 0.9)

# Row order: key (the run's folder), label.
ALGOS = [
    ("sgns", "sgns (walkrec defaults)"),
    ("cbow", "cbow"),
    ("mf", "mf"),
    ("mf-bias", "mf --bias"),
    ("mf-cont", "mf --labels continuous"),
    ("mf-seq", "mf-seq"),
    ("mf-prev", "mf (previous defaults)"),
    ("mf-bias-prev", "mf --bias (previous defaults)"),
    ("mf-cont-prev", "mf --labels continuous (previous defaults)"),
    ("mf-seq-prev", "mf-seq (previous defaults)"),
    ("mf-posts", "mf --optimizer adam --init normal (the posts' recipe)"),
    ("mf-bias-posts", "mf --bias --optimizer adam --init normal"),
    ("sgns-side", "sgns --side-info"),
    ("gensim-sg", "gensim sg=1 (sgns's walks)"),
    ("gensim-cbow", "gensim sg=0 (sgns's walks)"),
]
QUALITY = ("auc_all", "auc_seen", "recall_at_10", "ndcg_at_10")
# Pairs of (new defaults, previous defaults) rows, for the "Must show" lines of issue 23.
PREVIOUS = [("mf", "mf-prev"), ("mf-bias", "mf-bias-prev"), ("mf-cont", "mf-cont-prev"),
            ("mf-seq", "mf-seq-prev")]
# Issue 23: mf at defaults needs this AUC all where the set's structure allows it, and
# continuous labels this on the gift cards.
MF_AUC, CONT_AUC, CONT_SET = 0.60, 0.87, "amazon-gift-cards-2018"

# ---------------------------------------------------------------- pr


def precision_recall(rows):
    """rows: (score, label). Tied scores form one step of the curve, as a threshold cannot
    split them."""
    rows.sort(key=lambda r: -r[0])
    pos = sum(lab for _, lab in rows)
    if pos == 0:
        return None
    tp = n = 0
    ap = prev_recall = 0.0
    at = {}
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j][0] == rows[i][0]:
            tp += rows[j][1]
            j += 1
        n, i = j, j
        recall, precision = tp / pos, tp / n
        ap += (recall - prev_recall) * precision
        prev_recall = recall
        for r in RECALLS:
            if r not in at and recall >= r:
                at[r] = precision
    return {"pairs": len(rows), "positives": pos, "average_precision": ap,
            "precision_at_recall": {"%g" % r: at.get(r) for r in RECALLS},
            "distinct_scores": len({s for s, _ in rows})}


def cmd_pr(a):
    rows = []
    with open(a.scores, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        ci, cl, cs = head.index("score"), head.index("label"), head.index("seen")
        for line in f:
            r = line.rstrip("\n").split("\t")
            if r[cs] == "1":
                rows.append((float(r[ci]), int(r[cl])))
    out = precision_recall(rows)
    if out is None:
        sys.exit("pr: %s: no positive seen pair" % a.scores)
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


# ---------------------------------------------------------------- table

def load_run(d):
    """One algorithm on one set: quality, training wall/CPU seconds, peak RSS; or None when it
    has no result, or the process record when it failed."""
    proc, train, ev = (read_json(os.path.join(d, x + ".json")) for x in ("proc", "train", "eval"))
    if not proc or proc.get("exit") != 0 or not train or not ev:
        return {"failed": proc or {}} if os.path.isdir(d) else None
    wall = proc["wall"]
    times = train.get("times") or {}
    # sgns also writes its walks for gensim, and walkrec's trainers evaluate their learning
    # curves: neither is training
    wall -= (times.get("write_walks") or 0) + (times.get("learning_curve") or 0)
    epochs = (train.get("trainer") or {}).get("epochs")
    r = {k: ev.get(k) for k in QUALITY}
    r.update({"wall": wall, "cpu": proc["cpu"], "rss": proc["peak_rss_kib"],
              "load": proc.get("loadavg_after"), "eval": ev,
              "pr": read_json(os.path.join(d, "pr.json")),
              "per_epoch": times["train"] / epochs if epochs and "train" in times else None,
              "curve": train.get("learning_curve"), "trainer": train.get("trainer")})
    return r


def collect(root):
    return [{"name": name, "dir": d, "split": split,
             "runs": {key: load_run(os.path.join(d, key)) for key, _ in ALGOS},
             "side": read_json(os.path.join(d, "side.json"))}
            for name, d, split, _ in set_dirs(root)]


def ok(s, key):
    r = s["runs"].get(key)
    return r if r and "failed" not in r else None


def q(x):
    return "–" if x is None else "%.4f" % x


def print_table(sets):
    print("| data set | algorithm | AUC all | AUC seen | recall@10 | NDCG@10 | train s "
          "| s/epoch | CPU s | peak RSS MiB | load after |")
    print("|---|---|" + "---:|" * 9)
    for s in sets:
        sp = s["split"]
        ref = ok(s, "sgns")
        unseen = ""
        if ref:
            e = ref["eval"]
            unseen = ", %.1f%% of val pairs unseen" % (100.0 * e["pairs_unseen"] / e["pairs"])
        label = "%s (%s train pairs, %s items%s)" % (
            s["name"], "{:,}".format(sp["train_pairs"]), "{:,}".format(sp["items"]), unseen)
        for key, name in ALGOS:
            r = s["runs"][key]
            if r is None:
                continue
            if key == "sgns-side" and s["side"]:
                name += " (%s)" % s["side"]["columns"]
            if "failed" in r:
                print("| %s | %s | %s, no result (log.txt) |%s" %
                      (label, name, failure(r["failed"]), " |" * 8))
            else:
                print("| %s | %s | %s | %s | %s | %s | %.0f | %s |" %
                      (label, name, " | ".join(q(r[k]) for k in QUALITY), fnum(r["wall"]),
                       fnum(r["per_epoch"]), fnum(r["cpu"]), r["rss"] / 1024,
                       "%.1f" % r["load"] if r["load"] is not None else "–"))
            label = ""
        pop = ref["eval"].get("popularity") if ref else None
        if pop and pop.get("available"):
            print("| | popularity baseline (eval, training degrees) | %s | – | – | – | – | – |" %
                  " | ".join(q(pop.get(k)) for k in QUALITY))


def curve_text(r):
    """The AUC all of each point, by the epoch it ends at."""
    pts = r.get("curve") or []
    epochs = (r.get("trainer") or {}).get("epochs") or 1
    return " ".join("%g:%.3f" % (round(p["progress"] * epochs, 2), p["auc_all"])
                    if p.get("auc_all") is not None else "%g:–" % (p["progress"] * epochs)
                    for p in pts)


def print_curves(sets):
    print("\n### Learning curves\n")
    print("AUC all on the validation pairs during training (`--val VAL --eval-every`), as "
          "epoch:AUC; the posts' recipe four times an epoch, so that its dips show.\n")
    print("```")
    for s in sets:
        for key, name in ALGOS:
            r = ok(s, key)
            if r and r.get("curve"):
                print("%-26s %-48s %s" % (s["name"], name[:48], curve_text(r)))
    print("```")


def restart_dips(r):
    """(dips, restarts): epochs whose first point is below the previous epoch's last."""
    pts = [p for p in (r.get("curve") or []) if p.get("auc_all") is not None]
    epochs = (r.get("trainer") or {}).get("epochs") or 1
    ends = {}
    for i, p in enumerate(pts):
        at = p["progress"] * epochs
        if abs(at - round(at)) < 1e-9 and i + 1 < len(pts):
            ends[i] = pts[i + 1]["auc_all"] < p["auc_all"]
    return sum(ends.values()), len(ends)


def print_issue23(sets):
    print("\n### Must show (issue 23: mf learns at its defaults)\n")
    print("```")
    for s in sets:
        mf, prev = ok(s, "mf"), ok(s, "mf-prev")
        if not mf:
            print("N/A  (e) %s: no mf result" % s["name"])
            continue
        v = mf["auc_all"] >= MF_AUC and (prev is None or mf["auc_all"] > prev["auc_all"])
        print("%s (e) %s: mf AUC all %.4f (need >= %.2f where the set allows it) vs previous "
              "defaults %s" % (verdict(v), s["name"], mf["auc_all"], MF_AUC,
                               q(prev and prev["auc_all"])))
    for s in sets:
        if s["name"] != CONT_SET:
            continue
        c = ok(s, "mf-cont")
        print("%s (f) %s: mf --labels continuous AUC all %s (need >= %.2f)" %
              (verdict(c and c["auc_all"] >= CONT_AUC), s["name"], q(c and c["auc_all"]),
               CONT_AUC))
    for s in sets:
        for key in ("mf-posts", "mf-bias-posts"):
            r = ok(s, key)
            if r:
                dips, restarts = restart_dips(r)
                print("INFO (g) %s: %s: AUC fell right after %d of %d learning-rate restarts; "
                      "after epoch 1 %s, at the end %s" %
                      (s["name"], key, dips, restarts,
                       q(next((p["auc_all"] for p in r["curve"]
                               if abs(p["progress"] * r["trainer"]["epochs"] - 1) < 1e-9),
                              None)), q(r["auc_all"])))
    for s in sets:
        for new, old in PREVIOUS:
            a, b = ok(s, new), ok(s, old)
            if a and b and a["per_epoch"] and b["per_epoch"]:
                print("INFO (h) %s: %s %.3f s/epoch (AUC all %.4f), previous defaults %.3f "
                      "s/epoch (AUC all %.4f)" % (s["name"], new, a["per_epoch"], a["auc_all"],
                                                  b["per_epoch"], b["auc_all"]))
    print("```")


def pr_text(r):
    p = r and r.get("pr")
    if not p:
        return "no precision-recall"
    at = p["precision_at_recall"]
    return "AP %.4f, precision at recall %s" % (
        p["average_precision"],
        " ".join("%s:%s" % (k, "–" if at[k] is None else "%.3f" % at[k]) for k in at))


def print_checks(sets):
    print("\n### Must show\n")
    print("```")
    for s in sets:
        sg, mf = ok(s, "sgns"), ok(s, "mf")
        v = sg["auc_seen"] > mf["auc_seen"] if sg and mf else None
        print("%s (a) %s: sgns AUC seen %s vs mf %s (%+.4f)" %
              (verdict(v), s["name"], q(sg and sg["auc_seen"]), q(mf and mf["auc_seen"]),
               sg["auc_seen"] - mf["auc_seen"] if v is not None else 0))
    for s in sets:
        mf, seq = ok(s, "mf"), ok(s, "mf-seq")
        v = seq["auc_seen"] > mf["auc_seen"] if seq and mf else None
        print("%s (b) %s: mf-seq AUC seen %s vs mf %s (%+.4f); AUC all %s vs %s" %
              (verdict(v), s["name"], q(seq and seq["auc_seen"]), q(mf and mf["auc_seen"]),
               seq["auc_seen"] - mf["auc_seen"] if v is not None else 0,
               q(seq and seq["auc_all"]), q(mf and mf["auc_all"])))
    for s in sets:
        mf, mb = ok(s, "mf"), ok(s, "mf-bias")
        if not mf or not mb:
            print("N/A  (c) %s: no mf or mf --bias result" % s["name"])
            continue
        rep = os.path.join(s["dir"], "report-mf-vs-mf-bias.html")
        print("INFO (c) %s: seen pairs, mf: %s" % (s["name"], pr_text(mf)))
        print("INFO (c) %s: seen pairs, mf --bias: %s" % (s["name"], pr_text(mb)))
        print("INFO (c) %s: curves: %s%s" % (s["name"], rep,
                                             "" if os.path.exists(rep) else " (missing)"))
    for s in sets:
        if not s["side"]:
            continue
        sg, se = ok(s, "sgns"), ok(s, "sgns-side")
        if not sg or not se:
            print("N/A  (d) %s: no sgns or sgns --side-info result" % s["name"])
            continue
        da, ds = se["auc_all"] - sg["auc_all"], se["auc_seen"] - sg["auc_seen"]
        print("%s (d) %s: sgns --side-info (%s) AUC all %.4f vs sgns %.4f (%+.4f, need > 0); "
              "AUC seen %.4f vs %.4f (%+.4f, need >= -0.005); recall@10 %.4f vs %.4f" %
              (verdict(da > 0 and ds >= -0.005), s["name"], s["side"]["columns"],
               se["auc_all"], sg["auc_all"], da, se["auc_seen"], sg["auc_seen"], ds,
               se["recall_at_10"], sg["recall_at_10"]))
    print("```")


def prev_text(p):
    return "%s, sha256 %s" % (p["binary"], p["sha256"]) if p else "not run"


def cmd_table(a):
    sets = collect(a.dir)
    m0, m1 = machine(a.dir)
    print("## walkrec algorithms compared%s\n" % (" (--quick)" if a.quick else ""))
    print("- machine: %s x %s, %.1f GiB RAM; load average (1, 5, 15 min) at start %s (%s), "
          "at end %s (%s)" % (m0.get("nproc"), m0.get("cpu"), m0.get("mem_kib", 0) / 1024 ** 2,
                              m0.get("loadavg"), m0.get("time"), m1.get("loadavg"),
                              m1.get("time") or "still running"))
    print("- one split and one seed: `walkrec split PAIRS --seed 42` (a third of the pairs held "
          "out, as many uniform non-edges), every trainer `--seed 1 --threads %d` with its "
          "defaults; gensim %s Word2Vec with walkrec's hyper-parameters on sgns's walks file"
          % (a.threads, (m0.get("versions") or {}).get("gensim")))
    print("- eval: `walkrec eval MODEL VAL --train TRAIN --rank cosine` (mf models by their dot "
          "product); AUC all scores pairs with an item missing from the model by the median; "
          "the popularity row is eval's baseline on the same pairs and queries")
    print("- train s: wall time of the training process, without writing sgns's walks file and "
          "without the learning-curve evaluations (gensim with its Python start-up); s/epoch: "
          "the trainer's own training time over its epochs; CPU s: user+sys (evaluations "
          "included); load after: 1-min load average when it ended")
    print("- previous defaults: the mf rows of the --previous binary (%s), same split, seed and "
          "threads, in the same run\n" % prev_text(read_json(os.path.join(a.dir, "previous.json"))))
    print_table(sets)
    print_checks(sets)
    print_issue23(sets)
    print_curves(sets)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pr")
    p.add_argument("scores")
    p = sub.add_parser("table")
    p.add_argument("dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    return {"pr": cmd_pr, "table": cmd_table}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
