#!/usr/bin/env bash
# bench/explain.sh - what explain=1 costs per answer: neighbours (k=10) and pair scores with
# and without their explanations, on one core, and the pair graph's size and memory.
#
#   bench/explain.sh BUILD_DIR MODEL PAIRS [ITEMS]
#
# MODEL: a model file with stored lists (walkrec train, walkrec index); PAIRS: the pairs it
# was trained on; ITEMS: an items file (side information) or nothing. The work folder is
# $BENCH_WORK (default a new temp dir): MODEL is linked there as model.wr, and
# `walkrec graph` writes model.graph beside it (timed, with its peak RSS).
#
# walkrecd (one HTTP thread) is started once without the graph (its RSS at ready), then
# with it, and serves the model on core 0; wrk (one thread, BENCH_CONNECTIONS
# connections, default 8) asks on core 1 for the neighbours of random items of the model,
# then for the scores of random pairs, each BENCH_DURATION seconds (default 10), without
# and with explain=1, in turn (plain, explain, plain, explain, ...) so that a change of the
# shared machine's load shows (BENCH_ROUNDS pairs of runs, default 3). Prints requests per
# second, p50 and p99, the answers' mean size, and the daemon's CPU time per answer (utime +
# stime from /proc over the requests wrk completed: other jobs on a shared machine change
# the rate far more than the CPU an answer takes) with the ratio explain / plain of each
# round; the daemon's RSS (file-backed and anonymous) at ready without the graph file and
# with it, after the first plain and explain runs and at the end; the machine and its load.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
MODEL=$(readlink -f "$2")
PAIRS=$(readlink -f "$3")
ITEMS=${4:+$(readlink -f "$4")}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-8}
W=${BENCH_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/walkrec-explain.XXXXXX")}
mkdir -p "$W/var"
command -v wrk >/dev/null || { echo "explain.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
DPID=""
cleanup() { [ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(load)"
echo "commit: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
ln -sf "$MODEL" "$W/model.wr"
rm -f "$W/model.graph"
start() { # the daemon on the model, stderr in $W/$1.log; sets DPID, PORT
    "$BUILD/walkrecd" --port 0 --data-dir "$W/var" --model "$W/model.wr" --threads 1 \
        ${ITEMS:+--items-file "$ITEMS"} 2>"$W/$1.log" &
    DPID=$!
    PORT=""
    until [ -n "$PORT" ]; do
        sleep 0.2
        kill -0 $DPID || { cat "$W/$1.log" >&2; exit 1; }
        PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$W/$1.log" | cut -d: -f3 || true)
    done
    until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
        sleep 0.5
        kill -0 $DPID || { cat "$W/$1.log" >&2; exit 1; }
    done
}
rss() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %d MiB  ", $1, $2 / 1024}' /proc/$DPID/status; }
start nograph
echo "RSS at ready, no graph:  $(rss)"
kill $DPID
wait $DPID || true
DPID=""
/usr/bin/time -f "graph written in %e s, peak RSS %M KiB" \
    "$BUILD/walkrec" graph "$W/model.wr" "$PAIRS" 2>&1 | sed 's/^/walkrec graph: /'
echo "graph file: $(stat -c %s "$W/model.graph") bytes"

# the model's ids, for random queries (the ids section of the model file, model.h)
/usr/bin/python3 - "$MODEL" "$W/ids.txt" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(64)
    _m, _v, _dim, n, _c, nsec = struct.unpack_from("<8sIIQqI", head, 0)
    table = f.read(24 * nsec)
    for i in range(nsec):
        typ, _r, off, length = struct.unpack_from("<IIQQ", table, 24 * i)
        if typ == 2:
            f.seek(off)
            ids = f.read(length).split(b"\0")[:n]
with open(sys.argv[2], "wb") as out:
    out.write(b"\n".join(ids) + b"\n")
PY

start walkrecd
grep -E "graph|explanations" "$W/walkrecd.log" || true
echo "RSS at ready, graph:     $(rss)"
taskset -a -p -c 0 $DPID >/dev/null

for what in neighbors score; do
    for e in 0 1; do
        cat >"$W/$what-$e.lua" <<LUA
math.randomseed(42)
local ids = {}
for line in io.lines("$W/ids.txt") do ids[#ids + 1] = line end
local function pick() return ids[math.random(1, #ids)] end
request = function()
  if "$what" == "neighbors" then
    return wrk.format("GET", "/v1/items/" .. pick() .. "/neighbors?k=10&explain=$e")
  end
  return wrk.format("GET", "/v1/score?a=" .. pick() .. "&b=" .. pick() .. "&explain=$e")
end
LUA
    done
done

# mean answer size over 200 random queries
size() { # WHAT EXPLAIN
    /usr/bin/python3 - "$W/ids.txt" "$PORT" "$1" "$2" <<'PY'
import http.client, random, sys
ids = open(sys.argv[1]).read().split()
rng, c, total = random.Random(7), http.client.HTTPConnection("127.0.0.1", int(sys.argv[2])), 0
for _ in range(200):
    a, b = rng.choice(ids), rng.choice(ids)
    c.request("GET", "/v1/items/%s/neighbors?k=10&explain=%s" % (a, sys.argv[4])
              if sys.argv[3] == "neighbors" else "/v1/score?a=%s&b=%s&explain=%s" % (a, b, sys.argv[4]))
    total += len(c.getresponse().read())
print(total // 200)
PY
}
ms() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); x = v + 0;
    if (u == "us") x /= 1000; else if (u == "s") x *= 1000; printf "%.3f", x }'; }
cpu() { awk '{print $14 + $15}' /proc/$DPID/stat; } # the daemon's CPU time, in ticks
run() { # WHAT EXPLAIN ROUND -> "rps p50 p99 cpu_us_per_answer errors"
    local out="$W/wrk-$1-$2-$3.txt" c0 c1
    c0=$(cpu)
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$W/$1-$2.lua" \
        "http://127.0.0.1:$PORT/" >"$out"
    c1=$(cpu)
    echo "$(awk '/Requests\/sec/ {print $2}' "$out") $(ms "$(awk '$1 == "50%" {print $2}' "$out")")" \
         "$(ms "$(awk '$1 == "99%" {print $2}' "$out")")" \
         "$(awk -v c=$((c1 - c0)) -v t="$(getconf CLK_TCK)" '/requests in/ {print c / t * 1e6 / $1}' "$out")" \
         "$(awk '/Non-2xx|Socket errors/ {e = 1} END {print e ? "errors" : "ok"}' "$out")"
}

printf "\n%-10s %-8s %5s %10s %9s %9s %8s %12s %s\n" route explain round "req/s" "p50 ms" \
    "p99 ms" bytes "CPU us/ans" status
ROUNDS=${BENCH_ROUNDS:-3}
for what in neighbors score; do
    b0=$(size "$what" 0)
    b1=$(size "$what" 1)
    cpus=()
    for round in $(seq "$ROUNDS"); do
        for e in 0 1; do
            read -r rps p50 p99 us st <<<"$(run "$what" "$e" "$round")"
            cpus+=("$us")
            [ "$e" = 0 ] && bytes=$b0 || bytes=$b1
            printf "%-10s %-8s %5s %10.0f %9.3f %9.3f %8s %12.2f %s (load %s)\n" "$what" "$e" \
                "$round" "$rps" "$p50" "$p99" "$bytes" "$us" "$st" "$(load)"
            if [ "$what" = neighbors ] && [ "$round" = 1 ]; then
                echo "RSS after it:            $(rss)"
            fi
        done
    done
    # the daemon's CPU time per answer, explain=1 over explain=0 of the same round
    echo "${cpus[*]}" | awk -v w="$what" '{ r = ""; m = 0; for (i = 1; i < NF; i += 2) {
            r = r sprintf(" %.2f", $(i + 1) / $i); d = d sprintf(" %+.1f", $(i + 1) - $i) }
        printf "%s: CPU per answer with explain=1 / without, by round:%s; difference (us):%s\n", w, r, d }'
done
echo "RSS at the end:          $(rss)"
echo "load at the end: $(load)"
