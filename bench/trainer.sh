#!/usr/bin/env bash
# bench/trainer.sh - walkrec's trainer against gensim Word2Vec (sg=1, sg=0) and the fastText
# CLI, all trained on the same walks, every model scored by `walkrec eval`.
#
# usage: bench/trainer.sh [--quick] [--books] [--sets NAMES] [--peers NAMES] [--out DIR]
#                         [--threads N] [--build DIR]
#   --quick        skip the electronics-scale synthetic catalogue
#   --books        also train walkrec alone on the books preset (time, peak RSS < 8 GiB)
#   --sets NAMES   comma-separated subset of the data folders and "electronics"
#   --peers NAMES  comma-separated subset of gensim-sg,gensim-cbow,fasttext (default all)
#   --out DIR      where the per-run JSON files go (default: a new temp dir, kept)
#   --threads N    threads for every system (default 2)
#   --build DIR    build directory holding walkrec (default: build; $WALKREC overrides)
#
# Data: every pairs.tsv under ${WALKREC_DATA:-../shared/data} and `walkrec synth --preset
# electronics`. Per data set: `walkrec split --seed 42`; per seed (1, 2, 3 when the set has
# under 100k pairs, else 1): `walkrec train TRAIN --walks-out walks.txt` (walkrec on its own
# walks), then on that walks file walkrec sg and cbow (--sequences), gensim sg=1 and sg=0
# (corpus_file=) and `fasttext skipgram` (a walks file is whitespace-separated, so a set
# whose ids contain whitespace, like groceries, first gets them replaced by '_', one to
# one, in DIR/NAME/pairs.tsv); peers' vectors go through `walkrec import`; every
# model through `walkrec eval MODEL VAL --train TRAIN --json`. The markdown table and the
# "Must show" PASS/FAIL lines go to stdout (and DIR/table.md); progress to stderr.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
HELPER=$ROOT/bench/trainer.py

QUICK=0 BOOKS=0 SETS="" PEERS=gensim-sg,gensim-cbow,fasttext OUT="" THREADS=2 BUILD=$ROOT/build
usage() { sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --books) BOOKS=1 ;;
    --sets) SETS=${2:?--sets needs NAMES}; shift ;;
    --peers) PEERS=${2:?--peers needs NAMES}; shift ;;
    --out) OUT=${2:?--out needs DIR}; shift ;;
    --threads) THREADS=${2:?--threads needs N}; shift ;;
    --build) BUILD=${2:?--build needs DIR}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || { echo "trainer: --threads: expected a positive integer" >&2; exit 2; }
for p in ${PEERS//,/ }; do
    case $p in gensim-sg | gensim-cbow | fasttext) ;; *) echo "trainer: --peers: unknown peer '$p'" >&2; exit 2 ;; esac
done
WALKREC=${WALKREC:-$BUILD/walkrec}
DATA=${WALKREC_DATA:-$ROOT/../shared/data}
[ -x "$WALKREC" ] || { echo "trainer: no $WALKREC (meson compile -C $BUILD first)" >&2; exit 1; }
command -v fasttext >/dev/null || { echo "trainer: fasttext not found (apt-get install fasttext)" >&2; exit 1; }
$PY -c 'import gensim' 2>/dev/null || { echo "trainer: $PY lacks gensim" >&2; exit 1; }
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/walkrec-trainer.XXXXXX")
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/log.txt
: >"$LOG"

log() { echo "[trainer $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $*" | tee -a "$LOG" >&2; }

# The sets to run: "name path" lines; the synthetic ones have the path "synth:PRESET".
wanted() { [ -z "$SETS" ] || [[ ",$SETS," == *",$1,"* ]]; }
list_sets() {
    local f name
    for f in "$DATA"/*/pairs.tsv; do
        [ -f "$f" ] || continue
        name=$(basename "$(dirname "$f")")
        wanted "$name" && echo "$name $f"
    done
    if [ $QUICK -eq 0 ] && wanted electronics; then echo "electronics synth:electronics"; fi
    if [ $BOOKS -eq 1 ]; then echo "books synth:books"; fi
}

# measure PROC STDOUT CMD...: runs CMD under the helper, which records wall time, peak RSS
# and CPU time of the child; CMD's stderr goes to the log.
measure() {
    local proc=$1 stdout=$2
    shift 2
    $PY "$HELPER" run --proc "$proc" --stdout "$stdout" -- "$@" 2>>"$LOG"
}

evaluate() { # DIR MODEL
    "$WALKREC" eval "$2" "$VAL" --train "$TRAIN" --threads "$THREADS" --json --quiet \
        >"$1/eval.json" 2>>"$LOG" && rm -f "$2"
}

# One system on one seed: DIR/train.json (stage times), proc.json, eval.json.
walkrec_pairs() { # DIR SEED; writes the walks to $WALKS unless it is empty
    local out=()
    [ -n "$WALKS" ] && out=(--walks-out "$WALKS")
    measure "$1/proc.json" "$1/train.json" "$WALKREC" train "$TRAIN" -o "$1/model.wr" \
        "${out[@]}" --seed "$2" --threads "$THREADS" --json --quiet &&
        evaluate "$1" "$1/model.wr"
}
walkrec_seq() { # DIR SEED MODE
    measure "$1/proc.json" "$1/train.json" "$WALKREC" train --sequences "$WALKS" \
        -o "$1/model.wr" --mode "$3" --seed "$2" --threads "$THREADS" --json --quiet &&
        evaluate "$1" "$1/model.wr"
}
gensim() { # DIR SEED SG
    measure "$1/proc.json" "$1/train.json" $PY "$HELPER" gensim "$WALKS" "$1/vectors.bin" \
        --sg "$3" --seed "$2" --threads "$THREADS" &&
        "$WALKREC" import "$1/vectors.bin" -o "$1/model.wr" --quiet 2>>"$LOG" &&
        rm -f "$1/vectors.bin" && evaluate "$1" "$1/model.wr"
}
fasttext_sg() { # DIR SEED
    measure "$1/proc.json" "$1/train.json" $PY "$HELPER" fasttext "$WALKS" "$1/vectors.vec" \
        --seed "$2" --threads "$THREADS" &&
        $PY "$HELPER" strip-eos "$1/vectors.vec" "$1/items.vec" 2>>"$LOG" &&
        rm -f "$1/vectors.vec" &&
        "$WALKREC" import "$1/items.vec" -o "$1/model.wr" --quiet 2>>"$LOG" &&
        rm -f "$1/items.vec" && evaluate "$1" "$1/model.wr"
}

system() { # NAME SEEDDIR SEED FUNCTION ARGS...: logs and carries on when a system fails
    local name=$1 dir=$2/$1 seed=$3 fn=$4
    shift 4
    [[ $name != walkrec-* && ",$PEERS," != *",$name,"* ]] && return 0
    mkdir -p "$dir"
    log "  $name"
    "$fn" "$dir" "$seed" "$@" || log "  $name FAILED (seed $seed); see $LOG"
}

run_set() { # NAME PATH
    local name=$1 src=$2 dir=$OUT/$1 pairs seeds s
    mkdir -p "$dir"
    if [[ $src == synth:* ]]; then
        log "$name: walkrec synth --preset ${src#synth:}"
        "$WALKREC" synth --preset "${src#synth:}" -o "$dir/pairs.tsv" --items-out "$dir/items.tsv" \
            --json --quiet >"$dir/synth.json" 2>>"$LOG"
        printf '{"synthetic": true, "preset": "%s"}\n' "${src#synth:}" >"$dir/set.json"
        src=$dir/pairs.tsv
    else
        printf '{"synthetic": false, "path": "%s"}\n' "$src" >"$dir/set.json"
        src=$($PY "$HELPER" safe-ids "$src" "$dir/pairs.tsv" 2> >(tee -a "$LOG" >&2))
    fi
    TRAIN=$dir/train.tsv VAL=$dir/val.tsv
    "$WALKREC" split "$src" --train "$TRAIN" --val "$VAL" --seed 42 --json --quiet \
        >"$dir/split.json" 2>>"$LOG"
    pairs=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["pairs"])' "$dir/split.json")
    seeds="1"
    [ "$pairs" -lt 100000 ] && seeds="1 2 3"
    for s in $seeds; do
        table --partial
        local sd=$dir/seed$s
        mkdir -p "$sd"
        WALKS=$sd/walks.txt
        log "$name ($pairs pairs), seed $s"
        if [ "$name" = books ]; then # walkrec alone: its time and memory at that scale
            WALKS=""
            system walkrec-pairs "$sd" "$s" walkrec_pairs
            continue
        fi
        system walkrec-pairs "$sd" "$s" walkrec_pairs
        [ -s "$WALKS" ] || { log "  no walks file: skipping the rest of seed $s"; continue; }
        system walkrec-sg "$sd" "$s" walkrec_seq sg
        system walkrec-cbow "$sd" "$s" walkrec_seq cbow
        system gensim-sg "$sd" "$s" gensim 1
        system gensim-cbow "$sd" "$s" gensim 0
        system fasttext "$sd" "$s" fasttext_sg
        rm -f "$WALKS"
    done
    if [[ $2 == synth:* ]]; then # regenerated from the seed in seconds; keep the JSON only
        rm -f "$dir/pairs.tsv" "$dir/items.tsv" "$TRAIN" "$VAL"
    fi
    return 0
}

table() { # [--partial]: the table from the JSON files so far, to stdout or DIR/table.md
    local args=(--threads "$THREADS")
    [ $QUICK -eq 1 ] && args+=(--quick)
    if [ "${1:-}" = --partial ]; then
        $PY "$HELPER" table "$OUT" "${args[@]}" >"$OUT/table.md" 2>>"$LOG" || true
    else
        $PY "$HELPER" table "$OUT" "${args[@]}" | tee "$OUT/table.md"
    fi
}

$PY "$HELPER" machine >"$OUT/machine-start.json"
log "output in $OUT; walkrec $WALKREC (source $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), binary sha256 $(sha256sum "$WALKREC" | cut -c1-12)), $THREADS threads"
mapfile -t sets < <(list_sets)
[ ${#sets[@]} -gt 0 ] || { log "no data set selected (--sets $SETS, data in $DATA)"; exit 1; }
for line in "${sets[@]}"; do
    run_set "${line%% *}" "${line#* }"
done
$PY "$HELPER" machine >"$OUT/machine-end.json"
table
log "done; per-run JSON files in $OUT"
