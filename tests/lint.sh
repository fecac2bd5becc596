#!/usr/bin/env bash
# lint.sh - clang-tidy over the sources (src/, and include/ through them) with the committed
# configuration, .clang-tidy at the top of the tree (what it checks, and why some checks
# are off, is written there).
#
#   tests/lint.sh [FILE...]          default: every src/*.c and src/cli/*.c
#
# Reads the compile flags from build/compile_commands.json (LINT_BUILD overrides; a missing
# build directory is set up), runs LINT_JOBS (default 2) files at a time, prints every
# finding, then "lint: N files, M with findings". Exit status 1 on any finding: the
# configuration turns warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${LINT_BUILD:-build}
JOBS=${LINT_JOBS:-2}
command -v clang-tidy >/dev/null || { echo "lint.sh: clang-tidy is not installed" >&2; exit 2; }
[ -f "$BUILD/compile_commands.json" ] || meson setup "$BUILD" >/dev/null

if [ $# -gt 0 ]; then
    files=("$@")
else
    files=(src/*.c src/cli/*.c)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One process per file: a finding (or a crash of clang-tidy) in one never hides the others.
# Every file but util.c (which defines wr_fail) first includes tests/lint_models.h.
printf '%s\n' "${files[@]}" | xargs -P "$JOBS" -I{} sh -c '
    f={}; extra=
    [ "$(basename "$f")" = util.c ] || extra="--extra-arg=-include$3"
    clang-tidy -p "$1" --quiet $extra "$f" >"$2/$(echo "$f" | tr / _).log" 2>&1 ||
        echo "$f" >>"$2/failed"' sh "$BUILD" "$out" "$PWD/tests/lint_models.h"

bad=0
for f in "${files[@]}"; do
    log=$out/$(echo "$f" | tr / _).log
    if grep -q -E '(warning|error):' "$log"; then
        grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$log"
    fi
done
[ -f "$out/failed" ] && bad=$(sort -u "$out/failed" | wc -l)
echo "lint: ${#files[@]} files, $bad with findings"
[ "$bad" -eq 0 ]
