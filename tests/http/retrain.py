"""retrain.py - online learning against the real daemon: ingestion into the pair log, access
control, retraining under load, the quality gate, forced publication, rollback, restarts
after kill -9, and a follower picking up a trainer's generations.

The pair log's format is read here independently of walkrecd (include/walkrec/wal.h), so
"every acknowledged pair is in the log" is checked on the file itself."""

import os
import random
import shutil
import signal
import struct
import sys
import threading
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402
from reload import Hammer  # noqa: E402

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": "Bearer " + TOKEN}


def read_wal(path):
    """Every pair of every whole record, in order, as (a, b, weight); checks every CRC."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"WRPAIRS\n", data[:16]
    assert struct.unpack_from("<I", data, 12)[0] == zlib.crc32(data[:12])
    pairs, off = [], 16
    while off + 24 <= len(data):
        crc, length, at, _durable = struct.unpack_from("<IIQQ", data, off)
        end = off + 24 + length
        if end > len(data) or zlib.crc32(data[off + 4:end]) != crc or at != off:
            break  # a torn tail: walkrecd cuts it at the next start
        (n,) = struct.unpack_from("<I", data, off + 24)
        p = off + 28
        for _ in range(n):
            alen, blen, w = struct.unpack_from("<HHf", data, p)
            p += 8
            a, b = data[p:p + alen].decode(), data[p + alen:p + alen + blen].decode()
            p += alen + blen
            pairs.append((a, b, w))
        off = end
    return pairs


def status(d, headers=None):
    r = d.get("/v1/admin/status", headers=headers)
    assert r.status == 200, r
    return r.json()


def wait_for(pred, timeout=120, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def wait_run(d, runs, timeout=180):
    return wait_for(lambda: (lambda s: s if s["runs"] >= runs and s["state"] == "idle"
                             else None)(status(d)), timeout, "retraining run %d" % runs)


def answers(d, ids):
    """Raw bodies of neighbour and score requests: what a rollback must restore exactly."""
    out = []
    for a in ids:
        out.append(d.get("/v1/items/%s/neighbors?k=10" % a).body)
        out.append(d.get("/v1/score?a=%s&b=%s" % (a, ids[0])).body)
    return out


# A model trained once by the CLI, copied into data directories that need a quick start.
_MODEL = None


def quick_model():
    global _MODEL
    if _MODEL is None:
        work = wrd.tmpdir()
        pairs = os.path.join(work, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
        _MODEL = os.path.join(work, "model-1.wr")
        wrd.run(wrd.WALKREC, "train", pairs, "-o", _MODEL, "--dim", "16", "--epochs", "1",
                "--threads", "1", "--quiet")
    return _MODEL


def data_dir_with_model():
    data = os.path.join(wrd.tmpdir(), "var")
    os.mkdir(data)
    shutil.copy(quick_model(), os.path.join(data, "model-1.wr"))
    return data


class Ingestion(unittest.TestCase):
    def test_batches(self):
        data = data_dir_with_model()
        with wrd.Daemon("--retrain-min-pairs", "0", data_dir=data) as d:
            log0 = status(d)["log"]
            good = {"pairs": [{"a": "P0000001", "b": "NEW-1", "weight": 2.5},
                              {"a": "P0000002", "b": "NEW-1", "relationship": "also_viewed"},
                              {"a": "P0000003", "b": "NEW-2"}]}
            bad_entries = [
                ({"a": "x", "b": "y", "weight": -1}, "weight"),
                ({"a": "x", "b": "y", "weight": "1"}, "weight"),
                ({"a": "x", "b": "y", "relationship": "liked"}, "relationship"),
                ({"a": "x", "b": "y", "weight": 1, "relationship": "also_bought"}, "not both"),
                ({"a": "", "b": "y"}, ""),
                ({"a": "x\ty", "b": "y"}, ""),
                ({"a": "x" * 513, "b": "y"}, ""),
                ({"a": 7, "b": "y"}, "string"),
                ("x", "object"),
            ]
            for entry, words in bad_entries:
                body = {"pairs": good["pairs"] + [entry] + good["pairs"]}
                r = d.post("/v1/pairs", body)
                self.assertEqual(r.status, 400, (entry, r))
                msg = r.json()["error"]["message"]
                self.assertIn("pairs[3]", msg, entry)
                self.assertIn(words, msg, entry)
                self.assertIn("nothing was stored", msg)
            self.assertEqual(status(d)["log"], log0, "a rejected batch changed the log")
            for body in ({}, {"pairs": []}, {"pairs": "x"}):
                self.assertEqual(d.post("/v1/pairs", body).status, 400, body)
            r = d.post("/v1/pairs", {"pairs": [{"a": "a", "b": "b"}] * 1001})
            self.assertEqual((r.status, r.json()["error"]["code"]), (400, "batch_too_large"))

            r = d.post("/v1/pairs", good)
            self.assertEqual(r.status, 202, r)
            doc = r.json()
            self.assertEqual(doc["accepted"], 3)
            self.assertEqual(doc["pending_pairs"], 3)
            self.assertGreater(doc["position"], log0["position"])
            st = status(d)["log"]
            self.assertEqual((st["pairs"], st["position"]), (3, doc["position"]))
            wal = os.path.join(data, "pairs.wal")
        self.assertEqual(read_wal(wal), [("P0000001", "NEW-1", 2.5), ("P0000002", "NEW-1", 0.5),
                                         ("P0000003", "NEW-2", 1.0)])
        with wrd.Daemon(data_dir=data) as d:  # the log survives a restart
            self.assertEqual(status(d)["log"]["pairs"], 3)

    def test_kill9_during_ingestion(self):
        """kill -9 at random moments while clients ingest: after each restart the log holds
        every acknowledged batch, whole, and the daemon serves."""
        data = data_dir_with_model()
        rng = random.Random(7)
        acked = []
        for round_ in range(20):
            d = wrd.Daemon("--retrain-min-pairs", "0", "--retrain-interval", "0",
                           data_dir=data)
            stop = threading.Event()

            def client(cid):
                conn = d.connection(timeout=5)
                n = 0
                while not stop.is_set():
                    batch = [("r%dc%dn%d" % (round_, cid, n), "P%07d" % (1 + (n + j) % 2000),
                              float(1 + j)) for j in range(1 + n % 5)]
                    body = {"pairs": [{"a": a, "b": b, "weight": w} for a, b, w in batch]}
                    try:
                        r = d.request("POST", "/v1/pairs", body=body, conn=conn)
                    except Exception:
                        conn.close()
                        return  # the daemon died under us
                    if r.status == 202:
                        acked.extend(batch)
                    n += 1
                conn.close()

            threads = [threading.Thread(target=client, args=(c,)) for c in range(3)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.4))
            # at least one acknowledged batch per round, however loaded the machine
            end, n = time.time() + 30, len(acked)
            while len(acked) == n and time.time() < end:
                time.sleep(0.01)
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
            stop.set()
            for t in threads:
                t.join()
        with wrd.Daemon(data_dir=data) as d:
            self.assertEqual(d.get("/v1/items/P0000001/neighbors?k=3").status, 200)
            stored = read_wal(os.path.join(data, "pairs.wal"))
            self.assertEqual(status(d)["log"]["pairs"], len(stored))
        have = set(stored)
        missing = [p for p in acked if p not in have]
        self.assertGreaterEqual(len(acked), 20)
        self.assertEqual(missing, [], "acknowledged pairs lost")
        print("kill -9 x20: %d acknowledged pairs, %d stored" % (len(acked), len(stored)),
              file=sys.stderr)


class Provisional(unittest.TestCase):
    def test_new_item_served_within_a_second_then_placed(self):
        data = data_dir_with_model()
        with wrd.Daemon("--retrain-min-pairs", "0", data_dir=data) as d:
            self.assertEqual(d.get("/v1/items/BRAND-NEW/neighbors").status, 404)
            t0 = time.time()
            body = {"pairs": [{"a": "P0000001", "b": "BRAND-NEW", "weight": 2},
                              {"a": "P0000002", "b": "BRAND-NEW", "weight": 1},
                              {"a": "BRAND-NEW", "b": "OTHER-NEW"}]}
            self.assertEqual(d.post("/v1/pairs", body).status, 202)
            r = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
                d.get("/v1/items/BRAND-NEW/neighbors?k=5")), 5, "provisional neighbours")
            took = time.time() - t0
            print("new item: provisional neighbours served %.3f s after its POST" % took,
                  file=sys.stderr)
            self.assertLess(took, 1.0)
            doc = r.json()
            self.assertTrue(doc["provisional"])
            # the overlay's version is part of the tag of an answer with provisional items
            self.assertRegex(r.headers["etag"], r'^"\d+-[0-9a-f]{16}-[0-9a-f]+"$')
            self.assertEqual(len(doc["neighbors"]), 5)
            item = d.get("/v1/items/BRAND-NEW").json()
            self.assertEqual((item["provisional"], item["partners"]), (True, 2))
            # its vector is the normalised weighted mean of its partners' unit vectors
            s1 = d.get("/v1/score?a=BRAND-NEW&b=P0000001").json()
            self.assertEqual(s1["provisional"], {"a": True, "b": False})
            self.assertGreater(s1["score"], 0.3)
            # an item whose only partner is itself new has no vector yet
            self.assertEqual(d.get("/v1/items/OTHER-NEW/neighbors").status, 404)
            self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
            wait_run(d, 1)
            doc = d.get("/v1/items/BRAND-NEW/neighbors?k=5").json()
            self.assertEqual(doc["generation"], 2)
            self.assertNotIn("provisional", doc)


class Access(unittest.TestCase):
    def test_token(self):
        data = data_dir_with_model()
        with wrd.Daemon(data_dir=data, env={"WALKREC_ADMIN_TOKEN": TOKEN}) as d:
            body = {"pairs": [{"a": "P0000001", "b": "P0000002"}]}
            for headers in ({}, {"Authorization": "Bearer wrong"},
                            {"Authorization": "Bearer " + TOKEN + "x"},
                            {"Authorization": "Basic " + TOKEN}):
                r = d.post("/v1/pairs", body, headers=headers)
                self.assertEqual(r.status, 401, headers)
                self.assertEqual(r.json()["error"]["code"], "unauthorized")
                self.assertIn("Bearer", r.headers["www-authenticate"])
                self.assertEqual(d.get("/v1/admin/status", headers=headers).status, 401)
            self.assertEqual(d.post("/v1/pairs", body, headers=AUTH).status, 202)
            self.assertEqual(status(d, AUTH)["log"]["pairs"], 1)
            self.assertEqual(d.get("/v1/items/P0000001/neighbors").status, 200)  # reads open
            self.assertNotIn(TOKEN, d.log())
        with wrd.Daemon("--protect-reads", "1", data_dir=data,
                        env={"WALKREC_ADMIN_TOKEN": TOKEN}) as d:
            self.assertEqual(d.get("/v1/items/P0000001/neighbors").status, 401)
            self.assertEqual(d.get("/v1/items/P0000001/neighbors", headers=AUTH).status, 200)
            self.assertEqual(d.get("/healthz").status, 200)
            self.assertEqual(d.get("/metrics").status, 200)

    def test_token_file_and_refusals(self):
        work = wrd.tmpdir()
        tok = os.path.join(work, "token")
        with open(tok, "w") as f:
            f.write("  %s\n" % TOKEN)
        data = data_dir_with_model()
        with wrd.Daemon("--admin-token-file", tok, data_dir=data) as d:
            self.assertEqual(d.post("/v1/admin/retrain", {}).status, 401)
            _, out, _ = wrd.run(wrd.WALKRECD, "--admin-token-file", tok, "--print-config")
            self.assertNotIn(TOKEN, out)
        code, _, err = wrd.run(wrd.WALKRECD, "--bind", "0.0.0.0", "--port", "0", "--data-dir",
                               data, check=False)
        self.assertEqual(code, 2)
        self.assertIn("not a loopback address", err)
        code, _, err = wrd.run(wrd.WALKRECD, "--protect-reads", "1", "--data-dir", data,
                               check=False)
        self.assertEqual(code, 2)
        self.assertIn("needs read keys (read_keys_file) or an admin token", err)

    def test_read_keys(self):
        """Read keys read and nothing else; the admin token still reads; wrong and missing
        keys are told apart; /metrics counts requests per key by line; SIGHUP reads the
        file again; a bad file stops the start."""
        work = wrd.tmpdir()
        keys = os.path.join(work, "read-keys")
        k1, k2, k3 = "reader-one-0123456789", "reader-two-0123456789", "reader-three-012345"
        with open(keys, "w") as f:
            f.write("# the shop's product pages\n%s\n\n  %s  \n" % (k1, k2))
        data = data_dir_with_model()
        nb = "/v1/items/P0000001/neighbors?k=3"
        body = {"pairs": [{"a": "P0000001", "b": "P0000002"}]}
        with wrd.Daemon("--protect-reads", "1", "--read-keys-file", keys, data_dir=data,
                        env={"WALKREC_ADMIN_TOKEN": TOKEN}) as d:
            bearer = lambda k: {"Authorization": "Bearer " + k}  # noqa: E731
            r = d.get(nb)
            self.assertEqual(r.status, 401)
            self.assertIn("needs the header", r.json()["error"]["message"])
            r = d.get(nb, headers=bearer(k1 + "x"))
            self.assertEqual(r.status, 401)
            self.assertIn("is not a read key or the admin token", r.json()["error"]["message"])
            for k in (k1, k2, TOKEN):
                self.assertEqual(d.get(nb, headers=bearer(k)).status, 200, k)
            self.assertEqual(d.post("/v1/score", {"pairs": [["P0000001", "P0000002"]]},
                                    headers=bearer(k2)).status, 200)
            # a read key writes nothing: not pairs, not a retrain, a publish or a rollback
            for path in ("/v1/pairs", "/v1/admin/retrain", "/v1/admin/publish?generation=1",
                         "/v1/admin/rollback"):
                r = d.post(path, body if path == "/v1/pairs" else None, headers=bearer(k1))
                self.assertEqual(r.status, 401, path)
                self.assertIn("is not the admin token", r.json()["error"]["message"])
            self.assertEqual(d.get("/v1/admin/status", headers=bearer(k1)).status, 401)
            self.assertEqual(status(d, AUTH)["log"]["pairs"], 0)
            metrics = d.get("/metrics").body.decode()
            self.assertIn('walkrec_read_key_requests_total{key="1"} 1', metrics)
            self.assertIn('walkrec_read_key_requests_total{key="2"} 2', metrics)
            self.assertNotIn(k1, d.log() + metrics)
            # SIGHUP: k3 replaces k1
            with open(keys, "w") as f:
                f.write("%s\n%s\n" % (k3, k2))
            d.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: d.get(nb, headers=bearer(k3)).status == 200, 30, "k3 accepted")
            self.assertEqual(d.get(nb, headers=bearer(k1)).status, 401)
            # a file SIGHUP cannot read keeps the keys there were
            with open(keys, "w") as f:
                f.write("short\n")
            d.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "the read keys before stay" in d.log(), 30, "bad file logged")
            self.assertEqual(d.get(nb, headers=bearer(k3)).status, 200)
            self.assertNotIn("short", d.log().split("SIGHUP")[-1].replace("shorter", ""))
        code, _, err = wrd.run(wrd.WALKRECD, "--protect-reads", "1", "--read-keys-file", keys,
                               "--data-dir", data, "--port", "0", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("read_keys_file %s:1: a key is 16 bytes or more" % keys, err)


class Retraining(unittest.TestCase):
    def test_retrain_gate_publish_rollback(self):
        """The daemon trains generation 1 itself (on the built-in catalogue); a retrain under
        load publishes generation 2 with no failed read; rollback restores generation 1's
        answers byte for byte, also across a restart; a candidate with untrained vectors is
        refused by the gate and kept, and a forced publication serves it."""
        work = wrd.tmpdir()
        data = os.path.join(work, "var")
        ids = ["P%07d" % i for i in (1, 2, 3, 50, 400, 1999)]
        with wrd.Daemon("--retrain-min-pairs", "20", data_dir=data) as d:
            self.assertEqual(d.wait_ready()["generation"], 1)
            first = answers(d, ids)
            hammers = [Hammer(d, ids, seed) for seed in range(2)]
            for h in hammers:
                h.start()
            batch = [{"a": "P%07d" % (1 + i), "b": "P%07d" % (1001 + i), "weight": 1}
                     for i in range(25)]
            self.assertEqual(d.post("/v1/pairs", {"pairs": batch}).status, 202)
            s = wait_run(d, 1)
            for h in hammers:
                h.stop.set()
            for h in hammers:
                h.join()
            run = s["last_run"]
            self.assertEqual(run["trigger"], "new pairs")
            self.assertEqual(run["decision"], "published", run)
            self.assertEqual(s["generation"], 2)
            for key in ("auc_all", "auc_seen", "recall_at_10"):
                self.assertGreater(run["candidate"][key], 0)
                self.assertGreater(run["live"][key], 0)
            # churn: the served lists of both generations over every item both know
            self.assertTrue(0 <= run["overlap_at_10"] <= 1)
            self.assertTrue(0 <= run["rbo_at_10"] <= 1)
            self.assertAlmostEqual(run["churn_at_10"], 1 - run["overlap_at_10"])
            self.assertEqual((run["churn_items"], run["churn_sampled"]), (2000, False), run)
            self.assertEqual(run["gate_max_churn"], 1)
            metrics = dict(l.split(" ") for l in d.get("/metrics").body.decode().splitlines()
                           if l.startswith("walkrec_gate_"))
            self.assertAlmostEqual(float(metrics["walkrec_gate_overlap_at_10"]),
                                   run["overlap_at_10"], places=9)
            self.assertAlmostEqual(float(metrics["walkrec_gate_rbo_at_10"]), run["rbo_at_10"],
                                   places=9)
            self.assertEqual(sum(h.count for h in hammers) > 0, True)
            self.assertEqual([f for h in hammers for f in h.failures], [])
            print("retrain under load: %d reads, 0 failed; candidate AUC %.4f vs live %.4f, "
                  "overlap@10 %.3f, %.1f s" % (sum(h.count for h in hammers),
                                               run["candidate"]["auc_all"],
                                               run["live"]["auc_all"], run["overlap_at_10"],
                                               run["seconds"]), file=sys.stderr)
            self.assertNotEqual(answers(d, ids), first)
            # generation 1 chose its edge weighting on its slice; the retrain kept it
            m1 = wrd.Model(os.path.join(data, "model-1.wr")).meta
            m2 = wrd.Model(os.path.join(data, "model-2.wr")).meta
            choice = m1["edge_weight_choice"]
            self.assertEqual(choice["chosen"], m1["edge_weight"])
            self.assertEqual(set(choice["slice_cosine_auc"]), {"lift", "raw"})
            self.assertEqual(m2["edge_weight"], m1["edge_weight"])
            self.assertNotIn("edge_weight_choice", m2)

            r = d.post("/v1/admin/rollback", {})
            self.assertEqual((r.status, r.json()), (200, {"generation": 1, "queued": False}))
            self.assertEqual(answers(d, ids), first, "rollback did not restore generation 1")
        with wrd.Daemon("--retrain-mode", "scratch", "--retrain-epochs", "0",
                        "--keep-generations", "2", data_dir=data) as d:
            self.assertEqual(d.wait_ready()["generation"], 1)  # CURRENT survived the restart
            self.assertEqual(answers(d, ids), first)
            for runs in (1, 2, 3):
                self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
                s = wait_run(d, runs)
                run = s["last_run"]
                self.assertEqual(run["decision"], "refused", run)
                self.assertLess(run["candidate"]["auc_all"], run["live"]["auc_all"] - 0.005)
            self.assertEqual(s["generation"], 1)
            self.assertEqual(answers(d, ids), first)
            gen = run["generation"]
            # refused candidates are pruned like published generations: the newest 2 stay
            cands = sorted(n for n in os.listdir(data) if n.startswith("candidate-"))
            self.assertEqual(cands, ["candidate-%d.%s" % (g, ext) for g in (gen - 1, gen)
                                     for ext in ("graph", "items.tsv", "wr")])
            self.assertIn("deleted refused candidate %d" % (gen - 2), d.log())
            self.assertIn({"generation": gen, "state": "refused"}, s["generations"])
            r = d.post("/v1/admin/publish?generation=99", {})
            self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_generation"))
            self.assertEqual(d.post("/v1/admin/publish?generation=x", {}).status, 400)
            # a generation whose file is damaged or unreadable: 500 naming the file, and the
            # live generation serves on
            bad = os.path.join(data, "model-%d.wr" % (gen + 10))
            with open(os.path.join(data, "model-1.wr"), "rb") as f:
                body = bytearray(f.read())
            body[len(body) // 2] ^= 0xff
            with open(bad, "wb") as f:
                f.write(body)
            r = d.post("/v1/admin/publish?generation=%d" % (gen + 10), {})
            e = r.json()["error"]
            self.assertEqual((r.status, e["code"], e["file"]), (500, "corrupt_file", bad), e)
            self.assertIn("checksum", e["message"])
            os.truncate(bad, 30)
            r = d.post("/v1/admin/publish?generation=%d" % (gen + 10), {})
            self.assertEqual((r.status, r.json()["error"]["code"]), (500, "corrupt_file"))
            if os.geteuid() != 0:  # root reads whatever the mode says
                os.chmod(bad, 0)
                r = d.post("/v1/admin/publish?generation=%d" % (gen + 10), {})
                self.assertEqual((r.status, r.json()["error"]["code"]), (500, "io_error"))
            os.unlink(bad)
            self.assertEqual(d.get("/readyz").json()["generation"], 1)
            r = d.post("/v1/admin/publish?generation=%d" % gen, {})
            self.assertEqual(r.status, 202, r)
            d.wait_ready(generation=gen, timeout=60)
            self.assertTrue(os.path.exists(os.path.join(data, "model-%d.wr" % gen)))


    def test_gate_refuses_churn(self):
        """gate_max_churn 0: a candidate whose lists differ at all from the live ones is not
        published, whatever its AUC; it is kept as a candidate and the live lists serve on."""
        data = data_dir_with_model()
        with wrd.Daemon("--gate-max-churn", "0", "--gate-max-auc-drop", "1",
                        "--retrain-mode", "scratch", data_dir=data) as d:
            self.assertEqual(d.wait_ready()["generation"], 1)
            before = answers(d, ["P0000001"])
            self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
            run = wait_run(d, 1)["last_run"]
            self.assertEqual(run["decision"], "refused", run)
            self.assertIn("gate_max_churn 0", run["reason"])
            self.assertGreater(run["churn_at_10"], 0)
            self.assertEqual(d.get("/readyz").json()["generation"], 1)
            self.assertEqual(answers(d, ["P0000001"]), before)
            gen = run["generation"]
            self.assertTrue(os.path.exists(os.path.join(data, "candidate-%d.wr" % gen)))
            self.assertFalse(os.path.exists(os.path.join(data, "model-%d.wr" % gen)))


    def test_anchoring_keeps_lists(self):
        """The same warm retrain (one thread: the same candidate) with anchor_margin 0 and
        0.5: anchoring keeps more of the live lists, and every list still holds the
        candidate's own best neighbour or an incumbent first."""
        overlap = {}
        for margin in ("0", "0.5"):
            data = data_dir_with_model()
            with wrd.Daemon("--anchor-margin", margin, "--retrain-mode", "warm",
                            "--train-threads", "1", "--dim", "16", data_dir=data) as d:
                d.wait_ready()
                self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
                run = wait_run(d, 1)["last_run"]
                self.assertEqual(run["decision"], "published", run)
                overlap[margin] = run["overlap_at_10"]
                log = d.log()
            if margin != "0":
                self.assertIn("lists anchored to the live ones (margin 0.5)", log)
        print("overlap@10 after a warm retrain: %.3f without anchoring, %.3f with" %
              (overlap["0"], overlap["0.5"]), file=sys.stderr)
        self.assertGreater(overlap["0.5"], overlap["0"] + 0.02)


class Follower(unittest.TestCase):
    def test_follower_swaps_in_new_generations(self):
        trainer_dir = data_dir_with_model()
        with wrd.Daemon("--retrain-min-pairs", "0", data_dir=trainer_dir) as t, \
                wrd.Daemon("--follow", trainer_dir, "--trainer-url", "http://trainer:8080",
                           "--follow-interval", "1") as f:
            self.assertEqual(f.wait_ready()["generation"], 1)
            r = f.post("/v1/pairs", {"pairs": [{"a": "P0000001", "b": "P0000002"}]})
            self.assertEqual(r.status, 409)
            self.assertEqual(r.json()["error"]["code"], "follower")
            self.assertIn("http://trainer:8080", r.json()["error"]["message"])
            for route in ("/v1/admin/retrain", "/v1/admin/rollback"):
                self.assertEqual(f.post(route, {}).status, 409, route)
            self.assertEqual(status(f)["role"], "follower")
            self.assertEqual(t.post("/v1/admin/retrain", {}).status, 202)
            s = wait_run(t, 1)
            self.assertEqual(s["generation"], 2, s["last_run"])
            t0 = time.time()
            f.wait_ready(generation=2, timeout=30)
            print("follower picked up generation 2 %.1f s after the trainer was idle" %
                  (time.time() - t0), file=sys.stderr)
            self.assertEqual(f.get("/v1/items/P0000005/neighbors?k=5").body,
                             t.get("/v1/items/P0000005/neighbors?k=5").body)
            self.assertEqual(t.post("/v1/admin/rollback", {}).status, 200)
            f.wait_ready(generation=1, timeout=30)  # followers follow rollbacks too


if __name__ == "__main__":
    unittest.main(verbosity=2)
