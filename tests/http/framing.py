"""framing.py - one framing of every request, writes only from who may write, and the
admin token's hardening, against a real walkrecd.

- Request smuggling primitives (two Content-Length headers, Content-Length beside
  Transfer-Encoding, unknown transfer codings, folded lines, blanks before a colon, a NUL in
  the target, CR in a value, two Host headers), each followed by a second request in the
  same packet: 400 (501 for an unknown coding, 411 for a chunked body) and a closed
  connection, the second request never answered, nothing stored.
- Requests that hung or got the wrong status: 1,000 query parameters, an unknown
  Transfer-Encoding, a 100 KB chunk extension, an absolute-form target.
- Writes without the token: Content-Type JSON needed (body-less ones too), nothing from
  another site (Sec-Fetch-Site, Origin) unless cors_origins names it; the token passes.
- The admin token: at least 16 bytes beyond loopback; a world-readable token file is named
  in a warning; wrong tokens from one address get 429 with Retry-After after
  auth_failures; no file path in the answers of anonymous readers."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

TOKEN = "framing-test-token-0123456789"
AUTH = {"Authorization": "Bearer " + TOKEN}
ALLOWED = "http://allowed.example:8443"
WAIT = 5  # seconds an answer may take on a loaded machine (the hangs were 30 s)

MODEL = None  # a trained model file, shared
OPEN = None   # a daemon without a token (loopback), cors_origins = ALLOWED


def setUpModule():
    global MODEL, OPEN
    MODEL = os.path.join(wrd.tmpdir(), "model.wr")
    wrd.small_model(MODEL)
    OPEN = daemon("--cors-origins", ALLOWED)


def tearDownModule():
    assert OPEN.stop() == 0, OPEN.log()


def daemon(*args, env=None):
    data = wrd.tmpdir()
    shutil.copy(MODEL, os.path.join(data, "model-1.wr"))
    return wrd.Daemon("--retrain-min-pairs", "0", "--retrain-interval", "0", *args,
                      data_dir=data, env=env)


def raw(d, data, timeout=WAIT, source="127.0.0.1"):
    """Sends bytes from the address source; returns (everything until the server closed,
    seconds) or (None, ...) when it had not closed within timeout."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", d.port))
    t = time.monotonic()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        out = None
    except ConnectionResetError:
        pass
    s.close()
    return out, time.monotonic() - t


def statuses(data):
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data or b"")]


def records(d):
    return d.get("/v1/admin/status", headers=AUTH).json()["log"]["records"]


NEXT = b"GET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n"  # the request smuggled behind each
PAIR = b'{"pairs":[{"a":"P0000001","b":"P0000002"}]}'


def post(headers, body=PAIR, target=b"/v1/pairs"):
    return (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
            headers + b"\r\n" + body)


class Framing(unittest.TestCase):
    CASES = [
        ("two different Content-Length", 400,
         post(b"Content-Length: %d\r\nContent-Length: 2\r\n" % len(PAIR))),
        ("two equal Content-Length", 400,
         post(b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(PAIR), len(PAIR)))),
        ("Content-Length and chunked", 400,
         post(b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(PAIR),
              b"%x\r\n%s\r\n0\r\n\r\n" % (len(PAIR), PAIR))),
        ("Transfer-Encoding gzip", 501, post(b"Transfer-Encoding: gzip\r\n", b"abc")),
        ("Transfer-Encoding gzip, chunked", 501,
         post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n")),
        ("two Transfer-Encoding", 501,
         post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", b"0\r\n\r\n")),
        ("a folded Transfer-Encoding", 400,
         post(b"Transfer-Encoding:\r\n chunked\r\n", b"0\r\n\r\n")),
        ("a folded Content-Length", 400, post(b"Content-Length:\r\n %d\r\n" % len(PAIR))),
        ("a folded value with a blank", 400,
         b"GET /v1/model HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two three\r\n\r\n"),
        ("a blank before the colon", 400, post(b"Content-Length : %d\r\n" % len(PAIR))),
        ("a tab before the colon", 400, b"GET /v1/model HTTP/1.1\r\nHost: x\r\nX-A\t: b\r\n\r\n"),
        ("a NUL in the target", 400, b"GET /v1/model\x00/../admin/status HTTP/1.1\r\nHost: x"
         b"\r\n\r\n"),
        ("a NUL in the target before the query", 400,
         b"GET /v1/items/P0000001/neighbors\x00x?k=3 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("a CR inside a header value", 400, b"GET /v1/model HTTP/1.1\r\nHost: x\r\nX-A: a\rb"
         b"\r\n\r\n"),
        ("two Host headers", 400, b"GET /v1/model HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
        ("a chunked body", 411, post(b"Transfer-Encoding: chunked\r\n",
                                     b"%x\r\n%s\r\n0\r\n\r\n" % (len(PAIR), PAIR))),
        ("a 100 KB chunk extension", 411,
         post(b"Transfer-Encoding: chunked\r\n", b"2;" + b"e" * 100000 + b"\r\n{}\r\n0\r\n\r\n")),
    ]

    def test_smuggling_primitives(self):
        before = records(OPEN)
        for what, want, req in self.CASES:
            with self.subTest(what):
                out, took = raw(OPEN, req + NEXT)
                self.assertIsNotNone(out, "%s: no answer, connection still open" % what)
                self.assertEqual(statuses(out), [want], (what, out[:300]))
                self.assertIn(b"Connection: close", out, what)
                self.assertIn(b'"error":{"code":"', out, what)
                self.assertLess(took, WAIT, what)
        self.assertEqual(records(OPEN), before, "a refused request stored pairs")
        # the same requests framed once are served
        out, _ = raw(OPEN, post(b"Content-Length: %d\r\nConnection: close\r\n" % len(PAIR)))
        self.assertEqual(statuses(out), [202], out)
        out, _ = raw(OPEN, b"GET /v1/model HTTP/1.1\r\nHost: x\r\nX-A: b\r\n"
                     b"Connection: close\r\n\r\n")
        self.assertEqual(statuses(out), [200], out)

    def test_query_parameters(self):
        for n, want in ((1000, 400), (5000, 400), (100, 200), (101, 400)):
            q = "&".join(["k=1"] * n)  # a parameter the route reads, n times
            out, took = raw(OPEN, b"GET /v1/items/P0000001/neighbors?%s HTTP/1.1\r\nHost: x"
                            b"\r\nConnection: close\r\n\r\n" % q.encode())
            self.assertIsNotNone(out, "%d parameters: no answer" % n)
            self.assertEqual(statuses(out), [want], (n, out[:300]))
            if want == 400:
                self.assertIn(b"at most 100", out)
            self.assertLess(took, WAIT)

    def test_absolute_form(self):
        for target, want in ((b"http://x/v1/model", 200),
                             (b"HTTP://127.0.0.1:1/v1/items/P0000001/neighbors?k=2", 200),
                             (b"https://x", 200),  # the dashboard page
                             (b"http://x/nowhere", 404),
                             (b"x.example:443", 400)):
            out, _ = raw(OPEN, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n")
            self.assertEqual(statuses(out), [want], (target, out[:300]))
        out, _ = raw(OPEN, b"GET http://x/v1/items/P0000001/neighbors?k=2 HTTP/1.1\r\n"
                     b"Host: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out.count(b'"item":'), 3, out)  # the item and k=2 neighbours


class Writes(unittest.TestCase):
    def refused(self, d, path, body, headers, code, what):
        before = records(d)
        r = d.request("POST", path, body=body, headers=headers)
        self.assertEqual(r.status, code, (what, r))
        self.assertEqual(r.json()["error"]["code"],
                         {403: "forbidden", 415: "unsupported_media_type"}[code], what)
        self.assertEqual(records(d), before, what)

    def test_without_a_token(self):
        d, pair = OPEN, {"pairs": [{"a": "P0000001", "b": "P0000002"}]}
        runs = d.get("/v1/admin/status").json()["runs"]
        for what, headers, code in [
            ("no Content-Type", {"Content-Type": None}, 403),
            ("a form type", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
            ("text/plain", {"Content-Type": "text/plain"}, 415),
            ("Sec-Fetch-Site cross-site", {"Sec-Fetch-Site": "cross-site"}, 403),
            ("Sec-Fetch-Site same-site", {"Sec-Fetch-Site": "same-site"}, 403),
            ("Origin of another site", {"Origin": "http://evil.example"}, 403),
            ("Origin of another port", {"Origin": "http://127.0.0.1:%d" % (d.port + 1)}, 403),
            ("Origin null", {"Origin": "null"}, 403),
            ("cross-site, any origin listed", {"Sec-Fetch-Site": "cross-site",
                                               "Origin": "http://other.example"}, 403),
        ]:
            self.refused(d, "/v1/pairs", pair, headers, code, what)
        # body-less admin writes: refused without Content-Type, taken with it
        for path in ("/v1/admin/retrain", "/v1/admin/rollback", "/v1/admin/publish?generation=1"):
            r = d.request("POST", path, headers={"Content-Type": None})
            self.assertEqual(r.status, 403, (path, r))
            self.assertIn("Content-Type: application/json", r.json()["error"]["message"])
            r = d.request("POST", path, headers={"Content-Type": None,
                                                 "Sec-Fetch-Site": "cross-site"})
            self.assertEqual(r.status, 403, (path, r))
        self.assertEqual(d.get("/v1/admin/status").json()["runs"], runs, "a refused retrain ran")
        before = records(d)
        for headers in ({}, {"Sec-Fetch-Site": "same-origin", "Origin": "http://elsewhere"},
                        {"Sec-Fetch-Site": "none"},
                        {"Origin": "http://127.0.0.1:%d" % d.port},
                        {"Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"}):
            r = d.post("/v1/pairs", pair, headers=headers)
            self.assertEqual(r.status, 202, (headers, r))
        self.assertEqual(records(d), before + 5)
        r = d.request("POST", "/v1/admin/retrain", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 202, r)
        # reads by POST are not writes
        r = d.request("POST", "/v1/score", body='{"pairs":[["P0000001","P0000002"]]}',
                      headers={"Content-Type": None, "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(r.status, 200, r)

    def test_with_the_token(self):
        d = daemon(env={"WALKREC_ADMIN_TOKEN": TOKEN})
        try:
            before = records(d)
            r = d.request("POST", "/v1/admin/retrain", headers={"Content-Type": None, **AUTH,
                                                                "Sec-Fetch-Site": "cross-site"})
            self.assertEqual(r.status, 202, r)
            r = d.post("/v1/pairs", {"pairs": [{"a": "P0000001", "b": "P0000002"}]},
                       headers={"Content-Type": None, "Origin": "http://evil.example", **AUTH})
            self.assertEqual(r.status, 202, r)
            self.assertEqual(records(d), before + 1)
        finally:
            d.stop()


class Token(unittest.TestCase):
    def start(self, bind, token=None, token_file=None):
        env = dict(os.environ)
        env.pop("WALKREC_ADMIN_TOKEN", None)
        argv = [wrd.WALKRECD, "--bind", bind, "--port", "0", "--data-dir", wrd.tmpdir(),
                "--model", MODEL]
        if token is not None:
            env["WALKREC_ADMIN_TOKEN"] = token
        if token_file:
            argv += ["--admin-token-file", token_file]
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)

    def wait_listening(self, p):
        """The log up to the line that says the daemon listens; then stops it."""
        log = ""
        for line in p.stderr:
            log += line
            if "listening on" in line:
                break
        p.terminate()
        log += p.stderr.read()
        p.stderr.close()
        p.wait()
        return log

    def test_length_beyond_loopback(self):
        with self.start("0.0.0.0", token="a" * 15) as p:
            try:
                _, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                self.fail("walkrecd took a 15-byte token on 0.0.0.0: " + err)
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("admin token", err)
        self.assertIn("at least 16", err)
        self.assertNotIn("a" * 15, err)
        log = self.wait_listening(self.start("0.0.0.0", token="a" * 16))
        self.assertIn("listening on http://0.0.0.0:", log)
        # on loopback a short token is the operator's business
        log = self.wait_listening(self.start("127.0.0.1", token="short"))
        self.assertIn("listening on http://127.0.0.1:", log)

    def test_world_readable_file(self):
        d = wrd.tmpdir()
        path = os.path.join(d, "admin-token")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        for mode, warned in ((0o644, True), (0o604, True), (0o640, False), (0o600, False)):
            os.chmod(path, mode)
            log = self.wait_listening(self.start("127.0.0.1", token_file=path))
            self.assertEqual("warning: admin_token_file %s can be read by every user" % path
                             in log, warned, (oct(mode), log))
            self.assertNotIn(TOKEN, log)

    def test_wrong_tokens_rate_limited(self):
        d = daemon("--auth-failures", "5", "--auth-failure-window", "4",
                   env={"WALKREC_ADMIN_TOKEN": TOKEN})
        try:
            wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
            for _ in range(3):  # no Authorization at all is not a guess
                self.assertEqual(d.get("/v1/admin/status").status, 401)
            t0 = time.monotonic()
            for i in range(5):
                r = d.get("/v1/admin/status", headers=wrong)
                self.assertEqual(r.status, 401, (i, r))
            r = d.get("/v1/admin/status", headers=wrong)
            self.assertEqual(r.status, 429, r)
            self.assertEqual(r.json()["error"]["code"], "too_many_requests")
            self.assertIn("auth_failures", r.json()["error"]["message"])
            self.assertTrue(1 <= int(r.headers["retry-after"]) <= 5, r.headers)
            # the right token from the same address waits too; another address does not
            self.assertEqual(d.get("/v1/admin/status", headers=AUTH).status, 429)
            self.assertEqual(d.post("/v1/pairs", {"pairs": []}, headers=AUTH).status, 429)
            out, _ = raw(d, b"GET /v1/admin/status HTTP/1.1\r\nHost: x\r\nAuthorization: "
                         b"Bearer " + TOKEN.encode() + b"\r\nConnection: close\r\n\r\n",
                         source="127.0.0.3")
            self.assertEqual(statuses(out), [200], out[:200])
            # reads that need no token are served throughout
            self.assertEqual(d.get("/v1/model").status, 200)
            time.sleep(max(0.0, t0 + 4.2 - time.monotonic()))
            self.assertEqual(d.get("/v1/admin/status", headers=AUTH).status, 200)
        finally:
            d.stop()

    def test_no_paths_for_anonymous_readers(self):
        # a model imported from word2vec text records the file it came from
        d = wrd.tmpdir()
        vec, imported = os.path.join(d, "secret-dir", "vectors.txt"), os.path.join(d, "m.wr")
        os.mkdir(os.path.dirname(vec))
        wrd.run(wrd.WALKREC, "export", MODEL, "--format", "word2vec", "-o", vec)
        wrd.run(wrd.WALKREC, "import", vec, "-o", imported)
        with open(imported, "rb") as f:
            self.assertIn(b"secret-dir", f.read())
        daemon_ = wrd.Daemon("--model", imported, env={"WALKREC_ADMIN_TOKEN": TOKEN})
        try:
            for r in (daemon_.get("/v1/model"), daemon_.get("/v1/items/P0000001"),
                      daemon_.get("/metrics"), daemon_.get("/")):
                self.assertEqual(r.status, 200)
                for secret in (d, daemon_.data_dir, "secret-dir", "/tmp/"):
                    self.assertNotIn(secret.encode(), r.body, r.body[:300])
            status = daemon_.get("/v1/admin/status", headers=AUTH).json()
            self.assertEqual(status["model_file"], imported)
        finally:
            daemon_.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
