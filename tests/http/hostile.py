"""hostile.py - clients that attack the HTTP server, against a real walkrecd.

Every case runs while a well-behaved client (127.0.0.1, its own connection) asks for
neighbours and scores: it must be answered, each of its requests 200, and none may wait
longer than SLOW seconds, so "the daemon keeps serving others" is checked, not assumed (how
many answers fit into an attack depends on the machine's load, so that is not counted). The
attackers connect from other loopback addresses (127.0.0.2 and up), as distinct clients
would. Cases: oversized headers and URLs; slow clients that keep sending (slowloris) in the
headers, in the body and on a kept-alive connection; thousands of idle connections, and more
from one address than connection_limit_per_ip; pipelined garbage; deeply nested and huge
JSON; NaN, infinite and out-of-range weights; wrong content types and methods; the admin
token never echoed. Each gets its 4xx or is dropped at a limit (a time or a count)."""

import json
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

REQUEST_TIMEOUT = 2   # --request-timeout of the daemon under attack
IDLE_TIMEOUT = 4      # --connection-timeout
PER_IP = 64           # --connection-limit-per-ip
SLOW = 5.0            # the longest a well-behaved request may wait (a loaded CI machine)
TOKEN = "hostile-test-token-0123456789abcdef"
AUTH = {"Authorization": "Bearer " + TOKEN}
JSON = {"Content-Type": "application/json"}

D = None
CASES = []  # (group, what) of every hostile case tried, printed at the end


def setUpModule():
    global D
    work = wrd.tmpdir()
    pairs = os.path.join(work, "pairs.tsv")
    wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
    data = os.path.join(work, "var")
    os.mkdir(data)
    wrd.run(wrd.WALKREC, "train", pairs, "-o", os.path.join(data, "model-1.wr"), "--dim", "16",
            "--epochs", "1", "--threads", "1", "--quiet")
    # the test opens thousands of sockets; the daemon inherits the raised limit's ceiling
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    D = wrd.Daemon("--request-timeout", str(REQUEST_TIMEOUT), "--connection-timeout",
                   str(IDLE_TIMEOUT), "--connection-limit-per-ip", str(PER_IP),
                   "--retrain-min-pairs", "0", "--retrain-interval", "0",
                   # the near misses of test_token_never_echoed are wrong tokens too
                   "--auth-failures", "1000", data_dir=data,
                   env={"WALKREC_ADMIN_TOKEN": TOKEN})


def tearDownModule():
    code = D.stop()
    log = D.log()
    assert code == 0, log
    assert TOKEN not in log
    groups = {}
    for g, _ in CASES:
        groups[g] = groups.get(g, 0) + 1
    print("\nhostile cases: %d (%s)" % (len(CASES), ", ".join("%s %d" % kv for kv in
                                                             groups.items())), file=sys.stderr)


def case(group, what):
    CASES.append((group, what))


class Bystander:
    """A well-behaved client on its own connection: neighbours and scores until stopped."""

    def __init__(self):
        self.answers, self.errors, self.slowest = 0, [], 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn, n = D.connection(timeout=30), 0
        while not self.stop.is_set():
            a, b = "P%07d" % (1 + n % 1500), "P%07d" % (2 + n % 1499)
            path = ("/v1/items/%s/neighbors?k=5" % a if n % 2 else
                    "/v1/score?a=%s&b=%s" % (a, b))
            t = time.monotonic()
            try:
                r = D.request("GET", path, conn=conn)
                if r.status != 200:
                    self.errors.append("%s: %r" % (path, r))
                self.answers += 1
            except Exception as e:  # noqa: BLE001 - any failure counts
                self.errors.append("%s: %r" % (path, e))
                conn.close()
                conn = D.connection(timeout=30)
            self.slowest = max(self.slowest, time.monotonic() - t)
            n += 1
            time.sleep(0.01)
        conn.close()

    def check(self, test):
        """Answered (once more after the attack, too), never an error, never slower than
        SLOW."""
        after = self.answers + 1
        end = time.monotonic() + SLOW
        while self.answers < after and time.monotonic() < end:
            time.sleep(0.05)
        self.stop.set()
        self.thread.join()
        test.assertEqual(self.errors, [])
        test.assertGreaterEqual(self.answers, after, "the well-behaved client waited")
        test.assertLess(self.slowest, SLOW)


def attacker(n=2, timeout=10):
    """A socket from 127.0.0.n."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind(("127.0.0.%d" % n, 0))
    s.connect(("127.0.0.1", D.port))
    return s


def read_all(s):
    """Everything the server sends until it closes; None if it had not closed in time."""
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    except socket.timeout:
        return None
    except ConnectionResetError:
        return out


def statuses(raw):
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)]


def metric(name, conn=None):
    text = D.get("/metrics", conn=conn).body.decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1))


def log_records():
    return D.get("/v1/admin/status", headers=AUTH).json()["log"]["records"]


class Headers(unittest.TestCase):
    def test_oversized_headers_and_urls(self):
        by = Bystander()
        for what, req in [
            ("one 100 KB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
             b"a" * 100000 + b"\r\n\r\n"),
            ("5,000 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
             b"".join(b"X-%d: v\r\n" % i for i in range(5000)) + b"\r\n"),
            ("a 100 KB URL", b"GET /v1/items/" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("a 100 KB cookie", b"GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: " +
             b"c=" * 50000 + b"\r\n\r\n"),
        ]:
            s = attacker()
            try:
                s.sendall(req)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before all of it was read: also fine
            raw = read_all(s)
            s.close()
            self.assertIsNotNone(raw, what)
            got = statuses(raw)
            self.assertTrue(got == [] or got[0] in (400, 413, 414, 431), (what, raw[:200]))
            case("headers", what)
        for what, req, want in [
            ("a header line without a colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nbad\r\n\r\n",
             400),
            ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400),
            ("an unknown HTTP version", b"GET /healthz HTTP/7.0\r\nHost: x\r\n\r\n", 505),
            ("a Content-Length that is not a number",
             b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
            # chunked bodies are refused before they are read (framing.py)
            ("a bad chunk size", b"POST /v1/score HTTP/1.1\r\nHost: x\r\n"
             b"Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", 411),
        ]:
            s = attacker()
            s.sendall(req)
            raw = read_all(s)
            s.close()
            self.assertIsNotNone(raw, what)
            self.assertEqual(statuses(raw)[:1], [want], (what, raw[:300]))
            case("headers", what)
        by.check(self)


class SlowClients(unittest.TestCase):
    def trickle(self, first, drip, after_first=None):
        """Slow clients from four addresses: `first` then `drip` every 0.3 s; returns how
        long the server let each live and what it sent."""
        socks = []
        for i in range(40):
            s = attacker(2 + i % 4)
            s.sendall(first)
            socks.append([s, time.monotonic(), None, b""])
        if after_first:
            for k in socks:
                k[3] = k[0].recv(4096)  # the first request's answer
                k[1] = time.monotonic()
        end = time.monotonic() + REQUEST_TIMEOUT + 6
        while time.monotonic() < end and any(k[2] is None for k in socks):
            for k in socks:
                if k[2] is not None:
                    continue
                try:
                    k[0].sendall(drip)
                    k[0].setblocking(False)
                    try:
                        if k[0].recv(4096) == b"":
                            k[2] = time.monotonic() - k[1]
                    except BlockingIOError:
                        pass
                    finally:
                        k[0].setblocking(True)
                except (BrokenPipeError, ConnectionResetError):
                    k[2] = time.monotonic() - k[1]
            time.sleep(0.3)
        for k in socks:
            k[0].close()
        return socks

    def check_cut(self, socks, what):
        lived = [k[2] for k in socks]
        self.assertNotIn(None, lived, "%s: a slow client still connected" % what)
        # cut at request_timeout, by a reaper that looks once a second
        self.assertGreaterEqual(min(lived), REQUEST_TIMEOUT - 0.1, what)
        self.assertLess(max(lived), REQUEST_TIMEOUT + 3, what)
        case("slow clients", what)

    def test_slowloris(self):
        cut = metric("walkrec_http_request_timeouts_total")
        by = Bystander()
        socks = self.trickle(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n")
        self.check_cut(socks, "40 clients sending a header line every 0.3 s")
        socks = self.trickle(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             b"application/json\r\nContent-Length: 100000\r\n\r\n", b" ")
        self.check_cut(socks, "40 clients sending a body a byte every 0.3 s")
        socks = self.trickle(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n",
                             b"X-a: b\r\n", after_first=True)
        for k in socks:
            self.assertEqual(statuses(k[3]), [200])
        self.check_cut(socks, "40 kept-alive clients slow on their second request")
        by.check(self)
        self.assertGreaterEqual(metric("walkrec_http_request_timeouts_total") - cut, 120)


class Connections(unittest.TestCase):
    def test_thousands_of_idle_connections(self):
        """Its own daemon, with timeouts long enough to open them all first."""
        global D
        shared, timeout = D, 6
        D = wrd.Daemon("--model", os.path.join(shared.data_dir, "model-1.wr"),
                       "--connection-timeout", str(timeout), "--request-timeout", str(timeout),
                       "--connection-limit-per-ip", str(PER_IP), data_dir=wrd.tmpdir())
        try:
            self.idle_connections(timeout)
        finally:
            D.stop()
            D = shared

    def idle_connections(self, timeout):
        # 3,000 from 50 addresses (60 each, under the per-address limit)
        per, addrs = 60, 50
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < per * addrs + 500:
            addrs = max(1, (soft - 500) // per)
        want = per * addrs
        rss0 = rss_kib(D.proc.pid)
        log0 = D.log().count("walkrecd: http:")
        by = Bystander()
        t0 = time.monotonic()
        idle = [attacker(10 + a, timeout=timeout + 10) for a in range(addrs) for _ in range(per)]
        deadline = time.monotonic() + 10
        while metric("walkrec_http_connections") < want + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        held = metric("walkrec_http_connections")
        self.assertGreaterEqual(held, want + 1)  # and the bystander's
        self.assertLess(time.monotonic() - t0, timeout - 1, "opening them took too long")
        rss1 = rss_kib(D.proc.pid)
        case("connections", "%d idle connections from %d addresses" % (want, addrs))
        # more than connection_limit_per_ip from one address: the rest closed at once
        extra = [attacker(9) for _ in range(PER_IP + 36)]
        time.sleep(0.5)
        closed_at_once = 0
        for s in extra:
            s.setblocking(False)
            try:
                if s.recv(10) == b"":
                    closed_at_once += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed_at_once += 1
            s.setblocking(True)
        self.assertEqual(closed_at_once, 36)
        case("connections", "%d connections from one address (limit %d)" % (len(extra), PER_IP))
        # every idle one is closed by the server within the timeouts
        for s in idle + extra:
            s.settimeout(max(0.1, timeout + 4 - (time.monotonic() - t0)))
            self.assertEqual(read_all(s), b"")
            s.close()
        by.check(self)
        # one connection for these reads: each new one would count until the server has
        # seen the previous one close
        conn = D.connection()
        deadline, left = time.monotonic() + 20, None  # slow under the sanitizers
        while time.monotonic() < deadline:
            left = metric("walkrec_http_connections", conn)
            if left <= 1:
                break
            time.sleep(0.1)
        conn.close()
        self.assertEqual(left, 1)  # the one reading
        # MHD's complaints about the refused ones are rate-limited in the log
        self.assertLess(D.log().count("walkrecd: http:") - log0, 30)
        print("\n%d idle connections: daemon RSS %d -> %d KiB" % (want, rss0, rss1),
              file=sys.stderr)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


class Garbage(unittest.TestCase):
    def test_pipelined_garbage(self):
        by = Bystander()
        good = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        for what, junk in [
            ("binary bytes", b"\x00\xff\xfe\x01garbage\r\n\r\n"),
            ("a line without a method", b"garbage\r\n\r\n"),
            ("a TLS client hello", bytes.fromhex("16030100c4010000c00303") + os.urandom(180)),
            ("blank lines", b"\r\n" * 1000),
            ("a request line with spaces in the target", b"GET /heal thz HTTP/1.1\r\nHost: x"
             b"\r\n\r\n"),
            ("a request with a broken header", b"GET /healthz HTTP/1.1\r\n: v\r\n\r\n"),
            ("a body longer than announced", b"POST /v1/score HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 2\r\n\r\n{}trailing junk\r\n\r\n"),
            ("100 requests then garbage", good * 100 + os.urandom(2000)),
        ]:
            s = attacker(timeout=REQUEST_TIMEOUT + IDLE_TIMEOUT + 5)
            t = time.monotonic()
            s.sendall(good + junk)
            raw = read_all(s)
            s.close()
            self.assertIsNotNone(raw, what)
            got = statuses(raw)
            self.assertEqual(got[0], 200, what)
            # the good requests answered, then nothing but a 4xx/5xx before the close
            ok = 101 if what.startswith("100") else 1
            self.assertTrue(all(g == 200 for g in got[:ok]), (what, got))
            self.assertTrue(all(400 <= g < 600 for g in got[ok:]), (what, got))
            self.assertLess(time.monotonic() - t, REQUEST_TIMEOUT + IDLE_TIMEOUT + 2, what)
            case("pipelined garbage", what)
        by.check(self)


class Bodies(unittest.TestCase):
    def error(self, r, status, code, what):
        self.assertEqual(r.status, status, (what, r))
        self.assertEqual(r.json()["error"]["code"], code, what)
        case("bodies", what)

    def test_nested_and_huge_json(self):
        by = Bystander()
        for route in ("/v1/score", "/v1/neighbors", "/v1/pairs"):
            for what, body in [
                ("30,000 nested arrays", "[" * 30000),
                ("10,000 nested objects", '{"a":' * 10000),
                ("nesting inside a valid prefix", '{"pairs":[' + "[" * 20000),
                ("a deep but closed document", "[" * 3000 + "]" * 3000),
            ]:
                t = time.monotonic()
                r = D.post(route, body, headers={**JSON, **AUTH})
                self.assertLess(time.monotonic() - t, 2)
                self.error(r, 400, "bad_request", "%s: %s" % (route, what))
        # large but under max_body_bytes: refused by count, not read into a model
        many = json.dumps({"pairs": [["P0000001", "P0000002"]] * 38000})
        self.assertLess(len(many), 1 << 20)
        self.error(D.post("/v1/score", many, headers=JSON), 400, "batch_too_large",
                   "/v1/score: 38,000 pairs in 1 MB")
        self.error(D.post("/v1/neighbors", json.dumps({"items": ["P0000001"] * 80000}),
                          headers=JSON), 400, "batch_too_large",
                   "/v1/neighbors: 80,000 items")
        self.error(D.post("/v1/pairs", json.dumps({"pairs": [{"a": "x", "b": "y"}] * 30000}),
                          headers={**JSON, **AUTH}), 400, "batch_too_large",
                   "/v1/pairs: 30,000 pairs")
        big = "a" * 900000
        for path, body in (("/v1/score", {"pairs": [[big, "b"]]}),
                           ("/v1/neighbors", {"items": [big]}),
                           ("/v1/pairs", {"pairs": [{"a": big, "b": "b"}]}),
                           ("/v1/score", {"pairs": [["", "b"]]})):
            self.error(D.post(path, body, headers=AUTH), 400, "bad_request",
                       "%s: an id of %d bytes" % (path, len(big if big in str(body) else "")))
        # over max_body_bytes: refused as soon as the length is announced, before the body
        s = attacker()
        s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1200000\r\n\r\n[")
        self.assertEqual(statuses(s.recv(4096)), [413])
        s.close()
        case("bodies", "/v1/score: a 1.2 MB body announced")
        # ... and in chunks it is refused at its head, before any chunk is sent: bodies come
        # with Content-Length
        s = attacker()
        s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        self.assertEqual(statuses(s.recv(4096)), [411])
        s.close()
        case("bodies", "/v1/score: a 1.3 MB body in chunks")
        self.error(D.post("/v1/score", '{"pairs":[["a","b"]],' + '"x":1,' * 100000 + '"y":1}',
                          headers=JSON), 400, "bad_request",
                   "/v1/score: a key given 100,000 times")
        by.check(self)

    def test_weights(self):
        before = log_records()
        for w in ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e308", "3.5e38", "-1",
                  "0", "-0", "1e-50", '"1.0"', "true", "null", "[]", "{}"):
            for body in ('{"pairs":[{"a":"P0000001","b":"P0000002","weight":%s}]}' % w,
                         '{"pairs":[{"a":"P0000001","b":"P0000003"},'
                         '{"a":"P0000001","b":"P0000002","weight":%s}]}' % w):
                r = D.post("/v1/pairs", body, headers={**JSON, **AUTH})
                self.error(r, 400, "bad_request", "weight %s (%s)" %
                           (w, "alone" if body.count('"a"') == 1 else "after a good pair"))
        self.assertEqual(log_records(), before)  # nothing stored, not even the good pair
        r = D.post("/v1/pairs", {"pairs": [{"a": "P0000001", "b": "P0000002", "weight": 3.4e38}]},
                   headers=AUTH)
        self.assertEqual(r.status, 202, r)

    def test_content_types_and_methods(self):
        posts = [("/v1/score", {"pairs": [["P0000001", "P0000002"]]}, 200),
                 ("/v1/neighbors", {"items": ["P0000001"]}, 200),
                 ("/v1/pairs", {"pairs": [{"a": "P0000001", "b": "P0000002"}]}, 202)]
        for path, body, ok in posts:
            for ct in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-"
                       "urlencoded", "multipart/form-data; boundary=x", "application/xml",
                       "text/json", "application/jsonx", "image/png", ""):
                r = D.request("POST", path, body=json.dumps(body),
                              headers={"Content-Type": ct, **AUTH})
                self.error(r, 415, "unsupported_media_type", "%s Content-Type %r" % (path, ct))
            for ct in (None, "application/json", "Application/JSON; charset=utf-8",
                       "application/problem+json"):
                r = D.request("POST", path, body=json.dumps(body),
                              headers={"Content-Type": ct, **AUTH})
                self.assertEqual(r.status, ok, (path, ct, r))
        for m in ("PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "GETX"):
            r = D.request(m, "/v1/score", body="{}", headers=JSON)
            self.assertEqual(r.status, 405, (m, r))
            self.assertEqual(r.headers["allow"], "GET, HEAD, POST, OPTIONS")
            case("methods", m)
        self.error(D.request("GET", "/v1/pairs", headers=AUTH), 405, "method_not_allowed",
                   "GET on a POST route")
        self.error(D.request("POST", "/v1/model", body="{}", headers=JSON), 405,
                   "method_not_allowed", "POST on a GET route")

    def test_token_never_echoed(self):
        for h in ({"Authorization": "Bearer " + TOKEN[:-1]},
                  {"Authorization": "Bearer " + TOKEN + TOKEN},
                  {"Authorization": "Basic " + TOKEN},
                  {"Authorization": TOKEN},
                  {"Authorization": "Bearer " + TOKEN.upper()}):
            for method, path in (("POST", "/v1/pairs"), ("GET", "/v1/admin/status"),
                                 ("POST", "/v1/admin/retrain")):
                r = D.request(method, path, body="{}" if method == "POST" else None,
                              headers={**JSON, **h})
                self.error(r, 401, "unauthorized", "%s %s with a wrong token" % (method, path))
                self.assertNotIn(TOKEN.encode(), r.body)
                self.assertNotIn(TOKEN[:12].encode(), r.body)
        for path in ("/metrics", "/v1/model", "/openapi.yaml", "/"):
            self.assertNotIn(TOKEN.encode(), D.get(path).body)
        self.assertNotIn(TOKEN.encode(), D.get("/v1/admin/status", headers=AUTH).body)
        out = subprocess.run([wrd.WALKRECD, "--print-config"], capture_output=True, text=True,
                             env={**os.environ, "WALKREC_ADMIN_TOKEN": TOKEN}, check=True)
        self.assertNotIn(TOKEN, out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
