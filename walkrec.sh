#!/usr/bin/env bash
# walkrec.sh - the two quick-start commands.
#   ./walkrec.sh run    install what is missing, build, train on the built-in catalogue, serve
#   ./walkrec.sh test   install what is missing, build, run the whole test suite
# Both are idempotent; they apt-get only packages that are absent (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_PKGS="gcc meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev libopenblas-dev
  liburcu-dev zlib1g-dev"
TEST_PKGS="libcmocka-dev python3-numpy python3-scipy python3-sklearn python3-gensim curl"

install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "walkrec.sh: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

build() {
    local dir=$1
    shift
    [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
    meson compile -C "$dir" >/dev/null
}

# "N passed, N failed" over meson's test logs.
summary() {
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
passed = failed = skipped = 0
for log in sys.argv[1:]:
    try:
        lines = open(log).read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
}

cmd_run() {
    install_missing $BUILD_PKGS
    build build
    mkdir -p var
    [ -f var/pairs.tsv ] || build/walkrec synth -o var/pairs.tsv --items-out var/items.tsv
    [ -f var/model.wr ] || build/walkrec train var/pairs.tsv -o var/model.wr
    # Until the daemon lands, "serving" means answering from the model on the command line.
    for item in $(sed -n '2p;3p;4p' var/pairs.tsv | cut -f1); do
        echo "== neighbours of $item"
        build/walkrec neighbors var/model.wr "$item" -k 5
    done
}

cmd_test() {
    install_missing $BUILD_PKGS $TEST_PKGS
    build build
    local rc=0
    rm -f build/meson-logs/testlog.json build-asan/meson-logs/testlog.json
    meson test -C build --print-errorlogs || rc=1
    # The unit tests once more under AddressSanitizer and UndefinedBehaviorSanitizer.
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan --suite unit --print-errorlogs || rc=1
    summary build/meson-logs/testlog.json build-asan/meson-logs/testlog.json
    return $rc
}

case "${1:-}" in
run) cmd_run ;;
test) cmd_test ;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
