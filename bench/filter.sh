#!/usr/bin/env bash
# bench/filter.sh - what an attribute filter costs a neighbour query, at the electronics
# scale.
#
# usage: bench/filter.sh [--build DIR] [--work DIR] [--requests N]
#
# 1. The electronics-scale catalogue (`walkrec synth --preset electronics`: 418,749 items
#    in 1,000 planted categories) trained with `walkrec train` defaults into --work (kept
#    for later runs), and its items file with a price column added (a number per item,
#    seeded) so that ranges are tested too.
# 2. walkrecd serves it; one client asks, for N random items each, the neighbours (k=10)
#    without a filter and with filters that pass most items (the precomputed list
#    answers), a range that passes half of them, one category (0.1% pass: an exact scan of
#    every item through the filter), and a k=200 scan without and with a filter.
# 3. Median and p90 latency per kind, and ratios against the unfiltered query of the same
#    path (list or scan) measured in the same run: what the filter adds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build WORK=${TMPDIR:-/tmp}/walkrec-filter REQUESTS=200
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    -h | --help) sed -n '/^# usage:/,/^#$/{/^#$/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "filter.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$WORK"
echo "# bench/filter.sh, commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) x" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$(date -u +%FT%TZ)"
if [ ! -f "$WORK/model.wr" ]; then
    "$BUILD/walkrec" synth --preset electronics -o "$WORK/pairs.tsv" --items-out "$WORK/cats.tsv" --quiet
    "$BUILD/walkrec" train "$WORK/pairs.tsv" -o "$WORK/model.wr" --threads "$(nproc)" --quiet
fi
awk -F'\t' 'BEGIN { OFS = "\t"; srand(7) } NR == 1 { print $0, "price"; next }
            { print $0, sprintf("%.2f", 1 + 199 * rand()) }' "$WORK/cats.tsv" >"$WORK/items.tsv"
/usr/bin/python3 - "$BUILD/walkrecd" "$WORK" "$REQUESTS" <<'PY'
import http.client, json, os, random, re, statistics, subprocess, sys, time
walkrecd, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = open(os.path.join(work, "walkrecd.log"), "w")
p = subprocess.Popen([walkrecd, "--bind", "127.0.0.1", "--port", "0", "--data-dir",
                      os.path.join(work, "var"), "--model", os.path.join(work, "model.wr"),
                      "--items-file", os.path.join(work, "items.tsv"), "--max-scan-items",
                      "100000000"], stderr=log, stdout=subprocess.DEVNULL)
try:
    port = None
    for _ in range(6000):
        m = re.search(r"listening on [^ ]*:(\d+)", open(log.name).read())
        if m:
            port = int(m.group(1))
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            c.request("GET", "/readyz")
            r = c.getresponse()
            r.read()
            if r.status == 200:
                break
        time.sleep(0.1)
    ids = [line.split("\t")[0] for line in open(os.path.join(work, "cats.tsv"))][1:]
    rnd = random.Random(1)
    queries = rnd.sample(ids, n)
    kinds = [  # (name, query string, the unfiltered kind it is compared with)
        ("list, no filter", "k=10", None),
        ("list, price:1..190 (95% pass)", "k=10&filter=price:1..190", "list, no filter"),
        ("list, !category:c0000", "k=10&filter=!category:c0000", "list, no filter"),
        ("price:1..100 (half pass)", "k=10&filter=price:1..100", "list, no filter"),
        ("scan k=200, no filter", "k=200", None),
        ("scan k=200, price:1..190", "k=200&filter=price:1..190", "scan k=200, no filter"),
        ("scan k=10, category:c0001 (0.1% pass)", "k=10&filter=category:c0001",
         "scan k=200, no filter"),
    ]
    med = {}
    print("| query | median ms | p90 ms | answered from | x the unfiltered |")
    print("|---|---:|---:|---|---:|")
    for name, qs, base in kinds:
        t = []
        for item in queries:
            t0 = time.perf_counter()
            c.request("GET", "/v1/items/%s/neighbors?%s" % (item, qs))
            r = c.getresponse()
            body = r.read()
            t.append((time.perf_counter() - t0) * 1000)
            assert r.status == 200, body
        med[name] = statistics.median(t)
        p90 = sorted(t)[int(0.9 * len(t))]
        scans = "scan" if "scan" in name else "lists"
        print("| %s | %.3f | %.3f | %s | %s |" % (name, med[name], p90, scans,
              "%.2f" % (med[name] / med[base]) if base else "–"))
finally:
    p.terminate()
    p.wait()
PY
