#!/usr/bin/env bash
# bench/quality.sh - the table of issue 10: walkrec's cosine, the popularity baseline and the
# calibrated probability on uniform and degree-matched negatives, and recall@10 of walkrec's
# lists against the best-seller list's and gensim's, with the issue's "Must show" checks.
#
# usage: bench/quality.sh [--quick] [--seeds N] [--sets NAMES] [--out DIR] [--threads N]
#                         [--build DIR]
#   --quick        leave out the electronics-scale synthetic catalogue
#   --seeds N      training seeds 1..N averaged per set (default 3); sets of a million pairs
#                  or more get seed 1 only (electronics: about an hour with gensim)
#   --sets NAMES   comma-separated subset of the data folders and "electronics"
#   --out DIR      where the per-run JSON files go (default: a new temp dir, kept)
#   --threads N    threads for training and evaluation (default 2)
#   --build DIR    build directory holding walkrec (default: build; $WALKREC overrides)
#
# Data: every pairs.tsv under ${WALKREC_DATA:-../shared/data} and `walkrec synth --preset
# electronics`. Per data set, one split: `walkrec split --seed 42 --negatives both`. Per seed:
# `walkrec train TRAIN --walks-out WALKS --seed S` with every other option at its default
# (edge weighting lift, calibration slice 5%), gensim Word2Vec sg=1 on that walks file
# (bench/trainer.py gensim, the same hyper-parameters, then `walkrec import`), and each model
# scored by `walkrec eval MODEL VAL --train TRAIN --json` (walkrec's lists in their default
# order, the one its calibration slice chose). A set whose ids contain whitespace first gets
# them replaced by '_' (one to one) in DIR/NAME/pairs.tsv, since gensim reads the walks
# split on whitespace. Besides eval's baseline (log1p of the number of training partners),
# the table shows the same score over weighted degrees (log1p of the summed pair weights),
# which the probability uses: where it alone comes close to the probability, the embedding
# adds little. The markdown table and the PASS/FAIL lines go to stdout and DIR/table.md;
# progress to stderr and DIR/log.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
HELPER=$ROOT/bench/trainer.py
TABLE=$ROOT/bench/quality.py

QUICK=0 SEEDS=3 SETS="" OUT="" THREADS=2 BUILD=$ROOT/build
usage() { sed -n '6,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --seeds) SEEDS=${2:?--seeds needs N}; shift ;;
    --sets) SETS=${2:?--sets needs NAMES}; shift ;;
    --out) OUT=${2:?--out needs DIR}; shift ;;
    --threads) THREADS=${2:?--threads needs N}; shift ;;
    --build) BUILD=${2:?--build needs DIR}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done
[[ $SEEDS =~ ^[1-9][0-9]*$ ]] || { echo "quality: --seeds: expected a positive integer" >&2; exit 2; }
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || { echo "quality: --threads: expected a positive integer" >&2; exit 2; }
WALKREC=${WALKREC:-$BUILD/walkrec}
DATA=${WALKREC_DATA:-$ROOT/../shared/data}
[ -x "$WALKREC" ] || { echo "quality: no $WALKREC (meson compile -C $BUILD first)" >&2; exit 1; }
$PY -c 'import gensim, sklearn' 2>/dev/null || { echo "quality: $PY lacks gensim or scikit-learn" >&2; exit 1; }
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/walkrec-quality.XXXXXX")
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/log.txt
: >"$LOG"

log() { echo "[quality $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $*" | tee -a "$LOG" >&2; }

wanted() { [ -z "$SETS" ] || [[ ",$SETS," == *",$1,"* ]]; }
list_sets() {
    local f name
    for f in "$DATA"/*/pairs.tsv; do
        [ -f "$f" ] || continue
        name=$(basename "$(dirname "$f")")
        wanted "$name" && echo "$name $f"
    done
    if [ $QUICK -eq 0 ] && wanted electronics; then echo "electronics synth:electronics"; fi
    return 0
}

evaluate() { # MODEL OUT.json: eval with the default ranking, then the model goes
    "$WALKREC" eval "$1" "$VAL" --train "$TRAIN" --threads "$THREADS" --json --quiet \
        >"$2" 2>>"$LOG" && rm -f "$1"
}

run_seed() { # DIR SEED: walkrec (its walks to a file), then gensim sg=1 on those walks
    local d=$1 s=$2 walks=$1/walks.txt
    mkdir -p "$d"
    log "  seed $s: walkrec train"
    "$WALKREC" train "$TRAIN" -o "$d/walkrec.wr" --walks-out "$walks" --seed "$s" \
        --threads "$THREADS" 2>>"$LOG" >/dev/null &&
        evaluate "$d/walkrec.wr" "$d/walkrec.json" || log "  walkrec FAILED (seed $s); see $LOG"
    if [ -s "$walks" ]; then
        log "  seed $s: gensim sg=1 on the same walks"
        $PY "$HELPER" gensim "$walks" "$d/gensim.bin" --sg 1 --seed "$s" --threads "$THREADS" \
            >"$d/gensim-train.json" 2>>"$LOG" &&
            "$WALKREC" import "$d/gensim.bin" -o "$d/gensim.wr" --quiet 2>>"$LOG" &&
            rm -f "$d/gensim.bin" && evaluate "$d/gensim.wr" "$d/gensim.json" ||
            log "  gensim FAILED (seed $s); see $LOG"
    fi
    rm -f "$walks" "$d/gensim.bin"
}

run_set() { # NAME SOURCE
    local name=$1 src=$2 dir=$OUT/$1 pairs n s
    mkdir -p "$dir"
    if [[ $src == synth:* ]]; then
        log "$name: walkrec synth --preset ${src#synth:}"
        "$WALKREC" synth --preset "${src#synth:}" -o "$dir/pairs.tsv" --json --quiet \
            >"$dir/synth.json" 2>>"$LOG"
        printf '{"synthetic": true, "preset": "%s"}\n' "${src#synth:}" >"$dir/set.json"
        src=$dir/pairs.tsv
    else
        printf '{"synthetic": false, "path": "%s"}\n' "$src" >"$dir/set.json"
        src=$($PY "$HELPER" safe-ids "$src" "$dir/pairs.tsv" 2> >(tee -a "$LOG" >&2))
    fi
    TRAIN=$dir/train.tsv VAL=$dir/val.tsv
    "$WALKREC" split "$src" --train "$TRAIN" --val "$VAL" --seed 42 --negatives both --json \
        --quiet >"$dir/split.json" 2>>"$LOG"
    pairs=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["pairs"])' "$dir/split.json")
    log "$name: $pairs pairs; weighted-degree popularity on the same split"
    $PY "$TABLE" weighted "$TRAIN" "$VAL" >"$dir/weighted.json" 2>>"$LOG"
    n=$SEEDS
    [ "$pairs" -ge 1000000 ] && n=1
    for s in $(seq 1 "$n"); do
        run_seed "$dir/seed$s" "$s"
        $PY "$TABLE" table "$OUT" >"$OUT/table.md" 2>>"$LOG" || true
    done
    rm -f "$TRAIN" "$VAL" "$dir/pairs.tsv"
}

$PY "$HELPER" machine >"$OUT/machine-start.json"
log "output in $OUT; walkrec $WALKREC (source $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), binary sha256 $(sha256sum "$WALKREC" | cut -c1-12)), $THREADS threads, seeds 1..$SEEDS"
mapfile -t sets < <(list_sets)
[ ${#sets[@]} -gt 0 ] || { log "no data set selected (--sets $SETS, data in $DATA)"; exit 1; }
for line in "${sets[@]}"; do
    run_set "${line%% *}" "${line#* }"
done
$PY "$HELPER" machine >"$OUT/machine-end.json"
$PY "$TABLE" table "$OUT" | tee "$OUT/table.md"
log "done; per-run JSON files in $OUT"
