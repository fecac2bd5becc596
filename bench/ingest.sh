#!/usr/bin/env bash
# bench/ingest.sh - pair ingestion into walkrecd: throughput with an fsync per request and
# with batched requests, and the delay until a new item's provisional neighbours are served.
#
#   bench/ingest.sh [BUILD_DIR] [MODEL]     (default: build, the built-in catalogue)
#
# 1. walkrecd serves MODEL (or trains the built-in catalogue), retraining off, its data
#    directory (and so the pair log) in $BENCH_WORK (default /tmp/walkrec-ingest) on the
#    disk /tmp is on. With a large MODEL, pass --exact-index-max-items 0 --ann-probe 0 in
#    BENCH_FLAGS to skip building neighbour lists (the provisional lists scan anyway).
# 2. wrk POSTs /v1/pairs for DURATION seconds: batches of 1 pair and of 1000 pairs, from 1
#    connection (every request waits for its own fdatasync) and from 8 (requests waiting at
#    the same moment share one: group commit). Requests/s, pairs/s, p99, and fsyncs per
#    request from /v1/admin/status.
# 3. 20 times: POST a pair joining a new item to a known one, then poll its neighbours
#    until they are served; the delays (median, max).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
MODEL=${2:-}
W=${BENCH_WORK:-${TMPDIR:-/tmp}/walkrec-ingest}
DURATION=${BENCH_DURATION:-10}
PORT=${BENCH_PORT:-18121}
PY=/usr/bin/python3
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }

rm -rf "$W"
mkdir -p "$W/var"
args=(--port "$PORT" --data-dir "$W/var" --retrain-min-pairs 0 --retrain-interval 0)
[ -n "$MODEL" ] && args+=(--model "$MODEL")
# shellcheck disable=SC2206
args+=(${BENCH_FLAGS:-})
"$ROOT/$BUILD/walkrecd" "${args[@]}" 2>"$W/walkrecd.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 $PID 2>/dev/null || { cat "$W/walkrecd.log" >&2; exit 1; }
    sleep 0.5
done
ITEM=$(curl -s "http://127.0.0.1:$PORT/v1/items/P0000001" >/dev/null && echo P0000001 ||
    $PY -c 'import sys, json; print(json.load(sys.stdin)["items"][0])' \
        < <(curl -s "http://127.0.0.1:$PORT/v1/items?limit=1"))

echo "## walkrecd ingestion ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "log on: $(df -T "$W" | awk 'NR==2 {print $1" ("$2")"}'); wrk ${DURATION}s per row"
echo
echo "| pairs per request | connections | requests/s | pairs/s | p99 ms | fsyncs per request |"
echo "|---:|---:|---:|---:|---:|---:|"
for batch in 1 1000; do
    $PY - "$batch" "$ITEM" >"$W/post.lua" <<'EOF'
import json, sys
n, item = int(sys.argv[1]), sys.argv[2]
body = json.dumps({"pairs": [{"a": item, "b": "bench-%d" % i, "weight": 1.0} for i in range(n)]})
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = %s" % json.dumps(body))
print('done = function(summary, latency, requests)')
print('  io.write(string.format("RESULT %d %.6f %d\\n", summary.requests, summary.duration / 1e6, latency:percentile(99)))')
print('  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout')
print('  io.write(string.format("ERRORS %d\\n", bad))')
print('end')
EOF
    for conns in 1 8; do
        before=$(curl -s "http://127.0.0.1:$PORT/v1/admin/status" | $PY -c 'import json,sys; l=json.load(sys.stdin)["log"]; print(l["syncs"], l["records"])')
        out=$(wrk -t1 -c"$conns" -d"${DURATION}s" -s "$W/post.lua" "http://127.0.0.1:$PORT/v1/pairs")
        after=$(curl -s "http://127.0.0.1:$PORT/v1/admin/status" | $PY -c 'import json,sys; l=json.load(sys.stdin)["log"]; print(l["syncs"], l["records"])')
        read -r req dur p99 < <(echo "$out" | awk '/^RESULT/ {print $2, $3, $4}')
        errs=$(echo "$out" | awk '/^ERRORS/ {print $2}')
        [ "$errs" = 0 ] || echo "bench: $errs failed requests (batch $batch, $conns connections)" >&2
        $PY - "$batch" "$conns" "$req" "$dur" "$p99" "$before" "$after" <<'EOF'
import sys
b, c, req, dur, p99 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s0, r0 = map(int, sys.argv[6].split()); s1, r1 = map(int, sys.argv[7].split())
print("| %d | %d | %.0f | %.0f | %.1f | %.2f |" % (b, c, req / dur, req * b / dur, p99 / 1000,
      (s1 - s0) / max(1, r1 - r0)))
EOF
    done
done

echo
$PY - "$PORT" "$ITEM" <<'EOF'
import json, statistics, sys, time, urllib.request
port, item = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
delays = []
for i in range(20):
    new = "new-item-%d-%d" % (time.time_ns(), i)
    t0 = time.monotonic()
    assert call("POST", "/v1/pairs", {"pairs": [{"a": item, "b": new, "weight": 1}]}) == 202
    while call("GET", "/v1/items/%s/neighbors?k=10" % new) != 200:
        time.sleep(0.002)
    delays.append(time.monotonic() - t0)
print("new item -> provisional neighbours served: median %.3f s, max %.3f s (20 items, "
      "polling every 2 ms)" % (statistics.median(delays), max(delays)))
EOF
grep -m1 "published generation" "$W/walkrecd.log" | sed 's/^/model: /'
