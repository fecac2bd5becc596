"""explain.py - explain=1 on neighbour and pair-score answers, against the real daemon.

walkrecd trains its first generation from a pairs file and writes the pair graph beside the
model (include/walkrec/explain.h). Every explanation is recomputed here from the pairs file
itself, over the model's items: the direct pair's weight, each item's partners, the shared
partners and the best three, a walk's one- and two-step chances, the side information's
agreeing columns, and the logit's terms, which must add up to the probability answered. A
model served without its graph says so; an item known from ingested pairs only is explained
by those pairs; malformed values and a basket are refused."""

import math
import os
import shutil
import sys
import time
import unittest
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402


def setUpModule():
    global D, M, W, S, SIDE, WORK
    WORK = wrd.tmpdir()
    pairs = os.path.join(WORK, "pairs.tsv")
    wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
    D = wrd.Daemon("--pairs", pairs, "--dim", "16", "--retrain-epochs", "1",
                   "--train-threads", "1")
    model = os.path.join(D.data_dir, "model-1.wr")
    assert os.path.exists(os.path.join(D.data_dir, "model-1.graph")), os.listdir(D.data_dir)
    M = wrd.Model(model)
    # the pairs, merged as pairs.c merges them, over the model's items
    W = defaultdict(dict)
    _, rows = wrd.read_tsv(pairs)
    for a, b, w in rows:
        if a != b and a in M.row and b in M.row:
            W[a][b] = W[a].get(b, 0.0) + float(w)
            W[b][a] = W[b].get(a, 0.0) + float(w)
    S = {a: sum(p.values()) for a, p in W.items()}
    head, rows = wrd.read_tsv(os.path.join(D.data_dir, "model-1.items.tsv"))
    SIDE = {r[0]: dict(zip(head[1:], r[1:])) for r in rows}


def tearDownModule():
    D.stop()


def expected(a, b):
    """The graph's part of an explanation, from the pairs."""
    wa, wb = W.get(a, {}), W.get(b, {})
    shared = sorted(set(wa) & set(wb),
                    key=lambda c: (-min(wa[c], wb[c]), -(wa[c] + wb[c]), M.row[c]))
    return {
        "pair": {"weight": wa[b]} if b in wa else None,
        "partners": {"a": len(wa), "b": len(wb)},
        "shared": {"count": len(shared),
                   "top": [{"item": c, "weight_a": wa[c], "weight_b": wb[c]}
                           for c in shared[:3]]},
        "walk": {
            "one_step": wa.get(b, 0) / S[a] if a in S else 0,
            "two_steps": sum(wa[c] / S[a] * wb[c] / S[c] for c in shared),
            "one_step_back": wb.get(a, 0) / S[b] if b in S else 0,
            "two_steps_back": sum(wb[c] / S[b] * wa[c] / S[c] for c in shared),
        },
        "attributes": {k: v for k, v in SIDE.get(a, {}).items()
                       if k != "degree" and v and SIDE.get(b, {}).get(k) == v},
    }


class Explain(unittest.TestCase):
    def check(self, a, b, got, probability, score):
        want = expected(a, b)
        what = "%s-%s" % (a, b)
        self.assertTrue(got["graph"], what)
        self.assertEqual(got["pair"] is None, want["pair"] is None, what)
        if want["pair"]:
            self.assertAlmostEqual(got["pair"]["weight"], want["pair"]["weight"], 4, what)
        self.assertEqual(got["partners"], want["partners"], what)
        self.assertEqual(got["shared"]["count"], want["shared"]["count"], what)
        self.assertEqual([t["item"] for t in got["shared"]["top"]],
                         [t["item"] for t in want["shared"]["top"]], what)
        for g, w in zip(got["shared"]["top"], want["shared"]["top"]):
            self.assertAlmostEqual(g["weight_a"], w["weight_a"], 4, what)
            self.assertAlmostEqual(g["weight_b"], w["weight_b"], 4, what)
        for k, v in want["walk"].items():
            self.assertLess(abs(got["walk"][k] - v), 1e-5 + 1e-5 * v, (what, k))
        self.assertEqual(got["attributes"], want["attributes"], what)
        t = got["logit"]
        total = t["cosine"] + t["popularity"] + t["hub"] + t["constant"]
        self.assertLess(abs(total - t["total"]), 1e-4, what)
        self.assertLess(abs(1 / (1 + math.exp(-t["total"])) - probability), 1e-5, what)
        # the cosine part is the cosine times a constant (A w1) the same for every pair
        return t["cosine"] / score if abs(score) > 1e-3 else None

    def test_neighbors(self):
        """Lists of 30 items, 10 neighbours each: every explanation as recomputed."""
        ratios, direct, shared = [], 0, 0
        for q in M.ids[:30]:
            r = D.get("/v1/items/%s/neighbors?k=10&explain=1" % q)
            self.assertEqual(r.status, 200, r)
            for h in r.json()["neighbors"]:
                ratio = self.check(q, h["item"], h["explain"], h["probability"], h["score"])
                if ratio is not None:
                    ratios.append(ratio)
                direct += h["explain"]["pair"] is not None
                shared += h["explain"]["shared"]["count"] > 0
        self.assertGreater(direct, 0)  # the lists hold pairs of the data, and others
        self.assertGreater(shared, 0)
        self.assertLess(max(ratios) - min(ratios), 1e-3 * max(abs(x) for x in ratios))
        plain = D.get("/v1/items/%s/neighbors?k=10" % M.ids[0]).json()
        self.assertNotIn("explain", plain["neighbors"][0])
        self.assertEqual(D.get("/v1/items/%s/neighbors?k=10&explain=0" % M.ids[0]).json(),
                         plain)

    def test_score(self):
        """GET /v1/score for pairs of the data and pairs that are not; POST /v1/score's
        explanations beside its scores, null for an unknown item."""
        a = M.ids[5]
        b = next(iter(W[a]))
        c = next(x for x in M.ids if x != a and x not in W[a])
        for x, y in ((a, b), (a, c), (b, a)):
            r = D.get("/v1/score?a=%s&b=%s&explain=1" % (x, y))
            self.assertEqual(r.status, 200, r)
            j = r.json()
            self.check(x, y, j["explain"], j["probability"], j["score"])
        r = D.post("/v1/score", {"pairs": [[a, b], [a, "nope"]], "explain": True})
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.check(a, b, j["explanations"][0], j["probabilities"][0], j["scores"][0])
        self.assertIsNone(j["explanations"][1])
        self.assertNotIn("explanations", D.post("/v1/score", {"pairs": [[a, b]]}).json())

    def test_post_neighbors(self):
        """POST /v1/neighbors: explain for all items, or per query."""
        a, b = M.ids[7], M.ids[8]
        r = D.post("/v1/neighbors", {"items": [a, b], "k": 3, "explain": True})
        self.assertEqual(r.status, 200, r)
        for res in r.json()["results"]:
            for h in res["neighbors"]:
                self.check(res["item"], h["item"], h["explain"], h["probability"], h["score"])
        r = D.post("/v1/neighbors", {"queries": [{"item": a, "k": 2, "explain": 1},
                                                 {"item": b, "k": 2}]})
        self.assertEqual(r.status, 200, r)
        res = r.json()["results"]
        self.assertTrue(all("explain" in h for h in res[0]["neighbors"]))
        self.assertTrue(all("explain" not in h for h in res[1]["neighbors"]))

    def test_refused(self):
        a = M.ids[0]
        for path in ("/v1/items/%s/neighbors?explain=yes" % a,
                     "/v1/score?a=%s&b=%s&explain=2" % (a, M.ids[1]),
                     "/v1/items/%s/neighbors?explan=1" % a):
            r = D.get(path)
            self.assertEqual(r.status, 400, (path, r))
        for body in ({"items": [a], "explain": "yes"},
                     {"items": [a], "mode": "basket", "explain": True},
                     {"queries": [{"item": a, "explain": 3}]}):
            r = D.post("/v1/neighbors", body)
            self.assertEqual(r.status, 400, (body, r))

    def check_ingested(self, got, ingested, m, prov_b):
        """An explanation of a provisional item (ingested pairs: {row id: weight}) and model
        item m, the provisional one being b when prov_b."""
        wm = W.get(m, {})
        shared = sorted(set(ingested) & set(wm),
                        key=lambda c: (-min(ingested[c], wm[c]), -(ingested[c] + wm[c]),
                                       M.row[c]))
        self.assertEqual((got["provisional"], got["graph"]), (True, True), got)
        self.assertEqual(got["pair"], {"weight": ingested[m]} if m in ingested else None, got)
        sides = (len(wm), len(ingested)) if prov_b else (len(ingested), len(wm))
        self.assertEqual(got["partners"], {"a": sides[0], "b": sides[1]}, got)
        self.assertEqual(got["shared"]["count"], len(shared), got)
        top = [{"item": c, "weight_a": wm[c] if prov_b else ingested[c],
                "weight_b": ingested[c] if prov_b else wm[c]} for c in shared[:3]]
        self.assertEqual(len(got["shared"]["top"]), len(top))
        for g, w in zip(got["shared"]["top"], top):
            self.assertEqual(g["item"], w["item"], got)
            self.assertAlmostEqual(g["weight_a"], w["weight_a"], 4)
            self.assertAlmostEqual(g["weight_b"], w["weight_b"], 4)
        self.assertNotIn("walk", got)

    def test_provisional(self):
        """An item known from ingested pairs only is explained by those pairs against the
        model item's pairs in the graph, both ways."""
        a, a2 = M.ids[3], M.ids[4]
        ingested = {a: 1.0, a2: 2.5}
        r = D.post("/v1/pairs", {"pairs": [{"a": "NEWITEM1", "b": a, "weight": 1},
                                           {"a": a2, "b": "NEWITEM1", "weight": 2.5}]})
        self.assertEqual(r.status, 202, r)
        for _ in range(200):
            r = D.get("/v1/items/NEWITEM1/neighbors?k=10&explain=1")
            if r.status == 200:
                break
            time.sleep(0.05)
        self.assertEqual(r.status, 200, r)
        hits = r.json()["neighbors"]
        self.assertTrue(hits)
        for h in hits:
            self.check_ingested(h["explain"], ingested, h["item"], False)
        self.assertTrue(any(h["explain"]["pair"] for h in hits), hits)  # a partner listed
        for m in (a, hits[-1]["item"]):
            j = D.get("/v1/score?a=%s&b=NEWITEM1&explain=1" % m).json()
            self.check_ingested(j["explain"], ingested, m, True)

    def test_without_graph(self):
        """A model file without its graph beside it: the graph's part is left out."""
        copy = os.path.join(WORK, "alone.wr")
        shutil.copy(os.path.join(D.data_dir, "model-1.wr"), copy)
        with wrd.Daemon("--model", copy) as d2:
            r = d2.get("/v1/items/%s/neighbors?k=2&explain=1" % M.ids[0])
            self.assertEqual(r.status, 200, r)
            e = r.json()["neighbors"][0]["explain"]
            self.assertFalse(e["graph"])
            self.assertNotIn("pair", e)
            self.assertIn("logit", e)


if __name__ == "__main__":
    unittest.main(verbosity=2)
