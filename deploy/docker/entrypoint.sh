#!/bin/bash
# entrypoint.sh - the image's entry point (/usr/local/bin/walkrecd-entrypoint).
#
# Arguments that start with '-' (or none) go to walkrecd; anything else is run as a command
# (`docker run walkrec walkrec train ...`, `docker run -it walkrec bash`).
#
# Before starting walkrecd it does two things a container needs:
#  - OpenBLAS: Debian 12's OpenBLAS does not recognise recent Xeons and falls back to its SSE3
#    kernels (5x slower building neighbour lists, docs/performance.md). When OPENBLAS_CORETYPE is unset it
#    is chosen from the CPU flags the kernel reports, the same test walkrecd warns with.
#  - The admin token: the image listens on 0.0.0.0, and walkrecd refuses a non-loopback
#    address without a token. When none is given (WALKREC_ADMIN_TOKEN, admin_token_file in the
#    config file, environment or flags), a random one is written once to
#    <data_dir>/admin-token (mode 0600, kept on the data volume across restarts) and used.
#    Its path is logged, never the token. Reads stay open; writes need the token.
set -euo pipefail

log() { printf '%s walkrecd-entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi
for a in "$@"; do
    case $a in --help | --print-config) exec walkrecd "$@" ;; esac
done

if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true) "
    case $flags in
    *" avx512f "*) export OPENBLAS_CORETYPE=SkylakeX ;;
    *" avx2 "*" fma "* | *" fma "*" avx2 "*) export OPENBLAS_CORETYPE=Haswell ;;
    esac
    [ -n "${OPENBLAS_CORETYPE:-}" ] && log "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (from the CPU flags)"
fi

# The effective settings (file < environment < flags). The token variable only lets
# --print-config pass its own token check; on a bad setting walkrecd names the mistake.
if ! settings=$(WALKREC_ADMIN_TOKEN=probe walkrecd --print-config "$@" 2>/dev/null); then
    exec walkrecd "$@"
fi
setting() {
    local v
    v=$(printf '%s\n' "$settings" | sed -n "s/^$1 = //p")
    v=${v#\"}
    printf '%s' "${v%\"}"
}
bind=$(setting bind)
case $bind in
127.* | ::1 | localhost) loopback=1 ;;
*) loopback=0 ;;
esac

if [ -z "${WALKREC_ADMIN_TOKEN:-}" ] && [ -z "$(setting admin_token_file)" ] && [ $loopback = 0 ]; then
    data_dir=$(setting data_dir)
    token_file=$data_dir/admin-token
    if [ ! -s "$token_file" ]; then
        mkdir -p "$data_dir"
        (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$token_file.tmp" &&
            mv "$token_file.tmp" "$token_file")
        log "no admin token given: generated one in $token_file (writes need it as" \
            "'Authorization: Bearer <token>'; read it with: docker exec <container> cat $token_file)"
    else
        log "no admin token given: using the one generated earlier in $token_file"
    fi
    export WALKREC_ADMIN_TOKEN_FILE=$token_file
fi

exec walkrecd "$@"
