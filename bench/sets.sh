# bench/sets.sh - what bench/slice.sh, rules.sh, side.sh, churn.sh and diversity.sh share:
# the options --build, --out, --data, --sets and --help, the run's header line, and each
# set's split. Sourced after `set -euo pipefail`; a script sets its own defaults (OUT,
# SETS, ...) after sourcing, passes every option it does not take itself to set_option,
# then calls start_run.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
DATA=${WALKREC_DATA:-$ROOT/../shared/data}
SETS="snap-amazon0302-prefix groceries amazon-gift-cards-2018 amazon-magazine-subscriptions-2018 online-retail"

# set_option OPTION VALUE: a shared option into its variable; --help prints the script's
# comment and exits 0, anything else is an unknown option (exit 2).
set_option() {
    case $1 in
    --build) BUILD=$2 ;;
    --out) OUT=$2 ;;
    --data) DATA=$2 ;;
    --sets) SETS=$2 ;;
    -h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "$(basename "$0"): unknown option $1" >&2; exit 2 ;;
    esac
}

# start_run [NOTE]: BUILD and OUT made absolute (OUT created), W the build's walkrec, and
# OUT/header.txt: the time, commit, cores, CPU and load of this run (and NOTE).
start_run() {
    BUILD=$(cd "$BUILD" && pwd)
    W=$BUILD/walkrec
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
    echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores," \
        "$(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)${1:+, $1}" \
        >"$OUT/header.txt"
}

# split_set SET DIR [split options]: DIR/train.tsv and DIR/val.tsv, `walkrec split --seed 42`
# of the set's pairs, unless DIR has them already.
split_set() {
    local set=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    [ -f "$dir/val.tsv" ] || "$W" split "$DATA/$set/pairs.tsv" --seed 42 "$@" --train "$dir/train.tsv" \
        --val "$dir/val.tsv" --quiet
}
