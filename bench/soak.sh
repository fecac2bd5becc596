#!/usr/bin/env bash
# bench/soak.sh - walkrecd under mixed load for a long time, retraining every 30 seconds.
#
#   bench/soak.sh [BUILD_DIR] [MINUTES]      (default: build, 10)
#
# walkrecd serves the built-in catalogue (trained at start) with retraining on demand; wrk
# (2 connections, one thread) sends a mix of neighbour lists, single scores, score batches,
# basket queries and pair ingestion (1 request in 10) for MINUTES minutes, in 10-second
# slices, while a loop asks for a retrain every 30 seconds. Every candidate is published
# (gate_max_auc_drop 1): the random pairs the load ingests lower the validation AUC, and a
# refused candidate would skip the index build and the swap, the part of a retrain that
# serving feels. Training itself runs in a child process (src/trainproc.c).
#
# Per slice: requests, failed requests (non-2xx or socket errors), p99, whether a retrain
# ran, RSS and open file descriptors of the daemon. A slice counts as "during a retrain"
# when the trainer was busy at either end of it or finished a run within it (a run of the
# built-in catalogue takes a second or two, far less than a slice). The summary: requests
# served, failures (must be 0), p99 before the first retrain, during retrains and between
# them, RSS at the start and the end (growth must stay under 5%), descriptors at the start
# and the end, trainer processes left. RSS growth is counted from the end of minute 2: the
# first retrains add the index kept for rollback and the allocator's working set.

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
MINUTES=${2:-10}
W=${BENCH_WORK:-${TMPDIR:-/tmp}/walkrec-soak}
PORT=${BENCH_PORT:-18161}
PY=/usr/bin/python3
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }

rm -rf "$W"
mkdir -p "$W"
"$ROOT/$BUILD/walkrecd" --port "$PORT" --data-dir "$W/var" --retrain-min-pairs 0 \
    --retrain-interval 0 --train-threads 1 --gate-max-auc-drop 1 ${BENCH_FLAGS:-} \
    2>"$W/walkrecd.log" &
PID=$!
RETRAINER=
trap 'kill $PID $RETRAINER 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 $PID 2>/dev/null || { cat "$W/walkrecd.log" >&2; exit 1; }
    sleep 0.5
done

cat >"$W/mix.lua" <<'EOF'
local n = 0
local function id(i) return string.format("P%07d", i % 2000) end
request = function()
  n = n + 1
  local i = math.random(0, 1999)
  local r = n % 10
  if r < 5 then
    return wrk.format("GET", "/v1/items/" .. id(i) .. "/neighbors?k=10")
  elseif r < 7 then
    return wrk.format("GET", "/v1/score?a=" .. id(i) .. "&b=" .. id(i * 7 + 3))
  elseif r == 7 then
    local body = '{"pairs":[["' .. id(i) .. '","' .. id(i + 1) .. '"],["' .. id(i + 2) .. '","' .. id(i + 3) .. '"]]}'
    return wrk.format("POST", "/v1/score", {["Content-Type"] = "application/json"}, body)
  elseif r == 8 then
    local body = '{"items":["' .. id(i) .. '","' .. id(i + 5) .. '"],"k":10,"mode":"basket"}'
    return wrk.format("POST", "/v1/neighbors", {["Content-Type"] = "application/json"}, body)
  else
    local body = '{"pairs":[{"a":"' .. id(i) .. '","b":"' .. id(i * 13 + 1) .. '","weight":1}]}'
    return wrk.format("POST", "/v1/pairs", {["Content-Type"] = "application/json"}, body)
  end
end
done = function(s, l, r)
  local e = s.errors
  io.write(string.format("SLICE %d %d %d %d %d %d %d %d %d\n", s.requests,
    e.status + e.connect + e.read + e.write + e.timeout, l:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout, l.max))
end
EOF

(while sleep 30; do curl -s -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/admin/retrain" >/dev/null; done) &
RETRAINER=$!

proc() { # RSS KiB and descriptors of the daemon
    echo "$(awk '/^VmRSS/ {print $2}' /proc/$PID/status) $(ls /proc/$PID/fd | wc -l)"
}
state() { # trainer state and runs finished
    curl -s "http://127.0.0.1:$PORT/v1/admin/status" |
        $PY -c 'import json,sys; s = json.load(sys.stdin); print(s["state"], s["runs"])'
}

echo "slice requests failed p99_us retraining rss_kib fds runs status connect read write timeout max_us" >"$W/slices.txt"
slices=$((MINUTES * 6))
for s in $(seq 1 $slices); do
    read -r st0 runs0 <<<"$(state)"
    out=$(wrk -t1 -c2 -d10s -s "$W/mix.lua" "http://127.0.0.1:$PORT" | awk '/^SLICE/ {print $2, $3, $4; print $5, $6, $7, $8, $9, $10 >"/dev/stderr"}' 2>"$W/errors")
    read -r st1 runs1 <<<"$(state)"
    busy=0
    if [ "$st0" != idle ] || [ "$st1" != idle ] || [ "$runs0" != "$runs1" ]; then busy=1; fi
    echo "$s $out $busy $(proc) $runs1 $(cat "$W/errors")" >>"$W/slices.txt"
done
kill $RETRAINER 2>/dev/null || true
children=$(pgrep -P $PID | wc -l || true) # trainer processes left (a run may be going)

$PY - "$W/slices.txt" "$PORT" "$children" <<'EOF'
import json, statistics, sys, urllib.request
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
rows = [[int(x) for x in r] for r in rows]
req = sum(r[1] for r in rows); bad = sum(r[2] for r in rows)
first = next((i for i, r in enumerate(rows) if r[4]), len(rows))  # first slice with a run
before = [r[3] / 1000 for r in rows[:first]]
busy = [r[3] / 1000 for r in rows if r[4]]
after = [r[3] / 1000 for r in rows[first:] if not r[4]]
st = json.load(urllib.request.urlopen("http://127.0.0.1:%s/v1/admin/status" % sys.argv[2]))
rss0, rss1, fd0, fd1 = rows[0][5], rows[-1][5], rows[0][6], rows[-1][6]
print("## walkrecd soak: %d s of mixed load, a retrain asked for every 30 s" % (10 * len(rows)))
print()
print("| measure | value |")
print("|---|---:|")
print("| requests served | %d |" % req)
kinds = ("non-2xx", "connect", "read", "write", "timeout")
print("| failed requests | %d%s |" % (bad, " (%s)" % ", ".join(
    "%s %d" % (k, sum(r[8 + i] for r in rows)) for i, k in enumerate(kinds)) if bad else ""))
print("| retraining runs (published / refused) | %d (%d / %d) |" % (st["runs"], st["published"], st["refused"]))
print("| 10-s slices before the first retrain / during retrains / between them | %d / %d / %d |" % (
    len(before), len(busy), len(after)))
def p99(name, xs):
    print("| p99 ms, %s (median, max over slices) | %s |" % (
        name, "%.1f, %.1f" % (statistics.median(xs), max(xs)) if xs else "-"))
p99("before the first retrain", before)
p99("during retrains", busy)
p99("between retrains, after the first", after)
print("| slowest request, ms | %.1f |" % (max(r[13] for r in rows) / 1000))
# Before the first retrain the daemon holds one index; afterwards the live one, the one kept
# for rollback and a run's transient memory: growth is measured from the end of minute 2.
warm = rows[min(11, len(rows) - 1)][5]
print("| RSS MiB at the first slice / after 2 minutes / at the end | %.1f / %.1f / %.1f (%+.1f%% since minute 2) |" % (
    rss0 / 1024, warm / 1024, rss1 / 1024, 100 * (rss1 - warm) / warm))
print("| RSS MiB, largest slice | %.1f |" % (max(r[5] for r in rows) / 1024))
print("| open descriptors first / last (min, max) | %d / %d (%d, %d) |" % (
    fd0, fd1, min(r[6] for r in rows), max(r[6] for r in rows)))
print("| trainer processes at the end (a run may be going) | %s |" % sys.argv[3])
EOF
echo
echo "per-slice figures: $W/slices.txt; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
