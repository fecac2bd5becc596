#!/usr/bin/env bash
# walkrec.sh - the two quick-start commands.
#   ./walkrec.sh run    install what is missing, build, serve (training the built-in catalogue
#                       when var/ holds no model); extra arguments go to walkrecd
#   ./walkrec.sh test   install what is missing, build, run the whole test suite, the
#                       container image's check included (WALKREC_IMAGE_TEST=0: without it)
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
# deploy/check-image.sh: builds the Docker image with buildah and runs it (image_test)
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

# "N passed, N failed" over meson's test logs, then ", N skipped (name: reason, ...)".
summary() {
    /usr/bin/python3 - "$@" <<'PY'
import json, os, sys
passed = failed = 0
skipped = []
for log in sys.argv[1:]:
    try:
        lines = open(log).read().splitlines()
    except OSError:
        continue
    for line in lines:
        t = json.loads(line)
        if t["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif t["result"] == "SKIP":
            skipped.append(t["name"] + (": " + t["reason"] if t.get("reason") else ""))
        else:
            failed += 1
failed += int(os.environ.get("WR_SANITIZER_REPORTS", "0"))  # see sanitized()
print(f"{passed} passed, {failed} failed" +
      (f", {len(skipped)} skipped ({'; '.join(skipped)})" if skipped else ""))
PY
}

# The container image: deploy/check-image.sh builds it with buildah and runs it (minutes;
# the Debian base it makes once is cached in /var/cache/walkrec). One test in the summary,
# written to build/meson-logs/image.json: OK, FAIL, or SKIP with the script's reason where
# buildah cannot run (exit 77). As root: through sudo when there is one, else it skips.
image_test() {
    local log=build/meson-logs/image.json out=build/meson-logs/image.txt rc=0 r=OK reason=""
    local sudo=()
    [ "$(id -u)" -eq 0 ] || ! command -v sudo >/dev/null ||
        sudo=(sudo "--preserve-env=WALKREC_IMAGE,WALKREC_BASE_CACHE,WALKREC_MIRROR")
    "${sudo[@]}" deploy/check-image.sh 2>&1 | tee "$out" || rc=$?
    case $rc in
    0) ;;
    77) r=SKIP reason=$(sed -n 's/^SKIP: check-image: //p' "$out" | tail -1) ;;
    *) r=FAIL ;;
    esac
    /usr/bin/python3 -c 'import json, sys; print(json.dumps(dict(zip(("name", "result", "reason"), sys.argv[1:]))))' \
        image "$r" "$reason" >"$log"
    [ "$r" != FAIL ]
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
TSAN_TESTS="http_reload http_retrain http_hostile http_cost wal index knn walk graph calib ann pool"

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
    local image=${WALKREC_IMAGE_TEST:-1}
    [ -z "$sanitize" ] || image=0
    local pkgs="$BUILD_PKGS $TEST_PKGS"
    [ "$image" = 0 ] || pkgs+=" $IMAGE_PKGS"
    install_missing $pkgs
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
        http_hostile http_cost || rc=1
    # The container image, built and run (image_test); WALKREC_IMAGE_TEST=0 leaves it out.
    rm -f build/meson-logs/image.json
    if [ "$image" = 0 ]; then
        echo "walkrec.sh: the image check is off (WALKREC_IMAGE_TEST=0)" >&2
    else
        image_test || rc=1
    fi
    WR_SANITIZER_REPORTS=$WR_SANITIZER_REPORTS \
        summary build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
        build-asan/meson-logs/testlog-http.json build/meson-logs/image.json
    return $rc
}

case "${1:-}" in
run) shift; cmd_run "$@" ;;
test) shift; cmd_test "$@" ;;
*) echo "usage: $0 run|test [--sanitize address|thread]" >&2; exit 2 ;;
esac
