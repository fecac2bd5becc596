# bench/lib.sh - what bench/compare.sh, quality.sh and trainer.sh share: their common options,
# the output folder and its log, the data sets to run, each set's pairs and split, the run
# over every set and the table. Sourced by those scripts, which define run_set NAME SOURCE.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=$(basename "$0" .sh)
PY=/usr/bin/python3
HELPER=$ROOT/bench/trainer.py

QUICK=0 SETS="" OUT="" THREADS=2 BUILD=$ROOT/build BOOKS=0 # BOOKS: trainer.sh --books
# Option -> "VARIABLE VALUE-NAME", or "VARIABLE" for a flag (set to 1); scripts add theirs.
declare -A OPTS=([--quick]=QUICK [--sets]="SETS NAMES" [--out]="OUT DIR" [--threads]="THREADS N"
    [--build]="BUILD DIR")

usage() { sed -n '/^# usage:/,/^#$/{/^#$/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "$NAME: $2" >&2; exit "$1"; } # CODE MESSAGE
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die 2 "$1: expected a positive integer"; } # OPTION VALUE

parse_options() { # ARGS...
    local var arg
    while [ $# -gt 0 ]; do
        case $1 in -h | --help) usage; exit 0 ;; esac
        [[ $1 == --* && -n ${OPTS[$1]:-} ]] || { usage >&2; exit 2; }
        read -r var arg <<<"${OPTS[$1]}"
        if [ -z "$arg" ]; then
            printf -v "$var" 1
        else
            [ -n "${2:-}" ] || die 1 "$1 needs $arg"
            printf -v "$var" %s "$2"
            shift
        fi
        shift
    done
    positive --threads "$THREADS"
    TABLE_ARGS=(--threads "$THREADS") # what TABLE's table subcommand takes besides DIR
    [ "$QUICK" -eq 0 ] || TABLE_ARGS+=(--quick)
}

# setup IMPORTS WHAT: walkrec and Debian's Python with IMPORTS (WHAT in the error), then DIR
# (a new temp dir unless --out) and its log.
setup() {
    WALKREC=${WALKREC:-$BUILD/walkrec}
    DATA=${WALKREC_DATA:-$ROOT/../shared/data}
    [ -x "$WALKREC" ] || die 1 "no $WALKREC (meson compile -C $BUILD first)"
    $PY -c "import $1" 2>/dev/null || die 1 "$PY lacks $2"
    [ -n "$OUT" ] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/walkrec-$NAME.XXXXXX")
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
    LOG=$OUT/log.txt
    : >"$LOG"
}

log() { echo "[$NAME $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)] $*" | tee -a "$LOG" >&2; }

# The sets to run: "name path" lines; the synthetic ones have the path "synth:PRESET".
wanted() { [ -z "$SETS" ] || [[ ",$SETS," == *",$1,"* ]]; }
list_sets() {
    local f name
    for f in "$DATA"/*/pairs.tsv; do
        [ -f "$f" ] || continue
        name=$(basename "$(dirname "$f")")
        wanted "$name" && echo "$name $f"
    done
    if [ "$QUICK" -eq 0 ] && wanted electronics; then echo "electronics synth:electronics"; fi
    if [ "$BOOKS" -eq 1 ]; then echo "books synth:books"; fi
    return 0
}

# prepare_set NAME SOURCE [SPLIT OPTIONS...]: DIR/NAME/set.json; SRC, the pairs to train on:
# the synthetic catalogue (categories in DIR/NAME/items.tsv) or the data set's pairs, their
# ids' whitespace replaced by '_' in DIR/NAME/pairs.tsv when there is any (walks files are
# read split on whitespace); then `walkrec split --seed 42` into TRAIN and VAL, PAIRS its
# number of pairs.
prepare_set() {
    local name=$1 src=$2 dir=$OUT/$1
    shift 2
    mkdir -p "$dir"
    if [[ $src == synth:* ]]; then
        log "$name: walkrec synth --preset ${src#synth:}"
        "$WALKREC" synth --preset "${src#synth:}" -o "$dir/pairs.tsv" --items-out "$dir/items.tsv" \
            --json --quiet >"$dir/synth.json" 2>>"$LOG"
        printf '{"synthetic": true, "preset": "%s"}\n' "${src#synth:}" >"$dir/set.json"
        SRC=$dir/pairs.tsv
    else
        printf '{"synthetic": false, "path": "%s"}\n' "$src" >"$dir/set.json"
        SRC=$($PY "$HELPER" safe-ids "$src" "$dir/pairs.tsv" 2> >(tee -a "$LOG" >&2))
    fi
    TRAIN=$dir/train.tsv VAL=$dir/val.tsv
    "$WALKREC" split "$SRC" --train "$TRAIN" --val "$VAL" --seed 42 "$@" --json --quiet \
        >"$dir/split.json" 2>>"$LOG"
    PAIRS=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["pairs"])' "$dir/split.json")
}

# measure PROC STDOUT CMD...: CMD under the helper (wall time, peak RSS, CPU time of the
# child); CMD's stderr goes to the log.
measure() {
    local proc=$1 stdout=$2
    shift 2
    $PY "$HELPER" run --proc "$proc" --stdout "$stdout" -- "$@" 2>>"$LOG"
}

table() { # [--partial]: the table from the JSON files so far, to stdout or DIR/table.md
    if [ "${1:-}" = --partial ]; then
        $PY "$TABLE" table "$OUT" "${TABLE_ARGS[@]}" >"$OUT/table.md" 2>>"$LOG" || true
    else
        $PY "$TABLE" table "$OUT" "${TABLE_ARGS[@]}" | tee "$OUT/table.md"
    fi
}

# run_sets [LOG TEXT]: machine description, run_set on every set, machine again, the table.
run_sets() {
    local sets line
    $PY "$HELPER" machine >"$OUT/machine-start.json"
    log "output in $OUT; walkrec $WALKREC (source $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), binary sha256 $(sha256sum "$WALKREC" | cut -c1-12)), $THREADS threads${1:-}"
    mapfile -t sets < <(list_sets)
    [ ${#sets[@]} -gt 0 ] || { log "no data set selected (--sets $SETS, data in $DATA)"; exit 1; }
    for line in "${sets[@]}"; do
        run_set "${line%% *}" "${line#* }"
    done
    $PY "$HELPER" machine >"$OUT/machine-end.json"
    table
    log "done; per-run JSON files in $OUT"
}
