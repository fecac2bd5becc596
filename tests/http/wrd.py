"""wrd.py - shared helpers of the HTTP tests: a real walkrecd on a free loopback port,
requests, model files read back for brute-force answers. Python 3 standard library only.

Environment (set by tests/meson.build): WALKRECD and WALKREC (the binaries), SRC (source
root). Every daemon started here is killed when the test process exits, pass or fail."""

import atexit
import http.client
import json
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time

WALKRECD = os.environ["WALKRECD"]
WALKREC = os.environ["WALKREC"]
SRC = os.environ.get("SRC", os.path.join(os.path.dirname(__file__), "..", ".."))

_daemons = []
_tmpdirs = []


@atexit.register
def _cleanup():
    for d in _daemons:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
    for t in _tmpdirs:
        shutil.rmtree(t, ignore_errors=True)


def tmpdir():
    d = tempfile.mkdtemp(prefix="walkrecd-test.")
    _tmpdirs.append(d)
    return d


def run(*argv, check=True):
    """Runs a command quietly; returns (returncode, stdout, stderr) as text."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(argv), p.returncode, p.stderr))
    return p.returncode, p.stdout, p.stderr


def small_model(path, *train_args, pairs=None):
    """Trains a small model of the built-in catalogue (16 dimensions, 1 epoch, 1 thread;
    more `walkrec train` flags in train_args) into path; returns the pairs file."""
    if pairs is None:
        pairs = os.path.join(tmpdir(), "pairs.tsv")
        run(WALKREC, "synth", "-o", pairs, "--quiet")
    run(WALKREC, "train", pairs, "-o", path, "--dim", "16", "--epochs", "1", "--threads", "1",
        "--quiet", *train_args)
    return pairs


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Daemon:
    """walkrecd on 127.0.0.1 and a port the kernel picks, stderr in a log file."""

    def __init__(self, *args, data_dir=None, env=None, ready=True, timeout=120):
        self.dir = tmpdir()
        self.data_dir = data_dir or os.path.join(self.dir, "var")
        self.log_path = os.path.join(self.dir, "walkrecd.log")
        argv = [WALKRECD, "--bind", "127.0.0.1", "--port", "0", "--data-dir", self.data_dir,
                *args]
        full_env = dict(os.environ)
        full_env.update(env or {})
        for k in [k for k, v in full_env.items() if v is None]:  # None: left out
            del full_env[k]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log,
                                         env=full_env)
        _daemons.append(self)
        self.port = self._wait_port(timeout)
        if ready:
            self.wait_ready(timeout)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def _wait_port(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.log())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise AssertionError("walkrecd exited with %d:\n%s" % (self.proc.returncode,
                                                                      self.log()))
            time.sleep(0.02)
        raise AssertionError("walkrecd did not start listening:\n" + self.log())

    def wait_ready(self, timeout=120, generation=None):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise AssertionError("walkrecd exited with %d:\n%s" % (self.proc.returncode,
                                                                      self.log()))
            r = self.request("GET", "/readyz")
            if r.status == 200 and (generation is None or r.json()["generation"] == generation):
                return r.json()
            time.sleep(0.05)
        raise AssertionError("walkrecd not ready:\n" + self.log())

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """A POST or PATCH says its body is JSON unless headers name a Content-Type (None: send
        none), as walkrecd's writes need without the admin token."""
        c = conn or self.connection()
        headers = dict(headers or {})
        if method in ("POST", "PATCH") and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        headers = {k: v for k, v in headers.items() if v is not None}
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            if conn is None:
                c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signals the daemon and returns its exit status (kills it after timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("walkrecd did not stop on %s:\n%s" % (sig, self.log()))
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def sanitized():
    """AddressSanitizer or ThreadSanitizer: both reserve terabytes of address space, and a
    ThreadSanitizer build trains in the daemon's own process (src/trainproc.c)."""
    with open(WALKRECD, "rb") as f:
        binary = f.read()
    return b"__asan_init" in binary or b"__tsan_init" in binary


def vm_size(pid):
    """A process's address space in bytes (VmSize)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize for %d" % pid)


# ---- model files (layout in include/walkrec/model.h) ----

class Model:
    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        magic, _version, dim, n, created, nsec = struct.unpack_from("<8sIIQqI", data, 0)
        assert magic == b"WALKREC\0", path
        sections = {}
        for i in range(nsec):
            typ, _res, off, length = struct.unpack_from("<IIQQ", data, 64 + 24 * i)
            sections[typ] = data[off:off + length]
        self.n, self.dim, self.created = n, dim, created
        self.meta = json.loads(sections[1])
        self.ids = [s.decode() for s in sections[2].split(b"\0")[:n]]
        self.row = {s: i for i, s in enumerate(self.ids)}
        def units(raw):
            flat = struct.unpack("<%df" % (n * dim), raw)
            out = []
            for i in range(n):
                v = flat[i * dim:(i + 1) * dim]
                norm = math.sqrt(sum(x * x for x in v))
                out.append([x / norm for x in v] if norm > 0 else [0.0] * dim)
            return out
        self.unit = units(sections[3])
        self.ctx = units(sections[9]) if 9 in sections else None  # context vectors

    def complement(self, a, b):
        """walkrecd's relation=complement: the mean of a's vector against b's context vector
        and a's context vector against b's vector, all unit length."""
        ua, ca, ub, cb = (self.unit[self.row[a]], self.ctx[self.row[a]], self.unit[self.row[b]],
                          self.ctx[self.row[b]])
        return (sum(x * y for x, y in zip(ua, cb)) + sum(x * y for x, y in zip(ca, ub))) / 2

    def score(self, a, b):
        return sum(x * y for x, y in zip(self.unit[self.row[a]], self.unit[self.row[b]]))

    def ranking(self, q, skip=(), keep=None):
        """Every item but `skip` (and only those `keep` accepts), best first, as
        [(id, score)]."""
        out = []
        for i, v in enumerate(self.unit):
            item = self.ids[i]
            if item in skip or (keep and not keep(item)):
                continue
            out.append((item, sum(x * y for x, y in zip(q, v))))
        out.sort(key=lambda t: (-t[1], self.row[t[0]]))
        return out

    def neighbors(self, item, k, exclude=(), min_score=None, keep=None):
        r = self.ranking(self.unit[self.row[item]], {item, *exclude}, keep)
        if min_score is not None:
            r = [t for t in r if t[1] >= min_score]
        return r[:k]

    def basket(self, items, k, negative=(), strategy="average", keep=None):
        """A basket's list as walkrecd computes it (api.c basket): average, 2 x mean(items)
        - mean(negative) (the sum without negatives); best_score, every item by its best
        cosine with an item minus its best with a negative; only items `keep` accepts. An
        entry that is a list is a raw vector, taken as the unit vector of its direction."""
        def unit(x):
            if isinstance(x, str):
                return self.unit[self.row[x]]
            norm = math.sqrt(sum(v * v for v in x))
            return [v / norm for v in x]
        pos = [unit(i) for i in items]
        neg = [unit(i) for i in negative]
        skip = {i for i in list(items) + list(negative) if isinstance(i, str)}
        if strategy == "best_score":
            out = []
            for r, v in enumerate(self.unit):
                if self.ids[r] in skip or (keep and not keep(self.ids[r])):
                    continue
                best = max(sum(x * y for x, y in zip(p, v)) for p in pos)
                if neg:
                    best -= max(sum(x * y for x, y in zip(p, v)) for p in neg)
                out.append((self.ids[r], best))
            out.sort(key=lambda t: (-t[1], self.row[t[0]]))
            return out[:k]
        w = 2.0 / len(pos) if neg else 1.0
        q = [w * sum(col) for col in zip(*pos)]
        if neg:
            q = [x - sum(col) / len(neg) for x, col in zip(q, zip(*neg))]
        norm = math.sqrt(sum(x * x for x in q))
        return self.ranking([x / norm for x in q], skip, keep)[:k]


def same_ranking(got, want, what):
    """got: the API's [{"item", "score"}], want: [(id, score)] from brute force. Near-equal
    scores may come in either order."""
    if len(got) != len(want):
        raise AssertionError("%s: %d neighbours, expected %d" % (what, len(got), len(want)))
    for i, (g, (wi, ws)) in enumerate(zip(got, want)):
        if abs(g["score"] - ws) > 1e-4:
            raise AssertionError("%s, rank %d: %s scores %r, expected %s %r" %
                                 (what, i, g["item"], g["score"], wi, ws))
        if g["item"] != wi and abs(g["score"] - ws) > 1e-6:
            raise AssertionError("%s, rank %d: %s, expected %s" % (what, i, g["item"], wi))


def read_tsv(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    return rows[0], rows[1:]
