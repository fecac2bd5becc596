"""reload.py - publishing a new model while requests are in flight.

SIGHUP makes walkrecd load the newest model-<generation>.wr in its data directory, build
its index off to the side and publish it with one pointer swap. Client threads hammer the
daemon throughout: no request may fail, every answer must be consistent with itself (body
generation = ETag), each client sees the generation change once, never back, and the
answers after the swap are the new model's. A model file that does not load leaves the old
one serving."""

import os
import random
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402


class Hammer(threading.Thread):
    """Keep-alive client sending neighbour and score requests until stopped."""

    def __init__(self, d, ids, seed):
        super().__init__()
        self.d, self.ids, self.rng = d, ids, random.Random(seed)
        self.stop = threading.Event()
        self.count, self.failures, self.generations = 0, [], []

    def run(self):
        conn = self.d.connection()
        while not self.stop.is_set():
            a, b = self.rng.choice(self.ids), self.rng.choice(self.ids)
            path = (self.rng.choice(["/v1/items/%s/neighbors?k=10" % a,
                                     "/v1/items/%s/neighbors?k=150" % a])
                    if self.count % 2 else "/v1/score?a=%s&b=%s" % (a, b))
            try:
                r = self.d.request("GET", path, conn=conn)
                g = r.json()["generation"]
                if r.status != 200 or not r.headers["etag"].startswith('"%d-' % g):
                    self.failures.append((path, r))
                if not self.generations or self.generations[-1] != g:
                    self.generations.append(g)
            except Exception as e:  # a failed request is what this test looks for
                self.failures.append((path, repr(e)))
                conn.close()
                conn = self.d.connection()
            self.count += 1
        conn.close()


class Reload(unittest.TestCase):
    def test_publish_under_load(self):
        work = wrd.tmpdir()
        data = os.path.join(work, "var")
        os.mkdir(data)
        pairs = os.path.join(work, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
        train = [wrd.WALKREC, "train", pairs, "--threads", "1", "--dim", "32", "--quiet"]
        wrd.run(*train, "-o", os.path.join(data, "model-1.wr"), "--seed", "1")
        d = wrd.Daemon("--threads", "2", "--rank", "cosine", data_dir=data)
        m1 = wrd.Model(os.path.join(data, "model-1.wr"))
        hammers = [Hammer(d, m1.ids, seed) for seed in range(3)]
        for h in hammers:
            h.start()
        try:
            time.sleep(0.5)
            # written under a temporary name and renamed: never seen half-written
            wrd.run(*train, "-o", os.path.join(data, "model-2.wr"), "--seed", "2")
            d.proc.send_signal(signal.SIGHUP)
            d.wait_ready(60, generation=2)
            time.sleep(0.5)
        finally:
            for h in hammers:
                h.stop.set()
                h.join(30)
        total = sum(h.count for h in hammers)
        failures = [f for h in hammers for f in h.failures]
        self.assertEqual(failures, [], "%d of %d requests failed" % (len(failures), total))
        print("%d requests by %d clients while generation 2 was published" %
              (total, len(hammers)), file=sys.stderr)
        for h in hammers:
            self.assertEqual(h.generations, [1, 2], "generations seen by one client")
        m2 = wrd.Model(os.path.join(data, "model-2.wr"))
        item = m2.ids[17]
        r = d.get("/v1/items/%s/neighbors?k=10" % item)
        wrd.same_ranking(r.json()["neighbors"], m2.neighbors(item, 10), "after the swap")
        self.assertNotEqual([x["item"] for x in r.json()["neighbors"]],
                            [i for i, _ in m1.neighbors(item, 10)])
        metrics = d.get("/metrics").body.decode()
        self.assertIn("walkrec_model_generation 2\n", metrics)
        self.assertIn("walkrec_model_publishes_total 2\n", metrics)
        self.assertIn("SIGHUP: reloading", d.log())

        # a newest file that does not load: the old model keeps serving
        with open(os.path.join(data, "model-3.wr"), "wb") as f:
            f.write(b"not a model")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        while "reload failed" not in d.log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("reload failed, still serving generation 2", d.log())
        self.assertEqual(d.get("/readyz").json()["generation"], 2)
        self.assertEqual(d.get("/v1/items/%s/neighbors" % item).status, 200)
        self.assertEqual(d.stop(), 0, d.log())

    def test_reload_model_flag(self):
        # --model FILE not named model-N.wr: each reload is the next generation
        work = wrd.tmpdir()
        pairs = os.path.join(work, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--items", "200", "--pairs", "2000",
                "--categories", "4", "--quiet")
        model = os.path.join(work, "current.wr")
        wrd.run(wrd.WALKREC, "train", pairs, "-o", model, "--threads", "1", "--dim", "8",
                "--quiet")
        with wrd.Daemon("--model", model) as d:
            self.assertEqual(d.get("/readyz").json()["generation"], 1)
            d.proc.send_signal(signal.SIGHUP)
            d.wait_ready(30, generation=2)
            self.assertEqual(d.get("/v1/admin/status").json()["model_file"], model)


if __name__ == "__main__":
    unittest.main(verbosity=2)
