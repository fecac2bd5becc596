"""startup.py - walkrecd's start-up and shutdown: settings (--help, --print-config,
precedence, errors naming file:line / variable / flag), which model it serves, serving
while it trains in the background, and clean stops on SIGTERM and SIGINT with a request in
flight."""

import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

EXAMPLE = os.path.join(wrd.SRC, "config", "walkrecd.conf")
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith("WALKREC_") or k == "WALKREC_DATA"}
SMALL = {}  # two small models trained once: seed -> path


def setUpModule():
    d = wrd.tmpdir()
    pairs = os.path.join(d, "pairs.tsv")
    wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--items", "300", "--pairs", "3000",
            "--categories", "5", "--quiet")
    for seed in (1, 2):
        SMALL[seed] = os.path.join(d, "small-%d.wr" % seed)
        wrd.run(wrd.WALKREC, "train", pairs, "-o", SMALL[seed], "--threads", "1", "--seed",
                str(seed), "--dim", "16", "--quiet")


def walkrecd(*args, env=None):
    p = subprocess.run([wrd.WALKRECD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env or CLEAN_ENV, timeout=60)
    return p.returncode, p.stdout, p.stderr


def keys_of(conf_text):
    return re.findall(r"^(\w+) = ", conf_text, re.M)


class Settings(unittest.TestCase):
    def test_help_lists_every_setting(self):
        rc, out, _ = walkrecd("--help")
        self.assertEqual(rc, 0)
        with open(EXAMPLE) as f:
            keys = keys_of(f.read())
        self.assertGreaterEqual(len(keys), 20)
        for k in keys + ["config", "print-config"]:
            self.assertIn("--" + k.replace("_", "-"), out)
        for k in keys:
            self.assertIn("WALKREC_" + k.upper(), out)
        for flag in ("--bind", "--port", "--data-dir", "--model", "--pairs", "--threads"):
            self.assertIn(flag, out)

    def test_example_is_print_config(self):
        rc, out, _ = walkrecd("--print-config")
        self.assertEqual(rc, 0)
        with open(EXAMPLE) as f:
            self.assertEqual(out, f.read(), "config/walkrecd.conf is stale")

    def test_precedence(self):
        conf = os.path.join(wrd.tmpdir(), "w.conf")
        with open(conf, "w") as f:
            f.write("# test\nport = 1111\nthreads = 3\nmax_k = 77\ndata_dir = /from/file\n")
        env = dict(CLEAN_ENV, WALKREC_PORT="2222", WALKREC_MAX_K="88")
        rc, out, err = walkrecd("--config", conf, "--port", "3333", "--print-config", env=env)
        self.assertEqual(rc, 0, err)
        got = dict(re.findall(r"^(\w+) = (.*)$", out, re.M))
        self.assertEqual((got["port"], got["threads"], got["max_k"], got["data_dir"]),
                         ("3333", "3", "88", "/from/file"))
        env = dict(env, WALKREC_CONFIG=conf)
        rc, out, _ = walkrecd("--print-config", env=env)
        got = dict(re.findall(r"^(\w+) = (.*)$", out, re.M))
        self.assertEqual((got["port"], got["threads"]), ("2222", "3"))

    def test_bad_values_stop_startup(self):
        conf = os.path.join(wrd.tmpdir(), "bad.conf")
        cases = [
            ("# ok\nthreads = 2\nport = http\n", [],
             "%s:3: port: expected an integer from 0 to 65535, got 'http'"),
            ("\nprot = 80\n", [], "%s:2: unknown setting 'prot'"),
            ("bind = localhost\n", [], "%s:1: bind: expected an IPv4 or IPv6 address"),
            ("", ["--threads", "0"], "--threads: threads: expected an integer from 1 to 256"),
            ("", ["--bogus"], "unknown flag '--bogus'"),
            ("", ["--default-k", "2000"], "default_k (2000) is larger than max_k (1000)"),
        ]
        for text, flags, want in cases:
            with open(conf, "w") as f:
                f.write(text)
            rc, _, err = walkrecd("--config", conf, *flags)
            self.assertEqual(rc, 2, err)
            self.assertIn(want.replace("%s", conf), err)
        rc, _, err = walkrecd(env=dict(CLEAN_ENV, WALKREC_CORS_ORIGINS="ftp://x"))
        self.assertEqual(rc, 2)
        self.assertIn("WALKREC_CORS_ORIGINS: cors_origins: expected origins", err)
        rc, _, err = walkrecd("--config", "/nonexistent.conf")
        self.assertEqual(rc, 2)
        self.assertIn("/nonexistent.conf", err)

    def test_port_in_use(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        rc, _, err = walkrecd("--port", str(port), "--data-dir", wrd.tmpdir())
        s.close()
        self.assertEqual(rc, 1)
        self.assertIn("cannot listen on 127.0.0.1 port %d: Address already in use" % port, err)


class Models(unittest.TestCase):
    def test_newest_model_file(self):
        data = wrd.tmpdir()
        shutil.copy(SMALL[1], os.path.join(data, "model-2.wr"))
        shutil.copy(SMALL[2], os.path.join(data, "model-10.wr"))
        for junk in ("model-11.wr.tmp.1", "model-x.wr", "model-12.wrx", "other-13.wr"):
            with open(os.path.join(data, junk), "w") as f:
                f.write("junk")
        m = wrd.Model(SMALL[2])
        with wrd.Daemon("--rank", "cosine", data_dir=data) as d:
            body = d.get("/v1/model").json()
            self.assertEqual(body["generation"], 10)
            self.assertTrue(d.get("/v1/admin/status").json()["model_file"].endswith(
                "/model-10.wr"))
            r = d.get("/v1/items/%s/neighbors" % m.ids[4])
            wrd.same_ranking(r.json()["neighbors"], m.neighbors(m.ids[4], 10), "model-10")
        with wrd.Daemon("--model", SMALL[1], data_dir=data) as d:
            body = d.get("/v1/model").json()
            self.assertEqual((body["generation"], d.get("/v1/admin/status").json()["model_file"]),
                             (1, SMALL[1]))

    def test_bad_model_file(self):
        data = wrd.tmpdir()
        with open(os.path.join(data, "model-1.wr"), "wb") as f:
            f.write(b"WALKREC\0" + b"\0" * 100)
        d = wrd.Daemon(data_dir=data, ready=False)
        self.assertEqual(d.proc.wait(60), 1)
        self.assertIn("model-1.wr", d.log().split("error:", 1)[1])

    def test_serves_while_training(self):
        d0 = wrd.tmpdir()
        pairs = os.path.join(d0, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--items", "8000", "--pairs", "80000",
                "--categories", "40", "--quiet")
        d = wrd.Daemon("--pairs", pairs, ready=False)
        try:
            self.assertEqual(d.get("/healthz").status, 200)
            for path in ("/readyz", "/v1/items/P0000001/neighbors", "/v1/model",
                         "/v1/score?a=P0000001&b=P0000002", "/v1/items/P0000001"):
                r = d.get(path)
                self.assertEqual((r.status, r.json()["error"]["code"]), (503, "no_model"), path)
            r = d.post("/v1/neighbors", {"items": ["P0000001"]})
            self.assertEqual(r.status, 503)
            self.assertIn("walkrec_ready 0", d.get("/metrics").body.decode())
            d.wait_ready(300)
            self.assertIn("training on %s" % pairs, d.log())
            self.assertTrue(os.path.exists(os.path.join(d.data_dir, "model-1.wr")))
            body = d.get("/v1/model").json()
            self.assertEqual((body["generation"], body["items"]), (1, 8000))
            # the degree of an item in the training graph
            degree = collections.Counter()
            with open(pairs) as f:
                next(f)
                for line in f:
                    a, b, _ = line.split("\t")
                    degree[a] += 1
                    degree[b] += 1
            for item in ("P0000001", "P0000500", "P0007999"):
                self.assertEqual(d.get("/v1/items/" + item).json()["degree"], degree[item])
        finally:
            self.assertEqual(d.stop(), 0, d.log())


class Stopping(unittest.TestCase):
    def stop_with_request_in_flight(self, sig):
        """A request whose body is still arriving when the signal comes must be answered."""
        d = wrd.Daemon("--model", SMALL[1], "--shutdown-grace", "20", "--rank", "cosine")
        m = wrd.Model(SMALL[1])
        body = json.dumps({"items": m.ids[:20], "k": 5}).encode()
        c = socket.create_connection(("127.0.0.1", d.port), timeout=30)
        c.sendall(b"POST /v1/neighbors HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                  b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.3)  # the daemon has the headers: the request is in flight
        d.proc.send_signal(sig)
        time.sleep(0.3)
        # no longer listening, yet still running for the request in flight
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", d.port), timeout=2).close()
        self.assertIsNone(d.proc.poll(), "exited with a request in flight")
        c.sendall(body[10:])
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        head, _, payload = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"Connection: close", head)
        results = json.loads(payload)["results"]
        self.assertEqual([r["item"] for r in results], m.ids[:20])
        wrd.same_ranking(results[3]["neighbors"], m.neighbors(m.ids[3], 5), "in flight")
        self.assertEqual(d.proc.wait(60), 0, d.log())
        log = d.log()
        self.assertIn("%s: stopping" % sig.name, log)
        self.assertTrue(log.rstrip().endswith("walkrecd: stopped"), log)

    def test_sigterm(self):
        self.stop_with_request_in_flight(signal.SIGTERM)

    def test_sigint(self):
        self.stop_with_request_in_flight(signal.SIGINT)

    def test_stop_while_training(self):
        d0 = wrd.tmpdir()
        pairs = os.path.join(d0, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--items", "8000", "--pairs", "80000",
                "--categories", "40", "--quiet")
        d = wrd.Daemon("--pairs", pairs, ready=False)
        self.assertEqual(d.get("/readyz").status, 503)
        self.assertEqual(d.stop(signal.SIGTERM, timeout=20), 0, d.log())
        # the trainer process is killed (or, before it starts, the run abandoned)
        self.assertRegex(d.log(), r"no model to serve: trainer process \d+ stopped with the "
                                  r"daemon|abandoned")
        self.assertIn("walkrecd: stopped", d.log().rstrip().split("\n")[-1], d.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
