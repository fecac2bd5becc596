"""probability.py - the calibrated pair probability in walkrecd's answers.

A model trained by `walkrec train` carries a five-coefficient logistic model over the cosine,
the items' log weighted degrees and their cosines to a centre direction
(include/walkrec/calib.h) rescaled to the validation population, and the list order its held-out slice found the better. The
daemon returns that probability with every score and neighbour, ranks lists as the model
chose unless asked for rank=cosine or rank=probability (setting `rank`, default auto), and
refuses rank=probability where it has no meaning. Everything is recomputed here from the
model file alone."""

import math
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402


class Calibrated(wrd.Model):
    def __init__(self, path):
        super().__init__(path)
        with open(path, "rb") as f:
            data = f.read()
        nsec = struct.unpack_from("<I", data, 32)[0]
        for i in range(nsec):
            typ, _res, off, length = struct.unpack_from("<IIQQ", data, 64 + 24 * i)
            if typ == 4:
                self.logdeg = struct.unpack_from("<%df" % self.n, data, off)
        cal = self.meta["calibration"]
        assert cal["features"] == ["1", "cos", "logpop_sum", "logpop_absdiff",
                                   "hub_product"], cal
        assert cal["bias"] == "log1p_weighted_degree", cal
        self.coef = cal["coef"]
        pi = cal["positive_rate"]
        self.scale = (cal["scale"]["a"], cal["scale"]["b"] + math.log(pi / (1 - pi)))
        self.best = cal["ranking"]["best"]
        self.hub = [sum(x * y for x, y in zip(u, cal["center"])) for u in self.unit]

    def logit(self, a, b):
        ra, rb = self.row[a], self.row[b]
        la, lb = self.logdeg[ra], self.logdeg[rb]
        w = self.coef
        return self.scale[0] * (w[0] + w[1] * self.score(a, b) + w[2] * (la + lb) +
                                w[3] * abs(la - lb) + w[4] * self.hub[ra] * self.hub[rb]) + \
            self.scale[1]

    def by(self, rank, q, k):
        """The k best items for q (q left out) by the logit or the cosine."""
        key = (lambda x: -self.logit(q, x)) if rank == "probability" else \
            (lambda x: -self.score(q, x))
        return sorted((x for x in self.ids if x != q), key=key)[:k]

    def prob(self, a, b):
        return 1 / (1 + math.exp(-self.logit(a, b)))


def setUpModule():
    global D, M, PLAIN
    work = wrd.tmpdir()
    pairs = os.path.join(work, "pairs.tsv")
    wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
    data = os.path.join(work, "var")
    os.mkdir(data)
    model = os.path.join(data, "model-1.wr")
    wrd.run(wrd.WALKREC, "train", pairs, "-o", model, "--dim", "16", "--epochs", "2",
            "--threads", "1", "--quiet")
    M = Calibrated(model)
    D = wrd.Daemon(data_dir=data)
    PLAIN = os.path.join(work, "plain.wr")
    wrd.run(wrd.WALKREC, "train", pairs, "-o", PLAIN, "--dim", "16", "--epochs", "1",
            "--calibration", "0", "--threads", "1", "--quiet")


def tearDownModule():
    D.stop()


class Probability(unittest.TestCase):
    def test_model_reports_calibration(self):
        # a small synthetic catalogue: the slice finds far more by probability
        self.assertEqual(M.best, "probability")
        index = D.get("/v1/model").json()["index"]
        self.assertEqual((index["calibrated"], index["rank"]), (True, M.best))

    def test_scores(self):
        for a, b in (("P0000001", "P0000002"), ("P0000010", "P0001500"), ("P0000003", "P0000004")):
            doc = D.get("/v1/score?a=%s&b=%s" % (a, b)).json()
            self.assertAlmostEqual(doc["score"], M.score(a, b), places=5)
            self.assertAlmostEqual(doc["probability"], M.prob(a, b), places=5)
        doc = D.post("/v1/score", {"pairs": [["P0000001", "P0000002"], ["P0000001", "nope"]]})
        doc = doc.json()
        self.assertAlmostEqual(doc["probabilities"][0], M.prob("P0000001", "P0000002"), places=5)
        self.assertEqual((doc["scores"][1], doc["probabilities"][1]), (None, None))

    def test_lists_rank_as_the_model_chose(self):
        for q in ("P0000001", "P0000042", "P0001999"):
            doc = D.get("/v1/items/%s/neighbors?k=10" % q).json()
            self.assertEqual(doc["rank"], M.best)
            expect = M.by(M.best, q, 10)
            got = [h["item"] for h in doc["neighbors"]]
            # equal up to float ties at the tenth place
            self.assertEqual(got[:9], expect[:9], q)
            for h in doc["neighbors"]:
                self.assertAlmostEqual(h["score"], M.score(q, h["item"]), places=5)
                self.assertAlmostEqual(h["probability"], M.prob(q, h["item"]), places=5)
            cos = D.get("/v1/items/%s/neighbors?k=10&rank=cosine" % q).json()
            self.assertEqual(cos["rank"], "cosine")
            wrd.same_ranking(cos["neighbors"], M.neighbors(q, 10), "rank=cosine")
            # k beyond the lists and filters scan exactly, in the same order
            big = D.get("/v1/items/%s/neighbors?k=150" % q).json()["neighbors"]
            self.assertEqual([h["item"] for h in big][:140], M.by(M.best, q, 150)[:140])
            prob = D.get("/v1/items/%s/neighbors?k=10&rank=probability" % q).json()
            self.assertEqual(prob["rank"], "probability")
            got = [h["item"] for h in prob["neighbors"]]
            self.assertEqual(got[:9], M.by("probability", q, 10)[:9], q)

    def test_min_score_on_the_ranked_score(self):
        """min_score applies to what the list ranks by: the probability for probability
        lists (a prefix of the list), the cosine for cosine ones."""
        q = "P0000042"
        full = D.get("/v1/items/%s/neighbors?k=50&rank=probability" % q).json()["neighbors"]
        cut = (full[4]["probability"] + full[5]["probability"]) / 2
        got = D.get("/v1/items/%s/neighbors?k=50&rank=probability&min_score=%r" % (q, cut)).json()
        self.assertEqual(got["neighbors"], full[:5])
        cos = D.get("/v1/items/%s/neighbors?k=50&rank=cosine" % q).json()["neighbors"]
        c = (cos[2]["score"] + cos[3]["score"]) / 2
        got = D.get("/v1/items/%s/neighbors?k=50&rank=cosine&min_score=%r" % (q, c)).json()
        self.assertEqual(got["neighbors"], cos[:3])

    def test_refusals(self):
        r = D.get("/v1/items/P0000001/neighbors?rank=popularity")
        self.assertEqual(r.status, 400)
        r = D.post("/v1/neighbors", {"items": ["P0000001", "P0000002"], "mode": "basket",
                                     "rank": "probability"})
        self.assertEqual(r.status, 400)
        self.assertIn("basket", r.json()["error"]["message"])
        each = D.post("/v1/neighbors", {"items": ["P0000001"], "k": 5, "rank": "cosine"}).json()
        self.assertEqual(each["rank"], "cosine")
        wrd.same_ranking(each["results"][0]["neighbors"], M.neighbors("P0000001", 5), "each")

    def test_uncalibrated_model(self):
        with wrd.Daemon("--model", PLAIN) as d:
            self.assertEqual(d.get("/v1/model").json()["index"]["rank"], "cosine")
            doc = d.get("/v1/score?a=P0000001&b=P0000002").json()
            self.assertIsNone(doc["probability"])
            hits = d.get("/v1/items/P0000001/neighbors?k=3").json()["neighbors"]
            self.assertNotIn("probability", hits[0])
            r = d.get("/v1/items/P0000001/neighbors?rank=probability")
            self.assertEqual(r.status, 400)
            self.assertIn("no calibrated probability", r.json()["error"]["message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
