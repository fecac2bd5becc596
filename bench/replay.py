#!/usr/bin/python3
"""bench/replay.py - what a restart costs when pairs are pending: the pair log replayed into
provisional items.

usage: bench/replay.py [--build DIR] [--model FILE] [--pairs N] [--new-fraction F] [--out DIR]

Copies MODEL (a model file with stored lists, e.g. bench/scale.sh's electronics model) into
OUT/var as generation 1 and starts walkrecd on it (retraining off). Ingests N pairs in
batches of 1000 through POST /v1/pairs: a fraction F of them join a new item with a known
one (each new item gets 2-3 known partners), the rest join two known items. Measures the
time until every new item is served (the live overlay), then kill -9 and a start on the
same directory: seconds to /readyz, the replay as walkrecd logs it, and the seconds until
every new item is served again with the pending count restored. Results: OUT/results.json.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--model", default="/var/tmp/walkrec-scale-electronics/model.wr")
ap.add_argument("--pairs", type=int, default=100000)
ap.add_argument("--new-fraction", type=float, default=0.5)
ap.add_argument("--out", default="/var/tmp/walkrec-replay")
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()


def log(msg):
    load = open("/proc/loadavg").read().split()[0]
    print("[replay %s load %s] %s" % (time.strftime("%H:%M:%S"), load, msg), file=sys.stderr,
          flush=True)


def model_ids(path):
    """The ids section of a model file (include/walkrec/model.h)."""
    with open(path, "rb") as f:
        head = f.read(64)
        n, nsec = struct.unpack_from("<Q", head, 16)[0], struct.unpack_from("<I", head, 32)[0]
        table = f.read(24 * nsec)
        for i in range(nsec):
            typ, _r, off, length = struct.unpack_from("<IIQQ", table, 24 * i)
            if typ == 2:
                f.seek(off)
                return [s.decode() for s in f.read(length).split(b"\0")[:n]]
    raise SystemExit("%s: no ids section" % path)


class Daemon:
    def __init__(self, data, logpath):
        self.logpath = logpath
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            [os.path.join(a.build, "walkrecd"), "--bind", "127.0.0.1", "--port", "0",
             "--data-dir", data, "--retrain-min-pairs", "0", "--retrain-interval", "0"],
            stdout=subprocess.DEVNULL, stderr=open(logpath, "w"))
        while True:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", open(logpath).read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise SystemExit(open(logpath).read())
            time.sleep(0.02)
        while self.req("GET", "/readyz")[0] != 200:
            time.sleep(0.05)
        self.ready = time.time() - self.t0

    def req(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"} if body is not None else {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def status(self):
        return json.loads(self.req("GET", "/v1/admin/status")[1])

    def wait_provisional(self, n, t0):
        while True:
            s = self.status()
            if s["provisional_items"] >= n:
                return time.time() - t0, s
            time.sleep(0.05)


os.makedirs(a.out, exist_ok=True)
data = os.path.join(a.out, "var")
shutil.rmtree(data, ignore_errors=True)
os.makedirs(data)
log("copying %s" % a.model)
shutil.copy(a.model, os.path.join(data, "model-1.wr"))
ids = model_ids(a.model)
rng = random.Random(a.seed)
pairs, new_items = [], []
n_new_pairs = int(a.pairs * a.new_fraction)
while len(pairs) < n_new_pairs:
    item = "NEW%07d" % len(new_items)
    new_items.append(item)
    for _ in range(rng.choice((2, 3))):
        pairs.append({"a": item, "b": rng.choice(ids), "weight": 1.0})
pairs = pairs[:n_new_pairs]
while len(pairs) < a.pairs:
    pairs.append({"a": rng.choice(ids), "b": rng.choice(ids), "weight": 0.5})
rng.shuffle(pairs)
new_items = sorted({p["a"] for p in pairs if p["a"].startswith("NEW")})
log("%d items in the model; ingesting %d pairs, %d new items" %
    (len(ids), len(pairs), len(new_items)))

d = Daemon(data, os.path.join(a.out, "first.log"))
log("ready in %.2f s" % d.ready)
t0 = time.time()
for i in range(0, len(pairs), 1000):
    st, body = d.req("POST", "/v1/pairs", {"pairs": pairs[i:i + 1000]})
    assert st == 202, body
ingest = time.time() - t0
live, s = d.wait_provisional(len(new_items), t0)
log("ingested in %.2f s; every new item served %.2f s after the first POST; pending %d" %
    (ingest, live, s["pending_pairs"]))
d.proc.send_signal(signal.SIGKILL)
d.proc.wait()

d = Daemon(data, os.path.join(a.out, "restart.log"))
served, s = d.wait_provisional(len(new_items), d.t0)
text = open(d.logpath).read()
m = re.search(r"pair log replayed: (\d+) pairs in ([0-9.]+) s", text)
p = re.findall(r"provisional items: (\d+) in ([0-9.]+) s", text)
res = {"commit": subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip(),
       "machine": "%d cores" % os.cpu_count(), "model_items": len(ids), "pairs": len(pairs),
       "new_items": len(new_items), "ingest_seconds": round(ingest, 2),
       "live_all_served_seconds": round(live, 2),
       "restart": {"ready_seconds": round(d.ready, 2),
                   "all_served_seconds": round(served, 2),
                   "replay_seconds": float(m.group(2)) if m else None,
                   "replayed_pairs": int(m.group(1)) if m else None,
                   "overlay_build_seconds": float(p[-1][1]) if p else None,
                   "pending_pairs": s["pending_pairs"],
                   "provisional_items": s["provisional_items"]}}
d.proc.send_signal(signal.SIGTERM)
d.proc.wait()
json.dump(res, open(os.path.join(a.out, "results.json"), "w"), indent=1)
log("restart: ready in %.2f s, log replayed in %s s, every new item served %.2f s after "
    "start, pending %d" % (d.ready, m.group(2) if m else "?", served, s["pending_pairs"]))
print(json.dumps(res, indent=1))
