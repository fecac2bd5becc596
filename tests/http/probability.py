"""probability.py - the calibrated pair probability in walkrecd's answers.

A model trained by `walkrec train` carries a four-coefficient logistic model over the cosine
and the items' log degrees (include/walkrec/calib.h). The daemon returns that probability
with every score and neighbour, ranks lists by it unless asked for rank=cosine (setting
`rank`, default auto), and refuses rank=probability where it has no meaning. Everything is
recomputed here from the model file alone."""

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
        assert cal["features"] == ["1", "cos", "logdeg_sum", "logdeg_absdiff"], cal
        self.coef = cal["coef"]

    def logit(self, a, b):
        la, lb = self.logdeg[self.row[a]], self.logdeg[self.row[b]]
        w = self.coef
        return w[0] + w[1] * self.score(a, b) + w[2] * (la + lb) + w[3] * abs(la - lb)

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
        index = D.get("/v1/model").json()["index"]
        self.assertEqual((index["calibrated"], index["rank"]), (True, "probability"))

    def test_scores(self):
        for a, b in (("P0000001", "P0000002"), ("P0000010", "P0001500"), ("P0000003", "P0000004")):
            doc = D.get("/v1/score?a=%s&b=%s" % (a, b)).json()
            self.assertAlmostEqual(doc["score"], M.score(a, b), places=5)
            self.assertAlmostEqual(doc["probability"], M.prob(a, b), places=5)
        doc = D.post("/v1/score", {"pairs": [["P0000001", "P0000002"], ["P0000001", "nope"]]})
        doc = doc.json()
        self.assertAlmostEqual(doc["probabilities"][0], M.prob("P0000001", "P0000002"), places=5)
        self.assertEqual((doc["scores"][1], doc["probabilities"][1]), (None, None))

    def test_lists_rank_by_probability_by_default(self):
        for q in ("P0000001", "P0000042", "P0001999"):
            doc = D.get("/v1/items/%s/neighbors?k=10" % q).json()
            self.assertEqual(doc["rank"], "probability")
            expect = sorted((x for x in M.ids if x != q), key=lambda x: -M.logit(q, x))[:10]
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
            expect = sorted((x for x in M.ids if x != q), key=lambda x: -M.logit(q, x))[:150]
            self.assertEqual([h["item"] for h in big][:140], expect[:140])

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
