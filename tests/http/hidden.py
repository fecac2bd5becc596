"""hidden.py - hiding, unhiding and deleting items against the real daemon.

An item hidden while a reader keeps querying leaves every kind of answer at once (lists,
exact scans, batches with one parameter set and per query, baskets, a provisional item's
list) with no failed read, while its own list and its pair scores still answer; provisional
items hide too. Hiding is kept in the pair log, so it holds across a restart, a retrain, a
rollback and on a follower reading the trainer's log; unhiding brings the item back; a
deleted item is hidden at once and left out of the next generation's training, and one
ingested again after its delete trains from those later pairs (still hidden)."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402
from retrain import data_dir_with_model, wait_for  # noqa: E402

TOKEN = "hide-token-for-tests"
AUTH = {"Authorization": "Bearer " + TOKEN}
ENV = {"WALKREC_ADMIN_TOKEN": TOKEN}
# Lists of 10 by cosine: k above 10, or a filter that leaves fewer than k in the list, is an
# exact scan of every item.
ARGS = ("--rank", "cosine", "--index-k", "10", "--retrain-min-pairs", "0")


def hits(doc):
    """Every item of every neighbour list of an answer."""
    out = []
    for nb in [doc.get("neighbors")] + [r.get("neighbors") for r in doc.get("results", [])]:
        out += [h["item"] for h in nb or []]
    return out


def cosine_list(d, item, k=10):
    r = d.get("/v1/items/%s/neighbors?k=%d&rank=cosine" % (item, k))
    assert r.status == 200, r
    return [h["item"] for h in r.json()["neighbors"]]


def reads(a, tenth):
    """(method, path, body) of every answer kind about item a, whose 10th neighbour is
    `tenth`."""
    return [
        ("GET", "/v1/items/%s/neighbors?k=5" % a, None),                 # the list
        ("GET", "/v1/items/%s/neighbors?k=20" % a, None),                # k > index_k: a scan
        ("GET", "/v1/items/%s/neighbors?k=10&exclude=%s" % (a, tenth), None),  # filter: scan
        ("GET", "/v1/items/NEW-A/neighbors?k=5", None),                  # a provisional list
        ("POST", "/v1/neighbors", {"items": [a, "P0000777"], "k": 5}),
        ("POST", "/v1/neighbors", {"queries": [{"item": a, "k": 5},
                                               {"item": a, "k": 15, "min_score": -1}]}),
        ("POST", "/v1/neighbors", {"items": [a], "mode": "basket", "k": 5}),
        ("POST", "/v1/neighbors", {"items": [a], "mode": "basket", "strategy": "best_score",
                                   "k": 5}),
    ]


class Reader(threading.Thread):
    """Keeps sending the reads, recording (start time, read, items answered) or a failure."""

    def __init__(self, d, plan):
        super().__init__()
        self.d, self.plan = d, plan
        self.stop = threading.Event()
        self.seen, self.failures = [], []

    def run(self):
        conn = self.d.connection()
        while not self.stop.is_set():
            for i, (method, path, body) in enumerate(self.plan):
                t0 = time.time()
                try:
                    r = self.d.request(method, path, body=body, conn=conn)
                    if r.status != 200:
                        self.failures.append((path, r))
                    else:
                        self.seen.append((t0, i, hits(r.json())))
                except Exception as e:  # a failed read is what this test looks for
                    self.failures.append((path, repr(e)))
                    conn.close()
                    conn = self.d.connection()
        conn.close()

    def rounds_after(self, t):
        return sum(1 for t0, i, _ in self.seen if t0 > t and i == 0)


def change(d, method, path, headers=AUTH):
    r = d.request(method, path, headers=headers)
    assert r.status == 204, (method, path, r)
    return time.time()


def item(d, id_):
    return d.get("/v1/items/" + id_)


def status(d):
    r = d.get("/v1/admin/status", headers=AUTH)
    assert r.status == 200, r
    return r.json()


def retrain(d, runs):
    """A retrain that publishes a new generation (forced when the gate refuses it)."""
    gen = d.get("/readyz").json()["generation"]
    assert d.post("/v1/admin/retrain", {}, headers=AUTH).status == 202
    s = wait_for(lambda: (lambda s: s if s["runs"] >= runs and s["state"] == "idle"
                          else None)(status(d)), 300, "retrain run %d" % runs)
    run = s["last_run"]
    if run["decision"] == "refused":
        r = d.post("/v1/admin/publish?generation=%d" % run["generation"], {}, headers=AUTH)
        assert r.status == 202, r
    else:
        assert run["decision"] == "published", run
    d.wait_ready(generation=run["generation"], timeout=120)
    assert run["generation"] > gen
    return run["generation"]


class Hide(unittest.TestCase):
    def test_hidden_leaves_every_answer_under_load(self):
        data = data_dir_with_model()
        with wrd.Daemon(*ARGS, data_dir=data, env=ENV) as d:
            a = "P0000001"
            top = cosine_list(d, a)
            x, tenth = top[0], top[9]
            # a provisional item whose one partner is a: its vector is a's, its list a's
            r = d.post("/v1/pairs", {"pairs": [{"a": a, "b": "NEW-A", "weight": 1}]},
                       headers=AUTH)
            self.assertEqual(r.status, 202, r)
            wait_for(lambda: item(d, "NEW-A").status == 200, 30, "NEW-A provisional")
            wait_for(lambda: x in cosine_list(d, "NEW-A"), 30, "NEW-A's list")
            plan = reads(a, tenth)
            for method, path, body in plan:  # else the test proves nothing
                r = d.request(method, path, body=body)
                self.assertEqual(r.status, 200, (path, body, r))
                self.assertIn(x, hits(r.json()), (path, body))

            # writes need the token
            self.assertEqual(d.request("PUT", "/v1/items/%s/hidden" % x).status, 401)
            self.assertEqual(d.request("DELETE", "/v1/items/%s" % x).status, 401)
            reader = Reader(d, plan)
            reader.start()
            wait_for(lambda: reader.rounds_after(0) >= 3, 60, "reads before hiding")
            t204 = change(d, "PUT", "/v1/items/%s/hidden" % x)
            wait_for(lambda: reader.rounds_after(t204) >= 5, 60, "reads after hiding")
            reader.stop.set()
            reader.join()
            self.assertEqual(reader.failures, [])
            after = [(t0, plan[i][1], plan[i][2]) for t0, i, got in reader.seen
                     if t0 > t204 and x in got]
            self.assertEqual(after, [], "hidden %s answered after its 204" % x)
            last = max((t0 for t0, _, got in reader.seen if x in got), default=0)
            print("hidden %s: %d reads, 0 failed; %d of the 8 kinds read after the 204, none "
                  "held it; last seen %.3f s before the 204" %
                  (x, len(reader.seen), len({i for t0, i, _ in reader.seen if t0 > t204}),
                   t204 - last), file=sys.stderr)

            # the item says so, and still answers for itself
            self.assertTrue(item(d, x).json()["hidden"])
            self.assertFalse(item(d, a).json()["hidden"])
            r = d.get("/v1/items/%s/neighbors?k=5" % x)
            self.assertEqual((r.status, len(r.json()["neighbors"])), (200, 5))
            r = d.get("/v1/score?a=%s&b=%s" % (a, x))
            self.assertEqual(r.status, 200, r)
            self.assertGreater(r.json()["score"], 0.5)

            # a provisional item hides too
            self.assertIn("NEW-A", cosine_list(d, a))
            change(d, "PUT", "/v1/items/NEW-A/hidden")
            self.assertNotIn("NEW-A", cosine_list(d, a, 20))
            self.assertTrue(item(d, "NEW-A").json()["hidden"])

            # an id no model knows: hidden ahead of its first pair (204), still unknown
            change(d, "PUT", "/v1/items/NOT-YET-1/hidden")
            r = item(d, "NOT-YET-1")
            self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_item"))
            r = d.post("/v1/pairs", {"pairs": [{"a": a, "b": "NOT-YET-1", "weight": 5}]},
                       headers=AUTH)
            self.assertEqual(r.status, 202)
            wait_for(lambda: item(d, "NOT-YET-1").status == 200, 30, "NOT-YET-1 provisional")
            self.assertTrue(item(d, "NOT-YET-1").json()["hidden"])
            self.assertNotIn("NOT-YET-1", cosine_list(d, a, 20))

            metrics = d.get("/metrics").body.decode()
            self.assertIn("\nwalkrec_hidden_items 3\n", metrics)
            self.assertIn('route="/v1/items/{id}/hidden",method="PUT",code="204"', metrics)

            # unhide: back in every answer
            for id_ in (x, "NEW-A", "NOT-YET-1"):
                change(d, "DELETE", "/v1/items/%s/hidden" % id_)
            for method, path, body in plan:
                self.assertIn(x, hits(d.request(method, path, body=body).json()), path)
            self.assertIn("NEW-A", cosine_list(d, a))
            self.assertFalse(item(d, x).json()["hidden"])
            change(d, "DELETE", "/v1/items/%s/hidden" % x)  # twice: still 204
            self.assertIn("\nwalkrec_hidden_items 0\n", d.get("/metrics").body.decode())
            # ids the log cannot hold
            r = d.request("PUT", "/v1/items/a%09b/hidden", headers=AUTH)
            self.assertEqual((r.status, r.json()["error"]["code"]), (400, "bad_request"))
            self.assertEqual(d.request("GET", "/v1/items/%s/hidden" % x).status, 405)


class Durable(unittest.TestCase):
    def test_restart_retrain_rollback_follower_delete(self):
        data = data_dir_with_model()
        a, c = "P0000001", "P0000002"
        with wrd.Daemon(*ARGS, data_dir=data, env=ENV) as d:
            x = cosine_list(d, a)[0]
            z = next(i for i in cosine_list(d, c) if i not in (x, a))
            change(d, "PUT", "/v1/items/%s/hidden" % x)
            # z has pairs in the log before its delete, and in the base pairs
            r = d.post("/v1/pairs", {"pairs": [{"a": z, "b": "P0000005", "weight": 3},
                                               {"a": "P0000006", "b": "P0000007"}]},
                       headers=AUTH)
            self.assertEqual(r.status, 202)
            self.assertIn(z, cosine_list(d, c))
            change(d, "DELETE", "/v1/items/%s" % z)
            self.assertNotIn(z, cosine_list(d, c, 20))  # hidden at once
            self.assertTrue(item(d, z).json()["hidden"])
            # w is deleted too, then ingested again: the pairs after its delete train
            w = next(i for i in cosine_list(d, c) if i not in (x, a, z))
            change(d, "DELETE", "/v1/items/%s" % w)
            r = d.post("/v1/pairs", {"pairs": [{"a": w, "b": "P00000%02d" % i, "weight": 2}
                                               for i in range(10, 16)]}, headers=AUTH)
            self.assertEqual(r.status, 202)
            gen = retrain(d, 1)
            # the new generation was trained without z: it does not know it at all
            r = item(d, z)
            self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_item"), r)
            self.assertEqual(d.get("/v1/items?prefix=%s" % z).json()["items"], [])
            r = item(d, w)  # back in the model from its later pairs, and still hidden
            self.assertEqual(r.status, 200, r)
            self.assertNotIn("provisional", r.json())
            self.assertTrue(r.json()["hidden"])
            self.assertNotIn(w, cosine_list(d, c, 20))
            self.assertNotIn(z, cosine_list(d, c, 20))
            # x is in it, and still hidden
            self.assertTrue(item(d, x).json()["hidden"])
            self.assertNotIn(x, cosine_list(d, a, 20))
            self.assertIn("training leaves out", d.log())
            # an instant rollback to generation 1 (which knows z): both stay hidden
            r = d.post("/v1/admin/rollback", {}, headers=AUTH)
            self.assertEqual((r.status, r.json()["generation"]), (200, 1), r)
            self.assertTrue(item(d, x).json()["hidden"])
            self.assertTrue(item(d, z).json()["hidden"])
            self.assertNotIn(x, cosine_list(d, a, 20))
            self.assertNotIn(z, cosine_list(d, c, 20))
            r = d.post("/v1/admin/publish?generation=%d" % gen, {}, headers=AUTH)
            self.assertEqual(r.status, 202, r)
            d.wait_ready(generation=gen, timeout=120)
        with wrd.Daemon(*ARGS, data_dir=data, env=ENV) as d:  # a restart
            self.assertEqual(d.wait_ready()["generation"], gen)
            self.assertTrue(item(d, x).json()["hidden"])
            self.assertNotIn(x, cosine_list(d, a, 20))
            self.assertEqual(item(d, z).status, 404)
            r = d.post("/v1/admin/rollback", {}, headers=AUTH)  # queued after a restart
            self.assertEqual((r.status, r.json()["generation"]), (202, 1), r)
            d.wait_ready(generation=1, timeout=120)
            # generation 1 knows both: both stay hidden
            self.assertTrue(item(d, x).json()["hidden"])
            self.assertTrue(item(d, z).json()["hidden"])
            self.assertNotIn(x, cosine_list(d, a, 20))
            self.assertNotIn(z, cosine_list(d, c, 20))
            with wrd.Daemon("--follow", data, "--follow-interval", "1", *ARGS[:4]) as f:
                self.assertEqual(f.wait_ready()["generation"], 1)
                self.assertTrue(item(f, x).json()["hidden"])
                self.assertNotIn(x, cosine_list(f, a, 20))
                self.assertNotIn(z, cosine_list(f, c, 20))
                r = f.request("PUT", "/v1/items/%s/hidden" % a, headers=AUTH)
                self.assertEqual((r.status, r.json()["error"]["code"]), (409, "follower"))
                # a hide and an unhide on the trainer reach the follower through the log
                y = cosine_list(d, c)[0]
                path = "/v1/items/%s/neighbors?k=5&rank=cosine" % c
                tag = d.get(path).headers["etag"]
                t0 = change(d, "PUT", "/v1/items/%s/hidden" % y)
                self.assertNotIn(y, cosine_list(d, c, 20))
                # a client's cached answer is stale now: its tag no longer matches
                r = d.get(path, headers={"If-None-Match": tag})
                self.assertEqual(r.status, 200, r)
                self.assertNotEqual(r.headers["etag"], tag)
                self.assertEqual(d.get(path, headers={"If-None-Match": r.headers["etag"]}).status,
                                 304)
                wait_for(lambda: y not in cosine_list(f, c, 20), 30, "the follower hiding y")
                took = time.time() - t0
                change(d, "DELETE", "/v1/items/%s/hidden" % x)
                self.assertIn(x, cosine_list(d, a))
                wait_for(lambda: x in cosine_list(f, a), 30, "the follower unhiding x")
                self.assertFalse(item(f, x).json()["hidden"])
                print("a hide reached the follower (follow_interval 1 s) in %.2f s" % took,
                      file=sys.stderr)
        with wrd.Daemon(*ARGS, data_dir=data, env=ENV) as d:  # after the rollback, restarted
            self.assertEqual(d.wait_ready()["generation"], 1)
            self.assertFalse(item(d, x).json()["hidden"])
            self.assertIn(x, cosine_list(d, a))
            self.assertTrue(item(d, z).json()["hidden"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
