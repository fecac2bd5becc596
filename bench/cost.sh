#!/usr/bin/env bash
# bench/cost.sh - reads from the precomputed lists beside the heaviest requests the limits
# allow: does a probe's p99 stay within 50 ms with no failure?
#
#   bench/cost.sh [--build DIR] [--old DIR] [--model FILE] [--seconds N] [--clients N]
#
# For each catalogue - the model FILE (default: $BENCH_MODEL, else the electronics-scale
# model bench/scale.sh leaves in /var/tmp/walkrec-scale-electronics, copied: the original
# is not touched) and the built-in one (2,000 items, trained once into the work folder) -
# walkrecd starts with its defaults (2 HTTP threads, 1 scan thread, a scan queue of 8,
# max_scan_items 10,000,000, max_response_bytes 8 MiB) and bench/cost.py measures, in one
# run: a probe's neighbour reads (k=10, from the lists, one every 10 ms on one connection)
# for N seconds alone, then for N seconds while N clients (default 4) send the heaviest
# requests the limits allow, one after the other on their own connections; the answer to
# the request of 1,000 items with k=1000 (the response-size limit); and the gzip ratio of
# a k=1000 answer and of the largest answer without a scan. --old DIR runs the same against
# another build's walkrecd (one without the limits or the scan pool: the same requests).
# Prints the date, commit, machine and load average with the tables; the work folder is
# $BENCH_WORK (default /tmp/walkrec-cost).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=build OLD="" SECONDS_EACH=20 CLIENTS=4
MODEL=${BENCH_MODEL:-/var/tmp/walkrec-scale-electronics/model.wr}
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --old) OLD=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--old DIR] [--model FILE] [--seconds N] [--clients N]" >&2
       exit 2 ;;
    esac
done
W=${BENCH_WORK:-${TMPDIR:-/tmp}/walkrec-cost}
PY=/usr/bin/python3
abs() { case $1 in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }
BUILD=$(abs "$BUILD")
[ -z "$OLD" ] || OLD=$(abs "$OLD")
[ -x "$BUILD/walkrecd" ] || { echo "bench: build first (meson compile -C $BUILD)" >&2; exit 1; }
mkdir -p "$W"

PID=""
trap '[ -z "$PID" ] || kill $PID 2>/dev/null; wait 2>/dev/null || true' EXIT

# serve BINARY MODEL LABEL: walkrecd on MODEL, then cost.py against it
serve() {
    local log="$W/$3.log" port=""
    rm -rf "$W/var-$3"
    "$1" --port 0 --data-dir "$W/var-$3" --model "$2" --retrain-min-pairs 0 \
        --retrain-interval 0 2>"$log" &
    PID=$!
    until [ -n "$port" ]; do
        sleep 0.2
        kill -0 $PID 2>/dev/null || { cat "$log" >&2; exit 1; }
        port=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | cut -d: -f3 || true)
    done
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
        sleep 0.5
        kill -0 $PID 2>/dev/null || { cat "$log" >&2; exit 1; }
    done
    echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    "$PY" "$ROOT/bench/cost.py" "$port" --seconds "$SECONDS_EACH" --clients "$CLIENTS" \
        --label "$3" --json "$W/$3.json"
    echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg); daemon RSS" \
         "$(awk '/^VmRSS/ {print $2}' /proc/$PID/status) KiB"
    kill $PID
    wait $PID 2>/dev/null || true
    PID=""
}

echo "# bench/cost.sh $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo ' (modified)')," \
     "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "   probe and load for ${SECONDS_EACH} s each, $CLIENTS heavy clients"

catalogues=()
if [ -f "$MODEL" ]; then
    cp "$MODEL" "$W/model.wr"
    catalogues+=("$W/model.wr:electronics")
else
    echo "   (no $MODEL: the built-in catalogue only)"
fi
if [ ! -f "$W/builtin/model-1.wr" ]; then
    rm -rf "$W/builtin"
    "$BUILD/walkrecd" --port 0 --data-dir "$W/builtin" 2>"$W/builtin.log" &
    PID=$!
    until grep -q "ready in" "$W/builtin.log"; do sleep 0.2; kill -0 $PID; done
    kill $PID; wait $PID 2>/dev/null || true; PID=""
fi
catalogues+=("$W/builtin/model-1.wr:builtin")

for c in "${catalogues[@]}"; do
    model=${c%%:*} name=${c##*:}
    serve "$BUILD/walkrecd" "$model" "$name"
    [ -z "$OLD" ] || serve "$OLD/walkrecd" "$model" "$name-old"
done
rm -f "$W/model.wr"
