#!/usr/bin/env bash
# run.sh - fuzzes every driver of tests/fuzz/ for a while, one after the other.
#
#   tests/fuzz/run.sh [DRIVER...]        (default: all; FUZZ_SECONDS per driver, default 60)
#
# Sets up build-fuzz when it is missing (clang, libFuzzer, ASan + UBSan; see
# meson_options.txt) and builds the fuzz-NAME targets. Each driver runs over a working
# corpus in build-fuzz/fuzz/NAME/corpus, seeded from tests/fuzz/corpus/NAME (the committed
# seeds are never written to), with the dictionary tests/fuzz/NAME.dict. A UBSan report,
# a leak, a timeout (10 s on one input) or running out of memory (2 GiB) counts as a crash.
# Prints one row per driver: seconds, executions, executions per second, the coverage
# libFuzzer reached (cov: edges, ft: features) and the crash files left in
# build-fuzz/fuzz/NAME/. To keep a crash as a regression test, fix it and copy its file to
# tests/fuzz/regress/NAME/ (the unit test fuzz_NAME replays that directory).
# Exit status 1 when any driver crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECONDS_EACH=${FUZZ_SECONDS:-60}
BUILD=build-fuzz
ALL="pairs side amazon api_body url model w2v wal config"
DRIVERS=${*:-$ALL}

if [ ! -f "$BUILD/build.ninja" ]; then
    CC=clang meson setup "$BUILD" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
targets=()
for d in $DRIVERS; do
    targets+=("fuzz-$d")
done
meson compile -C "$BUILD" "${targets[@]}" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

printf '%-10s %7s %12s %9s %7s %7s  %s\n' driver seconds execs exec/s cov ft crashes
failed=0
for d in $DRIVERS; do
    work=$BUILD/fuzz/$d
    mkdir -p "$work/corpus"
    log=$work/log.txt
    dict=()
    [ -f "tests/fuzz/$d.dict" ] && dict=("-dict=tests/fuzz/$d.dict")
    start=$(date +%s)
    "$BUILD/tests/fuzz/fuzz-$d" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" "${dict[@]}" \
        "$work/corpus" "tests/fuzz/corpus/$d" >"$log" 2>&1 || true
    took=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    crashes=$(cd "$work" && ls -1 crash-* leak-* timeout-* oom-* 2>/dev/null | tr '\n' ' ' || true)
    [ -n "$crashes" ] && failed=1
    printf '%-10s %7s %12s %9s %7s %7s  %s\n' "$d" "$took" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${crashes:-none}"
done
exit $failed
