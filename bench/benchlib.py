"""benchlib.py - what bench/compare.py, quality.py and trainer.py share: reading a run's JSON
files, its data-set folders in table order, its machine descriptions, and the tables' number
and verdict formats. Imported from the scripts' own folder by Debian's /usr/bin/python3.
"""
import json
import os
import re


def read_json(path):
    """None where the file is missing or incomplete: the run failed or is still going."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def set_dirs(root):
    """(name, folder, split.json, set.json) of every data set of a run with a split: the real
    sets, then the synthetic ones, each in the order of their size."""
    sets = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        split = read_json(os.path.join(d, "split.json"))
        if split:
            sets.append((name, d, split, read_json(os.path.join(d, "set.json")) or {}))
    sets.sort(key=lambda s: (bool(s[3].get("synthetic")), s[2]["pairs"], s[0]))
    return sets


def seeds(d):
    return sorted(int(s[4:]) for s in os.listdir(d) if re.fullmatch(r"seed\d+", s))


def machine(root):
    """`trainer.py machine` at the start and at the end of the run ({} where missing)."""
    return [read_json(os.path.join(root, "machine-%s.json" % w)) or {} for w in ("start", "end")]


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def fnum(x, digits=2):
    if x is None:
        return "–"
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    if x >= 1 or x == 0:
        return "%.*f" % (digits, x)
    return "%.3f" % x


def verdict(ok):
    return "PASS" if ok else ("FAIL" if ok is not None else "N/A ")


def failure(proc):
    """How a run without a result ended, from its `trainer.py run` record."""
    what = ("exit %s" % proc["exit"] if proc.get("exit", 0) >= 0 else
            "killed by signal %d" % -proc["exit"]) if "exit" in proc else "no result"
    return what + (" after %.0fs" % proc["wall"] if "wall" in proc else "")
