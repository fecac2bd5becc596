#!/usr/bin/env bash
# walkrec.sh - the two quick-start commands.
#   ./walkrec.sh run    install what is missing, build, serve (training the built-in catalogue
#                       when var/ holds no model); extra arguments go to walkrecd
#   ./walkrec.sh test   install what is missing, build, run the whole test suite
#   ./walkrec.sh test --sanitize address|thread
#                       the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
#                       (build-asan), or the concurrency tests under ThreadSanitizer
#                       (build-tsan)
# Both are idempotent; they apt-get only packages that are absent (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_PKGS="gcc g++ meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev libopenblas-dev
  liburcu-dev zlib1g-dev"
# chromium: the dashboard's end-to-end test drives it headless (tests/http/dashboard.py)
TEST_PKGS="libcmocka-dev python3-numpy python3-scipy python3-sklearn python3-gensim curl chromium
  python3-yaml"
# WALKREC_IMAGE_TEST=1: deploy/check-image.sh builds the Docker image with buildah and runs it
IMAGE_PKGS="debootstrap buildah podman uidmap fuse-overlayfs"

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
import json, os, sys
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
failed += int(os.environ.get("WR_SANITIZER_REPORTS", "0"))  # see sanitized()
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

# sanitized MODE DIR [meson test arguments]: tests under a sanitizer (address = ASan +
# UBSan, thread = TSan) in build directory DIR. Every process the tests start (the daemon
# and the CLI included) writes its sanitizer reports to DIR/sanitizer/, and each report
# counts as one failure (WR_SANITIZER_REPORTS) even when the test itself passed: a leak at
# exit, a race the test did not notice.
WR_SANITIZER_REPORTS=0
sanitized() {
    local mode=$1 dir=$2 rc=0
    shift 2
    local reports=$PWD/$dir/sanitizer
    rm -rf "$reports"
    mkdir -p "$reports"
    if [ "$mode" = thread ]; then
        build "$dir" -Db_sanitize=thread -Db_lundef=false
        # report_thread_leaks=0: walkrecd leaves the trainer thread unjoined when it stops
        # in the middle of a run or after a fatal error, by design (retrain.h).
        TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:log_path=$reports/tsan:second_deadlock_stack=1:report_thread_leaks=0" \
            meson test -C "$dir" --print-errorlogs --timeout-multiplier 4 "$@" || rc=1
    else
        build "$dir" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
        ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan" \
            meson test -C "$dir" --print-errorlogs --timeout-multiplier 3 "$@" || rc=1
    fi
    local n
    n=$(find "$reports" -type f | wc -l)
    if [ "$n" -gt 0 ]; then
        echo "walkrec.sh: $n sanitizer report(s) in $reports:" >&2
        find "$reports" -type f -exec cat {} + >&2
        WR_SANITIZER_REPORTS=$((WR_SANITIZER_REPORTS + n))
        rc=1
    fi
    return $rc
}

# The concurrency tests: publishing under load, retraining while serving and the follower's
# swaps, the connection reaper under attack (HTTP), and the unit tests of modules that run threads of their own. Not the
# Hogwild trainers (sgns, train, mf, eges), which race on purpose (sgns.c).
TSAN_TESTS="http_reload http_retrain http_hostile wal index knn walk graph calib ann"

cmd_test() {
    local sanitize=""
    while [ $# -gt 0 ]; do
        case $1 in
        --sanitize) sanitize=${2:-bad}; shift $(( $# > 1 ? 2 : 1 )) ;;
        --sanitize=*) sanitize=${1#*=}; shift ;;
        *) sanitize=bad; shift ;;
        esac
    done
    case $sanitize in
    "" | address | thread) ;;
    *) echo "usage: $0 test [--sanitize address|thread]" >&2; return 2 ;;
    esac
    install_missing $BUILD_PKGS $TEST_PKGS
    if [ -n "$sanitize" ]; then
        local dir=build-asan tests=()
        [ "$sanitize" = thread ] && dir=build-tsan tests=($TSAN_TESTS)
        local rc=0
        rm -f "$dir/meson-logs/testlog.json"
        sanitized "$sanitize" "$dir" "${tests[@]}" || rc=1
        WR_SANITIZER_REPORTS=$WR_SANITIZER_REPORTS summary "$dir/meson-logs/testlog.json"
        return $rc
    fi
    build build
    local rc=0
    rm -f build/meson-logs/testlog.json build-asan/meson-logs/testlog*.json
    meson test -C build --print-errorlogs || rc=1
    # Once more under AddressSanitizer and UndefinedBehaviorSanitizer: the unit tests (the
    # fuzz drivers' corpora and regression inputs among them) and the daemon's API,
    # publishing under load and hostile clients. The whole suite so (--sanitize address)
    # takes about ten minutes more: too long for this command, which CI runs.
    sanitized address build-asan --suite unit || rc=1
    sanitized address build-asan --logbase testlog-http http_api http_reload http_probability \
        http_hostile || rc=1
    # The container image, on request: minutes, and it needs the Debian archive. Counted as
    # one test (77 from the script: buildah cannot run here, skipped).
    local image_log=build/meson-logs/image.json
    rm -f "$image_log"
    if [ "${WALKREC_IMAGE_TEST:-}" = 1 ]; then
        install_missing $IMAGE_PKGS
        local r=OK
        deploy/check-image.sh || case $? in 77) r=SKIP ;; *) r=FAIL rc=1 ;; esac
        printf '{"name": "image", "result": "%s"}\n' "$r" >"$image_log"
    fi
    WR_SANITIZER_REPORTS=$WR_SANITIZER_REPORTS \
        summary build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
        build-asan/meson-logs/testlog-http.json "$image_log"
    return $rc
}

case "${1:-}" in
run) shift; cmd_run "$@" ;;
test) shift; cmd_test "$@" ;;
*) echo "usage: $0 run|test [--sanitize address|thread]" >&2; exit 2 ;;
esac
