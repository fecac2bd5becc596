#!/usr/bin/env bash
# bench/retrain.sh - walkrecd retraining while it serves: a run from scratch against a
# warm-started one, time and quality, with wrk asking for neighbours throughout.
#
#   bench/retrain.sh [BUILD_DIR] [PAIRS] [NEW_FRACTION]
#
# PAIRS defaults to ../shared/data/amazon-gift-cards-2018/pairs.tsv. The newest
# NEW_FRACTION (default 0.1) of its lines are held back; walkrecd trains generation 1 on
# the rest (train_threads 1), then the held-back pairs are POSTed to /v1/pairs in batches
# of 1000. Then two runs, each from generation 1 and the same log (the second daemon gets
# a copy of the data directory): retrain_mode scratch (retrain_epochs 5) and warm
# (retrain_warm_epochs 2, from generation 1's vectors).
# Each run is judged by the daemon's own gate on the same validation pairs; the table
# shows its seconds (all, training alone), AUC all/seen and recall@10 of candidate and
# live model, overlap@10 and RBO of the candidate's lists with the live ones over every
# item both know (churn.h), and wrk's failed requests during the run.
# Environment: BENCH_MODEL=FILE serves FILE as generation 1 instead of training it (for
# large sets, e.g. the electronics-scale catalogue); BENCH_MODES="warm" (default "scratch
# warm") picks the runs; BENCH_FLAGS adds walkrecd flags.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
PAIRS=${2:-$ROOT/../shared/data/amazon-gift-cards-2018/pairs.tsv}
FRAC=${3:-0.1}
W=${BENCH_WORK:-${TMPDIR:-/tmp}/walkrec-retrain}
PORT=${BENCH_PORT:-18131}
PY=/usr/bin/python3
WALKRECD=$ROOT/$BUILD/walkrecd
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }

rm -rf "$W"
mkdir -p "$W/var"
[ -n "${BENCH_MODEL:-}" ] && cp "$BENCH_MODEL" "$W/var/model-1.wr"
total=$(($(wc -l <"$PAIRS") - 1))
keep=$($PY -c "print(int($total * (1 - $FRAC)))")
head -n $((keep + 1)) "$PAIRS" >"$W/base.tsv"
tail -n +$((keep + 2)) "$PAIRS" >"$W/new.tsv"

PID=
start() { # DATA_DIR extra flags...
    local dir=$1
    shift
    "$WALKRECD" --port "$PORT" --data-dir "$dir" --pairs "$W/base.tsv" \
        --retrain-min-pairs 0 --retrain-interval 0 --train-threads 1 ${BENCH_FLAGS:-} "$@" \
        2>>"$W/walkrecd.log" &
    PID=$!
    until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
        kill -0 $PID 2>/dev/null || { tail "$W/walkrecd.log" >&2; exit 1; }
        sleep 0.5
    done
}
stop() { kill $PID; wait $PID || true; }
trap 'kill $PID 2>/dev/null || true' EXIT
status() { curl -s "http://127.0.0.1:$PORT/v1/admin/status"; }

MODES=(${BENCH_MODES:-scratch warm})
if [ ${#MODES[@]} -eq 1 ]; then start "$W/var" --retrain-mode "${MODES[0]}"; else start "$W/var"; fi
ITEM=$(head -2 "$W/base.tsv" | tail -1 | cut -f1)
$PY - "$W/new.tsv" "$PORT" <<'EOF'
import json, sys, urllib.request
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
for i in range(0, len(rows), 1000):
    body = {"pairs": [{"a": r[0], "b": r[1], "weight": float(r[2])} for r in rows[i:i + 1000]]}
    req = urllib.request.Request("http://127.0.0.1:%s/v1/pairs" % sys.argv[2], method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(req).status == 202
print("ingested %d pairs" % len(rows), file=sys.stderr)
EOF

cat >"$W/nb.lua" <<EOF
request = function() return wrk.format("GET", "/v1/items/$(
    $PY -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$ITEM")/neighbors?k=10") end
done = function(s, l, r)
  io.write(string.format("WRK %d %d\n", s.requests, s.errors.status + s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end
EOF

run() { # MODE: one run under wrk load; prints a table row
    local mode=$1 runs
    runs=$(status | $PY -c 'import json,sys; print(json.load(sys.stdin)["runs"])')
    wrk -t1 -c4 -d7200s -s "$W/nb.lua" "http://127.0.0.1:$PORT" >"$W/wrk-$mode.txt" &
    local wpid=$!
    curl -s -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/admin/retrain" >/dev/null
    until status | $PY -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if d['runs'] > $runs and d['state'] == 'idle' else 1)"; do
        sleep 1
    done
    kill -INT $wpid 2>/dev/null || true # wrk is gone when the item's id upset it
    wait $wpid || true
    status | $PY -c '
import json, sys
d = json.load(sys.stdin); r = d["last_run"]; c, l = r["candidate"], r["live"]
parts = open(sys.argv[2]).read().split("WRK")  # none when a run ends before wrk reports
wrk = parts[-1].split() if len(parts) > 1 else ["n/a", "n/a"]
f = lambda v, d=4: "n/a" if v is None else "%.*f" % (d, v)  # null: not measured
print("| %s | %.1f | %.1f | %s / %s | %s | %s / %s | %s | %s / %s (%d items) | %s | %s of %s |" % (
    sys.argv[1], r["seconds"], r["train_seconds"], f(c["auc_all"]), f(c["auc_seen"]),
    f(c["recall_at_10"]), f(l["auc_all"]), f(l["auc_seen"]), f(l["recall_at_10"]),
    f(r["overlap_at_10"], 3), f(r["rbo_at_10"], 3), r["churn_items"], r["decision"], wrk[1],
    wrk[0]))' "$mode" "$W/wrk-$mode.txt"
}

echo "## walkrecd retraining ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "$(basename "$(dirname "$PAIRS")"): $keep base pairs, $((total - keep)) ingested; train_threads 1"
echo
echo "| mode | run s | train s | candidate AUC all / seen | recall@10 | live AUC all / seen | recall@10 | overlap@10 / RBO with the live lists | gate | failed reads |"
echo "|---|---:|---:|---|---:|---|---:|---:|---|---|"
# Each run starts from generation 1 and the same log, in a copy of the data directory
# (one mode alone: in the daemon already running, sparing a second index build).
if [ ${#MODES[@]} -eq 1 ]; then
    run "${MODES[0]}"
    exit 0
fi
stop
for mode in "${MODES[@]}"; do
    cp -a "$W/var" "$W/var-$mode"
    start "$W/var-$mode" --retrain-mode "$mode"
    run "$mode"
    stop
done
