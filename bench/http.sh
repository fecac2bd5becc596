#!/usr/bin/env bash
# bench/http.sh - walkrecd under load, against nginx serving a static file (the ceiling).
#
#   bench/http.sh [BUILD_DIR]        (default: build; installs wrk and nginx if missing)
#
# 1. An electronics-scale model: `walkrec synth --preset electronics` (418,749 items,
#    4,005,262 pairs) + `walkrec train`; BENCH_MODEL=random imports random vectors of the
#    same shape instead (faster; the load test does not depend on what the vectors mean).
#    Kept in $BENCH_WORK (default /tmp/walkrec-bench) for later runs.
# 2. walkrecd loads it and builds the neighbour lists (index_threads = every core): the log
#    gives the build time.
# 3. walkrecd (one HTTP thread) and wrk (one thread) are pinned to one core each
#    (taskset); wrk asks for the neighbours (k=10) of random items, then the score of
#    random pairs. nginx, pinned to the same core with one worker, serves a static JSON
#    file of the same size as each answer to the same wrk command. Requests per second and
#    p50/p99 latency of both, and their ratios.
# 4. A new model file is published (SIGHUP) while wrk keeps asking for neighbours, the
#    daemon now free to use every core for the rebuild: wrk must see no failed request, and
#    the generation must change.
# Targets: walkrecd at least half of nginx's requests per second, p99 within twice nginx's.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
W=${BENCH_WORK:-${TMPDIR:-/tmp}/walkrec-bench}
DURATION=${BENCH_DURATION:-20}
CONNS=${BENCH_CONNECTIONS:-16}
WALKREC=$ROOT/$BUILD/walkrec
WALKRECD=$ROOT/$BUILD/walkrecd

need() {
    command -v "$1" >/dev/null && return 0
    echo "bench: installing $2" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need wrk wrk
need nginx nginx
[ -x "$WALKRECD" ] || { echo "bench: build first (meson compile -C $BUILD)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "bench: needs two cores (one for the server, one for wrk)" >&2; exit 1; }

# Debian's OpenBLAS takes these virtual CPUs for a Prescott (SSE3 kernels, 15 GFLOP/s per
# core for the neighbour lists' products against 74 with its AVX-512 ones): name the CPU.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi

mkdir -p "$W"
RUN=$(mktemp -d "$W/run.XXXXXX")
DPID="" NPID="" WPID=""
cleanup() {
    for p in $WPID $DPID $NPID; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT

# ---- 1. the model ----
MODEL=$W/electronics-${BENCH_MODEL:-trained}.wr
if [ ! -f "$MODEL" ]; then
    if [ "${BENCH_MODEL:-trained}" = random ]; then
        echo "bench: random vectors of the electronics shape (418749 x 128) -> $MODEL" >&2
        /usr/bin/python3 - "$RUN/vectors.bin" <<'PY'
import random, struct, sys
n, dim, rng = 418749, 128, random.Random(1)
with open(sys.argv[1], "wb") as f:
    f.write(b"%d %d\n" % (n, dim))
    for i in range(n):
        f.write(b"P%07d " % i + struct.pack("<%df" % dim, *(rng.gauss(0, 1) for _ in range(dim))) + b"\n")
PY
        "$WALKREC" import "$RUN/vectors.bin" -o "$MODEL"
    else
        echo "bench: synthetic electronics catalogue + training -> $MODEL" >&2
        "$WALKREC" synth --preset electronics -o "$W/electronics-pairs.tsv" --quiet
        /usr/bin/time -f "bench: training took %e s, peak RSS %M KiB" \
            "$WALKREC" train "$W/electronics-pairs.tsv" -o "$MODEL" --quiet
    fi
fi

# ---- 2. the daemon and its index ----
mkdir -p "$RUN/var"
ln "$MODEL" "$RUN/var/model-1.wr" 2>/dev/null || cp "$MODEL" "$RUN/var/model-1.wr"
"$WALKRECD" --port 0 --data-dir "$RUN/var" --threads 1 --index-threads 0 \
    --connection-limit 4096 2>"$RUN/walkrecd.log" &
DPID=$!
ready() { curl -sf "http://127.0.0.1:$PORT/readyz" | grep -q "\"generation\":$1"; }
PORT=""
until [ -n "$PORT" ]; do
    sleep 0.2
    kill -0 $DPID || { cat "$RUN/walkrecd.log" >&2; exit 1; }
    PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$RUN/walkrecd.log" | cut -d: -f3 || true)
done
until ready 1; do sleep 1; kill -0 $DPID || { cat "$RUN/walkrecd.log" >&2; exit 1; }; done
BUILD_LINE=$(grep -E "neighbour lists( \([a-z]+\))?: .* items x" "$RUN/walkrecd.log" | tail -1)
RSS=$(grep VmRSS /proc/$DPID/status | awk '{print $2}')

# ---- 3. pinned load: walkrecd vs nginx ----
taskset -a -p -c 0 $DPID >/dev/null

cat >"$RUN/neighbors.lua" <<'LUA'
math.randomseed(42)
request = function()
  return wrk.format("GET", string.format("/v1/items/P%07d/neighbors?k=10", math.random(0, 418748)))
end
LUA
cat >"$RUN/score.lua" <<'LUA'
math.randomseed(43)
request = function()
  return wrk.format("GET", string.format("/v1/score?a=P%07d&b=P%07d",
                    math.random(0, 418748), math.random(0, 418748)))
end
LUA

# nginx: one worker on the server's core, files as large as walkrecd's answers
mkdir -p "$RUN/www" "$RUN/nginx"
pad_to() { # a JSON file of exactly $2 bytes
    /usr/bin/python3 -c 'import sys; n=int(sys.argv[2]); s="{\"pad\":\"\"}"; open(sys.argv[1],"w").write(s[:-2] + "x"*(n-len(s)) + s[-2:])' "$1" "$2"
}
NB_BYTES=$(curl -s "http://127.0.0.1:$PORT/v1/items/P0000001/neighbors?k=10" | wc -c)
SC_BYTES=$(curl -s "http://127.0.0.1:$PORT/v1/score?a=P0000001&b=P0000002" | wc -c)
pad_to "$RUN/www/neighbors.json" "$NB_BYTES"
pad_to "$RUN/www/score.json" "$SC_BYTES"
NPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$RUN/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $RUN/nginx/body;
    proxy_temp_path $RUN/nginx/proxy;
    fastcgi_temp_path $RUN/nginx/fastcgi;
    uwsgi_temp_path $RUN/nginx/uwsgi;
    scgi_temp_path $RUN/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        root $RUN/www;
        default_type application/json;
    }
}
EOF
taskset -c 0 nginx -c "$RUN/nginx.conf" -p "$RUN/nginx" &
NPID=$!
until curl -sf "http://127.0.0.1:$NPORT/score.json" >/dev/null; do sleep 0.2; done

# wrk's latency figures -> milliseconds
ms() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); x = v + 0;
    if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000;
    printf "%.3f", x }'; }
# bench NAME URL [SCRIPT] -> "rps p50 p99 errors"
bench() {
    local out="$RUN/wrk-$1.txt"
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency ${3:+-s "$3"} "$2" >"$out"
    local rps p50 p99 err
    rps=$(awk '/Requests\/sec/ {print $2}' "$out")
    p50=$(ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(ms "$(awk '$1 == "99%" {print $2}' "$out")")
    err=$(awk '/Non-2xx|Socket errors/ {e = 1} END {print e ? "yes" : "no"}' "$out")
    echo "$rps $p50 $p99 $err"
}
row() { printf "%-34s %10.0f %9.3f %9.3f  %s\n" "$1" $2 $3 $4 "$5"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

B=http://127.0.0.1:$PORT
N=http://127.0.0.1:$NPORT
read -r d_nb_rps d_nb_p50 d_nb_p99 d_nb_err <<<"$(bench walkrecd-neighbors "$B/" "$RUN/neighbors.lua")"
read -r n_nb_rps n_nb_p50 n_nb_p99 n_nb_err <<<"$(bench nginx-neighbors "$N/neighbors.json")"
read -r d_sc_rps d_sc_p50 d_sc_p99 d_sc_err <<<"$(bench walkrecd-score "$B/" "$RUN/score.lua")"
read -r n_sc_rps n_sc_p50 n_sc_p99 n_sc_err <<<"$(bench nginx-score "$N/score.json")"
kill $NPID
wait $NPID 2>/dev/null || true
NPID=""

# ---- 4. publishing under load ----
taskset -a -p -c 0-1 $DPID >/dev/null
ln "$MODEL" "$RUN/var/model-2.wr" 2>/dev/null || cp "$MODEL" "$RUN/var/model-2.wr"
taskset -c 1 wrk -t1 -c"$CONNS" -d3600s --timeout 30s --latency -s "$RUN/neighbors.lua" "$B/" \
    >"$RUN/wrk-publish.txt" &
WPID=$!
sleep 2
T0=$(date +%s.%N)
kill -HUP $DPID
until ready 2; do sleep 0.5; done
T1=$(date +%s.%N)
sleep 2
kill -INT $WPID
wait $WPID || true
WPID=""
PUB_LINE=$(grep -E "neighbour lists( \([a-z]+\))?: .* items x" "$RUN/walkrecd.log" | tail -1)
PUB_REQS=$(awk '/requests in/ {print $1}' "$RUN/wrk-publish.txt")
PUB_FAIL=$(grep -E "Non-2xx|Socket errors" "$RUN/wrk-publish.txt" || true)

echo
echo "== walkrecd vs nginx, each server on core 0, wrk -t1 -c$CONNS -d${DURATION}s on core 1"
echo "   model: $MODEL"
echo "   at start: ${BUILD_LINE#*walkrecd: } (every core, OpenBLAS ${OPENBLAS_CORETYPE:-auto});" \
     "RSS serving ${RSS} KiB"
printf "%-34s %10s %9s %9s  %s\n" "" "req/s" "p50 ms" "p99 ms" "errors"
row "walkrecd neighbours k=10 ($NB_BYTES B)" "$d_nb_rps" "$d_nb_p50" "$d_nb_p99" "$d_nb_err"
row "nginx static file ($NB_BYTES B)" "$n_nb_rps" "$n_nb_p50" "$n_nb_p99" "$n_nb_err"
row "walkrecd pair score ($SC_BYTES B)" "$d_sc_rps" "$d_sc_p50" "$d_sc_p99" "$d_sc_err"
row "nginx static file ($SC_BYTES B)" "$n_sc_rps" "$n_sc_p50" "$n_sc_p99" "$n_sc_err"
echo "ratios walkrecd/nginx: neighbours req/s $(ratio "$d_nb_rps" "$n_nb_rps") (target >= 0.5)," \
     "p99 $(ratio "$d_nb_p99" "$n_nb_p99") (target <= 2)"
echo "                       score      req/s $(ratio "$d_sc_rps" "$n_sc_rps") (target >= 0.5)," \
     "p99 $(ratio "$d_sc_p99" "$n_sc_p99") (target <= 2)"
echo
echo "== publishing generation 2 under load (wrk on core 1, walkrecd on both cores)"
echo "   ${PUB_LINE#*walkrecd: }; SIGHUP to ready: $(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.1f", b - a}') s"
echo "   $PUB_REQS requests during the run; failed: ${PUB_FAIL:-none}"
grep -A4 "Latency Distribution" "$RUN/wrk-publish.txt" | sed 's/^/   /'
[ -z "$PUB_FAIL" ]
