#!/usr/bin/env bash
# bench/scale.sh - walkrecd at a real shop's catalogue size: time to serve, list quality,
# retraining under load, memory of followers.
#
# usage: bench/scale.sh [--preset electronics|books] [--build DIR] [--out DIR] [--epochs N]
#                       [--skip-retrain] [--kernel auto|keep|NAME]
#
#   --preset P      the synthetic catalogue (walkrec synth --preset P): electronics,
#                   418,749 items, 4,005,262 pairs (default); books, 1,948,370 items
#   --build DIR     walkrec and walkrecd from DIR (default build)
#   --out DIR       work and results (default /var/tmp/walkrec-scale-P); the catalogue and
#                   the trained model are kept there and reused by later runs
#   --epochs N      training epochs of the model (default 5; books: 1, to bound the time)
#   --skip-retrain  leave out the retrain under load (step 5)
#   --kernel K      the daemons' blas_kernel (default auto)
#
# Steps, each timed in this one run (the machine is shared: ratios within the run hold
# better than absolute times):
#   1. the catalogue and a model trained by `walkrec train` (which stores its lists);
#      a copy without lists (`walkrec index --k 0`), as a model trained elsewhere would be
#   2. (a) walkrecd started on a data directory holding the copy without lists: seconds to
#      /readyz 200 and CPU seconds of the daemon and its trainer process (which builds the
#      lists and writes them back into the generation); (b) the same directory again
#      (a restart): seconds to ready, CPU seconds
#   3. the lists /v1/model describes: kind, order, recall@10 against exact lists of the
#      same order on 1000 items, and the exact lists of those 1000 items' time, from which
#      the whole catalogue's exact lists are estimated (the speed-up is a ratio in one run)
#   4. memory: the trainer and two followers of its directory, RSS and PSS (smaps_rollup)
#   5. retrain-to-publish: 1% more pairs ingested, a warm retrain with train_threads 1 while
#      wrk reads neighbour lists on 8 connections; the seconds of each stage, and wrk's
#      failures (non-2xx answers and socket errors); then a follower's pick-up time
# Results: OUT/results.json and a table on stdout. docs/performance.md records runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PRESET=electronics BUILD=$ROOT/build OUT="" EPOCHS="" SKIP_RETRAIN=0 KERNEL=auto
while [ $# -gt 0 ]; do
    case $1 in
    --preset) PRESET=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --skip-retrain) SKIP_RETRAIN=1; shift ;;
    --kernel) KERNEL=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$EPOCHS" ] || { [ "$PRESET" = books ] && EPOCHS=1 || EPOCHS=5; }
OUT=${OUT:-/var/tmp/walkrec-scale-$PRESET}
WALKREC=$BUILD/walkrec WALKRECD=$BUILD/walkrecd PY=/usr/bin/python3
[ -x "$WALKREC" ] && [ -x "$WALKRECD" ] || { echo "scale.sh: build $BUILD first" >&2; exit 1; }
command -v wrk >/dev/null || [ "$SKIP_RETRAIN" = 1 ] || { echo "scale.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/log.txt
RES=$OUT/results.json
echo '{}' >"$RES"
log() { echo "[scale $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $*" | tee -a "$LOG" >&2; }
put() { "$PY" - "$RES" "$@" <<'PY'
import json, sys
path, key, value = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(path))
try:
    d[key] = json.loads(value)
except ValueError:
    d[key] = value
json.dump(d, open(path, "w"), indent=1)
PY
}
DAEMONS=()
cleanup() { for p in "${DAEMONS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# wait_ready PORT PID: seconds until /readyz answers 200 (the daemon must stay alive)
wait_ready() {
    "$PY" - "$1" "$2" <<'PY'
import os, sys, time, urllib.request
port, pid, t0 = sys.argv[1], int(sys.argv[2]), time.time()
while True:
    try:
        if urllib.request.urlopen("http://127.0.0.1:%s/readyz" % port, timeout=5).status == 200:
            print("%.2f" % (time.time() - t0)); break
    except Exception:
        pass
    if not os.path.exists("/proc/%d" % pid):
        sys.exit("walkrecd %d died" % pid)
    time.sleep(0.05)
PY
}
# cpu PID: CPU seconds of the process and its reaped children
cpu() { awk -v t="$(getconf CLK_TCK)" '{print ($14+$15+$16+$17)/t}' "/proc/$1/stat"; }
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
get() { curl -sf "http://127.0.0.1:$1$2"; }
# start DIR LOGNAME ARGS...: a daemon on a free port; sets PORT and PID
start() {
    local dir=$1 name=$2
    shift 2
    PORT=$(port)
    "$WALKRECD" --port "$PORT" --data-dir "$dir" --blas-kernel "$KERNEL" "$@" >"$OUT/$name.log" 2>&1 &
    PID=$!
    DAEMONS+=("$PID")
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

log "preset $PRESET, epochs $EPOCHS, build $BUILD ($(git -C "$ROOT" rev-parse --short HEAD)), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
put commit "\"$(git -C "$ROOT" rev-parse --short HEAD)\""
put machine "\"$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores\""

# 1. catalogue and model
cd "$OUT"
if [ ! -f pairs.tsv ]; then
    log "synth --preset $PRESET"
    "$WALKREC" synth --preset "$PRESET" -o pairs.tsv --items-out items.tsv --quiet
fi
if [ ! -f model.wr ]; then
    log "train (2 threads, $EPOCHS epochs; lists stored)"
    /usr/bin/time -f "%e s, %M KiB" -o train.time "$WALKREC" train pairs.tsv -o model.wr \
        --threads 2 --epochs "$EPOCHS" 2>train.log
    log "trained: $(cat train.time); $(grep '^neighbour lists:' train.log || true)"
fi
"$WALKREC" index model.wr -o nolists.wr --k 0 --quiet
ITEMS=$(grep -m1 -o '^items [0-9]*' train.log | cut -d' ' -f2 || true)

# 2. start without lists, then restart
rm -rf var && mkdir var && cp nolists.wr var/model-1.wr
log "start: a generation without lists"
C0=$(awk '{print $1}' /proc/uptime)
start var start
READY=$(wait_ready "$PORT" "$PID")
CPU=$(cpu "$PID")
MODEL=$(get "$PORT" /v1/model)
log "ready in $READY s, $CPU CPU s; $(grep -c 'lists stored in' "$OUT/start.log") list build by the trainer process"
put start_without_lists "{\"ready_seconds\": $READY, \"cpu_seconds\": $CPU}"
stop "$PID"
log "restart: the same generation, lists stored"
start var restart
READY=$(wait_ready "$PORT" "$PID")
CPU=$(cpu "$PID")
MODEL=$(get "$PORT" /v1/model)
log "ready in $READY s, $CPU CPU s"
put restart "{\"ready_seconds\": $READY, \"cpu_seconds\": $CPU}"
put index "$("$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["index"]))' <<<"$MODEL")"
stop "$PID"
"$PY" - "$MODEL" <<'PY' | tee -a "$LOG" >&2
import json, sys
m = json.loads(sys.argv[1]); ix = m["index"]; a = ix.get("approximate", {})
print("lists: %s, by %s, k %d, %s" % (ix["kind"], ix["rank"], ix["k"], ix["lists"]))
if a:
    print("recall@10 %.4f against exact lists of %d items" % (a["recall_at_10"], a["recall_sample"]))
PY

# 3. the exact lists' estimated cost, from the description stored with the model
"$PY" - "$OUT/model.wr" "$RES" <<'PY' | tee -a "$LOG" >&2
import json, struct, sys
d = open(sys.argv[1], "rb").read()
n, nsec = struct.unpack_from("<Q", d, 16)[0], struct.unpack_from("<I", d, 32)[0]
desc = None
for i in range(nsec):
    t, _, off, ln = struct.unpack_from("<IIQQ", d, 64 + 24 * i)
    if t == 6:
        desc = json.loads(d[off:off + ln])
res = json.load(open(sys.argv[2]))
if desc and desc.get("exact_seconds_per_item"):
    exact = desc["exact_seconds_per_item"] * n
    res["lists_built"] = dict(desc, exact_estimate_seconds=exact, speedup=exact / desc["seconds"])
    print("lists built in %.1f s by the trainer; exact lists of the same order: %.0f s "
          "estimated from %d items (%.1fx)" % (desc["seconds"], exact, desc["recall_sample"],
                                               exact / desc["seconds"]))
json.dump(res, open(sys.argv[2], "w"), indent=1)
PY

# 4. memory: the trainer and two followers of its directory
start var trainer
wait_ready "$PORT" "$PID" >/dev/null
TPID=$PID TPORT=$PORT
start "$OUT/f1" follower1 --follow "$OUT/var"
wait_ready "$PORT" "$PID" >/dev/null
F1=$PID F1PORT=$PORT
start "$OUT/f2" follower2 --follow "$OUT/var"
wait_ready "$PORT" "$PID" >/dev/null
F2=$PID
for i in 1 2 3; do get "$F1PORT" "/v1/items/P0000001/neighbors" >/dev/null; done
MEM=$("$PY" - "$TPID" "$F1" "$F2" <<'PY'
import json, sys
out = {}
for name, pid in zip(("trainer", "follower1", "follower2"), sys.argv[1:]):
    d = {}
    for line in open("/proc/%s/smaps_rollup" % pid):
        k, *v = line.split()
        if k in ("Rss:", "Pss:", "Shared_Clean:", "Private_Dirty:"):
            d[k[:-1].lower() + "_mib"] = round(int(v[0]) / 1024, 1)
    out[name] = d
print(json.dumps(out))
PY
)
put memory "$MEM"
log "memory: $MEM"
stop "$F2"
stop "$F1"

# 5. retrain under load, then a follower's pick-up
if [ "$SKIP_RETRAIN" = 0 ]; then
    stop "$TPID"
    "$PY" - pairs.tsv new.json <<'PY'
import json, random, sys
ids = []
with open(sys.argv[1]) as f:
    for i, line in enumerate(f):
        if i % 97 == 0:
            a, b, *_ = line.split("\t")
            ids.append((a, b))
random.seed(1)
pairs = [{"a": a, "b": random.choice(ids)[1], "weight": 1} for a, _ in ids]
json.dump(pairs, open(sys.argv[2], "w"))
print(len(pairs))
PY
    start var retrain --pairs "$OUT/pairs.tsv" --train-threads 1 --retrain-min-pairs 0 \
        --retrain-interval 0
    wait_ready "$PORT" "$PID" >/dev/null
    RPORT=$PORT
    start "$OUT/f3" follower3 --follow "$OUT/var" --follow-interval 1
    F3=$PID F3PORT=$PORT
    wait_ready "$F3PORT" "$F3" >/dev/null
    PORT=$RPORT
    "$PY" - "$PORT" new.json <<'PY'
import json, sys, urllib.request
pairs = json.load(open(sys.argv[2]))
for i in range(0, len(pairs), 1000):
    body = json.dumps({"pairs": pairs[i:i + 1000]}).encode()
    r = urllib.request.Request("http://127.0.0.1:%s/v1/pairs" % sys.argv[1], body,
                               {"Content-Type": "application/json"})
    assert urllib.request.urlopen(r).status == 202
PY
    cat >"$OUT/wrk.lua" <<LUA
math.randomseed(7)
request = function()
  return wrk.format("GET", string.format("/v1/items/P%07d/neighbors?k=10", math.random(0, ${ITEMS:-418749} - 1)))
end
LUA
    log "retrain: $(wc -c <new.json) bytes of new pairs ingested; wrk reading neighbours"
    T0=$(date +%s.%N)
    curl -sf -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/admin/retrain" >/dev/null
    wrk -t1 -c8 -d3600s -s "$OUT/wrk.lua" "http://127.0.0.1:$PORT" >"$OUT/wrk.txt" 2>&1 &
    WRK=$!
    RUN=$("$PY" - "$PORT" <<'PY'
import json, sys, time, urllib.request
while True:
    s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/v1/admin/status" % sys.argv[1]))
    if s["runs"] >= 1 and s["state"] == "idle":
        print(json.dumps(s["last_run"])); break
    time.sleep(1)
PY
)
    T1=$(date +%s.%N)
    GEN=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])' <<<"$RUN")
    # the follower's pick-up of the new generation
    PICK=$("$PY" - "$F3PORT" "$GEN" <<'PY'
import json, sys, time, urllib.request
t0 = time.time()
while json.load(urllib.request.urlopen("http://127.0.0.1:%s/readyz" % sys.argv[1]))["generation"] != int(sys.argv[2]):
    time.sleep(0.05)
print("%.2f" % (time.time() - t0))
PY
)
    sleep 5
    kill -INT "$WRK"; wait "$WRK" 2>/dev/null || true
    put retrain "$RUN"
    put retrain_wall_seconds "$(echo "$T1 - $T0" | bc)"
    put follower_pickup_after_publish_seconds "$PICK"
    put wrk "\"$(grep -E 'requests in|Non-2xx|Socket errors' "$OUT/wrk.txt" | tr '\n' ';' | tr -s ' ')\""
    log "retrain: $(echo "$T1 - $T0" | bc) s trigger to published; follower picked it up $PICK s later; $(grep -E 'requests in|Non-2xx|Socket errors' "$OUT/wrk.txt" | tr '\n' ' ')"
fi
log "results in $RES"
cat "$RES"
