"""cost.py - a probe's reads from the precomputed lists, alone and beside clients that send
the heaviest requests walkrecd's limits allow (bench/cost.sh runs it; Python 3 standard
library only).

    cost.py PORT [--seconds 20] [--clients 4] [--label NAME] [--json OUT]

1. Finds the heaviest requests the limits allow on this catalogue (GET /v1/model gives the
   items and the lists' length; the limits are walkrecd's defaults unless --max-scan-items
   and --max-response-bytes say otherwise): "scans", as many items as max_scan_items pays
   exact scans for (the other order than the lists'), with the largest k whose answer fits
   in max_response_bytes; "bytes", 1000 items with lists of index_k, the largest answer
   without a scan. Each is sent once alone: it must answer 200 (k is lowered by a tenth
   until it does).
2. The probe: one connection, GET /v1/items/ID/neighbors?k=10 for random items, one every
   10 ms, for --seconds; latency of each, failures (anything but 200, or an error).
3. The same probe while --clients processes each send the heavy requests in turn on their
   own connection, reading every answer, for --seconds.
4. The response-size limit (the request of 1,000 items with k=1000) and gzip: a k=1000
   answer and the "bytes" answer with and without Accept-Encoding: gzip.
Prints a table; --json writes the figures."""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import sys
import time

P = argparse.ArgumentParser()
P.add_argument("port", type=int)
P.add_argument("--seconds", type=float, default=20)
P.add_argument("--clients", type=int, default=4)
P.add_argument("--label", default="walkrecd")
P.add_argument("--json")
P.add_argument("--max-scan-items", type=int, default=10000000)
P.add_argument("--max-response-bytes", type=int, default=8388608)
A = P.parse_args()
JSON = {"Content-Type": "application/json"}


def conn():
    return http.client.HTTPConnection("127.0.0.1", A.port, timeout=120)


def request(c, method, path, body=None, headers=None):
    t = time.perf_counter()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, data, time.perf_counter() - t, dict(r.getheaders())


def ids_of(n):
    """Item ids: the built-in and synthetic catalogues name row i P%07d."""
    c = conn()
    first = json.loads(request(c, "GET", "/v1/items?limit=1")[1])["items"][0]
    if first != "P0000000" or request(c, "GET", "/v1/items/P%07d" % (n - 1))[0] != 200:
        sys.exit("cost.py: expects ids P0000000..P%07d" % (n - 1))
    return ["P%07d" % i for i in range(n)]


def heavy_requests(model, ids):
    n, lists_k, rank = model["items"], model["index"]["k"], model["index"]["rank"]
    other = "cosine" if rank == "probability" else "probability"
    rng = random.Random(7)
    items = min(1000, A.max_scan_items // n)
    k = min(1000, A.max_response_bytes // (items * 70))
    scans = {"items": rng.sample(ids, items), "k": k, "rank": other}
    byte_heavy = {"items": rng.sample(ids, 1000), "k": lists_k}
    out = {}
    c = conn()
    for name, req in (("scans", scans), ("bytes", byte_heavy)):
        while True:
            status, data, secs, _ = request(c, "POST", "/v1/neighbors", json.dumps(req), JSON)
            if status == 200:
                break
            if status != 400 or b"response_too_large" not in data or req["k"] < 2:
                sys.exit("cost.py: %s request: %d %s" % (name, status, data[:300]))
            req["k"] = req["k"] * 9 // 10
        out[name] = {"request": req, "body": json.dumps(req), "bytes": len(data),
                     "seconds_alone": secs,
                     "scans": len(req["items"]) if req.get("rank") == other else 0}
    return out


def probe(seconds, ids, q):
    rng = random.Random(1)
    c = conn()
    lat, fail = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        path = "/v1/items/%s/neighbors?k=10" % rng.choice(ids)
        try:
            status, data, secs, _ = request(c, "GET", path)
            lat.append(secs)
            if status != 200:
                fail.append("%s: %d" % (path, status))
        except Exception as e:  # noqa: BLE001 - any failure counts
            fail.append("%s: %r" % (path, e))
            c.close()
            c = conn()
        time.sleep(0.01)
    q.put((lat, fail))


def load(seconds, bodies, q):
    c = conn()
    got = []  # (kind, status, bytes, seconds)
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        kind, body = bodies[i % len(bodies)]
        i += 1
        try:
            status, data, secs, _ = request(c, "POST", "/v1/neighbors", body, JSON)
            got.append((kind, status, len(data), secs))
        except Exception as e:  # noqa: BLE001
            got.append((kind, repr(e), 0, 0))
            c.close()
            c = conn()
    q.put(got)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def summary(lat, fail):
    return {"answered": len(lat), "failures": len(fail), "failed": fail[:5],
            "p50_ms": pct(lat, 50) * 1000, "p99_ms": pct(lat, 99) * 1000,
            "max_ms": max(lat) * 1000 if lat else float("nan")}


def run(seconds, ids, bodies, clients):
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=load, args=(seconds + 1, bodies, q))
             for _ in range(clients)]
    for p in procs:
        p.start()
    if clients:
        time.sleep(1)  # the load under way first
    pq = multiprocessing.Queue()
    pr = multiprocessing.Process(target=probe, args=(seconds, ids, pq))
    pr.start()
    lat, fail = pq.get()
    pr.join()
    loads = [q.get() for _ in procs]
    for p in procs:
        p.join()
    return summary(lat, fail), [x for g in loads for x in g]


def main():
    c = conn()
    model = json.loads(request(c, "GET", "/v1/model")[1])
    ids = ids_of(model["items"])
    heavy = heavy_requests(model, ids)
    bodies = [(k, v["body"]) for k, v in heavy.items()]
    alone, _ = run(A.seconds, ids, bodies, 0)
    loaded, answers = run(A.seconds, ids, bodies, A.clients)

    # the response-size limit and gzip (a new connection: the first one idled past
    # connection_timeout)
    c = conn()
    issue = json.dumps({"items": ids[:1000], "k": 1000})
    status, data, secs, _ = request(c, "POST", "/v1/neighbors", issue, JSON)
    limit = {"status": status, "bytes": len(data), "seconds": secs,
             "code": json.loads(data)["error"]["code"] if status >= 400 else None}
    gz = {}
    for name, method, path, body in (
            ("k=1000", "GET", "/v1/items/%s/neighbors?k=1000" % ids[1], None),
            ("bytes", "POST", "/v1/neighbors", heavy["bytes"]["body"])):
        s1, plain, t1, _ = request(c, method, path, body, JSON)
        s2, z, t2, h = request(c, method, path, body, {**JSON, "Accept-Encoding": "gzip"})
        gz[name] = {"status": (s1, s2), "identity": len(plain), "gzip": len(z),
                    "encoding": h.get("Content-Encoding"), "seconds": (t1, t2)}

    kinds = {}
    for kind, status, nbytes, secs in answers:
        d = kinds.setdefault(kind, {"answers": 0, "statuses": {}, "seconds": []})
        d["answers"] += 1
        d["statuses"][str(status)] = d["statuses"].get(str(status), 0) + 1
        if status == 200:
            d["seconds"].append(secs)
    for d in kinds.values():
        s = d.pop("seconds")
        d["p50_s"], d["max_s"] = pct(s, 50), max(s) if s else float("nan")

    res = {"label": A.label, "items": model["items"], "lists": model["index"],
           "heavy": {k: {x: v[x] for x in ("request", "bytes", "seconds_alone", "scans")}
                     for k, v in heavy.items()},
           "probe_alone": alone, "probe_loaded": loaded, "load": kinds, "limit": limit,
           "gzip": gz, "clients": A.clients, "seconds": A.seconds}
    for v in res["heavy"].values():
        v["request"] = dict(v["request"], items="%d ids" % len(v["request"]["items"]))
    if A.json:
        with open(A.json, "w") as f:
            json.dump(res, f, indent=1)

    print("== %s: %d items, lists of %d by %s" % (A.label, model["items"], model["index"]["k"],
                                                   model["index"]["rank"]))
    for k, v in res["heavy"].items():
        print("   heavy %-5s %s: %d bytes, %d scans, %.3f s alone" %
              (k, json.dumps(v["request"]), v["bytes"], v["scans"], v["seconds_alone"]))
    print("   %-28s %8s %9s %9s %9s %8s" % ("probe, k=10 from the lists", "answers", "p50 ms",
                                           "p99 ms", "max ms", "failed"))
    for name, s in (("alone", alone), ("beside %d heavy clients" % A.clients, loaded)):
        print("   %-28s %8d %9.2f %9.2f %9.2f %8d" % (name, s["answered"], s["p50_ms"],
                                                     s["p99_ms"], s["max_ms"], s["failures"]))
    print("   ratio loaded/alone: p50 %.2f, p99 %.2f" %
          (loaded["p50_ms"] / alone["p50_ms"], loaded["p99_ms"] / alone["p99_ms"]))
    for kind, d in kinds.items():
        print("   heavy %-5s answers %d %s, p50 %.3f s, max %.3f s" %
              (kind, d["answers"], d["statuses"], d["p50_s"], d["max_s"]))
    print("   1000 items, k=1000: %d %s, %d bytes, %.3f s" % (limit["status"], limit["code"],
                                                             limit["bytes"], limit["seconds"]))
    for name, g in gz.items():
        print("   gzip %-6s %d -> %d bytes (%.1fx, %s), %.3f s -> %.3f s" %
              (name, g["identity"], g["gzip"], g["identity"] / g["gzip"], g["encoding"],
               g["seconds"][0], g["seconds"][1]))
    if loaded["failed"]:
        print("   probe failures: %s" % loaded["failed"])


if __name__ == "__main__":
    main()
