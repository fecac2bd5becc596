#!/usr/bin/env bash
# walkrec.sh - the two quick-start commands.
#   ./walkrec.sh run    install what is missing, build, serve (training the built-in catalogue
#                       when var/ holds no model); extra arguments go to walkrecd
#   ./walkrec.sh test   install what is missing, build, run the whole test suite
# Both are idempotent; they apt-get only packages that are absent (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_PKGS="gcc g++ meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev libopenblas-dev
  liburcu-dev zlib1g-dev libhnswlib-dev"
# chromium: the dashboard's end-to-end test drives it headless (tests/http/dashboard.py)
TEST_PKGS="libcmocka-dev python3-numpy python3-scipy python3-sklearn python3-gensim curl chromium"

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
    install_missing $BUILD_PKGS curl
    build build
    mkdir -p var
    # With no model in var/, walkrecd generates the built-in synthetic catalogue (2,000 items
    # in 20 planted categories), trains on it in the background, saves var/model-1.wr and
    # turns ready. Try: curl -s localhost:8080/v1/items/P0000001/neighbors?k=5
    echo "walkrec.sh: starting walkrecd (it logs the address it listens on; Ctrl-C stops it)" >&2
    exec build/walkrecd --data-dir var "$@"
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
run) shift; cmd_run "$@" ;;
test) cmd_test ;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
