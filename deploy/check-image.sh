#!/usr/bin/env bash
# check-image.sh - build the Dockerfile and run the image on a machine without a Docker
# engine (buildah with chroot isolation, ../shared/notes/containers.md), then check it:
#   - the base debian:bookworm-slim is made with debootstrap when absent from local storage
#     and imported; its root file system is cached as a tarball under
#     /var/cache/walkrec/base/<suite>-<mirror>/, so a machine makes it once;
#   - the build (its first stage runs the unit tests, tagged <image>-build) with --format
#     docker, since the OCI format has no HEALTHCHECK; --layers, and at the end images no tag
#     reaches are pruned, so the layer cache serves the next run and does not grow;
#   - metadata a real engine applies (buildah run does not): user, healthcheck, exposed port,
#     volume, entry point, environment;
#   - no compiler, assembler or linker in the runtime image; every shared library resolves;
#   - the default entry point with nothing mounted: trains the built-in catalogue, listens on
#     0.0.0.0 with a generated admin token, /readyz, a neighbours query over loopback, writes
#     refused without the token and accepted with it, the image's own healthcheck command,
#     the daemon's user, a clean stop on SIGTERM, and a restart that reuses model and token;
#   - compose.yaml's trainer and a --follow follower from the image on one models directory:
#     same answers, every write route on the follower 409 naming trainer_url whatever the
#     body, and a generation the trainer publishes reaching the follower;
#   - compose's load balancer image (deploy/nginx): built, its user, `nginx -t` inside it.
# Prints one "ok:" line per check and the image size. Exit 0 passed, 1 failed, 77 skipped
# with a "SKIP:" line giving the reason (buildah missing or unable to run here, not root;
# 77 is meson's skip code, walkrec.sh counts it as skipped). Runs as root: debootstrap,
# chroot isolation and files owned by the image's uid. One run at a time per machine (a lock
# in the cache directory): the tags, the base and port 8080 are the machine's.
#
# Environment: WALKREC_IMAGE (tag, default localhost/walkrec:check), WALKREC_BASE_CACHE
# (default /var/cache/walkrec), WALKREC_MIRROR (Debian mirror for debootstrap; default
# the one apt uses).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)

IMAGE=${WALKREC_IMAGE:-localhost/walkrec:check}
BASE=docker.io/library/debian:bookworm-slim
SUITE=bookworm
CACHE=${WALKREC_BASE_CACHE:-/var/cache/walkrec}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

skip() { echo "SKIP: check-image: $*"; exit 77; }
fail() {
    echo "FAIL: check-image: $*"
    exit 1
}
ok() { echo "ok: $*"; }
note() { echo "check-image: $*"; }

command -v buildah >/dev/null || skip "buildah is not installed (apt-get install buildah podman uidmap fuse-overlayfs debootstrap)"
command -v curl >/dev/null || skip "curl is not installed"
[ "$(id -u)" = 0 ] || skip "not root (debootstrap, chroot isolation and the image's uid need it)"
read -r _ _ ids </proc/self/uid_map
[ "$ids" -ge 65536 ] || skip "buildah cannot run here: root of a user namespace of $ids uid(s), too few for an image's files"
info=$(buildah info 2>&1) ||
    skip "buildah cannot run here: $(grep -m1 -i error <<<"$info" || tail -1 <<<"$info")"
# why_not: why buildah cannot build or run anything here, or nothing. Every step below needs
# a container from storage, mounted (overlay), and a mount namespace for chroot isolation;
# an unprivileged container, for one, fails here.
why_not() {
    local c out
    if ! c=$(buildah from scratch 2>&1); then
        echo "buildah from scratch: $c"
        return
    fi
    if ! out=$(buildah mount "$c" 2>&1); then
        echo "buildah mount: $out"
    elif ! out=$(unshare -m true 2>&1); then
        echo "no mount namespace for chroot isolation: $out"
    fi
    buildah rm "$c" >/dev/null 2>&1
}
why=$(why_not | tail -1)
[ -z "$why" ] || skip "buildah cannot run here: $why"

mkdir -p "$CACHE"
exec 9>"$CACHE/check-image.lock"
flock -n 9 || { note "waiting for another check-image.sh on this machine ($CACHE/check-image.lock)"; flock -w 3600 9; } ||
    fail "another check-image.sh held $CACHE/check-image.lock for an hour"

work=$(mktemp -d /var/tmp/walkrec-check.XXXXXX)
ctr=""
bg=""
# below NAME: the host pid of the first process called NAME under buildah run ($bg).
below() {
    local p todo=("$bg")
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]}
        todo=("${todo[@]:1}")
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$1" ] && { echo "$p"; return; }
        # shellcheck disable=SC2207 # pids separated by blanks
        todo+=($(cat /proc/"$p"/task/*/children 2>/dev/null))
    done
}
daemon_pid() { below walkrecd; }
# forget: $bg has ended; drop it from bgs (its pid may be reused by anything later).
forget() {
    local b keep=()
    for b in "${bgs[@]}"; do
        [ "$b" = "$bg" ] || keep+=("$b")
    done
    bgs=("${keep[@]}")
    bg=""
}

cleanup() {
    set +e
    local pid
    for bg in "${bgs[@]}"; do
        kill -0 "$bg" 2>/dev/null || continue
        pid=$(below walkrecd)
        [ -n "$pid" ] || pid=$(below nginx)
        [ -n "$pid" ] && kill -TERM "$pid"
        kill "$bg" 2>/dev/null
        wait "$bg" 2>/dev/null
    done
    [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

# ---- the base image ----
mirror() {
    if [ -n "${WALKREC_MIRROR:-}" ]; then
        echo "$WALKREC_MIRROR"
        return
    fi
    local m
    m=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    echo "${m:-http://deb.debian.org/debian}"
}

# slim ROOTFS: what Debian's published slim image leaves out (debuerreotype's "slimify"):
# documentation, manual pages and translations, also of packages installed later, and apt's
# package lists. Only ever the fresh tree in $based/rootfs.
slim() {
    local r=$1
    [ "$r" = "$based/rootfs" ] && [ -f "$r/etc/debian_version" ] || fail "slim: refusing $r"
    printf 'path-exclude /usr/share/%s/*\n' doc man groff info lintian linda locale \
        >"$r/etc/dpkg/dpkg.cfg.d/docker-slim"
    echo 'path-include /usr/share/doc/*/copyright' >>"$r/etc/dpkg/dpkg.cfg.d/docker-slim"
    find "$r/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
    local d
    for d in man groff info lintian linda locale; do
        [ -d "$r/usr/share/$d" ] && find "$r/usr/share/$d" -mindepth 1 -delete
    done
    find "$r/var/lib/apt/lists" "$r/var/cache/apt" -mindepth 1 -type f -delete
    # As the published image: apt deletes what it downloaded once it has installed it.
    local clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"'
    printf 'DPkg::Post-Invoke { %s; };\nAPT::Update::Post-Invoke { %s; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
        "$clean" "$clean" >"$r/etc/apt/apt.conf.d/docker-clean"
}

# The base: in local storage already, else imported from the cached root file system, else
# made by debootstrap into the cache first. The cache is keyed by suite and mirror, and
# made.txt beside the tarball says how and when; delete the directory to make it afresh.
url=$(mirror)
based=$CACHE/base/$SUITE-$(echo "$url" | sed 's|^[a-z]*://||; s|/*$||; s|[^A-Za-z0-9.-]|_|g')
if ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    if [ ! -s "$based/rootfs.tar" ]; then
        command -v debootstrap >/dev/null || fail "no $BASE image and no debootstrap to make one (apt-get install debootstrap)"
        mkdir -p "$based"
        rm -rf "$based/rootfs"
        note "making $BASE with debootstrap from $url (a few minutes, cached in $based)"
        start=$(date +%s)
        debootstrap --variant=minbase "$SUITE" "$based/rootfs" "$url" >"$work/debootstrap.log" 2>&1 ||
            { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
        slim "$based/rootfs"
        tar -C "$based/rootfs" -cf "$based/rootfs.tar.tmp" . && mv "$based/rootfs.tar.tmp" "$based/rootfs.tar"
        rm -rf "$based/rootfs"
        echo "debootstrap --variant=minbase $SUITE $url, slimmed, $(date -u +%Y-%m-%dT%H:%M:%SZ), took $(($(date +%s) - start)) s" \
            >"$based/made.txt"
    fi
    command -v podman >/dev/null || fail "no $BASE image and no podman to import $based/rootfs.tar (apt-get install podman)"
    podman import --change 'CMD ["bash"]' "$based/rootfs.tar" "$BASE" >"$work/import.log" 2>&1 ||
        { cat "$work/import.log"; fail "podman import of $based/rootfs.tar failed"; }
    note "imported $based/rootfs.tar as $BASE: $(cat "$based/made.txt" 2>/dev/null)"
fi
ok "base image $BASE present"

# ---- build ----
# bud LOG ARGS: buildah bud with the options every build here takes, its output in LOG.
bud() {
    local log=$work/$1
    shift
    buildah bud --isolation chroot --pull=never --format docker --layers "$@" >"$log" 2>&1 ||
        { tail -40 "$log"; fail "buildah bud $* failed"; }
}
# The build stage gets a tag of its own (-build), so that every layer worth caching is
# reachable from a tag and the rest can go at the end (buildah rmi --prune).
STAGE=${IMAGE%:*}-build:${IMAGE##*:}
start=$(date +%s)
note "building $STAGE and $IMAGE (logs: $work/stage.log, $work/build.log)"
bud stage.log --target build -t "$STAGE" -f Dockerfile .
grep -q "^Ok: *[1-9]" "$work/stage.log" && grep -q "^Fail: *0" "$work/stage.log" ||
    grep -q "Using cache" "$work/stage.log" || { tail -40 "$work/stage.log"; fail "no unit test summary in the build log"; }
bud build.log -t "$IMAGE" -f Dockerfile .
ok "image built in $(($(date +%s) - start)) s (unit tests: $(grep -m1 '^Ok:' "$work/stage.log" | tr -s ' ' || echo 'cached layer'))"

# ---- metadata ----
buildah inspect --type image "$IMAGE" >"$work/inspect.json"
"$PY" - "$work/inspect.json" <<'PY' || fail "image metadata"
import json, sys
cfg = json.load(open(sys.argv[1]))["Docker"]["config"]
env = dict(e.split("=", 1) for e in cfg.get("Env") or [])
checks = [
    ("user is walkrec, not root", cfg.get("User") == "walkrec"),
    ("exposed port 8080/tcp", "8080/tcp" in (cfg.get("ExposedPorts") or {})),
    ("healthcheck runs walkrec-healthcheck",
     (cfg.get("Healthcheck") or {}).get("Test") == ["CMD", "/usr/local/bin/walkrec-healthcheck"]),
    ("volume /var/lib/walkrec", "/var/lib/walkrec" in (cfg.get("Volumes") or {})),
    ("entrypoint walkrecd-entrypoint", cfg.get("Entrypoint") == ["/usr/local/bin/walkrecd-entrypoint"]),
    ("no default command arguments", not cfg.get("Cmd")),
    ("OPENBLAS_NUM_THREADS=1", env.get("OPENBLAS_NUM_THREADS") == "1"),
    ("WALKREC_CONFIG=/etc/walkrec/walkrecd.conf", env.get("WALKREC_CONFIG") == "/etc/walkrec/walkrecd.conf"),
]
bad = [name for name, good in checks if not good]
for name, good in checks:
    print(("ok: metadata: " if good else "FAIL: metadata: ") + name)
if bad:
    print("config was:", json.dumps(cfg, indent=1))
    sys.exit(1)
PY

ctr=$(buildah from --pull=never "$IMAGE")
inside() { buildah run --isolation chroot "$ctr" -- "$@"; }

uid=$(inside id -u)
[ "$uid" != 0 ] || fail "buildah run ran as root: the image's USER was not applied"
# 10001:10001, which compose's secret file and the Kubernetes securityContext rely on.
[ "$uid:$(inside id -g)" = 10001:10001 ] || fail "the image's user is $uid:$(inside id -g), not 10001:10001"
ok "commands in the container run as $(inside id -un) (uid $uid, gid 10001)"

# ---- nothing to compile with ----
# (gcc-12-base is not a compiler: libgcc-s1, which every C++ program needs, depends on it.)
found=$(inside bash -c 'for x in gcc cc c++ g++ cpp clang tcc as ld ld.bfd ld.gold make; do command -v $x; done
    dpkg-query -W -f "\${Package}\n" | grep -E "^(gcc|g\+\+|cpp|clang|tcc)(-[0-9.]+)?$|^binutils|^lib(gcc|stdc\+\+)-[0-9]+-dev$|^(libc6-dev|make|meson|ninja-build)$" || true')
[ -z "$found" ] || fail "build tools in the runtime image: $found"
ok "no compiler, assembler, linker or build tool in the runtime image"
missing=$(inside bash -c 'ldd /usr/local/bin/walkrecd /usr/local/bin/walkrec | grep "not found" || true')
[ -z "$missing" ] || fail "unresolved libraries: $missing"
ok "every shared library of walkrecd and walkrec resolves"
inside walkrec --help >/dev/null || fail "walkrec --help failed in the image"
ok "the CLI runs (walkrec --help)"

# ---- the daemon as the entry point starts it ----
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
entry=$("$PY" -c 'import json, sys; c = json.load(open(sys.argv[1]))["Docker"]["config"]; print(" ".join((c["Entrypoint"] or []) + (c["Cmd"] or [])))' "$work/inspect.json")
url=http://127.0.0.1:$port

# start_daemon LOG PORT: the entry point, as an engine would run it, with WALKREC_PORT=PORT
# (the container shares the host's network here, so the port must be free), the buildah run
# options in RUNOPTS and the arguments in ARGS; waits for /readyz.
RUNOPTS=()
ARGS=()
start_daemon() {
    # shellcheck disable=SC2086 # the entry point is one word here
    buildah run --isolation chroot -e WALKREC_PORT="$2" "${RUNOPTS[@]}" "$ctr" -- $entry "${ARGS[@]}" \
        >"$1" 2>&1 &
    bg=$!
    bgs+=("$bg")
    local end=$((SECONDS + 180))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/readyz")" = 200 ]; do
        kill -0 "$bg" 2>/dev/null || { cat "$1"; fail "the daemon exited before it was ready"; }
        [ $SECONDS -lt $end ] || { cat "$1"; fail "not ready after 180 s"; }
        sleep 0.5
    done
}

stop_daemon() {
    local pid
    pid=$(daemon_pid)
    [ -n "$pid" ] || fail "no walkrecd process under buildah run"
    kill -TERM "$pid"
    local rc=0
    wait "$bg" || rc=$?
    forget
    [ $rc = 0 ] || { cat "$1"; fail "walkrecd exited with $rc on SIGTERM"; }
    grep -q "walkrecd: stopped" "$1" || { cat "$1"; fail "no clean stop in the log"; }
}

start=$(date +%s)
start_daemon "$work/run1.log" "$port"
ok "first start: /readyz 200 after $(($(date +%s) - start)) s, $url"
grep -q "listening on http://0.0.0.0:$port/" "$work/run1.log" || fail "not listening on 0.0.0.0"
grep -q "training on the built-in synthetic catalogue" "$work/run1.log" ||
    { cat "$work/run1.log"; fail "the built-in catalogue was not trained"; }
grep -q "generated one in /var/lib/walkrec/admin-token" "$work/run1.log" ||
    { cat "$work/run1.log"; fail "no generated admin token"; }
ok "listens on 0.0.0.0 with a generated admin token, trained the built-in catalogue"
note "$(grep -m1 'OpenBLAS kernels' "$work/run1.log" | cut -d' ' -f2-)"

pid=$(daemon_pid)
duid=$(awk '/^Uid:/ {print $2}' /proc/"$pid"/status)
[ "$duid" = "$uid" ] || fail "walkrecd runs as uid $duid, not $uid"
ok "walkrecd (host pid $pid) runs as uid $duid"
threads=$(tr '\0' '\n' <"/proc/$pid/environ" | grep '^OPENBLAS_NUM_THREADS=' || true)
[ "$threads" = OPENBLAS_NUM_THREADS=1 ] || fail "daemon environment has '$threads'"
ok "walkrecd's environment has OPENBLAS_NUM_THREADS=1"

curl -sf "$url/v1/items/P0000001/neighbors?k=5" >"$work/nb.json" || fail "neighbours query failed"
"$PY" - "$work/nb.json" <<'PY' || fail "neighbours answer: $(cat "$work/nb.json")"
import json, sys
d = json.load(open(sys.argv[1]))
nb = d["neighbors"]
assert d["item"] == "P0000001" and len(nb) == 5, d
assert all(-1 <= n["score"] <= 1 and n["item"] != "P0000001" for n in nb), d
key = d.get("rank", "score")  # ranked by cosine, or by the calibrated probability
assert [n[key] for n in nb] == sorted((n[key] for n in nb), reverse=True), d
print("ok: GET /v1/items/P0000001/neighbors?k=5 (by %s): %s" % (key, ", ".join(
    "%s %.3f" % (n["item"], n[key]) for n in nb)))
PY
items=$(curl -sf "$url/v1/model" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["items"])')
[ "$items" = 2000 ] || fail "/v1/model says $items items, not 2000"
ok "GET /v1/model: 2000 items"

body='{"pairs":[{"a":"P0000001","b":"P0000002","weight":1}]}'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "$url/v1/pairs")
[ "$code" = 401 ] || fail "POST /v1/pairs without a token: $code, not 401"
token=$(inside cat /var/lib/walkrec/admin-token)
perm=$(inside stat -c '%a %U' /var/lib/walkrec/admin-token)
[ "$perm" = "600 walkrec" ] || fail "admin-token is $perm, not '600 walkrec'"
code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $token" -d "$body" "$url/v1/pairs")
[ "$code" = 202 ] || { cat "$work/run1.log"; fail "POST /v1/pairs with the generated token (${#token} characters): $code, not 202: $(cat "$work/post.json")"; }
ok "POST /v1/pairs: 401 without the token, 202 with the generated one (file mode 600, owner walkrec)"
! grep -q "$token" "$work/run1.log" || fail "the token appears in the log"
ok "the token is not in the log"

health=$(buildah run --isolation chroot -e WALKREC_PORT="$port" "$ctr" -- /usr/local/bin/walkrec-healthcheck) ||
    fail "the healthcheck command failed: $health"
ok "HEALTHCHECK command inside the container: $health"

stop_daemon "$work/run1.log"
ok "SIGTERM: walkrecd stopped cleanly (exit 0)"

start=$(date +%s)
start_daemon "$work/run2.log" "$port"
grep -q "published generation 1: 2000 items" "$work/run2.log" && ! grep -q "training on" "$work/run2.log" ||
    { cat "$work/run2.log"; fail "the restart did not serve the saved model"; }
grep -q "using the one generated earlier" "$work/run2.log" || { cat "$work/run2.log"; fail "the restart made a new token"; }
grep -q "pair log: 1 ingested pairs" "$work/run2.log" || { cat "$work/run2.log"; fail "the ingested pair was not in the log after restart"; }
ok "restart: ready after $(($(date +%s) - start)) s with the saved model, the same token and the ingested pair"
stop_daemon "$work/run2.log"

# ---- compose.yaml's trainer and follower from this image: the models volume (a host
# directory here) shared, read-only for the follower; the token a file secret of group
# 10001, mode 0640, as compose.yaml tells to make it ----
# A new container, its config without the image's VOLUME /var/lib/walkrec: buildah run
# mounts a directory of its own at an image volume, and with -v on the same path either
# may end up on top (seen here: the trainer served the first runs' volume, not the shared
# directory). An engine lets -v win; so does this.
buildah rm "$ctr" >/dev/null
ctr=$(buildah from --pull=never "$IMAGE")
buildah config --volume /var/lib/walkrec- "$ctr"
install -d -o 10001 -g 10001 -m 0750 "$work/models"
install -m 0640 -g 10001 /dev/null "$work/admin_token"
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$work/admin_token"
token=$(cat "$work/admin_token")
secret=(-v "$work/admin_token:/run/secrets/admin_token:ro" -e WALKREC_ADMIN_TOKEN_FILE=/run/secrets/admin_token)
tport=$(free_port)
RUNOPTS=(-v "$work/models:/var/lib/walkrec" "${secret[@]}")
start_daemon "$work/trainer.log" "$tport"
tbg=$bg
! grep -q "generated one" "$work/trainer.log" || fail "the trainer generated a token despite the secret"
[ -s "$work/models/CURRENT" ] && grep -q "training on the built-in synthetic catalogue" "$work/trainer.log" ||
    { cat "$work/trainer.log"; fail "the trainer did not train into the shared directory (no $work/models/CURRENT)"; }
fport=$(free_port)
RUNOPTS=(-v "$work/models:/models:ro" "${secret[@]}" -e WALKREC_TRAINER_URL=http://localhost:8080)
ARGS=(--follow /models)
start_daemon "$work/follower.log" "$fport"
turl=http://127.0.0.1:$tport
furl=http://127.0.0.1:$fport
[ "$(curl -s "$furl/readyz")" = "$(curl -s "$turl/readyz")" ] ||
    fail "follower and trainer serve different generations"
[ "$(curl -s "$furl/v1/items/P0000001/neighbors?k=5")" = "$(curl -s "$turl/v1/items/P0000001/neighbors?k=5")" ] ||
    fail "follower and trainer answer differently"
ok "trainer and --follow follower on a shared models directory (read-only for the follower), token from a 0640 file of group 10001: same generation, same answers"

# A follower takes no writes, whatever the body: every write route answers 409 naming
# trainer_url, also to bodies the trainer would refuse (not JSON, over max_body_bytes).
# refused ROUTE WHAT [CURL ARGUMENTS]: POST ROUTE with the token to the follower.
refused() {
    local route=$1 what=$2 code
    shift 2
    code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
        "$@" "$furl$route")
    [ "$code" = 409 ] && grep -q '"follower".*http://localhost:8080' "$work/post.json" ||
        fail "POST $route to the follower with $what: $code $(cat "$work/post.json"), not 409 naming trainer_url"
}
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$work/big.json" # max_body_bytes is 1 MiB
for route in /v1/pairs /v1/admin/retrain "/v1/admin/publish?generation=1" /v1/admin/rollback; do
    refused "$route" "a JSON body" -H 'Content-Type: application/json' -d "$body"
    refused "$route" "curl -d's form type" -d "$body"
    refused "$route" "a body over max_body_bytes" -H 'Content-Type: application/json' --data-binary "@$work/big.json"
    refused "$route" "no body"
done
ok "follower: 409 naming trainer_url to POST /v1/pairs, /v1/admin/retrain, /v1/admin/publish and /v1/admin/rollback, with a JSON body, a form-typed one, one over max_body_bytes and none"

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "$body" "$turl/v1/pairs")
[ "$code" = 202 ] || fail "POST /v1/pairs to the trainer with the secret's token: $code"
ok "trainer: POST /v1/pairs 202 with the secret's token"

# A generation the trainer publishes reaches the follower: a requested retrain (published
# by the quality gate, or forced through /v1/admin/publish if the gate keeps it back).
generation() { curl -s "$1/readyz" | "$PY" -c 'import json, sys; print(json.load(sys.stdin).get("generation", 0))' 2>/dev/null || echo 0; }
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" "$turl/v1/admin/retrain")
[ "$code" = 202 ] || fail "POST /v1/admin/retrain to the trainer: $code"
end=$((SECONDS + 300))
until run=$(curl -s -H "Authorization: Bearer $token" "$turl/v1/admin/status" | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
if s["runs"] < 1 or s["state"] != "idle":
    sys.exit(1)
print(s["last_run"]["generation"], s["last_run"]["decision"])' 2>/dev/null); do
    [ $SECONDS -lt $end ] || { cat "$work/trainer.log"; fail "the retrain did not finish in 300 s"; }
    sleep 0.5
done
read -r gen decision <<<"$run"
if [ "$decision" != published ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
        "$turl/v1/admin/publish?generation=$gen")
    [ "$code" = 202 ] || fail "POST /v1/admin/publish?generation=$gen to the trainer: $code"
fi
end=$((SECONDS + 60))
until [ "$(generation "$turl")" = "$gen" ]; do
    [ $SECONDS -lt $end ] || { cat "$work/trainer.log"; fail "the trainer did not serve generation $gen"; }
    sleep 0.2
done
start=$SECONDS
until [ "$(generation "$furl")" = "$gen" ]; do
    [ $SECONDS -lt $((start + 60)) ] || { cat "$work/follower.log"; fail "the follower did not pick up generation $gen in 60 s"; }
    sleep 0.2
done
[ "$(curl -s "$furl/v1/items/P0000001/neighbors?k=5")" = "$(curl -s "$turl/v1/items/P0000001/neighbors?k=5")" ] ||
    fail "follower and trainer answer differently at generation $gen"
ok "the trainer published generation $gen (retrain: $decision) and the follower served it within $((SECONDS - start + 1)) s, with the trainer's answers"
stop_daemon "$work/follower.log"
bg=$tbg
stop_daemon "$work/trainer.log"
ok "SIGTERM: follower and trainer stopped cleanly"

buildah rm "$ctr" >/dev/null
ctr=""

# ---- compose's load balancer (deploy/nginx): built, its configuration tested by the image's
# own nginx as the image's user, with compose's service names resolving to loopback ----
LB=${IMAGE%:*}-lb:${IMAGE##*:}
start=$(date +%s)
bud lb-build.log -t "$LB" deploy/nginx
ok "load balancer image $LB built in $(($(date +%s) - start)) s"
lbcfg=$(buildah inspect --type image --format '{{.Docker.Config.User}}' "$LB")
[ "$lbcfg" = www-data ] || fail "load balancer user: $lbcfg"
ctr=$(buildah from --pull=never --add-host trainer:127.0.0.1 --add-host follower-1:127.0.0.1 \
    --add-host follower-2:127.0.0.1 "$LB")
t=$(buildah run --isolation chroot "$ctr" -- nginx -t -p /var/lib/nginx/walkrec/ -c /etc/nginx/walkrec.conf 2>&1) ||
    fail "nginx -t in the load balancer image: $t"
ok "nginx -t in $LB as $(buildah run --isolation chroot "$ctr" -- id -un): $(echo "$t" | tail -1 | sed 's/^nginx: //')"
buildah rm "$ctr" >/dev/null
ctr=""

# Started as an engine would (its entry point, its user), if port 8080 is free here: the
# container shares the host's network. The upstream names go to ::1 (nginx listens on IPv4
# only, and any 127.x address would be itself), where nothing listens on 8080, so a proxied
# request must come back 502 at once.
if ss -ltnH 2>/dev/null | awk '{print $4}' | grep -qE ':8080$'; then
    note "port 8080 is in use here: the load balancer was not started"
else
    ctr=$(buildah from --pull=never --add-host trainer:::1 --add-host follower-1:::1 \
        --add-host follower-2:::1 "$LB")
    mapfile -t lbargv < <(buildah inspect --type image "$LB" |
        "$PY" -c 'import json, sys; print("\n".join(json.load(sys.stdin)["Docker"]["config"]["Entrypoint"]))')
    mapfile -t lbhealth < <(buildah inspect --type image "$LB" |
        "$PY" -c 'import json, sys; print("\n".join(json.load(sys.stdin)["Docker"]["config"]["Healthcheck"]["Test"][1:]))')
    buildah run --isolation chroot "$ctr" -- "${lbargv[@]}" >"$work/lb.log" 2>&1 &
    bg=$!
    bgs+=("$bg")
    end=$((SECONDS + 30))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/lb-healthz)" = 200 ]; do
        kill -0 "$bg" 2>/dev/null || { cat "$work/lb.log"; fail "the load balancer exited"; }
        [ $SECONDS -lt $end ] || { cat "$work/lb.log"; fail "the load balancer did not answer"; }
        sleep 0.2
    done
    pid=$(below nginx)
    [ "$(awk '/^Uid:/ {print $2}' /proc/"$pid"/status)" != 0 ] || fail "nginx runs as root"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:8080/v1/model)
    [ "$code" = 502 ] || fail "GET /v1/model through the load balancer with no followers: $code, not 502"
    buildah run --isolation chroot "$ctr" -- "${lbhealth[@]}" ||
        fail "the load balancer's HEALTHCHECK command failed: ${lbhealth[*]}"
    kill -QUIT "$pid"
    wait "$bg" || fail "the load balancer did not stop cleanly on SIGQUIT: $(cat "$work/lb.log")"
    forget
    ok "load balancer started as www-data: /lb-healthz 200, a read with no follower 502, HEALTHCHECK ok"
fi

size=$(buildah images --format '{{.Size}}' "$IMAGE" | head -1)
base=$(buildah images --format '{{.Size}}' "$BASE" | head -1)
echo "image: $IMAGE $size (base $BASE $base); $LB $(buildah images --format '{{.Size}}' "$LB" | head -1)"
# Images no tag reaches (the layers of earlier sources) go; the tagged ones keep the cache.
buildah rmi --prune >/dev/null 2>&1 || note "buildah rmi --prune failed"
echo "PASS: check-image in $(($(date +%s) - t0)) s"
