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
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
TABLE=$HELPER

PEERS=gensim-sg,gensim-cbow,fasttext
OPTS[--books]=BOOKS OPTS[--peers]="PEERS NAMES"
parse_options "$@"
for p in ${PEERS//,/ }; do
    case $p in gensim-sg | gensim-cbow | fasttext) ;; *) die 2 "--peers: unknown peer '$p'" ;; esac
done
command -v fasttext >/dev/null || die 1 "fasttext not found (apt-get install fasttext)"
setup gensim gensim

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

run_set() { # NAME SOURCE
    local name=$1 dir=$OUT/$1 seeds="1" s
    prepare_set "$name" "$2"
    [ "$PAIRS" -lt 100000 ] && seeds="1 2 3"
    for s in $seeds; do
        table --partial
        local sd=$dir/seed$s
        mkdir -p "$sd"
        WALKS=$sd/walks.txt
        log "$name ($PAIRS pairs), seed $s"
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

run_sets
