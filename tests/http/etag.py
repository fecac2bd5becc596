"""etag.py - ETags name the content: the generation, the model's content and, for answers
with provisional items, the overlay's version, so that a tag of other content never gets
304.

Each way a tag made of the generation alone collided is tried: another data directory with
another model at the same generation (also two daemons side by side), a switched --model,
a SIGHUP reload of another file at the same generation, another items file; and an answer
with provisional items after the overlay changed. The same content keeps its tag across a
restart, so caches keep working."""

import os
import shutil
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

PATH = "/v1/items/P0000001/neighbors?k=5"
A = B = ITEMS = None  # two models of the same pairs (other seeds), an items file


def setUpModule():
    global A, B, ITEMS
    work = wrd.tmpdir()
    pairs, ITEMS = os.path.join(work, "pairs.tsv"), os.path.join(work, "items.tsv")
    wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--items-out", ITEMS, "--quiet")
    A, B = os.path.join(work, "a.wr"), os.path.join(work, "b.wr")
    wrd.small_model(A, "--seed", "1", pairs=pairs)
    wrd.small_model(B, "--seed", "2", pairs=pairs)


def data_dir(model):
    d = wrd.tmpdir()
    shutil.copy(model, os.path.join(d, "model-1.wr"))
    return d


def tag(d, path=PATH):
    r = d.get(path)
    assert r.status == 200, r
    return r.headers["etag"]


class Collisions(unittest.TestCase):
    def differ(self, old, new, t_old, what):
        """new's tag differs from old's, and old's tag is no match for new's content."""
        t_new = tag(new)
        self.assertNotEqual(t_old, t_new, what)
        self.assertEqual(new.get(PATH, headers={"If-None-Match": t_old}).status, 200, what)
        self.assertEqual(new.get(PATH, headers={"If-None-Match": t_new}).status, 304, what)
        return t_new

    def test_two_daemons_same_generation(self):
        a, b = wrd.Daemon(data_dir=data_dir(A)), wrd.Daemon(data_dir=data_dir(B))
        try:
            ta = tag(a)
            self.assertEqual(a.get("/readyz").json()["generation"],
                             b.get("/readyz").json()["generation"])
            self.differ(a, b, ta, "another data directory, another model, generation 1")
            self.assertNotEqual(tag(a, "/v1/model"), tag(b, "/v1/model"))
        finally:
            a.stop()
            b.stop()

    def test_same_content_same_tag(self):
        d = data_dir(A)
        with wrd.Daemon(data_dir=d) as a:
            ta = tag(a)
        with wrd.Daemon(data_dir=d) as a:
            self.assertEqual(tag(a), ta)
            self.assertEqual(a.get(PATH, headers={"If-None-Match": ta}).status, 304)

    def test_switched_model(self):
        d = wrd.tmpdir()
        with wrd.Daemon("--model", A, data_dir=d) as a:
            ta = tag(a)
            gen = a.get("/readyz").json()["generation"]
        with wrd.Daemon("--model", B, data_dir=d) as b:
            self.assertEqual(b.get("/readyz").json()["generation"], gen)
            self.differ(a, b, ta, "--model switched")

    def test_sighup_reload_same_generation(self):
        d = data_dir(A)
        with wrd.Daemon(data_dir=d) as a:
            ta = tag(a)
            tmp = os.path.join(d, "incoming")
            shutil.copy(B, tmp)
            os.replace(tmp, os.path.join(d, "model-1.wr"))
            a.proc.send_signal(signal.SIGHUP)
            end = time.time() + 60
            while a.log().count("published generation 1") < 2:
                self.assertLess(time.time(), end, a.log())
                time.sleep(0.05)
            self.assertEqual(a.get("/readyz").json()["generation"], 1)
            self.differ(a, a, ta, "SIGHUP reload of another file at generation 1")

    def test_items_file(self):
        d = data_dir(A)
        with wrd.Daemon(data_dir=d) as a:
            ta = tag(a, "/v1/items/P0000001")
        with wrd.Daemon("--items-file", ITEMS, data_dir=d) as b:
            tb = tag(b, "/v1/items/P0000001")
            self.assertNotEqual(ta, tb)
            r = b.get("/v1/items/P0000001", headers={"If-None-Match": ta})
            self.assertEqual(r.status, 200)
            self.assertIn("category", r.json()["side"])

    def test_provisional_answers(self):
        with wrd.Daemon("--retrain-min-pairs", "0", "--retrain-interval", "0",
                        data_dir=data_dir(A)) as d:
            t_model = tag(d)

            def served(item):
                end = time.time() + 10
                while time.time() < end:
                    r = d.get("/v1/items/%s/neighbors?k=5" % item)
                    if r.status == 200:
                        return r
                    time.sleep(0.02)
                raise AssertionError("%s never served" % item)

            pair = {"pairs": [{"a": "P0000001", "b": "NEW-1", "weight": 2}]}
            self.assertEqual(d.post("/v1/pairs", pair).status, 202)
            t1 = served("NEW-1").headers["etag"]
            self.assertTrue(t1.startswith(t_model[:-1] + "-"), (t1, t_model))
            path = "/v1/items/NEW-1/neighbors?k=5"
            self.assertEqual(d.get(path, headers={"If-None-Match": t1}).status, 304)
            # another ingested item: a new overlay, the provisional answers' tags change
            pair = {"pairs": [{"a": "P0000002", "b": "NEW-2"}, {"a": "NEW-1", "b": "P0000003"}]}
            self.assertEqual(d.post("/v1/pairs", pair).status, 202)
            served("NEW-2")
            r = d.get(path, headers={"If-None-Match": t1})
            self.assertEqual(r.status, 200, "a stale provisional tag got 304")
            self.assertNotEqual(r.headers["etag"], t1)
            for p in ("/v1/items/NEW-1", "/v1/score?a=NEW-1&b=P0000001"):
                self.assertRegex(d.get(p).headers["etag"], r'^"1-[0-9a-f]{16}-[0-9a-f]+"$', p)
            # a model item's list may take in provisional items: its tag names the overlay
            self.assertRegex(tag(d), r'^"1-[0-9a-f]{16}-[0-9a-f]+"$')
            # answers that cannot hold provisional items keep the model's tag
            self.assertEqual(tag(d, "/v1/score?a=P0000001&b=P0000002")[:len(t_model) - 1],
                             t_model[:-1])
            self.assertNotRegex(tag(d, "/v1/score?a=P0000001&b=P0000002"), r'-.*-')


if __name__ == "__main__":
    unittest.main(verbosity=2)
