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
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
TABLE=$ROOT/bench/quality.py

SEEDS=3
OPTS[--seeds]="SEEDS N"
parse_options "$@"
positive --seeds "$SEEDS"
TABLE_ARGS=() # quality.py's table takes the folder alone
setup "gensim, sklearn" "gensim or scikit-learn"

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
    local name=$1 dir=$OUT/$1 n=$SEEDS s
    prepare_set "$name" "$2" --negatives both
    log "$name: $PAIRS pairs; weighted-degree popularity on the same split"
    $PY "$TABLE" weighted "$TRAIN" "$VAL" >"$dir/weighted.json" 2>>"$LOG"
    [ "$PAIRS" -ge 1000000 ] && n=1
    for s in $(seq 1 "$n"); do
        run_seed "$dir/seed$s" "$s"
        table --partial
    done
    rm -f "$TRAIN" "$VAL" "$dir/pairs.tsv" "$dir/items.tsv"
}

run_sets ", seeds 1..$SEEDS"
