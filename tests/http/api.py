"""api.py - every route of walkrecd and every error path, against a real daemon.

The daemon starts on an empty data directory, so it trains on the built-in synthetic
catalogue and saves model-1.wr (+ its side information); answers are checked against brute
force over that file. Further daemons serve the same file with other settings (CORS,
limits, no side information, ids that need percent-encoding)."""

import json
import math
import os
import shutil
import socket
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

D = M = None
SIDE = {}
# The lists here are checked against a brute-force cosine ranking; the calibrated order,
# which the daemon's own (calibrated) models get by default, is probability.py's subject.
os.environ["WALKREC_RANK"] = "cosine"


def setUpModule():
    global D, M
    D = wrd.Daemon("--max-batch", "50", "--max-body-bytes", "65536", "--index-threads", "2")
    M = wrd.Model(os.path.join(D.data_dir, "model-1.wr"))
    header, rows = wrd.read_tsv(os.path.join(D.data_dir, "model-1.items.tsv"))
    for r in rows:
        SIDE[r[0]] = dict(zip(header[1:], r[1:]))


def tearDownModule():
    assert D.stop() == 0, D.log()


def q(s):
    return urllib.parse.quote(s, safe="")


class Routes(unittest.TestCase):
    def error(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers["content-type"], "application/json")
        body = r.json()
        self.assertEqual(body["error"]["code"], code, r)
        self.assertIsInstance(body["error"]["message"], str)
        return body

    def test_health(self):
        r = D.get("/healthz")
        self.assertEqual((r.status, r.json()), (200, {"status": "ok"}))
        r = D.get("/readyz")
        self.assertEqual((r.status, r.json()), (200, {"status": "ready", "generation": 1}))

    def test_diverse_neighbors(self):
        """diversity and max_per: the page is MMR over the list's first 50 with at most N
        per category, recomputed here from the model file and its side file; bad values and
        an unknown column are 400s naming them."""
        def mmr(item, k, lam, cap, pool=None):
            pool = pool or M.neighbors(item, 50)
            lo, hi = min(s for _, s in pool), max(s for _, s in pool)
            picked, near = [], {i: -math.inf for i, _ in pool}
            left = dict(pool)
            while len(picked) < k and left:
                def value(i):
                    rel = (left[i] - lo) / (hi - lo) if hi > lo else 1
                    return (1 - lam) * rel - (lam * near[i] if picked and lam > 0 else 0)
                best = max(left, key=lambda i: (value(i), -M.row[i]))
                del left[best]
                cat = SIDE[best].get("category")
                if cap and cat and sum(SIDE[p].get("category") == cat for p in picked) >= cap:
                    continue
                picked.append(best)
                for i in left:
                    near[i] = max(near[i], M.score(i, best))
            return picked
        for item in M.ids[:5]:
            r = D.get("/v1/items/%s/neighbors?k=10&diversity=0.3&max_per=category:2" % q(item))
            self.assertEqual(r.status, 200, r)
            got = [h["item"] for h in r.json()["neighbors"]]
            self.assertEqual(got, mmr(item, 10, 0.3, 2), item)
            cats = [SIDE[i].get("category") for i in got]
            self.assertLessEqual(max(cats.count(c) for c in cats), 2)
            plain = D.get("/v1/items/%s/neighbors?k=10" % q(item)).json()["neighbors"]
            self.assertEqual(got[0], plain[0]["item"])  # the best one always leads
        # the same in a batch: one set for all items, or per query; not for baskets
        items = M.ids[:3]
        want = [[h["item"] for h in D.get("/v1/items/%s/neighbors?k=10&diversity=0.3&max_per="
                                           "category:2" % q(i)).json()["neighbors"]]
                for i in items]
        r = D.post("/v1/neighbors", {"items": items, "k": 10, "diversity": 0.3,
                                     "max_per": "category:2"}).json()
        self.assertEqual([[h["item"] for h in x["neighbors"]] for x in r["results"]], want)
        r = D.post("/v1/neighbors", {"queries": [{"item": i, "k": 10, "diversity": 0.3,
                                                  "max_per": "category:2"} for i in items]})
        self.assertEqual([[h["item"] for h in x["neighbors"]] for x in r.json()["results"]],
                         want)
        # a basket's list, its own score the relevance
        r = D.post("/v1/neighbors", {"items": items, "mode": "basket", "k": 10,
                                     "diversity": 0.3, "max_per": "category:2"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([h["item"] for h in r.json()["neighbors"]],
                         mmr(None, 10, 0.3, 2, pool=M.basket(items, 50)))
        body = self.error(D.post("/v1/neighbors", {"queries": [{"item": items[0],
                                                                "max_per": "nosuch:2"}]}),
                          400, "bad_request")
        self.assertIn("queries[0]: max_per", body["error"]["message"])
        for bad, says in (("diversity=2", "diversity"), ("diversity=x", "diversity"),
                          ("max_per=category", "max_per"), ("max_per=category:0", "max_per"),
                          ("max_per=nosuch:3", "'nosuch'")):
            body = self.error(D.get("/v1/items/%s/neighbors?%s" % (q(M.ids[0]), bad)), 400,
                              "bad_request")
            self.assertIn(says, body["error"]["message"])

    def test_neighbors_match_brute_force(self):
        for item in M.ids[:3] + M.ids[-2:]:
            for k in (1, 10, 100, 150):  # 150 > index_k: an exact scan
                r = D.get("/v1/items/%s/neighbors?k=%d" % (item, k))
                self.assertEqual(r.status, 200, r)
                body = r.json()
                self.assertEqual((body["item"], body["generation"]), (item, 1))
                wrd.same_ranking(body["neighbors"], M.neighbors(item, k), "%s k=%d" % (item, k))
        r = D.get("/v1/items/%s/neighbors" % M.ids[5])
        self.assertEqual(len(r.json()["neighbors"]), 10)  # default_k

    def test_neighbors_filters(self):
        item = M.ids[7]
        best = [i for i, _ in M.neighbors(item, 30)]
        excl = best[:4] + ["not-an-item"]
        r = D.get("/v1/items/%s/neighbors?k=10&exclude=%s" % (item, ",".join(map(q, excl))))
        wrd.same_ranking(r.json()["neighbors"], M.neighbors(item, 10, exclude=excl), "exclude")
        excl = [i for i, _ in M.neighbors(item, 51)]
        r = D.get("/v1/items/%s/neighbors?exclude=%s" % (item, ",".join(excl)))
        self.error(r, 400, "batch_too_large")
        cut = M.neighbors(item, 30)[12][1] - 1e-4
        r = D.get("/v1/items/%s/neighbors?k=30&min_score=%r" % (item, cut))
        wrd.same_ranking(r.json()["neighbors"], M.neighbors(item, 30, min_score=cut), "min")
        cat = SIDE[item]["category"]
        in_cat = lambda i: SIDE[i].get("category") == cat  # noqa: E731
        other = next(c["category"] for c in SIDE.values() if c["category"] != cat)
        for c, keep in ((cat, in_cat), (other, lambda i: SIDE[i]["category"] == other)):
            r = D.get("/v1/items/%s/neighbors?k=20&category=%s&exclude=%s" % (item, c, best[0]))
            want = M.neighbors(item, 20, exclude=[best[0]], keep=keep)
            wrd.same_ranking(r.json()["neighbors"], want, "category " + c)
        r = D.get("/v1/items/%s/neighbors?category=no-such-category" % item)
        self.assertEqual(r.json()["neighbors"], [])

    def test_neighbors_errors(self):
        item = M.ids[0]
        for query in ("k=0", "k=abc", "k=1001", "k=-1", "k=", "min_score=abc", "min_score=nan",
                      "exclude=%FF", "category=%C3"):
            self.error(D.get("/v1/items/%s/neighbors?%s" % (item, query)), 400, "bad_request")
        self.error(D.get("/v1/items/nope/neighbors"), 404, "unknown_item")
        self.error(D.get("/v1/items/%FF%FE/neighbors"), 400, "bad_request")
        self.error(D.get("/v1/items/a%00b/neighbors"), 400, "bad_request")
        self.error(D.get("/v1/items/a%2/neighbors"), 400, "bad_request")
        self.error(D.get("/v1/items//neighbors"), 400, "bad_request")
        self.error(D.get("/v1/items/%s/neighbors" % ("x" * 513)), 400, "bad_request")
        self.error(D.get("/v1/items/%s/neighbors" % ("x" * 512)), 404, "unknown_item")
        self.error(D.get("/v1/items/%s/neighbors" % ("%C3%A9" * 300)), 400, "bad_request")

    def test_item(self):
        for item in M.ids[:5]:
            r = D.get("/v1/items/" + item)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertEqual(body["item"], item)
            self.assertEqual(body["generation"], 1)
            self.assertEqual(body["degree"], int(SIDE[item]["degree"]))
            self.assertEqual(body["side"], {"category": SIDE[item]["category"]})
        self.error(D.get("/v1/items/nope"), 404, "unknown_item")

    def test_score(self):
        a, b = M.ids[3], M.ids[40]
        r = D.get("/v1/score?a=%s&b=%s" % (a, b))
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual((body["a"], body["b"], body["generation"]), (a, b, 1))
        self.assertEqual(body["known"], {"a": True, "b": True})
        self.assertAlmostEqual(body["score"], M.score(a, b), places=5)
        body = self.error(D.get("/v1/score?a=%s&b=zzz" % a), 404, "unknown_item")
        self.assertEqual(body["known"], {"a": True, "b": False})
        self.assertIn("zzz", body["error"]["message"])
        body = self.error(D.get("/v1/score?a=yyy&b=zzz"), 404, "unknown_item")
        self.assertEqual(body["known"], {"a": False, "b": False})
        self.error(D.get("/v1/score?a=%s" % a), 400, "bad_request")
        self.error(D.get("/v1/score?a=%s&b=%%FF" % a), 400, "bad_request")

    def test_score_batch(self):
        pairs = [[M.ids[1], M.ids[2]], [M.ids[3], "nope"], [M.ids[9], M.ids[900]]]
        r = D.post("/v1/score", {"pairs": pairs})
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["generation"], 1)
        self.assertEqual(len(body["scores"]), 3)
        self.assertIsNone(body["scores"][1])
        self.assertAlmostEqual(body["scores"][0], M.score(*pairs[0]), places=5)
        self.assertAlmostEqual(body["scores"][2], M.score(*pairs[2]), places=5)
        for bad in ("{", "[]", "{}", '{"pairs": 3}', '{"pairs": []}', '{"pairs": [["a"]]}',
                    '{"pairs": [["a", 1]]}', '{"pairs": [["a", "b", "c"]]}', "\xff"):
            self.error(D.post("/v1/score", bad.encode("latin-1")), 400, "bad_request")
        self.error(D.post("/v1/score", {"pairs": [["a", "b"]] * 51}), 400, "batch_too_large")
        self.assertEqual(D.post("/v1/score", {"pairs": [["a", "b"]] * 50}).status, 200)

    def test_body_limit(self):
        big = '{"pairs": [], "pad": "%s"}' % ("x" * 70000)
        self.error(D.post("/v1/score", big), 413, "payload_too_large")
        # chunked: refused before it is read, bodies come with Content-Length (framing.py)
        c = D.connection()
        c.putrequest("POST", "/v1/score")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()  # answered at once, before any chunk is sent
        r = c.getresponse()
        self.assertEqual(r.status, 411)
        self.assertEqual(json.loads(r.read())["error"]["code"], "length_required")
        c.close()
        self.assertEqual(D.get("/healthz").status, 200)

    def test_neighbors_batch(self):
        items = [M.ids[11], "nope", M.ids[12]]
        r = D.post("/v1/neighbors", {"items": items, "k": 7})
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual((body["generation"], body["mode"]), (1, "each"))
        res = body["results"]
        self.assertEqual([x["item"] for x in res], items)
        wrd.same_ranking(res[0]["neighbors"], M.neighbors(items[0], 7), "batch 0")
        wrd.same_ranking(res[2]["neighbors"], M.neighbors(items[2], 7), "batch 2")
        self.assertIsNone(res[1]["neighbors"])
        self.assertEqual(res[1]["error"]["code"], "unknown_item")
        # filters apply to every entry
        r = D.post("/v1/neighbors", {"items": [items[0]], "k": 5, "exclude": [items[2]],
                                     "min_score": 0.1})
        wrd.same_ranking(r.json()["results"][0]["neighbors"],
                         M.neighbors(items[0], 5, exclude=[items[2]], min_score=0.1), "filtered")

    def test_basket(self):
        items = [M.ids[20], M.ids[21], M.ids[22]]
        r = D.post("/v1/neighbors", {"items": items + ["nope"], "k": 12, "mode": "basket"})
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["mode"], "basket")
        self.assertEqual(body["items"], items)
        self.assertEqual(body["unknown"], ["nope"])
        wrd.same_ranking(body["neighbors"], M.basket(items, 12), "basket")
        self.error(D.post("/v1/neighbors", {"items": ["x", "y"], "mode": "basket"}), 404,
                   "unknown_item")

    def test_queries(self):
        """A batch with parameters per query answers what each GET answers."""
        a, b, c = M.ids[3], M.ids[40], M.ids[77]
        qs = [{"item": a, "k": 3}, {"item": b, "k": 7, "offset": 2, "exclude": [M.ids[41]]},
              {"item": c, "min_score": 0.2, "rank": "cosine"}, {"item": "nope"}]
        gets = ["/v1/items/%s/neighbors?k=3" % a,
                "/v1/items/%s/neighbors?k=7&offset=2&exclude=%s" % (b, M.ids[41]),
                "/v1/items/%s/neighbors?min_score=0.2&rank=cosine" % c]
        r = D.post("/v1/neighbors", {"queries": qs})
        self.assertEqual(r.status, 200, r)
        res = r.json()["results"]
        self.assertEqual([x["item"] for x in res], [a, b, c, "nope"])
        for got, path in zip(res, gets):
            self.assertEqual(got["neighbors"], D.get(path).json()["neighbors"], path)
        self.assertEqual(res[3]["error"]["code"], "unknown_item")
        for bad, says in (({"queries": [{"item": a, "k": 0}]}, "queries[0]: k"),
                          ({"queries": [{"item": a}, {"item": a, "colour": 1}]},
                           'queries[1]: unknown field "colour"'),
                          ({"queries": [{"item": a}], "k": 3}, "nothing beside the list"),
                          ({"queries": [{"k": 3}]}, "queries[0]: item"),
                          ({"queries": [{"item": a, "rank": 3}]},
                           "queries[0]: rank: expected cosine or probability")):
            r = D.post("/v1/neighbors", bad)
            self.error(r, 400, "bad_request")
            self.assertIn(says, r.json()["error"]["message"])

    def test_basket_negative(self):
        """More like these, not like those: negatives change the list, each strategy as
        recomputed from the model file; the example of docs/daemon.md."""
        items, negative = [M.ids[20], M.ids[21]], [M.ids[22]]
        plain = [h["item"] for h in D.post("/v1/neighbors", {"items": items, "k": 10,
                                                             "mode": "basket"}).json()["neighbors"]]
        for strategy in ("average", "best_score"):
            r = D.post("/v1/neighbors", {"items": items, "negative": negative + ["nope"], "k": 10,
                                         "mode": "basket", "strategy": strategy})
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertEqual((body["strategy"], body["items"], body["negative"], body["unknown"]),
                             (strategy, items, negative, ["nope"]))
            wrd.same_ranking(body["neighbors"], M.basket(items, 10, negative, strategy), strategy)
            got = [h["item"] for h in body["neighbors"]]
            self.assertNotIn(negative[0], got)
            self.assertNotEqual(got, plain, "%s: the negative changed nothing" % strategy)
        for bad in ({"negative": ["a"]}, {"strategy": "average"},
                    {"mode": "basket", "strategy": "max"}, {"mode": "basket", "negative": "a"},
                    {"mode": "basket", "negative": [3]}):
            self.error(D.post("/v1/neighbors", dict({"items": items}, **bad)), 400, "bad_request")

    def test_relation_complement(self):
        """relation=complement: lists and pair scores by the context vectors, as recomputed
        from the model file; refused without them, with rank or diversity, for provisional
        items, and for a value other than similar or complement."""
        path = os.path.join(wrd.tmpdir(), "ctx.wr")
        wrd.small_model(path, "--keep-context")
        C = wrd.Model(path)
        self.assertIsNotNone(C.ctx)
        with wrd.Daemon("--model", path) as d:
            for item in C.ids[:5]:
                want = sorted(((j, C.complement(item, j)) for j in C.ids if j != item),
                              key=lambda t: (-t[1], C.row[t[0]]))
                r = d.get("/v1/items/%s/neighbors?k=10&relation=complement" % item)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["relation"], "complement")
                self.assertNotIn("probability", r.json()["neighbors"][0])
                wrd.same_ranking(r.json()["neighbors"], want[:10], "complement " + item)
                r = d.get("/v1/items/%s/neighbors?k=5&offset=5&relation=complement&exclude=%s"
                          % (item, want[0][0]))
                wrd.same_ranking(r.json()["neighbors"], want[6:11], "page, exclude " + item)
                r = d.get("/v1/score?a=%s&b=%s&relation=complement" % (item, C.ids[9])).json()
                self.assertAlmostEqual(r["complement"], C.complement(item, C.ids[9]), places=5)
                self.assertAlmostEqual(r["score"], C.score(item, C.ids[9]), places=5)
            # similar stays the default, and the lists by similarity are not the same
            sim = [h["item"] for h in d.get("/v1/items/%s/neighbors?k=10&relation=similar"
                                            % C.ids[0]).json()["neighbors"]]
            self.assertEqual(sim, [h["item"] for h in d.get("/v1/items/%s/neighbors?k=10"
                                                            % C.ids[0]).json()["neighbors"]])
            for q in ("relation=complement&rank=cosine", "relation=complement&diversity=0.3",
                      "relation=opposite"):
                r = d.get("/v1/items/%s/neighbors?%s" % (C.ids[0], q))
                self.assertEqual(r.status, 400, q)
        r = D.get("/v1/items/%s/neighbors?relation=complement" % M.ids[0])  # no context here
        self.assertEqual(r.status, 400)
        self.assertIn("keep-context", r.json()["error"]["message"])

    def test_basket_vectors(self):
        """Raw vectors in a basket, beside ids: each counts as the unit vector of its direction
        (so 3 x an item's vector as that item), and is not an item to leave out."""
        a, b, c = M.ids[20], M.ids[21], M.ids[22]
        va, vc = [3 * x for x in M.unit[M.row[a]]], M.unit[M.row[c]]
        for strategy in ("average", "best_score"):
            r = D.post("/v1/neighbors", {"items": [va, b], "negative": [vc], "k": 10,
                                         "mode": "basket", "strategy": strategy})
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertEqual((body["items"], body["negative"], body["vectors"]),
                             ([b], [], {"items": 1, "negative": 1}))
            wrd.same_ranking(body["neighbors"], M.basket([va, b], 10, [vc], strategy), strategy)
            got = [h["item"] for h in body["neighbors"]]
            ids = [h["item"] for h in D.post("/v1/neighbors", {
                "items": [a, b], "negative": [c], "k": 12, "mode": "basket",
                "strategy": strategy}).json()["neighbors"]]
            self.assertEqual([i for i in got if i not in (a, c)], ids[:len(got) - (a in got) -
                                                                    (c in got)], strategy)
        for bad in ([[1.0] * (M.dim - 1)], [[1.0] * M.dim + ["x"]], [[0.0] * M.dim]):
            r = D.post("/v1/neighbors", {"items": bad, "mode": "basket"})
            self.assertEqual(r.status, 400 if len(bad[0]) != M.dim or "x" in bad[0] else 404, r)
        r = D.post("/v1/neighbors", {"items": [va]})  # lists of each item take ids only
        self.assertEqual(r.status, 400)
        self.assertIn("expected an id", r.json()["error"]["message"])

    def test_neighbors_batch_errors(self):
        for bad in ({}, {"items": []}, {"items": "a"}, {"items": [1]}, {"items": ["a"], "k": 0},
                    {"items": ["a"], "k": 1001}, {"items": ["a"], "k": "3"},
                    {"items": ["a"], "mode": "all"}, {"items": ["a"], "exclude": "b"},
                    {"items": ["a"], "min_score": "x"}, {"items": ["a"], "category": 3}):
            self.error(D.post("/v1/neighbors", bad), 400, "bad_request")
        self.error(D.post("/v1/neighbors", {"items": ["a"] * 51}), 400, "batch_too_large")

    def test_model(self):
        r = D.get("/v1/model")
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["generation"], 1)
        self.assertEqual((body["items"], body["dim"]), (M.n, M.dim))
        self.assertEqual(body["created"], M.created)
        self.assertNotIn("source", body)  # no file paths for anonymous readers
        self.assertTrue(D.get("/v1/admin/status").json()["model_file"].endswith("model-1.wr"))
        self.assertEqual(body["index"]["k"], 100)
        self.assertTrue(body["index"]["precomputed"])
        self.assertGreater(body["index"]["build_seconds"], 0)
        self.assertEqual(body["training"]["trainer"], M.meta["trainer"])
        self.assertGreater(body["training_seconds"], 0)
        self.assertEqual(body["side_info"], {"columns": ["degree", "category"], "rows": M.n,
                                             "types": {"degree": "number",
                                                       "category": "string"},
                                             "unmatched": 0})
        self.assertLessEqual(abs(body["published_at"] - time.time()), 600)

    def test_etag(self):
        path = "/v1/items/%s/neighbors?k=3" % M.ids[0]
        r = D.get(path)
        tag = r.headers["etag"]  # the generation and the model's content
        self.assertRegex(tag, r'^"1-[0-9a-f]{16}"$')
        self.assertEqual(r.headers["cache-control"], "no-cache")
        for inm in (tag, "W/" + tag, '"7", ' + tag, "*"):
            r = D.get(path, headers={"If-None-Match": inm})
            self.assertEqual((r.status, r.body), (304, b""), inm)
            self.assertEqual(r.headers["etag"], tag)
        other = tag[:-2] + ("1" if tag[-2] == "0" else "0") + '"'  # one hex digit off
        for stale in ('"2"', '"1"', other):  # '"1"': the tag of earlier versions
            self.assertEqual(D.get(path, headers={"If-None-Match": stale}).status, 200, stale)
        self.assertEqual(D.get("/v1/model", headers={"If-None-Match": tag}).status, 304)
        # errors are never "not modified"; POST answers carry the tag but are always sent
        r = D.get("/v1/items/nope/neighbors", headers={"If-None-Match": tag})
        self.assertEqual(r.status, 404)
        self.assertNotIn("etag", r.headers)
        r = D.post("/v1/score", {"pairs": [[M.ids[0], M.ids[1]]]}, headers={"If-None-Match": "*"})
        self.assertEqual((r.status, r.headers["etag"]), (200, tag))

    def test_methods_and_routes(self):
        self.error(D.get("/nope"), 404, "not_found")
        self.error(D.get("/v1/item"), 404, "not_found")
        self.error(D.get("/healthz/"), 404, "not_found")
        for method, path, allow in (("DELETE", "/v1/score", "GET, HEAD, POST, OPTIONS"),
                                    ("POST", "/v1/model", "GET, HEAD, OPTIONS"),
                                    ("GET", "/v1/neighbors", "POST, OPTIONS"),
                                    ("PUT", "/v1/items/x/neighbors", "GET, HEAD, OPTIONS")):
            r = D.request(method, path)
            self.error(r, 405, "method_not_allowed")
            self.assertEqual(r.headers["allow"], allow)
        r = D.request("HEAD", "/v1/items/%s/neighbors" % M.ids[0])
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertRegex(r.headers["etag"], r'^"1-[0-9a-f]{16}"$')
        r = D.request("OPTIONS", "/v1/score")
        self.assertEqual(r.status, 204)
        self.assertEqual(r.headers["allow"], "GET, HEAD, POST, OPTIONS")
        self.assertNotIn("access-control-allow-origin", r.headers)
        r = D.get("/healthz", headers={"Origin": "https://a.example"})
        self.assertNotIn("access-control-allow-origin", r.headers)

    def test_metrics(self):
        for _ in range(3):
            D.get("/v1/score?a=%s&b=%s" % (M.ids[0], M.ids[1]))
        D.get("/nope")
        r = D.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain; version=0.0.4"))
        text = r.body.decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        key = 'walkrec_http_requests_total{route="/v1/score",method="GET",code="200"}'
        self.assertGreaterEqual(values[key], 3)
        self.assertGreaterEqual(
            values['walkrec_http_requests_total{route="unmatched",method="GET",code="404"}'], 1)
        h = 'walkrec_http_request_duration_seconds_%s{route="/v1/score",method="GET"%s}'
        self.assertEqual(values[h % ("bucket", ',le="+Inf"')], values[h % ("count", "")])
        self.assertGreaterEqual(values[h % ("count", "")], 3)
        self.assertGreater(values[h % ("sum", "")], 0)
        self.assertEqual(values["walkrec_model_generation"], 1)
        self.assertEqual(values["walkrec_model_items"], M.n)
        self.assertEqual(values["walkrec_ready"], 1)
        self.assertGreater(values["walkrec_index_build_seconds"], 0)
        self.assertGreater(values["walkrec_model_publish_timestamp_seconds"], 1.6e9)


class OtherSettings(unittest.TestCase):
    def test_cors(self):
        model = os.path.join(D.data_dir, "model-1.wr")
        with wrd.Daemon("--model", model, "--cors-origins",
                        "https://a.example,http://b.example:8080") as d:
            path = "/v1/items/%s/neighbors" % M.ids[0]
            r = d.get(path, headers={"Origin": "https://a.example"})
            self.assertEqual(r.headers["access-control-allow-origin"], "https://a.example")
            self.assertEqual(r.headers["vary"], "Origin")
            self.assertEqual(r.headers["access-control-expose-headers"], "ETag")
            r = d.get(path, headers={"Origin": "https://evil.example"})
            self.assertNotIn("access-control-allow-origin", r.headers)
            self.assertEqual(r.headers["vary"], "Origin")
            r = d.request("OPTIONS", "/v1/neighbors", headers={
                "Origin": "http://b.example:8080", "Access-Control-Request-Method": "POST"})
            self.assertEqual(r.status, 204)
            self.assertEqual(r.headers["access-control-allow-origin"], "http://b.example:8080")
            self.assertEqual(r.headers["access-control-allow-methods"], "POST, OPTIONS")
            self.assertIn("Content-Type", r.headers["access-control-allow-headers"])
            self.assertEqual(d.request("OPTIONS", "/nope").status, 404)
        with wrd.Daemon("--model", model, "--cors-origins", "*") as d:
            r = d.get("/v1/model", headers={"Origin": "https://any.example"})
            self.assertEqual(r.headers["access-control-allow-origin"], "*")
            self.assertNotIn("Origin", r.headers.get("vary", ""))

    def test_no_side_information(self):
        # the model alone, without the side file the daemon wrote beside it
        model = os.path.join(wrd.tmpdir(), "plain.wr")
        shutil.copy(os.path.join(D.data_dir, "model-1.wr"), model)
        with wrd.Daemon("--model", model, "--index-k", "5") as d:
            r = d.get("/v1/items/%s/neighbors?category=c0001" % M.ids[0])
            self.assertEqual(r.status, 400)
            self.assertIn("items_file", r.json()["error"]["message"])
            body = d.get("/v1/items/" + M.ids[0]).json()
            self.assertEqual((body["degree"], body["side"]), (None, {}))
            self.assertEqual(d.get("/v1/model").json()["index"]["k"], 5)
            for k in (5, 6, 40):  # lists, then exact scans
                r = d.get("/v1/items/%s/neighbors?k=%d" % (M.ids[2], k))
                wrd.same_ranking(r.json()["neighbors"], M.neighbors(M.ids[2], k), "k=%d" % k)
            # excluding 3 of the 5 precomputed leaves too few for k=4: an exact scan
            excl = [i for i, _ in M.neighbors(M.ids[2], 3)]
            r = d.get("/v1/items/%s/neighbors?k=4&exclude=%s" % (M.ids[2], ",".join(excl)))
            wrd.same_ranking(r.json()["neighbors"], M.neighbors(M.ids[2], 4, exclude=excl),
                             "exhausted list")
        # an items file adds columns; its categories enable the filter
        items = os.path.join(wrd.tmpdir(), "items.tsv")
        with open(items, "w") as f:
            f.write("item\tcategory\ttitle\n%s\tshoes\tRed shoe\n%s\tshoes\tBlue shoe\n"
                    "unknown-item\tshoes\tGhost\n" % (M.ids[0], M.ids[1]))
        with wrd.Daemon("--model", model, "--items-file", items) as d:
            body = d.get("/v1/items/" + M.ids[0]).json()
            self.assertEqual(body["side"], {"category": "shoes", "title": "Red shoe"})
            r = d.get("/v1/items/%s/neighbors?category=shoes" % M.ids[0]).json()
            self.assertEqual([x["item"] for x in r["neighbors"]], [M.ids[1]])
            self.assertEqual(d.get("/v1/model").json()["side_info"]["unmatched"], 1)

    def test_approximate_lists(self):
        """Above exact_index_max_items the lists come from k-means cells built with the
        ann_* settings; longer answers are still exact scans."""
        model = os.path.join(D.data_dir, "model-1.wr")
        with wrd.Daemon("--model", model, "--exact-index-max-items", "1999", "--index-k", "30",
                        "--ann-cells", "10", "--ann-probe", "3", "--rank", "cosine") as d:
            index = d.get("/v1/model").json()["index"]
            self.assertEqual((index["kind"], index["k"], index["precomputed"]), ("approximate", 30, True))
            a = index["approximate"]
            self.assertEqual((a["cells"], a["recall_sample"]), (10, 1000))
            # probe 3 of 10 cells, doubled while the sampled recall stays under 0.98
            self.assertEqual(a["probe"], min(3 << (a["builds"] - 1), 10))
            self.assertGreaterEqual(a["recall_at_10"], 0.98)
            found = 0
            for item in M.ids[:100]:
                got = d.get("/v1/items/%s/neighbors?k=10" % item).json()["neighbors"]
                want = M.neighbors(item, 10)
                found += len({g["item"] for g in got} & {w[0] for w in want})
                for g in got:  # the lists' scores are the pairs' scores
                    pair = d.get("/v1/score?a=%s&b=%s" % (q(item), q(g["item"]))).json()
                    self.assertAlmostEqual(g["score"], pair["score"], places=5)
            self.assertGreaterEqual(found, 980, "recall@10 over 100 items: %d / 1000" % found)
            for item in M.ids[:3]:
                r = d.get("/v1/items/%s/neighbors?k=40" % item)
                wrd.same_ranking(r.json()["neighbors"], M.neighbors(item, 40), "exact " + item)

    def test_evaluation_from_learning_curve(self):
        work = wrd.tmpdir()
        pairs, val = os.path.join(work, "pairs.tsv"), os.path.join(work, "val.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--items", "300", "--pairs", "3000",
                "--categories", "5", "--quiet")
        with open(val, "w") as f:
            f.write("item_a\titem_b\tlabel\nP0000001\tP0000002\t1\nP0000003\tP0000200\t0\n")
        model = os.path.join(work, "m.wr")
        wrd.run(wrd.WALKREC, "train", pairs, "-o", model, "--val", val, "--threads", "1",
                "--dim", "8", "--quiet")
        with wrd.Daemon("--model", model) as d:
            body = d.get("/v1/model").json()
            self.assertEqual(body["evaluation"], body["training"]["learning_curve"][-1])
            self.assertIn("auc_all", body["evaluation"])

    def test_escaped_ids(self):
        ids = ["a/b", "c,d", "e%f", "é+ü", "g?h", "q\"u\\o", "plain"]
        vecs = os.path.join(wrd.tmpdir(), "v.txt")
        with open(vecs, "w") as f:
            f.write("%d 3\n" % len(ids))
            for i, s in enumerate(ids):
                f.write("%s %g %g %g\n" % (s, 1 + i, 2 - i, 0.5 * i))
        model = os.path.join(wrd.tmpdir(), "esc.wr")
        wrd.run(wrd.WALKREC, "import", vecs, "-o", model, "--quiet")
        m = wrd.Model(model)
        with wrd.Daemon("--model", model) as d:
            for s in ids:
                r = d.get("/v1/items/%s/neighbors?k=5&exclude=%s" % (q(s), q("c,d")))
                self.assertEqual(r.status, 200, (s, r))
                self.assertEqual(r.json()["item"], s)
                wrd.same_ranking(r.json()["neighbors"], m.neighbors(s, 5, exclude=["c,d"]), s)
            r = d.get("/v1/score?a=%s&b=%s" % (q("é+ü"), q("a/b")))
            self.assertAlmostEqual(r.json()["score"], m.score("é+ü", "a/b"), places=5)
            # '+' in a query string is a space; in a path it is itself
            plus = urllib.parse.quote("é+ü", safe="+")
            r = d.get("/v1/score?a=%s&b=%s" % (q("a/b"), plus))
            self.assertEqual(r.status, 404)
            self.assertIn("'é ü'", r.json()["error"]["message"])
            self.assertEqual(d.get("/v1/items/%s" % plus).status, 200)

    def test_connection_limits(self):
        model = os.path.join(D.data_dir, "model-1.wr")
        with wrd.Daemon("--model", model, "--connection-limit", "2", "--connection-timeout",
                        "1", "--connection-memory-limit", "16384", "--threads", "1") as d:
            # a URL longer than the connection's memory is refused, the daemon lives on
            r = d.get("/v1/items/%s/neighbors?exclude=%s" % (M.ids[0], "x" * 20000))
            self.assertIn(r.status, (400, 413, 414, 431))
            self.assertEqual(d.get("/healthz").status, 200)
            # two idle connections take the whole limit: a third waits unanswered ...
            idle = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(2)]
            time.sleep(0.2)
            third = socket.create_connection(("127.0.0.1", d.port))
            third.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            third.settimeout(0.4)
            with self.assertRaises(socket.timeout):
                third.recv(100)
            # ... until the idle ones time out (after a second) and are closed
            third.settimeout(10)
            self.assertTrue(third.recv(100).startswith(b"HTTP/1.1 200"))
            third.close()
            for s in idle:
                s.settimeout(5)
                self.assertEqual(s.recv(10), b"")
                s.close()
            self.assertEqual(d.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
