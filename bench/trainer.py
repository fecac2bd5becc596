#!/usr/bin/python3
"""trainer.py - helper of bench/trainer.sh: runs the peers and prints the table.

Run with Debian's /usr/bin/python3 (it has gensim 4.2). Subcommands:

  run --proc P.json [--stdout F] -- CMD...   run CMD; P.json gets its wall time, peak RSS
                                             and CPU time (os.wait4 of the child)
  gensim WALKS OUT.bin --sg 0|1 --seed S --threads N
                                             gensim Word2Vec on the walks file (corpus_file=,
                                             its fastest path); stage times as JSON on stdout
  fasttext WALKS OUT.vec --seed S --threads N
                                             `fasttext skipgram` on the walks file; stage
                                             times (from its output, timestamped) on stdout
  strip-eos IN.vec OUT.vec                   drop fastText's end-of-line token </s>
  safe-ids IN.tsv OUT.tsv                    write OUT with whitespace in item ids replaced
                                             by '_' when IN has any; prints the file to use
  machine                                    machine info as JSON (nproc, CPU, load average)
  table DIR                                  the markdown table and the "Must show" checks
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import failure, fnum, machine, mean, read_json, seeds, set_dirs, verdict  # noqa: E402

# The shared hyper-parameters: walkrec's defaults, given to every peer explicitly.
DIM, WINDOW, NEGATIVE, EPOCHS, SAMPLE, LR, MIN_LR = 128, 5, 5, 5, 1e-3, 0.025, 0.0001


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------- run

def cmd_run(a):
    out = open(a.stdout, "wb") if a.stdout else None
    t0 = time.monotonic()
    child = subprocess.Popen(a.argv, stdout=out)
    _, status, ru = os.wait4(child.pid, 0)
    wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    write_json(a.proc, {"cmd": a.argv, "exit": code, "wall": wall,
                        "peak_rss_kib": ru.ru_maxrss,
                        "cpu": ru.ru_utime + ru.ru_stime,
                        "loadavg_after": os.getloadavg()[0]})
    return code


# ---------------------------------------------------------------- peers

def cmd_gensim(a):
    t0 = time.monotonic()
    import logging
    logging.disable(logging.WARNING)
    import gensim
    from gensim.models import Word2Vec
    from gensim.models.word2vec_corpusfile import CythonLineSentence  # noqa: F401 (fast path)
    t_import = time.monotonic()
    m = Word2Vec(vector_size=DIM, window=WINDOW, negative=NEGATIVE, hs=0, sg=a.sg,
                 min_count=1, sample=SAMPLE, alpha=LR, min_alpha=MIN_LR, workers=a.threads,
                 epochs=EPOCHS, seed=a.seed)
    t1 = time.monotonic()
    m.build_vocab(corpus_file=a.walks)
    t2 = time.monotonic()
    m.train(corpus_file=a.walks, total_examples=m.corpus_count,
            total_words=m.corpus_total_words, epochs=EPOCHS)
    t3 = time.monotonic()
    m.wv.save_word2vec_format(a.out, binary=True)
    t4 = time.monotonic()
    json.dump({"system": "gensim", "version": gensim.__version__, "sg": a.sg,
               "items": len(m.wv), "tokens": m.corpus_total_words,
               "times": {"import": t_import - t0, "load": t2 - t1, "train": t3 - t2,
                         "save": t4 - t3}}, sys.stdout, indent=2)
    print()


def cmd_fasttext(a):
    """fastText prints "Number of labels" once the vocabulary is read, then progress lines
    (\\r-separated) until "Progress: 100.0%", then saves: timestamping its output splits
    the run into load, train and save."""
    exe = shutil.which("fasttext") or "/usr/bin/fasttext"
    prefix = a.out[:-4] if a.out.endswith(".vec") else a.out
    cmd = [exe, "skipgram", "-input", a.walks, "-output", prefix, "-dim", str(DIM),
           "-ws", str(WINDOW), "-neg", str(NEGATIVE), "-epoch", str(EPOCHS), "-minn", "0",
           "-maxn", "0", "-minCount", "1", "-thread", str(a.threads), "-t", str(SAMPLE),
           "-lr", str(LR), "-seed", str(a.seed), "-verbose", "2"]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf, t_vocab, t_done = b"", None, None
    while True:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf = (buf + chunk)[-4096:]
        if t_vocab is None and b"Number of labels" in buf:
            t_vocab = time.monotonic()
        if t_vocab is not None and t_done is None and b"100.0%" in buf:
            t_done = time.monotonic()
    code = p.wait()
    t_end = time.monotonic()
    if code != 0 or t_vocab is None or t_done is None:
        sys.stderr.write("fasttext failed (exit %d): %s\n%s\n" %
                         (code, " ".join(cmd), buf.decode(errors="replace")[-1000:]))
        return 1
    if os.path.exists(prefix + ".bin"):
        os.remove(prefix + ".bin")  # the .vec is all we evaluate
    words = re.search(rb"Number of words:\s+(\d+)", buf)
    json.dump({"system": "fasttext", "cmd": cmd,
               "items": int(words.group(1)) if words else None,
               "times": {"load": t_vocab - t0, "train": t_done - t_vocab,
                         "save": t_end - t_done}}, sys.stdout, indent=2)
    print()
    return 0


def cmd_strip_eos(a):
    """fastText appends </s> to every line and gives it a vector; it is no item."""
    with open(a.src, "rb") as f, open(a.dst, "wb") as g:
        n, dim = f.readline().split()
        g.write(b"%d %s\n" % (int(n) - 1, dim))
        dropped = 0
        for line in f:
            if line.startswith(b"</s> "):
                dropped += 1
                continue
            g.write(line)
    if dropped != 1:
        sys.exit("strip-eos: %s: expected one </s> row, found %d" % (a.src, dropped))


def cmd_safe_ids(a):
    """A walks file is whitespace-separated ids (walkrec --sequences, gensim's LineSentence,
    fastText), so an id like "whole milk" would become two tokens: give such sets ids
    without whitespace, one to one, before anything trains on them."""
    space = re.compile(r"\s+")
    with open(a.src, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    ids = {x for r in rows[1:] for x in r[:2]}
    bad = {x for x in ids if space.search(x)}
    if not bad:
        print(a.src)
        return 0
    new = {x: space.sub("_", x) if x in bad else x for x in ids}
    if len(set(new.values())) != len(ids):
        sys.exit("safe-ids: %s: replacing whitespace by '_' would merge ids" % a.src)
    with open(a.dst, "w", encoding="utf-8") as g:
        g.write("\t".join(rows[0]) + "\n")
        for r in rows[1:]:
            g.write("\t".join([new[r[0]], new[r[1]]] + r[2:]) + "\n")
    sys.stderr.write("safe-ids: %s: %d of %d ids contain whitespace; renamed in %s\n" %
                     (a.src, len(bad), len(ids), a.dst))
    print(a.dst)
    return 0


# ---------------------------------------------------------------- machine

def cpu_model():
    with open("/proc/cpuinfo") as f:
        info = f.read()
    m = re.search(r"^model name\s*:\s*(.*)$", info, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", info, re.M)
    simd = [x for x in ("avx2", "avx512f", "fma") if flags and x in flags.group(1).split()]
    return (m.group(1).strip() if m else platform.processor()), simd


def cmd_machine(a):
    model, simd = cpu_model()
    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    versions = {}
    try:
        import gensim
        versions["gensim"] = gensim.__version__
    except ImportError:
        versions["gensim"] = None
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "fasttext"],
                             capture_output=True, text=True)
        versions["fasttext"] = out.stdout.strip() or None
    except OSError:
        versions["fasttext"] = None
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    json.dump({"nproc": os.cpu_count(), "cpu": model, "simd": simd, "mem_kib": mem,
               "kernel": platform.release(), "loadavg": [float(x) for x in load],
               "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "versions": versions},
              sys.stdout, indent=2)
    print()


# ---------------------------------------------------------------- table

# Row order; "ref" is the walkrec run whose training stage each peer is timed against:
# the one of the same mode trained on the same walks file (--sequences).
SYSTEMS = [
    ("walkrec-pairs", "walkrec sg (own walks, from pairs)", None),
    ("walkrec-sg", "walkrec sg (--sequences walks)", None),
    ("walkrec-cbow", "walkrec cbow (--sequences walks)", None),
    ("gensim-sg", "gensim sg=1", "walkrec-sg"),
    ("gensim-cbow", "gensim sg=0", "walkrec-cbow"),
    ("fasttext", "fastText skipgram", "walkrec-sg"),
]
QUALITY = [("auc_all", "AUC all"), ("auc_seen", "AUC seen"), ("recall_at_10", "recall@10"),
           ("ndcg_at_10", "NDCG@10")]


def sd(xs):
    xs = [x for x in xs if x is not None]
    if len(xs) < 2:
        return None
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def load_run(d):
    """One system's run on one seed: stage times, process figures, evaluation."""
    train, proc, ev = (read_json(os.path.join(d, x + ".json")) for x in ("train", "proc", "eval"))
    if not train or not proc or not ev or proc.get("exit") != 0:
        return None
    t = train.get("times", {})
    r = {"load": t.get("load"), "graph": t.get("graph"), "walks": t.get("walks"),
         "train": t.get("train"), "total": proc["wall"], "cpu": proc["cpu"],
         "rss": proc["peak_rss_kib"], "raw": train}
    if train.get("system") is None:  # walkrec: stages it did not run are reported as 0
        if train.get("source") == "sequences" or not t.get("walks"):
            r["graph"] = r["walks"] = None
        if t.get("walks"):
            r["steps_per_s"] = (train["tokens"] - train["sequences"]) / t["walks"]
    for k, _ in QUALITY:
        r[k] = ev.get(k)
    return r


def collect(root):
    sets = []
    for name, d, split, meta in set_dirs(root):
        runs, failed = {}, {}
        for key, _, _ in SYSTEMS:
            dirs = [os.path.join(d, "seed%d" % s, key) for s in seeds(d)]
            rs = [load_run(x) for x in dirs]
            runs[key] = [r for r in rs if r]
            # started but without a result: the process failed or was stopped
            failed[key] = [read_json(os.path.join(x, "proc.json")) or {}
                           for x, r in zip(dirs, rs) if not r and os.path.isdir(x)]
        sets.append({"name": name, "split": split, "runs": runs, "failed": failed, "meta": meta})
    return sets


def fq(xs):
    m, s = mean(xs), sd(xs)
    if m is None:
        return "–"
    return "%.4f ±%.4f" % (m, s) if s is not None else "%.4f" % m


def ratio(runs, key, ref):
    if ref is None:
        return ""
    a, b = mean([r["train"] for r in runs[key]]), mean([r["train"] for r in runs[ref]])
    return "×%.2f" % (a / b) if a and b else "–"


def print_table(sets):
    print("| data set | system | seeds | load s | graph s | walks s | train s | process s "
          "| CPU s | peak RSS MiB | AUC all | AUC seen | recall@10 | NDCG@10 "
          "| walkrec train speed-up |")
    print("|---|---|---|" + "---:|" * 12)
    for s in sets:
        sp = s["split"]
        label = "%s (%s train pairs, %s items)" % (s["name"], "{:,}".format(sp["train_pairs"]),
                                                 "{:,}".format(sp["items"]))
        for key, name, ref in SYSTEMS:
            runs = s["runs"][key]
            for f in s["failed"][key]:
                print("| %s | %s | – | %s, no result (log.txt) |%s" %
                      (label, name, failure(f), " |" * 11))
                label = ""
            if not runs:
                continue
            cells = [label, name, str(len(runs))]
            for k in ("load", "graph", "walks", "train", "total", "cpu"):
                cells.append(fnum(mean([r[k] for r in runs])))
            cells.append("%.0f" % (max(r["rss"] for r in runs) / 1024))
            for k, _ in QUALITY:
                cells.append(fq([r[k] for r in runs]))
            cells.append(ratio(s["runs"], key, ref))
            print("| " + " | ".join(cells) + " |")
            label = ""


def check_quality(s, key):
    """(1) walkrec sg on the same walks as gensim sg=1: AUCs within 0.002, recall within 0.005."""
    w, g = s["runs"][key], s["runs"]["gensim-sg"]
    if not w or not g:
        return None, "no walkrec sg or gensim sg=1 result"
    fails, parts = [], []
    for k, tol in (("auc_all", 0.002), ("auc_seen", 0.002), ("recall_at_10", 0.005)):
        a, b = mean([r[k] for r in w]), mean([r[k] for r in g])
        d = a - b
        parts.append("%s %.4f vs %.4f (%+.4f)" % (k, a, b, d))
        if d < -tol:
            fails.append("%s short by %.4f beyond the allowed %.3f" % (k, -d - tol, tol))
    seeds = "mean of %d seeds" % len(w) if len(w) > 1 else "1 seed"
    text = "%s (%s): %s" % (s["name"], seeds, "; ".join(parts))
    if fails:
        text += " -- " + "; ".join(fails)
    return not fails, text


def print_checks(sets, quick):
    large = [s for s in sets if s["meta"].get("preset") == "electronics"]
    el = large[0] if large else None
    print("\n### Must show\n")
    print("```")
    for s in sets:
        if s["meta"].get("preset") == "books":
            continue
        for key, how in (("walkrec-sg", "--sequences"), ("walkrec-pairs", "own walks")):
            ok, text = check_quality(s, key)
            print("%s (1) quality, walkrec sg %s vs gensim sg=1: %s" % (verdict(ok), how, text))
    # (2) training speed against gensim sg=1 at the electronics scale
    if el and el["runs"]["walkrec-sg"] and el["runs"]["gensim-sg"]:
        w = mean([r["train"] for r in el["runs"]["walkrec-sg"]])
        g = mean([r["train"] for r in el["runs"]["gensim-sg"]])
        print("%s (2) speed: electronics train stage walkrec sg %.1fs vs gensim sg=1 %.1fs: "
              "×%.2f (need ×4)" % (verdict(g / w >= 4), w, g, g / w))
    else:
        print("N/A  (2) speed: no electronics-scale run%s" % (" (--quick)" if quick else ""))
    # (3) walk generation speed, from `walkrec train --json`: steps = tokens - sequences
    src = el if el else max(sets, key=lambda s: s["split"]["pairs"]) if sets else None
    rates = [r["steps_per_s"] for r in (src["runs"]["walkrec-pairs"] if src else [])
             if r.get("steps_per_s")]
    if rates:
        r0 = src["runs"]["walkrec-pairs"][0]["raw"]
        rate = mean(rates)
        print("%s (3) walks: %.1fM steps/s on %s (%d walks, %d tokens, %.3fs)%s (need 20M)" %
              (verdict(rate >= 20e6), rate / 1e6, src["name"], r0["sequences"], r0["tokens"],
               r0["times"]["walks"], "" if el else " [no electronics run: largest set]"))
    else:
        print("N/A  (3) walks: no walkrec run from pairs")
    # (4) peak RSS of walkrec train at the electronics scale
    if el and el["runs"]["walkrec-pairs"]:
        rss = max(r["rss"] for k in ("walkrec-pairs", "walkrec-sg") for r in el["runs"][k])
        print("%s (4) memory: electronics walkrec train peak RSS %.0f MiB = %.2f GiB (need < 1.5)"
              % (verdict(rss < 1.5 * 1024 * 1024), rss / 1024, rss / 1024 ** 2))
    else:
        print("N/A  (4) memory: no electronics-scale run%s" % (" (--quick)" if quick else ""))
    books = [s for s in sets if s["meta"].get("preset") == "books"]
    if books and books[0]["runs"]["walkrec-pairs"]:
        r = books[0]["runs"]["walkrec-pairs"][0]
        print("%s (books) walkrec train: %.0fs, peak RSS %.2f GiB (need < 8)" %
              (verdict(r["rss"] < 8 * 1024 ** 2), r["total"], r["rss"] / 1024 ** 2))
    print("```")


def cmd_table(a):
    sets = collect(a.dir)
    m0, m1 = machine(a.dir)
    print("## walkrec trainer vs gensim and fastText\n")
    print("- machine: %s x %s (%s), %.1f GiB RAM, kernel %s" %
          (m0.get("nproc"), m0.get("cpu"), ", ".join(m0.get("simd", [])) or "no AVX",
           m0.get("mem_kib", 0) / 1024 ** 2, m0.get("kernel")))
    print("- load average (1, 5, 15 min): at start %s (%s), at end %s (%s)" %
          (m0.get("loadavg"), m0.get("time"), m1.get("loadavg"), m1.get("time")))
    v = m0.get("versions", {})
    print("- peers: gensim %s (Word2Vec, corpus_file=), fastText %s (Debian package, CLI); "
          "threads %s" % (v.get("gensim"), v.get("fasttext"), a.threads))
    print("- every system: dim %d, window %d, %d negatives, %d epochs, subsampling %g, lr %g, "
          "min_count 1, trained on the same walks file per seed (walkrec's own walks: 10 per item, "
          "length 10); split `walkrec split --seed 42`; eval `walkrec eval MODEL VAL --train TRAIN`"
          % (DIM, WINDOW, NEGATIVE, EPOCHS, SAMPLE, LR))
    print("- sets under 100k pairs: seeds 1, 2, 3 (walks and training); quality is mean ±sd "
          "(sample standard deviation), times are means, RSS the largest")
    print("- load: reading the input (walkrec: pairs or walks file; gensim: build_vocab; "
          "fastText: until its vocabulary is read); process: the whole process wall time "
          "(imports, saving vectors); CPU: user+sys of the process")
    print("- speed-up: the peer's train stage over walkrec's, same mode, same walks file "
          "(gensim sg=1 and fastText against walkrec sg --sequences, gensim sg=0 against "
          "walkrec cbow --sequences)\n")
    print_table(sets)
    print_checks(sets, a.quick)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--proc", required=True)
    p.add_argument("--stdout")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p = sub.add_parser("gensim")
    p.add_argument("walks")
    p.add_argument("out")
    p.add_argument("--sg", type=int, choices=(0, 1), required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p = sub.add_parser("fasttext")
    p.add_argument("walks")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    for name in ("strip-eos", "safe-ids"):
        p = sub.add_parser(name)
        p.add_argument("src")
        p.add_argument("dst")
    sub.add_parser("machine")
    p = sub.add_parser("table")
    p.add_argument("dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.cmd == "run":
        if a.argv[:1] == ["--"]:
            a.argv = a.argv[1:]
        if not a.argv:
            ap.error("run: no command")
        return cmd_run(a)
    return {"gensim": cmd_gensim, "fasttext": cmd_fasttext, "strip-eos": cmd_strip_eos,
            "safe-ids": cmd_safe_ids, "machine": cmd_machine, "table": cmd_table}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
