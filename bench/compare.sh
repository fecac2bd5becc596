#!/usr/bin/env bash
# bench/compare.sh - every walkrec trainer (and gensim sg=1, sg=0) on the same split of every
# data set, scored by `walkrec eval`: the comparison table of issue 6.
#
# usage: bench/compare.sh [--quick] [--sets NAMES] [--skip ALGOS] [--out DIR] [--threads N]
#                         [--build DIR] [--previous BIN]
#   --quick        skip the electronics-scale synthetic catalogue
#   --sets NAMES   comma-separated subset of the data folders and "electronics"
#   --skip ALGOS   comma-separated algorithms to leave out (names as in the table's keys:
#                  sgns,cbow,mf,mf-bias,mf-cont,mf-seq,mf-posts,mf-bias-posts,sgns-side,
#                  gensim-sg,gensim-cbow, and with --previous mf-prev,mf-bias-prev,
#                  mf-cont-prev,mf-seq-prev)
#   --out DIR      where the per-run JSON files go (default: a new temp dir, kept)
#   --threads N    threads for training and evaluation (default 2)
#   --build DIR    build directory holding walkrec (default: build; $WALKREC overrides)
#   --previous BIN another walkrec binary (an earlier commit's) whose mf, mf --bias, mf
#                  --labels continuous and mf-seq at its own defaults run in the same run,
#                  as rows "(previous defaults)": quality and time per epoch side by side
#
# Data: every pairs.tsv under ${WALKREC_DATA:-../shared/data} and `walkrec synth --preset
# electronics --items-out` (category side information). Per data set: `walkrec split
# --seed 42`, then on the training pairs, seed 1: sgns (defaults; its walks go to a file),
# cbow, mf, mf --bias, mf --labels continuous, mf-seq, sgns --side-info ITEMS (where the
# set has an items.tsv; the columns per set are chosen below), and gensim Word2Vec sg=1 and
# sg=0 on sgns's walks file (bench/trainer.py gensim, then `walkrec import`), and the
# posts' recipe, mf and mf --bias with `--optimizer adam --init normal`. Every walkrec
# trainer records its learning curve (`--val VAL --eval-every`: a point per epoch, four per
# epoch for the posts' recipe, whose curve dips when the learning rate restarts); the
# curves follow the table. Every model:
# `walkrec eval MODEL VAL --train TRAIN --rank cosine --json` (mf models are scored by their
# own dot product whatever --rank says). Also per set: an HTML report of mf against
# mf --bias (eval --report --compare) and their precision at fixed recall levels. Every
# training process runs under `trainer.py run` (wall time, peak RSS). The markdown table and
# the "Must show" lines go to stdout and DIR/table.md; progress to stderr and DIR/log.txt.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
TABLE=$ROOT/bench/compare.py
ALGOS=sgns,cbow,mf,mf-bias,mf-cont,mf-seq,mf-posts,mf-bias-posts,sgns-side,gensim-sg,gensim-cbow
ALGOS+=,mf-prev,mf-bias-prev,mf-cont-prev,mf-seq-prev
EPOCHS=5 # walkrec's default: the learning curves take a point per epoch

SKIP="" PREVIOUS=""
OPTS[--skip]="SKIP ALGOS"
OPTS[--previous]="PREVIOUS BIN"
parse_options "$@"
[ -z "$PREVIOUS" ] || [ -x "$PREVIOUS" ] || die 1 "--previous: $PREVIOUS is not executable"
for a in ${SKIP//,/ }; do
    [[ ",$ALGOS," == *",$a,"* ]] || die 2 "--skip: unknown algorithm '$a'"
done
setup gensim gensim
if [ -n "$PREVIOUS" ]; then
    printf '{"binary": "%s", "sha256": "%s"}\n' "$PREVIOUS" \
        "$(sha256sum "$PREVIOUS" | cut -c1-12)" >"$OUT/previous.json"
fi

# Side-information columns per data set. The Amazon sets: category path, brand, price
# bucket (title and rank left out: rank is a sales rank, i.e. popularity). Online Retail:
# price and title words; its n_invoices column counts invoices over the whole file, the
# validation pairs' included, so it would leak them. Synthetic: the planted category.
# Any other set with an items.tsv: every column (walkrec's default).
side_columns() { # NAME
    case $1 in
    amazon-*) echo category,brand,price ;;
    online-retail) echo price_mode,title ;;
    electronics) echo category ;;
    *) echo "" ;;
    esac
}

skipped() { [[ ",$SKIP," == *",$1,"* ]]; }

evaluate() { # DIR MODEL [EVAL OPTIONS...]
    local dir=$1 model=$2
    shift 2
    "$WALKREC" eval "$model" "$VAL" --train "$TRAIN" --rank cosine --threads "$THREADS" \
        --json --quiet "$@" >"$dir/eval.json" 2>>"$LOG"
}

# One walkrec trainer with its learning curve, a point per epoch (CURVE_POINTS overrides):
# DIR/{proc,train,eval}.json; the model stays as DIR/model.wr. BIN (default $WALKREC) is
# the binary.
walkrec_train() { # DIR TRAIN-OPTIONS...
    local dir=$1
    shift
    measure "$dir/proc.json" "$dir/train.json" "${BIN:-$WALKREC}" train "$TRAIN" \
        -o "$dir/model.wr" --seed 1 --threads "$THREADS" --json --quiet \
        --val "$VAL" --eval-every "${CURVE_POINTS:-$EPOCHS}" "$@" &&
        evaluate "$dir" "$dir/model.wr"
}

# The same with the --previous binary at its defaults.
previous_train() { # DIR TRAIN-OPTIONS...
    [ -n "$PREVIOUS" ] || return 0
    BIN=$PREVIOUS walkrec_train "$@"
}

gensim() { # DIR SG
    [ -s "$WALKS" ] || { log "  no walks file (sgns failed or skipped)"; return 1; }
    measure "$1/proc.json" "$1/train.json" $PY "$HELPER" gensim "$WALKS" "$1/vectors.bin" \
        --sg "$2" --seed 1 --threads "$THREADS" &&
        "$WALKREC" import "$1/vectors.bin" -o "$1/model.wr" --quiet 2>>"$LOG" &&
        rm -f "$1/vectors.bin" && evaluate "$1" "$1/model.wr"
}

# mf against mf --bias: the HTML report with both curves, and precision at fixed recall
# from each one's scored validation pairs.
mf_bias_report() { # SETDIR
    local d=$1
    [ -f "$d/mf/model.wr" ] && [ -f "$d/mf-bias/model.wr" ] || return 0
    log "  report: mf vs mf --bias"
    "$WALKREC" eval "$d/mf/model.wr" "$VAL" --train "$TRAIN" --threads "$THREADS" --quiet \
        --report "$d/report-mf-vs-mf-bias.html" --compare "$d/mf-bias/model.wr" \
        >/dev/null 2>>"$LOG" || log "  report FAILED; see $LOG"
    for a in mf mf-bias; do
        "$WALKREC" eval "$d/$a/model.wr" "$VAL" --train "$TRAIN" --threads "$THREADS" --quiet \
            --scores "$d/$a/scores.tsv" >/dev/null 2>>"$LOG" &&
            $PY "$TABLE" pr "$d/$a/scores.tsv" >"$d/$a/pr.json" 2>>"$LOG" ||
            log "  precision-recall of $a FAILED; see $LOG"
        rm -f "$d/$a/scores.tsv"
    done
}

algo() { # SETDIR KEY FUNCTION ARGS...: logs and carries on when one fails
    local dir=$1/$2 key=$2 fn=$3
    shift 3
    skipped "$key" && return 0
    [[ $key == *-prev && -z $PREVIOUS ]] && return 0
    mkdir -p "$dir"
    log "  $key"
    "$fn" "$dir" "$@" || log "  $key FAILED; see $LOG"
    table --partial
}

run_set() { # NAME SOURCE
    local name=$1 dir=$OUT/$1 items="" cols
    prepare_set "$name" "$2"
    if [[ $2 == synth:* ]]; then
        items=$dir/items.tsv
    elif [ -f "$(dirname "$2")/items.tsv" ]; then
        items=$(dirname "$2")/items.tsv
        if [ "$SRC" != "$2" ]; then
            log "$name: ids renamed, items.tsv no longer matches: no side information"
            items=""
        fi
    fi
    WALKS=$dir/walks.txt
    log "$name: $(tr -d ' \n' <"$dir/split.json" | grep -o '"train_pairs":[0-9]*') (threads $THREADS)"
    algo "$dir" sgns walkrec_train --walks-out "$WALKS"
    algo "$dir" cbow walkrec_train --algo cbow
    algo "$dir" mf walkrec_train --algo mf
    algo "$dir" mf-bias walkrec_train --algo mf --bias
    mf_bias_report "$dir"
    algo "$dir" mf-cont walkrec_train --algo mf --labels continuous
    algo "$dir" mf-seq walkrec_train --algo mf-seq
    algo "$dir" mf-prev previous_train --algo mf
    algo "$dir" mf-bias-prev previous_train --algo mf --bias
    algo "$dir" mf-cont-prev previous_train --algo mf --labels continuous
    algo "$dir" mf-seq-prev previous_train --algo mf-seq
    CURVE_POINTS=$((4 * EPOCHS)) algo "$dir" mf-posts walkrec_train --algo mf --optimizer adam \
        --init normal
    CURVE_POINTS=$((4 * EPOCHS)) algo "$dir" mf-bias-posts walkrec_train --algo mf --bias \
        --optimizer adam --init normal
    if [ -n "$items" ]; then
        cols=$(side_columns "$name")
        printf '{"items": "%s", "columns": "%s"}\n' "$items" "${cols:-all}" >"$dir/side.json"
        local side=(--side-info "$items")
        [ -n "$cols" ] && side+=(--side-columns "$cols")
        algo "$dir" sgns-side walkrec_train "${side[@]}"
    fi
    algo "$dir" gensim-sg gensim 1
    algo "$dir" gensim-cbow gensim 0
    rm -f "$WALKS" "$dir"/*/model.wr
    [ "$SRC" = "$dir/pairs.tsv" ] && rm -f "$dir/pairs.tsv"
    if [[ $2 == synth:* ]]; then # regenerated from the seed in seconds; keep the JSON only
        rm -f "$dir/items.tsv" "$TRAIN" "$VAL"
    fi
    return 0
}

run_sets
